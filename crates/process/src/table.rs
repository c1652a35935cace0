//! The process table: every process and thread of one kernel, and the
//! operations that change the tree (clone, exit, wait, exec, groups,
//! sessions, kill).
//!
//! # Locks
//!
//! One lock guards the table (Linux's `tasklist_lock` and `siglock` in one).
//! While holding it the table takes, as leaves, the lock of an address
//! space, of an fd table, of an fs context or of a signal-handler table,
//! never two of them at once: the order is table first, so the kernel must
//! not call the table while it holds one of those locks. No [`Hooks`]
//! method is called with the table lock held, and whatever a call releases
//! (address spaces, fd tables, closed files) is dropped after the lock is
//! released.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use linux_abi::{Errno, Result};

use crate::clone::{CloneArgs, CloneCaller, CloneFlags, SIGCHLD};
use crate::cputime::{CpuAccount, CpuTimes, SharedCpu};
use crate::cred::Credentials;
use crate::ns::NsKind;
use crate::ns::PidNsRef;
use crate::pid::{Pid, PidAllocator};
use crate::ptrace::{CredMode, Options, PtracerPolicy, Resume, StopKind, ThreadTrace, TraceLink};
use crate::rlimit::{Resource, Rlimits};
use crate::seams::{
    AddressSpace, EpochOf, FdTable, Files, Fs, FsContext, HandlersOf, Hooks, Platform, ProcessSigOf,
    RecordExt, SharedVm, Sig, SigInfoOf, ThreadSigOf, UserContext, Vm, VmMemory,
};
use crate::sigstate::{Origin, SIGCONT, SIGHUP, SIGKILL, SIGSEGV, SIGSTOP, SendFacts, Sent, SignalState};
use crate::uaccess::UserMemory;
use crate::wait::{ChildStatus, Rusage, WaitOptions, WaitRequest, WaitSelector, WaitidInfo};

/// Linux's default timer slack (50 us).
pub const DEFAULT_TIMER_SLACK_NS: u64 = 50_000;

pub use crate::cred::CAP_FULL_SET;

/// A process's run state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProcState {
    /// Running (or runnable, or sleeping).
    Running,
    /// Stopped by a signal (a completed group stop).
    Stopped(u32),
    /// Every thread has exited; the status waits for the parent.
    Zombie,
}

/// A System V semaphore undo list (`CLONE_SYSVSEM` shares it). The IPC
/// code owns its contents; this crate only shares or drops it (the drop of
/// the last handle, outside this crate's locks, is Linux's `exit_sem`: the
/// kernel's record applies the adjustments in its own drop).
#[derive(Debug, Default)]
pub struct SemUndoList {
    /// The IPC code's record of the list (made at its first `SEM_UNDO`).
    pub ext: Option<Box<dyn core::any::Any + Send>>,
}

/// A shared handle on a semaphore undo list.
pub type SharedSemUndo<P> = Arc<crate::seams::Mutex<P, SemUndoList>>;

/// One thread (Linux's `task_struct` minus the process-wide part).
pub struct Thread<P: Platform> {
    tid: Pid,
    tgid: Pid,
    /// Which thread this record is, unique for the table's life: kept when
    /// exec renames the caller onto the leader's tid, so the old leader's
    /// exit can tell the record at its tid is no longer its own.
    serial: u64,
    /// Blocked mask, thread-directed pending signals, alternate stack.
    signals: ThreadSigOf<P>,
    /// `CLONE_CHILD_CLEARTID` / set_tid_address(2) word (0: none).
    clear_child_tid: u64,
    /// set_robust_list(2) head and length (0: none).
    robust_list: (u64, u64),
    /// The saved user registers.
    context: P::Context,
    /// The System V semaphore undo list (`CLONE_SYSVSEM` shares it).
    sem_undo: Option<SharedSemUndo<P>>,
    /// The fd table (Linux's per-task `files`; `CLONE_FILES` shares it).
    files: Option<Files<P>>,
    /// Root, cwd and umask (Linux's per-task `fs`; `CLONE_FS` shares it).
    fs: Option<Fs<P>>,
    /// The thread that vforked this one and waits for its address space.
    vfork_parent: Option<Pid>,
    /// It gave up the address space ([`ProcessTable::exit_mm`]) and is
    /// on its way out.
    mm_released: bool,
    /// Its CPU-time account (the kernel charges it at its boundaries).
    cpu: SharedCpu,
    /// prctl(PR_SET_PDEATHSIG): the signal its process gets when the
    /// thread that created it exits (0: none); cleared by fork.
    pdeath_signal: u32,
    /// prctl(PR_SET_NO_NEW_PRIVS): sticky, inherited by clone, kept by exec.
    no_new_privs: bool,
    /// prctl(PR_SET_TIMERSLACK) in nanoseconds.
    timer_slack_ns: u64,
    /// The slack `PR_SET_TIMERSLACK` 0 goes back to: the creator's slack
    /// when this thread was made.
    default_timer_slack_ns: u64,
    /// Its side of ptrace: attached or not, its trace stop.
    trace: ThreadTrace<SigInfoOf<P>>,
    /// The kernel's state of this thread (see [`RecordExt`]).
    ext: P::ThreadExt,
}

impl<P: Platform> Thread<P> {
    /// The thread id.
    pub fn tid(&self) -> Pid {
        self.tid
    }
    /// The thread-group id (the process's pid).
    pub fn tgid(&self) -> Pid {
        self.tgid
    }
    /// The record's identity (unique for the table's life, never 0), kept
    /// across exec's rename: pass it to [`ProcessTable::exit_mm_as`],
    /// [`ProcessTable::exit_thread_as`] and [`ProcessTable::exit_group_as`].
    pub fn serial(&self) -> u64 {
        self.serial
    }
    /// The thread that vforked this one and waits until it releases its
    /// address space (exec or exit); `None` once it has (or if it was not
    /// made by vfork).
    pub fn vfork_parent(&self) -> Option<Pid> {
        self.vfork_parent
    }

    /// Blocked mask, thread-directed pending signals, alternate stack.
    pub fn signals(&self) -> &ThreadSigOf<P> {
        &self.signals
    }
    /// The signal state, to change it.
    pub fn signals_mut(&mut self) -> &mut ThreadSigOf<P> {
        &mut self.signals
    }
    /// The `CLONE_CHILD_CLEARTID` / set_tid_address(2) word (0: none).
    pub fn clear_child_tid(&self) -> u64 {
        self.clear_child_tid
    }
    /// Sets the `CLONE_CHILD_CLEARTID` word (set_tid_address(2)).
    pub fn set_clear_child_tid(&mut self, addr: u64) {
        self.clear_child_tid = addr;
    }
    /// The set_robust_list(2) head and length (0: none).
    pub fn robust_list(&self) -> (u64, u64) {
        self.robust_list
    }
    /// Sets the robust-list head and length (set_robust_list(2)).
    pub fn set_robust_list(&mut self, head: u64, len: u64) {
        self.robust_list = (head, len);
    }
    /// The saved user registers.
    pub fn context(&self) -> &P::Context {
        &self.context
    }
    /// The saved user registers, to change them.
    pub fn context_mut(&mut self) -> &mut P::Context {
        &mut self.context
    }
    /// The System V semaphore undo list (`CLONE_SYSVSEM` shares it).
    pub fn sem_undo(&self) -> Option<&SharedSemUndo<P>> {
        self.sem_undo.as_ref()
    }
    /// Replaces the semaphore undo list, returning the old one (drop it
    /// after the table lock).
    pub fn replace_sem_undo(&mut self, list: Option<SharedSemUndo<P>>) -> Option<SharedSemUndo<P>> {
        core::mem::replace(&mut self.sem_undo, list)
    }
    /// The fd table (Linux's per-task `files`; `CLONE_FILES` shares it);
    /// none once the thread has exited.
    pub fn files(&self) -> Option<&Files<P>> {
        self.files.as_ref()
    }
    /// Root, cwd and umask (Linux's per-task `fs`; `CLONE_FS` shares it);
    /// none once the thread has exited.
    pub fn fs(&self) -> Option<&Fs<P>> {
        self.fs.as_ref()
    }
    /// Its CPU-time account (the kernel charges it at its boundaries).
    pub fn cpu(&self) -> &SharedCpu {
        &self.cpu
    }
    /// prctl(PR_SET_PDEATHSIG): the signal its process gets when the
    /// thread that created it exits (0: none); cleared by fork.
    pub fn pdeath_signal(&self) -> u32 {
        self.pdeath_signal
    }
    /// Sets the parent-death signal (prctl(PR_SET_PDEATHSIG)).
    pub fn set_pdeath_signal(&mut self, sig: u32) {
        self.pdeath_signal = sig;
    }
    /// prctl(PR_SET_NO_NEW_PRIVS): sticky, inherited by clone, kept by exec.
    pub fn no_new_privs(&self) -> bool {
        self.no_new_privs
    }
    /// Sets no_new_privs (it cannot be cleared again).
    pub fn set_no_new_privs(&mut self) {
        self.no_new_privs = true;
    }
    /// prctl(PR_GET_TIMERSLACK) in nanoseconds.
    pub fn timer_slack_ns(&self) -> u64 {
        self.timer_slack_ns
    }
    /// prctl(PR_SET_TIMERSLACK): 0 goes back to the default slack (the
    /// creator's slack when this thread was made).
    pub fn set_timer_slack_ns(&mut self, ns: u64) {
        self.timer_slack_ns = if ns == 0 { self.default_timer_slack_ns } else { ns };
    }
    /// The slack `PR_SET_TIMERSLACK` 0 goes back to.
    pub fn default_timer_slack_ns(&self) -> u64 {
        self.default_timer_slack_ns
    }
    /// Its side of ptrace: attached or not, its trace stop.
    pub fn trace(&self) -> &ThreadTrace<SigInfoOf<P>> {
        &self.trace
    }
    /// Its side of ptrace, to change it.
    pub fn trace_mut(&mut self) -> &mut ThreadTrace<SigInfoOf<P>> {
        &mut self.trace
    }
    /// The kernel's state of this thread (see [`RecordExt`]).
    pub fn ext(&self) -> &P::ThreadExt {
        &self.ext
    }
    /// The kernel's state of this thread, to change it.
    pub fn ext_mut(&mut self) -> &mut P::ThreadExt {
        &mut self.ext
    }
}

/// One process (a thread group: Linux's `signal_struct` and the leader's
/// process-wide fields).
pub struct Process<P: Platform> {
    pid: Pid,
    parent: Pid,
    /// `parent` again, readable without the table lock ([`Process::parent_cell`]).
    parent_cell: Arc<AtomicU32>,
    parent_thread: Pid,
    children: Vec<Pid>,
    threads: Vec<Pid>,
    pgid: Pid,
    sid: Pid,
    session_leader: bool,
    exit_signal: i32,
    state: ProcState,
    leader_exit: Option<ChildStatus>,
    group_exit: Option<ChildStatus>,
    stop_report: Option<u32>,
    cont_report: bool,
    did_exec: bool,
    child_subreaper: bool,
    child_events: u64,
    vm: Option<SharedVm<P>>,
    handlers: HandlersOf<P>,
    /// Process-directed pending signals.
    pending: ProcessSigOf<P>,
    /// Credentials (copied by fork, kept by exec).
    creds: Credentials,
    /// Its namespaces other than the user namespace (copied by fork,
    /// kept by exec; clone and unshare make new ones).
    ns: crate::ns::NsSet,
    /// Resource limits.
    rlimits: Rlimits,
    /// Resource usage of the threads of the process that exited (the live
    /// ones are in their [`Thread::cpu`]; see [`ProcessTable::usage`]).
    usage: Rusage,
    /// prctl(PR_SET_DUMPABLE): 0 or 1 (`SUID_DUMP_USER`, the default);
    /// copied by fork, back to 1 at exec.
    dumpable: u32,
    /// The capability bounding set (prctl PR_CAPBSET_READ/DROP).
    cap_bset: u64,
    /// `/proc/<pid>/oom_score_adj` (-1000..=1000, copied by fork) and the
    /// lowest value it may be set to without CAP_SYS_RESOURCE
    /// (`oom_score_adj_min`, set by a privileged write).
    oom_score_adj: (i16, i16),
    /// membarrier(2) registrations of its address space (the REGISTER_*
    /// command bits); copied by fork, cleared by exec.
    membarrier: u64,
    /// mlock(2) ranges: not inherited by fork, dropped by exec.
    mlock: crate::mlock::MemLocks,
    /// Usage of reaped children (`RUSAGE_CHILDREN`).
    children_usage: Rusage,
    /// Its tracer and job-control traps, while a thread of it is traced.
    ptrace: Option<TraceLink>,
    /// prctl(PR_SET_PTRACER): who else YAMA lets attach.
    ptracer: PtracerPolicy,
    /// Its exit was reported to a tracer that is not its parent: the
    /// parent hears of it when the tracer reaps or detaches.
    parent_notify_deferred: bool,
    /// Its leader exited while traced and other threads live on: the
    /// zombie leader keeps the process traced (its link goes with the
    /// group).
    leader_traced_exit: bool,
    /// As a tracer: the exits of traced threads (not the last of their
    /// process) not yet reported to its wait, as (tgid, tid, status). They
    /// are the tracer's, not the link's: a process whose last tracee
    /// exited is no longer traced while its thread's exit waits here.
    trace_exits: Vec<(Pid, Pid, ChildStatus)>,
    /// The kernel's state of this process (see [`RecordExt`]).
    ext: P::ProcessExt,
}

impl<P: Platform> Process<P> {
    /// The pid (thread-group id).
    pub fn pid(&self) -> Pid {
        self.pid
    }
    /// The parent's pid (0 for init).
    pub fn parent(&self) -> Pid {
        self.parent
    }
    /// The parent's pid as a cell that follows reparenting, for getppid(2)
    /// without the table lock (the process keeps it for its whole life).
    pub fn parent_cell(&self) -> Arc<AtomicU32> {
        self.parent_cell.clone()
    }
    /// `seen`: the parent's number in this process's PID namespace.
    fn set_parent(&mut self, parent: Pid, seen: Pid) {
        self.parent = parent;
        self.parent_cell.store(seen, Ordering::Relaxed);
    }
    /// The pids of the children, oldest first.
    pub fn children(&self) -> &[Pid] {
        &self.children
    }
    /// The live threads (an exited leader is not listed).
    pub fn threads(&self) -> &[Pid] {
        &self.threads
    }
    /// The process group.
    pub fn pgid(&self) -> Pid {
        self.pgid
    }
    /// The session.
    pub fn sid(&self) -> Pid {
        self.sid
    }
    /// Whether this process leads its session.
    pub fn is_session_leader(&self) -> bool {
        self.session_leader
    }
    /// The signal sent to the parent at exit (-1: none, a thread).
    pub fn exit_signal(&self) -> i32 {
        self.exit_signal
    }
    /// Running, stopped or zombie.
    pub fn state(&self) -> ProcState {
        self.state
    }
    /// The status a zombie reports (or that an exiting group will).
    pub fn exit_status(&self) -> Option<ChildStatus> {
        self.group_exit.or(if self.state == ProcState::Zombie { self.leader_exit } else { None })
    }
    /// Whether the group is exiting (exit_group or a fatal signal).
    pub fn is_group_exiting(&self) -> bool {
        self.group_exit.is_some()
    }
    /// Whether the process has called execve since fork.
    pub fn did_exec(&self) -> bool {
        self.did_exec
    }
    /// How many times a child changed state (exited, stopped, continued);
    /// [`Hooks::wait_for_child`] sleeps until this moves.
    pub fn child_events(&self) -> u64 {
        self.child_events
    }
    /// Whether it is a child subreaper (`PR_SET_CHILD_SUBREAPER`).
    pub fn is_child_subreaper(&self) -> bool {
        self.child_subreaper
    }
    /// The address space (none once exited).
    pub fn vm(&self) -> Option<&SharedVm<P>> {
        self.vm.as_ref()
    }
    /// The signal handlers.
    pub fn handlers(&self) -> &HandlersOf<P> {
        &self.handlers
    }

    /// Process-directed pending signals.
    pub fn pending(&self) -> &ProcessSigOf<P> {
        &self.pending
    }
    /// Process-directed pending signals, to change them.
    pub fn pending_mut(&mut self) -> &mut ProcessSigOf<P> {
        &mut self.pending
    }
    /// Credentials (copied by fork, kept by exec).
    pub fn creds(&self) -> &Credentials {
        &self.creds
    }
    /// Credentials, to change them (the set*id calls).
    pub fn creds_mut(&mut self) -> &mut Credentials {
        &mut self.creds
    }

    /// Its namespaces (the user namespace is in [`Process::creds`]).
    pub fn ns(&self) -> &crate::ns::NsSet {
        &self.ns
    }

    /// Its namespaces, to change (setns(2)); what is replaced must be
    /// dropped after the table lock (a namespace's drop takes no lock).
    pub fn ns_mut(&mut self) -> &mut crate::ns::NsSet {
        &mut self.ns
    }

    /// Sets the capability bounding set (a move into a user namespace
    /// gives every capability there).
    pub fn set_cap_bset(&mut self, bset: u64) {
        self.cap_bset = bset;
    }
    /// Resource limits.
    pub fn rlimits(&self) -> &Rlimits {
        &self.rlimits
    }
    /// Resource limits, to change them.
    pub fn rlimits_mut(&mut self) -> &mut Rlimits {
        &mut self.rlimits
    }
    /// Resource usage of the threads of the process that exited (the live
    /// ones are in their [`Thread::cpu`]; see [`ProcessTable::usage`]).
    pub fn usage(&self) -> Rusage {
        self.usage
    }
    /// The exited threads' usage, to change it.
    pub fn usage_mut(&mut self) -> &mut Rusage {
        &mut self.usage
    }
    /// prctl(PR_GET_DUMPABLE): 0 or 1 (`SUID_DUMP_USER`, the default);
    /// copied by fork, back to 1 at exec.
    pub fn dumpable(&self) -> u32 {
        self.dumpable
    }
    /// prctl(PR_SET_DUMPABLE), or a credential change's reset.
    pub fn set_dumpable(&mut self, v: u32) {
        self.dumpable = v;
    }
    /// The capability bounding set (prctl PR_CAPBSET_READ).
    pub fn cap_bset(&self) -> u64 {
        self.cap_bset
    }
    /// Drops capability `cap` (0..64) from the bounding set
    /// (prctl PR_CAPBSET_DROP).
    pub fn drop_bounding_cap(&mut self, cap: u32) {
        self.cap_bset &= !1u64.checked_shl(cap).unwrap_or(0);
    }
    /// `/proc/<pid>/oom_score_adj` (-1000..=1000, copied by fork).
    pub fn oom_score_adj(&self) -> i16 {
        self.oom_score_adj.0
    }
    /// The lowest `oom_score_adj` may be set to without CAP_SYS_RESOURCE
    /// (`oom_score_adj_min`, set by a privileged write).
    pub fn oom_score_adj_min(&self) -> i16 {
        self.oom_score_adj.1
    }
    /// Sets `oom_score_adj`; a `privileged` write also sets the minimum.
    /// The caller checks the value (-1000..=1000) and that an unprivileged
    /// one is not below [`Process::oom_score_adj_min`], as Linux's
    /// `/proc/PID/oom_score_adj` writer does.
    pub fn set_oom_score_adj(&mut self, v: i16, privileged: bool) {
        self.oom_score_adj.0 = v;
        if privileged {
            self.oom_score_adj.1 = v;
        }
    }
    /// membarrier(2) registrations of its address space (the REGISTER_*
    /// command bits); copied by fork, cleared by exec.
    pub fn membarrier(&self) -> u64 {
        self.membarrier
    }
    /// Adds membarrier(2) registration bits.
    pub fn register_membarrier(&mut self, bits: u64) {
        self.membarrier |= bits;
    }
    /// mlock(2) ranges: not inherited by fork, dropped by exec.
    pub fn mlock(&self) -> &crate::mlock::MemLocks {
        &self.mlock
    }
    /// mlock(2) ranges, to change them.
    pub fn mlock_mut(&mut self) -> &mut crate::mlock::MemLocks {
        &mut self.mlock
    }
    /// Usage of reaped children (`RUSAGE_CHILDREN`).
    pub fn children_usage(&self) -> Rusage {
        self.children_usage
    }
    /// Its tracer and job-control traps, while a thread of it is traced.
    pub fn ptrace(&self) -> Option<&TraceLink> {
        self.ptrace.as_ref()
    }
    /// prctl(PR_SET_PTRACER): who else YAMA lets attach.
    pub fn ptracer(&self) -> &PtracerPolicy {
        &self.ptracer
    }
    /// The kernel's state of this process (see [`RecordExt`]).
    pub fn ext(&self) -> &P::ProcessExt {
        &self.ext
    }
    /// The kernel's state of this process, to change it.
    pub fn ext_mut(&mut self) -> &mut P::ProcessExt {
        &mut self.ext
    }
    fn alive(&self) -> bool {
        self.state != ProcState::Zombie
    }
}

/// What the owner of a file names ([`ProcessTable::send_sigio`]): Linux's
/// `PIDTYPE_PID`, `PIDTYPE_TGID`, `PIDTYPE_PGID`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigioTarget {
    /// One thread (`F_OWNER_TID`).
    Thread,
    /// A process (`F_OWNER_PID`, F_SETOWN with a positive id).
    Process,
    /// A process group (`F_OWNER_PGRP`, F_SETOWN with a negative id).
    Group,
}

/// What a wait found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitReport {
    /// The child's pid.
    pub pid: Pid,
    /// The child's real uid.
    pub uid: u32,
    /// What happened.
    pub status: ChildStatus,
    /// The child's usage plus its reaped children's (for wait4's rusage).
    pub rusage: Rusage,
}

impl WaitReport {
    /// waitid's siginfo fields.
    pub fn waitid_info(&self) -> WaitidInfo {
        WaitidInfo::new(self.pid, self.uid, self.status)
    }
}

/// The first process: what the kernel gives it ([`InitProcess::new`],
/// root's credentials unless [`InitProcess::with_creds`] says otherwise).
#[non_exhaustive]
pub struct InitProcess<P: Platform> {
    /// Its registers (entry point, stack).
    pub context: P::Context,
    /// Its address space.
    pub vm: Vm<P>,
    /// Its fd table (e.g. `fs_table::SharedFileTable::with_lock(table)`).
    pub files: Files<P>,
    /// Its root, cwd and umask (e.g. `fs_table::SharedFsContext::with_lock(fs)`).
    pub fs: Fs<P>,
    /// Its credentials (root).
    pub creds: Credentials,
    /// Its limits.
    pub rlimits: Rlimits,
}

impl<P: Platform> InitProcess<P> {
    /// Init with these registers, address space, fd table, fs context and
    /// limits, and root's credentials ([`Credentials::root`]).
    pub fn new(context: P::Context, vm: Vm<P>, files: Files<P>, fs: Fs<P>, rlimits: Rlimits) -> Self {
        InitProcess { context, vm, files, fs, creds: Credentials::root(), rlimits }
    }

    /// With these credentials instead of root's.
    pub fn with_creds(mut self, creds: Credentials) -> Self {
        self.creds = creds;
        self
    }
}

enum Effect<P: Platform> {
    Created(Pid),
    Exited(Pid, P::ThreadExt),
    Renamed(Pid, Pid),
    Wake(Pid),
    Queued(Pid),
    VforkDone(Pid, Pid),
    ChildEvent(Pid),
    Futex(SharedVm<P>, u64),
}

/// Hook calls and garbage collected under the lock, run after it.
struct Out<P: Platform> {
    effects: Effects<P>,
    /// An exited thread's record, an address space let go (an exit has
    /// one of each) and a reaped process's record: in place, no box and
    /// no vector for them.
    thread: Option<Box<Thread<P>>>,
    vm: Option<SharedVm<P>>,
    process: Option<Box<Process<P>>>,
    garbage: Vec<Box<dyn Any>>,
}

/// The hook calls of one table operation, in the order they were made:
/// up to four that name only threads or processes in place (a kill makes
/// one or two: no allocation on that path) and one thread's exit among
/// them (an exit makes one: a vfork child's exit, with its vfork and child
/// notes, allocates nothing here either), else all of them in a vector.
struct Effects<P: Platform> {
    few: [Note; 4],
    n: u8,
    /// A thread's exit in place: it comes after the first `.0` notes.
    exit: Option<(u8, Pid, P::ThreadExt)>,
    rest: Vec<Effect<P>>,
}

/// An [`Effect`] that names only ids (`Copy`, 12 bytes).
#[derive(Clone, Copy)]
enum Note {
    Created(Pid),
    Renamed(Pid, Pid),
    Wake(Pid),
    Queued(Pid),
    VforkDone(Pid, Pid),
    ChildEvent(Pid),
}

impl<P: Platform> From<Note> for Effect<P> {
    fn from(n: Note) -> Self {
        match n {
            Note::Created(t) => Effect::Created(t),
            Note::Renamed(a, b) => Effect::Renamed(a, b),
            Note::Wake(t) => Effect::Wake(t),
            Note::Queued(p) => Effect::Queued(p),
            Note::VforkDone(p, c) => Effect::VforkDone(p, c),
            Note::ChildEvent(p) => Effect::ChildEvent(p),
        }
    }
}

impl<P: Platform> Effects<P> {
    /// Adds a hook call that names only ids: in place while there is room
    /// and nothing went to the vector yet.
    #[inline]
    fn note(&mut self, note: Note) {
        let i = usize::from(self.n);
        if i < self.few.len() && self.rest.is_empty() {
            self.few[i] = note;
            self.n += 1;
        } else {
            self.spill(Effect::from(note));
        }
    }

    fn notes(&mut self, notes: impl IntoIterator<Item = Note>) {
        for n in notes {
            self.note(n);
        }
    }

    /// Adds any hook call: a first thread exit in place while nothing went
    /// to the vector yet, else to the vector, after the notes.
    fn push(&mut self, e: Effect<P>) {
        match e {
            Effect::Exited(t, ext) if self.exit.is_none() && self.rest.is_empty() => {
                self.exit = Some((self.n, t, ext));
            }
            e => self.spill(e),
        }
    }

    /// Moves the notes and the exit into the vector (keeping the order),
    /// then appends `e`.
    #[cold]
    fn spill(&mut self, e: Effect<P>) {
        let n = usize::from(core::mem::take(&mut self.n));
        match self.exit.take() {
            Some((at, t, ext)) => {
                let at = usize::from(at).min(n);
                self.rest.extend(self.few[..at].iter().map(|&note| Effect::from(note)));
                self.rest.push(Effect::Exited(t, ext));
                self.rest.extend(self.few[at..n].iter().map(|&note| Effect::from(note)));
            }
            None => self.rest.extend(self.few[..n].iter().map(|&note| Effect::from(note))),
        }
        self.rest.push(e);
    }
}

impl Note {
    /// Makes the hook call.
    fn run<P: Platform>(self, hooks: &impl Hooks<P>) {
        match self {
            Note::Created(t) => hooks.thread_created(t),
            Note::Renamed(a, b) => hooks.thread_renamed(a, b),
            Note::Wake(t) => hooks.signal_wakeup(t),
            Note::Queued(p) => hooks.signal_queued(p),
            Note::VforkDone(p, c) => hooks.vfork_done(p, c),
            Note::ChildEvent(p) => hooks.child_event(p),
        }
    }
}

impl<P: Platform> Out<P> {
    fn new() -> Self {
        Out {
            effects: Effects { few: [Note::Wake(0); 4], n: 0, exit: None, rest: Vec::new() },
            thread: None,
            vm: None,
            process: None,
            garbage: Vec::new(),
        }
    }
    fn drop_later<T: 'static>(&mut self, t: T) {
        self.garbage.push(Box::new(t));
    }
    /// [`Out::drop_later`] of a thread's record: in place when it is the
    /// first.
    fn drop_thread_later(&mut self, t: Box<Thread<P>>) {
        match self.thread {
            None => self.thread = Some(t),
            Some(_) => self.drop_later(t),
        }
    }
    /// [`Out::drop_later`] of an address space: in place when it is the
    /// first.
    fn drop_vm_later(&mut self, vm: SharedVm<P>) {
        match self.vm {
            None => self.vm = Some(vm),
            Some(_) => self.drop_later(vm),
        }
    }
    /// [`Out::drop_later`] of a process's record: in place when it is
    /// the first.
    fn drop_process_later(&mut self, p: Box<Process<P>>) {
        match self.process {
            None => self.process = Some(p),
            Some(_) => self.drop_later(p),
        }
    }
    /// Drops the garbage, then makes the hook calls in order.
    fn run(self, hooks: &impl Hooks<P>) {
        drop(self.garbage);
        drop(self.thread);
        drop(self.vm);
        drop(self.process);
        let Effects { few, n, exit, rest } = self.effects;
        let n = usize::from(n);
        match exit {
            Some((at, t, ext)) => {
                let at = usize::from(at).min(n);
                for note in &few[..at] {
                    note.run(hooks);
                }
                hooks.thread_exited(t, ext);
                for note in &few[at..n] {
                    note.run(hooks);
                }
            }
            None => {
                for note in &few[..n] {
                    note.run(hooks);
                }
            }
        }
        if rest.is_empty() {
            return;
        }
        for e in rest {
            match e {
                Effect::Created(t) => hooks.thread_created(t),
                Effect::Exited(t, ext) => hooks.thread_exited(t, ext),
                Effect::Renamed(a, b) => hooks.thread_renamed(a, b),
                Effect::Wake(t) => hooks.signal_wakeup(t),
                Effect::Queued(p) => hooks.signal_queued(p),
                Effect::VforkDone(p, c) => hooks.vfork_done(p, c),
                Effect::ChildEvent(p) => hooks.child_event(p),
                Effect::Futex(vm, addr) => hooks.futex_wake(&vm, addr, 1),
            }
        }
    }
}

struct Inner<P: Platform> {
    pids: PidAllocator,
    /// Boxed: a B-tree node shifts and a clone or reap moves 8-byte
    /// pointers, not the records (hundreds of bytes each).
    procs: BTreeMap<Pid, Box<Process<P>>>,
    /// (pgid, pid) of every process: the members of a group in
    /// O(log n + members), as Linux's per-pid task lists (`PIDTYPE_PGID`),
    /// for kill(-pgrp), setpgid/setsid and the orphaned-group checks.
    groups: BTreeSet<(Pid, Pid)>,
    /// The same pairs for the members that are not zombies: the
    /// orphaned-group checks of every exit look at live members only, so
    /// the exits of a large killed group do not each walk the zombies
    /// the earlier ones left (a quadratic teardown).
    live_groups: BTreeSet<(Pid, Pid)>,
    threads: BTreeMap<Pid, Box<Thread<P>>>,
    /// Processes whose leader thread has exited while the process lives
    /// on (`leader_exit` set): each still counts as a task, so the tasks
    /// (Linux's `nr_threads`) are `threads.len() + leaders_gone`, kept
    /// without a walk.
    leaders_gone: u64,
    sigq: BTreeMap<u32, <Sig<P> as SignalState>::Account>,
    max_threads: u64,
    /// Set when a ptrace link is made; wait's walk over every process for
    /// tracees that are not children runs only while it is set, and clears
    /// it when it finds no link left (so a wait costs O(children), as
    /// Linux's walk of its children and ptraced lists).
    maybe_traced: bool,
    epoch: EpochOf<P>,
    /// The last [`Thread::serial`] given out.
    serial: u64,
    /// The next namespace number (nsfs inode).
    ns_ino: u64,
    /// Live namespaces of each kind by the kernel uid that made them
    /// (Linux's ucounts) and the `user.max_*_namespaces` limits.
    ns_counts: crate::ns::NsCounts,
    /// Told an IPC namespace's number when its record goes
    /// ([`crate::ns::IpcNs::create`]).
    ipc_gone: Option<fn(u64)>,
    /// The numbers of every task (and group or session number) made in a
    /// PID namespace below the initial one: its number at levels 1, 2, ...
    /// (the initial namespace's is the key). Empty while no such namespace
    /// has a process, so the initial namespace's paths look it up only
    /// when it is not.
    vnr: BTreeMap<Pid, Box<[(PidNsRef, Pid)]>>,
    /// Each such namespace's numbers (by nsfs number): its allocator and
    /// its numbers' kernel pids.
    ns_pids: BTreeMap<u64, NsPids>,
}

/// The numbers of one PID namespace below the initial one.
struct NsPids {
    alloc: PidAllocator,
    to_global: BTreeMap<Pid, Pid>,
    /// The kernel pid of its init (its number 1), 0 before the first.
    init: Pid,
}

/// Every process and thread of one kernel. The kernel makes one (there is
/// no global); a test makes its own.
pub struct ProcessTable<P: Platform> {
    inner: TableLock<P>,
    epoch: EpochOf<P>,
    /// Set when a PID namespace below the initial one first gets a
    /// process ([`ProcessTable::pidns_used`]).
    pidns: core::sync::atomic::AtomicBool,
}

/// The table lock, and who runs a `with_*` closure under it
/// ([`Platform::caller_id`], 0: nobody or unknown), so that a closure that
/// calls the table is reported instead of spinning forever.
struct TableLock<P: Platform> {
    mutex: crate::seams::Mutex<P, Inner<P>>,
    closure: AtomicUsize,
}

/// Clears [`TableLock::closure`] when the closure returns (or unwinds).
struct ClosureRuns<'a>(&'a AtomicUsize);

impl Drop for ClosureRuns<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

impl<P: Platform> TableLock<P> {
    /// Whether the caller is inside one of its own `with_*` closures.
    fn reentered(&self) -> bool {
        let owner = self.closure.load(Ordering::Relaxed);
        owner != 0 && owner == P::caller_id()
    }

    /// Takes the lock. A call from inside a `with_*` closure on the same
    /// kernel thread would spin forever: it panics with the reason.
    fn lock(&self) -> lock_api::MutexGuard<'_, P::Lock, Inner<P>> {
        if self.reentered() {
            panic!("process table called from a with_thread/with_process closure (it holds the table lock)");
        }
        self.mutex.lock()
    }

    /// Runs `f` under the lock, marked as a closure of the caller; `None`
    /// when called from such a closure (nested `with_*`).
    fn closure<R>(&self, f: impl FnOnce(&mut Inner<P>) -> Option<R>) -> Option<R> {
        if self.reentered() {
            return None;
        }
        let mut g = self.mutex.lock();
        self.closure.store(P::caller_id(), Ordering::Relaxed);
        let _runs = ClosureRuns(&self.closure);
        f(&mut g)
    }

    #[cfg(any(test, feature = "testing"))]
    fn is_locked(&self) -> bool {
        self.mutex.is_locked()
    }
}

/// What clone copies, taken under the table lock as handles and copied
/// with no table lock held (Linux's `copy_files()`, `copy_fs()`,
/// `copy_sighand()`, `copy_mm()`: their cost grows with the caller's fd
/// table and address space).
struct Resources<P: Platform> {
    vm: Option<SharedVm<P>>,
    files: Option<Files<P>>,
    fs: Option<Fs<P>>,
    handlers: Option<HandlersOf<P>>,
    /// A new process's address-space limits (allocated unlocked).
    space: Option<crate::rlimit::ForkSpace>,
}

impl<P: Platform> Resources<P> {
    /// The child's resources from the caller's handles: shared or copied
    /// as `f` says, in Linux's order. Runs with no table lock held.
    fn copy(parent: &Self, f: CloneFlags, hooks: &impl Hooks<P>) -> Result<Self> {
        use CloneFlags as F;
        let files = match &parent.files {
            Some(files) if f.contains(F::FILES) => Some(files.share()),
            // in steps, a preemption point between two (up to NR_OPEN fds)
            Some(files) => Some(files.fork_with(&mut || hooks.preempt_point())?),
            None => None,
        };
        let fs = match &parent.fs {
            Some(fs) if f.contains(F::FS) => Some(fs.share()),
            Some(fs) => Some(fs.fork()?),
            None => None,
        };
        let (handlers, vm) = if f.contains(F::THREAD) {
            (None, parent.vm.clone())
        } else {
            let handlers = match &parent.handlers {
                Some(h) => {
                    Some(Sig::<P>::clone_handlers(h, f.contains(F::SIGHAND), f.contains(F::CLEAR_SIGHAND))?)
                }
                None => None,
            };
            let vm = match &parent.vm {
                Some(vm) if f.contains(F::VM) => Some(vm.clone()),
                Some(vm) => {
                    // in steps, a preemption point between two
                    let copy = P::Vm::fork_shared(vm, &mut || hooks.preempt_point())?;
                    Some(Arc::new(lock_api::Mutex::new(copy)))
                }
                None => None,
            };
            (handlers, vm)
        };
        let space = (!f.contains(F::THREAD)).then(crate::rlimit::ForkSpace::new);
        Ok(Resources { vm, files, fs, handlers, space })
    }
}

/// A clone in progress between its locked phases.
struct Prepared<P: Platform> {
    tid: Pid,
    parent: Pid,
    clone_parent: bool,
    thread: Option<Box<Thread<P>>>,
    process: Option<Box<Process<P>>>,
    parent_vm: Option<SharedVm<P>>,
    child_vm: Option<SharedVm<P>>,
}

/// A signal number `1..=64`, or `None` (0, negative, too large).
/// Takes `pid` out of a list of children (oldest first), looking from
/// both ends at once: a child reaped soon after its fork is at the back,
/// the oldest of many reaped in fork order at the front, so neither reap
/// walks the whole list (a retain did: reaping 10,000 children in fork
/// order was quadratic).
/// The high-water mark of an address space in KiB (`ru_maxrss`).
fn maxrss_kb<P: Platform>(vm: &SharedVm<P>) -> u64 {
    vm.lock().hiwater_pages() as u64 * 4
}

fn remove_child(children: &mut Vec<Pid>, pid: Pid) {
    let n = children.len();
    let at = (0..n.div_ceil(2)).find_map(|k| {
        if children[n - 1 - k] == pid {
            Some(n - 1 - k)
        } else if children[k] == pid {
            Some(k)
        } else {
            None
        }
    });
    if let Some(i) = at {
        children.remove(i);
    }
}

/// The caller of a kill, as its permission checks see it.
struct Sender {
    pid: Pid,
    uid: crate::cred::Id,
    euid: crate::cred::Id,
    capable: bool,
    sid: Pid,
}

/// `si_uid` of a kill, tgkill or sigqueue sent from user namespace `from`
/// to a process in `to`, given the uid the sender wrote in its own terms
/// (`uid`): Linux's send_signal_locked() maps it back into a kernel uid
/// through `from` and out through `to` when the two differ
/// (`from_kuid_munged(to, make_kuid(from, uid))`).
pub fn signal_uid_across(
    from: &crate::ns::UserNsRef,
    to: &crate::ns::UserNsRef,
    uid: crate::cred::Id,
) -> crate::cred::Id {
    if from == to {
        return uid;
    }
    from.uid_into(uid).map_or(crate::ns::OVERFLOW_ID, |k| to.uid_from(k))
}

fn signum(sig: i32) -> Option<u32> {
    u32::try_from(sig).ok().filter(|s| (1..=64).contains(s))
}

/// Signal `sig` about child `pid`'s state change (SIGCHLD's fields).
fn child_info<P: Platform>(
    sig: u32,
    code: i32,
    pid: Pid,
    uid: u32,
    status: i32,
    times: (i64, i64),
) -> SigInfoOf<P> {
    let (utime, stime) = times;
    Sig::<P>::info(sig, Origin::Child { code, pid: pid as i32, uid, status, utime, stime })
}

impl<P: Platform> ProcessTable<P> {
    /// An empty table with pids `1..pid_max` and its own signal epoch.
    pub fn new(pid_max: u32) -> Self {
        Self::with_epoch(pid_max, Sig::<P>::new_epoch())
    }

    /// An empty table with pids `1..pid_max` whose threads' and processes'
    /// signal queues and masks bump `epoch` (the kernel's, see
    /// `kernabi-signal`'s `epoch`), as do the table's own group exits, stops and
    /// ptrace events.
    pub fn with_epoch(pid_max: u32, epoch: EpochOf<P>) -> Self {
        ProcessTable {
            inner: TableLock {
                closure: AtomicUsize::new(0),
                mutex: lock_api::Mutex::new(Inner {
                    pids: PidAllocator::new(pid_max),
                    procs: BTreeMap::new(),
                    groups: BTreeSet::new(),
                    live_groups: BTreeSet::new(),
                    threads: BTreeMap::new(),
                    leaders_gone: 0,
                    sigq: BTreeMap::new(),
                    max_threads: u64::MAX,
                    maybe_traced: false,
                    epoch: epoch.clone(),
                    serial: 0,
                    ns_ino: crate::ns::FIRST_DYNAMIC_INO,
                    ns_counts: crate::ns::NsCounts::default(),
                    ipc_gone: None,
                    vnr: BTreeMap::new(),
                    ns_pids: BTreeMap::new(),
                }),
            },
            epoch,
            pidns: core::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether a PID namespace below the initial one ever had a process
    /// (until then no number needs a translation).
    pub fn pidns_used(&self) -> bool {
        self.pidns.load(Ordering::Relaxed)
    }

    /// Kernel pid `pid` as task `viewer` sees it (`pid_vnr`): 0 when it
    /// is outside the viewer's PID namespace.
    pub fn pid_seen(&self, viewer: Pid, pid: Pid) -> Pid {
        if !self.pidns_used() {
            return pid;
        }
        self.inner.lock().nr_seen(viewer, pid)
    }

    /// Number `nr` of task `viewer`'s PID namespace as a kernel pid
    /// (`find_vpid`): `None` when the namespace has no such number.
    pub fn pid_from(&self, viewer: Pid, nr: Pid) -> Option<Pid> {
        if !self.pidns_used() {
            return Some(nr);
        }
        self.inner.lock().user_nr(viewer, nr)
    }

    /// Kernel pid `pid` as PID namespace `ns` numbers it (`pid_nr_ns`; a
    /// procfs mount's namespace): 0 when it is not visible there.
    pub fn pid_in(&self, pid: Pid, ns: &PidNsRef) -> Pid {
        if ns.is_initial() {
            return pid;
        }
        self.inner.lock().nr_in(pid, ns)
    }

    /// Number `nr` of PID namespace `ns` as a kernel pid (`find_pid_ns`):
    /// `None` when the namespace has no such number.
    pub fn pid_of_nr(&self, ns: &PidNsRef, nr: Pid) -> Option<Pid> {
        if ns.is_initial() {
            return Some(nr);
        }
        self.inner.lock().global_in(nr, ns)
    }

    /// The children of thread `tid`, oldest first (Linux's
    /// `task->children`: the processes it forked, zombies included, and
    /// those handed to it; /proc/PID/task/TID/children). Empty for an
    /// unknown thread.
    pub fn thread_children(&self, tid: Pid) -> Vec<Pid> {
        let g = self.inner.lock();
        let Some(pid) = g.threads.get(&tid).map(|t| t.tgid) else { return Vec::new() };
        let Some(p) = g.procs.get(&pid) else { return Vec::new() };
        p.children
            .iter()
            .copied()
            .filter(|c| g.procs.get(c).is_some_and(|cp| cp.parent_thread == tid))
            .collect()
    }

    /// The PID namespace task `pid` is in (`task_active_pid_ns`).
    pub fn active_pid_ns(&self, pid: Pid) -> PidNsRef {
        if !self.pidns_used() {
            return PidNsRef::INITIAL;
        }
        self.inner.lock().active_ns(pid)
    }

    /// Kernel pid `pid`'s numbers from namespace `from` (the viewer's) down
    /// to its own (/proc/PID/status's NSpid): empty when `from` does not
    /// see it.
    pub fn pid_numbers(&self, pid: Pid, from: &PidNsRef) -> Vec<Pid> {
        let g = self.inner.lock();
        let first = g.nr_in(pid, from);
        if first == 0 {
            return Vec::new();
        }
        let mut v = alloc::vec![first];
        if let Some(chain) = g.vnr.get(&pid) {
            v.extend(chain.iter().skip(from.level() as usize).map(|(_, nr)| *nr));
        }
        v
    }

    /// setns(2) into PID namespace `ns` (for the children of process `pid`):
    /// `EINVAL` unless it is the caller's own namespace or below it.
    pub fn set_pid_children(&self, pid: Pid, ns: PidNsRef) -> Result<()> {
        let mut g = self.inner.lock();
        let active = g.active_ns(pid);
        if !active.is_ancestor_of(&ns) {
            return Err(Errno::EINVAL);
        }
        let p = g.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        p.ns.pid_children = ns;
        Ok(())
    }

    /// The signal epoch: it moves whenever a thread of this table may have
    /// a signal to take or an exit to act on (read it lock-free on the way
    /// back to user mode).
    pub fn epoch(&self) -> &EpochOf<P> {
        &self.epoch
    }

    /// Whether the table lock is held now (host tests check that nothing
    /// is dropped under it).
    #[cfg(any(test, feature = "testing"))]
    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    /// Sets `user.max_net_namespaces` (network namespaces per user).
    pub fn set_max_net_namespaces(&self, max: u32) {
        self.set_max_namespaces(crate::ns::NsKind::Net, max);
    }

    /// `user.max_net_namespaces`.
    pub fn max_net_namespaces(&self) -> u32 {
        self.max_namespaces(crate::ns::NsKind::Net)
    }

    /// Sets `user.max_<kind>_namespaces` (namespaces of `kind` per user;
    /// `ENOSPC` beyond).
    pub fn set_max_namespaces(&self, kind: crate::ns::NsKind, max: u32) {
        self.inner.lock().ns_counts.set_max(kind, max);
    }

    /// `user.max_<kind>_namespaces`.
    pub fn max_namespaces(&self, kind: crate::ns::NsKind) -> u32 {
        self.inner.lock().ns_counts.max(kind)
    }

    /// `user.max_<kind>_namespaces` as user namespace `ns` sees it (its
    /// own maximum below the initial namespace, `INT_MAX` at its creation).
    pub fn max_namespaces_in(&self, kind: crate::ns::NsKind, ns: &crate::ns::UserNsRef) -> u32 {
        ns.ucount_max(kind).unwrap_or_else(|| self.max_namespaces(kind))
    }

    /// Sets `user.max_<kind>_namespaces` of user namespace `ns` (the
    /// initial one's: [`ProcessTable::set_max_namespaces`]).
    pub fn set_max_namespaces_in(&self, kind: crate::ns::NsKind, ns: &crate::ns::UserNsRef, max: u32) {
        if !ns.set_ucount_max(kind, max) {
            self.set_max_namespaces(kind, max);
        }
    }

    /// How many namespaces of `kind` kernel uid `euid` has made that
    /// live now.
    pub fn namespace_count(&self, kind: crate::ns::NsKind, euid: crate::cred::Id) -> u32 {
        self.inner.lock().ns_counts.count(kind, euid)
    }

    /// Sets what is told an IPC namespace's number when its record goes
    /// (its last holder: a process, an nsfs file, a kernel reference).
    /// It must take no lock (see [`crate::ns::IpcNs::create`]).
    pub fn set_ipc_gone(&self, f: fn(u64)) {
        self.inner.lock().ipc_gone = Some(f);
    }

    /// Sets the system-wide thread limit (`threads-max`).
    pub fn set_max_threads(&self, max: u64) {
        self.inner.lock().max_threads = max;
    }

    /// The system-wide thread limit (`/proc/sys/kernel/threads-max`).
    pub fn max_threads(&self) -> u64 {
        self.inner.lock().max_threads
    }

    /// `/proc/sys/kernel/pid_max`: one more than the largest pid handed out.
    pub fn pid_max(&self) -> u32 {
        self.inner.lock().pids.pid_max()
    }

    /// Sets `pid_max` (`EINVAL` outside `RESERVED_PIDS + 1 ..= PID_MAX_LIMIT`).
    pub fn set_pid_max(&self, pid_max: u32) -> Result<()> {
        self.inner.lock().pids.set_pid_max(pid_max)
    }

    /// Creates init, pid 1. `EEXIST` if the table is not empty.
    pub fn spawn_init(&self, init: InitProcess<P>) -> Result<Pid> {
        let mut g = self.inner.lock();
        if g.pids.used() != 0 {
            return Err(Errno::EEXIST);
        }
        let pid = g.pids.alloc()?;
        // Linux starts init in session 0 and process group 0 (init_struct_pid),
        // not a session leader: its setsid() or setpgid(0, 0) makes them 1.
        g.serial += 1;
        let thread = Thread {
            tid: pid,
            tgid: pid,
            serial: g.serial,
            signals: Sig::<P>::new_thread(&self.epoch),
            clear_child_tid: 0,
            robust_list: (0, 0),
            mm_released: false,
            context: init.context,
            sem_undo: None,
            files: Some(init.files),
            fs: Some(init.fs),
            vfork_parent: None,
            cpu: CpuAccount::new(),
            pdeath_signal: 0,
            no_new_privs: false,
            timer_slack_ns: DEFAULT_TIMER_SLACK_NS,
            default_timer_slack_ns: DEFAULT_TIMER_SLACK_NS,
            trace: ThreadTrace::default(),
            ext: Default::default(),
        };
        let process = Process {
            pid,
            parent: 0,
            parent_cell: Arc::new(AtomicU32::new(0)),
            parent_thread: 0,
            children: Vec::new(),
            threads: alloc::vec![pid],
            pgid: 0,
            sid: 0,
            session_leader: false,
            exit_signal: SIGCHLD as i32,
            state: ProcState::Running,
            leader_exit: None,
            group_exit: None,
            stop_report: None,
            cont_report: false,
            did_exec: true,
            child_subreaper: false,
            child_events: 0,
            vm: Some(Arc::new(lock_api::Mutex::new(init.vm))),
            handlers: Sig::<P>::new_handlers(),
            pending: Sig::<P>::new_process(&self.epoch),
            creds: init.creds,
            ns: crate::ns::NsSet::initial(),
            rlimits: init.rlimits,
            usage: Rusage::default(),
            children_usage: Rusage::default(),
            ptrace: None,
            ptracer: PtracerPolicy::None,
            parent_notify_deferred: false,
            leader_traced_exit: false,
            trace_exits: Vec::new(),
            dumpable: 1,
            cap_bset: CAP_FULL_SET,
            oom_score_adj: (0, 0),
            membarrier: 0,
            mlock: Default::default(),
            ext: Default::default(),
        };
        g.threads.insert(pid, Box::new(thread));
        g.groups.insert((process.pgid, pid));
        g.live_groups.insert((process.pgid, pid));
        g.procs.insert(pid, Box::new(process));
        Ok(pid)
    }

    /// Runs `f` on a thread; `None` if there is no such thread. `f` runs
    /// under the table lock: it must not call the table. With
    /// [`Platform::caller_id`], a `with_*` call from inside `f` returns
    /// `None` and any other table call panics, instead of spinning forever.
    pub fn with_thread<R>(&self, tid: Pid, f: impl FnOnce(&mut Thread<P>) -> R) -> Option<R> {
        self.inner.closure(|g| g.threads.get_mut(&tid).map(|t| f(t)))
    }

    /// Takes the next signal thread `tid` should act on, from its own
    /// queue first, then its process's (Linux's `dequeue_signal()`), under
    /// one lock; `None` if nothing unblocked is pending (or no such thread).
    pub fn dequeue_signal(&self, tid: Pid) -> Option<SigInfoOf<P>> {
        let mut g = self.inner.lock();
        let g = &mut *g;
        let t = g.threads.get_mut(&tid)?;
        let p = g.procs.get_mut(&t.tgid)?;
        Sig::<P>::dequeue(&mut t.signals, &mut p.pending)
    }

    /// Runs `f` on thread `tid` and process `pid` together, under one
    /// lock (a look at the thread's and the process's pending signals that
    /// no other CPU can split); `None` if either is missing.
    pub fn with_thread_process<R>(
        &self,
        tid: Pid,
        pid: Pid,
        f: impl FnOnce(&mut Thread<P>, &mut Process<P>) -> R,
    ) -> Option<R> {
        self.inner.closure(|g| {
            let th = g.threads.get_mut(&tid)?;
            let p = g.procs.get_mut(&pid)?;
            Some(f(th, p))
        })
    }

    /// Runs `f` on thread `tid` and its own process under one lock, as
    /// [`ProcessTable::with_thread_process`] without a look-up of the
    /// process id first; `None` if either is missing.
    pub fn with_thread_and_process<R>(
        &self,
        tid: Pid,
        f: impl FnOnce(&mut Thread<P>, &mut Process<P>) -> R,
    ) -> Option<R> {
        self.inner.closure(|g| {
            let th = g.threads.get_mut(&tid)?;
            let p = g.procs.get_mut(&th.tgid)?;
            Some(f(th, p))
        })
    }

    /// Runs `f` on a process (zombies included); `None` if there is none.
    /// `f` runs under the table lock: it must not call the table (see
    /// [`ProcessTable::with_thread`]).
    pub fn with_process<R>(&self, pid: Pid, f: impl FnOnce(&mut Process<P>) -> R) -> Option<R> {
        self.inner.closure(|g| g.procs.get_mut(&pid).map(|p| f(p)))
    }

    /// getrusage(RUSAGE_SELF) of process `pid`: its exited threads' usage
    /// plus its live threads' accounts.
    pub fn usage(&self, pid: Pid) -> Option<Rusage> {
        let g = self.inner.lock();
        let p = g.procs.get(&pid)?;
        let mut u = p.usage;
        for t in &p.threads {
            if let Some(th) = g.threads.get(t) {
                u.accumulate(&th.cpu.usage());
            }
        }
        // getrusage(): the live address space's high-water mark too
        if let Some(vm) = &p.vm {
            u.maxrss_kb = u.maxrss_kb.max(maxrss_kb::<P>(vm));
        }
        Some(u)
    }

    /// The CPU times of process `pid` in nanoseconds (the live threads'
    /// to the nanosecond, the exited ones' to the microsecond): the
    /// process CPU clocks and the CPU-time interval timers.
    pub fn cpu_times(&self, pid: Pid) -> Option<CpuTimes> {
        let g = self.inner.lock();
        let p = g.procs.get(&pid)?;
        let mut c = p.usage.cpu_times();
        for t in &p.threads {
            if let Some(th) = g.threads.get(t) {
                c.add(&th.cpu.times());
            }
        }
        Some(c)
    }

    /// Runs `f` on the CPU account of every live thread of process `pid`
    /// (membarrier's rseq kicks: an atomic add each, as [`Self::usage`]
    /// reads each); false when there is no such process.
    pub fn each_thread_cpu(&self, pid: Pid, mut f: impl FnMut(&crate::cputime::CpuAccount)) -> bool {
        let g = self.inner.lock();
        let Some(p) = g.procs.get(&pid) else { return false };
        for t in &p.threads {
            if let Some(th) = g.threads.get(t) {
                f(&th.cpu);
            }
        }
        true
    }

    /// The CPU account of thread `tid`.
    pub fn thread_cpu(&self, tid: Pid) -> Option<SharedCpu> {
        self.inner.lock().threads.get(&tid).map(|t| t.cpu.clone())
    }

    /// The process (thread group) of a thread: getpid(2) for `tid`.
    pub fn tgid(&self, tid: Pid) -> Option<Pid> {
        self.inner.lock().threads.get(&tid).map(|t| t.tgid)
    }

    /// getppid(2): the parent's pid (0 for init).
    pub fn getppid(&self, tid: Pid) -> Result<Pid> {
        let g = self.inner.lock();
        let t = g.threads.get(&tid).ok_or(Errno::ESRCH)?;
        g.procs.get(&t.tgid).map(|p| p.parent).ok_or(Errno::ESRCH)
    }

    /// The pids of every process (zombies included), ascending.
    pub fn pids(&self) -> Vec<Pid> {
        self.inner.lock().procs.keys().copied().collect()
    }

    /// The processes of group `pgrp`, by pid (O(log n + members)).
    pub fn group_members(&self, pgrp: Pid) -> Vec<Pid> {
        self.inner.lock().members(pgrp).collect()
    }

    /// The threads of every process of group `pgrp` (`Some`) or of every
    /// process `keep` accepts (`pgrp` None), taken under one hold of the
    /// table's lock as Linux's getpriority/setpriority walk them under
    /// `tasklist_lock`; `ENOMEM` when the list cannot be allocated.
    pub fn try_threads_of(
        &self,
        pgrp: Option<Pid>,
        mut keep: impl FnMut(&Process<P>) -> bool,
    ) -> Result<Vec<Pid>> {
        let inner = self.inner.lock();
        let mut out = Vec::new();
        let mut add = |p: &Process<P>| -> Result<()> {
            if keep(p) {
                out.try_reserve(p.threads().len()).map_err(|_| Errno::ENOMEM)?;
                out.extend_from_slice(p.threads());
            }
            Ok(())
        };
        match pgrp {
            Some(g) => {
                for p in inner.members(g).filter_map(|m| inner.procs.get(&m)) {
                    add(p)?;
                }
            }
            None => {
                for p in inner.procs.values() {
                    add(p)?;
                }
            }
        }
        Ok(out)
    }

    /// How many threads are alive.
    pub fn thread_count(&self) -> usize {
        self.inner.lock().threads.len()
    }

    /// How many pid numbers are in use (tids, groups, sessions, zombies).
    pub fn pids_in_use(&self) -> usize {
        self.inner.lock().pids.used()
    }

    /// Whether a pid number is in use.
    pub fn pid_in_use(&self, pid: Pid) -> bool {
        self.inner.lock().pids.is_used(pid)
    }

    /// set_tid_address(2): sets the clear-child-tid word, returns the tid.
    pub fn set_tid_address(&self, tid: Pid, addr: u64) -> Result<Pid> {
        let mut g = self.inner.lock();
        let t = g.threads.get_mut(&tid).ok_or(Errno::ESRCH)?;
        t.clear_child_tid = addr;
        Ok(tid)
    }

    /// set_robust_list(2): `len` must be the size of `struct
    /// robust_list_head` (24), else `EINVAL`.
    pub fn set_robust_list(&self, tid: Pid, head: u64, len: u64) -> Result<()> {
        if len != 24 {
            return Err(Errno::EINVAL);
        }
        let mut g = self.inner.lock();
        let t = g.threads.get_mut(&tid).ok_or(Errno::ESRCH)?;
        t.robust_list = (head, len);
        Ok(())
    }

    /// prctl(PR_SET_CHILD_SUBREAPER).
    pub fn set_child_subreaper(&self, tid: Pid, on: bool) -> Result<()> {
        let mut g = self.inner.lock();
        let pid = g.threads.get(&tid).ok_or(Errno::ESRCH)?.tgid;
        let p = g.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        p.child_subreaper = on;
        Ok(())
    }

    // ----- clone -------------------------------------------------------

    /// clone/clone3/fork/vfork from thread `caller`: returns the child's
    /// tid (its pid unless `CLONE_THREAD`). With `CLONE_VFORK` returns
    /// after [`Hooks::wait_vfork_done`]. A failed clone leaves no trace.
    pub fn clone_task(&self, caller: Pid, args: &CloneArgs, hooks: &impl Hooks<P>) -> Result<Pid> {
        self.clone_task_seen(caller, args, hooks).map(|(child, _)| child)
    }

    /// [`ProcessTable::clone_task`], returning the child's kernel pid and
    /// its number as the caller's PID namespace sees it (what clone(2)
    /// returns; the tid words are written with the numbers the parent and
    /// the child see).
    pub fn clone_task_seen(
        &self,
        caller: Pid,
        args: &CloneArgs,
        hooks: &impl Hooks<P>,
    ) -> Result<(Pid, Pid)> {
        // The table is locked to check the caller and take handles on what
        // is copied, then again to make the records: the copies themselves
        // (fd table, fs context, handlers, address space) are made with no
        // table lock held.
        let parent = self.inner.lock().clone_snapshot(caller, args)?;
        let copies = Resources::copy(&parent, args.flags, hooks)?;
        let mut early = Out::new();
        let prepared = {
            let mut g = self.inner.lock();
            let r = g.prepare_clone(caller, args, &parent, copies, &mut early);
            if !g.vnr.is_empty() {
                self.pidns.store(true, Ordering::Relaxed);
            }
            r
        };
        drop(parent);
        // what a failed preparation made is dropped here, unlocked
        early.run(hooks);
        let mut prepared = prepared?;
        let child = prepared.tid;
        let (parent_seen, child_seen) = if self.pidns_used() {
            let g = self.inner.lock();
            (g.nr_seen(caller, child), g.nr_seen(child, child))
        } else {
            (child, child)
        };
        let parent_pid = prepared.parent;
        // Unlocked phase: pidfd, then the cgroup.
        let mut pidfd = None;
        let mut res = Ok(());
        if args.flags.contains(CloneFlags::PIDFD) {
            match hooks.create_pidfd(parent_pid, child) {
                Ok(fd) => {
                    pidfd = Some(fd);
                    if let Some(vm) = &prepared.parent_vm {
                        res = VmMemory::<P>(vm).write_u32(args.pidfd, fd as u32);
                    } else {
                        res = Err(Errno::EFAULT);
                    }
                }
                Err(e) => res = Err(e),
            }
        }
        if res.is_ok() && args.flags.contains(CloneFlags::INTO_CGROUP) {
            res = hooks.check_cgroup(parent_pid, args.cgroup);
        }
        let mut out = Out::new();
        if res.is_ok() {
            let mut g = self.inner.lock();
            res = g.commit_clone(caller, &mut prepared);
        }
        if let Err(e) = res {
            if let Some(fd) = pidfd {
                hooks.destroy_pidfd(parent_pid, fd);
            }
            {
                let mut g = self.inner.lock();
                g.put_pid(child);
                if let Some(p) = &prepared.process {
                    g.put_pid(p.pgid);
                    g.put_pid(p.sid);
                }
            }
            drop(prepared);
            return Err(e);
        }
        // kernel_clone(): the parent's tid word (errors ignored, as Linux);
        // the child's own word is written before it runs (schedule_tail).
        if args.flags.contains(CloneFlags::PARENT_SETTID)
            && let Some(vm) = &prepared.parent_vm
        {
            let _ = VmMemory::<P>(vm).write_u32(args.parent_tid, parent_seen);
        }
        if args.flags.contains(CloneFlags::CHILD_SETTID)
            && let Some(vm) = &prepared.child_vm
        {
            let _ = VmMemory::<P>(vm).write_u32(args.child_tid, child_seen);
        }
        drop(prepared);
        let event = self.inner.lock().ptrace_clone(caller, child, args);
        out.effects.note(Note::Created(child));
        out.run(hooks);
        if let Some((ev, _)) = event {
            hooks.ptrace_event(caller, ev, u64::from(child));
        }
        if args.flags.contains(CloneFlags::VFORK) {
            hooks.wait_vfork_done(caller, child);
            if let Some((_, true)) = event {
                hooks.ptrace_event(caller, crate::ptrace::EVENT_VFORK_DONE, u64::from(child));
            }
        }
        Ok((child, parent_seen))
    }

    // ----- exit ----------------------------------------------------------

    /// exit(2) of thread `tid` with `code`: only this thread ends unless it
    /// is the last one; the group's status is then `code` (or the group
    /// exit's status if one is in progress).
    pub fn exit_thread(&self, tid: Pid, code: i32, hooks: &impl Hooks<P>) {
        self.exit_thread_as(tid, None, code, hooks);
    }

    /// [`ProcessTable::exit_thread`] of the thread whose record had
    /// [`Thread::serial`] `serial` (`None`: whoever is at `tid`): nothing
    /// happens if the record at `tid` is another thread's (a thread's exec
    /// took the leader's tid, and the old leader is gone, as after Linux's
    /// de_thread()).
    pub fn exit_thread_as(&self, tid: Pid, serial: Option<u64>, code: i32, hooks: &impl Hooks<P>) {
        let mut out = Out::new();
        {
            let mut g = self.inner.lock();
            if g.is(tid, serial) {
                g.exit_thread(tid, ChildStatus::exited(code), &mut out);
            }
        }
        out.run(hooks);
    }

    /// exit_mm(), the first step of an exit (Linux runs it before
    /// exit_notify): the robust list, `clear_child_tid` and the vfork
    /// release of thread `tid` (mm_release), and, when every other thread
    /// of its process has given up the address space too, the process's
    /// handle on it, returned so the caller drops it with no lock held and
    /// before [`ProcessTable::exit_thread`] or [`ProcessTable::exit_group`]
    /// tells the parent (which may read the memory figures at once). The
    /// thread stays in the table until that call; repeating this is
    /// harmless.
    pub fn exit_mm(&self, tid: Pid, hooks: &impl Hooks<P>) -> Option<SharedVm<P>> {
        self.exit_mm_as(tid, None, hooks)
    }

    /// [`ProcessTable::exit_mm`] of the thread whose record had
    /// [`Thread::serial`] `serial` (`None`: whoever is at `tid`): nothing
    /// happens (and `None` is returned) if the record at `tid` is another
    /// thread's, e.g. the one whose exec took the leader's tid.
    pub fn exit_mm_as(&self, tid: Pid, serial: Option<u64>, hooks: &impl Hooks<P>) -> Option<SharedVm<P>> {
        let mut out = Out::new();
        let vm = {
            let mut g = self.inner.lock();
            if g.is(tid, serial) { g.exit_mm(tid, &mut out) } else { None }
        };
        out.run(hooks);
        vm
    }

    /// exit_group(2) (or a fatal signal, with a `Killed` status): records
    /// the group's status, sends SIGKILL to the other threads (which call
    /// [`ProcessTable::exit_thread`] when they next run) and ends `tid`.
    pub fn exit_group(&self, tid: Pid, status: ChildStatus, hooks: &impl Hooks<P>) {
        self.exit_group_as(tid, None, status, hooks);
    }

    /// [`ProcessTable::exit_group`] of the thread whose record had
    /// [`Thread::serial`] `serial` (`None`: whoever is at `tid`): nothing
    /// happens if the record at `tid` is another thread's (the group the
    /// caller belonged to is already gone: another thread's exec won).
    pub fn exit_group_as(&self, tid: Pid, serial: Option<u64>, status: ChildStatus, hooks: &impl Hooks<P>) {
        let mut out = Out::new();
        {
            let mut g = self.inner.lock();
            if g.is(tid, serial)
                && let Some(pid) = g.threads.get(&tid).map(|t| t.tgid)
            {
                g.start_group_exit(pid, status, &mut out);
                g.exit_thread(tid, status, &mut out);
            }
        }
        out.run(hooks);
    }

    /// The threads that have been told to die (SIGKILL pending) but have
    /// not exited yet.
    pub fn threads_to_kill(&self) -> Vec<Pid> {
        let g = self.inner.lock();
        g.threads
            .values()
            .filter(|t| {
                Sig::<P>::thread_pending(&t.signals) & crate::sigstate::sigbit(SIGKILL) != 0
                    || g.procs.get(&t.tgid).is_some_and(|p| p.group_exit.is_some())
            })
            .map(|t| t.tid)
            .collect()
    }

    // ----- stop / continue ----------------------------------------------

    /// A group stop completed for `pid` by `sig` (the kernel's signal
    /// delivery stops the threads, then calls this): the process is stopped,
    /// waitable with `WUNTRACED`, and the parent gets `CLD_STOPPED` unless
    /// its SIGCHLD has `SA_NOCLDSTOP`.
    pub fn stop(&self, pid: Pid, sig: u32, hooks: &impl Hooks<P>) -> Result<()> {
        let mut out = Out::new();
        let r = self.inner.lock().stop(pid, sig, &mut out);
        out.run(hooks);
        r
    }

    /// The process continues (SIGCONT): waitable with `WCONTINUED`, and the
    /// parent gets `CLD_CONTINUED` unless `SA_NOCLDSTOP`. No effect if it
    /// was not stopped.
    pub fn cont(&self, pid: Pid, hooks: &impl Hooks<P>) -> Result<()> {
        let mut out = Out::new();
        let r = self.inner.lock().cont(pid, &mut out);
        out.run(hooks);
        r
    }

    // ----- ptrace --------------------------------------------------------

    /// PTRACE_TRACEME: the caller's process is traced by its parent;
    /// `EPERM` if it is traced already.
    pub fn ptrace_traceme(&self, tid: Pid) -> Result<()> {
        let mut g = self.inner.lock();
        let pid = g.proc_of(tid)?;
        let p = g.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        if p.ptrace.is_some() {
            return Err(Errno::EPERM);
        }
        p.ptrace = Some(TraceLink::new(p.parent, false, Options::empty()));
        g.maybe_traced = true;
        if let Some(t) = g.threads.get_mut(&tid) {
            t.trace = ThreadTrace::attach();
        }
        Ok(())
    }

    /// `ptrace_may_access(PTRACE_MODE_ATTACH_*)` of thread `caller` on
    /// process `pid` with YAMA's scope 1: `EPERM` when refused; always
    /// allowed within one process.
    pub fn ptrace_may_access(&self, caller: Pid, pid: Pid, mode: CredMode) -> Result<()> {
        let g = self.inner.lock();
        g.ptrace_may_access(caller, pid, mode)
    }

    /// PTRACE_ATTACH (`seize` None) or PTRACE_SEIZE (with its options) of
    /// `pid` (a thread id finds its process) by thread `caller`, in
    /// `ptrace_attach()`'s order: `ESRCH` for no such task, `EPERM` for the
    /// caller's own process, a refused access, a dead or traced target.
    /// ATTACH sends SIGSTOP; a seized tracee that is group-stopped traps.
    pub fn ptrace_attach(
        &self,
        caller: Pid,
        pid: i32,
        seize: Option<Options>,
        hooks: &impl Hooks<P>,
    ) -> Result<Pid> {
        let mut out = Out::new();
        let r = self.inner.lock().ptrace_attach(caller, pid, seize, &mut out);
        out.run(hooks);
        r
    }

    /// `ptrace_check_attach()`: thread `pid` traced by the caller's
    /// process and (unless `any_state`) in a trace stop: `(its process,
    /// the thread)`; `ESRCH` otherwise.
    pub fn ptrace_tracee(&self, caller: Pid, pid: i32, any_state: bool) -> Result<(Pid, Pid)> {
        let g = self.inner.lock();
        let me = g.proc_of(caller)?;
        let target = u32::try_from(pid).ok().filter(|&p| p != 0).ok_or(Errno::ESRCH)?;
        let th = g.threads.get(&target).ok_or(Errno::ESRCH)?;
        let tgid = th.tgid;
        let p = g.procs.get(&tgid).ok_or(Errno::ESRCH)?;
        p.ptrace.as_ref().filter(|l| l.tracer == me).ok_or(Errno::ESRCH)?;
        if th.trace.attached && (any_state || th.trace.is_stopped()) {
            Ok((tgid, target))
        } else {
            Err(Errno::ESRCH)
        }
    }

    /// Runs `f` on the trace link of process `pid`, if it is traced.
    pub fn with_trace<R>(&self, pid: Pid, f: impl FnOnce(&mut TraceLink) -> R) -> Option<R> {
        self.inner.closure(|g| g.procs.get_mut(&pid).and_then(|p| p.ptrace.as_mut()).map(f))
    }

    /// Runs `f` on the trace state of thread `tid`, if it is a tracee.
    pub fn with_thread_trace<R>(
        &self,
        tid: Pid,
        f: impl FnOnce(&mut ThreadTrace<SigInfoOf<P>>) -> R,
    ) -> Option<R> {
        self.inner.closure(|g| g.threads.get_mut(&tid).map(|t| &mut t.trace).filter(|t| t.attached).map(f))
    }

    /// Whether a `PTRACE_EVENT_STOP` trap is due for thread `tid`: its
    /// own, or its traced process's (None: not a tracee).
    pub fn ptrace_trap_due(&self, tid: Pid) -> Option<bool> {
        let g = self.inner.lock();
        let th = g.threads.get(&tid).filter(|t| t.trace.attached)?;
        let l = g.procs.get(&th.tgid)?.ptrace.as_ref()?;
        Some(th.trace.trap || l.trap_pending())
    }

    /// The tracer resumes the stopped tracee thread `tid` (CONT, SYSCALL,
    /// SINGLESTEP): it wakes with `r`.
    pub fn ptrace_resume(&self, tid: Pid, r: Resume, hooks: &impl Hooks<P>) {
        let mut out = Out::new();
        {
            let mut g = self.inner.lock();
            if let Some(t) = g.threads.get_mut(&tid).map(|t| &mut t.trace).filter(|t| t.attached) {
                if t.stopped {
                    out.effects.note(Note::Wake(tid));
                }
                t.resume(r);
            }
        }
        out.run(hooks);
    }

    /// PTRACE_DETACH of thread `tid`: it is no longer a tracee; stopped,
    /// it wakes and goes on with `sig` (0: none). The process's link goes
    /// with its last tracee.
    pub fn ptrace_detach(&self, tid: Pid, sig: u32, hooks: &impl Hooks<P>) {
        let mut out = Out::new();
        {
            let mut g = self.inner.lock();
            if let Ok(pid) = g.proc_of(tid) {
                g.ptrace_unlink_thread(tid, Some(sig), &mut out);
                if !g.still_traced(pid) {
                    g.ptrace_unlink(pid, Some(sig), &mut out);
                }
            }
        }
        out.run(hooks);
    }

    /// PTRACE_LISTEN of tracee thread `tid` ([`TraceLink::listen`]): a trap
    /// due already wakes the thread to trap again.
    pub fn ptrace_listen(&self, tid: Pid, hooks: &impl Hooks<P>) -> Result<()> {
        let mut out = Out::new();
        let r = {
            let mut g = self.inner.lock();
            let g = &mut *g;
            let th = g.threads.get_mut(&tid).ok_or(Errno::ESRCH)?;
            let l = g.procs.get_mut(&th.tgid).and_then(|p| p.ptrace.as_mut()).ok_or(Errno::ESRCH)?;
            if l.listen(tid, &mut th.trace)? {
                out.effects.note(Note::Wake(tid));
            }
            Ok(())
        };
        out.run(hooks);
        r
    }

    /// A group stop of traced process `pid` (do_signal_stop()): each of its
    /// tracees traps for the tracer on its way back to user mode.
    pub fn ptrace_group_trap(&self, pid: Pid, hooks: &impl Hooks<P>) {
        let mut out = Out::new();
        {
            let mut g = self.inner.lock();
            let threads = g.procs.get(&pid).map(|p| p.threads.clone()).unwrap_or_default();
            for t in threads {
                if let Some(th) = g.threads.get_mut(&t).filter(|th| th.trace.attached) {
                    th.trace.trap = true;
                    out.effects.note(Note::Wake(t));
                }
            }
            Sig::<P>::bump(&g.epoch);
        }
        out.run(hooks);
    }

    /// PTRACE_INTERRUPT of a seized tracee thread `tid`: it traps with
    /// `PTRACE_EVENT_STOP` on its way back to user mode.
    pub fn ptrace_interrupt(&self, tid: Pid, hooks: &impl Hooks<P>) -> Result<()> {
        let mut out = Out::new();
        let r = {
            let mut g = self.inner.lock();
            let g = &mut *g;
            let th = g.threads.get_mut(&tid).ok_or(Errno::ESRCH)?;
            let l = g.procs.get(&th.tgid).and_then(|p| p.ptrace.as_ref()).ok_or(Errno::ESRCH)?;
            if !l.seized {
                Err(Errno::EIO)
            } else {
                th.trace.trap = true;
                Sig::<P>::bump(&g.epoch);
                out.effects.note(Note::Wake(tid));
                Ok(())
            }
        };
        out.run(hooks);
        r
    }

    /// Thread `tid` of a traced process enters a trace stop: the tracer's
    /// wait reports `code`, the tracer gets `SIGCHLD` (`CLD_TRAPPED`, or
    /// `CLD_STOPPED` for a group stop) unless `SA_NOCLDSTOP`. False when the
    /// process is not traced (the caller goes on without stopping).
    pub fn ptrace_stop(
        &self,
        tid: Pid,
        kind: StopKind,
        code: u32,
        info: Option<SigInfoOf<P>>,
        hooks: &impl Hooks<P>,
    ) -> bool {
        let mut out = Out::new();
        let r = self.inner.lock().ptrace_stop(tid, kind, code, info, &mut out);
        out.run(hooks);
        r
    }

    /// What the stopped thread `tid` finds: `Some(r)` resumed with `r`
    /// (detached: PTRACE_CONT with the detach's signal), `None` still
    /// stopped.
    pub fn ptrace_poll(&self, tid: Pid) -> Option<Resume> {
        let mut g = self.inner.lock();
        let t = &mut g.threads.get_mut(&tid)?.trace;
        if let Some(sig) = t.detach_sig.take() {
            return Some(Resume { mode: crate::ptrace::ResumeMode::Cont, sig });
        }
        if t.attached {
            t.resume.take()
        } else {
            Some(Resume { mode: crate::ptrace::ResumeMode::Cont, sig: 0 })
        }
    }

    /// The tracer's options of process `pid` (None: not traced).
    pub fn ptrace_options(&self, pid: Pid) -> Option<(Options, bool)> {
        let g = self.inner.lock();
        g.procs.get(&pid).and_then(|p| p.ptrace.as_ref()).map(|l| (l.options, l.seized))
    }

    /// The queued-signal account of user `uid` (RLIMIT_SIGPENDING's count,
    /// /proc/PID/status's `SigQ:`), if that user ever had one.
    pub fn signal_account(&self, uid: u32) -> Option<<Sig<P> as SignalState>::Account> {
        self.inner.lock().sigq.get(&uid).cloned()
    }

    /// The tracer's pid of process `pid` (0: none), for TracerPid.
    pub fn tracer_of(&self, pid: Pid) -> Pid {
        let g = self.inner.lock();
        g.procs.get(&pid).and_then(|p| p.ptrace.as_ref()).map_or(0, |l| l.tracer)
    }

    /// prctl(PR_SET_PTRACER, arg): 0 clears, `PR_SET_PTRACER_ANY` lets
    /// anyone, a pid names a process (and its descendants); `EINVAL` for
    /// no such process.
    pub fn set_ptracer(&self, caller: Pid, arg: u64) -> Result<()> {
        let mut g = self.inner.lock();
        let me = g.proc_of(caller)?;
        let policy = match arg {
            0 => PtracerPolicy::None,
            crate::ptrace::PR_SET_PTRACER_ANY => PtracerPolicy::Any,
            p => {
                let p = u32::try_from(p).map_err(|_| Errno::EINVAL)?;
                let tgid = g.threads.get(&p).map(|t| t.tgid).ok_or(Errno::EINVAL)?;
                PtracerPolicy::Pid(tgid)
            }
        };
        g.procs.get_mut(&me).ok_or(Errno::ESRCH)?.ptracer = policy;
        Ok(())
    }

    // ----- wait ---------------------------------------------------------

    /// wait4/waitid's core: the first eligible child with something to
    /// report, reaped unless `WNOWAIT`; `Ok(None)` with `WNOHANG` when
    /// nothing is ready; `ECHILD` when no child matches. Blocks through
    /// [`Hooks::wait_for_child`] otherwise.
    pub fn wait(&self, caller: Pid, req: WaitRequest, hooks: &impl Hooks<P>) -> Result<Option<WaitReport>> {
        let mut req = req;
        // numbers of the caller's PID namespace (none: a number no child has)
        let ns_used = self.pidns_used();
        if ns_used {
            let g = self.inner.lock();
            match req.selector {
                WaitSelector::Pid(nr) => req.selector = WaitSelector::Pid(g.user_nr(caller, nr).unwrap_or(0)),
                WaitSelector::Pgid(nr) => {
                    req.selector = WaitSelector::Pgid(g.user_nr(caller, nr).unwrap_or(0))
                }
                _ => {}
            }
        }
        // a non-blocking pidfd waits as WNOHANG, and says EAGAIN instead of
        // "nothing yet" when the caller did not ask for WNOHANG (Linux 5.10+)
        let mut eagain = false;
        if let WaitSelector::PidFd(fd) = req.selector {
            let me = self.tgid(caller).ok_or(Errno::ESRCH)?;
            let (pid, nonblock) = hooks.pidfd_pid(me, fd)?;
            req.selector = WaitSelector::Pid(pid);
            if nonblock && !req.options.contains(WaitOptions::WNOHANG) {
                req.options |= WaitOptions::WNOHANG;
                eagain = true;
            }
        }
        loop {
            let mut out = Out::new();
            let (r, seen) = {
                let mut g = self.inner.lock();
                let r = g.try_wait(caller, &req, &mut out);
                let seen = g.proc_of(caller).ok().and_then(|p| g.procs.get(&p)).map_or(0, |p| p.child_events);
                (r, seen)
            };
            out.run(hooks);
            match r? {
                Some(rep) => return Ok(Some(rep)),
                None if eagain => return Err(Errno::EAGAIN),
                None if req.options.contains(WaitOptions::WNOHANG) => return Ok(None),
                None => hooks.wait_for_child(caller, seen)?,
            }
        }
    }

    /// wait4(2): `(pid, status word, rusage)`; pid 0 with `WNOHANG` and
    /// nothing ready.
    pub fn wait4(
        &self,
        caller: Pid,
        pid: i32,
        options: u32,
        hooks: &impl Hooks<P>,
    ) -> Result<(Pid, i32, Rusage)> {
        let req = WaitRequest::wait4(pid, options)?;
        Ok(match self.wait(caller, req, hooks)? {
            Some(r) => (r.pid, r.status.to_wait_status(), r.rusage),
            None => (0, 0, Rusage::default()),
        })
    }

    /// waitid(2): the siginfo fields to write (all zero with `WNOHANG` and
    /// nothing ready) and the rusage.
    pub fn waitid(
        &self,
        caller: Pid,
        idtype: i32,
        id: i32,
        options: u32,
        hooks: &impl Hooks<P>,
    ) -> Result<(WaitidInfo, Rusage)> {
        let req = WaitRequest::waitid(idtype, id, options)?;
        Ok(match self.wait(caller, req, hooks)? {
            Some(r) => (r.waitid_info(), r.rusage),
            None => (WaitidInfo::default(), Rusage::default()),
        })
    }

    /// The caller's address space as user memory (for the `sys_*`
    /// helpers); `ESRCH` for an unknown thread.
    fn caller_vm(&self, caller: Pid) -> Result<SharedVm<P>> {
        let g = self.inner.lock();
        let pid = g.proc_of(caller)?;
        g.procs.get(&pid).and_then(|p| p.vm.clone()).ok_or(Errno::ESRCH)
    }

    /// clone3(2) as a system call: reads the struct from the caller's
    /// memory ([`CloneArgs::from_clone3`] with x86_64's user-space end),
    /// then [`ProcessTable::clone_task`].
    pub fn sys_clone3(&self, caller: Pid, addr: u64, size: usize, hooks: &impl Hooks<P>) -> Result<Pid> {
        let vm = self.caller_vm(caller)?;
        let args =
            CloneArgs::from_clone3(&VmMemory::<P>(&vm), addr, size, crate::clone::USER_SPACE_END_X86_64)?;
        drop(vm);
        self.clone_task(caller, &args, hooks)
    }

    /// wait4(2) as a system call: the status word at `wstatus` and the
    /// rusage at `rusage` (each if non-zero) once a child is reported;
    /// `EFAULT` if they cannot be written (the child stays reaped, as in
    /// Linux).
    pub fn sys_wait4(
        &self,
        caller: Pid,
        pid: i32,
        wstatus: u64,
        options: u32,
        rusage: u64,
        hooks: &impl Hooks<P>,
    ) -> Result<Pid> {
        let (child, status, usage) = self.wait4(caller, pid, options, hooks)?;
        if child > 0 {
            let vm = self.caller_vm(caller)?;
            let mem = VmMemory::<P>(&vm);
            if wstatus != 0 {
                mem.write_u32(wstatus, status as u32)?;
            }
            if rusage != 0 {
                mem.write_bytes(rusage, &usage.to_bytes())?;
            }
        }
        Ok(child)
    }

    /// waitid(2) as a system call: the rusage (if a child was reported and
    /// `rusage` is non-zero), then the six siginfo fields at `infop` (if
    /// non-zero; all zero when nothing was reported). Returns 0.
    #[allow(clippy::too_many_arguments)] // the system call's five, the caller and the hooks
    pub fn sys_waitid(
        &self,
        caller: Pid,
        idtype: i32,
        id: i32,
        infop: u64,
        options: u32,
        rusage: u64,
        hooks: &impl Hooks<P>,
    ) -> Result<()> {
        let (info, usage) = self.waitid(caller, idtype, id, options, hooks)?;
        let vm = self.caller_vm(caller)?;
        let mem = VmMemory::<P>(&vm);
        if info.signo != 0 && rusage != 0 {
            mem.write_bytes(rusage, &usage.to_bytes())?;
        }
        if infop != 0 {
            info.write_to(&mem, infop)?;
        }
        Ok(())
    }

    /// unshare(2) from thread `tid` (Linux's `ksys_unshare()`): the implied
    /// flags are added (`NEWUSER` → `THREAD|FS`, `VM` → `SIGHAND`,
    /// `SIGHAND` → `THREAD`, `NEWNS` → `FS`); unknown flags are `EINVAL`;
    /// `THREAD`, `SIGHAND` and `VM` only "work" when there is nothing to
    /// unshare, else `EINVAL`; `CLONE_FS` and `CLONE_FILES` give the thread
    /// private copies; `CLONE_SYSVSEM` drops its undo list. Namespaces:
    /// `NEWUSER` is `EINVAL`, the others `EPERM` without `CAP_SYS_ADMIN`,
    /// else `EINVAL` (not built), as for clone.
    ///
    /// The fd table and fs context are copied with no table lock held
    /// (their cost grows with the table): the checks and the handles to
    /// copy are taken under the lock, the copies installed under it again.
    /// Only the thread itself replaces its handles, so they are still the
    /// ones copied (a de-thread that removed the thread meanwhile is
    /// `ESRCH`: the record's serial is checked, not only its id).
    pub fn unshare(&self, tid: Pid, flags: u64) -> Result<()> {
        let (files, fs, sem, serial) = {
            let mut g = self.inner.lock();
            let (files, fs, sem) = g.unshare(tid, flags)?;
            (files, fs, sem, g.threads.get(&tid).map(|t| t.serial))
        };
        // unshare_fs(), unshare_fd(), with no lock held
        let copies =
            (fs.as_ref().map(FsContext::fork).transpose(), files.as_ref().map(FdTable::fork).transpose());
        drop((files, fs));
        let (new_fs, new_files) = (copies.0?, copies.1?);
        let garbage;
        {
            let mut g = self.inner.lock();
            let t = g.threads.get_mut(&tid).filter(|t| Some(t.serial) == serial).ok_or(Errno::ESRCH)?;
            let old_fs = new_fs.and_then(|fs| t.fs.replace(fs));
            let old_files = new_files.and_then(|files| t.files.replace(files));
            // exit_sem() once nothing can fail
            let old_sem = if sem { t.sem_undo.take() } else { None };
            garbage = (old_files, old_fs, old_sem);
        }
        drop(garbage);
        Ok(())
    }

    // ----- groups and sessions ---------------------------------------------

    /// setpgid(2) from thread `caller`.
    pub fn setpgid(&self, caller: Pid, pid: i32, pgid: i32) -> Result<()> {
        self.inner.lock().setpgid(caller, pid, pgid)
    }

    /// getpgid(2): `pid` 0 is the caller.
    pub fn getpgid(&self, caller: Pid, pid: i32) -> Result<Pid> {
        let g = self.inner.lock();
        g.lookup(caller, pid).map(|p| p.pgid).map(|n| g.nr_seen(caller, n))
    }

    /// getsid(2): `pid` 0 is the caller.
    pub fn getsid(&self, caller: Pid, pid: i32) -> Result<Pid> {
        let g = self.inner.lock();
        g.lookup(caller, pid).map(|p| p.sid).map(|n| g.nr_seen(caller, n))
    }

    /// Whether process group `pgid` is orphaned (POSIX: no member has a
    /// parent in another group of the same session). The signal code asks
    /// this before a default-action SIGTSTP, SIGTTIN or SIGTTOU stops a
    /// process: in an orphaned group it is discarded.
    pub fn is_orphaned_pgrp(&self, pgid: Pid) -> bool {
        self.inner.lock().will_become_orphaned_pgrp(pgid, None)
    }

    /// setsid(2): returns the new session id.
    pub fn setsid(&self, caller: Pid) -> Result<Pid> {
        let mut g = self.inner.lock();
        g.setsid(caller).map(|n| g.nr_seen(caller, n))
    }

    // ----- signals ------------------------------------------------------

    /// kill(2) from thread `caller`: `pid > 0` one process, `0` the
    /// caller's group, `-1` every process but init and the caller, `< -1`
    /// the group `-pid`; with Linux's permission rules.
    pub fn kill(&self, caller: Pid, pid: i32, sig: i32, hooks: &impl Hooks<P>) -> Result<()> {
        let mut out = Out::new();
        let r = self.inner.lock().kill(caller, pid, sig, &mut out);
        out.run(hooks);
        r
    }

    /// tgkill(2) (`tgid > 0`) and tkill(2) (`tgid` None): a signal to one
    /// thread. Non-positive ids are `EINVAL`; a thread not found (or not in
    /// `tgid`) is `ESRCH`; then the signal number and the permission are
    /// checked as for kill(2).
    pub fn tgkill(
        &self,
        caller: Pid,
        tgid: Option<i32>,
        tid: i32,
        sig: i32,
        hooks: &impl Hooks<P>,
    ) -> Result<()> {
        let mut out = Out::new();
        let r = self.inner.lock().tgkill(caller, tgid, tid, sig, &mut out);
        out.run(hooks);
        r
    }

    /// prlimit64(2) from thread `caller` on process `pid` (0: the caller):
    /// `ESRCH`, then the permission (`EPERM`), then the limit's own rules
    /// ([`Rlimits::prlimit`], `nr_open` being `fs.nr_open`). Returns the
    /// old limit.
    pub fn prlimit(
        &self,
        caller: Pid,
        pid: i32,
        resource: u32,
        new: Option<crate::rlimit::Rlimit>,
        nr_open: u64,
    ) -> Result<crate::rlimit::Rlimit> {
        let mut g = self.inner.lock();
        let me = g.proc_of(caller)?;
        let target = g.lookup(caller, pid)?.pid;
        let creds = g.procs.get(&me).ok_or(Errno::ESRCH)?.creds.clone();
        let t = g.procs.get_mut(&target).ok_or(Errno::ESRCH)?;
        if target != me {
            crate::rlimit::check_prlimit_permission(&creds, &t.creds)?;
        }
        let r = Resource::from_u32(resource)?;
        t.rlimits.prlimit(r, new, creds.capable(), nr_open)
    }

    /// rt_sigqueueinfo(2) (`tid` `None`) and rt_tgsigqueueinfo(2) from
    /// thread `caller`: `info` (already checked by
    /// `kernabi-signal`'s `SigInfo::from_user`) to process `tgid`
    /// (for rt_sigqueueinfo any thread id of it), or to its thread `tid`
    /// only. `ESRCH` when there is no such process, or `tid` is not one of
    /// its threads; `EPERM` when the caller may not signal it (kill(2)'s
    /// rule).
    pub fn sigqueue(
        &self,
        caller: Pid,
        tgid: Pid,
        tid: Option<Pid>,
        info: SigInfoOf<P>,
        hooks: &impl Hooks<P>,
    ) -> Result<()> {
        let mut out = Out::new();
        let r = self.inner.lock().sigqueue(caller, tgid, tid, info, &mut out);
        out.run(hooks);
        r
    }

    /// Linux's `send_sigio`: `info` to the owner of a file, `who` being a
    /// thread (`target` [`SigioTarget::Thread`]), a process (any thread id
    /// of it names it) or a process group, each target only if `may`
    /// accepts its credentials (`sigio_perm`). A target whose queue refuses
    /// `info` (a full real-time queue) gets `plain` (a plain SIGIO)
    /// instead. Nobody to send to is not an error.
    pub fn send_sigio(
        &self,
        who: Pid,
        target: SigioTarget,
        may: impl Fn(&Credentials) -> bool,
        info: SigInfoOf<P>,
        plain: SigInfoOf<P>,
        hooks: &impl Hooks<P>,
    ) {
        let mut out = Out::new();
        {
            let mut g = self.inner.lock();
            let one = |g: &mut Inner<P>, pid: Pid, tid: Option<Pid>, out: &mut Out<P>| {
                if !g.procs.get(&pid).is_some_and(|p| may(&p.creds)) {
                    return;
                }
                let send = |g: &mut Inner<P>, info: SigInfoOf<P>, out: &mut Out<P>| match tid {
                    Some(t) => g.send_thread(t, info, out),
                    None => g.send(pid, info, false, out),
                };
                if send(g, info.clone(), out).is_err() {
                    let _ = send(g, plain.clone(), out);
                }
            };
            match target {
                SigioTarget::Thread | SigioTarget::Process => {
                    // PIDTYPE_TGID: a process owner is its leader's id
                    // only (another thread's id finds nothing)
                    if let Some(tgid) = g.threads.get(&who).map(|t| t.tgid)
                        && (target == SigioTarget::Thread || tgid == who)
                    {
                        let tid = (target == SigioTarget::Thread).then_some(who);
                        one(&mut g, tgid, tid, &mut out);
                    }
                }
                SigioTarget::Group => {
                    // no memory for the list: no signal (as a full queue)
                    let mut members: Vec<Pid> = Vec::new();
                    if members.try_reserve_exact(g.members(who).count()).is_ok() {
                        members.extend(g.members(who));
                    }
                    for m in members {
                        one(&mut g, m, None, &mut out);
                    }
                }
            }
        }
        out.run(hooks);
    }

    /// Whether the owner `who` of kind `target` still exists (Linux's
    /// `pid_task(pid, type)` in F_GETOWN): a thread, a process (its
    /// leader's id), a process group with members.
    pub fn sigio_target_alive(&self, who: Pid, target: SigioTarget) -> bool {
        let g = self.inner.lock();
        match target {
            SigioTarget::Thread => g.threads.contains_key(&who),
            SigioTarget::Process => g.procs.contains_key(&who),
            SigioTarget::Group => g.members(who).next().is_some(),
        }
    }

    /// Sends a kernel-generated signal to a process (no permission check).
    pub fn send_signal(&self, pid: Pid, info: SigInfoOf<P>, hooks: &impl Hooks<P>) -> Result<()> {
        let mut out = Out::new();
        let r = self.inner.lock().send(pid, info, true, &mut out);
        out.run(hooks);
        r
    }

    // ----- exec ---------------------------------------------------------

    /// The process-model half of execve(2) once the new image is built in
    /// `new_vm`: other threads are removed, the caller takes the leader's
    /// pid (returned: the caller's tid from now on), caught signals reset
    /// (ignored stay ignored), a shared fd table is unshared and its
    /// close-on-exec fds closed, the address space replaced (a vfork
    /// parent is woken). `EAGAIN` if the group is already exiting. An fd
    /// table copy that fails (`ENOMEM`) past the point of no return kills
    /// the process with SIGSEGV (Linux's `bprm_execve()`); the new tid is
    /// returned all the same.
    ///
    /// The fd table's half ([`FdTable::exec`]: the copy of a shared table,
    /// the close-on-exec sweep) runs with no table lock held: the thread's
    /// handle is taken out of its record and put back (the thread is then
    /// its process's only one and busy in exec, so nothing clones it
    /// meanwhile; `/proc` readers may see no fd table for that moment).
    pub fn exec(&self, tid: Pid, new_vm: Vm<P>, hooks: &impl Hooks<P>) -> Result<Pid> {
        let mut out = Out::new();
        let r = {
            let mut g = self.inner.lock();
            g.exec(tid, new_vm, &mut out).map(|new_tid| {
                (new_tid, g.threads.get_mut(&new_tid).and_then(|t| Some((t.files.take()?, t.serial))))
            })
        };
        out.run(hooks);
        let (new_tid, taken) = r?;
        let Some((mut files, serial)) = taken else { return Ok(new_tid) };
        let closed = files.exec();
        let garbage = {
            let mut g = self.inner.lock();
            match g.threads.get_mut(&new_tid).filter(|t| t.serial == serial && t.files.is_none()) {
                Some(t) => t.files.replace(files),
                None => Some(files),
            }
        };
        drop(garbage);
        match closed {
            Ok(closed) => drop(closed),
            // past the point of no return: the task dies, as Linux's
            // bprm_execve() does (force_fatal_sig(SIGSEGV)), rather than
            // going back to the old image with an error
            Err(_) => {
                self.force_fatal_signal(new_tid, SIGSEGV, hooks);
            }
        }
        Ok(new_tid)
    }

    /// `force_fatal_sig()`: `sig` at its default action, unblocked, sent
    /// to thread `tid`'s process, so that it dies of it.
    fn force_fatal_signal(&self, tid: Pid, sig: u32, hooks: &impl Hooks<P>) {
        let mut out = Out::new();
        {
            let mut g = self.inner.lock();
            if let Some(th) = g.threads.get_mut(&tid) {
                Sig::<P>::unblock(&mut th.signals, sig);
                let pid = th.tgid;
                if let Some(p) = g.procs.get(&pid) {
                    Sig::<P>::set_default(&p.handlers, sig);
                }
                let _ = g.send(pid, Sig::<P>::info(sig, Origin::Kernel), true, &mut out);
            }
        }
        out.run(hooks);
    }
}

impl<P: Platform> Inner<P> {
    /// `si_uid` of a kill or tgkill from process `from`, whose kernel uid
    /// is `kuid`, to process `to`: the sender's uid in its own namespace
    /// (prepare_kill_siginfo), then [`signal_uid_across`].
    fn kill_uid(&self, from: Pid, kuid: crate::cred::Id, to: Pid) -> crate::cred::Id {
        let (Some(f), Some(t)) = (self.procs.get(&from), self.procs.get(&to)) else { return kuid };
        let own = f.creds.user_ns.uid_from(kuid);
        signal_uid_across(&f.creds.user_ns, &t.creds.user_ns, own)
    }

    /// Kernel uid `kuid` as process `to` sees it (SIGCHLD's and
    /// SEND_SIG_NOINFO's `si_uid`: from_kuid_munged of the receiver's
    /// user namespace).
    fn uid_seen_by(&self, to: Pid, kuid: crate::cred::Id) -> crate::cred::Id {
        self.procs.get(&to).map_or(kuid, |p| p.creds.user_ns.uid_from(kuid))
    }

    /// Whether the record at `tid` is the thread `serial` names (`None`:
    /// any record, or none).
    fn is(&self, tid: Pid, serial: Option<u64>) -> bool {
        serial.is_none_or(|s| self.threads.get(&tid).is_some_and(|t| t.serial == s))
    }

    // ----- ptrace --------------------------------------------------------

    /// Whether process `anc` is `pid` or one of its ancestors.
    fn is_ancestor(&self, anc: Pid, pid: Pid) -> bool {
        let mut p = pid;
        for _ in 0..1 << 22 {
            if p == anc {
                return true;
            }
            match self.procs.get(&p) {
                Some(q) if q.parent != 0 && q.parent != p => p = q.parent,
                _ => return false,
            }
        }
        false
    }

    /// kernel_clone()'s ptrace part: which event the traced caller reports
    /// (vfork, clone for an exit signal other than SIGCHLD, fork; none
    /// with `CLONE_UNTRACED` or without the option) and whether it reports
    /// vfork-done; a new process is traced as its parent (auto-attach,
    /// also for `CLONE_PTRACE`) and starts with SIGSTOP pending, or a
    /// `PTRACE_EVENT_STOP` trap when seized.
    fn ptrace_clone(&mut self, caller: Pid, child: Pid, args: &CloneArgs) -> Option<(u32, bool)> {
        use crate::ptrace::{EVENT_CLONE, EVENT_FORK, EVENT_VFORK};
        let me = self.proc_of(caller).ok()?;
        if !self.threads.get(&caller)?.trace.attached {
            return None;
        }
        let link = self.procs.get(&me)?.ptrace.as_ref()?;
        let o = link.options;
        let f = args.flags;
        let (event, opt) = if f.contains(CloneFlags::VFORK) {
            (EVENT_VFORK, Options::TRACEVFORK)
        } else if args.exit_signal != SIGCHLD {
            (EVENT_CLONE, Options::TRACECLONE)
        } else {
            (EVENT_FORK, Options::TRACEFORK)
        };
        let traced = !f.contains(CloneFlags::UNTRACED) && o.contains(opt);
        let vfork_done = f.contains(CloneFlags::VFORK) && o.contains(Options::TRACEVFORKDONE);
        let new = link.inherit();
        let seized = new.seized;
        self.maybe_traced |= traced || f.contains(CloneFlags::PTRACE);
        if traced || f.contains(CloneFlags::PTRACE) {
            // ptrace_init_task(): a new thread joins its process's link, a
            // new process gets its own
            if !f.contains(CloneFlags::THREAD)
                && let Some(c) = self.procs.get_mut(&child)
            {
                c.ptrace = Some(new);
            }
            Sig::<P>::bump(&self.epoch);
            if let Some(t) = self.threads.get_mut(&child) {
                t.trace = ThreadTrace::attach();
                if seized {
                    t.trace.trap = true;
                } else {
                    // a thread-directed SIGSTOP (sigaddset of the new task)
                    let account = Default::default();
                    let info = Sig::<P>::info(SIGSTOP, Origin::Kernel);
                    let _ = Sig::<P>::enqueue(&mut t.signals, info, &account, u64::MAX);
                }
            }
        }
        traced.then_some((event, vfork_done))
    }

    fn ptrace_may_access(&self, caller: Pid, pid: Pid, mode: CredMode) -> Result<()> {
        let me = self.proc_of(caller)?;
        if me == pid {
            return Ok(());
        }
        let mine = &self.procs.get(&me).ok_or(Errno::ESRCH)?.creds;
        let t = self.procs.get(&pid).ok_or(Errno::ESRCH)?;
        if !crate::ptrace::may_access(mine, &t.creds, t.dumpable == 1, mode) {
            return Err(Errno::EPERM);
        }
        let declared = match t.ptracer {
            PtracerPolicy::None => false,
            PtracerPolicy::Any => true,
            PtracerPolicy::Pid(tr) => self.is_ancestor(tr, me),
        };
        if !crate::ptrace::yama_allows(mine, self.is_ancestor(me, pid), declared) {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    fn ptrace_attach(
        &mut self,
        caller: Pid,
        pid: i32,
        seize: Option<Options>,
        out: &mut Out<P>,
    ) -> Result<Pid> {
        let target = u32::try_from(pid).ok().filter(|&p| p != 0).ok_or(Errno::ESRCH)?;
        let tgid = self.threads.get(&target).map(|t| t.tgid).ok_or(Errno::ESRCH)?;
        let me = self.proc_of(caller)?;
        if tgid == me {
            return Err(Errno::EPERM);
        }
        self.ptrace_may_access(caller, tgid, CredMode::Real)?;
        let p = self.procs.get_mut(&tgid).ok_or(Errno::ESRCH)?;
        let attached = self.threads.get(&target).is_some_and(|t| t.trace.attached);
        // another thread of the process may be traced by the same tracer
        // (strace -f attaching each thread); a second tracer of one
        // process is not supported here (EPERM)
        if !p.alive()
            || p.group_exit.is_some()
            || attached
            || p.ptrace.as_ref().is_some_and(|l| l.tracer != me)
        {
            return Err(Errno::EPERM);
        }
        let seized = seize.is_some();
        self.maybe_traced = true;
        let p = self.procs.get_mut(&tgid).ok_or(Errno::ESRCH)?;
        // ptrace_attach(): a stopped process traps for its new tracer
        // (JOBCTL_TRAP_STOP), attached or seized
        let group_stopped = matches!(p.state, ProcState::Stopped(_));
        if p.ptrace.is_none() {
            p.ptrace = Some(TraceLink::new(me, seized, seize.unwrap_or_default()));
        }
        if let Some(t) = self.threads.get_mut(&target) {
            t.trace = ThreadTrace::attach();
            t.trace.trap = group_stopped;
        }
        Sig::<P>::bump(&self.epoch);
        if !seized {
            // send_sig_info(SIGSTOP, SEND_SIG_PRIV, task): to the attached
            // thread, not the group (another, untraced thread taking it
            // would group-stop the process and tell its real parent)
            self.send_thread(target, Sig::<P>::info(SIGSTOP, Origin::Kernel), out)?;
        }
        if group_stopped {
            // a stopped tracee re-traps for its new tracer
            out.effects.note(Note::Wake(target));
        }
        Ok(target)
    }

    fn ptrace_stop(
        &mut self,
        tid: Pid,
        kind: StopKind,
        code: u32,
        info: Option<SigInfoOf<P>>,
        out: &mut Out<P>,
    ) -> bool {
        let Ok(pid) = self.proc_of(tid) else { return false };
        let Some(p) = self.procs.get_mut(&pid) else { return false };
        if p.group_exit.is_some() {
            return false;
        }
        let uid = p.creds.uid;
        let Some(l) = p.ptrace.as_mut() else { return false };
        let Some(th) = self.threads.get_mut(&tid).filter(|t| t.trace.attached) else { return false };
        th.trace.enter_stop(l, kind, code, info);
        let tracer = l.tracer;
        // do_jobctl_trap() notifies CLD_STOPPED
        let why = if matches!(kind, StopKind::Group(_) | StopKind::Event(crate::ptrace::EVENT_STOP)) {
            crate::wait::CLD_STOPPED
        } else {
            crate::wait::CLD_TRAPPED
        };
        if let Some(tp) = self.procs.get(&tracer) {
            if Sig::<P>::notify_child_stop(&tp.handlers) {
                let uid = tp.creds.user_ns.uid_from(uid);
                let info = child_info::<P>(
                    SIGCHLD,
                    why,
                    self.nr_seen(tracer, tid),
                    uid,
                    (code & 0x7f) as i32,
                    (0, 0),
                );
                let _ = self.send(tracer, info, true, out);
            }
            self.child_event(tracer, out);
        }
        true
    }

    /// `__ptrace_unlink()`/`__ptrace_detach()`: `pid` is no longer traced;
    /// a stopped thread goes on with `sig` (None: the tracer died: a
    /// signal-delivery stop delivers its signal); a zombie the tracer has
    /// not reaped goes to its real parent.
    fn ptrace_unlink(&mut self, pid: Pid, sig: Option<u32>, out: &mut Out<P>) {
        let Some(p) = self.procs.get_mut(&pid) else { return };
        if p.ptrace.take().is_none() {
            return;
        }
        p.leader_traced_exit = false;
        let zombie = p.state == ProcState::Zombie;
        let threads = p.threads.clone();
        Sig::<P>::bump(&self.epoch);
        for t in threads {
            self.ptrace_unlink_thread(t, sig, out);
        }
        let Some(p) = self.procs.get_mut(&pid) else { return };
        if zombie && core::mem::take(&mut p.parent_notify_deferred) && self.notify_parent_exit(pid, out) {
            self.release(pid, out);
        }
    }
    /// Whether a task of process `pid` is still a tracee: a live thread,
    /// or its zombie leader. The process's link goes with the last one
    /// (Linux's link is per task).
    fn still_traced(&self, pid: Pid) -> bool {
        self.procs.get(&pid).is_some_and(|p| {
            p.leader_traced_exit
                || p.threads.iter().any(|t| self.threads.get(t).is_some_and(|th| th.trace.attached))
        })
    }

    /// `__ptrace_unlink()` of thread `tid`: no longer a tracee; stopped,
    /// it wakes and goes on with `sig` (None: the tracer died: a
    /// signal-delivery stop delivers its signal).
    fn ptrace_unlink_thread(&mut self, tid: Pid, sig: Option<u32>, out: &mut Out<P>) {
        let Some(th) = self.threads.get_mut(&tid).filter(|th| th.trace.attached) else { return };
        let t = core::mem::take(&mut th.trace);
        Sig::<P>::bump(&self.epoch);
        if t.stopped || t.resume.is_some() {
            let s = sig.unwrap_or(if t.kind == StopKind::Signal {
                t.siginfo.as_ref().map_or(0, Sig::<P>::signo)
            } else {
                0
            });
            // the stopped thread finds no link: it takes the signal from here
            th.trace.detach_sig = Some(t.resume.map_or(s, |r| r.sig));
            out.effects.note(Note::Wake(tid));
        }
    }

    fn proc_of(&self, tid: Pid) -> Result<Pid> {
        self.threads.get(&tid).map(|t| t.tgid).ok_or(Errno::ESRCH)
    }

    // ----- PID namespaces ------------------------------------------------

    /// Drops a reference to a kernel pid; when the number is free, its
    /// numbers in PID namespaces are freed too.
    fn put_pid(&mut self, pid: Pid) -> bool {
        let freed = self.pids.put(pid);
        if freed
            && !self.vnr.is_empty()
            && let Some(chain) = self.vnr.remove(&pid)
        {
            for (ns, nr) in chain.iter() {
                let ino = ns.ino();
                if let Some(np) = self.ns_pids.get_mut(&ino) {
                    np.alloc.put(*nr);
                    np.to_global.remove(nr);
                    if np.alloc.used() == 0 {
                        self.ns_pids.remove(&ino);
                    }
                }
            }
        }
        freed
    }

    /// The PID namespace task or number `pid` lives in (Linux's
    /// `task_active_pid_ns`).
    fn active_ns(&self, pid: Pid) -> PidNsRef {
        if self.vnr.is_empty() {
            return PidNsRef::INITIAL;
        }
        self.vnr.get(&pid).and_then(|c| c.last()).map_or(PidNsRef::INITIAL, |(ns, _)| ns.clone())
    }

    /// Kernel pid `pid` as namespace `ns` numbers it (`pid_nr_ns`): 0 when
    /// it is not visible there.
    fn nr_in(&self, pid: Pid, ns: &PidNsRef) -> Pid {
        let level = ns.level() as usize;
        if level == 0 {
            return pid;
        }
        match self.vnr.get(&pid).and_then(|c| c.get(level - 1)) {
            Some((n, nr)) if n == ns => *nr,
            _ => 0,
        }
    }

    /// Number `nr` of namespace `ns` as a kernel pid (`find_pid_ns`).
    fn global_in(&self, nr: Pid, ns: &PidNsRef) -> Option<Pid> {
        if ns.is_initial() {
            return Some(nr);
        }
        self.ns_pids.get(&ns.ino())?.to_global.get(&nr).copied()
    }

    /// Numbers for a new kernel pid `pid` in `ns` and its ancestors below
    /// the initial one (`alloc_pid`'s upper levels); `want` is clone3's
    /// `set_tid` for those levels, innermost first. `ENOMEM` once the
    /// namespace's init died.
    fn alloc_ns_numbers(&mut self, pid: Pid, ns: &PidNsRef, want: &[i32]) -> Result<()> {
        if ns.is_initial() {
            return Ok(());
        }
        if !ns.adding() {
            return Err(Errno::ENOMEM);
        }
        let levels = ns.level() as usize;
        let mut chain: Vec<(PidNsRef, Pid)> = Vec::new();
        chain.try_reserve_exact(levels).map_err(|_| Errno::ENOMEM)?;
        let mut cur = ns.clone();
        let mut i = 0;
        let mut res = Ok(());
        while !cur.is_initial() {
            let pid_max = self.pids.pid_max();
            let np = self.ns_pids.entry(cur.ino()).or_insert_with(|| NsPids {
                alloc: PidAllocator::new(pid_max),
                to_global: BTreeMap::new(),
                init: 0,
            });
            // the first process of a namespace must be its init
            let got = match want.get(i) {
                Some(&w) if w != 1 && np.init == 0 => Err(Errno::EINVAL),
                Some(&w) => np.alloc.alloc_specific(w),
                None if np.init == 0 && i == 0 => np.alloc.alloc_specific(1),
                None => np.alloc.alloc(),
            };
            match got {
                Ok(nr) => {
                    np.to_global.insert(nr, pid);
                    if nr == 1 {
                        np.init = pid;
                        cur.set_has_init();
                    }
                    chain.push((cur.clone(), nr));
                }
                Err(e) => {
                    if np.alloc.used() == 0 {
                        self.ns_pids.remove(&cur.ino());
                    }
                    res = Err(e);
                    break;
                }
            }
            let Some(parent) = cur.parent().cloned() else { break };
            cur = parent;
            i += 1;
        }
        if let Err(e) = res {
            for (n, nr) in chain {
                if let Some(np) = self.ns_pids.get_mut(&n.ino()) {
                    np.alloc.put(nr);
                    np.to_global.remove(&nr);
                    if nr == 1 {
                        np.init = 0;
                    }
                    if np.alloc.used() == 0 {
                        self.ns_pids.remove(&n.ino());
                    }
                }
            }
            return Err(e);
        }
        chain.reverse();
        self.vnr.insert(pid, chain.into_boxed_slice());
        Ok(())
    }

    /// The kernel pid of `ns`'s init (`child_reaper`), 0 when it has none.
    fn ns_init(&self, ns: &PidNsRef) -> Pid {
        if ns.is_initial() {
            return if self.procs.contains_key(&1) { 1 } else { 0 };
        }
        self.ns_pids.get(&ns.ino()).map_or(0, |n| n.init)
    }

    /// Whether process `pid` is the init of a namespace below the initial
    /// one (Linux's `SIGNAL_UNKILLABLE` there).
    fn is_ns_init(&self, pid: Pid) -> bool {
        !self.vnr.is_empty() && self.vnr.get(&pid).and_then(|c| c.last()).is_some_and(|(_, nr)| *nr == 1)
    }

    /// Number `nr` as task `caller` names it, as a kernel pid (`None`:
    /// no such number in its namespace).
    fn user_nr(&self, caller: Pid, nr: Pid) -> Option<Pid> {
        if self.vnr.is_empty() {
            return Some(nr);
        }
        self.global_in(nr, &self.active_ns(caller))
    }

    /// Kernel pid `pid` as task `viewer` sees it (0: outside its
    /// namespace).
    fn nr_seen(&self, viewer: Pid, pid: Pid) -> Pid {
        if self.vnr.is_empty() {
            return pid;
        }
        self.nr_in(pid, &self.active_ns(viewer))
    }

    /// The parent's number as process `child` sees it (getppid: 0 for a
    /// parent outside its namespace).
    fn ppid_seen(&self, child: Pid, parent: Pid) -> Pid {
        if self.vnr.is_empty() {
            return parent;
        }
        let ns = self.active_ns(child);
        self.nr_in(parent, &ns)
    }

    fn account(&mut self, uid: u32) -> <Sig<P> as SignalState>::Account {
        self.sigq.entry(uid).or_default().clone()
    }

    fn caller_facts(&self, pid: Pid) -> Result<CloneCaller> {
        let p = self.procs.get(&pid).ok_or(Errno::ESRCH)?;
        let uid = p.creds.uid;
        // Linux counts tasks until they are reaped: live threads, plus a
        // leader that exited first or a zombie.
        // The user's count walks every process, so it is made only when
        // its check can fail (a clone must not cost O(processes)):
        // RLIMIT_NPROC binds a non-root caller under a finite limit. The
        // count of every task is kept: the threads, plus a process whose
        // leader exited (zombies included).
        let tasks = |q: &Process<P>| q.threads.len() as u64 + u64::from(!q.threads.contains(&q.pid));
        let root = p.creds.capable();
        let rlimit_nproc = p.rlimits.cur(Resource::Nproc);
        let user_threads: u64 = if uid == 0 || root || rlimit_nproc == crate::rlimit::RLIM_INFINITY {
            0
        } else {
            self.procs.values().filter(|q| q.creds.uid == uid).map(|q| tasks(q)).sum()
        };
        let all_tasks = self.threads.len() as u64 + self.leaders_gone;
        debug_assert!(all_tasks <= self.threads.len() as u64 + self.procs.len() as u64);
        Ok(CloneCaller {
            is_init: pid == 1 || self.is_ns_init(pid),
            cap_sys_admin: root,
            ns_admin: p.creds.own_cap(crate::cred::CAP_SYS_ADMIN),
            cap_sys_resource: root,
            cap_checkpoint_restore: root,
            ruid: uid,
            user_processes: user_threads,
            rlimit_nproc,
            nr_threads: all_tasks,
            max_threads: self.max_threads,
            pid_max: self.pids.pid_max(),
            has_reaper: self.procs.contains_key(&1),
            pid_level: self.procs.get(&pid).map_or(0, |p| p.ns.pid_children.level()),
            time_differs: p.ns.time_differs(),
        })
    }

    /// clone's first locked phase: `copy_process()`'s checks, then handles
    /// on what the child shares or copies (copied after the lock is
    /// released).
    fn clone_snapshot(&mut self, caller: Pid, args: &CloneArgs) -> Result<Resources<P>> {
        let pid = self.proc_of(caller)?;
        let facts = self.caller_facts(pid)?;
        crate::clone::validate(args, &facts)?;
        if args.flags.contains(CloneFlags::SYSVSEM) {
            // copy_semundo(): get_undo_list() gives the caller one first.
            if let Some(t) = self.threads.get_mut(&caller) {
                t.sem_undo.get_or_insert_with(SharedSemUndo::<P>::default);
            }
        }
        let p = self.procs.get(&pid).ok_or(Errno::ESRCH)?;
        let t = self.threads.get(&caller).ok_or(Errno::ESRCH)?;
        Ok(Resources {
            vm: p.vm.clone(),
            files: t.files.as_ref().map(|f| f.share()),
            fs: t.fs.as_ref().map(|f| f.share()),
            handlers: Some(Sig::<P>::share(&p.handlers)),
            space: None,
        })
    }

    /// clone's second locked phase: the records from the copies, the pid.
    /// What it does not keep goes to `out` (dropped unlocked).
    fn prepare_clone(
        &mut self,
        caller: Pid,
        args: &CloneArgs,
        parent: &Resources<P>,
        copies: Resources<P>,
        out: &mut Out<P>,
    ) -> Result<Prepared<P>> {
        use CloneFlags as F;
        let f = args.flags;
        let pid = match self.recheck_clone(caller, args, parent) {
            Ok(pid) => pid,
            Err(e) => {
                out.drop_later(copies);
                return Err(e);
            }
        };
        let (Some(p), Some(t)) = (self.procs.get(&pid), self.threads.get(&caller)) else {
            out.drop_later(copies);
            return Err(Errno::ERESTARTNOINTR);
        };
        // the registers and FPU state (the arch's copy may need memory)
        let mut context = match t.context.try_clone() {
            Ok(c) => c,
            Err(e) => {
                out.drop_later(copies);
                return Err(e);
            }
        };
        let sem_undo = if f.contains(F::SYSVSEM) { t.sem_undo.clone() } else { None };
        // copy_creds(), copy_namespaces(): a new user namespace first, so
        // that it owns the other new ones
        let mut creds = p.creds.clone();
        let mut cap_bset = p.cap_bset;
        let mut ns = p.ns.clone();
        let mut next_ino = self.ns_ino;
        // (each new namespace counts against its maker's euid: ENOSPC at
        // user.max_*_namespaces; a failure below drops what was made,
        // which gives its counts back)
        if f.contains(F::NEWUSER) {
            let counts = &mut self.ns_counts;
            let parent = creds.user_ns.clone();
            if let Err(e) = creds.enter_new_user_ns_charged(next_ino, |euid| {
                counts.charge(NsKind::User, &parent, euid).map(Some)
            }) {
                out.drop_later(copies);
                return Err(e);
            }
            next_ino += 1;
            cap_bset = CAP_FULL_SET;
        }
        if let Err(e) =
            Self::new_namespaces(&mut self.ns_counts, self.ipc_gone, f, &creds, &mut ns, &mut next_ino)
        {
            out.drop_later(copies);
            return Err(e);
        }
        // timens_on_fork(): the child enters the children's time
        // namespace, whose offsets are fixed from then on (a thread or
        // CLONE_VM child has the same one: validate's rule). Linux 6.1
        // does this for CLONE_VM|CLONE_NEWTIME too (the CLONE_VM exception
        // came later, with the exec_task_namespaces change; checked with
        // timens.c under --linux)
        if ns.time_differs() {
            ns.time_children.enter();
            ns.time = ns.time_children.clone();
        }
        // copy_pid_ns(), and copy_process()'s rule that a thread stays in
        // its group's namespace
        let active = self.active_ns(pid);
        let child_ns = if f.intersects(F::THREAD | F::NEWPID) {
            if ns.pid_children != active {
                out.drop_later(copies);
                return Err(Errno::EINVAL);
            }
            if f.contains(F::NEWPID) {
                let counts = &mut self.ns_counts;
                let charge = || counts.charge(NsKind::Pid, &creds.user_ns, creds.euid).map(Some);
                match active.create_child(next_ino, creds.user_ns.clone(), charge) {
                    Ok(n) => {
                        next_ino += 1;
                        ns.pid_children = n.clone();
                        n
                    }
                    Err(e) => {
                        out.drop_later(copies);
                        return Err(e);
                    }
                }
            } else {
                active
            }
        } else {
            ns.pid_children.clone()
        };
        let level = child_ns.level() as usize;
        if args.set_tid.len() > level + 1 {
            out.drop_later(copies);
            return Err(Errno::EINVAL);
        }
        let parent_vm = p.vm.clone();
        let Resources { vm: child_vm, files, fs, handlers, space } = copies;
        let mut process = None;
        if !f.contains(F::THREAD) {
            let handlers = handlers.unwrap_or_else(|| Sig::<P>::share(&p.handlers));
            let (parent, parent_thread, exit_signal) = if f.contains(F::PARENT) {
                (p.parent, p.parent_thread, p.exit_signal)
            } else {
                (pid, caller, args.exit_signal as i32)
            };
            process = Some(Box::new(Process {
                pid: 0,
                parent,
                parent_cell: Arc::new(AtomicU32::new(parent)),
                parent_thread,
                children: Vec::new(),
                threads: Vec::new(),
                pgid: p.pgid,
                sid: p.sid,
                session_leader: false,
                exit_signal,
                state: ProcState::Running,
                leader_exit: None,
                group_exit: None,
                stop_report: None,
                cont_report: false,
                did_exec: false,
                child_subreaper: false,
                child_events: 0,
                vm: child_vm.clone(),
                handlers,
                pending: Sig::<P>::new_process(&self.epoch),
                creds,
                ns,
                // (the copy phase allocated the space for a new process)
                rlimits: p.rlimits.fork(space.unwrap_or_default()),
                usage: Rusage::default(),
                children_usage: Rusage::default(),
                ptrace: None,
                ptracer: PtracerPolicy::None,
                parent_notify_deferred: false,
                leader_traced_exit: false,
                trace_exits: Vec::new(),
                dumpable: p.dumpable,
                cap_bset,
                oom_score_adj: p.oom_score_adj,
                membarrier: p.membarrier,
                mlock: Default::default(),
                ext: Default::default(),
            }));
        }
        context.set_return_value(0);
        if args.stack != 0 {
            context.set_stack_pointer(args.stack as usize);
        }
        if f.contains(F::SETTLS) {
            context.set_tls(args.tls as usize);
        }
        let clear_altstack = f.contains(F::VM) && !f.contains(F::VFORK);
        let signals = Sig::<P>::clone_thread(&t.signals, clear_altstack);
        // The kernel's slots, last of what can fail before the pid.
        let mut thread_ext = None;
        let mut made = Ok(());
        if let Some(proc_) = &mut process {
            match p.ext.for_clone(f) {
                Ok(ext) => proc_.ext = ext,
                Err(e) => made = Err(e),
            }
        }
        if made.is_ok() {
            match t.ext.for_clone(f) {
                Ok(ext) => thread_ext = Some(ext),
                Err(e) => made = Err(e),
            }
        }
        let (no_new_privs, timer_slack_ns) = (t.no_new_privs, t.timer_slack_ns);
        // alloc_pid()
        let tid = made.and_then(|()| match args.set_tid.get(level) {
            Some(&want) => self.pids.alloc_specific(want),
            None => self.pids.alloc(),
        });
        let tid = tid.and_then(|tid| {
            let want = &args.set_tid[..args.set_tid.len().min(level)];
            match self.alloc_ns_numbers(tid, &child_ns, want) {
                Ok(()) => Ok(tid),
                Err(e) => {
                    self.pids.put(tid);
                    Err(e)
                }
            }
        });
        let tid = match tid {
            Ok(tid) => tid,
            Err(e) => {
                out.drop_later(thread_ext);
                out.drop_later(process);
                out.drop_later((files, fs, sem_undo, child_vm));
                return Err(e);
            }
        };
        self.ns_ino = next_ino;
        if let Some(proc_) = &mut process {
            proc_.pid = tid;
            proc_.threads.push(tid);
            if !child_ns.is_initial() {
                let seen = self.nr_in(proc_.parent, &child_ns);
                proc_.parent_cell.store(seen, Ordering::Relaxed);
            }
            // The group and the session keep their numbers in use.
            let _ = self.pids.get(proc_.pgid);
            let _ = self.pids.get(proc_.sid);
        }
        let tgid = if process.is_some() { tid } else { pid };
        self.serial += 1;
        let thread = Thread {
            tid,
            tgid,
            serial: self.serial,
            signals,
            clear_child_tid: if f.contains(F::CHILD_CLEARTID) { args.child_tid } else { 0 },
            robust_list: (0, 0),
            context,
            sem_undo,
            files,
            fs,
            vfork_parent: if f.contains(F::VFORK) { Some(caller) } else { None },
            mm_released: false,
            cpu: CpuAccount::new(),
            pdeath_signal: 0,
            no_new_privs,
            timer_slack_ns,
            default_timer_slack_ns: timer_slack_ns,
            trace: ThreadTrace::default(),
            ext: thread_ext.unwrap_or_default(),
        };
        Ok(Prepared {
            tid,
            parent: pid,
            clone_parent: f.contains(F::PARENT),
            thread: Some(Box::new(thread)),
            process,
            parent_vm,
            child_vm,
        })
    }

    /// The caller and its process again, after the unlocked copy: the
    /// limits are checked anew (other clones may have run meanwhile); a
    /// caller gone or whose process changed its address space or handlers
    /// restarts the call (as a fatal signal does in `copy_process()`).
    fn recheck_clone(&self, caller: Pid, args: &CloneArgs, parent: &Resources<P>) -> Result<Pid> {
        let pid = self.proc_of(caller).map_err(|_| Errno::ERESTARTNOINTR)?;
        crate::clone::validate(args, &self.caller_facts(pid)?)?;
        let p = self.procs.get(&pid).ok_or(Errno::ERESTARTNOINTR)?;
        let same_vm = match (&p.vm, &parent.vm) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        let same_handlers = parent.handlers.as_ref().is_some_and(|h| Sig::<P>::same_handlers(h, &p.handlers));
        if !same_vm || !same_handlers || p.group_exit.is_some() {
            return Err(Errno::ERESTARTNOINTR);
        }
        Ok(pid)
    }

    fn commit_clone(&mut self, caller: Pid, prep: &mut Prepared<P>) -> Result<()> {
        let pid = self.proc_of(caller).map_err(|_| Errno::ERESTARTNOINTR)?;
        if self.procs.get(&pid).is_none_or(|p| p.group_exit.is_some()) {
            // copy_process(): a fatal signal arrived meanwhile.
            return Err(Errno::ERESTARTNOINTR);
        }
        // copy_process(): the namespace's init died meanwhile
        if !self.vnr.is_empty() && !self.active_ns(prep.tid).adding() {
            return Err(Errno::ENOMEM);
        }
        if let Some(mut process) = prep.process.take() {
            if prep.clone_parent {
                // The caller's parent now (it may have been reparented
                // while the lock was not held).
                if let Some(p) = self.procs.get(&pid) {
                    process.set_parent(p.parent, self.ppid_seen(process.pid, p.parent));
                    process.parent_thread = p.parent_thread;
                    process.exit_signal = p.exit_signal;
                }
            }
            if process.parent != 0 && !self.procs.contains_key(&process.parent) {
                prep.process = Some(process);
                return Err(Errno::ERESTARTNOINTR);
            }
            if let Some(parent) = self.procs.get_mut(&process.parent) {
                parent.children.push(process.pid);
            }
            self.groups.insert((process.pgid, process.pid));
            self.live_groups.insert((process.pgid, process.pid));
            self.procs.insert(process.pid, process);
        } else if let Some(p) = self.procs.get_mut(&pid) {
            p.threads.push(prep.tid);
        }
        if let Some(thread) = prep.thread.take() {
            self.threads.insert(prep.tid, thread);
        }
        Ok(())
    }

    /// mm_release(): the vfork parent is woken; the clear-child-tid word is
    /// zeroed and woken if someone else still uses the address space.
    fn mm_release(&mut self, tid: Pid, vm: Option<&SharedVm<P>>, shared: bool, out: &mut Out<P>) {
        let Some(t) = self.threads.get_mut(&tid) else { return };
        // futex_exit_release(): the robust list first.
        let (head, _) = core::mem::take(&mut t.robust_list);
        if head != 0
            && let Some(vm) = vm
        {
            for addr in crate::robust::exit_robust_list(&VmMemory::<P>(vm), head, tid) {
                out.effects.push(Effect::Futex(vm.clone(), addr));
            }
        }
        if let Some(parent) = t.vfork_parent.take() {
            out.effects.note(Note::VforkDone(parent, tid));
        }
        let addr = core::mem::take(&mut t.clear_child_tid);
        if addr != 0
            && let Some(vm) = vm
            && shared
        {
            let _ = VmMemory::<P>(vm).write_u32(addr, 0);
            out.effects.push(Effect::Futex(vm.clone(), addr));
        }
    }

    fn exit_mm(&mut self, tid: Pid, out: &mut Out<P>) -> Option<SharedVm<P>> {
        let pid = self.threads.get(&tid)?.tgid;
        let p = self.procs.get(&pid)?;
        let shared = p.threads.len() > 1 || p.vm.as_ref().is_some_and(|v| Arc::strong_count(v) > 1);
        let vm = p.vm.clone();
        let last = p.threads.iter().all(|&o| o == tid || self.threads.get(&o).is_none_or(|t| t.mm_released));
        self.mm_release(tid, vm.as_ref(), shared, out);
        drop(vm);
        if let Some(t) = self.threads.get_mut(&tid) {
            t.mm_released = true;
        }
        if !last {
            return None;
        }
        let p = self.procs.get_mut(&pid)?;
        let vm = p.vm.take();
        // exit_mm() -> setmax_mm_hiwater_rss(&sig->maxrss)
        if let Some(vm) = &vm {
            p.usage.maxrss_kb = p.usage.maxrss_kb.max(maxrss_kb::<P>(vm));
        }
        vm
    }

    fn start_group_exit(&mut self, pid: Pid, status: ChildStatus, out: &mut Out<P>) {
        // threads on their way back to user mode must look again
        Sig::<P>::bump(&self.epoch);
        let Some(p) = self.procs.get_mut(&pid) else { return };
        if p.group_exit.is_some() {
            return;
        }
        p.group_exit = Some(status);
        // The SIGKILL wakes stopped threads; the stop is over, unreported.
        if matches!(p.state, ProcState::Stopped(_)) {
            p.state = ProcState::Running;
        }
        p.stop_report = None;
        let threads = p.threads.clone();
        for t in threads {
            if let Some(th) = self.threads.get_mut(&t) {
                let account = Default::default();
                let info = Sig::<P>::info(SIGKILL, Origin::Kernel);
                let _ = Sig::<P>::enqueue(&mut th.signals, info, &account, u64::MAX);
                out.effects.note(Note::Wake(t));
            }
        }
    }

    fn exit_thread(&mut self, tid: Pid, status: ChildStatus, out: &mut Out<P>) {
        // threads on their way back to user mode must look again
        Sig::<P>::bump(&self.epoch);
        let Some(pid) = self.threads.get(&tid).map(|t| t.tgid) else { return };
        let Some(p) = self.procs.get(&pid) else { return };
        let shared = p.threads.len() > 1 || p.vm.as_ref().is_some_and(|v| Arc::strong_count(v) > 1);
        let vm = p.vm.clone();
        self.mm_release(tid, vm.as_ref(), shared, out);
        drop(vm);
        let Some(mut thread) = self.threads.remove(&tid) else { return };
        let traced = thread.trace.attached;
        let usage = thread.cpu.usage();
        let ext = core::mem::take(&mut thread.ext);
        out.drop_thread_later(thread);
        out.effects.push(Effect::Exited(tid, ext));
        let Some(p) = self.procs.get_mut(&pid) else { return };
        p.usage.accumulate(&usage);
        p.threads.retain(|&t| t != tid);
        if tid == pid {
            if p.leader_exit.is_none() {
                self.leaders_gone += 1;
            }
            p.leader_exit = Some(status);
        } else {
            self.put_pid(tid);
        }
        let Some(p) = self.procs.get(&pid) else { return };
        if let Some(&heir) = p.threads.first() {
            // Children of this thread go to another thread of the group,
            // and get their parent-death signal (it follows the thread).
            let kids = p.children.clone();
            for c in kids {
                if let Some(cp) = self.procs.get_mut(&c)
                    && cp.parent_thread == tid
                {
                    cp.parent_thread = heir;
                    self.send_pdeath_signals(c, pid, out);
                }
            }
            // The group lives on (a leader that exits first waits, as a
            // zombie thread, for the last one, traced if it was).
            if traced && tid == pid {
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.leader_traced_exit = true;
                }
            } else if traced {
                self.notify_tracer_thread_exit(pid, tid, status, out);
                // the process's link goes with its last tracee
                if !self.still_traced(pid) {
                    self.ptrace_unlink(pid, None, out);
                }
            }
            return;
        }
        self.group_dead(pid, out);
    }

    /// SIGKILL to every process of the namespace whose init `init` is
    /// (that init's group is dead), and the namespace closed.
    fn zap_pid_ns(&mut self, init: Pid, out: &mut Out<P>) {
        let ns = self.active_ns(init);
        ns.stop_adding();
        let level = ns.level() as usize;
        let victims: Vec<Pid> = self
            .procs
            .keys()
            .copied()
            .filter(|&q| {
                q != init && self.vnr.get(&q).and_then(|c| c.get(level - 1)).is_some_and(|(n, _)| *n == ns)
            })
            .collect();
        for v in victims {
            let _ = self.send(v, Sig::<P>::info(SIGKILL, Origin::Kernel), true, out);
        }
    }

    fn find_new_reaper(&self, father: Pid) -> Pid {
        if !self.vnr.is_empty() {
            // find_child_reaper(): the namespace's init, or for a dying
            // init the init of the namespace above
            let mut ns = self.active_ns(father);
            let mut reaper = self.ns_init(&ns);
            // an init that already died (its group a zombie, waiting for
            // its parent: Linux's init waits for the namespace to empty
            // first) adopts nobody: the init above does
            let gone =
                |r: Pid| r == father || self.procs.get(&r).is_none_or(|q| !q.alive() || q.threads.is_empty());
            while gone(reaper) && !ns.is_initial() {
                ns = ns.parent().cloned().unwrap_or_default();
                reaper = self.ns_init(&ns);
            }
            if !ns.is_initial() || reaper != 1 {
                let mut r = self.procs.get(&father).map_or(0, |p| p.parent);
                let mut guard = 0;
                while r != 0 && r != reaper && guard < 1 << 22 {
                    guard += 1;
                    match self.procs.get(&r) {
                        Some(q) if q.child_subreaper && q.alive() && !q.threads.is_empty() => return r,
                        Some(q) => r = q.parent,
                        None => break,
                    }
                }
                return if reaper != father && self.procs.contains_key(&reaper) { reaper } else { 0 };
            }
        }
        let mut r = self.procs.get(&father).map_or(0, |p| p.parent);
        let mut guard = 0;
        while r != 0 && r != 1 && guard < 1 << 22 {
            guard += 1;
            match self.procs.get(&r) {
                Some(q) if q.child_subreaper && q.alive() && !q.threads.is_empty() => return r,
                Some(q) => r = q.parent,
                None => break,
            }
        }
        if father != 1 && self.procs.contains_key(&1) { 1 } else { 0 }
    }

    fn group_dead(&mut self, pid: Pid, out: &mut Out<P>) {
        let Some(p) = self.procs.get_mut(&pid) else { return };
        p.state = ProcState::Zombie;
        self.live_groups.remove(&(p.pgid, pid));
        p.stop_report = None;
        p.cont_report = false;
        if let Some(vm) = p.vm.take() {
            out.drop_vm_later(vm);
        }
        let children = core::mem::take(&mut p.children);
        // zap_pid_ns_processes(): a namespace's init takes the namespace's
        // other processes with it, and no process may enter it any more
        if self.is_ns_init(pid) {
            self.zap_pid_ns(pid, out);
        }
        // forget_original_parent()
        let reaper = self.find_new_reaper(pid);
        let reaper_thread =
            self.procs.get(&reaper).and_then(|r| r.threads.first().copied()).unwrap_or(reaper);
        let mut dead = Vec::new();
        for c in children {
            let seen = self.ppid_seen(c, reaper);
            let Some(cp) = self.procs.get_mut(&c) else { continue };
            cp.set_parent(reaper, seen);
            cp.parent_thread = reaper_thread;
            cp.exit_signal = SIGCHLD as i32;
            let zombie = cp.state == ProcState::Zombie;
            self.send_pdeath_signals(c, pid, out);
            if let Some(r) = self.procs.get_mut(&reaper) {
                r.children.push(c);
            }
            if zombie && self.notify_parent_exit(c, out) {
                dead.push(c);
            }
            self.kill_orphaned_pgrp(c, Some(pid), out);
        }
        self.kill_orphaned_pgrp(pid, None, out);
        // exit_ptrace(): its tracees are detached, or killed with EXITKILL;
        // the exits of traced threads it did not reap are gone
        if let Some(p) = self.procs.get_mut(&pid) {
            p.trace_exits = Vec::new();
        }
        // (a walk over every process, made only while a ptrace link may
        // exist: without it each exit of a large group walked them all)
        let tracees: Vec<(Pid, bool)> = if !self.maybe_traced {
            Vec::new()
        } else {
            self.procs
                .values()
                .filter_map(|q| {
                    q.ptrace
                        .as_ref()
                        .filter(|l| l.tracer == pid)
                        .map(|l| (q.pid, l.options.contains(Options::EXITKILL)))
                })
                .collect()
        };
        for (t, kill) in tracees {
            if kill {
                let _ = self.send(t, Sig::<P>::info(SIGKILL, Origin::Kernel), true, out);
            }
            self.ptrace_unlink(t, None, out);
        }
        let tracer = self.procs.get(&pid).and_then(|p| p.ptrace.as_ref()).map(|l| l.tracer);
        let parent = self.procs.get(&pid).map_or(0, |p| p.parent);
        match tracer {
            Some(tr) if tr != parent && self.procs.get(&tr).is_some_and(|t| t.alive()) => {
                // the tracer hears first; the parent when it reaps
                self.notify_tracer_exit(pid, tr, out);
            }
            _ => {
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.ptrace = None;
                }
                if self.notify_parent_exit(pid, out) {
                    dead.push(pid);
                }
            }
        }
        for d in dead {
            self.release(d, out);
        }
    }

    /// do_notify_parent() for an exit: returns whether the child is
    /// reaped at once.
    fn notify_parent_exit(&mut self, pid: Pid, out: &mut Out<P>) -> bool {
        let Some(p) = self.procs.get(&pid) else { return false };
        let parent = p.parent;
        let status = p.exit_status().unwrap_or(ChildStatus::Exited(0));
        let info_uid = p.creds.uid;
        let usage = p.usage;
        let sig = signum(p.exit_signal);
        let Some(pp) = self.procs.get(&parent) else { return true };
        let info_uid = pp.creds.user_ns.uid_from(info_uid);
        let (autoreap, signal) = Sig::<P>::on_child_exit(&pp.handlers, sig);
        if let Some(s) = signal {
            let times = ((usage.utime_us / 10_000) as i64, (usage.stime_us / 10_000) as i64);
            let seen = self.nr_seen(parent, pid);
            let info = child_info::<P>(s, status.si_code(), seen, info_uid, status.si_status(), times);
            let _ = self.send(parent, info, true, out);
        }
        self.child_event(parent, out);
        autoreap
    }

    /// A traced thread that is not the last of its process exited: its
    /// tracer's wait reports it by its tid (do_notify_parent() of a
    /// ptraced task), after SIGCHLD.
    fn notify_tracer_thread_exit(&mut self, pid: Pid, tid: Pid, status: ChildStatus, out: &mut Out<P>) {
        let Some(p) = self.procs.get(&pid) else { return };
        let uid = p.creds.uid;
        let Some(tracer) = p.ptrace.as_ref().map(|l| l.tracer) else { return };
        let Some(tp) = self.procs.get_mut(&tracer) else { return };
        let uid = tp.creds.user_ns.uid_from(uid);
        // no room, or a tracer that does not reap: the report is lost, as
        // if the tracer had reaped it (Linux's zombie threads hold their
        // tids; these do not, so their number is bounded here)
        let q = &mut tp.trace_exits;
        if q.len() >= crate::ptrace::MAX_EXIT_REPORTS || q.try_reserve(1).is_err() {
            return;
        }
        q.push((pid, tid, status));
        let seen = self.nr_seen(tracer, tid);
        let info = child_info::<P>(SIGCHLD, status.si_code(), seen, uid, status.si_status(), (0, 0));
        let _ = self.send(tracer, info, true, out);
        self.child_event(tracer, out);
    }

    /// A traced process that is not the tracer's child died: SIGCHLD to
    /// the tracer, whose wait reports it; the parent waits for that.
    fn notify_tracer_exit(&mut self, pid: Pid, tracer: Pid, out: &mut Out<P>) {
        let Some(p) = self.procs.get_mut(&pid) else { return };
        p.parent_notify_deferred = true;
        let status = p.exit_status().unwrap_or(ChildStatus::Exited(0));
        let (uid, usage) = (p.creds.uid, p.usage);
        let uid = self.uid_seen_by(tracer, uid);
        let times = ((usage.utime_us / 10_000) as i64, (usage.stime_us / 10_000) as i64);
        let seen = self.nr_seen(tracer, pid);
        let info = child_info::<P>(SIGCHLD, status.si_code(), seen, uid, status.si_status(), times);
        let _ = self.send(tracer, info, true, out);
        self.child_event(tracer, out);
    }

    /// A child of `parent` changed state: count it and wake the waiters.
    fn child_event(&mut self, parent: Pid, out: &mut Out<P>) {
        if let Some(pp) = self.procs.get_mut(&parent) {
            pp.child_events = pp.child_events.wrapping_add(1);
        }
        out.effects.note(Note::ChildEvent(parent));
    }

    fn notify_parent_cldstop(&mut self, pid: Pid, status: ChildStatus, out: &mut Out<P>) {
        let Some(p) = self.procs.get(&pid) else { return };
        let parent = p.parent;
        let uid = p.creds.uid;
        let Some(pp) = self.procs.get(&parent) else { return };
        let uid = pp.creds.user_ns.uid_from(uid);
        if Sig::<P>::notify_child_stop(&pp.handlers) {
            let seen = self.nr_seen(parent, pid);
            let info = child_info::<P>(SIGCHLD, status.si_code(), seen, uid, status.si_status(), (0, 0));
            let _ = self.send(parent, info, true, out);
        }
        self.child_event(parent, out);
    }

    /// forget_original_parent(): every thread of child `c` that asked for
    /// a parent-death signal sends it to its process (SI_USER from the
    /// exiting parent `from`, numbered in `c`'s PID namespace).
    fn send_pdeath_signals(&mut self, c: Pid, from: Pid, out: &mut Out<P>) {
        let Some(cp) = self.procs.get(&c) else { return };
        let sigs: Vec<u32> =
            cp.threads.iter().filter_map(|t| self.threads.get(t)).map(|t| t.pdeath_signal).collect();
        let uid = self.procs.get(&from).map_or(0, |p| p.creds.uid);
        let uid = self.uid_seen_by(c, uid);
        for s in sigs {
            if let Some(sig) = signum(s as i32) {
                // SEND_SIG_NOINFO: the parent's number in the child's namespace
                let pid = self.nr_seen(c, from) as i32;
                let _ = self.send(c, Sig::<P>::info(sig, Origin::User { pid, uid }), false, out);
            }
        }
    }

    /// release_task() of a zombie: its numbers are free, its parent forgets it.
    fn release(&mut self, pid: Pid, out: &mut Out<P>) {
        let Some(p) = self.procs.remove(&pid) else { return };
        self.groups.remove(&(p.pgid, pid));
        self.live_groups.remove(&(p.pgid, pid));
        if p.leader_exit.is_some() {
            self.leaders_gone -= 1;
        }
        self.put_pid(pid);
        self.put_pid(p.pgid);
        self.put_pid(p.sid);
        if let Some(pp) = self.procs.get_mut(&p.parent) {
            remove_child(&mut pp.children, pid);
        }
        out.drop_process_later(p);
    }

    /// The processes of group `pgrp`, by pid.
    fn members(&self, pgrp: Pid) -> impl Iterator<Item = Pid> + '_ {
        self.groups.range((pgrp, 0)..=(pgrp, Pid::MAX)).map(|&(_, p)| p)
    }

    /// The members of group `pgrp` that are not zombies, by pid.
    fn live_members(&self, pgrp: Pid) -> impl Iterator<Item = Pid> + '_ {
        self.live_groups.range((pgrp, 0)..=(pgrp, Pid::MAX)).map(|&(_, p)| p)
    }

    fn will_become_orphaned_pgrp(&self, pgrp: Pid, ignored: Option<Pid>) -> bool {
        for q in self.live_members(pgrp).filter_map(|m| self.procs.get(&m)) {
            if Some(q.pid) == ignored || q.state == ProcState::Zombie || q.parent == 1 {
                continue;
            }
            if let Some(parent) = self.procs.get(&q.parent)
                && parent.pgid != pgrp
                && parent.sid == q.sid
            {
                return false;
            }
        }
        true
    }

    fn has_stopped_jobs(&self, pgrp: Pid) -> bool {
        self.live_members(pgrp)
            .filter_map(|m| self.procs.get(&m))
            .any(|q| matches!(q.state, ProcState::Stopped(_)))
    }

    /// kill_orphaned_pgrp(): when `pid`'s exit (`father` None) or its
    /// reparenting away from `father` orphans its group and the group has
    /// stopped members, each member gets SIGHUP then SIGCONT.
    fn kill_orphaned_pgrp(&mut self, pid: Pid, father: Option<Pid>, out: &mut Out<P>) {
        let Some(p) = self.procs.get(&pid) else { return };
        let (parent, ignored) = match father {
            None => (p.parent, Some(pid)),
            Some(f) => (f, None),
        };
        let Some(pp) = self.procs.get(&parent) else { return };
        let pgrp = p.pgid;
        if pp.pgid != pgrp
            && pp.sid == p.sid
            && self.will_become_orphaned_pgrp(pgrp, ignored)
            && self.has_stopped_jobs(pgrp)
        {
            let members: Vec<Pid> = self.members(pgrp).collect();
            for m in &members {
                let _ = self.send(*m, Sig::<P>::info(SIGHUP, Origin::Kernel), true, out);
            }
            for m in &members {
                let _ = self.send(*m, Sig::<P>::info(SIGCONT, Origin::Kernel), true, out);
            }
        }
    }

    fn stop(&mut self, pid: Pid, sig: u32, out: &mut Out<P>) -> Result<()> {
        // threads on their way back to user mode must look again
        Sig::<P>::bump(&self.epoch);
        let p = self.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        if !p.alive() || p.group_exit.is_some() {
            return Ok(());
        }
        p.state = ProcState::Stopped(sig);
        p.stop_report = Some(sig);
        p.cont_report = false;
        // do_signal_stop()'s signal_wake_up() of every thread: one asleep
        // in an interruptible call leaves it (the call restarts after the
        // stop) and stops too
        out.effects.notes(p.threads.iter().map(|&t| Note::Wake(t)));
        // a traced group stop traps for the tracer (ptrace_stop); the real
        // parent hears of it unless it is the tracer
        if p.ptrace.as_ref().is_none_or(|l| l.tracer != p.parent) {
            self.notify_parent_cldstop(pid, ChildStatus::Stopped(sig), out);
        }
        Ok(())
    }

    fn cont(&mut self, pid: Pid, out: &mut Out<P>) -> Result<()> {
        // threads on their way back to user mode must look again
        Sig::<P>::bump(&self.epoch);
        let p = self.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        // prepare_signal(): SIGCONT makes every seized thread trap
        // (ptrace_trap_notify), a listening one at once
        if let Some(l) = p.ptrace.as_mut().filter(|l| l.seized)
            && p.group_exit.is_none()
        {
            l.notify = true;
            out.effects.notes(p.threads.iter().map(|&t| Note::Wake(t)));
        }
        if !matches!(p.state, ProcState::Stopped(_)) {
            return Ok(());
        }
        p.state = ProcState::Running;
        p.stop_report = None;
        p.cont_report = true;
        // Every thread sleeps stopped: wake them all, as Linux's
        // prepare_signal() does for SIGCONT (the signal itself may be
        // ignored, hence queued for no thread).
        out.effects.notes(p.threads.iter().map(|&t| Note::Wake(t)));
        self.notify_parent_cldstop(pid, ChildStatus::Continued, out);
        Ok(())
    }

    /// Queues a process-directed signal (Linux's `send_signal_locked()`
    /// and `complete_signal()`).
    fn send(&mut self, pid: Pid, info: SigInfoOf<P>, force: bool, out: &mut Out<P>) -> Result<()> {
        let sig = Sig::<P>::signo(&info);
        let p = self.procs.get(&pid).ok_or(Errno::ESRCH)?;
        let action = Sig::<P>::action(&p.handlers, sig);
        let blocked = p
            .threads
            .first()
            .and_then(|t| self.threads.get(t))
            .map(|t| Sig::<P>::blocked_for_send(&t.signals))
            .unwrap_or_default();
        let traced = p.ptrace.is_some();
        let group_exiting = p.group_exit.is_some() || !p.alive();
        let facts = SendFacts::new(blocked, pid == 1 || self.is_ns_init(pid), force, group_exiting, traced);
        let plan = Sig::<P>::prepare_send(sig, &action, &facts);
        let uid = p.creds.uid;
        if plan.discard != 0 {
            // (the threads' list is not copied: the two tables are
            // separate fields)
            let Inner { procs, threads, .. } = self;
            if let Some(p) = procs.get_mut(&pid) {
                Sig::<P>::discard_shared(&mut p.pending, plan.discard);
                for t in &p.threads {
                    if let Some(th) = threads.get_mut(t) {
                        Sig::<P>::discard(&mut th.signals, plan.discard);
                    }
                }
            }
        }
        if plan.resume {
            self.cont(pid, out)?;
        }
        if !plan.queue {
            return Ok(());
        }
        let account = self.account(uid);
        // complete_signal() looks at the threads as they were before this
        // signal: one that already has a signal to handle need not be woken.
        // One lookup of the process for the rest, no copy of its threads'
        // list (kill of a group does this per member).
        let Inner { procs, threads, .. } = self;
        let p = procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        let stopped = matches!(p.state, ProcState::Stopped(_));
        // (on the stack for a process of up to four threads)
        let mut few: [<Sig<P> as SignalState>::Candidate; 4] = Default::default();
        let mut many = Vec::new();
        let candidates: &mut [_] = if p.threads.len() <= few.len() {
            &mut few[..p.threads.len()]
        } else {
            many.try_reserve(p.threads.len()).map_err(|_| Errno::ENOMEM)?;
            many.resize_with(p.threads.len(), Default::default);
            &mut many
        };
        for (c, t) in candidates.iter_mut().zip(&p.threads) {
            if let Some(th) = threads.get(t) {
                *c = Sig::<P>::candidate(&th.signals, &p.pending, stopped);
            }
        }
        let limit = p.rlimits.cur(Resource::Sigpending);
        let sent =
            Sig::<P>::complete_send(info, &action, &facts, &mut p.pending, &account, limit, candidates)?;
        out.effects.note(Note::Queued(pid));
        match sent {
            Sent::GroupExit => {
                self.start_group_exit(pid, ChildStatus::Killed { signal: sig, core: false }, out);
            }
            Sent::Queued(Some(i)) => {
                if let Some(&t) = p.threads.get(i) {
                    out.effects.note(Note::Wake(t));
                }
            }
            Sent::Queued(None) => {}
        }
        Ok(())
    }

    /// Drops the signals of `set` from process `pid`'s queue and from its
    /// `threads`' queues (a stop signal's SIGCONT, SIGCONT's stops).
    fn discard(&mut self, pid: Pid, threads: &[Pid], set: u64) {
        if let Some(p) = self.procs.get_mut(&pid) {
            Sig::<P>::discard_shared(&mut p.pending, set);
        }
        for t in threads {
            if let Some(th) = self.threads.get_mut(t) {
                Sig::<P>::discard(&mut th.signals, set);
            }
        }
    }

    fn try_wait(&mut self, caller: Pid, req: &WaitRequest, out: &mut Out<P>) -> Result<Option<WaitReport>> {
        let me = self.proc_of(caller)?;
        let my = self.procs.get(&me).ok_or(Errno::ESRCH)?;
        let my_pgid = my.pgid;
        let o = req.options;
        // a traced thread's exit (not the last thread's), reported by its
        // tid; a tracee is waited for without __WALL (eligible_child)
        let exit = my.trace_exits.iter().position(|&(g, t, _)| {
            o.contains(WaitOptions::WEXITED)
                && match req.selector {
                    WaitSelector::Any => true,
                    WaitSelector::Pid(p) => p == t,
                    WaitSelector::Pgid(x) => self.procs.get(&g).is_some_and(|q| q.pgid == x),
                    WaitSelector::OwnGroup => self.procs.get(&g).is_some_and(|q| q.pgid == my_pgid),
                    WaitSelector::PidFd(_) => false,
                }
        });
        if let Some(i) = exit {
            let (g, t, status) = my.trace_exits[i];
            let uid = self.procs.get(&g).map_or(0, |q| q.creds.uid);
            if !o.contains(WaitOptions::WNOWAIT)
                && let Some(my) = self.procs.get_mut(&me)
            {
                my.trace_exits.remove(i);
            }
            return Ok(Some(WaitReport { pid: t, uid, status, rusage: Rusage::default() }));
        }
        // the children, then the tracees that are not (ptrace_do_wait);
        // a wait for one pid looks at that process only (Linux's
        // do_wait_pid(): no walk of the children, so reaping N children
        // one by one is not quadratic)
        let one = match req.selector {
            WaitSelector::Pid(p) => Some(p),
            _ => None,
        };
        let mut candidates: Vec<Pid> = match one {
            Some(p) => {
                // the process a traced thread's tid names, for a tracer
                let owner =
                    if self.procs.contains_key(&p) { Some(p) } else { self.threads.get(&p).map(|t| t.tgid) };
                owner
                    .filter(|o| {
                        self.procs.get(o).is_some_and(|q| {
                            q.parent == me || q.ptrace.as_ref().is_some_and(|l| l.tracer == me)
                        })
                    })
                    .into_iter()
                    .collect()
            }
            None => my.children.clone(),
        };
        if one.is_none() && self.maybe_traced {
            let mut any = false;
            for q in self.procs.values() {
                let Some(l) = q.ptrace.as_ref() else { continue };
                any = true;
                if q.parent != me && l.tracer == me {
                    candidates.push(q.pid);
                }
            }
            self.maybe_traced = any;
        }
        let eligible: Vec<Pid> = candidates
            .into_iter()
            .filter(|c| {
                let Some(cp) = self.procs.get(c) else { return false };
                let traced = cp.ptrace.as_ref().is_some_and(|l| l.tracer == me);
                if !traced && o.contains(WaitOptions::WNOTHREAD) && cp.parent_thread != caller {
                    return false;
                }
                let selected = match req.selector {
                    WaitSelector::Any => true,
                    // a tracer waits for each traced thread by its tid
                    WaitSelector::Pid(p) => cp.pid == p || (traced && cp.threads.contains(&p)),
                    WaitSelector::Pgid(g) => cp.pgid == g,
                    WaitSelector::OwnGroup => cp.pgid == my_pgid,
                    WaitSelector::PidFd(_) => false,
                };
                // a tracee is waited for whatever its exit signal
                selected
                    && (traced
                        || o.contains(WaitOptions::WALL)
                        || (cp.exit_signal != SIGCHLD as i32) == o.contains(WaitOptions::WCLONE))
            })
            .collect();
        if eligible.is_empty() {
            return Err(Errno::ECHILD);
        }
        let nowait = o.contains(WaitOptions::WNOWAIT);
        for c in eligible {
            // what this child has to report, if anything; its usage is
            // summed only then (not for each of the children passed over)
            let Some(cp) = self.procs.get(&c) else { continue };
            let tracer = cp.ptrace.as_ref().map(|l| l.tracer);
            // a traced thread's trap, reported with its tid
            let only = match req.selector {
                WaitSelector::Pid(p) => Some(p),
                _ => None,
            };
            let trap = if tracer == Some(me) {
                cp.threads.iter().find_map(|&t| {
                    let th = self.threads.get(&t).filter(|_| only.is_none_or(|p| p == t))?;
                    th.trace.report.filter(|_| th.trace.attached).map(|code| (t, code))
                })
            } else {
                None
            };
            let mut who = c;
            // what a report consumes: a trap, the zombie, a stop, a continue
            let (status, kind) = if let Some((t, code)) = trap {
                // wait_task_stopped() for a tracee: no WUNTRACED needed
                who = t;
                (ChildStatus::Trapped(code), 0)
            } else if only.is_some_and(|p| p != c) {
                continue;
            } else if cp.state == ProcState::Zombie {
                if !o.contains(WaitOptions::WEXITED) {
                    continue;
                }
                // traced by another: not reapable before its tracer (a
                // zombie reparented to its own tracer is the tracer's to
                // reap: smp36)
                if cp.parent == me && cp.parent_notify_deferred && tracer != Some(me) {
                    continue;
                }
                (cp.exit_status().unwrap_or(ChildStatus::Exited(0)), 1)
            } else if o.contains(WaitOptions::WUNTRACED)
                && tracer != Some(me)
                && let Some(sig) = cp.stop_report
            {
                // a tracer sees its tracee's traps, not its group stop
                // (wait_consider_task)
                (ChildStatus::Stopped(sig), 2)
            } else if o.contains(WaitOptions::WCONTINUED) && cp.cont_report {
                (ChildStatus::Continued, 3)
            } else {
                continue;
            };
            let mut rusage = cp.usage;
            for t in &cp.threads {
                if let Some(th) = self.threads.get(t) {
                    rusage.accumulate(&th.cpu.usage());
                }
            }
            rusage.accumulate(&cp.children_usage);
            let (uid, parent) = (cp.creds.uid, cp.parent);
            // the child as the waiter sees it (before a reap frees its numbers)
            let rep = WaitReport { pid: self.nr_seen(me, who), uid, status, rusage };
            if nowait {
                return Ok(Some(rep));
            }
            match kind {
                0 => {
                    if let Some(th) = self.threads.get_mut(&who) {
                        th.trace.report = None;
                    }
                }
                // the tracer reaps for the report only; the parent hears
                // of the exit now (wait_task_zombie's EXIT_TRACE)
                1 if parent != me => self.ptrace_unlink(c, Some(0), out),
                1 => {
                    if let Some(my) = self.procs.get_mut(&me) {
                        my.children_usage.accumulate(&rep.rusage);
                    }
                    self.release(c, out);
                }
                2 => {
                    if let Some(cp) = self.procs.get_mut(&c) {
                        cp.stop_report = None;
                    }
                }
                _ => {
                    if let Some(cp) = self.procs.get_mut(&c) {
                        cp.cont_report = false;
                    }
                }
            }
            return Ok(Some(rep));
        }
        Ok(None)
    }

    /// A process by a pid argument (0: the caller's); a non-leader tid
    /// finds its process, as Linux's `find_task_by_vpid()`.
    fn lookup(&self, caller: Pid, pid: i32) -> Result<&Process<P>> {
        let pid = if pid == 0 {
            self.proc_of(caller)?
        } else if pid < 0 {
            return Err(Errno::ESRCH);
        } else {
            let pid = self.user_nr(caller, pid as u32).ok_or(Errno::ESRCH)?;
            match self.threads.get(&pid) {
                Some(t) => t.tgid,
                None => pid,
            }
        };
        self.procs.get(&pid).map(|p| &**p).ok_or(Errno::ESRCH)
    }

    fn setpgid(&mut self, caller: Pid, pid: i32, pgid: i32) -> Result<()> {
        let me = self.proc_of(caller)?;
        if pgid < 0 {
            return Err(Errno::EINVAL);
        }
        if pid < 0 {
            return Err(Errno::ESRCH);
        }
        // numbers of the caller's PID namespace as kernel pids (a group
        // number it does not have is no group: EPERM below)
        let pid = if pid == 0 { me } else { self.user_nr(me, pid as u32).ok_or(Errno::ESRCH)? };
        let pgid = if pgid == 0 { pid } else { self.user_nr(me, pgid as u32).unwrap_or(u32::MAX) };
        // find_task_by_vpid(), then thread_group_leader().
        match self.threads.get(&pid) {
            Some(t) if t.tgid != pid => return Err(Errno::EINVAL),
            Some(_) => {}
            None if self.procs.contains_key(&pid) => {}
            None => return Err(Errno::ESRCH),
        }
        let my_sid = self.procs.get(&me).ok_or(Errno::ESRCH)?.sid;
        let p = self.procs.get(&pid).ok_or(Errno::ESRCH)?;
        if p.parent == me {
            if p.sid != my_sid {
                return Err(Errno::EPERM);
            }
            if p.did_exec {
                return Err(Errno::EACCES);
            }
        } else if pid != me {
            return Err(Errno::ESRCH);
        }
        if p.session_leader {
            return Err(Errno::EPERM);
        }
        if pgid != pid && !self.members(pgid).filter_map(|m| self.procs.get(&m)).any(|q| q.sid == my_sid) {
            return Err(Errno::EPERM);
        }
        let old = p.pgid;
        if old != pgid {
            self.pids.get(pgid)?;
            self.put_pid(old);
            if let Some(p) = self.procs.get_mut(&pid) {
                p.pgid = pgid;
                self.groups.remove(&(old, pid));
                self.groups.insert((pgid, pid));
                if self.live_groups.remove(&(old, pid)) {
                    self.live_groups.insert((pgid, pid));
                }
            }
        }
        Ok(())
    }

    fn setsid(&mut self, caller: Pid) -> Result<Pid> {
        let me = self.proc_of(caller)?;
        let p = self.procs.get(&me).ok_or(Errno::ESRCH)?;
        if p.session_leader {
            return Err(Errno::EPERM);
        }
        if self.members(me).next().is_some() {
            return Err(Errno::EPERM);
        }
        let (old_pgid, old_sid) = (p.pgid, p.sid);
        self.pids.get(me)?;
        self.pids.get(me)?;
        self.put_pid(old_pgid);
        self.put_pid(old_sid);
        if let Some(p) = self.procs.get_mut(&me) {
            p.session_leader = true;
            self.groups.remove(&(p.pgid, me));
            self.groups.insert((me, me));
            if self.live_groups.remove(&(p.pgid, me)) {
                self.live_groups.insert((me, me));
            }
            p.pgid = me;
            p.sid = me;
        }
        Ok(me)
    }

    /// kill_ok_by_cred() and check_kill_permission().
    fn may_signal(&self, me: Pid, target: Pid, sig: i32) -> Result<()> {
        let sender = self.sender(me)?;
        self.may_signal_from(&sender, target, sig)
    }

    /// What the permission check of a kill needs of the caller, looked up
    /// once for all the targets of a kill.
    fn sender(&self, me: Pid) -> Result<Sender> {
        let a = self.procs.get(&me).ok_or(Errno::ESRCH)?;
        Ok(Sender { pid: me, uid: a.creds.uid, euid: a.creds.euid, capable: a.creds.capable(), sid: a.sid })
    }

    /// [`Inner::may_signal`] with the caller's facts at hand.
    fn may_signal_from(&self, s: &Sender, target: Pid, sig: i32) -> Result<()> {
        if s.pid == target {
            return Ok(());
        }
        let b = self.procs.get(&target).ok_or(Errno::ESRCH)?;
        let t = &b.creds;
        if s.euid == t.suid || s.euid == t.uid || s.uid == t.suid || s.uid == t.uid || s.capable {
            return Ok(());
        }
        if sig == SIGCONT as i32 && s.sid == b.sid {
            return Ok(());
        }
        Err(Errno::EPERM)
    }

    fn kill_one(&mut self, s: &Sender, target: Pid, sig: i32, out: &mut Out<P>) -> Result<()> {
        self.may_signal_from(s, target, sig)?;
        let Some(n) = signum(sig) else { return Ok(()) };
        let uid = self.kill_uid(s.pid, s.uid, target);
        // the sender as the target sees it; one from an ancestor namespace
        // forces SIGKILL and SIGSTOP on a namespace's init
        let seen = self.nr_seen(target, s.pid);
        self.send(target, Sig::<P>::info(n, Origin::User { pid: seen as i32, uid }), seen == 0, out)
    }

    /// `create_new_namespaces` for the UTS, mount, IPC, cgroup and network
    /// namespaces `f` asks for: each made in `ns`, numbered from
    /// `next_ino`, owned by `creds`' user namespace and counted against
    /// its euid (`ENOSPC` at `user.max_*_namespaces`; what was made
    /// before a failure is simply dropped by the caller, which gives its
    /// counts back).
    fn new_namespaces(
        counts: &mut crate::ns::NsCounts,
        ipc_gone: Option<fn(u64)>,
        f: CloneFlags,
        creds: &Credentials,
        ns: &mut crate::ns::NsSet,
        next_ino: &mut u64,
    ) -> Result<()> {
        use CloneFlags as F;
        let owner = || creds.user_ns.clone();
        if f.contains(F::NEWUTS) {
            let c = counts.charge(NsKind::Uts, &creds.user_ns, creds.euid)?;
            ns.uts = ns.uts.copy(*next_ino, owner(), Some(c));
            *next_ino += 1;
        }
        if f.contains(F::NEWNS) {
            let c = counts.charge(NsKind::Mnt, &creds.user_ns, creds.euid)?;
            ns.mnt = ns.mnt.copy(*next_ino, owner(), Some(c));
            *next_ino += 1;
        }
        if f.contains(F::NEWIPC) {
            let c = counts.charge(NsKind::Ipc, &creds.user_ns, creds.euid)?;
            ns.ipc = crate::ns::IpcNs::create(*next_ino, owner(), Some(c), ipc_gone);
            *next_ino += 1;
        }
        if f.contains(F::NEWCGROUP) {
            // copy_cgroup_ns(): rooted where the maker is, which the
            // kernel sets (its root starts as the maker's namespace's)
            let c = counts.charge(NsKind::Cgroup, &creds.user_ns, creds.euid)?;
            ns.cgroup = crate::ns::CgroupNs::create(*next_ino, owner(), Some(c), ns.cgroup.root());
            *next_ino += 1;
        }
        if f.contains(F::NEWNET) {
            let c = counts.charge(NsKind::Net, &creds.user_ns, creds.euid)?;
            ns.net = crate::ns::NetNs::create(*next_ino, owner(), Some(c));
            *next_ino += 1;
        }
        // copy_time_ns(): a copy of the children's namespace (its offsets)
        // becomes the children's; the caller's own stays
        if f.contains(F::NEWTIME) {
            let c = counts.charge(NsKind::Time, &creds.user_ns, creds.euid)?;
            ns.time_children = ns.time_children.copy(*next_ino, owner(), Some(c));
            *next_ino += 1;
        }
        Ok(())
    }

    /// unshare(2)'s checks: the handles of the fd table and fs context to
    /// copy (shared ones the flags name) and whether to drop the semaphore
    /// undo list; the caller copies and installs them.
    #[allow(clippy::type_complexity)]
    fn unshare(&mut self, tid: Pid, flags: u64) -> Result<(Option<Files<P>>, Option<Fs<P>>, bool)> {
        use CloneFlags as F;
        let allowed = F::THREAD
            | F::FS
            | F::NEWNS
            | F::SIGHAND
            | F::VM
            | F::FILES
            | F::SYSVSEM
            | F::NEWUTS
            | F::NEWIPC
            | F::NEWNET
            | F::NEWUSER
            | F::NEWPID
            | F::NEWCGROUP
            | F::NEWTIME;
        let mut f = CloneFlags::from_bits_retain(flags);
        if f.contains(F::NEWUSER) {
            f |= F::THREAD | F::FS;
        }
        if f.contains(F::VM) {
            f |= F::SIGHAND;
        }
        if f.contains(F::SIGHAND) {
            f |= F::THREAD;
        }
        if f.contains(F::NEWNS) {
            f |= F::FS;
        }
        // check_unshare_flags()
        if !allowed.contains(f) {
            return Err(Errno::EINVAL);
        }
        let pid = self.proc_of(tid)?;
        let p = self.procs.get(&pid).ok_or(Errno::ESRCH)?;
        if f.intersects(F::THREAD | F::SIGHAND | F::VM) && p.threads.len() > 1 {
            return Err(Errno::EINVAL);
        }
        if f.intersects(F::SIGHAND | F::VM) && Sig::<P>::handlers_shared(&p.handlers) {
            return Err(Errno::EINVAL);
        }
        if f.contains(F::VM) && p.vm.as_ref().is_some_and(|v| Arc::strong_count(v) > 1) {
            return Err(Errno::EINVAL);
        }
        let t = self.threads.get(&tid).ok_or(Errno::ESRCH)?;
        // unshare_fs(), unshare_fd(): the handles to copy (after the lock)
        let fs = t.fs.as_ref().filter(|fs| f.contains(F::FS) && fs.is_shared()).map(FsContext::share);
        let files = t.files.as_ref().filter(|fl| f.contains(F::FILES) && fl.is_shared()).map(FdTable::share);
        // unshare_userns(), unshare_nsproxy_namespaces(): the new
        // credentials' namespace owns the new namespaces
        let mut creds = None;
        let mut next_ino = self.ns_ino;
        if f.contains(F::NEWUSER) {
            let mut c = p.creds.clone();
            let counts = &mut self.ns_counts;
            let parent = c.user_ns.clone();
            c.enter_new_user_ns_charged(next_ino, |euid| {
                counts.charge(NsKind::User, &parent, euid).map(Some)
            })?;
            next_ino += 1;
            creds = Some(c);
        }
        let mut new_ns = None;
        if f.intersects(crate::clone::NS_FLAGS) {
            let c = creds.clone().unwrap_or_else(|| p.creds.clone());
            if !c.ns_capable(&c.user_ns, crate::cred::CAP_SYS_ADMIN) {
                return Err(Errno::EPERM);
            }
            if f.intersects(crate::clone::NS_FLAGS.difference(crate::clone::NS_SUPPORTED)) {
                return Err(Errno::EINVAL);
            }
            let mut ns = p.ns.clone();
            let old_pid_children = p.ns.pid_children.clone();
            Self::new_namespaces(&mut self.ns_counts, self.ipc_gone, f, &c, &mut ns, &mut next_ino)?;
            if f.contains(F::NEWPID) {
                // copy_pid_ns(): only from the namespace the caller is in
                let active = self.active_ns(pid);
                if old_pid_children != active {
                    return Err(Errno::EINVAL);
                }
                let counts = &mut self.ns_counts;
                let charge = || counts.charge(NsKind::Pid, &c.user_ns, c.euid).map(Some);
                ns.pid_children = active.create_child(next_ino, c.user_ns.clone(), charge)?;
                next_ino += 1;
            }
            new_ns = Some(ns);
        }
        // (nothing fails below)
        self.ns_ino = next_ino;
        let sem = f.intersects(F::NEWIPC | F::SYSVSEM);
        let p = self.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        if let Some(c) = creds {
            p.creds = c;
            p.cap_bset = CAP_FULL_SET;
        }
        if let Some(ns) = new_ns {
            p.ns = ns;
        }
        Ok((files, fs, sem))
    }

    fn tgkill(&mut self, caller: Pid, tgid: Option<i32>, tid: i32, sig: i32, out: &mut Out<P>) -> Result<()> {
        if tid <= 0 || tgid.is_some_and(|g| g <= 0) {
            return Err(Errno::EINVAL);
        }
        let me = self.proc_of(caller)?;
        let tid = self.user_nr(me, tid as u32).ok_or(Errno::ESRCH)? as i32;
        let t = self.threads.get(&(tid as u32)).ok_or(Errno::ESRCH)?;
        let target = t.tgid;
        if tgid.is_some_and(|g| self.user_nr(me, g as u32) != Some(target)) {
            return Err(Errno::ESRCH);
        }
        if !(0..=64).contains(&sig) {
            return Err(Errno::EINVAL);
        }
        self.may_signal(me, target, sig)?;
        let Some(s) = signum(sig) else { return Ok(()) };
        let uid = self.procs.get(&me).map_or(0, |p| p.creds.uid);
        let uid = self.kill_uid(me, uid, target);
        let seen = self.nr_seen(target, me);
        self.send_thread(tid as u32, Sig::<P>::info(s, Origin::Tkill { pid: seen as i32, uid }), out)
    }

    fn sigqueue(
        &mut self,
        caller: Pid,
        tgid: Pid,
        tid: Option<Pid>,
        info: SigInfoOf<P>,
        out: &mut Out<P>,
    ) -> Result<()> {
        let me = self.proc_of(caller)?;
        let tgid = match tid {
            // rt_tgsigqueueinfo: the thread must belong to that process
            Some(tid) => {
                if self.threads.get(&tid).is_none_or(|t| t.tgid != tgid) {
                    return Err(Errno::ESRCH);
                }
                tgid
            }
            // rt_sigqueueinfo: any thread id names its process
            None if self.procs.contains_key(&tgid) => tgid,
            None => self.threads.get(&tgid).map(|t| t.tgid).ok_or(Errno::ESRCH)?,
        };
        self.may_signal(me, tgid, Sig::<P>::signo(&info) as i32)?;
        match tid {
            Some(tid) => self.send_thread(tid, info, out),
            None => self.send(tgid, info, false, out),
        }
    }

    /// Queues a thread-directed signal.
    fn send_thread(&mut self, tid: Pid, info: SigInfoOf<P>, out: &mut Out<P>) -> Result<()> {
        let sig = Sig::<P>::signo(&info);
        let th = self.threads.get(&tid).ok_or(Errno::ESRCH)?;
        let pid = th.tgid;
        let p = self.procs.get(&pid).ok_or(Errno::ESRCH)?;
        let action = Sig::<P>::action(&p.handlers, sig);
        // sig_ignored(): a tracee's ignored signals still reach its tracer
        let blocked = Sig::<P>::blocked_for_send(&th.signals);
        let facts = SendFacts::new(
            blocked,
            pid == 1 || self.is_ns_init(pid),
            false,
            p.group_exit.is_some(),
            p.ptrace.is_some(),
        );
        let plan = Sig::<P>::prepare_send(sig, &action, &facts);
        let threads = p.threads.clone();
        let uid = p.creds.uid;
        let limit = p.rlimits.cur(Resource::Sigpending);
        if plan.discard != 0 {
            self.discard(pid, &threads, plan.discard);
        }
        if plan.resume {
            self.cont(pid, out)?;
        }
        if !plan.queue {
            return Ok(());
        }
        let account = self.account(uid);
        let th = self.threads.get_mut(&tid).ok_or(Errno::ESRCH)?;
        Sig::<P>::enqueue(&mut th.signals, info, &account, limit)?;
        out.effects.note(Note::Queued(pid));
        // blocked, or waited for in sigtimedwait(2) (real_blocked)
        let blocked = Sig::<P>::blocked_for_send(&th.signals) & crate::sigstate::sigbit(sig) != 0;
        // complete_signal(): not for a tracee (its tracer sees the signal)
        if !blocked
            && !facts.unkillable
            && (!facts.traced || sig == SIGKILL)
            && Sig::<P>::fatal_on_send(sig, &action)
        {
            self.start_group_exit(pid, ChildStatus::Killed { signal: sig, core: false }, out);
        } else {
            out.effects.note(Note::Wake(tid));
        }
        Ok(())
    }

    fn kill(&mut self, caller: Pid, pid: i32, sig: i32, out: &mut Out<P>) -> Result<()> {
        if !(0..=64).contains(&sig) {
            return Err(Errno::EINVAL);
        }
        let me = self.proc_of(caller)?;
        if pid == i32::MIN {
            return Err(Errno::ESRCH);
        }
        let sender = self.sender(me)?;
        if pid > 0 {
            let target = self.lookup(caller, pid)?.pid;
            return self.kill_one(&sender, target, sig, out);
        }
        if pid == -1 {
            let ns = self.active_ns(me);
            let targets: Vec<Pid> =
                self.procs.keys().copied().filter(|&p| self.nr_in(p, &ns) > 1 && p != me).collect();
            let mut ret = Ok(());
            for t in &targets {
                match self.kill_one(&sender, *t, sig, out) {
                    Err(Errno::EPERM) => {}
                    r => ret = r,
                }
            }
            return if targets.is_empty() { Err(Errno::ESRCH) } else { ret };
        }
        let pgrp = if pid == 0 {
            self.procs.get(&me).ok_or(Errno::ESRCH)?.pgid
        } else {
            self.user_nr(me, pid.unsigned_abs()).ok_or(Errno::ESRCH)?
        };
        let members: Vec<Pid> = self.members(pgrp).collect();
        if members.is_empty() {
            return Err(Errno::ESRCH);
        }
        let mut success = false;
        let mut last = Ok(());
        for m in members {
            let r = self.kill_one(&sender, m, sig, out);
            success |= r.is_ok();
            last = r;
        }
        if success { Ok(()) } else { last }
    }

    fn exec(&mut self, tid: Pid, new_vm: Vm<P>, out: &mut Out<P>) -> Result<Pid> {
        // threads on their way back to user mode must look again
        Sig::<P>::bump(&self.epoch);
        let pid = self.proc_of(tid)?;
        let p = self.procs.get(&pid).ok_or(Errno::ESRCH)?;
        if p.group_exit.is_some() {
            return Err(Errno::EAGAIN);
        }
        // The reset handlers first: the only step that can fail (a copy of
        // a table shared copy-on-write), before anything has changed.
        let handlers = Sig::<P>::exec_handlers(&p.handlers)?;
        let vm = p.vm.clone();
        let shared_outside = p.vm.as_ref().is_some_and(|v| Arc::strong_count(v) > 1);
        // de_thread(): the other threads die.
        let others: Vec<Pid> = p.threads.iter().copied().filter(|&t| t != tid).collect();
        for o in others {
            self.mm_release(o, vm.as_ref(), true, out);
            let mut ext = P::ThreadExt::default();
            let mut traced = false;
            if let Some(mut th) = self.threads.remove(&o) {
                let usage = th.cpu.usage();
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.usage.accumulate(&usage);
                }
                traced = th.trace.attached;
                ext = core::mem::take(&mut th.ext);
                out.drop_later(th);
            }
            if o != pid {
                self.put_pid(o);
                // a traced thread's exit goes to its tracer; killed for an
                // exec (group_exec_task), it exits 0 (do_group_exit())
                if traced {
                    self.notify_tracer_thread_exit(pid, o, ChildStatus::exited(0), out);
                }
            }
            out.effects.push(Effect::Exited(o, ext));
        }
        let mut new_tid = tid;
        if tid != pid {
            // The caller takes the leader's pid; its own tid is freed.
            if let Some(mut th) = self.threads.remove(&tid) {
                th.tid = pid;
                self.threads.insert(pid, th);
            }
            self.put_pid(tid);
            out.effects.note(Note::Renamed(tid, pid));
            new_tid = pid;
        }
        let p = self.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        if tid != pid {
            p.exit_signal = SIGCHLD as i32;
            if p.leader_exit.take().is_some() {
                self.leaders_gone -= 1;
            }
        }
        p.threads = alloc::vec![pid];
        // the old leader is gone, traced or not
        p.leader_traced_exit = false;
        for c in p.children.clone() {
            if let Some(cp) = self.procs.get_mut(&c)
                && cp.parent == pid
            {
                cp.parent_thread = pid;
            }
        }
        // the tracees among the other threads went with them: the
        // process's link goes with its last tracee
        if self.procs.get(&pid).is_some_and(|p| p.ptrace.is_some()) && !self.still_traced(pid) {
            self.ptrace_unlink(pid, Some(0), out);
        }
        // exec_mm_release(): only the old address space's other users care.
        self.mm_release(new_tid, vm.as_ref(), shared_outside, out);
        drop(vm);
        let p = self.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        if let Some(old) = p.vm.replace(Arc::new(lock_api::Mutex::new(new_vm))) {
            // exec_mmap(): the old address space's high-water mark stays
            // the process's (signal->maxrss)
            p.usage.maxrss_kb = p.usage.maxrss_kb.max(maxrss_kb::<P>(&old));
            out.drop_later(old);
        }
        let old = core::mem::replace(&mut p.handlers, handlers);
        out.drop_later(old);
        p.did_exec = true;
        p.dumpable = 1;
        p.membarrier = 0;
        p.mlock.unlock_all();
        p.ext.exec();
        let bset = p.cap_bset;
        p.creds.exec_caps(bset);
        if let Some(th) = self.threads.get_mut(&new_tid) {
            Sig::<P>::exec_thread(&mut th.signals);
            th.robust_list = (0, 0);
            th.ext.exec();
            // the fd table's half: by the caller, after the lock
        }
        Ok(new_tid)
    }
}
