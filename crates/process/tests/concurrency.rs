//! Real threads on the host: what clone copies is copied with no table lock
//! held, so a table read on another thread is not held up by a big fork.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use process::clone::CloneArgs;
use process::seams::VmMemory;
use process::testing::{FakeScheduler, boot};
use process::uaccess::UserMemory;
use vm::testing::TestFrames;

const PAGES: usize = 4096;
const BIG: usize = 0x1000_0000;

/// Forks init with `PAGES` resident pages while another thread calls
/// `getppid` in a loop: returns (the fork's duration, the longest getppid).
fn measure() -> (Duration, Duration) {
    let frames = TestFrames::new();
    let table = boot(&frames);
    let vm = table.with_process(1, |p| p.vm().unwrap().clone()).unwrap();
    // MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, PROT_READ | PROT_WRITE.
    assert_eq!(vm.lock().mmap(BIG, PAGES * 4096, 3, 0x32, None, 0), Ok(BIG));
    for i in 0..PAGES {
        VmMemory::<process::testing::TestPlatform>(&vm).write_u32((BIG + i * 4096) as u64, i as u32).unwrap();
    }
    assert_eq!(vm.lock().resident_pages(), PAGES);
    drop(vm);
    let sched = FakeScheduler::new();
    let child = table.clone_task(1, &CloneArgs::fork(), &sched).unwrap();
    table.exit_thread(child, 0, &sched);
    assert_eq!(table.wait4(1, -1, 0, &sched).map(|r| r.0), Ok(child));

    let running = Arc::new(AtomicBool::new(true));
    let started = Arc::new(AtomicBool::new(false));
    let reader = {
        let (table, running, started) = (table.clone(), running.clone(), started.clone());
        std::thread::spawn(move || {
            let mut longest = Duration::ZERO;
            let mut calls = 0u64;
            while running.load(Ordering::SeqCst) || calls < 1000 {
                let t0 = Instant::now();
                assert_eq!(table.getppid(1), Ok(0));
                longest = longest.max(t0.elapsed());
                calls += 1;
                started.store(true, Ordering::SeqCst);
            }
            longest
        })
    };
    while !started.load(Ordering::SeqCst) {
        std::hint::spin_loop();
    }
    let t0 = Instant::now();
    let child = table.clone_task(1, &CloneArgs::fork(), &sched).unwrap();
    let fork = t0.elapsed();
    running.store(false, Ordering::SeqCst);
    let longest = reader.join().unwrap();
    // The child has the parent's pages.
    let cvm = table.with_process(child, |p| p.vm().unwrap().clone()).unwrap();
    assert_eq!(
        VmMemory::<process::testing::TestPlatform>(&cvm).read_u32((BIG + 4095 * 4096) as u64),
        Ok(4095)
    );
    drop(cvm);
    table.exit_thread(child, 0, &sched);
    assert_eq!(table.wait4(1, -1, 0, &sched).map(|r| r.0), Ok(child));
    drop(sched);
    drop(table);
    assert_eq!(frames.allocated(), 0);
    (fork, longest)
}

/// The table is locked only to check the caller and to make the records:
/// the 4096-page copy runs unlocked. A read blocked by the copy would wait
/// for the whole fork; the host's own scheduling noise (2 shared cores) is
/// told apart by taking the best of up to ten runs (a loaded host may
/// preempt the forking thread inside one of its short locked phases).
#[test]
fn getppid_is_not_blocked_by_a_concurrent_4096_page_fork() {
    let mut best = Duration::MAX;
    for _ in 0..10 {
        let (fork, longest) = measure();
        eprintln!("fork of {PAGES} pages: {fork:?}; longest concurrent getppid: {longest:?}");
        best = best.min(longest);
        if best < Duration::from_millis(1) {
            break;
        }
    }
    assert!(best < Duration::from_millis(1), "getppid blocked for {best:?}");
}
