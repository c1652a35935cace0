//! The bootable kernel: links the component crates over the x86_64 machine
//! layer. Today it boots, prints a banner with the boot time and a memory
//! summary, runs the in-kernel tests when asked (`ktest` on the command
//! line), and powers off.
//!
//! Command line (after `--` in `cargo xtask qemu`):
//! - `log=error|warn|info|debug|trace`: the log level (default `info`);
//! - `ktest` (and `ktest.start=N`): run the in-kernel tests from index N;
//! - `fault=page`: take a deliberate kernel page fault (shows the fault report);
//! - `halt`: stay up (halted, timer running) instead of powering off.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]
#![forbid(unsafe_code)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod blk;
#[cfg(target_os = "none")]
mod cgroup;
#[cfg(target_os = "none")]
mod console;
#[cfg(target_os = "none")]
mod devices;
#[cfg(target_os = "none")]
mod dnotify;
#[cfg(target_os = "none")]
mod eventfd;
#[cfg(target_os = "none")]
mod exec;
#[cfg(target_os = "none")]
mod fasync;
#[cfg(target_os = "none")]
mod filemap;
#[cfg(target_os = "none")]
mod fs;
#[cfg(target_os = "none")]
mod futex;
#[cfg(target_os = "none")]
mod inotify;
#[cfg(target_os = "none")]
mod itimer;
#[cfg(target_os = "none")]
mod kernel;
#[cfg(target_os = "none")]
mod kmsg;
#[cfg(target_os = "none")]
mod loadavg;
#[cfg(target_os = "none")]
mod lockorder;
#[cfg(target_os = "none")]
mod locks;
#[cfg(target_os = "none")]
mod net;
#[cfg(target_os = "none")]
mod nic;
#[cfg(target_os = "none")]
mod oom;
#[cfg(target_os = "none")]
mod pidfd;
#[cfg(target_os = "none")]
mod pipe;
#[cfg(target_os = "none")]
mod posix_timer;
#[cfg(target_os = "none")]
mod proc;
#[cfg(target_os = "none")]
mod procfs;
#[cfg(target_os = "none")]
mod ptrace;
#[cfg(target_os = "none")]
mod pty;
#[cfg(target_os = "none")]
mod rseq;
#[cfg(target_os = "none")]
mod sched;
#[cfg(target_os = "none")]
mod seccomp;
#[cfg(target_os = "none")]
mod signalfd;
#[cfg(target_os = "none")]
mod syscall;
#[cfg(target_os = "none")]
mod sysctl;
#[cfg(target_os = "none")]
mod sysfs;
#[cfg(target_os = "none")]
mod tests;
#[cfg(target_os = "none")]
mod time;
#[cfg(target_os = "none")]
mod timerfd;
#[cfg(target_os = "none")]
mod timerq;
#[cfg(target_os = "none")]
mod uthread;
#[cfg(target_os = "none")]
mod vdso;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("kernel-bin runs on x86_64-unknown-none: use `cargo xtask qemu`");
    std::process::exit(2);
}
