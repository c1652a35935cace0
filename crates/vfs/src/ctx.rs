//! Path resolution and the namespace operations, as Linux's `fs/namei.c`.

use alloc::sync::Arc;
use alloc::vec::Vec;

use linux_abi::{Errno, Result};

use crate::file::RamFile;
use crate::inode::{Body, DirData, Inode};
use crate::mount::{AsPath, Mount};
use crate::notify::mask::{
    ATTRIB, CREATE, DELETE, DELETE_SELF, MODIFY, MOVE_SELF, MOVED_FROM, MOVED_TO, OPEN,
};
use crate::synth::Magic;
use crate::types::*;

/// The result of [`Ctx::open`]: an open ramfs file, or a special inode the
/// kernel binds to a driver.
pub enum Opened {
    /// A regular file or a directory, ready for the descriptor table.
    File(Arc<RamFile>),
    /// A character or block device inode: the kernel opens the driver for
    /// `(major, minor)` (or fails with `ENXIO` when there is none).
    Device {
        /// The device inode (for stat and permission changes).
        inode: Arc<Inode>,
        /// The device's major number.
        major: u32,
        /// The device's minor number.
        minor: u32,
        /// The open flags.
        flags: u32,
    },
    /// A FIFO: the kernel attaches it to the inode's pipe.
    Fifo {
        /// The FIFO inode.
        inode: Arc<Inode>,
        /// The open flags.
        flags: u32,
    },
    /// A magic link to an open file without an inode ([`Magic::File`]):
    /// the kernel opens that object again (a pipe: a new end of it); or
    /// the kernel's own file a synthetic node opened as
    /// ([`crate::SynthNode::open_object`]: a message queue).
    Reopen {
        /// The file the link names.
        file: Arc<dyn crate::File>,
        /// The open flags.
        flags: u32,
    },
}

impl core::fmt::Debug for Opened {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Opened::File(r) => f.debug_tuple("File").field(r).finish(),
            Opened::Device { inode, major, minor, flags } => f
                .debug_struct("Device")
                .field("inode", inode)
                .field("major", major)
                .field("minor", minor)
                .field("flags", flags)
                .finish(),
            Opened::Fifo { inode, flags } => {
                f.debug_struct("Fifo").field("inode", inode).field("flags", flags).finish()
            }
            Opened::Reopen { flags, .. } => {
                f.debug_struct("Reopen").field("flags", flags).finish_non_exhaustive()
            }
        }
    }
}

/// Who resolves paths, and from where: the caller's root directory (where
/// absolute paths start and `..` stops), its credential and its umask.
///
/// Each operation also takes the directory that relative paths start from:
/// the working directory for `AT_FDCWD`, or a directory descriptor's inode.
/// A kernel keeps root and cwd in `FsContext<Arc<Inode>>` and builds a
/// `Ctx` per system call.
pub struct Ctx<'a> {
    root: Arc<Inode>,
    cred: &'a Cred,
    umask: u32,
    /// The mount namespace whose mounts the walk crosses
    /// ([`crate::INITIAL_MNT_NS`] unless [`Ctx::with_mnt_ns`] says).
    mnt_ns: u64,
    /// The mount of the root ([`Ctx::with_root_mount`]; `None`: mounts
    /// not tracked).
    root_mnt: Option<Arc<Mount>>,
    /// The mount the walk is in now (Linux's `nd->path.mnt`): set from the
    /// start directory's, the root's for an absolute path, changed by
    /// crossing onto a mount and by `..` from a mount's root.
    cur: core::cell::Cell<Option<Arc<Mount>>>,
}

impl core::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ctx")
            .field("root", &self.root)
            .field("umask", &self.umask)
            .field("mnt_ns", &self.mnt_ns)
            .finish_non_exhaustive()
    }
}

/// Per-mount flags ([`Mount::flags`], mount(2)'s bits): writes through a
/// read-only mount are `EROFS`.
pub const MNT_RDONLY: u32 = 1;
/// Per-mount: set-user-id bits ignored by execve(2) (the kernel's check,
/// through [`Ctx::view_flags`]).
pub const MNT_NOSUID: u32 = 2;
/// Per-mount: device nodes may not be opened (`EACCES`).
pub const MNT_NODEV: u32 = 4;
/// Per-mount: no program runs from it (`EACCES` from [`Ctx::open_exec`]).
pub const MNT_NOEXEC: u32 = 8;

/// The last component of a path: `None` for a path of slashes only.
type Last = Option<Vec<u8>>;

fn is_normal(last: &Last) -> Option<&[u8]> {
    match last.as_deref() {
        Some(b".") | Some(b"..") | None => None,
        Some(n) => Some(n),
    }
}

/// The components of a path still to walk ([`Ctx::parent_walk`]): the
/// path itself (borrowed) and a stack of symbolic link targets (owned),
/// each source kept past its slashes so that "is this the last component"
/// is a look at the top source only.
struct Components<'p> {
    path: &'p [u8],
    pos: usize,
    /// Link targets met on the way, innermost last, each with its position.
    links: Vec<(Vec<u8>, usize)>,
    /// The component [`Components::next`] gave last, when it came from a
    /// link target that is exhausted (kept so the slice can outlive the pop).
    done: Vec<u8>,
}

/// `pos` moved past the slashes at it.
fn skip_slashes(s: &[u8], mut pos: usize) -> usize {
    while pos < s.len() && s[pos] == b'/' {
        pos += 1;
    }
    pos
}

/// The component at `pos` (not a slash) and the position past it and the
/// slashes after it.
fn take_component(s: &[u8], pos: usize) -> (core::ops::Range<usize>, usize) {
    let end = s[pos..].iter().position(|&c| c == b'/').map_or(s.len(), |i| pos + i);
    (pos..end, skip_slashes(s, end))
}

impl<'p> Components<'p> {
    fn new(path: &'p [u8]) -> Self {
        Self { path, pos: skip_slashes(path, 0), links: Vec::new(), done: Vec::new() }
    }

    /// The next component, and whether it is the last one.
    fn next(&mut self) -> Option<(&[u8], bool)> {
        if let Some((target, pos)) = self.links.last_mut() {
            let (range, next) = take_component(target, *pos);
            *pos = next;
            if next < target.len() {
                let (target, _) = &self.links[self.links.len() - 1];
                return Some((&target[range], false));
            }
            // the target is used up: its last component moves out of it
            let (mut target, _) = self.links.pop()?;
            target.truncate(range.end);
            target.drain(..range.start);
            self.done = target;
            let last = self.links.is_empty() && self.pos >= self.path.len();
            return Some((&self.done, last));
        }
        if self.pos >= self.path.len() {
            return None;
        }
        let (range, next) = take_component(self.path, self.pos);
        self.pos = next;
        Some((&self.path[range], next >= self.path.len()))
    }

    /// A symbolic link's target, whose components come next (nothing for
    /// a target of slashes only). `ENOMEM` when the stack cannot grow.
    fn push(&mut self, target: Vec<u8>) -> Result<()> {
        let pos = skip_slashes(&target, 0);
        if pos < target.len() {
            self.links.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            self.links.push((target, pos));
        }
        Ok(())
    }
}

/// Whether two walks went through the same mount (walks without a tracked
/// mount count as the same).
fn same_mount(a: Option<&Arc<Mount>>, b: Option<&Arc<Mount>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => true,
    }
}

fn is_ancestor(a: &Arc<Inode>, b: &Arc<Inode>) -> bool {
    let mut cur = Arc::clone(b);
    loop {
        if Arc::ptr_eq(&cur, a) {
            return true;
        }
        match cur.parent() {
            Some(p) => cur = p,
            None => return false,
        }
    }
}

impl<'a> Ctx<'a> {
    /// A context with the given root directory and credential, umask 0.
    pub fn new(root: Arc<Inode>, cred: &'a Cred) -> Self {
        Self {
            root,
            cred,
            umask: 0,
            mnt_ns: crate::INITIAL_MNT_NS,
            root_mnt: None,
            cur: core::cell::Cell::new(None),
        }
    }

    /// The same context with the root's mount: walks then carry the mount
    /// they are in (from the start directory's [`AsPath::mount`], the
    /// root's for absolute paths, the one crossed onto, the parent mount
    /// after `..` from a mount's root), and its flags (`MNT_RDONLY`,
    /// `MNT_NODEV`, `MNT_NOEXEC`) apply. Without it (or for a start
    /// directory without a mount) no per-mount flag applies.
    pub fn with_root_mount(mut self, mnt: Option<Arc<Mount>>) -> Self {
        self.root_mnt = mnt;
        self
    }

    /// The flags of the mount the last walk ended in (0 when it carried
    /// none).
    pub fn view_flags(&self) -> u32 {
        let m = self.cur.take();
        let f = m.as_ref().map_or(0, |m| m.flags());
        self.cur.set(m);
        f
    }

    /// The mount the last walk ended in (what a kernel keeps with the
    /// inode: an open file's, a new working directory's).
    pub fn walked_mount(&self) -> Option<Arc<Mount>> {
        let m = self.cur.take();
        let c = m.clone();
        self.cur.set(m);
        c
    }

    /// Starts a walk of `path` at `dir`: its mount becomes the walk's (an
    /// absolute path takes the root's when the walk starts).
    #[inline]
    fn begin<'d>(&self, dir: &'d dyn AsPath, path: &[u8]) -> &'d Arc<Inode> {
        if path.first() != Some(&b'/') {
            self.cur.set(dir.mount().cloned());
        }
        dir.inode()
    }

    /// `EROFS` when `inode`'s filesystem or the mount the walk is in is
    /// read-only (mnt_want_write()).
    fn check_rw(&self, inode: &Inode) -> Result<()> {
        inode.check_rw()?;
        if self.view_flags() & MNT_RDONLY != 0 { Err(Errno::EROFS) } else { Ok(()) }
    }

    /// `EROFS` when the mount the walk is in is read-only (the
    /// mnt_want_write() of chmod, chown and utimes, whatever the file).
    fn check_mount_rw(&self) -> Result<()> {
        if self.view_flags() & MNT_RDONLY != 0 { Err(Errno::EROFS) } else { Ok(()) }
    }

    /// The same context walking the mounts of the mount namespace `ns`
    /// (its id as the kernel gave it to [`Inode::mount_in_ns`]).
    pub fn with_mnt_ns(mut self, ns: u64) -> Self {
        self.mnt_ns = ns;
        self
    }

    /// The mount namespace this context walks.
    pub fn mnt_ns(&self) -> u64 {
        self.mnt_ns
    }

    /// The same context with a umask applied to the modes of new files and
    /// directories (not symbolic links).
    pub fn with_umask(mut self, umask: u32) -> Self {
        self.umask = umask & 0o777;
        self
    }

    /// The root directory.
    pub fn root(&self) -> &Arc<Inode> {
        &self.root
    }

    /// The credential.
    pub fn cred(&self) -> &Cred {
        self.cred
    }

    // ---- resolution ----

    /// Splits `path` into its parent directory (resolved, every symbolic
    /// link followed) and its last component; also says whether the path
    /// ends with a slash.
    fn parent_walk(
        &self,
        dir: &Arc<Inode>,
        path: &[u8],
        links: &mut u32,
    ) -> Result<(Arc<Inode>, Last, bool)> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let mut cur = if path[0] == b'/' {
            self.cur.set(self.root_mnt.clone());
            Arc::clone(&self.root)
        } else {
            if !dir.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            Arc::clone(dir)
        };
        let slash = path.ends_with(b"/");
        // The components still to walk: the path's own, borrowed, and above
        // them the rest of each symbolic link's target met on the way (no
        // recursion, so a deep chain of links costs heap, not kernel stack;
        // a path without links allocates nothing but its last component).
        let mut comps = Components::new(path);
        while let Some((comp, last)) = comps.next() {
            if last {
                return Ok((cur, Some(comp.to_vec()), slash));
            }
            let child = self.lookup_one(&cur, comp)?;
            if let Some(m) = child.magic() {
                match self.jump(m, links)? {
                    Magic::Inode(i) => cur = i,
                    _ => return Err(Errno::ENOTDIR),
                }
                continue;
            }
            if child.file_type() == FileType::Symlink {
                let target = self.link_target(&cur, &child, links)?;
                if target[0] == b'/' {
                    cur = Arc::clone(&self.root);
                    self.cur.set(self.root_mnt.clone());
                }
                comps.push(target)?;
            } else {
                cur = child;
            }
        }
        Ok((cur, None, slash))
    }

    /// Follows a magic link: counts it as a link (`ELOOP` past
    /// [`MAX_SYMLINKS`]) and gives where it leads (never
    /// [`Magic::Path`]: its mount becomes the walk's, an inode alone
    /// leaves the walk without one).
    fn jump(&self, m: Result<Magic>, links: &mut u32) -> Result<Magic> {
        *links += 1;
        if *links > MAX_SYMLINKS {
            return Err(Errno::ELOOP);
        }
        match m? {
            Magic::Path(p) => {
                self.cur.set(p.mnt);
                Ok(Magic::Inode(p.inode))
            }
            Magic::Inode(i) => {
                self.cur.set(None);
                Ok(Magic::Inode(i))
            }
            f => Ok(f),
        }
    }

    /// Counts one more symbolic link (`ELOOP` past [`MAX_SYMLINKS`]) and
    /// returns its target (`ENOENT` if empty).
    fn link_target(&self, dir: &Arc<Inode>, link: &Arc<Inode>, links: &mut u32) -> Result<Vec<u8>> {
        *links += 1;
        if *links > MAX_SYMLINKS {
            return Err(Errno::ELOOP);
        }
        self.may_follow_link(dir, link)?;
        let target = link.readlink()?;
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        Ok(target)
    }

    /// Linux's `may_follow_link()` with `fs.protected_symlinks` on
    /// ([`crate::protected_symlinks`]): a symbolic link in a sticky,
    /// world-writable directory is followed only by its owner or when it
    /// belongs to the directory's owner; `EACCES` otherwise, root included.
    fn may_follow_link(&self, dir: &Arc<Inode>, link: &Arc<Inode>) -> Result<()> {
        if !crate::protected_symlinks() {
            return Ok(());
        }
        let owner = link.uid();
        if self.cred.uid == owner {
            return Ok(());
        }
        let (dir_perm, dir_uid) = {
            let d = dir.lock();
            (d.perm, d.uid)
        };
        if dir_perm & (S_ISVTX | 0o002) != (S_ISVTX | 0o002) || dir_uid == owner {
            return Ok(());
        }
        Err(Errno::EACCES)
    }

    /// Linux's `may_linkat()` with `fs.protected_hardlinks` on
    /// ([`crate::protected_hardlinks`]): the owner of `old` (or root,
    /// `CAP_FOWNER`) may link it; others only a regular file that is not
    /// setuid, not executable-setgid, and that they may read and write
    /// (`safe_hardlink_source`); `EPERM` otherwise.
    fn may_linkat(&self, old: &Arc<Inode>) -> Result<()> {
        if !crate::protected_hardlinks() || self.cred.owner_or_capable(old.uid()) {
            return Ok(());
        }
        let perm = old.lock().perm;
        let safe = old.file_type() == FileType::Regular
            && perm & S_ISUID == 0
            && perm & (S_ISGID | 0o010) != (S_ISGID | 0o010)
            && old.permits(self.cred, R_OK | W_OK);
        if safe { Ok(()) } else { Err(Errno::EPERM) }
    }

    /// Linux's `may_create_in_sticky()` for an `O_CREAT` open that found
    /// `inode` in `dir`: with `fs.protected_fifos` / `fs.protected_regular`
    /// on, a FIFO or regular file in a sticky directory that neither the
    /// caller (fsuid) nor the directory's owner owns is refused (`EACCES`,
    /// root included) when the directory is world-writable, or
    /// group-writable at level 2.
    fn may_create_in_sticky(&self, dir: &Arc<Inode>, inode: &Arc<Inode>) -> Result<()> {
        let level = match inode.file_type() {
            FileType::Fifo => crate::protected_fifos(),
            FileType::Regular => crate::protected_regular(),
            _ => return Ok(()),
        };
        let (dir_perm, dir_uid) = {
            let d = dir.lock();
            (d.perm, d.uid)
        };
        let owner = inode.uid();
        if level == 0 || dir_perm & S_ISVTX == 0 || owner == dir_uid || owner == self.cred.uid {
            return Ok(());
        }
        if dir_perm & 0o002 != 0 || (dir_perm & 0o020 != 0 && level >= 2) {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    /// Checks that `dir` is a searchable directory and `name` not too long.
    fn may_lookup(&self, dir: &Arc<Inode>, name: &[u8]) -> Result<()> {
        if !dir.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !dir.permits(self.cred, X_OK) {
            return Err(Errno::EACCES);
        }
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(())
    }

    /// The entry `name` of `dir` itself, mounts not crossed (the dentry the
    /// namespace operations work on).
    fn lookup_raw(&self, dir: &Arc<Inode>, name: &[u8]) -> Result<Option<Arc<Inode>>> {
        self.may_lookup(dir, name)?;
        dir.child(name)
    }

    /// One component: ".", ".." (not above the root, across mounts) or an
    /// entry, with the filesystems mounted on it crossed.
    fn lookup_one(&self, dir: &Arc<Inode>, name: &[u8]) -> Result<Arc<Inode>> {
        match name {
            b"." | b".." => {
                self.may_lookup(dir, name)?;
                if name == b"." {
                    return Ok(Arc::clone(dir));
                }
                Ok(self.dotdot(dir))
            }
            _ => {
                let mut child = dir.search(self.cred, name)?.ok_or(Errno::ENOENT)?;
                let mut crossed_bind = false;
                while let Some(m) = child.mounted_in(self.mnt_ns) {
                    // a mount of a file or directory on itself is the
                    // top: the walk goes on in it (its flags apply), no
                    // further step (no loop); not where the walk came
                    // through a bind of it from another place (that
                    // mount is its own place's)
                    let on_itself = Arc::ptr_eq(m.root(), &child);
                    if on_itself && crossed_bind {
                        break;
                    }
                    crossed_bind = !on_itself && !m.root().is_fs_root();
                    child = Arc::clone(m.root());
                    self.cur.set(Some(m));
                    if on_itself {
                        break;
                    }
                }
                Ok(child)
            }
        }
    }

    /// `..` of `dir` (Linux's follow_dotdot): not above the root; from a
    /// mount's root to the directory it covers in its parent mount (the
    /// walk's mount becomes that one), then that directory's parent.
    /// Without a tracked mount, a filesystem's root goes to the directory
    /// it covers in the namespace.
    fn dotdot(&self, dir: &Arc<Inode>) -> Arc<Inode> {
        let mut cur = Arc::clone(dir);
        let mut mnt = self.cur.take();
        // bounded: each step climbs a mount of the namespace
        let up = loop {
            if Arc::ptr_eq(&cur, &self.root) {
                break cur;
            }
            if let Some(m) = &mnt
                && Arc::ptr_eq(&cur, m.root())
            {
                match m.up() {
                    Some((pm, mp)) => {
                        cur = mp;
                        mnt = Some(pm);
                        continue;
                    }
                    // a namespace's root or a detached mount
                    None => break cur,
                }
            }
            if let Some(p) = cur.parent() {
                break p;
            }
            match cur.mountpoint_in(self.mnt_ns) {
                Some(mp) => cur = mp,
                None => break cur,
            }
        };
        self.cur.set(mnt);
        up
    }

    fn walk(&self, dir: &Arc<Inode>, path: &[u8], follow: bool, links: &mut u32) -> Result<Arc<Inode>> {
        match self.walk_magic(dir, path, follow, links)? {
            Magic::Inode(i) | Magic::Path(crate::Path { inode: i, .. }) => Ok(i),
            // an object without an inode (a pipe through /proc/<pid>/fd)
            // has no path either: what its link's text names, which is none
            Magic::File(_) => Err(Errno::ENOENT),
        }
    }

    /// [`Ctx::walk`] that also gives the open file a final magic link
    /// leads to when it has no inode.
    fn walk_magic(&self, dir: &Arc<Inode>, path: &[u8], follow: bool, links: &mut u32) -> Result<Magic> {
        let (mut parent, mut last, mut slash) = self.parent_walk(dir, path, links)?;
        loop {
            let inode = match last.as_deref() {
                None => Arc::clone(&parent),
                Some(name) => self.lookup_one(&parent, name)?,
            };
            if (follow || slash)
                && let Some(m) = inode.magic()
            {
                let m = self.jump(m, links)?;
                if let Magic::Inode(i) = &m
                    && slash
                    && !i.is_dir()
                {
                    return Err(Errno::ENOTDIR);
                }
                if let Magic::File(_) = &m
                    && slash
                {
                    return Err(Errno::ENOTDIR);
                }
                return Ok(m);
            }
            if (follow || slash) && inode.file_type() == FileType::Symlink {
                let target = self.link_target(&parent, &inode, links)?;
                let (p, l, s) = self.parent_walk(&parent, &target, links)?;
                (parent, last, slash) = (p, l, slash || s);
                continue;
            }
            if slash && !inode.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            return Ok(Magic::Inode(inode));
        }
    }

    /// Resolves `path` from `dir` (or the root for an absolute path);
    /// `follow` says whether a final symbolic link is followed (a trailing
    /// slash always follows and requires a directory).
    pub fn lookup(&self, dir: &dyn AsPath, path: &[u8], follow: bool) -> Result<Arc<Inode>> {
        let dir = self.begin(dir, path);
        self.walk(dir, path, follow, &mut 0)
    }

    /// [`Ctx::lookup`] with `*at` flags: `AT_SYMLINK_NOFOLLOW`, and
    /// `AT_EMPTY_PATH` (an empty path names `dir` itself).
    pub fn lookup_at(&self, dir: &dyn AsPath, path: &[u8], at_flags: u32) -> Result<Arc<Inode>> {
        let dir = self.begin(dir, path);
        self.walk_at(dir, path, at_flags)
    }

    /// [`Ctx::lookup_at`] from the walk's own mount.
    fn walk_at(&self, dir: &Arc<Inode>, path: &[u8], at_flags: u32) -> Result<Arc<Inode>> {
        if path.is_empty() && at_flags & AT_EMPTY_PATH != 0 {
            return Ok(Arc::clone(dir));
        }
        self.walk(dir, path, at_flags & AT_SYMLINK_NOFOLLOW == 0, &mut 0)
    }

    // ---- creation helpers ----

    /// Linux's `may_create` once the name is known to be free (`open`:
    /// for open(2)'s `O_CREAT`, which a synthetic directory may refuse
    /// differently, [`crate::SynthNode::create_errno`]).
    fn may_create(&self, dir: &Arc<Inode>, open: bool) -> Result<()> {
        if let Some(s) = dir.synth() {
            // as /proc: a lookup there fails instead of giving a free name
            let e = s.node.create_errno(open);
            if e == Errno::ENOENT {
                return Err(e);
            }
            // a free name but no operation to make it (sysfs): the
            // permission check first, as may_create()
            if !dir.lock().permits(FileType::Directory, self.cred, W_OK | X_OK) {
                return Err(Errno::EACCES);
            }
            return Err(e);
        }
        let d = dir.lock();
        if d.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        if !d.permits(FileType::Directory, self.cred, W_OK | X_OK) {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    /// The permission and group of a new inode of type `ftype` in `dir`:
    /// a setgid directory gives its group, and its setgid bit to a new
    /// directory; a setgid file of another group keeps the bit only for
    /// root (Linux's inode_init_owner).
    fn new_owner(&self, dir: &Arc<Inode>, ftype: FileType, perm: u32) -> (u32, u32) {
        let (dgid, dsgid) = {
            let d = dir.lock();
            (d.gid, d.perm & S_ISGID != 0)
        };
        let mut perm = perm;
        let gid = if dsgid {
            if ftype == FileType::Directory {
                perm |= S_ISGID;
            } else if perm & 0o010 != 0 && !self.cred.in_group(dgid) && !self.cred.has_cap(CAP_FSETID) {
                perm &= !S_ISGID;
            }
            dgid
        } else {
            self.cred.gid
        };
        (perm, gid)
    }

    /// Makes an inode owned by the caller in `dir` (setgid directories give
    /// their group, and their setgid bit to new directories) and enters it
    /// under `name`. The namespace lock is held by the caller.
    fn create_in(
        &self,
        dir: &Arc<Inode>,
        name: &[u8],
        ftype: FileType,
        perm: u32,
        body: Body,
    ) -> Result<Arc<Inode>> {
        let (perm, gid) = self.new_owner(dir, ftype, perm);
        if let Some(fs) = dir.backing() {
            // the store makes the inode (its errno wins), then the cache
            let uid = self.cred.uid;
            let ino = fs.with(|s| match (ftype, &body) {
                (FileType::Directory, _) => s.mkdir(dir.ino(), name, perm, uid, gid),
                (FileType::Symlink, Body::Symlink(t)) => s.symlink(dir.ino(), name, t, uid, gid),
                (_, Body::Device(rdev)) => {
                    s.create(dir.ino(), name, ftype.mode_bits() | perm, uid, gid, *rdev)
                }
                _ => s.create(dir.ino(), name, ftype.mode_bits() | perm, uid, gid, 0),
            })?;
            let inode = crate::backing::backed_inode(&dir.sb, ino, Some(dir))?;
            if let Some(entries) = dir.lock().dir_mut() {
                entries.insert(name, Arc::clone(&inode));
            }
            dir.reload();
            dir.hint_child(&inode, name);
            return Ok(inode);
        }
        let body = match body {
            Body::Dir(_) => Body::Dir(DirData::new(Some(Arc::downgrade(dir)))),
            b => b,
        };
        let inode = Inode::new(&dir.sb, ftype, perm, self.cred.uid, gid, body);
        let now = dir.sb.now();
        let mut d = dir.lock();
        if let Some(entries) = d.dir_mut() {
            entries.insert(name, Arc::clone(&inode));
        }
        if ftype == FileType::Directory {
            d.nlink += 1;
        }
        d.mtime = now;
        d.ctime = now;
        drop(d);
        dir.hint_child(&inode, name);
        Ok(inode)
    }

    /// The common part of mkdir, mknod and symlink: resolve the parent,
    /// refuse an existing name (`EEXIST`) or a trailing slash on a new
    /// non-directory (`ENOENT`), check `may_create`, create.
    fn create_node(
        &self,
        dir: &Arc<Inode>,
        path: &[u8],
        ftype: FileType,
        perm: u32,
        body: Body,
    ) -> Result<Arc<Inode>> {
        let (parent, last, slash) = self.parent_walk(dir, path, &mut 0)?;
        let name = is_normal(&last).ok_or(Errno::EEXIST)?;
        self.may_lookup(&parent, name)?;
        let ns = parent.sb.ns();
        if parent.child(name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        self.check_rw(&parent)?;
        if slash && ftype != FileType::Directory {
            return Err(Errno::ENOENT);
        }
        // a synthetic directory that makes directories itself (cgroup2)
        if ftype == FileType::Directory
            && let Some(sy) = parent.synth()
            && sy.node.has_dir_ops()
        {
            if !parent.lock().permits(FileType::Directory, self.cred, W_OK | X_OK) {
                return Err(Errno::EACCES);
            }
            sy.node.mkdir(name, perm, self.cred)?;
            let inode = parent.child(name)?.ok_or(Errno::ENOENT)?;
            drop(ns);
            parent.fsnotify_name(CREATE, 0, name, true);
            return Ok(inode);
        }
        self.may_create(&parent, false)?;
        parent.sb.check_inode_room()?;
        let inode = self.create_in(&parent, name, ftype, perm, body)?;
        drop(ns);
        // fsnotify_create / fsnotify_mkdir
        parent.fsnotify_name(CREATE, 0, name, ftype == FileType::Directory);
        Ok(inode)
    }

    // ---- operations ----

    /// open(2) / openat(2): resolves `path` from `dir` and opens it with
    /// `flags` (`O_*`); `mode` is the permission of a file `O_CREAT`
    /// makes (the umask applied). See [`Opened`].
    pub fn open(&self, dir: &dyn AsPath, path: &[u8], flags: u32, mode: u32) -> Result<Opened> {
        let dir = self.begin(dir, path);
        if flags & O_TMPFILE_BIT != 0 {
            return self.open_tmpfile(dir, path, flags, mode);
        }
        if flags & O_CREAT != 0 && flags & O_DIRECTORY != 0 {
            return Err(Errno::EINVAL);
        }
        // O_PATH keeps only these flags and checks no access.
        let flags =
            if flags & O_PATH != 0 { flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) } else { flags };
        let mut links = 0;
        let mut must_dir = false;
        let mut base = Arc::clone(dir);
        let mut path = path.to_vec();
        let mut created = false;
        // the directory an O_CREAT open found its existing file in
        let mut sticky_dir: Option<Arc<Inode>> = None;
        // fsnotify_create's directory and name, when it is watched
        let mut created_in: Option<(Arc<Inode>, Vec<u8>)> = None;
        let inode = loop {
            let (parent, last, slash) = self.parent_walk(&base, &path, &mut links)?;
            let slash = slash || must_dir;
            let Some(name) = is_normal(&last) else {
                if flags & O_CREAT != 0 {
                    return Err(Errno::EISDIR);
                }
                break match last.as_deref() {
                    None => parent,
                    Some(dots) => self.lookup_one(&parent, dots)?,
                };
            };
            let follow = flags & O_NOFOLLOW == 0 || slash;
            let found = if flags & O_CREAT != 0 {
                if slash {
                    return Err(Errno::EISDIR);
                }
                self.may_lookup(&parent, name)?;
                let mut ns = Some(parent.sb.ns());
                match self.lookup_one(&parent, name) {
                    Ok(existing) => {
                        if flags & O_EXCL != 0 {
                            return Err(Errno::EEXIST);
                        }
                        sticky_dir = Some(Arc::clone(&parent));
                        existing
                    }
                    Err(Errno::ENOENT) => {
                        if let Err(e) = self.check_rw(&parent) {
                            // as /proc/sys: its lookup fails (ENOENT)
                            // before a read-only mount's EROFS
                            if parent.synth().is_some_and(|s| s.node.create_errno(true) == Errno::ENOENT) {
                                return Err(Errno::ENOENT);
                            }
                            return Err(e);
                        }
                        // a synthetic directory that makes its own objects
                        // (mqueue): its hook takes its own locks, checks the
                        // name again and may drop what it replaces, so it
                        // runs without the superblock's lock
                        if let Some(sy) = parent.synth()
                            && parent.lock().permits(FileType::Directory, self.cred, W_OK | X_OK)
                        {
                            drop(ns.take());
                            if let Some(file) =
                                sy.node.create_object(name, mode & S_IALLUGO & !self.umask, flags, self.cred)
                            {
                                let file = file?;
                                parent.fsnotify_name(CREATE, 0, name, false);
                                return Ok(Opened::Reopen { file, flags: flags_after_open(flags) });
                            }
                            let _ = ns.replace(parent.sb.ns());
                        }
                        self.may_create(&parent, true)?;
                        parent.sb.check_inode_room()?;
                        created = true;
                        let perm = mode & S_IALLUGO & !self.umask;
                        let inode = self.create_in(
                            &parent,
                            name,
                            FileType::Regular,
                            perm,
                            Body::Regular { pages: Default::default(), size: 0 },
                        )?;
                        if parent.is_watched() {
                            let mut n = Vec::new();
                            if n.try_reserve_exact(name.len()).is_ok() {
                                n.extend_from_slice(name);
                                created_in = Some((Arc::clone(&parent), n));
                            }
                        }
                        break inode;
                    }
                    Err(e) => return Err(e),
                }
            } else {
                self.lookup_one(&parent, name)?
            };
            if found.file_type() == FileType::Symlink {
                if !follow {
                    if flags & O_PATH != 0 {
                        break found;
                    }
                    return Err(Errno::ELOOP);
                }
                if let Some(m) = found.magic() {
                    match self.jump(m, &mut links)? {
                        Magic::Inode(i) | Magic::Path(crate::Path { inode: i, .. }) => {
                            if slash && !i.is_dir() {
                                return Err(Errno::ENOTDIR);
                            }
                            break i;
                        }
                        Magic::File(file) => {
                            if slash {
                                return Err(Errno::ENOTDIR);
                            }
                            let flags =
                                (flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)) | O_LARGEFILE;
                            return Ok(Opened::Reopen { file, flags });
                        }
                    }
                }
                path = self.link_target(&parent, &found, &mut links)?;
                must_dir = slash;
                base = parent;
                continue;
            }
            if slash && !found.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            parent.hint_child(&found, name);
            break found;
        };
        if let Some((dir, name)) = created_in {
            dir.fsnotify_name(CREATE, 0, &name, false);
        }
        let ftype = inode.file_type();
        if flags & O_CREAT != 0 && ftype == FileType::Directory {
            return Err(Errno::EISDIR);
        }
        // do_open(): after EISDIR, before the permission check
        if flags & O_CREAT != 0
            && !created
            && let Some(dir) = &sticky_dir
        {
            self.may_create_in_sticky(dir, &inode)?;
        }
        if flags & O_DIRECTORY != 0 && ftype != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        if flags & O_PATH != 0 {
            return Ok(Opened::File(Arc::new(RamFile::new(inode, flags).with_mount(self.walked_mount()))));
        }
        let mut acc = match flags & O_ACCMODE {
            O_RDONLY => R_OK,
            O_WRONLY => W_OK,
            _ => R_OK | W_OK,
        };
        if flags & O_TRUNC != 0 {
            acc |= W_OK;
        }
        if ftype == FileType::Directory && acc & W_OK != 0 {
            return Err(Errno::EISDIR);
        }
        let mut opened = None;
        if !created {
            if ftype == FileType::Socket {
                return Err(Errno::ENXIO);
            }
            // may_open(): a device node on a nodev mount
            if matches!(ftype, FileType::CharDevice | FileType::BlockDevice)
                && self.view_flags() & MNT_NODEV != 0
            {
                return Err(Errno::EACCES);
            }
            if acc & W_OK != 0 && matches!(ftype, FileType::Regular | FileType::Symlink) {
                self.check_rw(&inode)?;
            }
            if !inode.permits(self.cred, acc) {
                return Err(Errno::EACCES);
            }
            if flags & O_NOATIME != 0 && !self.cred.owner_or_capable(inode.uid()) {
                return Err(Errno::EPERM);
            }
            // a synthetic file's own open check (procfs: ptrace access)
            // and the node of this open file
            if let Some(s) = inode.synth() {
                s.node.may_open()?;
                if flags & O_PATH == 0
                    && let Some(file) = s.node.open_object(flags)
                {
                    return Ok(Opened::Reopen { file: file?, flags: flags_after_open(flags) });
                }
                opened = s.node.open_file(flags)?;
            }
            // do_dentry_open's get_write_access (and handle_truncate's for
            // O_TRUNC): ETXTBSY while a program runs from the file; held
            // across the truncation, then by the open file
            if acc & W_OK != 0 && ftype == FileType::Regular {
                inode.get_write_access()?;
                let r = if flags & O_TRUNC != 0 { inode.set_size(0) } else { Ok(()) };
                let file = r.map(|()| {
                    RamFile::new(Arc::clone(&inode), flags_after_open(flags))
                        .with_node(opened.take())
                        .with_mount(self.walked_mount())
                });
                inode.put_write_access();
                let file = file?;
                if flags & O_TRUNC != 0 {
                    // handle_truncate's notify_change, then fsnotify_open
                    inode.fsnotify(MODIFY, false);
                }
                inode.fsnotify_file(OPEN);
                return Ok(Opened::File(Arc::new(file)));
            }
        }
        let flags = flags_after_open(flags);
        Ok(match ftype {
            FileType::CharDevice | FileType::BlockDevice => {
                let (major, minor) = inode.device().unwrap_or((0, 0));
                Opened::Device { inode, major, minor, flags }
            }
            FileType::Fifo => Opened::Fifo { inode, flags },
            _ => {
                inode.fsnotify_file(OPEN);
                Opened::File(Arc::new(
                    RamFile::new(inode, flags).with_node(opened).with_mount(self.walked_mount()),
                ))
            }
        })
    }

    /// open(2) with `O_TMPFILE` (Linux's do_tmpfile): an unnamed regular
    /// file on the filesystem of the directory `path` names, link count 0,
    /// permission `mode` less the umask. `EINVAL` without `O_DIRECTORY`,
    /// with `O_CREAT` or `O_PATH`, or without write access; `ENOTDIR` when
    /// `path` is no directory (or, with `O_NOFOLLOW`, a symbolic link);
    /// `EROFS`; `EACCES` without write and search
    /// permission on it; `EOPNOTSUPP` on a filesystem without the
    /// operation (synthetic ones, ext2). Without `O_EXCL`, linkat(2) may
    /// name it later.
    fn open_tmpfile(&self, dir: &Arc<Inode>, path: &[u8], flags: u32, mode: u32) -> Result<Opened> {
        if flags & (O_TMPFILE | O_CREAT) != O_TMPFILE || flags & O_ACCMODE == O_RDONLY || flags & O_PATH != 0
        {
            return Err(Errno::EINVAL);
        }
        // O_NOFOLLOW: a final symbolic link is not followed (and so is no
        // directory)
        let parent = self.walk(dir, path, flags & O_NOFOLLOW == 0, &mut 0)?;
        if !parent.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        self.check_rw(&parent)?;
        if !parent.lock().permits(FileType::Directory, self.cred, W_OK | X_OK) {
            return Err(Errno::EACCES);
        }
        if parent.synth().is_some() {
            return Err(Errno::EOPNOTSUPP);
        }
        let (perm, gid) = self.new_owner(&parent, FileType::Regular, mode & S_IALLUGO & !self.umask);
        let inode = if let Some(fs) = parent.backing() {
            // the store's inode comes with a pin of its own; the cache
            // takes another, and the store's goes once the cache holds it
            let uid = self.cred.uid;
            let ino = fs.with(|s| s.tmpfile(parent.ino(), FileType::Regular.mode_bits() | perm, uid, gid))?;
            let inode = crate::backing::backed_inode(&parent.sb, ino, Some(&parent));
            fs.queue_release(ino);
            inode?
        } else {
            parent.sb.check_inode_room()?;
            Inode::new_unlinked(&parent, perm, self.cred.uid, gid)
        };
        {
            let mut d = inode.lock();
            // d_path() of Linux's tmpfile dentry: "/dir/#<ino> (deleted)"
            let mut name = Vec::new();
            name.try_reserve(21).map_err(|_| Errno::ENOMEM)?;
            name.push(b'#');
            let mut n = inode.ino();
            loop {
                name.insert(1, b'0' + (n % 10) as u8);
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            d.unlinked_from = Some((Arc::downgrade(&parent), name));
            d.linkable = flags & O_EXCL == 0;
        }
        Ok(Opened::File(Arc::new(
            RamFile::new(inode, flags_after_open(flags)).with_mount(self.walked_mount()),
        )))
    }

    /// mkdir(2): a new directory with `mode & 0o1777` less the umask.
    pub fn mkdir(&self, dir: &dyn AsPath, path: &[u8], mode: u32) -> Result<Arc<Inode>> {
        let dir = self.begin(dir, path);
        let perm = mode & (0o777 | S_ISVTX) & !self.umask;
        self.create_node(dir, path, FileType::Directory, perm, Body::Dir(DirData::new(None)))
    }

    /// mknod(2): a regular file, FIFO, socket, or (root only, else
    /// `EPERM`) character or block device `rdev` ([`makedev`]). `EPERM` for
    /// a directory type, `EINVAL` for an unknown one.
    pub fn mknod(&self, dir: &dyn AsPath, path: &[u8], mode: u32, rdev: u64) -> Result<Arc<Inode>> {
        let dir = self.begin(dir, path);
        let ftype = if mode & S_IFMT == 0 {
            FileType::Regular
        } else {
            match FileType::from_mode(mode) {
                Some(FileType::Directory) => return Err(Errno::EPERM),
                Some(FileType::Symlink) | None => return Err(Errno::EINVAL),
                Some(t) => t,
            }
        };
        let body = match ftype {
            FileType::Regular => Body::Regular { pages: Default::default(), size: 0 },
            FileType::CharDevice | FileType::BlockDevice => Body::Device(rdev),
            _ => Body::None,
        };
        let perm = mode & S_IALLUGO & !self.umask;
        if matches!(ftype, FileType::CharDevice | FileType::BlockDevice) && !self.cred.has_cap(CAP_MKNOD) {
            // Linux checks CAP_MKNOD after the name: EEXIST first.
            let (parent, last, _) = self.parent_walk(dir, path, &mut 0)?;
            let name = is_normal(&last).ok_or(Errno::EEXIST)?;
            if self.lookup_raw(&parent, name)?.is_some() {
                return Err(Errno::EEXIST);
            }
            self.check_rw(&parent)?;
            self.may_create(&parent, false)?;
            return Err(Errno::EPERM);
        }
        self.create_node(dir, path, ftype, perm, body)
    }

    /// symlink(2): a link at `path` whose content is `target` (not
    /// resolved now; `ENOENT` if empty).
    pub fn symlink(&self, target: &[u8], dir: &dyn AsPath, path: &[u8]) -> Result<Arc<Inode>> {
        let dir = self.begin(dir, path);
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        self.create_node(dir, path, FileType::Symlink, 0o777, Body::Symlink(target.to_vec()))
    }

    /// link(2) / linkat(2): a new name for an existing non-directory
    /// (`EPERM` for a directory, `EXDEV` across filesystems). `flags`:
    /// `AT_SYMLINK_FOLLOW`, `AT_EMPTY_PATH`.
    pub fn link(
        &self,
        olddir: &dyn AsPath,
        oldpath: &[u8],
        newdir: &dyn AsPath,
        newpath: &[u8],
        flags: u32,
    ) -> Result<()> {
        if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        // naming an open file needs CAP_DAC_READ_SEARCH (do_linkat)
        if flags & AT_EMPTY_PATH != 0 && !self.cred.has_cap(CAP_DAC_READ_SEARCH) {
            return Err(Errno::ENOENT);
        }
        let od = self.begin(olddir, oldpath);
        let old = if oldpath.is_empty() && flags & AT_EMPTY_PATH != 0 {
            Arc::clone(od)
        } else {
            self.walk(od, oldpath, flags & AT_SYMLINK_FOLLOW != 0, &mut 0)?
        };
        let old_mnt = self.cur.take();
        let nd = self.begin(newdir, newpath);
        let (parent, last, slash) = self.parent_walk(nd, newpath, &mut 0)?;
        // do_linkat: both names through one mount
        if !same_mount(old_mnt.as_ref(), self.walked_mount().as_ref()) {
            return Err(Errno::EXDEV);
        }
        let name = is_normal(&last).ok_or(Errno::EEXIST)?;
        self.may_lookup(&parent, name)?;
        let ns = parent.sb.ns();
        if parent.child(name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        if slash {
            return Err(Errno::ENOENT);
        }
        if !old.same_fs(&parent) {
            return Err(Errno::EXDEV);
        }
        self.check_rw(&parent)?;
        self.may_linkat(&old)?;
        self.may_create(&parent, false)?;
        if old.is_dir() {
            return Err(Errno::EPERM);
        }
        if old.nlink() == 0 && !old.lock().linkable {
            return Err(Errno::ENOENT);
        }
        if let Some(fs) = parent.backing() {
            fs.with(|s| s.link(old.ino(), parent.ino(), name))?;
            // an O_TMPFILE file links once (vfs_link clears I_LINKABLE)
            old.lock().linkable = false;
            if let Some(entries) = parent.lock().dir_mut() {
                entries.insert(name, Arc::clone(&old));
            }
            old.reload();
            parent.reload();
            drop(ns);
            notify_link(&parent, name, &old);
            return Ok(());
        }
        let now = parent.sb.now();
        {
            let mut o = old.lock();
            if o.nlink == 0 {
                if !o.linkable {
                    return Err(Errno::ENOENT);
                }
                // an O_TMPFILE file gets its first name (vfs_link); its
                // open file keeps reading "#<ino> (deleted)" in /proc
                o.linkable = false;
            }
            o.nlink += 1;
            o.ctime = now;
        }
        let mut d = parent.lock();
        if let Some(entries) = d.dir_mut() {
            entries.insert(name, Arc::clone(&old));
        }
        d.mtime = now;
        d.ctime = now;
        drop(d);
        drop(ns);
        notify_link(&parent, name, &old);
        Ok(())
    }

    /// Linux's `may_delete`: write and search permission on `dir`, the
    /// sticky rule (`EPERM`), and the type rule (`ENOTDIR` / `EISDIR`).
    fn may_delete(&self, dir: &Arc<Inode>, victim: &Arc<Inode>, isdir: bool) -> Result<()> {
        if dir.is_synthetic() {
            // no unlink/rmdir/rename operations there
            return Err(Errno::EPERM);
        }
        let (sticky, duid) = {
            let d = dir.lock();
            if !d.permits(FileType::Directory, self.cred, W_OK | X_OK) {
                return Err(Errno::EACCES);
            }
            (d.perm & S_ISVTX != 0, d.uid)
        };
        if sticky && self.cred.uid != duid && !self.cred.owner_or_capable(victim.uid()) {
            return Err(Errno::EPERM);
        }
        if isdir {
            if !victim.is_dir() {
                return Err(Errno::ENOTDIR);
            }
        } else if victim.is_dir() {
            return Err(Errno::EISDIR);
        }
        if dir.nlink() == 0 {
            return Err(Errno::ENOENT);
        }
        Ok(())
    }

    /// Takes `name` out of `dir` (the namespace lock held), fixing link
    /// counts and times.
    fn detach(&self, dir: &Arc<Inode>, name: &[u8], victim: &Arc<Inode>) -> Result<()> {
        if let Some(fs) = dir.backing() {
            fs.with(|s| if victim.is_dir() { s.rmdir(dir.ino(), name) } else { s.unlink(dir.ino(), name) })?;
        }
        let now = dir.sb.now();
        // the entry's inode is dropped after the lock (its drop may queue
        // a release in the store)
        let removed;
        {
            let mut d = dir.lock();
            removed = d.dir_mut().and_then(|entries| entries.remove(name));
            if victim.is_dir() {
                d.nlink -= 1;
            }
            d.mtime = now;
            d.ctime = now;
        }
        let mut v = victim.lock();
        v.nlink = if victim.is_dir() { 0 } else { v.nlink.saturating_sub(1) };
        v.ctime = now;
        if v.nlink == 0 && !victim.is_dir() {
            let mut n = Vec::new();
            if n.try_reserve_exact(name.len()).is_ok() {
                n.extend_from_slice(name);
                v.unlinked_from = Some((Arc::downgrade(dir), n));
            }
        }
        drop(v);
        if dir.is_backed() {
            dir.reload();
            if victim.nlink() != 0 {
                victim.reload();
            }
        }
        drop(removed);
        Ok(())
    }

    /// unlink(2): removes a non-directory name (`EISDIR` for a directory).
    pub fn unlink(&self, dir: &dyn AsPath, path: &[u8]) -> Result<()> {
        let dir = self.begin(dir, path);
        let (parent, last, slash) = self.parent_walk(dir, path, &mut 0)?;
        let name = is_normal(&last).ok_or(Errno::EISDIR)?;
        self.may_lookup(&parent, name)?;
        self.check_rw(&parent)?;
        let mut ns = Some(parent.sb.ns());
        let victim = parent.child(name)?.ok_or(Errno::ENOENT)?;
        if slash {
            return Err(if victim.is_dir() { Errno::EISDIR } else { Errno::ENOTDIR });
        }
        // a synthetic directory that removes names itself (mqueue): its
        // hook takes its own locks and drops what it removes, so it runs
        // without the superblock's lock
        if let Some(sy) = parent.synth() {
            drop(ns.take());
            if let Some(r) = sy.node.unlink(name, self.cred) {
                r?;
                notify_delete(&parent, name, &victim);
                return Ok(());
            }
            let _ = ns.replace(parent.sb.ns());
        }
        self.may_delete(&parent, &victim, false)?;
        // vfs_unlink's is_local_mountpoint(): a file mounted on in this
        // namespace (a file bound on a file)
        if victim.mounted_in(self.mnt_ns).is_some() {
            return Err(Errno::EBUSY);
        }
        self.detach(&parent, name, &victim)?;
        drop(ns);
        // vfs_unlink: fsnotify_link_count, then d_delete_notify
        victim.fsnotify_inode(ATTRIB);
        notify_delete(&parent, name, &victim);
        Ok(())
    }

    /// rmdir(2): removes an empty directory (`EINVAL` for ".",
    /// `ENOTEMPTY` for ".." or a non-empty one, `EBUSY` for "/" or a mount
    /// point).
    pub fn rmdir(&self, dir: &dyn AsPath, path: &[u8]) -> Result<()> {
        let dir = self.begin(dir, path);
        let (parent, last, _) = self.parent_walk(dir, path, &mut 0)?;
        let name = match last.as_deref() {
            None => return Err(Errno::EBUSY),
            Some(b".") => return Err(Errno::EINVAL),
            Some(b"..") => return Err(Errno::ENOTEMPTY),
            Some(n) => n,
        };
        self.may_lookup(&parent, name)?;
        self.check_rw(&parent)?;
        let ns = parent.sb.ns();
        let victim = parent.child(name)?.ok_or(Errno::ENOENT)?;
        // a synthetic directory that removes directories itself (cgroup2)
        if let Some(sy) = parent.synth()
            && sy.node.has_dir_ops()
        {
            if !parent.lock().permits(FileType::Directory, self.cred, W_OK | X_OK) {
                return Err(Errno::EACCES);
            }
            if !victim.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            if victim.is_covered() {
                return Err(Errno::EBUSY);
            }
            sy.node.rmdir(name, self.cred)?;
            drop(ns);
            notify_delete(&parent, name, &victim);
            return Ok(());
        }
        self.may_delete(&parent, &victim, true)?;
        if victim.is_covered() {
            return Err(Errno::EBUSY);
        }
        if victim.dir_len()? != 0 {
            return Err(Errno::ENOTEMPTY);
        }
        self.detach(&parent, name, &victim)?;
        drop(ns);
        notify_delete(&parent, name, &victim);
        Ok(())
    }

    /// unlinkat(2): [`Ctx::rmdir`] with `AT_REMOVEDIR`, else
    /// [`Ctx::unlink`]; other flags give `EINVAL`.
    pub fn unlinkat(&self, dir: &dyn AsPath, path: &[u8], flags: u32) -> Result<()> {
        if flags & !AT_REMOVEDIR != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & AT_REMOVEDIR != 0 { self.rmdir(dir, path) } else { self.unlink(dir, path) }
    }

    /// rename(2) / renameat2(2) with `RENAME_NOREPLACE` and
    /// `RENAME_EXCHANGE` (`RENAME_WHITEOUT` is `EINVAL`).
    pub fn rename(
        &self,
        olddir: &dyn AsPath,
        oldpath: &[u8],
        newdir: &dyn AsPath,
        newpath: &[u8],
        flags: u32,
    ) -> Result<()> {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
            || flags & RENAME_WHITEOUT != 0
            || (flags & RENAME_NOREPLACE != 0 && flags & RENAME_EXCHANGE != 0)
        {
            return Err(Errno::EINVAL);
        }
        let exchange = flags & RENAME_EXCHANGE != 0;
        let od = self.begin(olddir, oldpath);
        let (op, olast, oslash) = self.parent_walk(od, oldpath, &mut 0)?;
        let old_mnt = self.cur.take();
        let nd = self.begin(newdir, newpath);
        let (np, nlast, nslash) = self.parent_walk(nd, newpath, &mut 0)?;
        // do_renameat2: both names through one mount
        if !op.same_fs(&np) || !same_mount(old_mnt.as_ref(), self.walked_mount().as_ref()) {
            return Err(Errno::EXDEV);
        }
        let oname = is_normal(&olast).ok_or(Errno::EBUSY)?;
        let nname = is_normal(&nlast).ok_or(if flags & RENAME_NOREPLACE != 0 {
            Errno::EEXIST
        } else {
            Errno::EBUSY
        })?;
        self.may_lookup(&op, oname)?;
        self.may_lookup(&np, nname)?;
        self.check_rw(&op)?;
        let ns = op.sb.ns();
        let old = op.child(oname)?.ok_or(Errno::ENOENT)?;
        let new = np.child(nname)?;
        if flags & RENAME_NOREPLACE != 0 && new.is_some() {
            return Err(Errno::EEXIST);
        }
        if exchange {
            match &new {
                None => return Err(Errno::ENOENT),
                Some(n) if !n.is_dir() && nslash => return Err(Errno::ENOTDIR),
                _ => {}
            }
        }
        if !old.is_dir() && (oslash || (!exchange && nslash)) {
            return Err(Errno::ENOTDIR);
        }
        if is_ancestor(&old, &np) {
            return Err(Errno::EINVAL);
        }
        if let Some(n) = &new
            && is_ancestor(n, &op)
        {
            return Err(if exchange { Errno::EINVAL } else { Errno::ENOTEMPTY });
        }
        if let Some(n) = &new
            && Arc::ptr_eq(n, &old)
        {
            return Ok(());
        }
        self.may_delete(&op, &old, old.is_dir())?;
        match &new {
            None => self.may_create(&np, false)?,
            Some(n) => self.may_delete(&np, n, if exchange { n.is_dir() } else { old.is_dir() })?,
        }
        if !Arc::ptr_eq(&op, &np) {
            if old.is_dir() && !old.permits(self.cred, W_OK) {
                return Err(Errno::EACCES);
            }
            if let Some(n) = &new
                && exchange
                && n.is_dir()
                && !n.permits(self.cred, W_OK)
            {
                return Err(Errno::EACCES);
            }
        }
        if old.is_covered() || new.as_ref().is_some_and(|n| n.is_covered()) {
            return Err(Errno::EBUSY);
        }
        if !exchange
            && let Some(n) = &new
            && n.is_dir()
            && n.dir_len()? != 0
        {
            return Err(Errno::ENOTEMPTY);
        }
        if let Some(fs) = op.backing() {
            if exchange && !fs.can_exchange() {
                // a store without RENAME_EXCHANGE (fs/ext2's rename)
                return Err(Errno::EINVAL);
            }
            if exchange {
                fs.with(|s| s.exchange(op.ino(), oname, np.ino(), nname))?;
            } else {
                fs.with(|s| s.rename(op.ino(), oname, np.ino(), nname))?;
            }
        }
        let now = op.sb.now();
        let same = Arc::ptr_eq(&op, &np);
        let set_parent = |child: &Arc<Inode>, parent: &Arc<Inode>| {
            if let Some(d) = child.lock().dir_mut() {
                d.parent = Some(Arc::downgrade(parent));
            }
        };
        if exchange {
            let Some(new) = new else { return Err(Errno::ENOENT) };
            {
                let mut d = np.lock();
                if let Some(e) = d.dir_mut() {
                    e.replace(nname, Arc::clone(&old));
                    if same {
                        e.replace(oname, Arc::clone(&new));
                    }
                }
                if !same {
                    if old.is_dir() {
                        d.nlink += 1;
                    }
                    if new.is_dir() {
                        d.nlink -= 1;
                    }
                }
                d.mtime = now;
                d.ctime = now;
            }
            if !same {
                let mut d = op.lock();
                if let Some(e) = d.dir_mut() {
                    e.replace(oname, Arc::clone(&new));
                }
                if new.is_dir() {
                    d.nlink += 1;
                }
                if old.is_dir() {
                    d.nlink -= 1;
                }
                d.mtime = now;
                d.ctime = now;
                drop(d);
                set_parent(&old, &np);
                set_parent(&new, &op);
            }
            old.lock().ctime = now;
            new.lock().ctime = now;
            drop(ns);
            notify_move(&op, oname, &np, nname, &old, None);
            notify_move(&np, nname, &op, oname, &new, None);
            return Ok(());
        }
        {
            let mut d = np.lock();
            if let Some(e) = d.dir_mut() {
                if new.is_some() {
                    e.remove(nname);
                }
                e.insert(nname, Arc::clone(&old));
                if same {
                    e.remove(oname);
                }
            }
            if !same && old.is_dir() {
                d.nlink += 1;
            }
            if new.as_ref().is_some_and(|n| n.is_dir()) {
                d.nlink -= 1;
            }
            d.mtime = now;
            d.ctime = now;
        }
        if !same {
            let mut d = op.lock();
            if let Some(e) = d.dir_mut() {
                e.remove(oname);
            }
            if old.is_dir() {
                d.nlink -= 1;
            }
            d.mtime = now;
            d.ctime = now;
            drop(d);
            set_parent(&old, &np);
        }
        if let Some(victim) = &new {
            let mut v = victim.lock();
            v.nlink = if victim.is_dir() { 0 } else { v.nlink.saturating_sub(1) };
            v.ctime = now;
        }
        old.lock().ctime = now;
        if op.is_backed() {
            op.reload();
            np.reload();
            old.reload();
            if let Some(v) = &new
                && v.nlink() != 0
            {
                v.reload();
            }
        }
        drop(ns);
        notify_move(&op, oname, &np, nname, &old, new.as_ref());
        Ok(())
    }

    /// readlink(2) / readlinkat(2): the target of the symbolic link `path`
    /// (`EINVAL` if it is not one); an empty path reads `dir` itself
    /// (`ENOENT` if that is not a symbolic link).
    pub fn readlink(&self, dir: &dyn AsPath, path: &[u8]) -> Result<Vec<u8>> {
        let inode = self.lookup_at(dir, path, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)?;
        match inode.readlink() {
            // readlinkat(2) with an empty path names the handle itself,
            // which must then be a symbolic link.
            Err(_) if path.is_empty() => Err(Errno::ENOENT),
            r => r,
        }
    }

    /// stat(2), lstat(2), fstatat(2) (`AT_SYMLINK_NOFOLLOW`,
    /// `AT_EMPTY_PATH`, `AT_NO_AUTOMOUNT`; others `EINVAL`).
    pub fn stat(&self, dir: &dyn AsPath, path: &[u8], at_flags: u32) -> Result<Stat> {
        let dir = self.begin(dir, path);
        if at_flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800) != 0 {
            return Err(Errno::EINVAL);
        }
        if path.is_empty() && at_flags & AT_EMPTY_PATH != 0 {
            return Ok(dir.stat());
        }
        match self.walk_magic(dir, path, at_flags & AT_SYMLINK_NOFOLLOW == 0, &mut 0)? {
            Magic::Inode(i) | Magic::Path(crate::Path { inode: i, .. }) => Ok(i.stat()),
            // stat(2) of /dev/stdin when it is a pipe: the pipe's
            Magic::File(f) => f.stat(),
        }
    }

    /// chmod(2) / fchmodat(2); with `AT_SYMLINK_NOFOLLOW` a symbolic link
    /// gives `EOPNOTSUPP`, as Linux.
    pub fn chmod(&self, dir: &dyn AsPath, path: &[u8], mode: u32, at_flags: u32) -> Result<()> {
        let inode = self.lookup_at(dir, path, at_flags)?;
        if inode.file_type() == FileType::Symlink {
            return Err(Errno::EOPNOTSUPP);
        }
        // chmod_common's mnt_want_write
        self.check_mount_rw()?;
        inode.chmod(self.cred, mode)
    }

    /// chown(2), lchown(2), fchownat(2); `None` leaves an ID unchanged.
    pub fn chown(
        &self,
        dir: &dyn AsPath,
        path: &[u8],
        uid: Option<u32>,
        gid: Option<u32>,
        at_flags: u32,
    ) -> Result<()> {
        let inode = self.lookup_at(dir, path, at_flags)?;
        // chown_common's mnt_want_write
        self.check_mount_rw()?;
        inode.chown(self.cred, uid, gid)
    }

    /// utimensat(2): see [`Inode::utimens`].
    pub fn utimens(
        &self,
        dir: &dyn AsPath,
        path: &[u8],
        times: Option<[Timespec; 2]>,
        at_flags: u32,
    ) -> Result<()> {
        let inode = self.lookup_at(dir, path, at_flags)?;
        // vfs_utimes' mnt_want_write
        self.check_mount_rw()?;
        inode.utimens(self.cred, times)
    }

    /// truncate(2): `EINVAL` for a negative length or a non-regular file,
    /// `EISDIR` for a directory, `EACCES` without write permission.
    pub fn truncate(&self, dir: &dyn AsPath, path: &[u8], len: i64) -> Result<()> {
        if len < 0 {
            return Err(Errno::EINVAL);
        }
        let inode = self.lookup(dir, path, true)?;
        match inode.file_type() {
            FileType::Directory => return Err(Errno::EISDIR),
            FileType::Regular => {}
            _ => return Err(Errno::EINVAL),
        }
        self.check_rw(&inode)?;
        inode.check_access(self.cred, W_OK)?;
        // vfs_truncate's get_write_access: ETXTBSY for a running program
        inode.get_write_access()?;
        let r = inode.set_size(len as u64);
        inode.put_write_access();
        r?;
        inode.fsnotify(MODIFY, false);
        Ok(())
    }

    /// access(2) / faccessat(2): `mode` is `F_OK` or a mix of `R_OK`,
    /// `W_OK`, `X_OK` (others `EINVAL`); the credential given is the one
    /// checked (the real IDs for access(2)).
    pub fn access(&self, dir: &dyn AsPath, path: &[u8], mode: u32, at_flags: u32) -> Result<()> {
        let dir = self.begin(dir, path);
        if mode & !7 != 0 || at_flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_EACCESS) != 0 {
            return Err(Errno::EINVAL);
        }
        let inode = if path.is_empty() && at_flags & AT_EMPTY_PATH != 0 {
            Arc::clone(dir)
        } else {
            match self.walk_magic(dir, path, at_flags & AT_SYMLINK_NOFOLLOW == 0, &mut 0)? {
                Magic::Inode(i) | Magic::Path(crate::Path { inode: i, .. }) => i,
                // /dev/stdin when it is a pipe: the pipe's owner and mode
                Magic::File(f) => {
                    let st = f.stat()?;
                    return if mode == F_OK || stat_permits(&st, self.cred, mode) {
                        Ok(())
                    } else {
                        Err(Errno::EACCES)
                    };
                }
            }
        };
        if mode == F_OK {
            return Ok(());
        }
        // sb_permission(): writing a file of a read-only filesystem
        if mode & W_OK != 0
            && matches!(inode.file_type(), FileType::Regular | FileType::Directory | FileType::Symlink)
        {
            self.check_rw(&inode)?;
        }
        inode.check_access(self.cred, mode)
    }

    /// chdir(2) / chroot(2): the directory `path` names (`ENOTDIR`,
    /// `EACCES` without search permission), to store in the task's context.
    /// fchdir(2) is `chdir(inode, b".")`.
    pub fn chdir(&self, dir: &dyn AsPath, path: &[u8]) -> Result<Arc<Inode>> {
        let inode = self.lookup(dir, path, true)?;
        if !inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        inode.check_access(self.cred, X_OK)?;
        Ok(inode)
    }

    /// The checks of execve(2) on `path`: a regular file (`EACCES`
    /// otherwise, as for a directory) with execute permission (`EACCES`).
    /// Returns the inode to load from ([`Inode::read_at`]).
    pub fn open_exec(&self, dir: &dyn AsPath, path: &[u8]) -> Result<Arc<Inode>> {
        let inode = self.lookup(dir, path, true)?;
        if inode.file_type() != FileType::Regular {
            return Err(Errno::EACCES);
        }
        inode.check_access(self.cred, X_OK)?;
        // path_noexec(): a noexec mount
        if self.view_flags() & MNT_NOEXEC != 0 {
            return Err(Errno::EACCES);
        }
        Ok(inode)
    }

    /// getcwd(2): the path of `cwd` from this context's root; `ENOENT` if
    /// the directory was removed; a directory outside the root gets the
    /// prefix `(unreachable)` as in Linux.
    pub fn getcwd(&self, cwd: &dyn AsPath) -> Result<Vec<u8>> {
        let mut mnt = cwd.mount().cloned();
        let cwd = cwd.inode();
        if cwd.is_dir() && cwd.nlink() == 0 {
            return Err(Errno::ENOENT);
        }
        let mut names: Vec<Vec<u8>> = Vec::new();
        let mut cur = Arc::clone(cwd);
        let mut reachable = true;
        loop {
            if Arc::ptr_eq(&cur, &self.root) {
                // the root directory seen through another mount of it (a
                // bind of / at /mnt/r): on from the directory it covers
                let other = match (&mnt, &self.root_mnt) {
                    (Some(a), Some(b)) => !Arc::ptr_eq(a, b) && Arc::ptr_eq(a.root(), &cur),
                    _ => false,
                };
                match mnt.as_ref().and_then(|m| m.up()).filter(|_| other) {
                    Some((pm, mp)) => {
                        cur = mp;
                        mnt = Some(pm);
                        continue;
                    }
                    None => break,
                }
            }
            // a mount's root: the directory it covers in its parent mount
            if let Some(m) = &mnt
                && Arc::ptr_eq(&cur, m.root())
            {
                let Some((pm, mp)) = m.up() else {
                    reachable = false;
                    break;
                };
                cur = mp;
                mnt = Some(pm);
                continue;
            }
            if let Some(p) = cur.parent() {
                let name = match cur.synth() {
                    Some(s) => Some(s.name.clone()),
                    None => p.lock().dir().and_then(|d| d.name_of(&cur).map(<[u8]>::to_vec)),
                };
                names.push(name.ok_or(Errno::ENOENT)?);
                cur = p;
            } else if let Some(mp) = cur.mountpoint_in(self.mnt_ns) {
                cur = mp;
            } else {
                reachable = false;
                break;
            }
        }
        let mut out = Vec::new();
        if !reachable {
            out.extend_from_slice(b"(unreachable)");
        }
        for n in names.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(n);
        }
        if names.is_empty() {
            out.push(b'/');
        }
        Ok(out)
    }

    /// A path from the root naming `target`, found by walking the tree
    /// (mounts crossed, synthetic filesystems skipped, at most `limit`
    /// entries looked at): what /proc shows for an open file, since inodes
    /// here keep no name. A directory's path is [`Ctx::getcwd`]'s. `None`
    /// when no name leads to it (unlinked) or the walk gave up.
    pub fn path_of(&self, target: &Arc<Inode>, limit: usize) -> Option<Vec<u8>> {
        if target.is_dir() {
            return self.getcwd(target).ok().filter(|p| p.first() == Some(&b'/'));
        }
        let mut stack: Vec<(Arc<Inode>, Vec<u8>)> = alloc::vec![(Arc::clone(&self.root), Vec::new())];
        let mut seen = 0usize;
        while let Some((dir, path)) = stack.pop() {
            let entries: Vec<(Vec<u8>, Arc<Inode>)> = {
                let d = dir.lock();
                let Some(data) = d.dir() else { continue };
                data.entries_from(0).map(|(_, n, i)| (n.to_vec(), Arc::clone(i))).collect()
            };
            for (name, inode) in entries {
                seen += 1;
                if seen > limit {
                    return None;
                }
                let mut p = path.clone();
                p.push(b'/');
                p.extend_from_slice(&name);
                if Arc::ptr_eq(&inode, target) {
                    return Some(p);
                }
                let mut inode = inode;
                while let Some(m) = inode.mounted_in(self.mnt_ns) {
                    if Arc::ptr_eq(m.root(), &inode) {
                        break;
                    }
                    inode = Arc::clone(m.root());
                }
                if inode.is_dir() && !inode.is_synthetic() {
                    stack.push((inode, p));
                }
            }
        }
        None
    }

    /// mount(2) of a filesystem: `fs_root` (the root of another ramfs)
    /// covers the directory `path`. Root only (`EPERM`); `ENOTDIR` for a
    /// non-directory; `EBUSY` if `fs_root` is mounted already.
    pub fn mount(&self, dir: &dyn AsPath, path: &[u8], fs_root: Arc<Inode>) -> Result<()> {
        if !self.cred.has_cap(CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        let target = self.lookup(dir, path, true)?;
        self.mount_on(&target, fs_root)
    }

    /// [`Ctx::mount`] on a directory already looked up (in this context's
    /// mount namespace, with no mount on it there: `EBUSY`). The kernel
    /// checks the caller's right to mount. The new [`Mount`] hangs in the
    /// mount the last walk ended in ([`Mount::set_up`] may change that);
    /// [`Inode::mount_here`] gives it.
    pub fn mount_on(&self, target: &Arc<Inode>, fs_root: Arc<Inode>) -> Result<()> {
        if !target.is_dir() || !fs_root.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if fs_root.is_mounted_anywhere() || fs_root.parent().is_some() || Arc::ptr_eq(target, &fs_root) {
            return Err(Errno::EBUSY);
        }
        let _ns = target.sb.ns();
        {
            let mut t = target.lock();
            let d = t.dir_mut().ok_or(Errno::ENOTDIR)?;
            if target.mounted_ptr_in(d, self.mnt_ns).is_some() {
                return Err(Errno::EBUSY);
            }
            let mnt = Mount::new(Arc::clone(&fs_root));
            if let Some(parent) = self.walked_mount() {
                mnt.set_up(Some((&parent, target)));
            }
            target.set_mounted_in(d, self.mnt_ns, Some(mnt))?;
        }
        if let Some(d) = fs_root.lock().dir_mut()
            && let Err(e) = Inode::set_mountpoint_in(d, self.mnt_ns, Some(Arc::downgrade(target)))
        {
            if let Some(d) = target.lock().dir_mut() {
                let _ = target.set_mounted_in(d, self.mnt_ns, None);
            }
            return Err(e);
        }
        Ok(())
    }

    /// mount(2) with `MS_BIND` of a directory: the directory `source`
    /// (of any filesystem, a subtree included) is seen at `path` too, as
    /// Linux's do_loopback(). Unlike Linux, `..` from its top and getcwd(2)
    /// inside it follow `source`'s own place (mounts here hang on
    /// directories, not on paths), and mounts under `source` show through
    /// it as with `MS_REC`. A file or directory bound on itself is a
    /// mount of its own (walks end in it, its flags apply: systemd's
    /// read-only binds of /proc/sys files); `EBUSY` for a bind on a target
    /// bound on itself already (Linux would stack it). `ENOTDIR` unless
    /// both are directories, `EPERM` for non-root.
    pub fn bind_mount(&self, dir: &dyn AsPath, path: &[u8], source: Arc<Inode>) -> Result<()> {
        if !self.cred.has_cap(CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        let target = self.lookup(dir, path, true)?;
        self.bind_on(&target, source)
    }

    /// [`Ctx::bind_mount`] on a directory already looked up; the kernel
    /// checks the caller's right to mount.
    pub fn bind_on(&self, target: &Arc<Inode>, source: Arc<Inode>) -> Result<()> {
        // graft_tree(): a directory on a directory or a file on a file
        if target.is_dir() != source.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        // a source seen through a mount of another place is no top (the
        // walk crossed it); one bound on itself is
        let crossed = |m: Arc<Mount>| !Arc::ptr_eq(m.root(), &source);
        let on_itself = Arc::ptr_eq(target, &source);
        if !on_itself && source.mounted_in(self.mnt_ns).is_some_and(crossed) {
            return Err(Errno::EINVAL);
        }
        if !target.is_dir() {
            let _ns = target.sb.ns();
            if target.mounted_in(self.mnt_ns).is_some() {
                return Err(Errno::EBUSY);
            }
            let mnt = Mount::new(source);
            if let Some(parent) = self.walked_mount() {
                mnt.set_up(Some((&parent, target)));
            }
            return target.set_file_mounted_in(self.mnt_ns, Some(mnt));
        }
        // lookups cross mounts, so neither has one on it but one of
        // itself (a stack there is EBUSY); a directory bound on itself
        // hangs on itself, which walks take as the top
        let _ns = target.sb.ns();
        let mut t = target.lock();
        let d = t.dir_mut().ok_or(Errno::ENOTDIR)?;
        if target.mounted_ptr_in(d, self.mnt_ns).is_some() {
            return Err(Errno::EBUSY);
        }
        let mnt = Mount::new(source);
        if let Some(parent) = self.walked_mount() {
            mnt.set_up(Some((&parent, target)));
        }
        target.set_mounted_in(d, self.mnt_ns, Some(mnt))
    }

    /// umount(2): detaches the filesystem whose root `path` names (`EINVAL`
    /// if it is not a mount; `EPERM` for non-root) and returns its root.
    pub fn umount(&self, dir: &dyn AsPath, path: &[u8]) -> Result<Arc<Inode>> {
        self.umount_mount(dir, path).map(|(_, root)| root)
    }

    /// [`Ctx::umount`], giving (the directory the mount covered, the
    /// mounted root). The topmost mount on the path's last entry goes (a
    /// bind mount's too, whose root keeps its own place).
    pub fn umount_mount(&self, dir: &dyn AsPath, path: &[u8]) -> Result<(Arc<Inode>, Arc<Inode>)> {
        if !self.cred.has_cap(CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        self.umount_at(dir, path)
    }

    /// [`Ctx::umount_mount`] for a kernel that checked the caller's right
    /// to mount itself (a user namespace's root in its mount namespace).
    pub fn umount_at(&self, dir: &dyn AsPath, path: &[u8]) -> Result<(Arc<Inode>, Arc<Inode>)> {
        let d = self.begin(dir, path);
        let (parent, last, _) = self.parent_walk(d, path, &mut 0)?;
        let raw = match is_normal(&last) {
            Some(name) => Some(self.lookup_raw(&parent, name)?.ok_or(Errno::ENOENT)?),
            None => None,
        };
        let ns = self.mnt_ns;
        let (under, top) = match raw {
            Some(raw) if raw.file_type() != FileType::Symlink => {
                let mut under = raw;
                let mut top = Arc::clone(under.mounted_in(ns).ok_or(Errno::EINVAL)?.root());
                // a chain, bounded by the namespace's mounts; one bound
                // on itself ends it (under and top the same)
                if !Arc::ptr_eq(&under, &top) {
                    // as the walk: not one of the place a bind came from
                    let mut crossed_bind = !top.is_fs_root();
                    while let Some(m) = top.mounted_in(ns) {
                        let on_itself = Arc::ptr_eq(m.root(), &top);
                        if on_itself && crossed_bind {
                            break;
                        }
                        crossed_bind = !on_itself && !m.root().is_fs_root();
                        under = core::mem::replace(&mut top, Arc::clone(m.root()));
                        if on_itself {
                            break;
                        }
                    }
                }
                (under, top)
            }
            _ => {
                let target = self.lookup(dir, path, true)?;
                // bound on itself: that mount goes
                if target.mounted_in(ns).is_some_and(|m| Arc::ptr_eq(m.root(), &target)) {
                    (Arc::clone(&target), target)
                } else {
                    let mp = target.mountpoint_in(ns).ok_or(Errno::EINVAL)?;
                    (mp, target)
                }
            }
        };
        // detached: `..` from its root goes nowhere (a cwd left in it)
        if let Some(m) = under.unmount_in_ns(ns, &top) {
            m.set_up(None);
        }
        Ok((under, top))
    }
}

/// Linux's generic_permission() on the owner and mode of `st` (for a file
/// known only by its stat, as a pipe reached through a magic link).
fn stat_permits(st: &Stat, cred: &Cred, mask: u32) -> bool {
    cred.permits(st.mode & S_IFMT == S_IFDIR, st.uid, st.gid, st.mode & 0o7777, mask)
}

/// What F_GETFL reports of an open file: creation flags dropped,
/// O_LARGEFILE forced as on every 64-bit Linux.
fn flags_after_open(flags: u32) -> u32 {
    (flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)) | O_LARGEFILE
}

/// fsnotify_link: the link count of `old` (ATTRIB), its new name in `dir`.
fn notify_link(dir: &Arc<Inode>, name: &[u8], old: &Arc<Inode>) {
    dir.hint_child(old, name);
    old.fsnotify_inode(ATTRIB);
    dir.fsnotify_name(CREATE, 0, name, false);
}

/// d_delete_notify: a victim left without a name is gone (DELETE_SELF,
/// its marks go), then DELETE in its directory.
fn notify_delete(dir: &Arc<Inode>, name: &[u8], victim: &Arc<Inode>) {
    if victim.nlink() == 0 {
        victim.fsnotify_gone(DELETE_SELF);
    }
    dir.fsnotify_name(DELETE, 0, name, victim.is_dir());
}

/// fsnotify_move: MOVED_FROM and MOVED_TO with one cookie, the replaced
/// `target`'s link count, MOVE_SELF; a target left without a name is gone.
fn notify_move(
    op: &Arc<Inode>,
    oname: &[u8],
    np: &Arc<Inode>,
    nname: &[u8],
    moved: &Arc<Inode>,
    target: Option<&Arc<Inode>>,
) {
    moved.moved_to(np, nname);
    if !op.is_watched() && !np.is_watched() && !moved.is_watched() && !target.is_some_and(|t| t.is_watched())
    {
        return;
    }
    let cookie = crate::notify::next_cookie();
    let isdir = moved.is_dir();
    op.fsnotify_name(MOVED_FROM, cookie, oname, isdir);
    np.fsnotify_name(MOVED_TO, cookie, nname, isdir);
    if let Some(t) = target {
        t.fsnotify_inode(ATTRIB);
    }
    moved.fsnotify_inode(MOVE_SELF);
    if let Some(t) = target
        && t.nlink() == 0
    {
        t.fsnotify_gone(DELETE_SELF);
    }
}
