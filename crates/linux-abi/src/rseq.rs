//! Restartable sequences (`rseq(2)`) as Linux 6.1 decides them
//! (`kernel/rseq.c`, `include/uapi/linux/rseq.h`): the registration rules
//! of the system call, the checks of a critical-section descriptor, and
//! what the return to user mode does with one. No memory access here: the
//! kernel reads the words and passes them in.
//!
//! ```
//! use linux_abi::rseq::{self, Registration, SysRseq};
//! use linux_abi::Errno;
//! let reg = Registration { addr: 0x1000, len: 32, sig: 0x5305_3053 };
//! assert_eq!(rseq::sys_rseq(None, 0x1000, 32, 0, 0x5305_3053), Ok(SysRseq::Register(reg)));
//! // the same arguments again: already registered
//! assert_eq!(rseq::sys_rseq(Some(reg), 0x1000, 32, 0, 0x5305_3053), Err(Errno::EBUSY));
//! assert_eq!(rseq::sys_rseq(None, 0x1008, 32, 0, 0x5305_3053), Err(Errno::EINVAL));
//! ```

use crate::Errno;
use crate::args::TASK_SIZE_MAX;

/// `sizeof(struct rseq)` in Linux 6.1 (`ORIG_RSEQ_SIZE` of later kernels):
/// the only length 6.1 accepts.
pub const RSEQ_SIZE: u32 = 32;
/// `__alignof__(struct rseq)`: 32 bytes.
pub const RSEQ_ALIGN: u64 = 32;
/// `RSEQ_FLAG_UNREGISTER`.
pub const FLAG_UNREGISTER: i32 = 1;
/// `RSEQ_CPU_ID_UNINITIALIZED`: `cpu_id` after an unregistration.
pub const CPU_ID_UNINITIALIZED: u32 = u32::MAX;
/// The offset of `cpu_id_start` in `struct rseq`.
pub const OFF_CPU_ID_START: u64 = 0;
/// The offset of `cpu_id`.
pub const OFF_CPU_ID: u64 = 4;
/// The offset of the `rseq_cs` pointer (a `u64`).
pub const OFF_RSEQ_CS: u64 = 8;
/// The offset of the thread's `flags` (a `u32`).
pub const OFF_FLAGS: u64 = 16;
/// `sizeof(struct rseq_cs)`: the bytes of a descriptor read.
pub const CS_SIZE: usize = 32;

/// `RSEQ_EVENT_PREEMPT`: the thread was switched away from.
pub const EVENT_PREEMPT: u8 = 1;
/// `RSEQ_EVENT_SIGNAL`: a signal is being delivered to it.
pub const EVENT_SIGNAL: u8 = 2;
/// `RSEQ_EVENT_MIGRATE`: it moved to another CPU.
pub const EVENT_MIGRATE: u8 = 4;

/// A thread's registration: its `struct rseq`'s address, the length and
/// the abort signature it registered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The user address of the thread's `struct rseq`.
    pub addr: u64,
    /// `rseq_len`.
    pub len: u32,
    /// The signature every abort handler is preceded by.
    pub sig: u32,
}

/// What an accepted `rseq(2)` call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SysRseq {
    /// Register: first read the area's `rseq_cs` and clear it when set
    /// (6.1.y stable kernels, Debian's 6.1.192 among them: `EFAULT` when
    /// that fails, nothing registered), then the `cpu_id` fields are
    /// written on the way out.
    Register(Registration),
    /// Unregister: write `cpu_id_start` 0 and `cpu_id`
    /// [`CPU_ID_UNINITIALIZED`] (`EFAULT` when that fails, the
    /// registration kept), then forget it.
    Unregister,
}

/// `sys_rseq(rseq, rseq_len, flags, sig)` of Linux 6.1 for a thread whose
/// registration is `current`: the error it returns, or what it does.
pub fn sys_rseq(
    current: Option<Registration>,
    addr: u64,
    len: u32,
    flags: i32,
    sig: u32,
) -> Result<SysRseq, Errno> {
    if flags & FLAG_UNREGISTER != 0 {
        if flags & !FLAG_UNREGISTER != 0 {
            return Err(Errno::EINVAL);
        }
        let Some(cur) = current else { return Err(Errno::EINVAL) };
        if cur.addr != addr || cur.len != len {
            return Err(Errno::EINVAL);
        }
        if cur.sig != sig {
            return Err(Errno::EPERM);
        }
        return Ok(SysRseq::Unregister);
    }
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    if let Some(cur) = current {
        // registered: a different area is EINVAL, a different signature
        // EPERM, the same again EBUSY
        if cur.addr != addr || cur.len != len {
            return Err(Errno::EINVAL);
        }
        if cur.sig != sig {
            return Err(Errno::EPERM);
        }
        return Err(Errno::EBUSY);
    }
    if !addr.is_multiple_of(RSEQ_ALIGN) || len != RSEQ_SIZE {
        return Err(Errno::EINVAL);
    }
    if !crate::args::access_ok(addr, len as usize) {
        return Err(Errno::EFAULT);
    }
    Ok(SysRseq::Register(Registration { addr, len, sig }))
}

/// A `struct rseq_cs` (critical-section descriptor) as read from user
/// memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CsDescriptor {
    /// `version` (0 is the only one).
    pub version: u32,
    /// `flags` (the deprecated `RSEQ_CS_FLAG_NO_RESTART_ON_*`: any set
    /// fails an abort decision).
    pub flags: u32,
    /// The first instruction of the section.
    pub start_ip: u64,
    /// Its length: the section is `[start_ip, start_ip + post_commit_offset)`.
    pub post_commit_offset: u64,
    /// Where an aborted section continues (preceded by the signature).
    pub abort_ip: u64,
}

impl CsDescriptor {
    /// The descriptor from its 32 bytes.
    pub fn from_bytes(b: &[u8; CS_SIZE]) -> Self {
        let u32_at = |o: usize| u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u64_at = |o: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[o..o + 8]);
            u64::from_ne_bytes(w)
        };
        CsDescriptor {
            version: u32_at(0),
            flags: u32_at(4),
            start_ip: u64_at(8),
            post_commit_offset: u64_at(16),
            abort_ip: u64_at(24),
        }
    }

    /// `rseq_get_rseq_cs`'s checks of the fields (`EINVAL`): every address
    /// below `TASK_SIZE`, version 0, no wrap-around, the abort handler
    /// outside the section. Returns the address of the signature word
    /// (`abort_ip - 4`), read and compared next.
    pub fn check(&self) -> Result<u64, Errno> {
        let end = self.start_ip.wrapping_add(self.post_commit_offset);
        if self.start_ip >= TASK_SIZE_MAX
            || end >= TASK_SIZE_MAX
            || self.abort_ip >= TASK_SIZE_MAX
            || self.version > 0
        {
            return Err(Errno::EINVAL);
        }
        if end < self.start_ip {
            return Err(Errno::EINVAL);
        }
        if self.abort_ip.wrapping_sub(self.start_ip) < self.post_commit_offset {
            return Err(Errno::EINVAL);
        }
        Ok(self.abort_ip.wrapping_sub(4))
    }

    /// Whether `ip` lies in the section (`in_rseq_cs`).
    pub fn contains(&self, ip: u64) -> bool {
        ip.wrapping_sub(self.start_ip) < self.post_commit_offset
    }
}

/// Whether the descriptor pointer read from `struct rseq` may name a
/// descriptor (`EINVAL` at or above `TASK_SIZE`); 0 names none.
pub fn check_cs_pointer(ptr: u64) -> Result<(), Errno> {
    if ptr >= TASK_SIZE_MAX { Err(Errno::EINVAL) } else { Ok(()) }
}

/// `rseq_need_restart`: with the interrupted ip inside the section, the
/// descriptor's and the thread's flags (any set: `EINVAL`, the deprecated
/// no-restart flags included) and the events since the last look decide
/// whether to move to the abort handler. The caller clears its event
/// mask when this returns `Ok`.
pub fn need_restart(cs_flags: u32, thread_flags: u32, events: u8) -> Result<bool, Errno> {
    if cs_flags != 0 || thread_flags != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(events != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: u32 = 0x5305_3053;

    fn reg(addr: u64) -> Registration {
        Registration { addr, len: 32, sig: SIG }
    }

    #[test]
    fn registration_rules_of_6_1() {
        assert_eq!(sys_rseq(None, 0x4000, 32, 0, SIG), Ok(SysRseq::Register(reg(0x4000))));
        // alignment and the exact length
        assert_eq!(sys_rseq(None, 0x4010, 32, 0, SIG), Err(Errno::EINVAL));
        assert_eq!(sys_rseq(None, 0x4000, 31, 0, SIG), Err(Errno::EINVAL));
        assert_eq!(sys_rseq(None, 0x4000, 64, 0, SIG), Err(Errno::EINVAL));
        assert_eq!(sys_rseq(None, 0x4000, 32, 2, SIG), Err(Errno::EINVAL));
        // a kernel address: EFAULT (an unmapped user one is accepted)
        assert_eq!(sys_rseq(None, 0xffff_8000_0000_0000, 32, 0, SIG), Err(Errno::EFAULT));
        assert_eq!(
            sys_rseq(None, TASK_SIZE_MAX - 32, 32, 0, SIG),
            Ok(SysRseq::Register(reg(TASK_SIZE_MAX - 32)))
        );
        assert_eq!(sys_rseq(None, TASK_SIZE_MAX, 32, 0, SIG), Err(Errno::EFAULT));
        // registered
        let cur = Some(reg(0x4000));
        assert_eq!(sys_rseq(cur, 0x4000, 32, 0, SIG), Err(Errno::EBUSY));
        assert_eq!(sys_rseq(cur, 0x4000, 32, 0, SIG + 1), Err(Errno::EPERM));
        assert_eq!(sys_rseq(cur, 0x4020, 32, 0, SIG), Err(Errno::EINVAL));
        assert_eq!(sys_rseq(cur, 0x4000, 64, 0, SIG), Err(Errno::EINVAL));
    }

    #[test]
    fn unregistration_rules_of_6_1() {
        let cur = Some(reg(0x4000));
        assert_eq!(sys_rseq(cur, 0x4000, 32, FLAG_UNREGISTER, SIG), Ok(SysRseq::Unregister));
        assert_eq!(sys_rseq(cur, 0x4000, 32, FLAG_UNREGISTER, SIG ^ 1), Err(Errno::EPERM));
        assert_eq!(sys_rseq(cur, 0x4020, 32, FLAG_UNREGISTER, SIG), Err(Errno::EINVAL));
        assert_eq!(sys_rseq(cur, 0x4000, 31, FLAG_UNREGISTER, SIG), Err(Errno::EINVAL));
        assert_eq!(sys_rseq(cur, 0x4000, 32, FLAG_UNREGISTER | 2, SIG), Err(Errno::EINVAL));
        assert_eq!(sys_rseq(None, 0x4000, 32, FLAG_UNREGISTER, SIG), Err(Errno::EINVAL));
    }

    fn cs(start: u64, len: u64, abort: u64) -> CsDescriptor {
        CsDescriptor { version: 0, flags: 0, start_ip: start, post_commit_offset: len, abort_ip: abort }
    }

    #[test]
    fn descriptor_checks() {
        assert_eq!(cs(0x1000, 0x10, 0x1020).check(), Ok(0x101c));
        // the abort handler right after the section is outside it
        assert_eq!(cs(0x1000, 0x10, 0x1010).check(), Ok(0x100c));
        assert_eq!(cs(0x1000, 0x10, 0x100f).check(), Err(Errno::EINVAL));
        // before the section is fine too
        assert_eq!(cs(0x1000, 0x10, 0x800).check(), Ok(0x7fc));
        assert_eq!(CsDescriptor { version: 1, ..cs(0x1000, 0x10, 0x1020) }.check(), Err(Errno::EINVAL));
        assert_eq!(cs(TASK_SIZE_MAX, 0, 0x1020).check(), Err(Errno::EINVAL));
        assert_eq!(cs(0x1000, TASK_SIZE_MAX, 0x800).check(), Err(Errno::EINVAL));
        assert_eq!(cs(0x1000, u64::MAX, 0x800).check(), Err(Errno::EINVAL));
        assert_eq!(cs(0x1000, 0x10, TASK_SIZE_MAX).check(), Err(Errno::EINVAL));
        // flags are not looked at here (only when an abort is decided)
        assert_eq!(CsDescriptor { flags: 1, ..cs(0x1000, 0x10, 0x1020) }.check(), Ok(0x101c));
        assert_eq!(check_cs_pointer(0), Ok(()));
        assert_eq!(check_cs_pointer(TASK_SIZE_MAX), Err(Errno::EINVAL));
    }

    #[test]
    fn containment_and_restart() {
        let d = cs(0x1000, 0x10, 0x1020);
        assert!(d.contains(0x1000));
        assert!(d.contains(0x100f));
        assert!(!d.contains(0x1010));
        assert!(!d.contains(0xfff));
        // a zero descriptor (no rseq_cs) contains nothing
        assert!(!CsDescriptor::default().contains(0));
        assert_eq!(need_restart(0, 0, EVENT_PREEMPT), Ok(true));
        assert_eq!(need_restart(0, 0, EVENT_SIGNAL | EVENT_MIGRATE), Ok(true));
        assert_eq!(need_restart(0, 0, 0), Ok(false));
        assert_eq!(need_restart(1, 0, EVENT_PREEMPT), Err(Errno::EINVAL));
        assert_eq!(need_restart(0, 4, EVENT_PREEMPT), Err(Errno::EINVAL));
    }

    #[test]
    fn descriptor_bytes() {
        let mut b = [0u8; CS_SIZE];
        b[4..8].copy_from_slice(&3u32.to_ne_bytes());
        b[8..16].copy_from_slice(&0x1000u64.to_ne_bytes());
        b[16..24].copy_from_slice(&0x10u64.to_ne_bytes());
        b[24..32].copy_from_slice(&0x1020u64.to_ne_bytes());
        assert_eq!(CsDescriptor::from_bytes(&b), CsDescriptor { flags: 3, ..cs(0x1000, 0x10, 0x1020) });
    }
}
