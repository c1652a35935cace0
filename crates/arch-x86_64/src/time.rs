//! Time: the TSC calibrated against the PIT, the boot timestamp, timer ticks.

use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::port::Port;

static TSC_HZ: AtomicU64 = AtomicU64::new(0);
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
    TSC_HZ.store(cycles.max(1) * 100, Ordering::Relaxed);
}

/// TSC frequency in Hz (0 before calibration).
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

fn cycles_to_ns(c: u64) -> u64 {
    match tsc_hz() {
        0 => 0,
        hz => (u128::from(c) * 1_000_000_000 / u128::from(hz)) as u64,
    }
}

/// Nanoseconds since the kernel's first instruction (monotonic).
pub fn since_boot_ns() -> u64 {
    cycles_to_ns(rdtsc().saturating_sub(BOOT_TSC.load(Ordering::Relaxed)))
}

/// Timer interrupts taken since the timer started.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

pub(crate) fn tick() {
    TICKS.fetch_add(1, Ordering::Relaxed);
}
