//! The /proc/sys knobs: one table of (directory, name, mode, kind) with a
//! getter and a setter each, read and written by procfs. The values live
//! where the code that enforces them reads them (the vfs for the
//! protected_* rules, the process table for threads-max and pid_max, the
//! vm crate for max_map_count, the atomics here for the pipe limits and
//! suid_dumpable, pty.rs for kernel.pty). Writes follow Linux's number rules
//! (`linux_abi::sysctl::parse`); only root may write (the files are 0644,
//! the permission check of open(2) refuses others with `EACCES`).

use crate::proc::table;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use linux_abi::sysctl::Kind;
use linux_abi::{Errno, Result};
use process::ns::NsKind;

/// `fs.pipe-max-size`: the largest F_SETPIPE_SZ an unprivileged process
/// may ask for (Linux's default: 1 MiB).
static PIPE_MAX_SIZE: AtomicU64 = AtomicU64::new(1 << 20);
/// `fs.pipe-user-pages-soft`: pipe pages a user may hold before new pipes
/// get two pages (Linux's default: 16 pipes of 16 pages times 1024).
static PIPE_USER_PAGES_SOFT: AtomicU64 = AtomicU64::new(16 * 1024);
/// `fs.pipe-user-pages-hard`: pipe pages a user may hold at all (0: no limit).
static PIPE_USER_PAGES_HARD: AtomicU64 = AtomicU64::new(0);
/// `fs.suid_dumpable`: what a change of credentials makes `dumpable` (0:
/// not dumpable, 1: dumpable, 2: root-only dumps).
static SUID_DUMPABLE: AtomicU64 = AtomicU64::new(0);

/// `fs.file-max`: Linux's `files_stat.max_files`, kept for readers (no
/// limit on open files is enforced here); `u64::MAX` until written: the
/// default, a tenth of the free memory in KiB (at least `NR_FILE`, 8192),
/// as Linux's `files_maxfiles_init`.
static FILE_MAX: AtomicU64 = AtomicU64::new(u64::MAX);

/// `fs.nr_open`: the largest hard `RLIMIT_NOFILE` (Linux's default 1 MiB;
/// an fd table still ends at `fs_table::NR_OPEN`).
static NR_OPEN: AtomicU64 = AtomicU64::new(process::rlimit::NR_OPEN);

/// `fs.nr_open`'s bounds (`sysctl_nr_open_min`, `sysctl_nr_open_max` on
/// x86_64: `INT_MAX` rounded down to a multiple of `BITS_PER_LONG`).
const NR_OPEN_MIN: i64 = 64;
const NR_OPEN_MAX: i64 = (i32::MAX as i64) & !63;

/// `fs.nr_open` now (prlimit's bound for `RLIMIT_NOFILE`).
pub fn nr_open() -> u64 {
    NR_OPEN.load(Ordering::Relaxed)
}

fn file_max() -> i64 {
    match FILE_MAX.load(Ordering::Relaxed) {
        u64::MAX => {
            let (free, _) = arch_x86_64::mem::frames::stats();
            (free * 4 / 10).max(8192) as i64
        }
        v => v as i64,
    }
}

/// `net.unix.max_dgram_qlen`: Linux's default (10, `unix_net_init`;
/// systemd's sysctl.d raises it to 512), kept for readers (an AF_UNIX
/// datagram queue is bounded by its bytes here).
static MAX_DGRAM_QLEN: AtomicU64 = AtomicU64::new(10);

/// `vm.overcommit_memory`: 0 heuristic (Linux's default), 1 always, 2
/// never (strict accounting). Kept for readers; mmap does not consult it.
static OVERCOMMIT_MEMORY: AtomicU64 = AtomicU64::new(0);
/// `vm.overcommit_ratio`: the percentage of RAM in `CommitLimit` (50).
static OVERCOMMIT_RATIO: AtomicU64 = AtomicU64::new(50);
/// `vm.overcommit_kbytes`: `CommitLimit` in kB instead of the ratio (0: the
/// ratio counts).
static OVERCOMMIT_KBYTES: AtomicU64 = AtomicU64::new(0);

/// /proc/meminfo's `CommitLimit` in kB for `total_kb` of RAM and no swap
/// (Linux's `vm_commit_limit`).
pub fn commit_limit_kb(total_kb: u64) -> u64 {
    match OVERCOMMIT_KBYTES.load(Ordering::Relaxed) {
        0 => total_kb * (OVERCOMMIT_RATIO.load(Ordering::Relaxed) as i32 as i64).max(0) as u64 / 100,
        kb => kb,
    }
}

/// `fs.pipe-max-size` in bytes.
pub fn pipe_max_size() -> u64 {
    PIPE_MAX_SIZE.load(Ordering::Relaxed)
}

/// `fs.pipe-user-pages-soft` in pages (0: no limit).
pub fn pipe_user_pages_soft() -> u64 {
    PIPE_USER_PAGES_SOFT.load(Ordering::Relaxed)
}

/// `fs.pipe-user-pages-hard` in pages (0: no limit).
pub fn pipe_user_pages_hard() -> u64 {
    PIPE_USER_PAGES_HARD.load(Ordering::Relaxed)
}

/// `fs.suid_dumpable` (0, 1 or 2).
pub fn suid_dumpable() -> u32 {
    SUID_DUMPABLE.load(Ordering::Relaxed) as u32
}

/// The running thread's IPC namespace's limits (kernel.shm*, msg*, sem,
/// fs.mqueue.*: one set per IPC namespace, as Linux's `ipc_namespace`).
fn ipc_limits() -> ipc::sysv::Limits {
    crate::syscall::shm::limits()
}

/// Changes the running thread's IPC namespace's limits.
fn set_ipc_limits(f: impl FnOnce(&mut ipc::sysv::Limits)) -> Result<()> {
    crate::syscall::shm::set_limits(f);
    Ok(())
}

/// How a knob is read and written.
#[derive(Clone, Copy)]
enum Value {
    /// A number of the given kind.
    Num(Kind, fn() -> i64, fn(i64) -> Result<()>),
    /// A number of the given kind kept in an atomic cell of the code that
    /// enforces it (fs.inotify.*).
    Atomic(Kind, &'static AtomicU64),
    /// Text, read-only.
    Text(fn() -> Vec<u8>),
    /// Text of at most the given length, writable (Linux's
    /// `proc_dostring`: kernel.hostname).
    TextRw(fn() -> Vec<u8>, fn(Vec<u8>), usize),
    /// An `unsigned long` (`proc_doulongvec_minmax`, printed unsigned:
    /// kernel.shmmax).
    Unsigned(fn() -> u64, fn(u64)),
    /// Four C `int`s separated by tabs (`proc_dointvec` of a vector:
    /// kernel.sem); a write changes the values it gives, in order.
    Ints4(fn() -> [i32; 4], fn([i32; 4]) -> Result<()>),
}

/// One /proc/sys file.
pub struct Knob {
    /// The directory under /proc/sys ("fs", "kernel", "vm").
    pub dir: &'static str,
    /// The file name.
    pub name: &'static str,
    value: Value,
}

impl Knob {
    /// The file's permission bits (0644 when writable, as Linux's tables).
    pub fn mode(&self) -> u32 {
        match self.value {
            Value::Num(..)
            | Value::Atomic(..)
            | Value::TextRw(..)
            | Value::Unsigned(..)
            | Value::Ints4(..) => 0o644,
            Value::Text(_) => 0o444,
        }
    }

    /// What a read shows: the value and a newline.
    pub fn read(&self) -> Vec<u8> {
        match self.value {
            Value::Num(_, get, _) => alloc::format!("{}\n", get()).into_bytes(),
            Value::Atomic(_, cell) => alloc::format!("{}\n", cell.load(Ordering::Relaxed)).into_bytes(),
            Value::Unsigned(get, _) => alloc::format!("{}\n", get()).into_bytes(),
            Value::Ints4(get, _) => {
                let v = get();
                alloc::format!("{}\t{}\t{}\t{}\n", v[0], v[1], v[2], v[3]).into_bytes()
            }
            Value::Text(f) | Value::TextRw(f, ..) => {
                let mut v = f();
                v.push(b'\n');
                v
            }
        }
    }

    /// A read of a number knob at `offset` (`None` for text, read as a
    /// file): as `__do_proc_dointvec`, the value from offset 0 only, cut
    /// to `buf` (a short read gets no newline), and nothing (EOF) from
    /// any other offset.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Option<usize> {
        if !matches!(self.value, Value::Num(..) | Value::Atomic(..) | Value::Unsigned(..) | Value::Ints4(..))
        {
            return None;
        }
        if offset != 0 {
            return Some(0);
        }
        let text = self.read();
        let n = text.len().min(buf.len());
        buf[..n].copy_from_slice(&text[..n]);
        Some(n)
    }

    /// A write of `data` at `offset` (the opener passed the permission
    /// check): the bytes write(2) reports. As Linux's
    /// `sysctl_writes_strict` (1), a write past offset 0 changes nothing
    /// and reports every byte.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<usize> {
        if let Value::TextRw(get, set, max) = self.value {
            return write_string(get, set, max, offset, data);
        }
        let kind = match self.value {
            Value::Num(kind, ..) | Value::Atomic(kind, _) => kind,
            Value::Unsigned(..) => Kind::Ulong,
            Value::Ints4(..) => Kind::Int { min: i32::MIN as i64, max: i32::MAX as i64 },
            _ => return Err(Errno::EACCES),
        };
        if offset != 0 {
            // warn_sysctl_write() is pr_warn_once: a user cannot fill the log
            static WARNED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
            if !WARNED.swap(true, Ordering::Relaxed) {
                log::warn!(
                    "sysctl {}/{}: write at offset {offset} ignored (sysctl_writes_strict)",
                    self.dir,
                    self.name
                );
            }
            return Ok(data.len());
        }
        if let Value::Ints4(get, set) = self.value {
            // one number after another; those not given keep their value
            let mut v = get();
            let mut off = 0;
            for slot in v.iter_mut() {
                match linux_abi::sysctl::parse(kind, &data[off..])? {
                    None => break,
                    Some((x, n)) => {
                        *slot = x as i32;
                        off += n;
                    }
                }
            }
            if off == 0 {
                return Ok(0);
            }
            set(v)?;
            return Ok(off);
        }
        match linux_abi::sysctl::parse(kind, data)? {
            None => Ok(0),
            Some((v, n)) => {
                match self.value {
                    Value::Num(_, _, set) => set(v)?,
                    Value::Atomic(_, cell) => cell.store(v as u64, Ordering::Relaxed),
                    Value::Unsigned(_, set) => set(v as u64),
                    _ => {}
                }
                Ok(n)
            }
        }
    }
}

/// A write to a text knob as `proc_dostring` with `sysctl_writes_strict`:
/// the text from `offset` (within what is there; past its end nothing
/// changes) is replaced by `data` up to its first NUL or newline, at most
/// `max` bytes in all; every byte is reported written.
fn write_string(
    get: fn() -> Vec<u8>,
    set: fn(Vec<u8>),
    max: usize,
    offset: u64,
    data: &[u8],
) -> Result<usize> {
    let old = get();
    let kept = old.len().min(max);
    let Ok(off) = usize::try_from(offset) else { return Ok(data.len()) };
    if off > kept {
        return Ok(data.len());
    }
    let end = data.iter().position(|&c| c == 0 || c == b'\n').unwrap_or(data.len());
    let take = end.min(max - off);
    let mut new = Vec::new();
    new.try_reserve_exact(off + take).map_err(|_| Errno::ENOMEM)?;
    new.extend_from_slice(&old[..off]);
    new.extend_from_slice(&data[..take]);
    set(new);
    Ok(data.len())
}

/// 16 random bytes as a version 4 (random) UUID's.
fn new_uuid_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    crate::devices::random_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    b
}

/// A UUID in its text form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
fn uuid(b: &[u8; 16]) -> Vec<u8> {
    let mut s = alloc::string::String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&alloc::format!("{x:02x}"));
    }
    s.into_bytes()
}

/// `kernel.random.boot_id`: one random UUID per boot.
fn boot_id() -> Vec<u8> {
    static ID: spin::Once<[u8; 16]> = spin::Once::new();
    uuid(ID.call_once(new_uuid_bytes))
}

const fn bool_kind() -> Kind {
    Kind::Int { min: 0, max: 1 }
}

const fn tri_kind() -> Kind {
    Kind::Int { min: 0, max: 2 }
}

/// Every knob, sorted by directory then name (the listing order).
pub static KNOBS: &[Knob] = &[
    Knob {
        dir: "fs",
        name: "pipe-max-size",
        value: Value::Num(
            Kind::PipeMaxSize,
            || pipe_max_size() as i64,
            |v| {
                PIPE_MAX_SIZE.store(v as u64, Ordering::Relaxed);
                Ok(())
            },
        ),
    },
    Knob {
        dir: "fs",
        name: "pipe-user-pages-hard",
        value: Value::Num(
            Kind::Ulong,
            || pipe_user_pages_hard() as i64,
            |v| {
                PIPE_USER_PAGES_HARD.store(v as u64, Ordering::Relaxed);
                Ok(())
            },
        ),
    },
    Knob {
        dir: "fs",
        name: "pipe-user-pages-soft",
        value: Value::Num(
            Kind::Ulong,
            || pipe_user_pages_soft() as i64,
            |v| {
                PIPE_USER_PAGES_SOFT.store(v as u64, Ordering::Relaxed);
                Ok(())
            },
        ),
    },
    Knob {
        dir: "fs",
        name: "protected_fifos",
        value: Value::Num(
            tri_kind(),
            || i64::from(vfs::protected_fifos()),
            |v| {
                vfs::set_protected_fifos(v as u8);
                Ok(())
            },
        ),
    },
    Knob {
        dir: "fs",
        name: "protected_hardlinks",
        value: Value::Num(
            bool_kind(),
            || i64::from(vfs::protected_hardlinks()),
            |v| {
                vfs::set_protected_hardlinks(v != 0);
                Ok(())
            },
        ),
    },
    Knob {
        dir: "fs",
        name: "protected_regular",
        value: Value::Num(
            tri_kind(),
            || i64::from(vfs::protected_regular()),
            |v| {
                vfs::set_protected_regular(v as u8);
                Ok(())
            },
        ),
    },
    Knob {
        dir: "fs",
        name: "protected_symlinks",
        value: Value::Num(
            bool_kind(),
            || i64::from(vfs::protected_symlinks()),
            |v| {
                vfs::set_protected_symlinks(v != 0);
                Ok(())
            },
        ),
    },
    Knob {
        dir: "fs",
        name: "suid_dumpable",
        value: Value::Num(
            tri_kind(),
            || i64::from(suid_dumpable()),
            |v| {
                SUID_DUMPABLE.store(v as u64, Ordering::Relaxed);
                Ok(())
            },
        ),
    },
    Knob {
        dir: "fs",
        name: "aio-max-nr",
        value: Value::Num(
            Kind::Ulong,
            || crate::syscall::aio::aio_max_nr() as i64,
            |v| {
                crate::syscall::aio::set_aio_max_nr(v as u64);
                Ok(())
            },
        ),
    },
    // read-only here, each the value the kernel enforces
    Knob {
        dir: "fs",
        name: "aio-nr",
        value: Value::Text(|| alloc::format!("{}", crate::syscall::aio::aio_nr()).into_bytes()),
    },
    Knob {
        dir: "fs",
        name: "file-max",
        value: Value::Num(Kind::Ulong, file_max, |v| {
            FILE_MAX.store(v as u64, Ordering::Relaxed);
            Ok(())
        }),
    },
    Knob {
        dir: "fs",
        name: "nr_open",
        value: Value::Num(
            Kind::Int { min: NR_OPEN_MIN, max: NR_OPEN_MAX },
            || nr_open() as i64,
            |v| {
                NR_OPEN.store(v as u64, Ordering::Relaxed);
                Ok(())
            },
        ),
    },
    Knob {
        dir: "fs/mqueue",
        name: "msg_default",
        // the caller's IPC namespace's (mq_sysctls: MIN_MSGMAX..HARD_MSGMAX)
        value: Value::Num(
            Kind::Int { min: 1, max: 65536 },
            || i64::from(ipc_limits().mq_msg_default),
            |v| set_ipc_limits(|l| l.mq_msg_default = v as i32),
        ),
    },
    Knob {
        dir: "fs/mqueue",
        name: "msg_max",
        value: Value::Num(
            Kind::Int { min: 1, max: 65536 },
            || i64::from(ipc_limits().mq_msg_max),
            |v| set_ipc_limits(|l| l.mq_msg_max = v as i32),
        ),
    },
    Knob {
        dir: "fs/mqueue",
        name: "msgsize_default",
        // MIN_MSGSIZEMAX..HARD_MSGSIZEMAX
        value: Value::Num(
            Kind::Int { min: 128, max: 16 << 20 },
            || i64::from(ipc_limits().mq_msgsize_default),
            |v| set_ipc_limits(|l| l.mq_msgsize_default = v as i32),
        ),
    },
    Knob {
        dir: "fs/mqueue",
        name: "msgsize_max",
        value: Value::Num(
            Kind::Int { min: 128, max: 16 << 20 },
            || i64::from(ipc_limits().mq_msgsize_max),
            |v| set_ipc_limits(|l| l.mq_msgsize_max = v as i32),
        ),
    },
    Knob {
        dir: "fs/mqueue",
        name: "queues_max",
        // proc_dointvec: any int
        value: Value::Num(
            Kind::Int { min: i32::MIN as i64, max: i32::MAX as i64 },
            || i64::from(ipc_limits().mq_queues_max),
            |v| set_ipc_limits(|l| l.mq_queues_max = v as i32),
        ),
    },
    Knob {
        dir: "fs/inotify",
        name: "max_queued_events",
        value: Value::Atomic(Kind::Int { min: 0, max: i32::MAX as i64 }, &crate::inotify::MAX_QUEUED_EVENTS),
    },
    Knob {
        dir: "fs/inotify",
        name: "max_user_instances",
        value: Value::Atomic(Kind::Int { min: 0, max: i32::MAX as i64 }, &crate::inotify::MAX_USER_INSTANCES),
    },
    Knob {
        dir: "fs/inotify",
        name: "max_user_watches",
        value: Value::Atomic(Kind::Int { min: 0, max: i32::MAX as i64 }, &crate::inotify::MAX_USER_WATCHES),
    },
    Knob {
        dir: "kernel",
        name: "cap_last_cap",
        value: Value::Text(|| alloc::format!("{}", crate::syscall::task::CAP_LAST_CAP).into_bytes()),
    },
    Knob {
        dir: "kernel",
        name: "domainname",
        // __NEW_UTS_LEN; the reader's (writer's) UTS namespace
        value: Value::TextRw(crate::time::domainname, crate::time::set_domainname, 64),
    },
    Knob {
        dir: "kernel",
        name: "hostname",
        // __NEW_UTS_LEN; the reader's (writer's) UTS namespace
        value: Value::TextRw(crate::time::hostname, crate::time::set_hostname, 64),
    },
    // the System V limits of the caller's IPC namespace (ipc_sysctl.c)
    Knob {
        dir: "kernel",
        name: "msgmax",
        value: Value::Num(
            Kind::Int { min: 0, max: i32::MAX as i64 },
            || i64::from(ipc_limits().msg_ctlmax),
            |v| set_ipc_limits(|l| l.msg_ctlmax = v as i32),
        ),
    },
    Knob {
        dir: "kernel",
        name: "msgmnb",
        value: Value::Num(
            Kind::Int { min: 0, max: i32::MAX as i64 },
            || i64::from(ipc_limits().msg_ctlmnb),
            |v| set_ipc_limits(|l| l.msg_ctlmnb = v as i32),
        ),
    },
    Knob {
        dir: "kernel",
        name: "msgmni",
        value: Value::Num(
            Kind::Int { min: 0, max: ipc::sysv::IPCMNI as i64 },
            || i64::from(ipc_limits().msg_ctlmni),
            |v| set_ipc_limits(|l| l.msg_ctlmni = v as i32),
        ),
    },
    Knob {
        dir: "kernel",
        name: "sem",
        // proc_ipc_sem_dointvec: SEMMNI outside 0..=IPCMNI is EINVAL (the
        // other three stay written)
        value: Value::Ints4(
            || ipc_limits().sem_ctls,
            |v| {
                let ok = (0..=ipc::sysv::IPCMNI).contains(&v[3]);
                crate::syscall::shm::set_limits(|l| {
                    let mni = l.sem_ctls[3];
                    l.sem_ctls = v;
                    if !ok {
                        l.sem_ctls[3] = mni;
                    }
                });
                if ok { Ok(()) } else { Err(Errno::EINVAL) }
            },
        ),
    },
    Knob {
        dir: "kernel",
        name: "shm_rmid_forced",
        value: Value::Num(
            bool_kind(),
            || i64::from(ipc_limits().shm_rmid_forced),
            |v| set_ipc_limits(|l| l.shm_rmid_forced = v != 0),
        ),
    },
    Knob {
        dir: "kernel",
        name: "shmall",
        value: Value::Unsigned(
            || ipc_limits().shm_ctlall,
            |v| crate::syscall::shm::set_limits(|l| l.shm_ctlall = v),
        ),
    },
    Knob {
        dir: "kernel",
        name: "shmmax",
        value: Value::Unsigned(
            || ipc_limits().shm_ctlmax,
            |v| crate::syscall::shm::set_limits(|l| l.shm_ctlmax = v),
        ),
    },
    Knob {
        dir: "kernel",
        name: "shmmni",
        value: Value::Num(
            Kind::Int { min: 0, max: ipc::sysv::IPCMNI as i64 },
            || i64::from(ipc_limits().shm_ctlmni),
            |v| set_ipc_limits(|l| l.shm_ctlmni = v as i32),
        ),
    },
    Knob {
        dir: "kernel",
        name: "ngroups_max",
        value: Value::Text(|| alloc::format!("{}", process::cred::NGROUPS_MAX).into_bytes()),
    },
    // no address-space randomisation (elf-loader, vm): Linux's 0
    Knob { dir: "kernel", name: "randomize_va_space", value: Value::Text(|| b"0".to_vec()) },
    Knob { dir: "kernel", name: "osrelease", value: Value::Text(|| b"6.1.0".to_vec()) },
    Knob { dir: "kernel", name: "ostype", value: Value::Text(|| b"Linux".to_vec()) },
    // the ids shown for unmapped ones (bwrap reads them): read-only here
    Knob { dir: "kernel", name: "overflowgid", value: Value::Text(|| b"65534".to_vec()) },
    Knob { dir: "kernel", name: "overflowuid", value: Value::Text(|| b"65534".to_vec()) },
    Knob {
        dir: "kernel",
        name: "pid_max",
        value: Value::Num(
            Kind::Int {
                min: process::pid::RESERVED_PIDS as i64 + 1,
                max: process::pid::PID_MAX_LIMIT as i64,
            },
            || i64::from(table().pid_max()),
            |v| table().set_pid_max(v as u32),
        ),
    },
    Knob {
        dir: "kernel",
        name: "threads-max",
        // sysctl_max_threads: 1 ..= FUTEX_TID_MASK
        value: Value::Num(
            Kind::Int { min: 1, max: 0x3fff_ffff },
            || table().max_threads() as i64,
            |v| {
                table().set_max_threads(v as u64);
                Ok(())
            },
        ),
    },
    Knob {
        dir: "kernel/pty",
        name: "max",
        // pty_limit: pty_limit_min (0) ..= pty_limit_max (INT_MAX)
        value: Value::Num(
            Kind::Int { min: 0, max: i32::MAX as i64 },
            || i64::from(crate::pty::max()),
            |v| {
                crate::pty::set_max(v as u32);
                Ok(())
            },
        ),
    },
    Knob {
        dir: "kernel/pty",
        name: "nr",
        value: Value::Text(|| alloc::format!("{}", crate::pty::count()).into_bytes()),
    },
    Knob {
        dir: "kernel/pty",
        name: "reserve",
        value: Value::Num(
            Kind::Int { min: 0, max: i32::MAX as i64 },
            || i64::from(crate::pty::reserve()),
            |v| {
                crate::pty::set_reserve(v as u32);
                Ok(())
            },
        ),
    },
    // kernel/random (Linux 6.1's random.c): the pool is always "full";
    // the two 0644 knobs are proc_do_rointvec (writes accepted, ignored)
    Knob { dir: "kernel/random", name: "boot_id", value: Value::Text(boot_id) },
    Knob { dir: "kernel/random", name: "entropy_avail", value: Value::Text(|| b"256".to_vec()) },
    Knob { dir: "kernel/random", name: "poolsize", value: Value::Text(|| b"256".to_vec()) },
    Knob {
        dir: "kernel/random",
        name: "urandom_min_reseed_secs",
        value: Value::TextRw(|| b"60".to_vec(), drop, 64),
    },
    Knob { dir: "kernel/random", name: "uuid", value: Value::Text(|| uuid(&new_uuid_bytes())) },
    Knob {
        dir: "kernel/random",
        name: "write_wakeup_threshold",
        value: Value::TextRw(|| b"256".to_vec(), drop, 64),
    },
    // user (kernel/ucount.c's user_table): the per-user limits of the
    // reader's user namespace (set_lookup: each user namespace has its
    // own, INT_MAX at its creation; proc_dointvec_minmax, 0 ..= INT_MAX);
    // a creation beyond any level's is ENOSPC. The inotify two are
    // fs.inotify.max_user_*'s values (the same ucount_max slots; the
    // initial namespace's for every reader here)
    Knob {
        dir: "net/unix",
        name: "max_dgram_qlen",
        value: Value::Atomic(Kind::Int { min: i32::MIN as i64, max: i32::MAX as i64 }, &MAX_DGRAM_QLEN),
    },
    Knob {
        dir: "user",
        name: "max_cgroup_namespaces",
        value: Value::Num(
            Kind::Int { min: 0, max: i32::MAX as i64 },
            || ns_max(NsKind::Cgroup),
            |v| set_ns_max(NsKind::Cgroup, v),
        ),
    },
    Knob {
        dir: "user",
        name: "max_inotify_instances",
        value: Value::Atomic(Kind::Int { min: 0, max: i32::MAX as i64 }, &crate::inotify::MAX_USER_INSTANCES),
    },
    Knob {
        dir: "user",
        name: "max_inotify_watches",
        value: Value::Atomic(Kind::Int { min: 0, max: i32::MAX as i64 }, &crate::inotify::MAX_USER_WATCHES),
    },
    Knob {
        dir: "user",
        name: "max_ipc_namespaces",
        value: Value::Num(
            Kind::Int { min: 0, max: i32::MAX as i64 },
            || ns_max(NsKind::Ipc),
            |v| set_ns_max(NsKind::Ipc, v),
        ),
    },
    Knob {
        dir: "user",
        name: "max_mnt_namespaces",
        value: Value::Num(
            Kind::Int { min: 0, max: i32::MAX as i64 },
            || ns_max(NsKind::Mnt),
            |v| set_ns_max(NsKind::Mnt, v),
        ),
    },
    Knob {
        dir: "user",
        name: "max_net_namespaces",
        value: Value::Num(
            Kind::Int { min: 0, max: i32::MAX as i64 },
            || ns_max(NsKind::Net),
            |v| set_ns_max(NsKind::Net, v),
        ),
    },
    Knob {
        dir: "user",
        name: "max_pid_namespaces",
        value: Value::Num(
            Kind::Int { min: 0, max: i32::MAX as i64 },
            || ns_max(NsKind::Pid),
            |v| set_ns_max(NsKind::Pid, v),
        ),
    },
    Knob {
        dir: "user",
        name: "max_time_namespaces",
        value: Value::Num(
            Kind::Int { min: 0, max: i32::MAX as i64 },
            || ns_max(NsKind::Time),
            |v| set_ns_max(NsKind::Time, v),
        ),
    },
    Knob {
        dir: "user",
        name: "max_user_namespaces",
        value: Value::Num(
            Kind::Int { min: 0, max: i32::MAX as i64 },
            || ns_max(NsKind::User),
            |v| set_ns_max(NsKind::User, v),
        ),
    },
    Knob {
        dir: "user",
        name: "max_uts_namespaces",
        value: Value::Num(
            Kind::Int { min: 0, max: i32::MAX as i64 },
            || ns_max(NsKind::Uts),
            |v| set_ns_max(NsKind::Uts, v),
        ),
    },
    Knob {
        dir: "vm",
        name: "max_map_count",
        value: Value::Num(
            Kind::Int { min: 0, max: i32::MAX as i64 },
            || vm::system_max_map_count() as i64,
            |v| {
                vm::set_system_max_map_count(v as usize);
                Ok(())
            },
        ),
    },
    Knob {
        dir: "vm",
        name: "mmap_min_addr",
        value: Value::Text(|| alloc::format!("{}", vm::abi::MMAP_MIN_ADDR).into_bytes()),
    },
    Knob {
        dir: "vm",
        name: "overcommit_kbytes",
        // overcommit_kbytes_handler: a write zeroes the ratio
        value: Value::Num(
            Kind::Ulong,
            || OVERCOMMIT_KBYTES.load(Ordering::Relaxed) as i64,
            |v| {
                OVERCOMMIT_KBYTES.store(v as u64, Ordering::Relaxed);
                OVERCOMMIT_RATIO.store(0, Ordering::Relaxed);
                Ok(())
            },
        ),
    },
    Knob {
        dir: "vm",
        name: "overcommit_memory",
        value: Value::Num(
            tri_kind(),
            || OVERCOMMIT_MEMORY.load(Ordering::Relaxed) as i64,
            |v| {
                OVERCOMMIT_MEMORY.store(v as u64, Ordering::Relaxed);
                Ok(())
            },
        ),
    },
    Knob {
        dir: "vm",
        name: "overcommit_ratio",
        // overcommit_ratio_handler: proc_dointvec; a write zeroes kbytes
        value: Value::Num(
            Kind::Int { min: i32::MIN as i64, max: i32::MAX as i64 },
            || OVERCOMMIT_RATIO.load(Ordering::Relaxed) as i32 as i64,
            |v| {
                OVERCOMMIT_RATIO.store(v as i32 as u32 as u64, Ordering::Relaxed);
                OVERCOMMIT_KBYTES.store(0, Ordering::Relaxed);
                Ok(())
            },
        ),
    },
];

/// The directories of /proc/sys, in listing order: a name with a `/` is
/// a subdirectory of the one before its last `/`.
pub const DIRS: &[&str] = &[
    "fs",
    "fs/inotify",
    "fs/mqueue",
    "kernel",
    "kernel/pty",
    "kernel/random",
    "net",
    "net/unix",
    "user",
    "vm",
];

/// The directories directly under `parent` ("" for /proc/sys itself):
/// their indexes in [`DIRS`] and their names.
pub fn subdirs(parent: &'static str) -> impl Iterator<Item = (usize, &'static str)> {
    DIRS.iter().enumerate().filter_map(move |(i, d)| {
        let (up, name) = d.rsplit_once('/').unwrap_or(("", d));
        (up == parent).then_some((i, name))
    })
}

/// The knobs of directory `dir`.
pub fn in_dir(dir: &'static str) -> impl Iterator<Item = (usize, &'static Knob)> {
    KNOBS.iter().enumerate().filter(move |(_, k)| k.dir == dir)
}

/// The calling task's user namespace: the set of `user.max_*_namespaces`
/// it reads and writes (Linux's `set_lookup`, `current_user_ns()`).
fn caller_user_ns() -> process::ns::UserNsRef {
    let tid = crate::sched::current().id.load(Ordering::Relaxed) as process::pid::Pid;
    let pid = table().tgid(tid).unwrap_or(tid);
    table().with_process(pid, |p| p.creds().user_ns.clone()).unwrap_or_default()
}

/// The namespace kind of knob `i` when it is a
/// `user.max_<kind>_namespaces` file.
pub fn user_knob_kind(i: usize) -> Option<NsKind> {
    let k = KNOBS.get(i)?;
    if k.dir != "user" {
        return None;
    }
    Some(match k.name {
        "max_cgroup_namespaces" => NsKind::Cgroup,
        "max_ipc_namespaces" => NsKind::Ipc,
        "max_mnt_namespaces" => NsKind::Mnt,
        "max_net_namespaces" => NsKind::Net,
        "max_pid_namespaces" => NsKind::Pid,
        "max_time_namespaces" => NsKind::Time,
        "max_user_namespaces" => NsKind::User,
        "max_uts_namespaces" => NsKind::Uts,
        _ => return None,
    })
}

/// An open `/proc/sys/user/max_<kind>_namespaces`: bound to the opener's
/// user namespace (Linux resolves the sysctl set at lookup, `set_lookup`,
/// and the open file's `ctl_table.data` is that namespace's `ucount_max`
/// slot), so a write through the fd by a process of another namespace
/// (passed by SCM_RIGHTS, a shared fd table) changes the opener's
/// namespace's limit, never the writer's.
pub struct NsMaxFile {
    kind: NsKind,
    ns: process::ns::UserNsRef,
}

impl NsMaxFile {
    /// Knob `i` (a `user.max_*_namespaces`) as opened now by the caller.
    pub fn open(i: usize) -> Option<NsMaxFile> {
        Some(NsMaxFile { kind: user_knob_kind(i)?, ns: caller_user_ns() })
    }
}

impl vfs::SynthNode for NsMaxFile {
    fn content(&self) -> Result<Vec<u8>> {
        Ok(alloc::format!("{}\n", table().max_namespaces_in(self.kind, &self.ns)).into_bytes())
    }

    /// As [`Knob::read_at`]: the value from offset 0 only.
    fn read_direct(&self, offset: u64, buf: &mut [u8]) -> Option<Result<usize>> {
        if offset != 0 {
            return Some(Ok(0));
        }
        let text = match self.content() {
            Ok(t) => t,
            Err(e) => return Some(Err(e)),
        };
        let n = text.len().min(buf.len());
        buf[..n].copy_from_slice(&text[..n]);
        Some(Ok(n))
    }

    /// As [`Knob::write`] (`proc_dointvec_minmax`, 0 ..= INT_MAX, strict
    /// offsets), into the opener's namespace.
    fn write_direct(&self, offset: u64, data: &[u8]) -> Option<Result<usize>> {
        if offset != 0 {
            return Some(Ok(data.len()));
        }
        Some(match linux_abi::sysctl::parse(Kind::Int { min: 0, max: i32::MAX as i64 }, data) {
            Err(e) => Err(e),
            Ok(None) => Ok(0),
            Ok(Some((v, n))) => {
                table().set_max_namespaces_in(self.kind, &self.ns, v as u32);
                Ok(n)
            }
        })
    }

    fn has_poll(&self) -> bool {
        true
    }
}

/// `user.max_<kind>_namespaces` of the caller's user namespace.
fn ns_max(kind: NsKind) -> i64 {
    i64::from(table().max_namespaces_in(kind, &caller_user_ns()))
}

/// Sets `user.max_<kind>_namespaces` of the caller's user namespace
/// (who may write was settled at open: [`user_knob_owner`]). Open files
/// write through [`NsMaxFile`] instead, bound to the opener's.
fn set_ns_max(kind: NsKind, v: i64) -> linux_abi::Result<()> {
    table().set_max_namespaces_in(kind, &caller_user_ns(), v as u32);
    Ok(())
}

/// The owner a `/proc/sys/user/max_*_namespaces` file shows its reader
/// (Linux's `set_permissions`: the owner's bits for a task with
/// `CAP_SYS_RESOURCE` over its user namespace, the others' otherwise):
/// below the initial namespace, a capable reader's fs ids, so that the
/// namespace's root may write its own limits; `None` otherwise (root's).
pub fn user_knob_owner(i: usize) -> Option<(u32, u32)> {
    let k = KNOBS.get(i)?;
    if k.dir != "user" || !k.name.ends_with("_namespaces") {
        return None;
    }
    let tid = crate::sched::current().id.load(Ordering::Relaxed) as process::pid::Pid;
    let pid = table().tgid(tid).unwrap_or(tid);
    table()
        .with_process(pid, |p| {
            let c = p.creds();
            (!c.user_ns.is_initial() && c.ns_capable(&c.user_ns, process::cred::CAP_SYS_RESOURCE))
                .then_some((c.fsuid, c.fsgid))
        })
        .flatten()
}
