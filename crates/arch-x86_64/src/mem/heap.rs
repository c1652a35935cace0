//! The kernel heap: `buddy_system_allocator`, grown from the frame allocator.

use super::{PAGE_SIZE, frames, phys_to_virt};
use buddy_system_allocator::{Heap, LockedHeapWithRescue};
use core::alloc::Layout;
use core::sync::atomic::{AtomicU64, Ordering};

/// Smallest growth step.
const GROW_MIN: usize = 1 << 20;

static HEAP_BYTES: AtomicU64 = AtomicU64::new(0);

#[global_allocator]
static HEAP: LockedHeapWithRescue<32> = LockedHeapWithRescue::new(grow);

/// Called with the heap locked when an allocation fails: adds a block of
/// contiguous frames big enough for `layout`. The frame allocator never
/// allocates from the heap, so this cannot recurse.
fn grow(heap: &mut Heap<32>, layout: &Layout) {
    let want = (layout.size() + layout.align()).max(GROW_MIN).next_power_of_two();
    let pages = want / PAGE_SIZE as usize;
    // Aligned to its size: the buddy allocator splits a block at its
    // address's alignment, so only an aligned block serves a large request.
    if let Some(paddr) = frames::alloc_contiguous(pages, pages) {
        let start = phys_to_virt(paddr) as usize;
        // SAFETY: the frames were just allocated for the heap alone and are
        // mapped writable in the direct map; the heap owns them from now on.
        unsafe { heap.add_to_heap(start, start + want) };
        HEAP_BYTES.fetch_add(want as u64, Ordering::Relaxed);
    }
}

/// Bytes the heap holds (grows, never shrinks).
pub fn size() -> u64 {
    HEAP_BYTES.load(Ordering::Relaxed)
}

/// Bytes handed out to live allocations.
pub fn used() -> u64 {
    HEAP.lock().stats_alloc_actual() as u64
}
