//! The deadline queue of the process timers on wall clocks: ITIMER_REAL
//! (`itimer`) and the POSIX timers on CLOCK_REALTIME/MONOTONIC and their
//! twins (`posix_timer`), and io_uring's timeouts (one slot per ring, at
//! its earliest deadline). One binary min-heap for the machine, ordered by
//! the monotonic deadline ([`arch_x86_64::time::monotonic_ns`]), so the
//! tick's [`expire`] pops only what is due (O(log n) each) and a tick with
//! nothing due costs one atomic load ([`NEXT_DUE`]); nothing walks the
//! processes (the scan it replaces, every process at each tick once any
//! timer was due, made stress-ng's 1 MHz timer stressor take 8.4 s for
//! its 3).
//!
//! A timer owns a [`Slot`] from [`alloc`] (timer_create, the first
//! setitimer) until its drop (timer_delete, exec, exit, the record's
//! drop); the slot says whose timer it is ([`Owner`]) and where it sits in
//! the heap. [`alloc`] is the only call that allocates, fallibly, and it
//! reserves the heap's room for the slot too, so [`arm`] and [`disarm`]
//! never allocate; the storage never shrinks (its size is the most timers
//! there ever were at once).
//!
//! Locks: the queue's lock ([`LockClass::TimerQueue`], a leaf) is taken
//! inside the process-table lock (a timer is armed while its record is
//! changed) or alone (the tick pops due owners, then looks them up with
//! the queue released). A popped owner is only a hint: the firing code
//! checks the timer's own expiry under the table lock, and re-arms what is
//! not yet due.

use crate::lockorder::{LockClass, Ranked};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use linux_abi::Errno;
use process::pid::Pid;

/// Whose timer a slot is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// ITIMER_REAL of process `.0`.
    Itimer(Pid),
    /// POSIX timer `.1` of process `.0`.
    Posix(Pid, i32),
    /// The earliest TIMEOUT or LINK_TIMEOUT of the io_uring instance
    /// registered under this key (`syscall::io_uring`'s timed rings).
    Uring(u32),
}

/// A timer's place in the queue (an index; see [`alloc`]).
#[derive(Debug, PartialEq, Eq)]
pub struct Slot(u32);

/// Not in the heap.
const OUT: u32 = u32::MAX;

struct Entry {
    owner: Option<Owner>,
    deadline: u64,
    /// Index in `heap`, or [`OUT`].
    pos: u32,
}

struct Queue {
    slots: Vec<Entry>,
    /// Free slot numbers (capacity: every slot).
    free: Vec<u32>,
    /// Slot numbers, a min-heap by `(deadline, slot)` (capacity: every
    /// slot).
    heap: Vec<u32>,
}

static QUEUE: Ranked<Queue> = Ranked::new(
    LockClass::TimerQueue,
    "timerq::QUEUE",
    Queue { slots: Vec::new(), free: Vec::new(), heap: Vec::new() },
);

/// The earliest deadline queued (`u64::MAX`: none), read by every tick
/// without the lock.
static NEXT_DUE: AtomicU64 = AtomicU64::new(u64::MAX);

impl Queue {
    fn key(&self, h: u32) -> (u64, u32) {
        (self.slots[h as usize].deadline, h)
    }

    fn set(&mut self, i: usize, h: u32) {
        self.heap[i] = h;
        self.slots[h as usize].pos = i as u32;
    }

    fn up(&mut self, mut i: usize) {
        let h = self.heap[i];
        while i > 0 {
            let p = (i - 1) / 2;
            if self.key(h) >= self.key(self.heap[p]) {
                break;
            }
            let ph = self.heap[p];
            self.set(i, ph);
            i = p;
        }
        self.set(i, h);
    }

    fn down(&mut self, mut i: usize) {
        let h = self.heap[i];
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut m = h;
            let mut mi = i;
            if l < self.heap.len() && self.key(self.heap[l]) < self.key(m) {
                m = self.heap[l];
                mi = l;
            }
            if r < self.heap.len() && self.key(self.heap[r]) < self.key(m) {
                m = self.heap[r];
                mi = r;
            }
            if mi == i {
                break;
            }
            self.set(i, m);
            i = mi;
        }
        self.set(i, h);
    }

    fn remove(&mut self, h: u32) {
        let i = self.slots[h as usize].pos;
        if i == OUT {
            return;
        }
        let i = i as usize;
        self.slots[h as usize].pos = OUT;
        let Some(last) = self.heap.pop() else { return };
        if i < self.heap.len() {
            self.set(i, last);
            self.down(i);
            let at = self.slots[last as usize].pos as usize;
            self.up(at);
        }
    }

    fn publish(&self) {
        let first = self.heap.first().map_or(u64::MAX, |&h| self.slots[h as usize].deadline);
        NEXT_DUE.store(first, Ordering::SeqCst);
    }
}

/// A slot for `owner`'s timer (not queued); `ENOMEM` when the queue
/// cannot grow.
pub fn alloc(owner: Owner) -> Result<Slot, Errno> {
    let mut q = QUEUE.lock();
    if let Some(h) = q.free.pop() {
        q.slots[h as usize] = Entry { owner: Some(owner), deadline: 0, pos: OUT };
        return Ok(Slot(h));
    }
    let n = q.slots.len();
    if n >= OUT as usize - 1 {
        return Err(Errno::ENOMEM);
    }
    let q = &mut *q;
    q.slots.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    // (room for every slot at once in the heap and the free list)
    q.heap.try_reserve(n + 1 - q.heap.len()).map_err(|_| Errno::ENOMEM)?;
    q.free.try_reserve(n + 1 - q.free.len()).map_err(|_| Errno::ENOMEM)?;
    q.slots.push(Entry { owner: Some(owner), deadline: 0, pos: OUT });
    Ok(Slot(n as u32))
}

impl Drop for Slot {
    /// Gives the slot back (dequeued first).
    fn drop(&mut self) {
        let mut q = QUEUE.lock();
        q.remove(self.0);
        q.slots[self.0 as usize].owner = None;
        // (room reserved by alloc: no allocation)
        q.free.push(self.0);
        q.publish();
    }
}

/// Queues `slot` to expire at `deadline` (monotonic ns), moving it if it
/// was queued.
pub fn arm(slot: &Slot, deadline: u64) {
    let mut q = QUEUE.lock();
    let h = slot.0;
    if q.slots[h as usize].pos == OUT {
        // (room reserved by alloc: no allocation)
        let i = q.heap.len();
        q.heap.push(h);
        q.slots[h as usize].deadline = deadline;
        q.set(i, h);
        q.up(i);
    } else {
        let i = q.slots[h as usize].pos as usize;
        q.slots[h as usize].deadline = deadline;
        q.down(i);
        let at = q.slots[h as usize].pos as usize;
        q.up(at);
    }
    q.publish();
}

/// Takes `slot` out of the queue if it is queued.
pub fn disarm(slot: &Slot) {
    let mut q = QUEUE.lock();
    q.remove(slot.0);
    q.publish();
}

/// The monotonic deadline of an expiry at `expires` on a clock that reads
/// `now` (CLOCK_REALTIME's timers are queued by their distance from now).
pub fn mono_deadline(expires: u64, now: u64) -> u64 {
    arch_x86_64::time::monotonic_ns().saturating_add(expires.saturating_sub(now))
}

/// How many due owners [`expire`] pops per turn of the lock.
const BATCH: usize = 16;

/// The tick: fires the timers whose deadline passed (`fire` for each
/// owner popped, with the queue's lock released). One atomic load when
/// none is due; at most as many owners as were queued when it started.
pub fn expire(fire: impl Fn(Owner)) {
    let now = arch_x86_64::time::monotonic_ns();
    if NEXT_DUE.load(Ordering::SeqCst) > now {
        return;
    }
    let mut budget = QUEUE.lock().heap.len();
    while budget > 0 {
        let mut due: [Option<Owner>; BATCH] = [None; BATCH];
        let mut n = 0;
        {
            let mut q = QUEUE.lock();
            while n < BATCH && n < budget {
                let Some(&h) = q.heap.first() else { break };
                if q.slots[h as usize].deadline > now {
                    break;
                }
                q.remove(h);
                due[n] = q.slots[h as usize].owner;
                n += 1;
            }
            q.publish();
        }
        budget -= n;
        for o in due.iter().take(n).flatten() {
            fire(*o);
        }
        if n < BATCH {
            return;
        }
    }
}
