//! A write-back cache of fixed-size blocks in front of a [`BlockDevice`]:
//! reads are served from memory after the first, writes stay in memory
//! (dirty) until [`BlockDevice::flush`] or until the cache is full and the
//! oldest block is evicted. A flush writes the dirty blocks in sector
//! order, then flushes the device underneath.

use crate::disk::zeroed;
use crate::{BlockDevice, SECTOR_SIZE};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use linux_abi::{Errno, Result};

struct Entry {
    data: Vec<u8>,
    dirty: bool,
    /// When it was last used (a counter), for least-recently-used eviction.
    used: u64,
}

/// A block cache over `D`: `block` bytes per entry (a multiple of
/// [`SECTOR_SIZE`]), at most `capacity` entries.
pub struct CachedDisk<D: BlockDevice> {
    dev: D,
    block: usize,
    capacity: usize,
    map: BTreeMap<u64, Entry>,
    /// Ordered by last use: (use counter, block number).
    lru: BTreeMap<u64, u64>,
    tick: u64,
    /// Device reads and writes issued (for tests and figures).
    pub device_ops: u64,
}

impl<D: BlockDevice> CachedDisk<D> {
    /// A cache of `capacity` blocks of `block` bytes over `dev`.
    pub fn new(dev: D, block: usize, capacity: usize) -> Self {
        let block = block.max(SECTOR_SIZE) / SECTOR_SIZE * SECTOR_SIZE;
        CachedDisk {
            dev,
            block,
            capacity: capacity.max(1),
            map: BTreeMap::new(),
            lru: BTreeMap::new(),
            tick: 0,
            device_ops: 0,
        }
    }

    /// The device underneath (its state may lag the cache's until a flush).
    pub fn inner(&self) -> &D {
        &self.dev
    }

    /// Flushes and hands the device back.
    pub fn into_inner(mut self) -> Result<D> {
        self.flush()?;
        Ok(self.dev)
    }

    /// How many cached blocks are dirty.
    pub fn dirty_blocks(&self) -> usize {
        self.map.values().filter(|e| e.dirty).count()
    }

    fn spb(&self) -> u64 {
        (self.block / SECTOR_SIZE) as u64
    }

    /// The bytes of block `b` that lie on the device (the last block of
    /// a device whose size is not a multiple of the block is short).
    fn len_of(&self, b: u64) -> usize {
        let left = self.dev.sectors().saturating_sub(b * self.spb());
        (left.min(self.spb()) as usize) * SECTOR_SIZE
    }

    fn touch(&mut self, b: u64) {
        self.tick += 1;
        if let Some(e) = self.map.get_mut(&b) {
            self.lru.remove(&e.used);
            e.used = self.tick;
            self.lru.insert(self.tick, b);
        }
    }

    /// Makes room for one more entry: the least recently used goes,
    /// written back first when dirty.
    fn evict(&mut self) -> Result<()> {
        while self.map.len() >= self.capacity {
            let Some((&used, &b)) = self.lru.iter().next() else { return Ok(()) };
            if let Some(e) = self.map.get(&b)
                && e.dirty
            {
                self.device_ops += 1;
                let n = self.len_of(b);
                self.dev.write(b * self.spb(), &e.data[..n])?;
            }
            self.lru.remove(&used);
            self.map.remove(&b);
        }
        Ok(())
    }

    /// The cached block `b`, read from the device when missing (or zeroed
    /// when `whole` says the caller overwrites it all).
    fn entry(&mut self, b: u64, whole: bool) -> Result<&mut Entry> {
        if !self.map.contains_key(&b) {
            self.evict()?;
            let mut data = zeroed(self.block)?;
            if !whole {
                self.device_ops += 1;
                let n = self.len_of(b);
                self.dev.read(b * self.spb(), &mut data[..n])?;
            }
            self.tick += 1;
            self.lru.insert(self.tick, b);
            self.map.insert(b, Entry { data, dirty: false, used: self.tick });
        } else {
            self.touch(b);
        }
        self.map.get_mut(&b).ok_or(Errno::EIO)
    }

    /// Runs `f` over each (block, offset in block, sector range in buf) of
    /// a sector-aligned transfer.
    fn pieces(&self, sector: u64, len: usize) -> Result<Vec<(u64, usize, usize, usize)>> {
        if !len.is_multiple_of(SECTOR_SIZE) {
            return Err(Errno::EINVAL);
        }
        let end = sector.checked_add((len / SECTOR_SIZE) as u64).ok_or(Errno::EIO)?;
        if end > self.dev.sectors() {
            return Err(Errno::EIO);
        }
        let mut v = Vec::new();
        let mut s = sector;
        let mut at = 0;
        while at < len {
            let b = s / self.spb();
            let off = ((s % self.spb()) as usize) * SECTOR_SIZE;
            let n = (self.block - off).min(len - at);
            v.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            v.push((b, off, at, n));
            at += n;
            s += (n / SECTOR_SIZE) as u64;
        }
        Ok(v)
    }
}

impl<D: BlockDevice> BlockDevice for CachedDisk<D> {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<()> {
        for (b, off, at, n) in self.pieces(sector, buf.len())? {
            let e = self.entry(b, false)?;
            buf[at..at + n].copy_from_slice(&e.data[off..off + n]);
        }
        Ok(())
    }

    fn write(&mut self, sector: u64, buf: &[u8]) -> Result<()> {
        if self.dev.read_only() {
            return Err(Errno::EROFS);
        }
        let block = self.block;
        for (b, off, at, n) in self.pieces(sector, buf.len())? {
            let whole = n == block;
            let e = self.entry(b, whole)?;
            e.data[off..off + n].copy_from_slice(&buf[at..at + n]);
            e.dirty = true;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let spb = self.spb();
        let sectors = self.dev.sectors();
        let mut result = Ok(());
        for (&b, e) in self.map.iter_mut() {
            if e.dirty {
                self.device_ops += 1;
                let n = (sectors.saturating_sub(b * spb).min(spb) as usize) * SECTOR_SIZE;
                match self.dev.write(b * spb, &e.data[..n]) {
                    Ok(()) => e.dirty = false,
                    Err(err) => result = Err(err),
                }
            }
        }
        result?;
        self.dev.flush()
    }

    fn sectors(&self) -> u64 {
        self.dev.sectors()
    }

    fn read_only(&self) -> bool {
        self.dev.read_only()
    }
}
