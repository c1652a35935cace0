//! The memory controller's counters of one group (mm/memcontrol.c's
//! `page_counter` and memory events), as atomics: an address space holds
//! its group's [`MemCounters`] by `Arc` and charges pages to it and its
//! ancestors without any lock.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::GroupId;

/// `memory.max` (and the other limits) meaning "max", in pages.
pub const MEM_MAX: u64 = u64::MAX;

/// Linux's `MEMCG_CHARGE_BATCH`: a charge is made (and `memory.high`
/// looked at) per this many pages; the throttling penalty is scaled by a
/// task's pages over high against it.
pub const HIGH_BATCH: u64 = 64;

/// The jiffies per second the throttling penalty is computed in (Debian's
/// `CONFIG_HZ`): [`MemCounters::handle_over_high`] answers in jiffies of
/// `1 s / HZ`, so the rounding is Linux's.
pub const HZ: u64 = 250;

/// `MEMCG_DELAY_PRECISION_SHIFT`: the overage is a fixed-point fraction
/// of the high limit with this many bits.
const DELAY_PRECISION_SHIFT: u32 = 20;

/// `MEMCG_DELAY_SCALING_SHIFT`.
const DELAY_SCALING_SHIFT: u32 = 14;

/// `MEMCG_MAX_HIGH_DELAY_JIFFIES`: at most 2 s per return to user mode.
const MAX_HIGH_DELAY_JIFFIES: u64 = 2 * HZ;

/// `MAX_RECLAIM_RETRIES`: the reclaim tries before the sleep.
const MAX_RECLAIM_RETRIES: u32 = 16;

/// calculate_overage(): how far `usage` is over `high`, as a fraction of
/// `high` with [`DELAY_PRECISION_SHIFT`] bits (0 when not over).
fn overage(usage: u64, high: u64) -> u64 {
    if usage <= high {
        return 0;
    }
    let high = high.max(1);
    let over = u128::from(usage - high) << DELAY_PRECISION_SHIFT;
    u64::try_from(over / u128::from(high)).unwrap_or(u64::MAX)
}

/// calculate_high_delay(): the penalty in jiffies for `nr_pages` charged
/// over high at the largest overage `max_overage`, growing with its
/// square (not yet capped).
pub fn high_delay(nr_pages: u64, max_overage: u64) -> u64 {
    if max_overage == 0 {
        return 0;
    }
    let p = u128::from(max_overage) * u128::from(max_overage) * u128::from(HZ);
    let p = (p >> DELAY_PRECISION_SHIFT) >> DELAY_SCALING_SHIFT;
    u64::try_from(p * u128::from(nr_pages) / u128::from(HIGH_BATCH)).unwrap_or(u64::MAX)
}

/// A memory event (`memory.events`' lines, in their order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemEvent {
    /// Reclaim below `memory.low` (never here).
    Low,
    /// Over `memory.high` at a task's throttling (reclaim_high: each
    /// reclaim try counts one in every group over its high).
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
    /// `memory.high` in pages ([`MEM_MAX`]: none).
    high: AtomicU64,
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
            high: AtomicU64::new(MEM_MAX),
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

    /// After a charge: the lowest group over its `memory.max`, as
    /// [`MemCounters::over_limit`], and whether this group or an ancestor
    /// is over its `memory.high` (try_charge_memcg's second walk), in one
    /// walk up: the same loads as `over_limit` and the high limit beside
    /// the max.
    pub fn over_limits(&self) -> (Option<GroupId>, bool) {
        let mut high = false;
        let mut at = Some(self);
        while let Some(c) = at {
            let cur = c.current.load(Ordering::Relaxed);
            if cur > c.max.load(Ordering::Relaxed) {
                return (Some(c.group), high);
            }
            high |= cur > c.high.load(Ordering::Relaxed);
            at = c.parent.as_deref();
        }
        (None, high)
    }

    /// The groups from this one up, the root left out (the walks of
    /// reclaim_high and mem_find_max_overage).
    fn below_root(&self) -> impl Iterator<Item = &MemCounters> {
        core::iter::successors(Some(self), |c| c.parent.as_deref()).filter(|c| c.parent.is_some())
    }

    /// reclaim_high(): one reclaim try, which counts "high" in every group
    /// from this one up (not the root) over its `memory.high`. Nothing is
    /// reclaimed here (no swap, no page cache in the charge).
    fn reclaim_high(&self) {
        for c in self.below_root() {
            if c.current() > c.high() {
                c.event(MemEvent::High);
            }
        }
    }

    /// mem_cgroup_handle_over_high(), for a task of this group with
    /// `nr_pages` charged while over a high limit, at its return to user
    /// mode: the reclaim tries ("high" events) and the penalty in jiffies
    /// of `1 s / HZ` the task then sleeps (0: none). The penalty grows
    /// with the square of the largest overage from this group up and with
    /// `nr_pages` against [`HIGH_BATCH`], up to 2 s; one of at most
    /// `HZ / 100` jiffies is not slept (one reclaim try only), a longer one
    /// after Linux's `MAX_RECLAIM_RETRIES` (16) more tries that reclaimed nothing.
    pub fn handle_over_high(&self, nr_pages: u64) -> u64 {
        if nr_pages == 0 {
            return 0;
        }
        let mut retries = MAX_RECLAIM_RETRIES;
        loop {
            self.reclaim_high();
            let max_overage = self.below_root().map(|c| overage(c.current(), c.high())).max().unwrap_or(0);
            // (+ the swap overage: no swap here)
            let penalty = high_delay(nr_pages, max_overage).min(MAX_HIGH_DELAY_JIFFIES);
            if penalty <= HZ / 100 {
                return 0;
            }
            if retries == 0 {
                return penalty;
            }
            retries -= 1;
        }
    }

    /// `memory.high` in pages.
    pub fn high(&self) -> u64 {
        self.high.load(Ordering::Relaxed)
    }

    /// Sets `memory.high` (pages).
    pub fn set_high(&self, pages: u64) {
        self.high.store(pages, Ordering::Relaxed);
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
        self.high.store(MEM_MAX, Ordering::Relaxed);
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

    fn over_limits(&self) -> (Option<u64>, bool) {
        let (max, high) = MemCounters::over_limits(self);
        (max.map(GroupId::raw), high)
    }
}
