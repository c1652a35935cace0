//! The user-visible structures and numbers of `include/uapi/linux/io_uring.h`
//! as Linux 6.1 defines them: `struct io_uring_params`, `struct
//! io_uring_sqe`, `struct io_uring_cqe`, `struct io_uring_getevents_arg`,
//! and the flag and opcode values.

/// `IORING_MAX_ENTRIES`: the most SQ entries io_uring_setup gives.
pub const MAX_ENTRIES: u32 = 32768;
/// `IORING_MAX_CQ_ENTRIES`: the most CQ entries.
pub const MAX_CQ_ENTRIES: u32 = 2 * MAX_ENTRIES;

/// io_uring_setup's `flags` (`IORING_SETUP_*`).
pub mod setup {
    /// `IORING_SETUP_IOPOLL`: busy-polled completions.
    pub const IOPOLL: u32 = 1 << 0;
    /// `IORING_SETUP_SQPOLL`: a kernel thread polls the SQ.
    pub const SQPOLL: u32 = 1 << 1;
    /// `IORING_SETUP_SQ_AFF`: `sq_thread_cpu` is valid.
    pub const SQ_AFF: u32 = 1 << 2;
    /// `IORING_SETUP_CQSIZE`: `cq_entries` is valid.
    pub const CQSIZE: u32 = 1 << 3;
    /// `IORING_SETUP_CLAMP`: too large entry counts are clamped.
    pub const CLAMP: u32 = 1 << 4;
    /// `IORING_SETUP_ATTACH_WQ`: `wq_fd` is valid.
    pub const ATTACH_WQ: u32 = 1 << 5;
    /// `IORING_SETUP_R_DISABLED`: start disabled.
    pub const R_DISABLED: u32 = 1 << 6;
    /// `IORING_SETUP_SUBMIT_ALL`: keep submitting after an error.
    pub const SUBMIT_ALL: u32 = 1 << 7;
    /// `IORING_SETUP_COOP_TASKRUN`: no interrupting the task for completions.
    pub const COOP_TASKRUN: u32 = 1 << 8;
    /// `IORING_SETUP_TASKRUN_FLAG`: `IORING_SQ_TASKRUN` in the SQ flags.
    pub const TASKRUN_FLAG: u32 = 1 << 9;
    /// `IORING_SETUP_SQE128`: 128-byte SQEs.
    pub const SQE128: u32 = 1 << 10;
    /// `IORING_SETUP_CQE32`: 32-byte CQEs.
    pub const CQE32: u32 = 1 << 11;
    /// `IORING_SETUP_SINGLE_ISSUER`: one task submits.
    pub const SINGLE_ISSUER: u32 = 1 << 12;
    /// `IORING_SETUP_DEFER_TASKRUN`: completions run when the task waits.
    pub const DEFER_TASKRUN: u32 = 1 << 13;
    /// Every flag Linux 6.1 knows.
    pub const KNOWN: u32 = (1 << 14) - 1;

    /// How a completion reaches the task that submitted the request (6.1's
    /// `ctx->notify_method`, and `io_req_local_work_add` for a deferred
    /// ring).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Notify {
        /// `TWA_SIGNAL`: task work that ends the task's interruptible
        /// sleep as a signal would (the call restarts, or answers `EINTR`
        /// where Linux's does on signal_pending: epoll_wait, semop,
        /// sigtimedwait) and is run on its way back to user mode; a
        /// running task is sent an IPI.
        Signal,
        /// `TWA_SIGNAL_NO_IPI` (`COOP_TASKRUN`): the same for a sleeping
        /// task (it is woken); a running one finds the work at its next
        /// entry to the kernel.
        SignalNoIpi,
        /// `DEFER_TASKRUN`: the ring's own list, run by the task's
        /// io_uring_enter; no sleep of the task ends for it, and the CQE
        /// is not posted before that enter.
        Deferred,
    }

    /// The [`Notify`] of a ring set up with `flags`.
    pub const fn notify(flags: u32) -> Notify {
        if flags & DEFER_TASKRUN != 0 {
            Notify::Deferred
        } else if flags & COOP_TASKRUN != 0 {
            Notify::SignalNoIpi
        } else {
            Notify::Signal
        }
    }
}

/// `features` (`IORING_FEAT_*`).
pub mod feat {
    /// One mmap serves the SQ and CQ rings.
    pub const SINGLE_MMAP: u32 = 1 << 0;
    /// Completions are never dropped while memory lasts (the overflow list).
    pub const NODROP: u32 = 1 << 1;
    /// SQE data is consumed at submission.
    pub const SUBMIT_STABLE: u32 = 1 << 2;
    /// An offset of -1 means the file position.
    pub const RW_CUR_POS: u32 = 1 << 3;
    /// Requests run with the submitter's credentials.
    pub const CUR_PERSONALITY: u32 = 1 << 4;
    /// Poll-driven retry of requests that would block.
    pub const FAST_POLL: u32 = 1 << 5;
    /// 32-bit poll events.
    pub const POLL_32BITS: u32 = 1 << 6;
    /// SQPOLL without fixed files.
    pub const SQPOLL_NONFIXED: u32 = 1 << 7;
    /// `IORING_ENTER_EXT_ARG`.
    pub const EXT_ARG: u32 = 1 << 8;
    /// Workers are threads of the task.
    pub const NATIVE_WORKERS: u32 = 1 << 9;
    /// Resource tags.
    pub const RSRC_TAGS: u32 = 1 << 10;
    /// `IOSQE_CQE_SKIP_SUCCESS`.
    pub const CQE_SKIP: u32 = 1 << 11;
    /// Linked requests take their files at issue.
    pub const LINKED_FILE: u32 = 1 << 12;
}

/// SQE `flags` (`IOSQE_*`).
pub mod sqe_flags {
    /// `fd` is an index into the registered files.
    pub const FIXED_FILE: u8 = 1 << 0;
    /// Issue after every earlier request completed.
    pub const IO_DRAIN: u8 = 1 << 1;
    /// The next SQE depends on this one.
    pub const IO_LINK: u8 = 1 << 2;
    /// As `IO_LINK`, not broken by a failure.
    pub const IO_HARDLINK: u8 = 1 << 3;
    /// Always go asynchronous.
    pub const ASYNC: u8 = 1 << 4;
    /// Pick a provided buffer.
    pub const BUFFER_SELECT: u8 = 1 << 5;
    /// No CQE on success.
    pub const CQE_SKIP_SUCCESS: u8 = 1 << 6;
    /// Every flag Linux 6.1 knows (`SQE_VALID_FLAGS`).
    pub const VALID: u8 = 0x7f;
}

/// io_uring_enter's `flags` (`IORING_ENTER_*`).
pub mod enter {
    /// Wait for `min_complete` completions.
    pub const GETEVENTS: u32 = 1 << 0;
    /// Wake the SQ thread.
    pub const SQ_WAKEUP: u32 = 1 << 1;
    /// Wait for SQ room (SQPOLL).
    pub const SQ_WAIT: u32 = 1 << 2;
    /// `arg` is a `struct io_uring_getevents_arg`.
    pub const EXT_ARG: u32 = 1 << 3;
    /// `fd` is a registered ring index.
    pub const REGISTERED_RING: u32 = 1 << 4;
    /// Every flag Linux 6.1 knows.
    pub const KNOWN: u32 = 0x1f;
}

/// The SQ ring's `flags` (`IORING_SQ_*`).
pub mod sq_flags {
    /// The SQ thread sleeps.
    pub const NEED_WAKEUP: u32 = 1 << 0;
    /// Completions wait in the overflow list.
    pub const CQ_OVERFLOW: u32 = 1 << 1;
    /// Work waits for the task (`IORING_SETUP_TASKRUN_FLAG`).
    pub const TASKRUN: u32 = 1 << 2;
}

/// CQE `flags` (`IORING_CQE_F_*`).
pub mod cqe_flags {
    /// More CQEs come for this request (multishot).
    pub const MORE: u32 = 1 << 1;
}

/// mmap offsets of the ring file.
pub mod off {
    /// `IORING_OFF_SQ_RING`.
    pub const SQ_RING: u64 = 0;
    /// `IORING_OFF_CQ_RING`.
    pub const CQ_RING: u64 = 0x800_0000;
    /// `IORING_OFF_SQES`.
    pub const SQES: u64 = 0x1000_0000;
}

/// Timeout SQE flags (`IORING_TIMEOUT_*`).
pub mod timeout {
    /// An absolute deadline.
    pub const ABS: u32 = 1 << 0;
    /// TIMEOUT_REMOVE updates instead.
    pub const UPDATE: u32 = 1 << 1;
    /// `CLOCK_BOOTTIME`.
    pub const BOOTTIME: u32 = 1 << 2;
    /// `CLOCK_REALTIME`.
    pub const REALTIME: u32 = 1 << 3;
    /// TIMEOUT_REMOVE updates a linked timeout.
    pub const LINK_TIMEOUT_UPDATE: u32 = 1 << 4;
    /// `-ETIME` completes as success.
    pub const ETIME_SUCCESS: u32 = 1 << 5;
}

/// POLL_ADD's `len` flags (`IORING_POLL_*`).
pub mod poll {
    /// Multishot poll.
    pub const ADD_MULTI: u32 = 1 << 0;
    /// POLL_REMOVE updates the events.
    pub const UPDATE_EVENTS: u32 = 1 << 1;
    /// POLL_REMOVE updates the user data.
    pub const UPDATE_USER_DATA: u32 = 1 << 2;
    /// Level-triggered.
    pub const ADD_LEVEL: u32 = 1 << 3;
}

/// ASYNC_CANCEL's flags (`IORING_ASYNC_CANCEL_*`).
pub mod cancel {
    /// Cancel every match.
    pub const ALL: u32 = 1 << 0;
    /// Match by file.
    pub const FD: u32 = 1 << 1;
    /// Match any request.
    pub const ANY: u32 = 1 << 2;
    /// The fd is a fixed one.
    pub const FD_FIXED: u32 = 1 << 3;
}

/// `IORING_FSYNC_DATASYNC`.
pub const FSYNC_DATASYNC: u32 = 1;

/// The opcodes (`enum io_uring_op`) of Linux 6.1.
#[allow(missing_docs)]
pub mod op {
    pub const NOP: u8 = 0;
    pub const READV: u8 = 1;
    pub const WRITEV: u8 = 2;
    pub const FSYNC: u8 = 3;
    pub const READ_FIXED: u8 = 4;
    pub const WRITE_FIXED: u8 = 5;
    pub const POLL_ADD: u8 = 6;
    pub const POLL_REMOVE: u8 = 7;
    pub const SYNC_FILE_RANGE: u8 = 8;
    pub const SENDMSG: u8 = 9;
    pub const RECVMSG: u8 = 10;
    pub const TIMEOUT: u8 = 11;
    pub const TIMEOUT_REMOVE: u8 = 12;
    pub const ACCEPT: u8 = 13;
    pub const ASYNC_CANCEL: u8 = 14;
    pub const LINK_TIMEOUT: u8 = 15;
    pub const CONNECT: u8 = 16;
    pub const FALLOCATE: u8 = 17;
    pub const OPENAT: u8 = 18;
    pub const CLOSE: u8 = 19;
    pub const FILES_UPDATE: u8 = 20;
    pub const STATX: u8 = 21;
    pub const READ: u8 = 22;
    pub const WRITE: u8 = 23;
    pub const FADVISE: u8 = 24;
    pub const MADVISE: u8 = 25;
    pub const SEND: u8 = 26;
    pub const RECV: u8 = 27;
    pub const OPENAT2: u8 = 28;
    pub const EPOLL_CTL: u8 = 29;
    pub const SPLICE: u8 = 30;
    pub const PROVIDE_BUFFERS: u8 = 31;
    pub const REMOVE_BUFFERS: u8 = 32;
    pub const TEE: u8 = 33;
    pub const SHUTDOWN: u8 = 34;
    pub const RENAMEAT: u8 = 35;
    pub const UNLINKAT: u8 = 36;
    pub const MKDIRAT: u8 = 37;
    pub const SYMLINKAT: u8 = 38;
    pub const LINKAT: u8 = 39;
    pub const MSG_RING: u8 = 40;
    pub const FSETXATTR: u8 = 41;
    pub const SETXATTR: u8 = 42;
    pub const FGETXATTR: u8 = 43;
    pub const GETXATTR: u8 = 44;
    pub const SOCKET: u8 = 45;
    pub const URING_CMD: u8 = 46;
    pub const SEND_ZC: u8 = 47;
    pub const SENDMSG_ZC: u8 = 48;
    /// `IORING_OP_LAST`: one past the last opcode.
    pub const LAST: u8 = 49;
}

/// io_uring_register's opcodes (`IORING_REGISTER_*`) of Linux 6.1.
#[allow(missing_docs)]
pub mod register {
    pub const REGISTER_BUFFERS: u32 = 0;
    pub const UNREGISTER_BUFFERS: u32 = 1;
    pub const REGISTER_FILES: u32 = 2;
    pub const UNREGISTER_FILES: u32 = 3;
    pub const REGISTER_EVENTFD: u32 = 4;
    pub const UNREGISTER_EVENTFD: u32 = 5;
    pub const REGISTER_FILES_UPDATE: u32 = 6;
    pub const REGISTER_EVENTFD_ASYNC: u32 = 7;
    pub const REGISTER_PROBE: u32 = 8;
    pub const REGISTER_PERSONALITY: u32 = 9;
    pub const UNREGISTER_PERSONALITY: u32 = 10;
    pub const REGISTER_RESTRICTIONS: u32 = 11;
    pub const REGISTER_ENABLE_RINGS: u32 = 12;
    pub const REGISTER_FILES2: u32 = 13;
    pub const REGISTER_FILES_UPDATE2: u32 = 14;
    pub const REGISTER_BUFFERS2: u32 = 15;
    pub const REGISTER_BUFFERS_UPDATE: u32 = 16;
    pub const REGISTER_IOWQ_AFF: u32 = 17;
    pub const UNREGISTER_IOWQ_AFF: u32 = 18;
    pub const REGISTER_IOWQ_MAX_WORKERS: u32 = 19;
    pub const REGISTER_RING_FDS: u32 = 20;
    pub const UNREGISTER_RING_FDS: u32 = 21;
    pub const REGISTER_PBUF_RING: u32 = 22;
    pub const UNREGISTER_PBUF_RING: u32 = 23;
    pub const REGISTER_SYNC_CANCEL: u32 = 24;
    pub const REGISTER_FILE_ALLOC_RANGE: u32 = 25;
    /// `IORING_REGISTER_LAST`.
    pub const LAST: u32 = 26;
    /// `IORING_REGISTER_USE_REGISTERED_RING`.
    pub const USE_REGISTERED_RING: u32 = 1 << 31;
}

/// `IORING_MAX_FIXED_FILES` (`1 << 20`).
pub const MAX_FIXED_FILES: u32 = 1 << 20;
/// `IORING_MAX_REG_BUFFERS` (`1 << 14`).
pub const MAX_REG_BUFFERS: u32 = 1 << 14;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// `sizeof(struct io_uring_params)`.
pub const PARAMS_LEN: usize = 120;

/// `struct io_sqring_offsets` (6.1: `resv2` is the last field).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct SqOffsets {
    pub head: u32,
    pub tail: u32,
    pub ring_mask: u32,
    pub ring_entries: u32,
    pub flags: u32,
    pub dropped: u32,
    pub array: u32,
}

/// `struct io_cqring_offsets`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct CqOffsets {
    pub head: u32,
    pub tail: u32,
    pub ring_mask: u32,
    pub ring_entries: u32,
    pub overflow: u32,
    pub cqes: u32,
    pub flags: u32,
}

/// `struct io_uring_params`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Params {
    pub sq_entries: u32,
    pub cq_entries: u32,
    pub flags: u32,
    pub sq_thread_cpu: u32,
    pub sq_thread_idle: u32,
    pub features: u32,
    pub wq_fd: u32,
    /// `resv[3]`: must be zero.
    pub resv: [u32; 3],
    pub sq_off: SqOffsets,
    pub cq_off: CqOffsets,
}

impl Params {
    /// Reads the structure from its [`PARAMS_LEN`] bytes.
    pub fn from_bytes(b: &[u8; PARAMS_LEN]) -> Params {
        let w = |i: usize| u32_at(b, i * 4);
        Params {
            sq_entries: w(0),
            cq_entries: w(1),
            flags: w(2),
            sq_thread_cpu: w(3),
            sq_thread_idle: w(4),
            features: w(5),
            wq_fd: w(6),
            resv: [w(7), w(8), w(9)],
            sq_off: SqOffsets {
                head: w(10),
                tail: w(11),
                ring_mask: w(12),
                ring_entries: w(13),
                flags: w(14),
                dropped: w(15),
                array: w(16),
            },
            cq_off: CqOffsets {
                head: w(20),
                tail: w(21),
                ring_mask: w(22),
                ring_entries: w(23),
                overflow: w(24),
                cqes: w(25),
                flags: w(26),
            },
        }
    }

    /// The structure's bytes as io_uring_setup copies it back (the
    /// reserved words of the offset structures zero).
    pub fn to_bytes(&self) -> [u8; PARAMS_LEN] {
        let s = &self.sq_off;
        let c = &self.cq_off;
        let words: [u32; 30] = [
            self.sq_entries,
            self.cq_entries,
            self.flags,
            self.sq_thread_cpu,
            self.sq_thread_idle,
            self.features,
            self.wq_fd,
            self.resv[0],
            self.resv[1],
            self.resv[2],
            s.head,
            s.tail,
            s.ring_mask,
            s.ring_entries,
            s.flags,
            s.dropped,
            s.array,
            0,
            0,
            0,
            c.head,
            c.tail,
            c.ring_mask,
            c.ring_entries,
            c.overflow,
            c.cqes,
            c.flags,
            0,
            0,
            0,
        ];
        let mut out = [0u8; PARAMS_LEN];
        for (i, w) in words.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
        out
    }
}

/// `sizeof(struct io_uring_sqe)` (twice with `IORING_SETUP_SQE128`).
pub const SQE_LEN: usize = 64;

/// `struct io_uring_sqe`, as copied out of the shared array once (the
/// copy is what the request uses: `IORING_FEAT_SUBMIT_STABLE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sqe {
    /// `opcode`.
    pub opcode: u8,
    /// `flags` (`IOSQE_*`).
    pub flags: u8,
    /// `ioprio` (poll flags of some opcodes).
    pub ioprio: u16,
    /// `fd`.
    pub fd: i32,
    /// `off` / `addr2`.
    pub off: u64,
    /// `addr` / `splice_off_in`.
    pub addr: u64,
    /// `len`.
    pub len: u32,
    /// The opcode's flags word (`rw_flags`, `fsync_flags`,
    /// `poll32_events`, `msg_flags`, `timeout_flags`, `accept_flags`,
    /// `cancel_flags`, `open_flags`, `statx_flags`...).
    pub op_flags: u32,
    /// `user_data`.
    pub user_data: u64,
    /// `buf_index` / `buf_group`.
    pub buf_index: u16,
    /// `personality`.
    pub personality: u16,
    /// `splice_fd_in` / `file_index` / `addr_len` (low half).
    pub file_index: u32,
    /// `addr3`.
    pub addr3: u64,
    /// `__pad2[0]`.
    pub pad: u64,
}

impl Sqe {
    /// Reads an SQE from its first [`SQE_LEN`] bytes (shorter input reads
    /// as zeros past its end).
    pub fn from_bytes(raw: &[u8]) -> Sqe {
        let mut b = [0u8; SQE_LEN];
        let n = raw.len().min(SQE_LEN);
        b[..n].copy_from_slice(&raw[..n]);
        Sqe {
            opcode: b[0],
            flags: b[1],
            ioprio: u16_at(&b, 2),
            fd: u32_at(&b, 4) as i32,
            off: u64_at(&b, 8),
            addr: u64_at(&b, 16),
            len: u32_at(&b, 24),
            op_flags: u32_at(&b, 28),
            user_data: u64_at(&b, 32),
            buf_index: u16_at(&b, 40),
            personality: u16_at(&b, 42),
            file_index: u32_at(&b, 44),
            addr3: u64_at(&b, 48),
            pad: u64_at(&b, 56),
        }
    }

    /// Its bytes (for tests and for user-space helpers).
    pub fn to_bytes(&self) -> [u8; SQE_LEN] {
        let mut b = [0u8; SQE_LEN];
        b[0] = self.opcode;
        b[1] = self.flags;
        b[2..4].copy_from_slice(&self.ioprio.to_le_bytes());
        b[4..8].copy_from_slice(&self.fd.to_le_bytes());
        b[8..16].copy_from_slice(&self.off.to_le_bytes());
        b[16..24].copy_from_slice(&self.addr.to_le_bytes());
        b[24..28].copy_from_slice(&self.len.to_le_bytes());
        b[28..32].copy_from_slice(&self.op_flags.to_le_bytes());
        b[32..40].copy_from_slice(&self.user_data.to_le_bytes());
        b[40..42].copy_from_slice(&self.buf_index.to_le_bytes());
        b[42..44].copy_from_slice(&self.personality.to_le_bytes());
        b[44..48].copy_from_slice(&self.file_index.to_le_bytes());
        b[48..56].copy_from_slice(&self.addr3.to_le_bytes());
        b[56..64].copy_from_slice(&self.pad.to_le_bytes());
        b
    }

    /// Whether the SQE links to the next one (`IO_LINK` or `IO_HARDLINK`).
    pub fn links(&self) -> bool {
        self.flags & (sqe_flags::IO_LINK | sqe_flags::IO_HARDLINK) != 0
    }
}

/// `struct io_uring_cqe` (16 bytes; 32 with `IORING_SETUP_CQE32`, the
/// extra two words zero).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cqe {
    /// The SQE's `user_data`.
    pub user_data: u64,
    /// The result: a count, a mask, or a negative errno.
    pub res: i32,
    /// `IORING_CQE_F_*`.
    pub flags: u32,
}

impl Cqe {
    /// Its 16 bytes.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0..8].copy_from_slice(&self.user_data.to_le_bytes());
        b[8..12].copy_from_slice(&self.res.to_le_bytes());
        b[12..16].copy_from_slice(&self.flags.to_le_bytes());
        b
    }

    /// Reads one from 16 bytes.
    pub fn from_bytes(b: &[u8; 16]) -> Cqe {
        Cqe { user_data: u64_at(b, 0), res: u32_at(b, 8) as i32, flags: u32_at(b, 12) }
    }
}

/// `sizeof(struct io_uring_getevents_arg)`.
pub const GETEVENTS_ARG_LEN: usize = 24;

/// `struct io_uring_getevents_arg` (`IORING_ENTER_EXT_ARG`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeteventsArg {
    /// A `sigset_t *` (0: none).
    pub sigmask: u64,
    /// Its size.
    pub sigmask_sz: u32,
    /// `pad`.
    pub pad: u32,
    /// A `struct __kernel_timespec *` (0: none).
    pub ts: u64,
}

impl GeteventsArg {
    /// Reads it from its 24 bytes.
    pub fn from_bytes(b: &[u8; GETEVENTS_ARG_LEN]) -> GeteventsArg {
        GeteventsArg {
            sigmask: u64_at(b, 0),
            sigmask_sz: u32_at(b, 8),
            pad: u32_at(b, 12),
            ts: u64_at(b, 16),
        }
    }
}
