//! `vm`'s seams: a hash-map page table and a bump-and-free frame allocator.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use vm::{Frame, FrameAllocator, NoMemory, PAGE_SIZE, PageTable, PteFlags};

/// A page table that is a hash map from page address to entry.
#[derive(Default)]
pub struct HashPageTable(HashMap<usize, (Frame, PteFlags)>);

impl PageTable for HashPageTable {
    fn map(&mut self, va: usize, frame: Frame, flags: PteFlags) -> Result<(), NoMemory> {
        self.0.insert(va, (frame, flags));
        Ok(())
    }
    fn unmap(&mut self, va: usize) -> Option<(Frame, PteFlags)> {
        self.0.remove(&va)
    }
    fn protect(&mut self, va: usize, flags: PteFlags) -> bool {
        self.0.get_mut(&va).map(|e| e.1 = flags).is_some()
    }
    fn query(&self, va: usize) -> Option<(Frame, PteFlags)> {
        self.0.get(&va).copied()
    }
    fn next_present(&self, start: usize, end: usize) -> Option<(usize, Frame, PteFlags)> {
        let hit = self.0.iter().filter(|(va, _)| (start..end).contains(*va)).min_by_key(|(va, _)| **va);
        hit.map(|(&va, &(f, fl))| (va, f, fl))
    }
    fn for_each_present(&self, start: usize, end: usize, visit: &mut dyn FnMut(usize, Frame, PteFlags)) {
        self.0
            .iter()
            .filter(|(va, _)| (start..end).contains(*va))
            .for_each(|(&va, &(f, fl))| visit(va, f, fl));
    }
    fn flush(&mut self) {}
    fn new_empty(&self) -> Result<Self, NoMemory> {
        Ok(Self::default())
    }
}

/// Frames numbered from 1, handed out by a bump pointer and a free list.
#[derive(Default)]
struct Pool {
    frames: Vec<(usize, Box<[u8; PAGE_SIZE]>)>,
    free: Vec<usize>,
}

/// The frame allocator: shared by every address space.
#[derive(Clone, Default)]
pub struct BumpFrames(Arc<Mutex<Pool>>);

impl BumpFrames {
    /// Frames in use.
    pub fn in_use(&self) -> usize {
        let pool = self.0.lock().unwrap();
        pool.frames.len() - pool.free.len()
    }
    fn with<R>(&self, f: Frame, op: impl FnOnce(&mut (usize, Box<[u8; PAGE_SIZE]>)) -> R) -> R {
        op(&mut self.0.lock().unwrap().frames[f.number() as usize - 1])
    }
}

impl FrameAllocator for BumpFrames {
    fn alloc_zeroed(&self) -> Result<Frame, NoMemory> {
        let mut pool = self.0.lock().unwrap();
        let n = match pool.free.pop() {
            Some(n) => n,
            None => {
                pool.frames.push((0, Box::new([0; PAGE_SIZE])));
                pool.frames.len()
            }
        };
        pool.frames[n - 1] = (1, Box::new([0; PAGE_SIZE]));
        Ok(Frame::from_number(n as u64))
    }
    fn add_ref(&self, frame: Frame) {
        self.with(frame, |e| e.0 += 1);
    }
    fn release(&self, frame: Frame) {
        if self.with(frame, |e| {
            e.0 -= 1;
            e.0 == 0
        }) {
            self.0.lock().unwrap().free.push(frame.number() as usize);
        }
    }
    fn ref_count(&self, frame: Frame) -> usize {
        self.with(frame, |e| e.0)
    }
    fn read(&self, frame: Frame, offset: usize, buf: &mut [u8]) {
        self.with(frame, |e| buf.copy_from_slice(&e.1[offset..offset + buf.len()]));
    }
    fn write(&self, frame: Frame, offset: usize, data: &[u8]) {
        self.with(frame, |e| e.1[offset..offset + data.len()].copy_from_slice(data));
    }
}
