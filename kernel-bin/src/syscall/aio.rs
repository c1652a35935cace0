//! Linux native AIO (fs/aio.c): io_setup(2), io_destroy(2), io_submit(2),
//! io_cancel(2), io_getevents(2), io_pgetevents(2), and the
//! `/proc/sys/fs/aio-nr` and `aio-max-nr` knobs.
//!
//! # Model
//!
//! A context is a ring of completion events in pages of its own, mapped
//! shared into the caller's address space (`/[aio] (deleted)` in
//! /proc/PID/maps); its address is the context id, and the ring's `id`
//! field its index in the process's table ([`aio::Table`], in the
//! process record: a fork's child starts with none, exec and the exit of
//! the last thread end them all). Every call finds the context as Linux's
//! `lookup_ioctx`: the `id` read from user memory at the context id, then
//! the table's entry there if its address is that id (a ring unmapped
//! with munmap makes the context unreachable, `EINVAL`, and it lives, and
//! counts in `aio-nr`, until exit, as on Linux).
//!
//! The ring's rules (slots, head and tail, the header) are `aio::Ring`,
//! host-tested there; the kernel writes events into the ring's frames
//! directly, so user space reaps them in user mode (libaio, fio's
//! `userspace_reap`) and io_getevents honours a head moved there.
//!
//! Reads, writes and fsyncs complete inside io_submit (through the same
//! paths as pread/pwrite/preadv/pwritev/fsync; Linux completes buffered
//! I/O synchronously too): their event is in the ring when io_submit
//! returns. A POLL whose file is not ready waits: a hook relayed from the
//! file's wait queue ([`PollHook`]) flags it and kicks the AIO thread,
//! which polls the file (never from the waker's context, which may hold
//! the file's locks) and completes the request when ready. io_cancel
//! cancels a waiting POLL (`EINPROGRESS`, an event with `res` 0 in the
//! ring, as Linux 6.1); io_destroy and the exit cancel them all. A
//! completion with `IOCB_FLAG_RESFD` adds 1 to the eventfd.
//!
//! # Locks
//! A context's `state` (a spin lock) is taken alone or inside nothing:
//! files are polled, eventfds signalled, user memory copied and files
//! dropped with it released. The process table's lock is taken alone for
//! the table's look-ups. [`BUDGET`] is a leaf.

use super::SysResult;
use crate::exec::ImagePages;
use crate::proc::table;
use crate::sched::{Relay, WaitQueue};
use crate::uthread::UThread;
use aio::iocb::{self, Iocb, Op};
use aio::ring::{Budget, Geometry, IoEvent};
use aio::{Ring, RingMemory};
use alloc::sync::Arc;
use alloc::vec::Vec;
use arch_x86_64::mem::vmimpl::KernelFrames;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use linux_abi::abi::{Iovec, Timespec};
use linux_abi::args::{Fd, UserPtr, UserSlice};
use linux_abi::{Errno, Result};
use process::pid::Pid;
use spin::Mutex;
use vfs::File;
use vm::FrameAllocator;

/// `aio-nr` and `aio-max-nr`.
static BUDGET: Mutex<Budget> = Mutex::new(Budget { nr: 0, max_nr: aio::ring::DEFAULT_MAX_NR });

/// `/proc/sys/fs/aio-nr`.
pub fn aio_nr() -> u64 {
    BUDGET.lock().nr
}

/// `/proc/sys/fs/aio-max-nr`.
pub fn aio_max_nr() -> u64 {
    BUDGET.lock().max_nr
}

/// Sets `/proc/sys/fs/aio-max-nr`.
pub fn set_aio_max_nr(v: u64) {
    BUDGET.lock().max_nr = v;
}

impl RingMemory for ImagePages {
    fn read(&self, offset: usize, buf: &mut [u8]) {
        self.read_at(offset, buf);
    }
    fn write(&self, offset: usize, data: &[u8]) {
        self.write_at(offset, data);
    }
}

/// One context (Linux's `struct kioctx`).
pub struct Ctx {
    /// The ring's address: the context id (mremap moves it: [`ring_moved`]).
    user_id: AtomicU64,
    /// Its index in the process's table (the ring's `id`).
    id: u32,
    /// The ring's bytes.
    len: usize,
    /// What io_setup asked for (counted in `aio-nr`).
    max_reqs: u32,
    /// The ring's frames.
    pages: Arc<ImagePages>,
    state: Mutex<State>,
    /// io_getevents sleeps here; completions and the end wake it.
    wq: WaitQueue,
}

struct State {
    ring: Ring,
    /// POLL requests waiting for their file (io_cancel finds them here).
    polls: Vec<Arc<PollReq>>,
}

/// A waiting POLL request.
struct PollReq {
    /// The iocb's address (the event's `obj`, io_cancel's key).
    obj: u64,
    data: u64,
    file: Arc<dyn File>,
    queue: Option<Arc<WaitQueue>>,
    events: u32,
    resfd: Option<Arc<dyn File>>,
    hook: Arc<PollHook>,
}

/// Linux's `aio_poll_wake` reduced to a flag: relayed from the polled
/// file's wait queue, it marks its request and kicks the AIO thread (no
/// lock taken: the waker may hold the file's).
struct PollHook {
    woke: AtomicBool,
}

impl Relay for PollHook {
    fn relayed(&self) {
        self.woke.store(true, Ordering::SeqCst);
        kick();
    }
}

/// What a completion owes after the context's lock: the eventfd to
/// signal, and the request (whose file is dropped here).
struct Done {
    resfd: Option<Arc<dyn File>>,
    req: Option<Arc<PollReq>>,
}

/// Contexts alive in the whole kernel (made in io_setup, counted down by
/// their drop): while there are none, exit and exec skip the process
/// table's lock that [`exit_aio`] takes (vfork_exit_wait: 90 instructions
/// per exit).
static LIVE: AtomicUsize = AtomicUsize::new(0);

impl Drop for Ctx {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Release);
    }
}

impl Ctx {
    /// Completes a request with `ev` (the caller holds `state`).
    fn complete_locked(&self, st: &mut State, ev: &IoEvent) {
        st.ring.complete(&*self.pages, ev);
    }

    /// After a completion: the eventfd signalled, the waiters woken, the
    /// request's references dropped (no lock held).
    fn after(&self, done: Done) {
        if let Some(efd) = &done.resfd {
            crate::eventfd::signal(&**efd, 1);
        }
        if let Some(r) = &done.req
            && let Some(q) = &r.queue
        {
            q.remove_relay(&r.hook);
        }
        self.wq.wake_all();
        drop(done);
    }

    /// Ends the context (io_destroy, exit, exec): no more submissions,
    /// waiting POLLs cancelled (an event with `res` 0 each, their eventfds
    /// signalled), `aio-nr` given back, io_getevents sleepers woken
    /// (`EINVAL`). False when it was ended already.
    fn kill(&self) -> bool {
        let polls = {
            let mut st = self.state.lock();
            if !st.ring.kill() {
                return false;
            }
            let polls = core::mem::take(&mut st.polls);
            for p in &polls {
                let ev = IoEvent { data: p.data, obj: p.obj, res: 0, res2: 0 };
                self.complete_locked(&mut st, &ev);
            }
            polls
        };
        for p in polls {
            self.after(Done { resfd: p.resfd.clone(), req: Some(p) });
        }
        BUDGET.lock().release(self.max_reqs);
        self.wq.wake_all();
        true
    }

    /// Completes the waiting POLLs whose file woke and is ready.
    fn check_polls(&self) {
        loop {
            // one flagged request at a time, polled with no lock held
            let req = {
                let st = self.state.lock();
                st.polls.iter().find(|p| p.hook.woke.swap(false, Ordering::SeqCst)).cloned()
            };
            let Some(req) = req else { return };
            let mask = iocb::wake_result(req.file.poll(), req.events);
            if mask == 0 {
                continue;
            }
            let taken = {
                let mut st = self.state.lock();
                match st.polls.iter().position(|p| Arc::ptr_eq(p, &req)) {
                    Some(i) => {
                        let p = st.polls.swap_remove(i);
                        let ev = IoEvent { data: p.data, obj: p.obj, res: i64::from(mask), res2: 0 };
                        self.complete_locked(&mut st, &ev);
                        Some(p)
                    }
                    None => None,
                }
            };
            if let Some(p) = taken {
                self.after(Done { resfd: p.resfd.clone(), req: Some(p) });
            }
        }
    }
}

// ----- the AIO thread: waiting POLLs -----

static WORK: AtomicBool = AtomicBool::new(false);
static WORK_WQ: WaitQueue = WaitQueue::new();
static THREAD: AtomicBool = AtomicBool::new(false);
/// The AIO thread's task id (kernel tasks take ids above pid_max, 32768;
/// inet's poll thread has 0x7fff_fff0).
const AIO_TASK_ID: u64 = 0x7fff_ffe0;

fn kick() {
    WORK.store(true, Ordering::SeqCst);
    WORK_WQ.wake_all();
}

fn start_thread() -> Result<()> {
    if THREAD.swap(true, Ordering::AcqRel) {
        return Ok(());
    }
    if crate::sched::try_spawn(AIO_TASK_ID, aio_thread).is_none() {
        THREAD.store(false, Ordering::Release);
        return Err(Errno::ENOMEM);
    }
    Ok(())
}

fn aio_thread() {
    loop {
        crate::sched::wait_any(&[&WORK_WQ], || WORK.swap(false, Ordering::AcqRel), None);
        // every process's contexts, one process at a time
        let tbl = table();
        for pid in tbl.pids() {
            let mut i = 0u32;
            loop {
                let ctx = tbl.with_process(pid, |p| p.ext().aio.iter().nth(i as usize).cloned()).flatten();
                let Some(ctx) = ctx else { break };
                ctx.check_polls();
                i += 1;
            }
            crate::sched::cond_resched();
        }
    }
}

// ----- look-ups -----

/// Linux's `lookup_ioctx`: the ring's `id` read from user memory, then
/// the table's context there if its address is `ctx_id`.
fn lookup(t: &UThread, ctx_id: u64) -> Option<Arc<Ctx>> {
    let id: u32 = t.read(UserPtr::<u32>::new(ctx_id)).ok()?;
    table()
        .with_process(t.pid, |p| {
            p.ext().aio.get(id).filter(|c| c.user_id.load(Ordering::Acquire) == ctx_id).cloned()
        })
        .flatten()
}

/// Ends every context of process `pid` (the exit of its last thread, or
/// exec: Linux's exit_aio; the ring is not unmapped, the address space
/// is going).
pub fn exit_aio(pid: Pid) {
    // none anywhere: this process has none either (one made concurrently
    // by another thread of it may be inserted after this point with or
    // without the check; the record's drop ends it)
    if LIVE.load(Ordering::Acquire) == 0 {
        return;
    }
    let ctxs = table().with_process(pid, |p| core::mem::take(&mut p.ext_mut().aio));
    if let Some(mut ctxs) = ctxs {
        for c in ctxs.take_all() {
            c.kill();
        }
    }
}

/// The name of a ring's mapping.
const RING_NAME: &str = "/[aio] (deleted)";

/// mremap of `[old, old + len)`: `Ok(Some(ctx))` when it starts an AIO
/// ring of the caller's (mremap moves the context with it: [`ring_moved`]),
/// `Ok(None)` for any other mapping, `EINVAL` for a ring the caller owns
/// no context of when it `moves` (MREMAP_FIXED elsewhere; a fork's
/// child's copy: Linux's aio_ring_mremap finds none in the child's table
/// and mremap fails).
pub fn ring_at(t: &UThread, old: u64, moves: bool) -> Result<Option<Arc<Ctx>>> {
    let start = match t.vm.lock().mapping_at(old as usize) {
        Some(m) if m.name == RING_NAME => m.start as u64,
        _ => return Ok(None),
    };
    let ctx = table()
        .with_process(t.pid, |p| {
            p.ext().aio.iter().find(|c| c.user_id.load(Ordering::Acquire) == start).cloned()
        })
        .flatten();
    match ctx {
        Some(c) if start == old => Ok(Some(c)),
        // (a part of a ring moved: it stays where its id says)
        Some(_) => Ok(None),
        // (only a move calls Linux's aio_ring_mremap)
        None if moves => Err(Errno::EINVAL),
        None => Ok(None),
    }
}

/// mremap moved `ctx`'s ring to `new`: the context's id is its new address
/// (Linux's aio_ring_mremap: io_getevents and user-mode reaping follow it;
/// the old address finds nothing).
pub fn ring_moved(ctx: &Ctx, new: u64) {
    ctx.user_id.store(new, Ordering::Release);
}

// ----- io_setup, io_destroy -----

/// io_setup(2): `unsigned nr_events, aio_context_t *ctxp`.
pub fn io_setup(t: &mut UThread, nr_events: u32, ctxp: UserPtr<u64>) -> SysResult {
    let old = t.read(ctxp)?;
    aio::ring::check_setup(old, nr_events)?;
    let max_nr = aio_max_nr();
    let g = Geometry::new(nr_events, crate::sched::nr_cpus() as u32, max_nr)?;
    let mut frames = Vec::new();
    frames.try_reserve_exact(g.pages).map_err(|_| Errno::ENOMEM)?;
    for _ in 0..g.pages {
        match KernelFrames.alloc_zeroed() {
            Ok(f) => frames.push(f),
            Err(_) => {
                // (their drop releases them)
                drop(ImagePages { frames });
                return Err(Errno::ENOMEM);
            }
        }
    }
    let pages = Arc::new(ImagePages { frames });
    BUDGET.lock().charge(g.max_reqs)?;
    let map = vm::MapFile::new(pages.clone() as Arc<dyn vm::PageSource>, "/[aio] (deleted)")
        .with_access(true, true);
    let lim = t.space_limits();
    let at = {
        use vm::abi::{MAP_SHARED, PROT_READ, PROT_WRITE};
        t.vm.lock().limited(lim).mmap(0, g.len(), PROT_READ | PROT_WRITE, MAP_SHARED, Some(map), 0)
    };
    let at = match at {
        Ok(a) => a as u64,
        Err(e) => {
            BUDGET.lock().release(g.max_reqs);
            return Err(e);
        }
    };
    let mut ctx_slot: Option<Arc<Ctx>> = None;
    let added = table().with_process(t.pid, |p| {
        let tbl = &mut p.ext_mut().aio;
        let id = tbl.next_id();
        let ring = Ring::new(&*pages, id, g.nr_events);
        LIVE.fetch_add(1, Ordering::AcqRel);
        let ctx = Arc::new(Ctx {
            user_id: AtomicU64::new(at),
            id,
            len: g.len(),
            max_reqs: g.max_reqs,
            pages: pages.clone(),
            state: Mutex::new(State { ring, polls: Vec::new() }),
            wq: WaitQueue::new(),
        });
        ctx_slot = Some(ctx.clone());
        tbl.insert(ctx)
    });
    let ctx = match (added, ctx_slot) {
        (Some(Ok(_)), Some(c)) => c,
        (r, _) => {
            BUDGET.lock().release(g.max_reqs);
            let _ = super::mm::munmap(t, at, g.len());
            return Err(match r {
                Some(Err(e)) => e,
                _ => Errno::ESRCH,
            });
        }
    };
    if let Err(e) = t.write(ctxp, at) {
        let _ = destroy(t, &ctx);
        return Err(e);
    }
    Ok(0)
}

/// Takes `ctx` out of the caller's table, ends it and unmaps its ring
/// (Linux's kill_ioctx); `EINVAL` when another call ended it first.
fn destroy(t: &mut UThread, ctx: &Arc<Ctx>) -> SysResult {
    let removed = table()
        .with_process(t.pid, |p| {
            let tbl = &mut p.ext_mut().aio;
            if tbl.get(ctx.id).is_some_and(|c| Arc::ptr_eq(c, ctx)) { tbl.remove(ctx.id) } else { None }
        })
        .flatten();
    let Some(c) = removed else { return Err(Errno::EINVAL) };
    if !c.kill() {
        return Err(Errno::EINVAL);
    }
    let _ = super::mm::munmap(t, c.user_id.load(Ordering::Acquire), c.len);
    drop(c);
    Ok(0)
}

/// io_destroy(2).
pub fn io_destroy(t: &mut UThread, ctx_id: u64) -> SysResult {
    let ctx = lookup(t, ctx_id).ok_or(Errno::EINVAL)?;
    destroy(t, &ctx)
}

// ----- io_submit -----

/// io_submit(2): `aio_context_t ctx_id, long nr, struct iocb **iocbpp`:
/// the number submitted, or the first one's error when none was.
pub fn io_submit(t: &mut UThread, ctx_id: u64, nr: i64, iocbpp: u64) -> SysResult {
    if nr < 0 {
        return Err(Errno::EINVAL);
    }
    let ctx = lookup(t, ctx_id).ok_or(Errno::EINVAL)?;
    let nr = nr.min(i64::from(ctx.state.lock().ring.nr())) as u64;
    let mut done = 0u64;
    let mut err = None;
    while done < nr {
        let r = iocbpp
            .checked_add(done * 8)
            .ok_or(Errno::EFAULT)
            .and_then(|p| t.read(UserPtr::<u64>::new(p)))
            .and_then(|p| submit_one(t, &ctx, p));
        if let Err(e) = r {
            err = Some(e);
            break;
        }
        done += 1;
        crate::sched::cond_resched();
    }
    match err {
        Some(e) if done == 0 => Err(e),
        _ => Ok(done as isize),
    }
}

/// The result of a finished operation as an event's `res`.
fn res_of(r: SysResult) -> i64 {
    match r {
        Ok(n) => n as i64,
        Err(e) if e.is_restart() => -i64::from(Errno::EINTR.as_i32()),
        Err(e) => -i64::from(e.as_i32()),
    }
}

/// io_submit_one: one iocb at user address `p`.
fn submit_one(t: &mut UThread, ctx: &Arc<Ctx>, p: u64) -> Result<()> {
    let mut raw = [0u8; iocb::IOCB_LEN];
    t.read_into(p, &mut raw)?;
    let cb = Iocb::from_bytes(&raw);
    cb.check()?;
    ctx.state.lock().ring.reserve(&*ctx.pages)?;
    match prepare_and_run(t, ctx, p, &cb) {
        Ok(Some((res, resfd))) => {
            let ev = IoEvent { data: cb.data, obj: p, res, res2: 0 };
            {
                let mut st = ctx.state.lock();
                ctx.complete_locked(&mut st, &ev);
            }
            ctx.after(Done { resfd, req: None });
            Ok(())
        }
        // a POLL left waiting
        Ok(None) => Ok(()),
        Err(e) => {
            ctx.state.lock().ring.unreserve();
            Err(e)
        }
    }
}

/// The eventfd at `fd` (eventfd_ctx_fdget): `EBADF`, or `EINVAL` for
/// another kind of file.
fn eventfd_at(t: &UThread, fd: u32) -> Result<Arc<dyn File>> {
    let f = t.fd(Fd(fd))?;
    if crate::eventfd::is_eventfd(&*f) { Ok(f) } else { Err(Errno::EINVAL) }
}

/// What a submitted request's completion carries: its `res` and eventfd.
type Finished = Option<(i64, Option<Arc<dyn File>>)>;

/// __io_submit_one after the slot is taken: the checks in Linux's order,
/// then the operation (`None`: a POLL left waiting).
fn prepare_and_run(t: &mut UThread, ctx: &Arc<Ctx>, p: u64, cb: &Iocb) -> Result<Finished> {
    let file = t.fd(Fd(cb.fildes))?;
    let mode = file.status_flags();
    if mode & vfs::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let resfd = if cb.flags & iocb::FLAG_RESFD != 0 { Some(eventfd_at(t, cb.resfd)?) } else { None };
    t.write(UserPtr::<u32>::new(p + iocb::KEY_OFFSET as u64), iocb::KEY)?;
    let op = Op::from_opcode(cb.opcode)?;
    let fd = Fd(cb.fildes);
    let res = match op {
        Op::Fsync | Op::Fdsync => {
            cb.check_fsync()?;
            match super::fs_extra::fsync(t, fd) {
                // no fsync method: refused at submission
                Err(Errno::EINVAL) => return Err(Errno::EINVAL),
                r => res_of(r),
            }
        }
        Op::Poll => {
            let events = cb.poll_events()?;
            return poll(ctx, p, cb, file, events, resfd);
        }
        _ => {
            let may_rt = table()
                .with_process(t.pid, |p| p.creds().has_cap(vfs::CAP_SYS_ADMIN) || p.creds().has_cap(23))
                .unwrap_or(false);
            cb.check_rw(may_rt)?;
            let acc = mode & vfs::O_ACCMODE;
            let ok =
                if op.writes() { acc == vfs::O_WRONLY || acc == vfs::O_RDWR } else { acc != vfs::O_WRONLY };
            if !ok {
                return Err(Errno::EBADF);
            }
            // a directory has no read_iter
            if !op.writes() && file.inode().is_some_and(|i| i.file_type() == vfs::FileType::Directory) {
                return Err(Errno::EINVAL);
            }
            let seekable = !matches!(file.lseek(0, vfs::SEEK_CUR), Err(Errno::ESPIPE));
            drop(file);
            if op.vectored() {
                // import_iovec: EINVAL/EFAULT at submission
                super::fs::iovecs(t, UserPtr::<Iovec>::new(cb.buf), cb.nbytes)?;
            } else {
                let len = (cb.nbytes as usize).min(0x7fff_f000);
                UserSlice::new(cb.buf, len).check()?;
            }
            // rw_verify_area
            if cb.offset < 0 {
                return Err(Errno::EINVAL);
            }
            let buf = UserSlice::new(cb.buf, cb.nbytes as usize);
            let iov = UserPtr::<Iovec>::new(cb.buf);
            let flags = Some(cb.rw_flags);
            let r = match (op, seekable) {
                (Op::Pread, true) if cb.rw_flags == 0 => super::fs::pread(t, fd, buf, cb.offset),
                (Op::Pwrite, true) if cb.rw_flags == 0 => super::fs::pwrite(t, fd, buf, cb.offset),
                (Op::Pread, true) => super::fs::preadv(t, fd, one_iovec(p), 1, cb.offset, flags),
                (Op::Pwrite, true) => super::fs::pwritev(t, fd, one_iovec(p), 1, cb.offset, flags),
                (Op::Preadv, true) => super::fs::preadv(t, fd, iov, cb.nbytes, cb.offset, flags),
                (Op::Pwritev, true) => super::fs::pwritev(t, fd, iov, cb.nbytes, cb.offset, flags),
                (Op::Pread, false) => super::fs::read(t, fd, buf),
                (Op::Pwrite, false) => super::fs::write(t, fd, buf),
                (Op::Preadv, false) => super::fs::readv(t, fd, iov, cb.nbytes),
                (_, false) => super::fs::writev(t, fd, iov, cb.nbytes),
                _ => Err(Errno::EINVAL),
            };
            res_of(r)
        }
    };
    Ok(Some((res, resfd)))
}

/// A read or write of one buffer with `RWF_*` flags goes through
/// preadv2/pwritev2's path, with the iocb's own `aio_buf` and
/// `aio_nbytes` (16 bytes at offset 24, laid out as a `struct iovec`) as
/// its one iovec.
fn one_iovec(p: u64) -> UserPtr<Iovec> {
    UserPtr::<Iovec>::new(p + 24)
}

/// aio_poll: completes at once when the file is ready (or has no wait
/// queue), else leaves the request waiting on the file's queue.
fn poll(
    ctx: &Arc<Ctx>,
    p: u64,
    cb: &Iocb,
    file: Arc<dyn File>,
    events: u32,
    resfd: Option<Arc<dyn File>>,
) -> Result<Finished> {
    let queue = crate::sched::queue_of(&*file);
    let Some(q) = queue else {
        // nothing to wait on: ready now, or never (Linux's aio_poll: no
        // mask and no queue leaves its `apt.error`, EINVAL, e.g. POLLPRI
        // on a regular file)
        let mask = file.poll() & events;
        if mask == 0 {
            return Err(Errno::EINVAL);
        }
        return Ok(Some((i64::from(mask), resfd)));
    };
    start_thread()?;
    let hook = Arc::new(PollHook { woke: AtomicBool::new(false) });
    q.add_relay(&hook);
    let mask = file.poll() & events;
    if mask != 0 {
        q.remove_relay(&hook);
        return Ok(Some((i64::from(mask), resfd)));
    }
    let req = Arc::new(PollReq { obj: p, data: cb.data, file, queue: Some(q.clone()), events, resfd, hook });
    let added = {
        let mut st = ctx.state.lock();
        if st.polls.try_reserve(1).is_ok() {
            st.polls.push(req.clone());
            true
        } else {
            false
        }
    };
    if !added {
        q.remove_relay(&req.hook);
        return Err(Errno::ENOMEM);
    }
    // a wake-up between the poll and the push: the thread looks again
    if req.hook.woke.load(Ordering::SeqCst) {
        kick();
    }
    Ok(None)
}

// ----- io_cancel -----

/// io_cancel(2): `EINPROGRESS` when a waiting POLL was cancelled (its
/// event, `res` 0, goes to the ring), `EINVAL` for a request not waiting
/// (or a key that is not io_submit's).
pub fn io_cancel(t: &mut UThread, ctx_id: u64, iocb_addr: u64, _result: u64) -> SysResult {
    let key: u32 = t.read(UserPtr::<u32>::new(iocb_addr.wrapping_add(iocb::KEY_OFFSET as u64)))?;
    if key != iocb::KEY {
        return Err(Errno::EINVAL);
    }
    let ctx = lookup(t, ctx_id).ok_or(Errno::EINVAL)?;
    let taken = {
        let mut st = ctx.state.lock();
        match st.polls.iter().position(|r| r.obj == iocb_addr) {
            Some(i) => {
                let r = st.polls.swap_remove(i);
                let ev = IoEvent { data: r.data, obj: r.obj, res: 0, res2: 0 };
                ctx.complete_locked(&mut st, &ev);
                Some(r)
            }
            None => None,
        }
    };
    let Some(r) = taken else { return Err(Errno::EINVAL) };
    ctx.after(Done { resfd: r.resfd.clone(), req: Some(r) });
    Err(Errno::EINPROGRESS)
}

// ----- io_getevents, io_pgetevents -----

/// Events copied per round of [`reap`] (a stack buffer's worth).
const BATCH: u32 = 16;

/// Copies up to `max` events to `out` (user memory), moving the ring's
/// head: the count, or `EFAULT` when the first copy faults.
fn reap(t: &UThread, ctx: &Ctx, out: u64, max: u64) -> Result<u64> {
    let mut got = 0u64;
    // rounds whose head another thread moved meanwhile (user space may
    // write the ring's head): bounded, so a thread rewriting it in a loop
    // cannot keep this one here
    let mut lost = 0u32;
    while got < max {
        let want = (max - got).min(u64::from(BATCH)) as u32;
        let mut buf = [0u8; BATCH as usize * aio::ring::EVENT_LEN];
        let (head, n) = {
            let st = ctx.state.lock();
            let Some((head, n)) = st.ring.pending(&*ctx.pages, want) else { break };
            ctx.pages.read(aio::ring::event_offset(head), &mut buf[..n as usize * aio::ring::EVENT_LEN]);
            (head, n)
        };
        let len = n as usize * aio::ring::EVENT_LEN;
        let dst = out.checked_add(got * aio::ring::EVENT_LEN as u64).ok_or(Errno::EFAULT);
        if let Err(e) = dst.and_then(|d| t.write_slice(d, &buf[..len])) {
            return if got == 0 { Err(e) } else { Ok(got) };
        }
        let moved = ctx.state.lock().ring.consume(&*ctx.pages, head, n);
        if moved {
            got += u64::from(n);
        } else {
            lost += 1;
            if lost >= 8 {
                break;
            }
        }
    }
    Ok(got)
}

/// read_events: at least `min_nr` events (or what came by the deadline,
/// or a signal), at most `nr`. `EINVAL` once the context is ended and no
/// event was read.
fn read_events(t: &UThread, ctx: &Ctx, min_nr: i64, nr: i64, out: u64, deadline: Option<u64>) -> SysResult {
    let mut got = 0u64;
    loop {
        got += match reap(t, ctx, out + got * aio::ring::EVENT_LEN as u64, nr as u64 - got) {
            Ok(n) => n,
            Err(e) if got == 0 => return Err(e),
            Err(_) => return Ok(got as isize),
        };
        if ctx.state.lock().ring.dead() {
            return if got == 0 { Err(Errno::EINVAL) } else { Ok(got as isize) };
        }
        if got as i64 >= min_nr {
            return Ok(got as isize);
        }
        let now = crate::sched::now_ns();
        if deadline.is_some_and(|d| now >= d) {
            return Ok(got as isize);
        }
        let ready = || {
            let st = ctx.state.lock();
            st.ring.dead() || st.ring.pending(&*ctx.pages, 1).is_some()
        };
        match crate::proc::sleep_on(t.tid, &[&ctx.wq], ready, deadline) {
            Ok(()) | Err(Errno::ETIMEDOUT) => {}
            Err(_) => return Ok(got as isize),
        }
    }
}

/// The deadline of an io_getevents timeout (relative; `EFAULT`); a zero
/// or negative one is a look without waiting.
fn deadline_of(t: &UThread, ts: UserPtr<Timespec>) -> Result<Option<u64>> {
    let Some(ts) = ts.non_null() else { return Ok(None) };
    let ts = t.read(ts)?;
    let ns = (ts.tv_sec as i128) * 1_000_000_000 + ts.tv_nsec as i128;
    let now = crate::sched::now_ns();
    Ok(Some(if ns <= 0 { now } else { now.saturating_add(ns.min(u64::MAX as i128) as u64) }))
}

fn do_getevents(
    t: &UThread,
    ctx_id: u64,
    min_nr: i64,
    nr: i64,
    out: u64,
    deadline: Option<u64>,
) -> SysResult {
    let ctx = lookup(t, ctx_id).ok_or(Errno::EINVAL)?;
    if !(min_nr <= nr && min_nr >= 0) {
        return Err(Errno::EINVAL);
    }
    read_events(t, &ctx, min_nr, nr, out, deadline)
}

/// io_getevents(2): `EINTR` when a signal came before any event.
pub fn io_getevents(
    t: &mut UThread,
    ctx_id: u64,
    min_nr: i64,
    nr: i64,
    events: u64,
    timeout: UserPtr<Timespec>,
) -> SysResult {
    let deadline = deadline_of(t, timeout)?;
    let r = do_getevents(t, ctx_id, min_nr, nr, events, deadline);
    if r == Ok(0) && crate::uthread::signal_pending(t.tid) {
        return Err(Errno::EINTR);
    }
    r
}

/// io_pgetevents(2): io_getevents with `struct __aio_sigset { const
/// sigset_t *sigmask; size_t sigsetsize; }` as the mask while it waits;
/// a signal before any event restarts it when no handler runs
/// (`ERESTARTNOHAND`).
pub fn io_pgetevents(
    t: &mut UThread,
    ctx_id: u64,
    (min_nr, nr): (i64, i64),
    events: u64,
    timeout: UserPtr<Timespec>,
    usig: UserPtr<[u64; 2]>,
) -> SysResult {
    let deadline = deadline_of(t, timeout)?;
    let sig = match usig.non_null() {
        Some(p) => t.read(p)?,
        None => [0, 0],
    };
    super::poll::temp_mask(t, UserPtr::<u64>::new(sig[0]), sig[1] as usize)?;
    let r = do_getevents(t, ctx_id, min_nr, nr, events, deadline);
    // restore_saved_sigmask_unless(): a signal the temporary mask lets
    // through is delivered under it (the handler's frame keeps the old
    // one), whatever the result; only without one is it restored here
    let interrupted = crate::uthread::signal_pending(t.tid);
    if sig[0] != 0 && !interrupted {
        super::poll::restore_mask(t);
    }
    if interrupted && r == Ok(0) {
        return Err(Errno::ERESTARTNOHAND);
    }
    r
}
