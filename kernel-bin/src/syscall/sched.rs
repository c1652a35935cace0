//! Scheduling attributes: getpriority/setpriority (nice), the
//! sched_setscheduler family and sched_rr_get_interval, answering as Linux
//! 6.1 does (`kernel/sys.c`, `kernel/sched/core.c`). Each names one
//! thread (pid 0: the caller); getpriority/setpriority also take a
//! process group (PRIO_PGRP) or a user (PRIO_USER), walking every thread
//! as Linux's `kernel/sys.c` does.

use super::SysResult;
use crate::sched::{self, SCHED_BATCH, SCHED_FIFO, SCHED_IDLE, SCHED_OTHER, SCHED_RR, Task};
use crate::uthread::UThread;
use alloc::sync::Arc;
use alloc::vec::Vec;
use linux_abi::Errno;
use linux_abi::abi::Timespec;
use linux_abi::args::UserPtr;
use process::pid::Pid;
use process::rlimit::Resource;

const CAP_SYS_NICE: u32 = 23;
const PRIO_PROCESS: i32 = 0;
const PRIO_PGRP: i32 = 1;
const PRIO_USER: i32 = 2;
const SCHED_DEADLINE: i32 = 6;
const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;

/// What the permission checks need of the caller and the target thread's
/// process.
struct Who {
    task: Arc<Task>,
    /// The caller may act on the target (same uid/euid, or CAP_SYS_NICE).
    owner: bool,
    privileged: bool,
    rlimit_nice: u64,
    rlimit_rtprio: u64,
}

/// Thread number `nr` of `t`'s PID namespace as a kernel tid
/// (`find_task_by_vpid`): 0 and negative numbers stay, a number the
/// namespace does not have becomes -1 (`ESRCH` in [`who`]).
pub(crate) fn tid_from(t: &UThread, nr: i32) -> i32 {
    if nr <= 0 {
        return nr;
    }
    crate::proc::table().pid_from(t.tid, nr as Pid).map_or(-1, |p| p as i32)
}

/// The kernel thread `tid` (0: the caller) and what the checks need.
fn who(t: &UThread, tid: i32) -> Result<Who, Errno> {
    let tid = if tid == 0 { t.tid as i32 } else { tid };
    if tid < 0 {
        return Err(Errno::ESRCH);
    }
    let task = crate::proc::task_of(tid as u32).ok_or(Errno::ESRCH)?;
    let table = crate::proc::table();
    let (euid, privileged) = table
        .with_process(t.pid, |p| (p.creds().euid, p.creds().has_cap(CAP_SYS_NICE)))
        .ok_or(Errno::ESRCH)?;
    let pid = table.tgid(tid as u32).ok_or(Errno::ESRCH)?;
    let (uid, teuid, rlimit_nice, rlimit_rtprio) = table
        .with_process(pid, |p| {
            (
                p.creds().uid,
                p.creds().euid,
                p.rlimits().cur(Resource::Nice),
                p.rlimits().cur(Resource::Rtprio),
            )
        })
        .ok_or(Errno::ESRCH)?;
    Ok(Who {
        task,
        owner: privileged || euid == uid || euid == teuid,
        privileged,
        rlimit_nice,
        rlimit_rtprio,
    })
}

impl Who {
    /// Linux's `can_nice`: RLIMIT_NICE allows `20 - nice`, or CAP_SYS_NICE.
    fn can_nice(&self, nice: i32) -> bool {
        self.privileged || (20 - nice) as u64 <= self.rlimit_nice
    }
}

/// The threads `which`/`who` name, as Linux's getpriority/setpriority
/// walk them: one thread (PRIO_PROCESS, 0 the caller), every thread of
/// every process in a process group (PRIO_PGRP, 0 the caller's), or every
/// thread of every process whose real uid is `who` (PRIO_USER, 0 the
/// caller's). An empty list ends in ESRCH at the caller.
fn targets(t: &UThread, which: i32, who_: i32) -> Result<Vec<i32>, Errno> {
    let table = crate::proc::table();
    let tids = match which {
        PRIO_PROCESS => {
            let tid = if who_ == 0 { t.tid as i32 } else { tid_from(t, who_) };
            return Ok(if tid > 0 { alloc::vec![tid] } else { Vec::new() });
        }
        PRIO_PGRP => {
            let pgrp = match who_ {
                0 => table.with_process(t.pid, |p| p.pgid()).ok_or(Errno::ESRCH)?,
                w if w < 0 => return Err(Errno::ESRCH),
                w => table.pid_from(t.tid, w as Pid).ok_or(Errno::ESRCH)?,
            };
            table.try_threads_of(Some(pgrp), |_| true)?
        }
        PRIO_USER => {
            let uid = match who_ {
                0 => table.with_process(t.pid, |p| p.creds().uid).ok_or(Errno::ESRCH)?,
                w => w as u32,
            };
            table.try_threads_of(None, |p| p.creds().uid == uid)?
        }
        _ => return Err(Errno::EINVAL),
    };
    Ok(tids.into_iter().map(|t| t as i32).collect())
}

/// getpriority(2): `20 - nice` of the lowest nice value among the threads
/// named (the C library turns it into the nice value); ESRCH for none.
pub fn getpriority(t: &mut UThread, which: i32, who_: i32) -> SysResult {
    let mut best = None;
    for tid in targets(t, which, who_)? {
        if let Ok(w) = who(t, tid) {
            best = best.max(Some(20 - w.task.nice()));
        }
    }
    best.map(|p| p as isize).ok_or(Errno::ESRCH)
}

/// setpriority(2): the nice value, clamped to -20..=19, for every thread
/// named. As Linux's `set_one_prio`: a thread of another user gives
/// EPERM, a lower nice than RLIMIT_NICE allows EACCES; the others are
/// still changed, and the last such error is the result (ESRCH if no
/// thread was named).
pub fn setpriority(t: &mut UThread, which: i32, who_: i32, nice: i32) -> SysResult {
    let nice = nice.clamp(-20, 19);
    let mut result = Err(Errno::ESRCH);
    for tid in targets(t, which, who_)? {
        let Ok(w) = who(t, tid) else { continue };
        if !w.owner {
            result = Err(Errno::EPERM);
        } else if nice < w.task.nice() && !w.can_nice(nice) {
            result = Err(Errno::EACCES);
        } else {
            if result == Err(Errno::ESRCH) {
                result = Ok(0);
            }
            w.task.set_nice(nice);
        }
    }
    result
}

/// `policy` as one of ours, if Linux's sched_setscheduler accepts it.
fn policy_of(policy: i32) -> Result<u8, Errno> {
    match policy {
        0 => Ok(SCHED_OTHER),
        1 => Ok(SCHED_FIFO),
        2 => Ok(SCHED_RR),
        3 => Ok(SCHED_BATCH),
        5 => Ok(SCHED_IDLE),
        // SCHED_DEADLINE needs sched_setattr's parameters
        _ => Err(Errno::EINVAL),
    }
}

fn is_rt(p: u8) -> bool {
    p == SCHED_FIFO || p == SCHED_RR
}

/// What a sched_setscheduler/setparam/setattr call asks for.
struct Change {
    /// The new policy; None keeps the thread's (and its
    /// SCHED_RESET_ON_FORK).
    policy: Option<u8>,
    reset_on_fork: bool,
    prio: u32,
    /// The nice value for SCHED_OTHER/BATCH (sched_setattr); None keeps it.
    nice: Option<i32>,
    /// SCHED_FLAG_KEEP_PARAMS: checked, but only SCHED_RESET_ON_FORK
    /// changes (`__sched_setscheduler` skips `__setscheduler_params`).
    keep_params: bool,
    /// An error Linux gives after the permission checks, before any
    /// change (SCHED_FLAG_SUGOV's EINVAL, the clamps' EOPNOTSUPP).
    late: Option<Errno>,
}

fn is_fair(p: u8) -> bool {
    p == SCHED_OTHER || p == SCHED_BATCH
}

/// `__sched_setscheduler`'s checks, in its order, and the change.
fn apply(w: &Who, c: Change) -> SysResult {
    let cur = w.task.policy.load(core::sync::atomic::Ordering::Relaxed);
    let (policy, reset_on_fork) = match c.policy {
        Some(p) => (p, c.reset_on_fork),
        None => (cur, w.task.reset_on_fork()),
    };
    let prio = c.prio;
    if prio > 99 || is_rt(policy) != (prio != 0) {
        return Err(Errno::EINVAL);
    }
    if !w.privileged {
        if let Some(nice) = c.nice.filter(|_| is_fair(policy))
            && nice < w.task.nice()
            && !w.can_nice(nice)
        {
            return Err(Errno::EPERM);
        }
        if is_rt(policy) {
            let cur_prio = u64::from(w.task.rt_prio.load(core::sync::atomic::Ordering::Relaxed));
            if policy != cur && w.rlimit_rtprio == 0 {
                return Err(Errno::EPERM);
            }
            if u64::from(prio) > cur_prio && u64::from(prio) > w.rlimit_rtprio {
                return Err(Errno::EPERM);
            }
        }
        if cur == SCHED_IDLE && policy != SCHED_IDLE && !w.can_nice(w.task.nice()) {
            return Err(Errno::EPERM);
        }
        if !w.owner {
            return Err(Errno::EPERM);
        }
        // only a privileged caller may clear SCHED_RESET_ON_FORK
        if w.task.reset_on_fork() && !reset_on_fork {
            return Err(Errno::EPERM);
        }
    }
    if let Some(e) = c.late {
        return Err(e);
    }
    if !c.keep_params {
        w.task.set_policy(policy, prio as u8);
        if let Some(nice) = c.nice.filter(|_| is_fair(policy)) {
            w.task.set_nice(nice);
        }
    }
    w.task.set_reset_on_fork(reset_on_fork);
    Ok(0)
}

/// sched_setscheduler (`policy` given) and sched_setparam (None: the
/// thread's policy and SCHED_RESET_ON_FORK kept).
fn setscheduler(t: &mut UThread, tid: i32, policy: Option<i32>, param: UserPtr<i32>) -> SysResult {
    if param.is_null() || tid < 0 {
        return Err(Errno::EINVAL);
    }
    let prio = t.read(param)?;
    let w = who(t, tid_from(t, tid))?;
    let (policy, reset_on_fork) = match policy {
        Some(p) => (Some(policy_of(p & !SCHED_RESET_ON_FORK)?), p & SCHED_RESET_ON_FORK != 0),
        None => (None, false),
    };
    apply(&w, Change { policy, reset_on_fork, prio: prio as u32, nice: None, keep_params: false, late: None })
}

/// `SCHED_ATTR_SIZE_VER0`: sched_attr without the utilization clamps.
const SCHED_ATTR_SIZE_VER0: u32 = 48;
const SCHED_ATTR_SIZE: u32 = 56;
const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;
const SCHED_FLAG_KEEP_POLICY: u64 = 0x08;
const SCHED_FLAG_KEEP_PARAMS: u64 = 0x10;
const SCHED_FLAG_UTIL_CLAMP: u64 = 0x20 | 0x40;
const SCHED_FLAG_ALL: u64 = 0x7f;
const SCHED_FLAG_SUGOV: u64 = 0x1000_0000;

/// SCHED_DEADLINE's parameters as Linux's `__checkparam_dl` takes them
/// (runtime >= 1024 ns, runtime <= deadline <= period, period between the
/// default sysctl bounds of 100 us and 2^22 us).
fn deadline_params_valid(a: &linux_abi::abi::SchedAttr) -> bool {
    // the special deadline tasks of schedutil use no parameter
    if a.sched_flags & SCHED_FLAG_SUGOV != 0 {
        return true;
    }
    let period = if a.sched_period == 0 { a.sched_deadline } else { a.sched_period };
    a.sched_deadline != 0
        && a.sched_runtime >= 1024
        && (a.sched_deadline | a.sched_period) >> 63 == 0
        && period >= a.sched_deadline
        && a.sched_deadline >= a.sched_runtime
        && (100_000..=(1 << 22) * 1000).contains(&period)
}

/// sched_setattr(2) as Linux 6.1's: the struct's size rules
/// (`sched_copy_attr`: 0 means VER0, below VER0 or above a page E2BIG with
/// the kernel's size written back, bytes past ours must be zero), then
/// `__sched_setscheduler`. SCHED_DEADLINE is not done (EINVAL with a log
/// line once its parameters pass Linux's checks; EPERM unprivileged, as
/// Linux); the utilization clamps are not either (EOPNOTSUPP, Linux's
/// answer without CONFIG_UCLAMP_TASK).
pub fn sched_setattr(
    t: &mut UThread,
    tid: i32,
    uattr: UserPtr<linux_abi::abi::SchedAttr>,
    flags: u32,
) -> SysResult {
    if uattr.is_null() || tid < 0 || flags != 0 {
        return Err(Errno::EINVAL);
    }
    let size = match t.read(uattr.cast::<u32>())? {
        0 => SCHED_ATTR_SIZE_VER0,
        n => n,
    };
    if !(SCHED_ATTR_SIZE_VER0..=4096).contains(&size) {
        // Linux ignores whether the size could be written back
        let _ = t.write(uattr.cast::<u32>(), SCHED_ATTR_SIZE);
        return Err(Errno::E2BIG);
    }
    let mut raw = [0u8; SCHED_ATTR_SIZE as usize];
    let ours = size.min(SCHED_ATTR_SIZE) as usize;
    t.read_into(uattr.addr(), &mut raw[..ours])?;
    if size > SCHED_ATTR_SIZE {
        // copy_struct_from_user: what we do not know must be zero
        let tail = t.read_slice(linux_abi::args::UserSlice::new(
            uattr.addr() + u64::from(SCHED_ATTR_SIZE),
            (size - SCHED_ATTR_SIZE) as usize,
        ))?;
        if tail.iter().any(|&b| b != 0) {
            let _ = t.write(uattr.cast::<u32>(), SCHED_ATTR_SIZE);
            return Err(Errno::E2BIG);
        }
    }
    let mut a = <linux_abi::abi::SchedAttr as linux_abi::pod::Pod>::from_bytes(&raw);
    if a.sched_flags & SCHED_FLAG_UTIL_CLAMP != 0 && size < SCHED_ATTR_SIZE {
        return Err(Errno::EINVAL);
    }
    a.sched_nice = a.sched_nice.clamp(-20, 19);
    if (a.sched_policy as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let w = who(t, tid_from(t, tid))?;
    let keep_policy = a.sched_flags & SCHED_FLAG_KEEP_POLICY != 0;
    let keep_params = a.sched_flags & SCHED_FLAG_KEEP_PARAMS != 0;
    let cur = w.task.policy.load(core::sync::atomic::Ordering::Relaxed);
    if keep_params {
        // get_params(): the thread's priority or nice replaces the caller's
        if is_rt(cur) {
            a.sched_priority = u32::from(w.task.rt_prio.load(core::sync::atomic::Ordering::Relaxed));
        } else {
            a.sched_nice = w.task.nice();
        }
    }
    let policy = if keep_policy {
        None
    } else if a.sched_policy == SCHED_DEADLINE as u32 {
        Some(SCHED_DEADLINE as u8)
    } else {
        Some(policy_of(a.sched_policy as i32)?)
    };
    if a.sched_flags & !(SCHED_FLAG_ALL | SCHED_FLAG_SUGOV) != 0 {
        return Err(Errno::EINVAL);
    }
    if policy == Some(SCHED_DEADLINE as u8) {
        if a.sched_priority != 0 || !deadline_params_valid(&a) {
            return Err(Errno::EINVAL);
        }
        if !w.privileged {
            return Err(Errno::EPERM);
        }
        if a.sched_flags & SCHED_FLAG_SUGOV != 0 {
            return Err(Errno::EINVAL);
        }
        log::info!("pid {}: sched_setattr: SCHED_DEADLINE is not supported: EINVAL", t.pid);
        return Err(Errno::EINVAL);
    }
    let late = if a.sched_flags & SCHED_FLAG_SUGOV != 0 {
        Some(Errno::EINVAL)
    } else if a.sched_flags & SCHED_FLAG_UTIL_CLAMP != 0 {
        log::info!("pid {}: sched_setattr: utilization clamps are not supported: EOPNOTSUPP", t.pid);
        Some(Errno::EOPNOTSUPP)
    } else {
        None
    };
    apply(
        &w,
        Change {
            policy,
            reset_on_fork: a.sched_flags & SCHED_FLAG_RESET_ON_FORK != 0,
            prio: a.sched_priority,
            nice: Some(a.sched_nice),
            keep_params,
            late,
        },
    )
}

/// sched_getattr(2): the policy, SCHED_FLAG_RESET_ON_FORK, the nice value
/// (fair policies) or the real-time priority; `size` is what was copied
/// (the smaller of ours and the caller's).
pub fn sched_getattr(
    t: &mut UThread,
    tid: i32,
    uattr: UserPtr<linux_abi::abi::SchedAttr>,
    usize_: u32,
    flags: u32,
) -> SysResult {
    if uattr.is_null() || tid < 0 || !(SCHED_ATTR_SIZE_VER0..=4096).contains(&usize_) || flags != 0 {
        return Err(Errno::EINVAL);
    }
    let w = who(t, tid_from(t, tid))?;
    let policy = w.task.policy.load(core::sync::atomic::Ordering::Relaxed);
    let mut a = linux_abi::abi::SchedAttr {
        size: usize_.min(SCHED_ATTR_SIZE),
        sched_policy: u32::from(policy),
        sched_flags: if w.task.reset_on_fork() { SCHED_FLAG_RESET_ON_FORK } else { 0 },
        ..Default::default()
    };
    if is_rt(policy) {
        a.sched_priority = u32::from(w.task.rt_prio.load(core::sync::atomic::Ordering::Relaxed));
    } else {
        a.sched_nice = w.task.nice();
    }
    drop(w);
    let mut raw = [0u8; SCHED_ATTR_SIZE as usize];
    linux_abi::pod::Pod::to_bytes(&a, &mut raw);
    t.write_slice(uattr.addr(), &raw[..a.size as usize])?;
    Ok(0)
}

/// sched_setscheduler(2).
pub fn sched_setscheduler(t: &mut UThread, tid: i32, policy: i32, param: UserPtr<i32>) -> SysResult {
    if policy < 0 {
        return Err(Errno::EINVAL);
    }
    setscheduler(t, tid, Some(policy), param)
}

/// sched_setparam(2): the priority within the thread's policy.
pub fn sched_setparam(t: &mut UThread, tid: i32, param: UserPtr<i32>) -> SysResult {
    setscheduler(t, tid, None, param)
}

/// sched_getscheduler(2): the policy, with SCHED_RESET_ON_FORK or'ed in
/// when set.
pub fn sched_getscheduler(t: &mut UThread, tid: i32) -> SysResult {
    if tid < 0 {
        return Err(Errno::EINVAL);
    }
    let w = who(t, tid_from(t, tid))?;
    let flag = if w.task.reset_on_fork() { SCHED_RESET_ON_FORK } else { 0 };
    Ok((i32::from(w.task.policy.load(core::sync::atomic::Ordering::Relaxed)) | flag) as isize)
}

/// sched_getparam(2): `sched_priority` (0 for the fair policies).
pub fn sched_getparam(t: &mut UThread, tid: i32, param: UserPtr<i32>) -> SysResult {
    if param.is_null() || tid < 0 {
        return Err(Errno::EINVAL);
    }
    let w = who(t, tid_from(t, tid))?;
    let p = &w.task;
    let prio = if is_rt(p.policy.load(core::sync::atomic::Ordering::Relaxed)) {
        i32::from(p.rt_prio.load(core::sync::atomic::Ordering::Relaxed))
    } else {
        0
    };
    drop(w);
    t.write(param, prio)?;
    Ok(0)
}

/// sched_get_priority_max(2) (`max`) and sched_get_priority_min(2).
pub fn sched_get_priority(policy: i32, max: bool) -> SysResult {
    match policy {
        1 | 2 => Ok(if max { 99 } else { 1 }),
        0 | 3 | 5 | SCHED_DEADLINE => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// sched_rr_get_interval(2): SCHED_RR's 100 ms slice, 0 for SCHED_FIFO,
/// the fair granularity (one tick) otherwise.
pub fn sched_rr_get_interval(t: &mut UThread, tid: i32, tp: UserPtr<Timespec>) -> SysResult {
    if tid < 0 {
        return Err(Errno::EINVAL);
    }
    let w = who(t, tid_from(t, tid))?;
    let ns = match w.task.policy.load(core::sync::atomic::Ordering::Relaxed) {
        SCHED_RR => sched::RR_SLICE_NS,
        SCHED_FIFO => 0,
        _ => 1_000_000_000 / arch_x86_64::apic::TIMER_HZ,
    };
    drop(w);
    t.write(tp, Timespec::from_ns(ns))?;
    Ok(0)
}

const IOPRIO_CLASS_SHIFT: i32 = 13;
const IOPRIO_CLASS_NONE: i32 = 0;
const IOPRIO_CLASS_RT: i32 = 1;
const IOPRIO_CLASS_BE: i32 = 2;
const IOPRIO_CLASS_IDLE: i32 = 3;
/// What ioprio_get's walk over a group or a user takes for a thread that
/// set none (Linux 6.1's IOPRIO_DEFAULT: best effort, level 4).
const IOPRIO_DEFAULT: u16 = (IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT | 4) as u16;
const CAP_SYS_ADMIN: u32 = 21;

/// ioprio_set(2)/ioprio_get(2)'s `which` as getpriority's (IOPRIO_WHO_
/// PROCESS, _PGRP and _USER are PRIO_PROCESS, _PGRP and _USER plus one).
fn ioprio_targets(t: &UThread, which: i32, who_: i32) -> Result<Vec<i32>, Errno> {
    match which {
        1..=3 => targets(t, which - 1, who_),
        _ => Err(Errno::EINVAL),
    }
}

/// Linux 6.1's `ioprio_check_cap`, before any thread is looked at: the
/// class is bits 13-15, the level the low 3 bits (so every level of the
/// real-time and best-effort classes passes, and the class none takes a
/// value whose low 3 bits are 0); the real-time class needs CAP_SYS_ADMIN
/// or CAP_SYS_NICE.
fn ioprio_check(t: &UThread, ioprio: i32) -> Result<(), Errno> {
    let (class, level) = ((ioprio >> IOPRIO_CLASS_SHIFT) & 7, ioprio & 7);
    match class {
        IOPRIO_CLASS_RT => {
            let capable = crate::proc::table()
                .with_process(t.pid, |p| p.creds().has_cap(CAP_SYS_ADMIN) || p.creds().has_cap(CAP_SYS_NICE))
                .unwrap_or(false);
            if capable { Ok(()) } else { Err(Errno::EPERM) }
        }
        IOPRIO_CLASS_BE | IOPRIO_CLASS_IDLE => Ok(()),
        IOPRIO_CLASS_NONE if level == 0 => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// ioprio_set(2): the I/O priority of the threads named (one thread, a
/// process group's, a user's), kept as Linux keeps it (an unsigned short)
/// and reported, not used: I/O here is not scheduled by priority. As
/// Linux: a thread of another user gives EPERM and stops the walk there;
/// no thread named, ESRCH.
pub fn ioprio_set(t: &mut UThread, which: i32, who_: i32, ioprio: i32) -> SysResult {
    ioprio_check(t, ioprio)?;
    let tids = ioprio_targets(t, which, who_)?;
    let table = crate::proc::table();
    let (uid, euid, privileged) = table
        .with_process(t.pid, |p| (p.creds().uid, p.creds().euid, p.creds().has_cap(CAP_SYS_NICE)))
        .ok_or(Errno::ESRCH)?;
    let mut result = Err(Errno::ESRCH);
    for tid in tids {
        // set_task_ioprio(): the target's real uid is the caller's real or
        // effective uid, or CAP_SYS_NICE
        let Some(target_uid) =
            table.tgid(tid as Pid).and_then(|pid| table.with_process(pid, |p| p.creds().uid))
        else {
            continue;
        };
        if target_uid != uid && target_uid != euid && !privileged {
            return Err(Errno::EPERM);
        }
        if crate::proc::table().with_thread(tid as Pid, |th| th.ext_mut().ioprio = ioprio as u16).is_some() {
            result = Ok(0);
        }
    }
    result
}

/// ioprio_get(2): the thread's I/O priority (0, the class none, when it
/// set none); for a group or a user Linux's walk: the first thread's,
/// then the best (lowest) with each next one, an unset one counting as
/// IOPRIO_DEFAULT from the second on; ESRCH when none is named.
pub fn ioprio_get(t: &mut UThread, which: i32, who_: i32) -> SysResult {
    let mut best: Option<u16> = None;
    for tid in ioprio_targets(t, which, who_)? {
        let Some(p) = crate::proc::table().with_thread(tid as Pid, |th| th.ext().ioprio) else { continue };
        let valid = |p: u16| if p >> IOPRIO_CLASS_SHIFT == 0 { IOPRIO_DEFAULT } else { p };
        best = Some(match best {
            None => p,
            Some(b) => valid(b).min(valid(p)),
        });
    }
    best.map(|p| p as isize).ok_or(Errno::ESRCH)
}
