//! Software block devices for tests: [`MemDisk`] (an image in memory),
//! [`FaultyDisk`] (fails chosen sectors) and [`mkfs_image`] (a one-group
//! ext2 image without `mke2fs`).

use crate::disk::{put16, put32};
use crate::{BlockDevice, SECTOR_SIZE};
use alloc::collections::BTreeSet;
use alloc::vec;
use alloc::vec::Vec;
use linux_abi::{Errno, Result};

/// A disk in memory.
#[derive(Clone, Debug)]
pub struct MemDisk {
    /// The bytes.
    pub data: Vec<u8>,
    /// Refuse writes.
    pub read_only: bool,
    /// Flushes seen.
    pub flushes: u64,
}

impl MemDisk {
    /// A writable disk holding `data` (its length a multiple of 512).
    pub fn new(data: Vec<u8>) -> Self {
        MemDisk { data, read_only: false, flushes: 0 }
    }

    fn range(&self, sector: u64, len: usize) -> Result<core::ops::Range<usize>> {
        if !len.is_multiple_of(SECTOR_SIZE) {
            return Err(Errno::EINVAL);
        }
        let start =
            usize::try_from(sector).ok().and_then(|s| s.checked_mul(SECTOR_SIZE)).ok_or(Errno::EIO)?;
        let end = start.checked_add(len).ok_or(Errno::EIO)?;
        if end > self.data.len() {
            return Err(Errno::EIO);
        }
        Ok(start..end)
    }
}

impl BlockDevice for MemDisk {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<()> {
        let r = self.range(sector, buf.len())?;
        buf.copy_from_slice(&self.data[r]);
        Ok(())
    }
    fn write(&mut self, sector: u64, buf: &[u8]) -> Result<()> {
        if self.read_only {
            return Err(Errno::EROFS);
        }
        let r = self.range(sector, buf.len())?;
        self.data[r].copy_from_slice(buf);
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        self.flushes += 1;
        Ok(())
    }
    fn sectors(&self) -> u64 {
        (self.data.len() / SECTOR_SIZE) as u64
    }
    fn read_only(&self) -> bool {
        self.read_only
    }
}

/// A [`MemDisk`] whose chosen sectors fail with `EIO`, or every write
/// after a count.
#[derive(Clone, Debug)]
pub struct FaultyDisk {
    /// The disk underneath.
    pub inner: MemDisk,
    /// Sectors whose reads fail.
    pub bad_reads: BTreeSet<u64>,
    /// Sectors whose writes fail.
    pub bad_writes: BTreeSet<u64>,
    /// Writes that succeed before every write fails (`None`: no limit).
    pub writes_left: Option<u64>,
}

impl FaultyDisk {
    /// A disk that fails nothing yet.
    pub fn new(inner: MemDisk) -> Self {
        FaultyDisk { inner, bad_reads: BTreeSet::new(), bad_writes: BTreeSet::new(), writes_left: None }
    }
}

fn hits(set: &BTreeSet<u64>, sector: u64, len: usize) -> bool {
    let n = (len / SECTOR_SIZE) as u64;
    set.range(sector..sector.saturating_add(n)).next().is_some()
}

impl BlockDevice for FaultyDisk {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<()> {
        if hits(&self.bad_reads, sector, buf.len()) {
            return Err(Errno::EIO);
        }
        self.inner.read(sector, buf)
    }
    fn write(&mut self, sector: u64, buf: &[u8]) -> Result<()> {
        if hits(&self.bad_writes, sector, buf.len()) {
            return Err(Errno::EIO);
        }
        if let Some(n) = &mut self.writes_left {
            if *n == 0 {
                return Err(Errno::EIO);
            }
            *n -= 1;
        }
        self.inner.write(sector, buf)
    }
    fn flush(&mut self) -> Result<()> {
        self.inner.flush()
    }
    fn sectors(&self) -> u64 {
        self.inner.sectors()
    }
    fn read_only(&self) -> bool {
        self.inner.read_only()
    }
}

/// A fresh one-group ext2 image (revision 1, 128-byte inodes, `FILETYPE`,
/// `SPARSE_SUPER`, `LARGE_FILE`) with a root directory and `lost+found`,
/// as `mke2fs` lays one out. `blocks` must fit one group (at most eight
/// times the block size) and `inodes` a multiple of the inodes per block.
pub fn mkfs_image(block_size: usize, blocks: u32, inodes: u32) -> Vec<u8> {
    let bs = block_size;
    let fdb: u32 = if bs == 1024 { 1 } else { 0 };
    let ipb = (bs / 128) as u32;
    let inodes = inodes.div_ceil(ipb) * ipb;
    let itb = inodes / ipb;
    let mut img = vec![0u8; bs * blocks as usize];
    // layout: [boot] sb gdt bbitmap ibitmap itable.. root lost+found
    let gdt = fdb + 1;
    let bbm = gdt + 1;
    let ibm = bbm + 1;
    let it = ibm + 1;
    let root_blk = it + itb;
    let lf_blk = root_blk + 1;
    let used_blocks = lf_blk + 1 - fdb;
    let data_blocks = blocks - fdb;
    let sb = &mut img[1024..2048];
    put32(sb, 0, inodes);
    put32(sb, 4, blocks);
    put32(sb, 8, blocks / 20);
    put32(sb, 12, data_blocks - used_blocks);
    put32(sb, 16, inodes - 11);
    put32(sb, 20, fdb);
    put32(sb, 24, (bs / 1024).trailing_zeros());
    put32(sb, 28, (bs / 1024).trailing_zeros());
    put32(sb, 32, (bs * 8) as u32);
    put32(sb, 36, (bs * 8) as u32);
    put32(sb, 40, inodes);
    put16(sb, 54, 0xffff);
    put16(sb, 56, 0xEF53);
    put16(sb, 58, 1);
    put16(sb, 60, 1);
    put32(sb, 76, 1);
    put32(sb, 84, 11);
    put16(sb, 88, 128);
    put32(sb, 96, 0x2);
    put32(sb, 100, 0x3);
    sb[104..120].copy_from_slice(b"ext2-crate-uuid!");
    {
        let g = &mut img[gdt as usize * bs..];
        put32(g, 0, bbm);
        put32(g, 4, ibm);
        put32(g, 8, it);
        put16(g, 12, (data_blocks - used_blocks) as u16);
        put16(g, 14, (inodes - 11) as u16);
        put16(g, 16, 2);
    }
    {
        let b = &mut img[bbm as usize * bs..(bbm as usize + 1) * bs];
        for i in 0..used_blocks as usize {
            b[i / 8] |= 1 << (i % 8);
        }
        // bits past the end of the group are set
        for i in data_blocks as usize..bs * 8 {
            b[i / 8] |= 1 << (i % 8);
        }
    }
    {
        let b = &mut img[ibm as usize * bs..(ibm as usize + 1) * bs];
        for i in 0..11 {
            b[i / 8] |= 1 << (i % 8);
        }
        for i in inodes as usize..bs * 8 {
            b[i / 8] |= 1 << (i % 8);
        }
    }
    let mut inode = |ino: u32, mode: u16, links: u16, blk: u32| {
        let off = it as usize * bs + (ino as usize - 1) * 128;
        let r = &mut img[off..off + 128];
        put16(r, 0, mode);
        put32(r, 4, bs as u32);
        put16(r, 26, links);
        put32(r, 28, (bs / 512) as u32);
        put32(r, 40, blk);
    };
    inode(2, 0o40755, 3, root_blk);
    inode(11, 0o40700, 2, lf_blk);
    let mut dirent = |blk: u32, off: usize, ino: u32, rec: u16, name: &[u8]| {
        let o = blk as usize * bs + off;
        put32(&mut img[o..], 0, ino);
        put16(&mut img[o..], 4, rec);
        img[o + 6] = name.len() as u8;
        img[o + 7] = 2;
        img[o + 8..o + 8 + name.len()].copy_from_slice(name);
    };
    dirent(root_blk, 0, 2, 12, b".");
    dirent(root_blk, 12, 2, 12, b"..");
    dirent(root_blk, 24, 11, (bs - 24) as u16, b"lost+found");
    dirent(lf_blk, 0, 11, 12, b".");
    dirent(lf_blk, 12, 2, (bs - 12) as u16, b"..");
    img
}
