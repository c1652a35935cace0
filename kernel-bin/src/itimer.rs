//! ITIMER_REAL (setitimer/getitimer/alarm): one per process; SIGALRM to the
//! process when it expires, re-armed by its interval. Expiry is checked on
//! every timer interrupt that reaches a user thread and in the idle loop.

use crate::proc::{Hooks, table};
use alloc::collections::BTreeMap;
use process::pid::Pid;
use spin::Mutex;

#[derive(Clone, Copy, Debug, Default)]
struct Timer {
    deadline_ns: u64,
    interval_ns: u64,
}

static TIMERS: Mutex<BTreeMap<Pid, Timer>> = Mutex::new(BTreeMap::new());

/// `(remaining, interval)` of process `pid`'s timer in nanoseconds.
pub fn get(pid: Pid) -> (u64, u64) {
    let now = arch_x86_64::time::since_boot_ns();
    TIMERS.lock().get(&pid).map_or((0, 0), |t| (t.deadline_ns.saturating_sub(now).max(1), t.interval_ns))
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
    let mut t = TIMERS.lock();
    if value_ns == 0 {
        t.remove(&pid);
    } else {
        let deadline_ns = deadline_after(arch_x86_64::time::since_boot_ns(), value_ns);
        t.insert(pid, Timer { deadline_ns, interval_ns: interval_ns.min(KTIME_MAX) });
    }
    old
}

/// Fires due timers.
pub fn check() {
    let now = arch_x86_64::time::since_boot_ns();
    let due: alloc::vec::Vec<Pid> = {
        let mut t = TIMERS.lock();
        let due: alloc::vec::Vec<Pid> =
            t.iter().filter(|(_, x)| x.deadline_ns <= now).map(|(p, _)| *p).collect();
        for p in &due {
            if let Some(x) = t.get_mut(p) {
                if x.interval_ns == 0 {
                    t.remove(p);
                } else {
                    x.deadline_ns = deadline_after(now, x.interval_ns);
                }
            }
        }
        due
    };
    for pid in due {
        if table().with_process(pid, |p| p.state()).is_none() {
            TIMERS.lock().remove(&pid);
            continue;
        }
        let _ = table().send_signal(pid, signal::SigInfo::kernel(signal::SIGALRM), &Hooks);
    }
}

/// Forgets the timer of a process that is gone.
pub fn forget(pid: Pid) {
    TIMERS.lock().remove(&pid);
}
