//! io_uring (io_uring_setup(2), io_uring_enter(2), io_uring_register(2))
//! as Linux 6.1 answers it. The ring arithmetic, the ABI structures, the
//! sizing, chains and the probe are `crates/uring`; here are the file, the
//! mappings, the requests and the sleeping.
//!
//! # Model
//!
//! A ring is a file (`anon_inode:[io_uring]`) owning two regions of frames
//! of its own: the rings (`struct io_rings`, the CQEs, the SQ index array:
//! one mmap for `IORING_OFF_SQ_RING` and `IORING_OFF_CQ_RING`,
//! `IORING_FEAT_SINGLE_MMAP`) and the SQEs. User space maps them with
//! mmap on the ring fd; the kernel reads and writes them through the
//! direct map, so a CQE is visible to user space once the tail moves.
//!
//! io_uring_enter consumes SQEs (copied once: `IORING_FEAT_SUBMIT_STABLE`)
//! and issues each request in the caller's context, through the same
//! paths as the system calls (read, pread, preadv2, sendmsg, accept4,
//! openat, statx...). A request on a file with a wait queue (a pipe, a
//! socket, a terminal, an eventfd) is issued with the task's `nowait`
//! flag, so a sleep it would take answers `EAGAIN` instead; such a
//! request is parked with a relay on the file's queue (Linux's poll
//! arming). Every request is owned by its submitter's process identity
//! ([`Tctx`], Linux's `io_uring_task`): a retry and the rest of a chain
//! run only in a thread of that process, as its task work ([`task_work`]:
//! Linux's, with `TWA_SIGNAL`): the submitting thread is told
//! ([`crate::sched::notify`]) when the file wakes, which ends an
//! interruptible sleep of it as a signal would (the call restarts) and
//! runs the work on its way back to user mode, so a program waiting with
//! poll or epoll on the ring fd or its eventfd, or reading the CQ ring,
//! sees the CQE; io_uring_enter's wait runs it too (with
//! `IORING_SETUP_TASKRUN_FLAG` the SQ flag `IORING_SQ_TASKRUN` says there
//! is such work). exec and the exit of its last thread cancel them
//! ([`exit_uring`]). POLL_ADD, TIMEOUT and LINK_TIMEOUT need no user
//! memory and complete from any caller without the submission lock (the
//! rest of their chain is parked for the owner, who is told); timeouts
//! also on their own, from the deadline queue ([`fire`]). A request on a
//! regular file, an OPENAT with O_CREAT/O_TRUNC/O_TMPFILE, STATX and
//! CLOSE run with the submission lock released (`Ring::unlocked`: Linux's
//! io-wq); an OPENAT without those flags is tried with O_NONBLOCK as
//! Linux's io_openat2 (a FIFO's read side opens at once).
//!
//! # Bounds
//!
//! At most [`MAX_PARKED`] (or the CQ size, if larger) SQEs are held per
//! ring by waiting requests and the rest of their chains (`Inner::held`;
//! `EBUSY` past it); the overflow list holds at most as many CQEs as the CQ ring
//! (then completions are dropped and counted in `cq_overflow`, with
//! io_uring_enter's `EBADR` once). Registered files are bounded by
//! RLIMIT_NOFILE, registered buffers by `IORING_MAX_REG_BUFFERS` and,
//! for a ring made without CAP_IPC_LOCK, by its user's RLIMIT_MEMLOCK
//! (the pages counted per user in `LOCKED_VM`). A ring fd is refused in
//! SCM_RIGHTS (`EINVAL`, as Linux since 6.7 and 6.1.69): no ring can be
//! in flight in a socket it holds.
//!
//! # Locks
//!
//! `Ring::inner` (a spin lock) is a leaf: no user memory is touched, no
//! file polled, no eventfd signalled and no file dropped under it. The
//! submission lock ([`Ring::submit`], Linux's `uring_lock`) is a sleeping
//! flag taken around issuing requests (which copy user memory; it is
//! released around blocking work); it is never taken with `inner` held. A
//! waiter with task work of its own while another thread holds it sleeps
//! until it is released (`submit_wq`). `Tctx::rings`, `LOCKED_VM` and
//! [`TIMED`] are leaf spin locks taken alone; the deadline queue's lock
//! (a leaf) is taken under `inner` to arm the ring's slot.

use super::SysResult;
use crate::exec::ImagePages;
use crate::lockorder::{LockClass, Ranked};
use crate::sched::{Relay, Task, WaitQueue};
use crate::uthread::UThread;
use alloc::collections::VecDeque;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use arch_x86_64::mem::vmimpl::KernelFrames;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use linux_abi::abi::{Iovec, MsgHdr, Timespec};
use linux_abi::args::{DirFd, Fd, UserCStr, UserPtr, UserSlice};
use linux_abi::{Errno, Result};
use spin::Mutex;
use uring::abi::{self, Cqe, GeteventsArg, Params, Sqe, enter, feat, op, setup, sqe_flags};
use uring::chain::{Deferred, Link, fails_link};
use uring::layout::{Geometry, Region};
use uring::ring::{RingMemory, Rings, SqSlot};
use vfs::File;
use vm::{Frame, FrameAllocator, FrameRefs, PAGE_SIZE};

/// The setup flags offered (the others are `EINVAL` with a log line:
/// IOPOLL). SQPOLL's thread is one that is always asleep: the SQ ring's
/// `IORING_SQ_NEED_WAKEUP` stays set, and io_uring_enter (which callers
/// following the protocol make with `IORING_ENTER_SQ_WAKEUP`) consumes
/// the SQ as the woken thread would.
const OFFERED: u32 = setup::SQPOLL
    | setup::SQ_AFF
    | setup::CQSIZE
    | setup::CLAMP
    | setup::ATTACH_WQ
    | setup::R_DISABLED
    | setup::SUBMIT_ALL
    | setup::COOP_TASKRUN
    | setup::TASKRUN_FLAG
    | setup::SQE128
    | setup::CQE32
    | setup::SINGLE_ISSUER
    | setup::DEFER_TASKRUN;

/// The features answered: only what is implemented.
const FEATURES: u32 = feat::SINGLE_MMAP
    | feat::NODROP
    | feat::SUBMIT_STABLE
    | feat::RW_CUR_POS
    | feat::CUR_PERSONALITY
    | feat::FAST_POLL
    | feat::POLL_32BITS
    | feat::EXT_ARG
    | feat::CQE_SKIP
    | feat::SQPOLL_NONFIXED;

/// Requests that may wait per ring (at least; the CQ size if larger).
const MAX_PARKED: usize = 1024;

/// The fd of a registered file while a request on it is issued
/// ([`UThread::fixed_file`]): never a valid descriptor.
pub const FIXED_FD: u32 = 0xffff_fffe;

/// Whether `op` is implemented (the probe's `IO_URING_OP_SUPPORTED`).
fn supported(o: u8) -> bool {
    matches!(
        o,
        op::NOP
            | op::READV
            | op::WRITEV
            | op::FSYNC
            | op::READ_FIXED
            | op::WRITE_FIXED
            | op::POLL_ADD
            | op::POLL_REMOVE
            | op::SENDMSG
            | op::RECVMSG
            | op::TIMEOUT
            | op::TIMEOUT_REMOVE
            | op::ACCEPT
            | op::ASYNC_CANCEL
            | op::LINK_TIMEOUT
            | op::CONNECT
            | op::OPENAT
            | op::CLOSE
            | op::STATX
            | op::READ
            | op::WRITE
            | op::SEND
            | op::RECV
    )
}

/// A region's frames as `RingMemory` (through the direct map).
struct Pages(Arc<ImagePages>);

impl RingMemory for Pages {
    fn read(&self, offset: usize, buf: &mut [u8]) {
        self.0.read_at(offset, buf);
    }
    fn write(&self, offset: usize, data: &[u8]) {
        self.0.write_at(offset, data);
    }
}

fn alloc_region(pages: usize) -> Result<Arc<ImagePages>> {
    let mut frames = Vec::new();
    frames.try_reserve_exact(pages).map_err(|_| Errno::ENOMEM)?;
    for _ in 0..pages {
        match KernelFrames.alloc_zeroed() {
            Ok(f) => frames.push(f),
            Err(_) => {
                drop(ImagePages { frames });
                return Err(Errno::ENOMEM);
            }
        }
    }
    Ok(Arc::new(ImagePages { frames }))
}

/// Relayed from a parked request's file queue: flags the request and
/// wakes the ring's waiters (no lock taken: the waker may hold the file's).
struct Hook {
    woke: AtomicBool,
    /// Set while this hook wakes its ring: a ring polling itself, or two
    /// rings polling each other, would relay back here without end.
    waking: AtomicBool,
    ring_wq: Arc<WaitQueue>,
    ring_events: Arc<AtomicU64>,
    /// The submitting thread: told that task work is due (Linux's
    /// `TWA_SIGNAL`), it runs the retry (or completes the poll) on its
    /// way back to user mode, or in its io_uring_enter. `None` for a
    /// `IORING_SETUP_DEFER_TASKRUN` ring: the work waits for the task's
    /// io_uring_enter (6.1's io_req_local_work_add wakes only the ring's
    /// waiters; no sleep of the task ends for it). Weak: a request must
    /// not keep an exited thread's Task, and its kernel stack, alive (a
    /// ring holds up to 65,536 of them).
    task: Option<Weak<Task>>,
}

impl Hook {
    /// A hook of the running task's.
    fn new(ring: &Ring, woke: bool) -> Arc<Hook> {
        Arc::new(Hook {
            woke: AtomicBool::new(woke),
            waking: AtomicBool::new(false),
            ring_wq: ring.wq.clone(),
            ring_events: ring.events.clone(),
            task: ring.task_work_notifies().then(|| Arc::downgrade(&crate::sched::current())),
        })
    }
}

impl Relay for Hook {
    fn relayed(&self) {
        self.woke.store(true, Ordering::SeqCst);
        // (a concurrent waker skipped here finds `woke` already set by
        // the one in progress, whose wake-up its waiters see)
        if self.waking.swap(true, Ordering::AcqRel) {
            return;
        }
        self.ring_events.fetch_add(1, Ordering::SeqCst);
        self.ring_wq.wake_all();
        if let Some(task) = &self.task {
            notify_weak(task);
        }
        self.waking.store(false, Ordering::Release);
    }
}

/// A file a parked request holds: rings only weakly (a ring polling
/// itself would keep itself alive).
enum Held {
    Strong(Arc<dyn File>),
    Weak(Weak<dyn File>),
}

impl Held {
    fn new(f: Arc<dyn File>) -> Held {
        if as_ring(&*f).is_some() { Held::Weak(Arc::downgrade(&f)) } else { Held::Strong(f) }
    }
    /// The file's address, without taking a reference (an upgrade could
    /// make this the last one, dropped under a ring's lock).
    fn ptr(&self) -> *const () {
        match self {
            Held::Strong(f) => Arc::as_ptr(f) as *const (),
            Held::Weak(w) => w.as_ptr() as *const (),
        }
    }
    fn get(&self) -> Option<Arc<dyn File>> {
        match self {
            Held::Strong(f) => Some(f.clone()),
            Held::Weak(w) => w.upgrade(),
        }
    }
}

/// A process's io_uring identity (Linux's `struct io_uring_task`): the
/// owner of the requests it submits. What needs the submitter's context
/// (a retry that copies user memory, the rest of a chain, a drained
/// chain) runs only in an io_uring_enter of a thread of the process
/// holding it (`ProcessExt::uring`, cached in `UThread::uring_tctx`); a
/// POLL_ADD, TIMEOUT or LINK_TIMEOUT completes from any caller, the rest
/// of its chain parked for the owner. exec and the exit of the last
/// thread mark it dead and cancel its requests in the rings it submitted
/// to ([`exit_uring`]). Held by `Arc`: never confused with a later one.
pub struct Tctx {
    dead: AtomicBool,
    /// The rings it submitted to (a leaf spin lock).
    rings: Mutex<Vec<Weak<dyn File>>>,
}

/// Identities alive (exit and exec skip the process table's lock while
/// there are none).
static LIVE_TCTX: AtomicUsize = AtomicUsize::new(0);

impl Drop for Tctx {
    fn drop(&mut self) {
        LIVE_TCTX.fetch_sub(1, Ordering::Release);
    }
}

/// The caller's process's identity (made by its first use).
fn tctx_of(t: &mut UThread) -> Result<Arc<Tctx>> {
    if let Some(c) = &t.uring_tctx
        && !c.dead.load(Ordering::Acquire)
    {
        return Ok(c.clone());
    }
    let c = crate::proc::table()
        .with_process(t.pid, |p| {
            let e = p.ext_mut();
            if let Some(c) = &e.uring {
                return c.clone();
            }
            LIVE_TCTX.fetch_add(1, Ordering::AcqRel);
            let c = Arc::new(Tctx { dead: AtomicBool::new(false), rings: Mutex::new(Vec::new()) });
            e.uring = Some(c.clone());
            c
        })
        .ok_or(Errno::ESRCH)?;
    t.uring_tctx = Some(c.clone());
    Ok(c)
}

/// Notes that `tc` submits to `ring` (found again by [`exit_uring`]).
fn note_ring(tc: &Tctx, ring: &Arc<dyn File>) -> Result<()> {
    let mut rings = tc.rings.lock();
    if rings.iter().any(|w| core::ptr::addr_eq(w.as_ptr(), Arc::as_ptr(ring))) {
        return Ok(());
    }
    // (a Weak's drop frees at most its allocation: no file is dropped)
    rings.retain(|w| w.strong_count() > 0);
    rings.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    rings.push(Arc::downgrade(ring));
    Ok(())
}

/// The exit of process `pid`'s last thread, or its exec: its identity
/// dies and its requests in every ring it submitted to complete with
/// `-ECANCELED` (Linux's io_uring_task_cancel at exec; at the exit
/// io_uring_files_cancel, then each armed request fails with
/// `-ECANCELED` when its task work finds the task exiting: here at
/// once), so a process sharing the ring that waits for them wakes.
pub fn exit_uring(pid: process::pid::Pid) {
    if LIVE_TCTX.load(Ordering::Acquire) == 0 {
        return;
    }
    let Some(Some(tc)) = crate::proc::table().with_process(pid, |p| p.ext_mut().uring.take()) else {
        return;
    };
    tc.dead.store(true, Ordering::SeqCst);
    let rings = core::mem::take(&mut *tc.rings.lock());
    for w in rings {
        if let Some(f) = w.upgrade()
            && let Some(ring) = as_ring(&*f)
        {
            cancel_owner(ring, &tc);
        }
        // (a ring whose last reference this was is dropped here, no lock
        // held)
    }
}

/// Cancels every request `tc` owns in `ring`: parked ones and drained
/// chains.
fn cancel_owner(ring: &Ring, tc: &Arc<Tctx>) {
    // (the dead flag is set: nothing of `tc`'s is parked after this)
    while cancel(ring, |p| Arc::ptr_eq(&p.owner, tc), true).is_ok() {}
    let chains = {
        let mut inner = ring.inner.lock();
        match inner.deferred.take_where(|c| Arc::ptr_eq(&c.owner, tc)) {
            Ok(q) => {
                inner.held = inner.held.saturating_sub(q.iter().map(|(c, _)| c.sqes.len()).sum::<usize>());
                q
            }
            Err(()) => VecDeque::new(),
        }
    };
    for (c, _) in chains {
        for s in c.sqes {
            ring.post(&s, -Errno::ECANCELED.as_i32(), 0);
        }
    }
    ring.signal();
}

/// What a parked request waits for.
enum Wait {
    /// Its file to wake: the request is issued again (by its owner).
    Retry { file: Held, queue: Arc<WaitQueue>, hook: Arc<Hook> },
    /// POLL_ADD: its file to show one of `events`.
    Poll { file: Held, queue: Arc<WaitQueue>, hook: Arc<Hook>, events: u32, multi: bool },
    /// TIMEOUT: a deadline and/or a count of completions.
    Timeout { deadline: u64, target: Option<u64> },
    /// The next member of a chain whose previous one completed: issued
    /// by its owner after the submission batch (Linux queues it as task
    /// work).
    Next,
}

/// A request waiting, with the rest of its chain.
struct Parked {
    sqe: Sqe,
    rest: VecDeque<Sqe>,
    link: Link,
    wait: Wait,
    /// A LINK_TIMEOUT armed on it: (its user_data, its SQE, deadline).
    lt: Option<(Sqe, u64)>,
    drain: bool,
    /// Who submitted it (runs its retries and the rest of its chain).
    owner: Arc<Tctx>,
    /// The thread that submitted it: told when its task work is due
    /// (weak: see [`Hook::task`]).
    task: Weak<Task>,
}

impl Parked {
    /// The SQEs it holds (counted against the ring's bound).
    fn weight(&self) -> usize {
        1 + self.rest.len() + usize::from(self.lt.is_some())
    }

    fn hook(&self) -> Option<(&Arc<WaitQueue>, &Arc<Hook>)> {
        match &self.wait {
            Wait::Retry { queue, hook, .. } | Wait::Poll { queue, hook, .. } => Some((queue, hook)),
            Wait::Timeout { .. } | Wait::Next => None,
        }
    }

    /// Takes it off its file's queue (no lock of ours held).
    fn disarm(&self) {
        if let Some((q, h)) = self.hook() {
            q.remove_relay(h);
        }
    }

    fn deadline(&self) -> Option<u64> {
        let own = match &self.wait {
            Wait::Timeout { deadline, .. } if *deadline != u64::MAX => Some(*deadline),
            _ => None,
        };
        let lt = self.lt.map(|(_, d)| d);
        match (own, lt) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A registered buffer (IORING_REGISTER_BUFFERS) with a reference held on
/// each of its pages, as Linux's pin_user_pages(FOLL_LONGTERM): an munmap
/// or a new mapping of its range after registration changes nothing for
/// READ_FIXED/WRITE_FIXED, which copy to and from these frames
/// ([`UThread::fixed_buf`]); the frames are given back when the last
/// holder (the ring's table, a request being issued) drops it.
pub struct FixedBuf {
    base: u64,
    len: u64,
    /// The frames of the pages `[base, base + len)` spans, in order.
    frames: Vec<Frame>,
    /// The pins' holder in the address space's records (`Vmar::pin_page`:
    /// fork copies the pinned pages for the child while it lives).
    alive: Option<Arc<()>>,
}

impl FixedBuf {
    /// Whether `[addr, addr + len)` lies in the buffer.
    pub fn covers(&self, addr: u64, len: usize) -> bool {
        addr >= self.base && addr.checked_add(len as u64).is_some_and(|e| e <= self.base + self.len)
    }

    /// Visits the pages of `[addr, addr + len)` (covered: [`Self::covers`])
    /// with the frame, the offset in it and the range of bytes done.
    fn chunks(&self, addr: u64, len: usize, mut f: impl FnMut(Frame, usize, core::ops::Range<usize>)) {
        let page0 = self.base / PAGE_SIZE as u64;
        let mut done = 0;
        while done < len {
            let va = addr + done as u64;
            let off = (va % PAGE_SIZE as u64) as usize;
            let n = (PAGE_SIZE - off).min(len - done);
            let Some(&frame) = self.frames.get((va / PAGE_SIZE as u64 - page0) as usize) else { return };
            f(frame, off, done..done + n);
            done += n;
        }
    }

    /// Copies the buffer's bytes at `addr` into `buf`.
    pub fn read(&self, addr: u64, buf: &mut [u8]) {
        self.chunks(addr, buf.len(), |frame, off, r| KernelFrames.read(frame, off, &mut buf[r]));
    }

    /// Copies `data` into the buffer at `addr`.
    pub fn write(&self, addr: u64, data: &[u8]) {
        self.chunks(addr, data.len(), |frame, off, r| KernelFrames.write(frame, off, &data[r]));
    }
}

impl Drop for FixedBuf {
    fn drop(&mut self) {
        // (the pins go stale before their references go)
        drop(self.alive.take());
        for &f in &self.frames {
            KernelFrames.release(f);
        }
    }
}

/// A chain waiting for a drain.
struct Chain {
    sqes: VecDeque<Sqe>,
    owner: Arc<Tctx>,
    task: Weak<Task>,
}

struct Inner {
    rings: Rings,
    disabled: bool,
    files: Vec<Option<Arc<dyn File>>>,
    /// Registered buffers, their pages pinned (dropped with no lock held:
    /// the frames' release).
    bufs: Vec<Arc<FixedBuf>>,
    /// The pages `bufs` are charged for (to `Ring::user`).
    bufs_pages: u64,
    parked: Vec<Parked>,
    deferred: Deferred<Chain>,
    /// Drained requests in flight.
    draining: usize,
    eventfd: Option<Arc<dyn File>>,
    /// Registered with `IORING_REGISTER_EVENTFD_ASYNC`: signalled only for
    /// completions Linux makes in an io-wq worker; here those of retried
    /// reads and writes (6.1 hands a pipe's to io-wq; a socket's, which it
    /// completes by task work, are signalled here too).
    eventfd_async: bool,
    /// SINGLE_ISSUER's task.
    submitter: Option<u32>,
    /// CQEs posted that were not timeouts (TIMEOUT's count).
    posted: u64,
    /// Timeouts completed (a waiter wakes on one).
    timeouts: u64,
    /// CQEs posted since the waiters were last woken.
    unsignalled: u32,
    /// SQEs held by `parked` and `deferred` (at most `Ring::max_parked`).
    held: usize,
    /// Requests issued with the submission lock released ([`unlocked`]):
    /// in flight for a drain.
    running: usize,
    /// The ring's slot in the deadline queue (its earliest TIMEOUT or
    /// LINK_TIMEOUT fires there: [`fire`]).
    slot: Option<crate::timerq::Slot>,
    /// The deadline `slot` is armed at (`u64::MAX`: none; a later one is
    /// left as it is, a deadline gone early makes a look that finds
    /// nothing).
    armed: u64,
}

impl Inner {
    /// Parks `p` (given back when there is no room).
    fn push_parked(&mut self, p: Parked) -> Option<Parked> {
        if self.parked.try_reserve(1).is_err() {
            return Some(p);
        }
        if p.drain {
            self.draining += 1;
        }
        self.held += p.weight();
        if let Some(d) = p.deadline() {
            self.arm(d);
        }
        self.parked.push(p);
        None
    }

    /// Makes the deadline queue look at this ring by `d` (the queue's
    /// lock, a leaf, taken under `inner`).
    fn arm(&mut self, d: u64) {
        if d < self.armed
            && let Some(s) = &self.slot
        {
            self.armed = d;
            crate::timerq::arm(s, d);
        }
    }

    /// Takes parked request `i`.
    fn take_parked(&mut self, i: usize) -> Parked {
        let p = self.parked.swap_remove(i);
        if p.drain {
            self.draining -= 1;
        }
        self.held = self.held.saturating_sub(p.weight());
        p
    }
}

/// An io_uring instance.
pub struct Ring {
    g: Geometry,
    /// io_uring_setup's flags.
    setup_flags: u32,
    rings_mem: Pages,
    sqes_mem: Pages,
    inner: Mutex<Inner>,
    /// Waiters in io_uring_enter and pollers of the ring fd.
    wq: Arc<WaitQueue>,
    /// Bumped by each batch of CQEs and each relay (epoll's
    /// edge-triggered look sees new readiness: a relay makes task work due,
    /// which the fd polls as POLLIN).
    events: Arc<AtomicU64>,
    /// The submission lock (Linux's `uring_lock`): a flag slept on.
    submit: AtomicBool,
    submit_wq: WaitQueue,
    /// The status flags (`O_RDWR`).
    flags: AtomicU32,
    owner: vfs::FileOwner,
    max_parked: usize,
    /// The creator's real uid when it lacked CAP_IPC_LOCK: registered
    /// buffers are charged to that user's RLIMIT_MEMLOCK count (Linux's
    /// `ctx->user`).
    user: Option<u32>,
    /// Its key in [`TIMED`] (the deadline queue's owner).
    tkey: Option<u32>,
}

/// The ring behind a file, if it is one.
pub fn as_ring(f: &dyn File) -> Option<&Ring> {
    f.as_any()?.downcast_ref::<Ring>()
}

/// What issuing one request gave.
enum Issue {
    /// Finished with this result (and CQE flags).
    Done(i32),
    /// Waits: parked with this.
    Park(Wait),
}

fn neg(e: Errno) -> i32 {
    let e = if e.is_restart() { Errno::EINTR } else { e };
    -e.as_i32()
}

fn res_of(r: SysResult) -> i32 {
    match r {
        Ok(n) => n.clamp(i32::MIN as isize, i32::MAX as isize) as i32,
        Err(e) => neg(e),
    }
}

struct SubmitGuard<'a>(&'a Ring);

impl Drop for SubmitGuard<'_> {
    fn drop(&mut self) {
        self.0.submit.store(false, Ordering::Release);
        self.0.submit_wq.wake_all();
    }
}

impl Ring {
    /// Whether a completion of this ring is its submitter's task work that
    /// ends its sleeps (Linux's `TWA_SIGNAL`, and `TWA_SIGNAL_NO_IPI` with
    /// `IORING_SETUP_COOP_TASKRUN`, which wakes a sleeper all the same);
    /// not with `IORING_SETUP_DEFER_TASKRUN` (the work is the ring's, run
    /// by io_uring_enter).
    fn task_work_notifies(&self) -> bool {
        setup::notify(self.setup_flags) != setup::Notify::Deferred
    }

    fn lock_submit(&self, tid: u32) -> Result<SubmitGuard<'_>> {
        loop {
            if !self.submit.swap(true, Ordering::Acquire) {
                return Ok(SubmitGuard(self));
            }
            crate::proc::sleep_on(tid, &[&self.submit_wq], || !self.submit.load(Ordering::Acquire), None)?;
        }
    }

    fn try_lock_submit(&self) -> Option<SubmitGuard<'_>> {
        if self.submit.swap(true, Ordering::Acquire) { None } else { Some(SubmitGuard(self)) }
    }

    /// Runs blocking work `f` of a request being issued (the caller holds
    /// the submission lock) with that lock released, so that other
    /// submitters and the waiters' task work go on meanwhile (Linux hands
    /// such a request to an io-wq worker); taken back after, without giving
    /// up on a signal (no holder blocks: it is only held across work that
    /// does not wait).
    fn unlocked<R>(&self, f: impl FnOnce() -> R) -> R {
        self.inner.lock().running += 1;
        self.submit.store(false, Ordering::Release);
        self.submit_wq.wake_all();
        // (task work told meanwhile does not interrupt it: an O_CREAT open
        // of a FIFO is not made -EINTR by a pipe read that woke; it runs
        // on the way out)
        let masked = crate::sched::mask_notify(true);
        let r = f();
        crate::sched::mask_notify(masked);
        while self.submit.swap(true, Ordering::Acquire) {
            crate::sched::wait_any(&[&self.submit_wq], || !self.submit.load(Ordering::Acquire), None);
        }
        let idle = {
            let mut inner = self.inner.lock();
            inner.running -= 1;
            inner.running == 0
        };
        if idle {
            kick_drained(self);
        }
        r
    }

    /// Posts a CQE (the caller holds `inner`); `timeout`: it is a
    /// timeout's (not counted for TIMEOUT's count).
    fn post_locked(&self, inner: &mut Inner, user_data: u64, res: i32, flags: u32, timeout: bool) {
        inner.rings.post(&self.rings_mem, &Cqe { user_data, res, flags });
        if timeout {
            inner.timeouts += 1;
        } else {
            inner.posted += 1;
        }
        inner.unsignalled += 1;
    }

    /// Posts a CQE unless `IOSQE_CQE_SKIP_SUCCESS` skips it.
    fn post(&self, sqe: &Sqe, res: i32, flags: u32) {
        if sqe.flags & sqe_flags::CQE_SKIP_SUCCESS != 0 && res >= 0 {
            return;
        }
        let timeout = sqe.opcode == op::TIMEOUT || sqe.opcode == op::LINK_TIMEOUT;
        let mut inner = self.inner.lock();
        self.post_locked(&mut inner, sqe.user_data, res, flags, timeout);
    }

    /// After posting: the eventfd signalled and the waiters woken, no lock
    /// held.
    fn signal(&self) {
        let (n, efd) = {
            let mut inner = self.inner.lock();
            let n = core::mem::take(&mut inner.unsignalled);
            (n, if n > 0 && !inner.eventfd_async { inner.eventfd.clone() } else { None })
        };
        if n > 0 {
            if let Some(e) = efd {
                crate::eventfd::signal(&*e, 1);
            }
            self.events.fetch_add(1, Ordering::SeqCst);
            self.wq.wake_all();
        }
    }

    /// A completion Linux makes in an io-wq worker: an eventfd registered
    /// with `_ASYNC` is signalled (no lock held).
    fn signal_async(&self) {
        let efd = {
            let inner = self.inner.lock();
            if inner.eventfd_async { inner.eventfd.clone() } else { None }
        };
        if let Some(e) = efd {
            crate::eventfd::signal(&*e, 1);
        }
    }

    fn cq_ready(&self) -> u32 {
        self.inner.lock().rings.cq_ready(&self.rings_mem)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        let inner = self.inner.get_mut();
        for p in inner.parked.drain(..) {
            p.disarm();
        }
        if let Some(uid) = self.user {
            uncharge_locked(uid, inner.bufs_pages);
        }
        if let Some(k) = self.tkey {
            let mut timed = TIMED.lock();
            if let Some(e) = timed.rings.get_mut(k as usize) {
                *e = None;
                // (room reserved when the key was made)
                timed.free.push(k);
            }
        }
        // (the deadline queue's slot drops with `inner`)
    }
}

/// The rings with a slot in the deadline queue, by key (the slot's
/// [`crate::timerq::Owner::Uring`]); weakly: the tick's look-up upgrades
/// outside the lock.
struct Timed {
    rings: Vec<Option<Weak<Ring>>>,
    /// Free keys (room for every key).
    free: Vec<u32>,
}

static TIMED: Ranked<Timed> =
    Ranked::new(LockClass::UringTimed, "io_uring::TIMED", Timed { rings: Vec::new(), free: Vec::new() });

/// A key in [`TIMED`] (its entry empty until the ring exists).
fn timed_key() -> Result<u32> {
    let mut timed = TIMED.lock();
    if let Some(k) = timed.free.pop() {
        return Ok(k);
    }
    let n = timed.rings.len();
    if n >= u32::MAX as usize - 1 {
        return Err(Errno::ENOMEM);
    }
    let t = &mut *timed;
    t.rings.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    t.free.try_reserve(n + 1 - t.free.len()).map_err(|_| Errno::ENOMEM)?;
    t.rings.push(None);
    Ok(n as u32)
}

/// The deadline queue popped ring `key`'s slot: its due TIMEOUTs and
/// LINK_TIMEOUTs complete now, with their CQEs and eventfd (Linux's
/// hrtimer callbacks), the rest of their chains left to their owners
/// (told), and the slot is armed again at the next deadline. The tick's
/// context: no lock held, no user memory touched.
pub fn fire(key: u32) {
    let w = TIMED.lock().rings.get(key as usize).and_then(|e| e.clone());
    let Some(ring) = w.and_then(|w| w.upgrade()) else { return };
    ring.inner.lock().armed = u64::MAX;
    complete_due(&ring, due_timer);
    {
        let mut inner = ring.inner.lock();
        if let Some(d) = inner.parked.iter().filter_map(|p| p.deadline()).min() {
            inner.arm(d);
        }
    }
    ring.signal();
    // (the last reference may go here: the ring's drop takes TIMED, not
    // held)
}

/// CAP_IPC_LOCK.
const CAP_IPC_LOCK: u32 = 14;

/// The pages of registered buffers charged per user (Linux's
/// `user_struct.locked_vm` as io_uring counts it), only users with some
/// charged: a leaf spin lock.
static LOCKED_VM: Mutex<Vec<(u32, u64)>> = Mutex::new(Vec::new());

/// __io_account_mem: charges `pages` to `uid` unless its count would pass
/// `limit` pages (`ENOMEM`).
fn charge_locked(uid: u32, pages: u64, limit: u64) -> Result<()> {
    if pages == 0 {
        return Ok(());
    }
    let mut users = LOCKED_VM.lock();
    let i = crate::proc::user_slot(&mut users, uid)?;
    let new = users[i].1.saturating_add(pages);
    if new > limit {
        if users[i].1 == 0 {
            users.swap_remove(i);
        }
        return Err(Errno::ENOMEM);
    }
    users[i].1 = new;
    Ok(())
}

/// Gives back what [`charge_locked`] charged.
fn uncharge_locked(uid: u32, pages: u64) {
    if pages == 0 {
        return;
    }
    let mut users = LOCKED_VM.lock();
    if let Some(i) = users.iter().position(|(u, _)| *u == uid) {
        users[i].1 = users[i].1.saturating_sub(pages);
        if users[i].1 == 0 {
            users.swap_remove(i);
        }
    }
}

impl File for Ring {
    fn owner(&self) -> &vfs::FileOwner {
        &self.owner
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

    fn stat(&self) -> Result<vfs::Stat> {
        Ok(crate::eventfd::anon_stat())
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    crate::eventfd::status_flags_methods!();

    fn poll(&self) -> u32 {
        let inner = self.inner.lock();
        let mut m = 0;
        if !inner.rings.sq_full(&self.rings_mem) {
            m |= vfs::POLLOUT | vfs::POLLWRNORM;
        }
        // io_uring_poll: CQEs, overflowed ones, or work an io_uring_enter
        // would run (6.1's io_has_work for a DEFER_TASKRUN ring, which is
        // how this kernel runs every ring: the poller is told to enter)
        let now = crate::sched::now_ns();
        if inner.rings.cq_ready(&self.rings_mem) > 0
            || inner.rings.overflowed() > 0
            || inner.parked.iter().any(|p| due_any(p, now, inner.posted) || due_anyone(p))
        {
            m |= vfs::POLLIN | vfs::POLLRDNORM;
        }
        m
    }

    fn event_count(&self) -> u64 {
        self.events.load(Ordering::SeqCst)
    }

    fn wait_queue(&self) -> Option<Arc<dyn vfs::WaitQueue>> {
        Some(self.wq.clone())
    }
}

// ----- io_uring_setup -----

/// io_uring_setup(2): `u32 entries, struct io_uring_params *p`.
pub fn io_uring_setup(t: &mut UThread, entries: u32, up: u64) -> SysResult {
    let mut raw = [0u8; abi::PARAMS_LEN];
    t.read_into(up, &mut raw)?;
    let mut p = Params::from_bytes(&raw);
    if p.resv.iter().any(|&w| w != 0) || p.flags & !setup::KNOWN != 0 {
        return Err(Errno::EINVAL);
    }
    let g = Geometry::new(entries, &p)?;
    if p.flags & !OFFERED != 0 {
        log::warn!("pid {}: io_uring_setup flags {:#x} not supported (EINVAL)", t.pid, p.flags & !OFFERED);
        return Err(Errno::EINVAL);
    }
    // io_sq_offload_create: SQ_AFF only with SQPOLL, an online CPU
    if p.flags & setup::SQ_AFF != 0
        && (p.flags & setup::SQPOLL == 0 || p.sq_thread_cpu as usize >= crate::sched::nr_cpus())
    {
        return Err(Errno::EINVAL);
    }
    // io_uring_create: the IPI-related flags make no sense with SQPOLL
    if p.flags & setup::SQPOLL != 0
        && p.flags & (setup::COOP_TASKRUN | setup::TASKRUN_FLAG | setup::DEFER_TASKRUN) != 0
    {
        return Err(Errno::EINVAL);
    }
    if p.flags & setup::DEFER_TASKRUN != 0 && p.flags & setup::SINGLE_ISSUER == 0 {
        return Err(Errno::EINVAL);
    }
    if p.flags & setup::TASKRUN_FLAG != 0 && p.flags & (setup::COOP_TASKRUN | setup::DEFER_TASKRUN) == 0 {
        return Err(Errno::EINVAL);
    }
    if p.flags & setup::ATTACH_WQ != 0 {
        let f = t.fd(Fd(p.wq_fd))?;
        if as_ring(&*f).is_none() {
            return Err(Errno::EINVAL);
        }
    }
    let user = crate::proc::table()
        .with_process(t.pid, |p| (!p.creds().has_cap(CAP_IPC_LOCK)).then_some(p.creds().uid))
        .ok_or(Errno::ESRCH)?;
    let rings = alloc_region(g.rings_pages())?;
    let sqes = alloc_region(g.sqes_pages())?;
    let rings_mem = Pages(rings);
    let max_parked = MAX_PARKED.max(g.cq_entries as usize);
    let mut r = Rings::new(g, &rings_mem, g.cq_entries as usize);
    if p.flags & setup::SQPOLL != 0 {
        r.set_sq_flag(&rings_mem, abi::sq_flags::NEED_WAKEUP);
    }
    let disabled = p.flags & setup::R_DISABLED != 0;
    let submitter = (p.flags & setup::SINGLE_ISSUER != 0 && !disabled).then_some(t.tid);
    let tkey = timed_key()?;
    let slot = match crate::timerq::alloc(crate::timerq::Owner::Uring(tkey)) {
        Ok(s) => s,
        Err(e) => {
            TIMED.lock().free.push(tkey);
            return Err(e);
        }
    };
    let ring = Ring {
        g,
        setup_flags: p.flags,
        rings_mem,
        sqes_mem: Pages(sqes),
        inner: Mutex::new(Inner {
            rings: r,
            disabled,
            files: Vec::new(),
            bufs: Vec::new(),
            bufs_pages: 0,
            parked: Vec::new(),
            deferred: Deferred::new(max_parked),
            draining: 0,
            eventfd: None,
            eventfd_async: false,
            submitter,
            posted: 0,
            timeouts: 0,
            unsignalled: 0,
            held: 0,
            running: 0,
            slot: Some(slot),
            armed: u64::MAX,
        }),
        wq: Arc::new(WaitQueue::new()),
        events: Arc::new(AtomicU64::new(0)),
        submit: AtomicBool::new(false),
        submit_wq: WaitQueue::new(),
        flags: AtomicU32::new(vfs::O_RDWR),
        owner: vfs::FileOwner::new(),
        max_parked,
        user,
        tkey: Some(tkey),
    };
    let (sq_off, cq_off) = g.offsets();
    p.sq_entries = g.sq_entries;
    p.cq_entries = g.cq_entries;
    p.features = FEATURES;
    p.sq_off = sq_off;
    p.cq_off = cq_off;
    let ring = Arc::new(ring);
    if let Some(e) = TIMED.lock().rings.get_mut(tkey as usize) {
        *e = Some(Arc::downgrade(&ring));
    }
    t.write_slice(up, &p.to_bytes())?;
    let file: Arc<dyn File> = ring;
    // O_RDWR | O_CLOEXEC, as io_uring_install_fd
    super::fs::install(t, file, true)
}

/// mmap of a ring fd: `IORING_OFF_SQ_RING`/`CQ_RING` (the rings) or
/// `IORING_OFF_SQES`.
pub fn mmap_ring(
    t: &mut UThread,
    ring: &Ring,
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    off: u64,
) -> SysResult {
    // io_uring_mmu_get_unmapped_area (Debian's 6.1) turns a request
    // io_uring_validate_mmap_request refuses into ENOMEM
    let region = ring.g.mmap_region(off, len as usize).map_err(|_| Errno::ENOMEM)?;
    let pages = match region {
        Region::Rings => ring.rings_mem.0.clone(),
        Region::Sqes => ring.sqes_mem.0.clone(),
    };
    let map =
        vm::MapFile::new(pages as Arc<dyn vm::PageSource>, "anon_inode:[io_uring]").with_access(true, true);
    let lim = t.space_limits();
    Ok(t.vm.lock().limited(lim).mmap(
        addr as usize,
        len as usize,
        prot as usize,
        flags as usize,
        Some(map),
        0,
    )? as isize)
}

// ----- io_uring_enter -----

fn ring_of(t: &UThread, fd: u32) -> Result<Arc<dyn File>> {
    let f = t.fd(Fd(fd))?;
    if as_ring(&*f).is_none() {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(f)
}

/// io_uring_enter(2): `fd, to_submit, min_complete, flags, arg, argsz`.
pub fn io_uring_enter(
    t: &mut UThread,
    fd: u32,
    to_submit: u32,
    min_complete: u32,
    flags: u32,
    arg: u64,
    argsz: usize,
) -> SysResult {
    if flags & !enter::KNOWN != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & enter::REGISTERED_RING != 0 {
        // no registered ring fds (IORING_REGISTER_RING_FDS is not offered)
        return Err(Errno::EINVAL);
    }
    let file = ring_of(t, fd)?;
    let ring = as_ring(&*file).ok_or(Errno::EOPNOTSUPP)?;
    let sqpoll = ring.setup_flags & setup::SQPOLL != 0;
    {
        let inner = ring.inner.lock();
        if inner.disabled {
            return Err(Errno::EBADFD);
        }
        if to_submit > 0 && !sqpoll && inner.submitter.is_some_and(|s| s != t.tid) {
            return Err(Errno::EEXIST);
        }
    }
    let tc = tctx_of(t)?;
    let mut submitted = 0u32;
    if sqpoll {
        // the SQ thread, woken: it takes every SQE there is (its errors
        // go nowhere); io_uring_enter answers to_submit
        note_ring(&tc, &file)?;
        let g = ring.lock_submit(t.tid)?;
        let _ = submit(t, ring, ring.g.sq_entries, &tc);
        run_parked(t, ring, &tc);
        drop(g);
        ring.signal();
        submitted = to_submit;
    } else if to_submit > 0 {
        note_ring(&tc, &file)?;
        let g = ring.lock_submit(t.tid)?;
        let r = submit(t, ring, to_submit.min(ring.g.sq_entries), &tc);
        run_parked(t, ring, &tc);
        drop(g);
        ring.signal();
        match r {
            Ok(n) => submitted = n,
            Err(e) => return Err(e),
        }
        // (compared with what was asked, as Linux: more than the SQ size
        // never waits)
        if submitted != to_submit {
            return Ok(submitted as isize);
        }
    }
    if flags & enter::GETEVENTS != 0 {
        if ring.setup_flags & setup::DEFER_TASKRUN != 0
            && ring.inner.lock().submitter.is_some_and(|s| s != t.tid)
        {
            return if submitted > 0 { Ok(submitted as isize) } else { Err(Errno::EEXIST) };
        }
        let r = wait(t, ring, &tc, min_complete.min(ring.g.cq_entries), flags, arg, argsz);
        if submitted > 0 {
            return Ok(submitted as isize);
        }
        return r.map(|_| 0);
    } else if to_submit == 0 {
        // task work of this caller, flushed overflow
        complete_ready(ring);
        if let Some(g) = ring.try_lock_submit() {
            run_parked(t, ring, &tc);
            drop(g);
        }
        ring.inner.lock().rings.flush_overflow(&ring.rings_mem);
        ring.signal();
    }
    Ok(submitted as isize)
}

/// io_submit_sqes: consumes up to `nr` SQEs; the number submitted, or the
/// first one's error (`EAGAIN`/`EBUSY` when none could be).
fn submit(t: &mut UThread, ring: &Ring, nr: u32, tc: &Arc<Tctx>) -> Result<u32> {
    let mut done = 0u32;
    let mut chain: VecDeque<Sqe> = VecDeque::new();
    {
        let mut inner = ring.inner.lock();
        inner.rings.flush_overflow(&ring.rings_mem);
    }
    while done < nr {
        let slot = {
            let mut inner = ring.inner.lock();
            // the SQEs parked requests and drained chains hold, and this
            // chain's, are bounded
            if inner.held + chain.len() >= ring.max_parked {
                drop(inner);
                if done == 0 && chain.is_empty() {
                    return Err(Errno::EBUSY);
                }
                break;
            }
            let s = inner.rings.next_sqe(&ring.rings_mem);
            inner.rings.commit_sq(&ring.rings_mem);
            s
        };
        let idx = match slot {
            SqSlot::Empty | SqSlot::Dropped => break,
            SqSlot::Index(i) => i,
        };
        let sqe = { ring.inner.lock().rings.read_sqe(&ring.sqes_mem, idx) };
        done += 1;
        // io_init_req's checks: a bad one fails (with its chain)
        if let Err(e) = init_check(ring, &sqe).and_then(|_| prep_check(t, ring, &sqe, chain.is_empty())) {
            // io_submit_fail_init: the bad one fails with its error, the
            // chain it ends or belongs to is cancelled
            for s in chain.drain(..) {
                ring.post(&s, -Errno::ECANCELED.as_i32(), 0);
            }
            ring.post(&sqe, -e.as_i32(), 0);
            ring.signal();
            if ring.setup_flags & setup::SUBMIT_ALL == 0 {
                break;
            }
            continue;
        }
        let links = sqe.links();
        if chain.try_reserve(1).is_err() {
            fail_chain(ring, core::mem::take(&mut chain), Errno::ENOMEM);
            break;
        }
        chain.push_back(sqe);
        if links {
            continue;
        }
        start_chain(t, ring, core::mem::take(&mut chain), tc);
        ring.signal();
        crate::sched::cond_resched();
    }
    // a chain whose last SQE still linked: issued as it is (Linux issues
    // the chain at the end of the batch)
    if !chain.is_empty() {
        start_chain(t, ring, chain, tc);
        ring.signal();
    }
    Ok(done)
}

/// io_init_req's checks of one SQE (`EINVAL`: unknown flags or opcode,
/// a personality not registered, buffer selection).
fn init_check(_ring: &Ring, sqe: &Sqe) -> Result<()> {
    if sqe.flags & !sqe_flags::VALID != 0 {
        return Err(Errno::EINVAL);
    }
    if sqe.opcode >= op::LAST {
        return Err(Errno::EINVAL);
    }
    if sqe.personality != 0 {
        return Err(Errno::EINVAL);
    }
    if sqe.flags & sqe_flags::BUFFER_SELECT != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The checks Linux makes in an opcode's prep (an SQE they refuse ends
/// the submission batch, as io_init_req's): fields that must be zero,
/// unknown flags, a timeout's timespec, a fixed buffer's index, a
/// LINK_TIMEOUT that follows no linked request.
#[allow(clippy::collapsible_match)] // one arm per opcode reads as Linux's preps
fn prep_check(t: &UThread, ring: &Ring, sqe: &Sqe, chain_empty: bool) -> Result<()> {
    let fixed = sqe.flags & sqe_flags::FIXED_FILE != 0;
    match sqe.opcode {
        op::READ_FIXED | op::WRITE_FIXED => {
            if usize::from(sqe.buf_index) >= ring.inner.lock().bufs.len() {
                return Err(Errno::EFAULT);
            }
        }
        op::SYNC_FILE_RANGE => {
            // io_sfr_prep
            if sqe.addr != 0 || sqe.buf_index != 0 || sqe.file_index != 0 {
                return Err(Errno::EINVAL);
            }
        }
        op::FALLOCATE => {
            // io_fallocate_prep (the length is in addr, the mode in len)
            if sqe.buf_index != 0 || sqe.op_flags != 0 || sqe.file_index != 0 {
                return Err(Errno::EINVAL);
            }
        }
        op::FADVISE => {
            // io_fadvise_prep
            if sqe.buf_index != 0 || sqe.addr != 0 || sqe.file_index != 0 {
                return Err(Errno::EINVAL);
            }
        }
        op::MADVISE => {
            // io_madvise_prep
            if sqe.buf_index != 0 || sqe.off != 0 || sqe.file_index != 0 {
                return Err(Errno::EINVAL);
            }
        }
        op::FSYNC => {
            if sqe.addr != 0 || sqe.buf_index != 0 || sqe.file_index != 0 {
                return Err(Errno::EINVAL);
            }
            if sqe.op_flags & !abi::FSYNC_DATASYNC != 0 {
                return Err(Errno::EINVAL);
            }
        }
        op::POLL_ADD => {
            if sqe.buf_index != 0 || sqe.off != 0 || sqe.addr != 0 {
                return Err(Errno::EINVAL);
            }
            if sqe.len & !(abi::poll::ADD_MULTI | abi::poll::ADD_LEVEL) != 0 {
                return Err(Errno::EINVAL);
            }
        }
        op::POLL_REMOVE => {
            if sqe.buf_index != 0 || sqe.file_index != 0 || sqe.len != 0 || sqe.op_flags != 0 {
                return Err(Errno::EINVAL);
            }
        }
        op::TIMEOUT => {
            timeout_deadline(t, sqe)?;
        }
        op::LINK_TIMEOUT => {
            if chain_empty {
                return Err(Errno::EINVAL);
            }
            timeout_deadline(t, sqe)?;
        }
        op::TIMEOUT_REMOVE | op::ASYNC_CANCEL => {
            if sqe.buf_index != 0 || sqe.len != 0 || sqe.file_index != 0 {
                return Err(Errno::EINVAL);
            }
            if sqe.opcode == op::ASYNC_CANCEL && sqe.off != 0 {
                return Err(Errno::EINVAL);
            }
        }
        op::OPENAT | op::CLOSE | op::STATX => {
            if sqe.buf_index != 0 {
                return Err(Errno::EINVAL);
            }
            if fixed {
                return Err(Errno::EBADF);
            }
            if sqe.opcode == op::CLOSE
                && (sqe.off != 0 || sqe.addr != 0 || sqe.len != 0 || sqe.op_flags != 0 || sqe.file_index != 0)
            {
                return Err(Errno::EINVAL);
            }
        }
        op::ACCEPT | op::CONNECT => {
            if sqe.len != 0 || sqe.buf_index != 0 {
                return Err(Errno::EINVAL);
            }
            if sqe.opcode == op::CONNECT && (sqe.op_flags != 0 || sqe.file_index != 0) {
                return Err(Errno::EINVAL);
            }
        }
        op::SEND | op::RECV | op::SENDMSG | op::RECVMSG => {
            if sqe.file_index != 0 || sqe.off != 0 {
                return Err(Errno::EINVAL);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Fails every member of `sqes`: the first with `e`, the rest
/// `-ECANCELED`.
fn fail_chain(ring: &Ring, sqes: VecDeque<Sqe>, e: Errno) {
    for (i, s) in sqes.iter().enumerate() {
        let res = if i == 0 { -e.as_i32() } else { -Errno::ECANCELED.as_i32() };
        ring.post(s, res, 0);
    }
}

/// A chain from the SQ: issued now, or held back by a drain.
fn start_chain(t: &mut UThread, ring: &Ring, sqes: VecDeque<Sqe>, tc: &Arc<Tctx>) {
    let drain = sqes.front().is_some_and(|s| s.flags & sqe_flags::IO_DRAIN != 0);
    let n = sqes.len();
    let admitted = {
        let mut inner = ring.inner.lock();
        let inflight = inner.parked.len() + inner.running;
        let draining = inner.draining > 0;
        let r = inner.deferred.admit(
            Chain { sqes, owner: tc.clone(), task: Arc::downgrade(&crate::sched::current()) },
            drain,
            inflight,
            draining,
        );
        if let Ok(None) = r {
            inner.held += n;
        }
        r
    };
    match admitted {
        Ok(Some(c)) => run_chain(t, ring, c.sqes, Link::new(), drain, tc),
        Ok(None) => {}
        Err(c) => fail_chain(ring, c.sqes, Errno::EBUSY),
    }
}

/// Runs the members of a chain in order until one waits (parked with the
/// rest) or the chain ends.
fn run_chain(
    t: &mut UThread,
    ring: &Ring,
    mut sqes: VecDeque<Sqe>,
    mut link: Link,
    drain: bool,
    tc: &Arc<Tctx>,
) {
    while let Some(sqe) = sqes.pop_front() {
        // a LINK_TIMEOUT right after this member belongs to it
        let lt = sqes.front().filter(|s| s.opcode == op::LINK_TIMEOUT).copied();
        if lt.is_some() {
            sqes.pop_front();
        }
        if !link.runs() {
            ring.post(&sqe, -Errno::ECANCELED.as_i32(), 0);
            if let Some(l) = lt {
                ring.post(&l, -Errno::ECANCELED.as_i32(), 0);
            }
            continue;
        }
        if sqe.opcode == op::LINK_TIMEOUT {
            // not after a linked request
            ring.post(&sqe, -Errno::EINVAL.as_i32(), 0);
            link.finished(&sqe, true);
            continue;
        }
        let lt_deadline = match lt.map(|l| timeout_deadline(t, &l)) {
            Some(Err(e)) => {
                // the LINK_TIMEOUT is bad: it fails, and so does the request
                ring.post(&sqe, -Errno::ECANCELED.as_i32(), 0);
                if let Some(l) = lt {
                    ring.post(&l, -e.as_i32(), 0);
                }
                link.finished(&sqe, true);
                continue;
            }
            Some(Ok(d)) => Some(d),
            None => None,
        };
        match issue(t, ring, &sqe) {
            Issue::Done(res) => {
                ring.post(&sqe, res, 0);
                if let Some(l) = lt {
                    ring.post(&l, -Errno::ECANCELED.as_i32(), 0);
                }
                link.finished(&sqe, fails_link(&sqe, res, expected(&sqe)));
                if link.runs()
                    && let Some(next) = sqes.pop_front()
                {
                    let p = Parked {
                        sqe: next,
                        rest: sqes,
                        link,
                        wait: Wait::Next,
                        lt: None,
                        drain: false,
                        owner: tc.clone(),
                        task: Arc::downgrade(&crate::sched::current()),
                    };
                    // (its owner runs it in this call: run_parked)
                    park(ring, p, false);
                    return;
                }
            }
            Issue::Park(wait) => {
                let p = Parked {
                    sqe,
                    rest: sqes,
                    link,
                    wait,
                    lt: lt.zip(lt_deadline),
                    drain,
                    owner: tc.clone(),
                    task: Arc::downgrade(&crate::sched::current()),
                };
                park(ring, p, false);
                return;
            }
        }
    }
}

/// Parks `p` (its file's relay is armed already); a request of an owner
/// that exited or exec'd is cancelled instead (checked under the lock
/// [`cancel_owner`] takes after marking it dead: nothing is left behind).
fn park(ring: &Ring, p: Parked, kick: bool) {
    let task = (kick && matches!(p.wait, Wait::Next)).then(|| p.task.clone());
    let mut inner = ring.inner.lock();
    let res = if p.owner.dead.load(Ordering::SeqCst) {
        -Errno::ECANCELED.as_i32()
    } else {
        let next = matches!(p.wait, Wait::Next);
        let work = matches!(p.wait, Wait::Retry { .. } | Wait::Next);
        match inner.push_parked(p) {
            None => {
                if work && ring.setup_flags & setup::TASKRUN_FLAG != 0 {
                    inner.rings.set_sq_flag(&ring.rings_mem, abi::sq_flags::TASKRUN);
                }
                drop(inner);
                if next {
                    // its owner may be waiting in io_uring_enter (or
                    // polling the fd: POLLIN now)
                    ring.events.fetch_add(1, Ordering::SeqCst);
                    ring.wq.wake_all();
                }
                // the next member of a chain another caller (or the tick)
                // finished: its owner's task work
                if let Some(task) = task {
                    notify_weak(&task);
                }
                return;
            }
            Some(p) => {
                drop(inner);
                return drop_parked(ring, p, -Errno::ENOMEM.as_i32());
            }
        }
    };
    drop(inner);
    drop_parked(ring, p, res);
}

/// Ends a request that could not be parked: `res`, its LINK_TIMEOUT and
/// the rest of its chain `-ECANCELED`.
fn drop_parked(ring: &Ring, p: Parked, res: i32) {
    p.disarm();
    ring.post(&p.sqe, res, 0);
    if let Some((l, _)) = p.lt {
        ring.post(&l, -Errno::ECANCELED.as_i32(), 0);
    }
    for s in p.rest {
        ring.post(&s, -Errno::ECANCELED.as_i32(), 0);
    }
}

/// The byte count a read or write asks for (a short one fails its link).
fn expected(sqe: &Sqe) -> Option<u32> {
    matches!(sqe.opcode, op::READ | op::WRITE | op::READ_FIXED | op::WRITE_FIXED).then_some(sqe.len)
}

/// The deadline of a TIMEOUT or LINK_TIMEOUT SQE (its `struct
/// __kernel_timespec` at `addr`): `EINVAL` for bad flags or `len`,
/// `EFAULT`.
fn timeout_deadline(t: &UThread, sqe: &Sqe) -> Result<u64> {
    use abi::timeout as tf;
    if sqe.buf_index != 0 || sqe.len != 1 || sqe.file_index != 0 {
        return Err(Errno::EINVAL);
    }
    let f = sqe.op_flags;
    if f & !(tf::ABS | tf::BOOTTIME | tf::REALTIME | tf::ETIME_SUCCESS) != 0 {
        return Err(Errno::EINVAL);
    }
    if f & tf::BOOTTIME != 0 && f & tf::REALTIME != 0 {
        return Err(Errno::EINVAL);
    }
    if sqe.opcode == op::LINK_TIMEOUT && (sqe.off != 0 || f & tf::ETIME_SUCCESS != 0) {
        return Err(Errno::EINVAL);
    }
    let ts: Timespec = t.read(UserPtr::new(sqe.addr))?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    let ns = (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64);
    let now = crate::sched::now_ns();
    Ok(if f & tf::ABS != 0 {
        if f & tf::REALTIME != 0 { ns.saturating_sub(crate::time::realtime_offset_ns()) } else { ns }
    } else {
        now.saturating_add(ns)
    })
}

/// The file of a request: a registered one with `IOSQE_FIXED_FILE`.
fn req_file(t: &UThread, ring: &Ring, sqe: &Sqe) -> Result<Arc<dyn File>> {
    if sqe.flags & sqe_flags::FIXED_FILE != 0 {
        let inner = ring.inner.lock();
        return inner.files.get(sqe.fd as u32 as usize).and_then(|f| f.clone()).ok_or(Errno::EBADF);
    }
    t.fd(Fd(sqe.fd as u32))
}

/// The fd a request on a file names to the system calls' paths: its own,
/// or for a registered file (`IOSQE_FIXED_FILE`) [`FIXED_FD`] with the
/// file in `t.fixed_file` (`EBADF` for an empty slot). The caller clears
/// `t.fixed_file` after the call.
fn fixed_fd(t: &mut UThread, ring: &Ring, sqe: &Sqe) -> Result<Fd> {
    if sqe.flags & sqe_flags::FIXED_FILE == 0 {
        return Ok(Fd(sqe.fd as u32));
    }
    t.fixed_file = Some(req_file(t, ring, sqe)?);
    Ok(Fd(FIXED_FD))
}

/// Issues one request.
fn issue(t: &mut UThread, ring: &Ring, sqe: &Sqe) -> Issue {
    match issue_inner(t, ring, sqe) {
        Ok(i) => i,
        Err(e) => Issue::Done(neg(e)),
    }
}

const MSG_DONTWAIT: u32 = 0x40;

fn issue_inner(t: &mut UThread, ring: &Ring, sqe: &Sqe) -> Result<Issue> {
    match sqe.opcode {
        op::NOP => Ok(Issue::Done(0)),
        op::TIMEOUT => {
            let deadline = timeout_deadline(t, sqe)?;
            // the count is a u32, as Linux's io_timeout.off (`1 << 32`: no
            // count; `~0`: 4294967295 completions)
            let count = sqe.off as u32;
            let target = (count != 0).then(|| ring.inner.lock().posted.saturating_add(u64::from(count)));
            Ok(Issue::Park(Wait::Timeout { deadline, target }))
        }
        op::TIMEOUT_REMOVE => timeout_remove(t, ring, sqe).map(Issue::Done),
        op::POLL_REMOVE => {
            if sqe.buf_index != 0 || sqe.file_index != 0 || sqe.len != 0 || sqe.op_flags != 0 {
                return Err(Errno::EINVAL);
            }
            cancel(ring, |p| matches!(p.wait, Wait::Poll { .. }) && p.sqe.user_data == sqe.addr, false)
                .map(|_| Issue::Done(0))
        }
        op::ASYNC_CANCEL => async_cancel(t, ring, sqe).map(Issue::Done),
        op::OPENAT | op::CLOSE | op::STATX => {
            if sqe.flags & sqe_flags::FIXED_FILE != 0 {
                return Err(Errno::EBADF);
            }
            if sqe.buf_index != 0 {
                return Err(Errno::EINVAL);
            }
            let r = match sqe.opcode {
                op::OPENAT => {
                    if sqe.file_index != 0 {
                        // direct descriptors are not offered
                        return Err(Errno::EINVAL);
                    }
                    let flags = sqe.op_flags;
                    if flags & (vfs::O_TRUNC | vfs::O_CREAT | vfs::O_TMPFILE_BIT) != 0 {
                        // (Linux hands these to an io-wq worker at once;
                        // here they run with the submission lock released)
                        ring.unlocked(|| {
                            super::fs::openat(t, DirFd::from_int(sqe.fd), UserCStr(sqe.addr), flags, sqe.len)
                        })
                    } else {
                        // io_openat2's non-blocking issue: opened with
                        // O_NONBLOCK (a FIFO's read side opens at once, its
                        // write side with no reader is ENXIO), which is taken
                        // away again unless asked for
                        let r = super::fs::openat(
                            t,
                            DirFd::from_int(sqe.fd),
                            UserCStr(sqe.addr),
                            flags | vfs::O_NONBLOCK,
                            sqe.len,
                        );
                        if let Ok(fd) = r
                            && flags & vfs::O_NONBLOCK == 0
                            && let Ok(f) = t.fd(Fd(fd as u32))
                        {
                            f.owner().with_setfl(|| f.set_status_flags(f.status_flags() & !vfs::O_NONBLOCK));
                        }
                        r
                    }
                }
                op::CLOSE => {
                    if sqe.off != 0
                        || sqe.addr != 0
                        || sqe.len != 0
                        || sqe.op_flags != 0
                        || sqe.file_index != 0
                    {
                        return Err(Errno::EINVAL);
                    }
                    let f = t.fd(Fd(sqe.fd as u32))?;
                    if as_ring(&*f).is_some() {
                        return Err(Errno::EBADF);
                    }
                    drop(f);
                    ring.unlocked(|| super::fs::close(t, Fd(sqe.fd as u32)))
                }
                _ => {
                    if sqe.file_index != 0 {
                        return Err(Errno::EINVAL);
                    }
                    ring.unlocked(|| {
                        super::fs_extra::statx(
                            t,
                            DirFd::from_int(sqe.fd),
                            UserCStr(sqe.addr),
                            sqe.op_flags,
                            sqe.len,
                            UserPtr::new(sqe.off),
                        )
                    })
                }
            };
            Ok(Issue::Done(res_of(r)))
        }
        op::SYNC_FILE_RANGE | op::FALLOCATE => {
            // a registered file (IOSQE_FIXED_FILE, opdef.c's needs_file)
            // through FIXED_FD, as run_op
            let fd = fixed_fd(t, ring, sqe)?;
            // both may write back or allocate: off the submission lock
            let r = ring.unlocked(|| {
                if sqe.opcode == op::SYNC_FILE_RANGE {
                    // sync_file_range(req->file, off, len, flags)
                    super::fs_extra::sync_file_range(t, fd, sqe.off as i64, i64::from(sqe.len), sqe.op_flags)
                } else {
                    // vfs_fallocate(req->file, mode, off, len)
                    super::fs_extra::fallocate(t, fd, sqe.len as i32, sqe.off as i64, sqe.addr as i64)
                }
            });
            t.fixed_file = None;
            Ok(Issue::Done(res_of(r)))
        }
        op::FADVISE => {
            // vfs_fadvise(req->file, off, len, advice): fadvise64(2)'s checks
            let fd = fixed_fd(t, ring, sqe)?;
            let r = super::fs_extra::fadvise64(t, fd, sqe.off as i64, sqe.len as usize, sqe.op_flags as i32);
            t.fixed_file = None;
            Ok(Issue::Done(res_of(r)))
        }
        op::MADVISE => {
            // do_madvise(current->mm, addr, len, advice): madvise(2)'s
            let r = ring.unlocked(|| super::mm::madvise(t, sqe.addr, sqe.len as usize, sqe.op_flags as i32));
            Ok(Issue::Done(res_of(r)))
        }
        o if supported(o) => file_op(t, ring, sqe),
        _ => {
            log::info!("pid {}: io_uring opcode {} not supported (EINVAL)", t.pid, sqe.opcode);
            Err(Errno::EINVAL)
        }
    }
}

/// A request on a file: issued without blocking when the file has a wait
/// queue (parked on `EAGAIN`), inline otherwise.
fn file_op(t: &mut UThread, ring: &Ring, sqe: &Sqe) -> Result<Issue> {
    let file = req_file(t, ring, sqe)?;
    let queue = crate::sched::queue_of(&*file);
    if sqe.opcode == op::POLL_ADD {
        use abi::poll as pf;
        if sqe.buf_index != 0 || sqe.off != 0 || sqe.addr != 0 {
            return Err(Errno::EINVAL);
        }
        if sqe.len & !(pf::ADD_MULTI | pf::ADD_LEVEL) != 0 {
            return Err(Errno::EINVAL);
        }
        let events = sqe.op_flags | vfs::POLLERR | vfs::POLLHUP;
        let mask = file.poll() & events;
        let multi = sqe.len & pf::ADD_MULTI != 0;
        if mask != 0 && !multi {
            return Ok(Issue::Done(mask as i32));
        }
        let Some(q) = queue else {
            return Ok(Issue::Done(mask as i32));
        };
        let hook = Hook::new(ring, mask != 0);
        q.add_relay(&hook);
        return Ok(Issue::Park(Wait::Poll { file: Held::new(file), queue: q, hook, events, multi }));
    }
    let user_nowait = matches!(sqe.opcode, op::SEND | op::RECV | op::SENDMSG | op::RECVMSG)
        && sqe.op_flags & MSG_DONTWAIT != 0;
    match queue {
        Some(q) => {
            // the relay first: a wake-up between the try and the arming is
            // not lost
            let hook = Hook::new(ring, false);
            q.add_relay(&hook);
            let r = run_op(t, ring, sqe, &file, true);
            if r == Err(Errno::EAGAIN) && !user_nowait {
                return Ok(Issue::Park(Wait::Retry { file: Held::new(file), queue: q, hook }));
            }
            q.remove_relay(&hook);
            Ok(Issue::Done(res_of(r)))
        }
        // a regular file: its I/O may wait for the disk
        None => Ok(Issue::Done(res_of(ring.unlocked(|| run_op(t, ring, sqe, &file, false))))),
    }
}

/// Runs a file request once through the system calls' paths (`nowait`:
/// a sleep answers `EAGAIN`).
fn run_op(t: &mut UThread, ring: &Ring, sqe: &Sqe, file: &Arc<dyn File>, nowait: bool) -> SysResult {
    let task = crate::sched::current();
    crate::sched::set_nowait(&task, nowait);
    t.fixed_file = Some(file.clone());
    let r = run_op_inner(t, ring, sqe, file);
    t.fixed_file = None;
    // (the last reference may go here: the buffer was unregistered
    // meanwhile; no lock is held)
    t.fixed_buf = None;
    crate::sched::set_nowait(&task, false);
    r
}

fn run_op_inner(t: &mut UThread, ring: &Ring, sqe: &Sqe, file: &Arc<dyn File>) -> SysResult {
    let fd = Fd(FIXED_FD);
    let seekable = !matches!(file.lseek(0, vfs::SEEK_CUR), Err(Errno::ESPIPE));
    let off = sqe.off as i64;
    let cur = off == -1 || !seekable;
    match sqe.opcode {
        op::READ | op::WRITE | op::READ_FIXED | op::WRITE_FIXED => {
            if sqe.opcode == op::READ_FIXED || sqe.opcode == op::WRITE_FIXED {
                // the copies go to its pinned pages (run_op clears it)
                t.fixed_buf = Some(check_fixed_buf(ring, sqe)?);
            } else if sqe.buf_index != 0 {
                return Err(Errno::EINVAL);
            }
            let buf = UserSlice::new(sqe.addr, sqe.len as usize);
            let write = sqe.opcode == op::WRITE || sqe.opcode == op::WRITE_FIXED;
            let r = match (write, cur) {
                (false, true) => super::fs::read(t, fd, buf),
                (false, false) => super::fs::pread(t, fd, buf, off),
                (true, true) => super::fs::write(t, fd, buf),
                (true, false) => super::fs::pwrite(t, fd, buf, off),
            };
            account(t, write, &r);
            r
        }
        op::READV | op::WRITEV => {
            if sqe.buf_index != 0 {
                return Err(Errno::EINVAL);
            }
            let iov = UserPtr::<Iovec>::new(sqe.addr);
            let n = u64::from(sqe.len);
            let write = sqe.opcode == op::WRITEV;
            let flags = sqe.op_flags;
            let r = match (write, !seekable) {
                (false, true) => super::fs::readv(t, fd, iov, n),
                (true, true) => super::fs::writev(t, fd, iov, n),
                (false, false) => super::fs::preadv(t, fd, iov, n, off, Some(flags)),
                (true, false) => super::fs::pwritev(t, fd, iov, n, off, Some(flags)),
            };
            account(t, write, &r);
            r
        }
        op::FSYNC => {
            if sqe.addr != 0 || sqe.buf_index != 0 || sqe.file_index != 0 {
                return Err(Errno::EINVAL);
            }
            if sqe.op_flags & !abi::FSYNC_DATASYNC != 0 {
                return Err(Errno::EINVAL);
            }
            super::fs_extra::fsync(t, fd)
        }
        op::SEND => crate::net::sendto(
            t,
            fd,
            UserSlice::new(sqe.addr, sqe.len as usize),
            sqe.op_flags,
            UserPtr::new(0),
            0,
        ),
        op::RECV => crate::net::recvfrom(
            t,
            fd,
            UserSlice::new(sqe.addr, sqe.len as usize),
            sqe.op_flags,
            UserPtr::new(0),
            UserPtr::new(0),
        ),
        op::SENDMSG => crate::net::sendmsg(t, fd, UserPtr::<MsgHdr>::new(sqe.addr), sqe.op_flags),
        op::RECVMSG => crate::net::recvmsg(t, fd, UserPtr::<MsgHdr>::new(sqe.addr), sqe.op_flags),
        op::ACCEPT => {
            if sqe.len != 0 || sqe.buf_index != 0 {
                return Err(Errno::EINVAL);
            }
            crate::net::accept4(t, fd, UserPtr::new(sqe.addr), UserPtr::new(sqe.off), sqe.op_flags as i32)
        }
        op::CONNECT => {
            if sqe.len != 0 || sqe.buf_index != 0 || sqe.op_flags != 0 {
                return Err(Errno::EINVAL);
            }
            match crate::net::connect(t, fd, UserPtr::new(sqe.addr), sqe.off as i32) {
                // a connection under way: wait for it as a retry, whose
                // EISCONN is the success
                Err(Errno::EINPROGRESS) | Err(Errno::EALREADY) => Err(Errno::EAGAIN),
                Err(Errno::EISCONN) if crate::sched::current_nowait() => Ok(0),
                r => r,
            }
        }
        _ => Err(Errno::EINVAL),
    }
}

/// /proc/PID/io of a read or write request.
fn account(t: &UThread, write: bool, r: &SysResult) {
    let n = match r {
        Ok(n) => *n as u64,
        Err(_) => 0,
    };
    if write { t.cpu.io_write(n) } else { t.cpu.io_read(n) }
}

/// READ_FIXED/WRITE_FIXED: the range must lie in registered buffer
/// `buf_index` (`EFAULT`).
fn check_fixed_buf(ring: &Ring, sqe: &Sqe) -> Result<Arc<FixedBuf>> {
    let inner = ring.inner.lock();
    let b = inner.bufs.get(usize::from(sqe.buf_index)).ok_or(Errno::EFAULT)?;
    let end = sqe.addr.checked_add(u64::from(sqe.len)).ok_or(Errno::EFAULT)?;
    if sqe.addr < b.base || end > b.base + b.len {
        return Err(Errno::EFAULT);
    }
    Ok(b.clone())
}

/// Takes the parked requests `pick` selects (at most one unless `all`),
/// posting `-ECANCELED` for each; `ENOENT` when none matched.
fn cancel(ring: &Ring, pick: impl Fn(&Parked) -> bool, all: bool) -> Result<usize> {
    let taken: Vec<Parked> = {
        let mut inner = ring.inner.lock();
        let mut out = Vec::new();
        let mut i = 0;
        while i < inner.parked.len() {
            if pick(&inner.parked[i]) && out.try_reserve(1).is_ok() {
                let p = inner.take_parked(i);
                out.push(p);
                if !all {
                    break;
                }
            } else {
                i += 1;
            }
        }
        out
    };
    if taken.is_empty() {
        return Err(Errno::ENOENT);
    }
    let n = taken.len();
    for p in taken {
        p.disarm();
        finish(ring, p, -Errno::ECANCELED.as_i32(), Cont::Cancel);
    }
    kick_drained(ring);
    Ok(n)
}

/// What becomes of the rest of a chain whose parked member finished.
enum Cont<'a> {
    /// Run now by the caller, who holds the submission lock (if it is the
    /// owner; parked for the owner otherwise).
    Run(&'a mut UThread, &'a Arc<Tctx>),
    /// Parked for the owner (a completion with no submission lock, by any
    /// caller).
    Park,
    /// Cancelled.
    Cancel,
}

/// A parked request finished with `res`: its CQE, its LINK_TIMEOUT's, and
/// the rest of its chain as `cont` says (cancelled when the link broke).
fn finish(ring: &Ring, p: Parked, res: i32, cont: Cont) {
    ring.post(&p.sqe, res, 0);
    if let Some((l, _)) = p.lt {
        ring.post(&l, -Errno::ECANCELED.as_i32(), 0);
    }
    let mut link = p.link;
    link.finished(&p.sqe, fails_link(&p.sqe, res, expected(&p.sqe)));
    let mut rest = p.rest;
    if rest.is_empty() {
        return;
    }
    match cont {
        Cont::Run(t, tc) if link.runs() && Arc::ptr_eq(tc, &p.owner) => {
            run_chain(t, ring, rest, link, false, tc)
        }
        Cont::Run(..) | Cont::Park if link.runs() => {
            if let Some(next) = rest.pop_front() {
                let n = Parked {
                    sqe: next,
                    rest,
                    link,
                    wait: Wait::Next,
                    lt: None,
                    drain: false,
                    owner: p.owner,
                    task: p.task,
                };
                park(ring, n, true);
            }
        }
        _ => {
            for s in rest {
                ring.post(&s, -Errno::ECANCELED.as_i32(), 0);
            }
        }
    }
}

/// TIMEOUT_REMOVE: cancels (or with `IORING_TIMEOUT_UPDATE` moves) the
/// timeout whose user_data is `addr`.
fn timeout_remove(t: &UThread, ring: &Ring, sqe: &Sqe) -> Result<i32> {
    use abi::timeout as tf;
    if sqe.buf_index != 0 || sqe.len != 0 || sqe.file_index != 0 {
        return Err(Errno::EINVAL);
    }
    let f = sqe.op_flags;
    if f & (tf::UPDATE | tf::LINK_TIMEOUT_UPDATE) != 0 {
        if f & tf::LINK_TIMEOUT_UPDATE != 0 {
            return Err(Errno::EINVAL);
        }
        let fake =
            Sqe { addr: sqe.off, len: 1, op_flags: f & !tf::UPDATE, opcode: op::TIMEOUT, ..Sqe::default() };
        let d = timeout_deadline(t, &fake)?;
        let mut inner = ring.inner.lock();
        for p in inner.parked.iter_mut() {
            if p.sqe.user_data == sqe.addr
                && let Wait::Timeout { deadline, .. } = &mut p.wait
            {
                *deadline = d;
                drop(inner);
                ring.wq.wake_all();
                return Ok(0);
            }
        }
        return Err(Errno::ENOENT);
    }
    if f != 0 {
        return Err(Errno::EINVAL);
    }
    cancel(ring, |p| matches!(p.wait, Wait::Timeout { .. }) && p.sqe.user_data == sqe.addr, false).map(|_| 0)
}

/// ASYNC_CANCEL: by user_data (`addr`), or with `IORING_ASYNC_CANCEL_FD`
/// by file, `_ANY` any; `_ALL` every match (the count).
fn async_cancel(t: &UThread, ring: &Ring, sqe: &Sqe) -> Result<i32> {
    use abi::cancel as cf;
    if sqe.off != 0 || sqe.len != 0 || sqe.buf_index != 0 || sqe.file_index != 0 {
        return Err(Errno::EINVAL);
    }
    let f = sqe.op_flags;
    if f & !(cf::ALL | cf::FD | cf::ANY | cf::FD_FIXED) != 0 {
        return Err(Errno::EINVAL);
    }
    let all = f & (cf::ALL | cf::ANY) != 0;
    let target: Option<Arc<dyn File>> = if f & cf::FD != 0 {
        if f & cf::FD_FIXED != 0 {
            Some(
                ring.inner
                    .lock()
                    .files
                    .get(sqe.fd as u32 as usize)
                    .and_then(|x| x.clone())
                    .ok_or(Errno::EBADF)?,
            )
        } else {
            Some(t.fd(Fd(sqe.fd as u32))?)
        }
    } else {
        None
    };
    let pick = |p: &Parked| {
        if f & cf::ANY != 0 {
            return true;
        }
        match &target {
            Some(tf) => match &p.wait {
                Wait::Retry { file, .. } | Wait::Poll { file, .. } => {
                    core::ptr::addr_eq(file.ptr(), Arc::as_ptr(tf))
                }
                Wait::Timeout { .. } | Wait::Next => false,
            },
            None => p.sqe.user_data == sqe.addr,
        }
    };
    let n = cancel(ring, pick, all)?;
    Ok(if all { n as i32 } else { 0 })
}

/// Whether `p` can complete now from any caller (no user memory, no
/// submitter's context): a LINK_TIMEOUT or TIMEOUT due, a TIMEOUT's count
/// reached, a POLL_ADD's file woke.
fn due_any(p: &Parked, now: u64, posted: u64) -> bool {
    if p.lt.is_some_and(|(_, d)| d <= now) {
        return true;
    }
    match &p.wait {
        Wait::Poll { hook, .. } => hook.woke.load(Ordering::SeqCst),
        Wait::Timeout { deadline, target } => *deadline <= now || target.is_some_and(|n| posted >= n),
        Wait::Retry { .. } | Wait::Next => false,
    }
}

/// Whether `p` is a TIMEOUT or LINK_TIMEOUT that is due (the tick's part
/// of [`due_any`]).
fn due_timer(p: &Parked, now: u64, posted: u64) -> bool {
    p.lt.is_some_and(|(_, d)| d <= now)
        || matches!(&p.wait, Wait::Timeout { deadline, target } if *deadline <= now || target.is_some_and(|n| posted >= n))
}

/// Whether `p` is task work of `tc`'s: a retry whose file woke, the next
/// member of a chain.
fn due_mine(p: &Parked, tc: &Arc<Tctx>) -> bool {
    Arc::ptr_eq(&p.owner, tc)
        && match &p.wait {
            Wait::Retry { hook, .. } => hook.woke.load(Ordering::SeqCst),
            Wait::Next => true,
            Wait::Poll { .. } | Wait::Timeout { .. } => false,
        }
}

/// Whether `p` is task work of its owner's: a retry whose file woke, the
/// next member of a chain.
fn due_anyone(p: &Parked) -> bool {
    match &p.wait {
        Wait::Retry { hook, .. } => hook.woke.load(Ordering::SeqCst),
        Wait::Next => true,
        Wait::Poll { .. } | Wait::Timeout { .. } => false,
    }
}

/// Whether the next drained chain is `tc`'s and may go (the rule of
/// `Deferred::next_ready`).
fn drained_mine(inner: &Inner, tc: &Arc<Tctx>) -> bool {
    let Some(c) = inner.deferred.front() else { return false };
    let drain = c.sqes.front().is_some_and(|s| s.flags & sqe_flags::IO_DRAIN != 0);
    Arc::ptr_eq(&c.owner, tc)
        && inner.draining == 0
        && (!drain || inner.parked.is_empty() && inner.running == 0)
}

/// Completes what needs no submitter and no submission lock: due
/// TIMEOUTs and LINK_TIMEOUTs, woken POLL_ADDs (the rest of their chains
/// parked for their owners). Any caller, with or without the submission
/// lock.
fn complete_ready(ring: &Ring) {
    complete_due(ring, due_any);
}

/// [`complete_ready`] of the requests `due` picks (the tick's: only the
/// timeouts, no file polled in its context).
fn complete_due(ring: &Ring, due: fn(&Parked, u64, u64) -> bool) {
    let mut did = false;
    // bounded: each round takes one request; a file that keeps waking
    // cannot keep this caller here
    for _ in 0..ring.max_parked * 2 + 16 {
        let now = crate::sched::now_ns();
        let due = {
            let mut inner = ring.inner.lock();
            let posted = inner.posted;
            inner.parked.iter().position(|p| due(p, now, posted)).map(|i| inner.take_parked(i))
        };
        let Some(p) = due else { break };
        run_one(ring, p, now, Cont::Park);
        ring.signal();
        did = true;
    }
    if did {
        kick_drained(ring);
    }
}

/// Task work of `tc` (the caller's process), with the submission lock
/// held: what completes from anyone, then its retries that woke and the
/// next members of its chains, then its drained chains that may go.
fn run_parked(t: &mut UThread, ring: &Ring, tc: &Arc<Tctx>) {
    complete_ready(ring);
    for _ in 0..ring.max_parked * 2 + 16 {
        let now = crate::sched::now_ns();
        let due = {
            let mut inner = ring.inner.lock();
            inner.parked.iter().position(|p| due_mine(p, tc)).map(|i| inner.take_parked(i))
        };
        let Some(p) = due else { break };
        run_one(ring, p, now, Cont::Run(t, tc));
        ring.signal();
    }
    // drained chains of this caller's that may go now
    loop {
        let next = {
            let mut inner = ring.inner.lock();
            if !inner.deferred.front().is_some_and(|c| Arc::ptr_eq(&c.owner, tc)) {
                None
            } else {
                let inflight = inner.parked.len() + inner.running;
                let draining = inner.draining > 0;
                let n = inner.deferred.next_ready(inflight, draining);
                if let Some((c, _)) = &n {
                    inner.held = inner.held.saturating_sub(c.sqes.len());
                }
                n
            }
        };
        let Some((c, drain)) = next else { break };
        run_chain(t, ring, c.sqes, Link::new(), drain, tc);
        ring.signal();
    }
    let mut inner = ring.inner.lock();
    let still = inner.parked.iter().any(|p| matches!(p.wait, Wait::Retry { .. } | Wait::Next));
    if !still {
        inner.rings.clear_sq_flag(&ring.rings_mem, abi::sq_flags::TASKRUN);
    }
    // a drained chain's next member parked above: on the way out
    if inner.parked.iter().any(|p| due_mine(p, tc)) {
        drop(inner);
        crate::sched::notify(&crate::sched::current());
    }
}

/// The next drained chain may go now: its submitter is told (it runs
/// chains only as its task work).
fn kick_drained(ring: &Ring) {
    let task = {
        let inner = ring.inner.lock();
        inner.deferred.front().and_then(|c| {
            let drain = c.sqes.front().is_some_and(|s| s.flags & sqe_flags::IO_DRAIN != 0);
            (inner.draining == 0 && (!drain || inner.parked.is_empty() && inner.running == 0))
                .then(|| c.task.clone())
        })
    };
    if let Some(task) = task {
        notify_weak(&task);
    }
}

/// Tells thread `task` that task work is due, if it still lives (an
/// exited submitter's requests wait for the ring's next io_uring_enter or
/// its cancellation).
fn notify_weak(task: &Weak<Task>) {
    if let Some(t) = task.upgrade() {
        crate::sched::notify(&t);
    }
}

/// Parks `p` again (its hook armed).
fn repark(ring: &Ring, p: Parked) {
    let r = ring.inner.lock().push_parked(p);
    if let Some(p) = r {
        p.disarm();
        finish(ring, p, -Errno::ENOMEM.as_i32(), Cont::Cancel);
    }
}

/// A TIMEOUT or LINK_TIMEOUT completed by the tick or another thread:
/// Linux's hrtimer hands it to its submitter as task work
/// (io_timeout_fn, io_link_timeout_fn: `TWA_SIGNAL`), which ends the
/// submitter's interruptible sleep (its call restarts, or answers `EINTR`
/// where Linux's does on signal_pending: epoll_wait, semop, sigtimedwait).
/// The submitter to tell, if any: told once the completion is posted (on
/// another CPU it may return to user mode at once and read the ring).
fn timer_owner(ring: &Ring, p: &Parked, cont: &Cont) -> Option<Weak<Task>> {
    // (the owner's own task work needs no telling)
    (ring.task_work_notifies() && !matches!(cont, Cont::Run(_, tc) if Arc::ptr_eq(tc, &p.owner)))
        .then(|| p.task.clone())
}

/// Runs parked request `p` that is due; `cont` is how its chain goes on
/// (a retry or a chain's next member needs `Cont::Run` by its owner:
/// parked again otherwise).
fn run_one(ring: &Ring, mut p: Parked, now: u64, cont: Cont) {
    if let Some((l, d)) = p.lt
        && d <= now
    {
        // the LINK_TIMEOUT fired: the request is cancelled
        let owner = timer_owner(ring, &p, &cont);
        p.lt = None;
        p.disarm();
        ring.post(&l, -Errno::ETIME.as_i32(), 0);
        finish(ring, p, -Errno::ECANCELED.as_i32(), Cont::Cancel);
        if let Some(task) = owner {
            notify_weak(&task);
        }
        return;
    }
    match &p.wait {
        Wait::Next => {
            let Cont::Run(t, tc) = cont else { return repark(ring, p) };
            let mut sqes = p.rest;
            if sqes.try_reserve(1).is_err() {
                ring.post(&p.sqe, -Errno::ENOMEM.as_i32(), 0);
                for s in sqes {
                    ring.post(&s, -Errno::ECANCELED.as_i32(), 0);
                }
                return;
            }
            sqes.push_front(p.sqe);
            run_chain(t, ring, sqes, p.link, p.drain, tc);
        }
        Wait::Timeout { deadline, target } => {
            let owner = timer_owner(ring, &p, &cont);
            let posted = ring.inner.lock().posted;
            let res = if target.is_some_and(|n| posted >= n) && *deadline > now {
                0
            } else {
                -Errno::ETIME.as_i32()
            };
            finish(ring, p, res, cont);
            if let Some(task) = owner {
                notify_weak(&task);
            }
        }
        Wait::Poll { file, hook, events, multi, .. } => {
            hook.woke.store(false, Ordering::SeqCst);
            let Some(f) = file.get() else {
                p.disarm();
                finish(ring, p, -Errno::ECANCELED.as_i32(), Cont::Cancel);
                return;
            };
            let mask = f.poll() & events;
            drop(f);
            if mask == 0 {
                repark(ring, p);
            } else if *multi {
                ring.post(&p.sqe, mask as i32, abi::cqe_flags::MORE);
                repark(ring, p);
            } else {
                p.disarm();
                finish(ring, p, mask as i32, cont);
            }
        }
        Wait::Retry { file, hook, .. } => {
            let Cont::Run(t, tc) = cont else { return repark(ring, p) };
            hook.woke.store(false, Ordering::SeqCst);
            let Some(f) = file.get() else {
                p.disarm();
                finish(ring, p, -Errno::ECANCELED.as_i32(), Cont::Cancel);
                return;
            };
            let r = run_op(t, ring, &p.sqe, &f, true);
            drop(f);
            if r == Err(Errno::EAGAIN) {
                repark(ring, p);
            } else {
                p.disarm();
                let skip = p.sqe.flags & sqe_flags::CQE_SKIP_SUCCESS != 0 && r.is_ok();
                finish(ring, p, res_of(r), Cont::Run(t, tc));
                if !skip {
                    ring.signal_async();
                }
            }
        }
    }
}

/// io_cqring_wait: until `min` CQEs are ready, a timeout completed, the
/// deadline of `EXT_ARG`'s timespec (`ETIME`) or a signal (`EINTR`); 0
/// whenever the CQ ring is not empty at the end. The caller sleeps on the
/// ring's queue; when task work of its own is due while another thread
/// holds the submission lock, it sleeps until that lock is released
/// (never spins); timeouts and polls complete without that lock.
fn wait(
    t: &mut UThread,
    ring: &Ring,
    tc: &Arc<Tctx>,
    min: u32,
    flags: u32,
    arg: u64,
    argsz: usize,
) -> Result<()> {
    let (sig, sigsz, ts) = if flags & enter::EXT_ARG != 0 {
        if argsz != abi::GETEVENTS_ARG_LEN {
            return Err(Errno::EINVAL);
        }
        let mut b = [0u8; abi::GETEVENTS_ARG_LEN];
        t.read_into(arg, &mut b)?;
        let a = GeteventsArg::from_bytes(&b);
        (a.sigmask, a.sigmask_sz as usize, a.ts)
    } else {
        (arg, argsz, 0)
    };
    let deadline = if ts != 0 {
        let ts: Timespec = t.read(UserPtr::new(ts))?;
        if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
            return Err(Errno::EINVAL);
        }
        let ns = (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64);
        Some(crate::sched::now_ns().saturating_add(ns))
    } else {
        None
    };
    // task work first, then the count
    complete_ready(ring);
    if let Some(g) = ring.try_lock_submit() {
        run_parked(t, ring, tc);
        drop(g);
    }
    {
        let mut inner = ring.inner.lock();
        inner.rings.flush_overflow(&ring.rings_mem);
    }
    ring.signal();
    if ring.cq_ready() >= min {
        return Ok(());
    }
    super::poll::temp_mask(t, UserPtr::<u64>::new(sig), sigsz)?;
    let timeouts0 = ring.inner.lock().timeouts;
    let r = loop {
        {
            let mut inner = ring.inner.lock();
            inner.rings.flush_overflow(&ring.rings_mem);
            if inner.rings.cq_ready(&ring.rings_mem) >= min || inner.timeouts != timeouts0 {
                break Ok(());
            }
        }
        // task work told to this thread (any of its rings): run here, as
        // io_run_task_work_sig, not an EINTR
        if crate::sched::take_current_notify() {
            task_work(t);
            continue;
        }
        if crate::uthread::signal_pending(t.tid) {
            break Err(Errno::EINTR);
        }
        let now = crate::sched::now_ns();
        if deadline.is_some_and(|d| now >= d) {
            break Err(Errno::ETIME);
        }
        let (ring_deadline, mine) = {
            let inner = ring.inner.lock();
            let d = inner.parked.iter().filter_map(|p| p.deadline()).min();
            let m = inner.parked.iter().any(|p| due_mine(p, tc)) || drained_mine(&inner, tc);
            (d, m)
        };
        // own task work with the submission lock free: run it below
        if !mine || ring.submit.load(Ordering::Acquire) {
            let until = match (deadline, ring_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let cond = || {
                let inner = ring.inner.lock();
                let now = crate::sched::now_ns();
                inner.rings.cq_ready(&ring.rings_mem) >= min
                    || inner.timeouts != timeouts0
                    || inner.parked.iter().any(|p| due_any(p, now, inner.posted))
                    || ((inner.parked.iter().any(|p| due_mine(p, tc)) || drained_mine(&inner, tc))
                        && !ring.submit.load(Ordering::Acquire))
            };
            // (the submission lock's release wakes `submit_wq`)
            match crate::proc::sleep_on(t.tid, &[&ring.wq, &ring.submit_wq], cond, until) {
                Ok(()) | Err(Errno::ETIMEDOUT) => {}
                Err(_) => {
                    if !crate::sched::current_notified() && crate::uthread::signal_pending(t.tid) {
                        break Err(Errno::EINTR);
                    }
                }
            }
        }
        complete_ready(ring);
        if let Some(g) = ring.try_lock_submit() {
            run_parked(t, ring, tc);
            drop(g);
        }
        ring.signal();
        crate::sched::cond_resched();
    };
    if r != Err(Errno::EINTR) && sig != 0 {
        super::poll::restore_mask(t);
    }
    let empty = ring.cq_ready() == 0;
    let dropped = ring.inner.lock().rings.take_dropped();
    match r {
        Err(e) if empty => Err(e),
        _ if dropped => Err(Errno::EBADR),
        _ => Ok(()),
    }
}

/// The task work of the running thread, told by [`crate::sched::notify`]
/// (a parked request's file woke, a chain's next member or a drained chain
/// may go, a POLL_ADD woke): on its way back to user mode (Linux's
/// task_work_run with `TWA_SIGNAL`) or in its io_uring_enter's wait. In
/// every ring its process submitted to: what completes from anyone, then
/// its own retries and chains under the submission lock, then the CQEs
/// flushed and the eventfd signalled, so a program that waits with poll or
/// epoll on the eventfd or the ring fd, or reads the CQ ring, sees them.
pub fn task_work(t: &mut UThread) {
    let Some(tc) = t.uring_tctx.clone() else { return };
    if tc.dead.load(Ordering::Acquire) {
        return;
    }
    let rings: Vec<Arc<dyn File>> = {
        let list = tc.rings.lock();
        let mut v = Vec::new();
        if v.try_reserve(list.len()).is_err() {
            drop(list);
            // (later: the flag again)
            crate::sched::notify(&crate::sched::current());
            return;
        }
        v.extend(list.iter().filter_map(Weak::upgrade));
        v
    };
    for f in &rings {
        let Some(ring) = as_ring(&**f) else { continue };
        complete_ready(ring);
        loop {
            match ring.lock_submit(t.tid) {
                Ok(g) => {
                    run_parked(t, ring, &tc);
                    drop(g);
                    break;
                }
                // told again while waiting for the lock: still ours to run
                Err(_) if crate::sched::take_current_notify() => continue,
                Err(_) => {
                    // a signal: delivered first, the work on a later way out
                    crate::sched::notify(&crate::sched::current());
                    break;
                }
            }
        }
        ring.inner.lock().rings.flush_overflow(&ring.rings_mem);
        ring.signal();
    }
    // (the rings are dropped here, no lock held)
}

/// For a sleep that ended early (`ERESTARTSYS`) in a call Linux restarts
/// with a timeout kept (nanosleep, a futex wait): runs the task work that
/// ended it, if that was the cause; whether the caller should sleep on (no
/// signal pending).
pub fn run_notified(t: &mut UThread) -> bool {
    if !crate::sched::take_current_notify() {
        return false;
    }
    task_work(t);
    !crate::uthread::signal_pending(t.tid)
}

// ----- io_uring_register -----

/// io_uring_register(2): `fd, opcode, arg, nr_args`.
pub fn io_uring_register(t: &mut UThread, fd: u32, opcode: u32, arg: u64, nr_args: u32) -> SysResult {
    use abi::register as rg;
    if opcode & rg::USE_REGISTERED_RING != 0 {
        return Err(Errno::EINVAL);
    }
    if opcode >= rg::LAST {
        return Err(Errno::EINVAL);
    }
    let file = ring_of(t, fd)?;
    let ring = as_ring(&*file).ok_or(Errno::EOPNOTSUPP)?;
    match opcode {
        rg::REGISTER_PROBE => {
            if arg == 0 || nr_args > uring::probe::MAX_ARGS {
                return Err(Errno::EINVAL);
            }
            let len = uring::probe::len(nr_args)?;
            let mut buf = Vec::new();
            buf.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
            buf.resize(len, 0);
            t.read_into(arg, &mut buf)?;
            uring::probe::fill(&mut buf, nr_args, supported)?;
            t.write_slice(arg, &buf)?;
            Ok(0)
        }
        rg::REGISTER_FILES => register_files(t, ring, arg, nr_args),
        rg::UNREGISTER_FILES => {
            if arg != 0 || nr_args != 0 {
                return Err(Errno::EINVAL);
            }
            let old = {
                let mut inner = ring.inner.lock();
                if inner.files.is_empty() {
                    return Err(Errno::ENXIO);
                }
                core::mem::take(&mut inner.files)
            };
            drop(old);
            Ok(0)
        }
        rg::REGISTER_FILES_UPDATE => files_update(t, ring, arg, nr_args),
        rg::REGISTER_BUFFERS => register_buffers(t, ring, arg, nr_args),
        rg::UNREGISTER_BUFFERS => {
            if arg != 0 || nr_args != 0 {
                return Err(Errno::EINVAL);
            }
            let (old, pages) = {
                let mut inner = ring.inner.lock();
                if inner.bufs.is_empty() {
                    return Err(Errno::ENXIO);
                }
                (core::mem::take(&mut inner.bufs), core::mem::take(&mut inner.bufs_pages))
            };
            drop(old);
            if let Some(uid) = ring.user {
                uncharge_locked(uid, pages);
            }
            Ok(0)
        }
        rg::REGISTER_EVENTFD | rg::REGISTER_EVENTFD_ASYNC => {
            if nr_args != 1 {
                return Err(Errno::EINVAL);
            }
            let efd: i32 = t.read(UserPtr::new(arg))?;
            let f = t.fd(Fd(efd as u32))?;
            if !crate::eventfd::is_eventfd(&*f) {
                return Err(Errno::EINVAL);
            }
            let mut inner = ring.inner.lock();
            if inner.eventfd.is_some() {
                return Err(Errno::EBUSY);
            }
            inner.eventfd = Some(f);
            inner.eventfd_async = opcode == rg::REGISTER_EVENTFD_ASYNC;
            Ok(0)
        }
        rg::UNREGISTER_EVENTFD => {
            if arg != 0 || nr_args != 0 {
                return Err(Errno::EINVAL);
            }
            let old = ring.inner.lock().eventfd.take();
            match old {
                Some(f) => {
                    drop(f);
                    Ok(0)
                }
                None => Err(Errno::ENXIO),
            }
        }
        rg::REGISTER_ENABLE_RINGS => {
            if arg != 0 || nr_args != 0 {
                return Err(Errno::EINVAL);
            }
            let mut inner = ring.inner.lock();
            if !inner.disabled {
                return Err(Errno::EBADFD);
            }
            inner.disabled = false;
            if ring.setup_flags & setup::SINGLE_ISSUER != 0 && inner.submitter.is_none() {
                inner.submitter = Some(t.tid);
            }
            Ok(0)
        }
        _ => {
            log::info!("pid {}: io_uring_register opcode {} not supported (EINVAL)", t.pid, opcode);
            Err(Errno::EINVAL)
        }
    }
}

/// IORING_REGISTER_FILES: `arg` is an `int` array (-1: an empty slot).
fn register_files(t: &UThread, ring: &Ring, arg: u64, nr: u32) -> SysResult {
    if !ring.inner.lock().files.is_empty() {
        return Err(Errno::EBUSY);
    }
    if nr == 0 {
        return Err(Errno::EINVAL);
    }
    if u64::from(nr) > t.nofile() || nr > abi::MAX_FIXED_FILES {
        return Err(Errno::EMFILE);
    }
    let mut files: Vec<Option<Arc<dyn File>>> = Vec::new();
    files.try_reserve_exact(nr as usize).map_err(|_| Errno::ENOMEM)?;
    for i in 0..u64::from(nr) {
        let fd: i32 = t.read(UserPtr::new(arg.checked_add(i * 4).ok_or(Errno::EFAULT)?))?;
        if fd == -1 {
            files.push(None);
            continue;
        }
        let f = t.fd(Fd(fd as u32))?;
        if as_ring(&*f).is_some() {
            return Err(Errno::EBADF);
        }
        files.push(Some(f));
    }
    let mut inner = ring.inner.lock();
    if !inner.files.is_empty() {
        drop(inner);
        drop(files);
        return Err(Errno::EBUSY);
    }
    inner.files = files;
    Ok(0)
}

/// IORING_REGISTER_FILES_UPDATE: `struct io_uring_files_update { u32
/// offset; u32 resv; u64 fds; }`; the count updated.
fn files_update(t: &UThread, ring: &Ring, arg: u64, nr: u32) -> SysResult {
    if nr == 0 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 16];
    t.read_into(arg, &mut b)?;
    let offset = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let resv = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    let fds = u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]);
    if resv != 0 {
        return Err(Errno::EINVAL);
    }
    let len = ring.inner.lock().files.len() as u64;
    if len == 0 {
        return Err(Errno::ENXIO);
    }
    if u64::from(offset) + u64::from(nr) > len {
        return Err(Errno::EINVAL);
    }
    let mut done = 0u32;
    for i in 0..nr {
        let fd: i32 = match t.read(UserPtr::new(fds.wrapping_add(u64::from(i) * 4))) {
            Ok(v) => v,
            Err(e) => return if done > 0 { Ok(done as isize) } else { Err(e) },
        };
        let newf = if fd == -1 {
            None
        } else {
            match t.fd(Fd(fd as u32)) {
                Ok(f) if as_ring(&*f).is_none() => Some(f),
                Ok(_) => return if done > 0 { Ok(done as isize) } else { Err(Errno::EBADF) },
                Err(e) => return if done > 0 { Ok(done as isize) } else { Err(e) },
            }
        };
        let old = {
            let mut inner = ring.inner.lock();
            match inner.files.get_mut((offset + i) as usize) {
                Some(slot) => core::mem::replace(slot, newf),
                None => newf,
            }
        };
        drop(old);
        done += 1;
    }
    Ok(done as isize)
}

/// io_sqe_buffer_register's pin_user_pages(FOLL_WRITE | FOLL_LONGTERM):
/// each page of `[base, base + len)` faulted in for writing (a
/// copy-on-write page is copied now) and its frame referenced
/// (`Vmar::pin_page`: a fork gives the child a copy, the ring keeps
/// seeing the parent's writes); `EFAULT` for a page that is not mapped
/// writable. The address space's lock is
/// taken per page (a buffer may span 1 GiB).
fn pin_buffer(t: &UThread, base: u64, len: u64) -> Result<FixedBuf> {
    let mut buf = FixedBuf { base, len, frames: Vec::new(), alive: None };
    if len == 0 {
        return Ok(buf);
    }
    let first = base / PAGE_SIZE as u64;
    let n = (base + len).div_ceil(PAGE_SIZE as u64) - first;
    buf.frames.try_reserve_exact(n as usize).map_err(|_| Errno::ENOMEM)?;
    let alive = Arc::new(());
    for k in 0..n {
        let va = ((first + k) * PAGE_SIZE as u64) as usize;
        let frame = t.vm.lock().pin_page(va, &alive)?;
        // (on an error the frames so far go with `buf`)
        buf.frames.push(frame);
        // up to 2^18 pages a buffer: a preemption point now and then (no
        // lock held)
        if k % 512 == 511 {
            crate::sched::cond_resched();
        }
    }
    buf.alive = Some(alive);
    Ok(buf)
}

/// IORING_REGISTER_BUFFERS: `arg` is a `struct iovec` array.
fn register_buffers(t: &UThread, ring: &Ring, arg: u64, nr: u32) -> SysResult {
    if !ring.inner.lock().bufs.is_empty() {
        return Err(Errno::EBUSY);
    }
    if nr == 0 || nr > abi::MAX_REG_BUFFERS {
        return Err(Errno::EINVAL);
    }
    let mut bufs = Vec::new();
    bufs.try_reserve_exact(nr as usize).map_err(|_| Errno::ENOMEM)?;
    // io_buffer_account_pin: charged to the creator's user (unless it had
    // CAP_IPC_LOCK) against the caller's RLIMIT_MEMLOCK, a buffer at a
    // time (charged before its pages are pinned: no more is pinned than
    // the limit allows)
    let limit = match ring.user {
        Some(_) => crate::proc::table()
            .with_process(t.pid, |p| p.rlimits().cur(process::rlimit::Resource::Memlock))
            .ok_or(Errno::ESRCH)?,
        None => 0,
    };
    let mut pages = 0u64;
    let r = (|| {
        for i in 0..u64::from(nr) {
            let iov: Iovec = t.read(UserPtr::new(arg.checked_add(i * 16).ok_or(Errno::EFAULT)?))?;
            let (base, len) = (iov.iov_base, iov.iov_len);
            // io_buffer_validate
            if base == 0 {
                if len != 0 {
                    return Err(Errno::EFAULT);
                }
            } else if len > 1 << 30 || base.checked_add(len).is_none() {
                return Err(Errno::EFAULT);
            }
            UserSlice::new(base, len as usize).check()?;
            // the pages the range spans (io_pin_pages' count)
            let n =
                if len == 0 { 0 } else { (base + len).div_ceil(PAGE_SIZE as u64) - base / PAGE_SIZE as u64 };
            if let Some(uid) = ring.user {
                charge_locked(uid, n, limit / PAGE_SIZE as u64)?;
            }
            pages += n;
            bufs.push(Arc::new(pin_buffer(t, base, len)?));
        }
        Ok(())
    })();
    if let Err(e) = r {
        if let Some(uid) = ring.user {
            uncharge_locked(uid, pages);
        }
        // (the pinned pages go with `bufs`)
        return Err(e);
    }
    let mut inner = ring.inner.lock();
    if !inner.bufs.is_empty() {
        drop(inner);
        if let Some(uid) = ring.user {
            uncharge_locked(uid, pages);
        }
        return Err(Errno::EBUSY);
    }
    inner.bufs = bufs;
    inner.bufs_pages = pages;
    Ok(0)
}
