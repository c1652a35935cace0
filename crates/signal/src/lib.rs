//! Linux signals, architecture-neutral: what a signal is, what a process
//! does with it, where it waits and who takes it.
//!
//! The model follows Linux's `kernel/signal.c`:
//!
//! - [`SigNum`] is a signal number `1..=64`; [`SigSet`] the 64-bit
//!   `sigset_t`. SIGKILL and SIGSTOP are never in a mask a user sets
//!   ([`SigSet::blockable`]).
//! - [`SigAction`] is one signal's disposition; [`SigHandlers`] the table of
//!   all 64, held behind a [`SharedSigHandlers`] handle that `CLONE_SIGHAND`
//!   shares and fork copies. Each signal has a [`DefaultAction`].
//! - [`PendingQueue`]: one per thread ([`ThreadSignals::pending`]) and one
//!   per process. Standard signals coalesce, real-time signals queue with
//!   their [`SigInfo`] up to RLIMIT_SIGPENDING, counted per user by a
//!   [`SigQueueAccount`].
//! - [`SigInfo`] converts to and from the 128-byte x86_64 `siginfo_t`;
//!   [`signalfd::record`] makes signalfd(2)'s `struct signalfd_siginfo`.
//! - The kernel asks pure functions what to do: [`prepare_send`] (stop and
//!   continue rules, ignored signals), [`choose_thread`] (which thread takes
//!   a process-directed signal), [`delivery_action`] (ignore, handler, stop,
//!   terminate), [`handler_mask`], [`syscall_restart`].
//! - [`ThreadSignals`] is a thread's state: mask, saved masks
//!   (sigsuspend(2), sigtimedwait(2)), its [`PendingQueue`] and its
//!   [`AltStack`] (sigaltstack(2)).
//!
//! Nothing here knows about registers or signal frames: building the
//! `rt_sigframe` belongs to the architecture crate. Nothing is global: the
//! kernel owns every value and its locks (take a [`SharedSigHandlers`]
//! lock before any queue's lock, as Linux's `siglock` covers both).
//!
//! Sending a signal (kill(2), tgkill(2), sigqueue(3), a fault):
//! 1. [`prepare_send`] with the target's disposition and
//!    [`ThreadSignals::blocked_for_send`]; discard [`SendPlan::discard`]
//!    from the process queue and every thread's queue; if
//!    [`SendPlan::resume`], continue the stopped process.
//! 2. If [`SendPlan::queue`]: thread-directed, [`PendingQueue::enqueue`] on
//!    the thread's queue and wake it. Process-directed, take every
//!    thread's [`ThreadSignals::candidate`] (before the signal is queued:
//!    a thread that already has a signal to handle is not woken), then
//!    [`complete_send`] queues it on the process queue and says which
//!    thread to wake, or that the whole group exits ([`Sent`]).
//!
//! Delivering, on the way back to user space: [`ThreadSignals::dequeue`];
//! [`delivery_action`] says ignore (take the next), stop, terminate, or run
//! a handler: then [`syscall_restart`], [`AltStack::frame_top`],
//! [`ThreadSignals::enter_handler`] (the mask to save in the frame),
//! [`SigInfo::to_bytes`], [`AltStack::frame_built`]. With no handler run:
//! [`syscall_restart`] with `None` and [`ThreadSignals::restore_saved_mask`].
//!
//! ```
//! use signal::*;
//!
//! // A process with one thread; its handlers, its queue, its user's count.
//! let handlers = SharedSigHandlers::new();
//! let mut process_queue = PendingQueue::new();
//! let mut thread = ThreadSignals::new();
//! let user = SigQueueAccount::new();
//!
//! // sigaction(SIGUSR1, {handler, SA_RESTART, mask {SIGUSR2}}).
//! let act = SigAction::handler(0x40_1000, SaFlags::RESTART, SigSet::single(SIGUSR2));
//! let change = handlers.lock().set(SIGUSR1, act)?;
//! assert!(!change.discard_pending);
//! assert_eq!(handlers.lock().set(SIGKILL, act), Err(linux_abi::Errno::EINVAL));
//!
//! // kill(pid, SIGUSR1) from pid 7, uid 1000.
//! let plan = prepare_send(SIGUSR1, &handlers.lock().get(SIGUSR1), &SendTarget::default());
//! assert!(plan.queue);
//! let candidates = [thread.candidate(&process_queue)];
//! let act = handlers.lock().get(SIGUSR1);
//! let sent = complete_send(SigInfo::user(SIGUSR1, 7, 1000), &act, &SendTarget::default(),
//!     &mut process_queue, &user, 1024, &candidates, (0, 0))?;
//! assert_eq!(sent, Sent::Queued { wake: Some(0) });
//!
//! // The thread returns from a read(2) that was interrupted: ERESTARTSYS.
//! let info = thread.dequeue(&mut process_queue).expect("pending");
//! assert_eq!((info.signo, info.pid()), (SIGUSR1, Some(7)));
//! match delivery_action(info.signo, &mut handlers.lock(), false, false) {
//!     Delivery::Handler(action) => {
//!         assert_eq!(syscall_restart(linux_abi::Errno::ERESTARTSYS, Some(&action)), SyscallRestart::Restart);
//!         let saved = thread.enter_handler(info.signo, &action);
//!         assert_eq!(saved, SigSet::EMPTY);
//!         assert_eq!(thread.blocked(), SigSet::single(SIGUSR1).with(SIGUSR2));
//!         let frame = info.to_bytes(); // copied to the user stack by the arch crate
//!         assert_eq!(frame.len(), 128);
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), linux_abi::Errno>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod action;
mod altstack;
mod delivery;
pub mod epoch;
mod pending;
pub mod siginfo;
pub mod signalfd;
mod signum;
mod sigset;
mod thread;

pub use action::{
    ActionChange, ChildExit, SIG_DFL, SIG_IGN, SaFlags, SharedSigHandlers, SigAction, SigHandler, SigHandlers,
};
pub use altstack::{
    AltStack, MINSIGSTKSZ, SIGSTKSZ, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK, STACK_T_SIZE, StackT,
};
pub use delivery::{
    Delivery, SendPlan, SendTarget, Sent, SigMaskHow, SyscallRestart, ThreadCandidate, choose_thread,
    complete_send, delivery_action, fatal_on_send, handler_mask, killed_status, prepare_send,
    syscall_restart, wants_signal,
};
pub use epoch::Epoch;
pub use pending::{Enqueued, PendingQueue, RLIM_INFINITY, SigQueueAccount};
pub use siginfo::{SIGINFO_SIZE, SigFields, SigInfo};
pub use signum::*;
pub use sigset::{SIGSET_SIZE, SigSet, check_sigset_size};
pub use thread::ThreadSignals;

// The README's example runs as a doctest too (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
