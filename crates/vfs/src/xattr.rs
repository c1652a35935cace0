//! Extended attributes (xattrs) of ramfs inodes, with the rules of Linux
//! 6.1's tmpfs and fs/xattr.c.
//!
//! Linux 6.1's tmpfs stores `trusted.*` and `security.*` attributes (its
//! `shmem_xattr_handlers`); `user.*` arrived in tmpfs only with 6.6, so a
//! `user.*` name is refused with `EOPNOTSUPP` after the permission checks
//! of `xattr_permission()` (which refuse `user.*` on anything but regular
//! files and directories first: `EPERM` to write, `ENODATA` to read).
//! `trusted.*` wants `CAP_SYS_ADMIN` (root here): `EPERM` to write and
//! `ENODATA` to read without it, and listxattr(2) leaves those names out.
//! `system.*` (POSIX ACLs) reads as absent and cannot be set. A synthetic
//! filesystem (procfs) has no xattrs at all (`EOPNOTSUPP`).
//!
//! Every inode's names and values together are bounded by
//! [`XATTR_INODE_MAX`] (`ENOSPC` beyond), and each allocation is fallible.

use alloc::vec::Vec;

use linux_abi::{Errno, Result};

use crate::inode::Inode;
use crate::types::*;

/// `XATTR_CREATE`: fail with `EEXIST` when the attribute exists.
pub const XATTR_CREATE: u32 = 1;
/// `XATTR_REPLACE`: fail with `ENODATA` when the attribute is missing.
pub const XATTR_REPLACE: u32 = 2;
/// `XATTR_NAME_MAX`: the longest name, prefix included.
pub const XATTR_NAME_MAX: usize = 255;
/// `XATTR_SIZE_MAX`: the largest value.
pub const XATTR_SIZE_MAX: usize = 65536;
/// `XATTR_LIST_MAX`: the largest listxattr(2) answer.
pub const XATTR_LIST_MAX: usize = 65536;
/// The bound on one inode's names and values together (bytes).
pub const XATTR_INODE_MAX: usize = 128 * 1024;

/// The namespace of an attribute name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XattrNs {
    /// `user.`
    User,
    /// `trusted.`
    Trusted,
    /// `security.`
    Security,
    /// `system.`
    System,
    /// Anything else: no filesystem has a handler for it.
    Unknown,
}

impl XattrNs {
    /// The namespace of `name` and the length of its prefix.
    pub fn of(name: &[u8]) -> (Self, usize) {
        for (p, ns) in [
            (&b"user."[..], Self::User),
            (b"trusted.", Self::Trusted),
            (b"security.", Self::Security),
            (b"system.", Self::System),
        ] {
            if name.starts_with(p) {
                return (ns, p.len());
            }
        }
        (Self::Unknown, 0)
    }
}

/// Linux's `xattr_permission()` for a file of type `ftype`: what any
/// filesystem checks before its handler is looked up. `write` is true for
/// set and remove. (Root passes the mode-bit check; other callers need
/// read or write permission for `user.*`, which `permits` answers.)
pub fn xattr_permission(
    ftype: FileType,
    name: &[u8],
    write: bool,
    cred: &Cred,
    permits: impl FnOnce(u32) -> bool,
) -> Result<()> {
    let (ns, _) = XattrNs::of(name);
    match ns {
        XattrNs::Security | XattrNs::System => return Ok(()),
        XattrNs::Trusted => {
            if !cred.has_cap(CAP_SYS_ADMIN) {
                return Err(if write { Errno::EPERM } else { Errno::ENODATA });
            }
        }
        XattrNs::User => {
            if !matches!(ftype, FileType::Regular | FileType::Directory) {
                return Err(if write { Errno::EPERM } else { Errno::ENODATA });
            }
        }
        XattrNs::Unknown => {}
    }
    if permits(if write { W_OK } else { R_OK }) { Ok(()) } else { Err(Errno::EACCES) }
}

/// The attributes of one inode: (full name, value), newest first (Linux's
/// simple_xattr_set() adds a new attribute at the head of its list, and a
/// replaced value keeps its place), which is the order listxattr(2) gives.
#[derive(Default)]
pub(crate) struct Xattrs {
    list: Vec<(Vec<u8>, Vec<u8>)>,
    bytes: usize,
}

impl Xattrs {
    fn find(&self, name: &[u8]) -> Option<usize> {
        self.list.iter().position(|(n, _)| n == name)
    }
}

fn copy(data: &[u8]) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(data.len()).map_err(|_| Errno::ENOMEM)?;
    v.extend_from_slice(data);
    Ok(v)
}

/// What a handler of tmpfs accepts: `trusted.` and `security.` with a
/// non-empty rest (`EINVAL` for the bare prefix); `EOPNOTSUPP` for others.
fn tmpfs_handler(name: &[u8]) -> Result<XattrNs> {
    let (ns, plen) = XattrNs::of(name);
    match ns {
        XattrNs::Trusted | XattrNs::Security if name.len() == plen => Err(Errno::EINVAL),
        XattrNs::Trusted | XattrNs::Security => Ok(ns),
        _ => Err(Errno::EOPNOTSUPP),
    }
}

impl Inode {
    fn xattr_checks(&self, cred: &Cred, name: &[u8], write: bool) -> Result<()> {
        if name.is_empty() || name.len() > XATTR_NAME_MAX {
            return Err(Errno::ERANGE);
        }
        xattr_permission(self.file_type(), name, write, cred, |m| self.permits(cred, m))?;
        if self.is_synthetic() {
            return Err(Errno::EOPNOTSUPP);
        }
        Ok(())
    }

    /// setxattr(2) (after the syscall layer's checks of `flags` and the
    /// value size): creates or replaces `name` with `value`. `XATTR_CREATE`
    /// gives `EEXIST` for an existing name, `XATTR_REPLACE` `ENODATA` for
    /// a missing one; `ENOSPC` past [`XATTR_INODE_MAX`]; `EINVAL` for other
    /// flags. The change time moves.
    pub fn setxattr(&self, cred: &Cred, name: &[u8], value: &[u8], flags: u32) -> Result<()> {
        if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
            return Err(Errno::EINVAL);
        }
        if value.len() > XATTR_SIZE_MAX {
            return Err(Errno::E2BIG);
        }
        self.xattr_checks(cred, name, true)?;
        if XattrNs::of(name).0 == XattrNs::System {
            return Err(Errno::EOPNOTSUPP);
        }
        tmpfs_handler(name)?;
        let val = copy(value)?;
        let mut d = self.lock();
        let xs = &mut d.xattrs;
        let at = xs.find(name);
        match at {
            Some(_) if flags & XATTR_CREATE != 0 => return Err(Errno::EEXIST),
            None if flags & XATTR_REPLACE != 0 => return Err(Errno::ENODATA),
            _ => {}
        }
        let old = at.map_or(0, |i| name.len() + xs.list[i].1.len());
        let bytes = xs.bytes - old + name.len() + val.len();
        if bytes > XATTR_INODE_MAX {
            return Err(Errno::ENOSPC);
        }
        match at {
            Some(i) => xs.list[i].1 = val,
            None => {
                let key = copy(name)?;
                xs.list.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                xs.list.insert(0, (key, val));
            }
        }
        xs.bytes = bytes;
        d.ctime = self.sb.now();
        Ok(())
    }

    /// getxattr(2): the value's length, and the value copied into `buf`
    /// unless `buf` is empty (a size query). `ERANGE` when `buf` is too
    /// small, `ENODATA` for a missing name.
    pub fn getxattr(&self, cred: &Cred, name: &[u8], buf: &mut [u8]) -> Result<usize> {
        self.xattr_checks(cred, name, false)?;
        if XattrNs::of(name).0 == XattrNs::System {
            return Err(Errno::ENODATA);
        }
        tmpfs_handler(name)?;
        let d = self.lock();
        let i = d.xattrs.find(name).ok_or(Errno::ENODATA)?;
        let v = &d.xattrs.list[i].1;
        if !buf.is_empty() {
            if buf.len() < v.len() {
                return Err(Errno::ERANGE);
            }
            buf[..v.len()].copy_from_slice(v);
        }
        Ok(v.len())
    }

    /// listxattr(2): the NUL-terminated names into `buf` (or only their
    /// total length when `buf` is empty); `trusted.*` only for root.
    /// `ERANGE` when `buf` is too small. A synthetic inode has none.
    pub fn listxattr(&self, cred: &Cred, buf: &mut [u8]) -> Result<usize> {
        let d = self.lock();
        let mut at = 0usize;
        for (name, _) in &d.xattrs.list {
            if XattrNs::of(name).0 == XattrNs::Trusted && !cred.has_cap(CAP_SYS_ADMIN) {
                continue;
            }
            let len = name.len() + 1;
            if !buf.is_empty() {
                let dst = buf.get_mut(at..at + len).ok_or(Errno::ERANGE)?;
                dst[..name.len()].copy_from_slice(name);
                dst[name.len()] = 0;
            }
            at += len;
        }
        Ok(at)
    }

    /// removexattr(2): `ENODATA` for a missing name.
    pub fn removexattr(&self, cred: &Cred, name: &[u8]) -> Result<()> {
        self.xattr_checks(cred, name, true)?;
        if XattrNs::of(name).0 == XattrNs::System {
            return Err(Errno::ENODATA);
        }
        tmpfs_handler(name)?;
        let mut d = self.lock();
        let i = d.xattrs.find(name).ok_or(Errno::ENODATA)?;
        let (_, v) = d.xattrs.list.remove(i);
        d.xattrs.bytes -= name.len() + v.len();
        d.ctime = self.sb.now();
        Ok(())
    }
}
