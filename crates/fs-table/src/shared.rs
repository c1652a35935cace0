//! [`SharedFileTable`]: the handle a task holds on its descriptor table, for
//! `CLONE_FILES` sharing, fork copies and unshare.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use linux_abi::Result;
use lock_api::{Mutex, MutexGuard, RawMutex};

use crate::table::{FileTable, Reserved, check_close_range};
use crate::{CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE, DefaultLock};

/// How many times [`SharedFileTable::fork_in_steps`] starts again after a
/// change before it copies the table in one step.
pub const FORK_RETRIES: usize = 4;

/// How many descriptor slots [`SharedFileTable::fork_in_steps`] copies per
/// step when the kernel has no better figure.
pub const FORK_STEP_FDS: usize = 4096;

/// The locked table and an empty copy with room for it
/// ([`SharedFileTable::lock_with_room`]).
type LockedWithRoom<'a, F, R> = (MutexGuard<'a, R, FileTable<F>>, FileTable<F>);

/// A task's handle on a [`FileTable`] that other tasks may share
/// (`CLONE_FILES`): an `Arc<lock_api::Mutex<R, FileTable<F>>>`, `R` the
/// kernel's raw lock ([`DefaultLock`], a spin lock, unless it says).
///
/// [`share`](Self::share) gives another handle on the same table (clone(2)
/// with `CLONE_FILES`); [`fork`](Self::fork) gives a handle on a copy
/// (without `CLONE_FILES`); [`unshare`](Self::unshare) moves this handle to a
/// private copy (unshare(2) `CLONE_FILES`, and execve(2)).
///
/// Lock order: the table's lock is a leaf; take no other lock while holding
/// it, and drop the files that operations return after releasing it.
pub struct SharedFileTable<F: ?Sized, R: RawMutex = DefaultLock> {
    inner: Arc<Mutex<R, FileTable<F>>>,
}

impl<F: ?Sized, R: RawMutex> Default for SharedFileTable<F, R> {
    fn default() -> Self {
        Self::with_lock(FileTable::new())
    }
}

impl<F: ?Sized, R: RawMutex> core::fmt::Debug for SharedFileTable<F, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedFileTable")
            .field("owners", &Arc::strong_count(&self.inner))
            .finish_non_exhaustive()
    }
}

impl<F: ?Sized> SharedFileTable<F> {
    /// A handle on `table`, its only owner, behind a [`DefaultLock`].
    pub fn new(table: FileTable<F>) -> Self {
        Self::with_lock(table)
    }
}

impl<F: ?Sized, R: RawMutex> SharedFileTable<F, R> {
    /// A handle on `table`, its only owner, behind the lock type `R`.
    pub fn with_lock(table: FileTable<F>) -> Self {
        Self { inner: Arc::new(Mutex::new(table)) }
    }

    /// Locks the table. The guard reads the table and makes the changes
    /// that close nothing; what closes files (close, dup2, dup3,
    /// close_range, the close-on-exec sweep) is a method of the handle,
    /// which releases the lock before it returns the closed files, so they
    /// are never dropped under it.
    pub fn lock(&self) -> FileTableGuard<'_, F, R> {
        FileTableGuard(self.inner.lock())
    }

    /// close(2) through this handle: the closed file, returned after the
    /// table lock is released (drop it with no lock held). `EBADF` when
    /// `fd` is not open.
    pub fn close(&self, fd: u32) -> Result<Arc<F>> {
        self.inner.lock().close(fd)
    }

    /// dup2(2) through this handle (see [`FileTable::dup2`]): the file that
    /// was open at `newfd`, returned after the table lock is released.
    pub fn dup2(&self, oldfd: u32, newfd: u32, nofile: u64) -> Result<Option<Arc<F>>> {
        self.inner.lock().dup2(oldfd, newfd, nofile)
    }

    /// dup3(2) through this handle (see [`FileTable::dup3`]): the file that
    /// was open at `newfd`, returned after the table lock is released.
    pub fn dup3(&self, oldfd: u32, newfd: u32, flags: u32, nofile: u64) -> Result<Option<Arc<F>>> {
        self.inner.lock().dup3(oldfd, newfd, flags, nofile)
    }

    /// execve(2)'s close-on-exec sweep through this handle (see
    /// [`FileTable::close_on_exec`]): the closed files, returned after the
    /// table lock is released.
    pub fn close_on_exec(&self) -> Vec<Arc<F>> {
        self.inner.lock().close_on_exec()
    }

    /// Another handle on the same table (`CLONE_FILES`): an open, a close or
    /// a flag change through either handle is seen through the other.
    pub fn share(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }

    /// A handle on a copy of the table (fork(2), clone(2) without
    /// `CLONE_FILES`); later changes to either are not seen by the other.
    /// The copy's memory is allocated with the lock released (see
    /// [`fork_in_steps`](Self::fork_in_steps)). `ENOMEM` when memory runs
    /// out.
    pub fn fork(&self) -> Result<Self> {
        let (table, mut copy) = self.lock_with_room()?;
        table.copy_except_into(&mut copy, 1, 0);
        drop(table);
        Ok(Self::with_lock(copy))
    }

    /// Locks the table and returns it with an empty table that has room
    /// for a copy of it, allocated with the lock released (Linux's
    /// `dup_fd`: the size is read under the lock, the lock dropped for the
    /// allocation, and the size checked again once it is taken back). The
    /// first [`FORK_RETRIES`] tries size the copy for the highest slot in
    /// use; later ones for the table's capacity, which only grows (by
    /// doubling, up to [`NR_OPEN`](crate::NR_OPEN)), so the loop ends.
    fn lock_with_room(&self) -> Result<LockedWithRoom<'_, F, R>> {
        let mut need = self.inner.lock().copy_room();
        let mut tries = 0;
        loop {
            let copy = FileTable::with_room(need)?;
            let table = self.inner.lock();
            let now = table.copy_room();
            if now <= copy.capacity() {
                return Ok((table, copy));
            }
            tries += 1;
            need = if tries < FORK_RETRIES { now } else { table.capacity() };
            // the empty copy is freed after the lock
            drop(table);
            drop(copy);
        }
    }

    /// As [`fork`](Self::fork), copying at most `step` descriptor slots
    /// under one hold of the lock and calling `between` with the lock
    /// released between two steps (a kernel's preemption point: a table of
    /// up to [`NR_OPEN`](crate::NR_OPEN) descriptors is not copied in one
    /// go). Nothing whose size grows with the table is allocated under the
    /// lock. If another handle changed the table meanwhile, the copy starts
    /// again, at most [`FORK_RETRIES`] times, then is made in one step.
    /// `ENOMEM` when memory runs out.
    pub fn fork_in_steps(&self, step: usize, between: &mut dyn FnMut()) -> Result<Self> {
        let step = step.max(1);
        for _ in 0..FORK_RETRIES {
            let (mut copy, generation, mut at) = {
                let (table, mut copy) = self.lock_with_room()?;
                let at = table.copy_step(&mut copy, 0, step);
                (copy, table.generation(), at)
            };
            loop {
                if at == usize::MAX {
                    return Ok(Self::with_lock(copy));
                }
                between();
                let table = self.inner.lock();
                if table.generation() != generation {
                    break;
                }
                at = table.copy_step(&mut copy, at, step);
            }
            // changed meanwhile: the partial copy goes (after the lock)
            drop(copy);
        }
        self.fork()
    }

    /// Unit tests: whether the table's lock is held.
    #[cfg(test)]
    pub(crate) fn is_locked(&self) -> bool {
        self.inner.is_locked()
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
    pub fn downgrade(&self) -> WeakFileTable<F, R> {
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
                let (table, mut copy) = self.lock_with_room()?;
                if flags & CLOSE_RANGE_CLOEXEC != 0 {
                    table.copy_except_into(&mut copy, 1, 0);
                } else {
                    table.copy_except_into(&mut copy, first, last);
                }
                copy
            };
            *self = Self::with_lock(copy);
        }
        self.inner.lock().close_range(first, last, flags)
    }
}

/// The lock on a [`SharedFileTable`]'s table ([`SharedFileTable::lock`]):
/// derefs to the [`FileTable`] for reading and forwards the changes that
/// close no descriptor. Closing goes through the handle, so no closed file
/// can be dropped while this guard is held.
pub struct FileTableGuard<'a, F: ?Sized, R: RawMutex = DefaultLock>(MutexGuard<'a, R, FileTable<F>>);

impl<F: ?Sized, R: RawMutex> core::ops::Deref for FileTableGuard<'_, F, R> {
    type Target = FileTable<F>;
    fn deref(&self) -> &FileTable<F> {
        &self.0
    }
}

impl<F: ?Sized, R: RawMutex> FileTableGuard<'_, F, R> {
    /// [`FileTable::insert`]. On an error `file` is dropped under the lock:
    /// keep another reference to it (or use [`reserve`](Self::reserve)) if
    /// its drop may take locks.
    pub fn insert(&mut self, file: Arc<F>, cloexec: bool, nofile: u64) -> Result<u32> {
        self.0.insert(file, cloexec, nofile)
    }

    /// [`FileTable::reserve`].
    pub fn reserve(&mut self, cloexec: bool, nofile: u64) -> Result<Reserved> {
        self.0.reserve(cloexec, nofile)
    }

    /// [`FileTable::install`].
    pub fn install(&mut self, reserved: Reserved, file: Arc<F>) -> core::result::Result<u32, Arc<F>> {
        self.0.install(reserved, file)
    }

    /// [`FileTable::unreserve`].
    pub fn unreserve(&mut self, reserved: Reserved) {
        self.0.unreserve(reserved)
    }

    /// [`FileTable::dup`].
    pub fn dup(&mut self, oldfd: u32, nofile: u64) -> Result<u32> {
        self.0.dup(oldfd, nofile)
    }

    /// [`FileTable::dupfd`] (fcntl `F_DUPFD` / `F_DUPFD_CLOEXEC`).
    pub fn dupfd(&mut self, oldfd: u32, min: u32, cloexec: bool, nofile: u64) -> Result<u32> {
        self.0.dupfd(oldfd, min, cloexec, nofile)
    }

    /// [`FileTable::set_fd_flags`] (fcntl `F_SETFD`).
    pub fn set_fd_flags(&mut self, fd: u32, flags: u32) -> Result<()> {
        self.0.set_fd_flags(fd, flags)
    }
}

/// A weak handle on a [`SharedFileTable`] (see
/// [`SharedFileTable::downgrade`]).
pub struct WeakFileTable<F: ?Sized, R: RawMutex = DefaultLock> {
    inner: Weak<Mutex<R, FileTable<F>>>,
}

impl<F: ?Sized, R: RawMutex> Clone for WeakFileTable<F, R> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

impl<F: ?Sized, R: RawMutex> core::fmt::Debug for WeakFileTable<F, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WeakFileTable").finish_non_exhaustive()
    }
}

impl<F: ?Sized, R: RawMutex> WeakFileTable<F, R> {
    /// A weak handle on nothing: [`upgrade`](Self::upgrade) gives `None`.
    pub fn none() -> Self {
        Self { inner: Weak::new() }
    }

    /// A handle on the table while some [`SharedFileTable`] still holds it.
    pub fn upgrade(&self) -> Option<SharedFileTable<F, R>> {
        self.inner.upgrade().map(|inner| SharedFileTable { inner })
    }
}
