//! The contract with a real MMU: a frame is never released while a TLB
//! might still hold a translation to it (an `unmap` since the last `flush`),
//! and every operation returns with its rights-removing changes flushed.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use vm::abi::*;
use vm::testing::{SoftPageTable, TestFrames};
use vm::{Frame, FrameAllocator, FrameRefs, NoMemory, PAGE_SIZE, PageTable, PteFlags, Vmar};

const P: usize = PAGE_SIZE;
const RW: usize = PROT_READ | PROT_WRITE;
const PRIV_ANON: usize = MAP_PRIVATE | MAP_ANONYMOUS;

/// Frames unmapped from any table and not flushed yet.
type Stale = Arc<Mutex<HashSet<Frame>>>;

struct Table {
    inner: SoftPageTable,
    stale: Stale,
    /// Frames this table unmapped since its last flush.
    mine: Vec<Frame>,
}

impl PageTable for Table {
    fn map(&mut self, va: usize, frame: Frame, flags: PteFlags) -> Result<(), NoMemory> {
        self.inner.map(va, frame, flags)
    }
    fn unmap(&mut self, va: usize) -> Option<(Frame, PteFlags)> {
        let old = self.inner.unmap(va);
        if let Some((frame, _)) = old {
            self.stale.lock().unwrap().insert(frame);
            self.mine.push(frame);
        }
        old
    }
    fn protect(&mut self, va: usize, flags: PteFlags) -> bool {
        self.inner.protect(va, flags)
    }
    fn query(&self, va: usize) -> Option<(Frame, PteFlags)> {
        self.inner.query(va)
    }
    fn next_present(&self, start: usize, end: usize) -> Option<(usize, Frame, PteFlags)> {
        self.inner.next_present(start, end)
    }
    fn flush(&mut self) {
        self.inner.flush();
        let mut stale = self.stale.lock().unwrap();
        for frame in self.mine.drain(..) {
            stale.remove(&frame);
        }
    }
    fn new_empty(&self) -> Result<Self, NoMemory> {
        Ok(Table { inner: SoftPageTable::new(), stale: self.stale.clone(), mine: Vec::new() })
    }
}

#[derive(Clone)]
struct Frames {
    inner: TestFrames,
    stale: Stale,
}

impl FrameAllocator for Frames {
    fn alloc_zeroed(&self) -> Result<Frame, NoMemory> {
        self.inner.alloc_zeroed()
    }
    fn free(&self, frame: Frame) {
        assert!(!self.stale.lock().unwrap().contains(&frame), "{frame:?} freed before the TLB flush");
        self.inner.free(frame)
    }
    fn read(&self, frame: Frame, offset: usize, buf: &mut [u8]) {
        self.inner.read(frame, offset, buf)
    }
    fn write(&self, frame: Frame, offset: usize, data: &[u8]) {
        self.inner.write(frame, offset, data)
    }
}

impl FrameRefs for Frames {
    fn add_ref(&self, frame: Frame) {
        self.inner.add_ref(frame)
    }
    fn release(&self, frame: Frame) {
        assert!(!self.stale.lock().unwrap().contains(&frame), "{frame:?} released before the TLB flush");
        self.inner.release(frame)
    }
    fn ref_count(&self, frame: Frame) -> usize {
        self.inner.ref_count(frame)
    }
}

fn check_flushed(v: &Vmar<Table, Frames>) {
    assert!(!v.page_table().inner.needs_flush(), "an operation returned with unflushed changes");
    assert!(v.page_table().mine.is_empty());
}

#[test]
fn frames_are_released_only_after_a_flush() {
    let stale = Stale::default();
    let test_frames = TestFrames::new();
    let frames = Frames { inner: test_frames.clone(), stale: stale.clone() };
    let table = Table { inner: SoftPageTable::new(), stale, mine: Vec::new() };
    let mut v = Vmar::new(table, frames);

    // Many pages, to cross the batch size of the release path.
    let a = v.mmap(0, 200 * P, RW, PRIV_ANON, None, 0).unwrap();
    for i in 0..200 {
        v.write_val(a + i * P, i as u32).unwrap();
    }
    check_flushed(&v);
    v.munmap(a + 10 * P, 100 * P).unwrap();
    check_flushed(&v);
    v.mmap(a, 20 * P, PROT_READ, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    check_flushed(&v);
    v.mprotect(a + 150 * P, 10 * P, PROT_READ).unwrap();
    check_flushed(&v);

    // Copy-on-write: the child's write replaces the shared frame.
    let mut child = v.fork().unwrap();
    check_flushed(&v);
    child.write_val(a + 190 * P, 7u32).unwrap();
    check_flushed(&child);
    v.write_val(a + 191 * P, 7u32).unwrap();
    check_flushed(&v);

    // brk shrink.
    v.set_brk_base(0x100_0000);
    v.brk(0x100_0000 + 80 * P);
    for i in 0..80 {
        v.write_val(0x100_0000 + i * P, 1u8).unwrap();
    }
    v.brk(0x100_0000 + P);
    check_flushed(&v);

    drop(child);
    drop(v);
    assert_eq!(test_frames.allocated(), 0);
}

#[test]
fn address_spaces_can_live_behind_a_shared_lock() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<vm::testing::TestVmar>();
    send_sync::<std::sync::Arc<spin::Mutex<vm::testing::TestVmar>>>();
    send_sync::<vm::MapFile>();
}

/// A table that runs out of memory after a number of `map` calls (shared by
/// the tables it creates), or cannot be created at all.
struct Tight {
    inner: SoftPageTable,
    maps_left: Arc<Mutex<usize>>,
    can_create: Arc<Mutex<bool>>,
}

impl PageTable for Tight {
    fn map(&mut self, va: usize, frame: Frame, flags: PteFlags) -> Result<(), NoMemory> {
        let mut left = self.maps_left.lock().unwrap();
        if *left == 0 {
            return Err(NoMemory);
        }
        *left -= 1;
        self.inner.map(va, frame, flags)
    }
    fn unmap(&mut self, va: usize) -> Option<(Frame, PteFlags)> {
        self.inner.unmap(va)
    }
    fn protect(&mut self, va: usize, flags: PteFlags) -> bool {
        self.inner.protect(va, flags)
    }
    fn query(&self, va: usize) -> Option<(Frame, PteFlags)> {
        self.inner.query(va)
    }
    fn next_present(&self, start: usize, end: usize) -> Option<(usize, Frame, PteFlags)> {
        self.inner.next_present(start, end)
    }
    fn flush(&mut self) {
        self.inner.flush()
    }
    fn new_empty(&self) -> Result<Self, NoMemory> {
        if !*self.can_create.lock().unwrap() {
            return Err(NoMemory);
        }
        Ok(Tight {
            inner: SoftPageTable::new(),
            maps_left: self.maps_left.clone(),
            can_create: self.can_create.clone(),
        })
    }
}

#[test]
fn fork_out_of_memory_leaks_nothing_and_leaves_the_parent_working() {
    // fork(2) ENOMEM: "fork() failed to allocate the necessary kernel
    // structures because memory is tight."
    let frames = TestFrames::new();
    let maps_left = Arc::new(Mutex::new(usize::MAX));
    let can_create = Arc::new(Mutex::new(false));
    let table =
        Tight { inner: SoftPageTable::new(), maps_left: maps_left.clone(), can_create: can_create.clone() };
    let mut v = Vmar::new(table, frames.clone());
    let a = v.mmap(0, 10 * P, RW, PRIV_ANON, None, 0).unwrap();
    for i in 0..10 {
        v.write_val(a + i * P, i as u8).unwrap();
    }
    // No table for the child at all.
    assert_eq!(v.fork().err(), Some(linux_abi::Errno::ENOMEM));
    // The child's table fills up after 4 of 10 pages.
    *can_create.lock().unwrap() = true;
    *maps_left.lock().unwrap() = 4;
    assert_eq!(v.fork().err(), Some(linux_abi::Errno::ENOMEM));
    assert_eq!(frames.allocated(), 10);
    for i in 0..10 {
        let frame = v.page_table().query(a + i * P).unwrap().0;
        assert_eq!(frames.ref_count(frame), 1, "the failed child's references are gone");
    }
    // The parent's pages may be write-protected now; writing reuses them.
    *maps_left.lock().unwrap() = usize::MAX;
    for i in 0..10 {
        v.write_val(a + i * P, 0xffu8).unwrap();
        assert_eq!(v.read_val::<u8>(a + i * P), Ok(0xff));
    }
    assert_eq!(v.cow_copies(), 0);
    assert_eq!(frames.allocated(), 10);
    drop(v);
    assert_eq!(frames.allocated(), 0);
}
