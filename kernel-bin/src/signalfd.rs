//! signalfd(2)/signalfd4(2): a file that reads the caller's pending
//! signals of a mask as `struct signalfd_siginfo` records
//! (`signal::signalfd::record`).
//!
//! As Linux, the file holds only the mask: whoever reads (or polls) it
//! dequeues (or looks at) *its own* thread queue, then its process queue,
//! in delivery order (`ThreadSignals::dequeue_waited`). Each process that
//! uses a signalfd has one wait queue in its record (`proc::ProcessExt`,
//! Linux's `sighand->signalfd_wqh`), woken by `Hooks::signal_queued` whenever a
//! signal is queued to the process or one of its threads, blocked or not,
//! and when a mask changes; a file's [`File::wait_queue`] is the queue of
//! the process asking, so epoll relays the adder's signals as Linux's
//! `signalfd_poll` registers on `current`'s queue.

use crate::eventfd::{caller, install};
use crate::proc::table;
use crate::sched::WaitQueue;
use crate::syscall::SysResult;
use crate::uthread::UThread;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use linux_abi::args::{Fd, UserPtr};
use linux_abi::{Errno, Result};
use process::pid::Pid;
use signal::signalfd::{self as rules, SIGNALFD_SIGINFO_SIZE};
use signal::{SigInfo, SigSet};
use vfs::File;

/// Whether any process ever made a signalfd queue: until then a queued
/// signal does not look for one (the signal path stays as without
/// signalfd).
static ANY_QUEUE: AtomicBool = AtomicBool::new(false);

/// Process `pid`'s queue (made on first use, kept until the process is
/// reaped; a process that is gone gets one nobody wakes).
fn queue(pid: Pid) -> Arc<WaitQueue> {
    ANY_QUEUE.store(true, Ordering::SeqCst);
    table()
        .with_process(pid, |p| {
            p.ext_mut().signalfd_wq.get_or_insert_with(|| Arc::new(WaitQueue::new())).clone()
        })
        .unwrap_or_else(|| Arc::new(WaitQueue::new()))
}

/// A signal was queued to process `pid` (or a thread of it): wakes its
/// signalfd readers and pollers (if it ever had any).
pub fn notify(pid: Pid) {
    if !ANY_QUEUE.load(Ordering::SeqCst) {
        return;
    }
    let wake = table().with_process(pid, |p| p.ext().signalfd_wq.clone()).flatten();
    if let Some(q) = wake {
        q.wake_all();
    }
}

/// Whether thread `tid` of `pid` has a signal of `mask` pending (Linux's
/// `signalfd_poll`: `next_signal` on both queues).
fn has_pending(tid: Pid, pid: Pid, mask: SigSet) -> bool {
    let blocked = mask.complement();
    table().with_thread(tid, |th| th.signals().pending().next(blocked).is_some()).unwrap_or(false)
        || table().with_process(pid, |p| p.pending().next(blocked).is_some()).unwrap_or(false)
}

/// Takes thread `tid`'s next signal of `mask`, thread queue first.
fn dequeue(tid: Pid, pid: Pid, mask: SigSet) -> Option<SigInfo> {
    let cpu = crate::posix_timer::dequeue_sample(pid);
    table()
        .with_thread_process(tid, pid, |th, p| {
            let mut info = th.signals_mut().dequeue_waited(p.pending_mut(), mask);
            if let Some(i) = &mut info {
                crate::posix_timer::on_dequeue(&mut p.ext_mut().posix_timers, i, cpu);
            }
            info
        })
        .flatten()
}

/// A signalfd.
pub struct SignalFd {
    /// The signals it reads (never SIGKILL or SIGSTOP).
    mask: AtomicU64,
    flags: AtomicU32,
    /// F_SETOWN/F_SETSIG/O_ASYNC state of the description.
    owner: vfs::FileOwner,
}

impl SignalFd {
    fn mask(&self) -> SigSet {
        SigSet::from_bits(self.mask.load(Ordering::SeqCst))
    }

    fn nonblock(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & vfs::O_NONBLOCK != 0
    }
}

impl File for SignalFd {
    fn owner(&self) -> &vfs::FileOwner {
        &self.owner
    }

    fn show_fdinfo(&self, out: &mut alloc::string::String) {
        out.push_str(&process::proctext::fdinfo_signalfd(self.mask().bits()));
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        let want = buf.len() / SIGNALFD_SIGINFO_SIZE;
        if want == 0 {
            return Err(Errno::EINVAL);
        }
        let (tid, pid) = caller();
        let mask = self.mask();
        let mut got = 0;
        while got < want {
            if let Some(info) = dequeue(tid, pid, mask) {
                buf[got * SIGNALFD_SIGINFO_SIZE..(got + 1) * SIGNALFD_SIGINFO_SIZE]
                    .copy_from_slice(&rules::record(&info));
                got += 1;
                continue;
            }
            // only the first record waits
            if got > 0 {
                break;
            }
            if self.nonblock() {
                return Err(Errno::EAGAIN);
            }
            let q = queue(pid);
            crate::proc::sleep_on(tid, &[&q], || has_pending(tid, pid, mask), None)?;
        }
        Ok(got * SIGNALFD_SIGINFO_SIZE)
    }

    fn write(&self, _buf: &[u8]) -> Result<usize> {
        Err(Errno::EINVAL)
    }

    fn unread(&self, _data: &[u8]) {
        // Linux dequeues before it copies: the signals are gone
    }

    fn poll(&self) -> u32 {
        let (tid, pid) = caller();
        if has_pending(tid, pid, self.mask()) { vfs::POLLIN } else { 0 }
    }

    fn event_count(&self) -> u64 {
        // every queued signal moves the epoch: edge-triggered epoll
        // reports again after each
        crate::proc::table().epoch().current()
    }

    fn wait_queue(&self) -> Option<Arc<dyn vfs::WaitQueue>> {
        let (_, pid) = caller();
        Some(queue(pid))
    }

    crate::eventfd::anon_file_methods!();
}

/// signalfd4(2): a new signalfd (`fd` -1) or a new mask for an existing
/// one (`EBADF`, `EINVAL` when `fd` is another kind of file). SIGKILL and
/// SIGSTOP are silently left out of the mask.
pub fn signalfd4(t: &mut UThread, fd: i32, mask: UserPtr<u64>, size: usize, flags: i32) -> SysResult {
    if size != signal::SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mask = SigSet::from_bits(t.read(mask)?).blockable();
    let flags = flags as u32;
    rules::check_flags(flags)?;
    if fd == -1 {
        let file: Arc<dyn File> = Arc::new(SignalFd {
            owner: vfs::FileOwner::new(),
            mask: AtomicU64::new(mask.bits()),
            flags: AtomicU32::new(vfs::O_RDWR | (flags & vfs::O_NONBLOCK)),
        });
        return install(t, file, flags & rules::SFD_CLOEXEC != 0);
    }
    let file = t.fd(Fd(fd as u32))?;
    let sfd = file.as_any().and_then(|a| a.downcast_ref::<SignalFd>()).ok_or(Errno::EINVAL)?;
    sfd.mask.store(mask.bits(), Ordering::SeqCst);
    // pollers look again with the new mask
    queue(t.pid).wake_all();
    Ok(fd as isize)
}

/// signalfd(2): signalfd4 without flags.
pub fn signalfd(t: &mut UThread, fd: i32, mask: UserPtr<u64>, size: usize) -> SysResult {
    signalfd4(t, fd, mask, size, 0)
}
