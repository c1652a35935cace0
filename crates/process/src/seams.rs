//! The seams: what the architecture and the kernel provide to this crate.
//!
//! - [`UserContext`]: a thread's saved user registers, as much of them as
//!   clone needs (Linux's `copy_thread()` split: the arch crate implements
//!   it).
//! - [`AddressSpace`]: what the process model needs of an address space
//!   (fork it, copy bytes to and from it); `vm::Vmar` implements it with
//!   the default feature `vm`, a kernel with its own memory manager
//!   implements it for its type and builds this crate without `vm`.
//! - [`FdTable`] and [`FsContext`]: what the process model needs of a
//!   thread's fd table and of its root/cwd/umask (share, copy, exec's
//!   sweep); `fs-table`'s `SharedFileTable` and `SharedFsContext`
//!   implement them with the default feature `fs-table`, a kernel with its
//!   own tables implements them and builds this crate without it.
//! - [`SignalState`](crate::sigstate::SignalState) (module
//!   [`sigstate`](crate::sigstate)): a thread's and a process's signal
//!   state and the steps of a send; `kernabi-signal`'s types with the
//!   default feature `signal`.
//! - [`Platform`]: the types a kernel plugs in (its context, its address
//!   space, its fd table and fs context, its signal state, and its own per-thread and
//!   per-process state, the [`RecordExt`] slots).
//! - [`Hooks`]: what only the kernel can do (run a thread, block and wake,
//!   make a pidfd, wake a futex). Every hook is called with no lock of this
//!   crate held.

use alloc::sync::Arc;
use linux_abi::{Errno, Result};

use crate::clone::CloneFlags;
use crate::pid::Pid;
use crate::uaccess::UserMemory;

/// A thread's saved user-mode registers.
pub trait UserContext: Clone + Send + 'static {
    /// Sets the system-call return register (`rax` on x86_64).
    fn set_return_value(&mut self, value: usize);
    /// The user stack pointer.
    fn stack_pointer(&self) -> usize;
    /// Sets the user stack pointer.
    fn set_stack_pointer(&mut self, sp: usize);
    /// The TLS base (`fs.base` on x86_64).
    fn tls(&self) -> usize;
    /// Sets the TLS base.
    fn set_tls(&mut self, tls: usize);
    /// The user instruction pointer.
    fn instruction_pointer(&self) -> usize;
    /// Sets the user instruction pointer.
    fn set_instruction_pointer(&mut self, ip: usize);
    /// The copy clone gives the new task (Linux's `arch_dup_task_struct`
    /// and `fpu_clone`): `Err(ENOMEM)` when the memory for it cannot be
    /// had, which fails the clone. The default is [`Clone::clone`], for
    /// contexts whose copy does not allocate.
    fn try_clone(&self) -> Result<Self> {
        Ok(self.clone())
    }
}

/// The types a kernel plugs into the process model.
pub trait Platform: Sized + 'static {
    /// The arch's saved user registers.
    type Context: UserContext;
    /// A process's address space: `vm::Vmar<YourPageTable, YourFrames>`
    /// (feature `vm`), or the kernel's own type implementing
    /// [`AddressSpace`].
    type Vm: AddressSpace;
    /// A thread's handle on its fd table: `fs_table::SharedFileTable<File,
    /// Lock>` (feature `fs-table`), or the kernel's own type implementing
    /// [`FdTable`].
    type Files: FdTable;
    /// A thread's handle on its root, cwd and umask:
    /// `fs_table::SharedFsContext<Dir, Lock>` (feature `fs-table`), or the
    /// kernel's own type implementing [`FsContext`].
    type Fs: FsContext;
    /// The signal state the table holds and sends with:
    /// `sigstate::SignalTypes` (`kernabi-signal`'s
    /// types, feature `signal`), or the kernel's own type implementing
    /// [`SignalState`](crate::sigstate::SignalState).
    type Signals: crate::sigstate::SignalState;
    /// The kernel's own state of a thread, kept in its record
    /// ([`Thread::ext`](crate::table::Thread::ext)): made at clone, moved
    /// with the record when exec changes the thread's id, handed to
    /// [`Hooks::thread_exited`] when the thread ends.
    type ThreadExt: RecordExt;
    /// The raw lock of the table and of the shared handles it gives out
    /// (address spaces, semaphore undo lists): any
    /// [`lock_api::RawMutex`], e.g. the kernel's IRQ-safe lock, or
    /// `spin::Mutex<()>`. A lock that reports
    /// being taken twice on one CPU turns a `with_thread`/`with_process`
    /// closure that calls the table into a report instead of a hang.
    type Lock: lock_api::RawMutex + Send + Sync + 'static;
    /// The kernel's own state of a process, kept in its record
    /// ([`Process::ext`](crate::table::Process::ext)): made when clone makes
    /// a process, dropped (after the table lock is released) when the
    /// zombie is reaped.
    type ProcessExt: RecordExt;

    /// An id of the running kernel thread (never 0), or 0 (the default)
    /// for "unknown". With it, a [`with_thread`](crate::table::ProcessTable::with_thread)
    /// (or `with_process`, `with_trace`, `with_thread_process`) closure
    /// that calls the table is caught: a nested `with_*` returns `None`,
    /// any other call panics naming the bug; without it (0) such a call
    /// spins forever on the table lock. A CPU number works only if the
    /// kernel never switches threads while holding the table lock.
    fn caller_id() -> usize {
        0
    }
}

/// A kernel-owned slot in a thread or process record: how its value is
/// made and what exec does to it. Init's values are `Default`.
///
/// Both hooks run under the table lock: they must not call the table nor
/// take a lock that is ever held while calling it, and what they drop must
/// not take locks. The values themselves are dropped only after the lock
/// is released.
pub trait RecordExt: Default + Send + 'static {
    /// The new record's value at clone, from the creator's (the calling
    /// thread's for a thread slot, the calling process's for a process
    /// slot; a process slot is made only when clone makes a process, not
    /// for `CLONE_THREAD`). `flags` are the clone's. An error fails the
    /// clone with it (as Linux's `copy_process()` fails with `ENOMEM`) and
    /// leaves no trace. The default is a fresh value.
    fn for_clone(&self, flags: CloneFlags) -> Result<Self> {
        let _ = flags;
        Ok(Self::default())
    }

    /// execve succeeded: reset what exec resets. For a thread slot, the
    /// calling thread's value, already under its new id if it took the
    /// leader's (the other threads' values go to
    /// [`Hooks::thread_exited`]). The default keeps everything.
    fn exec(&mut self) {}
}

/// What the process model does with an address space: fork copies it
/// (without `CLONE_VM`), clone, exit and the robust-list walk read and
/// write words in it. The table holds it behind [`SharedVm`] and never
/// locks two at once.
///
/// ```
/// use linux_abi::{Errno, Result};
/// use std::collections::BTreeMap;
///
/// /// A toy address space: bytes by address, copied whole by fork.
/// #[derive(Clone, Default)]
/// struct Bytes(BTreeMap<usize, u8>);
///
/// impl process::seams::AddressSpace for Bytes {
///     fn fork(&mut self) -> Result<Self> {
///         Ok(self.clone())
///     }
///     fn read_user(&mut self, addr: usize, buf: &mut [u8]) -> Result<()> {
///         for (i, b) in buf.iter_mut().enumerate() {
///             *b = *self.0.get(&(addr + i)).ok_or(Errno::EFAULT)?;
///         }
///         Ok(())
///     }
///     fn write_user(&mut self, addr: usize, data: &[u8]) -> Result<()> {
///         data.iter().enumerate().for_each(|(i, b)| drop(self.0.insert(addr + i, *b)));
///         Ok(())
///     }
/// }
/// ```
pub trait AddressSpace: Send + Sized + 'static {
    /// fork(2)'s copy: the child's address space (copy-on-write or
    /// copied). `ENOMEM` fails the clone with nothing left behind.
    fn fork(&mut self) -> Result<Self>;
    /// fork(2)'s copy of the address space behind `shared`, which the
    /// caller does not hold locked: the default locks it once around
    /// [`fork`](Self::fork). An implementation whose copy costs time in
    /// proportion to the pages may copy in steps, locking `shared` for
    /// each, and call `between` between two steps with no lock held (the
    /// kernel's preemption point, [`Hooks::preempt_point`]).
    fn fork_shared<R: lock_api::RawMutex>(
        shared: &lock_api::Mutex<R, Self>,
        between: &mut dyn FnMut(),
    ) -> Result<Self> {
        let _ = between;
        shared.lock().fork()
    }
    /// Copies user bytes at `addr` into `buf` (`copy_from_user`); `EFAULT`
    /// if any is not mapped readable.
    fn read_user(&mut self, addr: usize, buf: &mut [u8]) -> Result<()>;
    /// Copies `data` to user memory at `addr` (`copy_to_user`); `EFAULT`
    /// if any byte is not mapped writable.
    fn write_user(&mut self, addr: usize, data: &[u8]) -> Result<()>;
    /// The most 4 KiB pages this address space has had present (Linux's
    /// `hiwater_rss`: `ru_maxrss`, `VmHWM`). 0 by default (not kept).
    fn hiwater_pages(&self) -> usize {
        0
    }
}

#[cfg(feature = "vm")]
impl<T, F> AddressSpace for vm::Vmar<T, F>
where
    T: vm::PageTable + Send + 'static,
    F: vm::FrameRefs + Clone + 'static,
{
    fn fork(&mut self) -> Result<Self> {
        vm::Vmar::fork(self)
    }
    /// In steps of about [`FORK_STEP_PAGES`] pages, each under the lock.
    fn fork_shared<R: lock_api::RawMutex>(
        shared: &lock_api::Mutex<R, Self>,
        between: &mut dyn FnMut(),
    ) -> Result<Self> {
        let mut steps = shared.lock().fork_begin()?;
        while !shared.lock().fork_step(&mut steps, FORK_STEP_PAGES)? {
            between();
        }
        Ok(steps.finish())
    }
    fn read_user(&mut self, addr: usize, buf: &mut [u8]) -> Result<()> {
        vm::Vmar::read_user(self, addr, buf)
    }
    fn write_user(&mut self, addr: usize, data: &[u8]) -> Result<()> {
        vm::Vmar::write_user(self, addr, data)
    }
    fn hiwater_pages(&self) -> usize {
        vm::Vmar::hiwater_pages(self)
    }
}

/// The pages a step of `vm::Vmar`'s fork in steps shares with the child
/// (16 MiB of present pages: a few milliseconds).
pub const FORK_STEP_PAGES: usize = 4096;

/// What the process model does with a thread's handle on an fd table
/// (Linux's `files_struct`): clone shares it (`CLONE_FILES`) or copies it,
/// unshare(2) copies a shared one, exec makes it private and sweeps the
/// close-on-exec descriptors. Every method runs with no lock of this crate
/// held except [`FdTable::is_shared`] and [`FdTable::share`] (under the
/// table lock: they must not take a lock that is held while calling the
/// table, and their cost should not grow with the table).
/// [`FdTable::exec`] runs with no lock held (the handle is taken out of
/// the thread's record meanwhile), so its copy and sweep may take locks
/// and cost what the table holds. What the crate drops of it (the handle
/// of an exiting thread, whose last drop closes the files: Linux's
/// `exit_files()`; the sweep's [`FdTable::Closed`]) is dropped after the
/// table lock is released, so a drop may take locks.
///
/// ```
/// use linux_abi::Result;
/// use std::sync::{Arc, Mutex};
///
/// /// A toy fd table: names and close-on-exec flags, shared by `Arc`.
/// #[derive(Clone, Default)]
/// struct Fds(Arc<Mutex<Vec<Option<(String, bool)>>>>);
///
/// impl process::seams::FdTable for Fds {
///     type Closed = Vec<String>;
///     fn share(&self) -> Self {
///         self.clone()
///     }
///     fn fork(&self) -> Result<Self> {
///         Ok(Fds(Arc::new(Mutex::new(self.0.lock().unwrap().clone()))))
///     }
///     fn is_shared(&self) -> bool {
///         Arc::strong_count(&self.0) > 1
///     }
///     fn exec(&mut self) -> Result<Vec<String>> {
///         if self.is_shared() {
///             *self = self.fork()?;
///         }
///         let mut fds = self.0.lock().unwrap();
///         let cloexec = fds.iter_mut().filter(|e| e.as_ref().is_some_and(|e| e.1));
///         Ok(cloexec.filter_map(|e| e.take().map(|e| e.0)).collect())
///     }
/// }
/// ```
pub trait FdTable: Send + Sized + 'static {
    /// What exec's close-on-exec sweep closed, dropped by the crate with
    /// no lock held.
    type Closed: Send + 'static;
    /// `CLONE_FILES` (and a thread's handle seen by the kernel): another
    /// handle on the same table.
    fn share(&self) -> Self;
    /// Clone without `CLONE_FILES`, unshare(`CLONE_FILES`): a private copy
    /// of the table (Linux's `dup_fd()`); `ENOMEM` fails the call with
    /// nothing changed.
    fn fork(&self) -> Result<Self>;
    /// Clone without `CLONE_FILES`: as [`FdTable::fork`], for a table whose
    /// copy may be made in steps with `between` (the kernel's preemption
    /// point, [`Hooks::preempt_point`]) called between two, no lock held.
    /// The default copies in one go.
    fn fork_with(&self, between: &mut dyn FnMut()) -> Result<Self> {
        let _ = between;
        self.fork()
    }
    /// Whether another handle shares the table (unshare copies only then).
    fn is_shared(&self) -> bool;
    /// execve succeeded: make this handle's table private if it is shared
    /// (Linux's `unshare_files()`), then close its close-on-exec
    /// descriptors (`do_close_on_exec()`) and return them.
    fn exec(&mut self) -> Result<Self::Closed>;
}

/// What the process model does with a thread's root, cwd and umask
/// (Linux's `fs_struct`): clone shares them (`CLONE_FS`) or copies them,
/// unshare(`CLONE_FS`) copies shared ones. [`FsContext::is_shared`] and
/// [`FsContext::share`] run under the table lock (take no lock that is
/// held while calling the table); the handles the crate drops are dropped
/// after it.
pub trait FsContext: Send + Sized + 'static {
    /// `CLONE_FS`: another handle on the same root, cwd and umask.
    fn share(&self) -> Self;
    /// Clone without `CLONE_FS`, unshare(`CLONE_FS`): a private copy
    /// (Linux's `copy_fs_struct()`); `ENOMEM` fails the call.
    fn fork(&self) -> Result<Self>;
    /// Whether another handle shares it.
    fn is_shared(&self) -> bool;
}

#[cfg(feature = "fs-table")]
impl<F, R> FdTable for fs_table::SharedFileTable<F, R>
where
    F: ?Sized + Send + Sync + 'static,
    R: lock_api::RawMutex + Send + Sync + 'static,
{
    type Closed = alloc::vec::Vec<Arc<F>>;
    fn share(&self) -> Self {
        fs_table::SharedFileTable::share(self)
    }
    fn fork(&self) -> Result<Self> {
        fs_table::SharedFileTable::fork(self)
    }
    fn fork_with(&self, between: &mut dyn FnMut()) -> Result<Self> {
        fs_table::SharedFileTable::fork_in_steps(self, fs_table::FORK_STEP_FDS, between)
    }
    fn is_shared(&self) -> bool {
        fs_table::SharedFileTable::is_shared(self)
    }
    fn exec(&mut self) -> Result<Self::Closed> {
        self.unshare()?;
        Ok(self.close_on_exec())
    }
}

#[cfg(feature = "fs-table")]
impl<D, R> FsContext for fs_table::SharedFsContext<D, R>
where
    D: Clone + Send + Sync + 'static,
    R: lock_api::RawMutex + Send + Sync + 'static,
{
    fn share(&self) -> Self {
        fs_table::SharedFsContext::share(self)
    }
    fn fork(&self) -> Result<Self> {
        Ok(fs_table::SharedFsContext::fork(self))
    }
    fn is_shared(&self) -> bool {
        fs_table::SharedFsContext::is_shared(self)
    }
}

/// An address space ([`Platform::Vm`]).
pub type Vm<P> = <P as Platform>::Vm;
/// A lock of the platform's lock type ([`Platform::Lock`]).
pub type Mutex<P, T> = lock_api::Mutex<<P as Platform>::Lock, T>;
/// A shared handle on an address space (`CLONE_VM` shares the `Arc`).
pub type SharedVm<P> = Arc<Mutex<P, Vm<P>>>;
/// A thread's fd table handle ([`Platform::Files`]).
pub type Files<P> = <P as Platform>::Files;
/// A thread's root/cwd/umask handle ([`Platform::Fs`]).
pub type Fs<P> = <P as Platform>::Fs;
/// The platform's signal state ([`Platform::Signals`]).
pub type Sig<P> = <P as Platform>::Signals;
/// A siginfo of the platform's signal state.
pub type SigInfoOf<P> = <Sig<P> as crate::sigstate::SignalState>::Info;
/// A thread's signal state.
pub type ThreadSigOf<P> = <Sig<P> as crate::sigstate::SignalState>::Thread;
/// A process's signal state (its process-directed queue).
pub type ProcessSigOf<P> = <Sig<P> as crate::sigstate::SignalState>::Process;
/// A handle on a table of signal actions.
pub type HandlersOf<P> = <Sig<P> as crate::sigstate::SignalState>::Handlers;
/// The signal epoch.
pub type EpochOf<P> = <Sig<P> as crate::sigstate::SignalState>::Epoch;

/// User memory of an address space, through its lock.
pub struct VmMemory<'a, P: Platform>(pub &'a SharedVm<P>);

impl<P: Platform> UserMemory for VmMemory<'_, P> {
    fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        let addr = usize::try_from(addr).map_err(|_| Errno::EFAULT)?;
        self.0.lock().read_user(addr, buf)
    }
    fn write_bytes(&self, addr: u64, data: &[u8]) -> Result<()> {
        let addr = usize::try_from(addr).map_err(|_| Errno::EFAULT)?;
        self.0.lock().write_user(addr, data)
    }
}

/// What the kernel does for the process model. Each hook is called with no
/// lock of this crate held, so it may call back into the table.
pub trait Hooks<P: Platform> {
    /// A new thread exists and may be scheduled.
    fn thread_created(&self, tid: Pid);

    /// A thread has exited (or was removed by exec's de-thread) and will
    /// never run again: its record is gone, `ext` is what its slot held
    /// (dropped by the hook, with no lock of this crate held).
    fn thread_exited(&self, tid: Pid, ext: P::ThreadExt) {
        let _ = (tid, ext);
    }

    /// A thread's id changed: exec from a non-leader thread makes it take
    /// the leader's pid.
    fn thread_renamed(&self, old_tid: Pid, new_tid: Pid) {
        let _ = (old_tid, new_tid);
    }

    /// A signal is pending for `tid`: interrupt its sleep, make it run.
    fn signal_wakeup(&self, tid: Pid) {
        let _ = tid;
    }

    /// A signal was queued for process `pid` or one of its threads, blocked
    /// or not (Linux's `signalfd_notify()`): wake whoever watches the
    /// process's pending signals (signalfd readers and pollers).
    fn signal_queued(&self, pid: Pid) {
        let _ = pid;
    }

    /// Blocks `parent` (a thread) until the vfork child `child` has
    /// released its address space (exec or exit): Linux's
    /// `wait_for_vfork_done()`. The crate calls [`Hooks::vfork_done`] when
    /// that happens, possibly before this is called (the child may run
    /// first on another CPU): treat the pair as a completion.
    fn wait_vfork_done(&self, parent: Pid, child: Pid);

    /// The vfork child `child` released its address space: wake `parent`.
    fn vfork_done(&self, parent: Pid, child: Pid);

    /// Blocks the thread `waiter` in wait4/waitid until a child of its
    /// process changes state: until the process's
    /// [`child_events`](crate::table::Process::child_events) differs from
    /// `seen` (it may already: then return at once; this closes the window
    /// between the table's check and the sleep). [`Hooks::child_event`] is
    /// the wake-up. `Err` (e.g. `ERESTARTSYS`) when a signal interrupts
    /// the sleep; the wait returns that error.
    fn wait_for_child(&self, waiter: Pid, seen: u64) -> Result<()>;

    /// A child of `parent` (a process) changed state: wake its waiters.
    fn child_event(&self, parent: Pid) {
        let _ = parent;
    }

    /// A traced thread `tid` reports ptrace event `event` (fork, vfork,
    /// clone, vfork-done) with message `msg` (the new pid): the kernel runs
    /// the event stop, with the registers already saved in the table.
    fn ptrace_event(&self, tid: Pid, event: u32, msg: u64) {
        let _ = (tid, event, msg);
    }

    /// A preemption point (Linux's `cond_resched`) in a copy whose cost
    /// grows with what the caller owns: between two steps of fork's copies
    /// of the address space ([`AddressSpace::fork_shared`]) and of the fd
    /// table ([`FdTable::fork_with`]). Called with
    /// no lock held; the kernel may switch to another thread here. The
    /// default does nothing.
    fn preempt_point(&self) {}

    /// Wakes up to `count` futex waiters on `addr` in `vm`
    /// (`CLONE_CHILD_CLEARTID` at exit).
    fn futex_wake(&self, vm: &SharedVm<P>, addr: u64, count: u32) {
        let _ = (vm, addr, count);
    }

    /// Makes a pidfd for `child` in the fd table of `parent` (`CLONE_PIDFD`):
    /// returns the fd. Linux makes it close-on-exec.
    fn create_pidfd(&self, parent: Pid, child: Pid) -> Result<i32> {
        let _ = (parent, child);
        Err(Errno::EINVAL)
    }

    /// Undoes [`Hooks::create_pidfd`] when the clone fails after it.
    fn destroy_pidfd(&self, parent: Pid, fd: i32) {
        let _ = (parent, fd);
    }

    /// The process a pidfd of `caller` refers to, and whether the fd is
    /// `O_NONBLOCK` (waitid `P_PIDFD`). `EBADF` if it is not a pidfd.
    fn pidfd_pid(&self, caller: Pid, fd: i32) -> Result<(Pid, bool)> {
        let _ = (caller, fd);
        Err(Errno::EBADF)
    }

    /// Checks `CLONE_INTO_CGROUP`'s fd. Without cgroup v2 no fd refers to
    /// a cgroup directory: `EBADF`, as Linux for a non-cgroup fd.
    fn check_cgroup(&self, parent: Pid, cgroup_fd: u64) -> Result<()> {
        let _ = (parent, cgroup_fd);
        Err(Errno::EBADF)
    }
}
