//! A "signal state changed" counter, so the path back to user mode can
//! skip looking for signals when nothing changed since it last found none
//! (Linux's TIF_SIGPENDING, made coarse: one counter for many threads).
//!
//! The kernel owns the counter (this crate keeps no global): it makes one
//! [`Epoch`] and hands clones of it to the queues and thread states it
//! creates ([`PendingQueue::with_epoch`](crate::PendingQueue::with_epoch),
//! [`ThreadSignals::with_epoch`](crate::ThreadSignals::with_epoch)). Every
//! change that could make a signal deliverable bumps it: queueing a signal
//! ([`PendingQueue::enqueue`](crate::PendingQueue::enqueue)) and every
//! change of a thread's blocked mask ([`ThreadSignals`](crate::ThreadSignals)).
//! Other crates bump it for their own events that a thread must notice on
//! its way back to user mode (a group exit, a thread removed by exec). A
//! queue made with `new()` has a detached epoch that counts nothing.
//!
//! ```
//! use signal::{Epoch, PendingQueue, SigInfo, SigQueueAccount, SIGUSR1};
//!
//! let epoch = Epoch::new();
//! let mut queue = PendingQueue::with_epoch(epoch.clone());
//! let before = epoch.current();
//! queue.enqueue(SigInfo::kernel(SIGUSR1), &SigQueueAccount::new(), 16).unwrap();
//! assert_ne!(epoch.current(), before);
//! epoch.bump();
//! assert_eq!(epoch.current(), before + 2);
//! ```

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

/// A shared change counter (clones count together), or a detached one
/// (the default: bumps do nothing, [`Epoch::current`] stays 0).
#[derive(Clone, Debug, Default)]
pub struct Epoch(Option<Arc<AtomicU64>>);

impl Epoch {
    /// A new counter at 0.
    pub fn new() -> Epoch {
        Epoch(Some(Arc::new(AtomicU64::new(0))))
    }

    /// The current value; it only grows, and never reaches `u64::MAX`,
    /// which callers may use as "never checked".
    #[inline]
    pub fn current(&self) -> u64 {
        self.0.as_ref().map_or(0, |c| c.load(Ordering::SeqCst))
    }

    /// Records a change of signal state.
    #[inline]
    pub fn bump(&self) {
        if let Some(c) = &self.0 {
            c.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Whether `self` and `other` are the same counter.
    pub fn same(&self, other: &Epoch) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}
