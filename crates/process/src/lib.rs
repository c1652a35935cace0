//! Processes and threads with Linux's semantics: pids, the clone family,
//! exit and wait, process groups and sessions, and exec's process half.
//!
//! # The model
//!
//! - A [`table::ProcessTable`] is a value the kernel creates (no global):
//!   the [`pid::PidAllocator`] (one number space for pids, tids, process
//!   groups and sessions; cyclic, `EAGAIN` at `pid_max`), the processes
//!   (thread groups) and the threads. A process holds its parent's pid (a
//!   weak link), its children, threads, group, session, address space
//!   (any [`seams::AddressSpace`]: `vm::Vmar` with the default feature
//!   `vm`, or the kernel's own type without it), signal handlers and process-wide pending signals (`signal`),
//!   state, exit status, [`cred::Credentials`] and [`rlimit::Rlimits`]. A
//!   thread holds its tid, mask and pending signals, clear-child-tid word,
//!   robust-list head, fd table and fs context (per task as in Linux: any
//!   [`seams::FdTable`] and [`seams::FsContext`], `fs-table`'s shared
//!   handles with the default feature `fs-table`) and its registers
//!   through [`seams::UserContext`].
//! - Each record has a slot for the kernel's own state (`ext`, of the
//!   types [`seams::Platform::ThreadExt`] and `ProcessExt`): made at clone
//!   from the creator's by [`seams::RecordExt::for_clone`], reset by exec,
//!   moved with a thread whose id exec changes, and dropped with the record
//!   (a thread's is handed to [`seams::Hooks::thread_exited`]), never under
//!   the table lock. The kernel keeps no map keyed by pid or tid.
//! - [`clone::CloneArgs`] come from fork, vfork, clone(2) and clone3(2);
//!   [`clone::validate`] applies `copy_process()`'s rules in Linux's order;
//!   [`table::ProcessTable::clone_task`] shares or copies each resource and
//!   leaves no trace when it fails.
//! - Exit, wait ([`wait`]'s requests, status words and siginfo),
//!   reparenting to a subreaper or init, orphaned process groups, kill and
//!   exec are table operations. What only the kernel can do (run, block,
//!   wake, make a pidfd) goes through [`seams::Hooks`], always called with
//!   no lock of this crate held.
//!
//! # For the kernel
//!
//! Implement [`seams::Platform`] (your register set, address space, fd
//! table and fs context) and [`seams::Hooks`]; make one table and
//! [`spawn_init`](table::ProcessTable::spawn_init). The syscall layer calls
//! the table (`clone_task`, `sys_clone3`, `exit_thread`, `exit_group`,
//! `sys_wait4`, `sys_waitid`, `kill`, `tgkill`, `setpgid`, `setsid`,
//! `exec`, `prlimit`, ...). Signal delivery stays in the kernel: when a
//! thread finds SIGKILL pending (see
//! [`threads_to_kill`](table::ProcessTable::threads_to_kill)) it calls
//! `exit_thread`; a completed group stop calls
//! [`stop`](table::ProcessTable::stop). `with_thread`/`with_process` run
//! their closure under the table lock: the closure must not call the table
//! (with [`seams::Platform::caller_id`] such a call is caught: a nested
//! `with_*` returns `None`, another call panics, instead of a hang).
//!
//! - `testing` (feature) gives a fake context, a platform over
//!   `vm::testing`'s software MMU and a fake scheduler that records hooks
//!   and plays scripted steps when a thread blocks.
//!
//! ```
//! use process::clone::CloneArgs;
//! use process::testing::{boot, FakeScheduler};
//!
//! let frames = vm::testing::TestFrames::new();
//! let table = boot(&frames); // init is pid 1
//! let sched = FakeScheduler::new();
//!
//! let child = table.clone_task(1, &CloneArgs::fork(), &sched)?;
//! assert_eq!(child, 2);
//! assert_eq!(table.getppid(child), Ok(1));
//!
//! table.exit_thread(child, 3, &sched);
//! // wait4(-1, &status, 0): the status word of exit(3).
//! assert_eq!(table.wait4(1, -1, 0, &sched)?.0, child);
//! assert_eq!(table.wait4(1, -1, 0, &sched), Err(linux_abi::Errno::ECHILD));
//! assert_eq!(table.pids(), [1]);
//! # drop(table);
//! # assert_eq!(frames.allocated(), 0);
//! # Ok::<(), linux_abi::Errno>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
// The host-test fakes use threads' ids (`testing` is for host tests only).
#[cfg(any(test, feature = "testing"))]
extern crate std;

pub mod clone;
pub mod cputime;
pub mod cred;
pub mod loadavg;
pub mod mlock;
pub mod ns;
pub mod pid;
pub mod proctext;
pub mod ptrace;
pub mod rlimit;
pub mod robust;
pub mod runq;
pub mod seams;
pub mod sigstate;
pub mod table;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod timens;
pub mod uaccess;
pub mod wait;

// The README's example runs as a doctest too (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
