//! Link chains (`IOSQE_IO_LINK`, `IOSQE_IO_HARDLINK`) and drains
//! (`IOSQE_IO_DRAIN`): which request runs when, and which is cancelled.
//!
//! A chain is the run of SQEs each of which links to the next, plus the
//! first that does not. Its members run one after another; when a member
//! linked with `IO_LINK` fails, every later member completes with
//! `-ECANCELED` without running (a `IO_HARDLINK` member's failure does not
//! break the chain). A drained request waits until every request issued
//! before it completed, and the requests after it wait for it.

use alloc::collections::VecDeque;
use linux_abi::Errno;

use crate::abi::{Sqe, op, sqe_flags, timeout};

/// Whether a member's result breaks its chain (Linux's `req_set_fail`):
/// a negative result; a read or write that moved fewer bytes than asked
/// (`expected`); a timeout's `-ETIME` unless `IORING_TIMEOUT_ETIME_SUCCESS`.
pub fn fails_link(sqe: &Sqe, res: i32, expected: Option<u32>) -> bool {
    if res == -Errno::ETIME.as_i32() && sqe.opcode == op::TIMEOUT {
        return sqe.op_flags & timeout::ETIME_SUCCESS == 0;
    }
    if res < 0 {
        return true;
    }
    matches!(expected, Some(n) if res as u32 != n)
}

/// The state of the chain being run: whether its remaining members are
/// cancelled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Link {
    broken: bool,
}

impl Link {
    /// A fresh chain.
    pub fn new() -> Link {
        Link { broken: false }
    }

    /// Whether the next member runs (`false`: it completes with
    /// `-ECANCELED`).
    pub fn runs(&self) -> bool {
        !self.broken
    }

    /// After a member finished: a failure of a member linked with
    /// `IO_LINK` (not `IO_HARDLINK`) cancels the rest; a cancelled member
    /// cancels the rest too.
    pub fn finished(&mut self, sqe: &Sqe, failed: bool) {
        let hard = sqe.flags & sqe_flags::IO_HARDLINK != 0;
        if failed && !hard {
            self.broken = true;
        }
    }
}

/// Requests held back by a drain, in submission order. `T` is the
/// kernel's request (a chain of SQEs).
#[derive(Debug)]
pub struct Deferred<T> {
    queue: VecDeque<(T, bool)>,
    cap: usize,
}

impl<T> Deferred<T> {
    /// An empty queue holding at most `cap` requests.
    pub fn new(cap: usize) -> Deferred<T> {
        Deferred { queue: VecDeque::new(), cap }
    }

    /// A new request (`drain`: it carries `IOSQE_IO_DRAIN`) while
    /// `inflight` issued requests are unfinished and `draining` says
    /// whether one of them is a drained one: `Ok(Some(item))` to issue now,
    /// `Ok(None)` when it was queued, `Err(item)` when the queue is full
    /// (`EBUSY`-like: the kernel refuses it).
    pub fn admit(&mut self, item: T, drain: bool, inflight: usize, draining: bool) -> Result<Option<T>, T> {
        if self.queue.is_empty() && !draining && (!drain || inflight == 0) {
            return Ok(Some(item));
        }
        if self.queue.len() >= self.cap || self.queue.try_reserve(1).is_err() {
            return Err(item);
        }
        self.queue.push_back((item, drain));
        Ok(None)
    }

    /// The next queued request that may be issued now (the same rule as
    /// [`Deferred::admit`]), with whether it is a drained one.
    pub fn next_ready(&mut self, inflight: usize, draining: bool) -> Option<(T, bool)> {
        let &(_, drain) = self.queue.front()?;
        if draining || (drain && inflight > 0) {
            return None;
        }
        self.queue.pop_front()
    }

    /// The next queued request, left in the queue (the kernel checks
    /// whose it is before [`Deferred::next_ready`] takes it).
    pub fn front(&self) -> Option<&T> {
        self.queue.front().map(|(t, _)| t)
    }

    /// Takes the queued requests `pick` selects, in order, with whether
    /// each is a drained one; the others stay in order (an exiting task's
    /// requests are cancelled). `Err(())` when the answer cannot be
    /// allocated (nothing is taken).
    #[allow(clippy::result_unit_err)]
    pub fn take_where(&mut self, mut pick: impl FnMut(&T) -> bool) -> Result<VecDeque<(T, bool)>, ()> {
        let n = self.queue.iter().filter(|(t, _)| pick(t)).count();
        let mut out = VecDeque::new();
        if n == 0 {
            return Ok(out);
        }
        out.try_reserve_exact(n).map_err(|_| ())?;
        // one turn of the queue: each taken or put back at the end (the
        // room it left is reused: no allocation)
        for _ in 0..self.queue.len() {
            let Some(x) = self.queue.pop_front() else { break };
            if out.len() < n && pick(&x.0) {
                out.push_back(x);
            } else {
                self.queue.push_back(x);
            }
        }
        Ok(out)
    }

    /// Queued requests.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether none is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Takes every queued request (the ring's end cancels them).
    pub fn take_all(&mut self) -> VecDeque<(T, bool)> {
        core::mem::take(&mut self.queue)
    }
}
