//! A bound on the kernel memory System V semaphore sets and message
//! queues take, shared by every IPC namespace.
//!
//! Linux charges a message (`GFP_KERNEL_ACCOUNT`) and a set
//! (`__GFP_ACCOUNT`) to the caller's memory cgroup, and a full cgroup
//! makes msgsnd, semget or semop's undo allocation fail with `ENOMEM`. A
//! kernel without memory cgroups keeps one [`Budget`] instead (its size is
//! the kernel's choice): an object is a [`Charged`] value whose
//! [`Footprint`] is taken from the budget before it grows and given back
//! as it shrinks or goes.
//!
//! ```
//! use ipc::budget::{Budget, Charged, Footprint};
//! struct Text(Vec<u8>);
//! impl Footprint for Text {
//!     fn footprint(&self) -> usize {
//!         self.0.len()
//!     }
//! }
//! let budget = Budget::new(10);
//! let mut t = Charged::new(&budget, Text(vec![1, 2, 3])).unwrap();
//! assert_eq!(budget.used(), 3);
//! // room is reserved before growing, then the real size is kept
//! t.reserve(8).unwrap_err(); // 3 + 8 > 10: ENOMEM, nothing changed
//! t.reserve(4).unwrap();
//! t.0.push(4);
//! t.settle();
//! assert_eq!(budget.used(), 4);
//! drop(t);
//! assert_eq!(budget.used(), 0);
//! ```

use crate::sysv::{Object, Perm};
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicUsize, Ordering};
use linux_abi::{Errno, Result};

/// Bytes objects may take, and bytes they take.
#[derive(Debug)]
pub struct Budget {
    used: AtomicUsize,
    limit: AtomicUsize,
}

impl Budget {
    /// A budget of `limit` bytes, none used.
    pub const fn new(limit: usize) -> Budget {
        Budget { used: AtomicUsize::new(0), limit: AtomicUsize::new(limit) }
    }

    /// Sets the limit (what is used already stays).
    pub fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    /// Bytes taken.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Takes `n` bytes: `ENOMEM` (and nothing taken) when the limit would
    /// be passed.
    pub fn charge(&self, n: usize) -> Result<()> {
        let limit = self.limit();
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| u.checked_add(n).filter(|&t| t <= limit))
            .map(|_| ())
            .map_err(|_| Errno::ENOMEM)
    }

    /// Gives `n` bytes back.
    pub fn uncharge(&self, n: usize) {
        let _ = self.used.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| Some(u.saturating_sub(n)));
    }

    /// Takes `n` bytes whatever the limit (what an object already holds).
    fn force(&self, n: usize) {
        let _ = self.used.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| Some(u.saturating_add(n)));
    }
}

/// The bytes an object counts against a [`Budget`].
pub trait Footprint {
    /// Its bytes now.
    fn footprint(&self) -> usize;
}

/// An object whose footprint is taken from `budget`: given back when it
/// drops. Reads and changes go through to the object; a change that
/// grows it [`reserve`](Charged::reserve)s first, and every change ends
/// with [`settle`](Charged::settle).
#[derive(Debug)]
pub struct Charged<'b, T: Footprint> {
    inner: T,
    budget: &'b Budget,
    charged: usize,
}

impl<'b, T: Footprint> Charged<'b, T> {
    /// `inner`, its footprint taken from `budget` (`ENOMEM` when it does
    /// not fit: `inner` is dropped).
    pub fn new(budget: &'b Budget, inner: T) -> Result<Charged<'b, T>> {
        let n = inner.footprint();
        budget.charge(n)?;
        Ok(Charged { inner, budget, charged: n })
    }

    /// The object `make` builds once `estimate` bytes were taken for it
    /// (`ENOMEM` before building when they do not fit; `make`'s error
    /// gives them back); then its real footprint is kept.
    pub fn make(
        budget: &'b Budget,
        estimate: usize,
        make: impl FnOnce() -> Result<T>,
    ) -> Result<Charged<'b, T>> {
        budget.charge(estimate)?;
        match make() {
            Ok(inner) => {
                let mut c = Charged { inner, budget, charged: estimate };
                c.settle();
                Ok(c)
            }
            Err(e) => {
                budget.uncharge(estimate);
                Err(e)
            }
        }
    }

    /// Takes `n` more bytes ahead of a change that may grow the object by
    /// as much (`ENOMEM`: nothing taken).
    pub fn reserve(&mut self, n: usize) -> Result<()> {
        self.budget.charge(n)?;
        self.charged += n;
        Ok(())
    }

    /// After a change: the object's footprint is what stays taken.
    pub fn settle(&mut self) {
        let now = self.inner.footprint();
        if now < self.charged {
            self.budget.uncharge(self.charged - now);
        } else if now > self.charged {
            // (a change that did not reserve: still counted)
            self.budget.force(now - self.charged);
        }
        self.charged = now;
    }

    /// The bytes it holds of the budget.
    pub fn charged(&self) -> usize {
        self.charged
    }
}

impl<T: Footprint> Drop for Charged<'_, T> {
    fn drop(&mut self) {
        self.budget.uncharge(self.charged);
    }
}

impl<T: Footprint> Deref for Charged<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: Footprint> DerefMut for Charged<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: Footprint + Object> Object for Charged<'_, T> {
    fn perm(&self) -> &Perm {
        self.inner.perm()
    }
    fn alive(&self) -> bool {
        self.inner.alive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    struct V(Vec<u8>);
    impl Footprint for V {
        fn footprint(&self) -> usize {
            self.0.len()
        }
    }

    #[test]
    fn charge_to_the_limit() {
        let b = Budget::new(100);
        assert_eq!(b.charge(60), Ok(()));
        assert_eq!(b.charge(41), Err(Errno::ENOMEM));
        assert_eq!(b.used(), 60);
        assert_eq!(b.charge(40), Ok(()));
        assert_eq!(b.charge(1), Err(Errno::ENOMEM));
        assert_eq!(b.charge(usize::MAX), Err(Errno::ENOMEM));
        b.uncharge(100);
        assert_eq!(b.used(), 0);
        b.uncharge(5);
        assert_eq!(b.used(), 0, "never below 0");
        b.set_limit(10);
        assert_eq!(b.charge(11), Err(Errno::ENOMEM));
    }

    #[test]
    fn charged_objects_give_back() {
        let b = Budget::new(10);
        let mut a = Charged::new(&b, V(vec![0; 6])).unwrap();
        assert!(Charged::new(&b, V(vec![0; 5])).is_err());
        assert_eq!(b.used(), 6);
        assert_eq!(a.reserve(5), Err(Errno::ENOMEM));
        assert_eq!(a.charged(), 6);
        a.reserve(4).unwrap();
        assert_eq!(b.used(), 10);
        a.0.truncate(2);
        a.settle();
        assert_eq!((b.used(), a.charged()), (2, 2));
        // made only when the estimate fits; a failed make gives it back
        assert!(Charged::make(&b, 9, || Ok(V(vec![]))).is_err());
        assert!(Charged::make(&b, 8, || -> Result<V> { Err(Errno::EINVAL) }).is_err());
        assert_eq!(b.used(), 2);
        let c = Charged::make(&b, 8, || Ok(V(vec![0; 3]))).unwrap();
        assert_eq!(b.used(), 5);
        drop(c);
        drop(a);
        assert_eq!(b.used(), 0);
    }
}
