//! Memory-mapped files: the content of every ramfs/tmpfs file lives in
//! frames of the frame allocator ([`FramePages`], vfs's `PageMemory`), and
//! a mapping of a file maps those same frames ([`FilePages`], vm's
//! `PageSource`), so `read`/`write` and every `MAP_SHARED` mapping, in any
//! process, see one copy (a private mapping copies a page on its first
//! write, as vm does for any source whose pages are shared).
//!
//! One [`FilePages`] exists per mapped file while it has mappings (the
//! inode remembers it weakly, `vfs::Inode::map_observer_or_insert`); when
//! pages leave the file (truncate, a punched hole) it unmaps them from every
//! address space, so the next access past the end of the file is `SIGBUS`.
//!
//! # Locks
//! `FilePages::page` takes the inode's lock inside the address space's lock
//! (a fault). `pages_dropped` runs with no inode lock held and takes the
//! process table's lock and then each address-space lock, one at a time.

use alloc::sync::Arc;
use arch_x86_64::mem::vmimpl::KernelFrames;
use core::any::Any;
use linux_abi::Errno;
use vfs::{Inode, MapObserver, PageId, PageMemory};
use vm::{Frame, FrameAllocator, FrameRefs, PAGE_SIZE, PageSource};

/// File content in frames: a `PageId` is a frame's physical address.
pub struct FramePages;

/// The frame behind a page id: ids come only from `alloc_zeroed` below,
/// so every id is a frame's address; `None` would be a bug, and touches
/// nothing.
fn frame(p: PageId) -> Option<Frame> {
    let f = Frame::from_phys_addr(p.0);
    if f.is_none() {
        log::error!("file page id {:#x} is not a frame", p.0);
    }
    f
}

impl PageMemory for FramePages {
    fn alloc_zeroed(&self) -> Option<PageId> {
        KernelFrames.alloc_zeroed().ok().map(|f| PageId(f.phys_addr()))
    }
    fn add_ref(&self, page: PageId) {
        if let Some(f) = frame(page) {
            KernelFrames.add_ref(f);
        }
    }
    fn release(&self, page: PageId) {
        if let Some(f) = frame(page) {
            KernelFrames.release(f);
        }
    }
    fn read(&self, page: PageId, offset: usize, buf: &mut [u8]) {
        if let Some(f) = frame(page) {
            KernelFrames.read(f, offset, buf);
        }
    }
    fn write(&self, page: PageId, offset: usize, data: &[u8]) {
        if let Some(f) = frame(page) {
            KernelFrames.write(f, offset, data);
        }
    }
    fn preempt_point(&self) {
        // between batches of a truncation's release (no lock held)
        crate::sched::cond_resched();
    }
}

/// One page of kernel memory taken from the frame allocator rather than
/// the heap (which never shrinks), given back when dropped: pipe buffers,
/// so a drained pipe returns its memory as a deleted file does.
pub struct FramePage(Frame);

impl FramePage {
    /// A page whose bytes are unspecified (the caller writes each byte it
    /// reads back: a pipe's slot); `None` when memory is exhausted.
    pub fn new_uninit() -> Option<Self> {
        KernelFrames.alloc_uninit().ok().map(FramePage)
    }
    /// Copies bytes from `offset` into `buf`.
    pub fn read(&self, offset: usize, buf: &mut [u8]) {
        KernelFrames.read(self.0, offset, buf);
    }
    /// Copies `data` in at `offset`.
    pub fn write(&self, offset: usize, data: &[u8]) {
        KernelFrames.write(self.0, offset, data);
    }
}

impl Drop for FramePage {
    fn drop(&mut self) {
        KernelFrames.release(self.0);
    }
}

/// The pages of one mapped file, as its mappings see them.
pub struct FilePages {
    inode: Arc<Inode>,
}

impl PageSource for FilePages {
    fn page(&self, offset: u64) -> Result<Frame, Errno> {
        // past the end of the file: EFAULT, which the fault makes SIGBUS
        let id = self.inode.map_page(offset / PAGE_SIZE as u64)?;
        frame(id).ok_or(Errno::EFAULT)
    }
    fn cached_page(&self, offset: u64) -> Option<Frame> {
        frame(self.inode.cached_page(offset / PAGE_SIZE as u64)?)
    }
}

impl MapObserver for FilePages {
    fn pages_dropped(&self, first: u64, end: Option<u64>, cows: bool) {
        let table = crate::proc::table();
        for pid in table.pids() {
            let Some(Some(vm)) = table.with_process(pid, |p| p.vm().cloned()) else {
                continue;
            };
            vm.lock().unmap_source_pages(self, first, end, cows);
        }
    }
}

/// The page source of a regular file for mmap: the one its other mappings
/// use, or a new one. `ENODEV` for a file whose pages cannot be mapped.
pub fn file_pages(inode: &Arc<Inode>) -> Result<Arc<FilePages>, Errno> {
    if !inode.can_map() {
        return Err(Errno::ENODEV);
    }
    let o = inode.map_observer_or_insert(|| Arc::new(FilePages { inode: inode.clone() }));
    let any: Arc<dyn Any + Send + Sync> = o;
    // only this module attaches observers, so it is always a FilePages
    any.downcast::<FilePages>().map_err(|_| Errno::ENODEV)
}
