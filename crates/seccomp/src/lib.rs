//! seccomp(2)'s filters as Linux 6.1 has them (kernel/seccomp.c), without
//! the kernel around them: the classic-BPF programs seccomp accepts
//! ([`bpf::prepare`]: `bpf_check_classic()` and `seccomp_check_filter()`),
//! their interpreter over `struct seccomp_data` ([`Data`]), the chain of
//! filters a thread carries ([`Filter`]: each points at the one installed
//! before it, shared by reference with the threads and children that
//! inherited it) with Linux's limit on its length, and the actions'
//! precedence ([`Filter::run`]: every filter runs, the action of highest
//! precedence wins, its data from the newest filter that returned it).
//!
//! The kernel owns the rest: where a thread keeps its [`State`], the
//! `no_new_privs` rule, the entry hook that calls [`Filter::run`], and
//! what each [`Action`] does to the call.
//!
//! ```
//! use seccomp::bpf::{Insn, LD, W, ABS, JMP, JEQ, K, RET};
//! use seccomp::{Action, Data, Filter, RET_ALLOW, RET_ERRNO};
//! // getpid (39) fails with EPERM (1), everything else runs
//! let mut prog = [
//!     Insn::new(LD | W | ABS, 0, 0, 0),      // A = nr
//!     Insn::new(JMP | JEQ | K, 0, 1, 39),
//!     Insn::new(RET | K, 0, 0, RET_ERRNO | 1),
//!     Insn::new(RET | K, 0, 0, RET_ALLOW),
//! ];
//! seccomp::bpf::prepare(&mut prog).unwrap();
//! let f = Filter::attach(None, prog.to_vec(), false).unwrap();
//! let d = Data::x86_64(39, 0x401000, [0; 6]);
//! assert_eq!(Action::of(f.run(&d).0), (Action::Errno, 1));
//! assert_eq!(Action::of(f.run(&Data::x86_64(1, 0, [0; 6])).0), (Action::Allow, 0));
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod bpf;

use alloc::sync::Arc;
use alloc::vec::Vec;
use bpf::Insn;
use linux_abi::{Errno, Result};

/// `SECCOMP_MODE_DISABLED`.
pub const MODE_DISABLED: u8 = 0;
/// `SECCOMP_MODE_STRICT`.
pub const MODE_STRICT: u8 = 1;
/// `SECCOMP_MODE_FILTER`.
pub const MODE_FILTER: u8 = 2;

/// seccomp(2)'s operations: `SECCOMP_SET_MODE_STRICT`.
pub const SET_MODE_STRICT: u32 = 0;
/// `SECCOMP_SET_MODE_FILTER`.
pub const SET_MODE_FILTER: u32 = 1;
/// `SECCOMP_GET_ACTION_AVAIL`.
pub const GET_ACTION_AVAIL: u32 = 2;
/// `SECCOMP_GET_NOTIF_SIZES`.
pub const GET_NOTIF_SIZES: u32 = 3;

/// `SECCOMP_FILTER_FLAG_TSYNC`.
pub const FLAG_TSYNC: u32 = 1;
/// `SECCOMP_FILTER_FLAG_LOG`.
pub const FLAG_LOG: u32 = 2;
/// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`.
pub const FLAG_SPEC_ALLOW: u32 = 4;
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`.
pub const FLAG_NEW_LISTENER: u32 = 8;
/// `SECCOMP_FILTER_FLAG_TSYNC_ESRCH`.
pub const FLAG_TSYNC_ESRCH: u32 = 16;
/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`.
pub const FLAG_WAIT_KILLABLE_RECV: u32 = 32;
/// `SECCOMP_FILTER_FLAG_MASK`: every flag Linux 6.1 knows.
pub const FLAG_MASK: u32 =
    FLAG_TSYNC | FLAG_LOG | FLAG_SPEC_ALLOW | FLAG_NEW_LISTENER | FLAG_TSYNC_ESRCH | FLAG_WAIT_KILLABLE_RECV;

/// `SECCOMP_RET_KILL_PROCESS`.
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
/// `SECCOMP_RET_KILL_THREAD` (also `SECCOMP_RET_KILL`).
pub const RET_KILL_THREAD: u32 = 0;
/// `SECCOMP_RET_TRAP`.
pub const RET_TRAP: u32 = 0x0003_0000;
/// `SECCOMP_RET_ERRNO`.
pub const RET_ERRNO: u32 = 0x0005_0000;
/// `SECCOMP_RET_USER_NOTIF`.
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// `SECCOMP_RET_TRACE`.
pub const RET_TRACE: u32 = 0x7ff0_0000;
/// `SECCOMP_RET_LOG`.
pub const RET_LOG: u32 = 0x7ffc_0000;
/// `SECCOMP_RET_ALLOW`.
pub const RET_ALLOW: u32 = 0x7fff_0000;
/// `SECCOMP_RET_ACTION_FULL`.
pub const RET_ACTION_FULL: u32 = 0xffff_0000;
/// `SECCOMP_RET_DATA`.
pub const RET_DATA: u32 = 0x0000_ffff;

/// `AUDIT_ARCH_X86_64`.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `__X32_SYSCALL_BIT`.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// `MAX_INSNS_PER_PATH`: a chain's instructions (as translated to eBPF:
/// [`bpf::linux_len`]), each earlier filter counted with 4 more ((1 << 18) / `sizeof(struct sock_filter)`).
pub const MAX_INSNS_PER_PATH: u32 = (1 << 18) / bpf::Insn::SIZE as u32;
/// What each earlier filter adds to a chain's count (Linux's "4 instr
/// penalty").
pub const FILTER_PENALTY: u32 = 4;
/// `struct seccomp_notif_sizes` of Linux 6.1 x86_64: `seccomp_notif`,
/// `seccomp_notif_resp`, `seccomp_data`.
pub const NOTIF_SIZES: [u16; 3] = [80, 24, 64];
/// The largest errno `SECCOMP_RET_ERRNO` passes (`MAX_ERRNO`).
pub const MAX_ERRNO: u32 = 4095;

/// What a filter's return asks for, by precedence (highest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// `SECCOMP_RET_KILL_PROCESS` (and every action value Linux does not
    /// know: its default case kills the process).
    KillProcess,
    /// `SECCOMP_RET_KILL_THREAD`.
    KillThread,
    /// `SECCOMP_RET_TRAP`: SIGSYS, the call not run.
    Trap,
    /// `SECCOMP_RET_ERRNO`: the call fails with the data (at most 4095).
    Errno,
    /// `SECCOMP_RET_USER_NOTIF`: a listener decides (ENOSYS without one).
    UserNotif,
    /// `SECCOMP_RET_TRACE`: a ptrace stop (ENOSYS without a tracer).
    Trace,
    /// `SECCOMP_RET_LOG`: logged, then run.
    Log,
    /// `SECCOMP_RET_ALLOW`.
    Allow,
}

impl Action {
    /// The action of a filter's return value and its 16 bits of data.
    pub fn of(ret: u32) -> (Action, u16) {
        let data = (ret & RET_DATA) as u16;
        let a = match ret & RET_ACTION_FULL {
            RET_KILL_PROCESS => Action::KillProcess,
            RET_KILL_THREAD => Action::KillThread,
            RET_TRAP => Action::Trap,
            RET_ERRNO => Action::Errno,
            RET_USER_NOTIF => Action::UserNotif,
            RET_TRACE => Action::Trace,
            RET_LOG => Action::Log,
            RET_ALLOW => Action::Allow,
            _ => Action::KillProcess,
        };
        (a, data)
    }

    /// `seccomp_get_action_avail()`: whether `ret` (an action with no
    /// data) is one this kernel knows (EOPNOTSUPP otherwise).
    pub fn available(ret: u32) -> Result<()> {
        match ret {
            RET_KILL_PROCESS | RET_KILL_THREAD | RET_TRAP | RET_ERRNO | RET_USER_NOTIF | RET_TRACE
            | RET_LOG | RET_ALLOW => Ok(()),
            _ => Err(Errno::EOPNOTSUPP),
        }
    }
}

/// Linux's `ACTION_ONLY()`: the action bits compared as a signed value
/// (KILL_PROCESS, negative, comes first; a smaller value wins).
fn action_only(ret: u32) -> i32 {
    (ret & RET_ACTION_FULL) as i32
}

/// `struct seccomp_data`: what a filter reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Data {
    /// The system call number (`int`).
    pub nr: i32,
    /// `AUDIT_ARCH_*`.
    pub arch: u32,
    /// The address after the system call instruction.
    pub instruction_pointer: u64,
    /// The six arguments.
    pub args: [u64; 6],
}

impl Data {
    /// An x86_64 call's data: `nr` is `orig_rax`'s low 32 bits (an x32
    /// call keeps its bit 30, the arch is x86_64's all the same).
    pub fn x86_64(nr: u64, ip: u64, args: [u64; 6]) -> Data {
        Data { nr: nr as u32 as i32, arch: AUDIT_ARCH_X86_64, instruction_pointer: ip, args }
    }

    /// The 16 little-endian words a program loads from.
    pub fn words(&self) -> [u32; 16] {
        let mut w = [0u32; 16];
        w[0] = self.nr as u32;
        w[1] = self.arch;
        w[2] = self.instruction_pointer as u32;
        w[3] = (self.instruction_pointer >> 32) as u32;
        for (i, a) in self.args.iter().enumerate() {
            w[4 + 2 * i] = *a as u32;
            w[5 + 2 * i] = (*a >> 32) as u32;
        }
        w
    }
}

/// One attached filter: its checked program and the filter installed
/// before it (shared: every thread and child that inherited the chain
/// points at the same nodes).
#[derive(Debug)]
pub struct Filter {
    prog: Vec<Insn>,
    prev: Option<Arc<Filter>>,
    log: bool,
    /// This chain's instructions as Linux counts them for the next
    /// attach: each filter's translated length ([`bpf::linux_len`]) plus 4.
    total: u32,
    /// The filters in this chain (`Seccomp_filters:`).
    count: u32,
}

impl Filter {
    /// `seccomp_attach_filter()`'s length rule and the new chain head:
    /// `prog` (already [`bpf::prepare`]d, moved in: no copy, so a kernel
    /// may call this under its lock) on top of `prev`; ENOMEM when the
    /// chain would pass [`MAX_INSNS_PER_PATH`], EINVAL for an empty or
    /// too long program.
    pub fn attach(prev: Option<&Arc<Filter>>, prog: Vec<Insn>, log: bool) -> Result<Arc<Filter>> {
        if prog.is_empty() || prog.len() > bpf::MAXINSNS {
            return Err(Errno::EINVAL);
        }
        let len = bpf::linux_len(&prog);
        let before = prev.map_or(0, |p| p.total);
        if len + before > MAX_INSNS_PER_PATH {
            return Err(Errno::ENOMEM);
        }
        Ok(Arc::new(Filter {
            prog,
            prev: prev.cloned(),
            log,
            total: before + len + FILTER_PENALTY,
            count: prev.map_or(0, |p| p.count) + 1,
        }))
    }

    /// The filter installed before this one.
    pub fn prev(&self) -> Option<&Arc<Filter>> {
        self.prev.as_ref()
    }

    /// The program.
    pub fn prog(&self) -> &[Insn] {
        &self.prog
    }

    /// Whether it was attached with `SECCOMP_FILTER_FLAG_LOG`.
    pub fn log(&self) -> bool {
        self.log
    }

    /// The number of filters in the chain this one heads.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// `seccomp_run_filters()`: runs every filter of the chain, newest
    /// first; the return of highest precedence wins, from the first
    /// (newest) filter that returned it. Returns it and that filter.
    pub fn run<'a>(self: &'a Arc<Filter>, d: &Data) -> (u32, &'a Filter) {
        let words = d.words();
        let mut ret = RET_ALLOW;
        let mut matched: &Filter = self;
        let mut f: Option<&Filter> = Some(self);
        while let Some(cur) = f {
            let r = bpf::run(&cur.prog, &words);
            if action_only(r) < action_only(ret) {
                ret = r;
                matched = cur;
            }
            f = cur.prev.as_deref();
        }
        (ret, matched)
    }

    /// `is_ancestor(self, child)`: whether this filter is in `child`'s
    /// chain (TSYNC may replace a thread's chain only by one that
    /// extends it).
    pub fn is_ancestor_of(self: &Arc<Filter>, child: &Arc<Filter>) -> bool {
        let mut f: Option<&Arc<Filter>> = Some(child);
        while let Some(c) = f {
            if Arc::ptr_eq(c, self) {
                return true;
            }
            f = c.prev.as_ref();
        }
        false
    }
}

impl Drop for Filter {
    /// A chain goes one filter after another (a recursive drop of
    /// thousands of filters would take as many stack frames).
    fn drop(&mut self) {
        let mut next = self.prev.take();
        while let Some(a) = next {
            match Arc::into_inner(a) {
                Some(mut f) => next = f.prev.take(),
                None => break,
            }
        }
    }
}

/// A thread's seccomp state (`struct seccomp`): its mode and its chain.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// [`MODE_DISABLED`], [`MODE_STRICT`] or [`MODE_FILTER`].
    pub mode: u8,
    /// The newest filter (filter mode).
    pub filter: Option<Arc<Filter>>,
}

impl State {
    /// The number of filters (`Seccomp_filters:`).
    pub fn filters(&self) -> u32 {
        self.filter.as_ref().map_or(0, |f| f.count())
    }

    /// `seccomp_may_assign_mode()`: a thread in one mode cannot enter
    /// the other (EINVAL).
    pub fn may_assign(&self, mode: u8) -> bool {
        self.mode == MODE_DISABLED || self.mode == mode
    }

    /// Whether TSYNC may give this thread `caller`'s chain
    /// (`seccomp_can_sync_threads()`): no seccomp yet, or a chain that
    /// `caller`'s extends.
    pub fn can_sync_to(&self, caller: Option<&Arc<Filter>>) -> bool {
        match (self.mode, &self.filter) {
            (MODE_DISABLED, _) => true,
            (MODE_FILTER, None) => true,
            (MODE_FILTER, Some(mine)) => caller.is_some_and(|c| mine.is_ancestor_of(c)),
            _ => false,
        }
    }

    /// Whether two states hold the same chain and mode.
    pub fn same(&self, other: &State) -> bool {
        self.mode == other.mode
            && match (&self.filter, &other.filter) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

/// Strict mode's calls (`mode1_syscalls`): read, write, exit and
/// rt_sigreturn (x86_64 numbers); anything else kills the thread.
pub fn strict_allowed(nr: u64) -> bool {
    matches!(nr, 0 | 1 | 60 | 15)
}

/// The filter flags' own rules before the program is looked at
/// (`seccomp_set_mode_filter()`): unknown flags, TSYNC with
/// NEW_LISTENER unless TSYNC_ESRCH, WAIT_KILLABLE_RECV without
/// NEW_LISTENER: EINVAL.
pub fn check_flags(flags: u32) -> Result<()> {
    if flags & !FLAG_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & FLAG_TSYNC != 0 && flags & FLAG_NEW_LISTENER != 0 && flags & FLAG_TSYNC_ESRCH == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & FLAG_WAIT_KILLABLE_RECV != 0 && flags & FLAG_NEW_LISTENER == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}
