//! Who waits for whom: Linux's `blocked_hash` and `posix_locks_deadlock`.

use alloc::vec::Vec;

use linux_abi::{Errno, Result};

/// How many owners [`WaitGraph::would_deadlock`] follows before it gives
/// up and answers "no" (Linux's `MAX_DEADLK_ITERATIONS`).
pub const MAX_DEADLK_ITERATIONS: usize = 10;

/// The waits of blocked F_SETLKW requests across all files: each edge says
/// "a task of owner `waiter` sleeps on a lock of owner `blocker`". Only
/// POSIX (process) owners enter it, as in Linux: OFD locks have no
/// deadlock detection. The kernel owns one value of this type (one per
/// lock namespace), under the lock that also guards its lock tables.
#[derive(Clone, Debug)]
pub struct WaitGraph<O> {
    edges: Vec<(O, O)>,
}

impl<O> Default for WaitGraph<O> {
    fn default() -> Self {
        WaitGraph { edges: Vec::new() }
    }
}

impl<O: Clone + Eq> WaitGraph<O> {
    /// No waits (a `const fn`: the value may be a kernel's static).
    pub const fn new() -> Self {
        WaitGraph { edges: Vec::new() }
    }

    /// Whether nobody waits.
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }

    /// Whether `caller`, about to wait for a lock of `blocker`, would close
    /// a cycle: following from `blocker` the owner each one waits for (the
    /// first wait recorded for it) reaches `caller` within
    /// [`MAX_DEADLK_ITERATIONS`] steps. F_SETLKW then fails with `EDEADLK`.
    pub fn would_deadlock(&self, caller: &O, blocker: &O) -> bool {
        let mut cur = blocker;
        for _ in 0..=MAX_DEADLK_ITERATIONS {
            let Some((_, next)) = self.edges.iter().find(|(w, _)| w == cur) else { return false };
            if next == caller {
                return true;
            }
            cur = next;
        }
        false
    }

    /// Records that a task of `waiter` sleeps on a lock of `blocker`
    /// (`ENOLCK` when memory runs out). Each call is undone by one
    /// [`remove`](Self::remove) with the same pair.
    pub fn insert(&mut self, waiter: O, blocker: O) -> Result<()> {
        self.edges.try_reserve(1).map_err(|_| Errno::ENOLCK)?;
        self.edges.push((waiter, blocker));
        Ok(())
    }

    /// Forgets one wait recorded by [`insert`](Self::insert).
    pub fn remove(&mut self, waiter: &O, blocker: &O) {
        if let Some(i) = self.edges.iter().position(|(w, b)| w == waiter && b == blocker) {
            self.edges.remove(i);
        }
    }
}
