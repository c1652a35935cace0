//! Software implementations of this crate's seams for host tests (ours and
//! other kernels'): a fake register set, a platform over `vm::testing`'s
//! software MMU, and a fake scheduler that records every hook call and runs
//! scripted steps whenever a thread would block.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::cell::RefCell;
use core::sync::atomic::{AtomicUsize, Ordering};

use linux_abi::{Errno, Result};

use crate::clone::CloneFlags;
use crate::cred::Credentials;
use crate::pid::Pid;
use crate::rlimit::Rlimits;
use crate::seams::{Hooks, Platform, RecordExt, SharedVm, UserContext};
use crate::table::{InitProcess, ProcessTable};
use crate::uaccess::UserMemory;

/// User memory over a byte vector from address `base`; an access outside
/// it is `EFAULT`.
#[derive(Debug)]
pub struct VecMemory {
    base: u64,
    /// The memory's bytes.
    pub bytes: RefCell<Vec<u8>>,
}

impl VecMemory {
    /// `bytes` at address `base`.
    pub fn new(base: u64, bytes: Vec<u8>) -> Self {
        VecMemory { base, bytes: RefCell::new(bytes) }
    }

    /// The offsets of `len` bytes at `addr`.
    fn range(&self, addr: u64, len: usize) -> Result<core::ops::Range<usize>> {
        let off =
            usize::try_from(addr.checked_sub(self.base).ok_or(Errno::EFAULT)?).map_err(|_| Errno::EFAULT)?;
        Ok(off..off.checked_add(len).ok_or(Errno::EFAULT)?)
    }
}

impl UserMemory for VecMemory {
    fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        let m = self.bytes.borrow();
        buf.copy_from_slice(m.get(self.range(addr, buf.len())?).ok_or(Errno::EFAULT)?);
        Ok(())
    }
    fn write_bytes(&self, addr: u64, data: &[u8]) -> Result<()> {
        let mut m = self.bytes.borrow_mut();
        m.get_mut(self.range(addr, data.len())?).ok_or(Errno::EFAULT)?.copy_from_slice(data);
        Ok(())
    }
}

/// A fake register set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeContext {
    /// The return register.
    pub ret: usize,
    /// The stack pointer.
    pub sp: usize,
    /// The TLS base.
    pub tls: usize,
    /// The instruction pointer.
    pub ip: usize,
    /// `try_clone` fails with ENOMEM (an arch whose copy needs memory).
    pub fail_clone: bool,
}

impl UserContext for FakeContext {
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
    fn try_clone(&self) -> Result<Self> {
        if self.fail_clone { Err(Errno::ENOMEM) } else { Ok(self.clone()) }
    }
}

/// The host-test platform: fake registers, `vm::testing`'s MMU, files
/// that are names, directories that are paths.
#[derive(Debug)]
pub struct TestPlatform;

impl Platform for TestPlatform {
    type Context = FakeContext;
    type Vm = vm::Vmar<vm::testing::SoftPageTable, vm::testing::TestFrames>;
    type Files = fs_table::SharedFileTable<str, spin::Mutex<()>>;
    type Fs = fs_table::SharedFsContext<String, spin::Mutex<()>>;
    type Signals = crate::sigstate::SignalTypes;
    type Lock = spin::Mutex<()>;
    type ThreadExt = TestExt;
    type ProcessExt = TestExt;

    /// The host thread's id: a closure that calls the table is caught.
    fn caller_id() -> usize {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        std::thread_local!(static ID: usize = NEXT.fetch_add(1, Ordering::Relaxed));
        ID.with(|id| *id)
    }
}

/// What every [`TestExt`] made from one init value shares: how many were
/// dropped, and how many of those drops happened while the table lock was
/// held (which must never happen).
#[derive(Debug, Default)]
pub struct ExtLog {
    drops: AtomicUsize,
    drops_locked: AtomicUsize,
    table: spin::Mutex<Option<Weak<ProcessTable<TestPlatform>>>>,
}

impl ExtLog {
    /// Values dropped so far.
    pub fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }
    /// Values dropped while the table lock was held.
    pub fn drops_locked(&self) -> usize {
        self.drops_locked.load(Ordering::SeqCst)
    }
    /// Watch `table`'s lock at each drop.
    pub fn watch(&self, table: &Arc<ProcessTable<TestPlatform>>) {
        *self.table.lock() = Some(Arc::downgrade(table));
    }
}

/// The test platform's thread and process slot: records how it was made.
#[derive(Debug, Default)]
pub struct TestExt {
    /// A value a test sets; [`RecordExt::for_clone`] copies it.
    pub tag: u32,
    /// The clone flags it was made with (`None`: a `Default`, e.g. init's).
    pub made_by: Option<CloneFlags>,
    /// How many execs it went through.
    pub execs: u32,
    /// Make [`RecordExt::for_clone`] from this value fail with this.
    pub fail_clone: Option<Errno>,
    /// Shared with the values made from this one (set by a test on init's).
    pub log: Option<Arc<ExtLog>>,
}

impl RecordExt for TestExt {
    fn for_clone(&self, flags: CloneFlags) -> Result<Self> {
        if let Some(e) = self.fail_clone {
            return Err(e);
        }
        Ok(TestExt { tag: self.tag, made_by: Some(flags), execs: 0, fail_clone: None, log: self.log.clone() })
    }
    fn exec(&mut self) {
        self.execs += 1;
    }
}

impl Drop for TestExt {
    fn drop(&mut self) {
        let Some(log) = &self.log else { return };
        log.drops.fetch_add(1, Ordering::SeqCst);
        let table = log.table.lock().as_ref().and_then(Weak::upgrade);
        if table.is_some_and(|t| t.is_locked()) {
            log.drops_locked.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// A hook call, as the fake scheduler saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// [`Hooks::thread_created`].
    Created(Pid),
    /// [`Hooks::thread_exited`].
    Exited(Pid),
    /// [`Hooks::thread_renamed`].
    Renamed(Pid, Pid),
    /// [`Hooks::signal_wakeup`].
    Wakeup(Pid),
    /// [`Hooks::wait_vfork_done`] began.
    VforkWait(Pid, Pid),
    /// [`Hooks::wait_vfork_done`] returned.
    VforkResumed(Pid, Pid),
    /// [`Hooks::vfork_done`].
    VforkDone(Pid, Pid),
    /// [`Hooks::wait_for_child`].
    WaitBlocked(Pid),
    /// [`Hooks::child_event`].
    ChildEvent(Pid),
    /// [`Hooks::futex_wake`] with the address.
    FutexWake(u64),
    /// [`Hooks::create_pidfd`] for the child, giving the fd.
    PidfdCreated(Pid, i32),
    /// [`Hooks::destroy_pidfd`].
    PidfdDestroyed(i32),
}

/// A step the fake scheduler runs when a thread blocks.
pub type Step = Box<dyn FnOnce(&FakeScheduler)>;

/// A scheduler that runs nothing by itself: it records hook calls and,
/// when a thread would block (vfork, wait), runs the next scripted step
/// (which plays another thread's part). With no step left, a wait is
/// interrupted (`ERESTARTSYS`).
#[derive(Default)]
pub struct FakeScheduler {
    events: spin::Mutex<Vec<Event>>,
    steps: spin::Mutex<VecDeque<Step>>,
    vfork_pending: spin::Mutex<Vec<(Pid, Pid)>>,
    /// The fd numbers [`Hooks::create_pidfd`] hands out (next one).
    next_pidfd: spin::Mutex<i32>,
    /// Make [`Hooks::create_pidfd`] fail with this.
    pub pidfd_error: spin::Mutex<Option<Errno>>,
    /// pidfds handed out: fd → (owner, pid).
    pidfds: spin::Mutex<Vec<(i32, Pid, Pid)>>,
    /// Make every pidfd `O_NONBLOCK` ([`Hooks::pidfd_pid`]).
    pub pidfd_nonblock: spin::Mutex<bool>,
    /// The table, to see whether a child event already happened.
    table: spin::Mutex<Option<Weak<ProcessTable<TestPlatform>>>>,
    /// The pids [`Hooks::signal_queued`] was called with (apart from the
    /// events, whose exact sequences the scenarios check).
    queued: spin::Mutex<Vec<Pid>>,
    /// What [`Hooks::thread_exited`] was given: the tid and its slot's
    /// tag and clone flags.
    exited_ext: spin::Mutex<Vec<(Pid, u32, Option<CloneFlags>)>>,
}

impl FakeScheduler {
    /// A scheduler with no steps; pidfds start at 100.
    pub fn new() -> Self {
        let s = FakeScheduler::default();
        *s.next_pidfd.lock() = 100;
        s
    }

    /// Lets [`Hooks::wait_for_child`] look at the table: when the waiter's
    /// process has had a child event since `seen`, it returns at once
    /// without running a step (as a real wait queue would).
    pub fn attach(&self, table: &Arc<ProcessTable<TestPlatform>>) {
        *self.table.lock() = Some(Arc::downgrade(table));
    }

    /// Adds a step to run the next time a thread blocks.
    pub fn then(&self, step: impl FnOnce(&FakeScheduler) + 'static) {
        self.steps.lock().push_back(Box::new(step));
    }

    /// The hook calls so far (and forgets them).
    pub fn take_events(&self) -> Vec<Event> {
        core::mem::take(&mut *self.events.lock())
    }

    /// The hook calls so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().clone()
    }

    /// The pids [`Hooks::signal_queued`] named since the last call.
    pub fn take_queued(&self) -> Vec<Pid> {
        core::mem::take(&mut *self.queued.lock())
    }

    /// The threads [`Hooks::thread_exited`] was given since the last call,
    /// with their slot's tag and the flags it was made with.
    pub fn take_exited_ext(&self) -> Vec<(Pid, u32, Option<CloneFlags>)> {
        core::mem::take(&mut *self.exited_ext.lock())
    }

    /// Steps not run yet.
    pub fn steps_left(&self) -> usize {
        self.steps.lock().len()
    }

    fn log(&self, e: Event) {
        self.events.lock().push(e);
    }

    fn run_step(&self) -> bool {
        let step = self.steps.lock().pop_front();
        match step {
            Some(step) => {
                step(self);
                true
            }
            None => false,
        }
    }
}

impl Hooks<TestPlatform> for FakeScheduler {
    fn thread_created(&self, tid: Pid) {
        self.log(Event::Created(tid));
    }
    fn thread_exited(&self, tid: Pid, ext: TestExt) {
        self.exited_ext.lock().push((tid, ext.tag, ext.made_by));
        self.log(Event::Exited(tid));
    }
    fn thread_renamed(&self, old_tid: Pid, new_tid: Pid) {
        self.log(Event::Renamed(old_tid, new_tid));
    }
    fn signal_wakeup(&self, tid: Pid) {
        self.log(Event::Wakeup(tid));
    }
    fn signal_queued(&self, pid: Pid) {
        self.queued.lock().push(pid);
    }
    fn wait_vfork_done(&self, parent: Pid, child: Pid) {
        self.log(Event::VforkWait(parent, child));
        self.vfork_pending.lock().push((parent, child));
        while self.vfork_pending.lock().contains(&(parent, child)) {
            if !self.run_step() {
                // Nothing else can run: give up waiting (a real kernel
                // would sleep; a test sees the missing VforkDone).
                self.vfork_pending.lock().retain(|&x| x != (parent, child));
                break;
            }
        }
        self.log(Event::VforkResumed(parent, child));
    }
    fn vfork_done(&self, parent: Pid, child: Pid) {
        self.vfork_pending.lock().retain(|&x| x != (parent, child));
        self.log(Event::VforkDone(parent, child));
    }
    fn wait_for_child(&self, waiter: Pid, seen: u64) -> Result<()> {
        let table = self.table.lock().as_ref().and_then(Weak::upgrade);
        if let Some(t) = table {
            let now = t.tgid(waiter).and_then(|p| t.with_process(p, |x| x.child_events()));
            if now.is_some_and(|n| n != seen) {
                return Ok(());
            }
        }
        self.log(Event::WaitBlocked(waiter));
        if self.run_step() { Ok(()) } else { Err(Errno::ERESTARTSYS) }
    }
    fn child_event(&self, parent: Pid) {
        self.log(Event::ChildEvent(parent));
    }
    fn futex_wake(&self, _vm: &SharedVm<TestPlatform>, addr: u64, _count: u32) {
        self.log(Event::FutexWake(addr));
    }
    fn create_pidfd(&self, parent: Pid, child: Pid) -> Result<i32> {
        if let Some(e) = *self.pidfd_error.lock() {
            return Err(e);
        }
        let mut n = self.next_pidfd.lock();
        let fd = *n;
        *n += 1;
        self.pidfds.lock().push((fd, parent, child));
        self.log(Event::PidfdCreated(child, fd));
        Ok(fd)
    }
    fn destroy_pidfd(&self, _parent: Pid, fd: i32) {
        self.pidfds.lock().retain(|&(f, _, _)| f != fd);
        self.log(Event::PidfdDestroyed(fd));
    }
    fn pidfd_pid(&self, caller: Pid, fd: i32) -> Result<(Pid, bool)> {
        self.pidfds
            .lock()
            .iter()
            .find(|&&(f, owner, _)| f == fd && owner == caller)
            .map(|&(_, _, pid)| (pid, *self.pidfd_nonblock.lock()))
            .ok_or(Errno::EBADF)
    }
}

/// Where [`boot`] maps init's 16 KiB of read-write memory.
pub const USER_BASE: usize = 0x10_0000;

/// A table with init (pid 1, root, cwd "/", fds 0-2) over `frames`.
/// Init's memory: 16 KiB read-write at [`USER_BASE`] (not yet touched).
pub fn boot(frames: &vm::testing::TestFrames) -> Arc<ProcessTable<TestPlatform>> {
    let table = Arc::new(ProcessTable::new(crate::pid::PID_MAX_DEFAULT));
    let init = init_process(frames);
    // An empty table always accepts init.
    let _ = table.spawn_init(init);
    table
}

/// Init's parts, as [`boot`] makes them.
pub fn init_process(frames: &vm::testing::TestFrames) -> InitProcess<TestPlatform> {
    let mut vm = vm::testing::test_vmar(frames);
    // MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, PROT_READ | PROT_WRITE.
    let _ = vm.mmap(USER_BASE, 0x4000, 3, 0x32, None, 0);
    let mut files = fs_table::FileTable::new();
    for name in ["stdin", "stdout", "stderr"] {
        let _ = files.insert(Arc::from(name), false, 1024);
    }
    InitProcess {
        context: FakeContext { ret: 0, sp: 0x7fff_0000, tls: 0, ip: 0x40_0000, fail_clone: false },
        vm,
        files: fs_table::SharedFileTable::with_lock(files),
        fs: fs_table::SharedFsContext::with_lock(fs_table::FsContext::new(
            String::from("/"),
            String::from("/"),
        )),
        creds: Credentials::root(),
        rlimits: Rlimits::init(4096, 4096),
    }
}
