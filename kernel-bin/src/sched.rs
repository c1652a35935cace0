//! The scheduler: kernel threads (one behind each user thread), a round-robin
//! run queue, blocking with lost-wakeup protection, timed sleeps, and exit.
//!
//! The kernel is not preemptible: a thread leaves the CPU only when it
//! blocks, yields (the timer makes user-mode threads yield when their slice
//! is used up) or exits. Interrupt handlers never touch the scheduler, so
//! its lock is only taken by threads. One CPU runs it.

#![allow(dead_code)] // parts are used once user processes run on it

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use arch_x86_64::context::{self, KernelThread};
use arch_x86_64::time;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use process::cputime::{CpuAccount, SharedCpu, Side};

/// Nanoseconds every thread spent in user mode since boot (/proc/stat).
static USER_NS: AtomicU64 = AtomicU64::new(0);
/// Nanoseconds spent in the kernel on behalf of threads since boot.
static SYS_NS: AtomicU64 = AtomicU64::new(0);

/// System-wide `(user, system)` nanoseconds since boot; the rest of the
/// uptime is idle (the one CPU ran the idle task).
pub fn cpu_totals() -> (u64, u64) {
    (USER_NS.load(Ordering::Relaxed), SYS_NS.load(Ordering::Relaxed))
}

/// Ends the running thread's stretch since its last boundary, charging it
/// to `side` of `cpu` (and to the system-wide totals).
pub fn charge(cpu: &CpuAccount, side: Side) {
    let d = cpu.charge(time::since_boot_ns(), side);
    match side {
        Side::User => USER_NS.fetch_add(d, Ordering::Relaxed),
        Side::System => SYS_NS.fetch_add(d, Ordering::Relaxed),
    };
}

/// Accounting of a switch from `prev` to `next` at `now`.
fn account_switch(prev: &Task, next: &Task, voluntary: bool) {
    let now = time::since_boot_ns();
    if let Some(c) = prev.cpu.get() {
        SYS_NS.fetch_add(c.switch_out(now, voluntary), Ordering::Relaxed);
    }
    if let Some(c) = next.cpu.get() {
        c.switch_in(now);
    }
}

impl Task {
    /// Attaches the CPU account of the user thread this task runs (once).
    pub fn set_cpu(&self, cpu: SharedCpu) {
        self.cpu.call_once(|| cpu);
    }
}

/// A schedulable kernel thread.
pub struct Task {
    /// A number for logs (user threads use their tid).
    pub id: AtomicU64,
    kthread: Arc<KernelThread>,
    state: AtomicU8,
    /// A wake-up that arrived before the task blocked.
    wake_pending: AtomicBool,
    /// Its thread was taken out of the process table by another thread
    /// (exec's de_thread): it must end without acting as that thread again.
    removed: AtomicBool,
    start: spin::Mutex<Option<Box<dyn FnOnce() + Send>>>,
    /// The CPU account of its user thread (none for the idle task and
    /// kernel-only tasks): switches charge it.
    cpu: spin::Once<SharedCpu>,
    /// How its user thread last entered the kernel (/proc/<pid>/syscall).
    pub entry: KernelEntry,
}

/// How a user thread last entered the kernel, kept by the thread itself
/// for readers of /proc/<pid>/syscall (Linux reads the saved `pt_regs`):
/// the system-call number register (`orig_rax`; -1 for an interrupt or
/// exception), the six arguments, the user rsp and rip.
pub struct KernelEntry([AtomicU64; 9]);

impl KernelEntry {
    const fn new() -> Self {
        KernelEntry([const { AtomicU64::new(u64::MAX) }; 9])
    }

    /// A system call `nr` with `args` from `sp`, returning to `pc`.
    pub fn syscall(&self, nr: u64, args: [u64; 6], sp: u64, pc: u64) {
        self.0[0].store(nr, Ordering::Relaxed);
        for (slot, a) in self.0[1..7].iter().zip(args) {
            slot.store(a, Ordering::Relaxed);
        }
        self.0[7].store(sp, Ordering::Relaxed);
        self.0[8].store(pc, Ordering::Relaxed);
    }

    /// An interrupt or exception at `pc` with the stack at `sp`.
    pub fn other(&self, sp: u64, pc: u64) {
        self.0[0].store(u64::MAX, Ordering::Relaxed);
        self.0[7].store(sp, Ordering::Relaxed);
        self.0[8].store(pc, Ordering::Relaxed);
    }

    /// `(orig_rax, args, sp, pc)`.
    pub fn get(&self) -> (u64, [u64; 6], u64, u64) {
        let v = |i: usize| self.0[i].load(Ordering::Relaxed);
        (v(0), [v(1), v(2), v(3), v(4), v(5), v(6)], v(7), v(8))
    }
}

impl Task {
    /// Whether the task sleeps (blocked until a wake-up or a deadline):
    /// what /proc shows as state `S`.
    pub fn is_blocked(&self) -> bool {
        self.state.load(Ordering::Relaxed) == BLOCKED
    }

    /// Whether the task is on the CPU or waits in the run queue.
    pub fn is_runnable(&self) -> bool {
        self.state.load(Ordering::Relaxed) == RUNNABLE
    }

    /// Whether [`remove`] was called on the task.
    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::SeqCst)
    }
}

/// Whether [`remove`] was called on the running task.
pub fn current_removed() -> bool {
    with(|s| s.current.is_removed())
}

/// Tells `task` that its thread no longer exists and wakes it, wherever it
/// sleeps, so that it ends ([`Task::is_removed`]).
pub fn remove(task: &Arc<Task>) {
    task.removed.store(true, Ordering::SeqCst);
    wake(task);
}

const RUNNABLE: u8 = 0;
const BLOCKED: u8 = 1;
const DEAD: u8 = 2;

struct Sched {
    run_queue: VecDeque<Arc<Task>>,
    current: Arc<Task>,
    idle: Arc<Task>,
    dead: Vec<Arc<Task>>,
    sleepers: Vec<(u64, Arc<Task>)>,
    slice_start: u64,
}

static SCHED: spin::Mutex<Option<Sched>> = spin::Mutex::new(None);

/// A time slice, in timer ticks: about 10 ms.
const SLICE_TICKS: u64 = arch_x86_64::apic::TIMER_HZ.div_ceil(100);

/// Makes the running (boot) thread the idle task. Runs once.
pub fn init() {
    let idle = Arc::new(Task {
        id: AtomicU64::new(0),
        kthread: Arc::new(KernelThread::current_boot()),
        state: AtomicU8::new(RUNNABLE),
        wake_pending: AtomicBool::new(false),
        removed: AtomicBool::new(false),
        start: spin::Mutex::new(None),
        cpu: spin::Once::new(),
        entry: KernelEntry::new(),
    });
    *SCHED.lock() = Some(Sched {
        run_queue: VecDeque::new(),
        current: idle.clone(),
        idle,
        dead: Vec::new(),
        sleepers: Vec::new(),
        slice_start: 0,
    });
}

fn with<R>(f: impl FnOnce(&mut Sched) -> R) -> R {
    let mut g = SCHED.lock();
    match g.as_mut() {
        Some(s) => f(s),
        None => {
            drop(g);
            panic!("scheduler used before sched::init")
        }
    }
}

extern "C" fn task_entry(_: usize) -> ! {
    after_switch();
    let start = current().start.lock().take();
    if let Some(f) = start {
        f();
    }
    exit_current()
}

/// Creates a task that runs `f` and makes it runnable.
pub fn spawn(id: u64, f: impl FnOnce() + Send + 'static) -> Arc<Task> {
    let task = Arc::new(Task {
        id: AtomicU64::new(id),
        kthread: Arc::new(KernelThread::new(task_entry, 0)),
        state: AtomicU8::new(RUNNABLE),
        wake_pending: AtomicBool::new(false),
        removed: AtomicBool::new(false),
        start: spin::Mutex::new(Some(Box::new(f))),
        cpu: spin::Once::new(),
        entry: KernelEntry::new(),
    });
    with(|s| s.run_queue.push_back(task.clone()));
    task
}

/// Whether the running task is the boot thread's idle task (which may not
/// block).
pub fn in_idle() -> bool {
    with(|s| Arc::ptr_eq(&s.current, &s.idle))
}

/// The running task.
pub fn current() -> Arc<Task> {
    with(|s| s.current.clone())
}

/// Frees the stacks of tasks that exited (never the running one).
fn after_switch() {
    let dead = with(|s| core::mem::take(&mut s.dead));
    drop(dead);
}

/// Moves due sleepers to the run queue.
fn wake_sleepers(s: &mut Sched) {
    let now = time::since_boot_ns();
    let mut i = 0;
    while i < s.sleepers.len() {
        if s.sleepers[i].0 <= now {
            let (_, t) = s.sleepers.swap_remove(i);
            if t.state.swap(RUNNABLE, Ordering::SeqCst) == BLOCKED {
                s.run_queue.push_back(t);
            }
        } else {
            i += 1;
        }
    }
}

/// Switches to the next runnable task; `requeue` puts the current one back
/// on the run queue first (a yield), otherwise it must be blocked or dead.
fn reschedule(requeue: bool) {
    x86_64_without_interrupts(|| {
        let (prev, next) = with(|s| {
            wake_sleepers(s);
            let prev = s.current.clone();
            if requeue && !Arc::ptr_eq(&prev, &s.idle) {
                s.run_queue.push_back(prev.clone());
            }
            let next = s.run_queue.pop_front().unwrap_or_else(|| s.idle.clone());
            s.current = next.clone();
            s.slice_start = time::ticks();
            (prev, next)
        });
        if !Arc::ptr_eq(&prev, &next) {
            crate::lockorder::check_switch();
            account_switch(&prev, &next, !requeue);
            context::switch(&prev.kthread, &next.kthread);
        }
    });
    after_switch();
}

fn x86_64_without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    arch_x86_64::cpu::without_interrupts(f)
}

/// Gives the CPU to the next runnable task.
pub fn yield_now() {
    reschedule(true);
}

/// Yields if the running task has used up its time slice (called when a
/// timer interrupt arrives in user mode).
pub fn preempt_tick() {
    crate::itimer::check();
    crate::console::pump();
    crate::nic::pump();
    crate::blk::pump();
    let due = with(|s| {
        wake_sleepers(s);
        time::ticks().saturating_sub(s.slice_start) >= SLICE_TICKS && !s.run_queue.is_empty()
    });
    if due {
        yield_now();
    }
}

/// Blocks the running task until [`wake`] (returns at once if a wake-up
/// arrived since the task last blocked).
pub fn block() {
    let me = current();
    if me.wake_pending.swap(false, Ordering::SeqCst) {
        return;
    }
    // Nothing can wake us between here and the switch: wakers are other
    // threads, and none runs until we switch away.
    me.state.store(BLOCKED, Ordering::SeqCst);
    drop(me);
    reschedule(false);
}

/// Blocks until [`wake`] or until the monotonic clock reaches `deadline_ns`.
pub fn block_until(deadline_ns: u64) {
    let me = current();
    with(|s| s.sleepers.push((deadline_ns, me.clone())));
    drop(me);
    block();
    let me = current();
    with(|s| s.sleepers.retain(|(_, t)| !Arc::ptr_eq(t, &me)));
}

/// Makes `task` runnable (or remembers the wake-up if it is running).
pub fn wake(task: &Arc<Task>) {
    match task.state.compare_exchange(BLOCKED, RUNNABLE, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => with(|s| s.run_queue.push_back(task.clone())),
        Err(DEAD) => {}
        Err(_) => task.wake_pending.store(true, Ordering::SeqCst),
    }
}

/// Ends the running task. Whatever it owned on its stack must already be
/// dropped: the caller keeps no locals alive across this call.
pub fn exit_current() -> ! {
    arch_x86_64::cpu::disable_interrupts();
    let next = with(|s| {
        let me = s.current.clone();
        me.state.store(DEAD, Ordering::SeqCst);
        s.dead.push(me.clone());
        let next = s.run_queue.pop_front().unwrap_or_else(|| s.idle.clone());
        s.current = next.clone();
        s.slice_start = time::ticks();
        account_switch(&me, &next, true);
        next.kthread.clone()
    });
    context::exit_to(next)
}

/// The idle loop of the boot thread: runs tasks while there are any, halts
/// otherwise; returns when `done()` says so.
pub fn idle_until(done: impl Fn() -> bool) {
    loop {
        if done() {
            return;
        }
        crate::itimer::check();
        crate::console::pump();
        crate::nic::pump();
        crate::blk::pump();
        let runnable = with(|s| {
            wake_sleepers(s);
            !s.run_queue.is_empty()
        });
        if runnable {
            yield_now();
        } else {
            arch_x86_64::cpu::wait_for_interrupt();
        }
    }
}

/// A queue of tasks waiting for a condition: one per thing whose state a
/// sleeper waits on (a pipe, the console input, an epoll instance, child
/// events, ...), so that a change wakes only the tasks interested in it.
///
/// A task may be on several queues at once ([`wait_any`]: poll(2) over
/// many files). A queue may also relay its wake-ups to other queues
/// ([`WaitQueue::add_relay`]): an epoll instance's queue hears of every
/// change of the files it watches, as Linux's `ep_poll_callback`.
///
/// Signals do not go through queues: they wake the target task directly
/// ([`wake`]), wherever it sleeps, and its sleep re-checks its condition.
#[derive(Default)]
pub struct WaitQueue {
    inner: spin::Mutex<Waiters>,
}

#[derive(Default)]
struct Waiters {
    /// Sleeping tasks; a wake-up takes them all (each re-registers if its
    /// condition still does not hold).
    tasks: Vec<Arc<Task>>,
    /// Queues woken with this one, until removed (held weakly: a relay
    /// must not keep its epoll instance alive). One entry per
    /// [`WaitQueue::add_relay`].
    relays: Vec<Weak<WaitQueue>>,
}

impl vfs::WaitQueue for WaitQueue {}

/// The scheduler's queue behind a file's [`vfs::File::wait_queue`], if it
/// has one (files without one are always ready).
pub fn queue_of(file: &dyn vfs::File) -> Option<Arc<WaitQueue>> {
    let any: Arc<dyn core::any::Any + Send + Sync> = file.wait_queue()?;
    any.downcast::<WaitQueue>().ok()
}

impl WaitQueue {
    /// An empty queue.
    pub const fn new() -> Self {
        WaitQueue { inner: spin::Mutex::new(Waiters { tasks: Vec::new(), relays: Vec::new() }) }
    }

    fn add(&self, task: &Arc<Task>) {
        let mut g = self.inner.lock();
        // two fds of one pipe name one queue: register once
        if !g.tasks.iter().any(|t| Arc::ptr_eq(t, task)) {
            g.tasks.push(task.clone());
        }
    }

    fn remove(&self, task: &Arc<Task>) {
        self.inner.lock().tasks.retain(|t| !Arc::ptr_eq(t, task));
    }

    /// Blocks until `cond()` holds (checked before each sleep, so no wake-up
    /// is lost) or until `deadline_ns`; returns whether `cond()` held.
    pub fn wait_until(&self, cond: impl Fn() -> bool, deadline_ns: Option<u64>) -> bool {
        wait_any(&[self], cond, deadline_ns)
    }

    /// Wakes every waiter (each re-checks its condition) and, through the
    /// relays, the waiters of the queues relayed to.
    pub fn wake_all(&self) {
        let (tasks, relays) = {
            let mut g = self.inner.lock();
            g.relays.retain(|r| r.strong_count() > 0);
            let relays: Vec<Arc<WaitQueue>> = g.relays.iter().filter_map(Weak::upgrade).collect();
            (core::mem::take(&mut g.tasks), relays)
        };
        for t in &tasks {
            wake(t);
        }
        // Not under our lock: a relayed queue may relay further (nested
        // epoll; the epoll loop check keeps these chains acyclic).
        for r in &relays {
            r.wake_all();
        }
    }

    /// From now on, every [`WaitQueue::wake_all`] of this queue also wakes
    /// `to`, until [`WaitQueue::remove_relay`].
    pub fn add_relay(&self, to: &Arc<WaitQueue>) {
        self.inner.lock().relays.push(Arc::downgrade(to));
    }

    /// Undoes one [`WaitQueue::add_relay`]`(to)`.
    pub fn remove_relay(&self, to: &Arc<WaitQueue>) {
        let mut g = self.inner.lock();
        if let Some(i) = g.relays.iter().position(|r| core::ptr::eq(r.as_ptr(), Arc::as_ptr(to))) {
            g.relays.swap_remove(i);
        }
    }
}

/// Blocks until `cond()` holds or until `deadline_ns`, listening on every
/// queue of `queues` (none: only [`wake`], i.e. a signal or a removal, or
/// the deadline ends the sleep); returns whether `cond()` held.
///
/// No wake-up is lost: the task registers on every queue, then checks
/// `cond()`, then blocks; a wake-up after the registration either finds it
/// blocked or leaves it a pending wake-up that makes the block return at
/// once. Each time it wakes it leaves every queue before looking again.
pub fn wait_any(queues: &[&WaitQueue], cond: impl Fn() -> bool, deadline_ns: Option<u64>) -> bool {
    loop {
        if cond() {
            return true;
        }
        if deadline_ns.is_some_and(|d| time::since_boot_ns() >= d) {
            return false;
        }
        let me = current();
        for q in queues {
            q.add(&me);
        }
        let held = cond();
        if !held {
            match deadline_ns {
                Some(d) => block_until(d),
                None => block(),
            }
        }
        for q in queues {
            q.remove(&me);
        }
        if held {
            return true;
        }
    }
}
