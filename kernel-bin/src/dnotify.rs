//! fcntl(2)'s F_NOTIFY (dnotify) over `file_lock::DnotifyTable`: one
//! registry of watched directories; the syscalls that change a directory's
//! entries report to it ([`event`], [`attrib`], [`create_event`]), the
//! watchers' descriptions' owners (the setter unless F_SETOWN named one)
//! get SIGIO or the F_SETSIG signal (`POLL_MSG`, `si_fd`). A watch goes with any close of its
//! description by the process that set it ([`closed`], from the close
//! paths' `locks::closed`) or when the description is gone.
//!
//! Reported: DN_CREATE (open O_CREAT that creates, mkdir, mknod, symlink, link,
//! rename's target), DN_DELETE (unlink, rmdir, rename's source), DN_RENAME
//! (rename's source directory), DN_ATTRIB (chmod of an entry or of the
//! directory). DN_ACCESS and DN_MODIFY are accepted but not reported (a
//! file here does not know its directory). Lock order: the registry lock
//! is taken with no other lock held, and never held while signalling,
//! looking a path up or dropping an inode.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use file_lock::DnotifyTable;
use linux_abi::{Errno, Result};
use process::pid::Pid;
use vfs::{File, Inode};

use crate::locks::FileRef;
use crate::syscall::SysResult;
use crate::uthread::UThread;

type Dirs = Vec<(Arc<Inode>, DnotifyTable<FileRef>)>;

static DIRS: crate::lockorder::Ranked<Dirs> =
    crate::lockorder::Ranked::new(crate::lockorder::LockClass::Dnotify, "dnotify::DIRS", Vec::new());
/// How many directories are watched: the hooks return at once when 0.
static WATCHED: AtomicUsize = AtomicUsize::new(0);

/// Drops the tables that are empty (handed back to drop after the lock).
fn tidy(dirs: &mut Dirs) -> Vec<Arc<Inode>> {
    let mut gone = Vec::new();
    let mut i = 0;
    while i < dirs.len() {
        dirs[i].1.release_where(FileRef::gone);
        if dirs[i].1.is_empty() && gone.try_reserve(1).is_ok() {
            gone.push(dirs.swap_remove(i).0);
            continue;
        }
        i += 1;
    }
    WATCHED.store(dirs.len(), Ordering::Relaxed);
    gone
}

/// fcntl(fd, F_NOTIFY, arg) on `file` (fcntl_dirnotify).
pub fn fcntl_notify(t: &UThread, fd: i32, file: Arc<dyn File>, arg: u64) -> SysResult {
    if file.status_flags() & vfs::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let arg = arg as u32;
    let me = FileRef::with_fd(&file, fd);
    let pid = t.pid as i32;
    if arg & !file_lock::DN_MULTISHOT == 0 {
        // no event: the watch goes, whatever the file is
        closed(t.pid, &file);
        return Ok(0);
    }
    let Some(inode) = file.inode().filter(|i| i.is_dir()).cloned() else { return Err(Errno::ENOTDIR) };
    let gone = {
        let mut dirs = DIRS.lock();
        let i = match dirs.iter().position(|(d, _)| Arc::ptr_eq(d, &inode)) {
            Some(i) => i,
            None => {
                dirs.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                dirs.push((inode.clone(), DnotifyTable::new()));
                dirs.len() - 1
            }
        };
        let r = dirs[i].1.set(&me, pid, arg);
        (r, tidy(&mut dirs))
    };
    let (r, gone) = gone;
    drop(gone);
    drop(inode);
    r?;
    // fcntl_dirnotify: the setter owns the file unless someone does already
    let _ = crate::fasync::setown(t, &*file, t.pid as i32, vfs::OwnerKind::Pid, false);
    Ok(0)
}

/// Process `pid` closed a descriptor of `file` (dnotify_flush).
pub fn closed(pid: Pid, file: &Arc<dyn File>) {
    if WATCHED.load(Ordering::Relaxed) == 0 {
        return;
    }
    let me = FileRef::of(file);
    let gone = {
        let mut dirs = DIRS.lock();
        for (_, t) in dirs.iter_mut() {
            t.flush(&me, pid as i32);
        }
        tidy(&mut dirs)
    };
    drop(gone);
}

/// Events `mask` in directory `dir`: the watchers' descriptions' owners
/// get their F_SETSIG signal or SIGIO (`send_sigio(fown, fd, POLL_MSG)`).
fn fire(dir: &Arc<Inode>, mask: u32) {
    let mut files: Vec<FileRef> = Vec::new();
    let gone = {
        let mut dirs = DIRS.lock();
        let Some(i) = dirs.iter().position(|(d, _)| Arc::ptr_eq(d, dir)) else { return };
        let _ = dirs[i].1.event_with(mask, |f| {
            if files.try_reserve(1).is_ok() {
                files.push(f.clone());
            }
        });
        tidy(&mut dirs)
    };
    drop(gone);
    for f in files {
        f.signal_owner();
    }
}

/// The directory part of `path` ("." for a single name), trailing slashes
/// ignored.
fn parent_of(path: &[u8]) -> &[u8] {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    match path[..end].iter().rposition(|&c| c == b'/') {
        None => b".",
        Some(0) => b"/",
        Some(i) => &path[..i],
    }
}

/// After a syscall changed the entry `path` (as the caller resolves it
/// with `lookup`, following symbolic links): events `mask` in its
/// directory. Nothing is looked up when no directory is watched.
pub fn event(path: &[u8], mask: u32, lookup: impl FnOnce(&[u8]) -> Result<Arc<Inode>>) {
    if WATCHED.load(Ordering::Relaxed) == 0 {
        return;
    }
    if let Ok(dir) = lookup(parent_of(path)) {
        fire(&dir, mask);
    }
}

/// After a chmod of `path`: DN_ATTRIB in its directory and, if it is a
/// watched directory itself, in it.
pub fn attrib(path: &[u8], lookup: impl Fn(&[u8]) -> Result<Arc<Inode>>) {
    if WATCHED.load(Ordering::Relaxed) == 0 {
        return;
    }
    if let Ok(me) = lookup(path)
        && me.is_dir()
    {
        fire(&me, file_lock::DN_ATTRIB);
    }
    event(path, file_lock::DN_ATTRIB, lookup);
}

/// Before an open with `flags` of `path`: whether it will create the
/// file (O_CREAT and no entry yet), so [`event`] reports DN_CREATE after it.
/// Always false when no directory is watched.
pub fn create_event(path: &[u8], flags: u32, lookup: impl FnOnce(&[u8]) -> Result<Arc<Inode>>) -> bool {
    WATCHED.load(Ordering::Relaxed) != 0 && flags & vfs::O_CREAT != 0 && lookup(path).is_err()
}
