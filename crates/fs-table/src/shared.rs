//! [`SharedFileTable`]: the handle a task holds on its descriptor table, for
//! `CLONE_FILES` sharing, fork copies and unshare; [`FileTableCache`], a
//! thread's own reference to it for its system calls.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use linux_abi::{Errno, Result};
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
///
/// The handles are counted apart from the references to the table
/// ([`is_shared`](Self::is_shared) is that count, not the `Arc`'s): a
/// [`FileTableCache`] or a [`WeakFileTable`] is no owner. When the last
/// handle goes, the table is emptied at once (its files returned to their
/// last owners' drops, Linux's `exit_files()`) and closed: caches still
/// pointing at it see `EBADF` from then on.
pub struct SharedFileTable<F: ?Sized, R: RawMutex = DefaultLock> {
    inner: Arc<Inner<F, R>>,
}

/// What the handles, the caches and the weak handles point at.
struct Inner<F: ?Sized, R: RawMutex> {
    /// The [`SharedFileTable`] handles on the table. It only grows from a
    /// count above zero (a share, an upgrade), so once zero the table is
    /// closed for good.
    owners: AtomicUsize,
    /// Set under the table's lock when the last handle went (the table is
    /// empty then); read under the lock by the caches, so nothing is
    /// installed in a table no handle holds.
    closed: AtomicBool,
    table: Mutex<R, FileTable<F>>,
}

impl<F: ?Sized, R: RawMutex> Inner<F, R> {
    /// Locks the table unless it is closed (`EBADF`).
    fn lock_open(&self) -> Result<MutexGuard<'_, R, FileTable<F>>> {
        let g = self.table.lock();
        // written under this lock: the lock orders it
        if self.closed.load(Ordering::Relaxed) {
            return Err(Errno::EBADF);
        }
        Ok(g)
    }
}

impl<F: ?Sized, R: RawMutex> Drop for SharedFileTable<F, R> {
    fn drop(&mut self) {
        // AcqRel: the last owner sees every other owner's changes
        if self.inner.owners.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // The last handle: close the table and empty it; its files are
        // dropped after the lock (their drops may take locks).
        let files = {
            let mut g = self.inner.table.lock();
            self.inner.closed.store(true, Ordering::Relaxed);
            g.take_files_of_closed()
        };
        drop(files);
    }
}

impl<F: ?Sized, R: RawMutex> Default for SharedFileTable<F, R> {
    fn default() -> Self {
        Self::with_lock(FileTable::new())
    }
}

impl<F: ?Sized, R: RawMutex> core::fmt::Debug for SharedFileTable<F, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedFileTable")
            .field("owners", &self.inner.owners.load(Ordering::Relaxed))
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
        Self {
            inner: Arc::new(Inner {
                owners: AtomicUsize::new(1),
                closed: AtomicBool::new(false),
                table: Mutex::new(table),
            }),
        }
    }

    /// Locks the table. The guard reads the table and makes the changes
    /// that close nothing; what closes files (close, dup2, dup3,
    /// close_range, the close-on-exec sweep) is a method of the handle,
    /// which releases the lock before it returns the closed files, so they
    /// are never dropped under it.
    pub fn lock(&self) -> FileTableGuard<'_, F, R> {
        FileTableGuard(self.inner.table.lock())
    }

    /// close(2) through this handle: the closed file, returned after the
    /// table lock is released (drop it with no lock held). `EBADF` when
    /// `fd` is not open.
    pub fn close(&self, fd: u32) -> Result<Arc<F>> {
        self.inner.table.lock().close(fd)
    }

    /// dup2(2) through this handle (see [`FileTable::dup2`]): the file that
    /// was open at `newfd`, returned after the table lock is released.
    pub fn dup2(&self, oldfd: u32, newfd: u32, nofile: u64) -> Result<Option<Arc<F>>> {
        self.inner.table.lock().dup2(oldfd, newfd, nofile)
    }

    /// dup3(2) through this handle (see [`FileTable::dup3`]): the file that
    /// was open at `newfd`, returned after the table lock is released.
    pub fn dup3(&self, oldfd: u32, newfd: u32, flags: u32, nofile: u64) -> Result<Option<Arc<F>>> {
        self.inner.table.lock().dup3(oldfd, newfd, flags, nofile)
    }

    /// execve(2)'s close-on-exec sweep through this handle (see
    /// [`FileTable::close_on_exec`]): the closed files, returned after the
    /// table lock is released.
    pub fn close_on_exec(&self) -> Vec<Arc<F>> {
        self.inner.table.lock().close_on_exec()
    }

    /// Another handle on the same table (`CLONE_FILES`): an open, a close or
    /// a flag change through either handle is seen through the other.
    pub fn share(&self) -> Self {
        // a handle is there, so the count is above zero (as Arc::clone)
        self.inner.owners.fetch_add(1, Ordering::Relaxed);
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
        let mut need = self.inner.table.lock().copy_room();
        let mut tries = 0;
        loop {
            let copy = FileTable::with_room(need)?;
            let table = self.inner.table.lock();
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
                let table = self.inner.table.lock();
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
        self.inner.table.is_locked()
    }

    /// Whether another handle shares this table (caches and weak handles
    /// do not count).
    pub fn is_shared(&self) -> bool {
        self.inner.owners.load(Ordering::Acquire) > 1
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

    /// A thread's cache of this table ([`FileTableCache`]): it reaches the
    /// table without touching a reference count, and it is no owner.
    pub fn cache(&self) -> FileTableCache<F, R> {
        FileTableCache { inner: Some(Arc::clone(&self.inner)) }
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
        self.inner.table.lock().close_range(first, last, flags)
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
    inner: Weak<Inner<F, R>>,
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
        owner_of(self.inner.upgrade()?)
    }
}

/// A new owner of the table behind `inner` unless its last owner has gone
/// (the count never leaves zero: a closed table stays closed).
fn owner_of<F: ?Sized, R: RawMutex>(inner: Arc<Inner<F, R>>) -> Option<SharedFileTable<F, R>> {
    let mut n = inner.owners.load(Ordering::Relaxed);
    loop {
        if n == 0 {
            return None;
        }
        match inner.owners.compare_exchange_weak(n, n + 1, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => return Some(SharedFileTable { inner }),
            Err(now) => n = now,
        }
    }
}

/// A thread's own reference to its descriptor table, for its system calls
/// ([`SharedFileTable::cache`]): Linux's `current->files` read without a
/// reference taken (`fdget()` on a table that is not shared).
///
/// It keeps the table's memory (not its files) and is no owner:
/// [`SharedFileTable::is_shared`] does not count it, so unshare(2) and
/// execve(2) copy only a table another thread really shares. Once the last
/// [`SharedFileTable`] has gone (the thread's record dropped its handle:
/// exit, or another thread's execve removing it) the table is empty and
/// every call through the cache fails with `EBADF`, checked under the
/// table's lock, so nothing is installed in a table nobody holds.
///
/// The owner of the cache refreshes it where its thread's handle changes
/// (a new thread, unshare(2), execve(2)): a stale cache sees the table its
/// thread no longer uses.
pub struct FileTableCache<F: ?Sized, R: RawMutex = DefaultLock> {
    inner: Option<Arc<Inner<F, R>>>,
}

impl<F: ?Sized, R: RawMutex> core::fmt::Debug for FileTableCache<F, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FileTableCache").field("none", &self.inner.is_none()).finish_non_exhaustive()
    }
}

impl<F: ?Sized, R: RawMutex> Default for FileTableCache<F, R> {
    fn default() -> Self {
        Self::none()
    }
}

impl<F: ?Sized, R: RawMutex> FileTableCache<F, R> {
    /// A cache of no table: every call is `EBADF`.
    pub const fn none() -> Self {
        Self { inner: None }
    }

    fn open(&self) -> Result<MutexGuard<'_, R, FileTable<F>>> {
        self.inner.as_ref().ok_or(Errno::EBADF)?.lock_open()
    }

    /// Locks the table, as [`SharedFileTable::lock`]; `EBADF` when it is
    /// closed (its last handle gone) or this cache is of none.
    pub fn lock(&self) -> Result<FileTableGuard<'_, F, R>> {
        self.open().map(FileTableGuard)
    }

    /// The open file behind `fd` (`EBADF`): one lock, one reference taken
    /// (the file's).
    #[inline]
    pub fn get(&self, fd: u32) -> Result<Arc<F>> {
        self.open()?.get(fd)
    }

    /// close(2), as [`SharedFileTable::close`].
    pub fn close(&self, fd: u32) -> Result<Arc<F>> {
        self.open()?.close(fd)
    }

    /// dup2(2), as [`SharedFileTable::dup2`].
    pub fn dup2(&self, oldfd: u32, newfd: u32, nofile: u64) -> Result<Option<Arc<F>>> {
        self.open()?.dup2(oldfd, newfd, nofile)
    }

    /// dup3(2), as [`SharedFileTable::dup3`].
    pub fn dup3(&self, oldfd: u32, newfd: u32, flags: u32, nofile: u64) -> Result<Option<Arc<F>>> {
        self.open()?.dup3(oldfd, newfd, flags, nofile)
    }

    /// close_range(2) without `CLOSE_RANGE_UNSHARE` (`EINVAL` with it: the
    /// unshare replaces the thread's handle, which its owner does, then
    /// calls this), closing or marking the range in the table as it is; the
    /// closed files are returned.
    pub fn close_range(&self, first: u32, last: u32, flags: u32) -> Result<Vec<Arc<F>>> {
        check_close_range(first, last, flags)?;
        if flags & CLOSE_RANGE_UNSHARE != 0 {
            return Err(Errno::EINVAL);
        }
        self.open()?.close_range(first, last, flags)
    }

    /// Whether this caches the table of `handle`.
    pub fn is_of(&self, handle: &SharedFileTable<F, R>) -> bool {
        self.inner.as_ref().is_some_and(|i| Arc::ptr_eq(i, &handle.inner))
    }

    /// A new owner of the table (a [`SharedFileTable`]) unless it is
    /// closed: for what must keep the table itself (a pidfd_getfd of a
    /// thread's table, say), not for a system call's own use.
    pub fn upgrade(&self) -> Option<SharedFileTable<F, R>> {
        owner_of(Arc::clone(self.inner.as_ref()?))
    }
}
