//! One context's ring accounting: requests in flight, the tail the kernel
//! owns, the head user space may move.

use crate::RingMemory;
use crate::ring::{self, IoEvent, field};
use linux_abi::Errno;

/// One context's ring state (the kernel keeps it under the context's
/// lock; the ring's memory is passed in).
///
/// A ring of `nr` events holds at most `nr - 1` requests in flight and
/// events not yet reaped together, so a completion never overwrites an
/// event user space has not reaped (when user space keeps `head` honest).
#[derive(Debug)]
pub struct Ring {
    nr: u32,
    tail: u32,
    in_flight: u32,
    dead: bool,
}

impl Ring {
    /// A ring of `nr` events (at least 2) for the context at `id`: writes
    /// the header into `mem` (which holds zeroed pages).
    pub fn new<M: RingMemory + ?Sized>(mem: &M, id: u32, nr: u32) -> Ring {
        mem.write(0, &ring::header(id, nr));
        Ring { nr: nr.max(2), tail: 0, in_flight: 0, dead: false }
    }

    /// The events the ring holds.
    pub fn nr(&self) -> u32 {
        self.nr
    }

    /// Requests taken and not completed.
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// The head as user space left it, within the ring.
    fn head<M: RingMemory + ?Sized>(&self, mem: &M) -> u32 {
        mem.read_u32(field::HEAD) % self.nr
    }

    /// Events completed and not reaped.
    pub fn unreaped<M: RingMemory + ?Sized>(&self, mem: &M) -> u32 {
        (self.tail + self.nr - self.head(mem)) % self.nr
    }

    /// Takes a slot for a new request: `EAGAIN` when the ring has none
    /// (requests in flight and unreaped events fill it), `EINVAL` once the
    /// context is [`kill`](Ring::kill)ed.
    pub fn reserve<M: RingMemory + ?Sized>(&mut self, mem: &M) -> Result<(), Errno> {
        if self.dead {
            return Err(Errno::EINVAL);
        }
        if self.in_flight + self.unreaped(mem) >= self.nr - 1 {
            return Err(Errno::EAGAIN);
        }
        self.in_flight += 1;
        Ok(())
    }

    /// Gives back a slot whose request failed at submission.
    pub fn unreserve(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Completes a request: writes `ev` at the tail and moves the tail
    /// (the header's too); the request's slot now holds the event.
    pub fn complete<M: RingMemory + ?Sized>(&mut self, mem: &M, ev: &IoEvent) {
        mem.write(ring::event_offset(self.tail), &ev.to_bytes());
        self.tail = (self.tail + 1) % self.nr;
        mem.write_u32(field::TAIL, self.tail);
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// The first run of unreaped events, at most `max`: `(first index,
    /// count)`, `None` when there is none. Events past the ring's end wrap:
    /// a second call after [`consume`](Ring::consume) gives the rest.
    pub fn pending<M: RingMemory + ?Sized>(&self, mem: &M, max: u32) -> Option<(u32, u32)> {
        let head = self.head(mem);
        if head == self.tail || max == 0 {
            return None;
        }
        let end = if head < self.tail { self.tail } else { self.nr };
        Some((head, (end - head).min(max)))
    }

    /// The event at `index`.
    pub fn event<M: RingMemory + ?Sized>(&self, mem: &M, index: u32) -> IoEvent {
        let mut b = [0u8; ring::EVENT_LEN];
        mem.read(ring::event_offset(index % self.nr), &mut b);
        IoEvent::from_bytes(&b)
    }

    /// Marks `n` events from `head` reaped, if the head is still there
    /// (another reader, or user space, may have moved it since
    /// [`pending`](Ring::pending)); returns whether it was.
    pub fn consume<M: RingMemory + ?Sized>(&self, mem: &M, head: u32, n: u32) -> bool {
        if self.head(mem) != head || n > self.unreaped(mem) {
            return false;
        }
        mem.write_u32(field::HEAD, (head + n) % self.nr);
        true
    }

    /// Ends the context (io_destroy, exit): no more submissions.
    pub fn kill(&mut self) -> bool {
        !core::mem::replace(&mut self.dead, true)
    }

    /// Whether the context was [`kill`](Ring::kill)ed.
    pub fn dead(&self) -> bool {
        self.dead
    }
}
