//! The kernel heap, whose memory goes back to the frame allocator when freed.
//!
//! Small requests (up to 2016 bytes, aligned to at most 64) come from
//! [`super::slab`]: size classes in single frames, a frame freed as soon as
//! it holds no object (one empty frame per class kept). Bigger ones are whole
//! frames of their own: one frame from the allocator's hinted search, a
//! longer run from its contiguous search, freed to it on `dealloc`. So after
//! a workload ends, the frames its kernel objects took are free again.

use super::slab::{PageSource, Slab, class_for};
use super::{PAGE_SIZE, frames, phys_to_virt};
use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::PhysAddr;
use x86_64::structures::paging::PhysFrame;

const PAGE: usize = PAGE_SIZE as usize;

/// Frames for the slab, through the direct map.
pub struct FramePages;

// SAFETY: each page is a frame just taken from the frame allocator (owned by
// the slab alone until freed), 4 KiB-aligned, writable in the direct map.
unsafe impl PageSource for FramePages {
    fn alloc_page(&mut self) -> Option<usize> {
        let f = frames::alloc_frame()?;
        Some(phys_to_virt(f.start_address().as_u64()) as usize)
    }

    fn free_page(&mut self, addr: usize) {
        frames::free_frame(frame_of(addr));
    }
}

fn frame_of(addr: usize) -> PhysFrame {
    PhysFrame::containing_address(PhysAddr::new(addr as u64 - super::PHYS_OFFSET))
}

/// The allocator: the slab under a spin lock, big requests straight to
/// frames.
pub struct KernelHeap {
    slab: spin::Mutex<Slab<FramePages>>,
}

/// Bytes in frames taken for requests beyond the slab.
static LARGE_BYTES: AtomicU64 = AtomicU64::new(0);

#[global_allocator]
static HEAP: KernelHeap = KernelHeap { slab: spin::Mutex::new(Slab::new(FramePages)) };

fn pages_of(layout: &Layout) -> usize {
    layout.size().max(1).div_ceil(PAGE)
}

// SAFETY: `alloc` returns memory nobody else uses (a slab object or frames
// just taken), aligned as asked (slab classes keep their alignment, frame
// runs are aligned to the request's alignment in frames); `dealloc` routes
// by the same layout test as `alloc`, so each pointer returns where it came
// from.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(class) = class_for(layout.size(), layout.align()) {
            return crate::spinlock::lock(crate::spinlock::HEAP, &self.slab)
                .alloc(class)
                .map_or(core::ptr::null_mut(), |a| a as *mut u8);
        }
        let pages = pages_of(&layout);
        let align = (layout.align() / PAGE).max(1);
        let paddr = if pages == 1 && align == 1 {
            frames::alloc_frame().map(|f| f.start_address().as_u64())
        } else {
            frames::alloc_contiguous(pages, align)
        };
        match paddr {
            Some(p) => {
                LARGE_BYTES.fetch_add((pages * PAGE) as u64, Ordering::Relaxed);
                phys_to_virt(p) as *mut u8
            }
            None => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(class) = class_for(layout.size(), layout.align()) {
            // SAFETY: the caller's promise: `ptr` came from `alloc` with
            // this layout, so from this class of the slab.
            unsafe { crate::spinlock::lock(crate::spinlock::HEAP, &self.slab).free(ptr as usize, class) };
            return;
        }
        let pages = pages_of(&layout);
        let paddr = ptr as u64 - super::PHYS_OFFSET;
        if pages == 1 {
            frames::free_frame(frame_of(ptr as usize));
        } else {
            frames::free_contiguous(paddr, pages);
        }
        LARGE_BYTES.fetch_sub((pages * PAGE) as u64, Ordering::Relaxed);
    }
}

/// Bytes the heap holds in frames now (slab pages and big requests).
pub fn size() -> u64 {
    slab_bytes() + LARGE_BYTES.load(Ordering::Relaxed)
}

/// Bytes in the slab's frames (what /proc/meminfo calls Slab).
pub fn slab_bytes() -> u64 {
    (HEAP.slab.lock().pages() * PAGE) as u64
}

/// Bytes handed out to live allocations (slab objects by their class size,
/// big requests by whole frames).
pub fn used() -> u64 {
    HEAP.slab.lock().used_bytes() as u64 + LARGE_BYTES.load(Ordering::Relaxed)
}

/// Free frames plus the frames the heap holds and the clean page-table
/// frames `paging` keeps for reuse: what a leak check compares, constant
/// across work that allocates and frees only heap memory (the slab may
/// keep a page it took, which still counts here).
pub fn free_frames_with_heap() -> u64 {
    let (free, _) = frames::stats();
    free + size() / PAGE as u64 + super::paging::pooled_tables()
}
