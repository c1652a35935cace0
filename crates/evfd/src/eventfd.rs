//! eventfd(2)'s counter (fs/eventfd.c): flags, reads, writes, readiness.

use linux_abi::{Errno, Result};

/// `EFD_SEMAPHORE`: a read takes 1, not the whole count.
pub const EFD_SEMAPHORE: u32 = 1;
/// `EFD_CLOEXEC` (= `O_CLOEXEC`).
pub const EFD_CLOEXEC: u32 = 0o2000000;
/// `EFD_NONBLOCK` (= `O_NONBLOCK`).
pub const EFD_NONBLOCK: u32 = 0o4000;

/// The largest value the counter may hold: a write that would pass it
/// waits (or fails with `EAGAIN`).
pub const MAX_COUNT: u64 = u64::MAX - 1;

/// eventfd2's flag check: `EINVAL` for any bit but the three flags.
pub fn check_flags(flags: u32) -> Result<()> {
    if flags & !(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK) != 0 { Err(Errno::EINVAL) } else { Ok(()) }
}

/// A read or write buffer must hold a `u64`: `EINVAL` below 8 bytes.
pub fn check_len(len: usize) -> Result<()> {
    if len < 8 { Err(Errno::EINVAL) } else { Ok(()) }
}

/// The value a write(2) of `buf` adds: `EINVAL` for a buffer under 8
/// bytes and for `0xffffffffffffffff`.
pub fn write_value(buf: &[u8]) -> Result<u64> {
    check_len(buf.len())?;
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[..8]);
    let v = u64::from_ne_bytes(b);
    if v == u64::MAX { Err(Errno::EINVAL) } else { Ok(v) }
}

/// An eventfd's state: the counter and the semaphore mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counter {
    count: u64,
    semaphore: bool,
}

impl Counter {
    /// A counter starting at `initval` (eventfd's argument is an
    /// `unsigned int`), with eventfd2's `flags`.
    pub fn new(initval: u32, flags: u32) -> Counter {
        Counter { count: u64::from(initval), semaphore: flags & EFD_SEMAPHORE != 0 }
    }

    /// The counter's value.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether the counter is in semaphore mode.
    pub fn semaphore(&self) -> bool {
        self.semaphore
    }

    /// A read: the whole count (reset to 0), or 1 in semaphore mode;
    /// `None` when the counter is 0 (the reader waits, or `EAGAIN`).
    pub fn try_read(&mut self) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let v = if self.semaphore { 1 } else { self.count };
        self.count -= v;
        Some(v)
    }

    /// A write of `value` (from [`write_value`]): adds it when the sum
    /// stays at most [`MAX_COUNT`] and returns true; false when the
    /// writer must wait (or get `EAGAIN`). Adding 0 always succeeds.
    pub fn try_write(&mut self, value: u64) -> bool {
        if u64::MAX - self.count > value {
            self.count += value;
            true
        } else {
            false
        }
    }

    /// Readable: the count is not 0 (`EPOLLIN`).
    pub fn readable(&self) -> bool {
        self.count > 0
    }

    /// Writable: at least 1 can be added (`EPOLLOUT`).
    pub fn writable(&self) -> bool {
        self.count < MAX_COUNT
    }

    /// The counter overflowed (only a kernel-side signal can do that):
    /// `EPOLLERR`.
    pub fn overflowed(&self) -> bool {
        self.count == u64::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn flags() {
        assert_eq!(check_flags(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK), Ok(()));
        assert_eq!(check_flags(2), Err(Errno::EINVAL));
        assert_eq!(check_flags(0o100), Err(Errno::EINVAL));
    }

    #[test]
    fn reads() {
        let mut c = Counter::new(5, 0);
        assert_eq!(c.try_read(), Some(5));
        assert_eq!(c.try_read(), None);
        let mut s = Counter::new(2, EFD_SEMAPHORE);
        assert_eq!(s.try_read(), Some(1));
        assert_eq!(s.try_read(), Some(1));
        assert_eq!(s.try_read(), None);
    }

    #[test]
    fn write_limits() {
        assert_eq!(write_value(&[1, 0, 0, 0]), Err(Errno::EINVAL));
        assert_eq!(write_value(&u64::MAX.to_ne_bytes()), Err(Errno::EINVAL));
        assert_eq!(write_value(&7u64.to_ne_bytes()), Ok(7));
        let mut c = Counter::new(0, 0);
        assert!(c.try_write(MAX_COUNT));
        assert_eq!(c.count(), 0xffff_ffff_ffff_fffe);
        assert!(!c.writable());
        assert!(c.try_write(0));
        assert!(!c.try_write(1));
        assert_eq!(c.try_read(), Some(MAX_COUNT));
        assert!(c.writable() && !c.readable());
    }

    proptest! {
        #[test]
        fn never_past_max(a in any::<u64>(), b in any::<u64>()) {
            let mut c = Counter::new(0, 0);
            let a = a.min(MAX_COUNT);
            prop_assert!(c.try_write(a));
            let ok = c.try_write(b.min(MAX_COUNT));
            prop_assert!(c.count() <= MAX_COUNT);
            prop_assert_eq!(ok, a as u128 + b.min(MAX_COUNT) as u128 <= MAX_COUNT as u128);
        }
    }
}
