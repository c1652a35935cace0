//! [`FsContext`]: root, working directory and umask (Linux's `fs_struct`),
//! [`SharedFsContext`], the handle shared under `CLONE_FS`, and
//! [`FsContextCache`], a thread's own reference to it for its system calls.

use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicUsize, Ordering};

use lock_api::{Mutex, MutexGuard, RawMutex};

use crate::DefaultLock;

/// The permission bits a umask keeps (`S_IRWXUGO`).
pub const S_IRWXUGO: u32 = 0o777;

/// The umask of the first process (Linux's `INIT_FS`): 0o022.
pub const DEFAULT_UMASK: u32 = 0o022;

/// A task's filesystem context, Linux's `fs_struct`: the root directory
/// (chroot(2)), the working directory (chdir(2)) and the file mode creation
/// mask (umask(2)), kept together because `CLONE_FS` shares all three.
///
/// Generic over the directory handle `D`, the kernel's own VFS path type
/// (typically a cheap `Clone`, such as an `Arc` of a dentry and mount).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsContext<D> {
    root: D,
    cwd: D,
    umask: u32,
}

impl<D> FsContext<D> {
    /// A context with the given root and working directory and the umask
    /// [`DEFAULT_UMASK`].
    pub fn new(root: D, cwd: D) -> Self {
        Self { root, cwd, umask: DEFAULT_UMASK }
    }

    /// The root directory, where absolute paths start.
    pub fn root(&self) -> &D {
        &self.root
    }

    /// The working directory, where relative paths start.
    pub fn cwd(&self) -> &D {
        &self.cwd
    }

    /// Sets the root directory (chroot(2), which leaves the working
    /// directory alone) and returns the old one, to drop outside the lock.
    pub fn set_root(&mut self, root: D) -> D {
        core::mem::replace(&mut self.root, root)
    }

    /// Sets the working directory (chdir(2), fchdir(2)) and returns the old
    /// one, to drop outside the lock.
    pub fn set_cwd(&mut self, cwd: D) -> D {
        core::mem::replace(&mut self.cwd, cwd)
    }

    /// The file mode creation mask.
    pub fn umask(&self) -> u32 {
        self.umask
    }

    /// umask(2): sets the mask to `mask & 0o777` and returns the previous
    /// mask. It always succeeds.
    pub fn set_umask(&mut self, mask: u32) -> u32 {
        core::mem::replace(&mut self.umask, mask & S_IRWXUGO)
    }

    /// The mode a new file gets from the `mode` asked for: `mode & !umask`
    /// (for filesystems without default POSIX ACLs).
    pub fn apply_umask(&self, mode: u32) -> u32 {
        mode & !self.umask
    }
}

/// A locked [`FsContext`] ([`SharedFsContext::lock`],
/// [`FsContextCache::lock`]).
pub type FsContextGuard<'a, D, R = DefaultLock> = MutexGuard<'a, R, FsContext<D>>;

/// A task's handle on an [`FsContext`] that other tasks may share
/// (`CLONE_FS`): an `Arc<lock_api::Mutex<R, FsContext<D>>>`, `R` the
/// kernel's raw lock ([`DefaultLock`], a spin lock, unless it says).
///
/// The handles are counted apart from the references to the context
/// ([`is_shared`](Self::is_shared) is that count, not the `Arc`'s): a
/// [`FsContextCache`] or a [`WeakFsContext`] is no owner, so unshare(2)
/// `CLONE_FS` copies only a context another task really shares (Linux's
/// `fs_struct.users`).
///
/// Lock order: a leaf lock; drop the directories that setters return after
/// releasing it.
pub struct SharedFsContext<D, R: RawMutex = DefaultLock> {
    inner: Arc<Inner<D, R>>,
}

/// What the handles, the caches and the weak handles point at.
struct Inner<D, R: RawMutex> {
    /// The [`SharedFsContext`] handles on the context. It only grows from a
    /// count above zero (a share, an upgrade), so once zero no handle on
    /// the context is made again.
    owners: AtomicUsize,
    fs: Mutex<R, FsContext<D>>,
}

impl<D, R: RawMutex> Drop for SharedFsContext<D, R> {
    fn drop(&mut self) {
        // Release: a later owner count read (is_shared, Acquire) sees
        // what this handle did before it went
        self.inner.owners.fetch_sub(1, Ordering::Release);
    }
}

impl<D, R: RawMutex> core::fmt::Debug for SharedFsContext<D, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedFsContext")
            .field("owners", &self.inner.owners.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<D> SharedFsContext<D> {
    /// A handle on `fs`, its only owner, behind a [`DefaultLock`].
    pub fn new(fs: FsContext<D>) -> Self {
        Self::with_lock(fs)
    }
}

impl<D, R: RawMutex> SharedFsContext<D, R> {
    /// A handle on `fs`, its only owner, behind the lock type `R`.
    pub fn with_lock(fs: FsContext<D>) -> Self {
        Self { inner: Arc::new(Inner { owners: AtomicUsize::new(1), fs: Mutex::new(fs) }) }
    }

    /// Locks the context.
    pub fn lock(&self) -> FsContextGuard<'_, D, R> {
        self.inner.fs.lock()
    }

    /// Another handle on the same context (`CLONE_FS`): chroot, chdir and
    /// umask through either handle are seen through the other.
    pub fn share(&self) -> Self {
        // a handle is there, so the count is above zero (as Arc::clone)
        self.inner.owners.fetch_add(1, Ordering::Relaxed);
        Self { inner: Arc::clone(&self.inner) }
    }

    /// Whether another handle shares this context (caches and weak handles
    /// do not count).
    pub fn is_shared(&self) -> bool {
        self.inner.owners.load(Ordering::Acquire) > 1
    }

    /// Whether two handles refer to the same context.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// A weak handle on the same context: it does not keep it alive and
    /// does not count as an owner for [`is_shared`](Self::is_shared).
    pub fn downgrade(&self) -> WeakFsContext<D, R> {
        WeakFsContext { inner: Arc::downgrade(&self.inner) }
    }

    /// A thread's cache of this context ([`FsContextCache`]): it reaches the
    /// context without touching a reference count, and it is no owner.
    pub fn cache(&self) -> FsContextCache<D, R> {
        FsContextCache { inner: Some(Arc::clone(&self.inner)) }
    }
}

/// A new owner of the context behind `inner` unless its last owner has gone
/// (the count never leaves zero).
fn owner_of<D, R: RawMutex>(inner: Arc<Inner<D, R>>) -> Option<SharedFsContext<D, R>> {
    let mut n = inner.owners.load(Ordering::Relaxed);
    loop {
        if n == 0 {
            return None;
        }
        match inner.owners.compare_exchange_weak(n, n + 1, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => return Some(SharedFsContext { inner }),
            Err(now) => n = now,
        }
    }
}

/// A weak handle on a [`SharedFsContext`] (see
/// [`SharedFsContext::downgrade`]).
pub struct WeakFsContext<D, R: RawMutex = DefaultLock> {
    inner: Weak<Inner<D, R>>,
}

impl<D, R: RawMutex> Clone for WeakFsContext<D, R> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

impl<D, R: RawMutex> core::fmt::Debug for WeakFsContext<D, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WeakFsContext").finish_non_exhaustive()
    }
}

impl<D, R: RawMutex> WeakFsContext<D, R> {
    /// A weak handle on nothing: [`upgrade`](Self::upgrade) gives `None`.
    pub fn none() -> Self {
        Self { inner: Weak::new() }
    }

    /// A handle on the context while some [`SharedFsContext`] holds it.
    pub fn upgrade(&self) -> Option<SharedFsContext<D, R>> {
        owner_of(self.inner.upgrade()?)
    }
}

/// A thread's own reference to its root, cwd and umask, for its system
/// calls ([`SharedFsContext::cache`]): Linux's `current->fs`, read without a
/// reference taken (`get_fs_root()`/`get_fs_pwd()` lock `fs->lock` and copy
/// the path out, as [`lock`](Self::lock) does).
///
/// It is no owner: [`SharedFsContext::is_shared`] does not count it, so
/// unshare(2) `CLONE_FS` and setns(2)'s "a context of its own" check see
/// only the handles of tasks. The context is one object under one lock, so
/// a chdir, chroot or umask through any handle or cache of it is seen at
/// once through every other (`CLONE_FS` sharers). The context (with its
/// directories) lives while a cache of it does: unlike a file table it
/// holds nothing whose life a program sees (no open file, no lock).
///
/// The owner of the cache refreshes it where its thread's handle changes
/// (a new thread, unshare(2) `CLONE_FS`, execve(2)): a stale cache sees the
/// context its thread no longer uses.
pub struct FsContextCache<D, R: RawMutex = DefaultLock> {
    inner: Option<Arc<Inner<D, R>>>,
}

impl<D, R: RawMutex> core::fmt::Debug for FsContextCache<D, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FsContextCache").field("none", &self.inner.is_none()).finish_non_exhaustive()
    }
}

impl<D, R: RawMutex> Default for FsContextCache<D, R> {
    fn default() -> Self {
        Self::none()
    }
}

impl<D, R: RawMutex> FsContextCache<D, R> {
    /// A cache of no context: [`lock`](Self::lock) gives `None`.
    pub const fn none() -> Self {
        Self { inner: None }
    }

    /// Locks the context, as [`SharedFsContext::lock`]; `None` for a cache
    /// of none.
    #[inline]
    pub fn lock(&self) -> Option<FsContextGuard<'_, D, R>> {
        Some(self.inner.as_ref()?.fs.lock())
    }

    /// Whether this caches the context of `handle`.
    pub fn is_of(&self, handle: &SharedFsContext<D, R>) -> bool {
        self.inner.as_ref().is_some_and(|i| Arc::ptr_eq(i, &handle.inner))
    }

    /// A new owner of the context (a [`SharedFsContext`]) unless no task
    /// holds it any more: for what must keep the context itself, not for a
    /// system call's own use.
    pub fn upgrade(&self) -> Option<SharedFsContext<D, R>> {
        owner_of(Arc::clone(self.inner.as_ref()?))
    }
}

impl<D: Clone, R: RawMutex> SharedFsContext<D, R> {
    /// A handle on a copy of the context (fork(2), clone(2) without
    /// `CLONE_FS`); later changes to either are not seen by the other.
    pub fn fork(&self) -> Self {
        let copy = self.lock().clone();
        Self::with_lock(copy)
    }

    /// unshare(2) `CLONE_FS`: if the context is shared, this handle moves to
    /// a private copy of it; the other handles keep the original.
    pub fn unshare(&mut self) {
        if self.is_shared() {
            *self = self.fork();
        }
    }
}
