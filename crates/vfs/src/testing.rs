//! Test doubles for kernels and host tests: a [`Backing`] store wrapper
//! that fails chosen calls with a chosen errno.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use linux_abi::{Errno, Result};
use spin::Mutex;

use crate::{BackSetAttr, BackStat, Backing, StatFs};

/// Which calls fail: the call's name (`"create"`, `"write"`, `"sync"`...)
/// and the errno it returns, shared with the test.
pub type Faults = Arc<Mutex<BTreeMap<&'static str, Errno>>>;

/// A store that passes every call to `inner` unless [`Faults`] names it;
/// it also counts the calls by name.
pub struct FailingBacking<B: Backing> {
    inner: B,
    faults: Faults,
    calls: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

impl<B: Backing> FailingBacking<B> {
    /// Wraps `inner`; returns the store, its faults and its call counts.
    #[allow(clippy::type_complexity)]
    pub fn new(inner: B) -> (Self, Faults, Arc<Mutex<BTreeMap<&'static str, u64>>>) {
        let faults: Faults = Arc::default();
        let calls: Arc<Mutex<BTreeMap<&'static str, u64>>> = Arc::default();
        (Self { inner, faults: faults.clone(), calls: calls.clone() }, faults, calls)
    }

    fn check(&self, name: &'static str) -> Result<()> {
        *self.calls.lock().entry(name).or_insert(0) += 1;
        match self.faults.lock().get(name) {
            Some(&e) => Err(e),
            None => Ok(()),
        }
    }
}

impl<B: Backing> Backing for FailingBacking<B> {
    fn root(&self) -> u64 {
        self.inner.root()
    }
    fn read_only(&self) -> bool {
        self.inner.read_only()
    }
    fn getattr(&mut self, ino: u64) -> Result<BackStat> {
        self.check("getattr")?;
        self.inner.getattr(ino)
    }
    fn readdir(&mut self, dir: u64) -> Result<Vec<(Vec<u8>, u64)>> {
        self.check("readdir")?;
        self.inner.readdir(dir)
    }
    fn create(&mut self, dir: u64, name: &[u8], mode: u32, uid: u32, gid: u32, rdev: u64) -> Result<u64> {
        self.check("create")?;
        self.inner.create(dir, name, mode, uid, gid, rdev)
    }
    fn mkdir(&mut self, dir: u64, name: &[u8], perm: u32, uid: u32, gid: u32) -> Result<u64> {
        self.check("mkdir")?;
        self.inner.mkdir(dir, name, perm, uid, gid)
    }
    fn symlink(&mut self, dir: u64, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<u64> {
        self.check("symlink")?;
        self.inner.symlink(dir, name, target, uid, gid)
    }
    fn link(&mut self, ino: u64, dir: u64, name: &[u8]) -> Result<()> {
        self.check("link")?;
        self.inner.link(ino, dir, name)
    }
    fn tmpfile(&mut self, dir: u64, mode: u32, uid: u32, gid: u32) -> Result<u64> {
        self.check("tmpfile")?;
        self.inner.tmpfile(dir, mode, uid, gid)
    }
    fn unlink(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        self.check("unlink")?;
        self.inner.unlink(dir, name)
    }
    fn rmdir(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        self.check("rmdir")?;
        self.inner.rmdir(dir, name)
    }
    fn rename(&mut self, odir: u64, oname: &[u8], ndir: u64, nname: &[u8]) -> Result<()> {
        self.check("rename")?;
        self.inner.rename(odir, oname, ndir, nname)
    }
    fn read(&mut self, ino: u64, off: u64, buf: &mut [u8]) -> Result<usize> {
        self.check("read")?;
        self.inner.read(ino, off, buf)
    }
    fn write(&mut self, ino: u64, off: u64, data: &[u8]) -> Result<usize> {
        self.check("write")?;
        self.inner.write(ino, off, data)
    }
    fn truncate(&mut self, ino: u64, size: u64) -> Result<()> {
        self.check("truncate")?;
        self.inner.truncate(ino, size)
    }
    fn readlink(&mut self, ino: u64) -> Result<Vec<u8>> {
        self.check("readlink")?;
        self.inner.readlink(ino)
    }
    fn setattr(&mut self, ino: u64, a: BackSetAttr) -> Result<()> {
        self.check("setattr")?;
        self.inner.setattr(ino, a)
    }
    fn statfs(&mut self) -> StatFs {
        self.inner.statfs()
    }
    fn sync(&mut self) -> Result<()> {
        self.check("sync")?;
        self.inner.sync()
    }
    fn pin(&mut self, ino: u64) {
        let _ = self.check("pin");
        self.inner.pin(ino)
    }
    fn release(&mut self, ino: u64) -> Result<()> {
        *self.calls.lock().entry("release").or_insert(0) += 1;
        self.inner.release(ino)
    }
    fn unmount(&mut self) -> Result<()> {
        self.check("unmount")?;
        self.inner.unmount()
    }
}
