//! A global "signal state changed" counter, so the path back to user mode
//! can skip looking for signals when nothing changed since it last found
//! none (Linux's TIF_SIGPENDING, made coarse: one counter for every thread).
//!
//! Every change that could make a signal deliverable bumps it: queueing a
//! signal ([`PendingQueue::enqueue`](crate::PendingQueue::enqueue)) and every
//! change of a thread's blocked mask ([`ThreadSignals`](crate::ThreadSignals)).
//! Other crates bump it for their own events that a thread must notice on
//! its way back to user mode (a group exit, a thread removed by exec).
//!
//! ```
//! let before = signal::epoch::current();
//! signal::epoch::bump();
//! assert_ne!(signal::epoch::current(), before);
//! ```

use core::sync::atomic::{AtomicU64, Ordering};

static EPOCH: AtomicU64 = AtomicU64::new(0);

/// The current value; it only grows, and never reaches `u64::MAX`, which
/// callers may use as "never checked".
#[inline]
pub fn current() -> u64 {
    EPOCH.load(Ordering::SeqCst)
}

/// Records a change of signal state.
pub fn bump() {
    EPOCH.fetch_add(1, Ordering::SeqCst);
}
