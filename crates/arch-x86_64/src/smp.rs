//! The application processors: found in ACPI's MADT, started with
//! INIT-SIPI-SIPI through a real-mode trampoline page at [`TRAMPOLINE`],
//! each with its own GDT/TSS (own IST stacks), the shared IDT, its
//! [`percpu`](crate::percpu) record in GS, the SYSCALL MSRs and the CPU
//! features of the boot CPU, and its local APIC enabled (timer masked).
//! They then idle (`hlt` with interrupts on) and answer IPIs: they run no
//! tasks yet, the scheduler stays on the boot CPU.
//!
//! The path of an AP: real mode at 0x8000 → protected mode on the
//! trampoline's own GDT → long mode on the boot page tables (which identity
//! map the first 4 GiB and map the kernel image in the higher half) → a
//! jump to [`ap_long_mode_high`] in the kernel image → the kernel page
//! table, its own stack → [`arch_ap_entry`].

use crate::apic;
use crate::mem::phys_to_virt;
use crate::percpu::MAX_CPUS;
use crate::trap::{IPI_TEST_VECTOR, TLB_VECTOR};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use spin::Once;

/// Physical address of the trampoline page (below 1 MiB, inside the range
/// the frame allocator never hands out; SIPI vector 0x08).
pub const TRAMPOLINE: u64 = 0x8000;

/// Each AP's kernel stack (its idle loop and interrupt handlers).
const AP_STACK_SIZE: usize = 64 * 1024;

core::arch::global_asm!(
    r#"
.section .rodata.ap_trampoline, "a"
.set TR, 0x8000
.global ap_tramp_start
.global ap_tramp_end
.global ap_tr_cr3boot
.code16
ap_tramp_start:
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %ss
    lgdtl (TR + ap_tr_gdtptr - ap_tramp_start)
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $0x18, $(TR + ap_tr_pm - ap_tramp_start)
.code32
ap_tr_pm:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    /* CR4.PAE | CR4.PGE */
    mov %cr4, %eax
    or $((1 << 5) | (1 << 7)), %eax
    mov %eax, %cr4
    mov (TR + ap_tr_cr3boot - ap_tramp_start), %eax
    mov %eax, %cr3
    /* EFER.LME | EFER.NXE */
    mov $0xc0000080, %ecx
    rdmsr
    or $((1 << 8) | (1 << 11)), %eax
    wrmsr
    /* CR0.PG | CR0.WP | CR0.PE */
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16) | 1), %eax
    mov %eax, %cr0
    ljmp $0x08, $(TR + ap_tr_lm - ap_tramp_start)
.code64
ap_tr_lm:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    mov (TR + ap_tr_cpu - ap_tramp_start), %rdi
    mov (TR + ap_tr_cr3 - ap_tramp_start), %rsi
    mov (TR + ap_tr_stack - ap_tramp_start), %rdx
    mov (TR + ap_tr_entry - ap_tramp_start), %rax
    jmp *%rax
.balign 8
ap_tr_gdt:
    .quad 0
    .quad 0x00af9a000000ffff                   /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff                   /* 0x10: data */
    .quad 0x00cf9a000000ffff                   /* 0x18: 32-bit code */
ap_tr_gdtptr:
    .short 31
    .long TR + ap_tr_gdt - ap_tramp_start
.balign 8
ap_tr_cr3boot: .quad 0
ap_tr_cr3:     .quad 0
ap_tr_stack:   .quad 0
ap_tr_cpu:     .quad 0
ap_tr_entry:   .quad 0
ap_tramp_end:

.section .text.ap_entry, "ax"
.global ap_long_mode_high
ap_long_mode_high:
    /* rdi = cpu number, rsi = the kernel page table, rdx = the stack top */
    mov %rsi, %cr3
    mov %rdx, %rsp
    xor %ebp, %ebp                             /* ends every backtrace */
    call arch_ap_entry
2:  hlt
    jmp 2b
"#,
    options(att_syntax)
);

// SAFETY: declarations only: the symbols are defined by the assembly above
// and by entry.S, with these types (their addresses are what is used).
unsafe extern "C" {
    static ap_tramp_start: u8;
    static ap_tramp_end: u8;
    static ap_tr_cr3boot: u8;
    static boot_pml4: u8;
    fn ap_long_mode_high();
}

/// Fields of the trampoline page after the code, in this order from
/// `ap_tr_cr3boot`.
const F_CR3BOOT: usize = 0;
const F_CR3: usize = 1;
const F_STACK: usize = 2;
const F_CPU: usize = 3;
const F_ENTRY: usize = 4;

/// APIC id by CPU number (index 0: the boot CPU).
static APIC_IDS: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
/// Set by each AP when it idles with interrupts on.
static ONLINE: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// CPUs up (the boot CPU included).
static NR_ONLINE: AtomicUsize = AtomicUsize::new(1);
/// CPUs the MADT lists as enabled (capped at MAX_CPUS), 0 before `start_aps`.
static NR_LISTED: AtomicUsize = AtomicUsize::new(0);
/// Test IPIs each CPU took, and the APIC id its handler read from its own
/// per-CPU record.
static IPI_SEEN: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static IPI_APIC: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(u32::MAX) }; MAX_CPUS];
/// TLB flushes each CPU did for a shootdown.
static TLB_FLUSHES: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Each AP's GDT/TSS, built by the boot CPU before its SIPI.
static AP_TABLES: [Once<crate::gdt::ApTables>; MAX_CPUS] = [const { Once::new() }; MAX_CPUS];

/// Reads physical memory below 4 GiB through the direct map.
fn phys_read(paddr: u64, len: usize) -> Option<&'static [u8]> {
    let end = paddr.checked_add(len as u64)?;
    if end > 1 << 32 {
        return None;
    }
    // SAFETY: the kernel page tables map all of the first 4 GiB at
    // PHYS_OFFSET; ACPI tables are firmware memory nobody writes.
    Some(unsafe { core::slice::from_raw_parts(phys_to_virt(paddr) as *const u8, len) })
}

/// Busy-waits about `ns` nanoseconds (TSC), or until `done` holds.
fn wait_until(ns: u64, done: impl Fn() -> bool) -> bool {
    let end = crate::time::since_boot_ns() + ns;
    while crate::time::since_boot_ns() < end {
        if done() {
            return true;
        }
        core::hint::spin_loop();
    }
    done()
}

/// Finds the CPUs and sends the first AP its INIT and STARTUP. Runs once
/// on the boot CPU after the kernel page tables, the heap and its local
/// APIC. The boot CPU does not wait: while the AP runs the trampoline and
/// loads its tables (on its own host thread under multi-threaded TCG) the
/// boot CPU goes on with the kernel's start (the initramfs); [`finish_aps`]
/// then checks each AP's TSC and counts it online (a second CPU added
/// 4-6 ms of waiting to the boot when the boot CPU waited here, more when
/// the host was slow to run the AP's vCPU).
pub(crate) fn start_aps(boot: &crate::bootinfo::BootInfo) {
    START_T0.store(crate::time::since_boot_ns(), Ordering::Relaxed);
    let n = find_cpus(boot);
    TO_START.store(n, Ordering::Relaxed);
    if n > 1 && !kick(1) {
        TO_START.store(1, Ordering::Relaxed);
    }
}

/// CPUs the boot found to start (the boot CPU included), and when
/// [`start_aps`] began (ns since boot).
static TO_START: AtomicUsize = AtomicUsize::new(1);
static START_T0: AtomicU64 = AtomicU64::new(0);
/// When the latest STARTUP was sent (TSC).
static SIPI_TSC: AtomicU64 = AtomicU64::new(0);
/// Set by an AP once its tables are loaded (it then halts until the boot
/// CPU's [`MEASURE_GO`]).
static READY: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
static FINISHED: AtomicBool = AtomicBool::new(false);

/// Brings the APs [`start_aps`] started online, one after the other:
/// waits for each to have loaded its tables (a second STARTUP when it has
/// not come after 1 ms, as the MP specification's two; given up after a
/// second), runs the TSC check with it, counts it online, then starts the
/// next. Returns at once after its first call. Must run before anything
/// that reads [`cpus_online`] for more than the boot CPU (the scheduler's
/// placement, the vDSO's page) matters: the kernel calls it before
/// starting init.
pub fn finish_aps() {
    if FINISHED.swap(true, Ordering::AcqRel) {
        return;
    }
    let total = TO_START.load(Ordering::Relaxed);
    let mut n = 1;
    while n < total {
        if n > 1 && !kick(n) {
            break;
        }
        if !bring_online(n) {
            break;
        }
        n += 1;
    }
    if !TSC_UNSYNCED.load(Ordering::Relaxed) {
        crate::time::use_percpu_clock();
    }
    log::debug!(
        "smp: {} of {} listed CPUs online {} us after their start began",
        cpus_online(),
        cpus_listed(),
        crate::time::since_boot_ns().saturating_sub(START_T0.load(Ordering::Relaxed)) / 1000
    );
}

/// Reads the MADT: the APIC ids of the CPUs to start go into `APIC_IDS`
/// (index 0: the boot CPU) and the trampoline page is written. Returns
/// how many CPUs to bring up (1: only the boot CPU).
fn find_cpus(boot: &crate::bootinfo::BootInfo) -> usize {
    let me = apic::id();
    APIC_IDS[0].store(me, Ordering::Relaxed);
    ONLINE[0].store(true, Ordering::Release);
    let rsdp = if boot.rsdp != 0 && crate::acpi::rsdp_valid(boot.rsdp, &phys_read) {
        Some(boot.rsdp)
    } else {
        log::debug!("smp: no RSDP from the boot loader ({:#x}): BIOS scan", boot.rsdp);
        crate::acpi::scan_bios_rsdp(phys_read)
    };
    let Some(rsdp) = rsdp else {
        log::info!("smp: no ACPI RSDP: only the boot CPU runs");
        NR_LISTED.store(1, Ordering::Relaxed);
        return 1;
    };
    let cpus = match crate::acpi::local_apics(rsdp, phys_read) {
        Ok(c) => c,
        Err(e) => {
            log::warn!("smp: ACPI MADT: {e:?}: only the boot CPU runs");
            NR_LISTED.store(1, Ordering::Relaxed);
            return 1;
        }
    };
    if cpus.len() > MAX_CPUS {
        log::warn!("smp: {} CPUs listed, {MAX_CPUS} brought up", cpus.len());
    }
    NR_LISTED.store(cpus.len().clamp(1, MAX_CPUS), Ordering::Relaxed);
    if cpus.len() <= 1 {
        return 1;
    }
    let tramp = phys_to_virt(TRAMPOLINE) as *mut u8;
    let start = &raw const ap_tramp_start;
    let len = &raw const ap_tramp_end as usize - start as usize;
    // SAFETY: the trampoline code is `len` (< 4096) bytes of the kernel
    // image; 0x8000 is a page below 1 MiB that the frame allocator never
    // hands out and nothing else uses after boot, written through the
    // direct map.
    unsafe { core::ptr::copy_nonoverlapping(start, tramp, len) };
    set_field(F_CR3BOOT, &raw const boot_pml4 as u64);
    set_field(F_CR3, crate::mem::paging::kernel_pml4().start_address().as_u64());
    set_field(F_ENTRY, ap_long_mode_high as *const () as u64);
    let mut n = 1;
    for c in cpus.iter().filter(|c| c.apic_id != me) {
        if n >= MAX_CPUS {
            break;
        }
        if c.apic_id > 0xfe {
            log::warn!("smp: APIC id {} needs x2APIC mode: left offline", c.apic_id);
            continue;
        }
        APIC_IDS[n].store(c.apic_id, Ordering::Relaxed);
        n += 1;
    }
    n
}

/// Writes field `i` of the trampoline page (after its code).
fn set_field(i: usize, v: u64) {
    let start = &raw const ap_tramp_start;
    let fields_off = &raw const ap_tr_cr3boot as usize - start as usize;
    let fields = (phys_to_virt(TRAMPOLINE) as usize + fields_off) as *mut u64;
    // SAFETY: the five u64 fields follow `ap_tr_cr3boot` in the page
    // `find_cpus` copied the trampoline to (8-byte aligned: .balign 8 at an
    // offset of a 4 KiB page); `i` < 5; only the boot CPU writes them, and
    // an AP reads them only after its STARTUP.
    unsafe { core::ptr::write_volatile(fields.add(i), v) };
}

/// Gives AP `n` its stack and tables in the trampoline's fields and sends
/// it INIT and STARTUP (the previous AP has read the fields: it is
/// online). False when memory ran out.
fn kick(n: usize) -> bool {
    let Some(stack) = alloc_stack() else {
        log::warn!("smp: no memory for CPU {n}'s stack");
        return false;
    };
    if AP_TABLES[n].try_call_once(|| crate::gdt::build_ap().ok_or(())).is_err() {
        log::warn!("smp: no memory for CPU {n}'s GDT");
        return false;
    }
    let apic_id = APIC_IDS[n].load(Ordering::Relaxed);
    set_field(F_STACK, stack);
    set_field(F_CPU, n as u64);
    core::sync::atomic::fence(Ordering::SeqCst);
    AP_TSC.store(0, Ordering::Relaxed);
    TSC_HIGH.store(u64::MAX, Ordering::Relaxed);
    MEASURE.store(MEASURE_IDLE, Ordering::Release);
    for s in &STEP_TSC {
        s.store(0, Ordering::Relaxed);
    }
    // its TSC may lag ours (by the copy's delay): until every AP's
    // counter is known to agree the clock keeps to the largest value
    // handed out
    crate::time::share_clock();
    STEP_TSC[STEP_INIT].store(crate::time::rdtsc(), Ordering::Relaxed);
    apic::send_init(apic_id);
    // the INIT-to-STARTUP wait: 10 ms by the MP specification, none on
    // the CPUs Linux exempts (smp_quirk_init_udelay: Intel family 6,
    // AMD from family 0xf, Hygon), where it sends STARTUP at once
    // (QEMU's vCPUs among them): the 10 ms were most of what a second
    // CPU added to the boot
    if init_delay_needed() {
        wait_until(10_000_000, || false);
    }
    apic::send_startup(apic_id, (TRAMPOLINE >> 12) as u8);
    SIPI_TSC.store(crate::time::rdtsc(), Ordering::Relaxed);
    step(STEP_SIPI);
    true
}

/// The rest of AP `n`'s start (see [`finish_aps`]); false when it did
/// not come.
fn bring_online(n: usize) -> bool {
    let apic_id = APIC_IDS[n].load(Ordering::Relaxed);
    let ready = || READY[n].load(Ordering::Acquire);
    // a second STARTUP 1 ms after the first when it has not loaded its
    // tables by then (ignored by a CPU that left the wait for STARTUP)
    let since_sipi_ns = || {
        let c = crate::time::rdtsc().saturating_sub(SIPI_TSC.load(Ordering::Relaxed));
        (u128::from(c) * 1_000_000_000 / u128::from(crate::time::tsc_hz().max(1))) as u64
    };
    if !ready() {
        let left = 1_000_000u64.saturating_sub(since_sipi_ns());
        if !wait_until(left, ready) {
            apic::send_startup(apic_id, (TRAMPOLINE >> 12) as u8);
        }
    }
    if !wait_until(1_000_000_000, ready) {
        // it may still be running the trampoline: do not reuse it
        log::warn!("smp: CPU {n} (APIC {apic_id}) did not come up");
        return false;
    }
    // while it checks its counter the boot CPU publishes its TSC and reads
    // the AP's (`tsc_agrees`): when a reading went back the AP copies ours
    // into its own (clocks read on different CPUs must agree)
    let t_go = crate::time::rdtsc();
    SYNC_TSC.store(t_go, Ordering::Release);
    MEASURE.store(MEASURE_GO, Ordering::Release);
    send_resched_apic(apic_id);
    let up = || {
        SYNC_TSC.store(crate::time::rdtsc(), Ordering::Release);
        answer_tsc_measurement(n);
        ONLINE[n].load(Ordering::Acquire)
    };
    if !wait_until(1_000_000_000, up) {
        // with the GO store seen it never stops in the check for long: not
        // counted (it stays halted or spinning outside every task's work)
        log::warn!("smp: CPU {n} (APIC {apic_id}) did not finish its TSC check");
        return false;
    }
    let t_init = STEP_TSC[STEP_INIT].load(Ordering::Relaxed);
    let us = |t: u64| {
        let hz = crate::time::tsc_hz().max(1);
        (u128::from(t.saturating_sub(t_init)) * 1_000_000 / u128::from(hz)) as u64
    };
    let at = |i: usize| us(STEP_TSC[i].load(Ordering::Acquire));
    log::info!(
        "smp: CPU {n} (APIC {apic_id}) online (clock {} ns, here {} ns); us after its INIT: STARTUP {}, entry {}, tables {}, check from {}, rounds {}, verdict {}, online {}",
        AP_CLOCK.load(Ordering::Acquire),
        crate::time::since_boot_ns(),
        at(STEP_SIPI),
        at(STEP_ENTRY),
        at(STEP_SETUP),
        us(t_go),
        at(STEP_ROUNDS),
        at(STEP_VERDICT),
        us(crate::time::rdtsc())
    );
    NR_ONLINE.fetch_add(1, Ordering::Release);
    // out of its halt: counted now, it runs the scheduler's idle task once
    // `start_ap_work` has set it (it may have already)
    send_resched_apic(apic_id);
    true
}

/// Whether the boot CPU is one that needs the MP specification's 10 ms
/// between INIT and STARTUP: not Intel family 6, AMD family 0xf or later
/// or Hygon family 0x18 or later (Linux's smp_quirk_init_udelay).
fn init_delay_needed() -> bool {
    let v = core::arch::x86_64::__cpuid(0);
    let mut vendor = [0u8; 12];
    vendor[..4].copy_from_slice(&v.ebx.to_le_bytes());
    vendor[4..8].copy_from_slice(&v.edx.to_le_bytes());
    vendor[8..].copy_from_slice(&v.ecx.to_le_bytes());
    let eax = core::arch::x86_64::__cpuid(1).eax;
    let base = (eax >> 8) & 0xf;
    let family = if base == 0xf { base + ((eax >> 20) & 0xff) } else { base };
    let modern = match &vendor {
        b"GenuineIntel" => family == 6,
        b"AuthenticAMD" => family >= 0xf,
        b"HygonGenuine" => family >= 0x18,
        _ => false,
    };
    !modern
}

/// A zeroed kernel stack for an AP, leaked (APs never stop); its top.
fn alloc_stack() -> Option<u64> {
    let mut v: alloc::vec::Vec<u8> = alloc::vec::Vec::new();
    v.try_reserve_exact(AP_STACK_SIZE).ok()?;
    v.resize(AP_STACK_SIZE, 0);
    let lo = v.leak().as_mut_ptr() as u64;
    Some((lo + AP_STACK_SIZE as u64) & !15)
}

/// The Rust entry of an application processor (from `ap_long_mode_high`,
/// on its own stack and the kernel page table, interrupts off).
// SAFETY: the name is unique in the kernel; only the assembly above calls
// it, with this ABI.
#[unsafe(no_mangle)]
extern "C" fn arch_ap_entry(cpu: u64) -> ! {
    let cpu = cpu as usize;
    step(STEP_ENTRY);
    if let Some(t) = AP_TABLES.get(cpu).and_then(Once::get) {
        t.load();
        crate::trap::init();
        crate::percpu::install(cpu, apic::id(), t.rsp0_slot);
        crate::user::syscall_msrs();
        crate::cpu::enable_features();
        apic::init_ap();
        crate::mem::paging::activate_kernel();
        crate::time::init_tsc_aux(cpu);
        step(STEP_SETUP);
        READY[cpu].store(true, Ordering::Release);
        // halted until the boot CPU is ready for the TSC check (it goes on
        // with the kernel's start meanwhile; its IPI ends the halt)
        loop {
            x86_64::instructions::interrupts::disable();
            if MEASURE.load(Ordering::Acquire) == MEASURE_GO {
                break;
            }
            x86_64::instructions::interrupts::enable_and_hlt();
        }
        if !tsc_agrees() {
            sync_tsc();
        }
        step(STEP_VERDICT);
        // kernel mappings (global ones included) changed while it was
        // not counted for shootdowns: none of them stays in its TLB
        crate::cpu::flush_tlb_all_global();
        AP_CLOCK.store(crate::time::since_boot_ns(), Ordering::Release);
        ONLINE[cpu].store(true, Ordering::Release);
        x86_64::instructions::interrupts::enable();
    }
    loop {
        // interrupts off from the look to the `sti; hlt`: the start IPI
        // sent after the look stays pending and ends the halt; it waits to
        // be counted online (`finish_aps`) as well
        x86_64::instructions::interrupts::disable();
        if let Some(main) = AP_MAIN.get().filter(|_| cpus_online() > cpu) {
            x86_64::instructions::interrupts::enable();
            apic::start_timer_ap();
            main();
        }
        x86_64::instructions::interrupts::enable_and_hlt();
    }
}

/// Steps of the latest AP start, as TSC readings (the boot CPU logs them
/// as microseconds after the INIT): its INIT, its STARTUP sent, its Rust entry, its
/// tables loaded (before the TSC check), its check's rounds done, the
/// verdict heard.
static STEP_TSC: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];
const STEP_INIT: usize = 5;
const STEP_SIPI: usize = 0;
const STEP_ENTRY: usize = 1;
const STEP_SETUP: usize = 2;
const STEP_ROUNDS: usize = 3;
const STEP_VERDICT: usize = 4;

fn step(i: usize) {
    STEP_TSC[i].store(crate::time::rdtsc(), Ordering::Release);
}

/// The clock an AP read just before it said it was online (the boot CPU
/// logs it next to its own: they must agree).
static AP_CLOCK: AtomicU64 = AtomicU64::new(0);

/// The boot CPU's TSC, stored over and over while it waits for an AP.
static SYNC_TSC: AtomicU64 = AtomicU64::new(0);

/// The AP's TSC, stored over and over while it checks its counter.
static AP_TSC: AtomicU64 = AtomicU64::new(0);
/// The smallest `boot CPU's TSC - AP_TSC` the boot CPU saw (an upper
/// bound of the AP's offset; i64 as u64).
static TSC_HIGH: AtomicU64 = AtomicU64::new(0);
/// The AP's lower bound of its offset (i64 as u64).
static TSC_LOW: AtomicU64 = AtomicU64::new(0);
/// The check's state: [`MEASURE_IDLE`], [`MEASURE_GO`] from the boot
/// CPU, then the AP sets
/// [`MEASURE_DONE`] with [`TSC_LOW`] published, then the boot CPU sets
/// [`MEASURE_SET`] (the counters agree) or [`MEASURE_BAD`].
static MEASURE: AtomicU64 = AtomicU64::new(0);
const MEASURE_IDLE: u64 = 0;
const MEASURE_DONE: u64 = 1;
const MEASURE_SET: u64 = 2;
const MEASURE_BAD: u64 = 3;
/// Set by the boot CPU when it is ready to answer the AP's check.
const MEASURE_GO: u64 = 4;
/// Set when an AP's counter had to be copied: the clocks keep to the
/// largest value handed out (`time::LAST_NS`) and the vDSO falls back to
/// the system call.
static TSC_UNSYNCED: AtomicBool = AtomicBool::new(false);
/// Rounds of the check on the AP.
const MEASURE_ROUNDS: usize = 2000;

/// The AP's side of checking that its TSC agrees with the boot CPU's (as
/// Linux's check_tsc_warp looks for a reading that went back): it stores
/// its own TSC for the boot CPU, which bounds the difference from above
/// ([`answer_tsc_measurement`]: the AP's value was stored before the boot
/// CPU read its own counter), and reads the boot CPU's `SYNC_TSC` then its
/// own counter (a bound from below: the boot CPU's value was stored
/// before). When 0 lies between the bounds no reading went back in either
/// direction and the counters are taken as one (QEMU's TCG has one counter
/// for all vCPUs; hardware with an invariant TSC starts them together);
/// otherwise the AP copies the boot CPU's counter ([`sync_tsc`], a little
/// late) and the clocks keep to the largest value handed out, the vDSO
/// making the system call. Returns whether they agree.
fn tsc_agrees() -> bool {
    let mut low = i64::MIN;
    for _ in 0..MEASURE_ROUNDS {
        AP_TSC.store(crate::time::rdtsc(), Ordering::Release);
        let v = SYNC_TSC.load(Ordering::Acquire);
        let t = crate::time::rdtsc();
        low = low.max(v.wrapping_sub(t) as i64);
        core::hint::spin_loop();
    }
    TSC_LOW.store(low as u64, Ordering::Relaxed);
    step(STEP_ROUNDS);
    MEASURE.store(MEASURE_DONE, Ordering::Release);
    for _ in 0..100_000_000u64 {
        match MEASURE.load(Ordering::Acquire) {
            MEASURE_SET => return true,
            MEASURE_BAD => return false,
            _ => core::hint::spin_loop(),
        }
    }
    TSC_UNSYNCED.store(true, Ordering::Relaxed);
    false
}

/// The boot CPU's side (in its wait for AP `n`): bounds the difference
/// from above with the AP's latest stored TSC; once the AP is done, tells
/// it whether 0 lies between the bounds.
fn answer_tsc_measurement(n: usize) {
    let w = AP_TSC.load(Ordering::Acquire);
    if w != 0 {
        let t = crate::time::rdtsc();
        TSC_HIGH.fetch_min(t.wrapping_sub(w) as i64 as u64 ^ (1 << 63), Ordering::Relaxed);
    }
    if MEASURE.load(Ordering::Acquire) != MEASURE_DONE {
        return;
    }
    let low = TSC_LOW.load(Ordering::Relaxed) as i64;
    let high = (TSC_HIGH.load(Ordering::Relaxed) ^ (1 << 63)) as i64;
    if low <= 0 && 0 <= high {
        crate::time::set_tsc_offset(n, 0);
        // the verdict first, the log line after: the AP waits for the
        // former, not for a line through the serial port (under TCG on a
        // loaded host the line took milliseconds of the AP's start)
        MEASURE.store(MEASURE_SET, Ordering::Release);
        log::info!("smp: CPU {n}'s TSC agrees with ours (no reading went back: bounds {low}..{high} cycles)");
    } else {
        // (here the line comes first: the AP's copy, `sync_tsc`, waits a
        // bounded time for this loop's next store)
        log::warn!(
            "smp: CPU {n}'s TSC differs from ours (bounds {low}..{high} cycles): copied; vDSO clocks off"
        );
        TSC_UNSYNCED.store(true, Ordering::Relaxed);
        MEASURE.store(MEASURE_BAD, Ordering::Release);
    }
}

/// Sets this AP's TSC to the boot CPU's (to within one store of the boot
/// CPU's wait loop): waits for a fresh value, then writes IA32_TSC.
fn sync_tsc() {
    let first = SYNC_TSC.load(Ordering::Acquire);
    let mut v = first;
    for _ in 0..10_000_000 {
        v = SYNC_TSC.load(Ordering::Acquire);
        if v != first {
            break;
        }
        core::hint::spin_loop();
    }
    if v == first {
        return;
    }
    let mut msr = x86_64::registers::model_specific::Msr::new(0x10);
    // SAFETY: IA32_TSC is writable at CPL 0 on every x86_64 CPU; only
    // this CPU's counter changes.
    unsafe { msr.write(v) };
}

/// CPUs up and idling or running (the boot CPU included).
pub fn cpus_online() -> usize {
    NR_ONLINE.load(Ordering::Acquire)
}

/// CPUs the MADT lists as enabled (at most [`MAX_CPUS`]; 1 when there is
/// no MADT).
pub fn cpus_listed() -> usize {
    NR_LISTED.load(Ordering::Relaxed).max(1)
}

/// The APIC id of CPU `cpu` (after `start_aps`).
pub fn apic_id_of(cpu: usize) -> Option<u32> {
    (cpu < cpus_online()).then(|| APIC_IDS[cpu].load(Ordering::Relaxed))
}

/// The test IPI's handler: counts it and records the APIC id the CPU's own
/// per-CPU record holds.
pub(crate) fn on_test_ipi() {
    let cpu = crate::percpu::cpu_id();
    if let (Some(seen), Some(id)) = (IPI_SEEN.get(cpu), IPI_APIC.get(cpu)) {
        id.store(crate::percpu::apic_id(), Ordering::Relaxed);
        seen.fetch_add(1, Ordering::Release);
    }
    apic::eoi();
}

/// Test IPIs CPU `cpu` has taken, and the APIC id it reported.
pub fn test_ipis_seen(cpu: usize) -> (u64, u32) {
    (IPI_SEEN[cpu].load(Ordering::Acquire), IPI_APIC[cpu].load(Ordering::Relaxed))
}

/// Sends the test IPI to CPU `cpu`.
pub fn send_test_ipi(cpu: usize) {
    if let Some(id) = apic_id_of(cpu) {
        apic::send_ipi(id, IPI_TEST_VECTOR);
    }
}

/// Sends the test IPI to every CPU but this one.
pub fn send_test_ipi_others() {
    apic::send_ipi_all_but_self(IPI_TEST_VECTOR);
}

/// One TLB shootdown at a time: what to do (`SHOOT_KIND`), in which address
/// space (`SHOOT_ROOT`, 0: whichever is loaded) and where
/// (`SHOOT_START..SHOOT_END`, `u64::MAX` start: everything). Each target
/// CPU has its `tlb_pending` flag set and clears it when done.
static SHOOT_LOCK: spin::Mutex<()> = spin::Mutex::new(());
static SHOOT_ROOT: AtomicU64 = AtomicU64::new(0);
static SHOOT_START: AtomicU64 = AtomicU64::new(0);
static SHOOT_END: AtomicU64 = AtomicU64::new(0);
static SHOOT_KIND: AtomicU32 = AtomicU32::new(KIND_FLUSH);
const KIND_FLUSH: u32 = 0;
const KIND_LEAVE: u32 = 1;

/// Ranges of more pages than this are flushed whole (a CR3-reload worth of
/// `invlpg`s, as Linux's `tlb_single_page_flush_ceiling` of 33).
pub const FLUSH_CEILING: u64 = 32;

fn flush_local(addr: u64) {
    if addr == u64::MAX {
        x86_64::instructions::tlb::flush_all();
    } else {
        x86_64::instructions::tlb::flush(x86_64::VirtAddr::new_truncate(addr));
    }
}

fn flush_local_range(start: u64, end: u64) {
    if start == u64::MAX || end.saturating_sub(start) / 4096 > FLUSH_CEILING {
        x86_64::instructions::tlb::flush_all();
    } else {
        let mut a = start & !0xfff;
        while a < end {
            flush_local(a);
            a += 4096;
        }
    }
}

/// Sends the request set up in the `SHOOT_*` statics to every online CPU
/// but this one for which `want(cpu)` holds, and waits until all of them
/// did it. Runs with interrupts on or off: while it waits for the lock it
/// answers requests for this CPU itself.
fn shoot(why: Why, kind: u32, root: u64, start: u64, end: u64, want: impl Fn(usize) -> bool) -> usize {
    let n = cpus_online();
    if n <= 1 {
        return 0;
    }
    let stat = &SHOOT_STATS[why as usize];
    stat.calls.fetch_add(1, Ordering::Relaxed);
    let t0 = crate::time::since_boot_ns();
    let me = crate::percpu::cpu_id();
    let _g = loop {
        if let Some(g) = SHOOT_LOCK.try_lock() {
            break g;
        }
        poll_tlb();
        core::hint::spin_loop();
    };
    SHOOT_KIND.store(kind, Ordering::Relaxed);
    SHOOT_ROOT.store(root, Ordering::Relaxed);
    SHOOT_START.store(start, Ordering::Relaxed);
    SHOOT_END.store(end, Ordering::Relaxed);
    // a flush of a user address space skips a CPU that idles lazily with
    // it loaded (it flushes when it leaves idle); a request about kernel
    // mappings (root 0) or to leave tables about to be freed does not
    let lazy_ok = kind == KIND_FLUSH && root != 0;
    let mut sent = 0;
    for cpu in (0..n).filter(|&c| c != me && want(c)) {
        let (Some(p), Some(id)) = (crate::percpu::of(cpu), apic_id_of(cpu)) else { continue };
        if lazy_ok && mark_stale(p) {
            LAZY_SKIPS.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        p.tlb_pending.store(true, Ordering::SeqCst);
        apic::send_ipi(id, TLB_VECTOR);
        sent += 1;
    }
    if sent == 0 {
        return 0;
    }
    stat.ipis.fetch_add(sent as u64, Ordering::Relaxed);
    wait_answers(n, me, t0);
    let ns = crate::time::since_boot_ns().saturating_sub(t0);
    stat.wait_ns.fetch_add(ns, Ordering::Relaxed);
    stat.max_ns.fetch_max(ns, Ordering::Relaxed);
    sent
}

/// How long a shootdown's sender spins for the answers before it sleeps
/// in `hlt` (when interrupts were on): a running CPU answers within
/// microseconds; one whose vCPU the host is not running may take
/// milliseconds, which a spinning vCPU would take from it.
const SPIN_NS: u64 = 50_000;

/// The APIC id + 1 of the shootdown sender sleeping in `hlt` for the
/// answers (0: none): the last CPU to answer sends it the TLB IPI.
static SLEEPER: AtomicU32 = AtomicU32::new(0);

/// Sleeping senders (statistics): how many `hlt`s, and the wake-up IPIs
/// the answering CPUs sent.
static SLEEPS: AtomicU64 = AtomicU64::new(0);
static WAKES: AtomicU64 = AtomicU64::new(0);

/// Waits until every online CPU but `me` of the `n` answered the request
/// under way (the caller holds `SHOOT_LOCK`; `t0`: when it began). Spins
/// for [`SPIN_NS`] (no `pause`: under TCG each one leaves the vCPU's loop
/// and takes QEMU's global lock, which the answering CPUs need for their
/// interrupt and its EOI), then, if interrupts were on, sleeps in `hlt`
/// until the last one to answer sends this CPU the TLB IPI (or another
/// interrupt comes): under a loaded host the vCPU then leaves its host
/// core to the vCPUs it waits for. With interrupts off it keeps spinning.
fn wait_answers(n: usize, me: usize, t0: u64) {
    let done = || {
        (0..n).all(|c| c == me || crate::percpu::of(c).is_none_or(|p| !p.tlb_pending.load(Ordering::SeqCst)))
    };
    let may_sleep = x86_64::instructions::interrupts::are_enabled();
    let my_id = crate::percpu::apic_id() + 1;
    // the frames are reused after this, so the wait has no end (an
    // emulated CPU on a busy host can stall for a second): say so once a
    // second, never go on with a stale TLB elsewhere
    let mut warned = 0;
    loop {
        if done() {
            break;
        }
        let now = crate::time::since_boot_ns();
        let waited = now.saturating_sub(t0);
        if waited / 1_000_000_000 > warned {
            warned = waited / 1_000_000_000;
            log::warn!("smp: TLB shootdown: a CPU has not answered for {warned} s");
        }
        if !may_sleep || waited < SPIN_NS {
            continue;
        }
        x86_64::instructions::interrupts::disable();
        SLEEPER.store(my_id, Ordering::SeqCst);
        // the answering CPU clears its flag, then looks at SLEEPER (both
        // SeqCst): either it sees this CPU asleep and sends the IPI, or
        // this sees its answer here
        if done() {
            SLEEPER.store(0, Ordering::SeqCst);
            x86_64::instructions::interrupts::enable();
            break;
        }
        SLEEPS.fetch_add(1, Ordering::Relaxed);
        // `sti; hlt`: no interrupt can slip in between the two
        x86_64::instructions::interrupts::enable_and_hlt();
        SLEEPER.store(0, Ordering::SeqCst);
    }
}

/// After this CPU answered a shootdown: wakes its sender if it sleeps and
/// every CPU has answered (of two answering at once, the later one to
/// clear its flag sees both flags clear: SeqCst).
fn wake_sender() {
    let id = SLEEPER.load(Ordering::SeqCst);
    if id == 0 {
        return;
    }
    let n = cpus_online();
    if (0..n).all(|c| crate::percpu::of(c).is_none_or(|p| !p.tlb_pending.load(Ordering::SeqCst)))
        && SLEEPER.compare_exchange(id, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    {
        WAKES.fetch_add(1, Ordering::Relaxed);
        apic::send_ipi(id - 1, TLB_VECTOR);
    }
}

/// How often shootdown senders slept in `hlt` for their answers, and how
/// many wake-up IPIs the answering CPUs sent them, since boot.
pub fn shoot_sleeps() -> (u64, u64) {
    (SLEEPS.load(Ordering::Relaxed), WAKES.load(Ordering::Relaxed))
}

/// Why a shootdown was asked for (its statistics' row).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// Write protection of a fork step (`PageTable::flush`).
    Fork = 0,
    /// One page unmapped (`PageTable::unmap`).
    Unmap = 1,
    /// One page's rights reduced (`PageTable::protect`).
    Protect = 2,
    /// A range unmapped (`unmap_range`: munmap, exit, exec).
    UnmapRange = 3,
    /// Tables about to be freed ([`leave_root`]).
    Leave = 4,
    /// Kernel mappings ([`tlb_shootdown`]).
    Kernel = 5,
    /// One page's rights raised (`PageTable::protect`: a copy-on-write
    /// page reused, a fault that adds a right).
    Upgrade = 6,
    /// No flush: membarrier(2)'s `PRIVATE_EXPEDITED_RSEQ` makes the CPUs
    /// running the process leave user mode and waits for them (an empty
    /// range).
    Membarrier = 7,
}

/// The names of [`Why`]'s rows, in order.
pub const WHY_NAMES: [&str; 8] =
    ["fork", "unmap", "protect", "unmap_range", "leave", "kernel", "upgrade", "membarrier"];

/// One row of the shootdown statistics.
struct ShootStat {
    calls: AtomicU64,
    ipis: AtomicU64,
    wait_ns: AtomicU64,
    max_ns: AtomicU64,
}

static SHOOT_STATS: [ShootStat; WHY_NAMES.len()] = [const {
    ShootStat {
        calls: AtomicU64::new(0),
        ipis: AtomicU64::new(0),
        wait_ns: AtomicU64::new(0),
        max_ns: AtomicU64::new(0),
    }
}; WHY_NAMES.len()];

/// Counts a request for reason `why` that needed no other CPU (rights
/// only added: see `PageTable::protect` in `mem::vmimpl`).
pub(crate) fn note_local(why: Why) {
    if cpus_online() > 1 {
        SHOOT_STATS[why as usize].calls.fetch_add(1, Ordering::Relaxed);
    }
}

/// Shootdown statistics since boot for reason `why` (a [`Why`] as
/// `usize`, see [`WHY_NAMES`]): requests with more than one CPU online,
/// IPIs sent, nanoseconds from the request to the last answer (summed, and
/// the longest).
pub fn shoot_stats(why: usize) -> (u64, u64, u64, u64) {
    SHOOT_STATS.get(why).map_or((0, 0, 0, 0), |s| {
        (
            s.calls.load(Ordering::Relaxed),
            s.ipis.load(Ordering::Relaxed),
            s.wait_ns.load(Ordering::Relaxed),
            s.max_ns.load(Ordering::Relaxed),
        )
    })
}

/// The bits of a CPU record's `tlb_lazy`: the CPU idles lazily; a
/// shootdown skipped it meanwhile.
const LAZY: u8 = 1;
const STALE: u8 = 2;

/// Shootdowns of user address spaces that skipped a lazily idling CPU
/// instead of sending it an IPI (statistics).
static LAZY_SKIPS: AtomicU64 = AtomicU64::new(0);
/// Full flushes each CPU did on leaving lazy idle because a shootdown
/// skipped it (statistics).
static LAZY_FLUSHES: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Marks CPU record `p` stale if it idles lazily (one atomic step, so that
/// either its [`tlb_lazy_leave`] sees the mark and flushes, or this sees
/// it awake and the caller sends the IPI); whether it did.
fn mark_stale(p: &crate::percpu::PerCpu) -> bool {
    let mut s = p.tlb_lazy.load(Ordering::SeqCst);
    while s & LAZY != 0 {
        match p.tlb_lazy.compare_exchange_weak(s, s | STALE, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return true,
            Err(v) => s = v,
        }
    }
    false
}

/// Lazy TLB (Linux's lazy mm): the running CPU is about to idle in `hlt`
/// and will use no user-space translation until [`tlb_lazy_leave`]
/// (the kernel reaches user memory through the direct map only), so a
/// shootdown of the user address space it still has loaded need not
/// interrupt it. Requests about kernel mappings and about tables to be
/// freed ([`leave_root`]) still send the IPI. Call with interrupts off,
/// right before `sti; hlt`.
pub fn tlb_lazy_enter() {
    crate::percpu::me().tlb_lazy.store(LAZY, Ordering::SeqCst);
}

/// Ends [`tlb_lazy_enter`]: a full flush (a CR3 reload) if a shootdown
/// skipped this CPU meanwhile, before it runs anything that may return to
/// user mode.
pub fn tlb_lazy_leave() {
    if crate::percpu::me().tlb_lazy.swap(0, Ordering::SeqCst) & STALE != 0 {
        crate::mem::paging::flush_local();
        if let Some(c) = LAZY_FLUSHES.get(crate::percpu::cpu_id()) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Shootdowns that skipped a lazily idling CPU since boot, and the
/// flushes CPU `cpu` did on leaving lazy idle because of them.
pub fn tlb_lazy_stats(cpu: usize) -> (u64, u64) {
    (LAZY_SKIPS.load(Ordering::Relaxed), LAZY_FLUSHES.get(cpu).map_or(0, |c| c.load(Ordering::Relaxed)))
}

/// Does this CPU's pending shootdown request, if any (the IPI handler, and
/// code that spins with interrupts off, so that no two CPUs wait for each
/// other).
pub fn poll_tlb() {
    let p = crate::percpu::me();
    if !p.tlb_pending.load(Ordering::Acquire) {
        return;
    }
    let root = SHOOT_ROOT.load(Ordering::Relaxed);
    let mine = p.root.load(Ordering::Relaxed);
    match SHOOT_KIND.load(Ordering::Relaxed) {
        KIND_LEAVE => {
            if mine == root {
                crate::mem::paging::activate_kernel();
            }
        }
        _ => {
            if root == 0 || mine == root {
                flush_local_range(SHOOT_START.load(Ordering::Relaxed), SHOOT_END.load(Ordering::Relaxed));
            }
        }
    }
    if let Some(c) = TLB_FLUSHES.get(crate::percpu::cpu_id()) {
        c.fetch_add(1, Ordering::Relaxed);
    }
    p.tlb_pending.store(false, Ordering::SeqCst);
    wake_sender();
}

/// Flushes the TLB entry of `addr` (None: every non-global entry, a CR3
/// reload) on this CPU and on every other online CPU, and returns when all
/// of them have acknowledged. Returns how many other CPUs flushed.
pub fn tlb_shootdown(addr: Option<u64>) -> usize {
    let a = addr.unwrap_or(u64::MAX);
    flush_local(a);
    shoot(Why::Kernel, KIND_FLUSH, 0, a, a.saturating_add(4096), |_| true)
}

/// Flushes `start..end` (`None`: everything) of the address space whose
/// top-level table is at `root` on every other CPU that has it loaded,
/// with one IPI per CPU; returns when they are done (before the caller
/// reuses the frames that were mapped there). The caller flushes its own
/// CPU. Returns how many CPUs were asked.
pub fn shootdown_range(why: Why, root: u64, range: Option<(u64, u64)>) -> usize {
    if cpus_online() <= 1 {
        return 0;
    }
    core::sync::atomic::fence(Ordering::SeqCst);
    let (start, end) = range.unwrap_or((u64::MAX, u64::MAX));
    shoot(why, KIND_FLUSH, root, start, end, |c| crate::percpu::root_of(c) == root)
}

/// Makes every other CPU that still has the tables at `root` loaded (an
/// idle CPU keeps the last address space it ran) switch to the kernel's
/// before the tables are freed.
pub(crate) fn leave_root(root: u64) {
    if cpus_online() <= 1 {
        return;
    }
    core::sync::atomic::fence(Ordering::SeqCst);
    shoot(Why::Leave, KIND_LEAVE, root, 0, 0, |c| crate::percpu::root_of(c) == root);
}

/// The TLB-shootdown IPI's handler.
pub(crate) fn on_tlb_ipi() {
    poll_tlb();
    apic::eoi();
}

/// The reschedule IPI's handler: nothing to do but end the `hlt` (or the
/// user-mode stretch) it interrupted; the scheduler looks at its queue on
/// the way out.
pub(crate) fn on_resched_ipi() {
    RESCHED_SEEN.fetch_add(1, Ordering::Relaxed);
    apic::eoi();
}

/// Reschedule IPIs taken by all CPUs (statistics).
static RESCHED_SEEN: AtomicU64 = AtomicU64::new(0);

/// Reschedule IPIs all CPUs took since boot.
pub fn resched_ipis() -> u64 {
    RESCHED_SEEN.load(Ordering::Relaxed)
}

/// The reschedule IPI by APIC id (an AP not yet counted online).
fn send_resched_apic(apic_id: u32) {
    apic::send_ipi(apic_id, crate::trap::RESCHED_VECTOR);
}

/// Sends the reschedule IPI to CPU `cpu` (a task was queued for it while
/// it idles, or a signal is for the thread it runs in user mode).
pub fn send_resched(cpu: usize) {
    if let Some(id) = apic_id_of(cpu) {
        apic::send_ipi(id, crate::trap::RESCHED_VECTOR);
    }
}

/// The function every AP runs once the kernel's scheduler is ready (its
/// idle loop; 0 until [`start_ap_work`]).
static AP_MAIN: Once<fn() -> !> = Once::new();

/// Makes every AP leave its `hlt` loop and call `main` (its idle task,
/// which never returns) with interrupts enabled and its local APIC timer
/// running.
pub fn start_ap_work(main: fn() -> !) {
    AP_MAIN.call_once(|| main);
    for cpu in 1..cpus_online() {
        send_resched(cpu);
    }
}

/// TLB flushes CPU `cpu` did for shootdowns.
pub fn tlb_flushes(cpu: usize) -> u64 {
    TLB_FLUSHES[cpu].load(Ordering::Relaxed)
}

crate::ktest!(
    fn every_ap_is_online_and_answers_ipis() {
        let n = cpus_online();
        assert_eq!(n, cpus_listed(), "CPUs online vs listed in the MADT");
        assert_eq!(crate::percpu::cpu_id(), 0);
        assert_eq!(crate::percpu::apic_id(), apic::id());
        for cpu in 1..n {
            let (before, _) = test_ipis_seen(cpu);
            send_test_ipi(cpu);
            assert!(wait_until(1_000_000_000, || test_ipis_seen(cpu).0 > before), "CPU {cpu} took no IPI");
            let (_, id) = test_ipis_seen(cpu);
            assert_eq!(Some(id), apic_id_of(cpu), "CPU {cpu} reports the wrong APIC id");
            log::info!("smp: CPU {cpu} answered an IPI: APIC id {id}");
        }
        let before: alloc::vec::Vec<u64> = (0..n).map(|c| test_ipis_seen(c).0).collect();
        send_test_ipi_others();
        for (cpu, &b) in before.iter().enumerate().skip(1) {
            assert!(
                wait_until(1_000_000_000, || test_ipis_seen(cpu).0 > b),
                "CPU {cpu} missed the all-but-self IPI"
            );
        }
        assert_eq!(test_ipis_seen(0).0, before[0], "all-but-self reached the sender");
    }
);

crate::ktest!(
    fn tlb_shootdown_reaches_every_ap() {
        let n = cpus_online();
        let before: alloc::vec::Vec<u64> = (0..n).map(tlb_flushes).collect();
        assert_eq!(tlb_shootdown(Some(0x40_0000)), n - 1);
        assert_eq!(tlb_shootdown(None), n - 1);
        for (cpu, &b) in before.iter().enumerate().skip(1) {
            assert_eq!(tlb_flushes(cpu), b + 2, "CPU {cpu}");
        }
        assert_eq!(tlb_flushes(0), before[0], "the caller flushes locally, without an IPI");
    }
);

crate::ktest!(
    fn a_lazily_idling_cpu_is_skipped_and_flushes_when_it_wakes() {
        if cpus_online() < 2 {
            return;
        }
        // the kernel tests run on CPU 0; CPU 1 sits in its idle loop
        let Some(p) = crate::percpu::of(1) else { return };
        assert!(
            wait_until(1_000_000_000, || p.tlb_lazy.load(Ordering::SeqCst) & LAZY != 0),
            "CPU 1 never idled lazily"
        );
        let (ipis0, lazy0) = (tlb_flushes(1), tlb_lazy_stats(1).1);
        let skips0 = tlb_lazy_stats(1).0;
        // a flush of the address space CPU 1 has loaded: skipped (marked
        // stale) if it still idles, else an IPI it answers
        shootdown_range(Why::Unmap, crate::percpu::root_of(1), Some((0x40_0000, 0x40_1000)));
        let skipped = tlb_lazy_stats(1).0 > skips0 && tlb_flushes(1) == ipis0;
        send_resched(1);
        if skipped {
            assert!(
                wait_until(1_000_000_000, || tlb_lazy_stats(1).1 > lazy0),
                "CPU 1 was skipped but did not flush on leaving idle"
            );
        } else {
            assert!(tlb_flushes(1) > ipis0, "CPU 1 was neither skipped nor asked");
        }
        log::info!(
            "smp: lazy TLB: CPU 1 {}",
            if skipped { "skipped, flushed on waking" } else { "was awake" }
        );
        // requests about kernel mappings reach lazy CPUs too
        let before = tlb_flushes(1);
        assert_eq!(tlb_shootdown(None), cpus_online() - 1);
        assert_eq!(tlb_flushes(1), before + 1);
    }
);
