//! Signal sets: Linux's 64-bit `sigset_t`.

use core::fmt;
use core::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, Not, Sub};

use linux_abi::{Errno, Result};

use crate::signum::{NSIG, SIGKILL, SIGSTOP, SigNum};

/// A set of signals, laid out as Linux's 64-bit `sigset_t`: signal `n` is
/// bit `n - 1`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SigSet(u64);

/// The size in bytes of the kernel's `sigset_t`: the `sigsetsize` argument
/// of rt_sigprocmask(2), rt_sigaction(2), rt_sigpending(2), ...
pub const SIGSET_SIZE: usize = 8;

impl SigSet {
    /// The empty set.
    pub const EMPTY: SigSet = SigSet(0);
    /// Every signal.
    pub const FULL: SigSet = SigSet(u64::MAX);
    /// SIGKILL and SIGSTOP: never blocked, caught or ignored.
    pub const UNBLOCKABLE: SigSet = SigSet::single(SIGKILL).with(SIGSTOP);
    /// The stop signals: SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU.
    pub const STOP: SigSet = SigSet(0xf << 18);
    /// The synchronous (fault) signals dequeued first: SIGSEGV, SIGBUS,
    /// SIGILL, SIGTRAP, SIGFPE, SIGSYS.
    pub const SYNCHRONOUS: SigSet = SigSet((1 << 3) | (1 << 4) | (1 << 6) | (1 << 7) | (1 << 10) | (1 << 30));

    /// The set with the raw bits of a `sigset_t`.
    pub const fn from_bits(bits: u64) -> SigSet {
        SigSet(bits)
    }

    /// The raw bits, as a `sigset_t`.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The set holding only `sig`.
    pub const fn single(sig: SigNum) -> SigSet {
        SigSet(1 << (sig.get() - 1))
    }

    /// This set plus `sig`.
    pub const fn with(self, sig: SigNum) -> SigSet {
        SigSet(self.0 | SigSet::single(sig).0)
    }

    /// This set without `sig`.
    pub const fn without(self, sig: SigNum) -> SigSet {
        SigSet(self.0 & !SigSet::single(sig).0)
    }

    /// Adds `sig`.
    pub fn add(&mut self, sig: SigNum) {
        *self = self.with(sig);
    }

    /// Removes `sig`.
    pub fn remove(&mut self, sig: SigNum) {
        *self = self.without(sig);
    }

    /// Whether `sig` is in the set.
    pub const fn contains(self, sig: SigNum) -> bool {
        self.0 & SigSet::single(sig).0 != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The number of signals in the set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The union.
    pub const fn union(self, other: SigSet) -> SigSet {
        SigSet(self.0 | other.0)
    }

    /// The intersection.
    pub const fn intersection(self, other: SigSet) -> SigSet {
        SigSet(self.0 & other.0)
    }

    /// The signals of `self` not in `other`.
    pub const fn difference(self, other: SigSet) -> SigSet {
        SigSet(self.0 & !other.0)
    }

    /// Every signal not in the set.
    pub const fn complement(self) -> SigSet {
        SigSet(!self.0)
    }

    /// The set as a mask a user may set: SIGKILL and SIGSTOP are removed
    /// silently (sigprocmask(2): "It is not possible to block SIGKILL or
    /// SIGSTOP. Attempts to do so are silently ignored.").
    pub const fn blockable(self) -> SigSet {
        self.difference(SigSet::UNBLOCKABLE)
    }

    /// The lowest-numbered signal in the set.
    pub const fn lowest(self) -> Option<SigNum> {
        if self.0 == 0 {
            None
        } else {
            match SigNum::new(self.0.trailing_zeros() as i32 + 1) {
                Ok(sig) => Some(sig),
                Err(_) => None,
            }
        }
    }

    /// The signal Linux's `next_signal()` takes from this set of deliverable
    /// signals: the lowest synchronous signal if there is one, else the
    /// lowest-numbered signal.
    pub const fn next_to_deliver(self) -> Option<SigNum> {
        let sync = self.intersection(SigSet::SYNCHRONOUS);
        if sync.is_empty() { self.lowest() } else { sync.lowest() }
    }

    /// The signals of the set in increasing order.
    pub fn iter(self) -> impl Iterator<Item = SigNum> {
        SigNum::all().filter(move |s| self.contains(*s))
    }

    /// Reads a `sigset_t` of `size` bytes from user space: Linux refuses any
    /// size but 8 with `EINVAL` (rt_sigprocmask(2) and friends).
    pub fn from_user(bits: u64, size: usize) -> Result<SigSet> {
        check_sigset_size(size)?;
        Ok(SigSet(bits))
    }
}

/// `EINVAL` unless `size` is the size of the kernel's `sigset_t` (8): the
/// check every `rt_sig*` syscall makes on its `sigsetsize` argument.
pub fn check_sigset_size(size: usize) -> Result<()> {
    if size == SIGSET_SIZE { Ok(()) } else { Err(Errno::EINVAL) }
}

const _: () = assert!(NSIG == 64);

impl FromIterator<SigNum> for SigSet {
    fn from_iter<I: IntoIterator<Item = SigNum>>(iter: I) -> SigSet {
        iter.into_iter().fold(SigSet::EMPTY, SigSet::with)
    }
}

impl From<SigNum> for SigSet {
    fn from(sig: SigNum) -> SigSet {
        SigSet::single(sig)
    }
}

impl BitOr for SigSet {
    type Output = SigSet;
    fn bitor(self, rhs: SigSet) -> SigSet {
        self.union(rhs)
    }
}

impl BitOrAssign for SigSet {
    fn bitor_assign(&mut self, rhs: SigSet) {
        *self = self.union(rhs);
    }
}

impl BitAnd for SigSet {
    type Output = SigSet;
    fn bitand(self, rhs: SigSet) -> SigSet {
        self.intersection(rhs)
    }
}

impl BitAndAssign for SigSet {
    fn bitand_assign(&mut self, rhs: SigSet) {
        *self = self.intersection(rhs);
    }
}

impl Sub for SigSet {
    type Output = SigSet;
    fn sub(self, rhs: SigSet) -> SigSet {
        self.difference(rhs)
    }
}

impl Not for SigSet {
    type Output = SigSet;
    fn not(self) -> SigSet {
        self.complement()
    }
}

impl fmt::Debug for SigSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signum::*;
    use alloc::vec::Vec;

    #[test]
    fn layout_is_linux_sigset_t() {
        // include/uapi/asm-generic/signal-defs.h / linux/signal.h: sigmask(sig) = 1 << (sig - 1).
        assert_eq!(SigSet::single(SIGHUP).bits(), 1);
        assert_eq!(SigSet::single(SIGKILL).bits(), 1 << 8);
        assert_eq!(SigSet::single(SIGRTMAX).bits(), 1 << 63);
        assert_eq!(SigSet::UNBLOCKABLE.bits(), (1 << 8) | (1 << 18));
        assert_eq!(SigSet::STOP, [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU].into_iter().collect());
        assert_eq!(
            SigSet::SYNCHRONOUS,
            [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS].into_iter().collect()
        );
    }

    #[test]
    fn kill_and_stop_are_silently_removed_from_masks() {
        // sigprocmask(2): "It is not possible to block SIGKILL or SIGSTOP.
        // Attempts to do so are silently ignored."
        assert_eq!(SigSet::FULL.blockable().len(), 62);
        assert!(!SigSet::FULL.blockable().contains(SIGKILL));
        assert!(!SigSet::FULL.blockable().contains(SIGSTOP));
        assert!(SigSet::FULL.blockable().contains(SIGTSTP));
    }

    #[test]
    fn next_to_deliver_takes_synchronous_first() {
        // kernel/signal.c next_signal(): SYNCHRONOUS_MASK first, then lowest.
        let s: SigSet = [SIGHUP, SIGSEGV, SIGFPE, SIGRTMIN].into_iter().collect();
        assert_eq!(s.next_to_deliver(), Some(SIGFPE));
        let s: SigSet = [SIGTERM, SIGRTMIN, SIGINT].into_iter().collect();
        assert_eq!(s.next_to_deliver(), Some(SIGINT));
        assert_eq!(SigSet::EMPTY.next_to_deliver(), None);
        assert_eq!(SigSet::single(SIGRTMAX).lowest(), Some(SIGRTMAX));
    }

    #[test]
    fn sigsetsize_must_be_8() {
        // rt_sigprocmask(2): EINVAL "sigsetsize was not equal to sizeof(kernel_sigset_t)".
        assert_eq!(SigSet::from_user(5, 8), Ok(SigSet::from_bits(5)));
        assert_eq!(SigSet::from_user(5, 4), Err(Errno::EINVAL));
        assert_eq!(SigSet::from_user(5, 128), Err(Errno::EINVAL));
    }

    #[test]
    fn ops_and_iteration() {
        let a: SigSet = [SIGINT, SIGTERM].into_iter().collect();
        let b: SigSet = [SIGTERM, SIGUSR1].into_iter().collect();
        assert_eq!((a | b).iter().collect::<Vec<_>>(), [SIGINT, SIGUSR1, SIGTERM]);
        assert_eq!(a & b, SigSet::single(SIGTERM));
        assert_eq!(a - b, SigSet::single(SIGINT));
        assert_eq!((!a).len(), 62);
        let mut c = a;
        c.remove(SIGINT);
        c.add(SIGHUP);
        assert_eq!(c, SigSet::single(SIGHUP).with(SIGTERM));
        assert_eq!(alloc::format!("{:?}", c), "{SIGHUP, SIGTERM}");
    }
}
