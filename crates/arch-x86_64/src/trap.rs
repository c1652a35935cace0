//! The IDT and the trap path: one assembly stub per vector pushes a uniform
//! [`TrapFrame`] and calls [`trap_dispatch`]. Exceptions in the kernel print
//! the vector, error code, RIP, CR2, the registers and a symbolized backtrace,
//! then end QEMU with a failure status; `int3` is counted and resumed.

use crate::gdt;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::tables::lidt;
use x86_64::registers::control::Cr2;
use x86_64::structures::DescriptorTablePointer;

/// The local APIC timer's vector.
pub const TIMER_VECTOR: u8 = 32;
/// The serial port's (COM1, ISA IRQ 4) vector.
pub const SERIAL_VECTOR: u8 = 36;
/// The virtio-net NIC's (PCI INTx through the I/O APIC) vector.
pub const NIC_VECTOR: u8 = 40;
/// The virtio-blk disk's (PCI INTx through the I/O APIC) vector.
pub const BLK_VECTOR: u8 = 41;
/// The local APIC spurious-interrupt vector.
pub const SPURIOUS_VECTOR: u8 = 0xff;
/// The test IPI (answered by every CPU: counted, see `smp`).
pub const IPI_TEST_VECTOR: u8 = 0xf0;
/// The TLB-shootdown IPI.
pub const TLB_VECTOR: u8 = 0xf1;
/// The reschedule IPI (a task was queued for an idle CPU, or a signal for
/// the thread a CPU runs).
pub const RESCHED_VECTOR: u8 = 0xf2;

core::arch::global_asm!(
    r#"
.section .text.trap, "ax"
.code64
.balign 16
.global trap_stubs
trap_stubs:
.set vec, 0
.rept 256
    .balign 16
    .if (vec == 8) | (vec == 10) | (vec == 11) | (vec == 12) | (vec == 13) | (vec == 14) | (vec == 17) | (vec == 21) | (vec == 29) | (vec == 30)
    .else
    push $0
    .endif
    push $vec
    jmp trap_common
    .set vec, vec + 1
.endr
.balign 16
.global trap_stubs_end
trap_stubs_end:

trap_common:
    testb $3, 24(%rsp)
    jz 1f
    swapgs
1:  push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    cld
    testb $3, 144(%rsp)
    jnz arch_user_trap_return
    call trap_dispatch
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    testb $3, 24(%rsp)
    jz 2f
    swapgs
2:  add $16, %rsp
    iretq
"#,
    options(att_syntax)
);

// SAFETY: declarations only: these symbols come from this crate's linker script or assembly, with these types.
unsafe extern "C" {
    static trap_stubs: u8;
    static trap_stubs_end: u8;
}

/// The registers saved on every trap, lowest address first.
#[repr(C)]
#[derive(Clone, Debug, Default)]
#[allow(missing_docs)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// The vector number.
    pub vector: u64,
    /// The CPU's error code, or 0.
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

static_assertions::const_assert_eq!(core::mem::size_of::<TrapFrame>(), 22 * 8);

#[derive(Clone, Copy)]
#[repr(C)]
struct IdtEntry {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_high: u32,
    zero: u32,
}

static_assertions::const_assert_eq!(core::mem::size_of::<IdtEntry>(), 16);

#[repr(C, align(16))]
struct Idt([IdtEntry; 256]);

static IDT: Once<Idt> = Once::new();
static BREAKPOINTS: AtomicU64 = AtomicU64::new(0);

/// Exception names by vector.
pub fn exception_name(v: u64) -> &'static str {
    const NAMES: [&str; 32] = [
        "#DE divide error",
        "#DB debug",
        "NMI",
        "#BP breakpoint",
        "#OF overflow",
        "#BR bound range",
        "#UD invalid opcode",
        "#NM device not available",
        "#DF double fault",
        "coprocessor segment overrun",
        "#TS invalid TSS",
        "#NP segment not present",
        "#SS stack fault",
        "#GP general protection",
        "#PF page fault",
        "reserved",
        "#MF x87 floating point",
        "#AC alignment check",
        "#MC machine check",
        "#XM SIMD floating point",
        "#VE virtualization",
        "#CP control protection",
        "reserved",
        "reserved",
        "reserved",
        "reserved",
        "reserved",
        "reserved",
        "#HV hypervisor injection",
        "#VC VMM communication",
        "#SX security",
        "reserved",
    ];
    NAMES.get(v as usize).copied().unwrap_or("interrupt")
}

/// Loads the IDT (built once, on the boot CPU after the GDT; each AP
/// loads the same table).
pub(crate) fn init() {
    let base = &raw const trap_stubs as u64;
    let end = &raw const trap_stubs_end as u64;
    if end - base != 256 * 16 {
        crate::kprintln_unlocked!("fatal: trap stubs are {} bytes, not 4096", end - base);
        crate::qemu::exit(crate::qemu::ExitCode::Failure);
    }
    let cs = gdt::selectors().map_or(0x10, |s| s.kernel_code.0);
    let idt = IDT.call_once(|| {
        let mut t = [IdtEntry {
            offset_low: 0,
            selector: 0,
            ist: 0,
            type_attr: 0,
            offset_mid: 0,
            offset_high: 0,
            zero: 0,
        }; 256];
        for (v, e) in t.iter_mut().enumerate() {
            let addr = base + 16 * v as u64;
            let ist = match v {
                8 => gdt::IST_DOUBLE_FAULT,
                2 => gdt::IST_NMI,
                18 => gdt::IST_MACHINE_CHECK,
                _ => 0,
            };
            // present, DPL 0 (3 for int3 so user breakpoints trap), 64-bit interrupt gate
            let dpl = if v == 3 { 3 << 5 } else { 0 };
            *e = IdtEntry {
                offset_low: addr as u16,
                selector: cs,
                ist: ist as u8,
                type_attr: 0x8e | dpl,
                offset_mid: (addr >> 16) as u16,
                offset_high: (addr >> 32) as u32,
                zero: 0,
            };
        }
        Idt(t)
    });
    let ptr = DescriptorTablePointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: VirtAddr::new(idt as *const Idt as u64),
    };
    // SAFETY: the IDT is 'static and each entry points at its stub in
    // trap_stubs, which builds a TrapFrame and returns with iretq.
    unsafe { lidt(&ptr) };
}

/// Hardware interrupts (and IPIs) each CPU took since boot.
static IRQS_TAKEN: [AtomicU64; crate::percpu::MAX_CPUS] =
    [const { AtomicU64::new(0) }; crate::percpu::MAX_CPUS];

/// Hardware interrupts (and IPIs) the running CPU took since boot: an
/// idle loop that polls with interrupts on (instead of `hlt`) compares it
/// to see that an interrupt came and left work for it (a device's, a
/// timer's), as the end of a `hlt` says.
pub fn irqs_taken() -> u64 {
    IRQS_TAKEN.get(crate::percpu::cpu_id()).map_or(0, |c| c.load(Ordering::Relaxed))
}

/// How many `int3` traps were taken.
pub fn breakpoints() -> u64 {
    BREAKPOINTS.load(Ordering::Relaxed)
}

// SAFETY: the name is unique in the kernel; only this crate's assembly calls it, with this ABI.
#[unsafe(no_mangle)]
extern "C" fn trap_dispatch(f: &mut TrapFrame) {
    match f.vector {
        3 => {
            BREAKPOINTS.fetch_add(1, Ordering::Relaxed);
            log::debug!("int3 at {:#x}", f.rip);
        }
        // the checked XRSTOR of a user's signal-frame image resumes at
        // its fixup; any other exception in the kernel is fatal
        v @ 0..=31 => match (v, crate::user::gp_fixup(f.rip)) {
            (13, Some(to)) => f.rip = to,
            _ => fatal_exception(f),
        },
        v => handle_irq(v as u8),
    }
}

/// Handles a hardware interrupt (from kernel mode, or after a ring-3 one
/// returned from `UserContext::run`).
pub(crate) fn handle_irq(v: u8) {
    if let Some(c) = IRQS_TAKEN.get(crate::percpu::cpu_id()) {
        c.fetch_add(1, Ordering::Relaxed);
    }
    match v {
        TIMER_VECTOR => {
            crate::apic::count_timer_irq();
            // an early interrupt (a timed sleep's deadline before the
            // tick) counts as a tick on any CPU, so that the next
            // preemption point looks at the sleepers
            if crate::apic::timer_irq_early() || crate::percpu::cpu_id() == 0 {
                // one clock: the boot CPU's timer counts the ticks
                crate::time::tick();
            }
            // a CPU that neither idles nor switches address spaces
            // (one long computation) would hold back the
            // reuse of unmapped kernel-stack slots: it flushes here when
            // slots wait for it (one counter read when none do; no lock:
            // SLOTS' holders take locks others hold with interrupts on)
            crate::context::flush_for_stacks();
            crate::apic::eoi();
        }
        SERIAL_VECTOR => {
            crate::serial::on_irq();
            crate::apic::eoi();
        }
        NIC_VECTOR => {
            crate::virtio_net::on_irq();
            crate::apic::eoi();
        }
        BLK_VECTOR => {
            crate::virtio_blk::on_irq();
            crate::apic::eoi();
        }
        SPURIOUS_VECTOR => {}
        IPI_TEST_VECTOR => crate::smp::on_test_ipi(),
        TLB_VECTOR => crate::smp::on_tlb_ipi(),
        RESCHED_VECTOR => crate::smp::on_resched_ipi(),
        v => {
            log::warn!("unexpected interrupt vector {v}");
            crate::apic::eoi();
        }
    }
}

fn fatal_exception(f: &TrapFrame) -> ! {
    x86_64::instructions::interrupts::disable();
    let cr2 = Cr2::read_raw();
    crate::kprintln_unlocked!(
        "\nEXCEPTION: vector {} ({}) error code {:#x}",
        f.vector,
        exception_name(f.vector),
        f.error_code
    );
    crate::kprintln_unlocked!("  RIP {:#018x} {}", f.rip, crate::backtrace::Symbol(f.rip));
    crate::kprintln_unlocked!(
        "  CR2 {:#018x}  RSP {:#018x}  RFLAGS {:#x}  CS {:#x}",
        cr2,
        f.rsp,
        f.rflags,
        f.cs
    );
    crate::kprintln_unlocked!(
        "  RAX {:#018x} RBX {:#018x} RCX {:#018x} RDX {:#018x}",
        f.rax,
        f.rbx,
        f.rcx,
        f.rdx
    );
    crate::kprintln_unlocked!(
        "  RSI {:#018x} RDI {:#018x} RBP {:#018x} R8  {:#018x}",
        f.rsi,
        f.rdi,
        f.rbp,
        f.r8
    );
    crate::kprintln_unlocked!(
        "  R9  {:#018x} R10 {:#018x} R11 {:#018x} R12 {:#018x}",
        f.r9,
        f.r10,
        f.r11,
        f.r12
    );
    crate::kprintln_unlocked!("  R13 {:#018x} R14 {:#018x} R15 {:#018x}", f.r13, f.r14, f.r15);
    // a page fault in a kernel stack's guard (a double fault when the
    // fault could not be delivered on the overflowed stack itself)
    if let (8 | 14, Some((lo, size))) = (f.vector, crate::context::guard_of(cr2)) {
        crate::kprintln_unlocked!(
            "kernel stack overflow: {cr2:#x} is in the guard below the {size}-byte kernel stack at {lo:#x}"
        );
        crate::backtrace::print_from(f.rbp);
        crate::ktest::on_fatal(format_args!(
            "kernel stack overflow at {:#x} {} (guard address {cr2:#x})",
            f.rip,
            crate::backtrace::Symbol(f.rip)
        ));
        crate::qemu::exit(crate::qemu::ExitCode::Failure)
    }
    crate::backtrace::print_from(f.rbp);
    crate::ktest::on_fatal(format_args!(
        "exception {} ({}) at {:#x} {}",
        f.vector,
        exception_name(f.vector),
        f.rip,
        crate::backtrace::Symbol(f.rip)
    ));
    crate::qemu::exit(crate::qemu::ExitCode::Failure)
}

/// The address [`deliberate_page_fault`] reads: in the kernel half, above
/// the direct map, never mapped.
pub const UNMAPPED_KERNEL_ADDRESS: u64 = 0xffff_c000_dead_b000;

/// Reads an unmapped kernel address: the page fault report (vector 14, CR2,
/// RIP, backtrace) is printed and QEMU exits. For checking the fault path.
#[inline(never)]
pub fn deliberate_page_fault() -> ! {
    // SAFETY: the read faults (the address is never mapped) and the fault
    // handler ends the kernel, so no value is ever produced.
    let v = unsafe { core::ptr::read_volatile(UNMAPPED_KERNEL_ADDRESS as *const u64) };
    crate::kprintln_unlocked!("read {v:#x} from an address that should be unmapped");
    crate::qemu::exit(crate::qemu::ExitCode::Failure)
}
