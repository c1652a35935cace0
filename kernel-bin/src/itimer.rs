//! ITIMER_REAL (setitimer/getitimer/alarm): one per process; SIGALRM to the
//! process when it expires, re-armed by its interval. An armed one sits in
//! the deadline queue (`timerq`, with the POSIX timers on wall clocks),
//! which the tick (every timer interrupt that reaches a user thread, and
//! the idle loop, on CPU 0) pops: no walk over the processes.
//!
//! ITIMER_VIRTUAL (the process's user CPU time, SIGVTALRM) and ITIMER_PROF
//! (user + system, SIGPROF): an expiry in process CPU time, checked on each
//! timer interrupt that arrives while a thread of the process runs in user
//! mode, as Linux's tick-driven check_cpu_itimer().
//!
//! The timers live in the process record ([`Timers`] in
//! `proc::ProcessExt`): a fork's are disarmed, exec keeps them, they go
//! with the process.

use crate::proc::{Hooks, table};
use core::sync::atomic::{AtomicUsize, Ordering};
use process::pid::Pid;

#[derive(Clone, Copy, Debug, Default)]
struct Timer {
    deadline_ns: u64,
    interval_ns: u64,
}

/// A process's interval timers, kept in its record (a fork's are
/// disarmed: `Default`).
#[derive(Default)]
pub struct Timers {
    /// ITIMER_REAL (its deadline on the monotonic clock).
    real: Option<Timer>,
    /// ITIMER_REAL's place in the deadline queue (from its first arming).
    slot: Option<crate::timerq::Slot>,
    /// ITIMER_VIRTUAL and ITIMER_PROF (`which` 1 and 2).
    cpu: [Option<CpuTimer>; 2],
}

impl Timers {
    /// Sets CPU timer `which` (1 or 2), keeping [`CPU_ARMED`] in step.
    fn set_cpu(&mut self, which: u64, new: Option<CpuTimer>) {
        let slot = &mut self.cpu[usize::from(which == 2)];
        match (slot.is_some(), new.is_some()) {
            (false, true) => {
                CPU_ARMED.fetch_add(1, Ordering::Relaxed);
            }
            (true, false) => {
                CPU_ARMED.fetch_sub(1, Ordering::Relaxed);
            }
            _ => {}
        }
        *slot = new;
    }
}

impl Drop for Timers {
    fn drop(&mut self) {
        self.set_cpu(1, None);
        self.set_cpu(2, None);
    }
}

/// `f` on the timers of process `pid` (under the table lock).
fn timers<R>(pid: Pid, f: impl FnOnce(&mut Timers) -> R) -> Option<R> {
    table().with_process(pid, |p| f(&mut p.ext_mut().timers))
}

/// `(remaining, interval)` of process `pid`'s timer in nanoseconds.
pub fn get(pid: Pid) -> (u64, u64) {
    let now = arch_x86_64::time::monotonic_ns();
    timers(pid, |t| t.real)
        .flatten()
        .map_or((0, 0), |t| (t.deadline_ns.saturating_sub(now).max(1), t.interval_ns))
}

/// Linux's KTIME_MAX: timer values, intervals and deadlines saturate here
/// (ktime_set(), ktime_add_safe()), so what is read back stays far from
/// u64::MAX and arithmetic on it cannot overflow.
const KTIME_MAX: u64 = i64::MAX as u64;

/// `now + ns`, saturating at [`KTIME_MAX`].
fn deadline_after(now: u64, ns: u64) -> u64 {
    now.saturating_add(ns).min(KTIME_MAX)
}

/// Arms (or with `value_ns` 0 disarms) the timer; returns the old setting.
/// Values past [`KTIME_MAX`] are taken as KTIME_MAX. `ENOMEM` when its
/// first arming finds no room in the deadline queue.
pub fn set(pid: Pid, value_ns: u64, interval_ns: u64) -> Result<(u64, u64), linux_abi::Errno> {
    let slot = if value_ns != 0 && timers(pid, |t| t.slot.is_none()) == Some(true) {
        Some(crate::timerq::alloc(crate::timerq::Owner::Itimer(pid))?)
    } else {
        None
    };
    let old = get(pid);
    let new = (value_ns != 0).then(|| Timer {
        deadline_ns: deadline_after(arch_x86_64::time::monotonic_ns(), value_ns),
        interval_ns: interval_ns.min(KTIME_MAX),
    });
    let mut slot = slot;
    timers(pid, |t| {
        if t.slot.is_none() {
            t.slot = slot.take();
        }
        t.real = new;
        t.queue();
    });
    // (a slot another thread gave the record first is dropped here)
    drop(slot);
    Ok(old)
}

impl Timers {
    /// Puts ITIMER_REAL's slot in the deadline queue at its deadline, or
    /// takes it out (under the table lock; the queue's lock is a leaf).
    fn queue(&self) {
        let Some(slot) = &self.slot else { return };
        match self.real {
            Some(x) => crate::timerq::arm(slot, x.deadline_ns),
            None => crate::timerq::disarm(slot),
        }
    }
}

/// Fires due timers: timerfds, then the process timers the deadline
/// queue says are due (ITIMER_REAL and POSIX wall-clock timers).
pub fn check() {
    crate::timerfd::check();
    crate::timerq::expire(|o| match o {
        crate::timerq::Owner::Itimer(pid) => fire_real(pid),
        crate::timerq::Owner::Posix(pid, id) => crate::posix_timer::fire(pid, id),
        crate::timerq::Owner::Uring(key) => crate::syscall::io_uring::fire(key),
    });
}

/// ITIMER_REAL of `pid` may be due: SIGALRM if it is, re-armed by its
/// interval (from now, as before), queued again otherwise.
fn fire_real(pid: Pid) {
    let now = arch_x86_64::time::monotonic_ns();
    let fire = timers(pid, |t| {
        let Some(x) = &mut t.real else { return false };
        let fire = x.deadline_ns <= now;
        if fire {
            if x.interval_ns == 0 {
                t.real = None;
            } else {
                x.deadline_ns = deadline_after(now, x.interval_ns);
            }
        }
        t.queue();
        fire
    });
    if fire == Some(true) {
        let _ = table().send_signal(pid, signal::SigInfo::kernel(signal::SIGALRM), &Hooks);
    }
}

/// Forgets the timers of a process that is gone.
pub fn forget(pid: Pid) {
    crate::posix_timer::delete_all(pid);
    // (the slot is dropped after the table lock)
    let slot = timers(pid, |t| {
        t.real = None;
        t.set_cpu(1, None);
        t.set_cpu(2, None);
        t.slot.take()
    });
    drop(slot);
}

/// An armed CPU-time timer: the process CPU time (ns) at which it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CpuTimer {
    expires_ns: u64,
    interval_ns: u64,
}

/// How many CPU-time timers are armed (the tick looks at none when 0).
static CPU_ARMED: AtomicUsize = AtomicUsize::new(0);

/// Linux's TICK_NSEC at HZ=1000: a newly armed CPU timer gets one more
/// tick, and one about to fire shows one tick left.
const TICK_NS: u64 = 1_000_000;

/// CPU timer `which` (1 or 2) of process `pid`, if armed.
fn cpu_timer(pid: Pid, which: u64) -> Option<CpuTimer> {
    timers(pid, |t| t.cpu[usize::from(which == 2)]).flatten()
}

/// The CPU time timer `which` of process `pid` measures.
fn cpu_sample(pid: Pid, which: u64) -> u64 {
    let t = table().cpu_times(pid).unwrap_or_default();
    if which == 1 { t.user_ns } else { t.total_ns() }
}

/// `(remaining, interval)` of CPU timer `which` (1 or 2) of `pid`, as
/// Linux's get_cpu_itimer(): one tick when it is about to fire.
pub fn get_cpu(pid: Pid, which: u64) -> (u64, u64) {
    let Some(t) = cpu_timer(pid, which) else { return (0, 0) };
    let now = cpu_sample(pid, which);
    let left = if t.expires_ns <= now { TICK_NS } else { t.expires_ns - now };
    (left, t.interval_ns)
}

/// Arms (value 0: disarms) CPU timer `which` of `pid`; returns the old
/// `(remaining, interval)`.
pub fn set_cpu(pid: Pid, which: u64, value_ns: u64, interval_ns: u64) -> (u64, u64) {
    let old = get_cpu(pid, which);
    let now = cpu_sample(pid, which);
    let new = (value_ns != 0).then(|| CpuTimer {
        expires_ns: deadline_after(now, value_ns.saturating_add(TICK_NS)),
        interval_ns: interval_ns.min(KTIME_MAX),
    });
    timers(pid, |t| t.set_cpu(which, new));
    old
}

/// Set once a process's RLIMIT_CPU was made finite: from then on the tick
/// looks at the limit of the process it interrupts (until then, one load).
static CPU_LIMITED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// setrlimit/prlimit set RLIMIT_CPU's soft limit to `cur`.
pub fn note_cpu_limit(cur: u64) {
    if cur != process::rlimit::RLIM_INFINITY {
        CPU_LIMITED.store(true, Ordering::Relaxed);
    }
}

/// RLIMIT_CPU at a tick (Linux's check_process_timers()): SIGXCPU at the
/// soft limit and each second past it (the soft limit raised by one),
/// SIGKILL at the hard limit (`process::rlimit::cpu_limit_check`).
fn check_rlimit_cpu(pid: Pid) {
    use process::rlimit::{CpuLimitAction, NR_OPEN, Resource, Rlimit};
    if !CPU_LIMITED.load(Ordering::Relaxed) {
        return;
    }
    let Some(lim) = table().with_process(pid, |p| p.rlimits().get(Resource::Cpu)) else { return };
    if lim.cur == process::rlimit::RLIM_INFINITY {
        return;
    }
    let cpu = table().cpu_times(pid).unwrap_or_default().total_ns();
    let sig = match process::rlimit::cpu_limit_check(lim, cpu) {
        CpuLimitAction::None => return,
        CpuLimitAction::Kill => signal::SIGKILL,
        CpuLimitAction::Xcpu(cur) => {
            // unless a setrlimit changed it meanwhile
            let raised = table().with_process(pid, |p| {
                p.rlimits().get(Resource::Cpu) == lim
                    && p.rlimits_mut()
                        .prlimit(Resource::Cpu, Some(Rlimit::new(cur, lim.max)), true, NR_OPEN)
                        .is_ok()
            });
            if raised != Some(true) {
                return;
            }
            signal::SIGXCPU
        }
    };
    let _ = table().send_signal(pid, signal::SigInfo::kernel(sig), &Hooks);
}

/// Set once a process's RLIMIT_RTTIME was made finite: from then on the
/// tick counts real-time threads' ticks ([`crate::sched::rt_tick`]).
static RTTIME_LIMITED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// setrlimit/prlimit set RLIMIT_RTTIME's soft limit to `cur`.
pub fn note_rttime_limit(cur: u64) {
    if cur != process::rlimit::RLIM_INFINITY {
        RTTIME_LIMITED.store(true, Ordering::Relaxed);
    }
}

/// RLIMIT_RTTIME at a tick (Linux's rt watchdog and
/// check_thread_timers()): a SCHED_FIFO/RR thread's run time since it last
/// blocked, in ticks of 1/HZ, against the limits in microseconds:
/// SIGKILL at the hard limit, SIGXCPU at the soft limit and each second
/// past it (the soft limit raised by one second), to the process.
fn check_rlimit_rttime(pid: Pid) {
    use process::rlimit::{RLIM_INFINITY, Resource};
    if !RTTIME_LIMITED.load(Ordering::Relaxed) {
        return;
    }
    let Some(lim) = table().with_process(pid, |p| p.rlimits().get(Resource::Rttime)) else { return };
    if lim.cur == RLIM_INFINITY {
        return;
    }
    let ticks = crate::sched::rt_tick();
    if ticks == 0 {
        return;
    }
    let rttime_us = u64::from(ticks) * (1_000_000 / arch_x86_64::apic::TIMER_HZ);
    let sig = if lim.max != RLIM_INFINITY && rttime_us >= lim.max {
        signal::SIGKILL
    } else if rttime_us >= lim.cur {
        // unless a setrlimit changed it meanwhile
        let raised = table().with_process(pid, |p| {
            let same = p.rlimits().get(Resource::Rttime) == lim;
            if same {
                p.rlimits_mut().raise_soft(Resource::Rttime, lim.cur.saturating_add(1_000_000));
            }
            same
        });
        if raised != Some(true) {
            return;
        }
        signal::SIGXCPU
    } else {
        return;
    };
    let _ = table().send_signal(pid, signal::SigInfo::kernel(sig), &Hooks);
}

/// A tick interrupted a thread of `pid` in user mode: RLIMIT_RTTIME and
/// RLIMIT_CPU, then
/// fires its due CPU timers (re-armed by their interval, as
/// check_cpu_itimer()).
pub fn check_cpu(pid: Pid, tid: Pid, cpu: &process::cputime::SharedCpu) {
    check_rlimit_rttime(pid);
    check_cpu_timers(pid, tid, cpu);
}

/// Whether any process has a CPU-time timer or a finite RLIMIT_CPU (what
/// [`check_cpu_timers`] looks at): one relaxed load each.
pub fn cpu_watched() -> bool {
    CPU_ARMED.load(Ordering::Relaxed) != 0
        || crate::posix_timer::any_cpu_timer()
        || CPU_LIMITED.load(Ordering::Relaxed)
}

/// A tick came while thread `tid` of `pid` ran (in user mode, or in the
/// kernel before its return to user mode): RLIMIT_CPU, then its due
/// CPU-time timers (POSIX ones, then ITIMER_VIRTUAL/PROF, re-armed by
/// their interval as check_cpu_itimer()).
pub fn check_cpu_timers(pid: Pid, tid: Pid, cpu: &process::cputime::SharedCpu) {
    check_rlimit_cpu(pid);
    if crate::posix_timer::any_cpu_timer() {
        let c = cpu.times();
        crate::posix_timer::check_cpu(pid, tid, (c.total_ns(), c.user_ns));
    }
    if CPU_ARMED.load(Ordering::Relaxed) == 0 {
        return;
    }
    for which in [1u64, 2] {
        let Some(t) = cpu_timer(pid, which) else { continue };
        if cpu_sample(pid, which) < t.expires_ns {
            continue;
        }
        let next = (t.interval_ns != 0).then(|| CpuTimer {
            expires_ns: t.expires_ns.saturating_add(t.interval_ns).min(KTIME_MAX),
            interval_ns: t.interval_ns,
        });
        // unless another thread set it meanwhile
        timers(pid, |x| {
            if x.cpu[usize::from(which == 2)] == Some(t) {
                x.set_cpu(which, next);
            }
        });
        let sig = if which == 1 { signal::SIGVTALRM } else { signal::SIGPROF };
        let _ = table().send_signal(pid, signal::SigInfo::kernel(sig), &Hooks);
    }
}
