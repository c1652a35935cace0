//! The local APIC: enabled through the direct map, its timer periodic at
//! [`TIMER_HZ`] after calibration against the PIT. The legacy 8259 PICs are
//! remapped out of the exception vectors and masked.

use crate::mem::phys_to_virt;
use crate::trap::{SPURIOUS_VECTOR, TIMER_VECTOR};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use x86_64::instructions::port::Port;
use x86_64::registers::model_specific::Msr;

/// Timer interrupts per second: 250, as Debian's Linux (CONFIG_HZ_250).
/// Under QEMU's emulation every tick that lands in user mode costs far more
/// than its handler (at 1000 Hz a CPU-bound python3 loop ran at half the
/// speed it has at 250 Hz); sleeps and timeouts end on a tick, so their
/// resolution is 4 ms.
pub const TIMER_HZ: u64 = 250;

static BASE: AtomicU64 = AtomicU64::new(0);
/// The timer's initial count for one tick (the boot CPU's calibration; the
/// APs' timers run off the same bus clock).
static PER_TICK: AtomicU64 = AtomicU64::new(0);

const REG_EOI: u64 = 0xb0;
const REG_SVR: u64 = 0xf0;
const REG_LVT_TIMER: u64 = 0x320;
const REG_TIMER_INIT: u64 = 0x380;
const REG_TIMER_CURRENT: u64 = 0x390;
const REG_TIMER_DIVIDE: u64 = 0x3e0;

fn write(reg: u64, v: u32) {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return;
    }
    // SAFETY: base is the APIC's MMIO page in the (uncached) direct map and
    // reg one of its 32-bit registers.
    unsafe { core::ptr::write_volatile((base + reg) as *mut u32, v) }
}

fn read(reg: u64) -> u32 {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return 0;
    }
    // SAFETY: as in `write`.
    unsafe { core::ptr::read_volatile((base + reg) as *const u32) }
}

fn disable_pic() {
    // SAFETY: the 8259 command/data ports; remapping to 0x20/0x28 keeps any
    // stray IRQ off the exception vectors, then every line is masked.
    unsafe {
        let (mut c1, mut d1, mut c2, mut d2) =
            (Port::<u8>::new(0x20), Port::<u8>::new(0x21), Port::<u8>::new(0xa0), Port::<u8>::new(0xa1));
        c1.write(0x11);
        c2.write(0x11);
        d1.write(0x20);
        d2.write(0x28);
        d1.write(4);
        d2.write(2);
        d1.write(1);
        d2.write(1);
        d1.write(0xff);
        d2.write(0xff);
    }
}

/// Enables the local APIC and starts its periodic timer.
pub(crate) fn init() {
    disable_pic();
    let mut msr = Msr::new(0x1b);
    // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU; setting bit 11
    // (global enable) keeps the base address.
    let apic_base = unsafe {
        let v = msr.read();
        msr.write(v | (1 << 11));
        v & 0x000f_ffff_ffff_f000
    };
    BASE.store(phys_to_virt(apic_base), Ordering::Relaxed);
    write(REG_SVR, 0x100 | u32::from(SPURIOUS_VECTOR));
    write(REG_TIMER_DIVIDE, 0x3); // divide by 16
    // Calibrate: count down from the maximum over 10 ms of PIT time.
    write(REG_LVT_TIMER, 1 << 16); // masked, one-shot
    write(REG_TIMER_INIT, u32::MAX);
    crate::time::pit_wait_ms(10);
    let elapsed = u32::MAX - read(REG_TIMER_CURRENT);
    let per_tick = (u64::from(elapsed) * 100 / TIMER_HZ).clamp(1, u64::from(u32::MAX)) as u32;
    PER_TICK.store(u64::from(per_tick), Ordering::Relaxed);
    write(REG_LVT_TIMER, u32::from(TIMER_VECTOR) | (1 << 17)); // periodic
    write(REG_TIMER_INIT, per_tick);
    log::debug!("local APIC at {apic_base:#x}: timer {per_tick} counts per tick at {TIMER_HZ} Hz");
}

/// The running CPU's initial local APIC id (CPUID leaf 1, EBX bits 31:24;
/// readable before the APIC is mapped).
pub fn id() -> u32 {
    core::arch::x86_64::__cpuid(1).ebx >> 24
}

/// Enables the local APIC of an application processor (the MSR base is the
/// same physical page on every CPU): software-enabled through the spurious
/// vector register, its timer masked (APs run no tasks yet).
pub(crate) fn init_ap() {
    let mut msr = Msr::new(0x1b);
    // SAFETY: as in `init`: bit 11 is the global enable.
    unsafe {
        let v = msr.read();
        msr.write(v | (1 << 11));
    }
    write(REG_SVR, 0x100 | u32::from(SPURIOUS_VECTOR));
    write(REG_LVT_TIMER, 1 << 16);
    write(REG_TPR, 0);
}

/// Starts the running AP's periodic timer at the boot CPU's rate (time
/// slices and the scheduler's looks at its sleepers on that CPU).
pub(crate) fn start_timer_ap() {
    let per_tick = PER_TICK.load(Ordering::Relaxed).max(1) as u32;
    write(REG_TIMER_DIVIDE, 0x3);
    write(REG_LVT_TIMER, u32::from(TIMER_VECTOR) | (1 << 17));
    write(REG_TIMER_INIT, per_tick);
}

/// Slows the running AP's timer to one interrupt every `factor` ticks
/// (its idle loop, once it has idled through a tick: nothing there needs
/// the tick but a look for work to steal, which the busy CPUs' ticks now
/// ask for with an IPI). Writing the initial count restarts the period.
pub fn timer_slow(factor: u32) {
    let per_tick = PER_TICK.load(Ordering::Relaxed).max(1);
    let count = (per_tick.saturating_mul(u64::from(factor.max(1)))).min(u64::from(u32::MAX)) as u32;
    set_period(count);
}

/// Back to [`TIMER_HZ`] after [`timer_slow`] (the next tick one period
/// from now).
pub fn timer_normal() {
    set_period(PER_TICK.load(Ordering::Relaxed).max(1) as u32);
}

/// Per CPU: the timer's period in counts as last set by [`timer_slow`] or
/// [`timer_normal`] (0: the boot value, one tick), what an early
/// interrupt ([`timer_early`]) puts back.
static PERIOD: [AtomicU32; crate::percpu::MAX_CPUS] = [const { AtomicU32::new(0) }; crate::percpu::MAX_CPUS];

/// Per CPU: [`timer_early`] shortened the running count.
static EARLY: [AtomicBool; crate::percpu::MAX_CPUS] =
    [const { AtomicBool::new(false) }; crate::percpu::MAX_CPUS];

fn set_period(count: u32) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        let cpu = crate::percpu::cpu_id();
        if let (Some(p), Some(e)) = (PERIOD.get(cpu), EARLY.get(cpu)) {
            p.store(count, Ordering::Relaxed);
            e.store(false, Ordering::Relaxed);
        }
        write(REG_TIMER_INIT, count);
    });
}

/// Makes the running CPU's next timer interrupt come `ns` from now when
/// the periodic one would come later (a timed sleep shorter than a tick
/// ends at its deadline, not at the next tick, as Linux's high-resolution
/// timers do); the interrupt after it restores the period. One register
/// read, and a write when it shortens the count.
pub fn timer_early(ns: u64) {
    let per_tick = PER_TICK.load(Ordering::Relaxed).max(1);
    let tick_ns = 1_000_000_000 / TIMER_HZ;
    let want =
        (u128::from(ns) * u128::from(per_tick) / u128::from(tick_ns)).clamp(1, u128::from(u32::MAX)) as u32;
    // with interrupts off: a timer interrupt between the flag and the
    // write would put the period back first and leave the short count as
    // the period
    x86_64::instructions::interrupts::without_interrupts(|| {
        let left = read(REG_TIMER_CURRENT);
        if left == 0 || want >= left {
            return;
        }
        if let Some(e) = EARLY.get(crate::percpu::cpu_id()) {
            e.store(true, Ordering::Relaxed);
            // (periodic mode: the write restarts the count and makes it
            // the period until the interrupt puts the period back)
            write(REG_TIMER_INIT, want);
        }
    });
}

/// Called by the timer interrupt: puts the period back after an early
/// interrupt; returns whether this one was early.
pub(crate) fn timer_irq_early() -> bool {
    let cpu = crate::percpu::cpu_id();
    if !EARLY.get(cpu).is_some_and(|e| e.swap(false, Ordering::Relaxed)) {
        return false;
    }
    let period = PERIOD.get(cpu).map_or(0, |p| p.load(Ordering::Relaxed));
    let count = if period == 0 { PER_TICK.load(Ordering::Relaxed).max(1) as u32 } else { period };
    write(REG_TIMER_INIT, count);
    true
}

/// Timer interrupts each CPU took (statistics: what an idle CPU's tick
/// costs).
static TIMER_IRQS: [AtomicU64; crate::percpu::MAX_CPUS] =
    [const { AtomicU64::new(0) }; crate::percpu::MAX_CPUS];

/// Counts a timer interrupt of the running CPU.
pub(crate) fn count_timer_irq() {
    if let Some(c) = TIMER_IRQS.get(crate::percpu::cpu_id()) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Timer interrupts CPU `cpu` took since boot.
pub fn timer_irqs(cpu: usize) -> u64 {
    TIMER_IRQS.get(cpu).map_or(0, |c| c.load(Ordering::Relaxed))
}

const REG_TPR: u64 = 0x80;
const REG_ICR_LOW: u64 = 0x300;
const REG_ICR_HIGH: u64 = 0x310;
/// ICR delivery status: the previous IPI has not been accepted yet.
const ICR_PENDING: u32 = 1 << 12;

/// Waits (bounded) until the ICR has sent the previous IPI.
fn icr_wait() {
    for _ in 0..1_000_000 {
        if read(REG_ICR_LOW) & ICR_PENDING == 0 {
            return;
        }
        core::hint::spin_loop();
    }
    log::warn!("apic: an IPI was not accepted");
}

/// Writes the ICR: `high` the destination field, `low` the command. Runs
/// with interrupts off so the two writes are not split by a handler that
/// sends an IPI of its own. Waits for the previous IPI's delivery before
/// the write, not for this one's after it (Linux's xAPIC send path,
/// `__default_send_IPI_dest_field`): each ICR read is an exit to QEMU
/// under its global lock, 7 % of a 2-CPU vfork_exit_wait's samples with
/// both reads; INIT and STARTUP ([`icr_send_wait`]) still wait after.
fn icr_send(dest_apic: u32, low: u32) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        icr_wait();
        write(REG_ICR_HIGH, dest_apic << 24);
        write(REG_ICR_LOW, low);
    });
}

/// As [`icr_send`], then waits until the IPI was accepted (INIT and
/// STARTUP, as Linux's `safe_apic_wait_icr_idle` after each).
fn icr_send_wait(dest_apic: u32, low: u32) {
    icr_send(dest_apic, low);
    icr_wait();
}

/// Sends fixed-delivery interrupt `vector` to the CPU with `apic_id`.
pub fn send_ipi(apic_id: u32, vector: u8) {
    icr_send(apic_id, u32::from(vector));
}

/// Sends fixed-delivery interrupt `vector` to every CPU but this one
/// (destination shorthand 0b11).
pub fn send_ipi_all_but_self(vector: u8) {
    icr_send(0, u32::from(vector) | 0b11 << 18);
}

/// INIT (level assert) to `apic_id`: the first step of starting an AP.
pub(crate) fn send_init(apic_id: u32) {
    icr_send_wait(apic_id, 0b101 << 8 | 1 << 14);
}

/// STARTUP to `apic_id`: the AP starts in real mode at `page * 4096`.
pub(crate) fn send_startup(apic_id: u32, page: u8) {
    icr_send_wait(apic_id, 0b110 << 8 | u32::from(page));
}

/// Signals the end of an interrupt.
pub fn eoi() {
    write(REG_EOI, 0);
}

/// The I/O APIC's usual address on PCs and QEMU (the MADT would say; the
/// kernel has no ACPI parser yet).
const IOAPIC_BASE: u64 = 0xfec0_0000;

fn ioapic_write(reg: u32, v: u32) {
    let base = phys_to_virt(IOAPIC_BASE);
    // SAFETY: IOREGSEL (base) and IOWIN (base + 0x10) of the I/O APIC, in
    // the uncached direct map.
    unsafe {
        core::ptr::write_volatile(base as *mut u32, reg);
        core::ptr::write_volatile((base + 0x10) as *mut u32, v);
    }
}

/// Routes ISA IRQ `irq` (edge, active high: no override in QEMU's MADT for
/// the serial port) to `vector` on the boot CPU.
pub(crate) fn route_isa_irq(irq: u8, vector: u8) {
    let reg = 0x10 + 2 * u32::from(irq);
    ioapic_write(reg + 1, 0); // destination: APIC id 0
    ioapic_write(reg, u32::from(vector));
}

/// Routes the I/O APIC input `gsi` (a PCI INTx line: level-triggered, active
/// high as QEMU's ACPI tables declare GSI 16-23) to `vector` on the boot CPU.
pub(crate) fn route_level_irq(gsi: u8, vector: u8) {
    let reg = 0x10 + 2 * u32::from(gsi);
    ioapic_write(reg + 1, 0); // destination: APIC id 0
    ioapic_write(reg, u32::from(vector) | 1 << 15); // level, active high, unmasked
}
