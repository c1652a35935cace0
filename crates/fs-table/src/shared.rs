//! [`SharedFileTable`]: the handle a task holds on its descriptor table, for
//! `CLONE_FILES` sharing, fork copies and unshare.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use linux_abi::Result;
use spin::{Mutex, MutexGuard};

use crate::table::{FileTable, check_close_range};
use crate::{CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE};

/// A task's handle on a [`FileTable`] that other tasks may share
/// (`CLONE_FILES`): an `Arc<spin::Mutex<FileTable<F>>>`.
///
/// [`share`](Self::share) gives another handle on the same table (clone(2)
/// with `CLONE_FILES`); [`fork`](Self::fork) gives a handle on a copy
/// (without `CLONE_FILES`); [`unshare`](Self::unshare) moves this handle to a
/// private copy (unshare(2) `CLONE_FILES`, and execve(2)).
///
/// Lock order: the table's lock is a leaf; take no other lock while holding
/// it, and drop the files that operations return after releasing it.
pub struct SharedFileTable<F: ?Sized> {
    inner: Arc<Mutex<FileTable<F>>>,
}

impl<F: ?Sized> Default for SharedFileTable<F> {
    fn default() -> Self {
        Self::new(FileTable::new())
    }
}

impl<F: ?Sized> core::fmt::Debug for SharedFileTable<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedFileTable")
            .field("owners", &Arc::strong_count(&self.inner))
            .finish_non_exhaustive()
    }
}

impl<F: ?Sized> SharedFileTable<F> {
    /// A handle on `table`, its only owner.
    pub fn new(table: FileTable<F>) -> Self {
        Self { inner: Arc::new(Mutex::new(table)) }
    }

    /// Locks the table.
    pub fn lock(&self) -> MutexGuard<'_, FileTable<F>> {
        self.inner.lock()
    }

    /// Another handle on the same table (`CLONE_FILES`): an open, a close or
    /// a flag change through either handle is seen through the other.
    pub fn share(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }

    /// A handle on a copy of the table (fork(2), clone(2) without
    /// `CLONE_FILES`); later changes to either are not seen by the other.
    /// `ENOMEM` when memory runs out.
    pub fn fork(&self) -> Result<Self> {
        let copy = self.lock().try_clone()?;
        Ok(Self::new(copy))
    }

    /// Whether another handle shares this table.
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.inner) > 1
    }

    /// Whether two handles refer to the same table.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// A weak handle on the same table: it does not keep the table alive
    /// and does not count as an owner for [`is_shared`](Self::is_shared)
    /// (a per-thread cache of the table holds one).
    pub fn downgrade(&self) -> WeakFileTable<F> {
        WeakFileTable { inner: Arc::downgrade(&self.inner) }
    }

    /// unshare(2) `CLONE_FILES` (and the first step of execve(2)): if the
    /// table is shared, this handle moves to a private copy of it; the other
    /// handles keep the original. `ENOMEM` when memory runs out.
    pub fn unshare(&mut self) -> Result<()> {
        if self.is_shared() {
            *self = self.fork()?;
        }
        Ok(())
    }

    /// close_range(2) through this handle, closing or (`CLOSE_RANGE_CLOEXEC`)
    /// marking the open descriptors from `first` to `last` inclusive; returns
    /// the closed files, to drop after the call.
    ///
    /// `EINVAL` for an unknown flag or `first > last`. With
    /// `CLOSE_RANGE_UNSHARE` and a shared table, this handle first moves to a
    /// private copy: without `CLOSE_RANGE_CLOEXEC` the copy leaves the range
    /// out (Linux's `dup_fd` with a punched hole, so nothing is returned and
    /// the other owners keep those descriptors); with it, the copy is whole
    /// and the range is marked in the copy only. `ENOMEM` when the copy
    /// cannot be made.
    pub fn close_range(&mut self, first: u32, last: u32, flags: u32) -> Result<Vec<Arc<F>>> {
        check_close_range(first, last, flags)?;
        if flags & CLOSE_RANGE_UNSHARE != 0 && self.is_shared() {
            let copy = {
                let table = self.lock();
                if flags & CLOSE_RANGE_CLOEXEC != 0 {
                    table.try_clone()?
                } else {
                    table.copy_except(first, last)?
                }
            };
            *self = Self::new(copy);
        }
        self.lock().close_range(first, last, flags)
    }
}

/// A weak handle on a [`SharedFileTable`] (see
/// [`SharedFileTable::downgrade`]).
pub struct WeakFileTable<F: ?Sized> {
    inner: Weak<Mutex<FileTable<F>>>,
}

impl<F: ?Sized> Clone for WeakFileTable<F> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

impl<F: ?Sized> core::fmt::Debug for WeakFileTable<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WeakFileTable").finish_non_exhaustive()
    }
}

impl<F: ?Sized> WeakFileTable<F> {
    /// A weak handle on nothing: [`upgrade`](Self::upgrade) gives `None`.
    pub fn none() -> Self {
        Self { inner: Weak::new() }
    }

    /// A handle on the table while some [`SharedFileTable`] still holds it.
    pub fn upgrade(&self) -> Option<SharedFileTable<F>> {
        self.inner.upgrade().map(|inner| SharedFileTable { inner })
    }
}
