//! The signal-state seam: what the process model holds of signals and
//! the few operations it does on them ([`SignalState`]).
//!
//! The table keeps, per thread, a [`SignalState::Thread`] (blocked mask,
//! thread-directed pending signals), per process a
//! [`SignalState::Process`] (process-directed pending signals) and a
//! shared [`SignalState::Handlers`] (the actions, `CLONE_SIGHAND` shares
//! them). It sends signals itself, in Linux's order (the steps of
//! `send_signal_locked()` and `complete_signal()`): the handler's
//! [`action`](SignalState::action), [`prepare_send`](SignalState::prepare_send)
//! (discards, SIGCONT's resume, whether to queue), the
//! [`candidates`](SignalState::candidate) of the threads as they were
//! *before* the signal, then [`complete_send`](SignalState::complete_send)
//! (enqueue, choose the thread, group exit). Delivery (dequeue, handler
//! frames) stays the kernel's.
//!
//! With the default feature `signal`, `SignalTypes` is
//! `kernabi-signal`'s types (`ThreadSignals`, `PendingQueue`,
//! `SharedSigHandlers`, `SigInfo`, `Epoch`); a kernel with its own signal
//! code implements [`SignalState`] and builds this crate without it.
//!
//! Every method runs under the table lock (Linux's `siglock`): none may
//! call the table or take a lock that is held while calling it; the
//! handler-table lock is a leaf.
//!
//! Signal numbers are Linux's (`1..=64`) and sets are `sigset_t`'s bits
//! (signal `n` is bit `n - 1`).

use linux_abi::Result;

/// SIGHUP.
pub const SIGHUP: u32 = 1;
/// SIGKILL.
pub const SIGKILL: u32 = 9;
/// SIGSEGV.
pub const SIGSEGV: u32 = 11;
/// SIGCONT.
pub const SIGCONT: u32 = 18;
/// SIGSTOP.
pub const SIGSTOP: u32 = 19;

/// Signal `sig`'s bit in a `sigset_t` (`sig` in `1..=64`).
pub const fn sigbit(sig: u32) -> u64 {
    1u64 << ((sig - 1) & 63)
}

/// Why the table sends a signal: what [`SignalState::info`] makes its
/// siginfo from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The kernel's own (`SI_KERNEL`, pid and uid 0).
    Kernel,
    /// kill(2) and the parent-death signal (`SI_USER`).
    User {
        /// The sender's pid.
        pid: i32,
        /// The sender's real uid.
        uid: u32,
    },
    /// tkill(2)/tgkill(2) (`SI_TKILL`).
    Tkill {
        /// The sender's pid.
        pid: i32,
        /// The sender's real uid.
        uid: u32,
    },
    /// A child's state change (SIGCHLD's fields; the signal may be
    /// another: a child's exit signal).
    Child {
        /// `CLD_*`.
        code: i32,
        /// The child's pid (or tid).
        pid: i32,
        /// The child's real uid.
        uid: u32,
        /// Exit code or signal.
        status: i32,
        /// User time in clock ticks.
        utime: i64,
        /// System time in clock ticks.
        stime: i64,
    },
}

/// What a send is aimed at (`kernabi-signal`'s `SendTarget`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendFacts {
    /// The blocked mask of the target thread (of the first thread for a
    /// process-directed signal), sigtimedwait(2)'s waited set included.
    pub blocked: u64,
    /// Init: only signals it has a handler for reach it.
    pub unkillable: bool,
    /// Sent by the kernel (no ignore check for init's sake).
    pub force: bool,
    /// The group is exiting (or dead): nothing is queued but SIGKILL.
    pub group_exiting: bool,
    /// Traced: ignored signals are queued for the tracer.
    pub traced: bool,
}

impl SendFacts {
    /// The facts of one send.
    pub fn new(blocked: u64, unkillable: bool, force: bool, group_exiting: bool, traced: bool) -> Self {
        SendFacts { blocked, unkillable, force, group_exiting, traced }
    }
}

/// What [`SignalState::prepare_send`] decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendPlan {
    /// Signals to discard from every queue of the process (a stop signal
    /// discards SIGCONT, SIGCONT the stop signals).
    pub discard: u64,
    /// SIGCONT: the stopped process resumes.
    pub resume: bool,
    /// Whether to queue the signal (false: ignored or dropped).
    pub queue: bool,
}

impl SendPlan {
    /// A plan.
    pub fn new(discard: u64, resume: bool, queue: bool) -> Self {
        SendPlan { discard, resume, queue }
    }
}

/// What [`SignalState::complete_send`] did with a queued signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Queued; wake this thread (an index into the candidates), or none.
    Queued(Option<usize>),
    /// Queued, and it kills the whole group now (the table records the
    /// signal as the exit status and SIGKILLs every thread).
    GroupExit,
}

/// The signal state the process model holds, and what it does with it.
/// The methods are functions of the parts (no `self`): one type (often a
/// unit struct) names the kernel's signal types.
pub trait SignalState: Sized + 'static {
    /// A siginfo (Linux's `kernel_siginfo`).
    type Info: Clone + Send + core::fmt::Debug + 'static;
    /// A thread's signal state: blocked mask, thread-directed queue.
    type Thread: Send + 'static;
    /// A process's signal state: the process-directed queue.
    type Process: Send + 'static;
    /// A handle on a table of actions (shared by `CLONE_SIGHAND`).
    type Handlers: Send + 'static;
    /// One signal's action, as read for a send.
    type Action;
    /// What [`complete_send`](Self::complete_send) knows of a thread.
    type Candidate: Default;
    /// The counter bumped by every change a thread's "signal pending?"
    /// check must see (queues, masks, stops); `kernabi-signal`'s `Epoch`.
    type Epoch: Clone + Default + Send + Sync + 'static;
    /// Per-user count of queued signals (`RLIMIT_SIGPENDING`).
    type Account: Clone + Default + Send + 'static;

    /// A new epoch for a table (default: `Default::default()`).
    fn new_epoch() -> Self::Epoch {
        Self::Epoch::default()
    }
    /// Something a thread's pending check must see changed.
    fn bump(epoch: &Self::Epoch);
    /// The siginfo of signal `sig` sent for `origin`.
    fn info(sig: u32, origin: Origin) -> Self::Info;
    /// Its signal number.
    fn signo(info: &Self::Info) -> u32;

    /// Init's thread state.
    fn new_thread(epoch: &Self::Epoch) -> Self::Thread;
    /// A new process's (empty) process state.
    fn new_process(epoch: &Self::Epoch) -> Self::Process;
    /// Init's actions (all default).
    fn new_handlers() -> Self::Handlers;
    /// Clone: the new thread's state from its creator's (mask kept,
    /// nothing pending; the alternate stack cleared if asked).
    fn clone_thread(t: &Self::Thread, clear_altstack: bool) -> Self::Thread;
    /// execve: what exec resets of the thread's state (the alternate
    /// stack). The default resets nothing.
    fn exec_thread(t: &mut Self::Thread) {
        let _ = t;
    }

    /// The thread's blocked mask as a send sees it (with sigtimedwait(2)'s
    /// waited signals).
    fn blocked_for_send(t: &Self::Thread) -> u64;
    /// Unblocks `sig` (force_sig).
    fn unblock(t: &mut Self::Thread, sig: u32);
    /// The thread-directed pending signals.
    fn thread_pending(t: &Self::Thread) -> u64;
    /// Queues `info` on the thread (`EAGAIN` over `limit` queued signals
    /// of `account`'s user for a real-time or non-kernel signal).
    fn enqueue(t: &mut Self::Thread, info: Self::Info, account: &Self::Account, limit: u64) -> Result<()>;
    /// Drops the signals of `set` from the thread's queue.
    fn discard(t: &mut Self::Thread, set: u64);
    /// Drops the signals of `set` from the process's queue.
    fn discard_shared(p: &mut Self::Process, set: u64);
    /// Takes the next unblocked signal, the thread's first
    /// (`dequeue_signal()`).
    fn dequeue(t: &mut Self::Thread, p: &mut Self::Process) -> Option<Self::Info>;

    /// Another handle on the same actions.
    fn share(h: &Self::Handlers) -> Self::Handlers;
    /// Clone of a process: shared (`CLONE_SIGHAND`), a copy, or a copy with
    /// the handlers reset (`CLONE_CLEAR_SIGHAND`; `EINVAL` with both).
    fn clone_handlers(h: &Self::Handlers, sighand: bool, clear: bool) -> Result<Self::Handlers>;
    /// execve: the actions with caught signals reset (a private copy if
    /// shared); `ENOMEM` if a copy it needs cannot be allocated (the
    /// table calls it before exec changes anything).
    fn exec_handlers(h: &Self::Handlers) -> Result<Self::Handlers>;
    /// Whether another process or thread shares the actions.
    fn handlers_shared(h: &Self::Handlers) -> bool;
    /// Whether two handles are one table.
    fn same_handlers(a: &Self::Handlers, b: &Self::Handlers) -> bool;
    /// Sets `sig` back to its default action (force_sig).
    fn set_default(h: &Self::Handlers, sig: u32);
    /// Whether a parent wants SIGCHLD for a stopped/continued child (no
    /// `SA_NOCLDSTOP`). The default: always.
    fn notify_child_stop(h: &Self::Handlers) -> bool {
        let _ = h;
        true
    }
    /// A child whose exit signal is `exit_signal` exited: whether it is
    /// reaped at once (SIGCHLD ignored or `SA_NOCLDWAIT`) and the signal
    /// to send the parent, if any. The default: never reaped at once, the
    /// exit signal sent.
    fn on_child_exit(h: &Self::Handlers, exit_signal: Option<u32>) -> (bool, Option<u32>) {
        let _ = h;
        (false, exit_signal)
    }

    /// `sig`'s action now.
    fn action(h: &Self::Handlers, sig: u32) -> Self::Action;
    /// Step 1 of a send (`prepare_signal()`): discards, resume, whether
    /// to queue.
    fn prepare_send(sig: u32, action: &Self::Action, facts: &SendFacts) -> SendPlan;
    /// What the send's thread choice needs of thread `t` of process `p`
    /// (`stopped`: the process is group-stopped), taken before the signal
    /// is queued.
    fn candidate(t: &Self::Thread, p: &Self::Process, stopped: bool) -> Self::Candidate;
    /// Steps 2 and 3 of a process-directed send: queue `info` on `p`, then
    /// choose among the `candidates` (the process's threads, in order) the
    /// thread to wake, or say the signal is a group exit.
    #[allow(clippy::too_many_arguments)]
    fn complete_send(
        info: Self::Info,
        action: &Self::Action,
        facts: &SendFacts,
        p: &mut Self::Process,
        account: &Self::Account,
        limit: u64,
        candidates: &[Self::Candidate],
    ) -> Result<Sent>;
    /// Whether `sig` with `action` kills the group as soon as it is sent
    /// to a thread that does not block it (default action terminates).
    fn fatal_on_send(sig: u32, action: &Self::Action) -> bool;
}

/// `kernabi-signal`'s types as the process model's signal state (feature
/// `signal`, on by default).
#[cfg(feature = "signal")]
#[derive(Debug)]
pub struct SignalTypes;

#[cfg(feature = "signal")]
mod with_signal {
    use super::*;
    use signal::{SigInfo, SigNum, SigSet};

    fn num(sig: u32) -> SigNum {
        SigNum::new(sig as i32).unwrap_or(signal::SIGKILL)
    }

    impl SignalState for SignalTypes {
        type Info = SigInfo;
        type Thread = signal::ThreadSignals;
        type Process = signal::PendingQueue;
        type Handlers = signal::SharedSigHandlers;
        type Action = signal::SigAction;
        type Candidate = signal::ThreadCandidate;
        type Epoch = signal::Epoch;
        type Account = signal::SigQueueAccount;

        fn new_epoch() -> signal::Epoch {
            signal::Epoch::new()
        }
        fn bump(epoch: &signal::Epoch) {
            epoch.bump();
        }
        fn info(sig: u32, origin: Origin) -> SigInfo {
            let s = num(sig);
            match origin {
                Origin::Kernel => SigInfo::kernel(s),
                Origin::User { pid, uid } => SigInfo::user(s, pid, uid),
                Origin::Tkill { pid, uid } => SigInfo::tkill(s, pid, uid),
                Origin::Child { code, pid, uid, status, utime, stime } => {
                    let mut info = SigInfo::child(code, pid, uid, status, utime, stime);
                    info.signo = s;
                    info
                }
            }
        }
        fn signo(info: &SigInfo) -> u32 {
            info.signo.get()
        }
        fn new_thread(epoch: &signal::Epoch) -> signal::ThreadSignals {
            signal::ThreadSignals::with_epoch(epoch.clone())
        }
        fn new_process(epoch: &signal::Epoch) -> signal::PendingQueue {
            signal::PendingQueue::with_epoch(epoch.clone())
        }
        fn new_handlers() -> signal::SharedSigHandlers {
            signal::SharedSigHandlers::new()
        }
        fn clone_thread(t: &signal::ThreadSignals, clear_altstack: bool) -> signal::ThreadSignals {
            t.child(clear_altstack)
        }
        fn exec_thread(t: &mut signal::ThreadSignals) {
            t.exec();
        }
        fn blocked_for_send(t: &signal::ThreadSignals) -> u64 {
            t.blocked_for_send().bits()
        }
        fn unblock(t: &mut signal::ThreadSignals, sig: u32) {
            let mask = t.blocked().without(num(sig));
            t.set_blocked(mask);
        }
        fn thread_pending(t: &signal::ThreadSignals) -> u64 {
            t.pending().pending().bits()
        }
        fn enqueue(
            t: &mut signal::ThreadSignals,
            info: SigInfo,
            account: &signal::SigQueueAccount,
            limit: u64,
        ) -> Result<()> {
            t.pending_mut().enqueue(info, account, limit).map(drop)
        }
        fn discard(t: &mut signal::ThreadSignals, set: u64) {
            t.pending_mut().discard(SigSet::from_bits(set));
        }
        fn discard_shared(p: &mut signal::PendingQueue, set: u64) {
            p.discard(SigSet::from_bits(set));
        }
        fn dequeue(t: &mut signal::ThreadSignals, p: &mut signal::PendingQueue) -> Option<SigInfo> {
            t.dequeue(p)
        }
        fn share(h: &signal::SharedSigHandlers) -> signal::SharedSigHandlers {
            h.share()
        }
        fn clone_handlers(
            h: &signal::SharedSigHandlers,
            sighand: bool,
            clear: bool,
        ) -> Result<signal::SharedSigHandlers> {
            h.for_clone(sighand, clear)
        }
        fn exec_handlers(h: &signal::SharedSigHandlers) -> Result<signal::SharedSigHandlers> {
            h.for_exec()
        }
        fn handlers_shared(h: &signal::SharedSigHandlers) -> bool {
            h.is_shared()
        }
        fn same_handlers(a: &signal::SharedSigHandlers, b: &signal::SharedSigHandlers) -> bool {
            signal::SharedSigHandlers::ptr_eq(a, b)
        }
        fn set_default(h: &signal::SharedSigHandlers, sig: u32) {
            h.lock().force_default(num(sig));
        }
        fn notify_child_stop(h: &signal::SharedSigHandlers) -> bool {
            h.lock().notify_child_stop()
        }
        fn on_child_exit(h: &signal::SharedSigHandlers, exit_signal: Option<u32>) -> (bool, Option<u32>) {
            let d = h.lock().on_child_exit(exit_signal.and_then(|s| SigNum::new(s as i32).ok()));
            (d.autoreap, d.signal.map(SigNum::get))
        }
        fn action(h: &signal::SharedSigHandlers, sig: u32) -> signal::SigAction {
            h.lock().get(num(sig))
        }
        fn prepare_send(sig: u32, action: &signal::SigAction, facts: &SendFacts) -> SendPlan {
            let plan = signal::prepare_send(num(sig), action, &target(facts));
            SendPlan { discard: plan.discard.bits(), resume: plan.resume, queue: plan.queue }
        }
        fn candidate(
            t: &signal::ThreadSignals,
            p: &signal::PendingQueue,
            stopped: bool,
        ) -> signal::ThreadCandidate {
            t.candidate(p).with_stopped(stopped)
        }
        fn complete_send(
            info: SigInfo,
            action: &signal::SigAction,
            facts: &SendFacts,
            p: &mut signal::PendingQueue,
            account: &signal::SigQueueAccount,
            limit: u64,
            candidates: &[signal::ThreadCandidate],
        ) -> Result<Sent> {
            let sent =
                signal::complete_send(info, action, &target(facts), p, account, limit, candidates, (0, 0))?;
            Ok(match sent {
                signal::Sent::GroupExit => Sent::GroupExit,
                signal::Sent::Queued { wake } => Sent::Queued(wake),
                _ => Sent::Queued(None),
            })
        }
        fn fatal_on_send(sig: u32, action: &signal::SigAction) -> bool {
            signal::fatal_on_send(num(sig), action)
        }
    }

    fn target(f: &SendFacts) -> signal::SendTarget {
        signal::SendTarget::new(SigSet::from_bits(f.blocked))
            .with_unkillable(f.unkillable)
            .with_force(f.force)
            .with_group_exiting(f.group_exiting)
            .with_traced(f.traced)
    }
}
