//! The pipe ring (fs/pipe.c): a ring of page slots (16 by default, 64 KiB)
//! between a read end and a write end.
//!
//! A write first appends its sub-page remainder to the last page when that
//! page has room for all of it ([`Ring::merge`]), then fills free slots a
//! page at a time ([`Ring::fill`]), so the capacity in bytes depends on how
//! the writes were cut (16 writes of 2049 bytes fill a pipe), a write of at
//! most [`PIPE_BUF`] bytes is never split, and the write end is writable
//! (POLLOUT) while a slot is free. In packet mode (`O_DIRECT`) each slot
//! is one packet: nothing merges into it and a read takes at most one,
//! dropping what it did not take. The number of slots changes with
//! F_SETPIPE_SZ ([`round_size`], [`Ring::set_slots`]).

use alloc::collections::VecDeque;
use linux_abi::{Errno, Result};

/// The size of one slot.
pub const PAGE: usize = 4096;
/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;
/// The default capacity in bytes (Linux's 16 pages).
pub const PIPE_CAPACITY: usize = 65536;
/// The largest size F_SETPIPE_SZ accepts before `EINVAL` (Linux's
/// `pipe_size` > `1U << 31`).
pub const MAX_SIZE: u64 = 1 << 31;

// poll(2) bits, as Linux's
/// `POLLIN`.
pub const POLLIN: u32 = 0x001;
/// `POLLOUT`.
pub const POLLOUT: u32 = 0x004;
/// `POLLERR`.
pub const POLLERR: u32 = 0x008;
/// `POLLHUP`.
pub const POLLHUP: u32 = 0x010;
/// `POLLRDNORM`.
pub const POLLRDNORM: u32 = 0x040;
/// `POLLWRNORM`.
pub const POLLWRNORM: u32 = 0x100;

/// Where the ring's pages come from.
pub trait PageAlloc {
    /// One page of [`PAGE`] bytes; dropping it frees it.
    type Page;
    /// A new page; `None` when memory is exhausted.
    fn alloc(&mut self) -> Option<Self::Page>;
    /// Copies `buf.len()` bytes from `offset` of `page`.
    fn read(page: &Self::Page, offset: usize, buf: &mut [u8]);
    /// Copies `data` into `page` at `offset`.
    fn write(page: &mut Self::Page, offset: usize, data: &[u8]);
}

/// One occupied slot (Linux's `pipe_buffer`): bytes `start..len` of its
/// page are unread.
struct Slot<P> {
    page: P,
    start: usize,
    len: usize,
    /// Written in packet mode: a read takes at most this slot and drops
    /// what it did not take; nothing merges into it.
    packet: bool,
}

/// The slots of a pipe.
pub struct Ring<A: PageAlloc> {
    /// Occupied slots, oldest first; none is empty.
    slots: VecDeque<Slot<A::Page>>,
    /// Unread bytes in all slots.
    len: usize,
    /// How many slots the pipe may hold.
    max: usize,
    /// A freed page kept for the next write (Linux's `tmp_page`): a
    /// ping-pong of small messages allocates nothing.
    spare: Option<A::Page>,
    /// The whole packet the last [`Ring::take`] read (packet mode), so that
    /// [`Ring::put_back`] restores it with its boundary and its dropped rest.
    last_packet: Option<(A::Page, usize)>,
    pages: A,
}

impl<A: PageAlloc> Ring<A> {
    /// An empty ring of 16 slots.
    pub fn new(pages: A) -> Self {
        Ring {
            slots: VecDeque::new(),
            len: 0,
            max: PIPE_CAPACITY / PAGE,
            spare: None,
            last_packet: None,
            pages,
        }
    }

    /// Unread bytes (FIONREAD).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is unread.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether every slot is occupied (a writer must wait).
    pub fn is_full(&self) -> bool {
        self.slots.len() >= self.max
    }

    /// Occupied slots.
    pub fn slots_used(&self) -> usize {
        self.slots.len()
    }

    /// The capacity in bytes (F_GETPIPE_SZ): the slots, a page each.
    pub fn capacity(&self) -> usize {
        self.max * PAGE
    }

    /// The page allocator.
    pub fn pages(&self) -> &A {
        &self.pages
    }

    /// A page for a new slot: the spare one, or a new one.
    fn page(&mut self) -> Option<A::Page> {
        self.spare.take().or_else(|| self.pages.alloc())
    }

    /// The first step of Linux's pipe_write: the sub-page remainder of a
    /// write of `data` (its first `data.len() % PAGE` bytes) goes into the
    /// last slot when all of it fits there. Returns the bytes taken.
    pub fn merge(&mut self, data: &[u8]) -> usize {
        let chars = data.len() % PAGE;
        let Some(last) = self.slots.back_mut() else { return 0 };
        // the page is not compacted: what was read still takes its room
        if chars == 0 || last.packet || last.len + chars > PAGE {
            return 0;
        }
        A::write(&mut last.page, last.len, &data[..chars]);
        last.len += chars;
        self.len += chars;
        chars
    }

    /// Fills free slots with `data`, a page (a packet) each. Returns the
    /// bytes taken; `ENOMEM` when no page could be had for the first one
    /// (as Linux's pipe_write).
    pub fn fill(&mut self, data: &[u8], packet: bool) -> Result<usize> {
        let mut done = 0;
        while done < data.len() && !self.is_full() {
            let n = (data.len() - done).min(PAGE);
            // the slot list grows fallibly: no page when it cannot
            let page = match self.slots.try_reserve(1) {
                Ok(()) => self.page(),
                Err(_) => None,
            };
            let Some(mut page) = page else {
                return if done > 0 { Ok(done) } else { Err(Errno::ENOMEM) };
            };
            A::write(&mut page, 0, &data[done..done + n]);
            self.slots.push_back(Slot { page, start: 0, len: n, packet });
            self.len += n;
            done += n;
        }
        Ok(done)
    }

    /// A write that does not wait (`O_NONBLOCK`, or the part of a write
    /// before it would sleep): merge, then fill. `EAGAIN` when nothing
    /// fits; a partial count when part did. A write of at most
    /// [`PIPE_BUF`] bytes goes in whole or not at all.
    pub fn try_write(&mut self, data: &[u8], packet: bool) -> Result<usize> {
        // the last slot's mode decides a merge, not the writer's (pipe_write)
        let merged = self.merge(data);
        let filled = match self.fill(&data[merged..], packet) {
            Ok(n) => n,
            Err(e) if merged == 0 => return Err(e),
            Err(_) => 0,
        };
        match merged + filled {
            0 if !data.is_empty() => Err(Errno::EAGAIN),
            n => Ok(n),
        }
    }

    /// Puts `data`, what the last [`Ring::take`] returned, back in front (a
    /// read whose copy-out failed). It gets slots of its own, even beyond
    /// the pipe's slots: Linux never took it. A packet comes back whole.
    /// Bytes for which no page can be had are lost (memory exhausted).
    pub fn put_back(&mut self, data: &[u8]) {
        if self.slots.try_reserve(data.len().div_ceil(PAGE).max(1)).is_err() {
            return;
        }
        if let Some((page, len)) = self.last_packet.take() {
            self.len += len;
            self.slots.push_front(Slot { page, start: 0, len, packet: true });
            return;
        }
        for chunk in data.chunks(PAGE).rev() {
            let Some(mut page) = self.page() else { return };
            A::write(&mut page, 0, chunk);
            self.len += chunk.len();
            self.slots.push_front(Slot { page, start: 0, len: chunk.len(), packet: false });
        }
    }

    /// Takes up to `buf.len()` bytes, oldest first; emptied slots are freed.
    pub fn take(&mut self, buf: &mut [u8]) -> usize {
        let mut done = 0;
        self.last_packet = None;
        while done < buf.len() {
            let Some(slot) = self.slots.front_mut() else { break };
            let n = (slot.len - slot.start).min(buf.len() - done);
            A::read(&slot.page, slot.start, &mut buf[done..done + n]);
            done += n;
            if slot.packet {
                // a packet is read whole or its rest dropped, and ends the read
                self.len -= slot.len - slot.start - n;
                if let Some(s) = self.slots.pop_front() {
                    // kept as it is, so a failed copy-out can put it back
                    self.last_packet = Some((s.page, s.len));
                }
                break;
            }
            slot.start += n;
            if slot.start == slot.len
                && let Some(s) = self.slots.pop_front()
            {
                self.spare = Some(s.page);
            }
        }
        self.len -= done;
        done
    }

    /// Copies up to `buf.len()` bytes from the front into `buf` without
    /// consuming them (tee(2)); a packet ends the copy as it ends a read.
    pub fn peek(&self, buf: &mut [u8]) -> usize {
        let mut done = 0;
        for slot in &self.slots {
            if done == buf.len() {
                break;
            }
            let n = (slot.len - slot.start).min(buf.len() - done);
            A::read(&slot.page, slot.start, &mut buf[done..done + n]);
            done += n;
            if slot.packet {
                break;
            }
        }
        done
    }

    /// F_SETPIPE_SZ's change of the slot count: `EBUSY` when more slots
    /// are occupied than `slots` (pipe_resize_ring()).
    pub fn set_slots(&mut self, slots: usize) -> Result<()> {
        if self.slots.len() > slots {
            return Err(Errno::EBUSY);
        }
        self.max = slots;
        Ok(())
    }
}

/// F_SETPIPE_SZ's size: rounded up to a power of two of at least a page;
/// `EINVAL` beyond 2 GiB (Linux's round_pipe_size()).
pub fn round_size(size: u64) -> Result<usize> {
    if size > MAX_SIZE {
        return Err(Errno::EINVAL);
    }
    Ok((size as usize).max(PIPE_BUF).next_power_of_two())
}

/// What poll(2) reports for a pipe end (pipe_poll()): an end open for
/// reading is readable with data and hung up without writers; one open
/// for writing is writable while a slot is free and in error without
/// readers.
pub fn poll_bits(read: bool, write: bool, len: usize, full: bool, readers: usize, writers: usize) -> u32 {
    let mut r = 0;
    if write {
        if !full {
            r |= POLLOUT | POLLWRNORM;
        }
        if readers == 0 {
            r |= POLLERR;
        }
    }
    if read {
        if len > 0 {
            r |= POLLIN | POLLRDNORM;
        }
        if writers == 0 {
            r |= POLLHUP;
        }
    }
    r
}
