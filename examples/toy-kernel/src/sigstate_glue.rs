//! `process`'s signal state of the toy (`process` is built without its
//! feature `signal`, so without kernabi-signal): a blocked mask and a
//! list of pending signals per thread, a list per process, and a shared
//! table of actions (0 default, 1 ignore, else a handler's address). No
//! real-time queueing limits, no alternate stack, no sigtimedwait, no
//! SIGCHLD policy (the defaults of `notify_child_stop` and `on_child_exit`).

use std::sync::{Arc, Mutex};

use linux_abi::{Errno, Result};
use process::sigstate::{Origin, SendFacts, SendPlan, Sent, SignalState, sigbit};

/// The default-ignored signals (SIGCHLD, SIGCONT, SIGURG, SIGWINCH) and the stop signals.
const IGNORED: u64 = 1 << 16 | 1 << 17 | 1 << 22 | 1 << 27;
const STOPS: u64 = 0xf << 18;

/// A toy siginfo: the signal and why it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info(pub u32, pub Origin);

/// A thread's signal state.
#[derive(Default)]
pub struct ToyThread {
    /// The blocked mask.
    pub blocked: u64,
    /// Thread-directed pending signals, oldest first.
    pub pending: Vec<Info>,
}

/// A process's pending signals; a thread as a send's candidate (its
/// blocked mask, none if stopped).
type Q = Vec<Info>;
type C = Option<u64>;

/// The actions of a process (shared by `CLONE_SIGHAND`).
pub type Actions = Arc<Mutex<[u64; 64]>>;

fn copy(h: &Actions, reset: bool) -> Actions {
    let mut a = *h.lock().unwrap();
    a.iter_mut().filter(|a| reset && **a > 1).for_each(|a| *a = 0);
    Arc::new(Mutex::new(a))
}

/// The toy's signal types.
pub struct ToySignals;

impl SignalState for ToySignals {
    type Info = Info;
    type Thread = ToyThread;
    type Process = Vec<Info>;
    type Handlers = Actions;
    type Action = u64;
    type Candidate = Option<u64>;
    type Epoch = ();
    type Account = ();
    fn bump(_: &()) {}
    fn info(sig: u32, origin: Origin) -> Info {
        Info(sig, origin)
    }
    fn signo(info: &Info) -> u32 {
        info.0
    }
    fn new_thread(_: &()) -> ToyThread {
        ToyThread::default()
    }
    fn new_process(_: &()) -> Vec<Info> {
        Vec::new()
    }
    fn new_handlers() -> Actions {
        Arc::new(Mutex::new([0; 64]))
    }
    fn clone_thread(t: &ToyThread, _clear_altstack: bool) -> ToyThread {
        ToyThread { blocked: t.blocked, pending: Vec::new() }
    }
    fn blocked_for_send(t: &ToyThread) -> u64 {
        t.blocked
    }
    fn unblock(t: &mut ToyThread, sig: u32) {
        t.blocked &= !sigbit(sig);
    }
    fn thread_pending(t: &ToyThread) -> u64 {
        t.pending.iter().fold(0, |m, i| m | sigbit(i.0))
    }
    fn enqueue(t: &mut ToyThread, info: Info, _: &(), _limit: u64) -> Result<()> {
        t.pending.push(info);
        Ok(())
    }
    fn discard(t: &mut ToyThread, set: u64) {
        t.pending.retain(|i| sigbit(i.0) & set == 0);
    }
    fn discard_shared(p: &mut Vec<Info>, set: u64) {
        p.retain(|i| sigbit(i.0) & set == 0);
    }
    fn dequeue(t: &mut ToyThread, p: &mut Vec<Info>) -> Option<Info> {
        let blocked = t.blocked;
        let q = [&mut t.pending, p].into_iter().find(|q| q.iter().any(|i| sigbit(i.0) & blocked == 0))?;
        q.iter().position(|i| sigbit(i.0) & blocked == 0).map(|at| q.remove(at))
    }
    fn share(h: &Actions) -> Actions {
        h.clone()
    }
    fn clone_handlers(h: &Actions, sighand: bool, clear: bool) -> Result<Actions> {
        match (sighand, clear) {
            (true, true) => Err(Errno::EINVAL),
            (true, false) => Ok(h.clone()),
            _ => Ok(copy(h, clear)),
        }
    }
    fn exec_handlers(h: &Actions) -> Result<Actions> {
        Ok(copy(h, true))
    }
    fn handlers_shared(h: &Actions) -> bool {
        Arc::strong_count(h) > 1
    }
    fn same_handlers(a: &Actions, b: &Actions) -> bool {
        Arc::ptr_eq(a, b)
    }
    fn set_default(h: &Actions, sig: u32) {
        h.lock().unwrap()[sig as usize - 1] = 0;
    }
    fn action(h: &Actions, sig: u32) -> u64 {
        h.lock().unwrap()[sig as usize - 1]
    }
    fn prepare_send(sig: u32, action: &u64, f: &SendFacts) -> SendPlan {
        // init takes only the signals it handles, unless the kernel sends them
        let dfl_ignored = IGNORED & sigbit(sig) != 0 || f.unkillable && !f.force;
        let ignored = *action == 1 || *action == 0 && dfl_ignored;
        let queue = sig == 9 || !(f.group_exiting || ignored && !f.traced);
        let discard = if sig == 18 { STOPS } else { sigbit(18) * (STOPS & sigbit(sig) != 0) as u64 };
        SendPlan::new(discard, sig == 18, queue)
    }
    fn candidate(t: &ToyThread, _: &Vec<Info>, stopped: bool) -> Option<u64> {
        (!stopped).then_some(t.blocked)
    }
    fn complete_send(i: Info, a: &u64, f: &SendFacts, p: &mut Q, _: &(), _: u64, c: &[C]) -> Result<Sent> {
        p.push(i);
        let wake = c.iter().position(|b| b.is_some_and(|b| b & sigbit(i.0) == 0));
        let fatal = wake.is_some() && !f.unkillable && (!f.traced || i.0 == 9) && Self::fatal_on_send(i.0, a);
        Ok(if fatal { Sent::GroupExit } else { Sent::Queued(wake) })
    }
    fn fatal_on_send(sig: u32, action: &u64) -> bool {
        *action == 0 && (IGNORED | STOPS) & sigbit(sig) == 0
    }
}
