//! inotify(7): inotify_init/inotify_init1, inotify_add_watch,
//! inotify_rm_watch and the inotify file. The watch table and the event
//! queue are `notify::Instance` (crates/notify); the vfs reports events on
//! watched inodes to their marks ([`Marks`], the `vfs::NotifyMarks` set on
//! the inode): one entry (instance, watch descriptor) per instance
//! watching it. Here are the locks, the sleeping, the limits
//! (`fs.inotify.max_user_instances`, `max_user_watches`,
//! `max_queued_events`, per effective uid) and the system calls.
//!
//! Lock order: an instance's lock and a marks list's lock are never held
//! together (an event copies the list out, then queues to each instance;
//! add_watch reserves the list's slot before the instance's lock); the
//! per-user table (`inotify::USERS`, Ranked) is taken alone. Inodes leave an
//! instance's table under its lock and are dropped after it.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

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
    let u = Arc::new(UserCounts { uid, instances: AtomicUsize::new(0), watches: AtomicUsize::new(0) });
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
}

impl Marks {
    fn of(m: &Arc<dyn NotifyMarks>) -> Option<&Marks> {
        m.as_any().downcast_ref::<Marks>()
    }

    fn remove(&self, file: *const InotifyFile, wd: i32) {
        let gone = {
            let mut l = self.list.lock();
            l.iter().position(|(f, w)| *w == wd && f.as_ptr() == file).map(|i| l.swap_remove(i))
        };
        drop(gone);
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
        let all = core::mem::take(&mut *self.list.lock());
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
            if let Some(m) = inode.notify_marks()
                && let Some(m) = Marks::of(&m)
            {
                m.remove(Arc::as_ptr(self), wd);
            }
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
        let watches: Vec<(i32, Key)> = {
            let i = self.inst.lock();
            i.watches().map(|(wd, k, _)| (wd, k.clone())).collect()
        };
        for (wd, Key(inode)) in watches {
            if let Some(m) = inode.notify_marks()
                && let Some(m) = Marks::of(&m)
            {
                m.remove(me, wd);
            }
        }
        self.user.instances.fetch_sub(1, Ordering::Relaxed);
    }
}

impl File for InotifyFile {
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
    let marks = inode.notify_marks_or_insert(|| Arc::new(Marks { list: Mutex::new(Vec::new()) }));
    let Some(m) = Marks::of(&marks) else { return Err(Errno::EINVAL) };
    m.list.lock().try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    let added = inst.inst.lock().add_watch(Key(inode.clone()), mask, inode.is_dir())?;
    if let Added::New(wd) = added {
        m.list.lock().push((inst.me.clone(), wd));
    }
    Ok(added.wd() as isize)
}

/// inotify_rm_watch(2).
pub fn inotify_rm_watch(t: &mut UThread, fd: linux_abi::args::Fd, wd: i32) -> SysResult {
    let file = t.fd(fd)?;
    let Some(inst) = of(&*file) else { return Err(Errno::EINVAL) };
    let Key(inode) = inst.inst.lock().rm_watch(wd)?;
    inst.changed();
    if let Some(m) = inode.notify_marks()
        && let Some(m) = Marks::of(&m)
    {
        m.remove(inst as *const InotifyFile, wd);
    }
    drop(inode);
    Ok(0)
}

/// Whether `fd` of `t` is an inotify instance (for FIONREAD).
pub fn fionread(file: &dyn File) -> Option<usize> {
    of(file).map(InotifyFile::pending_bytes)
}
