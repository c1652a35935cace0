//! timerfd_create(2), timerfd_settime(2), timerfd_gettime(2): a file
//! counting a timer's expirations. The arithmetic is `evfd::timerfd`;
//! here are the clocks, the locking and the expiry.
//!
//! No thread per timer and no polling: every armed timer has one entry in
//! [`ARMED`], ordered by its deadline on the monotonic clock, and
//! [`check`] (called by `itimer::check`, i.e. on every timer tick that
//! reaches a user thread and in the idle loop) fires the due ones and
//! wakes their queues. `CLOCK_REALTIME` timers keep their deadline on the
//! realtime clock; [`clock_was_set`] (clock_settime, settimeofday) moves
//! their entries and cancels the `TFD_TIMER_CANCEL_ON_SET` ones.
//! `CLOCK_BOOTTIME` is the monotonic clock (nothing suspends), the
//! `_ALARM` clocks are their plain twins that need `CAP_WAKE_ALARM`.

use crate::eventfd::{caller, current_tid, install};
use crate::proc::table;
use crate::sched::WaitQueue;
use crate::syscall::SysResult;
use crate::uthread::UThread;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use evfd::timerfd::{self as rules, Clock, Timer};
use linux_abi::abi::{Itimerspec, Timespec};
use linux_abi::args::{Fd, UserPtr};
use linux_abi::{Errno, Result};
use spin::Mutex;
use vfs::File;

/// `TFD_IOC_SET_TICKS`: `_IOW('T', 0, u64)`.
const TFD_IOC_SET_TICKS: u32 = 0x4008_5400;
/// `CAP_WAKE_ALARM`.
const CAP_WAKE_ALARM: u32 = 35;

/// Armed timers by `(monotonic deadline, timer id)`.
static ARMED: crate::lockorder::Ranked<BTreeMap<(u64, u64), Weak<TimerFd>>> = crate::lockorder::Ranked::new(
    crate::lockorder::LockClass::TimerfdArmed,
    "timerfd::ARMED",
    BTreeMap::new(),
);
/// The first key of [`ARMED`] (`u64::MAX`: none), read without the lock
/// on every tick.
static NEXT_DUE: AtomicU64 = AtomicU64::new(u64::MAX);
/// Every realtime timerfd, by id (moved by a clock set).
static REALTIME: crate::lockorder::Ranked<BTreeMap<u64, Weak<TimerFd>>> = crate::lockorder::Ranked::new(
    crate::lockorder::LockClass::TimerfdRealtime,
    "timerfd::REALTIME",
    BTreeMap::new(),
);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn mono_now() -> u64 {
    crate::sched::now_ns()
}

/// A timerfd.
pub struct TimerFd {
    id: u64,
    clock: Clock,
    me: Weak<TimerFd>,
    state: Mutex<State>,
    wq: Arc<WaitQueue>,
    events: AtomicU64,
    flags: AtomicU32,
    /// F_SETOWN/F_SETSIG/O_ASYNC state of the description.
    owner: vfs::FileOwner,
}

struct State {
    timer: Timer,
    /// The flags of the last timerfd_settime(2) (`TFD_TIMER_ABSTIME`,
    /// `TFD_TIMER_CANCEL_ON_SET`), for fdinfo.
    settime_flags: u32,
    /// Its entry in [`ARMED`].
    key: Option<(u64, u64)>,
}

impl TimerFd {
    /// "Now" on the timer's clock.
    fn now(&self) -> u64 {
        if self.clock.is_realtime() { crate::time::realtime_ns() } else { mono_now() }
    }

    /// A deadline on the timer's clock as a monotonic time.
    fn mono_of(&self, deadline: u64) -> u64 {
        if self.clock.is_realtime() {
            deadline.saturating_sub(crate::time::realtime_offset_ns())
        } else {
            deadline
        }
    }

    /// Makes the timer's entry in [`ARMED`] match its state (called with
    /// the state locked; the lock order is state, then ARMED).
    fn rearm(&self, s: &mut State) {
        let want = s.timer.next_expiry().map(|d| (self.mono_of(d), self.id));
        if want == s.key {
            return;
        }
        let mut armed = ARMED.lock();
        if let Some(k) = s.key.take() {
            armed.remove(&k);
        }
        if let Some(k) = want {
            armed.insert(k, self.me.clone());
            s.key = Some(k);
        }
        NEXT_DUE.store(armed.keys().next().map_or(u64::MAX, |k| k.0), Ordering::SeqCst);
    }

    fn nonblock(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & vfs::O_NONBLOCK != 0
    }

    fn changed(&self) {
        self.events.fetch_add(1, Ordering::SeqCst);
        self.wq.wake_all();
    }

    /// The entry `key` came due: fire (or, if the clock moved, re-file).
    fn expire(&self, key: (u64, u64)) {
        let fired = {
            let mut s = self.state.lock();
            if s.key != Some(key) {
                return;
            }
            s.key = None;
            let fired = s.timer.fire(self.now());
            self.rearm(&mut s);
            fired
        };
        if fired {
            self.changed();
        }
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        if let Some(k) = self.state.get_mut().key.take() {
            let mut armed = ARMED.lock();
            armed.remove(&k);
            NEXT_DUE.store(armed.keys().next().map_or(u64::MAX, |k| k.0), Ordering::SeqCst);
        }
        if self.clock.is_realtime() {
            REALTIME.lock().remove(&self.id);
        }
    }
}

/// Fires the timers whose deadline passed. Cheap when none is due.
pub fn check() {
    let now = mono_now();
    if NEXT_DUE.load(Ordering::SeqCst) > now {
        return;
    }
    // at most as many pops as entries now: a timer re-filed as due again
    // (it never is: its clock and the key agree) cannot loop forever
    let mut budget = ARMED.lock().len();
    while budget > 0 {
        budget -= 1;
        let due = {
            let mut armed = ARMED.lock();
            let due = match armed.first_key_value() {
                Some((k, _)) if k.0 <= now => armed.pop_first(),
                _ => None,
            };
            NEXT_DUE.store(armed.keys().next().map_or(u64::MAX, |k| k.0), Ordering::SeqCst);
            due
        };
        let Some((key, weak)) = due else { break };
        // the last reference may go here: its drop takes ARMED, not held
        if let Some(t) = weak.upgrade() {
            t.expire(key);
        }
    }
}

/// `CLOCK_REALTIME` was set: realtime timers move to their new place on
/// the monotonic clock, and the `TFD_TIMER_CANCEL_ON_SET` ones become
/// readable with `ECANCELED` (Linux's `timerfd_clock_was_set()`).
pub fn clock_was_set() {
    let timers: Vec<Arc<TimerFd>> = REALTIME.lock().values().filter_map(Weak::upgrade).collect();
    for t in &timers {
        let wake = {
            let mut s = t.state.lock();
            let w = s.timer.clock_was_set();
            t.rearm(&mut s);
            w
        };
        if wake {
            t.changed();
        }
    }
    drop(timers);
    check();
}

impl File for TimerFd {
    fn owner(&self) -> &vfs::FileOwner {
        &self.owner
    }

    fn show_fdinfo(&self, out: &mut alloc::string::String) {
        let (ticks, flags, value, interval) = {
            let s = self.state.lock();
            let (ticks, value, interval) = s.timer.show(self.now());
            (ticks, s.settime_flags, value, interval)
        };
        out.push_str(&process::proctext::fdinfo_timerfd(self.clock.id(), ticks, flags, value, interval));
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        loop {
            let got = {
                let mut s = self.state.lock();
                let r = s.timer.take(self.now());
                self.rearm(&mut s);
                r
            }?;
            if got != 0 {
                buf[..8].copy_from_slice(&got.to_ne_bytes());
                return Ok(8);
            }
            if self.nonblock() {
                return Err(Errno::EAGAIN);
            }
            crate::proc::sleep_on(current_tid(), &[&self.wq], || self.state.lock().timer.readable(), None)?;
        }
    }

    fn write(&self, _buf: &[u8]) -> Result<usize> {
        Err(Errno::EINVAL)
    }

    fn unread(&self, _data: &[u8]) {
        // Linux's timerfd_read resets the count before put_user
    }

    fn ioctl(&self, cmd: u32, arg: usize) -> Result<isize> {
        if cmd != TFD_IOC_SET_TICKS {
            return Err(Errno::ENOTTY);
        }
        let (_, pid) = caller();
        let vm = table().with_process(pid, |p| p.vm().cloned()).flatten().ok_or(Errno::EFAULT)?;
        let mut b = [0u8; 8];
        vm.lock().read_user(arg, &mut b)?;
        self.state.lock().timer.set_ticks(u64::from_ne_bytes(b))?;
        self.changed();
        Ok(0)
    }

    fn poll(&self) -> u32 {
        if self.state.lock().timer.readable() { vfs::POLLIN } else { 0 }
    }

    crate::eventfd::anon_file_methods!();
    crate::eventfd::event_queue_methods!();
}

/// timerfd_create(2).
pub fn timerfd_create(t: &mut UThread, clockid: i32, flags: i32) -> SysResult {
    let flags = flags as u32;
    let clock = rules::check_create(clockid, flags)?;
    if clock.is_alarm()
        && !table().with_process(t.pid, |p| p.creds().has_cap(CAP_WAKE_ALARM)).ok_or(Errno::ESRCH)?
    {
        return Err(Errno::EPERM);
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let file = Arc::new_cyclic(|me| TimerFd {
        owner: vfs::FileOwner::new(),
        id,
        clock,
        me: me.clone(),
        state: Mutex::new(State { timer: Timer::new(), settime_flags: 0, key: None }),
        wq: Arc::new(WaitQueue::new()),
        events: AtomicU64::new(0),
        flags: AtomicU32::new(vfs::O_RDWR | (flags & vfs::O_NONBLOCK)),
    });
    if clock.is_realtime() {
        REALTIME.lock().insert(id, Arc::downgrade(&file));
    }
    let file: Arc<dyn File> = file;
    install(t, file, flags & rules::TFD_CLOEXEC != 0)
}

/// Runs `f` on the timerfd behind `fd`: `EBADF`, or `EINVAL` for another
/// kind of file.
fn with_timerfd<R>(t: &UThread, fd: Fd, f: impl FnOnce(&TimerFd) -> R) -> Result<R> {
    let file = t.fd(fd)?;
    let tf = file.as_any().and_then(|a| a.downcast_ref::<TimerFd>()).ok_or(Errno::EINVAL)?;
    Ok(f(tf))
}

/// Reads a `struct itimerspec` as `(interval, value)` nanoseconds.
fn read_itimerspec(t: &UThread, p: UserPtr<Itimerspec>) -> Result<(u64, u64)> {
    let Itimerspec { it_interval: i, it_value: v } = t.read(p)?;
    Ok((rules::timespec_ns(i.tv_sec, i.tv_nsec)?, rules::timespec_ns(v.tv_sec, v.tv_nsec)?))
}

fn write_itimerspec(t: &UThread, p: UserPtr<Itimerspec>, (value, interval): (u64, u64)) -> Result<()> {
    let ts = |ns| {
        let (tv_sec, tv_nsec) = rules::ns_timespec(ns);
        Timespec { tv_sec, tv_nsec }
    };
    t.write(p, Itimerspec { it_interval: ts(interval), it_value: ts(value) })
}

/// timerfd_settime(2): the new value is copied (`EFAULT`) and checked
/// with the flags (`EINVAL`) before the descriptor (`EBADF`, `EINVAL`
/// when not a timerfd), as Linux.
pub fn timerfd_settime(
    t: &mut UThread,
    fd: Fd,
    flags: i32,
    new: UserPtr<Itimerspec>,
    old: UserPtr<Itimerspec>,
) -> SysResult {
    let flags = flags as u32;
    let (interval, value) = read_itimerspec(t, new)?;
    rules::check_settime_flags(flags)?;
    let abs = flags & rules::TFD_TIMER_ABSTIME != 0;
    let off = t.time_off;
    let prev = with_timerfd(t, fd, |tf| {
        // an absolute time in the time namespace's clock; one before its
        // offset has passed already (still armed: 0 would disarm)
        let value = if abs && value != 0 {
            let id = match tf.clock {
                Clock::Monotonic => process::timens::CLOCK_MONOTONIC,
                Clock::Boottime => process::timens::CLOCK_BOOTTIME,
                Clock::BoottimeAlarm => process::timens::CLOCK_BOOTTIME_ALARM,
                _ => 0,
            };
            off.to_host(id, value).max(1)
        } else {
            value
        };
        let prev = {
            let mut s = tf.state.lock();
            s.timer.set_cancel(tf.clock.is_realtime() && abs && flags & rules::TFD_TIMER_CANCEL_ON_SET != 0);
            let prev = s.timer.set(tf.now(), value, interval, abs);
            s.settime_flags = flags & (rules::TFD_TIMER_ABSTIME | rules::TFD_TIMER_CANCEL_ON_SET);
            tf.rearm(&mut s);
            prev
        };
        tf.changed();
        prev
    })?;
    // a time already passed fires now
    check();
    if !old.is_null() {
        write_itimerspec(t, old, prev)?;
    }
    Ok(0)
}

/// timerfd_gettime(2).
pub fn timerfd_gettime(t: &mut UThread, fd: Fd, cur: UserPtr<Itimerspec>) -> SysResult {
    let v = with_timerfd(t, fd, |tf| {
        let mut s = tf.state.lock();
        let v = s.timer.get(tf.now());
        tf.rearm(&mut s);
        v
    })?;
    write_itimerspec(t, cur, v)?;
    Ok(0)
}
