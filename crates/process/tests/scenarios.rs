//! End to end: clone, exit, wait, groups, exec, driven through the fake
//! scheduler. Every test ends with `finish`: only init is left in the
//! table and, once the table is dropped, no frame is allocated.

use std::sync::Arc;

use linux_abi::Errno;
use process::clone::{CloneArgs, CloneFlags as F, SIGCHLD};
use process::seams::VmMemory;
use process::table::{ProcState, ProcessTable};
use process::testing::{Event, FakeScheduler, TestPlatform, USER_BASE, boot, init_process};
use process::uaccess::UserMemory;
use process::wait::{
    CLD_CONTINUED, CLD_EXITED, CLD_STOPPED, ChildStatus, P_ALL, P_PGID, P_PID, P_PIDFD, WaitOptions as W,
};
use signal::{SIGCHLD as SIGCHLD_NUM, SIGCONT, SIGHUP, SIGKILL, SIGUSR1, SaFlags, SigAction, SigSet};
use vm::testing::TestFrames;

const WALL: u32 = 0x4000_0000;
const WCLONE: u32 = 0x8000_0000;
const WNOHANG: u32 = 1;

struct World {
    frames: TestFrames,
    t: Arc<ProcessTable<TestPlatform>>,
    s: FakeScheduler,
}

/// A booted table whose init has made itself a session leader, as the
/// suite's /init does first.
fn world() -> World {
    let frames = TestFrames::new();
    let t = boot(&frames);
    assert_eq!(t.setsid(1), Ok(1));
    World { frames, t, s: FakeScheduler::new() }
}

#[test]
fn init_starts_in_session_0_and_group_0() {
    let frames = TestFrames::new();
    let t = boot(&frames);
    // Linux: init_struct_pid's group and session, no leader
    assert_eq!((t.getsid(1, 0), t.getpgid(1, 0)), (Ok(0), Ok(0)));
    let s = FakeScheduler::new();
    let c = t.clone_task(1, &CloneArgs::fork(), &s).unwrap();
    assert_eq!((t.getsid(c, 0), t.getpgid(c, 0)), (Ok(0), Ok(0)));
    // setpgid(0, 0) succeeds for init; setsid() then fails (a group leader)
    assert_eq!(t.setpgid(1, 0, 0), Ok(()));
    assert_eq!(t.getpgid(1, 0), Ok(1));
    assert_eq!(t.setsid(1), Err(Errno::EPERM));
    assert_eq!(t.getsid(1, 0), Ok(0));
    // the child may join init's new group: same session 0
    assert_eq!(t.setpgid(c, 0, 1), Ok(()));
    assert_eq!(t.getpgid(c, 0), Ok(1));
}

fn finish(w: World) {
    assert_eq!(w.t.pids(), vec![1], "only init is left");
    assert_eq!(w.t.thread_count(), 1);
    assert_eq!(w.t.pids_in_use(), 1);
    let World { frames, t, s } = w;
    drop(s);
    drop(t);
    assert_eq!(frames.allocated(), 0, "no frame leaked");
}

impl World {
    fn clone(&self, caller: u32, flags: u64) -> Result<u32, Errno> {
        self.t.clone_task(caller, &CloneArgs::from_clone(flags, 0, 0, 0, 0), &self.s)
    }
    fn fork(&self, caller: u32) -> u32 {
        self.t.clone_task(caller, &CloneArgs::fork(), &self.s).unwrap()
    }
    fn exit(&self, tid: u32, code: i32) {
        self.t.exit_thread(tid, code, &self.s);
    }
    fn wait4(&self, caller: u32, pid: i32, options: u32) -> Result<(u32, i32), Errno> {
        self.t.wait4(caller, pid, options, &self.s).map(|(p, s, _)| (p, s))
    }
    fn vm(&self, pid: u32) -> process::seams::SharedVm<TestPlatform> {
        self.t.with_process(pid, |p| p.vm().unwrap().clone()).unwrap()
    }
    fn read_u32(&self, pid: u32, addr: u64) -> u32 {
        VmMemory::<TestPlatform>(&self.vm(pid)).read_u32(addr).unwrap()
    }
    fn write_u32(&self, pid: u32, addr: u64, v: u32) {
        VmMemory::<TestPlatform>(&self.vm(pid)).write_u32(addr, v).unwrap()
    }
    fn cwd(&self, tid: u32) -> String {
        self.t.with_thread(tid, |t| t.fs().unwrap().lock().cwd().clone()).unwrap()
    }
    fn umask(&self, tid: u32) -> u32 {
        self.t.with_thread(tid, |t| t.fs().unwrap().lock().umask()).unwrap()
    }
    fn has_fd(&self, tid: u32, fd: u32) -> bool {
        self.t.with_thread(tid, |t| t.files().unwrap().lock().get(fd).is_ok()).unwrap()
    }
    fn close(&self, tid: u32, fd: u32) {
        let f = self.t.with_thread(tid, |t| t.files().unwrap().share()).unwrap();
        let closed = f.close(fd);
        assert!(closed.is_ok());
    }
    fn pending(&self, pid: u32) -> SigSet {
        self.t.with_process(pid, |p| p.pending().pending()).unwrap()
    }
    fn set_action(&self, pid: u32, sig: signal::SigNum, act: SigAction) {
        let h = self.t.with_process(pid, |p| p.handlers().share()).unwrap();
        let _ = h.lock().set(sig, act).unwrap();
    }
}

const ADDR: u64 = USER_BASE as u64;

#[test]
fn fork_copies_memory_files_and_cwd() {
    let w = world();
    w.write_u32(1, ADDR, 0xaaaa);
    let c = w.fork(1);
    assert_eq!(c, 2);
    assert_eq!(w.t.getppid(c), Ok(1));
    assert_eq!(w.t.with_thread(c, |t| t.context().ret), Some(0));
    // The child writes; the parent keeps its value.
    w.write_u32(c, ADDR, 0xbbbb);
    assert_eq!(w.read_u32(1, ADDR), 0xaaaa);
    assert_eq!(w.read_u32(c, ADDR), 0xbbbb);
    // fd table and fs context are copies.
    w.close(c, 1);
    assert!(w.has_fd(1, 1));
    assert!(!w.has_fd(c, 1));
    w.t.with_thread(c, |t| {
        t.fs().unwrap().lock().set_cwd("/tmp".into());
    });
    assert_eq!(w.cwd(1), "/");
    w.exit(c, 3);
    assert_eq!(w.t.with_process(c, |p| p.state()), Some(ProcState::Zombie));
    assert_eq!(w.wait4(1, -1, 0), Ok((c, 0x300)));
    assert_eq!(w.wait4(1, -1, 0), Err(Errno::ECHILD));
    finish(w);
}

#[test]
fn clone_fs_shares_cwd_and_umask() {
    let w = world();
    let c = w.clone(1, F::FS.bits() | SIGCHLD as u64).unwrap();
    w.t.with_thread(c, |t| {
        let mut fs = t.fs().unwrap().lock();
        fs.set_cwd("/tmp".into());
        fs.set_umask(0o077);
    });
    assert_eq!(w.cwd(1), "/tmp");
    assert_eq!(w.umask(1), 0o077);
    let d = w.fork(1);
    w.t.with_thread(d, |t| {
        let mut fs = t.fs().unwrap().lock();
        fs.set_cwd("/home".into());
        fs.set_umask(0o002);
    });
    assert_eq!(w.cwd(1), "/tmp");
    assert_eq!(w.umask(1), 0o077);
    w.exit(c, 0);
    w.exit(d, 0);
    assert_eq!(w.wait4(1, c as i32, 0), Ok((c, 0)));
    assert_eq!(w.wait4(1, d as i32, 0), Ok((d, 0)));
    finish(w);
}

#[test]
fn clone_files_and_vm_share() {
    let w = world();
    let c = w.clone(1, (F::FILES | F::VM).bits() | SIGCHLD as u64).unwrap();
    w.close(c, 2);
    assert!(!w.has_fd(1, 2));
    w.write_u32(c, ADDR + 8, 77);
    assert_eq!(w.read_u32(1, ADDR + 8), 77);
    w.exit(c, 0);
    assert_eq!(w.wait4(1, -1, 0), Ok((c, 0)));
    finish(w);
}

#[test]
fn sighand_share_copy_and_clear() {
    let w = world();
    let handler = SigAction::handler(0x1000, SaFlags::empty(), SigSet::EMPTY);
    w.set_action(1, SIGUSR1, handler);
    w.set_action(1, SIGHUP, SigAction::IGNORE);
    let shared = w.clone(1, (F::SIGHAND | F::VM).bits() | SIGCHLD as u64).unwrap();
    let copied = w.fork(1);
    let cleared = w.t.clone_task(1, &CloneArgs::fork().with_flags(F::CLEAR_SIGHAND), &w.s).unwrap();
    let h = |pid| w.t.with_process(pid, |p| p.handlers().share()).unwrap();
    assert!(h(shared).same_table(&h(1)));
    assert!(!h(copied).same_table(&h(1)));
    assert_eq!(h(copied).lock().get(SIGUSR1), handler);
    // CLONE_CLEAR_SIGHAND: caught -> default, ignored stays ignored.
    assert_eq!(h(cleared).lock().get(SIGUSR1), SigAction::DEFAULT);
    assert_eq!(h(cleared).lock().get(SIGHUP), SigAction::IGNORE);
    // A change through the shared table is seen by the parent.
    w.set_action(shared, SIGUSR1, SigAction::IGNORE);
    assert_eq!(h(1).lock().get(SIGUSR1), SigAction::IGNORE);
    assert_eq!(h(copied).lock().get(SIGUSR1), handler);
    for c in [shared, copied, cleared] {
        w.exit(c, 0);
        assert_eq!(w.wait4(1, c as i32, 0), Ok((c, 0)));
    }
    finish(w);
}

#[test]
fn fork_and_vfork_actions_are_private_copies_on_write() {
    // Linux's copy_sighand(): a child made without CLONE_SIGHAND has its
    // own actions (here shared copy-on-write until one side changes them):
    // the child's sigaction is not the parent's, nor the parent's later
    // one the child's; exec resets only the execing process's handlers.
    let w = world();
    let handler = SigAction::handler(0x1000, SaFlags::RESTART, SigSet::single(SIGHUP));
    w.set_action(1, SIGUSR1, handler);
    w.set_action(1, SIGHUP, SigAction::IGNORE);
    let h = |pid| w.t.with_process(pid, |p| p.handlers().share()).unwrap();
    let forked = w.fork(1);
    assert!(h(forked).lock().is_copy_on_write(), "fork copies no action");
    w.set_action(forked, SIGUSR1, SigAction::IGNORE);
    assert_eq!(h(1).lock().get(SIGUSR1), handler);
    w.set_action(1, SIGCONT, SigAction::IGNORE);
    assert_eq!(h(forked).lock().get(SIGCONT), SigAction::DEFAULT);
    // A vfork child changes an action, then execs (while the parent waits).
    let table = w.t.clone();
    let frames = w.frames.clone();
    let child = forked + 1;
    w.s.then(move |s| {
        let hc = table.with_process(child, |p| p.handlers().share()).unwrap();
        let _ = hc.lock().set(SIGHUP, SigAction::DEFAULT).unwrap();
        assert_eq!(table.exec(child, vm::testing::test_vmar(&frames), s), Ok(child));
    });
    let c = w.t.clone_task(1, &CloneArgs::vfork(), &w.s).unwrap();
    assert_eq!(c, child);
    assert_eq!(h(c).lock().get(SIGUSR1), SigAction::DEFAULT, "exec resets the caught");
    assert_eq!(h(c).lock().get(SIGCONT), SigAction::IGNORE, "exec keeps the ignored");
    assert_eq!(h(c).lock().get(SIGHUP), SigAction::DEFAULT);
    assert_eq!(h(1).lock().get(SIGUSR1), handler);
    assert_eq!(h(1).lock().get(SIGHUP), SigAction::IGNORE);
    // CLONE_SIGHAND|CLONE_VM: shared for good until the child execs.
    let shared = w.clone(1, (F::SIGHAND | F::VM).bits() | SIGCHLD as u64).unwrap();
    w.set_action(shared, SIGCONT, SigAction::DEFAULT);
    assert_eq!(h(1).lock().get(SIGCONT), SigAction::DEFAULT);
    w.t.exec(shared, vm::testing::test_vmar(&w.frames), &w.s).unwrap();
    assert!(!h(shared).same_table(&h(1)));
    assert_eq!(h(shared).lock().get(SIGUSR1), SigAction::DEFAULT);
    assert_eq!(h(1).lock().get(SIGUSR1), handler);
    w.set_action(shared, SIGHUP, SigAction::DEFAULT);
    assert_eq!(h(1).lock().get(SIGHUP), SigAction::IGNORE);
    for c in [forked, c, shared] {
        w.exit(c, 0);
        assert_eq!(w.wait4(1, c as i32, 0), Ok((c, 0)));
    }
    finish(w);
}

const THREAD: u64 = F::THREAD.bits() | F::SIGHAND.bits() | F::VM.bits() | F::FILES.bits() | F::FS.bits();

#[test]
fn sigcont_wakes_every_stopped_thread() {
    let w = world();
    let p = w.fork(1);
    let t = w.clone(p, THREAD).unwrap();
    w.t.stop(p, 19, &w.s).unwrap();
    w.s.take_events();
    // SIGCONT's default is to be ignored: queued for no thread, yet both
    // threads sleep stopped and must wake to run on
    w.t.kill(1, p as i32, SIGCONT.as_i32(), &w.s).unwrap();
    let ev = w.s.take_events();
    assert!(ev.contains(&Event::Wakeup(p)) && ev.contains(&Event::Wakeup(t)), "{ev:?}");
    assert!(!w.pending(p).contains(SIGCONT));
    w.exit(t, 0);
    w.exit(p, 0);
    assert_eq!(w.wait4(1, p as i32, 0), Ok((p, 0)));
    finish(w);
}

#[test]
fn thread_exit_vs_group_exit() {
    let w = world();
    let p = w.fork(1);
    let t1 = w.clone(p, THREAD).unwrap();
    let t2 = w.clone(t1, THREAD).unwrap();
    assert_eq!(w.t.tgid(t1), Some(p));
    assert_eq!(w.t.tgid(t2), Some(p));
    assert_eq!(w.t.getppid(t2), Ok(1));
    assert_eq!(w.t.with_process(p, |x| x.threads().to_vec()), Some(vec![p, t1, t2]));
    // A thread's exit leaves the process running; its tid is free at once.
    w.exit(t1, 9);
    assert!(!w.t.pid_in_use(t1));
    assert_eq!(w.wait4(1, p as i32, WNOHANG), Ok((0, 0)));
    // exit_group: the other thread is told to die, then the group is a zombie.
    w.t.exit_group(t2, ChildStatus::exited(4), &w.s);
    assert_eq!(w.t.threads_to_kill(), vec![p]);
    assert!(w.s.events().contains(&Event::Wakeup(p)));
    assert_eq!(w.wait4(1, p as i32, WNOHANG), Ok((0, 0)));
    w.exit(p, 0);
    assert_eq!(w.wait4(1, p as i32, 0), Ok((p, 0x400)));
    finish(w);
}

#[test]
fn leader_exit_waits_for_threads_and_keeps_its_code() {
    let w = world();
    let p = w.fork(1);
    let t = w.clone(p, THREAD).unwrap();
    w.exit(p, 5);
    // The leader is gone but the group is not: not reapable, pid in use.
    assert!(w.t.pid_in_use(p));
    assert_eq!(w.t.with_process(p, |x| x.state()), Some(ProcState::Running));
    assert_eq!(w.wait4(1, -1, WNOHANG), Ok((0, 0)));
    assert_eq!(w.t.getpgid(1, p as i32), Ok(1));
    w.exit(t, 7);
    // Linux reports the leader's code.
    assert_eq!(w.wait4(1, -1, 0), Ok((p, 0x500)));
    finish(w);
}

#[test]
fn vfork_parent_resumes_after_child_exec() {
    let w = world();
    let table = w.t.clone();
    let frames = w.frames.clone();
    // While the parent sleeps, the child (pid 2) execs.
    w.s.then(move |s| {
        let fresh = vm::testing::test_vmar(&frames);
        assert_eq!(table.exec(2, fresh, s), Ok(2));
    });
    let c = w.t.clone_task(1, &CloneArgs::vfork(), &w.s).unwrap();
    assert_eq!(c, 2);
    assert_eq!(
        w.s.take_events(),
        vec![Event::Created(2), Event::VforkWait(1, 2), Event::VforkDone(1, 2), Event::VforkResumed(1, 2)]
    );
    w.exit(c, 0);
    assert_eq!(w.wait4(1, -1, 0), Ok((c, 0)));
    finish(w);
}

#[test]
fn vfork_parent_resumes_after_child_exit() {
    let w = world();
    let table = w.t.clone();
    w.s.then(move |s| table.exit_thread(2, 1, s));
    let c = w.t.clone_task(1, &CloneArgs::vfork(), &w.s).unwrap();
    let ev = w.s.take_events();
    let pos = |e: &Event| ev.iter().position(|x| x == e).unwrap();
    assert!(pos(&Event::VforkWait(1, c)) < pos(&Event::VforkDone(1, c)));
    assert!(pos(&Event::VforkDone(1, c)) < pos(&Event::VforkResumed(1, c)));
    assert!(pos(&Event::Exited(c)) < pos(&Event::VforkResumed(1, c)));
    assert_eq!(w.wait4(1, -1, 0), Ok((c, 0x100)));
    finish(w);
}

#[test]
fn clone_parent_makes_a_sibling() {
    let w = world();
    let a = w.fork(1);
    assert_eq!(w.clone(1, F::PARENT.bits()), Err(Errno::EINVAL), "not from init");
    let b = w.clone(a, F::PARENT.bits() | SIGUSR1.get() as u64).unwrap();
    assert_eq!(w.t.getppid(b), Ok(1));
    assert_eq!(w.t.with_process(1, |p| p.children().to_vec()), Some(vec![a, b]));
    // The sibling takes the caller's exit signal, not the argument.
    assert_eq!(w.t.with_process(b, |p| p.exit_signal()), Some(SIGCHLD as i32));
    assert_eq!(w.wait4(a, -1, 0), Err(Errno::ECHILD));
    w.exit(b, 2);
    w.exit(a, 1);
    assert_eq!(w.wait4(1, b as i32, 0), Ok((b, 0x200)));
    assert_eq!(w.wait4(1, a as i32, 0), Ok((a, 0x100)));
    finish(w);
}

#[test]
fn custom_exit_signal_needs_wclone() {
    let w = world();
    // Init drops signals it has no handler for: give it some.
    let handler = SigAction::handler(0x1000, SaFlags::empty(), SigSet::EMPTY);
    w.set_action(1, SIGUSR1, handler);
    w.set_action(1, SIGCHLD_NUM, handler);
    let c = w.clone(1, SIGUSR1.get() as u64).unwrap();
    let z = w.clone(1, 0).unwrap(); // exit signal 0: no signal at all
    w.exit(c, 6);
    w.exit(z, 8);
    assert!(w.pending(1).contains(SIGUSR1));
    assert!(!w.pending(1).contains(SIGCHLD_NUM));
    // Neither is a "SIGCHLD child": plain wait sees no child.
    assert_eq!(w.wait4(1, -1, 0), Err(Errno::ECHILD));
    assert_eq!(w.wait4(1, -1, WCLONE), Ok((c, 0x600)));
    assert_eq!(w.wait4(1, -1, WALL), Ok((z, 0x800)));
    // And a SIGCHLD child is invisible to __WCLONE.
    let f = w.fork(1);
    w.exit(f, 0);
    assert_eq!(w.wait4(1, -1, WCLONE), Err(Errno::ECHILD));
    assert_eq!(w.wait4(1, -1, 0), Ok((f, 0)));
    finish(w);
}

#[test]
fn sigchld_carries_the_status() {
    let w = world();
    // With SIG_DFL (ignore) SIGCHLD would be dropped; catch it.
    w.set_action(1, SIGCHLD_NUM, SigAction::handler(0x1000, SaFlags::empty(), SigSet::EMPTY));
    let c = w.fork(1);
    w.exit(c, 3);
    assert!(w.pending(1).contains(SIGCHLD_NUM));
    let info = w.t.with_process(1, |p| p.pending_mut().dequeue(SigSet::EMPTY)).unwrap().unwrap();
    assert_eq!(
        (info.signo, info.code, info.pid(), info.status()),
        (SIGCHLD_NUM, CLD_EXITED, Some(c as i32), Some(3))
    );
    assert!(w.s.events().contains(&Event::ChildEvent(1)));
    assert_eq!(w.wait4(1, -1, 0), Ok((c, 0x300)));
    finish(w);
}

#[test]
fn orphans_go_to_init_or_the_subreaper() {
    let w = world();
    let a = w.fork(1);
    let b = w.fork(a);
    let cell = w.t.with_process(b, |p| p.parent_cell()).unwrap();
    assert_eq!(cell.load(core::sync::atomic::Ordering::Relaxed), a);
    w.exit(a, 0);
    assert_eq!(w.t.getppid(b), Ok(1));
    assert_eq!(cell.load(core::sync::atomic::Ordering::Relaxed), 1, "the cell follows reparenting");
    assert_eq!(w.wait4(1, a as i32, 0), Ok((a, 0)));
    // A zombie orphan is reported to its new parent.
    let s = w.fork(1);
    w.t.set_child_subreaper(s, true).unwrap();
    let m = w.fork(s);
    let x = w.fork(m);
    let x_cell = w.t.with_process(x, |p| p.parent_cell()).unwrap();
    let y = w.clone(m, 0).unwrap();
    w.exit(y, 4);
    w.exit(m, 0);
    assert_eq!(w.t.getppid(x), Ok(s));
    assert_eq!(x_cell.load(core::sync::atomic::Ordering::Relaxed), s);
    assert_eq!(w.t.with_process(y, |p| p.parent()), Some(s), "a zombie moves too");
    // Reparented children report with SIGCHLD.
    assert_eq!(w.t.with_process(y, |p| p.exit_signal()), Some(SIGCHLD as i32));
    assert_eq!(w.wait4(s, m as i32, 0), Ok((m, 0)));
    assert_eq!(w.wait4(s, y as i32, 0), Ok((y, 0x400)));
    w.exit(x, 0);
    w.exit(b, 0);
    w.exit(s, 0);
    assert_eq!(w.wait4(s, -1, WNOHANG), Err(Errno::ESRCH), "s has no thread left");
    // x was s's child: s is gone, so x went on to init.
    assert_eq!(w.t.with_process(x, |p| p.parent()), Some(1));
    assert_eq!(w.wait4(1, -1, 0).map(|r| r.1), Ok(0));
    assert_eq!(w.wait4(1, -1, 0).map(|r| r.1), Ok(0));
    assert_eq!(w.wait4(1, -1, 0).map(|r| r.1), Ok(0));
    assert_eq!(w.wait4(1, -1, 0), Err(Errno::ECHILD));
    finish(w);
}

#[test]
fn zombie_reaped_exactly_once_and_wnowait() {
    let w = world();
    let c = w.fork(1);
    w.exit(c, 1);
    let (info, _) = w.t.waitid(1, P_PID, c as i32, (W::WEXITED | W::WNOWAIT).bits(), &w.s).unwrap();
    assert_eq!((info.signo, info.code, info.pid, info.status), (17, CLD_EXITED, c as i32, 1));
    let (again, _) = w.t.waitid(1, P_ALL, 0, (W::WEXITED | W::WNOWAIT).bits(), &w.s).unwrap();
    assert_eq!(again, info);
    assert_eq!(w.wait4(1, c as i32, 0), Ok((c, 0x100)));
    assert_eq!(w.wait4(1, c as i32, 0), Err(Errno::ECHILD));
    assert_eq!(w.wait4(1, c as i32, WNOHANG), Err(Errno::ECHILD));
    finish(w);
}

#[test]
fn pid_reused_only_after_reaping_and_group_end() {
    let w = world();
    let a = w.fork(1);
    w.t.setpgid(a, 0, 0).unwrap();
    let b = w.fork(a);
    assert_eq!(w.t.getpgid(1, b as i32), Ok(a));
    w.exit(a, 0);
    assert!(w.t.pid_in_use(a), "zombie");
    assert_eq!(w.wait4(1, a as i32, 0), Ok((a, 0)));
    assert!(w.t.pid_in_use(a), "still b's process group");
    w.exit(b, 0);
    assert_eq!(w.wait4(1, b as i32, 0), Ok((b, 0)));
    assert!(!w.t.pid_in_use(a));
    assert!(!w.t.pid_in_use(b));
    // Numbers go on increasing (no immediate reuse).
    assert_eq!(w.fork(1), b + 1);
    w.exit(b + 1, 0);
    assert_eq!(w.wait4(1, -1, 0), Ok((b + 1, 0)));
    finish(w);
}

#[test]
fn pid_space_exhaustion_is_eagain_without_trace() {
    let frames = TestFrames::new();
    let t = Arc::new(ProcessTable::<TestPlatform>::new(4));
    t.spawn_init(init_process(&frames)).unwrap();
    let s = FakeScheduler::new();
    let w = World { frames, t, s };
    let a = w.fork(1);
    let b = w.fork(1);
    assert_eq!((a, b), (2, 3));
    assert_eq!(w.t.clone_task(1, &CloneArgs::fork(), &w.s), Err(Errno::EAGAIN));
    assert_eq!(w.t.pids(), vec![1, 2, 3]);
    w.exit(a, 0);
    w.exit(b, 0);
    assert_eq!(w.wait4(1, -1, 0), Ok((a, 0)));
    assert_eq!(w.wait4(1, -1, 0), Ok((b, 0)));
    // Wrapped around: 2 again.
    assert_eq!(w.fork(1), 2);
    w.exit(2, 0);
    assert_eq!(w.wait4(1, -1, 0), Ok((2, 0)));
    finish(w);
}

#[test]
fn ignored_sigchld_and_nocldwait_autoreap() {
    let w = world();
    w.set_action(1, SIGCHLD_NUM, SigAction::IGNORE);
    let c = w.fork(1);
    w.exit(c, 0);
    assert_eq!(w.t.pids(), vec![1]);
    assert!(!w.pending(1).contains(SIGCHLD_NUM));
    assert_eq!(w.wait4(1, -1, 0), Err(Errno::ECHILD));
    // SA_NOCLDWAIT: reaped too, but SIGCHLD still comes.
    w.set_action(1, SIGCHLD_NUM, SigAction::handler(0x1000, SaFlags::NOCLDWAIT, SigSet::EMPTY));
    let d = w.fork(1);
    w.exit(d, 0);
    assert_eq!(w.t.pids(), vec![1]);
    assert!(w.pending(1).contains(SIGCHLD_NUM));
    // A custom exit signal is never autoreaped.
    let e = w.clone(1, SIGUSR1.get() as u64).unwrap();
    w.exit(e, 0);
    assert_eq!(w.t.pids(), vec![1, e]);
    assert_eq!(w.wait4(1, -1, WALL), Ok((e, 0)));
    finish(w);
}

#[test]
fn tid_words_and_registers() {
    let w = world();
    let (ptid, ctid) = (ADDR + 0x100, ADDR + 0x200);
    let flags = THREAD | (F::PARENT_SETTID | F::CHILD_SETTID | F::CHILD_CLEARTID | F::SETTLS).bits();
    let args = CloneArgs::from_clone(flags, 0x5000, ptid, ctid, 0x7777);
    let p = w.fork(1);
    let t = w.t.clone_task(p, &args, &w.s).unwrap();
    assert_eq!(w.read_u32(p, ptid), t);
    assert_eq!(w.read_u32(p, ctid), t);
    let ctx = w.t.with_thread(t, |x| x.context().clone()).unwrap();
    assert_eq!((ctx.ret, ctx.sp, ctx.tls), (0, 0x5000, 0x7777));
    // Without a new stack the child keeps the parent's.
    assert_eq!(w.t.with_thread(p, |x| x.context().sp), Some(0x7fff_0000));
    // Exit: the word is cleared and woken.
    w.s.take_events();
    w.exit(t, 0);
    assert_eq!(w.read_u32(p, ctid), 0);
    assert!(w.s.events().contains(&Event::FutexWake(ctid)));
    // CHILD_SETTID in a fork child writes the child's copy only.
    let args = CloneArgs::from_clone(F::CHILD_SETTID.bits() | 17, 0, 0, ADDR + 0x300, 0);
    let c = w.t.clone_task(p, &args, &w.s).unwrap();
    assert_eq!(w.read_u32(c, ADDR + 0x300), c);
    assert_eq!(w.read_u32(p, ADDR + 0x300), 0);
    w.exit(c, 0);
    w.exit(p, 0);
    assert_eq!(w.wait4(p, -1, 0), Err(Errno::ESRCH));
    assert_eq!(w.wait4(1, p as i32, 0), Ok((p, 0)));
    assert_eq!(w.wait4(1, c as i32, 0), Ok((c, 0)));
    finish(w);
}

#[test]
fn pidfd_and_failures_leave_no_trace() {
    let w = world();
    let args = CloneArgs::fork().with_flags(F::PIDFD).with_pidfd(ADDR + 0x40);
    let c = w.t.clone_task(1, &args, &w.s).unwrap();
    assert_eq!(w.read_u32(1, ADDR + 0x40), 100);
    w.exit(c, 2);
    let (info, _) = w.t.waitid(1, P_PIDFD, 100, W::WEXITED.bits(), &w.s).unwrap();
    assert_eq!((info.pid, info.status), (c as i32, 2));
    assert_eq!(w.t.waitid(1, P_PIDFD, 55, W::WEXITED.bits(), &w.s), Err(Errno::EBADF));

    let in_use = w.t.pids_in_use();
    // A bad pidfd address: EFAULT, the fd is closed again, no pid used.
    let bad = CloneArgs::fork().with_flags(F::PIDFD).with_pidfd(0x10);
    assert_eq!(w.t.clone_task(1, &bad, &w.s), Err(Errno::EFAULT));
    assert!(w.s.events().contains(&Event::PidfdDestroyed(101)));
    // The hook's own failure.
    *w.s.pidfd_error.lock() = Some(Errno::EMFILE);
    assert_eq!(w.t.clone_task(1, &args, &w.s), Err(Errno::EMFILE));
    // No cgroup v2 here.
    let cg = CloneArgs::fork().with_flags(F::INTO_CGROUP).with_cgroup(3);
    assert_eq!(w.t.clone_task(1, &cg, &w.s), Err(Errno::EBADF));
    // set_tid of a used pid.
    let st = CloneArgs::fork().with_set_tid(vec![1]);
    assert_eq!(w.t.clone_task(1, &st, &w.s), Err(Errno::EEXIST));
    assert_eq!(w.t.pids(), vec![1]);
    assert_eq!(w.t.pids_in_use(), in_use);
    assert!(!w.s.events().iter().any(|e| matches!(e, Event::Created(x) if *x != c)));
    // set_tid of a free one.
    let st = CloneArgs::fork().with_set_tid(vec![500]);
    assert_eq!(w.t.clone_task(1, &st, &w.s), Ok(500));
    w.exit(500, 0);
    assert_eq!(w.wait4(1, 500, 0), Ok((500, 0)));
    finish(w);
}

#[test]
fn nonblocking_pidfd_waitid_is_eagain() {
    let w = world();
    let args = CloneArgs::fork().with_flags(F::PIDFD).with_pidfd(ADDR + 0x40);
    // A non-blocking pidfd: EAGAIN while the child runs (WNOHANG: nothing
    // yet), then its report (Linux 5.10+'s kernel_waitid).
    let c = w.t.clone_task(1, &args, &w.s).unwrap();
    let fd = w.read_u32(1, ADDR + 0x40) as i32;
    *w.s.pidfd_nonblock.lock() = true;
    assert_eq!(w.t.waitid(1, P_PIDFD, fd, W::WEXITED.bits(), &w.s).map(|_| ()), Err(Errno::EAGAIN));
    let (info, _) = w.t.waitid(1, P_PIDFD, fd, (W::WEXITED | W::WNOHANG).bits(), &w.s).unwrap();
    assert_eq!(info.pid, 0);
    w.exit(c, 4);
    let (info, _) = w.t.waitid(1, P_PIDFD, fd, W::WEXITED.bits(), &w.s).unwrap();
    assert_eq!((info.pid, info.status), (c as i32, 4));
    assert_eq!(w.t.waitid(1, P_PIDFD, fd, W::WEXITED.bits(), &w.s).map(|_| ()), Err(Errno::ECHILD));
    finish(w);
}

#[test]
fn nproc_limit_is_eagain() {
    let w = world();
    let u = w.fork(1);
    w.t.with_process(u, |p| {
        *p.creds_mut() = process::cred::Credentials::user(1000, 1000);
        p.rlimits_mut()
            .prlimit(process::rlimit::Resource::Nproc, Some(process::rlimit::Rlimit::both(1)), true, 1 << 20)
            .unwrap();
    });
    assert_eq!(w.clone(u, SIGCHLD as u64), Err(Errno::EAGAIN));
    assert_eq!(w.clone(u, F::NEWNS.bits()), Err(Errno::EAGAIN));
    w.t.with_process(u, |p| {
        p.rlimits_mut()
            .prlimit(process::rlimit::Resource::Nproc, Some(process::rlimit::Rlimit::both(10)), true, 1 << 20)
            .unwrap();
    });
    assert_eq!(w.clone(u, F::NEWNS.bits()), Err(Errno::EPERM));
    w.exit(u, 0);
    assert_eq!(w.wait4(1, -1, 0), Ok((u, 0)));
    finish(w);
}

#[test]
fn wait_selectors_and_errors() {
    let w = world();
    let a = w.fork(1);
    let b = w.fork(1);
    let c = w.fork(1);
    w.t.setpgid(1, b as i32, b as i32).unwrap();
    for x in [a, b, c] {
        w.exit(x, x as i32);
    }
    assert_eq!(w.wait4(1, -1, 0x10), Err(Errno::EINVAL));
    assert_eq!(w.wait4(1, 999, 0), Err(Errno::ECHILD));
    assert_eq!(w.wait4(1, -(b as i32), 0), Ok((b, (b as i32) << 8)));
    assert_eq!(w.wait4(1, -(b as i32), 0), Err(Errno::ECHILD));
    assert_eq!(w.wait4(1, 0, 0), Ok((a, (a as i32) << 8)));
    let (info, _) = w.t.waitid(1, P_PGID, 0, W::WEXITED.bits(), &w.s).unwrap();
    assert_eq!(info.pid, c as i32);
    assert_eq!(w.t.waitid(1, P_PGID, 0, W::WEXITED.bits(), &w.s), Err(Errno::ECHILD));
    assert_eq!(w.t.waitid(1, P_ALL, 0, 0, &w.s), Err(Errno::EINVAL));
    // Blocking: the scheduler runs the child's exit, then the wait succeeds.
    let d = w.fork(1);
    let table = w.t.clone();
    w.s.then(move |s| table.exit_thread(d, 9, s));
    assert_eq!(w.wait4(1, -1, 0), Ok((d, 0x900)));
    // The wait queue sees events that happen between the check and the
    // sleep (the hook gets the count the check saw).
    w.s.attach(&w.t);
    let seen = w.t.with_process(1, |p| p.child_events()).unwrap();
    use process::seams::Hooks;
    assert_eq!(w.s.wait_for_child(1, seen), Err(Errno::ERESTARTSYS));
    let f = w.fork(1);
    w.exit(f, 0);
    assert_eq!(w.s.wait_for_child(1, seen), Ok(()), "an event since: no sleep");
    assert_eq!(w.wait4(1, f as i32, 0), Ok((f, 0)));
    // Nothing scripted: the wait is interrupted.
    let e = w.fork(1);
    assert_eq!(w.wait4(1, -1, 0), Err(Errno::ERESTARTSYS));
    let (none, _) = w.t.waitid(1, P_ALL, 0, (W::WEXITED | W::WNOHANG).bits(), &w.s).unwrap();
    assert_eq!(none, process::wait::WaitidInfo::default());
    w.exit(e, 0);
    assert_eq!(w.wait4(1, -1, 0), Ok((e, 0)));
    finish(w);
}

#[test]
fn stopped_and_continued() {
    let w = world();
    w.set_action(1, SIGCHLD_NUM, SigAction::handler(0x1000, SaFlags::empty(), SigSet::EMPTY));
    let c = w.fork(1);
    w.t.stop(c, 19, &w.s).unwrap();
    assert_eq!(w.wait4(1, -1, WNOHANG), Ok((0, 0)), "WUNTRACED not given");
    assert_eq!(w.wait4(1, -1, 2), Ok((c, 0x137f)));
    assert_eq!(w.wait4(1, -1, 2 | WNOHANG), Ok((0, 0)), "reported once");
    let info = w.t.with_process(1, |p| p.pending_mut().dequeue(SigSet::EMPTY)).unwrap().unwrap();
    assert_eq!(info.code, CLD_STOPPED);
    // SIGCONT from kill continues it.
    w.t.kill(1, c as i32, SIGCONT.as_i32(), &w.s).unwrap();
    assert_eq!(w.t.with_process(c, |p| p.state()), Some(ProcState::Running));
    let (info, _) = w.t.waitid(1, P_ALL, 0, (W::WCONTINUED | W::WNOWAIT).bits(), &w.s).unwrap();
    assert_eq!((info.code, info.status), (CLD_CONTINUED, 18));
    assert_eq!(w.wait4(1, -1, 8), Ok((c, 0xffff)));
    // SA_NOCLDSTOP: no SIGCHLD for stops.
    w.t.with_process(1, |p| p.pending_mut().clear());
    w.set_action(1, SIGCHLD_NUM, SigAction::handler(0x1000, SaFlags::NOCLDSTOP, SigSet::EMPTY));
    w.t.stop(c, 19, &w.s).unwrap();
    assert!(!w.pending(1).contains(SIGCHLD_NUM));
    w.exit(c, 0);
    assert_eq!(w.wait4(1, -1, 0), Ok((c, 0)));
    finish(w);
}

#[test]
fn process_groups_and_sessions() {
    let w = world();
    let a = w.fork(1);
    let b = w.fork(a);
    assert_eq!(w.t.setpgid(a, b as i32, -1), Err(Errno::EINVAL));
    assert_eq!(w.t.setpgid(a, 999, 0), Err(Errno::ESRCH));
    assert_eq!(w.t.setpgid(b, a as i32, 0), Err(Errno::ESRCH), "not our child");
    assert_eq!(w.t.setpgid(a, b as i32, 4242), Err(Errno::EPERM), "no such group");
    assert_eq!(w.t.setpgid(a, b as i32, 0), Ok(()));
    assert_eq!(w.t.getpgid(a, b as i32), Ok(b));
    assert_eq!(w.t.setpgid(a, b as i32, 1), Ok(()), "back to init's group");
    // A thread id is not a process: EINVAL.
    let t = w.clone(b, THREAD).unwrap();
    assert_eq!(w.t.setpgid(a, t as i32, 0), Err(Errno::EINVAL));
    assert_eq!(w.t.getpgid(1, t as i32), Ok(1));
    // The child has exec'd: EACCES.
    let frames = w.frames.clone();
    w.t.exit_thread(t, 0, &w.s);
    w.t.exec(b, vm::testing::test_vmar(&frames), &w.s).unwrap();
    assert_eq!(w.t.setpgid(a, b as i32, 0), Err(Errno::EACCES));
    // setsid.
    assert_eq!(w.t.setsid(1), Err(Errno::EPERM), "init leads its session");
    assert_eq!(w.t.setsid(a), Ok(a));
    assert_eq!(w.t.getsid(1, a as i32), Ok(a));
    assert_eq!(w.t.getsid(b, 0), Ok(1));
    assert_eq!(w.t.setsid(a), Err(Errno::EPERM));
    assert_eq!(w.t.setpgid(a, 0, 0), Err(Errno::EPERM), "session leader");
    // b is in another session now: EPERM.
    assert_eq!(w.t.setpgid(a, b as i32, 0), Err(Errno::EPERM));
    // A group id in use blocks setsid.
    let c = w.fork(1);
    let d = w.fork(c);
    w.t.setpgid(c, d as i32, 0).unwrap();
    w.t.setpgid(d, 0, 0).unwrap();
    w.t.setsid(d).map(|_| ()).unwrap_err();
    assert_eq!(w.t.getsid(1, 999), Err(Errno::ESRCH));
    assert_eq!(w.t.getpgid(1, -3), Err(Errno::ESRCH));
    for x in [d, b] {
        w.exit(x, 0);
    }
    w.exit(c, 0);
    w.exit(a, 0);
    for _ in 0..4 {
        assert!(w.wait4(1, -1, 0).is_ok());
    }
    finish(w);
}

#[test]
fn orphaned_stopped_group_gets_hup_and_cont() {
    let w = world();
    let a = w.fork(1);
    let b = w.fork(a);
    w.t.setpgid(a, b as i32, 0).unwrap();
    w.t.stop(b, 19, &w.s).unwrap();
    // a (in init's group, same session) is b's only link: a's exit orphans it.
    assert!(!w.t.is_orphaned_pgrp(b));
    w.exit(a, 0);
    assert!(w.t.is_orphaned_pgrp(b));
    // SIGHUP is queued while b is stopped (no thread wants it yet, so no
    // group kill at send time); SIGCONT (default: ignored, not queued)
    // continues it; b's thread then dequeues SIGHUP and dies of it (the
    // kernel's delivery, played here by exit_group).
    assert!(w.pending(b).contains(SIGHUP));
    assert!(!w.pending(b).contains(SIGCONT));
    assert_eq!(w.t.with_process(b, |p| p.state()), Some(ProcState::Running));
    assert!(w.t.threads_to_kill().is_empty());
    w.t.exit_group(b, ChildStatus::Killed { signal: SIGHUP.get(), core: false }, &w.s);
    // Not stopped: nothing is sent.
    let c = w.fork(1);
    let d = w.fork(c);
    w.t.setpgid(c, d as i32, 0).unwrap();
    w.exit(c, 0);
    assert!(w.pending(d).is_empty());
    w.exit(d, 0);
    assert_eq!(w.wait4(1, b as i32, 0), Ok((b, 1)), "killed by SIGHUP");
    for _ in 0..3 {
        assert!(w.wait4(1, -1, WALL).is_ok());
    }
    finish(w);
}

#[test]
fn kill_targets_and_permissions() {
    let w = world();
    let a = w.fork(1);
    let u = w.fork(1);
    w.t.with_process(u, |p| *p.creds_mut() = process::cred::Credentials::user(1000, 1000));
    let v = w.fork(1);
    w.t.with_process(v, |p| *p.creds_mut() = process::cred::Credentials::user(2000, 2000));
    assert_eq!(w.t.kill(u, a as i32, 65, &w.s), Err(Errno::EINVAL));
    assert_eq!(w.t.kill(u, 999, 0, &w.s), Err(Errno::ESRCH));
    assert_eq!(w.t.kill(u, i32::MIN, 0, &w.s), Err(Errno::ESRCH));
    assert_eq!(w.t.kill(u, a as i32, 0, &w.s), Err(Errno::EPERM));
    assert_eq!(w.t.kill(u, a as i32, SIGUSR1.as_i32(), &w.s), Err(Errno::EPERM));
    // SIGCONT within the session is allowed.
    assert_eq!(w.t.kill(u, a as i32, SIGCONT.as_i32(), &w.s), Ok(()));
    w.set_action(u, SIGUSR1, SigAction::handler(0x1000, SaFlags::empty(), SigSet::EMPTY));
    assert_eq!(w.t.kill(u, u as i32, SIGUSR1.as_i32(), &w.s), Ok(()));
    assert!(w.pending(u).contains(SIGUSR1));
    // -1 from an unprivileged process: EPERM targets are skipped; none
    // left to signal is still success since some were tried.
    assert_eq!(w.t.kill(u, -1, 0, &w.s), Ok(()));
    // A group with no permitted member: EPERM; a missing group: ESRCH.
    assert_eq!(w.t.kill(u, -1234, 0, &w.s), Err(Errno::ESRCH));
    w.t.setpgid(1, u as i32, 0).unwrap();
    assert_eq!(w.t.kill(v, -(u as i32), 0, &w.s), Err(Errno::EPERM));
    assert_eq!(w.t.kill(v, 0, 0, &w.s), Ok(()), "its own group includes itself");
    // root, -1: everyone but init and itself.
    w.t.with_process(u, |p| p.pending_mut().clear());
    assert_eq!(w.t.kill(a, -1, SIGUSR1.as_i32(), &w.s), Ok(()));
    assert!(w.pending(u).contains(SIGUSR1));
    assert!(w.pending(v).contains(SIGUSR1));
    assert!(!w.pending(a).contains(SIGUSR1));
    assert!(!w.pending(1).contains(SIGUSR1));
    // A fatal signal starts the group's exit: status "killed by SIGUSR1";
    // u catches it.
    assert_eq!(w.t.threads_to_kill(), vec![v]);
    w.exit(u, 0);
    w.exit(v, 0);
    assert_eq!(w.wait4(1, u as i32, 0), Ok((u, 0)));
    assert_eq!(w.wait4(1, v as i32, 0), Ok((v, 10)));
    // SIGKILL to init from a process is dropped.
    assert_eq!(w.t.kill(a, 1, SIGKILL.as_i32(), &w.s), Ok(()));
    assert!(w.t.threads_to_kill().is_empty());
    w.exit(a, 0);
    assert_eq!(w.wait4(1, -1, 0), Ok((a, 0)));
    finish(w);
}

#[test]
fn exec_dethreads_and_resets() {
    let w = world();
    let p = w.fork(1);
    let t1 = w.clone(p, THREAD).unwrap();
    let t2 = w.clone(p, THREAD).unwrap();
    let caught = SigAction::handler(0x1000, SaFlags::empty(), SigSet::EMPTY);
    w.set_action(p, SIGUSR1, caught);
    w.set_action(p, SIGHUP, SigAction::IGNORE);
    w.t.with_thread(t2, |t| t.signals_mut().set_blocked(SigSet::single(SIGUSR1)));
    // fd 1 close-on-exec.
    w.t.with_thread(p, |t| t.files().unwrap().lock().set_fd_flags(1, 1).unwrap());
    w.s.take_events();
    let frames = w.frames.clone();
    assert_eq!(w.t.exec(t2, vm::testing::test_vmar(&frames), &w.s), Ok(p));
    assert_eq!(w.s.take_events(), vec![Event::Exited(p), Event::Exited(t1), Event::Renamed(t2, p)]);
    assert_eq!(w.t.with_process(p, |x| x.threads().to_vec()), Some(vec![p]));
    assert!(!w.t.pid_in_use(t1));
    assert!(!w.t.pid_in_use(t2));
    assert_eq!(w.t.with_thread(p, |t| t.tid()), Some(p));
    let h = w.t.with_process(p, |x| x.handlers().share()).unwrap();
    assert_eq!(h.lock().get(SIGUSR1), SigAction::DEFAULT);
    assert_eq!(h.lock().get(SIGHUP), SigAction::IGNORE);
    assert_eq!(w.t.with_thread(p, |t| t.signals().blocked()), Some(SigSet::single(SIGUSR1)), "mask kept");
    assert!(!w.has_fd(p, 1));
    assert!(w.has_fd(p, 0));
    assert!(w.t.with_process(p, |x| x.did_exec()).unwrap());
    w.exit(p, 0);
    assert_eq!(w.wait4(1, -1, 0), Ok((p, 0)));
    finish(w);
}

#[test]
fn the_old_leaders_exit_after_a_threads_exec_is_a_no_op() {
    // Linux: de_thread() ends the old leader; a leader whose exit(2) races
    // with a thread's execve must not end (or take the memory of) the new
    // program, which has its tid now.
    let w = world();
    let p = w.fork(1);
    let t = w.clone(p, THREAD).unwrap();
    let old = w.t.with_thread(p, |x| x.serial()).unwrap();
    let execer = w.t.with_thread(t, |x| x.serial()).unwrap();
    assert_ne!(old, execer);
    // the new program's clear_child_tid (set_tid_address)
    w.t.with_thread(t, |x| x.set_clear_child_tid(ADDR));
    let frames = w.frames.clone();
    assert_eq!(w.t.exec(t, vm::testing::test_vmar(&frames), &w.s), Ok(p));
    assert_eq!(w.t.with_thread(p, |x| x.serial()), Some(execer), "exec keeps the caller's identity");
    w.t.with_thread(p, |x| x.set_clear_child_tid(ADDR));
    w.s.take_events();
    // the old leader's exit, late
    assert!(w.t.exit_mm_as(p, Some(old), &w.s).is_none());
    w.t.exit_thread_as(p, Some(old), 0, &w.s);
    w.t.exit_group_as(p, Some(old), ChildStatus::exited(5), &w.s);
    assert_eq!(w.s.take_events(), vec![]);
    assert_eq!(w.t.with_thread(p, |x| x.clear_child_tid()), Some(ADDR), "the new program's word is kept");
    assert!(w.t.with_process(p, |x| x.vm().is_some()).unwrap(), "its address space too");
    assert!(!w.t.with_process(p, |x| x.is_group_exiting()).unwrap());
    assert_eq!(w.wait4(1, p as i32, WNOHANG), Ok((0, 0)));
    // the new program's own exit works
    assert!(w.t.exit_mm_as(p, Some(execer), &w.s).is_some());
    w.t.exit_thread_as(p, Some(execer), 6, &w.s);
    assert_eq!(w.wait4(1, p as i32, 0), Ok((p, 0x600)));
    finish(w);
}

#[test]
fn children_belong_to_the_group_and_wnothread_to_the_thread() {
    let w = world();
    let p = w.fork(1);
    let t = w.clone(p, THREAD).unwrap();
    let c = w.fork(t); // created by the second thread
    w.exit(c, 1);
    // The leader sees it (children of every thread)...
    assert_eq!(w.wait4(p, -1, WNOHANG | 0x2000_0000), Err(Errno::ECHILD), "__WNOTHREAD: not the leader's");
    assert_eq!(w.wait4(t, -1, 0x2000_0000), Ok((c, 0x100)));
    // A child of a thread that exits passes to another thread of the group.
    let d = w.fork(t);
    w.exit(t, 0);
    w.exit(d, 2);
    assert_eq!(w.t.getppid(p), Ok(1));
    assert_eq!(w.wait4(p, -1, 0x2000_0000), Ok((d, 0x200)));
    w.exit(p, 0);
    assert_eq!(w.wait4(1, -1, 0), Ok((p, 0)));
    finish(w);
}

#[test]
fn sysvsem_undo_list_shared_or_not() {
    let w = world();
    let a = w.clone(1, F::SYSVSEM.bits() | 17).unwrap();
    let b = w.fork(1);
    let undo = |t| w.t.with_thread(t, |x| x.sem_undo().cloned()).unwrap();
    let (ua, u1) = (undo(a).unwrap(), undo(1).unwrap());
    assert!(Arc::ptr_eq(&ua, &u1));
    assert!(undo(b).is_none());
    // the kernel's record (exit_sem in its drop) goes with the last sharer
    struct Record(Arc<core::sync::atomic::AtomicBool>);
    impl Drop for Record {
        fn drop(&mut self) {
            self.0.store(true, core::sync::atomic::Ordering::SeqCst);
        }
    }
    let gone = Arc::new(core::sync::atomic::AtomicBool::new(false));
    ua.lock().ext = Some(Box::new(Record(gone.clone())));
    assert!(u1.lock().ext.as_ref().is_some_and(|e| e.downcast_ref::<Record>().is_some()));
    drop((ua, u1));
    for c in [a, b] {
        w.exit(c, 0);
        assert_eq!(w.wait4(1, c as i32, 0), Ok((c, 0)));
    }
    assert!(!gone.load(core::sync::atomic::Ordering::SeqCst), "thread 1 still shares it");
    w.t.with_thread(1, |x| drop(x.replace_sem_undo(None)));
    assert!(gone.load(core::sync::atomic::Ordering::SeqCst));
    finish(w);
}

#[test]
fn robust_futexes_released_at_thread_exit() {
    let w = world();
    let p = w.fork(1);
    let t = w.clone(p, THREAD).unwrap();
    let head = ADDR + 0x800;
    let entry = ADDR + 0x900;
    let vm = w.vm(p);
    let mem = VmMemory::<TestPlatform>(&vm);
    mem.write_bytes(head, &entry.to_ne_bytes()).unwrap();
    mem.write_bytes(head + 8, &8u64.to_ne_bytes()).unwrap();
    mem.write_bytes(entry, &head.to_ne_bytes()).unwrap();
    mem.write_u32(entry + 8, t | 0x8000_0000).unwrap();
    assert_eq!(w.t.set_robust_list(t, head, 23), Err(Errno::EINVAL));
    w.t.set_robust_list(t, head, 24).unwrap();
    w.exit(t, 0);
    assert_eq!(mem.read_u32(entry + 8), Ok(0x8000_0000 | 0x4000_0000));
    assert!(w.s.events().contains(&Event::FutexWake(entry + 8)));
    drop(vm);
    w.exit(p, 0);
    assert_eq!(w.wait4(1, -1, 0), Ok((p, 0)));
    finish(w);
}

/// Every signal queued, blocked or not, process- or thread-directed, is
/// announced by `signal_queued` with the process (signalfd's wake-up);
/// one discarded as ignored is not.
#[test]
fn signal_queued_hook_names_the_process() {
    let w = world();
    let p = w.fork(1);
    let t = w.clone(p, THREAD).unwrap();
    for x in [p, t] {
        w.t.with_thread(x, |th| th.signals_mut().set_blocked(SigSet::single(SIGUSR1).with(signal::SIGUSR2)));
    }
    w.s.take_events();
    w.s.take_queued();
    assert_eq!(w.t.kill(p, p as i32, 10, &w.s), Ok(()));
    // blocked in every thread: nobody is woken, the hook still runs
    assert_eq!(w.s.take_events(), vec![]);
    assert_eq!(w.s.take_queued(), vec![p]);
    assert_eq!(w.t.tgkill(p, Some(p as i32), t as i32, 12, &w.s), Ok(()));
    assert_eq!(w.s.take_queued(), vec![p]);
    // SIGCHLD's default is to ignore: discarded, not queued
    assert_eq!(w.t.kill(p, p as i32, 17, &w.s), Ok(()));
    assert_eq!(w.s.take_queued(), vec![]);
    w.exit(t, 0);
    w.exit(p, 0);
    assert_eq!(w.wait4(1, -1, 0), Ok((p, 0)));
    finish(w);
}

#[test]
fn tgkill_targets_one_thread() {
    let w = world();
    let p = w.fork(1);
    let t = w.clone(p, THREAD).unwrap();
    let caught = SigAction::handler(0x1000, SaFlags::empty(), SigSet::EMPTY);
    w.set_action(p, SIGUSR1, caught);
    assert_eq!(w.t.tgkill(p, Some(p as i32), 0, 10, &w.s), Err(Errno::EINVAL));
    assert_eq!(w.t.tgkill(p, Some(0), t as i32, 10, &w.s), Err(Errno::EINVAL));
    assert_eq!(w.t.tgkill(p, Some(1), t as i32, 10, &w.s), Err(Errno::ESRCH));
    assert_eq!(w.t.tgkill(p, Some(p as i32), 999, 10, &w.s), Err(Errno::ESRCH));
    assert_eq!(w.t.tgkill(p, Some(p as i32), t as i32, 65, &w.s), Err(Errno::EINVAL));
    w.s.take_events();
    assert_eq!(w.t.tgkill(p, Some(p as i32), t as i32, 10, &w.s), Ok(()));
    assert_eq!(w.s.take_events(), vec![Event::Wakeup(t)]);
    assert!(w.t.with_thread(t, |x| x.signals().pending().pending().contains(SIGUSR1)).unwrap());
    assert!(!w.t.with_thread(p, |x| x.signals().pending().pending().contains(SIGUSR1)).unwrap());
    assert!(!w.pending(p).contains(SIGUSR1));
    // tkill with a fatal default: the whole group goes.
    assert_eq!(w.t.tgkill(1, None, t as i32, 15, &w.s), Ok(()));
    assert_eq!(w.t.threads_to_kill(), vec![p, t]);
    w.exit(t, 0);
    w.exit(p, 0);
    assert_eq!(w.wait4(1, -1, 0), Ok((p, 15)));
    finish(w);
}

#[test]
fn prlimit_on_processes() {
    use process::rlimit::{RLIM_INFINITY, Rlimit};
    let w = world();
    let u = w.fork(1);
    let v = w.fork(1);
    w.t.with_process(u, |p| *p.creds_mut() = process::cred::Credentials::user(1000, 1000));
    assert_eq!(w.t.prlimit(u, 999, 7, None, process::rlimit::NR_OPEN), Err(Errno::ESRCH));
    assert_eq!(w.t.prlimit(u, v as i32, 7, None, process::rlimit::NR_OPEN), Err(Errno::EPERM));
    assert_eq!(w.t.prlimit(u, 0, 16, None, process::rlimit::NR_OPEN), Err(Errno::EINVAL));
    assert_eq!(w.t.prlimit(u, 0, 7, None, process::rlimit::NR_OPEN), Ok(Rlimit::new(1024, 4096)));
    assert_eq!(w.t.prlimit(u, 0, 7, Some(Rlimit::both(8192)), process::rlimit::NR_OPEN), Err(Errno::EPERM));
    assert_eq!(
        w.t.prlimit(u, 0, 7, Some(Rlimit::both(100)), process::rlimit::NR_OPEN),
        Ok(Rlimit::new(1024, 4096))
    );
    assert_eq!(
        w.t.prlimit(1, u as i32, 3, None, process::rlimit::NR_OPEN),
        Ok(Rlimit::new(8 << 20, RLIM_INFINITY))
    );
    // Limits are inherited by fork.
    let c = w.fork(u);
    assert_eq!(w.t.prlimit(c, 0, 7, None, process::rlimit::NR_OPEN), Ok(Rlimit::both(100)));
    for x in [c, u, v] {
        w.exit(x, 0);
    }
    for _ in 0..3 {
        assert!(w.wait4(1, -1, 0).is_ok());
    }
    finish(w);
}

#[test]
fn failed_fork_after_cow_leaks_no_frame() {
    let frames = TestFrames::new();
    let t = Arc::new(ProcessTable::<TestPlatform>::new(3));
    t.spawn_init(init_process(&frames)).unwrap();
    let w = World { frames, t, s: FakeScheduler::new() };
    for i in 0..4 {
        w.write_u32(1, ADDR + i * 4096, i as u32 + 1);
    }
    let before = w.frames.allocated();
    let a = w.fork(1);
    // The pid space (1..3) is full: the address space was forked, then
    // dropped again.
    assert_eq!(w.t.clone_task(1, &CloneArgs::fork(), &w.s), Err(Errno::EAGAIN));
    assert_eq!(w.frames.allocated(), before);
    w.write_u32(1, ADDR, 9);
    assert_eq!(w.frames.allocated(), before + 1, "one COW copy: a still shares");
    w.exit(a, 0);
    assert_eq!(w.wait4(1, -1, 0), Ok((a, 0)));
    finish(w);
}

/// clone(2)'s ERRORS, end to end through the table: each case quotes its
/// rule, gives its errno, and leaves the table as it was.
#[test]
fn man_page_errors_through_the_table() {
    let w = world();
    let root = w.fork(1);
    let user = w.fork(1);
    w.t.with_process(user, |p| *p.creds_mut() = process::cred::Credentials::user(1000, 1000));
    let thread = F::THREAD | F::SIGHAND | F::VM;
    let clone = |f: F| CloneArgs::from_clone(f.bits() | 17, 0, ADDR, ADDR + 4, 0);
    let clone3 = |f: F| CloneArgs::new(process::clone::CloneKind::Clone3, f, 0);
    let cases: Vec<(&str, u32, CloneArgs, Errno)> = vec![
        (
            "EEXIST (clone3() only) One (or more) of the PIDs specified in set_tid already exists",
            root,
            clone3(F::empty()).with_set_tid(vec![user as i32]),
            Errno::EEXIST,
        ),
        (
            "EINVAL Both CLONE_SIGHAND and CLONE_CLEAR_SIGHAND were specified in flags.",
            root,
            clone3(F::SIGHAND | F::VM | F::CLEAR_SIGHAND),
            Errno::EINVAL,
        ),
        (
            "EINVAL CLONE_SIGHAND was specified in flags, but CLONE_VM was not.",
            user,
            clone(F::SIGHAND),
            Errno::EINVAL,
        ),
        (
            "EINVAL CLONE_THREAD was specified in flags, but CLONE_SIGHAND was not.",
            user,
            clone(F::THREAD | F::VM),
            Errno::EINVAL,
        ),
        (
            "EINVAL Both CLONE_FS and CLONE_NEWNS were specified in flags.",
            root,
            clone(F::FS | F::NEWNS),
            Errno::EINVAL,
        ),
        (
            "EINVAL Both CLONE_NEWUSER and CLONE_FS were specified in flags.",
            user,
            clone(F::FS | F::NEWUSER),
            Errno::EINVAL,
        ),
        (
            "EINVAL Both CLONE_NEWIPC and CLONE_SYSVSEM were specified in flags.",
            root,
            clone(F::NEWIPC | F::SYSVSEM),
            Errno::EINVAL,
        ),
        (
            "EINVAL One (or both) of CLONE_NEWPID or CLONE_NEWUSER and one (or both) of CLONE_THREAD or CLONE_PARENT were specified in flags.",
            root,
            clone(thread | F::NEWPID),
            Errno::EINVAL,
        ),
        (
            "EINVAL CLONE_PARENT was specified, and the caller is an init process.",
            1,
            clone(F::PARENT),
            Errno::EINVAL,
        ),
        (
            "EINVAL (clone() only) CLONE_PIDFD was specified together with CLONE_DETACHED in flags.",
            user,
            CloneArgs::from_clone((F::PIDFD | F::DETACHED).bits() | 17, 0, 0, 0, 0),
            Errno::EINVAL,
        ),
        (
            "EINVAL CLONE_PIDFD was specified together with CLONE_THREAD in flags.",
            user,
            clone(thread | F::PIDFD),
            Errno::EINVAL,
        ),
        (
            "EINVAL (clone() only) CLONE_PIDFD was specified together with CLONE_PARENT_SETTID in flags.",
            user,
            clone(F::PIDFD | F::PARENT_SETTID),
            Errno::EINVAL,
        ),
        (
            "EINVAL (clone3() only) set_tid_size is greater than the number of nested PID namespaces.",
            root,
            clone3(F::empty()).with_set_tid(vec![700, 701]),
            Errno::EINVAL,
        ),
        (
            "EINVAL (clone3() only) One of the PIDs specified in set_tid was an invalid.",
            root,
            clone3(F::empty()).with_set_tid(vec![-5]),
            Errno::EINVAL,
        ),
        (
            "EPERM CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, or CLONE_NEWUTS was specified by an unprivileged process",
            user,
            clone(F::NEWUTS),
            Errno::EPERM,
        ),
        (
            "EPERM (clone3() only) set_tid_size was greater than zero, and the caller lacks the CAP_SYS_ADMIN capability",
            user,
            clone3(F::empty()).with_set_tid(vec![700]),
            Errno::EPERM,
        ),
        (
            "(CLONE_INTO_CGROUP: no cgroup v2 here, so the fd is not a cgroup directory)",
            root,
            CloneArgs::fork().with_flags(F::INTO_CGROUP).with_cgroup(0),
            Errno::EBADF,
        ),
    ];
    let before = (w.t.pids(), w.t.pids_in_use(), w.t.thread_count(), w.frames.allocated());
    for (rule, caller, args, errno) in cases {
        assert_eq!(w.t.clone_task(caller, &args, &w.s), Err(errno), "{rule}");
        assert_eq!(
            (w.t.pids(), w.t.pids_in_use(), w.t.thread_count(), w.frames.allocated()),
            before,
            "no trace: {rule}"
        );
    }
    assert!(!w.s.events().iter().any(|e| matches!(e, Event::Created(x) if *x > user)));
    for x in [root, user] {
        w.exit(x, 0);
        assert_eq!(w.wait4(1, x as i32, 0), Ok((x, 0)));
    }
    finish(w);
}

#[test]
fn syscall_shaped_helpers() {
    let w = world();
    // clone3 struct in init's memory: flags 0, exit_signal SIGCHLD.
    let mut raw = [0u8; 88];
    raw[32..40].copy_from_slice(&17u64.to_ne_bytes());
    let mem_vm = w.vm(1);
    let mem = VmMemory::<TestPlatform>(&mem_vm);
    mem.write_bytes(ADDR, &raw).unwrap();
    assert_eq!(w.t.sys_clone3(1, ADDR, 63, &w.s), Err(Errno::EINVAL));
    assert_eq!(w.t.sys_clone3(1, ADDR, 5000, &w.s), Err(Errno::E2BIG));
    let c = w.t.sys_clone3(1, ADDR, 88, &w.s).unwrap();
    w.exit(c, 7);
    let status = ADDR + 0x100;
    let ru = ADDR + 0x200;
    w.t.with_process(c, |p| p.usage_mut().utime_us = 1_500_000);
    assert_eq!(w.t.sys_wait4(1, -1, status, 0, ru, &w.s), Ok(c));
    assert_eq!(mem.read_u32(status), Ok(0x700));
    let mut tv = [0u8; 16];
    mem.read_bytes(ru, &mut tv).unwrap();
    assert_eq!(u64::from_ne_bytes(tv[..8].try_into().unwrap()), 1);
    assert_eq!(u64::from_ne_bytes(tv[8..].try_into().unwrap()), 500_000);
    // waitid with WNOHANG and a running child: 0, and a zeroed siginfo.
    let d = w.fork(1);
    let info = ADDR + 0x300;
    mem.write_bytes(info, &[0xff; 28]).unwrap();
    assert_eq!(w.t.sys_waitid(1, P_ALL, 0, info, (W::WEXITED | W::WNOHANG).bits(), 0, &w.s), Ok(()));
    assert_eq!(mem.read_u32(info), Ok(0));
    assert_eq!(mem.read_u32(info + 16), Ok(0));
    w.exit(d, 2);
    assert_eq!(w.t.sys_waitid(1, P_PID, d as i32, info, W::WEXITED.bits(), 0, &w.s), Ok(()));
    assert_eq!(mem.read_u32(info), Ok(17));
    assert_eq!(mem.read_u32(info + 8), Ok(CLD_EXITED as u32));
    assert_eq!(mem.read_u32(info + 16), Ok(d));
    assert_eq!(mem.read_u32(info + 24), Ok(2));
    // A bad status address: EFAULT, but the child is gone.
    let e = w.fork(1);
    w.exit(e, 0);
    assert_eq!(w.t.sys_wait4(1, -1, 0x10, 0, 0, &w.s), Err(Errno::EFAULT));
    assert_eq!(w.wait4(1, -1, 0), Err(Errno::ECHILD));
    drop(mem_vm);
    finish(w);
}

#[test]
fn unshare_rules() {
    let w = world();
    let c = w.clone(1, (F::FS | F::FILES | F::SYSVSEM).bits() | 17).unwrap();
    assert_eq!(w.t.unshare(c, 1 << 32), Err(Errno::EINVAL), "CLONE_CLEAR_SIGHAND is not an unshare flag");
    // an IPC namespace of its own, owned by the caller's user namespace;
    // the parent keeps the initial one, a fork shares the new one
    assert_eq!(w.t.with_process(c, |p| p.ns().ipc.ino()), Some(process::ns::INIT_IPC_INO));
    assert_eq!(w.t.unshare(c, F::NEWIPC.bits()), Ok(()));
    let ipc1 = w.t.with_process(c, |p| p.ns().ipc.ino()).unwrap();
    assert_ne!(ipc1, process::ns::INIT_IPC_INO);
    assert!(w.t.with_process(c, |p| p.ns().ipc.owner().is_initial()).unwrap());
    assert_eq!(w.t.with_process(1, |p| p.ns().ipc.ino()), Some(process::ns::INIT_IPC_INO));
    let f = w.clone(c, 17).unwrap();
    assert_eq!(w.t.with_process(f, |p| p.ns().ipc.ino()), Some(ipc1));
    w.exit(f, 0);
    assert_eq!(w.wait4(c, f as i32, 0), Ok((f, 0)));
    // a network namespace of its own, the parent keeping the initial one
    assert_eq!(w.t.unshare(c, F::NEWNET.bits()), Ok(()));
    let net1 = w.t.with_process(c, |p| p.ns().net.ino()).unwrap();
    assert_ne!(net1, process::ns::INIT_NET_INO);
    assert_ne!(net1, ipc1);
    assert_eq!(w.t.with_process(1, |p| p.ns().net.ino()), Some(process::ns::INIT_NET_INO));
    // a cgroup namespace: rooted where its maker's was until the kernel
    // sets its root
    w.t.with_process(c, |p| p.ns().cgroup.set_root(7));
    assert_eq!(w.t.unshare(c, F::NEWCGROUP.bits()), Ok(()));
    let cg1 = w.t.with_process(c, |p| (p.ns().cgroup.ino(), p.ns().cgroup.root())).unwrap();
    assert_ne!(cg1.0, process::ns::INIT_CGROUP_INO);
    assert_eq!(cg1.1, 7);
    assert_eq!(w.t.with_process(1, |p| p.ns().cgroup.ino()), Some(process::ns::INIT_CGROUP_INO));
    // Nothing to unshare: THREAD/SIGHAND/VM "work" when single-threaded.
    assert_eq!(w.t.unshare(c, (F::THREAD | F::SIGHAND).bits()), Ok(()));
    // CLONE_FS and CLONE_FILES: private copies from now on.
    assert_eq!(w.t.unshare(c, (F::FS | F::FILES | F::SYSVSEM).bits()), Ok(()));
    w.t.with_thread(c, |t| t.fs().unwrap().lock().set_cwd("/x".into()));
    w.close(c, 0);
    assert_eq!(w.cwd(1), "/");
    assert!(w.has_fd(1, 0));
    assert!(w.t.with_thread(c, |t| t.sem_undo().is_none()).unwrap());
    // A multi-threaded process cannot unshare its thread group.
    let th = w.clone(c, (F::THREAD | F::SIGHAND | F::VM).bits()).unwrap();
    assert_eq!(w.t.unshare(c, F::THREAD.bits()), Err(Errno::EINVAL));
    assert_eq!(w.t.unshare(th, F::VM.bits()), Err(Errno::EINVAL));
    w.exit(th, 0);
    // A shared address space cannot be unshared either.
    let v = w.clone(c, F::VM.bits() | 17).unwrap();
    assert_eq!(w.t.unshare(c, F::VM.bits()), Err(Errno::EINVAL));
    w.t.with_process(c, |p| *p.creds_mut() = process::cred::Credentials::user(5, 5));
    assert_eq!(w.t.unshare(c, F::NEWNS.bits()), Err(Errno::EPERM));
    assert_eq!(w.t.unshare(c, F::NEWUTS.bits()), Err(Errno::EPERM));
    // a user namespace first: its creator may then make the others in it
    let uts0 = w.t.with_process(c, |p| p.ns().uts.ino()).unwrap();
    assert_eq!(w.t.unshare(c, (F::NEWUSER | F::NEWUTS).bits()), Ok(()));
    let (uts1, user1, caps, bset) =
        w.t.with_process(c, |p| {
            (p.ns().uts.ino(), p.creds().user_ns.ino(), p.creds().cap_effective, p.cap_bset())
        })
        .unwrap();
    assert_ne!(uts0, uts1);
    assert_ne!(user1, process::ns::INIT_USER_INO);
    assert_ne!(user1, uts1, "one number per namespace");
    assert_eq!((caps, bset), (process::cred::CAP_FULL_SET, process::cred::CAP_FULL_SET));
    assert!(!w.t.with_process(c, |p| p.creds().capable()).unwrap(), "no privilege outside");
    // the parent keeps its namespaces; a fork shares the child's
    assert_eq!(w.t.with_process(1, |p| p.ns().uts.ino()), Some(process::ns::INIT_UTS_INO));
    let g = w.clone(c, 17).unwrap();
    assert_eq!(w.t.with_process(g, |p| (p.ns().uts.ino(), p.creds().user_ns.ino())), Some((uts1, user1)));
    w.exit(g, 0);
    assert_eq!(w.wait4(c, g as i32, 0), Ok((g, 0)));
    w.exit(v, 0);
    assert_eq!(w.wait4(c, v as i32, 0), Ok((v, 0)));
    // a time namespace for its children, its own staying (threads are
    // refused from then on: last)
    let time0 = w.t.with_process(c, |p| p.ns().time.ino()).unwrap();
    assert_eq!(w.t.unshare(c, F::NEWTIME.bits()), Ok(()));
    assert_eq!(w.t.with_process(c, |p| p.ns().time.ino()), Some(time0));
    assert_ne!(w.t.with_process(c, |p| p.ns().time_children.ino()), Some(time0));
    w.exit(c, 0);
    assert_eq!(w.wait4(1, c as i32, 0), Ok((c, 0)));
    w.t.with_thread(1, |t| drop(t.replace_sem_undo(None)));
    finish(w);
}

/// Charges `user` and `sys` nanoseconds to thread `tid`'s account.
fn spend(w: &World, tid: u32, user: u64, sys: u64) {
    use process::cputime::Side;
    let cpu = w.t.thread_cpu(tid).unwrap();
    cpu.switch_in(0);
    cpu.charge(sys, Side::System);
    cpu.charge(sys + user, Side::User);
    cpu.switch_out(sys + user, true);
}

#[test]
fn cpu_times_add_up_at_thread_exit_and_at_reap() {
    let w = world();
    let a = w.fork(1);
    let a2 = w.clone(a, F::VM.bits() | F::THREAD.bits() | F::SIGHAND.bits()).unwrap();
    spend(&w, a, 3_000_000, 1_000_000);
    spend(&w, a2, 2_000_000, 0);
    let u = w.t.usage(a).unwrap();
    assert_eq!((u.utime_us, u.stime_us), (5_000, 1_000), "live threads count");
    assert_eq!(w.t.cpu_times(a).unwrap().total_ns(), 6_000_000);
    // a grandchild reaped by a: its times go to a's children's usage
    let g = w.fork(a);
    spend(&w, g, 7_000_000, 0);
    w.exit(a2, 0);
    assert_eq!(w.t.usage(a).unwrap().utime_us, 5_000, "an exited thread's time stays with its process");
    w.exit(g, 0);
    assert_eq!(w.t.with_process(a, |p| p.children_usage().utime_us), Some(0), "not reaped yet");
    assert_eq!(w.wait4(a, g as i32, 0), Ok((g, 0)));
    assert_eq!(w.t.with_process(a, |p| p.children_usage().utime_us), Some(7_000));
    assert_eq!(w.t.with_process(1, |p| p.children_usage().utime_us), Some(0));
    w.exit(a, 0);
    // wait4's rusage: the child's own time plus what it reaped
    let (pid, _, ru) = w.t.wait4(1, a as i32, 0, &w.s).unwrap();
    assert_eq!(pid, a);
    assert_eq!((ru.utime_us, ru.stime_us, ru.nvcsw), (12_000, 1_000, 3));
    let kids = w.t.with_process(1, |p| p.children_usage()).unwrap();
    assert_eq!((kids.utime_us, kids.stime_us), (12_000, 1_000));
    // a fresh child starts at zero
    let b = w.fork(1);
    assert_eq!(w.t.usage(b).unwrap().utime_us, 0);
    w.exit(b, 0);
    assert_eq!(w.wait4(1, b as i32, 0), Ok((b, 0)));
    finish(w);
}

#[test]
fn pdeath_signal_follows_the_creating_thread_and_is_cleared_by_fork() {
    let w = world();
    let a = w.fork(1);
    let a2 = w.clone(a, F::VM.bits() | F::THREAD.bits() | F::SIGHAND.bits()).unwrap();
    // a child created by thread a2 asks for SIGUSR1 when its parent dies
    let c = w.fork(a2);
    w.t.with_thread(c, |t| t.set_pdeath_signal(SIGUSR1.get())).unwrap();
    let d = w.fork(c);
    assert_eq!(w.t.with_thread(d, |t| t.pdeath_signal()), Some(0), "fork clears it");
    // a itself exiting is not c's parent thread
    w.exit(a, 0);
    assert!(!w.pending(c).contains(SIGUSR1));
    w.exit(a2, 0);
    assert!(w.pending(c).contains(SIGUSR1), "the creating thread exited");
    assert!(!w.pending(d).contains(SIGUSR1));
    assert_eq!(w.t.getppid(c), Ok(1));
    assert_eq!(w.wait4(1, a as i32, 0), Ok((a, 0)));
    w.exit(d, 0);
    w.exit(c, 0);
    assert_eq!(w.wait4(1, -1, 0).map(|r| r.0 == c || r.0 == d), Ok(true));
    assert_eq!(w.wait4(1, -1, 0).map(|r| r.0 == c || r.0 == d), Ok(true));
    finish(w);
}

#[test]
fn prctl_fields_across_clone_and_exec() {
    let w = world();
    let a = w.fork(1);
    w.t.with_thread(a, |t| {
        t.set_no_new_privs();
        t.set_timer_slack_ns(1234);
    });
    w.t.with_process(a, |p| p.set_dumpable(0));
    let b = w.fork(a);
    assert_eq!(
        w.t.with_thread(b, |t| (t.no_new_privs(), t.timer_slack_ns(), t.default_timer_slack_ns())),
        Some((true, 1234, 1234))
    );
    assert_eq!(w.t.with_process(b, |p| p.dumpable()), Some(0), "fork copies dumpable");
    w.exit(b, 0);
    assert_eq!(w.wait4(a, b as i32, 0), Ok((b, 0)));
    w.exit(a, 0);
    assert_eq!(w.wait4(1, a as i32, 0), Ok((a, 0)));
    finish(w);
}

#[test]
fn exit_mm_gives_the_memory_back_before_the_parent_hears() {
    // Linux: exit_mm() before exit_notify(); the last thread to give up
    // the address space takes the process's handle, the parent is told
    // only by the exit that follows.
    let w = world();
    let p = w.fork(1);
    let t1 = w.clone(p, THREAD).unwrap();
    // the child's own page (a COW break)
    w.write_u32(p, ADDR, 7);
    let before = w.frames.allocated();
    // the first thread keeps the address space for the other
    assert!(w.t.exit_mm(t1, &w.s).is_none());
    assert!(w.t.with_process(p, |x| x.vm().is_some()).unwrap());
    // repeating it changes nothing
    assert!(w.t.exit_mm(t1, &w.s).is_none());
    let vm = w.t.exit_mm(p, &w.s).expect("the last thread takes the address space");
    assert_eq!(w.t.with_process(p, |x| x.vm().is_none()), Some(true));
    assert_eq!(Arc::strong_count(&vm), 1);
    drop(vm);
    assert!(w.frames.allocated() < before, "the frames went back at once");
    // nobody heard yet: the threads are still there
    assert_eq!(w.wait4(1, p as i32, WNOHANG), Ok((0, 0)));
    w.exit(t1, 0);
    assert_eq!(w.wait4(1, p as i32, WNOHANG), Ok((0, 0)));
    w.t.exit_group(p, ChildStatus::exited(3), &w.s);
    assert_eq!(w.wait4(1, p as i32, 0), Ok((p, 0x300)));
    finish(w);
}

/// The signal epoch is the table's own (two tables do not share one): a
/// kill, a mask change through `with_thread` and a forked child's queue all
/// move it; the other table's stays put.
#[test]
fn signal_epoch_is_the_tables() {
    let w = world();
    let other = world();
    let (e, o) = (w.t.epoch().clone(), other.t.epoch().clone());
    assert!(!e.same(&o));
    let child = w.fork(1);
    let (before, other_before) = (e.current(), o.current());
    let both = SigSet::single(SIGUSR1).union(SigSet::single(signal::SIGUSR2));
    // blocking more makes no signal deliverable: no bump; unblocking does
    w.t.with_thread(child, |t| t.signals_mut().sigprocmask(signal::SigMaskHow::Block, both));
    assert_eq!(e.current(), before);
    w.t.with_thread(child, |t| t.signals_mut().sigprocmask(signal::SigMaskHow::Unblock, both));
    assert!(e.current() > before);
    // blocked again (queued below, not acted on)
    w.t.with_thread(child, |t| t.signals_mut().sigprocmask(signal::SigMaskHow::Block, both));
    let after_mask = e.current();
    w.t.kill(1, child as i32, SIGUSR1.as_i32(), &w.s).unwrap();
    assert!(e.current() > after_mask);
    assert_eq!(o.current(), other_before);
    // a tgkill queues on the thread's own queue, made by the fork
    let before = e.current();
    w.t.tgkill(1, Some(child as i32), child as i32, signal::SIGUSR2.as_i32(), &w.s).unwrap();
    assert!(e.current() > before);
    assert_eq!(o.current(), other_before);
    // a table made with the kernel's epoch bumps that one
    let mine = signal::Epoch::new();
    let t = process::table::ProcessTable::<TestPlatform>::with_epoch(64, mine.clone());
    assert!(t.epoch().same(&mine));
    w.exit(child, 0);
    assert_eq!(w.wait4(1, -1, 0).map(|r| r.0), Ok(child));
    finish(w);
    finish(other);
}

/// A `with_*` closure that calls the table: a nested `with_*` returns
/// `None`, another call panics (it used to spin forever); the table works
/// afterwards, and another thread's call during a closure waits as before.
#[test]
fn a_closure_that_calls_the_table_is_caught() {
    let w = world();
    let t = &w.t;
    assert_eq!(t.with_thread(1, |_| t.with_process(1, |p| p.pid())), Some(None));
    assert_eq!(t.with_process(1, |_| t.with_thread(1, |th| th.tid())), Some(None));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.with_thread(1, |_| t.getppid(1))));
    let msg = r.unwrap_err();
    assert!(msg.downcast_ref::<&str>().is_some_and(|m| m.contains("with_thread/with_process closure")));
    // the lock was released by the unwinding guard: the table still works
    assert_eq!(t.getppid(1), Ok(0));
    assert_eq!(t.with_thread(1, |th| th.tid()), Some(1));
    // another thread's call while a closure runs is not re-entrance
    let other = std::thread::scope(|s| {
        t.with_thread(1, |_| s.spawn(|| t.getppid(1)).is_finished()).unwrap();
        s.spawn(|| t.with_process(1, |p| p.pid())).join().unwrap()
    });
    assert_eq!(other, Some(1));
    finish(w);
}

#[test]
fn group_kill_reaches_exactly_the_members_as_groups_change() {
    let w = world();
    let a = w.fork(1);
    let (b, c, d) = (w.fork(a), w.fork(a), w.fork(a));
    let usr1 = SIGUSR1.as_i32();
    let hit = |pids: &[u32]| -> Vec<u32> {
        let mut v: Vec<u32> = pids.iter().copied().filter(|&p| w.pending(p).contains(SIGUSR1)).collect();
        v.sort_unstable();
        for &p in pids {
            w.t.with_process(p, |q| q.pending_mut().clear());
        }
        v
    };
    let all = [a, b, c, d];
    // a handler, so the signal stays pending where it was sent
    for p in all {
        w.set_action(p, SIGUSR1, SigAction::handler(0x1000, SaFlags::empty(), SigSet::EMPTY));
    }
    // a leads a group of a, b and c; d stays in init's group
    w.t.setpgid(a, 0, 0).unwrap();
    w.t.setpgid(a, b as i32, a as i32).unwrap();
    w.t.setpgid(a, c as i32, a as i32).unwrap();
    w.t.kill(1, -(a as i32), usr1, &w.s).unwrap();
    assert_eq!(hit(&all), vec![a, b, c]);
    assert_eq!(w.t.group_members(a), vec![a, b, c]);
    // getpriority/setpriority's walks: the group's threads, or those of
    // the processes a filter keeps
    assert_eq!(w.t.try_threads_of(Some(a), |_| true), Ok(vec![a, b, c]));
    assert_eq!(w.t.try_threads_of(Some(a), |p| p.pid() != b), Ok(vec![a, c]));
    assert_eq!(w.t.try_threads_of(None, |p| p.pid() == d), Ok(vec![d]));
    assert_eq!(w.t.try_threads_of(Some(9999), |_| true), Ok(vec![]));
    // c moves to a group of its own; b goes back to init's
    w.t.setpgid(a, c as i32, 0).unwrap();
    w.t.setpgid(a, b as i32, 1).unwrap();
    w.t.kill(1, -(a as i32), usr1, &w.s).unwrap();
    assert_eq!(hit(&all), vec![a]);
    w.t.kill(1, -(c as i32), usr1, &w.s).unwrap();
    assert_eq!(hit(&all), vec![c]);
    // d makes a session (and group) of its own
    assert_eq!(w.t.setsid(d), Ok(d));
    w.t.kill(1, -(d as i32), usr1, &w.s).unwrap();
    assert_eq!(hit(&all), vec![d]);
    assert_eq!(w.t.kill(1, -(c as i32), 0, &w.s), Ok(()));
    // a reaped member leaves its group: ESRCH once the group is empty
    w.exit(c, 0);
    assert_eq!(w.wait4(a, c as i32, 0).map(|r| r.0), Ok(c));
    assert_eq!(w.t.kill(1, -(c as i32), usr1, &w.s), Err(Errno::ESRCH));
    for x in [b, d] {
        w.exit(x, 0);
        assert_eq!(w.wait4(a, x as i32, 0).map(|r| r.0), Ok(x));
    }
    w.exit(a, 0);
    assert_eq!(w.wait4(1, a as i32, 0).map(|r| r.0), Ok(a));
    assert_eq!(w.t.kill(1, -(a as i32), usr1, &w.s), Err(Errno::ESRCH));
    finish(w);
}

#[test]
fn threads_max_counts_exited_leaders_and_zombies_until_reaped() {
    let w = world();
    // init: one task; a with a thread t: three
    let a = w.fork(1);
    let t = w.clone(a, THREAD).unwrap();
    w.t.set_max_threads(4);
    let b = w.fork(1);
    assert_eq!(w.clone(1, 0).map(|_| ()), Err(Errno::EAGAIN), "4 tasks: init, a, t, b");
    // a's leader exits first: it still counts while t lives
    w.exit(a, 0);
    assert_eq!(w.clone(1, 0).map(|_| ()), Err(Errno::EAGAIN), "a's leader counts until reaped");
    // b becomes a zombie: still counted
    w.exit(b, 0);
    assert_eq!(w.clone(1, 0).map(|_| ()), Err(Errno::EAGAIN), "a zombie counts");
    assert_eq!(w.wait4(1, b as i32, 0).map(|r| r.0), Ok(b));
    let c = w.fork(1);
    assert_eq!(w.clone(1, 0).map(|_| ()), Err(Errno::EAGAIN));
    // t's exec makes it the leader again: a counts once
    let frames = w.frames.clone();
    w.t.exec(t, vm::testing::test_vmar(&frames), &w.s).unwrap();
    let d = w.fork(1);
    assert_eq!(w.clone(1, 0).map(|_| ()), Err(Errno::EAGAIN), "init, a (once), c, d");
    w.t.set_max_threads(u64::MAX);
    for x in [a, c, d] {
        w.exit(x, 0);
        assert_eq!(w.wait4(1, x as i32, 0).map(|r| r.0), Ok(x));
    }
    w.t.set_max_threads(2);
    let e = w.fork(1);
    assert_eq!(w.clone(1, 0).map(|_| ()), Err(Errno::EAGAIN), "init and e");
    w.exit(e, 0);
    assert_eq!(w.wait4(1, e as i32, 0).map(|r| r.0), Ok(e));
    finish(w);
}

/// The process's trace link goes with its last tracee: a worker seized by
/// a tracer that is not the parent exits; the tracer reaps the worker's
/// exit by its tid, the process is no longer traced (the parent's wait for
/// it is not deferred; another tracer may attach).
#[test]
fn the_trace_link_goes_with_the_last_traced_thread() {
    use process::ptrace::Options;
    let w = world();
    let p = w.fork(1);
    let t = w.clone(p, THREAD).unwrap();
    let tracer = w.fork(1);
    let other = w.fork(1);
    assert_eq!(w.t.ptrace_attach(tracer, t as i32, Some(Options::empty()), &w.s), Ok(t));
    assert_eq!(w.t.ptrace_attach(other, p as i32, Some(Options::empty()), &w.s), Err(Errno::EPERM));
    w.exit(t, 7);
    assert!(w.t.with_process(p, |x| x.ptrace().is_none()).unwrap());
    // a tracee thread is waited for without __WALL; the report is the tracer's
    assert_eq!(w.wait4(tracer, t as i32, WNOHANG), Ok((t, 0x700)));
    assert_eq!(w.wait4(tracer, -1, WNOHANG), Err(Errno::ECHILD));
    assert_eq!(w.t.ptrace_attach(other, p as i32, Some(Options::empty()), &w.s), Ok(p));
    assert_eq!(w.t.ptrace_tracee(other, p as i32, true), Ok((p, p)));
    w.t.ptrace_detach(p, 0, &w.s);
    assert!(w.t.with_process(p, |x| x.ptrace().is_none()).unwrap());
    w.exit(p, 3);
    // the parent hears of the exit at once
    assert_eq!(w.wait4(1, p as i32, WNOHANG), Ok((p, 0x300)));
    for c in [tracer, other] {
        w.exit(c, 0);
        assert_eq!(w.wait4(1, c as i32, 0), Ok((c, 0)));
    }
    finish(w);
}

/// A tracee that dies while its parent lives waits for its tracer's
/// report; its parent then dies and it goes to the reaper, which is the
/// tracer: the tracer, now its parent too, reaps it (smp36: pidns.c's
/// ptrace case hung in waitpid on 4 CPUs, where the two deaths came in
/// this order).
#[test]
fn a_dead_tracee_reparented_to_its_tracer_is_reaped_by_it() {
    use process::ptrace::Options;
    let w = world();
    let p = w.fork(1);
    let c = w.fork(p);
    assert_eq!(w.t.ptrace_attach(1, c as i32, Some(Options::empty()), &w.s), Ok(c));
    w.exit(c, 7);
    // the parent waits for the tracer
    assert_eq!(w.wait4(p, c as i32, WNOHANG), Ok((0, 0)));
    w.exit(p, 0);
    assert_eq!(w.wait4(1, c as i32, WNOHANG | WALL), Ok((c, 0x700)));
    assert_eq!(w.wait4(1, p as i32, 0), Ok((p, 0)));
    finish(w);
}

/// exec's de_thread() of the only tracee ends the link; the tracee's exit
/// (0, as Linux's for a thread killed by an exec) is the tracer's.
#[test]
fn exec_ends_the_link_of_a_traced_worker() {
    use process::ptrace::Options;
    let w = world();
    let p = w.fork(1);
    let t = w.clone(p, THREAD).unwrap();
    let tracer = w.fork(1);
    assert_eq!(w.t.ptrace_attach(tracer, t as i32, Some(Options::empty()), &w.s), Ok(t));
    let frames = w.frames.clone();
    assert_eq!(w.t.exec(p, vm::testing::test_vmar(&frames), &w.s), Ok(p));
    assert!(w.t.with_process(p, |x| x.ptrace().is_none()).unwrap());
    // the worker, killed for the exec, exited 0; its exit is the tracer's
    assert_eq!(w.wait4(tracer, -1, WNOHANG), Ok((t, 0)));
    assert_eq!(w.wait4(tracer, -1, WNOHANG), Err(Errno::ECHILD));
    w.exit(p, 0);
    assert_eq!(w.wait4(1, p as i32, WNOHANG), Ok((p, 0)));
    w.exit(tracer, 0);
    assert_eq!(w.wait4(1, tracer as i32, 0), Ok((tracer, 0)));
    finish(w);
}

#[test]
fn orphaned_group_checks_skip_zombie_members_and_follow_setpgid() {
    let w = world();
    let a = w.fork(1);
    let (b, c, d) = (w.fork(a), w.fork(a), w.fork(a));
    for m in [b, c, d] {
        w.t.setpgid(a, m as i32, b as i32).unwrap();
    }
    // b and c die unreaped: their zombies stay in the group
    w.exit(b, 0);
    w.exit(c, 0);
    assert!(!w.t.is_orphaned_pgrp(b), "d's parent a links the group");
    // d moves to a group of its own: group b holds zombies only
    w.t.setpgid(a, d as i32, d as i32).unwrap();
    assert!(w.t.is_orphaned_pgrp(b));
    assert!(!w.t.is_orphaned_pgrp(d));
    // back into b, stopped: a's exit orphans group b with a stopped member
    w.t.setpgid(a, d as i32, b as i32).unwrap();
    assert!(!w.t.is_orphaned_pgrp(b));
    w.t.stop(d, 19, &w.s).unwrap();
    w.exit(a, 0);
    assert!(w.t.is_orphaned_pgrp(b));
    assert!(w.pending(d).contains(SIGHUP));
    w.t.exit_group(d, ChildStatus::Killed { signal: SIGHUP.get(), core: false }, &w.s);
    for _ in 0..4 {
        assert!(w.wait4(1, -1, WALL).is_ok());
    }
    finish(w);
}

#[test]
fn wait_for_one_pid_looks_at_that_child_only() {
    let w = world();
    let a = w.fork(1);
    let kids: Vec<u32> = (0..5).map(|_| w.fork(a)).collect();
    let grandchild = w.fork(kids[0]);
    for &k in &kids {
        w.exit(k, 7);
    }
    // not a child of a (a grandchild, a sibling, no such pid): ECHILD
    assert_eq!(w.wait4(a, grandchild as i32, 0), Err(Errno::ECHILD));
    assert_eq!(w.wait4(a, 1, 0), Err(Errno::ECHILD));
    assert_eq!(w.wait4(a, 30000, 0), Err(Errno::ECHILD));
    // each zombie by its pid, in any order; then it is gone
    for &k in kids.iter().rev() {
        assert_eq!(w.wait4(a, k as i32, 0), Ok((k, 7 << 8)));
        assert_eq!(w.wait4(a, k as i32, 0), Err(Errno::ECHILD));
    }
    w.exit(a, 0);
    w.exit(grandchild, 0);
    for _ in 0..2 {
        assert!(w.wait4(1, -1, WALL).is_ok());
    }
    finish(w);
}

/// A reap takes the child out of its parent's list and keeps the others
/// in fork order, whether it was the oldest, the newest or one between
/// (the list is searched from both ends).
#[test]
fn reaps_keep_the_other_children_in_fork_order() {
    let w = world();
    let a = w.fork(1);
    let mut kids: Vec<u32> = (0..7).map(|_| w.fork(a)).collect();
    for &k in &kids {
        w.exit(k, 0);
    }
    let children = |w: &World| w.t.with_process(a, |p| p.children().to_vec()).unwrap();
    assert_eq!(children(&w), kids);
    for at in [0, 5, 2, 0, 2, 1, 0] {
        let k = kids.remove(at);
        assert_eq!(w.wait4(a, k as i32, 0), Ok((k, 0)));
        assert_eq!(children(&w), kids, "after the reap of {k}");
    }
    w.exit(a, 0);
    assert!(w.wait4(1, -1, WALL).is_ok());
    finish(w);
}

#[test]
fn pid_namespaces_number_translate_and_zap() {
    const NEWPID: u64 = 0x2000_0000;
    let w = world();
    assert!(!w.t.pidns_used());
    let a = w.fork(1);
    // unshare: a stays, its children go into the new namespace
    assert_eq!(w.t.unshare(a, NEWPID).map(|_| ()), Ok(()));
    assert_eq!(w.t.unshare(a, NEWPID).map(|_| ()), Err(Errno::EINVAL), "only from its own namespace");
    assert!(w.t.active_pid_ns(a).is_initial());
    let i = w.fork(a);
    assert!(w.t.pidns_used());
    let ns = w.t.active_pid_ns(i);
    assert_eq!(ns.level(), 1);
    assert_eq!(w.t.pid_seen(i, i), 1, "the first process is init");
    assert_eq!(w.t.pid_seen(i, a), 0, "its parent is outside");
    assert_eq!(
        w.t.with_process(i, |p| p.parent_cell()).unwrap().load(core::sync::atomic::Ordering::Relaxed),
        0
    );
    assert_eq!(w.t.pid_seen(a, i), i);
    assert_eq!(w.t.pid_numbers(i, &process::ns::PidNsRef::INITIAL), vec![i, 1]);
    // a child of init and a grandchild: numbers 2 and 3 inside
    let c = w.fork(i);
    let g = w.fork(c);
    assert_eq!((w.t.pid_seen(i, c), w.t.pid_seen(c, g)), (2, 3));
    assert_eq!(w.t.pid_from(c, 3), Some(g));
    assert_eq!(w.t.pid_from(c, 42), None, "a number the namespace does not have");
    assert_eq!(w.t.getpgid(c, 3), Ok(0), "init's group 0 is seen as 0");
    // an orphan goes to the namespace's init, and the cell shows 1
    w.exit(c, 0);
    assert_eq!(w.t.getppid(g), Ok(i));
    assert_eq!(
        w.t.with_process(g, |p| p.parent_cell()).unwrap().load(core::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(w.wait4(i, 2, 0), Ok((2, 0)), "init waits by its numbers");
    // kill from inside by inside numbers; outside numbers are ESRCH
    assert_eq!(w.t.kill(i, 3, 0, &w.s), Ok(()));
    assert_eq!(w.t.kill(i, 42, 0, &w.s), Err(Errno::ESRCH));
    // init's death kills the namespace's other processes and closes it
    w.exit(i, 0);
    assert!(w.t.threads_to_kill().contains(&g), "the grandchild got SIGKILL");
    w.exit(g, 0);
    assert_eq!(w.t.clone_task(a, &CloneArgs::fork(), &w.s), Err(Errno::ENOMEM));
    assert_eq!(w.wait4(a, i as i32, 0), Ok((i, 0)));
    assert_eq!(w.wait4(1, g as i32, 0), Ok((g, 9)), "killed, and reaped by the outer init");
    w.exit(a, 0);
    assert_eq!(w.wait4(1, a as i32, 0), Ok((a, 0)));
    finish(w);
}

/// user.max_*_namespaces (Linux's ucounts): each kind the table makes
/// counts per kernel euid; ENOSPC at the limit (the first namespace is
/// still held when the second is asked for), per user, through unshare
/// and clone; the count goes back when the namespace's last holder goes.
#[test]
fn namespace_limits_per_user() {
    use process::ns::NsKind as K;
    let w = world();
    let kinds = [
        (K::User, F::NEWUSER),
        (K::Uts, F::NEWUTS),
        (K::Mnt, F::NEWNS),
        (K::Ipc, F::NEWIPC),
        (K::Net, F::NEWNET),
        (K::Cgroup, F::NEWCGROUP),
        (K::Pid, F::NEWPID),
    ];
    for (kind, flag) in kinds {
        let name = kind.knob();
        assert_eq!(w.t.max_namespaces(kind), process::ns::MAX_NAMESPACES, "{name}");
        w.t.set_max_namespaces(kind, 1);
        assert_eq!(w.t.max_namespaces(kind), 1);
        // root (euid 0): one, then ENOSPC while it lives
        let c = w.fork(1);
        let before = w.t.with_process(c, |p| p.ns().clone()).unwrap();
        if kind == K::Pid {
            // unshare(CLONE_NEWPID) only from the caller's own namespace:
            // the second ask is a clone's
            assert_eq!(w.t.unshare(c, flag.bits()), Ok(()), "{name}");
            assert_eq!(w.t.namespace_count(kind, 0), 1, "{name}");
            let g = w.fork(1);
            assert_eq!(w.clone(g, flag.bits() | 17), Err(Errno::ENOSPC), "{name}");
            w.exit(g, 0);
            assert_eq!(w.wait4(1, g as i32, 0), Ok((g, 0)));
        } else {
            assert_eq!(w.t.unshare(c, flag.bits()), Ok(()), "{name}");
            assert_eq!(w.t.namespace_count(kind, 0), 1, "{name}");
            assert_eq!(w.t.unshare(c, flag.bits()), Err(Errno::ENOSPC), "{name}");
            assert_eq!(w.clone(c, flag.bits() | 17), Err(Errno::ENOSPC), "{name}");
        }
        assert_eq!(w.t.namespace_count(kind, 0), 1, "{name}: a refusal counts nothing");
        // a failed request makes nothing: the other kinds' counts are
        // back too (NEWUTS made before NEWNET failed, say)
        if kind == K::Net {
            let uts = w.t.namespace_count(K::Uts, 0);
            assert_eq!(w.t.unshare(c, (F::NEWUTS | F::NEWNET).bits()), Err(Errno::ENOSPC));
            assert_eq!(w.clone(c, (F::NEWUTS | F::NEWNET).bits() | 17), Err(Errno::ENOSPC));
            assert_eq!(w.t.namespace_count(K::Uts, 0), uts);
        }
        // another euid has its own count
        let d = w.fork(1);
        w.t.with_process(d, |p| p.creds_mut().euid = 5);
        if kind == K::Pid {
            let e = w.clone(d, flag.bits() | 17).unwrap();
            assert_eq!(w.t.namespace_count(kind, 5), 1, "{name}");
            w.exit(e, 0);
            assert_eq!(w.wait4(d, e as i32, 0), Ok((e, 0)));
        } else {
            assert_eq!(w.t.unshare(d, flag.bits()), Ok(()), "{name}");
            assert_eq!(w.t.namespace_count(kind, 5), 1, "{name}");
        }
        w.exit(d, 0);
        assert_eq!(w.wait4(1, d as i32, 0), Ok((d, 0)));
        assert_eq!(w.t.namespace_count(kind, 5), 0, "{name}: given back at the holder's end");
        // a child sharing it keeps it counted; the last holder gives it back
        let f = w.fork(c);
        w.exit(c, 0);
        assert_eq!(w.wait4(1, c as i32, 0), Ok((c, 0)));
        assert_eq!(w.t.namespace_count(kind, 0), 1, "{name}: still held by the child");
        w.exit(f, 0);
        assert_eq!(w.wait4(1, f as i32, 0), Ok((f, 0)));
        assert_eq!(w.t.namespace_count(kind, 0), 0, "{name}: the last holder went");
        drop(before);
        // room again; a limit of 0 refuses even the first
        let c = w.fork(1);
        assert_eq!(w.t.unshare(c, flag.bits()), Ok(()), "{name}");
        w.t.set_max_namespaces(kind, 0);
        let g = w.fork(1);
        assert_eq!(w.t.unshare(g, flag.bits()), Err(Errno::ENOSPC), "{name}");
        for p in [c, g] {
            w.exit(p, 0);
            assert_eq!(w.wait4(1, p as i32, 0), Ok((p, 0)));
        }
        assert_eq!(w.t.namespace_count(kind, 0), 0, "{name}");
        w.t.set_max_namespaces(kind, process::ns::MAX_NAMESPACES);
    }
    // the knobs' names, in Linux's order
    let names: Vec<_> = process::ns::NsKind::ALL.iter().map(|k| k.knob()).collect();
    assert_eq!(
        names,
        [
            "max_user_namespaces",
            "max_pid_namespaces",
            "max_uts_namespaces",
            "max_ipc_namespaces",
            "max_net_namespaces",
            "max_mnt_namespaces",
            "max_cgroup_namespaces",
            "max_time_namespaces"
        ]
    );
    finish(w);
}

/// The table's IPC hook hears each IPC namespace's number when its record
/// goes with its last holder (not before), so the kernel reaps its tables
/// without a scan.
#[test]
fn ipc_namespace_end_is_told() {
    use std::sync::Mutex;
    static HEARD: Mutex<Vec<u64>> = Mutex::new(Vec::new());
    fn heard(ino: u64) {
        HEARD.lock().unwrap().push(ino);
    }
    let w = world();
    w.t.set_ipc_gone(heard);
    let c = w.fork(1);
    assert_eq!(w.t.unshare(c, F::NEWIPC.bits()), Ok(()));
    let ino = w.t.with_process(c, |p| p.ns().ipc.ino()).unwrap();
    let f = w.fork(c);
    // a refused request's namespace is told too (made, then dropped)
    w.t.set_max_namespaces(process::ns::NsKind::Net, 0);
    assert_eq!(w.t.unshare(c, (F::NEWIPC | F::NEWNET).bits()), Err(Errno::ENOSPC));
    assert!(HEARD.lock().unwrap().len() == 1 && HEARD.lock().unwrap()[0] != ino);
    HEARD.lock().unwrap().clear();
    w.exit(c, 0);
    assert_eq!(w.wait4(1, c as i32, 0), Ok((c, 0)));
    assert!(HEARD.lock().unwrap().is_empty(), "the child still holds it");
    w.exit(f, 0);
    assert_eq!(w.wait4(1, f as i32, 0), Ok((f, 0)));
    assert_eq!(*HEARD.lock().unwrap(), vec![ino]);
    w.t.set_max_namespaces(process::ns::NsKind::Net, process::ns::MAX_NAMESPACES);
    finish(w);
}

/// Linux 6.1 (checked with timens.c under --linux): execve keeps the
/// caller's time namespace (no exec_task_namespaces() switch; the children's
/// stays unentered, its offsets writable), and a CLONE_VM|CLONE_NEWTIME
/// child enters the new namespace (timens_on_fork() for CLONE_VM too).
#[test]
fn exec_keeps_time_namespace_and_clone_vm_enters() {
    use process::timens::parse_offsets;
    let w = world();
    let c = w.fork(1);
    let time0 = w.t.with_process(c, |p| p.ns().time.ino()).unwrap();
    assert_eq!(w.t.unshare(c, F::NEWTIME.bits()), Ok(()));
    let tc = w.t.with_process(c, |p| p.ns().time_children.clone()).unwrap();
    let write = parse_offsets(0, b"monotonic 1000 0").unwrap();
    assert_eq!(tc.set_offsets(&write, 0, 0), Ok(()));
    w.t.exec(c, vm::testing::test_vmar(&w.frames), &w.s).unwrap();
    let (now, children) = w.t.with_process(c, |p| (p.ns().time.ino(), p.ns().time_children.ino())).unwrap();
    assert_eq!((now, children), (time0, tc.ino()));
    assert_eq!(tc.set_offsets(&write, 0, 0), Ok(()), "not entered: writable");
    // CLONE_VM | CLONE_NEWTIME (clone3) from a caller whose two agree
    let d = w.fork(1);
    let args = CloneArgs::fork().with_flags(F::VM | F::NEWTIME);
    let v = w.t.clone_task(d, &args, &w.s).unwrap();
    let (vt, vtc) = w.t.with_process(v, |p| (p.ns().time.clone(), p.ns().time_children.clone())).unwrap();
    assert_ne!(vt.ino(), time0);
    assert_eq!(vt.ino(), vtc.ino());
    assert_eq!(vt.set_offsets(&write, 0, 0), Err(Errno::EACCES), "entered: frozen");
    w.exit(v, 0);
    assert_eq!(w.wait4(d, v as i32, 0), Ok((v, 0)));
    w.exit(d, 0);
    assert_eq!(w.wait4(1, d as i32, 0), Ok((d, 0)));
    w.exit(c, 0);
    assert_eq!(w.wait4(1, c as i32, 0), Ok((c, 0)));
    finish(w);
}
