//! pidfds: pidfd_open(2), pidfd_send_signal(2), pidfd_getfd(2), the fd
//! `CLONE_PIDFD` makes (`Hooks::create_pidfd`) and the one waitid's
//! `P_PIDFD` resolves (`Hooks::pidfd_pid`).
//!
//! A pidfd names a process (a thread-group leader's id) and a token: an
//! `Arc` kept in the process's record (`proc::ProcessExt::pidfd_token`,
//! made by the first pidfd of it). Linux's pidfd holds a `struct pid`;
//! here the token tells a reused id from the process the fd was made
//! for: a record without the same token is a reaped process.
//!
//! poll: `POLLIN | POLLRDNORM` once the process is a zombie or reaped (as
//! Linux 6.1's `pidfd_poll`). Pollers sleep on one queue of all pidfds
//! ([`EXIT_WQ`]), woken by `Hooks::child_event` (every exit notifies a
//! parent or a tracer) once any pidfd was made; each re-checks its
//! process.

use crate::eventfd::{anon_stat, current_tid};
use crate::proc::{Hooks, table};
use crate::sched::WaitQueue;
use crate::syscall::SysResult;
use crate::uthread::UThread;
use alloc::sync::Arc;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use linux_abi::args::UserPtr;
use linux_abi::{Errno, Result};
use process::pid::Pid;
use process::table::ProcState;
use signal::{SigInfo, SigNum};
use spin::Once;
use vfs::{File, Stat};

/// The identity of one process for its pidfds (see the module's doc).
pub struct Token;

/// The pollers of every pidfd (made by the first pidfd).
static EXIT_WQ: Once<Arc<WaitQueue>> = Once::new();

/// Whether any pidfd was ever made (until then an exit wakes nobody here).
static ANY: AtomicBool = AtomicBool::new(false);

/// `PIDFD_NONBLOCK` (`O_NONBLOCK`).
const PIDFD_NONBLOCK: u32 = vfs::O_NONBLOCK;

/// `POLLRDNORM`.
const POLLRDNORM: u32 = 0x40;

/// A child of some process changed state (an exit among them): wakes the
/// pidfd pollers (if any pidfd was made).
pub fn child_event() {
    if ANY.load(Ordering::SeqCst)
        && let Some(q) = EXIT_WQ.get()
    {
        q.wake_all();
    }
}

/// A pidfd.
pub struct PidFd {
    pid: Pid,
    token: Arc<Token>,
    /// `O_RDWR` and `O_NONBLOCK`.
    flags: AtomicU32,
    /// F_SETOWN/F_SETSIG/O_ASYNC state of the description.
    owner: vfs::FileOwner,
}

/// What the process behind a pidfd is now.
enum Target {
    /// Its record is the one the fd was made for, in this state.
    Live(ProcState),
    /// Reaped (its id may be another process's now).
    Gone,
}

impl PidFd {
    /// A pidfd for process `pid` (`ESRCH` if there is none; `EINVAL` if
    /// `pid` is a thread that does not lead its process).
    fn new(pid: Pid, flags: u32) -> Result<PidFd> {
        // made unlocked; an unused one is dropped after the table lock
        let mut fresh = Some(Arc::new(Token));
        let token = table().with_process(pid, |p| {
            if p.ext().pidfd_token.is_none() {
                p.ext_mut().pidfd_token = fresh.take();
            }
            p.ext().pidfd_token.clone()
        });
        drop(fresh);
        let token = token.map(|t| t.ok_or(Errno::ENOMEM)).transpose()?;
        let Some(token) = token else {
            return Err(if table().with_thread(pid, |_| ()).is_some() {
                Errno::EINVAL
            } else {
                Errno::ESRCH
            });
        };
        EXIT_WQ.call_once(|| Arc::new(WaitQueue::new()));
        ANY.store(true, Ordering::SeqCst);
        Ok(PidFd {
            owner: vfs::FileOwner::new(),
            pid,
            token,
            flags: AtomicU32::new(vfs::O_RDWR | (flags & PIDFD_NONBLOCK)),
        })
    }

    fn target(&self) -> Target {
        let state = table()
            .with_process(self.pid, |p| {
                let same = p.ext().pidfd_token.as_ref().is_some_and(|t| Arc::ptr_eq(t, &self.token));
                same.then(|| p.state())
            })
            .flatten();
        state.map_or(Target::Gone, Target::Live)
    }

    /// Whether the process has exited (a zombie, or reaped).
    fn exited(&self) -> bool {
        !matches!(self.target(), Target::Live(s) if s != ProcState::Zombie)
    }

    /// Its process's id while that process exists (a zombie included);
    /// `ESRCH` once reaped.
    fn live_pid(&self) -> Result<Pid> {
        match self.target() {
            Target::Live(_) => Ok(self.pid),
            Target::Gone => Err(Errno::ESRCH),
        }
    }
}

impl File for PidFd {
    fn owner(&self) -> &vfs::FileOwner {
        &self.owner
    }

    fn show_fdinfo(&self, out: &mut alloc::string::String) {
        let live = self.live_pid().ok();
        match live {
            Some(pid) if table().pidns_used() => {
                // pidfd_show_fdinfo: the numbers from the reader's PID
                // namespace down (0 when it does not see the process)
                let nums = table().pid_numbers(pid, &table().active_pid_ns(current_tid()));
                let first = nums.first().copied().unwrap_or(0);
                let _ = write!(out, "Pid:\t{first}\nNSpid:\t{first}");
                for n in nums.iter().skip(1) {
                    let _ = write!(out, "\t{n}");
                }
                out.push('\n');
            }
            _ => out.push_str(&process::proctext::fdinfo_pidfd(live)),
        }
    }

    fn read(&self, _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::EINVAL)
    }

    fn write(&self, _buf: &[u8]) -> Result<usize> {
        Err(Errno::EINVAL)
    }

    fn lseek(&self, _offset: i64, _whence: u32) -> Result<u64> {
        Err(Errno::ESPIPE)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(anon_stat())
    }

    fn poll(&self) -> u32 {
        if self.exited() { vfs::POLLIN | POLLRDNORM } else { 0 }
    }

    fn event_count(&self) -> u64 {
        u64::from(self.exited())
    }

    fn wait_queue(&self) -> Option<Arc<dyn vfs::WaitQueue>> {
        let q: Arc<dyn vfs::WaitQueue> = EXIT_WQ.get()?.clone();
        Some(q)
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    crate::eventfd::status_flags_methods!();
}

/// The fd table of thread `tid` (`EBADF` once it has none).
fn files_of(tid: Pid) -> Result<process::seams::Files<crate::proc::Kernel>> {
    table().with_thread(tid, |t| t.files().map(|f| f.share())).flatten().ok_or(Errno::EBADF)
}

/// The RLIMIT_NOFILE soft limit of process `pid`.
fn nofile(pid: Pid) -> u64 {
    table()
        .with_process(pid, |p| p.rlimits().cur(process::rlimit::Resource::Nofile))
        .unwrap_or(fs_table::INR_OPEN_CUR)
}

/// The pidfd behind fd `fd` of the running thread (`EBADF`).
fn pidfd_at(fd: i32) -> Result<Arc<dyn File>> {
    let fd = u32::try_from(fd).map_err(|_| Errno::EBADF)?;
    let file = files_of(current_tid())?.lock().get(fd)?;
    if file.as_any().is_some_and(|a| a.is::<PidFd>()) { Ok(file) } else { Err(Errno::EBADF) }
}

fn as_pidfd(file: &Arc<dyn File>) -> Result<&PidFd> {
    file.as_any().and_then(|a| a.downcast_ref::<PidFd>()).ok_or(Errno::EBADF)
}

/// `CLONE_PIDFD`: a pidfd for `child`, close-on-exec, in the running
/// (cloning) thread's table. The child's record is not in the table yet:
/// its token waits in the cloning thread's record
/// (`ThreadExt::pidfd_pending`) until [`child_started`], which that same
/// thread runs, binds it.
pub fn create_for_clone(parent: Pid, child: Pid) -> Result<i32> {
    let token = Arc::new(Token);
    let mut slot = Some((child, token.clone()));
    table().with_thread(current_tid(), |t| t.ext_mut().pidfd_pending = slot.take());
    drop(slot);
    EXIT_WQ.call_once(|| Arc::new(WaitQueue::new()));
    ANY.store(true, Ordering::SeqCst);
    let file: Arc<dyn File> = Arc::new(PidFd {
        owner: vfs::FileOwner::new(),
        pid: child,
        token,
        flags: AtomicU32::new(vfs::O_RDWR),
    });
    match files_of(current_tid()).and_then(|f| f.lock().insert(file, true, nofile(parent))) {
        Ok(fd) => Ok(fd as i32),
        Err(e) => {
            drop(unbind(child));
            Err(e)
        }
    }
}

/// Takes `child`'s waiting token out of the running (cloning) thread's
/// record.
fn unbind(child: Pid) -> Option<Arc<Token>> {
    table()
        .with_thread(current_tid(), |t| {
            let ext = t.ext_mut();
            match ext.pidfd_pending.take() {
                Some((c, token)) if c == child => Some(token),
                other => {
                    ext.pidfd_pending = other;
                    None
                }
            }
        })
        .flatten()
}

/// Thread `tid` was made (`Hooks::thread_created`): a `CLONE_PIDFD`
/// child's token goes into its record.
pub fn child_started(tid: Pid) {
    if let Some(token) = unbind(tid) {
        let mut slot = Some(token);
        table().with_process(tid, |p| p.ext_mut().pidfd_token = slot.take());
        drop(slot);
    }
}

/// Undoes [`create_for_clone`].
pub fn destroy_for_clone(fd: i32) {
    if let Ok(files) = files_of(current_tid()) {
        // (dropped after the lock)
        if let Ok(closed) = files.close(fd as u32) {
            if let Ok(p) = as_pidfd(&closed) {
                drop(unbind(p.pid));
            }
            drop(closed);
        }
    }
}

/// waitid `P_PIDFD`: the process behind the running thread's fd `fd` and
/// whether the fd is non-blocking. A reaped process yields an id no child
/// has (`ECHILD`, as Linux's wait for a `struct pid` without a task).
pub fn waitid_target(fd: i32) -> Result<(Pid, bool)> {
    let file = pidfd_at(fd)?;
    let p = as_pidfd(&file)?;
    let nonblock = p.flags.load(Ordering::Relaxed) & vfs::O_NONBLOCK != 0;
    let pid = p.live_pid().unwrap_or(Pid::MAX);
    Ok((pid, nonblock))
}

/// The process a pidfd stands for (`None`: `file` is no pidfd; `ESRCH`
/// once it is reaped).
pub fn pid_of(file: &Arc<dyn File>) -> Option<Result<Pid>> {
    file.as_any().and_then(|a| a.downcast_ref::<PidFd>()).map(PidFd::live_pid)
}

/// pidfd_open(2).
pub fn pidfd_open(t: &mut UThread, pid: i32, flags: u32) -> SysResult {
    if flags & !PIDFD_NONBLOCK != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    // find_get_pid: a number of the caller's PID namespace
    let pid = table().pid_from(t.tid, pid as Pid).ok_or(Errno::ESRCH)?;
    let file: Arc<dyn File> = Arc::new(PidFd::new(pid, flags)?);
    crate::eventfd::install(t, file, true)
}

/// pidfd_send_signal(2): kill(2) through a pidfd (`info` null), or
/// rt_sigqueueinfo(2)'s rules with `info`.
pub fn pidfd_send_signal(
    t: &mut UThread,
    fd: i32,
    sig: i32,
    info: UserPtr<[u8; signal::SIGINFO_SIZE]>,
    flags: u32,
) -> SysResult {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let fd = u32::try_from(fd).map_err(|_| Errno::EBADF)?;
    let file = files_of(current_tid())?.lock().get(fd)?;
    // a /proc/<pid> directory names its process too (no token: its id)
    let (pid, live) = match file.as_any().and_then(|a| a.downcast_ref::<PidFd>()) {
        Some(p) => (p.pid, p.live_pid()),
        None => {
            let pid = crate::procfs::pid_dir_of(&*file).ok_or(Errno::EBADF)?;
            (pid, table().with_process(pid, |_| pid).ok_or(Errno::ESRCH))
        }
    };
    if info.is_null() || sig == 0 {
        if !info.is_null() {
            let raw = t.read(info)?;
            if i32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]) != sig {
                return Err(Errno::EINVAL);
            }
        }
        return table().kill(t.tid, live? as i32, sig, &Hooks).map(|_| 0);
    }
    let raw = t.read(info)?;
    if i32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]) != sig {
        return Err(Errno::EINVAL);
    }
    let signum = SigNum::new(sig)?;
    // Linux compares the target with the caller's own task (a tid)
    let mut info = SigInfo::from_user(signum, &raw, pid == t.tid)?;
    let target = live?;
    crate::syscall::task::user_info_uid(t.pid, target, &mut info);
    table().sigqueue(t.tid, target, None, info, &Hooks).map(|_| 0)
}

/// pidfd_getfd(2): a close-on-exec duplicate of fd `targetfd` of the
/// pidfd's process (`PTRACE_MODE_ATTACH_REALCREDS`: `EPERM`).
pub fn pidfd_getfd(t: &mut UThread, fd: i32, targetfd: i32, flags: u32) -> SysResult {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let file = pidfd_at(fd)?;
    let pid = as_pidfd(&file)?.live_pid()?;
    table().ptrace_may_access(t.tid, pid, process::ptrace::CredMode::Real)?;
    // (a zombie has no threads left: ESRCH, as Linux 6.1)
    let thread = table().with_process(pid, |p| p.threads().first().copied()).flatten().ok_or(Errno::ESRCH)?;
    let targetfd = u32::try_from(targetfd).map_err(|_| Errno::EBADF)?;
    let theirs = files_of(thread)?.lock().get(targetfd)?;
    crate::eventfd::install(t, theirs, true)
}
