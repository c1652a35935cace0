//! epoll's interest and ready list (fs/eventpoll.c), without files or wait
//! queues: items keyed by (open file, fd number), what each reports under
//! level, edge (`EPOLLET`) and one-shot (`EPOLLONESHOT`) triggering, the
//! order `epoll_wait` serves them in, and epoll_ctl's and epoll_wait's
//! argument rules.
//!
//! A file is seen through [`Watched`]: its readiness (`poll`) and an event
//! count that moves on every change a wake-up would signal (Linux's
//! `ep_poll_callback` runs per wake-up; a count lets an edge-triggered
//! item see a second write while the file stayed readable). Each item
//! carries the kernel's `X` (the relay from the file's wait queue), handed
//! back when the item goes so the kernel can undo it.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use linux_abi::{Errno, Result};

/// `EPOLL_CTL_ADD`.
pub const EPOLL_CTL_ADD: i32 = 1;
/// `EPOLL_CTL_DEL`.
pub const EPOLL_CTL_DEL: i32 = 2;
/// `EPOLL_CTL_MOD`.
pub const EPOLL_CTL_MOD: i32 = 3;
/// `EPOLLIN`.
pub const EPOLLIN: u32 = 0x001;
/// `EPOLLPRI`.
pub const EPOLLPRI: u32 = 0x002;
/// `EPOLLOUT`.
pub const EPOLLOUT: u32 = 0x004;
/// `EPOLLERR`: always reported.
pub const EPOLLERR: u32 = 0x008;
/// `EPOLLHUP`: always reported.
pub const EPOLLHUP: u32 = 0x010;
/// `EPOLLRDHUP`.
pub const EPOLLRDHUP: u32 = 0x2000;
/// `EPOLLEXCLUSIVE`.
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
/// `EPOLLWAKEUP`.
pub const EPOLLWAKEUP: u32 = 1 << 29;
/// `EPOLLONESHOT`.
pub const EPOLLONESHOT: u32 = 1 << 30;
/// `EPOLLET`.
pub const EPOLLET: u32 = 1 << 31;
/// Flags that are not events (Linux's `EP_PRIVATE_BITS`).
pub const PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// What may come with `EPOLLEXCLUSIVE` (`EPOLLEXCLUSIVE_OK_BITS`).
pub const EXCLUSIVE_OK: u32 =
    EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/// `sizeof(struct epoll_event)` on x86_64 (packed).
pub const EVENT_SIZE: usize = 12;
/// Linux's `EP_MAX_EVENTS`: INT_MAX / sizeof(struct epoll_event).
pub const MAX_EVENTS: i32 = i32::MAX / EVENT_SIZE as i32;
/// The end of the user half (Linux's `TASK_SIZE_MAX`), for `access_ok`.
pub const USER_END: u64 = 0x7fff_ffff_f000;

/// A watched open file, as an item holds it (weakly, in a kernel).
pub trait Watched {
    /// The file's event count and then its poll bits; `None` once the file
    /// is gone.
    fn look(&self) -> Option<(u64, u32)>;
    /// As [`Watched::look`], without the side effects a poll may have
    /// (a file whose poll reports a change once, as Linux's /proc/PID/
    /// mountinfo's `POLLPRI`): what [`Item::probe`] looks with. The same
    /// as `look` by default.
    fn peek(&self) -> Option<(u64, u32)> {
        self.look()
    }
    /// Whether the file still exists (an item of a gone file is dropped).
    fn alive(&self) -> bool;
    /// The identity of the open file (equal for every fd of one file).
    fn key(&self) -> usize;
}

/// One entry of the interest list.
#[derive(Debug)]
#[non_exhaustive]
pub struct Item<H, X> {
    /// The fd number it was added under.
    pub fd: u32,
    /// The file.
    pub handle: H,
    /// The events asked for, with `EPOLLERR | EPOLLHUP` and the flags;
    /// only the flags once a one-shot item has fired.
    events: u32,
    data: u64,
    /// Edge-triggered state: readiness at the last look and the file's
    /// event count at the last report (`None`: never reported).
    last_ready: u32,
    last_count: Option<u64>,
    /// The kernel's state for this item (its wake-up relay).
    pub extra: X,
}

impl<H: Watched, X> Item<H, X> {
    /// The user's data word (`epoll_event.data`).
    pub fn data(&self) -> u64 {
        self.data
    }

    /// The events field as it stands (flags included).
    pub fn events(&self) -> u32 {
        self.events
    }

    /// What this item reports now, without changing it: 0 when nothing
    /// (or when the file is gone or a one-shot item is disarmed).
    pub fn probe(&self) -> u32 {
        self.judge(true).map_or(0, |(_, r, report)| if report { r } else { 0 })
    }

    fn judge(&self, peek: bool) -> Option<(u64, u32, bool)> {
        if self.events & !PRIVATE_BITS == 0 {
            return None;
        }
        let (count, poll) = if peek { self.handle.peek()? } else { self.handle.look()? };
        let r = poll & self.events & !PRIVATE_BITS;
        let report = r != 0
            && (self.events & EPOLLET == 0 || self.last_count != Some(count) || r & !self.last_ready != 0);
        Some((count, r, report))
    }

    /// Like [`Item::probe`], recording the look (edge-triggered state and
    /// one-shot disarming).
    pub fn take(&mut self) -> u32 {
        let Some((count, r, report)) = self.judge(false) else { return 0 };
        self.last_ready = r;
        if !report {
            return 0;
        }
        self.last_count = Some(count);
        if self.events & EPOLLONESHOT != 0 {
            self.events &= PRIVATE_BITS;
        }
        r
    }
}

/// What an [`Interest::ctl`] did.
#[derive(Debug)]
pub enum Ctl<H, X> {
    /// EPOLL_CTL_ADD added the item.
    Added,
    /// EPOLL_CTL_DEL removed this item (the kernel undoes its `extra`).
    Removed(Item<H, X>),
    /// EPOLL_CTL_MOD changed the item.
    Modified,
}

/// An item's place in an [`Interest`] list, stable while the item exists
/// (the kernel's wake-up hook names its item by it: [`Interest::mark`]).
pub type Slot = u32;

/// One place of the list: the item and whether it is on the ready list.
#[derive(Debug)]
struct Entry<H, X> {
    item: Item<H, X>,
    /// On the ready list (at most once).
    queued: bool,
    /// Looked at on every wait (a file without a wait queue, which never
    /// signals a change).
    sticky: bool,
}

/// An epoll instance's interest list and its ready list (Linux's
/// `rdllist`): only the items on the ready list are looked at by a wait,
/// so `epoll_wait` costs O(ready items), not O(items).
///
/// An item goes on the ready list when it is added or modified and when
/// its file signals a change ([`Interest::mark`], the kernel's wake-up
/// hook: Linux's `ep_poll_callback`). A wait looks at the ready items in
/// order: one that reports level-triggered goes back to the end (Linux's
/// re-queue after `ep_send_events`, so a small `maxevents` serves every
/// item in turn); an edge-triggered or one-shot one, or one that does not
/// report, leaves it (a sticky one stays).
#[derive(Debug)]
pub struct Interest<H, X> {
    slots: Vec<Option<Entry<H, X>>>,
    /// Free slots.
    free: Vec<Slot>,
    /// Items in the list.
    count: usize,
    /// The ready list; its capacity stays at least the number of slots, so
    /// marking never allocates.
    ready: VecDeque<Slot>,
    /// ADDs since the last [`Interest::prune`] (pruning is amortised).
    adds: usize,
}

impl<H, X> Default for Interest<H, X> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H, X> Interest<H, X> {
    /// An empty list.
    pub const fn new() -> Self {
        Interest { slots: Vec::new(), free: Vec::new(), count: 0, ready: VecDeque::new(), adds: 0 }
    }

    /// Items in the list.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Items on the ready list.
    pub fn ready_len(&self) -> usize {
        self.ready.len()
    }

    /// The items, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = &Item<H, X>> {
        self.slots.iter().filter_map(|e| e.as_ref().map(|e| &e.item))
    }

    /// The items with their slots, in slot order.
    pub fn slots(&self) -> impl Iterator<Item = (Slot, &Item<H, X>)> {
        self.slots.iter().enumerate().filter_map(|(i, e)| e.as_ref().map(|e| (i as Slot, &e.item)))
    }

    /// Takes every item out (the instance is closing).
    pub fn drain(&mut self) -> impl Iterator<Item = Item<H, X>> + '_ {
        self.ready.clear();
        self.free.clear();
        self.count = 0;
        self.slots.drain(..).flatten().map(|e| e.item)
    }

    /// The file of `slot` signalled a change: its item goes on the ready
    /// list (once; nothing for a free slot). Never allocates.
    pub fn mark(&mut self, slot: Slot) {
        if let Some(Some(e)) = self.slots.get_mut(slot as usize)
            && !e.queued
            && self.ready.len() < self.ready.capacity()
        {
            e.queued = true;
            self.ready.push_back(slot);
        }
    }

    /// Puts every item on the ready list (after wake-ups that could not be
    /// told apart), in slot order.
    pub fn mark_all(&mut self) {
        for i in 0..self.slots.len() {
            self.mark(i as Slot);
        }
    }

    /// Marks the items for which `f(extra)` holds (the kernel's record of
    /// wake-ups that came while the list was locked).
    pub fn mark_where(&mut self, mut f: impl FnMut(&X) -> bool) {
        for i in 0..self.slots.len() {
            if self.slots[i].as_ref().is_some_and(|e| f(&e.item.extra)) {
                self.mark(i as Slot);
            }
        }
    }

    /// Makes `slot`'s item looked at on every wait (its file has no way to
    /// signal a change), and marks it.
    pub fn stick(&mut self, slot: Slot) {
        if let Some(Some(e)) = self.slots.get_mut(slot as usize) {
            e.sticky = true;
        }
        self.mark(slot);
    }

    fn take_slot(&mut self, slot: Slot) -> Option<Item<H, X>> {
        let e = self.slots.get_mut(slot as usize)?.take()?;
        if e.queued {
            self.ready.retain(|s| *s != slot);
        }
        // cannot fail: `free` keeps room for every slot (ADD reserved it)
        if self.free.len() < self.free.capacity() {
            self.free.push(slot);
        }
        self.count -= 1;
        Some(e.item)
    }
}

impl<H: Watched, X> Interest<H, X> {
    /// Drops the items whose file is gone (Linux's `eventpoll_release`),
    /// handing each to `gone`.
    pub fn prune(&mut self, mut gone: impl FnMut(Item<H, X>)) {
        self.adds = 0;
        for i in 0..self.slots.len() {
            if self.slots[i].as_ref().is_some_and(|e| !e.item.handle.alive())
                && let Some(it) = self.take_slot(i as Slot)
            {
                gone(it);
            }
        }
    }

    /// Whether [`Interest::prune`] is due: after as many ADDs as there are
    /// items (so adding n items prunes O(log n) times, and a list keeps at
    /// most about twice its live items).
    pub fn prune_due(&self) -> bool {
        self.adds > self.count / 2 + 16
    }

    fn find(&self, fd: u32, key: usize) -> Option<Slot> {
        self.slots
            .iter()
            .position(|e| e.as_ref().is_some_and(|e| e.item.fd == fd && e.item.handle.key() == key))
            .map(|i| i as Slot)
    }

    /// epoll_ctl on the list, after the caller's argument checks: ADD
    /// (`EEXIST` if (fd, file) is in; `extra` made, with the item's slot,
    /// only when it is added; `ENOMEM` when the list cannot grow), DEL and
    /// MOD (`ENOENT` if it is not; MOD of an `EPOLLEXCLUSIVE` item is
    /// `EINVAL`), any other op `EINVAL`. `EPOLLERR | EPOLLHUP` are always
    /// added to the events; MOD re-arms (edge state and one-shot). An
    /// added or modified item goes on the ready list (it may be ready).
    pub fn ctl(
        &mut self,
        op: i32,
        fd: u32,
        handle: H,
        events: u32,
        data: u64,
        extra: impl FnOnce(&H, Slot) -> X,
    ) -> Result<Ctl<H, X>> {
        let key = handle.key();
        let at = self.find(fd, key);
        match (op, at) {
            (EPOLL_CTL_ADD, None) => {
                let slot = match self.free.pop() {
                    Some(s) => s,
                    None => {
                        let n = self.slots.len();
                        if n >= Slot::MAX as usize {
                            return Err(Errno::ENOMEM);
                        }
                        self.slots.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                        self.free.try_reserve(n + 1 - self.free.len()).map_err(|_| Errno::ENOMEM)?;
                        self.ready.try_reserve(n + 1 - self.ready.len()).map_err(|_| Errno::ENOMEM)?;
                        self.slots.push(None);
                        n as Slot
                    }
                };
                let extra = extra(&handle, slot);
                let item = Item {
                    fd,
                    handle,
                    events: events | EPOLLERR | EPOLLHUP,
                    data,
                    last_ready: 0,
                    last_count: None,
                    extra,
                };
                self.slots[slot as usize] = Some(Entry { item, queued: false, sticky: false });
                self.count += 1;
                self.adds += 1;
                self.mark(slot);
                Ok(Ctl::Added)
            }
            (EPOLL_CTL_ADD, Some(_)) => Err(Errno::EEXIST),
            (EPOLL_CTL_DEL, Some(s)) => self.take_slot(s).map(Ctl::Removed).ok_or(Errno::ENOENT),
            (EPOLL_CTL_MOD, Some(s)) => {
                let Some(Some(e)) = self.slots.get_mut(s as usize) else { return Err(Errno::ENOENT) };
                let it = &mut e.item;
                if it.events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                it.events = events | EPOLLERR | EPOLLHUP;
                it.data = data;
                it.last_ready = 0;
                it.last_count = None;
                self.mark(s);
                Ok(Ctl::Modified)
            }
            (EPOLL_CTL_DEL | EPOLL_CTL_MOD, None) => Err(Errno::ENOENT),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Whether some item of the ready list would report now.
    pub fn any_ready(&self) -> bool {
        self.ready.iter().any(|s| self.slots[*s as usize].as_ref().is_some_and(|e| e.item.probe() != 0))
    }

    /// Up to `max` (events, data) pairs, in ready-list order, looking at
    /// the ready items only; reported level-triggered items (and sticky
    /// ones) go back to the end of the ready list, the others leave it.
    /// Returns nothing when memory for the answer runs out.
    pub fn collect(&mut self, max: usize) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let n = self.ready.len();
        if out.try_reserve(max.min(n)).is_err() {
            return out;
        }
        for _ in 0..n {
            if out.len() >= max {
                break;
            }
            let Some(slot) = self.ready.pop_front() else { break };
            let Some(Some(e)) = self.slots.get_mut(slot as usize) else { continue };
            let r = e.item.take();
            let again = if r != 0 {
                out.push((r, e.item.data));
                e.sticky || e.item.events & (EPOLLET | EPOLLONESHOT) == 0
            } else {
                e.sticky
            };
            if again {
                // room: the slot was just taken off
                self.ready.push_back(slot);
            } else {
                e.queued = false;
            }
        }
        out
    }
}

/// epoll_ctl's `EPOLLEXCLUSIVE` rules (after the fds, the poll check and
/// the self check): not with MOD, not on an epoll file, only with
/// [`EXCLUSIVE_OK`] events (`EINVAL`).
pub fn check_exclusive(op: i32, events: u32, target_is_epoll: bool) -> Result<()> {
    if op == EPOLL_CTL_DEL || events & EPOLLEXCLUSIVE == 0 {
        return Ok(());
    }
    if op == EPOLL_CTL_MOD || (op == EPOLL_CTL_ADD && (target_is_epoll || events & !EXCLUSIVE_OK != 0)) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// epoll_wait's first checks: `maxevents` in 1..=[`MAX_EVENTS`]
/// (`EINVAL`), then the whole array in the user half (`EFAULT`). Returns
/// `maxevents`.
pub fn check_wait(maxevents: u64, events: u64) -> Result<usize> {
    let max = maxevents as i32;
    if max <= 0 || max > MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let bytes = max as u64 * EVENT_SIZE as u64;
    if events.checked_add(bytes).is_none_or(|end| end > USER_END) {
        return Err(Errno::EFAULT);
    }
    Ok(max as usize)
}

/// epoll_wait's timeout in ms (an `int`): negative waits forever (`None`).
pub fn timeout_ns(timeout: u64) -> Option<u64> {
    let ms = timeout as i32;
    (ms >= 0).then(|| ms as u64 * 1_000_000)
}

/// Encodes reported events as the user's `struct epoll_event` array.
pub fn encode(found: &[(u32, u64)], out: &mut Vec<u8>) -> Result<()> {
    out.try_reserve(found.len() * EVENT_SIZE).map_err(|_| Errno::ENOMEM)?;
    for (ev, data) in found {
        out.extend_from_slice(&ev.to_le_bytes());
        out.extend_from_slice(&data.to_le_bytes());
    }
    Ok(())
}

/// Decodes a user `struct epoll_event` (events, data).
pub fn decode(b: &[u8; EVENT_SIZE]) -> (u32, u64) {
    let mut d = [0u8; 8];
    d.copy_from_slice(&b[4..12]);
    (u32::from_le_bytes([b[0], b[1], b[2], b[3]]), u64::from_le_bytes(d))
}
