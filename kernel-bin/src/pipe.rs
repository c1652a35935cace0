//! Pipes as Linux's: a ring of page slots (16 by default, 64 KiB) shared by
//! a read end and a write end. The ring is `ipc::pipe::Ring` (host-tested
//! there) over frame pages. A write first appends its sub-page
//! remainder to the last page when that page has room for all of it, then
//! fills free slots a page at a time (`Ring::merge`, `Ring::fill`), so
//! the capacity in bytes depends on how the writes were cut (16 writes of
//! 2049 bytes fill a pipe), a write of at most PIPE_BUF bytes is never
//! split, and the write end is writable (POLLOUT) while a slot is free.
//! EPIPE (and SIGPIPE, sent by the caller) once every reader is gone; EOF
//! once every writer is gone. The number of slots changes with
//! fcntl(F_SETPIPE_SZ) ([`PipeEnd::set_capacity`]); FIONREAD is
//! [`PipeEnd::available`]. Two event counters (data in, room out) let
//! edge-triggered epoll see every write and every read.
//!
//! Each end has a wait queue: the read end's is woken when data arrives or
//! the last writer goes (blocked readers, poll/select and epoll on the read
//! end, through the queue's relays), the write end's when a slot frees,
//! the capacity grows or the last reader goes (blocked writers and the
//! watchers of the write end). Nobody else wakes.

use crate::filemap::FramePage;
use crate::sched::WaitQueue;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use ipc::pipe::{PAGE, PIPE_CAPACITY};
use linux_abi::{Errno, Result};
use spin::Mutex;
use vfs::{File, Stat};

/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = ipc::pipe::PIPE_BUF;

/// Pipe pages come from the frame allocator ([`FramePage`]), not the heap.
struct KernelPages;

impl ipc::pipe::PageAlloc for KernelPages {
    type Page = FramePage;
    fn alloc(&mut self) -> Option<FramePage> {
        // not zeroed (as Linux's pipe_write): a slot is read only up to
        // the bytes written into it
        FramePage::new_uninit()
    }
    fn read(page: &FramePage, offset: usize, buf: &mut [u8]) {
        page.read(offset, buf);
    }
    fn write(page: &mut FramePage, offset: usize, data: &[u8]) {
        page.write(offset, data);
    }
}

/// The slots of a pipe: `ipc::pipe::Ring` (merge, fill, packets, put-back,
/// resizing; host-tested there) over frame pages.
type Ring = ipc::pipe::Ring<KernelPages>;

struct Shared {
    ring: Mutex<Ring>,
    /// Moves on every write and when the last writer goes (the read end's events).
    in_events: AtomicU64,
    /// Moves on every read and when the last reader goes (the write end's events).
    out_events: AtomicU64,
    readers: AtomicUsize,
    writers: AtomicUsize,
    ino: u64,
    /// Sleepers on the read end: readers, poll/epoll on it; woken by
    /// [`Shared::data_in`].
    readq: Arc<WaitQueue>,
    /// Sleepers on the write end: writers, poll/epoll on it; woken by
    /// [`Shared::room_out`].
    writeq: Arc<WaitQueue>,
    /// Opens for reading and for writing so far (Linux's r_counter and
    /// w_counter): a FIFO opener waits for the other one to move.
    r_counter: AtomicU64,
    w_counter: AtomicU64,
    /// FIFO openers waiting for a partner.
    openq: Arc<WaitQueue>,
    /// Ends open for reading and writing at once: they sleep on the read
    /// queue, which [`Shared::room_out`] then wakes too.
    rdwr: AtomicUsize,
    /// The user whose pipe pages this pipe counts in (Linux's
    /// `pipe->user`, the creator's real uid) and how many (`nr_accounted`);
    /// `None` for a FIFO (not counted here).
    account: Option<(u32, AtomicUsize)>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // free_pipe_info(): the pages go back to the user's count
        if let Some((uid, n)) = &self.account {
            account_pages(*uid, n.load(Ordering::SeqCst), 0);
        }
    }
}

impl Shared {
    fn new(readers: usize, writers: usize) -> Arc<Self> {
        Self::with_slots(readers, writers, PIPE_CAPACITY / PAGE, None)
    }

    fn with_slots(readers: usize, writers: usize, slots: usize, account: Option<(u32, usize)>) -> Arc<Self> {
        static INO: AtomicUsize = AtomicUsize::new(1);
        let mut ring = Ring::new(KernelPages);
        // an empty ring takes any slot count
        let _ = ring.set_slots(slots);
        Arc::new(Shared {
            account: account.map(|(uid, n)| (uid, AtomicUsize::new(n))),
            ring: Mutex::new(ring),
            in_events: AtomicU64::new(0),
            out_events: AtomicU64::new(0),
            readers: AtomicUsize::new(readers),
            writers: AtomicUsize::new(writers),
            ino: INO.fetch_add(1, Ordering::Relaxed) as u64,
            readq: Arc::new(WaitQueue::new()),
            writeq: Arc::new(WaitQueue::new()),
            r_counter: AtomicU64::new(0),
            w_counter: AtomicU64::new(0),
            openq: Arc::new(WaitQueue::new()),
            rdwr: AtomicUsize::new(0),
        })
    }

    /// The read end's readiness may have changed (data arrived, the last
    /// writer went): its event count moves and its sleepers wake.
    fn data_in(&self) {
        self.in_events.fetch_add(1, Ordering::SeqCst);
        // a sync wake-up (Linux's pipe_write): the writer usually blocks
        // next (reads the answer, or waits for room), so the reader may
        // take its CPU (sched::wake_sync)
        self.readq.wake_all_sync();
    }

    /// The write end's readiness may have changed (a slot freed, the
    /// capacity grew, the last reader went).
    fn room_out(&self) {
        self.out_events.fetch_add(1, Ordering::SeqCst);
        // sync, as Linux's pipe_read: the reader usually blocks next
        self.writeq.wake_all_sync();
        if self.rdwr.load(Ordering::SeqCst) > 0 {
            self.readq.wake_all();
        }
    }
}

/// One end of a pipe: open for reading, writing, or (a FIFO or a pipe
/// reopened through /proc/<pid>/fd with `O_RDWR`) both.
pub struct PipeEnd {
    shared: Arc<Shared>,
    read: bool,
    write: bool,
    flags: AtomicU32,
    /// The FIFO's inode (stat, fchmod, the /proc link); `None` for a pipe.
    inode: Option<Arc<vfs::Inode>>,
    /// F_SETOWN/F_SETSIG/O_ASYNC state of the description.
    owner: vfs::FileOwner,
}

/// The slots of a pipe made beyond the soft limit.
const PIPE_MIN_DEF_BUFFERS: usize = 2;
/// CAP_SYS_RESOURCE.
const CAP_SYS_RESOURCE: u32 = 24;
/// CAP_SYS_ADMIN.
const CAP_SYS_ADMIN: u32 = 21;

/// Pipe pages counted per user (Linux's `user_struct.pipe_bufs`), only
/// users with a pipe open.
static USER_PAGES: crate::lockorder::Ranked<alloc::vec::Vec<(u32, usize)>> = crate::lockorder::Ranked::new(
    crate::lockorder::LockClass::PipeUsers,
    "pipe::USER_PAGES",
    alloc::vec::Vec::new(),
);

/// Who makes or resizes a pipe: the real uid (whose pages it counts in)
/// and its capabilities.
#[derive(Clone, Copy, Debug)]
pub struct PipeUser {
    /// The real uid.
    pub uid: u32,
    /// CAP_SYS_RESOURCE: no pipe-max-size and no page limits.
    pub sys_resource: bool,
    /// CAP_SYS_ADMIN: no page limits.
    pub sys_admin: bool,
}

impl PipeUser {
    /// The kernel's own pipes (in-kernel tests): root with every capability.
    pub const KERNEL: PipeUser = PipeUser { uid: 0, sys_resource: true, sys_admin: true };

    /// The user of a process's credentials.
    pub fn of(c: &process::cred::Credentials) -> Self {
        PipeUser {
            uid: c.uid,
            sys_resource: c.has_cap(CAP_SYS_RESOURCE),
            sys_admin: c.has_cap(CAP_SYS_ADMIN),
        }
    }

    /// Linux's pipe_is_unprivileged_user().
    fn unprivileged(&self) -> bool {
        !self.sys_resource && !self.sys_admin
    }
}

/// Linux's account_pipe_buffers(): moves `uid`'s count from `old` to `new`
/// pages of one pipe; the user's new total, or `ENOMEM` when a first pipe
/// of a user finds no room in the table.
fn account_pages(uid: u32, old: usize, new: usize) -> usize {
    try_account_pages(uid, old, new).unwrap_or(0)
}

fn try_account_pages(uid: u32, old: usize, new: usize) -> Result<usize> {
    let mut users = USER_PAGES.lock();
    let i = crate::proc::user_slot(&mut users, uid)?;
    let total = (users[i].1 + new).saturating_sub(old);
    users[i].1 = total;
    if total == 0 {
        users.swap_remove(i);
    }
    Ok(total)
}

fn too_many_soft(total: usize) -> bool {
    let soft = crate::sysctl::pipe_user_pages_soft() as usize;
    soft != 0 && total > soft
}

fn too_many_hard(total: usize) -> bool {
    let hard = crate::sysctl::pipe_user_pages_hard() as usize;
    hard != 0 && total > hard
}

/// A new pipe: (read end, write end). `flags` may hold `O_NONBLOCK` and
/// `O_DIRECT` (packet mode, pipe2(2)). As Linux's create_pipe_files(),
/// only the write end keeps `O_DIRECT`: packets are made by writes (an
/// F_SETFL on the write end turns the mode on or off), and a read honours
/// the packets it finds whatever its own flags.
///
/// Its pages count in `user`'s total as Linux's alloc_pipe_info(): past
/// pipe-user-pages-soft an unprivileged user's pipe gets 2 pages, past
/// pipe-user-pages-hard none (`ENFILE`).
pub fn pipe(flags: u32, user: PipeUser) -> Result<(Arc<dyn File>, Arc<dyn File>)> {
    let nonblock = flags & vfs::O_NONBLOCK;
    let direct = flags & vfs::O_DIRECT;
    let mut slots = PIPE_CAPACITY / PAGE;
    let max_size = crate::sysctl::pipe_max_size() as usize;
    if slots * PAGE > max_size && !user.sys_resource {
        slots = (max_size / PAGE).max(1);
    }
    let mut total = try_account_pages(user.uid, 0, slots)?;
    if too_many_soft(total) && user.unprivileged() {
        total = account_pages(user.uid, slots, PIPE_MIN_DEF_BUFFERS);
        slots = PIPE_MIN_DEF_BUFFERS;
    }
    if too_many_hard(total) && user.unprivileged() {
        account_pages(user.uid, slots, 0);
        log::info!("uid {}: pipe-user-pages-hard reached: ENFILE", user.uid);
        return Err(Errno::ENFILE);
    }
    let shared = Shared::with_slots(1, 1, slots, Some((user.uid, slots)));
    let r = PipeEnd {
        owner: vfs::FileOwner::new(),
        shared: shared.clone(),
        read: true,
        write: false,
        flags: AtomicU32::new(vfs::O_RDONLY | nonblock),
        inode: None,
    };
    let w = PipeEnd {
        owner: vfs::FileOwner::new(),
        shared,
        read: false,
        write: true,
        flags: AtomicU32::new(vfs::O_WRONLY | nonblock | direct),
        inode: None,
    };
    Ok((Arc::new(r), Arc::new(w)))
}

/// The pipes of the FIFO inodes open now: (inode, its pipe). A pipe lives
/// while an end is open, as Linux frees `i_pipe` at the last close.
static FIFOS: crate::lockorder::Ranked<
    alloc::vec::Vec<(alloc::sync::Weak<vfs::Inode>, alloc::sync::Weak<Shared>)>,
> = crate::lockorder::Ranked::new(crate::lockorder::LockClass::Fifos, "pipe::FIFOS", alloc::vec::Vec::new());

/// open(2) of a FIFO inode, as Linux's fifo_open(): every open shares the
/// inode's one pipe; `O_RDONLY` waits for a writer and `O_WRONLY` for a
/// reader (interruptibly) unless `O_NONBLOCK`, where a writer without a
/// reader gets `ENXIO`; `O_RDWR` never waits.
pub fn fifo_open(inode: &Arc<vfs::Inode>, flags: u32) -> Result<Arc<dyn File>> {
    let shared = {
        let mut fifos = FIFOS.lock();
        fifos.retain(|(i, p)| i.strong_count() > 0 && p.strong_count() > 0);
        let me = Arc::downgrade(inode);
        match fifos.iter().find(|(i, _)| alloc::sync::Weak::ptr_eq(i, &me)).and_then(|(_, p)| p.upgrade()) {
            Some(p) => p,
            None => {
                let p = Shared::new(0, 0);
                fifos.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                fifos.push((me, Arc::downgrade(&p)));
                p
            }
        }
    };
    open_end(shared, flags, Some(inode.clone()))
}

/// open(2) of /proc/<pid>/fd/N when N is a pipe end: a new open file of
/// the same pipe with the access mode asked for (fifo_open() of a pipefs
/// inode, which never waits). `None` when `file` is not a pipe.
pub fn reopen(file: &dyn File, flags: u32) -> Option<Result<Arc<dyn File>>> {
    let p = file.as_any()?.downcast_ref::<PipeEnd>()?;
    Some(open_end(p.shared.clone(), flags, p.inode.clone()))
}

fn open_end(shared: Arc<Shared>, flags: u32, inode: Option<Arc<vfs::Inode>>) -> Result<Arc<dyn File>> {
    let is_fifo = inode.is_some();
    let nonblock = flags & vfs::O_NONBLOCK != 0;
    let (read, write) = match flags & vfs::O_ACCMODE {
        vfs::O_RDONLY => (true, false),
        vfs::O_WRONLY => (false, true),
        vfs::O_RDWR => (true, true),
        _ => return Err(Errno::EINVAL),
    };
    let s = &shared;
    if is_fifo && write && !read && nonblock && s.readers.load(Ordering::SeqCst) == 0 {
        return Err(Errno::ENXIO);
    }
    // Linux decides under pipe->mutex whether an opener waits for a
    // partner; here the order of the atomics does it. Each opener raises
    // its count, then its counter, then reads the partner's counter and
    // count, all before waking anyone: a partner counted at 0 then has
    // not raised its counter yet (so it moves it later), and a partner
    // that waits cannot leave before this wake-up (so it is counted).
    if read {
        s.readers.fetch_add(1, Ordering::SeqCst);
        s.r_counter.fetch_add(1, Ordering::SeqCst);
    }
    if write {
        s.writers.fetch_add(1, Ordering::SeqCst);
        s.w_counter.fetch_add(1, Ordering::SeqCst);
    }
    if read && write {
        s.rdwr.fetch_add(1, Ordering::SeqCst);
    }
    let (counter, others) = if read { (&s.w_counter, &s.writers) } else { (&s.r_counter, &s.readers) };
    let seen = counter.load(Ordering::SeqCst);
    let alone = others.load(Ordering::SeqCst) == 0;
    s.openq.wake_all();
    let end = Arc::new(PipeEnd {
        owner: vfs::FileOwner::new(),
        shared: shared.clone(),
        read,
        write,
        flags: AtomicU32::new(flags),
        inode,
    });
    if is_fifo && !nonblock && read != write && alone {
        // wait_for_partner(): until the other side's counter moves; an
        // interrupted open drops its end (the counts go back)
        crate::proc::sleep_on(current_tid(), &[&s.openq], || counter.load(Ordering::SeqCst) != seen, None)?;
    }
    Ok(end)
}

fn current_tid() -> u32 {
    crate::sched::current_task_id() as u32
}

impl PipeEnd {
    fn nonblock(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & vfs::O_NONBLOCK != 0
    }

    /// Bytes waiting in the pipe (FIONREAD, from either end).
    pub fn available(&self) -> usize {
        self.shared.ring.lock().len()
    }

    /// The capacity in bytes (F_GETPIPE_SZ): the slots, a page each.
    pub fn capacity(&self) -> usize {
        self.shared.ring.lock().capacity()
    }

    /// F_SETPIPE_SZ as Linux's pipe_set_size(): rounds `size` up to a
    /// power of two of at least a page (`EINVAL` beyond 2 GiB); growing
    /// beyond pipe-max-size needs CAP_SYS_RESOURCE (`EPERM`), growing while
    /// the user is over a page limit needs CAP_SYS_RESOURCE or
    /// CAP_SYS_ADMIN (`EPERM`); `EBUSY` when more slots are occupied than
    /// that many pages. Returns the new capacity.
    pub fn set_capacity(&self, size: u64, user: PipeUser) -> Result<usize> {
        let size = ipc::pipe::round_size(size)?;
        let slots = size / PAGE;
        let cur = self.shared.ring.lock().capacity() / PAGE;
        if slots > cur && size as u64 > crate::sysctl::pipe_max_size() && !user.sys_resource {
            return Err(Errno::EPERM);
        }
        // Linux charges the pages up front; keep a sane bound here
        if size > 1 << 24 {
            log::info!("F_SETPIPE_SZ {size}: larger than 16 MiB refused: EPERM");
            return Err(Errno::EPERM);
        }
        let account = self.shared.account.as_ref();
        let accounted = account.map_or(0, |(_, n)| n.load(Ordering::SeqCst));
        let revert = |slots: usize| {
            if let Some((uid, _)) = account {
                account_pages(*uid, slots, accounted);
            }
        };
        if let Some((uid, _)) = account {
            let total = try_account_pages(*uid, accounted, slots)?;
            if slots > cur && (too_many_hard(total) || too_many_soft(total)) && user.unprivileged() {
                revert(slots);
                return Err(Errno::EPERM);
            }
        }
        let mut r = self.shared.ring.lock();
        if let Err(e) = r.set_slots(slots) {
            drop(r);
            revert(slots);
            return Err(e);
        }
        if let Some((_, n)) = account {
            n.store(slots, Ordering::SeqCst);
        }
        drop(r);
        self.shared.room_out();
        Ok(size)
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        if self.read && self.write {
            self.shared.rdwr.fetch_sub(1, Ordering::SeqCst);
        }
        if self.write {
            self.shared.writers.fetch_sub(1, Ordering::SeqCst);
            self.shared.data_in();
        }
        if self.read {
            self.shared.readers.fetch_sub(1, Ordering::SeqCst);
            self.shared.room_out();
        }
    }
}

/// The pipe end `file` is, if it is one (splice(2), tee(2)).
pub fn pipe_of(file: &dyn File) -> Option<&PipeEnd> {
    file.as_any()?.downcast_ref::<PipeEnd>()
}

impl PipeEnd {
    /// Whether `other` is an end of the same pipe.
    pub fn same_pipe(&self, other: &PipeEnd) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Whether this end's O_NONBLOCK is set (splice(2) adds its own flag).
    pub fn is_nonblocking(&self) -> bool {
        self.nonblock()
    }

    /// For a writer about to move data in (splice, tee): waits until the
    /// pipe has room (`EAGAIN` if `nonblock`, `EPIPE` without readers) and
    /// returns the free bytes.
    pub fn wait_room(&self, nonblock: bool) -> Result<usize> {
        let s = &self.shared;
        loop {
            if s.readers.load(Ordering::SeqCst) == 0 {
                return Err(Errno::EPIPE);
            }
            // a free slot, as Linux's pipe_full(): bytes left in a slot
            // that is partly read cannot take new data
            let free = {
                let r = s.ring.lock();
                let slots = r.capacity() / PAGE;
                (slots - r.slots_used().min(slots)) * PAGE
            };
            if free > 0 {
                return Ok(free);
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            crate::proc::sleep_on(
                current_tid(),
                &[&s.writeq],
                || !s.ring.lock().is_full() || s.readers.load(Ordering::SeqCst) == 0,
                None,
            )?;
        }
    }

    /// read(2) with `nonblock` in place of the end's O_NONBLOCK.
    pub fn read_nb(&self, buf: &mut [u8], nonblock: bool) -> Result<usize> {
        self.take_or_peek(buf, nonblock, false)
    }

    /// As [`PipeEnd::read_nb`], but the bytes stay in the pipe (tee(2)).
    pub fn peek_nb(&self, buf: &mut [u8], nonblock: bool) -> Result<usize> {
        self.take_or_peek(buf, nonblock, true)
    }

    fn take_or_peek(&self, buf: &mut [u8], nonblock: bool, peek: bool) -> Result<usize> {
        if !self.read {
            return Err(Errno::EBADF);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let s = &self.shared;
        loop {
            if peek {
                let n = s.ring.lock().peek(buf);
                if n > 0 {
                    return Ok(n);
                }
            } else {
                let n = s.ring.lock().take(buf);
                if n > 0 {
                    s.room_out();
                    return Ok(n);
                }
            }
            if s.writers.load(Ordering::SeqCst) == 0 {
                return Ok(0);
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            crate::proc::sleep_on(
                current_tid(),
                &[&s.readq],
                || !s.ring.lock().is_empty() || s.writers.load(Ordering::SeqCst) == 0,
                None,
            )?;
        }
    }

    /// write(2) with `nonblock` in place of the end's O_NONBLOCK.
    pub fn write_nb(&self, data: &[u8], nonblock: bool) -> Result<usize> {
        if !self.write {
            return Err(Errno::EBADF);
        }
        let s = &self.shared;
        if s.readers.load(Ordering::SeqCst) == 0 {
            return Err(Errno::EPIPE);
        }
        // once per write, before anything waits (Linux's pipe_write)
        let mut done = s.ring.lock().merge(data);
        if done > 0 {
            s.data_in();
        }
        // a page that finds no frame calls the OOM killer and tries again,
        // as Linux's allocator for a small allocation does until it gets
        // memory or the caller is killed (bounded here: another writer may
        // take what a victim freed before this one does)
        let mut oom_tries = 0;
        while done < data.len() {
            if s.readers.load(Ordering::SeqCst) == 0 {
                return if done > 0 { Ok(done) } else { Err(Errno::EPIPE) };
            }
            // a page per free slot: a write of at most PIPE_BUF bytes left
            // after the merge fits one slot, so it is never split
            let packet = self.flags.load(Ordering::Relaxed) & vfs::O_DIRECT != 0;
            // a statement of its own: the ring's lock is not held below
            let filled = s.ring.lock().fill(&data[done..], packet);
            let wrote = match filled {
                Ok(n) => n,
                // no frame for a page: Linux's allocator calls the OOM
                // killer and tries again before the write fails
                Err(Errno::ENOMEM) if oom_tries < 16 && crate::oom::retry_kernel_alloc() => {
                    oom_tries += 1;
                    continue;
                }
                Err(e) => return if done > 0 { Ok(done) } else { Err(e) },
            };
            if wrote > 0 {
                done += wrote;
                s.data_in();
                continue;
            }
            if nonblock {
                return if done > 0 { Ok(done) } else { Err(Errno::EAGAIN) };
            }
            if let Err(e) = crate::proc::sleep_on(
                current_tid(),
                &[&s.writeq],
                || !s.ring.lock().is_full() || s.readers.load(Ordering::SeqCst) == 0,
                None,
            ) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
        Ok(done)
    }
}

impl File for PipeEnd {
    fn owner(&self) -> &vfs::FileOwner {
        &self.owner
    }

    fn fasync(&self) -> bool {
        true
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.read_nb(buf, self.nonblock())
    }

    fn write(&self, data: &[u8]) -> Result<usize> {
        self.write_nb(data, self.nonblock())
    }

    fn unread(&self, data: &[u8]) {
        if !self.read || data.is_empty() {
            return;
        }
        self.shared.ring.lock().put_back(data);
        self.shared.data_in();
    }

    fn stat(&self) -> Result<Stat> {
        if let Some(i) = &self.inode {
            return Ok(i.stat());
        }
        Ok(Stat::default()
            .with_mode(vfs::S_IFIFO | 0o600)
            .with_ino(self.shared.ino)
            .with_nlink(1)
            .with_blksize(PIPE_BUF as i64)
            .with_dev(0xc))
    }

    fn poll(&self) -> u32 {
        let s = &self.shared;
        let (len, full) = {
            let r = s.ring.lock();
            (r.len(), r.is_full())
        };
        // as Linux's pipe_poll (ipc::pipe::poll_bits, host-tested there)
        ipc::pipe::poll_bits(
            self.read,
            self.write,
            len,
            full,
            s.readers.load(Ordering::SeqCst),
            s.writers.load(Ordering::SeqCst),
        )
    }

    fn ioctl(&self, _cmd: u32, _arg: usize) -> Result<isize> {
        // FIONREAD needs a user copy: the syscall layer answers it
        Err(Errno::ENOTTY)
    }

    fn event_count(&self) -> u64 {
        let mut n = 0;
        if self.write {
            n += self.shared.out_events.load(Ordering::SeqCst);
        }
        if self.read {
            n += self.shared.in_events.load(Ordering::SeqCst);
        }
        n
    }

    fn wait_queue(&self) -> Option<Arc<dyn vfs::WaitQueue>> {
        // an end open both ways sleeps on the read queue, which room_out()
        // wakes too while such an end exists
        Some(if self.read { self.shared.readq.clone() } else { self.shared.writeq.clone() })
    }

    fn inode(&self) -> Option<&Arc<vfs::Inode>> {
        self.inode.as_ref()
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    crate::eventfd::status_flags_methods!();
}

arch_x86_64::ktest!(
    fn pipe_ring_takes_frames_and_gives_them_back() {
        // the ring's logic is host-tested in crates/ipc; here: its pages are
        // frames (not heap), read back intact, and freed with the pipe. The
        // heap takes frames too: count free frames with the heap's own
        let free_frames = arch_x86_64::mem::heap::free_frames_with_heap;
        let free0 = free_frames();
        {
            let (r, w) = pipe(vfs::O_NONBLOCK, PipeUser::KERNEL).expect("a pipe");
            let data: alloc::vec::Vec<u8> = (0..3 * 4096 + 100).map(|i| (i % 251) as u8).collect();
            assert_eq!(w.write(&data), Ok(data.len()));
            assert_eq!(free0 - free_frames(), 4, "four slots, four frames");
            assert_eq!(w.poll() & vfs::POLLOUT, vfs::POLLOUT);
            let mut back = alloc::vec![0u8; data.len() + 10];
            assert_eq!(r.read(&mut back), Ok(data.len()));
            assert_eq!(&back[..data.len()], &data[..]);
            assert_eq!(r.read(&mut back), Err(Errno::EAGAIN));
            assert_eq!(w.write(&alloc::vec![0u8; 70_000]), Ok(65536), "16 slots");
            assert_eq!(w.write(b"x"), Err(Errno::EAGAIN));
            drop(w);
            assert_eq!(r.poll() & (vfs::POLLIN | vfs::POLLHUP), vfs::POLLIN | vfs::POLLHUP);
        }
        assert_eq!(free_frames(), free0, "pipe frames leaked");
    }
);
