//! Byte-range locks of one file: POSIX record locks and OFD locks.

use alloc::vec::Vec;

use crate::range::Range;

/// A lock's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `F_RDLCK` / `LOCK_SH`: shared with other readers.
    Read,
    /// `F_WRLCK` / `LOCK_EX`: exclusive.
    Write,
}

impl Kind {
    /// Whether a lock of this kind and one of `other` held by different
    /// owners conflict (at least one of them is a write lock).
    pub fn conflicts(self, other: Kind) -> bool {
        self == Kind::Write || other == Kind::Write
    }
}

/// One held lock.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lock<O> {
    /// Who holds it: the process (POSIX locks) or the open file
    /// description (OFD locks).
    pub owner: O,
    /// The pid F_GETLK reports (Linux's `fl_pid`: the locking process,
    /// -1 for an OFD lock).
    pub pid: i32,
    /// Read or write.
    pub kind: Kind,
    /// The bytes it covers.
    pub range: Range,
}

/// Why a [`LockTable::set`] did not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetError<O> {
    /// Another owner holds a conflicting lock: this one, the first in the
    /// table's order. `F_SETLK` fails with `EAGAIN`; `F_SETLKW` sleeps and
    /// tries again when the table changes.
    Blocked(Lock<O>),
    /// Memory for the split of a lock could not be had (`ENOLCK`).
    NoMemory,
}

impl<O> SetError<O> {
    /// The errno of a non-blocking request: `EAGAIN` for a conflict,
    /// `ENOLCK` for memory.
    pub fn errno(&self) -> linux_abi::Errno {
        match self {
            SetError::Blocked(_) => linux_abi::Errno::EAGAIN,
            SetError::NoMemory => linux_abi::Errno::ENOLCK,
        }
    }
}

/// The byte-range locks of one file (Linux's `flc_posix` list of an inode's
/// `file_lock_context`), generic over the owner type.
///
/// The order is Linux's: the locks of one owner are together, sorted by
/// start, and an owner with no lock yet goes to the end; so
/// [`test`](Self::test) finds the same first conflict as Linux's
/// `posix_test_lock`. An owner's locks never overlap, and two of the same
/// kind never touch: [`set`](Self::set) merges them as `posix_lock_inode`.
#[derive(Clone, Debug)]
pub struct LockTable<O> {
    locks: Vec<Lock<O>>,
}

impl<O> Default for LockTable<O> {
    fn default() -> Self {
        LockTable { locks: Vec::new() }
    }
}

impl<O: Clone + Eq> LockTable<O> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no lock is held.
    pub fn is_empty(&self) -> bool {
        self.locks.is_empty()
    }

    /// The held locks in the table's order.
    pub fn locks(&self) -> &[Lock<O>] {
        &self.locks
    }

    /// F_GETLK: the first lock of another owner that conflicts with a lock
    /// of `kind` on `range` by `owner`, if any.
    pub fn test(&self, owner: &O, kind: Kind, range: Range) -> Option<&Lock<O>> {
        self.locks.iter().find(|l| l.owner != *owner && l.range.overlaps(&range) && l.kind.conflicts(kind))
    }

    /// F_SETLK: `owner` takes a lock of `kind` on `range` (`None`: unlocks
    /// the range), with `pid` to report. The owner's own locks are
    /// replaced where they overlap (upgrade, downgrade, an unlock in the
    /// middle splits one in two) and merged with the new one where they
    /// are of the same kind and overlap or touch. Unlocking what is not
    /// locked is no error. Nothing changes on an error.
    pub fn set(&mut self, owner: &O, pid: i32, kind: Option<Kind>, range: Range) -> Result<(), SetError<O>> {
        if let Some(k) = kind
            && let Some(b) = self.test(owner, k, range)
        {
            return Err(SetError::Blocked(b.clone()));
        }
        // where the owner's locks are (together), or the end for a new owner
        let first = self.locks.iter().position(|l| l.owner == *owner);
        let (lo, hi) = match first {
            Some(f) => {
                let n = self.locks[f..].iter().take_while(|l| l.owner == *owner).count();
                (f, f + n)
            }
            None => (self.locks.len(), self.locks.len()),
        };
        let mut mine: Vec<Lock<O>> = Vec::new();
        // at most two more than before: a lock split around the new one
        mine.try_reserve(hi - lo + 2).map_err(|_| SetError::NoMemory)?;
        let mut new = kind.map(|k| Lock { owner: owner.clone(), pid, kind: k, range });
        for l in &self.locks[lo..hi] {
            match &mut new {
                Some(n) if n.kind == l.kind && l.range.touches(&n.range) => {
                    // merge into the new lock
                    n.range.start = n.range.start.min(l.range.start);
                    n.range.end = n.range.end.max(l.range.end);
                }
                _ if l.range.overlaps(&range) => {
                    // the parts outside the request stay
                    if l.range.start < range.start {
                        mine.push(Lock {
                            range: Range { start: l.range.start, end: range.start - 1 },
                            ..l.clone()
                        });
                    }
                    if l.range.end > range.end {
                        mine.push(Lock {
                            range: Range { start: range.end + 1, end: l.range.end },
                            ..l.clone()
                        });
                    }
                }
                _ => mine.push(l.clone()),
            }
        }
        if let Some(n) = new {
            mine.push(n);
        }
        mine.sort_by_key(|l| l.range.start);
        let grow = mine.len().saturating_sub(hi - lo);
        self.locks.try_reserve(grow).map_err(|_| SetError::NoMemory)?;
        self.locks.splice(lo..hi, mine);
        Ok(())
    }

    /// Removes every lock of `owner` (a close by the process, the last
    /// close of an open file description); whether there was one.
    pub fn release(&mut self, owner: &O) -> bool {
        let before = self.locks.len();
        self.locks.retain(|l| l.owner != *owner);
        self.locks.len() != before
    }

    /// Removes the locks whose owner `gone` says no longer exists; whether
    /// there was one.
    pub fn release_where(&mut self, mut gone: impl FnMut(&O) -> bool) -> bool {
        let before = self.locks.len();
        self.locks.retain(|l| !gone(&l.owner));
        self.locks.len() != before
    }
}
