//! `/proc/PID/pagemap` entries ([`vm::Vmar::pagemap`]) as Linux's
//! `pagemap_read` gives them.

use vm::abi::*;
use vm::testing::{TestFile, TestFrames, cpu_load, cpu_store, test_vmar};
use vm::{
    MapFile, PAGE_SIZE, PM_FILE, PM_MMAP_EXCLUSIVE, PM_PFRAME_MASK, PM_PRESENT, PM_SOFT_DIRTY, PageTable,
};

const P: usize = PAGE_SIZE;
const BASE: usize = 0x1000_0000;

#[test]
fn anonymous_pages_untouched_written_and_holes() {
    let frames = TestFrames::new();
    let mut v = test_vmar(&frames);
    let at = v
        .mmap(BASE + P, 3 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, None, 0)
        .unwrap();
    cpu_store(&mut v, at + P, &[1]).unwrap();
    let mut out = [7u64; 5];
    v.pagemap(BASE, &mut out, false);
    assert_eq!(out, [0, PM_SOFT_DIRTY, PM_PRESENT | PM_MMAP_EXCLUSIVE | PM_SOFT_DIRTY, PM_SOFT_DIRTY, 0]);
    // with the frame number
    v.pagemap(at + P, &mut out[..1], true);
    let (frame, _) = v.page_table().query(at + P).unwrap();
    assert_eq!(out[0] & PM_PFRAME_MASK, frame.number());
    assert_eq!(out[0] & !PM_PFRAME_MASK, PM_PRESENT | PM_MMAP_EXCLUSIVE | PM_SOFT_DIRTY);
    // after fork the page is shared: not exclusive in either
    let child = v.fork().unwrap();
    let mut c = [0u64; 1];
    child.pagemap(at + P, &mut c, false);
    assert_eq!(c[0], PM_PRESENT | PM_SOFT_DIRTY);
    // an empty output changes nothing
    v.pagemap(at, &mut [], false);
}

#[test]
fn file_pages_shared_memory_and_private_copies() {
    let frames = TestFrames::new();
    let bytes = vec![5u8; 2 * P];
    let f = TestFile::new(&frames, &bytes);
    let mut v = test_vmar(&frames);
    let mf = MapFile::new(f.clone(), "f").with_access(true, true);
    let at = v.mmap(BASE, 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, Some(mf), 0).unwrap();
    let mut b = [0u8; 1];
    cpu_load(&mut v, at, &mut b).unwrap();
    let mut out = [0u64; 2];
    v.pagemap(at, &mut out, false);
    // the file's page, mapped once (the cache's reference apart); the
    // second is not cached (no fault-around) and not present
    assert_eq!(out[0], PM_PRESENT | PM_FILE | PM_MMAP_EXCLUSIVE | PM_SOFT_DIRTY);
    assert_eq!(out[1], PM_SOFT_DIRTY);
    // a write copies it: an anonymous page
    cpu_store(&mut v, at, &[1]).unwrap();
    v.pagemap(at, &mut out[..1], false);
    assert_eq!(out[0], PM_PRESENT | PM_MMAP_EXCLUSIVE | PM_SOFT_DIRTY);

    let sh = v
        .mmap(BASE + 16 * P, P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, None, 0)
        .unwrap();
    cpu_store(&mut v, sh, &[1]).unwrap();
    v.pagemap(sh, &mut out[..1], false);
    assert_eq!(out[0], PM_PRESENT | PM_FILE | PM_MMAP_EXCLUSIVE | PM_SOFT_DIRTY);
}
