//! The x86_64 machine under the kernel: the only crate with `unsafe` code.
//!
//! It boots (PVH for `qemu -kernel`, Multiboot2 for GRUB; one 32-bit stub
//! enters long mode), brings the machine up (serial console and `log`, TSC
//! calibration, GDT/TSS with IST stacks, an IDT for all 256 vectors, a frame
//! allocator over the boot memory map, higher-half page tables with a direct
//! map of physical memory, a heap that grows from frames, the local APIC
//! timer) and then calls the kernel's main function, declared with
//! [`entry_point!`]. It also carries the in-kernel test framework
//! ([`ktest!`]) and symbolized backtraces.
//!
//! Memory layout: the kernel image is linked at [`mem::KERNEL_BASE`] plus its
//! physical address (1 MiB); all physical memory is mapped at
//! [`mem::PHYS_OFFSET`]; the lower half is user space.
//!
//! The pure parts (boot-information parsing, the frame bitmap, the command
//! line, the symbol table format) build and test on the host:
//!
//! ```
//! use arch_x86_64::cmdline::Cmdline;
//! assert_eq!(Cmdline::new("log=debug").get("log"), Some("debug"));
//! ```
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub mod acpi;
pub mod bootinfo;
pub mod cmdline;
pub mod ksyms;
pub mod mem;
pub mod sigframe;
pub mod spinlock;
pub mod xstate;

#[cfg(target_os = "none")]
pub mod apic;
#[cfg(target_os = "none")]
pub mod backtrace;
#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
pub mod context;
#[cfg(target_os = "none")]
pub mod cpu;
#[cfg(target_os = "none")]
pub mod gdt;
#[cfg(target_os = "none")]
pub mod ktest;
#[cfg(target_os = "none")]
pub mod logger;
pub mod logring;
#[cfg(target_os = "none")]
pub mod panic;
#[cfg(target_os = "none")]
pub mod pci;
#[cfg(target_os = "none")]
pub mod percpu;
#[cfg(target_os = "none")]
pub mod qemu;
#[cfg(target_os = "none")]
pub mod serial;
#[cfg(target_os = "none")]
pub mod smp;
#[cfg(target_os = "none")]
mod tests;
#[cfg(target_os = "none")]
pub mod time;
#[cfg(target_os = "none")]
pub mod trap;
pub mod user;
#[cfg(target_os = "none")]
pub mod vdso;
#[cfg(target_os = "none")]
pub mod virtio_blk;
#[cfg(target_os = "none")]
pub mod virtio_net;

#[cfg(target_os = "none")]
pub use boot::boot_info;
