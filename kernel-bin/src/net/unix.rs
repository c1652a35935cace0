//! The kernel's side of AF_UNIX: the [`net::NetEnv`] of this kernel (open
//! files as `Arc<dyn File>`, wait queues as wakers), the one namespace of
//! abstract and bound names, and the filesystem side of bound paths (a
//! socket inode made by bind, found by connect/sendto with write
//! permission).

use super::SocketFile;
use crate::sched::WaitQueue;
use crate::syscall::fs::{AT_FDCWD, with_ctx};
use crate::uthread::UThread;
use alloc::sync::Arc;
use linux_abi::{Errno, Result};
use net::unix::{Names, UnixEnv, UnixSocket};
use net::{Caller, NetEnv, NodeId, Resolver};

/// This kernel as the socket layer sees it.
pub struct KEnv;

/// A socket's wait queue.
#[derive(Clone)]
pub struct KWaker(pub Arc<WaitQueue>);

impl net::Waker for KWaker {
    fn wake(&self) {
        self.0.wake_all();
    }
}

static NAMES: Names<KEnv> = Names::new();

impl NetEnv for KEnv {
    type File = Arc<dyn vfs::File>;
    type Waker = KWaker;

    fn new_waker() -> Result<KWaker> {
        Ok(KWaker(Arc::new(WaitQueue::new())))
    }

    fn file_unix(f: &Arc<dyn vfs::File>) -> Option<Arc<UnixSocket<KEnv>>> {
        f.as_any()?.downcast_ref::<SocketFile>()?.unix.clone()
    }

    fn file_refs(f: &Arc<dyn vfs::File>) -> usize {
        Arc::strong_count(f)
    }

    fn realtime_ns() -> u64 {
        crate::time::realtime_ns()
    }
}

impl UnixEnv for KEnv {
    fn names() -> &'static Names<KEnv> {
        &NAMES
    }
}

/// The calling thread as a [`Resolver`]. Without its `UThread` (a
/// read(2) or write(2) through the file) paths cannot be resolved.
pub struct KResolver<'a> {
    t: Option<&'a UThread>,
    /// The calling thread (its process is looked up when asked for).
    tid: u32,
}

impl<'a> KResolver<'a> {
    /// The resolver of a system call's thread.
    pub fn of(t: &'a UThread) -> Self {
        KResolver { t: Some(t), tid: t.tid }
    }

    /// The resolver of the current thread, from the scheduler.
    pub fn current() -> KResolver<'static> {
        let tid = crate::sched::current().id.load(core::sync::atomic::Ordering::Relaxed) as u32;
        KResolver { t: None, tid }
    }

    fn thread(&self) -> Result<&'a UThread> {
        self.t.ok_or(Errno::EINVAL)
    }
}

impl Resolver for KResolver<'_> {
    fn caller(&self) -> Caller {
        let pid = match self.t {
            Some(t) => t.pid,
            None => crate::proc::table().tgid(self.tid).unwrap_or(self.tid),
        };
        let ns_pid = crate::proc::table().pid_seen(pid, pid);
        crate::proc::table()
            .with_process(pid, |p| {
                let c = p.creds();
                Caller::new(pid, c.uid, c.gid, c.euid, c.egid)
            })
            .unwrap_or(Caller::new(pid, 0, 0, 0, 0))
            .with_ns_pid(ns_pid)
    }

    fn bind_path(&mut self, path: &[u8]) -> Result<NodeId> {
        // unix_bind_bsd: mknod S_IFSOCK with 0777 & ~umask; EEXIST is EADDRINUSE
        let r = with_ctx(self.thread()?, AT_FDCWD, |ctx, dir| ctx.mknod(dir, path, vfs::S_IFSOCK | 0o777, 0));
        match r {
            Ok(i) => Ok(NodeId::new(i.stat().dev, i.ino())),
            Err(Errno::EEXIST) => Err(Errno::EADDRINUSE),
            Err(e) => Err(e),
        }
    }

    fn lookup_path(&mut self, path: &[u8]) -> Result<NodeId> {
        let i = with_ctx(self.thread()?, AT_FDCWD, |ctx, dir| ctx.lookup(dir, path, true))?;
        // path_permission(MAY_WRITE) before the type (unix_find_bsd)
        with_ctx(self.thread()?, AT_FDCWD, |ctx, dir| ctx.access(dir, path, 2, 0))?;
        if i.file_type() != vfs::FileType::Socket {
            return Err(Errno::ECONNREFUSED);
        }
        Ok(NodeId::new(i.stat().dev, i.ino()))
    }

    fn unlink_path(&mut self, path: &[u8]) {
        if let Ok(t) = self.thread() {
            let _ = with_ctx(t, AT_FDCWD, |ctx, dir| ctx.unlink(dir, path));
        }
    }

    fn now_ns(&self) -> u64 {
        arch_x86_64::time::since_boot_ns()
    }
}

/// The credentials `SCM_CREDENTIALS` may claim (scm_check_creds): the ids
/// are the sender's namespace's (`EINVAL` for one it does not map), then
/// its own pid (or CAP_SYS_ADMIN in the initial user namespace), one of its uids (or CAP_SETUID), one
/// of its gids (or CAP_SETGID); `EPERM` otherwise. Returns them with the
/// kernel's ids (the receiver sees them in its own namespace).
pub fn check_creds(t: &UThread, c: &net::Ucred) -> Result<net::Ucred> {
    crate::proc::table()
        .with_process(t.pid, |p| {
            let cr = p.creds();
            let (Some(uid), Some(gid)) = (cr.user_ns.uid_into(c.uid), cr.user_ns.gid_into(c.gid)) else {
                return Err(Errno::EINVAL);
            };
            let cap = |bit: u32| cr.own_cap(bit);
            // the pid's check is over the pid namespace's owner: with
            // one pid namespace, the initial user namespace
            let pid_ok = c.pid == t.vpid || cr.has_cap(21);
            let uid_ok = [cr.uid, cr.euid, cr.suid].contains(&uid) || cap(7);
            let gid_ok = [cr.gid, cr.egid, cr.sgid].contains(&gid) || cap(6);
            if pid_ok && uid_ok && gid_ok { Ok(net::Ucred::new(c.pid, uid, gid)) } else { Err(Errno::EPERM) }
        })
        .unwrap_or(Err(Errno::EPERM))
        .and_then(|c| {
            // __scm_send's find_get_pid: the number of the sender's namespace
            if c.pid == t.vpid {
                return Ok(net::Ucred::new(t.pid, c.uid, c.gid));
            }
            let pid = crate::proc::table().pid_from(t.tid, c.pid).ok_or(Errno::ESRCH)?;
            Ok(net::Ucred::new(pid, c.uid, c.gid))
        })
}
