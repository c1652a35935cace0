//! RLIMIT_AS and RLIMIT_DATA as the address space checks them
//! (`may_expand_vm`) with the caller's limits ([`vm::Vmar::limited`]):
//! mmap, MAP_FIXED replacement, mremap, brk, stack growth; the page
//! counts they use (`total_vm`, `data_vm`, kept as counters) against a
//! model.

use proptest::prelude::*;
use vm::abi::*;
use vm::testing::{TestFrames, TestVmar, test_vmar};
use vm::{FaultOutcome, PAGE_SIZE, SpaceLimits};

const P: usize = PAGE_SIZE;
const RW: usize = PROT_READ | PROT_WRITE;
const PRIV_ANON: usize = MAP_PRIVATE | MAP_ANONYMOUS;
const INF: u64 = u64::MAX;

fn setup() -> (TestFrames, TestVmar) {
    let frames = TestFrames::new();
    let v = test_vmar(&frames);
    (frames, v)
}

fn pages(v: &TestVmar) -> (u64, u64) {
    v.vm_pages()
}

#[test]
fn address_space_limit_refuses_mmap_and_counts_replacement() {
    let (_f, mut v) = setup();
    let l = SpaceLimits::new(16 * P as u64, INF, INF, INF);
    assert_eq!(v.limited(l).mmap(0, 17 * P, RW, PRIV_ANON, None, 0), Err(linux_abi::Errno::ENOMEM));
    let a = v.limited(l).mmap(0, 16 * P, PROT_NONE, PRIV_ANON, None, 0).unwrap();
    assert_eq!(pages(&v), (16, 0));
    // full: a page more of any kind is refused
    assert_eq!(
        v.limited(l).mmap(0, P, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, None, 0),
        Err(linux_abi::Errno::ENOMEM)
    );
    // MAP_FIXED over mapped pages replaces them
    assert_eq!(v.limited(l).mmap(a + 4 * P, 8 * P, RW, PRIV_ANON | MAP_FIXED, None, 0), Ok(a + 4 * P));
    assert_eq!(pages(&v), (16, 8));
    // half over the mapping, half beyond it: grows by the half
    assert_eq!(
        v.limited(l).mmap(a + 12 * P, 8 * P, RW, PRIV_ANON | MAP_FIXED, None, 0),
        Err(linux_abi::Errno::ENOMEM)
    );
    // mremap growth, in place or moved
    v.munmap(a, 2 * P).unwrap();
    assert_eq!(
        v.limited(l).mremap(a + 4 * P, 8 * P, 11 * P, MREMAP_MAYMOVE, 0),
        Err(linux_abi::Errno::ENOMEM)
    );
    let b = v.limited(l).mremap(a + 4 * P, 8 * P, 10 * P, MREMAP_MAYMOVE, 0).unwrap();
    assert_eq!(pages(&v), (16, 10));
    // another process sharing the space (CLONE_VM) with no limit, or the
    // same one after raising it, grows it
    assert!(v.limited(SpaceLimits::default()).mremap(b, 10 * P, 40 * P, MREMAP_MAYMOVE, 0).is_ok());
    assert_eq!(pages(&v), (46, 40));
}

#[test]
fn data_limit_refuses_brk_and_private_writable_maps() {
    let (_f, mut v) = setup();
    v.set_brk_base(0x40_0000);
    v.set_data_segment(2 * P);
    let l = SpaceLimits::new(INF, 8 * P as u64, INF, INF);
    // check_data_rlimit: heap + data segment
    assert_eq!(v.limited(l).brk(0x40_0000 + 7 * P), 0x40_0000);
    assert_eq!(v.limited(l).brk(0x40_0000 + 6 * P), 0x40_0000 + 6 * P);
    assert_eq!(pages(&v), (6, 6));
    // shared, read-only and growsdown mappings are not data
    assert!(v.limited(l).mmap(0, 64 * P, RW, MAP_SHARED | MAP_ANONYMOUS, None, 0).is_ok());
    assert!(v.limited(l).mmap(0, 64 * P, PROT_READ, PRIV_ANON, None, 0).is_ok());
    assert!(v.limited(l).mmap(0, 64 * P, RW, PRIV_ANON | MAP_GROWSDOWN, None, 0).is_ok());
    assert_eq!(v.limited(l).mmap(0, 3 * P, RW, PRIV_ANON, None, 0), Err(linux_abi::Errno::ENOMEM));
    assert!(v.limited(l).mmap(0, 2 * P, RW, PRIV_ANON, None, 0).is_ok());
    // the counts go with fork; the plain calls check no limit
    let child = v.fork().unwrap();
    assert_eq!(child.vm_pages(), v.vm_pages());
    assert!(v.mmap(0, 3 * P, RW, PRIV_ANON, None, 0).is_ok());
    assert_eq!(v.limited(l).brk(0x40_0000 + 8 * P), 0x40_0000 + 6 * P);
    assert_eq!(v.brk(0x40_0000 + 8 * P), 0x40_0000 + 8 * P);
}

/// The limits are the caller's: a process sharing the address space
/// (vfork, CLONE_VM) with a small RLIMIT_AS is refused where its parent,
/// without a limit, is not; nothing stays behind in the address space.
#[test]
fn limits_are_per_caller_not_per_address_space() {
    let (_f, mut v) = setup();
    let small = SpaceLimits::new(4 * P as u64, 2 * P as u64, INF, 4 * P as u64);
    assert_eq!(v.limited(small).mmap(0, 8 * P, PROT_READ, PRIV_ANON, None, 0), Err(linux_abi::Errno::ENOMEM));
    assert_eq!(v.limited(small).mmap(0, 3 * P, RW, PRIV_ANON, None, 0), Err(linux_abi::Errno::ENOMEM));
    let big = v.limited(SpaceLimits::default()).mmap(0, 8 * P, PROT_READ, PRIV_ANON, None, 0);
    assert!(big.is_ok());
    assert_eq!(pages(&v), (8, 0));
    // the stack limit too: the child's small RLIMIT_STACK does not stop
    // the parent's stack growth
    let top = 0x7ff0_0000;
    v.mmap(top - P, P, RW, PRIV_ANON | MAP_FIXED | MAP_GROWSDOWN, None, 0).unwrap();
    let small_stack = SpaceLimits::new(INF, INF, INF, 4 * P as u64);
    assert!(matches!(
        v.limited(small_stack).handle_page_fault(top - 8 * P, vm::Access::Write),
        FaultOutcome::Segv { .. }
    ));
    assert_eq!(v.handle_page_fault(top - 8 * P, vm::Access::Write), FaultOutcome::Resolved);
}

#[test]
fn stack_growth_stops_at_the_address_space_limit() {
    let (_f, mut v) = setup();
    let top = 0x7ff0_0000;
    v.mmap(top - 2 * P, 2 * P, RW, PRIV_ANON | MAP_FIXED | MAP_GROWSDOWN, None, 0).unwrap();
    let l = SpaceLimits::new(10 * P as u64, INF, INF, INF);
    assert_eq!(v.limited(l).handle_page_fault(top - 10 * P, vm::Access::Write), FaultOutcome::Resolved);
    assert!(matches!(
        v.limited(l).handle_page_fault(top - 11 * P, vm::Access::Write),
        FaultOutcome::Segv { .. }
    ));
    assert_eq!(pages(&v), (10, 0));
}

#[derive(Debug, Clone)]
enum Op {
    Map { page: usize, len: usize, prot: usize, shared: bool, fixed: bool },
    Unmap { page: usize, len: usize },
    Protect { page: usize, len: usize, prot: usize },
    Remap { page: usize, len: usize, new_len: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let prot = prop_oneof![Just(PROT_NONE), Just(PROT_READ), Just(RW)];
    prop_oneof![
        (0usize..64, 1usize..16, prot.clone(), any::<bool>(), any::<bool>())
            .prop_map(|(page, len, prot, shared, fixed)| Op::Map { page, len, prot, shared, fixed }),
        (0usize..64, 1usize..16).prop_map(|(page, len)| Op::Unmap { page, len }),
        (0usize..64, 1usize..16, prot).prop_map(|(page, len, prot)| Op::Protect { page, len, prot }),
        (0usize..64, 1usize..8, 1usize..24).prop_map(|(page, len, new_len)| Op::Remap { page, len, new_len }),
    ]
}

proptest! {
    /// After any mmap/munmap/mprotect sequence, `vm_pages` is the sum of
    /// the listed mappings (data: private and writable), no mmap ever
    /// takes the total past RLIMIT_AS, and only a MAP_FIXED one (by the
    /// pages it replaces, as Linux) the data past RLIMIT_DATA.
    #[test]
    fn counts_match_the_mappings_and_stay_within_the_limits(
        ops in prop::collection::vec(op(), 1..40), lim in 8u64..96, dlim in 4u64..64,
    ) {
        let (_f, mut v) = setup();
        let base = 0x1000_0000usize;
        let l = SpaceLimits::new(lim * P as u64, dlim * P as u64, INF, INF);
        for o in ops {
            let (before, before_data) = pages(&v);
            match o {
                Op::Map { page, len, prot, shared, fixed } => {
                    let flags = if shared { MAP_SHARED } else { MAP_PRIVATE } | MAP_ANONYMOUS
                        | if fixed { MAP_FIXED } else { 0 };
                    let r = v.limited(l).mmap(base + page * P, len * P, prot, flags, None, 0);
                    let (after, after_data) = pages(&v);
                    if r.is_ok() {
                        prop_assert!(after <= lim.max(before));
                        // Linux 6.1's mmap_region() subtracts the pages a
                        // MAP_FIXED replaces from the growth for both limits,
                        // so data may pass RLIMIT_DATA by what was replaced
                        let slack = if fixed { len as u64 } else { 0 };
                        prop_assert!(after_data <= dlim.max(before_data) + slack);
                    } else {
                        prop_assert_eq!((after, after_data), (before, before_data));
                    }
                }
                Op::Unmap { page, len } => { let _ = v.munmap(base + page * P, len * P); }
                Op::Protect { page, len, prot } => { let _ = v.mprotect(base + page * P, len * P, prot); }
                Op::Remap { page, len, new_len } => {
                    let r = v.limited(l).mremap(base + page * P, len * P, new_len * P, MREMAP_MAYMOVE, 0);
                    if r.is_ok() && new_len > len {
                        prop_assert!(pages(&v).0 <= lim.max(before));
                    }
                }
            }
            let (total, data) = pages(&v);
            let listed: u64 = v.mappings().map(|m| ((m.end - m.start) / P) as u64).sum();
            let listed_data: u64 = v
                .mappings()
                .filter(|m| m.prot.contains(vm::Prot::WRITE) && !m.shared)
                .map(|m| ((m.end - m.start) / P) as u64)
                .sum();
            prop_assert_eq!((total, data), (listed, listed_data));
        }
    }
}
