//! `struct iocb` (include/uapi/linux/aio_abi.h) and the checks io_submit
//! makes of one (fs/aio.c's io_submit_one, aio_prep_rw, aio_fsync,
//! aio_poll), in Linux's order: the caller interleaves them with its own
//! (the descriptor, the eventfd, the key's write) as [`Iocb`]'s methods say.

use linux_abi::Errno;

/// `sizeof(struct iocb)`.
pub const IOCB_LEN: usize = 64;
/// The byte offset of `aio_key`, which io_submit sets to [`KEY`].
pub const KEY_OFFSET: usize = 8;
/// `KIOCB_KEY`: the key io_submit writes and io_cancel expects.
pub const KEY: u32 = 0;

/// `IOCB_FLAG_RESFD`: signal the eventfd `aio_resfd` at completion.
pub const FLAG_RESFD: u32 = 1;
/// `IOCB_FLAG_IOPRIO`: `aio_reqprio` is an I/O priority.
pub const FLAG_IOPRIO: u32 = 2;

/// `RWF_*` flags Linux 6.1 knows (HIPRI, DSYNC, SYNC, NOWAIT, APPEND).
pub const RWF_SUPPORTED: u32 = 0x1f;
/// `RWF_APPEND`.
pub const RWF_APPEND: u32 = 0x10;

/// `IOCB_CMD_*`: what a request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `IOCB_CMD_PREAD` (0).
    Pread,
    /// `IOCB_CMD_PWRITE` (1).
    Pwrite,
    /// `IOCB_CMD_FSYNC` (2).
    Fsync,
    /// `IOCB_CMD_FDSYNC` (3).
    Fdsync,
    /// `IOCB_CMD_POLL` (5).
    Poll,
    /// `IOCB_CMD_PREADV` (7).
    Preadv,
    /// `IOCB_CMD_PWRITEV` (8).
    Pwritev,
}

impl Op {
    /// The operation of `opcode`: `EINVAL` for any other, `IOCB_CMD_NOOP`
    /// (6) included (Linux 6.1 has no handler for it).
    pub fn from_opcode(opcode: u16) -> Result<Op, Errno> {
        Ok(match opcode {
            0 => Op::Pread,
            1 => Op::Pwrite,
            2 => Op::Fsync,
            3 => Op::Fdsync,
            5 => Op::Poll,
            7 => Op::Preadv,
            8 => Op::Pwritev,
            _ => return Err(Errno::EINVAL),
        })
    }

    /// A read or a write (of one buffer or of iovecs).
    pub fn is_rw(self) -> bool {
        matches!(self, Op::Pread | Op::Pwrite | Op::Preadv | Op::Pwritev)
    }

    /// Writes to the file.
    pub fn writes(self) -> bool {
        matches!(self, Op::Pwrite | Op::Pwritev)
    }

    /// Its buffer is an iovec array.
    pub fn vectored(self) -> bool {
        matches!(self, Op::Preadv | Op::Pwritev)
    }
}

/// `struct iocb` as user space wrote it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Iocb {
    /// `aio_data`: returned in the event's `data`.
    pub data: u64,
    /// `aio_key`.
    pub key: u32,
    /// `aio_rw_flags`: `RWF_*`.
    pub rw_flags: u32,
    /// `aio_lio_opcode`.
    pub opcode: u16,
    /// `aio_reqprio`.
    pub reqprio: i16,
    /// `aio_fildes`.
    pub fildes: u32,
    /// `aio_buf`: the buffer, the iovec array, or POLL's event mask.
    pub buf: u64,
    /// `aio_nbytes`: the buffer's length or the iovec count.
    pub nbytes: u64,
    /// `aio_offset`.
    pub offset: i64,
    /// `aio_reserved2`: must be 0.
    pub reserved2: u64,
    /// `aio_flags`: `IOCB_FLAG_*`.
    pub flags: u32,
    /// `aio_resfd`: the eventfd of [`FLAG_RESFD`].
    pub resfd: u32,
}

impl Iocb {
    /// The iocb in its 64 bytes.
    pub fn from_bytes(b: &[u8; IOCB_LEN]) -> Iocb {
        let q = |i: usize| {
            u64::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3], b[i + 4], b[i + 5], b[i + 6], b[i + 7]])
        };
        let d = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let w = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        Iocb {
            data: q(0),
            key: d(8),
            rw_flags: d(12),
            opcode: w(16),
            reqprio: w(18) as i16,
            fildes: d(20),
            buf: q(24),
            nbytes: q(32),
            offset: q(40) as i64,
            reserved2: q(48),
            flags: d(56),
            resfd: d(60),
        }
    }

    /// io_submit_one's first checks, before a slot is taken: `EINVAL` for
    /// a non-zero `aio_reserved2` or a length that is negative as a
    /// `ssize_t`.
    pub fn check(&self) -> Result<(), Errno> {
        if self.reserved2 != 0 || (self.nbytes as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// The checks of a read or write's own fields (aio_prep_rw), after the
    /// descriptor, the eventfd and the key: the I/O priority of
    /// [`FLAG_IOPRIO`] ([`check_ioprio`]; `may_rt`: the caller has
    /// CAP_SYS_ADMIN or CAP_SYS_NICE), then `EOPNOTSUPP` for unknown
    /// `RWF_*` bits.
    pub fn check_rw(&self, may_rt: bool) -> Result<(), Errno> {
        if self.flags & FLAG_IOPRIO != 0 {
            check_ioprio(self.reqprio as u16, may_rt)?;
        }
        if self.rw_flags & !RWF_SUPPORTED != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        Ok(())
    }

    /// aio_fsync's check: `EINVAL` when a buffer, offset, length or
    /// `RWF_*` flag is given.
    pub fn check_fsync(&self) -> Result<(), Errno> {
        if self.buf != 0 || self.offset != 0 || self.nbytes != 0 || self.rw_flags != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// aio_poll's check and the events it waits for: `EINVAL` for bits
    /// past 16 in the mask or an offset, length or `RWF_*` flag; the mask
    /// gains `POLLERR | POLLHUP`.
    pub fn poll_events(&self) -> Result<u32, Errno> {
        if self.buf != u64::from(self.buf as u16) {
            return Err(Errno::EINVAL);
        }
        if self.offset != 0 || self.nbytes != 0 || self.rw_flags != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(self.buf as u32 | POLLERR | POLLHUP)
    }
}

/// `POLLERR`.
pub const POLLERR: u32 = 0x8;
/// `POLLHUP`.
pub const POLLHUP: u32 = 0x10;

/// ioprio_check_cap (Linux 6.1): the real-time class needs `may_rt`
/// (`EPERM`); the best-effort class a level below 8; the idle class any
/// level; no class, level 0; another class `EINVAL`.
pub fn check_ioprio(prio: u16, may_rt: bool) -> Result<(), Errno> {
    let class = prio >> 13;
    let data = prio & 0x1fff;
    match class {
        1 if !may_rt => Err(Errno::EPERM),
        1 | 2 if data >= 8 => Err(Errno::EINVAL),
        1..=3 => Ok(()),
        0 if data != 0 => Err(Errno::EINVAL),
        0 => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// `POLLIN`.
pub const POLLIN: u32 = 0x1;
/// `POLLOUT`.
pub const POLLOUT: u32 = 0x4;
/// `POLLRDNORM`.
pub const POLLRDNORM: u32 = 0x40;
/// `POLLWRNORM`.
pub const POLLWRNORM: u32 = 0x100;

/// The `res` of a POLL completed after a wake-up, from the file's poll
/// bits `ready` and the request's `events` (with POLLERR/POLLHUP).
/// Linux's aio_poll_wake reports the waker's key, which for the common
/// readiness wake-ups (a pipe's or socket's data, room to write) carries
/// POLLRDNORM with POLLIN and POLLWRNORM with POLLOUT whether or not they
/// were asked for; a wake-up without a key (a pipe's last writer gone)
/// polls, and reports `ready & events`. Without keys, this reports the
/// ready bits asked for, each with its `NORM` twin.
pub fn wake_result(ready: u32, events: u32) -> u32 {
    let mut ready = ready;
    let mut want = events;
    if ready & POLLIN != 0 {
        ready |= POLLRDNORM;
    }
    if ready & POLLOUT != 0 {
        ready |= POLLWRNORM;
    }
    if events & POLLIN != 0 {
        want |= POLLRDNORM;
    }
    if events & POLLOUT != 0 {
        want |= POLLWRNORM;
    }
    ready & want
}
