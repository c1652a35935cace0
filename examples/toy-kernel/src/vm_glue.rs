//! `vm`'s seams: a page table that is an ordered map (its ordered walk is
//! `next_present`; `protect`, `for_each_present`, `fork_range` and
//! `unmap_range` are the trait's defaults) and a bump-and-free frame
//! allocator (no reference counts: `vm::RefcountedFrames` keeps them).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use vm::{Frame, FrameAllocator, NoMemory, PAGE_SIZE, PageTable, PteFlags, RefcountedFrames};

/// A page table that is a map from page address to entry.
#[derive(Default)]
pub struct MapPageTable(BTreeMap<usize, (Frame, PteFlags)>);

impl PageTable for MapPageTable {
    fn map(&mut self, va: usize, frame: Frame, flags: PteFlags) -> Result<(), NoMemory> {
        self.0.insert(va, (frame, flags));
        Ok(())
    }
    fn unmap(&mut self, va: usize) -> Option<(Frame, PteFlags)> {
        self.0.remove(&va)
    }
    fn query(&self, va: usize) -> Option<(Frame, PteFlags)> {
        self.0.get(&va).copied()
    }
    fn next_present(&self, start: usize, end: usize) -> Option<(usize, Frame, PteFlags)> {
        self.0.range(start..end).next().map(|(&va, &(f, fl))| (va, f, fl))
    }
    fn flush(&mut self) {}
    fn new_empty(&self) -> Result<Self, NoMemory> {
        Ok(Self::default())
    }
}

/// The frame allocator, shared by every address space: frame `n` is slot
/// `n - 1` (empty while free); a free slot is reused before the pool grows.
/// It only allocates and frees: `vm::RefcountedFrames` keeps the counts.
#[derive(Clone, Default)]
pub struct BumpFrames(Arc<Mutex<Vec<Vec<u8>>>>);

impl BumpFrames {
    /// Frames in use.
    pub fn in_use(&self) -> usize {
        self.0.lock().unwrap().iter().filter(|s| !s.is_empty()).count()
    }
    fn with<R>(&self, f: Frame, op: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        op(&mut self.0.lock().unwrap()[f.number() as usize - 1])
    }
}

impl FrameAllocator for BumpFrames {
    fn alloc_zeroed(&self) -> Result<Frame, NoMemory> {
        let pool = &mut *self.0.lock().unwrap();
        let n = pool.iter().position(Vec::is_empty).unwrap_or(pool.len());
        pool.resize_with(pool.len().max(n + 1), Vec::new);
        pool[n] = vec![0; PAGE_SIZE];
        Ok(Frame::from_number(n as u64 + 1))
    }
    fn free(&self, frame: Frame) {
        self.with(frame, |s| *s = Vec::new());
    }
    fn read(&self, frame: Frame, offset: usize, buf: &mut [u8]) {
        self.with(frame, |s| buf.copy_from_slice(&s[offset..offset + buf.len()]));
    }
    fn write(&self, frame: Frame, offset: usize, data: &[u8]) {
        self.with(frame, |s| s[offset..offset + data.len()].copy_from_slice(data));
    }
}

/// What the toy's `Vmar` allocates from: its frames, counted by `vm`.
pub type ToyFrames = RefcountedFrames<BumpFrames>;
