//! A toy kernel that uses the component crates the way another kernel
//! would: its own registers, scheduler, address space, fd table, fs
//! context and signal state for `process` (built without `vm`, `fs-table`
//! and `signal`), and for `vm` its own page table (an ordered map)
//! and frame allocator (bump and free, with reference counts). Each module
//! is the glue one crate needs; `tests/run.rs` forks, takes a copy-on-write
//! fault (in the toy's space and in a `vm::Vmar`), clones a thread,
//! delivers a signal and waits.
//!
//! Glue lines (code lines, no comments or blank lines) are counted by
//! `tests/run.rs::glue_lines` (which fails over the budgets of issue 22:
//! process 100, vm 60, signal 30; and 40 for the fd table and fs context,
//! 120 for the signal state)
//! and written in each crate's README and in README.md.

pub mod files_glue;
pub mod process_glue;
#[cfg(feature = "signal")]
pub mod signal_glue;
pub mod sigstate_glue;
pub mod vm_glue;
