//! timerfd(2)'s arithmetic (fs/timerfd.c over an hrtimer): arming,
//! expiry, the count of expirations a read returns, what gettime shows,
//! and `TFD_TIMER_CANCEL_ON_SET`.
//!
//! Times are nanoseconds on the timer's own clock (the kernel passes "now"
//! on that clock). As Linux's timer, a [`Timer`] that fires stops
//! (`HRTIMER_NORESTART`): a periodic timer is moved forward by whole
//! intervals only when it is read or looked at ([`Timer::take`],
//! [`Timer::get`]), and the intervals that passed meanwhile are counted
//! then (`hrtimer_forward()`), so a late or coarse timer tick never loses
//! an expiration.

use linux_abi::{Errno, Result};

/// `TFD_TIMER_ABSTIME`: the value is an absolute time on the clock.
pub const TFD_TIMER_ABSTIME: u32 = 1;
/// `TFD_TIMER_CANCEL_ON_SET`: with an absolute `CLOCK_REALTIME` timer, a
/// read fails with `ECANCELED` after the clock was set.
pub const TFD_TIMER_CANCEL_ON_SET: u32 = 2;
/// `TFD_CLOEXEC` (= `O_CLOEXEC`).
pub const TFD_CLOEXEC: u32 = 0o2000000;
/// `TFD_NONBLOCK` (= `O_NONBLOCK`).
pub const TFD_NONBLOCK: u32 = 0o4000;

/// Linux's `KTIME_MAX`: times saturate here.
pub const KTIME_MAX: u64 = i64::MAX as u64;

const NSEC_PER_SEC: u64 = 1_000_000_000;

/// A clock a timerfd may measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// `CLOCK_REALTIME` (0).
    Realtime,
    /// `CLOCK_MONOTONIC` (1).
    Monotonic,
    /// `CLOCK_BOOTTIME` (7).
    Boottime,
    /// `CLOCK_REALTIME_ALARM` (8).
    RealtimeAlarm,
    /// `CLOCK_BOOTTIME_ALARM` (9).
    BoottimeAlarm,
}

impl Clock {
    /// Whether it follows `CLOCK_REALTIME` (set by clock_settime(2)).
    pub fn is_realtime(self) -> bool {
        matches!(self, Clock::Realtime | Clock::RealtimeAlarm)
    }

    /// The clock's id (`CLOCK_REALTIME` 0, ...), as timerfd_create(2)
    /// took it.
    pub fn id(self) -> i32 {
        match self {
            Clock::Realtime => 0,
            Clock::Monotonic => 1,
            Clock::Boottime => 7,
            Clock::RealtimeAlarm => 8,
            Clock::BoottimeAlarm => 9,
        }
    }

    /// The `_ALARM` clocks, which need `CAP_WAKE_ALARM`.
    pub fn is_alarm(self) -> bool {
        matches!(self, Clock::RealtimeAlarm | Clock::BoottimeAlarm)
    }
}

/// timerfd_create(2)'s checks: `EINVAL` for flags other than
/// `TFD_CLOEXEC`/`TFD_NONBLOCK` or a clock not in [`Clock`]. (The
/// capability check of the alarm clocks, `EPERM`, is the caller's.)
pub fn check_create(clockid: i32, flags: u32) -> Result<Clock> {
    if flags & !(TFD_CLOEXEC | TFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    match clockid {
        0 => Ok(Clock::Realtime),
        1 => Ok(Clock::Monotonic),
        7 => Ok(Clock::Boottime),
        8 => Ok(Clock::RealtimeAlarm),
        9 => Ok(Clock::BoottimeAlarm),
        _ => Err(Errno::EINVAL),
    }
}

/// timerfd_settime(2)'s flag check (`EINVAL`).
pub fn check_settime_flags(flags: u32) -> Result<()> {
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 { Err(Errno::EINVAL) } else { Ok(()) }
}

/// A `struct timespec` of an itimerspec as nanoseconds: `EINVAL` unless
/// `sec >= 0` and `0 <= nsec < 1e9` (`timespec64_valid`); saturates at
/// [`KTIME_MAX`].
pub fn timespec_ns(sec: i64, nsec: i64) -> Result<u64> {
    if sec < 0 || !(0..NSEC_PER_SEC as i64).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(nsec as u64).min(KTIME_MAX))
}

/// Nanoseconds as `(tv_sec, tv_nsec)`.
pub fn ns_timespec(ns: u64) -> (i64, i64) {
    ((ns / NSEC_PER_SEC) as i64, (ns % NSEC_PER_SEC) as i64)
}

/// One timerfd's state (`struct timerfd_ctx` and its hrtimer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timer {
    /// The hrtimer's expiry time.
    deadline: u64,
    /// `it_interval` (0: one-shot).
    interval: u64,
    /// The hrtimer is queued (will fire at `deadline`).
    queued: bool,
    /// It fired and was not moved forward since.
    expired: bool,
    /// Expirations not read yet.
    ticks: u64,
    /// An absolute realtime timer with `TFD_TIMER_CANCEL_ON_SET`.
    might_cancel: bool,
    /// The clock was set since (Linux's `moffs == KTIME_MAX`).
    canceled: bool,
}

impl Timer {
    /// A disarmed timer.
    pub fn new() -> Timer {
        Timer::default()
    }

    /// timerfd_settime(2) at `now`: arms the timer for `value` (absolute
    /// with `abs`, else from now; 0 disarms) and then every `interval`;
    /// returns the old `(remaining, interval)`. Unread expirations are
    /// dropped. [`Timer::set_cancel`] comes first, as in Linux.
    pub fn set(&mut self, now: u64, value: u64, interval: u64, abs: bool) -> (u64, u64) {
        if self.expired && self.interval != 0 {
            self.forward(now);
        }
        let old = (self.remaining(now), self.interval);
        self.expired = false;
        self.ticks = 0;
        self.interval = interval.min(KTIME_MAX);
        if value != 0 {
            self.deadline = if abs { value.min(KTIME_MAX) } else { now.saturating_add(value).min(KTIME_MAX) };
            self.queued = true;
        } else {
            self.deadline = 0;
            self.queued = false;
        }
        old
    }

    /// `timerfd_setup_cancel()`: `might_cancel` is whether the new setting
    /// is an absolute realtime one with `TFD_TIMER_CANCEL_ON_SET`.
    pub fn set_cancel(&mut self, might_cancel: bool) {
        self.might_cancel = might_cancel;
        self.canceled = false;
    }

    /// Whether the timer takes part in clock-set cancellation.
    pub fn might_cancel(&self) -> bool {
        self.might_cancel
    }

    /// `CLOCK_REALTIME` was set (`timerfd_clock_was_set()`): a timer that
    /// might cancel becomes readable and its next read fails. Returns
    /// whether readers must be woken.
    pub fn clock_was_set(&mut self) -> bool {
        if !self.might_cancel || self.canceled {
            return false;
        }
        self.canceled = true;
        self.ticks = self.ticks.saturating_add(1);
        true
    }

    /// The timer machinery found the clock at `now`: fires the timer if
    /// it is due. Returns whether it fired (wake the readers).
    pub fn fire(&mut self, now: u64) -> bool {
        if !self.queued || self.expired || now < self.deadline {
            return false;
        }
        self.queued = false;
        self.expired = true;
        self.ticks = self.ticks.saturating_add(1);
        true
    }

    /// When the timer machinery must look at it next: its deadline while
    /// it is queued.
    pub fn next_expiry(&self) -> Option<u64> {
        if self.queued && !self.expired { Some(self.deadline) } else { None }
    }

    /// A read would not block: expirations (or a cancellation) to report.
    pub fn readable(&self) -> bool {
        self.ticks > 0
    }

    /// read(2) at `now`: the expirations since the last read (0: none
    /// yet, the reader waits or gets `EAGAIN`), counting every interval
    /// that passed since the timer fired and re-arming it;
    /// `ECANCELED` after a clock set ([`Timer::clock_was_set`]).
    pub fn take(&mut self, now: u64) -> Result<u64> {
        if self.might_cancel && self.canceled {
            self.canceled = false;
            self.ticks = 0;
            self.expired = false;
            return Err(Errno::ECANCELED);
        }
        let mut ticks = self.ticks;
        if ticks == 0 {
            return Ok(0);
        }
        if self.expired && self.interval != 0 {
            ticks = ticks.saturating_add(self.forward(now).saturating_sub(1));
            self.queued = true;
        }
        self.expired = false;
        self.ticks = 0;
        Ok(ticks)
    }

    /// timerfd_gettime(2) at `now`: `(remaining, interval)`; a periodic
    /// timer that fired is moved forward first (its passed intervals kept
    /// for the next read).
    pub fn get(&mut self, now: u64) -> (u64, u64) {
        if self.expired && self.interval != 0 {
            self.expired = false;
            let n = self.forward(now);
            self.ticks = self.ticks.saturating_add(n.saturating_sub(1));
            self.queued = true;
        }
        (self.remaining(now), self.interval)
    }

    /// What fdinfo shows at `now` without changing anything
    /// (`timerfd_show`): `(ticks, remaining, interval)`, the expirations
    /// counted so far (a periodic timer is not moved forward here) and
    /// the time left, 0 once the deadline passed.
    pub fn show(&self, now: u64) -> (u64, u64, u64) {
        (self.ticks, self.remaining(now), self.interval)
    }

    /// `TFD_IOC_SET_TICKS`: `EINVAL` for 0.
    pub fn set_ticks(&mut self, ticks: u64) -> Result<()> {
        if ticks == 0 {
            return Err(Errno::EINVAL);
        }
        self.ticks = ticks;
        Ok(())
    }

    /// Time left to the deadline, 0 when it passed (or disarmed).
    fn remaining(&self, now: u64) -> u64 {
        self.deadline.saturating_sub(now)
    }

    /// `hrtimer_forward()`: moves the deadline past `now` by whole
    /// intervals; returns how many (0 if not yet due).
    fn forward(&mut self, now: u64) -> u64 {
        if now < self.deadline {
            return 0;
        }
        let interval = self.interval.max(1);
        let delta = now - self.deadline;
        let mut orun = 1;
        if delta >= interval {
            orun = delta / interval;
            self.deadline = self.deadline.saturating_add(interval.saturating_mul(orun)).min(KTIME_MAX);
            if self.deadline > now {
                return orun;
            }
            orun += 1;
        }
        self.deadline = self.deadline.saturating_add(interval).min(KTIME_MAX);
        orun
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn create_checks() {
        assert_eq!(check_create(1, TFD_CLOEXEC | TFD_NONBLOCK), Ok(Clock::Monotonic));
        assert_eq!(check_create(2, 0), Err(Errno::EINVAL)); // CPU clocks
        assert_eq!(check_create(1, 1), Err(Errno::EINVAL));
        assert!(check_create(8, 0).unwrap().is_alarm());
        assert!(check_create(0, 0).unwrap().is_realtime());
        assert_eq!(check_settime_flags(4), Err(Errno::EINVAL));
        assert_eq!(timespec_ns(-1, 0), Err(Errno::EINVAL));
        assert_eq!(timespec_ns(0, 1_000_000_000), Err(Errno::EINVAL));
        assert_eq!(timespec_ns(2, 5), Ok(2_000_000_005));
        assert_eq!(timespec_ns(i64::MAX, 0), Ok(KTIME_MAX));
        assert_eq!(ns_timespec(2_000_000_005), (2, 5));
    }

    #[test]
    fn one_shot() {
        let mut t = Timer::new();
        assert_eq!(t.set(1000, 50, 0, false), (0, 0));
        assert_eq!(t.next_expiry(), Some(1050));
        assert_eq!(t.get(1010), (40, 0));
        assert!(!t.fire(1049));
        assert_eq!(t.take(1049), Ok(0));
        assert!(t.fire(1060));
        assert!(!t.fire(1070));
        assert_eq!(t.next_expiry(), None);
        assert_eq!(t.get(1070), (0, 0));
        assert_eq!(t.take(1070), Ok(1));
        assert_eq!(t.take(1080), Ok(0));
    }

    #[test]
    fn periodic_counts_missed_intervals() {
        let mut t = Timer::new();
        t.set(0, 100, 10, false);
        assert!(t.fire(100));
        // read at 155: 100, 110, ..., 150
        assert_eq!(t.take(155), Ok(6));
        assert_eq!(t.next_expiry(), Some(160));
        assert_eq!(t.get(155), (5, 10));
        // exactly on an expiry
        assert!(t.fire(160));
        assert_eq!(t.take(180), Ok(3));
        assert_eq!(t.next_expiry(), Some(190));
    }

    #[test]
    fn gettime_forwards_and_keeps_the_count() {
        let mut t = Timer::new();
        t.set(0, 100, 10, false);
        assert!(t.fire(101));
        assert_eq!(t.get(125), (5, 10));
        assert_eq!(t.take(126), Ok(3));
    }

    #[test]
    fn absolute_in_the_past() {
        let mut t = Timer::new();
        t.set(5_500, 1, 0, true);
        assert!(t.fire(5_500));
        assert_eq!(t.take(5_500), Ok(1));
        let mut p = Timer::new();
        // first at 0 + 500, every 1000: at 5_800 six have passed
        p.set(5_800, 500, 1000, true);
        assert!(p.fire(5_800));
        assert_eq!(p.take(5_800), Ok(6));
        assert_eq!(p.get(5_800), (700, 1000));
    }

    #[test]
    fn settime_returns_old_and_drops_ticks() {
        let mut t = Timer::new();
        t.set(0, 100, 30, false);
        assert!(t.fire(100));
        // forwarded to 160 before the old value is taken
        assert_eq!(t.set(150, 0, 0, false), (10, 30));
        assert!(!t.readable());
        assert_eq!(t.next_expiry(), None);
    }

    #[test]
    fn cancel_on_set() {
        let mut t = Timer::new();
        t.set_cancel(true);
        t.set(0, 1_000, 0, true);
        assert!(t.clock_was_set());
        assert!(!t.clock_was_set());
        assert!(t.readable());
        assert_eq!(t.take(10), Err(Errno::ECANCELED));
        assert_eq!(t.take(10), Ok(0));
        // still queued: fires later
        assert!(t.fire(1_000));
        assert_eq!(t.take(1_000), Ok(1));
        let mut u = Timer::new();
        u.set_cancel(false);
        assert!(!u.clock_was_set());
    }

    #[test]
    fn set_ticks() {
        let mut t = Timer::new();
        assert_eq!(t.set_ticks(0), Err(Errno::EINVAL));
        assert_eq!(t.set_ticks(42), Ok(()));
        assert_eq!(t.take(0), Ok(42));
    }

    proptest! {
        /// However late the reads come, the counts add up to the number
        /// of interval boundaries passed.
        #[test]
        fn counts_add_up(start in 1u64..1000, iv in 1u64..100, reads in proptest::collection::vec(1u64..500, 1..20)) {
            let mut t = Timer::new();
            t.set(0, start, iv, false);
            let mut now = 0;
            let mut total = 0;
            for step in reads {
                now += step;
                t.fire(now);
                total += t.take(now).unwrap();
            }
            let want = if now >= start { (now - start) / iv + 1 } else { 0 };
            prop_assert_eq!(total, want);
            prop_assert!(t.next_expiry().is_some_and(|d| d > now));
        }
    }
}
