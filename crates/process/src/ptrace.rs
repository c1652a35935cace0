//! ptrace(2)'s model: the request and option numbers, a tracee's link to
//! its tracer ([`TraceLink`]: options, the stop it is in, what wait reports,
//! how the tracer resumes it), the stop codes wait reports
//! (`exit_code` in Linux), and the permission rules: `ptrace_may_access`
//! with `PTRACE_MODE_ATTACH_REALCREDS`, `cap_ptrace_access_check` and
//! YAMA's relational scope (1, Debian's default) with `PR_SET_PTRACER`.
//!
//! The tracer is a process; each thread of a tracee is attached or not
//! and has its own stop ([`ThreadTrace`]), as Linux's per-task tracing;
//! what is per process ([`TraceLink`]) is the tracer, its options and
//! the job-control traps. The table keeps the links ([`crate::table::ProcessTable`]'s `ptrace_*`
//! operations); the kernel runs the stops.

use bitflags::bitflags;
use linux_abi::{Errno, Result};

use crate::cred::{CAP_SYS_PTRACE, Credentials};
use crate::pid::Pid;

/// The requests (`include/uapi/linux/ptrace.h`, x86's `asm/ptrace-abi.h`).
pub mod req {
    /// PTRACE_TRACEME
    pub const TRACEME: u64 = 0;
    /// PTRACE_PEEKTEXT
    pub const PEEKTEXT: u64 = 1;
    /// PTRACE_PEEKDATA
    pub const PEEKDATA: u64 = 2;
    /// PTRACE_PEEKUSR
    pub const PEEKUSER: u64 = 3;
    /// PTRACE_POKETEXT
    pub const POKETEXT: u64 = 4;
    /// PTRACE_POKEDATA
    pub const POKEDATA: u64 = 5;
    /// PTRACE_POKEUSR
    pub const POKEUSER: u64 = 6;
    /// PTRACE_CONT
    pub const CONT: u64 = 7;
    /// PTRACE_KILL
    pub const KILL: u64 = 8;
    /// PTRACE_SINGLESTEP
    pub const SINGLESTEP: u64 = 9;
    /// PTRACE_GETREGS
    pub const GETREGS: u64 = 12;
    /// PTRACE_SETREGS
    pub const SETREGS: u64 = 13;
    /// PTRACE_GETFPREGS
    pub const GETFPREGS: u64 = 14;
    /// PTRACE_SETFPREGS
    pub const SETFPREGS: u64 = 15;
    /// PTRACE_ATTACH
    pub const ATTACH: u64 = 16;
    /// PTRACE_DETACH
    pub const DETACH: u64 = 17;
    /// PTRACE_SYSCALL
    pub const SYSCALL: u64 = 24;
    /// PTRACE_SETOPTIONS
    pub const SETOPTIONS: u64 = 0x4200;
    /// PTRACE_GETEVENTMSG
    pub const GETEVENTMSG: u64 = 0x4201;
    /// PTRACE_GETSIGINFO
    pub const GETSIGINFO: u64 = 0x4202;
    /// PTRACE_SETSIGINFO
    pub const SETSIGINFO: u64 = 0x4203;
    /// PTRACE_GETREGSET
    pub const GETREGSET: u64 = 0x4204;
    /// PTRACE_SETREGSET
    pub const SETREGSET: u64 = 0x4205;
    /// PTRACE_SEIZE
    pub const SEIZE: u64 = 0x4206;
    /// PTRACE_INTERRUPT
    pub const INTERRUPT: u64 = 0x4207;
    /// PTRACE_LISTEN
    pub const LISTEN: u64 = 0x4208;
    /// PTRACE_PEEKSIGINFO
    pub const PEEKSIGINFO: u64 = 0x4209;
    /// PTRACE_GETSIGMASK
    pub const GETSIGMASK: u64 = 0x420a;
    /// PTRACE_SETSIGMASK
    pub const SETSIGMASK: u64 = 0x420b;
    /// PTRACE_GET_SYSCALL_INFO
    pub const GET_SYSCALL_INFO: u64 = 0x420e;
    /// PTRACE_GET_RSEQ_CONFIGURATION
    pub const GET_RSEQ_CONFIGURATION: u64 = 0x420f;
}

bitflags! {
    /// PTRACE_O_* (`PTRACE_O_MASK` is all of them).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct Options: u32 {
        /// Syscall stops report `SIGTRAP | 0x80`.
        const TRACESYSGOOD = 0x1;
        /// Stop at fork and trace the child.
        const TRACEFORK = 0x2;
        /// Stop at vfork and trace the child.
        const TRACEVFORK = 0x4;
        /// Stop at clone and trace the child.
        const TRACECLONE = 0x8;
        /// Stop after a successful execve.
        const TRACEEXEC = 0x10;
        /// Stop when a vfork child releases the parent.
        const TRACEVFORKDONE = 0x20;
        /// Stop at exit.
        const TRACEEXIT = 0x40;
        /// Stop at `SECCOMP_RET_TRACE`.
        const TRACESECCOMP = 0x80;
        /// Kill the tracee when the tracer exits.
        const EXITKILL = 0x10_0000;
        /// Suspend seccomp (needs `CAP_SYS_ADMIN`).
        const SUSPEND_SECCOMP = 0x20_0000;
    }
}

impl Options {
    /// PTRACE_SETOPTIONS's check: unknown bits are `EINVAL`
    /// (`SUSPEND_SECCOMP` too: this kernel has no seccomp).
    pub fn parse(data: u64) -> Result<Options> {
        let o = u32::try_from(data).ok().and_then(Options::from_bits).ok_or(Errno::EINVAL)?;
        if o.contains(Options::SUSPEND_SECCOMP) {
            return Err(Errno::EINVAL);
        }
        Ok(o)
    }

    /// PTRACE_SEIZE's check of its options: unknown bits are `EIO`.
    pub fn parse_seize(data: u64) -> Result<Options> {
        Options::parse(data).map_err(|_| Errno::EIO)
    }
}

/// The most exits of traced threads a tracer keeps for its wait; more are
/// dropped unreported.
pub const MAX_EXIT_REPORTS: usize = 4096;

/// PTRACE_EVENT_FORK
pub const EVENT_FORK: u32 = 1;
/// PTRACE_EVENT_VFORK
pub const EVENT_VFORK: u32 = 2;
/// PTRACE_EVENT_CLONE
pub const EVENT_CLONE: u32 = 3;
/// PTRACE_EVENT_EXEC
pub const EVENT_EXEC: u32 = 4;
/// PTRACE_EVENT_VFORK_DONE
pub const EVENT_VFORK_DONE: u32 = 5;
/// PTRACE_EVENT_EXIT
pub const EVENT_EXIT: u32 = 6;
/// PTRACE_EVENT_SECCOMP (a filter's `SECCOMP_RET_TRACE`)
pub const EVENT_SECCOMP: u32 = 7;
/// PTRACE_EVENT_STOP (group stops and PTRACE_INTERRUPT of a seized tracee)
pub const EVENT_STOP: u32 = 128;
/// `ptrace_message` at a syscall-entry stop.
pub const EVENTMSG_SYSCALL_ENTRY: u64 = 1;
/// `ptrace_message` at a syscall-exit stop.
pub const EVENTMSG_SYSCALL_EXIT: u64 = 2;
/// `SIGTRAP`.
pub const SIGTRAP: u32 = 5;
/// `SIGSTOP`.
pub const SIGSTOP: u32 = 19;

/// The `exit_code` of an event stop: `SIGTRAP | event << 8`.
pub const fn event_code(event: u32) -> u32 {
    SIGTRAP | event << 8
}

/// The `exit_code` of a syscall stop: `SIGTRAP`, `| 0x80` with
/// `PTRACE_O_TRACESYSGOOD`.
pub fn syscall_code(options: Options) -> u32 {
    SIGTRAP | if options.contains(Options::TRACESYSGOOD) { 0x80 } else { 0 }
}

/// The signal argument of CONT, SYSCALL, SINGLESTEP, DETACH:
/// `valid_signal()` or `EIO`.
pub fn resume_signal(data: u64) -> Result<u32> {
    if data <= 64 { Ok(data as u32) } else { Err(Errno::EIO) }
}

/// How the tracer lets the tracee go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ResumeMode {
    /// PTRACE_CONT (and DETACH).
    #[default]
    Cont,
    /// PTRACE_SYSCALL: stop at the next syscall entry or exit.
    Syscall,
    /// PTRACE_SINGLESTEP: the trap flag.
    SingleStep,
}

/// A resume request: the mode and the signal to deliver (0: none):
/// [`Resume::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resume {
    /// How.
    pub mode: ResumeMode,
    /// The signal the stopped tracee delivers (0 suppresses it).
    pub sig: u32,
}

impl Resume {
    /// Resume in `mode`, delivering `sig` (0: none).
    pub fn new(mode: ResumeMode, sig: u32) -> Self {
        Resume { mode, sig }
    }
}

/// What kind of stop the tracee is in (for GET_SYSCALL_INFO and LISTEN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StopKind {
    /// A signal-delivery stop.
    #[default]
    Signal,
    /// A syscall-entry stop.
    SyscallEntry,
    /// A syscall-exit stop.
    SyscallExit,
    /// An event stop (`PTRACE_EVENT_*`).
    Event(u32),
    /// A group stop (by this signal).
    Group(u32),
}

/// A traced process's side of ptrace: who traces it and the job-control
/// traps due. The stops themselves are per thread ([`ThreadTrace`]): a
/// thread is a tracee when it is attached (ATTACH/SEIZE of its tid,
/// TRACEME, an auto-attach at clone), and every attached thread of one
/// process has the same tracer here.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TraceLink {
    /// The tracer's pid.
    pub tracer: Pid,
    /// Attached by PTRACE_SEIZE.
    pub seized: bool,
    /// PTRACE_O_*.
    pub options: Options,
    /// SIGCONT reached a seized tracee (`JOBCTL_TRAP_NOTIFY`): it traps
    /// with `PTRACE_EVENT_STOP` before it goes on (at once when listening).
    pub notify: bool,
    /// PTRACE_LISTEN: this thread stays in its `PTRACE_EVENT_STOP` trap
    /// but is not in a trace stop for wait and requests
    /// (`JOBCTL_LISTENING`).
    pub listening: Option<Pid>,
}

impl TraceLink {
    /// A new link to `tracer`.
    pub fn new(tracer: Pid, seized: bool, options: Options) -> Self {
        TraceLink { tracer, seized, options, ..TraceLink::default() }
    }

    /// The link a traced parent gives an auto-attached child (fork, vfork
    /// and clone events, `CLONE_PTRACE`): same tracer, options, seize.
    pub fn inherit(&self) -> Self {
        TraceLink::new(self.tracer, self.seized, self.options)
    }

    /// Whether a `PTRACE_EVENT_STOP` trap is due (`JOBCTL_TRAP_MASK`).
    pub fn trap_pending(&self) -> bool {
        self.notify
    }

    /// PTRACE_LISTEN of thread `tid` (its trace state `th`): allowed in a
    /// `PTRACE_EVENT_STOP` trap of a seized tracee (`EIO` otherwise); the
    /// thread stays trapped, but wait and the requests no longer see a
    /// stop. True when a trap is already due (the thread must be woken to
    /// trap again).
    pub fn listen<I>(&mut self, tid: Pid, th: &mut ThreadTrace<I>) -> Result<bool> {
        if !self.seized || th.kind != StopKind::Event(EVENT_STOP) || !th.is_stopped() {
            return Err(Errno::EIO);
        }
        th.stopped = false;
        th.report = None;
        self.listening = Some(tid);
        Ok(self.trap_pending() || th.trap)
    }
}

/// One thread's side of ptrace (Linux keeps it in each `task_struct`):
/// whether it is a tracee, the stop it is in, what wait reports, the
/// tracer's answer and the registers' side state of its stop.
///
/// `I` is the platform's siginfo type
/// ([`SignalState::Info`](crate::sigstate::SignalState::Info)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ThreadTrace<I> {
    /// The thread is a tracee of its process's [`TraceLink::tracer`].
    pub attached: bool,
    /// It is in a trace stop (requests need one).
    pub stopped: bool,
    /// The stop's kind.
    pub kind: StopKind,
    /// The stop not yet reported to the tracer's wait.
    pub report: Option<u32>,
    /// The tracer's answer, taken by the stopped thread.
    pub resume: Option<Resume>,
    /// The mode of the last resume (syscall stops, single-step).
    pub mode: ResumeMode,
    /// PTRACE_GETEVENTMSG.
    pub event_msg: u64,
    /// The stop's siginfo (GET/SETSIGINFO); none for a group stop of an
    /// attached tracee.
    pub siginfo: Option<I>,
    /// The system-call number register as saved at the call's entry
    /// (x86's `orig_rax`; the tracer may change it at the entry stop).
    pub syscall_nr: u64,
    /// Detached while stopped: the signal it goes on with.
    pub detach_sig: Option<u32>,
    /// A `PTRACE_EVENT_STOP` trap of this thread is due (Linux's
    /// `JOBCTL_TRAP_STOP`): PTRACE_INTERRUPT of its tid, a seized new
    /// thread's first trap, an attach to a group-stopped process, a group
    /// stop of its process.
    pub trap: bool,
}

impl<I> Default for ThreadTrace<I> {
    fn default() -> Self {
        ThreadTrace {
            attached: false,
            stopped: false,
            kind: StopKind::default(),
            report: None,
            resume: None,
            mode: ResumeMode::default(),
            event_msg: 0,
            siginfo: None,
            syscall_nr: 0,
            detach_sig: None,
            trap: false,
        }
    }
}

impl<I> ThreadTrace<I> {
    /// Enters a stop: `code` for the tracer's wait. Any trap consumes a
    /// pending `PTRACE_EVENT_STOP` trap, and an `PTRACE_EVENT_STOP` trap a
    /// pending notification (`ptrace_stop()`), in `link` too.
    pub fn enter_stop(&mut self, link: &mut TraceLink, kind: StopKind, code: u32, info: Option<I>) {
        self.stopped = true;
        self.kind = kind;
        self.report = Some(code);
        self.resume = None;
        self.siginfo = info;
        self.trap = false;
        link.listening = None;
        if kind == StopKind::Event(EVENT_STOP) {
            link.notify = false;
        }
        match kind {
            StopKind::SyscallEntry => self.event_msg = EVENTMSG_SYSCALL_ENTRY,
            StopKind::SyscallExit => self.event_msg = EVENTMSG_SYSCALL_EXIT,
            _ => {}
        }
    }

    /// The tracer resumes the stopped thread (`ptrace_resume`).
    pub fn resume(&mut self, r: Resume) {
        self.resume = Some(r);
        self.mode = r.mode;
        self.stopped = false;
        self.report = None;
    }

    /// Whether a request that needs a stop (`ptrace_check_attach`) may act
    /// on this thread now.
    pub fn is_stopped(&self) -> bool {
        self.attached && self.stopped && self.resume.is_none()
    }

    /// The state of a thread just attached.
    pub fn attach() -> Self {
        ThreadTrace { attached: true, ..ThreadTrace::default() }
    }
}

/// What `do_jobctl_trap()` reports: the stop's kind, its `exit_code` and
/// its siginfo `(si_signo, si_code)`. A seized tracee gets
/// `PTRACE_EVENT_STOP` with the group's stop signal while the group is
/// stopped (`group_stop`), `SIGTRAP` otherwise, and a siginfo; an attached
/// one a plain group stop with the stop signal and no siginfo.
pub fn jobctl_trap(seized: bool, group_stop: Option<u32>) -> (StopKind, u32, Option<(u32, i32)>) {
    if seized {
        let sig = group_stop.unwrap_or(SIGTRAP);
        let code = sig | EVENT_STOP << 8;
        (StopKind::Event(EVENT_STOP), code, Some((sig, code as i32)))
    } else {
        let sig = group_stop.unwrap_or(SIGSTOP);
        (StopKind::Group(sig), sig, None)
    }
}

/// `PTRACE_PEEKSIGINFO_SHARED`: the process's queue, not the thread's.
pub const PEEKSIGINFO_SHARED: u32 = 1;

/// PTRACE_PEEKSIGINFO's arguments (`struct ptrace_peeksiginfo_args`: u64
/// off, u32 flags, s32 nr) checked as `ptrace_peek_siginfo()`: unknown
/// flags or a negative count are `EINVAL`. Returns `(off, shared, nr)`.
pub fn peeksiginfo_args(raw: &[u8; 16]) -> Result<(u64, bool, usize)> {
    let off = u64::from_le_bytes([raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7]]);
    let flags = u32::from_le_bytes([raw[8], raw[9], raw[10], raw[11]]);
    let nr = i32::from_le_bytes([raw[12], raw[13], raw[14], raw[15]]);
    if flags & !PEEKSIGINFO_SHARED != 0 || nr < 0 {
        return Err(Errno::EINVAL);
    }
    Ok((off, flags & PEEKSIGINFO_SHARED != 0, nr as usize))
}

/// Where a thread is, as `task_current_syscall()` finds it for
/// `/proc/<pid>/syscall`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyscallState {
    /// On a CPU or runnable (another thread than the reader).
    Running,
    /// In the kernel: `nr` is the system-call number register as saved at
    /// entry (`orig_rax`; negative when it entered by an interrupt or
    /// exception), the arguments, the user stack pointer and the
    /// instruction pointer.
    Blocked {
        /// `orig_rax` as an `int`.
        nr: i32,
        /// rdi, rsi, rdx, r10, r8, r9.
        args: [u64; 6],
        /// The user rsp.
        sp: u64,
        /// The user rip.
        pc: u64,
    },
}

/// `proc_pid_syscall()`'s line: `running`, or `nr sp pc` with a negative
/// number, or the number and six arguments then sp and pc (the number in
/// decimal, the rest `0x`-prefixed lower-case hex).
pub fn proc_syscall_text(s: &SyscallState) -> alloc::string::String {
    use alloc::format;
    match *s {
        SyscallState::Running => "running\n".into(),
        SyscallState::Blocked { nr, sp, pc, .. } if nr < 0 => format!("{nr} {sp:#x} {pc:#x}\n"),
        SyscallState::Blocked { nr, args: [a, b, c, d, e, f], sp, pc } => {
            format!("{nr} {a:#x} {b:#x} {c:#x} {d:#x} {e:#x} {f:#x} {sp:#x} {pc:#x}\n")
        }
    }
}

/// prctl(PR_SET_PTRACER): who may attach besides YAMA's ancestors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PtracerPolicy {
    /// Nobody more (the default, `PR_SET_PTRACER` 0).
    #[default]
    None,
    /// This process and its descendants.
    Pid(Pid),
    /// Anyone (`PR_SET_PTRACER_ANY`).
    Any,
}

/// `prctl(PR_SET_PTRACER)`'s option number.
pub const PR_SET_PTRACER: u64 = 0x5961_6d61;
/// `PR_SET_PTRACER_ANY`.
pub const PR_SET_PTRACER_ANY: u64 = u64::MAX;

/// How the ids are compared (`PTRACE_MODE_REALCREDS`/`FSCREDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredMode {
    /// The caller's real ids (ptrace, process_vm_*).
    Real,
    /// The caller's filesystem ids (`/proc/<pid>/mem`).
    Fs,
}

/// `__ptrace_may_access(PTRACE_MODE_ATTACH_*)` and
/// `cap_ptrace_access_check()` for a target in another process: the
/// caller's (real or fs) uid must equal the target's uid, euid and suid and
/// its gid the target's gid, egid and sgid, or the caller has
/// `CAP_SYS_PTRACE`; a non-dumpable target needs `CAP_SYS_PTRACE`; the
/// target's permitted capabilities must be a subset of the caller's
/// (permitted for real, effective for fs ids) unless `CAP_SYS_PTRACE`.
pub fn may_access(me: &Credentials, target: &Credentials, dumpable: bool, mode: CredMode) -> bool {
    let (uid, gid, caps) = match mode {
        CredMode::Real => (me.uid, me.gid, me.cap_permitted),
        CredMode::Fs => (me.fsuid, me.fsgid, me.cap_effective),
    };
    let cap = me.has_cap(CAP_SYS_PTRACE);
    let ids = uid == target.uid
        && uid == target.euid
        && uid == target.suid
        && gid == target.gid
        && gid == target.egid
        && gid == target.sgid;
    if !(ids || cap) {
        return false;
    }
    if !dumpable && !cap {
        return false;
    }
    target.cap_permitted & !caps == 0 || cap
}

/// YAMA's `yama_ptrace_access_check()` at scope 1 (relational) for an
/// attach: the caller is an ancestor of the target (`is_ancestor`), or the
/// target named it or an ancestor of it with `PR_SET_PTRACER`
/// (`declared`), or the caller has `CAP_SYS_PTRACE`.
pub fn yama_allows(me: &Credentials, is_ancestor: bool, declared: bool) -> bool {
    is_ancestor || declared || me.has_cap(CAP_SYS_PTRACE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(uid: u32) -> Credentials {
        Credentials::user(uid, uid)
    }

    #[test]
    fn options_parse_as_setoptions_and_seize() {
        assert_eq!(Options::parse(0x1), Ok(Options::TRACESYSGOOD));
        assert_eq!(Options::parse(0x10_007f).map(|o| o.bits()), Ok(0x10_007f));
        assert_eq!(Options::parse(0x200), Err(Errno::EINVAL));
        assert_eq!(Options::parse(1 << 40), Err(Errno::EINVAL));
        assert_eq!(Options::parse_seize(0x400), Err(Errno::EIO));
        assert_eq!(Options::parse_seize(0x20_0000), Err(Errno::EIO));
    }

    #[test]
    fn stop_codes_and_status_words() {
        use crate::wait::ChildStatus;
        assert_eq!(syscall_code(Options::TRACESYSGOOD), 0x85);
        assert_eq!(syscall_code(Options::empty()), 5);
        assert_eq!(event_code(EVENT_EXEC), 0x405);
        assert_eq!(ChildStatus::Trapped(event_code(EVENT_FORK)).to_wait_status(), 0x1057f);
        assert_eq!(ChildStatus::Trapped(19 | EVENT_STOP << 8).to_wait_status(), 0x80137f);
        assert_eq!(ChildStatus::Trapped(0x85).si_code(), crate::wait::CLD_TRAPPED);
        assert_eq!(resume_signal(64), Ok(64));
        assert_eq!(resume_signal(65), Err(Errno::EIO));
    }

    #[test]
    fn link_stops_and_resumes() {
        let mut l = TraceLink::new(7, false, Options::empty());
        let mut t = ThreadTrace::<()>::attach();
        assert!(!t.is_stopped());
        t.enter_stop(&mut l, StopKind::SyscallEntry, 5, None);
        assert!(t.is_stopped());
        assert_eq!((t.report, t.event_msg), (Some(5), EVENTMSG_SYSCALL_ENTRY));
        t.resume(Resume { mode: ResumeMode::Syscall, sig: 0 });
        assert!(!t.is_stopped());
        assert_eq!(t.report, None);
        assert_eq!(t.mode, ResumeMode::Syscall);
        let child = l.inherit();
        assert_eq!((child.tracer, child.seized), (7, false));
        // a thread not attached is never in a trace stop
        let other = ThreadTrace { stopped: true, ..ThreadTrace::<()>::default() };
        assert!(!other.is_stopped());
    }

    #[test]
    fn traps_consume_pending_traps_and_listen_needs_an_event_stop() {
        let mut l = TraceLink::new(7, true, Options::empty());
        let mut t = ThreadTrace::<()>::attach();
        l.notify = true;
        t.trap = true;
        assert!(l.trap_pending());
        // a syscall stop satisfies the trap, not the notification
        t.enter_stop(&mut l, StopKind::SyscallExit, 0x85, None);
        assert_eq!((l.notify, t.trap), (true, false));
        assert_eq!(l.listen(9, &mut t), Err(Errno::EIO), "not an event stop");
        let (kind, code, _) = jobctl_trap(true, None);
        t.enter_stop(&mut l, kind, code, None);
        assert!(!l.trap_pending());
        assert_eq!(l.listen(9, &mut t), Ok(false));
        assert!(l.listening == Some(9) && !t.is_stopped() && t.report.is_none());
        assert_eq!(l.listen(9, &mut t), Err(Errno::EIO), "listening is no stop");
        // SIGCONT while listening: trap again at once
        t.enter_stop(&mut l, kind, code, None);
        l.notify = true;
        assert_eq!(l.listen(9, &mut t), Ok(true));
        t.enter_stop(&mut l, kind, code, None);
        assert!(l.listening.is_none() && !l.notify);
        let mut attached = TraceLink::new(7, false, Options::empty());
        let mut a = ThreadTrace::<()>::attach();
        let (kind, code, _) = jobctl_trap(false, Some(19));
        a.enter_stop(&mut attached, kind, code, None);
        assert_eq!(attached.listen(9, &mut a), Err(Errno::EIO));
    }

    #[test]
    fn peeksiginfo_args_as_linux() {
        let mut raw = [0u8; 16];
        raw[..8].copy_from_slice(&3u64.to_le_bytes());
        raw[8..12].copy_from_slice(&1u32.to_le_bytes());
        raw[12..].copy_from_slice(&5i32.to_le_bytes());
        assert_eq!(peeksiginfo_args(&raw), Ok((3, true, 5)));
        raw[8..12].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(peeksiginfo_args(&raw), Err(Errno::EINVAL), "unknown flag");
        raw[8..12].copy_from_slice(&0u32.to_le_bytes());
        raw[12..].copy_from_slice(&(-1i32).to_le_bytes());
        assert_eq!(peeksiginfo_args(&raw), Err(Errno::EINVAL), "negative count");
        raw[12..].copy_from_slice(&0i32.to_le_bytes());
        assert_eq!(peeksiginfo_args(&raw), Ok((3, false, 0)));
    }

    #[test]
    fn proc_syscall_lines() {
        assert_eq!(proc_syscall_text(&SyscallState::Running), "running\n");
        let read = SyscallState::Blocked {
            nr: 0,
            args: [3, 0x7ffd_0000, 16, 0, 0, 0],
            sp: 0x7ffc_ff00,
            pc: 0x40_1234,
        };
        assert_eq!(proc_syscall_text(&read), "0 0x3 0x7ffd0000 0x10 0x0 0x0 0x0 0x7ffcff00 0x401234\n");
        let user = SyscallState::Blocked { nr: -1, args: [9; 6], sp: 0x10, pc: 0 };
        assert_eq!(proc_syscall_text(&user), "-1 0x10 0x0\n");
        let big = SyscallState::Blocked { nr: 231, args: [u64::MAX, 0, 0, 0, 0, 1], sp: 1, pc: 2 };
        assert_eq!(proc_syscall_text(&big), "231 0xffffffffffffffff 0x0 0x0 0x0 0x0 0x1 0x1 0x2\n");
    }

    #[test]
    fn jobctl_trap_codes_as_linux() {
        use crate::wait::ChildStatus;
        // SEIZE of a process stopped by SIGSTOP: 0x80137f, si_code 0x8013
        let (kind, code, info) = jobctl_trap(true, Some(SIGSTOP));
        assert_eq!(kind, StopKind::Event(EVENT_STOP));
        assert_eq!(ChildStatus::Trapped(code).to_wait_status(), 0x80137f);
        assert_eq!(info, Some((19, 0x8013)));
        // after SIGCONT (or PTRACE_INTERRUPT): SIGTRAP, 0x80057f
        let (_, code, info) = jobctl_trap(true, None);
        assert_eq!(ChildStatus::Trapped(code).to_wait_status(), 0x80057f);
        assert_eq!(info, Some((5, 0x8005)));
        // ATTACH of a stopped process: a plain stop, no siginfo
        let (kind, code, info) = jobctl_trap(false, Some(21));
        assert_eq!((kind, code, info), (StopKind::Group(21), 21, None));
        assert_eq!(ChildStatus::Trapped(code).to_wait_status(), 0x157f);
    }

    #[test]
    fn may_access_follows_linux() {
        let root = Credentials::root();
        let alice = user(1000);
        let bob = user(1001);
        assert!(may_access(&alice, &alice, true, CredMode::Real));
        assert!(!may_access(&alice, &bob, true, CredMode::Real));
        assert!(!may_access(&alice, &alice, false, CredMode::Real), "not dumpable");
        assert!(!may_access(&alice, &root, true, CredMode::Real), "root's ids and capabilities");
        assert!(may_access(&root, &bob, false, CredMode::Real));
        // a target with more capabilities than the caller
        let mut capped = user(1000);
        capped.cap_permitted = 1 << 12;
        assert!(!may_access(&alice, &capped, true, CredMode::Real));
        // yama
        assert!(!yama_allows(&alice, false, false));
        assert!(yama_allows(&alice, true, false));
        assert!(yama_allows(&alice, false, true));
        assert!(yama_allows(&root, false, false));
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;
    use crate::clone::CloneArgs;
    use crate::testing::{FakeScheduler, boot};
    use crate::wait::{ChildStatus, WaitOptions};

    #[test]
    fn tracer_waits_for_a_non_child_then_the_parent_reaps() {
        let frames = vm::testing::TestFrames::new();
        let table = boot(&frames);
        let s = FakeScheduler::new();
        let tracer = table.clone_task(1, &CloneArgs::fork(), &s).unwrap();
        let tracee = table.clone_task(1, &CloneArgs::fork(), &s).unwrap();
        assert_eq!(table.ptrace_attach(tracer, tracer as i32, None, &s), Err(Errno::EPERM));
        assert_eq!(table.ptrace_attach(tracer, 999, None, &s), Err(Errno::ESRCH));
        assert_eq!(table.ptrace_attach(tracer, tracee as i32, Some(Options::EXITKILL), &s), Ok(tracee));
        assert_eq!(table.ptrace_attach(1, tracee as i32, None, &s), Err(Errno::EPERM), "traced already");
        assert_eq!(table.tracer_of(tracee), tracer);
        // not stopped: requests answer ESRCH, KILL and INTERRUPT do not care
        assert_eq!(table.ptrace_tracee(tracer, tracee as i32, false), Err(Errno::ESRCH));
        assert_eq!(table.ptrace_tracee(tracer, tracee as i32, true), Ok((tracee, tracee)));
        assert_eq!(table.ptrace_tracee(1, tracee as i32, true), Err(Errno::ESRCH));
        assert!(table.ptrace_stop(tracee, StopKind::Event(EVENT_STOP), event_code(EVENT_STOP), None, &s));
        assert_eq!(table.ptrace_tracee(tracer, tracee as i32, false), Ok((tracee, tracee)));
        let (pid, status, _) = table.wait4(tracer, -1, WaitOptions::WNOHANG.bits(), &s).unwrap();
        assert_eq!((pid, status), (tracee, 0x80057f));
        assert_eq!(table.wait4(tracer, -1, WaitOptions::WNOHANG.bits(), &s).unwrap().0, 0);
        // the real parent sees no trap
        assert_eq!(
            table
                .wait4(1, tracee as i32, (WaitOptions::WNOHANG | WaitOptions::WUNTRACED).bits(), &s)
                .unwrap()
                .0,
            0
        );
        table.ptrace_resume(tracee, Resume { mode: ResumeMode::Syscall, sig: 0 }, &s);
        assert_eq!(table.ptrace_poll(tracee), Some(Resume { mode: ResumeMode::Syscall, sig: 0 }));
        table.exit_thread(tracee, 7, &s);
        // the parent cannot reap before the tracer
        assert_eq!(table.wait4(1, tracee as i32, WaitOptions::WNOHANG.bits(), &s).unwrap().0, 0);
        let (pid, status, _) = table.wait4(tracer, tracee as i32, 0, &s).unwrap();
        assert_eq!((pid, status), (tracee, 7 << 8));
        assert_eq!(table.wait4(tracer, -1, WaitOptions::WNOHANG.bits(), &s), Err(Errno::ECHILD));
        let (pid, status, _) = table.wait4(1, tracee as i32, 0, &s).unwrap();
        assert_eq!((pid, status), (tracee, 7 << 8));
    }

    #[test]
    fn a_dying_tracer_detaches_or_kills() {
        let frames = vm::testing::TestFrames::new();
        let table = boot(&frames);
        let s = FakeScheduler::new();
        let tracer = table.clone_task(1, &CloneArgs::fork(), &s).unwrap();
        let a = table.clone_task(1, &CloneArgs::fork(), &s).unwrap();
        let b = table.clone_task(1, &CloneArgs::fork(), &s).unwrap();
        table.ptrace_attach(tracer, a as i32, Some(Options::empty()), &s).unwrap();
        table.ptrace_attach(tracer, b as i32, Some(Options::EXITKILL), &s).unwrap();
        assert!(table.ptrace_stop(
            a,
            StopKind::Signal,
            10,
            Some(signal::SigInfo::kernel(signal::SIGUSR1)),
            &s
        ));
        table.exit_thread(tracer, 0, &s);
        assert_eq!(table.tracer_of(a), 0);
        assert_eq!(table.tracer_of(b), 0);
        // a's stopped thread goes on with the signal of its stop
        assert_eq!(table.ptrace_poll(a), Some(Resume { mode: ResumeMode::Cont, sig: 10 }));
        assert!(table.threads_to_kill().contains(&b));
        assert!(!table.threads_to_kill().contains(&a));
    }

    #[test]
    fn seize_of_a_stopped_process_and_sigcont() {
        let frames = vm::testing::TestFrames::new();
        let table = boot(&frames);
        let s = FakeScheduler::new();
        let c = table.clone_task(1, &CloneArgs::fork(), &s).unwrap();
        table.stop(c, 19, &s).unwrap();
        let (pid, status, _) = table.wait4(1, c as i32, WaitOptions::WUNTRACED.bits(), &s).unwrap();
        assert_eq!((pid, status), (c, 0x137f));
        // the new tracer's trap is due; SIGCONT only notifies a seized one
        assert_eq!(table.ptrace_attach(1, c as i32, Some(Options::empty()), &s), Ok(c));
        assert_eq!(table.with_trace(c, |l| l.notify), Some(false));
        assert_eq!(table.with_thread_trace(c, |t| t.trap), Some(true));
        let (kind, code, _) = jobctl_trap(true, Some(19));
        assert!(table.ptrace_stop(c, kind, code, None, &s));
        assert_eq!(table.with_thread_trace(c, |t| t.trap), Some(false));
        table.send_signal(c, signal::SigInfo::kernel(signal::SIGCONT), &s).unwrap();
        assert_eq!(table.with_process(c, |p| p.state()), Some(crate::table::ProcState::Running));
        assert_eq!(table.with_trace(c, |l| l.notify), Some(true));
        // the tracer (the parent) gets the trap, then the continue
        let (_, status, _) = table.wait4(1, c as i32, WaitOptions::WNOHANG.bits(), &s).unwrap();
        assert_eq!(status, 0x80137f);
        let (_, status, _) = table.wait4(1, c as i32, WaitOptions::WCONTINUED.bits(), &s).unwrap();
        assert_eq!(status, 0xffff);
        // LISTEN with the notification pending: trap again at once
        assert_eq!(table.ptrace_listen(c, &s), Ok(()));
        assert_eq!(table.ptrace_tracee(1, c as i32, false), Err(Errno::ESRCH));
        // a group stop of the traced process: the parent that traces sees
        // the trap only
        table.stop(c, 19, &s).unwrap();
        let o = (WaitOptions::WUNTRACED | WaitOptions::WNOHANG).bits();
        assert_eq!(table.wait4(1, c as i32, o, &s).unwrap().0, 0);
    }

    #[test]
    fn a_group_stop_wakes_every_thread() {
        use crate::testing::Event;
        let frames = vm::testing::TestFrames::new();
        let table = boot(&frames);
        let s = FakeScheduler::new();
        let c = table.clone_task(1, &CloneArgs::fork(), &s).unwrap();
        use crate::clone::CloneFlags as F;
        let thread = CloneArgs::from_clone((F::THREAD | F::SIGHAND | F::VM).bits(), 0, 0, 0, 0);
        let t2 = table.clone_task(c, &thread, &s).unwrap();
        let t3 = table.clone_task(c, &thread, &s).unwrap();
        s.take_events();
        table.stop(c, 19, &s).unwrap();
        let woken: alloc::vec::Vec<Pid> = s
            .take_events()
            .into_iter()
            .filter_map(|e| if let Event::Wakeup(t) = e { Some(t) } else { None })
            .collect();
        assert_eq!(woken, [c, t2, t3], "signal_wake_up of each thread");
    }

    #[test]
    fn each_thread_is_a_tracee_of_its_own() {
        use crate::clone::CloneFlags as F;
        let frames = vm::testing::TestFrames::new();
        let table = boot(&frames);
        let s = FakeScheduler::new();
        let c = table.clone_task(1, &CloneArgs::fork(), &s).unwrap();
        let thread = CloneArgs::from_clone((F::THREAD | F::SIGHAND | F::VM).bits(), 0, 0, 0, 0);
        let untraced = table.clone_task(c, &thread, &s).unwrap();
        table.ptrace_traceme(c).unwrap();
        // a thread made without PTRACE_O_TRACECLONE is not traced
        assert_eq!(table.with_thread_trace(untraced, |_| ()), None);
        assert!(!table.ptrace_stop(untraced, StopKind::Signal, 10, None, &s));
        table.with_trace(c, |l| l.options = Options::TRACECLONE);
        let t = table.clone_task(c, &thread, &s).unwrap();
        assert_eq!(table.with_thread_trace(t, |l| l.attached), Some(true));
        // both stop at once; wait reports each by its tid
        assert!(table.ptrace_stop(c, StopKind::Event(EVENT_CLONE), event_code(EVENT_CLONE), None, &s));
        assert!(table.ptrace_stop(t, StopKind::Signal, 19, None, &s));
        assert_eq!(table.ptrace_tracee(1, t as i32, false), Ok((c, t)));
        assert_eq!(table.ptrace_tracee(1, untraced as i32, true), Err(Errno::ESRCH));
        let (pid, status, _) = table.wait4(1, t as i32, 0, &s).unwrap();
        assert_eq!((pid, status), (t, 0x137f));
        let (pid, status, _) = table.wait4(1, -1, 0, &s).unwrap();
        assert_eq!((pid, status), (c, 0x3057f));
        assert_eq!(table.wait4(1, -1, WaitOptions::WNOHANG.bits(), &s).unwrap().0, 0);
        // resuming one leaves the other stopped
        table.ptrace_resume(t, Resume { mode: ResumeMode::Cont, sig: 0 }, &s);
        assert_eq!(table.ptrace_tracee(1, t as i32, false), Err(Errno::ESRCH));
        assert_eq!(table.ptrace_tracee(1, c as i32, false), Ok((c, c)));
        // its exit is reported by its tid, once
        assert_eq!(table.ptrace_poll(t), Some(Resume { mode: ResumeMode::Cont, sig: 0 }));
        table.exit_thread(t, 7, &s);
        let (pid, status, _) = table.wait4(1, t as i32, 0, &s).unwrap();
        assert_eq!((pid, status), (t, 7 << 8));
        assert_eq!(table.wait4(1, t as i32, WaitOptions::WNOHANG.bits(), &s), Err(Errno::ECHILD));
        // the untraced thread's exit is not
        table.exit_thread(untraced, 0, &s);
        assert_eq!(table.wait4(1, -1, WaitOptions::WNOHANG.bits(), &s).unwrap().0, 0);
        // the last tracee's detach ends the link; it goes on with the signal
        table.ptrace_detach(c, 10, &s);
        assert_eq!(table.ptrace_poll(c), Some(Resume { mode: ResumeMode::Cont, sig: 10 }));
        assert_eq!(table.tracer_of(c), 0);
    }

    #[test]
    fn traceme_and_ptracer_policy() {
        let frames = vm::testing::TestFrames::new();
        let table = boot(&frames);
        let s = FakeScheduler::new();
        let c = table.clone_task(1, &CloneArgs::fork(), &s).unwrap();
        assert_eq!(table.ptrace_traceme(c), Ok(()));
        assert_eq!(table.ptrace_traceme(c), Err(Errno::EPERM));
        assert_eq!(table.tracer_of(c), 1);
        assert!(table.ptrace_stop(c, StopKind::Signal, 19, None, &s));
        // the parent tracer: a trap, no WUNTRACED needed
        let (pid, status, _) = table.wait4(1, -1, 0, &s).unwrap();
        assert_eq!((pid, ChildStatus::from_wait_status(status)), (c, Some(ChildStatus::Stopped(19))));
        // YAMA: two users' siblings
        let x = table.clone_task(1, &CloneArgs::fork(), &s).unwrap();
        let y = table.clone_task(1, &CloneArgs::fork(), &s).unwrap();
        for p in [x, y] {
            table.with_process(p, |p| *p.creds_mut() = crate::cred::Credentials::user(1000, 1000));
        }
        assert_eq!(table.ptrace_may_access(x, y, CredMode::Real), Err(Errno::EPERM));
        assert_eq!(table.set_ptracer(y, 4242), Err(Errno::EINVAL));
        table.set_ptracer(y, x as u64).unwrap();
        assert_eq!(table.ptrace_may_access(x, y, CredMode::Real), Ok(()));
        table.set_ptracer(y, 0).unwrap();
        assert_eq!(table.ptrace_may_access(x, y, CredMode::Real), Err(Errno::EPERM));
        table.set_ptracer(y, PR_SET_PTRACER_ANY).unwrap();
        assert_eq!(table.ptrace_may_access(x, y, CredMode::Real), Ok(()));
        // another user's process: never
        table.with_process(y, |p| *p.creds_mut() = crate::cred::Credentials::user(1001, 1001));
        assert_eq!(table.ptrace_may_access(x, y, CredMode::Real), Err(Errno::EPERM));
        assert_eq!(table.ptrace_may_access(x, 1, CredMode::Real), Err(Errno::EPERM));
    }
}
