//! Software implementations of the seams for host tests: a [`NetEnv`]
//! whose files are plain reference-counted tokens (or sockets), a waker
//! that counts, and a [`Resolver`] over an in-memory set of paths.

use crate::socket::*;
use crate::unix::{Names, UnixEnv, UnixSocket};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use linux_abi::{Errno, Result};
use spin::Mutex;

/// A file of the fake kernel: a token or an AF_UNIX socket.
#[derive(Clone, Debug)]
pub enum FakeFile {
    /// Any other file (its `Arc` count is the reference count).
    Token(Arc<u32>),
    /// A socket file.
    Unix(Arc<UnixSocketFile>),
}

/// A socket's file: releases the socket when the last reference goes.
#[derive(Debug)]
pub struct UnixSocketFile(pub Arc<UnixSocket<FakeEnv>>);

impl Drop for UnixSocketFile {
    fn drop(&mut self) {
        Socket::release(&*self.0);
    }
}

/// A waker that counts its wake-ups.
#[derive(Clone, Debug, Default)]
pub struct CountingWaker(pub Arc<AtomicUsize>);

impl Waker for CountingWaker {
    fn wake(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// The fake kernel.
#[derive(Debug)]
pub struct FakeEnv;

static NAMES: Names<FakeEnv> = Names::new();

impl NetEnv for FakeEnv {
    type File = FakeFile;
    type Waker = CountingWaker;

    fn new_waker() -> Result<CountingWaker> {
        Ok(CountingWaker::default())
    }

    fn file_unix(f: &FakeFile) -> Option<Arc<UnixSocket<FakeEnv>>> {
        match f {
            FakeFile::Unix(u) => Some(u.0.clone()),
            FakeFile::Token(_) => None,
        }
    }

    fn file_refs(f: &FakeFile) -> usize {
        match f {
            FakeFile::Unix(u) => Arc::strong_count(u),
            FakeFile::Token(t) => Arc::strong_count(t),
        }
    }
}

impl FakeEnv {
    /// How many names are bound now.
    pub fn names_len() -> usize {
        NAMES.len()
    }
}

impl UnixEnv for FakeEnv {
    fn names() -> &'static Names<FakeEnv> {
        &NAMES
    }
}

/// A resolver over a set of paths: each bound path gets the next inode
/// number; paths in `no_write` refuse connect with `EACCES`.
#[derive(Debug, Default)]
pub struct FakeResolver {
    /// Path to inode number (a socket node).
    pub nodes: Mutex<BTreeMap<Vec<u8>, u64>>,
    /// Paths that exist but are not sockets.
    pub regular: Vec<Vec<u8>>,
    /// Paths the caller may not write.
    pub no_write: Vec<Vec<u8>>,
    /// The caller.
    pub who: Caller,
}

static NEXT_INO: AtomicUsize = AtomicUsize::new(1000);

impl Resolver for FakeResolver {
    fn caller(&self) -> Caller {
        self.who
    }

    fn bind_path(&mut self, path: &[u8]) -> Result<NodeId> {
        let mut n = self.nodes.lock();
        if n.contains_key(path) || self.regular.iter().any(|p| p == path) {
            return Err(Errno::EADDRINUSE);
        }
        let ino = NEXT_INO.fetch_add(1, Ordering::Relaxed) as u64;
        n.insert(path.to_vec(), ino);
        Ok(NodeId { dev: 1, ino })
    }

    fn lookup_path(&mut self, path: &[u8]) -> Result<NodeId> {
        if self.regular.iter().any(|p| p == path) {
            return Err(Errno::ECONNREFUSED);
        }
        let ino = *self.nodes.lock().get(path).ok_or(Errno::ENOENT)?;
        if self.no_write.iter().any(|p| p == path) {
            return Err(Errno::EACCES);
        }
        Ok(NodeId { dev: 1, ino })
    }

    fn unlink_path(&mut self, path: &[u8]) {
        self.nodes.lock().remove(path);
    }
}
