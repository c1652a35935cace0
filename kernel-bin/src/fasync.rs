//! The owner of a file and O_ASYNC (Linux's fs/fcntl.c `f_setown`,
//! `send_sigio`, `fasync_helper`/`kill_fasync`): fcntl's F_SETOWN,
//! F_GETOWN, F_SETSIG, F_GETSIG, F_SETOWN_EX, F_GETOWN_EX,
//! F_GETOWNER_UIDS over each description's [`vfs::FileOwner`], and the
//! signals.
//!
//! O_ASYNC on a file of a kind with Linux's `fasync` ([`vfs::File::fasync`]:
//! pipes, FIFOs, sockets, terminals, inotify) hangs a [`Hook`] on the
//! file's wait queue (a relay, as epoll's); each wake-up of the queue sends
//! the owner SIGIO (or the F_SETSIG signal with `si_code`, `si_band`,
//! `si_fd`): `POLL_OUT` for a write-only file, else `POLL_IN` while it is
//! readable, `POLL_HUP` on a hang-up, `POLL_OUT` when it becomes writable.
//! Linux sends per event (a write to a pipe, a read from it), this per
//! wake-up of the queue: a partial read that wakes a reader's queue
//! signals once more than Linux would. The hook is kept by the description
//! ([`vfs::FileOwner::replace_hook`]), holds the file weakly, and is called
//! with no queue lock held; it takes the process table's lock.

use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicBool, Ordering};

use linux_abi::{Errno, Result};
use process::pid::Pid;
use process::table::SigioTarget;
use signal::SigInfo;
use vfs::{File, FileOwner, OwnerKind};

use crate::proc::table;
use crate::sched::Relay;
use crate::syscall::SysResult;
use crate::uthread::UThread;
use linux_abi::args::{UserPtr, UserSlice};

const F_SETOWN: u64 = 8;
const F_GETOWN: u64 = 9;
const F_SETSIG: u64 = 10;
const F_GETSIG: u64 = 11;
const F_SETOWN_EX: u64 = 15;
const F_GETOWN_EX: u64 = 16;
const F_GETOWNER_UIDS: u64 = 17;

/// Whether `cmd` is one of the owner commands [`fcntl`] answers.
pub fn is_owner_cmd(cmd: u64) -> bool {
    matches!(cmd, F_SETOWN | F_GETOWN | F_SETSIG | F_GETSIG | F_SETOWN_EX | F_GETOWN_EX | F_GETOWNER_UIDS)
}

fn target(kind: OwnerKind) -> SigioTarget {
    match kind {
        OwnerKind::Tid => SigioTarget::Thread,
        OwnerKind::Pid => SigioTarget::Process,
        OwnerKind::Pgrp => SigioTarget::Group,
    }
}

/// The caller's real and effective uids (recorded with the owner).
fn uids(t: &UThread) -> (u32, u32) {
    // (a caller always exists; were it gone, no id that passes sigio_perm)
    table().with_process(t.pid, |p| (p.creds().uid, p.creds().euid)).unwrap_or((u32::MAX, u32::MAX))
}

/// Linux's `__f_setown(filp, pid, type, force)` from thread `t`: `ESRCH`
/// when a non-zero `pid` names nothing (`find_vpid`).
pub fn setown(t: &UThread, file: &dyn File, pid: i32, kind: OwnerKind, force: bool) -> Result<()> {
    if pid != 0 && (pid < 0 || !table().pid_in_use(pid as Pid)) {
        return Err(Errno::ESRCH);
    }
    let (uid, euid) = uids(t);
    file.owner().set(pid, kind, uid, euid, force);
    Ok(())
}

/// The kernel pid of number `nr` of `t`'s PID namespace (`find_vpid`):
/// `ESRCH` when it has none; 0 stays 0 (no owner).
fn kernel_nr(t: &UThread, nr: i32) -> Result<i32> {
    if nr <= 0 {
        return Ok(nr);
    }
    table().pid_from(t.tid, nr as Pid).map(|p| p as i32).ok_or(Errno::ESRCH)
}

/// fcntl's owner commands on `file`.
pub fn fcntl(t: &mut UThread, file: &dyn File, cmd: u64, arg: u64) -> SysResult {
    let owner = file.owner();
    match cmd {
        F_SETOWN => {
            // the argument is an int (a sign-extended one from the ioctls)
            let (pid, kind) = vfs::setown_target(arg as u32 as i32)?;
            setown(t, file, kernel_nr(t, pid)?, kind, true)?;
            Ok(0)
        }
        F_GETOWN => {
            let mut s = owner.get();
            let alive = s.pid > 0 && table().sigio_target_alive(s.pid as Pid, target(s.kind));
            if alive {
                // f_getown: pid_vnr, 0 when the caller's namespace does not see it
                s.pid = table().pid_seen(t.tid, s.pid as Pid) as i32;
            }
            Ok(vfs::getown_value(&s, alive) as isize)
        }
        F_SETSIG => owner.set_signal(arg as i32).map(|_| 0),
        F_GETSIG => Ok(owner.signal() as isize),
        F_SETOWN_EX => {
            let raw = t.read_slice(UserSlice::new(arg, 8))?;
            let ty = i32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
            let pid = i32::from_ne_bytes([raw[4], raw[5], raw[6], raw[7]]);
            let kind = OwnerKind::from_ex(ty)?;
            setown(t, file, kernel_nr(t, pid)?, kind, true)?;
            Ok(0)
        }
        F_GETOWN_EX => {
            let s = owner.get();
            let alive = s.pid > 0 && table().sigio_target_alive(s.pid as Pid, target(s.kind));
            let mut raw = [0u8; 8];
            raw[..4].copy_from_slice(&s.kind.to_ex().to_ne_bytes());
            let seen = if alive { table().pid_seen(t.tid, s.pid as Pid) as i32 } else { 0 };
            raw[4..].copy_from_slice(&seen.to_ne_bytes());
            t.write_slice(arg, &raw)?;
            Ok(0)
        }
        F_GETOWNER_UIDS => {
            // f_getowner_uids: from_kuid into the caller's namespace
            // ((uid_t)-1 when unmapped there)
            let s = owner.get();
            let id = |k| t.user_ns.uid_from_exact(k).unwrap_or(u32::MAX);
            let (uid, euid) = (id(s.uid), id(s.euid));
            t.write(UserPtr::<u32>::new(arg), uid)?;
            t.write(UserPtr::<u32>::new(arg + 4), euid)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

const FIOSETOWN: u32 = 0x8901;
const SIOCSPGRP: u32 = 0x8902;
const FIOGETOWN: u32 = 0x8903;
const SIOCGPGRP: u32 = 0x8904;

/// sock_ioctl's owner commands on socket `file`: FIOSETOWN and SIOCSPGRP
/// (F_SETOWN with the `int` at `arg`), FIOGETOWN and SIOCGPGRP (F_GETOWN's
/// value to `arg`). `None` for other commands.
pub fn sock_ioctl(t: &mut UThread, file: &dyn File, cmd: u32, arg: u64) -> Option<SysResult> {
    Some(match cmd {
        FIOSETOWN | SIOCSPGRP => {
            t.read(UserPtr::<i32>::new(arg)).and_then(|who| fcntl(t, file, F_SETOWN, who as u64))
        }
        FIOGETOWN | SIOCGPGRP => {
            fcntl(t, file, F_GETOWN, 0).and_then(|v| t.write(UserPtr::<i32>::new(arg), v as i32).map(|_| 0))
        }
        _ => return None,
    })
}

/// Linux's `send_sigio(fown, fd, reason)`: the owner of `owner` gets its
/// F_SETSIG signal about descriptor `fd` for `reason` (`POLL_IN`...), or a
/// plain SIGIO; nothing without an owner.
pub fn send_sigio(owner: &FileOwner, fd: i32, reason: i32) {
    let s = owner.get();
    if s.pid <= 0 {
        return;
    }
    let plain = SigInfo::kernel(signal::SIGIO);
    let info = match vfs::sigio_fields(s.signum, reason) {
        Some((sig, code, band)) => match signal::SigNum::new(sig as i32) {
            Ok(sig) => SigInfo::poll(sig, code, band, fd),
            Err(_) => plain,
        },
        None => plain,
    };
    table().send_sigio(
        s.pid as Pid,
        target(s.kind),
        |c| s.may_signal(c.uid, c.suid),
        info,
        plain,
        &crate::proc::Hooks,
    );
}

/// Linux's `sk_send_sigurg` for a socket's file: SIGURG (SI_KERNEL) to
/// the owner of `owner` (`send_sigurg`, nothing without one), then, with
/// O_ASYNC on and an F_SETSIG signal, that signal with `POLL_PRI`
/// (`kill_fasync(SIGURG, POLL_PRI)`).
pub fn send_sigurg(owner: &FileOwner) {
    let s = owner.get();
    if s.pid <= 0 {
        return;
    }
    let info = SigInfo::kernel(signal::SIGURG);
    table().send_sigio(
        s.pid as Pid,
        target(s.kind),
        |c| s.may_signal(c.uid, c.suid),
        info,
        info,
        &crate::proc::Hooks,
    );
    if s.signum != 0
        && let Some(fd) = owner.async_fd()
    {
        send_sigio(owner, fd, vfs::POLL_PRI);
    }
}

/// The relay O_ASYNC hangs on a file's wait queue.
struct Hook {
    file: Weak<dyn File>,
    fd: i32,
    /// Whether the file was writable when last looked at (POLL_OUT is sent
    /// when it becomes so).
    writable: AtomicBool,
    /// Set while [`Relay::relayed`] runs: the console's poll pumps input,
    /// which wakes the queue and so this hook again; the inner call is
    /// dropped (the outer one's poll sees what it would have).
    busy: AtomicBool,
}

impl Relay for Hook {
    fn relayed(&self) {
        if self.busy.swap(true, Ordering::Acquire) {
            return;
        }
        self.relay();
        self.busy.store(false, Ordering::Release);
    }
}

impl Hook {
    fn relay(&self) {
        let Some(file) = self.file.upgrade() else { return };
        let m = file.poll();
        let out = m & vfs::POLLOUT != 0;
        let was = self.writable.swap(out, Ordering::Relaxed);
        let reason = if file.status_flags() & vfs::O_ACCMODE == vfs::O_WRONLY {
            Some(vfs::POLL_OUT)
        } else if m & vfs::POLLIN != 0 {
            Some(vfs::POLL_IN)
        } else if m & vfs::POLLHUP != 0 {
            Some(vfs::POLL_HUP)
        } else if out && !was {
            Some(vfs::POLL_OUT)
        } else {
            None
        };
        if let Some(r) = reason {
            send_sigio(file.owner(), self.fd, r);
        }
        drop(file);
    }
}

/// A change of `file`'s status flags through descriptor `fd` (fcntl's
/// F_SETFL, FIOASYNC, FIONBIO): `new` gives the flags from the current
/// ones; a change of O_ASYNC on a file with `fasync` switches the hook
/// first (on a file without one O_ASYNC is dropped: Linux's setfl keeps it
/// only through `fasync`). Under the description's status lock, as Linux's
/// setfl under `f_lock`: two threads turning O_ASYNC on and off cannot
/// leave the flag and the hook apart. The old hook is dropped after it.
pub fn setfl(fd: i32, file: &Arc<dyn File>, new: impl Fn(u32) -> u32) -> Result<()> {
    let fasync = file.fasync();
    // the new hook's first look at the file, before the lock (a poll may
    // pump the console's input and so call relays, which take the table)
    let polled = (fasync && new(file.status_flags()) & vfs::O_ASYNC != 0).then(|| file.poll());
    let old = file.owner().with_setfl(|| {
        let cur = file.status_flags();
        let mut flags = new(cur);
        let mut old = None;
        if !fasync {
            flags &= !vfs::O_ASYNC;
        } else if (cur ^ flags) & vfs::O_ASYNC != 0 {
            old = switch(fd, file, flags & vfs::O_ASYNC != 0, polled);
        }
        file.set_status_flags(flags);
        old
    });
    drop(old);
    Ok(())
}

/// O_ASYNC turned on (with descriptor `fd`) or off for `file` (Linux's
/// `fasync_helper` from setfl and FIOASYNC), under [`setfl`]'s lock, with
/// the file's poll mask taken before it (`None`: polled now); the hook
/// replaced is handed back to be dropped after it.
fn switch(fd: i32, file: &Arc<dyn File>, on: bool, polled: Option<u32>) -> Option<Arc<Hook>> {
    let owner = file.owner();
    let queue = crate::sched::queue_of(&**file);
    let old = if on {
        let hook = Arc::new(Hook {
            file: Arc::downgrade(file),
            fd,
            writable: AtomicBool::new(polled.unwrap_or_else(|| file.poll()) & vfs::POLLOUT != 0),
            busy: AtomicBool::new(false),
        });
        if let Some(q) = &queue {
            q.add_relay(&hook);
        }
        owner.set_async(Some(fd));
        owner.replace_hook(Some(hook))
    } else {
        owner.set_async(None);
        owner.replace_hook(None)
    };
    let h = (old? as Arc<dyn core::any::Any + Send + Sync>).downcast::<Hook>().ok()?;
    if let Some(q) = &queue {
        q.remove_relay(&h);
    }
    Some(h)
}
