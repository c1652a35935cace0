//! The virtio-blk disk as `/dev/vda` (block major 254, minor 0, as Linux's
//! virtio_blk numbers its first disk) and as an `ext2::BlockDevice`.
//!
//! [`init`] probes PCI once at boot; without a disk it logs one line and
//! devtmpfs has no `vda`. Byte-addressed transfers ([`read_at`],
//! [`write_at`]) split a range into a partial head sector (read, or
//! read-modify-write), the whole sectors in between (passed to the driver
//! in place, one request per `MAX_REQUEST` bytes) and a partial tail
//! sector. One task at a time owns the device ([`Owner`]) for a whole
//! transfer, which keeps up to `virtio_blk::SLOTS` requests in flight
//! (started in order, ended in order: [`transfer`]); the owner sleeps
//! until the disk's interrupt, which [`pump`] turns into a wake-up. No
//! request is in flight while nobody owns the device (a transfer ends
//! every request it started, also after an error), so a flush never
//! meets a stray completion. The device lock is taken only to start, poll
//! and end a request, never across a transfer.
//!
//! The open file ([`BlockFile`]) behaves as Linux's block device file with
//! no page cache in between (O_DIRECT-like, but any alignment): reads end
//! at the device's end, a write starting there is ENOSPC and one crossing it
//! is cut short, a write to a read-only device is EPERM (6.1's
//! blkdev_write_iter), lseek is fixed_size_llseek over the device's size,
//! fsync sends VIRTIO_BLK_T_FLUSH, and [`ioctl`] answers BLKGETSIZE64,
//! BLKGETSIZE, BLKSSZGET, BLKPBSZGET, BLKROGET and BLKFLSBUF.

use crate::sched::WaitQueue;
use crate::uthread::UThread;
use alloc::sync::Arc;
use arch_x86_64::virtio_blk::{self, BlkError, MAX_REQUEST, VirtioBlk};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use linux_abi::args::UserPtr;
use linux_abi::{Errno, Result};
use vfs::{File, Inode, Stat};

/// The block major Linux's virtio_blk registers first (dynamic, 254 on a
/// system without other dynamic block majors).
pub const VIRTBLK_MAJOR: u32 = 254;
/// Bytes of a sector.
pub const SECTOR: usize = virtio_blk::SECTOR_SIZE;

static DISK: spin::Mutex<Option<VirtioBlk>> = spin::Mutex::new(None);
static PRESENT: AtomicBool = AtomicBool::new(false);
static SECTORS: AtomicU64 = AtomicU64::new(0);
static READ_ONLY: AtomicBool = AtomicBool::new(false);

/// Probes PCI for a virtio-blk device (once, at boot).
pub fn init() {
    match virtio_blk::probe() {
        Ok(d) => {
            log::info!("blk: {d}");
            SECTORS.store(d.sectors(), Ordering::Relaxed);
            READ_ONLY.store(d.read_only(), Ordering::Relaxed);
            let (bus, dev, func, virtio) = d.location();
            *SYSFS_PATH.lock() = alloc::format!(
                "devices/pci0000:{bus:02x}/0000:{bus:02x}:{dev:02x}.{func:x}/virtio{virtio}/block/vda"
            );
            *DISK.lock() = Some(d);
            PRESENT.store(true, Ordering::Relaxed);
        }
        Err(virtio_blk::ProbeError::NotFound) => log::info!("blk: no disk (no virtio-blk device on PCI)"),
        Err(e) => log::warn!("blk: virtio-blk not usable: {e:?}"),
    }
}

/// The disk's directory under /sys (`devices/pci0000:00/0000:00:03.0/
/// virtio0/block/vda`, as Linux names it), empty without a disk.
static SYSFS_PATH: spin::Mutex<alloc::string::String> = spin::Mutex::new(alloc::string::String::new());

/// The disk's directory under /sys, from /sys (empty without a disk).
pub fn sysfs_path() -> alloc::string::String {
    SYSFS_PATH.lock().clone()
}

/// Whether the machine has a disk.
pub fn present() -> bool {
    PRESENT.load(Ordering::Relaxed)
}

/// The disk's size in bytes (0 without one).
pub fn size() -> u64 {
    SECTORS.load(Ordering::Relaxed) * SECTOR as u64
}

/// Whether the disk refuses writes.
pub fn read_only() -> bool {
    READ_ONLY.load(Ordering::Relaxed)
}

fn errno(e: BlkError) -> Errno {
    match e {
        BlkError::Io => Errno::EIO,
        BlkError::ReadOnly => Errno::EPERM,
        BlkError::Range => Errno::EINVAL,
    }
}

/// Set while a task owns the device (one request in flight at a time).
static OWNED: AtomicBool = AtomicBool::new(false);
/// Tasks waiting to own the device.
static OWNER_QUEUE: WaitQueue = WaitQueue::new();
/// The owner waiting for its request, woken by [`pump`].
static DONE_QUEUE: WaitQueue = WaitQueue::new();

/// Ownership of the device, given back (and the next waiter woken) on drop.
struct Owner;

impl Owner {
    /// Sleeps until the device is free; the boot thread (the scheduler's
    /// idle task, which may not block: the in-kernel tests, the sync at
    /// power-off) runs other tasks until it is (`sched::idle_wait`).
    fn acquire() -> Owner {
        let take = || OWNED.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok();
        if crate::sched::in_idle() {
            crate::sched::idle_wait(take);
        } else {
            OWNER_QUEUE.wait_until(take, None);
        }
        Owner
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        OWNED.store(false, Ordering::Release);
        OWNER_QUEUE.wake_all();
    }
}

/// Wakes the task waiting for its request when the disk interrupted since
/// the last call (the scheduler calls this where it calls nic::pump).
pub fn pump() {
    if virtio_blk::take_irq() {
        DONE_QUEUE.wake_all();
    }
}

/// Requests `0..count` in order as one owner, up to the device's slot
/// count in flight: `start(disk, slot, k)` starts request `k` in `slot`;
/// once the device is done with it (a sleep until the interrupt says so,
/// a spin in the boot thread), `end(disk, slot, k)` ends it (a read's data
/// copied out). The first error is returned after every started request
/// ended.
fn transfer(
    count: usize,
    mut start: impl FnMut(&mut VirtioBlk, usize, usize) -> core::result::Result<(), BlkError>,
    mut end: impl FnMut(&mut VirtioBlk, usize, usize) -> core::result::Result<(), BlkError>,
) -> Result<()> {
    let _owner = Owner::acquire();
    // (slot, request) in the order started
    let mut flight = [(0usize, 0usize); virtio_blk::SLOTS];
    let (mut head, mut len) = (0, 0);
    let mut next = 0;
    let mut result = Ok(());
    loop {
        while next < count && result.is_ok() && len < flight.len() {
            let mut g = DISK.lock();
            let Some(d) = g.as_mut() else {
                result = Err(Errno::ENXIO);
                break;
            };
            let Some(slot) = d.free_slot() else {
                if len == 0 {
                    result = Err(Errno::EIO); // no slot left: the queue broke
                }
                break;
            };
            match start(d, slot, next) {
                Ok(()) => {
                    flight[(head + len) % flight.len()] = (slot, next);
                    len += 1;
                    next += 1;
                }
                Err(e) => result = Err(errno(e)),
            }
        }
        if len == 0 {
            break;
        }
        let (slot, k) = flight[head];
        head = (head + 1) % flight.len();
        len -= 1;
        let done = || DISK.lock().as_mut().is_none_or(|d| d.poll(slot));
        if crate::sched::in_idle() {
            crate::sched::idle_wait(done);
        } else {
            DONE_QUEUE.wait_until(done, None);
        }
        let r = match DISK.lock().as_mut() {
            Some(d) => end(d, slot, k).map_err(errno),
            None => Err(Errno::ENXIO),
        };
        if result.is_ok() {
            result = r;
        }
    }
    result
}

/// Whole sectors from `sector` into `buf` (a multiple of 512 bytes), one
/// request per `MAX_REQUEST` bytes, several in flight.
pub fn read_sectors(sector: u64, buf: &mut [u8]) -> Result<()> {
    let n = buf.len();
    let count = n.div_ceil(MAX_REQUEST);
    let piece = |k: usize| k * MAX_REQUEST..((k + 1) * MAX_REQUEST).min(n);
    transfer(
        count,
        |d, slot, k| d.start_read(slot, sector + (k * MAX_REQUEST / SECTOR) as u64, piece(k).len()),
        |d, slot, k| d.finish(slot, &mut buf[piece(k)]),
    )
}

/// Whole sectors from `buf` at `sector`, as [`read_sectors`].
pub fn write_sectors(sector: u64, buf: &[u8]) -> Result<()> {
    write_runs(&[(sector, buf)], &mut [false])
}

/// Several runs of whole sectors, each `(sector, bytes)`, written with
/// up to the device's slot count of requests in flight (one request per
/// `MAX_REQUEST` bytes of a run); `written[i]` set for each run whose
/// every request succeeded. After an error no more requests start.
pub fn write_runs(runs: &[(u64, &[u8])], written: &mut [bool]) -> Result<()> {
    // request k: (run, offset in it)
    let mut reqs: alloc::vec::Vec<(usize, usize)> = alloc::vec::Vec::new();
    for (r, (_, data)) in runs.iter().enumerate() {
        let mut off = 0;
        while off < data.len() {
            reqs.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            reqs.push((r, off));
            off += MAX_REQUEST;
        }
    }
    // requests of each run that succeeded
    let mut good: alloc::vec::Vec<usize> = alloc::vec::Vec::new();
    good.try_reserve_exact(runs.len()).map_err(|_| Errno::ENOMEM)?;
    good.resize(runs.len(), 0);
    let result = transfer(
        reqs.len(),
        |d, slot, k| {
            let (r, off) = reqs[k];
            let (s, data) = runs[r];
            let end = (off + MAX_REQUEST).min(data.len());
            d.start_write(slot, s + (off / SECTOR) as u64, &data[off..end])
        },
        |d, slot, k| {
            d.finish(slot, &mut [])?;
            good[reqs[k].0] += 1;
            Ok(())
        },
    );
    for (r, (_, data)) in runs.iter().enumerate() {
        if let Some(w) = written.get_mut(r) {
            *w = good[r] == data.len().div_ceil(MAX_REQUEST);
        }
    }
    result
}

/// VIRTIO_BLK_T_FLUSH (when the device offers it; a short request, waited
/// for by polling).
pub fn flush() -> Result<()> {
    let _owner = Owner::acquire();
    DISK.lock().as_mut().ok_or(Errno::ENXIO)?.flush().map_err(errno)
}

/// Reads up to `buf.len()` bytes at byte offset `off`, ending at the
/// device's end; the count read.
pub fn read_at(off: u64, buf: &mut [u8]) -> Result<usize> {
    let size = size();
    if off >= size || buf.is_empty() {
        return Ok(0);
    }
    let len = buf.len().min((size - off) as usize);
    let buf = &mut buf[..len];
    let mut done = 0;
    // the partial head sector
    let head = (off % SECTOR as u64) as usize;
    if head != 0 {
        let mut sec = [0u8; SECTOR];
        read_sectors(off / SECTOR as u64, &mut sec)?;
        let n = (SECTOR - head).min(len);
        buf[..n].copy_from_slice(&sec[head..head + n]);
        done = n;
    }
    // whole sectors, in place
    let whole = (len - done) / SECTOR * SECTOR;
    if whole > 0 {
        read_sectors((off + done as u64) / SECTOR as u64, &mut buf[done..done + whole])?;
        done += whole;
    }
    // the partial tail sector
    if done < len {
        let mut sec = [0u8; SECTOR];
        read_sectors((off + done as u64) / SECTOR as u64, &mut sec)?;
        let n = len - done;
        buf[done..].copy_from_slice(&sec[..n]);
        done = len;
    }
    Ok(done)
}

/// Writes `buf` at byte offset `off` (partial sectors read, changed and
/// written back); ENOSPC at or past the end, cut short across it; EPERM on
/// a read-only disk.
pub fn write_at(off: u64, buf: &[u8]) -> Result<usize> {
    if read_only() {
        return Err(Errno::EPERM);
    }
    if buf.is_empty() {
        return Ok(0);
    }
    let size = size();
    if off >= size {
        return Err(Errno::ENOSPC);
    }
    let len = buf.len().min((size - off) as usize);
    let buf = &buf[..len];
    let mut done = 0;
    let head = (off % SECTOR as u64) as usize;
    if head != 0 {
        let s = off / SECTOR as u64;
        let mut sec = [0u8; SECTOR];
        read_sectors(s, &mut sec)?;
        let n = (SECTOR - head).min(len);
        sec[head..head + n].copy_from_slice(&buf[..n]);
        write_sectors(s, &sec)?;
        done = n;
    }
    let whole = (len - done) / SECTOR * SECTOR;
    if whole > 0 {
        write_sectors((off + done as u64) / SECTOR as u64, &buf[done..done + whole])?;
        done += whole;
    }
    if done < len {
        let s = (off + done as u64) / SECTOR as u64;
        let mut sec = [0u8; SECTOR];
        read_sectors(s, &mut sec)?;
        let n = len - done;
        sec[..n].copy_from_slice(&buf[done..]);
        write_sectors(s, &sec)?;
        done = len;
    }
    Ok(done)
}

/// An open `/dev/vda`.
pub struct BlockFile {
    inode: Arc<Inode>,
    flags: AtomicU32,
    pos: AtomicU64,
}

/// Opens the disk behind `(254, 0)`; ENXIO without one.
pub fn open(inode: Arc<Inode>, minor: u32, flags: u32) -> Result<Arc<dyn File>> {
    if minor != 0 || !present() {
        return Err(Errno::ENXIO);
    }
    Ok(Arc::new(BlockFile { inode, flags: AtomicU32::new(flags), pos: AtomicU64::new(0) }))
}

impl BlockFile {
    fn readable(&self) -> Result<()> {
        if self.flags.load(Ordering::Relaxed) & vfs::O_ACCMODE == vfs::O_WRONLY {
            Err(Errno::EBADF)
        } else {
            Ok(())
        }
    }
    fn writable(&self) -> Result<()> {
        if self.flags.load(Ordering::Relaxed) & vfs::O_ACCMODE == vfs::O_RDONLY {
            Err(Errno::EBADF)
        } else {
            Ok(())
        }
    }
}

const SEEK_SET: u32 = 0;
const SEEK_CUR: u32 = 1;
const SEEK_END: u32 = 2;

impl File for BlockFile {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.readable()?;
        let pos = self.pos.load(Ordering::Relaxed);
        let n = read_at(pos, buf)?;
        self.pos.store(pos + n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        self.writable()?;
        let pos = self.pos.load(Ordering::Relaxed);
        let n = write_at(pos, buf)?;
        self.pos.store(pos + n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn pread(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.readable()?;
        read_at(offset, buf)
    }

    fn pwrite(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.writable()?;
        write_at(offset, buf)
    }

    /// fixed_size_llseek(file, offset, whence, size): SEEK_SET, SEEK_CUR
    /// and SEEK_END only; SEEK_DATA and SEEK_HOLE are EINVAL on a block
    /// device
    fn lseek(&self, offset: i64, whence: u32) -> Result<u64> {
        let eof = size() as i64;
        let new = match whence {
            SEEK_SET => offset,
            SEEK_CUR => {
                let cur = self.pos.load(Ordering::Relaxed) as i64;
                if offset == 0 {
                    return Ok(cur as u64);
                }
                cur.checked_add(offset).ok_or(Errno::EINVAL)?
            }
            SEEK_END => eof.checked_add(offset).ok_or(Errno::EINVAL)?,
            _ => return Err(Errno::EINVAL),
        };
        if new < 0 || new > eof {
            return Err(Errno::EINVAL);
        }
        self.pos.store(new as u64, Ordering::Relaxed);
        Ok(new as u64)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.inode.stat())
    }

    crate::eventfd::status_flags_methods!();

    fn inode(&self) -> Option<&Arc<Inode>> {
        Some(&self.inode)
    }

    fn direct_io(&self) -> bool {
        true
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}

const BLKROGET: u32 = 0x125e;
const BLKGETSIZE: u32 = 0x1260;
const BLKFLSBUF: u32 = 0x1261;
const BLKSSZGET: u32 = 0x1268;
const BLKGETSIZE64: u32 = 0x8008_1272;
const BLKPBSZGET: u32 = 0x127b;

/// Whether `file` is an open disk.
pub fn is_block_file(file: &dyn File) -> bool {
    file.as_any().is_some_and(|a| a.is::<BlockFile>())
}

/// The disk's ioctls (None when `file` is not a disk): sizes as
/// blkdev_ioctl gives them, BLKFLSBUF as a flush (root only, EACCES
/// otherwise as blkdev_flushbuf), any other command ENOTTY.
pub fn ioctl(t: &mut UThread, file: &dyn File, cmd: u32, arg: u64) -> Option<Result<isize>> {
    if !is_block_file(file) {
        return None;
    }
    let r = match cmd {
        BLKROGET => t.write(UserPtr::<u32>::new(arg), u32::from(read_only())),
        BLKGETSIZE => t.write_slice(arg, &(size() / SECTOR as u64).to_le_bytes()),
        BLKSSZGET | BLKPBSZGET => t.write(UserPtr::<u32>::new(arg), SECTOR as u32),
        BLKGETSIZE64 => t.write_slice(arg, &size().to_le_bytes()),
        BLKFLSBUF => {
            if !crate::proc::table().with_process(t.pid, |p| p.creds().capable()).unwrap_or(false) {
                Err(Errno::EACCES)
            } else {
                flush()
            }
        }
        _ => Err(Errno::ENOTTY),
    };
    Some(r.map(|()| 0))
}

/// fsync/fdatasync of a disk: VIRTIO_BLK_T_FLUSH.
pub fn fsync(file: &dyn File) -> Option<Result<()>> {
    is_block_file(file).then(flush)
}

/// The disk as an `ext2::BlockDevice`.
pub struct Disk;

impl ext2::BlockDevice for Disk {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<()> {
        read_sectors(sector, buf)
    }
    fn write(&mut self, sector: u64, buf: &[u8]) -> Result<()> {
        if read_only() {
            return Err(Errno::EROFS);
        }
        write_sectors(sector, buf)
    }
    fn write_runs(&mut self, runs: &[(u64, &[u8])], written: &mut [bool]) -> Result<()> {
        if read_only() {
            return Err(Errno::EROFS);
        }
        write_runs(runs, written)
    }
    fn flush(&mut self) -> Result<()> {
        flush()
    }
    fn sectors(&self) -> u64 {
        SECTORS.load(Ordering::Relaxed)
    }
    fn read_only(&self) -> bool {
        read_only()
    }
}

/// The byte at offset `i` of the ktest image's `sub/big.bin`
/// (xtask's disk::pattern).
fn pattern(i: usize) -> u8 {
    ((i * 7 + i / 4096) % 251) as u8
}

arch_x86_64::ktest!(
    fn blk_ext2_image_from_host_reads_back_and_takes_a_write() {
        use alloc::vec;
        assert!(present(), "no virtio-blk disk (xtask attaches target/blk/ktest.img)");
        let opts = ext2::MountOptions::default();
        let mut fs = ext2::Ext2::mount(Disk, opts).unwrap_or_else(|e| panic!("mount: {e:?}"));
        let root = fs.root();
        let hello = fs.lookup(root, b"hello.txt").expect("hello.txt");
        let mut buf = [0u8; 64];
        let n = fs.read(hello, 0, &mut buf).expect("read hello.txt");
        assert_eq!(&buf[..n], b"hello from the host through virtio-blk\n");

        // 3 MiB through double-indirect blocks, checked byte by byte
        let sub = fs.lookup(root, b"sub").expect("sub");
        let big = fs.lookup(sub, b"big.bin").expect("big.bin");
        assert_eq!(fs.stat(big).expect("stat").size, 3 << 20);
        let (req0, irq0, t0) =
            (virtio_blk::request_count(), virtio_blk::irq_count(), arch_x86_64::time::since_boot_ns());
        let mut chunk = vec![0u8; 256 << 10];
        let mut off = 0usize;
        while off < 3 << 20 {
            let n = fs.read(big, off as u64, &mut chunk).expect("read big.bin");
            assert_eq!(n, chunk.len());
            for (j, &b) in chunk.iter().enumerate() {
                assert_eq!(b, pattern(off + j), "big.bin byte {}", off + j);
            }
            off += n;
        }
        let ms = (arch_x86_64::time::since_boot_ns() - t0) / 1_000_000;
        log::info!(
            "blk: 3 MiB read through ext2 in {ms} ms: {} requests, {} interrupts",
            virtio_blk::request_count() - req0,
            virtio_blk::irq_count() - irq0
        );

        // a file written by the guest survives an unmount and a new mount
        let data: alloc::vec::Vec<u8> = (0..100_000).map(|i| (i % 253) as u8).collect();
        let ino = fs.create(root, b"from-guest", 0o100_644, 0, 0, None).expect("create");
        assert_eq!(fs.write(ino, 0, &data).expect("write"), data.len());
        let dev = fs.unmount().expect("unmount");
        let mut fs = ext2::Ext2::mount(dev, opts).unwrap_or_else(|e| panic!("remount: {e:?}"));
        let ino = fs.lookup(fs.root(), b"from-guest").expect("from-guest after remount");
        let mut back = vec![0u8; data.len() + 10];
        assert_eq!(fs.read(ino, 0, &mut back).expect("read back"), data.len());
        assert!(back[..data.len()] == data[..]);
        let root = fs.root();
        fs.unlink(root, b"from-guest").expect("unlink");
        fs.unmount().expect("unmount again");

        // byte-addressed access as /dev/vda gives it: an unaligned range
        // across sectors reads what the file system's superblock holds
        let mut magic = [0u8; 2];
        assert_eq!(read_at(1024 + 56, &mut magic), Ok(2));
        assert_eq!(u16::from_le_bytes(magic), 0xef53);
        let mut tail = [0u8; 700];
        assert_eq!(read_at(size() - 300, &mut tail), Ok(300));
        assert_eq!(read_at(size(), &mut tail), Ok(0));
    }
);

arch_x86_64::ktest!(
    fn blk_task_reads_the_disk_in_whole_mib_requests() {
        use alloc::sync::Arc;
        use alloc::vec;
        assert!(present(), "no virtio-blk disk (xtask attaches target/blk/ktest.img)");
        // the whole 8 MiB image in one read_at from a task: 8 requests of
        // 1 MiB, each waited for on the done queue (asleep unless the
        // device finished before the task looked; interrupts taken while
        // the task runs with them masked are counted later, so their count
        // is logged, not asserted)
        // bytes read, the superblock's magic, requests, interrupts, ns
        type Outcome = (Result<usize>, u16, u64, u64, u64);
        let result: Arc<spin::Mutex<Option<Outcome>>> = Arc::new(spin::Mutex::new(None));
        let r = result.clone();
        crate::sched::spawn(902, move || {
            let (req0, irq0, t0) =
                (virtio_blk::request_count(), virtio_blk::irq_count(), arch_x86_64::time::since_boot_ns());
            let mut buf = vec![0u8; size() as usize];
            let n = read_at(0, &mut buf);
            let ns = arch_x86_64::time::since_boot_ns() - t0;
            let magic = u16::from_le_bytes([buf[1024 + 56], buf[1024 + 57]]);
            *r.lock() =
                Some((n, magic, virtio_blk::request_count() - req0, virtio_blk::irq_count() - irq0, ns));
        });
        crate::sched::idle_until(|| result.lock().is_some());
        crate::sched::yield_now();
        let (n, magic, reqs, irqs, ns) = result.lock().take().expect("no result");
        assert_eq!(n, Ok(size() as usize));
        assert_eq!(magic, 0xef53);
        assert_eq!(reqs, size().div_ceil(MAX_REQUEST as u64));
        log::info!(
            "blk: {} MiB in one read from a task: {reqs} requests, {irqs} interrupts, {} ms ({} MiB/s)",
            size() >> 20,
            ns / 1_000_000,
            (size() * 1_000_000_000 / ns.max(1)) >> 20
        );
    }
);

arch_x86_64::ktest!(
    fn blk_runs_are_written_with_several_requests_in_flight() {
        use alloc::vec;
        assert!(present(), "no virtio-blk disk (xtask attaches target/blk/ktest.img)");
        let slots = DISK.lock().as_ref().map_or(0, |d| d.slot_count());
        assert!((1..=virtio_blk::SLOTS).contains(&slots), "{slots} slots");
        // two runs read, then written back unchanged in one write_runs: 2
        // MiB (two requests) and 4 KiB, started together
        let far = (size() / SECTOR as u64) - 8;
        let mut a = vec![0u8; 2 << 20];
        let mut b = vec![0u8; 4096];
        read_sectors(0, &mut a).expect("read the head");
        read_sectors(far, &mut b).expect("read the tail");
        let req0 = virtio_blk::request_count();
        let mut written = [false; 2];
        assert_eq!(write_runs(&[(0, &a), (far, &b)], &mut written), Ok(()));
        assert_eq!(written, [true, true]);
        assert_eq!(virtio_blk::request_count() - req0, 3);
        let mut back = vec![0u8; 2 << 20];
        read_sectors(0, &mut back).expect("read back");
        assert!(back == a);
        // a run past the end: EINVAL, the run before it written, and every
        // slot free again afterwards
        let mut written = [false; 2];
        assert_eq!(write_runs(&[(far, &b), (far + 8, &b)], &mut written), Err(Errno::EINVAL));
        assert_eq!(written, [true, false]);
        assert_eq!(DISK.lock().as_ref().and_then(|d| d.free_slot()), Some(0));
        let mut again = vec![0u8; 4096];
        read_sectors(far, &mut again).expect("read after the error");
        assert!(again == b);
    }
);
