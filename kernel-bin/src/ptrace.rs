//! ptrace(2) over `process::ptrace`'s model: the requests, the stops the
//! user-thread loop runs (syscall entry and exit, signal delivery, group
//! stop, events), the register views (`struct user_regs_struct`, the
//! FXSAVE image, `struct user` offsets, regsets), and
//! process_vm_readv/process_vm_writev.

use crate::proc::{Hooks, table};
use crate::syscall::SysResult;
use crate::uthread::{self, Flow, UThread};
use alloc::vec::Vec;
use linux_abi::abi::Iovec;
use linux_abi::args::{UserPtr, UserSlice};
use linux_abi::syscall::nr;
use linux_abi::{Errno, Result};
use process::pid::Pid;
use process::ptrace::{self as pt, Options, Resume, ResumeMode, StopKind, req};
use signal::{SigInfo, SigNum};

/// [`UThread::trace`] bits: the process is traced.
pub const TRACED: u8 = 1;
/// Stop at system calls (PTRACE_SYSCALL).
pub const SYSCALL: u8 = 2;
/// Single-stepping (the trap flag is set).
pub const STEP: u8 = 4;
/// The ptrace bits of `UThread::trace` (the others: `seccomp::TRACE_BIT`).
pub const MASK: u8 = TRACED | SYSCALL | STEP;
const TF: u64 = 0x100;
const ENOSYS: u64 = (-38i64) as u64;
/// `sizeof(struct user_regs_struct)`.
const REGS_SIZE: usize = 27 * 8;
/// `sizeof(struct user_fpregs_struct)` (the FXSAVE image).
const FPREGS_SIZE: usize = 512;
/// `offsetof(struct user, u_debugreg)`.
const DEBUGREG_OFFSET: u64 = 848;
/// `sizeof(struct user)`.
const USER_SIZE: u64 = 928;
/// `TASK_SIZE_MAX` on x86_64 with 4-level paging.
const TASK_SIZE_MAX: u64 = 0x7fff_ffff_f000;
const USER_CS: u64 = 0x33;
const USER_SS: u64 = 0x2b;
const NT_PRSTATUS: u64 = 1;
const NT_PRFPREG: u64 = 2;
const NT_X86_XSTATE: u64 = 0x202;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// How a stop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The tracer resumed the thread with this signal (0: none).
    Resumed(u32),
    /// The process is not traced (no stop happened, or it was detached
    /// with no signal).
    NotTraced,
    /// SIGKILL or a group exit: the thread must die.
    Killed,
}

/// The trace bits of thread `tid` after resume `r`.
fn trace_bits(tid: Pid, r: Option<Resume>) -> u8 {
    if table().with_thread_trace(tid, |_| ()).is_none() {
        return 0;
    }
    TRACED
        | match r.map(|r| r.mode) {
            Some(ResumeMode::Syscall) => SYSCALL,
            Some(ResumeMode::SingleStep) => STEP,
            _ => 0,
        }
}

fn apply_resume(t: &mut UThread, r: Option<Resume>) {
    t.trace = trace_bits(t.tid, r) | t.trace & !MASK;
    if t.trace & STEP != 0 {
        t.ctx.regs.rflags |= TF;
    } else {
        t.ctx.regs.rflags &= !TF;
    }
    t.quiet_epoch = u64::MAX;
}

/// The trace bits of a thread as it starts, or after its tracing
/// changed (an attach or detach seen at signal time).
pub fn refresh(t: &mut UThread) {
    let traced = table().with_thread_trace(t.tid, |_| ()).is_some();
    if !traced && t.trace & MASK != 0 {
        apply_resume(t, None);
    } else if traced && t.trace & MASK == 0 {
        t.trace |= TRACED;
    }
}

/// A siginfo as `ptrace_do_notify()` builds it: `SIGTRAP`-like `sig` with
/// `si_code` = the stop's code and the tracee thread's tid and uid.
fn notify_info(tid: Pid, sig: u32, code: u32) -> SigInfo {
    let pid = table().tgid(tid).unwrap_or(tid);
    let uid = table().with_process(pid, |p| p.creds().uid).unwrap_or(0);
    let s = SigNum::new(sig as i32).unwrap_or(signal::SIGTRAP);
    let mut i = SigInfo::user(s, tid as i32, uid);
    i.code = code as i32;
    i
}

/// Stops thread `t` (its registers go to the table for the tracer) until
/// the tracer resumes it.
pub fn stop(t: &mut UThread, kind: StopKind, code: u32, info: Option<SigInfo>) -> Outcome {
    // orig_rax as the thread entered the kernel this time (-1 outside a
    // system call), as the tracer may have changed it at the entry stop
    let nr = crate::sched::current().entry.get().0;
    table().with_thread_trace(t.tid, |l| l.syscall_nr = nr);
    // the registers and the FPU image go to the record for the tracer (a
    // swap: no copy, no allocation) and come back at the resume
    t.ctx.save_fpu();
    table().with_thread(t.tid, |th| core::mem::swap(th.context_mut(), &mut t.ctx));
    let take_back = |t: &mut UThread| {
        table().with_thread(t.tid, |th| core::mem::swap(th.context_mut(), &mut t.ctx));
    };
    if !table().ptrace_stop(t.tid, kind, code, info, &Hooks) {
        take_back(t);
        apply_resume(t, None);
        return if uthread::must_die(t.tid) { Outcome::Killed } else { Outcome::NotTraced };
    }
    match wait_resume(t.tid) {
        Some(r) => {
            take_back(t);
            apply_resume(t, Some(r));
            Outcome::Resumed(r.sig)
        }
        None => {
            take_back(t);
            Outcome::Killed
        }
    }
}

/// The stop with the registers already in the table: the tracer's answer,
/// or None when the process is not traced or must die.
fn wait_stopped(tid: Pid, kind: StopKind, code: u32, info: Option<SigInfo>) -> Option<Resume> {
    if !table().ptrace_stop(tid, kind, code, info, &Hooks) {
        return None;
    }
    wait_resume(tid)
}

/// Whether thread `tid` listens (PTRACE_LISTEN) with a trap due.
fn relisten(tid: Pid) -> bool {
    let Some(pid) = table().tgid(tid) else { return false };
    let listening = table().with_trace(pid, |l| l.listening == Some(tid)).unwrap_or(false);
    listening && table().ptrace_trap_due(tid).unwrap_or(false)
}

/// Sleeps in a trace stop until the tracer's answer (None: must die).
fn wait_resume(tid: Pid) -> Option<Resume> {
    let ready = move || {
        table().with_thread_trace(tid, |l| l.resume.is_some() || l.detach_sig.is_some()).unwrap_or(true)
            || relisten(tid)
            || uthread::must_die(tid)
    };
    loop {
        if uthread::must_die(tid) {
            return None;
        }
        if let Some(r) = table().ptrace_poll(tid) {
            return Some(r);
        }
        // PTRACE_LISTEN left the thread in its trap; PTRACE_INTERRUPT or
        // SIGCONT make it trap again
        if relisten(tid) {
            let (kind, code, info) = jobctl_stop(tid);
            if !table().ptrace_stop(tid, kind, code, info, &Hooks) {
                return None;
            }
        }
        crate::sched::wait_any(&[], ready, None);
    }
}

/// [`Hooks::ptrace_event`]: an event stop inside fork/vfork/clone (the
/// registers were saved by the call).
pub fn event_from_hook(tid: Pid, event: u32, msg: u64) {
    // the new task's number in the tracer's PID namespace
    // (ptrace_event_pid: pid_nr_ns of the tracer's)
    let mut msg = msg;
    if table().pidns_used()
        && let Some(pid) = table().tgid(tid)
    {
        let tracer = table().tracer_of(pid);
        if tracer != 0 {
            msg = u64::from(table().pid_seen(tracer, msg as Pid));
        }
    }
    table().with_thread_trace(tid, |l| l.event_msg = msg);
    let code = pt::event_code(event);
    let info = notify_info(tid, pt::SIGTRAP, code);
    if let Some(r) = wait_stopped(tid, StopKind::Event(event), code, Some(info)) {
        // kept in the thread's record until the call returns
        table().with_thread(tid, |t| t.ext_mut().event_resume = Some(r));
    }
}

fn event(t: &mut UThread, event: u32, msg: u64) -> Outcome {
    table().with_thread_trace(t.tid, |l| l.event_msg = msg);
    let code = pt::event_code(event);
    let info = notify_info(t.tid, pt::SIGTRAP, code);
    stop(t, StopKind::Event(event), code, Some(info))
}

/// A traced thread's system call: the entry stop (the tracer may change
/// the number, -1 skips the call), PTRACE_EVENT_EXIT, the call, the fork
/// and exec events, the exit stop.
pub fn syscall(t: &mut UThread, nr_in: u64) -> (Flow, Option<SysResult>) {
    t.ctx.regs.rax = ENOSYS;
    table().with_thread_trace(t.tid, |l| l.syscall_nr = nr_in);
    let (options, seized) = table().ptrace_options(t.pid).unwrap_or_default();
    if t.trace & SYSCALL != 0 {
        let code = pt::syscall_code(options);
        let info = notify_info(t.tid, pt::SIGTRAP, code);
        match stop(t, StopKind::SyscallEntry, code, Some(info)) {
            Outcome::Killed => return (Flow::Continue, None),
            Outcome::Resumed(s) => resume_signal(t, s),
            Outcome::NotTraced => {}
        }
    }
    let n = table().with_thread_trace(t.tid, |l| l.syscall_nr).unwrap_or(nr_in);
    if t.trace & SYSCALL != 0 {
        // the call as the tracer left it, for /proc/<pid>/syscall
        let r = &t.ctx.regs;
        crate::sched::current().entry.syscall(n, t.ctx.syscall_args(), r.rsp, r.rip);
    }
    if (n == nr::EXIT as u64 || n == nr::EXIT_GROUP as u64) && options.contains(Options::TRACEEXIT) {
        let status = (t.ctx.regs.rdi & 0xff) << 8;
        // each traced thread stops at its exit (ptrace_event in do_exit)
        if event(t, pt::EVENT_EXIT, status) == Outcome::Killed {
            return (Flow::Continue, None);
        }
    }
    // seccomp after the entry stop, on the call as the tracer left it
    let mut n = n;
    let mut skip = None;
    if t.trace & crate::seccomp::TRACE_BIT != 0 && n != u64::MAX {
        match crate::seccomp::filter(t, n, false) {
            crate::seccomp::Entry::Run(m) => n = m,
            crate::seccomp::Entry::Skip(flow) => skip = Some(flow),
        }
    }
    let old_tid = t.tid;
    let (flow, result) = match skip {
        Some(flow) => (flow, None),
        None if n == u64::MAX => (Flow::Continue, None),
        None => crate::syscall::dispatch(t, n),
    };
    if flow == Flow::Exit {
        return (flow, result);
    }
    if matches!(n as usize, nr::FORK | nr::VFORK | nr::CLONE | nr::CLONE3) {
        let resumed = table().with_thread(t.tid, |th| th.ext_mut().event_resume.take()).flatten();
        if let Some(r) = resumed {
            let rax = t.ctx.regs.rax;
            // the registers (and FPU state) the tracer left in the record;
            // the thread's own context has its image, so nothing allocates
            table().with_thread(t.tid, |th| t.ctx.copy_from(th.context()));
            t.ctx.regs.rax = rax;
            apply_resume(t, Some(r));
        }
    }
    if matches!(n as usize, nr::EXECVE | nr::EXECVEAT) && matches!(result, Some(Ok(_))) && t.trace & MASK != 0
    {
        if options.contains(Options::TRACEEXEC) {
            if event(t, pt::EVENT_EXEC, u64::from(old_tid)) == Outcome::Killed {
                return (Flow::Continue, result);
            }
        } else if !seized {
            // the legacy SIGTRAP after exec (send_sig: SI_USER from itself)
            let uid = table().with_process(t.pid, |p| p.creds().uid).unwrap_or(0);
            let _ = table().send_signal(t.pid, SigInfo::user(signal::SIGTRAP, t.pid as i32, uid), &Hooks);
        }
    }
    if t.trace & SYSCALL != 0 {
        let code = pt::syscall_code(options);
        let info = notify_info(t.tid, pt::SIGTRAP, code);
        if let Outcome::Resumed(s) = stop(t, StopKind::SyscallExit, code, Some(info)) {
            resume_signal(t, s);
        }
    }
    (flow, result)
}

/// What a `SECCOMP_RET_TRACE` stop came to.
pub enum SeccompStop {
    /// Not traced with PTRACE_O_TRACESECCOMP: the call fails with ENOSYS.
    NoTracer,
    /// The thread must die (the call is skipped).
    Killed,
    /// The call's number as the tracer left it (`u64::MAX`: skip it).
    Nr(u64),
}

/// A filter's `SECCOMP_RET_TRACE`: the PTRACE_EVENT_SECCOMP stop with the
/// filter's data as the message, when the tracer asked for it.
pub fn seccomp_stop(t: &mut UThread, data: u16) -> SeccompStop {
    if t.trace & TRACED == 0 {
        return SeccompStop::NoTracer;
    }
    let Some((options, _)) = table().ptrace_options(t.pid) else { return SeccompStop::NoTracer };
    if !options.contains(Options::TRACESECCOMP) {
        return SeccompStop::NoTracer;
    }
    match event(t, pt::EVENT_SECCOMP, u64::from(data)) {
        Outcome::Killed => SeccompStop::Killed,
        _ if uthread::must_die(t.tid) => SeccompStop::Killed,
        _ => SeccompStop::Nr(table().with_thread_trace(t.tid, |l| l.syscall_nr).unwrap_or(u64::MAX)),
    }
}

/// ptrace_report_syscall(): a signal given at a syscall stop is sent
/// (SEND_SIG_PRIV).
fn resume_signal(t: &UThread, sig: u32) {
    if let Ok(s) = SigNum::new(sig as i32)
        && sig != 0
    {
        let _ = table().send_signal(t.pid, SigInfo::kernel(s), &Hooks);
    }
}

/// What the signal-delivery stop decided.
pub enum SignalStop {
    /// Deliver this signal.
    Deliver(SigInfo),
    /// The tracer suppressed it (or it was requeued).
    Discard,
    /// The thread must die.
    Killed,
}

/// `ptrace_signal()`: the tracer sees `info` and answers with the signal
/// to deliver (another one comes from the tracer, a blocked one is
/// requeued).
pub fn signal_stop(t: &mut UThread, info: SigInfo) -> SignalStop {
    let sig = info.signo.get();
    match stop(t, StopKind::Signal, sig, Some(info)) {
        Outcome::Killed => SignalStop::Killed,
        Outcome::NotTraced => SignalStop::Deliver(info),
        Outcome::Resumed(0) => SignalStop::Discard,
        Outcome::Resumed(s) => {
            let Ok(new) = SigNum::new(s as i32) else { return SignalStop::Discard };
            // the siginfo the tracer left (SETSIGINFO), or the tracer's own
            let kept = table().with_thread_trace(t.tid, |l| l.siginfo).flatten().unwrap_or(info);
            let info = if kept.signo == new {
                kept
            } else {
                let tracer = table().tracer_of(t.pid);
                let uid = table().with_process(tracer, |p| p.creds().uid).unwrap_or(0);
                SigInfo::user(new, tracer as i32, uid)
            };
            let blocked =
                table().with_thread(t.tid, |th| th.signals().blocked().contains(new)).unwrap_or(false);
            if blocked {
                let _ = table().send_signal(t.pid, info, &Hooks);
                return SignalStop::Discard;
            }
            SignalStop::Deliver(info)
        }
    }
}

/// do_signal_stop() of a traced process: the group stops (the real
/// parent hears of it) and the thread traps for the tracer at its next
/// look at signals ([`jobctl`]).
pub fn group_stop(t: &UThread, sig: u32) {
    let _ = table().stop(t.pid, sig, &Hooks);
    table().ptrace_group_trap(t.pid, &Hooks);
}

/// What do_jobctl_trap() of thread `tid` reports now: with the group's
/// stop signal while it is stopped.
fn jobctl_stop(tid: Pid) -> (StopKind, u32, Option<SigInfo>) {
    let pid = table().tgid(tid).unwrap_or(tid);
    let seized = table().ptrace_options(pid).is_some_and(|(_, s)| s);
    let stopped = table()
        .with_process(pid, |p| match p.state() {
            process::table::ProcState::Stopped(sig) => Some(sig),
            _ => None,
        })
        .flatten();
    let (kind, code, info) = pt::jobctl_trap(seized, stopped);
    (kind, code, info.map(|(sig, si_code)| notify_info(tid, sig, si_code as u32)))
}

/// A pending `PTRACE_EVENT_STOP` trap (PTRACE_INTERRUPT, a seized new
/// child's first trap, an attach to a stopped process, a group stop,
/// SIGCONT to a seized tracee): do_jobctl_trap().
pub fn jobctl(t: &mut UThread) -> Outcome {
    if !table().ptrace_trap_due(t.tid).unwrap_or(false) {
        return Outcome::NotTraced;
    }
    let (kind, code, info) = jobctl_stop(t.tid);
    stop(t, kind, code, info)
}

/// Whether thread `tid` is traced with a `PTRACE_EVENT_STOP` trap due.
pub fn trap_pending(tid: Pid) -> bool {
    table().ptrace_trap_due(tid).unwrap_or(false)
}

/// PTRACE_EVENT_EXIT for a fatal signal.
pub fn exit_event(t: &mut UThread, status: i32) {
    let traced = table().with_thread_trace(t.tid, |_| ()).is_some()
        && table().ptrace_options(t.pid).is_some_and(|(o, _)| o.contains(Options::TRACEEXIT));
    if traced && !uthread::must_die(t.tid) {
        let _ = event(t, pt::EVENT_EXIT, status as u32 as u64);
    }
}

/// An exception entered the kernel: no system call is in progress.
pub fn exception_entry(t: &UThread) {
    table().with_thread_trace(t.tid, |l| l.syscall_nr = u64::MAX);
}

// ----- the requests -----------------------------------------------------------

fn regs_bytes(c: &arch_x86_64::user::UserContext, orig: u64) -> [u8; REGS_SIZE] {
    let r = &c.regs;
    let v: [u64; 27] = [
        r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx, r.r11, r.r10, r.r9, r.r8, r.rax, r.rcx, r.rdx, r.rsi,
        r.rdi, orig, r.rip, USER_CS, r.rflags, r.rsp, USER_SS, r.fs_base, r.gs_base, 0, 0, 0, 0,
    ];
    let mut out = [0u8; REGS_SIZE];
    for (i, x) in v.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&x.to_le_bytes());
    }
    out
}

/// putreg(): one register of `struct user_regs_struct` by index.
fn put_reg(c: &mut arch_x86_64::user::UserContext, orig: &mut u64, idx: usize, v: u64) -> Result<()> {
    let invalid_selector = |v: u64| v != 0 && v & 3 != 3 || v > 0xffff;
    let r = &mut c.regs;
    match idx {
        0 => r.r15 = v,
        1 => r.r14 = v,
        2 => r.r13 = v,
        3 => r.r12 = v,
        4 => r.rbp = v,
        5 => r.rbx = v,
        6 => r.r11 = v,
        7 => r.r10 = v,
        8 => r.r9 = v,
        9 => r.r8 = v,
        10 => r.rax = v,
        11 => r.rcx = v,
        12 => r.rdx = v,
        13 => r.rsi = v,
        14 => r.rdi = v,
        15 => *orig = v,
        16 => r.rip = v,
        18 => r.rflags = (r.rflags & !arch_x86_64::user::USER_FLAGS) | (v & arch_x86_64::user::USER_FLAGS),
        19 => r.rsp = v,
        21 | 22 if v >= TASK_SIZE_MAX => return Err(Errno::EIO),
        21 => r.fs_base = v,
        22 => r.gs_base = v,
        // cs, ss and the data selectors: checked, the 64-bit ones kept
        17 | 20 | 23..=26 if invalid_selector(v) => return Err(Errno::EIO),
        17 | 20 | 23..=26 => {}
        _ => return Err(Errno::EIO),
    }
    Ok(())
}

fn set_regs(ttid: Pid, bytes: &[u8]) -> Result<()> {
    let mut orig = table().with_thread_trace(ttid, |l| l.syscall_nr).unwrap_or(u64::MAX);
    let r = table()
        .with_thread(ttid, |th| {
            for (i, ch) in bytes.chunks_exact(8).enumerate() {
                let v = u64::from_le_bytes(ch.try_into().unwrap_or([0; 8]));
                put_reg(th.context_mut(), &mut orig, i, v)?;
            }
            Ok(())
        })
        .unwrap_or(Err(Errno::ESRCH));
    table().with_thread_trace(ttid, |l| l.syscall_nr = orig);
    r
}

fn get_regs(ttid: Pid) -> Result<[u8; REGS_SIZE]> {
    let orig = table().with_thread_trace(ttid, |l| l.syscall_nr).unwrap_or(u64::MAX);
    table().with_thread(ttid, |th| regs_bytes(th.context(), orig)).ok_or(Errno::ESRCH)
}

fn get_fpregs(ttid: Pid) -> Result<[u8; FPREGS_SIZE]> {
    // with XSAVE, as Linux's copy_xstate_to_uabi_buf(XSTATE_COPY_FX):
    // x87/SSE in their init state read as init values, sw_reserved set
    let l = arch_x86_64::xstate::layout();
    table()
        .with_thread(ttid, |th| {
            arch_x86_64::xstate::fxsave_bytes(&arch_x86_64::xstate::to_regset(&l, th.context_mut().fpu()))
        })
        .ok_or(Errno::ESRCH)
}

/// The NT_X86_XSTATE regset image (`layout.size` bytes are used).
fn get_xstate(ttid: Pid) -> Result<arch_x86_64::user::FpuState> {
    let l = arch_x86_64::xstate::layout();
    table()
        .with_thread(ttid, |th| arch_x86_64::xstate::to_regset(&l, th.context_mut().fpu()))
        .ok_or(Errno::ESRCH)
}

/// PTRACE_SETREGSET NT_X86_XSTATE: a whole image (`xstateregs_set`).
fn set_xstate(ttid: Pid, bytes: &[u8]) -> Result<()> {
    let l = arch_x86_64::xstate::layout();
    if bytes.len() != l.size as usize {
        return Err(Errno::EFAULT);
    }
    table()
        .with_thread(ttid, |th| {
            let s = arch_x86_64::xstate::from_regset(&l, th.context_mut().fpu(), bytes)
                .map_err(|_| Errno::EINVAL)?;
            th.context_mut().set_fpu(&s);
            Ok(())
        })
        .unwrap_or(Err(Errno::ESRCH))
}

fn set_fpregs(ttid: Pid, bytes: &[u8]) -> Result<()> {
    let mut img = get_fpregs(ttid)?;
    img[..bytes.len()].copy_from_slice(bytes);
    // MXCSR's reserved bits (fpregs_set)
    let mxcsr = u32::from_le_bytes([img[24], img[25], img[26], img[27]]);
    if mxcsr & !0xffff != 0 {
        return Err(Errno::EINVAL);
    }
    table()
        .with_thread(ttid, |th| {
            let mut s = th.context_mut().fpu().clone();
            arch_x86_64::xstate::set_fxsave_bytes(&mut s, &img);
            th.context_mut().set_fpu(&s)
        })
        .ok_or(Errno::ESRCH)
}

fn tracee_vm(tpid: Pid) -> Result<process::seams::SharedVm<crate::proc::Kernel>> {
    table().with_process(tpid, |p| p.vm().cloned()).flatten().ok_or(Errno::ESRCH)
}

fn get_syscall_info(ttid: Pid, size: u64, data: u64, t: &UThread) -> SysResult {
    let (kind, orig, siginfo) =
        table().with_thread_trace(ttid, |l| (l.kind, l.syscall_nr, l.siginfo)).ok_or(Errno::ESRCH)?;
    let (rip, rsp, regs) = table()
        .with_thread(ttid, |th| (th.context().regs.rip, th.context().regs.rsp, th.context().regs))
        .ok_or(Errno::ESRCH)?;
    let mut b = [0u8; 88];
    // only a TRACESYSGOOD syscall stop (si_code SIGTRAP | 0x80) says which
    let in_syscall = siginfo.is_some_and(|i| i.signo == signal::SIGTRAP && i.code == 0x85);
    let (op, len) = match kind {
        StopKind::SyscallEntry if in_syscall => (1u8, 80usize),
        StopKind::SyscallExit if in_syscall => (2, 33),
        _ => (0, 24),
    };
    b[0] = op;
    b[4..8].copy_from_slice(&AUDIT_ARCH_X86_64.to_le_bytes());
    b[8..16].copy_from_slice(&rip.to_le_bytes());
    b[16..24].copy_from_slice(&rsp.to_le_bytes());
    if op == 1 {
        b[24..32].copy_from_slice(&orig.to_le_bytes());
        for (i, a) in [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9].iter().enumerate() {
            b[32 + i * 8..40 + i * 8].copy_from_slice(&a.to_le_bytes());
        }
    } else if op == 2 {
        let rval = regs.rax as i64;
        b[24..32].copy_from_slice(&rval.to_le_bytes());
        // IS_ERR_VALUE
        b[32] = u8::from((-4095..0).contains(&rval));
    }
    let n = (size as usize).min(len);
    t.write_slice(data, &b[..n])?;
    Ok(len as isize)
}

/// ptrace(2).
pub fn sys_ptrace(t: &mut UThread, request: u64, pid: u64, addr: u64, data: u64) -> SysResult {
    let pid = pid as i32;
    if request == req::TRACEME {
        table().ptrace_traceme(t.tid)?;
        t.trace |= TRACED;
        return Ok(0);
    }
    // find_get_task_by_vpid: a number of the caller's PID namespace (one
    // it does not have is one no task has: ESRCH)
    let pid = if pid > 0 { table().pid_from(t.tid, pid as Pid).map_or(i32::MAX, |p| p as i32) } else { pid };
    if request == req::ATTACH || request == req::SEIZE {
        if pid <= 0 || table().tgid(pid as u32).is_none() {
            return Err(Errno::ESRCH);
        }
        let seize = if request == req::SEIZE {
            if addr != 0 {
                return Err(Errno::EIO);
            }
            Some(Options::parse_seize(data)?)
        } else {
            None
        };
        let tid = table().ptrace_attach(t.tid, pid, seize, &Hooks)?;
        wait_attach_trap(t.tid, tid);
        if crate::net::connector::listening() {
            crate::net::connector::ptrace(tid, Some(t.tid));
        }
        return Ok(0);
    }
    let any_state = request == req::KILL || request == req::INTERRUPT;
    let (tpid, ttid) = table().ptrace_tracee(t.tid, pid, any_state)?;
    match request {
        req::PEEKTEXT | req::PEEKDATA => {
            let mut w = [0u8; 8];
            tracee_vm(tpid)?.lock().read_user(addr as usize, &mut w).map_err(|_| Errno::EIO)?;
            t.write_slice(data, &w)?;
            Ok(0)
        }
        req::POKETEXT | req::POKEDATA => {
            tracee_vm(tpid)?
                .lock()
                .write_user_force(addr as usize, &data.to_le_bytes())
                .map_err(|_| Errno::EIO)?;
            Ok(0)
        }
        req::PEEKUSER => {
            if addr & 7 != 0 || addr >= USER_SIZE {
                return Err(Errno::EIO);
            }
            let v = if (addr as usize) < REGS_SIZE {
                let r = get_regs(ttid)?;
                let i = addr as usize;
                u64::from_le_bytes(r[i..i + 8].try_into().map_err(|_| Errno::EIO)?)
            } else {
                0
            };
            t.write(UserPtr::<u64>::new(data), v)?;
            Ok(0)
        }
        req::POKEUSER => {
            if addr & 7 != 0 || addr >= USER_SIZE {
                return Err(Errno::EIO);
            }
            if (addr as usize) < REGS_SIZE {
                let mut r = get_regs(ttid)?;
                let i = addr as usize;
                r[i..i + 8].copy_from_slice(&data.to_le_bytes());
                // only this register changes (putreg of one)
                let mut orig = table().with_thread_trace(ttid, |l| l.syscall_nr).unwrap_or(u64::MAX);
                table()
                    .with_thread(ttid, |th| put_reg(th.context_mut(), &mut orig, i / 8, data))
                    .unwrap_or(Err(Errno::ESRCH))?;
                table().with_thread_trace(ttid, |l| l.syscall_nr = orig);
                Ok(0)
            } else if (DEBUGREG_OFFSET..DEBUGREG_OFFSET + 64).contains(&addr) && data == 0 {
                // no hardware breakpoints: clearing one is all there is
                Ok(0)
            } else {
                Err(Errno::EIO)
            }
        }
        req::GETREGS => {
            let r = get_regs(ttid)?;
            t.write_slice(data, &r)?;
            Ok(0)
        }
        req::SETREGS => {
            let b = t.read_slice(UserSlice::new(data, REGS_SIZE))?;
            set_regs(ttid, &b).map(|_| 0)
        }
        req::GETFPREGS => {
            let f = get_fpregs(ttid)?;
            t.write_slice(data, &f)?;
            Ok(0)
        }
        req::SETFPREGS => {
            let b = t.read_slice(UserSlice::new(data, FPREGS_SIZE))?;
            set_fpregs(ttid, &b).map(|_| 0)
        }
        req::GETREGSET | req::SETREGSET => {
            let iov = t.read_slice(UserSlice::new(data, 16))?;
            let base = u64::from_le_bytes(iov[..8].try_into().map_err(|_| Errno::EFAULT)?);
            let len = u64::from_le_bytes(iov[8..].try_into().map_err(|_| Errno::EFAULT)?);
            let size = match addr {
                NT_PRSTATUS => REGS_SIZE,
                NT_PRFPREG => FPREGS_SIZE,
                NT_X86_XSTATE if arch_x86_64::xstate::enabled() => {
                    arch_x86_64::xstate::layout().size as usize
                }
                NT_X86_XSTATE => return xstate_regset(len),
                _ => return Err(Errno::EINVAL),
            };
            if len % 8 != 0 {
                return Err(Errno::EINVAL);
            }
            let n = (len as usize).min(size);
            if request == req::GETREGSET {
                if addr == NT_X86_XSTATE {
                    let x = get_xstate(ttid)?;
                    t.write_slice(base, &x.0[..n])?;
                    t.write(UserPtr::<u64>::new(data + 8), n as u64)?;
                    return Ok(0);
                }
                let img: Vec<u8> =
                    if addr == NT_PRSTATUS { get_regs(ttid)?.to_vec() } else { get_fpregs(ttid)?.to_vec() };
                t.write_slice(base, &img[..n])?;
            } else {
                let b = t.read_slice(UserSlice::new(base, n))?;
                if addr == NT_X86_XSTATE {
                    set_xstate(ttid, &b)?;
                } else if addr == NT_PRSTATUS {
                    let mut r = get_regs(ttid)?;
                    r[..n].copy_from_slice(&b);
                    set_regs(ttid, &r)?;
                } else {
                    set_fpregs(ttid, &b)?;
                }
            }
            t.write(UserPtr::<u64>::new(data + 8), n as u64)?;
            Ok(0)
        }
        req::GETSIGINFO => {
            let info = table().with_thread_trace(ttid, |l| l.siginfo).flatten().ok_or(Errno::EINVAL)?;
            t.write_slice(data, &info.to_bytes())?;
            Ok(0)
        }
        req::SETSIGINFO => {
            let b = t.read_slice(UserSlice::new(data, 128))?;
            let mut raw = [0u8; 128];
            raw.copy_from_slice(&b);
            let info = SigInfo::from_bytes(&raw)?;
            let had = table().with_thread_trace(ttid, |l| l.siginfo.is_some()).unwrap_or(false);
            if !had {
                return Err(Errno::EINVAL);
            }
            table().with_thread_trace(ttid, |l| l.siginfo = Some(info));
            Ok(0)
        }
        req::PEEKSIGINFO => peek_siginfo(t, tpid, ttid, addr, data),
        req::GETSIGMASK => {
            // the mask sigsuspend and the like will put back, if any
            if addr != 8 {
                return Err(Errno::EINVAL);
            }
            let m = table().with_thread(ttid, |th| th.signals().mask_to_save()).ok_or(Errno::ESRCH)?;
            t.write(UserPtr::<u64>::new(data), m.bits())?;
            Ok(0)
        }
        req::SETSIGMASK => {
            if addr != 8 {
                return Err(Errno::EINVAL);
            }
            let m: u64 = t.read(UserPtr::<u64>::new(data))?;
            // SIGKILL and SIGSTOP stay unblocked; a saved mask is forgotten
            table()
                .with_thread(ttid, |th| {
                    th.signals_mut().restore_saved_mask();
                    th.signals_mut().set_blocked(signal::SigSet::from_bits(m));
                })
                .ok_or(Errno::ESRCH)?;
            Ok(0)
        }
        req::GETEVENTMSG => {
            let m = table().with_thread_trace(ttid, |l| l.event_msg).ok_or(Errno::ESRCH)?;
            t.write(UserPtr::<u64>::new(data), m)?;
            Ok(0)
        }
        req::GET_SYSCALL_INFO => get_syscall_info(ttid, addr, data, t),
        req::GET_RSEQ_CONFIGURATION => {
            // struct ptrace_rseq_configuration (24 bytes): the tracee's
            // rseq address and signature (0 when none), 6.1's
            // sizeof(struct rseq) as the size whatever the registration,
            // flags 0; `addr` bytes of it at most are copied, its size is
            // returned
            let reg = table().with_thread(ttid, |th| th.ext().rseq).ok_or(Errno::ESRCH)?;
            let mut conf = [0u8; 24];
            conf[8..12].copy_from_slice(&linux_abi::rseq::RSEQ_SIZE.to_ne_bytes());
            if let Some(r) = reg {
                conf[..8].copy_from_slice(&r.addr.to_ne_bytes());
                conf[12..16].copy_from_slice(&r.sig.to_ne_bytes());
            }
            let n = (addr as usize).min(conf.len());
            t.write_slice(data, &conf[..n])?;
            Ok(conf.len() as isize)
        }
        req::SETOPTIONS => {
            let o = Options::parse(data)?;
            table().with_trace(tpid, |l| l.options = o);
            Ok(0)
        }
        req::CONT | req::SYSCALL | req::SINGLESTEP => {
            let sig = pt::resume_signal(data)?;
            let mode = match request {
                req::SYSCALL => ResumeMode::Syscall,
                req::SINGLESTEP => ResumeMode::SingleStep,
                _ => ResumeMode::Cont,
            };
            table().ptrace_resume(ttid, Resume::new(mode, sig), &Hooks);
            Ok(0)
        }
        req::DETACH => {
            let sig = pt::resume_signal(data)?;
            table().ptrace_detach(ttid, sig, &Hooks);
            if crate::net::connector::listening() {
                crate::net::connector::ptrace(ttid, None);
            }
            Ok(0)
        }
        req::KILL => {
            let _ = table().send_signal(tpid, SigInfo::kernel(signal::SIGKILL), &Hooks);
            Ok(0)
        }
        req::INTERRUPT => table().ptrace_interrupt(ttid, &Hooks).map(|_| 0),
        req::LISTEN => table().ptrace_listen(ttid, &Hooks).map(|_| 0),
        _ => Err(Errno::EIO),
    }
}

/// GETREGSET/SETREGSET of NT_X86_XSTATE: a length that is not a multiple
/// of 8 is `EINVAL`; with XSAVE off the regset is
/// empty and `xstateregs_get()`/`xstateregs_set()` answer `ENODEV`, as
/// Linux on a CPU without XSAVE (gdb then uses GETFPREGS).
fn xstate_regset(len: u64) -> SysResult {
    if !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    Err(Errno::ENODEV)
}

/// PTRACE_PEEKSIGINFO (`ptrace_peek_siginfo()`): up to `nr` queued
/// siginfos from position `off` of the stopped thread's queue (or, with
/// `PTRACE_PEEKSIGINFO_SHARED`, its process's), in arrival order, as
/// 128-byte records at `data`; how many were copied, or `EFAULT` when the
/// first copy failed.
fn peek_siginfo(t: &UThread, tpid: Pid, ttid: Pid, addr: u64, data: u64) -> SysResult {
    let raw = t.read_slice(UserSlice::new(addr, 16))?;
    let mut a = [0u8; 16];
    a.copy_from_slice(&raw);
    let (off, shared, nr) = pt::peeksiginfo_args(&a)?;
    let mut i = 0usize;
    while i < nr {
        let at = off.saturating_add(i as u64);
        let nth =
            |q: &signal::PendingQueue| usize::try_from(at).ok().and_then(|n| q.queued().nth(n).copied());
        let info = table()
            .with_thread_process(ttid, tpid, |th, p| {
                if shared { nth(p.pending()) } else { nth(th.signals().pending()) }
            })
            .flatten();
        let Some(info) = info else { break };
        let dst = data.wrapping_add(i as u64 * 128);
        if let Err(e) = t.write_slice(dst, &info.to_bytes()) {
            if i == 0 {
                return Err(e);
            }
            break;
        }
        i += 1;
        if uthread::signal_pending(t.tid) {
            break;
        }
    }
    Ok(i as isize)
}

/// personality(2): `0xffffffff` reads the calling thread's persona,
/// anything else sets it (Linux checks nothing); the old one is returned.
/// A clone copies it and exec keeps it (`ADDR_NO_RANDOMIZE` for gdb and
/// setarch: this kernel places mappings the same way every run anyway).
pub fn personality(t: &UThread, persona: u32) -> SysResult {
    table()
        .with_thread(t.tid, |th| {
            let old = th.ext().personality;
            if persona != u32::MAX {
                th.ext_mut().personality = persona;
            }
            old as isize
        })
        .ok_or(Errno::ESRCH)
}

/// ptrace_attach()'s wait for JOBCTL_TRAPPING: a process that was
/// group-stopped is in its trap when ATTACH/SEIZE returns, so the tracer's
/// next wait (even WNOHANG) sees it. Ends when the tracee traps, is no
/// longer traced or stopped, dies, or the tracer has a signal.
fn wait_attach_trap(tid: Pid, target: Pid) {
    use process::seams::Hooks as _;
    let Some(me) = table().tgid(tid) else { return };
    let Some(pid) = table().tgid(target) else { return };
    loop {
        let Some(seen) = table().with_process(me, |p| p.child_events()) else { return };
        let trapping = table().with_thread_trace(target, |l| l.trap && !l.stopped).unwrap_or(false)
            && table()
                .with_process(pid, |p| matches!(p.state(), process::table::ProcState::Stopped(_)))
                .unwrap_or(false)
            && !uthread::must_die(tid);
        if !trapping || Hooks.wait_for_child(tid, seen).is_err() {
            return;
        }
    }
}

// ----- process_vm_readv / process_vm_writev -------------------------------------

const UIO_MAXIOV: u64 = 1024;

fn read_iovecs(t: &UThread, addr: u64, cnt: u64) -> Result<Vec<(u64, u64)>> {
    if cnt > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::new();
    v.try_reserve(cnt as usize).map_err(|_| Errno::ENOMEM)?;
    let mut total: u64 = 0;
    for i in 0..cnt {
        let b = t.read_slice(UserSlice::new(addr.checked_add(i * 16).ok_or(Errno::EFAULT)?, 16))?;
        let base = u64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let len = u64::from_le_bytes(b[8..].try_into().map_err(|_| Errno::EFAULT)?);
        if len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        total = total.checked_add(len).filter(|&x| x <= i64::MAX as u64).ok_or(Errno::EINVAL)?;
        v.push((base, len));
    }
    Ok(v)
}

/// process_vm_readv(2) (`write` false) and process_vm_writev(2): copies
/// between the caller's iovecs and process `pid`'s, which the caller must
/// be allowed to ptrace-attach to (`EPERM`); the bytes copied, stopping at
/// the first remote fault (`EFAULT` if none was).
///
/// `pid_t pid`, two (`struct iovec *`, `unsigned long` count) pairs,
/// `unsigned long flags`.
pub fn process_vm(
    t: &mut UThread,
    pid: i32,
    [(liov, lcnt), (riov, rcnt)]: [(UserPtr<Iovec>, u64); 2],
    flags: u64,
    write: bool,
) -> SysResult {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let local = read_iovecs(t, liov.addr(), lcnt)?;
    let remote = read_iovecs(t, riov.addr(), rcnt)?;
    let tgid =
        u32::try_from(pid).ok().filter(|&p| p != 0).and_then(|p| table().tgid(p)).ok_or(Errno::ESRCH)?;
    table().ptrace_may_access(t.tid, tgid, pt::CredMode::Real)?;
    let vm = tracee_vm(tgid)?;
    let mut done: usize = 0;
    let (mut li, mut loff) = (0usize, 0u64);
    let mut buf = Vec::new();
    buf.try_reserve(4096).map_err(|_| Errno::ENOMEM)?;
    buf.resize(4096, 0u8);
    'outer: for &(rbase, rlen) in &remote {
        let mut roff = 0u64;
        while roff < rlen {
            while li < local.len() && loff >= local[li].1 {
                li += 1;
                loff = 0;
            }
            let Some(&(lbase, llen)) = local.get(li) else { break 'outer };
            let ra = rbase.wrapping_add(roff) as usize;
            let n = (rlen - roff).min(llen - loff).min(4096 - (ra % 4096) as u64) as usize;
            let la = lbase.wrapping_add(loff);
            let ok = if write {
                t.vm.lock().read_user(la as usize, &mut buf[..n]).map_err(|_| Errno::EFAULT)?;
                vm.lock().write_user(ra, &buf[..n]).is_ok()
            } else {
                let r = vm.lock().read_user(ra, &mut buf[..n]).is_ok();
                if r {
                    t.write_slice(la, &buf[..n])?;
                }
                r
            };
            if !ok {
                // a partial page is not copied byte by byte: stop here
                break 'outer;
            }
            done += n;
            roff += n as u64;
            loff += n as u64;
        }
    }
    if done == 0 && remote.iter().any(|r| r.1 != 0) && local.iter().any(|l| l.1 != 0) {
        return Err(Errno::EFAULT);
    }
    Ok(done as isize)
}
