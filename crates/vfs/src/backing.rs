//! The seam between the VFS and a file system kept elsewhere (a disk):
//! [`Backing`], and the ext2 implementation of it ([`Ext2Backing`]).
//!
//! A backed filesystem ([`new_backed`]) keeps the same in-memory inodes as
//! a ramfs, as a cache of the backing store:
//! - a directory is filled from [`Backing::readdir`] on first use (lookup,
//!   getdents, rmdir's emptiness check); its entries' inodes are made
//!   from [`Backing::getattr`] (a symbolic link's target read once);
//!   two names of one inode share one [`Inode`] (a table by inode number);
//! - every namespace, attribute and content change calls the backing
//!   store first, after the VFS's own permission checks, so the file
//!   system's errno (`ENOSPC`, `EMLINK`, `EFBIG`, `EIO`...) is what the
//!   caller sees, and then reloads the attributes it changed from the
//!   store (the store keeps times in its own granularity);
//! - file content is written through to the store (whose block cache,
//!   e.g. ext2's `CachedDisk`, is write-back) and read from it; pages a
//!   kernel maps ([`Inode::map_page`]) are cached here and written back on
//!   [`Inode::sync_fs`] and [`Inode::fsync`];
//! - each inode the VFS holds is pinned in the store ([`Backing::pin`]);
//!   dropping the last reference queues a [`Backing::release`] that runs
//!   at the next call into the store (never inside a drop), so an
//!   unlinked file open somewhere keeps its blocks until its last close.
//!
//! Locks: the store sits behind one mutex per mount (the mount lock). It
//! is the innermost lock: taken under the namespace lock or alone, never
//! with an inode lock held, and the store never calls back into the VFS.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI64, Ordering};

use linux_abi::{Errno, Result};
use spin::Mutex;

use crate::inode::{Body, DirData, Inode, SuperBlock};
use crate::pages::PageMemory;
use crate::types::*;

/// The most bytes one call into the store moves (the mount lock is
/// released between runs, so one large read or write does not hold it
/// for its whole length).
pub const IO_CHUNK: usize = 64 * 1024;

/// An inode's attributes as a backing store reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackStat {
    /// Type and permission bits.
    pub mode: u32,
    /// Hard links.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    /// The preferred I/O size.
    pub blksize: u32,
    /// Last access.
    pub atime: Timespec,
    /// Last modification.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
    /// The device a device inode stands for ([`makedev`]).
    pub rdev: u64,
}

impl BackStat {
    /// With [`BackStat::mode`].
    pub fn with_mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
    /// With [`BackStat::nlink`].
    pub fn with_nlink(mut self, nlink: u32) -> Self {
        self.nlink = nlink;
        self
    }
    /// With [`BackStat::uid`].
    pub fn with_uid(mut self, uid: u32) -> Self {
        self.uid = uid;
        self
    }
    /// With [`BackStat::gid`].
    pub fn with_gid(mut self, gid: u32) -> Self {
        self.gid = gid;
        self
    }
    /// With [`BackStat::size`].
    pub fn with_size(mut self, size: u64) -> Self {
        self.size = size;
        self
    }
    /// With [`BackStat::blocks`].
    pub fn with_blocks(mut self, blocks: u64) -> Self {
        self.blocks = blocks;
        self
    }
    /// With [`BackStat::blksize`].
    pub fn with_blksize(mut self, blksize: u32) -> Self {
        self.blksize = blksize;
        self
    }
    /// With [`BackStat::atime`].
    pub fn with_atime(mut self, atime: Timespec) -> Self {
        self.atime = atime;
        self
    }
    /// With [`BackStat::mtime`].
    pub fn with_mtime(mut self, mtime: Timespec) -> Self {
        self.mtime = mtime;
        self
    }
    /// With [`BackStat::ctime`].
    pub fn with_ctime(mut self, ctime: Timespec) -> Self {
        self.ctime = ctime;
        self
    }
    /// With [`BackStat::rdev`].
    pub fn with_rdev(mut self, rdev: u64) -> Self {
        self.rdev = rdev;
        self
    }
}

/// Attribute changes for [`Backing::setattr`]; `None` keeps the value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackSetAttr {
    /// Permission bits (`S_IALLUGO`).
    pub perm: Option<u32>,
    /// Owner.
    pub uid: Option<u32>,
    /// Group.
    pub gid: Option<u32>,
    /// Access time.
    pub atime: Option<Timespec>,
    /// Modification time.
    pub mtime: Option<Timespec>,
    /// Change time.
    pub ctime: Option<Timespec>,
}

/// A file system the VFS caches: inode numbers in, Linux's errno out.
/// Methods take `&mut self`; the VFS calls them under the mount's lock.
pub trait Backing: Send {
    /// The root directory's inode number.
    fn root(&self) -> u64;
    /// Whether the store refuses changes (`EROFS`).
    fn read_only(&self) -> bool;
    /// An inode's attributes.
    fn getattr(&mut self, ino: u64) -> Result<BackStat>;
    /// Every entry of a directory but "." and "..": (name, inode number).
    fn readdir(&mut self, dir: u64) -> Result<Vec<(Vec<u8>, u64)>>;
    /// A regular file, device node, FIFO or socket (`mode` has the type
    /// bits; `rdev` as [`makedev`]).
    fn create(&mut self, dir: u64, name: &[u8], mode: u32, uid: u32, gid: u32, rdev: u64) -> Result<u64>;
    /// A directory (`perm` are the permission bits).
    fn mkdir(&mut self, dir: u64, name: &[u8], perm: u32, uid: u32, gid: u32) -> Result<u64>;
    /// A symbolic link to `target`.
    fn symlink(&mut self, dir: u64, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<u64>;
    /// A new name for `ino` (also the first name of a [`Backing::tmpfile`]).
    fn link(&mut self, ino: u64, dir: u64, name: &[u8]) -> Result<()>;
    /// An unnamed regular file on the filesystem of directory `dir`
    /// (open(2)'s `O_TMPFILE`; `mode` has the type bits), link count 0,
    /// pinned once ([`Backing::pin`]) for the caller: it goes with its
    /// last [`Backing::release`] unless linked before. `EOPNOTSUPP` where
    /// the store has no such operation.
    fn tmpfile(&mut self, _dir: u64, _mode: u32, _uid: u32, _gid: u32) -> Result<u64> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Removes a non-directory's name.
    fn unlink(&mut self, dir: u64, name: &[u8]) -> Result<()>;
    /// Removes an empty directory.
    fn rmdir(&mut self, dir: u64, name: &[u8]) -> Result<()>;
    /// Moves `oname` of `odir` to `nname` of `ndir`, replacing what is there.
    fn rename(&mut self, odir: u64, oname: &[u8], ndir: u64, nname: &[u8]) -> Result<()>;
    /// Reads content at `off`; the bytes read (0 at the end).
    fn read(&mut self, ino: u64, off: u64, buf: &mut [u8]) -> Result<usize>;
    /// Writes content at `off`; the bytes written.
    fn write(&mut self, ino: u64, off: u64, data: &[u8]) -> Result<usize>;
    /// Sets a regular file's size.
    fn truncate(&mut self, ino: u64, size: u64) -> Result<()>;
    /// A symbolic link's target.
    fn readlink(&mut self, ino: u64) -> Result<Vec<u8>>;
    /// Changes attributes.
    fn setattr(&mut self, ino: u64, a: BackSetAttr) -> Result<()>;
    /// statfs figures.
    fn statfs(&mut self) -> StatFs;
    /// Writes every dirty block and flushes the device.
    fn sync(&mut self) -> Result<()>;
    /// Keeps `ino` alive while the VFS holds it.
    fn pin(&mut self, ino: u64);
    /// Drops a pin; an unlinked inode goes with its last.
    fn release(&mut self, ino: u64) -> Result<()>;
    /// Syncs and leaves the store unusable (umount); later calls `EIO`.
    fn unmount(&mut self) -> Result<()>;
    /// Whether this store supports renameat2's `RENAME_EXCHANGE`.
    fn can_exchange(&self) -> bool {
        false
    }
    /// Swaps what `oname` of `odir` and `nname` of `ndir` name
    /// (`RENAME_EXCHANGE`; only called when [`Self::can_exchange`]).
    fn exchange(&mut self, _odir: u64, _oname: &[u8], _ndir: u64, _nname: &[u8]) -> Result<()> {
        Err(Errno::EINVAL)
    }
    /// The largest file size (Linux's `s_maxbytes`): lseek(2) past it is
    /// `EINVAL`.
    fn max_file_size(&self) -> u64 {
        crate::types::MAX_FILE_SIZE
    }
}

/// A lock its holder may sleep under (a kernel's sleeping mutex; a spin
/// lock in host tests: [`SpinRawLock`]). The store of a backed filesystem
/// sleeps on device I/O, so its locks are these.
pub trait RawLock: Send + Sync {
    /// Waits until the lock is free and takes it.
    fn lock(&self);
    /// Gives it back (called once per [`RawLock::lock`], by its taker).
    fn unlock(&self);
}

/// A [`RawLock`] that spins: for host tests and kernels whose store never
/// sleeps.
#[derive(Default)]
pub struct SpinRawLock(core::sync::atomic::AtomicBool);

impl RawLock for SpinRawLock {
    fn lock(&self) {
        while self.0.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            core::hint::spin_loop();
        }
    }
    fn unlock(&self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A held [`RawLock`], given back on drop.
pub(crate) struct RawGuard<'a>(&'a dyn RawLock);

impl<'a> RawGuard<'a> {
    pub(crate) fn new(l: &'a dyn RawLock) -> Self {
        l.lock();
        RawGuard(l)
    }
}

impl Drop for RawGuard<'_> {
    fn drop(&mut self) {
        self.0.unlock();
    }
}

/// A held namespace lock ([`crate::inode::SuperBlock::ns`]).
pub(crate) enum NsGuard<'a> {
    Spin(#[allow(dead_code)] spin::MutexGuard<'a, ()>),
    Raw(#[allow(dead_code)] RawGuard<'a>),
}

/// The VFS side of a backed filesystem: the store behind its mount lock,
/// the inodes alive by number, the releases waiting.
pub(crate) struct BackedFs {
    /// The mount lock: held across every call into the store (which may
    /// sleep on I/O). `store`'s spin lock is only ever taken under it, so
    /// it never spins.
    mount_lock: Arc<dyn RawLock>,
    /// The namespace lock of this filesystem (taken before `mount_lock`).
    pub(crate) ns_lock: Arc<dyn RawLock>,
    store: Mutex<Box<dyn Backing>>,
    pub(crate) inodes: Mutex<BTreeMap<u64, Weak<Inode>>>,
    releases: Mutex<Vec<u64>>,
    /// Seconds of the first change since the last sync (`i64::MAX`: clean).
    dirty_since: AtomicI64,
}

impl BackedFs {
    /// Runs `f` on the store under the mount lock, after the queued
    /// releases.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut dyn Backing) -> Result<R>) -> Result<R> {
        let queued = core::mem::take(&mut *self.releases.lock());
        let _mount = RawGuard::new(&*self.mount_lock);
        let mut s = self.store.lock();
        for ino in &queued {
            let _ = s.release(*ino);
        }
        f(&mut **s)
    }

    /// Forgets the table entry of `ino` if it is dead (its inode is being
    /// dropped; a new inode of that number may have replaced it already).
    /// Called from the inode's drop: the table's lock is never held where
    /// an inode may be dropped.
    pub(crate) fn forget_dead(&self, ino: u64) {
        let mut t = self.inodes.lock();
        if t.get(&ino).is_some_and(|w| w.strong_count() == 0) {
            t.remove(&ino);
        }
    }

    pub(crate) fn queue_release(&self, ino: u64) {
        let mut r = self.releases.lock();
        // a failed reservation leaks a pin (the inode stays until fsck)
        if r.try_reserve(1).is_ok() {
            r.push(ino);
        }
    }

    pub(crate) fn can_exchange(&self) -> bool {
        self.with(|s| Ok(s.can_exchange())).unwrap_or(false)
    }

    pub(crate) fn max_file_size(&self) -> u64 {
        self.with(|s| Ok(s.max_file_size())).unwrap_or(crate::types::MAX_FILE_SIZE)
    }

    pub(crate) fn mark_dirty(&self, now: i64) {
        let _ =
            self.dirty_since.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| (d > now).then_some(now));
    }
}

/// Creates a filesystem whose inodes are cached from `store` and returns
/// its root directory. `dev` is its `st_dev`; `clock` stamps the VFS's own
/// times (the store keeps its own); `mem` holds mapped pages. `EROFS`
/// state follows the store's. Its namespace and mount locks spin
/// ([`SpinRawLock`]); a kernel whose store sleeps uses
/// [`new_backed_with`].
pub fn new_backed(
    dev: u64,
    clock: Arc<dyn Clock>,
    store: Box<dyn Backing>,
    mem: Arc<dyn PageMemory>,
) -> Result<Arc<Inode>> {
    new_backed_with(dev, clock, store, mem, &|| Arc::new(SpinRawLock::default()))
}

/// [`new_backed`] whose namespace lock and mount lock come from
/// `make_lock` (a kernel's sleeping mutex).
pub fn new_backed_with(
    dev: u64,
    clock: Arc<dyn Clock>,
    store: Box<dyn Backing>,
    mem: Arc<dyn PageMemory>,
    make_lock: &dyn Fn() -> Arc<dyn RawLock>,
) -> Result<Arc<Inode>> {
    let ro = store.read_only();
    let root = store.root();
    let fs = BackedFs {
        mount_lock: make_lock(),
        ns_lock: make_lock(),
        store: Mutex::new(store),
        inodes: Mutex::new(BTreeMap::new()),
        releases: Mutex::new(Vec::new()),
        dirty_since: AtomicI64::new(i64::MAX),
    };
    let sb = SuperBlock::new_backed(dev, clock, mem, fs);
    let inode = backed_inode(&sb, root, None)?;
    if ro {
        let _ = inode.set_fs_read_only(true);
    }
    Ok(inode)
}

/// The in-memory inode of `ino`: the live one, or a new one from the
/// store (pinned there). `parent` is the directory it was found in.
pub(crate) fn backed_inode(
    sb: &Arc<SuperBlock>,
    ino: u64,
    parent: Option<&Arc<Inode>>,
) -> Result<Arc<Inode>> {
    let fs = sb.backing.as_ref().ok_or(Errno::EIO)?;
    if let Some(i) = fs.inodes.lock().get(&ino).and_then(Weak::upgrade) {
        return Ok(i);
    }
    // the store is asked with no spin lock held (it may sleep)
    let (st, target) = fs.with(|s| {
        let st = s.getattr(ino)?;
        let target = if st.mode & S_IFMT == S_IFLNK { Some(s.readlink(ino)?) } else { None };
        s.pin(ino);
        Ok((st, target))
    })?;
    let Some(ftype) = FileType::from_mode(st.mode) else {
        fs.queue_release(ino);
        return Err(Errno::EUCLEAN);
    };
    let body = match ftype {
        FileType::Regular => Body::Regular { pages: BTreeMap::new(), size: st.size },
        FileType::Directory => {
            let mut d = DirData::new(parent.map(Arc::downgrade));
            d.loaded = false;
            Body::Dir(d)
        }
        FileType::Symlink => Body::Symlink(target.unwrap_or_default()),
        FileType::CharDevice | FileType::BlockDevice => Body::Device(st.rdev),
        FileType::Fifo | FileType::Socket => Body::None,
    };
    let inode = Inode::new_backed(sb, ftype, ino, body);
    inode.apply(&st);
    let mut table = fs.inodes.lock();
    if let Some(other) = table.get(&ino).and_then(Weak::upgrade) {
        // another task made it meanwhile: theirs is kept, ours (and its
        // pin) goes after the lock
        drop(table);
        drop(inode);
        return Ok(other);
    }
    table.insert(ino, Arc::downgrade(&inode));
    Ok(inode)
}

impl Inode {
    /// The store of this inode's filesystem, when it is backed.
    pub(crate) fn backing(&self) -> Option<&BackedFs> {
        if self.synth().is_some() { None } else { self.sb.backing.as_ref() }
    }

    /// Whether this inode is cached from a backing store ([`new_backed`]).
    pub fn is_backed(&self) -> bool {
        self.backing().is_some()
    }

    /// Copies the store's attributes into the in-memory inode.
    pub(crate) fn apply(&self, st: &BackStat) {
        let mut d = self.lock();
        d.perm = st.mode & S_IALLUGO;
        d.uid = st.uid;
        d.gid = st.gid;
        d.nlink = st.nlink;
        d.atime = st.atime;
        d.mtime = st.mtime;
        d.ctime = st.ctime;
        d.blocks = st.blocks;
        d.blksize = st.blksize;
        match &mut d.body {
            Body::Regular { size, .. } => *size = st.size,
            Body::Dir(_) => d.dir_size = st.size,
            _ => {}
        }
    }

    /// Reloads the attributes from the store (after a change), marking
    /// the filesystem dirty. A store error leaves the cached ones.
    pub(crate) fn reload(&self) {
        if let Some(fs) = self.backing() {
            fs.mark_dirty(self.sb.now().sec);
            if let Ok(st) = fs.with(|s| s.getattr(self.ino())) {
                self.apply(&st);
            }
        }
    }

    /// Calls `f(page, in_page, range)` for each cached page that holds
    /// bytes of `offset..offset + len`: `in_page` is where the bytes start
    /// in the page, `range` where they are relative to `offset`. Runs
    /// under the inode lock (`f` must take no lock).
    fn each_cached_page(
        &self,
        offset: u64,
        len: usize,
        mut f: impl FnMut(crate::PageId, usize, core::ops::Range<usize>),
    ) {
        let d = self.lock();
        let Body::Regular { pages, .. } = &d.body else { return };
        if pages.is_empty() || len == 0 {
            return;
        }
        let ps = PAGE_SIZE as u64;
        let end = offset + len as u64;
        for (&idx, &page) in pages.range(offset / ps..end.div_ceil(ps)) {
            let lo = (idx * ps).max(offset);
            let hi = ((idx + 1) * ps).min(end);
            f(page, (lo - idx * ps) as usize, (lo - offset) as usize..(hi - offset) as usize);
        }
    }

    /// read(2) of a backed regular file: from the store in runs of
    /// [`IO_CHUNK`] bytes (the mount lock is let go between them), with
    /// the pages a kernel mapped laid over each run under the same hold of
    /// the mount lock (they may be newer; a write changes both under it).
    pub(crate) fn read_backed(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let Some(fs) = self.backing() else { return Err(Errno::EIO) };
        let size = {
            let d = self.lock();
            match &d.body {
                Body::Regular { size, .. } => *size,
                _ => return Err(if self.is_dir() { Errno::EISDIR } else { Errno::EINVAL }),
            }
        };
        if offset >= size {
            return Ok(0);
        }
        let n = usize::try_from(size - offset).map_or(buf.len(), |left| left.min(buf.len()));
        let mut done = 0;
        while done < n {
            let chunk = (n - done).min(IO_CHUNK);
            let at = offset + done as u64;
            let part = &mut buf[done..done + chunk];
            fs.with(|s| {
                let got = s.read(self.ino(), at, part)?;
                // the store's file may be shorter than the cached size:
                // zeros, under the pages
                part[got..].fill(0);
                let mem = &self.sb.mem;
                self.each_cached_page(at, chunk, |page, in_page, r| mem.read(page, in_page, &mut part[r]));
                Ok(())
            })?;
            done += chunk;
        }
        Ok(n)
    }

    /// write(2) of a backed regular file (`offset` `None`: at the end):
    /// through to the store in runs of [`IO_CHUNK`] bytes, its errno first
    /// (a short write when some bytes went), the mapped pages changed under
    /// the same hold of the mount lock as the store (so a write-back never
    /// sees one without the other).
    pub(crate) fn write_backed(&self, offset: Option<u64>, buf: &[u8]) -> Result<(usize, u64)> {
        let Some(fs) = self.backing() else { return Err(Errno::EIO) };
        let size = {
            let d = self.lock();
            match &d.body {
                Body::Regular { size, .. } => *size,
                _ => return Err(if self.is_dir() { Errno::EISDIR } else { Errno::EINVAL }),
            }
        };
        let offset = offset.unwrap_or(size);
        if buf.is_empty() {
            return Ok((0, offset));
        }
        if offset >= MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let mut done = 0;
        let mut err = None;
        while done < buf.len() {
            let chunk = (buf.len() - done).min(IO_CHUNK);
            let at = offset + done as u64;
            let part = &buf[done..done + chunk];
            let r = fs.with(|s| {
                let n = s.write(self.ino(), at, part)?;
                let mem = &self.sb.mem;
                self.each_cached_page(at, n.min(chunk), |page, in_page, r| {
                    mem.write(page, in_page, &part[r])
                });
                Ok(n)
            });
            match r {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        self.reload();
        match (done, err) {
            (0, Some(e)) => Err(e),
            (0, None) => Err(Errno::ENOSPC),
            (n, _) => Ok((n, offset + n as u64)),
        }
    }

    /// truncate(2) of a backed regular file: the store first, then (under
    /// the same hold of the mount lock, so a write-back never writes a page
    /// the file no longer has) the cached pages past the end dropped; the
    /// mappings told after.
    pub(crate) fn truncate_backed(&self, len: u64) -> Result<()> {
        let Some(fs) = self.backing() else { return Err(Errno::EIO) };
        if !matches!(self.lock().body, Body::Regular { .. }) {
            return Err(if self.is_dir() { Errno::EISDIR } else { Errno::EINVAL });
        }
        let ps = PAGE_SIZE as u64;
        let first_gone = len.div_ceil(ps);
        let gone = fs.with(|s| {
            s.truncate(self.ino(), len)?;
            let mut d = self.lock();
            let Body::Regular { pages, .. } = &mut d.body else { return Ok(BTreeMap::new()) };
            let gone = pages.split_off(&first_gone);
            let in_page = (len % ps) as usize;
            if in_page != 0
                && let Some(&p) = pages.get(&(len / ps))
            {
                self.sb.mem.zero(p, in_page, PAGE_SIZE - in_page);
            }
            Ok(gone)
        })?;
        let dropped = !gone.is_empty();
        self.sb.free_pages_preemptible(gone.into_values());
        if dropped {
            self.notify_dropped(first_gone, None, true);
        }
        self.reload();
        Ok(())
    }

    /// [`Inode::map_page`] of a backed file: a page not cached yet is read
    /// from the store (no inode lock held) and then entered, unless
    /// another task entered one first.
    pub(crate) fn map_backed_page(&self, index: u64) -> Result<crate::PageId> {
        let Some(fs) = self.backing() else { return Err(Errno::ENODEV) };
        let cached = |d: &crate::inode::InodeData| -> Result<Option<crate::PageId>> {
            let Body::Regular { pages, size } = &d.body else { return Err(Errno::ENODEV) };
            if index >= size.div_ceil(PAGE_SIZE as u64) {
                return Err(Errno::EFAULT);
            }
            Ok(pages.get(&index).copied())
        };
        if let Some(p) = cached(&self.lock())? {
            self.sb.mem.add_ref(p);
            return Ok(p);
        }
        let mut buf = Vec::new();
        buf.try_reserve_exact(PAGE_SIZE).map_err(|_| Errno::ENOMEM)?;
        buf.resize(PAGE_SIZE, 0);
        let fresh = self.sb.alloc_page()?;
        // read and entered under one hold of the mount lock: a write
        // between the two would leave the page older than the store
        let r = fs.with(|s| {
            s.read(self.ino(), index * PAGE_SIZE as u64, &mut buf)?;
            self.sb.mem.write(fresh, 0, &buf);
            let mut d = self.lock();
            match cached(&d)? {
                Some(p) => Ok((p, Some(fresh))),
                None => {
                    if let Body::Regular { pages, .. } = &mut d.body {
                        pages.insert(index, fresh);
                    }
                    Ok((fresh, None))
                }
            }
        });
        match r {
            Ok((p, spare)) => {
                self.sb.mem.add_ref(p);
                if let Some(x) = spare {
                    self.sb.free_pages([x]);
                }
                Ok(p)
            }
            Err(e) => {
                self.sb.free_pages([fresh]);
                Err(e)
            }
        }
    }

    /// Fills a backed directory from the store the first time it is used.
    pub(crate) fn ensure_loaded(self: &Arc<Self>) -> Result<()> {
        let Some(fs) = self.backing() else { return Ok(()) };
        if self.lock().dir().is_none_or(|d| d.loaded) {
            return Ok(());
        }
        let names = fs.with(|s| s.readdir(self.ino()))?;
        let mut kids = Vec::new();
        kids.try_reserve_exact(names.len()).map_err(|_| Errno::ENOMEM)?;
        for (name, ino) in names {
            kids.push((name, backed_inode(&self.sb, ino, Some(self))?));
        }
        let mut d = self.lock();
        if let Some(dir) = d.dir_mut()
            && !dir.loaded
        {
            for (name, inode) in &kids {
                dir.insert(name, Arc::clone(inode));
            }
            dir.loaded = true;
        }
        drop(d);
        // inodes not kept (another loader won) are dropped unlocked
        drop(kids);
        Ok(())
    }

    /// Writes attribute changes to the store, then reloads them.
    pub(crate) fn push_attrs(&self, a: BackSetAttr) -> Result<()> {
        if let Some(s) = self.synth()
            && (a.perm.is_some() || a.uid.is_some() || a.gid.is_some())
        {
            s.node.set_attrs(a.perm, a.uid, a.gid);
        }
        let Some(fs) = self.backing() else { return Ok(()) };
        let r = fs.with(|s| s.setattr(self.ino(), a));
        self.reload();
        r
    }

    /// Writes back the pages a kernel mapped that differ from the store:
    /// only a file that was mapped shared and writable can have such
    /// pages ([`Inode::note_shared_write_map`]; every write(2) changes
    /// the store and the page together), and a page equal to the store's
    /// content is not written (ext2 stamps mtime/ctime on every write, so
    /// a sync must not touch a program that only ran from the disk).
    /// Nothing on a read-only filesystem, whose pages cannot have been
    /// written (a sync or umount there must not fail with `EROFS`).
    ///
    /// Each page is held (a reference) from the snapshot on, and looked
    /// at again under the mount lock: still this file's page at that
    /// index (a truncate drops pages under the same lock) and within the
    /// store's size, which bounds the write (the file is never
    /// re-extended).
    fn write_back_mapped(&self) -> Result<()> {
        let Some(fs) = self.backing() else { return Ok(()) };
        if self.fs_read_only() || !self.shared_write_mapped.load(Ordering::Relaxed) {
            return Ok(());
        }
        let pages: Vec<(u64, crate::PageId)> = {
            let d = self.lock();
            let Body::Regular { pages, .. } = &d.body else { return Ok(()) };
            let mut v = Vec::new();
            v.try_reserve_exact(pages.len()).map_err(|_| Errno::ENOMEM)?;
            for (&i, &p) in pages {
                self.sb.mem.add_ref(p);
                v.push((i, p));
            }
            v
        };
        let mut bufs = Vec::new();
        let mut r = bufs.try_reserve_exact(2 * PAGE_SIZE).map_err(|_| Errno::ENOMEM);
        if r.is_ok() {
            bufs.resize(2 * PAGE_SIZE, 0);
        }
        let half = bufs.len() / 2;
        let (mine, theirs) = bufs.split_at_mut(half);
        for &(idx, page) in &pages {
            if r.is_err() {
                break;
            }
            let off = idx * PAGE_SIZE as u64;
            r = fs.with(|s| {
                let still = matches!(&self.lock().body, Body::Regular { pages, .. } if pages.get(&idx) == Some(&page));
                let size = s.getattr(self.ino())?.size;
                if !still || off >= size {
                    return Ok(());
                }
                let n = ((size - off) as usize).min(PAGE_SIZE);
                self.sb.mem.read(page, 0, &mut mine[..n]);
                let got = s.read(self.ino(), off, &mut theirs[..n])?;
                theirs[got..n].fill(0);
                if mine[..n] != theirs[..n] {
                    s.write(self.ino(), off, &mine[..n])?;
                }
                Ok(())
            });
        }
        for (_, page) in pages {
            self.sb.mem.release(page);
        }
        r
    }

    /// Notes that this file is mapped shared and writable (mmap of a file
    /// open for writing with `MAP_SHARED`): from now on
    /// [`Inode::fsync`] and [`Inode::sync_fs`] look for pages written
    /// through a mapping and write them back.
    pub fn note_shared_write_map(&self) {
        self.shared_write_mapped.store(true, Ordering::Relaxed);
    }

    /// fsync(2) / fdatasync(2): this file's mapped pages written back,
    /// then the store synced (its dirty blocks written, the device
    /// flushed). Nothing to do on an in-memory filesystem.
    pub fn fsync(&self) -> Result<()> {
        let Some(fs) = self.backing() else { return Ok(()) };
        self.write_back_mapped()?;
        fs.with(|s| s.sync())
    }

    /// syncfs(2) / sync(2) of this inode's filesystem: every mapped page
    /// of every cached file written back, then the store synced.
    pub fn sync_fs(&self) -> Result<()> {
        let Some(fs) = self.backing() else { return Ok(()) };
        // the table in batches: a few entries collected under its lock,
        // written back (and dropped) after it
        const BATCH: usize = 32;
        let mut first_err = Ok(());
        let mut next = 0u64;
        let mut live: Vec<Arc<Inode>> = Vec::new();
        live.try_reserve_exact(BATCH).map_err(|_| Errno::ENOMEM)?;
        loop {
            let mut last = None;
            {
                let t = fs.inodes.lock();
                for (&ino, w) in t.range(next..).take(BATCH) {
                    last = Some(ino);
                    // (kept whatever it is: the last reference to an
                    // inode must not go under this lock, its drop takes it)
                    if let Some(i) = w.upgrade() {
                        live.push(i);
                    }
                }
            }
            for i in live.drain(..) {
                if let Err(e) = i.write_back_mapped() {
                    first_err = first_err.and(Err(e));
                }
            }
            match last.and_then(|l| l.checked_add(1)) {
                Some(n) => next = n,
                None => break,
            }
        }
        fs.dirty_since.store(i64::MAX, Ordering::Relaxed);
        let r = fs.with(|s| s.sync());
        first_err.and(r)
    }

    /// The periodic flush: syncs this inode's filesystem when something
    /// changed in it more than `age` seconds before `now` (seconds).
    /// Returns whether it synced.
    pub fn flush_if_older(&self, now: i64, age: i64) -> Result<bool> {
        let Some(fs) = self.backing() else { return Ok(false) };
        let since = fs.dirty_since.load(Ordering::Relaxed);
        if since == i64::MAX || now.saturating_sub(since) < age {
            return Ok(false);
        }
        self.sync_fs().map(|()| true)
    }

    /// umount(2) of a backed filesystem (after the kernel checked nothing
    /// is open): synced, then the store is closed; later calls get `EIO`.
    pub fn unmount_store(&self) -> Result<()> {
        let Some(fs) = self.backing() else { return Ok(()) };
        self.sync_fs()?;
        fs.with(|s| s.unmount())
    }
}

/// [`Backing`] over an ext2 file system ([`ext2::Ext2`]) on any block
/// device (e.g. a write-back [`ext2::CachedDisk`] over a disk).
pub struct Ext2Backing<D: ext2::BlockDevice> {
    fs: Option<ext2::Ext2<D>>,
    root: u64,
    ro: bool,
}

impl<D: ext2::BlockDevice> Ext2Backing<D> {
    /// Wraps a mounted ext2.
    pub fn new(fs: ext2::Ext2<D>) -> Self {
        Self { root: u64::from(fs.root()), ro: fs.is_read_only(), fs: Some(fs) }
    }

    /// The file system (`None` after [`Backing::unmount`]).
    pub fn fs(&mut self) -> Option<&mut ext2::Ext2<D>> {
        self.fs.as_mut()
    }

    /// Takes the file system out (unmounted by the caller).
    pub fn into_inner(self) -> Option<ext2::Ext2<D>> {
        self.fs
    }

    fn f(&mut self) -> Result<&mut ext2::Ext2<D>> {
        self.fs.as_mut().ok_or(Errno::EIO)
    }
}

fn ino32(ino: u64) -> Result<u32> {
    u32::try_from(ino).map_err(|_| Errno::ESTALE)
}

fn secs(t: Option<Timespec>) -> Option<u32> {
    t.map(|t| t.sec.clamp(0, i64::from(u32::MAX)) as u32)
}

impl<D: ext2::BlockDevice + Send> Backing for Ext2Backing<D> {
    fn root(&self) -> u64 {
        self.root
    }
    fn max_file_size(&self) -> u64 {
        self.fs.as_ref().map_or(crate::types::MAX_FILE_SIZE, |f| f.max_file_size())
    }
    fn read_only(&self) -> bool {
        self.ro
    }
    fn getattr(&mut self, ino: u64) -> Result<BackStat> {
        let st = self.f()?.stat(ino32(ino)?)?;
        let t = |s: u32| Timespec::new(i64::from(s), 0);
        Ok(BackStat {
            mode: u32::from(st.mode),
            nlink: u32::from(st.nlink),
            uid: st.uid,
            gid: st.gid,
            size: st.size,
            blocks: st.blocks,
            blksize: st.blksize,
            atime: t(st.atime),
            mtime: t(st.mtime),
            ctime: t(st.ctime),
            rdev: makedev(st.rdev.0, st.rdev.1),
        })
    }
    fn readdir(&mut self, dir: u64) -> Result<Vec<(Vec<u8>, u64)>> {
        let list = self.f()?.list(ino32(dir)?)?;
        let mut v = Vec::new();
        v.try_reserve_exact(list.len()).map_err(|_| Errno::ENOMEM)?;
        v.extend(
            list.into_iter()
                .filter(|e| e.name != b"." && e.name != b"..")
                .map(|e| (e.name, u64::from(e.ino))),
        );
        Ok(v)
    }
    fn create(&mut self, dir: u64, name: &[u8], mode: u32, uid: u32, gid: u32, rdev: u64) -> Result<u64> {
        let dev = matches!(mode & S_IFMT, S_IFCHR | S_IFBLK).then(|| (major(rdev), minor(rdev)));
        self.f()?.create(ino32(dir)?, name, mode as u16, uid, gid, dev).map(u64::from)
    }
    fn mkdir(&mut self, dir: u64, name: &[u8], perm: u32, uid: u32, gid: u32) -> Result<u64> {
        self.f()?.mkdir(ino32(dir)?, name, (perm & S_IALLUGO) as u16, uid, gid).map(u64::from)
    }
    fn symlink(&mut self, dir: u64, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<u64> {
        self.f()?.symlink(ino32(dir)?, name, target, uid, gid).map(u64::from)
    }
    fn link(&mut self, ino: u64, dir: u64, name: &[u8]) -> Result<()> {
        let (ino, dir) = (ino32(ino)?, ino32(dir)?);
        self.f()?.link(ino, dir, name)
    }
    fn tmpfile(&mut self, dir: u64, mode: u32, uid: u32, gid: u32) -> Result<u64> {
        self.f()?.tmpfile(ino32(dir)?, mode as u16, uid, gid).map(u64::from)
    }
    fn unlink(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        self.f()?.unlink(ino32(dir)?, name)
    }
    fn rmdir(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        self.f()?.rmdir(ino32(dir)?, name)
    }
    fn rename(&mut self, odir: u64, oname: &[u8], ndir: u64, nname: &[u8]) -> Result<()> {
        let (o, n) = (ino32(odir)?, ino32(ndir)?);
        self.f()?.rename(o, oname, n, nname)
    }
    fn can_exchange(&self) -> bool {
        true
    }
    fn exchange(&mut self, odir: u64, oname: &[u8], ndir: u64, nname: &[u8]) -> Result<()> {
        let (o, n) = (ino32(odir)?, ino32(ndir)?);
        self.f()?.exchange(o, oname, n, nname)
    }
    fn read(&mut self, ino: u64, off: u64, buf: &mut [u8]) -> Result<usize> {
        self.f()?.read(ino32(ino)?, off, buf)
    }
    fn write(&mut self, ino: u64, off: u64, data: &[u8]) -> Result<usize> {
        self.f()?.write(ino32(ino)?, off, data)
    }
    fn truncate(&mut self, ino: u64, size: u64) -> Result<()> {
        self.f()?.truncate(ino32(ino)?, size)
    }
    fn readlink(&mut self, ino: u64) -> Result<Vec<u8>> {
        self.f()?.readlink(ino32(ino)?)
    }
    fn setattr(&mut self, ino: u64, a: BackSetAttr) -> Result<()> {
        let a = ext2::SetAttr::default()
            .with_mode(a.perm.map(|p| (p & S_IALLUGO) as u16))
            .with_uid(a.uid)
            .with_gid(a.gid)
            .with_atime(secs(a.atime))
            .with_mtime(secs(a.mtime))
            .with_ctime(secs(a.ctime));
        self.f()?.setattr(ino32(ino)?, a)
    }
    fn statfs(&mut self) -> StatFs {
        let Some(fs) = self.fs.as_mut() else { return StatFs::default() };
        let s = fs.statfs();
        StatFs {
            fs_type: u64::from(ext2::EXT2_SUPER_MAGIC),
            bsize: u64::from(s.bsize),
            blocks: s.blocks,
            bfree: s.bfree,
            bavail: s.bavail,
            files: s.files,
            ffree: s.ffree,
            namelen: u64::from(s.namelen),
        }
    }
    fn sync(&mut self) -> Result<()> {
        self.f()?.sync()
    }
    fn pin(&mut self, ino: u64) {
        if let (Some(fs), Ok(i)) = (self.fs.as_mut(), ino32(ino)) {
            fs.pin(i);
        }
    }
    fn release(&mut self, ino: u64) -> Result<()> {
        self.f()?.release(ino32(ino)?)
    }
    fn unmount(&mut self) -> Result<()> {
        match self.fs.take() {
            Some(fs) => fs.unmount().map(drop),
            None => Ok(()),
        }
    }
}
