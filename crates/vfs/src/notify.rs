//! fsnotify's hooks: the points where Linux's `fsnotify_*` calls fire
//! report to the kernel's marks on the inode ([`NotifyMarks`], set with
//! [`Inode::set_notify_marks`]) and, for an event on a file, on the
//! directory it was opened or created in (Linux's `fsnotify_parent`).
//!
//! An inode keeps no name, so a watched directory records itself and the
//! name in the children it learns of (its entries when its marks are set,
//! and the ones opened, created, linked or moved in while it is watched):
//! the "parent hint" an event on the child follows. A file opened through
//! another link keeps the hint of the one recorded last. The hooks cost
//! one relaxed atomic load when neither the inode nor its hinted parent
//! is watched.

use alloc::boxed::Box;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::inode::Inode;

/// The event bits (Linux's `FS_*`, equal to inotify's `IN_*`).
pub mod mask {
    /// Read.
    pub const ACCESS: u32 = 0x1;
    /// Written or truncated.
    pub const MODIFY: u32 = 0x2;
    /// Metadata changed.
    pub const ATTRIB: u32 = 0x4;
    /// Closed after an open for writing.
    pub const CLOSE_WRITE: u32 = 0x8;
    /// Closed after an open not for writing.
    pub const CLOSE_NOWRITE: u32 = 0x10;
    /// Opened.
    pub const OPEN: u32 = 0x20;
    /// An entry moved out (with a cookie).
    pub const MOVED_FROM: u32 = 0x40;
    /// An entry moved in (with the same cookie).
    pub const MOVED_TO: u32 = 0x80;
    /// An entry was made.
    pub const CREATE: u32 = 0x100;
    /// An entry was removed.
    pub const DELETE: u32 = 0x200;
    /// The inode was deleted.
    pub const DELETE_SELF: u32 = 0x400;
    /// The inode was moved.
    pub const MOVE_SELF: u32 = 0x800;
    /// Its filesystem was unmounted.
    pub const UNMOUNT: u32 = 0x2000;
    /// The subject is a directory.
    pub const ISDIR: u32 = 0x4000_0000;
}

/// The kernel's marks on one inode (Linux's `i_fsnotify_marks`): whoever
/// watches it. Called with no vfs lock held.
pub trait NotifyMarks: Send + Sync {
    /// Event `mask` ([`crate::fsnotify_mask`] bits, `ISDIR` included) on the inode, or on
    /// its entry `name` when the inode is a directory; `cookie` ties a
    /// move's two halves; `unlinked`: through an open file whose name is
    /// gone (`IN_EXCL_UNLINK`).
    fn event(&self, mask: u32, cookie: u32, name: Option<&[u8]>, unlinked: bool);

    /// The inode is gone (deleted, after `DELETE_SELF`; unmounted, after
    /// `UNMOUNT`): the marks go; the inode forgets them afterwards.
    fn gone(&self);

    /// The object behind the trait, for the kernel to find its own type.
    fn as_any(&self) -> &dyn core::any::Any;
}

/// Bits of [`Inode`]'s notify word.
pub(crate) const HAS_MARKS: u32 = 1;
/// The inode has a parent hint.
pub(crate) const HAS_PARENT: u32 = 2;

/// The notify state of an inode, behind its own lock.
#[derive(Default)]
pub(crate) struct NotifySlot {
    marks: Option<Arc<dyn NotifyMarks>>,
    /// The watched directory this inode was last seen in, and its name there.
    parent: Option<(Weak<Inode>, Vec<u8>)>,
}

/// The entries [`Inode::hint_children`] copies under the directory's
/// lock at a time.
const HINT_BATCH: usize = 64;

/// Linux's `fsnotify_get_cookie`: one counter for every move.
static COOKIE: AtomicU32 = AtomicU32::new(0);

/// A fresh move cookie.
pub(crate) fn next_cookie() -> u32 {
    COOKIE.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
}

impl Inode {
    fn notify_bits(&self) -> u32 {
        self.notify_word.load(Ordering::Relaxed)
    }

    /// Whether the kernel has marks on this inode.
    pub fn is_watched(&self) -> bool {
        self.notify_bits() & HAS_MARKS != 0
    }

    /// The kernel's marks on this inode.
    pub fn notify_marks(&self) -> Option<Arc<dyn NotifyMarks>> {
        self.notify.lock().as_ref().and_then(|s| s.marks.clone())
    }

    /// The kernel's marks on this inode, made with `make` when there are
    /// none, or none that `live` accepts (marks whose last watch went and
    /// that are about to be cleared: [`Inode::clear_notify_marks_if`]).
    /// New marks make a directory's entries in memory learn it as their
    /// parent. `live` runs under the inode's notify lock.
    pub fn notify_marks_or_insert(
        self: &Arc<Self>,
        make: impl FnOnce() -> Arc<dyn NotifyMarks>,
        live: impl Fn(&Arc<dyn NotifyMarks>) -> bool,
    ) -> Arc<dyn NotifyMarks> {
        let (m, old) = {
            let mut slot = self.notify.lock();
            if let Some(m) = slot.as_ref().and_then(|s| s.marks.as_ref())
                && live(m)
            {
                return m.clone();
            }
            let s = slot.get_or_insert_with(Box::default);
            let m = make();
            let old = s.marks.replace(m.clone());
            self.notify_word.fetch_or(HAS_MARKS, Ordering::Relaxed);
            (m, old)
        };
        drop(old);
        self.hint_children();
        m
    }

    /// Clears this inode's marks if they are still `marks` (whose last
    /// watch went): events on the inode take the one-load fast path again.
    /// Returns them, for the caller to drop outside its locks.
    pub fn clear_notify_marks_if(&self, marks: &Arc<dyn NotifyMarks>) -> Option<Arc<dyn NotifyMarks>> {
        let mut slot = self.notify.lock();
        let s = slot.as_mut()?;
        let same = s.marks.as_ref().is_some_and(|m| core::ptr::addr_eq(Arc::as_ptr(m), Arc::as_ptr(marks)));
        if !same {
            return None;
        }
        self.notify_word.fetch_and(!HAS_MARKS, Ordering::Relaxed);
        s.marks.take()
    }

    /// Sets (or, with `None`, clears) the kernel's marks on this inode.
    /// A directory's entries that are in memory learn it as their parent.
    /// Returns the marks replaced (dropped by the caller, outside its locks).
    pub fn set_notify_marks(
        self: &Arc<Self>,
        marks: Option<Arc<dyn NotifyMarks>>,
    ) -> Option<Arc<dyn NotifyMarks>> {
        let set = marks.is_some();
        let old = {
            let mut slot = self.notify.lock();
            if slot.is_none() && !set {
                return None;
            }
            let s = slot.get_or_insert_with(Box::default);
            let old = core::mem::replace(&mut s.marks, marks);
            if set {
                self.notify_word.fetch_or(HAS_MARKS, Ordering::Relaxed);
            } else {
                self.notify_word.fetch_and(!HAS_MARKS, Ordering::Relaxed);
            }
            old
        };
        if set {
            self.hint_children();
        }
        old
    }

    /// A watched directory's entries in memory learn it as their parent,
    /// [`HINT_BATCH`] at a time: the directory's lock is held for one
    /// batch's copy only, never for a walk of the whole directory.
    fn hint_children(self: &Arc<Self>) {
        if !self.is_dir() {
            return;
        }
        let mut children: Vec<(Vec<u8>, Arc<Inode>)> = Vec::new();
        if children.try_reserve_exact(HINT_BATCH).is_err() {
            return;
        }
        let mut from = 0u64;
        loop {
            let more = {
                let d = self.lock();
                let Some(dir) = d.dir() else { return };
                let mut next = None;
                for (c, n, i) in dir.entries_from(from) {
                    if children.len() == HINT_BATCH {
                        next = Some(c);
                        break;
                    }
                    let mut name = Vec::new();
                    if name.try_reserve_exact(n.len()).is_err() {
                        break;
                    }
                    name.extend_from_slice(n);
                    children.push((name, Arc::clone(i)));
                }
                next
            };
            for (name, child) in &children {
                child.set_parent_hint(self, name);
            }
            // the children drop here, outside every lock
            children.clear();
            match more {
                Some(c) if self.is_watched() => from = c,
                _ => return,
            }
        }
    }

    /// Records `dir` and `name` as where this inode is (a no-op when the
    /// name cannot be stored).
    fn set_parent_hint(&self, dir: &Arc<Inode>, name: &[u8]) {
        let mut n = Vec::new();
        if n.try_reserve_exact(name.len()).is_err() {
            return;
        }
        n.extend_from_slice(name);
        let old = {
            let mut slot = self.notify.lock();
            let s = slot.get_or_insert_with(Box::default);
            self.notify_word.fetch_or(HAS_PARENT, Ordering::Relaxed);
            s.parent.replace((Arc::downgrade(dir), n))
        };
        drop(old);
    }

    /// `child` is now entry `name` of this directory: it learns so when
    /// this directory is watched.
    pub(crate) fn hint_child(self: &Arc<Self>, child: &Arc<Inode>, name: &[u8]) {
        if self.is_watched() {
            child.set_parent_hint(self, name);
        }
    }

    /// Linux's `fsnotify_parent` + `fsnotify`: event `mask` on this inode
    /// (`ISDIR` added for a directory), reported to its parent's marks with
    /// its name first, then to its own. `unlinked`: the event comes through
    /// an open file of an inode with no name left.
    pub fn fsnotify(&self, mask: u32, unlinked: bool) {
        let bits = self.notify_bits();
        if bits == 0 {
            return;
        }
        self.fsnotify_slow(bits, mask, unlinked);
    }

    #[cold]
    fn fsnotify_slow(&self, bits: u32, mask: u32, unlinked: bool) {
        let mask = if self.is_dir() { mask | mask::ISDIR } else { mask };
        let (marks, parent) = {
            let slot = self.notify.lock();
            let Some(s) = slot.as_ref() else { return };
            let parent = if bits & HAS_PARENT != 0 {
                s.parent.as_ref().and_then(|(p, n)| {
                    let mut name = Vec::new();
                    name.try_reserve_exact(n.len()).ok()?;
                    name.extend_from_slice(n);
                    Some((p.clone(), name))
                })
            } else {
                None
            };
            (s.marks.clone(), parent)
        };
        if let Some((p, name)) = parent {
            match p.upgrade() {
                Some(dir) => match dir.notify_marks() {
                    Some(pm) => pm.event(mask, 0, Some(&name), unlinked),
                    None => self.drop_stale_hint(&p, Some(&dir)),
                },
                None => self.drop_stale_hint(&p, None),
            }
        }
        if let Some(m) = marks {
            m.event(mask, 0, None, unlinked);
        }
    }

    /// The parent hint `p` leads to a directory no longer watched (`dir`,
    /// or none when it is gone): the hint goes with `HAS_PARENT`, so the
    /// inode's events take the one-load fast path again (a directory
    /// watched again hints its entries anew: [`Inode::hint_children`]).
    #[cold]
    fn drop_stale_hint(&self, p: &Weak<Inode>, dir: Option<&Arc<Inode>>) {
        let old = {
            let mut slot = self.notify.lock();
            let Some(s) = slot.as_mut() else { return };
            let same = s.parent.as_ref().is_some_and(|(q, _)| Weak::ptr_eq(p, q));
            // watched again meanwhile: its hint_children sets HAS_MARKS
            // before it takes this lock
            if !same || dir.is_some_and(|d| d.is_watched()) {
                return;
            }
            self.notify_word.fetch_and(!HAS_PARENT, Ordering::Relaxed);
            s.parent.take()
        };
        drop(old);
    }

    /// Linux's `fsnotify_inode`: event `mask` on this inode's own marks
    /// only (a link count change, `MOVE_SELF`).
    pub fn fsnotify_inode(&self, mask: u32) {
        if !self.is_watched() {
            return;
        }
        let mask = if self.is_dir() { mask | mask::ISDIR } else { mask };
        if let Some(m) = self.notify_marks() {
            m.event(mask, 0, None, false);
        }
    }

    /// [`Inode::fsnotify`] for an event through an open file (read,
    /// write, open, close): `unlinked` when no name is left.
    pub fn fsnotify_file(&self, mask: u32) {
        let bits = self.notify_bits();
        if bits == 0 {
            return;
        }
        let unlinked = !self.is_dir() && self.nlink() == 0;
        self.fsnotify_slow(bits, mask, unlinked);
    }

    /// An event on entry `name` of this directory (create, delete, a
    /// move's half); `child_dir` adds `ISDIR`.
    pub fn fsnotify_name(&self, mask: u32, cookie: u32, name: &[u8], child_dir: bool) {
        if !self.is_watched() {
            return;
        }
        if let Some(m) = self.notify_marks() {
            m.event(if child_dir { mask | mask::ISDIR } else { mask }, cookie, Some(name), false);
        }
    }

    /// This inode is gone for good (no link left, or its filesystem
    /// unmounted): `last` (`DELETE_SELF` or `UNMOUNT`) to its marks, which
    /// then go.
    pub fn fsnotify_gone(self: &Arc<Self>, last: u32) {
        if !self.is_watched() {
            return;
        }
        if let Some(m) = self.notify_marks() {
            m.event(last, 0, None, false);
            m.gone();
        }
        drop(self.set_notify_marks(None));
    }

    /// A move of this inode into `dir` as `name`: the hint follows (or is
    /// dropped when `dir` is not watched).
    pub(crate) fn moved_to(&self, dir: &Arc<Inode>, name: &[u8]) {
        if dir.is_watched() {
            self.set_parent_hint(dir, name);
        } else if self.notify_bits() & HAS_PARENT != 0 {
            let old = self.notify.lock().as_mut().and_then(|s| s.parent.take());
            self.notify_word.fetch_and(!HAS_PARENT, Ordering::Relaxed);
            drop(old);
        }
    }
}
