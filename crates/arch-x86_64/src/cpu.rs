//! CPU features the kernel turns on: SMEP and SMAP when present (NX and
//! write-protect are set by the boot stub).

use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};

fn cpuid7_ebx() -> u32 {
    // SAFETY: CPUID leaf 7 subleaf 0 exists on every x86_64 CPU QEMU
    // models; a CPU without it returns zeros.
    let r = core::arch::x86_64::__cpuid_count(7, 0);
    r.ebx
}

/// Whether the CPU has SMEP.
pub fn has_smep() -> bool {
    cpuid7_ebx() & (1 << 7) != 0
}

/// Whether the CPU has SMAP.
pub fn has_smap() -> bool {
    cpuid7_ebx() & (1 << 20) != 0
}

pub(crate) fn enable_features() {
    // x87/SSE for user programs: CR0.MP on, EM and TS off; FXSAVE and SSE
    // exceptions enabled in CR4. (The kernel itself is soft-float.)
    let mut c0 = Cr0::read();
    c0.insert(Cr0Flags::MONITOR_COPROCESSOR);
    c0.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
    // SAFETY: only FPU-related bits change; paging and protection stay.
    unsafe { Cr0::write(c0) };
    let mut f = Cr4::read();
    f |= Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE;
    if has_smep() {
        f |= Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION;
    }
    if has_smap() {
        f |= Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION;
    }
    // SAFETY: SMEP/SMAP only restrict kernel access to user pages, and the
    // kernel has no user mappings yet.
    unsafe { Cr4::write(f) };
}

/// Halts until the next interrupt (interrupts must be enabled to wake).
pub fn wait_for_interrupt() {
    x86_64::instructions::hlt();
}

/// Runs `f` with interrupts disabled (restoring the previous state).
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    x86_64::instructions::interrupts::without_interrupts(f)
}

/// Disables interrupts.
pub fn disable_interrupts() {
    x86_64::instructions::interrupts::disable();
}
