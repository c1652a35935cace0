//! Symbolized backtraces from the frame-pointer chain and the kernel's own
//! symbol table (see [`crate::ksyms`]).

use crate::ksyms::SymbolTable;
use crate::mem::{KERNEL_BASE, PHYS_OFFSET};
use core::fmt;

/// Bytes reserved for the symbol table that xtask writes into the image.
pub const KSYMS_CAPACITY: usize = 1536 * 1024;

#[repr(C, align(4096))]
struct Space([u8; KSYMS_CAPACITY]);

/// Filled by `cargo xtask build` after linking; reached only through the
/// linker symbols below, so the compiler cannot assume it stays zero.
#[used]
// SAFETY: the section holds only values of this type, read back through the linker symbols around it.
#[unsafe(link_section = ".ksyms")]
static KSYMS_SPACE: Space = Space([0; KSYMS_CAPACITY]);

// SAFETY: declarations only: these symbols come from this crate's linker script or assembly, with these types.
unsafe extern "C" {
    static __ksyms_start: u8;
    static __ksyms_end: u8;
}

/// The kernel's symbol table, if xtask wrote one.
pub fn symbols() -> Option<SymbolTable<'static>> {
    let start = &raw const __ksyms_start;
    let len = (&raw const __ksyms_end as usize).saturating_sub(start as usize);
    // SAFETY: the linker script brackets the .ksyms section (read-only data
    // of the kernel image, mapped for the kernel's whole life) with these
    // symbols.
    let bytes = unsafe { core::slice::from_raw_parts(start, len) };
    SymbolTable::parse(bytes)
}

/// Formats an address as `name+0xoff`, or `?`.
pub struct Symbol(pub u64);

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match symbols().and_then(|t| t.lookup(self.0)) {
            Some((name, off)) => write!(f, "{name}+{off:#x}"),
            None => f.write_str("?"),
        }
    }
}

/// Whether 16 bytes at `addr` can be read without faulting: the kernel
/// image (boot stack, IST stacks), the direct map of RAM, or a mapped
/// page of the kernel-stack area (a page-table walk: not its guard).
fn readable(addr: u64) -> bool {
    if !addr.is_multiple_of(8) {
        return false;
    }
    let (kstart, kend) = crate::mem::frames::kernel_phys_range();
    let in_image = addr >= KERNEL_BASE + kstart && addr + 16 <= KERNEL_BASE + kend;
    let in_ram = addr >= PHYS_OFFSET && addr + 16 <= PHYS_OFFSET + crate::mem::frames::max_phys();
    let area = crate::mem::paging::KSTACK_AREA
        ..crate::mem::paging::KSTACK_AREA + crate::mem::paging::KSTACK_AREA_SIZE;
    let in_stacks = area.contains(&addr)
        && area.contains(&(addr + 15))
        && crate::mem::paging::kernel_translate(addr).is_some()
        && crate::mem::paging::kernel_translate(addr + 15).is_some();
    in_image || in_ram || in_stacks
}

/// Prints the return addresses up the frame-pointer chain from `rbp`.
pub fn print_from(mut rbp: u64) {
    crate::kprintln_unlocked!("  backtrace:");
    for depth in 0..32 {
        if rbp == 0 || !readable(rbp) {
            break;
        }
        // SAFETY: readable() checked that [rbp, rbp+16) is mapped kernel
        // memory; a frame record is (saved rbp, return address).
        let (next, ret) = unsafe { (*(rbp as *const u64), *((rbp + 8) as *const u64)) };
        if ret == 0 {
            break;
        }
        crate::kprintln_unlocked!("    #{depth:<2} {ret:#018x} {}", Symbol(ret.wrapping_sub(1)));
        if next <= rbp {
            break;
        }
        rbp = next;
    }
}

/// Prints a backtrace of the caller.
#[inline(never)]
pub fn print_here() {
    let rbp: u64;
    // SAFETY: reads the frame-pointer register only.
    unsafe { core::arch::asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack)) };
    print_from(rbp);
}
