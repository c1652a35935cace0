//! Property test: random mmap/munmap/mprotect/write/read/fork/exit sequences
//! against a reference model of every page's contents and permissions.

use std::collections::{BTreeMap, HashMap};

use linux_abi::Errno;
use proptest::prelude::*;
use vm::abi::*;
use vm::testing::{SoftPageTable, TestFrames, cpu_store};
use vm::{FrameRefs, PAGE_SIZE, Prot, RefcountedFrames, Vmar, VmarConfig};

const P: usize = PAGE_SIZE;
/// The window of address space the test uses (placement is confined to it).
const BASE: usize = 0x10_0000;
const PAGES: usize = 24;

fn addr(page: usize) -> usize {
    BASE + page * P
}

/// Where a page's bytes live in the model.
#[derive(Clone, Debug)]
enum Data {
    /// Private bytes (`None` while all zero).
    Private(Option<Vec<u8>>),
    /// Page `1` of shared object `0`.
    Shared(usize, usize),
}

#[derive(Clone, Debug)]
struct PageModel {
    prot: Prot,
    data: Data,
}

#[derive(Default)]
struct Model {
    spaces: Vec<BTreeMap<usize, PageModel>>,
    shared: HashMap<(usize, usize), Vec<u8>>,
    next_object: usize,
}

impl Model {
    fn byte(&self, space: usize, a: usize) -> Option<u8> {
        let page = (a - BASE) / P;
        let pm = self.spaces[space].get(&page)?;
        let off = a % P;
        Some(match &pm.data {
            Data::Private(None) => 0,
            Data::Private(Some(bytes)) => bytes[off],
            Data::Shared(o, i) => self.shared.get(&(*o, *i)).map_or(0, |b| b[off]),
        })
    }

    fn set_byte(&mut self, space: usize, a: usize, value: u8) {
        let page = (a - BASE) / P;
        let off = a % P;
        let Some(pm) = self.spaces[space].get_mut(&page) else { return };
        match &mut pm.data {
            Data::Private(bytes) => bytes.get_or_insert_with(|| vec![0; P])[off] = value,
            Data::Shared(o, i) => self.shared.entry((*o, *i)).or_insert_with(|| vec![0; P])[off] = value,
        }
    }

    fn prot(&self, space: usize, a: usize) -> Option<Prot> {
        if a < BASE || a >= addr(PAGES) {
            return None;
        }
        self.spaces[space].get(&((a - BASE) / P)).map(|p| p.prot)
    }
}

#[derive(Clone, Debug)]
enum Op {
    Mmap { space: usize, page: usize, pages: usize, prot: u8, shared: bool, placement: u8 },
    Munmap { space: usize, page: usize, pages: usize },
    Mprotect { space: usize, page: usize, pages: usize, prot: u8 },
    Write { space: usize, page: usize, offset: usize, len: usize, value: u8, cpu: bool },
    Read { space: usize, page: usize, offset: usize, len: usize },
    Fork { space: usize },
    Exit { space: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let space = 0usize..8;
    let page = 0usize..PAGES + 2;
    let pages = 1usize..8;
    prop_oneof![
        3 => (space.clone(), page.clone(), pages.clone(), 0u8..8, any::<bool>(), 0u8..3).prop_map(
            |(space, page, pages, prot, shared, placement)| Op::Mmap { space, page, pages, prot, shared, placement }
        ),
        2 => (space.clone(), page.clone(), pages.clone())
            .prop_map(|(space, page, pages)| Op::Munmap { space, page, pages }),
        3 => (space.clone(), page.clone(), pages.clone(), 0u8..8)
            .prop_map(|(space, page, pages, prot)| Op::Mprotect { space, page, pages, prot }),
        5 => (space.clone(), page.clone(), prop_oneof![0usize..64, (P - 40)..P], 1usize..100, any::<u8>(), any::<bool>())
            .prop_map(|(space, page, offset, len, value, cpu)| Op::Write { space, page, offset, len, value, cpu }),
        3 => (space.clone(), page.clone(), prop_oneof![0usize..64, (P - 40)..P], 1usize..100)
            .prop_map(|(space, page, offset, len)| Op::Read { space, page, offset, len }),
        2 => space.clone().prop_map(|space| Op::Fork { space }),
        1 => space.prop_map(|space| Op::Exit { space }),
    ]
}

fn new_space<A: FrameRefs + Clone + 'static>(frames: &A) -> Vmar<SoftPageTable, A> {
    let config = VmarConfig::new(BASE, addr(PAGES), addr(PAGES));
    Vmar::with_config(SoftPageTable::new(), frames.clone(), config)
}

/// Runs `ops` over address spaces allocating from `frames`, which
/// allocates from `memory` (itself, or a `RefcountedFrames` around it).
fn run<A: FrameRefs + Clone + 'static>(
    ops: Vec<Op>,
    frames: A,
    memory: &TestFrames,
) -> Result<(), TestCaseError> {
    let mut spaces = vec![new_space(&frames)];
    let mut model = Model { spaces: vec![BTreeMap::new()], ..Model::default() };

    for op in ops {
        match op {
            Op::Mmap { space, page, pages, prot, shared, placement } => {
                let s = space % spaces.len();
                let prot_bits = Prot::from_linux(prot as usize);
                let flags = if shared { MAP_SHARED } else { MAP_PRIVATE } | MAP_ANONYMOUS;
                let flags = flags
                    | match placement {
                        0 => 0,
                        1 => MAP_FIXED,
                        _ => MAP_FIXED_NOREPLACE,
                    };
                let hint = if placement == 0 && page % 3 == 0 { 0 } else { addr(page) };
                let got = spaces[s].mmap(hint, pages * P, prot as usize, flags, None, 0);
                let in_window = page + pages <= PAGES;
                let free =
                    |m: &Model, first: usize| (first..first + pages).all(|p| !m.spaces[s].contains_key(&p));
                let start = match placement {
                    0 => {
                        let any_gap = (0..=PAGES.saturating_sub(pages)).any(|f| free(&model, f));
                        if !any_gap {
                            prop_assert_eq!(got, Err(Errno::ENOMEM));
                            continue;
                        }
                        let a = got.map_err(|e| TestCaseError::fail(format!("mmap: {e}")))?;
                        prop_assert!(a >= BASE && a + pages * P <= addr(PAGES) && a % P == 0);
                        let first = (a - BASE) / P;
                        prop_assert!(free(&model, first), "placed over a mapping");
                        if hint != 0 && in_window && free(&model, page) {
                            prop_assert_eq!(first, page, "a free hint is used");
                        }
                        first
                    }
                    _ if !in_window => {
                        prop_assert_eq!(got, Err(Errno::ENOMEM));
                        continue;
                    }
                    2 if !free(&model, page) => {
                        prop_assert_eq!(got, Err(Errno::EEXIST));
                        continue;
                    }
                    _ => {
                        prop_assert_eq!(got, Ok(addr(page)));
                        page
                    }
                };
                let object = model.next_object;
                model.next_object += 1;
                for i in 0..pages {
                    let data = if shared { Data::Shared(object, i) } else { Data::Private(None) };
                    model.spaces[s].insert(start + i, PageModel { prot: prot_bits, data });
                }
            }
            Op::Munmap { space, page, pages } => {
                let s = space % spaces.len();
                let got = spaces[s].munmap(addr(page), pages * P);
                if page + pages > PAGES {
                    // munmap(2) EINVAL: the range goes past the user limit.
                    prop_assert_eq!(got, Err(Errno::EINVAL));
                    continue;
                }
                prop_assert_eq!(got, Ok(()));
                for p in page..page + pages {
                    model.spaces[s].remove(&p);
                }
            }
            Op::Mprotect { space, page, pages, prot } => {
                let s = space % spaces.len();
                let got = spaces[s].mprotect(addr(page), pages * P, prot as usize);
                let mut expect = Ok(());
                for p in page..page + pages {
                    match model.spaces[s].get_mut(&p) {
                        Some(pm) => pm.prot = Prot::from_linux(prot as usize),
                        None => {
                            expect = Err(Errno::ENOMEM);
                            break;
                        }
                    }
                }
                prop_assert_eq!(got, expect);
            }
            Op::Write { space, page, offset, len, value, cpu } => {
                let s = space % spaces.len();
                let a = addr(page) + offset;
                let data: Vec<u8> = (0..len).map(|i| value.wrapping_add(i as u8)).collect();
                let got = if cpu {
                    cpu_store(&mut spaces[s], a, &data).map_err(|_| Errno::EFAULT)
                } else {
                    spaces[s].write_user(a, &data)
                };
                let mut expect = Ok(());
                for (i, &b) in data.iter().enumerate() {
                    if !model.prot(s, a + i).is_some_and(|p| p.contains(Prot::WRITE)) {
                        expect = Err(Errno::EFAULT);
                        break;
                    }
                    model.set_byte(s, a + i, b);
                }
                prop_assert_eq!(got, expect);
            }
            Op::Read { space, page, offset, len } => {
                let s = space % spaces.len();
                let a = addr(page) + offset;
                let mut buf = vec![0u8; len];
                let got = spaces[s].read_user(a, &mut buf);
                let readable = (0..len).all(|i| model.prot(s, a + i).is_some_and(|p| !p.is_empty()));
                if readable {
                    prop_assert_eq!(got, Ok(()));
                    let want: Vec<u8> = (0..len).map(|i| model.byte(s, a + i).unwrap_or(0)).collect();
                    prop_assert_eq!(buf, want);
                } else {
                    prop_assert_eq!(got, Err(Errno::EFAULT));
                }
            }
            Op::Fork { space } => {
                let s = space % spaces.len();
                let child = spaces[s].fork().map_err(|e| TestCaseError::fail(format!("fork: {e}")))?;
                spaces.push(child);
                let copy = model.spaces[s].clone();
                model.spaces.push(copy);
            }
            Op::Exit { space } => {
                if spaces.len() > 1 {
                    let s = space % spaces.len();
                    spaces.remove(s);
                    model.spaces.remove(s);
                }
            }
        }
        // Permissions of every page, and the counters, after every step.
        for (s, v) in spaces.iter().enumerate() {
            for p in 0..PAGES {
                let got = v.mapping_at(addr(p)).map(|m| m.prot);
                prop_assert_eq!(got, model.prot(s, addr(p)), "space {} page {}", s, p);
            }
            prop_assert_eq!(v.resident_pages(), v.page_table().len());
            prop_assert!(v.hiwater_pages() >= v.resident_pages());
            prop_assert!(!v.page_table().needs_flush());
            // Mappings are ordered, disjoint and inside the window.
            let maps: Vec<_> = v.mappings().collect();
            for w in maps.windows(2) {
                prop_assert!(w[0].end <= w[1].start);
            }
        }
    }
    // Every readable byte of every space, at the end.
    for (s, v) in spaces.iter_mut().enumerate() {
        for p in 0..PAGES {
            let a = addr(p);
            let mut buf = vec![0u8; P];
            match model.prot(s, a) {
                Some(prot) if !prot.is_empty() => {
                    prop_assert_eq!(v.read_user(a, &mut buf), Ok(()));
                    let want: Vec<u8> = (0..P).map(|i| model.byte(s, a + i).unwrap_or(0)).collect();
                    prop_assert!(buf == want, "contents of space {} page {}", s, p);
                }
                _ => prop_assert_eq!(v.read_user(a, &mut buf), Err(Errno::EFAULT)),
            }
        }
    }
    drop(spaces);
    prop_assert_eq!(memory.allocated(), 0, "no frame leaked");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn address_spaces_match_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        let memory = TestFrames::new();
        run(ops, memory.clone(), &memory)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    /// The same with the reference counts kept by `vm` over an allocator
    /// that only allocates and frees.
    #[test]
    fn address_spaces_match_the_model_with_counts_kept_by_vm(ops in proptest::collection::vec(op(), 1..80)) {
        let memory = TestFrames::new();
        run(ops, RefcountedFrames::new(memory.clone()), &memory)?;
    }
}
