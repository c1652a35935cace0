//! wait4/waitid arguments and results: [`WaitOptions`], [`WaitSelector`],
//! the status word ([`ChildStatus::to_wait_status`]), waitid's siginfo
//! fields ([`WaitidInfo`]) and `struct rusage` ([`Rusage`]).

use bitflags::bitflags;
use linux_abi::{Errno, Result};

use crate::pid::Pid;
use crate::uaccess::UserMemory;

bitflags! {
    /// The options of wait4 and waitid (`include/uapi/linux/wait.h`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct WaitOptions: u32 {
        /// Return at once if no child is ready.
        const WNOHANG = 0x0000_0001;
        /// Report stopped children (`WSTOPPED` for waitid).
        const WUNTRACED = 0x0000_0002;
        /// Report exited children (implied by wait4).
        const WEXITED = 0x0000_0004;
        /// Report continued children.
        const WCONTINUED = 0x0000_0008;
        /// Leave the child waitable (waitid only).
        const WNOWAIT = 0x0100_0000;
        /// Only children of the calling thread.
        const WNOTHREAD = 0x2000_0000;
        /// Children with any exit signal.
        const WALL = 0x4000_0000;
        /// Only children whose exit signal is not `SIGCHLD`.
        const WCLONE = 0x8000_0000;
    }
}

impl WaitOptions {
    /// waitid's name for [`WaitOptions::WUNTRACED`].
    pub const WSTOPPED: WaitOptions = WaitOptions::WUNTRACED;
}

/// Which children a wait selects (Linux's `wo_type` and `wo_pid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitSelector {
    /// Any child (wait4 -1, `P_ALL`).
    Any,
    /// The child with this pid (wait4 > 0, `P_PID`).
    Pid(Pid),
    /// Children in this process group (wait4 < -1, `P_PGID` > 0).
    Pgid(Pid),
    /// Children in the caller's process group (wait4 0, `P_PGID` 0).
    OwnGroup,
    /// The child a pidfd refers to; the kernel resolves the fd.
    PidFd(i32),
}

/// waitid's `idtype` `P_ALL`.
pub const P_ALL: i32 = 0;
/// waitid's `idtype` `P_PID`.
pub const P_PID: i32 = 1;
/// waitid's `idtype` `P_PGID`.
pub const P_PGID: i32 = 2;
/// waitid's `idtype` `P_PIDFD`.
pub const P_PIDFD: i32 = 3;

/// A checked wait request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitRequest {
    /// Which children.
    pub selector: WaitSelector,
    /// The options (wait4 adds `WEXITED`).
    pub options: WaitOptions,
}

impl WaitRequest {
    /// wait4(pid, .., options): options other than `WNOHANG`, `WUNTRACED`,
    /// `WCONTINUED`, `__WNOTHREAD`, `__WCLONE`, `__WALL` are `EINVAL`;
    /// `pid == INT_MIN` is `ESRCH`.
    pub fn wait4(pid: i32, options: u32) -> Result<Self> {
        let allowed = WaitOptions::WNOHANG
            | WaitOptions::WUNTRACED
            | WaitOptions::WCONTINUED
            | WaitOptions::WNOTHREAD
            | WaitOptions::WCLONE
            | WaitOptions::WALL;
        if options & !allowed.bits() != 0 {
            return Err(Errno::EINVAL);
        }
        if pid == i32::MIN {
            return Err(Errno::ESRCH);
        }
        let selector = match pid {
            -1 => WaitSelector::Any,
            0 => WaitSelector::OwnGroup,
            p if p < 0 => WaitSelector::Pgid(p.unsigned_abs()),
            p => WaitSelector::Pid(p as u32),
        };
        Ok(WaitRequest { selector, options: WaitOptions::from_bits_retain(options) | WaitOptions::WEXITED })
    }

    /// waitid(idtype, id, .., options): unknown options, none of
    /// `WEXITED`/`WSTOPPED`/`WCONTINUED`, an unknown idtype, `P_PID` with
    /// `id <= 0`, `P_PGID` or `P_PIDFD` with `id < 0` are `EINVAL`.
    pub fn waitid(idtype: i32, id: i32, options: u32) -> Result<Self> {
        let allowed = WaitOptions::WNOHANG
            | WaitOptions::WNOWAIT
            | WaitOptions::WEXITED
            | WaitOptions::WSTOPPED
            | WaitOptions::WCONTINUED
            | WaitOptions::WNOTHREAD
            | WaitOptions::WCLONE
            | WaitOptions::WALL;
        if options & !allowed.bits() != 0 {
            return Err(Errno::EINVAL);
        }
        let options = WaitOptions::from_bits_retain(options);
        if !options.intersects(WaitOptions::WEXITED | WaitOptions::WSTOPPED | WaitOptions::WCONTINUED) {
            return Err(Errno::EINVAL);
        }
        let selector = match idtype {
            P_ALL => WaitSelector::Any,
            P_PID if id <= 0 => return Err(Errno::EINVAL),
            P_PID => WaitSelector::Pid(id as u32),
            P_PGID if id < 0 => return Err(Errno::EINVAL),
            P_PGID if id == 0 => WaitSelector::OwnGroup,
            P_PGID => WaitSelector::Pgid(id as u32),
            P_PIDFD if id < 0 => return Err(Errno::EINVAL),
            P_PIDFD => WaitSelector::PidFd(id),
            _ => return Err(Errno::EINVAL),
        };
        Ok(WaitRequest { selector, options })
    }
}

/// `si_code` of a `SIGCHLD`: the child exited.
pub const CLD_EXITED: i32 = 1;
/// The child was killed by a signal.
pub const CLD_KILLED: i32 = 2;
/// The child was killed and dumped core.
pub const CLD_DUMPED: i32 = 3;
/// A traced child trapped.
pub const CLD_TRAPPED: i32 = 4;
/// The child stopped.
pub const CLD_STOPPED: i32 = 5;
/// The child continued.
pub const CLD_CONTINUED: i32 = 6;
/// `SIGCONT` on Linux.
pub const SIGCONT: u32 = 18;

/// What happened to a child, as wait reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChildStatus {
    /// exit(code): only the low 8 bits are kept.
    Exited(u8),
    /// Killed by a signal, maybe with a core dump.
    Killed {
        /// The signal.
        signal: u32,
        /// Whether a core was dumped.
        core: bool,
    },
    /// Stopped by a signal.
    Stopped(u32),
    /// Continued by `SIGCONT`.
    Continued,
    /// In a ptrace stop, as its tracer sees it: Linux's `exit_code` of the
    /// stop (the signal, `| 0x80` for a `PTRACE_O_TRACESYSGOOD` syscall
    /// stop, `| event << 8` for an event stop).
    Trapped(u32),
}

impl ChildStatus {
    /// From the value passed to exit/exit_group (`(code & 0xff) << 8` in
    /// Linux's `exit_code`).
    pub fn exited(code: i32) -> Self {
        ChildStatus::Exited((code & 0xff) as u8)
    }

    /// The status word of wait4: `code << 8`, `sig | 0x80 (core)`,
    /// `sig << 8 | 0x7f`, `0xffff`.
    pub fn to_wait_status(self) -> i32 {
        match self {
            ChildStatus::Exited(c) => (c as i32) << 8,
            ChildStatus::Killed { signal, core } => (signal & 0x7f) as i32 | if core { 0x80 } else { 0 },
            ChildStatus::Stopped(sig) => ((sig & 0xff) as i32) << 8 | 0x7f,
            ChildStatus::Continued => 0xffff,
            ChildStatus::Trapped(code) => ((code & 0xff_ffff) << 8) as i32 | 0x7f,
        }
    }

    /// Decodes a status word (what the `W*` macros of `<sys/wait.h>` do).
    pub fn from_wait_status(status: i32) -> Option<Self> {
        let low = status & 0x7f;
        if status as u32 > 0xffff {
            None
        } else if status == 0xffff {
            Some(ChildStatus::Continued)
        } else if status & 0xff == 0x7f {
            Some(ChildStatus::Stopped(((status >> 8) & 0xff) as u32))
        } else if low == 0 {
            Some(ChildStatus::Exited(((status >> 8) & 0xff) as u8))
        } else if status & !0xff == 0 {
            Some(ChildStatus::Killed { signal: low as u32, core: status & 0x80 != 0 })
        } else {
            None
        }
    }

    /// `si_code` of waitid and of the `SIGCHLD` sent to the parent.
    pub fn si_code(self) -> i32 {
        match self {
            ChildStatus::Exited(_) => CLD_EXITED,
            ChildStatus::Killed { core: false, .. } => CLD_KILLED,
            ChildStatus::Killed { core: true, .. } => CLD_DUMPED,
            ChildStatus::Stopped(_) => CLD_STOPPED,
            ChildStatus::Continued => CLD_CONTINUED,
            ChildStatus::Trapped(_) => CLD_TRAPPED,
        }
    }

    /// `si_status`: the exit code, or the signal (`SIGCONT` for continued).
    pub fn si_status(self) -> i32 {
        match self {
            ChildStatus::Exited(c) => c as i32,
            ChildStatus::Killed { signal, .. } => signal as i32,
            ChildStatus::Stopped(sig) => sig as i32,
            ChildStatus::Continued => SIGCONT as i32,
            ChildStatus::Trapped(code) => code as i32,
        }
    }
}

/// The fields waitid writes into the caller's `siginfo_t`. Linux writes
/// exactly these six (`si_signo`, `si_errno`, `si_code`, `si_pid`,
/// `si_uid`, `si_status`); with `WNOHANG` and nothing to report all are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WaitidInfo {
    /// `SIGCHLD`, or 0 when nothing was reported.
    pub signo: i32,
    /// `CLD_*`.
    pub code: i32,
    /// The child's pid.
    pub pid: i32,
    /// The child's real uid.
    pub uid: u32,
    /// See [`ChildStatus::si_status`].
    pub status: i32,
}

/// Offsets in x86_64's (and every 64-bit Linux's) `siginfo_t`.
pub mod siginfo_offsets {
    /// `si_signo`.
    pub const SIGNO: u64 = 0;
    /// `si_errno`.
    pub const ERRNO: u64 = 4;
    /// `si_code`.
    pub const CODE: u64 = 8;
    /// `si_pid` (`_sigchld`, at the 8-aligned union).
    pub const PID: u64 = 16;
    /// `si_uid`.
    pub const UID: u64 = 20;
    /// `si_status`.
    pub const STATUS: u64 = 24;
    /// `si_utime` (a `clock_t`).
    pub const UTIME: u64 = 32;
    /// `si_stime`.
    pub const STIME: u64 = 40;
    /// `sizeof(siginfo_t)`.
    pub const SIZE: usize = 128;
}

impl WaitidInfo {
    /// The info for a child's status.
    pub fn new(pid: Pid, uid: u32, status: ChildStatus) -> Self {
        WaitidInfo {
            signo: crate::clone::SIGCHLD as i32,
            code: status.si_code(),
            pid: pid as i32,
            uid,
            status: status.si_status(),
        }
    }

    /// Writes the six fields at `addr`, leaving the rest of the siginfo
    /// alone, as Linux does.
    pub fn write_to(&self, mem: &impl UserMemory, addr: u64) -> Result<()> {
        use siginfo_offsets as o;
        let at = |off: u64| addr.checked_add(off).ok_or(Errno::EFAULT);
        mem.write_u32(at(o::SIGNO)?, self.signo as u32)?;
        mem.write_u32(at(o::ERRNO)?, 0)?;
        mem.write_u32(at(o::CODE)?, self.code as u32)?;
        mem.write_u32(at(o::PID)?, self.pid as u32)?;
        mem.write_u32(at(o::UID)?, self.uid)?;
        mem.write_u32(at(o::STATUS)?, self.status as u32)
    }
}

/// Resource usage (the part of `struct rusage` this crate keeps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Rusage {
    /// User time in microseconds.
    pub utime_us: u64,
    /// System time in microseconds.
    pub stime_us: u64,
    /// Peak resident set in KiB.
    pub maxrss_kb: u64,
    /// Minor faults.
    pub minflt: u64,
    /// Major faults.
    pub majflt: u64,
    /// Voluntary context switches.
    pub nvcsw: u64,
    /// Involuntary context switches.
    pub nivcsw: u64,
    /// The read/write counters of /proc/PID/io (not part of `struct
    /// rusage`; carried along so exited threads and reaped children add
    /// up as Linux's `signal->ioac` does).
    pub io: IoCounts,
}

/// Linux's `struct task_io_accounting` as /proc/PID/io shows it: bytes
/// and calls of read(2)/write(2) and their kin (storage bytes are not
/// counted: `read_bytes`, `write_bytes` and `cancelled_write_bytes` read
/// 0, as on a tmpfs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct IoCounts {
    /// Bytes the read calls returned.
    pub rchar: u64,
    /// Bytes the write calls took.
    pub wchar: u64,
    /// Read calls.
    pub syscr: u64,
    /// Write calls.
    pub syscw: u64,
}

impl IoCounts {
    /// Adds `other` (`task_io_accounting_add`).
    pub fn accumulate(&mut self, other: &IoCounts) {
        self.rchar = self.rchar.saturating_add(other.rchar);
        self.wchar = self.wchar.saturating_add(other.wchar);
        self.syscr = self.syscr.saturating_add(other.syscr);
        self.syscw = self.syscw.saturating_add(other.syscw);
    }

    /// The text of /proc/PID/io (`proc_pid_io_accounting`).
    pub fn proc_text(&self) -> alloc::string::String {
        alloc::format!(
            "rchar: {}\nwchar: {}\nsyscr: {}\nsyscw: {}\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n",
            self.rchar,
            self.wchar,
            self.syscr,
            self.syscw
        )
    }
}

impl Rusage {
    /// `sizeof(struct rusage)` on 64-bit Linux.
    pub const SIZE: usize = 144;

    /// Adds another usage (a reaped child's into `cutime`-style totals);
    /// `maxrss` takes the larger.
    pub fn accumulate(&mut self, other: &Rusage) {
        self.utime_us = self.utime_us.saturating_add(other.utime_us);
        self.stime_us = self.stime_us.saturating_add(other.stime_us);
        self.maxrss_kb = self.maxrss_kb.max(other.maxrss_kb);
        self.minflt = self.minflt.saturating_add(other.minflt);
        self.majflt = self.majflt.saturating_add(other.majflt);
        self.nvcsw = self.nvcsw.saturating_add(other.nvcsw);
        self.nivcsw = self.nivcsw.saturating_add(other.nivcsw);
        self.io.accumulate(&other.io);
    }

    /// The 144 bytes of `struct rusage`: two `timeval`s then 14 longs
    /// (`ru_maxrss` first, `ru_minflt` 3rd... as in `<sys/resource.h>`).
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut longs = [0u64; 18];
        longs[0] = self.utime_us / 1_000_000;
        longs[1] = self.utime_us % 1_000_000;
        longs[2] = self.stime_us / 1_000_000;
        longs[3] = self.stime_us % 1_000_000;
        longs[4] = self.maxrss_kb; // ru_maxrss
        longs[8] = self.minflt; // ru_minflt
        longs[9] = self.majflt; // ru_majflt
        longs[16] = self.nvcsw; // ru_nvcsw
        longs[17] = self.nivcsw; // ru_nivcsw
        let mut out = [0u8; Self::SIZE];
        for (i, v) in longs.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&v.to_ne_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::VecMemory;
    use alloc::vec;

    #[test]
    fn status_words() {
        assert_eq!(ChildStatus::exited(0).to_wait_status(), 0);
        assert_eq!(ChildStatus::exited(3).to_wait_status(), 0x300);
        assert_eq!(ChildStatus::exited(256 + 7).to_wait_status(), 0x700);
        assert_eq!(ChildStatus::exited(-1).to_wait_status(), 0xff00);
        assert_eq!(ChildStatus::Killed { signal: 9, core: false }.to_wait_status(), 9);
        assert_eq!(ChildStatus::Killed { signal: 11, core: true }.to_wait_status(), 0x8b);
        assert_eq!(ChildStatus::Stopped(19).to_wait_status(), 0x137f);
        assert_eq!(ChildStatus::Continued.to_wait_status(), 0xffff);
        for s in [
            ChildStatus::Exited(42),
            ChildStatus::Killed { signal: 15, core: false },
            ChildStatus::Killed { signal: 6, core: true },
            ChildStatus::Stopped(20),
            ChildStatus::Continued,
        ] {
            assert_eq!(ChildStatus::from_wait_status(s.to_wait_status()), Some(s));
        }
        assert_eq!(ChildStatus::from_wait_status(0x10000), None);
    }

    #[test]
    fn si_fields() {
        let i = WaitidInfo::new(42, 1000, ChildStatus::Exited(3));
        assert_eq!((i.signo, i.code, i.pid, i.uid, i.status), (17, CLD_EXITED, 42, 1000, 3));
        let k = WaitidInfo::new(7, 0, ChildStatus::Killed { signal: 9, core: false });
        assert_eq!((k.code, k.status), (CLD_KILLED, 9));
        let d = WaitidInfo::new(7, 0, ChildStatus::Killed { signal: 11, core: true });
        assert_eq!((d.code, d.status), (CLD_DUMPED, 11));
        let s = WaitidInfo::new(7, 0, ChildStatus::Stopped(19));
        assert_eq!((s.code, s.status), (CLD_STOPPED, 19));
        let c = WaitidInfo::new(7, 0, ChildStatus::Continued);
        assert_eq!((c.code, c.status), (CLD_CONTINUED, 18));
        assert_eq!(WaitidInfo::default().signo, 0);
    }

    #[test]
    fn siginfo_layout() {
        let mem = VecMemory::new(0, vec![0xaa; 128]);
        WaitidInfo::new(42, 1000, ChildStatus::Exited(3)).write_to(&mem, 0).unwrap();
        let m = mem.bytes.borrow();
        let word = |o: usize| i32::from_ne_bytes([m[o], m[o + 1], m[o + 2], m[o + 3]]);
        assert_eq!(word(0), 17);
        assert_eq!(word(4), 0);
        assert_eq!(word(8), 1);
        assert_eq!(word(16), 42);
        assert_eq!(word(20), 1000);
        assert_eq!(word(24), 3);
        // Padding and si_utime untouched, as Linux.
        assert_eq!(m[12], 0xaa);
        assert_eq!(m[32], 0xaa);
        drop(m);
        assert_eq!(WaitidInfo::default().write_to(&mem, 120), Err(Errno::EFAULT));
    }

    #[test]
    fn rusage_layout() {
        let r = Rusage {
            utime_us: 2_500_000,
            stime_us: 7,
            maxrss_kb: 100,
            minflt: 3,
            majflt: 4,
            nvcsw: 5,
            nivcsw: 6,
            io: IoCounts::default(),
        };
        let b = r.to_bytes();
        let long = |i: usize| u64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
        assert_eq!((long(0), long(1), long(2), long(3)), (2, 500_000, 0, 7));
        assert_eq!((long(4), long(8), long(9), long(16), long(17)), (100, 3, 4, 5, 6));
        let mut t = Rusage::default();
        t.accumulate(&r);
        t.accumulate(&Rusage { maxrss_kb: 50, utime_us: 1, ..Rusage::default() });
        assert_eq!((t.utime_us, t.maxrss_kb), (2_500_001, 100));
    }

    #[test]
    fn wait4_requests() {
        use WaitOptions as W;
        assert_eq!(
            WaitRequest::wait4(-1, 0),
            Ok(WaitRequest { selector: WaitSelector::Any, options: W::WEXITED })
        );
        assert_eq!(WaitRequest::wait4(0, 0).unwrap().selector, WaitSelector::OwnGroup);
        assert_eq!(WaitRequest::wait4(5, 0).unwrap().selector, WaitSelector::Pid(5));
        assert_eq!(WaitRequest::wait4(-5, 0).unwrap().selector, WaitSelector::Pgid(5));
        assert_eq!(WaitRequest::wait4(i32::MIN, 0), Err(Errno::ESRCH));
        let all = W::WNOHANG | W::WUNTRACED | W::WCONTINUED | W::WNOTHREAD | W::WCLONE | W::WALL;
        assert_eq!(WaitRequest::wait4(-1, all.bits()).unwrap().options, all | W::WEXITED);
        // wait4 takes neither WNOWAIT nor WEXITED, nor unknown bits.
        assert_eq!(WaitRequest::wait4(-1, W::WNOWAIT.bits()), Err(Errno::EINVAL));
        assert_eq!(WaitRequest::wait4(-1, W::WEXITED.bits()), Err(Errno::EINVAL));
        assert_eq!(WaitRequest::wait4(-1, 0x10), Err(Errno::EINVAL));
        // Options are checked before the pid.
        assert_eq!(WaitRequest::wait4(i32::MIN, 0x10), Err(Errno::EINVAL));
    }

    #[test]
    fn waitid_requests() {
        let e = WaitOptions::WEXITED.bits();
        assert_eq!(WaitRequest::waitid(P_ALL, 99, e).unwrap().selector, WaitSelector::Any);
        assert_eq!(WaitRequest::waitid(P_PID, 4, e).unwrap().selector, WaitSelector::Pid(4));
        assert_eq!(WaitRequest::waitid(P_PID, 0, e), Err(Errno::EINVAL));
        assert_eq!(WaitRequest::waitid(P_PID, -3, e), Err(Errno::EINVAL));
        assert_eq!(WaitRequest::waitid(P_PGID, 0, e).unwrap().selector, WaitSelector::OwnGroup);
        assert_eq!(WaitRequest::waitid(P_PGID, 8, e).unwrap().selector, WaitSelector::Pgid(8));
        assert_eq!(WaitRequest::waitid(P_PGID, -1, e), Err(Errno::EINVAL));
        assert_eq!(WaitRequest::waitid(P_PIDFD, 3, e).unwrap().selector, WaitSelector::PidFd(3));
        assert_eq!(WaitRequest::waitid(P_PIDFD, -1, e), Err(Errno::EINVAL));
        assert_eq!(WaitRequest::waitid(4, 1, e), Err(Errno::EINVAL));
        // No event class: EINVAL, even with WNOHANG.
        assert_eq!(WaitRequest::waitid(P_ALL, 0, WaitOptions::WNOHANG.bits()), Err(Errno::EINVAL));
        assert_eq!(WaitRequest::waitid(P_ALL, 0, 0), Err(Errno::EINVAL));
        assert_eq!(WaitRequest::waitid(P_ALL, 0, e | 0x10), Err(Errno::EINVAL));
        for o in [WaitOptions::WSTOPPED, WaitOptions::WCONTINUED] {
            assert_eq!(WaitRequest::waitid(P_ALL, 0, o.bits()).unwrap().options, o);
        }
        let n = (WaitOptions::WEXITED | WaitOptions::WNOWAIT | WaitOptions::WALL).bits();
        assert_eq!(WaitRequest::waitid(P_ALL, 0, n).unwrap().options.bits(), n);
    }
}
