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

/// Whether the CPU has RDTSCP (CPUID 0x8000_0001 EDX bit 27): the clock
/// then reads the counter and the CPU's number (`IA32_TSC_AUX`, set per
/// CPU by [`init_tsc_aux`]) in one instruction and adds that CPU's offset.
static RDTSCP: AtomicBool = AtomicBool::new(false);

/// Per CPU, the cycles added to its TSC (two's complement) so that every
/// CPU's counter reads as the boot CPU's. `smp` sets 0 for an AP whose
/// counter agrees with the boot CPU's; one that disagrees is copied
/// instead and the per-CPU clock stays off, so the offsets are all 0
/// today. The vvar page carries them, so the vDSO's formula allows
/// others (a measured offset under KVM, for example).
static TSC_OFFSET: [AtomicU64; crate::percpu::MAX_CPUS] =
    [const { AtomicU64::new(0) }; crate::percpu::MAX_CPUS];

/// Set once every online CPU's offset is known (and RDTSCP exists): the
/// clock users read is then each CPU's corrected TSC, the same formula the
/// vDSO computes, and [`LAST_NS`] is no longer consulted.
static PERCPU_CLOCK: AtomicBool = AtomicBool::new(false);

/// `IA32_TSC_AUX`: what RDTSCP returns in ECX (Linux: CPU | node << 12).
const MSR_TSC_AUX: u32 = 0xc000_0103;

/// Detects RDTSCP and writes this CPU's number into `IA32_TSC_AUX` (each
/// CPU, at boot, before it reads the clock).
pub(crate) fn init_tsc_aux(cpu: usize) {
    let ext = core::arch::x86_64::__cpuid(0x8000_0000).eax;
    if ext < 0x8000_0001 || core::arch::x86_64::__cpuid(0x8000_0001).edx & (1 << 27) == 0 {
        return;
    }
    let mut msr = x86_64::registers::model_specific::Msr::new(MSR_TSC_AUX);
    // SAFETY: IA32_TSC_AUX exists when RDTSCP does; it only changes what
    // RDTSCP/RDPID return on this CPU.
    unsafe { msr.write(cpu as u64) };
    if cpu == 0 {
        RDTSCP.store(true, Ordering::Relaxed);
    }
}

/// Whether RDTSCP returns the CPU number (the vDSO's getcpu and clocks
/// need it).
pub fn has_rdtscp() -> bool {
    RDTSCP.load(Ordering::Relaxed)
}

/// The TSC and `IA32_TSC_AUX` (the CPU number), read in one instruction.
fn rdtscp() -> (u64, u32) {
    let (lo, hi, aux): (u32, u32, u32);
    // SAFETY: rdtscp only reads the counter and TSC_AUX into eax:edx, ecx.
    unsafe {
        core::arch::asm!("rdtscp", out("eax") lo, out("edx") hi, out("ecx") aux, options(nomem, nostack))
    };
    ((u64::from(hi) << 32) | u64::from(lo), aux)
}

/// The TSC as the clock counts it: this CPU's counter plus its offset
/// (read with the CPU number in one instruction: a migration between the
/// two cannot mix one CPU's counter with another's offset).
fn clock_tsc() -> u64 {
    if !RDTSCP.load(Ordering::Relaxed) {
        return rdtsc();
    }
    let (tsc, aux) = rdtscp();
    let off = TSC_OFFSET.get((aux & 0xfff) as usize).map_or(0, |o| o.load(Ordering::Relaxed));
    tsc.wrapping_add(off)
}

/// Sets CPU `cpu`'s TSC offset (cycles, two's complement).
pub(crate) fn set_tsc_offset(cpu: usize, cycles: i64) {
    if let Some(o) = TSC_OFFSET.get(cpu) {
        o.store(cycles as u64, Ordering::Relaxed);
    }
}

/// CPU `cpu`'s TSC offset in cycles.
pub fn tsc_offset(cpu: usize) -> i64 {
    TSC_OFFSET.get(cpu).map_or(0, |o| o.load(Ordering::Relaxed) as i64)
}

/// Every online CPU's offset is known: from now on the clocks are the
/// corrected per-CPU counters (what the vDSO reads too).
pub(crate) fn use_percpu_clock() {
    if RDTSCP.load(Ordering::Relaxed) {
        PERCPU_CLOCK.store(true, Ordering::SeqCst);
    }
}

/// Whether the clocks are the corrected per-CPU counters (the vDSO may
/// compute them in user space).
pub fn percpu_clock() -> bool {
    PERCPU_CLOCK.load(Ordering::Relaxed)
}

/// The boot TSC (the clock's zero) and the multiplier of the cycles-to-ns
/// conversion (ns = cycles * mult >> [`NS_SHIFT_BITS`]).
pub fn clock_params() -> (u64, u64) {
    (BOOT_TSC.load(Ordering::Relaxed), NS_MULT.load(Ordering::Relaxed))
}

/// The shift of [`clock_params`]' multiplier.
pub const NS_SHIFT_BITS: u32 = NS_SHIFT;

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
    let count = pit_count(ms);
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

/// The PIT interval of one calibration try, in ms: short, so that a vCPU
/// which a loaded host runs in slices of a few ms gets tries that no stop
/// falls into.
const CALIBRATION_MS: u64 = 2;
/// Calibration tries at most (0.5 s of boot when every one is disturbed).
const CALIBRATION_TRIES: usize = 250;

/// PIT channel 2's count for `ms` milliseconds (at most 54).
fn pit_count(ms: u64) -> u16 {
    (PIT_HZ * ms.min(54) / 1000) as u16
}

/// The TSC's Hz from estimates `(cycles, bounds width)` of intervals of
/// `count` PIT ticks: the first whose bounds are within 0.2 % of it, else
/// the narrowest. Returns (Hz, the chosen estimate's width, estimates used).
fn tsc_hz_of(estimates: impl Iterator<Item = (u64, u64)>, count: u16) -> (u64, u64, usize) {
    let mut best: Option<(u64, u64)> = None;
    let mut used = 0;
    for e in estimates {
        used += 1;
        if best.is_none_or(|b| e.1 < b.1) {
            best = Some(e);
        }
        if e.1.saturating_mul(500) <= e.0 {
            break;
        }
    }
    let (cycles, width) = best.unwrap_or((1, 0));
    let hz = u128::from(cycles.max(1)) * u128::from(PIT_HZ) / u128::from(count.max(1));
    (u64::try_from(hz).unwrap_or(u64::MAX), width, used)
}

/// Calibrates the TSC against short intervals of the PIT. Under emulation
/// on a loaded host the vCPU can stop for milliseconds inside one interval
/// (one boot calibrated at 4.8 GHz on a 2.6 GHz host: its clock ran at
/// half speed); each interval is bracketed by TSC readings, and the first
/// whose bounds are within 0.2 % is taken, else the narrowest (as Linux's
/// pit_hpet_ptimer_calibrate_cpu takes the best of several tries). The
/// tries were 8 of 10 ms until work28: at a host load of 22 on 2 CPUs one
/// boot in three found no undisturbed one and calibrated at 1801 MHz
/// (bounds 21 M cycles wide) or ran its clock at 0.73x or 1.25x of the
/// wall clock (docs/bench.md); 2 ms tries, up to 250, fit between the stops.
pub(crate) fn calibrate_tsc() {
    let count = pit_count(CALIBRATION_MS);
    let (hz, width, n) =
        tsc_hz_of((0..CALIBRATION_TRIES).map(|_| pit_sample(CALIBRATION_MS).estimate()), count);
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
    cycles_to_ns(clock_tsc().saturating_sub(BOOT_TSC.load(Ordering::Relaxed)))
}

/// [`since_boot_ns`] made monotonic across CPUs (see [`LAST_NS`]): the
/// clocks users read (CLOCK_MONOTONIC, CLOCK_REALTIME). The kernel's own
/// deadlines and CPU-time accounting use [`since_boot_ns`], which touches
/// no shared cache line.
pub fn monotonic_ns() -> u64 {
    let now = since_boot_ns();
    if !SHARED_CLOCK.load(Ordering::Relaxed) || PERCPU_CLOCK.load(Ordering::Relaxed) {
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
        // the clean one ends the tries: 10 ms of 11,931 PIT ticks
        let (hz, width, used) =
            tsc_hz_of([stalled, clean, stalled].iter().map(PitSample::estimate), pit_count(10));
        assert_eq!((hz, width, used), (26_000_000 * PIT_HZ / 11_931, 2_000, 2));
        // the narrowest when none is within 0.2 %
        let wide = PitSample { before: 1_000, t0: 2_000, last0: 25_001_000, t1: 26_102_000 };
        let (_, width, used) =
            tsc_hz_of([stalled, wide, stalled].iter().map(PitSample::estimate), pit_count(10));
        assert_eq!((width, used), (1_102_000, 3));
        assert_eq!(tsc_hz_of(core::iter::empty(), pit_count(10)).2, 0);
        // a reading out of order never underflows
        let odd = PitSample { before: 10, t0: 5, last0: 3, t1: 1 };
        assert_eq!(odd.estimate(), (0, 0));
    }
);

// The first estimate within 0.2 % ends the tries (work28: 2 ms tries).
crate::ktest!(
    fn tsc_calibration_stops_at_the_first_narrow_interval() {
        let count = pit_count(2);
        assert_eq!(count, 2386);
        // 2386 PIT ticks are 1.99970 ms: 5,191,213 cycles at 2.596 GHz
        let est = [(9_000_000, 8_000_000), (5_191_213, 1_500), (4_000_000, 100)];
        let (hz, width, used) = tsc_hz_of(est.into_iter(), count);
        assert_eq!((width, used), (1_500, 2));
        assert!((2_595_900_000..2_596_100_000).contains(&hz), "{hz}");
    }
);
