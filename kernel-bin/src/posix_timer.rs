//! POSIX per-process timers: timer_create(2), timer_settime(2),
//! timer_gettime(2), timer_getoverrun(2), timer_delete(2), as Linux 6.1's
//! kernel/time/posix-timers.c.
//!
//! A process's timers live in its record ([`Table`] in
//! `proc::ProcessExt`, under the process-table lock): a fork's child has
//! none, exec and the exit delete them. Ids count up from 0 per process
//! and are not reused until they wrap (posix_timer_add()); a failed
//! create past the id allocation still uses its id, as Linux.
//!
//! An armed wall-clock timer sits in the deadline queue (`timerq`, one
//! slot per timer from its creation) and the tick fires what the queue
//! says is due ([`fire`]); CPU-time timers (process and thread clocks)
//! are looked at by the tick that interrupts a thread of their process
//! in user mode ([`check_cpu`]; a thread clock's timer only by a tick of
//! that thread).
//!
//! A timer's signal is queued once: while it is queued a further expiry
//! only counts (si_overrun), a periodic timer is re-armed when its signal
//! is taken ([`on_dequeue`], Linux's posixtimer_rearm()), counting the
//! periods missed meanwhile as overruns (timer_getoverrun(2)).

use crate::proc::{Hooks, table};
use crate::syscall::SysResult;
use crate::uthread::UThread;
use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicUsize, Ordering};
use linux_abi::Errno;
use linux_abi::abi::{Itimerspec, Timespec};
use linux_abi::args::UserPtr;
use process::pid::Pid;
use signal::{SigFields, SigInfo, SigNum};

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;
const SIGEV_THREAD_ID: i32 = 4;
const TIMER_ABSTIME: i32 = 1;
/// `DELAYTIMER_MAX`: overrun counts saturate here.
const DELAYTIMER_MAX: i64 = i32::MAX as i64;
const KTIME_MAX: u64 = i64::MAX as u64;
/// `CAP_WAKE_ALARM`.
const CAP_WAKE_ALARM: u32 = 35;
/// At most this many timers per process (and at most its
/// RLIMIT_SIGPENDING): the CPU-time tick walks a process's table under the
/// process-table lock, so its length is bounded.
const MAX_TIMERS: u64 = 4096;
/// At most this many CPU-time expiries of one process per tick; the rest
/// stay due and the next tick takes them.
const FIRE_BUDGET: usize = 32;

/// What a timer measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Clock {
    /// CLOCK_REALTIME (and TAI, REALTIME_ALARM).
    Real,
    /// CLOCK_MONOTONIC (and BOOTTIME, BOOTTIME_ALARM: nothing suspends).
    Mono,
    /// The CPU time of process `pid` (user + system, or user only for a
    /// VIRT clock).
    ProcCpu { pid: Pid, user_only: bool },
    /// The CPU time of thread `tid` of the process (CLOCK_THREAD_CPUTIME_ID,
    /// pthread_getcpuclockid()).
    ThreadCpu { tid: Pid, user_only: bool },
}

impl Clock {
    fn is_cpu(self) -> bool {
        matches!(self, Clock::ProcCpu { .. } | Clock::ThreadCpu { .. })
    }
}

/// CPU-time samples at a tick or a dequeue: the process's `(total, user)`
/// and, for a thread, its tid and `(total, user)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuSample {
    proc: (u64, u64),
    thread: Option<(Pid, u64, u64)>,
}

/// Where an expiry goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Notify {
    None,
    Process,
    Thread(Pid),
}

#[derive(Debug)]
struct Timer {
    clock_id: i32,
    clock: Clock,
    notify: Notify,
    /// `sigev_notify` as given (for /proc/PID/timers).
    notify_raw: i32,
    signo: SigNum,
    /// `sigev_signo` as given (SIGEV_NONE keeps any), for /proc/PID/timers.
    signo_raw: i32,
    value: u64,
    /// The expiry (on the timer's clock); `None`: disarmed.
    expires: Option<u64>,
    interval: u64,
    /// Armed and waiting for its expiry (Linux's it_active).
    active: bool,
    /// Bumped by each settime and each re-arm (it_requeue_pending).
    generation: u32,
    /// Its signal is queued, sent at generation `.0`.
    queued: Option<u32>,
    /// si_overrun of the queued signal: expiries while it was queued.
    base_overrun: i64,
    /// it_overrun (from -1) and it_overrun_last.
    overrun: i64,
    overrun_last: i64,
    /// Its place in the deadline queue (wall clocks only).
    slot: Option<crate::timerq::Slot>,
    /// The account of a thread clock's thread (sampled without the table).
    thread_cpu: Option<process::cputime::SharedCpu>,
}

/// A process's POSIX timers, kept in its record (a fork's child: empty).
#[derive(Default)]
pub struct Table {
    timers: BTreeMap<i32, Timer>,
    next_id: i32,
    cpu: usize,
}

impl Drop for Table {
    fn drop(&mut self) {
        CPU_TIMERS.fetch_sub(self.cpu, Ordering::Relaxed);
    }
}

impl Table {
    fn insert(&mut self, id: i32, t: Timer) {
        if t.clock.is_cpu() {
            self.cpu += 1;
            CPU_TIMERS.fetch_add(1, Ordering::Relaxed);
        }
        self.timers.insert(id, t);
    }
    fn remove(&mut self, id: i32) -> Option<Timer> {
        let t = self.timers.remove(&id)?;
        if t.clock.is_cpu() {
            self.cpu -= 1;
            CPU_TIMERS.fetch_sub(1, Ordering::Relaxed);
        }
        Some(t)
    }
    /// exec and exit: every timer goes (the id counter stays, as Linux's
    /// signal_struct).
    fn clear(&mut self) {
        CPU_TIMERS.fetch_sub(self.cpu, Ordering::Relaxed);
        self.cpu = 0;
        self.timers.clear();
    }
}

/// How many CPU-time POSIX timers exist (the tick looks at none when 0).
static CPU_TIMERS: AtomicUsize = AtomicUsize::new(0);

/// Whether any CPU-time POSIX timer exists (one relaxed load).
pub fn any_cpu_timer() -> bool {
    CPU_TIMERS.load(Ordering::Relaxed) != 0
}

fn wall_now(c: Clock) -> u64 {
    match c {
        Clock::Real => crate::time::realtime_ns(),
        _ => arch_x86_64::time::monotonic_ns(),
    }
}

fn cpu_now(pid: Pid, user_only: bool) -> u64 {
    let t = table().cpu_times(pid).unwrap_or_default();
    if user_only { t.user_ns } else { t.total_ns() }
}

/// `f` on the timers of process `pid` (under the table lock).
fn with<R>(pid: Pid, f: impl FnOnce(&mut Table) -> R) -> Option<R> {
    table().with_process(pid, |p| f(&mut p.ext_mut().posix_timers))
}

/// Periods of `interval` from `expires` to past `now` (hrtimer_forward()).
fn forward(expires: &mut u64, interval: u64, now: u64) -> i64 {
    if now < *expires || interval == 0 {
        return 0;
    }
    let n = (now - *expires) / interval + 1;
    *expires = expires.saturating_add(n.saturating_mul(interval)).min(KTIME_MAX);
    n.min(i64::MAX as u64) as i64
}

fn clamp_overrun(v: i64) -> i32 {
    v.clamp(0, DELAYTIMER_MAX) as i32
}

/// Puts a wall timer's slot in the deadline queue at its expiry (if
/// armed and waiting), or takes it out.
fn queue(x: &Timer) {
    let Some(slot) = &x.slot else { return };
    match x.expires {
        Some(exp) if x.active => {
            crate::timerq::arm(slot, crate::timerq::mono_deadline(exp, wall_now(x.clock)))
        }
        _ => crate::timerq::disarm(slot),
    }
}

/// The clock of `clock_id` for a timer of thread `t`'s process.
fn clock_of(t: &UThread, id: i32) -> Result<Clock, Errno> {
    match id {
        0 | 11 => Ok(Clock::Real),
        1 | 7 => Ok(Clock::Mono),
        4..=6 => Err(Errno::EOPNOTSUPP),
        8 | 9 => Err(Errno::EINVAL), // checked by the caller (after the id)
        2 => Ok(Clock::ProcCpu { pid: t.pid, user_only: false }),
        c if c < 0 => {
            let (pid, thread, which) = (!(c >> 3) as u32, c & 4 != 0, c & 3);
            if which == 3 {
                return Err(Errno::EINVAL);
            }
            if thread {
                // lookup_task(): a thread of the caller's process
                let tid = if pid == 0 { t.tid } else { pid };
                if table().tgid(tid) != Some(t.pid) {
                    return Err(Errno::EINVAL);
                }
                return Ok(Clock::ThreadCpu { tid, user_only: which == 1 });
            }
            let pid = if pid == 0 { t.pid } else { pid };
            if table().with_process(pid, |_| ()).is_none() {
                return Err(Errno::EINVAL);
            }
            Ok(Clock::ProcCpu { pid, user_only: which == 1 })
        }
        3 => Ok(Clock::ThreadCpu { tid: t.tid, user_only: false }),
        _ => Err(Errno::EINVAL),
    }
}

/// timer_create(2).
pub fn timer_create(t: &mut UThread, clock_id: i32, sevp: UserPtr<[u64; 8]>, idp: UserPtr<i32>) -> SysResult {
    let ev = if sevp.is_null() { None } else { Some(t.read(sevp)?) };
    // clockid_to_kclock(): EINVAL; no timers on that clock: EOPNOTSUPP
    let alarm = clock_id == 8 || clock_id == 9;
    let clock = if alarm {
        if clock_id == 8 { Clock::Real } else { Clock::Mono }
    } else {
        match clock_id {
            2 | 3 => Clock::Mono, // real check below, after the id
            c if c < 0 => Clock::Mono,
            c => clock_of(t, c)?,
        }
    };
    let limit = table().with_process(t.pid, |p| p.rlimits().cur(process::rlimit::Resource::Sigpending));
    let limit = limit.ok_or(Errno::ESRCH)?.min(MAX_TIMERS) as usize;
    // posix_timer_add(): the next free id (it is used up even if the
    // create fails below)
    let id = with(t.pid, |tb| {
        if tb.timers.len() >= limit {
            return Err(Errno::EAGAIN);
        }
        loop {
            let id = tb.next_id;
            tb.next_id = if id == i32::MAX { 0 } else { id + 1 };
            if !tb.timers.contains_key(&id) {
                return Ok(id);
            }
        }
    })
    .ok_or(Errno::ESRCH)??;
    // good_sigevent()
    let (notify, notify_raw, signo, value, signo_raw) = match ev {
        None => (Notify::Process, SIGEV_SIGNAL, signal::SIGALRM, id as u64, signal::SIGALRM.as_i32()),
        Some(e) => {
            let value = e[0];
            let signo = e[1] as u32 as i32;
            let how = (e[1] >> 32) as u32 as i32;
            let tid = e[2] as u32 as i32;
            let sig =
                || if signo > 0 { SigNum::new(signo).map_err(|_| Errno::EINVAL) } else { Err(Errno::EINVAL) };
            match how {
                SIGEV_NONE => (Notify::None, how, signal::SIGALRM, value, signo),
                SIGEV_SIGNAL | SIGEV_THREAD => (Notify::Process, how, sig()?, value, signo),
                x if x == SIGEV_SIGNAL | SIGEV_THREAD_ID => {
                    if tid <= 0 || table().tgid(tid as Pid) != Some(t.pid) {
                        return Err(Errno::EINVAL);
                    }
                    (Notify::Thread(tid as Pid), how, sig()?, value, signo)
                }
                _ => return Err(Errno::EINVAL),
            }
        }
    };
    t.write(idp, id)?;
    let clock = if alarm {
        if !table().with_process(t.pid, |p| p.creds().has_cap(CAP_WAKE_ALARM)).ok_or(Errno::ESRCH)? {
            return Err(Errno::EPERM);
        }
        clock
    } else if clock_id == 2 || clock_id == 3 || clock_id < 0 {
        clock_of(t, clock_id)?
    } else {
        clock
    };
    let slot = if clock.is_cpu() {
        None
    } else {
        Some(crate::timerq::alloc(crate::timerq::Owner::Posix(t.pid, id))?)
    };
    let thread_cpu = match clock {
        Clock::ThreadCpu { tid, .. } => Some(table().thread_cpu(tid).ok_or(Errno::EINVAL)?),
        _ => None,
    };
    let timer = Timer {
        clock_id,
        clock,
        notify,
        notify_raw,
        signo,
        signo_raw,
        value,
        expires: None,
        interval: 0,
        active: false,
        generation: 0,
        queued: None,
        base_overrun: 0,
        overrun: -1,
        overrun_last: 0,
        slot,
        thread_cpu,
    };
    // (a record gone meanwhile drops the timer, and its slot, here)
    let mut timer = Some(timer);
    with(t.pid, |tb| {
        if let Some(x) = timer.take() {
            tb.insert(id, x);
        }
    })
    .ok_or(Errno::ESRCH)?;
    Ok(0)
}

fn now_of(c: Clock, thread_cpu: Option<&process::cputime::SharedCpu>) -> u64 {
    match c {
        Clock::ProcCpu { pid, user_only } => cpu_now(pid, user_only),
        Clock::ThreadCpu { user_only, .. } => {
            let t = thread_cpu.map(|a| a.times()).unwrap_or_default();
            if user_only { t.user_ns } else { t.total_ns() }
        }
        c => wall_now(c),
    }
}

/// common_timer_get(): `(value, interval)`; may forward a periodic timer
/// whose signal waits (or a SIGEV_NONE one), counting overruns.
fn get(x: &mut Timer, now: u64) -> (u64, u64) {
    let sig_none = x.notify == Notify::None;
    let Some(mut exp) = x.expires else { return (0, 0) };
    if x.interval == 0 && !x.active && !sig_none {
        return (0, 0);
    }
    if x.interval != 0 && (sig_none || x.queued == Some(x.generation) && !x.active) {
        x.overrun = x.overrun.saturating_add(forward(&mut exp, x.interval, now));
        x.expires = Some(exp);
    }
    let left = if exp > now {
        exp - now
    } else if sig_none {
        0
    } else {
        1
    };
    (left, x.interval)
}

fn ts(ns: u64) -> Timespec {
    Timespec::from_ns(ns)
}

fn write_spec(t: &UThread, p: UserPtr<Itimerspec>, (value, interval): (u64, u64)) -> Result<(), Errno> {
    t.write(p, Itimerspec { it_interval: ts(interval), it_value: ts(value) })
}

fn sample(t: &UThread, id: i32) -> Result<(Clock, u64), Errno> {
    let (clock, acct) = with(t.pid, |tb| tb.timers.get(&id).map(|x| (x.clock, x.thread_cpu.clone())))
        .flatten()
        .ok_or(Errno::EINVAL)?;
    if matches!(clock, Clock::ThreadCpu { tid, .. } if tid == t.tid) {
        // the caller's own clock: what it ran until now
        crate::sched::charge(&t.cpu, process::cputime::Side::System);
    }
    Ok((clock, now_of(clock, acct.as_ref())))
}

/// timer_gettime(2).
pub fn timer_gettime(t: &mut UThread, id: i32, cur: UserPtr<Itimerspec>) -> SysResult {
    let (_, now) = sample(t, id)?;
    let v = with(t.pid, |tb| tb.timers.get_mut(&id).map(|x| get(x, now))).flatten().ok_or(Errno::EINVAL)?;
    write_spec(t, cur, v)?;
    Ok(0)
}

/// timer_settime(2).
pub fn timer_settime(
    t: &mut UThread,
    id: i32,
    flags: i32,
    new: UserPtr<Itimerspec>,
    old: UserPtr<Itimerspec>,
) -> SysResult {
    if new.is_null() {
        return Err(Errno::EINVAL);
    }
    let spec = t.read(new)?;
    let value = spec.it_value.to_ns()?.min(KTIME_MAX);
    let interval = spec.it_interval.to_ns()?.min(KTIME_MAX);
    let (clock, now) = sample(t, id)?;
    let off = t.time_off;
    let prev = with(t.pid, |tb| {
        let x = tb.timers.get_mut(&id)?;
        let prev = get(x, now);
        x.interval = 0;
        x.active = false;
        x.generation = x.generation.wrapping_add(1);
        x.overrun_last = 0;
        if value == 0 {
            x.expires = None;
            queue(x);
            return Some(prev);
        }
        x.interval = interval;
        // an absolute time is in the time namespace's clock
        // (timens_ktime_to_host; before its offset: passed)
        let exp = if flags & TIMER_ABSTIME != 0 {
            off.to_host(x.clock_id as u32, value).max(1)
        } else {
            now.saturating_add(value).min(KTIME_MAX)
        };
        x.expires = Some(exp);
        x.overrun = -1;
        x.active = x.notify != Notify::None;
        queue(x);
        Some(prev)
    })
    .flatten()
    .ok_or(Errno::EINVAL)?;
    // a time already passed fires now
    if !clock.is_cpu() {
        fire(t.pid, id);
    }
    if !old.is_null() {
        write_spec(t, old, prev)?;
    }
    Ok(0)
}

/// timer_getoverrun(2).
pub fn timer_getoverrun(t: &mut UThread, id: i32) -> SysResult {
    let v = with(t.pid, |tb| tb.timers.get(&id).map(|x| x.overrun_last)).flatten().ok_or(Errno::EINVAL)?;
    Ok(clamp_overrun(v) as isize)
}

/// timer_delete(2).
pub fn timer_delete(t: &mut UThread, id: i32) -> SysResult {
    // a queued signal stays queued (Linux 6.1's sigqueue_free() leaves it
    // on the list; it is delivered as it was queued)
    with(t.pid, |tb| tb.remove(id)).flatten().ok_or(Errno::EINVAL)?;
    Ok(0)
}

/// exec and exit: the process's timers are deleted.
pub fn delete_all(pid: Pid) {
    with(pid, Table::clear);
}

/// The CPU samples [`on_dequeue`] needs for process `pid`, taken before
/// the table lock ([`on_dequeue`] runs under it): `None` (one relaxed
/// load) while no CPU-time timer exists anywhere.
pub fn dequeue_sample(pid: Pid) -> Option<CpuSample> {
    if CPU_TIMERS.load(Ordering::Relaxed) == 0 {
        return None;
    }
    let c = table().cpu_times(pid)?;
    Some(CpuSample { proc: (c.total_ns(), c.user_ns), thread: None })
}

/// `x`'s clock at `cpu`.
fn cpu_of(x: &Timer, cpu: &CpuSample) -> Option<u64> {
    match x.clock {
        Clock::ProcCpu { user_only, .. } => Some(if user_only { cpu.proc.1 } else { cpu.proc.0 }),
        Clock::ThreadCpu { tid, user_only } => match cpu.thread {
            Some((t, total, user)) if t == tid => Some(if user_only { user } else { total }),
            // a dequeue: the thread's own account
            None => {
                let t = x.thread_cpu.as_ref()?.times();
                Some(if user_only { t.user_ns } else { t.total_ns() })
            }
            Some(_) => None,
        },
        _ => None,
    }
}

/// A signal was taken from a queue of process `p`: a timer's gets its
/// overrun count, and its periodic timer is re-armed (posixtimer_rearm()),
/// the periods missed meanwhile counted as overruns (a CPU-time timer's
/// at `cpu`, [`dequeue_sample`]'s). Called under the table lock.
pub fn on_dequeue(tb: &mut Table, info: &mut SigInfo, cpu: Option<CpuSample>) {
    if info.code != signal::siginfo::code::SI_TIMER {
        return;
    }
    let SigFields::Timer { tid: id, overrun, .. } = &mut info.fields else { return };
    let Some(x) = tb.timers.get_mut(id) else { return };
    let Some(generation) = x.queued.take() else { return };
    let base = x.base_overrun;
    *overrun = clamp_overrun(base);
    if x.interval == 0 || generation != x.generation {
        return;
    }
    let Some(mut exp) = x.expires else { return };
    let now = if x.clock.is_cpu() {
        // (no sample: re-armed a period on, which the tick forwards)
        cpu.as_ref().and_then(|c| cpu_of(x, c)).unwrap_or(exp)
    } else {
        wall_now(x.clock)
    };
    x.overrun = x.overrun.saturating_add(forward(&mut exp, x.interval, now));
    x.expires = Some(exp);
    x.active = true;
    x.overrun_last = x.overrun;
    x.overrun = -1;
    x.generation = x.generation.wrapping_add(1);
    *overrun = clamp_overrun(x.overrun_last.saturating_add(base));
    queue(x);
}

/// Takes one due timer: `x` (id `id`) if it is armed and its expiry is at
/// or before `now`: its signal to send, or `None` (an expiry while its
/// signal is still queued only counts).
fn take_one(id: i32, x: &mut Timer, now: u64) -> Option<(i32, Notify, SigInfo)> {
    if !x.active {
        return None;
    }
    let exp = x.expires?;
    if exp > now {
        return None;
    }
    x.active = false;
    if x.queued.is_some() {
        // send_sigqueue(): already queued, one more overrun
        x.base_overrun = x.base_overrun.saturating_add(1);
        return None;
    }
    x.queued = Some(x.generation);
    x.base_overrun = 0;
    Some((id, x.notify, SigInfo::timer(x.signo, id, 0, x.value)))
}

/// After a send: a signal that was not queued (ignored, or a full queue)
/// leaves a periodic timer running (posix_timer_fn()'s restart).
fn after_send(pid: Pid, id: i32, notify: Notify) {
    let queued = match notify {
        Notify::Thread(tid) => table()
            .with_thread(tid, |th| th.signals().pending().queued().any(|i| is_timer(i, id)))
            .unwrap_or(false),
        _ => table().with_process(pid, |p| p.pending().queued().any(|i| is_timer(i, id))).unwrap_or(false),
    };
    if queued {
        return;
    }
    with(pid, |tb| {
        let Some(x) = tb.timers.get_mut(&id) else { return };
        if x.queued != Some(x.generation) {
            return; // taken meanwhile (re-armed there) or set anew
        }
        x.queued = None;
        if x.interval == 0 {
            return;
        }
        let Some(mut exp) = x.expires else { return };
        if x.clock.is_cpu() {
            // the next tick of the process forwards it
            x.expires = Some(exp.saturating_add(x.interval).min(KTIME_MAX));
            x.active = true;
            x.generation = x.generation.wrapping_add(1);
            return;
        }
        x.overrun = x.overrun.saturating_add(forward(&mut exp, x.interval, wall_now(x.clock)));
        x.expires = Some(exp);
        x.active = true;
        x.generation = x.generation.wrapping_add(1);
        queue(x);
    });
}

fn is_timer(i: &SigInfo, id: i32) -> bool {
    i.code == signal::siginfo::code::SI_TIMER && matches!(i.fields, SigFields::Timer { tid, .. } if tid == id)
}

fn send(pid: Pid, id: i32, notify: Notify, info: SigInfo) {
    let _ = match notify {
        Notify::Thread(tid) => table().sigqueue(tid, pid, Some(tid), info, &Hooks),
        _ => table().send_signal(pid, info, &Hooks),
    };
    after_send(pid, id, notify);
}

/// Wall-clock timer `id` of `pid` may be due (the deadline queue popped
/// it, or timer_settime set a time already passed): fires it if it is,
/// and queues it again at its expiry if it is armed and not yet due (the
/// realtime clock was set back).
pub fn fire(pid: Pid, id: i32) {
    let due = with(pid, |tb| {
        let x = tb.timers.get_mut(&id)?;
        if x.clock.is_cpu() {
            return None;
        }
        let due = take_one(id, x, wall_now(x.clock));
        if due.is_none() {
            queue(x);
        }
        due
    })
    .flatten();
    if let Some((id, n, info)) = due {
        send(pid, id, n, info);
    }
}

/// `CLOCK_REALTIME` was set (clock_settime, settimeofday): the armed
/// realtime timers move to their new place in the deadline queue, so one
/// whose time the step passed fires now (Linux's clock_was_set()
/// re-programs its hrtimers). A walk over the processes, at a clock set
/// only (a privileged call), one table lock per process.
pub fn clock_was_set() {
    for pid in table().pids() {
        with(pid, |tb| {
            for x in tb.timers.values().filter(|x| x.clock == Clock::Real && x.active) {
                queue(x);
            }
        });
    }
    crate::itimer::check();
}

/// A tick interrupted thread `tid` of `pid` in user mode, which had run
/// `thread` (total, user) by then: its process's due CPU-time timers
/// fire, those of the process clocks and those of `tid`'s thread clocks.
pub fn check_cpu(pid: Pid, tid: Pid, thread: (u64, u64)) {
    if CPU_TIMERS.load(Ordering::Relaxed) == 0 {
        return;
    }
    let Some((procs, threads)) = with(pid, |tb| {
        if tb.cpu == 0 {
            return (false, false);
        }
        let mut p = false;
        let mut t = false;
        for x in tb.timers.values().filter(|x| x.active) {
            match x.clock {
                Clock::ProcCpu { .. } => p = true,
                Clock::ThreadCpu { tid: at, .. } if at == tid => t = true,
                _ => {}
            }
        }
        (p, t)
    }) else {
        return;
    };
    if !procs && !threads {
        return;
    }
    let proc = if procs {
        let c = table().cpu_times(pid).unwrap_or_default();
        (c.total_ns(), c.user_ns)
    } else {
        (0, 0)
    };
    let sample = CpuSample { proc, thread: Some((tid, thread.0, thread.1)) };
    let mut budget = FIRE_BUDGET;
    while budget > 0 {
        budget -= 1;
        let due = with(pid, |tb| {
            tb.timers.iter_mut().find_map(|(&id, x)| {
                if !procs && matches!(x.clock, Clock::ProcCpu { .. }) {
                    return None;
                }
                let now = cpu_of(x, &sample)?;
                take_one(id, x, now)
            })
        })
        .flatten();
        let Some((id, n, info)) = due else { break };
        send(pid, id, n, info);
    }
}

/// /proc/PID/timers: Linux's show_timer() lines, newest first (its list
/// takes each new timer at the head).
pub fn proc_timers(pid: Pid) -> alloc::string::String {
    use core::fmt::Write;
    let mut s = alloc::string::String::new();
    with(pid, |tb| {
        for (id, x) in tb.timers.iter().rev() {
            let how = match x.notify_raw {
                SIGEV_NONE => "none",
                SIGEV_THREAD => "thread",
                _ => "signal",
            };
            let target = match x.notify {
                Notify::Thread(tid) => ("tid", tid),
                _ => ("pid", pid),
            };
            let _ = write!(
                s,
                "ID: {id}\nsignal: {}/{:016x}\nnotify: {how}/{}.{}\nClockID: {}\n",
                x.signo_raw, x.value, target.0, target.1, x.clock_id
            );
        }
    });
    s
}
