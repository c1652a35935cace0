//! epoll(7): epoll_create(2), epoll_create1(2), epoll_ctl(2),
//! epoll_wait(2), epoll_pwait(2), epoll_pwait2(2).
//!
//! # Model
//!
//! An epoll instance ([`Epoll`], an open file) keeps an interest list of
//! items keyed, as in Linux, by (open file, fd number). An item holds the
//! file weakly: when the last reference to the open file goes (every fd
//! closed, no process holds it), the item is gone from the list, while a
//! closed fd whose file lives on through a dup keeps reporting under its
//! old number, exactly as Linux does.
//!
//! Readiness comes from each file's `File::poll`, so no file needs to know
//! about epoll; an item reports `poll() & events` (`EPOLLERR` and
//! `EPOLLHUP` always included). Level-triggered items report while ready
//! and then move to the end of the list (Linux's ready-list rotation, so
//! `maxevents` smaller than the ready set still serves every item in turn).
//! `EPOLLET` items report when the file's `File::event_count` moved since
//! their last report (pipes count every write and read, as Linux's
//! wake-ups) or when readiness rose since the last look; `EPOLLONESHOT`
//! items disarm after one report until `EPOLL_CTL_MOD`. `EPOLLEXCLUSIVE`
//! is accepted (with Linux's checks); with one CPU it changes nothing.
//!
//! Waiting is poll(2)'s (`poll::wait`) on the instance's own wait queue:
//! sleep until it is woken, the timeout or a signal (`EINTR`; epoll_wait
//! is never restarted). Each item relays its file's wait queue to the
//! instance's (`WaitQueue::add_relay` at `EPOLL_CTL_ADD`, removed with the
//! item), as Linux's `ep_poll_callback`: a change of a watched file wakes
//! the instance's sleepers and nobody else, and `epoll_ctl` wakes them too
//! (an added or modified item may be ready). An epoll fd is itself
//! pollable (`POLLIN` when some item would report; its queue is its
//! `File::wait_queue`), so instances nest, the inner queue relaying to the
//! outer; `ELOOP` refuses cycles and nesting deeper than Linux's
//! `EPOLL_MAX_NESTS` (4), so relays never go round.
//!
//! The list's rules (items, level/edge/one-shot reports, the rotation,
//! the argument checks) are `evfd::epoll`, host-tested there; here are the
//! files, the relays, the nesting check and the sleeping.
//!
//! Lock order: an instance's list, then (through `poll`) the files in it,
//! nested instances included; the loop check keeps that order acyclic.
//! A file's wait queue locks last and alone (its relays are woken after
//! it is unlocked).

use super::SysResult;
use super::poll::{restore_mask, temp_mask, timespec_deadline, wait};
use crate::sched::{Relay, WaitQueue};
use crate::uthread::UThread;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use linux_abi::abi::{EpollEvent, Timespec};
use linux_abi::args::{Fd, UserPtr};
use linux_abi::{Errno, Result};
use spin::Mutex;
use vfs::{File, Stat};

use evfd::epoll::{self as rules, Ctl, EPOLL_CTL_ADD, EPOLL_CTL_DEL, Interest, Item, Slot, Watched};

/// Linux's `EPOLL_MAX_NESTS`.
const MAX_NESTS: usize = 4;

/// An item's hold on its file: weak, so the item goes with the file.
struct Held(Weak<dyn File>);

impl Watched for Held {
    fn look(&self) -> Option<(u64, u32)> {
        let f = self.0.upgrade()?;
        Some((f.event_count(), f.poll()))
    }
    fn peek(&self) -> Option<(u64, u32)> {
        let f = self.0.upgrade()?;
        Some((f.event_count(), f.poll_peek()))
    }
    fn alive(&self) -> bool {
        self.0.strong_count() > 0
    }
    /// The address identifying the open file (stable while the weak
    /// reference keeps the allocation).
    fn key(&self) -> usize {
        self.0.as_ptr() as *const u8 as usize
    }
}

/// An item's kernel state: its file's wait queue (`None`: the file has
/// none and is always looked at) and the hook relayed from that queue.
struct Extra {
    queue: Option<Arc<WaitQueue>>,
    hook: Arc<Hook>,
}

/// The interest and ready list (`evfd::epoll`, host-tested there).
type Items = Interest<Held, Extra>;

/// What an instance's hooks reach.
struct Shared {
    items: Mutex<Items>,
    /// A hook found `items` locked: its `woke` flag is set, and the next
    /// look marks the items whose flag is (O(items), only after such a
    /// wake-up).
    missed: AtomicBool,
    /// Woken by the hooks and by `epoll_ctl`: epoll_wait sleeps here, and
    /// so do poll(2) and outer instances watching this one.
    wq: Arc<WaitQueue>,
}

/// Linux's `ep_poll_callback` for one item: relayed from its file's wait
/// queue, it puts the item on the ready list and wakes the instance. It
/// never waits for the list's lock (a file may wake its queue while it
/// holds a lock a wait takes through `poll`): when the list is locked it
/// leaves a flag for the next look.
struct Hook {
    slot: Slot,
    ep: Weak<Shared>,
    woke: AtomicBool,
}

impl Relay for Hook {
    fn relayed(&self) {
        let Some(ep) = self.ep.upgrade() else { return };
        match ep.items.try_lock() {
            Some(mut items) => items.mark(self.slot),
            None => {
                self.woke.store(true, Ordering::SeqCst);
                ep.missed.store(true, Ordering::SeqCst);
            }
        }
        ep.wq.wake_all();
    }
}

/// An epoll instance: an open file with an interest list.
pub struct Epoll {
    shared: Arc<Shared>,
    flags: AtomicU32,
    /// F_SETOWN/F_SETSIG/O_ASYNC state of the description.
    owner: vfs::FileOwner,
}

fn key_of(file: &Arc<dyn File>) -> usize {
    Arc::as_ptr(file) as *const u8 as usize
}

impl Epoll {
    fn new() -> Self {
        Self {
            owner: vfs::FileOwner::new(),
            shared: Arc::new(Shared {
                items: Mutex::new(Interest::new()),
                missed: AtomicBool::new(false),
                wq: Arc::new(WaitQueue::new()),
            }),
            flags: AtomicU32::new(vfs::O_RDWR),
        }
    }

    /// The instance's wait queue.
    fn wq(&self) -> &Arc<WaitQueue> {
        &self.shared.wq
    }

    /// The list, locked, with the wake-ups that found it locked marked.
    fn items(&self) -> spin::MutexGuard<'_, Items> {
        let mut items = self.shared.items.lock();
        if self.shared.missed.swap(false, Ordering::SeqCst) {
            items.mark_where(|x| x.hook.woke.swap(false, Ordering::SeqCst));
        }
        items
    }

    /// Stops relaying an item's file's wake-ups to this instance.
    fn unhook(x: &Extra) {
        if let Some(q) = &x.queue {
            q.remove_relay(&x.hook);
        }
    }

    fn ctl(&self, op: i32, fd: u32, file: &Arc<dyn File>, events: u32, data: u64) -> Result<()> {
        let mut items = self.items();
        // items of gone files (Linux's `eventpoll_release`), amortised
        if items.prune_due() {
            items.prune(|i| Self::unhook(&i.extra));
        }
        let mut always = None;
        let hook = |_: &Held, slot: Slot| {
            let hook =
                Arc::new(Hook { slot, ep: Arc::downgrade(&self.shared), woke: AtomicBool::new(false) });
            let queue = crate::sched::queue_of(&**file);
            match &queue {
                Some(q) => q.add_relay(&hook),
                None => always = Some(slot),
            }
            Extra { queue, hook }
        };
        let done = items.ctl(op, fd, Held(Arc::downgrade(file)), events, data, hook)?;
        if let Some(slot) = always {
            items.stick(slot);
        }
        drop(items);
        if let Ctl::Removed(gone) = done {
            Self::unhook(&gone.extra);
        }
        Ok(())
    }

    /// Whether some item would report now.
    fn any_ready(&self) -> bool {
        self.items().any_ready()
    }

    /// Up to `max` (events, data) pairs from the ready list; reported
    /// level-triggered items go to its end.
    fn collect(&self, max: usize) -> Vec<(u32, u64)> {
        self.items().collect(max)
    }

    /// The epoll instances this one watches directly.
    fn children(&self) -> Vec<Arc<dyn File>> {
        self.shared
            .items
            .lock()
            .iter()
            .filter_map(|i| i.handle.0.upgrade())
            .filter(|f| as_epoll(&**f).is_some())
            .collect()
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // the relays would die with the hooks anyway; this frees them now
        let gone: Vec<Item<Held, Extra>> = self.shared.items.lock().drain().collect();
        for i in &gone {
            Self::unhook(&i.extra);
        }
    }
}

/// The epoll instance behind `file`, if it is one.
fn as_epoll(file: &dyn File) -> Option<&Epoll> {
    file.as_any()?.downcast_ref::<Epoll>()
}

/// Linux's `ep_loop_check_proc`: walking down from `node` (the epoll file
/// being added, at depth 0), `ELOOP` when an epoll file in it is `ep` (a
/// cycle) or sits below depth [`MAX_NESTS`].
fn loop_check(ep: &Arc<dyn File>, node: &Epoll, depth: usize) -> Result<()> {
    for child in node.children() {
        if key_of(&child) == key_of(ep) || depth > MAX_NESTS {
            return Err(Errno::ELOOP);
        }
        if let Some(c) = as_epoll(&*child) {
            loop_check(ep, c, depth + 1)?;
        }
    }
    Ok(())
}

impl File for Epoll {
    fn owner(&self) -> &vfs::FileOwner {
        &self.owner
    }

    /// `ep_show_fdinfo`: a `tfd:` line per item whose file is open, in
    /// the list's order (Linux's is its red-black tree's, by file address).
    fn show_fdinfo(&self, out: &mut alloc::string::String) {
        // the files are looked at after the list's lock; their last
        // references drop here, outside it too
        let items: Vec<(u32, u32, u64, Arc<dyn File>)> = self
            .shared
            .items
            .lock()
            .iter()
            .filter_map(|i| Some((i.fd, i.events(), i.data(), i.handle.0.upgrade()?)))
            .collect();
        for (fd, events, data, file) in items {
            let pos = file.lseek(0, vfs::SEEK_CUR).unwrap_or(0);
            let (ino, dev) = file.stat().map_or((0, 0), |s| (s.ino, s.dev));
            let sdev = (vfs::major(dev) << 20) | vfs::minor(dev);
            out.push_str(&process::proctext::fdinfo_epoll_item(fd, events, data, pos, ino, sdev));
        }
    }

    fn read(&self, _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::EINVAL)
    }

    fn write(&self, _buf: &[u8]) -> Result<usize> {
        Err(Errno::EINVAL)
    }

    fn lseek(&self, _offset: i64, _whence: u32) -> Result<u64> {
        // Linux's noop_llseek
        Ok(0)
    }

    fn stat(&self) -> Result<Stat> {
        // an anonymous inode: mode 0600 without a type
        Ok(Stat::default().with_mode(0o600).with_nlink(1).with_blksize(4096).with_dev(0xd))
    }

    fn poll(&self) -> u32 {
        if self.any_ready() { vfs::POLLIN | vfs::POLLRDNORM } else { 0 }
    }

    fn wait_queue(&self) -> Option<Arc<dyn vfs::WaitQueue>> {
        Some(self.shared.wq.clone())
    }

    crate::eventfd::status_flags_methods!();

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}

/// Whether epoll may watch `file`: Linux refuses files without a poll
/// method (`EPERM`): regular files and directories, /dev/null, /dev/zero
/// and /dev/full; /proc says file by file (`SynthNode::has_poll`).
fn can_poll(file: &dyn File) -> bool {
    if let Some(i) = file.inode() {
        // /proc decides file by file
        if let Some(p) = i.synth_has_poll() {
            return p;
        }
        if matches!(i.file_type(), vfs::FileType::Regular | vfs::FileType::Directory) {
            return false;
        }
    }
    !file.stat().is_ok_and(|s| {
        s.mode & vfs::S_IFMT == vfs::S_IFCHR
            && [vfs::makedev(1, 3), vfs::makedev(1, 5), vfs::makedev(1, 7)].contains(&s.rdev)
    })
}

fn create(t: &mut UThread, cloexec: bool) -> SysResult {
    super::fs::install(t, Arc::new(Epoll::new()), cloexec)
}

/// epoll_create(2): `int size`, positive.
pub fn epoll_create(t: &mut UThread, size: i32) -> SysResult {
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    create(t, false)
}

/// epoll_create1(2).
pub fn epoll_create1(t: &mut UThread, flags: u32) -> SysResult {
    if flags & !vfs::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    create(t, flags != 0)
}

/// The open file behind an `int` fd argument.
fn fd_file(t: &UThread, fd: Fd) -> Result<(u32, Arc<dyn File>)> {
    Ok((fd.get(), t.fd(fd)?))
}

/// epoll_ctl(2): the event is copied first (`EFAULT`), except for
/// `EPOLL_CTL_DEL`.
pub fn epoll_ctl(t: &mut UThread, epfd: Fd, op: i32, fd: Fd, event: UserPtr<EpollEvent>) -> SysResult {
    let (events, data) = if op != EPOLL_CTL_DEL {
        let e = t.read(event)?;
        (e.events, e.data)
    } else {
        (0, 0)
    };
    let (_, epf) = fd_file(t, epfd)?;
    let (fd, tf) = fd_file(t, fd)?;
    if !can_poll(&*tf) {
        return Err(Errno::EPERM);
    }
    let Some(ep) = as_epoll(&*epf) else { return Err(Errno::EINVAL) };
    if key_of(&epf) == key_of(&tf) {
        return Err(Errno::EINVAL);
    }
    rules::check_exclusive(op, events, as_epoll(&*tf).is_some())?;
    if op == EPOLL_CTL_ADD
        && let Some(target) = as_epoll(&*tf)
    {
        loop_check(&epf, target, 0)?;
    }
    ep.ctl(op, fd, &tf, events, data)?;
    if op != EPOLL_CTL_DEL {
        // an added or re-armed item may be ready now: another thread's
        // epoll_wait (or a poll on this instance) must look
        ep.wq().wake_all();
    }
    Ok(0)
}

/// The `int epfd, struct epoll_event *events, int maxevents` of the waits.
type WaitArgs = (Fd, UserPtr<EpollEvent>, i32);

fn do_wait(t: &mut UThread, (epfd, events, max): WaitArgs, deadline: Option<u64>) -> SysResult {
    let max = rules::check_wait(max as u64, events.addr())?;
    let (_, file) = fd_file(t, epfd)?;
    let Some(ep) = as_epoll(&*file) else { return Err(Errno::EINVAL) };
    let found = match wait(
        t,
        deadline,
        || alloc::vec![ep.wq().clone()],
        || ep.any_ready(),
        || {
            let v = ep.collect(max);
            (!v.is_empty()).then_some(v)
        },
    ) {
        Ok(f) => f.unwrap_or_default(),
        // epoll_wait is never restarted
        Err(Errno::ERESTARTNOHAND) => return Err(Errno::EINTR),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    rules::encode(&found, &mut out)?;
    t.write_slice(events.addr(), &out)?;
    Ok(found.len() as isize)
}

fn ms_deadline(timeout: i32) -> Option<u64> {
    rules::timeout_ns(timeout as u64).map(|ns| crate::sched::now_ns().saturating_add(ns))
}

/// epoll_wait(2): `int timeout` in ms.
pub fn epoll_wait(t: &mut UThread, wa: WaitArgs, timeout: i32) -> SysResult {
    do_wait(t, wa, ms_deadline(timeout))
}

/// epoll_pwait(2) and epoll_pwait2(2): the wait under a temporary signal
/// mask, kept for the handler when a signal interrupts it.
fn pwait(t: &mut UThread, wa: WaitArgs, deadline: Option<u64>, mask: UserPtr<u64>, size: usize) -> SysResult {
    temp_mask(t, mask, size)?;
    let r = do_wait(t, wa, deadline);
    if !mask.is_null() && r != Err(Errno::EINTR) {
        restore_mask(t);
    }
    r
}

/// epoll_pwait(2).
pub fn epoll_pwait(
    t: &mut UThread,
    wa: WaitArgs,
    timeout: i32,
    mask: UserPtr<u64>,
    size: usize,
) -> SysResult {
    pwait(t, wa, ms_deadline(timeout), mask, size)
}

/// epoll_pwait2(2): the timeout as a `struct timespec` (NULL: none).
pub fn epoll_pwait2(
    t: &mut UThread,
    wa: WaitArgs,
    timeout: UserPtr<Timespec>,
    mask: UserPtr<u64>,
    size: usize,
) -> SysResult {
    let deadline = timespec_deadline(t, timeout)?;
    pwait(t, wa, deadline, mask, size)
}

arch_x86_64::ktest!(
    fn epoll_over_a_pipe_relays_and_reports_edges() {
        // the list's rules are host-tested in evfd::epoll; here: the kernel's
        // Held over a real pipe, the relay of its queue, and pruning
        let ep = Epoll::new();
        let (r, w) = crate::pipe::pipe(vfs::O_NONBLOCK, crate::pipe::PipeUser::KERNEL).expect("a pipe");
        ep.ctl(EPOLL_CTL_ADD, 5, &r, rules::EPOLLIN | rules::EPOLLET, 77).unwrap();
        assert_eq!(ep.ctl(EPOLL_CTL_ADD, 5, &r, rules::EPOLLIN, 0), Err(Errno::EEXIST));
        assert!(!ep.any_ready());
        assert_eq!(w.write(b"a"), Ok(1));
        assert_eq!(ep.collect(8), alloc::vec![(rules::EPOLLIN, 77)]);
        assert!(ep.collect(8).is_empty(), "edge: once");
        assert_eq!(w.write(b"b"), Ok(1));
        assert_eq!(ep.collect(8), alloc::vec![(rules::EPOLLIN, 77)], "a second write is a new edge");
        assert_eq!(ep.poll() & vfs::POLLIN, 0);
        drop(r);
        assert!(ep.collect(8).is_empty());
        assert_eq!(ep.shared.items.lock().len(), 1, "pruned at a later ADD");
    }
);
