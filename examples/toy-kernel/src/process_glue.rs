//! `process`'s seams: registers, the platform's types, the toy's own
//! address space (no `vm`: process is built without its default features;
//! the fd table and fs context are `files_glue`'s) and a toy scheduler (a run queue; nothing blocks: a wait with no child
//! ready is EINTR).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use linux_abi::{Errno, Result};
use process::pid::Pid;
use process::seams::{AddressSpace, Hooks, Platform, RecordExt, UserContext};

use crate::files_glue::{ToyFiles, ToyFs};
use crate::sigstate_glue::ToySignals;

/// The toy's saved user registers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    /// Return value.
    pub ret: usize,
    /// Stack pointer.
    pub sp: usize,
    /// TLS base.
    pub tls: usize,
    /// Instruction pointer.
    pub ip: usize,
}

impl UserContext for Regs {
    fn set_return_value(&mut self, value: usize) {
        self.ret = value;
    }
    fn stack_pointer(&self) -> usize {
        self.sp
    }
    fn set_stack_pointer(&mut self, sp: usize) {
        self.sp = sp;
    }
    fn tls(&self) -> usize {
        self.tls
    }
    fn set_tls(&mut self, tls: usize) {
        self.tls = tls;
    }
    fn instruction_pointer(&self) -> usize {
        self.ip
    }
    fn set_instruction_pointer(&mut self, ip: usize) {
        self.ip = ip;
    }
}

/// The toy's page size.
pub const PAGE: usize = 4096;

/// The toy's address space: pages by address, shared by a fork until one
/// side writes (`Arc::make_mut` is the copy-on-write fault).
#[derive(Clone, Default)]
pub struct ToySpace(pub BTreeMap<usize, Arc<[u8; PAGE]>>);

impl ToySpace {
    /// Maps zeroed pages over `[start, start + len)`.
    pub fn map(&mut self, start: usize, len: usize) {
        (start..start + len).step_by(PAGE).for_each(|va| drop(self.0.insert(va, Arc::new([0; PAGE]))));
    }
}

impl AddressSpace for ToySpace {
    fn fork(&mut self) -> Result<Self> {
        Ok(self.clone())
    }
    fn read_user(&mut self, addr: usize, buf: &mut [u8]) -> Result<()> {
        for (a, b) in (addr..).zip(buf) {
            *b = self.0.get(&(a - a % PAGE)).ok_or(Errno::EFAULT)?[a % PAGE];
        }
        Ok(())
    }
    fn write_user(&mut self, addr: usize, data: &[u8]) -> Result<()> {
        for (a, b) in (addr..).zip(data) {
            Arc::make_mut(self.0.get_mut(&(a - a % PAGE)).ok_or(Errno::EFAULT)?)[a % PAGE] = *b;
        }
        Ok(())
    }
}

/// No per-record state of the toy's own.
#[derive(Default)]
pub struct NoExt;
impl RecordExt for NoExt {}

/// The toy's platform.
pub struct Toy;

impl Platform for Toy {
    type Context = Regs;
    type Vm = ToySpace;
    type Files = ToyFiles;
    type Fs = ToyFs;
    type Signals = ToySignals;
    type Lock = spin::Mutex<()>;
    type ThreadExt = NoExt;
    type ProcessExt = NoExt;
}

/// The toy scheduler: runnable threads in order, and who was woken.
#[derive(Default)]
pub struct Scheduler {
    /// Runnable threads.
    pub run_queue: Mutex<VecDeque<Pid>>,
    /// Threads a signal woke.
    pub woken: Mutex<Vec<Pid>>,
}

impl Hooks<Toy> for Scheduler {
    fn thread_created(&self, tid: Pid) {
        self.run_queue.lock().unwrap().push_back(tid);
    }
    fn thread_exited(&self, tid: Pid, _ext: NoExt) {
        self.run_queue.lock().unwrap().retain(|&t| t != tid);
    }
    fn signal_wakeup(&self, tid: Pid) {
        self.woken.lock().unwrap().push(tid);
    }
    fn wait_vfork_done(&self, _parent: Pid, _child: Pid) {}
    fn vfork_done(&self, _parent: Pid, _child: Pid) {}
    fn wait_for_child(&self, _waiter: Pid, _seen: u64) -> Result<()> {
        Err(Errno::EINTR)
    }
}
