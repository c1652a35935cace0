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
    crate::xstate::init();
}

/// Drops every TLB entry of this CPU, global (kernel) ones included:
/// CR4.PGE cleared and set again.
pub(crate) fn flush_tlb_all_global() {
    let f = Cr4::read();
    if f.contains(Cr4Flags::PAGE_GLOBAL) {
        // SAFETY: only the global-pages bit changes, and back: clearing it
        // flushes the whole TLB (SDM 4.10.4.1); the mappings stay.
        unsafe {
            Cr4::write(f - Cr4Flags::PAGE_GLOBAL);
            Cr4::write(f);
        }
    } else {
        x86_64::instructions::tlb::flush_all();
    }
}

/// Halts until the next interrupt (interrupts must be enabled to wake).
pub fn wait_for_interrupt() {
    x86_64::instructions::hlt();
}

/// Enables interrupts and halts until the next one, with no window between
/// the two (`sti; hlt`): an interrupt pending while they were off ends the
/// `hlt`.
pub fn enable_interrupts_and_wait() {
    x86_64::instructions::interrupts::enable_and_hlt();
}

/// Runs `f` with interrupts disabled (restoring the previous state).
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    x86_64::instructions::interrupts::without_interrupts(f)
}

/// Enables interrupts.
#[inline]
pub fn enable_interrupts() {
    x86_64::instructions::interrupts::enable();
}

/// Whether interrupts are enabled on this CPU (RFLAGS.IF): the
/// scheduler's preemption points assert it in debug builds.
pub fn interrupts_enabled() -> bool {
    x86_64::instructions::interrupts::are_enabled()
}

/// Disables interrupts.
pub fn disable_interrupts() {
    x86_64::instructions::interrupts::disable();
}

/// The /proc/cpuinfo flags after `lm`, in Linux's order (CPUID 1 ECX,
/// then leaf 7's EBX and ECX) for what the CPU reports and the kernel
/// enabled: the AVX family only with its XSAVE components on, `ospke` with
/// CR4.PKE (Linux hides `osxsave`).
pub fn cpuinfo_flags_extra() -> alloc::vec::Vec<&'static str> {
    use core::arch::x86_64::{__cpuid, __cpuid_count};
    let xcr0 = crate::xstate::layout().xcr0;
    let ymm = xcr0 & 0x4 != 0;
    let zmm = xcr0 & 0xe0 == 0xe0;
    let c1 = __cpuid(1).ecx;
    let l7 = __cpuid_count(7, 0);
    let mut v = alloc::vec::Vec::new();
    let word4: [(u32, &str, bool); 13] = [
        (0, "pni", true),
        (1, "pclmulqdq", true),
        (9, "ssse3", true),
        (12, "fma", ymm),
        (13, "cx16", true),
        (19, "sse4_1", true),
        (20, "sse4_2", true),
        (22, "movbe", true),
        (23, "popcnt", true),
        (25, "aes", true),
        (26, "xsave", xcr0 != 0),
        (28, "avx", ymm),
        (29, "f16c", ymm),
    ];
    for (bit, name, ok) in word4 {
        if ok && c1 & (1 << bit) != 0 {
            v.push(name);
        }
    }
    if c1 & (1 << 30) != 0 {
        v.push("rdrand");
    }
    let word9: [(u32, &str, bool); 8] = [
        (3, "bmi1", true),
        (5, "avx2", ymm),
        (7, "smep", true),
        (8, "bmi2", true),
        (9, "erms", true),
        (16, "avx512f", zmm),
        (19, "adx", true),
        (20, "smap", true),
    ];
    for (bit, name, ok) in word9 {
        if ok && l7.ebx & (1 << bit) != 0 {
            v.push(name);
        }
    }
    if xcr0 & crate::xstate::PKRU_BIT != 0 {
        v.extend(["pku", "ospke"]);
    }
    v
}

/// `AT_HWCAP` for x86: CPUID leaf 1 EDX.
pub fn hwcap() -> u64 {
    u64::from(core::arch::x86_64::__cpuid(1).edx)
}

fn cmos(reg: u8) -> u8 {
    use x86_64::instructions::port::Port;
    // SAFETY: ports 0x70/0x71 are the CMOS index and data registers; bit 7
    // of the index (NMI disable) is left clear.
    unsafe {
        Port::<u8>::new(0x70).write(reg & 0x7f);
        Port::<u8>::new(0x71).read()
    }
}

/// The CMOS real-time clock as seconds since the Unix epoch (UTC).
pub fn cmos_unix_time() -> u64 {
    // wait out an update in progress (bounded)
    for _ in 0..10_000 {
        if cmos(0x0a) & 0x80 == 0 {
            break;
        }
    }
    let b = cmos(0x0b);
    let bcd = |v: u8| if b & 4 == 0 { (v & 0x0f) + (v >> 4) * 10 } else { v };
    let sec = u64::from(bcd(cmos(0x00)));
    let min = u64::from(bcd(cmos(0x02)));
    let hr_raw = cmos(0x04);
    let mut hour = u64::from(bcd(hr_raw & 0x7f));
    if b & 2 == 0 && hr_raw & 0x80 != 0 {
        hour = (hour % 12) + 12;
    }
    let day = u64::from(bcd(cmos(0x07)));
    let month = u64::from(bcd(cmos(0x08)));
    let year = 2000 + u64::from(bcd(cmos(0x09)));
    days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d.saturating_sub(1);
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}
