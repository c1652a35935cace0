//! The kernel proper (bare metal only).

use arch_x86_64::bootinfo::BootInfo;
use arch_x86_64::cmdline::Cmdline;
use arch_x86_64::mem::{PAGE_SIZE, frames, heap};
use arch_x86_64::{kprintln, qemu, time};

arch_x86_64::entry_point!(kernel_main);

/// The kernel's version, as the banner and `uname` show it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

fn kernel_main(boot: &'static BootInfo) -> ! {
    let boot_ms = time::since_boot_ns() as f64 / 1e6;
    let (free, usable) = frames::stats();
    kprintln!(
        "kernel {VERSION} (x86_64, {:?} boot) up in {boot_ms:.3} ms since its first instruction",
        boot.protocol
    );
    kprintln!(
        "memory: {} MiB usable, {} MiB free, kernel image {} KiB, heap {} KiB; TSC {} MHz",
        (usable * PAGE_SIZE) >> 20,
        (free * PAGE_SIZE) >> 20,
        {
            let (s, e) = frames::kernel_phys_range();
            (e - s) >> 10
        },
        heap::size() >> 10,
        time::tsc_hz() / 1_000_000
    );
    for m in boot.modules() {
        log::info!("module at {:#x}..{:#x} ({} bytes)", m.start, m.end, m.end - m.start);
    }
    crate::sched::init();
    let cmdline = Cmdline::new(boot.cmdline());
    log::debug!("command line: {:?}", cmdline.as_str());

    if cmdline.get("fault") == Some("page") {
        deliberate_page_fault();
    }
    if cmdline.has("ktest") {
        let start = cmdline.get_u64("ktest.start").unwrap_or(0) as usize;
        arch_x86_64::ktest::run(start);
    }
    if cmdline.has("halt") {
        loop {
            arch_x86_64::cpu::wait_for_interrupt();
        }
    }
    kprintln!("nothing to run yet (no user mode): powering off");
    qemu::poweroff()
}

#[inline(never)]
fn deliberate_page_fault() -> ! {
    log::info!("fault=page: reading an unmapped kernel address");
    arch_x86_64::trap::deliberate_page_fault()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    arch_x86_64::panic::report(info)
}
