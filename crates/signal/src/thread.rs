//! The signal state of one thread: mask, pending queue, alternate stack.

use crate::action::SigAction;
use crate::altstack::AltStack;
use crate::delivery::{SigMaskHow, handler_mask};
use crate::pending::PendingQueue;
use crate::siginfo::SigInfo;
use crate::signum::SigNum;
use crate::sigset::SigSet;

/// A thread's signal state: its blocked mask (never holding SIGKILL or
/// SIGSTOP), the mask saved by sigsuspend(2)-like calls, its own pending
/// queue and its alternate signal stack. The process-wide queue and the
/// handlers live elsewhere (a [`PendingQueue`] per process, a
/// [`crate::SharedSigHandlers`]); methods that need the process queue take
/// it as an argument.
#[derive(Debug, Default)]
pub struct ThreadSignals {
    blocked: SigSet,
    saved_mask: Option<SigSet>,
    real_blocked: Option<SigSet>,
    pending: PendingQueue,
    altstack: AltStack,
}

impl ThreadSignals {
    /// Nothing blocked, nothing pending, no alternate stack.
    /// Its epoch is detached: see [`ThreadSignals::with_epoch`].
    pub fn new() -> ThreadSignals {
        ThreadSignals::default()
    }

    /// A new thread's state whose mask changes and queued signals bump
    /// `epoch`.
    pub fn with_epoch(epoch: crate::Epoch) -> ThreadSignals {
        ThreadSignals { pending: PendingQueue::with_epoch(epoch), ..ThreadSignals::default() }
    }

    /// Signals sent to this thread (tgkill(2), faults).
    pub fn pending(&self) -> &PendingQueue {
        &self.pending
    }

    /// The thread's queue, to queue or take signals.
    pub fn pending_mut(&mut self) -> &mut PendingQueue {
        &mut self.pending
    }

    /// sigaltstack(2) settings.
    pub fn altstack(&self) -> &AltStack {
        &self.altstack
    }

    /// The alternate stack, to change it (sigaltstack(2), a handler's
    /// `SS_AUTODISARM`).
    pub fn altstack_mut(&mut self) -> &mut AltStack {
        &mut self.altstack
    }

    /// The blocked mask.
    pub fn blocked(&self) -> SigSet {
        self.blocked
    }

    /// Sets the blocked mask (sigreturn, exec, ...); SIGKILL and SIGSTOP are
    /// removed silently.
    pub fn set_blocked(&mut self, mask: SigSet) {
        self.change_mask(mask.blockable());
    }

    /// sigprocmask(2) / rt_sigprocmask(2): applies `how` and returns the
    /// old mask.
    pub fn sigprocmask(&mut self, how: SigMaskHow, set: SigSet) -> SigSet {
        let old = self.blocked;
        self.change_mask(how.apply(old, set));
        old
    }

    /// Sets the blocked mask, and bumps the epoch only when a signal is
    /// unblocked: a mask that only grows makes no signal deliverable, so a
    /// thread that found nothing to do before still has nothing (as
    /// Linux's `__set_task_blocked`, which looks for a new target only for
    /// the signals that become unblocked). pthread_create blocks every
    /// signal around clone(2): one bump less per thread made.
    fn change_mask(&mut self, new: SigSet) {
        let unblocked = self.blocked - new;
        self.blocked = new;
        if !unblocked.is_empty() {
            self.pending.epoch().bump();
        }
    }

    /// The state of a new thread or process made by clone(2) from this
    /// thread: the same mask (sigprocmask(2): "A child created via fork(2)
    /// inherits a copy of its parent's signal mask"), nothing pending
    /// (fork(2): "The child's set of pending signals is initially empty"),
    /// and the alternate stack unless `clear_altstack` (sigaltstack(2): the
    /// child of clone(2) with `CLONE_VM` and without `CLONE_VFORK` has none).
    pub fn child(&self, clear_altstack: bool) -> ThreadSignals {
        ThreadSignals {
            blocked: self.blocked,
            saved_mask: None,
            real_blocked: None,
            pending: PendingQueue::with_epoch(self.pending.epoch().clone()),
            altstack: if clear_altstack { AltStack::new() } else { self.altstack },
        }
    }

    /// What execve(2) does to the thread: the mask and pending signals stay
    /// (execve(2): "The signal mask is preserved", "The set of pending
    /// signals is preserved"); the alternate stack is cleared.
    pub fn exec(&mut self) {
        self.altstack.reset();
    }

    /// sigpending(2): the signals pending for the thread or its process
    /// that are blocked.
    pub fn sigpending(&self, process: &PendingQueue) -> SigSet {
        (self.pending.pending() | process.pending()) & self.blocked
    }

    /// Whether a signal is ready for delivery to this thread (Linux's
    /// `recalc_sigpending()`).
    pub fn has_deliverable(&self, process: &PendingQueue) -> bool {
        !((self.pending.pending() | process.pending()) - self.blocked).is_empty()
    }

    /// Takes the next signal to deliver: from the thread's queue first,
    /// then from the process queue (Linux's `dequeue_signal()`); within a
    /// queue synchronous signals first, then the lowest number.
    pub fn dequeue(&mut self, process: &mut PendingQueue) -> Option<SigInfo> {
        let blocked = self.blocked;
        self.pending.dequeue(blocked).or_else(|| process.dequeue(blocked))
    }

    /// sigtimedwait(2)/sigwaitinfo(2): takes a pending signal of `waited`
    /// (blocked or not; SIGKILL and SIGSTOP are never waited for), thread
    /// queue first. `None`: the caller sleeps with `waited` unblocked and
    /// retries.
    pub fn dequeue_waited(&mut self, process: &mut PendingQueue, waited: SigSet) -> Option<SigInfo> {
        let blocked = !waited.blockable();
        self.pending.dequeue(blocked).or_else(|| process.dequeue(blocked))
    }

    /// A sigtimedwait(2) that found nothing is about to sleep (Linux's
    /// `real_blocked`): the waited signals are unblocked until
    /// [`end_sigwait`](Self::end_sigwait), so that sending one wakes this
    /// thread; [`blocked_for_send`](Self::blocked_for_send) still counts
    /// them as blocked, so they are queued even if ignored.
    pub fn begin_sigwait(&mut self, waited: SigSet) {
        if self.real_blocked.is_none() {
            self.real_blocked = Some(self.blocked);
        }
        self.blocked = self.blocked - waited;
        self.pending.epoch().bump();
    }

    /// The sigtimedwait(2) sleep is over: the mask from before
    /// [`begin_sigwait`](Self::begin_sigwait) comes back. Then call
    /// [`dequeue_waited`](Self::dequeue_waited) again.
    pub fn end_sigwait(&mut self) {
        if let Some(mask) = self.real_blocked.take() {
            self.blocked = mask;
            self.pending.epoch().bump();
        }
    }

    /// The mask a sender checks ([`crate::SendTarget::blocked`]): the mask
    /// plus the one a sigtimedwait(2) in progress saved (Linux's
    /// `blocked | real_blocked`).
    pub fn blocked_for_send(&self) -> SigSet {
        self.blocked | self.real_blocked.unwrap_or_default()
    }

    /// This thread as [`choose_thread`](crate::choose_thread) and
    /// [`complete_send`](crate::complete_send) see it, with its process's
    /// queue `process`: take it before the signal being sent is queued.
    /// `exiting`, `stopped` and `running` are the scheduler's to set.
    pub fn candidate(&self, process: &PendingQueue) -> crate::ThreadCandidate {
        crate::ThreadCandidate {
            blocked: self.blocked,
            signal_pending: self.has_deliverable(process),
            waiting_for: self.real_blocked.unwrap_or_default(),
            ..crate::ThreadCandidate::default()
        }
    }

    /// sigsuspend(2), ppoll(2), pselect(2), epoll_pwait(2): runs with `mask`
    /// until a signal arrives, remembering the current mask to put back
    /// (the first saved mask is kept if called twice).
    pub fn set_temporary_mask(&mut self, mask: SigSet) {
        if self.saved_mask.is_none() {
            self.saved_mask = Some(self.blocked);
        }
        self.set_blocked(mask);
    }

    /// The mask a signal frame saves for sigreturn to restore (Linux's
    /// `sigmask_to_save()`): the mask saved by
    /// [`set_temporary_mask`](Self::set_temporary_mask), else the mask.
    pub fn mask_to_save(&self) -> SigSet {
        self.saved_mask.unwrap_or(self.blocked)
    }

    /// Puts back the mask saved by [`set_temporary_mask`](Self::set_temporary_mask),
    /// when the call returns without running a handler.
    pub fn restore_saved_mask(&mut self) {
        if let Some(mask) = self.saved_mask.take() {
            self.blocked = mask;
            self.pending.epoch().bump();
        }
    }

    /// A handler for `sig` is about to run (Linux's `signal_delivered()`):
    /// returns the mask the frame must save, then blocks
    /// [`handler_mask`] and forgets any saved temporary mask (the frame
    /// holds it now).
    pub fn enter_handler(&mut self, sig: SigNum, action: &SigAction) -> SigSet {
        let save = self.mask_to_save();
        self.blocked = handler_mask(self.blocked, sig, action);
        self.pending.epoch().bump();
        self.saved_mask = None;
        save
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::SaFlags;
    use crate::altstack::{MINSIGSTKSZ, StackT};
    use crate::pending::SigQueueAccount;
    use crate::signum::*;

    fn send(q: &mut PendingQueue, info: SigInfo) {
        let _ = q.enqueue(info, &SigQueueAccount::new(), 64).unwrap();
    }

    #[test]
    fn thread_queue_before_process_queue() {
        // kernel/signal.c dequeue_signal(): the thread's pending first, then shared_pending.
        let mut t = ThreadSignals::new();
        let mut p = PendingQueue::new();
        send(&mut p, SigInfo::user(SIGHUP, 1, 0));
        send(&mut t.pending, SigInfo::user(SIGTERM, 2, 0));
        assert_eq!(t.dequeue(&mut p).map(|i| i.signo), Some(SIGTERM));
        assert_eq!(t.dequeue(&mut p).map(|i| i.signo), Some(SIGHUP));
        assert_eq!(t.dequeue(&mut p), None);
    }

    #[test]
    fn sigpending_is_pending_and_blocked() {
        // sigpending(2): "the set of signals that are pending for delivery to
        // the calling thread (i.e., the signals which have been raised while blocked)".
        let mut t = ThreadSignals::new();
        let mut p = PendingQueue::new();
        let _ = t.sigprocmask(SigMaskHow::Block, SigSet::single(SIGINT).with(SIGUSR1));
        send(&mut p, SigInfo::user(SIGINT, 1, 0));
        send(&mut t.pending, SigInfo::user(SIGUSR2, 1, 0));
        assert_eq!(t.sigpending(&p), SigSet::single(SIGINT));
        assert!(t.has_deliverable(&p));
        assert_eq!(t.dequeue(&mut p).map(|i| i.signo), Some(SIGUSR2));
        assert!(!t.has_deliverable(&p));
        assert_eq!(t.dequeue(&mut p), None);
        let old = t.sigprocmask(SigMaskHow::Unblock, SigSet::single(SIGINT));
        assert_eq!(old, SigSet::single(SIGINT).with(SIGUSR1));
        assert_eq!(t.dequeue(&mut p).map(|i| i.signo), Some(SIGINT));
    }

    #[test]
    fn only_an_unblocking_mask_change_moves_the_epoch() {
        let epoch = crate::Epoch::new();
        let mut t = ThreadSignals::with_epoch(epoch.clone());
        let e0 = epoch.current();
        let _ = t.sigprocmask(SigMaskHow::Block, SigSet::single(SIGINT));
        let _ = t.sigprocmask(SigMaskHow::SetMask, SigSet::FULL);
        t.set_blocked(SigSet::FULL);
        assert_eq!(epoch.current(), e0, "a mask that only grows moves nothing");
        let _ = t.sigprocmask(SigMaskHow::Unblock, SigSet::single(SIGINT));
        assert_eq!(epoch.current(), e0 + 1);
        t.set_blocked(SigSet::EMPTY);
        assert_eq!(epoch.current(), e0 + 2);
        assert_eq!(t.blocked(), SigSet::EMPTY);
    }

    #[test]
    fn mask_never_holds_kill_or_stop() {
        // sigprocmask(2): attempts to block SIGKILL/SIGSTOP are silently ignored.
        let mut t = ThreadSignals::new();
        let _ = t.sigprocmask(SigMaskHow::SetMask, SigSet::FULL);
        assert_eq!(t.blocked(), SigSet::FULL.blockable());
        t.set_blocked(SigSet::single(SIGKILL));
        assert_eq!(t.blocked(), SigSet::EMPTY);
        t.set_temporary_mask(SigSet::FULL);
        assert_eq!(t.blocked(), SigSet::FULL.blockable());
    }

    #[test]
    fn sigtimedwait_takes_blocked_waited_signals() {
        // sigtimedwait(2): waits for signals of `set`, which are normally blocked.
        let mut t = ThreadSignals::new();
        let mut p = PendingQueue::new();
        t.set_blocked(SigSet::single(SIGUSR1).with(SIGUSR2));
        send(&mut p, SigInfo::user(SIGUSR1, 1, 0));
        send(&mut p, SigInfo::user(SIGUSR2, 1, 0));
        let got = t.dequeue_waited(&mut p, SigSet::single(SIGUSR2));
        assert_eq!(got.map(|i| i.signo), Some(SIGUSR2));
        assert_eq!(t.dequeue_waited(&mut p, SigSet::single(SIGUSR2)), None);
        assert_eq!(p.pending(), SigSet::single(SIGUSR1));
    }

    #[test]
    fn sigtimedwait_sleep_unblocks_waited_signals() {
        // sigtimedwait(2); kernel/signal.c do_sigtimedwait(): real_blocked
        // keeps the mask, blocked loses the waited set while sleeping, and
        // senders treat the waited signals as blocked (sig_ignored()).
        let mut t = ThreadSignals::new();
        t.set_blocked(SigSet::single(SIGUSR1).with(SIGINT));
        t.begin_sigwait(SigSet::single(SIGUSR1));
        assert_eq!(t.blocked(), SigSet::single(SIGINT));
        assert_eq!(t.blocked_for_send(), SigSet::single(SIGUSR1).with(SIGINT));
        t.end_sigwait();
        assert_eq!(t.blocked(), SigSet::single(SIGUSR1).with(SIGINT));
        assert_eq!(t.blocked_for_send(), t.blocked());
    }

    #[test]
    fn sigsuspend_mask_and_handler_entry() {
        // sigsuspend(2): the mask is replaced while waiting and restored on
        // return; the handler's frame saves the original mask (sigreturn(2)).
        let mut t = ThreadSignals::new();
        t.set_blocked(SigSet::single(SIGINT));
        t.set_temporary_mask(SigSet::single(SIGHUP));
        assert_eq!(t.blocked(), SigSet::single(SIGHUP));
        assert_eq!(t.mask_to_save(), SigSet::single(SIGINT));
        let act = SigAction::handler(0x1000, SaFlags::empty(), SigSet::single(SIGQUIT));
        let saved = t.enter_handler(SIGINT, &act);
        assert_eq!(saved, SigSet::single(SIGINT));
        // Linux signal_delivered(): current->blocked | sa_mask | sig.
        assert_eq!(t.blocked(), [SIGHUP, SIGINT, SIGQUIT].into_iter().collect());
        assert_eq!(t.mask_to_save(), t.blocked());
        // Without a handler the saved mask comes back.
        t.set_blocked(SigSet::EMPTY);
        t.set_temporary_mask(SigSet::FULL);
        t.restore_saved_mask();
        assert_eq!(t.blocked(), SigSet::EMPTY);
    }

    #[test]
    fn clone_and_exec_rules() {
        // fork(2): mask inherited, pending emptied; sigaltstack(2): cleared
        // for CLONE_VM without CLONE_VFORK and by execve(2); execve(2) keeps
        // the mask and the pending signals.
        let mut t = ThreadSignals::new();
        t.set_blocked(SigSet::single(SIGUSR1));
        send(&mut t.pending, SigInfo::user(SIGUSR1, 1, 0));
        let ss = StackT { sp: 0x7000_0000, flags: 0, size: MINSIGSTKSZ };
        let _ = t.altstack.sigaltstack(Some(ss), 0, MINSIGSTKSZ).unwrap();
        let forked = t.child(false);
        assert_eq!(forked.blocked(), SigSet::single(SIGUSR1));
        assert!(forked.pending.is_empty());
        assert_eq!(forked.altstack, t.altstack);
        assert_eq!(t.child(true).altstack, AltStack::new());
        t.exec();
        assert_eq!(t.blocked(), SigSet::single(SIGUSR1));
        assert_eq!(t.pending.pending(), SigSet::single(SIGUSR1));
        assert_eq!(t.altstack, AltStack::new());
    }
}
