//! [`RefcountedFrames`]: the reference counts an address space needs, kept
//! by this crate over a frame allocator that only allocates and frees.

use alloc::{boxed::Box, sync::Arc, vec::Vec};
use core::fmt;

use crate::mmu::{Frame, FrameAllocator, FrameRefs, NoMemory};

/// Frames per block of counts (2 MiB of memory, 2 KiB of counts).
const BLOCK: u64 = 512;

/// The counts, in blocks of [`BLOCK`] frames sorted by block number, each
/// made when the first frame in it is allocated: memory in proportion to
/// the memory in use, wherever it lies in the physical address space.
#[derive(Default)]
struct Counts {
    blocks: Vec<(u64, Block)>,
}

/// The counts of [`BLOCK`] frames.
type Block = Box<[u32]>;

impl Counts {
    fn count(&mut self, frame: Frame) -> Option<&mut u32> {
        let (block, index) = (frame.number() / BLOCK, (frame.number() % BLOCK) as usize);
        let at = self.blocks.binary_search_by_key(&block, |b| b.0).ok()?;
        Some(&mut self.blocks[at].1[index])
    }

    /// Sets `frame`'s count to 1, with `spare` as its block when it has
    /// none. `Ok` gives back `spare` when it was not needed; `Err(spare)`
    /// says a block was needed and `spare` was `None`, or the list of
    /// blocks could not grow.
    fn start(&mut self, frame: Frame, spare: Option<Block>) -> Result<Option<Block>, Option<Block>> {
        if let Some(c) = self.count(frame) {
            *c = 1;
            return Ok(spare);
        }
        let block = frame.number() / BLOCK;
        let Some(mut counts) = spare else { return Err(None) };
        if self.blocks.try_reserve(1).is_err() {
            return Err(Some(counts));
        }
        counts[(frame.number() % BLOCK) as usize] = 1;
        let at = self.blocks.partition_point(|b| b.0 < block);
        self.blocks.insert(at, (block, counts));
        Ok(None)
    }
}

/// A zeroed block of counts, or `None` when the heap is exhausted.
fn new_block() -> Option<Block> {
    let mut v = Vec::new();
    v.try_reserve_exact(BLOCK as usize).ok()?;
    v.resize(BLOCK as usize, 0);
    Some(v.into_boxed_slice())
}

/// Reference counts kept by this crate over a plain [`FrameAllocator`]: a
/// kernel whose allocator only allocates and frees wraps it in this and
/// gives it to [`Vmar`](crate::Vmar) (and to its page sources, which add
/// references through it).
///
/// The counts are 4 bytes a frame, in blocks of 512 frames made on the
/// first allocation in a block (an allocation fails with [`NoMemory`] if
/// its block cannot be had), behind one spin lock shared by every clone;
/// the wrapped allocator is called outside that lock. Every frame counted
/// here must come from this wrapper's `alloc_*`, not from the wrapped
/// allocator directly.
///
/// ```
/// use vm::{Frame, FrameAllocator, FrameRefs, NoMemory, PAGE_SIZE, RefcountedFrames};
/// use std::sync::{Arc, Mutex};
///
/// /// Allocates and frees, nothing else.
/// #[derive(Clone, Default)]
/// struct Pool(Arc<Mutex<Vec<Option<Vec<u8>>>>>);
///
/// impl FrameAllocator for Pool {
///     fn alloc_zeroed(&self) -> Result<Frame, NoMemory> {
///         let mut pool = self.0.lock().unwrap();
///         pool.push(Some(vec![0; PAGE_SIZE]));
///         Ok(Frame::from_number(pool.len() as u64))
///     }
///     fn free(&self, frame: Frame) {
///         self.0.lock().unwrap()[frame.number() as usize - 1] = None;
///     }
///     fn read(&self, frame: Frame, offset: usize, buf: &mut [u8]) {
///         let pool = self.0.lock().unwrap();
///         let bytes = pool[frame.number() as usize - 1].as_ref().unwrap();
///         buf.copy_from_slice(&bytes[offset..offset + buf.len()]);
///     }
///     fn write(&self, frame: Frame, offset: usize, data: &[u8]) {
///         let mut pool = self.0.lock().unwrap();
///         let bytes = pool[frame.number() as usize - 1].as_mut().unwrap();
///         bytes[offset..offset + data.len()].copy_from_slice(data);
///     }
/// }
///
/// let pool = Pool::default();
/// let frames = RefcountedFrames::new(pool.clone());
/// let f = frames.alloc_zeroed().unwrap();
/// frames.add_ref(f); // shared (a fork)
/// assert_eq!(frames.ref_count(f), 2);
/// frames.release(f);
/// frames.release(f); // the last reference: the pool frees it
/// assert!(pool.0.lock().unwrap()[0].is_none());
/// ```
pub struct RefcountedFrames<A: FrameAllocator> {
    frames: A,
    counts: Arc<spin::Mutex<Counts>>,
}

impl<A: FrameAllocator> RefcountedFrames<A> {
    /// Counts over `frames`, with no frame counted yet.
    pub fn new(frames: A) -> Self {
        RefcountedFrames { frames, counts: Arc::default() }
    }

    /// The wrapped allocator.
    pub fn inner(&self) -> &A {
        &self.frames
    }

    /// Counts a fresh frame of the wrapped allocator as 1, or frees it
    /// again when its block of counts cannot be allocated.
    fn counted(&self, frame: Frame) -> Result<Frame, NoMemory> {
        // most frames fall in a block that exists: no allocation; else a
        // block is made outside the lock (and dropped outside it when
        // another CPU made one first, or the list could not grow)
        let first = self.counts.lock().start(frame, None);
        let counted = match first {
            Ok(_) => Ok(None),
            Err(_) => match new_block() {
                Some(block) => self.counts.lock().start(frame, Some(block)),
                None => Err(None),
            },
        };
        match counted {
            Ok(_unused) => Ok(frame),
            Err(_) => {
                self.frames.free(frame);
                Err(NoMemory)
            }
        }
    }
}

impl<A: FrameAllocator + Clone> Clone for RefcountedFrames<A> {
    /// Another handle on the same counts and allocator.
    fn clone(&self) -> Self {
        RefcountedFrames { frames: self.frames.clone(), counts: self.counts.clone() }
    }
}

impl<A: FrameAllocator + fmt::Debug> fmt::Debug for RefcountedFrames<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefcountedFrames").field("frames", &self.frames).finish_non_exhaustive()
    }
}

impl<A: FrameAllocator> FrameAllocator for RefcountedFrames<A> {
    /// A zeroed frame of the wrapped allocator, with count 1.
    fn alloc_zeroed(&self) -> Result<Frame, NoMemory> {
        self.counted(self.frames.alloc_zeroed()?)
    }

    /// An uninitialised frame of the wrapped allocator, with count 1.
    fn alloc_uninit(&self) -> Result<Frame, NoMemory> {
        self.counted(self.frames.alloc_uninit()?)
    }

    /// Frees `frame` whatever its count (use [`FrameRefs::release`]).
    fn free(&self, frame: Frame) {
        if let Some(c) = self.counts.lock().count(frame) {
            *c = 0;
        }
        self.frames.free(frame);
    }

    fn read(&self, frame: Frame, offset: usize, buf: &mut [u8]) {
        self.frames.read(frame, offset, buf);
    }

    fn write(&self, frame: Frame, offset: usize, data: &[u8]) {
        self.frames.write(frame, offset, data);
    }

    fn copy_frame(&self, src: Frame, dst: Frame) {
        self.frames.copy_frame(src, dst);
    }
}

impl<A: FrameAllocator> FrameRefs for RefcountedFrames<A> {
    fn add_ref(&self, frame: Frame) {
        let mut counts = self.counts.lock();
        match counts.count(frame) {
            Some(c) if *c > 0 => *c += 1,
            _ => debug_assert!(false, "add_ref of a frame with no references: {frame:?}"),
        }
    }

    fn release(&self, frame: Frame) {
        let last = {
            let mut counts = self.counts.lock();
            match counts.count(frame) {
                Some(c) if *c > 0 => {
                    *c -= 1;
                    *c == 0
                }
                _ => {
                    debug_assert!(false, "release of a frame with no references: {frame:?}");
                    false
                }
            }
        };
        if last {
            self.frames.free(frame);
        }
    }

    fn ref_count(&self, frame: Frame) -> usize {
        self.counts.lock().count(frame).map_or(0, |c| *c as usize)
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::testing::TestFrames;

    #[test]
    fn counts_over_a_plain_allocator_free_with_the_last_reference() {
        let plain = TestFrames::new();
        let frames = RefcountedFrames::new(plain.clone());
        let a = frames.alloc_zeroed().unwrap();
        let b = frames.clone().alloc_uninit().unwrap();
        assert_eq!((frames.ref_count(a), frames.ref_count(b)), (1, 1));
        frames.add_ref(a);
        frames.clone().add_ref(a);
        assert_eq!(frames.ref_count(a), 3, "clones share the counts");
        frames.write(a, 8, b"bytes");
        let mut buf = [0; 5];
        frames.read(a, 8, &mut buf);
        assert_eq!(&buf, b"bytes");
        frames.release(a);
        frames.release(a);
        assert_eq!(plain.allocated(), 2);
        frames.release(a);
        assert_eq!((plain.allocated(), frames.ref_count(a)), (1, 0));
        frames.release(b);
        assert_eq!(plain.allocated(), 0);
    }

    #[test]
    fn blocks_are_kept_sorted_wherever_frames_lie() {
        let mut counts = Counts::default();
        let far = Frame::from_number(7 * BLOCK + 3);
        let near = Frame::from_number(5);
        let middle = Frame::from_number(3 * BLOCK);
        for f in [far, near, middle] {
            assert!(matches!(counts.start(f, None), Err(None)), "no block yet: one is asked for");
            assert!(matches!(counts.start(f, new_block()), Ok(None)), "the block is used");
        }
        let order: Vec<u64> = counts.blocks.iter().map(|b| b.0).collect();
        assert_eq!(order, [0, 3, 7]);
        assert_eq!(counts.count(far).copied(), Some(1));
        assert_eq!(counts.count(Frame::from_number(7 * BLOCK + 4)).copied(), Some(0));
        assert_eq!(counts.count(Frame::from_number(9 * BLOCK)), None);
        // a second frame in a block needs no new one; a spare comes back
        assert!(matches!(counts.start(Frame::from_number(6), new_block()), Ok(Some(_))));
        assert_eq!(counts.blocks.len(), 3);
    }

    #[test]
    fn an_exhausted_allocator_is_no_memory() {
        let plain = TestFrames::with_limit(1);
        let frames = RefcountedFrames::new(plain.clone());
        let a = frames.alloc_zeroed().unwrap();
        assert_eq!(frames.alloc_zeroed(), Err(NoMemory));
        frames.release(a);
        assert_eq!(plain.allocated(), 0);
    }
}
