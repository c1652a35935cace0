//! Mounts as walks carry them (Linux's `struct vfsmount` and `struct
//! path`): a [`Mount`] is one place a directory tree is seen, with its own
//! flags, and a [`Path`] is a directory (or file) and the mount it was
//! reached through.

use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use spin::Mutex;

use crate::inode::Inode;

/// One mount: the directory it shows (its root), its per-mount flags
/// (`MNT_RDONLY`, `MNT_NOSUID`, `MNT_NODEV`, `MNT_NOEXEC`), the kernel's id
/// for it, and where it hangs (its parent mount and the directory it
/// covers there). Directories hold the mounts on them (an `Arc<Mount>` per
/// mount namespace); a walk that crosses one carries it, so the flags a
/// check sees are those of the mount the path went through, also for a
/// directory bound at two places with different flags.
pub struct Mount {
    root: Arc<Inode>,
    flags: AtomicU32,
    id: AtomicU64,
    /// (parent mount, the directory covered in it); `None` for a
    /// namespace's root mount and a detached one. Weak: the parent's tree
    /// holds this mount.
    up: Mutex<Option<(Weak<Mount>, Weak<Inode>)>>,
}

impl core::fmt::Debug for Mount {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mount").field("id", &self.id()).field("flags", &self.flags()).finish_non_exhaustive()
    }
}

impl Mount {
    /// A mount of `root` with no flags, id 0, hanging nowhere yet.
    pub fn new(root: Arc<Inode>) -> Arc<Self> {
        Arc::new(Self { root, flags: AtomicU32::new(0), id: AtomicU64::new(0), up: Mutex::new(None) })
    }

    /// The directory this mount shows.
    pub fn root(&self) -> &Arc<Inode> {
        &self.root
    }

    /// The per-mount flags (`MNT_*`).
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// Replaces the per-mount flags (mount(2)'s MS_NOSUID/MS_NODEV/
    /// MS_NOEXEC, MS_REMOUNT|MS_BIND).
    pub fn set_flags(&self, flags: u32) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    /// The kernel's id of this mount (statx's mount id, mountinfo's first
    /// field); 0 until [`Mount::set_id`].
    pub fn id(&self) -> u64 {
        self.id.load(Ordering::Relaxed)
    }

    /// Sets the kernel's id.
    pub fn set_id(&self, id: u64) {
        self.id.store(id, Ordering::Relaxed);
    }

    /// The parent mount and the directory this mount covers in it, while
    /// both are alive and this mount hangs somewhere.
    pub fn up(&self) -> Option<(Arc<Mount>, Arc<Inode>)> {
        let u = self.up.lock();
        let (m, d) = u.as_ref()?;
        Some((m.upgrade()?, d.upgrade()?))
    }

    /// Hangs this mount on `covered` in `parent` (`None`: a namespace's
    /// root, or detached): where `..` from its root goes.
    pub fn set_up(&self, up: Option<(&Arc<Mount>, &Arc<Inode>)>) {
        *self.up.lock() = up.map(|(m, d)| (Arc::downgrade(m), Arc::downgrade(d)));
    }
}

/// A place in the tree: an inode and the mount it was reached through
/// (`None` when the caller does not track mounts: no per-mount flags apply
/// and `..` follows the directories alone). Linux's `struct path`; a
/// kernel keeps these as a task's root and working directory.
#[derive(Clone, Debug)]
pub struct Path {
    /// The inode.
    pub inode: Arc<Inode>,
    /// The mount it was reached through.
    pub mnt: Option<Arc<Mount>>,
}

impl Path {
    /// `inode` seen through `mnt`.
    pub fn new(inode: Arc<Inode>, mnt: Option<Arc<Mount>>) -> Self {
        Self { inode, mnt }
    }

    /// The root of `mnt`, seen through it.
    pub fn root_of(mnt: &Arc<Mount>) -> Self {
        Self { inode: Arc::clone(mnt.root()), mnt: Some(Arc::clone(mnt)) }
    }

    /// Whether both name the same inode through the same mount (or both
    /// without one).
    pub fn same(&self, other: &Path) -> bool {
        Arc::ptr_eq(&self.inode, &other.inode)
            && match (&self.mnt, &other.mnt) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }

    /// The per-mount flags of its mount (0 without one).
    pub fn flags(&self) -> u32 {
        self.mnt.as_ref().map_or(0, |m| m.flags())
    }
}

/// Where a [`crate::Ctx`] operation starts a relative path: a bare
/// directory inode (no mount tracked) or a [`Path`].
pub trait AsPath {
    /// The directory.
    fn inode(&self) -> &Arc<Inode>;
    /// The mount it was reached through, if known.
    fn mount(&self) -> Option<&Arc<Mount>>;
}

impl AsPath for Arc<Inode> {
    fn inode(&self) -> &Arc<Inode> {
        self
    }
    fn mount(&self) -> Option<&Arc<Mount>> {
        None
    }
}

impl AsPath for Path {
    fn inode(&self) -> &Arc<Inode> {
        &self.inode
    }
    fn mount(&self) -> Option<&Arc<Mount>> {
        self.mnt.as_ref()
    }
}
