//! The rules of Linux's event files, without the kernel around
//! them: what a read or a write of an eventfd does to its counter
//! ([`eventfd`], after fs/eventfd.c), how a timerfd counts its
//! expirations ([`timerfd`], after fs/timerfd.c and hrtimer_forward()),
//! and epoll's interest and ready list ([`epoll`], after fs/eventpoll.c:
//! level, edge and one-shot items, the order a wait serves them in).
//! All three are files whose job is to say "something happened"; epoll
//! lives here rather than beside the files it watches because it knows
//! them only through the [`epoll::Watched`] trait.
//!
//! The kernel owns the locks, the wait queues and the clocks: it passes
//! "now" in, asks what to do, sleeps when told the call would block, and
//! wakes the sleepers when told something changed. signalfd's record
//! (`struct signalfd_siginfo`) lives with the other siginfo code in the
//! `signal` crate.
//!
//! ```
//! use evfd::eventfd::{Counter, EFD_SEMAPHORE};
//! let mut c = Counter::new(2, EFD_SEMAPHORE);
//! assert_eq!(c.try_read(), Some(1));
//! assert_eq!(c.count(), 1);
//!
//! use evfd::timerfd::Timer;
//! let mut t = Timer::new();
//! t.set(0, 100, 10, false); // first at 100, then every 10
//! assert!(t.fire(135));     // the timer machinery saw it due
//! assert_eq!(t.take(135), Ok(4)); // 100, 110, 120, 130
//! assert_eq!(t.get(135), (5, 10));
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod epoll;
pub mod eventfd;
pub mod timerfd;

/// Software implementations for tests: a file epoll can watch.
#[cfg(feature = "testing")]
pub mod testing {
    use alloc::sync::Arc;
    use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

    #[derive(Debug, Default)]
    struct State {
        ready: AtomicU32,
        /// Bits the next look reports once (a peek leaves them).
        once: AtomicU32,
        count: AtomicU64,
        closed: AtomicBool,
    }

    /// A watched file: its poll bits and event count are set by the test;
    /// clones are the same open file (same key).
    #[derive(Clone, Debug, Default)]
    pub struct FakeFile(Arc<State>);

    impl FakeFile {
        /// A file with no readiness.
        pub fn new() -> Self {
            Self::default()
        }
        /// Sets the poll bits without an event (a level that changed by
        /// itself, as a read elsewhere).
        pub fn set_ready(&self, bits: u32) {
            self.0.ready.store(bits, Ordering::SeqCst);
        }
        /// An event that leaves the file with `bits` (a write: the count
        /// moves).
        pub fn event(&self, bits: u32) {
            self.0.ready.store(bits, Ordering::SeqCst);
            self.0.count.fetch_add(1, Ordering::SeqCst);
        }
        /// An event whose `bits` the next look reports once, as Linux's
        /// /proc/PID/mountinfo's `POLLPRI` (peeks see them until then).
        pub fn event_once(&self, bits: u32) {
            self.0.once.fetch_or(bits, Ordering::SeqCst);
            self.0.count.fetch_add(1, Ordering::SeqCst);
        }
        /// The last reference to the open file goes.
        pub fn close(&self) {
            self.0.closed.store(true, Ordering::SeqCst);
        }
    }

    impl crate::epoll::Watched for FakeFile {
        fn look(&self) -> Option<(u64, u32)> {
            if self.0.closed.load(Ordering::SeqCst) {
                return None;
            }
            let once = self.0.once.swap(0, Ordering::SeqCst);
            Some((self.0.count.load(Ordering::SeqCst), self.0.ready.load(Ordering::SeqCst) | once))
        }
        fn peek(&self) -> Option<(u64, u32)> {
            if self.0.closed.load(Ordering::SeqCst) {
                return None;
            }
            let once = self.0.once.load(Ordering::SeqCst);
            Some((self.0.count.load(Ordering::SeqCst), self.0.ready.load(Ordering::SeqCst) | once))
        }
        fn alive(&self) -> bool {
            !self.0.closed.load(Ordering::SeqCst)
        }
        fn key(&self) -> usize {
            Arc::as_ptr(&self.0) as usize
        }
    }
}

// The README's example runs as a doctest too (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
