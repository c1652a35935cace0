//! Memory cgroup charges ([`Vmar::set_charge`]): pages that come are
//! charged to the sink set, pages that go are uncharged from the oldest
//! charges first, a fork's shared pages are charged nowhere until a copy
//! on write makes them the child's, and file mappings' pages are told
//! apart.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use vm::abi::*;
use vm::testing::{TestFile, TestFrames, cpu_load, cpu_store, test_vmar};
use vm::{MapFile, MemCharge, PAGE_SIZE};

const P: usize = PAGE_SIZE;

#[derive(Default)]
struct Sink {
    pages: AtomicUsize,
    file: AtomicUsize,
}

impl MemCharge for Sink {
    fn charge(&self, pages: usize, file: usize) {
        self.pages.fetch_add(pages, Ordering::Relaxed);
        self.file.fetch_add(file, Ordering::Relaxed);
    }
    fn uncharge(&self, pages: usize, file: usize) {
        self.pages.fetch_sub(pages, Ordering::Relaxed);
        self.file.fetch_sub(file, Ordering::Relaxed);
    }
}

impl Sink {
    fn get(&self) -> (usize, usize) {
        (self.pages.load(Ordering::Relaxed), self.file.load(Ordering::Relaxed))
    }
}

fn anon(v: &mut vm::testing::TestVmar, pages: usize) -> usize {
    v.mmap(0, pages * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, None, 0).unwrap()
}

#[test]
fn pages_charge_and_uncharge_the_sink() {
    let frames = TestFrames::new();
    let mut v = test_vmar(&frames);
    let a = Arc::new(Sink::default());
    v.set_charge(Some(a.clone()));
    let at = anon(&mut v, 8);
    for i in 0..5 {
        cpu_store(&mut v, at + i * P, &[1]).unwrap();
    }
    assert_eq!(a.get(), (5, 0));
    v.munmap(at, 2 * P).unwrap();
    assert_eq!(a.get(), (3, 0));
    // a file mapping's pages count as file pages
    let f = TestFile::new(&frames, &vec![7u8; 4 * P]);
    let mf = MapFile::new(f.clone(), "f").with_access(true, true);
    let fm = v.mmap(0, 4 * P, PROT_READ, MAP_SHARED, Some(mf), 0).unwrap();
    let mut b = [0u8; 1];
    cpu_load(&mut v, fm, &mut b).unwrap();
    let n = v.resident_file_pages();
    assert!(n >= 1);
    assert_eq!(a.get(), (3 + n, n));
    drop(v);
    assert_eq!(a.get(), (0, 0));
}

#[test]
fn a_move_keeps_old_charges_where_they_were() {
    let frames = TestFrames::new();
    let mut v = test_vmar(&frames);
    let (a, b) = (Arc::new(Sink::default()), Arc::new(Sink::default()));
    v.set_charge(Some(a.clone()));
    let at = anon(&mut v, 8);
    for i in 0..3 {
        cpu_store(&mut v, at + i * P, &[1]).unwrap();
    }
    v.set_charge(Some(b.clone()));
    assert_eq!((a.get(), b.get()), ((3, 0), (0, 0)));
    for i in 3..5 {
        cpu_store(&mut v, at + i * P, &[1]).unwrap();
    }
    assert_eq!((a.get(), b.get()), ((3, 0), (2, 0)));
    // the pages that go are taken from the old charge first
    v.munmap(at, 4 * P).unwrap();
    assert_eq!((a.get(), b.get()), ((0, 0), (1, 0)));
    v.munmap(at + 4 * P, P).unwrap();
    assert_eq!((a.get(), b.get()), ((0, 0), (0, 0)));
    assert_eq!(v.resident_pages(), 0);
}

#[test]
fn a_fork_charges_nothing_until_a_copy() {
    let frames = TestFrames::new();
    let mut parent = test_vmar(&frames);
    let (a, c) = (Arc::new(Sink::default()), Arc::new(Sink::default()));
    parent.set_charge(Some(a.clone()));
    let at = anon(&mut parent, 4);
    for i in 0..4 {
        cpu_store(&mut parent, at + i * P, &[1]).unwrap();
    }
    let mut child = parent.fork().unwrap();
    assert_eq!(child.charge_sink().map(|_| ()), None);
    child.set_charge(Some(c.clone()));
    assert_eq!((a.get(), c.get()), ((4, 0), (0, 0)));
    // the child's write copies the page: the copy is charged to it
    cpu_store(&mut child, at, &[2]).unwrap();
    assert_eq!((a.get(), c.get()), ((4, 0), (1, 0)));
    // a new page too
    let more = anon(&mut child, 1);
    cpu_store(&mut child, more, &[2]).unwrap();
    assert_eq!(c.get(), (2, 0));
    // an exec's fresh space charges nowhere until the kernel names the
    // exec'ing process's group (the old one may be a vfork parent's)
    let fresh = child.fresh().unwrap();
    assert!(fresh.charge_sink().is_none());
    drop(fresh);
    drop(child);
    assert_eq!((a.get(), c.get()), ((4, 0), (0, 0)));
    drop(parent);
    assert_eq!(a.get(), (0, 0));
}

/// review41's finding 3: a vfork child's exec must not carry its parent's
/// group or ownership into the new address space (Linux: the new mm's
/// owner is the exec'ing process, charged to its own memcg).
#[test]
fn an_exec_space_has_no_owner_and_no_sink_of_the_old() {
    let frames = TestFrames::new();
    let mut parent = test_vmar(&frames);
    let a = Arc::new(Sink::default());
    parent.set_charge(Some(a.clone()));
    parent.set_owner(7);
    assert_eq!(parent.owner(), 7);
    // the vfork child execs: a fresh space of the shared one
    let mut fresh = parent.fresh().unwrap();
    assert_eq!(fresh.owner(), 0);
    assert!(fresh.charge_sink().is_none());
    let b = Arc::new(Sink::default());
    fresh.set_owner(8);
    fresh.set_charge(Some(b.clone()));
    let at = anon(&mut fresh, 2);
    cpu_store(&mut fresh, at, &[1]).unwrap();
    assert_eq!((a.get(), b.get()), ((0, 0), (1, 0)));
    // a fork's copy is nobody's until the kernel names the child
    assert_eq!(parent.fork().unwrap().owner(), 0);
}
