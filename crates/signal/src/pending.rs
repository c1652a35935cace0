//! Pending signals: one queue per thread and one per process (Linux's
//! `struct sigpending`), with the RLIMIT_SIGPENDING accounting.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

use linux_abi::{Errno, Result};

use crate::siginfo::{SigInfo, code};
use crate::signum::{SIGKILL, SigNum};
use crate::sigset::SigSet;

/// The count of queued signal entries charged to one user (Linux's
/// `ucounts` for `UCOUNT_RLIMIT_SIGPENDING`), checked against the target's
/// RLIMIT_SIGPENDING when a signal is queued.
///
/// A cheap handle: `clone` refers to the same count. The kernel keeps one
/// per user and passes the target's when it queues a signal; each queued
/// entry keeps the count charged until it is dequeued or discarded.
#[derive(Clone, Debug, Default)]
pub struct SigQueueAccount(Arc<AtomicUsize>);

/// `RLIM_INFINITY`: no limit.
pub const RLIM_INFINITY: u64 = u64::MAX;

impl SigQueueAccount {
    /// A user with nothing queued.
    pub fn new() -> SigQueueAccount {
        SigQueueAccount::default()
    }

    /// How many entries are queued for this user, in every queue.
    pub fn queued(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// Linux's `__sigqueue_alloc()`: one more entry, if the count after it
    /// stays within `limit` or `override_limit` is set.
    fn try_charge(&self, limit: u64, override_limit: bool) -> Option<Charge> {
        let before = self.0.fetch_add(1, Ordering::Relaxed);
        if override_limit || (before as u64) < limit {
            Some(Charge(Arc::clone(&self.0)))
        } else {
            self.0.fetch_sub(1, Ordering::Relaxed);
            None
        }
    }
}

/// One charged entry; dropping it gives the slot back.
#[derive(Debug)]
struct Charge(Arc<AtomicUsize>);

impl Drop for Charge {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct Entry {
    info: SigInfo,
    _charge: Charge,
}

/// What [`PendingQueue::enqueue`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Enqueued {
    /// The signal is pending with its siginfo.
    Queued,
    /// A standard signal that was already pending: the two instances are
    /// one (signal(7): "only one instance of the signal is marked as
    /// pending"); the first siginfo is kept.
    Coalesced,
    /// The signal is pending but its siginfo was dropped for lack of room
    /// (a kill(2)-style or kernel signal over RLIMIT_SIGPENDING, which must
    /// not fail); it is dequeued with `SI_USER`, pid 0, uid 0. SIGKILL is
    /// never queued with its siginfo either and also reports this.
    InfoLost,
}

/// Signals pending for a thread, or for a whole process: the set of
/// pending signals, and the queued siginfos in arrival order.
///
/// A standard signal is pending at most once; a real-time signal is queued
/// once per send, in order. Dequeuing takes the synchronous (fault)
/// signals first, then the lowest-numbered unblocked signal.
#[derive(Debug, Default)]
pub struct PendingQueue {
    set: SigSet,
    entries: VecDeque<Entry>,
    epoch: crate::Epoch,
}

impl PendingQueue {
    /// An empty queue (a new thread's or process's; fork(2): "The child's
    /// set of pending signals is initially empty").
    /// Its epoch is detached: see [`PendingQueue::with_epoch`].
    pub fn new() -> PendingQueue {
        PendingQueue::default()
    }

    /// An empty queue that bumps `epoch` whenever a signal is queued.
    pub fn with_epoch(epoch: crate::Epoch) -> PendingQueue {
        PendingQueue { epoch, ..PendingQueue::default() }
    }

    /// The epoch this queue bumps.
    pub fn epoch(&self) -> &crate::Epoch {
        &self.epoch
    }

    /// The pending signals.
    pub fn pending(&self) -> SigSet {
        self.set
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// The queued siginfos in arrival order (PTRACE_PEEKSIGINFO's walk of
    /// Linux's `sigpending.list`).
    pub fn queued(&self) -> impl Iterator<Item = &SigInfo> {
        self.entries.iter().map(|e| &e.info)
    }

    /// How many siginfos of `sig` are queued.
    pub fn count(&self, sig: SigNum) -> usize {
        self.entries.iter().filter(|e| e.info.signo == sig).count()
    }

    /// Makes `info.signo` pending (Linux's `__send_signal_locked()` after
    /// `prepare_signal()`; call [`crate::prepare_send`] first).
    ///
    /// A standard signal already pending coalesces. A queued entry is
    /// charged to `account`, the target's user, against `rlimit` (the
    /// target's RLIMIT_SIGPENDING). Over the limit a real-time signal sent
    /// with a siginfo (sigqueue(3), timers, tgkill(2): any `si_code` but
    /// `SI_USER` and `SI_KERNEL`) fails with `EAGAIN` (sigqueue(3) ERRORS:
    /// "The limit of signals which may be queued has been reached"); any
    /// other signal is still made pending, without its siginfo. Standard
    /// signals from kill(2) or the kernel (`si_code >= 0`) are queued even
    /// over the limit.
    pub fn enqueue(&mut self, info: SigInfo, account: &SigQueueAccount, rlimit: u64) -> Result<Enqueued> {
        let sig = info.signo;
        self.epoch.bump();
        if !sig.is_realtime() && self.set.contains(sig) {
            return Ok(Enqueued::Coalesced);
        }
        if sig == SIGKILL {
            self.set.add(sig);
            return Ok(Enqueued::InfoLost);
        }
        let override_limit = !sig.is_realtime() && info.code >= 0;
        match account.try_charge(rlimit, override_limit) {
            Some(charge) => {
                self.entries.push_back(Entry { info, _charge: charge });
                self.set.add(sig);
                Ok(Enqueued::Queued)
            }
            None if sig.is_realtime() && info.code != code::SI_USER && info.code != code::SI_KERNEL => {
                Err(Errno::EAGAIN)
            }
            None => {
                self.set.add(sig);
                Ok(Enqueued::InfoLost)
            }
        }
    }

    /// The signal [`dequeue`](Self::dequeue) would take, without taking it.
    pub fn next(&self, blocked: SigSet) -> Option<SigNum> {
        (self.set - blocked).next_to_deliver()
    }

    /// Takes the next deliverable signal: a synchronous signal (SIGSEGV,
    /// SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS) first, then the
    /// lowest-numbered one not in `blocked`; the oldest siginfo of a
    /// real-time signal first (signal(7), "Real-time signals": "Multiple
    /// instances of real-time signals can be queued"; "If different
    /// real-time signals are sent ..., the lowest-numbered signal is
    /// delivered first"). sigtimedwait(2) passes the complement of the
    /// waited set as `blocked`.
    pub fn dequeue(&mut self, blocked: SigSet) -> Option<SigInfo> {
        let sig = self.next(blocked)?;
        Some(self.take(sig))
    }

    /// Linux's `collect_signal()`: the first queued siginfo of `sig`; the
    /// signal stays pending while another instance is queued.
    fn take(&mut self, sig: SigNum) -> SigInfo {
        let first = self.entries.iter().position(|e| e.info.signo == sig);
        let info = first.and_then(|i| self.entries.remove(i)).map(|e| e.info);
        if !self.entries.iter().any(|e| e.info.signo == sig) {
            self.set.remove(sig);
        }
        info.unwrap_or(SigInfo::user(sig, 0, 0))
    }

    /// Discards every pending instance of the signals in `set` (Linux's
    /// `flush_sigqueue_mask()`): for a disposition set to ignore, and for
    /// the stop/continue rules.
    pub fn discard(&mut self, set: SigSet) {
        if (self.set & set).is_empty() {
            return;
        }
        self.set = self.set - set;
        self.entries.retain(|e| !set.contains(e.info.signo));
    }

    /// Discards everything.
    pub fn clear(&mut self) {
        self.discard(SigSet::FULL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::siginfo::code::*;
    use crate::signum::*;

    fn rt(n: u32) -> SigNum {
        SigNum::new(SIGRTMIN.as_i32() + n as i32).unwrap()
    }

    #[test]
    fn standard_signals_coalesce() {
        // signal(7), "Queueing and delivery semantics for standard signals":
        // "only one instance of the signal is marked as pending"; the first
        // siginfo is kept (kernel/signal.c legacy_queue()).
        let acct = SigQueueAccount::new();
        let mut q = PendingQueue::new();
        assert_eq!(q.enqueue(SigInfo::user(SIGUSR1, 10, 0), &acct, 100), Ok(Enqueued::Queued));
        assert_eq!(q.enqueue(SigInfo::user(SIGUSR1, 11, 0), &acct, 100), Ok(Enqueued::Coalesced));
        assert_eq!(q.count(SIGUSR1), 1);
        assert_eq!(acct.queued(), 1);
        assert_eq!(q.dequeue(SigSet::EMPTY), Some(SigInfo::user(SIGUSR1, 10, 0)));
        assert_eq!(q.dequeue(SigSet::EMPTY), None);
        assert_eq!(acct.queued(), 0);
    }

    #[test]
    fn realtime_signals_queue_in_order() {
        // signal(7), "Real-time signals": multiple instances queue and are
        // delivered in the order sent, with their sigval.
        let acct = SigQueueAccount::new();
        let mut q = PendingQueue::new();
        for v in 1..=3 {
            assert_eq!(q.enqueue(SigInfo::queue(rt(1), 5, 0, v), &acct, 100), Ok(Enqueued::Queued));
        }
        assert_eq!(q.count(rt(1)), 3);
        for v in 1..=3 {
            assert!(q.pending().contains(rt(1)));
            assert_eq!(q.dequeue(SigSet::EMPTY).and_then(|i| i.value()), Some(v));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn lowest_realtime_first_and_sync_before_all() {
        // signal(7): "the lowest-numbered signal is delivered first";
        // kernel/signal.c next_signal(): synchronous signals before all.
        let acct = SigQueueAccount::new();
        let mut q = PendingQueue::new();
        for info in [
            SigInfo::queue(rt(5), 0, 0, 1),
            SigInfo::queue(rt(2), 0, 0, 2),
            SigInfo::user(SIGTERM, 0, 0),
            SigInfo::fault(SIGSEGV, SEGV_MAPERR, 0),
            SigInfo::user(SIGHUP, 0, 0),
        ] {
            let _ = q.enqueue(info, &acct, 100).unwrap();
        }
        let order: alloc::vec::Vec<_> =
            core::iter::from_fn(|| q.dequeue(SigSet::EMPTY)).map(|i| i.signo).collect();
        assert_eq!(order, [SIGSEGV, SIGHUP, SIGTERM, rt(2), rt(5)]);
    }

    #[test]
    fn blocked_signals_stay_pending() {
        // sigprocmask(2): a blocked signal remains pending until unblocked.
        let acct = SigQueueAccount::new();
        let mut q = PendingQueue::new();
        let _ = q.enqueue(SigInfo::user(SIGINT, 0, 0), &acct, 100).unwrap();
        assert_eq!(q.dequeue(SigSet::single(SIGINT)), None);
        assert_eq!(q.next(SigSet::EMPTY), Some(SIGINT));
        assert_eq!(q.dequeue(SigSet::EMPTY).map(|i| i.signo), Some(SIGINT));
    }

    #[test]
    fn rlimit_sigpending_eagain_for_sigqueue() {
        // sigqueue(3) ERRORS: EAGAIN "The limit of signals which may be
        // queued has been reached" (RLIMIT_SIGPENDING, getrlimit(2)).
        let acct = SigQueueAccount::new();
        let mut q = PendingQueue::new();
        assert_eq!(q.enqueue(SigInfo::queue(rt(0), 0, 0, 1), &acct, 2), Ok(Enqueued::Queued));
        assert_eq!(q.enqueue(SigInfo::queue(rt(0), 0, 0, 2), &acct, 2), Ok(Enqueued::Queued));
        assert_eq!(q.enqueue(SigInfo::queue(rt(0), 0, 0, 3), &acct, 2), Err(Errno::EAGAIN));
        assert_eq!(q.enqueue(SigInfo::tkill(rt(1), 0, 0), &acct, 2), Err(Errno::EAGAIN));
        assert_eq!(acct.queued(), 2);
        // The limit is per user, across queues.
        let mut other = PendingQueue::new();
        assert_eq!(other.enqueue(SigInfo::queue(rt(3), 0, 0, 1), &acct, 2), Err(Errno::EAGAIN));
        // Dequeuing gives the slot back.
        let _ = q.dequeue(SigSet::EMPTY);
        assert_eq!(acct.queued(), 1);
        assert_eq!(other.enqueue(SigInfo::queue(rt(3), 0, 0, 1), &acct, 2), Ok(Enqueued::Queued));
        drop(other);
        assert_eq!(acct.queued(), 1, "dropping a queue releases its entries");
    }

    #[test]
    fn over_limit_kill_loses_info_but_delivers() {
        // kernel/signal.c __send_signal_locked(): kill(2) must not fail with
        // EAGAIN; the signal is sent without its siginfo (si_code SI_USER, pid 0).
        let acct = SigQueueAccount::new();
        let mut q = PendingQueue::new();
        assert_eq!(q.enqueue(SigInfo::queue(rt(0), 0, 0, 1), &acct, 1), Ok(Enqueued::Queued));
        assert_eq!(q.enqueue(SigInfo::user(rt(0), 77, 5), &acct, 1), Ok(Enqueued::InfoLost));
        assert_eq!(q.enqueue(SigInfo::user(rt(1), 77, 5), &acct, 1), Ok(Enqueued::InfoLost));
        assert_eq!(q.dequeue(SigSet::EMPTY), Some(SigInfo::queue(rt(0), 0, 0, 1)));
        // rt(0)'s lost instance merged: Linux clears the bit when no entry remains.
        assert_eq!(q.dequeue(SigSet::EMPTY), Some(SigInfo::user(rt(1), 0, 0)));
        assert!(q.is_empty());
    }

    #[test]
    fn standard_signals_override_limit_from_kill_and_kernel() {
        // kernel/signal.c: override_rlimit for sig < SIGRTMIN with si_code >= 0.
        let acct = SigQueueAccount::new();
        let mut q = PendingQueue::new();
        assert_eq!(q.enqueue(SigInfo::user(SIGUSR1, 3, 4), &acct, 0), Ok(Enqueued::Queued));
        assert_eq!(q.enqueue(SigInfo::fault(SIGSEGV, SEGV_ACCERR, 8), &acct, 0), Ok(Enqueued::Queued));
        // A standard signal sent by sigqueue(3) over the limit loses its info.
        assert_eq!(q.enqueue(SigInfo::queue(SIGUSR2, 3, 4, 9), &acct, 0), Ok(Enqueued::InfoLost));
        assert_eq!(q.dequeue(SigSet::EMPTY), Some(SigInfo::fault(SIGSEGV, SEGV_ACCERR, 8)));
        assert_eq!(q.dequeue(SigSet::EMPTY), Some(SigInfo::user(SIGUSR1, 3, 4)));
        assert_eq!(q.dequeue(SigSet::EMPTY), Some(SigInfo::user(SIGUSR2, 0, 0)));
    }

    #[test]
    fn sigkill_is_not_queued_with_info() {
        // kernel/signal.c __send_signal_locked(): "if (sig == SIGKILL) goto out_set".
        let acct = SigQueueAccount::new();
        let mut q = PendingQueue::new();
        assert_eq!(q.enqueue(SigInfo::user(SIGKILL, 9, 9), &acct, 0), Ok(Enqueued::InfoLost));
        assert_eq!(acct.queued(), 0);
        assert_eq!(q.dequeue(SigSet::EMPTY), Some(SigInfo::user(SIGKILL, 0, 0)));
    }

    #[test]
    fn discard_removes_all_instances() {
        // sigaction(2): ignoring a pending signal discards it, blocked or not.
        let acct = SigQueueAccount::new();
        let mut q = PendingQueue::new();
        for v in 0..3 {
            let _ = q.enqueue(SigInfo::queue(rt(4), 0, 0, v), &acct, 100).unwrap();
        }
        let _ = q.enqueue(SigInfo::user(SIGINT, 0, 0), &acct, 100).unwrap();
        q.discard(SigSet::single(rt(4)));
        assert_eq!(q.pending(), SigSet::single(SIGINT));
        assert_eq!(acct.queued(), 1);
        q.clear();
        assert!(q.is_empty());
        assert_eq!(acct.queued(), 0);
    }
}
