//! The memory controller's counters of one group (mm/memcontrol.c's
//! `page_counter` and memory events), as atomics: an address space holds
//! its group's [`MemCounters`] by `Arc` and charges pages to it and its
//! ancestors without any lock.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::GroupId;

/// `memory.max` (and the other limits) meaning "max", in pages.
pub const MEM_MAX: u64 = u64::MAX;

/// A memory event (`memory.events`' lines, in their order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemEvent {
    /// Reclaim below `memory.low` (never here).
    Low,
    /// Over `memory.high` (not counted: `memory.high` is kept, not applied).
    High,
    /// A charge went over `memory.max`.
    Max,
    /// The group's OOM killer ran.
    Oom,
    /// A process of the group was killed by an OOM killer.
    OomKill,
    /// The group was killed whole (`memory.oom.group`).
    OomGroupKill,
}

impl MemEvent {
    /// Every event, in `memory.events`' order.
    pub const ALL: [MemEvent; 6] = [
        MemEvent::Low,
        MemEvent::High,
        MemEvent::Max,
        MemEvent::Oom,
        MemEvent::OomKill,
        MemEvent::OomGroupKill,
    ];

    /// Its name in `memory.events`.
    pub fn name(self) -> &'static str {
        match self {
            MemEvent::Low => "low",
            MemEvent::High => "high",
            MemEvent::Max => "max",
            MemEvent::Oom => "oom",
            MemEvent::OomKill => "oom_kill",
            MemEvent::OomGroupKill => "oom_group_kill",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One group's memory counters. Charges go to it and every ancestor
/// (`memory.current` is hierarchical); the limit is read without a lock,
/// so a charge may pass `memory.max` by what was charged before the check
/// ([`MemCounters::over_limit`]) that the kernel makes after it.
pub struct MemCounters {
    group: GroupId,
    parent: Option<Arc<MemCounters>>,
    /// Pages charged here and below.
    current: AtomicU64,
    /// Of them, pages of file mappings (`memory.stat`'s "file").
    file: AtomicU64,
    /// The most `current` has been since the counters were made or reset.
    peak: AtomicU64,
    /// `memory.max` in pages ([`MEM_MAX`]: none).
    max: AtomicU64,
    /// `memory.events` (this group's and its descendants').
    events: [AtomicU64; 6],
    /// `memory.events.local` (this group's own).
    events_local: [AtomicU64; 6],
}

impl MemCounters {
    /// Counters of `group` under `parent`'s (none for the root).
    pub fn new(group: GroupId, parent: Option<Arc<MemCounters>>) -> Self {
        MemCounters {
            group,
            parent,
            current: AtomicU64::new(0),
            file: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            max: AtomicU64::new(MEM_MAX),
            events: [const { AtomicU64::new(0) }; 6],
            events_local: [const { AtomicU64::new(0) }; 6],
        }
    }

    /// The group these count.
    pub fn group(&self) -> GroupId {
        self.group
    }

    /// `pages` more resident pages (`file` of them of file mappings) here
    /// and in every ancestor; each level's peak follows.
    pub fn charge(&self, pages: u64, file: u64) {
        let mut at = Some(self);
        while let Some(c) = at {
            let now = c.current.fetch_add(pages, Ordering::Relaxed).saturating_add(pages);
            c.peak.fetch_max(now, Ordering::Relaxed);
            if file != 0 {
                c.file.fetch_add(file, Ordering::Relaxed);
            }
            at = c.parent.as_deref();
        }
    }

    /// `pages` fewer (`file` of them of file mappings), here and up.
    pub fn uncharge(&self, pages: u64, file: u64) {
        let sub = |a: &AtomicU64, n: u64| {
            if n != 0 {
                let _ = a.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| Some(v.saturating_sub(n)));
            }
        };
        let mut at = Some(self);
        while let Some(c) = at {
            sub(&c.current, pages);
            sub(&c.file, file);
            at = c.parent.as_deref();
        }
    }

    /// The lowest of this group and its ancestors whose charge is over its
    /// `memory.max` (Linux's `mem_over_limit`: page_counter_try_charge
    /// fails at the first counter from the leaf up), if any.
    pub fn over_limit(&self) -> Option<GroupId> {
        let mut at = Some(self);
        while let Some(c) = at {
            if c.current.load(Ordering::Relaxed) > c.max.load(Ordering::Relaxed) {
                return Some(c.group);
            }
            at = c.parent.as_deref();
        }
        None
    }

    /// Counts `event` in `memory.events.local` here and in `memory.events`
    /// here and in every ancestor but the root (memcg_memory_event).
    pub fn event(&self, event: MemEvent) {
        self.events_local[event.index()].fetch_add(1, Ordering::Relaxed);
        let mut at = Some(self);
        while let Some(c) = at {
            if c.parent.is_none() {
                break;
            }
            c.events[event.index()].fetch_add(1, Ordering::Relaxed);
            at = c.parent.as_deref();
        }
    }

    /// Pages charged here and below (`memory.current` / 4096).
    pub fn current(&self) -> u64 {
        self.current.load(Ordering::Relaxed)
    }

    /// Pages of file mappings among them.
    pub fn file(&self) -> u64 {
        self.file.load(Ordering::Relaxed)
    }

    /// The most pages charged at once (`memory.peak` / 4096).
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed).max(self.current())
    }

    /// `memory.max` in pages.
    pub fn max(&self) -> u64 {
        self.max.load(Ordering::Relaxed)
    }

    /// Sets `memory.max` (pages).
    pub fn set_max(&self, pages: u64) {
        self.max.store(pages, Ordering::Relaxed);
    }

    /// The count of `event` (`local`: `memory.events.local`'s).
    pub fn events(&self, event: MemEvent, local: bool) -> u64 {
        let a = if local { &self.events_local } else { &self.events };
        a[event.index()].load(Ordering::Relaxed)
    }

    /// A fresh css (the controller enabled again after it was off): limit,
    /// events and peak start over; the charges stay.
    pub fn reset(&self) {
        self.max.store(MEM_MAX, Ordering::Relaxed);
        for a in self.events.iter().chain(self.events_local.iter()) {
            a.store(0, Ordering::Relaxed);
        }
        self.peak.store(self.current(), Ordering::Relaxed);
    }
}

/// An address space charges its resident pages to its group's counters
/// (`Vmar::set_charge` with the group's `Arc<MemCounters>`).
impl vm::MemCharge for MemCounters {
    fn charge(&self, pages: usize, file: usize) {
        MemCounters::charge(self, pages as u64, file as u64);
    }

    fn uncharge(&self, pages: usize, file: usize) {
        MemCounters::uncharge(self, pages as u64, file as u64);
    }

    fn over_limit(&self) -> Option<u64> {
        MemCounters::over_limit(self).map(GroupId::raw)
    }
}
