//! The timed sleepers of the scheduler: a binary min-heap ordered by
//! `(deadline, sequence number)`, each task knowing its place in it
//! (`Task::sleep_slot`), so that an insertion, a removal (a sleeper woken
//! before its deadline) and each expiry cost O(log n), and a tick with no
//! sleeper due costs one comparison.
//!
//! Deadlines are on the clock users read (`arch_x86_64::time::monotonic_ns`,
//! the largest value handed out on any CPU): a CPU whose TSC lags compares
//! its own (smaller) reading first, and only a deadline that seems reached
//! reads the shared clock, which also publishes the value, so that the
//! woken thread's next `clock_gettime` on any CPU is at least the deadline.
//!
//! The heap's storage grows fallibly (`try_reserve`); it never shrinks (its
//! size is the most sleepers there ever were at once).

use super::Task;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

/// Not in the heap.
pub(super) const NO_SLOT: usize = usize::MAX;

struct Entry {
    deadline: u64,
    seq: u64,
    task: Arc<Task>,
}

impl Entry {
    fn key(&self) -> (u64, u64) {
        (self.deadline, self.seq)
    }
}

/// The heap (under the scheduler lock of its owner).
pub(super) struct Sleepers {
    heap: Vec<Entry>,
    seq: u64,
}

impl Sleepers {
    pub(super) const fn new() -> Self {
        Sleepers { heap: Vec::new(), seq: 0 }
    }

    /// Number of timed sleepers.
    pub(super) fn len(&self) -> usize {
        self.heap.len()
    }

    /// The earliest deadline.
    pub(super) fn first(&self) -> Option<u64> {
        self.heap.first().map(|e| e.deadline)
    }

    /// Files `task` until `deadline` (moving it if it was filed already);
    /// `Err` when the heap cannot grow (no memory).
    pub(super) fn insert(&mut self, deadline: u64, task: &Arc<Task>) -> Result<(), ()> {
        self.remove(task);
        self.heap.try_reserve(1).map_err(|_| ())?;
        self.seq = self.seq.wrapping_add(1);
        let i = self.heap.len();
        self.heap.push(Entry { deadline, seq: self.seq, task: task.clone() });
        task.sleep_slot.store(i, Ordering::Relaxed);
        self.up(i);
        Ok(())
    }

    /// Takes `task` out of the heap if it is in it.
    pub(super) fn remove(&mut self, task: &Arc<Task>) -> Option<Arc<Task>> {
        let i = task.sleep_slot.load(Ordering::Relaxed);
        match self.heap.get(i) {
            Some(e) if Arc::ptr_eq(&e.task, task) => Some(self.take(i)),
            _ => None,
        }
    }

    /// Takes the sleeper with the earliest deadline if that deadline is at
    /// or before `now`.
    pub(super) fn pop_due(&mut self, now: u64) -> Option<Arc<Task>> {
        if self.first()? <= now { Some(self.take(0)) } else { None }
    }

    fn take(&mut self, i: usize) -> Arc<Task> {
        let last = self.heap.len() - 1;
        self.swap(i, last);
        let e = match self.heap.pop() {
            Some(e) => e,
            None => unreachable!("take from an empty heap"),
        };
        e.task.sleep_slot.store(NO_SLOT, Ordering::Relaxed);
        if i < self.heap.len() {
            self.down(i);
            self.up(i);
        }
        e.task
    }

    fn swap(&mut self, a: usize, b: usize) {
        if a != b {
            self.heap.swap(a, b);
            self.heap[a].task.sleep_slot.store(a, Ordering::Relaxed);
            self.heap[b].task.sleep_slot.store(b, Ordering::Relaxed);
        }
    }

    fn up(&mut self, mut i: usize) {
        while i > 0 {
            let p = (i - 1) / 2;
            if self.heap[i].key() >= self.heap[p].key() {
                break;
            }
            self.swap(i, p);
            i = p;
        }
    }

    fn down(&mut self, mut i: usize) {
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut m = i;
            if l < self.heap.len() && self.heap[l].key() < self.heap[m].key() {
                m = l;
            }
            if r < self.heap.len() && self.heap[r].key() < self.heap[m].key() {
                m = r;
            }
            if m == i {
                break;
            }
            self.swap(i, m);
            i = m;
        }
    }
}
