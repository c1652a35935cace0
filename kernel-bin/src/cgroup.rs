//! cgroup v2 (cg38): the hierarchy (`kernabi-cgroup`'s `Hierarchy`, keyed
//! by kernel pid) under one lock, the `cgroup2` filesystem that shows it,
//! the fork and exit bookkeeping, /proc/PID/cgroup and cgroup namespaces'
//! roots.
//!
//! `CG` holds the hierarchy and, per live thread, its process (the exit
//! hook is told a tid whose record is gone). It is a leaf: taken alone or
//! under any other Ranked lock, never with the process table's lock held,
//! and nothing is looked up in the table while it is held (the callers look
//! the ids up first).
//!
//! Processes are counted from the first clone on (the kernel's first
//! process is adopted then); clone charges the caller's group before the
//! table makes the task (`EAGAIN` at `pids.max`) and the child is entered
//! in `CloneHooks::thread_created`, before it first runs; a clone that
//! fails gives the charge back. Every thread's exit takes its charge back.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use cgroup::{Effect, FileKind, GroupId, Hierarchy, MemCounters, MemEvent, ROOT};
use linux_abi::{Errno, Result};
use process::pid::Pid;

use crate::lockorder::{LockClass, Ranked};
use crate::proc::{Hooks, table};

/// The hierarchy (which thread counts for which process is in each
/// thread's record: `proc::ThreadExt::cgroup_pid`).
struct State {
    h: Hierarchy<Pid>,
    /// Groups whose cgroup.kill is being carried out (Linux's `CGRP_KILL`):
    /// a process entered below one of them meanwhile is killed by
    /// [`created`] before it first runs.
    killing: Vec<GroupId>,
    /// The last victim of a memory cgroup's OOM killer, while it may still
    /// hold its memory: no other is chosen meanwhile (Linux's
    /// oom_evaluate_task aborts while a victim is exiting).
    mem_victim: Option<Pid>,
    /// The `nsdelegate` mount option (CGRP_ROOT_NS_DELEGATE): cgroup
    /// namespaces are delegation boundaries.
    ns_delegate: bool,
}

static CG: Ranked<Option<State>> = Ranked::new(LockClass::Cgroups, "cgroup::CG", None);

/// Linux's `cgrp_dfl_visible`: /proc/PID/cgroup shows the v2 line once a
/// cgroup2 filesystem was mounted.
static VISIBLE: AtomicBool = AtomicBool::new(false);

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let mut g = CG.lock();
    let s = g.get_or_insert_with(|| State {
        h: Hierarchy::new(),
        killing: Vec::new(),
        mem_victim: None,
        ns_delegate: false,
    });
    f(s)
}

/// The cgroup `ns`'s root as a group (0: the hierarchy's root).
fn ns_root(raw: u64) -> GroupId {
    if raw == 0 { ROOT } else { GroupId::from_raw(raw) }
}

/// The root of process `pid`'s cgroup namespace.
fn root_of(pid: Pid) -> GroupId {
    ns_root(table().with_process(pid, |p| p.ns().cgroup.root()).unwrap_or(0))
}

// ----- fork and exit -----

/// What a clone charged: the group, whether the child was entered.
pub struct Charge {
    group: GroupId,
    /// The caller's group (a CLONE_NEWCGROUP namespace's root).
    caller_group: GroupId,
    caller_pid: Pid,
    thread: bool,
    new_ns: bool,
    entered: AtomicBool,
}

/// Whether forks and exits are counted in the hierarchy: from the first
/// cgroup2 mount on ([`activate`]). Before it nothing can look at the
/// counts (no cgroup2 filesystem, /proc/PID/cgroup empty, every process in
/// the root), so a fork and an exit cost no cgroup work until then (Linux
/// counts from boot).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Enters process `pid` and its threads into the root if the hierarchy
/// does not count it yet (the kernel's first process, processes made
/// before [`activate`], anything made without a clone).
fn adopt(pid: Pid) {
    if with(|s| s.h.is_member(pid)) {
        return;
    }
    let threads = table().with_process(pid, |p| p.threads().to_vec()).unwrap_or_default();
    let adopted = with(|s| {
        let new = !threads.is_empty() && !s.h.is_member(pid);
        if new {
            s.h.adopt(pid, threads.len() as u32);
        }
        new
    });
    if adopted {
        for &t in &threads {
            table().with_thread(t, |th| th.ext_mut().set_cgroup_pid(pid));
        }
        mark_counted(pid);
    }
}

/// The first cgroup2 mount: from now on forks and exits are counted, and
/// every live process is entered into the root. (A clone that began before
/// and ends after this walk leaves its child uncounted until the child's
/// own first clone adopts it.)
fn activate() {
    if ACTIVE.swap(true, Ordering::AcqRel) {
        return;
    }
    for pid in table().pids() {
        adopt(pid);
        crate::sched::cond_resched();
    }
}

/// Before a clone by process `pid`: one task charged to its group
/// (`EAGAIN` beyond a `pids.max`). `thread`: CLONE_THREAD; `new_ns`:
/// CLONE_NEWCGROUP (the child's namespace is rooted at that group).
///
/// `into`: clone3's `CLONE_INTO_CGROUP` file (cgroup_css_set_fork):
/// `EBADF` for a file that is not a cgroup2 directory, `ENOENT` for a
/// removed group, `EACCES` without write access to its `cgroup.procs` or
/// the common ancestor's (cgroup_may_write, cgroup_procs_write_permission),
/// `ENOENT` for a group outside the caller's cgroup namespace, then the
/// hierarchy's `EBUSY`, `EOPNOTSUPP` and `EAGAIN`
/// ([`Hierarchy::charge_fork_into`]). The pids charge is at the target.
pub fn charge(pid: Pid, thread: bool, new_ns: bool, into: Option<&dyn vfs::File>) -> Result<Charge> {
    let target = match into {
        Some(f) => {
            let dir =
                f.inode().and_then(|i| i.synth_any().and_then(|a| a.downcast_ref::<CgDir>().map(|d| d.g)));
            Some(dir.ok_or(Errno::EBADF)?)
        }
        None => None,
    };
    if !ACTIVE.load(Ordering::Acquire) {
        // nothing counted yet: the child is in the root, as its namespace
        // root is (`entered`: nothing for `created` or `finish` to do).
        // (A cgroup2 directory's fd means a mount, which activated.)
        return Ok(Charge {
            group: ROOT,
            caller_group: ROOT,
            caller_pid: pid,
            thread,
            new_ns,
            entered: AtomicBool::new(true),
        });
    }
    adopt(pid);
    let (cred, ns_raw) = match target {
        Some(_) => table()
            .with_process(pid, |p| (crate::syscall::fs::vfs_cred(p.creds()), p.ns().cgroup.root()))
            .ok_or(Errno::ESRCH)?,
        None => (vfs::Cred::root(), 0),
    };
    let (group, caller_group) = with(|s| {
        let src = s.h.group_of(pid);
        let g = match target {
            None => s.h.charge_fork(pid),
            Some(to) => {
                if !s.h.exists(to) {
                    return Err(Errno::ENOENT);
                }
                for g in [to, s.h.common_ancestor(src, to)] {
                    let (uid, gid, mode) = s.h.file_attrs(g, FileKind::Procs).unwrap_or((0, 0, 0o644));
                    if !cred.permits(false, uid, gid, mode, 2) {
                        return Err(Errno::EACCES);
                    }
                }
                // cgroup_procs_write_permission's namespace check, as for
                // a cgroup.procs write: only with nsdelegate; a removed
                // namespace root has nothing inside (Linux keeps it
                // referenced, dying, with no live descendant)
                let nsr = ns_root(ns_raw);
                if s.ns_delegate
                    && (!s.h.exists(nsr) || !s.h.is_descendant(src, nsr) || !s.h.is_descendant(to, nsr))
                {
                    return Err(Errno::ENOENT);
                }
                s.h.charge_fork_into(pid, to, thread)
            }
        };
        g.map(|g| (g, src))
    })
    .inspect_err(|e| {
        if *e == Errno::EAGAIN {
            log::info!("pid {pid}: fork refused by the pids controller: EAGAIN")
        }
    })?;
    Ok(Charge { group, caller_group, caller_pid: pid, thread, new_ns, entered: AtomicBool::new(false) })
}

/// The clone made thread `tid` (before it first runs): it enters the
/// charged group (a new process) or its process's (a thread).
pub fn created(c: &Charge, tid: Pid) {
    if c.entered.swap(true, Ordering::AcqRel) {
        return;
    }
    let pid = if c.thread { c.caller_pid } else { tid };
    let kill = with(|s| {
        if c.thread {
            s.h.forked_thread(pid, c.group);
            return false;
        }
        s.h.forked_process(pid, c.group);
        // cgroup_post_fork(): born into a group being killed (its parent
        // was signalled after the child's commit, before this hook)
        let g = s.h.group_of(pid);
        s.killing.iter().any(|&k| s.h.is_descendant(g, k))
    });
    // the record may be gone already: a sibling's exec (de_thread)
    // removed it between the clone's commit and this hook, and its exit
    // found no cgroup_pid to uncharge; the count just made goes back
    if table().with_thread(tid, |th| th.ext_mut().set_cgroup_pid(pid)).is_none() {
        with(|s| s.h.task_exited(pid));
    }
    if !c.thread {
        mark_counted(pid);
        // a fork's copy is its own (Linux's mm->owner) and charges its
        // group from now on; a vfork or CLONE_VM child shares its
        // parent's, which keeps its owner and the owner's group
        let counters = with(|s| s.h.mem_counters(s.h.group_of(pid)));
        if let Some(vm) = table().with_process(pid, |p| p.vm().cloned()).flatten() {
            let mut v = vm.lock();
            if v.owner() == 0 {
                v.set_owner(u64::from(pid));
                if v.charge_sink().is_none()
                    && let Some(counters) = counters
                {
                    v.set_charge(Some(counters as Arc<dyn vm::MemCharge>));
                }
            }
        }
    }
    if c.new_ns {
        // copy_cgroup_ns(): rooted at the maker's cgroup
        let _ = table().with_process(pid, |p| p.ns().cgroup.set_root(c.caller_group.raw()));
    }
    if kill {
        let _ = table().send_signal(pid, signal::SigInfo::kernel(signal::SIGKILL), &Hooks);
    }
}

/// After the clone: a failed one gives the charge back.
pub fn finish(c: Charge) {
    if !c.entered.load(Ordering::Acquire) {
        with(|s| s.h.cancel_fork(c.group));
    }
}

/// Process `pid`'s CPU time (user, system; µs) as its record has it
/// (the ended threads' and the live ones'), (0, 0) once reaped.
fn used(pid: Pid) -> (u64, u64) {
    table().usage(pid).map_or((0, 0), |u| (u.utime_us, u.stime_us))
}

/// Kept in a counted process's record (`proc::ProcessExt::cgroup_reap`):
/// dropped when its zombie is reaped (after the table lock is released),
/// it gives back the pids charge the zombie kept (pids_release).
#[derive(Debug)]
pub struct Reap(Pid);

impl Drop for Reap {
    fn drop(&mut self) {
        let pid = self.0;
        with(|s| s.h.reaped(pid));
    }
}

/// Process `pid` is counted: its record gets its [`Reap`].
fn mark_counted(pid: Pid) {
    let old = table().with_process(pid, |p| p.ext_mut().cgroup_reap.replace(Reap(pid)));
    // (its own already: nothing to give back; forget it without a drop)
    if let Some(Some(r)) = old {
        core::mem::forget(r);
    }
}

/// The memory counters of process `pid`'s group (none without the memory
/// controller there): where an address space it owns charges.
pub fn mem_sink(pid: Pid) -> Option<Arc<dyn vm::MemCharge>> {
    with(|s| s.h.mem_counters(s.h.group_of(pid))).map(|c| c as Arc<dyn vm::MemCharge>)
}

/// Process `pid`'s address space charges the memory counters of the group
/// it is in now (after a move or an exec: what it charged before stays
/// there), when it owns that address space (Linux charges `mm->owner`'s
/// memcg): a vfork or CLONE_VM child sharing its parent's changes nothing.
/// An address space whose owner is gone or has another one now (exec'd)
/// passes to `pid` (Linux's mm_update_next_owner, here at the move).
pub fn recharge(pid: Pid) {
    let Some(vm) = table().with_process(pid, |p| p.vm().cloned()).flatten() else { return };
    let me = u64::from(pid);
    let owner = vm.lock().owner();
    if owner != 0 && owner != me {
        let shared = u32::try_from(owner)
            .ok()
            .and_then(|o| table().with_process(o, |p| p.vm().is_some_and(|v| Arc::ptr_eq(v, &vm))));
        if shared == Some(true) {
            return;
        }
    }
    let Some(sink) = mem_sink(pid) else { return };
    let mut v = vm.lock();
    v.set_owner(me);
    if v.charge_sink().is_none_or(|old| !Arc::ptr_eq(old, &sink)) {
        v.set_charge(Some(sink));
    }
}

// ----- the memory controller's OOM killer -----

/// A charge of process `me`'s address space went over `memory.max` of
/// group `over` (its number): Linux's memcg OOM (mem_cgroup_out_of_memory).
/// Nothing is reclaimed here, so the group's OOM killer runs at once: its
/// "max" and "oom" events are counted, the process below it with the most
/// resident pages (oom_badness; not one with oom_score_adj -1000 or
/// exiting) gets SIGKILL and its group's "oom_kill" (with
/// `memory.oom.group`, every process of the highest such group up to
/// `over` is killed). While the last victim still holds its memory no
/// other is chosen. Returns whether a process was killed (or is dying).
pub fn memcg_oom(me: Pid, over: u64) -> bool {
    let g = GroupId::from_raw(over);
    let Some((counters, procs, last)) =
        with(|s| Some((s.h.mem_counters(g)?, s.h.procs_below(g).ok()?, s.mem_victim)))
    else {
        return false;
    };
    if let Some(v) = last
        && (v == me || crate::oom::holds_memory(v))
    {
        // still dying: its memory is coming back
        return true;
    }
    counters.event(MemEvent::Max);
    counters.event(MemEvent::Oom);
    let total = arch_x86_64::mem::frames::stats().1 as i64;
    let mut best: Option<(i64, usize, usize, i16, Pid)> = None;
    for pid in procs {
        if let Some((points, rss, size, adj)) = crate::oom::badness(pid, total)
            && best.is_none_or(|(b, ..)| points > b)
        {
            best = Some((points, rss, size, adj, pid));
        }
        crate::sched::cond_resched();
    }
    let Some((_, rss, size, adj, victim)) = best else {
        log::info!("memory cgroup {over}: over memory.max with no process to kill");
        return false;
    };
    // memory.oom.group: the highest group from the victim's up to `over`
    // that asks for it is killed whole (mem_cgroup_get_oom_group)
    let (victim_counters, whole) = with(|s| {
        let vg = s.h.group_of(victim);
        let mut whole = None;
        let mut at = Some(vg);
        while let Some(a) = at {
            if s.h.oom_group(a) {
                whole = Some(a);
            }
            if a == g {
                break;
            }
            at = s.h.parent(a);
        }
        s.mem_victim = Some(victim);
        (s.h.mem_counters(vg), whole)
    });
    let comm = crate::proc::comm(victim);
    let uid = table().with_process(victim, |p| p.creds().uid).unwrap_or(0);
    arch_x86_64::kprintln!(
        "Memory cgroup out of memory: Killed process {victim} ({}) total-vm:{}kB, anon-rss:{}kB, \
         file-rss:0kB, shmem-rss:0kB, UID:{uid} oom_score_adj:{adj}",
        core::str::from_utf8(&comm).unwrap_or("?"),
        size / 1024,
        rss * 4
    );
    let _ = table().send_signal(victim, signal::SigInfo::kernel(signal::SIGKILL), &Hooks);
    if let Some(c) = victim_counters {
        c.event(MemEvent::OomKill);
    }
    if let Some(w) = whole {
        let (all, wc) = with(|s| (s.h.procs_below(w).unwrap_or_default(), s.h.mem_counters(w)));
        if let Some(c) = wc {
            c.event(MemEvent::OomGroupKill);
        }
        for pid in all {
            if pid == victim || table().with_process(pid, |p| p.oom_score_adj() == -1000).unwrap_or(true) {
                continue;
            }
            if let Some(c) = with(|s| s.h.mem_counters(s.h.group_of(pid))) {
                c.event(MemEvent::OomKill);
            }
            let _ = table().send_signal(pid, signal::SigInfo::kernel(signal::SIGKILL), &Hooks);
        }
    }
    true
}

/// mem_cgroup_handle_over_high() for thread `tid` of process `pid`, which
/// faulted in `nr_pages` while its group or an ancestor was over
/// `memory.high`, on its way back to user mode (no lock held): the
/// reclaim tries count "high" in memory.events of every group over its
/// high (nothing is reclaimed here), then it sleeps the penalty
/// (`MemCounters::handle_over_high`: growing with the square of the
/// overage, up to 2 s), woken early only to die (schedule_timeout_killable).
pub fn throttle_over_high(pid: Pid, tid: Pid, nr_pages: u64) {
    let Some(counters) = with(|s| s.h.mem_counters(s.h.group_of(pid))) else { return };
    let jiffies = counters.handle_over_high(nr_pages);
    drop(counters);
    if jiffies == 0 {
        return;
    }
    let until = crate::sched::deadline_after(jiffies.saturating_mul(1_000_000_000 / cgroup::HZ));
    let removed = crate::uthread::removed;
    crate::sched::wait_any(&[], || removed() || crate::uthread::must_die(tid), Some(until));
}

/// memory_max_write's loop after a `memory.max` under the charge of group
/// `g`: its OOM killer runs until the charge is within the limit, nothing
/// is left to kill, the writer has a signal, or about a second passed.
fn enforce_max(g: GroupId, counters: &MemCounters) {
    let (tid, pid) = crate::eventfd::caller();
    let deadline = arch_x86_64::time::since_boot_ns() + 1_000_000_000;
    while counters.current() > counters.max() {
        let now = arch_x86_64::time::since_boot_ns();
        if now >= deadline || !memcg_oom(pid, g.raw()) {
            return;
        }
        if crate::proc::sleep_on(tid, &[], || false, Some(now + 10_000_000))
            .is_err_and(|e| e != Errno::ETIMEDOUT)
        {
            return;
        }
    }
}

/// cgroup_exit(): thread `tid` (its record's serial `serial`) is ending
/// and the table is about to end it and tell the parent. Linux calls
/// cgroup_exit before exit_notify: the task leaves its group's count
/// (`cgroup.procs`, `cgroup.threads`, "populated", the freezer's count)
/// before its parent can see the zombie, so a `waitpid` then `rmdir` of
/// the group finds it empty; the zombie's pids charge stays until it is
/// reaped ([`Reap`]). The count is taken out of the record here, so the
/// table's `thread_exited` hook (which gives back the counts of threads
/// ended otherwise: removed by another thread's exec) finds none.
#[inline]
pub fn exiting(tid: Pid, serial: u64) {
    // nothing counted before the first cgroup2 mount (a thread adopted
    // meanwhile is given back by the hook): one load on the exit path
    if ACTIVE.load(Ordering::Acquire) {
        exiting_counted(tid, serial);
    }
}

/// [`exiting`] once forks and exits are counted.
#[inline(never)]
fn exiting_counted(tid: Pid, serial: u64) {
    let pid = table()
        .with_thread(tid, |th| if th.serial() == serial { th.ext_mut().take_cgroup_pid() } else { None })
        .flatten();
    if let Some(pid) = pid {
        exited(pid);
    }
}

/// A thread counted for process `pid` exited (its record is gone).
pub fn exited(pid: Pid) {
    // its last task (decided in the same step as the count, so that of
    // two ending together one is): the process's CPU time stays in its
    // group's cpu.stat. The time is read before (no CG → table nesting);
    // the other tasks' had all reached the record before this last step,
    // and what of it came after the read is added after.
    let before = used(pid);
    if let Some(g) = with(|s| s.h.task_exited_charging(pid, before)) {
        let after = used(pid);
        let extra = (after.0.saturating_sub(before.0), after.1.saturating_sub(before.1));
        if extra != (0, 0) {
            with(|s| s.h.charge_gone(g, extra));
        }
    }
}

/// `cpu.stat` of group `g`: the processes there and below and the time
/// gone from there in one step, then the processes' time since they came
/// looked up in the table without the lock.
fn cpu_stat(g: GroupId) -> Result<Vec<u8>> {
    let (procs, mut total) = with(|s| s.h.cpu_snapshot(g))?;
    for (pid, base) in procs {
        // (a process reaped since counts in its group's time gone)
        if let Some(u) = table().usage(pid) {
            total.0 = total.0.saturating_add(u.utime_us.saturating_sub(base.0));
            total.1 = total.1.saturating_add(u.stime_us.saturating_sub(base.1));
        }
    }
    with(|s| s.h.cpu_stat_text(g, total))
}

/// unshare(CLONE_NEWCGROUP) by process `pid` made its namespace: rooted at
/// its cgroup.
pub fn unshared(pid: Pid) {
    let g = with(|s| s.h.group_of(pid));
    let _ = table().with_process(pid, |p| p.ns().cgroup.set_root(g.raw()));
}

// ----- the freezer (cgroup.freeze) -----

/// Whether a group freezes (the hierarchy's `any_freezing` after the last
/// write to a `cgroup.freeze`): until then [`freezing`] is one load.
static FREEZE_ON: AtomicBool = AtomicBool::new(false);

/// Moves (under CG) whenever what freezes may have changed for some
/// process while [`FREEZE_ON`]: a thread's cached answer
/// ([`freezing_cached`]) holds for one generation.
static FREEZE_GEN: AtomicU64 = AtomicU64::new(1);

/// Whether process `pid`'s group freezes: its threads leave their calls
/// (to restart them later, as for a group stop) and sleep in
/// `uthread::frozen_sleep` on their way back to user mode. Takes CG while
/// any group freezes: the hot paths use [`freezing_cached`].
pub fn freezing(pid: Pid) -> bool {
    FREEZE_ON.load(Ordering::Acquire) && with(|s| s.h.freezing(pid))
}

/// [`freezing`] from a thread's cache word (`ThreadExt::freeze_cache`),
/// if the word is of the current generation (or nothing freezes).
pub fn freezing_from_cache(word: u64) -> Option<bool> {
    if !FREEZE_ON.load(Ordering::Acquire) {
        return Some(false);
    }
    (word >> 1 == FREEZE_GEN.load(Ordering::Acquire)).then_some(word & 1 != 0)
}

/// [`freezing`] of process `pid` for its thread `tid`: one look at the
/// thread's cache (no global lock) while the generation holds; CG once per
/// thread and generation otherwise (Linux's per-task JOBCTL_TRAP_FREEZE).
pub fn freezing_cached(pid: Pid, tid: Pid) -> bool {
    if !FREEZE_ON.load(Ordering::Acquire) {
        return false;
    }
    let word = table().with_thread(tid, |th| th.ext().freeze_cache.load(Ordering::Acquire)).unwrap_or(0);
    freezing_from_cache(word).unwrap_or_else(|| freezing_refresh(pid, tid))
}

/// Looks under CG and caches the answer with its generation in thread
/// `tid`'s word (a newer generation's answer is never replaced by an
/// older one).
pub fn freezing_refresh(pid: Pid, tid: Pid) -> bool {
    let (on, word) = with(|s| {
        let on = s.h.freezing(pid);
        (on, (FREEZE_GEN.load(Ordering::Acquire) << 1) | u64::from(on))
    });
    table().with_thread(tid, |th| th.ext().freeze_cache.fetch_max(word, Ordering::AcqRel));
    on
}

/// A thread of process `pid` entered (`true`) or left the freezer's sleep.
pub fn frozen(pid: Pid, entered: bool) {
    with(|s| s.h.task_frozen(pid, entered));
}

/// After a change of what freezes: every thread of `procs` looks again
/// (the signal epoch moves, each is woken from its sleep).
fn kick(procs: &[Pid]) {
    table().epoch().bump();
    for &pid in procs {
        // (a copy made fallibly: a thread not woken for want of memory
        // still sees the moved epoch at its next look)
        let threads = table()
            .with_process(pid, |p| {
                let mut v = Vec::new();
                if v.try_reserve_exact(p.threads().len()).is_ok() {
                    v.extend_from_slice(p.threads());
                }
                v
            })
            .unwrap_or_default();
        for t in threads {
            process::seams::Hooks::signal_wakeup(&Hooks, t);
        }
        crate::sched::cond_resched();
    }
}

// ----- /proc/PID/cgroup -----

/// /proc/PID/cgroup of process `pid` read by process `reader`
/// (proc_cgroup_show): nothing until a cgroup2 filesystem was mounted,
/// then "0::PATH\n", PATH from the reader's cgroup namespace's root.
pub fn proc_text(pid: Pid, reader: Pid) -> Result<Vec<u8>> {
    if !VISIBLE.load(Ordering::Relaxed) {
        return Ok(Vec::new());
    }
    let from = root_of(reader);
    let path = with(|s| {
        let g = s.h.group_of(pid);
        // (a namespace whose root was removed: from the hierarchy's root)
        let from = if s.h.exists(from) { from } else { ROOT };
        s.h.path_from(g, from)
    })?;
    let mut out = Vec::new();
    out.try_reserve_exact(path.len() + 4).map_err(|_| Errno::ENOMEM)?;
    out.extend_from_slice(b"0::");
    out.extend_from_slice(&path);
    out.push(b'\n');
    Ok(out)
}

/// The root field of mountinfo for a cgroup2 mount whose root is `root`,
/// for a reader whose cgroup namespace is rooted at `reader_root`
/// (cgroup_show_path); `None` for other filesystems.
pub fn mount_root_path(root: &Arc<vfs::Inode>, reader_root: u64) -> Option<Vec<u8>> {
    let dir = root.synth_any()?.downcast_ref::<CgDir>()?;
    let g = dir.g;
    with(|s| {
        let from = ns_root(reader_root);
        let from = if s.h.exists(from) { from } else { ROOT };
        s.h.path_from(g, from).ok()
    })
}

/// The caller's cgroup namespace root (for [`mount_root_path`]).
pub fn reader_root() -> u64 {
    let (_, pid) = crate::eventfd::caller();
    table().with_process(pid, |p| p.ns().cgroup.root()).unwrap_or(0)
}

// ----- the cgroup2 filesystem -----

/// Inode numbers: a group's directory at `32 * id`, its files after it.
fn dir_ino(g: GroupId) -> u64 {
    g.raw() * 32
}

fn file_ino(g: GroupId, k: FileKind) -> u64 {
    g.raw() * 32 + 1 + k.index() as u64
}

/// A group's directory.
struct CgDir {
    g: GroupId,
}

/// A group's file.
struct CgFile {
    g: GroupId,
    kind: FileKind,
    /// An open cgroup.procs or cgroup.threads: the opener's credentials
    /// (`file->f_cred`), which its writes' permission check uses.
    opener: Option<vfs::Cred>,
    /// And its cgroup namespace's root (raw; 0 the initial namespace).
    opener_ns: u64,
}

impl vfs::SynthNode for CgDir {
    fn lookup(&self, dir: &Arc<vfs::Inode>, name: &[u8]) -> Result<Option<Arc<vfs::Inode>>> {
        let (child, file) = with(|s| {
            let child =
                s.h.child(self.g, name)
                    .map(|c| (c, s.h.owner(c).unwrap_or((0, 0)), s.h.mode(c).unwrap_or(0o755)));
            let file = FileKind::by_name(name)
                .filter(|&k| s.h.has_file(self.g, k))
                .and_then(|k| Some((k, s.h.file_attrs(self.g, k)?)));
            (child, file)
        });
        if let Some((c, (uid, gid), mode)) = child {
            let i = vfs::Inode::new_synth(
                dir,
                name,
                vfs::FileType::Directory,
                mode,
                dir_ino(c),
                Arc::new(CgDir { g: c }),
            );
            i.set_synth_owner(uid, gid);
            return Ok(Some(i));
        }
        let Some((kind, (uid, gid, mode))) = file else { return Ok(None) };
        let i = vfs::Inode::new_synth(
            dir,
            name,
            vfs::FileType::Regular,
            mode,
            file_ino(self.g, kind),
            Arc::new(CgFile { g: self.g, kind, opener: None, opener_ns: 0 }),
        );
        i.set_synth_owner(uid, gid);
        Ok(Some(i))
    }

    fn entries(&self, _dir: &Arc<vfs::Inode>) -> Vec<vfs::SynthEntry> {
        with(|s| {
            let mut v = Vec::new();
            for k in s.h.files(self.g) {
                v.push(vfs::SynthEntry::new(
                    k.name().as_bytes().to_vec(),
                    file_ino(self.g, k),
                    vfs::FileType::Regular,
                ));
            }
            for (n, c) in s.h.children(self.g).unwrap_or_default() {
                v.push(vfs::SynthEntry::new(n, dir_ino(c), vfs::FileType::Directory));
            }
            v
        })
    }

    /// kernfs: no create operation (open's O_CREAT and mknod).
    fn create_errno(&self, open: bool) -> Errno {
        if open { Errno::EACCES } else { Errno::EPERM }
    }

    fn has_dir_ops(&self) -> bool {
        true
    }

    /// cgroup_mkdir: owned by the maker's filesystem ids, with the mode
    /// mkdir(2) gave (less the umask).
    fn mkdir(&self, name: &[u8], perm: u32, cred: &vfs::Cred) -> Result<()> {
        with(|s| s.h.mkdir(self.g, name, (cred.uid, cred.gid), perm)).map(|_| ())
    }

    /// cgroup_rmdir: `EBUSY` while a task of the group or below has not
    /// passed its exit's cgroup step ([`exiting`], before its parent can
    /// see the zombie), as Linux's cgroup_destroy_locked.
    fn rmdir(&self, name: &[u8], _cred: &vfs::Cred) -> Result<()> {
        with(|s| {
            let c = s.h.child(self.g, name).ok_or(Errno::ENOENT)?;
            s.h.rmdir(c)
        })
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    /// chown(2)/chmod(2) of the group's directory: kept (delegation).
    fn set_attrs(&self, perm: Option<u32>, uid: Option<u32>, gid: Option<u32>) {
        with(|s| s.h.set_file_attrs(self.g, None, perm, uid, gid));
    }
}

/// cgroup.procs or cgroup.threads as process `reader` sees the numbers.
fn list(g: GroupId, threads: bool, reader: Pid) -> Result<Vec<u8>> {
    let procs = with(|s| s.h.procs(g))?;
    let mut out = Vec::new();
    for pid in procs {
        let tids = if threads {
            table().with_process(pid, |p| p.threads().to_vec()).unwrap_or_default()
        } else {
            alloc::vec![pid]
        };
        for t in tids {
            let n = table().pid_seen(reader, t);
            let line = alloc::format!("{n}\n");
            out.try_reserve(line.len()).map_err(|_| Errno::ENOMEM)?;
            out.extend_from_slice(line.as_bytes());
        }
    }
    Ok(out)
}

impl vfs::SynthNode for CgFile {
    fn content(&self) -> Result<Vec<u8>> {
        match self.kind {
            FileKind::Procs | FileKind::Threads => {
                let (tid, _) = crate::eventfd::caller();
                list(self.g, self.kind == FileKind::Threads, tid)
            }
            FileKind::CpuStat => cpu_stat(self.g),
            k => with(|s| s.h.read(self.g, k)),
        }
    }

    fn write_direct(&self, _offset: u64, data: &[u8]) -> Option<Result<usize>> {
        Some(self.write(data).map(|()| data.len()))
    }

    /// chown(2)/chmod(2) of the file: kept (delegation).
    fn set_attrs(&self, perm: Option<u32>, uid: Option<u32>, gid: Option<u32>) {
        with(|s| s.h.set_file_attrs(self.g, Some(self.kind), perm, uid, gid));
    }

    /// cgroup.procs and cgroup.threads keep the opener's credentials
    /// (CVE-2021-4197: __cgroup_procs_write checks with `of->file->f_cred`,
    /// not the writer's, so a privileged writer of an inherited fd cannot
    /// move tasks where the opener could not).
    fn open_file(&self, _flags: u32) -> Result<Option<Arc<dyn vfs::SynthNode>>> {
        if !matches!(self.kind, FileKind::Procs | FileKind::Threads) {
            return Ok(None);
        }
        let (_, caller) = crate::eventfd::caller();
        let (cred, ns) = table()
            .with_process(caller, |p| (crate::syscall::fs::vfs_cred(p.creds()), p.ns().cgroup.root()))
            .ok_or(Errno::ESRCH)?;
        Ok(Some(Arc::new(CgFile { g: self.g, kind: self.kind, opener: Some(cred), opener_ns: ns })))
    }
}

impl CgFile {
    fn write(&self, data: &[u8]) -> Result<()> {
        match self.kind {
            FileKind::Procs | FileKind::Threads => self.write_pid(data),
            k => {
                // cgroup_file_write under nsdelegate: inside a cgroup
                // namespace, its root group's files are not the
                // namespace's to write (but cgroup.subtree_control)
                if k != FileKind::SubtreeControl {
                    let (_, caller) = crate::eventfd::caller();
                    let ns = table().with_process(caller, |p| p.ns().cgroup.root()).unwrap_or(0);
                    if ns != 0 && with(|s| s.ns_delegate && ns_root(ns) == self.g) {
                        return Err(Errno::EPERM);
                    }
                }
                let r = with(|s| s.h.write(self.g, k, data));
                if r == Err(Errno::EOPNOTSUPP) {
                    log::info!(
                        "cgroup: {} of {:?}: not built: EOPNOTSUPP",
                        k.name(),
                        core::str::from_utf8(data)
                    );
                }
                match r? {
                    Effect::Kill => {
                        // cgroup_kill(): flagged while the snapshot's
                        // processes are signalled, so that a child committed
                        // before the snapshot but entered after it dies too
                        // (`created`)
                        let procs = with(|s| {
                            s.killing.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                            s.killing.push(self.g);
                            let procs = s.h.procs_below(self.g);
                            if procs.is_err() {
                                s.killing.pop();
                            }
                            procs
                        })?;
                        for pid in procs {
                            let _ =
                                table().send_signal(pid, signal::SigInfo::kernel(signal::SIGKILL), &Hooks);
                        }
                        with(|s| {
                            if let Some(i) = s.killing.iter().position(|&k| k == self.g) {
                                s.killing.swap_remove(i);
                            }
                        });
                    }
                    Effect::MemoryOom => {
                        if let Some(c) = with(|s| s.h.mem_counters(self.g)) {
                            enforce_max(self.g, &c);
                        }
                    }
                    Effect::Freeze => {
                        let procs = with(|s| {
                            FREEZE_ON.store(s.h.any_freezing(), Ordering::Release);
                            FREEZE_GEN.fetch_add(1, Ordering::AcqRel);
                            s.h.procs_below(self.g)
                        })?;
                        kick(&procs);
                    }
                    _ => {}
                }
                Ok(())
            }
        }
    }

    /// __cgroup_procs_write: the task (0: the writer) by the writer's
    /// number, its process for cgroup.procs; write access to the common
    /// ancestor's cgroup.procs (cgroup_procs_write_permission) in the
    /// opener's credentials; then the move.
    fn write_pid(&self, data: &[u8]) -> Result<()> {
        let threads = self.kind == FileKind::Threads;
        let nr = cgroup::parse_pid(data)?;
        let (tid, caller) = crate::eventfd::caller();
        let target = if nr == 0 { tid } else { table().pid_from(tid, nr as Pid).ok_or(Errno::ESRCH)? };
        let pid = table().tgid(target).ok_or(Errno::ESRCH)?;
        let cred = match &self.opener {
            Some(c) => c.clone(),
            None => table()
                .with_process(caller, |p| crate::syscall::fs::vfs_cred(p.creds()))
                .ok_or(Errno::ESRCH)?,
        };
        // (read before: no CG → table nesting; what it used in the group it
        // leaves stays there)
        let used = used(pid);
        with(|s| {
            if !s.h.exists(self.g) {
                return Err(Errno::ENODEV);
            }
            let src = s.h.group_of(pid);
            let common = s.h.common_ancestor(src, self.g);
            let (uid, gid, mode) = s.h.file_attrs(common, FileKind::Procs).unwrap_or((0, 0, 0o644));
            if !cred.permits(false, uid, gid, mode, 2) {
                return Err(Errno::EACCES);
            }
            // nsdelegate: both groups must be in the opener's namespace
            // (a removed namespace root has nothing inside: ENOENT)
            let nsr = ns_root(self.opener_ns);
            if s.ns_delegate
                && self.opener_ns != 0
                && (!s.h.exists(nsr) || !s.h.is_descendant(src, nsr) || !s.h.is_descendant(self.g, nsr))
            {
                return Err(Errno::ENOENT);
            }
            if threads {
                return s.h.migrate_thread(pid, self.g);
            }
            s.h.migrate_charging(pid, self.g, used)?;
            if FREEZE_ON.load(Ordering::Acquire) {
                // into or out of a freezing group: its threads look again
                FREEZE_GEN.fetch_add(1, Ordering::AcqRel);
            }
            Ok(())
        })?;
        // new pages are charged where it is now
        if !threads {
            recharge(pid);
        }
        // (cgroup_freezer_migrate_task: into or out of a freezing group)
        if FREEZE_ON.load(Ordering::Acquire) {
            kick(&[pid]);
        }
        Ok(())
    }
}

/// `mount -t cgroup2`: the hierarchy from the caller's cgroup namespace's
/// root (cgroup_do_get_tree). Once mounted, /proc/PID/cgroup shows the v2
/// line.
pub fn new_cgroupfs(pid: Pid, opts: &[u8]) -> Arc<vfs::Inode> {
    let root = root_of(pid);
    // apply_cgroup_root_flags: a mount from the initial cgroup namespace
    // sets or clears nsdelegate for the whole hierarchy; one from another
    // namespace leaves it
    let ns_raw = table().with_process(pid, |p| p.ns().cgroup.root()).unwrap_or(0);
    if ns_raw == 0 {
        let on = opts.split(|&b| b == b',').any(|o| o == b"nsdelegate");
        with(|s| s.ns_delegate = on);
    }
    let (root, mode, owner) = with(|s| {
        let root = if s.h.exists(root) { root } else { ROOT };
        (root, s.h.mode(root).unwrap_or(0o555), s.h.owner(root).unwrap_or((0, 0)))
    });
    VISIBLE.store(true, Ordering::Relaxed);
    activate();
    let fs = vfs::new_synthfs(
        vfs::makedev(0, 0x1a),
        Arc::new(crate::fs::KernelClock),
        Arc::new(CgDir { g: root }),
    );
    let _ = fs.chmod(&vfs::Cred::root(), mode);
    fs.set_synth_owner(owner.0, owner.1);
    fs
}
