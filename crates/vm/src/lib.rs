//! User address spaces with demand paging and copy-on-write fork, over a
//! trait-abstracted MMU.
//!
//! # The model
//!
//! - The machine is two traits defined here, [`PageTable`] (map, unmap,
//!   protect and query 4 KiB pages with user/writable/executable bits, walk
//!   the present pages, flush the TLB in batches) and [`FrameAllocator`]
//!   (allocate and free zeroed frames, byte access to their contents).
//!   The address space also needs a reference count per frame
//!   ([`FrameRefs`]): [`RefcountedFrames`] keeps them over any
//!   `FrameAllocator`, or a kernel with counts of its own implements
//!   `FrameRefs` itself. The arch crate implements them for x86_64's
//!   4-level tables and its direct map (with its own atomic counts);
//!   [`testing`] (feature `testing`) implements them in software for host
//!   tests.
//! - A [`Vmar`] is one user address space: ordered, non-overlapping
//!   mappings, each with a range, permissions ([`Prot`]), private or shared,
//!   anonymous or backed by a [`PageSource`] (a file), and a name. The page
//!   table holds the present pages; the mappings say what may be present.
//! - [`Vmar::mmap`], [`Vmar::munmap`], [`Vmar::mprotect`] and [`Vmar::brk`]
//!   take the system calls' raw arguments and return Linux's errno values.
//!   They allocate nothing: [`Vmar::handle_page_fault`] fills a page on first
//!   touch (a zero frame, or the page source's frame).
//! - [`Vmar::fork`] shares every present page with the child. Private
//!   writable pages lose write access in both tables and their frame gains
//!   a reference; a write fault then copies the frame if its count is above
//!   1, and otherwise only restores write access. Shared mappings stay
//!   shared. Fork walks present pages only, never whole mappings.
//! - [`Vmar::read_user`], [`Vmar::write_user`], [`Vmar::read_val`],
//!   [`Vmar::write_val`] and [`Vmar::read_cstr`] copy to and from user
//!   addresses across pages and mappings, faulting pages in (and breaking
//!   copy-on-write sharing) as the CPU would, with `EFAULT` (or
//!   `ENAMETOOLONG`) instead of a panic.
//! - Dropping a `Vmar` (or [`Vmar::clear`]) releases every frame reference
//!   it holds exactly once.
//!
//! # For the process crate and the kernel
//!
//! Hold the address space behind a shared handle with the kernel's own
//! lock, e.g. `Arc<lock_api::Mutex<IrqLock, Vmar<P, A>>>` (`CLONE_VM`
//! clones the `Arc`; this crate takes no lock on it). The entry points:
//!
//! | what | call |
//! | --- | --- |
//! | create (first process) | [`Vmar::new`] / [`Vmar::with_config`] with an empty table |
//! | fork (copy on write) | [`Vmar::fork`], wrap the child in a new handle |
//! | exec | [`Vmar::fresh`] (same table kind), build the image, swap the handle; the old space may still be shared with a vfork parent, so do not [`Vmar::clear`] it |
//! | exit | drop the last handle (or [`Vmar::clear`]) |
//! | page fault | [`Vmar::handle_page_fault`]`(addr, access)` -> [`FaultOutcome`] |
//! | user memory | [`Vmar::read_user`], [`Vmar::write_user`], [`Vmar::read_val`], [`Vmar::write_val`], [`Vmar::read_cstr`] |
//! | system calls | [`Vmar::mmap`], [`Vmar::munmap`], [`Vmar::mprotect`], [`Vmar::brk`] (heap start: [`Vmar::set_brk_base`]) |
//! | /proc/self/maps, naming | [`Vmar::mappings`], [`Vmar::set_name`] |
//! | counters | [`Vmar::resident_pages`], [`Vmar::cow_copies`] |
//! | memory cgroup charges | [`Vmar::set_charge`] with a [`MemCharge`] |
//!
//! An ELF loader with no page cache maps each segment read-write, copies
//! the file bytes in with [`Vmar::write_user`], then [`Vmar::mprotect`]s it
//! to the segment's permissions.
//!
//! Locking: the address-space lock is a leaf as far as this crate goes; while
//! it is held the crate takes only the frame allocator's lock (and
//! [`RefcountedFrames`]' lock of its counts, never held while the wrapped
//! allocator runs) and a page source's own lock (inside
//! [`PageSource::page`]), never another address space's. Fork locks the parent only; the child is not shared yet.
//!
//! # Example: fork, the child writes, the parent keeps its bytes
//!
//! ```
//! use vm::testing::{TestFrames, test_vmar};
//! use vm::abi::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};
//!
//! let frames = TestFrames::new();
//! let mut parent = test_vmar(&frames);
//! let addr = parent
//!     .mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, None, 0)
//!     .unwrap();
//! parent.write_user(addr, b"parent").unwrap();
//!
//! let mut child = parent.fork().unwrap();
//! child.write_user(addr, b"child!").unwrap();
//!
//! let mut buf = [0u8; 6];
//! parent.read_user(addr, &mut buf).unwrap();
//! assert_eq!(&buf, b"parent");
//! child.read_user(addr, &mut buf).unwrap();
//! assert_eq!(&buf, b"child!");
//! assert_eq!(child.cow_copies(), 1);
//!
//! drop(child);
//! drop(parent);
//! assert_eq!(frames.allocated(), 0);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod abi;
mod limits;
mod maps;
mod mmu;
mod refcount;
mod source;
#[cfg(feature = "testing")]
pub mod testing;
mod uaccess;
mod vmar;

pub use limits::SpaceLimits;
pub use mmu::{
    Frame, FrameAllocator, FrameRefs, NoMemory, PAGE_SHIFT, PAGE_SIZE, PageTable, PteFlags, is_page_aligned,
    page_ceil, page_floor,
};
pub use refcount::RefcountedFrames;
pub use source::PageSource;
pub use uaccess::{UserCopies, UserValue};
pub use vmar::{
    Access, DEFAULT_MAX_MAP_COUNT, FAULT_AROUND_PAGES, FaultOutcome, ForkSteps, Limited, MapFile,
    MappingInfo, MappingKind, MemCharge, PM_FILE, PM_MMAP_EXCLUSIVE, PM_PFRAME_MASK, PM_PRESENT,
    PM_SOFT_DIRTY, PM_SWAP, Prot, SegvCode, Vmar, VmarConfig, set_system_max_map_count, system_max_map_count,
};

// The README's example runs as a doctest too (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
