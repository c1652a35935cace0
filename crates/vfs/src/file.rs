//! The open-file interface ([`File`]) and open ramfs files ([`RamFile`]).

use alloc::sync::Arc;
use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};

use linux_abi::{Errno, Result};
use spin::Mutex;

use crate::inode::Inode;
use crate::notify::mask::{ACCESS, CLOSE_NOWRITE, CLOSE_WRITE, MODIFY};
use crate::types::*;

/// An open file description (Linux's `struct file`), whatever is behind
/// it: a ramfs file or directory, a pipe, a terminal, a /proc file.
///
/// A kernel keeps `Arc<dyn File>` in its descriptor table
/// (`fs_table::FileTable<dyn File>`); descriptors made by dup(2) and
/// fork(2) share the object, hence its offset and status flags. Methods take
/// `&self`: implementations lock what they change.
///
/// Buffers are kernel memory; the caller copies to and from user space.
pub trait File: Send + Sync {
    /// read(2) at the file offset, which advances. `EBADF` when not open
    /// for reading.
    fn read(&self, buf: &mut [u8]) -> Result<usize>;

    /// write(2) at the file offset (the end with `O_APPEND`), which
    /// advances. `EBADF` when not open for writing.
    fn write(&self, buf: &[u8]) -> Result<usize>;

    /// pread64(2): read at `offset` without moving the file offset.
    /// `ESPIPE` for files without offsets.
    fn pread(&self, _buf: &mut [u8], _offset: u64) -> Result<usize> {
        Err(Errno::ESPIPE)
    }

    /// pwrite64(2): write at `offset` without moving the file offset.
    /// `ESPIPE` for files without offsets.
    fn pwrite(&self, _buf: &[u8], _offset: u64) -> Result<usize> {
        Err(Errno::ESPIPE)
    }

    /// Undoes the last [`File::read`], which returned `data`, because the
    /// caller could not store it (a fault copying to user memory): Linux's
    /// read copies out before it consumes, so the bytes stay in the file.
    /// The default moves the offset back; a file without one (a pipe, a
    /// terminal) puts the bytes back in front of what it holds.
    fn unread(&self, data: &[u8]) {
        let _ = self.lseek(-(data.len() as i64), SEEK_CUR);
    }

    /// lseek(2) with `SEEK_SET`, `SEEK_CUR`, `SEEK_END` (and, where
    /// supported, `SEEK_DATA`, `SEEK_HOLE`); returns the new offset.
    /// `ESPIPE` for pipes and terminals.
    fn lseek(&self, _offset: i64, _whence: u32) -> Result<u64> {
        Err(Errno::ESPIPE)
    }

    /// fstat(2).
    fn stat(&self) -> Result<Stat>;

    /// getdents64(2): `struct linux_dirent64` records into `buf`; 0 at the
    /// end. `ENOTDIR` for files that are not directories.
    fn getdents64(&self, _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::ENOTDIR)
    }

    /// ioctl(2); the argument is the raw user value. `ENOTTY` by default.
    fn ioctl(&self, _cmd: u32, _arg: usize) -> Result<isize> {
        Err(Errno::ENOTTY)
    }

    /// poll(2) readiness now: `POLLIN`, `POLLOUT`, `POLLHUP`, ... Regular
    /// files are always ready.
    fn poll(&self) -> u32 {
        POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM
    }

    /// poll(2) readiness as [`File::poll`] gives it, without the side
    /// effects of a poll (a file that reports a change once, as Linux's
    /// /proc/PID/mountinfo's `POLLPRI`, reports it again to the next
    /// poll): what a sleeper's wake-up check looks with. The same as
    /// `poll` by default.
    fn poll_peek(&self) -> u32 {
        self.poll()
    }

    /// A counter that moves each time the file's readiness may have
    /// changed (data arrived, space was freed, a peer hung up): the
    /// "wake-up" edge-triggered epoll reports again on. Files that never
    /// move it (the default, 0) are reported on rising readiness only.
    fn event_count(&self) -> u64 {
        0
    }

    /// The queue of sleepers this file wakes whenever its readiness may have
    /// changed ([`File::poll`], [`File::event_count`]): poll(2) and epoll
    /// register on it before they look and sleep, so a change after the
    /// look still wakes them. `None` (the default) for files whose
    /// readiness never changes: they are always ready, nobody sleeps on
    /// them.
    fn wait_queue(&self) -> Option<Arc<dyn WaitQueue>> {
        None
    }

    /// The object behind the trait, for a kernel to recognise its own file
    /// kinds (an epoll instance, a pipe). `None` by default.
    fn as_any(&self) -> Option<&dyn core::any::Any> {
        None
    }

    /// ftruncate(2). `EINVAL` for files that cannot be truncated.
    fn truncate(&self, _len: u64) -> Result<()> {
        Err(Errno::EINVAL)
    }

    /// The status flags for fcntl(F_GETFL): the access mode and `O_APPEND`,
    /// `O_NONBLOCK`, ...
    fn status_flags(&self) -> u32;

    /// fcntl(F_SETFL): changes the bits of [`SETFL_MASK`] and ignores
    /// the others.
    fn set_status_flags(&self, flags: u32);

    /// The filesystem inode behind this file, if any (for fchdir(2),
    /// fchmod(2), `*at` calls with a directory descriptor, execve(2)).
    fn inode(&self) -> Option<&Arc<Inode>> {
        None
    }

    /// The mount the file was opened through, when it was opened by a
    /// path walk that carried one (its per-mount flags: fstatfs(2), a
    /// directory descriptor's walks, a reopen through /proc/PID/fd).
    fn mount(&self) -> Option<&Arc<crate::Mount>> {
        None
    }

    /// The absolute path an `O_PATH` file was opened by, as the kernel
    /// recorded it ([`File::set_opened_path`]): the place a mount(2) on
    /// its /proc/self/fd link names (systemd's mount_nofollow), where the
    /// walk's inodes alone would not tell it (a bind of / elsewhere).
    fn opened_path(&self) -> Option<Arc<[u8]>> {
        None
    }

    /// Records [`File::opened_path`] (files that keep none ignore it).
    fn set_opened_path(&self, _path: Arc<[u8]>) {}

    /// The lines of /proc/PID/fdinfo/N this kind of file adds after the
    /// common `pos`/`flags`/`mnt_id`/`ino` ones (Linux's
    /// `file_operations::show_fdinfo`: an eventfd's count, a timerfd's
    /// settings, an epoll instance's `tfd:` lines). Nothing by default.
    fn show_fdinfo(&self, _out: &mut alloc::string::String) {}

    /// Whether the file takes `O_DIRECT` (Linux's `FMODE_CAN_ODIRECT`: a
    /// regular file of a filesystem with direct I/O, a block device).
    /// open(2) and fcntl(F_SETFL) refuse the flag elsewhere with `EINVAL`
    /// (F_SETFL keeps it on pipes and FIFOs: their packet mode). `false`
    /// by default.
    fn direct_io(&self) -> bool {
        false
    }

    /// The owner of this description (fcntl's F_SETOWN, F_SETSIG): every
    /// file has one, shared by the descriptors of the description.
    fn owner(&self) -> &crate::FileOwner;

    /// Whether O_ASYNC makes this kind of file signal its owner when it
    /// becomes readable or writable (Linux's `file_operations::fasync`:
    /// pipes, sockets, terminals, inotify). `false` by default: the flag is
    /// kept (F_GETFL shows it) and nothing is sent.
    fn fasync(&self) -> bool {
        false
    }
}

/// fcntl(F_SETFL) on a file's status word: the bits of [`SETFL_MASK`]
/// come from `flags`, the others (access mode, open-time flags) stay. One
/// atomic update, so a concurrent F_SETFL cannot lose a bit.
///
/// ```
/// use core::sync::atomic::{AtomicU32, Ordering};
/// let w = AtomicU32::new(vfs::O_RDWR);
/// vfs::set_status_bits(&w, vfs::O_NONBLOCK | vfs::O_CREAT);
/// assert_eq!(w.load(Ordering::Relaxed), vfs::O_RDWR | vfs::O_NONBLOCK);
/// ```
pub fn set_status_bits(status: &AtomicU32, flags: u32) {
    let _ = status.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
        Some((old & !SETFL_MASK) | (flags & SETFL_MASK))
    });
}

/// A wait queue of the kernel, as [`File::wait_queue`] hands it out.
///
/// The kernel owns the sleeping and the waking (its scheduler's queue type
/// implements this trait); the VFS only carries the queue from a file to
/// the code that sleeps, which gets its own type back through [`Any`]
/// (`Arc<dyn WaitQueue>` converts to `Arc<dyn Any + Send + Sync>`, then
/// `Arc::downcast`).
///
/// [`Any`]: core::any::Any
pub trait WaitQueue: core::any::Any + Send + Sync {}

/// An open regular file or directory of a ramfs: an inode, an offset and
/// the status flags.
pub struct RamFile {
    inode: Arc<Inode>,
    /// The file offset; for a directory, the readdir position. Held during
    /// read, write and getdents, as Linux's `f_pos_lock`.
    pos: Mutex<u64>,
    flags: AtomicU32,
    /// A synthetic file's content as produced by the read at offset 0,
    /// which later reads continue (Linux's seq_file buffer).
    snapshot: Mutex<Option<Arc<[u8]>>>,
    /// Counted in the inode's `i_writecount` (open(2) for writing; not a
    /// file the kernel makes itself, such as a memfd).
    write_access: bool,
    owner: crate::FileOwner,
    /// A synthetic file's node for this open file alone
    /// ([`crate::SynthNode::open_file`]), in place of the inode's.
    node: Option<Arc<dyn crate::SynthNode>>,
    /// The mount it was opened through ([`File::mount`]).
    mnt: Option<Arc<crate::Mount>>,
    /// [`File::opened_path`] (`O_PATH` opens by an absolute path).
    opened_path: Mutex<Option<Arc<[u8]>>>,
}

impl fmt::Debug for RamFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RamFile")
            .field("inode", &self.inode)
            .field("flags", &self.flags.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RamFile {
    /// An open file on `inode` with open `flags` at offset 0 (no checks:
    /// [`crate::Ctx::open`] makes them).
    pub fn new(inode: Arc<Inode>, flags: u32) -> Self {
        Self::with_write_access(inode, flags, true)
    }

    /// An open file the kernel makes itself on `inode` (Linux's
    /// `alloc_file_pseudo`: a memfd): open for writing without counting
    /// as a writer of the inode, so that the file can be executed
    /// (`fexecve` of a memfd) while this file stays open.
    pub fn new_pseudo(inode: Arc<Inode>, flags: u32) -> Self {
        Self::with_write_access(inode, flags, false)
    }

    fn with_write_access(inode: Arc<Inode>, flags: u32, counted: bool) -> Self {
        let mut f = Self {
            inode,
            pos: Mutex::new(0),
            flags: AtomicU32::new(flags),
            snapshot: Mutex::new(None),
            write_access: false,
            owner: crate::FileOwner::new(),
            node: None,
            mnt: None,
            opened_path: Mutex::new(None),
        };
        f.inode.sb.open_files.fetch_add(1, Ordering::SeqCst);
        if f.counts_as_writer() {
            f.inode.sb.writers.fetch_add(1, Ordering::SeqCst);
            if counted {
                // i_writecount: open(2) checked it (ETXTBSY) before
                f.inode.add_writer();
                f.write_access = true;
            }
        }
        f
    }

    /// With `node` serving the reads and writes of this synthetic file
    /// instead of its inode's node (`None`: the inode's).
    pub(crate) fn with_node(mut self, node: Option<Arc<dyn crate::SynthNode>>) -> Self {
        self.node = node;
        self
    }

    /// The same file remembering the mount it was opened through.
    pub fn with_mount(mut self, mnt: Option<Arc<crate::Mount>>) -> Self {
        self.mnt = mnt;
        self
    }

    /// A write at `offset` through this file's own node, when it has one
    /// (`None`: through the inode).
    fn write_own_node(&self, offset: u64, buf: &[u8]) -> Option<Result<usize>> {
        let node = self.node.as_ref()?;
        Some(node.write_direct(offset, buf).unwrap_or(Err(Errno::EACCES)))
    }

    /// Open for writing a regular file: what keeps its filesystem from a
    /// remount read-only (`O_ACCMODE` never changes after open).
    fn counts_as_writer(&self) -> bool {
        self.writable() && self.inode.file_type() == FileType::Regular
    }

    /// Whether opens and closes of this file are reported (not `O_PATH`,
    /// not a file the kernel made itself).
    fn notifies(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & O_PATH == 0
    }

    /// The current offset.
    pub fn offset(&self) -> u64 {
        *self.pos.lock()
    }

    fn readable(&self) -> bool {
        let f = self.flags.load(Ordering::Relaxed);
        f & O_PATH == 0 && matches!(f & O_ACCMODE, O_RDONLY | O_RDWR)
    }

    fn writable(&self) -> bool {
        let f = self.flags.load(Ordering::Relaxed);
        f & O_PATH == 0 && matches!(f & O_ACCMODE, O_WRONLY | O_RDWR)
    }

    /// An `O_PATH` file: only stat and use as a directory handle work.
    fn path_only(&self) -> Result<()> {
        if self.flags.load(Ordering::Relaxed) & O_PATH != 0 { Err(Errno::EBADF) } else { Ok(()) }
    }

    /// Reads at `offset` from the content of a synthetic regular file:
    /// produced afresh at offset 0 (or the first time), else the same
    /// bytes as the read before, so a reader in pieces sees one version.
    fn read_synthetic(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let own = self.node.as_ref();
        let direct = match own {
            Some(n) => n.read_direct(offset, buf),
            None => self.inode.synth().and_then(|s| s.node.read_direct(offset, buf)),
        };
        if let Some(r) = direct {
            return r;
        }
        let mut snap = self.snapshot.lock();
        let data = match &*snap {
            Some(d) if offset != 0 => d.clone(),
            _ => {
                let d: Arc<[u8]> = match own {
                    Some(n) => n.content()?.into(),
                    None => self.inode.synth_content()?.into(),
                };
                *snap = Some(d.clone());
                d
            }
        };
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn is_synthetic_file(&self) -> bool {
        self.inode.is_synthetic() && self.inode.file_type() == FileType::Regular
    }

    /// Linux's `rw_verify_area`: `EINVAL` when the offset is negative (as
    /// a `u64`, beyond `i64::MAX`) or offset + count overflows `loff_t`.
    fn verify_area(offset: u64, count: usize) -> Result<()> {
        match offset.checked_add(count as u64) {
            Some(end) if end <= MAX_FILE_SIZE => Ok(()),
            _ => Err(Errno::EINVAL),
        }
    }
}

impl Drop for RamFile {
    fn drop(&mut self) {
        if self.notifies() {
            // Linux's __fput: fsnotify_close
            let m = if self.writable() { CLOSE_WRITE } else { CLOSE_NOWRITE };
            self.inode.fsnotify_file(m);
        }
        self.inode.sb.open_files.fetch_sub(1, Ordering::SeqCst);
        if self.counts_as_writer() {
            self.inode.sb.writers.fetch_sub(1, Ordering::SeqCst);
        }
        if self.write_access {
            self.inode.put_write_access();
        }
    }
}

impl File for RamFile {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        let mut pos = self.pos.lock();
        Self::verify_area(*pos, buf.len())?;
        let n = if self.is_synthetic_file() {
            self.read_synthetic(*pos, buf)?
        } else {
            self.inode.read_at(*pos, buf)?
        };
        *pos += n as u64;
        drop(pos);
        if n > 0 {
            self.inode.fsnotify_file(ACCESS);
        }
        Ok(n)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        let mut pos = self.pos.lock();
        let append = self.flags.load(Ordering::Relaxed) & O_APPEND != 0;
        let n = if self.node.is_some() {
            // a synthetic file's size is 0: O_APPEND writes at 0
            let at = if append { 0 } else { *pos };
            Self::verify_area(at, buf.len())?;
            let n = self.write_own_node(at, buf).unwrap_or(Err(Errno::EACCES))?;
            *pos = at + n as u64;
            n
        } else if append {
            let (n, end) = self.inode.append(buf)?;
            *pos = end;
            n
        } else {
            Self::verify_area(*pos, buf.len())?;
            let n = self.inode.write_at(*pos, buf)?;
            *pos += n as u64;
            n
        };
        drop(pos);
        if n > 0 {
            self.inode.fsnotify_file(MODIFY);
        }
        Ok(n)
    }

    fn pread(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        Self::verify_area(offset, buf.len())?;
        let n = if self.is_synthetic_file() {
            self.read_synthetic(offset, buf)?
        } else {
            self.inode.read_at(offset, buf)?
        };
        if n > 0 {
            self.inode.fsnotify_file(ACCESS);
        }
        Ok(n)
    }

    fn pwrite(&self, buf: &[u8], offset: u64) -> Result<usize> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        Self::verify_area(offset, buf.len())?;
        // Linux appends even with an offset when O_APPEND is set.
        let append = self.flags.load(Ordering::Relaxed) & O_APPEND != 0;
        let n = if let Some(r) = self.write_own_node(if append { 0 } else { offset }, buf) {
            r?
        } else if append {
            self.inode.append(buf)?.0
        } else {
            self.inode.write_at(offset, buf)?
        };
        if n > 0 {
            self.inode.fsnotify_file(MODIFY);
        }
        Ok(n)
    }

    fn lseek(&self, offset: i64, whence: u32) -> Result<u64> {
        self.path_only()?;
        let is_dir = self.inode.is_dir();
        // generic_file_llseek: a disk file's offsets stop at s_maxbytes
        // (asked before the position's lock: the store's lock may sleep)
        let max = if is_dir { None } else { self.inode.backing().map(|fs| fs.max_file_size()) };
        let mut pos = self.pos.lock();
        let base: i64 = match whence {
            SEEK_SET => 0,
            SEEK_CUR => *pos as i64,
            SEEK_END if !is_dir => self.inode.size() as i64,
            SEEK_DATA | SEEK_HOLE if !is_dir => {
                if offset < 0 {
                    return Err(Errno::ENXIO);
                }
                let at = self.inode.seek_data_hole(offset as u64, whence == SEEK_HOLE)?;
                *pos = at;
                return Ok(at);
            }
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(offset).ok_or(Errno::EINVAL)?;
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        if max.is_some_and(|m| new as u64 > m) {
            return Err(Errno::EINVAL);
        }
        *pos = new as u64;
        Ok(new as u64)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.inode.stat())
    }

    fn getdents64(&self, buf: &mut [u8]) -> Result<usize> {
        self.path_only()?;
        if !self.inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let mut pos = self.pos.lock();
        let (n, next) = self.inode.read_dir(*pos, buf)?;
        *pos = next;
        drop(pos);
        // iterate_dir: fsnotify_access at every call, the end included
        self.inode.fsnotify_file(ACCESS);
        Ok(n)
    }

    fn ioctl(&self, _cmd: u32, _arg: usize) -> Result<isize> {
        self.path_only()?;
        Err(Errno::ENOTTY)
    }

    fn truncate(&self, len: u64) -> Result<()> {
        self.path_only()?;
        if !self.writable() || !matches!(self.inode.file_type(), FileType::Regular) {
            return Err(Errno::EINVAL);
        }
        self.inode.set_size(len)?;
        self.inode.fsnotify_file(MODIFY);
        Ok(())
    }

    fn poll(&self) -> u32 {
        match self.node.as_ref().and_then(|n| n.poll(true)) {
            Some(mask) => mask,
            None => POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM,
        }
    }

    fn poll_peek(&self) -> u32 {
        match self.node.as_ref().and_then(|n| n.poll(false)) {
            Some(mask) => mask,
            None => POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM,
        }
    }

    fn event_count(&self) -> u64 {
        self.node.as_ref().map_or(0, |n| n.event_count())
    }

    fn wait_queue(&self) -> Option<Arc<dyn WaitQueue>> {
        self.node.as_ref().and_then(|n| n.wait_queue())
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn owner(&self) -> &crate::FileOwner {
        &self.owner
    }

    fn set_status_flags(&self, flags: u32) {
        if self.flags.load(Ordering::Relaxed) & O_PATH != 0 {
            return;
        }
        set_status_bits(&self.flags, flags);
    }

    fn inode(&self) -> Option<&Arc<Inode>> {
        Some(&self.inode)
    }

    fn mount(&self) -> Option<&Arc<crate::Mount>> {
        self.mnt.as_ref()
    }

    fn opened_path(&self) -> Option<Arc<[u8]>> {
        self.opened_path.lock().clone()
    }

    fn set_opened_path(&self, path: Arc<[u8]>) {
        *self.opened_path.lock() = Some(path);
    }

    /// Regular files of a disk filesystem (Linux's ext2/ext4 have direct
    /// I/O; its tmpfs has none before 6.6).
    fn direct_io(&self) -> bool {
        matches!(self.inode.file_type(), FileType::Regular) && self.inode.backing().is_some()
    }
}
