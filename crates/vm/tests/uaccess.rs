//! Checked access to user memory: copy_from_user/copy_to_user/strncpy_from_user.

use linux_abi::Errno;
use vm::abi::*;
use vm::testing::{TestFrames, TestVmar, test_vmar};
use vm::{Access, PAGE_SIZE, PageTable, PteFlags};

const P: usize = PAGE_SIZE;
const RW: usize = PROT_READ | PROT_WRITE;
const PRIV_ANON: usize = MAP_PRIVATE | MAP_ANONYMOUS;

fn setup() -> (TestFrames, TestVmar) {
    let frames = TestFrames::new();
    let v = test_vmar(&frames);
    (frames, v)
}

fn finish(frames: TestFrames, v: TestVmar) {
    drop(v);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn read_crossing_into_an_unmapped_page_is_efault() {
    // read(2)/write(2) EFAULT: "buf is outside your accessible address
    // space"; the bytes before the bad page were copied.
    let (frames, mut v) = setup();
    let a = v.mmap(0x10_0000, P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    v.write_user(a + P - 4, b"tail").unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(v.read_user(a + P - 4, &mut buf), Err(Errno::EFAULT));
    assert_eq!(&buf[..4], b"tail");
    assert_eq!(v.write_user(a + P - 2, b"xxxx"), Err(Errno::EFAULT));
    let mut two = [0u8; 2];
    v.read_user(a + P - 2, &mut two).unwrap();
    assert_eq!(&two, b"xx");
    finish(frames, v);
}

#[test]
fn copies_cross_page_and_mapping_boundaries() {
    let (frames, mut v) = setup();
    let a = v.mmap(0x20_0000, 2 * P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    v.mmap(a + 2 * P, 2 * P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, None, 0).unwrap();
    let data: Vec<u8> = (0..3 * P).map(|i| (i % 251) as u8).collect();
    v.write_user(a + P / 2, &data).unwrap();
    let mut back = vec![0u8; data.len()];
    v.read_user(a + P / 2, &mut back).unwrap();
    assert_eq!(back, data);
    assert_eq!(v.mappings().count(), 2);
    finish(frames, v);
}

#[test]
fn write_to_read_only_or_unmapped_memory_is_efault() {
    let (frames, mut v) = setup();
    let a = v.mmap(0, P, PROT_READ, PRIV_ANON, None, 0).unwrap();
    assert_eq!(v.write_user(a, b"x"), Err(Errno::EFAULT));
    assert_eq!(v.write_user(0x1234_0000, b"x"), Err(Errno::EFAULT));
    assert_eq!(v.read_user(usize::MAX - 2, &mut [0u8; 8]), Err(Errno::EFAULT));
    assert_eq!(v.read_user(TASK_SIZE, &mut [0u8; 1]), Err(Errno::EFAULT));
    // Empty copies always succeed (access_ok of a zero size).
    assert_eq!(v.read_user(0, &mut []), Ok(()));
    assert_eq!(v.write_user(usize::MAX, &[]), Ok(()));
    finish(frames, v);
}

#[test]
fn values_round_trip_across_a_page_boundary() {
    let (frames, mut v) = setup();
    let a = v.mmap(0, 2 * P, RW, PRIV_ANON, None, 0).unwrap();
    v.write_val(a + P - 3, 0x0102_0304_0506_0708u64).unwrap();
    assert_eq!(v.read_val::<u64>(a + P - 3), Ok(0x0102_0304_0506_0708));
    v.write_val(a + 8, -5i32).unwrap();
    assert_eq!(v.read_val::<i32>(a + 8), Ok(-5));
    v.write_val(a + 100, [9u8; 100]).unwrap();
    assert_eq!(v.read_val::<[u8; 100]>(a + 100), Ok([9u8; 100]));
    assert_eq!(v.read_val::<u32>(a + 2 * P - 2), Err(Errno::EFAULT));
    finish(frames, v);
}

#[test]
fn copy_to_user_breaks_copy_on_write() {
    // The kernel writing into a child's memory (read(2) into a buffer) must
    // not change the parent's copy.
    let (frames, mut v) = setup();
    let a = v.mmap(0, P, RW, PRIV_ANON, None, 0).unwrap();
    v.write_user(a, b"parent").unwrap();
    let mut child = v.fork().unwrap();
    child.write_user(a, b"kernel").unwrap();
    let mut buf = [0u8; 6];
    v.read_user(a, &mut buf).unwrap();
    assert_eq!(&buf, b"parent");
    assert_eq!(child.cow_copies(), 1);
    let (_, flags) = child.page_table().query(a).unwrap();
    assert_eq!(flags, PteFlags::USER | PteFlags::READ | PteFlags::WRITABLE);
    drop(child);
    finish(frames, v);
}

#[test]
fn c_strings() {
    // getname()/strncpy_from_user: a path of PATH_MAX bytes or more is
    // ENAMETOOLONG (open(2) ENAMETOOLONG: "pathname was too long"); an
    // unreadable byte before the NUL is EFAULT (open(2) EFAULT: "pathname
    // points outside your accessible address space").
    let (frames, mut v) = setup();
    let a = v.mmap(0x30_0000, 2 * P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    v.write_user(a, b"/bin/sh\0junk").unwrap();
    assert_eq!(v.read_cstr(a, 4096), Ok(b"/bin/sh".to_vec()));
    assert_eq!(v.read_cstr(a, 8), Ok(b"/bin/sh".to_vec()), "the limit counts the NUL");
    assert_eq!(v.read_cstr(a, 7), Err(Errno::ENAMETOOLONG));
    assert_eq!(v.read_cstr(a, 0), Err(Errno::ENAMETOOLONG));
    // Across a page boundary.
    v.write_user(a + P - 3, b"abcdef\0").unwrap();
    assert_eq!(v.read_cstr(a + P - 3, 4096), Ok(b"abcdef".to_vec()));
    // Running into the end of the mapping before a NUL.
    v.write_user(a + P, &[b'x'; P]).unwrap();
    assert_eq!(v.read_cstr(a + P, 2 * P), Err(Errno::EFAULT));
    assert_eq!(v.read_cstr(a + P, P), Err(Errno::ENAMETOOLONG));
    assert_eq!(v.read_cstr(0x1000, 10), Err(Errno::EFAULT));
    // A NUL in the last byte before an unmapped page is fine, and the empty string too.
    v.write_user(a + 2 * P - 1, &[0]).unwrap();
    assert_eq!(v.read_cstr(a + 2 * P - 5, 4096), Ok(b"xxxx".to_vec()));
    assert_eq!(v.read_cstr(a + 2 * P - 1, 1), Ok(Vec::new()));
    // Long strings in many pieces, across the page boundary, the NUL at
    // every position of a piece and the limit at every length around it.
    for len in [63usize, 64, 65, 127, 128, 129, 300, 1000] {
        let start = a + P - 200;
        let s: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        v.write_user(start, &s).unwrap();
        v.write_user(start + len, &[0]).unwrap();
        assert_eq!(v.read_cstr(start, 4096), Ok(s.clone()), "len {len}");
        assert_eq!(v.read_cstr(start, len + 1), Ok(s.clone()), "len {len}: limit with the NUL");
        assert_eq!(v.read_cstr(start, len), Err(Errno::ENAMETOOLONG), "len {len}");
    }
    // A PATH_MAX string without NUL inside the limit.
    let b = v.mmap(0, 2 * P, RW, PRIV_ANON, None, 0).unwrap();
    v.write_user(b, &[b'p'; 4096]).unwrap();
    assert_eq!(v.read_cstr(b, 4096), Err(Errno::ENAMETOOLONG));
    v.write_user(b + 4095, &[0]).unwrap();
    assert_eq!(v.read_cstr(b, 4096).map(|s| s.len()), Ok(4095));
    finish(frames, v);
}

#[test]
fn read_cstr_does_not_fault_in_pages_past_the_nul() {
    let (frames, mut v) = setup();
    let a = v.mmap(0, 3 * P, RW, PRIV_ANON, None, 0).unwrap();
    v.write_user(a + P - 2, b"x\0").unwrap();
    assert_eq!(v.resident_pages(), 1);
    assert_eq!(v.read_cstr(a + P - 2, 4096), Ok(b"x".to_vec()));
    assert_eq!(v.resident_pages(), 1);
    finish(frames, v);
}

// A kernel copy into a PROT_NONE page (populated or not) fails with EFAULT
// and returns: copy_to_user(2)'s access check, never a retry loop.
#[test]
fn copies_into_prot_none_pages_are_efault() {
    use vm::abi::*;
    let frames = vm::testing::TestFrames::new();
    let mut v = vm::testing::test_vmar(&frames);
    let a = v.mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, None, 0).unwrap();
    v.write_user(a + 4096, b"x").unwrap();
    v.mprotect(a + 4096, 4096, PROT_NONE).unwrap();
    assert_eq!(v.write_user(a + 4000, &[7u8; 200]), Err(linux_abi::Errno::EFAULT));
    let mut b = [0u8; 200];
    assert_eq!(v.read_user(a + 4000, &mut b), Err(linux_abi::Errno::EFAULT));
    let n = v.mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, None, 0).unwrap();
    assert_eq!(v.write_user(n, b"y"), Err(linux_abi::Errno::EFAULT));
    assert_eq!(v.read_user(n, &mut b[..1]), Err(linux_abi::Errno::EFAULT));
    drop(v);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn forced_write_copies_a_read_only_private_page_for_this_space_only() {
    // ptrace(PTRACE_POKETEXT) / /proc/<pid>/mem: FOLL_FORCE writes a
    // private read-only mapping (program text) through a private copy;
    // the page stays read-only to the program, and the forked sharer keeps
    // the old bytes.
    let (frames, mut parent) = setup();
    let a = parent.mmap(0x30_0000, 2 * P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    parent.write_user(a, b"text").unwrap();
    parent.mprotect(a, 2 * P, PROT_READ | PROT_EXEC).unwrap();
    let mut child = parent.fork().unwrap();
    assert_eq!(child.write_user(a, b"T"), Err(Errno::EFAULT));
    child.write_user_force(a + P - 1, b"XY").unwrap();
    let mut buf = [0u8; 4];
    child.read_user(a, &mut buf).unwrap();
    assert_eq!(&buf, b"text");
    let mut two = [0u8; 2];
    child.read_user(a + P - 1, &mut two).unwrap();
    assert_eq!(&two, b"XY");
    parent.read_user(a + P - 1, &mut two).unwrap();
    assert_eq!(two, [0, 0], "the parent's page is not written");
    assert_eq!(child.write_user(a, b"T"), Err(Errno::EFAULT), "still read-only");
    // a shared read-only mapping and a hole refuse
    let s = parent.mmap(0x40_0000, P, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, None, 0).unwrap();
    assert_eq!(parent.write_user_force(s, b"x"), Err(Errno::EFAULT));
    assert_eq!(parent.write_user_force(0x50_0000, b"x"), Err(Errno::EFAULT));
    drop(child);
    finish(frames, parent);
}

#[test]
fn copies_through_a_remembered_page_fault_as_single_copies() {
    // the signal frame's pieces and sigreturn's reads: the same bytes and
    // the same EFAULT as read_user/write_user, a page looked up once
    let (frames, mut v) = setup();
    let a = v.mmap(0x30_0000, 2 * P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    let ro = v.mmap(a + 2 * P, P, PROT_READ, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    {
        let mut c = v.user_copies();
        c.write(a + 8, b"head").unwrap();
        c.write(a + P - 2, b"span").unwrap();
        c.write(a + P + 100, b"").unwrap();
        let mut back = [0u8; 4];
        c.read(a + P - 2, &mut back).unwrap();
        assert_eq!(&back, b"span");
        // a page first reached for reading is looked up again for a write
        c.read(ro, &mut back).unwrap();
        assert_eq!(back, [0; 4]);
        assert_eq!(c.write(ro, b"x"), Err(Errno::EFAULT));
        assert_eq!(c.write(ro - 2, b"xyzw"), Err(Errno::EFAULT), "crosses into the read-only page");
        assert_eq!(c.read(ro + P - 1, &mut back), Err(Errno::EFAULT), "past the mappings");
        assert_eq!(c.read(usize::MAX - 1, &mut back), Err(Errno::EFAULT));
    }
    let mut back = [0u8; 4];
    v.read_user(a + 8, &mut back).unwrap();
    assert_eq!(&back, b"head");
    v.read_user(ro - 2, &mut back).unwrap();
    assert_eq!(&back, b"xy\0\0", "the bytes before the fault were written");
    finish(frames, v);
}

#[test]
fn a_remembered_page_still_breaks_copy_on_write() {
    // a page read through the run (shared with a fork's child) gets its
    // own copy when the run then writes it: the child keeps the old bytes
    let (frames, mut v) = setup();
    let a = v.mmap(0x40_0000, P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    v.write_user(a, b"old!").unwrap();
    let mut child = v.fork().unwrap();
    {
        let mut c = v.user_copies();
        let mut back = [0u8; 4];
        c.read(a, &mut back).unwrap();
        c.write(a, b"new!").unwrap();
        c.read(a, &mut back).unwrap();
        assert_eq!(&back, b"new!");
    }
    let mut back = [0u8; 4];
    child.read_user(a, &mut back).unwrap();
    assert_eq!(&back, b"old!");
    drop(child);
    finish(frames, v);
}

#[test]
fn a_frame_looked_up_for_writing_is_the_processs_own() {
    // UserCopies::frame: the page a signal frame's XSAVE goes to, found for
    // writing, is no longer shared with a fork's child; for reading it is
    // the shared one; a read-only or unmapped page is EFAULT
    let (frames, mut v) = setup();
    let a = v.mmap(0x40_0000, P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    let ro = v.mmap(a + P, P, PROT_READ, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    v.write_user(a, b"old!").unwrap();
    let mut child = v.fork().unwrap();
    let shared = child.user_copies().frame(a + 64, Access::Read).unwrap();
    {
        let mut c = v.user_copies();
        assert_eq!(c.frame(a + 64, Access::Read), Ok(shared));
        let own = c.frame(a + 64, Access::Write).unwrap();
        assert_ne!(own, shared, "copy on write broken by the look-up");
        assert_eq!(c.frame(a, Access::Write), Ok(own), "remembered");
        assert_eq!(c.frame(ro, Access::Write), Err(Errno::EFAULT));
        assert!(c.frame(ro, Access::Read).is_ok());
        assert_eq!(c.frame(a + 2 * P, Access::Read), Err(Errno::EFAULT));
    }
    drop(child);
    finish(frames, v);
}
