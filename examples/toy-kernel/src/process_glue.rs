//! `process`'s seams: registers, the platform's types and a toy scheduler
//! (a run queue; nothing blocks: a wait with no child ready is EINTR).

use std::collections::VecDeque;
use std::sync::Mutex;

use linux_abi::{Errno, Result};
use process::pid::Pid;
use process::seams::{Hooks, Platform, RecordExt, UserContext};

use crate::vm_glue::{BumpFrames, HashPageTable};

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

/// No per-record state of the toy's own.
#[derive(Default)]
pub struct NoExt;
impl RecordExt for NoExt {}

/// The toy's platform.
pub struct Toy;

impl Platform for Toy {
    type Context = Regs;
    type PageTable = HashPageTable;
    type Frames = BumpFrames;
    type File = str;
    type Dir = String;
    type Lock = fs_table::DefaultLock;
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
