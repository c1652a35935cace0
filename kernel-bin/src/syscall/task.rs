//! Process, thread and signal system calls over `crates/process` and
//! `crates/signal`.

use super::SysResult;
use crate::proc::{Hooks, table};
use crate::uthread::UThread;
use linux_abi::abi::{CapData, CapHeader, CloneArgs as CloneArgsAbi, Rlimit, Sigaction, Timespec};
use linux_abi::args::{UserCStr, UserPtr, UserSlice};
use linux_abi::syscall::nr;
use linux_abi::{Errno, Result};
use process::clone::{CloneArgs, CloneFlags};
use signal::{SigAction, SigMaskHow, SigNum, SigSet};

/// A `stack_t` as it sits in user memory.
type StackBytes = [u8; signal::STACK_T_SIZE];
/// A `siginfo_t` as it sits in user memory.
type SiginfoBytes = [u8; signal::SIGINFO_SIZE];
/// A `struct rusage` as it sits in user memory.
type RusageBytes = [u8; process::wait::Rusage::SIZE];

pub fn ids(t: &mut UThread, n: usize) -> SysResult {
    let id = table().with_process(t.pid, |p| id_seen(p.creds(), n)).ok_or(Errno::ESRCH)?;
    Ok(id as isize)
}

/// What getuid (`n`), geteuid, getgid or getegid returns: the id as the
/// caller's user namespace sees it (`from_kuid_munged`: 65534 when it
/// does not map it). Shared by the dispatch path and the quick path
/// (`uthread::quick_syscall_result`) so the two cannot differ.
pub fn id_seen(c: &process::cred::Credentials, n: usize) -> u32 {
    match n {
        nr::GETUID => c.user_ns.uid_from(c.uid),
        nr::GETEUID => c.user_ns.uid_from(c.euid),
        nr::GETGID => c.user_ns.gid_from(c.gid),
        _ => c.user_ns.gid_from(c.egid),
    }
}

/// `make_kuid`/`make_kgid` of a set*id argument: -1 stays "unchanged",
/// an id the caller's user namespace does not map is `EINVAL`.
fn kid(ns: &process::ns::UserNsRef, gid: bool, id: u32) -> Result<u32> {
    if id == process::cred::NO_ID {
        return Ok(id);
    }
    let k = if gid { ns.gid_into(id) } else { ns.uid_into(id) };
    k.ok_or(Errno::EINVAL)
}

/// setuid(2)/setgid(2): a `uid_t`/`gid_t` (`unsigned int`).
pub fn setid(t: &mut UThread, n: usize, id: u32) -> SysResult {
    table()
        .with_process(t.pid, |p| {
            let old = p.creds().clone();
            // setuid(-1) is EINVAL as an unmapped id
            let id = match kid(&old.user_ns, n != nr::SETUID, id) {
                Ok(process::cred::NO_ID) | Err(_) => return Err(Errno::EINVAL),
                Ok(k) => k,
            };
            let r = if n == nr::SETUID { p.creds_mut().setuid(id) } else { p.creds_mut().setgid(id) };
            let ev = creds_committed(p, &old);
            r.map(|_| ev)
        })
        .ok_or(Errno::ESRCH)?
        .map(|ev| {
            id_events(t.tid, ev);
            0
        })
}

/// The ids that changed in a commit_creds: (uid: real, effective), (gid:
/// real, effective), each when any of its four ids changed.
type IdEvents = [Option<(u32, u32)>; 2];

/// proc_id_connector for the changes `ev` of thread `tid` (while anyone
/// listens).
fn id_events(tid: process::pid::Pid, ev: IdEvents) {
    if crate::net::connector::listening() {
        for (gid, e) in ev.iter().enumerate() {
            if let Some((r, e)) = e {
                crate::net::connector::id(tid, gid == 1, *r, *e);
            }
        }
    }
}

/// commit_creds(): a change of the effective or filesystem ids (or new
/// capabilities) sets `dumpable` to `fs.suid_dumpable` (0 by default: not
/// dumpable), so that its own user can no longer ptrace it or read its
/// /proc files.
fn creds_committed(
    p: &mut process::table::Process<crate::proc::Kernel>,
    old: &process::cred::Credentials,
) -> IdEvents {
    let c = p.creds();
    let ev = [
        (c.uid != old.uid || c.euid != old.euid || c.suid != old.suid || c.fsuid != old.fsuid)
            .then_some((c.uid, c.euid)),
        (c.gid != old.gid || c.egid != old.egid || c.sgid != old.sgid || c.fsgid != old.fsgid)
            .then_some((c.gid, c.egid)),
    ];
    if c.euid != old.euid
        || c.egid != old.egid
        || c.fsuid != old.fsuid
        || c.fsgid != old.fsgid
        || c.cap_permitted & !old.cap_permitted != 0
    {
        p.set_dumpable(crate::sysctl::suid_dumpable());
    }
    ev
}

/// getgroups(2): `int gidsetsize`, a `gid_t` array.
pub fn getgroups(t: &mut UThread, size: i32, list: UserPtr<u32>) -> SysResult {
    if size == 0 {
        // the count only: no copy of up to NGROUPS_MAX ids
        return table().with_process(t.pid, |p| p.creds().groups.len() as isize).ok_or(Errno::ESRCH);
    }
    let groups = table()
        .with_process(t.pid, |p| {
            let ns = &p.creds().user_ns;
            p.creds()
                .getgroups(size)
                .map(|g| g.iter().map(|&k| ns.gid_from(k)).collect::<alloc::vec::Vec<u32>>())
        })
        .ok_or(Errno::ESRCH)??;
    if size != 0 {
        let bytes: alloc::vec::Vec<u8> = groups.iter().flat_map(|g| g.to_le_bytes()).collect();
        t.write_slice(list.addr(), &bytes)?;
    }
    Ok(groups.len() as isize)
}

const ARCH_SET_GS: i32 = 0x1001;
const ARCH_SET_FS: i32 = 0x1002;
const ARCH_GET_FS: i32 = 0x1003;
const ARCH_GET_GS: i32 = 0x1004;

/// arch_prctl(2): `int option`, `unsigned long addr`.
pub fn arch_prctl(t: &mut UThread, code: i32, addr: u64) -> SysResult {
    match code {
        ARCH_SET_FS | ARCH_SET_GS => {
            if !arch_x86_64::user::canonical_user(addr) {
                return Err(Errno::EPERM);
            }
            if code == ARCH_SET_FS {
                t.ctx.regs.fs_base = addr;
            } else {
                t.ctx.regs.gs_base = addr;
            }
            Ok(0)
        }
        ARCH_GET_FS => t.write(UserPtr::new(addr), t.ctx.regs.fs_base).map(|_| 0),
        ARCH_GET_GS => t.write(UserPtr::new(addr), t.ctx.regs.gs_base).map(|_| 0),
        _ => Err(Errno::EINVAL),
    }
}

const PR_SET_PDEATHSIG: i32 = 1;
const PR_GET_PDEATHSIG: i32 = 2;
const PR_GET_DUMPABLE: i32 = 3;
const PR_SET_DUMPABLE: i32 = 4;
const PR_GET_KEEPCAPS: i32 = 7;
const PR_SET_KEEPCAPS: i32 = 8;
const PR_SET_NAME: i32 = 15;
const PR_GET_NAME: i32 = 16;
const PR_CAPBSET_READ: i32 = 23;
const PR_CAPBSET_DROP: i32 = 24;
const PR_GET_SECUREBITS: i32 = 27;
const PR_SET_SECUREBITS: i32 = 28;
const PR_SET_TIMERSLACK: i32 = 29;
const PR_GET_TIMERSLACK: i32 = 30;
const PR_SET_CHILD_SUBREAPER: i32 = 36;
const PR_GET_CHILD_SUBREAPER: i32 = 37;
const PR_GET_SECCOMP: i32 = 21;
const PR_SET_SECCOMP: i32 = 22;
const PR_SET_NO_NEW_PRIVS: i32 = 38;
const PR_GET_NO_NEW_PRIVS: i32 = 39;
const PR_CAP_AMBIENT: i32 = 47;
/// Linux 6.1's CAP_LAST_CAP (CAP_CHECKPOINT_RESTORE).
pub const CAP_LAST_CAP: u64 = 40;

/// prctl(2) (arguments 3 to 5 are read from the registers where an
/// option looks at them).
/// `PR_SET_PTRACER` as prctl's `int option`.
const PR_SET_PTRACER: i32 = process::ptrace::PR_SET_PTRACER as i32;

/// prctl(2): `int option`, four `unsigned long` arguments.
pub fn prctl(t: &mut UThread, option: i32, [arg2, arg3, arg4, arg5]: [u64; 4]) -> SysResult {
    match option {
        PR_SET_NAME => {
            // strncpy_from_user(comm, arg2, 15): at most 15 bytes are
            // read, so a name without its NUL may end at an unmapped page
            let name = t.read_str(UserCStr(arg2), 15).or_else(|e| {
                if e == Errno::ENAMETOOLONG { t.read_slice(UserSlice::new(arg2, 15)) } else { Err(e) }
            })?;
            crate::proc::set_comm(t.tid, &name);
            if crate::net::connector::listening() {
                crate::net::connector::comm(t.tid, &crate::proc::comm(t.tid));
            }
            Ok(0)
        }
        PR_GET_NAME => {
            let mut buf = [0u8; 16];
            let name = crate::proc::comm(t.tid);
            let n = name.len().min(15);
            buf[..n].copy_from_slice(&name[..n]);
            t.write(UserPtr::new(arg2), buf).map(|_| 0)
        }
        PR_SET_CHILD_SUBREAPER => table().set_child_subreaper(t.tid, arg2 != 0).map(|_| 0),
        PR_SET_PTRACER => table().set_ptracer(t.tid, arg2).map(|_| 0),
        PR_GET_CHILD_SUBREAPER => {
            let on = table().with_process(t.pid, |p| p.is_child_subreaper()).unwrap_or(false);
            t.write(UserPtr::new(arg2), on as i32).map(|_| 0)
        }
        PR_SET_PDEATHSIG => {
            // valid_signal(): 0 (none) to 64
            if arg2 > 64 {
                return Err(Errno::EINVAL);
            }
            table().with_thread(t.tid, |th| th.set_pdeath_signal(arg2 as u32)).ok_or(Errno::ESRCH)?;
            Ok(0)
        }
        PR_GET_PDEATHSIG => {
            let sig = table().with_thread(t.tid, |th| th.pdeath_signal()).ok_or(Errno::ESRCH)?;
            t.write(UserPtr::new(arg2), sig).map(|_| 0)
        }
        PR_GET_DUMPABLE => table().with_process(t.pid, |p| p.dumpable() as isize).ok_or(Errno::ESRCH),
        PR_SET_DUMPABLE => {
            // SUID_DUMP_DISABLE or SUID_DUMP_USER; 2 (root-only dumps) is
            // for the sysctl, not prctl
            if arg2 > 1 {
                return Err(Errno::EINVAL);
            }
            table().with_process(t.pid, |p| p.set_dumpable(arg2 as u32)).ok_or(Errno::ESRCH)?;
            Ok(0)
        }
        PR_CAPBSET_READ => {
            if arg2 > CAP_LAST_CAP {
                return Err(Errno::EINVAL);
            }
            table().with_process(t.pid, |p| (p.cap_bset() >> arg2 & 1) as isize).ok_or(Errno::ESRCH)
        }
        PR_CAPBSET_DROP => {
            // cap_prctl_drop(): CAP_SETPCAP (in the caller's own user
            // namespace) first, then the number
            if !table()
                .with_process(t.pid, |p| p.creds().own_cap(process::cred::CAP_SETPCAP))
                .ok_or(Errno::ESRCH)?
            {
                return Err(Errno::EPERM);
            }
            if arg2 > CAP_LAST_CAP {
                return Err(Errno::EINVAL);
            }
            table().with_process(t.pid, |p| p.drop_bounding_cap(arg2 as u32)).ok_or(Errno::ESRCH)?;
            Ok(0)
        }
        PR_GET_KEEPCAPS => table()
            .with_process(t.pid, |p| isize::from(p.creds().securebits & process::cred::SECBIT_KEEP_CAPS != 0))
            .ok_or(Errno::ESRCH),
        PR_SET_KEEPCAPS => {
            table().with_process(t.pid, |p| p.creds_mut().set_keepcaps(arg2)).ok_or(Errno::ESRCH)?.map(|_| 0)
        }
        PR_GET_SECUREBITS => {
            table().with_process(t.pid, |p| p.creds().securebits as isize).ok_or(Errno::ESRCH)
        }
        PR_SET_SECUREBITS => table()
            .with_process(t.pid, |p| p.creds_mut().set_securebits(arg2))
            .ok_or(Errno::ESRCH)?
            .map(|_| 0),
        PR_CAP_AMBIENT => table()
            .with_process(t.pid, |p| p.creds_mut().cap_ambient(arg2, arg3, arg4 | arg5, CAP_LAST_CAP))
            .ok_or(Errno::ESRCH)?,
        PR_SET_TIMERSLACK => {
            table().with_thread(t.tid, |th| th.set_timer_slack_ns(arg2)).ok_or(Errno::ESRCH)?;
            Ok(0)
        }
        PR_GET_TIMERSLACK => {
            table().with_thread(t.tid, |th| th.timer_slack_ns() as isize).ok_or(Errno::ESRCH)
        }
        PR_GET_SECCOMP => crate::seccomp::prctl_get(t),
        PR_SET_SECCOMP => crate::seccomp::prctl_set(t, arg2, arg3),
        PR_SET_NO_NEW_PRIVS => {
            // it can only be set, and stays
            if arg2 != 1 || arg3 != 0 || arg4 != 0 || arg5 != 0 {
                return Err(Errno::EINVAL);
            }
            table().with_thread(t.tid, |th| th.set_no_new_privs()).ok_or(Errno::ESRCH)?;
            Ok(0)
        }
        super::prctl_mm::PR_SET_MM => {
            super::prctl_mm::prctl_set_mm(t, u64::from(arg2 as u32), arg3, arg4, arg5)
        }
        PR_GET_NO_NEW_PRIVS => {
            if arg2 != 0 || arg3 != 0 || arg4 != 0 || arg5 != 0 {
                return Err(Errno::EINVAL);
            }
            table().with_thread(t.tid, |th| th.no_new_privs() as isize).ok_or(Errno::ESRCH)
        }
        _ => {
            log::info!("pid {}: prctl option {option} unsupported: EINVAL", t.pid);
            Err(Errno::EINVAL)
        }
    }
}

/// unshare(2): the fd table (CLONE_FILES), the fs context (CLONE_FS), the
/// semaphore undo list (CLONE_SYSVSEM), the user, UTS, mount, PID and IPC
/// namespaces; the others are refused as Linux without them would (the
/// rules live in `ProcessTable::unshare`).
pub fn unshare(t: &mut UThread, flags: u64) -> SysResult {
    if flags & CloneFlags::NEWUSER.bits() != 0 && chrooted(t) {
        return Err(Errno::EPERM);
    }
    // CLONE_NEWNS implies CLONE_FS; the mount namespace is the process's
    // here (Linux gives the calling thread alone a new one): refused while
    // other threads would keep a stale view of it
    if flags & CloneFlags::NEWNS.bits() != 0
        && table().with_process(t.pid, |p| p.threads().len() > 1).unwrap_or(false)
    {
        log::info!("pid {}: unshare(CLONE_NEWNS) in a multi-threaded process unsupported: EINVAL", t.pid);
        return Err(Errno::EINVAL);
    }
    let old_mnt = table().with_process(t.pid, |p| p.ns().mnt.clone());
    let r = table().unshare(t.tid, flags);
    if r == Err(Errno::EINVAL) && flags & process::clone::NS_FLAGS.bits() != 0 {
        log::info!("pid {}: unshare({flags:#x}): namespaces are not supported: EINVAL", t.pid);
    }
    let r = r.map(|_| 0);
    // CLONE_NEWCGROUP: the new namespace is rooted at the caller's cgroup
    if r.is_ok() && flags & CloneFlags::NEWCGROUP.bits() != 0 {
        crate::cgroup::unshared(t.pid);
    }
    // CLONE_FILES / CLONE_FS may have given the thread new tables,
    // CLONE_NEWUSER a new user namespace
    t.refresh_files();
    let from = t.mnt_ns;
    t.refresh_user_ns();
    // CLONE_NEWNS: the new namespace gets copies of the old one's mounts
    if r.is_ok()
        && t.mnt_ns != from
        && let Err(e) = new_mount_ns(t.pid, from)
    {
        // the copy failed (ENOMEM, nothing of it kept): the caller goes
        // back to the namespace it was in (a new user namespace of the same
        // call stays)
        if let Some(old) = old_mnt {
            let new = table().with_process(t.pid, |p| core::mem::replace(&mut p.ns_mut().mnt, old));
            drop(new);
            t.refresh_user_ns();
        }
        crate::fs::reap_namespaces();
        return Err(e);
    }
    drop(old_mnt);
    // CLONE_NEWIPC: the caller may have been the old IPC namespace's last
    crate::syscall::shm::reap_namespaces();
    crate::syscall::mqueue::reap_namespaces();
    r
}

/// Linux's current_chrooted(): the caller's root is not its mount
/// namespace's (the top of the mounts on the namespace's root), as a
/// path: the same directory through another mount (a chroot into a bind
/// mount of /, as `mount --rbind / /mnt; chroot /mnt` makes) is chrooted
/// too. A chrooted process may not make or enter a user namespace
/// (create_user_ns, userns_install: `EPERM`), where it would get
/// CAP_SYS_CHROOT and chroot its way out.
fn chrooted(t: &UThread) -> bool {
    use alloc::sync::Arc;
    let Ok(root) = t.fs().map(|f| f.root().clone()) else { return true };
    let Some(top) = crate::fs::root_path_of(t.mnt_ns) else { return true };
    let same_mount = match (&root.mnt, &top.mnt) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => true,
    };
    !(Arc::ptr_eq(&root.inode, &top.inode) && same_mount)
}

/// The namespace kinds setns(2) accepts with a pidfd
/// (`check_setns_flags`: every `CLONE_NEW*` bit).
const SETNS_ALL: u64 =
    0x0002_0000 | 0x0400_0000 | 0x0800_0000 | 0x4000_0000 | 0x80 | 0x1000_0000 | 0x2000_0000 | 0x0200_0000;

/// setns(2): `fd` an nsfs file (`nstype` 0 or its `CLONE_NEW*` bit, else
/// `EINVAL`) or a pidfd (`nstype` a non-empty set of `CLONE_NEW*` bits:
/// the process's namespaces of those kinds), any other file `EINVAL`.
/// A user namespace comes first (`userns_install`: `EINVAL` for the
/// caller's own through an nsfs file, for a multi-threaded caller or one
/// sharing its fs context,
/// `EPERM` without CAP_SYS_ADMIN over it; skipped when a pidfd names the
/// caller's own), then a UTS namespace (`utsns_install`: CAP_SYS_ADMIN over
/// its owner and over the caller's user namespace, else `EPERM`; the same
/// for an IPC namespace, `ipcns_install`). The kinds this kernel does not
/// build have one namespace, which the caller is in already. Nothing
/// changes unless everything is allowed.
pub fn setns(t: &mut UThread, fd: linux_abi::args::Fd, nstype: i32) -> SysResult {
    use crate::procfs::NsObj;
    let file = t.fd(fd)?;
    let flags = nstype as u32 as u64;
    let mut mnt: Option<alloc::sync::Arc<process::ns::MntNs>> = None;
    let mut pidns: Option<process::ns::PidNsRef> = None;
    let mut ipc: Option<alloc::sync::Arc<process::ns::IpcNs>> = None;
    let mut netns: Option<alloc::sync::Arc<process::ns::NetNs>> = None;
    let mut timens: Option<alloc::sync::Arc<process::timens::TimeNs>> = None;
    let mut cgns: Option<alloc::sync::Arc<process::ns::CgroupNs>> = None;
    let (user, uts, pidfd) = if let Some(ns) = crate::procfs::ns_of(&*file) {
        let bit = super::fs::ns_type_bit(ns.kind());
        if flags != 0 && flags != bit {
            return Err(Errno::EINVAL);
        }
        match ns {
            NsObj::User(u) => (Some(u), None, false),
            NsObj::Uts(u) => (None, Some(u), false),
            NsObj::Mnt(m) => {
                mnt = Some(m);
                (None, None, false)
            }
            NsObj::Pid(n) => {
                pidns = Some(n);
                (None, None, false)
            }
            NsObj::Ipc(i) => {
                ipc = Some(i);
                (None, None, false)
            }
            NsObj::Net(n) => {
                netns = Some(n);
                (None, None, false)
            }
            NsObj::Time(n) => {
                timens = Some(n);
                (None, None, false)
            }
            NsObj::Cgroup(c) => {
                cgns = Some(c);
                (None, None, false)
            }
            // the kinds not built have one namespace, the caller's: as
            // Linux's *_install, entering it needs CAP_SYS_ADMIN
            NsObj::Initial(_) => {
                let may = table()
                    .with_process(t.pid, |p| p.creds().has_cap(process::cred::CAP_SYS_ADMIN))
                    .unwrap_or(false);
                return if may { Ok(0) } else { Err(Errno::EPERM) };
            }
        }
    } else if let Some(pid) = crate::pidfd::pid_of(&file) {
        if flags == 0 || flags & !SETNS_ALL != 0 {
            return Err(Errno::EINVAL);
        }
        let pid = pid?;
        let (user, uts, m, i, n, tn, c) = table()
            .with_process(pid, |p| {
                let ns = p.ns();
                (
                    p.creds().user_ns.clone(),
                    ns.uts.clone(),
                    ns.mnt.clone(),
                    ns.ipc.clone(),
                    ns.net.clone(),
                    ns.time.clone(),
                    ns.cgroup.clone(),
                )
            })
            .ok_or(Errno::ESRCH)?;
        timens = (flags & CloneFlags::NEWTIME.bits() != 0).then_some(tn);
        cgns = (flags & CloneFlags::NEWCGROUP.bits() != 0).then_some(c);
        mnt = (flags & CloneFlags::NEWNS.bits() != 0).then_some(m);
        ipc = (flags & CloneFlags::NEWIPC.bits() != 0).then_some(i);
        netns = (flags & CloneFlags::NEWNET.bits() != 0).then_some(n);
        if flags & CloneFlags::NEWPID.bits() != 0 {
            pidns = Some(table().active_pid_ns(pid));
        }
        let user = (flags & CloneFlags::NEWUSER.bits() != 0).then_some(user);
        let uts = (flags & CloneFlags::NEWUTS.bits() != 0).then_some(uts);
        (user, uts, true)
    } else {
        return Err(Errno::EINVAL);
    };
    drop(file);
    let entering_ipc = ipc.is_some();
    let jailed = user.is_some() && chrooted(t);
    // userns_install(): a process whose fs context is shared (CLONE_FS)
    // may not enter another user namespace
    let fs_shared = table().with_thread(t.tid, |th| th.fs().is_some_and(|f| f.is_shared())).unwrap_or(false);
    let old = table()
        .with_process(t.pid, |p| {
            let mut creds = p.creds().clone();
            if let Some(u) = &user
                && !(pidfd && *u == creds.user_ns)
            {
                if jailed {
                    return Err(Errno::EPERM);
                }
                if p.threads().len() > 1 || fs_shared {
                    return Err(Errno::EINVAL);
                }
                creds.install_user_ns(u)?;
            }
            if let Some(u) = &uts
                && (!creds.ns_capable(u.owner(), process::cred::CAP_SYS_ADMIN)
                    || !creds.ns_capable(&creds.user_ns, process::cred::CAP_SYS_ADMIN))
            {
                return Err(Errno::EPERM);
            }
            // mntns_install(): CAP_SYS_ADMIN over its owner, CAP_SYS_CHROOT
            // and CAP_SYS_ADMIN over the caller's namespace; a fs context
            // of its own
            if let Some(m) = &mnt {
                if !creds.ns_capable(m.owner(), process::cred::CAP_SYS_ADMIN)
                    || !creds.ns_capable(&creds.user_ns, process::cred::CAP_SYS_CHROOT)
                    || !creds.ns_capable(&creds.user_ns, process::cred::CAP_SYS_ADMIN)
                {
                    return Err(Errno::EPERM);
                }
                // the mount namespace is the process's here (not each
                // thread's, as Linux's nsproxy): a sibling thread would
                // keep walking the old one
                if fs_shared || p.threads().len() > 1 {
                    return Err(Errno::EINVAL);
                }
            }
            // pidns_install(): CAP_SYS_ADMIN over its owner and over the
            // caller's user namespace (the namespace itself is checked below)
            if let Some(n) = &pidns
                && (!creds.ns_capable(&n.owner(), process::cred::CAP_SYS_ADMIN)
                    || !creds.ns_capable(&creds.user_ns, process::cred::CAP_SYS_ADMIN))
            {
                return Err(Errno::EPERM);
            }
            // ipcns_install(): CAP_SYS_ADMIN over its owner and over the
            // caller's user namespace
            if let Some(i) = &ipc
                && (!creds.ns_capable(i.owner(), process::cred::CAP_SYS_ADMIN)
                    || !creds.ns_capable(&creds.user_ns, process::cred::CAP_SYS_ADMIN))
            {
                return Err(Errno::EPERM);
            }
            // netns_install(): the same over the network namespace
            if let Some(n) = &netns
                && (!creds.ns_capable(n.owner(), process::cred::CAP_SYS_ADMIN)
                    || !creds.ns_capable(&creds.user_ns, process::cred::CAP_SYS_ADMIN))
            {
                return Err(Errno::EPERM);
            }
            // cgroupns_install(): the same over the cgroup namespace
            if let Some(c) = &cgns
                && (!creds.ns_capable(c.owner(), process::cred::CAP_SYS_ADMIN)
                    || !creds.ns_capable(&creds.user_ns, process::cred::CAP_SYS_ADMIN))
            {
                return Err(Errno::EPERM);
            }
            // timens_install(): a single-threaded caller (EUSERS), then
            // CAP_SYS_ADMIN over its owner and over the caller's user
            // namespace; entering fixes its offsets (timens_commit)
            if let Some(n) = &timens {
                if p.threads().len() > 1 {
                    return Err(Errno::EUSERS);
                }
                if !creds.ns_capable(n.owner(), process::cred::CAP_SYS_ADMIN)
                    || !creds.ns_capable(&creds.user_ns, process::cred::CAP_SYS_ADMIN)
                {
                    return Err(Errno::EPERM);
                }
                n.enter();
            }
            let user_changed = creds.user_ns != p.creds().user_ns;
            let old_creds = core::mem::replace(p.creds_mut(), creds);
            if user_changed {
                p.set_cap_bset(process::cred::CAP_FULL_SET);
            }
            let old_uts = uts.map(|u| core::mem::replace(&mut p.ns_mut().uts, u));
            let old_mnt = mnt.clone().map(|m| core::mem::replace(&mut p.ns_mut().mnt, m));
            let old_ipc = ipc.map(|i| core::mem::replace(&mut p.ns_mut().ipc, i));
            let old_net = netns.take().map(|n| core::mem::replace(&mut p.ns_mut().net, n));
            let old_time = timens.clone().map(|n| {
                let ns = p.ns_mut();
                (core::mem::replace(&mut ns.time, n.clone()), core::mem::replace(&mut ns.time_children, n))
            });
            let old_cg = cgns.take().map(|c| core::mem::replace(&mut p.ns_mut().cgroup, c));
            Ok((old_creds, old_uts, old_mnt, old_ipc, old_net, old_time, old_cg))
        })
        .ok_or(Errno::ESRCH)??;
    // the old namespaces go after the table lock
    drop(old);
    // commit_nsset(): entering an IPC namespace ends the undo list
    if entering_ipc {
        crate::syscall::sysv::exit_sem(t.tid, t.pid);
    }
    crate::syscall::shm::reap_namespaces();
    crate::syscall::mqueue::reap_namespaces();
    // pidns_install(): the caller's own namespace or one below it
    if let Some(n) = pidns {
        table().set_pid_children(t.pid, n)?;
    }
    t.refresh_user_ns();
    // vdso_join_timens(): the [vvar] of the namespace entered
    if let Some(n) = timens {
        crate::vdso::join_timens(&t.vm, !n.is_initial());
    }
    if mnt.is_some() {
        // the namespace's root becomes the caller's root and cwd
        let root = crate::fs::root_path_of(t.mnt_ns).ok_or(Errno::EINVAL)?;
        let (r, c) = {
            let mut f = t.fs()?;
            (f.set_root(root.clone()), f.set_cwd(root))
        };
        drop((r, c));
        crate::fs::reap_namespaces();
    }
    Ok(0)
}

/// The mount namespace process `pid` was just given (by clone or unshare
/// with `CLONE_NEWNS`) gets copies of the mounts of the namespace `from`.
pub fn new_mount_ns(pid: process::pid::Pid, from: u64) -> Result<()> {
    let Some(m) = table().with_process(pid, |p| p.ns().mnt.clone()) else { return Ok(()) };
    // the source's mounts hold still while they are copied
    let ns_lock = crate::fs::lock_namespace(from)?;
    crate::fs::copy_namespace(from, &m)?;
    drop(ns_lock);
    // copy_mnt_ns(): the process's root and cwd through the copies of
    // their mounts (its fs context is its own: CLONE_NEWNS implies it)
    let id = crate::fs::ns_id(&m);
    let tids = table().with_process(pid, |p| p.threads().to_vec()).unwrap_or_default();
    for tid in tids {
        if let Some(fs) = table().with_thread(tid, |th| th.fs().map(|f| f.share())).flatten() {
            let (root, cwd) = {
                let f = fs.lock();
                (f.root().clone(), f.cwd().clone())
            };
            let (root, cwd) = (crate::fs::path_in_ns(id, &root), crate::fs::path_in_ns(id, &cwd));
            let old = {
                let mut f = fs.lock();
                (f.set_root(root), f.set_cwd(cwd))
            };
            drop(old);
        }
    }
    Ok(())
}

/// Publishes the caller's registers and FPU state to the table (clone
/// copies them): into the record's own image, which is allocated
/// (fallibly: ENOMEM) the first time this thread clones.
fn sync_context(t: &UThread) -> Result<()> {
    table().with_thread(t.tid, |th| th.context_mut().copy_from(&t.ctx)).ok_or(Errno::ESRCH)??;
    Ok(())
}

pub fn fork(t: &mut UThread, args: CloneArgs) -> SysResult {
    // ENOMEM before anything is allocated when the new task's kernel stack
    // and address-space copy would eat into the kernel's reserve.
    let (free_frames, _) = arch_x86_64::mem::frames::stats();
    let heap = arch_x86_64::mem::heap::size().saturating_sub(arch_x86_64::mem::heap::used());
    let copied =
        if args.flags.contains(process::clone::CloneFlags::VM) { 0 } else { t.vm.lock().map_count() };
    process::clone::clone_memory_check(
        free_frames * 4096,
        heap,
        arch_x86_64::context::KERNEL_STACK_SIZE as u64,
        copied as u64,
    )?;
    sync_context(t)?;
    // the child's /proc facts and name are copied by Hooks::thread_created
    // cgroup_can_fork(): one task charged to the caller's cgroup (EAGAIN
    // at a pids.max), entered by the hooks before the child runs
    // (CLONE_INTO_CGROUP's fd is checked here, before the table's clone:
    // CloneHooks::check_cgroup has nothing left to refuse)
    let into = if args.flags.contains(CloneFlags::INTO_CGROUP) {
        Some(t.fd(linux_abi::args::Fd(args.cgroup as u32)).map_err(|_| Errno::EBADF)?)
    } else {
        None
    };
    let charge = crate::cgroup::charge(
        t.pid,
        args.flags.contains(CloneFlags::THREAD),
        args.flags.contains(CloneFlags::NEWCGROUP),
        into.as_deref(),
    )?;
    drop(into);
    let mnt = args.flags.contains(CloneFlags::NEWNS).then_some(t.mnt_ns);
    let cn = (t.tid, args.flags.intersects(CloneFlags::THREAD | CloneFlags::PARENT));
    let r = table().clone_task_seen(t.tid, &args, &CloneHooks { mnt, charge: &charge, cn });
    crate::cgroup::finish(charge);
    let (_, seen) = r?;
    Ok(seen as isize)
}

/// [`Hooks`] for a clone: the child enters its cgroup and, with
/// `CLONE_NEWNS`, its new mount namespace gets copies of the caller's
/// mounts (the namespace `mnt`), before the child first runs.
struct CloneHooks<'a> {
    mnt: Option<u64>,
    charge: &'a crate::cgroup::Charge,
    /// The caller and whether the child's parent is the caller's parent
    /// (a thread, `CLONE_PARENT`): the fork event's parent.
    cn: (process::pid::Pid, bool),
}

impl process::seams::Hooks<crate::proc::Kernel> for CloneHooks<'_> {
    fn preempt_point(&self) {
        Hooks.preempt_point()
    }
    fn check_cgroup(&self, _parent: process::pid::Pid, _cgroup_fd: u64) -> Result<()> {
        Ok(())
    }
    fn thread_created(&self, tid: process::pid::Pid) {
        crate::cgroup::created(self.charge, tid);
        if let Some(from) = self.mnt
            && let Some(pid) = table().tgid(tid)
            && let Err(e) = new_mount_ns(pid, from)
        {
            log::warn!("pid {pid}: its mount namespace's mounts not copied: {e:?}");
        }
        // proc_fork_connector, before the child runs (the base hook
        // starts it: on another CPU its exit could come first)
        if crate::net::connector::listening() {
            crate::net::connector::fork(self.cn.0, tid, self.cn.1);
        }
        Hooks.thread_created(tid)
    }
    fn thread_exited(&self, tid: process::pid::Pid, ext: crate::proc::ThreadExt) {
        Hooks.thread_exited(tid, ext)
    }
    fn thread_renamed(&self, old_tid: process::pid::Pid, new_tid: process::pid::Pid) {
        Hooks.thread_renamed(old_tid, new_tid)
    }
    fn signal_wakeup(&self, tid: process::pid::Pid) {
        Hooks.signal_wakeup(tid)
    }
    fn signal_queued(&self, pid: process::pid::Pid) {
        Hooks.signal_queued(pid)
    }
    fn wait_vfork_done(&self, caller: process::pid::Pid, child: process::pid::Pid) {
        Hooks.wait_vfork_done(caller, child)
    }
    fn vfork_done(&self, parent: process::pid::Pid, child: process::pid::Pid) {
        Hooks.vfork_done(parent, child)
    }
    fn wait_for_child(&self, waiter: process::pid::Pid, seen: u64) -> Result<()> {
        Hooks.wait_for_child(waiter, seen)
    }
    fn ptrace_event(&self, tid: process::pid::Pid, event: u32, msg: u64) {
        Hooks.ptrace_event(tid, event, msg)
    }
    fn child_event(&self, parent: process::pid::Pid) {
        Hooks.child_event(parent)
    }
    fn create_pidfd(&self, parent: process::pid::Pid, child: process::pid::Pid) -> Result<i32> {
        Hooks.create_pidfd(parent, child)
    }
    fn destroy_pidfd(&self, parent: process::pid::Pid, fd: i32) {
        Hooks.destroy_pidfd(parent, fd)
    }
    fn pidfd_pid(&self, caller: process::pid::Pid, fd: i32) -> Result<(process::pid::Pid, bool)> {
        Hooks.pidfd_pid(caller, fd)
    }
    fn futex_wake(&self, vm: &process::seams::SharedVm<crate::proc::Kernel>, addr: u64, count: u32) {
        Hooks.futex_wake(vm, addr, count)
    }
}

/// clone(2) in x86_64's argument order: `unsigned long flags, newsp`,
/// `int *parent_tidptr, *child_tidptr`, `unsigned long tls`.
pub fn clone(
    t: &mut UThread,
    flags: u64,
    stack: u64,
    ptid: UserPtr<i32>,
    ctid: UserPtr<i32>,
    tls: u64,
) -> SysResult {
    if flags & CloneFlags::NEWUSER.bits() != 0 && chrooted(t) {
        return Err(Errno::EPERM);
    }
    fork(t, CloneArgs::from_clone(flags, stack, ptid.addr(), ctid.addr(), tls))
}

/// clone3(2): `struct clone_args *uargs, size_t size`.
pub fn clone3(t: &mut UThread, uargs: UserPtr<CloneArgsAbi>, size: usize) -> SysResult {
    let args = CloneArgs::from_clone3(&*t, uargs.addr(), size, linux_abi::args::TASK_SIZE_MAX)?;
    if args.flags.contains(CloneFlags::NEWUSER) && chrooted(t) {
        return Err(Errno::EPERM);
    }
    fork(t, args)
}

/// execve(2): the path, and the NULL-ended `argv` and `envp` arrays of
/// string pointers.
pub fn execve(t: &mut UThread, path: UserCStr, argv: UserPtr<u64>, envp: UserPtr<u64>) -> SysResult {
    crate::exec::execve(t, path.0, argv.addr(), envp.addr())
}

pub fn wait4(
    t: &mut UThread,
    pid: i32,
    status: UserPtr<i32>,
    options: u32,
    rusage: UserPtr<RusageBytes>,
) -> SysResult {
    let (child, st, ru) = table().wait4(t.tid, pid, options, &Hooks)?;
    // a reaped child may have been the last in its mount or IPC namespace
    crate::fs::reap_namespaces();
    crate::syscall::shm::reap_namespaces();
    crate::syscall::mqueue::reap_namespaces();
    if child != 0 {
        if !status.is_null() {
            t.write(status, st)?;
        }
        if let Some(rusage) = rusage.non_null() {
            t.write(rusage, ru.to_bytes())?;
        }
    }
    Ok(child as isize)
}

/// waitid(2): `int which, pid_t upid`, the siginfo, `int options`, the
/// rusage.
pub fn waitid(
    t: &mut UThread,
    idtype: i32,
    id: i32,
    infop: UserPtr<u8>,
    options: i32,
    rusage: UserPtr<RusageBytes>,
) -> SysResult {
    let (mut info, ru) = table().waitid(t.tid, idtype, id, options as u32, &Hooks)?;
    if info.signo != 0 {
        // the child's uid as the waiter's user namespace sees it
        // (wait_task_*: from_kuid_munged(current_user_ns(), ...))
        let ns = table().with_process(t.pid, |p| p.creds().user_ns.clone()).unwrap_or_default();
        info.uid = ns.uid_from(info.uid);
    }
    if !infop.is_null() {
        info.write_to(&*t, infop.addr())?;
    }
    if let Some(rusage) = rusage.non_null() {
        t.write(rusage, ru.to_bytes())?;
    }
    Ok(0)
}

/// prlimit64(2), and getrlimit(2)/setrlimit(2) with `pid` 0 and the one
/// pointer they have always given (a NULL one is EFAULT there; prlimit64
/// passes `None` for a NULL pointer).
pub fn prlimit(
    t: &mut UThread,
    pid: i32,
    resource: u32,
    new: Option<UserPtr<Rlimit>>,
    old: Option<UserPtr<Rlimit>>,
) -> SysResult {
    let new = match new {
        Some(p) => {
            let Rlimit { rlim_cur, rlim_max } = t.read(p)?;
            Some(process::rlimit::Rlimit::new(rlim_cur, rlim_max))
        }
        None => None,
    };
    let prev = table().prlimit(t.tid, pid, resource, new, crate::sysctl::nr_open())?;
    use process::rlimit::Resource;
    if let Some(lim) = new
        && resource == Resource::Cpu as u32
    {
        crate::itimer::note_cpu_limit(lim.cur);
    }
    if let Some(lim) = new
        && resource == Resource::Rttime as u32
    {
        crate::itimer::note_rttime_limit(lim.cur);
    }
    if let Some(lim) = new
        && resource == Resource::Fsize as u32
    {
        super::fs::note_fsize_limit(lim.cur);
    }
    if let Some(old) = old {
        t.write(old, Rlimit { rlim_cur: prev.cur, rlim_max: prev.max })?;
    }
    Ok(0)
}

fn sigsetsize(size: usize) -> Result<()> {
    signal::check_sigset_size(size)
}

/// rt_sigaction(2): `int sig`, the kernel's `struct sigaction` as a value.
pub fn rt_sigaction(
    t: &mut UThread,
    sig: i32,
    act: UserPtr<Sigaction>,
    oldact: UserPtr<Sigaction>,
    size: usize,
) -> SysResult {
    sigsetsize(size)?;
    let sig = SigNum::new(sig)?;
    let new = match act.non_null() {
        Some(p) => {
            let a = t.read(p)?;
            Some(SigAction::from_raw(a.sa_handler, a.sa_flags, a.sa_restorer, a.sa_mask))
        }
        None => None,
    };
    let (old, discard) = table()
        .with_process(t.pid, |p| -> Result<(SigAction, bool)> {
            let mut h = p.handlers().lock();
            match new {
                Some(a) => h.set(sig, a).map(|c| (c.old, c.discard_pending)),
                None => {
                    if sig.is_kernel_only() && new.is_some() {
                        return Err(Errno::EINVAL);
                    }
                    Ok((h.get(sig), false))
                }
            }
        })
        .ok_or(Errno::ESRCH)??;
    if discard {
        crate::uthread::discard_signal(t.pid, sig);
    }
    if let Some(p) = oldact.non_null() {
        let (sa_handler, sa_flags, sa_restorer, sa_mask) = old.to_raw();
        t.write(p, Sigaction { sa_handler, sa_flags, sa_restorer, sa_mask })?;
    }
    Ok(0)
}

/// rt_sigprocmask(2): `int how`, 64-bit `sigset_t`s.
pub fn rt_sigprocmask(
    t: &mut UThread,
    how: i32,
    set: UserPtr<u64>,
    oldset: UserPtr<u64>,
    size: usize,
) -> SysResult {
    sigsetsize(size)?;
    let new = match set.non_null() {
        Some(p) => {
            let how = SigMaskHow::from_raw(how)?;
            Some((how, SigSet::from_bits(t.read(p)?)))
        }
        None => None,
    };
    let old = table()
        .with_thread(t.tid, |th| match new {
            Some((how, s)) => th.signals_mut().sigprocmask(how, s),
            None => th.signals().blocked(),
        })
        .ok_or(Errno::ESRCH)?;
    if let Some(p) = oldset.non_null() {
        t.write(p, old.bits())?;
    }
    Ok(0)
}

pub fn rt_sigpending(t: &mut UThread, set: UserPtr<u64>, size: usize) -> SysResult {
    sigsetsize(size)?;
    let pending = crate::uthread::sigpending(t.tid, t.pid);
    t.write(set, pending.bits()).map(|_| 0)
}

pub fn rt_sigsuspend(t: &mut UThread, mask: UserPtr<u64>, size: usize) -> SysResult {
    sigsetsize(size)?;
    let m = SigSet::from_bits(t.read(mask)?);
    table().with_thread(t.tid, |th| th.signals_mut().set_temporary_mask(m));
    let tid = t.tid;
    let _ = crate::proc::sleep_interruptible(tid, || false, None);
    Err(Errno::ERESTARTNOHAND)
}

pub fn pause(t: &mut UThread) -> SysResult {
    let tid = t.tid;
    let _ = crate::proc::sleep_interruptible(tid, || false, None);
    Err(Errno::ERESTARTNOHAND)
}

/// sigaltstack(2); a `stack_t` (padded after its `int`) moves as bytes.
pub fn sigaltstack(t: &mut UThread, ss: UserPtr<StackBytes>, old: UserPtr<StackBytes>) -> SysResult {
    let new = match ss.non_null() {
        Some(p) => Some(signal::StackT::from_bytes(&t.read(p)?)),
        None => None,
    };
    let sp = t.ctx.regs.rsp;
    let prev = table()
        .with_thread(t.tid, |th| th.signals_mut().altstack_mut().sigaltstack(new, sp, signal::MINSIGSTKSZ))
        .ok_or(Errno::ESRCH)??;
    if let Some(p) = old.non_null() {
        t.write(p, prev.to_bytes())?;
    }
    Ok(0)
}

/// rt_sigtimedwait(2): takes one of `set`'s pending signals, waiting up to
/// `timeout` (NULL: forever) for one; `EAGAIN` at the timeout, `EINTR` when
/// another signal arrives.
pub fn rt_sigtimedwait(
    t: &mut UThread,
    set: UserPtr<u64>,
    info: UserPtr<SiginfoBytes>,
    timeout: UserPtr<Timespec>,
    size: usize,
) -> SysResult {
    sigsetsize(size)?;
    let waited = SigSet::from_bits(t.read(set)?).blockable();
    let deadline = match timeout.non_null() {
        Some(p) => Some(crate::sched::now_ns().saturating_add(t.read(p)?.to_ns()?)),
        None => None,
    };
    let (tid, pid) = (t.tid, t.pid);
    let take = move || -> Option<signal::SigInfo> {
        let cpu = crate::posix_timer::dequeue_sample(pid);
        table()
            .with_thread_process(tid, pid, |th, p| {
                let mut info = th.signals_mut().dequeue_waited(p.pending_mut(), waited);
                if let Some(i) = &mut info {
                    crate::posix_timer::on_dequeue(&mut p.ext_mut().posix_timers, i, cpu);
                }
                info
            })
            .flatten()
    };
    let mut got = take();
    if got.is_none() && deadline != Some(crate::sched::now_ns()) {
        table().with_thread(tid, |th| th.signals_mut().begin_sigwait(waited));
        let pending = move || {
            table()
                .with_thread_process(tid, pid, |th, p| th.signals().has_deliverable(p.pending()))
                .unwrap_or(true)
        };
        let _ = crate::proc::sleep_interruptible(tid, pending, deadline);
        if crate::uthread::removed() {
            // removed by exec: the tid may name another thread now
            return Err(Errno::ERESTARTSYS);
        }
        table().with_thread(tid, |th| th.signals_mut().end_sigwait());
        got = take();
        if got.is_none() {
            return if crate::uthread::signal_pending(tid) { Err(Errno::EINTR) } else { Err(Errno::EAGAIN) };
        }
    }
    let Some(si) = got else { return Err(Errno::EAGAIN) };
    if let Some(p) = info.non_null() {
        t.write(p, si.to_bytes())?;
    }
    Ok(si.signo.get() as isize)
}

/// The uid a caller (process `from`) wrote into a siginfo it sends to
/// thread or process `to`, from the caller's user namespace into the
/// target's (Linux's send_signal_locked, for the kill, child and rt
/// layouts).
pub fn user_info_uid(from: process::pid::Pid, to: process::pid::Pid, info: &mut signal::SigInfo) {
    let Some(uid) = info.uid() else { return };
    let ns_of = |pid| table().with_process(pid, |p| p.creds().user_ns.clone());
    let target = table().tgid(to);
    if let (Some(from), Some(to)) = (ns_of(from), target.and_then(ns_of)) {
        let seen = process::table::signal_uid_across(&from, &to, uid);
        match &mut info.fields {
            signal::SigFields::Kill { uid, .. }
            | signal::SigFields::Rt { uid, .. }
            | signal::SigFields::Child { uid, .. } => *uid = seen,
            _ => {}
        }
    }
}

/// rt_sigqueueinfo(2) / rt_tgsigqueueinfo(2).
/// The pids and the signal are `pid_t`/`int`: their low halves.
pub fn rt_sigqueueinfo(
    t: &mut UThread,
    tgid: i32,
    tid: Option<i32>,
    sig: i32,
    uinfo: UserPtr<SiginfoBytes>,
) -> SysResult {
    // do_rt_tgsigqueueinfo(): both ids positive
    if tid.is_some_and(|x| x <= 0) || (tid.is_some() && tgid <= 0) {
        return Err(Errno::EINVAL);
    }
    let sig = SigNum::new(sig)?;
    let raw = t.read(uinfo)?;
    // Linux compares the target with the caller's own task id (a tid):
    // only a thread may send itself kernel-looking codes
    let to_self = tid.unwrap_or(tgid) as u32 == t.vtid;
    let mut info = signal::SigInfo::from_user(sig, &raw, to_self)?;
    // the ids are the caller's namespace's numbers (kill_proc_info's find_vpid)
    let kernel = |nr: i32| {
        if nr <= 0 { Ok(nr as u32) } else { table().pid_from(t.tid, nr as u32).ok_or(Errno::ESRCH) }
    };
    let tgid = kernel(tgid)?;
    let tid = tid.map(kernel).transpose()?;
    user_info_uid(t.pid, tid.unwrap_or(tgid), &mut info);
    table().sigqueue(t.tid, tgid, tid, info, &Hooks).map(|_| 0)
}

/// The set*id family over `process::cred::Credentials` (Linux's rules and
/// EPERM live there). `-1` (as u32::MAX) means "unchanged" where Linux
/// allows it.
pub fn setids(t: &mut UThread, n: usize, [x, y, z]: [u32; 3]) -> SysResult {
    table()
        .with_process(t.pid, |p| {
            let before = p.creds().clone();
            let ns = before.user_ns.clone();
            let gid = matches!(n, nr::SETREGID | nr::SETRESGID | nr::SETFSGID);
            let c = p.creds_mut();
            let r = if matches!(n, nr::SETFSUID | nr::SETFSGID) {
                // an unmapped id changes nothing; the old id comes back
                let k = kid(&ns, gid, x).unwrap_or(process::cred::NO_ID);
                Ok(if gid { ns.gid_from(c.setfsgid(k)) } else { ns.uid_from(c.setfsuid(k)) } as isize)
            } else {
                let ids = [kid(&ns, gid, x), kid(&ns, gid, y), kid(&ns, gid, z)];
                match ids {
                    [Ok(x), Ok(y), Ok(z)] => match n {
                        nr::SETREUID => c.setreuid(x, y).map(|_| 0),
                        nr::SETREGID => c.setregid(x, y).map(|_| 0),
                        nr::SETRESUID => c.setresuid(x, y, z).map(|_| 0),
                        nr::SETRESGID => c.setresgid(x, y, z).map(|_| 0),
                        _ => Err(Errno::ENOSYS),
                    },
                    _ => Err(Errno::EINVAL),
                }
            };
            let ev = creds_committed(p, &before);
            (r, ev)
        })
        .ok_or(Errno::ESRCH)
        .and_then(|(r, ev)| {
            id_events(t.tid, ev);
            r
        })
}

/// getresuid(2)/getresgid(2): three `uid_t *`, written in order.
pub fn getresids(t: &mut UThread, gid: bool, a: [UserPtr<u32>; 3]) -> SysResult {
    let c = table().with_process(t.pid, |p| p.creds().clone()).ok_or(Errno::ESRCH)?;
    let ns = &c.user_ns;
    let v = if gid {
        [c.gid, c.egid, c.sgid].map(|k| ns.gid_from(k))
    } else {
        [c.uid, c.euid, c.suid].map(|k| ns.uid_from(k))
    };
    for (p, id) in a.into_iter().zip(v) {
        t.write(p, id)?;
    }
    Ok(0)
}

/// setgroups(2): `int gidsetsize`, a `gid_t` array.
pub fn setgroups(t: &mut UThread, size: i32, list: UserPtr<u32>) -> SysResult {
    // Linux checks the privilege (may_setgroups: CAP_SETGID in the
    // caller's user namespace, whose gid map is written and setgroups not
    // denied) before the size and the list
    let ns = table()
        .with_process(t.pid, |p| {
            let c = p.creds();
            (c.own_cap(process::cred::CAP_SETGID) && c.user_ns.may_setgroups()).then(|| c.user_ns.clone())
        })
        .ok_or(Errno::ESRCH)?
        .ok_or(Errno::EPERM)?;
    // the count is an int: (unsigned)gidsetsize > NGROUPS_MAX
    let size = size as u32 as usize;
    if size > 65536 {
        return Err(Errno::EINVAL);
    }
    let b = t.read_slice(UserSlice::new(list.addr(), size * 4))?;
    let groups: alloc::vec::Vec<u32> = b
        .chunks_exact(4)
        .map(|c| ns.gid_into(u32::from_le_bytes([c[0], c[1], c[2], c[3]])).ok_or(Errno::EINVAL))
        .collect::<Result<_>>()?;
    table().with_process(t.pid, |p| p.creds_mut().setgroups(&groups)).ok_or(Errno::ESRCH)?.map(|_| 0)
}

/// getrusage(2): RUSAGE_SELF (0: every thread of the process, the exited
/// ones included), RUSAGE_CHILDREN (-1: the children reaped so far, with
/// what they reaped), RUSAGE_THREAD (1: the caller).
pub fn getrusage(t: &mut UThread, who: i32, buf: UserPtr<RusageBytes>) -> SysResult {
    crate::sched::charge(&t.cpu, process::cputime::Side::System);
    let ru = match who {
        0 => table().usage(t.pid),
        1 => Some(t.cpu.usage()),
        -1 => table().with_process(t.pid, |p| p.children_usage()),
        _ => return Err(Errno::EINVAL),
    }
    .ok_or(Errno::ESRCH)?;
    t.write(buf, ru.to_bytes()).map(|_| 0)
}

/// times(2): the process's and its reaped children's times in clock ticks
/// (USER_HZ 100); returns ticks since boot.
pub fn times(t: &mut UThread, buf: UserPtr<[u64; 4]>) -> SysResult {
    crate::sched::charge(&t.cpu, process::cputime::Side::System);
    let me = table().usage(t.pid).ok_or(Errno::ESRCH)?;
    let kids = table().with_process(t.pid, |p| p.children_usage()).ok_or(Errno::ESRCH)?;
    if let Some(p) = buf.non_null() {
        let ticks = [me.utime_us, me.stime_us, kids.utime_us, kids.stime_us].map(|us| us / 10_000);
        t.write(p, ticks)?;
    }
    Ok((arch_x86_64::time::since_boot_ns() / 10_000_000) as isize)
}

const LINUX_CAPABILITY_VERSION_1: u32 = 0x1998_0330;
const LINUX_CAPABILITY_VERSION_2: u32 = 0x2007_1026;
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// cap_validate_magic(): how many 32-bit halves the header's version
/// carries; an unknown version is answered with version 3 written back
/// into the header and `EINVAL`.
fn cap_version(t: &UThread, header: UserPtr<CapHeader>) -> Result<usize> {
    // the fields are copied one at a time (get_user), as Linux
    match t.read(header.cast::<u32>())? {
        LINUX_CAPABILITY_VERSION_1 => Ok(1),
        LINUX_CAPABILITY_VERSION_2 | LINUX_CAPABILITY_VERSION_3 => Ok(2),
        _ => {
            t.write(header.cast::<u32>(), LINUX_CAPABILITY_VERSION_3)?;
            Err(Errno::EINVAL)
        }
    }
}

/// `&header->pid`.
fn cap_pid(t: &UThread, header: UserPtr<CapHeader>) -> Result<i32> {
    t.read(header.field::<i32>(4))
}

/// capget(2): the capability sets of process `pid` (0: the caller) as
/// `tocopy` structs of (effective, permitted, inheritable) 32-bit halves.
/// A NULL data pointer with an unknown version is the version probe (0).
pub fn capget(t: &mut UThread, header: UserPtr<CapHeader>, data: UserPtr<[CapData; 2]>) -> SysResult {
    let v = cap_version(t, header);
    let tocopy = match v {
        Err(Errno::EINVAL) if data.is_null() => return Ok(0),
        Err(e) => return Err(e),
        Ok(_) if data.is_null() => return Ok(0),
        Ok(n) => n,
    };
    let pid = cap_pid(t, header)?;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let target = if pid == 0 { t.pid } else { table().tgid(pid as u32).ok_or(Errno::ESRCH)? };
    let (e, p, i) = table()
        .with_process(target, |p| {
            (p.creds().cap_effective, p.creds().cap_permitted, p.creds().cap_inheritable)
        })
        .ok_or(Errno::ESRCH)?;
    let half = |h: usize| CapData {
        effective: (e >> (32 * h)) as u32,
        permitted: (p >> (32 * h)) as u32,
        inheritable: (i >> (32 * h)) as u32,
    };
    if tocopy == 1 { t.write(data.cast::<CapData>(), half(0)) } else { t.write(data, [half(0), half(1)]) }
        .map(|_| 0)
}

/// capset(2): only the caller's own sets (pid 0 or its own pid, else
/// `EPERM`), lowered within Linux's rules (`Credentials::capset`).
pub fn capset(t: &mut UThread, header: UserPtr<CapHeader>, data: UserPtr<[CapData; 2]>) -> SysResult {
    let tocopy = cap_version(t, header)?;
    let pid = cap_pid(t, header)?;
    if pid != 0 && pid as u32 != t.pid {
        return Err(Errno::EPERM);
    }
    let halves =
        if tocopy == 1 { [t.read(data.cast::<CapData>())?, CapData::default()] } else { t.read(data)? };
    let (mut e, mut p, mut i) = (0u64, 0u64, 0u64);
    for (h, d) in halves.iter().enumerate() {
        e |= u64::from(d.effective) << (32 * h);
        p |= u64::from(d.permitted) << (32 * h);
        i |= u64::from(d.inheritable) << (32 * h);
    }
    let full = process::cred::CAP_FULL_SET;
    table()
        .with_process(t.pid, |pr| {
            let bset = pr.cap_bset();
            pr.creds_mut().capset(e & full, p & full, i & full, bset)
        })
        .ok_or(Errno::ESRCH)?
        .map(|_| 0)
}
