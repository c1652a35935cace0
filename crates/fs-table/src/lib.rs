//! The file-descriptor table and the filesystem context of a task, with
//! Linux's semantics.
//!
//! [`FileTable`] is Linux's `files_struct`: descriptor numbers, each with its
//! close-on-exec flag, referring to shared open files (`Arc<F>`, generic over
//! the kernel's file type). New descriptors are the lowest free ones, found
//! in O(log n) through a tree of 64-bit words, and bounded by the caller's
//! `RLIMIT_NOFILE`. It has the dup family, fcntl's `F_DUPFD`,
//! `F_DUPFD_CLOEXEC`, `F_GETFD` and `F_SETFD`, close_range(2) and the
//! close-on-exec sweep of execve(2), each failing with the errno Linux gives
//! ([`linux_abi::Errno`]). Whatever a call closes is returned, so that the
//! caller drops it after releasing its locks.
//!
//! [`FsContext`] is Linux's `fs_struct`: root, working directory and umask,
//! generic over the kernel's directory handle.
//!
//! [`SharedFileTable`] and [`SharedFsContext`] are the handles a task holds:
//! `share` for `CLONE_FILES` / `CLONE_FS`, `fork` for a copy, `unshare`.
//! Their lock is a type parameter, any [`lock_api::RawMutex`] (a kernel's
//! IRQ-safe lock), a spin lock ([`DefaultLock`]) by default.
//! [`FileTableCache`] is a thread's own reference to its table for its
//! system calls: no reference count touched per call, no owner for
//! `is_shared`, and `EBADF` once the table's last handle has gone.
//! [`FsContextCache`] is the same for the fs context (no owner, no
//! reference count per path call).
//!
//! ```
//! use std::sync::Arc;
//! use fs_table::{FileTable, SharedFileTable, FD_CLOEXEC, O_CLOEXEC};
//! use linux_abi::Errno;
//!
//! let nofile = 1024; // the caller's RLIMIT_NOFILE
//! let mut t: FileTable<str> = FileTable::new();
//! assert_eq!(t.insert(Arc::from("stdin"), false, nofile), Ok(0));
//! assert_eq!(t.insert(Arc::from("stdout"), false, nofile), Ok(1));
//! assert_eq!(t.dup(1, nofile), Ok(2));
//! assert_eq!(t.dupfd(0, 10, true, nofile), Ok(10)); // F_DUPFD_CLOEXEC
//! assert_eq!(t.fd_flags(10), Ok(FD_CLOEXEC));
//! assert_eq!(t.dup3(1, 1, O_CLOEXEC, nofile).unwrap_err(), Errno::EINVAL);
//! assert_eq!(t.close(7).unwrap_err(), Errno::EBADF);
//! assert_eq!(&*t.close(1).unwrap(), "stdout");
//! assert_eq!(t.insert(Arc::from("log"), false, nofile), Ok(1)); // lowest free
//!
//! // fork copies the table, CLONE_FILES shares it.
//! let parent = SharedFileTable::new(t);
//! let thread = parent.share();
//! let child = parent.fork().unwrap();
//! let closed = thread.close(2).unwrap(); // returned after the lock is released
//! drop(closed);
//! assert_eq!(parent.lock().get(2).unwrap_err(), Errno::EBADF);
//! assert_eq!(&*child.lock().get(2).unwrap(), "stdout");
//!
//! // execve closes the close-on-exec descriptors.
//! let gone = child.close_on_exec();
//! assert_eq!(gone.len(), 1);
//! let fds: Vec<u32> = child.lock().iter().map(|(fd, _)| fd).collect();
//! assert_eq!(fds, [0, 1, 2]);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod bitmap;
mod fs;
mod shared;
mod table;
#[cfg(test)]
mod tests;

/// The raw lock of the shared handles unless the kernel names its own (an
/// IRQ-safe lock, say): any [`lock_api::RawMutex`]; this one spins.
pub type DefaultLock = spin::Mutex<()>;

pub use lock_api;

pub use fs::{
    DEFAULT_UMASK, FsContext, FsContextCache, FsContextGuard, S_IRWXUGO, SharedFsContext, WeakFsContext,
};
pub use shared::{
    FORK_RETRIES, FORK_STEP_FDS, FileTableCache, FileTableGuard, SharedFileTable, WeakFileTable,
};
pub use table::{FileTable, Reserved, check_close_range};

/// The descriptor flag close-on-exec, for `F_GETFD` and `F_SETFD`.
pub const FD_CLOEXEC: u32 = 1;

/// The open(2) and dup3(2) flag that sets close-on-exec (x86_64 and the
/// generic Linux ABI value).
pub const O_CLOEXEC: u32 = 0o2_000_000;

/// close_range(2): unshare the descriptor table before closing.
pub const CLOSE_RANGE_UNSHARE: u32 = 1 << 1;

/// close_range(2): set close-on-exec on the range instead of closing it.
pub const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

/// The bound on descriptor numbers whatever `RLIMIT_NOFILE` says: Linux's
/// default `/proc/sys/fs/nr_open` (setrlimit(2) refuses `RLIMIT_NOFILE`
/// above it with `EPERM`).
pub const NR_OPEN: u32 = 1 << 20;

/// The default soft `RLIMIT_NOFILE` of the first process (Linux's
/// `INR_OPEN_CUR`).
pub const INR_OPEN_CUR: u64 = 1024;

/// The default hard `RLIMIT_NOFILE` of the first process (Linux's
/// `INR_OPEN_MAX`).
pub const INR_OPEN_MAX: u64 = 4096;

// The README's example runs as a doctest too (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
