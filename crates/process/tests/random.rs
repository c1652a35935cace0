//! Random sequences of clone, exit, exec, wait, group and kill calls never
//! panic, keep the tree consistent, and leave nothing behind.

use std::sync::Arc;

use process::clone::{CloneArgs, CloneFlags as F};
use process::table::{ProcState, ProcessTable};
use process::testing::{FakeScheduler, TestPlatform, USER_BASE, init_process};
use process::wait::ChildStatus;
use proptest::prelude::*;
use vm::testing::TestFrames;

#[derive(Debug, Clone)]
enum Op {
    Fork(usize),
    Thread(usize),
    CloneFlags(usize, u64),
    Exit(usize, i32),
    ExitGroup(usize),
    Wait(usize, i32, u32),
    Setpgid(usize, usize),
    Setsid(usize),
    Kill(usize, i32, i32),
    Exec(usize),
    Write(usize, u64),
    Stop(usize),
    Cont(usize),
    Unshare(usize, u64),
    Tgkill(usize, usize, i32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..64usize).prop_map(Op::Fork),
        (0..64usize).prop_map(Op::Thread),
        (0..64usize, any::<u64>()).prop_map(|(a, b)| Op::CloneFlags(a, b)),
        (0..64usize, any::<i32>()).prop_map(|(a, b)| Op::Exit(a, b)),
        (0..64usize).prop_map(Op::ExitGroup),
        (0..64usize, -3..8i32, any::<u32>()).prop_map(|(a, b, c)| Op::Wait(a, b, c)),
        (0..64usize, 0..64usize).prop_map(|(a, b)| Op::Setpgid(a, b)),
        (0..64usize).prop_map(Op::Setsid),
        (0..64usize, -3..8i32, 0..66i32).prop_map(|(a, b, c)| Op::Kill(a, b, c)),
        (0..64usize).prop_map(Op::Exec),
        (0..64usize, 0..4u64).prop_map(|(a, b)| Op::Write(a, b)),
        (0..64usize).prop_map(Op::Stop),
        (0..64usize).prop_map(Op::Cont),
        (0..64usize, any::<u64>()).prop_map(|(a, b)| Op::Unshare(a, b)),
        (0..64usize, 0..64usize, 0..66i32).prop_map(|(a, b, c)| Op::Tgkill(a, b, c)),
    ]
}

fn threads(t: &ProcessTable<TestPlatform>) -> Vec<u32> {
    let mut v = Vec::new();
    for p in t.pids() {
        if let Some(ts) = t.with_process(p, |x| x.threads().to_vec()) {
            v.extend(ts);
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn random_lives(ops in proptest::collection::vec(op(), 1..120)) {
        let frames = TestFrames::new();
        let t = Arc::new(ProcessTable::<TestPlatform>::new(64));
        t.spawn_init(init_process(&frames)).unwrap();
        let s = FakeScheduler::new();
        for op in ops {
            let live = threads(&t);
            let pick = |i: usize| live[i % live.len()];
            match op {
                Op::Fork(i) => { let _ = t.clone_task(pick(i), &CloneArgs::fork(), &s); }
                Op::Thread(i) => {
                    let f = (F::THREAD | F::SIGHAND | F::VM).bits();
                    let _ = t.clone_task(pick(i), &CloneArgs::from_clone(f, 0, 0, 0, 0), &s);
                }
                Op::CloneFlags(i, f) => {
                    // Random flags, addresses in and out of init's memory.
                    let a = CloneArgs::from_clone(f, 0, USER_BASE as u64, USER_BASE as u64 + 4, 0);
                    let _ = t.clone_task(pick(i), &a, &s);
                }
                Op::Exit(i, c) => { let x = pick(i); if x != 1 { t.exit_thread(x, c, &s); } }
                Op::ExitGroup(i) => { let x = pick(i); if x != 1 { t.exit_group(x, ChildStatus::exited(1), &s); } }
                Op::Wait(i, p, o) => { let _ = t.wait4(pick(i), p, o | 1, &s); }
                Op::Setpgid(i, j) => { let _ = t.setpgid(pick(i), pick(j) as i32, 0); }
                Op::Setsid(i) => { let _ = t.setsid(pick(i)); }
                Op::Kill(i, p, sig) => { let _ = t.kill(pick(i), p, sig, &s); }
                Op::Exec(i) => { let x = pick(i); if x != 1 { let _ = t.exec(x, vm::testing::test_vmar(&frames), &s); } }
                Op::Write(i, page) => {
                    let x = pick(i);
                    if let Some(pid) = t.tgid(x)
                        && let Some(vm) = t.with_process(pid, |p| p.vm().cloned()).flatten() {
                            let _ = vm.lock().write_val(USER_BASE + page as usize * 4096, x);
                        }
                }
                Op::Stop(i) => { if let Some(p) = t.tgid(pick(i)) && p != 1 { let _ = t.stop(p, 19, &s); } }
                Op::Unshare(i, f) => {
                    let _ = t.unshare(pick(i), f & 0x7fff_ff00);
                }
                Op::Tgkill(i, j, sig) => {
                    let _ = t.tgkill(pick(i), None, pick(j) as i32, sig, &s);
                }
                Op::Cont(i) => { if let Some(p) = t.tgid(pick(i)) { let _ = t.cont(p, &s); } }
            }
            // Invariants: every process's threads exist and point back;
            // every child names its parent.
            for p in t.pids() {
                let (ts, kids, state) = t.with_process(p, |x| (x.threads().to_vec(), x.children().to_vec(), x.state())).unwrap();
                for th in &ts { prop_assert_eq!(t.tgid(*th), Some(p)); }
                prop_assert_eq!(ts.is_empty(), state == ProcState::Zombie);
                for k in kids { prop_assert_eq!(t.with_process(k, |x| x.parent()), Some(p)); }
                prop_assert!(t.pid_in_use(p));
            }
            prop_assert!(t.pids().contains(&1));
        }
        if std::env::var_os("RANDOM_LIVES_DEBUG").is_some() {
            eprintln!("pids {:?} threads {}", t.pids(), t.thread_count());
        }
        // Everyone but init dies; init reaps all.
        for _ in 0..200 {
            let rest: Vec<u32> = threads(&t).into_iter().filter(|&x| x != 1).collect();
            if rest.is_empty() { break; }
            for x in rest { t.exit_thread(x, 0, &s); }
        }
        while t.wait4(1, -1, 0x4000_0000 | 1, &s).map(|r| r.0).unwrap_or(0) != 0 {}
        prop_assert_eq!(t.pids(), vec![1]);
        prop_assert_eq!(t.thread_count(), 1);
        prop_assert_eq!(t.pids_in_use(), 1);
        drop(s);
        drop(t);
        prop_assert_eq!(frames.allocated(), 0);
    }
}

/// Found by `random_lives`: a PID namespace's init whose group died (a
/// zombie its parent has not reaped) must not adopt the orphans of the
/// namespace's other processes, which would then never be reaped; the init
/// above adopts them.
#[test]
fn dead_namespace_init_adopts_nobody() {
    let frames = TestFrames::new();
    let t = Arc::new(ProcessTable::<TestPlatform>::new(64));
    t.spawn_init(init_process(&frames)).unwrap();
    let s = FakeScheduler::new();
    let a = t.clone_task(1, &CloneArgs::fork(), &s).unwrap();
    // a's child b is a new namespace's init, sharing a's memory
    let f = (F::VM | F::FS | F::FILES | F::SIGHAND | F::NEWPID).bits();
    let b = t.clone_task(a, &CloneArgs::from_clone(f, 0, 0, 0, 0), &s).unwrap();
    let c = t.clone_task(b, &CloneArgs::fork(), &s).unwrap();
    let d = t.clone_task(c, &CloneArgs::fork(), &s).unwrap();
    for x in [a, b, c, d] {
        t.exit_thread(x, 0, &s);
    }
    while t.wait4(1, -1, 0x4000_0000 | 1, &s).map(|r| r.0).unwrap_or(0) != 0 {}
    assert_eq!(t.pids(), vec![1]);
    drop(s);
    drop(t);
    assert_eq!(frames.allocated(), 0);
}
