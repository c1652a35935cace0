//! Page tables: the kernel's own (direct map + kernel image with section
//! permissions) and fresh address spaces that share the kernel half.

use super::frames::{self, GlobalFrames};
use super::{KERNEL_BASE, PAGE_SIZE, PHYS_OFFSET, phys_to_virt};
use crate::bootinfo::BootInfo;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::mapper::{MapToError, Translate, UnmapError};
use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::structures::paging::{
    Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as F, PhysFrame, Size2MiB, Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

static KERNEL_PML4: AtomicU64 = AtomicU64::new(0);

// SAFETY: declarations only: these symbols come from this crate's linker script or assembly, with these types.
unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __data_end: u8;
}

fn table_at(frame: PhysFrame) -> &'static mut PageTable {
    // SAFETY: page-table frames are RAM reached through the direct map; the
    // caller holds the only reference to the table it edits (kernel init is
    // single-threaded, an AddressSpace owns its tables exclusively).
    unsafe { &mut *(phys_to_virt(frame.start_address().as_u64()) as *mut PageTable) }
}

fn mapper(pml4: PhysFrame) -> OffsetPageTable<'static> {
    // SAFETY: all physical memory is mapped at PHYS_OFFSET (by the boot page
    // tables until the switch, by the kernel tables after it).
    unsafe { OffsetPageTable::new(table_at(pml4), VirtAddr::new(PHYS_OFFSET)) }
}

fn fatal(what: &str) -> ! {
    crate::kprintln_unlocked!("fatal: building the kernel page tables: {what}");
    crate::qemu::exit(crate::qemu::ExitCode::Failure)
}

/// Builds the kernel page tables and switches to them. Runs once, after the
/// frame allocator.
pub(crate) fn init(boot: &BootInfo) {
    let Some(pml4) = frames::alloc_zeroed_frame() else { fatal("no frame") };
    let mut m = mapper(pml4);
    let mut alloc = GlobalFrames;

    // The direct map: 2 MiB pages over max(4 GiB, RAM). Stretches that hold
    // no RAM (MMIO such as the local APIC) are uncached.
    let top = frames::max_phys().max(1 << 32).next_multiple_of(1 << 21);
    let is_ram = |s: u64, e: u64| boot.regions().iter().any(|r| r.usable && s < r.end && r.start < e);
    let mut p = 0;
    while p < top {
        let mut flags = F::PRESENT | F::WRITABLE | F::NO_EXECUTE | F::GLOBAL;
        if !is_ram(p, p + (1 << 21)) {
            flags |= F::NO_CACHE | F::WRITE_THROUGH;
        }
        let page = Page::<Size2MiB>::containing_address(VirtAddr::new(PHYS_OFFSET + p));
        let frame = PhysFrame::<Size2MiB>::containing_address(PhysAddr::new(p));
        // SAFETY: a new table being filled; nothing runs on it yet.
        match unsafe { m.map_to(page, frame, flags, &mut alloc) } {
            Ok(flush) => flush.ignore(),
            Err(_) => fatal("direct map"),
        }
        p += 1 << 21;
    }

    // The kernel image, section by section.
    let sections = [
        (&raw const __text_start, &raw const __text_end, F::PRESENT | F::GLOBAL),
        (&raw const __rodata_start, &raw const __rodata_end, F::PRESENT | F::NO_EXECUTE | F::GLOBAL),
        (
            &raw const __data_start,
            &raw const __data_end,
            F::PRESENT | F::WRITABLE | F::NO_EXECUTE | F::GLOBAL,
        ),
    ];
    for (start, end, flags) in sections {
        let (start, end) = (start as u64, (end as u64).next_multiple_of(PAGE_SIZE));
        let mut va = start & !(PAGE_SIZE - 1);
        while va < end {
            let page = Page::<Size4KiB>::containing_address(VirtAddr::new(va));
            let frame = PhysFrame::containing_address(PhysAddr::new(va - KERNEL_BASE));
            // SAFETY: as above.
            match unsafe { m.map_to(page, frame, flags, &mut alloc) } {
                Ok(flush) => flush.ignore(),
                Err(_) => fatal("kernel image"),
            }
            va += PAGE_SIZE;
        }
    }

    // The kernel-stack area's top-level entry, made now so that every
    // address space (which copies the kernel half's top-level entries once)
    // shares the tables that stacks are mapped into later.
    let Some(pdpt) = frames::alloc_zeroed_frame() else { fatal("no frame for the kernel-stack area") };
    table_at(pml4)[kstack_pml4_index()].set_frame(pdpt, F::PRESENT | F::WRITABLE);

    KERNEL_PML4.store(pml4.start_address().as_u64(), Ordering::Relaxed);
    set_root(pml4.start_address().as_u64());
    // SAFETY: the new tables map the kernel image (code, data, the current
    // stack in .bss) and the direct map exactly where the boot tables did,
    // so execution continues seamlessly; the low identity map goes away and
    // nothing uses it after this point.
    unsafe { Cr3::write(pml4, Cr3Flags::empty()) };
}

/// Where kernel stacks are mapped (`context::KernelStack`): one top-level
/// slot of the kernel half (512 GiB, Linux's vmalloc base), made at boot
/// and shared by every address space; nothing else is mapped there.
pub const KSTACK_AREA: u64 = 0xffff_c900_0000_0000;
/// The size of the kernel-stack area (one top-level entry).
pub const KSTACK_AREA_SIZE: u64 = 1 << 39;

fn kstack_pml4_index() -> usize {
    ((KSTACK_AREA >> 39) & 511) as usize
}

fn in_kstack_area(va: u64) -> bool {
    (KSTACK_AREA..KSTACK_AREA + KSTACK_AREA_SIZE).contains(&va) && va.is_multiple_of(PAGE_SIZE)
}

/// Maps the page at `va` of the kernel-stack area to frame `pa` (writable,
/// not executable, not global: a CR3 reload drops it from the TLB), making
/// the missing lower-level tables. No TLB flush: `va` was unmapped and
/// flushed everywhere (or never mapped). The caller serializes edits of
/// the area (`context`'s lock).
pub(crate) fn map_kstack_page(va: u64, pa: u64) -> Result<(), MapError> {
    if !in_kstack_area(va) {
        return Err(MapError::BadAddress);
    }
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(va));
    let frame = PhysFrame::containing_address(PhysAddr::new(pa));
    let flags = F::PRESENT | F::WRITABLE | F::NO_EXECUTE;
    // SAFETY: the area holds kernel stacks only; `va` is unused (the
    // caller owns its slot) and `pa` is a frame the caller allocated.
    let r = unsafe {
        mapper(kernel_pml4()).map_to_with_table_flags(
            page,
            frame,
            flags,
            F::PRESENT | F::WRITABLE,
            &mut GlobalFrames,
        )
    };
    match r {
        Ok(flush) => {
            flush.ignore();
            Ok(())
        }
        Err(MapToError::FrameAllocationFailed) => Err(MapError::NoMemory),
        Err(_) => Err(MapError::AlreadyMapped),
    }
}

/// Unmaps the page at `va` of the kernel-stack area and returns its frame.
/// No TLB flush: the caller shoots down every CPU's TLB before the frame
/// or the address is used again.
pub(crate) fn unmap_kstack_page(va: u64) -> Option<u64> {
    if !in_kstack_area(va) {
        return None;
    }
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(va));
    match mapper(kernel_pml4()).unmap(page) {
        Ok((frame, flush)) => {
            flush.ignore();
            Some(frame.start_address().as_u64())
        }
        Err(_) => None,
    }
}

/// The physical address kernel address `va` maps to in the kernel's own
/// tables (a page-table walk), if mapped.
pub fn kernel_translate(va: u64) -> Option<u64> {
    mapper(kernel_pml4()).translate_addr(VirtAddr::new_truncate(va)).map(|p| p.as_u64())
}

/// Page-table frames freed clean, reused without a fill: a fork or exec
/// makes a top-level table and a few lower ones and an exit frees them,
/// and each zero fill is 4 KiB of stores (64 loop iterations, a TCG block
/// each). `zeroed`: tables of levels 3 and 2 whose entries the teardown
/// cleared (it reads every entry anyway; see `free_tables`); `roots`:
/// top-level tables whose lower half is
/// clear and whose kernel half is the kernel's (made at boot, never
/// changed since: `init` makes the kernel-stack area's entry before any
/// address space copies the half). Leaf tables are not kept: knowing them
/// clear would need a scan as costly as the fill. Small (at most 160 KiB
/// held), counted as free by `heap::free_frames_with_heap`, given back by
/// [`release_table_pool`] (the OOM path, leak checks).
struct TablePool {
    zeroed: [u64; 32],
    nzeroed: usize,
    roots: [u64; 8],
    nroots: usize,
}

static POOL: spin::Mutex<TablePool> =
    spin::Mutex::new(TablePool { zeroed: [0; 32], nzeroed: 0, roots: [0; 8], nroots: 0 });

fn pool<R>(f: impl FnOnce(&mut TablePool) -> R) -> R {
    crate::cpu::without_interrupts(|| f(&mut crate::spinlock::lock(crate::spinlock::PT_POOL, &POOL)))
}

fn frame_at(pa: u64) -> PhysFrame {
    PhysFrame::containing_address(PhysAddr::new(pa))
}

/// A zero-filled frame for a page table: a clean one from the pool, or a
/// new one filled.
pub(crate) fn table_frame() -> Option<PhysFrame> {
    let kept = pool(|p| {
        p.nzeroed = p.nzeroed.checked_sub(1)?;
        Some(p.zeroed[p.nzeroed])
    });
    match kept {
        Some(pa) => Some(frame_at(pa)),
        None => frames::alloc_zeroed_frame(),
    }
}

/// Frees the page-table frame `f`: into the pool when `clean` (every
/// entry zero) and there is room, else to the frame allocator.
fn free_table_frame(f: PhysFrame, clean: bool) {
    let kept = clean
        && pool(|p| {
            let Some(slot) = p.zeroed.get_mut(p.nzeroed) else { return false };
            *slot = f.start_address().as_u64();
            p.nzeroed += 1;
            true
        });
    if !kept {
        frames::free_frame(f);
    }
}

/// Page-table frames the pool holds (free memory, as far as leak checks
/// count).
pub fn pooled_tables() -> u64 {
    pool(|p| (p.nzeroed + p.nroots) as u64)
}

/// Gives every pooled page-table frame back to the frame allocator;
/// returns the bytes freed.
pub fn release_table_pool() -> usize {
    let mut n = 0;
    loop {
        let f = pool(|p| {
            if let Some(i) = p.nzeroed.checked_sub(1) {
                p.nzeroed = i;
                return Some(p.zeroed[i]);
            }
            p.nroots = p.nroots.checked_sub(1)?;
            Some(p.roots[p.nroots])
        });
        let Some(pa) = f else { break };
        frames::free_frame(frame_at(pa));
        n += 1;
    }
    n * PAGE_SIZE as usize
}

/// The kernel's top-level table.
pub fn kernel_pml4() -> PhysFrame {
    PhysFrame::containing_address(PhysAddr::new(KERNEL_PML4.load(Ordering::Relaxed)))
}

/// Mapping a page failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// No frame for an intermediate table.
    NoMemory,
    /// The page is already mapped.
    AlreadyMapped,
    /// The address is in the kernel half or not page-aligned.
    BadAddress,
}

/// Page permissions for user mappings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageFlags {
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
    /// Reachable from ring 3.
    pub user: bool,
}

impl PageFlags {
    fn to_x86(self) -> F {
        let mut f = F::PRESENT;
        if self.write {
            f |= F::WRITABLE;
        }
        if !self.exec {
            f |= F::NO_EXECUTE;
        }
        if self.user {
            f |= F::USER_ACCESSIBLE;
        }
        f
    }
}

/// A 4-level page table for one address space: the lower half is its own,
/// the upper (kernel) half is shared with the kernel tables. Dropping it
/// frees its lower-half table frames, not the frames mapped through it.
pub struct AddressSpace {
    pml4: PhysFrame,
    /// Rights were removed from entries without invalidating the TLB
    /// (batched by `fork_range`); the next `flush` must flush.
    pub(crate) stale: Stale,
}

/// The pages whose rights `fork_range` removed without invalidating them:
/// up to [`FLUSH_CEILING`](crate::smp::FLUSH_CEILING) are invalidated one
/// by one (`invlpg`), more by a full flush. Under QEMU's TCG a full flush
/// (a CR3 reload) also empties the soft TLB of the kernel's own pages and
/// the translated-code jump cache, which the kernel then refills page walk
/// by page walk: a fork of a small process writes CR3 once less.
#[derive(Default)]
pub(crate) struct Stale {
    /// How many pages (more than the ceiling: flush everything).
    pub(crate) n: usize,
    pub(crate) pages: [u64; crate::smp::FLUSH_CEILING as usize],
    /// Whether a fork's write protection noted some (statistics).
    pub(crate) fork: bool,
}

impl Stale {
    /// Notes that `va` lost rights.
    pub(crate) fn add(&mut self, va: u64) {
        if let Some(p) = self.pages.get_mut(self.n) {
            *p = va;
        }
        self.n = self.n.saturating_add(1);
    }

    /// The noted pages, or `None` for more than the ceiling.
    pub(crate) fn pages(&self) -> Option<&[u64]> {
        self.pages.get(..self.n)
    }
}

impl AddressSpace {
    /// A new address space with an empty lower half.
    pub fn new() -> Result<Self, MapError> {
        let kept = pool(|p| {
            p.nroots = p.nroots.checked_sub(1)?;
            Some(p.roots[p.nroots])
        });
        if let Some(pa) = kept {
            // lower half clear, kernel half the kernel's (see TablePool)
            return Ok(AddressSpace { pml4: frame_at(pa), stale: Stale::default() });
        }
        let pml4 = frames::alloc_zeroed_frame().ok_or(MapError::NoMemory)?;
        let kernel = table_at(kernel_pml4());
        let new = table_at(pml4);
        for i in 256..512 {
            new[i] = kernel[i].clone();
        }
        Ok(AddressSpace { pml4, stale: Stale::default() })
    }

    /// The top-level table's frame (what CR3 holds).
    pub fn root(&self) -> PhysFrame {
        self.pml4
    }

    fn check(va: u64) -> Result<Page<Size4KiB>, MapError> {
        if !va.is_multiple_of(PAGE_SIZE) || va >= 0x0000_8000_0000_0000 {
            return Err(MapError::BadAddress);
        }
        Ok(Page::containing_address(VirtAddr::new(va)))
    }

    /// Maps the 4 KiB page at `va` (lower half) to physical `frame`.
    pub fn map(&mut self, va: u64, frame: u64, flags: PageFlags) -> Result<(), MapError> {
        let page = Self::check(va)?;
        let frame = PhysFrame::containing_address(PhysAddr::new(frame));
        let parent = F::PRESENT | F::WRITABLE | F::USER_ACCESSIBLE;
        // SAFETY: the lower half belongs to this address space alone; the
        // frame is the caller's to map.
        let r = unsafe {
            mapper(self.pml4).map_to_with_table_flags(page, frame, flags.to_x86(), parent, &mut GlobalFrames)
        };
        match r {
            Ok(flush) => {
                flush.flush();
                Ok(())
            }
            Err(MapToError::PageAlreadyMapped(_)) => Err(MapError::AlreadyMapped),
            Err(MapToError::ParentEntryHugePage) => Err(MapError::AlreadyMapped),
            Err(MapToError::FrameAllocationFailed) => Err(MapError::NoMemory),
        }
    }

    /// Unmaps the page at `va`: the frame it mapped, or `None`.
    pub fn unmap(&mut self, va: u64) -> Option<u64> {
        let page = Self::check(va).ok()?;
        match mapper(self.pml4).unmap(page) {
            Ok((frame, flush)) => {
                flush.flush();
                Some(frame.start_address().as_u64())
            }
            Err(
                UnmapError::PageNotMapped
                | UnmapError::ParentEntryHugePage
                | UnmapError::InvalidFrameAddress(_),
            ) => None,
        }
    }

    /// The physical address `va` maps to.
    pub fn translate(&self, va: u64) -> Option<u64> {
        mapper(self.pml4).translate_addr(VirtAddr::new_truncate(va)).map(|p| p.as_u64())
    }

    /// Makes this address space current. The caller keeps it alive while it
    /// is loaded (or switches away before dropping it).
    pub fn activate(&self) {
        // Reloading CR3 flushes the TLB: skip it when already current.
        if current_root() == self.pml4.start_address().as_u64() {
            return;
        }
        // SAFETY: the kernel half is identical to the kernel tables', so the
        // kernel keeps running; the lower half is this address space's.
        set_root(self.pml4.start_address().as_u64());
        unsafe { Cr3::write(self.pml4, Cr3Flags::empty()) };
        note_flush();
    }
}

impl AddressSpace {
    /// Maps `va` with raw x86 flags (used by the `vm::PageTable` impl).
    pub(crate) fn map_raw(&mut self, va: u64, pa: u64, flags: F) -> Result<(), MapError> {
        let page = Self::check(va)?;
        let frame = PhysFrame::containing_address(PhysAddr::new(pa));
        let parent = F::PRESENT | F::WRITABLE | F::USER_ACCESSIBLE;
        // SAFETY: the lower half belongs to this address space alone.
        let r = unsafe {
            mapper(self.pml4).map_to_with_table_flags(page, frame, flags, parent, &mut GlobalFrames)
        };
        match r {
            Ok(flush) => {
                flush.flush();
                Ok(())
            }
            Err(MapToError::FrameAllocationFailed) => Err(MapError::NoMemory),
            Err(_) => Err(MapError::AlreadyMapped),
        }
    }

    /// The present 4 KiB leaf entry for `va`, if any.
    pub(crate) fn leaf_entry(&self, va: u64) -> Option<&'static mut PageTableEntry> {
        self.walk_skip(va).ok()
    }

    /// The level-1 table covering `va`, or the start of the next subtree
    /// worth looking at when an upper level is empty.
    pub(crate) fn leaf_table(&self, va: u64) -> Result<&'static mut PageTable, u64> {
        if va >= 0x0000_8000_0000_0000 {
            return Err(u64::MAX);
        }
        let mut table = table_at(self.pml4);
        for level in [4u32, 3, 2] {
            let shift = 12 + 9 * (level - 1);
            let e = &table[((va >> shift) & 511) as usize];
            if !e.flags().contains(F::PRESENT) || e.flags().contains(F::HUGE_PAGE) {
                return Err(((va >> shift) + 1) << shift);
            }
            table = table_at(PhysFrame::containing_address(e.addr()));
        }
        Ok(table)
    }

    /// The level-1 table covering `va`, creating the missing upper levels.
    pub(crate) fn leaf_table_create(&mut self, va: u64) -> Result<&'static mut PageTable, MapError> {
        if va >= 0x0000_8000_0000_0000 {
            return Err(MapError::BadAddress);
        }
        let mut table = table_at(self.pml4);
        for level in [4u32, 3, 2] {
            let shift = 12 + 9 * (level - 1);
            let e = &mut table[((va >> shift) & 511) as usize];
            if !e.flags().contains(F::PRESENT) {
                let frame = table_frame().ok_or(MapError::NoMemory)?;
                e.set_frame(frame, F::PRESENT | F::WRITABLE | F::USER_ACCESSIBLE);
            } else if e.flags().contains(F::HUGE_PAGE) {
                return Err(MapError::AlreadyMapped);
            }
            table = table_at(PhysFrame::containing_address(e.addr()));
        }
        Ok(table)
    }

    /// The present leaf entry for `va`, or the next address worth looking
    /// at when an upper level is empty (the start of the next subtree).
    pub(crate) fn walk_skip(&self, va: u64) -> Result<&'static mut PageTableEntry, u64> {
        if va >= 0x0000_8000_0000_0000 {
            return Err(u64::MAX);
        }
        let mut table = table_at(self.pml4);
        for level in [4u32, 3, 2, 1] {
            let shift = 12 + 9 * (level - 1);
            let idx = ((va >> shift) & 511) as usize;
            let next_subtree = ((va >> shift) + 1) << shift;
            let e = &mut table[idx];
            if !e.flags().contains(F::PRESENT) {
                return Err(next_subtree);
            }
            if level == 1 {
                return Ok(e);
            }
            if e.flags().contains(F::HUGE_PAGE) {
                return Err(next_subtree);
            }
            table = table_at(PhysFrame::containing_address(e.addr()));
        }
        Err(va + PAGE_SIZE)
    }
}

/// The physical address of the top-level table in use (CR3).
#[inline]
/// What CR3 holds on this CPU (every CR3 load of the kernel goes through
/// this file and records it in the per-CPU record: reading CR3 itself is
/// slow under emulation).
pub fn current_root() -> u64 {
    crate::percpu::me().root.load(Ordering::Relaxed)
}

/// Records (before CR3 is written) which table this CPU loads: a sender of
/// a shootdown that changed a table reads it after its change, so either
/// it flushes this CPU or this CPU's load sees the change. That needs the
/// store ordered before the page walks through the new CR3 (store ->
/// load): a plain store and `mfence` rather than a SeqCst store, which is
/// an `xchg` (a locked instruction: an atomic helper call under QEMU's
/// multi-threaded TCG, twice per pipe round trip); `mfence` is a host
/// barrier there, and on hardware the CR3 write that follows serializes
/// as well. Only this CPU writes its `root` (other CPUs read it).
fn set_root(root: u64) {
    crate::percpu::me().root.store(root, Ordering::Release);
    #[cfg(target_os = "none")]
    // SAFETY: a memory fence; touches no memory or register.
    unsafe {
        core::arch::asm!("mfence", options(nostack, preserves_flags))
    };
}

/// Flushes this CPU's TLB (a reload of CR3 with the same tables).
pub fn flush_local() {
    x86_64::instructions::tlb::flush_all();
    note_flush();
}

/// Counts a full TLB flush (CR3 load) of this CPU in its per-CPU record: a
/// kernel-stack slot unmapped before a CPU's count moved on is in no TLB of
/// that CPU any more (`context`'s reuse of slots without a shootdown). Only
/// the CPU itself writes its count, so a plain load and store do (no
/// `lock`-prefixed add: an atomic helper call under multi-threaded TCG),
/// in the record the CR3 switch has just touched (a static array was one
/// more page to refill in QEMU's soft TLB after each flush). An interrupt's
/// flush between the two may be lost from the count: a count too low only
/// makes its readers wait longer.
fn note_flush() {
    let c = &crate::percpu::me().flushes;
    c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Release);
}

/// The full TLB flushes CPU `cpu` has done (see [`flush_local`]).
pub(crate) fn flushes(cpu: usize) -> u64 {
    crate::percpu::of(cpu).map_or(0, |c| c.flushes.load(Ordering::Acquire))
}

/// Switches to the kernel's own tables.
pub fn activate_kernel() {
    // SAFETY: the kernel tables map everything the kernel uses.
    set_root(kernel_pml4().start_address().as_u64());
    unsafe { Cr3::write(kernel_pml4(), Cr3Flags::empty()) };
    note_flush();
}

/// Frees the table `table` of level `level` and the tables below it. A
/// table of level 3 or 2 is read whole anyway: its present entries are
/// cleared as the tables below go, which leaves it zero (an upper-level
/// entry of a user table is either a present table pointer or zero: only
/// `leaf_table_create` and the `x86_64` crate's mapper write them, and
/// nothing clears one before this teardown), so it goes to the pool
/// clean. Leaf tables are freed as they are (their non-present entries
/// are not known zero without a scan).
fn free_tables(table: PhysFrame, level: u8) {
    if level > 1 {
        let t = table_at(table);
        let mut i = super::scan::next_present(t, 0, 512);
        while i < 512 {
            let e = &mut t[i];
            if !e.flags().contains(F::HUGE_PAGE) {
                free_tables(PhysFrame::containing_address(e.addr()), level - 1);
            }
            e.set_unused();
            i = super::scan::next_present(t, i + 1, 512);
        }
        debug_assert!(t.iter().all(|e| e.is_unused()), "a page table not clean at its teardown");
    }
    free_table_frame(table, level > 1);
}

impl Drop for AddressSpace {
    fn drop(&mut self) {
        if Cr3::read().0 == self.pml4 {
            activate_kernel();
        }
        // an idle CPU may still have it loaded (the last task it ran):
        // make it leave the tables before they are freed
        crate::smp::leave_root(self.pml4.start_address().as_u64());
        let root = table_at(self.pml4);
        let mut i = super::scan::next_present(root, 0, 256);
        while i < 256 {
            let e = &mut root[i];
            if !e.flags().contains(F::HUGE_PAGE) {
                free_tables(PhysFrame::containing_address(e.addr()), 3);
            }
            e.set_unused();
            i = super::scan::next_present(root, i + 1, 256);
        }
        debug_assert!(
            root.iter().take(256).all(|e| e.is_unused()),
            "a top-level table not clean at its teardown"
        );
        // the kernel half was copied from the kernel's and is never edited
        // here: the clean lower half makes a ready top-level table
        let kept = pool(|p| {
            let Some(slot) = p.roots.get_mut(p.nroots) else { return false };
            *slot = self.pml4.start_address().as_u64();
            p.nroots += 1;
            true
        });
        if !kept {
            frames::free_frame(self.pml4);
        }
    }
}
