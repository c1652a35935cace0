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
    /// Whether the file still exists (an item of a gone file is dropped).
    fn alive(&self) -> bool;
    /// The identity of the open file (equal for every fd of one file).
    fn key(&self) -> usize;
}

/// One entry of the interest list.
#[derive(Debug)]
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
    /// The events field as it stands (flags included).
    pub fn events(&self) -> u32 {
        self.events
    }

    /// What this item reports now, without changing it: 0 when nothing
    /// (or when the file is gone or a one-shot item is disarmed).
    pub fn probe(&self) -> u32 {
        self.judge().map_or(0, |(_, r, report)| if report { r } else { 0 })
    }

    fn judge(&self) -> Option<(u64, u32, bool)> {
        if self.events & !PRIVATE_BITS == 0 {
            return None;
        }
        let (count, poll) = self.handle.look()?;
        let r = poll & self.events & !PRIVATE_BITS;
        let report = r != 0
            && (self.events & EPOLLET == 0 || self.last_count != Some(count) || r & !self.last_ready != 0);
        Some((count, r, report))
    }

    /// Like [`Item::probe`], recording the look (edge-triggered state and
    /// one-shot disarming).
    pub fn take(&mut self) -> u32 {
        let Some((count, r, report)) = self.judge() else { return 0 };
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

/// An epoll instance's interest list; level-triggered items that report
/// move to its end.
#[derive(Debug)]
pub struct Interest<H, X> {
    items: Vec<Item<H, X>>,
}

impl<H, X> Default for Interest<H, X> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H, X> Interest<H, X> {
    /// An empty list.
    pub const fn new() -> Self {
        Interest { items: Vec::new() }
    }

    /// Items in the list.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items, in service order.
    pub fn iter(&self) -> impl Iterator<Item = &Item<H, X>> {
        self.items.iter()
    }

    /// Takes every item out (the instance is closing).
    pub fn drain(&mut self) -> impl Iterator<Item = Item<H, X>> + '_ {
        self.items.drain(..)
    }
}

impl<H: Watched, X> Interest<H, X> {
    /// Drops the items whose file is gone (Linux's `eventpoll_release`),
    /// handing each to `gone`.
    pub fn prune(&mut self, mut gone: impl FnMut(Item<H, X>)) {
        let mut i = 0;
        while i < self.items.len() {
            if self.items[i].handle.alive() {
                i += 1;
            } else {
                gone(self.items.remove(i));
            }
        }
    }

    /// epoll_ctl on the list, after the caller's argument checks: ADD
    /// (`EEXIST` if (fd, file) is in; `extra` made only when it is added;
    /// `ENOMEM` when the list cannot grow), DEL and MOD (`ENOENT` if it is
    /// not; MOD of an `EPOLLEXCLUSIVE` item is `EINVAL`), any other op
    /// `EINVAL`. `EPOLLERR | EPOLLHUP` are always added to the events; MOD
    /// re-arms (edge state and one-shot).
    pub fn ctl(
        &mut self,
        op: i32,
        fd: u32,
        handle: H,
        events: u32,
        data: u64,
        extra: impl FnOnce(&H) -> X,
    ) -> Result<Ctl<H, X>> {
        let key = handle.key();
        let at = self.items.iter().position(|i| i.fd == fd && i.handle.key() == key);
        match (op, at) {
            (EPOLL_CTL_ADD, None) => {
                self.items.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                let extra = extra(&handle);
                self.items.push(Item {
                    fd,
                    handle,
                    events: events | EPOLLERR | EPOLLHUP,
                    data,
                    last_ready: 0,
                    last_count: None,
                    extra,
                });
                Ok(Ctl::Added)
            }
            (EPOLL_CTL_ADD, Some(_)) => Err(Errno::EEXIST),
            (EPOLL_CTL_DEL, Some(i)) => Ok(Ctl::Removed(self.items.remove(i))),
            (EPOLL_CTL_MOD, Some(i)) => {
                let it = &mut self.items[i];
                if it.events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                it.events = events | EPOLLERR | EPOLLHUP;
                it.data = data;
                it.last_ready = 0;
                it.last_count = None;
                Ok(Ctl::Modified)
            }
            (EPOLL_CTL_DEL | EPOLL_CTL_MOD, None) => Err(Errno::ENOENT),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Whether some item would report now.
    pub fn any_ready(&self) -> bool {
        self.items.iter().any(|i| i.probe() != 0)
    }

    /// Up to `max` (events, data) pairs, in list order; reported
    /// level-triggered items move to the end of the list (Linux's
    /// ready-list rotation, so a small `maxevents` serves every item in
    /// turn). Stops early, with what it has, when memory runs out.
    pub fn collect(&mut self, max: usize) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let mut again = Vec::new();
        let mut i = 0;
        while i < self.items.len() && out.len() < max {
            let r = self.items[i].take();
            if r != 0 {
                if out.try_reserve(1).is_err() || again.try_reserve(1).is_err() {
                    break;
                }
                out.push((r, self.items[i].data));
                if self.items[i].events & (EPOLLET | EPOLLONESHOT) == 0 {
                    again.push(self.items.remove(i));
                    continue;
                }
            }
            i += 1;
        }
        self.items.extend(again);
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
