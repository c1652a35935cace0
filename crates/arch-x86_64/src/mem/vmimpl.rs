//! The machine side of `crates/vm`: [`KernelFrames`] (frames with reference
//! counts, reached through the direct map) and `vm::PageTable` for
//! [`AddressSpace`] (x86_64 4-level tables; the lower half only).

use super::frames;
use super::paging::AddressSpace;
use super::{PAGE_SIZE, phys_to_virt};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use spin::Once;
use vm::{Frame, FrameAllocator, FrameRefs, NoMemory, PageTable, PteFlags};
use x86_64::structures::paging::{PageTableFlags as F, PhysFrame};
use x86_64::{PhysAddr, VirtAddr};

/// One count per frame of RAM (allocated on first use, on the heap).
static REFCOUNTS: Once<Vec<AtomicU32>> = Once::new();

fn refcounts() -> &'static [AtomicU32] {
    REFCOUNTS.call_once(|| {
        let n = (frames::max_phys() / PAGE_SIZE) as usize;
        (0..n).map(|_| AtomicU32::new(0)).collect()
    })
}

fn count(frame: Frame) -> Option<&'static AtomicU32> {
    refcounts().get(frame.number() as usize)
}

fn to_x86(frame: Frame) -> PhysFrame {
    PhysFrame::containing_address(PhysAddr::new(frame.phys_addr()))
}

/// The kernel's frame allocator as `crates/vm` sees it.
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelFrames;

impl FrameAllocator for KernelFrames {
    fn alloc_zeroed(&self) -> Result<Frame, NoMemory> {
        let frame = self.alloc_uninit()?;
        frames::frame_bytes_mut(to_x86(frame)).fill(0);
        Ok(frame)
    }

    fn alloc_uninit(&self) -> Result<Frame, NoMemory> {
        let f = frames::alloc_user_frame_uninit().ok_or(NoMemory)?;
        let frame = Frame::containing(f.start_address().as_u64());
        match count(frame) {
            Some(c) => c.store(1, Ordering::Release),
            None => {
                frames::free_frame(f);
                return Err(NoMemory);
            }
        }
        Ok(frame)
    }

    fn free(&self, frame: Frame) {
        if let Some(c) = count(frame) {
            c.store(0, Ordering::Release);
        }
        frames::free_frame(to_x86(frame));
    }

    fn read(&self, frame: Frame, offset: usize, buf: &mut [u8]) {
        let bytes = frames::frame_bytes(to_x86(frame));
        let end = (offset + buf.len()).min(PAGE_SIZE as usize);
        if offset < end {
            buf[..end - offset].copy_from_slice(&bytes[offset..end]);
        }
    }

    fn write(&self, frame: Frame, offset: usize, data: &[u8]) {
        let bytes = frames::frame_bytes_mut(to_x86(frame));
        let end = (offset + data.len()).min(PAGE_SIZE as usize);
        if offset < end {
            bytes[offset..end].copy_from_slice(&data[..end - offset]);
        }
    }

    fn copy_frame(&self, src: Frame, dst: Frame) {
        frames::frame_bytes_mut(to_x86(dst)).copy_from_slice(frames::frame_bytes(to_x86(src)));
    }
}

/// The counts in the kernel's own table, one atomic per frame of RAM: no
/// lock (vm's `RefcountedFrames` is for allocators without counts). A
/// count of 1 changes with a plain load and store (no one else can hold a
/// reference then); others with a locked instruction.
impl FrameRefs for KernelFrames {
    fn add_ref(&self, frame: Frame) {
        if let Some(c) = count(frame) {
            c.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn add_ref_exclusive(&self, frame: Frame) {
        if let Some(c) = count(frame) {
            // 1: the caller's reference is the only one and no one else
            // uses it, so no other CPU changes the count now: a load and a
            // store, no locked instruction (fork's copy of a process's own
            // pages: multi-threaded TCG runs a `lock xadd` as an atomic
            // helper, smp32)
            if c.load(Ordering::Relaxed) == 1 {
                c.store(2, Ordering::Relaxed);
            } else {
                c.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    fn release(&self, frame: Frame) {
        if let Some(c) = count(frame) {
            // 1: the caller holds the last reference (every other holder's
            // release is ordered before this load), so no other CPU can
            // change the count: a store, no locked instruction (the exit of
            // a process's own pages)
            if c.load(Ordering::Acquire) == 1 {
                c.store(0, Ordering::Relaxed);
                frames::free_frame(to_x86(frame));
                return;
            }
            match c.fetch_sub(1, Ordering::AcqRel) {
                1 => frames::free_frame(to_x86(frame)),
                0 => {
                    c.store(0, Ordering::Release);
                    log::error!("release of a frame with no references: {:#x}", frame.phys_addr());
                }
                _ => {}
            }
        }
    }

    fn ref_count(&self, frame: Frame) -> usize {
        count(frame).map_or(0, |c| c.load(Ordering::Acquire) as usize)
    }
}

fn pte_flags(flags: PteFlags) -> F {
    let mut f = F::PRESENT;
    if flags.contains(PteFlags::USER) {
        f |= F::USER_ACCESSIBLE;
    }
    if flags.contains(PteFlags::WRITABLE) {
        f |= F::WRITABLE;
    }
    if !flags.contains(PteFlags::EXECUTABLE) {
        f |= F::NO_EXECUTE;
    }
    f
}

fn vm_flags(f: F) -> PteFlags {
    let mut p = PteFlags::empty();
    if f.contains(F::USER_ACCESSIBLE) {
        // x86_64 has no read bit: a present user page is readable, so the
        // vm crate's `READ` comparisons see what they asked for
        p |= PteFlags::USER | PteFlags::READ;
    }
    if f.contains(F::WRITABLE) {
        p |= PteFlags::WRITABLE;
    }
    if !f.contains(F::NO_EXECUTE) {
        p |= PteFlags::EXECUTABLE;
    }
    p
}

/// Whether a leaf entry's change from `old` to `new` only adds rights
/// (present, writable, user, executable) and keeps everything else.
fn upgrade(old: F, new: F) -> bool {
    let rights = F::PRESENT | F::WRITABLE | F::USER_ACCESSIBLE;
    // NO_EXECUTE is a right taken away: dropping it adds one
    let old_r = (old & rights) | (!old & F::NO_EXECUTE);
    let new_r = (new & rights) | (!new & F::NO_EXECUTE);
    let other = !(rights | F::NO_EXECUTE | F::ACCESSED | F::DIRTY);
    new_r.contains(old_r) && (old & other) == (new & other)
}

const USER_TOP: usize = 0x0000_8000_0000_0000;

/// Page tables whose removed entries one shootdown covers (`unmap_range`).
const GATHER_TABLES: usize = 8;

/// The removed entries of up to [`GATHER_TABLES`] page tables of one
/// `unmap_range` call, waiting for one shootdown before their frames are
/// released: each table's base address and a bitmap of its entries, and
/// the span of their pages.
struct Gather {
    n: usize,
    bases: [u64; GATHER_TABLES],
    removed: [[u64; 8]; GATHER_TABLES],
    lo: u64,
    hi: u64,
}

impl Gather {
    fn new() -> Self {
        Gather { n: 0, bases: [0; GATHER_TABLES], removed: [[0; 8]; GATHER_TABLES], lo: u64::MAX, hi: 0 }
    }

    fn add(&mut self, base: u64, removed: [u64; 8], lo: u64, hi: u64) {
        self.bases[self.n] = base;
        self.removed[self.n] = removed;
        self.n += 1;
        self.lo = self.lo.min(lo);
        self.hi = self.hi.max(hi);
    }
}

/// Zeroes the entries of `table` whose bits `removed` has set (after their
/// shootdown) and releases their frames; the bitmap is all zero after.
fn release_bits(
    table: &mut x86_64::structures::paging::PageTable,
    removed: &mut [u64; 8],
    release: &mut dyn FnMut(Frame),
) {
    for (w, word) in removed.iter_mut().enumerate() {
        while *word != 0 {
            let i = w * 64 + word.trailing_zeros() as usize;
            *word &= *word - 1;
            let pa = table[i].addr().as_u64();
            table[i].set_unused();
            release(Frame::containing(pa));
        }
    }
}

impl AddressSpace {
    /// Other CPUs running this address space drop the gathered entries
    /// (one shootdown of their span: a full flush there when it is wider
    /// than the ceiling), then the entries are zeroed and their frames
    /// released; `g` is empty after.
    fn release_gathered(&mut self, g: &mut Gather, release: &mut dyn FnMut(Frame)) {
        if g.n == 0 {
            return;
        }
        crate::smp::shootdown_range(crate::smp::Why::UnmapRange, self.root_addr(), Some((g.lo, g.hi)));
        for k in 0..g.n {
            // the table is still there: unmap_range frees no table
            let Ok(table) = self.leaf_table(g.bases[k]) else { continue };
            release_bits(table, &mut g.removed[k], release);
        }
        // (the bitmaps are all zero again)
        g.n = 0;
        g.lo = u64::MAX;
        g.hi = 0;
    }

    fn is_active(&self) -> bool {
        super::paging::current_root() == self.root().start_address().as_u64()
    }

    fn root_addr(&self) -> u64 {
        self.root().start_address().as_u64()
    }

    /// Invalidates `va` here (if loaded) and on every other CPU that has
    /// this address space loaded (returns when they did).
    fn invalidate(&self, va: usize, why: crate::smp::Why) {
        if self.is_active() {
            x86_64::instructions::tlb::flush(VirtAddr::new(va as u64));
        }
        crate::smp::shootdown_range(why, self.root_addr(), Some((va as u64, va as u64 + PAGE_SIZE)));
    }
}

impl PageTable for AddressSpace {
    fn map(&mut self, va: usize, frame: Frame, flags: PteFlags) -> Result<(), NoMemory> {
        self.map_raw(va as u64, frame.phys_addr(), pte_flags(flags)).map_err(|_| NoMemory)
    }

    fn unmap(&mut self, va: usize) -> Option<(Frame, PteFlags)> {
        let e = self.leaf_entry(va as u64)?;
        let r = (Frame::containing(e.addr().as_u64()), vm_flags(e.flags()));
        e.set_unused();
        self.invalidate(va, crate::smp::Why::Unmap);
        Some(r)
    }

    fn protect(&mut self, va: usize, flags: PteFlags) -> bool {
        let Some(e) = self.leaf_entry(va as u64) else { return false };
        let addr = e.addr();
        let (old, new) = (e.flags(), pte_flags(flags));
        e.set_addr(addr, new);
        if upgrade(old, new) {
            // Rights added to the same frame (a copy-on-write page reused
            // after the other sharer went, mprotect widening): another
            // CPU's TLB can only hold fewer rights than the entry now
            // gives, and its access then faults, which drops the stale
            // entry (the MMU invalidates what faulted), and the fault
            // finds the entry already right and returns (`Resolved`).
            // Linux's x86 ptep_set_access_flags flushes no TLB either.
            // Here, `invlpg` spares this CPU that fault.
            if self.is_active() {
                x86_64::instructions::tlb::flush(VirtAddr::new(va as u64));
            }
            crate::smp::note_local(crate::smp::Why::Upgrade);
        } else if !flags.contains(vm_flags(old)) {
            // Rights removed: the caller flushes before it lets the lock
            // go (`Vmar::protect_mapping`'s `flush_range`, as for any
            // reduction: the trait's contract), so an mprotect of many
            // pages costs one shootdown, not one per page (Linux's
            // change_protection flushes the range once)
            self.stale.add(va as u64);
        } else {
            self.invalidate(va, crate::smp::Why::Protect);
        }
        true
    }

    fn query(&self, va: usize) -> Option<(Frame, PteFlags)> {
        let e = self.leaf_entry(va as u64)?;
        Some((Frame::containing(e.addr().as_u64()), vm_flags(e.flags())))
    }

    fn next_present(&self, start: usize, end: usize) -> Option<(usize, Frame, PteFlags)> {
        let end = end.min(USER_TOP);
        let mut va = start & !(PAGE_SIZE as usize - 1);
        while va < end {
            match self.walk_skip(va as u64) {
                Ok(e) => return Some((va, Frame::containing(e.addr().as_u64()), vm_flags(e.flags()))),
                Err(next) => va = next as usize,
            }
        }
        None
    }

    fn flush(&mut self) {
        // unmap invalidates at once (on every CPU with the space loaded);
        // fork_range and protect's reductions defer (write protection of
        // many pages): one `invlpg` per page up to the ceiling, else one
        // full flush for all, here and where another thread of the
        // process runs
        let stale = core::mem::take(&mut self.stale);
        if stale.n == 0 {
            return;
        }
        let why = if stale.fork { crate::smp::Why::Fork } else { crate::smp::Why::Protect };
        let active = self.is_active();
        match stale.pages() {
            Some(pages) => {
                if active {
                    for &va in pages {
                        x86_64::instructions::tlb::flush(VirtAddr::new(va));
                    }
                }
                // other CPUs: the span of the pages (whole when wider than
                // the ceiling)
                let lo = pages.iter().copied().min().unwrap_or(0);
                let hi = pages.iter().copied().max().unwrap_or(0) + PAGE_SIZE;
                crate::smp::shootdown_range(why, self.root_addr(), Some((lo, hi)));
            }
            None => {
                if active {
                    x86_64::instructions::tlb::flush_all();
                }
                crate::smp::shootdown_range(why, self.root_addr(), None);
            }
        }
    }

    fn fork_range(
        &mut self,
        child: &mut Self,
        start: usize,
        end: usize,
        cow: bool,
        share: &mut dyn FnMut(Frame),
    ) -> Result<(), NoMemory> {
        let end = end.min(USER_TOP) as u64;
        let mut va = start as u64 & !(PAGE_SIZE - 1);
        while va < end {
            let src = match self.leaf_table(va) {
                Ok(t) => t,
                Err(next) => {
                    va = next;
                    continue;
                }
            };
            let table_end = ((va >> 21) + 1) << 21;
            let stop = table_end.min(end);
            let (first, last) = (((va >> 12) & 511) as usize, (((stop - 1) >> 12) & 511) as usize);
            let mut dst: Option<&'static mut x86_64::structures::paging::PageTable> = None;
            let mut next = super::scan::next_present(src, first, last + 1);
            while next <= last {
                let i = next;
                next = super::scan::next_present(src, i + 1, last + 1);
                let e = &mut src[i];
                let mut flags = e.flags();
                if cow && flags.contains(F::WRITABLE) {
                    flags.remove(F::WRITABLE);
                    e.set_flags(flags);
                    self.stale.add((va & !0x1f_ffff) | (i as u64) << 12);
                    self.stale.fork = true;
                }
                let d = match dst {
                    Some(ref mut d) => d,
                    None => dst.insert(child.leaf_table_create(va).map_err(|_| NoMemory)?),
                };
                d[i] = e.clone();
                share(Frame::containing(e.addr().as_u64()));
            }
            va = table_end;
        }
        Ok(())
    }

    fn unmap_range(&mut self, start: usize, end: usize, release: &mut dyn FnMut(Frame)) {
        // fork_range's and protect's pending invalidations go to other
        // CPUs at `flush` (their callers flush at once); the switch to the
        // kernel's table below would drop them: sent first if any are left
        if self.stale.n != 0 {
            self.flush();
        }
        let end = end.min(USER_TOP) as u64;
        let mut va = start as u64 & !(PAGE_SIZE - 1);
        let mut active = self.is_active();
        // Linux's mmu_gather: the removed entries of up to GATHER_TABLES
        // page tables wait for one shootdown of their span, then their
        // frames are released; each entry keeps its frame's address with
        // the present bit (and every other flag) cleared until then (a
        // bitmap per table on the stack, 576 bytes in all: unmap_range runs
        // under exit, munmap and a failed fork's teardown, deep in the
        // kernel stack). Page-table frames are not freed here.
        let mut g: Option<Gather> = None;
        let mut removed_here = 0usize;
        while va < end {
            let table = match self.leaf_table(va) {
                Ok(t) => t,
                Err(next) => {
                    va = next;
                    continue;
                }
            };
            let table_end = ((va >> 21) + 1) << 21;
            let stop = table_end.min(end);
            let (first, last) = (((va >> 12) & 511) as usize, (((stop - 1) >> 12) & 511) as usize);
            let base = va & !0x1f_ffff;
            // a range within this one table (most munmaps): its shootdown
            // and release here, without the gather's bitmaps and second walk
            let single = g.is_none() && stop == end;
            let mut removed = [0u64; 8];
            let mut n = 0;
            // the present entries from `first` (`next_present`: eight
            // empty ones per step; `PageTable::iter_mut` is a map over
            // 0..512, whose `skip(first)` stepped through every entry
            // before the range, ~475 steps for a thread stack's munmap)
            let mut i = super::scan::next_present(table, first, last + 1);
            while i <= last {
                let e = &mut table[i];
                removed[i / 64] |= 1 << (i % 64);
                n += 1;
                // not present: the MMU ignores the rest of the entry
                let pa = e.addr();
                e.set_addr(pa, F::empty());
                if active && removed_here + n <= 8 {
                    x86_64::instructions::tlb::flush(VirtAddr::new(base | (i as u64) << 12));
                }
                i = super::scan::next_present(table, i + 1, last + 1);
            }
            removed_here += n;
            if active && removed_here > 8 {
                // The first 8 were invalidated one by one. More: leave this
                // table for the kernel's (one full flush, as a CR3 reload);
                // the rest of the range then needs no flushing at all, and
                // the thread's loop loads the table again before it returns
                // to user mode.
                super::paging::activate_kernel();
                self.stale = Default::default();
                active = false;
            }
            let (lo, hi) = (base | (first as u64) << 12, base | ((last as u64 + 1) << 12));
            if n > 0 && single {
                crate::smp::shootdown_range(crate::smp::Why::UnmapRange, self.root_addr(), Some((lo, hi)));
                release_bits(table, &mut removed, release);
            } else if n > 0 {
                let g = g.get_or_insert_with(Gather::new);
                if g.n == GATHER_TABLES {
                    self.release_gathered(g, release);
                }
                g.add(base, removed, lo, hi);
            }
            va = table_end;
        }
        if let Some(g) = g.as_mut() {
            self.release_gathered(g, release);
        }
    }

    fn new_empty(&self) -> Result<Self, NoMemory> {
        AddressSpace::new().map_err(|_| NoMemory)
    }
}

/// The direct-map address of a frame (for the kernel's own copies).
pub fn frame_virt(frame: Frame) -> u64 {
    phys_to_virt(frame.phys_addr())
}
