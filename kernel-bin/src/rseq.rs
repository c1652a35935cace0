//! Restartable sequences (rseq(2), Linux 6.1's `kernel/rseq.c`): a
//! thread registers a `struct rseq`; on its way back to user mode after
//! it was switched away from (a preemption, a sleep, a move to another
//! CPU: all count in its switch counters) or when a signal is delivered
//! to it, the kernel aborts the critical section its `rseq_cs` names if
//! the interrupted ip lies in it (ip to the descriptor's `abort_ip`, after
//! checking the signature word before it) and writes the CPU number into
//! `cpu_id_start` and `cpu_id`. A bad descriptor, signature or an
//! unwritable area is Linux's `force_sigsegv`. The rules are
//! `linux_abi::rseq`'s (tested on the host); this is the glue to the
//! thread's memory and its way out ([`crate::uthread`]).

use crate::syscall::SysResult;
use crate::uthread::{Flow, UThread};
use linux_abi::args::access_ok;
use linux_abi::rseq::{self as abi, CsDescriptor, Registration, SysRseq};
use linux_abi::{Errno, Result};

/// A registered thread's rseq state (in its [`UThread`]; the registration
/// alone is in its process-table record too, for fork to copy).
#[derive(Clone, Copy, Debug)]
pub struct Rseq {
    /// The registration.
    pub reg: Registration,
    /// The thread's switch and kick count
    /// ([`process::cputime::CpuAccount::rseq_events`]) when the way out
    /// last looked: a change is a preemption, a move or a membarrier.
    seen: u64,
    /// Linux's `rseq_event_mask`: events since the last abort decision.
    events: u8,
    /// A look is owed whatever the count says (registration, a new
    /// process's first return: Linux's `rseq_set_notify_resume`).
    due: bool,
}

impl Rseq {
    /// The state of a thread that starts with `reg` (a fork's child: Linux's
    /// `wake_up_new_task` marks it migrated, so it looks on its way out).
    pub fn started(reg: Registration) -> Self {
        Rseq { reg, seen: 0, events: abi::EVENT_MIGRATE, due: true }
    }
}

/// rseq(2): `struct rseq *rseq, u32 rseq_len, int flags, u32 sig`.
pub fn sys_rseq(t: &mut UThread, addr: u64, len: u32, flags: i32, sig: u32) -> SysResult {
    match abi::sys_rseq(t.rseq.map(|r| r.reg), addr, len, flags, sig)? {
        SysRseq::Register(reg) => {
            // Linux 6.1.y (stable's "rseq: Fix segfault on registration
            // when rseq_cs is non-zero"): a set rseq_cs is cleared now,
            // and an area it cannot read or clear is EFAULT
            let at = linux_abi::args::UserPtr::<u64>::new(addr + abi::OFF_RSEQ_CS);
            if t.read(at)? != 0 {
                t.write(at, 0)?;
            }
            t.rseq = Some(Rseq { reg, seen: t.cpu.rseq_events(), events: 0, due: true });
        }
        SysRseq::Unregister => {
            // rseq_reset_rseq_cpu_id: EFAULT keeps the registration
            let mut w = [0u8; 8];
            w[4..].copy_from_slice(&abi::CPU_ID_UNINITIALIZED.to_ne_bytes());
            t.write_slice(addr + abi::OFF_CPU_ID_START, &w)?;
            t.rseq = None;
        }
    }
    let reg = t.rseq.map(|r| r.reg);
    crate::proc::table().with_thread(t.tid, |th| th.ext_mut().rseq = reg);
    Ok(0)
}

/// exec: the new program starts unregistered (Linux's `rseq_execve`; the
/// record's copy is cleared by `ThreadExt::exec`).
pub fn exec(t: &mut UThread) {
    t.rseq = None;
}

/// The way back to user mode of a registered thread (Linux's
/// `rseq_handle_notify_resume`): when it was switched away from since the
/// last look, or a look is owed, the critical section is aborted if the
/// thread is inside one and the CPU number written. A failure is
/// `force_sigsegv(0)`. Loops until no switch came meanwhile (a fault on
/// the area may sleep), as Linux's exit loop does while the flag is set.
pub fn resume(t: &mut UThread) -> Flow {
    loop {
        let Some(r) = t.rseq.as_mut() else { return Flow::Continue };
        let n = t.cpu.rseq_events();
        if n == r.seen && !r.due {
            return Flow::Continue;
        }
        if n != r.seen {
            r.events |= abi::EVENT_PREEMPT;
        }
        r.seen = n;
        r.due = false;
        if notify(t).is_err() {
            let flow = crate::uthread::force_sigsegv(t, None);
            if flow == Flow::Exit {
                return flow;
            }
        }
    }
}

/// A signal's delivery to a registered thread (`rseq_signal_deliver`),
/// before its frame is built from the registers: the interrupted section
/// is aborted (the frame then holds `abort_ip`) and the CPU number
/// written. `Err` is for the caller's `force_sigsegv(sig)`.
pub fn signal_deliver(t: &mut UThread) -> Result<()> {
    let Some(r) = t.rseq.as_mut() else { return Ok(()) };
    r.events |= abi::EVENT_SIGNAL;
    notify(t)
}

/// `__rseq_handle_notify_resume` with the registers: the fix-up, then the
/// CPU number.
fn notify(t: &mut UThread) -> Result<()> {
    let Some(r) = t.rseq else { return Ok(()) };
    let base = r.reg.addr;
    let ip = t.ctx.regs.rip;
    let cpu = crate::sched::current_cpu() as u32;
    let mut vm = t.vm.lock();
    let mut c = vm.user_copies();
    // rseq_get_rseq_cs
    let mut w = [0u8; 8];
    c.read((base + abi::OFF_RSEQ_CS) as usize, &mut w)?;
    let ptr = u64::from_ne_bytes(w);
    let cs = if ptr == 0 {
        CsDescriptor::default()
    } else {
        abi::check_cs_pointer(ptr)?;
        if !access_ok(ptr, abi::CS_SIZE) {
            return Err(Errno::EFAULT);
        }
        let mut b = [0u8; abi::CS_SIZE];
        c.read(ptr as usize, &mut b)?;
        let cs = CsDescriptor::from_bytes(&b);
        let sig_at = cs.check()?;
        if !access_ok(sig_at, 4) {
            return Err(Errno::EFAULT);
        }
        let mut s = [0u8; 4];
        c.read(sig_at as usize, &mut s)?;
        if u32::from_ne_bytes(s) != r.reg.sig {
            log::warn!(
                "pid {} tid {}: rseq: abort signature {:#x} at {sig_at:#x}, registered {:#x}",
                t.pid,
                t.tid,
                u32::from_ne_bytes(s),
                r.reg.sig
            );
            return Err(Errno::EINVAL);
        }
        cs
    };
    // rseq_ip_fixup: outside the section the pointer is cleared
    let clear = (base + abi::OFF_RSEQ_CS) as usize;
    if !cs.contains(ip) {
        c.write(clear, &0u64.to_ne_bytes())?;
    } else {
        let mut f = [0u8; 4];
        c.read((base + abi::OFF_FLAGS) as usize, &mut f)?;
        let restart = abi::need_restart(cs.flags, u32::from_ne_bytes(f), r.events)?;
        if let Some(s) = t.rseq.as_mut() {
            s.events = 0;
        }
        if restart {
            c.write(clear, &0u64.to_ne_bytes())?;
            t.ctx.regs.rip = cs.abort_ip;
        }
    }
    // rseq_update_cpu_id: cpu_id_start and cpu_id
    let mut ids = [0u8; 8];
    ids[..4].copy_from_slice(&cpu.to_ne_bytes());
    ids[4..].copy_from_slice(&cpu.to_ne_bytes());
    c.write((base + abi::OFF_CPU_ID_START) as usize, &ids)
}

/// membarrier(2)'s `MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ` (Linux's
/// `ipi_rseq` on every CPU running the process): each thread of the
/// process gets a kick (its next way out looks, as after a switch), then
/// the CPUs that have the address space loaded are made to leave user
/// mode and acknowledge (a shootdown IPI of an empty range, waited for):
/// when this returns, no thread of the process runs user code that has
/// not been through the look.
pub fn membarrier_rseq(t: &UThread) {
    crate::proc::table().each_thread_cpu(t.pid, |c| c.kick());
    arch_x86_64::smp::shootdown_range(arch_x86_64::smp::Why::Membarrier, t.root, Some((0, 0)));
}
