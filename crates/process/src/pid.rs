//! Pid and tid numbers: one number space, allocated cyclically as Linux's
//! `alloc_pid()` does with `idr_alloc_cyclic()`.
//!
//! A number stays in use while anything refers to it: a thread (its tid), a
//! process group or a session that still has members. So a pid is reused
//! only after its process has been reaped *and* no group or session carries
//! its number, as in Linux where `struct pid` lives while it is referenced.
//!
//! After the cursor has passed [`RESERVED_PIDS`], a wrap restarts at
//! `RESERVED_PIDS` (not 1), so the low numbers of daemons started at boot are
//! not handed out again soon; and since the cursor only moves forward, a
//! number just freed is the last one to come back.

use alloc::collections::BTreeMap;
use linux_abi::{Errno, Result};

/// A process or thread id (Linux's `pid_t`, always positive here).
pub type Pid = u32;

/// Linux's default `/proc/sys/kernel/pid_max` (`PID_MAX_DEFAULT`).
pub const PID_MAX_DEFAULT: u32 = 0x8000;
/// The largest `pid_max` on 64-bit Linux (`PID_MAX_LIMIT`, 4 Mi).
pub const PID_MAX_LIMIT: u32 = 4 * 1024 * 1024;
/// Linux's `RESERVED_PIDS`: where the cursor restarts after a wrap.
pub const RESERVED_PIDS: u32 = 300;

/// The allocator of pid numbers: valid numbers are `1..pid_max`.
#[derive(Debug, Clone)]
pub struct PidAllocator {
    pid_max: u32,
    /// The next number to try (Linux's `idr_next`).
    cursor: u32,
    /// Numbers in use, with how many references each has.
    refs: BTreeMap<u32, u32>,
}

impl PidAllocator {
    /// An allocator of the numbers `1..pid_max`. `pid_max` is clamped to
    /// `2..=PID_MAX_LIMIT` (a table with room for at least pid 1).
    pub fn new(pid_max: u32) -> Self {
        PidAllocator { pid_max: pid_max.clamp(2, PID_MAX_LIMIT), cursor: 1, refs: BTreeMap::new() }
    }

    /// One more than the largest number handed out.
    pub fn pid_max(&self) -> u32 {
        self.pid_max
    }

    /// Changes `pid_max` (the sysctl). Linux accepts
    /// `RESERVED_PIDS + 1 ..= PID_MAX_LIMIT`; anything else is `EINVAL`.
    /// Numbers already in use stay valid.
    pub fn set_pid_max(&mut self, pid_max: u32) -> Result<()> {
        if !(RESERVED_PIDS + 1..=PID_MAX_LIMIT).contains(&pid_max) {
            return Err(Errno::EINVAL);
        }
        self.pid_max = pid_max;
        Ok(())
    }

    /// The lowest free number in `from..self.pid_max`.
    fn lowest_free_from(&self, from: u32) -> Option<u32> {
        let mut want = from;
        for (&used, _) in self.refs.range(from..) {
            if used != want {
                break;
            }
            want = want.checked_add(1)?;
        }
        (want < self.pid_max).then_some(want)
    }

    /// Allocates the next number cyclically with one reference.
    /// `EAGAIN` when every number below `pid_max` is in use (Linux turns the
    /// idr's `ENOSPC` into `EAGAIN`).
    pub fn alloc(&mut self) -> Result<Pid> {
        let start = if self.cursor > RESERVED_PIDS { RESERVED_PIDS } else { 1 };
        let first = self.cursor.max(start);
        let found = self
            .lowest_free_from(first)
            .or_else(|| if first > start { self.lowest_free_from(start) } else { None });
        let pid = found.ok_or(Errno::EAGAIN)?;
        self.refs.insert(pid, 1);
        self.cursor = pid + 1;
        Ok(pid)
    }

    /// Allocates a chosen number (clone3's `set_tid`): `EINVAL` outside
    /// `1..pid_max`, `EEXIST` when it is in use. The cursor does not move.
    pub fn alloc_specific(&mut self, pid: i32) -> Result<Pid> {
        if pid < 1 || pid as u32 >= self.pid_max {
            return Err(Errno::EINVAL);
        }
        let pid = pid as u32;
        if self.refs.contains_key(&pid) {
            return Err(Errno::EEXIST);
        }
        self.refs.insert(pid, 1);
        Ok(pid)
    }

    /// Adds a reference to a number in use (a process group or session
    /// taking the number). `ESRCH` if it is not in use. Number 0 (the
    /// group and session init starts in, as Linux's) is never counted.
    pub fn get(&mut self, pid: Pid) -> Result<()> {
        if pid == 0 {
            return Ok(());
        }
        match self.refs.get_mut(&pid) {
            Some(n) => {
                *n += 1;
                Ok(())
            }
            None => Err(Errno::ESRCH),
        }
    }

    /// Drops a reference; the number is free again when none is left.
    /// Returns whether it was freed. Dropping a free number (or 0) does
    /// nothing.
    pub fn put(&mut self, pid: Pid) -> bool {
        if pid == 0 {
            return false;
        }
        match self.refs.get_mut(&pid) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                self.refs.remove(&pid);
                true
            }
            None => false,
        }
    }

    /// Whether the number is in use.
    pub fn is_used(&self, pid: Pid) -> bool {
        self.refs.contains_key(&pid)
    }

    /// How many references a number has (0 when free).
    pub fn refs(&self, pid: Pid) -> u32 {
        self.refs.get(&pid).copied().unwrap_or(0)
    }

    /// How many numbers are in use.
    pub fn used(&self) -> usize {
        self.refs.len()
    }
}

impl Default for PidAllocator {
    fn default() -> Self {
        Self::new(PID_MAX_DEFAULT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn first_numbers_are_sequential_from_one() {
        let mut a = PidAllocator::default();
        assert_eq!(a.alloc(), Ok(1));
        assert_eq!(a.alloc(), Ok(2));
        assert_eq!(a.alloc(), Ok(3));
        assert_eq!(a.used(), 3);
    }

    #[test]
    fn freed_number_is_not_reused_until_wrap() {
        let mut a = PidAllocator::new(10);
        for want in 1..=5 {
            assert_eq!(a.alloc(), Ok(want));
        }
        assert!(a.put(3));
        // The cursor moves on: 6, 7, 8, 9, then wraps to the lowest free.
        assert_eq!(a.alloc(), Ok(6));
        assert_eq!(a.alloc(), Ok(7));
        assert_eq!(a.alloc(), Ok(8));
        assert_eq!(a.alloc(), Ok(9));
        assert_eq!(a.alloc(), Ok(3));
        assert_eq!(a.alloc(), Err(Errno::EAGAIN));
    }

    #[test]
    fn eagain_at_pid_max_then_recovers() {
        let mut a = PidAllocator::new(4);
        assert_eq!(a.alloc(), Ok(1));
        assert_eq!(a.alloc(), Ok(2));
        assert_eq!(a.alloc(), Ok(3));
        assert_eq!(a.alloc(), Err(Errno::EAGAIN));
        assert_eq!(a.used(), 3);
        a.put(2);
        assert_eq!(a.alloc(), Ok(2));
    }

    #[test]
    fn wrap_restarts_at_reserved_pids() {
        let mut a = PidAllocator::new(RESERVED_PIDS + 5);
        let all: Vec<_> = (0..RESERVED_PIDS + 4).map(|_| a.alloc().unwrap()).collect();
        assert_eq!(all.last(), Some(&(RESERVED_PIDS + 4)));
        assert_eq!(a.alloc(), Err(Errno::EAGAIN));
        // Free a low number and one above RESERVED_PIDS: only the latter is
        // reused, because after the cursor passed 300 the wrap restarts there.
        a.put(5);
        a.put(RESERVED_PIDS + 1);
        assert_eq!(a.alloc(), Ok(RESERVED_PIDS + 1));
        assert_eq!(a.alloc(), Err(Errno::EAGAIN));
        assert!(!a.is_used(5));
    }

    #[test]
    fn references_keep_a_number() {
        let mut a = PidAllocator::new(5);
        assert_eq!(a.alloc(), Ok(1));
        assert_eq!(a.alloc(), Ok(2));
        assert_eq!(a.get(2), Ok(()));
        assert_eq!(a.refs(2), 2);
        assert!(!a.put(2));
        assert!(a.is_used(2));
        assert!(a.put(2));
        assert!(!a.is_used(2));
        assert!(!a.put(2));
        assert_eq!(a.get(2), Err(Errno::ESRCH));
    }

    #[test]
    fn specific_numbers() {
        let mut a = PidAllocator::new(100);
        assert_eq!(a.alloc_specific(0), Err(Errno::EINVAL));
        assert_eq!(a.alloc_specific(-1), Err(Errno::EINVAL));
        assert_eq!(a.alloc_specific(100), Err(Errno::EINVAL));
        assert_eq!(a.alloc_specific(99), Ok(99));
        assert_eq!(a.alloc_specific(99), Err(Errno::EEXIST));
        // The cursor did not move.
        assert_eq!(a.alloc(), Ok(1));
    }

    #[test]
    fn pid_max_sysctl() {
        let mut a = PidAllocator::default();
        assert_eq!(a.set_pid_max(RESERVED_PIDS), Err(Errno::EINVAL));
        assert_eq!(a.set_pid_max(PID_MAX_LIMIT + 1), Err(Errno::EINVAL));
        assert_eq!(a.set_pid_max(PID_MAX_LIMIT), Ok(()));
        assert_eq!(a.pid_max(), PID_MAX_LIMIT);
    }

    proptest::proptest! {
        #[test]
        fn never_hands_out_a_used_number(ops in proptest::collection::vec(0u8..3, 1..200)) {
            let mut a = PidAllocator::new(20);
            let mut live: Vec<u32> = Vec::new();
            for op in ops {
                if op < 2 {
                    match a.alloc() {
                        Ok(p) => {
                            proptest::prop_assert!(!live.contains(&p));
                            proptest::prop_assert!((1..20).contains(&p));
                            live.push(p);
                        }
                        Err(e) => {
                            proptest::prop_assert_eq!(e, Errno::EAGAIN);
                            proptest::prop_assert_eq!(live.len(), 19);
                        }
                    }
                } else if let Some(p) = live.pop() {
                    proptest::prop_assert!(a.put(p));
                }
            }
            proptest::prop_assert_eq!(a.used(), live.len());
        }
    }
}
