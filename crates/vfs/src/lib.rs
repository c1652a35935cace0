//! The virtual filesystem of the kernel: inodes, Linux path resolution, an
//! in-memory filesystem (ramfs), open files, and initramfs unpacking.
//!
//! # Model
//!
//! - An [`Inode`] is a regular file (sparse pages of content), a
//!   directory, a symbolic link, or a special file (character and block
//!   devices carry their `(major, minor)`; FIFOs and sockets). It has
//!   Linux's attributes: mode, owner, link count, size, times (read from
//!   the [`Clock`] given to [`new_ramfs`]; there is no global clock) and
//!   an inode number. Inodes are shared as `Arc<Inode>`; directories own
//!   their entries.
//! - A [`Path`] (an inode and the [`Mount`] it was reached through, Linux's
//!   `struct path`) is the directory handle a task keeps as its root and
//!   working directory (`FsContext<Path>` of crates/fs-table); a bare
//!   `Arc<Inode>` also serves where mounts are not tracked ([`AsPath`]).
//!   Walks carry their mount: its per-mount flags (`MNT_RDONLY`,
//!   `MNT_NODEV`, `MNT_NOEXEC`) apply, `..` from its root goes to its
//!   parent mount. [`Ctx`] carries a call's root, credential ([`Cred`])
//!   and umask; its methods take the start directory of relative paths
//!   (the cwd or a directory descriptor's path) and implement open(2),
//!   mkdir(2), mknod(2), unlink(2), rmdir(2), rename(2), link(2),
//!   symlink(2), readlink(2), stat(2), chmod(2), chown(2), utimensat(2),
//!   truncate(2), access(2), chdir(2), getcwd(2), mount(2), umount(2) and
//!   the checks of execve(2)
//!   with Linux's resolution (`.`, `..` stopping at the root and crossing
//!   mounts, trailing slashes, 40 symbolic links then `ELOOP`,
//!   `ENAMETOOLONG`) and Linux's errno for each case.
//! - File content lives in a [`PageMemory`] given at [`new_ramfs_in`]
//!   ([`HeapPages`] by default): pages with reference counts, so a kernel
//!   that gives its frames can map a file's own pages
//!   ([`Inode::map_page`]); the kernel's [`MapObserver`] on the inode is
//!   told when pages leave the file (truncate), to unmap them. Regular
//!   files carry memfd seals ([`Inode::add_seals`]).
//! - [`File`] is the open-file interface every kind of file implements
//!   (ramfs files here; pipes, terminals and /proc files in the kernel).
//!   [`RamFile`] is an open ramfs file or directory: an inode, an offset,
//!   the status flags. A kernel stores `Arc<dyn File>` in its descriptor
//!   table. A file whose readiness changes (a pipe, a terminal) hands out
//!   the kernel's queue of its sleepers ([`File::wait_queue`], a
//!   [`WaitQueue`] the kernel implements), so poll(2) and epoll sleep on
//!   the files they watch and nothing else.
//! - A synthetic filesystem ([`new_synthfs`], [`SynthNode`]) computes its
//!   entries, contents and link targets when asked: a kernel's /proc,
//!   mounted like any filesystem so relative paths work in it. A link may
//!   be magic ([`SynthNode::magic`], [`Magic`]): resolution goes to the
//!   inode or open file it names, not to its text (`/proc/<pid>/fd/N`).
//! - Extended attributes as Linux 6.1's tmpfs ([`Inode::setxattr`] and
//!   the rest; `trusted.*`, `security.*`), a read-only state per
//!   filesystem ([`Inode::set_fs_read_only`]: `EROFS` for every change),
//!   and fallocate's page reservation and holes ([`Inode::allocate`],
//!   [`Inode::punch_hole`]).
//! - [`unpack_initramfs`] fills a ramfs from cpio "newc" archives, plain or
//!   gzip-compressed, failing with `EINVAL` on a malformed image.
//!
//! Lock order: a filesystem's namespace lock, then one inode lock at a
//! time; file offsets lock before their inode. Symbolic links are followed
//! iteratively (no recursion on the kernel stack).
//!
//! # Wiring in a kernel
//!
//! 1. At boot: `let root = new_ramfs(dev, clock, None)`, then
//!    [`unpack_initramfs`]`(&root, image)`; `FsContext::new(root.clone(),
//!    root)` for init. /dev and /tmp: `ctx.mount(&root, b"/tmp",
//!    new_ramfs(..))`, device nodes with [`Ctx::mknod`].
//! 2. Per path syscall: take root, cwd and umask from the task's
//!    `FsContext<Arc<Inode>>`, build `Ctx::new(root, &cred).with_umask(umask)`,
//!    pass the cwd (or a directory descriptor's [`File::inode`]) as `dir`.
//! 3. openat(2): [`Ctx::open`] gives [`Opened::File`] (an `Arc<RamFile>`,
//!    put into `FileTable<dyn File>` as `Arc<dyn File>`), or a device or
//!    FIFO inode for the kernel to bind to its driver or pipe.
//! 4. read/write/lseek/fstat/getdents64/ftruncate/fcntl(F_GETFL, F_SETFL)
//!    go to the [`File`] methods; execve(2) uses [`Ctx::open_exec`] and
//!    [`Inode::read_at`].
//!
//! ```
//! use std::sync::Arc;
//! use linux_abi::Errno;
//! use vfs::*;
//!
//! // A root filesystem, a credential, a context.
//! let root = new_ramfs(makedev(0, 1), Arc::new(FixedClock(Timespec::new(1_700_000_000, 0))), None);
//! let cred = Cred::root();
//! let ctx = Ctx::new(root.clone(), &cred).with_umask(0o022);
//! let cwd = root.clone();
//!
//! ctx.mkdir(&cwd, b"/etc", 0o777).unwrap();
//! assert_eq!(ctx.stat(&cwd, b"/etc", 0).unwrap().mode, S_IFDIR | 0o755);
//!
//! // open(2) returns a File for the descriptor table.
//! let Opened::File(f) = ctx.open(&cwd, b"etc/motd", O_CREAT | O_RDWR, 0o644).unwrap() else { panic!() };
//! let f: Arc<dyn File> = f;
//! assert_eq!(f.write(b"hello\n").unwrap(), 6);
//! assert_eq!(f.lseek(0, SEEK_SET).unwrap(), 0);
//! let mut buf = [0u8; 16];
//! assert_eq!(f.read(&mut buf).unwrap(), 6);
//! assert_eq!(&buf[..6], b"hello\n");
//!
//! ctx.symlink(b"etc/motd", &cwd, b"/motd").unwrap();
//! assert_eq!(ctx.stat(&cwd, b"/motd", 0).unwrap().size, 6);
//! assert_eq!(ctx.open(&cwd, b"/motd", O_RDONLY | O_NOFOLLOW, 0).unwrap_err(), Errno::ELOOP);
//! assert_eq!(ctx.rmdir(&cwd, b"/etc").unwrap_err(), Errno::ENOTEMPTY);
//!
//! // An initramfs: a cpio newc archive with one directory.
//! let mut cpio = Vec::new();
//! for (name, mode) in [("bin", 0o040755u32), ("TRAILER!!!", 0)] {
//!     let namesize = name.len() + 1;
//!     cpio.extend(format!("070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
//!         1, mode, 0, 0, 1, 0, 0, 0, 0, 0, 0, namesize, 0).bytes());
//!     cpio.extend(name.bytes());
//!     cpio.push(0);
//!     while cpio.len() % 4 != 0 { cpio.push(0); }
//! }
//! unpack_initramfs(&root, &cpio).unwrap();
//! assert!(ctx.lookup(&cwd, b"/bin", true).unwrap().is_dir());
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod backing;
mod cpio;
mod ctx;
mod deny;
mod dirent;
mod file;
mod inode;
mod mount;
mod notify;
mod owner;
mod pages;
pub mod propagation;
mod synth;
mod types;
mod xattr;

#[cfg(test)]
mod backing_tests;
#[cfg(test)]
mod notify_tests;
#[cfg(test)]
mod propagation_tests;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;

/// `fs.protected_hardlinks` (Debian's default: on): see
/// [`set_protected_links`].
static PROTECTED_HARDLINKS: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(true);
/// `fs.protected_symlinks` (Debian's default: on).
static PROTECTED_SYMLINKS: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(true);

/// Whether `fs.protected_hardlinks` is on: link(2) of another user's file
/// needs a regular, non-setuid file the caller may read and write.
pub fn protected_hardlinks() -> bool {
    PROTECTED_HARDLINKS.load(core::sync::atomic::Ordering::Relaxed)
}

/// Whether `fs.protected_symlinks` is on: a link in a sticky
/// world-writable directory is followed only by its owner or when the
/// directory's owner owns it.
pub fn protected_symlinks() -> bool {
    PROTECTED_SYMLINKS.load(core::sync::atomic::Ordering::Relaxed)
}

/// Sets `fs.protected_hardlinks` and `fs.protected_symlinks`.
pub fn set_protected_links(hard: bool, sym: bool) {
    set_protected_hardlinks(hard);
    set_protected_symlinks(sym);
}

/// Sets `fs.protected_hardlinks`.
pub fn set_protected_hardlinks(on: bool) {
    PROTECTED_HARDLINKS.store(on, core::sync::atomic::Ordering::Relaxed);
}

/// Sets `fs.protected_symlinks`.
pub fn set_protected_symlinks(on: bool) {
    PROTECTED_SYMLINKS.store(on, core::sync::atomic::Ordering::Relaxed);
}

/// `fs.protected_fifos` (systemd's default on Debian: 1).
static PROTECTED_FIFOS: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(1);
/// `fs.protected_regular` (systemd's default on Debian: 1).
static PROTECTED_REGULAR: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(1);

/// `fs.protected_fifos`: 0 off; 1 an `O_CREAT` open of an existing FIFO
/// in a sticky world-writable directory is refused unless the caller or
/// the directory's owner owns it; 2 also in sticky group-writable ones.
pub fn protected_fifos() -> u8 {
    PROTECTED_FIFOS.load(core::sync::atomic::Ordering::Relaxed)
}

/// `fs.protected_regular`: as [`protected_fifos`] for regular files.
pub fn protected_regular() -> u8 {
    PROTECTED_REGULAR.load(core::sync::atomic::Ordering::Relaxed)
}

/// Sets `fs.protected_fifos` (0..=2).
pub fn set_protected_fifos(level: u8) {
    PROTECTED_FIFOS.store(level, core::sync::atomic::Ordering::Relaxed);
}

/// Sets `fs.protected_regular` (0..=2).
pub fn set_protected_regular(level: u8) {
    PROTECTED_REGULAR.store(level, core::sync::atomic::Ordering::Relaxed);
}

pub use backing::{
    BackSetAttr, BackStat, Backing, Ext2Backing, IO_CHUNK, RawLock, SpinRawLock, new_backed, new_backed_with,
};
pub use cpio::{NEWC_HEADER_LEN, UnpackStats, gunzip, unpack_initramfs};
pub use ctx::{Ctx, MNT_NODEV, MNT_NOEXEC, MNT_NOSUID, MNT_RDONLY, Opened};
pub use deny::WriteDenied;
pub use dirent::{DIRENT64_HEADER, DirentWriter, dirent64_reclen};
pub use file::{File, RamFile, WaitQueue, set_status_bits};
pub use inode::{ALLOC_STEP, INITIAL_MNT_NS, Inode, RAMFS_MAGIC, new_ramfs, new_ramfs_in, new_tmpfs};
pub use mount::{AsPath, Mount, Path};
pub use notify::{NotifyMarks, mask as fsnotify_mask};
pub use owner::{
    F_OWNER_PGRP, F_OWNER_PID, F_OWNER_TID, FileOwner, OwnerKind, OwnerState, POLL_ERR, POLL_HUP, POLL_IN,
    POLL_MSG, POLL_OUT, POLL_PRI, SIGIO, SIGURG, getown_value, setown_target, sigio_fields,
};
pub use pages::{HeapPages, MapObserver, PageId, PageMemory};
pub use synth::{Magic, SynthEntry, SynthNode, new_synthfs};
pub use types::*;
pub use xattr::{
    XATTR_CREATE, XATTR_INODE_MAX, XATTR_LIST_MAX, XATTR_NAME_MAX, XATTR_REPLACE, XATTR_SIZE_MAX, XattrNs,
    xattr_permission,
};

// The README's example runs as a doctest too (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
