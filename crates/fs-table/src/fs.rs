//! [`FsContext`]: root, working directory and umask (Linux's `fs_struct`),
//! and [`SharedFsContext`], the handle shared under `CLONE_FS`.

use alloc::sync::{Arc, Weak};

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

/// A task's handle on an [`FsContext`] that other tasks may share
/// (`CLONE_FS`): an `Arc<lock_api::Mutex<R, FsContext<D>>>`, `R` the
/// kernel's raw lock ([`DefaultLock`], a spin lock, unless it says).
///
/// Lock order: a leaf lock; drop the directories that setters return after
/// releasing it.
pub struct SharedFsContext<D, R: RawMutex = DefaultLock> {
    inner: Arc<Mutex<R, FsContext<D>>>,
}

impl<D, R: RawMutex> core::fmt::Debug for SharedFsContext<D, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedFsContext")
            .field("owners", &Arc::strong_count(&self.inner))
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
        Self { inner: Arc::new(Mutex::new(fs)) }
    }

    /// Locks the context.
    pub fn lock(&self) -> MutexGuard<'_, R, FsContext<D>> {
        self.inner.lock()
    }

    /// Another handle on the same context (`CLONE_FS`): chroot, chdir and
    /// umask through either handle are seen through the other.
    pub fn share(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }

    /// Whether another handle shares this context.
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.inner) > 1
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
}

/// A weak handle on a [`SharedFsContext`] (see
/// [`SharedFsContext::downgrade`]).
pub struct WeakFsContext<D, R: RawMutex = DefaultLock> {
    inner: Weak<Mutex<R, FsContext<D>>>,
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
        self.inner.upgrade().map(|inner| SharedFsContext { inner })
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
