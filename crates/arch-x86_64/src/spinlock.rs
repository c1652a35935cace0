//! Spin locks whose waits are counted per lock site (smp36).
//!
//! [`lock`] takes a `spin::Mutex` as `spin::Mutex::lock` does (a
//! test-and-test-and-set lock: one `lock cmpxchg`, then, while it is
//! held, plain loads with `pause` between them) but its slow path, taken
//! only when the first attempt fails, counts for the lock's site the wait,
//! the `pause` iterations and the time-stamp-counter cycles waited (the
//! longest wait too). The uncontended path is the same instruction as
//! before. [`RawSpin`] is the same lock for `lock_api` users (the process
//! model's `Platform::Lock`). [`stats`] reads a site's figures (the
//! power-off `locks:` line).
//!
//! Why waiters simply spin (docs/architecture.md, "Spin-lock waiters"):
//! under QEMU's multi-threaded TCG a vCPU is a host thread, so a holder's
//! vCPU may be descheduled by the host while others spin for its lock;
//! Linux without paravirtual spin locks spins the same way. The counts
//! here are how that was measured.

use core::sync::atomic::{AtomicU64, Ordering};

/// Lock sites counted (the named ones below, then kernel-bin's ranked
/// classes from [`RANKED_BASE`]).
pub const SITES: usize = 48;

/// The kernel heap's slab.
pub const HEAP: usize = 0;
/// The frame allocator's bitmap.
pub const FRAMES: usize = 1;
/// The page-table frame pool.
pub const PT_POOL: usize = 2;
/// The kernel-stack slots.
pub const KSTACK_SLOTS: usize = 3;
/// The scheduler's run queues (all CPUs').
pub const RUN_QUEUE: usize = 4;
/// The scheduler's timed sleepers.
pub const SLEEPERS: usize = 5;
/// The scheduler's per-CPU slots (current, idle, previous task): not
/// taken through [`lock`] (only their own CPU takes them; none waited).
pub const CPU_SLOT: usize = 6;
/// The scheduler's wait queues (all of them).
pub const WAIT_QUEUE: usize = 7;
/// The process model's locks (`Platform::Lock`: the process table, each
/// address space, each SysV semaphore undo list).
pub const PROCESS: usize = 8;
/// The first site of kernel-bin's ranked lock classes (site = this +
/// class number).
pub const RANKED_BASE: usize = 16;

/// The names of the sites below [`RANKED_BASE`] (empty: unused).
pub const NAMES: [&str; RANKED_BASE] = [
    "heap",
    "frames",
    "page-table pool",
    "kernel-stack slots",
    "run queues",
    "sleepers",
    "CPU slots",
    "wait queues",
    "process (table, address spaces)",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
];

struct Stat {
    waits: AtomicU64,
    spins: AtomicU64,
    cycles: AtomicU64,
    max: AtomicU64,
    halts: AtomicU64,
}

static STATS: [Stat; SITES] = [const {
    Stat {
        waits: AtomicU64::new(0),
        spins: AtomicU64::new(0),
        cycles: AtomicU64::new(0),
        max: AtomicU64::new(0),
        halts: AtomicU64::new(0),
    }
}; SITES];

/// One site's figures since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SiteStats {
    /// Acquisitions whose first attempt found the lock held.
    pub waits: u64,
    /// `pause` iterations of those waits.
    pub spins: u64,
    /// Time-stamp-counter cycles those waits took.
    pub cycles: u64,
    /// The longest wait, in cycles.
    pub max_cycles: u64,
    /// Halts of those waits (after [`SPIN_NS`] of spinning).
    pub halts: u64,
}

/// Site `site`'s figures (zero for a site out of range).
pub fn stats(site: usize) -> SiteStats {
    STATS.get(site).map_or(SiteStats::default(), |s| SiteStats {
        waits: s.waits.load(Ordering::Relaxed),
        spins: s.spins.load(Ordering::Relaxed),
        cycles: s.cycles.load(Ordering::Relaxed),
        max_cycles: s.max.load(Ordering::Relaxed),
        halts: s.halts.load(Ordering::Relaxed),
    })
}

fn tsc() -> u64 {
    #[cfg(target_os = "none")]
    {
        crate::time::rdtsc()
    }
    #[cfg(not(target_os = "none"))]
    {
        0
    }
}

/// Takes `m`, counting a wait for `site` when its first attempt fails.
#[inline(always)]
pub fn lock<T: ?Sized>(site: usize, m: &spin::Mutex<T>) -> spin::MutexGuard<'_, T> {
    match m.try_lock() {
        Some(g) => g,
        None => wait(site, m),
    }
}

/// How long a waiter spins before it halts (with interrupts on only):
/// longer than the critical sections of a debug build, shorter than a
/// holder's vCPU left off a host CPU (milliseconds under load).
pub const SPIN_NS: u64 = 30_000;
/// How long each halt of a waiter lasts at most (its local APIC timer
/// brought forward: [`crate::apic::timer_early`]); any interrupt (a TLB
/// shootdown, a reschedule IPI) ends it sooner.
pub const HALT_NS: u64 = 100_000;

/// Cycles of `ns` nanoseconds (0 before the clock's calibration).
fn cycles_of(ns: u64) -> u64 {
    #[cfg(target_os = "none")]
    {
        let mult = crate::time::clock_params().1;
        if mult == 0 { 0 } else { ((u128::from(ns) << crate::time::NS_SHIFT_BITS) / u128::from(mult)) as u64 }
    }
    #[cfg(not(target_os = "none"))]
    {
        let _ = ns;
        0
    }
}

/// Whether a waiter may halt: interrupts are on (something will end the
/// halt) and another CPU runs (the holder is elsewhere).
fn may_halt() -> bool {
    #[cfg(target_os = "none")]
    {
        x86_64::instructions::interrupts::are_enabled() && crate::smp::cpus_online() > 1
    }
    #[cfg(not(target_os = "none"))]
    {
        false
    }
}

/// Halts until the next interrupt, [`HALT_NS`] at most: under QEMU's
/// multi-threaded TCG the vCPU's host thread sleeps and the host core can
/// run the holder's vCPU instead of this spin.
fn halt_a_while() {
    #[cfg(target_os = "none")]
    {
        x86_64::instructions::interrupts::disable();
        crate::apic::timer_early(HALT_NS);
        // `sti; hlt`: an interrupt due since the `cli` ends the `hlt`
        x86_64::instructions::interrupts::enable_and_hlt();
    }
}

#[cold]
#[inline(never)]
fn wait<T: ?Sized>(site: usize, m: &spin::Mutex<T>) -> spin::MutexGuard<'_, T> {
    let t0 = tsc();
    // the bounded spin, then halts (interrupts on, more than one CPU: a
    // sleepable context or at least one an interrupt may enter)
    let patience = if may_halt() { cycles_of(SPIN_NS) } else { 0 };
    let mut spins = 0u64;
    let mut halts = 0u64;
    let g = loop {
        while m.is_locked() {
            spins += 1;
            core::hint::spin_loop();
            if patience != 0 && spins.is_multiple_of(64) && tsc().saturating_sub(t0) > patience {
                halt_a_while();
                halts += 1;
            }
        }
        if let Some(g) = m.try_lock() {
            break g;
        }
    };
    let dt = tsc().saturating_sub(t0);
    if let Some(s) = STATS.get(site) {
        s.waits.fetch_add(1, Ordering::Relaxed);
        s.spins.fetch_add(spins, Ordering::Relaxed);
        s.cycles.fetch_add(dt, Ordering::Relaxed);
        s.max.fetch_max(dt, Ordering::Relaxed);
        if halts != 0 {
            s.halts.fetch_add(halts, Ordering::Relaxed);
        }
    }
    g
}

/// A `lock_api` raw mutex: [`lock`]'s spin lock counted as site `K`.
pub struct RawSpin<const K: usize>(spin::Mutex<()>);

// SAFETY: the lock is spin's mutex: `lock`/`try_lock` take it (their
// guards are forgotten, so it stays held), `unlock` releases it, which the
// caller may do only while holding it (lock_api's contract).
unsafe impl<const K: usize> lock_api::RawMutex for RawSpin<K> {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = RawSpin(spin::Mutex::new(()));
    type GuardMarker = lock_api::GuardSend;

    fn lock(&self) {
        core::mem::forget(lock(K, &self.0));
    }

    fn try_lock(&self) -> bool {
        self.0.try_lock().map(core::mem::forget).is_some()
    }

    unsafe fn unlock(&self) {
        // SAFETY: lock_api's contract: this context holds the lock.
        unsafe { self.0.force_unlock() }
    }

    fn is_locked(&self) -> bool {
        self.0.is_locked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lock_api::RawMutex as _;

    #[test]
    fn an_uncontended_lock_counts_no_wait() {
        let m = spin::Mutex::new(5);
        *lock(SITES - 1, &m) += 1;
        assert_eq!(*m.lock(), 6);
        assert_eq!(stats(SITES - 1).waits, 0);
    }

    #[test]
    fn a_raw_spin_is_held_until_unlocked() {
        let r = RawSpin::<{ SITES - 2 }>::INIT;
        r.lock();
        assert!(r.is_locked());
        assert!(!r.try_lock());
        // SAFETY: held by this test since the `lock` above.
        unsafe { r.unlock() };
        assert!(r.try_lock());
        // SAFETY: held since the `try_lock` above.
        unsafe { r.unlock() };
        assert!(!r.is_locked());
    }

    #[test]
    fn a_contended_lock_counts_one_wait() {
        static M: spin::Mutex<u32> = spin::Mutex::new(0);
        static STARTED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
        let g = M.lock();
        let t = std::thread::spawn(|| {
            STARTED.store(true, Ordering::SeqCst);
            *lock(SITES - 3, &M) += 1
        });
        while !STARTED.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(g);
        t.join().unwrap();
        assert_eq!(*M.lock(), 1);
        assert_eq!(stats(SITES - 3).waits, 1);
    }
}
