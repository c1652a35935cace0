//! A software MMU for host tests (ours and other crates'): physical memory as
//! a vector of frames with reference counts (its own, or kept by
//! [`RefcountedFrames`](crate::RefcountedFrames) around it), a page table as a sorted map,
//! a page source over a byte vector, and helpers that access user memory
//! the way the CPU does (through the page table, calling the fault handler
//! when the entry does not allow the access).
//!
//! ```
//! use vm::testing::{TestFrames, test_vmar};
//! let frames = TestFrames::new();
//! let mut vmar = test_vmar(&frames);
//! let a = vmar.mmap(0, 4096, 3, 0x22, None, 0).unwrap(); // RW, MAP_PRIVATE|MAP_ANONYMOUS
//! assert_eq!(frames.allocated(), 0); // demand paging
//! vmar.write_val(a, 7u32).unwrap();
//! assert_eq!(frames.allocated(), 1);
//! drop(vmar);
//! assert_eq!(frames.allocated(), 0);
//! ```

use alloc::{boxed::Box, collections::BTreeMap, sync::Arc, vec, vec::Vec};

use linux_abi::Errno;

use crate::mmu::{Frame, FrameAllocator, FrameRefs, NoMemory, PAGE_SIZE, PageTable, PteFlags};
use crate::source::PageSource;
use crate::vmar::{Access, FaultOutcome, Vmar};

/// Where the software "physical memory" starts (frame 0x100).
const PHYS_BASE: u64 = 0x10_0000;

struct Slot {
    count: usize,
    /// `None` while the frame is all zeroes (saves host memory).
    data: Option<Box<[u8]>>,
}

#[derive(Default)]
struct Memory {
    slots: Vec<Slot>,
    free: Vec<usize>,
    allocated: usize,
    limit: Option<usize>,
    total_allocations: u64,
}

impl Memory {
    fn slot(&mut self, frame: Frame) -> &mut Slot {
        let index = frame
            .phys_addr()
            .checked_sub(PHYS_BASE)
            .map(|off| (off / PAGE_SIZE as u64) as usize)
            .filter(|&i| i < self.slots.len());
        match index {
            Some(i) if self.slots[i].count > 0 => &mut self.slots[i],
            _ => panic!("TestFrames: {frame:?} is not an allocated frame"),
        }
    }
}

/// Software physical memory: frames with reference counts, shared by every
/// clone (clone it into each address space and page source).
///
/// Panics on misuse (a reference to a free frame), since that is a bug in
/// the code under test.
#[derive(Clone, Default)]
pub struct TestFrames {
    memory: Arc<spin::Mutex<Memory>>,
}

impl TestFrames {
    /// Empty memory with no limit on the number of frames.
    pub fn new() -> Self {
        Self::default()
    }

    /// Memory that holds at most `frames` frames at a time (for
    /// out-of-memory tests).
    pub fn with_limit(frames: usize) -> Self {
        let this = Self::new();
        this.set_limit(Some(frames));
        this
    }

    /// Changes the limit on live frames.
    pub fn set_limit(&self, frames: Option<usize>) {
        self.memory.lock().limit = frames;
    }

    /// Frames currently allocated (every test ends with 0).
    pub fn allocated(&self) -> usize {
        self.memory.lock().allocated
    }

    /// Frames allocated since creation.
    pub fn total_allocations(&self) -> u64 {
        self.memory.lock().total_allocations
    }
}

impl FrameAllocator for TestFrames {
    fn alloc_zeroed(&self) -> Result<Frame, NoMemory> {
        let mut m = self.memory.lock();
        if m.limit.is_some_and(|limit| m.allocated >= limit) {
            return Err(NoMemory);
        }
        let index = match m.free.pop() {
            Some(i) => {
                m.slots[i] = Slot { count: 1, data: None };
                i
            }
            None => {
                m.slots.push(Slot { count: 1, data: None });
                m.slots.len() - 1
            }
        };
        m.allocated += 1;
        m.total_allocations += 1;
        Ok(Frame::containing(PHYS_BASE + (index * PAGE_SIZE) as u64))
    }

    /// Frees a frame with one reference (panics on a shared one: the
    /// caller should have released it).
    fn free(&self, frame: Frame) {
        let count = self.memory.lock().slot(frame).count;
        assert_eq!(count, 1, "TestFrames: free of {frame:?} with {count} references");
        self.release(frame);
    }

    fn read(&self, frame: Frame, offset: usize, buf: &mut [u8]) {
        let mut m = self.memory.lock();
        match &m.slot(frame).data {
            Some(data) => buf.copy_from_slice(&data[offset..offset + buf.len()]),
            None => {
                assert!(offset + buf.len() <= PAGE_SIZE);
                buf.fill(0);
            }
        }
    }

    fn write(&self, frame: Frame, offset: usize, data: &[u8]) {
        let mut m = self.memory.lock();
        let slot = m.slot(frame);
        let bytes = slot.data.get_or_insert_with(|| vec![0u8; PAGE_SIZE].into_boxed_slice());
        bytes[offset..offset + data.len()].copy_from_slice(data);
    }

    fn copy_frame(&self, src: Frame, dst: Frame) {
        let mut m = self.memory.lock();
        let data = m.slot(src).data.clone();
        m.slot(dst).data = data;
    }
}

/// The counts kept in the frames' slots (as a kernel with a count per
/// frame keeps them); wrap a `TestFrames` in
/// [`RefcountedFrames`](crate::RefcountedFrames) to test that one instead.
impl FrameRefs for TestFrames {
    fn add_ref(&self, frame: Frame) {
        self.memory.lock().slot(frame).count += 1;
    }

    fn release(&self, frame: Frame) {
        let mut m = self.memory.lock();
        let slot = m.slot(frame);
        slot.count -= 1;
        if slot.count == 0 {
            slot.data = None;
            m.allocated -= 1;
            let index = ((frame.phys_addr() - PHYS_BASE) / PAGE_SIZE as u64) as usize;
            m.free.push(index);
        }
    }

    fn ref_count(&self, frame: Frame) -> usize {
        self.memory.lock().slot(frame).count
    }
}

/// A software page table: a sorted map from page address to entry.
///
/// Panics on misuse (mapping a present page, an unaligned address), since
/// that is a bug in the code under test. Counts flushes so tests can check
/// TLB discipline.
#[derive(Default)]
pub struct SoftPageTable {
    entries: BTreeMap<usize, (Frame, PteFlags)>,
    flushes: u64,
    unflushed: bool,
}

impl SoftPageTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Present entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is present.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Calls to `flush` so far.
    pub fn flushes(&self) -> u64 {
        self.flushes
    }

    /// Whether an `unmap`, or a `protect` that removed rights, has happened
    /// since the last flush.
    pub fn needs_flush(&self) -> bool {
        self.unflushed
    }
}

impl PageTable for SoftPageTable {
    fn map(&mut self, va: usize, frame: Frame, flags: PteFlags) -> Result<(), NoMemory> {
        assert_eq!(va % PAGE_SIZE, 0, "SoftPageTable::map: unaligned {va:#x}");
        let old = self.entries.insert(va, (frame, flags));
        assert!(old.is_none(), "SoftPageTable::map: {va:#x} is already mapped");
        Ok(())
    }

    fn unmap(&mut self, va: usize) -> Option<(Frame, PteFlags)> {
        let old = self.entries.remove(&va);
        self.unflushed |= old.is_some();
        old
    }

    fn protect(&mut self, va: usize, flags: PteFlags) -> bool {
        match self.entries.get_mut(&va) {
            Some(entry) => {
                // Only a change that removes rights needs a flush.
                self.unflushed |= !flags.contains(entry.1);
                entry.1 = flags;
                true
            }
            None => false,
        }
    }

    fn query(&self, va: usize) -> Option<(Frame, PteFlags)> {
        self.entries.get(&va).copied()
    }

    fn next_present(&self, start: usize, end: usize) -> Option<(usize, Frame, PteFlags)> {
        if start >= end {
            return None;
        }
        self.entries.range(start..end).next().map(|(&va, &(frame, flags))| (va, frame, flags))
    }

    fn flush(&mut self) {
        self.flushes += 1;
        self.unflushed = false;
    }

    fn new_empty(&self) -> Result<Self, NoMemory> {
        Ok(Self::new())
    }
}

/// The address space type of host tests.
pub type TestVmar = Vmar<SoftPageTable, TestFrames>;

/// An empty address space over `frames` with the default layout.
pub fn test_vmar(frames: &TestFrames) -> TestVmar {
    Vmar::new(SoftPageTable::new(), frames.clone())
}

/// A user-mode load of `buf.len()` bytes at `addr`, as the CPU does it: through
/// the page table, with a page fault (and the handler's outcome) whenever an
/// entry is missing or forbids the access.
pub fn cpu_load<P: PageTable, A: FrameRefs + Clone + 'static>(
    vmar: &mut Vmar<P, A>,
    addr: usize,
    buf: &mut [u8],
) -> Result<(), FaultOutcome> {
    cpu_access(vmar, addr, buf.len(), Access::Read, |alloc, frame, offset, range| {
        alloc.read(frame, offset, &mut buf[range]);
    })
}

/// A user-mode store of `data` at `addr`, as the CPU does it.
pub fn cpu_store<P: PageTable, A: FrameRefs + Clone + 'static>(
    vmar: &mut Vmar<P, A>,
    addr: usize,
    data: &[u8],
) -> Result<(), FaultOutcome> {
    cpu_access(vmar, addr, data.len(), Access::Write, |alloc, frame, offset, range| {
        alloc.write(frame, offset, &data[range]);
    })
}

/// A user-mode instruction fetch from the page at `addr`, as the CPU does it.
pub fn cpu_fetch<P: PageTable, A: FrameRefs + Clone + 'static>(
    vmar: &mut Vmar<P, A>,
    addr: usize,
) -> Result<(), FaultOutcome> {
    cpu_access(vmar, addr, 1, Access::Execute, |_, _, _, _| {})
}

fn cpu_access<P: PageTable, A: FrameRefs + Clone + 'static>(
    vmar: &mut Vmar<P, A>,
    addr: usize,
    len: usize,
    access: Access,
    mut f: impl FnMut(&A, Frame, usize, core::ops::Range<usize>),
) -> Result<(), FaultOutcome> {
    let mut done = 0;
    while done < len {
        let va = addr + done;
        let offset = va % PAGE_SIZE;
        let n = (PAGE_SIZE - offset).min(len - done);
        let frame = vmar.access_frame(va, access)?;
        f(vmar.allocator(), frame, offset, done..done + n);
        done += n;
    }
    Ok(())
}

/// A file's page cache in software: the contents of a byte vector, each
/// page read into a frame on first use and kept (holding one reference)
/// until the file is dropped. Pages wholly past the end give `EIO` (SIGBUS).
pub struct TestFile {
    frames: TestFrames,
    contents: Vec<u8>,
    cache: spin::Mutex<BTreeMap<u64, Frame>>,
}

impl TestFile {
    /// A file with these contents.
    pub fn new(frames: &TestFrames, contents: &[u8]) -> Arc<TestFile> {
        Arc::new(TestFile {
            frames: frames.clone(),
            contents: contents.to_vec(),
            cache: spin::Mutex::new(BTreeMap::new()),
        })
    }

    /// Pages currently cached.
    pub fn cached_pages(&self) -> usize {
        self.cache.lock().len()
    }

    /// The current contents of the page at `offset` as the cache holds it
    /// (shared writes land here), or the file's bytes if not cached.
    pub fn page_contents(&self, offset: u64) -> Vec<u8> {
        let mut out = vec![0u8; PAGE_SIZE];
        match self.cache.lock().get(&offset) {
            Some(&frame) => self.frames.read(frame, 0, &mut out),
            None => {
                let start = (offset as usize).min(self.contents.len());
                let end = (start + PAGE_SIZE).min(self.contents.len());
                out[..end - start].copy_from_slice(&self.contents[start..end]);
            }
        }
        out
    }
}

impl PageSource for TestFile {
    fn page(&self, offset: u64) -> Result<Frame, Errno> {
        if offset >= self.contents.len() as u64 {
            return Err(Errno::EIO);
        }
        let mut cache = self.cache.lock();
        let frame = match cache.get(&offset) {
            Some(&frame) => frame,
            None => {
                let frame = self.frames.alloc_zeroed().map_err(|NoMemory| Errno::ENOMEM)?;
                let start = offset as usize;
                let end = (start + PAGE_SIZE).min(self.contents.len());
                self.frames.write(frame, 0, &self.contents[start..end]);
                cache.insert(offset, frame);
                frame
            }
        };
        self.frames.add_ref(frame);
        Ok(frame)
    }

    fn cached_page(&self, offset: u64) -> Option<Frame> {
        let frame = *self.cache.lock().get(&offset)?;
        self.frames.add_ref(frame);
        Some(frame)
    }
}

impl Drop for TestFile {
    fn drop(&mut self) {
        for frame in core::mem::take(&mut *self.cache.lock()).into_values() {
            self.frames.release(frame);
        }
    }
}
