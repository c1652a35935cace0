//! The SQ and CQ rings over memory user space shares and may rewrite at
//! any time: the kernel keeps its own copies of the indices it owns (the
//! SQ head, the CQ tail), masks every index it reads, and publishes with
//! the ordering the ABI asks (the SQ tail loaded with acquire before the
//! SQEs are read; the CQEs written before the CQ tail is stored with
//! release). Completions that find the CQ full wait in a bounded overflow
//! list (`IORING_FEAT_NODROP`) and are dropped and counted in
//! `cq_overflow` only when that list is full.

use crate::abi::{Cqe, Sqe, sq_flags};
use crate::layout::{Geometry, field};
use alloc::collections::VecDeque;
use core::sync::atomic::{Ordering, fence};

/// A region of the ring (the rings or the SQEs) as the kernel reaches
/// it: byte offsets from the region's start. User space may write it at
/// any time; nothing read from it is trusted beyond its range.
pub trait RingMemory {
    /// Reads `buf.len()` bytes at `offset`.
    fn read(&self, offset: usize, buf: &mut [u8]);
    /// Writes `data` at `offset`.
    fn write(&self, offset: usize, data: &[u8]);

    /// The little-endian `u32` at `offset`.
    fn read_u32(&self, offset: usize) -> u32 {
        let mut b = [0u8; 4];
        self.read(offset, &mut b);
        u32::from_le_bytes(b)
    }
    /// Writes `v` little-endian at `offset`.
    fn write_u32(&self, offset: usize, v: u32) {
        self.write(offset, &v.to_le_bytes());
    }
    /// `smp_load_acquire`: the `u32` at `offset`, later reads ordered
    /// after it.
    fn load_acquire_u32(&self, offset: usize) -> u32 {
        let v = self.read_u32(offset);
        fence(Ordering::Acquire);
        v
    }
    /// `smp_store_release`: earlier writes ordered before the store of
    /// `v` at `offset`.
    fn store_release_u32(&self, offset: usize, v: u32) {
        fence(Ordering::Release);
        self.write_u32(offset, v);
    }
}

/// What [`Rings::next_sqe`] found at the SQ head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqSlot {
    /// No SQE is pending.
    Empty,
    /// The SQE at this index of the SQE array.
    Index(u32),
    /// The SQ array held an index out of range: the entry is consumed,
    /// counted in `sq_dropped`, and the submission batch ends (Linux's
    /// io_get_sqe).
    Dropped,
}

/// What [`Rings::post`] did with a completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Posted {
    /// Written to the CQ ring.
    Ring,
    /// Kept in the overflow list (the CQ ring was full).
    Overflow,
    /// Dropped: the overflow list was full too (`cq_overflow` counts it).
    Dropped,
}

/// One ring's indices and overflow list (Linux's `cached_sq_head`,
/// `cached_cq_tail`, `cq_overflow_list`, the `check_cq` bits).
#[derive(Debug)]
pub struct Rings {
    g: Geometry,
    sq_head: u32,
    cq_tail: u32,
    sq_flags: u32,
    overflow: VecDeque<Cqe>,
    max_overflow: usize,
    dropped: bool,
}

impl Rings {
    /// New rings over zeroed memory: writes the masks and entry counts.
    /// At most `max_overflow` completions wait in the overflow list.
    pub fn new(g: Geometry, mem: &dyn RingMemory, max_overflow: usize) -> Rings {
        mem.write_u32(field::SQ_RING_MASK, g.sq_entries - 1);
        mem.write_u32(field::CQ_RING_MASK, g.cq_entries - 1);
        mem.write_u32(field::SQ_RING_ENTRIES, g.sq_entries);
        mem.write_u32(field::CQ_RING_ENTRIES, g.cq_entries);
        Rings {
            g,
            sq_head: 0,
            cq_tail: 0,
            sq_flags: 0,
            overflow: VecDeque::new(),
            max_overflow,
            dropped: false,
        }
    }

    /// The sizes.
    pub fn geometry(&self) -> &Geometry {
        &self.g
    }

    /// SQEs user space has queued and the kernel not consumed (the SQ tail
    /// loaded with acquire; a tail more than the ring's size ahead counts
    /// as it says, the caller caps the batch).
    pub fn sq_pending(&self, mem: &dyn RingMemory) -> u32 {
        mem.load_acquire_u32(field::SQ_TAIL).wrapping_sub(self.sq_head)
    }

    /// Whether the SQ ring is full (io_uring_poll's `POLLOUT`).
    pub fn sq_full(&self, mem: &dyn RingMemory) -> bool {
        self.sq_pending(mem) >= self.g.sq_entries
    }

    /// Consumes the SQ entry at the head: the SQE index the SQ array holds
    /// there (masked, checked against the SQE count).
    pub fn next_sqe(&mut self, mem: &dyn RingMemory) -> SqSlot {
        if self.sq_pending(mem) == 0 {
            return SqSlot::Empty;
        }
        let slot = self.sq_head & (self.g.sq_entries - 1);
        self.sq_head = self.sq_head.wrapping_add(1);
        let idx = mem.read_u32(self.g.sq_array + 4 * slot as usize);
        if idx < self.g.sq_entries {
            SqSlot::Index(idx)
        } else {
            let d = mem.read_u32(field::SQ_DROPPED);
            mem.write_u32(field::SQ_DROPPED, d.wrapping_add(1));
            SqSlot::Dropped
        }
    }

    /// The SQE at `index` of the SQE array, read once.
    pub fn read_sqe(&self, sqes: &dyn RingMemory, index: u32) -> Sqe {
        let mut b = [0u8; crate::abi::SQE_LEN];
        let i = (index & (self.g.sq_entries - 1)) as usize;
        sqes.read(i * self.g.sqe_len, &mut b);
        Sqe::from_bytes(&b)
    }

    /// Publishes the SQ head (io_commit_sqring): the entries consumed so
    /// far may be reused by user space.
    pub fn commit_sq(&self, mem: &dyn RingMemory) {
        mem.store_release_u32(field::SQ_HEAD, self.sq_head);
    }

    /// The kernel's SQ head.
    pub fn sq_head(&self) -> u32 {
        self.sq_head
    }

    /// The kernel's CQ tail.
    pub fn cq_tail(&self) -> u32 {
        self.cq_tail
    }

    /// Completions in the CQ ring user space has not reaped (io_cqring_events:
    /// the kernel's tail minus the head user space wrote; a hostile head
    /// makes this any value, which only decides when a waiter wakes).
    pub fn cq_ready(&self, mem: &dyn RingMemory) -> u32 {
        self.cq_tail.wrapping_sub(mem.load_acquire_u32(field::CQ_HEAD))
    }

    fn cq_space(&self, mem: &dyn RingMemory) -> u32 {
        self.g.cq_entries.saturating_sub(self.cq_ready(mem))
    }

    fn write_cqe(&mut self, mem: &dyn RingMemory, cqe: &Cqe) {
        let slot = (self.cq_tail & (self.g.cq_entries - 1)) as usize;
        let at = field::CQES + slot * self.g.cqe_len;
        mem.write(at, &cqe.to_bytes());
        if self.g.cqe_len == 32 {
            mem.write(at + 16, &[0u8; 16]);
        }
        self.cq_tail = self.cq_tail.wrapping_add(1);
    }

    /// Posts a completion: to the CQ ring when it has room and nothing
    /// waits in the overflow list (completions stay in order), else to
    /// the overflow list, else dropped. The CQ tail is published with
    /// release.
    pub fn post(&mut self, mem: &dyn RingMemory, cqe: &Cqe) -> Posted {
        if self.overflow.is_empty() && self.cq_space(mem) > 0 {
            self.write_cqe(mem, cqe);
            mem.store_release_u32(field::CQ_TAIL, self.cq_tail);
            return Posted::Ring;
        }
        if self.overflow.len() < self.max_overflow && self.overflow.try_reserve(1).is_ok() {
            self.overflow.push_back(*cqe);
            self.set_sq_flag(mem, sq_flags::CQ_OVERFLOW);
            return Posted::Overflow;
        }
        let n = mem.read_u32(field::CQ_OVERFLOW);
        mem.write_u32(field::CQ_OVERFLOW, n.wrapping_add(1));
        self.dropped = true;
        Posted::Dropped
    }

    /// Moves what fits from the overflow list into the CQ ring (in order);
    /// clears `IORING_SQ_CQ_OVERFLOW` once the list is empty. The number
    /// moved.
    pub fn flush_overflow(&mut self, mem: &dyn RingMemory) -> usize {
        let mut moved = 0;
        while !self.overflow.is_empty() && self.cq_space(mem) > 0 {
            if let Some(c) = self.overflow.pop_front() {
                self.write_cqe(mem, &c);
                moved += 1;
            }
        }
        if moved > 0 {
            mem.store_release_u32(field::CQ_TAIL, self.cq_tail);
        }
        if self.overflow.is_empty() {
            self.clear_sq_flag(mem, sq_flags::CQ_OVERFLOW);
        }
        moved
    }

    /// Completions waiting in the overflow list.
    pub fn overflowed(&self) -> usize {
        self.overflow.len()
    }

    /// Whether a completion was dropped since the last call (then clears
    /// it: io_uring_enter's one `EBADR`).
    pub fn take_dropped(&mut self) -> bool {
        core::mem::replace(&mut self.dropped, false)
    }

    /// Sets bits of the SQ ring's `flags`.
    pub fn set_sq_flag(&mut self, mem: &dyn RingMemory, bits: u32) {
        self.sq_flags |= bits;
        mem.write_u32(field::SQ_FLAGS, self.sq_flags);
    }

    /// Clears bits of the SQ ring's `flags`.
    pub fn clear_sq_flag(&mut self, mem: &dyn RingMemory, bits: u32) {
        if self.sq_flags & bits != 0 {
            self.sq_flags &= !bits;
            mem.write_u32(field::SQ_FLAGS, self.sq_flags);
        }
    }
}
