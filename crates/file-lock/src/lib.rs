//! File locks with Linux's semantics: POSIX record locks and open file
//! description (OFD) locks of fcntl(2), and flock(2).
//!
//! # The model
//!
//! Each file (inode) with locks has a [`LockTable`] of byte-range locks
//! and a [`FlockTable`] of whole-file locks; the two never conflict with
//! each other, as on Linux. Both are generic over the owner type `O`:
//!
//! - a POSIX lock (`F_SETLK`, `F_SETLKW`) belongs to the process, so every
//!   descriptor of the file in that process reaches it, and any close of
//!   the file by the process drops all of them;
//! - an OFD lock (`F_OFD_SETLK`, `F_OFD_SETLKW`) and a flock(2) lock
//!   belong to the open file description: shared by dup(2) and fork(2),
//!   dropped when its last reference goes.
//!
//! POSIX and OFD locks live in the same [`LockTable`] and conflict with
//! each other (an owner type with two variants serves both). A lock
//! covers `[start, end]` ([`Range`], `end` = [`OFF_MAX`] for `l_len` 0);
//! [`Range::from_flock`] turns struct flock's `l_whence`/`l_start`/`l_len`
//! into one with Linux's `EINVAL`/`EOVERFLOW`. [`LockTable::set`] splits
//! and merges an owner's ranges as Linux's `posix_lock_inode` (upgrade,
//! downgrade, unlock of a middle part), [`LockTable::test`] is `F_GETLK`'s
//! first conflicting lock (with the pid to report, -1 for OFD locks),
//! [`FlockTable::lock`] has flock's conversions (the old lock is dropped
//! before the new one is looked at, as Linux).
//!
//! A [`LeaseTable`] holds fcntl's leases (`F_SETLEASE`): the rules of
//! setting one against the file's opens, and the state of a break.
//!
//! A [`DnotifyTable`] holds a directory's `F_NOTIFY` watches.
//!
//! Nothing here sleeps: a request that conflicts returns the blocker
//! ([`SetError::Blocked`], [`FlockBlocked`]); the kernel sleeps and tries
//! again when the table changes. For POSIX `F_SETLKW` it first asks its
//! [`WaitGraph`] (Linux's `blocked_hash`, a value the kernel owns, not a
//! global) whether the wait would close a cycle of owners (`EDEADLK`).
//!
//! # Wiring it into a kernel
//!
//! 1. Keep one `LockTable` + `FlockTable` per inode that has locks (a map
//!    keyed by the inode, entries removed when both are empty and nobody
//!    waits), and one `WaitGraph`, all under one lock.
//! 2. fcntl: read struct flock, [`Range::from_flock`] with the file offset
//!    and size, check the access mode (`F_RDLCK` needs the file open for
//!    reading, `F_WRLCK` for writing, else `EBADF`), then `test` or `set`.
//!    `F_SETLK` maps [`SetError::errno`]; `F_SETLKW` records the wait in the
//!    `WaitGraph` (POSIX owners only, after `would_deadlock` said no),
//!    sleeps interruptibly on the file's wait queue, removes the wait and
//!    tries again.
//! 3. Close paths: a close of any descriptor of the file by a process calls
//!    [`LockTable::release`] with the process's owner; the last reference
//!    to an open file description releases its OFD and flock locks. After
//!    every release or change, wake the file's sleepers.
//!
//! Lock order: the kernel's table lock is taken after the descriptor table
//! lock is released and is never held while sleeping, waking or dropping
//! a file.
//!
//! ```
//! use file_lock::{Kind, LockTable, Range, SetError, WaitGraph, OFF_MAX};
//!
//! let mut t: LockTable<u32> = LockTable::new();
//! let whole = Range::from_flock(file_lock::SEEK_SET, 0, 0, 0, 0).unwrap();
//! assert_eq!((whole.start, whole.end), (0, OFF_MAX));
//! // process 1 write-locks bytes 0..=99, then unlocks 10..=19: two locks
//! t.set(&1, 1, Some(Kind::Write), Range::new(0, 99).unwrap()).unwrap();
//! t.set(&1, 1, None, Range::new(10, 19).unwrap()).unwrap();
//! assert_eq!(t.locks().len(), 2);
//! // process 2 may read-lock the hole, not byte 5
//! assert!(t.test(&2, Kind::Read, Range::new(10, 19).unwrap()).is_none());
//! let err = t.set(&2, 2, Some(Kind::Read), Range::new(5, 5).unwrap()).unwrap_err();
//! let SetError::Blocked(b) = err else { panic!() };
//! assert_eq!((b.pid, b.range), (1, Range::new(0, 9).unwrap()));
//!
//! // 2 waits for 1; if 1 now waited for 2, that would be a deadlock
//! let mut g = WaitGraph::new();
//! g.insert(2, 1).unwrap();
//! assert!(g.would_deadlock(&1, &2));
//! g.remove(&2, &1);
//! assert!(!g.would_deadlock(&1, &2));
//!
//! // any close of the file by process 1 drops its locks
//! assert!(t.release(&1));
//! assert!(t.is_empty());
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod deadlock;
mod dnotify;
mod flock;
mod lease;
mod posix;
mod range;

pub use deadlock::{MAX_DEADLK_ITERATIONS, WaitGraph};
pub use dnotify::{
    DN_ACCESS, DN_ATTRIB, DN_CREATE, DN_DELETE, DN_MODIFY, DN_MULTISHOT, DN_RENAME, DnotifyTable, Watch,
};
pub use flock::{FlockBlocked, FlockTable, Flocked};
pub use lease::{Break, Lease, LeaseTable, Opens};
pub use posix::{Kind, Lock, LockTable, SetError};
pub use range::{OFF_MAX, Range, SEEK_CUR, SEEK_END, SEEK_SET};

/// struct flock's `l_type`: a read lock.
pub const F_RDLCK: i16 = 0;
/// struct flock's `l_type`: a write lock.
pub const F_WRLCK: i16 = 1;
/// struct flock's `l_type`: unlock (and F_GETLK's "no conflict").
pub const F_UNLCK: i16 = 2;

/// flock(2): a shared lock.
pub const LOCK_SH: u32 = 1;
/// flock(2): an exclusive lock.
pub const LOCK_EX: u32 = 2;
/// flock(2): fail with `EWOULDBLOCK` instead of sleeping.
pub const LOCK_NB: u32 = 4;
/// flock(2): unlock.
pub const LOCK_UN: u32 = 8;
/// flock(2): the old "mandatory" bit, which Linux 6.1 accepts and ignores
/// (the call returns 0 and does nothing, before it even looks at the fd).
pub const LOCK_MAND: u32 = 32;

/// struct flock's `l_type` as a lock kind (`None` for `F_UNLCK`), `EINVAL`
/// for anything else.
pub fn kind_of(l_type: i16) -> linux_abi::Result<Option<Kind>> {
    match l_type {
        F_RDLCK => Ok(Some(Kind::Read)),
        F_WRLCK => Ok(Some(Kind::Write)),
        F_UNLCK => Ok(None),
        _ => Err(linux_abi::Errno::EINVAL),
    }
}

/// The `l_type` of a lock kind.
pub fn l_type(kind: Kind) -> i16 {
    match kind {
        Kind::Read => F_RDLCK,
        Kind::Write => F_WRLCK,
    }
}

/// flock(2)'s operation: `Some(kind)` or `None` (unlock), and LOCK_NB.
/// `EINVAL` as Linux for anything but one of LOCK_SH, LOCK_EX, LOCK_UN
/// (the caller handles [`LOCK_MAND`] first), with LOCK_NB or not.
pub fn flock_op(op: u32) -> linux_abi::Result<(Option<Kind>, bool)> {
    let nb = op & LOCK_NB != 0;
    match op & !LOCK_NB {
        LOCK_SH => Ok((Some(Kind::Read), nb)),
        LOCK_EX => Ok((Some(Kind::Write), nb)),
        LOCK_UN => Ok((None, nb)),
        _ => Err(linux_abi::Errno::EINVAL),
    }
}

#[cfg(test)]
mod tests;

// The README's example runs as a doctest too (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
