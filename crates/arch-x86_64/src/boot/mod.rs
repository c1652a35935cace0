//! The boot path: the assembly entry (PVH note and Multiboot2 header, 32-bit
//! stub, long mode) and [`arch_boot_entry`], which brings the machine up in
//! order and calls the kernel's main function.

use crate::bootinfo::BootInfo;
use crate::mem::phys_to_virt;
use spin::Once;

core::arch::global_asm!(include_str!("entry.S"), options(att_syntax));

static BOOT_INFO: Once<BootInfo> = Once::new();

// SAFETY: declaration only: the kernel defines this symbol with entry_point!, with this signature.
unsafe extern "Rust" {
    /// Defined by the kernel with [`entry_point!`](crate::entry_point!).
    fn __kernel_main(boot: &'static BootInfo) -> !;
}

/// Reads physical memory below 4 GiB through the boot direct map.
fn boot_read(paddr: u64, len: usize) -> Option<&'static [u8]> {
    let end = paddr.checked_add(len as u64)?;
    if end > 1 << 32 {
        return None;
    }
    // SAFETY: the boot page tables map the first 4 GiB at PHYS_OFFSET; boot
    // information is read-only here and copied out before memory is reused.
    Some(unsafe { core::slice::from_raw_parts(phys_to_virt(paddr) as *const u8, len) })
}

/// The Rust entry from `entry.S`: `magic` tells the protocol, `info` is the
/// physical address of its boot information, `tsc0` the TSC at the first
/// instruction.
// SAFETY: the name is unique in the kernel; only this crate's assembly calls it, with this ABI.
#[unsafe(no_mangle)]
extern "C" fn arch_boot_entry(magic: u32, info: u32, tsc0: u64) -> ! {
    crate::time::set_boot_tsc(tsc0);
    crate::serial::init();
    crate::time::calibrate_tsc();
    crate::time::init_tsc_aux(0);
    let boot = match BootInfo::parse(magic, u64::from(info), boot_read) {
        Ok(b) => BOOT_INFO.call_once(|| b),
        Err(e) => {
            crate::kprintln_unlocked!("fatal: boot information: {e:?}");
            crate::qemu::exit(crate::qemu::ExitCode::Failure);
        }
    };
    let cmdline = crate::cmdline::Cmdline::new(boot.cmdline());
    let level = cmdline.get("log").and_then(crate::logger::parse_level).unwrap_or(log::LevelFilter::Info);
    crate::logger::init(level);
    crate::gdt::init();
    crate::trap::init();
    crate::user::init();
    crate::cpu::enable_features();
    crate::mem::frames::init(boot);
    crate::mem::paging::init(boot);
    crate::apic::init();
    crate::smp::start_aps(boot);
    crate::apic::route_isa_irq(4, crate::trap::SERIAL_VECTOR);
    crate::serial::enable_rx_irq();
    x86_64::instructions::interrupts::enable();
    // SAFETY: the kernel binary defines __kernel_main with entry_point!, with
    // exactly this signature.
    unsafe { __kernel_main(boot) }
}

/// The boot information (after boot).
pub fn boot_info() -> Option<&'static BootInfo> {
    BOOT_INFO.get()
}

/// Declares the kernel's main function, called once the machine is up
/// (serial, log, GDT/IDT, frames, page tables, heap, timer):
///
/// ```ignore
/// arch_x86_64::entry_point!(kernel_main);
/// fn kernel_main(boot: &'static arch_x86_64::bootinfo::BootInfo) -> ! { ... }
/// ```
#[macro_export]
macro_rules! entry_point {
    ($main:path) => {
        // SAFETY: exactly one entry_point! exists per kernel; the arch crate calls it with this signature.
        #[unsafe(export_name = "__kernel_main")]
        fn __arch_kernel_main(boot: &'static $crate::bootinfo::BootInfo) -> ! {
            let main: fn(&'static $crate::bootinfo::BootInfo) -> ! = $main;
            main(boot)
        }
    };
}
