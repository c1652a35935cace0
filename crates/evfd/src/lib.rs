//! The rules of two of Linux's event files, without the kernel around
//! them: what a read or a write of an eventfd does to its counter
//! ([`eventfd`], after fs/eventfd.c) and how a timerfd counts its
//! expirations ([`timerfd`], after fs/timerfd.c and hrtimer_forward()).
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

pub mod eventfd;
pub mod timerfd;
