//! End-to-end scenarios: a process with threads, handlers, queues and the
//! decision functions used together as the kernel will use them.

use linux_abi::Errno;
use signal::siginfo::code;
use signal::*;

const HANDLER: u64 = 0x40_1000;

/// A process as the kernel would hold it: shared handlers, a process queue
/// and threads.
struct Process {
    handlers: SharedSigHandlers,
    queue: PendingQueue,
    threads: Vec<ThreadSignals>,
    user: SigQueueAccount,
    rlimit: u64,
}

impl Process {
    fn new(threads: usize) -> Process {
        Process {
            handlers: SharedSigHandlers::new(),
            queue: PendingQueue::new(),
            threads: (0..threads).map(|_| ThreadSignals::new()).collect(),
            user: SigQueueAccount::new(),
            rlimit: RLIM_INFINITY,
        }
    }

    fn discard_everywhere(&mut self, set: SigSet) {
        self.queue.discard(set);
        for t in &mut self.threads {
            t.pending_mut().discard(set);
        }
    }

    /// kill(2) to the process: prepare, discard, queue, choose a thread.
    fn kill(&mut self, info: SigInfo) -> Result<(SendPlan, Option<usize>), Errno> {
        let sig = info.signo;
        let action = self.handlers.lock().get(sig);
        let target = SendTarget::new(self.threads[0].blocked_for_send());
        let plan = prepare_send(sig, &action, &target);
        self.discard_everywhere(plan.discard);
        if !plan.queue {
            return Ok((plan, None));
        }
        let _ = self.queue.enqueue(info, &self.user, self.rlimit)?;
        let candidates: Vec<ThreadCandidate> =
            self.threads.iter().map(|t| ThreadCandidate::new(t.blocked())).collect();
        Ok((plan, choose_thread(sig, &candidates, 0, 0)))
    }

    /// sigaction(2) as the syscall does it.
    fn sigaction(&mut self, sig: SigNum, action: SigAction) -> Result<SigAction, Errno> {
        let change = self.handlers.lock().set(sig, action)?;
        if change.discard_pending {
            self.discard_everywhere(SigSet::single(sig));
        }
        Ok(change.old)
    }
}

#[test]
fn sigcont_cancels_pending_stops_everywhere() {
    // signal(7) / POSIX 2.4.1: SIGCONT discards pending SIGSTOP, SIGTSTP,
    // SIGTTIN, SIGTTOU of the process and all its threads; a later stop
    // signal discards a pending SIGCONT.
    let mut p = Process::new(2);
    for t in &mut p.threads {
        t.set_blocked(SigSet::STOP | SigSet::single(SIGCONT));
    }
    let _ = p.kill(SigInfo::user(SIGTSTP, 1, 0)).unwrap();
    let _ =
        p.threads[1].pending_mut().enqueue(SigInfo::tkill(SIGTTIN, 1, 0), &p.user, RLIM_INFINITY).unwrap();
    assert!(!p.queue.is_empty());
    let (plan, _) = p.kill(SigInfo::user(SIGCONT, 1, 0)).unwrap();
    assert!(plan.resume);
    assert_eq!(p.queue.pending(), SigSet::single(SIGCONT));
    assert!(p.threads[1].pending().is_empty());
    let _ = p.kill(SigInfo::user(SIGSTOP, 1, 0)).unwrap();
    assert_eq!(p.queue.pending(), SigSet::single(SIGSTOP));
}

#[test]
fn ignoring_discards_pending_in_every_queue() {
    // sigaction(2) / POSIX 3.3.1.3: "Setting a signal action to SIG_IGN for
    // a signal that is pending shall cause the pending signal to be
    // discarded, whether or not it is blocked."
    let mut p = Process::new(2);
    for t in &mut p.threads {
        t.set_blocked(SigSet::single(SIGUSR1).with(SIGRTMIN));
    }
    let _ = p.kill(SigInfo::user(SIGUSR1, 1, 0)).unwrap();
    for v in 0..3 {
        let _ = p.kill(SigInfo::queue(SIGRTMIN, 1, 0, v)).unwrap();
    }
    let _ =
        p.threads[1].pending_mut().enqueue(SigInfo::tkill(SIGUSR1, 1, 0), &p.user, RLIM_INFINITY).unwrap();
    assert_eq!(p.user.queued(), 5);
    let _ = p.sigaction(SIGUSR1, SigAction::IGNORE).unwrap();
    assert_eq!(p.queue.pending(), SigSet::single(SIGRTMIN));
    assert!(p.threads[1].pending().is_empty());
    let _ = p.sigaction(SIGRTMIN, SigAction::IGNORE).unwrap();
    assert!(p.queue.is_empty());
    assert_eq!(p.user.queued(), 0);
    // While ignored and unblocked, a new one is dropped at once.
    p.threads[0].set_blocked(SigSet::EMPTY);
    let (plan, who) = p.kill(SigInfo::user(SIGUSR1, 1, 0)).unwrap();
    assert!(!plan.queue && who.is_none());
    assert!(p.queue.is_empty());
}

#[test]
fn process_signal_goes_to_a_thread_that_does_not_block_it() {
    // signal(7): "A process-directed signal may be delivered to any one of
    // the threads that does not currently have the signal blocked."
    let mut p = Process::new(3);
    p.threads[0].set_blocked(SigSet::single(SIGTERM));
    p.threads[1].set_blocked(SigSet::single(SIGTERM));
    let _ = p.sigaction(SIGTERM, SigAction::handler(HANDLER, SaFlags::empty(), SigSet::EMPTY)).unwrap();
    let (_, who) = p.kill(SigInfo::user(SIGTERM, 1, 0)).unwrap();
    assert_eq!(who, Some(2));
    let mut queue = std::mem::take(&mut p.queue);
    assert_eq!(p.threads[0].dequeue(&mut queue), None);
    let info = p.threads[2].dequeue(&mut queue).unwrap();
    assert_eq!(info, SigInfo::user(SIGTERM, 1, 0));
    let d = delivery_action(info.signo, &mut p.handlers.lock(), false, false);
    assert_eq!(d, Delivery::Handler(SigAction::handler(HANDLER, SaFlags::empty(), SigSet::EMPTY)));
}

#[test]
fn fatal_signal_kills_the_group_at_send() {
    // signal(7) "Term"; kernel/signal.c complete_signal(): a fatal signal
    // with the default action kills every thread.
    let mut p = Process::new(2);
    let (_, who) = p.kill(SigInfo::user(SIGTERM, 1, 0)).unwrap();
    assert!(who.is_some());
    assert!(fatal_on_send(SIGTERM, &p.handlers.lock().get(SIGTERM)));
    let info = p.threads[0].dequeue(&mut p.queue).unwrap();
    let d = delivery_action(info.signo, &mut p.handlers.lock(), false, false);
    assert_eq!(d, Delivery::Terminate { core_dump: false });
    assert_eq!(killed_status(SIGTERM, false), 15);
}

#[test]
fn synchronous_fault_is_delivered_before_earlier_signals() {
    // kernel/signal.c next_signal(): SIGSEGV etc. before lower-numbered
    // signals, so a fault's handler sees its own siginfo.
    let mut p = Process::new(1);
    let _ = p.kill(SigInfo::user(SIGHUP, 1, 0)).unwrap();
    let t = &mut p.threads[0];
    let _ = t.pending_mut().enqueue(SigInfo::fault(SIGSEGV, code::SEGV_MAPERR, 0xdead), &p.user, 0).unwrap();
    let first = t.dequeue(&mut p.queue).unwrap();
    assert_eq!(first.addr(), Some(0xdead));
    assert_eq!(t.dequeue(&mut p.queue).map(|i| i.signo), Some(SIGHUP));
}

#[test]
fn sigqueue_limit_is_per_user_across_processes() {
    // getrlimit(2) RLIMIT_SIGPENDING: "a limit on the number of signals
    // that may be queued for the real user ID of the calling process";
    // sigqueue(3): EAGAIN.
    let mut a = Process::new(1);
    let mut b = Process::new(1);
    b.user = a.user.clone();
    a.rlimit = 3;
    b.rlimit = 3;
    for i in 0..2 {
        let _ = a.kill(SigInfo::queue(SIGRTMIN, 1, 0, i)).unwrap();
    }
    let _ = b.kill(SigInfo::queue(SIGRTMAX, 1, 0, 9)).unwrap();
    assert_eq!(b.kill(SigInfo::queue(SIGRTMAX, 1, 0, 10)), Err(Errno::EAGAIN));
    // kill(2) of a real-time signal does not fail: the info is lost.
    let (plan, _) = b.kill(SigInfo::user(SIGRTMAX, 1, 0)).unwrap();
    assert!(plan.queue);
    let _ = a.threads[0].dequeue(&mut a.queue).unwrap();
    assert!(b.kill(SigInfo::queue(SIGRTMAX, 1, 0, 11)).is_ok());
}

#[test]
fn exec_keeps_mask_pending_and_ignored_resets_handlers() {
    // execve(2): caught signals reset to default, ignored stay ignored, the
    // mask and pending signals are preserved, the alternate stack cleared.
    let mut p = Process::new(1);
    let _ = p.sigaction(SIGINT, SigAction::handler(HANDLER, SaFlags::SIGINFO, SigSet::EMPTY)).unwrap();
    let _ = p.sigaction(SIGQUIT, SigAction::IGNORE).unwrap();
    p.threads[0].set_blocked(SigSet::single(SIGINT));
    let _ = p.kill(SigInfo::user(SIGINT, 1, 0)).unwrap();
    let thread_copy = p.handlers.share();
    drop(thread_copy); // the other threads died in de_thread()
    p.handlers = p.handlers.for_exec().unwrap();
    p.threads[0].exec();
    assert_eq!(p.handlers.lock().get(SIGINT), SigAction::DEFAULT);
    assert_eq!(p.handlers.lock().get(SIGQUIT), SigAction::IGNORE);
    assert_eq!(p.threads[0].sigpending(&p.queue), SigSet::single(SIGINT));
    // Unblocked after exec, SIGINT now terminates.
    p.threads[0].set_blocked(SigSet::EMPTY);
    let info = p.threads[0].dequeue(&mut p.queue).unwrap();
    assert_eq!(
        delivery_action(info.signo, &mut p.handlers.lock(), false, false),
        Delivery::Terminate { core_dump: false }
    );
}

#[test]
fn handler_frame_round_trip() {
    // sigaction(2) SA_SIGINFO + SA_ONSTACK + sigreturn(2): the handler runs
    // on the alternate stack with sa_mask and the signal blocked; sigreturn
    // restores the saved mask.
    let mut p = Process::new(1);
    let act = SigAction::handler(HANDLER, SaFlags::SIGINFO | SaFlags::ONSTACK, SigSet::single(SIGALRM));
    let _ = p.sigaction(SIGUSR2, act).unwrap();
    let t = &mut p.threads[0];
    let ss = StackT::new(0x7000_0000, 0, SIGSTKSZ);
    let _ = t.altstack_mut().sigaltstack(Some(ss), 0x7fff_0000, MINSIGSTKSZ).unwrap();
    let _ = t.pending_mut().enqueue(SigInfo::tkill(SIGUSR2, 3, 4), &p.user, RLIM_INFINITY).unwrap();
    let info = t.dequeue(&mut p.queue).unwrap();
    let Delivery::Handler(action) = delivery_action(info.signo, &mut p.handlers.lock(), false, false) else {
        panic!("handler expected")
    };
    let top = t.altstack().frame_top(0x7fff_0000, &action);
    assert_eq!(top, 0x7000_0000 + SIGSTKSZ);
    let saved = t.enter_handler(info.signo, &action);
    t.altstack_mut().frame_built();
    assert_eq!(t.blocked(), SigSet::single(SIGUSR2).with(SIGALRM));
    let bytes = info.to_bytes();
    assert_eq!(&bytes[8..12], &code::SI_TKILL.to_le_bytes());
    // In the handler, on the alternate stack, sigaltstack reports SS_ONSTACK
    // and refuses changes.
    assert_eq!(t.altstack().get(top - 512).flags, SS_ONSTACK);
    assert_eq!(
        t.altstack_mut().sigaltstack(Some(StackT::default()), top - 512, MINSIGSTKSZ),
        Err(Errno::EPERM)
    );
    // sigreturn.
    t.set_blocked(saved);
    assert_eq!(t.blocked(), SigSet::EMPTY);
}

#[test]
fn clone_sighand_threads_share_and_fork_copies() {
    // clone(2) CLONE_SIGHAND and CLONE_THREAD; fork(2) copies dispositions.
    let parent = Process::new(1);
    let thread_handlers = parent.handlers.for_clone(true, false).unwrap();
    let fork_handlers = parent.handlers.for_clone(false, false).unwrap();
    let _ = thread_handlers.lock().set(SIGCHLD, SigAction::IGNORE).unwrap();
    assert!(parent.handlers.lock().children_autoreap());
    assert!(!fork_handlers.lock().children_autoreap());
    let child_thread = parent.threads[0].child(true);
    assert!(child_thread.pending().is_empty());
}

/// The documented send steps, followed in order, wake the thread that
/// sleeps with the signal unblocked: candidates are taken before the
/// signal is queued (taken after, every unblocked thread looks as if it
/// already had a signal to handle and none would be woken).
#[test]
fn documented_send_steps_wake_the_sleeping_thread() {
    let mut p = Process::new(3);
    p.sigaction(SIGUSR1, SigAction::handler(HANDLER, SaFlags::empty(), SigSet::EMPTY)).unwrap();
    // thread 0 blocks SIGUSR1 and runs; thread 1 sleeps in read(2); thread 2 exits
    p.threads[0].sigprocmask(SigMaskHow::Block, SigSet::single(SIGUSR1));
    let info = SigInfo::user(SIGUSR1, 7, 1000);
    // 1. prepare_send, discards, resume
    let action = p.handlers.lock().get(SIGUSR1);
    let target = SendTarget::new(p.threads[0].blocked_for_send());
    let plan = prepare_send(SIGUSR1, &action, &target);
    assert_eq!((plan.discard, plan.resume, plan.queue), (SigSet::EMPTY, false, true));
    // 2. candidates before queueing, then complete_send
    let mut candidates: Vec<ThreadCandidate> = p.threads.iter().map(|t| t.candidate(&p.queue)).collect();
    candidates[0].running = true;
    candidates[2].exiting = true;
    assert!(candidates.iter().all(|c| !c.signal_pending));
    let sent = complete_send(info, &action, &target, &mut p.queue, &p.user, p.rlimit, &candidates, (0, 0));
    assert_eq!(sent, Ok(Sent::Queued { wake: Some(1) }));
    assert_eq!(p.queue.pending(), SigSet::single(SIGUSR1));
    // the old order (candidates after the enqueue) finds no thread to wake
    let late: Vec<ThreadCandidate> = p.threads.iter().map(|t| t.candidate(&p.queue)).collect();
    assert!(late[1].signal_pending);
    assert_eq!(choose_thread(SIGUSR1, &late, 0, 0), None);
    // the woken thread takes it
    let got = p.threads[1].dequeue(&mut p.queue).map(|i| i.signo);
    assert_eq!(got, Some(SIGUSR1));

    // SIGTERM at its default, nobody waiting for it: the group exits
    let term = p.handlers.lock().get(SIGTERM);
    let candidates: Vec<ThreadCandidate> = p.threads.iter().map(|t| t.candidate(&p.queue)).collect();
    let sent = complete_send(
        SigInfo::user(SIGTERM, 7, 1000),
        &term,
        &target,
        &mut p.queue,
        &p.user,
        p.rlimit,
        &candidates,
        (0, 0),
    );
    assert_eq!(sent, Ok(Sent::GroupExit));
    // ... but not for a traced process, nor for init
    for t in [target.with_traced(true), target.with_unkillable(true)] {
        let sent = complete_send(
            SigInfo::user(SIGTERM, 7, 1000),
            &term,
            &t,
            &mut p.queue,
            &p.user,
            p.rlimit,
            &candidates,
            (0, 0),
        );
        assert_eq!(sent, Ok(Sent::Queued { wake: Some(0) }));
    }
}
