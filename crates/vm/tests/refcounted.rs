//! Address spaces over an allocator that only allocates and frees, with the
//! reference counts kept by `vm::RefcountedFrames`.

use vm::abi::*;
use vm::testing::{SoftPageTable, TestFrames, cpu_store};
use vm::{FaultOutcome, FrameRefs, PAGE_SIZE, PageTable, RefcountedFrames, Vmar};

const RW: usize = PROT_READ | PROT_WRITE;
const PRIV_ANON: usize = MAP_PRIVATE | MAP_ANONYMOUS;
const SHARED_ANON: usize = MAP_SHARED | MAP_ANONYMOUS;

type Counted = RefcountedFrames<TestFrames>;

fn space(frames: &Counted) -> Vmar<SoftPageTable, Counted> {
    Vmar::new(SoftPageTable::new(), frames.clone())
}

fn byte(v: &mut Vmar<SoftPageTable, Counted>, addr: usize) -> u8 {
    v.read_val(addr).unwrap()
}

/// A fork of 600 pages (two blocks of counts): every frame shared at count
/// 2 while the wrapped allocator's own count stays 1; the child's writes
/// copy each page once, the parent's then copy none.
#[test]
fn fork_shares_frames_by_the_wrappers_counts_across_blocks() {
    const PAGES: usize = 600;
    let memory = TestFrames::new();
    let frames = RefcountedFrames::new(memory.clone());
    let mut parent = space(&frames);
    let a = parent.mmap(0, PAGES * PAGE_SIZE, RW, PRIV_ANON, None, 0).unwrap();
    for i in 0..PAGES {
        parent.write_val(a + i * PAGE_SIZE, i as u16).unwrap();
    }
    assert_eq!(memory.allocated(), PAGES);

    let mut child = parent.fork().unwrap();
    assert_eq!(memory.allocated(), PAGES, "fork copies no frame");
    for i in [0, 1, 511, 512, PAGES - 1] {
        let (frame, _) = parent.page_table().query(a + i * PAGE_SIZE).unwrap();
        assert_eq!(frames.ref_count(frame), 2, "page {i}");
        assert_eq!(memory.ref_count(frame), 1, "the wrapped allocator counts nothing");
    }
    for i in 0..PAGES {
        cpu_store(&mut child, a + i * PAGE_SIZE, &[0xee]).unwrap();
    }
    assert_eq!((child.cow_copies(), memory.allocated()), (PAGES as u64, 2 * PAGES));
    for i in 0..PAGES {
        cpu_store(&mut parent, a + i * PAGE_SIZE + 1, &[0x55]).unwrap();
    }
    assert_eq!(parent.cow_copies(), 0, "each parent frame is its own again (count 1)");
    assert_eq!(parent.read_val::<u16>(a + 7 * PAGE_SIZE), Ok(0x5507));
    assert_eq!(child.read_val::<u16>(a + 7 * PAGE_SIZE), Ok(0x00ee));

    drop(parent);
    assert_eq!(memory.allocated(), PAGES);
    drop(child);
    assert_eq!(memory.allocated(), 0);
}

/// `MAP_SHARED | MAP_ANONYMOUS` across a fork: one frame, both see writes,
/// freed with the last mapping.
#[test]
fn shared_anonymous_pages_live_until_the_last_mapping() {
    let memory = TestFrames::new();
    let frames = RefcountedFrames::new(memory.clone());
    let mut parent = space(&frames);
    let a = parent.mmap(0, PAGE_SIZE, RW, SHARED_ANON, None, 0).unwrap();
    parent.write_val(a, 1u8).unwrap();
    let mut child = parent.fork().unwrap();
    child.write_val(a, 2u8).unwrap();
    assert_eq!((byte(&mut parent, a), memory.allocated()), (2, 1));
    let (frame, _) = parent.page_table().query(a).unwrap();
    assert_eq!(frames.ref_count(frame), 3, "the object's reference and two mappings");
    assert_eq!(parent.munmap(a, PAGE_SIZE), Ok(()));
    drop(parent);
    assert_eq!((byte(&mut child, a), memory.allocated()), (2, 1));
    drop(child);
    assert_eq!(memory.allocated(), 0);
}

/// A copy-on-write fault with no frame left is the out-of-memory outcome,
/// with the shared frame's count unchanged; nothing leaks.
#[test]
fn a_copy_without_memory_is_out_of_memory_and_leaks_nothing() {
    let memory = TestFrames::with_limit(1);
    let frames = RefcountedFrames::new(memory.clone());
    let mut parent = space(&frames);
    let a = parent.mmap(0, PAGE_SIZE, RW, PRIV_ANON, None, 0).unwrap();
    parent.write_val(a, 9u8).unwrap();
    let mut child = parent.fork().unwrap();
    assert_eq!(child.handle_page_fault(a, vm::Access::Write), FaultOutcome::OutOfMemory);
    let (frame, _) = parent.page_table().query(a).unwrap();
    assert_eq!(frames.ref_count(frame), 2);
    drop(parent);
    assert_eq!(frames.ref_count(frame), 1);
    // the child is the only user now: its write takes the frame over
    assert_eq!(child.handle_page_fault(a, vm::Access::Write), FaultOutcome::Resolved);
    assert_eq!((child.cow_copies(), byte(&mut child, a)), (0, 9));
    drop(child);
    assert_eq!(memory.allocated(), 0);
}
