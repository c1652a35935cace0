//! The scheduler: kernel threads (one behind each user thread), one run
//! queue shared by every CPU (round robin), an idle task per CPU, blocking
//! with lost-wakeup protection, timed sleeps, and exit.
//!
//! The kernel is not fully preemptible: a thread leaves its CPU only when
//! it blocks, yields or exits, at the return to user mode (the slice is
//! used up, or a wake-up set [`NEED_RESCHED`]), or at a preemption point
//! ([`cond_resched`]) of a long loop, called with no lock held
//! (docs/architecture.md, "Preemption"). Interrupt handlers never touch the scheduler; the
//! shared run queue's lock is still taken with interrupts off while other
//! CPUs run (a handler could otherwise stretch the time another CPU spins
//! for it), not with one CPU, and a CPU's own slot never (under QEMU's TCG
//! every `sti` ends a translation block: docs/bench.md).
//!
//! SMP rules (issue 19):
//! - Each CPU's current task, idle task and the task it just switched away
//!   from live in its `CPUS` slot, touched only by that CPU.
//! - A task runs on one CPU at a time: it is `on_cpu` from the moment a
//!   CPU picks it until the switch away from it has returned on the next
//!   task's side (`finish_switch`); a CPU that picks a task still `on_cpu`
//!   elsewhere (it was woken or requeued on its way out) waits for that.
//! - A wake-up queues the task and sends the reschedule IPI to a CPU that
//!   idles in `hlt` and may run it (its affinity).

#![allow(dead_code)] // parts are used once user processes run on it

mod sleepers;

use alloc::boxed::Box;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use arch_x86_64::context::{self, KernelThread};
use arch_x86_64::percpu::MAX_CPUS;
use arch_x86_64::spinlock;
use arch_x86_64::time;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use process::cputime::{CpuAccount, SharedCpu, Side};
use process::runq;

/// Nanoseconds threads spent in user mode on each CPU since boot
/// (/proc/stat).
static USER_NS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Nanoseconds each CPU spent in the kernel on behalf of threads.
static SYS_NS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// System-wide `(user, system)` nanoseconds since boot (all CPUs).
pub fn cpu_totals() -> (u64, u64) {
    let sum = |a: &[AtomicU64; MAX_CPUS]| a.iter().map(|x| x.load(Ordering::Relaxed)).sum();
    (sum(&USER_NS), sum(&SYS_NS))
}

/// CPU `cpu`'s `(user, system)` nanoseconds since boot; the rest of the
/// uptime it ran its idle task.
pub fn cpu_times(cpu: usize) -> (u64, u64) {
    match (USER_NS.get(cpu), SYS_NS.get(cpu)) {
        (Some(u), Some(s)) => (u.load(Ordering::Relaxed), s.load(Ordering::Relaxed)),
        _ => (0, 0),
    }
}

/// Nanoseconds each CPU spent halted in its idle loop (/proc/stat's idle,
/// measured on the CPU itself rather than as the rest of the uptime: time
/// charged to threads may cross CPUs when a reader charges another
/// thread's pending stretch).
static IDLE_NS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// CPU `cpu`'s idle nanoseconds since boot.
pub fn cpu_idle(cpu: usize) -> u64 {
    IDLE_NS.get(cpu).map_or(0, |a| a.load(Ordering::Relaxed))
}

/// Tasks running (a CPU's current task other than its idle task) or
/// queued, for the load average: the idle task's own timer work (which
/// takes the sample on an idle CPU 0) does not count.
pub fn nr_active() -> usize {
    let queued: usize = QLEN.iter().map(|l| l.load(Ordering::Relaxed)).sum();
    queued + (0..nr_cpus()).filter(|&c| CUR_ID[c].load(Ordering::Relaxed) != 0).count()
}

/// Tasks running or waiting to run (/proc/stat's procs_running).
pub fn nr_running() -> usize {
    let queued: usize = QLEN.iter().map(|l| l.load(Ordering::Relaxed)).sum();
    let busy = (0..nr_cpus()).filter(|&c| IDLE_MASK.load(Ordering::Relaxed) & (1 << c) == 0).count();
    (queued + busy).max(1)
}

/// Ends the running thread's stretch since its last boundary, charging it
/// to `side` of `cpu` (and to the system-wide totals).
pub fn charge(cpu: &CpuAccount, side: Side) {
    let now = time::since_boot_ns();
    let d = cpu.charge(now, side);
    let me = this_cpu();
    BOUNDARY_NS[me].store(now, Ordering::Relaxed);
    let total = match side {
        Side::User => &USER_NS[me],
        Side::System => &SYS_NS[me],
    };
    add_own(total, d);
}

/// Adds `d` to a per-CPU counter that only its own CPU writes (readers
/// elsewhere only load it): a load and a store, no locked instruction
/// (which multi-threaded TCG runs as an atomic helper call). An interrupt
/// handler of the same CPU never writes these counters.
fn add_own(counter: &AtomicU64, d: u64) {
    counter.store(counter.load(Ordering::Relaxed).wrapping_add(d), Ordering::Relaxed);
}

/// Context switches each CPU made (/proc/stat's `ctxt`, Linux's
/// `rq->nr_switches`).
static SWITCHES: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Context switches since boot (all CPUs).
pub fn nr_switches() -> u64 {
    SWITCHES.iter().map(|x| x.load(Ordering::Relaxed)).sum()
}

/// Accounting of a switch from `prev` to `next` at `now`.
fn account_switch(prev: &Task, next: &Task, voluntary: bool, now: u64) {
    let me = this_cpu();
    add_own(&SWITCHES[me], 1);
    if let Some(c) = prev.cpu.get() {
        add_own(&SYS_NS[me], c.switch_out(now, voluntary));
    }
    if let Some(c) = next.cpu.get() {
        c.switch_in(now);
    }
}

impl Task {
    /// Attaches the CPU account of the user thread this task runs (once).
    pub fn set_cpu(&self, cpu: SharedCpu) {
        // Another CPU may run the task already (it was queued when
        // spawned): its stretch starts now, not at the account's zero.
        cpu.switch_in(time::since_boot_ns());
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
    /// A CPU runs it or is still switching away from it.
    on_cpu: AtomicBool,
    /// The CPU it runs on, or last ran on.
    last_cpu: AtomicUsize,
    /// The CPUs it may run on (bit per CPU; sched_setaffinity).
    affinity: AtomicU64,
    /// Its place in the timed sleepers' heap ([`sleepers::NO_SLOT`]: not
    /// there), under the scheduler lock.
    sleep_slot: AtomicUsize,
    /// The CPU whose run queue holds it ([`NOT_QUEUED`]: none) and its
    /// slot there, written under that queue's lock.
    rq_cpu: AtomicUsize,
    rq_slot: AtomicU32,
    /// Its entry's room in every CPU's run queue (none for an idle task,
    /// which is never queued).
    _room: Option<Reservation>,
    /// Scheduling policy, real-time priority and nice value
    /// (sched_setscheduler, setpriority); copied to the tasks it creates.
    pub policy: AtomicU8,
    /// `sched_priority` (1..=99 for SCHED_FIFO/RR, else 0).
    pub rt_prio: AtomicU8,
    /// io_uring issues a request without blocking: a sleep in
    /// `proc::sleep_on` answers `EAGAIN` at once instead of waiting
    /// (Linux's `IOCB_NOWAIT`/`MSG_DONTWAIT` of a forced non-blocking issue).
    nowait: AtomicBool,
    /// Task work is due (io_uring's completions, Linux's
    /// `TIF_NOTIFY_SIGNAL` set by `TWA_SIGNAL`): an interruptible sleep
    /// ends as a signal's would (the call restarts) and the return to user
    /// mode runs the work ([`notify`], [`take_current_notify`]).
    notify: AtomicBool,
    /// Its sleeps do not end for `notify` (io_uring's blocking work run
    /// for a request, as in Linux's io-wq worker, which task work never
    /// interrupts): the flag waits for the way out.
    notify_masked: AtomicBool,
    nice: core::sync::atomic::AtomicI8,
    /// SCHED_RESET_ON_FORK: the tasks it creates start as SCHED_OTHER
    /// with a nice value of at least 0 (and without the flag).
    reset_on_fork: AtomicBool,
    /// Virtual run time: nanoseconds run, scaled by 1024 / its weight
    /// (the fair share: the queued task with the least runs next).
    vruntime: AtomicU64,
    start: spin::Mutex<Option<Box<dyn FnOnce() + Send>>>,
    /// The CPU account of its user thread (none for the idle task and
    /// kernel-only tasks): switches charge it.
    cpu: spin::Once<SharedCpu>,
    /// How its user thread last entered the kernel (/proc/<pid>/syscall).
    pub entry: KernelEntry,
    /// Who made it runnable last: the id of the task that called [`wake`]
    /// (0: an idle task's device work), or [`WOKEN_BY_TIMER`] (its
    /// deadline passed). For the idle stretches' log figure.
    woken_by: AtomicU64,
    /// Ticks it took as a SCHED_FIFO/RR task since it last blocked
    /// (Linux's `rt.timeout`, for RLIMIT_RTTIME: [`rt_tick`]).
    rt_ticks: AtomicU32,
}

/// [`Task::woken_by`] of a timed sleeper whose deadline passed.
const WOKEN_BY_TIMER: u64 = u64::MAX;

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
    // one load while no removed task exists (exec's de_thread is rare);
    // else a borrow under the CPU slot's lock: no reference count taken
    // and dropped. Every sleep's condition asks it (a locked instruction
    // each under multi-threaded TCG otherwise)
    REMOVED_TASKS.load(Ordering::SeqCst) != 0
        && with_cpu(|c| c.current.as_ref().is_some_and(|t| t.is_removed()))
}

/// Tasks [`remove`]d and not yet dropped: counted up before the removed
/// task is woken, so the task's own look after the wake-up sees it.
static REMOVED_TASKS: AtomicUsize = AtomicUsize::new(0);

/// Tells `task` that its thread no longer exists and wakes it, wherever it
/// sleeps, so that it ends ([`Task::is_removed`]).
pub fn remove(task: &Arc<Task>) {
    if !task.removed.swap(true, Ordering::SeqCst) {
        REMOVED_TASKS.fetch_add(1, Ordering::SeqCst);
    }
    wake(task);
}

impl Drop for Task {
    fn drop(&mut self) {
        if *self.removed.get_mut() {
            REMOVED_TASKS.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

const RUNNABLE: u8 = 0;
const BLOCKED: u8 = 1;
const DEAD: u8 = 2;

/// A CPU's run queue: the runnable tasks waiting for this CPU, in the
/// order the CPU runs them (`process::runq`: real-time priorities first,
/// then fair tasks by least virtual run time; O(log n) to queue or take
/// one). Any CPU may push to it (a wake-up) or take from it (an idle CPU
/// steals); one run-queue lock at a time, never two. Its room is reserved
/// with each task ([`Reservation`]): queueing never allocates.
struct RunQueue {
    tasks: runq::RunQueue<Arc<Task>>,
}

/// [`Task::rq_cpu`] of a task in no run queue.
const NOT_QUEUED: usize = usize::MAX;

/// Live [`Reservation`]s: every CPU's run queue has room for this many
/// tasks.
static RESERVED: AtomicUsize = AtomicUsize::new(0);

/// Each run queue's room ([`runq::RunQueue::capacity`]), read without
/// its lock.
static RQ_ROOM: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];

/// One task's room in every online CPU's run queue, made with the task
/// (where its creation can still fail: clone's ENOMEM) and held by it:
/// a wake-up, a steal or a requeue never allocates. The queues grow by
/// [`runq::CHUNK`] entries, allocated without their lock, and never
/// shrink (their size is the most tasks there ever were at once).
pub struct Reservation(());

impl Reservation {
    /// A reservation, or `None` when no memory is left for the queues
    /// to grow.
    pub fn try_new() -> Option<Reservation> {
        let n = RESERVED.fetch_add(1, Ordering::SeqCst) + 1;
        let r = Reservation(());
        for (cpu, room) in RQ_ROOM.iter().enumerate().take(nr_cpus()) {
            while room.load(Ordering::SeqCst) < n {
                let chunk = runq::Chunk::try_new().ok()?;
                let left = with_rq(cpu, |q| {
                    let r = q.tasks.add_chunk(chunk);
                    room.store(q.tasks.capacity(), Ordering::SeqCst);
                    r.err()
                });
                // (a refused chunk is dropped here, not under the lock)
                if left.is_some() {
                    return None;
                }
            }
        }
        Some(r)
    }

    /// As [`Reservation::try_new`] for boot-time tasks: panics without
    /// memory.
    pub fn for_boot() -> Reservation {
        match Reservation::try_new() {
            Some(r) => r,
            None => panic!("sched: no memory for a run-queue entry"),
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        RESERVED.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Queues `task` on CPU `cpu`'s queue `q` (under its lock), by its class
/// and its virtual run time now; `front`: a preempted real-time task, at
/// the head of its priority's list.
fn push(q: &mut RunQueue, cpu: usize, task: &Arc<Task>, front: bool) {
    match q.tasks.push(task.rt(), task.vruntime.load(Ordering::Relaxed), front, task.clone()) {
        Ok(slot) => {
            task.rq_slot.store(slot, Ordering::Relaxed);
            task.rq_cpu.store(cpu, Ordering::Relaxed);
        }
        // every queued task holds a reservation (the idle tasks, which
        // hold none, are never queued)
        Err(_) => panic!("sched: CPU {cpu}'s run queue is full: a task without its reservation"),
    }
}

/// Takes the task in `slot` out of `q` (under its lock).
fn take(q: &mut RunQueue, slot: u32) -> Option<Arc<Task>> {
    let t = q.tasks.remove(slot)?;
    // (its slot is stale from now on: `rq_cpu` says it is nowhere)
    t.rq_cpu.store(NOT_QUEUED, Ordering::Relaxed);
    Some(t)
}

/// Runs `f` on the queue holding `task` and the task's slot there, if it
/// is queued (under that queue's lock, where its place cannot change).
fn with_queued<R>(task: &Task, f: impl Fn(&mut RunQueue, usize, u32) -> R) -> Option<R> {
    loop {
        let c = task.rq_cpu.load(Ordering::Relaxed);
        if c >= MAX_CPUS {
            return None;
        }
        let r = with_rq(c, |q| {
            (task.rq_cpu.load(Ordering::Relaxed) == c).then(|| f(q, c, task.rq_slot.load(Ordering::Relaxed)))
        });
        if r.is_some() {
            return r;
        }
        // it moved meanwhile: look again
    }
}

/// One CPU's scheduler state (only that CPU touches it).
#[derive(Default)]
struct Cpu {
    current: Option<Arc<Task>>,
    idle: Option<Arc<Task>>,
    /// The task this CPU just switched away from: `finish_switch` clears
    /// its `on_cpu` (and drops it: an exited task's stack goes then).
    prev: Option<Arc<Task>>,
    /// When the current task was switched in ([`time::since_boot_ns`]),
    /// for SCHED_RR's slice: on the clock, not in ticks (under a loaded
    /// host QEMU's vCPU stops for tens of milliseconds and the timer
    /// ticks it missed are not counted: a slice of 25 ticks can last
    /// several 100 ms of the clock while its equals wait).
    slice_start: u64,
    /// When the current task was switched in ([`time::since_boot_ns`]),
    /// for its virtual run time.
    run_start: u64,
}

/// Each CPU's run queue.
static RQ: [spin::Mutex<RunQueue>; MAX_CPUS] =
    [const { spin::Mutex::new(RunQueue { tasks: runq::RunQueue::new() }) }; MAX_CPUS];

/// Each run queue's length, read without its lock (stealing, /proc/stat).
static QLEN: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];

/// The timed sleepers of every CPU, by deadline.
static SLEEPERS: spin::Mutex<sleepers::Sleepers> = spin::Mutex::new(sleepers::Sleepers::new());

/// The earliest deadline in [`SLEEPERS`] (`u64::MAX`: none), read on every
/// tick without the lock.
static NEXT_DUE: AtomicU64 = AtomicU64::new(u64::MAX);

/// Each CPU's slot, reached only through [`with_cpu`] on its own CPU: a
/// [`CpuLocal`](arch_x86_64::percpu::CpuLocal), borrowed with plain loads
/// and stores (its spin lock before was a `lock cmpxchg`, ~13 per pipe
/// round trip, each an atomic helper call under multi-threaded TCG, for a
/// lock no other CPU ever took). Sound without the lock: no other CPU
/// reaches this CPU's slot (every caller is on `this_cpu()`, and a borrow
/// pins its thread to the CPU: a switch inside one panics), and no
/// interrupt handler touches the scheduler (one that borrowed the slot
/// during a borrow would panic instead of aliasing it).
static CPUS: arch_x86_64::percpu::CpuLocal<Cpu> = arch_x86_64::percpu::CpuLocal::new(
    [const {
        arch_x86_64::percpu::LocalSlot::new(Cpu {
            current: None,
            idle: None,
            prev: None,
            slice_start: 0,
            run_start: 0,
        })
    }; MAX_CPUS],
);

/// CPUs idling in `hlt` with an empty queue (bit per CPU).
static IDLE_MASK: AtomicU64 = AtomicU64::new(0);

/// Per CPU: its running task should give the CPU up at the next
/// preemption point ([`cond_resched`]) or return to user mode (Linux's
/// TIF_NEED_RESCHED): set by a wake-up whose task should preempt it
/// ([`wakeup_preempts`]), cleared when the CPU picks its next task.
static NEED_RESCHED: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

/// Per CPU: the tick ([`time::ticks`]) its last preemption point looked
/// at; a point does the tick's work (timers, sleepers, the slice) once
/// per tick, the timer interrupt itself not touching the scheduler.
static SEEN_TICK: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Per CPU: when ([`time::since_boot_ns`]) it last did the tick's work.
/// A point also does it once a tick period has passed on the clock since
/// then, whatever the tick counter says: the counter is CPU 0's timer
/// interrupts, and QEMU drops the ones a stopped vCPU missed (a loaded
/// host), so counted ticks alone let a task in the kernel run on for
/// several periods, and a CPU other than 0 in the kernel would wait for
/// CPU 0's vCPU.
static LOOK_NS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Per CPU: the clock at the running thread's last accounting boundary
/// ([`charge`]: the entry to the kernel, the return to user mode), which
/// the return to user mode compares with [`LOOK_NS`] without reading the
/// clock again.
static BOUNDARY_NS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Linux's default timer slack (`PR_GET_TIMERSLACK`): how late past its
/// deadline a short timed sleep's early timer interrupt comes.
const TIMER_SLACK_NS: u64 = 50_000;

/// A tick period on the clock (4 ms at 250 Hz).
const TICK_NS: u64 = 1_000_000_000 / arch_x86_64::apic::TIMER_HZ;

/// Per CPU: the real-time priority of the running task (0: fair or the
/// idle task) and its virtual run time as last charged, for wake-ups on
/// other CPUs deciding whether the woken task preempts it (the `CPUS`
/// slot is the CPU's own).
static CUR_RT: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(0) }; MAX_CPUS];
static CUR_VRT: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Per CPU: the id of the running task (0: the idle task), for
/// [`Task::woken_by`].
static CUR_ID: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// A time slice, in timer ticks: about 10 ms.
const SLICE_TICKS: u64 = arch_x86_64::apic::TIMER_HZ.div_ceil(100);

fn this_cpu() -> usize {
    arch_x86_64::percpu::cpu_id()
}

/// The mask of the online CPUs.
pub fn online_mask() -> u64 {
    let n = arch_x86_64::smp::cpus_online().clamp(1, 64);
    if n == 64 { u64::MAX } else { (1u64 << n) - 1 }
}

/// Number of CPUs running tasks.
pub fn nr_cpus() -> usize {
    arch_x86_64::smp::cpus_online().max(1)
}

fn new_task(
    id: u64,
    kthread: KernelThread,
    start: Option<Box<dyn FnOnce() + Send>>,
    room: Option<Reservation>,
) -> Arc<Task> {
    Arc::new(Task {
        id: AtomicU64::new(id),
        kthread: Arc::new(kthread),
        state: AtomicU8::new(RUNNABLE),
        wake_pending: AtomicBool::new(false),
        removed: AtomicBool::new(false),
        on_cpu: AtomicBool::new(false),
        last_cpu: AtomicUsize::new(0),
        affinity: AtomicU64::new(u64::MAX),
        sleep_slot: AtomicUsize::new(sleepers::NO_SLOT),
        rq_cpu: AtomicUsize::new(NOT_QUEUED),
        rq_slot: AtomicU32::new(runq::NO_SLOT),
        _room: room,
        policy: AtomicU8::new(SCHED_OTHER),
        rt_prio: AtomicU8::new(0),
        nowait: AtomicBool::new(false),
        notify: AtomicBool::new(false),
        notify_masked: AtomicBool::new(false),
        nice: core::sync::atomic::AtomicI8::new(0),
        reset_on_fork: AtomicBool::new(false),
        vruntime: AtomicU64::new(0),
        start: spin::Mutex::new(start),
        cpu: spin::Once::new(),
        entry: KernelEntry::new(),
        woken_by: AtomicU64::new(0),
        rt_ticks: AtomicU32::new(0),
    })
}

/// Makes the running thread this CPU's idle task (the boot thread on CPU
/// 0 through [`init`], each AP's boot stack through [`ap_main`]).
fn become_idle() {
    let idle = new_task(0, KernelThread::current_boot(), None, None);
    idle.on_cpu.store(true, Ordering::Relaxed);
    idle.last_cpu.store(this_cpu(), Ordering::Relaxed);
    idle.affinity.store(1 << this_cpu(), Ordering::Relaxed);
    arch_x86_64::cpu::without_interrupts(|| {
        with_cpu(|c| {
            c.current = Some(idle.clone());
            c.idle = Some(idle);
        });
    });
}

/// Makes the running (boot) thread CPU 0's idle task and lets the other
/// CPUs run tasks. Runs once.
pub fn init() {
    become_idle();
    arch_x86_64::smp::start_ap_work(ap_main);
}

/// What an AP runs once the scheduler is ready: its idle loop.
fn ap_main() -> ! {
    become_idle();
    log::debug!("sched: CPU {} runs tasks", this_cpu());
    idle_until(|| false);
    unreachable!("an AP's idle loop returned")
}

/// Runs `f` under a scheduler lock (`lock`: a run queue or the
/// sleepers). With interrupts off while other CPUs run (a handler would
/// stretch their spin); with one CPU online nobody spins for the lock and
/// no handler takes it, so the interrupt flag stays as it is: re-enabling
/// it (`sti`) ends a translation block under QEMU's TCG, a cost several
/// times the lock's on every wake-up.
/// `site`: the lock's [`arch_x86_64::spinlock`] site (its waits counted).
fn locked<T, R>(site: usize, lock: &spin::Mutex<T>, f: impl FnOnce(&mut T) -> R) -> R {
    if nr_cpus() == 1 {
        f(&mut spinlock::lock(site, lock))
    } else {
        arch_x86_64::cpu::without_interrupts(|| f(&mut spinlock::lock(site, lock)))
    }
}

/// Runs `f` on CPU `cpu`'s run queue, keeping [`QLEN`] in step.
fn with_rq<R>(cpu: usize, f: impl FnOnce(&mut RunQueue) -> R) -> R {
    locked(spinlock::RUN_QUEUE, &RQ[cpu], |q| {
        let r = f(q);
        QLEN[cpu].store(q.tasks.len(), Ordering::Relaxed);
        r
    })
}

/// Runs `f` on this CPU's slot, which only this CPU touches and no
/// interrupt handler does: no need to turn interrupts off (the kernel is
/// not preemptible, so the task cannot move to another CPU meanwhile).
fn with_cpu<R>(f: impl FnOnce(&mut Cpu) -> R) -> R {
    CPUS.with(f)
}

extern "C" fn task_entry(_: usize) -> ! {
    finish_switch();
    // A new task starts with interrupts on (it was switched to with them
    // off): its first steps take the process table's lock, whose holder
    // may be waiting for this CPU to answer a TLB shootdown (a fork).
    arch_x86_64::cpu::enable_interrupts();
    let start = current().start.lock().take();
    if let Some(f) = start {
        f();
    }
    exit_current()
}

/// Creates a task that runs `f` and makes it runnable.
pub fn spawn(id: u64, f: impl FnOnce() + Send + 'static) -> Arc<Task> {
    let task = create(id, f);
    enqueue(&task);
    task
}

/// As [`spawn`], or `None` when no memory is left for the task's stack:
/// for a kernel task started after boot at a user's request (the inet
/// poll thread at the first socket, the flusher at the first disk mount),
/// whose caller answers ENOMEM/ENOBUFS as Linux would.
pub fn try_spawn(id: u64, f: impl FnOnce() + Send + 'static) -> Option<Arc<Task>> {
    // a kernel task: not the scheduling attributes of the user thread
    // whose call started it (Linux's kthreadd makes them)
    let room = Reservation::try_new()?;
    let task = new_task(id, KernelThread::try_new(task_entry, 0)?, Some(Box::new(f)), Some(room));
    enqueue(&task);
    Some(task)
}

/// Creates a task that runs `f` once [`start`]ed (so that whoever made it
/// can publish it first: another CPU may run it at once).
///
/// Panics if no memory is left for its stack: for tasks started at boot
/// (init, kernel tests); after boot, [`try_spawn`] or [`create_on`].
pub fn create(id: u64, f: impl FnOnce() + Send + 'static) -> Arc<Task> {
    create_with(id, KernelThread::new(task_entry, 0), Reservation::for_boot(), f)
}

fn create_with(
    id: u64,
    kthread: KernelThread,
    room: Reservation,
    f: impl FnOnce() + Send + 'static,
) -> Arc<Task> {
    inherit(new_task(id, kthread, Some(Box::new(f)), Some(room)))
}

/// Gives a new task `t` its creator's scheduling attributes.
fn inherit(t: Arc<Task>) -> Arc<Task> {
    // the creator's policy, priority, nice, CPU mask and place in the fair
    // order (fork and clone inherit them); with SCHED_RESET_ON_FORK a
    // real-time policy becomes SCHED_OTHER and a negative nice 0, and the
    // flag is not inherited (Linux's sched_fork). Not an idle task's
    // (boot-time kernel tasks).
    if !in_idle()
        && let Some(me) = with_cpu(|c| c.current.clone())
    {
        let (mut policy, mut prio, mut nice) = (
            me.policy.load(Ordering::Relaxed),
            me.rt_prio.load(Ordering::Relaxed),
            me.nice.load(Ordering::Relaxed),
        );
        if me.reset_on_fork.load(Ordering::Relaxed) {
            if matches!(policy, SCHED_FIFO | SCHED_RR) {
                (policy, prio, nice) = (SCHED_OTHER, 0, 0);
            }
            nice = nice.max(0);
        }
        t.policy.store(policy, Ordering::Relaxed);
        t.rt_prio.store(prio, Ordering::Relaxed);
        t.nice.store(nice, Ordering::Relaxed);
        t.vruntime.store(me.vruntime.load(Ordering::Relaxed), Ordering::Relaxed);
        t.last_cpu.store(me.last_cpu.load(Ordering::Relaxed), Ordering::Relaxed);
        t.affinity.store(me.affinity.load(Ordering::Relaxed), Ordering::Relaxed);
    }
    t
}

/// As [`create`], on a stack and a run-queue reservation made beforehand
/// ([`context::KernelStack::try_new`], [`Reservation::try_new`], where
/// clone can still fail).
pub fn create_on(
    stack: context::KernelStack,
    room: Reservation,
    id: u64,
    f: impl FnOnce() + Send + 'static,
) -> Arc<Task> {
    create_with(id, KernelThread::with_stack(stack, task_entry, 0), room, f)
}

/// Makes a task from [`create`] runnable, on the CPU
/// [`select_cpu_new`] chooses (fork balancing).
pub fn start(task: &Arc<Task>) {
    enqueue_on(task, select_cpu_new(task));
}

/// Whether the running task is this CPU's idle task (which may not block).
pub fn in_idle() -> bool {
    with_cpu(|c| match (&c.current, &c.idle) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => true,
    })
}

/// The running task's id (0 for an idle task or before the scheduler
/// runs): one load, no lock ([`note_next`] keeps it).
fn current_id() -> u64 {
    CUR_ID[this_cpu()].load(Ordering::Relaxed)
}

/// Tasks whose `nowait` is set (io_uring issues in progress): while none
/// is, [`current_nowait`] is one load.
static NOWAIT_TASKS: AtomicUsize = AtomicUsize::new(0);

/// Sets `task`'s `nowait` (io_uring's non-blocking issue); the old value.
pub fn set_nowait(task: &Task, on: bool) -> bool {
    let old = task.nowait.swap(on, Ordering::Relaxed);
    if old != on {
        if on {
            NOWAIT_TASKS.fetch_add(1, Ordering::Relaxed);
        } else {
            NOWAIT_TASKS.fetch_sub(1, Ordering::Relaxed);
        }
    }
    old
}

/// Whether the running task issues without blocking ([`set_nowait`]):
/// one load while no task does, no reference taken.
pub fn current_nowait() -> bool {
    NOWAIT_TASKS.load(Ordering::Relaxed) != 0
        && with_cpu(|c| c.current.as_ref().is_some_and(|t| t.nowait.load(Ordering::Relaxed)))
}

/// Tasks whose `notify` is set: while none is, [`current_notified`] and
/// [`take_current_notify`] are one load.
static NOTIFY_TASKS: AtomicUsize = AtomicUsize::new(0);

/// Task work is due for `task` (Linux's task_work_add with `TWA_SIGNAL`):
/// its flag is set and it is woken, so that an interruptible sleep ends
/// (`uthread::signal_pending` answers true) and its way back to user mode
/// runs the work (a task running in user mode runs it at its next entry
/// to the kernel: its tick at the latest).
pub fn notify(task: &Arc<Task>) {
    if !task.notify.swap(true, Ordering::SeqCst) {
        NOTIFY_TASKS.fetch_add(1, Ordering::SeqCst);
        // (a task that ended keeps no flag: exit_current clears it after
        // marking it dead, and this undoes one set after that)
        if task.state.load(Ordering::SeqCst) == DEAD && task.notify.swap(false, Ordering::SeqCst) {
            NOTIFY_TASKS.fetch_sub(1, Ordering::SeqCst);
        }
    }
    wake(task);
}

/// Whether task work is due for the running task ([`notify`]) and may
/// end its sleeps (not masked: [`mask_notify`]).
pub fn current_notified() -> bool {
    NOTIFY_TASKS.load(Ordering::SeqCst) != 0
        && with_cpu(|c| {
            c.current
                .as_ref()
                .is_some_and(|t| t.notify.load(Ordering::SeqCst) && !t.notify_masked.load(Ordering::SeqCst))
        })
}

/// Sets whether the running task's sleeps ignore [`notify`] (the old
/// value): io_uring's blocking work for a request.
pub fn mask_notify(on: bool) -> bool {
    with_cpu(|c| c.current.as_ref().is_some_and(|t| t.notify_masked.swap(on, Ordering::SeqCst)))
}

/// Takes the running task's task-work flag ([`notify`]): whether it was
/// set.
pub fn take_current_notify() -> bool {
    if NOTIFY_TASKS.load(Ordering::SeqCst) == 0 {
        return false;
    }
    let was = with_cpu(|c| c.current.as_ref().is_some_and(|t| t.notify.swap(false, Ordering::SeqCst)));
    if was {
        NOTIFY_TASKS.fetch_sub(1, Ordering::SeqCst);
    }
    was
}

/// The running task's id (its thread's tid; 0 before the scheduler
/// runs), read through a borrow of the CPU slot: no reference counted
/// (two locked instructions saved against `current().id`).
pub fn current_task_id() -> u64 {
    with_cpu(|c| c.current.as_ref().map_or(0, |t| t.id.load(Ordering::Relaxed)))
}

/// The running task.
pub fn current() -> Arc<Task> {
    match with_cpu(|c| c.current.clone()) {
        Some(t) => t,
        None => panic!("scheduler used before sched::init"),
    }
}

/// The CPU the running task runs on (getcpu).
pub fn current_cpu() -> usize {
    this_cpu()
}

/// After a switch, on the new task's side: the task switched away from is
/// off its CPU now (its registers and FPU state are saved).
fn finish_switch() {
    let prev = with_cpu(|c| c.prev.take());
    if let Some(p) = prev {
        p.on_cpu.store(false, Ordering::Release);
        if p.state.load(Ordering::SeqCst) == RUNNABLE {
            // queued while on its way out: `pick` skipped it until now
            kick_idle(&p);
        }
        drop(p);
    }
}

/// Decides whether a wake-up of `task` must queue it (true) or was
/// recorded as pending or is moot. Pairs with [`block`]: the sleeper
/// stores BLOCKED, then takes the pending flag; the waker stores the flag,
/// then looks at the state again, so one of them sees the other.
fn try_wake(task: &Task) -> bool {
    loop {
        match task.state.compare_exchange(BLOCKED, RUNNABLE, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return true,
            Err(DEAD) => return false,
            Err(_) => {
                task.wake_pending.store(true, Ordering::SeqCst);
                if task.state.load(Ordering::SeqCst) != BLOCKED {
                    return false;
                }
            }
        }
    }
}

/// Sends the reschedule IPI to an idle CPU that may run `task`, if any.
fn kick_idle(task: &Task) {
    let me = this_cpu();
    let cand = IDLE_MASK.load(Ordering::SeqCst) & task.affinity.load(Ordering::Relaxed) & !(1u64 << me);
    if cand != 0 {
        kick_cpu(cand.trailing_zeros() as usize);
    }
}

/// Per CPU: its idle loop's polling state in one word (Linux keeps
/// TIF_POLLING_NRFLAG and the idle task's TIF_NEED_RESCHED in one), so
/// that a waker sets [`KICKED`] and learns whether [`POLLING`] was set in
/// one atomic step ([`kick_cpu`]).
static IDLE_POLL: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(0) }; MAX_CPUS];
/// [`IDLE_POLL`]: the CPU's idle loop polls its queue and the kick bit
/// (interrupts on) before it halts; a kick needs no IPI.
const POLLING: u8 = 1;
/// [`IDLE_POLL`]: the CPU was asked to look at the run queues (work
/// queued for it, or on a busy CPU for it to steal); its idle loop clears
/// it when it looks.
const KICKED: u8 = 2;

/// Reschedule IPIs that [`kick_cpu`] did not send because the idle CPU
/// polled (a log figure).
static IPIS_SPARED: AtomicU64 = AtomicU64::new(0);

/// Makes idle CPU `cpu` look at the run queues: sets its [`KICKED`] bit
/// and sends the reschedule IPI unless its idle loop polls (it sees the
/// bit within a few hundred instructions; a `hlt`ing vCPU under TCG costs
/// the host tens of microseconds to wake). The caller queued the work
/// before: the bit's atomic step orders the two.
fn kick_cpu(cpu: usize) {
    let Some(flags) = IDLE_POLL.get(cpu) else { return };
    if flags.fetch_or(KICKED, Ordering::SeqCst) & POLLING != 0 {
        IPIS_SPARED.fetch_add(1, Ordering::Relaxed);
    } else {
        arch_x86_64::smp::send_resched(cpu);
    }
}

/// `SCHED_OTHER` (the fair class, as SCHED_BATCH and SCHED_IDLE).
pub const SCHED_OTHER: u8 = 0;
/// `SCHED_FIFO`: real time, runs until it blocks or yields.
pub const SCHED_FIFO: u8 = 1;
/// `SCHED_RR`: real time, round robin among equal priorities.
pub const SCHED_RR: u8 = 2;
/// `SCHED_BATCH`: fair, as SCHED_OTHER here.
pub const SCHED_BATCH: u8 = 3;
/// `SCHED_IDLE`: fair with the smallest weight (below nice 19).
pub const SCHED_IDLE: u8 = 5;

/// SCHED_RR's time slice (Linux's RR_TIMESLICE, 100 ms).
pub const RR_SLICE_NS: u64 = 100_000_000;

/// Linux's `sched_prio_to_weight`: the weight of nice -20..=19 (nice 0 is
/// 1024; each step is about 1.25x).
const PRIO_TO_WEIGHT: [u64; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904, 3906, 3121,
    2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87, 70, 56, 45, 36, 29,
    23, 18, 15,
];

/// SCHED_IDLE's weight (Linux's WEIGHT_IDLEPRIO).
const WEIGHT_IDLE: u64 = 3;

impl Task {
    /// The CPU it last ran on (`/proc/<pid>/stat`'s processor field).
    pub fn last_cpu(&self) -> usize {
        self.last_cpu.load(Ordering::Relaxed)
    }

    /// Its nice value (-20..=19).
    pub fn nice(&self) -> i32 {
        i32::from(self.nice.load(Ordering::Relaxed))
    }

    /// Linux's `task->prio` without priority inheritance: 99 - the
    /// real-time priority for SCHED_FIFO/RR, else 120 + nice (lower is
    /// served first by POSIX message queue waiters, `wq_add`).
    pub fn kernel_prio(&self) -> i32 {
        match self.rt() {
            0 => 120 + self.nice(),
            rt => 99 - i32::from(rt),
        }
    }

    /// Sets its nice value (clamped to -20..=19).
    pub fn set_nice(&self, nice: i32) {
        self.nice.store(nice.clamp(-20, 19) as i8, Ordering::Relaxed);
    }

    /// Sets its policy and real-time priority (checked by the caller). A
    /// task leaving the real-time class (which is not charged virtual run
    /// time) rejoins the fair order no earlier than its CPU's fair clock.
    pub fn set_policy(&self, policy: u8, prio: u8) {
        let was_rt = self.rt() > 0;
        self.rt_prio.store(prio, Ordering::Relaxed);
        self.policy.store(policy, Ordering::Relaxed);
        if was_rt && self.rt() == 0 {
            let cpu = self.last_cpu.load(Ordering::Relaxed).min(MAX_CPUS - 1);
            self.vruntime.fetch_max(MIN_VRUNTIME[cpu].load(Ordering::Relaxed), Ordering::Relaxed);
        }
        // queued: its place follows its new class (and virtual run time)
        with_queued(self, |q, cpu, slot| {
            if let Some(t) = take(q, slot) {
                push(q, cpu, &t, false);
            }
        });
    }

    /// Whether SCHED_RESET_ON_FORK is set (sched_getscheduler).
    pub fn reset_on_fork(&self) -> bool {
        self.reset_on_fork.load(Ordering::Relaxed)
    }

    /// Sets or clears SCHED_RESET_ON_FORK (checked by the caller).
    pub fn set_reset_on_fork(&self, on: bool) {
        self.reset_on_fork.store(on, Ordering::Relaxed);
    }

    fn weight(&self) -> u64 {
        if self.policy.load(Ordering::Relaxed) == SCHED_IDLE {
            return WEIGHT_IDLE;
        }
        PRIO_TO_WEIGHT[(self.nice() + 20).clamp(0, 39) as usize]
    }

    /// Its real-time priority if it is SCHED_FIFO or SCHED_RR (ahead of
    /// every fair task), else 0.
    fn rt(&self) -> u8 {
        match self.policy.load(Ordering::Relaxed) {
            SCHED_FIFO | SCHED_RR => self.rt_prio.load(Ordering::Relaxed).max(1),
            _ => 0,
        }
    }
}

/// Each CPU's fair clock: the least virtual run time of the tasks it ran
/// last (never decreasing); a task that joins the CPU's queue after a
/// sleep starts no more than [`WAKE_CREDIT_NS`] behind it (a long sleeper
/// does not take the CPU for as long as it slept).
static MIN_VRUNTIME: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// How far behind a CPU's fair clock a woken task may start.
const WAKE_CREDIT_NS: u64 = 6_000_000;

/// How far ahead of the least queued virtual run time the running fair
/// task may get before the tick switches (one tick: about 4 ms).
const GRANULARITY_NS: u64 = 4_000_000;

/// How far ahead of a woken fair task the running one must be for the
/// wake-up to preempt it (Linux's sysctl_sched_wakeup_granularity, 1 ms
/// before its scaling by the CPU count).
const WAKEUP_GRAN_NS: u64 = 1_000_000;

/// Charges the running task's stretch on `cpu` since it was switched in
/// (or last charged) to its virtual run time.
fn charge_vruntime(task: &Task, c: &mut Cpu, now: u64) {
    let ran = now.saturating_sub(c.run_start);
    c.run_start = now;
    if task.rt() == 0 {
        // nice 0 (weight 1024, the common case) needs no division
        let w = task.weight();
        let scaled = if w == 1024 { ran } else { ran.saturating_mul(1024) / w };
        // (only the CPU running the task charges it: no read-modify-write)
        let v = task.vruntime.load(Ordering::Relaxed).saturating_add(scaled);
        task.vruntime.store(v, Ordering::Relaxed);
        CUR_VRT[this_cpu()].store(v, Ordering::Relaxed);
    }
}

/// Places a task joining `cpu`'s queue in its fair order: moved from its
/// last CPU's clock to this one's, and no more than [`WAKE_CREDIT_NS`]
/// behind it. Real-time tasks are left alone (they run in queue order).
fn place(task: &Task, cpu: usize) {
    let last = task.last_cpu.load(Ordering::Relaxed).min(MAX_CPUS - 1);
    rebase(task, last, cpu);
}

/// Moves a fair `task`'s virtual run time from CPU `from`'s fair clock to
/// `to`'s, no more than [`WAKE_CREDIT_NS`] behind the latter.
fn rebase(task: &Task, from: usize, to: usize) {
    if task.rt() > 0 {
        return;
    }
    let mut v = task.vruntime.load(Ordering::Relaxed);
    let here = MIN_VRUNTIME[to].load(Ordering::Relaxed);
    if from != to {
        v = v.saturating_sub(MIN_VRUNTIME[from].load(Ordering::Relaxed)).saturating_add(here);
    }
    task.vruntime.store(v.max(here.saturating_sub(WAKE_CREDIT_NS)), Ordering::Relaxed);
}

/// The CPU whose queue a runnable `task` joins: the CPU it last ran on
/// if its affinity allows it and that CPU is idle (its cache is warm and
/// nothing waits there); otherwise an idle CPU it may use; otherwise the
/// last CPU if allowed; otherwise the first allowed online CPU.
fn select_cpu(task: &Task) -> usize {
    if nr_cpus() == 1 {
        // the one online CPU (what the look below comes to)
        return 0;
    }
    let allowed = task.affinity.load(Ordering::Relaxed) & online_mask();
    let allowed = if allowed == 0 { 1 } else { allowed };
    let last = task.last_cpu.load(Ordering::Relaxed);
    let last_ok = last < 64 && allowed & (1 << last) != 0;
    let idle = IDLE_MASK.load(Ordering::SeqCst) & allowed;
    if last_ok && (idle & (1 << last) != 0 || task.on_cpu.load(Ordering::Acquire)) {
        // idle, or still switching away from it there: that CPU takes it
        return last;
    }
    if idle != 0 {
        // among the idle ones, the least loaded queue first
        return (0..64)
            .filter(|c| idle & (1 << c) != 0)
            .min_by_key(|&c| QLEN[c].load(Ordering::Relaxed))
            .unwrap_or(0);
    }
    if last_ok {
        return last;
    }
    allowed.trailing_zeros() as usize
}

/// The CPU a task woken by a waker about to block joins (wake-affine,
/// Linux's wake_affine with WF_SYNC): the waker's own, when the task may
/// run there, nothing else is queued there, neither is real time (a
/// real-time task goes where it runs soonest) and the task is off every
/// CPU (`None`: [`select_cpu`] chooses; always with one CPU). No IPI, and the task finds the
/// data the waker just wrote in this CPU's cache; if the waker does not
/// block after all, an idle CPU steals the task at the next tick
/// ([`kick_for_queued`]).
fn affine_cpu(task: &Task) -> Option<usize> {
    if nr_cpus() == 1 {
        return None;
    }
    let me = this_cpu();
    // a task that last ran on another CPU that idles now goes back there
    // (Linux's select_idle_sibling takes an idle previous CPU too): only
    // a pair that shares this CPU is kept together
    let last = task.last_cpu.load(Ordering::Relaxed);
    if last != me && last < nr_cpus() && IDLE_MASK.load(Ordering::SeqCst) & (1 << last) != 0 {
        return None;
    }
    let ok = task.affinity.load(Ordering::Relaxed) & (1 << me) != 0
        && QLEN[me].load(Ordering::Relaxed) == 0
        && task.rt() == 0
        && CUR_RT[me].load(Ordering::Relaxed) == 0
        && !task.on_cpu.load(Ordering::Acquire);
    if ok {
        SYNC_LOCAL.fetch_add(1, Ordering::Relaxed);
    }
    ok.then_some(me)
}

/// Puts a runnable task on the run queue of the CPU [`select_cpu`]
/// chooses and sends that CPU the reschedule IPI if it idles.
fn enqueue(task: &Arc<Task>) {
    enqueue_on(task, select_cpu(task));
}

/// Puts a runnable task on CPU `cpu`'s run queue and sends that CPU the
/// reschedule IPI if it idles.
fn enqueue_on(task: &Arc<Task>, cpu: usize) {
    place(task, cpu);
    with_rq(cpu, |q| push(q, cpu, task, false));
    // the queue's store before the idle mask's load (the idle loop sets
    // its bit, then looks at the queues: one of the two sees the other)
    core::sync::atomic::fence(Ordering::SeqCst);
    if IDLE_MASK.load(Ordering::SeqCst) & (1 << cpu) != 0 {
        if cpu != this_cpu() {
            kick_cpu(cpu);
        }
    } else if wakeup_preempts(task, cpu) {
        // wake-up preemption (Linux's check_preempt_curr): the running
        // task leaves at its next preemption point or return to user
        // mode, not at its next tick; another CPU hears it through the
        // IPI (in user mode the IPI itself brings it into the kernel)
        NEED_RESCHED[cpu].store(true, Ordering::SeqCst);
        if cpu != this_cpu() {
            arch_x86_64::smp::send_resched(cpu);
        }
    }
}

/// Whether `task`, queued on busy CPU `cpu`, should preempt the task
/// running there: a real-time task over a fair one or a lower real-time
/// priority; a fair task over a fair one more than [`WAKEUP_GRAN_NS`] of
/// virtual run time ahead of it.
fn wakeup_preempts(task: &Task, cpu: usize) -> bool {
    let (trt, crt) = (task.rt(), CUR_RT[cpu].load(Ordering::Relaxed));
    if trt > 0 || crt > 0 {
        return trt > crt;
    }
    task.vruntime.load(Ordering::Relaxed).saturating_add(WAKEUP_GRAN_NS)
        < CUR_VRT[cpu].load(Ordering::Relaxed)
}

/// The clock of the kernel's deadlines: the clock users read
/// (`CLOCK_MONOTONIC`), so that a sleep of `d` a user measures with
/// clock_gettime before and after lasts at least `d` on any CPU (the raw
/// per-CPU TSC of `since_boot_ns` can be ahead of another CPU's reading).
pub fn now_ns() -> u64 {
    time::monotonic_ns()
}

/// A deadline `ns` from now on [`now_ns`]'s clock (saturating).
pub fn deadline_after(ns: u64) -> u64 {
    now_ns().saturating_add(ns)
}

/// Makes due sleepers runnable (each to the queue [`select_cpu`] picks),
/// `now_raw` being [`time::since_boot_ns`] read by the caller:
/// one atomic load when none is due, O(log n) per one that is. The cheap
/// per-CPU clock is compared first; only when it says a deadline passed is
/// the shared clock read (`now_ns`, never behind it), so no CPU touches
/// that cache line on a plain tick. Lock order: the sleepers, then a run
/// queue.
fn wake_sleepers(now_raw: u64) {
    if NEXT_DUE.load(Ordering::Relaxed) > now_raw {
        return;
    }
    if SLEEPERS_WAKING.load(Ordering::Relaxed) {
        // another CPU is popping the due sleepers (with NEXT_DUE still
        // saying due until it is done): this CPU's look would only spin
        // behind it and find nothing (a 2-CPU profile had 7 % of its
        // samples there, both CPUs looking at each tick and switch)
        return;
    }
    let now = now_ns();
    loop {
        // popped under the lock, queued after it (a queueing may send
        // the reschedule IPI, an APIC write that QEMU serialises: held
        // across it the lock kept the woken task's next sleep spinning on
        // its own CPU), in batches of WAKE_BATCH
        let mut due: [Option<Arc<Task>>; WAKE_BATCH] = [const { None }; WAKE_BATCH];
        let more = locked(spinlock::SLEEPERS, &SLEEPERS, |s| {
            SLEEPERS_WAKING.store(true, Ordering::Relaxed);
            let mut n = 0;
            while n < WAKE_BATCH
                && let Some(t) = s.pop_due(now)
            {
                due[n] = Some(t);
                n += 1;
            }
            NEXT_DUE.store(s.first().unwrap_or(u64::MAX), Ordering::Relaxed);
            SLEEPERS_WAKING.store(false, Ordering::Relaxed);
            n == WAKE_BATCH
        });
        for t in due.iter().flatten() {
            if try_wake(t) {
                t.woken_by.store(WOKEN_BY_TIMER, Ordering::Relaxed);
                enqueue(t);
            }
        }
        // (the references are dropped here, outside the lock)
        if !more {
            return;
        }
    }
}

/// At a tick's work or before the idle `hlt`: when the earliest
/// sleeper's deadline comes within a tick period, brings this CPU's next
/// timer interrupt forward to it ([`arch_x86_64::apic::timer_early`]; a
/// sleep longer than a tick, such as CPython's 5 ms GIL wait, is armed
/// here at the tick before its deadline). One atomic load when no
/// deadline is that near.
fn arm_next_due(now_raw: u64) {
    let due = NEXT_DUE.load(Ordering::Relaxed);
    if due == u64::MAX || due <= now_raw || due - now_raw >= TICK_NS {
        return;
    }
    arch_x86_64::apic::timer_early((due - now_raw).saturating_add(TIMER_SLACK_NS));
}

/// How many due sleepers [`wake_sleepers`] pops per turn of the
/// sleepers' lock.
const WAKE_BATCH: usize = 8;

/// Set while a CPU pops the due sleepers ([`wake_sleepers`], under the
/// [`SLEEPERS`] lock): a plain flag (no locked instruction) that lets the
/// other CPUs' looks return instead of spinning for the lock. A sleeper
/// that falls due during the pop is found by the next look (every
/// switch, tick and idle turn of every CPU).
static SLEEPERS_WAKING: AtomicBool = AtomicBool::new(false);

/// Takes the task of `q` that `cpu` runs next among those that may run
/// on `cpu` and are off every CPU (or are `prev`, the task this CPU is
/// leaving): the highest real-time priority, then (`yielding`) anyone of
/// its class but `prev` (a yield lets the others of its class run first,
/// as Linux's sched_yield), then for fair tasks the least virtual run
/// time, for real-time ones queue order (a yielding or slice-expired one
/// went to the back, a preempted one to the head: Linux's FIFO/RR
/// lists). `from_back` (another CPU's queue): its real-time task of the
/// highest priority above `rt_above` if any, else the fair task that
/// would run last there (the greatest virtual run time). A task still on
/// its way out of another CPU is left queued: two CPUs that each picked
/// the task the other is leaving would wait for each other for ever. The
/// leaving CPU's `finish_switch` kicks an idle CPU for it. O(log n), plus
/// a step per task passed over.
fn take_runnable(
    q: &mut RunQueue,
    cpu: usize,
    prev: Option<&Arc<Task>>,
    from_back: bool,
    rt_above: u8,
    yielding: bool,
) -> Option<Arc<Task>> {
    let bit = 1u64 << cpu;
    let ok = |t: &Arc<Task>| {
        t.affinity.load(Ordering::Relaxed) & bit != 0
            && (prev.is_some_and(|p| Arc::ptr_eq(t, p)) || !t.on_cpu.load(Ordering::Acquire))
    };
    let slot = if from_back {
        q.tasks.pick_to_steal(ok, rt_above)?
    } else {
        // the yielding task's slot, if it is queued here (under our lock)
        let y = prev
            .filter(|p| yielding && p.rq_cpu.load(Ordering::Relaxed) == cpu)
            .map(|p| p.rq_slot.load(Ordering::Relaxed));
        q.tasks.pick(ok, y)?
    };
    take(q, slot)
}

/// What the running task does at a tick or a preemption point.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Requeue {
    /// It blocked or exited: not queued again.
    No,
    /// A yield or the end of SCHED_RR's slice: behind its equals.
    Yield,
    /// Preempted by a better task: a real-time one keeps its place at
    /// the head of its priority's list (Linux's behaviour).
    Preempt,
    /// Queued on another CPU already (exec's balancing): not queued here,
    /// an involuntary switch (Linux's sched_exec: the CPU's stopper
    /// preempts the task and moves it).
    Moved,
}

/// Whether the running `cur` should leave `cpu` for a task of its queue
/// (`Requeue::No`: stay): a real-time task for a higher priority one
/// (preempted) or an equal one after SCHED_RR's slice (rotated); a fair
/// task for any real-time one, or once its virtual run time is `gran`
/// ahead of the least queued one ([`GRANULARITY_NS`] at a tick,
/// [`WAKEUP_GRAN_NS`] after a wake-up asked for it).
fn should_preempt(cur: &Running, cpu: usize, ran_ns: u64, gran: u64) -> Requeue {
    let bit = 1u64 << cpu;
    let (rt, v, rr) = (cur.rt, cur.vruntime, cur.rr);
    // the first task of the queue's order that may run here decides
    let first = with_rq(cpu, |q| {
        let s = q.tasks.first_where(|t| t.affinity.load(Ordering::Relaxed) & bit != 0)?;
        q.tasks.get(s).map(|(k, _)| k)
    });
    let Some(k) = first else { return Requeue::No };
    let trt = k.rt();
    if rt > 0 {
        if trt > rt {
            Requeue::Preempt
        } else if rr && trt == rt && ran_ns >= RR_SLICE_NS {
            Requeue::Yield
        } else {
            Requeue::No
        }
    } else if trt > 0 || k.vruntime().saturating_add(gran) < v {
        Requeue::Preempt
    } else {
        Requeue::No
    }
}

/// The next task for `cpu`: the head of its own queue, else one stolen
/// from the back of another CPU's queue (the busiest first); the caller
/// holds no run-queue lock.
fn pick(cpu: usize, prev: &Arc<Task>, yielding: bool) -> Option<Arc<Task>> {
    if QLEN[cpu].load(Ordering::Relaxed) != 0
        && let Some(t) = with_rq(cpu, |q| take_runnable(q, cpu, Some(prev), false, 0, yielding))
    {
        return Some(t);
    }
    steal(cpu)
}

/// Takes a task another CPU's queue holds and `cpu` may run (load
/// balancing by stealing: an idle or emptied CPU pulls work).
fn steal(cpu: usize) -> Option<Arc<Task>> {
    let n = nr_cpus();
    let mut order: [(usize, usize); MAX_CPUS] = [(0, 0); MAX_CPUS];
    let mut k = 0;
    for c in (0..n).filter(|&c| c != cpu) {
        let len = QLEN[c].load(Ordering::Relaxed);
        if len != 0 && k < MAX_CPUS {
            order[k] = (len, c);
            k += 1;
        }
    }
    order[..k].sort_unstable_by(|a, b| b.cmp(a));
    for &(_, c) in &order[..k] {
        if let Some(t) = with_rq(c, |q| take_runnable(q, cpu, None, true, 0, true)) {
            // from the victim's fair clock to this CPU's (`enqueue`'s
            // `place` did so for the victim)
            rebase(&t, c, cpu);
            STEALS.fetch_add(1, Ordering::Relaxed);
            return Some(t);
        }
    }
    None
}

/// Tasks taken from another CPU's queue since boot (a log figure).
static STEALS: AtomicU64 = AtomicU64::new(0);

/// One log line of the balancing and IPI counts since boot (logged at
/// power-off: the bench boots' logs show what 2 CPUs cost).
pub fn stats_line() -> alloc::string::String {
    use core::fmt::Write as _;
    let mut s = alloc::string::String::new();
    let _ = write!(
        s,
        "sched: {} steals, {} balancing moves, {} reschedule IPIs taken; TLB shootdown flushes per CPU:",
        STEALS.load(Ordering::Relaxed),
        BALANCED.load(Ordering::Relaxed),
        arch_x86_64::smp::resched_ipis()
    );
    for c in 0..nr_cpus() {
        let _ = write!(s, " {}", arch_x86_64::smp::tlb_flushes(c));
    }
    // where each CPU idled: its halts, its idle time, its idle stretches
    // of 20 ms or more and the longest one (the task run after it, the
    // system call that task slept in, who woke it: a task id, 0 for an
    // idle task's device work, `timer` for a deadline)
    let _ = write!(s, "; idle per CPU:");
    for c in 0..nr_cpus() {
        let (ns, id, nr, by) = *LONGEST_IDLE[c].lock();
        let _ = write!(
            s,
            " [{} halts, {} ms idle, {} stretches >= 20 ms, longest {} ms before task {id} (syscall {}) woken by ",
            HALTS[c].load(Ordering::Relaxed),
            IDLE_NS[c].load(Ordering::Relaxed) / 1_000_000,
            LONG_IDLES[c].load(Ordering::Relaxed),
            ns / 1_000_000,
            nr as i64,
        );
        let _ = if by == WOKEN_BY_TIMER { write!(s, "timer]") } else { write!(s, "task {by}]") };
    }
    // affine29: wake-affine placement, lazy TLB, the idle tick
    let _ = write!(
        s,
        "; {} wake-ups and {} new tasks kept on the waker's CPU, {} idle kicks ({} for a lost sync bet); lazy TLB: {} IPIs skipped, flushes on leaving idle per CPU:",
        SYNC_LOCAL.load(Ordering::Relaxed),
        NEW_LOCAL.load(Ordering::Relaxed),
        KICKS.load(Ordering::Relaxed),
        SYNC_KICKS.load(Ordering::Relaxed),
        arch_x86_64::smp::tlb_lazy_stats(0).0
    );
    for c in 0..nr_cpus() {
        let _ = write!(s, " {}", arch_x86_64::smp::tlb_lazy_stats(c).1);
    }
    // poll30: the idle loops' polling before `hlt`
    let _ = write!(
        s,
        "; {} reschedule IPIs spared by idle polling; polls hit/missed/stolen/ms per CPU:",
        IPIS_SPARED.load(Ordering::Relaxed)
    );
    for c in 0..nr_cpus() {
        let _ = write!(
            s,
            " {}/{}/{}/{}",
            POLL_HITS[c].load(Ordering::Relaxed),
            POLL_MISSES[c].load(Ordering::Relaxed),
            POLL_STOLEN[c].load(Ordering::Relaxed),
            POLL_NS[c].load(Ordering::Relaxed) / 1_000_000
        );
    }
    // tlb33: the shootdowns by reason: requests, IPIs, ms waited, longest
    let _ = write!(s, "; shootdowns requests/IPIs/ms waited/longest us:");
    for (i, name) in arch_x86_64::smp::WHY_NAMES.iter().enumerate() {
        let (calls, ipis, ns, max) = arch_x86_64::smp::shoot_stats(i);
        let _ = write!(s, " {name} {calls}/{ipis}/{}/{}", ns / 1_000_000, max / 1000);
    }
    let (sleeps, wakes) = arch_x86_64::smp::shoot_sleeps();
    let _ = write!(s, "; shootdown senders slept {sleeps} times, woken by {wakes} IPIs");
    let _ = write!(s, "; timer interrupts per CPU:");
    for c in 0..nr_cpus() {
        let _ = write!(s, " {}", arch_x86_64::apic::timer_irqs(c));
    }
    // ticks a stopped vCPU missed are not counted (a loaded host): the
    // clock's count of tick periods since boot beside the ticks taken
    let _ = write!(
        s,
        "; {} timer ticks taken of the clock's {}",
        time::ticks(),
        time::since_boot_ns() / (1_000_000_000 / arch_x86_64::apic::TIMER_HZ)
    );
    s
}

/// Tasks moved between busy CPUs by [`balance_tick`] and at exec since
/// boot (a log figure).
static BALANCED: AtomicU64 = AtomicU64::new(0);

/// CPU `cpu`'s load for balancing: its queued tasks, plus the one it runs
/// unless it idles in `hlt` (read without locks: a hint).
fn load(cpu: usize) -> usize {
    QLEN[cpu].load(Ordering::Relaxed) + usize::from(IDLE_MASK.load(Ordering::Relaxed) & (1 << cpu) == 0)
}

/// Periodic balancing between busy CPUs, at a tick of `cpu` (whose
/// current task has real-time priority `cur_rt`, 0 for a fair one): when the busiest other CPU's load exceeds this
/// one's by more than one task, one task of its queue that may run here
/// moves to this CPU's queue (a real-time one only above `cur_rt`), its virtual run time rebased as a steal does. Idle CPUs
/// steal instead ([`steal`]); this is Linux's periodic
/// sched_balance_rq between busy CPUs, reduced to the task counts.
fn balance_tick(cpu: usize, cur_rt: u8) {
    let n = nr_cpus();
    if n == 1 {
        return;
    }
    kick_for_queued(cpu);
    let mine = load(cpu);
    let Some((busiest, most)) = (0..n).filter(|&c| c != cpu).map(|c| (c, load(c))).max_by_key(|&(_, l)| l)
    else {
        return;
    };
    if most <= mine + 1 || QLEN[busiest].load(Ordering::Relaxed) == 0 {
        return;
    }
    if let Some(t) = with_rq(busiest, |q| take_runnable(q, cpu, None, true, cur_rt, true)) {
        rebase(&t, busiest, cpu);
        with_rq(cpu, |q| push(q, cpu, &t, false));
        BALANCED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Per CPU: how many times it picked a task (a switch or a pick of the
/// same task), written by that CPU only; and the count its last tick saw
/// ([`kick_for_queued`]).
static PICKS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static TICK_PICKS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Per CPU: the tick ([`time::ticks`]) of its last [`kick_for_queued`]
/// look (a wake-up's need-resched brings it to the tick's code between
/// ticks too: one look per tick).
static KICK_TICK: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(u64::MAX) }; MAX_CPUS];

/// Reschedule IPIs sent by [`kick_for_queued`] (a log figure).
static KICKS: AtomicU64 = AtomicU64::new(0);

/// At a tick of busy CPU `cpu`: when tasks wait in its queue and it has
/// not picked a task since its previous tick (the running one kept the
/// CPU for a whole tick), an idle CPU that one of them may use is sent
/// the reschedule IPI, and steals (Linux's nohz idle-balance kick).
/// Wake-affine placement ([`affine_cpu`], [`select_cpu_new`]) bets
/// that the waker or creator is about to leave its CPU; this settles a
/// lost bet within a tick or two, and idle CPUs need no tick of their own
/// to look for work.
fn kick_for_queued(cpu: usize) {
    let tick = time::ticks();
    if KICK_TICK[cpu].load(Ordering::Relaxed) == tick {
        return;
    }
    KICK_TICK[cpu].store(tick, Ordering::Relaxed);
    let picks = PICKS[cpu].load(Ordering::Relaxed);
    let before = TICK_PICKS[cpu].load(Ordering::Relaxed);
    TICK_PICKS[cpu].store(picks, Ordering::Relaxed);
    if picks != before || QLEN[cpu].load(Ordering::Relaxed) == 0 {
        return;
    }
    let idle = IDLE_MASK.load(Ordering::SeqCst) & online_mask() & !(1u64 << cpu);
    if idle == 0 {
        return;
    }
    // the CPUs the queued tasks may use, as far as the idle ones go (the
    // first task usually covers them)
    let wanted = with_rq(cpu, |q| {
        let mut m = 0;
        for (_, _, t) in q.tasks.iter() {
            m |= t.affinity.load(Ordering::Relaxed);
            if idle & !m == 0 {
                break;
            }
        }
        m
    });
    let cand = idle & wanted;
    if cand != 0 {
        KICKS.fetch_add(1, Ordering::Relaxed);
        kick_cpu(cand.trailing_zeros() as usize);
    }
}

/// New tasks started on their creator's CPU by [`select_cpu_new`], and
/// wake-ups placed on the waker's CPU by [`affine_cpu`] (log
/// figures).
static NEW_LOCAL: AtomicU64 = AtomicU64::new(0);
static SYNC_LOCAL: AtomicU64 = AtomicU64::new(0);

/// The CPU a new task starts on: its creator's while nothing else waits
/// there (wake-affine: a creator that waits for it at once, as after
/// vfork, fork + waitpid or pthread_create + join, hands its CPU over
/// without an IPI or a cold CPU; one that runs on loses the task to an
/// idle CPU's steal at its next tick, [`kick_for_queued`]); otherwise
/// the least loaded CPU it may use (an idling one first, Linux's
/// sched_balance_fork), its creator's on a tie.
fn select_cpu_new(task: &Task) -> usize {
    let allowed = task.affinity.load(Ordering::Relaxed) & online_mask();
    let allowed = if allowed == 0 { 1 } else { allowed };
    let here = this_cpu();
    if allowed & (1 << here) != 0 && QLEN[here].load(Ordering::Relaxed) == 0 {
        if nr_cpus() > 1 {
            NEW_LOCAL.fetch_add(1, Ordering::Relaxed);
        }
        return here;
    }
    let idle = IDLE_MASK.load(Ordering::SeqCst);
    // (idling or not, load, not the creator's CPU): the least wins
    (0..nr_cpus())
        .filter(|&c| allowed & (1 << c) != 0)
        .min_by_key(|&c| (idle & (1 << c) == 0, load(c), c != here))
        .unwrap_or(allowed.trailing_zeros() as usize)
}

/// At exec (Linux's sched_exec): the running task moves to the least
/// loaded CPU it may use when that CPU's load is lower than this one's
/// (the task included) by more than one task; a new program has no warm
/// cache to lose.
pub fn balance_exec() {
    let n = nr_cpus();
    if n == 1 {
        return;
    }
    let cpu = this_cpu();
    let me = current();
    let allowed = affinity(&me);
    let mine = load(cpu);
    let Some((to, least)) =
        (0..n).filter(|&c| c != cpu && allowed & (1 << c) != 0).map(|c| (c, load(c))).min_by_key(|&(_, l)| l)
    else {
        return;
    };
    if least + 1 >= mine {
        return;
    }
    // queued there before it leaves this CPU: `pick` on `to` (or a steal)
    // skips it while it is `on_cpu`, and `finish_switch` kicks `to` if it
    // idles by then
    arch_x86_64::cpu::without_interrupts(|| {
        with_cpu(|c| charge_vruntime(&me, c, time::since_boot_ns()));
        rebase(&me, cpu, to);
        with_rq(to, |q| push(q, to, &me, false));
    });
    BALANCED.fetch_add(1, Ordering::Relaxed);
    core::sync::atomic::fence(Ordering::SeqCst);
    if IDLE_MASK.load(Ordering::SeqCst) & (1 << to) != 0 {
        kick_cpu(to);
    }
    drop(me);
    reschedule(Requeue::Moved);
}

/// Whether a queued task may run on `cpu` (its own queue, or one it could
/// steal).
fn has_work(cpu: usize) -> bool {
    let bit = 1u64 << cpu;
    (0..nr_cpus()).any(|c| {
        QLEN[c].load(Ordering::Relaxed) != 0
            && with_rq(c, |q| {
                q.tasks
                    .first_where(|t| {
                        t.affinity.load(Ordering::Relaxed) & bit != 0
                            && (c == cpu || !t.on_cpu.load(Ordering::Acquire))
                    })
                    .is_some()
            })
    })
}

/// Whether this CPU's own queue holds a task it may run (the tick's
/// test: another CPU's queue is for that CPU, or for an idle one to steal).
fn has_own_work(cpu: usize) -> bool {
    let bit = 1u64 << cpu;
    QLEN[cpu].load(Ordering::Relaxed) != 0
        && with_rq(cpu, |q| q.tasks.first_where(|t| t.affinity.load(Ordering::Relaxed) & bit != 0).is_some())
}

/// Moves `cpu`'s fair clock to `next`'s virtual run time (the caller
/// starts its stretch: the CPU slot's `run_start`).
fn note_next(next: &Arc<Task>, idle: *const Task, cpu: usize) {
    // (only this CPU writes its count: no read-modify-write needed)
    PICKS[cpu].store(PICKS[cpu].load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    let is_idle = core::ptr::eq(Arc::as_ptr(next), idle);
    if !is_idle && next.rt() == 0 {
        // (only `cpu` writes its fair clock)
        let v = next.vruntime.load(Ordering::Relaxed);
        if v > MIN_VRUNTIME[cpu].load(Ordering::Relaxed) {
            MIN_VRUNTIME[cpu].store(v, Ordering::Relaxed);
        }
    }
    // what wake-ups elsewhere compare with (the idle task: nothing, its
    // loop looks at the queue itself)
    CUR_RT[cpu].store(if is_idle { 0 } else { next.rt() }, Ordering::Relaxed);
    CUR_VRT[cpu].store(if is_idle { 0 } else { next.vruntime.load(Ordering::Relaxed) }, Ordering::Relaxed);
    CUR_ID[cpu].store(if is_idle { 0 } else { next.id.load(Ordering::Relaxed) }, Ordering::Relaxed);
}

/// Marks `next` as running here. `pick` only hands out tasks that are off
/// every CPU; the wait is a guard (it answers TLB requests meanwhile).
fn claim(next: &Task, cpu: usize) {
    while next.on_cpu.load(Ordering::Acquire) {
        arch_x86_64::smp::poll_tlb();
        core::hint::spin_loop();
    }
    next.on_cpu.store(true, Ordering::Relaxed);
    next.last_cpu.store(cpu, Ordering::Relaxed);
}

/// Switches to the next runnable task; `requeue` puts the current one back
/// on the run queue first (a yield, or a preemption), otherwise it must be
/// blocked or dead (or already queued again by a waker).
fn reschedule(requeue: Requeue) {
    arch_x86_64::cpu::without_interrupts(|| {
        let cpu = this_cpu();
        // one clock read for the switch's bookkeeping (each is a helper
        // call under QEMU's TCG, and ended the block under --icount)
        let now = time::since_boot_ns();
        // (the idle task by address: a reference is taken only when it
        // runs next; every reference counted is a locked instruction, an
        // atomic helper call under multi-threaded TCG)
        let Some((prev, idle)) = with_cpu(|c| {
            let (p, i) = match (&c.current, &c.idle) {
                (Some(p), Some(i)) => (p.clone(), Arc::as_ptr(i)),
                _ => return None,
            };
            // charged before it is queued again: its place in the fair
            // order is its virtual run time now
            if !core::ptr::eq(Arc::as_ptr(&p), i) {
                charge_vruntime(&p, c, now);
            }
            Some((p, i))
        }) else {
            return;
        };
        let is_idle = core::ptr::eq(Arc::as_ptr(&prev), idle);
        wake_sleepers(now);
        if matches!(requeue, Requeue::Yield | Requeue::Preempt) && !is_idle {
            if prev.affinity.load(Ordering::Relaxed) & (1 << cpu) != 0 {
                // behind its equals on this CPU (`pick` takes it again when
                // it is the only one of its class); a preempted real-time
                // task at the head of its priority's list
                let front = requeue == Requeue::Preempt && prev.rt() > 0;
                with_rq(cpu, |q| push(q, cpu, &prev, front));
            } else {
                // its affinity no longer allows this CPU
                enqueue(&prev);
            }
        }
        // a wake-up from here on asks again (about the next task)
        clear_need_resched(cpu);
        let Some(next) = pick(cpu, &prev, requeue == Requeue::Yield).or_else(|| with_cpu(|c| c.idle.clone()))
        else {
            return;
        };
        note_next(&next, idle, cpu);
        if Arc::ptr_eq(&prev, &next) {
            with_cpu(|c| {
                c.run_start = now;
                c.slice_start = now;
            });
            return;
        }
        if !core::ptr::eq(Arc::as_ptr(&next), idle) {
            claim(&next, cpu);
        }
        with_cpu(|c| {
            // the slot's reference to `prev` moves to `prev`'s slot
            c.prev = c.current.replace(next.clone());
            c.run_start = now;
            c.slice_start = now;
        });
        crate::lockorder::check_switch();
        // (a sleep or an exit is voluntary; a yield, a preemption or a
        // move is not: Linux's nvcsw/nivcsw)
        account_switch(&prev, &next, requeue == Requeue::No, now);
        context::switch(&prev.kthread, &next.kthread);
        finish_switch();
    });
}

/// Clears `cpu`'s need-resched flag (this CPU's own) before it picks its
/// next task; returns whether it was set. A load, and a swap only when it
/// was set: a swap is an `xchg` with memory, which multi-threaded TCG runs
/// as an atomic helper call, so the common case (clear) pays none on
/// every switch and preemption point; a waker that queues a task after
/// the swap sets it again.
fn clear_need_resched(cpu: usize) -> bool {
    // only a set flag pays the swap: a plain store could overwrite a
    // waker's `true` set between the load and it, and preempt_if_due's
    // queue-length load has no lock to order it after the clear
    NEED_RESCHED[cpu].load(Ordering::Relaxed) && NEED_RESCHED[cpu].swap(false, Ordering::AcqRel)
}

/// Gives the CPU to the next runnable task.
pub fn yield_now() {
    reschedule(Requeue::Yield);
}

/// Yields if the running task has used up its time slice (called when a
/// timer interrupt arrives in user mode).
pub fn preempt_tick() {
    let cpu = this_cpu();
    SEEN_TICK[cpu].store(time::ticks(), Ordering::Relaxed);
    let now = time::since_boot_ns();
    LOOK_NS[cpu].store(now, Ordering::Relaxed);
    device_work(cpu);
    wake_sleepers(now);
    arm_next_due(now);
    preempt_if_due(cpu);
}

/// The end of a tick's work and of a preemption point: charges the
/// running task and switches if its slice is over, a better task waits
/// (a wake-up's need-resched), or its CPU mask excludes this CPU.
fn preempt_if_due(cpu: usize) {
    let now = time::since_boot_ns();
    // one look at this CPU's slot: the running task charged and what the
    // decision needs of it (moved out and back: no reference count taken
    // and dropped, two locked instructions per preemption point)
    let facts = with_cpu(|c| {
        let cur = c.current.take()?;
        let r = if c.idle.as_ref().is_some_and(|i| Arc::ptr_eq(&cur, i)) {
            None
        } else {
            charge_vruntime(&cur, c, now);
            Some(Running {
                slice_start: c.slice_start,
                mine: cur.affinity.load(Ordering::Relaxed) & (1 << cpu) != 0,
                rt: cur.rt(),
                vruntime: cur.vruntime.load(Ordering::Relaxed),
                rr: cur.policy.load(Ordering::Relaxed) == SCHED_RR,
            })
        };
        c.current = Some(cur);
        r
    });
    let Some(cur) = facts else { return };
    balance_tick(cpu, cur.rt);
    let ran = now.saturating_sub(cur.slice_start);
    let gran = if clear_need_resched(cpu) { WAKEUP_GRAN_NS } else { GRANULARITY_NS };
    let how = if !cur.mine {
        Requeue::Yield
    } else if QLEN[cpu].load(Ordering::Relaxed) != 0 {
        should_preempt(&cur, cpu, ran, gran)
    } else {
        Requeue::No
    };
    if how != Requeue::No {
        reschedule(how);
    }
}

/// What [`preempt_if_due`] needs of the running task.
struct Running {
    /// When its slice began (the CPU slot's `slice_start`).
    slice_start: u64,
    /// Its CPU mask allows this CPU.
    mine: bool,
    /// Its real-time priority (0: fair).
    rt: u8,
    /// Its virtual run time, just charged.
    vruntime: u64,
    /// SCHED_RR.
    rr: bool,
}

/// A preemption point (Linux's `cond_resched`), for loops whose length a
/// user picks (fork's copies of an address space and an fd table, a big
/// munmap, read and write, getdents, close_range, exec's argument copy
/// and old image, a truncation): once per tick, counted or on the clock
/// ([`LOOK_NS`]), it does the tick's work (the CPU 0 timers and device
/// pumps, due sleepers) and gives the CPU up if the running task's slice
/// is over or a woken task should preempt it. Two loads and a clock read
/// otherwise.
///
/// The caller holds no spin lock and runs with interrupts on (a switch
/// with a lock held hangs whoever takes it next on this CPU); a debug
/// build checks what it can (interrupts, the Ranked locks) and reports a
/// violation as a `lock order:` line instead of switching.
pub fn cond_resched() {
    let cpu = this_cpu();
    let tick = time::ticks();
    if SEEN_TICK[cpu].load(Ordering::Relaxed) == tick
        && !NEED_RESCHED[cpu].load(Ordering::Relaxed)
        && time::since_boot_ns() < LOOK_NS[cpu].load(Ordering::Relaxed).saturating_add(TICK_NS)
    {
        return;
    }
    if cfg!(debug_assertions)
        && (!arch_x86_64::cpu::interrupts_enabled() || crate::lockorder::held_count() != 0)
    {
        static ONCE: AtomicBool = AtomicBool::new(false);
        if !ONCE.swap(true, Ordering::Relaxed) {
            log::error!(
                "lock order: a preemption point with interrupts {} and {} Ranked lock(s) held",
                if arch_x86_64::cpu::interrupts_enabled() { "on" } else { "off" },
                crate::lockorder::held_count()
            );
        }
        return;
    }
    if with_cpu(|c| c.current.is_none()) {
        return;
    }
    tick_point(cpu, tick);
}

/// A preemption point's work once it found a new tick, a tick period
/// passed on the clock, or the flag.
fn tick_point(cpu: usize, tick: u64) {
    let now = time::since_boot_ns();
    let counted = SEEN_TICK[cpu].swap(tick, Ordering::Relaxed) != tick;
    if counted || now >= LOOK_NS[cpu].load(Ordering::Relaxed).saturating_add(TICK_NS) {
        LOOK_NS[cpu].store(now, Ordering::Relaxed);
        device_work(cpu);
        wake_sleepers(now);
        arm_next_due(now);
    }
    preempt_if_due(cpu);
}

/// The return to user mode's preemption point (after a system call, a
/// fault or an interrupt; not after the quick calls answered with
/// interrupts off): a woken task that should preempt the running one
/// runs before the call returns (a real-time reader woken by a pipe
/// write), and a tick that came while the thread was in the kernel
/// counts (a thread that spends its time in system calls or page faults
/// would otherwise see only the ticks that land in user mode); so does a
/// tick period passed on the clock by the entry to the kernel (a tick
/// QEMU dropped: [`LOOK_NS`]). Four loads when there is nothing to do
/// (the entry's clock reading is [`charge`]'s).
pub fn resched_before_user() {
    let cpu = this_cpu();
    sync_check(cpu);
    let tick = time::ticks();
    if NEED_RESCHED[cpu].load(Ordering::Relaxed)
        || SEEN_TICK[cpu].load(Ordering::Relaxed) != tick
        || BOUNDARY_NS[cpu].load(Ordering::Relaxed)
            >= LOOK_NS[cpu].load(Ordering::Relaxed).saturating_add(TICK_NS)
    {
        // for every class: SCHED_RR's slice ends at the first tick after
        // it, wherever the tick lands (Linux's task_tick_rt)
        tick_point(cpu, tick);
    }
}

/// The timers and the device pumps: on CPU 0, which takes every device
/// interrupt (the I/O APIC routes them there) and counts the ticks; one
/// CPU, so that console input keeps its order.
fn device_work(cpu: usize) {
    if cpu == 0 {
        crate::loadavg::sample();
        crate::itimer::check();
        crate::console::pump();
        crate::nic::pump();
        crate::blk::pump();
    }
}

/// A tick interrupted the running task in user mode while some process
/// has a finite RLIMIT_RTTIME: counts the tick if the task is SCHED_FIFO
/// or SCHED_RR and returns its ticks since it last blocked (0 for other
/// tasks, whose count stays 0: Linux's task_tick_rt() watchdog).
pub fn rt_tick() -> u32 {
    with_cpu(|c| {
        c.current.as_ref().map_or(0, |t| {
            if t.rt() == 0 {
                return 0;
            }
            let n = t.rt_ticks.load(Ordering::Relaxed).saturating_add(1);
            t.rt_ticks.store(n, Ordering::Relaxed);
            n
        })
    })
}

/// Blocks the running task until [`wake`] (returns at once if a wake-up
/// arrived since the task last blocked).
pub fn block() {
    // the running task borrowed in its CPU slot, not cloned: a reference
    // taken and dropped is two locked instructions (atomic helper calls
    // under multi-threaded TCG) on every sleep; nothing here switches
    let pending = with_cpu(|c| {
        let Some(me) = c.current.as_ref() else { panic!("block before sched::init") };
        me.state.store(BLOCKED, Ordering::SeqCst);
        if me.wake_pending.swap(false, Ordering::SeqCst)
            && me.state.compare_exchange(BLOCKED, RUNNABLE, Ordering::SeqCst, Ordering::SeqCst).is_ok()
        {
            return true;
        }
        // Blocked, or already made runnable (and queued) by a waker on
        // another CPU: either way the scheduler takes it from here (a
        // queued task that is still switching away is not run elsewhere
        // before it is off this CPU: `claim`). It slept: RLIMIT_RTTIME
        // counts afresh (Linux clears `rt.timeout` when it enqueues the
        // woken task).
        me.rt_ticks.store(0, Ordering::Relaxed);
        false
    });
    if !pending {
        reschedule(Requeue::No);
    }
}

/// Blocks until [`wake`] or until [`now_ns`] reaches `deadline_ns`.
pub fn block_until(deadline_ns: u64) {
    let me = current();
    let filed = locked(spinlock::SLEEPERS, &SLEEPERS, |s| {
        let r = s.insert(deadline_ns, &me);
        NEXT_DUE.store(s.first().unwrap_or(u64::MAX), Ordering::Relaxed);
        r
    });
    if filed.is_err() {
        // No memory for the heap to grow: yield until a wake-up (which
        // finds the task runnable and leaves it pending) or the deadline.
        log::warn!("sched: no memory for a timed sleep of task {}: polling", me.id.load(Ordering::Relaxed));
        while !me.wake_pending.swap(false, Ordering::SeqCst) && now_ns() < deadline_ns {
            yield_now();
        }
        return;
    }
    // a deadline before this CPU's next timer interrupt brings that
    // interrupt forward to it (plus Linux's default timer slack, which
    // also covers an AP's clock lagging the deadline's): ended at the
    // next tick instead, a 1 ms futex wait took 5.6 ms and a 5 ms one 8
    // (CPython's GIL hand-over waits 5 ms)
    let left = deadline_ns.saturating_sub(now_ns());
    arch_x86_64::apic::timer_early(left.saturating_add(TIMER_SLACK_NS));
    block();
    // woken before the deadline: leave the heap (dropped after the lock)
    let left = locked(spinlock::SLEEPERS, &SLEEPERS, |s| {
        let t = s.remove(&me);
        NEXT_DUE.store(s.first().unwrap_or(u64::MAX), Ordering::Relaxed);
        t
    });
    drop(left);
}

/// A sync wake-up placed on this CPU ([`wake_sync`]) bets that the waker
/// blocks soon: 0 when no bet is open, else 1 + the CPU's pick count at
/// the wake-up, with the high bit once the waker went back to user mode
/// (from the waking call) without blocking.
static SYNC_BET: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
const SYNC_BET_SEEN: u64 = 1 << 63;

fn arm_sync_check(cpu: usize) {
    let picks = PICKS[cpu].load(Ordering::Relaxed);
    SYNC_BET[cpu].store((picks.wrapping_add(1)) & !SYNC_BET_SEEN, Ordering::Relaxed);
}

/// On the way back to user mode: a waker that placed its wakee on this
/// CPU and then returns to user mode a second time without having left
/// the CPU (no pick since: a pipe writer that goes on writing) lost the
/// bet, and its wakee would wait behind it until the tick's kick
/// ([`kick_for_queued`]): an idle CPU is kicked now to steal it (a
/// normal wake-up's placement, late). The first return is the waking
/// call's own (a ping-pong's writer reads and blocks next). One load
/// when no bet is open.
fn sync_check(cpu: usize) {
    let bet = SYNC_BET[cpu].load(Ordering::Relaxed);
    if bet == 0 {
        return;
    }
    let picks = PICKS[cpu].load(Ordering::Relaxed).wrapping_add(1) & !SYNC_BET_SEEN;
    if bet & !SYNC_BET_SEEN != picks {
        // the CPU switched since: the waker blocked (or was preempted)
        SYNC_BET[cpu].store(0, Ordering::Relaxed);
    } else if bet & SYNC_BET_SEEN == 0 {
        SYNC_BET[cpu].store(bet | SYNC_BET_SEEN, Ordering::Relaxed);
    } else {
        SYNC_BET[cpu].store(0, Ordering::Relaxed);
        let idle = IDLE_MASK.load(Ordering::SeqCst) & online_mask() & !(1u64 << cpu);
        if QLEN[cpu].load(Ordering::Relaxed) > 0 && idle != 0 {
            SYNC_KICKS.fetch_add(1, Ordering::Relaxed);
            // through the polling protocol: a polling CPU needs no IPI
            kick_cpu(idle.trailing_zeros() as usize);
        }
    }
}

/// Kicks by [`sync_check`] (a lost sync bet), for the power-off line.
static SYNC_KICKS: AtomicU64 = AtomicU64::new(0);

/// Makes `task` runnable (or remembers the wake-up if it is running). A
/// task running on another CPU is sent the reschedule IPI, so that a
/// signal reaches a thread spinning in user mode at once.
pub fn wake(task: &Arc<Task>) {
    wake_with(task, false);
}

/// As [`wake`], from a waker that is about to block or exit (Linux's
/// WF_SYNC: a pipe's writer that reads the answer next, a child's exit
/// waking its parent in wait, the vfork child's release of its parent):
/// the task joins the waker's CPU when nothing else waits there
/// ([`affine_cpu`]).
pub fn wake_sync(task: &Arc<Task>) {
    wake_with(task, true);
}

fn wake_with(task: &Arc<Task>, sync: bool) {
    if try_wake(task) {
        task.woken_by.store(current_id(), Ordering::Relaxed);
        if sync && let Some(cpu) = affine_cpu(task) {
            // no wake-up preemption of a waker about to block (both are
            // fair tasks): the switch would requeue the waker, and an
            // idle CPU kicked for it would split the pair the placement
            // keeps together
            place(task, cpu);
            with_rq(cpu, |q| push(q, cpu, task, false));
            arm_sync_check(cpu);
        } else {
            enqueue_on(task, select_cpu(task));
        }
    } else if task.on_cpu.load(Ordering::SeqCst) {
        let cpu = task.last_cpu.load(Ordering::Relaxed);
        if cpu != this_cpu() && task.state.load(Ordering::Relaxed) == RUNNABLE {
            arch_x86_64::smp::send_resched(cpu);
        }
    }
}

/// Ends the running task. Whatever it owned on its stack must already be
/// dropped: the caller keeps no locals alive across this call.
pub fn exit_current() -> ! {
    arch_x86_64::cpu::disable_interrupts();
    let next = {
        let cpu = this_cpu();
        let (me, idle) = with_cpu(|c| (c.current.clone(), c.idle.clone()));
        let (Some(me), Some(idle)) = (me, idle) else { panic!("exit_current before sched::init") };
        me.state.store(DEAD, Ordering::SeqCst);
        if me.notify.swap(false, Ordering::SeqCst) {
            NOTIFY_TASKS.fetch_sub(1, Ordering::SeqCst);
        }
        let now = time::since_boot_ns();
        wake_sleepers(now);
        clear_need_resched(cpu);
        let next = pick(cpu, &me, false).unwrap_or_else(|| idle.clone());
        note_next(&next, Arc::as_ptr(&idle), cpu);
        if !Arc::ptr_eq(&next, &idle) {
            claim(&next, cpu);
        }
        with_cpu(|c| {
            c.current = Some(next.clone());
            c.prev = Some(me.clone());
            c.run_start = now;
            c.slice_start = now;
        });
        account_switch(&me, &next, true, now);
        next.kthread.clone()
    };
    context::exit_to(next)
}

/// The idle loop of a CPU: runs tasks while there are any, halts otherwise;
/// returns when `done()` says so (the boot CPU's, waiting for init).
pub fn idle_until(done: impl Fn() -> bool) {
    let cpu = this_cpu();
    // when this CPU's current idle stretch began (the first `hlt` since it
    // last ran a task)
    let mut stretch: Option<u64> = None;
    // an AP that idled through a whole tick slows its timer to one
    // interrupt per IDLE_TICK_FACTOR ticks until it leaves idle (CPU 0
    // keeps its tick: it counts the ticks and runs the timers, the device
    // pumps and the sleepers' expiry)
    let mut idle_since: Option<u64> = None;
    loop {
        if done() {
            tick_normal(cpu);
            return;
        }
        device_work(cpu);
        // ended threads' kernel stacks beyond the few kept for reuse are
        // unmapped here (a TLB shootdown: never under a lock)
        context::reclaim_stacks();
        arch_x86_64::cpu::disable_interrupts();
        IDLE_MASK.fetch_or(1 << cpu, Ordering::SeqCst);
        // a kick from here on is for work the look below may miss (its
        // bit stays set and ends the poll)
        IDLE_POLL[cpu].fetch_and(!KICKED, Ordering::SeqCst);
        wake_sleepers(time::since_boot_ns());
        if has_work(cpu) {
            IDLE_MASK.fetch_and(!(1 << cpu), Ordering::SeqCst);
            tick_normal(cpu);
            idle_since = None;
            arch_x86_64::cpu::enable_interrupts();
            if let Some(t0) = stretch.take() {
                note_stretch(cpu, time::since_boot_ns().saturating_sub(t0));
            }
            yield_now();
        } else {
            // a wake-up after the look above sees our bit and kicks:
            // the poll sees the kick bit, `sti; hlt` the IPI
            let t0 = time::since_boot_ns();
            stretch.get_or_insert(t0);
            if cpu != 0 {
                match idle_since {
                    None => idle_since = Some(t0),
                    Some(since) if t0.saturating_sub(since) >= TICK_NS => tick_slow(cpu),
                    Some(_) => {}
                }
            }
            // lazy TLB: shootdowns of the user address space still loaded
            // here mark this CPU stale instead of interrupting it; it
            // flushes on the way out if one did
            arch_x86_64::smp::tlb_lazy_enter();
            // (with every other CPU idle nobody but an interrupt brings
            // work: no poll, and the stretch says nothing about polling)
            let busy = others_busy(cpu);
            let limit = if t0 < POLL_BACKOFF_UNTIL[cpu].load(Ordering::Relaxed) || !busy {
                0
            } else {
                POLL_LIMIT_NS[cpu].load(Ordering::Relaxed)
            };
            let woken = limit != 0 && poll_idle(cpu, limit, t0);
            if !woken {
                // (a sleeper due before the next tick ends the `hlt`)
                arm_next_due(time::since_boot_ns());
                add_own(&HALTS[cpu], 1);
                arch_x86_64::cpu::enable_interrupts_and_wait();
            }
            arch_x86_64::smp::tlb_lazy_leave();
            let t1 = time::since_boot_ns();
            add_own(&IDLE_NS[cpu], t1.saturating_sub(t0));
            if busy {
                // (a stretch an interrupt ended without work grows nothing:
                // the interrupt ends a `hlt` as well)
                let work = IDLE_POLL[cpu].load(Ordering::Relaxed) & KICKED != 0
                    || QLEN[cpu].load(Ordering::Relaxed) != 0;
                adapt_poll(cpu, limit, t1.saturating_sub(t0), work);
            }
            IDLE_MASK.fetch_and(!(1 << cpu), Ordering::SeqCst);
        }
    }
}

/// Per CPU: how long its idle loop polls before it halts (0: it halts at
/// once), adapted after each idle stretch by [`adapt_poll`].
static POLL_LIMIT_NS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// The longest poll (Linux's guest_halt_poll_ns default): an idle
/// stretch longer than this is not worth a poll. Bounds the host time a
/// polling vCPU burns: at most this per idle stretch, and a CPU whose
/// stretches are longer stops polling after a few of them.
const POLL_MAX_NS: u64 = 200_000;

/// The first poll length once a stretch short enough was seen (Linux's
/// guest_halt_poll_grow_start); below it the limit drops to 0.
const POLL_GROW_START_NS: u64 = 50_000;

/// A gap this long between two clock readings of a poll means the host
/// did not run this vCPU meanwhile (a batch of the poll loop takes about a
/// microsecond under TCG).
const POLL_STOLEN_NS: u64 = 100_000;

/// How long a CPU whose poll was stolen ([`POLL_STOLEN_NS`]) halts at once
/// (Linux polls in a guest only on the host's dedicated CPUs,
/// KVM_HINTS_REALTIME; on shared ones a spinning vCPU takes the host time
/// its partner needs).
const POLL_BACKOFF_NS: u64 = 100_000_000;

/// Per CPU: its polls' hit score (a hit adds [`POLL_HIT_CREDIT`], up to
/// [`POLL_SCORE_MAX`]; a poll that ran out takes 1): a poll that runs out
/// with the score at 0 starts a back-off of [`POLL_BACKOFF_NS`], so at
/// most one poll in `POLL_HIT_CREDIT + 1` runs out for long. Under TCG
/// on a loaded host the partner vCPU is often not running, and a polling
/// vCPU takes host time from it: without this most polls ran out (1 hit
/// in 15, 3 s of polling per CPU in a 31 s suite run).
static POLL_SCORE: [core::sync::atomic::AtomicI64; MAX_CPUS] =
    [const { core::sync::atomic::AtomicI64::new(0) }; MAX_CPUS];
const POLL_HIT_CREDIT: i64 = 4;
const POLL_SCORE_MAX: i64 = 64;

/// Per CPU: until when ([`time::since_boot_ns`]) it does not poll.
static POLL_BACKOFF_UNTIL: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Per CPU: polls that found the host's cores oversubscribed (a log figure).
static POLL_STOLEN: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Per CPU: polls that found work (or a kick), polls that ran out and
/// halted, and the nanoseconds spent polling (log figures: the host CPU
/// time that polling costs).
static POLL_HITS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static POLL_MISSES: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static POLL_NS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// The idle loop's poll before `hlt` (Linux's cpuidle-haltpoll for VM
/// guests): with [`POLLING`] set and interrupts on, spins until this
/// CPU's queue holds a task, a kick arrives ([`KICKED`]), an interrupt
/// came (a device's or the timer's: the loop's device work and sleepers
/// look next, as after a `hlt`) or `limit_ns` from `t0` passed. Whether
/// the loop should look again instead of halting. Called and returns
/// with interrupts off; after [`POLLING`] is cleared a kick sends the IPI
/// again, which a `sti; hlt` then takes.
///
/// No `pause` in the loop: under QEMU's TCG each one leaves the vCPU's
/// execution loop and takes QEMU's global lock, which the other vCPUs
/// need for their APIC writes.
fn poll_idle(cpu: usize, limit_ns: u64, t0: u64) -> bool {
    if nr_cpus() == 1 {
        // only an interrupt brings work: nothing to poll for
        return false;
    }
    let flags = &IDLE_POLL[cpu];
    let irqs = arch_x86_64::trap::irqs_taken();
    let queued = QLEN[cpu].load(Ordering::Relaxed);
    let deadline = t0.saturating_add(limit_ns);
    flags.fetch_or(POLLING, Ordering::SeqCst);
    arch_x86_64::cpu::enable_interrupts();
    let (mut irq, mut stolen) = (false, false);
    let mut last = time::since_boot_ns();
    'poll: loop {
        // the clock once per batch (a helper call under TCG)
        for _ in 0..32 {
            if flags.load(Ordering::Relaxed) & KICKED != 0 || QLEN[cpu].load(Ordering::Relaxed) > queued {
                break 'poll;
            }
            if arch_x86_64::trap::irqs_taken() != irqs {
                irq = true;
                break 'poll;
            }
        }
        let now = time::since_boot_ns();
        if now.saturating_sub(last) >= POLL_STOLEN_NS {
            // the host ran something else instead of this vCPU: its
            // cores are oversubscribed, where a spinning vCPU only takes
            // time from the one with work (and a halted one is woken
            // faster by the host's scheduler)
            stolen = true;
            break;
        }
        if now >= deadline || !others_busy(cpu) {
            break;
        }
        last = now;
    }
    arch_x86_64::cpu::disable_interrupts();
    let was = flags.fetch_and(!POLLING, Ordering::SeqCst);
    let t1 = time::since_boot_ns();
    POLL_NS[cpu].fetch_add(t1.saturating_sub(t0), Ordering::Relaxed);
    let hit = was & KICKED != 0 || QLEN[cpu].load(Ordering::Relaxed) > queued;
    // the hit score: a hit earns POLL_HIT_CREDIT, a poll that ran out
    // costs 1; below 0 polling is not worth its host time
    let score = &POLL_SCORE[cpu];
    let mut back_off = stolen;
    if hit {
        score.store((score.load(Ordering::Relaxed) + POLL_HIT_CREDIT).min(POLL_SCORE_MAX), Ordering::Relaxed);
    } else if !irq && !stolen {
        POLL_MISSES[cpu].fetch_add(1, Ordering::Relaxed);
        let left = score.load(Ordering::Relaxed) - 1;
        back_off |= left < 0;
        score.store(left.max(0), Ordering::Relaxed);
    }
    if stolen {
        POLL_STOLEN[cpu].fetch_add(1, Ordering::Relaxed);
    }
    if back_off {
        POLL_LIMIT_NS[cpu].store(0, Ordering::Relaxed);
        POLL_BACKOFF_UNTIL[cpu].store(t1.saturating_add(POLL_BACKOFF_NS), Ordering::Relaxed);
    }
    if hit {
        POLL_HITS[cpu].fetch_add(1, Ordering::Relaxed);
        return true;
    }
    irq
}

/// Whether a CPU other than `cpu` runs a task (one that may wake a task
/// for `cpu`): with every other CPU idle only an interrupt brings work,
/// which ends a `hlt` as well, so the idle loop does not poll.
fn others_busy(cpu: usize) -> bool {
    online_mask() & !IDLE_MASK.load(Ordering::Relaxed) & !(1u64 << cpu) != 0
}

/// Adapts CPU `cpu`'s poll length after an idle stretch of `block_ns`
/// (poll and halt) that polled for up to `limit` (after Linux's haltpoll
/// governor, with a narrower window to grow): a stretch the poll covered
/// keeps it; one that outlasted it but that a poll twice as long (at
/// least [`POLL_GROW_START_NS`], at most [`POLL_MAX_NS`]) would have
/// covered doubles it; a longer one halves it (to 0 below
/// [`POLL_GROW_START_NS`]). Only a stretch that ended with work for this
/// CPU (`work`: a kick, a queued task) grows it. Haltpoll grows on any stretch under its
/// maximum; under TCG on a loaded host the wake-up times spread too
/// widely for that: most polls ran out (one miss in 15 hit).
fn adapt_poll(cpu: usize, limit: u64, block_ns: u64, work: bool) {
    if time::since_boot_ns() < POLL_BACKOFF_UNTIL[cpu].load(Ordering::Relaxed) {
        // no polling for a while: the host's cores are oversubscribed
        return;
    }
    let grown = limit.saturating_mul(2).clamp(POLL_GROW_START_NS, POLL_MAX_NS);
    let new = if block_ns <= limit {
        return;
    } else if block_ns <= grown {
        if !work {
            return;
        }
        grown
    } else {
        let half = limit / 2;
        if half < POLL_GROW_START_NS { 0 } else { half }
    };
    if new != limit {
        POLL_LIMIT_NS[cpu].store(new, Ordering::Relaxed);
    }
}

/// Per CPU: `hlt`s of its idle loop since boot (a log figure).
static HALTS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Per CPU: idle stretches (from its first `hlt` with nothing to run to
/// the next task it runs) of at least [`LONG_IDLE_NS`] since boot.
static LONG_IDLES: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Per CPU: its longest idle stretch so far, in ns, and how it ended:
/// the task that ran next, the system call it slept in, and who woke it
/// ([`Task::woken_by`]). A power-off log figure, to find sleeps that last
/// longer than what they wait for (docs/bench.md, idle29).
static LONGEST_IDLE: [spin::Mutex<(u64, u64, u64, u64)>; MAX_CPUS] =
    [const { spin::Mutex::new((0, 0, 0, 0)) }; MAX_CPUS];

/// An idle stretch at least this long is counted in [`LONG_IDLES`].
const LONG_IDLE_NS: u64 = 20_000_000;

/// Notes an idle stretch of `ns` of CPU `cpu` that ends now (the idle
/// task is about to run the next task). Interrupts are on.
fn note_stretch(cpu: usize, ns: u64) {
    if ns < LONG_IDLE_NS {
        return;
    }
    LONG_IDLES[cpu].fetch_add(1, Ordering::Relaxed);
    if ns <= LONGEST_IDLE[cpu].lock().0 {
        return;
    }
    // the task it is about to run: the head of its queue (a hint; the
    // pick may still take another)
    let next = with_rq(cpu, |q| q.tasks.first().and_then(|s| q.tasks.get(s)).map(|(_, t)| t.clone()));
    let (id, nr, by) = next.as_ref().map_or((0, u64::MAX, 0), |t| {
        (t.id.load(Ordering::Relaxed), t.entry.get().0, t.woken_by.load(Ordering::Relaxed))
    });
    *LONGEST_IDLE[cpu].lock() = (ns, id, nr, by);
    drop(next);
}

/// An idle AP's timer interrupts once per this many ticks (10 Hz at 250
/// Hz): a safety net only. Work queued for an idle CPU comes with the
/// reschedule IPI; work queued on a busy CPU that an idle one could steal,
/// with the busy CPU's kick at its tick ([`kick_for_queued`]).
const IDLE_TICK_FACTOR: u32 = 25;

/// Per CPU: its timer runs at the idle rate ([`IDLE_TICK_FACTOR`]).
static TICK_SLOW: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

/// Slows this idle CPU's timer (once).
fn tick_slow(cpu: usize) {
    if !TICK_SLOW[cpu].swap(true, Ordering::Relaxed) {
        arch_x86_64::apic::timer_slow(IDLE_TICK_FACTOR);
    }
}

/// Gives this CPU its full tick back if [`tick_slow`] took it.
fn tick_normal(cpu: usize) {
    if TICK_SLOW[cpu].load(Ordering::Relaxed) {
        TICK_SLOW[cpu].store(false, Ordering::Relaxed);
        arch_x86_64::apic::timer_normal();
    }
}

/// Waits for `cond` in the idle task, which may not block: other tasks
/// and the device pumps run meanwhile (a holder of what it waits for may
/// need them: a flusher asleep on the disk), or a spin before the
/// scheduler runs.
pub fn idle_wait(cond: impl Fn() -> bool) {
    if with_cpu(|c| c.current.is_some()) {
        idle_until(cond);
    } else {
        while !cond() {
            core::hint::spin_loop();
        }
    }
}

/// The CPUs task `task` may run on.
pub fn affinity(task: &Task) -> u64 {
    task.affinity.load(Ordering::Relaxed) & online_mask()
}

/// Restricts `task` to the CPUs of `mask` (already checked to hold an
/// online CPU); the running task leaves a CPU it may no longer use.
pub fn set_affinity(task: &Arc<Task>, mask: u64) {
    task.affinity.store(mask, Ordering::SeqCst);
    // queued on a CPU it may no longer use: move it (no allowed CPU would
    // look there except to steal when idle)
    let moved = with_queued(task, |q, c, slot| if mask & (1 << c) == 0 { take(q, slot) } else { None });
    if let Some(t) = moved.flatten() {
        enqueue(&t);
    }
    let me = current();
    if Arc::ptr_eq(task, &me) && mask & (1 << this_cpu()) == 0 {
        drop(me);
        kick_idle(task);
        yield_now();
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
    relays: Vec<Weak<dyn Relay>>,
}

/// What a queue's wake-up is passed on to ([`WaitQueue::add_relay`]):
/// another queue (woken), or epoll's per-item hook, which puts its item
/// on the instance's ready list and wakes the instance (Linux's
/// `ep_poll_callback`). Called with no queue lock held; it must not sleep.
pub trait Relay: Send + Sync {
    /// The queue it listens to was woken.
    fn relayed(&self);
}

impl Relay for WaitQueue {
    fn relayed(&self) {
        self.wake_all();
    }
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
        let mut g = spinlock::lock(spinlock::WAIT_QUEUE, &self.inner);
        // two fds of one pipe name one queue: register once
        if !g.tasks.iter().any(|t| Arc::ptr_eq(t, task)) {
            g.tasks.push(task.clone());
        }
    }

    fn remove(&self, task: &Arc<Task>) {
        self.remove_ptr(Arc::as_ptr(task));
    }

    /// As `remove`, by the task's address (compared, never dereferenced).
    fn remove_ptr(&self, task: *const Task) {
        spinlock::lock(spinlock::WAIT_QUEUE, &self.inner)
            .tasks
            .retain(|t| !core::ptr::eq(Arc::as_ptr(t), task));
    }

    /// Blocks until `cond()` holds (checked before each sleep, so no wake-up
    /// is lost) or until `deadline_ns`; returns whether `cond()` held.
    pub fn wait_until(&self, cond: impl Fn() -> bool, deadline_ns: Option<u64>) -> bool {
        wait_any(&[self], cond, deadline_ns)
    }

    /// Wakes every waiter (each re-checks its condition) and, through the
    /// relays, the waiters of the queues relayed to.
    pub fn wake_all(&self) {
        self.wake_all_with(false);
    }

    /// As [`WaitQueue::wake_all`], from a waker about to block or exit
    /// ([`wake_sync`] for the waiters; the relays as usual).
    pub fn wake_all_sync(&self) {
        self.wake_all_with(true);
    }

    fn wake_all_with(&self, sync: bool) {
        let (tasks, relays) = {
            let mut g = spinlock::lock(spinlock::WAIT_QUEUE, &self.inner);
            if g.tasks.len() <= 1 && g.relays.is_empty() {
                // the common case (a pipe's one reader or writer): the
                // sleeper is taken out and the vector keeps its memory,
                // so its next registration allocates nothing (a `take`
                // here cost a heap allocation and a free per wake-up)
                let one = g.tasks.pop();
                drop(g);
                if let Some(t) = one {
                    wake_with(&t, sync);
                }
                return;
            }
            g.relays.retain(|r| r.strong_count() > 0);
            let relays: Vec<Arc<dyn Relay>> = g.relays.iter().filter_map(Weak::upgrade).collect();
            (core::mem::take(&mut g.tasks), relays)
        };
        for t in &tasks {
            wake_with(t, sync);
        }
        // Not under our lock: a relayed queue may relay further (nested
        // epoll; the epoll loop check keeps these chains acyclic).
        for r in &relays {
            r.relayed();
        }
    }

    /// From now on, every [`WaitQueue::wake_all`] of this queue also
    /// reaches `to` ([`Relay::relayed`]: a queue is woken), until
    /// [`WaitQueue::remove_relay`].
    pub fn add_relay<R: Relay + 'static>(&self, to: &Arc<R>) {
        let to: Weak<dyn Relay> = Arc::downgrade(to) as Weak<R>;
        spinlock::lock(spinlock::WAIT_QUEUE, &self.inner).relays.push(to);
    }

    /// Undoes one [`WaitQueue::add_relay`]`(to)`.
    pub fn remove_relay<R: Relay + 'static>(&self, to: &Arc<R>) {
        let mut g = spinlock::lock(spinlock::WAIT_QUEUE, &self.inner);
        if let Some(i) = g.relays.iter().position(|r| core::ptr::addr_eq(r.as_ptr(), Arc::as_ptr(to))) {
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
        if deadline_ns.is_some_and(|d| now_ns() >= d) {
            return false;
        }
        // the running task registered by a borrow of the CPU slot (each
        // queue keeps its own reference) and taken out by its address: no
        // reference of our own taken and dropped around the sleep (two
        // locked instructions, atomic helper calls under multi-threaded
        // TCG). The queue locks are spin locks whose waiters at most halt:
        // nothing under the borrow switches
        let me = with_cpu(|c| {
            let me = c.current.as_ref().expect("wait_any before sched::init");
            for q in queues {
                q.add(me);
            }
            Arc::as_ptr(me)
        });
        let held = cond();
        if !held {
            match deadline_ns {
                Some(d) => block_until(d),
                None => block(),
            }
        }
        for q in queues {
            q.remove_ptr(me);
        }
        if held {
            return true;
        }
    }
}
