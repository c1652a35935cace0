//! `process`'s fd table and fs context without `fs-table` (process is
//! built without its default features): the toy's own, each an `Arc` of a
//! lock that `CLONE_FILES`/`CLONE_FS` share and fork copies.

use std::sync::{Arc, Mutex};

use linux_abi::Result;
use process::seams::{FdTable, FsContext};

/// An fd's slot: a file name and its close-on-exec flag, or free.
pub type Slot = Option<(String, bool)>;

/// The toy's fd table.
#[derive(Clone, Default)]
pub struct ToyFiles(pub Arc<Mutex<Vec<Slot>>>);

impl FdTable for ToyFiles {
    type Closed = Vec<String>;
    fn share(&self) -> Self {
        self.clone()
    }
    fn fork(&self) -> Result<Self> {
        Ok(Self(Arc::new(Mutex::new(self.0.lock().unwrap().clone()))))
    }
    fn is_shared(&self) -> bool {
        Arc::strong_count(&self.0) > 1
    }
    fn exec(&mut self) -> Result<Vec<String>> {
        if self.is_shared() {
            *self = self.fork()?;
        }
        let mut fds = self.0.lock().unwrap();
        let cloexec = fds.iter_mut().filter(|e| e.as_ref().is_some_and(|e| e.1));
        Ok(cloexec.filter_map(|e| e.take().map(|e| e.0)).collect())
    }
}

/// The toy's fs context: the cwd.
#[derive(Clone, Default)]
pub struct ToyFs(pub Arc<Mutex<String>>);

impl FsContext for ToyFs {
    fn share(&self) -> Self {
        self.clone()
    }
    fn fork(&self) -> Result<Self> {
        Ok(Self(Arc::new(Mutex::new(self.0.lock().unwrap().clone()))))
    }
    fn is_shared(&self) -> bool {
        Arc::strong_count(&self.0) > 1
    }
}
