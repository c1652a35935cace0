//! The memory that holds regular files' content (the page cache of an
//! in-memory filesystem), and what a kernel attaches to a file while it is
//! memory-mapped.
//!
//! A ramfs keeps each page of a file in a [`PageMemory`]. By default that
//! is [`HeapPages`] (pages on the heap, for host tests and for kernels that
//! never map files); a kernel that maps files gives its frame allocator
//! (each [`PageId`] a physical frame with a reference count), so a
//! `MAP_SHARED` mapping, `read(2)` and `write(2)` all see the same bytes
//! (see [`crate::Inode::map_page`]).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::any::Any;

/// One page of file content in a [`PageMemory`]: an opaque handle (for a
/// kernel, the physical address of a frame).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct PageId(pub u64);

/// Pages of [`PAGE_SIZE`](crate::PAGE_SIZE) bytes with reference counts:
/// the seam between a filesystem's content and the machine's memory.
///
/// A filesystem holds one reference on each page of its files; a kernel
/// that maps a page takes another ([`crate::Inode::map_page`]) and gives
/// it back through the same memory when it unmaps the page, so a page
/// dropped from a file (truncate) lives until its last mapping goes.
pub trait PageMemory: Send + Sync {
    /// A new page, all zeros, with one reference; `None` when memory is
    /// exhausted.
    fn alloc_zeroed(&self) -> Option<PageId>;
    /// Adds a reference to `page`.
    fn add_ref(&self, page: PageId);
    /// Drops a reference; the page is freed with the last one.
    fn release(&self, page: PageId);
    /// Copies bytes of `page` from `offset` into `buf` (`offset +
    /// buf.len()` is at most a page).
    fn read(&self, page: PageId, offset: usize, buf: &mut [u8]);
    /// Copies `data` into `page` at `offset` (at most to the page's end).
    fn write(&self, page: PageId, offset: usize, data: &[u8]);
    /// A preemption point (a kernel's `cond_resched`), called between
    /// batches of a long release of pages (a truncation, a punched hole),
    /// with no lock of the filesystem held. The default does nothing.
    fn preempt_point(&self) {}
    /// Zeroes `len` bytes of `page` from `offset`.
    fn zero(&self, page: PageId, offset: usize, len: usize) {
        const ZEROS: [u8; 256] = [0; 256];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(ZEROS.len());
            self.write(page, offset + done, &ZEROS[..n]);
            done += n;
        }
    }
}

/// Pages on the heap: the default [`PageMemory`] of [`crate::new_ramfs`].
/// Allocation is fallible (`try_reserve`), so a full heap is `ENOSPC` for
/// a writer, never a panic.
#[derive(Default)]
pub struct HeapPages {
    pages: spin::Mutex<Heap>,
}

/// The pages by id (reference count, bytes) and the last id given.
type Heap = (BTreeMap<u64, (usize, Box<[u8]>)>, u64);

impl HeapPages {
    /// An empty page store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of pages alive (held by a file or a caller).
    pub fn live(&self) -> usize {
        self.pages.lock().0.len()
    }
}

impl PageMemory for HeapPages {
    fn alloc_zeroed(&self) -> Option<PageId> {
        let mut v: Vec<u8> = Vec::new();
        v.try_reserve_exact(crate::PAGE_SIZE).ok()?;
        v.resize(crate::PAGE_SIZE, 0);
        let mut g = self.pages.lock();
        g.1 += 1;
        let id = g.1;
        g.0.insert(id, (1, v.into_boxed_slice()));
        Some(PageId(id))
    }

    fn add_ref(&self, page: PageId) {
        if let Some(p) = self.pages.lock().0.get_mut(&page.0) {
            p.0 += 1;
        }
    }

    fn release(&self, page: PageId) {
        let gone = {
            let mut g = self.pages.lock();
            match g.0.get_mut(&page.0) {
                Some(p) if p.0 > 1 => {
                    p.0 -= 1;
                    None
                }
                Some(_) => g.0.remove(&page.0),
                None => None,
            }
        };
        // the page's bytes are freed after the lock
        drop(gone);
    }

    fn read(&self, page: PageId, offset: usize, buf: &mut [u8]) {
        if let Some((_, p)) = self.pages.lock().0.get(&page.0) {
            let end = (offset + buf.len()).min(p.len());
            if offset < end {
                buf[..end - offset].copy_from_slice(&p[offset..end]);
            }
        }
    }

    fn write(&self, page: PageId, offset: usize, data: &[u8]) {
        if let Some((_, p)) = self.pages.lock().0.get_mut(&page.0) {
            let end = (offset + data.len()).min(p.len());
            if offset < end {
                p[offset..end].copy_from_slice(&data[..end - offset]);
            }
        }
    }
}

/// What a kernel attaches to a regular file while it is memory-mapped
/// (Linux's `address_space` with its `i_mmap` tree): told when pages leave
/// the file, so it can unmap them from every address space that maps them
/// (after which an access past the end of the file is `SIGBUS`).
///
/// The inode keeps only a weak reference ([`crate::Inode::map_observer`]);
/// the kernel's mappings keep the observer (and through it the file) alive.
pub trait MapObserver: Any + Send + Sync {
    /// Pages `first..end` (page indexes; `end == None`: to the end) were
    /// dropped from the file: by a truncate (`cows == true`: private
    /// copies made from those pages go too, as Linux's truncate does) or a
    /// hole punched in it (`cows == false`: only pages still shared with
    /// the file). Called with no inode lock held.
    fn pages_dropped(&self, first: u64, end: Option<u64>, cows: bool);
}
