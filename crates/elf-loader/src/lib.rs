//! Loading Linux executables (x86_64 by default) into a [`vm::Vmar`] and building the
//! initial stack, as Linux's `load_elf_binary()`, `create_elf_tables()` and
//! `load_script()` do.
//!
//! # The model
//!
//! - An executable is read through [`ExecFile`] (offset reads; implemented
//!   for byte slices). The kernel first reads the head of the file
//!   ([`read_head`], [`BINPRM_BUF_SIZE`] bytes) and asks [`parse_shebang`]:
//!   a `#!` script gives the interpreter's path and, through
//!   [`Shebang::argv`], the new argv; the kernel then opens the interpreter
//!   and starts over, at most [`MAX_EXEC_DEPTH`] times
//!   ([`check_exec_depth`]: `ELOOP`).
//! - [`ElfImage::parse`] checks the headers with xmas-elf and refuses with
//!   `ENOEXEC` what Linux cannot run or this loader does not support:
//!   `ET_EXEC` and `ET_DYN` x86_64 ELF64 files load, with or without an
//!   interpreter; a kernel of another architecture names its [`Machine`]
//!   ([`ElfImage::parse_for`], [`ElfImage::parse_interp_for`],
//!   [`ExecParams::machine`]: aarch64 and riscv64). Malformed input of any
//!   shape gives an error, never a panic.
//! - A dynamic image (`PT_INTERP`): [`ElfImage::interp_path`] reads the
//!   interpreter's path (`ENOEXEC`, `EIO`), the kernel opens it like the
//!   program (`ENOENT`, `EACCES`), [`ElfImage::parse_interp`] checks it
//!   with Linux's errors (`EIO`, `ELIBBAD`), and
//!   [`ElfImage::load_with_interp`] maps the program (a PIE at
//!   [`ELF_ET_DYN_BASE`]), then the interpreter where mmap puts it, and
//!   starts at the interpreter's entry with `AT_BASE` and `AT_ENTRY` set.
//! - [`ElfImage::load`] (or [`load_elf`], both steps) builds the image in a
//!   fresh `Vmar`: each `PT_LOAD` becomes private anonymous memory over its
//!   pages, mapped writable, filled with the file bytes through
//!   [`Vmar::write_user`](vm::Vmar::write_user) (the bss and the rest of the
//!   pages stay zero), then given the segment's permissions with `mprotect`
//!   (a page shared by two segments gets both). A static PIE goes where
//!   mmap would put it, as on Linux 6.1, or at a chosen base
//!   ([`Layout::pie`]). The break starts just past the highest segment.
//!   Mappings are named as `/proc/self/maps` shows them: the path,
//!   `[heap]`, `[stack]`.
//! - The stack is laid out exactly as `create_elf_tables()` does below
//!   [`Layout::stack_top`] (a zero word, `AT_EXECFN`'s string, the
//!   environment and argument strings, 16-byte alignment, the platform
//!   string, the 16 `AT_RANDOM` bytes, then argc, argv, envp and the
//!   auxiliary vector from a 16-byte aligned stack pointer), after checking
//!   the strings against execve's limits ([`ArgBudget`], [`check_args`]:
//!   `E2BIG`).
//! - The result, [`LoadedImage`], holds the entry point and the stack
//!   pointer (the kernel builds the user context from them), the break, and
//!   what `/proc/self/*` shows (code and data bounds, argument and
//!   environment ranges, the auxiliary vector).
//!
//! # For the kernel's execve
//!
//! 1. Resolve and open the path (`ENOENT`, `EACCES`); read argv and envp
//!    from user memory, counting them with an [`ArgBudget`] (`E2BIG`,
//!    `EFAULT`).
//! 2. For depth 0, 1, ...: [`check_exec_depth`]; [`read_head`]; if
//!    [`parse_shebang`] gives a script, replace argv with
//!    [`Shebang::argv`] and the file with the interpreter, and repeat.
//! 3. [`ElfImage::parse`] (`ENOEXEC`); for a dynamic image, the
//!    interpreter as above; `vmar.fresh()`; [`ElfImage::load_with_interp`]
//!    into it; on success, the point of no return: kill the other threads,
//!    swap the address space, close close-on-exec files, reset handlers,
//!    and return to user mode at [`LoadedImage::entry`] with
//!    [`LoadedImage::stack_pointer`] (other registers zero).
//!
//! # Example
//!
//! ```
//! use elf_loader::testing::{ElfBuilder, PF_R, PF_W, PF_X};
//! use elf_loader::{ExecParams, load_elf};
//! use vm::testing::{TestFrames, test_vmar};
//!
//! // A static executable: code at 0x401000, data + bss at 0x402000.
//! let elf = ElfBuilder::exec(0x401000)
//!     .headers_segment(0x400000, PF_R)
//!     .load(0x401000, PF_R | PF_X, &[0x90, 0xc3], 2)
//!     .load(0x402000, PF_R | PF_W, b"data", 0x3000)
//!     .build();
//!
//! let frames = TestFrames::new();
//! let mut vmar = test_vmar(&frames);
//! let argv: [&[u8]; 2] = [b"prog", b"arg"];
//! let envp: [&[u8]; 1] = [b"HOME=/"];
//! let params = ExecParams::new(b"/bin/prog", &argv, &envp, [7; 16]);
//! let image = load_elf(&mut vmar, &elf[..], &params).unwrap();
//!
//! assert_eq!(image.entry, 0x401000);
//! assert_eq!(image.brk_base, 0x405000);
//! assert_eq!(image.stack_pointer % 16, 0);
//! assert_eq!(vmar.read_val::<u64>(image.stack_pointer).unwrap(), 2); // argc
//! let argv1 = vmar.read_val::<u64>(image.stack_pointer + 16).unwrap() as usize;
//! assert_eq!(vmar.read_cstr(argv1, 4096).unwrap(), b"arg");
//! let maps: Vec<String> = vmar.mappings().map(|m| m.to_string()).collect();
//! assert!(maps[1].starts_with("00401000-00402000 r-xp") && maps[1].ends_with("/bin/prog"));
//! assert!(maps.last().unwrap().ends_with("[stack]"));
//!
//! drop(vmar);
//! assert_eq!(frames.allocated(), 0);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod file;
mod load;
mod parse;
mod script;
mod stack;
#[cfg(feature = "testing")]
pub mod testing;
pub mod vdso;

pub use file::{ExecFile, read_head};
pub use load::{
    Credentials, DEFAULT_STACK_SIZE, DEFAULT_STACK_TOP, ELF_ET_DYN_BASE, ExecParams, Interp, Layout,
    LoadedImage, PiePlacement, load_elf,
};
pub use parse::{
    EHDR_SIZE, ElfImage, ImageKind, MAX_INTERP_BYTES, MAX_PHDR_BYTES, Machine, PHDR_SIZE, PT_GNU_STACK,
    Segment, TASK_SIZE,
};
pub use script::{BINPRM_BUF_SIZE, MAX_EXEC_DEPTH, Shebang, check_exec_depth, parse_shebang};
pub use stack::*;

// The README's example runs as a doctest too (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
