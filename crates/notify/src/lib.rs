//! inotify(7) without the kernel around it, after Linux 6.1's
//! fs/notify/inotify and fs/notify/notification.c: an [`Instance`] is what
//! one inotify descriptor holds, its watch table (watch descriptors handed
//! out cyclically from 1, one per watched object, `IN_MASK_ADD`,
//! `IN_MASK_CREATE`, `IN_ONESHOT`, `IN_EXCL_UNLINK`) and its event queue
//! (an identical last event is coalesced, a full queue ends in one
//! `IN_Q_OVERFLOW`, a read takes whole events only: `EINVAL` when the
//! first does not fit, names padded with NULs to a multiple of 16 bytes as
//! Linux's `round_event_name_len`).
//!
//! The kernel owns the locks, the wait queue and the objects watched: it
//! names each object by a key `K` (an inode handle), tells the instance
//! of each event on a watched object ([`Instance::event`]) with the watch
//! descriptor it recorded beside the object, and wakes readers when
//! [`Delivery::queued`] says so. Watches are charged to the user's
//! `max_user_watches` through the [`WatchBudget`] the instance is made
//! with; every allocation an event or a watch needs is fallible (a lost
//! event becomes `IN_Q_OVERFLOW`, a watch `ENOMEM`).
//!
//! ```
//! use notify::*;
//! use notify::testing::Budget;
//!
//! let budget = Budget::new(8192);
//! let mut inst: Instance<u64, Budget> = Instance::new(16384, budget.clone());
//! // a directory (key 7) watched for creations
//! let wd = inst.add_watch(7, IN_CREATE, true).unwrap();
//! assert_eq!(wd, Added::New(1));
//! let d = inst.event(1, IN_CREATE, 0, Some(b"a.txt"), false);
//! assert!(d.queued);
//! assert_eq!(inst.pending_bytes(), 16 + 16);
//! let mut buf = [0u8; 64];
//! assert_eq!(inst.read(&mut buf), Ok(32));
//! assert_eq!(&buf[0..4], &1i32.to_ne_bytes()); // wd
//! assert_eq!(&buf[4..8], &IN_CREATE.to_ne_bytes());
//! assert_eq!(&buf[12..16], &16u32.to_ne_bytes()); // len: "a.txt" + NULs
//! assert_eq!(&buf[16..21], b"a.txt");
//! assert_eq!(budget.used(), 1);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

use linux_abi::{Errno, Result};

/// File was accessed (read).
pub const IN_ACCESS: u32 = 0x0000_0001;
/// File was modified (write, truncate).
pub const IN_MODIFY: u32 = 0x0000_0002;
/// Metadata changed (permissions, owner, times, link count).
pub const IN_ATTRIB: u32 = 0x0000_0004;
/// A file open for writing was closed.
pub const IN_CLOSE_WRITE: u32 = 0x0000_0008;
/// A file not open for writing was closed.
pub const IN_CLOSE_NOWRITE: u32 = 0x0000_0010;
/// File was opened.
pub const IN_OPEN: u32 = 0x0000_0020;
/// An entry was moved out of a watched directory.
pub const IN_MOVED_FROM: u32 = 0x0000_0040;
/// An entry was moved into a watched directory.
pub const IN_MOVED_TO: u32 = 0x0000_0080;
/// An entry was created in a watched directory.
pub const IN_CREATE: u32 = 0x0000_0100;
/// An entry was deleted from a watched directory.
pub const IN_DELETE: u32 = 0x0000_0200;
/// The watched object was deleted.
pub const IN_DELETE_SELF: u32 = 0x0000_0400;
/// The watched object was moved.
pub const IN_MOVE_SELF: u32 = 0x0000_0800;
/// The filesystem of the watched object was unmounted.
pub const IN_UNMOUNT: u32 = 0x0000_2000;
/// The event queue overflowed (wd -1).
pub const IN_Q_OVERFLOW: u32 = 0x0000_4000;
/// The watch was removed.
pub const IN_IGNORED: u32 = 0x0000_8000;
/// Both close events.
pub const IN_CLOSE: u32 = IN_CLOSE_WRITE | IN_CLOSE_NOWRITE;
/// Both move events.
pub const IN_MOVE: u32 = IN_MOVED_FROM | IN_MOVED_TO;
/// Watch only a directory (`ENOTDIR` otherwise; the caller checks).
pub const IN_ONLYDIR: u32 = 0x0100_0000;
/// Do not follow a final symbolic link (the caller's lookup).
pub const IN_DONT_FOLLOW: u32 = 0x0200_0000;
/// No events for children once they are unlinked.
pub const IN_EXCL_UNLINK: u32 = 0x0400_0000;
/// Only create a watch: `EEXIST` when the object has one.
pub const IN_MASK_CREATE: u32 = 0x1000_0000;
/// Add the events to an existing watch's instead of replacing them.
pub const IN_MASK_ADD: u32 = 0x2000_0000;
/// The event's subject is a directory.
pub const IN_ISDIR: u32 = 0x4000_0000;
/// Remove the watch after its first event.
pub const IN_ONESHOT: u32 = 0x8000_0000;
/// Every event a watch can ask for.
pub const IN_ALL_EVENTS: u32 = IN_ACCESS
    | IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE
    | IN_OPEN
    | IN_MOVE
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF;
/// Linux's `ALL_INOTIFY_BITS`: a mask without any of them is `EINVAL`.
pub const ALL_INOTIFY_BITS: u32 = IN_ALL_EVENTS
    | IN_UNMOUNT
    | IN_Q_OVERFLOW
    | IN_IGNORED
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
    | IN_EXCL_UNLINK
    | IN_MASK_ADD
    | IN_MASK_CREATE
    | IN_ISDIR
    | IN_ONESHOT;
/// What a watch keeps of its mask (Linux's `INOTIFY_USER_MASK`; what
/// /proc's fdinfo shows).
pub const USER_MASK: u32 = IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK;
/// The bits a read reports (Linux's `inotify_mask_to_arg`).
const REPORTED: u32 = IN_ALL_EVENTS | IN_ISDIR | IN_UNMOUNT | IN_IGNORED | IN_Q_OVERFLOW;
/// `IN_CLOEXEC` (= `O_CLOEXEC`) for inotify_init1.
pub const IN_CLOEXEC: u32 = 0o2_000_000;
/// `IN_NONBLOCK` (= `O_NONBLOCK`) for inotify_init1.
pub const IN_NONBLOCK: u32 = 0o4000;
/// `sizeof(struct inotify_event)`: wd, mask, cookie, len.
pub const EVENT_HEADER: usize = 16;
/// `/proc/sys/fs/inotify/max_queued_events`'s default.
pub const DEFAULT_MAX_QUEUED_EVENTS: usize = 16384;
/// `/proc/sys/fs/inotify/max_user_instances`'s default.
pub const DEFAULT_MAX_USER_INSTANCES: usize = 128;

/// `/proc/sys/fs/inotify/max_user_watches`'s default for a machine with
/// `ram_bytes` of memory (Linux's inotify_user_setup: 1% of memory over
/// the cost of a watch, an inode mark and two inodes, between 8192 and
/// 1048576).
pub fn default_max_user_watches(ram_bytes: u64) -> usize {
    /// Linux 6.1's `INOTIFY_WATCH_COST` on x86_64 (an inotify mark and two
    /// inodes).
    const WATCH_COST: u64 = 1280;
    ((ram_bytes / 100) / WATCH_COST).clamp(8192, 1_048_576) as usize
}

/// inotify_init1's flags: `EINVAL` for anything but `IN_CLOEXEC` and
/// `IN_NONBLOCK`.
pub fn check_init_flags(flags: u32) -> Result<()> {
    if flags & !(IN_CLOEXEC | IN_NONBLOCK) != 0 { Err(Errno::EINVAL) } else { Ok(()) }
}

/// inotify_add_watch's checks of `mask` before the descriptor is looked
/// at (Linux's order): `IN_MASK_ADD` with `IN_MASK_CREATE`, or no valid bit,
/// is `EINVAL`.
pub fn check_mask(mask: u32) -> Result<()> {
    if mask & IN_MASK_ADD != 0 && mask & IN_MASK_CREATE != 0 {
        return Err(Errno::EINVAL);
    }
    if mask & ALL_INOTIFY_BITS == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The user's watch count, charged when a watch is made and given back
/// when it goes (`fs.inotify.max_user_watches`, Linux's ucounts), and the
/// memory of the user's queued events ([`Event::cost`]), charged when an
/// event is queued and given back when it is read or its instance goes:
/// Linux charges events to the memory cgroup; a kernel without one
/// bounds them per user, so that many instances cannot take the heap.
pub trait WatchBudget {
    /// One more watch: `ENOSPC` at the limit.
    fn charge(&self) -> Result<()>;
    /// One watch fewer.
    fn uncharge(&self);
    /// `bytes` more of queued events: `false` past the user's bound (the
    /// instance queues `IN_Q_OVERFLOW` instead). No bound by default.
    fn charge_event(&self, bytes: usize) -> bool {
        let _ = bytes;
        true
    }
    /// `bytes` of queued events fewer.
    fn uncharge_event(&self, bytes: usize) {
        let _ = bytes;
    }
}

/// A bound on the queued events' memory of one user for a kernel without
/// a memory cgroup: `max_queued_events` events of the longest names
/// twice over (one instance queues as on Linux; 128 instances cannot).
pub fn default_max_user_queued_bytes(max_queued_events: usize) -> usize {
    max_queued_events.saturating_mul(2 * (core::mem::size_of::<Event>() + 256))
}

/// One queued event, as read(2) will report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The watch descriptor (-1 for `IN_Q_OVERFLOW`).
    pub wd: i32,
    /// The event bits (`IN_ISDIR` included).
    pub mask: u32,
    /// Ties an `IN_MOVED_FROM` to its `IN_MOVED_TO`; 0 otherwise.
    pub cookie: u32,
    /// The entry's name, for an event on a child of a watched directory.
    pub name: Option<Box<[u8]>>,
}

impl Event {
    /// The name field's length on read: the name and at least one NUL,
    /// rounded up to a multiple of [`EVENT_HEADER`]; 0 without a name.
    pub fn name_field(&self) -> usize {
        match &self.name {
            Some(n) => (n.len() + 1).div_ceil(EVENT_HEADER) * EVENT_HEADER,
            None => 0,
        }
    }

    /// The kernel memory the queued event takes, as charged to its user
    /// ([`WatchBudget::charge_event`]): the record and its name.
    pub fn cost(&self) -> usize {
        core::mem::size_of::<Event>() + self.name.as_ref().map_or(0, |n| n.len())
    }

    /// The bytes read(2) gives for this event.
    pub fn size(&self) -> usize {
        EVENT_HEADER + self.name_field()
    }

    /// Writes the `struct inotify_event` into `out` (at least
    /// [`Event::size`] bytes); returns the size.
    pub fn encode(&self, out: &mut [u8]) -> usize {
        let len = self.name_field();
        out[0..4].copy_from_slice(&self.wd.to_ne_bytes());
        out[4..8].copy_from_slice(&self.mask.to_ne_bytes());
        out[8..12].copy_from_slice(&self.cookie.to_ne_bytes());
        out[12..16].copy_from_slice(&(len as u32).to_ne_bytes());
        let tail = &mut out[EVENT_HEADER..EVENT_HEADER + len];
        tail.fill(0);
        if let Some(n) = &self.name {
            tail[..n.len()].copy_from_slice(n);
        }
        EVENT_HEADER + len
    }

    /// Linux's `event_compare`: the same watch, mask and name (an
    /// `IN_IGNORED` never absorbs another).
    fn same_as(&self, other: &Event) -> bool {
        self.mask & IN_IGNORED == 0
            && self.mask == other.mask
            && self.wd == other.wd
            && self.name == other.name
    }
}

/// One watch: the object, its descriptor and what it asks for.
#[derive(Clone, Debug)]
struct Watch<K> {
    key: K,
    /// Linux's mark mask: the user's bits ([`USER_MASK`]) plus
    /// `IN_IGNORED | IN_UNMOUNT`.
    mask: u32,
}

/// What [`Instance::add_watch`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Added {
    /// A new watch with this descriptor: the kernel records it beside the
    /// object.
    New(i32),
    /// The object's watch, whose mask changed.
    Updated(i32),
}

impl Added {
    /// The watch descriptor either way.
    pub fn wd(self) -> i32 {
        match self {
            Added::New(w) | Added::Updated(w) => w,
        }
    }
}

/// What an [`Instance::event`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery<K> {
    /// Something was queued (wake the readers).
    pub queued: bool,
    /// An `IN_ONESHOT` watch went with the event: the kernel drops its
    /// record beside the object.
    pub removed: Option<K>,
}

/// An inotify instance: the watch table and the event queue of one
/// `inotify_init1` descriptor.
pub struct Instance<K, B: WatchBudget> {
    /// The watches, in descriptor order.
    watches: Vec<(i32, Watch<K>)>,
    /// The last descriptor handed out (idr_alloc_cyclic's cursor).
    last_wd: i32,
    queue: VecDeque<Event>,
    /// Bytes a read of the whole queue gives (FIONREAD).
    bytes: usize,
    /// Whether the `IN_Q_OVERFLOW` event is queued (Linux's
    /// `list_empty(&overflow_event->list)`): no scan of the queue.
    overflowed: bool,
    /// `max_queued_events` when the instance was made.
    max_events: usize,
    /// The cost of the queued events charged to the budget (all but the
    /// overflow event).
    charged: usize,
    budget: B,
}

impl<K, B: WatchBudget> Drop for Instance<K, B> {
    fn drop(&mut self) {
        for _ in 0..self.watches.len() {
            self.budget.uncharge();
        }
        self.budget.uncharge_event(self.charged);
    }
}

impl<K: Clone + Eq, B: WatchBudget> Instance<K, B> {
    /// An instance queueing at most `max_events` events (then one
    /// `IN_Q_OVERFLOW`), charging watches to `budget`.
    pub fn new(max_events: usize, budget: B) -> Self {
        Instance {
            watches: Vec::new(),
            last_wd: 0,
            queue: VecDeque::new(),
            bytes: 0,
            overflowed: false,
            max_events,
            charged: 0,
            budget,
        }
    }

    /// Every watch goes (the instance's file is released): returns them,
    /// descriptor and object, for the kernel to drop its records beside
    /// the objects outside the instance's lock. No event is queued; the
    /// budget gets the watches back.
    pub fn remove_all(&mut self) -> impl Iterator<Item = (i32, K)> + use<K, B> {
        let all = core::mem::take(&mut self.watches);
        for _ in 0..all.len() {
            self.budget.uncharge();
        }
        all.into_iter().map(|(wd, w)| (wd, w.key))
    }

    /// The watch descriptor of `key`'s watch.
    pub fn wd_of(&self, key: &K) -> Option<i32> {
        self.watches.iter().find(|(_, w)| w.key == *key).map(|(wd, _)| *wd)
    }

    fn index(&self, wd: i32) -> core::result::Result<usize, usize> {
        self.watches.binary_search_by_key(&wd, |(w, _)| *w)
    }

    /// The watches: descriptor, object, mask as fdinfo shows it.
    pub fn watches(&self) -> impl Iterator<Item = (i32, &K, u32)> {
        self.watches.iter().map(|(wd, w)| (*wd, &w.key, w.mask & USER_MASK))
    }

    /// How many watches there are.
    pub fn watch_count(&self) -> usize {
        self.watches.len()
    }

    /// inotify_add_watch on the object `key` (a directory when `is_dir`)
    /// with `arg` ([`check_mask`]ed by the caller, who also did
    /// `IN_ONLYDIR` and `IN_DONT_FOLLOW` in its lookup). `EEXIST` with
    /// `IN_MASK_CREATE` when the object has a watch; `ENOSPC` from the
    /// budget; `ENOMEM`.
    pub fn add_watch(&mut self, key: K, arg: u32, is_dir: bool) -> Result<Added> {
        let _ = is_dir; // Linux adds FS_EVENT_ON_CHILD for a directory: not reported
        if let Some(wd) = self.wd_of(&key) {
            if arg & IN_MASK_CREATE != 0 {
                return Err(Errno::EEXIST);
            }
            let i = self.index(wd).map_err(|_| Errno::EINVAL)?;
            let w = &mut self.watches[i].1;
            let arg = if arg & IN_MASK_ADD != 0 { arg | w.mask } else { arg };
            w.mask = mark_mask(arg);
            return Ok(Added::Updated(wd));
        }
        let wd = self.free_wd().ok_or(Errno::ENOSPC)?;
        self.watches.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        self.budget.charge()?;
        let i = self.index(wd).unwrap_or_else(|i| i);
        self.watches.insert(i, (wd, Watch { key, mask: mark_mask(arg) }));
        self.last_wd = wd;
        Ok(Added::New(wd))
    }

    /// The next free descriptor after the last one, wrapping to 1.
    fn free_wd(&self) -> Option<i32> {
        let mut wd = self.last_wd;
        for _ in 0..=self.watches.len() {
            wd = if wd == i32::MAX { 1 } else { wd + 1 };
            if self.index(wd).is_err() {
                return Some(wd);
            }
        }
        None
    }

    /// inotify_rm_watch: the watch goes with an `IN_IGNORED` event;
    /// returns its object for the kernel to drop its record. `EINVAL` for
    /// an unknown descriptor.
    pub fn rm_watch(&mut self, wd: i32) -> Result<K> {
        let i = self.index(wd).map_err(|_| Errno::EINVAL)?;
        let (_, w) = self.watches.remove(i);
        self.budget.uncharge();
        self.push(Event { wd, mask: IN_IGNORED, cookie: 0, name: None });
        Ok(w.key)
    }

    /// The watched object `wd` is gone (deleted, its filesystem
    /// unmounted): the watch goes with an `IN_IGNORED` event. The kernel
    /// reports `IN_DELETE_SELF` or `IN_UNMOUNT` with [`Instance::event`]
    /// first. `None` if there was no such watch.
    pub fn object_gone(&mut self, wd: i32) -> Option<K> {
        let i = self.index(wd).ok()?;
        let (_, w) = self.watches.remove(i);
        self.budget.uncharge();
        self.push(Event { wd, mask: IN_IGNORED, cookie: 0, name: None });
        Some(w.key)
    }

    /// Event `mask` on the object of watch `wd` (`name` for an event on an
    /// entry of a watched directory; `unlinked` when it comes through an
    /// open file whose name is gone, which `IN_EXCL_UNLINK` watches skip).
    /// Queued when the watch asks for one of the bits.
    pub fn event(
        &mut self,
        wd: i32,
        mask: u32,
        cookie: u32,
        name: Option<&[u8]>,
        unlinked: bool,
    ) -> Delivery<K> {
        let mut d = Delivery { queued: false, removed: None };
        let Ok(i) = self.index(wd) else { return d };
        let w = &self.watches[i].1;
        if mask & w.mask & (IN_ALL_EVENTS | IN_UNMOUNT | IN_IGNORED) == 0 {
            return d;
        }
        if w.mask & IN_EXCL_UNLINK != 0 && unlinked {
            return d;
        }
        let oneshot = w.mask & IN_ONESHOT != 0;
        // inotify never reported IN_ISDIR with the self events
        let mask = if mask & (IN_MOVE_SELF | IN_DELETE_SELF) != 0 { mask & !IN_ISDIR } else { mask };
        let name = match name {
            Some(n) => {
                let mut v = Vec::new();
                if v.try_reserve_exact(n.len()).is_err() {
                    // Linux: a failed event allocation queues an overflow
                    self.overflow();
                    d.queued = true;
                    return d;
                }
                v.extend_from_slice(n);
                Some(v.into_boxed_slice())
            }
            None => None,
        };
        self.push(Event { wd, mask: mask & REPORTED, cookie, name });
        d.queued = true;
        if oneshot {
            d.removed = self.object_gone(wd);
        }
        d
    }

    /// Queues `IN_Q_OVERFLOW` unless it is queued already.
    fn overflow(&mut self) {
        if self.overflowed {
            return;
        }
        let e = Event { wd: -1, mask: IN_Q_OVERFLOW, cookie: 0, name: None };
        if self.queue.try_reserve(1).is_ok() {
            self.bytes += e.size();
            self.queue.push_back(e);
            self.overflowed = true;
        }
    }

    /// fsnotify_add_event with inotify_merge: a full queue gets one
    /// overflow event; an event equal to the last queued one is dropped.
    fn push(&mut self, e: Event) {
        if self.queue.len() >= self.max_events {
            self.overflow();
            return;
        }
        if let Some(last) = self.queue.back()
            && last.same_as(&e)
        {
            return;
        }
        let cost = e.cost();
        if !self.budget.charge_event(cost) {
            self.overflow();
            return;
        }
        if self.queue.try_reserve(1).is_err() {
            self.budget.uncharge_event(cost);
            self.overflow();
            return;
        }
        self.charged += cost;
        self.bytes += e.size();
        self.queue.push_back(e);
    }

    /// Whether an event waits (POLLIN).
    pub fn readable(&self) -> bool {
        !self.queue.is_empty()
    }

    /// FIONREAD: the bytes of all queued events.
    pub fn pending_bytes(&self) -> usize {
        self.bytes
    }

    /// How many events are queued (the overflow event included).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// read(2): whole events into `buf`, oldest first. `EINVAL` when the
    /// first does not fit; `EAGAIN` when none is queued (the kernel
    /// sleeps unless non-blocking).
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let first = self.queue.front().ok_or(Errno::EAGAIN)?;
        if first.size() > buf.len() {
            return Err(Errno::EINVAL);
        }
        let mut done = 0;
        while let Some(e) = self.queue.front() {
            let n = e.size();
            if n > buf.len() - done {
                break;
            }
            e.encode(&mut buf[done..done + n]);
            done += n;
            self.bytes -= n;
            if e.wd == -1 && e.mask == IN_Q_OVERFLOW {
                self.overflowed = false;
            } else {
                let cost = e.cost();
                self.charged -= cost;
                self.budget.uncharge_event(cost);
            }
            self.queue.pop_front();
        }
        Ok(done)
    }
}

/// One watch's line in the instance's /proc/PID/fdinfo (Linux 6.1's
/// `inotify_fdinfo` with `show_mark_fhandle`): the watch descriptor, the
/// inode number, the filesystem's device as the kernel holds it
/// (`MKDEV`: major << 20 | minor), the mask as [`Instance::watches`]
/// gives it, all in hex, then the inode's file handle (`handle_type` and
/// its bytes, as name_to_handle_at(2) would give them).
pub fn fdinfo_line(
    wd: i32,
    ino: u64,
    sdev: u32,
    mask: u32,
    handle_type: i32,
    handle: &[u8],
) -> alloc::string::String {
    use core::fmt::Write;
    let mut s = alloc::string::String::new();
    let _ = write!(
        s,
        "inotify wd:{wd:x} ino:{ino:x} sdev:{sdev:x} mask:{mask:x} ignored_mask:0 fhandle-bytes:{:x} fhandle-type:{handle_type:x} f_handle:",
        handle.len()
    );
    for b in handle {
        let _ = write!(s, "{b:02x}");
    }
    s.push('\n');
    s
}

/// Linux's `inotify_arg_to_mask` (less `FS_EVENT_ON_CHILD`).
fn mark_mask(arg: u32) -> u32 {
    IN_IGNORED | IN_UNMOUNT | (arg & USER_MASK)
}

/// Software implementations for tests: a per-user watch counter.
#[cfg(feature = "testing")]
pub mod testing {
    use alloc::sync::Arc;
    use core::sync::atomic::{AtomicUsize, Ordering};

    use linux_abi::{Errno, Result};

    /// A watch budget with a limit, and a bound on queued event memory;
    /// clones share the counts (one user).
    #[derive(Clone, Debug)]
    pub struct Budget {
        used: Arc<AtomicUsize>,
        max: usize,
        queued: Arc<AtomicUsize>,
        max_queued: usize,
    }

    impl Budget {
        /// A budget of `max` watches, with no bound on queued events.
        pub fn new(max: usize) -> Self {
            Self::with_event_bound(max, usize::MAX)
        }

        /// A budget of `max` watches and `max_queued` bytes of queued
        /// events ([`super::Event::cost`]).
        pub fn with_event_bound(max: usize, max_queued: usize) -> Self {
            Budget {
                used: Arc::new(AtomicUsize::new(0)),
                max,
                queued: Arc::new(AtomicUsize::new(0)),
                max_queued,
            }
        }

        /// Watches charged now.
        pub fn used(&self) -> usize {
            self.used.load(Ordering::Relaxed)
        }

        /// Bytes of queued events charged now.
        pub fn queued(&self) -> usize {
            self.queued.load(Ordering::Relaxed)
        }
    }

    impl super::WatchBudget for Budget {
        fn charge(&self) -> Result<()> {
            self.used
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| (u < self.max).then_some(u + 1))
                .map(|_| ())
                .map_err(|_| Errno::ENOSPC)
        }

        fn uncharge(&self) {
            self.used.fetch_sub(1, Ordering::Relaxed);
        }

        fn charge_event(&self, bytes: usize) -> bool {
            self.queued
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| {
                    q.checked_add(bytes).filter(|&n| n <= self.max_queued)
                })
                .is_ok()
        }

        fn uncharge_event(&self, bytes: usize) {
            self.queued.fetch_sub(bytes, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests;
