//! Fork cost over the software MMU: time per fork and per present page.
//!
//! `cargo bench -p kernabi-vm --all-features`. Cases: 1, 1,000 and 100,000 present
//! pages, and a 1 GiB mapping with one present page (which must cost the
//! same as one present page: fork walks present pages, not mappings).

use std::hint::black_box;
use std::time::{Duration, Instant};

use vm::abi::*;
use vm::testing::{TestFrames, TestVmar, test_vmar};
use vm::{Access, FaultOutcome, PAGE_SIZE};

const RW: usize = PROT_READ | PROT_WRITE;
const PRIV_ANON: usize = MAP_PRIVATE | MAP_ANONYMOUS;

/// Makes every present page writable again (the state a running parent is
/// in), so that each timed fork has to write-protect all of them.
fn make_writable(v: &mut TestVmar, addr: usize, pages: &[usize]) {
    for &i in pages {
        let outcome = v.handle_page_fault(addr + i * PAGE_SIZE, Access::Write);
        assert_eq!(outcome, FaultOutcome::Resolved);
    }
}

fn case(name: &str, mapping_bytes: usize, present: &[usize]) {
    let frames = TestFrames::new();
    let mut parent = test_vmar(&frames);
    let addr = parent.mmap(0, mapping_bytes, RW, PRIV_ANON, None, 0).expect("mmap");
    // A read fault maps a zero frame (the software frames store no bytes for
    // it, so 100,000 pages stay cheap on the host).
    for &i in present {
        assert_eq!(parent.handle_page_fault(addr + i * PAGE_SIZE, Access::Read), FaultOutcome::Resolved);
    }
    assert_eq!(parent.resident_pages(), present.len());

    let n = present.len();
    let iterations = (2_000_000 / n.max(1)).clamp(5, 20_000);
    let mut fork_times = Vec::with_capacity(iterations);
    let mut exit_times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        let child = black_box(parent.fork().expect("fork"));
        fork_times.push(start.elapsed());
        let start = Instant::now();
        drop(black_box(child));
        exit_times.push(start.elapsed());
        make_writable(&mut parent, addr, present);
    }
    fork_times.sort();
    exit_times.sort();
    let median = |t: &[Duration]| t[t.len() / 2].as_nanos() as f64;
    let (fork, exit) = (median(&fork_times), median(&exit_times));
    println!(
        "{name:<38} fork {:>12.0} ns  ({:>6.1} ns/present page)   drop child {:>12.0} ns  ({} runs)",
        fork,
        fork / n as f64,
        exit,
        iterations
    );
    drop(parent);
    assert_eq!(frames.allocated(), 0);
}

fn main() {
    println!("fork of a private anonymous mapping (median of runs, software MMU)");
    case("1 present page (4 KiB mapping)", PAGE_SIZE, &[0]);
    let thousand: Vec<usize> = (0..1_000).collect();
    case("1,000 present pages", 1_000 * PAGE_SIZE, &thousand);
    let hundred_k: Vec<usize> = (0..100_000).collect();
    case("100,000 present pages", 100_000 * PAGE_SIZE, &hundred_k);
    case("1 GiB mapping, 1 present page", 1 << 30, &[131_072]);
}
