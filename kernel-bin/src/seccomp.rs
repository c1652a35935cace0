//! seccomp(2) over the `seccomp` crate's filters: the modes a thread sets
//! (seccomp(2), prctl(PR_SET_SECCOMP)), the state's places (the thread's
//! record, `proc::ThreadExt::seccomp`, is the truth that clone copies and
//! TSYNC writes; the thread's own `UThread::seccomp` is its cached copy,
//! with the [`TRACE_BIT`] in `UThread::trace` so the untraced, unfiltered
//! entry stays one test), and what the entry does with a filter's action
//! (Linux's `__secure_computing`).

use crate::proc::table;
use crate::syscall::SysResult;
use crate::uthread::{self, Flow, UThread};
use alloc::vec::Vec;
use linux_abi::Errno;
use linux_abi::args::{UserPtr, UserSlice};
use signal::SigInfo;

use ::seccomp::bpf::{self, Insn};
use ::seccomp::{Action, Data, Filter, State};

/// The bit of `UThread::trace` a thread with a seccomp mode has: the
/// entry's one test sends it to [`syscall`].
pub const TRACE_BIT: u8 = 0x80;

/// Serializes the changes of seccomp states (a thread's own attach and
/// another thread's TSYNC: Linux's siglock), taken before the table lock.
static CHANGE: crate::lockorder::Ranked<()> =
    crate::lockorder::Ranked::new(crate::lockorder::LockClass::Seccomp, "seccomp::CHANGE", ());

/// What the entry hook decided.
pub enum Entry {
    /// Run the call (its number, which a tracer may have changed).
    Run(u64),
    /// Skip it: `rax` is set; the thread goes on (or ends) as the flow says.
    Skip(Flow),
}

/// The entry of a thread with a slow-path bit in `trace` (ptrace or
/// seccomp): the ptrace stops wrap the call and run [`filter`] after the
/// entry stop, as Linux's syscall_trace_enter does; an untraced thread
/// runs its filter here.
pub fn syscall(t: &mut UThread, nr: u64) -> (Flow, Option<SysResult>) {
    if t.trace & crate::ptrace::MASK != 0 {
        return crate::ptrace::syscall(t, nr);
    }
    match filter(t, nr, false) {
        Entry::Run(n) => crate::syscall::dispatch(t, n),
        Entry::Skip(flow) => (flow, None),
    }
}

/// The thread's cached state, again from its record (a TSYNC seen at
/// signal time).
pub fn refresh(t: &mut UThread) {
    let Some(s) = table().with_thread(t.tid, |th| {
        let s = &th.ext().seccomp;
        if s.same(&t.seccomp) { None } else { Some(s.clone()) }
    }) else {
        return;
    };
    if let Some(s) = s {
        set_cached(t, s);
    }
}

/// Whether the record's state differs from the cached one (the signal
/// path's quick look: a TSYNC by another thread).
pub fn stale(t: &UThread, ext: &crate::proc::ThreadExt) -> bool {
    !ext.seccomp.same(&t.seccomp)
}

/// Sets the thread's cached state and its entry bit.
pub fn set_cached(t: &mut UThread, s: State) {
    if s.mode != ::seccomp::MODE_DISABLED {
        t.trace |= TRACE_BIT;
    } else {
        t.trace &= !TRACE_BIT;
    }
    // the old chain (if any) drops here, no lock held
    t.seccomp = s;
}

/// `__secure_computing()`: the mode's verdict on call `nr` (`recheck`:
/// after a tracer's `SECCOMP_RET_TRACE` stop, when TRACE itself passes).
pub fn filter(t: &mut UThread, nr: u64, recheck: bool) -> Entry {
    match t.seccomp.mode {
        ::seccomp::MODE_STRICT => {
            if ::seccomp::strict_allowed(nr) {
                return Entry::Run(nr);
            }
            log::info!("pid {} tid {}: seccomp strict mode: syscall {nr} kills the thread", t.pid, t.tid);
            Entry::Skip(kill_thread(t, signal::SIGKILL))
        }
        ::seccomp::MODE_FILTER => {
            let Some(f) = t.seccomp.filter.clone() else { return Entry::Run(nr) };
            let d = Data::x86_64(nr, t.ctx.regs.rip, t.ctx.syscall_args());
            let (ret, matched) = f.run(&d);
            let (action, data) = Action::of(ret);
            let logged = matched.log();
            drop(f);
            act(t, nr, action, data, logged, recheck)
        }
        _ => Entry::Run(nr),
    }
}

fn act(t: &mut UThread, nr: u64, action: Action, data: u16, logged: bool, recheck: bool) -> Entry {
    match action {
        Action::Allow => Entry::Run(nr),
        Action::Log => {
            log::info!("pid {} tid {}: seccomp log: syscall {nr}", t.pid, t.tid);
            Entry::Run(nr)
        }
        Action::Errno => {
            if logged {
                log::info!("pid {} tid {}: seccomp errno {data}: syscall {nr}", t.pid, t.tid);
            }
            let e = u32::from(data).min(::seccomp::MAX_ERRNO);
            t.ctx.regs.rax = (-(e as i64)) as u64;
            Entry::Skip(Flow::Continue)
        }
        Action::Trap => {
            // syscall_rollback: the handler sees (and a return restores)
            // the number in rax
            t.ctx.regs.rax = nr;
            let info = SigInfo::seccomp(
                t.ctx.regs.rip,
                nr as u32 as i32,
                ::seccomp::AUDIT_ARCH_X86_64,
                i32::from(data),
            );
            Entry::Skip(uthread::force_signal(t, info, (0, 0, 0)))
        }
        Action::Trace => {
            if recheck {
                return Entry::Run(nr);
            }
            match crate::ptrace::seccomp_stop(t, data) {
                crate::ptrace::SeccompStop::NoTracer => {
                    t.ctx.regs.rax = Errno::ENOSYS.to_syscall_return() as u64;
                    Entry::Skip(Flow::Continue)
                }
                crate::ptrace::SeccompStop::Killed => Entry::Skip(Flow::Continue),
                // the tracer skipped the call (rax as it left it)
                crate::ptrace::SeccompStop::Nr(u64::MAX) => Entry::Skip(Flow::Continue),
                // the call as the tracer left it goes through the filters
                // again (TRACE passes this time)
                crate::ptrace::SeccompStop::Nr(n) => filter(t, n, true),
            }
        }
        Action::UserNotif => {
            // no listener can exist here (NEW_LISTENER is refused): Linux's
            // answer without one
            t.ctx.regs.rax = Errno::ENOSYS.to_syscall_return() as u64;
            Entry::Skip(Flow::Continue)
        }
        Action::KillThread | Action::KillProcess => {
            log::info!("pid {} tid {}: seccomp {:?}: syscall {nr}", t.pid, t.tid, action);
            t.ctx.regs.rax = nr;
            let last = table().with_process(t.pid, |p| p.threads().len() <= 1).unwrap_or(true);
            if action == Action::KillThread && !last {
                Entry::Skip(kill_thread(t, signal::SIGSYS))
            } else {
                // force_sig_seccomp(.., force_coredump): SIGSYS's default
                // action whatever the handler or mask
                Entry::Skip(uthread::die(t, signal::SIGSYS, true))
            }
        }
    }
}

/// `do_exit(sig)` of one thread: the process ends by `sig` when it was
/// the last one.
fn kill_thread(t: &mut UThread, sig: signal::SigNum) -> Flow {
    let last = table().with_process(t.pid, |p| p.threads().len() <= 1).unwrap_or(true);
    if last {
        return uthread::die(t, sig, false);
    }
    t.exit = Some(uthread::Exit::Thread(0));
    Flow::Exit
}

/// seccomp(2).
pub fn sys_seccomp(t: &mut UThread, op: u32, flags: u32, uargs: u64) -> SysResult {
    match op {
        ::seccomp::SET_MODE_STRICT => {
            if flags != 0 || uargs != 0 {
                return Err(Errno::EINVAL);
            }
            set_strict(t)
        }
        ::seccomp::SET_MODE_FILTER => set_filter(t, flags, uargs),
        ::seccomp::GET_ACTION_AVAIL => {
            if flags != 0 {
                return Err(Errno::EINVAL);
            }
            let a: u32 = t.read(UserPtr::new(uargs))?;
            Action::available(a).map(|_| 0)
        }
        ::seccomp::GET_NOTIF_SIZES => {
            if flags != 0 {
                return Err(Errno::EINVAL);
            }
            let s = ::seccomp::NOTIF_SIZES;
            let mut b = [0u8; 6];
            for (i, v) in s.iter().enumerate() {
                b[2 * i..2 * i + 2].copy_from_slice(&v.to_le_bytes());
            }
            t.write_slice(uargs, &b).map(|_| 0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// prctl(PR_GET_SECCOMP): the thread's mode.
pub fn prctl_get(t: &UThread) -> SysResult {
    Ok(isize::from(t.seccomp.mode))
}

/// prctl(PR_SET_SECCOMP, mode, filter): seccomp(2) without flags (strict
/// mode ignores the filter argument).
pub fn prctl_set(t: &mut UThread, mode: u64, filter: u64) -> SysResult {
    match mode {
        1 => set_strict(t),
        2 => set_filter(t, 0, filter),
        _ => Err(Errno::EINVAL),
    }
}

fn set_strict(t: &mut UThread) -> SysResult {
    let s = {
        let _g = CHANGE.lock();
        table()
            .with_thread(t.tid, |th| {
                let s = &mut th.ext_mut().seccomp;
                if !s.may_assign(::seccomp::MODE_STRICT) {
                    return Err(Errno::EINVAL);
                }
                s.mode = ::seccomp::MODE_STRICT;
                Ok(s.clone())
            })
            .ok_or(Errno::ESRCH)??
    };
    set_cached(t, s);
    Ok(0)
}

/// `struct sock_fprog`'s size: `unsigned short len`, padding, the pointer.
const FPROG_SIZE: usize = 16;

fn set_filter(t: &mut UThread, flags: u32, uargs: u64) -> SysResult {
    ::seccomp::check_flags(flags)?;
    // seccomp_prepare_user_filter: the header, the length, the privilege
    let mut hdr = [0u8; FPROG_SIZE];
    t.read_into(uargs, &mut hdr)?;
    let len = usize::from(u16::from_le_bytes([hdr[0], hdr[1]]));
    let mut ptr = [0u8; 8];
    ptr.copy_from_slice(&hdr[8..16]);
    let ptr = u64::from_le_bytes(ptr);
    if len == 0 || len > bpf::MAXINSNS {
        return Err(Errno::EINVAL);
    }
    let allowed = table()
        .with_thread_process(t.tid, t.pid, |th, p| {
            th.no_new_privs() || p.creds().own_cap(process::cred::CAP_SYS_ADMIN)
        })
        .ok_or(Errno::ESRCH)?;
    if !allowed {
        return Err(Errno::EACCES);
    }
    let raw = t.read_slice(UserSlice::new(ptr, len * Insn::SIZE))?;
    let mut prog: Vec<Insn> = Vec::new();
    prog.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    for c in raw.chunks_exact(Insn::SIZE) {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        prog.push(Insn::from_bytes(b));
    }
    drop(raw);
    bpf::prepare(&mut prog)?;
    if flags & ::seccomp::FLAG_NEW_LISTENER != 0 {
        log::info!("pid {}: seccomp: SECCOMP_FILTER_FLAG_NEW_LISTENER unsupported: EINVAL", t.pid);
        return Err(Errno::EINVAL);
    }
    let log_flag = flags & ::seccomp::FLAG_LOG != 0;
    let tsync = flags & ::seccomp::FLAG_TSYNC != 0;
    // the threads TSYNC moved to the new chain, woken to look
    let mut synced: Vec<process::pid::Pid> = Vec::new();
    let mut others: Vec<process::pid::Pid> = Vec::new();
    if tsync {
        others = table()
            .with_process(t.pid, |p| {
                let mut v = Vec::new();
                v.try_reserve_exact(p.threads().len()).map(|_| {
                    v.extend(p.threads().iter().copied().filter(|&x| x != t.tid));
                    v
                })
            })
            .ok_or(Errno::ESRCH)?
            .map_err(|_| Errno::ENOMEM)?;
        synced.try_reserve_exact(others.len()).map_err(|_| Errno::ENOMEM)?;
    }
    let (state, old) = {
        let _g = CHANGE.lock();
        let cur = table().with_thread(t.tid, |th| th.ext().seccomp.clone()).ok_or(Errno::ESRCH)?;
        if !cur.may_assign(::seccomp::MODE_FILTER) {
            return Err(Errno::EINVAL);
        }
        let new = Filter::attach(cur.filter.as_ref(), prog, log_flag)?;
        if tsync {
            // seccomp_can_sync_threads: each other thread has no filter
            // or one the new chain extends
            for &o in &others {
                let ok =
                    table().with_thread(o, |th| th.ext().seccomp.can_sync_to(Some(&new))).unwrap_or(true);
                if !ok {
                    if flags & ::seccomp::FLAG_TSYNC_ESRCH != 0 {
                        return Err(Errno::ESRCH);
                    }
                    return Ok(table().pid_seen(t.tid, o) as isize);
                }
            }
        }
        let state = State { mode: ::seccomp::MODE_FILTER, filter: Some(new) };
        let old =
            table().with_thread(t.tid, |th| core::mem::replace(&mut th.ext_mut().seccomp, state.clone()));
        let nnp = tsync && table().with_thread(t.tid, |th| th.no_new_privs()).unwrap_or(false);
        let mut olds: Vec<State> = Vec::new();
        for &o in &others {
            let prev = table().with_thread(o, |th| {
                if nnp {
                    th.set_no_new_privs();
                }
                core::mem::replace(&mut th.ext_mut().seccomp, state.clone())
            });
            if let Some(p) = prev {
                synced.push(o);
                // (capacity reserved above; a failed push only keeps the
                // old chain a little longer: it drops with this vector)
                if olds.try_reserve(1).is_ok() {
                    olds.push(p);
                }
            }
        }
        (state, (old, olds))
    };
    // the replaced chains drop here, after the locks
    drop(old);
    set_cached(t, state);
    if !synced.is_empty() {
        // each synced thread picks its new chain up on its way back to
        // user mode (the epoch makes it look: `uthread::nothing_due`).
        // A thread running in user mode on another CPU meanwhile may make
        // one more call unfiltered (Linux's TIF flag is seen at once).
        table().epoch().bump();
    }
    Ok(0)
}
