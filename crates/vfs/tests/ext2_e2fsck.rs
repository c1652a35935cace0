//! The VFS over crates/ext2 on a RAM image made by `mke2fs`: a tree
//! written through `Ctx` (thousands of names, a sparse file, links,
//! renames across directories, an unlinked open file) is `e2fsck -fn`
//! clean after sync and umount, and reads back equal on a fresh mount.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use ext2::testing::MemDisk;
use ext2::{BlockDevice, CachedDisk, Ext2, MountOptions};
use vfs::*;

#[derive(Clone)]
struct Shared(Arc<Mutex<MemDisk>>);

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
        false
    }
}

fn tool(name: &str) -> PathBuf {
    for d in std::env::var("PATH").unwrap_or_default().split(':').chain(["/usr/sbin", "/sbin"]) {
        let p = Path::new(d).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} not found: install e2fsprogs (cargo xtask test installs it)");
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vfs-ext2-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn mke2fs(bs: usize, kib: u64, tag: &str) -> Vec<u8> {
    let d = scratch(tag);
    let img = d.join("img");
    let out = Command::new(tool("mke2fs"))
        .args(["-q", "-F", "-t", "ext2", "-b", &bs.to_string(), "-N", "4096"])
        .arg(&img)
        .arg(format!("{kib}k"))
        .env("MKE2FS_CONFIG", "/etc/mke2fs.conf")
        .output()
        .unwrap();
    assert!(out.status.success(), "mke2fs: {}", String::from_utf8_lossy(&out.stderr));
    let v = std::fs::read(&img).unwrap();
    let _ = std::fs::remove_dir_all(&d);
    v
}

fn e2fsck(img: &[u8], tag: &str) -> (bool, String) {
    let d = scratch(tag);
    let p = d.join("img");
    std::fs::write(&p, img).unwrap();
    let out = Command::new(tool("e2fsck")).arg("-fn").arg(&p).output().unwrap();
    let _ = std::fs::remove_dir_all(&d);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code() == Some(0), text)
}

fn clock() -> u32 {
    1_700_000_000
}

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(u32::from(seed % 31)) as u8 ^ seed)
        .collect()
}

fn file(ctx: &Ctx, root: &Arc<Inode>, path: &str, flags: u32) -> Arc<dyn File> {
    match ctx.open(root, path.as_bytes(), flags, 0o644).unwrap() {
        Opened::File(f) => f,
        _ => panic!("{path}: not a file"),
    }
}

fn read_all(ctx: &Ctx, root: &Arc<Inode>, path: &str) -> Vec<u8> {
    let f = file(ctx, root, path, O_RDONLY);
    let size = f.stat().unwrap().size as usize;
    let mut v = vec![0u8; size];
    let mut done = 0;
    while done < size {
        let n = f.pread(&mut v[done..], done as u64).unwrap();
        assert!(n > 0);
        done += n;
    }
    v
}

#[test]
fn a_tree_written_through_the_vfs_is_e2fsck_clean() {
    for bs in [1024usize, 4096] {
        let disk = Shared(Arc::new(Mutex::new(MemDisk::new(mke2fs(bs, 64 * 1024, "mk")))));
        let fs =
            Ext2::mount(CachedDisk::new(disk.clone(), bs, 256), MountOptions::new(false, clock)).unwrap();
        let root = new_backed(
            makedev(254, 0),
            Arc::new(FixedClock(Timespec::new(1_700_000_000, 0))),
            Box::new(Ext2Backing::new(fs)),
            Arc::new(HeapPages::new()),
        )
        .unwrap();
        let cred = Cred::root();
        let ctx = Ctx::new(root.clone(), &cred).with_umask(0o022);
        ctx.mkdir(&root, b"/many", 0o755).unwrap();
        for i in 0..3000 {
            let f = file(&ctx, &root, &format!("/many/file-{i:05}"), O_CREAT | O_WRONLY);
            f.write(format!("content of {i}\n").as_bytes()).unwrap();
        }
        for i in (0..3000).step_by(3) {
            ctx.unlink(&root, format!("/many/file-{i:05}").as_bytes()).unwrap();
        }
        let mut deep = String::new();
        for d in 0..10 {
            deep.push_str(&format!("/d{d}"));
            ctx.mkdir(&root, deep.as_bytes(), 0o755).unwrap();
        }
        let big = pattern(3 << 20, 5);
        file(&ctx, &root, "/big", O_CREAT | O_WRONLY).write(&big).unwrap();
        let sparse = file(&ctx, &root, "/sparse", O_CREAT | O_RDWR);
        sparse.pwrite(b"start", 0).unwrap();
        sparse.pwrite(b"far", 3 << 30).unwrap();
        drop(sparse);
        ctx.symlink(b"big", &root, b"/fast").unwrap();
        ctx.symlink("x/".repeat(100).as_bytes(), &root, b"/slow").unwrap();
        ctx.link(&root, b"/big", &root, format!("{deep}/big-link").as_bytes(), 0).unwrap();
        ctx.rename(&root, b"/many/file-00001", &root, format!("{deep}/moved").as_bytes(), 0).unwrap();
        ctx.rename(&root, b"/d0/d1", &root, b"/many/d1", 0).unwrap();
        ctx.mknod(&root, b"/fifo", S_IFIFO | 0o644, 0).unwrap();
        ctx.mknod(&root, b"/blk", S_IFBLK | 0o600, makedev(8, 1)).unwrap();
        let held = file(&ctx, &root, "/many/file-00002", O_RDWR);
        ctx.unlink(&root, b"/many/file-00002").unwrap();
        held.write(&pattern(50_000, 1)).unwrap();
        drop(held);
        ctx.truncate(&root, b"/big", 1_000_000).unwrap();
        // O_TMPFILE: one named by linkat(AT_EMPTY_PATH), one freed at its
        // close (an unlinked open file: its blocks and inode come back)
        let free_inodes = root.statfs().ffree;
        let named = file(&ctx, &root, "/many", O_TMPFILE | O_RDWR);
        named.write(b"tmpfile content").unwrap();
        let unnamed = file(&ctx, &root, "/", O_TMPFILE | O_WRONLY | O_EXCL);
        unnamed.write(&pattern(100_000, 3)).unwrap();
        assert_eq!(unnamed.inode().unwrap().stat().nlink, 0);
        assert_eq!(root.statfs().ffree, free_inodes - 2);
        ctx.link(named.inode().unwrap(), b"", &root, b"/tmp-named", AT_EMPTY_PATH).unwrap();
        assert_eq!(named.inode().unwrap().stat().nlink, 1);
        drop((named, unnamed));
        assert_eq!(root.statfs().ffree, free_inodes - 1);
        root.sync_fs().unwrap();
        root.unmount_store().unwrap();
        drop(ctx);
        drop(root);
        let img = disk.0.lock().unwrap().data.clone();
        let (clean, out) = e2fsck(&img, "fsck");
        assert!(clean, "block size {bs}: e2fsck -fn:\n{out}");

        // a fresh mount reads it back
        let fs = Ext2::mount(disk.clone(), MountOptions::new(false, clock)).unwrap();
        let root = new_backed(
            makedev(254, 0),
            Arc::new(FixedClock(Timespec::new(0, 0))),
            Box::new(Ext2Backing::new(fs)),
            Arc::new(HeapPages::new()),
        )
        .unwrap();
        let ctx = Ctx::new(root.clone(), &cred);
        let deep = deep.replacen("/d0/d1", "/many/d1", 1);
        assert_eq!(
            ctx.lookup(&root, b"/many", true).unwrap().dir_len().unwrap(),
            1999,
            "2000 left, one moved out, one unlinked, d1 moved in"
        );
        assert_eq!(read_all(&ctx, &root, "/many/file-02999"), b"content of 2999\n");
        assert_eq!(read_all(&ctx, &root, &format!("{deep}/moved")), b"content of 1\n");
        assert_eq!(read_all(&ctx, &root, "/big"), big[..1_000_000]);
        assert_eq!(ctx.stat(&root, b"/big", 0).unwrap().nlink, 2);
        assert_eq!(ctx.readlink(&root, b"/slow").unwrap(), "x/".repeat(100).as_bytes());
        assert_eq!(ctx.stat(&root, b"/sparse", 0).unwrap().size, (3 << 30) + 3);
        assert!(ctx.stat(&root, b"/sparse", 0).unwrap().blocks < 64);
        assert!(ctx.lookup(&root, b"/many/d1/d2", true).unwrap().is_dir());
        assert_eq!(ctx.stat(&root, b"/blk", 0).unwrap().rdev, makedev(8, 1));
        assert_eq!(read_all(&ctx, &root, "/tmp-named"), b"tmpfile content");
        root.unmount_store().unwrap();
    }
}
