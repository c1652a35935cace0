//! The high-water mark of the resident pages (Linux's `hiwater_rss`,
//! `ru_maxrss`, `VmHWM`): it follows the pages in, stays when they go,
//! and a forked child starts from its parent's.

use vm::PAGE_SIZE;
use vm::abi::*;
use vm::testing::{TestFrames, cpu_store, test_vmar};

const P: usize = PAGE_SIZE;

#[test]
fn the_mark_keeps_the_most_pages_present() {
    let frames = TestFrames::new();
    let mut v = test_vmar(&frames);
    assert_eq!((v.resident_pages(), v.hiwater_pages()), (0, 0));
    let at = v.mmap(0, 10 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, None, 0).unwrap();
    for i in 0..10 {
        cpu_store(&mut v, at + i * P, &[1]).unwrap();
    }
    assert_eq!((v.resident_pages(), v.hiwater_pages()), (10, 10));
    // the pages go, the mark stays
    v.munmap(at, 10 * P).unwrap();
    assert_eq!((v.resident_pages(), v.hiwater_pages()), (0, 10));
    // fewer pages than the mark leave it; more raise it
    let at = v.mmap(0, 12 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, None, 0).unwrap();
    for i in 0..4 {
        cpu_store(&mut v, at + i * P, &[1]).unwrap();
    }
    assert_eq!((v.resident_pages(), v.hiwater_pages()), (4, 10));
    for i in 4..12 {
        cpu_store(&mut v, at + i * P, &[1]).unwrap();
    }
    assert_eq!((v.resident_pages(), v.hiwater_pages()), (12, 12));
    v.munmap(at, 12 * P).unwrap();
    // a child starts from its parent's mark
    let child = v.fork().unwrap();
    assert_eq!((child.resident_pages(), child.hiwater_pages()), (0, 12));
    drop((v, child));
    assert_eq!(frames.allocated(), 0);
}
