//! Lowest-free allocation and close with 10, 10,000 and 1,000,000 open
//! descriptors. `cargo bench -p kernabi-fs-table`; prints nanoseconds per operation.
//!
//! A plain `main` (no criterion): each case repeats an allocate/close pair on
//! a table already holding `n` descriptors, so the lowest free number is `n`
//! (after the run) or a hole in the middle (`hole`), and reports the mean.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fs_table::{FileTable, NR_OPEN};

const NOFILE: u64 = NR_OPEN as u64;

fn table(n: u32, file: &Arc<u32>) -> FileTable<u32> {
    let mut t = FileTable::new();
    for _ in 0..n {
        t.insert(file.clone(), false, NOFILE).expect("fill");
    }
    t
}

/// Runs `pair` (one allocation and one close) in rounds until about
/// `budget` has passed; returns nanoseconds per pair.
fn measure(budget: Duration, mut pair: impl FnMut()) -> f64 {
    for _ in 0..10_000 {
        pair();
    }
    let mut pairs: u64 = 0;
    let start = Instant::now();
    loop {
        for _ in 0..10_000 {
            pair();
        }
        pairs += 10_000;
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return elapsed.as_nanos() as f64 / pairs as f64;
        }
    }
}

fn main() {
    let budget = Duration::from_millis(400);
    let file = Arc::new(0u32);
    println!(
        "{:>10}  {:>28}  {:>28}  {:>28}",
        "open fds", "insert+close at end (ns)", "insert+close hole (ns)", "dup+close (ns)"
    );
    for n in [10u32, 10_000, 1_000_000] {
        let mut t = table(n, &file);
        let at_end = measure(budget, || {
            let fd = t.insert(black_box(file.clone()), false, NOFILE).expect("insert");
            black_box(t.close(black_box(fd)).expect("close"));
        });

        // A hole in the middle: the lowest free number is n / 2.
        let hole = n / 2;
        drop(t.close(hole).expect("hole"));
        let in_hole = measure(budget, || {
            let fd = t.insert(black_box(file.clone()), false, NOFILE).expect("insert");
            assert_eq!(fd, hole);
            black_box(t.close(black_box(fd)).expect("close"));
        });
        t.insert(file.clone(), false, NOFILE).expect("refill");

        let dup = measure(budget, || {
            let fd = t.dup(black_box(0), NOFILE).expect("dup");
            black_box(t.close(black_box(fd)).expect("close"));
        });
        println!(
            "{n:>10}  {:>14.1} ({:>5.1}/op)  {:>14.1} ({:>5.1}/op)  {:>14.1} ({:>5.1}/op)",
            at_end,
            at_end / 2.0,
            in_hole,
            in_hole / 2.0,
            dup,
            dup / 2.0
        );
    }
}
