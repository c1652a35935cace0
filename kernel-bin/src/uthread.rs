//! The life of a user thread: the loop that runs it in ring 3 and handles
//! why it came back (system call, fault, interrupt), then delivers signals
//! on the way back to user mode.

use crate::proc::{Hooks, Kernel, table};
use crate::syscall;
use alloc::sync::Arc;
use arch_x86_64::sigframe::{self, AltStack, FrameInfo};
use arch_x86_64::user::{UserContext, UserExit};
use core::sync::atomic::AtomicU32;
use fs_table::{FileTableCache, FsContextCache};
use linux_abi::Errno;
use process::cputime::{SharedCpu, Side};
use process::pid::Pid;
use process::seams::SharedVm;
use process::wait::ChildStatus;
use signal::{Delivery, SigHandler, SigInfo, SigNum, SyscallRestart};
use vm::{Access, FaultOutcome};

/// A thread's cache of its fd table ([`UThread::files_cache`]).
pub type FilesCache = FileTableCache<dyn vfs::File, spin::Mutex<()>>;

/// A thread's cache of its root, cwd and umask ([`UThread::fs_cache`]).
pub type FsCache = FsContextCache<vfs::Path, spin::Mutex<()>>;

/// The thread's root, cwd and umask, locked ([`UThread::fs`]).
pub type FsGuard<'a> = fs_table::FsContextGuard<'a, vfs::Path, spin::Mutex<()>>;

/// What the loop does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Back to user mode.
    Continue,
    /// The thread is gone (exit, exit_group, a fatal signal).
    Exit,
}

/// How a thread leaves: the table call [`finish_exit`] makes once the
/// thread's own handles are dropped.
#[derive(Clone, Copy, Debug)]
pub enum Exit {
    /// exit(2), or a thread told to die by its group's exit.
    Thread(i32),
    /// exit_group(2) or a fatal signal.
    Group(ChildStatus),
}

/// A user thread as its own kernel thread sees it.
pub struct UThread {
    /// The thread id (changes when exec makes a non-leader the leader).
    pub tid: Pid,
    /// The process id.
    pub pid: Pid,
    /// The process id and thread id as the thread's own PID namespace
    /// numbers them (getpid, gettid; equal to `pid`/`tid` in the initial
    /// namespace). A process never changes namespace; exec may change
    /// `tid`, and [`UThread::refresh`] reads them again.
    pub vpid: Pid,
    /// See [`UThread::vpid`].
    pub vtid: Pid,
    /// The registers.
    pub ctx: UserContext,
    /// The address space (refreshed after exec).
    pub vm: SharedVm<Kernel>,
    /// Its top-level page table (what CR3 holds while the thread runs).
    pub root: u64,
    /// The parent's pid, kept current by the process table (getppid).
    pub ppid: Arc<AtomicU32>,
    /// The [`signal::epoch`] at which the thread last found no signal to
    /// act on and no reason to die (`u64::MAX`: never): while the epoch is
    /// unchanged, the way back to user mode skips looking again.
    pub quiet_epoch: u64,
    /// The thread's CPU-time account (charged on each entry into user mode
    /// and return from it; the scheduler charges switches).
    pub cpu: SharedCpu,
    /// ptrace bits ([`crate::ptrace::TRACED`], `SYSCALL`, `STEP`) and
    /// [`crate::seccomp::TRACE_BIT`]: 0 keeps the untraced, unfiltered
    /// fast paths (the entry's one test); the ptrace bits are refreshed at
    /// signal time and by stops.
    pub trace: u8,
    /// Its seccomp mode and filter chain, cached from its record
    /// (`proc::ThreadExt::seccomp`: at start, at its own changes, and at
    /// signal time after another thread's TSYNC).
    pub seccomp: ::seccomp::State,
    /// The thread's fd table, cached as its address space is, so an fd call
    /// takes no process-table lock and no reference count (Linux's
    /// `current->files`): a [`FileTableCache`], no owner (unshare and exec
    /// copy a table only when another thread shares it), and the table's
    /// files go when the last record holding it drops it (exit, another
    /// thread's exec): the cache is `EBADF` from then on. Refreshed where
    /// the record's table can change: thread start, unshare(2), execve(2),
    /// close_range(2) with `CLOSE_RANGE_UNSHARE`.
    pub files_cache: FilesCache,
    /// The thread's root, cwd and umask, cached as [`Self::files_cache`]
    /// (Linux's `current->fs`): an [`FsContextCache`], no owner (unshare
    /// and setns(2)'s "a context of its own" count only the records'
    /// handles), one object with every `CLONE_FS` sharer's handle and
    /// cache, so a chdir, chroot or umask by any of them is seen at once.
    /// Refreshed with the fd table's: thread start, unshare(2) (a
    /// `CLONE_FS` copy), execve(2) (the same context, the record maybe
    /// moved to the leader's tid); setns(2) of a mount namespace changes
    /// the context in place.
    pub fs_cache: FsCache,
    /// The process's RLIMIT_AS/DATA/STACK as mmap, mremap, brk and stack
    /// growth check them (the process's, not the address space's: a
    /// vfork child shares the latter only); refreshed with the address
    /// space.
    pub space: Arc<process::rlimit::SpaceRlimits>,
    /// The process's user namespace, cached for the id translations of
    /// stat and friends (it changes only by unshare(2) or setns(2) of a
    /// single-threaded process, which refresh it).
    pub user_ns: process::ns::UserNsRef,
    /// The process's mount namespace as the vfs knows it
    /// ([`crate::fs::ns_id`]), cached with [`Self::user_ns`]: every path
    /// walk crosses that namespace's mounts.
    pub mnt_ns: u64,
    /// The offsets of the process's time namespace (zero in the initial
    /// one), cached with [`Self::user_ns`]: a namespace a process is in
    /// has its offsets fixed, and only setns(2) moves a running process.
    pub time_off: process::timens::TimeOffsets,
    /// The process is in a time namespace other than the initial one.
    pub timens: bool,
    /// The exit asked for (by exit(2), exit_group(2), a fatal signal or
    /// the group's exit), made by [`finish_exit`] after this record and
    /// its address-space handle are dropped.
    pub exit: Option<Exit>,
    /// The file of the io_uring request being issued: what the fd
    /// `syscall::io_uring::FIXED_FD` names meanwhile.
    pub fixed_file: Option<Arc<dyn vfs::File>>,
    /// The registered buffer of the io_uring READ_FIXED/WRITE_FIXED being
    /// issued: user copies within its range go to its pinned pages, not
    /// through the address space (`UThread::read_into`, `write_slice`).
    pub fixed_buf: Option<Arc<crate::syscall::io_uring::FixedBuf>>,
    /// Its process's io_uring identity, cached (`syscall::io_uring::Tctx`:
    /// fetched from the process record at the first io_uring_enter, looked
    /// up again once exec or the exit marked it dead).
    pub uring_tctx: Option<Arc<crate::syscall::io_uring::Tctx>>,
    /// Its rseq(2) registration and what its way out owes it (none: the
    /// way out pays one test).
    pub rseq: Option<crate::rseq::Rseq>,
    /// Pages it faulted in while its memory cgroup (or an ancestor) was
    /// over `memory.high` and not yet paid for (Linux's
    /// `memcg_nr_pages_over_high`): at [`cgroup::HIGH_BATCH`] the way back
    /// to user mode throttles it (`crate::cgroup::throttle_over_high`).
    pub memcg_over_high: u32,
}

impl UThread {
    /// Re-reads the process id and address space from the table (after exec)
    /// and loads the address space.
    pub fn refresh(&mut self) {
        if let Some(pid) = table().tgid(self.tid) {
            self.pid = pid;
        }
        self.refresh_vids();
        if let Some((ppid, space)) =
            table().with_process(self.pid, |p| (p.parent_cell(), p.rlimits().space().clone()))
        {
            self.ppid = ppid;
            self.space = space;
        }
        if let Some(vm) = table().with_process(self.pid, |p| p.vm().cloned()).flatten() {
            self.root = vm.lock().page_table().root().start_address().as_u64();
            let old = core::mem::replace(&mut self.vm, vm);
            // Load the new tables before the old ones may go with `old`:
            // torn down while not loaded, they need no invalidation and
            // no switch to the kernel's tables (one CR3 write less per
            // exec, each a whole soft-TLB refill under TCG).
            self.vm.lock().page_table().activate();
            drop(old);
        }
        self.refresh_files();
    }

    /// Reads [`UThread::vpid`] and `vtid` again.
    pub fn refresh_vids(&mut self) {
        self.vpid = table().pid_seen(self.tid, self.pid);
        self.vtid = table().pid_seen(self.tid, self.tid);
    }

    /// The limits mmap, mremap, brk and stack growth check (this
    /// process's, read now).
    pub fn space_limits(&self) -> vm::SpaceLimits {
        space_limits(&self.space)
    }

    /// Re-reads the user namespace from the process's credentials and its
    /// mount namespace (after unshare(2), setns(2)).
    pub fn refresh_user_ns(&mut self) {
        if let Some((ns, mnt, time)) = table().with_process(self.pid, |p| {
            (p.creds().user_ns.clone(), crate::fs::ns_id(&p.ns().mnt), p.ns().time.clone())
        }) {
            self.user_ns = ns;
            self.mnt_ns = mnt;
            self.time_off = time.offsets();
            self.timens = !time.is_initial();
        }
    }

    /// Re-reads the fd table and fs context from the thread's record (after
    /// unshare(2) and execve(2), which may give the thread new ones).
    pub fn refresh_files(&mut self) {
        let (files, fs) = table()
            .with_thread(self.tid, |th| {
                (
                    th.files().map_or_else(FileTableCache::none, |f| f.cache()),
                    th.fs().map_or_else(FsContextCache::none, |f| f.cache()),
                )
            })
            .unwrap_or_else(|| (FileTableCache::none(), FsContextCache::none()));
        self.files_cache = files;
        self.fs_cache = fs;
    }
}

/// A process's address-space limits as `vm` checks them.
fn space_limits(s: &process::rlimit::SpaceRlimits) -> vm::SpaceLimits {
    let (data, data_max) = s.data();
    vm::SpaceLimits::new(s.address_space(), data, data_max, s.stack())
}

/// Logs the sizes of the per-thread and per-process records (test builds
/// that measure kernel memory: [`arch_x86_64::context::PAINT`]).
pub fn log_record_sizes() {
    use core::mem::size_of;
    log::info!(
        "kmem: record sizes: Thread {} Process {} Task {} UThread {} UserContext {} KernelThread {} FpuState {} ThreadExt {}",
        size_of::<process::table::Thread<Kernel>>(),
        size_of::<process::table::Process<Kernel>>(),
        size_of::<crate::sched::Task>(),
        size_of::<UThread>(),
        size_of::<UserContext>(),
        size_of::<arch_x86_64::context::KernelThread>(),
        size_of::<arch_x86_64::user::FpuState>(),
        size_of::<crate::proc::ThreadExt>(),
    );
}

/// The kernel thread behind user thread `tid`: runs it, then makes its
/// exit (Linux's order: exit_mm, then exit_notify).
pub fn run_and_exit(tid: Pid) {
    if let Some((tid, serial, exit)) = run(tid) {
        finish_exit(tid, serial, exit);
    }
}

/// Ends thread `tid` once its [`UThread`] (and with it its handle on the
/// address space) is gone: the address space is given up first (the last
/// thread's drop frees its memory here, with no lock held), then the
/// table ends the thread and tells the parent. A parent on another CPU
/// that reads MemFree after its wait sees the memory back, as on Linux.
pub fn finish_exit(tid: Pid, serial: u64, exit: Exit) {
    if removed() {
        // another thread's exec took it out meanwhile: its tid may name
        // that thread now
        return;
    }
    // `serial` names this thread's record: if another thread's exec takes
    // the leader's tid between the check above and these calls, they see
    // the record is someone else's and do nothing (Linux: de_thread()
    // ended the old leader).
    let s = Some(serial);
    let pid = table().tgid(tid);
    // exit_sem: the undo list's last sharer undoes its adjustments
    if let Some(pid) = pid {
        crate::syscall::sysv::exit_sem(tid, pid);
        // the last thread's exit closes the descriptors: its mq_notify
        // registrations go (mqueue_flush_file)
        crate::syscall::mqueue::exiting(pid, tid);
    }
    crate::oom::releasing(pid, || {
        let vm = table().exit_mm_as(tid, s, &Hooks);
        let last = vm.is_some();
        // the address space's AIO contexts end with it (exit_aio: waiting
        // POLLs cancelled, aio-nr given back)
        if last && let Some(pid) = pid {
            crate::syscall::aio::exit_aio(pid);
            // and its io_uring requests are cancelled (a process sharing
            // the ring that waits for them gets -ECANCELED)
            crate::syscall::io_uring::exit_uring(pid);
        }
        if let Some(v) = &vm {
            release_in_steps(v);
        }
        drop(vm);
        // the executable's write denial goes with the address space
        if last && let Some(pid) = pid {
            crate::procfs::release_exe(pid);
        }
    });
    // cgroup_exit, before exit_notify: out of its group's count before the
    // parent can see the zombie
    crate::cgroup::exiting(tid, serial);
    // proc_exit_connector, before the parent can hear
    if crate::net::connector::listening()
        && let Some(pid) = pid
    {
        let code = match exit {
            Exit::Thread(code) => ((code & 0xff) << 8) as u32,
            Exit::Group(status) => status.to_wait_status() as u32,
        };
        crate::net::connector::exit(tid, pid, code);
    }
    match exit {
        Exit::Thread(code) => table().exit_thread_as(tid, s, code, &Hooks),
        Exit::Group(status) => table().exit_group_as(tid, s, status, &Hooks),
    }
}

/// Unmaps an address space this thread holds the last handle of in
/// 16 MiB steps, with a preemption point between two (its drop would
/// free every page in one go: Linux's exit_mmap has cond_resched points
/// too). What is left (nothing, normally) goes with the drop. A space of
/// at most one step's pages and few mappings goes with the drop at once:
/// the drop's walk is no longer than a step, and cheaper (no mapping split
/// or removed one by one: a forked child's exit is half as many
/// instructions of unmapping).
pub(crate) fn release_in_steps(vm: &SharedVm<Kernel>) {
    /// The bytes one step unmaps.
    const STEP: usize = 16 << 20;
    if alloc::sync::Arc::strong_count(vm) != 1 {
        return;
    }
    let (lo, hi) = {
        let v = vm.lock();
        if v.resident_pages() <= STEP / 4096 && v.map_count() <= 64 {
            return;
        }
        let c = v.config();
        (c.min_addr, c.max_addr)
    };
    let mut rest = hi.saturating_sub(lo);
    while rest != 0 {
        match vm.lock().munmap_step(lo, rest, STEP) {
            Ok(r) => rest = r,
            Err(_) => break,
        }
        crate::sched::cond_resched();
    }
}

/// Runs user thread `tid` until it leaves; returns its (final) tid and the
/// exit it asked for, and its record's [`process::table::Thread::serial`],
/// after its [`UThread`] is dropped.
#[inline(never)] // its own symbol: first in the hot text (kernel-bin/linker.ld)
fn run(tid: Pid) -> Option<(Pid, u64, Exit)> {
    let (mut t, serial, done) = start(tid)?;
    if done {
        return t.exit.take().map(|e| (t.tid, serial, e));
    }
    let me = crate::sched::current();
    // the signal epoch, looked up once (the table's, read on every return)
    let epoch = table().epoch();
    // timer interrupts from user mode since the last periodic TLB flush
    let mut ticks_unflushed = 0u32;
    // the tick whose CPU-time timers this thread last looked at
    let mut cpu_tick = 0u64;
    loop {
        if epoch.current() != t.quiet_epoch && must_die(t.tid) {
            if !removed() {
                t.exit = Some(Exit::Thread(0));
            }
            break;
        }
        if arch_x86_64::mem::paging::current_root() != t.root {
            t.vm.lock().page_table().activate();
        }
        crate::sched::charge(&t.cpu, Side::System);
        // The quick path: a call that only reads a value (quick_syscall),
        // with no signal work due (the epoch unchanged since the last
        // look), is answered here with interrupts still off and goes
        // straight back to user mode: nothing it does can switch tasks,
        // load other tables, queue a signal or end the thread, so the
        // checks above and after the match hold as they were; its few
        // hundred cycles stay in the user stretch (no clock read, no
        // /proc/<pid>/syscall note: it never sleeps). One epoch read.
        let exit = loop {
            let exit = t.ctx.run_irqs_off();
            if !matches!(exit, UserExit::Syscall)
                || t.trace != 0
                || !quick_syscall(t.ctx.syscall_number())
                || epoch.current() != t.quiet_epoch
            {
                break exit;
            }
            let r = quick_syscall_result(&t);
            log::trace!("pid {} tid {}: quick syscall {} -> {}", t.pid, t.tid, t.ctx.syscall_number(), r);
            t.ctx.set_syscall_return(r as u64);
        };
        // a quick call with signal work due: answered below, then the
        // signals are looked at (with interrupts, as always: it may sleep)
        let quick =
            matches!(exit, UserExit::Syscall) && t.trace == 0 && quick_syscall(t.ctx.syscall_number());
        crate::sched::charge(&t.cpu, Side::User);
        // what /proc/<pid>/syscall shows while the thread is in the kernel
        note_entry(&me.entry, &t.ctx, matches!(exit, UserExit::Syscall));
        arch_x86_64::cpu::enable_interrupts();
        let entry_nr = t.ctx.syscall_number();
        let mut restart = None;
        let flow = match exit {
            UserExit::Syscall if quick => {
                let r = quick_syscall_result(&t);
                log::trace!("pid {} tid {}: quick syscall {} -> {}", t.pid, t.tid, t.ctx.syscall_number(), r);
                t.ctx.set_syscall_return(r as u64);
                Flow::Continue
            }
            UserExit::Syscall => {
                let nr = t.ctx.syscall_number();
                let (flow, result) = if t.trace == 0 {
                    syscall::dispatch(&mut t, nr)
                } else {
                    // ptrace stops or a seccomp mode: the slow entry
                    crate::seccomp::syscall(&mut t, nr)
                };
                if let Some(Err(e)) = result
                    && e.is_restart()
                {
                    restart = Some((nr, e));
                }
                flow
            }
            UserExit::Exception { vector, error_code, cr2 } => exception(&mut t, vector, error_code, cr2),
            UserExit::Interrupt(_) => {
                user_interrupt(&t, &mut cpu_tick, &mut ticks_unflushed);
                Flow::Continue
            }
        };
        if arch_x86_64::context::PAINT {
            // a test build's stack-depth probe (docs/status.md, kmem30)
            use arch_x86_64::context::{PROBE_EXCEPTION, PROBE_INTERRUPT, probe_stack};
            probe_stack(match exit {
                UserExit::Syscall => entry_nr,
                UserExit::Exception { vector, .. } => PROBE_EXCEPTION + u64::from(vector),
                UserExit::Interrupt(v) => PROBE_INTERRUPT + u64::from(v),
            });
        }
        if flow == Flow::Exit {
            break;
        }
        if !quick {
            crate::oom::check(t.tid, t.pid);
        }
        // a woken task that should preempt this one, or the tick's work
        // if a tick came while in the kernel, before the return to user
        // mode (signals that came meanwhile are delivered below)
        if !quick {
            // a tick that came while this thread ran in the kernel counts
            // for its CPU-time timers too (Linux's tick looks at them in
            // either mode): a process that spends its CPU time in system
            // calls gets its SIGPROF (one load while none is armed)
            if crate::itimer::cpu_watched() && !matches!(exit, UserExit::Interrupt(_)) {
                kernel_tick(&t, &mut cpu_tick);
            }
            crate::sched::resched_before_user();
        }
        // task work (io_uring's completions: Linux's task_work_run on the
        // way out, before the signals and the restart of a call its
        // notification interrupted); one load while no task has any
        if crate::sched::take_current_notify() {
            crate::syscall::io_uring::task_work(&mut t);
        }
        if deliver_signals(&mut t, restart) == Flow::Exit {
            break;
        }
        // rseq's notify-resume: the one place a registered thread's way
        // back looks (the quick path above never switches); one test for
        // a thread that never registered
        if t.rseq.is_some() && crate::rseq::resume(&mut t) == Flow::Exit {
            break;
        }
    }
    // t (and its vm handle) drops as this returns, before the exit
    t.exit.take().map(|e| (t.tid, serial, e))
}

/// An interrupt taken in user mode (the timer's, a device's): the CPU-time
/// timers, the periodic TLB flush and the tick's preemption (out of line:
/// a few per second, not per system call).
#[cold]
#[inline(never)]
fn user_interrupt(t: &UThread, cpu_tick: &mut u64, ticks_unflushed: &mut u32) {
    if t.trace & crate::ptrace::MASK != 0 {
        // not in a system call (orig_rax -1 for the tracer)
        crate::ptrace::exception_entry(t);
    }
    *cpu_tick = arch_x86_64::time::ticks();
    crate::itimer::check_cpu(t.pid, t.tid, &t.cpu);
    // A thread that keeps its CPU never reloads CR3; QEMU's TCG
    // sizes its soft TLB only when the TLB is flushed, so such a
    // thread kept the (small) size it had at exec: busybox sort
    // of 60 MB ran 17-29 s instead of 14 s (docs/bench.md,
    // sort27). One local flush per 25 ticks (100 ms) of user
    // time costs a TLB refill on hardware; Linux switches
    // about 50 times a second in the same run.
    *ticks_unflushed += 1;
    if *ticks_unflushed >= 25 {
        *ticks_unflushed = 0;
        arch_x86_64::mem::paging::flush_local();
    }
    crate::sched::preempt_tick();
}

/// After a system call or exception while CPU-time timers are armed: a
/// tick that came meanwhile counts for them (out of line, as
/// [`user_interrupt`]).
#[cold]
#[inline(never)]
fn kernel_tick(t: &UThread, cpu_tick: &mut u64) {
    let tick = arch_x86_64::time::ticks();
    if tick != *cpu_tick {
        *cpu_tick = tick;
        crate::sched::charge(&t.cpu, Side::System);
        crate::itimer::check_cpu_timers(t.pid, t.tid, &t.cpu);
    }
}

/// The thread's [`UThread`] and its record's serial, set up once before
/// its first return to user mode (out of line: `run`'s loop is the hot
/// path of every system call, and under TCG each of its pages counts).
/// `true` when the thread ends before it runs (`exit` says how, if it
/// does not end as a removed thread).
#[inline(never)]
fn start(tid: Pid) -> Option<(UThread, u64, bool)> {
    // the record keeps a shell (the registers, no FPU image): the image
    // moves here rather than being copied
    // (the seccomp state in the same look: a clone of no chain is free)
    let (ctx, serial, rseq, seccomp) = table()
        .with_thread(tid, |t| (t.context_mut().take(), t.serial(), t.ext().rseq, t.ext().seccomp.clone()))?;
    let pid = table().tgid(tid)?;
    let vm = table().with_process(pid, |p| p.vm().cloned()).flatten()?;
    let root = vm.lock().page_table().root().start_address().as_u64();
    let (ppid, space) = table().with_process(pid, |p| (p.parent_cell(), p.rlimits().space().clone()))?;
    let cpu = table().thread_cpu(tid)?;
    let mut t = UThread {
        tid,
        pid,
        vpid: pid,
        vtid: tid,
        ctx,
        vm,
        root,
        ppid,
        quiet_epoch: u64::MAX,
        cpu,
        trace: 0,
        seccomp: ::seccomp::State::default(),
        files_cache: FileTableCache::none(),
        fs_cache: FsContextCache::none(),
        space,
        user_ns: process::ns::UserNsRef::INITIAL,
        mnt_ns: vfs::INITIAL_MNT_NS,
        time_off: Default::default(),
        timens: false,
        exit: None,
        fixed_file: None,
        fixed_buf: None,
        uring_tctx: None,
        rseq: rseq.map(crate::rseq::Rseq::started),
        memcg_over_high: 0,
    };
    t.refresh_files();
    t.refresh_user_ns();
    t.refresh_vids();
    // a process in a time namespace reads its clocks through the system
    // call: its [vvar] is the page that sends the vDSO there
    if t.timens {
        crate::vdso::join_timens(&t.vm, true);
    }
    crate::ptrace::refresh(&mut t);
    if seccomp.mode != ::seccomp::MODE_DISABLED {
        crate::seccomp::set_cached(&mut t, seccomp);
    }
    if t.trace & crate::ptrace::MASK != 0 && deliver_signals(&mut t, None) == Flow::Exit {
        // an auto-attached child stops (SIGSTOP, or a seized trap) before
        // its first instruction
        return Some((t, serial, true));
    }
    // cgroup_post_fork's JOBCTL_TRAP_FREEZE: a child made into (or
    // forked in) a freezing group freezes before its first instruction
    if t.trace & crate::ptrace::MASK == 0
        && crate::cgroup::freezing(pid)
        && deliver_signals(&mut t, None) == Flow::Exit
    {
        return Some((t, serial, true));
    }
    // a fork's child of a registered thread: its first way out writes the
    // CPU number (as every later one after a switch)
    if t.rseq.is_some() && crate::rseq::resume(&mut t) == Flow::Exit {
        return Some((t, serial, true));
    }
    Some((t, serial, false))
}

/// Keeps how the thread entered the kernel (a system call and its
/// arguments, or an interrupt or exception) for /proc/<pid>/syscall.
pub fn note_entry(entry: &crate::sched::KernelEntry, ctx: &UserContext, syscall: bool) {
    let r = &ctx.regs;
    if syscall {
        entry.syscall(ctx.syscall_number(), ctx.syscall_args(), r.rsp, r.rip);
    } else {
        entry.other(r.rsp, r.rip);
    }
}

/// System calls that only read a value (no lock held for long, no sleep,
/// no allocation, no failure): answered here without the dispatch table,
/// with interrupts still disabled from the exit out of user mode, and so is
/// the way back when no signal work is due.
fn quick_syscall(nr: u64) -> bool {
    use linux_abi::syscall::nr;
    match nr as usize {
        nr::GETPID | nr::GETTID | nr::GETPPID => true,
        // these take the process table's lock: with interrupts off that
        // is safe on one CPU only (on several, the holder may be waiting
        // for this CPU to answer a TLB shootdown, e.g. a fork's)
        nr::GETUID | nr::GETEUID | nr::GETGID | nr::GETEGID => crate::sched::nr_cpus() == 1,
        _ => false,
    }
}

/// The result of a [`quick_syscall`].
fn quick_syscall_result(t: &UThread) -> isize {
    use core::sync::atomic::Ordering;
    use linux_abi::syscall::nr;
    match t.ctx.syscall_number() as usize {
        nr::GETPID => t.vpid as isize,
        nr::GETTID => t.vtid as isize,
        nr::GETPPID => t.ppid.load(Ordering::Relaxed) as isize,
        // through the caller's user namespace, as the dispatch path (the
        // namespace's map lock is a spin lock never held across a switch)
        n => table()
            .with_process(t.pid, |p| crate::syscall::task::id_seen(p.creds(), n))
            .map_or(Errno::ESRCH.to_syscall_return(), |id| id as isize),
    }
}

/// Whether the running thread was taken out of the process table by
/// another thread (exec): its tid may now name that thread, so it must end
/// without touching the table.
pub fn removed() -> bool {
    crate::sched::current_removed()
}

/// Whether the thread was told to die (SIGKILL queued by exit_group or a
/// fatal signal to its group, or removed by another thread's exec).
pub fn must_die(tid: Pid) -> bool {
    if removed() {
        return true;
    }
    let Some((pid, killed)) =
        table().with_thread(tid, |t| (t.tgid(), t.signals().pending().pending().contains(signal::SIGKILL)))
    else {
        return true;
    };
    killed || table().with_process(pid, |p| p.is_group_exiting()).unwrap_or(true)
}

#[inline(never)]
fn exception(t: &mut UThread, vector: u8, error_code: u64, cr2: u64) -> Flow {
    use signal::siginfo::code;
    let rip = t.ctx.regs.rip;
    if t.trace & crate::ptrace::MASK != 0 {
        crate::ptrace::exception_entry(t);
    }
    let info = match vector {
        // a protection-key fault (PKRU denies the page's key 0): Linux's
        // SEGV_PKUERR (4); retrying it would fault forever
        14 if error_code & 0x20 != 0 => SigInfo::fault(signal::SIGSEGV, 4, cr2),
        14 => {
            let access = if error_code & 0x10 != 0 {
                Access::Execute
            } else if error_code & 0x2 != 0 {
                Access::Write
            } else {
                Access::Read
            };
            let space = &t.space;
            let (outcome, (over, high)) = {
                let mut v = t.vm.lock();
                let outcome = v.handle_page_fault_with(cr2 as usize, access, || space_limits(space));
                // a memory cgroup's limit (max, high) passed by this charge
                // (no lock: a few atomic loads up the groups; nothing
                // without a memory cgroup)
                (outcome, v.charge_sink().map_or((None, false), |c| c.over_limits()))
            };
            if let Some(g) = over {
                crate::cgroup::memcg_oom(t.pid, g);
            }
            if high {
                // try_charge_memcg: charged over memory.high; a batch's
                // worth is paid for on the way back to user mode, with
                // no lock held (mem_cgroup_handle_over_high)
                t.memcg_over_high += 1;
                if u64::from(t.memcg_over_high) >= cgroup::HIGH_BATCH {
                    let n = core::mem::take(&mut t.memcg_over_high);
                    crate::cgroup::throttle_over_high(t.pid, t.tid, u64::from(n));
                }
            }
            match outcome {
                FaultOutcome::Resolved => {
                    t.cpu.minor_fault();
                    crate::procfs::PGFAULT.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
                    return Flow::Continue;
                }
                FaultOutcome::Segv { addr, code } => {
                    SigInfo::fault(signal::SIGSEGV, code.si_code(), addr as u64)
                }
                FaultOutcome::Bus { addr } => SigInfo::fault(signal::SIGBUS, code::BUS_ADRERR, addr as u64),
                FaultOutcome::OutOfMemory => match crate::oom::out_of_memory(t.pid) {
                    crate::oom::Verdict::Retry => return Flow::Continue,
                    crate::oom::Verdict::KillSelf => {
                        log::warn!("pid {}: out of memory at {cr2:#x}", t.pid);
                        SigInfo::kernel(signal::SIGKILL)
                    }
                },
                // vm's outcomes are #[non_exhaustive]: one this kernel does
                // not know is a fault it cannot resolve
                _ => SigInfo::fault(signal::SIGSEGV, code::SEGV_MAPERR, cr2),
            }
        }
        0 => SigInfo::fault(signal::SIGFPE, code::FPE_INTDIV, rip),
        6 => SigInfo::fault(signal::SIGILL, code::ILL_ILLOPN, rip),
        // int3: do_int3_user's force_sig(SIGTRAP), SI_KERNEL
        3 => SigInfo::kernel(signal::SIGTRAP),
        // a single step (the trap flag): TRAP_TRACE at the next instruction
        1 => {
            t.ctx.regs.rflags &= !0x100;
            SigInfo::fault(signal::SIGTRAP, code::TRAP_TRACE, rip)
        }
        16 | 19 => SigInfo::fault(signal::SIGFPE, 0, rip),
        // #NP and #SS (a stack access at a non-canonical address): SIGBUS
        // with SI_KERNEL, as Linux's do_error_trap
        11 | 12 => SigInfo::kernel(signal::SIGBUS),
        // #GP and the rest: Linux sends SIGSEGV with SI_KERNEL (si_addr 0)
        _ => SigInfo::kernel(signal::SIGSEGV),
    };
    force_signal(t, info, (error_code, u64::from(vector), cr2))
}

/// A synchronous signal from a fault: run its handler now, or kill the
/// process when it is blocked, ignored or defaulted (Linux's force_sig).
pub(crate) fn force_signal(t: &mut UThread, info: SigInfo, fault: (u64, u64, u64)) -> Flow {
    let mut info = info;
    if t.trace & crate::ptrace::MASK != 0 && info.signo != signal::SIGKILL {
        // the tracer sees the signal first (ptrace_signal)
        match crate::ptrace::signal_stop(t, info) {
            crate::ptrace::SignalStop::Deliver(i) => info = i,
            crate::ptrace::SignalStop::Discard => return Flow::Continue,
            crate::ptrace::SignalStop::Killed => return Flow::Continue,
        }
    }
    let sig = info.signo;
    let blocked = table().with_thread(t.tid, |th| th.signals().blocked().contains(sig)).unwrap_or(false);
    let action = table().with_process(t.pid, |p| p.handlers().lock().get(sig));
    match action {
        Some(act) if !blocked && matches!(act.handler, SigHandler::Handler(_)) => {
            let delivery = table().with_process(t.pid, |p| {
                signal::delivery_action(sig, &mut p.handlers().lock(), false, false)
            });
            match delivery {
                Some(Delivery::Handler(act)) => run_handler(t, sig, &info, &act, fault),
                _ => Flow::Continue,
            }
        }
        _ => die(t, sig, sig.default_action() == signal::DefaultAction::CoreDump),
    }
}

/// Linux's `force_sigsegv(sig)` for `sig` being delivered (`None`: no
/// delivery): fatal when that is SIGSEGV itself, else a SIGSEGV
/// (`SI_KERNEL`) forced as a fault's (its handler runs, or it kills).
pub fn force_sigsegv(t: &mut UThread, sig: Option<SigNum>) -> Flow {
    if sig == Some(signal::SIGSEGV) {
        return die(t, signal::SIGSEGV, true);
    }
    force_signal(t, SigInfo::kernel(signal::SIGSEGV), (0, 0, 0))
}

/// Ends the process with a fatal signal. No core file is written, so the
/// status never carries the core bit (Linux sets it only after a dump).
pub(crate) fn die(t: &mut UThread, sig: SigNum, core_action: bool) -> Flow {
    // proc_coredump_connector (get_signal, before do_coredump)
    if core_action && crate::net::connector::listening() {
        crate::net::connector::coredump(t.tid);
    }
    let status = ChildStatus::Killed { signal: sig.get(), core: false };
    if t.trace & crate::ptrace::MASK != 0 {
        crate::ptrace::exit_event(t, status.to_wait_status());
    }
    crate::itimer::forget(t.pid);
    crate::proc::note_exit(t.pid, status);
    t.exit = Some(Exit::Group(status));
    Flow::Exit
}

/// The next deliverable signal of thread `tid`, thread queue first (none
/// for a thread removed by exec: its tid may name another thread now).
/// What [`dequeue`] found.
enum Dequeued {
    Signal(SigInfo),
    /// A `PTRACE_EVENT_STOP` trap became due since the loop looked: it
    /// comes first (Linux checks JOBCTL_TRAP_MASK and dequeues under one
    /// hold of siglock).
    TrapDue,
    Nothing,
}

fn dequeue(t: &UThread) -> Dequeued {
    if removed() {
        return Dequeued::Nothing;
    }
    // one lock for both queues: no other CPU sees the process's queue
    // half-taken, nor a SIGCONT queued with its trap between the two looks
    // (a seized tracee on another CPU otherwise took the SIGCONT's delivery
    // stop before its PTRACE_EVENT_STOP)
    let cpu = crate::posix_timer::dequeue_sample(t.pid);
    table()
        .with_thread_process(t.tid, t.pid, |th, p| {
            let trap =
                th.trace().attached && (th.trace().trap || p.ptrace().is_some_and(|l| l.trap_pending()));
            if trap {
                return Dequeued::TrapDue;
            }
            let mut info = th.signals_mut().dequeue(p.pending_mut());
            if let Some(i) = &mut info {
                crate::posix_timer::on_dequeue(&mut p.ext_mut().posix_timers, i, cpu);
            }
            info.map_or(Dequeued::Nothing, Dequeued::Signal)
        })
        .unwrap_or(Dequeued::Nothing)
}

/// Whether thread `tid` has a signal it would act on now (under one table
/// lock: the looks of [`must_die`] and `ptrace::trap_pending` included).
pub fn signal_pending(tid: Pid) -> bool {
    if removed() {
        return true;
    }
    // task work due (io_uring's TWA_SIGNAL): the sleep ends as for a
    // signal, the call restarts after the work (every caller asks about
    // itself)
    if crate::sched::current_notified() {
        return true;
    }
    let (due, pid, freeze_word) = table()
        .with_thread_and_process(tid, |th, p| {
            let due = th.signals().has_deliverable(p.pending())
                // an untraced thread of a stopped group leaves its call to
                // stop (a traced one traps, below)
                || matches!(p.state(), process::table::ProcState::Stopped(_)) && !th.trace().attached
                // told to die (must_die)
                || th.signals().pending().pending().contains(signal::SIGKILL)
                || p.is_group_exiting()
                // a PTRACE_EVENT_STOP trap due ends a sleep too (the call
                // restarts after the trap)
                || th.trace().attached && (th.trace().trap || p.ptrace().is_some_and(|l| l.trap_pending()));
            (due, th.tgid(), th.ext().freeze_cache.load(core::sync::atomic::Ordering::Acquire))
        })
        // the thread or its process is gone: it must die
        .unwrap_or((true, 0, 0));
    // its cgroup freezes: the call ends (and restarts after the thaw);
    // the thread's cached answer while it holds (no global lock)
    due || crate::cgroup::freezing_from_cache(freeze_word)
        .unwrap_or_else(|| crate::cgroup::freezing_refresh(pid, tid))
}

fn restart_syscall(t: &mut UThread, nr: u64, how: SyscallRestart) {
    match how {
        SyscallRestart::Keep => {}
        SyscallRestart::Interrupt => t.ctx.set_syscall_return(Errno::EINTR.to_syscall_return() as u64),
        SyscallRestart::Restart => {
            t.ctx.regs.rax = nr;
            t.ctx.regs.rip -= 2;
        }
        SyscallRestart::RestartBlock => {
            t.ctx.regs.rax = linux_abi::syscall::nr::RESTART_SYSCALL as u64;
            t.ctx.regs.rip -= 2;
        }
        // #[non_exhaustive]: a way this kernel does not know keeps the result
        _ => {}
    }
}

/// Delivers pending signals before returning to user mode; `restart` is
/// the interrupted system call and its restart code, if any.
fn deliver_signals(t: &mut UThread, mut restart: Option<(u64, Errno)>) -> Flow {
    let epoch = table().epoch().current();
    if epoch == t.quiet_epoch {
        // nothing queued, no mask changed, no group exit since the last look
        if let Some((nr, e)) = restart.take() {
            restart_syscall(t, nr, signal::syscall_restart(e, None));
        }
        return Flow::Continue;
    }
    if removed() {
        return Flow::Exit;
    }
    let (nothing, stale) = nothing_due(t);
    if stale {
        // another thread's TSYNC gave this one a new filter chain
        crate::seccomp::refresh(t);
    }
    if nothing && !crate::cgroup::freezing_cached(t.pid, t.tid) {
        // the loop below would find nothing and set the quiet epoch
        if let Some((nr, e)) = restart.take() {
            restart_syscall(t, nr, signal::syscall_restart(e, None));
        }
        t.quiet_epoch = epoch;
        return Flow::Continue;
    }
    loop {
        // get_signal()'s loop: the ptrace traps due come first, then a
        // stopped group (rejoined after a detach), then the signals
        crate::ptrace::refresh(t);
        if t.trace & crate::ptrace::MASK != 0 {
            // (a traced thread skipped nothing_due's look)
            crate::seccomp::refresh(t);
        }
        if t.trace & crate::ptrace::MASK != 0 {
            match crate::ptrace::jobctl(t) {
                crate::ptrace::Outcome::Killed => return Flow::Continue,
                crate::ptrace::Outcome::Resumed(_) => continue,
                crate::ptrace::Outcome::NotTraced => {}
            }
        }
        // do_freezer_trap: a freezing cgroup's task sleeps (not a stop:
        // wait(2) sees nothing, SIGCONT does not end it)
        if crate::cgroup::freezing_cached(t.pid, t.tid) && !must_die(t.tid) {
            if frozen_sleep(t) == Flow::Exit {
                return Flow::Exit;
            }
            continue;
        }
        if t.trace & crate::ptrace::MASK == 0 && process_stopped(t.pid) && !must_die(t.tid) {
            if stopped_sleep(t) == Flow::Exit {
                return Flow::Exit;
            }
            continue;
        }
        let info = match dequeue(t) {
            Dequeued::Signal(info) => Some(info),
            // (the trap at the top of the loop)
            Dequeued::TrapDue if t.trace & crate::ptrace::MASK != 0 => continue,
            Dequeued::TrapDue | Dequeued::Nothing => None,
        };
        let Some(info) = info else {
            if let Some((nr, e)) = restart.take() {
                restart_syscall(t, nr, signal::syscall_restart(e, None));
            }
            if !must_die(t.tid) {
                t.quiet_epoch = epoch;
            }
            return Flow::Continue;
        };
        let mut info = info;
        if t.trace & crate::ptrace::MASK != 0 && info.signo != signal::SIGKILL {
            match crate::ptrace::signal_stop(t, info) {
                crate::ptrace::SignalStop::Deliver(i) => info = i,
                crate::ptrace::SignalStop::Discard => continue,
                crate::ptrace::SignalStop::Killed => return Flow::Continue,
            }
        }
        let sig = info.signo;
        // init, of the initial namespace or of its own
        let unkillable = t.vpid == 1;
        let Some(delivery) = table().with_process(t.pid, |p| {
            signal::delivery_action(sig, &mut p.handlers().lock(), false, unkillable)
        }) else {
            return Flow::Exit;
        };
        match delivery {
            Delivery::Ignore => continue,
            Delivery::Terminate { core_dump } => return die(t, sig, core_dump),
            // a traced process's group stop makes its tracees trap
            Delivery::Stop
                if t.trace & crate::ptrace::MASK != 0 || table().ptrace_options(t.pid).is_some() =>
            {
                // the trap comes at the top of the loop
                crate::ptrace::group_stop(t, sig.get());
                continue;
            }
            Delivery::Stop => {
                let _ = table().stop(t.pid, sig.get(), &Hooks);
                continue;
            }
            Delivery::Handler(act) => {
                if let Some((nr, e)) = restart.take() {
                    restart_syscall(t, nr, signal::syscall_restart(e, Some(&act)));
                }
                return run_handler(t, sig, &info, &act, (0, 0, 0));
            }
            // #[non_exhaustive]: an action this kernel does not know is ignored
            _ => continue,
        }
    }
}

/// Whether process `pid`'s group is stopped.
/// The common answer of a look after the epoch moved (a mask change, a
/// signal to another thread), under one table lock instead of the five
/// looks of [`deliver_signals`]' loop: an untraced thread of a running
/// process, not killed, no group exit, nothing it would act on queued.
/// `false`: the loop decides (it may well find nothing either). Second:
/// whether the record's seccomp state is not the cached one (another
/// thread's TSYNC), seen under the same lock.
fn nothing_due(t: &UThread) -> (bool, bool) {
    if t.trace & crate::ptrace::MASK != 0 {
        return (false, false);
    }
    table()
        .with_thread_process(t.tid, t.pid, |th, p| {
            let nothing = !th.trace().attached
                && th.tgid() == t.pid
                && !matches!(p.state(), process::table::ProcState::Stopped(_))
                && !p.is_group_exiting()
                && !th.signals().pending().pending().contains(signal::SIGKILL)
                && !th.signals().has_deliverable(p.pending());
            (nothing, crate::seccomp::stale(t, th.ext()))
        })
        .unwrap_or((false, false))
}

fn process_stopped(pid: Pid) -> bool {
    table().with_process(pid, |p| matches!(p.state(), process::table::ProcState::Stopped(_))) == Some(true)
}

/// An untraced thread of a stopped group sleeps until SIGCONT, SIGKILL,
/// its removal, or an attach that makes it trap for a tracer.
fn stopped_sleep(t: &UThread) -> Flow {
    let (pid, tid) = (t.pid, t.tid);
    let done = move || !process_stopped(pid) || must_die(tid) || crate::ptrace::trap_pending(tid);
    // Only those (SIGCONT wakes every thread of the process) end a stop:
    // an ordinary pending signal must not, or the loop would spin
    while !done() {
        crate::sched::wait_any(&[], done, None);
    }
    if removed() { Flow::Exit } else { Flow::Continue }
}

/// A thread of a freezing cgroup sleeps, counted as frozen, until the
/// group thaws (or it moves out), it must die, or it is removed.
fn frozen_sleep(t: &UThread) -> Flow {
    let (pid, tid) = (t.pid, t.tid);
    crate::cgroup::frozen(pid, true);
    let done = move || !crate::cgroup::freezing(pid) || must_die(tid);
    while !done() {
        crate::sched::wait_any(&[], done, None);
    }
    crate::cgroup::frozen(pid, false);
    if removed() { Flow::Exit } else { Flow::Continue }
}

/// Builds the signal frame on the user stack (or the alternate stack) and
/// points the registers at the handler.
fn run_handler(
    t: &mut UThread,
    sig: SigNum,
    info: &SigInfo,
    act: &signal::SigAction,
    fault: (u64, u64, u64),
) -> Flow {
    let SigHandler::Handler(entry) = act.handler else { return Flow::Continue };
    // rseq_signal_deliver: an interrupted critical section is aborted
    // before the frame saves the registers. Its failure is Linux's
    // force_sigsegv(sig), and this delivery goes on: for SIGSEGV itself
    // force_fatal_sig (SIGSEGV at its default action, queued: its handler
    // still runs this once, with SIGSEGV blocked, and the queued one kills
    // when it is unblocked); for another signal a forced SIGSEGV after
    // this frame is built (below)
    let rseq_failed = t.rseq.is_some() && crate::rseq::signal_deliver(t).is_err();
    if rseq_failed && sig == signal::SIGSEGV {
        let _ = table().with_process(t.pid, |p| p.handlers().lock().set(sig, signal::SigAction::DEFAULT));
        let _ = table().send_signal(t.pid, SigInfo::kernel(sig), &Hooks);
    }
    let sp = t.ctx.regs.rsp;
    let Some((saved_mask, alt, top)) = table().with_thread(t.tid, |th| {
        let alt = th.signals().altstack().get(sp);
        let top = th.signals().altstack().frame_top(sp, act);
        let saved = th.signals_mut().enter_handler(sig, act);
        (saved, alt, top)
    }) else {
        return Flow::Exit;
    };
    let siginfo = info.to_bytes();
    let layout = arch_x86_64::xstate::layout_now();
    let frame = sigframe::build_for(
        layout,
        &t.ctx,
        &FrameInfo {
            signo: sig.get(),
            siginfo: &siginfo,
            restorer: act.restorer,
            saved_mask: saved_mask.bits(),
            altstack: AltStack { sp: alt.sp, flags: alt.flags, size: alt.size },
            altstack_top: (top != sp).then_some(top),
            err: fault.0,
            trapno: fault.1,
            cr2: fault.2,
        },
    );
    let written = {
        let mut vm = t.vm.lock();
        // one run of copies in ascending addresses (the frame, the image's
        // pieces, the last with MAGIC2): each page of the frame looked up
        // once
        let mut c = vm.user_copies();
        let at = frame.fpstate_addr as usize;
        c.write(frame.addr as usize, &frame.frame).and_then(|_| {
            // the FPU image: when it lies in one page and the state is in
            // the registers, XSAVE straight into the frame's page (under
            // the address space's lock, which keeps it mapped), as
            // Linux's XSAVE into the frame; the page is looked up for
            // writing as the copies' first piece would be (the same fault)
            if at % vm::PAGE_SIZE + layout.frame_size() <= vm::PAGE_SIZE && layout.xsave() {
                let f = c.frame(at, vm::Access::Write)?;
                if t.ctx.fpu_to_user_page(layout, f, at % vm::PAGE_SIZE) {
                    return Ok(());
                }
            }
            // else XSAVE's image with Linux's sw bytes and MAGIC2 after it
            // (in the context's own image when it has one: the handler
            // starts from the initial state below, so nothing needs it
            // unchanged; the initial state's frame image is made once),
            // the state's bytes only, as Linux's XSAVE into the frame (the
            // components XCR0 leaves out are 70 % of the image under QEMU)
            let (img, magic2): (&[u8], _) = match t.ctx.fpu_for_frame() {
                Some(f) => arch_x86_64::xstate::to_sigframe_inline(layout, f),
                None => arch_x86_64::user::initial_sigframe(),
            };
            arch_x86_64::xstate::sigframe_pieces_now(img.len())
                .iter()
                .try_for_each(|r| c.write(at.wrapping_add(r.start), &img[r]))
                .and_then(|_| match magic2 {
                    Some(m) => c.write(at.wrapping_add(img.len()), &m),
                    None => Ok(()),
                })
        })
    };
    if written.is_err() {
        // Linux's signal_setup_done(failed): the mask stays as it was, and
        // force_sigsegv(): a SIGSEGV whose own frame failed is fatal, any
        // other signal raises a SIGSEGV its handler may catch (on another
        // stack); force_signal kills when that cannot run either
        table().with_thread(t.tid, |th| th.signals_mut().set_blocked(saved_mask));
        if sig == signal::SIGSEGV {
            return die(t, signal::SIGSEGV, true);
        }
        return force_signal(t, SigInfo::kernel(signal::SIGSEGV), (0, 0, 0));
    }
    table().with_thread(t.tid, |th| th.signals_mut().altstack_mut().frame_built());
    // Linux's fpu__clear_user_states(): the handler starts with the FPU,
    // SSE, AVX and PKRU in their initial state (the frame keeps the
    // interrupted code's, which sigreturn puts back)
    t.ctx.reset_fpu();
    sigframe::enter_handler(&mut t.ctx, &frame, entry, sig.get());
    if rseq_failed && sig != signal::SIGSEGV {
        // force_sig(SIGSEGV): delivered before the handler runs (its own
        // delivery meets the same failure: fatal, above)
        return force_signal(t, SigInfo::kernel(signal::SIGSEGV), (0, 0, 0));
    }
    Flow::Continue
}

/// rt_sigreturn(2): restores what [`run_handler`] saved.
pub fn sigreturn(t: &mut UThread) -> Flow {
    let at = t.ctx.regs.rsp.wrapping_sub(8);
    let mut buf = [0u8; sigframe::SIGRETURN_READ];
    let layout = arch_x86_64::xstate::layout_now();
    // every read below in one run of copies: the frame's and the image's
    // pages are looked up once (the same bytes read, the same faults)
    let mut vm = t.vm.lock();
    let mut c = vm.user_copies();
    // the bytes Linux reads (uc_flags to uc_sigmask), not the return
    // address nor the siginfo
    let bytes = sigframe::SIGRETURN_BYTES;
    let restored = match c.read((at as usize).wrapping_add(bytes.start), &mut buf[bytes]) {
        Ok(()) => sigframe::restore(&mut t.ctx, &buf),
        Err(_) => None,
    };
    let Some(r) = restored else {
        drop(vm);
        return die(t, signal::SIGSEGV, true);
    };
    // Linux takes the frame's cs (with RPL 3): a kernel or unknown
    // selector faults in its iret, which kills with SIGSEGV. The 32-bit
    // user code segment would switch to compatibility mode there; this
    // kernel runs 64-bit code only, so it kills as well. ss is sanitised
    // there (force_valid_ss) and ignored here
    if r.cs | 3 != sigframe::SIGRETURN_CS {
        drop(vm);
        return die(t, signal::SIGSEGV, true);
    }
    if r.fpstate_addr != 0 {
        // check_xstate_in_sigframe: MAGIC1 and sane sizes in sw_reserved
        // and MAGIC2 after the image make it an XSAVE image, anything
        // else an FXSAVE one; a fault reading it, or an image XRSTOR
        // would refuse, is a failed sigreturn (SIGSEGV)
        let at = r.fpstate_addr as usize;
        // fpu__restore_sig's access_ok over the frame's whole FPU image
        if at.checked_add(layout.frame_size()).is_none_or(|end| end as u64 > linux_abi::args::TASK_SIZE_MAX) {
            drop(vm);
            return die(t, signal::SIGSEGV, true);
        }
        // an XSAVE image on one page that names every component: one
        // XRSTOR straight from the user's page (the page looked up as the
        // copies' first read would be), the registers then hold the state
        if layout.xsave()
            && at % vm::PAGE_SIZE + layout.frame_size() <= vm::PAGE_SIZE
            && let Ok(f) = c.frame(at, vm::Access::Read)
            && t.ctx.fpu_from_user_page(layout, f, at % vm::PAGE_SIZE)
        {
            drop(vm);
            return sigreturn_masks(t, &r);
        }
        // else the user's image is read into the thread's own (no copy); a
        // failure below resets it to the initial state, as Linux's failed
        // restore does
        let Ok(img) = t.ctx.fpu_to_overwrite() else {
            drop(vm);
            return die(t, signal::SIGSEGV, true);
        };
        let read = read_sigframe_fpu(&mut c, layout, at, img);
        drop(vm);
        let Ok(xfeatures) = read else {
            t.ctx.reset_fpu();
            return die(t, signal::SIGSEGV, true);
        };
        if sigframe::restore_fpu_in_place_for(layout, &mut t.ctx, xfeatures).is_err() {
            return die(t, signal::SIGSEGV, true);
        }
    } else {
        drop(vm);
        // no image: the initial FPU state (fpu__clear_user_states)
        t.ctx.reset_fpu();
    }
    sigreturn_masks(t, &r)
}

/// The end of a sigreturn: the frame's signal mask and alternate stack.
fn sigreturn_masks(t: &mut UThread, r: &sigframe::Restored) -> Flow {
    let sp = t.ctx.regs.rsp;
    table().with_thread(t.tid, |th| {
        th.signals_mut().set_blocked(signal::SigSet::from_bits(r.mask).blockable());
        let st = signal::StackT::new(r.altstack.sp, r.altstack.flags, r.altstack.size);
        // restore_altstack(): errors are ignored, as Linux does
        let _ = th.signals_mut().altstack_mut().sigaltstack(Some(st), sp, signal::MINSIGSTKSZ);
    });
    Flow::Continue
}

/// Reads a sigreturn's FPU image at `at` into `img`: the legacy area; with
/// Linux's sw bytes (MAGIC1, sane sizes) and MAGIC2 after the image, the
/// header and the components XSTATE_BV and `xfeatures` both name (what
/// XRSTOR reads). `Ok(None)` for an FXSAVE-only image, `Ok(Some(xfeatures))`
/// for an XSAVE one; `Err` for a failed restore (a fault, a misaligned
/// image): SIGSEGV.
fn read_sigframe_fpu(
    c: &mut vm::UserCopies<
        '_,
        arch_x86_64::mem::paging::AddressSpace,
        arch_x86_64::mem::vmimpl::KernelFrames,
    >,
    layout: &arch_x86_64::xstate::Layout,
    at: usize,
    img: &mut arch_x86_64::user::FpuState,
) -> Result<Option<u64>, ()> {
    use arch_x86_64::xstate;
    // the header with the legacy area when both lie on one page (no fault
    // can then come from it alone): one copy; it is only used below when
    // the image turns out to be an XSAVE one
    let header = xstate::HEADER;
    let with_header = layout.xsave() && at % vm::PAGE_SIZE + header + 64 <= vm::PAGE_SIZE;
    let first = if with_header { header + 64 } else { sigframe::FPSTATE_SIZE };
    c.read(at, &mut img.0[..first]).map_err(|_| ())?;
    let mut xfeatures = None;
    if let Some((xsize, xf)) = xstate::sigframe_sw(layout, &img.0) {
        let mut m = [0u8; 4];
        c.read(at.wrapping_add(xsize), &mut m).map_err(|_| ())?;
        if u32::from_le_bytes(m) == xstate::MAGIC2 {
            // XRSTOR faults (#GP) on an image not 64-byte aligned; it
            // reads the header and the components both XSTATE_BV and
            // xfeatures name (wherever xstate_size ends): a page fault
            // there fails the restore (fault_in_readable) with SIGSEGV
            if !at.is_multiple_of(64) {
                return Err(());
            }
            if !with_header {
                c.read(at.wrapping_add(header), &mut img.0[header..header + 64]).map_err(|_| ())?;
            }
            let bv = xstate::xstate_bv(img);
            for r in xstate::xrstor_reads(layout, bv, xf) {
                c.read(at.wrapping_add(r.start), &mut img.0[r]).map_err(|_| ())?;
            }
            xfeatures = Some(xf);
        }
    }
    // FXRSTOR (an FXSAVE-only image) faults on one not 16-byte aligned
    if xfeatures.is_none() && !at.is_multiple_of(16) {
        return Err(());
    }
    Ok(xfeatures)
}

/// Discards pending instances of `sig` in process `pid` and its threads
/// (sigaction to SIG_IGN, or to SIG_DFL of a default-ignored signal).
pub fn discard_signal(pid: Pid, sig: SigNum) {
    let set = signal::SigSet::single(sig);
    let threads = table().with_process(pid, |p| {
        p.pending_mut().discard(set);
        p.threads().to_vec()
    });
    for tid in threads.unwrap_or_default() {
        table().with_thread(tid, |th| th.signals_mut().pending_mut().discard(set));
    }
}

/// rt_sigpending(2): blocked signals pending for the thread or its process.
pub fn sigpending(tid: Pid, pid: Pid) -> signal::SigSet {
    table()
        .with_thread_process(tid, pid, |th, p| th.signals().sigpending(p.pending()))
        .unwrap_or(signal::SigSet::from_bits(0))
}
