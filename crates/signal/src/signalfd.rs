//! signalfd(2)'s side of a signal: the flags and the 128-byte
//! `struct signalfd_siginfo` a read returns (fs/signalfd.c,
//! `signalfd_copyinfo()`).
//!
//! ```
//! use signal::{SigInfo, SIGUSR1, signalfd};
//! let rec = signalfd::record(&SigInfo::user(SIGUSR1, 42, 1000));
//! assert_eq!(rec.len(), signalfd::SIGNALFD_SIGINFO_SIZE);
//! assert_eq!(u32::from_le_bytes(rec[0..4].try_into().unwrap()), 10); // ssi_signo
//! assert_eq!(u32::from_le_bytes(rec[12..16].try_into().unwrap()), 42); // ssi_pid
//! ```

use crate::siginfo::{SigFields, SigInfo};
use linux_abi::{Errno, Result};

/// `sizeof(struct signalfd_siginfo)`.
pub const SIGNALFD_SIGINFO_SIZE: usize = 128;
/// `SFD_CLOEXEC` (= `O_CLOEXEC`).
pub const SFD_CLOEXEC: u32 = 0o2000000;
/// `SFD_NONBLOCK` (= `O_NONBLOCK`).
pub const SFD_NONBLOCK: u32 = 0o4000;

/// signalfd4(2)'s flag check: `EINVAL` for anything but the two flags.
pub fn check_flags(flags: u32) -> Result<()> {
    if flags & !(SFD_CLOEXEC | SFD_NONBLOCK) != 0 { Err(Errno::EINVAL) } else { Ok(()) }
}

// Byte offsets in struct signalfd_siginfo (include/uapi/linux/signalfd.h).
const SSI_SIGNO: usize = 0;
const SSI_ERRNO: usize = 4;
const SSI_CODE: usize = 8;
const SSI_PID: usize = 12;
const SSI_UID: usize = 16;
const SSI_FD: usize = 20;
const SSI_TID: usize = 24;
const SSI_BAND: usize = 28;
const SSI_OVERRUN: usize = 32;
const SSI_STATUS: usize = 40;
const SSI_INT: usize = 44;
const SSI_PTR: usize = 48;
const SSI_UTIME: usize = 56;
const SSI_STIME: usize = 64;
const SSI_ADDR: usize = 72;
const SSI_ADDR_LSB: usize = 80;
const SSI_SYSCALL: usize = 84;
const SSI_CALL_ADDR: usize = 88;
const SSI_ARCH: usize = 96;

fn put(b: &mut [u8; SIGNALFD_SIGINFO_SIZE], off: usize, v: &[u8]) {
    b[off..off + v.len()].copy_from_slice(v);
}

/// The `struct signalfd_siginfo` of `info`, as `signalfd_copyinfo()` fills
/// it: zeros, the header, then the fields of the siginfo's layout (a
/// sigval as both `ssi_ptr` and its low 32 bits `ssi_int`; the fault
/// variants as plain `ssi_addr`, plus `ssi_addr_lsb` for machine-check
/// errors).
pub fn record(info: &SigInfo) -> [u8; SIGNALFD_SIGINFO_SIZE] {
    let mut b = [0u8; SIGNALFD_SIGINFO_SIZE];
    put(&mut b, SSI_SIGNO, &(info.signo.as_i32() as u32).to_le_bytes());
    put(&mut b, SSI_ERRNO, &info.errno.to_le_bytes());
    put(&mut b, SSI_CODE, &info.code.to_le_bytes());
    match info.fields {
        SigFields::Kill { pid, uid } => {
            put(&mut b, SSI_PID, &pid.to_le_bytes());
            put(&mut b, SSI_UID, &uid.to_le_bytes());
        }
        SigFields::Timer { tid, overrun, value } => {
            put(&mut b, SSI_TID, &tid.to_le_bytes());
            put(&mut b, SSI_OVERRUN, &overrun.to_le_bytes());
            put(&mut b, SSI_PTR, &value.to_le_bytes());
            put(&mut b, SSI_INT, &(value as u32).to_le_bytes());
        }
        SigFields::Rt { pid, uid, value } => {
            put(&mut b, SSI_PID, &pid.to_le_bytes());
            put(&mut b, SSI_UID, &uid.to_le_bytes());
            put(&mut b, SSI_PTR, &value.to_le_bytes());
            put(&mut b, SSI_INT, &(value as u32).to_le_bytes());
        }
        SigFields::Child { pid, uid, status, utime, stime } => {
            put(&mut b, SSI_PID, &pid.to_le_bytes());
            put(&mut b, SSI_UID, &uid.to_le_bytes());
            put(&mut b, SSI_STATUS, &status.to_le_bytes());
            put(&mut b, SSI_UTIME, &utime.to_le_bytes());
            put(&mut b, SSI_STIME, &stime.to_le_bytes());
        }
        SigFields::Fault { addr }
        | SigFields::BndErr { addr, .. }
        | SigFields::PkuErr { addr, .. }
        | SigFields::Perf { addr, .. } => put(&mut b, SSI_ADDR, &addr.to_le_bytes()),
        SigFields::McErr { addr, addr_lsb } => {
            put(&mut b, SSI_ADDR, &addr.to_le_bytes());
            put(&mut b, SSI_ADDR_LSB, &(addr_lsb as u16).to_le_bytes());
        }
        SigFields::Poll { band, fd } => {
            put(&mut b, SSI_BAND, &(band as u32).to_le_bytes());
            put(&mut b, SSI_FD, &fd.to_le_bytes());
        }
        SigFields::Sys { call_addr, syscall, arch } => {
            put(&mut b, SSI_CALL_ADDR, &call_addr.to_le_bytes());
            put(&mut b, SSI_SYSCALL, &syscall.to_le_bytes());
            put(&mut b, SSI_ARCH, &arch.to_le_bytes());
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SIGCHLD, SIGSEGV, SigNum};

    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
    }
    fn u64_at(b: &[u8], o: usize) -> u64 {
        u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
    }

    #[test]
    fn flags() {
        assert_eq!(check_flags(SFD_CLOEXEC | SFD_NONBLOCK), Ok(()));
        assert_eq!(check_flags(1), Err(Errno::EINVAL));
    }

    #[test]
    fn sigqueue_value() {
        let info = SigInfo {
            signo: SigNum::new(34).unwrap(),
            errno: 0,
            code: -1, // SI_QUEUE
            fields: SigFields::Rt { pid: 7, uid: 1000, value: 0x1234_5678_9abc_def0 },
        };
        let b = record(&info);
        assert_eq!(u32_at(&b, SSI_SIGNO), 34);
        assert_eq!(u32_at(&b, SSI_CODE), (-1i32) as u32);
        assert_eq!(u32_at(&b, SSI_PID), 7);
        assert_eq!(u32_at(&b, SSI_UID), 1000);
        assert_eq!(u32_at(&b, SSI_INT), 0x9abc_def0);
        assert_eq!(u64_at(&b, SSI_PTR), 0x1234_5678_9abc_def0);
        assert!(b[100..].iter().all(|&x| x == 0));
    }

    #[test]
    fn child_and_fault() {
        let info = SigInfo {
            signo: SIGCHLD,
            errno: 0,
            code: 1,
            fields: SigFields::Child { pid: 9, uid: 0, status: 3, utime: 5, stime: 6 },
        };
        let b = record(&info);
        assert_eq!((u32_at(&b, SSI_PID), u32_at(&b, SSI_STATUS)), (9, 3));
        assert_eq!((u64_at(&b, SSI_UTIME), u64_at(&b, SSI_STIME)), (5, 6));
        let f = SigInfo { signo: SIGSEGV, errno: 0, code: 1, fields: SigFields::Fault { addr: 0xdead } };
        let b = record(&f);
        assert_eq!(u64_at(&b, SSI_ADDR), 0xdead);
        assert_eq!(u32_at(&b, SSI_PID), 0);
    }
}
