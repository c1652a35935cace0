//! `ETXTBSY`: Linux's `i_writecount` (get_write_access /
//! deny_write_access). A regular file open for writing counts up; a
//! running program's executable (held by exec for as long as the
//! process's memory runs it, [`WriteDenied`]) counts down. Each side is
//! refused while the other holds the count: open for writing and
//! truncate(2) of a running program, and execve(2) of a file open for
//! writing, fail with `ETXTBSY`.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use linux_abi::{Errno, Result};

use crate::inode::Inode;

impl Inode {
    /// get_write_access: one more writer, `ETXTBSY` while a program runs
    /// from this file.
    pub fn get_write_access(&self) -> Result<()> {
        self.write_count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| (c >= 0).then_some(c + 1))
            .map(drop)
            .map_err(|_| Errno::ETXTBSY)
    }

    /// put_write_access: a writer from [`Inode::get_write_access`] (or a
    /// file the kernel made open for writing) goes.
    pub fn put_write_access(&self) {
        self.write_count.fetch_sub(1, Ordering::AcqRel);
    }

    /// One more writer whatever the count (a file made open for writing
    /// by the kernel, not by open(2): memfd, shm, a reopen).
    pub(crate) fn add_writer(&self) {
        self.write_count.fetch_add(1, Ordering::AcqRel);
    }

    /// deny_write_access: `ETXTBSY` while the file is open for writing;
    /// otherwise writes are refused until the returned value (and every
    /// copy of it) is dropped.
    pub fn deny_write_access(self: &Arc<Self>) -> Result<WriteDenied> {
        self.write_count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| (c <= 0).then_some(c - 1))
            .map_err(|_| Errno::ETXTBSY)?;
        Ok(WriteDenied(Arc::clone(self)))
    }

    /// Whether a program runs from this file (writes are denied).
    pub fn write_denied(&self) -> bool {
        self.write_count.load(Ordering::Acquire) < 0
    }
}

/// A hold on an executable that refuses writers ([`Inode::deny_write_access`]):
/// exec keeps one per process for its program (Linux 6.1's `mm->exe_file`,
/// taken again by fork's `dup_mm_exe_file`, so a clone holds one more);
/// dropping it lets writers in again (allow_write_access).
#[derive(Debug)]
pub struct WriteDenied(Arc<Inode>);

impl WriteDenied {
    /// The file whose writes are denied.
    pub fn inode(&self) -> &Arc<Inode> {
        &self.0
    }
}

impl Clone for WriteDenied {
    fn clone(&self) -> Self {
        // the count is negative already (this hold): no writer can be
        // in, so the denial cannot fail
        self.0.write_count.fetch_sub(1, Ordering::AcqRel);
        WriteDenied(Arc::clone(&self.0))
    }
}

impl Drop for WriteDenied {
    fn drop(&mut self) {
        self.0.write_count.fetch_add(1, Ordering::AcqRel);
    }
}
