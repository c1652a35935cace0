//! The owner of an open file description (Linux's `struct fown_struct`):
//! who gets SIGIO/SIGURG for it (fcntl's F_SETOWN, F_SETOWN_EX), with which
//! signal (F_SETSIG), and whether O_ASYNC signalling is on for it (with the
//! descriptor reported in `si_fd`).
//!
//! Every [`crate::File`] embeds one ([`crate::File::owner`]); descriptors made
//! by dup(2) and fork(2) share the description, hence its owner.

use alloc::sync::Arc;
use core::any::Any;
use core::fmt;

use linux_abi::{Errno, Result};
use spin::Mutex;

/// `F_OWNER_TID`: the owner is one thread.
pub const F_OWNER_TID: i32 = 0;
/// `F_OWNER_PID`: the owner is a process.
pub const F_OWNER_PID: i32 = 1;
/// `F_OWNER_PGRP`: the owner is a process group.
pub const F_OWNER_PGRP: i32 = 2;

/// `si_code` of a SIGIO: data to read.
pub const POLL_IN: i32 = 1;
/// `si_code` of a SIGIO: room to write.
pub const POLL_OUT: i32 = 2;
/// `si_code` of a SIGIO: a message (a lease break).
pub const POLL_MSG: i32 = 3;
/// `si_code` of a SIGIO: an error.
pub const POLL_ERR: i32 = 4;
/// `si_code` of a SIGIO: urgent data.
pub const POLL_PRI: i32 = 5;
/// `si_code` of a SIGIO: hang-up.
pub const POLL_HUP: i32 = 6;

/// `si_code` `SI_SIGIO`, used for a signal whose own codes would clash.
const SI_SIGIO: i32 = -5;
/// SIGIO (SIGPOLL).
pub const SIGIO: u32 = 29;
/// SIGURG.
pub const SIGURG: u32 = 23;
/// The highest signal number (`_NSIG`).
const NSIG: u64 = 64;

/// Who owns a file: the kind of id of [`OwnerState::pid`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OwnerKind {
    /// One thread (`F_OWNER_TID`, Linux's `PIDTYPE_PID`), the kind of a file
    /// nobody set an owner of.
    #[default]
    Tid,
    /// A process (`F_OWNER_PID`, `PIDTYPE_TGID`): F_SETOWN with a positive id.
    Pid,
    /// A process group (`F_OWNER_PGRP`, `PIDTYPE_PGID`): F_SETOWN with a
    /// negative id.
    Pgrp,
}

impl OwnerKind {
    /// The kind of an `f_owner_ex.type`; `EINVAL` for another value.
    pub fn from_ex(ty: i32) -> Result<Self> {
        match ty {
            F_OWNER_TID => Ok(Self::Tid),
            F_OWNER_PID => Ok(Self::Pid),
            F_OWNER_PGRP => Ok(Self::Pgrp),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The `f_owner_ex.type` of this kind.
    pub fn to_ex(self) -> i32 {
        match self {
            Self::Tid => F_OWNER_TID,
            Self::Pid => F_OWNER_PID,
            Self::Pgrp => F_OWNER_PGRP,
        }
    }
}

/// A snapshot of a file's owner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OwnerState {
    /// The owner's id (a tid, pid or process group id after [`Self::kind`]),
    /// 0 for none.
    pub pid: i32,
    /// What [`Self::pid`] names.
    pub kind: OwnerKind,
    /// The real uid of whoever set the owner (for the permission check of a
    /// SIGIO, Linux's `sigio_perm`).
    pub uid: u32,
    /// The effective uid of whoever set the owner.
    pub euid: u32,
    /// The F_SETSIG signal, 0 for a plain SIGIO.
    pub signum: u32,
}

impl OwnerState {
    /// Whether a signal of the owner may reach a process with real uid
    /// `uid` and saved uid `suid` (Linux's `sigio_perm`: the setter's
    /// credentials at F_SETOWN time, root's euid passing all).
    pub fn may_signal(&self, uid: u32, suid: u32) -> bool {
        self.euid == 0 || self.euid == suid || self.euid == uid || self.uid == suid || self.uid == uid
    }
}

/// A file's owner and signal (Linux's `fown_struct`), and its O_ASYNC
/// descriptor. Each method takes the small lock once.
#[derive(Default)]
pub struct FileOwner {
    state: Mutex<OwnerState>,
    /// The descriptor given to the O_ASYNC switch (F_SETFL, FIOASYNC): the
    /// `si_fd` of the signals; `None` while O_ASYNC signalling is off.
    async_fd: Mutex<Option<i32>>,
    /// What the kernel hooked on the file's wake-ups while O_ASYNC is on
    /// (kept here so it lives as long as the description).
    hook: Mutex<Option<Arc<dyn Any + Send + Sync>>>,
    /// Held across a change of the status flags with its O_ASYNC switch
    /// ([`FileOwner::with_setfl`]).
    setfl: Mutex<()>,
}

impl fmt::Debug for FileOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileOwner")
            .field("state", &self.get())
            .field("async_fd", &self.async_fd())
            .finish_non_exhaustive()
    }
}

impl FileOwner {
    /// No owner, plain SIGIO, no O_ASYNC.
    pub const fn new() -> Self {
        Self {
            state: Mutex::new(OwnerState { pid: 0, kind: OwnerKind::Tid, uid: 0, euid: 0, signum: 0 }),
            async_fd: Mutex::new(None),
            hook: Mutex::new(None),
            setfl: Mutex::new(()),
        }
    }

    /// Runs `f` under the description's status lock (Linux's `f_lock` in
    /// setfl and ioctl_fionbio): a kernel that switches O_ASYNC's hook and
    /// then stores the status flags in `f` makes both one step for a
    /// concurrent F_SETFL, FIOASYNC or FIONBIO, so the flag and the hook
    /// cannot end apart. Not taken by anything else here; `f` must not
    /// sleep.
    pub fn with_setfl<R>(&self, f: impl FnOnce() -> R) -> R {
        let _g = self.setfl.lock();
        f()
    }

    /// The owner now.
    pub fn get(&self) -> OwnerState {
        *self.state.lock()
    }

    /// Linux's `f_modown`: `pid` of `kind` becomes the owner, set by a
    /// caller with real and effective uids `uid`, `euid` (kept as they were
    /// when `pid` is 0). Without `force`, only when the file has no owner
    /// yet (a lease's holder).
    pub fn set(&self, pid: i32, kind: OwnerKind, uid: u32, euid: u32, force: bool) {
        let mut s = self.state.lock();
        if force || s.pid == 0 {
            s.pid = pid;
            s.kind = kind;
            if pid != 0 {
                s.uid = uid;
                s.euid = euid;
            }
        }
    }

    /// F_SETSIG: 0 (plain SIGIO) up to 64; `EINVAL` beyond (a negative
    /// `int` included, as Linux's `valid_signal` of an unsigned value).
    pub fn set_signal(&self, arg: i32) -> Result<()> {
        let sig = arg as u32;
        if u64::from(sig) > NSIG || arg < 0 {
            return Err(Errno::EINVAL);
        }
        self.state.lock().signum = sig;
        Ok(())
    }

    /// F_GETSIG.
    pub fn signal(&self) -> u32 {
        self.state.lock().signum
    }

    /// Turns O_ASYNC signalling on (with descriptor `fd`, reported in
    /// `si_fd`) or off (`None`).
    pub fn set_async(&self, fd: Option<i32>) {
        *self.async_fd.lock() = fd;
    }

    /// Puts the kernel's O_ASYNC hook in place of the one before, which is
    /// handed back (for the caller to drop with no lock held).
    pub fn replace_hook(
        &self,
        hook: Option<Arc<dyn Any + Send + Sync>>,
    ) -> Option<Arc<dyn Any + Send + Sync>> {
        core::mem::replace(&mut *self.hook.lock(), hook)
    }

    /// The O_ASYNC descriptor, `None` while O_ASYNC signalling is off.
    pub fn async_fd(&self) -> Option<i32> {
        *self.async_fd.lock()
    }
}

/// F_SETOWN's argument: a process (positive), a process group (negative)
/// or nobody (0). `EINVAL` for `INT_MIN`, which has no positive value.
pub fn setown_target(arg: i32) -> Result<(i32, OwnerKind)> {
    match arg {
        i32::MIN => Err(Errno::EINVAL),
        a if a < 0 => Ok((-a, OwnerKind::Pgrp)),
        a => Ok((a, OwnerKind::Pid)),
    }
}

/// F_GETOWN's value of `s`, whose owner `alive` says still exists: a
/// process group as its negative id, 0 when the owner is gone or unset.
pub fn getown_value(s: &OwnerState, alive: bool) -> i32 {
    if !alive || s.pid == 0 {
        return 0;
    }
    if s.kind == OwnerKind::Pgrp { -s.pid } else { s.pid }
}

/// The signals whose `si_code`s are their own (Linux's
/// `SIG_SPECIFIC_SICODES_MASK`: SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV,
/// SIGCHLD, SIGPOLL, SIGSYS).
fn specific_sicodes(sig: u32) -> bool {
    matches!(sig, 4 | 5 | 7 | 8 | 11 | 17 | 29 | 31)
}

/// What a SIGIO for `reason` (`POLL_IN`...`POLL_HUP`) on a file whose
/// F_SETSIG signal is `signum` carries (Linux's `send_sigio_to_task`):
/// `None` for the plain SIGIO of `signum` 0 (kernel-sent, no fields); else
/// the signal, `si_code` (`reason`, or `SI_SIGIO` for a signal with codes
/// of its own other than SIGPOLL) and `si_band` (the poll bits of the
/// reason).
pub fn sigio_fields(signum: u32, reason: i32) -> Option<(u32, i32, i64)> {
    if signum == 0 {
        return None;
    }
    const IN: u32 = 0x001;
    const PRI: u32 = 0x002;
    const OUT: u32 = 0x004;
    const ERR: u32 = 0x008;
    const HUP: u32 = 0x010;
    const RDNORM: u32 = 0x040;
    const RDBAND: u32 = 0x080;
    const WRNORM: u32 = 0x100;
    const WRBAND: u32 = 0x200;
    const MSG: u32 = 0x400;
    let band = match reason {
        POLL_IN => IN | RDNORM,
        POLL_OUT => OUT | WRNORM | WRBAND,
        POLL_MSG => IN | RDNORM | MSG,
        POLL_ERR => ERR,
        POLL_PRI => PRI | RDBAND,
        POLL_HUP => HUP | ERR,
        _ => return Some((signum, reason, -1)),
    };
    let code = if signum != SIGIO && specific_sicodes(signum) { SI_SIGIO } else { reason };
    Some((signum, code, i64::from(band)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setown_kinds_and_getown_of_a_group_is_negative() {
        assert_eq!(setown_target(42), Ok((42, OwnerKind::Pid)));
        assert_eq!(setown_target(-7), Ok((7, OwnerKind::Pgrp)));
        assert_eq!(setown_target(0), Ok((0, OwnerKind::Pid)));
        assert_eq!(setown_target(i32::MIN), Err(Errno::EINVAL));
        let o = FileOwner::new();
        let (pid, kind) = setown_target(-7).unwrap();
        o.set(pid, kind, 1000, 1001, true);
        assert_eq!(getown_value(&o.get(), true), -7);
        assert_eq!(getown_value(&o.get(), false), 0);
        assert_eq!((o.get().uid, o.get().euid), (1000, 1001));
        // clearing keeps the setter's ids, as f_modown does
        o.set(0, OwnerKind::Pid, 5, 5, true);
        assert_eq!(o.get(), OwnerState { pid: 0, kind: OwnerKind::Pid, uid: 1000, euid: 1001, signum: 0 });
    }

    #[test]
    fn unforced_set_only_without_an_owner() {
        let o = FileOwner::new();
        o.set(3, OwnerKind::Pid, 0, 0, false);
        o.set(4, OwnerKind::Pid, 0, 0, false);
        assert_eq!(o.get().pid, 3);
        o.set(4, OwnerKind::Tid, 0, 0, true);
        assert_eq!((o.get().pid, o.get().kind), (4, OwnerKind::Tid));
    }

    #[test]
    fn setsig_range_and_ex_types() {
        let o = FileOwner::new();
        assert_eq!(o.set_signal(65), Err(Errno::EINVAL));
        assert_eq!(o.set_signal(-1), Err(Errno::EINVAL));
        assert_eq!(o.signal(), 0);
        o.set_signal(64).unwrap();
        assert_eq!(o.signal(), 64);
        o.set_signal(0).unwrap();
        assert_eq!(o.signal(), 0);
        assert_eq!(OwnerKind::from_ex(3), Err(Errno::EINVAL));
        assert_eq!(OwnerKind::from_ex(-1), Err(Errno::EINVAL));
        for t in 0..3 {
            assert_eq!(OwnerKind::from_ex(t).unwrap().to_ex(), t);
        }
        assert_eq!(OwnerKind::default().to_ex(), F_OWNER_TID);
    }

    #[test]
    fn sigio_fields_as_send_sigio_to_task() {
        assert_eq!(sigio_fields(0, POLL_IN), None);
        assert_eq!(sigio_fields(34, POLL_IN), Some((34, POLL_IN, 0x41)));
        assert_eq!(sigio_fields(SIGIO, POLL_OUT), Some((SIGIO, POLL_OUT, 0x304)));
        assert_eq!(sigio_fields(34, POLL_HUP), Some((34, POLL_HUP, 0x18)));
        assert_eq!(sigio_fields(34, POLL_MSG), Some((34, POLL_MSG, 0x441)));
        // SIGCHLD has codes of its own: SI_SIGIO instead
        assert_eq!(sigio_fields(17, POLL_IN), Some((17, SI_SIGIO, 0x41)));
        assert_eq!(sigio_fields(10, POLL_PRI), Some((10, POLL_PRI, 0x82)));
    }

    #[test]
    fn sigio_perm_rule() {
        let s = OwnerState { pid: 1, kind: OwnerKind::Pid, uid: 1000, euid: 1000, signum: 0 };
        assert!(s.may_signal(1000, 1000));
        assert!(s.may_signal(5, 1000));
        assert!(!s.may_signal(5, 6));
        let root = OwnerState { euid: 0, ..s };
        assert!(root.may_signal(5, 6));
        let async_ = FileOwner::new();
        assert_eq!(async_.async_fd(), None);
        async_.set_async(Some(9));
        assert_eq!(async_.async_fd(), Some(9));
    }
}
