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

/// Waits `ms` milliseconds (at most 54) on PIT channel 2, calling
/// `during` right after the count starts; returns TSC cycles elapsed.
pub(crate) fn pit_wait_ms(ms: u64) -> u64 {
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
        ch2.write((count >> 8) as u8);
        let t0 = rdtsc();
        let mut spins = 0u64;
        while gate.read() & 0x20 == 0 && spins < 50_000_000 {
            spins += 1;
            core::hint::spin_loop();
        }
        rdtsc() - t0
    }
}

/// Calibrates the TSC against a 10 ms PIT interval.
pub(crate) fn calibrate_tsc() {
    let cycles = pit_wait_ms(10);
    let hz = cycles.max(1) * 100;
    NS_MULT.store(ns_mult(hz), Ordering::Relaxed);
    TSC_HZ.store(hz, Ordering::Relaxed);
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
