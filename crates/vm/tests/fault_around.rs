//! Fault-around (Linux's `do_fault_around`): a read fault of a file mapping
//! maps 16 pages from the start of the aligned 16-page block around it (or
//! from the mapping's start) that the file's page cache holds, as a read
//! fault maps them (private ones without write access); a write fault maps
//! one page.

use std::sync::Arc;

use vm::abi::*;
use vm::testing::{TestFile, TestFrames, TestVmar, cpu_load, cpu_store, test_vmar};
use vm::{FAULT_AROUND_PAGES, MapFile, PAGE_SIZE, PageTable, PteFlags};

const P: usize = PAGE_SIZE;
/// 64 KiB aligned; mappings start 3 pages above it.
const BASE: usize = 0x1000_0000;
const PAGES: usize = 40;

fn file(frames: &TestFrames) -> Arc<TestFile> {
    let bytes: Vec<u8> = (0..PAGES * P).map(|i| (i / P) as u8).collect();
    TestFile::new(frames, &bytes)
}

fn map(v: &mut TestVmar, f: &Arc<TestFile>, prot: usize, flags: usize) -> usize {
    let mf = MapFile::new(f.clone(), "f").with_access(true, true);
    v.mmap(BASE + 3 * P, PAGES * P, prot, flags | MAP_FIXED, Some(mf), 0).unwrap()
}

/// The pages of `[start, end)` present in `v`'s table.
fn present(v: &TestVmar, start: usize, end: usize) -> Vec<usize> {
    (start..end).step_by(P).filter(|&va| v.page_table().query(va).is_some()).collect()
}

#[test]
fn a_read_fault_maps_the_cached_pages_of_its_block() {
    assert_eq!(FAULT_AROUND_PAGES, 16);
    let frames = TestFrames::new();
    let f = file(&frames);
    // another process reads every page: all of them are cached
    let mut a = test_vmar(&frames);
    let at = map(&mut a, &f, PROT_READ, MAP_PRIVATE);
    let mut b = [0u8; 1];
    for i in 0..PAGES {
        cpu_load(&mut a, at + i * P, &mut b).unwrap();
    }
    assert_eq!(f.cached_pages(), PAGES);

    let mut v = test_vmar(&frames);
    let at = map(&mut v, &f, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    // page 5 of the mapping: the block [BASE, BASE + 16 pages) starts
    // below the mapping, so 16 pages from its start, BASE + 3 pages; none
    // writable
    cpu_load(&mut v, at + 5 * P, &mut b).unwrap();
    assert_eq!(b[0], 5);
    let want: Vec<usize> = (3..19).map(|i| BASE + i * P).collect();
    assert_eq!(present(&v, BASE, BASE + 64 * P), want);
    assert_eq!(v.resident_pages(), 16);
    for va in &want {
        let (_, flags) = v.page_table().query(*va).unwrap();
        assert_eq!(flags, PteFlags::USER | PteFlags::READ, "{va:#x}");
    }
    // the next block: a fault at its last page maps the 13 not present
    cpu_load(&mut v, BASE + 31 * P, &mut b).unwrap();
    assert_eq!(b[0], 28);
    assert_eq!(v.resident_pages(), 29);
    // the last block holds the mapping's end (BASE + 43 pages): 11 pages,
    // the whole mapping is present
    cpu_load(&mut v, BASE + 40 * P, &mut b).unwrap();
    assert_eq!(v.resident_pages(), 40);
    assert_eq!(present(&v, BASE + 32 * P, BASE + 64 * P).len(), 11);
    // a write to a page mapped around copies it; the file keeps its byte
    cpu_store(&mut v, at + 6 * P, &[0xee]).unwrap();
    assert_eq!(v.cow_copies(), 1);
    cpu_load(&mut v, at + 6 * P, &mut b).unwrap();
    assert_eq!(b[0], 0xee);
    assert_eq!(f.page_contents(6 * P as u64)[0], 6);
    assert_eq!(v.resident_pages(), 40);

    drop((a, v, f));
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn pages_not_cached_and_write_faults_map_one_page() {
    let frames = TestFrames::new();
    let f = file(&frames);
    let mut v = test_vmar(&frames);
    let at = map(&mut v, &f, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    let mut b = [0u8; 1];
    // nothing cached: the fault reads its own page only
    cpu_load(&mut v, at + 20 * P, &mut b).unwrap();
    assert_eq!((b[0], v.resident_pages(), f.cached_pages()), (20, 1, 1));
    // a write fault (copied at once) maps its page alone, though its
    // neighbours are cached
    cpu_store(&mut v, at + 21 * P, &[1]).unwrap();
    assert_eq!((v.resident_pages(), v.cow_copies()), (2, 1));
    cpu_load(&mut v, at + 22 * P, &mut b).unwrap();
    assert_eq!(b[0], 22);
    // 20 and 21 were present; 22 and the cached 21 are not mapped again
    assert_eq!(v.resident_pages(), 3);
    drop((v, f));
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn shared_pages_mapped_around_are_writable() {
    let frames = TestFrames::new();
    let f = file(&frames);
    let mut a = test_vmar(&frames);
    let at = map(&mut a, &f, PROT_READ | PROT_WRITE, MAP_SHARED);
    let mut b = [0u8; 1];
    for i in 0..16 {
        cpu_load(&mut a, at + i * P, &mut b).unwrap();
    }
    let mut v = test_vmar(&frames);
    let at = map(&mut v, &f, PROT_READ | PROT_WRITE, MAP_SHARED);
    cpu_load(&mut v, at, &mut b).unwrap();
    assert_eq!(v.resident_pages(), 16);
    // as a read fault of a shared writable mapping maps its page
    let (_, flags) = v.page_table().query(at + P).unwrap();
    assert_eq!(flags, PteFlags::USER | PteFlags::READ | PteFlags::WRITABLE);
    // the write goes to the file's page, which both processes see
    cpu_store(&mut v, at + P, &[0x77]).unwrap();
    assert_eq!(v.cow_copies(), 0);
    cpu_load(&mut a, at + P, &mut b).unwrap();
    assert_eq!(b[0], 0x77);
    assert_eq!(f.page_contents(P as u64)[0], 0x77);
    // a read-only shared mapping's pages are not writable
    let mut r = test_vmar(&frames);
    let at = map(&mut r, &f, PROT_READ, MAP_SHARED);
    cpu_load(&mut r, at, &mut b).unwrap();
    assert_eq!(r.resident_pages(), 16);
    assert_eq!(r.page_table().query(at + 2 * P).unwrap().1, PteFlags::USER | PteFlags::READ);
    drop((a, v, r, f));
    assert_eq!(frames.allocated(), 0);
}
