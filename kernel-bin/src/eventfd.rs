//! eventfd(2)/eventfd2(2): a file around a 64-bit counter. The counter's
//! rules are `evfd::eventfd`; here are the locking, the sleeping and the
//! system calls. One wait queue serves readers, writers and pollers (as
//! Linux's `ctx->wqh`); every change of the counter wakes it.
//!
//! Also the helpers timerfd.rs and signalfd.rs share: the caller's ids, the
//! anonymous-inode stat, installing a new file.

use crate::proc::table;
use crate::sched::WaitQueue;
use crate::syscall::SysResult;
use crate::uthread::UThread;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use evfd::eventfd::{self as rules, Counter};
use linux_abi::{Errno, Result};
use process::pid::Pid;
use spin::Mutex;
use vfs::{File, Stat};

/// The running thread's tid.
pub(crate) fn current_tid() -> Pid {
    crate::sched::current().id.load(Ordering::Relaxed) as Pid
}

/// The running thread's `(tid, pid)`.
pub(crate) fn caller() -> (Pid, Pid) {
    let tid = current_tid();
    (tid, table().tgid(tid).unwrap_or(tid))
}

/// fstat(2) of a file on Linux's anonymous inode: mode 0600 without a
/// type (as an epoll instance).
pub(crate) fn anon_stat() -> Stat {
    Stat::default().with_mode(0o600).with_nlink(1).with_blksize(4096).with_dev(0xd)
}

/// `vfs::File`'s `status_flags` and `set_status_flags` for a file that
/// keeps its status flags in an `AtomicU32` field named `flags` (F_SETFL
/// changes only the bits `vfs::set_status_bits` lets through). Written
/// inside the `impl File`.
macro_rules! status_flags_methods {
    () => {
        fn status_flags(&self) -> u32 {
            self.flags.load(core::sync::atomic::Ordering::Relaxed)
        }

        fn set_status_flags(&self, flags: u32) {
            vfs::set_status_bits(&self.flags, flags);
        }
    };
}
pub(crate) use status_flags_methods;

/// The `vfs::File` methods an event file on Linux's anonymous inode
/// (eventfd, timerfd, signalfd, inotify) writes the same way:
/// `noop_llseek` (every seek succeeds at 0), fstat's [`anon_stat`],
/// `as_any` (the file itself, for the downcasts of /proc and the fd
/// calls) and [`status_flags_methods`].
macro_rules! anon_file_methods {
    () => {
        fn lseek(&self, _offset: i64, _whence: u32) -> linux_abi::Result<u64> {
            Ok(0) // noop_llseek
        }

        fn stat(&self) -> linux_abi::Result<vfs::Stat> {
            Ok(crate::eventfd::anon_stat())
        }

        fn as_any(&self) -> Option<&dyn core::any::Any> {
            Some(self)
        }

        crate::eventfd::status_flags_methods!();
    };
}
pub(crate) use anon_file_methods;

/// `event_count` and `wait_queue` of a file that counts its changes in an
/// `AtomicU64` field `events` (epoll's edge-triggered wake-ups) and wakes
/// its waiters through an `Arc` wait queue in a field `wq`.
macro_rules! event_queue_methods {
    () => {
        fn event_count(&self) -> u64 {
            self.events.load(core::sync::atomic::Ordering::SeqCst)
        }

        fn wait_queue(&self) -> Option<alloc::sync::Arc<dyn vfs::WaitQueue>> {
            Some(self.wq.clone())
        }
    };
}
pub(crate) use event_queue_methods;

/// Puts `file` in the lowest free descriptor of `t`'s table.
pub(crate) fn install(t: &UThread, file: Arc<dyn File>, cloexec: bool) -> SysResult {
    let nofile = t.nofile();
    let fd = t.files().lock()?.insert(file, cloexec, nofile)?;
    Ok(fd as isize)
}

/// An eventfd.
pub struct EventFd {
    counter: Mutex<Counter>,
    wq: Arc<WaitQueue>,
    /// Moves on every change (epoll's edge-triggered wake-ups).
    events: AtomicU64,
    /// `O_RDWR` and `O_NONBLOCK`.
    flags: AtomicU32,
    /// fdinfo's `eventfd-id` (Linux takes the lowest free id of an ida;
    /// here a counter).
    id: u32,
    /// F_SETOWN/F_SETSIG/O_ASYNC state of the description.
    owner: vfs::FileOwner,
}

/// The next eventfd's id.
static NEXT_ID: AtomicU32 = AtomicU32::new(0);

impl EventFd {
    fn new(initval: u32, flags: u32) -> EventFd {
        EventFd {
            owner: vfs::FileOwner::new(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed) & 0x7fff_ffff,
            counter: Mutex::new(Counter::new(initval, flags)),
            wq: Arc::new(WaitQueue::new()),
            events: AtomicU64::new(0),
            flags: AtomicU32::new(vfs::O_RDWR | (flags & vfs::O_NONBLOCK)),
        }
    }

    fn nonblock(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & vfs::O_NONBLOCK != 0
    }

    fn changed(&self) {
        self.events.fetch_add(1, Ordering::SeqCst);
        self.wq.wake_all();
    }
}

impl File for EventFd {
    fn owner(&self) -> &vfs::FileOwner {
        &self.owner
    }

    fn show_fdinfo(&self, out: &mut alloc::string::String) {
        let count = self.counter.lock().count();
        out.push_str(&process::proctext::fdinfo_eventfd(count, self.id));
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        rules::check_len(buf.len())?;
        loop {
            let got = self.counter.lock().try_read();
            if let Some(v) = got {
                buf[..8].copy_from_slice(&v.to_ne_bytes());
                self.changed();
                return Ok(8);
            }
            if self.nonblock() {
                return Err(Errno::EAGAIN);
            }
            crate::proc::sleep_on(current_tid(), &[&self.wq], || self.counter.lock().readable(), None)?;
        }
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        let v = rules::write_value(buf)?;
        loop {
            let done = self.counter.lock().try_write(v);
            if done {
                self.changed();
                return Ok(8);
            }
            if self.nonblock() {
                return Err(Errno::EAGAIN);
            }
            crate::proc::sleep_on(
                current_tid(),
                &[&self.wq],
                || {
                    let c = self.counter.lock().count();
                    u64::MAX - c > v
                },
                None,
            )?;
        }
    }

    fn unread(&self, _data: &[u8]) {
        // Linux's eventfd_read consumes before it copies: a failed copy
        // loses the value
    }

    fn poll(&self) -> u32 {
        let c = self.counter.lock();
        let mut r = 0;
        if c.readable() {
            r |= vfs::POLLIN;
        }
        if c.writable() {
            r |= vfs::POLLOUT;
        }
        if c.overflowed() {
            r |= vfs::POLLERR;
        }
        r
    }

    crate::eventfd::anon_file_methods!();
    crate::eventfd::event_queue_methods!();
}

/// Whether `file` is an eventfd (eventfd_ctx_fdget's check).
pub fn is_eventfd(file: &dyn File) -> bool {
    file.as_any().is_some_and(|a| a.is::<EventFd>())
}

/// eventfd_signal: adds `n` to the eventfd `file`'s counter from the
/// kernel (AIO's IOCB_FLAG_RESFD), up to the largest count, and wakes its
/// readers and pollers; nothing for another kind of file.
pub fn signal(file: &dyn File, n: u64) {
    let Some(e) = file.as_any().and_then(|a| a.downcast_ref::<EventFd>()) else { return };
    {
        let mut c = e.counter.lock();
        let room = u64::MAX - c.count();
        c.try_write(n.min(room.saturating_sub(1)));
    }
    e.changed();
}

/// eventfd2(2): `EINVAL` for unknown flags.
pub fn eventfd2(t: &mut UThread, initval: u32, flags: i32) -> SysResult {
    let flags = flags as u32;
    rules::check_flags(flags)?;
    let file: Arc<dyn File> = Arc::new(EventFd::new(initval, flags));
    install(t, file, flags & rules::EFD_CLOEXEC != 0)
}

/// eventfd(2): eventfd2 without flags.
pub fn eventfd(t: &mut UThread, initval: u32) -> SysResult {
    eventfd2(t, initval, 0)
}

/// The `anon_inode:[...]` name /proc/<pid>/fd shows for the event files
/// of this module and its siblings.
pub fn anon_name(file: &dyn File) -> Option<&'static [u8]> {
    let any = file.as_any()?;
    if any.is::<EventFd>() {
        Some(b"anon_inode:[eventfd]")
    } else if any.is::<crate::timerfd::TimerFd>() {
        Some(b"anon_inode:[timerfd]")
    } else if any.is::<crate::signalfd::SignalFd>() {
        Some(b"anon_inode:[signalfd]")
    } else if any.is::<crate::pidfd::PidFd>() {
        Some(b"anon_inode:[pidfd]")
    } else if any.is::<crate::inotify::InotifyFile>() {
        Some(b"anon_inode:inotify")
    } else {
        None
    }
}
