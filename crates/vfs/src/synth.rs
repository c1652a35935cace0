//! Synthetic filesystems: inodes whose entries, content and link targets
//! are computed when asked (Linux's procfs model), for a kernel's /proc.
//!
//! A [`SynthNode`] says what one node is: a directory looks its children
//! up and lists them, a regular file produces its bytes, a symbolic link
//! its target. [`new_synthfs`] makes the root inode of such a filesystem
//! (to mount with [`crate::Ctx::mount`]); a directory's `lookup` makes
//! child inodes with [`Inode::new_synth`]. Path resolution, `..`, mounts,
//! stat(2), getdents64(2), readlink(2) and open(2)/read(2) (through
//! [`crate::RamFile`]) then work as for a ramfs, relative paths and
//! working directories inside included. An open file produces the content
//! when read at offset 0 and serves later reads from that version (Linux's
//! seq_file), so reading in pieces gives consistent bytes. Nothing can be
//! created (`ENOENT`, as /proc's lookups fail), removed or renamed
//! (`EPERM`) or written (`EACCES`) in it.
//!
//! A child inode holds its parent directory alive (its `..`), and a
//! directory does not keep its children: each lookup makes a fresh inode
//! (give it a stable inode number with the `ino` argument).
//!
//! ```
//! use std::sync::Arc;
//! use linux_abi::Result;
//! use vfs::*;
//!
//! struct Root;
//! struct Hello;
//! impl SynthNode for Root {
//!     fn lookup(&self, dir: &Arc<Inode>, name: &[u8]) -> Result<Option<Arc<Inode>>> {
//!         Ok((name == b"hello").then(|| Inode::new_synth(dir, name, FileType::Regular, 0o444, 2, Arc::new(Hello))))
//!     }
//!     fn entries(&self, _dir: &Arc<Inode>) -> Vec<SynthEntry> {
//!         vec![SynthEntry::new(b"hello".to_vec(), 2, FileType::Regular)]
//!     }
//! }
//! impl SynthNode for Hello {
//!     fn content(&self) -> Result<Vec<u8>> {
//!         Ok(b"hi\n".to_vec())
//!     }
//! }
//!
//! let root = new_ramfs(makedev(0, 1), Arc::new(FixedClock(Timespec::new(0, 0))), None);
//! let cred = Cred::root();
//! let ctx = Ctx::new(root.clone(), &cred);
//! ctx.mkdir(&root, b"/proc", 0o555).unwrap();
//! ctx.mount(&root, b"/proc", new_synthfs(makedev(0, 2), Arc::new(FixedClock(Timespec::new(0, 0))), Arc::new(Root))).unwrap();
//! let proc_dir = ctx.chdir(&root, b"/proc").unwrap();
//! let Opened::File(f) = ctx.open(&proc_dir, b"hello", O_RDONLY, 0).unwrap() else { panic!() };
//! let mut buf = [0u8; 8];
//! assert_eq!(f.read(&mut buf).unwrap(), 3);
//! assert_eq!(ctx.getcwd(&ctx.chdir(&proc_dir, b".").unwrap()).unwrap(), b"/proc");
//! ```

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use linux_abi::{Errno, Result};

use crate::inode::{Body, DirData, Inode, SuperBlock};
use crate::types::*;

/// One entry of a synthetic directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SynthEntry {
    /// The name.
    pub name: Vec<u8>,
    /// The inode number getdents64(2) reports.
    pub ino: u64,
    /// The type getdents64(2) reports.
    pub ftype: FileType,
    /// A position in the listing that stays the entry's as others come and
    /// go (Linux's `/proc/<pid>/fd` lists fd N at N + 2): a reader whose
    /// offset is past a removed entry resumes at the next one instead of
    /// skipping one. `None`: the entry's index in the listing. A node gives
    /// all its entries one (in increasing order) or none.
    pub pos: Option<u64>,
}

impl SynthEntry {
    /// With `name`, `ino`, `ftype`, at its index in the listing.
    pub fn new(name: Vec<u8>, ino: u64, ftype: FileType) -> Self {
        SynthEntry { name, ino, ftype, pos: None }
    }

    /// The same entry at the stable position `pos` (see [`SynthEntry::pos`]).
    pub fn at(self, pos: u64) -> Self {
        SynthEntry { pos: Some(pos), ..self }
    }
}

/// Where a magic link leads (Linux's nd_jump_link(): `/proc/<pid>/fd/N`,
/// cwd, root, exe): not a path but the object itself.
pub enum Magic {
    /// An inode: resolution goes on from it, even when it has no name any
    /// more (an unlinked file, a removed directory).
    Inode(Arc<Inode>),
    /// An inode and the mount it is seen through (an open file's, a
    /// task's root or working directory): per-mount flags follow it.
    Path(crate::Path),
    /// An open file without a filesystem inode (a pipe, an epoll
    /// instance): open(2) gives it to the kernel as [`crate::Opened::Reopen`].
    File(Arc<dyn crate::File>),
}

/// What a synthetic node is. Every method has a default: a directory
/// implements [`SynthNode::lookup`] and [`SynthNode::entries`], a regular
/// file [`SynthNode::content`], a symbolic link [`SynthNode::readlink`].
pub trait SynthNode: Send + Sync {
    /// The child `name` of the directory `dir` (this node's inode), made
    /// with [`Inode::new_synth`]; `Ok(None)` when there is none.
    fn lookup(&self, _dir: &Arc<Inode>, _name: &[u8]) -> Result<Option<Arc<Inode>>> {
        Ok(None)
    }

    /// The entries of the directory `dir`, "." and ".." excluded.
    fn entries(&self, _dir: &Arc<Inode>) -> Vec<SynthEntry> {
        Vec::new()
    }

    /// The content of a regular file, produced now.
    fn content(&self) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }

    /// Checked by open(2) after the permission bits (Linux's procfs
    /// `open` methods, e.g. maps' `mm_access`): an error refuses the open.
    /// Allowed by default.
    fn may_open(&self) -> Result<()> {
        Ok(())
    }

    /// Called by open(2) after [`SynthNode::may_open`] with the open
    /// flags: a node that stands for this node in the open file alone,
    /// serving its reads and writes (Linux's procfs `open` methods that
    /// keep what the opener was: `/proc/<pid>/uid_map` keeps the
    /// namespace and the opener's credentials, `file->f_cred`). `None`
    /// (the default) keeps this node; an error refuses the open.
    fn open_file(&self, _flags: u32) -> Result<Option<Arc<dyn SynthNode>>> {
        Ok(None)
    }

    /// A regular file addressed by offset rather than produced whole
    /// (`/proc/<pid>/mem`): `Some` with the bytes read at `offset`; `None`
    /// (the default) reads [`SynthNode::content`].
    fn read_direct(&self, _offset: u64, _buf: &mut [u8]) -> Option<Result<usize>> {
        None
    }

    /// Writes to such a file at `offset`: `Some` with the bytes written;
    /// `None` (the default) refuses the write (`EACCES`).
    fn write_direct(&self, _offset: u64, _data: &[u8]) -> Option<Result<usize>> {
        None
    }

    /// Whether a lookup of this directory in its parent gives the same
    /// inode while anything holds it (a mount on it, a working directory)
    /// instead of a fresh one: what a mount point of a synthetic
    /// filesystem needs (sysfs's `/sys/fs/cgroup`, where mounts hang on
    /// the inode). Only for nodes that stand for the same thing for the
    /// filesystem's life (not a process's directory, whose pid can be
    /// reused). No by default.
    fn stays(&self) -> bool {
        false
    }

    /// The target of a symbolic link, computed now.
    fn readlink(&self) -> Result<Vec<u8>> {
        Err(Errno::EINVAL)
    }

    /// For a symbolic link that is a magic link: what it leads to. Path
    /// resolution follows it instead of [`SynthNode::readlink`]'s text
    /// (which readlink(2) still gives). `None` (the default) for ordinary
    /// links.
    fn magic(&self) -> Option<Result<Magic>> {
        None
    }

    /// What creating a name in this directory gives. `ENOENT` by default
    /// (/proc: its lookups fail, so no name is ever free). A directory
    /// whose lookups give free names but that has no operations to make
    /// them (Linux's sysfs, kernfs) returns what the missing operation
    /// gives: `EACCES` for open(2)'s `O_CREAT` (`open` true, lookup_open)
    /// and `EPERM` for mkdir, mknod, symlink and link; the permission
    /// check on the directory (`EACCES`) comes first then.
    fn create_errno(&self, _open: bool) -> Errno {
        Errno::ENOENT
    }

    /// Whether the file has a poll method, which decides whether epoll(7)
    /// may watch it (Linux refuses files without one with `EPERM`). Linux's
    /// procfs: the files of /proc itself and /proc/sys have one, the
    /// per-process ones do not (but `mounts`). No by default.
    fn has_poll(&self) -> bool {
        false
    }

    /// poll(2) readiness of an open file served by this node (the node
    /// [`SynthNode::open_file`] gave it): `Some` with the mask for a file
    /// whose readiness changes (Linux's `mounts_poll`: `POLLERR|POLLPRI`
    /// once per change of the mount table since the open or the last
    /// poll); `None` (the default): always ready as a regular file.
    /// `consume` false: a look without side effects
    /// ([`crate::File::poll_peek`]), the next poll reports the same.
    fn poll(&self, _consume: bool) -> Option<u32> {
        None
    }

    /// With [`SynthNode::poll`]: a counter that moves with each change
    /// ([`crate::File::event_count`], what edge-triggered epoll reports
    /// again on). 0 by default.
    fn event_count(&self) -> u64 {
        0
    }

    /// With [`SynthNode::poll`]: the queue woken at each change
    /// ([`crate::File::wait_queue`]). `None` by default.
    fn wait_queue(&self) -> Option<Arc<dyn crate::WaitQueue>> {
        None
    }

    /// Called by open(2) after the permission bits and
    /// [`SynthNode::may_open`]: `Some` with the kernel's own open file
    /// for this node (Linux's mqueue files open as queue descriptors),
    /// given to the kernel as [`crate::Opened::Reopen`]; `None` (the
    /// default) opens the node as a regular synthetic file.
    fn open_object(&self, _flags: u32) -> Option<Result<Arc<dyn crate::File>>> {
        None
    }

    /// open(2) with `O_CREAT` of the free name `name` in this directory
    /// by `cred` (after the directory's write and search permission),
    /// `perm` the mode less the umask: `Some` with the kernel's own open
    /// file of what it made (Linux's mqueue: a queue with the default
    /// attributes), given as [`crate::Opened::Reopen`]; `None` (the
    /// default) refuses as [`SynthNode::create_errno`] says.
    fn create_object(
        &self,
        _name: &[u8],
        _perm: u32,
        _flags: u32,
        _cred: &Cred,
    ) -> Option<Result<Arc<dyn crate::File>>> {
        None
    }

    /// unlink(2) of `name` in this directory by `cred`: `Some` with the
    /// result when the directory removes names itself (Linux's mqueue
    /// filesystem: the queue goes); `None` (the default) refuses it with
    /// `EPERM`, as a directory without an unlink operation.
    fn unlink(&self, _name: &[u8], _cred: &Cred) -> Option<Result<()>> {
        None
    }

    /// Whether this directory makes and removes subdirectories itself
    /// ([`SynthNode::mkdir`], [`SynthNode::rmdir`]: Linux's cgroup2). No
    /// by default.
    fn has_dir_ops(&self) -> bool {
        false
    }

    /// mkdir(2) of the free name `name` in this directory by `cred` (after
    /// the directory's write and search permission), `perm` the mode less
    /// the umask; the directory's next lookup of `name` gives the new one.
    /// Called only when [`SynthNode::has_dir_ops`].
    fn mkdir(&self, _name: &[u8], _perm: u32, _cred: &Cred) -> Result<()> {
        Err(Errno::EPERM)
    }

    /// rmdir(2) of the directory `name` in this directory by `cred` (after
    /// the directory's write and search permission; `EBUSY` for a mount
    /// point comes first). Called only when [`SynthNode::has_dir_ops`].
    fn rmdir(&self, _name: &[u8], _cred: &Cred) -> Result<()> {
        Err(Errno::EPERM)
    }

    /// chmod(2) or chown(2) of the inode changed its permission bits or
    /// ids (after the permission checks): a node whose lookups make a new
    /// inode each time keeps them here to give the next one (cgroupfs:
    /// kernfs keeps a delegated group's owner). Nothing by default.
    fn set_attrs(&self, _perm: Option<u32>, _uid: Option<u32>, _gid: Option<u32>) {}

    /// The node as `Any`, for a kernel that finds its own object behind a
    /// synthetic inode (nsfs: the namespace a file stands for). `None` by
    /// default.
    fn as_any(&self) -> Option<&dyn core::any::Any> {
        None
    }
}

/// The synthetic part of an inode: its node, and its parent held alive.
pub(crate) struct Synth {
    pub(crate) node: Arc<dyn SynthNode>,
    /// The name in the parent directory (for getcwd(2)).
    pub(crate) name: Vec<u8>,
    pub(crate) _parent: Option<Arc<Inode>>,
    /// The children whose nodes [`SynthNode::stays`], weakly: a child holds
    /// its parent, so the parent holds no child alive (no cycle).
    pub(crate) kept: spin::Mutex<Vec<(Vec<u8>, Weak<Inode>)>>,
}

impl Synth {
    pub(crate) fn new(node: Arc<dyn SynthNode>, name: Vec<u8>, parent: Option<Arc<Inode>>) -> Self {
        Synth { node, name, _parent: parent, kept: spin::Mutex::new(Vec::new()) }
    }

    /// The kept child `name` when it is still alive.
    pub(crate) fn kept_child(&self, name: &[u8]) -> Option<Arc<Inode>> {
        let kept = self.kept.lock();
        kept.iter().find(|(n, _)| n == name).and_then(|(_, w)| w.upgrade())
    }

    /// Keeps `child` (just looked up as `name`) unless a live one is kept
    /// already, which is returned instead (two lookups at once). Dead
    /// entries go; without memory for the entry the child is not kept.
    pub(crate) fn keep(&self, name: &[u8], child: Arc<Inode>) -> Arc<Inode> {
        let mut kept = self.kept.lock();
        if let Some(live) = kept.iter().find(|(n, _)| n == name).and_then(|(_, w)| w.upgrade()) {
            return live;
        }
        kept.retain(|(n, w)| n != name && w.strong_count() > 0);
        let mut n = Vec::new();
        if n.try_reserve_exact(name.len()).is_ok() && kept.try_reserve(1).is_ok() {
            n.extend_from_slice(name);
            kept.push((n, Arc::downgrade(&child)));
        }
        child
    }
}

/// Creates a synthetic filesystem and returns its root directory (mode
/// `0o555`, inode number 1) whose behaviour is `root`.
pub fn new_synthfs(dev: u64, clock: Arc<dyn crate::Clock>, root: Arc<dyn SynthNode>) -> Arc<Inode> {
    let sb = SuperBlock::new(dev, clock, None, None, Arc::new(crate::HeapPages::new()));
    Inode::with_synth(
        &sb,
        FileType::Directory,
        0o555,
        1,
        Body::Dir(DirData::new(None)),
        Synth::new(root, Vec::new(), None),
    )
}

impl Inode {
    /// Sets a synthetic inode's owner (procfs: a process's files belong
    /// to its effective ids, as Linux's `task_dump_owner`). Does nothing to
    /// other inodes.
    pub fn set_synth_owner(&self, uid: u32, gid: u32) {
        if self.synth().is_some() {
            let mut d = self.lock();
            d.uid = uid;
            d.gid = gid;
        }
    }

    /// Sets a synthetic regular file's size as stat(2) shows it (mqueue:
    /// `FILENT_SIZE`); reads still give its whole content. Does nothing
    /// to other inodes.
    pub fn set_synth_size(&self, len: u64) {
        if self.synth().is_some() {
            let mut d = self.lock();
            if let Body::Regular { size, .. } = &mut d.body {
                *size = len;
            }
        }
    }

    /// A synthetic inode in the filesystem of `parent` (a synthetic
    /// directory, whose `lookup` is making it) named `name` there: type `ftype` (a directory,
    /// regular file or symbolic link), permission bits `perm`, inode number
    /// `ino` (0: a fresh one), behaviour `node`. Owned by root.
    pub fn new_synth(
        parent: &Arc<Inode>,
        name: &[u8],
        ftype: FileType,
        perm: u32,
        ino: u64,
        node: Arc<dyn SynthNode>,
    ) -> Arc<Inode> {
        let body = match ftype {
            FileType::Directory => Body::Dir(DirData::new(Some(Arc::downgrade(parent)))),
            FileType::Regular => Body::Regular { pages: Default::default(), size: 0 },
            FileType::Symlink => Body::Symlink(Vec::new()),
            _ => Body::None,
        };
        Inode::with_synth(
            &parent.sb,
            ftype,
            perm,
            ino,
            body,
            Synth::new(node, name.to_vec(), Some(Arc::clone(parent))),
        )
    }

    /// The content of a synthetic regular file, produced now (`EINVAL`
    /// for other inodes).
    pub fn synth_content(&self) -> Result<Vec<u8>> {
        match self.synth() {
            Some(s) if self.file_type() == FileType::Regular => s.node.content(),
            _ => Err(Errno::EINVAL),
        }
    }

    /// [`SynthNode::magic`] of a synthetic symbolic link.
    pub(crate) fn magic(&self) -> Option<Result<Magic>> {
        match self.synth() {
            Some(s) if self.file_type() == FileType::Symlink => s.node.magic(),
            _ => None,
        }
    }

    /// The synthetic node's [`SynthNode::as_any`] (`None` for other
    /// inodes).
    pub fn synth_any(&self) -> Option<&dyn core::any::Any> {
        self.synth().and_then(|s| s.node.as_any())
    }

    /// A synthetic inode's directory and its name there (`None` for a
    /// synthetic filesystem's root and for other inodes): the place of a
    /// /proc/sys file reached through a /proc/self/fd link, which a
    /// directory's parent link does not give.
    pub fn synth_place(&self) -> Option<(Arc<Inode>, Vec<u8>)> {
        let s = self.synth()?;
        let parent = s._parent.clone()?;
        Some((parent, s.name.clone()))
    }

    /// Whether the inode is synthetic.
    pub fn is_synthetic(&self) -> bool {
        self.synth().is_some()
    }

    /// [`SynthNode::has_poll`] of a synthetic inode; `None` for others.
    pub fn synth_has_poll(&self) -> Option<bool> {
        self.synth().map(|s| s.node.has_poll())
    }
}
