//! A write-back cache of fixed-size blocks in front of a [`BlockDevice`]:
//! reads are served from memory after the first, writes stay in memory
//! (dirty) until [`BlockDevice::flush`] or until the cache is full and the
//! oldest block is evicted.
//!
//! Transfers to the device are batched: a read of several missing blocks
//! is one device read per run of consecutive missing blocks, an evicted
//! dirty block goes out with the dirty blocks next to it on the disk (one
//! write per run), and a flush writes the dirty blocks in runs in sector
//! order, then flushes the device underneath. A run is at most
//! [`MAX_RUN_BYTES`].
//!
//! Eviction is least-recently-used over two classes, as Linux's inactive
//! and active lists: a block that came in by a read or write of more than
//! one block (a file's data streaming through) is *cold*, one read or
//! written alone (metadata: bitmaps, inodes, directories, map blocks) or
//! used a second time is *hot*; cold blocks go first, so streaming a large
//! file does not push the file system's metadata out.

use crate::disk::zeroed;
use crate::{BlockDevice, SECTOR_SIZE};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use linux_abi::{Errno, Result};

/// The largest single transfer to the device the cache makes (a run of
/// blocks read, written back or flushed together).
pub const MAX_RUN_BYTES: usize = 1 << 20;

/// The most bytes a flush hands the device in one
/// [`BlockDevice::write_runs`] (runs it may keep in flight together).
pub const FLUSH_BATCH_BYTES: usize = 4 << 20;

/// Use counters of hot blocks start here, above every cold one's.
const HOT: u64 = 1 << 62;

struct Entry {
    data: Vec<u8>,
    dirty: bool,
    /// When it was last used (a counter: cold ones below [`HOT`]), the
    /// key of its place in the eviction order.
    used: u64,
    /// Read ahead and not used yet: its first use keeps it cold.
    ahead: bool,
}

/// A block cache over `D`: `block` bytes per entry (a multiple of
/// [`SECTOR_SIZE`]), at most `capacity` entries.
pub struct CachedDisk<D: BlockDevice> {
    dev: D,
    block: usize,
    capacity: usize,
    map: BTreeMap<u64, Entry>,
    /// Ordered by last use: (use counter, block number); cold first.
    lru: BTreeMap<u64, u64>,
    tick: u64,
    cold_tick: u64,
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
            tick: HOT,
            cold_tick: 0,
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

    /// The most blocks one transfer carries.
    fn max_run(&self) -> u64 {
        (MAX_RUN_BYTES / self.block).max(1) as u64
    }

    /// The bytes of block `b` that lie on the device (the last block of
    /// a device whose size is not a multiple of the block is short).
    fn len_of(&self, b: u64) -> usize {
        let left = self.dev.sectors().saturating_sub(b * self.spb());
        (left.min(self.spb()) as usize) * SECTOR_SIZE
    }

    fn next_tick(&mut self, hot: bool) -> u64 {
        if hot {
            self.tick += 1;
            self.tick
        } else {
            self.cold_tick += 1;
            self.cold_tick
        }
    }

    /// A use of cached block `b`: it moves to the hot end (a cold block
    /// used again becomes hot); the first use of a block read ahead leaves
    /// it where it is (cold, in the order it was read).
    fn touch(&mut self, b: u64) {
        if let Some(e) = self.map.get_mut(&b)
            && e.ahead
        {
            e.ahead = false;
            return;
        }
        let t = self.next_tick(true);
        if let Some(e) = self.map.get_mut(&b) {
            self.lru.remove(&e.used);
            e.used = t;
            self.lru.insert(t, b);
        }
    }

    /// Writes the run of dirty blocks around `b` (consecutive on the
    /// device, at most [`MAX_RUN_BYTES`]) in one transfer; they stay
    /// cached, clean.
    fn write_run_around(&mut self, b: u64) -> Result<()> {
        let max = self.max_run();
        let dirty = |m: &BTreeMap<u64, Entry>, x: u64| m.get(&x).is_some_and(|e| e.dirty);
        let mut first = b;
        while b - first + 1 < max && first > 0 && dirty(&self.map, first - 1) {
            first -= 1;
        }
        let mut last = b;
        while last - first + 1 < max && dirty(&self.map, last + 1) {
            last += 1;
        }
        self.write_run(first, last)
    }

    /// Writes blocks `first..=last` (all cached and dirty) in one transfer
    /// and marks them clean.
    fn write_run(&mut self, first: u64, last: u64) -> Result<()> {
        let bytes = (last - first) as usize * self.block + self.len_of(last);
        if first == last {
            let n = self.len_of(first);
            let e = self.map.get(&first).ok_or(Errno::EIO)?;
            self.device_ops += 1;
            self.dev.write(first * self.spb(), &e.data[..n])?;
        } else {
            let mut buf = Vec::new();
            buf.try_reserve_exact(bytes).map_err(|_| Errno::ENOMEM)?;
            for x in first..=last {
                let n = if x == last { self.len_of(x) } else { self.block };
                let e = self.map.get(&x).ok_or(Errno::EIO)?;
                buf.extend_from_slice(&e.data[..n]);
            }
            self.device_ops += 1;
            self.dev.write(first * self.spb(), &buf)?;
        }
        for x in first..=last {
            if let Some(e) = self.map.get_mut(&x) {
                e.dirty = false;
            }
        }
        Ok(())
    }

    fn run_bytes(&self, (first, last): (u64, u64)) -> usize {
        (last - first) as usize * self.block + self.len_of(last)
    }

    /// Writes the runs `(first, last)` of cached dirty blocks with one
    /// [`BlockDevice::write_runs`] (a run of one block straight from its
    /// entry, a longer one gathered into a buffer) and marks those that
    /// reached the device clean; the others stay dirty.
    fn write_batch(&mut self, runs: &[(u64, u64)]) -> Result<()> {
        if let [(first, last)] = runs {
            return self.write_run(*first, *last);
        }
        let mut gathered: Vec<Vec<u8>> = Vec::new();
        gathered.try_reserve_exact(runs.len()).map_err(|_| Errno::ENOMEM)?;
        for &(first, last) in runs {
            let mut buf = Vec::new();
            if first != last {
                buf.try_reserve_exact(self.run_bytes((first, last))).map_err(|_| Errno::ENOMEM)?;
                for x in first..=last {
                    let n = if x == last { self.len_of(x) } else { self.block };
                    let e = self.map.get(&x).ok_or(Errno::EIO)?;
                    buf.extend_from_slice(&e.data[..n]);
                }
            }
            gathered.push(buf);
        }
        let mut list: Vec<(u64, &[u8])> = Vec::new();
        list.try_reserve_exact(runs.len()).map_err(|_| Errno::ENOMEM)?;
        for (&(first, last), buf) in runs.iter().zip(&gathered) {
            let bytes = if first == last {
                let e = self.map.get(&first).ok_or(Errno::EIO)?;
                &e.data[..self.len_of(first)]
            } else {
                &buf[..]
            };
            list.push((first * self.spb(), bytes));
        }
        let mut written: Vec<bool> = Vec::new();
        written.try_reserve_exact(runs.len()).map_err(|_| Errno::ENOMEM)?;
        written.resize(runs.len(), false);
        self.device_ops += runs.len() as u64;
        let result = self.dev.write_runs(&list, &mut written);
        drop(list);
        for (&(first, last), _) in runs.iter().zip(&written).filter(|(_, ok)| **ok) {
            for x in first..=last {
                if let Some(e) = self.map.get_mut(&x) {
                    e.dirty = false;
                }
            }
        }
        result
    }

    /// Makes room for one more entry: the least recently used (cold ones
    /// first) goes, written back first when dirty, together with the dirty
    /// blocks next to it.
    fn evict(&mut self) -> Result<()> {
        while self.map.len() >= self.capacity {
            let Some((&used, &b)) = self.lru.iter().next() else { return Ok(()) };
            if self.map.get(&b).is_some_and(|e| e.dirty) {
                self.write_run_around(b)?;
            }
            self.lru.remove(&used);
            self.map.remove(&b);
        }
        Ok(())
    }

    /// Enters block `b` (not cached) holding `data`, hot or cold (and
    /// then maybe read ahead).
    fn insert(&mut self, b: u64, data: Vec<u8>, dirty: bool, hot: bool, ahead: bool) -> Result<()> {
        self.evict()?;
        let used = self.next_tick(hot);
        self.lru.insert(used, b);
        self.map.insert(b, Entry { data, dirty, used, ahead });
        Ok(())
    }

    /// The cached block `b`, read from the device when missing (or zeroed
    /// when `whole` says the caller overwrites it all); `hot` for a block
    /// used alone.
    fn entry(&mut self, b: u64, whole: bool, hot: bool) -> Result<&mut Entry> {
        if !self.map.contains_key(&b) {
            let mut data = zeroed(self.block)?;
            if !whole {
                self.device_ops += 1;
                let n = self.len_of(b);
                self.dev.read(b * self.spb(), &mut data[..n])?;
            }
            self.insert(b, data, false, hot, false)?;
        } else {
            self.touch(b);
        }
        self.map.get_mut(&b).ok_or(Errno::EIO)
    }

    /// The (block, offset in block, offset in buf, length) pieces of a
    /// sector-aligned transfer.
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

    /// Reads the missing blocks `first..first + count` from the device in
    /// one transfer and enters them (cold; `ahead` when read ahead); `f`
    /// gets each block's data before it is entered.
    fn read_run(&mut self, first: u64, count: u64, ahead: bool, mut f: impl FnMut(u64, &[u8])) -> Result<()> {
        let last = first + count - 1;
        let bytes = (count - 1) as usize * self.block + self.len_of(last);
        let mut buf = zeroed(bytes)?;
        self.device_ops += 1;
        self.dev.read(first * self.spb(), &mut buf)?;
        for (k, chunk) in buf.chunks(self.block).enumerate() {
            let b = first + k as u64;
            f(b, chunk);
            let mut data = zeroed(self.block)?;
            data[..chunk.len()].copy_from_slice(chunk);
            self.insert(b, data, false, false, ahead)?;
        }
        Ok(())
    }
}

impl<D: BlockDevice> BlockDevice for CachedDisk<D> {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<()> {
        let pieces = self.pieces(sector, buf.len())?;
        let alone = pieces.len() == 1;
        let max = self.max_run() as usize;
        let mut i = 0;
        while i < pieces.len() {
            let (b, off, at, n) = pieces[i];
            if alone || self.map.contains_key(&b) {
                let e = self.entry(b, false, true)?;
                buf[at..at + n].copy_from_slice(&e.data[off..off + n]);
                i += 1;
                continue;
            }
            // a run of missing blocks: one device read
            let mut j = i + 1;
            while j < pieces.len() && j - i < max && !self.map.contains_key(&pieces[j].0) {
                j += 1;
            }
            let run = &pieces[i..j];
            self.read_run(b, (j - i) as u64, false, |blk, data| {
                let (_, off, at, n) = run[(blk - b) as usize];
                buf[at..at + n].copy_from_slice(&data[off..off + n]);
            })?;
            i = j;
        }
        Ok(())
    }

    fn write(&mut self, sector: u64, buf: &[u8]) -> Result<()> {
        if self.dev.read_only() {
            return Err(Errno::EROFS);
        }
        let block = self.block;
        let pieces = self.pieces(sector, buf.len())?;
        let hot = pieces.len() == 1;
        for (b, off, at, n) in pieces {
            let whole = n == block;
            let e = self.entry(b, whole, hot)?;
            e.data[off..off + n].copy_from_slice(&buf[at..at + n]);
            e.dirty = true;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let max = self.max_run();
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for (&b, e) in self.map.iter() {
            if !e.dirty {
                continue;
            }
            match runs.last_mut() {
                Some((first, last)) if *last + 1 == b && b - *first < max => *last = b,
                _ => {
                    runs.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                    runs.push((b, b));
                }
            }
        }
        // batches of runs, each handed to the device at once
        let mut result = Ok(());
        let mut i = 0;
        while i < runs.len() {
            let mut j = i + 1;
            let mut bytes = self.run_bytes(runs[i]);
            while j < runs.len() && bytes + self.run_bytes(runs[j]) <= FLUSH_BATCH_BYTES {
                bytes += self.run_bytes(runs[j]);
                j += 1;
            }
            if let Err(e) = self.write_batch(&runs[i..j]) {
                result = Err(e);
            }
            i = j;
        }
        result?;
        self.dev.flush()
    }

    /// Reads the missing blocks of the range in runs (cold), at most a
    /// quarter of the cache's capacity; the bytes taken.
    fn read_ahead(&mut self, sector: u64, len: usize) -> Result<usize> {
        let spb = self.spb();
        let end = sector.saturating_add((len / SECTOR_SIZE) as u64).min(self.dev.sectors());
        if end <= sector {
            return Ok(0);
        }
        let first = sector / spb;
        let last = end.div_ceil(spb).min(first + (self.capacity / 4).max(1) as u64);
        let max = self.max_run();
        let mut b = first;
        while b < last {
            if self.map.contains_key(&b) {
                b += 1;
                continue;
            }
            let mut count = 1;
            while b + count < last && count < max && !self.map.contains_key(&(b + count)) {
                count += 1;
            }
            self.read_run(b, count, true, |_, _| {})?;
            b += count;
        }
        Ok(((last * spb).min(end) - sector) as usize * SECTOR_SIZE)
    }

    /// In place for one whole block at a block boundary (read from the
    /// device first when missing; a use of a hot block, dirty when `f`
    /// changed it); through a copy, as the default, otherwise.
    fn update(&mut self, sector: u64, len: usize, f: &mut dyn FnMut(&mut [u8]) -> bool) -> Result<()> {
        let spb = self.spb();
        let in_place = len == self.block
            && sector.is_multiple_of(spb)
            && sector.checked_add(spb).is_some_and(|end| end <= self.dev.sectors());
        if !in_place {
            let mut buf = zeroed(len)?;
            self.read(sector, &mut buf)?;
            if f(&mut buf) {
                self.write(sector, &buf)?;
            }
            return Ok(());
        }
        let b = sector / spb;
        let read_only = self.dev.read_only();
        let e = self.entry(b, false, true)?;
        if f(&mut e.data) {
            if read_only {
                // the change cannot stay: the block is read again when used
                let used = e.used;
                self.map.remove(&b);
                self.lru.remove(&used);
                return Err(Errno::EROFS);
            }
            e.dirty = true;
        }
        Ok(())
    }

    fn sectors(&self) -> u64 {
        self.dev.sectors()
    }

    fn read_only(&self) -> bool {
        self.dev.read_only()
    }
}
