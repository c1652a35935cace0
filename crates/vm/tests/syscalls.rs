//! mmap(2), munmap(2), mprotect(2) and brk(2): Linux's rules, each named.

use linux_abi::Errno;
use vm::abi::*;
use vm::testing::{SoftPageTable, TestFile, TestFrames, TestVmar, cpu_fetch, cpu_load, cpu_store, test_vmar};
use vm::{FaultOutcome, MapFile, MappingKind, PAGE_SIZE, Prot, SegvCode, SpaceLimits, Vmar, VmarConfig};

const P: usize = PAGE_SIZE;
const RW: usize = PROT_READ | PROT_WRITE;
const PRIV_ANON: usize = MAP_PRIVATE | MAP_ANONYMOUS;

fn setup() -> (TestFrames, TestVmar) {
    let frames = TestFrames::new();
    let v = test_vmar(&frames);
    (frames, v)
}

fn finish(frames: TestFrames, v: TestVmar) {
    assert!(!v.page_table().needs_flush(), "every operation ends with a flushed TLB");
    drop(v);
    assert_eq!(frames.allocated(), 0);
}

fn ranges(v: &TestVmar) -> Vec<(usize, usize, Prot)> {
    v.mappings().map(|m| (m.start, m.end, m.prot)).collect()
}

fn read(v: &mut TestVmar, addr: usize, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    v.read_user(addr, &mut buf).unwrap();
    buf
}

// ----- mmap -----

#[test]
fn mmap_allocates_nothing_until_touched() {
    // Demand paging: mmap(2) only reserves the range.
    let (frames, mut v) = setup();
    let a = v.mmap(0, 100 * P, RW, PRIV_ANON, None, 0).unwrap();
    assert_eq!(frames.allocated(), 0);
    assert_eq!(v.resident_pages(), 0);
    let mut b = [1u8; 8];
    cpu_load(&mut v, a + 50 * P + 3, &mut b).unwrap();
    assert_eq!(b, [0; 8], "MAP_ANONYMOUS: the contents are initialized to zero");
    assert_eq!(frames.allocated(), 1);
    assert_eq!(v.resident_pages(), 1);
    finish(frames, v);
}

#[test]
fn mmap_zero_length_is_einval() {
    // mmap(2) EINVAL: "(since Linux 2.6.12) length was 0."
    let (frames, mut v) = setup();
    assert_eq!(v.mmap(0, 0, RW, PRIV_ANON, None, 0), Err(Errno::EINVAL));
    assert_eq!(v.mmap(0x10_0000, 0, RW, PRIV_ANON | MAP_FIXED, None, 0), Err(Errno::EINVAL));
    finish(frames, v);
}

#[test]
fn mmap_needs_exactly_one_mapping_type() {
    // mmap(2) EINVAL: "flags contained none of MAP_PRIVATE, MAP_SHARED, or
    // MAP_SHARED_VALIDATE." MAP_PRIVATE|MAP_SHARED is MAP_SHARED_VALIDATE
    // (3), which do_mmap() refuses for anonymous memory with EINVAL.
    let (frames, mut v) = setup();
    assert_eq!(v.mmap(0, P, RW, MAP_ANONYMOUS, None, 0), Err(Errno::EINVAL));
    assert_eq!(v.mmap(0, P, RW, MAP_ANONYMOUS | MAP_SHARED | MAP_PRIVATE, None, 0), Err(Errno::EINVAL));
    // Other MAP_TYPE values are invalid too.
    assert_eq!(v.mmap(0, P, RW, MAP_ANONYMOUS | 0x0f, None, 0), Err(Errno::EINVAL));
    assert_eq!(v.mappings().count(), 0);
    finish(frames, v);
}

#[test]
fn mmap_fixed_needs_an_aligned_address() {
    // mmap(2) EINVAL: "We don't like addr ... (e.g., ... not aligned on a page
    // boundary)"; without MAP_FIXED the hint is only rounded down.
    let (frames, mut v) = setup();
    assert_eq!(v.mmap(0x10_0123, P, RW, PRIV_ANON | MAP_FIXED, None, 0), Err(Errno::EINVAL));
    assert_eq!(v.mmap(0x10_0123, P, RW, PRIV_ANON | MAP_FIXED_NOREPLACE, None, 0), Err(Errno::EINVAL));
    assert_eq!(v.mmap(0x10_0123, P, RW, PRIV_ANON, None, 0), Ok(0x10_0000));
    finish(frames, v);
}

#[test]
fn mmap_offset_must_be_page_aligned() {
    // mmap(2) EINVAL: "We don't like ... offset (e.g., ... not aligned on a
    // page boundary)"; checked first, for anonymous mappings too.
    let (frames, mut v) = setup();
    assert_eq!(v.mmap(0, P, RW, PRIV_ANON, None, 1), Err(Errno::EINVAL));
    assert_eq!(v.mmap(0, 0, RW, PRIV_ANON, None, 100), Err(Errno::EINVAL));
    assert!(v.mmap(0, P, RW, PRIV_ANON, None, 2 * P as u64).is_ok());
    finish(frames, v);
}

#[test]
fn mmap_without_anonymous_needs_a_file() {
    // mmap(2) EBADF: "fd is not a valid file descriptor (and MAP_ANONYMOUS
    // was not set)."
    let (frames, mut v) = setup();
    assert_eq!(v.mmap(0, P, RW, MAP_PRIVATE, None, 0), Err(Errno::EBADF));
    finish(frames, v);
}

#[test]
fn mmap_out_of_address_space_is_enomem() {
    // mmap(2) ENOMEM: "No memory is available" / the length overflows or
    // exceeds the address space (do_mmap: PAGE_ALIGN(len) == 0;
    // get_unmapped_area: len > TASK_SIZE - mmap_min_addr, addr > TASK_SIZE - len).
    let (frames, mut v) = setup();
    assert_eq!(v.mmap(0, usize::MAX, RW, PRIV_ANON, None, 0), Err(Errno::ENOMEM));
    assert_eq!(v.mmap(0, usize::MAX - P, RW, PRIV_ANON, None, 0), Err(Errno::ENOMEM));
    assert_eq!(v.mmap(0, TASK_SIZE, RW, PRIV_ANON, None, 0), Err(Errno::ENOMEM));
    assert_eq!(v.mmap(TASK_SIZE - P, 2 * P, RW, PRIV_ANON | MAP_FIXED, None, 0), Err(Errno::ENOMEM));
    // The last page below TASK_SIZE is mappable.
    assert_eq!(v.mmap(TASK_SIZE - P, P, RW, PRIV_ANON | MAP_FIXED, None, 0), Ok(TASK_SIZE - P));
    finish(frames, v);
}

#[test]
fn mmap_enomem_when_no_room_is_left() {
    // mmap(2) ENOMEM: "No memory is available" (no gap large enough).
    let frames = TestFrames::new();
    let config = VmarConfig::new(0x10000, 0x20000, 0x20000);
    let mut v: TestVmar = Vmar::with_config(SoftPageTable::new(), frames.clone(), config);
    assert_eq!(v.mmap(0, 16 * P, RW, PRIV_ANON, None, 0), Ok(0x10000));
    assert_eq!(v.mmap(0, P, RW, PRIV_ANON, None, 0), Err(Errno::ENOMEM));
    v.munmap(0x14000, 2 * P).unwrap();
    assert_eq!(v.mmap(0, 3 * P, RW, PRIV_ANON, None, 0), Err(Errno::ENOMEM));
    assert_eq!(v.mmap(0, 2 * P, RW, PRIV_ANON, None, 0), Ok(0x14000));
    finish(frames, v);
}

#[test]
fn mmap_fixed_below_mmap_min_addr_is_eperm() {
    // security_mmap_addr() (cap_mmap_addr): MAP_FIXED below
    // vm.mmap_min_addr fails with EPERM; a hint below it is raised to it.
    let (frames, mut v) = setup();
    assert_eq!(v.mmap(0x1000, P, RW, PRIV_ANON | MAP_FIXED, None, 0), Err(Errno::EPERM));
    assert_eq!(v.mmap(0x1000, P, RW, PRIV_ANON, None, 0), Ok(MMAP_MIN_ADDR));
    finish(frames, v);
}

#[test]
fn mmap_places_top_down_and_honours_free_hints() {
    // mmap(2): "If addr is NULL, then the kernel chooses the (page-aligned)
    // address"; "If addr is not NULL, then the kernel takes it as a hint".
    let (frames, mut v) = setup();
    let base = v.config().mmap_base;
    let a = v.mmap(0, 2 * P, RW, PRIV_ANON, None, 0).unwrap();
    assert_eq!(a, base - 2 * P);
    let b = v.mmap(0, P, PROT_READ, PRIV_ANON, None, 0).unwrap();
    assert_eq!(b, a - P);
    // A free hint is used as is.
    assert_eq!(v.mmap(0x4000_0000, P, RW, PRIV_ANON, None, 0), Ok(0x4000_0000));
    // An occupied hint is not: the kernel picks another place.
    let c = v.mmap(0x4000_0000, P, RW, PRIV_ANON, None, 0).unwrap();
    assert_eq!(c, b - P);
    // A gap left by munmap is reused from the top.
    v.munmap(a, 2 * P).unwrap();
    assert_eq!(v.mmap(0, P, RW, PRIV_ANON, None, 0), Ok(base - P));
    finish(frames, v);
}

#[test]
fn map_fixed_replaces_existing_mappings() {
    // mmap(2) MAP_FIXED: "If the memory region specified by addr and length
    // overlaps pages of any existing mapping(s), then the overlapped part of
    // the existing mapping(s) will be discarded."
    let (frames, mut v) = setup();
    let a = v.mmap(0x20_0000, 4 * P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    let b = v.mmap(a + 4 * P, 4 * P, PROT_READ, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    assert_eq!(b, a + 4 * P);
    for i in 0..4 {
        v.write_val(a + i * P, 0xaau8).unwrap();
    }
    assert_eq!(frames.allocated(), 4);
    // Replace pages 2..6: across the boundary of the two mappings.
    let c = v.mmap(a + 2 * P, 4 * P, PROT_READ | PROT_EXEC, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    assert_eq!(c, a + 2 * P);
    assert_eq!(frames.allocated(), 2, "the replaced pages were freed");
    let rx = Prot::READ | Prot::EXEC;
    assert_eq!(
        ranges(&v),
        vec![
            (a, a + 2 * P, Prot::READ | Prot::WRITE),
            (a + 2 * P, a + 6 * P, rx),
            (a + 6 * P, a + 8 * P, Prot::READ)
        ]
    );
    assert_eq!(read(&mut v, a + P, 1), [0xaa]);
    assert_eq!(read(&mut v, a + 2 * P, 1), [0], "the new mapping is zero-filled");
    finish(frames, v);
}

#[test]
fn map_fixed_noreplace_over_a_mapping_is_eexist() {
    // mmap(2) EEXIST: "MAP_FIXED_NOREPLACE was specified in flags, and the
    // range covered by addr and length clashes with an existing mapping."
    let (frames, mut v) = setup();
    let a = v.mmap(0x30_0000, 2 * P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    v.write_user(a, b"keep").unwrap();
    assert_eq!(v.mmap(a + P, 2 * P, RW, PRIV_ANON | MAP_FIXED_NOREPLACE, None, 0), Err(Errno::EEXIST));
    assert_eq!(v.mmap(a - P, 2 * P, RW, PRIV_ANON | MAP_FIXED_NOREPLACE, None, 0), Err(Errno::EEXIST));
    assert_eq!(read(&mut v, a, 4), b"keep");
    // Adjacent but not overlapping: placed exactly there.
    assert_eq!(v.mmap(a + 2 * P, P, RW, PRIV_ANON | MAP_FIXED_NOREPLACE, None, 0), Ok(a + 2 * P));
    finish(frames, v);
}

#[test]
fn mmap_hugetlb_without_huge_pages_is_enomem() {
    // mmap(2) ENOMEM "No memory is available": no huge pages are reserved.
    let (frames, mut v) = setup();
    assert_eq!(v.mmap(0, 2 << 20, RW, PRIV_ANON | MAP_HUGETLB, None, 0), Err(Errno::ENOMEM));
    finish(frames, v);
}

#[test]
fn mmap_populate_faults_pages_in() {
    // mmap(2) MAP_POPULATE: "Populate (prefault) page tables for a mapping."
    let (frames, mut v) = setup();
    let a = v.mmap(0, 3 * P, RW, PRIV_ANON | MAP_POPULATE, None, 0).unwrap();
    assert_eq!(v.resident_pages(), 3);
    v.write_user(a, b"x").unwrap();
    assert_eq!(frames.allocated(), 3);
    finish(frames, v);
}

#[test]
fn adjacent_alike_mappings_merge() {
    let (frames, mut v) = setup();
    let a = v.mmap(0x50_0000, P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    v.mmap(a + P, P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    v.mmap(a + 2 * P, P, PROT_READ, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    assert_eq!(
        ranges(&v),
        vec![(a, a + 2 * P, Prot::READ | Prot::WRITE), (a + 2 * P, a + 3 * P, Prot::READ)]
    );
    finish(frames, v);
}

// ----- files (page sources) -----

fn file_map(file: &std::sync::Arc<TestFile>, writable: bool) -> MapFile {
    MapFile::new(file.clone(), "/data").with_access(true, writable)
}

#[test]
fn private_file_mapping_copies_before_the_first_write() {
    // mmap(2) MAP_PRIVATE: "Create a private copy-on-write mapping. Updates
    // to the mapping are not visible to other processes mapping the same
    // file, and are not carried through to the underlying file."
    let frames = TestFrames::new();
    let file = TestFile::new(&frames, &[b'f'; 2 * P]);
    let mut v = test_vmar(&frames);
    let a = v.mmap(0, 2 * P, RW, MAP_PRIVATE, Some(file_map(&file, false)), 0).unwrap();
    assert_eq!(read(&mut v, a + P, 3), b"fff");
    assert_eq!(v.cow_copies(), 0);
    cpu_store(&mut v, a, b"mine").unwrap();
    assert_eq!(v.cow_copies(), 1);
    assert_eq!(read(&mut v, a, 5), b"minef");
    assert_eq!(&file.page_contents(0)[..4], b"ffff");
    // The page read earlier is still the cache's frame: writing copies it.
    v.write_user(a + P, b"x").unwrap();
    assert_eq!(v.cow_copies(), 2);
    assert_eq!(&file.page_contents(P as u64)[..1], b"f");
    drop(v);
    assert_eq!(frames.allocated(), file.cached_pages());
    drop(file);
    assert_eq!(frames.allocated(), 0);
}

// A special mapping without VM_MAYWRITE (the vDSO's [vvar]): private, yet
// mmap and mprotect to write are EACCES and a debugger's write EFAULT.
#[test]
fn a_never_writable_mapping_refuses_every_way_of_writing() {
    let frames = TestFrames::new();
    let file = TestFile::new(&frames, &[b'v'; P]);
    let mut v = test_vmar(&frames);
    let map = || MapFile::new(file.clone(), "[vvar]").never_writable();
    assert_eq!(v.mmap(0, P, RW, MAP_PRIVATE, Some(map()), 0), Err(Errno::EACCES));
    let a = v.mmap(0, P, PROT_READ, MAP_PRIVATE, Some(map()), 0).unwrap();
    assert_eq!(read(&mut v, a, 2), b"vv");
    assert_eq!(v.mprotect(a, P, RW), Err(Errno::EACCES));
    assert_eq!(v.write_user_force(a, b"x"), Err(Errno::EFAULT));
    assert!(cpu_store(&mut v, a, b"x").is_err());
    assert_eq!(v.mprotect(a, P, PROT_NONE), Ok(()));
    assert_eq!(v.mprotect(a, P, PROT_READ), Ok(()));
    assert_eq!(v.cow_copies(), 0);
    assert_eq!(&file.page_contents(0)[..2], b"vv");
    let info = v.mappings().next().unwrap();
    assert!(!info.shared);
    assert_eq!(info.name, "[vvar]");
    drop(v);
    drop(file);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn shared_file_mapping_writes_reach_the_file() {
    // mmap(2) MAP_SHARED: "Updates to the mapping ... are carried through to
    // the underlying file."
    let frames = TestFrames::new();
    let file = TestFile::new(&frames, &[0u8; 3 * P]);
    let mut v = test_vmar(&frames);
    let a = v.mmap(0, 2 * P, RW, MAP_SHARED, Some(file_map(&file, true)), P as u64).unwrap();
    v.write_user(a + 10, b"hello").unwrap();
    assert_eq!(&file.page_contents(P as u64)[10..15], b"hello");
    assert_eq!(v.cow_copies(), 0);
    let info = v.mapping_at(a).unwrap();
    assert_eq!((info.kind, info.offset, info.name.as_str()), (MappingKind::SharedSource, P as u64, "/data"));
    assert_eq!(info.to_string(), format!("{:08x}-{:08x} rw-s {:08x} 00:00 0 /data", a, a + 2 * P, P));
    drop(v);
    drop(file);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn file_page_past_the_end_is_sigbus() {
    // mmap(2) SIGBUS: "Attempted access to a page of the buffer that lies
    // beyond the end of the mapped file."
    let frames = TestFrames::new();
    let file = TestFile::new(&frames, b"short");
    let mut v = test_vmar(&frames);
    let a = v.mmap(0, 2 * P, PROT_READ, MAP_PRIVATE, Some(file_map(&file, false)), 0).unwrap();
    assert_eq!(read(&mut v, a, 6), b"short\0");
    let mut b = [0u8; 1];
    assert_eq!(cpu_load(&mut v, a + P, &mut b), Err(FaultOutcome::Bus { addr: a + P }));
    assert_eq!(v.read_user(a + P, &mut b), Err(Errno::EFAULT));
    drop(v);
    drop(file);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn shared_writable_mapping_of_read_only_file_is_eacces() {
    // mmap(2) EACCES: "MAP_SHARED was requested and PROT_WRITE is set, but fd
    // is not open in read/write (O_RDWR) mode", and "fd is not open for
    // reading"; mprotect(2) EACCES: "the memory cannot be given the specified
    // access ... a file that was opened read-only ... MAP_SHARED ... PROT_WRITE".
    let frames = TestFrames::new();
    let file = TestFile::new(&frames, &[1u8; P]);
    let mut v = test_vmar(&frames);
    assert_eq!(v.mmap(0, P, RW, MAP_SHARED, Some(file_map(&file, false)), 0), Err(Errno::EACCES));
    let unreadable = file_map(&file, true).with_access(false, true);
    assert_eq!(v.mmap(0, P, PROT_READ, MAP_PRIVATE, Some(unreadable), 0), Err(Errno::EACCES));
    let a = v.mmap(0, P, PROT_READ, MAP_SHARED, Some(file_map(&file, false)), 0).unwrap();
    assert_eq!(v.mprotect(a, P, RW), Err(Errno::EACCES));
    // A private mapping of the same file may become writable.
    let b = v.mmap(0, P, PROT_READ, MAP_PRIVATE, Some(file_map(&file, false)), 0).unwrap();
    assert_eq!(v.mprotect(b, P, RW), Ok(()));
    drop(v);
    drop(file);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn shared_validate_refuses_unknown_flags() {
    // mmap(2) MAP_SHARED_VALIDATE: "mmap() ... will fail with the error
    // EOPNOTSUPP" for unknown flags; plain MAP_SHARED ignores them.
    let frames = TestFrames::new();
    let file = TestFile::new(&frames, &[1u8; P]);
    let mut v = test_vmar(&frames);
    let f = || Some(file_map(&file, true));
    assert_eq!(v.mmap(0, P, RW, MAP_SHARED_VALIDATE | MAP_SYNC, f(), 0), Err(Errno::EOPNOTSUPP));
    assert_eq!(v.mmap(0, P, RW, MAP_SHARED_VALIDATE | 0x200, f(), 0), Err(Errno::EOPNOTSUPP));
    assert!(v.mmap(0, P, RW, MAP_SHARED | 0x200, f(), 0).is_ok());
    assert!(v.mmap(0, P, RW, MAP_SHARED_VALIDATE | MAP_POPULATE, f(), 0).is_ok());
    drop(v);
    drop(file);
    assert_eq!(frames.allocated(), 0);
}

// ----- munmap -----

#[test]
fn munmap_punches_a_hole() {
    // munmap(2): "The munmap() system call deletes the mappings for the
    // specified address range ... further references to addresses within the
    // range to generate invalid memory references."
    let (frames, mut v) = setup();
    let a = v.mmap(0, 6 * P, RW, PRIV_ANON, None, 0).unwrap();
    for i in 0..6 {
        v.write_val(a + i * P, i as u8 + 1).unwrap();
    }
    v.munmap(a + 2 * P, 2 * P).unwrap();
    let rw = Prot::READ | Prot::WRITE;
    assert_eq!(ranges(&v), vec![(a, a + 2 * P, rw), (a + 4 * P, a + 6 * P, rw)]);
    assert_eq!(frames.allocated(), 4);
    let mut b = [0u8; 1];
    assert_eq!(
        cpu_load(&mut v, a + 3 * P, &mut b),
        Err(FaultOutcome::Segv { addr: a + 3 * P, code: SegvCode::MapErr })
    );
    assert_eq!(read(&mut v, a + P, 1), [2]);
    assert_eq!(read(&mut v, a + 4 * P, 1), [5]);
    finish(frames, v);
}

#[test]
fn munmap_of_unmapped_range_succeeds() {
    // munmap(2): "It is not an error if the indicated range does not contain
    // any mapped pages."
    let (frames, mut v) = setup();
    assert_eq!(v.munmap(0x40_0000, 10 * P), Ok(()));
    let a = v.mmap(0, P, RW, PRIV_ANON, None, 0).unwrap();
    assert_eq!(v.munmap(a - 4 * P, 10 * P), Ok(()));
    assert_eq!(v.mappings().count(), 0);
    finish(frames, v);
}

#[test]
fn munmap_rounds_length_up_and_checks_arguments() {
    // munmap(2) EINVAL: "addr is not a multiple of the page size", "(since
    // Linux 2.6.12) length was 0", and "We don't like addr or length (e.g.,
    // they are too large)". The length is rounded up to pages.
    let (frames, mut v) = setup();
    let a = v.mmap(0, 3 * P, RW, PRIV_ANON, None, 0).unwrap();
    assert_eq!(v.munmap(a + 1, P), Err(Errno::EINVAL));
    assert_eq!(v.munmap(a, 0), Err(Errno::EINVAL));
    assert_eq!(v.munmap(a, usize::MAX), Err(Errno::EINVAL));
    assert_eq!(v.munmap(TASK_SIZE + P, P), Err(Errno::EINVAL));
    assert_eq!(v.munmap(a, P + 1), Ok(()));
    assert_eq!(ranges(&v), vec![(a + 2 * P, a + 3 * P, Prot::READ | Prot::WRITE)]);
    finish(frames, v);
}

// ----- mprotect -----

#[test]
fn mprotect_splits_the_middle_of_a_mapping_and_merges_back() {
    // mprotect(2): "changes the access protections for the calling process's
    // memory pages containing any part of the address range".
    let (frames, mut v) = setup();
    let a = v.mmap(0, 5 * P, RW, PRIV_ANON, None, 0).unwrap();
    for i in 0..5 {
        v.write_val(a + i * P, 7u8).unwrap();
    }
    v.mprotect(a + P, 2 * P, PROT_READ).unwrap();
    let rw = Prot::READ | Prot::WRITE;
    assert_eq!(ranges(&v), vec![(a, a + P, rw), (a + P, a + 3 * P, Prot::READ), (a + 3 * P, a + 5 * P, rw)]);
    // mprotect(2): "If the calling process tries to access memory in a manner
    // that violates the protections, then the kernel generates a SIGSEGV".
    assert_eq!(
        cpu_store(&mut v, a + P + 8, b"x"),
        Err(FaultOutcome::Segv { addr: a + P + 8, code: SegvCode::AccErr })
    );
    assert_eq!(v.write_user(a + 2 * P, b"x"), Err(Errno::EFAULT));
    assert_eq!(read(&mut v, a + 2 * P, 1), [7]);
    cpu_store(&mut v, a + 3 * P, b"y").unwrap();
    // Restoring the permissions merges the three mappings back into one.
    v.mprotect(a + P, 2 * P, RW).unwrap();
    assert_eq!(ranges(&v), vec![(a, a + 5 * P, rw)]);
    cpu_store(&mut v, a + P, b"z").unwrap();
    assert_eq!(v.cow_copies(), 0, "a page we own is made writable, not copied");
    assert_eq!(frames.allocated(), 5);
    finish(frames, v);
}

#[test]
fn mprotect_over_a_hole_is_enomem() {
    // mprotect(2) ENOMEM: "Addresses in the range [addr, addr+len-1] are
    // invalid for the address space of the process, or specify one or more
    // pages that are not mapped." Linux changes the mappings before the
    // hole and then fails.
    let (frames, mut v) = setup();
    let a = v.mmap(0x60_0000, 2 * P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    v.mmap(a + 3 * P, 2 * P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    assert_eq!(v.mprotect(a, 5 * P, PROT_READ), Err(Errno::ENOMEM));
    let rw = Prot::READ | Prot::WRITE;
    assert_eq!(ranges(&v), vec![(a, a + 2 * P, Prot::READ), (a + 3 * P, a + 5 * P, rw)]);
    // Starting in the hole changes nothing.
    assert_eq!(v.mprotect(a + 2 * P, 3 * P, PROT_NONE), Err(Errno::ENOMEM));
    assert_eq!(ranges(&v), vec![(a, a + 2 * P, Prot::READ), (a + 3 * P, a + 5 * P, rw)]);
    // Past the end of the address space.
    assert_eq!(v.mprotect(TASK_SIZE, P, PROT_READ), Err(Errno::ENOMEM));
    // The range wraps around.
    assert_eq!(v.mprotect(a, usize::MAX - a, PROT_READ), Err(Errno::ENOMEM));
    finish(frames, v);
}

#[test]
fn mprotect_argument_errors() {
    // mprotect(2) EINVAL: "addr is not a valid pointer, or not a multiple of
    // the system page size", "Invalid flags specified in prot", "Both
    // PROT_GROWSUP and PROT_GROWSDOWN were specified in prot". A zero length
    // succeeds (do_mprotect_pkey returns 0 before looking at mappings).
    let (frames, mut v) = setup();
    let a = v.mmap(0, 2 * P, RW, PRIV_ANON, None, 0).unwrap();
    assert_eq!(v.mprotect(a + 1, P, PROT_READ), Err(Errno::EINVAL));
    assert_eq!(v.mprotect(a, P, 0x10), Err(Errno::EINVAL));
    assert_eq!(v.mprotect(a, P, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP), Err(Errno::EINVAL));
    // Not a grow-down mapping / no grow-up mappings on x86.
    assert_eq!(v.mprotect(a, P, PROT_READ | PROT_GROWSDOWN), Err(Errno::EINVAL));
    assert_eq!(v.mprotect(a, P, PROT_READ | PROT_GROWSUP), Err(Errno::EINVAL));
    assert_eq!(v.mprotect(0x1000, 0, PROT_READ), Ok(()));
    assert_eq!(v.mprotect(a, P, PROT_READ | PROT_SEM), Ok(()));
    finish(frames, v);
}

#[test]
fn mprotect_growsdown_extends_to_the_mapping_start() {
    // mprotect(2) PROT_GROWSDOWN: "the protection change ... extend[s] to the
    // start of a mapping that has MAP_GROWSDOWN".
    let (frames, mut v) = setup();
    let a = v.mmap(0, 4 * P, RW, PRIV_ANON | MAP_GROWSDOWN, None, 0).unwrap();
    v.mprotect(a + 2 * P, P, PROT_READ | PROT_GROWSDOWN).unwrap();
    let rw = Prot::READ | Prot::WRITE;
    assert_eq!(ranges(&v), vec![(a, a + 3 * P, Prot::READ), (a + 3 * P, a + 4 * P, rw)]);
    finish(frames, v);
}

#[test]
fn mprotect_changes_present_pages_and_faults_follow() {
    let (frames, mut v) = setup();
    let a = v.mmap(0, 2 * P, PROT_READ, PRIV_ANON, None, 0).unwrap();
    let mut b = [0u8; 1];
    assert_eq!(cpu_fetch(&mut v, a), Err(FaultOutcome::Segv { addr: a, code: SegvCode::AccErr }));
    cpu_load(&mut v, a, &mut b).unwrap();
    v.mprotect(a, 2 * P, PROT_READ | PROT_EXEC).unwrap();
    assert_eq!(cpu_fetch(&mut v, a), Ok(()));
    v.mprotect(a, 2 * P, PROT_NONE).unwrap();
    assert_eq!(cpu_load(&mut v, a, &mut b), Err(FaultOutcome::Segv { addr: a, code: SegvCode::AccErr }));
    assert_eq!(v.read_user(a, &mut b), Err(Errno::EFAULT));
    assert_eq!(
        v.mapping_at(a).unwrap().to_string(),
        format!("{:08x}-{:08x} ---p 00000000 00:00 0", a, a + 2 * P)
    );
    finish(frames, v);
}

// ----- brk -----

fn heap_vmar(frames: &TestFrames) -> (TestVmar, usize) {
    let mut v = test_vmar(frames);
    // The loaded image ends at 0x40_1234; the heap starts on the next page.
    v.mmap(0x40_0000, 2 * P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    v.set_brk_base(0x40_1234);
    (v, 0x40_2000)
}

#[test]
fn brk_grows_and_shrinks() {
    // brk(2): "brk() sets the end of the data segment to the value specified
    // by addr"; the Linux system call returns the new program break on
    // success and the current break on failure.
    let frames = TestFrames::new();
    let (mut v, base) = heap_vmar(&frames);
    assert_eq!(v.brk(0), base, "brk(0) returns the current break");
    assert_eq!(v.brk(base + 10_000), base + 10_000);
    assert_eq!(v.current_brk(), base + 10_000);
    let heap = v.mapping_at(base).unwrap();
    assert_eq!((heap.start, heap.end, heap.name.as_str()), (base, base + 3 * P, "[heap]"));
    assert_eq!(read(&mut v, base + 9_000, 4), [0; 4]);
    for i in 0..3 {
        v.write_val(base + i * P, 0x55u8).unwrap();
    }
    assert_eq!(frames.allocated(), 3);
    // Within the same page: only the break value moves.
    assert_eq!(v.brk(base + 9_000), base + 9_000);
    assert_eq!(frames.allocated(), 3);
    // Shrinking frees the pages above the new break.
    assert_eq!(v.brk(base + P), base + P);
    assert_eq!(frames.allocated(), 1);
    assert_eq!(v.read_user(base + P, &mut [0u8; 1]), Err(Errno::EFAULT));
    // Growing again gives zeroed pages.
    assert_eq!(v.brk(base + 3 * P), base + 3 * P);
    assert_eq!(read(&mut v, base + 2 * P, 1), [0]);
    assert_eq!(read(&mut v, base, 1), [0x55]);
    // Back to the start: the heap is gone.
    assert_eq!(v.brk(base), base);
    assert!(v.mapping_at(base).is_none());
    finish(frames, v);
}

#[test]
fn brk_failure_returns_the_old_break() {
    // brk(2) NOTES: "on failure, the system call returns the current break".
    let frames = TestFrames::new();
    let (mut v, base) = heap_vmar(&frames);
    assert_eq!(v.brk(base + P), base + P);
    // Below the start of the heap.
    assert_eq!(v.brk(base - P), base + P);
    // Into another mapping (brk keeps one page of gap below it).
    v.mmap(base + 8 * P, P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    assert_eq!(v.brk(base + 8 * P), base + P);
    assert_eq!(v.brk(base + 7 * P + 1), base + P);
    assert_eq!(v.brk(base + 7 * P), base + 7 * P);
    // Past the end of the address space.
    assert_eq!(v.brk(usize::MAX), base + 7 * P);
    assert_eq!(v.brk(TASK_SIZE + P), base + 7 * P);
    finish(frames, v);
}

#[test]
fn brk_without_a_heap_base_does_nothing() {
    let (frames, mut v) = setup();
    assert_eq!(v.brk(0x50_0000), 0);
    assert_eq!(v.mappings().count(), 0);
    finish(frames, v);
}

#[test]
fn brk_shrink_after_munmap_of_the_heap_fails() {
    // mm/mmap.c brk: shrinking needs the heap mapping to still be there.
    let frames = TestFrames::new();
    let (mut v, base) = heap_vmar(&frames);
    assert_eq!(v.brk(base + 4 * P), base + 4 * P);
    v.munmap(base, 4 * P).unwrap();
    assert_eq!(v.brk(base + P), base + 4 * P);
    finish(frames, v);
}

#[test]
fn brk_survives_fork() {
    let frames = TestFrames::new();
    let (mut v, base) = heap_vmar(&frames);
    v.brk(base + P);
    v.write_user(base, b"heap").unwrap();
    let mut child = v.fork().unwrap();
    assert_eq!(child.brk(0), base + P);
    assert_eq!(child.brk(base + 2 * P), base + 2 * P);
    assert_eq!(v.current_brk(), base + P);
    assert_eq!(read(&mut child, base, 4), b"heap");
    drop(child);
    finish(frames, v);
}

// ----- listing -----

#[test]
fn listing_shows_ranges_permissions_kinds_and_names() {
    let frames = TestFrames::new();
    let (mut v, base) = heap_vmar(&frames);
    v.brk(base + P);
    let s = v.mmap(0x70_0000, P, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, None, 0).unwrap();
    let st = v.mmap(0x7ff0_0000, 2 * P, RW, PRIV_ANON | MAP_FIXED | MAP_GROWSDOWN, None, 0).unwrap();
    v.set_name(st, 2 * P, "[stack]").unwrap();
    let lines: Vec<String> = v.mappings().map(|m| m.to_string()).collect();
    assert_eq!(
        lines,
        vec![
            "00400000-00402000 rw-p 00000000 00:00 0".to_string(),
            "00402000-00403000 rw-p 00000000 00:00 0 [heap]".to_string(),
            "00700000-00701000 r--s 00000000 00:00 0".to_string(),
            "7ff00000-7ff02000 rw-p 00000000 00:00 0 [stack]".to_string(),
        ]
    );
    let kinds: Vec<MappingKind> = v.mappings().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        vec![
            MappingKind::PrivateAnonymous,
            MappingKind::PrivateAnonymous,
            MappingKind::SharedAnonymous,
            MappingKind::PrivateAnonymous
        ]
    );
    assert_eq!(v.set_name(s + P, P, "x"), Err(Errno::ENOMEM));
    finish(frames, v);
}

// ----- faults -----

#[test]
fn fault_outcomes_name_the_signal() {
    let (frames, mut v) = setup();
    let a = v.mmap(0, P, PROT_READ, PRIV_ANON, None, 0).unwrap();
    assert_eq!(
        v.handle_page_fault(a - 1, vm::Access::Read),
        FaultOutcome::Segv { addr: a - 1, code: SegvCode::MapErr }
    );
    assert_eq!(
        v.handle_page_fault(a + 5, vm::Access::Write),
        FaultOutcome::Segv { addr: a + 5, code: SegvCode::AccErr }
    );
    assert_eq!(v.handle_page_fault(a + 5, vm::Access::Read), FaultOutcome::Resolved);
    // A second fault on a page already mapped (a stale TLB entry) is resolved.
    assert_eq!(v.handle_page_fault(a + 5, vm::Access::Read), FaultOutcome::Resolved);
    assert_eq!(v.resident_pages(), 1);
    assert_eq!(SegvCode::MapErr.si_code(), 1);
    assert_eq!(SegvCode::AccErr.si_code(), 2);
    assert_eq!(
        v.handle_page_fault(usize::MAX, vm::Access::Execute),
        FaultOutcome::Segv { addr: usize::MAX, code: SegvCode::MapErr }
    );
    finish(frames, v);
}

#[test]
fn out_of_memory_is_an_outcome_not_a_panic() {
    let frames = TestFrames::with_limit(2);
    let mut v = test_vmar(&frames);
    let a = v.mmap(0, 4 * P, RW, PRIV_ANON, None, 0).unwrap();
    v.write_user(a, b"1").unwrap();
    v.write_user(a + P, b"2").unwrap();
    assert_eq!(v.handle_page_fault(a + 2 * P, vm::Access::Write), FaultOutcome::OutOfMemory);
    assert_eq!(v.write_user(a + 2 * P, b"3"), Err(Errno::EFAULT));
    assert_eq!(v.resident_pages(), 2);
    let s = v.mmap(0, P, RW, MAP_SHARED | MAP_ANONYMOUS, None, 0).unwrap();
    assert_eq!(v.handle_page_fault(s, vm::Access::Read), FaultOutcome::OutOfMemory);
    finish(frames, v);
}

#[test]
fn mmap_populate_stops_quietly_when_memory_runs_out() {
    // mmap(2) MAP_POPULATE: the mapping succeeds even if prefaulting fails
    // (Linux ignores the populate result).
    let frames = TestFrames::with_limit(3);
    let mut v = test_vmar(&frames);
    let a = v.mmap(0, 10 * P, RW, PRIV_ANON | MAP_POPULATE, None, 0).unwrap();
    assert_eq!(v.resident_pages(), 3);
    assert_eq!(v.mapping_at(a + 9 * P).map(|m| m.end), Some(a + 10 * P));
    finish(frames, v);
}

mod mremap {
    use linux_abi::Errno;
    use vm::abi::*;
    use vm::testing::{TestFrames, test_vmar};

    const RW: usize = PROT_READ | PROT_WRITE;
    const ANON: usize = MAP_PRIVATE | MAP_ANONYMOUS;

    // mremap(2): "EINVAL ... flags ... MREMAP_FIXED without MREMAP_MAYMOVE;
    // old_address was not page aligned; new_size was zero"
    #[test]
    fn argument_errors() {
        let frames = TestFrames::new();
        let mut v = test_vmar(&frames);
        let a = v.mmap(0, 8192, RW, ANON, None, 0).unwrap();
        assert_eq!(v.mremap(a + 1, 4096, 8192, MREMAP_MAYMOVE, 0), Err(Errno::EINVAL));
        assert_eq!(v.mremap(a, 4096, 8192, MREMAP_FIXED, a + 0x10_0000), Err(Errno::EINVAL));
        assert_eq!(v.mremap(a, 4096, 0, MREMAP_MAYMOVE, 0), Err(Errno::EINVAL));
        assert_eq!(v.mremap(a, 4096, 8192, 0x100, 0), Err(Errno::EINVAL));
        // "EFAULT ... some address in the range old_address to
        // old_address+old_size is an invalid virtual memory address"
        assert_eq!(v.mremap(a, 3 * 4096, 4 * 4096, MREMAP_MAYMOVE, 0), Err(Errno::EFAULT));
        // overlapping fixed move
        assert_eq!(v.mremap(a + 4096, 4096, 8192, MREMAP_MAYMOVE | MREMAP_FIXED, a), Err(Errno::EINVAL));
        // mremap_to(): a new range past the user limit (or wrapping) is
        // EINVAL, not ENOMEM
        let max = v.config().max_addr;
        let fixed = MREMAP_MAYMOVE | MREMAP_FIXED;
        assert_eq!(v.mremap(a, 4096, 4096, fixed, max), Err(Errno::EINVAL));
        assert_eq!(v.mremap(a, 4096, 4096, fixed, usize::MAX & !4095), Err(Errno::EINVAL));
        assert_eq!(v.mremap(a, 4096, usize::MAX & !4095, fixed, 0x10_0000), Err(Errno::EINVAL));
        assert_eq!(v.mapping_at(a).map(|m| m.end - m.start), Some(8192), "nothing moved");
        drop(v);
        assert_eq!(frames.allocated(), 0);
    }

    #[test]
    fn shrink_grow_in_place_and_move_keep_contents() {
        let frames = TestFrames::new();
        let mut v = test_vmar(&frames);
        let a = v.mmap(0, 2 * 4096, RW, ANON, None, 0).unwrap();
        v.write_user(a, b"first").unwrap();
        v.write_user(a + 4096, b"second").unwrap();
        // shrink: the tail goes away
        assert_eq!(v.mremap(a, 8192, 4096, 0, 0), Ok(a));
        let mut b = [0u8; 6];
        assert_eq!(v.read_user(a + 4096, &mut b), Err(Errno::EFAULT));
        // grow in place: the pages after are free
        assert_eq!(v.mremap(a, 4096, 3 * 4096, 0, 0), Ok(a));
        v.write_user(a + 2 * 4096, b"third").unwrap();
        // block the space after it, then growing needs a move
        let blocker = v.mmap(a + 3 * 4096, 4096, RW, ANON | MAP_FIXED, None, 0).unwrap();
        assert_eq!(v.mremap(a, 3 * 4096, 4 * 4096, 0, 0), Err(Errno::ENOMEM));
        let resident = v.resident_pages();
        let n = v.mremap(a, 3 * 4096, 4 * 4096, MREMAP_MAYMOVE, 0).unwrap();
        assert_ne!(n, a);
        assert_eq!(v.resident_pages(), resident, "entries moved, no frame copied or lost");
        v.read_user(n, &mut b[..5]).unwrap();
        assert_eq!(&b[..5], b"first");
        v.read_user(n + 2 * 4096, &mut b[..5]).unwrap();
        assert_eq!(&b[..5], b"third");
        assert_eq!(v.read_user(a, &mut b), Err(Errno::EFAULT), "the old range is gone");
        v.munmap(blocker, 4096).unwrap();
        drop(v);
        assert_eq!(frames.allocated(), 0);
    }

    #[test]
    fn fixed_move_of_a_shared_page_stays_shared_with_a_fork() {
        let frames = TestFrames::new();
        let mut parent = test_vmar(&frames);
        let a = parent.mmap(0, 4096, RW, MAP_SHARED | MAP_ANONYMOUS, None, 0).unwrap();
        parent.write_user(a, b"x").unwrap();
        let mut child = parent.fork().unwrap();
        let dst = child.mmap(0, 4096, PROT_NONE, ANON, None, 0).unwrap();
        assert_eq!(child.mremap(a, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, dst), Ok(dst));
        child.write_user(dst, b"y").unwrap();
        let mut b = [0u8; 1];
        parent.read_user(a, &mut b).unwrap();
        assert_eq!(&b, b"y", "the moved shared page is still the parent's page");
        drop(child);
        drop(parent);
        assert_eq!(frames.allocated(), 0);
    }
}

#[test]
fn unmap_source_pages_follows_a_truncate() {
    // Linux's unmap_mapping_range: the pages of a file from an index on
    // leave every mapping of it (private copies too, with `cows`), the
    // mappings stay and fault the pages in again.
    let frames = TestFrames::new();
    let file = TestFile::new(&frames, &[b'f'; 3 * P]);
    let other = TestFile::new(&frames, &[b'o'; P]);
    let mut v = test_vmar(&frames);
    let s = v.mmap(0, 3 * P, RW, MAP_SHARED, Some(file_map(&file, true)), 0).unwrap();
    let p = v.mmap(0, 3 * P, RW, MAP_PRIVATE, Some(file_map(&file, false)), 0).unwrap();
    let o = v.mmap(0, P, RW, MAP_SHARED, Some(file_map(&other, true)), 0).unwrap();
    for i in 0..3 {
        cpu_store(&mut v, s + i * P, b"s").unwrap();
        read(&mut v, p + i * P, 1);
    }
    cpu_store(&mut v, p + 2 * P, b"c").unwrap(); // a private copy of page 2
    read(&mut v, o, 1);
    assert_eq!(v.resident_pages(), 7);
    let src: &dyn vm::PageSource = &*file;
    // a punched hole (no cows): shared pages 1.. go, the private copy stays
    v.unmap_source_pages(src, 1, None, false);
    assert_eq!(v.resident_pages(), 5);
    assert_eq!(read(&mut v, p + 2 * P, 1), b"c");
    // a truncate: every page from 2 on, private copies included
    v.unmap_source_pages(src, 2, Some(3), true);
    assert_eq!(v.resident_pages(), 4);
    assert_eq!(read(&mut v, p + 2 * P, 1), b"s", "faulted in again from the file");
    // the other file's mapping was never touched
    assert_eq!(v.mapping_at(o).map(|m| m.kind), Some(MappingKind::SharedSource));
    assert_eq!(read(&mut v, o, 1), b"o");
    drop(v);
    drop(file);
    drop(other);
    assert_eq!(frames.allocated(), 0);
}

#[test]
fn source_at_and_writable_shared_mappings() {
    let frames = TestFrames::new();
    let file = TestFile::new(&frames, &[0u8; 2 * P]);
    let mut v = test_vmar(&frames);
    let src: &dyn vm::PageSource = &*file;
    let a = v.mmap(0, 2 * P, PROT_READ, MAP_SHARED, Some(file_map(&file, false)), P as u64).unwrap();
    assert!(!v.maps_source_writably(src), "a read-only file cannot be written through");
    let (found, off) = v.source_at(a + P).unwrap();
    assert!(std::ptr::addr_eq(std::sync::Arc::as_ptr(&found), src as *const dyn vm::PageSource));
    assert_eq!(off, P as u64);
    drop(found);
    let anon = v.mmap(0, P, RW, MAP_SHARED | MAP_ANONYMOUS, None, 0).unwrap();
    assert!(v.source_at(anon).is_none(), "anonymous memory has no source to name");
    let w = v.mmap(0, P, PROT_READ, MAP_SHARED, Some(file_map(&file, true)), 0).unwrap();
    assert!(v.maps_source_writably(src), "mprotect could make it writable");
    v.munmap(w, P).unwrap();
    assert!(!v.maps_source_writably(src));
    drop(v);
    drop(file);
    assert_eq!(frames.allocated(), 0);
}

// ----- vm.max_map_count -----

#[test]
fn max_map_count_default_is_linux() {
    let (frames, v) = setup();
    assert_eq!(vm::DEFAULT_MAX_MAP_COUNT, 65530);
    assert_eq!(v.map_count(), 0);
    finish(frames, v);
}

#[test]
fn mprotect_split_stops_at_max_map_count() {
    // split_vma: ENOMEM once map_count >= max; a split already made stays.
    let (frames, mut v) = setup();
    v.set_max_map_count(6);
    let a = v.mmap(0, 64 * P, PROT_READ, PRIV_ANON, None, 0).unwrap();
    assert_eq!(v.map_count(), 1);
    v.mprotect(a + P, P, PROT_NONE).unwrap();
    v.mprotect(a + 3 * P, P, PROT_NONE).unwrap();
    assert_eq!(v.map_count(), 5);
    // The first split (to 6) succeeds, the second fails.
    assert_eq!(v.mprotect(a + 5 * P, P, PROT_NONE), Err(Errno::ENOMEM));
    assert_eq!(v.map_count(), 6);
    assert_eq!(v.mprotect(a + 7 * P, P, PROT_NONE), Err(Errno::ENOMEM));
    assert_eq!(v.map_count(), 6);
    // Changing a whole mapping needs no split; merging lowers the count.
    v.mprotect(a + P, P, PROT_READ).unwrap();
    assert_eq!(v.map_count(), 4);
    finish(frames, v);
}

#[test]
fn munmap_hole_and_mmap_respect_max_map_count() {
    let (frames, mut v) = setup();
    v.set_max_map_count(3);
    let a = v.mmap(0, 16 * P, PROT_READ, PRIV_ANON, None, 0).unwrap();
    v.munmap(a + P, P).unwrap(); // 2 mappings
    v.munmap(a + 3 * P, P).unwrap(); // 3 mappings
    assert_eq!(v.map_count(), 3);
    // A hole strictly inside one mapping would make 4.
    assert_eq!(v.munmap(a + 5 * P, P), Err(Errno::ENOMEM));
    assert_eq!(v.map_count(), 3);
    // Trimming an end needs no new mapping.
    v.munmap(a + 15 * P, P).unwrap();
    // MAP_FIXED over a hole strictly inside a mapping splits it: refused.
    assert_eq!(v.mmap(a + 8 * P, P, PROT_WRITE, PRIV_ANON | MAP_FIXED, None, 0), Err(Errno::ENOMEM));
    // do_mmap refuses only when the count is already above the limit.
    let b = v.mmap(0, P, RW, PRIV_ANON, None, 0).unwrap();
    assert_eq!(v.map_count(), 4);
    assert_eq!(v.mmap(0, P, PROT_READ | PROT_EXEC, PRIV_ANON, None, 0), Err(Errno::ENOMEM));
    v.munmap(b, P).unwrap();
    finish(frames, v);
}

#[test]
fn mremap_move_keeps_four_below_max_map_count() {
    let (frames, mut v) = setup();
    v.set_max_map_count(5);
    let a = v.mmap(0, 4 * P, RW, PRIV_ANON, None, 0).unwrap();
    // Grow by moving: needs map_count < max - 3.
    let _guard = v.mmap(a + 4 * P, P, PROT_READ, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    assert_eq!(v.map_count(), 2);
    assert_eq!(v.mremap(a, 4 * P, 8 * P, MREMAP_MAYMOVE, 0), Err(Errno::ENOMEM));
    v.set_max_map_count(6);
    let b = v.mremap(a, 4 * P, 8 * P, MREMAP_MAYMOVE, 0).unwrap();
    assert_ne!(b, a);
    finish(frames, v);
}

#[test]
fn growsdown_stack_grows_on_fault_up_to_the_stack_limit() {
    let (frames, mut v) = setup();
    let top = 0x7ff0_0000;
    let st = v.mmap(top - 2 * P, 2 * P, RW, PRIV_ANON | MAP_FIXED | MAP_GROWSDOWN, None, 0).unwrap();
    // the default RLIMIT_STACK: 8 MiB
    assert_eq!(SpaceLimits::default().stack, 8 << 20);
    // 16 pages is within the limit: the mapping grows down to the page
    let a = top - 16 * P + 8;
    assert_eq!(v.handle_page_fault(a, vm::Access::Write), FaultOutcome::Resolved);
    assert_eq!(v.mapping_at(st).map(|m| (m.start, m.end)), Some((top - 16 * P, top)));
    // a user copy below it grows it too (acct_stack_growth at fault time)
    v.write_user(top - 20 * P, &[7u8; 8]).unwrap();
    assert_eq!(read(&mut v, top - 20 * P, 2), vec![7, 7]);
    // beyond the limit: SIGSEGV, nothing grows
    let stack = |n: usize| SpaceLimits::new(u64::MAX, u64::MAX, u64::MAX, (n * P) as u64);
    let far = top - 33 * P;
    assert!(matches!(
        v.limited(stack(32)).handle_page_fault(far, vm::Access::Read),
        FaultOutcome::Segv { .. }
    ));
    // a raised limit lets it grow there
    assert_eq!(v.limited(stack(64)).handle_page_fault(far, vm::Access::Read), FaultOutcome::Resolved);
    assert_eq!(v.mapping_at(far).map(|m| m.start), Some(top - 33 * P));
    // stack_guard_gap: a mapping 256 pages below keeps the stack from
    // coming closer than the gap
    let low = top - 33 * P - 300 * P;
    v.mmap(low - P, P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    let near = low + 100 * P;
    assert!(matches!(
        v.limited(stack(1 << 20)).handle_page_fault(near, vm::Access::Read),
        FaultOutcome::Segv { .. }
    ));
    let ok = low + 256 * P;
    assert_eq!(v.limited(stack(1 << 20)).handle_page_fault(ok, vm::Access::Read), FaultOutcome::Resolved);
    // a mapping without MAP_GROWSDOWN never grows
    let plain = v.mmap(0x1000_0000, P, RW, PRIV_ANON | MAP_FIXED, None, 0).unwrap();
    assert!(matches!(v.handle_page_fault(plain - P, vm::Access::Read), FaultOutcome::Segv { .. }));
    finish(frames, v);
}

#[test]
fn the_system_max_map_count_applies_to_spaces_without_their_own() {
    // vm.max_map_count is read at each check (sysctl_max_map_count); a
    // space with its own limit keeps it. Other tests never come near the
    // default, so lowering it for a moment disturbs none of them.
    let (frames, mut v) = setup();
    let a = v.mmap(0, 64 * P, PROT_READ, PRIV_ANON, None, 0).unwrap();
    assert_eq!(vm::system_max_map_count(), vm::DEFAULT_MAX_MAP_COUNT);
    vm::set_system_max_map_count(3);
    let r = v.mprotect(a + P, P, PROT_NONE);
    let r2 = v.mprotect(a + 3 * P, P, PROT_NONE);
    vm::set_system_max_map_count(vm::DEFAULT_MAX_MAP_COUNT);
    assert_eq!(r, Ok(()));
    assert_eq!(r2, Err(Errno::ENOMEM));
    assert_eq!(v.map_count(), 3);
    v.set_max_map_count(100);
    vm::set_system_max_map_count(3);
    let r3 = v.mprotect(a + 5 * P, P, PROT_NONE);
    vm::set_system_max_map_count(vm::DEFAULT_MAX_MAP_COUNT);
    assert_eq!(r3, Ok(()));
    finish(frames, v);
}
