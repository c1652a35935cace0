//! What the kernel's panic handler does (kernel-bin's `#[panic_handler]`
//! calls [`report`]).

use core::panic::PanicInfo;

/// Prints the panic with a backtrace, fails the running test if any, and
/// ends QEMU with a failure status.
pub fn report(info: &PanicInfo) -> ! {
    x86_64::instructions::interrupts::disable();
    crate::kprintln_unlocked!("\nkernel panic: {info}");
    crate::backtrace::print_here();
    crate::ktest::on_fatal(format_args!("{info}"));
    crate::qemu::exit(crate::qemu::ExitCode::Failure)
}
