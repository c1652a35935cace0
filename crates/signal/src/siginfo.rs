//! `siginfo_t`: what a handler with `SA_SIGINFO` learns about its signal.
//!
//! [`SigInfo`] is the Rust form; [`SigInfo::to_bytes`] and
//! [`SigInfo::from_bytes`] convert to and from the 128-byte Linux x86_64
//! `siginfo_t`, with the offsets of `include/uapi/asm-generic/siginfo.h`
//! (checked at compile time against a `#[repr(C)]` mirror of that header).
//! Which member of the `_sifields` union is meaningful depends on
//! `si_signo` and `si_code`, decided as Linux's `siginfo_layout()` does.

use linux_abi::{Errno, Result};

use crate::signum::{SIGBUS, SIGCHLD, SIGFPE, SIGILL, SIGSEGV, SIGSYS, SIGTRAP, SigNum};

/// The size of `siginfo_t` (`SI_MAX_SIZE`).
pub const SIGINFO_SIZE: usize = 128;

/// `si_code` values (include/uapi/asm-generic/siginfo.h).
pub mod code {
    /// Sent by kill(2) or raise(3).
    pub const SI_USER: i32 = 0;
    /// Sent by the kernel.
    pub const SI_KERNEL: i32 = 0x80;
    /// Sent by sigqueue(3).
    pub const SI_QUEUE: i32 = -1;
    /// A POSIX timer expired.
    pub const SI_TIMER: i32 = -2;
    /// A POSIX message queue state changed.
    pub const SI_MESGQ: i32 = -3;
    /// AIO completed.
    pub const SI_ASYNCIO: i32 = -4;
    /// Queued SIGIO.
    pub const SI_SIGIO: i32 = -5;
    /// Sent by tkill(2) or tgkill(2).
    pub const SI_TKILL: i32 = -6;
    /// Sent by execve(2) killing subsidiary threads.
    pub const SI_DETHREAD: i32 = -7;
    /// Sent by glibc's async name lookup completion.
    pub const SI_ASYNCNL: i32 = -60;

    /// SIGILL: illegal opcode.
    pub const ILL_ILLOPC: i32 = 1;
    /// SIGILL: illegal operand.
    pub const ILL_ILLOPN: i32 = 2;
    /// SIGILL: illegal addressing mode.
    pub const ILL_ILLADR: i32 = 3;
    /// SIGILL: illegal trap.
    pub const ILL_ILLTRP: i32 = 4;
    /// SIGILL: privileged opcode.
    pub const ILL_PRVOPC: i32 = 5;
    /// SIGILL: privileged register.
    pub const ILL_PRVREG: i32 = 6;
    /// SIGILL: coprocessor error.
    pub const ILL_COPROC: i32 = 7;
    /// SIGILL: internal stack error.
    pub const ILL_BADSTK: i32 = 8;

    /// SIGFPE: integer divide by zero.
    pub const FPE_INTDIV: i32 = 1;
    /// SIGFPE: integer overflow.
    pub const FPE_INTOVF: i32 = 2;
    /// SIGFPE: floating-point divide by zero.
    pub const FPE_FLTDIV: i32 = 3;
    /// SIGFPE: floating-point overflow.
    pub const FPE_FLTOVF: i32 = 4;
    /// SIGFPE: floating-point underflow.
    pub const FPE_FLTUND: i32 = 5;
    /// SIGFPE: floating-point inexact result.
    pub const FPE_FLTRES: i32 = 6;
    /// SIGFPE: floating-point invalid operation.
    pub const FPE_FLTINV: i32 = 7;
    /// SIGFPE: subscript out of range.
    pub const FPE_FLTSUB: i32 = 8;

    /// SIGSEGV: address not mapped.
    pub const SEGV_MAPERR: i32 = 1;
    /// SIGSEGV: invalid permissions for a mapped object.
    pub const SEGV_ACCERR: i32 = 2;
    /// SIGSEGV: failed address bound checks.
    pub const SEGV_BNDERR: i32 = 3;
    /// SIGSEGV: failed protection key checks.
    pub const SEGV_PKUERR: i32 = 4;

    /// SIGBUS: invalid address alignment.
    pub const BUS_ADRALN: i32 = 1;
    /// SIGBUS: nonexistent physical address.
    pub const BUS_ADRERR: i32 = 2;
    /// SIGBUS: object-specific hardware error.
    pub const BUS_OBJERR: i32 = 3;
    /// SIGBUS: hardware memory error consumed on a machine check.
    pub const BUS_MCEERR_AR: i32 = 4;
    /// SIGBUS: hardware memory error detected, action optional.
    pub const BUS_MCEERR_AO: i32 = 5;

    /// SIGTRAP: process breakpoint.
    pub const TRAP_BRKPT: i32 = 1;
    /// SIGTRAP: process trace trap.
    pub const TRAP_TRACE: i32 = 2;
    /// SIGTRAP: process taken branch trap.
    pub const TRAP_BRANCH: i32 = 3;
    /// SIGTRAP: hardware breakpoint or watchpoint.
    pub const TRAP_HWBKPT: i32 = 4;
    /// SIGTRAP: undiagnosed trap.
    pub const TRAP_UNK: i32 = 5;
    /// SIGTRAP: perf event with sigtrap=1.
    pub const TRAP_PERF: i32 = 6;

    /// SIGCHLD: child has exited.
    pub const CLD_EXITED: i32 = 1;
    /// SIGCHLD: child was killed.
    pub const CLD_KILLED: i32 = 2;
    /// SIGCHLD: child terminated abnormally (dumped core).
    pub const CLD_DUMPED: i32 = 3;
    /// SIGCHLD: traced child has trapped.
    pub const CLD_TRAPPED: i32 = 4;
    /// SIGCHLD: child has stopped.
    pub const CLD_STOPPED: i32 = 5;
    /// SIGCHLD: stopped child has continued.
    pub const CLD_CONTINUED: i32 = 6;

    /// SIGIO/SIGPOLL: data input available.
    pub const POLL_IN: i32 = 1;
    /// SIGIO/SIGPOLL: output buffers available.
    pub const POLL_OUT: i32 = 2;
    /// SIGIO/SIGPOLL: input message available.
    pub const POLL_MSG: i32 = 3;
    /// SIGIO/SIGPOLL: I/O error.
    pub const POLL_ERR: i32 = 4;
    /// SIGIO/SIGPOLL: high priority input available.
    pub const POLL_PRI: i32 = 5;
    /// SIGIO/SIGPOLL: device disconnected.
    pub const POLL_HUP: i32 = 6;

    /// SIGSYS: seccomp triggered.
    pub const SYS_SECCOMP: i32 = 1;
    /// SIGSYS: syscall user dispatch triggered.
    pub const SYS_USER_DISPATCH: i32 = 2;
}

use code::*;

/// The member of the `_sifields` union a siginfo uses, with its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigFields {
    /// `_kill`: kill(2), and `SI_USER`/`SI_KERNEL` of any signal.
    Kill {
        /// Sender's pid.
        pid: i32,
        /// Sender's real uid.
        uid: u32,
    },
    /// `_timer`: POSIX timers (`SI_TIMER`).
    Timer {
        /// Timer id.
        tid: i32,
        /// Overrun count.
        overrun: i32,
        /// `sigval` given when the timer was created.
        value: u64,
    },
    /// `_rt`: sigqueue(3), tgkill(2) and other negative codes.
    Rt {
        /// Sender's pid.
        pid: i32,
        /// Sender's real uid.
        uid: u32,
        /// The `sigval` (`si_int`/`si_ptr`).
        value: u64,
    },
    /// `_sigchld`.
    Child {
        /// The child's pid.
        pid: i32,
        /// The child's real uid.
        uid: u32,
        /// Exit code, or the signal that killed, stopped or continued it.
        status: i32,
        /// User time consumed, in clock ticks.
        utime: i64,
        /// System time consumed, in clock ticks.
        stime: i64,
    },
    /// `_sigfault`: SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP with a fault code.
    Fault {
        /// The faulting address (`si_addr`).
        addr: u64,
    },
    /// `_sigfault` of SIGBUS `BUS_MCEERR_AR`/`BUS_MCEERR_AO`.
    McErr {
        /// The faulting address.
        addr: u64,
        /// Least significant bit of the reported address (`si_addr_lsb`).
        addr_lsb: i16,
    },
    /// `_sigfault` of SIGSEGV `SEGV_BNDERR`.
    BndErr {
        /// The faulting address.
        addr: u64,
        /// Lower bound (`si_lower`).
        lower: u64,
        /// Upper bound (`si_upper`).
        upper: u64,
    },
    /// `_sigfault` of SIGSEGV `SEGV_PKUERR`.
    PkuErr {
        /// The faulting address.
        addr: u64,
        /// The protection key (`si_pkey`).
        pkey: u32,
    },
    /// `_sigfault` of SIGTRAP `TRAP_PERF`.
    Perf {
        /// The faulting address.
        addr: u64,
        /// `si_perf_data`.
        data: u64,
        /// `si_perf_type`.
        perf_type: u32,
        /// `si_perf_flags`.
        flags: u32,
    },
    /// `_sigpoll`.
    Poll {
        /// `si_band`.
        band: i64,
        /// `si_fd`.
        fd: i32,
    },
    /// `_sigsys`: seccomp and syscall user dispatch.
    Sys {
        /// Address of the calling instruction (`si_call_addr`).
        call_addr: u64,
        /// The system call number (`si_syscall`).
        syscall: i32,
        /// `AUDIT_ARCH_*` of the call (`si_arch`).
        arch: u32,
    },
}

/// A siginfo: Linux's `kernel_siginfo`, made by its constructors
/// ([`SigInfo::kernel`], [`SigInfo::user`], [`SigInfo::child`], ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SigInfo {
    /// `si_signo`.
    pub signo: SigNum,
    /// `si_errno`.
    pub errno: i32,
    /// `si_code`: who sent the signal, or why (see [`code`]).
    pub code: i32,
    /// The `_sifields` union member and its values.
    pub fields: SigFields,
}

// Byte offsets in the x86_64 siginfo_t.
const OFF_SIGNO: usize = 0;
const OFF_ERRNO: usize = 4;
const OFF_CODE: usize = 8;
const OFF_FIELDS: usize = 16;
const OFF_PID: usize = 16;
const OFF_UID: usize = 20;
const OFF_TID: usize = 16;
const OFF_OVERRUN: usize = 20;
const OFF_VALUE: usize = 24;
const OFF_STATUS: usize = 24;
const OFF_UTIME: usize = 32;
const OFF_STIME: usize = 40;
const OFF_ADDR: usize = 16;
const OFF_ADDR_LSB: usize = 24;
const OFF_LOWER: usize = 32;
const OFF_UPPER: usize = 40;
const OFF_PKEY: usize = 32;
const OFF_PERF_DATA: usize = 24;
const OFF_PERF_TYPE: usize = 32;
const OFF_PERF_FLAGS: usize = 36;
const OFF_BAND: usize = 16;
const OFF_FD: usize = 24;
const OFF_CALL_ADDR: usize = 16;
const OFF_SYSCALL: usize = 24;
const OFF_ARCH: usize = 28;

/// A `#[repr(C)]` transcription of the x86_64 `siginfo_t` of
/// include/uapi/asm-generic/siginfo.h, only to check the offsets above at
/// compile time. Never read.
#[allow(dead_code)]
mod c_layout {
    use core::ffi::{c_int, c_long, c_short, c_uint, c_ulong, c_void};
    type Ptr = *mut c_void;
    type ClockT = c_long;

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct SigInfo {
        pub si_signo: c_int,
        pub si_errno: c_int,
        pub si_code: c_int,
        pub sifields: SiFields,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub union SigVal {
        pub sival_int: c_int,
        pub sival_ptr: Ptr,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub union SiFields {
        pub kill: Kill,
        pub timer: Timer,
        pub rt: Rt,
        pub sigchld: SigChld,
        pub sigfault: SigFault,
        pub sigpoll: SigPoll,
        pub sigsys: SigSys,
        pub pad: [c_int; (128 - 4 * 4) / 4],
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct Kill {
        pub pid: c_int,
        pub uid: c_uint,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct Timer {
        pub tid: c_int,
        pub overrun: c_int,
        pub sigval: SigVal,
        pub sys_private: c_int,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct Rt {
        pub pid: c_int,
        pub uid: c_uint,
        pub sigval: SigVal,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct SigChld {
        pub pid: c_int,
        pub uid: c_uint,
        pub status: c_int,
        pub utime: ClockT,
        pub stime: ClockT,
    }

    // __ADDR_BND_PKEY_PAD: alignof(void *) when larger than sizeof(short).
    const PAD: usize =
        if align_of::<Ptr>() < size_of::<c_short>() { size_of::<c_short>() } else { align_of::<Ptr>() };

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct AddrBnd {
        pub dummy_bnd: [u8; PAD],
        pub lower: Ptr,
        pub upper: Ptr,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct AddrPkey {
        pub dummy_pkey: [u8; PAD],
        pub pkey: u32,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct Perf {
        pub data: c_ulong,
        pub perf_type: u32,
        pub flags: u32,
    }

    // x86 has no __ARCH_SI_TRAPNO.
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub union FaultDetail {
        pub addr_lsb: c_short,
        pub addr_bnd: AddrBnd,
        pub addr_pkey: AddrPkey,
        pub perf: Perf,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct SigFault {
        pub addr: Ptr,
        pub detail: FaultDetail,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct SigPoll {
        pub band: c_long,
        pub fd: c_int,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct SigSys {
        pub call_addr: Ptr,
        pub syscall: c_int,
        pub arch: c_uint,
    }
}

// The layout checks: only meaningful for the 64-bit ABI this kernel serves.
#[cfg(target_pointer_width = "64")]
mod layout_checks {
    use super::c_layout::{AddrBnd, AddrPkey, Kill, Perf, Rt, SigChld, SigFault, SigPoll, SigSys, Timer};
    use super::*;
    use core::mem::offset_of;
    use static_assertions::{assert_eq_size, const_assert_eq};

    assert_eq_size!(super::c_layout::SigInfo, [u8; SIGINFO_SIZE]);
    const F: usize = offset_of!(super::c_layout::SigInfo, sifields);
    const_assert_eq!(offset_of!(super::c_layout::SigInfo, si_signo), OFF_SIGNO);
    const_assert_eq!(offset_of!(super::c_layout::SigInfo, si_errno), OFF_ERRNO);
    const_assert_eq!(offset_of!(super::c_layout::SigInfo, si_code), OFF_CODE);
    const_assert_eq!(F, OFF_FIELDS);
    const_assert_eq!(F + offset_of!(Kill, pid), OFF_PID);
    const_assert_eq!(F + offset_of!(Kill, uid), OFF_UID);
    const_assert_eq!(F + offset_of!(Rt, pid), OFF_PID);
    const_assert_eq!(F + offset_of!(Rt, uid), OFF_UID);
    const_assert_eq!(F + offset_of!(Rt, sigval), OFF_VALUE);
    const_assert_eq!(F + offset_of!(Timer, tid), OFF_TID);
    const_assert_eq!(F + offset_of!(Timer, overrun), OFF_OVERRUN);
    const_assert_eq!(F + offset_of!(Timer, sigval), OFF_VALUE);
    const_assert_eq!(F + offset_of!(SigChld, pid), OFF_PID);
    const_assert_eq!(F + offset_of!(SigChld, status), OFF_STATUS);
    const_assert_eq!(F + offset_of!(SigChld, utime), OFF_UTIME);
    const_assert_eq!(F + offset_of!(SigChld, stime), OFF_STIME);
    const D: usize = F + offset_of!(SigFault, detail);
    const_assert_eq!(F + offset_of!(SigFault, addr), OFF_ADDR);
    const_assert_eq!(D, OFF_ADDR_LSB);
    const_assert_eq!(D + offset_of!(AddrBnd, lower), OFF_LOWER);
    const_assert_eq!(D + offset_of!(AddrBnd, upper), OFF_UPPER);
    const_assert_eq!(D + offset_of!(AddrPkey, pkey), OFF_PKEY);
    const_assert_eq!(D + offset_of!(Perf, data), OFF_PERF_DATA);
    const_assert_eq!(D + offset_of!(Perf, perf_type), OFF_PERF_TYPE);
    const_assert_eq!(D + offset_of!(Perf, flags), OFF_PERF_FLAGS);
    const_assert_eq!(F + offset_of!(SigPoll, band), OFF_BAND);
    const_assert_eq!(F + offset_of!(SigPoll, fd), OFF_FD);
    const_assert_eq!(F + offset_of!(SigSys, call_addr), OFF_CALL_ADDR);
    const_assert_eq!(F + offset_of!(SigSys, syscall), OFF_SYSCALL);
    const_assert_eq!(F + offset_of!(SigSys, arch), OFF_ARCH);
}

/// Linux's `enum siginfo_layout` (without the SPARC/Alpha trapno cases).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Kill,
    Timer,
    Poll,
    Fault,
    FaultMceErr,
    FaultBndErr,
    FaultPkuErr,
    FaultPerf,
    Chld,
    Rt,
    Sys,
}

/// The highest signal-specific `si_code` of `sig` (`NSIGILL`, ...), and the
/// union member those codes use; 0 for signals without specific codes.
fn sig_sicodes(sig: SigNum) -> (i32, Layout) {
    match sig {
        SIGILL => (11, Layout::Fault),
        SIGFPE => (15, Layout::Fault),
        SIGSEGV => (10, Layout::Fault),
        SIGBUS => (5, Layout::Fault),
        SIGTRAP => (6, Layout::Fault),
        SIGCHLD => (6, Layout::Chld),
        SIGSYS => (2, Layout::Sys),
        _ => (0, Layout::Kill),
    }
}

/// `NSIGPOLL`.
const NSIGPOLL: i32 = 6;

/// kernel/signal.c `siginfo_layout()`.
fn layout(sig: SigNum, si_code: i32) -> Layout {
    if si_code > SI_USER && si_code < SI_KERNEL {
        let (limit, specific) = sig_sicodes(sig);
        if si_code <= limit {
            if sig == SIGBUS && (BUS_MCEERR_AR..=BUS_MCEERR_AO).contains(&si_code) {
                Layout::FaultMceErr
            } else if sig == SIGSEGV && si_code == SEGV_BNDERR {
                Layout::FaultBndErr
            } else if sig == SIGSEGV && si_code == SEGV_PKUERR {
                Layout::FaultPkuErr
            } else if sig == SIGTRAP && si_code == TRAP_PERF {
                Layout::FaultPerf
            } else {
                specific
            }
        } else if si_code <= NSIGPOLL {
            Layout::Poll
        } else {
            Layout::Kill
        }
    } else if si_code == SI_TIMER {
        Layout::Timer
    } else if si_code == SI_SIGIO {
        Layout::Poll
    } else if si_code < 0 {
        Layout::Rt
    } else {
        Layout::Kill
    }
}

fn put(buf: &mut [u8; SIGINFO_SIZE], off: usize, bytes: &[u8]) {
    if let Some(dst) = buf.get_mut(off..off + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

fn get<const N: usize>(buf: &[u8; SIGINFO_SIZE], off: usize) -> [u8; N] {
    let mut out = [0; N];
    if let Some(src) = buf.get(off..off + N) {
        out.copy_from_slice(src);
    }
    out
}

fn get_i32(buf: &[u8; SIGINFO_SIZE], off: usize) -> i32 {
    i32::from_le_bytes(get(buf, off))
}

fn get_u32(buf: &[u8; SIGINFO_SIZE], off: usize) -> u32 {
    u32::from_le_bytes(get(buf, off))
}

fn get_u64(buf: &[u8; SIGINFO_SIZE], off: usize) -> u64 {
    u64::from_le_bytes(get(buf, off))
}

fn get_i64(buf: &[u8; SIGINFO_SIZE], off: usize) -> i64 {
    i64::from_le_bytes(get(buf, off))
}

impl SigInfo {
    /// What kill(2) sends: `SI_USER` with the sender's pid and real uid.
    pub const fn user(sig: SigNum, pid: i32, uid: u32) -> SigInfo {
        SigInfo { signo: sig, errno: 0, code: SI_USER, fields: SigFields::Kill { pid, uid } }
    }

    /// A signal the kernel sends on its own behalf: `SI_KERNEL`, pid and uid
    /// 0 (Linux's `SEND_SIG_PRIV`).
    pub const fn kernel(sig: SigNum) -> SigInfo {
        SigInfo { signo: sig, errno: 0, code: SI_KERNEL, fields: SigFields::Kill { pid: 0, uid: 0 } }
    }

    /// A SIGIO-style signal about a file (Linux's `send_sigio_to_task`):
    /// `code` (`POLL_IN`...`POLL_HUP` or `SI_SIGIO`), the poll bits `band`
    /// and the descriptor `fd`.
    pub const fn poll(sig: SigNum, code: i32, band: i64, fd: i32) -> SigInfo {
        SigInfo { signo: sig, errno: 0, code, fields: SigFields::Poll { band, fd } }
    }

    /// What tkill(2)/tgkill(2) send: `SI_TKILL` with the sender's pid and uid.
    pub const fn tkill(sig: SigNum, pid: i32, uid: u32) -> SigInfo {
        SigInfo { signo: sig, errno: 0, code: SI_TKILL, fields: SigFields::Rt { pid, uid, value: 0 } }
    }

    /// What sigqueue(3) sends: `SI_QUEUE` with the sender and the `sigval`.
    pub const fn queue(sig: SigNum, pid: i32, uid: u32, value: u64) -> SigInfo {
        SigInfo { signo: sig, errno: 0, code: SI_QUEUE, fields: SigFields::Rt { pid, uid, value } }
    }

    /// A SIGCHLD about a child (`code` is one of the `CLD_*` codes).
    pub const fn child(code: i32, pid: i32, uid: u32, status: i32, utime: i64, stime: i64) -> SigInfo {
        SigInfo {
            signo: SIGCHLD,
            errno: 0,
            code,
            fields: SigFields::Child { pid, uid, status, utime, stime },
        }
    }

    /// A fault signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) with its
    /// code and address.
    pub const fn fault(sig: SigNum, code: i32, addr: u64) -> SigInfo {
        SigInfo { signo: sig, errno: 0, code, fields: SigFields::Fault { addr } }
    }

    /// seccomp's SIGSYS (`SYS_SECCOMP`, Linux's `seccomp_init_siginfo`):
    /// the address after the call's instruction, its number, its
    /// `AUDIT_ARCH_*` and the filter's data as `si_errno`.
    pub const fn seccomp(call_addr: u64, syscall: i32, arch: u32, data: i32) -> SigInfo {
        SigInfo {
            signo: SIGSYS,
            errno: data,
            code: SYS_SECCOMP,
            fields: SigFields::Sys { call_addr, syscall, arch },
        }
    }

    /// A POSIX timer expiry (`SI_TIMER`).
    pub const fn timer(sig: SigNum, tid: i32, overrun: i32, value: u64) -> SigInfo {
        SigInfo { signo: sig, errno: 0, code: SI_TIMER, fields: SigFields::Timer { tid, overrun, value } }
    }

    /// `si_pid`, for the layouts that carry a sender or child.
    pub const fn pid(&self) -> Option<i32> {
        match self.fields {
            SigFields::Kill { pid, .. } | SigFields::Rt { pid, .. } | SigFields::Child { pid, .. } => {
                Some(pid)
            }
            _ => None,
        }
    }

    /// `si_uid`, for the layouts that carry a sender or child.
    pub const fn uid(&self) -> Option<u32> {
        match self.fields {
            SigFields::Kill { uid, .. } | SigFields::Rt { uid, .. } | SigFields::Child { uid, .. } => {
                Some(uid)
            }
            _ => None,
        }
    }

    /// `si_value`, for sigqueue(3) and timers.
    pub const fn value(&self) -> Option<u64> {
        match self.fields {
            SigFields::Rt { value, .. } | SigFields::Timer { value, .. } => Some(value),
            _ => None,
        }
    }

    /// `si_status`, for SIGCHLD.
    pub const fn status(&self) -> Option<i32> {
        match self.fields {
            SigFields::Child { status, .. } => Some(status),
            _ => None,
        }
    }

    /// `si_addr`, for faults.
    pub const fn addr(&self) -> Option<u64> {
        match self.fields {
            SigFields::Fault { addr }
            | SigFields::McErr { addr, .. }
            | SigFields::BndErr { addr, .. }
            | SigFields::PkuErr { addr, .. }
            | SigFields::Perf { addr, .. } => Some(addr),
            _ => None,
        }
    }

    /// The 128-byte x86_64 `siginfo_t`: the header, the union member in
    /// [`SigInfo::fields`], and zeros everywhere else (as Linux's
    /// `copy_siginfo_to_user()` clears the tail).
    pub fn to_bytes(&self) -> [u8; SIGINFO_SIZE] {
        let mut b = [0u8; SIGINFO_SIZE];
        put(&mut b, OFF_SIGNO, &self.signo.as_i32().to_le_bytes());
        put(&mut b, OFF_ERRNO, &self.errno.to_le_bytes());
        put(&mut b, OFF_CODE, &self.code.to_le_bytes());
        match self.fields {
            SigFields::Kill { pid, uid } => {
                put(&mut b, OFF_PID, &pid.to_le_bytes());
                put(&mut b, OFF_UID, &uid.to_le_bytes());
            }
            SigFields::Timer { tid, overrun, value } => {
                put(&mut b, OFF_TID, &tid.to_le_bytes());
                put(&mut b, OFF_OVERRUN, &overrun.to_le_bytes());
                put(&mut b, OFF_VALUE, &value.to_le_bytes());
            }
            SigFields::Rt { pid, uid, value } => {
                put(&mut b, OFF_PID, &pid.to_le_bytes());
                put(&mut b, OFF_UID, &uid.to_le_bytes());
                put(&mut b, OFF_VALUE, &value.to_le_bytes());
            }
            SigFields::Child { pid, uid, status, utime, stime } => {
                put(&mut b, OFF_PID, &pid.to_le_bytes());
                put(&mut b, OFF_UID, &uid.to_le_bytes());
                put(&mut b, OFF_STATUS, &status.to_le_bytes());
                put(&mut b, OFF_UTIME, &utime.to_le_bytes());
                put(&mut b, OFF_STIME, &stime.to_le_bytes());
            }
            SigFields::Fault { addr } => put(&mut b, OFF_ADDR, &addr.to_le_bytes()),
            SigFields::McErr { addr, addr_lsb } => {
                put(&mut b, OFF_ADDR, &addr.to_le_bytes());
                put(&mut b, OFF_ADDR_LSB, &addr_lsb.to_le_bytes());
            }
            SigFields::BndErr { addr, lower, upper } => {
                put(&mut b, OFF_ADDR, &addr.to_le_bytes());
                put(&mut b, OFF_LOWER, &lower.to_le_bytes());
                put(&mut b, OFF_UPPER, &upper.to_le_bytes());
            }
            SigFields::PkuErr { addr, pkey } => {
                put(&mut b, OFF_ADDR, &addr.to_le_bytes());
                put(&mut b, OFF_PKEY, &pkey.to_le_bytes());
            }
            SigFields::Perf { addr, data, perf_type, flags } => {
                put(&mut b, OFF_ADDR, &addr.to_le_bytes());
                put(&mut b, OFF_PERF_DATA, &data.to_le_bytes());
                put(&mut b, OFF_PERF_TYPE, &perf_type.to_le_bytes());
                put(&mut b, OFF_PERF_FLAGS, &flags.to_le_bytes());
            }
            SigFields::Poll { band, fd } => {
                put(&mut b, OFF_BAND, &band.to_le_bytes());
                put(&mut b, OFF_FD, &fd.to_le_bytes());
            }
            SigFields::Sys { call_addr, syscall, arch } => {
                put(&mut b, OFF_CALL_ADDR, &call_addr.to_le_bytes());
                put(&mut b, OFF_SYSCALL, &syscall.to_le_bytes());
                put(&mut b, OFF_ARCH, &arch.to_le_bytes());
            }
        }
        b
    }

    /// Reads a 128-byte x86_64 `siginfo_t`. The union member is chosen from
    /// `si_signo` and `si_code` as Linux's `siginfo_layout()` does; bytes
    /// outside it are not kept. `EINVAL` if `si_signo` is not a signal.
    pub fn from_bytes(bytes: &[u8; SIGINFO_SIZE]) -> Result<SigInfo> {
        let signo = SigNum::new(get_i32(bytes, OFF_SIGNO))?;
        Ok(SigInfo::parse(signo, bytes))
    }

    /// The siginfo a process passes to rt_sigqueueinfo(2) or
    /// rt_tgsigqueueinfo(2) for signal `sig`. As in Linux, `si_signo` is
    /// replaced by `sig`; and a process may not impersonate kill(2) or the
    /// kernel towards another process: `EPERM` when `si_code` is `>= 0` or
    /// `SI_TKILL` and `to_self` is false (rt_sigqueueinfo(2) ERRORS).
    pub fn from_user(sig: SigNum, bytes: &[u8; SIGINFO_SIZE], to_self: bool) -> Result<SigInfo> {
        let info = SigInfo::parse(sig, bytes);
        if !to_self && (info.code >= 0 || info.code == SI_TKILL) {
            return Err(Errno::EPERM);
        }
        Ok(info)
    }

    fn parse(signo: SigNum, b: &[u8; SIGINFO_SIZE]) -> SigInfo {
        let errno = get_i32(b, OFF_ERRNO);
        let code = get_i32(b, OFF_CODE);
        let pid = get_i32(b, OFF_PID);
        let uid = get_u32(b, OFF_UID);
        let addr = get_u64(b, OFF_ADDR);
        let fields = match layout(signo, code) {
            Layout::Kill => SigFields::Kill { pid, uid },
            Layout::Timer => SigFields::Timer {
                tid: get_i32(b, OFF_TID),
                overrun: get_i32(b, OFF_OVERRUN),
                value: get_u64(b, OFF_VALUE),
            },
            Layout::Rt => SigFields::Rt { pid, uid, value: get_u64(b, OFF_VALUE) },
            Layout::Chld => SigFields::Child {
                pid,
                uid,
                status: get_i32(b, OFF_STATUS),
                utime: get_i64(b, OFF_UTIME),
                stime: get_i64(b, OFF_STIME),
            },
            Layout::Fault => SigFields::Fault { addr },
            Layout::FaultMceErr => {
                SigFields::McErr { addr, addr_lsb: i16::from_le_bytes(get(b, OFF_ADDR_LSB)) }
            }
            Layout::FaultBndErr => {
                SigFields::BndErr { addr, lower: get_u64(b, OFF_LOWER), upper: get_u64(b, OFF_UPPER) }
            }
            Layout::FaultPkuErr => SigFields::PkuErr { addr, pkey: get_u32(b, OFF_PKEY) },
            Layout::FaultPerf => SigFields::Perf {
                addr,
                data: get_u64(b, OFF_PERF_DATA),
                perf_type: get_u32(b, OFF_PERF_TYPE),
                flags: get_u32(b, OFF_PERF_FLAGS),
            },
            Layout::Poll => SigFields::Poll { band: get_i64(b, OFF_BAND), fd: get_i32(b, OFF_FD) },
            Layout::Sys => SigFields::Sys {
                call_addr: get_u64(b, OFF_CALL_ADDR),
                syscall: get_i32(b, OFF_SYSCALL),
                arch: get_u32(b, OFF_ARCH),
            },
        };
        SigInfo { signo, errno, code, fields }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signum::*;

    #[test]
    fn kill_layout_bytes() {
        // sigaction(2), "The siginfo_t argument": si_pid and si_uid for kill(2);
        // include/uapi/asm-generic/siginfo.h offsets on x86_64.
        let b = SigInfo::user(SIGTERM, 1234, 1000).to_bytes();
        assert_eq!(&b[0..4], &15i32.to_le_bytes());
        assert_eq!(&b[4..8], &[0; 4]);
        assert_eq!(&b[8..12], &SI_USER.to_le_bytes());
        assert_eq!(&b[12..16], &[0; 4]);
        assert_eq!(&b[16..20], &1234i32.to_le_bytes());
        assert_eq!(&b[20..24], &1000u32.to_le_bytes());
        assert!(b[24..].iter().all(|&x| x == 0));
        assert_eq!(SigInfo::from_bytes(&b), Ok(SigInfo::user(SIGTERM, 1234, 1000)));
    }

    #[test]
    fn sigqueue_value_at_offset_24() {
        // sigqueue(3): si_value carries the sigval; si_code SI_QUEUE (-1).
        let info = SigInfo::queue(SIGRTMIN, 7, 8, 0xdead_beef_0000_0001);
        let b = info.to_bytes();
        assert_eq!(&b[8..12], &(-1i32).to_le_bytes());
        assert_eq!(&b[24..32], &0xdead_beef_0000_0001u64.to_le_bytes());
        assert_eq!(SigInfo::from_bytes(&b), Ok(info));
        assert_eq!(info.value(), Some(0xdead_beef_0000_0001));
        assert_eq!(info.pid(), Some(7));
        assert_eq!(info.uid(), Some(8));
    }

    #[test]
    fn sigchld_layout() {
        // sigaction(2): SIGCHLD fills si_pid, si_uid, si_status, si_utime, si_stime.
        let info = SigInfo::child(CLD_EXITED, 42, 0, 3, 10, 20);
        let b = info.to_bytes();
        assert_eq!(&b[24..28], &3i32.to_le_bytes());
        assert_eq!(&b[32..40], &10i64.to_le_bytes());
        assert_eq!(&b[40..48], &20i64.to_le_bytes());
        assert_eq!(SigInfo::from_bytes(&b), Ok(info));
        assert_eq!(info.status(), Some(3));
    }

    #[test]
    fn fault_layouts() {
        // sigaction(2): SIGILL, SIGFPE, SIGSEGV, SIGBUS, SIGTRAP fill si_addr;
        // BUS_MCEERR_* add si_addr_lsb, SEGV_BNDERR si_lower/si_upper, SEGV_PKUERR si_pkey.
        let info = SigInfo::fault(SIGSEGV, SEGV_MAPERR, 0x1000);
        let b = info.to_bytes();
        assert_eq!(&b[16..24], &0x1000u64.to_le_bytes());
        assert_eq!(SigInfo::from_bytes(&b), Ok(info));
        assert_eq!(info.addr(), Some(0x1000));

        let cases = [
            SigInfo {
                signo: SIGBUS,
                errno: 0,
                code: BUS_MCEERR_AR,
                fields: SigFields::McErr { addr: 5, addr_lsb: 12 },
            },
            SigInfo {
                signo: SIGSEGV,
                errno: 0,
                code: SEGV_BNDERR,
                fields: SigFields::BndErr { addr: 5, lower: 6, upper: 7 },
            },
            SigInfo {
                signo: SIGSEGV,
                errno: 0,
                code: SEGV_PKUERR,
                fields: SigFields::PkuErr { addr: 5, pkey: 3 },
            },
            SigInfo {
                signo: SIGTRAP,
                errno: 0,
                code: TRAP_PERF,
                fields: SigFields::Perf { addr: 5, data: 9, perf_type: 2, flags: 1 },
            },
            SigInfo {
                signo: SIGSYS,
                errno: 1,
                code: SYS_SECCOMP,
                fields: SigFields::Sys { call_addr: 0x40_0000, syscall: 39, arch: 0xc000_003e },
            },
            SigInfo { signo: SIGIO, errno: 0, code: POLL_IN, fields: SigFields::Poll { band: 1, fd: 4 } },
            SigInfo::timer(SIGALRM, 3, 2, 99),
            SigInfo::tkill(SIGUSR1, 5, 6),
            SigInfo::kernel(SIGSEGV),
        ];
        for info in cases {
            assert_eq!(SigInfo::from_bytes(&info.to_bytes()), Ok(info), "{info:?}");
        }
        let b = cases[0].to_bytes();
        assert_eq!(&b[24..26], &12i16.to_le_bytes());
        let b = cases[1].to_bytes();
        assert_eq!(&b[32..40], &6u64.to_le_bytes());
        assert_eq!(&b[40..48], &7u64.to_le_bytes());
        let b = cases[2].to_bytes();
        assert_eq!(&b[32..36], &3u32.to_le_bytes());
        let b = cases[4].to_bytes();
        assert_eq!(&b[24..28], &39i32.to_le_bytes());
        assert_eq!(&b[28..32], &0xc000_003eu32.to_le_bytes());
    }

    #[test]
    fn layout_follows_siginfo_layout() {
        // kernel/signal.c siginfo_layout().
        assert_eq!(layout(SIGSEGV, SI_USER), Layout::Kill);
        assert_eq!(layout(SIGSEGV, SI_KERNEL), Layout::Kill);
        assert_eq!(layout(SIGSEGV, SEGV_ACCERR), Layout::Fault);
        assert_eq!(layout(SIGSEGV, 11), Layout::Kill); // beyond NSIGSEGV and NSIGPOLL
        assert_eq!(layout(SIGUSR1, POLL_HUP), Layout::Poll);
        assert_eq!(layout(SIGSYS, 3), Layout::Poll); // beyond NSIGSYS, within NSIGPOLL
        assert_eq!(layout(SIGUSR1, 7), Layout::Kill);
        assert_eq!(layout(SIGRTMIN, SI_TIMER), Layout::Timer);
        assert_eq!(layout(SIGRTMIN, SI_SIGIO), Layout::Poll);
        assert_eq!(layout(SIGRTMIN, SI_QUEUE), Layout::Rt);
        assert_eq!(layout(SIGRTMIN, SI_TKILL), Layout::Rt);
        assert_eq!(layout(SIGCHLD, CLD_CONTINUED), Layout::Chld);
        assert_eq!(layout(SIGBUS, BUS_MCEERR_AO), Layout::FaultMceErr);
    }

    #[test]
    fn bad_signo_is_einval() {
        let mut b = [0u8; SIGINFO_SIZE];
        assert_eq!(SigInfo::from_bytes(&b), Err(Errno::EINVAL));
        b[0] = 65;
        assert_eq!(SigInfo::from_bytes(&b), Err(Errno::EINVAL));
    }

    #[test]
    fn rt_sigqueueinfo_rules() {
        // rt_sigqueueinfo(2): si_signo is set from sig; EPERM "The caller
        // does not have permission to send the signal to the target"
        // (kernel/signal.c: si_code >= 0 or SI_TKILL to another process).
        let mut b = SigInfo::queue(SIGUSR1, 1, 2, 3).to_bytes();
        let info = SigInfo::from_user(SIGRTMIN, &b, false).unwrap();
        assert_eq!(info, SigInfo::queue(SIGRTMIN, 1, 2, 3));
        b[8..12].copy_from_slice(&SI_USER.to_le_bytes());
        assert_eq!(SigInfo::from_user(SIGRTMIN, &b, false), Err(Errno::EPERM));
        assert!(SigInfo::from_user(SIGRTMIN, &b, true).is_ok());
        b[8..12].copy_from_slice(&SI_TKILL.to_le_bytes());
        assert_eq!(SigInfo::from_user(SIGRTMIN, &b, false), Err(Errno::EPERM));
        b[8..12].copy_from_slice(&SI_KERNEL.to_le_bytes());
        assert_eq!(SigInfo::from_user(SIGRTMIN, &b, false), Err(Errno::EPERM));
    }
}
