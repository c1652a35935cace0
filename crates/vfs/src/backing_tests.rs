//! The VFS over a backing store: crates/ext2 on a RAM disk, and the
//! fault-injecting wrapper of crate::testing.

extern crate std;

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use std::format;
use std::sync::Mutex as StdMutex;

use ext2::testing::{MemDisk, mkfs_image};
use ext2::{BlockDevice, Ext2, MountOptions};
use linux_abi::Errno;

use crate::testing::FailingBacking;
use crate::*;

/// A RAM disk the test keeps a handle on after the VFS is done with it.
#[derive(Clone)]
struct Shared(Arc<StdMutex<MemDisk>>);

impl BlockDevice for Shared {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> ext2::Result<()> {
        self.0.lock().unwrap().read(sector, buf)
    }
    fn write(&mut self, sector: u64, buf: &[u8]) -> ext2::Result<()> {
        self.0.lock().unwrap().write(sector, buf)
    }
    fn flush(&mut self) -> ext2::Result<()> {
        self.0.lock().unwrap().flush()
    }
    fn sectors(&self) -> u64 {
        self.0.lock().unwrap().sectors()
    }
    fn read_only(&self) -> bool {
        self.0.lock().unwrap().read_only
    }
}

fn clock() -> u32 {
    1_700_000_000
}

fn opts() -> MountOptions {
    MountOptions::new(false, clock)
}

fn disk(bs: usize, blocks: u32, inodes: u32) -> Shared {
    Shared(Arc::new(StdMutex::new(MemDisk::new(mkfs_image(bs, blocks, inodes)))))
}

fn vclock() -> Arc<dyn Clock> {
    Arc::new(FixedClock(Timespec::new(1_700_000_100, 5)))
}

fn mount_vfs(d: &Shared) -> Arc<Inode> {
    let fs = Ext2::mount(ext2::CachedDisk::new(d.clone(), 1024, 64), opts()).unwrap();
    new_backed(makedev(254, 0), vclock(), Box::new(Ext2Backing::new(fs)), Arc::new(HeapPages::new())).unwrap()
}

fn open_file(ctx: &Ctx, root: &Arc<Inode>, path: &[u8], flags: u32) -> linux_abi::Result<Arc<dyn File>> {
    match ctx.open(root, path, flags, 0o644)? {
        Opened::File(f) => Ok(f),
        _ => panic!("not a file"),
    }
}

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(u32::from(seed)) as u8).collect()
}

#[test]
fn namespace_and_content_reach_the_disk() {
    let d = disk(1024, 4096, 256);
    let root = mount_vfs(&d);
    assert!(root.is_backed());
    assert_eq!(root.ino(), 2);
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred).with_umask(0o022);
    ctx.mkdir(&root, b"/dir", 0o777).unwrap();
    assert_eq!(ctx.stat(&root, b"/dir", 0).unwrap().mode, S_IFDIR | 0o755);
    assert_eq!(ctx.stat(&root, b"/", 0).unwrap().nlink, 4, "lost+found, dir");
    let f = open_file(&ctx, &root, b"/dir/a", O_CREAT | O_RDWR).unwrap();
    let data = pattern(300_000, 3);
    assert_eq!(f.write(&data).unwrap(), data.len());
    let st = f.stat().unwrap();
    assert_eq!(st.size, 300_000);
    assert_eq!(st.blksize, 1024);
    assert!(st.blocks >= 300_000 / 512, "{}", st.blocks);
    assert_eq!(st.mtime, Timespec::new(1_700_000_000, 0), "the store's clock and granularity");
    let mut back = vec![0u8; 300_000];
    assert_eq!(f.pread(&mut back, 0).unwrap(), 300_000);
    assert_eq!(back, data);
    // a hole far out
    assert_eq!(f.pwrite(b"end", 5 << 20).unwrap(), 3);
    let mut z = [1u8; 16];
    assert_eq!(f.pread(&mut z, 4 << 20).unwrap(), 16);
    assert_eq!(z, [0u8; 16]);
    drop(f);
    ctx.symlink(b"dir/a", &root, b"/ln").unwrap();
    ctx.link(&root, b"/dir/a", &root, b"/hard", 0).unwrap();
    assert_eq!(ctx.stat(&root, b"/hard", 0).unwrap().nlink, 2);
    assert_eq!(ctx.stat(&root, b"/ln", 0).unwrap().ino, ctx.stat(&root, b"/hard", 0).unwrap().ino);
    ctx.rename(&root, b"/hard", &root, b"/dir/b", 0).unwrap();
    // RENAME_EXCHANGE across directories (ext4 serves ext2 mounts on Linux
    // and swaps), then back
    let (file, link) = (
        ctx.stat(&root, b"/dir/b", 0).unwrap().ino,
        ctx.stat(&root, b"/ln", AT_SYMLINK_NOFOLLOW).unwrap().ino,
    );
    ctx.rename(&root, b"/dir/b", &root, b"/ln", RENAME_EXCHANGE).unwrap();
    assert_eq!(ctx.stat(&root, b"/ln", AT_SYMLINK_NOFOLLOW).unwrap().ino, file);
    assert_eq!(ctx.stat(&root, b"/dir/b", AT_SYMLINK_NOFOLLOW).unwrap().ino, link);
    ctx.rename(&root, b"/dir/b", &root, b"/ln", RENAME_EXCHANGE).unwrap();
    assert_eq!(ctx.stat(&root, b"/dir/b", AT_SYMLINK_NOFOLLOW).unwrap().ino, file);
    assert_eq!(ctx.rename(&root, b"/dir/b", &root, b"/none", RENAME_EXCHANGE).unwrap_err(), Errno::ENOENT);
    ctx.chmod(&root, b"/dir/b", 0o600, 0).unwrap();
    ctx.chown(&root, b"/dir/b", Some(1000), Some(100), 0).unwrap();
    ctx.utimens(&root, b"/dir/b", Some([Timespec::new(5, 0), Timespec::new(7, 0)]), 0).unwrap();
    let st = ctx.stat(&root, b"/dir/a", 0).unwrap();
    assert_eq!((st.mode, st.uid, st.gid, st.atime.sec, st.mtime.sec), (S_IFREG | 0o600, 1000, 100, 5, 7));
    ctx.mkdir(&root, b"/gone", 0o755).unwrap();
    ctx.rmdir(&root, b"/gone").unwrap();
    ctx.mknod(&root, b"/dev", S_IFCHR | 0o600, makedev(4, 5)).unwrap();
    ctx.mknod(&root, b"/fifo", S_IFIFO | 0o600, 0).unwrap();
    ctx.truncate(&root, b"/dir/a", 1000).unwrap();
    root.sync_fs().unwrap();
    root.unmount_store().unwrap();
    drop(ctx);
    drop(root);

    // what a fresh mount of the image finds
    let mut fs = Ext2::mount(d.clone(), opts()).unwrap();
    let r = fs.root();
    let dir = fs.lookup(r, b"dir").unwrap();
    let a = fs.lookup(dir, b"a").unwrap();
    assert_eq!(fs.lookup(dir, b"b").unwrap(), a);
    let st = fs.stat(a).unwrap();
    assert_eq!(
        (st.size, st.nlink, st.mode, st.uid, st.gid, st.mtime),
        (1000, 2, 0o100600, 1000, 100, 1_700_000_000),
        "truncate moved mtime"
    );
    let mut buf = vec![0u8; 1000];
    assert_eq!(fs.read(a, 0, &mut buf).unwrap(), 1000);
    assert_eq!(buf, data[..1000]);
    let ln = fs.lookup(r, b"ln").unwrap();
    assert_eq!(fs.readlink(ln).unwrap(), b"dir/a");
    assert_eq!(fs.lookup(r, b"gone").unwrap_err(), Errno::ENOENT);
    let dev = fs.lookup(r, b"dev").unwrap();
    assert_eq!(fs.stat(dev).unwrap().rdev, (4, 5));
    assert_eq!(fs.lookup(r, b"hard").unwrap_err(), Errno::ENOENT);
    fs.unmount().unwrap();
}

#[test]
fn directories_are_read_from_the_disk() {
    let d = disk(1024, 4096, 512);
    {
        let mut fs = Ext2::mount(d.clone(), opts()).unwrap();
        let r = fs.root();
        let sub = fs.mkdir(r, b"sub", 0o750, 7, 8).unwrap();
        for i in 0..300u32 {
            let ino = fs.create(sub, format!("f{i}").as_bytes(), 0o100640, 7, 8, None).unwrap();
            fs.write(ino, 0, format!("file {i}").as_bytes()).unwrap();
        }
        let f0 = fs.lookup(sub, b"f0").unwrap();
        fs.link(f0, r, b"twin").unwrap();
        fs.unmount().unwrap();
    }
    let root = mount_vfs(&d);
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    let sub = ctx.lookup(&root, b"/sub", true).unwrap();
    assert_eq!(sub.dir_len().unwrap(), 300);
    // a directory's size is its blocks' bytes, as ext2 (and Linux) say:
    // the root's one block, sub's 302 entries of 12 bytes, 85 a block
    assert_eq!(ctx.stat(&root, b"/", 0).unwrap().size, 1024);
    assert_eq!(ctx.stat(&root, b"/sub", 0).unwrap().size, 4096);
    let st = ctx.stat(&root, b"/sub/f17", 0).unwrap();
    assert_eq!((st.mode, st.uid, st.gid, st.size), (S_IFREG | 0o640, 7, 8, 7));
    // hard links share one inode in memory
    let a = ctx.lookup(&root, b"/sub/f0", true).unwrap();
    let b = ctx.lookup(&root, b"/twin", true).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    // getdents lists every name once
    let mut names = Vec::new();
    let mut pos = 0;
    loop {
        let mut buf = vec![0u8; 4096];
        let (n, next) = sub.read_dir(pos, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        let mut off = 0;
        while off < n {
            let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
            let name: Vec<u8> = buf[off + 19..off + reclen].iter().copied().take_while(|&c| c != 0).collect();
            names.push(name);
            off += reclen;
        }
        pos = next;
    }
    assert_eq!(names.len(), 302);
    // rmdir of a directory never looked into reads it first
    assert_eq!(ctx.rmdir(&root, b"/sub").unwrap_err(), Errno::ENOTEMPTY);
}

#[test]
fn the_stores_errno_wins() {
    // a full disk: ENOSPC from ext2, after a short write
    let d = disk(1024, 400, 64);
    let root = mount_vfs(&d);
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    let before = root.statfs();
    assert_eq!(before.fs_type, 0xEF53);
    assert_eq!(before.bsize, 1024);
    let f = open_file(&ctx, &root, b"/big", O_CREAT | O_RDWR).unwrap();
    let chunk = vec![7u8; 64 * 1024];
    let mut total = 0u64;
    let err = loop {
        match f.write(&chunk) {
            Ok(n) => total += n as u64,
            Err(e) => break e,
        }
    };
    assert_eq!(err, Errno::ENOSPC);
    assert!(total > 100 * 1024, "{total}");
    assert_eq!(f.stat().unwrap().size as u64, total);
    assert_eq!(root.statfs().bfree, 0);
    // out of inodes: ENOSPC from the store's create
    drop(f);
    ctx.unlink(&root, b"/big").unwrap();
    assert_eq!(root.statfs().bfree, before.bfree, "blocks back after the last reference went");
    let mut made = 0;
    let e = loop {
        match ctx.mknod(&root, format!("/n{made}").as_bytes(), S_IFREG | 0o644, 0) {
            Ok(_) => made += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(e, Errno::ENOSPC);
    assert_eq!(root.statfs().ffree, 0);
    assert_eq!(root.dir_len().unwrap(), made + 1);

    // an injected EIO: nothing enters the cache
    let d = disk(1024, 2048, 128);
    let fs = Ext2::mount(d.clone(), opts()).unwrap();
    let (store, faults, calls) = FailingBacking::new(Ext2Backing::new(fs));
    let root = new_backed(makedev(254, 1), vclock(), Box::new(store), Arc::new(HeapPages::new())).unwrap();
    let ctx = Ctx::new(root.clone(), &cred);
    faults.lock().insert("create", Errno::EIO);
    assert_eq!(ctx.open(&root, b"/x", O_CREAT | O_RDWR, 0o644).unwrap_err(), Errno::EIO);
    assert_eq!(ctx.stat(&root, b"/x", 0).unwrap_err(), Errno::ENOENT);
    faults.lock().clear();
    let f = open_file(&ctx, &root, b"/x", O_CREAT | O_RDWR).unwrap();
    faults.lock().insert("write", Errno::EFBIG);
    assert_eq!(f.write(b"abc").unwrap_err(), Errno::EFBIG);
    faults.lock().insert("setattr", Errno::EIO);
    assert_eq!(ctx.chmod(&root, b"/x", 0o600, 0).unwrap_err(), Errno::EIO);
    assert_eq!(ctx.stat(&root, b"/x", 0).unwrap().mode, S_IFREG | 0o644, "the store's mode is kept");
    faults.lock().insert("unlink", Errno::EIO);
    assert_eq!(ctx.unlink(&root, b"/x").unwrap_err(), Errno::EIO);
    assert!(ctx.stat(&root, b"/x", 0).is_ok());
    faults.lock().clear();
    assert!(*calls.lock().get("pin").unwrap() >= 2);
}

#[test]
fn unlinked_open_files_live_until_closed() {
    let d = disk(1024, 2048, 128);
    let root = mount_vfs(&d);
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    let free0 = root.statfs().bfree;
    let f = open_file(&ctx, &root, b"/tmpf", O_CREAT | O_RDWR).unwrap();
    f.write(&vec![1u8; 100 * 1024]).unwrap();
    ctx.unlink(&root, b"/tmpf").unwrap();
    assert_eq!(f.stat().unwrap().nlink, 0);
    assert!(root.statfs().bfree < free0 - 99);
    let mut b = [0u8; 4];
    assert_eq!(f.pread(&mut b, 50_000).unwrap(), 4);
    assert_eq!(b, [1; 4]);
    drop(f);
    assert_eq!(root.statfs().bfree, free0);
}

#[test]
fn mapped_pages_are_written_back_on_sync() {
    let d = disk(1024, 2048, 128);
    let root = mount_vfs(&d);
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    let f = open_file(&ctx, &root, b"/m", O_CREAT | O_RDWR).unwrap();
    f.write(&pattern(6000, 1)).unwrap();
    let inode = f.inode().unwrap().clone();
    let page = inode.map_page(1).unwrap();
    // the page holds the file's bytes 4096..6000
    let mut b = [0u8; 8];
    root.sb.mem.read(page, 0, &mut b);
    assert_eq!(b, pattern(6000, 1)[4096..4104]);
    // a store through a shared writable mapping, seen by read and
    // written by fsync
    inode.note_shared_write_map();
    root.sb.mem.write(page, 0, b"MAPPED!!");
    let mut r = [0u8; 8];
    f.pread(&mut r, 4096).unwrap();
    assert_eq!(&r, b"MAPPED!!");
    inode.fsync().unwrap();
    root.sb.mem.release(page);
    drop(f);
    drop(inode);
    root.unmount_store().unwrap();
    let mut fs = Ext2::mount(d.clone(), opts()).unwrap();
    let r = fs.root();
    let ino = fs.lookup(r, b"m").unwrap();
    let mut r = [0u8; 8];
    fs.read(ino, 4096, &mut r).unwrap();
    assert_eq!(&r, b"MAPPED!!");
}

#[test]
fn periodic_flush_and_read_only() {
    let d = disk(1024, 2048, 128);
    let root = mount_vfs(&d);
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    assert!(!root.flush_if_older(2_000_000_000, 30).unwrap(), "clean");
    ctx.mkdir(&root, b"/d", 0o755).unwrap();
    // the VFS clock says 1_700_000_100
    assert!(!root.flush_if_older(1_700_000_110, 30).unwrap());
    let flushes = d.0.lock().unwrap().flushes;
    assert!(root.flush_if_older(1_700_000_131, 30).unwrap());
    assert!(d.0.lock().unwrap().flushes > flushes);
    assert!(!root.flush_if_older(1_700_000_200, 30).unwrap(), "clean again");
    root.unmount_store().unwrap();

    let fs = Ext2::mount(d.clone(), MountOptions::new(true, clock)).unwrap();
    let root =
        new_backed(makedev(254, 0), vclock(), Box::new(Ext2Backing::new(fs)), Arc::new(HeapPages::new()))
            .unwrap();
    let ctx = Ctx::new(root.clone(), &cred);
    assert!(ctx.lookup(&root, b"/d", true).unwrap().is_dir());
    assert_eq!(ctx.mkdir(&root, b"/e", 0o755).unwrap_err(), Errno::EROFS);
    assert_eq!(ctx.open(&root, b"/f", O_CREAT | O_RDWR, 0o644).unwrap_err(), Errno::EROFS);
}

#[test]
#[ignore = "a timing, run by hand: cargo test -p vfs --release -- --ignored creates_10k"]
fn creates_10k() {
    let d = Shared(Arc::new(StdMutex::new(MemDisk::new(ext2::testing::mkfs_image(4096, 1024, 10240)))));
    let fs = Ext2::mount(ext2::CachedDisk::new(d.clone(), 4096, 2048), opts()).unwrap();
    let root =
        new_backed(makedev(254, 0), vclock(), Box::new(Ext2Backing::new(fs)), Arc::new(HeapPages::new()))
            .unwrap();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/many", 0o755).unwrap();
    let t = std::time::Instant::now();
    for i in 0..10_000 {
        open_file(&ctx, &root, format!("/many/f{i:05}").as_bytes(), O_CREAT | O_WRONLY).unwrap();
    }
    std::println!("10,000 creates: {:?}", t.elapsed());
}

#[test]
#[ignore = "a timing, run by hand"]
fn creates_10k_ext2_only() {
    let d = Shared(Arc::new(StdMutex::new(MemDisk::new(ext2::testing::mkfs_image(4096, 1024, 10240)))));
    let mut fs = Ext2::mount(ext2::CachedDisk::new(d.clone(), 4096, 2048), opts()).unwrap();
    let r = fs.root();
    let dir = fs.mkdir(r, b"many", 0o755, 0, 0).unwrap();
    let t = std::time::Instant::now();
    for i in 0..10_000 {
        fs.create(dir, format!("f{i:05}").as_bytes(), 0o100644, 0, 0, None).unwrap();
    }
    std::println!("10,000 ext2 creates: {:?}", t.elapsed());
}

#[test]
fn lseek_stops_at_the_stores_max_file_size() {
    let d = disk(1024, 2048, 128);
    let root = mount_vfs(&d);
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    let f = open_file(&ctx, &root, b"/f", O_CREAT | O_RDWR).unwrap();
    // 1 KiB blocks: 12 direct, 256, 256^2 and 256^3 indirect blocks
    let max = (12u64 + 256 + 65536 + 16_777_216) * 1024;
    assert_eq!(f.lseek(max as i64, SEEK_SET), Ok(max));
    assert_eq!(f.lseek(1, SEEK_CUR), Err(Errno::EINVAL));
    assert_eq!(f.lseek(i64::MAX, SEEK_SET), Err(Errno::EINVAL));
    assert_eq!(f.lseek(0, SEEK_CUR), Ok(max));
    // a directory is not limited by the file size
    let dir = open_file(&ctx, &root, b"/", O_RDONLY).unwrap();
    assert_eq!(dir.lseek(i64::MAX, SEEK_SET), Ok(i64::MAX as u64));
}

/// An ext2 clock that ticks a second per reading: any write stamps a new
/// mtime.
fn ticking() -> u32 {
    static T: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(1_700_000_000);
    T.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
}

fn mount_ticking(d: &Shared) -> Arc<Inode> {
    let fs =
        Ext2::mount(ext2::CachedDisk::new(d.clone(), 1024, 64), MountOptions::new(false, ticking)).unwrap();
    new_backed(makedev(254, 0), vclock(), Box::new(Ext2Backing::new(fs)), Arc::new(HeapPages::new())).unwrap()
}

#[test]
fn sync_writes_back_only_pages_that_changed() {
    let d = disk(1024, 2048, 128);
    let root = mount_ticking(&d);
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    let f = open_file(&ctx, &root, b"/prog", O_CREAT | O_RDWR).unwrap();
    f.write(&pattern(9000, 3)).unwrap();
    drop(f);
    root.sync_fs().unwrap();
    let inode = ctx.lookup(&root, b"/prog", true).unwrap();
    let mtime = inode.stat().mtime;
    // a program run from the disk: its pages mapped (privately), read
    let pages: Vec<PageId> = (0..3).map(|i| inode.map_page(i).unwrap()).collect();
    root.sync_fs().unwrap();
    inode.fsync().unwrap();
    assert_eq!(inode.stat().mtime, mtime, "a sync wrote a program that only ran");
    // mapped shared and writable, but nothing changed: still nothing written
    inode.note_shared_write_map();
    root.sync_fs().unwrap();
    assert_eq!(inode.stat().mtime, mtime);
    // one page written through the mapping: written back, the times move
    root.sb.mem.write(pages[2], 10, b"CHANGED");
    root.sync_fs().unwrap();
    inode.reload();
    assert_ne!(inode.stat().mtime, mtime);
    assert_eq!(inode.size(), 9000, "the last page was not written past the end");
    let mtime = inode.stat().mtime;
    root.sync_fs().unwrap();
    inode.reload();
    assert_eq!(inode.stat().mtime, mtime, "written once, equal since");
    for p in pages {
        root.sb.mem.release(p);
    }
    drop(inode);
    root.unmount_store().unwrap();
    let mut fs = Ext2::mount(d.clone(), opts()).unwrap();
    let r = fs.root();
    let ino = fs.lookup(r, b"prog").unwrap();
    let mut b = [0u8; 7];
    fs.read(ino, 8192 + 10, &mut b).unwrap();
    assert_eq!(&b, b"CHANGED");
    assert_eq!(fs.stat(ino).unwrap().size, 9000);
}

#[test]
fn write_back_skips_pages_a_truncate_dropped() {
    let d = disk(1024, 2048, 128);
    let root = mount_ticking(&d);
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    let f = open_file(&ctx, &root, b"/m", O_CREAT | O_RDWR).unwrap();
    f.write(&pattern(8192, 5)).unwrap();
    let inode = f.inode().unwrap().clone();
    inode.note_shared_write_map();
    // a mapping keeps its reference to page 1 after the truncate dropped it
    let page = inode.map_page(1).unwrap();
    f.truncate(100).unwrap();
    root.sb.mem.write(page, 0, b"STALE");
    inode.fsync().unwrap();
    assert_eq!(inode.size(), 100, "the old page re-extended the file");
    // grown again: the dropped page's bytes do not come back
    f.truncate(8192).unwrap();
    inode.fsync().unwrap();
    let mut b = [0u8; 5];
    f.pread(&mut b, 4096).unwrap();
    assert_eq!(b, [0; 5]);
    root.sb.mem.release(page);
    drop((f, inode));
    root.unmount_store().unwrap();
    let mut fs = Ext2::mount(d.clone(), opts()).unwrap();
    let r = fs.root();
    let ino = fs.lookup(r, b"m").unwrap();
    fs.read(ino, 4096, &mut b).unwrap();
    assert_eq!(b, [0; 5]);
}

#[test]
fn writes_keep_the_cached_page_and_the_store_equal() {
    let d = disk(1024, 2048, 128);
    let root = mount_ticking(&d);
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    let f = open_file(&ctx, &root, b"/w", O_CREAT | O_RDWR).unwrap();
    f.write(&pattern(5000, 7)).unwrap();
    let inode = f.inode().unwrap().clone();
    let page = inode.map_page(0).unwrap();
    f.pwrite(b"abc", 4094).unwrap();
    let mut b = [0u8; 2];
    root.sb.mem.read(page, 4094, &mut b);
    assert_eq!(&b, b"ab");
    let mut r = [0u8; 5];
    f.pread(&mut r, 4093).unwrap();
    assert_eq!(&r[1..4], b"abc");
    // equal: a sync of a shared writable file writes nothing
    inode.note_shared_write_map();
    inode.reload();
    let mtime = inode.stat().mtime;
    root.sync_fs().unwrap();
    inode.reload();
    assert_eq!(inode.stat().mtime, mtime);
    root.sb.mem.release(page);
}

#[test]
fn the_inode_table_forgets_dropped_inodes() {
    let d = disk(1024, 2048, 128);
    let root = mount_vfs(&d);
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    let table_len = || root.sb.backing.as_ref().unwrap().inodes.lock().len();
    ctx.mkdir(&root, b"/d", 0o755).unwrap();
    let base = table_len();
    for i in 0..40 {
        let name = format!("/d/f{i}");
        drop(open_file(&ctx, &root, name.as_bytes(), O_CREAT | O_RDWR).unwrap());
        ctx.unlink(&root, name.as_bytes()).unwrap();
    }
    assert_eq!(table_len(), base, "dead entries stay");
    // live ones stay, and a sync walks the table in batches past them
    let kept: Vec<_> = (0..70)
        .map(|i| open_file(&ctx, &root, format!("/d/k{i}").as_bytes(), O_CREAT | O_RDWR).unwrap())
        .collect();
    assert_eq!(table_len(), base + 70);
    for f in &kept {
        f.inode().unwrap().note_shared_write_map();
        f.write(b"x").unwrap();
    }
    root.sync_fs().unwrap();
    drop(kept);
    assert_eq!(table_len(), base + 70, "the directory /d holds its children");
    drop(root);
}
