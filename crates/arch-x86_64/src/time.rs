//! Time: the TSC calibrated against the PIT, the boot timestamp, timer ticks.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use x86_64::instructions::port::Port;

static TSC_HZ: AtomicU64 = AtomicU64::new(0);
/// Nanoseconds per TSC cycle in 2^-[`NS_SHIFT`] units (0 before
/// calibration): a conversion by one multiplication, no 128-bit division.
static NS_MULT: AtomicU64 = AtomicU64::new(0);
const NS_SHIFT: u32 = 48;
static BOOT_TSC: AtomicU64 = AtomicU64::new(0);
static TICKS: AtomicU64 = AtomicU64::new(0);

const PIT_HZ: u64 = 1_193_182;

/// Reads the time-stamp counter.
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc only reads the counter into eax:edx.
    unsafe { core::arch::asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    (u64::from(hi) << 32) | u64::from(lo)
}

pub(crate) fn set_boot_tsc(tsc: u64) {
    BOOT_TSC.store(tsc, Ordering::Relaxed);
}

/// Waits `ms` milliseconds (at most 54) on PIT channel 2; returns TSC
/// cycles elapsed.
pub(crate) fn pit_wait_ms(ms: u64) -> u64 {
    let s = pit_sample(ms);
    s.t1 - s.t0
}

/// The TSC readings around one PIT interval: the count was written
/// between `before` and `t0`; the last read of the gate that found the
/// count running came after `last0`, the first that found it done before
/// `t1`. So the interval lies between `last0 - t0` and `t1 - before`
/// cycles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PitSample {
    before: u64,
    t0: u64,
    last0: u64,
    t1: u64,
}

impl PitSample {
    /// The interval's cycles (the middle of its bounds) and the width of
    /// the bounds: a vCPU descheduled by a loaded host, or an I/O port
    /// access that waited, widens them.
    fn estimate(&self) -> (u64, u64) {
        let lo = self.last0.saturating_sub(self.t0);
        let hi = self.t1.saturating_sub(self.before).max(lo);
        (lo + (hi - lo) / 2, hi - lo)
    }
}

/// Runs PIT channel 2 for `ms` milliseconds (at most 54), reading the TSC
/// around each access.
fn pit_sample(ms: u64) -> PitSample {
    let count = (PIT_HZ * ms.min(54) / 1000) as u16;
    // SAFETY: ports 0x42, 0x43 and 0x61 are the PIT channel 2 and its gate;
    // programming them affects no memory.
    unsafe {
        let mut gate = Port::<u8>::new(0x61);
        let g = gate.read();
        gate.write((g & !0x02) | 0x01); // gate on, speaker off
        Port::<u8>::new(0x43).write(0b1011_0000); // ch2, lo/hi, mode 0
        let mut ch2 = Port::<u8>::new(0x42);
        ch2.write(count as u8);
        let before = rdtsc();
        ch2.write((count >> 8) as u8);
        let t0 = rdtsc();
        let mut last0 = t0;
        let mut spins = 0u64;
        loop {
            let t = rdtsc();
            if gate.read() & 0x20 != 0 || spins >= 50_000_000 {
                break;
            }
            last0 = t;
            spins += 1;
            core::hint::spin_loop();
        }
        PitSample { before, t0, last0, t1: rdtsc() }
    }
}

/// Of `samples`, the estimate with the narrowest bounds: (cycles, width).
fn best_estimate(samples: &[PitSample]) -> Option<(u64, u64)> {
    samples.iter().map(PitSample::estimate).min_by_key(|&(_, width)| width)
}

/// Calibrates the TSC against 10 ms intervals of the PIT. Under emulation
/// on a loaded host the vCPU can stop for milliseconds inside one interval
/// (one boot calibrated at 4.8 GHz on a 2.6 GHz host: its clock ran at
/// half speed); each interval is bracketed by TSC readings, and one whose
/// bounds are within 0.2 % is taken, else the narrowest of 8 (as Linux's
/// pit_hpet_ptimer_calibrate_cpu takes the best of several tries).
pub(crate) fn calibrate_tsc() {
    const TRIES: usize = 8;
    let mut samples = [PitSample { before: 0, t0: 0, last0: 0, t1: 0 }; TRIES];
    let mut n = 0;
    while n < TRIES {
        samples[n] = pit_sample(10);
        n += 1;
        let (cycles, width) = samples[n - 1].estimate();
        if width.saturating_mul(500) <= cycles {
            break;
        }
    }
    let (cycles, width) = best_estimate(&samples[..n]).unwrap_or((1, 0));
    let hz = cycles.max(1) * 100;
    CALIBRATION.store((n as u64) << 48 | width.min((1 << 48) - 1), Ordering::Relaxed);
    NS_MULT.store(ns_mult(hz), Ordering::Relaxed);
    TSC_HZ.store(hz, Ordering::Relaxed);
}

/// How the TSC was calibrated: intervals tried (bits 48..) and the chosen
/// one's bounds width in cycles.
static CALIBRATION: AtomicU64 = AtomicU64::new(0);

/// (PIT intervals tried, the chosen one's uncertainty in cycles) of the
/// TSC calibration, for the boot log.
pub fn tsc_calibration() -> (u64, u64) {
    let c = CALIBRATION.load(Ordering::Relaxed);
    (c >> 48, c & ((1 << 48) - 1))
}

/// The multiplier of [`cycles_to_ns`] for a TSC of `hz`: 1e9 / hz in
/// 2^-48 units (saturated for a TSC below 15 kHz, which no machine has).
/// The result is off by less than 2^-48 ns per cycle: 4 ns after 2^50
/// cycles (13 days at 1 GHz).
const fn ns_mult(hz: u64) -> u64 {
    let m = (1_000_000_000u128 << NS_SHIFT) / hz as u128;
    if m > u64::MAX as u128 { u64::MAX } else { m as u64 }
}

/// TSC frequency in Hz (0 before calibration).
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

fn cycles_to_ns(c: u64) -> u64 {
    scale(c, NS_MULT.load(Ordering::Relaxed))
}

fn scale(c: u64, mult: u64) -> u64 {
    ((u128::from(c) * u128::from(mult)) >> NS_SHIFT) as u64
}

/// Nanoseconds since the kernel's first instruction (monotonic on each
/// CPU; an AP's may lag the boot CPU's a little: what users see goes
/// through [`monotonic_ns`]).
pub fn since_boot_ns() -> u64 {
    cycles_to_ns(rdtsc().saturating_sub(BOOT_TSC.load(Ordering::Relaxed)))
}

/// [`since_boot_ns`] made monotonic across CPUs (see [`LAST_NS`]): the
/// clocks users read (CLOCK_MONOTONIC, CLOCK_REALTIME). The kernel's own
/// deadlines and CPU-time accounting use [`since_boot_ns`], which touches
/// no shared cache line.
pub fn monotonic_ns() -> u64 {
    let now = since_boot_ns();
    if !SHARED_CLOCK.load(Ordering::Relaxed) {
        return now;
    }
    let last = LAST_NS.load(Ordering::Relaxed);
    if now <= last {
        return last;
    }
    now.max(LAST_NS.fetch_max(now, Ordering::Relaxed))
}

/// The largest clock value handed out since a second CPU came up. An AP's
/// TSC is copied from the boot CPU's a moment late (`smp::sync_tsc`), so
/// it can lag; a CPU never returns less than this, so a value read on one
/// CPU and passed to another (a futex, a pipe, an atomic: anything that
/// orders the two reads) is never followed by a smaller one there. One
/// read and, when the clock moved on, one `fetch_max` of one location:
/// its modification order is the order of the values.
static LAST_NS: AtomicU64 = AtomicU64::new(0);

/// Set once a second CPU runs: with one CPU the TSC alone is monotonic and
/// the clock takes no shared cache line.
static SHARED_CLOCK: AtomicBool = AtomicBool::new(false);

/// A second CPU is about to read the clock ([`monotonic_ns`] from now on
/// keeps to [`LAST_NS`]).
pub(crate) fn share_clock() {
    LAST_NS.fetch_max(monotonic_ns(), Ordering::Relaxed);
    SHARED_CLOCK.store(true, Ordering::SeqCst);
}

/// Timer interrupts taken since the timer started.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

pub(crate) fn tick() {
    TICKS.fetch_add(1, Ordering::Relaxed);
}

// The multiply-shift conversion is within 4 ns of the exact quotient up to
// 2^50 cycles, and monotonic.
crate::ktest!(
    fn cycles_to_ns_by_multiplication() {
        assert_eq!(ns_mult(1_000_000_000), 1 << NS_SHIFT);
        for hz in [999_000_000u64, 1_000_000_000, 2_100_000_000, 3_456_789_012, 24_000_000] {
            let m = ns_mult(hz);
            let mut last = 0;
            for c in [0u64, 1, 999, 1_000_000_007, 1 << 40, (1 << 50) - 1] {
                let exact = (u128::from(c) * 1_000_000_000 / u128::from(hz)) as u64;
                let got = scale(c, m);
                assert!(exact - got <= 4, "hz {hz} c {c}: {got} vs {exact}");
                assert!(got >= last);
                last = got;
            }
        }
        assert_eq!(scale(123, 0), 0, "before calibration");
    }
);

// A PIT interval with a stall inside it (the vCPU stopped between two
// reads of the gate) has wide bounds and loses to a clean one; the
// estimate is the middle of the bounds.
crate::ktest!(
    fn tsc_calibration_takes_the_narrowest_interval() {
        // clean: 26.0 M cycles (2.6 GHz over 10 ms), bounds 2,000 cycles wide
        let clean = PitSample { before: 1_000, t0: 2_000, last0: 26_001_000, t1: 26_002_000 };
        assert_eq!(clean.estimate(), (26_000_000, 2_000));
        // stalled for 22 M cycles between the last read that saw the count
        // running and the one that saw it done (4.8 GHz if taken)
        let stalled = PitSample { before: 1_000, t0: 2_000, last0: 26_001_000, t1: 48_002_000 };
        assert_eq!(stalled.estimate(), (37_000_000, 22_002_000));
        assert_eq!(best_estimate(&[stalled, clean, stalled]), Some((26_000_000, 2_000)));
        assert_eq!(best_estimate(&[]), None);
        // a reading out of order never underflows
        let odd = PitSample { before: 10, t0: 5, last0: 3, t1: 1 };
        assert_eq!(odd.estimate(), (0, 0));
    }
);
