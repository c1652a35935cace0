//! Leaving QEMU: the `isa-debug-exit` device and ACPI power-off.

use x86_64::instructions::port::Port;

/// Status codes written to `isa-debug-exit` (the host sees `code << 1 | 1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitCode {
    /// Everything passed: host status 33.
    Success = 0x10,
    /// A failure (a failed test, a fatal fault): host status 35.
    Failure = 0x11,
}

/// Ends QEMU with `code`; halts forever when the device is absent.
pub fn exit(code: ExitCode) -> ! {
    // SAFETY: port 0xf4 is QEMU's isa-debug-exit when present (xtask always
    // adds it); on a machine without it the write is ignored.
    unsafe { Port::<u32>::new(0xf4).write(code as u32) };
    halt_forever()
}

/// Powers the machine off through the ACPI PM1a control register (SLP_TYP
/// 0 = S5 with SLP_EN) at the places QEMU's firmware puts it: 0xb004
/// (SeaBIOS on pc and q35), 0x604 (QEMU's default PM base), 0x4004 (old
/// QEMU); falls back to [`exit`]. (Reading PM1a_CNT_BLK from the ACPI FADT
/// is the general way; the kernel has no ACPI parser yet.)
pub fn poweroff() -> ! {
    // test builds paint the kernel stacks (docs/architecture.md)
    crate::context::report_stacks();
    for port in [0xb004u16, 0x604, 0x4004] {
        // SAFETY: on QEMU these ports are PM1a_CNT or unassigned (writes to
        // unassigned ports are ignored); the write requests soft-off and
        // touches no memory.
        unsafe { Port::<u16>::new(port).write(0x2000) };
    }
    // QEMU acts on a shutdown request from its main loop, a moment later:
    // give it 200 ms before falling back.
    let start = crate::time::since_boot_ns();
    while crate::time::since_boot_ns() - start < 200_000_000 {
        core::hint::spin_loop();
    }
    exit(ExitCode::Success)
}

/// Halts with interrupts off.
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
