//! inotify(7): inotify_init/inotify_init1, inotify_add_watch,
//! inotify_rm_watch and the inotify file. The watch table and the event
//! queue are `notify::Instance` (crates/notify); the vfs reports events on
//! watched inodes to their marks ([`Marks`], the `vfs::NotifyMarks` set on
//! the inode): one entry (instance, watch descriptor) per instance
//! watching it. Here are the locks, the sleeping, the limits
//! (`fs.inotify.max_user_instances`, `max_user_watches`,
//! `max_queued_events`, per effective uid) and the system calls.
//!
//! Lock order: an instance's lock, then a marks list's lock (add_watch
//! adds the watch and its mark under both, so that an rm_watch, which
//! takes the instance's lock first, always finds the mark); never the
//! other way (an event copies the list out, then queues to each
//! instance). The inode's notify lock is taken with neither. The per-user
//! table (`inotify::USERS`, Ranked) is taken alone. Inodes leave an
//! instance's table under its lock and are dropped after it.
//!
//! Marks whose last entry goes (rm_watch, `IN_ONESHOT`, the instance's
//! release) or whose inode dies are marked dead under their list's lock
//! and cleared from the inode ([`vfs::Inode::clear_notify_marks_if`]), so
//! the inode's events take the no-watch fast path again; an add_watch
//! that finds dead marks makes new ones.
//!
//! Queued events are charged per user ([`notify::WatchBudget::charge_event`],
//! [`notify::default_max_user_queued_bytes`] of the current
//! `max_queued_events`): Linux charges them to the memory cgroup, which
//! this kernel does not have.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use linux_abi::args::{DirFd, UserCStr};
use linux_abi::{Errno, Result};
use notify::{Added, Instance, WatchBudget};
use spin::Mutex;
use vfs::{File, Inode, NotifyMarks};

use crate::eventfd::{current_tid, install};
use crate::proc::table;
use crate::sched::WaitQueue;
use crate::syscall::SysResult;
use crate::uthread::UThread;

/// `fs.inotify.max_queued_events`.
pub static MAX_QUEUED_EVENTS: AtomicU64 = AtomicU64::new(notify::DEFAULT_MAX_QUEUED_EVENTS as u64);
/// `fs.inotify.max_user_instances`.
pub static MAX_USER_INSTANCES: AtomicU64 = AtomicU64::new(notify::DEFAULT_MAX_USER_INSTANCES as u64);
/// `fs.inotify.max_user_watches` (Linux's default for up to about 1 GiB
/// of memory; larger machines get more there).
pub static MAX_USER_WATCHES: AtomicU64 = AtomicU64::new(8192);

/// One user's instances and watches (Linux's ucounts).
struct UserCounts {
    uid: u32,
    instances: AtomicUsize,
    watches: AtomicUsize,
    /// The cost of the events queued in the user's instances.
    queued: AtomicUsize,
}

/// Users that made an inotify instance (a short list: an entry per uid).
static USERS: crate::lockorder::Ranked<Vec<Arc<UserCounts>>> =
    crate::lockorder::Ranked::new(crate::lockorder::LockClass::InotifyUsers, "inotify::USERS", Vec::new());

fn user(uid: u32) -> Result<Arc<UserCounts>> {
    let mut users = USERS.lock();
    if let Some(u) = users.iter().find(|u| u.uid == uid) {
        return Ok(u.clone());
    }
    users.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    let u = Arc::new(UserCounts {
        uid,
        instances: AtomicUsize::new(0),
        watches: AtomicUsize::new(0),
        queued: AtomicUsize::new(0),
    });
    users.push(u.clone());
    Ok(u)
}

/// Charges an instance's watches to its user.
struct Budget(Arc<UserCounts>);

impl WatchBudget for Budget {
    fn charge(&self) -> Result<()> {
        let max = MAX_USER_WATCHES.load(Ordering::Relaxed) as usize;
        self.0
            .watches
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| (w < max).then_some(w + 1))
            .map(|_| ())
            .map_err(|_| Errno::ENOSPC)
    }

    fn uncharge(&self) {
        self.0.watches.fetch_sub(1, Ordering::Relaxed);
    }

    fn charge_event(&self, bytes: usize) -> bool {
        let max = notify::default_max_user_queued_bytes(MAX_QUEUED_EVENTS.load(Ordering::Relaxed) as usize);
        self.0
            .queued
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| {
                q.checked_add(bytes).filter(|&n| n <= max)
            })
            .is_ok()
    }

    fn uncharge_event(&self, bytes: usize) {
        self.0.queued.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// An inode as a watch's key: equal when the same inode.
#[derive(Clone)]
struct Key(Arc<Inode>);

impl PartialEq for Key {
    fn eq(&self, o: &Key) -> bool {
        Arc::ptr_eq(&self.0, &o.0)
    }
}

impl Eq for Key {}

/// The marks of one inode: the instances watching it, with their wd.
struct Marks {
    list: Mutex<Vec<(Weak<InotifyFile>, i32)>>,
    /// Set under the list's lock when its last entry went or the inode
    /// died: no entry is added any more (add_watch makes new marks).
    dead: AtomicBool,
}

impl Marks {
    fn new() -> Self {
        Marks { list: Mutex::new(Vec::new()), dead: AtomicBool::new(false) }
    }

    fn of(m: &Arc<dyn NotifyMarks>) -> Option<&Marks> {
        m.as_any().downcast_ref::<Marks>()
    }

    fn live(m: &Arc<dyn NotifyMarks>) -> bool {
        Marks::of(m).is_some_and(|m| !m.dead.load(Ordering::Acquire))
    }
}

/// Watch `wd` of instance `file` is gone from `inode`: its mark goes and,
/// with the last one, the marks leave the inode (dropped here, outside
/// every lock).
fn unmark(inode: &Arc<Inode>, file: *const InotifyFile, wd: i32) {
    let Some(marks) = inode.notify_marks() else { return };
    let Some(m) = Marks::of(&marks) else { return };
    let (gone, last) = {
        let mut l = m.list.lock();
        let gone = l.iter().position(|(f, w)| *w == wd && f.as_ptr() == file).map(|i| l.swap_remove(i));
        let last = l.is_empty();
        if last {
            m.dead.store(true, Ordering::Release);
        }
        (gone, last)
    };
    drop(gone);
    if last {
        drop(inode.clear_notify_marks_if(&marks));
    }
}

impl NotifyMarks for Marks {
    fn event(&self, mask: u32, cookie: u32, name: Option<&[u8]>, unlinked: bool) {
        let targets: Vec<(Arc<InotifyFile>, i32)> = {
            let l = self.list.lock();
            let mut v = Vec::new();
            if v.try_reserve(l.len()).is_err() {
                return;
            }
            v.extend(l.iter().filter_map(|(f, wd)| Some((f.upgrade()?, *wd))));
            v
        };
        for (f, wd) in targets {
            f.deliver(wd, mask, cookie, name, unlinked);
        }
    }

    fn gone(&self) {
        let all = {
            let mut l = self.list.lock();
            self.dead.store(true, Ordering::Release);
            core::mem::take(&mut *l)
        };
        for (f, wd) in all {
            if let Some(f) = f.upgrade() {
                let key = f.inst.lock().object_gone(wd);
                f.changed();
                drop(key);
            }
        }
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

/// An inotify instance's file.
pub struct InotifyFile {
    inst: Mutex<Instance<Key, Budget>>,
    wq: Arc<WaitQueue>,
    /// Moves on every queued event (epoll's edge-triggered wake-ups).
    events: AtomicU64,
    /// `O_RDONLY` and `O_NONBLOCK`.
    flags: AtomicU32,
    user: Arc<UserCounts>,
    /// This file, for the marks of the inodes it watches.
    me: Weak<InotifyFile>,
    /// F_SETOWN/F_SETSIG/O_ASYNC state of the description.
    owner: vfs::FileOwner,
}

impl InotifyFile {
    fn changed(&self) {
        self.events.fetch_add(1, Ordering::SeqCst);
        self.wq.wake_all();
    }

    fn deliver(self: &Arc<Self>, wd: i32, mask: u32, cookie: u32, name: Option<&[u8]>, unlinked: bool) {
        let d = self.inst.lock().event(wd, mask, cookie, name, unlinked);
        if d.queued {
            self.changed();
        }
        if let Some(Key(inode)) = d.removed {
            // IN_ONESHOT: the mark goes
            unmark(&inode, Arc::as_ptr(self), wd);
        }
    }

    fn nonblock(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & vfs::O_NONBLOCK != 0
    }

    /// FIONREAD: the bytes of the queued events.
    pub fn pending_bytes(&self) -> usize {
        self.inst.lock().pending_bytes()
    }
}

impl Drop for InotifyFile {
    fn drop(&mut self) {
        let me: *const InotifyFile = self;
        // the table moves out (no copy); the inodes drop outside the lock
        let watches = self.inst.lock().remove_all();
        for (wd, Key(inode)) in watches {
            unmark(&inode, me, wd);
        }
        self.user.instances.fetch_sub(1, Ordering::Relaxed);
    }
}

impl File for InotifyFile {
    fn owner(&self) -> &vfs::FileOwner {
        &self.owner
    }

    fn fasync(&self) -> bool {
        true
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        loop {
            let r = self.inst.lock().read(buf);
            match r {
                Err(Errno::EAGAIN) if !self.nonblock() => {
                    crate::proc::sleep_on(current_tid(), &[&self.wq], || self.inst.lock().readable(), None)?;
                }
                r => return r,
            }
        }
    }

    fn write(&self, _buf: &[u8]) -> Result<usize> {
        Err(Errno::EBADF) // open read-only
    }

    fn unread(&self, _data: &[u8]) {
        // Linux destroys each event as it copies it out
    }

    fn poll(&self) -> u32 {
        if self.inst.lock().readable() { vfs::POLLIN | vfs::POLLRDNORM } else { 0 }
    }

    crate::eventfd::anon_file_methods!();
    crate::eventfd::event_queue_methods!();

    fn show_fdinfo(&self, out: &mut alloc::string::String) {
        // the inodes are looked at outside the instance's lock; Linux
        // lists the group's marks newest first
        let mut marks: Vec<(i32, Arc<Inode>, u32)> = Vec::new();
        {
            let i = self.inst.lock();
            if marks.try_reserve_exact(i.watch_count()).is_err() {
                return;
            }
            marks.extend(i.watches().map(|(wd, Key(inode), mask)| (wd, inode.clone(), mask)));
        }
        for (wd, inode, mask) in marks.iter().rev() {
            let st = inode.stat();
            let sdev = (vfs::major(st.dev) << 20) | vfs::minor(st.dev);
            // exportfs_encode_inode_fh: tmpfs's shmem_encode_fh (type 1:
            // generation, inode number in two halves), else the default
            // export_encode_fh (FILEID_INO32_GEN: inode number, generation)
            let ino = st.ino;
            let mut h = [0u8; 12];
            let len = if crate::fs::fs_magic(inode) == crate::fs::TMPFS_MAGIC {
                h[4..8].copy_from_slice(&(ino as u32).to_le_bytes());
                h[8..12].copy_from_slice(&((ino >> 32) as u32).to_le_bytes());
                12
            } else {
                h[0..4].copy_from_slice(&(ino as u32).to_le_bytes());
                8
            };
            out.push_str(&notify::fdinfo_line(*wd, ino, sdev, *mask, 1, &h[..len]));
        }
        // the inodes drop here, outside every lock
    }
}

/// The inotify instance behind `file`, if it is one.
pub fn of(file: &dyn File) -> Option<&InotifyFile> {
    file.as_any()?.downcast_ref::<InotifyFile>()
}

fn euid(t: &UThread) -> u32 {
    table().with_process(t.pid, |p| p.creds().euid).unwrap_or(0)
}

/// inotify_init1(2).
pub fn inotify_init1(t: &mut UThread, flags: i32) -> SysResult {
    let flags = flags as u32;
    notify::check_init_flags(flags)?;
    let user = user(euid(t))?;
    let max = MAX_USER_INSTANCES.load(Ordering::Relaxed) as usize;
    user.instances
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < max).then_some(n + 1))
        .map_err(|_| Errno::EMFILE)?;
    let file = Arc::new_cyclic(|me| InotifyFile {
        owner: vfs::FileOwner::new(),
        me: me.clone(),
        inst: Mutex::new(Instance::new(
            MAX_QUEUED_EVENTS.load(Ordering::Relaxed) as usize,
            Budget(user.clone()),
        )),
        wq: Arc::new(WaitQueue::new()),
        events: AtomicU64::new(0),
        flags: AtomicU32::new(vfs::O_RDONLY | (flags & vfs::O_NONBLOCK)),
        user,
    });
    let file: Arc<dyn File> = file;
    install(t, file, flags & notify::IN_CLOEXEC != 0)
}

/// inotify_init(2).
pub fn inotify_init(t: &mut UThread) -> SysResult {
    inotify_init1(t, 0)
}

/// inotify_add_watch(2).
pub fn inotify_add_watch(
    t: &mut UThread,
    fd: linux_abi::args::Fd,
    pathname: UserCStr,
    mask: u32,
) -> SysResult {
    notify::check_mask(mask)?;
    let file = t.fd(fd)?;
    let Some(inst) = file.as_any().and_then(|a| a.downcast_ref::<InotifyFile>()) else {
        return Err(Errno::EINVAL);
    };
    let p = crate::syscall::fs::path(t, pathname)?;
    let follow = mask & notify::IN_DONT_FOLLOW == 0;
    let cred = crate::syscall::fs::cred(t);
    let inode = crate::syscall::fs::with_ctx(t, DirFd::Cwd, |ctx, dir| ctx.lookup(dir, &p, follow))?;
    if mask & notify::IN_ONLYDIR != 0 && !inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    inode.check_access(&cred, vfs::R_OK)?;
    loop {
        let marks = inode.notify_marks_or_insert(|| Arc::new(Marks::new()), Marks::live);
        let Some(m) = Marks::of(&marks) else { return Err(Errno::EINVAL) };
        m.list.lock().try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let mut i = inst.inst.lock();
        let mut list = m.list.lock();
        if m.dead.load(Ordering::Acquire) {
            // the last watch went or the inode died meanwhile: new marks
            continue;
        }
        list.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let added = i.add_watch(Key(inode.clone()), mask, inode.is_dir())?;
        if let Added::New(wd) = added {
            list.push((inst.me.clone(), wd));
        }
        return Ok(added.wd() as isize);
    }
}

/// inotify_rm_watch(2).
pub fn inotify_rm_watch(t: &mut UThread, fd: linux_abi::args::Fd, wd: i32) -> SysResult {
    let file = t.fd(fd)?;
    let Some(inst) = of(&*file) else { return Err(Errno::EINVAL) };
    let Key(inode) = inst.inst.lock().rm_watch(wd)?;
    inst.changed();
    unmark(&inode, inst as *const InotifyFile, wd);
    drop(inode);
    Ok(0)
}

/// Whether `fd` of `t` is an inotify instance (for FIONREAD).
pub fn fionread(file: &dyn File) -> Option<usize> {
    of(file).map(InotifyFile::pending_bytes)
}
