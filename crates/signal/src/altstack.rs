//! The alternate signal stack of a thread (sigaltstack(2)).

use linux_abi::{Errno, Result};

use crate::action::{SaFlags, SigAction};

/// `ss_flags`: the thread is running on the alternate stack (read), or
/// enable the stack (write; same as 0).
pub const SS_ONSTACK: i32 = 1;
/// `ss_flags`: the alternate stack is disabled.
pub const SS_DISABLE: i32 = 2;
/// `ss_flags`: disarm the stack while a handler runs on it (Linux 4.7).
pub const SS_AUTODISARM: i32 = i32::MIN;
/// The smallest alternate stack Linux accepts on x86_64 and in
/// asm-generic (`MINSIGSTKSZ`); some architectures need more, so
/// [`AltStack::sigaltstack`] takes the minimum as an argument.
pub const MINSIGSTKSZ: u64 = 2048;
/// The suggested alternate stack size (`SIGSTKSZ`).
pub const SIGSTKSZ: u64 = 8192;

/// The size of `stack_t` on 64-bit Linux.
pub const STACK_T_SIZE: usize = 24;

/// Linux's `stack_t`: `{ void *ss_sp; int ss_flags; size_t ss_size; }`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct StackT {
    /// Base (lowest address) of the stack.
    pub sp: u64,
    /// `SS_ONSTACK`, `SS_DISABLE`, possibly with `SS_AUTODISARM`.
    pub flags: i32,
    /// Size in bytes.
    pub size: u64,
}

impl StackT {
    /// A `stack_t` of `size` bytes from `sp` with `flags`.
    pub const fn new(sp: u64, flags: i32, size: u64) -> StackT {
        StackT { sp, flags, size }
    }

    /// The 24-byte user `stack_t` (ss_sp at 0, ss_flags at 8, ss_size at 16).
    pub fn to_bytes(&self) -> [u8; STACK_T_SIZE] {
        let mut b = [0u8; STACK_T_SIZE];
        let (sp, rest) = b.split_at_mut(8);
        sp.copy_from_slice(&self.sp.to_le_bytes());
        let (flags, rest) = rest.split_at_mut(8);
        flags[..4].copy_from_slice(&self.flags.to_le_bytes());
        rest.copy_from_slice(&self.size.to_le_bytes());
        b
    }

    /// Reads a user `stack_t`.
    pub fn from_bytes(b: &[u8; STACK_T_SIZE]) -> StackT {
        let mut sp = [0u8; 8];
        let mut flags = [0u8; 4];
        let mut size = [0u8; 8];
        sp.copy_from_slice(&b[0..8]);
        flags.copy_from_slice(&b[8..12]);
        size.copy_from_slice(&b[16..24]);
        StackT {
            sp: u64::from_le_bytes(sp),
            flags: i32::from_le_bytes(flags),
            size: u64::from_le_bytes(size),
        }
    }
}

#[cfg(target_pointer_width = "64")]
mod layout_checks {
    #[allow(dead_code)]
    #[repr(C)]
    struct CStackT {
        ss_sp: *mut core::ffi::c_void,
        ss_flags: core::ffi::c_int,
        ss_size: usize,
    }
    static_assertions::assert_eq_size!(CStackT, [u8; super::STACK_T_SIZE]);
    static_assertions::const_assert_eq!(core::mem::offset_of!(CStackT, ss_flags), 8);
    static_assertions::const_assert_eq!(core::mem::offset_of!(CStackT, ss_size), 16);
}

/// A thread's alternate signal stack settings (Linux's `sas_ss_sp`,
/// `sas_ss_size`, `sas_ss_flags`). The default is no stack.
///
/// Stacks grow down: a stack pointer `sp` is on the alternate stack when
/// `base < sp <= base + size`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AltStack {
    sp: u64,
    size: u64,
    flags: i32,
}

impl AltStack {
    /// No alternate stack.
    pub const fn new() -> AltStack {
        AltStack { sp: 0, size: 0, flags: 0 }
    }

    /// Whether `sp` is on the alternate stack (Linux's `on_sig_stack()`):
    /// never with `SS_AUTODISARM`, whose stack is disarmed while in use.
    pub fn on_stack(&self, sp: u64) -> bool {
        if self.flags & SS_AUTODISARM != 0 {
            return false;
        }
        sp > self.sp && sp - self.sp <= self.size
    }

    /// The `ss_flags` sigaltstack(2) reports for a thread at `sp`:
    /// `SS_DISABLE` without a stack, `SS_ONSTACK` on it, else 0; plus
    /// `SS_AUTODISARM` if it was set.
    pub fn flags(&self, sp: u64) -> i32 {
        self.mode(sp) | (self.flags & SS_AUTODISARM)
    }

    /// Linux's `sas_ss_flags()`: `SS_DISABLE`, `SS_ONSTACK` or 0.
    fn mode(&self, sp: u64) -> i32 {
        if self.size == 0 {
            SS_DISABLE
        } else if self.on_stack(sp) {
            SS_ONSTACK
        } else {
            0
        }
    }

    /// The current settings as `old_ss` of sigaltstack(2), for a thread
    /// whose user stack pointer is `sp`.
    pub fn get(&self, sp: u64) -> StackT {
        StackT { sp: self.sp, flags: self.flags(sp), size: self.size }
    }

    /// sigaltstack(2): returns the old settings (as [`get`](Self::get))
    /// and applies `new` if given. Errors (sigaltstack(2) ERRORS, Linux's
    /// `do_sigaltstack()`): `EPERM` while running on the stack; `EINVAL`
    /// for `ss_flags` other than 0, `SS_ONSTACK` or `SS_DISABLE` (each
    /// possibly with `SS_AUTODISARM`); `ENOMEM` for a size under `min_size`
    /// ([`MINSIGSTKSZ`]) unless disabling. `SS_DISABLE` ignores `ss_sp`
    /// and `ss_size`.
    pub fn sigaltstack(&mut self, new: Option<StackT>, sp: u64, min_size: u64) -> Result<StackT> {
        let old = self.get(sp);
        let Some(new) = new else { return Ok(old) };
        if self.on_stack(sp) {
            return Err(Errno::EPERM);
        }
        let mode = new.flags & !SS_AUTODISARM;
        if mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0 {
            return Err(Errno::EINVAL);
        }
        if self.sp == new.sp && self.size == new.size && self.flags == new.flags {
            return Ok(old);
        }
        if mode == SS_DISABLE {
            *self = AltStack { sp: 0, size: 0, flags: new.flags };
        } else if new.size < min_size {
            return Err(Errno::ENOMEM);
        } else {
            *self = AltStack { sp: new.sp, size: new.size, flags: new.flags };
        }
        Ok(old)
    }

    /// Where the signal frame for a handler goes (Linux's `sigsp()`): the
    /// top of the alternate stack if the handler has `SA_ONSTACK` and the
    /// stack is enabled and not already in use, else `sp`. After building
    /// the frame call [`frame_built`](Self::frame_built).
    pub fn frame_top(&self, sp: u64, action: &SigAction) -> u64 {
        if action.flags.contains(SaFlags::ONSTACK) && self.mode(sp) == 0 {
            self.sp.wrapping_add(self.size)
        } else {
            sp
        }
    }

    /// After a signal frame is built (and the old settings saved in its
    /// `uc_stack`): an `SS_AUTODISARM` stack is disabled until sigreturn
    /// restores the saved settings (sigaltstack(2), SS_AUTODISARM).
    pub fn frame_built(&mut self) {
        if self.flags & SS_AUTODISARM != 0 {
            self.reset();
        }
    }

    /// Removes the alternate stack: execve(2) ("clears the alternate signal
    /// stack settings") and clone(2) with `CLONE_VM` but not `CLONE_VFORK`.
    pub fn reset(&mut self) {
        *self = AltStack::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigset::SigSet;

    const BASE: u64 = 0x7000_0000;

    fn enabled() -> AltStack {
        let mut a = AltStack::new();
        let old =
            a.sigaltstack(Some(StackT { sp: BASE, flags: 0, size: SIGSTKSZ }), 0x1000, MINSIGSTKSZ).unwrap();
        assert_eq!(old, StackT { sp: 0, flags: SS_DISABLE, size: 0 });
        a
    }

    #[test]
    fn default_is_disabled() {
        // sigaltstack(2): SS_DISABLE "The alternate signal stack is disabled."
        assert_eq!(AltStack::new().get(123), StackT { sp: 0, flags: SS_DISABLE, size: 0 });
    }

    #[test]
    fn on_stack_test_and_reported_flags() {
        // sigaltstack(2): SS_ONSTACK "The thread is currently executing on
        // the alternate signal stack."
        let a = enabled();
        assert_eq!(a.get(0x1000), StackT { sp: BASE, flags: 0, size: SIGSTKSZ });
        assert!(!a.on_stack(BASE), "the base is one past the stack");
        assert!(a.on_stack(BASE + 1));
        assert!(a.on_stack(BASE + SIGSTKSZ));
        assert!(!a.on_stack(BASE + SIGSTKSZ + 1));
        assert_eq!(a.flags(BASE + 100), SS_ONSTACK);
    }

    #[test]
    fn eperm_while_on_the_stack() {
        // sigaltstack(2) ERRORS: EPERM "An attempt was made to change the
        // alternate signal stack while it was active".
        let mut a = enabled();
        let r = a.sigaltstack(Some(StackT { sp: 0, flags: SS_DISABLE, size: 0 }), BASE + 16, MINSIGSTKSZ);
        assert_eq!(r, Err(Errno::EPERM));
        // Reading is fine.
        assert_eq!(a.sigaltstack(None, BASE + 16, MINSIGSTKSZ).map(|s| s.flags), Ok(SS_ONSTACK));
    }

    #[test]
    fn einval_for_bad_flags() {
        // sigaltstack(2) ERRORS: EINVAL "ss is not a null pointer, and the
        // ss_flags field contains a nonzero value other than SS_DISABLE".
        let mut a = AltStack::new();
        for flags in [4, 3, SS_DISABLE | 8] {
            let r = a.sigaltstack(Some(StackT { sp: BASE, flags, size: SIGSTKSZ }), 0, MINSIGSTKSZ);
            assert_eq!(r, Err(Errno::EINVAL), "{flags}");
        }
        // SS_ONSTACK on input is accepted as "enable" (Linux compatibility).
        let r = a.sigaltstack(Some(StackT { sp: BASE, flags: SS_ONSTACK, size: SIGSTKSZ }), 0, MINSIGSTKSZ);
        assert!(r.is_ok());
        assert_eq!(a.get(0).flags, 0);
    }

    #[test]
    fn enomem_below_minsigstksz() {
        // sigaltstack(2) ERRORS: ENOMEM "The specified size of the new
        // alternate signal stack ss.ss_size was less than MINSIGSTKSZ."
        let mut a = AltStack::new();
        let r = a.sigaltstack(Some(StackT { sp: BASE, flags: 0, size: MINSIGSTKSZ - 1 }), 0, MINSIGSTKSZ);
        assert_eq!(r, Err(Errno::ENOMEM));
        assert_eq!(a, AltStack::new());
        let r = a.sigaltstack(Some(StackT { sp: BASE, flags: 0, size: MINSIGSTKSZ }), 0, MINSIGSTKSZ);
        assert!(r.is_ok());
        // Disabling ignores the size.
        let r = a.sigaltstack(Some(StackT { sp: 5, flags: SS_DISABLE, size: 1 }), 0, MINSIGSTKSZ);
        assert_eq!(r.map(|s| s.size), Ok(MINSIGSTKSZ));
        assert_eq!(a.get(0), StackT { sp: 0, flags: SS_DISABLE, size: 0 });
    }

    #[test]
    fn frame_goes_on_the_alt_stack_with_sa_onstack() {
        // sigaction(2) SA_ONSTACK; kernel sigsp(): top of the alternate stack
        // unless already on it or disabled.
        let a = enabled();
        let onstack = SigAction::handler(0x1000, SaFlags::ONSTACK, SigSet::EMPTY);
        let plain = SigAction::handler(0x1000, SaFlags::empty(), SigSet::EMPTY);
        assert_eq!(a.frame_top(0x5000, &onstack), BASE + SIGSTKSZ);
        assert_eq!(a.frame_top(0x5000, &plain), 0x5000);
        assert_eq!(a.frame_top(BASE + 64, &onstack), BASE + 64, "nested: stay where we are");
        assert_eq!(AltStack::new().frame_top(0x5000, &onstack), 0x5000);
    }

    #[test]
    fn autodisarm() {
        // sigaltstack(2) SS_AUTODISARM: "Clear the alternate signal stack
        // settings on entry to the signal handler."
        let mut a = AltStack::new();
        let ss = StackT { sp: BASE, flags: SS_AUTODISARM, size: SIGSTKSZ };
        let _ = a.sigaltstack(Some(ss), 0, MINSIGSTKSZ).unwrap();
        assert_eq!(a.get(0).flags, SS_AUTODISARM);
        assert!(!a.on_stack(BASE + 8), "an autodisarm stack is never reported in use");
        let onstack = SigAction::handler(0x1000, SaFlags::ONSTACK, SigSet::EMPTY);
        // Even from inside the stack the frame goes to its top (Linux's
        // sigsp() with on_sig_stack() false under SS_AUTODISARM).
        assert_eq!(a.frame_top(0x5000, &onstack), BASE + SIGSTKSZ);
        assert_eq!(a.frame_top(BASE + 8, &onstack), BASE + SIGSTKSZ);
        a.frame_built();
        assert_eq!(a.get(0).flags, SS_DISABLE);
    }

    #[test]
    fn stack_t_bytes() {
        let s = StackT { sp: 0x1122_3344_5566_7788, flags: SS_DISABLE, size: 0x99 };
        let b = s.to_bytes();
        assert_eq!(&b[8..12], &2i32.to_le_bytes());
        assert_eq!(&b[12..16], &[0; 4]);
        assert_eq!(StackT::from_bytes(&b), s);
    }
}
