//! The two traits this crate needs from the machine: a page table and a frame
//! allocator, plus the small types they speak in.

use alloc::vec::Vec;

use linux_abi::Errno;

/// The size of a page and of a frame: 4 KiB.
pub const PAGE_SIZE: usize = 4096;

/// `log2(PAGE_SIZE)`.
pub const PAGE_SHIFT: u32 = 12;

/// Rounds `addr` down to a page boundary.
pub const fn page_floor(addr: usize) -> usize {
    addr & !(PAGE_SIZE - 1)
}

/// Rounds `len` up to a page boundary, or `None` on overflow.
pub const fn page_ceil(len: usize) -> Option<usize> {
    match len.checked_add(PAGE_SIZE - 1) {
        Some(v) => Some(v & !(PAGE_SIZE - 1)),
        None => None,
    }
}

/// Whether `addr` is a multiple of [`PAGE_SIZE`].
pub const fn is_page_aligned(addr: usize) -> bool {
    addr & (PAGE_SIZE - 1) == 0
}

/// A physical frame of [`PAGE_SIZE`] bytes, named by its physical address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Frame(u64);

impl Frame {
    /// The frame starting at physical address `pa`, or `None` when `pa` is not
    /// page aligned.
    pub const fn from_phys_addr(pa: u64) -> Option<Frame> {
        if pa & (PAGE_SIZE as u64 - 1) == 0 { Some(Frame(pa)) } else { None }
    }

    /// The frame containing physical address `pa`.
    pub const fn containing(pa: u64) -> Frame {
        Frame(pa & !(PAGE_SIZE as u64 - 1))
    }

    /// The frame with frame number `pfn` (physical address `pfn << 12`); the
    /// number is truncated to what fits in 64 bits of address.
    pub const fn from_number(pfn: u64) -> Frame {
        Frame(pfn << PAGE_SHIFT)
    }

    /// The physical address of the frame's first byte.
    pub const fn phys_addr(self) -> u64 {
        self.0
    }

    /// The frame number (physical address >> 12).
    pub const fn number(self) -> u64 {
        self.0 >> PAGE_SHIFT
    }
}

bitflags::bitflags! {
    /// What user mode may do through one page-table entry. A present entry
    /// with none of these bits maps the page for the kernel only (the page of
    /// a `PROT_NONE` mapping keeps its contents but user access faults).
    ///
    /// On x86_64: `USER` is the U/S bit, `WRITABLE` the R/W bit, and
    /// `EXECUTABLE` the inverse of NX. Reading needs only `USER` there; an
    /// MMU with a read permission (aarch64, riscv64) maps `READ` to it.
    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
    pub struct PteFlags: u8 {
        /// User mode may read (and, with the other bits, write or execute).
        const USER = 1 << 0;
        /// Writes are allowed.
        const WRITABLE = 1 << 1;
        /// Instruction fetches are allowed.
        const EXECUTABLE = 1 << 2;
        /// Reads are allowed: set with `USER` for every page of a mapping
        /// with `PROT_READ` or `PROT_WRITE` (Linux maps write-only as
        /// read-write), not for an execute-only one. A table whose user
        /// pages are always readable (x86_64) may ignore it and need not
        /// report it back from `query`: this crate never relies on it.
        const READ = 1 << 3;
    }
}

/// The machine is out of frames (or of memory for page-table pages).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NoMemory;

impl From<NoMemory> for Errno {
    fn from(_: NoMemory) -> Errno {
        Errno::ENOMEM
    }
}

/// Physical frames: allocation, freeing and byte access (your physical
/// memory manager). Nothing more: reference counts are [`FrameRefs`], which
/// [`RefcountedFrames`](crate::RefcountedFrames) provides over any
/// `FrameAllocator`.
///
/// Byte access goes through the allocator because a real kernel reaches a
/// frame through its direct map of physical memory. `offset + len` never
/// exceeds [`PAGE_SIZE`] in calls from this crate.
///
/// The allocator is shared by every address space (and by page sources), so
/// every method takes `&self`; implementations use interior locking.
pub trait FrameAllocator: Send + Sync {
    /// A zero-filled frame.
    fn alloc_zeroed(&self) -> Result<Frame, NoMemory>;

    /// A frame whose bytes are unspecified, for a caller that writes every
    /// byte it later reads (a pipe's buffer page, as Linux's pipe_write
    /// takes a page without `__GFP_ZERO`). The default zero-fills.
    fn alloc_uninit(&self) -> Result<Frame, NoMemory> {
        self.alloc_zeroed()
    }

    /// Gives back a frame that nothing uses any more. Through
    /// [`FrameRefs`] this crate never calls it directly: it drops
    /// references with [`FrameRefs::release`], which frees the frame with
    /// the last one.
    fn free(&self, frame: Frame);

    /// Copies `buf.len()` bytes out of `frame`, starting at `offset`.
    fn read(&self, frame: Frame, offset: usize, buf: &mut [u8]);

    /// Copies `data` into `frame`, starting at `offset`.
    fn write(&self, frame: Frame, offset: usize, data: &[u8]);

    /// Copies the whole contents of `src` into `dst` (a copy-on-write copy).
    /// The default goes through a small stack buffer; a real kernel copies
    /// directly between the two direct-map addresses.
    fn copy_frame(&self, src: Frame, dst: Frame) {
        let mut buf = [0u8; 512];
        let mut offset = 0;
        while offset < PAGE_SIZE {
            self.read(src, offset, &mut buf);
            self.write(dst, offset, &buf);
            offset += buf.len();
        }
    }
}

/// Frames with reference counts: what a [`Vmar`](crate::Vmar) allocates
/// from. A frame is shared by the address spaces a fork made (until a
/// copy-on-write copy) and by a page source's cache and its mappings.
///
/// A frame from [`alloc_zeroed`](FrameAllocator::alloc_zeroed) or
/// [`alloc_uninit`](FrameAllocator::alloc_uninit) has count 1;
/// [`add_ref`](Self::add_ref) raises it and [`release`](Self::release)
/// lowers it, freeing the frame when it reaches 0. Copy-on-write asks
/// [`ref_count`](Self::ref_count) whether a write fault must copy (count
/// above 1) or may take the frame over (count 1).
///
/// Two ways to have it: wrap a plain [`FrameAllocator`] in
/// [`RefcountedFrames`](crate::RefcountedFrames) (this crate keeps the
/// counts, 4 bytes a frame, behind a lock of its own), or implement it for
/// a kernel that already keeps a count per frame (Linux's `struct page`;
/// kernel-bin's table of atomic counts), where the counts cost no lock.
pub trait FrameRefs: FrameAllocator {
    /// Adds one reference to a live frame.
    fn add_ref(&self, frame: Frame);

    /// Drops one reference; the frame is freed when the count reaches zero.
    fn release(&self, frame: Frame);

    /// The current reference count of a live frame.
    fn ref_count(&self, frame: Frame) -> usize;

    /// [`add_ref`](Self::add_ref) for a caller whose own reference to
    /// `frame` no one else can use or drop meanwhile: fork, whose
    /// reference is an entry of the page table it holds locked (not a page
    /// cache's reference, which other address spaces map from at the same
    /// time). Then a count of 1 is the caller's alone and nothing else can
    /// change it, so a table of atomic counts may raise it with a plain
    /// store instead of a locked instruction (which a multi-threaded
    /// emulator runs as a costly atomic helper). The default is `add_ref`.
    fn add_ref_exclusive(&self, frame: Frame) {
        self.add_ref(frame);
    }
}

/// The user half of one address space's page table (4 KiB pages).
///
/// Virtual addresses passed in are page aligned and below the user limit.
/// The page table does not own the frames it maps: the address space adds
/// and drops their references, and `unmap` hands the frame back to it. The
/// table owns its own table pages (a real one frees them when dropped; the
/// address space unmaps every page before it drops its table).
///
/// TLB: an implementation may defer invalidation. After `unmap` or a
/// `protect` that removes rights, the old translation may stay usable until
/// [`flush`](Self::flush); the address space calls `flush` before it releases
/// an unmapped frame and before every operation returns. Adding rights
/// (`map`, `protect` to more rights) needs no flush: a stale entry at worst
/// causes a spurious fault, which `handle_page_fault` resolves at once.
pub trait PageTable {
    /// The page size this table maps. The address space works in
    /// [`PAGE_SIZE`] (4 KiB) pages: [`Vmar::new`](crate::Vmar::new) refuses
    /// (at compile time) a table with another size.
    const PAGE_SIZE: usize = PAGE_SIZE;

    /// Maps the page at `va` to `frame`. The page is not mapped (the address
    /// space never maps over a present entry). Fails only when a page-table
    /// page cannot be allocated.
    fn map(&mut self, va: usize, frame: Frame, flags: PteFlags) -> Result<(), NoMemory>;

    /// Removes the entry for `va` and returns what it held, if anything.
    fn unmap(&mut self, va: usize) -> Option<(Frame, PteFlags)>;

    /// Changes the flags of the present entry for `va`; returns `false` (and
    /// changes nothing) if `va` is not mapped. The default replaces the
    /// entry through [`query`](Self::query), [`unmap`](Self::unmap) and
    /// [`map`](Self::map) (a map of entries; a real table edits the entry in
    /// place).
    fn protect(&mut self, va: usize, flags: PteFlags) -> bool {
        let Some((frame, _)) = self.query(va) else { return false };
        self.unmap(va);
        self.map(va, frame, flags).is_ok()
    }

    /// The frame and flags `va` maps to, if present.
    fn query(&self, va: usize) -> Option<(Frame, PteFlags)>;

    /// The lowest present page `va` with `start <= va < end`, with its entry.
    /// A real table skips empty subtrees, so walking a mapping costs time in
    /// proportion to its present pages, not its size (fork depends on this).
    fn next_present(&self, start: usize, end: usize) -> Option<(usize, Frame, PteFlags)>;

    /// Makes all earlier `unmap` and `protect` calls visible to every CPU
    /// using this table (invalidate TLB entries, shoot down other CPUs).
    fn flush(&mut self);

    /// Like [`flush`](Self::flush) when every `unmap` and `protect` since
    /// the last flush was in `[start, end)` (the address space says so when
    /// it knows: one page after a copy-on-write copy, an mprotect's range),
    /// so a table may invalidate just those pages (`invlpg`) instead of the
    /// whole TLB. The default flushes everything.
    fn flush_range(&mut self, start: usize, end: usize) {
        let _ = (start, end);
        self.flush();
    }

    /// Calls `visit` for every present page `va` with `start <= va < end`,
    /// with its entry, in any order; `visit` must not change the table.
    /// The default walks [`next_present`](Self::next_present): as cheap as
    /// that is. A table without an ordered walk (a hash map of pages, whose
    /// `next_present` must scan every entry) overrides this with one pass
    /// over its entries, which keeps the default [`fork_range`] and
    /// [`unmap_range`] linear in the table's size instead of quadratic.
    ///
    /// [`fork_range`]: Self::fork_range
    /// [`unmap_range`]: Self::unmap_range
    fn for_each_present(&self, start: usize, end: usize, visit: &mut dyn FnMut(usize, Frame, PteFlags)) {
        let mut va = start;
        while let Some((page, frame, flags)) = self.next_present(va, end) {
            visit(page, frame, flags);
            match page.checked_add(PAGE_SIZE) {
                Some(next) => va = next,
                None => break,
            }
        }
    }

    /// A new, empty table of the same kind (on x86_64: a new top-level table
    /// that shares the kernel half), for fork and exec.
    fn new_empty(&self) -> Result<Self, NoMemory>
    where
        Self: Sized;

    /// fork's copy of `[start, end)`: every present page of this table is
    /// mapped at the same address in `child` (which has nothing mapped
    /// there) with the same flags; with `cow`, `WRITABLE` is removed from
    /// the entry in both tables. `share` is called once for every page
    /// mapped in `child`, with its frame (the caller adds the reference).
    ///
    /// Removing write access may be deferred like [`protect`](Self::protect):
    /// the caller calls [`flush`](Self::flush) on this table afterwards.
    /// On `Err` (no memory for a page-table page of `child`) the pages
    /// reported to `share` so far stay mapped in `child`.
    ///
    /// The default lists the present pages once through
    /// [`for_each_present`](Self::for_each_present) (a list of 16 bytes a
    /// page, `NoMemory` if it cannot be had) and then goes page by page
    /// through `protect` and `child.map`: O(pages) plus the walk's cost; a
    /// real table walks its levels, skipping empty subtrees, and copies
    /// leaf tables in one pass.
    fn fork_range(
        &mut self,
        child: &mut Self,
        start: usize,
        end: usize,
        cow: bool,
        share: &mut dyn FnMut(Frame),
    ) -> Result<(), NoMemory>
    where
        Self: Sized,
    {
        let pages = present_pages(self, start, end)?;
        for (page, frame, mut flags) in pages {
            if cow && flags.contains(PteFlags::WRITABLE) {
                flags.remove(PteFlags::WRITABLE);
                self.protect(page, flags);
            }
            child.map(page, frame, flags)?;
            share(frame);
        }
        Ok(())
    }

    /// Removes every present entry in `[start, end)` and calls `release`
    /// once for each removed frame, only after the old translations can no
    /// longer be used (the TLB is flushed), so the frame may be freed at
    /// once. The default lists the present pages once through
    /// [`for_each_present`](Self::for_each_present) (page by page through
    /// [`next_present`](Self::next_present) if the list cannot be
    /// allocated), unmaps them and flushes every 64 pages.
    fn unmap_range(&mut self, start: usize, end: usize, release: &mut dyn FnMut(Frame)) {
        let mut batch = [Frame::from_number(0); 64];
        let mut len = 0;
        let mut unmap_one = |pt: &mut Self, page: usize| {
            if let Some((frame, _)) = pt.unmap(page) {
                if len == batch.len() {
                    pt.flush();
                    batch.iter().for_each(|&f| release(f));
                    len = 0;
                }
                batch[len] = frame;
                len += 1;
            }
        };
        if let Ok(pages) = present_pages(self, start, end) {
            for (page, _, _) in pages {
                unmap_one(self, page);
            }
        } else {
            let mut va = start;
            while let Some((page, _, _)) = self.next_present(va, end) {
                unmap_one(self, page);
                match page.checked_add(PAGE_SIZE) {
                    Some(next) => va = next,
                    None => break,
                }
            }
        }
        if len > 0 {
            self.flush();
            batch[..len].iter().for_each(|&f| release(f));
        }
    }
}

/// The present pages of `[start, end)` of `pt`, listed once.
pub(crate) fn present_pages<P: PageTable + ?Sized>(
    pt: &P,
    start: usize,
    end: usize,
) -> Result<Vec<(usize, Frame, PteFlags)>, NoMemory> {
    let mut pages = Vec::new();
    let mut failed = false;
    pt.for_each_present(start, end, &mut |page, frame, flags| {
        if failed || pages.try_reserve(1).is_err() {
            failed = true;
        } else {
            pages.push((page, frame, flags));
        }
    });
    if failed { Err(NoMemory) } else { Ok(pages) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_arithmetic() {
        assert_eq!(page_floor(0x1fff), 0x1000);
        assert_eq!(page_ceil(0x1001), Some(0x2000));
        assert_eq!(page_ceil(0x1000), Some(0x1000));
        assert_eq!(page_ceil(0), Some(0));
        assert_eq!(page_ceil(usize::MAX), None);
        assert_eq!(page_ceil(usize::MAX - PAGE_SIZE + 1), Some(usize::MAX - PAGE_SIZE + 1));
        assert!(is_page_aligned(0x7000) && !is_page_aligned(0x7001));
    }

    #[test]
    fn frames_by_address_and_number() {
        let f = Frame::from_number(0x1234);
        assert_eq!(f.phys_addr(), 0x123_4000);
        assert_eq!(f.number(), 0x1234);
        assert_eq!(Frame::from_phys_addr(0x123_4000), Some(f));
        assert_eq!(Frame::from_phys_addr(0x123_4001), None);
        assert_eq!(Frame::containing(0x123_4fff), f);
        assert_eq!(Errno::from(NoMemory), Errno::ENOMEM);
    }
}

#[cfg(all(test, feature = "testing"))]
mod range_tests {
    use super::*;
    use crate::testing::{SoftPageTable, TestFrames};
    use alloc::vec::Vec;

    const RW: PteFlags = PteFlags::USER.union(PteFlags::WRITABLE);
    const RX: PteFlags = PteFlags::USER.union(PteFlags::EXECUTABLE);

    fn table(frames: &TestFrames, pages: &[(usize, PteFlags)]) -> (SoftPageTable, Vec<Frame>) {
        let mut pt = SoftPageTable::new();
        let mut fs = Vec::new();
        for &(va, flags) in pages {
            let f = frames.alloc_zeroed().unwrap();
            pt.map(va, f, flags).unwrap();
            fs.push(f);
        }
        (pt, fs)
    }

    #[test]
    fn fork_range_copies_present_pages_and_write_protects_with_cow() {
        let frames = TestFrames::new();
        let pages = [(0x1000, RW), (0x3000, RX), (0x8000, RW), (0x9000, RW)];
        let (mut pt, fs) = table(&frames, &pages);
        let mut child = pt.new_empty().unwrap();
        let mut shared = Vec::new();
        pt.fork_range(&mut child, 0x1000, 0x9000, true, &mut |f| shared.push(f)).unwrap();
        assert_eq!(shared, fs[..3], "only the pages inside the range, in order");
        assert!(pt.needs_flush(), "write access removed: a flush is owed");
        for &(va, flags) in &pages[..3] {
            assert_eq!(pt.query(va).map(|e| e.1), Some(flags - PteFlags::WRITABLE));
            assert_eq!(child.query(va), pt.query(va));
        }
        assert_eq!(child.query(0x9000), None);
        assert_eq!(pt.query(0x9000), Some((fs[3], RW)), "outside the range: untouched");
        let mut n = 0;
        pt.unmap_range(0, usize::MAX, &mut |f| {
            frames.release(f);
            n += 1;
        });
        assert_eq!(n, 4);
        child.unmap_range(0, usize::MAX, &mut |_| {});
        assert_eq!(frames.allocated(), 0);
    }

    #[test]
    fn fork_range_without_cow_keeps_write_access() {
        let frames = TestFrames::new();
        let (mut pt, fs) = table(&frames, &[(0x5000, RW)]);
        let mut child = pt.new_empty().unwrap();
        let mut n = 0;
        pt.fork_range(&mut child, 0, 0x10000, false, &mut |_| n += 1).unwrap();
        assert_eq!(n, 1);
        assert!(!pt.needs_flush());
        assert_eq!(child.query(0x5000), Some((fs[0], RW)));
        assert_eq!(pt.query(0x5000), Some((fs[0], RW)));
    }

    #[test]
    fn unmap_range_flushes_before_releasing_in_batches() {
        let frames = TestFrames::new();
        let pages: Vec<(usize, PteFlags)> = (0..150).map(|i| (0x10000 + i * PAGE_SIZE, RW)).collect();
        let (mut pt, fs) = table(&frames, &pages);
        let before = pt.flushes();
        let mut released = Vec::new();
        pt.unmap_range(0x10000 + 10 * PAGE_SIZE, 0x10000 + 140 * PAGE_SIZE, &mut |f| released.push(f));
        assert_eq!(released, fs[10..140]);
        assert!(pt.flushes() >= before + 3, "130 pages: three batches of at most 64");
        assert!(!pt.needs_flush());
        assert_eq!(pt.len(), 20);
        assert_eq!(pt.next_present(0x10000 + 10 * PAGE_SIZE, 0x10000 + 140 * PAGE_SIZE), None);
    }
}
