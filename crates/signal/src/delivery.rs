//! Delivery decisions: pure functions the kernel calls when it sends a
//! signal, picks a thread for it, delivers it, and returns from an
//! interrupted system call.

use linux_abi::{Errno, Result};

use crate::action::{SaFlags, SigAction, SigHandler, SigHandlers};
use crate::pending::{PendingQueue, SigQueueAccount};
use crate::siginfo::SigInfo;
use crate::signum::{DefaultAction, SIGCONT, SIGKILL, SIGSTOP, SigNum};
use crate::sigset::SigSet;

/// The state of the receiver that [`prepare_send`] looks at:
/// [`SendTarget::new`] and the `with_*` methods (or `Default`: nothing
/// blocked, every flag false).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendTarget {
    /// The target thread's blocked mask, plus the mask a sigtimedwait(2) in
    /// progress saved (Linux's `blocked | real_blocked`).
    pub blocked: SigSet,
    /// The target is the init process of its pid namespace (Linux's
    /// `SIGNAL_UNKILLABLE`): signals it has left at `SIG_DFL` are dropped
    /// (kill(2) NOTES: "the only signals that can be sent to process ID 1,
    /// the init process, are those for which init has explicitly installed
    /// signal handlers").
    pub unkillable: bool,
    /// The signal comes from the kernel or from an ancestor pid namespace,
    /// so it reaches even an unkillable init with SIGKILL or SIGSTOP
    /// (Linux's `force`).
    pub force: bool,
    /// The target's thread group is already exiting (Linux's
    /// `SIGNAL_GROUP_EXIT`): every signal is dropped.
    pub group_exiting: bool,
    /// The target is ptraced: an ignored signal other than SIGKILL is
    /// still queued for the tracer to see (Linux's `sig_ignored()`), and
    /// [`complete_send`] never turns a signal into a group exit (the
    /// tracer decides).
    pub traced: bool,
}

impl SendTarget {
    /// A target blocking `blocked` (with a sigtimedwait(2)'s saved mask),
    /// every flag false.
    pub const fn new(blocked: SigSet) -> SendTarget {
        SendTarget { blocked, unkillable: false, force: false, group_exiting: false, traced: false }
    }
    /// With [`SendTarget::unkillable`].
    pub const fn with_unkillable(mut self, v: bool) -> SendTarget {
        self.unkillable = v;
        self
    }
    /// With [`SendTarget::force`].
    pub const fn with_force(mut self, v: bool) -> SendTarget {
        self.force = v;
        self
    }
    /// With [`SendTarget::group_exiting`].
    pub const fn with_group_exiting(mut self, v: bool) -> SendTarget {
        self.group_exiting = v;
        self
    }
    /// With [`SendTarget::traced`].
    pub const fn with_traced(mut self, v: bool) -> SendTarget {
        self.traced = v;
        self
    }
}

/// What to do when a signal is sent ([`prepare_send`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendPlan {
    /// Discard these signals from the process queue and from every thread's
    /// queue before anything else (signal(7): a SIGCONT discards pending
    /// stop signals; a stop signal discards a pending SIGCONT).
    pub discard: SigSet,
    /// SIGCONT: the process continues now, whatever its disposition or mask
    /// (signal(7), "Cont: Continue the process if it is currently
    /// stopped"): the kernel wakes its stopped threads, ends a group stop in
    /// progress, and if it was stopped reports `CLD_CONTINUED` to the
    /// parent (and to waitid(2) with `WCONTINUED`).
    pub resume: bool,
    /// Queue the signal. False when it is dropped: ignored and not blocked
    /// (a blocked signal is kept, its disposition may change before it is
    /// unblocked), or sent to an exiting group.
    pub queue: bool,
}

/// Linux's `prepare_signal()`: the stop/continue side effects of sending
/// `sig` and whether it is queued, given the target's disposition `action`
/// for it.
pub fn prepare_send(sig: SigNum, action: &SigAction, target: &SendTarget) -> SendPlan {
    if target.group_exiting {
        return SendPlan { discard: SigSet::EMPTY, resume: false, queue: false };
    }
    let discard = if sig.is_stop() {
        SigSet::single(SIGCONT)
    } else if sig == SIGCONT {
        SigSet::STOP
    } else {
        SigSet::EMPTY
    };
    let ignored = !target.blocked.contains(sig)
        && ((target.unkillable
            && action.handler == SigHandler::Default
            && !(target.force && sig.is_kernel_only()))
            || action.ignores(sig));
    let queue = !ignored || (target.traced && sig != SIGKILL);
    SendPlan { discard, resume: sig == SIGCONT, queue }
}

/// A thread of the target process, as [`choose_thread`] sees it:
/// [`ThreadSignals::candidate`](crate::ThreadSignals::candidate) (or
/// [`ThreadCandidate::new`]) and the `with_*` methods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThreadCandidate {
    /// Its blocked mask.
    pub blocked: SigSet,
    /// It is exiting (`PF_EXITING`).
    pub exiting: bool,
    /// It is stopped (job control or ptrace).
    pub stopped: bool,
    /// It is running on a CPU right now.
    pub running: bool,
    /// It already has a signal to handle (`TIF_SIGPENDING`), before the
    /// one being sent: build candidates before queueing it
    /// ([`ThreadSignals::candidate`](crate::ThreadSignals::candidate) then
    /// [`complete_send`]), or every thread looks busy and none is woken.
    pub signal_pending: bool,
    /// The signals it waits for in sigtimedwait(2) (Linux's
    /// `real_blocked`): such a signal is never a group exit on send.
    pub waiting_for: SigSet,
}

impl ThreadCandidate {
    /// A thread blocking `blocked`, not exiting, stopped or running, with
    /// nothing pending or waited for.
    pub const fn new(blocked: SigSet) -> ThreadCandidate {
        ThreadCandidate {
            blocked,
            exiting: false,
            stopped: false,
            running: false,
            signal_pending: false,
            waiting_for: SigSet::EMPTY,
        }
    }
    /// With [`ThreadCandidate::exiting`].
    pub const fn with_exiting(mut self, v: bool) -> ThreadCandidate {
        self.exiting = v;
        self
    }
    /// With [`ThreadCandidate::stopped`].
    pub const fn with_stopped(mut self, v: bool) -> ThreadCandidate {
        self.stopped = v;
        self
    }
    /// With [`ThreadCandidate::running`].
    pub const fn with_running(mut self, v: bool) -> ThreadCandidate {
        self.running = v;
        self
    }
    /// With [`ThreadCandidate::signal_pending`].
    pub const fn with_signal_pending(mut self, v: bool) -> ThreadCandidate {
        self.signal_pending = v;
        self
    }
    /// With [`ThreadCandidate::waiting_for`].
    pub const fn with_waiting_for(mut self, set: SigSet) -> ThreadCandidate {
        self.waiting_for = set;
        self
    }
}

/// Whether `thread` should be woken to take `sig` (Linux's
/// `wants_signal()`): not blocked, not exiting; SIGKILL always; otherwise
/// not stopped, and running or without another signal to handle.
pub fn wants_signal(sig: SigNum, thread: &ThreadCandidate) -> bool {
    if thread.blocked.contains(sig) || thread.exiting {
        return false;
    }
    if sig == SIGKILL {
        return true;
    }
    if thread.stopped {
        return false;
    }
    thread.running || !thread.signal_pending
}

/// Which thread of a process takes a process-directed signal (Linux's
/// `complete_signal()`; signal(7): "A process-directed signal may be
/// delivered to any one of the threads that does not currently have the
/// signal blocked"): the `suggested` thread (the one the sender named,
/// usually the leader) if it wants the signal, else the first thread that
/// does, going round from `rotor` (Linux's `curr_target`, which the caller
/// should then set to the result). `None`: no thread needs waking; the
/// signal stays on the process queue for the first thread that unblocks
/// it. Indexes out of range are treated as 0.
pub fn choose_thread(
    sig: SigNum,
    threads: &[ThreadCandidate],
    suggested: usize,
    rotor: usize,
) -> Option<usize> {
    if threads.get(suggested).is_some_and(|t| wants_signal(sig, t)) {
        return Some(suggested);
    }
    let n = threads.len();
    let start = if rotor < n { rotor } else { 0 };
    (0..n).map(|i| (start + i) % n).find(|&i| threads.get(i).is_some_and(|t| wants_signal(sig, t)))
}

/// What [`complete_send`] did with a queued signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sent {
    /// Queued; wake this thread (an index into the candidates), or `None`:
    /// no thread needs waking, the first to unblock it takes it. The caller
    /// should make the index its new `rotor`.
    Queued {
        /// The thread to wake.
        wake: Option<usize>,
    },
    /// Queued, and it kills the whole group now ([`fatal_on_send`]): the
    /// caller records `sig` as the group's exit status and sends SIGKILL to
    /// every thread.
    GroupExit,
}

/// Steps 2 and 3 of sending a process-directed signal, in Linux's order
/// (`__send_signal_locked()` then `complete_signal()`): queue `info` on
/// the process queue, then choose the thread to wake among `candidates`,
/// which describe the threads *before* this signal was queued (from
/// [`ThreadSignals::candidate`](crate::ThreadSignals::candidate)), and say
/// whether the signal is a group exit. Call it after [`prepare_send`] said
/// `queue` (and its discards and resume are done). `target` is what
/// `prepare_send` was given; `suggested` and `rotor` as for
/// [`choose_thread`]. Errors are [`PendingQueue::enqueue`]'s (`EAGAIN`).
#[allow(clippy::too_many_arguments)]
pub fn complete_send(
    info: SigInfo,
    action: &SigAction,
    target: &SendTarget,
    queue: &mut PendingQueue,
    account: &SigQueueAccount,
    rlimit: u64,
    candidates: &[ThreadCandidate],
    (suggested, rotor): (usize, usize),
) -> Result<Sent> {
    let sig = info.signo;
    queue.enqueue(info, account, rlimit)?;
    let Some(chosen) = choose_thread(sig, candidates, suggested, rotor) else {
        return Ok(Sent::Queued { wake: None });
    };
    let waited = candidates.get(chosen).is_some_and(|t| t.waiting_for.contains(sig));
    if !target.unkillable && !waited && (!target.traced || sig == SIGKILL) && fatal_on_send(sig, action) {
        return Ok(Sent::GroupExit);
    }
    Ok(Sent::Queued { wake: Some(chosen) })
}

/// Whether `sig`, with this disposition, kills the whole thread group as
/// soon as a thread is chosen for it (Linux's `complete_signal()`
/// shortcut: a fatal signal without core dump, when the chosen thread is
/// not in a sigtimedwait(2) for it): the kernel records `sig` as the
/// group's exit code and sends SIGKILL to every thread. Core-dumping
/// signals are handled by the thread that dequeues them
/// ([`delivery_action`]).
pub fn fatal_on_send(sig: SigNum, action: &SigAction) -> bool {
    action.handler == SigHandler::Default
        && !sig.default_is_ignore()
        && !sig.is_stop()
        && sig.default_action() != DefaultAction::CoreDump
}

/// What a thread does with a signal it dequeued ([`delivery_action`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery {
    /// Nothing: the signal is ignored; take the next one.
    Ignore,
    /// Run this handler (the action as it was before `SA_RESETHAND`): build
    /// a frame, set the mask to [`handler_mask`], and handle an interrupted
    /// system call with [`syscall_restart`].
    Handler(SigAction),
    /// Stop every thread of the process (a group stop) and notify the
    /// parent with `CLD_STOPPED` unless it set `SA_NOCLDSTOP`.
    Stop,
    /// The whole process dies from the signal, all its threads (signal(7):
    /// "Term"/"Core"); `core_dump` for the "Core" signals.
    Terminate {
        /// The signal's default action is to dump core (whether a core file
        /// is written is the kernel's business: RLIMIT_CORE, ...).
        core_dump: bool,
    },
}

/// Linux's `get_signal()` decision for a dequeued signal `sig`: `SIG_IGN`
/// ignores; a handler runs (and `SA_RESETHAND` resets it, see
/// [`SigHandlers::take_for_delivery`]); `SIG_DFL` does the default action.
/// An unkillable init ignores default actions except for SIGKILL and
/// SIGSTOP; SIGTSTP, SIGTTIN and SIGTTOU are discarded in an orphaned
/// process group (signal(7) via POSIX: "a process in an orphaned process
/// group ... shall not be stopped" by them), SIGSTOP is not.
pub fn delivery_action(
    sig: SigNum,
    handlers: &mut SigHandlers,
    pgrp_orphaned: bool,
    unkillable: bool,
) -> Delivery {
    let action = handlers.take_for_delivery(sig);
    match action.handler {
        SigHandler::Ignore => return Delivery::Ignore,
        SigHandler::Handler(_) => return Delivery::Handler(action),
        SigHandler::Default => {}
    }
    if sig.default_is_ignore() || (unkillable && !sig.is_kernel_only()) {
        return Delivery::Ignore;
    }
    match sig.default_action() {
        DefaultAction::Stop if sig != SIGSTOP && pgrp_orphaned => Delivery::Ignore,
        DefaultAction::Stop => Delivery::Stop,
        DefaultAction::CoreDump => Delivery::Terminate { core_dump: true },
        _ => Delivery::Terminate { core_dump: false },
    }
}

/// The blocked mask while a handler for `sig` runs (sigaction(2):
/// `sa_mask` "specifies a mask of signals which should be blocked during
/// execution of the signal handler. In addition, the signal which
/// triggered the handler will be blocked, unless the SA_NODEFER flag is
/// used"): `blocked | sa_mask | sig`, never SIGKILL or SIGSTOP. The mask
/// to restore on sigreturn is saved in the frame.
pub fn handler_mask(blocked: SigSet, sig: SigNum, action: &SigAction) -> SigSet {
    let mut mask = blocked | action.mask;
    if !action.flags.contains(SaFlags::NODEFER) {
        mask.add(sig);
    }
    mask.blockable()
}

/// What to do with a system call that a signal interrupted
/// ([`syscall_restart`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyscallRestart {
    /// The result was not a restart code: leave it.
    Keep,
    /// Return `-EINTR`.
    Interrupt,
    /// Run the same system call again: restore the syscall number and
    /// arguments and move the instruction pointer back over the syscall
    /// instruction.
    Restart,
    /// Call `restart_syscall(2)` instead: set the syscall number to
    /// `__NR_restart_syscall` and move the instruction pointer back.
    RestartBlock,
}

/// signal(7), "Interruption of system calls and library functions by
/// signal handlers", as Linux's x86 `handle_signal()` and
/// `arch_do_signal_or_restart()` do it: `result` is what the interrupted
/// system call returned; `handler` the handler about to run, or `None` when
/// no handler runs (the signal was ignored, stopped the process, ...).
///
/// | result | handler, `SA_RESTART` | handler, no `SA_RESTART` | no handler |
/// |---|---|---|---|
/// | `ERESTARTSYS` | restart | `EINTR` | restart |
/// | `ERESTARTNOINTR` | restart | restart | restart |
/// | `ERESTARTNOHAND` | `EINTR` | `EINTR` | restart |
/// | `ERESTART_RESTARTBLOCK` | `EINTR` | `EINTR` | restart_syscall |
pub fn syscall_restart(result: Errno, handler: Option<&SigAction>) -> SyscallRestart {
    match (result, handler) {
        (Errno::ERESTARTNOINTR, _) => SyscallRestart::Restart,
        (Errno::ERESTARTSYS, Some(action)) if !action.flags.contains(SaFlags::RESTART) => {
            SyscallRestart::Interrupt
        }
        (Errno::ERESTARTSYS, _) => SyscallRestart::Restart,
        (Errno::ERESTARTNOHAND, Some(_)) | (Errno::ERESTART_RESTARTBLOCK, Some(_)) => {
            SyscallRestart::Interrupt
        }
        (Errno::ERESTARTNOHAND, None) => SyscallRestart::Restart,
        (Errno::ERESTART_RESTARTBLOCK, None) => SyscallRestart::RestartBlock,
        _ => SyscallRestart::Keep,
    }
}

/// The wait(2) status of a process killed by `sig`: `WIFSIGNALED`,
/// `WTERMSIG` = `sig`, and `WCOREDUMP` (0x80) when `core_dump`, that is
/// when a core file was actually written (a "Core" signal with no dump
/// reports only the signal).
pub const fn killed_status(sig: SigNum, core_dump: bool) -> i32 {
    sig.as_i32() | if core_dump { 0x80 } else { 0 }
}

/// The `how` of sigprocmask(2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigMaskHow {
    /// `SIG_BLOCK` (0): add the set.
    Block,
    /// `SIG_UNBLOCK` (1): remove the set.
    Unblock,
    /// `SIG_SETMASK` (2): replace with the set.
    SetMask,
}

impl SigMaskHow {
    /// The `how` argument: `EINVAL` for anything else (sigprocmask(2)
    /// ERRORS: "The value specified in how was invalid").
    pub const fn from_raw(how: i32) -> Result<SigMaskHow> {
        match how {
            0 => Ok(SigMaskHow::Block),
            1 => Ok(SigMaskHow::Unblock),
            2 => Ok(SigMaskHow::SetMask),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The new mask from the old one; SIGKILL and SIGSTOP are never in it.
    pub const fn apply(self, old: SigSet, set: SigSet) -> SigSet {
        match self {
            SigMaskHow::Block => old.union(set),
            SigMaskHow::Unblock => old.difference(set),
            SigMaskHow::SetMask => set,
        }
        .blockable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signum::*;

    const H: u64 = 0x40_1000;

    fn handler(flags: SaFlags) -> SigAction {
        SigAction::handler(H, flags, SigSet::EMPTY)
    }

    #[test]
    fn sigcont_discards_stop_signals_and_resumes() {
        // signal(7) / POSIX: "When SIGCONT is generated, all pending stop
        // signals are discarded"; the process continues even if SIGCONT is
        // blocked or ignored.
        let plan = prepare_send(SIGCONT, &SigAction::IGNORE, &SendTarget::default());
        assert_eq!(plan.discard, SigSet::STOP);
        assert!(plan.resume);
        assert!(!plan.queue, "ignored SIGCONT is not queued but still continues");
        let blocked = SendTarget { blocked: SigSet::single(SIGCONT), ..SendTarget::default() };
        let plan = prepare_send(SIGCONT, &SigAction::DEFAULT, &blocked);
        assert!(plan.resume && plan.queue);
    }

    #[test]
    fn stop_signal_discards_sigcont() {
        // POSIX signal generation: "when any stop signal ... is generated,
        // any pending SIGCONT signals ... shall be discarded".
        for sig in [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU] {
            let plan = prepare_send(sig, &SigAction::DEFAULT, &SendTarget::default());
            assert_eq!(plan, SendPlan { discard: SigSet::single(SIGCONT), resume: false, queue: true });
        }
        let plan = prepare_send(SIGUSR1, &SigAction::DEFAULT, &SendTarget::default());
        assert_eq!(plan, SendPlan { discard: SigSet::EMPTY, resume: false, queue: true });
    }

    #[test]
    fn ignored_unblocked_signals_are_dropped_blocked_kept() {
        // signal(7): an ignored signal is discarded; kernel/signal.c
        // sig_ignored(): "Blocked signals are never ignored".
        let t = SendTarget::default();
        assert!(!prepare_send(SIGUSR1, &SigAction::IGNORE, &t).queue);
        assert!(!prepare_send(SIGCHLD, &SigAction::DEFAULT, &t).queue);
        assert!(!prepare_send(SIGWINCH, &SigAction::DEFAULT, &t).queue);
        assert!(prepare_send(SIGTERM, &SigAction::DEFAULT, &t).queue);
        let blocked = SendTarget { blocked: SigSet::single(SIGUSR1).with(SIGCHLD), ..t };
        assert!(prepare_send(SIGUSR1, &SigAction::IGNORE, &blocked).queue);
        assert!(prepare_send(SIGCHLD, &SigAction::DEFAULT, &blocked).queue);
    }

    #[test]
    fn init_only_gets_signals_it_handles() {
        // kill(2) NOTES: init only receives signals it has handlers for;
        // SIGKILL/SIGSTOP from an ancestor namespace (force) still arrive.
        let init = SendTarget { unkillable: true, ..SendTarget::default() };
        assert!(!prepare_send(SIGTERM, &SigAction::DEFAULT, &init).queue);
        assert!(!prepare_send(SIGKILL, &SigAction::DEFAULT, &init).queue);
        assert!(prepare_send(SIGTERM, &handler(SaFlags::empty()), &init).queue);
        let forced = SendTarget { force: true, ..init };
        assert!(prepare_send(SIGKILL, &SigAction::DEFAULT, &forced).queue);
        assert!(!prepare_send(SIGTERM, &SigAction::DEFAULT, &forced).queue);
        let mut h = SigHandlers::new();
        assert_eq!(delivery_action(SIGTERM, &mut h, false, true), Delivery::Ignore);
        assert_eq!(delivery_action(SIGKILL, &mut h, false, true), Delivery::Terminate { core_dump: false });
    }

    #[test]
    fn exiting_group_drops_everything() {
        // kernel/signal.c prepare_signal(): SIGNAL_GROUP_EXIT.
        let t = SendTarget { group_exiting: true, ..SendTarget::default() };
        assert!(!prepare_send(SIGKILL, &SigAction::DEFAULT, &t).queue);
    }

    #[test]
    fn thread_choice() {
        // signal(7) "Signal mask and pending signals": a process-directed
        // signal goes to one thread that does not block it.
        let free = ThreadCandidate::default();
        let blocking = ThreadCandidate { blocked: SigSet::single(SIGUSR1), ..free };
        let threads = [blocking, blocking, free, free];
        assert_eq!(choose_thread(SIGUSR1, &threads, 0, 0), Some(2));
        assert_eq!(choose_thread(SIGUSR1, &threads, 3, 0), Some(3), "the suggested thread first");
        assert_eq!(choose_thread(SIGUSR1, &threads, 0, 3), Some(3), "round robin from the rotor");
        assert_eq!(choose_thread(SIGUSR2, &threads, 1, 0), Some(1));
        assert_eq!(choose_thread(SIGUSR1, &[blocking, blocking], 0, 1), None);
        assert_eq!(choose_thread(SIGUSR1, &[], 0, 0), None);
        assert_eq!(choose_thread(SIGUSR1, &threads, 99, 99), Some(2));
    }

    #[test]
    fn wants_signal_rules() {
        // kernel/signal.c wants_signal().
        let t = ThreadCandidate::default();
        assert!(wants_signal(SIGINT, &t));
        assert!(!wants_signal(SIGINT, &ThreadCandidate { exiting: true, ..t }));
        assert!(!wants_signal(SIGINT, &ThreadCandidate { stopped: true, ..t }));
        assert!(wants_signal(SIGKILL, &ThreadCandidate { stopped: true, ..t }));
        assert!(!wants_signal(SIGINT, &ThreadCandidate { signal_pending: true, ..t }));
        assert!(wants_signal(SIGINT, &ThreadCandidate { signal_pending: true, running: true, ..t }));
    }

    #[test]
    fn fatal_on_send_rules() {
        // kernel/signal.c complete_signal(): sig_fatal() without core dump.
        assert!(fatal_on_send(SIGKILL, &SigAction::DEFAULT));
        assert!(fatal_on_send(SIGTERM, &SigAction::DEFAULT));
        assert!(fatal_on_send(SIGRTMIN, &SigAction::DEFAULT));
        assert!(!fatal_on_send(SIGSEGV, &SigAction::DEFAULT), "core dump: by the dequeuing thread");
        assert!(!fatal_on_send(SIGTERM, &handler(SaFlags::empty())));
        assert!(!fatal_on_send(SIGSTOP, &SigAction::DEFAULT));
        assert!(!fatal_on_send(SIGCHLD, &SigAction::DEFAULT));
        assert!(!fatal_on_send(SIGCONT, &SigAction::DEFAULT));
    }

    #[test]
    fn default_actions_for_the_process() {
        // signal(7) "Signal dispositions": Term, Core, Ign, Stop, Cont.
        let mut h = SigHandlers::new();
        assert_eq!(delivery_action(SIGTERM, &mut h, false, false), Delivery::Terminate { core_dump: false });
        assert_eq!(delivery_action(SIGQUIT, &mut h, false, false), Delivery::Terminate { core_dump: true });
        assert_eq!(delivery_action(SIGCHLD, &mut h, false, false), Delivery::Ignore);
        assert_eq!(delivery_action(SIGCONT, &mut h, false, false), Delivery::Ignore);
        assert_eq!(delivery_action(SIGTSTP, &mut h, false, false), Delivery::Stop);
        assert_eq!(delivery_action(SIGSTOP, &mut h, false, false), Delivery::Stop);
        assert_eq!(killed_status(SIGQUIT, true), 0x83);
        assert_eq!(killed_status(SIGTERM, false), 15);
    }

    #[test]
    fn orphaned_pgrp_discards_terminal_stops() {
        // signal(7)/POSIX: SIGTSTP, SIGTTIN, SIGTTOU to an orphaned process
        // group are discarded; SIGSTOP still stops.
        let mut h = SigHandlers::new();
        for sig in [SIGTSTP, SIGTTIN, SIGTTOU] {
            assert_eq!(delivery_action(sig, &mut h, true, false), Delivery::Ignore);
        }
        assert_eq!(delivery_action(SIGSTOP, &mut h, true, false), Delivery::Stop);
    }

    #[test]
    fn handlers_and_resethand_in_delivery() {
        // sigaction(2) SA_RESETHAND: the next delivery takes the default action.
        let mut h = SigHandlers::new();
        let act = handler(SaFlags::RESETHAND);
        let _ = h.set(SIGINT, act).unwrap();
        let _ = h.set(SIGHUP, SigAction::IGNORE).unwrap();
        assert_eq!(delivery_action(SIGINT, &mut h, false, false), Delivery::Handler(act));
        assert_eq!(delivery_action(SIGINT, &mut h, false, false), Delivery::Terminate { core_dump: false });
        assert_eq!(delivery_action(SIGHUP, &mut h, false, false), Delivery::Ignore);
    }

    #[test]
    fn mask_while_handler_runs() {
        // sigaction(2) sa_mask and SA_NODEFER.
        let blocked = SigSet::single(SIGHUP);
        let act = SigAction::handler(H, SaFlags::empty(), SigSet::single(SIGTERM).with(SIGKILL));
        assert_eq!(handler_mask(blocked, SIGINT, &act), [SIGHUP, SIGINT, SIGTERM].into_iter().collect());
        let nodefer = SigAction { flags: SaFlags::NODEFER, ..act };
        assert_eq!(handler_mask(blocked, SIGINT, &nodefer), [SIGHUP, SIGTERM].into_iter().collect());
    }

    #[test]
    fn restart_classes() {
        // signal(7) "Interruption of system calls ..."; arch/x86/kernel/signal.c.
        use SyscallRestart::*;
        let restart = handler(SaFlags::RESTART);
        let plain = handler(SaFlags::empty());
        let table = [
            (Errno::ERESTARTSYS, Restart, Interrupt, Restart),
            (Errno::ERESTARTNOINTR, Restart, Restart, Restart),
            (Errno::ERESTARTNOHAND, Interrupt, Interrupt, Restart),
            (Errno::ERESTART_RESTARTBLOCK, Interrupt, Interrupt, RestartBlock),
            (Errno::EINTR, Keep, Keep, Keep),
            (Errno::EAGAIN, Keep, Keep, Keep),
        ];
        for (err, with_restart, without, none) in table {
            assert_eq!(syscall_restart(err, Some(&restart)), with_restart, "{err:?}");
            assert_eq!(syscall_restart(err, Some(&plain)), without, "{err:?}");
            assert_eq!(syscall_restart(err, None), none, "{err:?}");
        }
    }

    #[test]
    fn sigprocmask_how() {
        // sigprocmask(2): SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK; EINVAL for
        // others; SIGKILL/SIGSTOP silently not blocked.
        let old = SigSet::single(SIGINT);
        let set = SigSet::single(SIGTERM).with(SIGKILL).with(SIGSTOP);
        assert_eq!(SigMaskHow::from_raw(0).map(|h| h.apply(old, set)), Ok(old.with(SIGTERM)));
        assert_eq!(SigMaskHow::from_raw(1).map(|h| h.apply(old.with(SIGTERM), set)), Ok(old));
        assert_eq!(SigMaskHow::from_raw(2).map(|h| h.apply(old, set)), Ok(SigSet::single(SIGTERM)));
        assert_eq!(SigMaskHow::from_raw(3), Err(Errno::EINVAL));
        assert_eq!(SigMaskHow::from_raw(-1), Err(Errno::EINVAL));
    }
}
