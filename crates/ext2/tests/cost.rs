//! The cost of a create and an unlink, as the kernel runs them: 10,000
//! empty files created in one directory of a 256 MiB, 4 KiB-block image
//! (the `disk_create_unlink_10k` bench row's), then unlinked, through a
//! [`CachedDisk`]. A counting layer between the file system and the cache
//! counts the bytes the file system copies in and out of cached blocks
//! (`read`/`write`) and the blocks it works on in place (`update`); the
//! image passes `e2fsck` afterwards.

mod common;

use common::*;
use ext2::testing::MemDisk;
use ext2::{BlockDevice, CachedDisk, Ext2, Result};
use std::time::Instant;

#[derive(Default, Debug, Clone, Copy)]
struct Counts {
    reads: u64,
    writes: u64,
    copied: u64,
    whole_blocks: u64,
    in_place: u64,
}

struct Counting<D> {
    dev: D,
    c: Counts,
}

impl<D: BlockDevice> BlockDevice for Counting<D> {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<()> {
        self.c.reads += 1;
        self.c.copied += buf.len() as u64;
        self.c.whole_blocks += (buf.len() >= 4096) as u64;
        self.dev.read(sector, buf)
    }
    fn write(&mut self, sector: u64, buf: &[u8]) -> Result<()> {
        self.c.writes += 1;
        self.c.copied += buf.len() as u64;
        self.c.whole_blocks += (buf.len() >= 4096) as u64;
        self.dev.write(sector, buf)
    }
    fn update(&mut self, sector: u64, len: usize, f: &mut dyn FnMut(&mut [u8]) -> bool) -> Result<()> {
        self.c.in_place += 1;
        self.dev.update(sector, len, f)
    }
    fn flush(&mut self) -> Result<()> {
        self.dev.flush()
    }
    fn sectors(&self) -> u64 {
        self.dev.sectors()
    }
    fn read_only(&self) -> bool {
        self.dev.read_only()
    }
    fn read_ahead(&mut self, sector: u64, len: usize) -> Result<usize> {
        self.dev.read_ahead(sector, len)
    }
}

type Fs = Ext2<Counting<CachedDisk<MemDisk>>>;

fn counts(fs: &Fs) -> Counts {
    fs.device().c
}

fn per(a: Counts, b: Counts, n: u64) -> String {
    format!(
        "{:.2} reads, {:.2} writes, {:.0} bytes copied, {:.2} whole blocks, {:.2} in place",
        (b.reads - a.reads) as f64 / n as f64,
        (b.writes - a.writes) as f64 / n as f64,
        (b.copied - a.copied) as f64 / n as f64,
        (b.whole_blocks - a.whole_blocks) as f64 / n as f64,
        (b.in_place - a.in_place) as f64 / n as f64,
    )
}

#[test]
fn create_and_unlink_of_10000_files_copy_no_whole_blocks() {
    const N: u32 = 10_000;
    let img = mke2fs(4096, 256 * 1024, &[]);
    // the kernel's cache: 4 KiB blocks, 2,048 of them (8 MiB)
    let cached = CachedDisk::new(MemDisk::new(img), 4096, 2048);
    let mut fs: Fs = Ext2::mount(Counting { dev: cached, c: Counts::default() }, opts()).unwrap();
    let root = fs.root();
    let dir = fs.mkdir(root, b"many", 0o755, 0, 0).unwrap();
    let names: Vec<Vec<u8>> = (0..N).map(|i| format!("f{i}").into_bytes()).collect();
    let c0 = counts(&fs);
    let t0 = Instant::now();
    let mut inos = Vec::new();
    for n in &names {
        inos.push(fs.create(dir, n, 0o100644, 0, 0, None).unwrap());
    }
    let t_create = t0.elapsed();
    let c1 = counts(&fs);
    // every name is there, with its inode
    for (n, &ino) in names.iter().zip(&inos).step_by(97) {
        assert_eq!(fs.lookup(dir, n), Ok(ino));
    }
    let c2 = counts(&fs);
    let t1 = Instant::now();
    for n in &names {
        fs.unlink(dir, n).unwrap();
    }
    let t_unlink = t1.elapsed();
    let c3 = counts(&fs);
    eprintln!("create: {} ({:?} per create)", per(c0, c1, N as u64), t_create / N);
    eprintln!("unlink: {} ({:?} per unlink)", per(c2, c3, N as u64), t_unlink / N);
    // the directory is empty again, and the image is clean
    assert_eq!(fs.list(dir).unwrap().len(), 2);
    let dir_size = fs.stat(dir).unwrap().size;
    assert_eq!(fs.statfs().ffree, fs.statfs().files - 12);
    let disk = fs.unmount().unwrap().dev.into_inner().unwrap();
    let (clean, out) = e2fsck(&disk.data);
    assert!(clean, "e2fsck:\n{out}");
    // a create or an unlink copies no whole block: the bitmaps, the inode
    // table and the directory are changed in place in the cache; only a
    // directory's new block is written whole (zeros around its first entry)
    let dir_blocks = dir_size / 4096;
    assert!(dir_blocks > 30, "{dir_blocks}");
    assert_eq!(c1.whole_blocks - c0.whole_blocks, dir_blocks, "create: {}", per(c0, c1, N as u64));
    assert_eq!(c1.copied - c0.copied, dir_blocks * 4096, "create: {}", per(c0, c1, N as u64));
    assert_eq!(c1.reads - c0.reads, 0, "create: {}", per(c0, c1, N as u64));
    assert_eq!(
        (c3.whole_blocks - c2.whole_blocks, c3.copied - c2.copied),
        (0, 0),
        "unlink: {}",
        per(c2, c3, N as u64)
    );
    // at most 8 blocks borrowed per call: directory inode, new inode,
    // inode bitmap, descriptor, directory block
    assert!(c1.in_place - c0.in_place <= 8 * N as u64, "create: {}", per(c0, c1, N as u64));
    assert!(c3.in_place - c2.in_place <= 10 * N as u64, "unlink: {}", per(c2, c3, N as u64));
}
