//! fcntl(2)'s `F_NOTIFY` (dnotify) watches of one directory (Linux's
//! fs/notify/dnotify/dnotify.c: `fcntl_dirnotify`, `attach_dn`,
//! `dnotify_flush`, `dnotify_handle_event`).
//!
//! A watch belongs to an open file description and the process that set
//! it (Linux's `dn_filp` and `dn_owner`, the fd table). The kernel calls
//! [`DnotifyTable::event`] when an entry of the directory changes and
//! signals the processes it names.

use alloc::vec::Vec;

use linux_abi::{Errno, Result};

/// An entry was read.
pub const DN_ACCESS: u32 = 0x1;
/// An entry was written or truncated.
pub const DN_MODIFY: u32 = 0x2;
/// An entry was created (or moved in).
pub const DN_CREATE: u32 = 0x4;
/// An entry was removed (or moved out).
pub const DN_DELETE: u32 = 0x8;
/// An entry was renamed.
pub const DN_RENAME: u32 = 0x10;
/// The attributes of an entry (or of the directory) changed.
pub const DN_ATTRIB: u32 = 0x20;
/// Keep the watch after it fires.
pub const DN_MULTISHOT: u32 = 0x8000_0000;

/// One watch.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Watch<F> {
    /// The open file description of the directory.
    pub file: F,
    /// The process that set it (it gets the signal).
    pub pid: i32,
    /// The `DN_*` events it wants, `DN_MULTISHOT` included.
    pub mask: u32,
}

/// The watches of one directory, oldest first.
#[derive(Clone, Debug)]
pub struct DnotifyTable<F> {
    watches: Vec<Watch<F>>,
}

impl<F> Default for DnotifyTable<F> {
    fn default() -> Self {
        DnotifyTable { watches: Vec::new() }
    }
}

impl<F: Clone + Eq> DnotifyTable<F> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there is no watch.
    pub fn is_empty(&self) -> bool {
        self.watches.is_empty()
    }

    /// The watches, oldest first.
    pub fn watches(&self) -> &[Watch<F>] {
        &self.watches
    }

    /// `F_NOTIFY` with `arg` on the directory through `file` by `pid`: an
    /// `arg` with no event bit removes the watch of (`file`, `pid`)
    /// (the caller does that before it checks for a directory); else the
    /// events are added to that watch (`attach_dn` ORs them) or a new one
    /// is made. Unknown bits are kept and never match.
    pub fn set(&mut self, file: &F, pid: i32, arg: u32) -> Result<()> {
        if arg & !DN_MULTISHOT == 0 {
            self.flush(file, pid);
            return Ok(());
        }
        if let Some(w) = self.watches.iter_mut().find(|w| w.file == *file && w.pid == pid) {
            w.mask |= arg;
            return Ok(());
        }
        self.watches.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        self.watches.push(Watch { file: file.clone(), pid, mask: arg });
        Ok(())
    }

    /// A close of `file` by `pid` (`dnotify_flush`): its watch goes.
    /// Whether there was one.
    pub fn flush(&mut self, file: &F, pid: i32) -> bool {
        let before = self.watches.len();
        self.watches.retain(|w| !(w.file == *file && w.pid == pid));
        self.watches.len() != before
    }

    /// Events `mask` happened in the directory: the processes to signal,
    /// one per watch that wants one of them (in watch order); the watches
    /// that fired without `DN_MULTISHOT` go. `ENOMEM` (nothing changed)
    /// without room for the list.
    pub fn event(&mut self, mask: u32) -> Result<Vec<i32>> {
        self.event_with(mask, |_| {})
    }

    /// [`Self::event`], calling `each` with the description of every watch
    /// that fired (whose owner Linux signals: `send_sigio` on the watch's
    /// file).
    pub fn event_with(&mut self, mask: u32, mut each: impl FnMut(&F)) -> Result<Vec<i32>> {
        let mut out = Vec::new();
        let n = self.watches.iter().filter(|w| w.mask & mask & !DN_MULTISHOT != 0).count();
        out.try_reserve(n).map_err(|_| Errno::ENOMEM)?;
        self.watches.retain(|w| {
            if w.mask & mask & !DN_MULTISHOT == 0 {
                return true;
            }
            out.push(w.pid);
            each(&w.file);
            w.mask & DN_MULTISHOT != 0
        });
        Ok(out)
    }

    /// Removes the watches `pick` chooses (their description went);
    /// whether there were.
    pub fn release_where(&mut self, pick: impl Fn(&F) -> bool) -> bool {
        let before = self.watches.len();
        self.watches.retain(|w| !pick(&w.file));
        self.watches.len() != before
    }
}
