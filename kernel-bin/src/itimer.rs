//! ITIMER_REAL (setitimer/getitimer/alarm): one per process; SIGALRM to the
//! process when it expires, re-armed by its interval. Expiry is checked on
//! every timer interrupt that reaches a user thread and in the idle loop.
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
use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use process::pid::Pid;
use spin::Mutex;

#[derive(Clone, Copy, Debug, Default)]
struct Timer {
    deadline_ns: u64,
    interval_ns: u64,
}

/// A process's interval timers, kept in its record (a fork's are
/// disarmed: `Default`).
#[derive(Default)]
pub struct Timers {
    /// ITIMER_REAL.
    real: Option<Timer>,
}

/// No real timer of any process is due before this (boot-clock ns;
/// `u64::MAX`: none armed), so the tick looks at the processes only when
/// one may be due.
static NEXT_DUE: AtomicU64 = AtomicU64::new(u64::MAX);

/// `f` on the timers of process `pid` (under the table lock).
fn timers<R>(pid: Pid, f: impl FnOnce(&mut Timers) -> R) -> Option<R> {
    table().with_process(pid, |p| f(&mut p.ext.timers))
}

/// `(remaining, interval)` of process `pid`'s timer in nanoseconds.
pub fn get(pid: Pid) -> (u64, u64) {
    let now = arch_x86_64::time::since_boot_ns();
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
/// Values past [`KTIME_MAX`] are taken as KTIME_MAX.
pub fn set(pid: Pid, value_ns: u64, interval_ns: u64) -> (u64, u64) {
    let old = get(pid);
    let new = (value_ns != 0).then(|| Timer {
        deadline_ns: deadline_after(arch_x86_64::time::since_boot_ns(), value_ns),
        interval_ns: interval_ns.min(KTIME_MAX),
    });
    timers(pid, |t| t.real = new);
    // after the timer is in the record: a scan that reset NEXT_DUE sees it
    if let Some(t) = new {
        NEXT_DUE.fetch_min(t.deadline_ns, Ordering::SeqCst);
    }
    old
}

/// Fires due timers (timerfds too).
pub fn check() {
    crate::timerfd::check();
    let now = arch_x86_64::time::since_boot_ns();
    if now < NEXT_DUE.load(Ordering::SeqCst) {
        return;
    }
    // Some timer is due: look at every process, one at a time (the table
    // lock is not held across the scan), and note the next deadline.
    // Reset first: a timer set meanwhile lowers it again.
    NEXT_DUE.store(u64::MAX, Ordering::SeqCst);
    for pid in table().pids() {
        let fire = timers(pid, |t| {
            let Some(x) = &mut t.real else { return false };
            let fire = x.deadline_ns <= now;
            if fire {
                if x.interval_ns == 0 {
                    t.real = None;
                    return true;
                }
                x.deadline_ns = deadline_after(now, x.interval_ns);
            }
            NEXT_DUE.fetch_min(x.deadline_ns, Ordering::SeqCst);
            fire
        });
        if fire == Some(true) {
            let _ = table().send_signal(pid, signal::SigInfo::kernel(signal::SIGALRM), &Hooks);
        }
    }
}

/// Forgets the timers of a process that is gone.
pub fn forget(pid: Pid) {
    timers(pid, |t| t.real = None);
    let mut m = CPU_TIMERS.lock();
    for which in [1u64, 2] {
        if m.remove(&(pid, which)).is_some() {
            CPU_ARMED.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// An armed CPU-time timer: the process CPU time (ns) at which it fires.
#[derive(Clone, Copy, Debug)]
struct CpuTimer {
    expires_ns: u64,
    interval_ns: u64,
}

/// `(pid, which)` with `which` 1 (ITIMER_VIRTUAL) or 2 (ITIMER_PROF).
static CPU_TIMERS: Mutex<BTreeMap<(Pid, u64), CpuTimer>> = Mutex::new(BTreeMap::new());
/// How many CPU-time timers are armed (the tick skips the map when none).
static CPU_ARMED: AtomicUsize = AtomicUsize::new(0);

/// Linux's TICK_NSEC at HZ=1000: a newly armed CPU timer gets one more
/// tick, and one about to fire shows one tick left.
const TICK_NS: u64 = 1_000_000;

/// The CPU time timer `which` of process `pid` measures.
fn cpu_sample(pid: Pid, which: u64) -> u64 {
    let t = table().cpu_times(pid).unwrap_or_default();
    if which == 1 { t.user_ns } else { t.total_ns() }
}

/// `(remaining, interval)` of CPU timer `which` (1 or 2) of `pid`, as
/// Linux's get_cpu_itimer(): one tick when it is about to fire.
pub fn get_cpu(pid: Pid, which: u64) -> (u64, u64) {
    let Some(t) = CPU_TIMERS.lock().get(&(pid, which)).copied() else { return (0, 0) };
    let now = cpu_sample(pid, which);
    let left = if t.expires_ns <= now { TICK_NS } else { t.expires_ns - now };
    (left, t.interval_ns)
}

/// Arms (value 0: disarms) CPU timer `which` of `pid`; returns the old
/// `(remaining, interval)`.
pub fn set_cpu(pid: Pid, which: u64, value_ns: u64, interval_ns: u64) -> (u64, u64) {
    let old = get_cpu(pid, which);
    let now = cpu_sample(pid, which);
    let mut m = CPU_TIMERS.lock();
    let had = if value_ns == 0 {
        m.remove(&(pid, which)).is_some()
    } else {
        let expires_ns = deadline_after(now, value_ns.saturating_add(TICK_NS));
        m.insert((pid, which), CpuTimer { expires_ns, interval_ns: interval_ns.min(KTIME_MAX) }).is_some()
    };
    match (had, value_ns != 0) {
        (false, true) => {
            CPU_ARMED.fetch_add(1, Ordering::Relaxed);
        }
        (true, false) => {
            CPU_ARMED.fetch_sub(1, Ordering::Relaxed);
        }
        _ => {}
    }
    old
}

/// A tick interrupted a thread of `pid` in user mode: fires its due CPU
/// timers (re-armed by their interval, as check_cpu_itimer()).
pub fn check_cpu(pid: Pid) {
    if CPU_ARMED.load(Ordering::Relaxed) == 0 {
        return;
    }
    for which in [1u64, 2] {
        let Some(t) = CPU_TIMERS.lock().get(&(pid, which)).copied() else { continue };
        if cpu_sample(pid, which) < t.expires_ns {
            continue;
        }
        {
            let mut m = CPU_TIMERS.lock();
            if t.interval_ns == 0 {
                if m.remove(&(pid, which)).is_some() {
                    CPU_ARMED.fetch_sub(1, Ordering::Relaxed);
                }
            } else if let Some(x) = m.get_mut(&(pid, which)) {
                x.expires_ns = x.expires_ns.saturating_add(t.interval_ns).min(KTIME_MAX);
            }
        }
        let sig = if which == 1 { signal::SIGVTALRM } else { signal::SIGPROF };
        let _ = table().send_signal(pid, signal::SigInfo::kernel(sig), &Hooks);
    }
}
