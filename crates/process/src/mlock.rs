//! Locked memory (mlock, mlock2, munlock, mlockall, munlockall) as a set of
//! page ranges per process, with Linux's checks: the whole range must be
//! mapped (`ENOMEM` at a hole), `RLIMIT_MEMLOCK` bounds what a process
//! without `CAP_IPC_LOCK` locks (`EPERM` when the limit is 0, `ENOMEM` past
//! it). Nothing is ever swapped here, so a lock only has to be counted
//! (`VmLck` in `/proc/<pid>/status`). Locks are not inherited by fork and
//! end at exec, as Linux's.

use alloc::vec::Vec;
use linux_abi::{Errno, Result};

const PAGE: usize = 4096;

/// The locked ranges of one process: sorted, disjoint, page aligned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemLocks {
    ranges: Vec<(usize, usize)>,
    /// `MCL_FUTURE` was asked for (kept to report, not applied to new
    /// mappings).
    pub future: bool,
}

/// Bytes of `[start, end)` covered by the sorted disjoint `set`.
fn overlap(set: &[(usize, usize)], start: usize, end: usize) -> usize {
    set.iter().map(|&(s, e)| e.min(end).saturating_sub(s.max(start))).sum()
}

/// How far from `start` (towards `end`) the sorted `mapped` ranges cover
/// without a hole (`start` itself when it is not mapped).
fn covered_to(mapped: &[(usize, usize)], start: usize, end: usize) -> usize {
    let mut at = start;
    for &(s, e) in mapped {
        if e <= at {
            continue;
        }
        if s > at || at >= end {
            break;
        }
        at = e;
    }
    at.min(end)
}

/// `(start, end)` of `addr, len` widened to whole pages, as Linux's
/// do_mlock(); `EINVAL` when it wraps, `Ok(None)` for an empty range.
pub fn page_range(addr: usize, len: usize) -> Result<Option<(usize, usize)>> {
    let start = addr & !(PAGE - 1);
    let len = len.checked_add(addr - start).and_then(|l| l.checked_add(PAGE - 1)).ok_or(Errno::EINVAL)?
        & !(PAGE - 1);
    let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
    Ok((end > start).then_some((start, end)))
}

impl MemLocks {
    /// Bytes locked and still mapped (`mapped`: sorted mapping ranges).
    pub fn locked_bytes(&self, mapped: &[(usize, usize)]) -> usize {
        self.ranges.iter().map(|&(s, e)| overlap(mapped, s, e)).sum()
    }

    /// mlock(2)/mlock2(2) of `addr, len`: `limit` is RLIMIT_MEMLOCK's soft
    /// value, `privileged` whether the caller has CAP_IPC_LOCK.
    pub fn lock(
        &mut self,
        addr: usize,
        len: usize,
        mapped: &[(usize, usize)],
        limit: u64,
        privileged: bool,
    ) -> Result<()> {
        // can_do_mlock()
        if limit == 0 && !privileged {
            return Err(Errno::EPERM);
        }
        let Some((start, end)) = page_range(addr, len)? else { return Ok(()) };
        let already = self.locked_bytes(mapped);
        let new = (end - start) - overlap(&self.ranges, start, end);
        if !privileged && (already.saturating_add(new) / PAGE) as u64 > limit / PAGE as u64 {
            return Err(Errno::ENOMEM);
        }
        // apply_vma_lock_flags(): the mappings up to a hole are locked,
        // then ENOMEM
        let to = covered_to(mapped, start, end);
        if to > start {
            self.insert(start, to)?;
        }
        if to < end { Err(Errno::ENOMEM) } else { Ok(()) }
    }

    /// munlock(2): unlocks up to the first hole, `ENOMEM` if there is one.
    pub fn unlock(&mut self, addr: usize, len: usize, mapped: &[(usize, usize)]) -> Result<()> {
        let Some((start, end)) = page_range(addr, len)? else { return Ok(()) };
        let to = covered_to(mapped, start, end);
        if to > start {
            self.remove(start, to)?;
        }
        if to < end { Err(Errno::ENOMEM) } else { Ok(()) }
    }

    /// mlockall(2): flags `MCL_CURRENT` 1, `MCL_FUTURE` 2, `MCL_ONFAULT` 4.
    pub fn lock_all(
        &mut self,
        flags: u32,
        mapped: &[(usize, usize)],
        limit: u64,
        privileged: bool,
    ) -> Result<()> {
        if flags == 0 || flags & !7 != 0 || flags == 4 {
            return Err(Errno::EINVAL);
        }
        if limit == 0 && !privileged {
            return Err(Errno::EPERM);
        }
        let total: usize = mapped.iter().map(|&(s, e)| e - s).sum();
        if flags & 1 != 0 && !privileged && (total / PAGE) as u64 > limit / PAGE as u64 {
            return Err(Errno::ENOMEM);
        }
        self.future = flags & 2 != 0;
        if flags & 1 != 0 {
            for &(s, e) in mapped {
                self.insert(s, e)?;
            }
        }
        Ok(())
    }

    /// munlockall(2).
    pub fn unlock_all(&mut self) {
        self.ranges = Vec::new();
        self.future = false;
    }

    fn insert(&mut self, start: usize, end: usize) -> Result<()> {
        self.ranges.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let (mut s, mut e) = (start, end);
        // merge every range touching [s, e)
        self.ranges.retain(|&(a, b)| {
            if b < s || a > e {
                true
            } else {
                s = s.min(a);
                e = e.max(b);
                false
            }
        });
        let at = self.ranges.partition_point(|&(a, _)| a < s);
        self.ranges.insert(at, (s, e));
        Ok(())
    }

    fn remove(&mut self, start: usize, end: usize) -> Result<()> {
        self.ranges.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let mut out = Vec::new();
        out.try_reserve(self.ranges.len() + 1).map_err(|_| Errno::ENOMEM)?;
        for &(a, b) in &self.ranges {
            if b <= start || a >= end {
                out.push((a, b));
                continue;
            }
            if a < start {
                out.push((a, start));
            }
            if b > end {
                out.push((end, b));
            }
        }
        self.ranges = out;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: usize = PAGE;
    const M: u64 = 8 << 20;

    #[test]
    fn lock_unlock_and_count() {
        let mapped = [(0x10000, 0x20000), (0x30000, 0x40000)];
        let mut l = MemLocks::default();
        l.lock(0x10000 + 100, 10, &mapped, M, false).unwrap();
        assert_eq!(l.locked_bytes(&mapped), P, "a partial page locks the page");
        l.lock(0x11000, 3 * P, &mapped, M, false).unwrap();
        assert_eq!(l.locked_bytes(&mapped), 4 * P);
        l.lock(0x10000, 2 * P, &mapped, M, false).unwrap();
        assert_eq!(l.locked_bytes(&mapped), 4 * P, "locking again adds nothing");
        l.unlock(0x11000, P, &mapped).unwrap();
        assert_eq!(l.locked_bytes(&mapped), 3 * P);
        l.unlock_all();
        assert_eq!(l.lock(0x1f000, 2 * P, &mapped, M, false), Err(Errno::ENOMEM), "a hole");
        assert_eq!(l.locked_bytes(&mapped), P, "locked up to the hole");
        assert_eq!(l.lock(0x20000, P, &mapped, M, false), Err(Errno::ENOMEM));
        assert_eq!(l.locked_bytes(&mapped), P);
        assert_eq!(l.unlock(0x1f000, 2 * P, &mapped), Err(Errno::ENOMEM));
        assert_eq!(l.locked_bytes(&mapped), 0, "unlocked up to the hole");
        assert_eq!(l.unlock(0x50000, P, &mapped), Err(Errno::ENOMEM));
        assert_eq!(l.lock(0x10000, 0, &mapped, M, false), Ok(()));
        assert_eq!(l.lock(usize::MAX - 10, 100, &mapped, M, true), Err(Errno::EINVAL));
        // mapped in two pieces with no gap
        let joined = [(0x10000, 0x20000), (0x20000, 0x30000)];
        assert_eq!(l.lock(0x1f000, 2 * P, &joined, M, false), Ok(()));
        l.unlock_all();
        assert_eq!(l.locked_bytes(&mapped), 0);
    }

    #[test]
    fn the_limit_and_privilege() {
        let mapped = [(0, 64 * P)];
        let mut l = MemLocks::default();
        assert_eq!(l.lock(0, P, &mapped, 0, false), Err(Errno::EPERM));
        assert_eq!(l.lock(0, P, &mapped, 0, true), Ok(()));
        let mut l = MemLocks::default();
        l.lock(0, 8 * P, &mapped, 8 * P as u64, false).unwrap();
        assert_eq!(l.lock(8 * P, P, &mapped, 8 * P as u64, false), Err(Errno::ENOMEM));
        assert_eq!(l.lock(4 * P, 4 * P, &mapped, 8 * P as u64, false), Ok(()), "already locked");
        assert_eq!(l.lock_all(1, &mapped, 8 * P as u64, false), Err(Errno::ENOMEM));
        assert_eq!(l.lock_all(0, &mapped, M, false), Err(Errno::EINVAL));
        assert_eq!(l.lock_all(4, &mapped, M, false), Err(Errno::EINVAL));
        assert_eq!(l.lock_all(8, &mapped, M, false), Err(Errno::EINVAL));
        assert_eq!(l.lock_all(3, &mapped, 0, false), Err(Errno::EPERM));
        l.lock_all(3, &mapped, M, false).unwrap();
        assert!(l.future);
        assert_eq!(l.locked_bytes(&mapped), 64 * P);
    }
}
