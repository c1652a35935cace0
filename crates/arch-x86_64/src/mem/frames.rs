//! The physical frame allocator: a [`FrameBitmap`] over the boot memory map,
//! with the kernel image, the boot information and the modules reserved.

use super::bitmap::FrameBitmap;
use super::{PAGE_SIZE, phys_to_virt};
use crate::bootinfo::BootInfo;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::PhysAddr;
use x86_64::structures::paging::{PhysFrame, Size4KiB};

static FRAMES: spin::Mutex<Option<FrameBitmap<'static>>> = spin::Mutex::new(None);
static USABLE_FRAMES: AtomicU64 = AtomicU64::new(0);
/// The bitmap's free count, published under its lock after every change,
/// so [`free_frames`] (the OOM check on every return to user mode) reads it
/// without the lock.
static FREE_FRAMES: AtomicU64 = AtomicU64::new(0);
/// [`reserve`], computed once.
static RESERVE: AtomicU64 = AtomicU64::new(0);
static MAX_PHYS: AtomicU64 = AtomicU64::new(0);

// SAFETY: declarations only: these symbols come from this crate's linker script or assembly, with these types.
unsafe extern "C" {
    static __kernel_phys_start: u8;
    static __kernel_phys_end: u8;
}

/// The kernel image's physical range.
pub fn kernel_phys_range() -> (u64, u64) {
    // The linker script defines these symbols; only their addresses are used.
    let start = &raw const __kernel_phys_start as u64;
    let end = &raw const __kernel_phys_end as u64;
    (start, end)
}

/// One past the highest usable physical address.
pub fn max_phys() -> u64 {
    MAX_PHYS.load(Ordering::Relaxed)
}

/// Builds the allocator from the memory map. Runs once, before the heap.
pub(crate) fn init(boot: &BootInfo) {
    let max = boot.regions().iter().filter(|r| r.usable).map(|r| r.end).max().unwrap_or(0);
    MAX_PHYS.store(max, Ordering::Relaxed);
    let frames = (max / PAGE_SIZE) as usize;
    let words = FrameBitmap::words_for(frames);
    let bytes = (words * 8) as u64;

    let (kstart, kend) = kernel_phys_range();
    let mut reserved: [(u64, u64); 3 + crate::bootinfo::MAX_MODULES] = [(0, 0); 7];
    reserved[0] = (0, 0x10_0000); // real-mode area, BIOS, boot structures below 1 MiB
    reserved[1] = (kstart, kend);
    reserved[2] = boot.info_range;
    for (i, m) in boot.modules().iter().enumerate() {
        reserved[3 + i] = (m.start, m.end);
    }
    let overlaps = |s: u64, e: u64| reserved.iter().any(|&(rs, re)| s < re && rs < e);

    // The bitmap's own storage: the first page-aligned usable stretch below
    // 4 GiB (the boot page tables map only that far) that avoids every
    // reserved range.
    let mut storage = None;
    'outer: for r in boot.regions().iter().filter(|r| r.usable) {
        let mut s = r.start.next_multiple_of(PAGE_SIZE);
        while s + bytes <= r.end.min(1 << 32) {
            if !overlaps(s, s + bytes) {
                storage = Some(s);
                break 'outer;
            }
            s += PAGE_SIZE;
        }
    }
    let Some(storage) = storage else {
        crate::kprintln_unlocked!("fatal: no memory for the frame bitmap ({bytes} bytes)");
        crate::qemu::exit(crate::qemu::ExitCode::Failure);
    };
    // SAFETY: [storage, storage + bytes) is usable RAM below 4 GiB, reached
    // through the direct map, overlapping nothing reserved, and it is
    // reserved in the bitmap below so nothing else ever gets it; the slice
    // lives for the rest of the kernel's life.
    let words_slice: &'static mut [u64] =
        unsafe { core::slice::from_raw_parts_mut(phys_to_virt(storage) as *mut u64, words) };
    let mut bitmap = FrameBitmap::new(words_slice, frames);
    for r in boot.regions().iter().filter(|r| r.usable) {
        let s = r.start.div_ceil(PAGE_SIZE);
        let e = r.end / PAGE_SIZE;
        if e > s {
            bitmap.free_range(s as usize, e as usize);
        }
    }
    // Reserved ranges may sit inside regions marked usable.
    for &(s, e) in reserved.iter().chain([(storage, storage + bytes)].iter()) {
        if e > s {
            bitmap.reserve_range((s / PAGE_SIZE) as usize, e.div_ceil(PAGE_SIZE) as usize);
        }
    }
    let usable = bitmap.free_frames() as u64;
    USABLE_FRAMES.store(usable, Ordering::Relaxed);
    RESERVE.store((usable / 64).min(1024), Ordering::Relaxed);
    FREE_FRAMES.store(usable, Ordering::Relaxed);
    *FRAMES.lock() = Some(bitmap);
}

/// Allocates one frame (contents undefined).
pub fn alloc_frame() -> Option<PhysFrame<Size4KiB>> {
    let f = {
        let mut g = crate::spinlock::lock(crate::spinlock::FRAMES, &FRAMES);
        let b = g.as_mut()?;
        let f = b.alloc()?;
        publish(b);
        f
    };
    Some(PhysFrame::containing_address(PhysAddr::new(f as u64 * PAGE_SIZE)))
}

/// Frames kept for the kernel: user memory (anonymous and file pages,
/// pipe buffers) stops here, so the heap and the OOM killer's path (a
/// signal, the exit of the victim) still find frames when user memory has
/// run out. A 64th of RAM, at most 4 MiB.
pub fn reserve() -> u64 {
    RESERVE.load(Ordering::Relaxed)
}

/// Free frames now, without the allocator's lock (a value published by
/// the last change).
pub fn free_frames() -> u64 {
    FREE_FRAMES.load(Ordering::Relaxed)
}

fn publish(b: &FrameBitmap<'_>) {
    FREE_FRAMES.store(b.free_frames() as u64, Ordering::Relaxed);
}

/// Allocates one zero-filled frame for user memory: `None` when no more
/// than [`reserve`] frames are free.
pub fn alloc_user_frame() -> Option<PhysFrame<Size4KiB>> {
    let f = alloc_user_frame_uninit()?;
    frame_bytes_mut(f).fill(0);
    Some(f)
}

/// [`alloc_user_frame`] without the zero fill: the caller writes every
/// byte it later reads (pipe buffers).
pub fn alloc_user_frame_uninit() -> Option<PhysFrame<Size4KiB>> {
    let f = {
        let mut g = crate::spinlock::lock(crate::spinlock::FRAMES, &FRAMES);
        let b = g.as_mut()?;
        if (b.free_frames() as u64) <= reserve() {
            return None;
        }
        let f = b.alloc()?;
        publish(b);
        f
    };
    Some(PhysFrame::containing_address(PhysAddr::new(f as u64 * PAGE_SIZE)))
}

/// Allocates one zero-filled frame.
pub fn alloc_zeroed_frame() -> Option<PhysFrame<Size4KiB>> {
    let f = alloc_frame()?;
    frame_bytes_mut(f).fill(0);
    Some(f)
}

/// The contents of a frame through the direct map.
///
/// The caller must own the frame (have allocated it and not freed it).
pub fn frame_bytes_mut(f: PhysFrame<Size4KiB>) -> &'static mut [u8] {
    // SAFETY: every frame of RAM is mapped writable in the direct map; the
    // frame is owned by the caller, so no other reference to it exists.
    unsafe {
        core::slice::from_raw_parts_mut(
            phys_to_virt(f.start_address().as_u64()) as *mut u8,
            PAGE_SIZE as usize,
        )
    }
}

/// The contents of a frame through the direct map, read-only.
pub fn frame_bytes(f: PhysFrame<Size4KiB>) -> &'static [u8] {
    // SAFETY: every frame of RAM is mapped in the direct map.
    unsafe {
        core::slice::from_raw_parts(phys_to_virt(f.start_address().as_u64()) as *const u8, PAGE_SIZE as usize)
    }
}

/// Frees a frame. Freeing a frame that is not allocated is a kernel bug and
/// is logged, not acted on.
pub fn free_frame(f: PhysFrame<Size4KiB>) {
    let n = (f.start_address().as_u64() / PAGE_SIZE) as usize;
    let bad = {
        let mut g = crate::spinlock::lock(crate::spinlock::FRAMES, &FRAMES);
        let Some(b) = g.as_mut() else { return };
        let r = b.free(n);
        publish(b);
        r.is_err()
    };
    if bad {
        log::error!("free of unallocated frame {:#x}", f.start_address().as_u64());
    }
}

/// Allocates `count` physically contiguous frames, the first one's number a
/// multiple of `align` (a power of two): the first one's address.
pub fn alloc_contiguous(count: usize, align: usize) -> Option<u64> {
    let f = {
        let mut g = crate::spinlock::lock(crate::spinlock::FRAMES, &FRAMES);
        let b = g.as_mut()?;
        let f = b.alloc_contiguous(count, align)?;
        publish(b);
        f
    };
    Some(f as u64 * PAGE_SIZE)
}

/// Frees frames from [`alloc_contiguous`].
pub fn free_contiguous(paddr: u64, count: usize) {
    for i in 0..count as u64 {
        free_frame(PhysFrame::containing_address(PhysAddr::new(paddr + i * PAGE_SIZE)));
    }
}

/// `(free, usable)` frame counts.
pub fn stats() -> (u64, u64) {
    let free = FRAMES.lock().as_ref().map_or(0, |b| b.free_frames() as u64);
    (free, USABLE_FRAMES.load(Ordering::Relaxed))
}

/// The allocator as the `x86_64` crate's page-table code wants it.
pub struct GlobalFrames;

// SAFETY: `paging::table_frame` returns zero-filled frames that are unused
// and owned by the caller from then on (from the pool of clean page-table
// frames or the allocator).
unsafe impl x86_64::structures::paging::FrameAllocator<Size4KiB> for GlobalFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        super::paging::table_frame()
    }
}

/// The bytes of a boot module (the initramfs). Its frames are reserved for
/// the kernel's whole life, so the slice stays valid.
pub fn module_bytes(m: &crate::bootinfo::Module) -> &'static [u8] {
    let len = m.end.saturating_sub(m.start) as usize;
    if m.end > max_phys().max(1 << 32) {
        return &[];
    }
    // SAFETY: the module's frames are reserved in the frame allocator (never
    // handed out) and mapped by the direct map; nothing writes them.
    unsafe { core::slice::from_raw_parts(phys_to_virt(m.start) as *const u8, len) }
}
