//! The lock order of kernel-bin's global locks, checked in debug builds.
//!
//! Every global lock of kernel-bin that is not a leaf of the scheduler is a
//! [`Ranked`] spin lock with a [`LockClass`]: while a lock is held, only
//! locks of a *higher* class may be taken (docs/architecture.md, "Lock
//! order"). In a debug build (`debug_assertions`, which the kernel of
//! `cargo xtask test` is) each acquisition is checked against the classes
//! already held on this CPU (no Ranked lock is held across a context
//! switch or taken by an interrupt handler, so the locks a task holds are
//! its CPU's: one stack of held classes per CPU):
//!
//! - a class taken while the same class is held: the same global lock taken
//!   twice, which on one CPU spins for ever (the machine hangs) — reported
//!   before spinning;
//! - a class taken while a higher class is held: an order inversion, a
//!   deadlock waiting for a second CPU or a sleeper.
//!
//! A violation is logged once per pair of classes as `lock order: ...`
//! (xtask's suite run fails on that line) and panics when the kernel runs
//! its in-kernel tests (`ktest`). A release build keeps only the lock.

use core::ops::{Deref, DerefMut};

/// The classes, outermost first: a lock may be taken while holding only
/// locks of lower classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum LockClass {
    /// `exec::CACHE`: executables kept in memory.
    ExecCache = 1,
    /// `fs::MOUNTS`: the mount table.
    Mounts,
    /// `syscall::shm::SPACES`: every IPC namespace's System V tables
    /// (segments, semaphore sets, message queues; `syscall::sysv`).
    Shm,
    /// `locks::REGISTRY`: file locks (flock, POSIX, leases).
    FileLocks,
    /// `dnotify::DIRS`: directory notifications.
    Dnotify,
    /// `inotify::USERS`: inotify instances and watches per user.
    InotifyUsers,
    /// `pipe::FIFOS`: the pipe behind each FIFO inode.
    Fifos,
    /// `futex::QUEUES`: futex waiters by key.
    Futex,
    /// `timerfd::ARMED`: armed timer files by deadline.
    TimerfdArmed,
    /// `timerfd::REALTIME`: CLOCK_REALTIME timer files (clock_settime).
    TimerfdRealtime,
    /// `console::TTY`: the terminal's line discipline.
    Tty,
    /// `pty::PTYS`: the index of pseudo-terminal pairs; leaf.
    Ptys,
    /// `pty::Pty::st`: one pair's state; leaf.
    Pty,
    /// A leaf class no lock uses any more (the host name moved into the
    /// UTS namespaces); the checker's own tests take it.
    Hostname,
    /// `pipe::USER_PAGES`: pipe pages per user; leaf (taken when a pipe is
    /// made, resized or dropped).
    PipeUsers,
    /// `timerq::QUEUE`: the process timers on wall clocks by deadline;
    /// leaf (taken inside the process-table lock and an io_uring's
    /// `inner`, which are not Ranked).
    TimerQueue,
    /// `syscall::mqueue::NAMES`: POSIX message queue names per IPC
    /// namespace; taken alone.
    MqNames,
    /// `syscall::mqueue::USERS`: message queue bytes per user; leaf (taken
    /// inside `MqNames` and by a queue's drop).
    MqUsers,
    /// `syscall::io_uring::TIMED`: the rings with a deadline-queue slot, by
    /// key; leaf, taken alone (a ring's drop, its setup, the tick's
    /// look-up).
    UringTimed,
    /// `cgroup::CG`: the cgroup v2 hierarchy;
    /// leaf (taken alone or under `Mounts`, never with the process table's
    /// lock held).
    Cgroups,
    /// `seccomp::CHANGE`: the seccomp states' changes (an attach, a
    /// TSYNC); taken alone (the process table's lock, not Ranked, inside).
    Seccomp,
}

#[cfg(debug_assertions)]
mod held {
    use super::LockClass;
    use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};

    const DEPTH: usize = 16;
    /// The classes held on this CPU, in the order taken.
    const CPUS: usize = arch_x86_64::percpu::MAX_CPUS;
    /// One held stack per CPU (nothing is held across a switch, so a
    /// task's held locks are its CPU's); each is touched by its CPU only.
    static STACKS: [[AtomicU8; DEPTH]; CPUS] = [const { [const { AtomicU8::new(0) }; DEPTH] }; CPUS];
    static LENS: [AtomicUsize; CPUS] = [const { AtomicUsize::new(0) }; CPUS];

    fn mine() -> (&'static [AtomicU8; DEPTH], &'static AtomicUsize) {
        let cpu = arch_x86_64::percpu::cpu_id().min(CPUS - 1);
        (&STACKS[cpu], &LENS[cpu])
    }
    /// Pairs (held, taken) already reported: a bit per class pair.
    static REPORTED: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];
    /// Whether the in-kernel tests run (a violation panics then).
    pub static PANIC_ON_VIOLATION: AtomicBool = AtomicBool::new(false);

    /// Checks taking `class` against what is held; records it.
    pub fn acquire(class: LockClass, name: &'static str) {
        let (stack, count) = mine();
        let len = count.load(Ordering::Relaxed).min(DEPTH);
        for slot in stack.iter().take(len) {
            let held = slot.load(Ordering::Relaxed);
            if held >= class as u8 {
                report(held, class, name);
            }
        }
        if len < DEPTH {
            stack[len].store(class as u8, Ordering::Relaxed);
        }
        count.store(len + 1, Ordering::Relaxed);
    }

    /// Forgets one hold of `class` (guards may drop out of order).
    pub fn release(class: LockClass) {
        let (stack, count) = mine();
        let len = count.load(Ordering::Relaxed);
        let Some(top) = len.checked_sub(1) else { return };
        if let Some(i) =
            (0..=top.min(DEPTH - 1)).rev().find(|&i| stack[i].load(Ordering::Relaxed) == class as u8)
        {
            for j in i..top.min(DEPTH - 1) {
                stack[j].store(stack[j + 1].load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
        count.store(top, Ordering::Relaxed);
    }

    /// Whether [`acquire`] of `class` would report.
    pub fn would_violate(class: LockClass) -> bool {
        let (stack, count) = mine();
        let len = count.load(Ordering::Relaxed).min(DEPTH);
        stack.iter().take(len).any(|slot| slot.load(Ordering::Relaxed) >= class as u8)
    }

    /// How many Ranked locks this CPU holds.
    pub fn depth() -> usize {
        let (_, count) = mine();
        count.load(Ordering::Relaxed)
    }

    fn report(held: u8, taken: LockClass, name: &'static str) {
        let bit = (usize::from(held) % 32) * 32 + (taken as usize % 32);
        let first = REPORTED[bit / 64].fetch_or(1 << (bit % 64), Ordering::Relaxed) & (1 << (bit % 64)) == 0;
        let what = if held == taken as u8 {
            "taken twice (a hang on one CPU)"
        } else {
            "taken inside a later class"
        };
        if first {
            log::error!("lock order: {name} ({taken:?}) {what}: class {held} is held");
        }
        if PANIC_ON_VIOLATION.load(Ordering::Relaxed) {
            panic!("lock order: {name} ({taken:?}) {what}: class {held} is held");
        }
    }
}

/// Whether taking a lock of `class` now would be reported (a class equal
/// to or later than it is held); always false in a release build.
pub fn would_violate(class: LockClass) -> bool {
    #[cfg(debug_assertions)]
    {
        held::would_violate(class)
    }
    #[cfg(not(debug_assertions))]
    {
        let _ = class;
        false
    }
}

/// Makes a violation panic (the in-kernel tests run).
pub fn panic_on_violation() {
    #[cfg(debug_assertions)]
    held::PANIC_ON_VIOLATION.store(true, core::sync::atomic::Ordering::Relaxed);
}

/// How many Ranked locks this CPU holds (0 in a release build): a
/// preemption point ([`crate::sched::cond_resched`]) switches only at 0.
pub fn held_count() -> usize {
    #[cfg(debug_assertions)]
    {
        held::depth()
    }
    #[cfg(not(debug_assertions))]
    {
        0
    }
}

/// The scheduler's check before a context switch: no Ranked lock may be
/// held across it (another task taking it would spin for ever on one
/// CPU). Reported once as a `lock order:` line.
pub fn check_switch() {
    #[cfg(debug_assertions)]
    if held::depth() != 0 {
        static ONCE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
        if !ONCE.swap(true, core::sync::atomic::Ordering::Relaxed) {
            log::error!("lock order: {} Ranked lock(s) held across a context switch", held::depth());
        }
        if held::PANIC_ON_VIOLATION.load(core::sync::atomic::Ordering::Relaxed) {
            panic!("lock order: a Ranked lock held across a context switch");
        }
    }
}

/// Every class, in order (the power-off wait line names them); its length
/// is the last class's number, so a class added at the end must be listed.
const ALL_CLASSES: [LockClass; LockClass::Seccomp as usize] = [
    LockClass::ExecCache,
    LockClass::Mounts,
    LockClass::Shm,
    LockClass::FileLocks,
    LockClass::Dnotify,
    LockClass::InotifyUsers,
    LockClass::Fifos,
    LockClass::Futex,
    LockClass::TimerfdArmed,
    LockClass::TimerfdRealtime,
    LockClass::Tty,
    LockClass::Ptys,
    LockClass::Pty,
    LockClass::Hostname,
    LockClass::PipeUsers,
    LockClass::TimerQueue,
    LockClass::MqNames,
    LockClass::MqUsers,
    LockClass::UringTimed,
    LockClass::Cgroups,
    LockClass::Seccomp,
];

/// The power-off `locks:` line: per lock site with waits since boot
/// ([`arch_x86_64::spinlock`]): waits, their `pause` iterations and halts, the
/// microseconds waited in all and the longest wait's.
pub fn wait_line() -> alloc::string::String {
    use arch_x86_64::spinlock;
    use core::fmt::Write as _;
    let mult = u128::from(arch_x86_64::time::clock_params().1);
    let us = |cycles: u64| ((u128::from(cycles) * mult) >> arch_x86_64::time::NS_SHIFT_BITS) / 1000;
    let mut s = alloc::string::String::from("locks: waits/spins/halts/us waited/longest us:");
    for site in 0..spinlock::SITES {
        let st = spinlock::stats(site);
        if st.waits == 0 {
            continue;
        }
        let name = match spinlock::NAMES.get(site) {
            Some(n) => *n,
            None => ALL_CLASSES
                .iter()
                .find(|c| **c as usize + spinlock::RANKED_BASE == site)
                .map_or("?", |c| c.name()),
        };
        let _ = write!(
            s,
            " {name} {}/{}/{}/{}/{};",
            st.waits,
            st.spins,
            st.halts,
            us(st.cycles),
            us(st.max_cycles)
        );
    }
    s
}

impl LockClass {
    /// The class's name (as its variant).
    pub fn name(self) -> &'static str {
        match self {
            LockClass::ExecCache => "ExecCache",
            LockClass::Mounts => "Mounts",
            LockClass::Shm => "Shm",
            LockClass::FileLocks => "FileLocks",
            LockClass::Dnotify => "Dnotify",
            LockClass::InotifyUsers => "InotifyUsers",
            LockClass::Fifos => "Fifos",
            LockClass::Futex => "Futex",
            LockClass::TimerfdArmed => "TimerfdArmed",
            LockClass::TimerfdRealtime => "TimerfdRealtime",
            LockClass::Tty => "Tty",
            LockClass::Ptys => "Ptys",
            LockClass::Pty => "Pty",
            LockClass::Hostname => "Hostname",
            LockClass::PipeUsers => "PipeUsers",
            LockClass::TimerQueue => "TimerQueue",
            LockClass::MqNames => "MqNames",
            LockClass::MqUsers => "MqUsers",
            LockClass::UringTimed => "UringTimed",
            LockClass::Cgroups => "Cgroups",
            LockClass::Seccomp => "Seccomp",
        }
    }
}

/// A spin lock with a place in the lock order.
pub struct Ranked<T> {
    class: LockClass,
    // only the debug-build checker's reports read it
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    name: &'static str,
    inner: spin::Mutex<T>,
}

impl<T> Ranked<T> {
    /// A lock of `class`, called `name` in reports.
    pub const fn new(class: LockClass, name: &'static str, value: T) -> Self {
        Ranked { class, name, inner: spin::Mutex::new(value) }
    }

    /// Takes the lock (checked in debug builds, before it spins).
    pub fn lock(&self) -> RankedGuard<'_, T> {
        #[cfg(debug_assertions)]
        held::acquire(self.class, self.name);
        let site = arch_x86_64::spinlock::RANKED_BASE + self.class as usize;
        RankedGuard { guard: arch_x86_64::spinlock::lock(site, &self.inner), class: self.class }
    }
}

/// A held [`Ranked`] lock.
pub struct RankedGuard<'a, T> {
    guard: spin::MutexGuard<'a, T>,
    class: LockClass,
}

impl<T> Deref for RankedGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for RankedGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> Drop for RankedGuard<'_, T> {
    fn drop(&mut self) {
        #[cfg(debug_assertions)]
        held::release(self.class);
        #[cfg(not(debug_assertions))]
        let _ = self.class;
    }
}
