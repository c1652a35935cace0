//! File system calls added for issue 15: the ioctls every file has
//! (FIONBIO, FIOCLEX, FIONCLEX, FIOASYNC, FIONREAD of a regular file), the
//! xattr calls (188-199), statx(2), copy_file_range(2), mknod(2)/mknodat(2)
//! and fallocate(2), with Linux 6.1's order of checks and errnos.

use super::SysResult;
use super::fs::{AT_FDCWD, AT_SYMLINK_NOFOLLOW, cred, path, with_ctx};
use crate::uthread::UThread;
use alloc::sync::Arc;
use alloc::vec::Vec;
use linux_abi::args::{DirFd, Fd, UserCStr, UserPtr, UserSlice};
use linux_abi::{Errno, Result};
use vfs::{File, FileType, Inode};

const FIONBIO: u32 = 0x5421;
const FIONCLEX: u32 = 0x5450;
const FIOCLEX: u32 = 0x5451;
const FIOASYNC: u32 = 0x5452;
const FIONREAD: u32 = 0x541b;
const FIOQSIZE: u32 = 0x5460;

/// The part of Linux's do_vfs_ioctl() that comes before a file's own
/// ioctl: `Some(result)` when `cmd` is answered here. An `O_PATH`
/// descriptor is `EBADF` for every command.
pub fn generic_ioctl(t: &UThread, fd: Fd, cmd: u32, arg: u64) -> Option<SysResult> {
    let file = match t.fd(fd) {
        Ok(f) => f,
        Err(e) => return Some(Err(e)),
    };
    if file.status_flags() & vfs::O_PATH != 0 {
        return Some(Err(Errno::EBADF));
    }
    let r = match cmd {
        FIOCLEX | FIONCLEX => {
            let flags = if cmd == FIOCLEX { fs_table::FD_CLOEXEC } else { 0 };
            t.files().lock().and_then(|mut g| g.set_fd_flags(fd.get(), flags)).map(|_| 0)
        }
        // ioctl_fionbio, ioctl_fioasync: under the description's status
        // lock, as F_SETFL
        FIONBIO => read_int(t, arg).map(|on| {
            file.owner().with_setfl(|| {
                let fl = file.status_flags();
                file.set_status_flags(if on != 0 { fl | vfs::O_NONBLOCK } else { fl & !vfs::O_NONBLOCK });
            });
            0
        }),
        FIOASYNC => read_int(t, arg).and_then(|on| {
            let want = if on != 0 { vfs::O_ASYNC } else { 0 };
            if (file.status_flags() ^ want) & vfs::O_ASYNC == 0 {
                Ok(0)
            } else if file.fasync() {
                crate::fasync::setfl(fd.get() as i32, &file, |fl| (fl & !vfs::O_ASYNC) | want).map(|()| 0)
            } else {
                Err(Errno::ENOTTY)
            }
        }),
        // inode_get_bytes(): the bytes allocated, not the size
        FIOQSIZE => match file.inode() {
            Some(i)
                if matches!(i.file_type(), FileType::Regular | FileType::Symlink | FileType::Directory) =>
            {
                t.write(UserPtr::<u64>::new(arg), i.stat().blocks as u64 * 512).map(|_| 0)
            }
            _ => return None,
        },
        // a regular file: what is left to read from the position
        FIONREAD => match file.inode() {
            Some(i) if i.file_type() == FileType::Regular => {
                let pos = file.lseek(0, vfs::SEEK_CUR).unwrap_or(0);
                t.write(UserPtr::<u32>::new(arg), i.size().wrapping_sub(pos) as u32).map(|_| 0)
            }
            _ => return None,
        },
        _ => return None,
    };
    Some(r)
}

fn read_int(t: &UThread, arg: u64) -> Result<i32> {
    t.read(UserPtr::new(arg))
}

/// open(2) through a magic link to a file without an inode: a pipe gets a
/// new end with the access mode asked for; a terminal without a device
/// node (init's console) opens the console again; anything else (an epoll
/// instance) `ENXIO`, as an anonymous inode cannot be opened. `O_PATH`
/// gives a path-only file of the same object (no pipe end is opened).
pub fn reopen(file: Arc<dyn File>, flags: u32) -> Result<Arc<dyn File>> {
    if flags & vfs::O_PATH != 0 {
        // the object's stat as of now: holding the file would keep a pipe
        // end open (Linux's O_PATH holds the inode only)
        return Ok(Arc::new(PathOnly { owner: vfs::FileOwner::new(), stat: file.stat()?, flags }));
    }
    // a queue of a mqueue mount: the descriptor its node made
    if super::mqueue::is_mq(&*file) {
        return Ok(file);
    }
    let file = &*file;
    if let Some(r) = crate::pipe::reopen(file, flags) {
        return r;
    }
    if crate::devices::is_tty(file) {
        let f = crate::devices::console();
        f.set_status_flags(flags);
        return Ok(f);
    }
    Err(Errno::ENXIO)
}

/// An `O_PATH` file of an object without an inode: fstat(2) (the stat
/// taken at open) and the fd flags work; reading, writing and the rest are
/// `EBADF`.
struct PathOnly {
    stat: vfs::Stat,
    flags: u32,
    /// F_SETOWN/F_SETSIG/O_ASYNC state of the description.
    owner: vfs::FileOwner,
}

impl File for PathOnly {
    fn owner(&self) -> &vfs::FileOwner {
        &self.owner
    }

    fn read(&self, _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::EBADF)
    }

    fn write(&self, _buf: &[u8]) -> Result<usize> {
        Err(Errno::EBADF)
    }

    fn lseek(&self, _offset: i64, _whence: u32) -> Result<u64> {
        Err(Errno::EBADF)
    }

    fn stat(&self) -> Result<vfs::Stat> {
        Ok(self.stat)
    }

    fn getdents64(&self, _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::EBADF)
    }

    fn ioctl(&self, _cmd: u32, _arg: usize) -> Result<isize> {
        Err(Errno::EBADF)
    }

    fn status_flags(&self) -> u32 {
        self.flags
    }

    fn set_status_flags(&self, _flags: u32) {}
}

// ---- xattrs ----

/// What an xattr call works on: a filesystem inode, or a file without one
/// (a pipe, an epoll instance) known by its type only.
enum Target {
    Inode(Arc<Inode>),
    Bare(Option<FileType>),
}

fn xattr_target_path(t: &UThread, pathname: UserCStr, follow: bool) -> Result<Target> {
    let p = path(t, pathname)?;
    let inode = with_ctx(t, AT_FDCWD, |ctx, dir| ctx.lookup(dir, &p, follow))?;
    Ok(Target::Inode(inode))
}

fn xattr_target_fd(t: &UThread, fd: Fd) -> Result<Target> {
    let file = t.fd(fd)?;
    if file.status_flags() & vfs::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    Ok(match file.inode() {
        Some(i) => Target::Inode(i.clone()),
        None => Target::Bare(file.stat().ok().and_then(|s| FileType::from_mode(s.mode))),
    })
}

/// The name argument as strncpy_from_user() into a 256-byte buffer gets
/// it: `ERANGE` for an empty name or one that does not fit.
fn xattr_name(t: &UThread, name: UserCStr) -> Result<Vec<u8>> {
    let n = t.read_str(name, vfs::XATTR_NAME_MAX + 1).map_err(|e| match e {
        Errno::ENAMETOOLONG => Errno::ERANGE,
        e => e,
    })?;
    if n.is_empty() || n.len() > vfs::XATTR_NAME_MAX {
        return Err(Errno::ERANGE);
    }
    Ok(n)
}

/// A file without xattr support: the generic permission rules, then
/// `EOPNOTSUPP` (no handler).
fn bare(t: &UThread, ftype: Option<FileType>, name: &[u8], write: bool) -> Result<()> {
    let c = cred(t);
    vfs::xattr_permission(ftype.unwrap_or(FileType::Socket), name, write, &c, |_| true)?;
    Err(Errno::EOPNOTSUPP)
}

/// A zeroed buffer of `len` bytes, `ENOMEM` when the heap has no room.
fn zeroed(len: usize) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    v.resize(len, 0);
    Ok(v)
}

/// An xattr call's `const char *name`, and its value or list buffer with
/// its `size_t size`.
type NameValue = (UserCStr, UserSlice);

fn setxattr_on(t: &UThread, target: Target, (name, value): NameValue, flags: i32) -> SysResult {
    let flags = flags as u32;
    if flags & !(vfs::XATTR_CREATE | vfs::XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    // mnt_want_write() comes before the name is looked at
    if let Target::Inode(i) = &target {
        i.check_rw()?;
    }
    let name = xattr_name(t, name)?;
    if value.len > vfs::XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let val = if value.len == 0 { Vec::new() } else { t.read_slice(value)? };
    match target {
        Target::Inode(i) => i.setxattr(&cred(t), &name, &val, flags).map(|_| 0),
        Target::Bare(ft) => bare(t, ft, &name, true).map(|_| 0),
    }
}

fn getxattr_on(t: &UThread, target: Target, (name, value): NameValue) -> SysResult {
    let name = xattr_name(t, name)?;
    let size = value.len.min(vfs::XATTR_SIZE_MAX);
    let mut buf = zeroed(size)?;
    let r = match target {
        Target::Inode(i) => i.getxattr(&cred(t), &name, &mut buf),
        Target::Bare(ft) => bare(t, ft, &name, false).map(|_| 0),
    };
    xattr_reply(t, r, &buf, value.addr, vfs::XATTR_SIZE_MAX)
}

/// What getxattr/listxattr return: the `n` bytes the filesystem gave, copied
/// out unless the buffer is a size probe (0 bytes); `ERANGE` from a buffer
/// already as large as the limit `max` is `E2BIG`.
fn xattr_reply(t: &UThread, r: Result<usize>, buf: &[u8], dst: u64, max: usize) -> SysResult {
    match r {
        Ok(n) => {
            if !buf.is_empty() {
                t.write_slice(dst, &buf[..n])?;
            }
            Ok(n as isize)
        }
        Err(Errno::ERANGE) if buf.len() >= max => Err(Errno::E2BIG),
        Err(e) => Err(e),
    }
}

fn listxattr_on(t: &UThread, target: Target, list: UserSlice) -> SysResult {
    let size = list.len.min(vfs::XATTR_LIST_MAX);
    let mut buf = zeroed(size)?;
    let r = match target {
        Target::Inode(i) => i.listxattr(&cred(t), &mut buf),
        Target::Bare(_) => Ok(0),
    };
    xattr_reply(t, r, &buf, list.addr, vfs::XATTR_LIST_MAX)
}

fn removexattr_on(t: &UThread, target: Target, name: UserCStr) -> SysResult {
    if let Target::Inode(i) = &target {
        i.check_rw()?;
    }
    let name = xattr_name(t, name)?;
    match target {
        Target::Inode(i) => i.removexattr(&cred(t), &name).map(|_| 0),
        Target::Bare(ft) => bare(t, ft, &name, true).map(|_| 0),
    }
}

/// What an xattr call works on: a path (followed, or not for the `l*`
/// calls) or an open file (the `f*` calls).
pub enum XattrAt {
    /// setxattr(2) and the like: the path, and whether a last symlink is
    /// followed.
    Path(UserCStr, bool),
    /// fsetxattr(2) and the like.
    Fd(Fd),
}

fn xattr_target(t: &UThread, at: XattrAt) -> Result<Target> {
    match at {
        XattrAt::Path(p, follow) => xattr_target_path(t, p, follow),
        XattrAt::Fd(fd) => xattr_target_fd(t, fd),
    }
}

/// setxattr(2), lsetxattr(2), fsetxattr(2).
pub fn setxattr(t: &mut UThread, at: XattrAt, nv: NameValue, flags: i32) -> SysResult {
    let target = xattr_target(t, at)?;
    setxattr_on(t, target, nv, flags)
}

/// getxattr(2), lgetxattr(2), fgetxattr(2).
pub fn getxattr(t: &mut UThread, at: XattrAt, nv: NameValue) -> SysResult {
    let target = xattr_target(t, at)?;
    getxattr_on(t, target, nv)
}

/// listxattr(2), llistxattr(2), flistxattr(2).
pub fn listxattr(t: &mut UThread, at: XattrAt, list: UserSlice) -> SysResult {
    let target = xattr_target(t, at)?;
    listxattr_on(t, target, list)
}

/// removexattr(2), lremovexattr(2), fremovexattr(2).
pub fn removexattr(t: &mut UThread, at: XattrAt, name: UserCStr) -> SysResult {
    let target = xattr_target(t, at)?;
    removexattr_on(t, target, name)
}

// ---- statx ----

const AT_NO_AUTOMOUNT: u32 = 0x800;
const AT_STATX_SYNC_TYPE: u32 = 0x6000;
const STATX_RESERVED: u32 = 0x8000_0000;
/// STATX_TYPE .. STATX_BLOCKS.
const STATX_BASIC_STATS: u32 = 0x7ff;
const STATX_BTIME: u32 = 0x800;
const STATX_MNT_ID: u32 = 0x1000;
/// STATX_ATTR_MOUNT_ROOT.
const STATX_ATTR_MOUNT_ROOT: u64 = 0x2000;
/// What every filesystem may report (AUTOMOUNT, MOUNT_ROOT, DAX), as
/// Linux's vfs_getattr_nosec().
const STATX_ATTRS_GENERIC: u64 = 0x20_3000;
/// What tmpfs adds (IMMUTABLE, APPEND, NODUMP).
const STATX_ATTRS_TMPFS: u64 = 0x70;

/// statx's facts beyond stat(2)'s.
struct StatxExtra {
    mask: u32,
    btime: vfs::Timespec,
    attributes: u64,
    attributes_mask: u64,
    mnt_id: u64,
}

impl StatxExtra {
    /// For `inode` (`None`: a file without one, a pipe) reached through
    /// the mount `mnt` (when known), `request` being the mask asked for:
    /// MNT_ID always, BTIME when asked on tmpfs/ramfs.
    fn of(inode: Option<&Arc<Inode>>, mnt: Option<&Arc<vfs::Mount>>, request: u32) -> Self {
        let mut x = StatxExtra {
            mask: STATX_BASIC_STATS | STATX_MNT_ID,
            btime: vfs::Timespec::new(0, 0),
            attributes: 0,
            attributes_mask: STATX_ATTRS_GENERIC,
            mnt_id: crate::fs::INTERNAL_MOUNT_ID,
        };
        if let Some(i) = inode {
            // the mount the walk ended in (a file bound on itself in one
            // namespace is no mount root in another), else the latest of
            // its filesystem
            let (id, root) = match mnt.filter(|m| m.id() != 0) {
                Some(m) => (m.id(), Arc::ptr_eq(m.root(), i)),
                None => crate::fs::mount_of(i),
            };
            x.mnt_id = id;
            if root {
                x.attributes |= STATX_ATTR_MOUNT_ROOT;
            }
            if !i.is_synthetic() {
                x.attributes_mask |= STATX_ATTRS_TMPFS;
                if request & STATX_BTIME != 0 {
                    x.mask |= STATX_BTIME;
                    x.btime = i.btime();
                }
            }
        }
        x
    }
}

/// statx(2): the fields of stat(2) (`stx_mask` STATX_BASIC_STATS), with
/// do_statx()'s checks: `EINVAL` for `STATX__RESERVED` in the mask, both
/// sync flags at once, or an unknown flag.
pub fn statx(
    t: &mut UThread,
    dirfd: DirFd,
    pathname: UserCStr,
    flags: u32,
    request: u32,
    buf: UserPtr<[u8; 256]>,
) -> SysResult {
    // do_statx()'s checks come before the name's errors (EFAULT,
    // ENAMETOOLONG, ENOENT for ""), which surface at the lookup
    if request & STATX_RESERVED != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE {
        return Err(Errno::EINVAL);
    }
    let known = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | vfs::AT_EMPTY_PATH | AT_STATX_SYNC_TYPE;
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    let p = t.read_str(pathname, 4096)?;
    if p.is_empty() && flags & vfs::AT_EMPTY_PATH == 0 {
        return Err(Errno::ENOENT);
    }
    let (st, x) = if p.is_empty() {
        if dirfd == DirFd::Cwd {
            let (cwd, mnt) =
                with_ctx(t, dirfd, |ctx, dir| Ok((ctx.lookup(dir, b".", true)?, ctx.walked_mount())))?;
            (cwd.stat(), StatxExtra::of(Some(&cwd), mnt.as_ref(), request))
        } else {
            let file = t.fd(dirfd.fd())?;
            (file.stat()?, StatxExtra::of(file.inode(), file.mount(), request))
        }
    } else {
        let at = flags & AT_SYMLINK_NOFOLLOW;
        // path_init(): an absolute name never looks at dirfd (fuser passes
        // its fd 0, a terminal)
        let dirfd = super::fs::at(dirfd, &p);
        let st = with_ctx(t, dirfd, |ctx, dir| ctx.stat(dir, &p, at))?;
        // the inode again for the mount and birth facts (none for a pipe
        // reached through /proc)
        let (inode, mnt) =
            with_ctx(t, dirfd, |ctx, dir| Ok((ctx.lookup_at(dir, &p, at)?, ctx.walked_mount())))
                .map_or((None, None), |(i, m)| (Some(i), m));
        (st, StatxExtra::of(inode.as_ref(), mnt.as_ref(), request))
    };
    let mut st = st;
    super::fs::stat_ids(t, &mut st);
    t.write(buf, statx_bytes(&st, &x)).map(|_| 0)
}

/// `struct statx` (256 bytes) of `st` and `x`.
fn statx_bytes(st: &vfs::Stat, x: &StatxExtra) -> [u8; 256] {
    let mut b = [0u8; 256];
    let mut put = |at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
    put(0, &x.mask.to_le_bytes());
    put(8, &x.attributes.to_le_bytes());
    put(56, &x.attributes_mask.to_le_bytes());
    put(80, &x.btime.sec.to_le_bytes());
    put(88, &(x.btime.nsec as u32).to_le_bytes());
    put(144, &x.mnt_id.to_le_bytes());
    put(4, &(st.blksize as u32).to_le_bytes());
    put(16, &(st.nlink as u32).to_le_bytes());
    put(20, &st.uid.to_le_bytes());
    put(24, &st.gid.to_le_bytes());
    put(28, &(st.mode as u16).to_le_bytes());
    put(32, &st.ino.to_le_bytes());
    put(40, &st.size.to_le_bytes());
    put(48, &st.blocks.to_le_bytes());
    for (at, ts) in [(64, st.atime), (96, st.ctime), (112, st.mtime)] {
        put(at, &ts.sec.to_le_bytes());
        put(at + 8, &(ts.nsec as u32).to_le_bytes());
    }
    put(128, &vfs::major(st.rdev).to_le_bytes());
    put(132, &vfs::minor(st.rdev).to_le_bytes());
    put(136, &vfs::major(st.dev).to_le_bytes());
    put(140, &vfs::minor(st.dev).to_le_bytes());
    b
}

// ---- copy_file_range ----

/// Linux's MAX_RW_COUNT.
const MAX_RW_COUNT: u64 = 0x7fff_f000;
/// One step of a copy (no lock is held across steps).
const COPY_STEP: usize = 64 * 1024;

fn read_off(t: &UThread, p: UserPtr<u64>) -> Result<Option<u64>> {
    p.non_null().map(|p| t.read(p)).transpose()
}

/// copy_file_range(2): generic_copy_file_checks() of Linux 6.1 (`EISDIR`,
/// `EINVAL` for non-regular files, `EBADF` for access modes and
/// `O_APPEND`, `EXDEV` across filesystems, `EOVERFLOW`, overlapping ranges
/// of one file `EINVAL`), the copy cut at the end of the input, in steps.
pub fn copy_file_range(
    t: &mut UThread,
    fd_in: Fd,
    off_in: UserPtr<u64>,
    fd_out: Fd,
    off_out: UserPtr<u64>,
    len: usize,
    flags: u32,
) -> SysResult {
    let len = len as u64;
    let fin = t.fd(fd_in)?;
    let fout = t.fd(fd_out)?;
    for f in [&fin, &fout] {
        if f.status_flags() & vfs::O_PATH != 0 {
            return Err(Errno::EBADF);
        }
    }
    let pin = read_off(t, off_in)?;
    let pout = read_off(t, off_out)?;
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let (Some(iin), Some(iout)) = (fin.inode().cloned(), fout.inode().cloned()) else {
        return Err(Errno::EINVAL);
    };
    if iin.is_dir() || iout.is_dir() {
        return Err(Errno::EISDIR);
    }
    if iin.file_type() != FileType::Regular || iout.file_type() != FileType::Regular {
        return Err(Errno::EINVAL);
    }
    let fl_in = fin.status_flags() & vfs::O_ACCMODE;
    let fl_out = fout.status_flags();
    if fl_in == vfs::O_WRONLY || fl_out & vfs::O_ACCMODE == vfs::O_RDONLY || fl_out & vfs::O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    if !iin.same_fs(&iout) {
        return Err(Errno::EXDEV);
    }
    let pos_in = match pin {
        Some(p) => p,
        None => fin.lseek(0, vfs::SEEK_CUR)?,
    };
    let pos_out = match pout {
        Some(p) => p,
        None => fout.lseek(0, vfs::SEEK_CUR)?,
    };
    // the sums in u64 (a negative offset wraps), then rw_verify_area()
    if pos_in.checked_add(len).is_none() || pos_out.checked_add(len).is_none() {
        return Err(Errno::EOVERFLOW);
    }
    if pos_in + len > i64::MAX as u64 || pos_out + len > i64::MAX as u64 {
        return Err(Errno::EINVAL);
    }
    let size_in = iin.size();
    let mut count = if pos_in >= size_in { 0 } else { len.min(size_in - pos_in) };
    // generic_copy_file_checks(): RLIMIT_FSIZE of the destination
    count = super::fs::fsize_clip(t, &*fout, pos_out, count)?;
    if Arc::ptr_eq(&iin, &iout) && pos_out + count > pos_in && pos_out < pos_in + count {
        return Err(Errno::EINVAL);
    }
    count = count.min(MAX_RW_COUNT);
    let mut done = 0u64;
    let mut buf = zeroed(COPY_STEP.min(count as usize))?;
    while done < count {
        let want = ((count - done) as usize).min(COPY_STEP);
        let n = iin.read_at(pos_in + done, &mut buf[..want])?;
        if n == 0 {
            break;
        }
        match iout.write_at(pos_out + done, &buf[..n]) {
            Ok(w) => {
                // the splice's vfs_iter_write: fsnotify_modify per chunk
                // (inotify merges the repeats)
                if w > 0 {
                    iout.fsnotify_file(vfs::fsnotify_mask::MODIFY);
                }
                done += w as u64;
                if w < n {
                    break;
                }
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    if done > 0 {
        // vfs_copy_file_range: then fsnotify_access(in), fsnotify_modify(out)
        iin.fsnotify_file(vfs::fsnotify_mask::ACCESS);
        iout.fsnotify_file(vfs::fsnotify_mask::MODIFY);
        match pin {
            Some(p) => t.write(off_in, p + done)?,
            None => {
                fin.lseek((pos_in + done) as i64, vfs::SEEK_SET)?;
            }
        }
        match pout {
            Some(p) => t.write(off_out, p + done)?,
            None => {
                fout.lseek((pos_out + done) as i64, vfs::SEEK_SET)?;
            }
        }
    }
    Ok(done as isize)
}

// ---- mknod ----

/// mknodat(2): regular files, FIFOs, sockets and (with CAP_MKNOD) device
/// nodes; `dev` is decoded as new_decode_dev() does. Linux's may_mknod()
/// first: `EPERM` for a directory type, `EINVAL` for an unknown one.
/// `umode_t mode` (the low 16 bits reach the checks), `unsigned int dev`.
pub fn mknodat(t: &mut UThread, dirfd: DirFd, pathname: UserCStr, mode: u32, dev: u32) -> SysResult {
    let mode = mode & 0xffff;
    match mode & vfs::S_IFMT {
        0 | vfs::S_IFREG | vfs::S_IFCHR | vfs::S_IFBLK | vfs::S_IFIFO | vfs::S_IFSOCK => {}
        vfs::S_IFDIR => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    }
    let p = path(t, pathname)?;
    let dirfd = super::fs::at(dirfd, &p);
    let (major, minor) = ((dev & 0xfff00) >> 8, (dev & 0xff) | ((dev >> 12) & 0xfff00));
    let rdev = match mode & vfs::S_IFMT {
        vfs::S_IFCHR | vfs::S_IFBLK => vfs::makedev(major, minor),
        _ => 0,
    };
    with_ctx(t, dirfd, |ctx, dir| ctx.mknod(dir, &p, mode & (vfs::S_IFMT | 0o7777), rdev))?;
    crate::dnotify::event(&p, file_lock::DN_CREATE, |q| {
        with_ctx(t, dirfd, |ctx, dir| ctx.lookup(dir, q, true))
    });
    Ok(0)
}

// ---- fallocate ----

const FALLOC_FL_KEEP_SIZE: u32 = 0x01;
const FALLOC_FL_PUNCH_HOLE: u32 = 0x02;
const FALLOC_FL_COLLAPSE_RANGE: u32 = 0x08;
const FALLOC_FL_ZERO_RANGE: u32 = 0x10;
const FALLOC_FL_INSERT_RANGE: u32 = 0x20;
const FALLOC_FL_UNSHARE_RANGE: u32 = 0x40;
/// FALLOC_FL_SUPPORTED_MASK (with NO_HIDE_STALE, 0x04).
const FALLOC_FL_SUPPORTED: u32 = 0x7f;

/// fallocate(2): vfs_fallocate()'s checks in Linux 6.1's order, then what
/// tmpfs's shmem_fallocate() has: mode 0 and `FALLOC_FL_KEEP_SIZE`
/// reserve pages, `FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE` makes
/// holes; other modes `EOPNOTSUPP`.
pub fn fallocate(t: &mut UThread, fd: Fd, mode: i32, off: i64, ln: i64) -> SysResult {
    let file = t.fd(fd)?;
    if file.status_flags() & vfs::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let mode = mode as u32;
    let (offset, len) = (off as u64, ln as u64);
    if off < 0 || ln <= 0 {
        return Err(Errno::EINVAL);
    }
    if mode & !FALLOC_FL_SUPPORTED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let both = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;
    if mode & both == both {
        return Err(Errno::EOPNOTSUPP);
    }
    if mode & FALLOC_FL_PUNCH_HOLE != 0 && mode & FALLOC_FL_KEEP_SIZE == 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    for only in [FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE] {
        if mode & only != 0 && mode & !only != 0 {
            return Err(Errno::EINVAL);
        }
    }
    if mode & FALLOC_FL_UNSHARE_RANGE != 0 && mode & !(FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE) != 0 {
        return Err(Errno::EINVAL);
    }
    if file.status_flags() & vfs::O_ACCMODE == vfs::O_RDONLY {
        return Err(Errno::EBADF);
    }
    let ftype = file.stat().ok().and_then(|s| FileType::from_mode(s.mode));
    match ftype {
        Some(FileType::Fifo) => return Err(Errno::ESPIPE),
        Some(FileType::Directory) => return Err(Errno::EISDIR),
        Some(FileType::Regular) => {}
        _ => return Err(Errno::ENODEV),
    }
    if off.checked_add(ln).is_none() {
        return Err(Errno::EFBIG);
    }
    let inode = file.inode().cloned().ok_or(Errno::EOPNOTSUPP)?;
    if inode.is_synthetic() {
        return Err(Errno::EOPNOTSUPP);
    }
    if mode & !(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE) != 0 {
        log::info!("pid {}: fallocate mode {mode:#x}: tmpfs has none: EOPNOTSUPP", t.pid);
        return Err(Errno::EOPNOTSUPP);
    }
    if mode & FALLOC_FL_PUNCH_HOLE != 0 {
        inode.punch_hole(offset, len)?;
    } else {
        // shmem_fallocate(): RLIMIT_FSIZE, even with FALLOC_FL_KEEP_SIZE
        // (ext2 has no fallocate: EOPNOTSUPP first)
        if !inode.is_backed() {
            super::fs::fsize_resize(t, &*file, offset + len)?;
        }
        inode.allocate(offset, len, mode & FALLOC_FL_KEEP_SIZE != 0)?;
    }
    // vfs_fallocate: fsnotify_modify on success
    inode.fsnotify_file(vfs::fsnotify_mask::MODIFY);
    Ok(0)
}

/// fadvise64(2): Linux's generic_fadvise() checks for a file on tmpfs or
/// a device (no backing device to read ahead from): `EBADF` for a bad or
/// O_PATH fd, `ESPIPE` for a pipe or FIFO, `EINVAL` for a negative length
/// or an unknown advice (0..=5: NORMAL, RANDOM, SEQUENTIAL, WILLNEED,
/// DONTNEED, NOREUSE); otherwise nothing to do, 0.
///
/// `size_t len` becomes a `loff_t` (ksys_fadvise64_64): a huge one is
/// negative.
pub fn fadvise64(t: &mut UThread, fd: Fd, _offset: i64, len: usize, advice: i32) -> SysResult {
    let file = t.fd(fd)?;
    if file.status_flags() & vfs::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    if file.stat().ok().and_then(|s| FileType::from_mode(s.mode)) == Some(FileType::Fifo) {
        return Err(Errno::ESPIPE);
    }
    if (len as i64) < 0 || advice as u32 > 5 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// swapon(2) and swapoff(2): there is no swap here. Linux 6.1's checks
/// come first, in its order: unknown flags `EINVAL` (swapon), no
/// CAP_SYS_ADMIN `EPERM`, the path's lookup errors, a directory `EISDIR`
/// (both open it read-write); then a file or device swapon cannot use
/// (on Linux: not a block device or regular file, or without a swap
/// signature; here every one) `EINVAL`, and swapoff of what is not a swap
/// area `EINVAL`.
pub fn swap(t: &mut UThread, pathname: UserCStr, flags: Option<i32>) -> SysResult {
    // SWAP_FLAG_PRIO_MASK | PREFER | DISCARD | DISCARD_ONCE | DISCARD_PAGES
    if flags.is_some_and(|f| f & !0x7ffff != 0) {
        return Err(Errno::EINVAL);
    }
    let admin = crate::proc::table()
        .with_process(t.pid, |p| p.creds().has_cap(process::cred::CAP_SYS_ADMIN))
        .unwrap_or(false);
    if !admin {
        return Err(Errno::EPERM);
    }
    let p = path(t, pathname)?;
    let inode = with_ctx(t, AT_FDCWD, |ctx, dir| ctx.lookup(dir, &p, true))?;
    if inode.file_type() == FileType::Directory {
        return Err(Errno::EISDIR);
    }
    inode.check_access(&cred(t), vfs::R_OK | vfs::W_OK)?;
    if flags.is_some() {
        log::info!("pid {}: swapon: no swap support (EINVAL)", t.pid);
    }
    Err(Errno::EINVAL)
}

/// readahead(2), as Linux 6.1's ksys_readahead(): `EBADF` unless the fd is
/// open for reading (O_PATH is not), `EINVAL` for anything but a regular
/// file (pipes, sockets, devices, directories) or a count that is negative
/// as a `loff_t`; otherwise POSIX_FADV_WILLNEED, which has nothing to start
/// here (the page cache is filled on first read): 0.
pub fn readahead(t: &mut UThread, fd: Fd, _offset: i64, count: usize) -> SysResult {
    let file = t.fd(fd)?;
    let flags = file.status_flags();
    if flags & vfs::O_PATH != 0 || flags & vfs::O_ACCMODE == vfs::O_WRONLY {
        return Err(Errno::EBADF);
    }
    let regular = file.inode().is_some_and(|i| i.file_type() == FileType::Regular)
        || file.stat().ok().and_then(|s| FileType::from_mode(s.mode)) == Some(FileType::Regular);
    if !regular || (count as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// fsync(2), fdatasync(2): files here live in memory, so there is nothing
/// to write back, but the fd is checked as Linux's do_fsync(): `EBADF` for
/// a bad or O_PATH fd, `EINVAL` for a file without an fsync method (pipes,
/// devices, the console, /proc files, epoll); 0 for ramfs/tmpfs files and
/// directories (noop_fsync).
pub fn fsync(t: &mut UThread, fd: Fd) -> SysResult {
    let file = t.fd(fd)?;
    if file.status_flags() & vfs::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    if let Some(r) = crate::blk::fsync(&*file) {
        return r.map(|()| 0);
    }
    match file.inode() {
        Some(i) if !i.is_synthetic() && matches!(i.file_type(), FileType::Regular | FileType::Directory) => {
            // a disk file: written back and the disk flushed
            i.fsync().map(|_| 0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// sync_file_range(2)'s flags: SYNC_FILE_RANGE_WAIT_BEFORE, _WRITE,
/// _WAIT_AFTER.
const SYNC_FILE_RANGE_VALID: u32 = 7;
const SYNC_FILE_RANGE_WRITE: u32 = 2;

/// sync_file_range(2) as Linux's ksys_sync_file_range: `EBADF` for a bad or
/// O_PATH fd first, then `EINVAL` for unknown flags, a negative offset or
/// an end past `i64::MAX`, then `ESPIPE` for anything but a regular file,
/// a directory, a symlink or a block device. With SYNC_FILE_RANGE_WRITE a
/// disk file or the disk is written back (the whole file: more than the
/// range, which the call allows); a tmpfs file has nothing to write.
pub fn sync_file_range(t: &mut UThread, fd: Fd, offset: i64, nbytes: i64, flags: u32) -> SysResult {
    let file = t.fd(fd)?;
    if file.status_flags() & vfs::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    if flags & !SYNC_FILE_RANGE_VALID != 0
        || offset < 0
        || offset.checked_add(nbytes).is_none_or(|e| e < offset)
    {
        return Err(Errno::EINVAL);
    }
    let kind = file.stat().ok().and_then(|s| FileType::from_mode(s.mode));
    if !matches!(
        kind,
        Some(FileType::Regular | FileType::Directory | FileType::Symlink | FileType::BlockDevice)
    ) {
        return Err(Errno::ESPIPE);
    }
    if flags & SYNC_FILE_RANGE_WRITE == 0 {
        return Ok(0);
    }
    if let Some(r) = crate::blk::fsync(&*file) {
        return r.map(|()| 0);
    }
    match file.inode() {
        Some(i) if !i.is_synthetic() && i.is_backed() && kind == Some(FileType::Regular) => {
            i.fsync().map(|_| 0)
        }
        _ => Ok(0),
    }
}

/// sync(2): every disk file system written back and flushed (it returns
/// nothing, as Linux's).
pub fn sync() -> SysResult {
    let _ = crate::fs::sync_all();
    Ok(0)
}

/// syncfs(2): `EBADF` for a bad or O_PATH fd; nothing to write back.
pub fn syncfs(t: &mut UThread, fd: Fd) -> SysResult {
    let file = t.fd(fd)?;
    if file.status_flags() & vfs::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    match file.inode() {
        Some(i) => i.sync_fs().map(|_| 0),
        None => Ok(0),
    }
}

/// splice(2)'s flags: SPLICE_F_MOVE, SPLICE_F_NONBLOCK, SPLICE_F_MORE,
/// SPLICE_F_GIFT (only NONBLOCK changes anything here).
const SPLICE_F_ALL: u32 = 0xf;
const SPLICE_F_NONBLOCK: u32 = 2;
/// The most one splice/tee moves per call (Linux: a pipe's worth; the
/// caller loops).
const SPLICE_CHUNK: usize = 1 << 16;

/// An offset argument of splice(2): `ESPIPE` given for a pipe, a
/// negative one `EINVAL` (rw_verify_area), `EFAULT` unreadable.
fn splice_off(t: &UThread, p: UserPtr<i64>, is_pipe: bool) -> Result<Option<u64>> {
    let Some(p) = p.non_null() else { return Ok(None) };
    if is_pipe {
        return Err(Errno::ESPIPE);
    }
    let off = t.read(p)?;
    u64::try_from(off).map(Some).map_err(|_| Errno::EINVAL)
}

/// SIGPIPE to the caller for an `EPIPE` from writing to `out` (as
/// write(2): not for a socket sent to with MSG_NOSIGNAL's rules).
pub(super) fn sigpipe_on_epipe(t: &UThread, out: &dyn File, e: Errno) -> Errno {
    if e == Errno::EPIPE && crate::net::epipe_raises_sigpipe(out) {
        let _ = crate::proc::table().tgkill(t.tid, Some(t.pid as i32), t.tid as i32, 13, &crate::proc::Hooks);
    }
    e
}

/// splice(2) as Linux 6.1's `do_splice`, by copying through a kernel
/// buffer: `len` 0 is 0 before anything is checked, then unknown flags
/// `EINVAL`, the fds; one side must be a pipe (`EINVAL` otherwise, and
/// for both ends of one pipe), an offset is refused for a pipe
/// (`ESPIPE`), the input must be open for reading and the output for
/// writing (`EBADF`), an O_APPEND output file is `EINVAL`. Into a pipe
/// it moves at most what the pipe has room for (waiting for room unless
/// nonblocking, then `EAGAIN`); out of a pipe at most what it holds
/// (waiting for data, 0 when no writer is left). Nonblocking: SPLICE_F_NONBLOCK,
/// or O_NONBLOCK on the pipe (on either pipe between two). What the
/// output did not take goes back into the input (`File::unread`). `EPIPE`
/// raises SIGPIPE.
pub fn splice(
    t: &mut UThread,
    fd_in: Fd,
    off_in: UserPtr<i64>,
    fd_out: Fd,
    off_out: UserPtr<i64>,
    len: usize,
    flags: u32,
) -> SysResult {
    if len == 0 {
        return Ok(0);
    }
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let fin = t.fd(fd_in)?;
    let fout = t.fd(fd_out)?;
    let (ipipe, opipe) = (crate::pipe::pipe_of(&*fin), crate::pipe::pipe_of(&*fout));
    let pos_in = splice_off(t, off_in, ipipe.is_some())?;
    let pos_out = splice_off(t, off_out, opipe.is_some())?;
    let fl_in = fin.status_flags();
    let fl_out = fout.status_flags();
    if fl_in & vfs::O_PATH != 0
        || fl_out & vfs::O_PATH != 0
        || fl_in & vfs::O_ACCMODE == vfs::O_WRONLY
        || fl_out & vfs::O_ACCMODE == vfs::O_RDONLY
    {
        return Err(Errno::EBADF);
    }
    match (ipipe, opipe) {
        (Some(a), Some(b)) if a.same_pipe(b) => return Err(Errno::EINVAL),
        (None, None) => return Err(Errno::EINVAL),
        (Some(_), None) if fl_out & vfs::O_APPEND != 0 => return Err(Errno::EINVAL),
        _ => {}
    }
    let nonblock = flags & SPLICE_F_NONBLOCK != 0
        || ipipe.is_some_and(|p| p.is_nonblocking())
        || opipe.is_some_and(|p| p.is_nonblocking());
    // into a pipe: no more than its room (so a socket's bytes, which
    // cannot go back, are not taken beyond it)
    let mut want = len.min(SPLICE_CHUNK);
    if let Some(o) = opipe {
        want = want.min(o.wait_room(nonblock).map_err(|e| sigpipe_on_epipe(t, &*fout, e))?);
    }
    let mut buf = Vec::new();
    buf.try_reserve_exact(want).map_err(|_| Errno::ENOMEM)?;
    buf.resize(want, 0);
    let n = match (ipipe, pos_in) {
        (Some(p), _) => p.read_nb(&mut buf, nonblock)?,
        (None, Some(off)) => fin.pread(&mut buf, off)?,
        (None, None) => fin.read(&mut buf)?,
    };
    if n == 0 {
        return Ok(0);
    }
    let wrote = match (opipe, pos_out) {
        (Some(p), _) => p.write_nb(&buf[..n], nonblock),
        // RLIMIT_FSIZE of a file written to (generic_write_checks())
        (None, at) => super::fs::fsize_room(t, &*fout, at, n, true)
            .and_then(|k| super::fs::fsize_write_cut(t, &*fout, &buf[..n], k, at)),
    };
    let m = match wrote {
        Ok(m) => m,
        Err(e) => {
            if pos_in.is_none() {
                fin.unread(&buf[..n]);
            }
            return Err(sigpipe_on_epipe(t, &*fout, e));
        }
    };
    if m < n && pos_in.is_none() {
        fin.unread(&buf[m..n]);
    }
    if let (Some(p), Some(off)) = (off_in.non_null(), pos_in) {
        t.write(p, (off + m as u64) as i64)?;
    }
    if let (Some(p), Some(off)) = (off_out.non_null(), pos_out) {
        t.write(p, (off + m as u64) as i64)?;
    }
    Ok(m as isize)
}

/// tee(2) as Linux 6.1: unknown flags `EINVAL`, `len` 0 is 0, then the
/// fds (`EBADF` for the wrong access mode), both must be pipes and not
/// the same one (`EINVAL`). Copies up to `len` bytes of what the input
/// pipe holds into the output pipe without consuming them; 0 when the
/// input is empty and has no writers; `EAGAIN` when nonblocking (the
/// flag or either pipe's O_NONBLOCK) and nothing can move; `EPIPE` (and
/// SIGPIPE) without a reader of the output.
pub fn tee(t: &mut UThread, fd_in: Fd, fd_out: Fd, len: usize, flags: u32) -> SysResult {
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let fin = t.fd(fd_in)?;
    let fout = t.fd(fd_out)?;
    if fin.status_flags() & vfs::O_ACCMODE == vfs::O_WRONLY
        || fout.status_flags() & vfs::O_ACCMODE == vfs::O_RDONLY
    {
        return Err(Errno::EBADF);
    }
    let (Some(ip), Some(op)) = (crate::pipe::pipe_of(&*fin), crate::pipe::pipe_of(&*fout)) else {
        return Err(Errno::EINVAL);
    };
    if ip.same_pipe(op) {
        return Err(Errno::EINVAL);
    }
    let nonblock = flags & SPLICE_F_NONBLOCK != 0 || ip.is_nonblocking() || op.is_nonblocking();
    let room = op.wait_room(nonblock).map_err(|e| sigpipe_on_epipe(t, &*fout, e))?;
    let want = len.min(SPLICE_CHUNK).min(room);
    let mut buf = Vec::new();
    buf.try_reserve_exact(want).map_err(|_| Errno::ENOMEM)?;
    buf.resize(want, 0);
    let n = ip.peek_nb(&mut buf, nonblock)?;
    if n == 0 {
        return Ok(0);
    }
    op.write_nb(&buf[..n], true).map(|m| m as isize).map_err(|e| sigpipe_on_epipe(t, &*fout, e))
}

/// vmsplice(2) as Linux 6.1: unknown flags `EINVAL`; an fd open for
/// writing moves user memory into the pipe, one open only for reading
/// moves the pipe's bytes into user memory (`EBADF` for a file that is
/// not a pipe). Into the pipe: waits for room (unless nonblocking: the
/// flag or the pipe's O_NONBLOCK, `EAGAIN`), then moves what fits; out
/// of it: what it holds, up to the iovecs' total. `EPIPE` raises SIGPIPE.
pub fn vmsplice(
    t: &mut UThread,
    fd: Fd,
    iov: UserPtr<linux_abi::abi::Iovec>,
    cnt: u64,
    flags: u32,
) -> SysResult {
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let file = t.fd(fd)?;
    let to_pipe = match file.status_flags() & vfs::O_ACCMODE {
        vfs::O_WRONLY | vfs::O_RDWR => true,
        vfs::O_RDONLY => false,
        _ => return Err(Errno::EBADF),
    };
    let vecs = super::fs::iovecs(t, iov, cnt)?;
    let total: usize = vecs.iter().map(|v| v.1).fold(0usize, |a, b| a.saturating_add(b));
    if total == 0 {
        return Ok(0);
    }
    let Some(p) = crate::pipe::pipe_of(&*file) else { return Err(Errno::EBADF) };
    let nonblock = flags & SPLICE_F_NONBLOCK != 0 || p.is_nonblocking();
    if to_pipe {
        let room = p.wait_room(nonblock).map_err(|e| sigpipe_on_epipe(t, &*file, e))?;
        let want = total.min(room).min(SPLICE_CHUNK);
        let mut buf = Vec::new();
        buf.try_reserve_exact(want).map_err(|_| Errno::ENOMEM)?;
        for &(base, len) in &vecs {
            if buf.len() == want {
                break;
            }
            let take = len.min(want - buf.len());
            buf.extend_from_slice(&t.read_slice(UserSlice::new(base, take))?);
        }
        p.write_nb(&buf, true).map(|m| m as isize).map_err(|e| sigpipe_on_epipe(t, &*file, e))
    } else {
        let want = total.min(SPLICE_CHUNK);
        let mut buf = Vec::new();
        buf.try_reserve_exact(want).map_err(|_| Errno::ENOMEM)?;
        buf.resize(want, 0);
        let n = p.read_nb(&mut buf, nonblock)?;
        let mut done = 0;
        for &(base, len) in &vecs {
            if done == n {
                break;
            }
            let take = len.min(n - done);
            if let Err(e) = t.write_slice(base, &buf[done..done + take]) {
                // what was not copied stays in the pipe
                file.unread(&buf[done..n]);
                return if done == 0 { Err(e) } else { Ok(done as isize) };
            }
            done += take;
        }
        Ok(done as isize)
    }
}

/// Linux's `MAX_HANDLE_SZ`.
const MAX_HANDLE_SZ: u32 = 128;
/// `FILEID_KERNFS`: a cgroup2 (kernfs) node's 64-bit id.
const FILEID_KERNFS: i32 = 0xfe;
/// `FILEID_INVALID`: what a too small buffer gets as its type.
const FILEID_INVALID: i32 = 0xff;

/// The file handle of `inode` (`exportfs_encode_fh`): its type and bytes,
/// or `EOPNOTSUPP` for a filesystem without export operations. Only
/// cgroup2 has them here (kernfs's handle: the node's id, which is its
/// inode number, as systemd reads a cgroup's id); Linux's tmpfs and ext4
/// also encode handles, which this kernel does not (one log line).
fn encode_handle(inode: &Arc<Inode>) -> Result<(i32, Vec<u8>)> {
    if crate::fs::fs_magic(inode) == CGROUP2_SUPER_MAGIC {
        return Ok((FILEID_KERNFS, inode.stat().ino.to_le_bytes().to_vec()));
    }
    static LOGGED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if !LOGGED.swap(true, core::sync::atomic::Ordering::Relaxed) {
        log::info!("name_to_handle_at: file handles only for cgroup2 here: EOPNOTSUPP");
    }
    Err(Errno::EOPNOTSUPP)
}

const CGROUP2_SUPER_MAGIC: u64 = 0x6367_7270;

/// name_to_handle_at(2): `struct file_handle { u32 handle_bytes; i32
/// handle_type; u8 f_handle[]; }` and the mount id, as Linux 6.1's
/// `do_sys_name_to_handle`: flags other than `AT_SYMLINK_FOLLOW` and
/// `AT_EMPTY_PATH` `EINVAL`, the look-up's errors, `EOPNOTSUPP` for a
/// filesystem without handles (before the handle is read), `EINVAL` for
/// more than `MAX_HANDLE_SZ` bytes; a buffer too small for the handle gets
/// the size needed, type `FILEID_INVALID`, the mount id, and `EOVERFLOW`.
pub fn name_to_handle_at(
    t: &mut UThread,
    dirfd: DirFd,
    pathname: UserCStr,
    handle: u64,
    mnt_id: UserPtr<i32>,
    flags: u32,
) -> SysResult {
    if flags & !(vfs::AT_SYMLINK_FOLLOW | vfs::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = t.read_str(pathname, 4096)?;
    let inode = if p.is_empty() {
        if flags & vfs::AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        match dirfd {
            DirFd::Cwd => with_ctx(t, dirfd, |ctx, dir| ctx.lookup(dir, b".", true))?,
            DirFd::Fd(fd) => t.fd(fd)?.inode().cloned().ok_or(Errno::EOPNOTSUPP)?,
        }
    } else {
        let at = if flags & vfs::AT_SYMLINK_FOLLOW != 0 { 0 } else { AT_SYMLINK_NOFOLLOW };
        let dirfd = super::fs::at(dirfd, &p);
        with_ctx(t, dirfd, |ctx, dir| ctx.lookup_at(dir, &p, at))?
    };
    let (ty, bytes) = encode_handle(&inode)?;
    let mut head = [0u8; 8];
    t.read_into(handle, &mut head)?;
    let room = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    if room > MAX_HANDLE_SZ {
        return Err(Errno::EINVAL);
    }
    let id = crate::fs::mount_of(&inode).0 as i32;
    let need = bytes.len() as u32;
    let fits = need <= room & !3;
    let mut out = Vec::new();
    out.try_reserve_exact(8 + bytes.len()).map_err(|_| Errno::ENOMEM)?;
    out.extend_from_slice(&need.to_le_bytes());
    out.extend_from_slice(&(if fits { ty } else { FILEID_INVALID }).to_le_bytes());
    if fits {
        out.extend_from_slice(&bytes);
    }
    t.write(mnt_id, id)?;
    t.write_slice(handle, &out)?;
    if fits { Ok(0) } else { Err(Errno::EOVERFLOW) }
}

/// open_by_handle_at(2), as Linux 6.1's `do_handle_open`: `EPERM` without
/// CAP_DAC_READ_SEARCH, `EINVAL` for a
/// handle of 0 or more than `MAX_HANDLE_SZ` bytes, then `EBADF` for a bad
/// `mount_fd`; no handle this kernel
/// gives is opened again yet, so a well-formed one is `ESTALE` (what
/// Linux says of a handle whose file is gone, or of a filesystem without
/// handles).
pub fn open_by_handle_at(t: &mut UThread, mount_fd: i32, handle: u64, _flags: u32) -> SysResult {
    if !cred(t).has_cap(vfs::CAP_DAC_READ_SEARCH) {
        return Err(Errno::EPERM);
    }
    let mut head = [0u8; 8];
    t.read_into(handle, &mut head)?;
    let bytes = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    if bytes == 0 || bytes > MAX_HANDLE_SZ {
        return Err(Errno::EINVAL);
    }
    let mut rest = [0u8; MAX_HANDLE_SZ as usize];
    t.read_into(handle + 8, &mut rest[..bytes as usize])?;
    // get_vfsmount_from_fd(): after the handle is read
    if mount_fd != -100 {
        if mount_fd < 0 {
            return Err(Errno::EBADF);
        }
        t.fd(Fd(mount_fd as u32))?;
    }
    static LOGGED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if !LOGGED.swap(true, core::sync::atomic::Ordering::Relaxed) {
        log::info!("open_by_handle_at: handles are not opened here: ESTALE");
    }
    Err(Errno::ESTALE)
}
