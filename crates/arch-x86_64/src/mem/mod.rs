//! Physical memory: the direct map, the frame allocator, page tables, heap.

pub mod bitmap;
#[cfg(any(target_os = "none", test))]
mod copy;
#[cfg(target_os = "none")]
pub mod frames;
#[cfg(target_os = "none")]
pub mod heap;
#[cfg(target_os = "none")]
pub mod paging;
mod scan;
pub mod slab;
#[cfg(target_os = "none")]
pub mod vmimpl;

/// Where all physical memory is mapped in the kernel half.
pub const PHYS_OFFSET: u64 = 0xffff_8000_0000_0000;
/// Where the kernel image is linked (its physical address added).
pub const KERNEL_BASE: u64 = 0xffff_ffff_8000_0000;
/// The page size.
pub const PAGE_SIZE: u64 = 4096;

/// The direct-map address of physical address `paddr`.
pub const fn phys_to_virt(paddr: u64) -> u64 {
    PHYS_OFFSET + paddr
}
