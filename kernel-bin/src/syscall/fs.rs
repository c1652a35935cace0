//! File system calls over `crates/vfs` and the fd table of `crates/fs-table`.

use super::SysResult;
use crate::proc::table;
use crate::uthread::UThread;
use alloc::sync::Arc;
use alloc::vec::Vec;
use linux_abi::abi::{Iovec, Timespec};
use linux_abi::args::{DirFd, Fd, UserCStr, UserPtr, UserSlice};
use linux_abi::{Errno, Result};
use vfs::{Ctx, File, Inode, Opened};

/// `AT_FDCWD`: the *at calls' start at the working directory.
pub const AT_FDCWD: DirFd = DirFd::Cwd;
/// `AT_SYMLINK_NOFOLLOW`.
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
/// `AT_REMOVEDIR`.
pub const AT_REMOVEDIR: u32 = 0x200;
/// `struct stat` as x86_64 lays it out (144 bytes).
pub type StatBuf = [u8; 144];
/// PATH_MAX with its NUL.
const PATH_MAX: usize = 4096;
/// Largest single read/write copied at once.
const IO_CHUNK: usize = 1 << 20;

/// The vfs credential of process credentials `c`: the fs ids, the groups
/// and the effective capabilities (which grant the permission overrides).
pub(crate) fn vfs_cred(c: &process::cred::Credentials) -> vfs::Cred {
    vfs::Cred::new(c.fsuid, c.fsgid, c.groups.clone()).with_caps(file_caps(c, c.cap_effective))
}

/// The capabilities that override file permissions: `caps` in the initial
/// user namespace; none in another (Linux's capable_wrt_inode_uidgid grants
/// them there only for inodes whose owner the namespace maps: not built,
/// so a namespace's root has its own files by ownership and no override of
/// anyone else's).
fn file_caps(c: &process::cred::Credentials, caps: u64) -> u64 {
    if c.user_ns.is_initial() { caps } else { 0 }
}

pub(crate) fn cred(t: &UThread) -> vfs::Cred {
    table().with_process(t.pid, |p| vfs_cred(p.creds())).unwrap_or_else(vfs::Cred::root)
}

/// The path argument (`EFAULT`, `ENAMETOOLONG`; empty is `ENOENT`).
pub(crate) fn path(t: &UThread, name: impl Into<UserCStr>) -> Result<Vec<u8>> {
    let p = t.read_str(name.into(), PATH_MAX)?;
    if p.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(p)
}

/// The directory a walk of `path` starts at, as Linux's path_init picks
/// it: an absolute path starts at the root and never looks at `dirfd`
/// (neither `EBADF` nor `ENOTDIR` for a bad one), a relative one at
/// `dirfd`. The *at calls pass their dirfd through this before
/// [`with_ctx`].
pub(crate) fn at(dirfd: DirFd, path: &[u8]) -> DirFd {
    if path.first() == Some(&b'/') { DirFd::Cwd } else { dirfd }
}

/// Root, the start directory for `dirfd` (each with the mount it was
/// reached through), and the umask.
fn start(t: &UThread, dirfd: DirFd) -> Result<(vfs::Path, vfs::Path, u32)> {
    let f = t.fs()?;
    let (root, umask) = (f.root().clone(), f.umask());
    let DirFd::Fd(fd) = dirfd else {
        let cwd = f.cwd().clone();
        drop(f);
        return Ok((root, cwd, umask));
    };
    // the fd table's lock is taken with the fs context's let go
    drop(f);
    let file = t.fd(fd)?;
    Ok((root, dir_path(&*file)?, umask))
}

/// The directory an open file is, with the mount it was opened through
/// (`ENOTDIR` for another file).
pub(crate) fn dir_path(file: &dyn File) -> Result<vfs::Path> {
    let dir = file.inode().cloned().ok_or(Errno::ENOTDIR)?;
    if !dir.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(vfs::Path::new(dir, file.mount().cloned()))
}

pub(crate) fn with_ctx<R>(
    t: &UThread,
    dirfd: DirFd,
    f: impl FnOnce(&Ctx, &vfs::Path) -> Result<R>,
) -> Result<R> {
    with_ctx_as(t, dirfd, &cred(t), f)
}

/// [`with_ctx`] with credentials the caller has already read.
fn with_ctx_as<R>(
    t: &UThread,
    dirfd: DirFd,
    c: &vfs::Cred,
    f: impl FnOnce(&Ctx, &vfs::Path) -> Result<R>,
) -> Result<R> {
    let (root, dir, umask) = start(t, dirfd)?;
    let ctx = Ctx::new(root.inode, c).with_root_mount(root.mnt).with_umask(umask).with_mnt_ns(t.mnt_ns);
    f(&ctx, &dir)
}

/// [`with_ctx_as`] for a walk of `path`: an absolute one starts at the
/// root alone (the working directory is not taken: openat's path).
fn with_path_ctx<R>(
    t: &UThread,
    dirfd: DirFd,
    path: &[u8],
    c: &vfs::Cred,
    f: impl FnOnce(&Ctx, &dyn vfs::AsPath) -> Result<R>,
) -> Result<R> {
    if path.first() != Some(&b'/') {
        return with_ctx_as(t, dirfd, c, |ctx, dir| f(ctx, dir));
    }
    let (root, umask) = {
        let f = t.fs()?;
        (f.root().clone(), f.umask())
    };
    let ctx = Ctx::new(root.inode, c).with_root_mount(root.mnt).with_umask(umask).with_mnt_ns(t.mnt_ns);
    // the start directory of an absolute path is never looked at
    f(&ctx, ctx.root())
}

/// [`cred`] and the RLIMIT_NOFILE soft limit in one look-up of the process
/// table (openat needs both).
fn cred_nofile(t: &UThread) -> (vfs::Cred, u64) {
    table()
        .with_process(t.pid, |p| {
            let c = vfs_cred(p.creds());
            (c, p.rlimits().cur(process::rlimit::Resource::Nofile))
        })
        .unwrap_or_else(|| (vfs::Cred::root(), fs_table::INR_OPEN_CUR))
}

/// Installs two new files (pipe(2), socketpair(2)) and writes their fds to
/// `out`; on any failure neither stays installed.
pub(crate) fn install_pair(
    t: &UThread,
    a: Arc<dyn File>,
    b: Arc<dyn File>,
    cloexec: bool,
    out: UserPtr<[u32; 2]>,
) -> Result<()> {
    let files = t.files();
    let nofile = t.nofile();
    let fa = files.lock()?.insert(a, cloexec, nofile)?;
    // a statement of its own: a `match` on `files.lock().insert(..)` would
    // keep the guard to the end of the match, and the close below would
    // take the same spin lock again (LTP's pipe07 hung the machine so)
    let inserted = files.lock().and_then(|mut g| g.insert(b, cloexec, nofile));
    let fb = match inserted {
        Ok(fd) => fd,
        Err(e) => {
            // the closed end is dropped after the table lock (its drop wakes)
            let closed = files.close(fa);
            drop(closed);
            return Err(e);
        }
    };
    if let Err(e) = t.write(out, [fa, fb]) {
        let ca = files.close(fa);
        let cb = files.close(fb);
        drop((ca, cb));
        return Err(e);
    }
    Ok(())
}

pub(crate) fn install(t: &UThread, file: Arc<dyn File>, cloexec: bool) -> SysResult {
    install_limited(t, file, cloexec, t.nofile())
}

/// [`install`] under a RLIMIT_NOFILE the caller has already read.
fn install_limited(t: &UThread, file: Arc<dyn File>, cloexec: bool, nofile: u64) -> SysResult {
    let fd = t.files().lock()?.insert(file, cloexec, nofile)?;
    Ok(fd as isize)
}

/// Reads and writes of at most this many bytes go through a buffer on the
/// kernel stack instead of the heap (pipes, terminals: most calls).
const SMALL_IO: usize = 256;

/// `access_ok(buf, len)` as vfs_read/vfs_write check it before anything
/// moves, also when nothing would be copied (a zero length, end of file):
/// `EFAULT` for a range that cannot be user memory (after `EBADF` for a
/// file not open for that direction, which Linux checks first).
fn access_ok(file: &dyn File, buf: UserSlice, write: bool) -> Result<()> {
    if buf.access_ok() {
        return Ok(());
    }
    let fl = file.status_flags();
    let acc = fl & vfs::O_ACCMODE;
    let open_for_it = if write { acc != vfs::O_RDONLY } else { acc != vfs::O_WRONLY };
    Err(if fl & vfs::O_PATH != 0 || !open_for_it { Errno::EBADF } else { Errno::EFAULT })
}

/// The disk's logical block size (virtio-blk's 512 bytes, BLKSSZGET):
/// what O_DIRECT I/O on a disk filesystem's file must be aligned to.
const DIO_ALIGN: u64 = 512;

/// O_DIRECT I/O, as Linux 6.1 checks it: on a disk filesystem's regular
/// file (the ext4 driver, which serves ext2, through iomap_dio_rw) and on
/// the block device (blkdev_direct_IO), the position, each buffer's
/// address and each buffer's length must be multiples of [`DIO_ALIGN`],
/// else `EINVAL` before anything moves (the buffers as
/// iov_iter_is_aligned walks them, up to the total). What returns first:
/// a zero length; a read at or past the end of the file or device (0); on
/// the device, a write to a read-only one (EPERM) or at its end (ENOSPC),
/// and the total cut at the device's end. `pos` is None for the file
/// offset. Left as ours: Linux reads a file's hole without the check and
/// falls back to buffered I/O for a write into a hole of an
/// indirect-block file.
///
/// The check for O_DIRECT is inlined into the callers: a read or write
/// of a file without it (a pipe's, most) pays no call.
#[inline]
fn direct_aligned(file: &dyn File, pos: Option<u64>, bufs: &[(u64, usize)], write: bool) -> Result<()> {
    if file.status_flags() & vfs::O_DIRECT == 0 {
        return Ok(());
    }
    direct_aligned_checked(file, pos, bufs, write)
}

/// [`direct_aligned`] of a file with O_DIRECT set.
fn direct_aligned_checked(
    file: &dyn File,
    pos: Option<u64>,
    bufs: &[(u64, usize)],
    write: bool,
) -> Result<()> {
    let fl = file.status_flags();
    let acc = fl & vfs::O_ACCMODE;
    // vfs_read/vfs_write's EBADF comes first (the normal path returns it)
    let open_for_it = if write { acc != vfs::O_RDONLY } else { acc != vfs::O_WRONLY };
    if fl & vfs::O_DIRECT == 0 || !open_for_it || !file.direct_io() {
        return Ok(());
    }
    let Some(inode) = file.inode() else { return Ok(()) };
    let device = match inode.file_type() {
        vfs::FileType::Regular => false,
        vfs::FileType::BlockDevice => true,
        _ => return Ok(()),
    };
    let mut left: usize = bufs.iter().map(|b| b.1).sum();
    if left == 0 || (device && write && crate::blk::read_only()) {
        return Ok(());
    }
    let size = if device { crate::blk::size() } else { inode.size() };
    let pos = match pos {
        Some(p) => p,
        None if write && !device && fl & vfs::O_APPEND != 0 => size,
        None => file.lseek(0, SEEK_CUR).unwrap_or(0),
    };
    if pos >= size && (device || !write) {
        return Ok(());
    }
    if device {
        left = left.min(usize::try_from(size - pos).unwrap_or(usize::MAX));
    }
    let mut bad = !pos.is_multiple_of(DIO_ALIGN);
    for &(base, len) in bufs {
        let len = len.min(left);
        bad |= !base.is_multiple_of(DIO_ALIGN) || !(len as u64).is_multiple_of(DIO_ALIGN);
        left -= len;
        if left == 0 {
            break;
        }
    }
    if bad { Err(Errno::EINVAL) } else { Ok(()) }
}

pub fn read(t: &mut UThread, fd: Fd, buf: UserSlice) -> SysResult {
    let file = t.fd(fd)?;
    access_ok(&*file, buf, false)?;
    direct_aligned(&*file, None, &[(buf.addr, buf.len)], false)?;
    if buf.len > SMALL_IO
        && let Some(sf) = crate::net::as_socket(&*file)
    {
        // a socket's receive sizes its own buffer (by what is queued)
        return crate::net::read_socket(t, sf, buf);
    }
    let len = buf.len.min(IO_CHUNK);
    let mut small = [0u8; SMALL_IO];
    let mut big = Vec::new();
    let kbuf = if len <= SMALL_IO {
        &mut small[..len]
    } else {
        big.resize(len, 0);
        &mut big[..]
    };
    let n = file.read(kbuf)?;
    if let Err(e) = t.write_slice(buf.addr, &kbuf[..n]) {
        // Linux copies out before it consumes: the bytes stay in the file
        file.unread(&kbuf[..n]);
        return Err(e);
    }
    Ok(n as isize)
}

const SEEK_SET: u32 = 0;
const SEEK_CUR: u32 = 1;

/// Set once a process's RLIMIT_FSIZE was made finite: until then a write
/// pays one load, not a process-table look-up.
static FSIZE_LIMITED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// setrlimit/prlimit set RLIMIT_FSIZE's soft limit to `cur`.
pub(super) fn note_fsize_limit(cur: u64) {
    if cur != process::rlimit::RLIM_INFINITY {
        FSIZE_LIMITED.store(true, core::sync::atomic::Ordering::Relaxed);
    }
}

/// The caller's RLIMIT_FSIZE when it applies to `file`: a regular file
/// (not a /proc or /sys one) open for writing (vfs_write's EBADF comes
/// first) and a finite limit.
fn fsize_limit(t: &UThread, file: &dyn vfs::File) -> Option<u64> {
    if !FSIZE_LIMITED.load(core::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    let flags = file.status_flags();
    if flags & vfs::O_PATH != 0 || flags & vfs::O_ACCMODE == vfs::O_RDONLY {
        return None;
    }
    inode_fsize_limit(t, file.inode()?)
}

/// The caller's RLIMIT_FSIZE when it applies to `inode` (a regular file,
/// not a /proc or /sys one) and is finite; the caller checked
/// [`FSIZE_LIMITED`].
fn inode_fsize_limit(t: &UThread, inode: &vfs::Inode) -> Option<u64> {
    if inode.file_type() != vfs::FileType::Regular || inode.is_synthetic() {
        return None;
    }
    let limit = table().with_process(t.pid, |p| p.rlimits().cur(process::rlimit::Resource::Fsize))?;
    (limit != process::rlimit::RLIM_INFINITY).then_some(limit)
}

/// A write or resize past RLIMIT_FSIZE: `send_sig(SIGXFSZ, current, 0)`
/// (process-directed, `SI_USER` from the caller itself) and `EFBIG`.
pub(super) fn xfsz(t: &UThread) -> Errno {
    let _ = table().kill(t.tid, t.pid as i32, 25, &crate::proc::Hooks);
    Errno::EFBIG
}

/// RLIMIT_FSIZE for a write of `len` bytes to `file` at `at` (`None`: the
/// file offset; `O_APPEND`: the end): the bytes it may write, or `EFBIG`
/// (with `SIGXFSZ` when `signal`, i.e. nothing of the call was written yet).
/// While no process has a finite limit, inlined to one load.
#[inline]
pub(super) fn fsize_room(
    t: &UThread,
    file: &dyn vfs::File,
    at: Option<u64>,
    len: usize,
    signal: bool,
) -> Result<usize> {
    if !FSIZE_LIMITED.load(core::sync::atomic::Ordering::Relaxed) {
        return Ok(len);
    }
    fsize_room_limited(t, file, at, len, signal)
}

/// [`fsize_room`] once some process's limit was made finite.
fn fsize_room_limited(
    t: &UThread,
    file: &dyn vfs::File,
    at: Option<u64>,
    len: usize,
    signal: bool,
) -> Result<usize> {
    let Some(limit) = fsize_limit(t, file) else { return Ok(len) };
    let pos = if file.status_flags() & vfs::O_APPEND != 0 {
        file.stat().map(|st| st.size.max(0) as u64).unwrap_or(0)
    } else {
        match at {
            Some(p) => p,
            None => file.lseek(0, SEEK_CUR)?,
        }
    };
    match process::rlimit::fsize_write(limit, pos, len) {
        Some(n) => Ok(n),
        None if signal => Err(xfsz(t)),
        None => Err(Errno::EFBIG),
    }
}

/// A splice's write into a file (sendfile, splice), `room` of `data`'s
/// bytes within RLIMIT_FSIZE ([`fsize_room`]): Linux's
/// iter_file_splice_write() writes again after a write cut at the limit,
/// and that write sends `SIGXFSZ` (its `EFBIG` is not reported: the bytes
/// written are).
pub(super) fn fsize_write_cut(
    t: &UThread,
    file: &dyn vfs::File,
    data: &[u8],
    room: usize,
    at: Option<u64>,
) -> Result<usize> {
    let m = match at {
        Some(off) => file.pwrite(&data[..room], off)?,
        None => file.write(&data[..room])?,
    };
    if room < data.len() && m == room {
        xfsz(t);
    }
    Ok(m)
}

/// `generic_write_check_limits()` as copy_file_range calls it: `count`
/// bytes at `pos` cut to end at RLIMIT_FSIZE; at or past it (a count of
/// 0 too) `EFBIG` with `SIGXFSZ`.
pub(super) fn fsize_clip(t: &UThread, file: &dyn vfs::File, pos: u64, count: u64) -> Result<u64> {
    match fsize_limit(t, file) {
        None => Ok(count),
        Some(limit) if pos >= limit => Err(xfsz(t)),
        Some(limit) => Ok(count.min(limit - pos)),
    }
}

/// RLIMIT_FSIZE for growing the regular file `inode` to `len` bytes
/// (`inode_newsize_ok()`): `EFBIG` with `SIGXFSZ` past the limit.
pub(super) fn fsize_resize(t: &UThread, file: &dyn vfs::File, len: u64) -> Result<()> {
    let Some(limit) = fsize_limit(t, file) else { return Ok(()) };
    let size = file.stat().map(|st| st.size.max(0) as u64).unwrap_or(0);
    if process::rlimit::fsize_resize_ok(limit, size, len) { Ok(()) } else { Err(xfsz(t)) }
}

/// [`fsize_resize`] for truncate(2)'s `inode`, which no open file names
/// (the caller checked that it may be written).
fn fsize_resize_inode(t: &UThread, inode: &vfs::Inode, len: u64) -> Result<()> {
    if !FSIZE_LIMITED.load(core::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    let Some(limit) = inode_fsize_limit(t, inode) else { return Ok(()) };
    if process::rlimit::fsize_resize_ok(limit, inode.size(), len) { Ok(()) } else { Err(xfsz(t)) }
}

pub fn write(t: &mut UThread, fd: Fd, buf: UserSlice) -> SysResult {
    let file = t.fd(fd)?;
    access_ok(&*file, buf, true)?;
    direct_aligned(&*file, None, &[(buf.addr, buf.len)], true)?;
    let buf = buf.sub(0, IO_CHUNK);
    let mut small = [0u8; SMALL_IO];
    let big;
    let data: &[u8] = if buf.len <= SMALL_IO {
        t.read_into(buf.addr, &mut small[..buf.len])?;
        &small[..buf.len]
    } else {
        big = t.read_slice(buf)?;
        &big
    };
    let data = &data[..fsize_room(t, &*file, None, data.len(), true)?];
    let r = file.write(data);
    if r == Err(Errno::EPIPE) && crate::net::epipe_raises_sigpipe(&*file) {
        let _ = table().tgkill(t.tid, Some(t.pid as i32), t.tid as i32, 13, &crate::proc::Hooks);
    }
    Ok(r? as isize)
}

/// pread/pwrite's file: `EBADF`, `EFAULT` ([`access_ok`]), `EINVAL` for a
/// negative offset, then [`direct_aligned`].
fn pread_pwrite_file(t: &UThread, fd: Fd, buf: UserSlice, off: i64, write: bool) -> Result<Arc<dyn File>> {
    let file = t.fd(fd)?;
    access_ok(&*file, buf, write)?;
    if off < 0 {
        return Err(Errno::EINVAL);
    }
    direct_aligned(&*file, Some(off as u64), &[(buf.addr, buf.len)], write)?;
    Ok(file)
}

pub fn pread(t: &mut UThread, fd: Fd, buf: UserSlice, off: i64) -> SysResult {
    let file = pread_pwrite_file(t, fd, buf, off, false)?;
    let mut kbuf = alloc::vec![0u8; buf.len.min(IO_CHUNK)];
    let n = file.pread(&mut kbuf, off as u64)?;
    t.write_slice(buf.addr, &kbuf[..n])?;
    Ok(n as isize)
}

pub fn pwrite(t: &mut UThread, fd: Fd, buf: UserSlice, off: i64) -> SysResult {
    let file = pread_pwrite_file(t, fd, buf, off, true)?;
    let data = t.read_slice(buf.sub(0, IO_CHUNK))?;
    let n = fsize_room(t, &*file, Some(off as u64), data.len(), true)?;
    Ok(file.pwrite(&data[..n], off as u64)? as isize)
}

/// Linux's MAX_RW_COUNT: one read or write moves at most this much.
const MAX_RW_COUNT: usize = 0x7fff_f000;

/// The iovecs of readv/writev (`EINVAL` for more than UIO_MAXIOV or a
/// negative length); as Linux's import_iovec(), lengths past
/// [`MAX_RW_COUNT`] in all are cut so the total stays within it.
pub(super) fn iovecs(t: &UThread, iov: UserPtr<Iovec>, cnt: u64) -> Result<Vec<(u64, usize)>> {
    // UIO_MAXIOV
    if cnt > 1024 {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::new();
    v.try_reserve_exact(cnt as usize).map_err(|_| Errno::ENOMEM)?;
    // copy_iovec_from_user(): a negative length is EINVAL as it is copied
    for i in 0..cnt as usize {
        let Iovec { iov_base, iov_len } = t.read(iov.at(i)?)?;
        if (iov_len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        v.push((iov_base, iov_len as usize));
    }
    // __import_iovec(): access_ok of each whole buffer (an empty one too),
    // then the lengths cut to MAX_RW_COUNT in all
    let mut total: usize = 0;
    for (base, len) in &mut v {
        UserSlice::new(*base, *len).check()?;
        *len = (*len).min(MAX_RW_COUNT - total);
        total += *len;
    }
    Ok(v)
}

/// readv(2): one read of up to [`IO_CHUNK`] bytes at a time, scattered
/// over the iovecs in order (a single read per chunk, so a pipe holding
/// less than the iovecs ask for returns what it has instead of blocking
/// for the next iovec); a read shorter than asked ends the call.
pub fn readv(t: &mut UThread, fd: Fd, iov: UserPtr<Iovec>, cnt: u64) -> SysResult {
    let file = t.fd(fd)?;
    let vecs = iovecs(t, iov, cnt)?;
    direct_aligned(&*file, None, &vecs, false)?;
    let total: usize = vecs.iter().map(|v| v.1).sum();
    let (mut done, mut at) = (0usize, (0usize, 0usize)); // (iovec, offset in it)
    while done < total {
        // after a first chunk, go on only while that cannot block (a pipe
        // holding exactly one chunk has given what it had)
        if done > 0 && file.poll() & vfs::POLLIN == 0 {
            break;
        }
        // up to 1024 x 2 GiB: a preemption point per chunk (no lock held)
        crate::sched::cond_resched();
        let want = (total - done).min(IO_CHUNK);
        let mut kbuf = alloc::vec![0u8; want];
        let n = match file.read(&mut kbuf) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let mut data = &kbuf[..n];
        while !data.is_empty() {
            let Some(&(base, len)) = vecs.get(at.0) else { break };
            let take = (len - at.1).min(data.len());
            let dst = base.checked_add(at.1 as u64).ok_or(Errno::EFAULT);
            if let Err(e) = dst.and_then(|d| t.write_slice(d, &data[..take])) {
                // the bytes already copied count; none copied is the fault;
                // what was not copied stays in the file
                file.unread(data);
                return if done == 0 { Err(e) } else { Ok(done as isize) };
            }
            data = &data[take..];
            done += take;
            at.1 += take;
            if at.1 == len {
                at = (at.0 + 1, 0);
            }
        }
        if n < want {
            break;
        }
    }
    Ok(done as isize)
}

/// writev(2): the iovecs are gathered [`IO_CHUNK`] bytes at a time and
/// each chunk written with one write (a writev of at most `PIPE_BUF` bytes
/// stays one atomic pipe write); a short write ends the call. Gathering
/// everything first would let 1024 iovecs of 1 MiB ask for 1 GiB of heap.
pub fn writev(t: &mut UThread, fd: Fd, iov: UserPtr<Iovec>, cnt: u64) -> SysResult {
    let file = t.fd(fd)?;
    let vecs = iovecs(t, iov, cnt)?;
    direct_aligned(&*file, None, &vecs, true)?;
    let mut done = 0usize;
    let mut data: Vec<u8> = Vec::new();
    let mut pieces = vecs.into_iter().filter(|v| v.1 > 0);
    let mut cur = pieces.next();
    while cur.is_some() || !data.is_empty() {
        // a preemption point per chunk (no lock held)
        crate::sched::cond_resched();
        // gather up to a chunk; a fault stops gathering at what was read
        let mut fault = None;
        while let Some((base, len)) = cur {
            let take = len.min(IO_CHUNK - data.len());
            match t.read_slice(UserSlice::new(base, take)) {
                Ok(b) => data.extend_from_slice(&b),
                Err(e) => {
                    fault = Some(e);
                    cur = None;
                    break;
                }
            }
            cur = if take == len {
                pieces.next()
            } else {
                Some((base.checked_add(take as u64).ok_or(Errno::EFAULT)?, len - take))
            };
            if data.len() == IO_CHUNK {
                break;
            }
        }
        if data.is_empty() {
            return match fault {
                Some(e) if done == 0 => Err(e),
                _ => Ok(done as isize),
            };
        }
        let r = fsize_room(t, &*file, None, data.len(), done == 0).and_then(|n| {
            data.truncate(n);
            file.write(&data)
        });
        if r == Err(Errno::EPIPE) && crate::net::epipe_raises_sigpipe(&*file) {
            let _ = table().tgkill(t.tid, Some(t.pid as i32), t.tid as i32, 13, &crate::proc::Hooks);
        }
        let n = match r {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += n;
        if n < data.len() || fault.is_some() {
            break;
        }
        data.clear();
    }
    Ok(done as isize)
}

/// preadv2/pwritev2's flags Linux knows (RWF_HIPRI, RWF_DSYNC, RWF_SYNC,
/// RWF_NOWAIT, RWF_APPEND); any other bit is `EOPNOTSUPP`.
const RWF_SUPPORTED: u32 = 0x1f;
/// RWF_APPEND: the write goes to the end of the file.
const RWF_APPEND: u32 = 0x10;

/// preadv(2), preadv2(2) (`flags` Some): at offset `off` (as pread, the file offset is
/// untouched; `-1` with preadv2 is readv at the file offset), one pread
/// of up to [`IO_CHUNK`] bytes at a time per iovec; a short read ends the
/// call. RWF_HIPRI/DSYNC/SYNC/NOWAIT change nothing here (nothing blocks
/// on a disk queue the way they mean); RWF_APPEND is a write flag.
pub fn preadv(
    t: &mut UThread,
    fd: Fd,
    iov: UserPtr<Iovec>,
    cnt: u64,
    off: i64,
    flags: Option<u32>,
) -> SysResult {
    match flags {
        Some(f) if f & !RWF_SUPPORTED != 0 => return Err(Errno::EOPNOTSUPP),
        Some(_) if off == -1 => return readv(t, fd, iov, cnt),
        _ => {}
    }
    if off < 0 {
        return Err(Errno::EINVAL);
    }
    let file = positional(t, fd)?;
    let vecs = iovecs(t, iov, cnt)?;
    direct_aligned(&*file, Some(off as u64), &vecs, false)?;
    let mut done = 0usize;
    // one buffer for every chunk, its allocation fallible
    let mut kbuf = Vec::new();
    let most = vecs.iter().map(|v| v.1).max().unwrap_or(0).min(IO_CHUNK);
    kbuf.try_reserve_exact(most).map_err(|_| Errno::ENOMEM)?;
    kbuf.resize(most, 0);
    for (base, len) in vecs {
        let mut at = 0usize;
        while at < len {
            crate::sched::cond_resched();
            let want = (len - at).min(IO_CHUNK);
            let kbuf = &mut kbuf[..want];
            let n = match file.pread(kbuf, off as u64 + done as u64) {
                Ok(n) => n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => return Ok(done as isize),
            };
            let dst = base.checked_add(at as u64).ok_or(Errno::EFAULT);
            if let Err(e) = dst.and_then(|d| t.write_slice(d, &kbuf[..n])) {
                return if done == 0 { Err(e) } else { Ok(done as isize) };
            }
            done += n;
            at += n;
            if n < want {
                return Ok(done as isize);
            }
        }
    }
    Ok(done as isize)
}

/// The file `fd` for a positioned read or write (Linux's FMODE_PREAD /
/// FMODE_PWRITE): `EBADF`, then `ESPIPE` for a pipe, socket or terminal
/// (what cannot seek), before the iovecs are looked at.
fn positional(t: &UThread, fd: Fd) -> Result<Arc<dyn File>> {
    let file = t.fd(fd)?;
    match file.lseek(0, vfs::SEEK_CUR) {
        Err(Errno::ESPIPE) => Err(Errno::ESPIPE),
        _ => Ok(file),
    }
}

/// pwritev(2), pwritev2(2): each iovec written with pwrite at `off` plus
/// what was written before, [`IO_CHUNK`] bytes at a time; a short write
/// ends the call. `-1` with pwritev2 is writev at the file offset;
/// RWF_APPEND writes at the end of the file (as O_APPEND).
pub fn pwritev(
    t: &mut UThread,
    fd: Fd,
    iov: UserPtr<Iovec>,
    cnt: u64,
    off: i64,
    flags: Option<u32>,
) -> SysResult {
    let flags = match flags {
        Some(f) if f & !RWF_SUPPORTED != 0 => return Err(Errno::EOPNOTSUPP),
        // -1: at the file offset, unless RWF_APPEND sends it to the end
        Some(f) if off == -1 && f & RWF_APPEND == 0 => return writev(t, fd, iov, cnt),
        Some(f) => f,
        None => 0,
    };
    let at_end = off == -1;
    if off < 0 && !at_end {
        return Err(Errno::EINVAL);
    }
    let file = if at_end { t.fd(fd)? } else { positional(t, fd)? };
    let off = off.max(0);
    let vecs = iovecs(t, iov, cnt)?;
    let dpos = if flags & RWF_APPEND != 0 { file.inode().map_or(0, |i| i.size()) } else { off as u64 };
    direct_aligned(&*file, Some(dpos), &vecs, true)?;
    let mut done = 0usize;
    for (base, len) in vecs {
        let mut at = 0usize;
        while at < len {
            crate::sched::cond_resched();
            let take = (len - at).min(IO_CHUNK);
            let src = base.checked_add(at as u64).ok_or(Errno::EFAULT);
            let data = match src.and_then(|s| t.read_slice(UserSlice::new(s, take))) {
                Ok(d) => d,
                Err(e) if done == 0 => return Err(e),
                Err(_) => return Ok(done as isize),
            };
            let r = if flags & RWF_APPEND != 0 {
                let end = file.stat().map(|st| st.size.max(0) as u64).unwrap_or(0);
                fsize_room(t, &*file, Some(end), data.len(), done == 0)
                    .and_then(|n| file.pwrite(&data[..n], end))
            } else {
                let at = off as u64 + done as u64;
                fsize_room(t, &*file, Some(at), data.len(), done == 0)
                    .and_then(|n| file.pwrite(&data[..n], at))
            };
            let n = match r {
                Ok(n) => n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => return Ok(done as isize),
            };
            done += n;
            at += n;
            if n < take {
                break;
            }
        }
        if at < len {
            break;
        }
    }
    // -1 with RWF_APPEND wrote through the file offset: it ends at the end
    if at_end && done > 0 {
        let _ = file.lseek(0, vfs::SEEK_END);
    }
    Ok(done as isize)
}

pub fn openat(t: &mut UThread, dirfd: DirFd, pathname: UserCStr, flags: u32, mode: u32) -> SysResult {
    let p = path(t, pathname)?;
    let dirfd = at(dirfd, &p);
    let creates =
        crate::dnotify::create_event(&p, flags, |q| with_ctx(t, dirfd, |ctx, dir| ctx.lookup(dir, q, true)));
    let _trunc =
        crate::locks::break_lease_trunc_open(t, flags, || with_ctx(t, dirfd, |c, d| c.lookup(d, &p, true)))?;
    // one process-table look-up for the credentials and RLIMIT_NOFILE
    let (cred, nofile) = cred_nofile(t);
    let opened = with_path_ctx(t, dirfd, &p, &cred, |ctx, dir| ctx.open(dir, &p, flags, mode & 0o7777))?;
    let file: Arc<dyn File> = match opened {
        Opened::File(f) => f,
        Opened::Device { inode, major, minor, flags: f } => {
            crate::devices::open(inode, major, minor, f, flags & vfs::O_NOCTTY != 0)?
        }
        Opened::Fifo { inode, flags: f } => crate::pipe::fifo_open(&inode, f)?,
        Opened::Reopen { file, flags: f } => super::fs_extra::reopen(file, f)?,
    };
    if flags & vfs::O_DIRECT != 0 && flags & vfs::O_PATH == 0 && !file.direct_io() {
        // do_dentry_open(): no FMODE_CAN_ODIRECT (tmpfs, devices, /proc)
        return Err(Errno::EINVAL);
    }
    if creates {
        crate::dnotify::event(&p, file_lock::DN_CREATE, |q| {
            with_ctx(t, dirfd, |ctx, dir| ctx.lookup(dir, q, true))
        });
    }
    let _opening = crate::locks::break_lease(t, &file, flags)?;
    // an O_PATH fd by an absolute path keeps the path (a mount(2) on its
    // /proc/self/fd link records it: systemd's mount_nofollow)
    if flags & vfs::O_PATH != 0 && p.first() == Some(&b'/') {
        let mut clean = Vec::new();
        clean.try_reserve(p.len()).map_err(|_| Errno::ENOMEM)?;
        lexical_abs(&p, &mut clean);
        file.set_opened_path(Arc::from(clean));
    }
    install_limited(t, file, flags & vfs::O_CLOEXEC != 0, nofile)
}

/// The absolute path `p` with `.`, `..` and repeated slashes taken out
/// by its text (no links followed), into `out`.
fn lexical_abs(p: &[u8], out: &mut Vec<u8>) {
    out.clear();
    for part in p.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                let cut = out.iter().rposition(|&b| b == b'/').unwrap_or(0);
                out.truncate(cut);
            }
            name => {
                out.push(b'/');
                out.extend_from_slice(name);
            }
        }
    }
    if out.is_empty() {
        out.push(b'/');
    }
}

/// The path, from the caller's root, that mount(2)'s target `p` names
/// by its text: an O_PATH fd's recorded path for /proc/self/fd/N
/// (systemd's mount_nofollow), an absolute path whose last component is
/// no symbolic link as written; `None` for the others (the walk's inodes
/// tell them). Linux's d_path follows the mounts the walk went through,
/// also a bind of / at another place, which the inodes alone do not.
fn target_text(t: &UThread, p: &[u8]) -> Option<Vec<u8>> {
    let fd = p.strip_prefix(b"/proc/self/fd/").or_else(|| p.strip_prefix(b"/proc/thread-self/fd/"));
    if let Some(n) = fd {
        let n: u32 = core::str::from_utf8(n).ok()?.parse().ok()?;
        return t.fd(linux_abi::args::Fd(n)).ok()?.opened_path().map(|a| a.to_vec());
    }
    if p.first() != Some(&b'/') {
        return None;
    }
    let link = with_ctx(t, AT_FDCWD, |ctx, dir| ctx.lookup(dir, p, false))
        .is_ok_and(|i| i.file_type() == vfs::FileType::Symlink);
    if link {
        return None;
    }
    let mut out = Vec::new();
    out.try_reserve(p.len() + 1).ok()?;
    lexical_abs(p, &mut out);
    Some(out)
}

pub fn close(t: &mut UThread, fd: Fd) -> SysResult {
    let closed = t.files().close(fd.get())?;
    crate::locks::closed(t.pid, &closed);
    drop(closed);
    Ok(0)
}

pub fn close_range(t: &mut UThread, first: u32, last: u32, flags: u32) -> SysResult {
    fs_table::check_close_range(first, last, flags)?;
    // CLOSE_RANGE_UNSHARE: unshare_fd() first, as unshare(CLONE_FILES)
    // (the thread's record gets the copy, its cache follows); the range is
    // then closed in the copy only, whose files the other owners still
    // hold, and the POSIX locks stay (Linux's belong to the old table)
    let mut unshared = false;
    if flags & fs_table::CLOSE_RANGE_UNSHARE != 0
        && table().with_thread(t.tid, |th| th.files().is_some_and(|f| f.is_shared())).unwrap_or(false)
    {
        table().unshare(t.tid, process::clone::CloneFlags::FILES.bits())?;
        t.refresh_files();
        unshared = true;
    }
    let closed = t.files().close_range(first, last, flags & !fs_table::CLOSE_RANGE_UNSHARE)?;
    // up to RLIMIT_NOFILE files, each dropped here (the last reference
    // closes it): a preemption point after each (no lock held)
    for f in closed {
        if !unshared {
            crate::locks::closed(t.pid, &f);
        }
        drop(f);
        crate::sched::cond_resched();
    }
    Ok(0)
}

pub fn lseek(t: &mut UThread, fd: Fd, off: i64, whence: u32) -> SysResult {
    let file = t.fd(fd)?;
    Ok(file.lseek(off, whence)? as isize)
}

/// The owner of `st` as the caller's user namespace sees it (overflow ids
/// for what it does not map).
pub(crate) fn stat_ids(t: &UThread, st: &mut vfs::Stat) {
    if !t.user_ns.is_initial() {
        st.uid = t.user_ns.uid_from(st.uid);
        st.gid = t.user_ns.gid_from(st.gid);
    }
}

pub fn fstat(t: &mut UThread, fd: Fd, buf: UserPtr<StatBuf>) -> SysResult {
    let mut st = t.fd(fd)?.stat()?;
    stat_ids(t, &mut st);
    t.write(buf, st.to_x86_64_bytes())?;
    Ok(0)
}

pub fn fstatat(
    t: &mut UThread,
    dirfd: DirFd,
    pathname: UserCStr,
    buf: UserPtr<StatBuf>,
    flags: u32,
) -> SysResult {
    let p = t.read_str(pathname, PATH_MAX)?;
    let st = if p.is_empty() {
        if flags & vfs::AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        if dirfd == DirFd::Cwd {
            with_ctx(t, dirfd, |ctx, dir| ctx.stat(dir, b".", 0))?
        } else {
            t.fd(dirfd.fd())?.stat()?
        }
    } else {
        with_ctx(t, at(dirfd, &p), |ctx, dir| ctx.stat(dir, &p, flags))?
    };
    let mut st = st;
    stat_ids(t, &mut st);
    t.write(buf, st.to_x86_64_bytes())?;
    Ok(0)
}

pub fn getdents64(t: &mut UThread, fd: Fd, buf: UserSlice) -> SysResult {
    let file = t.fd(fd)?;
    let mut kbuf = alloc::vec![0u8; buf.len.min(1 << 16)];
    // entries that do not reach the caller are not consumed (Linux's
    // filldir stops before moving the position past them)
    let before = file.lseek(0, SEEK_CUR).ok();
    let n = file.getdents64(&mut kbuf)?;
    if let Err(e) = t.write_slice(buf.addr, &kbuf[..n]) {
        if let Some(pos) = before {
            let _ = file.lseek(pos as i64, SEEK_SET);
        }
        return Err(e);
    }
    Ok(n as isize)
}

/// getdents(2), the pre-64-bit call (x86_64 keeps it; LeakSanitizer's
/// thread lister and older static binaries use it): the entries of
/// getdents64 in `struct linux_dirent` form. Both records are
/// `ALIGN(namelen + 20, 8)` bytes on x86_64, so the buffer is converted in
/// place: the name moves one byte down over `d_type`, which goes to the
/// record's last byte.
pub fn getdents(t: &mut UThread, fd: Fd, buf: UserSlice) -> SysResult {
    let file = t.fd(fd)?;
    let mut kbuf = alloc::vec![0u8; buf.len.min(1 << 16)];
    let before = file.lseek(0, SEEK_CUR).ok();
    let n = file.getdents64(&mut kbuf)?;
    dirent64_to_old(&mut kbuf[..n]);
    if let Err(e) = t.write_slice(buf.addr, &kbuf[..n]) {
        if let Some(pos) = before {
            let _ = file.lseek(pos as i64, SEEK_SET);
        }
        return Err(e);
    }
    Ok(n as isize)
}

/// Rewrites `linux_dirent64` records (`d_ino`, `d_off`, `d_reclen`,
/// `d_type`, `d_name`) as `linux_dirent` ones (`d_ino`, `d_off`,
/// `d_reclen`, `d_name`, padding, `d_type` in the last byte).
fn dirent64_to_old(buf: &mut [u8]) {
    let mut at = 0;
    while at + 19 <= buf.len() {
        let reclen = usize::from(u16::from_ne_bytes([buf[at + 16], buf[at + 17]]));
        if reclen < 20 || at + reclen > buf.len() {
            return;
        }
        let rec = &mut buf[at..at + reclen];
        let d_type = rec[18];
        let name_len = rec[19..].iter().position(|&b| b == 0).unwrap_or(reclen - 20);
        rec.copy_within(19..19 + name_len, 18);
        for b in &mut rec[18 + name_len..] {
            *b = 0;
        }
        rec[reclen - 1] = d_type;
        at += reclen;
    }
}

/// The `CLONE_NEW*` bit of a namespace kind as /proc/PID/ns names it
/// (NS_GET_NSTYPE's answer, setns's `nstype`).
pub(crate) fn ns_type_bit(kind: &str) -> u64 {
    match kind {
        "mnt" => 0x0002_0000,
        "cgroup" => 0x0200_0000,
        "uts" => 0x0400_0000,
        "ipc" => 0x0800_0000,
        "user" => 0x1000_0000,
        "pid" => 0x2000_0000,
        "net" => 0x4000_0000,
        _ => 0x80, // CLONE_NEWTIME
    }
}

/// The ioctls of an nsfs file (fs/nsfs.c `ns_ioctl`): `NS_GET_USERNS`
/// opens the user namespace that owns the namespace (close-on-exec;
/// `EPERM` when that is not the caller's user namespace or below it, as
/// for the initial user namespace, which has no owner), `NS_GET_PARENT`
/// is the same for a user namespace, `EPERM` for the initial pid
/// namespace and `EINVAL` for the other kinds, `NS_GET_NSTYPE` gives the
/// `CLONE_NEW*` bit and `NS_GET_OWNER_UID` (user namespaces only) the
/// uid that made it, as the caller's namespace sees it.
fn ns_ioctl(t: &mut UThread, ns: crate::procfs::NsObj, cmd: u32, arg: u64) -> SysResult {
    const NS_GET_USERNS: u32 = 0xb701;
    const NS_GET_PARENT: u32 = 0xb702;
    const NS_GET_NSTYPE: u32 = 0xb703;
    const NS_GET_OWNER_UID: u32 = 0xb704;
    let kind = ns.kind();
    // ns_get_owner(): the owner must be the caller's user namespace or
    // one of its descendants
    let owner_file = |t: &mut UThread| -> SysResult {
        let owner = ns.owner().ok_or(Errno::EPERM)?;
        if !t.user_ns.is_ancestor_of(&owner) {
            return Err(Errno::EPERM);
        }
        let file = crate::procfs::open_ns(crate::procfs::NsObj::User(owner));
        crate::eventfd::install(t, file, true)
    };
    match cmd {
        NS_GET_USERNS => owner_file(t),
        NS_GET_PARENT if kind == "user" => owner_file(t),
        // pidns_get_parent(): the parent, if the caller's namespace is it
        // or above it
        NS_GET_PARENT if let crate::procfs::NsObj::Pid(n) = &ns => {
            let parent = n.parent().cloned().ok_or(Errno::EPERM)?;
            let mine = table().active_pid_ns(t.pid);
            if !mine.is_ancestor_of(&parent) {
                return Err(Errno::EPERM);
            }
            let file = crate::procfs::open_ns(crate::procfs::NsObj::Pid(parent));
            crate::eventfd::install(t, file, true)
        }
        NS_GET_PARENT => Err(if kind == "pid" { Errno::EPERM } else { Errno::EINVAL }),
        NS_GET_NSTYPE => Ok(ns_type_bit(kind) as isize),
        NS_GET_OWNER_UID => {
            let crate::procfs::NsObj::User(u) = &ns else { return Err(Errno::EINVAL) };
            let uid = t.user_ns.uid_from(u.owner());
            t.write(UserPtr::<u32>::new(arg), uid)?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// ioctl(2): `unsigned int fd, unsigned int cmd, unsigned long arg`.
pub fn ioctl(t: &mut UThread, fd: Fd, cmd: u32, arg: u64) -> SysResult {
    if let Some(r) = super::fs_extra::generic_ioctl(t, fd, cmd, arg) {
        return r;
    }
    let file = t.fd(fd)?;
    if crate::net::as_socket(&*file).is_some()
        && let Some(r) = crate::fasync::sock_ioctl(t, &*file, cmd, arg)
    {
        return r;
    }
    if let Some(r) = crate::net::ioctl(t, &file, cmd, arg) {
        return r;
    }
    if let Some(r) = crate::blk::ioctl(t, &*file, cmd, arg) {
        return r;
    }
    if let Some(ns) = crate::procfs::ns_of(&*file) {
        return ns_ioctl(t, ns, cmd, arg);
    }
    let readable = file.status_flags() & vfs::O_ACCMODE != vfs::O_WRONLY;
    if let Some(side) = crate::pty::side(&*file) {
        return crate::pty::ioctl(t, side, cmd, arg, readable);
    }
    if crate::devices::is_tty(&*file) {
        return crate::devices::tty_ioctl(t, cmd, arg, readable);
    }
    if cmd == FIONREAD
        && let Some(n) = crate::inotify::fionread(&*file)
    {
        t.write(UserPtr::<u32>::new(arg), n as u32)?;
        return Ok(0);
    }
    if let Some(p) = as_pipe(&*file)
        && cmd == FIONREAD
    {
        t.write(UserPtr::<u32>::new(arg), p.available() as u32)?;
        return Ok(0);
    }
    file.ioctl(cmd, arg as usize)
}

const F_DUPFD: u64 = 0;
const F_GETFD: u64 = 1;
const F_SETFD: u64 = 2;
const F_GETFL: u64 = 3;
const F_SETFL: u64 = 4;
const F_NOTIFY: u64 = 1026;
const F_DUPFD_CLOEXEC: u64 = 1030;
const F_SETPIPE_SZ: u64 = 1031;
const F_GETPIPE_SZ: u64 = 1032;
const F_ADD_SEALS: u64 = 1033;
const F_GET_SEALS: u64 = 1034;
const FIONREAD: u32 = 0x541b;

/// The pipe behind `file`, if it is one.
/// The caller as the pipe limits see it.
fn pipe_user(t: &UThread) -> crate::pipe::PipeUser {
    table().with_process(t.pid, |p| crate::pipe::PipeUser::of(p.creds())).unwrap_or(crate::pipe::PipeUser {
        uid: 0,
        sys_resource: true,
        sys_admin: true,
    })
}

fn as_pipe(file: &dyn File) -> Option<&crate::pipe::PipeEnd> {
    file.as_any()?.downcast_ref::<crate::pipe::PipeEnd>()
}

pub fn fcntl(t: &mut UThread, fd: Fd, cmd: u32, arg: u64) -> SysResult {
    let fd32 = fd.get();
    let cmd = u64::from(cmd);
    let files = t.files();
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let nofile = t.nofile();
            let min = u32::try_from(arg).map_err(|_| Errno::EINVAL)?;
            Ok(files.lock()?.dupfd(fd32, min, cmd == F_DUPFD_CLOEXEC, nofile)? as isize)
        }
        F_GETFD => Ok(files.lock()?.fd_flags(fd32)? as isize),
        F_SETFD => files.lock()?.set_fd_flags(fd32, arg as u32).map(|_| 0),
        F_GETFL => Ok(files.get(fd32)?.status_flags() as isize),
        F_SETFL => {
            let file = files.get(fd32)?;
            // setfl(): O_DIRECT needs direct I/O, but on a pipe or FIFO
            // (their packet mode)
            if arg as u32 & vfs::O_DIRECT != 0
                && !file.direct_io()
                && file.stat().map_or(true, |s| s.mode & vfs::S_IFMT != vfs::S_IFIFO)
            {
                return Err(Errno::EINVAL);
            }
            // setfl(): O_ASYNC is not in Linux's SETFL_MASK, the file's
            // fasync sets it: never kept on a file without one
            crate::fasync::setfl(fd32 as i32, &file, |_| arg as u32).map(|()| 0)
        }
        _ if crate::fasync::is_owner_cmd(cmd) => {
            let file = files.get(fd32)?;
            crate::fasync::fcntl(t, &*file, cmd, arg)
        }
        F_ADD_SEALS => super::shm::add_seals(&files.get(fd32)?, arg),
        F_GET_SEALS => super::shm::get_seals(&files.get(fd32)?),
        F_GETPIPE_SZ | F_SETPIPE_SZ => {
            let file = files.get(fd32)?;
            let p = as_pipe(&*file).ok_or(Errno::EBADF)?;
            if cmd == F_GETPIPE_SZ {
                Ok(p.capacity() as isize)
            } else {
                // the whole register: Linux checks it as an unsigned long
                Ok(p.set_capacity(arg, pipe_user(t))? as isize)
            }
        }
        F_NOTIFY => {
            let file = files.get(fd32)?;
            crate::dnotify::fcntl_notify(t, fd32 as i32, file, arg)
        }
        _ if crate::locks::is_lease_cmd(cmd) => {
            let file = files.get(fd32)?;
            crate::locks::lease_fcntl(t, fd32 as i32, file, cmd, arg)
        }
        _ if crate::locks::is_lock_cmd(cmd) => {
            let file = files.get(fd32)?;
            crate::locks::fcntl(t, file, cmd, arg)
        }
        _ => {
            files.get(fd32)?;
            log::info!("pid {}: fcntl command {cmd} unsupported: EINVAL", t.pid);
            Err(Errno::EINVAL)
        }
    }
}

pub fn dup(t: &mut UThread, fd: Fd) -> SysResult {
    let nofile = t.nofile();
    Ok(t.files().lock()?.dup(fd.get(), nofile)? as isize)
}

pub fn dup2(t: &mut UThread, old: Fd, new: Fd) -> SysResult {
    let (old, new) = (old.get(), new.get());
    let nofile = t.nofile();
    let files = t.files();
    let displaced = files.dup2(old, new, nofile)?;
    if let Some(f) = &displaced {
        crate::locks::closed(t.pid, f);
    }
    drop(displaced);
    Ok(new as isize)
}

pub fn dup3(t: &mut UThread, old: Fd, new: Fd, flags: u32) -> SysResult {
    let (old, new) = (old.get(), new.get());
    let nofile = t.nofile();
    let files = t.files();
    let displaced = files.dup3(old, new, flags, nofile)?;
    if let Some(f) = &displaced {
        crate::locks::closed(t.pid, f);
    }
    drop(displaced);
    Ok(new as isize)
}

pub fn pipe2(t: &mut UThread, fds: UserPtr<[u32; 2]>, flags: u32) -> SysResult {
    if flags & !(vfs::O_CLOEXEC | vfs::O_NONBLOCK | vfs::O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    let (r, w) = crate::pipe::pipe(flags & (vfs::O_NONBLOCK | vfs::O_DIRECT), pipe_user(t))?;
    install_pair(t, r, w, flags & vfs::O_CLOEXEC != 0, fds)?;
    Ok(0)
}

pub fn getcwd(t: &mut UThread, buf: UserSlice) -> SysResult {
    let (root, cwd) = {
        let f = t.fs()?;
        (f.root().clone(), f.cwd().clone())
    };
    let c = cred(t);
    let mut p = Ctx::new(root.inode, &c).with_root_mount(root.mnt).with_mnt_ns(t.mnt_ns).getcwd(&cwd)?;
    p.push(0);
    if p.len() > buf.len {
        return Err(Errno::ERANGE);
    }
    t.write_slice(buf.addr, &p)?;
    Ok(p.len() as isize)
}

pub fn chdir(t: &mut UThread, pathname: UserCStr) -> SysResult {
    let p = path(t, pathname)?;
    let dir = with_ctx(t, AT_FDCWD, |ctx, dir| Ok(vfs::Path::new(ctx.chdir(dir, &p)?, ctx.walked_mount())))?;
    let old = t.fs()?.set_cwd(dir);
    drop(old);
    Ok(0)
}

/// chroot(2): the look-up's errors and `EACCES` (search permission)
/// first, then `EPERM` without `CAP_SYS_CHROOT` (ksys_chroot's order). The
/// working directory stays where it is, as on Linux.
pub fn chroot(t: &mut UThread, pathname: UserCStr) -> SysResult {
    let p = path(t, pathname)?;
    let dir = with_ctx(t, AT_FDCWD, |ctx, dir| Ok(vfs::Path::new(ctx.chdir(dir, &p)?, ctx.walked_mount())))?;
    let may = table()
        // ns_capable(current_user_ns(), CAP_SYS_CHROOT)
        .with_process(t.pid, |p| p.creds().own_cap(process::cred::CAP_SYS_CHROOT))
        .ok_or(Errno::ESRCH)?;
    if !may {
        return Err(Errno::EPERM);
    }
    let old = t.fs()?.set_root(dir);
    drop(old);
    Ok(0)
}

pub fn fchdir(t: &mut UThread, fd: Fd) -> SysResult {
    let file = t.fd(fd)?;
    let dir = dir_path(&*file)?;
    let c = cred(t);
    dir.inode.check_access(&c, vfs::X_OK)?;
    let old = t.fs()?.set_cwd(dir);
    drop(old);
    Ok(0)
}

pub fn mkdirat(t: &mut UThread, dirfd: DirFd, pathname: UserCStr, mode: u32) -> SysResult {
    let p = path(t, pathname)?;
    let dirfd = at(dirfd, &p);
    with_ctx(t, dirfd, |ctx, dir| ctx.mkdir(dir, &p, mode & 0o7777))?;
    crate::dnotify::event(&p, file_lock::DN_CREATE, |q| {
        with_ctx(t, dirfd, |ctx, dir| ctx.lookup(dir, q, true))
    });
    Ok(0)
}

pub fn unlinkat(t: &mut UThread, dirfd: DirFd, pathname: UserCStr, flags: u32) -> SysResult {
    let p = path(t, pathname)?;
    let dirfd = at(dirfd, &p);
    with_ctx(t, dirfd, |ctx, dir| ctx.unlinkat(dir, &p, flags))?;
    crate::dnotify::event(&p, file_lock::DN_DELETE, |q| {
        with_ctx(t, dirfd, |ctx, dir| ctx.lookup(dir, q, true))
    });
    Ok(0)
}

/// The two names of rename and link: both paths, then the new one's
/// directory (as do_renameat2/do_linkat resolve them).
fn two_names(
    t: &UThread,
    old: (DirFd, UserCStr),
    new: (DirFd, UserCStr),
) -> Result<(Vec<u8>, Vec<u8>, vfs::Path)> {
    let op = path(t, old.1.0)?;
    let np = path(t, new.1.0)?;
    let (_, nd, _) = start(t, at(new.0, &np))?;
    Ok((op, np, nd))
}

pub fn renameat(t: &mut UThread, old: (DirFd, UserCStr), new: (DirFd, UserCStr), flags: u32) -> SysResult {
    let (olddir, newdir) = (old.0, new.0);
    let (op, np, nd) = two_names(t, old, new)?;
    let (olddir, newdir) = (at(olddir, &op), at(newdir, &np));
    with_ctx(t, olddir, |ctx, od| ctx.rename(od, &op, &nd, &np, flags))?;
    crate::dnotify::event(&op, file_lock::DN_RENAME | file_lock::DN_DELETE, |q| {
        with_ctx(t, olddir, |ctx, dir| ctx.lookup(dir, q, true))
    });
    crate::dnotify::event(&np, file_lock::DN_CREATE, |q| {
        with_ctx(t, newdir, |ctx, dir| ctx.lookup(dir, q, true))
    });
    Ok(0)
}

/// readlinkat(2): `bufsiz` is an `int` (at most that many bytes are
/// written; 0 or negative is EINVAL).
pub fn readlinkat(
    t: &mut UThread,
    dirfd: DirFd,
    pathname: UserCStr,
    buf: UserPtr<u8>,
    size: i32,
) -> SysResult {
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let p = path(t, pathname)?;
    let target = with_ctx(t, at(dirfd, &p), |ctx, dir| ctx.readlink(dir, &p))?;
    let n = target.len().min(size as usize);
    t.write_slice(buf.addr(), &target[..n])?;
    Ok(n as isize)
}

pub fn symlinkat(t: &mut UThread, target: UserCStr, dirfd: DirFd, linkpath: UserCStr) -> SysResult {
    let tg = path(t, target)?;
    let p = path(t, linkpath)?;
    let dirfd = at(dirfd, &p);
    with_ctx(t, dirfd, |ctx, dir| ctx.symlink(&tg, dir, &p))?;
    crate::dnotify::event(&p, file_lock::DN_CREATE, |q| {
        with_ctx(t, dirfd, |ctx, dir| ctx.lookup(dir, q, true))
    });
    Ok(0)
}

pub fn linkat(t: &mut UThread, old: (DirFd, UserCStr), new: (DirFd, UserCStr), flags: u32) -> SysResult {
    let (olddir, newdir) = (old.0, new.0);
    let op = t.read_str(old.1, PATH_MAX)?;
    let np = if op.is_empty() && flags & vfs::AT_EMPTY_PATH != 0 {
        // linkat(fd, "", dir, name, AT_EMPTY_PATH): a name for the open
        // file itself (an O_TMPFILE file's first one); the fd need not be
        // a directory's. do_linkat checks the flags and CAP_DAC_READ_SEARCH
        // before any look-up.
        let c = cred(t);
        if flags & !(vfs::AT_SYMLINK_FOLLOW | vfs::AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        if !c.has_cap(vfs::CAP_DAC_READ_SEARCH) {
            return Err(Errno::ENOENT);
        }
        let np = path(t, new.1.0)?;
        let (root, nd, umask) = start(t, at(newdir, &np))?;
        let od = match olddir {
            DirFd::Fd(fd) => {
                let f = t.fd(fd)?;
                vfs::Path::new(f.inode().cloned().ok_or(Errno::EXDEV)?, f.mount().cloned())
            }
            DirFd::Cwd => start(t, DirFd::Cwd)?.1,
        };
        Ctx::new(root.inode, &c)
            .with_root_mount(root.mnt)
            .with_umask(umask)
            .with_mnt_ns(t.mnt_ns)
            .link(&od, b"", &nd, &np, flags)?;
        np
    } else {
        let (op, np, nd) = two_names(t, old, new)?;
        with_ctx(t, at(olddir, &op), |ctx, od| ctx.link(od, &op, &nd, &np, flags))?;
        np
    };
    crate::dnotify::event(&np, file_lock::DN_CREATE, |q| {
        with_ctx(t, at(newdir, &np), |ctx, dir| ctx.lookup(dir, q, true))
    });
    Ok(0)
}

pub fn faccessat(t: &mut UThread, dirfd: DirFd, pathname: UserCStr, mode: u32, flags: u32) -> SysResult {
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path(t, pathname)?;
    let c = if flags & vfs::AT_EACCESS != 0 {
        cred(t)
    } else {
        table().with_process(t.pid, |p| access_cred(p.creds())).unwrap_or_else(vfs::Cred::root)
    };
    with_ctx_as(t, at(dirfd, &p), &c, |ctx, dir| ctx.access(dir, &p, mode, flags)).map(|_| 0)
}

/// Linux's access_override_creds(): access(2) asks as the real user and
/// group; unless SECBIT_NO_SETUID_FIXUP, a real root keeps its permitted
/// capabilities and anyone else has none (a setuid-root program asks what
/// its invoker may do; a root that dropped CAP_DAC_OVERRIDE from its
/// effective set still gets its overrides).
fn access_cred(c: &process::cred::Credentials) -> vfs::Cred {
    let caps = if c.securebits & process::cred::SECBIT_NO_SETUID_FIXUP != 0 {
        c.cap_effective
    } else if c.user_ns.uid_into(0) == Some(c.uid) {
        // root is the namespace's uid 0 (make_kuid(user_ns, 0))
        c.cap_permitted
    } else {
        0
    };
    vfs::Cred::new(c.uid, c.gid, c.groups.clone()).with_caps(file_caps(c, caps))
}

pub fn fchmodat(t: &mut UThread, dirfd: DirFd, pathname: UserCStr, mode: u32) -> SysResult {
    let p = path(t, pathname)?;
    let dirfd = at(dirfd, &p);
    with_ctx(t, dirfd, |ctx, dir| ctx.chmod(dir, &p, mode & 0o7777, 0))?;
    crate::dnotify::attrib(&p, |q| with_ctx(t, dirfd, |ctx, dir| ctx.lookup(dir, q, true)));
    Ok(0)
}

pub fn fchmod(t: &mut UThread, fd: Fd, mode: u32) -> SysResult {
    let file = t.fd(fd)?;
    let inode = file.inode().cloned().ok_or(Errno::EBADF)?;
    mount_writable(&*file)?;
    inode.chmod(&cred(t), mode & 0o7777).map(|_| 0)
}

/// mnt_want_write_file(): `EROFS` for a file opened through a read-only
/// mount (fchmod, fchown, futimens).
fn mount_writable(file: &dyn File) -> Result<()> {
    if file.mount().is_some_and(|m| m.flags() & vfs::MNT_RDONLY != 0) { Err(Errno::EROFS) } else { Ok(()) }
}

pub fn ftruncate(t: &mut UThread, fd: Fd, len: i64) -> SysResult {
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let file = t.fd(fd)?;
    // do_sys_ftruncate's own checks first, then inode_newsize_ok()
    if file.status_flags() & vfs::O_ACCMODE != vfs::O_RDONLY && file.status_flags() & vfs::O_PATH == 0 {
        fsize_resize(t, &*file, len as u64)?;
    }
    file.truncate(len as u64).map(|_| 0)
}

pub fn truncate(t: &mut UThread, pathname: UserCStr, len: i64) -> SysResult {
    let p = path(t, pathname)?;
    crate::locks::break_lease_truncate(t, || with_ctx(t, AT_FDCWD, |ctx, dir| ctx.lookup(dir, &p, true)))?;
    // inode_newsize_ok(): growing past RLIMIT_FSIZE, once the file may be
    // written (the lookup's and permission's errors come first)
    if len > 0
        && FSIZE_LIMITED.load(core::sync::atomic::Ordering::Relaxed)
        && let Ok(inode) = with_ctx(t, AT_FDCWD, |ctx, dir| ctx.lookup(dir, &p, true))
        && inode.check_access(&cred(t), vfs::W_OK).is_ok()
    {
        fsize_resize_inode(t, &inode, len as u64)?;
    }
    with_ctx(t, AT_FDCWD, |ctx, dir| ctx.truncate(dir, &p, len)).map(|_| 0)
}

pub fn umask(t: &mut UThread, mask: u32) -> SysResult {
    Ok(t.fs()?.set_umask(mask) as isize)
}

/// mount(2): tmpfs, ramfs, devtmpfs, sysfs (`crate::sysfs`) and proc;
/// anything else `ENODEV`. `MS_RDONLY` makes the filesystem read-only;
/// `MS_REMOUNT` changes that of a mounted filesystem (`EINVAL` unless the
/// target is a mount's root, `EBUSY` going read-only while a file of it is
/// open for writing); with `MS_BIND` it replaces one mount's flags
/// (read-only, nosuid, nodev, noexec: `crate::fs::remount`). `MS_MOVE`
/// moves a mount tree (`move_mount`). `MS_BIND` shows a directory at the target
/// too (`vfs::Ctx::bind_on`; a file bound on a file is `EINVAL`).
/// `MS_SHARED`/`MS_PRIVATE`/`MS_SLAVE`/`MS_UNBINDABLE` (with `MS_REC`)
/// change a mount's propagation (`crate::fs::set_propagation`). Mounts are
/// made in the caller's mount namespace; its owner's root may mount there
/// (may_mount(): CAP_SYS_ADMIN over the namespace's user namespace), from
/// a user namespace other than the initial one only tmpfs, ramfs, devpts
/// and bind mounts, and proc, sysfs and mqueue when the caller's root has
/// CAP_SYS_ADMIN over the owner of its PID, network or IPC namespace and
/// (proc, sysfs) the mount namespace already shows a whole one
/// (`crate::fs::fully_visible`); `EPERM` for the others (FS_USERNS_MOUNT).
/// mount(2): `(char *dev_name, char *dir_name, char *type, unsigned long
/// flags, void *data)`; the options page is read as a string.
pub fn mount(
    t: &mut UThread,
    source: UserCStr,
    target: UserCStr,
    fstype: UserCStr,
    flags: u64,
    data: UserCStr,
) -> SysResult {
    const MS_RDONLY: u64 = 1;
    const MS_NOSUID: u64 = 2;
    const MS_NODEV: u64 = 4;
    const MS_NOEXEC: u64 = 8;
    const MS_REMOUNT: u64 = 32;
    const MS_BIND: u64 = 4096;
    const MS_MOVE: u64 = 8192;
    const MS_REC: u64 = 16384;
    const MS_SILENT: u64 = 32768;
    const MS_UNBINDABLE: u64 = 1 << 17;
    const MS_PRIVATE: u64 = 1 << 18;
    const MS_SLAVE: u64 = 1 << 19;
    const MS_SHARED: u64 = 1 << 20;
    const MS_PROPAGATION: u64 = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
    // Linux's order: the strings, then the target, then the type
    let ty = if fstype.is_null() { Vec::new() } else { t.read_str(fstype, PATH_MAX)? };
    let src = if source.is_null() { b"none".to_vec() } else { t.read_str(source, PATH_MAX)? };
    let opts = if data.is_null() { Vec::new() } else { t.read_str(data, 4096).unwrap_or_default() };
    let p = path(t, target)?;
    // the namespace's mount lock across the look-ups and the changes
    let _ns_lock = crate::fs::lock_namespace(t.mnt_ns)?;
    // do_mount(): the target is looked up, then may_mount() wants
    // CAP_SYS_ADMIN, before the flags are looked at
    let (target, via) =
        with_ctx(t, AT_FDCWD, |ctx, dir| Ok((ctx.lookup(dir, &p, true)?, ctx.walked_mount())))?;
    let (may, initial_user, user_ino, user_owned) = may_mount(t);
    if !may {
        return Err(Errno::EPERM);
    }
    crate::fs::reap_namespaces();
    let ns = t.mnt_ns;
    let prefix = root_prefix(t)?;
    let at = vfs::Path::new(target.clone(), via.clone());
    if flags & MS_REMOUNT != 0 {
        let caller = if initial_user { None } else { Some(user_ino) };
        let extra = per_mount_bits(flags);
        let (ro, bind) = (flags & MS_RDONLY != 0, flags & MS_BIND != 0);
        return crate::fs::remount(ns, &target, via.as_ref(), ro, bind, caller, extra).map(|_| 0);
    }
    if flags & MS_BIND != 0 {
        // do_loopback(): a source is needed, looked up following links
        if source.is_null() || src.is_empty() {
            return Err(Errno::EINVAL);
        }
        let (from, from_via) =
            with_ctx(t, AT_FDCWD, |ctx, dir| Ok((ctx.lookup(dir, &src, true)?, ctx.walked_mount())))?;
        // do_loopback(): an unbindable source mount is EINVAL
        crate::fs::check_bindable(ns, from_via.as_ref())?;
        crate::fs::reserve_mount(ns)?;
        let from_mnt = from_via.clone();
        let text = target_text(t, &p);
        let (abs, from_abs) = with_ctx(t, AT_FDCWD, |ctx, dir| {
            // graft_tree(): a directory on a directory, a file on a file
            if target.is_dir() != from.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            let abs = match &text {
                Some(a) => in_ns(&prefix, a.clone()),
                None => in_ns(&prefix, abs_path(ctx, dir, &p, &at)?),
            };
            // an nsfs file (`ip netns add`'s /proc/self/ns/net): mountinfo's
            // root is its name, as Linux's ns_dname
            let from_abs = match crate::procfs::ns_of_inode(&from) {
                Some(o) => alloc::format!("{}:[{}]", o.kind(), o.ino()).into_bytes(),
                None => in_ns(&prefix, abs_path(ctx, dir, &src, &vfs::Path::new(from.clone(), from_via))?),
            };
            // a file or directory bound on itself (`mount --bind /x /x`,
            // bwrap's newroot, systemd's read-only /proc/sys and its
            // files) is a mount of its own, which walks end in; a bind
            // on one takes its place (stacked on it)
            if !Arc::ptr_eq(&target, &from) {
                crate::fs::unhang_self_bound(ns, &target);
            }
            if let Err(e) = ctx.bind_on(&target, from.clone()) {
                crate::fs::rehang_self_bound(ns, &target);
                return Err(e);
            }
            Ok((abs, from_abs))
        })?;
        if let Err(e) =
            crate::fs::record_bind(ns, user_owned, &abs, &from_abs, from, target.clone(), from_mnt.as_ref())
        {
            // the bind is taken back: no mount the table does not know
            let _ = with_ctx(t, AT_FDCWD, |ctx, dir| ctx.umount_at(dir, &p));
            crate::fs::rehang_self_bound(ns, &target);
            return Err(e);
        }
        return Ok(0);
    }
    if flags & MS_PROPAGATION != 0 {
        // do_change_type(): one type, MS_REC and MS_SILENT beside it, on
        // a mount's root
        let types = flags & MS_PROPAGATION;
        if flags & !(MS_PROPAGATION | MS_REC | MS_SILENT) != 0 || types & (types - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        let rec = flags & MS_REC != 0;
        use vfs::propagation::Kind;
        let kind = match types {
            MS_SHARED => Kind::Shared,
            MS_SLAVE => Kind::Slave,
            MS_UNBINDABLE => Kind::Unbindable,
            _ => Kind::Private,
        };
        return crate::fs::set_propagation(ns, &target, via.as_ref(), kind, rec).map(|_| 0);
    }
    if flags & MS_MOVE != 0 {
        return move_mount(t, ns, source.is_null() || src.is_empty(), &src, &at).map(|_| 0);
    }
    if fstype.is_null() {
        return Err(Errno::EINVAL);
    }
    // FS_USERNS_MOUNT: what a user namespace's root may mount (cgroup2:
    // with CAP_SYS_ADMIN over its cgroup namespace's owner, cgroup_get_tree)
    if ty == b"cgroup2"
        && !initial_user
        && !table()
            .with_process(t.pid, |p| {
                p.creds().ns_capable(p.ns().cgroup.owner(), process::cred::CAP_SYS_ADMIN)
            })
            .unwrap_or(false)
    {
        return Err(Errno::EPERM);
    }
    if !initial_user && !matches!(ty.as_slice(), b"tmpfs" | b"ramfs" | b"devpts" | b"cgroup2") {
        if !matches!(ty.as_slice(), b"proc" | b"sysfs" | b"mqueue") {
            let known = matches!(ty.as_slice(), b"devtmpfs" | b"ext2" | b"ext3" | b"ext4");
            return Err(if known { Errno::EPERM } else { Errno::ENODEV });
        }
        // mount_capable(): CAP_SYS_ADMIN over the user namespace owning
        // the namespace the filesystem shows (fc->user_ns: the caller's
        // PID namespace for proc, its network namespace for sysfs, its
        // IPC namespace for mqueue)
        let pid_owner = table().active_pid_ns(t.pid).owner();
        let capable = table()
            .with_process(t.pid, |p| {
                let owner = match ty.as_slice() {
                    b"proc" => pid_owner.clone(),
                    b"sysfs" => p.ns().net.owner().clone(),
                    _ => p.ns().ipc.owner().clone(),
                };
                p.creds().ns_capable(&owner, process::cred::CAP_SYS_ADMIN)
            })
            .unwrap_or(false);
        // mount_too_revealing(): proc and sysfs only where the mount
        // namespace already shows a whole one
        if !capable
            || (ty != b"mqueue" && user_owned && !crate::fs::fully_visible(ns, &ty, flags & MS_RDONLY != 0))
        {
            log::info!("pid {}: a {} mount from a user namespace refused: EPERM", t.pid, ty.escape_ascii());
            return Err(Errno::EPERM);
        }
    }
    // one devpts instance: mounted at boot, a further mount shows the
    // same pairs (a bind of its root, listed as devpts)
    crate::fs::reserve_mount(ns)?;
    if ty == b"devpts" {
        let pts = crate::pty::devpts();
        let (abs, bound) = with_ctx(t, AT_FDCWD, |ctx, _| {
            let abs = in_ns(&prefix, ctx.getcwd(&at)?);
            match ctx.mount_on(&target, pts.clone()) {
                Ok(()) => Ok((abs, false)),
                Err(Errno::EBUSY) => {
                    ctx.bind_on(&target, pts.clone())?;
                    Ok((abs, true))
                }
                Err(e) => Err(e),
            }
        })?;
        let recorded = if bound {
            crate::fs::record_bind(ns, user_owned, &abs, b"/dev/pts", pts, target, None)
        } else {
            let o = alloc::string::String::from("rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=000");
            let init = process::ns::INIT_USER_INO;
            crate::fs::record_mount_by(ns, init, &src, &abs, b"devpts", o, pts, Some(target))
        };
        if let Err(e) = recorded {
            let _ = with_ctx(t, AT_FDCWD, |ctx, dir| ctx.umount_at(dir, &p));
            return Err(e);
        }
        return Ok(0);
    }
    // a procfs mount's own options, shown after the flags
    let mut fs_opts = alloc::string::String::new();
    let fs_root = match ty.as_slice() {
        // proc_init_fs_context(): the mounter's PID namespace
        b"proc" => {
            let m = crate::procfs::ProcMount::parse(table().active_pid_ns(t.pid), &opts)?;
            fs_opts = m.options();
            crate::procfs::new_procfs(m)
        }
        b"devtmpfs" => crate::fs::new_devtmpfs(),
        b"tmpfs" => crate::fs::new_tmpfs(&opts)?,
        b"ramfs" => crate::fs::new_fs(),
        b"sysfs" => crate::sysfs::new_sysfs(),
        b"mqueue" => super::mqueue::new_mqueuefs(t),
        b"cgroup2" => crate::cgroup::new_cgroupfs(t.pid, &opts),
        b"ext2" | b"ext3" | b"ext4" => {
            // the source names a block device (links followed)
            let dev = with_ctx(t, AT_FDCWD, |ctx, dir| ctx.lookup(dir, &src, true))?;
            crate::fs::mount_ext2(&dev, flags & MS_RDONLY != 0)?
        }
        _ => return Err(Errno::ENODEV),
    };
    // tmpfs's mode= option: the root directory's permissions
    if let Some(mode) = opts
        .split(|&b| b == b',')
        .find_map(|o| o.strip_prefix(b"mode="))
        .and_then(|m| core::str::from_utf8(m).ok())
        .and_then(|m| u32::from_str_radix(m, 8).ok())
        && !fs_root.is_synthetic()
    {
        let _ = fs_root.chmod(&vfs::Cred::root(), mode & 0o7777);
    }
    // a user namespace's root owns the tmpfs it mounts (its kernel ids)
    if !initial_user && !fs_root.is_synthetic() {
        let (uid, gid) =
            table().with_process(t.pid, |p| (p.creds().fsuid, p.creds().fsgid)).unwrap_or((0, 0));
        let _ = fs_root.chown(&vfs::Cred::root(), Some(uid), Some(gid));
    }
    let text = target_text(t, &p);
    let mounted = with_ctx(t, AT_FDCWD, |ctx, _| {
        let abs = match &text {
            Some(a) => in_ns(&prefix, a.clone()),
            None => in_ns(&prefix, ctx.getcwd(&at)?),
        };
        crate::fs::unhang_self_bound(ns, &target);
        ctx.mount_on(&target, fs_root.clone())?;
        Ok(abs)
    });
    let abs = match mounted {
        Ok(m) => m,
        Err(e) => {
            crate::fs::rehang_self_bound(ns, &target);
            // a disk mounted for nothing is closed again
            let _ = crate::fs::unmounted(&fs_root);
            return Err(e);
        }
    };
    let mut o = alloc::string::String::from(if flags & MS_RDONLY != 0 { "ro" } else { "rw" });
    for (bit, name) in [(MS_NOSUID, ",nosuid"), (MS_NODEV, ",nodev"), (MS_NOEXEC, ",noexec")] {
        if flags & bit != 0 {
            o.push_str(name);
        }
    }
    o.push_str(",relatime");
    o.push_str(&fs_opts);
    if flags & MS_RDONLY != 0 {
        fs_root.set_fs_read_only(true)?;
    }
    let fs_user = if initial_user { process::ns::INIT_USER_INO } else { user_ino };
    if let Err(e) = crate::fs::record_mount_by(ns, fs_user, &src, &abs, &ty, o, fs_root.clone(), Some(target))
    {
        if with_ctx(t, AT_FDCWD, |ctx, dir| ctx.umount_at(dir, &p)).is_ok() {
            let _ = crate::fs::unmounted(&fs_root);
        }
        return Err(e);
    }
    let extra = per_mount_bits(flags);
    if extra != 0 {
        crate::fs::set_mount_flags(ns, &fs_root, extra);
    }
    Ok(0)
}

/// The absolute path of `inode`, which `p` (from `dir`) names: getcwd(2)'s
/// for a directory; for another file its directory's and its last name
/// (files keep no parent here; a final symbolic link's own directory is
/// not followed).
fn abs_path(ctx: &Ctx, dir: &vfs::Path, p: &[u8], at: &vfs::Path) -> Result<Vec<u8>> {
    if at.inode.is_dir() {
        return ctx.getcwd(at);
    }
    let (head, name): (&[u8], &[u8]) = match p.iter().rposition(|&b| b == b'/') {
        Some(0) => (b"/", &p[1..]),
        Some(i) => (&p[..i], &p[i + 1..]),
        None => (b".", p),
    };
    let parent = ctx.lookup(dir, head, true)?;
    // through the mount the walk ended in (a directory bound elsewhere)
    let mut out = ctx.getcwd(&vfs::Path::new(parent.clone(), ctx.walked_mount()))?;
    // a file reached through a magic link (systemd's mount on
    // /proc/self/fd/N of an O_PATH fd): its own place, a synthetic file's
    // (a /proc/sys file) from its directory link
    let named = ctx.lookup(dir, p, false).is_ok_and(|i| Arc::ptr_eq(&i, &at.inode));
    if !named && let Some((dir_of, own)) = at.inode.synth_place() {
        // the directory through the file's mount, or the one that mount
        // hangs in when the file is bound on itself
        let mnt = match &at.mnt {
            Some(m) if Arc::ptr_eq(m.root(), &at.inode) => m.up().map(|(pm, _)| pm),
            m => m.clone(),
        };
        let mut out = ctx.getcwd(&vfs::Path::new(dir_of, mnt))?;
        if out != b"/" {
            out.push(b'/');
        }
        out.extend_from_slice(&own);
        return Ok(out);
    }
    if out != b"/" {
        out.push(b'/');
    }
    out.extend_from_slice(name);
    Ok(out)
}

/// The path of the caller's root in its mount namespace, the prefix of
/// the paths the mount table keeps (empty when the root is the
/// namespace's, or a chroot into a directory that is no mount's root): a
/// chroot into a bind mount (`chroot /mnt/r` after `mount --rbind /
/// /mnt/r`, where bwrap runs on an initramfs root) records its mounts
/// under that bind's mount point, as Linux's mount tree has them.
fn root_prefix(t: &UThread) -> Result<Vec<u8>> {
    let root = t.fs()?.root().clone();
    let ns = t.mnt_ns;
    if crate::fs::root_path_of(ns).is_some_and(|r| r.same(&root)) {
        return Ok(Vec::new());
    }
    let Some(mnt) = root.mnt.as_ref().filter(|m| Arc::ptr_eq(m.root(), &root.inode)) else {
        return Ok(Vec::new());
    };
    match crate::fs::mount_record_via(ns, &root.inode, Some(mnt)) {
        Some((_, _, target, m)) if Arc::ptr_eq(&m, mnt) && target != b"/" => Ok(target),
        _ => Ok(Vec::new()),
    }
}

/// `rel`, a path from the caller's root, as a path in its mount
/// namespace ([`root_prefix`]).
fn in_ns(prefix: &[u8], rel: Vec<u8>) -> Vec<u8> {
    if prefix.is_empty() || rel.first() != Some(&b'/') {
        return rel;
    }
    let mut out = prefix.to_vec();
    if rel != b"/" {
        out.extend_from_slice(&rel);
    }
    out
}

/// The per-mount flags (`vfs::MNT_NOSUID`, `MNT_NODEV`, `MNT_NOEXEC`) of
/// mount(2)'s `MS_NOSUID`, `MS_NODEV`, `MS_NOEXEC` (the same bits).
fn per_mount_bits(flags: u64) -> u32 {
    (flags & 0xe) as u32
}

/// mount(2) with `MS_MOVE` (do_move_mount_old): the mount whose root the
/// source names, with the mounts below it, moves onto `target` (on top of
/// what is mounted there). `EINVAL` without a source, for a source that is
/// not a mount's root, the namespace's root or a locked mount; `ENOTDIR`
/// for a directory onto a file or back; `ELOOP` for a target inside the
/// moved tree. switch_root's move of a bind of the root directory onto
/// that directory (`mount --rbind / /r; cd /r; mount --move . /; chroot
/// .`), and systemd's unit root moved onto /: the target is the same
/// inode seen through another mount, and the moved mount then hangs on
/// its own root directory as a directory bound on itself does; the
/// namespace's root and a chroot into it find it through the table
/// ([`crate::fs::root_path_of`]).
fn move_mount(t: &UThread, ns: u64, no_source: bool, src: &[u8], at: &vfs::Path) -> Result<()> {
    if no_source {
        return Err(Errno::EINVAL);
    }
    let target = &at.inode;
    let (from, via) =
        with_ctx(t, AT_FDCWD, |ctx, dir| Ok((ctx.lookup(dir, src, true)?, ctx.walked_mount())))?;
    let Some((id, Some(cov), from_target, rec_mnt)) = crate::fs::mount_record_via(ns, &from, via.as_ref())
    else {
        return Err(Errno::EINVAL);
    };
    if target.is_dir() != from.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    // do_move_mount(): a mount hanging on a shared mount does not move
    if crate::fs::is_shared(ns, id, true) {
        return Err(Errno::EINVAL);
    }
    let prefix = root_prefix(t)?;
    let abs = in_ns(&prefix, with_ctx(t, AT_FDCWD, |ctx, _| ctx.getcwd(target))?);
    let inside = from_target == b"/"
        || abs == from_target
        || (abs.starts_with(&from_target) && abs.get(from_target.len()) == Some(&b'/'));
    // a mount moved onto the directory it shows (systemd's unit root, a
    // bind of /, moved onto /: switch_root's) hangs on it as one bound on
    // itself
    if inside {
        return Err(Errno::ELOOP);
    }
    let dest = target.top_in_ns(ns);
    // a directory bound on itself hangs on itself (the record's mount
    // when it does not)
    let mnt = cov.unmount_in_ns(ns, &from).unwrap_or(rec_mnt);
    if let Err(e) = dest.mount_in_ns(ns, &mnt, from.is_fs_root()) {
        let _ = cov.mount_in_ns(ns, &mnt, from.is_fs_root());
        return Err(e);
    }
    if let Err(e) = crate::fs::move_mount(ns, id, dest.clone(), &abs) {
        drop(dest.unmount_in_ns(ns, &from));
        let _ = cov.mount_in_ns(ns, &mnt, from.is_fs_root());
        return Err(e);
    }
    Ok(())
}

/// Linux's may_mount(): CAP_SYS_ADMIN over the user namespace that owns
/// the caller's mount namespace; and whether the caller's user namespace
/// is the initial one (what it may mount), its nsfs number, and whether
/// the mount namespace's owner is not the initial user namespace.
fn may_mount(t: &UThread) -> (bool, bool, u64, bool) {
    table()
        .with_process(t.pid, |p| {
            let c = p.creds();
            let owner = p.ns().mnt.owner().clone();
            let may = c.ns_capable(&owner, process::cred::CAP_SYS_ADMIN);
            (may, c.user_ns.is_initial(), c.user_ns.ino(), !owner.is_initial())
        })
        .unwrap_or((false, false, 0, false))
}

/// umount2(2): `MNT_DETACH` detaches the mounts below the target with it
/// (without it a mount with mounts below is `EBUSY`); a locked mount
/// (copied into a user-owned namespace), or with `MNT_DETACH` one below
/// it, is `EINVAL`; `MNT_FORCE` and `MNT_EXPIRE` are accepted (and
/// change nothing), `UMOUNT_NOFOLLOW`
/// keeps a final link; `EINVAL` for other flags or a path that is not a
/// mount point of the caller's mount namespace.
/// umount2(2): `(char *name, int flags)`.
pub fn umount2(t: &mut UThread, target: UserCStr, flags: i32) -> SysResult {
    const MNT_DETACH: i32 = 2;
    const UMOUNT_NOFOLLOW: i32 = 8;
    if flags & !0xf != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path(t, target)?;
    let _ns_lock = crate::fs::lock_namespace(t.mnt_ns)?;
    // ksys_umount(): the lookup, then may_mount(), then the mount point
    let nofollow = flags & UMOUNT_NOFOLLOW != 0;
    let (inode, via) =
        with_ctx(t, AT_FDCWD, |ctx, dir| Ok((ctx.lookup(dir, &p, !nofollow)?, ctx.walked_mount())))?;
    if !may_mount(t).0 {
        return Err(Errno::EPERM);
    }
    if nofollow && inode.file_type() == vfs::FileType::Symlink {
        return Err(Errno::EINVAL);
    }
    crate::fs::reap_namespaces();
    let ns = t.mnt_ns;
    // the mount, by identity: the latest of the namespace whose root the
    // path names (the look-up crossed to the top of the mounts there)
    let covered = crate::fs::mount_record_via(ns, &inode, via.as_ref()).and_then(|(_, c, _, _)| c);
    // can_umount(): a locked mount (or with MNT_DETACH one below it) is
    // EINVAL (MNT_FORCE wants no capability beyond may_mount() in Linux
    // 6.1: measured under --linux)
    let below = match &covered {
        Some(c) => {
            crate::fs::umount_locked(ns, &inode, c, flags & MNT_DETACH != 0)?;
            crate::fs::mounts_below(ns, &inode, c)
        }
        None => Vec::new(),
    };
    // the mounts below it: detached with it, else busy
    if !below.is_empty() && flags & MNT_DETACH == 0 && crate::fs::mount_of(&inode).1 {
        return Err(Errno::EBUSY);
    }
    // a disk file system with open files is busy; it is written back
    // and closed once detached
    crate::fs::may_umount(&inode)?;
    let self_bound = covered.as_ref().is_some_and(|c| Arc::ptr_eq(c, &inode));
    let umounted = if self_bound {
        // a file or directory bound on itself: its mount hangs on it
        if let Some(m) = inode.unmount_in_ns(ns, &inode) {
            m.set_up(None);
        }
        Ok((inode.clone(), inode.clone()))
    } else {
        with_ctx(t, AT_FDCWD, |ctx, dir| ctx.umount_at(dir, &p))
    };
    let (covered, root) = match umounted {
        Ok(pair) => pair,
        // a bind mount's root keeps no mount point of its own: for "."
        // (umount2(".") after a fchdir to it, as runc and bwrap do) the
        // table knows what it covers
        Err(Errno::EINVAL) if covered.is_some() && (p == b"." || p.ends_with(b"/.")) => {
            let c = covered.ok_or(Errno::EINVAL)?;
            if let Some(m) = c.unmount_in_ns(ns, &inode) {
                m.set_up(None);
            }
            (c, inode)
        }
        Err(e) => return Err(e),
    };
    for (c, r) in below {
        if let Some(m) = c.unmount_in_ns(ns, &r) {
            m.set_up(None);
        }
        if crate::fs::forget_mount(ns, &r, &c) {
            let _ = crate::fs::unmounted(&r);
        }
    }
    crate::fs::umount_propagated(ns, &root, &covered);
    let forgot = crate::fs::forget_mount(ns, &root, &covered);
    // a mount bound on itself under it is the top again
    crate::fs::rehang_self_bound(ns, &covered);
    if forgot {
        crate::fs::unmounted(&root)?;
    }
    Ok(0)
}

/// pivot_root(2) in Linux's order: `EPERM` without may_mount(), the
/// look-ups (`ENOTDIR` for a non-directory), `EINVAL` for a root mount
/// without a parent (an initramfs root: rootfs, as Linux) or a root that
/// is not a mount's root, `EBUSY` when either path lies in the caller's
/// root mount, `EINVAL` for a `new_root` that is not a mount's root or a
/// `put_old` not at or below it. Then the root mount moves to `put_old`,
/// `new_root`'s mount takes its place (`pivot_root(".", ".")` stacks the
/// old root on the new one, for umount2(".", MNT_DETACH) after a fchdir to
/// it), and the callers' root and cwd on the old root go to the new one
/// (Linux's chroot_fs_refs: the processes of the namespace).
/// pivot_root(2): `(const char *new_root, const char *put_old)`.
pub fn pivot_root(t: &mut UThread, new_root: UserCStr, put_old: UserCStr) -> SysResult {
    if !may_mount(t).0 {
        return Err(Errno::EPERM);
    }
    let np = path(t, new_root)?;
    let _ns_lock = crate::fs::lock_namespace(t.mnt_ns)?;
    let (new, new_via) =
        with_ctx(t, AT_FDCWD, |ctx, dir| Ok((ctx.lookup(dir, &np, true)?, ctx.walked_mount())))?;
    if !new.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let op = path(t, put_old)?;
    let (old, old_via) =
        with_ctx(t, AT_FDCWD, |ctx, dir| Ok((ctx.lookup(dir, &op, true)?, ctx.walked_mount())))?;
    if !old.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    crate::fs::reap_namespaces();
    let ns = t.mnt_ns;
    let root_path = t.fs()?.root().clone();
    let root = root_path.inode.clone();
    // the root's mount: the one the root was reached through (a chroot
    // into a bind mount of / has the rootfs's root inode through the bind)
    let root_rec = crate::fs::mount_record_via(ns, &root, root_path.mnt.as_ref());
    // an initramfs root (rootfs, its own parent) is EINVAL before the
    // same-mount EBUSY, as Linux 6.1 answers pivot_root("/", "/") there
    if root_rec.as_ref().is_some_and(|r| crate::fs::is_rootfs_id(ns, r.0)) {
        return Err(Errno::EINVAL);
    }
    let Some((root_id, Some(root_cov), root_target, root_rec_m)) = root_rec else {
        // a chroot into a directory that is no mount's root
        return Err(Errno::EINVAL);
    };
    let prefix = root_prefix(t)?;
    let new_at = vfs::Path::new(new.clone(), new_via.clone());
    let old_at = vfs::Path::new(old.clone(), old_via.clone());
    let (new_abs, old_abs) = with_ctx(t, AT_FDCWD, |ctx, _| {
        Ok((in_ns(&prefix, ctx.getcwd(&new_at)?), in_ns(&prefix, ctx.getcwd(&old_at)?)))
    })?;
    // the mounts the two paths are in: the mount whose root they are (as
    // walked), else the one whose mount point holds their path
    let rec_of = |inode: &Arc<Inode>, via: Option<&Arc<vfs::Mount>>| {
        crate::fs::mount_record_via(ns, inode, via).filter(|r| Arc::ptr_eq(r.3.root(), inode))
    };
    let new_rec = rec_of(&new, new_via.as_ref()).map(|r| (r.0, r.1, r.3));
    let in_root = |inode: &Arc<Inode>, via: Option<&Arc<vfs::Mount>>, abs: &[u8]| {
        rec_of(inode, via).map_or_else(|| crate::fs::holder_of(ns, abs) == Some(root_id), |r| r.0 == root_id)
    };
    // Linux's first check: put_old's mount, new_root's parent mount or the
    // root's parent mount shared (propagation would copy the pivot)
    let mount_of = |inode: &Arc<Inode>, via: Option<&Arc<vfs::Mount>>, abs: &[u8]| {
        rec_of(inode, via).map(|r| r.0).or_else(|| crate::fs::holder_of(ns, abs))
    };
    let old_id = mount_of(&old, old_via.as_ref(), &old_abs);
    let new_parent_shared =
        mount_of(&new, new_via.as_ref(), &new_abs).is_some_and(|id| crate::fs::is_shared(ns, id, true));
    if old_id.is_some_and(|id| crate::fs::is_shared(ns, id, false))
        || new_parent_shared
        || crate::fs::is_shared(ns, root_id, true)
    {
        return Err(Errno::EINVAL);
    }
    if in_root(&new, new_via.as_ref(), &new_abs) || in_root(&old, old_via.as_ref(), &old_abs) {
        return Err(Errno::EBUSY);
    }
    let Some((new_id, Some(new_cov), new_rec_m)) = new_rec else {
        return Err(Errno::EINVAL);
    };
    // put_old at or below new_root (is_path_reachable)
    let within = new_abs == b"/"
        || old_abs == new_abs
        || (old_abs.starts_with(&new_abs) && old_abs.get(new_abs.len()) == Some(&b'/'));
    if !within {
        return Err(Errno::EINVAL);
    }
    let old_rel: Vec<u8> = if new_abs == b"/" { old_abs.clone() } else { old_abs[new_abs.len()..].to_vec() };
    let _ = root_target;
    // the directories: new_root's mount leaves its place for the root's,
    // the old root goes on put_old (on the new root itself for ".")
    // a directory bound on itself (bwrap's newroot) hangs on itself: its
    // mount goes to the root's place (the record's own when it does not)
    let self_bound = Arc::ptr_eq(&new_cov, &new);
    let new_m = match new_cov.unmount_in_ns(ns, &new) {
        None if self_bound => Some(new_rec_m),
        m => m,
    };
    // likewise a root bind moved onto its own directory (switch_root's)
    let root_self = Arc::ptr_eq(&root_cov, &root);
    let root_m = match root_cov.unmount_in_ns(ns, &root) {
        None if root_self => Some(root_rec_m),
        m => m,
    };
    let (Some(new_m), Some(root_m)) = (new_m, root_m) else {
        log::warn!("pid {}: pivot_root: a mount the table has is not on its directory: EINVAL", t.pid);
        return Err(Errno::EINVAL);
    };
    let restore = |e: Errno| {
        // no half-made pivot: both back where they were
        let _ = root_cov.mount_in_ns(ns, &root_m, root.is_fs_root());
        let _ = new_cov.mount_in_ns(ns, &new_m, new.is_fs_root());
        e
    };
    // over a root bind on its own directory the new root is a record only
    // (a hang there would show it again below put_old):
    // crate::fs::root_path_of finds it
    if !root_self && let Err(e) = root_cov.mount_in_ns(ns, &new_m, new.is_fs_root()) {
        return Err(restore(e));
    }
    let put = old.top_in_ns(ns);
    if let Err(e) = put.mount_in_ns(ns, &root_m, root.is_fs_root()) {
        if !root_self {
            drop(root_cov.unmount_in_ns(ns, &new));
        }
        return Err(restore(e));
    }
    if let Err(e) = crate::fs::pivot(ns, root_id, new_id, put.clone(), &old_rel) {
        drop(put.unmount_in_ns(ns, &root));
        if !root_self {
            drop(root_cov.unmount_in_ns(ns, &new));
        }
        return Err(restore(e));
    }
    chroot_fs_refs(t, &root, &vfs::Path::new(new, Some(new_m)));
    Ok(0)
}

/// Linux's chroot_fs_refs(): every thread of the caller's mount namespace
/// whose root or cwd is `old` gets `new` instead.
fn chroot_fs_refs(t: &UThread, old: &Arc<Inode>, new: &vfs::Path) {
    type Shared = fs_table::SharedFsContext<vfs::Path, spin::Mutex<()>>;
    let Some(mine) = table().with_process(t.pid, |p| p.ns().mnt.clone()) else { return };
    let mut fss: Vec<Shared> = Vec::new();
    for pid in table().pids() {
        let tids = table()
            .with_process(pid, |p| {
                if Arc::ptr_eq(&p.ns().mnt, &mine) { p.threads().to_vec() } else { Vec::new() }
            })
            .unwrap_or_default();
        for tid in tids {
            if let Some(fs) = table().with_thread(tid, |th| th.fs().map(|f| f.share())).flatten()
                && !fss.iter().any(|f| Shared::ptr_eq(f, &fs))
                && fss.try_reserve(1).is_ok()
            {
                fss.push(fs);
            }
        }
    }
    let mut gone = Vec::new();
    for fs in fss {
        let mut f = fs.lock();
        if Arc::ptr_eq(&f.root().inode, old) {
            gone.push(f.set_root(new.clone()));
        }
        if Arc::ptr_eq(&f.cwd().inode, old) {
            gone.push(f.set_cwd(new.clone()));
        }
    }
    // the old references go after the contexts' locks
    drop(gone);
}

/// sendfile(2): copies through a kernel buffer (at most 1 MiB per call).
/// `int out_fd, int in_fd, loff_t *offset, size_t count`; the buffer is
/// reserved fallibly (`ENOMEM`).
pub fn sendfile(t: &mut UThread, out_fd: Fd, in_fd: Fd, offp: UserPtr<i64>, count: usize) -> SysResult {
    let input = t.fd(in_fd)?;
    let output = t.fd(out_fd)?;
    if input.status_flags() & vfs::O_ACCMODE == vfs::O_WRONLY {
        return Err(Errno::EBADF);
    }
    let len = count.min(IO_CHUNK);
    let mut buf = Vec::new();
    buf.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    buf.resize(len, 0);
    let off = match offp.non_null() {
        Some(p) => Some(t.read(p)?),
        None => None,
    };
    let n = match off {
        Some(off) if off < 0 => return Err(Errno::EINVAL),
        Some(off) => input.pread(&mut buf, off as u64)?,
        None => input.read(&mut buf)?,
    };
    if n == 0 {
        return Ok(0);
    }
    // what the output did not take stays in the input (its position, or
    // *offp, moves by what was sent only)
    let sent = match fsize_room(t, &*output, None, n, true)
        .and_then(|m| fsize_write_cut(t, &*output, &buf[..n], m, None))
    {
        Ok(m) => m,
        Err(e) => {
            if off.is_none() {
                input.unread(&buf[..n]);
            }
            return Err(super::fs_extra::sigpipe_on_epipe(t, &*output, e));
        }
    };
    match (offp.non_null(), off) {
        (Some(p), Some(off)) => t.write(p, off + sent as i64)?,
        _ if sent < n => input.unread(&buf[sent..n]),
        _ => {}
    }
    Ok(sent as isize)
}

/// chown(2) family; -1 (as u32::MAX) leaves an id unchanged.
pub fn fchownat(
    t: &mut UThread,
    dirfd: DirFd,
    pathname: UserCStr,
    uid: u32,
    gid: u32,
    flags: u32,
) -> SysResult {
    // do_fchownat(): only these two flags exist
    if flags & !(AT_SYMLINK_NOFOLLOW | vfs::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    // chown_common(): the ids of the caller's user namespace as kernel
    // ids, EINVAL for one it does not map (after the look-up); -1 keeps
    let ns = &t.user_ns;
    let (kuid, kgid) = (ns.uid_into(uid), ns.gid_into(gid));
    let unmapped = (uid != u32::MAX && kuid.is_none()) || (gid != u32::MAX && kgid.is_none());
    // fchown(2) comes here with no path at all
    let p = if pathname.is_null() { Vec::new() } else { t.read_str(pathname, PATH_MAX)? };
    if p.is_empty() {
        if flags & vfs::AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        let file = t.fd(dirfd.fd())?;
        let inode = file.inode().cloned().ok_or(Errno::EBADF)?;
        mount_writable(&*file)?;
        if unmapped {
            return Err(Errno::EINVAL);
        }
        return inode.chown(&cred(t), kuid, kgid).map(|_| 0);
    }
    if unmapped {
        with_ctx(t, at(dirfd, &p), |ctx, dir| ctx.lookup_at(dir, &p, flags))?;
        return Err(Errno::EINVAL);
    }
    with_ctx(t, at(dirfd, &p), |ctx, dir| ctx.chown(dir, &p, kuid, kgid, flags)).map(|_| 0)
}

/// utimensat(2): NULL times set both to now; UTIME_NOW/UTIME_OMIT as Linux.
pub fn utimensat(
    t: &mut UThread,
    dirfd: DirFd,
    pathname: UserCStr,
    times: UserPtr<[Timespec; 2]>,
    flags: u32,
) -> SysResult {
    let ts = if times.is_null() {
        None
    } else {
        Some(t.read(times)?.map(|ts| vfs::Timespec::new(ts.tv_sec, ts.tv_nsec)))
    };
    // "Nothing to do, we must not even check the path" (nor the flags)
    if ts.is_some_and(|ts| ts.iter().all(|t| t.nsec == vfs::UTIME_OMIT)) {
        return Ok(0);
    }
    // do_utimes(): only these two flags exist
    if flags & !(AT_SYMLINK_NOFOLLOW | vfs::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    if pathname.is_null() {
        // futimens(): the file behind dirfd
        let file = t.fd(dirfd.fd())?;
        let inode = file.inode().cloned().ok_or(Errno::EBADF)?;
        mount_writable(&*file)?;
        return inode.utimens(&cred(t), ts).map(|_| 0);
    }
    let p = path(t, pathname)?;
    with_ctx(t, at(dirfd, &p), |ctx, dir| ctx.utimens(dir, &p, ts, flags)).map(|_| 0)
}

fn statfs_bytes(s: &vfs::StatFs, f_flags: u64) -> StatfsBytes {
    let mut b = [0u8; 120];
    let fields =
        [s.fs_type, s.bsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree, 0, s.namelen, s.bsize, f_flags];
    for (i, v) in fields.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    b
}

/// `struct statfs` (120 bytes) as user memory holds it.
pub type StatfsBytes = [u8; 120];

pub fn statfs(t: &mut UThread, pathname: UserCStr, buf: UserPtr<StatfsBytes>) -> SysResult {
    let p = path(t, pathname)?;
    let (inode, mnt) =
        with_ctx(t, AT_FDCWD, |ctx, dir| Ok((ctx.lookup(dir, &p, true)?, ctx.walked_mount())))?;
    t.write(buf, statfs_bytes(&fs_statfs(&inode), st_flags(&inode, mnt.as_deref()))).map(|_| 0)
}

/// statfs(2)'s `f_flags` (Linux's calculate_f_flags): `ST_VALID`, the
/// mount's flags walked through (`ST_RDONLY`, `ST_NOSUID`, `ST_NODEV`,
/// `ST_NOEXEC`: the `vfs::MNT_*` bits), `ST_RELATIME` for a mount made by
/// mount(2) (not the initramfs's rootfs, as Linux's kernel-made mounts),
/// `ST_RDONLY` for a read-only filesystem.
fn st_flags(inode: &Inode, mnt: Option<&vfs::Mount>) -> u64 {
    const ST_RDONLY: u64 = 1;
    const ST_VALID: u64 = 0x20;
    const ST_RELATIME: u64 = 0x1000;
    let per_mount = mnt.map_or(0, |m| m.flags()) as u64 & 0xf;
    let relatime = if mnt.is_none_or(|m| crate::fs::is_relatime(m.id())) { ST_RELATIME } else { 0 };
    let ro = if inode.fs_read_only() { ST_RDONLY } else { 0 };
    ST_VALID | relatime | per_mount | ro
}

/// statfs(2) figures of the filesystem holding `inode`, with the magic
/// number of what is mounted (tmpfs, proc, ...).
fn fs_statfs(inode: &Inode) -> vfs::StatFs {
    inode.statfs().with_fs_type(crate::fs::fs_magic(inode))
}

pub fn fstatfs(t: &mut UThread, fd: Fd, buf: UserPtr<StatfsBytes>) -> SysResult {
    let file = t.fd(fd)?;
    let (st, f_flags) = match file.inode() {
        Some(i) => (fs_statfs(i), st_flags(i, file.mount().map(|m| &**m))),
        // pipefs: an internal mount (kern_mount: no relatime)
        None => (vfs::StatFs::default().with_fs_type(0x5049_5045).with_bsize(4096).with_namelen(255), 0x20),
    };
    t.write(buf, statfs_bytes(&st, f_flags)).map(|_| 0)
}
