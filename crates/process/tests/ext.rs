//! The kernel's slots in the records (`Platform::ThreadExt` and
//! `ProcessExt`): made at clone from the creator's, moved with the thread
//! when exec changes its id, reset by exec, handed to `thread_exited`, and
//! never dropped under the table lock.

use std::sync::Arc;

use linux_abi::Errno;
use process::clone::{CloneArgs, CloneFlags as F};
use process::table::ProcessTable;
use process::testing::{ExtLog, FakeScheduler, TestPlatform, boot};
use process::wait::ChildStatus;
use vm::testing::TestFrames;

const THREAD: u64 = F::THREAD.bits() | F::SIGHAND.bits() | F::VM.bits() | F::FILES.bits() | F::FS.bits();

struct World {
    _frames: TestFrames,
    t: Arc<ProcessTable<TestPlatform>>,
    s: FakeScheduler,
    /// What init's thread slot and its copies share.
    threads: Arc<ExtLog>,
    /// What init's process slot and its copies share.
    procs: Arc<ExtLog>,
}

/// A table whose init's slots carry tags 10 (thread) and 20 (process) and
/// logs that watch the table lock.
fn world() -> World {
    let frames = TestFrames::new();
    let t = boot(&frames);
    let threads = Arc::new(ExtLog::default());
    let procs = Arc::new(ExtLog::default());
    threads.watch(&t);
    procs.watch(&t);
    t.with_thread(1, |th| {
        th.ext_mut().tag = 10;
        th.ext_mut().log = Some(threads.clone());
    });
    t.with_process(1, |p| {
        p.ext_mut().tag = 20;
        p.ext_mut().log = Some(procs.clone());
    });
    let s = FakeScheduler::new();
    s.attach(&t);
    World { _frames: frames, t, s, threads, procs }
}

impl World {
    fn clone(&self, caller: u32, flags: u64) -> Result<u32, Errno> {
        self.t.clone_task(caller, &CloneArgs::from_clone(flags, 0, 0, 0, 0), &self.s)
    }
    fn thread_ext(&self, tid: u32) -> Option<(u32, Option<F>, u32)> {
        self.t.with_thread(tid, |t| (t.ext().tag, t.ext().made_by, t.ext().execs))
    }
    fn process_ext(&self, pid: u32) -> Option<(u32, Option<F>, u32)> {
        self.t.with_process(pid, |p| (p.ext().tag, p.ext().made_by, p.ext().execs))
    }
    fn reap(&self, pid: u32) {
        assert_eq!(self.t.wait4(1, pid as i32, 0x4000_0000, &self.s).map(|r| r.0), Ok(pid));
    }
}

#[test]
fn init_gets_default_slots() {
    let frames = TestFrames::new();
    let t = boot(&frames);
    assert_eq!(t.with_thread(1, |th| (th.ext().tag, th.ext().made_by, th.ext().execs)), Some((0, None, 0)));
    assert_eq!(t.with_process(1, |p| (p.ext().tag, p.ext().made_by, p.ext().execs)), Some((0, None, 0)));
}

#[test]
fn fork_copies_both_slots_from_the_creator() {
    let w = world();
    let c = w.clone(1, 17).unwrap();
    assert_eq!(w.thread_ext(c), Some((10, Some(F::empty()), 0)));
    assert_eq!(w.process_ext(c), Some((20, Some(F::empty()), 0)));
    // the creator's are untouched
    assert_eq!(w.thread_ext(1), Some((10, None, 0)));
    assert_eq!(w.process_ext(1), Some((20, None, 0)));
}

#[test]
fn a_child_copies_its_own_creator_not_init() {
    let w = world();
    let c = w.clone(1, 17).unwrap();
    w.t.with_thread(c, |t| t.ext_mut().tag = 11);
    w.t.with_process(c, |p| p.ext_mut().tag = 21);
    let g = w.clone(c, 17).unwrap();
    assert_eq!(w.thread_ext(g).map(|x| x.0), Some(11));
    assert_eq!(w.process_ext(g).map(|x| x.0), Some(21));
}

#[test]
fn clone_thread_makes_a_thread_slot_and_no_process_slot() {
    let w = world();
    let before = w.procs.drops();
    let t2 = w.clone(1, THREAD).unwrap();
    let flags = F::from_bits_truncate(THREAD);
    assert_eq!(w.thread_ext(t2), Some((10, Some(flags), 0)));
    // the process is the same record: its slot was not cloned
    assert_eq!(w.t.tgid(t2), Some(1));
    assert_eq!(w.process_ext(1), Some((20, None, 0)));
    assert_eq!(w.procs.drops(), before);
}

#[test]
fn the_slot_sees_the_clone_flags() {
    let w = world();
    let v = w.clone(1, (F::VM | F::VFORK).bits() | 17);
    // no step: the fake scheduler gives up waiting for the vfork child
    let v = v.unwrap();
    assert_eq!(w.thread_ext(v).map(|x| x.1), Some(Some(F::VM | F::VFORK)));
    assert_eq!(w.process_ext(v).map(|x| x.1), Some(Some(F::VM | F::VFORK)));
}

#[test]
fn thread_exit_hands_the_thread_slot_to_the_hook() {
    let w = world();
    let t2 = w.clone(1, THREAD).unwrap();
    w.t.with_thread(t2, |t| t.ext_mut().tag = 12);
    let drops = w.threads.drops();
    w.t.exit_thread(t2, 0, &w.s);
    assert_eq!(w.s.take_exited_ext(), [(t2, 12, Some(F::from_bits_truncate(THREAD)))]);
    assert_eq!(w.thread_ext(t2), None);
    // dropped once (by the hook), not under the lock
    assert_eq!(w.threads.drops(), drops + 1);
    assert_eq!(w.threads.drops_locked(), 0);
}

#[test]
fn the_process_slot_lives_until_the_zombie_is_reaped() {
    let w = world();
    let c = w.clone(1, 17).unwrap();
    let drops = w.procs.drops();
    w.t.exit_thread(c, 3, &w.s);
    // a zombie keeps its record and its slot
    assert_eq!(w.process_ext(c).map(|x| x.0), Some(20));
    assert_eq!(w.procs.drops(), drops);
    w.reap(c);
    assert_eq!(w.process_ext(c), None);
    assert_eq!(w.procs.drops(), drops + 1);
    assert_eq!(w.procs.drops_locked(), 0);
    assert_eq!(w.threads.drops_locked(), 0);
}

#[test]
fn exit_group_hands_every_thread_slot_over_once() {
    let w = world();
    let c = w.clone(1, 17).unwrap();
    let t2 = w.clone(c, THREAD).unwrap();
    let t3 = w.clone(c, THREAD).unwrap();
    w.s.take_exited_ext();
    let drops = w.threads.drops();
    w.t.exit_group(c, ChildStatus::exited(0), &w.s);
    // the others were told to die: each exits in turn
    assert_eq!(w.t.threads_to_kill(), [t2, t3]);
    w.t.exit_thread(t2, 0, &w.s);
    w.t.exit_thread(t3, 0, &w.s);
    let mut got: Vec<u32> = w.s.take_exited_ext().into_iter().map(|x| x.0).collect();
    got.sort_unstable();
    assert_eq!(got, [c, t2, t3]);
    assert_eq!(w.threads.drops(), drops + 3);
    w.reap(c);
    assert_eq!(w.threads.drops_locked() + w.procs.drops_locked(), 0);
}

#[test]
fn exec_from_a_thread_moves_its_slot_to_the_leaders_id() {
    let frames = TestFrames::new();
    let w = world();
    let c = w.clone(1, 17).unwrap();
    let t2 = w.clone(c, THREAD).unwrap();
    let t3 = w.clone(c, THREAD).unwrap();
    w.t.with_thread(c, |t| t.ext_mut().tag = 30);
    w.t.with_thread(t2, |t| t.ext_mut().tag = 32);
    w.t.with_thread(t3, |t| t.ext_mut().tag = 33);
    w.s.take_exited_ext();
    let drops = w.threads.drops();
    assert_eq!(w.t.exec(t2, vm::testing::test_vmar(&frames), &w.s), Ok(c));
    // the caller's own slot, now under the leader's id, went through exec
    assert_eq!(w.thread_ext(c).map(|x| (x.0, x.2)), Some((32, 1)));
    assert_eq!(w.thread_ext(t2), None);
    // the leader's and the other thread's slots went to the hook
    let mut gone = w.s.take_exited_ext();
    gone.sort_unstable_by_key(|x| x.0);
    assert_eq!(gone.iter().map(|x| (x.0, x.1)).collect::<Vec<_>>(), [(c, 30), (t3, 33)]);
    assert_eq!(w.threads.drops(), drops + 2);
    // one process record: its slot went through exec once
    assert_eq!(w.process_ext(c).map(|x| (x.0, x.2)), Some((20, 1)));
    assert_eq!(w.threads.drops_locked() + w.procs.drops_locked(), 0);
}

#[test]
fn exec_from_the_leader_keeps_its_slot() {
    let frames = TestFrames::new();
    let w = world();
    let c = w.clone(1, 17).unwrap();
    w.t.with_thread(c, |t| t.ext_mut().tag = 40);
    assert_eq!(w.t.exec(c, vm::testing::test_vmar(&frames), &w.s), Ok(c));
    assert_eq!(w.thread_ext(c), Some((40, Some(F::empty()), 1)));
    assert_eq!(w.process_ext(c), Some((20, Some(F::empty()), 1)));
    assert_eq!(w.s.take_exited_ext(), []);
}

#[test]
fn a_failing_process_slot_fails_the_clone_without_a_trace() {
    let w = world();
    w.t.with_process(1, |p| p.ext_mut().fail_clone = Some(Errno::ENOMEM));
    let (pids, threads, used) = (w.t.pids(), w.t.thread_count(), w.t.pids_in_use());
    let drops = w.threads.drops();
    assert_eq!(w.clone(1, 17), Err(Errno::ENOMEM));
    assert_eq!((w.t.pids(), w.t.thread_count(), w.t.pids_in_use()), (pids, threads, used));
    // no thread slot was made for it
    assert_eq!(w.threads.drops(), drops);
    assert!(w.s.events().is_empty());
    // a thread needs no process slot: CLONE_THREAD still works
    let t2 = w.clone(1, THREAD).unwrap();
    assert_eq!(w.t.tgid(t2), Some(1));
}

#[test]
fn a_failing_context_copy_fails_the_clone_with_enomem_without_a_trace() {
    let w = world();
    w.t.with_thread(1, |t| t.context_mut().fail_clone = true);
    let (pids, threads, used) = (w.t.pids(), w.t.thread_count(), w.t.pids_in_use());
    let (tdrops, pdrops) = (w.threads.drops(), w.procs.drops());
    assert_eq!(w.clone(1, 17), Err(Errno::ENOMEM));
    assert_eq!(w.clone(1, THREAD), Err(Errno::ENOMEM));
    assert_eq!((w.t.pids(), w.t.thread_count(), w.t.pids_in_use()), (pids, threads, used));
    // no slot was made for either
    assert_eq!((w.threads.drops(), w.procs.drops()), (tdrops, pdrops));
    assert!(w.s.events().is_empty());
    w.t.with_thread(1, |t| t.context_mut().fail_clone = false);
    let c = w.clone(1, 17).unwrap();
    assert_eq!(w.t.tgid(c), Some(c));
}

#[test]
fn a_failing_thread_slot_fails_the_clone_and_drops_the_process_slot_unlocked() {
    let w = world();
    w.t.with_thread(1, |t| t.ext_mut().fail_clone = Some(Errno::EAGAIN));
    let (pids, used) = (w.t.pids(), w.t.pids_in_use());
    let drops = w.procs.drops();
    assert_eq!(w.clone(1, 17), Err(Errno::EAGAIN));
    assert_eq!(w.clone(1, THREAD), Err(Errno::EAGAIN));
    assert_eq!((w.t.pids(), w.t.thread_count(), w.t.pids_in_use()), (pids, 1, used));
    // the fork's process slot was made, then dropped after the lock
    assert_eq!(w.procs.drops(), drops + 1);
    assert_eq!(w.procs.drops_locked(), 0);
    assert!(w.s.events().is_empty());
}

#[test]
fn a_clone_failing_after_its_slots_drops_them_unlocked() {
    let w = world();
    // pid_max reached: alloc_pid() fails after the slots were made
    let frames = TestFrames::new();
    let small = Arc::new(ProcessTable::<TestPlatform>::new(3));
    let _ = small.spawn_init(process::testing::init_process(&frames));
    let log = Arc::new(ExtLog::default());
    log.watch(&small);
    small.with_thread(1, |t| t.ext_mut().log = Some(log.clone()));
    small.with_process(1, |p| p.ext_mut().log = Some(log.clone()));
    let s = FakeScheduler::new();
    let a = small.clone_task(1, &CloneArgs::fork(), &s).unwrap();
    assert_eq!(small.clone_task(1, &CloneArgs::fork(), &s), Err(Errno::EAGAIN));
    // the failed clone's two slots were dropped, after the lock
    assert_eq!(log.drops(), 2);
    assert_eq!(log.drops_locked(), 0);
    assert_eq!(small.pids(), [1, a]);
    drop(w);
}

#[test]
fn vfork_parent_is_visible_until_the_child_releases_the_memory() {
    let frames = TestFrames::new();
    let w = world();
    let t = w.t.clone();
    let f2 = frames.clone();
    w.s.then(move |s| {
        // the child runs while its parent waits: it still owes the release
        let child = t.pids().into_iter().max().unwrap();
        assert_eq!(t.with_thread(child, |x| x.vfork_parent()), Some(Some(1)));
        assert_eq!(t.exec(child, vm::testing::test_vmar(&f2), s), Ok(child));
        assert_eq!(t.with_thread(child, |x| x.vfork_parent()), Some(None));
    });
    let v = w.clone(1, (F::VM | F::VFORK).bits() | 17).unwrap();
    assert_eq!(w.t.with_thread(v, |x| x.vfork_parent()), Some(None));
    // a fork child owes nothing
    let c = w.clone(1, 17).unwrap();
    assert_eq!(w.t.with_thread(c, |x| x.vfork_parent()), Some(None));
}

#[test]
fn dropping_the_table_drops_every_slot_once() {
    let w = world();
    let c = w.clone(1, 17).unwrap();
    let _t = w.clone(c, THREAD).unwrap();
    let (threads, procs) = (w.threads.clone(), w.procs.clone());
    drop(w);
    // init and c (process), init, c and the thread (thread)
    assert_eq!((threads.drops(), procs.drops()), (3, 2));
    assert_eq!(threads.drops_locked() + procs.drops_locked(), 0);
}
