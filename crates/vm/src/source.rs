//! Page sources: where the pages of a non-anonymous mapping come from.

use alloc::collections::BTreeMap;
use linux_abi::Errno;

use crate::mmu::{Frame, FrameRefs, NoMemory};

/// The pages of a memory object that can be mapped (a file's page cache, a
/// shared memory segment). The kernel implements it for its files.
///
/// A source that keeps its pages (a page cache) holds its own reference on
/// each frame, so a private mapping sees a count above 1 and copies the page
/// before the first write; a shared mapping writes into the source's frame.
pub trait PageSource: Send + Sync {
    /// The frame holding the page at byte `offset` (a multiple of the page
    /// size) of the object, with one reference added for the caller, who
    /// releases it through the frame allocator when it unmaps the page.
    ///
    /// `Err(ENOMEM)` makes the fault an out-of-memory outcome; any other
    /// error (for example a page wholly past the end of a file) makes it
    /// `SIGBUS`.
    fn page(&self, offset: u64) -> Result<Frame, Errno>;

    /// The frame of the page at byte `offset` if the object already holds
    /// it (in its page cache), with one reference added for the caller;
    /// `None` otherwise. Never allocates or reads anything: a read fault maps
    /// such pages around the one it needs (Linux's fault-around,
    /// `filemap_map_pages`). The default holds none.
    fn cached_page(&self, offset: u64) -> Option<Frame> {
        let _ = offset;
        None
    }
}

/// The object behind a `MAP_SHARED | MAP_ANONYMOUS` mapping: zero pages
/// allocated on first touch and kept for every process that shares it (as
/// Linux's shmem does), freed when the last mapping goes away.
pub(crate) struct SharedAnon<A: FrameRefs> {
    alloc: A,
    pages: spin::Mutex<BTreeMap<u64, Frame>>,
}

impl<A: FrameRefs> SharedAnon<A> {
    pub(crate) fn new(alloc: A) -> Self {
        SharedAnon { alloc, pages: spin::Mutex::new(BTreeMap::new()) }
    }
}

impl<A: FrameRefs> PageSource for SharedAnon<A> {
    fn page(&self, offset: u64) -> Result<Frame, Errno> {
        let mut pages = self.pages.lock();
        let frame = match pages.get(&offset) {
            Some(&frame) => frame,
            None => {
                let frame = self.alloc.alloc_zeroed().map_err(|NoMemory| Errno::ENOMEM)?;
                pages.insert(offset, frame);
                frame
            }
        };
        self.alloc.add_ref(frame);
        Ok(frame)
    }
}

impl<A: FrameRefs> Drop for SharedAnon<A> {
    fn drop(&mut self) {
        let pages = core::mem::take(&mut *self.pages.lock());
        for frame in pages.into_values() {
            self.alloc.release(frame);
        }
    }
}
