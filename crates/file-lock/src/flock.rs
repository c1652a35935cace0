//! flock(2)'s whole-file locks of one file.

use alloc::vec::Vec;

use crate::posix::Kind;

/// What a [`FlockTable::lock`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Flocked {
    /// Whether a lock of the owner went away (an unlock, or the old lock of
    /// a conversion): the file's waiters should look again.
    pub released: bool,
}

/// Why a [`FlockTable::lock`] did not take the lock.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlockBlocked {
    /// Whether the owner's old lock was dropped on the way (Linux drops
    /// it before it looks for conflicts, so a conversion that must wait
    /// leaves the owner with no lock).
    pub released: bool,
}

/// The flock(2) locks of one file (Linux's `flc_flock` list), generic over
/// the owner, which is the open file description: one lock per owner,
/// shared or exclusive, over the whole file. flock locks and byte-range
/// locks do not see each other.
#[derive(Clone, Debug)]
pub struct FlockTable<O> {
    locks: Vec<(O, Kind)>,
}

impl<O> Default for FlockTable<O> {
    fn default() -> Self {
        FlockTable { locks: Vec::new() }
    }
}

impl<O: Clone + Eq> FlockTable<O> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no lock is held.
    pub fn is_empty(&self) -> bool {
        self.locks.is_empty()
    }

    /// The held locks, oldest first.
    pub fn locks(&self) -> &[(O, Kind)] {
        &self.locks
    }

    /// The lock `owner` holds.
    pub fn held(&self, owner: &O) -> Option<Kind> {
        self.locks.iter().find(|(o, _)| o == owner).map(|(_, k)| *k)
    }

    /// flock(2) for `owner`: `Some(kind)` for LOCK_SH/LOCK_EX, `None` for
    /// LOCK_UN, as Linux's `flock_lock_inode`: asking for the kind already
    /// held does nothing; another kind drops the old lock first, then
    /// looks for a conflict (another owner's lock, one of the two
    /// exclusive). `Err` is "would block" (`EWOULDBLOCK` with LOCK_NB,
    /// else sleep and try again); `ENOLCK` is `Err` of the outer result.
    #[allow(clippy::type_complexity)]
    pub fn lock(
        &mut self,
        owner: &O,
        kind: Option<Kind>,
    ) -> Result<Result<Flocked, FlockBlocked>, linux_abi::Errno> {
        // room first: a conversion that fails for memory keeps the old lock
        // (dropped, it would need a wake-up nobody would send)
        if kind.is_some() {
            self.locks.try_reserve(1).map_err(|_| linux_abi::Errno::ENOLCK)?;
        }
        let mut released = false;
        if let Some(i) = self.locks.iter().position(|(o, _)| o == owner) {
            if Some(self.locks[i].1) == kind {
                return Ok(Ok(Flocked { released: false }));
            }
            self.locks.remove(i);
            released = true;
        }
        let Some(kind) = kind else { return Ok(Ok(Flocked { released })) };
        if self.locks.iter().any(|(_, k)| k.conflicts(kind)) {
            return Ok(Err(FlockBlocked { released }));
        }
        self.locks.push((owner.clone(), kind));
        Ok(Ok(Flocked { released }))
    }

    /// Removes the lock of `owner` (the last close of the open file
    /// description); whether there was one.
    pub fn release(&mut self, owner: &O) -> bool {
        self.release_where(|o| o == owner)
    }

    /// Removes the locks whose owner `gone` says no longer exists; whether
    /// there was one.
    pub fn release_where(&mut self, mut gone: impl FnMut(&O) -> bool) -> bool {
        let before = self.locks.len();
        self.locks.retain(|(o, _)| !gone(o));
        self.locks.len() != before
    }
}
