//! Inodes of the in-memory filesystem (ramfs) and their content.

use alloc::collections::{BTreeMap, btree_map};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use linux_abi::{Errno, Result};
use spin::{Mutex, MutexGuard};

use crate::pages::{HeapPages, MapObserver, PageId, PageMemory};
use crate::synth::Synth;
use crate::types::*;

/// The id of the initial mount namespace in the calls that take one
/// ([`crate::Ctx::with_mnt_ns`], [`Inode::mount_in_ns`]): its mounts sit in
/// the directories' own fields, other namespaces' in short lists beside
/// them.
pub const INITIAL_MNT_NS: u64 = 0;

/// The most pages [`Inode::allocate`] adds under one hold of the inode lock.
pub const ALLOC_STEP: u64 = 64;

/// `RAMFS_MAGIC`, reported by statfs(2).
pub const RAMFS_MAGIC: u64 = 0x8584_58f6;

/// One filesystem instance: its device number, inode numbers, clock and
/// page accounting (Linux's `super_block`).
pub(crate) struct SuperBlock {
    pub(crate) dev: u64,
    next_ino: AtomicU64,
    inodes: AtomicU64,
    pub(crate) clock: Arc<dyn Clock>,
    /// Serialises every change to the namespace of this filesystem
    /// (create, remove, rename, link, mount): Linux's `s_vfs_rename_mutex`
    /// widened. Lock order: this lock, then one inode lock at a time.
    pub(crate) ns_lock: Mutex<()>,
    pages: AtomicU64,
    max_pages: Option<u64>,
    /// The most inodes (tmpfs's `nr_inodes`; `ENOSPC` at creation beyond).
    pub(crate) max_inodes: Option<u64>,
    /// Where file content lives.
    pub(crate) mem: Arc<dyn PageMemory>,
    /// Mounted read-only (mount(2) with `MS_RDONLY`, or a remount).
    read_only: core::sync::atomic::AtomicBool,
    /// Regular files open for writing ([`crate::RamFile`]): a remount
    /// read-only is `EBUSY` while there are some.
    pub(crate) writers: AtomicU64,
    /// Files open on this filesystem ([`crate::RamFile`]): umount(2) is
    /// `EBUSY` while there are some.
    pub(crate) open_files: AtomicU64,
    /// The store a backed filesystem caches ([`crate::new_backed`]).
    pub(crate) backing: Option<crate::backing::BackedFs>,
    /// Directories report tmpfs's sizes ([`Inode::set_tmpfs_dir_sizes`]).
    tmpfs_dir_sizes: core::sync::atomic::AtomicBool,
}

impl SuperBlock {
    pub(crate) fn new(
        dev: u64,
        clock: Arc<dyn Clock>,
        max_pages: Option<u64>,
        max_inodes: Option<u64>,
        mem: Arc<dyn PageMemory>,
    ) -> Arc<Self> {
        Arc::new(SuperBlock {
            mem,
            dev,
            max_inodes,
            next_ino: AtomicU64::new(1),
            inodes: AtomicU64::new(0),
            clock,
            ns_lock: Mutex::new(()),
            pages: AtomicU64::new(0),
            max_pages,
            read_only: core::sync::atomic::AtomicBool::new(false),
            writers: AtomicU64::new(0),
            open_files: AtomicU64::new(0),
            backing: None,
            tmpfs_dir_sizes: core::sync::atomic::AtomicBool::new(false),
        })
    }

    pub(crate) fn new_backed(
        dev: u64,
        clock: Arc<dyn Clock>,
        mem: Arc<dyn PageMemory>,
        fs: crate::backing::BackedFs,
    ) -> Arc<Self> {
        Arc::new(SuperBlock {
            mem,
            dev,
            max_inodes: None,
            next_ino: AtomicU64::new(1),
            inodes: AtomicU64::new(0),
            clock,
            ns_lock: Mutex::new(()),
            pages: AtomicU64::new(0),
            max_pages: None,
            read_only: core::sync::atomic::AtomicBool::new(false),
            writers: AtomicU64::new(0),
            open_files: AtomicU64::new(0),
            tmpfs_dir_sizes: core::sync::atomic::AtomicBool::new(false),
            backing: Some(fs),
        })
    }

    pub(crate) fn now(&self) -> Timespec {
        self.clock.now()
    }

    /// The namespace lock: a spin lock for in-memory filesystems, the
    /// mount's sleeping lock for a backed one (its store sleeps on I/O
    /// while it is held).
    pub(crate) fn ns(&self) -> crate::backing::NsGuard<'_> {
        match &self.backing {
            Some(fs) => crate::backing::NsGuard::Raw(crate::backing::RawGuard::new(&*fs.ns_lock)),
            None => crate::backing::NsGuard::Spin(self.ns_lock.lock()),
        }
    }

    /// shmem_reserve_inode's check before a new inode: `ENOSPC` once the
    /// filesystem holds `max_inodes` (its root is one of them).
    pub(crate) fn check_inode_room(&self) -> Result<()> {
        match self.max_inodes {
            Some(max) if self.inodes.load(Ordering::Relaxed) >= max => Err(Errno::ENOSPC),
            _ => Ok(()),
        }
    }

    pub(crate) fn alloc_page(&self) -> Result<PageId> {
        if let Some(max) = self.max_pages {
            let ok = self
                .pages
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| (p < max).then_some(p + 1))
                .is_ok();
            if !ok {
                return Err(Errno::ENOSPC);
            }
        } else {
            self.pages.fetch_add(1, Ordering::Relaxed);
        }
        self.mem.alloc_zeroed().ok_or_else(|| {
            self.pages.fetch_sub(1, Ordering::Relaxed);
            Errno::ENOSPC
        })
    }

    /// Gives pages dropped from a file back (call with no inode lock held
    /// when there can be many: the memory's own lock is taken per page).
    pub(crate) fn free_pages(&self, pages: impl IntoIterator<Item = PageId>) {
        for p in pages {
            self.pages.fetch_sub(1, Ordering::Relaxed);
            self.mem.release(p);
        }
    }

    /// [`free_pages`](Self::free_pages) for a truncation or a punched hole
    /// (as many pages as the file had): [`PageMemory::preempt_point`]
    /// after every [`FREE_BATCH`] pages. The caller holds no lock of the
    /// filesystem (nor of the kernel's: the point may switch tasks).
    pub(crate) fn free_pages_preemptible(&self, pages: impl IntoIterator<Item = PageId>) {
        for (i, p) in pages.into_iter().enumerate() {
            if i != 0 && i % FREE_BATCH == 0 {
                self.mem.preempt_point();
            }
            self.pages.fetch_sub(1, Ordering::Relaxed);
            self.mem.release(p);
        }
    }
}

/// Pages freed between two preemption points of a truncation.
const FREE_BATCH: usize = 1024;

/// Creates an empty ramfs and returns its root directory (mode `0o755`,
/// owned by root, inode number 1).
///
/// `dev` is the filesystem's device number for `st_dev` ([`makedev`]);
/// `clock` gives every timestamp; `max_pages` bounds the content pages
/// (`ENOSPC` beyond), `None` for no bound but memory.
pub fn new_ramfs(dev: u64, clock: Arc<dyn Clock>, max_pages: Option<u64>) -> Arc<Inode> {
    new_ramfs_in(dev, clock, max_pages, Arc::new(HeapPages::new()))
}

/// [`new_ramfs`] whose file content lives in `mem` (a kernel's frames, so
/// files can be memory-mapped with [`Inode::map_page`]).
pub fn new_ramfs_in(
    dev: u64,
    clock: Arc<dyn Clock>,
    max_pages: Option<u64>,
    mem: Arc<dyn PageMemory>,
) -> Arc<Inode> {
    new_tmpfs(dev, clock, max_pages, None, mem)
}

/// [`new_ramfs_in`] that also bounds the number of inodes, the root
/// included (tmpfs's `nr_inodes`): creating one more is `ENOSPC`, and
/// statfs reports `f_files`/`f_ffree` from it.
pub fn new_tmpfs(
    dev: u64,
    clock: Arc<dyn Clock>,
    max_pages: Option<u64>,
    max_inodes: Option<u64>,
    mem: Arc<dyn PageMemory>,
) -> Arc<Inode> {
    let sb = SuperBlock::new(dev, clock, max_pages, max_inodes, mem);
    Inode::new(&sb, FileType::Directory, 0o755, 0, 0, Body::Dir(DirData::new(None)))
}

/// Zeroes the bytes of the page holding offset `from` that lie at or past
/// it (a file's old or new end), when that page exists.
fn zero_tail(mem: &dyn PageMemory, pages: &BTreeMap<u64, PageId>, from: u64) {
    let in_page = (from % PAGE_SIZE as u64) as usize;
    if in_page != 0
        && let Some(&p) = pages.get(&(from / PAGE_SIZE as u64))
    {
        mem.zero(p, in_page, PAGE_SIZE - in_page);
    }
}

/// The directory part of an inode.
pub(crate) struct DirData {
    /// Name → (readdir cookie, inode): a path walk's step is one search.
    by_name: BTreeMap<Vec<u8>, (u64, Arc<Inode>)>,
    /// Readdir cookie → (name, inode); cookies only grow, so a readdir
    /// position stays meaningful while the directory changes.
    by_cookie: BTreeMap<u64, (Vec<u8>, Arc<Inode>)>,
    next_cookie: u64,
    /// The parent directory; `None` for the root of a filesystem.
    pub(crate) parent: Option<Weak<Inode>>,
    /// The mount on this directory (in the initial mount namespace).
    pub(crate) mounted: Option<Arc<crate::Mount>>,
    /// For the root of a mounted filesystem: the directory it covers.
    pub(crate) mountpoint: Option<Weak<Inode>>,
    /// The same two in mount namespaces other than the initial one
    /// (namespace id, root mounted here); empty in the common case.
    pub(crate) ns_mounted: Vec<(u64, Arc<crate::Mount>)>,
    /// (namespace id, the directory this root covers there).
    pub(crate) ns_mountpoint: Vec<(u64, Weak<Inode>)>,
    /// Whether the entries are here (a backed directory is filled from
    /// its store on first use).
    pub(crate) loaded: bool,
}

/// The first readdir cookie of a real entry ("." is 0 and ".." is 1).
const FIRST_COOKIE: u64 = 2;

impl DirData {
    pub(crate) fn new(parent: Option<Weak<Inode>>) -> Self {
        Self {
            by_name: BTreeMap::new(),
            by_cookie: BTreeMap::new(),
            next_cookie: FIRST_COOKIE,
            parent,
            mounted: None,
            mountpoint: None,
            ns_mounted: Vec::new(),
            ns_mountpoint: Vec::new(),
            loaded: true,
        }
    }

    pub(crate) fn get(&self, name: &[u8]) -> Option<&Arc<Inode>> {
        self.by_name.get(name).map(|(_, i)| i)
    }

    pub(crate) fn insert(&mut self, name: &[u8], inode: Arc<Inode>) {
        let c = self.next_cookie;
        self.next_cookie += 1;
        if let Some((old, _)) = self.by_name.insert(name.to_vec(), (c, Arc::clone(&inode))) {
            self.by_cookie.remove(&old);
        }
        self.by_cookie.insert(c, (name.to_vec(), inode));
    }

    pub(crate) fn remove(&mut self, name: &[u8]) -> Option<Arc<Inode>> {
        let (c, inode) = self.by_name.remove(name)?;
        self.by_cookie.remove(&c);
        Some(inode)
    }

    /// Replaces the inode of an existing entry in place (same cookie).
    pub(crate) fn replace(&mut self, name: &[u8], inode: Arc<Inode>) -> Option<Arc<Inode>> {
        let (c, by_name) = self.by_name.get_mut(name)?;
        let slot = self.by_cookie.get_mut(c)?;
        *by_name = Arc::clone(&inode);
        Some(core::mem::replace(&mut slot.1, inode))
    }

    pub(crate) fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Entries from cookie `from` on, in cookie order.
    pub(crate) fn entries_from(&self, from: u64) -> impl Iterator<Item = (u64, &[u8], &Arc<Inode>)> {
        self.by_cookie.range(from..).map(|(c, (n, i))| (*c, n.as_slice(), i))
    }

    /// The name under which `child` is in this directory.
    pub(crate) fn name_of(&self, child: &Arc<Inode>) -> Option<&[u8]> {
        self.by_cookie.values().find(|(_, i)| Arc::ptr_eq(i, child)).map(|(n, _)| n.as_slice())
    }
}

/// The content of an inode, by type.
pub(crate) enum Body {
    /// A regular file: pages of content (absent pages are holes) and a size.
    Regular {
        pages: BTreeMap<u64, PageId>,
        size: u64,
    },
    Dir(DirData),
    Symlink(Vec<u8>),
    /// A device inode: its device number.
    Device(u64),
    /// A FIFO or socket: no content here.
    None,
}

/// The mutable part of an inode.
pub(crate) struct InodeData {
    pub(crate) perm: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) nlink: u32,
    pub(crate) atime: Timespec,
    pub(crate) mtime: Timespec,
    pub(crate) ctime: Timespec,
    pub(crate) body: Body,
    /// File seals (`F_ADD_SEALS`); a regular file starts with
    /// [`F_SEAL_SEAL`], as Linux's tmpfs files (memfd_create may clear it).
    pub(crate) seals: u32,
    /// `F_ADD_SEALS(F_SEAL_WRITE)` calls looking for shared writable
    /// mappings right now (Linux's `mapping_deny_writable`): no new one
    /// may be made meanwhile ([`Inode::write_maps_denied`]).
    pub(crate) write_map_deniers: u32,
    /// Extended attributes (crate::xattr).
    pub(crate) xattrs: crate::xattr::Xattrs,
    /// The creation time (statx's `stx_btime`).
    pub(crate) btime: Timespec,
    /// Where the last name of an unlinked file was: its directory and the
    /// name (what /proc shows with " (deleted)").
    pub(crate) unlinked_from: Option<(Weak<Inode>, Vec<u8>)>,
    /// An `O_TMPFILE` file opened without `O_EXCL` that has no name yet:
    /// linkat(2) may give it one although its link count is 0 (Linux's
    /// `I_LINKABLE`); cleared by that link.
    pub(crate) linkable: bool,
    /// A backed inode's 512-byte blocks, as its store counts them.
    pub(crate) blocks: u64,
    /// A backed inode's preferred I/O size (0: a page).
    pub(crate) blksize: u32,
    /// A backed directory's size as its store counts it (ext2: its
    /// blocks' bytes); a ramfs directory's is 0.
    pub(crate) dir_size: u64,
}

impl InodeData {
    pub(crate) fn dir(&self) -> Option<&DirData> {
        match &self.body {
            Body::Dir(d) => Some(d),
            _ => None,
        }
    }

    pub(crate) fn dir_mut(&mut self) -> Option<&mut DirData> {
        match &mut self.body {
            Body::Dir(d) => Some(d),
            _ => None,
        }
    }

    /// Linux's `generic_permission`: whether `cred` may access this inode
    /// with `mask` (a combination of [`R_OK`], [`W_OK`], [`X_OK`]).
    pub(crate) fn permits(&self, ftype: FileType, cred: &Cred, mask: u32) -> bool {
        cred.permits(ftype == FileType::Directory, self.uid, self.gid, self.perm, mask)
    }

    pub(crate) fn size(&self) -> u64 {
        match &self.body {
            Body::Regular { size, .. } => *size,
            Body::Symlink(t) => t.len() as u64,
            _ => 0,
        }
    }
}

/// An inode of a ramfs: a file, directory, symbolic link or special file.
///
/// Inodes are shared as `Arc<Inode>`; a directory holds its entries'
/// inodes, so a file lives while it has a name or someone holds it open.
/// `Arc<Inode>` of a directory is also the directory handle that
/// [`crate::Ctx`] resolves paths from and that a kernel keeps as a task's
/// root and working directory (`FsContext<Arc<Inode>>`).
pub struct Inode {
    ino: u64,
    ftype: FileType,
    pub(crate) sb: Arc<SuperBlock>,
    data: Mutex<InodeData>,
    /// What a synthetic inode is (`None` in a ramfs).
    synth: Option<Synth>,
    /// The kernel's record of this file's memory mappings, while it has any.
    mapped: Mutex<Option<Weak<dyn MapObserver>>>,
    /// Linux's `i_writecount`: open files writing it (> 0) or running
    /// programs denying writes to it (< 0); see [`crate::WriteDenied`].
    pub(crate) write_count: core::sync::atomic::AtomicI64,
    /// Mapped shared and writable at some time: its cached pages may be
    /// newer than its store ([`Inode::note_shared_write_map`]).
    pub(crate) shared_write_mapped: core::sync::atomic::AtomicBool,
    /// Whether a filesystem may be mounted on this directory: set with
    /// `DirData::mounted` under the inode's lock ([`Inode::set_mounted`]),
    /// so a path walk crosses no mount without taking the lock.
    covered: core::sync::atomic::AtomicBool,
    /// For a file other than a directory: the mounts on it, per mount
    /// namespace (a file bound on a file, `mount --bind FILE FILE`,
    /// `ip netns add`'s nsfs file); empty in the common case.
    file_mounts: Mutex<Vec<(u64, Arc<crate::Mount>)>>,
    /// fsnotify: whether the kernel has marks here or this inode has a
    /// watched parent (crate::notify's bits), read without the lock.
    pub(crate) notify_word: core::sync::atomic::AtomicU32,
    /// fsnotify: the kernel's marks and the parent hint, made on first use.
    pub(crate) notify: Mutex<Option<alloc::boxed::Box<crate::notify::NotifySlot>>>,
}

impl fmt::Debug for Inode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inode").field("ino", &self.ino).field("type", &self.ftype).finish_non_exhaustive()
    }
}

impl Drop for Inode {
    fn drop(&mut self) {
        if let Body::Regular { pages, .. } = &mut self.data.get_mut().body {
            let pages = core::mem::take(pages);
            self.sb.free_pages(pages.into_values());
        }
        self.sb.inodes.fetch_sub(1, Ordering::Relaxed);
        if self.synth.is_none()
            && let Some(fs) = &self.sb.backing
        {
            // the store's release runs at its next call, not in a drop
            fs.queue_release(self.ino);
            fs.forget_dead(self.ino);
        }
    }
}

impl Inode {
    pub(crate) fn new(
        sb: &Arc<SuperBlock>,
        ftype: FileType,
        perm: u32,
        uid: u32,
        gid: u32,
        body: Body,
    ) -> Arc<Self> {
        Self::build(sb, ftype, perm, uid, gid, 0, body, None)
    }

    pub(crate) fn new_backed(sb: &Arc<SuperBlock>, ftype: FileType, ino: u64, body: Body) -> Arc<Self> {
        Self::build(sb, ftype, 0, 0, 0, ino, body, None)
    }

    pub(crate) fn with_synth(
        sb: &Arc<SuperBlock>,
        ftype: FileType,
        perm: u32,
        ino: u64,
        body: Body,
        synth: Synth,
    ) -> Arc<Self> {
        Self::build(sb, ftype, perm, 0, 0, ino, body, Some(synth))
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        sb: &Arc<SuperBlock>,
        ftype: FileType,
        perm: u32,
        uid: u32,
        gid: u32,
        ino: u64,
        body: Body,
        synth: Option<Synth>,
    ) -> Arc<Self> {
        let now = sb.now();
        sb.inodes.fetch_add(1, Ordering::Relaxed);
        Arc::new(Self {
            ino: if ino != 0 { ino } else { sb.next_ino.fetch_add(1, Ordering::Relaxed) },
            synth,
            mapped: Mutex::new(None),
            write_count: core::sync::atomic::AtomicI64::new(0),
            shared_write_mapped: core::sync::atomic::AtomicBool::new(false),
            covered: core::sync::atomic::AtomicBool::new(false),
            file_mounts: Mutex::new(Vec::new()),
            notify_word: core::sync::atomic::AtomicU32::new(0),
            notify: Mutex::new(None),
            ftype,
            sb: Arc::clone(sb),
            data: Mutex::new(InodeData {
                perm: perm & S_IALLUGO,
                uid,
                gid,
                nlink: if ftype == FileType::Directory { 2 } else { 1 },
                atime: now,
                mtime: now,
                ctime: now,
                body,
                seals: F_SEAL_SEAL,
                write_map_deniers: 0,
                xattrs: Default::default(),
                unlinked_from: None,
                linkable: false,
                btime: now,
                blocks: 0,
                blksize: 0,
                dir_size: 0,
            }),
        })
    }

    /// A new regular file with no name (link count 0) on the filesystem of
    /// `fs`, owned by `uid`/`gid`: memfd_create(2), System V shared memory
    /// and `O_TMPFILE` files. It lives while someone holds it.
    pub fn new_unlinked(fs: &Arc<Inode>, perm: u32, uid: u32, gid: u32) -> Arc<Inode> {
        let inode = Self::new(
            &fs.sb,
            FileType::Regular,
            perm,
            uid,
            gid,
            Body::Regular { pages: Default::default(), size: 0 },
        );
        inode.lock().nlink = 0;
        inode
    }

    pub(crate) fn synth(&self) -> Option<&Synth> {
        self.synth.as_ref()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, InodeData> {
        self.data.lock()
    }

    /// The inode number.
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// The device number of the filesystem holding this inode.
    pub fn dev(&self) -> u64 {
        self.sb.dev
    }

    /// The file type.
    pub fn file_type(&self) -> FileType {
        self.ftype
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.ftype == FileType::Directory
    }

    /// Whether both inodes belong to the same filesystem instance.
    pub fn same_fs(&self, other: &Inode) -> bool {
        Arc::ptr_eq(&self.sb, &other.sb)
    }

    /// For a file whose last name unlink(2) removed: the directory that
    /// held it (while it exists) and that name, as Linux's d_path() shows
    /// an unlinked file's old path with " (deleted)".
    pub fn unlinked_from(&self) -> Option<(Arc<Inode>, Vec<u8>)> {
        let d = self.lock();
        let (dir, name) = d.unlinked_from.as_ref()?;
        Some((dir.upgrade()?, name.clone()))
    }

    /// The creation time, for statx(2)'s `stx_btime`.
    pub fn btime(&self) -> Timespec {
        self.lock().btime
    }

    /// Files open on this inode's filesystem (umount(2) is `EBUSY` while
    /// there are some).
    pub fn fs_open_files(&self) -> u64 {
        self.sb.open_files.load(Ordering::SeqCst)
    }

    /// Whether this inode's filesystem is read-only.
    pub fn fs_read_only(&self) -> bool {
        self.sb.read_only.load(Ordering::SeqCst)
    }

    /// `EROFS` when this inode's filesystem is read-only (Linux's
    /// mnt_want_write() failing).
    pub fn check_rw(&self) -> Result<()> {
        if self.fs_read_only() { Err(Errno::EROFS) } else { Ok(()) }
    }

    /// Makes this inode's filesystem read-only or read-write again (a
    /// remount): `EBUSY` going read-only while a regular file of it is open
    /// for writing, as Linux's sb_prepare_remount_readonly().
    pub fn set_fs_read_only(&self, ro: bool) -> Result<()> {
        if ro && self.sb.writers.load(Ordering::SeqCst) > 0 {
            return Err(Errno::EBUSY);
        }
        self.sb.read_only.store(ro, Ordering::SeqCst);
        Ok(())
    }

    /// The size in bytes (regular files; a symbolic link's target length).
    pub fn size(&self) -> u64 {
        self.lock().size()
    }

    /// The `(major, minor)` of a character or block device inode.
    pub fn device(&self) -> Option<(u32, u32)> {
        match self.lock().body {
            Body::Device(rdev) => Some((major(rdev), minor(rdev))),
            _ => None,
        }
    }

    /// Whether `cred` may access this inode with `mask` ([`R_OK`] | [`W_OK`]
    /// | [`X_OK`]), by its mode bits and Linux's root capabilities.
    pub fn permits(&self, cred: &Cred, mask: u32) -> bool {
        self.lock().permits(self.ftype, cred, mask)
    }

    /// Like [`Inode::permits`], as a result: `EACCES` when denied.
    pub fn check_access(&self, cred: &Cred, mask: u32) -> Result<()> {
        if self.permits(cred, mask) { Ok(()) } else { Err(Errno::EACCES) }
    }

    /// Makes the directories of this inode's (ramfs) filesystem report
    /// Linux tmpfs's sizes in stat(2): 40 bytes plus 20 per entry
    /// (shmem's `BOGO_DIRENT_SIZE` for `.`, `..` and each name). Without
    /// it they report 0, as Linux's ramfs.
    pub fn set_tmpfs_dir_sizes(&self) {
        self.sb.tmpfs_dir_sizes.store(true, Ordering::Relaxed);
    }

    /// stat(2) of this inode.
    pub fn stat(&self) -> Stat {
        let d = self.lock();
        let dir_size = match &d.body {
            Body::Dir(dd) if !self.is_backed() && self.sb.tmpfs_dir_sizes.load(Ordering::Relaxed) => {
                const BOGO_DIRENT_SIZE: u64 = 20;
                (dd.len() as u64 + 2) * BOGO_DIRENT_SIZE
            }
            _ => d.dir_size,
        };
        let (rdev, blocks) = match &d.body {
            Body::Device(r) => (*r, 0),
            _ if self.is_backed() => (0, d.blocks as i64),
            Body::Regular { pages, .. } => (0, pages.len() as i64 * (PAGE_SIZE as i64 / 512)),
            _ => (0, 0),
        };
        Stat {
            dev: self.sb.dev,
            ino: self.ino,
            nlink: u64::from(d.nlink),
            mode: self.ftype.mode_bits() | d.perm,
            uid: d.uid,
            gid: d.gid,
            rdev,
            size: if matches!(d.body, Body::Dir(_)) { dir_size } else { d.size() } as i64,
            blksize: if d.blksize != 0 { i64::from(d.blksize) } else { PAGE_SIZE as i64 },
            blocks,
            atime: d.atime,
            mtime: d.mtime,
            ctime: d.ctime,
        }
    }

    /// statfs(2) figures of this inode's filesystem.
    pub fn statfs(&self) -> StatFs {
        if let Some(fs) = self.backing() {
            return fs.with(|s| Ok(s.statfs())).unwrap_or_default();
        }
        let used = self.sb.pages.load(Ordering::Relaxed);
        let used_inodes = self.sb.inodes.load(Ordering::Relaxed);
        let (blocks, free) = match self.sb.max_pages {
            Some(max) => (max, max.saturating_sub(used)),
            None => (0, 0),
        };
        StatFs {
            fs_type: RAMFS_MAGIC,
            bsize: PAGE_SIZE as u64,
            blocks,
            bfree: free,
            bavail: free,
            files: self.sb.max_inodes.unwrap_or(used_inodes),
            ffree: self.sb.max_inodes.map_or(used_inodes, |max| max.saturating_sub(used_inodes)),
            namelen: NAME_MAX as u64,
        }
    }

    /// The target of a symbolic link (`EINVAL` for other inodes).
    pub fn readlink(&self) -> Result<Vec<u8>> {
        if let Some(s) = &self.synth
            && self.ftype == FileType::Symlink
        {
            return s.node.readlink();
        }
        match &self.lock().body {
            Body::Symlink(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Reads file content at `offset` into `buf`; returns the bytes read
    /// (0 at or past the end). Holes read as zeros. `EISDIR` for a
    /// directory, `EINVAL` for other non-regular inodes.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if let Some(s) = &self.synth
            && self.ftype == FileType::Regular
        {
            if let Some(r) = s.node.read_direct(offset, buf) {
                return r;
            }
            let data = s.node.content()?;
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
            let n = buf.len().min(data.len() - start);
            buf[..n].copy_from_slice(&data[start..start + n]);
            return Ok(n);
        }
        if self.is_backed() {
            return self.read_backed(offset, buf);
        }
        let mut d = self.lock();
        let n = {
            let Body::Regular { pages, size } = &d.body else {
                return Err(if self.is_dir() { Errno::EISDIR } else { Errno::EINVAL });
            };
            if offset >= *size {
                return Ok(0);
            }
            let n = usize::try_from(*size - offset).map_or(buf.len(), |left| left.min(buf.len()));
            let mut done = 0;
            while done < n {
                let pos = offset + done as u64;
                let page = pos / PAGE_SIZE as u64;
                let in_page = (pos % PAGE_SIZE as u64) as usize;
                let chunk = (PAGE_SIZE - in_page).min(n - done);
                let dst = &mut buf[done..done + chunk];
                match pages.get(&page) {
                    Some(&p) => self.sb.mem.read(p, in_page, dst),
                    None => dst.fill(0),
                }
                done += chunk;
            }
            n
        };
        // relatime: the access time moves when it is not newer than the
        // modification or change time.
        if d.atime <= d.mtime || d.atime <= d.ctime {
            d.atime = self.sb.now();
        }
        Ok(n)
    }

    /// Writes `buf` at `offset`, growing the file; returns the bytes
    /// written. `EFBIG` at or past [`MAX_FILE_SIZE`], `ENOSPC` when the
    /// filesystem is full (after a short write if some bytes fit).
    pub fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        self.write_inner(Some(offset), buf).map(|(n, _)| n)
    }

    /// Appends `buf` atomically at the end of the file; returns the bytes
    /// written and the offset after them.
    pub fn append(&self, buf: &[u8]) -> Result<(usize, u64)> {
        self.write_inner(None, buf)
    }

    fn write_inner(&self, offset: Option<u64>, buf: &[u8]) -> Result<(usize, u64)> {
        if let Some(s) = &self.synth {
            let at = offset.unwrap_or(0);
            return match s.node.write_direct(at, buf) {
                Some(r) => r.map(|n| (n, at + n as u64)),
                None => Err(Errno::EACCES),
            };
        }
        if self.is_backed() {
            return self.write_backed(offset, buf);
        }
        let mut d = self.lock();
        let sb = &self.sb;
        let seals = d.seals;
        let Body::Regular { pages, size } = &mut d.body else {
            return Err(if self.is_dir() { Errno::EISDIR } else { Errno::EINVAL });
        };
        let offset = offset.unwrap_or(*size);
        if buf.is_empty() {
            return Ok((0, offset));
        }
        // shmem_write_begin: write seals refuse any write, the grow seal
        // a write past the end (page by page, so a write may be short)
        if seals & F_SEAL_WRITE_ANY != 0 {
            return Err(Errno::EPERM);
        }
        if offset >= MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let n = usize::try_from(MAX_FILE_SIZE - offset).map_or(buf.len(), |left| left.min(buf.len()));
        if offset > *size {
            // the bytes between the old end and the write read as zeros
            zero_tail(&*sb.mem, pages, *size);
        }
        let mut done = 0;
        let mut err = None;
        while done < n {
            let pos = offset + done as u64;
            let page = pos / PAGE_SIZE as u64;
            let in_page = (pos % PAGE_SIZE as u64) as usize;
            let chunk = (PAGE_SIZE - in_page).min(n - done);
            if seals & F_SEAL_GROW != 0 && pos + chunk as u64 > *size {
                err = Some(Errno::EPERM);
                break;
            }
            let p = match pages.entry(page) {
                btree_map::Entry::Occupied(o) => *o.get(),
                btree_map::Entry::Vacant(v) => match sb.alloc_page() {
                    Ok(p) => *v.insert(p),
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                },
            };
            sb.mem.write(p, in_page, &buf[done..done + chunk]);
            done += chunk;
        }
        let end = offset + done as u64;
        if end > *size {
            *size = end;
        }
        if done == 0 {
            return Err(err.unwrap_or(Errno::ENOSPC));
        }
        let now = sb.now();
        d.mtime = now;
        d.ctime = now;
        Ok((done, end))
    }

    /// Sets the size of a regular file (truncate(2) without the checks):
    /// content past `len` is dropped, growth reads as zeros. `EISDIR` for a
    /// directory, `EINVAL` for other inodes, `EFBIG` past [`MAX_FILE_SIZE`];
    /// a synthetic file ignores it (`Ok`).
    pub fn set_size(&self, len: u64) -> Result<()> {
        if self.synth.is_some() {
            // proc_sys_setattr/proc_setattr/kernfs: a size change of a
            // synthetic file (open's O_TRUNC, as `echo 1 > /proc/sys/...`
            // does) is accepted and changes nothing; the permission check
            // came before
            return Ok(());
        }
        if len > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        self.check_rw()?;
        if self.is_backed() {
            return self.truncate_backed(len);
        }
        let mut d = self.lock();
        let seals = d.seals;
        let Body::Regular { pages, size } = &mut d.body else {
            return Err(if self.is_dir() { Errno::EISDIR } else { Errno::EINVAL });
        };
        let old = *size;
        // shmem_setattr: the shrink and grow seals
        if (len < old && seals & F_SEAL_SHRINK != 0) || (len > old && seals & F_SEAL_GROW != 0) {
            return Err(Errno::EPERM);
        }
        let first_gone = len.div_ceil(PAGE_SIZE as u64);
        let gone = if len < old { pages.split_off(&first_gone) } else { BTreeMap::new() };
        // a shrink zeroes the rest of the new last page; a growth zeroes
        // what a shared mapping may have written past the old end
        zero_tail(&*self.sb.mem, pages, len.min(old));
        *size = len;
        let now = self.sb.now();
        d.mtime = now;
        d.ctime = now;
        drop(d);
        self.sb.free_pages_preemptible(gone.into_values());
        if len < old {
            self.notify_dropped(first_gone, None, true);
        }
        Ok(())
    }

    /// Tells the mapping observer, if any, that pages `first..end` left
    /// the file.
    pub(crate) fn notify_dropped(&self, first: u64, end: Option<u64>, cows: bool) {
        if let Some(o) = self.map_observer() {
            o.pages_dropped(first, end, cows);
        }
    }

    /// The page at index `index` of a regular file, for a memory mapping:
    /// a hole gets a zeroed page first. One reference is added for the
    /// caller, who gives it back through the filesystem's [`PageMemory`]
    /// when it unmaps the page. `EFAULT` for a page wholly past the end of
    /// the file (the kernel raises `SIGBUS`), `ENOSPC` when the
    /// filesystem is full, `ENODEV` for an inode with no pages (a
    /// synthetic file, a directory, a device).
    pub fn map_page(&self, index: u64) -> Result<PageId> {
        if self.synth.is_some() {
            return Err(Errno::ENODEV);
        }
        if self.is_backed() {
            return self.map_backed_page(index);
        }
        let mut d = self.lock();
        let Body::Regular { pages, size } = &mut d.body else {
            return Err(Errno::ENODEV);
        };
        if index >= size.div_ceil(PAGE_SIZE as u64) {
            return Err(Errno::EFAULT);
        }
        let p = match pages.entry(index) {
            btree_map::Entry::Occupied(o) => *o.get(),
            btree_map::Entry::Vacant(v) => {
                let p = self.sb.alloc_page()?;
                *v.insert(p)
            }
        };
        self.sb.mem.add_ref(p);
        Ok(p)
    }

    /// The page at `index` if the file holds it already, with one
    /// reference added for the caller (as [`map_page`](Self::map_page)
    /// adds), or `None` (a hole, past the end, not a regular file): the
    /// pages a fault maps around the one it needs. Allocates nothing. A
    /// file of a disk file system (backed) gives `None`: its pages are read
    /// by faults one at a time.
    pub fn cached_page(&self, index: u64) -> Option<PageId> {
        if self.synth.is_some() || self.is_backed() {
            return None;
        }
        let d = self.lock();
        let Body::Regular { pages, size } = &d.body else { return None };
        if index >= size.div_ceil(PAGE_SIZE as u64) {
            return None;
        }
        let p = *pages.get(&index)?;
        self.sb.mem.add_ref(p);
        Some(p)
    }

    /// The file's seals (`F_GET_SEALS`); `EINVAL` for an inode that is not
    /// a regular ramfs file.
    pub fn get_seals(&self) -> Result<u32> {
        if !self.can_map() {
            return Err(Errno::EINVAL);
        }
        Ok(self.lock().seals)
    }

    /// The seals that restrict this file (0 for inodes that have none).
    pub fn seals(&self) -> u32 {
        if self.can_map() { self.lock().seals } else { 0 }
    }

    /// `F_ADD_SEALS` (Linux's memfd_add_seals, after its file checks):
    /// `EINVAL` for unknown bits or a file without seals, `EPERM` once
    /// [`F_SEAL_SEAL`] is set, `EBUSY` when [`F_SEAL_WRITE`] is asked while
    /// `writably_mapped` (the kernel knows the mappings) says a shared
    /// writable mapping exists.
    ///
    /// `writably_mapped` runs with no inode lock held: a kernel answers it
    /// by taking address-space locks, and a page fault takes this inode's
    /// lock inside an address-space lock ([`Inode::map_page`]), so calling
    /// it under the inode lock could deadlock. While it runs,
    /// [`Inode::write_maps_denied`] is true (Linux's
    /// `mapping_deny_writable`), so a kernel that checks it under the
    /// address-space lock where it adds a mapping either has its mapping
    /// seen by `writably_mapped` or refuses it.
    pub fn add_seals(&self, seals: u32, writably_mapped: impl FnOnce() -> bool) -> Result<()> {
        if seals & !F_SEAL_ALL != 0 || !self.can_map() {
            return Err(Errno::EINVAL);
        }
        let deny = {
            let mut d = self.lock();
            if d.seals & F_SEAL_SEAL != 0 {
                return Err(Errno::EPERM);
            }
            let deny = seals & F_SEAL_WRITE != 0 && d.seals & F_SEAL_WRITE == 0;
            if deny {
                d.write_map_deniers += 1;
            }
            deny
        };
        let busy = deny && writably_mapped();
        let mut d = self.lock();
        if deny {
            d.write_map_deniers -= 1;
        }
        if busy {
            return Err(Errno::EBUSY);
        }
        // F_SEAL_SEAL may have come in the meantime
        if d.seals & F_SEAL_SEAL != 0 {
            return Err(Errno::EPERM);
        }
        d.seals |= seals;
        Ok(())
    }

    /// Whether no new shared mapping of this file may write: a write seal
    /// is set, or an [`Inode::add_seals`] is looking for such mappings.
    pub fn write_maps_denied(&self) -> bool {
        if !self.can_map() {
            return false;
        }
        let d = self.lock();
        d.seals & F_SEAL_WRITE_ANY != 0 || d.write_map_deniers > 0
    }

    /// Sets the seals outright (memfd_create: 0 with `MFD_ALLOW_SEALING`).
    pub fn set_seals(&self, seals: u32) {
        self.lock().seals = seals & F_SEAL_ALL;
    }

    /// Whether [`Inode::map_page`] can give pages: a regular file of a
    /// ramfs (not a synthetic file).
    pub fn can_map(&self) -> bool {
        self.synth.is_none() && self.ftype == FileType::Regular
    }

    /// The kernel's mapping observer of this file, while one is alive.
    pub fn map_observer(&self) -> Option<Arc<dyn MapObserver>> {
        self.mapped.lock().as_ref().and_then(Weak::upgrade)
    }

    /// The mapping observer of this file: the live one, or a new one from
    /// `make`, which the inode then remembers (weakly) until it is dropped.
    /// One observer at a time, so every mapping of a file shares it.
    pub fn map_observer_or_insert(
        &self,
        make: impl FnOnce() -> Arc<dyn MapObserver>,
    ) -> Arc<dyn MapObserver> {
        let mut slot = self.mapped.lock();
        if let Some(o) = slot.as_ref().and_then(Weak::upgrade) {
            return o;
        }
        let o = make();
        *slot = Some(Arc::downgrade(&o));
        o
    }

    /// fallocate(2) mode 0 or `FALLOC_FL_KEEP_SIZE`, as Linux's
    /// shmem_fallocate(): the pages of `offset..offset + len` are
    /// allocated (zeros) and, unless `keep_size`, the size grows to the
    /// end of the range. `ENOSPC` when the filesystem cannot hold them, in
    /// which case the pages this call allocated are given back (and the
    /// size is unchanged); `EFBIG` past [`MAX_FILE_SIZE`]; `EPERM` growing
    /// a file sealed with `F_SEAL_GROW`. The inode lock is taken for at
    /// most [`ALLOC_STEP`] pages at a time.
    pub fn allocate(&self, offset: u64, len: u64, keep_size: bool) -> Result<()> {
        if self.is_backed() {
            // ext2 has no fallocate
            return Err(if self.is_dir() { Errno::EISDIR } else { Errno::EOPNOTSUPP });
        }
        let end = offset.checked_add(len).filter(|&e| e <= MAX_FILE_SIZE).ok_or(Errno::EFBIG)?;
        let ps = PAGE_SIZE as u64;
        let (first, last) = (offset / ps, end.div_ceil(ps));
        {
            let d = self.lock();
            let Body::Regular { size, .. } = &d.body else {
                return Err(if self.is_dir() { Errno::EISDIR } else { Errno::ENODEV });
            };
            if d.seals & F_SEAL_GROW != 0 && end > *size {
                return Err(Errno::EPERM);
            }
        }
        if let Some(max) = self.sb.max_pages
            && last - first > max
        {
            return Err(Errno::ENOSPC);
        }
        let mut added: Vec<u64> = Vec::new();
        let mut page = first;
        let mut failed = None;
        while page < last && failed.is_none() {
            let mut d = self.lock();
            let Body::Regular { pages, .. } = &mut d.body else {
                return Err(Errno::ENODEV);
            };
            let stop = last.min(page + ALLOC_STEP);
            while page < stop {
                if let btree_map::Entry::Vacant(v) = pages.entry(page) {
                    if added.try_reserve(1).is_err() {
                        failed = Some(Errno::ENOMEM);
                        break;
                    }
                    match self.sb.alloc_page() {
                        Ok(p) => {
                            v.insert(p);
                            added.push(page);
                        }
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                page += 1;
            }
        }
        let mut d = self.lock();
        let Body::Regular { pages, size } = &mut d.body else {
            return Err(Errno::ENODEV);
        };
        if let Some(e) = failed {
            // give back the pages this call added that still read as the
            // zeros they were (one written meanwhile stays)
            let mut gone = Vec::new();
            let mut buf = [0u8; PAGE_SIZE];
            for p in &added {
                if let Some(&id) = pages.get(p) {
                    self.sb.mem.read(id, 0, &mut buf);
                    if buf.iter().all(|&x| x == 0) && gone.try_reserve(1).is_ok() {
                        pages.remove(p);
                        gone.push((*p, id));
                    }
                }
            }
            drop(d);
            for &(p, _) in &gone {
                self.notify_dropped(p, Some(p + 1), false);
            }
            self.sb.free_pages(gone.into_iter().map(|(_, id)| id));
            return Err(e);
        }
        if !keep_size && end > *size {
            *size = end;
            let now = self.sb.now();
            d.mtime = now;
            d.ctime = now;
        }
        Ok(())
    }

    /// fallocate(2) `FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`: the bytes
    /// of `offset..offset + len` read as zeros afterwards; whole pages in
    /// the range leave the file (holes, as SEEK_HOLE and `st_blocks` show;
    /// shared mappings of them are told, private copies stay), partial
    /// pages are zeroed. The size does not change. `EPERM` for a file
    /// sealed with `F_SEAL_WRITE`.
    pub fn punch_hole(&self, offset: u64, len: u64) -> Result<()> {
        if self.is_backed() {
            return Err(if self.is_dir() { Errno::EISDIR } else { Errno::EOPNOTSUPP });
        }
        let end = offset.saturating_add(len);
        let ps = PAGE_SIZE as u64;
        let mut d = self.lock();
        let seals = d.seals;
        let Body::Regular { pages, size } = &mut d.body else {
            return Err(if self.is_dir() { Errno::EISDIR } else { Errno::ENODEV });
        };
        if seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
            return Err(Errno::EPERM);
        }
        let end = end.min(size.next_multiple_of(ps).max(offset));
        if end <= offset {
            return Ok(());
        }
        let (whole_from, whole_to) = (offset.div_ceil(ps), end / ps);
        let mut gone = BTreeMap::new();
        if whole_from < whole_to {
            gone = pages.split_off(&whole_from);
            let mut keep = gone.split_off(&whole_to);
            pages.append(&mut keep);
        }
        for p in [offset / ps, end.saturating_sub(1) / ps] {
            if let Some(&id) = pages.get(&p) {
                let lo = offset.max(p * ps) - p * ps;
                let hi = end.min((p + 1) * ps) - p * ps;
                if lo < hi {
                    self.sb.mem.zero(id, lo as usize, (hi - lo) as usize);
                }
            }
        }
        let now = self.sb.now();
        d.mtime = now;
        d.ctime = now;
        drop(d);
        if whole_from < whole_to {
            self.notify_dropped(whole_from, Some(whole_to), false);
        }
        self.sb.free_pages_preemptible(gone.into_values());
        Ok(())
    }

    /// SEEK_DATA / SEEK_HOLE: the first offset at or after `from` that is
    /// data (`hole == false`) or a hole; `ENXIO` at or past the end.
    pub fn seek_data_hole(&self, from: u64, hole: bool) -> Result<u64> {
        let d = self.lock();
        let Body::Regular { pages, size } = &d.body else {
            return Err(Errno::EINVAL);
        };
        if from >= *size {
            return Err(Errno::ENXIO);
        }
        if self.is_backed() {
            // generic_file_llseek: all data, the hole at the end
            return Ok(if hole { *size } else { from });
        }
        let ps = PAGE_SIZE as u64;
        let mut page = from / ps;
        if hole {
            while pages.contains_key(&page) {
                page += 1;
            }
            Ok((page * ps).max(from).min(*size))
        } else {
            match pages.range(page..).next() {
                Some((&p, _)) if p * ps < *size => Ok((p * ps).max(from)),
                _ => Err(Errno::ENXIO),
            }
        }
    }

    /// chmod(2): the owner or root sets the permission bits; a non-root
    /// caller outside the file's group loses `S_ISGID`. `EPERM` otherwise.
    pub fn chmod(&self, cred: &Cred, mode: u32) -> Result<()> {
        self.check_rw()?;
        let mut d = self.lock();
        if !cred.owner_or_capable(d.uid) {
            return Err(Errno::EPERM);
        }
        let mut mode = mode & S_IALLUGO;
        if !cred.in_group(d.gid) && !cred.has_cap(CAP_FSETID) {
            mode &= !S_ISGID;
        }
        d.perm = mode;
        d.ctime = self.sb.now();
        let ctime = d.ctime;
        drop(d);
        self.push_attrs(crate::BackSetAttr { perm: Some(mode), ctime: Some(ctime), ..Default::default() })?;
        self.fsnotify(crate::notify::mask::ATTRIB, false);
        Ok(())
    }

    /// chown(2): `None` leaves an ID alone. Root may change both; the owner
    /// may change the group to one of its groups; `EPERM` otherwise.
    /// Changing a non-directory's owner or group clears `S_ISUID`, and
    /// `S_ISGID` when the group may execute.
    pub fn chown(&self, cred: &Cred, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
        self.check_rw()?;
        let mut d = self.lock();
        if !cred.has_cap(CAP_CHOWN) {
            if uid.is_some_and(|u| u != d.uid) {
                return Err(Errno::EPERM);
            }
            if let Some(g) = gid
                && (cred.uid != d.uid || (g != d.gid && !cred.in_group(g)))
            {
                return Err(Errno::EPERM);
            }
            if gid.is_none() && uid.is_some() && cred.uid != d.uid {
                return Err(Errno::EPERM);
            }
        }
        if uid.is_some() || gid.is_some() {
            if self.ftype != FileType::Directory {
                d.perm &= !S_ISUID;
                if d.perm & 0o010 != 0 {
                    d.perm &= !S_ISGID;
                }
            }
            if let Some(u) = uid {
                d.uid = u;
            }
            if let Some(g) = gid {
                d.gid = g;
            }
        }
        d.ctime = self.sb.now();
        let a = crate::BackSetAttr {
            perm: Some(d.perm),
            uid: Some(d.uid),
            gid: Some(d.gid),
            ctime: Some(d.ctime),
            ..Default::default()
        };
        drop(d);
        self.push_attrs(a)?;
        if uid.is_some() || gid.is_some() {
            self.fsnotify(crate::notify::mask::ATTRIB, false);
        }
        Ok(())
    }

    /// utimensat(2): sets the access and modification times; `None` means
    /// both to now. A time's `nsec` may be [`UTIME_NOW`] or [`UTIME_OMIT`];
    /// other values outside 0..1e9 give `EINVAL`. Setting both to now needs
    /// ownership or write permission (`EACCES`); explicit times need
    /// ownership (`EPERM`); root may always.
    pub fn utimens(&self, cred: &Cred, times: Option<[Timespec; 2]>) -> Result<()> {
        let times = times.unwrap_or([Timespec::new(0, UTIME_NOW); 2]);
        for t in &times {
            if t.nsec != UTIME_NOW && t.nsec != UTIME_OMIT && !(0..1_000_000_000).contains(&t.nsec) {
                return Err(Errno::EINVAL);
            }
        }
        self.check_rw()?;
        if times.iter().all(|t| t.nsec == UTIME_OMIT) {
            return Ok(());
        }
        let mut d = self.lock();
        let owner = cred.owner_or_capable(d.uid);
        let all_now = times.iter().all(|t| t.nsec == UTIME_NOW || t.nsec == UTIME_OMIT);
        if !owner {
            if !all_now {
                return Err(Errno::EPERM);
            }
            if !d.permits(self.ftype, cred, W_OK) {
                return Err(Errno::EACCES);
            }
        }
        let now = self.sb.now();
        let pick = |t: Timespec, old: Timespec| match t.nsec {
            UTIME_NOW => now,
            UTIME_OMIT => old,
            _ => t,
        };
        d.atime = pick(times[0], d.atime);
        d.mtime = pick(times[1], d.mtime);
        d.ctime = now;
        let a = crate::BackSetAttr {
            atime: Some(d.atime),
            mtime: Some(d.mtime),
            ctime: Some(now),
            ..Default::default()
        };
        drop(d);
        self.push_attrs(a)?;
        // fsnotify_change: both times ATTRIB, one of them ACCESS or MODIFY
        let m = match (times[0].nsec == UTIME_OMIT, times[1].nsec == UTIME_OMIT) {
            (false, false) => crate::notify::mask::ATTRIB,
            (false, true) => crate::notify::mask::ACCESS,
            _ => crate::notify::mask::MODIFY,
        };
        self.fsnotify(m, false);
        Ok(())
    }

    /// Sets the times directly, without checks (initramfs unpacking).
    pub fn set_times(&self, atime: Timespec, mtime: Timespec) {
        let mut d = self.lock();
        d.atime = atime;
        d.mtime = mtime;
    }

    /// The number of entries of a directory, "." and ".." excluded.
    pub fn dir_len(&self) -> Result<usize> {
        if let Some(fs) = self.backing()
            && self.lock().dir().is_some_and(|d| !d.loaded)
        {
            return fs.with(|s| s.readdir(self.ino)).map(|v| v.len());
        }
        self.lock().dir().map(DirData::len).ok_or(Errno::ENOTDIR)
    }

    /// Writes `struct linux_dirent64` records of this directory into `buf`,
    /// starting at readdir position `pos` (0 is ".", 1 is "..", then the
    /// entries). Returns the bytes written and the position after the last
    /// record written; `(0, pos)` at the end. `EINVAL` when the first record
    /// does not fit, `ENOTDIR` for a non-directory.
    pub fn read_dir(self: &Arc<Self>, pos: u64, buf: &mut [u8]) -> Result<(usize, u64)> {
        if let Some(s) = &self.synth {
            return self.read_synth_dir(s, pos, buf);
        }
        self.ensure_loaded()?;
        let d = self.lock();
        let dir = d.dir().ok_or(Errno::ENOTDIR)?;
        if d.nlink == 0 {
            // A removed directory lists nothing, not even "." and "..".
            return Ok((0, pos));
        }
        let mut w = crate::dirent::DirentWriter::new(buf);
        let mut pos = pos;
        if pos == 0 {
            if !w.push(self.ino, 1, FileType::Directory.dirent_type(), b".")? {
                return Ok((w.written(), pos));
            }
            pos = 1;
        }
        if pos == 1 {
            let parent = dir.parent.as_ref().and_then(Weak::upgrade).map_or(self.ino, |p| p.ino);
            if !w.push(parent, 2, FileType::Directory.dirent_type(), b"..")? {
                return Ok((w.written(), pos));
            }
            pos = 2;
        }
        for (cookie, name, inode) in dir.entries_from(pos) {
            if !w.push(inode.ino, cookie as i64 + 1, inode.ftype.dirent_type(), name)? {
                return Ok((w.written(), pos));
            }
            pos = cookie + 1;
        }
        // At the end: later calls start after every cookie handed out.
        pos = pos.max(dir.next_cookie);
        Ok((w.written(), pos))
    }

    /// getdents64 of a synthetic directory: position 0 is ".", 1 "..",
    /// 2 + i the i-th entry its node lists now (2 + [`SynthEntry::pos`]
    /// when the node gives one: a reader at a position whose entry went
    /// resumes at the next entry).
    fn read_synth_dir(self: &Arc<Self>, s: &Synth, pos: u64, buf: &mut [u8]) -> Result<(usize, u64)> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let parent = self.parent().map_or(self.ino, |p| p.ino);
        let entries = s.node.entries(self);
        let mut w = crate::dirent::DirentWriter::new(buf);
        let mut pos = pos;
        // the entries' positions rise with their index (the node lists
        // them in order): one binary search for the first, then a cursor,
        // so a listing costs O(n), not O(n^2) (/proc/PID/fd can hold
        // RLIMIT_NOFILE entries)
        let key = |i: usize| entries[i].pos.unwrap_or(i as u64).saturating_add(2);
        let mut cursor: Option<usize> = None;
        loop {
            let dt = FileType::Directory.dirent_type();
            let (ino, ty, name): (u64, u8, &[u8]) = match pos {
                0 => (self.ino, dt, b"."),
                1 => (parent, dt, b".."),
                p => {
                    let mut i = cursor.unwrap_or_else(|| {
                        let (mut lo, mut hi) = (0, entries.len());
                        while lo < hi {
                            let mid = lo + (hi - lo) / 2;
                            if key(mid) < p {
                                lo = mid + 1;
                            } else {
                                hi = mid;
                            }
                        }
                        lo
                    });
                    while i < entries.len() && key(i) < p {
                        i += 1;
                    }
                    let Some(e) = entries.get(i) else { break };
                    pos = key(i);
                    cursor = Some(i + 1);
                    (e.ino, e.ftype.dirent_type(), &e.name)
                }
            };
            if !w.push(ino, pos as i64 + 1, ty, name)? {
                break;
            }
            pos += 1;
        }
        Ok((w.written(), pos))
    }

    /// One step of a path walk (Linux's `may_lookup` then the entry):
    /// `ENOTDIR` unless this is a directory, `EACCES` unless `cred` may
    /// search it, `ENAMETOOLONG` past [`NAME_MAX`], else the entry `name`
    /// (mounts not crossed). A ramfs directory answers under one hold of
    /// its lock.
    pub(crate) fn search(self: &Arc<Self>, cred: &Cred, name: &[u8]) -> Result<Option<Arc<Inode>>> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if self.synth.is_some() || self.is_backed() {
            if !self.permits(cred, X_OK) {
                return Err(Errno::EACCES);
            }
            if name.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            return self.child(name);
        }
        let d = self.lock();
        if !d.permits(self.ftype, cred, X_OK) {
            return Err(Errno::EACCES);
        }
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(d.dir().ok_or(Errno::ENOTDIR)?.get(name).cloned())
    }

    /// The entry `name` of this directory, mounts not crossed.
    pub(crate) fn child(self: &Arc<Self>, name: &[u8]) -> Result<Option<Arc<Inode>>> {
        if let Some(s) = &self.synth {
            if !self.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            if let Some(kept) = s.kept_child(name) {
                return Ok(Some(kept));
            }
            return Ok(match s.node.lookup(self, name)? {
                Some(c) if c.synth().is_some_and(|cs| cs.node.stays()) => Some(s.keep(name, c)),
                other => other,
            });
        }
        self.ensure_loaded()?;
        let d = self.lock();
        let dir = d.dir().ok_or(Errno::ENOTDIR)?;
        Ok(dir.get(name).cloned())
    }

    pub(crate) fn parent(&self) -> Option<Arc<Inode>> {
        self.lock().dir().and_then(|d| d.parent.as_ref()).and_then(Weak::upgrade)
    }

    /// Whether this is the root directory of its filesystem (no parent:
    /// what a mount of the whole filesystem shows, not a bind of a
    /// subdirectory).
    pub fn is_fs_root(&self) -> bool {
        self.is_dir() && self.parent().is_none()
    }

    /// Whether a filesystem is mounted on this directory in any mount
    /// namespace (rmdir and rename say `EBUSY`, as Linux's d_mountpoint).
    pub(crate) fn is_covered(&self) -> bool {
        self.covered.load(Ordering::Acquire)
    }

    /// What is mounted on this directory in the mount namespace `ns`
    /// ([`INITIAL_MNT_NS`] for the initial one): one atomic load when
    /// nothing is mounted here in any namespace.
    pub(crate) fn mounted_in(&self, ns: u64) -> Option<Arc<crate::Mount>> {
        if !self.covered.load(Ordering::Acquire) {
            return None;
        }
        if !self.is_dir() {
            return self.file_mounts.lock().iter().find(|(n, _)| *n == ns).map(|(_, m)| Arc::clone(m));
        }
        let d = self.lock();
        let d = d.dir()?;
        if ns == INITIAL_MNT_NS {
            d.mounted.clone()
        } else {
            d.ns_mounted.iter().find(|(n, _)| *n == ns).map(|(_, m)| Arc::clone(m))
        }
    }

    /// Sets (or with `None` clears) the mount on this file (not a
    /// directory) in `ns`: a file bound on a file. `ENOMEM` when the entry
    /// cannot be stored.
    pub(crate) fn set_file_mounted_in(&self, ns: u64, m: Option<Arc<crate::Mount>>) -> Result<()> {
        let mut fm = self.file_mounts.lock();
        let old = fm.iter().position(|(n, _)| *n == ns).map(|i| fm.swap_remove(i));
        if let Some(m) = m {
            if let Err(()) = fm.try_reserve(1).map_err(|_| ()) {
                if let Some(o) = old {
                    fm.push(o);
                }
                return Err(Errno::ENOMEM);
            }
            fm.push((ns, m));
        }
        self.covered.store(!fm.is_empty(), Ordering::Release);
        drop(fm);
        // the old mount (which may hold the last reference of an inode)
        // goes after the lock
        drop(old);
        Ok(())
    }

    /// The mount on this directory in the mount namespace `ns`, if any
    /// (the kernel's mount records keep it).
    pub fn mount_here(&self, ns: u64) -> Option<Arc<crate::Mount>> {
        self.mounted_in(ns)
    }

    /// Sets what is mounted on this directory in `ns` (`d` is its locked
    /// data); `ENOMEM` when the entry cannot be stored.
    pub(crate) fn set_mounted_in(
        &self,
        d: &mut DirData,
        ns: u64,
        m: Option<Arc<crate::Mount>>,
    ) -> Result<()> {
        if ns == INITIAL_MNT_NS {
            d.mounted = m;
        } else {
            d.ns_mounted.retain(|(n, _)| *n != ns);
            if let Some(m) = m {
                d.ns_mounted.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                d.ns_mounted.push((ns, m));
            }
        }
        self.covered.store(d.mounted.is_some() || !d.ns_mounted.is_empty(), Ordering::Release);
        Ok(())
    }

    /// The directory this root covers in `ns`.
    pub(crate) fn mountpoint_in(&self, ns: u64) -> Option<Arc<Inode>> {
        let d = self.lock();
        let d = d.dir()?;
        if ns == INITIAL_MNT_NS {
            d.mountpoint.as_ref().and_then(Weak::upgrade)
        } else {
            d.ns_mountpoint.iter().find(|(n, _)| *n == ns).and_then(|(_, w)| w.upgrade())
        }
    }

    /// Whether this root covers a directory in any namespace.
    pub(crate) fn is_mounted_anywhere(&self) -> bool {
        self.lock().dir().is_some_and(|d| d.mountpoint.is_some() || !d.ns_mountpoint.is_empty())
    }

    /// Sets (or with `None` clears) the directory this root covers in `ns`
    /// (`d` is its locked data).
    pub(crate) fn set_mountpoint_in(d: &mut DirData, ns: u64, w: Option<Weak<Inode>>) -> Result<()> {
        if ns == INITIAL_MNT_NS {
            d.mountpoint = w;
        } else {
            d.ns_mountpoint.retain(|(n, _)| *n != ns);
            if let Some(w) = w {
                d.ns_mountpoint.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                d.ns_mountpoint.push((ns, w));
            }
        }
        Ok(())
    }

    /// Mount namespaces: makes the mount `mnt` hang on this directory in
    /// `ns` (a new namespace copying its parent's mounts, as Linux's
    /// copy_tree; MS_MOVE, pivot_root); `is_root_of_fs` also records this
    /// directory as the place its root covers there (not for bind mounts,
    /// whose root keeps its own place). The kernel sets where the mount
    /// hangs ([`crate::Mount::set_up`]). `ENOTDIR` unless both are
    /// directories, `ENOMEM`.
    pub fn mount_in_ns(
        self: &Arc<Self>,
        ns: u64,
        mnt: &Arc<crate::Mount>,
        is_root_of_fs: bool,
    ) -> Result<()> {
        let root = mnt.root();
        if !self.is_dir() || !root.is_dir() {
            // a file bound on a file
            if self.is_dir() || root.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            let _ns = self.sb.ns();
            return self.set_file_mounted_in(ns, Some(Arc::clone(mnt)));
        }
        {
            let _ns = self.sb.ns();
            let mut t = self.lock();
            let d = t.dir_mut().ok_or(Errno::ENOTDIR)?;
            self.set_mounted_in(d, ns, Some(Arc::clone(mnt)))?;
        }
        if is_root_of_fs && !Arc::ptr_eq(self, root) {
            let mut r = root.lock();
            let d = r.dir_mut().ok_or(Errno::ENOTDIR)?;
            Self::set_mountpoint_in(d, ns, Some(Arc::downgrade(self)))?;
        }
        Ok(())
    }

    /// Mount namespaces: the topmost root mounted on this directory in `ns`
    /// (following mounts stacked on mounts), or this directory itself when
    /// nothing is mounted on it there (Linux's follow_down to the top).
    pub fn top_in_ns(self: &Arc<Self>, ns: u64) -> Arc<Inode> {
        let mut cur = Arc::clone(self);
        // at most one mount per directory and namespace: a chain, bounded
        // by the namespace's mount count
        while let Some(m) = cur.mounted_in(ns) {
            if Arc::ptr_eq(m.root(), &cur) {
                break;
            }
            cur = Arc::clone(m.root());
        }
        cur
    }

    /// Mount namespaces: takes the mount of `root` off this directory in
    /// `ns` (umount2, a namespace's end, MS_MOVE and pivot_root before the
    /// mount hangs elsewhere) and gives it back (where it hangs is left to
    /// the caller: [`crate::Mount::set_up`]).
    pub fn unmount_in_ns(self: &Arc<Self>, ns: u64, root: &Arc<Inode>) -> Option<Arc<crate::Mount>> {
        let mut gone = None;
        if !self.is_dir() {
            let _ns = self.sb.ns();
            let here = self.mounted_in(ns).filter(|m| Arc::ptr_eq(m.root(), root));
            if here.is_some() {
                let _ = self.set_file_mounted_in(ns, None);
            }
            return here;
        }
        {
            let _ns = self.sb.ns();
            let mut t = self.lock();
            if let Some(d) = t.dir_mut()
                && self.mounted_ptr_in(d, ns) == Some(Arc::as_ptr(root))
            {
                gone = if ns == INITIAL_MNT_NS {
                    d.mounted.clone()
                } else {
                    d.ns_mounted.iter().find(|(n, _)| *n == ns).map(|(_, m)| Arc::clone(m))
                };
                let _ = self.set_mounted_in(d, ns, None);
            }
        }
        if !Arc::ptr_eq(self, root) {
            let mut r = root.lock();
            if let Some(d) = r.dir_mut() {
                let here = if ns == INITIAL_MNT_NS {
                    d.mountpoint.as_ref().map(Weak::as_ptr)
                } else {
                    d.ns_mountpoint.iter().find(|(n, _)| *n == ns).map(|(_, w)| w.as_ptr())
                };
                if here == Some(Arc::as_ptr(self)) {
                    let _ = Self::set_mountpoint_in(d, ns, None);
                }
            }
        }
        gone
    }

    pub(crate) fn mounted_ptr_in(&self, d: &DirData, ns: u64) -> Option<*const Inode> {
        if ns == INITIAL_MNT_NS {
            d.mounted.as_ref().map(|m| Arc::as_ptr(m.root()))
        } else {
            d.ns_mounted.iter().find(|(n, _)| *n == ns).map(|(_, m)| Arc::as_ptr(m.root()))
        }
    }

    pub(crate) fn nlink(&self) -> u32 {
        self.lock().nlink
    }

    pub(crate) fn uid(&self) -> u32 {
        self.lock().uid
    }
}
