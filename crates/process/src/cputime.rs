//! CPU-time accounting of one thread: user and system nanoseconds charged
//! at each boundary the kernel sees (entering and leaving user mode, being
//! switched out and in), plus the fault and context-switch counters of
//! `struct rusage`.
//!
//! Every thread record owns a [`SharedCpu`]; the kernel keeps a clone where
//! its boundaries are (the scheduler's task, the thread's loop) and charges
//! it without the table lock. The time between two boundaries goes to one
//! side: from a switch-in or a return from user mode to the next entry
//! into user mode or switch-out is system time, from an entry into user
//! mode to the return is user time; a thread switched out is charged
//! nothing. A process adds the times of its threads that exited
//! ([`crate::table::Process::usage`]), and a parent the totals of the
//! children it reaped.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::wait::Rusage;

/// User and system time in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CpuTimes {
    /// Time in user mode.
    pub user_ns: u64,
    /// Time in the kernel on the thread's behalf.
    pub sys_ns: u64,
}

impl CpuTimes {
    /// User plus system time (Linux's `sum_exec_runtime`, the `SCHED`
    /// CPU clock, and the `PROF` one).
    pub fn total_ns(&self) -> u64 {
        self.user_ns.saturating_add(self.sys_ns)
    }

    /// Adds `other`.
    pub fn add(&mut self, other: &CpuTimes) {
        self.user_ns = self.user_ns.saturating_add(other.user_ns);
        self.sys_ns = self.sys_ns.saturating_add(other.sys_ns);
    }
}

/// The counters of one thread (see the module documentation).
#[derive(Debug, Default)]
pub struct CpuAccount {
    user_ns: AtomicU64,
    sys_ns: AtomicU64,
    /// When the current stretch began (the last boundary).
    mark_ns: AtomicU64,
    minflt: AtomicU64,
    nvcsw: AtomicU64,
    nivcsw: AtomicU64,
    rchar: AtomicU64,
    wchar: AtomicU64,
    syscr: AtomicU64,
    syscw: AtomicU64,
    /// Requests from other threads to look at the thread's rseq state on
    /// its way back to user mode (membarrier's `PRIVATE_EXPEDITED_RSEQ`).
    kicks: AtomicU64,
}

/// A thread's account, shared by its record and the kernel's boundaries.
pub type SharedCpu = Arc<CpuAccount>;

/// Which side the time since the last boundary goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// User mode.
    User,
    /// The kernel.
    System,
}

/// Adds `n` to a counter only one thread writes (a load and a store).
fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

impl CpuAccount {
    /// A fresh account (all zero).
    pub fn new() -> SharedCpu {
        Arc::new(CpuAccount::default())
    }

    /// Ends the stretch since the last boundary at `now_ns`, charging it to
    /// `side`; returns the nanoseconds charged (for system-wide totals).
    ///
    /// Single writer: only the thread's own boundaries charge its account
    /// ([`CpuAccount::charge`], [`CpuAccount::switch_in`],
    /// [`CpuAccount::switch_out`] run where the thread runs or is being
    /// switched, one CPU at a time, never from an interrupt that
    /// interrupted another of them), so loads and stores suffice: no locked
    /// instruction at every system call's two boundaries (multi-threaded
    /// TCG runs each as an atomic helper call). Readers see each counter
    /// whole.
    pub fn charge(&self, now_ns: u64, side: Side) -> u64 {
        let mark = self.mark_ns.load(Ordering::Relaxed);
        self.mark_ns.store(now_ns, Ordering::Relaxed);
        let d = now_ns.saturating_sub(mark);
        let counter = match side {
            Side::User => &self.user_ns,
            Side::System => &self.sys_ns,
        };
        bump(counter, d);
        d
    }

    /// The thread gets the CPU at `now_ns`: a new stretch starts, nothing
    /// is charged for the time it was off the CPU.
    pub fn switch_in(&self, now_ns: u64) {
        self.mark_ns.store(now_ns, Ordering::Relaxed);
    }

    /// The thread leaves the CPU at `now_ns` (from the kernel: system
    /// time); `voluntary` when it blocks, not when it is preempted.
    /// Returns the nanoseconds charged.
    pub fn switch_out(&self, now_ns: u64, voluntary: bool) -> u64 {
        // single writer, as `charge`
        if voluntary {
            bump(&self.nvcsw, 1);
        } else {
            bump(&self.nivcsw, 1);
        }
        self.charge(now_ns, Side::System)
    }

    /// Context switches away from the thread so far, voluntary and not
    /// (rseq's way out compares it with the count it last saw).
    pub fn switches(&self) -> u64 {
        self.nvcsw.load(Ordering::Relaxed).wrapping_add(self.nivcsw.load(Ordering::Relaxed))
    }

    /// Asks the thread to look at its rseq critical section on its way
    /// back to user mode, as a switch away would (Linux's `ipi_rseq`).
    pub fn kick(&self) {
        self.kicks.fetch_add(1, Ordering::SeqCst);
    }

    /// Switches away from the thread plus [`CpuAccount::kick`]s so far:
    /// what rseq's way out compares with the count it last saw.
    pub fn rseq_events(&self) -> u64 {
        self.switches().wrapping_add(self.kicks.load(Ordering::SeqCst))
    }

    /// Counts a minor page fault (of the thread's own: single writer, as
    /// [`CpuAccount::charge`]).
    pub fn minor_fault(&self) {
        bump(&self.minflt, 1);
    }

    /// Counts a read call that returned `bytes` (`add_rchar`,
    /// `inc_syscr`).
    ///
    /// Only the thread itself counts, from its system calls (never from an
    /// interrupt), so a load and a store suffice: no locked instruction on
    /// every read(2), which multi-threaded TCG charges heavily. Readers of
    /// /proc see each counter whole.
    pub fn io_read(&self, bytes: u64) {
        bump(&self.rchar, bytes);
        bump(&self.syscr, 1);
    }

    /// Counts a write call that took `bytes` (`add_wchar`, `inc_syscw`).
    /// Single writer, as [`CpuAccount::io_read`].
    pub fn io_write(&self, bytes: u64) {
        bump(&self.wchar, bytes);
        bump(&self.syscw, 1);
    }

    /// The times charged so far.
    pub fn times(&self) -> CpuTimes {
        CpuTimes {
            user_ns: self.user_ns.load(Ordering::Relaxed),
            sys_ns: self.sys_ns.load(Ordering::Relaxed),
        }
    }

    /// The account as a `struct rusage` (times in microseconds).
    pub fn usage(&self) -> Rusage {
        let t = self.times();
        Rusage {
            utime_us: t.user_ns / 1000,
            stime_us: t.sys_ns / 1000,
            maxrss_kb: 0,
            minflt: self.minflt.load(Ordering::Relaxed),
            majflt: 0,
            nvcsw: self.nvcsw.load(Ordering::Relaxed),
            nivcsw: self.nivcsw.load(Ordering::Relaxed),
            io: crate::wait::IoCounts {
                rchar: self.rchar.load(Ordering::Relaxed),
                wchar: self.wchar.load(Ordering::Relaxed),
                syscr: self.syscr.load(Ordering::Relaxed),
                syscw: self.syscw.load(Ordering::Relaxed),
            },
        }
    }
}

impl Rusage {
    /// The times of this usage in nanoseconds (microsecond precision).
    pub fn cpu_times(&self) -> CpuTimes {
        CpuTimes { user_ns: self.utime_us.saturating_mul(1000), sys_ns: self.stime_us.saturating_mul(1000) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretches_go_to_their_side() {
        let a = CpuAccount::new();
        a.switch_in(1_000);
        assert_eq!(a.charge(1_500, Side::System), 500); // kernel until user entry
        assert_eq!(a.charge(4_500, Side::User), 3_000); // back from user mode
        assert_eq!(a.switch_out(4_700, true), 200);
        // off the CPU from 4_700 to 10_000: not charged
        a.switch_in(10_000);
        a.charge(10_100, Side::System);
        a.charge(12_100, Side::User);
        a.switch_out(12_150, false);
        assert_eq!(a.times(), CpuTimes { user_ns: 5_000, sys_ns: 850 });
        let u = a.usage();
        assert_eq!((u.utime_us, u.stime_us, u.nvcsw, u.nivcsw), (5, 0, 1, 1));
        assert_eq!(a.times().total_ns(), 5_850);
    }

    #[test]
    fn clock_going_back_charges_nothing() {
        let a = CpuAccount::new();
        a.switch_in(100);
        assert_eq!(a.charge(50, Side::User), 0);
        assert_eq!(a.times(), CpuTimes::default());
    }

    #[test]
    fn io_counts_add_up() {
        let a = CpuAccount::new();
        a.io_read(10);
        a.io_read(0);
        a.io_write(7);
        let u = a.usage();
        assert_eq!((u.io.rchar, u.io.syscr, u.io.wchar, u.io.syscw), (10, 2, 7, 1));
        let mut t = Rusage::default();
        t.accumulate(&u);
        t.accumulate(&u);
        assert_eq!((t.io.rchar, t.io.syscr, t.io.wchar, t.io.syscw), (20, 4, 14, 2));
        assert_eq!(
            t.io.proc_text(),
            "rchar: 20\nwchar: 14\nsyscr: 4\nsyscw: 2\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n"
        );
    }

    #[test]
    fn faults_and_sums() {
        let a = CpuAccount::new();
        a.minor_fault();
        a.minor_fault();
        assert_eq!(a.usage().minflt, 2);
        let mut t = CpuTimes { user_ns: 1, sys_ns: 2 };
        t.add(&CpuTimes { user_ns: 10, sys_ns: 20 });
        assert_eq!(t, CpuTimes { user_ns: 11, sys_ns: 22 });
        let r = Rusage { utime_us: 3, stime_us: 4, ..Rusage::default() };
        assert_eq!(r.cpu_times(), CpuTimes { user_ns: 3000, sys_ns: 4000 });
    }
}
