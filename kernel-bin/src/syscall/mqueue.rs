//! POSIX message queues (Linux 6.1's ipc/mqueue.c): mq_open, mq_unlink,
//! mq_timedsend, mq_timedreceive, mq_notify, mq_getsetattr. The queue's
//! rules (priority order, byte count, hand-over to waiters, the
//! notification's) are `ipc::mqueue`; here are the names per IPC
//! namespace, the descriptors, sleeping, signals, the per-user
//! `RLIMIT_MSGQUEUE` charge and the mqueue filesystem's view.
//!
//! A queue ([`MqInode`]) lives while its name is in its namespace's table
//! or a descriptor holds it; its drop gives back the namespace's queue
//! count and its creator's bytes. Blocked senders and receivers sleep on
//! the queue's wait queue, which every change wakes (pollers and epoll
//! too).
//!
//! # Locks
//! `NAMES` (every namespace's queue names; class `MqNames`) is taken
//! alone; `USERS` (bytes per user; `MqUsers`) alone or inside `NAMES`. A
//! queue's own lock (`MqInode::q`) is a per-object lock, never held with
//! `NAMES`; the process table's lock may be taken inside it (is the owner
//! of a registration alive), nothing else. No user copy, signal, netlink
//! send or drop of a queue, socket or namespace happens under any of
//! them: a removed name's queue, a dead namespace's tables and a removed
//! registration are dropped after the lock.

use super::SysResult;
use crate::lockorder::{LockClass, Ranked};
use crate::proc::{Hooks, table};
use crate::sched::WaitQueue;
use crate::uthread::UThread;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use ipc::mqueue::{self as rules, Attr, Fired, Geometry, Got, How, Owner, Queue, Sent};
use linux_abi::args::{Fd, UserCStr, UserPtr};
use linux_abi::{Errno, Result};
use process::ns::IpcNs;
use spin::Mutex;
use vfs::File;

/// `CAP_SYS_RESOURCE`: past `queues_max`, `msg_max` and `msgsize_max`.
const CAP_SYS_RESOURCE: u32 = 24;
const O_CREAT: u32 = 0o100;
/// A queue inode's size (`FILENT_SIZE`: what mqueue_get_inode sets).
const FILENT_SIZE: i64 = 80;

/// A `SIGEV_THREAD` registration's socket: the descriptor's file.
pub type NotifySock = Arc<dyn File>;

/// One queue (an inode of the mqueue filesystem).
pub struct MqInode {
    q: Mutex<Queue<NotifySock>>,
    wq: Arc<WaitQueue>,
    /// Moves on every change (epoll's edge-triggered wake-ups).
    events: AtomicU64,
    uid: u32,
    gid: u32,
    mode: u32,
    ino: u64,
    /// The creator's (real uid, bytes) charged to its RLIMIT_MSGQUEUE.
    charge: (u32, u64),
    /// The namespace's count of queues (`mq_queues_count`).
    count: Arc<AtomicUsize>,
    /// The user namespace of the registration's maker
    /// (`notify_user_ns`: si_uid is the sender's uid as it sees it); set
    /// at each registration, read when one fires.
    reg_user_ns: Mutex<Option<process::ns::UserNsRef>>,
}

/// Queues alive (exec looks for queue descriptors only when some exist).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// A process's part in mq_notify (in `proc::ProcessExt`): its identity
/// (Linux's `notify_owner`, a `struct pid` reference: a reused id is
/// another process), its program's (`self_exec_id`: an exec gives a new
/// one; a registration fires only for the program that made it) and the
/// queues it registered on, whose registrations its exit takes back (as
/// Linux's exit closes its descriptors: `mqueue_flush_file`).
pub struct ProcMq {
    process: u64,
    image: u64,
    regs: Vec<Weak<MqInode>>,
}

/// Process and program identities (never given twice).
static NEXT_IDENT: AtomicU64 = AtomicU64::new(1);

impl Default for ProcMq {
    /// A new process's (fork, clone): new identities, no registration.
    fn default() -> Self {
        let n = NEXT_IDENT.fetch_add(1, Ordering::Relaxed);
        ProcMq { process: n, image: n, regs: Vec::new() }
    }
}

/// Process `pid` as a registration names it (`None`: no such process).
fn owner_of(pid: u32) -> Option<Owner> {
    table().with_process(pid, |p| {
        let m = &p.ext().mq;
        Owner { pid, process: m.process, image: m.image }
    })
}

/// Whether `o` is still that process, not exited, running the program it
/// ran when it registered (with `same_image`).
fn is_current(o: &Owner, same_image: bool) -> bool {
    table()
        .with_process(o.pid, |p| {
            let m = &p.ext().mq;
            m.process == o.process
                && (!same_image || m.image == o.image)
                && p.state() != process::table::ProcState::Zombie
        })
        .unwrap_or(false)
}

/// Notes queue `q` in process `pid`'s list of queues it registered on
/// (once; entries of queues gone are dropped). `ENOMEM` when the list
/// cannot grow, `ESRCH` without the process.
fn note_registration(pid: u32, q: &Arc<MqInode>) -> Result<()> {
    let w = Arc::downgrade(q);
    table()
        .with_process(pid, |p| {
            let regs = &mut p.ext_mut().mq.regs;
            regs.retain(|r| r.strong_count() > 0);
            if regs.iter().any(|r| Weak::ptr_eq(r, &w)) {
                return Ok(());
            }
            regs.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            regs.push(w);
            Ok(())
        })
        .unwrap_or(Err(Errno::ESRCH))
}

/// The exit of process `pid`'s thread `tid` (before the table hears of
/// it, so that its parent never sees the exit first): when it is the
/// process's last thread (or the process is a zombie already), the
/// process's registrations go (Linux: exit_files closes its descriptors,
/// and `mqueue_flush_file` removes the registration of `task_tgid`).
pub fn exiting(pid: u32, tid: u32) {
    if LIVE.load(Ordering::Relaxed) == 0 {
        return;
    }
    let taken = table().with_process(pid, |p| {
        let th = p.threads();
        if th.is_empty() || (th.len() == 1 && th[0] == tid) {
            let m = &mut p.ext_mut().mq;
            Some((Owner { pid, process: m.process, image: m.image }, core::mem::take(&mut m.regs)))
        } else {
            None
        }
    });
    let Some(Some((owner, regs))) = taken else { return };
    for q in regs.iter().filter_map(Weak::upgrade) {
        let removed = q.q.lock().unregister(&owner);
        if let Some((sock, cookie)) = removed.and_then(|r| r.removed()) {
            crate::net::netlink::netlink_deliver(&*sock, &cookie);
        }
    }
}

impl Drop for MqInode {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
        // mqueue_evict_inode: the queue count and the user's bytes
        self.count.fetch_sub(1, Ordering::Relaxed);
        let mut u = USERS.lock();
        if let Some(b) = u.get_mut(&self.charge.0) {
            *b = b.saturating_sub(self.charge.1);
            if *b == 0 {
                u.remove(&self.charge.0);
            }
        }
    }
}

impl MqInode {
    fn changed(&self) {
        self.events.fetch_add(1, Ordering::SeqCst);
        self.wq.wake_all();
    }

    /// The line a read of the queue gives, the owner's pid as `viewer` sees it.
    fn status_line(&self, viewer: u32) -> Vec<u8> {
        let q = self.q.lock();
        let owner = q.registration().map(|r| r.owner.pid);
        drop(q);
        let pid = owner.map_or(0, |o| table().pid_seen(viewer, o) as i32);
        self.q.lock().status_line(pid).into_bytes()
    }

    fn stat(&self) -> vfs::Stat {
        vfs::Stat::default()
            .with_mode(vfs::S_IFREG | self.mode)
            .with_nlink(1)
            .with_ino(self.ino)
            .with_uid(self.uid)
            .with_gid(self.gid)
            .with_size(FILENT_SIZE)
            .with_blksize(4096)
    }
}

/// One IPC namespace's queues by name.
struct NsQueues {
    ns: Weak<IpcNs>,
    names: BTreeMap<Vec<u8>, Arc<MqInode>>,
    count: Arc<AtomicUsize>,
}

/// Every IPC namespace's queue names by namespace number.
static NAMES: Ranked<BTreeMap<u64, NsQueues>> =
    Ranked::new(LockClass::MqNames, "mqueue::NAMES", BTreeMap::new());

/// Bytes of queues per (kernel real) user id, against RLIMIT_MSGQUEUE.
static USERS: Ranked<BTreeMap<u32, u64>> = Ranked::new(LockClass::MqUsers, "mqueue::USERS", BTreeMap::new());

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

/// The tables of `ns` (made at its first use); namespaces nobody holds
/// any more are taken out into `gone`, to be dropped after the lock.
fn ns_tables<'a>(
    all: &'a mut BTreeMap<u64, NsQueues>,
    ns: &Arc<IpcNs>,
    gone: &mut Vec<NsQueues>,
) -> Result<&'a mut NsQueues> {
    take_dead(all, gone);
    let ino = ns.ino();
    Ok(all.entry(ino).or_insert_with(|| {
        if ino != process::ns::INIT_IPC_INO {
            OTHERS.fetch_add(1, Ordering::Relaxed);
        }
        NsQueues { ns: Arc::downgrade(ns), names: BTreeMap::new(), count: Arc::new(AtomicUsize::new(0)) }
    }))
}

/// Namespaces other than the initial one with tables (reaping costs
/// nothing while there are none).
static OTHERS: AtomicUsize = AtomicUsize::new(0);

/// Whether an IPC namespace ended since the last look for dead tables
/// (set by `IpcNs`'s drop through [`ipc_ns_gone`]).
static DEAD_PENDING: AtomicBool = AtomicBool::new(false);

/// An IPC namespace ended (its record's drop, through
/// `shm::ipc_ns_gone`): the next look for dead tables walks them. A flag,
/// no lock: the drop may happen under any lock.
pub fn ipc_ns_gone() {
    if OTHERS.load(Ordering::Relaxed) != 0 {
        DEAD_PENDING.store(true, Ordering::Release);
    }
}

/// Takes out the tables of namespaces nobody holds any more (no process,
/// nsfs file or mqueue mount): their names go, and each queue with its
/// last descriptor. The walk of every namespace's tables happens only
/// when a namespace ended since the last one.
fn take_dead(all: &mut BTreeMap<u64, NsQueues>, gone: &mut Vec<NsQueues>) {
    if OTHERS.load(Ordering::Relaxed) == 0 || !DEAD_PENDING.swap(false, Ordering::AcqRel) {
        return;
    }
    let mut dead: Vec<u64> = Vec::new();
    for (n, t) in all.iter() {
        if *n != process::ns::INIT_IPC_INO && t.ns.strong_count() == 0 {
            if dead.try_reserve(1).is_err() {
                // (looked at again next time)
                DEAD_PENDING.store(true, Ordering::Release);
                break;
            }
            dead.push(*n);
        }
    }
    for n in dead {
        if let Some(t) = all.remove(&n) {
            OTHERS.fetch_sub(1, Ordering::Relaxed);
            gone.push(t);
        }
    }
}

/// Drops the queues of IPC namespaces that lost their last holder (after
/// wait4, unshare, setns, as `shm::reap_namespaces`), so that their
/// bytes and counts come back.
pub fn reap_namespaces() {
    if OTHERS.load(Ordering::Relaxed) == 0 {
        return;
    }
    let mut gone = Vec::new();
    let mut all = NAMES.lock();
    take_dead(&mut all, &mut gone);
    drop(all);
    drop(gone);
}

fn ipc_ns_of(pid: u32) -> Arc<IpcNs> {
    table().with_process(pid, |p| p.ns().ipc.clone()).unwrap_or_else(IpcNs::initial)
}

/// A queue descriptor's description.
pub struct MqFile {
    inode: Arc<MqInode>,
    /// The access mode and `O_NONBLOCK`.
    flags: AtomicU32,
    /// The read offset in the status line.
    pos: AtomicU64,
    name: Vec<u8>,
    owner: vfs::FileOwner,
}

impl MqFile {
    fn nonblock(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & vfs::O_NONBLOCK != 0
    }
    fn acc(&self) -> u32 {
        self.flags.load(Ordering::Relaxed) & vfs::O_ACCMODE
    }
    fn can_read(&self) -> bool {
        matches!(self.acc(), vfs::O_RDONLY | vfs::O_RDWR)
    }
    fn can_write(&self) -> bool {
        matches!(self.acc(), vfs::O_WRONLY | vfs::O_RDWR)
    }
}

impl File for MqFile {
    fn owner(&self) -> &vfs::FileOwner {
        &self.owner
    }

    /// mqueue_read_file: the status line from the file offset.
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if !self.can_read() {
            return Err(Errno::EBADF);
        }
        let (_, pid) = crate::eventfd::caller();
        let line = self.inode.status_line(pid);
        let pos = self.pos.load(Ordering::Relaxed) as usize;
        let n = line.len().saturating_sub(pos).min(buf.len());
        if n > 0 {
            buf[..n].copy_from_slice(&line[pos..pos + n]);
            self.pos.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }

    fn write(&self, _buf: &[u8]) -> Result<usize> {
        Err(if self.can_write() { Errno::EINVAL } else { Errno::EBADF })
    }

    fn lseek(&self, offset: i64, whence: u32) -> Result<u64> {
        // default_llseek
        let base = match whence {
            0 => 0,
            1 => self.pos.load(Ordering::Relaxed) as i64,
            2 => FILENT_SIZE, // i_size
            _ => return Err(Errno::EINVAL),
        };
        let p = base.checked_add(offset).filter(|p| *p >= 0).ok_or(Errno::EINVAL)?;
        self.pos.store(p as u64, Ordering::Relaxed);
        Ok(p as u64)
    }

    fn stat(&self) -> Result<vfs::Stat> {
        Ok(self.inode.stat())
    }

    fn poll(&self) -> u32 {
        let q = self.inode.q.lock();
        let mut r = 0;
        if q.readable() {
            r |= vfs::POLLIN | vfs::POLLRDNORM;
        }
        if q.writable() {
            r |= vfs::POLLOUT | vfs::POLLWRNORM;
        }
        r
    }

    fn event_count(&self) -> u64 {
        self.inode.events.load(Ordering::SeqCst)
    }

    fn wait_queue(&self) -> Option<Arc<dyn vfs::WaitQueue>> {
        Some(self.inode.wq.clone())
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    crate::eventfd::status_flags_methods!();
}

/// What /proc/PID/fd/N shows for a queue descriptor: `/NAME`.
pub fn mq_link(file: &dyn File) -> Option<Vec<u8>> {
    let m = file.as_any()?.downcast_ref::<MqFile>()?;
    let mut n = b"/".to_vec();
    n.extend_from_slice(&m.name);
    Some(n)
}

fn mq_file(t: &UThread, fd: i32) -> Result<Arc<dyn File>> {
    t.fd(Fd(fd as u32))
}

/// The queue description behind a descriptor (`EBADF` for another file).
fn as_mq(f: &Arc<dyn File>) -> Result<&MqFile> {
    f.as_any().and_then(|a| a.downcast_ref::<MqFile>()).ok_or(Errno::EBADF)
}

/// mq_open(2): `const char *name, int oflag, mode_t mode, struct mq_attr *attr`.
pub fn mq_open(t: &mut UThread, name: UserCStr, oflag: u32, mode: u32, attr: UserPtr<[u8; 64]>) -> SysResult {
    // the attr is read first, then the name (getname: EFAULT, ENOENT, ENAMETOOLONG)
    let attr = if attr.addr() != 0 { Some(Attr::from_bytes(&t.read(attr)?)) } else { None };
    let name = super::fs::path(t, name)?;
    rules::check_name(&name)?;
    let cred = super::fs::cred(t);
    let (ruid, rlimit) = table()
        .with_process(t.pid, |p| (p.creds().uid, p.rlimits().cur(process::rlimit::Resource::Msgqueue)))
        .ok_or(Errno::ESRCH)?;
    let umask = t.fs()?.umask();
    let sys_resource = cred.has_cap(CAP_SYS_RESOURCE);
    let lim = super::shm::limits();
    let ns = ipc_ns_of(t.pid);
    // do_mq_open: get_unused_fd_flags(O_CLOEXEC) first (EMFILE before any
    // queue is made)
    let nofile = t.nofile();
    let files = t.files();
    let reserved = files.lock()?.reserve(true, nofile)?;
    // dead namespaces' queues give their bytes back before the charge
    reap_namespaces();
    let who = Creator { cred: &cred, ruid, rlimit, umask, sys_resource };
    let inode = match open_in(&ns, &name, oflag, mode, attr, &lim, &who) {
        Ok(i) => i,
        Err(e) => {
            if let Ok(mut g) = files.lock() {
                g.unreserve(reserved);
            }
            return Err(e);
        }
    };
    // OPEN_FMODE: access mode 3 (only at creation) reads and writes nothing
    let file: Arc<dyn File> = Arc::new(MqFile {
        inode,
        flags: AtomicU32::new(oflag & (vfs::O_ACCMODE | vfs::O_NONBLOCK)),
        pos: AtomicU64::new(0),
        name,
        owner: vfs::FileOwner::new(),
    });
    let r = match files.lock() {
        Ok(mut g) => g.install(reserved, file),
        Err(_) => Err(file),
    };
    match r {
        Ok(fd) => Ok(fd as isize),
        // the table changed under us (cannot happen: the reservation is ours)
        Err(file) => {
            drop(file);
            Err(Errno::EBADF)
        }
    }
}

/// Who opens: the credential, real uid, RLIMIT_MSGQUEUE, umask, and
/// whether CAP_SYS_RESOURCE lifts the limits.
struct Creator<'a> {
    cred: &'a vfs::Cred,
    ruid: u32,
    rlimit: u64,
    umask: u32,
    sys_resource: bool,
}

/// The queue `name` of namespace `ns` opened with `oflag`, made with
/// `mode` and `attr` when missing and `O_CREAT` (prepare_open,
/// mqueue_create_attr, mqueue_get_inode).
fn open_in(
    ns: &Arc<IpcNs>,
    name: &[u8],
    oflag: u32,
    mode: u32,
    attr: Option<Attr>,
    lim: &ipc::sysv::Limits,
    who: &Creator<'_>,
) -> Result<Arc<MqInode>> {
    let mut key = Vec::new();
    key.try_reserve_exact(name.len()).map_err(|_| Errno::ENOMEM)?;
    key.extend_from_slice(name);
    let mut gone = Vec::new();
    let mut all = NAMES.lock();
    let tb = ns_tables(&mut all, ns, &mut gone)?;
    let r = match tb.names.get(name) {
        Some(i) => {
            let want = rules::open_access(oflag)?;
            if !who.cred.permits(false, i.uid, i.gid, i.mode, want) {
                return Err(Errno::EACCES);
            }
            i.clone()
        }
        None => {
            if oflag & O_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
            if tb.count.load(Ordering::Relaxed) >= lim.mq_queues_max.max(0) as usize && !who.sys_resource {
                return Err(Errno::ENOSPC);
            }
            let g = Geometry::new(attr.map(|a| (a.maxmsg, a.msgsize)), lim, who.sys_resource)?;
            {
                let mut u = USERS.lock();
                let used = u.get(&who.ruid).copied().unwrap_or(0);
                let total = rules::charge_ok(used, &g, who.rlimit)?;
                u.insert(who.ruid, total);
            }
            tb.count.fetch_add(1, Ordering::Relaxed);
            LIVE.fetch_add(1, Ordering::Relaxed);
            let i = Arc::new(MqInode {
                q: Mutex::new(Queue::new(g)),
                wq: Arc::new(WaitQueue::new()),
                events: AtomicU64::new(0),
                uid: who.cred.uid,
                gid: who.cred.gid,
                mode: mode & !who.umask & 0o7777,
                ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
                charge: (who.ruid, g.charge()),
                count: tb.count.clone(),
                reg_user_ns: Mutex::new(None),
            });
            tb.names.insert(key, i.clone());
            i
        }
    };
    drop(all);
    drop(gone);
    Ok(r)
}

/// mq_unlink(2): the name goes (the queue with its last descriptor);
/// the sticky root directory lets only the queue's owner, root or
/// `CAP_FOWNER` remove it (`EPERM`).
pub fn mq_unlink(t: &mut UThread, name: UserCStr) -> SysResult {
    let name = super::fs::path(t, name)?;
    rules::check_name(&name)?;
    let cred = super::fs::cred(t);
    unlink_in(&ipc_ns_of(t.pid), &name, &cred)
}

/// Removes queue `name` of namespace `ns` as `cred` (mq_unlink, unlink(2)
/// in a mqueue mount).
pub fn unlink_in(ns: &Arc<IpcNs>, name: &[u8], cred: &vfs::Cred) -> SysResult {
    let mut gone = Vec::new();
    let mut all = NAMES.lock();
    let tb = ns_tables(&mut all, ns, &mut gone)?;
    let i = tb.names.get(name).ok_or(Errno::ENOENT)?;
    // may_delete in the 01777 root owned by root
    if cred.uid != i.uid && cred.uid != 0 && !cred.has_cap(vfs::CAP_FOWNER) {
        return Err(Errno::EPERM);
    }
    let removed = tb.names.remove(name);
    drop(all);
    drop(gone);
    drop(removed);
    Ok(0)
}

/// The absolute CLOCK_REALTIME timeout in nanoseconds (prepare_timeout:
/// `EINVAL` for a negative second or a nanosecond out of range).
fn deadline(t: &UThread, ts: UserPtr<[i64; 2]>) -> Result<Option<u64>> {
    if ts.addr() == 0 {
        return Ok(None);
    }
    let [sec, nsec] = t.read(ts)?;
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Some((sec as u64).saturating_mul(1_000_000_000).saturating_add(nsec as u64)))
}

/// Sleeps until waiter `w` of `inode` is done, a signal, or the absolute
/// CLOCK_REALTIME time `abs`: the monotonic deadline is taken again after
/// a time-out that came early because the clock was set back.
fn wait_done(t: &UThread, inode: &MqInode, w: rules::Waiter, abs: Option<u64>) -> Result<()> {
    loop {
        let mono = abs.map(|a| a.saturating_sub(crate::time::realtime_offset_ns()));
        match crate::proc::sleep_on(t.tid, &[&inode.wq], || inode.q.lock().done(w), mono) {
            Err(Errno::ETIMEDOUT) if abs.is_some_and(|a| crate::time::realtime_ns() < a) => continue,
            r => return r,
        }
    }
}

/// Whether the registered process exists and has not exited (a zombie's
/// descriptors were closed at its exit, and its registrations with them).
/// Its id alone is not enough: it may name another process now.
fn alive(o: &Owner) -> bool {
    is_current(o, false)
}

/// Sends what a fired registration says, after the queue's lock.
fn deliver(fired: Fired<NotifySock>, sender: u32, inode: &MqInode) {
    match fired {
        Fired::Signal { owner, signo, value } => {
            let Ok(sig) = signal::SigNum::new(signo) else { return };
            // __do_notify: pid_task(notify_owner) and its self_exec_id: a
            // process that is gone, or execed since, is sent nothing
            if !is_current(&owner, true) {
                return;
            }
            let owner = owner.pid;
            let kuid = table().with_process(sender, |p| p.creds().uid).unwrap_or(0);
            // from_kuid_munged(notify_user_ns, current_uid())
            let ns = inode.reg_user_ns.lock().take();
            let uid = ns.map_or(kuid, |n| n.uid_from(kuid));
            let mut info = signal::SigInfo::queue(sig, table().pid_seen(owner, sender) as i32, uid, value);
            info.code = signal::siginfo::code::SI_MESGQ;
            // bypasses the permission check (it is the kernel's)
            let _ = table().send_signal(owner, info, &Hooks);
        }
        Fired::Thread { sock, cookie } => crate::net::netlink::netlink_deliver(&*sock, &cookie),
    }
}

/// mq_timedsend(2): `mqd_t mqdes, const char *msg_ptr, size_t msg_len,
/// unsigned int msg_prio, const struct timespec *abs_timeout`.
pub fn mq_timedsend(
    t: &mut UThread,
    mqd: i32,
    msg: u64,
    len: usize,
    prio: u32,
    ts: UserPtr<[i64; 2]>,
) -> SysResult {
    let prio = Queue::<NotifySock>::check_prio(u64::from(prio))?;
    let deadline = deadline(t, ts)?;
    let f = mq_file(t, mqd)?;
    let m = as_mq(&f)?;
    if !m.can_write() {
        return Err(Errno::EBADF);
    }
    m.inode.q.lock().check_send_len(len)?;
    // load_msg: the message is copied in first
    let mut data = Vec::new();
    data.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    data.resize(len, 0);
    t.read_into(msg, &mut data)?;
    let inode = &m.inode;
    let (sent, dead) = {
        let mut q = inode.q.lock();
        // a registration whose process exited went with its descriptors
        let dead = q.forget_dead(alive);
        (q.send(prio, data, m.nonblock(), crate::sched::current().kernel_prio()), dead)
    };
    drop(dead);
    let sent = sent?;
    let r = match sent {
        Sent::Queued(fired) => {
            if let Some(fired) = fired {
                deliver(fired, t.pid, inode);
            }
            Ok(0)
        }
        Sent::Blocked(w) => {
            let slept = wait_done(t, inode, w, deadline);
            let got = inode.q.lock().finish(w);
            match (got, slept) {
                (Some(_), _) => Ok(0),
                (None, Err(e)) => Err(e),
                (None, Ok(())) => Err(Errno::ERESTARTSYS),
            }
        }
    };
    inode.changed();
    r
}

/// mq_timedreceive(2): `mqd_t mqdes, char *msg_ptr, size_t msg_len,
/// unsigned int *msg_prio, const struct timespec *abs_timeout`.
pub fn mq_timedreceive(
    t: &mut UThread,
    mqd: i32,
    buf: u64,
    len: usize,
    prio_out: UserPtr<u32>,
    ts: UserPtr<[i64; 2]>,
) -> SysResult {
    let deadline = deadline(t, ts)?;
    let f = mq_file(t, mqd)?;
    let m = as_mq(&f)?;
    if !m.can_read() {
        return Err(Errno::EBADF);
    }
    let inode = &m.inode;
    inode.q.lock().check_receive_len(len)?;
    let task_prio = crate::sched::current().kernel_prio();
    let got = inode.q.lock().receive(m.nonblock(), task_prio)?;
    let (prio, data) = match got {
        Got::Message(p, d) => (p, d),
        Got::Blocked(w) => {
            let slept = wait_done(t, inode, w, deadline);
            let got = inode.q.lock().finish(w);
            match (got, slept) {
                (Some(Some(msg)), _) => msg,
                (Some(None), _) => return Err(Errno::EIO),
                (None, Err(e)) => return Err(e),
                (None, Ok(())) => return Err(Errno::ERESTARTSYS),
            }
        }
    };
    inode.changed();
    // the message is gone even if the copy out fails (as Linux)
    if prio_out.addr() != 0 {
        t.write(prio_out, prio)?;
    }
    t.write_slice(buf, &data)?;
    Ok(data.len() as isize)
}

/// mq_notify(2): `mqd_t mqdes, const struct sigevent *sevp`.
pub fn mq_notify(t: &mut UThread, mqd: i32, sev: UserPtr<[u8; 64]>) -> SysResult {
    let how = if sev.addr() == 0 {
        None
    } else {
        // struct sigevent: sigev_value, sigev_signo, sigev_notify, ...
        let e = t.read(sev)?;
        let word = |o: usize| i32::from_le_bytes([e[o], e[o + 1], e[o + 2], e[o + 3]]);
        let mut v = [0u8; 8];
        v.copy_from_slice(&e[..8]);
        let value = u64::from_le_bytes(v);
        let (signo, notify) = (word(8), word(12));
        Some(match notify {
            rules::SIGEV_NONE => How::None,
            // valid_signal: 0 to 64 (0 sends nothing)
            rules::SIGEV_SIGNAL if (0..=64).contains(&signo) => How::Signal { signo, value },
            rules::SIGEV_THREAD => {
                let mut cookie = [0u8; rules::NOTIFY_COOKIE_LEN];
                t.read_into(value, &mut cookie)?;
                let sock = t.fd(Fd(signo as u32))?;
                crate::net::netlink::netlink_check(&*sock)?;
                How::Thread { sock, cookie }
            }
            _ => return Err(Errno::EINVAL),
        })
    };
    let f = mq_file(t, mqd)?;
    let inode = &as_mq(&f)?.inode;
    let owner = owner_of(t.pid).ok_or(Errno::ESRCH)?;
    if how.is_some() {
        // its exit finds the queue (noted before: ENOMEM changes nothing)
        note_registration(t.pid, inode)?;
    }
    let mut old_ns = None;
    let mut q = inode.q.lock();
    // a registration of a process that exited went with its descriptors
    let dead = q.forget_dead(alive);
    let (r, removed) = match how {
        None => (Ok(0), q.unregister(&owner)),
        Some(h) => match q.register(owner, h) {
            Ok(()) => {
                // the one it replaces is dropped after the locks
                old_ns = inode.reg_user_ns.lock().replace(t.user_ns.clone());
                (Ok(0), None)
            }
            Err((e, h)) => {
                drop(q);
                drop(h);
                drop(dead);
                return Err(e);
            }
        },
    };
    drop(q);
    drop(old_ns);
    if let Some((sock, cookie)) = removed.and_then(|r| r.removed()) {
        crate::net::netlink::netlink_deliver(&*sock, &cookie);
    }
    drop(dead);
    r
}

/// mq_getsetattr(2): `mqd_t mqdes, const struct mq_attr *newattr, struct
/// mq_attr *oldattr`.
pub fn mq_getsetattr(t: &mut UThread, mqd: i32, new: UserPtr<[u8; 64]>, old: UserPtr<[u8; 64]>) -> SysResult {
    let new = if new.addr() != 0 { Some(Attr::from_bytes(&t.read(new)?)) } else { None };
    if let Some(a) = &new {
        rules::check_setattr_flags(a.flags)?;
    }
    let f = mq_file(t, mqd)?;
    let m = as_mq(&f)?;
    let before = m.inode.q.lock().attr(m.nonblock());
    if let Some(a) = new {
        let fl = m.flags.load(Ordering::Relaxed);
        let fl = if a.flags & rules::O_NONBLOCK != 0 { fl | vfs::O_NONBLOCK } else { fl & !vfs::O_NONBLOCK };
        m.flags.store(fl, Ordering::Relaxed);
    }
    if old.addr() != 0 {
        t.write(old, before.to_bytes())?;
    }
    Ok(0)
}

/// A descriptor of `pid` was closed (mqueue_flush_file): its process's
/// registration on that queue goes.
pub fn closed(pid: u32, file: &Arc<dyn File>) {
    let Some(m) = file.as_any().and_then(|a| a.downcast_ref::<MqFile>()) else { return };
    let Some(owner) = owner_of(pid) else { return };
    let removed = m.inode.q.lock().unregister(&owner);
    if let Some((sock, cookie)) = removed.and_then(|r| r.removed()) {
        crate::net::netlink::netlink_deliver(&*sock, &cookie);
    }
}

/// What an execve does to its process's queues: the queues of its
/// close-on-exec descriptors and who it was before (see [`exec_closing`]).
pub struct MqExec {
    queues: Vec<Arc<MqInode>>,
    before: Option<Owner>,
}

/// Before an execve's point of no return: the process gets a new program
/// identity (Linux's begin_new_exec raises `self_exec_id` before
/// do_close_on_exec: a registration that survives the exec never fires
/// for the new program), and the queues of `t`'s close-on-exec
/// descriptors are noted, whose registrations by the process
/// [`exec_closed`] removes once the exec closed them ([`exec_failed`]
/// puts the identity back when the exec fails).
pub fn exec_closing(t: &UThread) -> MqExec {
    let mut out = MqExec { queues: Vec::new(), before: None };
    if LIVE.load(Ordering::Relaxed) == 0 {
        return out;
    }
    let fresh = NEXT_IDENT.fetch_add(1, Ordering::Relaxed);
    let pid = t.pid;
    out.before = table().with_process(pid, |p| {
        let m = &mut p.ext_mut().mq;
        let o = Owner { pid, process: m.process, image: m.image };
        m.image = fresh;
        o
    });
    let Ok(g) = t.files().lock() else { return out };
    for (fd, f) in g.iter() {
        if g.fd_flags(fd).is_ok_and(|fl| fl & fs_table::FD_CLOEXEC != 0)
            && let Some(m) = f.as_any().and_then(|a| a.downcast_ref::<MqFile>())
            && out.queues.try_reserve(1).is_ok()
        {
            out.queues.push(m.inode.clone());
        }
    }
    out
}

/// After a successful execve by process `pid`: its close-on-exec queue
/// descriptors were closed (mqueue_flush_file), so its registrations on
/// those queues go; the others stay but fire for nobody.
pub fn exec_closed(pid: u32, e: MqExec) {
    let Some(owner) = e.before else { return };
    debug_assert_eq!(owner.pid, pid);
    for i in e.queues {
        let removed = i.q.lock().unregister(&owner);
        if let Some((sock, cookie)) = removed.and_then(|r| r.removed()) {
            crate::net::netlink::netlink_deliver(&*sock, &cookie);
        }
    }
}

/// The execve failed before its point of no return: the program
/// identity [`exec_closing`] replaced comes back.
pub fn exec_failed(pid: u32, e: MqExec) {
    let Some(owner) = e.before else { return };
    table().with_process(pid, |p| p.ext_mut().mq.image = owner.image);
    drop(e);
}

/// The queues of namespace `ns` by name (the mqueue filesystem's listing).
pub fn names_of(ns: &Arc<IpcNs>) -> Vec<(Vec<u8>, u64)> {
    let mut gone = Vec::new();
    let mut all = NAMES.lock();
    let out = match ns_tables(&mut all, ns, &mut gone) {
        Ok(tb) => tb.names.iter().map(|(n, i)| (n.clone(), i.ino)).collect(),
        Err(_) => Vec::new(),
    };
    drop(all);
    drop(gone);
    out
}

/// Queue `name` of namespace `ns`: its status line as `viewer` sees it, its
/// inode number, mode and owner (a file of the mqueue filesystem).
pub fn lookup_in(ns: &Arc<IpcNs>, name: &[u8]) -> Option<Arc<MqInode>> {
    let mut gone = Vec::new();
    let mut all = NAMES.lock();
    let i = ns_tables(&mut all, ns, &mut gone).ok().and_then(|tb| tb.names.get(name).cloned());
    drop(all);
    drop(gone);
    i
}

impl MqInode {
    /// The status line as process `viewer` sees it.
    pub fn line_for(&self, viewer: u32) -> Vec<u8> {
        self.status_line(viewer)
    }
    /// Inode number, mode bits, owner and group.
    pub fn ids(&self) -> (u64, u32, u32, u32) {
        (self.ino, self.mode, self.uid, self.gid)
    }
}

// ----- the mqueue filesystem -----

/// The root directory of a mqueue mount: the queues of its namespace
/// (the mounter's), which the mount holds.
struct MqRoot {
    ns: Arc<IpcNs>,
}

/// A queue's file in a mqueue mount: reads give its status line.
struct MqNode {
    q: Arc<MqInode>,
    name: Vec<u8>,
}

impl vfs::SynthNode for MqRoot {
    fn lookup(&self, dir: &Arc<vfs::Inode>, name: &[u8]) -> Result<Option<Arc<vfs::Inode>>> {
        let Some(q) = lookup_in(&self.ns, name) else { return Ok(None) };
        let (ino, mode, uid, gid) = q.ids();
        let i = vfs::Inode::new_synth(
            dir,
            name,
            vfs::FileType::Regular,
            mode & 0o7777,
            ino + 1,
            Arc::new(MqNode { q, name: name.to_vec() }),
        );
        i.set_synth_owner(uid, gid);
        // mqueue_get_inode: i_size = FILENT_SIZE (ls -l shows 80)
        i.set_synth_size(FILENT_SIZE as u64);
        Ok(Some(i))
    }

    fn entries(&self, _dir: &Arc<vfs::Inode>) -> Vec<vfs::SynthEntry> {
        names_of(&self.ns)
            .into_iter()
            .map(|(n, ino)| vfs::SynthEntry::new(n, ino + 1, vfs::FileType::Regular))
            .collect()
    }

    /// What the root cannot make: open(2) is refused by the permission
    /// check only (`EACCES`); mkdir, mknod, symlink and link have no
    /// operation there (`EPERM`).
    fn create_errno(&self, open: bool) -> Errno {
        if open { Errno::EACCES } else { Errno::EPERM }
    }

    /// open(2) with O_CREAT of a free name: a queue with the default
    /// attributes (mqueue_create), opened with the open's flags.
    fn create_object(
        &self,
        name: &[u8],
        perm: u32,
        flags: u32,
        cred: &vfs::Cred,
    ) -> Option<Result<Arc<dyn File>>> {
        Some((|| {
            rules::check_name(name)?;
            let (_, pid) = crate::eventfd::caller();
            let (ruid, rlimit) = table()
                .with_process(pid, |p| (p.creds().uid, p.rlimits().cur(process::rlimit::Resource::Msgqueue)))
                .ok_or(Errno::ESRCH)?;
            let lim = super::shm::limits();
            let who = Creator { cred, ruid, rlimit, umask: 0, sys_resource: cred.has_cap(CAP_SYS_RESOURCE) };
            reap_namespaces();
            let inode = open_in(&self.ns, name, flags | O_CREAT, perm, None, &lim, &who)?;
            let mut n = Vec::new();
            n.try_reserve_exact(name.len()).map_err(|_| Errno::ENOMEM)?;
            n.extend_from_slice(name);
            let file: Arc<dyn File> = Arc::new(MqFile {
                inode,
                flags: AtomicU32::new(flags & (vfs::O_ACCMODE | vfs::O_NONBLOCK)),
                pos: AtomicU64::new(0),
                name: n,
                owner: vfs::FileOwner::new(),
            });
            Ok(file)
        })())
    }

    fn unlink(&self, name: &[u8], cred: &vfs::Cred) -> Option<Result<()>> {
        Some(unlink_in(&self.ns, name, cred).map(|_| ()))
    }
}

impl vfs::SynthNode for MqNode {
    fn content(&self) -> Result<Vec<u8>> {
        let (_, pid) = crate::eventfd::caller();
        Ok(self.q.line_for(pid))
    }

    /// open(2) of a queue's file gives a queue descriptor (mqueue's
    /// file operations), with the open's access mode and O_NONBLOCK.
    fn open_object(&self, flags: u32) -> Option<Result<Arc<dyn File>>> {
        let file: Arc<dyn File> = Arc::new(MqFile {
            inode: self.q.clone(),
            flags: AtomicU32::new(flags & (vfs::O_ACCMODE | vfs::O_NONBLOCK)),
            pos: AtomicU64::new(0),
            name: self.name.clone(),
            owner: vfs::FileOwner::new(),
        });
        Some(Ok(file))
    }
}

/// Whether `file` is a queue descriptor.
pub fn is_mq(file: &dyn File) -> bool {
    file.as_any().is_some_and(|a| a.is::<MqFile>())
}

/// `mount -t mqueue`: a filesystem showing the queues of the caller's
/// IPC namespace.
pub fn new_mqueuefs(t: &UThread) -> Arc<vfs::Inode> {
    let ns = ipc_ns_of(t.pid);
    let root =
        vfs::new_synthfs(vfs::makedev(0, 0x13), Arc::new(crate::fs::KernelClock), Arc::new(MqRoot { ns }));
    // mqueue_fill_super: S_IFDIR | S_ISVTX | 0777
    let _ = root.chmod(&vfs::Cred::root(), 0o1777);
    root
}
