//! The process model wired to this kernel: `process::Platform` (our
//! registers, page tables, frames, files and directories), the one process
//! table, and the hooks through which the table starts threads, blocks and
//! wakes them.

use crate::sched::{self, Task, WaitQueue};
use alloc::sync::Arc;
use arch_x86_64::mem::paging::AddressSpace;
use arch_x86_64::mem::vmimpl::KernelFrames;
use arch_x86_64::user::UserContext;
use core::sync::atomic::Ordering;
use linux_abi::{Errno, Result};
use process::pid::Pid;
use process::seams::{Platform, SharedVm};
use process::table::ProcessTable;
use spin::{Mutex, Once};

/// This kernel's plug-in types for the process model.
pub struct Kernel;

impl Platform for Kernel {
    type Context = UserContext;
    type Vm = vm::Vmar<AddressSpace, KernelFrames>;
    type Files = fs_table::SharedFileTable<dyn vfs::File, spin::Mutex<()>>;
    type Fs = fs_table::SharedFsContext<vfs::Path, spin::Mutex<()>>;
    type Signals = process::sigstate::SignalTypes;
    type Lock = arch_x86_64::spinlock::RawSpin<{ arch_x86_64::spinlock::PROCESS }>;
    type ThreadExt = ThreadExt;
    type ProcessExt = ProcessExt;

    fn caller_id() -> usize {
        arch_x86_64::context::current_id()
    }
}

/// This kernel's state of a thread, in its record of the process table
/// (made by clone, moved by exec's thread-id change, given back to
/// [`Hooks::thread_exited`]).
#[derive(Default)]
pub struct ThreadExt {
    /// The scheduler task that runs it (set by [`Hooks::thread_created`];
    /// a clone's is fresh).
    task: Option<Arc<Task>>,
    /// The kernel stack clone allocated for it, where the clone can still
    /// fail with ENOMEM; [`Hooks::thread_created`] runs its task on it.
    stack: Option<arch_x86_64::context::KernelStack>,
    /// Its task's room in the run queues, reserved with the stack.
    room: Option<sched::Reservation>,
    /// Its name (`comm`: prctl(PR_SET_NAME), exec, /proc), at most 15
    /// bytes; clone copies the creator's.
    comm: [u8; 15],
    comm_len: u8,
    /// How the tracer resumed an event stop taken inside fork/vfork/clone
    /// (`ptrace::event_from_hook`), applied to the registers when the
    /// call returns; a clone's is none.
    pub event_resume: Option<process::ptrace::Resume>,
    /// Its persona (personality(2)); clone copies it, exec keeps it.
    pub personality: u32,
    /// A `CLONE_PIDFD` child's pidfd token while this thread clones it
    /// (from the pidfd's making to the child's start: `crate::pidfd`).
    pub pidfd_pending: Option<(Pid, Arc<crate::pidfd::Token>)>,
    /// Its I/O priority (ioprio_set(2)): 0 (class NONE) until one is set;
    /// clone copies a set one (Linux's copy_io; CLONE_IO's sharing of
    /// one context between the two is not kept), exec keeps it. Nothing
    /// schedules I/O by it here.
    pub ioprio: u16,
    /// Its audit login identity (/proc/PID/loginuid and sessionid):
    /// clone copies it, exec keeps it.
    pub audit: crate::procfs::AuditIds,
    /// Its rseq(2) registration (the thread's own copy is in its
    /// `UThread`): a fork's child keeps it, a thread (`CLONE_VM`) starts
    /// without (Linux's `rseq_fork`), exec clears it.
    pub rseq: Option<linux_abi::rseq::Registration>,
    /// The process it is counted for in the cgroup hierarchy, once it
    /// entered (its clone, or its process's first clone: `crate::cgroup`);
    /// its exit gives the count back. A clone's is set by the clone.
    /// (A pid is never 0: `NonZeroU32` keeps the record's extension at
    /// 128 bytes, which moves copy inline rather than by a `memcpy` call:
    /// docs/bench.md, "Issue 24's last row".)
    cgroup_pid: Option<core::num::NonZeroU32>,
    /// Whether its cgroup freezes, cached with the generation the answer
    /// holds for (`crate::cgroup::freezing_cached`): generation << 1 |
    /// freezing. A clone's is none (looked up at its first look).
    pub freeze_cache: core::sync::atomic::AtomicU64,
    /// Its seccomp mode and filter chain (`crate::seccomp`): clone copies
    /// it (the chain shared by reference), exec keeps it, TSYNC writes
    /// it; the thread caches it in its `UThread`.
    pub seccomp: ::seccomp::State,
}

impl ThreadExt {
    /// The process whose cgroup counts this thread (`crate::cgroup`).
    pub fn cgroup_pid(&self) -> Option<Pid> {
        self.cgroup_pid.map(core::num::NonZeroU32::get)
    }

    /// Counts it in process `pid`'s cgroup (0: in none).
    pub fn set_cgroup_pid(&mut self, pid: Pid) {
        self.cgroup_pid = core::num::NonZeroU32::new(pid);
    }

    /// Takes the count back: the process it was counted in.
    pub fn take_cgroup_pid(&mut self) -> Option<Pid> {
        self.cgroup_pid.take().map(core::num::NonZeroU32::get)
    }
}

impl process::seams::RecordExt for ThreadExt {
    fn for_clone(&self, flags: process::clone::CloneFlags) -> Result<Self> {
        let stack = arch_x86_64::context::KernelStack::try_new().ok_or(Errno::ENOMEM)?;
        let room = sched::Reservation::try_new().ok_or(Errno::ENOMEM)?;
        Ok(ThreadExt {
            task: None,
            stack: Some(stack),
            room: Some(room),
            comm: self.comm,
            comm_len: self.comm_len,
            event_resume: None,
            pidfd_pending: None,
            personality: self.personality,
            ioprio: self.ioprio,
            audit: self.audit,
            rseq: if flags.contains(process::clone::CloneFlags::VM) { None } else { self.rseq },
            cgroup_pid: None,
            freeze_cache: core::sync::atomic::AtomicU64::new(0),
            seccomp: self.seccomp.clone(),
        })
    }

    fn exec(&mut self) {
        self.rseq = None;
    }
}

/// This kernel's state of a process, in its record of the process table
/// (made by clone when it makes a process, dropped when the zombie is
/// reaped).
#[derive(Default)]
pub struct ProcessExt {
    /// Its threads sleeping in wait4/waitid (made by the first; a child
    /// event of this process wakes only these).
    child_wq: Option<Arc<WaitQueue>>,
    /// What /proc shows of it that the table does not keep (exe, command
    /// line, start time): a fork copies it, exec replaces it.
    pub info: crate::procfs::Info,
    /// Its interval timers (a fork's are disarmed; exec keeps them).
    pub timers: crate::itimer::Timers,
    /// Its POSIX timers (a fork's child has none; exec and exit delete
    /// them).
    pub posix_timers: crate::posix_timer::Table,
    /// The queue of its signalfd readers and pollers (made by the first).
    pub signalfd_wq: Option<Arc<WaitQueue>>,
    /// The identity its pidfds hold (made by the first; `crate::pidfd`).
    pub pidfd_token: Option<Arc<crate::pidfd::Token>>,
    /// Its leader's name when the leader exited (a zombie's /proc/PID/stat
    /// and status still name it, as Linux's task_struct outlives the exit).
    exit_comm: ([u8; 15], u8),
    /// Its AIO contexts (Linux keeps them with the address space: a fork's
    /// child has none, exec and the exit end them; `syscall::aio`).
    pub aio: aio::Table<Arc<crate::syscall::aio::Ctx>>,
    /// Its io_uring identity (Linux's `io_uring_task`: made by the first
    /// io_uring_enter, owns the requests it submits; a fork's child has
    /// none, exec and the exit end it and cancel its requests).
    pub uring: Option<Arc<crate::syscall::io_uring::Tctx>>,
    /// Its identity for mq_notify and the queues it registered on (a
    /// fork's child has new identities and none; exec gives a new program
    /// identity; `syscall::mqueue`).
    pub mq: crate::syscall::mqueue::ProcMq,
    /// Set once the process is counted in the cgroup hierarchy: dropped
    /// with the record when the zombie is reaped, it gives back the pids
    /// charge the zombie kept (`crate::cgroup::Reap`).
    pub cgroup_reap: Option<crate::cgroup::Reap>,
}

impl process::seams::RecordExt for ProcessExt {
    fn for_clone(&self, _flags: process::clone::CloneFlags) -> Result<Self> {
        Ok(ProcessExt { info: self.info.for_fork()?, ..Default::default() })
    }
}

/// An address space of this kernel.
pub type Vm = process::seams::Vm<Kernel>;

/// Linux's default `/proc/sys/kernel/pid_max`.
pub const PID_MAX: u32 = 32768;

static TABLE: Once<ProcessTable<Kernel>> = Once::new();

/// The process table.
pub fn table() -> &'static ProcessTable<Kernel> {
    TABLE.call_once(|| ProcessTable::new(PID_MAX))
}

/// The task of thread `tid`.
pub fn task_of(tid: Pid) -> Option<Arc<Task>> {
    table().with_thread(tid, |t| t.ext().task.clone()).flatten()
}

/// vfork parents waiting for their child to release the address space.
static VFORK_WQ: WaitQueue = WaitQueue::new();

/// The hooks the process table calls (with none of its locks held).
pub struct Hooks;

impl process::seams::Hooks<Kernel> for Hooks {
    fn preempt_point(&self) {
        // between two steps of fork's copies (address space, fd table):
        // no lock held
        sched::cond_resched();
    }

    fn thread_created(&self, tid: Pid) {
        // a CLONE_PIDFD child's pidfd identity goes into its record
        crate::pidfd::child_started(tid);
        // (its name, /proc facts and timers were made with its record)
        // made, published in the record, then started: on several CPUs it
        // may run at once, and wake-ups find it through the record
        let run = move || crate::uthread::run_and_exit(tid);
        let made = table().with_thread(tid, |t| (t.ext_mut().stack.take(), t.ext_mut().room.take()));
        let task = match made {
            Some((Some(stack), Some(room))) => sched::create_on(stack, room, u64::from(tid), run),
            // (init, made without a clone)
            _ => sched::create(u64::from(tid), run),
        };
        if let Some(cpu) = table().thread_cpu(tid) {
            task.set_cpu(cpu);
        }
        // (gone already if another thread's exec removed it: the task
        // finds no thread and ends)
        let mut slot = Some(task.clone());
        table().with_thread(tid, |t| t.ext_mut().task = slot.take());
        drop(slot);
        sched::start(&task);
        drop(task);
    }

    fn thread_exited(&self, tid: Pid, ext: ThreadExt) {
        // its cgroup's count and pids charge, unless its own exit gave them
        // back before the table ended it (`crate::cgroup::exiting`): a
        // thread removed by another thread's exec
        if let Some(pid) = ext.cgroup_pid() {
            crate::cgroup::exited(pid);
        }
        // a leader's name stays with its process (a zombie keeps it)
        table().with_process(tid, |p| p.ext_mut().exit_comm = (ext.comm, ext.comm_len));
        let task = ext.task;
        match task {
            Some(task) if !Arc::ptr_eq(&task, &sched::current()) => {
                // removed by another thread's exec: the process goes on (its
                // /proc facts stay); the thread is woken wherever it sleeps
                // so that it ends
                sched::remove(&task);
            }
            _ => crate::procfs::forget(tid),
        }
        // the exit may have closed the last descriptors of locked files
        crate::locks::sweep();
    }

    fn thread_renamed(&self, _old_tid: Pid, new_tid: Pid) {
        // the record (and the task in it) moved with the id
        if let Some(task) = task_of(new_tid) {
            task.id.store(u64::from(new_tid), Ordering::Relaxed);
        }
    }

    fn signal_wakeup(&self, tid: Pid) {
        // The target alone: whatever queues it sleeps on (or none), its
        // sleep re-checks for a signal when woken. No other sleeper cares.
        if let Some(task) = task_of(tid) {
            sched::wake(&task);
        }
    }

    fn signal_queued(&self, pid: Pid) {
        crate::signalfd::notify(pid);
    }

    fn wait_vfork_done(&self, caller: Pid, child: Pid) {
        // The child's record says whether it still owes the release (its
        // exec or exit clears it, under the table lock); a gone record
        // has released. Nothing is left behind when the wait ends early:
        // Linux's wait is killable, and a thread removed by exec goes too.
        let done = || table().with_thread(child, |t| t.vfork_parent() != Some(caller)).unwrap_or(true);
        VFORK_WQ.wait_until(|| done() || crate::uthread::must_die(caller), None);
    }

    fn vfork_done(&self, _parent: Pid, _child: Pid) {
        // sync: the child exits (or runs the program it exec'd, and its
        // parent usually waits for it next): the parent may take its CPU
        VFORK_WQ.wake_all_sync();
    }

    fn wait_for_child(&self, waiter: Pid, seen: u64) -> Result<()> {
        let Some(pid) = table().tgid(waiter) else { return Ok(()) };
        let changed = move || table().with_process(pid, |p| p.child_events()).is_none_or(|n| n != seen);
        let Some(wq) = table().with_process(pid, |p| {
            p.ext_mut().child_wq.get_or_insert_with(|| Arc::new(WaitQueue::new())).clone()
        }) else {
            return Ok(());
        };
        wq.wait_until(|| changed() || crate::uthread::signal_pending(waiter), None);
        if crate::uthread::removed() || !changed() {
            return Err(Errno::ERESTARTSYS);
        }
        Ok(())
    }

    fn ptrace_event(&self, tid: Pid, event: u32, msg: u64) {
        crate::ptrace::event_from_hook(tid, event, msg);
    }

    fn child_event(&self, parent: Pid) {
        let wq = table().with_process(parent, |p| p.ext().child_wq.clone()).flatten();
        if let Some(wq) = wq {
            // sync, as Linux's __wake_up_parent: the child exits or
            // stops, so the parent in wait may take its CPU
            wq.wake_all_sync();
        }
        // (an exit: pidfd pollers look again)
        crate::pidfd::child_event();
    }

    fn create_pidfd(&self, parent: Pid, child: Pid) -> Result<i32> {
        crate::pidfd::create_for_clone(parent, child)
    }

    fn destroy_pidfd(&self, _parent: Pid, fd: i32) {
        crate::pidfd::destroy_for_clone(fd);
    }

    fn pidfd_pid(&self, _caller: Pid, fd: i32) -> Result<(Pid, bool)> {
        crate::pidfd::waitid_target(fd)
    }

    fn futex_wake(&self, vm: &SharedVm<Kernel>, addr: u64, count: u32) {
        // mm_release at exit or exec: the caller leaves (a joiner may
        // take its CPU)
        crate::futex::wake_from_exit(vm, addr, count);
    }
}

/// Sleeps interruptibly until `cond` holds, a signal arrives for `tid`, or
/// `deadline_ns`, with nothing but a signal (or the removal of the thread)
/// and the deadline to wake it: nanosleep, pause, sigsuspend,
/// sigtimedwait, a stopped thread, a futex waiter (woken directly).
/// `Err(ERESTARTSYS)` on a signal, `Err(ETIMEDOUT)` at the deadline.
pub fn sleep_interruptible(tid: Pid, cond: impl Fn() -> bool, deadline_ns: Option<u64>) -> Result<()> {
    sleep_on(tid, &[], cond, deadline_ns)
}

/// [`sleep_interruptible`] listening on `queues` too: the queues of what
/// `cond` looks at (a pipe, the console, an epoll instance, the files of a
/// poll), which their changes wake.
pub fn sleep_on(
    tid: Pid,
    queues: &[&WaitQueue],
    cond: impl Fn() -> bool,
    deadline_ns: Option<u64>,
) -> Result<()> {
    // io_uring's non-blocking issue: would wait, so EAGAIN (the request
    // is retried when the file's queue wakes)
    if sched::current_nowait() && !cond() {
        return Err(Errno::EAGAIN);
    }
    // a thread removed by exec must not take what its condition waits for
    let removed = crate::uthread::removed;
    // the signal look under the table's lock only when the signal epoch
    // moved since the last look found nothing (every change that can make
    // a signal, a stop or a trap due bumps it: the return path's rule);
    // task work (`sched::notify`) bumps no epoch: asked each time (one
    // load while no task has any)
    let quiet = core::cell::Cell::new(u64::MAX);
    let signal = || {
        let e = table().epoch().current();
        if e == quiet.get() && !sched::current_notified() {
            return false;
        }
        let due = crate::uthread::signal_pending(tid);
        if !due {
            quiet.set(e);
        }
        due
    };
    let woke = sched::wait_any(queues, || removed() || cond() || signal(), deadline_ns);
    if removed() {
        Err(Errno::ERESTARTSYS)
    } else if cond() {
        Ok(())
    } else if woke {
        Err(Errno::ERESTARTSYS)
    } else {
        Err(Errno::ETIMEDOUT)
    }
}

/// The index of `uid`'s entry in a per-user count table (Linux's
/// `user_struct` counters: pipe pages, io_uring's locked pages), a zero
/// entry added when it has none (`ENOMEM` when the table cannot grow).
pub fn user_slot<T: Default>(users: &mut alloc::vec::Vec<(u32, T)>, uid: u32) -> Result<usize> {
    if let Some(i) = users.iter().position(|(u, _)| *u == uid) {
        return Ok(i);
    }
    users.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    users.push((uid, T::default()));
    Ok(users.len() - 1)
}

/// Sets the name of thread `tid` (at most 15 bytes kept, up to a NUL).
pub fn set_comm(tid: Pid, name: &[u8]) {
    let n = name.iter().position(|&b| b == 0).unwrap_or(name.len()).min(15);
    let mut comm = [0; 15];
    comm[..n].copy_from_slice(&name[..n]);
    table().with_thread(tid, |t| {
        t.ext_mut().comm = comm;
        t.ext_mut().comm_len = n as u8;
    });
}

/// The name of thread `tid` (empty for no such thread).
pub fn comm(tid: Pid) -> alloc::vec::Vec<u8> {
    let comm = table().with_thread(tid, |t| (t.ext().comm, t.ext().comm_len));
    comm.map(|(c, n)| c[..usize::from(n)].to_vec()).unwrap_or_default()
}

/// The name its leader had when it exited, of process `pid` (empty while
/// the leader lives, or for no such process).
pub fn exit_comm(pid: Pid) -> alloc::vec::Vec<u8> {
    let comm = table().with_process(pid, |p| p.ext().exit_comm);
    comm.map(|(c, n)| c[..usize::from(n).min(c.len())].to_vec()).unwrap_or_default()
}

/// How init (pid 1) ended, once it has.
static INIT_EXIT: Mutex<Option<process::wait::ChildStatus>> = Mutex::new(None);

/// Set once [`INIT_EXIT`] holds a status: the boot CPU's idle loop looks
/// at it on every turn (one load, no lock another CPU contends for).
static INIT_EXITED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Remembers the status of a process that ends (only init's is kept: the
/// kernel powers off with it).
pub fn note_exit(pid: Pid, status: process::wait::ChildStatus) {
    crate::console::process_exited(pid);
    if pid == 1 {
        INIT_EXIT.lock().get_or_insert(status);
        INIT_EXITED.store(true, Ordering::Release);
    }
}

/// init's exit status, once it exited.
pub fn init_exit() -> Option<process::wait::ChildStatus> {
    if !INIT_EXITED.load(Ordering::Acquire) {
        return None;
    }
    *INIT_EXIT.lock()
}
// The record's extension is moved by value at clone and exit (the exit
// hook takes it): up to 128 bytes the moves are inline stores, above it
// each is a `memcpy` call (vfork_exit_wait +470 instructions at 136
// bytes: docs/bench.md, "Issue 24's last row"). A field that does not
// fit goes behind an `Option<Box<_>>` of rarely set state.
const _: () = assert!(core::mem::size_of::<ThreadExt>() <= 128);
