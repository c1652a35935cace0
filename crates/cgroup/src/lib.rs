//! Linux's cgroup v2 hierarchy (kernel/cgroup/cgroup.c, pids.c of Linux
//! 6.1) as a value, without the kernel around it.
//!
//! A [`Hierarchy`] holds the groups (made by mkdir(2), removed by
//! rmdir(2): [`Hierarchy::mkdir`], [`Hierarchy::rmdir`] with
//! `cgroup.max.depth` and `cgroup.max.descendants` and the "populated"
//! rule), which group each process (a key `K` the kernel chooses, its
//! thread-group id) is in with how many live tasks it has, and the pids
//! controller's charges and limits. The kernel asks before a fork
//! ([`Hierarchy::charge_fork`]: `EAGAIN` beyond `pids.max`), tells it
//! what happened ([`Hierarchy::forked_process`], [`Hierarchy::forked_thread`],
//! [`Hierarchy::task_exited`]), moves processes ([`Hierarchy::migrate`],
//! after its own permission check, for which
//! [`Hierarchy::common_ancestor`] says where to look), and shows the files'
//! text ([`Hierarchy::read`], [`Hierarchy::write`]; `cgroup.procs` and
//! `cgroup.threads` list the kernel's numbers, [`Hierarchy::procs`]).
//! Paths as a cgroup namespace sees them, with Linux's `/..` steps for
//! groups outside it, come from [`Hierarchy::path_from`].
//!
//! Offered controllers: `cpu` (cg39: its files `cpu.weight` and `cpu.max`
//! with Linux's parsing and ranges, and `cpu.stat`'s throttling lines, all
//! zero: nothing is weighed or throttled) and `pids` (both threaded, so the
//! no-internal-process rule bites only when a group with a controller in
//! `cgroup.subtree_control` has populated children, as Linux's
//! `cgroup_migrate_vet_dst`). Threaded mode is not built: `cgroup.type` is
//! `domain`; writing `threaded` gives `EOPNOTSUPP`, and a thread can only
//! "move" into its own process's group. `cgroup.freeze` (cgroup/freezer.c)
//! sets whether a group and its descendants freeze
//! ([`Hierarchy::freezing`]); the kernel tells which tasks are in the
//! freezer's sleep ([`Hierarchy::task_frozen`]), from which `cgroup.events`'
//! "frozen" follows. A process's last task keeps its pids charge until
//! [`Hierarchy::reaped`] (Linux uncharges at release: a zombie counts in
//! `pids.current`); `nr_dying_descendants` is 0.
//!
//! The memory controller (cgmem40, a domain controller): each group's
//! [`MemCounters`] (atomics, linked to the parent's) is the
//! `vm::MemCharge` sink an address space charges its resident pages to;
//! `memory.current`, `memory.peak`, `memory.events` come from them, and
//! [`MemCounters::over_limit`] tells the kernel where to run its OOM
//! killer. chown(2)/chmod(2) of a group's directory and files are kept
//! ([`Hierarchy::set_file_attrs`], delegation).
//!
//! ```
//! use cgroup::{FileKind, Hierarchy, ROOT};
//! let mut h: Hierarchy<u32> = Hierarchy::new();
//! h.forked_process(1, ROOT);               // init
//! let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
//! h.write(ROOT, FileKind::SubtreeControl, b"+pids").unwrap();
//! h.write(a, FileKind::PidsMax, b"1").unwrap();
//! h.migrate(1, a).unwrap();
//! assert_eq!(h.read(a, FileKind::PidsCurrent).unwrap(), b"1\n");
//! assert_eq!(h.charge_fork(1), Err(linux_abi::Errno::EAGAIN));
//! assert_eq!(h.read(a, FileKind::PidsEvents).unwrap(), b"max 1\n");
//! assert_eq!(h.path_from(ROOT, a).unwrap(), b"/..");
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod mem;
pub mod parse;

pub use mem::{HIGH_BATCH, HZ, MEM_MAX, MemCounters, MemEvent, high_delay};

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write as _;

use linux_abi::{Errno, Result};

/// A group, by a number never reused while the hierarchy lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupId(u64);

impl GroupId {
    /// The number (the kernel's inode numbers may come from it).
    pub fn raw(self) -> u64 {
        self.0
    }

    /// The group whose number is `raw` (it may not exist).
    pub fn from_raw(raw: u64) -> Self {
        GroupId(raw)
    }
}

/// The root group.
pub const ROOT: GroupId = GroupId(1);

/// The pids controller's bit in a controller mask.
pub const PIDS: u32 = 1;

/// The cpu controller's bit (its files; nothing is throttled or weighed).
pub const CPU: u32 = 2;

/// The memory controller's bit (a domain controller: the
/// no-internal-process rule applies to it).
pub const MEMORY: u32 = 4;

/// The controllers offered, by name and bit, in Linux's order.
pub const CONTROLLERS: &[(&str, u32)] = &[("cpu", CPU), ("memory", MEMORY), ("pids", PIDS)];

/// The controllers that are threaded (Linux's `cgrp_dfl_threaded_ss_mask`).
const THREADED: u32 = PIDS | CPU;

/// `cpu.max`'s default period, µs (default_cfs_period).
pub const CPU_PERIOD_US: u64 = 100_000;

/// `PIDS_MAX` of kernel/cgroup/pids.c: `PID_MAX_LIMIT + 1`; `pids.max` at
/// or above it reads "max".
pub const PIDS_MAX: i64 = 4 * 1024 * 1024 + 1;

/// A file of a group's directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `cgroup.procs`: its processes (written: one moves here).
    Procs,
    /// `cgroup.threads`: its threads.
    Threads,
    /// `cgroup.controllers`: what its parent enables for it.
    Controllers,
    /// `cgroup.subtree_control`: what it enables for its children.
    SubtreeControl,
    /// `cgroup.events`: populated and frozen (not on the root).
    Events,
    /// `cgroup.type` (not on the root).
    Type,
    /// `cgroup.max.depth`.
    MaxDepth,
    /// `cgroup.max.descendants`.
    MaxDescendants,
    /// `cgroup.stat`.
    Stat,
    /// `cgroup.freeze` (not on the root).
    Freeze,
    /// `cgroup.kill` (not on the root, write only).
    Kill,
    /// `cpu.stat` (a core file of every group: the CPU time of its tasks
    /// and its descendants', [`Hierarchy::cpu_stat`]).
    CpuStat,
    /// `cpu.weight` (where the cpu controller is on, not on the root).
    CpuWeight,
    /// `cpu.max` (where the cpu controller is on, not on the root).
    CpuMax,
    /// `memory.current` (where the memory controller is on, as every
    /// `memory.*` file; not on the root): bytes charged here and below.
    MemoryCurrent,
    /// `memory.min` (kept; nothing is reclaimed here).
    MemoryMin,
    /// `memory.low` (kept).
    MemoryLow,
    /// `memory.high`: over it an allocating task is throttled at its
    /// return to user mode ([`MemCounters::handle_over_high`]).
    MemoryHigh,
    /// `memory.max`: over it the group's OOM killer runs.
    MemoryMax,
    /// `memory.peak`.
    MemoryPeak,
    /// `memory.events`.
    MemoryEvents,
    /// `memory.events.local`.
    MemoryEventsLocal,
    /// `memory.stat` (anon and file).
    MemoryStat,
    /// `memory.swap.current` (no swap: 0).
    MemorySwapCurrent,
    /// `memory.swap.max` (kept).
    MemorySwapMax,
    /// `memory.oom.group`: the OOM killer kills the whole group.
    MemoryOomGroup,
    /// `pids.max` (where the pids controller is on, not on the root).
    PidsMax,
    /// `pids.current`.
    PidsCurrent,
    /// `pids.events`.
    PidsEvents,
}

impl FileKind {
    /// Every kind, in the order a directory lists them.
    pub const ALL: [FileKind; 29] = [
        FileKind::Type,
        FileKind::Procs,
        FileKind::Threads,
        FileKind::Controllers,
        FileKind::SubtreeControl,
        FileKind::Events,
        FileKind::MaxDescendants,
        FileKind::MaxDepth,
        FileKind::Stat,
        FileKind::Freeze,
        FileKind::Kill,
        FileKind::CpuStat,
        FileKind::CpuWeight,
        FileKind::CpuMax,
        FileKind::MemoryCurrent,
        FileKind::MemoryMin,
        FileKind::MemoryLow,
        FileKind::MemoryHigh,
        FileKind::MemoryMax,
        FileKind::MemoryPeak,
        FileKind::MemoryEvents,
        FileKind::MemoryEventsLocal,
        FileKind::MemoryStat,
        FileKind::MemorySwapCurrent,
        FileKind::MemorySwapMax,
        FileKind::MemoryOomGroup,
        FileKind::PidsCurrent,
        FileKind::PidsEvents,
        FileKind::PidsMax,
    ];

    /// The file's name.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Procs => "cgroup.procs",
            FileKind::Threads => "cgroup.threads",
            FileKind::Controllers => "cgroup.controllers",
            FileKind::SubtreeControl => "cgroup.subtree_control",
            FileKind::Events => "cgroup.events",
            FileKind::Type => "cgroup.type",
            FileKind::MaxDepth => "cgroup.max.depth",
            FileKind::MaxDescendants => "cgroup.max.descendants",
            FileKind::Stat => "cgroup.stat",
            FileKind::Freeze => "cgroup.freeze",
            FileKind::Kill => "cgroup.kill",
            FileKind::CpuStat => "cpu.stat",
            FileKind::CpuWeight => "cpu.weight",
            FileKind::CpuMax => "cpu.max",
            FileKind::MemoryCurrent => "memory.current",
            FileKind::MemoryMin => "memory.min",
            FileKind::MemoryLow => "memory.low",
            FileKind::MemoryHigh => "memory.high",
            FileKind::MemoryMax => "memory.max",
            FileKind::MemoryPeak => "memory.peak",
            FileKind::MemoryEvents => "memory.events",
            FileKind::MemoryEventsLocal => "memory.events.local",
            FileKind::MemoryStat => "memory.stat",
            FileKind::MemorySwapCurrent => "memory.swap.current",
            FileKind::MemorySwapMax => "memory.swap.max",
            FileKind::MemoryOomGroup => "memory.oom.group",
            FileKind::PidsMax => "pids.max",
            FileKind::PidsCurrent => "pids.current",
            FileKind::PidsEvents => "pids.events",
        }
    }

    /// The permission bits (Linux's `cgroup_file_mode`: 0444 without a
    /// write method, 0200 without a read one, else 0644).
    pub fn mode(self) -> u32 {
        match self {
            FileKind::Controllers | FileKind::Events | FileKind::Stat | FileKind::CpuStat => 0o444,
            FileKind::PidsCurrent | FileKind::PidsEvents => 0o444,
            FileKind::MemoryCurrent
            | FileKind::MemoryPeak
            | FileKind::MemoryEvents
            | FileKind::MemoryEventsLocal
            | FileKind::MemoryStat
            | FileKind::MemorySwapCurrent => 0o444,
            FileKind::Kill => 0o200,
            _ => 0o644,
        }
    }

    /// The index in [`FileKind::ALL`].
    pub fn index(self) -> usize {
        FileKind::ALL.iter().position(|&k| k == self).unwrap_or(0)
    }

    /// The kind named `name`.
    pub fn by_name(name: &[u8]) -> Option<FileKind> {
        FileKind::ALL.iter().copied().find(|k| k.name().as_bytes() == name)
    }
}

/// What a write asks the kernel to do besides what it changed here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing more.
    None,
    /// `cgroup.freeze` changed whether the processes of the group and
    /// its descendants ([`Hierarchy::procs_below`]) freeze: the kernel
    /// wakes their tasks, which look at [`Hierarchy::freezing`].
    Freeze,
    /// `cgroup.kill`: SIGKILL every process of the group and its
    /// descendants ([`Hierarchy::procs_below`]).
    Kill,
    /// `memory.max` was set below the group's charge (memory_max_write):
    /// the kernel runs the group's OOM killer until it is under the limit
    /// or nothing is left to kill.
    MemoryOom,
}

/// One group.
struct Group<K> {
    parent: Option<GroupId>,
    name: Vec<u8>,
    level: u32,
    owner: (u32, u32),
    mode: u32,
    /// Each file's owner and permission bits (kernfs keeps a chown or
    /// chmod of a file: systemd's `Delegate=` hands `cgroup.procs`,
    /// `cgroup.subtree_control` and `cgroup.threads` over that way).
    files: [(u32, u32, u32); FileKind::ALL.len()],
    children: BTreeMap<Vec<u8>, GroupId>,
    subtree_control: u32,
    /// The processes with live tasks here.
    procs: BTreeSet<K>,
    /// Live tasks here and below (populated; the pids charge).
    subtree_tasks: u64,
    /// Live tasks (and charges of forks under way) in the group itself.
    own_tasks: u64,
    /// Its tasks in the freezer's sleep ([`Hierarchy::task_frozen`]).
    nr_frozen_tasks: u64,
    /// `cgroup.freeze` (Linux's `freezer.freeze`).
    freeze: bool,
    /// It or an ancestor freezes (CGRP_FREEZE, `freezer.e_freeze != 0`).
    e_freeze: bool,
    /// CGRP_FROZEN: freezing, every task of its own frozen and every
    /// child frozen (`cgroup.events`' "frozen").
    frozen: bool,
    /// Its children that are frozen.
    nr_frozen_children: u32,
    /// CPU time (user, system; µs) no live process here or below holds:
    /// that of the processes that ended here or below, and that of those
    /// moved out of here or below before their move. Kept for the subtree
    /// (each charge goes to the group and its ancestors, O(depth)), so
    /// `cpu.stat` reads it in O(1) and it only grows.
    cpu_gone: (u64, u64),
    max_depth: i32,
    max_descendants: i32,
    nr_descendants: u32,
    pids_max: i64,
    pids_events: i64,
    /// The pids charge here and below: live tasks and forks under way as
    /// `subtree_tasks`, plus processes whose last task ended and that are
    /// not yet reaped (pids_release uncharges at release_task).
    pids: u64,
    /// The memory counters of the group (shared with the address spaces
    /// charging here).
    mem: Arc<MemCounters>,
    /// `memory.min`, `memory.low`, `memory.swap.max` (pages; kept, not
    /// applied; `memory.high` is in the counters, [`MemCounters::high`]).
    mem_min: u64,
    mem_low: u64,
    swap_max: u64,
    /// `memory.oom.group`.
    oom_group: bool,
    /// `cpu.weight` (1..=10000).
    cpu_weight: u64,
    /// `cpu.max`: quota (`None`: "max") and period, µs.
    cpu_max: (Option<u64>, u64),
}

/// Where a process is.
#[derive(Clone, Copy)]
struct Member {
    group: GroupId,
    tasks: u32,
    /// Its tasks in the freezer's sleep.
    frozen: u32,
    /// Its CPU time (user, system; µs) when it came to its group: charged
    /// to the group it left ([`Hierarchy::migrate_charging`]); only the
    /// time since counts here.
    base: (u64, u64),
    /// Reaped already (the kernel may tell the reap before the exit of
    /// the last task): that exit keeps no pids charge.
    reaped: bool,
}

/// `used` less `base`, each part (CPU time since a process came).
fn since(used: (u64, u64), base: (u64, u64)) -> (u64, u64) {
    (used.0.saturating_sub(base.0), used.1.saturating_sub(base.1))
}

/// A removed group still charged with processes not yet reaped (Linux's
/// dying cgroup, whose css a zombie's css_set keeps): its parent (live or
/// dying) and the charge left.
struct Dying {
    parent: GroupId,
    pids: u64,
}

/// A cgroup v2 hierarchy and the processes in it, keyed by `K`.
pub struct Hierarchy<K> {
    groups: BTreeMap<GroupId, Group<K>>,
    members: BTreeMap<K, Member>,
    /// Processes whose last task ended, not yet reaped: the group that
    /// keeps their pids charge.
    zombies: BTreeMap<K, GroupId>,
    /// Removed groups still charged by zombies.
    dying: BTreeMap<GroupId, Dying>,
    next: u64,
}

impl<K: Ord + Copy> Default for Hierarchy<K> {
    fn default() -> Self {
        Self::new()
    }
}

fn group<K>(
    parent: Option<GroupId>,
    name: Vec<u8>,
    level: u32,
    owner: (u32, u32),
    mode: u32,
    mem: Arc<MemCounters>,
) -> Group<K> {
    Group {
        parent,
        name,
        level,
        owner,
        mode,
        files: FileKind::ALL.map(|k| (owner.0, owner.1, k.mode())),
        children: BTreeMap::new(),
        subtree_control: 0,
        procs: BTreeSet::new(),
        subtree_tasks: 0,
        own_tasks: 0,
        nr_frozen_tasks: 0,
        freeze: false,
        e_freeze: false,
        frozen: false,
        nr_frozen_children: 0,
        cpu_gone: (0, 0),
        max_depth: i32::MAX,
        max_descendants: i32::MAX,
        nr_descendants: 0,
        pids_max: PIDS_MAX,
        pids_events: 0,
        pids: 0,
        mem,
        mem_min: 0,
        mem_low: 0,
        swap_max: MEM_MAX,
        oom_group: false,
        cpu_weight: 100,
        cpu_max: (None, CPU_PERIOD_US),
    }
}

fn copy_bytes(s: &[u8]) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(s.len()).map_err(|_| Errno::ENOMEM)?;
    v.extend_from_slice(s);
    Ok(v)
}

/// Text into a fallibly grown buffer.
struct Text(Vec<u8>);

impl core::fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.try_reserve(s.len()).map_err(|_| core::fmt::Error)?;
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

fn text(args: core::fmt::Arguments<'_>) -> Result<Vec<u8>> {
    let mut t = Text(Vec::new());
    t.write_fmt(args).map_err(|_| Errno::ENOMEM)?;
    Ok(t.0)
}

fn mask_text(mask: u32) -> Result<Vec<u8>> {
    let mut t = Text(Vec::new());
    let mut first = true;
    for (name, bit) in CONTROLLERS {
        if mask & bit != 0 {
            let r = if first { t.write_str(name) } else { write!(t, " {name}") };
            r.map_err(|_| Errno::ENOMEM)?;
            first = false;
        }
    }
    // cgroup_print_ss_mask: the newline only after a name
    if !first {
        t.write_str("\n").map_err(|_| Errno::ENOMEM)?;
    }
    Ok(t.0)
}

impl<K: Ord + Copy> Hierarchy<K> {
    /// A hierarchy with the root group alone (owned by root), no process.
    pub fn new() -> Self {
        let mut groups = BTreeMap::new();
        groups
            .insert(ROOT, group(None, Vec::new(), 0, (0, 0), 0o555, Arc::new(MemCounters::new(ROOT, None))));
        Hierarchy {
            groups,
            members: BTreeMap::new(),
            zombies: BTreeMap::new(),
            dying: BTreeMap::new(),
            next: ROOT.0 + 1,
        }
    }

    fn g(&self, g: GroupId) -> Result<&Group<K>> {
        self.groups.get(&g).ok_or(Errno::ENODEV)
    }

    fn g_mut(&mut self, g: GroupId) -> Result<&mut Group<K>> {
        self.groups.get_mut(&g).ok_or(Errno::ENODEV)
    }

    /// Whether `g` exists (was made and not removed).
    pub fn exists(&self, g: GroupId) -> bool {
        self.groups.contains_key(&g)
    }

    /// The parent of `g` (`None` for the root or a removed group).
    pub fn parent(&self, g: GroupId) -> Option<GroupId> {
        self.groups.get(&g).and_then(|x| x.parent)
    }

    /// The depth of `g` (the root's is 0).
    pub fn level(&self, g: GroupId) -> Option<u32> {
        self.groups.get(&g).map(|x| x.level)
    }

    /// The owner (uid, gid) of `g`'s directory and files: its maker's
    /// filesystem ids (Linux's `cgroup_kn_set_ugid`).
    pub fn owner(&self, g: GroupId) -> Option<(u32, u32)> {
        self.groups.get(&g).map(|x| x.owner)
    }

    /// The permission bits of `g`'s directory: what mkdir(2) asked (less
    /// the umask), as kernfs_create_dir keeps it; 0555 for the root.
    pub fn mode(&self, g: GroupId) -> Option<u32> {
        self.groups.get(&g).map(|x| x.mode)
    }

    /// The owner (uid, gid) and permission bits of `g`'s file `kind`: its
    /// maker's ids and the file's mode unless chown(2) or chmod(2) changed
    /// them ([`Hierarchy::set_file_attrs`]).
    pub fn file_attrs(&self, g: GroupId, kind: FileKind) -> Option<(u32, u32, u32)> {
        self.groups.get(&g).map(|x| x.files[kind.index()])
    }

    /// chown(2)/chmod(2) of `g`'s directory (`kind` `None`) or of its file
    /// `kind`: kept for the inodes later lookups make. `None` leaves a
    /// value alone.
    pub fn set_file_attrs(
        &mut self,
        g: GroupId,
        kind: Option<FileKind>,
        perm: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
    ) {
        let Some(x) = self.groups.get_mut(&g) else { return };
        match kind {
            None => {
                x.owner = (uid.unwrap_or(x.owner.0), gid.unwrap_or(x.owner.1));
                if let Some(p) = perm {
                    x.mode = p & 0o7777;
                }
            }
            Some(k) => {
                let f = &mut x.files[k.index()];
                *f = (uid.unwrap_or(f.0), gid.unwrap_or(f.1), perm.map_or(f.2, |p| p & 0o7777));
            }
        }
    }

    /// The child `name` of `g`.
    pub fn child(&self, g: GroupId, name: &[u8]) -> Option<GroupId> {
        self.groups.get(&g).and_then(|x| x.children.get(name).copied())
    }

    /// The children of `g` by name.
    pub fn children(&self, g: GroupId) -> Result<Vec<(Vec<u8>, GroupId)>> {
        let x = self.g(g)?;
        let mut v = Vec::new();
        v.try_reserve_exact(x.children.len()).map_err(|_| Errno::ENOMEM)?;
        for (n, &c) in &x.children {
            v.push((copy_bytes(n)?, c));
        }
        Ok(v)
    }

    /// Whether the pids controller is on for `g` (its parent enables it).
    fn pids_on(&self, g: GroupId) -> bool {
        self.on(g, PIDS)
    }

    /// Whether controller `bit` is on for `g` (its parent enables it).
    fn on(&self, g: GroupId, bit: u32) -> bool {
        self.parent(g).and_then(|p| self.groups.get(&p)).is_some_and(|p| p.subtree_control & bit != 0)
    }

    /// The controllers `g` may enable for its children
    /// (`cgroup.controllers`): every one at the root, else what its
    /// parent enables.
    pub fn controllers(&self, g: GroupId) -> Result<u32> {
        let x = self.g(g)?;
        Ok(match x.parent {
            None => CONTROLLERS.iter().fold(0, |m, (_, b)| m | b),
            Some(p) => self.g(p)?.subtree_control,
        })
    }

    /// Whether `g`'s directory has the file `kind`.
    pub fn has_file(&self, g: GroupId, kind: FileKind) -> bool {
        let root = g == ROOT;
        match kind {
            FileKind::Events | FileKind::Type | FileKind::Freeze | FileKind::Kill => !root,
            FileKind::PidsMax | FileKind::PidsCurrent | FileKind::PidsEvents => self.pids_on(g),
            FileKind::CpuWeight | FileKind::CpuMax => self.on(g, CPU),
            FileKind::MemoryCurrent
            | FileKind::MemoryMin
            | FileKind::MemoryLow
            | FileKind::MemoryHigh
            | FileKind::MemoryMax
            | FileKind::MemoryPeak
            | FileKind::MemoryEvents
            | FileKind::MemoryEventsLocal
            | FileKind::MemoryStat
            | FileKind::MemorySwapCurrent
            | FileKind::MemorySwapMax
            | FileKind::MemoryOomGroup => self.on(g, MEMORY),
            _ => self.exists(g),
        }
    }

    /// The files of `g`'s directory, in listing order.
    pub fn files(&self, g: GroupId) -> impl Iterator<Item = FileKind> + '_ {
        FileKind::ALL.into_iter().filter(move |&k| self.exists(g) && self.has_file(g, k))
    }

    /// mkdir(2) of `name` in `parent` by a maker with filesystem ids
    /// `owner`, the directory's permission bits `mode`. `EEXIST` for a name in use (a group or a file), `EINVAL`
    /// for a name with a newline, `EAGAIN` when `cgroup.max.depth` or
    /// `cgroup.max.descendants` of `parent` or an ancestor would be
    /// exceeded (cgroup_check_hierarchy_limits), `ENODEV` for a removed
    /// parent.
    pub fn mkdir(&mut self, parent: GroupId, name: &[u8], owner: (u32, u32), mode: u32) -> Result<GroupId> {
        let p = self.g(parent)?;
        if p.children.contains_key(name) || self.files(parent).any(|k| k.name().as_bytes() == name) {
            return Err(Errno::EEXIST);
        }
        if name.contains(&b'\n') {
            return Err(Errno::EINVAL);
        }
        let mut level: i64 = 1;
        let mut at = Some(parent);
        while let Some(a) = at {
            let x = self.g(a)?;
            if i64::from(x.nr_descendants) >= i64::from(x.max_descendants) || level > i64::from(x.max_depth) {
                return Err(Errno::EAGAIN);
            }
            level += 1;
            at = x.parent;
        }
        let id = GroupId(self.next);
        let n = copy_bytes(name)?;
        let key = copy_bytes(name)?;
        let lvl = p.level + 1;
        let pe = p.e_freeze;
        let mem = Arc::new(MemCounters::new(id, Some(p.mem.clone())));
        self.next += 1;
        let mut c = group(Some(parent), n, lvl, owner, mode & 0o7777, mem);
        // cgroup_create: a child of a freezing group freezes (and, empty,
        // is frozen)
        c.e_freeze = pe;
        c.frozen = pe;
        self.groups.insert(id, c);
        if let Some(p) = self.groups.get_mut(&parent) {
            p.children.insert(key, id);
            if p.e_freeze {
                p.nr_frozen_children += 1;
            }
        }
        let mut at = Some(parent);
        while let Some(a) = at {
            let x = self.g_mut(a)?;
            x.nr_descendants += 1;
            at = x.parent;
        }
        Ok(id)
    }

    /// rmdir(2) of `g`: `EBUSY` for the root, a populated group or one
    /// with children (cgroup_destroy_locked); `ENODEV` when gone already.
    pub fn rmdir(&mut self, g: GroupId) -> Result<()> {
        let x = self.g(g)?;
        let Some(parent) = x.parent else { return Err(Errno::EBUSY) };
        if x.subtree_tasks != 0 || !x.children.is_empty() {
            return Err(Errno::EBUSY);
        }
        let name = x.name.clone();
        let was_frozen = x.frozen;
        let pids = x.pids;
        self.groups.remove(&g);
        if pids != 0 {
            // zombies still charged here: it dies when they are reaped
            self.dying.insert(g, Dying { parent, pids });
        }
        if let Some(p) = self.groups.get_mut(&parent) {
            p.children.remove(&name);
            if was_frozen {
                p.nr_frozen_children = p.nr_frozen_children.saturating_sub(1);
            }
            // (rstat: the parent's cpu_gone has what was spent below)
        }
        self.update_frozen(parent);
        let mut at = Some(parent);
        while let Some(a) = at {
            let Some(x) = self.groups.get_mut(&a) else { break };
            x.nr_descendants = x.nr_descendants.saturating_sub(1);
            at = x.parent;
        }
        Ok(())
    }

    /// Whether `g` is `ancestor` or below it.
    pub fn is_descendant(&self, g: GroupId, ancestor: GroupId) -> bool {
        let mut at = Some(g);
        while let Some(a) = at {
            if a == ancestor {
                return true;
            }
            at = self.parent(a);
        }
        false
    }

    /// The nearest group both `a` and `b` are in (Linux's
    /// cgroup_procs_write_permission looks for write access to its
    /// `cgroup.procs`).
    pub fn common_ancestor(&self, a: GroupId, b: GroupId) -> GroupId {
        let mut at = Some(a);
        while let Some(x) = at {
            if self.is_descendant(b, x) {
                return x;
            }
            at = self.parent(x);
        }
        ROOT
    }

    /// The path of `to` seen from `from` (kernfs_path_from_node): "/" for
    /// the same group, a "/.." for each step up from `from` to the nearest
    /// common ancestor, then "/name" for each step down to `to`.
    pub fn path_from(&self, to: GroupId, from: GroupId) -> Result<Vec<u8>> {
        if to == from {
            return copy_bytes(b"/");
        }
        self.g(to)?;
        self.g(from)?;
        let common = self.common_ancestor(from, to);
        let mut out = Vec::new();
        let mut at = from;
        while at != common {
            out.try_reserve(3).map_err(|_| Errno::ENOMEM)?;
            out.extend_from_slice(b"/..");
            at = self.parent(at).unwrap_or(common);
        }
        let mut down = Vec::new();
        let mut at = to;
        while at != common {
            down.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            down.push(at);
            at = self.parent(at).unwrap_or(common);
        }
        for g in down.iter().rev() {
            let name = &self.g(*g)?.name;
            out.try_reserve(name.len() + 1).map_err(|_| Errno::ENOMEM)?;
            out.push(b'/');
            out.extend_from_slice(name);
        }
        Ok(out)
    }

    /// The memory counters of `g` (an address space of a process in `g`
    /// charges its resident pages to them).
    pub fn mem_counters(&self, g: GroupId) -> Option<Arc<MemCounters>> {
        self.groups.get(&g).map(|x| x.mem.clone())
    }

    /// `memory.oom.group` of `g`.
    pub fn oom_group(&self, g: GroupId) -> bool {
        self.groups.get(&g).is_some_and(|x| x.oom_group)
    }

    /// Whether `g` or a group below it has a live task.
    pub fn populated(&self, g: GroupId) -> bool {
        self.groups.get(&g).is_some_and(|x| x.subtree_tasks != 0)
    }

    /// The live tasks in `g` and below (`pids.current`).
    pub fn tasks(&self, g: GroupId) -> u64 {
        self.groups.get(&g).map_or(0, |x| x.subtree_tasks)
    }

    /// Whether process `k` is counted (forked or adopted, with a live
    /// task).
    pub fn is_member(&self, k: K) -> bool {
        self.members.contains_key(&k)
    }

    /// The group of process `k` (the root for one the hierarchy does not
    /// know).
    pub fn group_of(&self, k: K) -> GroupId {
        self.members.get(&k).map_or(ROOT, |m| m.group)
    }

    /// The processes with live tasks in `g` itself, in key order.
    pub fn procs(&self, g: GroupId) -> Result<Vec<K>> {
        let x = self.g(g)?;
        let mut v = Vec::new();
        v.try_reserve_exact(x.procs.len()).map_err(|_| Errno::ENOMEM)?;
        v.extend(x.procs.iter().copied());
        Ok(v)
    }

    /// The processes in `g` and every group below it (`cgroup.kill`).
    pub fn procs_below(&self, g: GroupId) -> Result<Vec<K>> {
        let mut out = Vec::new();
        let mut todo = Vec::new();
        todo.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        todo.push(g);
        while let Some(x) = todo.pop() {
            let grp = self.g(x)?;
            out.try_reserve(grp.procs.len()).map_err(|_| Errno::ENOMEM)?;
            out.extend(grp.procs.iter().copied());
            todo.try_reserve(grp.children.len()).map_err(|_| Errno::ENOMEM)?;
            todo.extend(grp.children.values().copied());
        }
        Ok(out)
    }

    fn add_tasks(&mut self, g: GroupId, n: u64) {
        if let Some(x) = self.groups.get_mut(&g) {
            x.own_tasks += n;
        }
        self.add_subtree_tasks(g, n);
        self.update_frozen(g);
    }

    fn sub_tasks(&mut self, g: GroupId, n: u64) {
        if let Some(x) = self.groups.get_mut(&g) {
            x.own_tasks = x.own_tasks.saturating_sub(n);
        }
        self.sub_subtree_tasks(g, n);
        self.update_frozen(g);
    }

    fn add_subtree_tasks(&mut self, g: GroupId, n: u64) {
        let mut at = Some(g);
        while let Some(a) = at {
            let Some(x) = self.groups.get_mut(&a) else { break };
            x.subtree_tasks += n;
            x.pids += n;
            at = x.parent;
        }
    }

    fn sub_subtree_tasks(&mut self, g: GroupId, n: u64) {
        let mut at = Some(g);
        while let Some(a) = at {
            let Some(x) = self.groups.get_mut(&a) else { break };
            x.subtree_tasks = x.subtree_tasks.saturating_sub(n);
            x.pids = x.pids.saturating_sub(n);
            at = x.parent;
        }
    }

    /// `n` pids charges more at live group `g` and up (a zombie's).
    fn add_pids(&mut self, g: GroupId, n: u64) {
        let mut at = Some(g);
        while let Some(a) = at {
            let Some(x) = self.groups.get_mut(&a) else { break };
            x.pids += n;
            at = x.parent;
        }
    }

    /// `n` pids charges less at `g` (live or dying) and up; a dying group
    /// whose charge is gone is forgotten.
    fn uncharge_pids(&mut self, g: GroupId, n: u64) {
        let mut at = g;
        loop {
            if self.groups.contains_key(&at) {
                let mut a = Some(at);
                while let Some(b) = a {
                    let Some(x) = self.groups.get_mut(&b) else { break };
                    x.pids = x.pids.saturating_sub(n);
                    a = x.parent;
                }
                return;
            }
            let Some(d) = self.dying.get_mut(&at) else { return };
            d.pids = d.pids.saturating_sub(n);
            let parent = d.parent;
            if d.pids == 0 {
                self.dying.remove(&at);
            }
            at = parent;
        }
    }

    /// Process `k`, whose last task ended, was reaped (release_task of its
    /// leader): its pids charge goes (pids_release). Until then it counts
    /// in `pids.current` and against `pids.max` of its group, as a zombie
    /// does on Linux.
    pub fn reaped(&mut self, k: K) {
        if let Some(g) = self.zombies.remove(&k) {
            self.uncharge_pids(g, 1);
        } else if let Some(m) = self.members.get_mut(&k) {
            // told before its last task's exit: that exit keeps nothing
            m.reaped = true;
        }
    }

    /// The pids charge of `g` and below (`pids.current`: live tasks, forks
    /// under way and zombies).
    pub fn pids_charged(&self, g: GroupId) -> u64 {
        self.groups.get(&g).map_or(0, |x| x.pids)
    }

    /// Before a fork or thread creation by process `parent`: charges one
    /// task to its group (returned, for [`Hierarchy::forked_process`] /
    /// [`Hierarchy::forked_thread`] or [`Hierarchy::cancel_fork`]).
    /// `EAGAIN` when the group or an ancestor with the pids controller on
    /// is at its `pids.max` (pids_try_charge); the event is counted in the
    /// `pids.events` of the parent's pids group (the nearest with the
    /// controller on), as Linux 6.1's pids_can_fork.
    pub fn charge_fork(&mut self, parent: K) -> Result<GroupId> {
        let g = self.group_of(parent);
        self.charge_group(g)
    }

    /// Before a clone3 with `CLONE_INTO_CGROUP` by process `parent` into
    /// `to` (`thread`: with `CLONE_THREAD`), after the kernel's permission
    /// checks (cgroup_css_set_fork): `ENODEV` for a removed group, `EBUSY`
    /// for one that takes no process ([`Hierarchy::vet_destination`]),
    /// `EOPNOTSUPP` for a thread into a group other than its process's
    /// (cgroup_attach_permissions), then the pids charge at `to` as
    /// [`Hierarchy::charge_fork`] (`EAGAIN`, counted in `to`'s pids group).
    /// The group is returned for [`Hierarchy::forked_process`] /
    /// [`Hierarchy::forked_thread`] or [`Hierarchy::cancel_fork`].
    pub fn charge_fork_into(&mut self, parent: K, to: GroupId, thread: bool) -> Result<GroupId> {
        self.vet_destination(to)?;
        if thread && self.group_of(parent) != to {
            return Err(Errno::EOPNOTSUPP);
        }
        self.charge_group(to)
    }

    /// One task charged to `g` unless it or an ancestor with the pids
    /// controller on is at its `pids.max`.
    fn charge_group(&mut self, g: GroupId) -> Result<GroupId> {
        let mut at = Some(g);
        let mut limited = false;
        while let Some(a) = at {
            let x = self.g(a)?;
            if self.pids_on(a) && (x.pids as i64).saturating_add(1) > x.pids_max {
                limited = true;
                break;
            }
            at = x.parent;
        }
        if limited {
            let mut at = Some(g);
            while let Some(a) = at {
                if self.pids_on(a) {
                    let x = self.g_mut(a)?;
                    x.pids_events = x.pids_events.saturating_add(1);
                    break;
                }
                at = self.parent(a);
            }
            return Err(Errno::EAGAIN);
        }
        self.add_tasks(g, 1);
        Ok(g)
    }

    /// Gives back a [`Hierarchy::charge_fork`] whose fork failed.
    pub fn cancel_fork(&mut self, g: GroupId) {
        self.sub_tasks(g, 1);
    }

    /// A new process `child` with one task, charged to `g` by
    /// [`Hierarchy::charge_fork`], is in `g`.
    pub fn forked_process(&mut self, child: K, g: GroupId) {
        let g = if self.exists(g) { g } else { ROOT };
        // (a key reused without its reap seen)
        self.reaped(child);
        if let Some(old) =
            self.members.insert(child, Member { group: g, tasks: 1, frozen: 0, base: (0, 0), reaped: false })
        {
            // (a key reused without its exit seen: the old one goes)
            if let Some(x) = self.groups.get_mut(&old.group) {
                x.procs.remove(&child);
                x.nr_frozen_tasks = x.nr_frozen_tasks.saturating_sub(u64::from(old.frozen));
            }
            self.sub_tasks(old.group, u64::from(old.tasks));
        }
        if let Some(x) = self.groups.get_mut(&g) {
            x.procs.insert(child);
        }
    }

    /// A new thread of process `k`, charged to `g` by
    /// [`Hierarchy::charge_fork`]: counted where the process is (the
    /// charge follows it if it moved meanwhile).
    /// A process that is no longer counted (its last task ended while the
    /// clone ran: a sibling's exec, then its exit) gets nothing: the
    /// charge goes back (its zombie's charge stays for the reap).
    pub fn forked_thread(&mut self, k: K, g: GroupId) {
        let Some(m) = self.members.get_mut(&k) else {
            self.sub_tasks(g, 1);
            return;
        };
        m.tasks += 1;
        let now = m.group;
        if now != g {
            self.sub_tasks(g, 1);
            self.add_tasks(now, 1);
        }
    }

    /// Registers process `k` with `tasks` live tasks in the root without
    /// a fork (the first process, made by the kernel).
    pub fn adopt(&mut self, k: K, tasks: u32) {
        if self.members.contains_key(&k) || tasks == 0 {
            return;
        }
        self.members.insert(k, Member { group: ROOT, tasks, frozen: 0, base: (0, 0), reaped: false });
        self.add_tasks(ROOT, u64::from(tasks));
        if let Some(x) = self.groups.get_mut(&ROOT) {
            x.procs.insert(k);
        }
    }

    /// A task of process `k` ended: its count and its pids charge go; with
    /// its last task the process leaves its group (`true`; no longer
    /// populating it, as cgroup_exit) but keeps one pids charge there until
    /// [`Hierarchy::reaped`] (Linux uncharges the leader at release).
    pub fn task_exited(&mut self, k: K) -> bool {
        let Some(m) = self.members.get(&k) else { return false };
        let last = m.tasks <= 1;
        self.task_exited_inner(k);
        last
    }

    /// [`Hierarchy::task_exited`] of a task whose process had used `used`
    /// (user, system; µs) of CPU time, read before: with its last task
    /// that time stays in its group's `cpu.stat`, and the group is
    /// returned, for [`Hierarchy::charge_gone`] of what the other tasks
    /// that ended meanwhile added. One step, so that of two tasks ending
    /// together exactly one is the last.
    pub fn task_exited_charging(&mut self, k: K, used: (u64, u64)) -> Option<GroupId> {
        let m = *self.members.get(&k)?;
        if m.tasks <= 1 {
            self.charge_gone(m.group, since(used, m.base));
        }
        self.task_exited(k).then_some(m.group)
    }

    /// Adds `time` (user, system; µs) to the time gone of `g` and its
    /// ancestors (nothing for a removed group).
    pub fn charge_gone(&mut self, g: GroupId, time: (u64, u64)) {
        let mut at = Some(g);
        while let Some(a) = at {
            let Some(x) = self.groups.get_mut(&a) else { return };
            x.cpu_gone.0 = x.cpu_gone.0.saturating_add(time.0);
            x.cpu_gone.1 = x.cpu_gone.1.saturating_add(time.1);
            at = x.parent;
        }
    }

    fn task_exited_inner(&mut self, k: K) {
        let Some(m) = self.members.get_mut(&k) else { return };
        m.tasks = m.tasks.saturating_sub(1);
        let unfrozen = m.frozen.saturating_sub(m.tasks);
        m.frozen -= unfrozen;
        let (g, left, reaped) = (m.group, m.tasks, m.reaped);
        if unfrozen != 0
            && let Some(x) = self.groups.get_mut(&g)
        {
            // (a task still counted in the freezer's sleep: it left it)
            x.nr_frozen_tasks = x.nr_frozen_tasks.saturating_sub(u64::from(unfrozen));
        }
        if left == 0 {
            self.members.remove(&k);
            if let Some(x) = self.groups.get_mut(&g) {
                x.procs.remove(&k);
            }
        }
        self.sub_tasks(g, 1);
        if left == 0 && !reaped && self.exists(g) {
            self.add_pids(g, 1);
            if let Some(old) = self.zombies.insert(k, g) {
                self.uncharge_pids(old, 1);
            }
        }
    }

    /// Process `k`, whose last task has ended, used `user_us` and `sys_us`
    /// of CPU time: it stays in its group's `cpu.stat`. (Call it before
    /// the last [`Hierarchy::task_exited`], while the process is counted;
    /// a process's time counts where it is when read or when it ends, not
    /// where it was spent.)
    pub fn process_ended(&mut self, k: K, user_us: u64, sys_us: u64) {
        let Some(m) = self.members.get(&k) else { return };
        let (g, base) = (m.group, m.base);
        self.charge_gone(g, since((user_us, sys_us), base));
    }

    /// `cpu.stat` of `g` (cgroup_base_stat_cputime_show's three lines):
    /// `live` is the (user, system) µs of the live processes in `g` and
    /// below since they came ([`Hierarchy::cpu_snapshot`]), to which the
    /// time gone from there comes. O(1).
    pub fn cpu_stat(&self, g: GroupId, live: (u64, u64)) -> Result<Vec<u8>> {
        let gone = self.g(g)?.cpu_gone;
        self.cpu_stat_text(g, (live.0.saturating_add(gone.0), live.1.saturating_add(gone.1)))
    }

    /// What `cpu.stat` of `g` needs, in one look: the processes in `g` and
    /// below with the CPU time (user, system; µs) each had when it came to
    /// its group (count what they used since), and the time gone from the
    /// subtree. (O(processes below), as `cgroup.procs`.)
    #[allow(clippy::type_complexity)]
    pub fn cpu_snapshot(&self, g: GroupId) -> Result<(Vec<(K, (u64, u64))>, (u64, u64))> {
        let gone = self.g(g)?.cpu_gone;
        let procs = self.procs_below(g)?;
        let mut out = Vec::new();
        out.try_reserve_exact(procs.len()).map_err(|_| Errno::ENOMEM)?;
        out.extend(procs.into_iter().map(|k| (k, self.members.get(&k).map_or((0, 0), |m| m.base))));
        Ok((out, gone))
    }

    /// `cpu.stat` of `g` with `total` (user, system; µs) as its time.
    pub fn cpu_stat_text(&self, g: GroupId, total: (u64, u64)) -> Result<Vec<u8>> {
        self.g(g)?;
        let (user, sys) = total;
        let mut t = text(format_args!(
            "usage_usec {}\nuser_usec {}\nsystem_usec {}\n",
            user.saturating_add(sys),
            user,
            sys
        ))?;
        // cpu_extra_stat_show where the cpu controller has a css (the
        // root's always): nothing is throttled here
        if g == ROOT || self.on(g, CPU) {
            let extra: &[u8] = b"nr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n";
            t.try_reserve(extra.len()).map_err(|_| Errno::ENOMEM)?;
            t.extend_from_slice(extra);
        }
        Ok(t)
    }

    /// The live tasks of process `k` (0 for one not counted).
    pub fn live_tasks(&self, k: K) -> u32 {
        self.members.get(&k).map_or(0, |m| m.tasks)
    }

    /// Whether process `k`'s group freezes (its tasks go to the freezer's
    /// sleep on their way back to user mode, until this is false or they
    /// are killed).
    pub fn freezing(&self, k: K) -> bool {
        self.groups.get(&self.group_of(k)).is_some_and(|x| x.e_freeze)
    }

    /// Whether any group freezes (the kernel's fast "no" to
    /// [`Hierarchy::freezing`]).
    pub fn any_freezing(&self) -> bool {
        self.groups.values().any(|x| x.freeze)
    }

    /// A task of process `k` entered (`true`) or left (`false`) the
    /// freezer's sleep (cgroup_enter_frozen / cgroup_leave_frozen): its
    /// group's frozen count, and "frozen" of it and its ancestors.
    pub fn task_frozen(&mut self, k: K, entered: bool) {
        let Some(m) = self.members.get_mut(&k) else { return };
        let g = m.group;
        if entered {
            if m.frozen >= m.tasks {
                return;
            }
            m.frozen += 1;
        } else {
            if m.frozen == 0 {
                return;
            }
            m.frozen -= 1;
        }
        if let Some(x) = self.groups.get_mut(&g) {
            if entered {
                x.nr_frozen_tasks += 1;
            } else {
                x.nr_frozen_tasks = x.nr_frozen_tasks.saturating_sub(1);
            }
        }
        self.update_frozen(g);
    }

    /// `cgroup.freeze` of `g` (cgroup_freeze): its `e_freeze` and that of
    /// every descendant follow; [`Effect::Freeze`] when that changed.
    fn set_freeze(&mut self, g: GroupId, on: bool) -> Result<Effect> {
        let x = self.g(g)?;
        if x.freeze == on {
            return Ok(Effect::None);
        }
        let parent_e = x.parent.and_then(|p| self.groups.get(&p)).is_some_and(|p| p.e_freeze);
        if parent_e {
            // an ancestor freezes it anyway
            self.g_mut(g)?.freeze = on;
            return Ok(Effect::None);
        }
        // the subtree, parents before children, found (and every
        // allocation made) before anything changes: ENOMEM leaves it as it
        // was
        let mut order = Vec::new();
        order.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        order.push(g);
        let mut i = 0;
        while let Some(&a) = order.get(i) {
            i += 1;
            let Some(x) = self.groups.get(&a) else { continue };
            order.try_reserve(x.children.len()).map_err(|_| Errno::ENOMEM)?;
            order.extend(x.children.values().copied());
        }
        self.g_mut(g)?.freeze = on;
        // a group with its own freeze keeps e_freeze on a thaw from above
        for &a in &order {
            let Some(x) = self.groups.get(&a) else { continue };
            let from_parent =
                a != g && x.parent.and_then(|p| self.groups.get(&p)).is_some_and(|p| p.e_freeze);
            let e = x.freeze || from_parent;
            if let Some(x) = self.groups.get_mut(&a) {
                x.e_freeze = e;
            }
        }
        // frozen from the leaves up
        for &a in order.iter().rev() {
            self.update_frozen(a);
        }
        Ok(Effect::Freeze)
    }

    /// cgroup_update_frozen: `g` is frozen when it freezes, its own tasks
    /// are all in the freezer's sleep and its children are all frozen; a
    /// change moves up to the parent's count of frozen children.
    fn update_frozen(&mut self, g: GroupId) {
        let mut at = Some(g);
        while let Some(a) = at {
            let Some(x) = self.groups.get_mut(&a) else { return };
            let now = x.e_freeze
                && x.nr_frozen_tasks >= x.own_tasks
                && x.nr_frozen_children as usize >= x.children.len();
            if now == x.frozen {
                return;
            }
            x.frozen = now;
            let parent = x.parent;
            if let Some(p) = parent.and_then(|p| self.groups.get_mut(&p)) {
                if now {
                    p.nr_frozen_children += 1;
                } else {
                    p.nr_frozen_children = p.nr_frozen_children.saturating_sub(1);
                }
            }
            at = parent;
        }
    }

    /// Checks a move into `to` (cgroup_migrate_vet_dst, for domain
    /// groups): `ENODEV` for a removed group; `EBUSY` for a group other
    /// than the root that enables a controller for its children while one
    /// of them is populated (the no-internal-process rule: a group with
    /// only threaded controllers enabled and no populated child may still
    /// become a thread root).
    pub fn vet_destination(&self, to: GroupId) -> Result<()> {
        let x = self.g(to)?;
        if x.parent.is_none() {
            return Ok(());
        }
        let populated_children = x.children.values().any(|&c| self.populated(c));
        let can_be_thread_root = !populated_children && x.subtree_control & !THREADED == 0;
        if !can_be_thread_root && x.subtree_control != 0 {
            return Err(Errno::EBUSY);
        }
        Ok(())
    }

    /// Moves process `k` with its tasks to `to` (a write of its pid to
    /// `cgroup.procs`, after the kernel's permission check): the charges
    /// move with no limit check (pids_can_attach charges over the limit).
    /// Errors as [`Hierarchy::vet_destination`]; moving into its own group
    /// does nothing.
    pub fn migrate(&mut self, k: K, to: GroupId) -> Result<()> {
        self.vet_destination(to)?;
        let m = self.members.get(&k).copied().unwrap_or(Member {
            group: ROOT,
            tasks: 0,
            frozen: 0,
            base: (0, 0),
            reaped: false,
        });
        if m.group == to || m.tasks == 0 {
            return Ok(());
        }
        self.sub_tasks(m.group, u64::from(m.tasks));
        self.add_tasks(to, u64::from(m.tasks));
        if let Some(x) = self.groups.get_mut(&m.group) {
            x.procs.remove(&k);
        }
        if let Some(x) = self.groups.get_mut(&to) {
            x.procs.insert(k);
        }
        self.members.insert(
            k,
            Member { group: to, tasks: m.tasks, frozen: m.frozen, base: m.base, reaped: m.reaped },
        );
        if m.frozen != 0 {
            // (cgroup_freezer_migrate_task: a frozen task counts at its new group)
            if let Some(x) = self.groups.get_mut(&m.group) {
                x.nr_frozen_tasks = x.nr_frozen_tasks.saturating_sub(u64::from(m.frozen));
            }
            if let Some(x) = self.groups.get_mut(&to) {
                x.nr_frozen_tasks += u64::from(m.frozen);
            }
        }
        self.update_frozen(m.group);
        self.update_frozen(to);
        Ok(())
    }

    /// [`Hierarchy::migrate`] of a process that had used `used` (user,
    /// system; µs) of CPU time, read before: what it used in the group it
    /// leaves stays there (the group's `cpu.stat` never goes back, as
    /// Linux's rstat counters), only its time from now on counts where it
    /// goes.
    pub fn migrate_charging(&mut self, k: K, to: GroupId, used: (u64, u64)) -> Result<()> {
        let Some(m) = self.members.get(&k).copied() else { return self.migrate(k, to) };
        self.migrate(k, to)?;
        if m.group != to {
            self.charge_gone(m.group, since(used, m.base));
            if let Some(n) = self.members.get_mut(&k) {
                // (never back: a later read of a smaller `used` is none)
                n.base = (n.base.0.max(used.0), n.base.1.max(used.1));
            }
        }
        Ok(())
    }

    /// A write of a thread of process `k` to `to`'s `cgroup.threads`:
    /// threaded mode is not built, so only its own group is a valid
    /// destination (`EOPNOTSUPP` for another, as Linux between two domain
    /// groups).
    pub fn migrate_thread(&self, k: K, to: GroupId) -> Result<()> {
        self.g(to)?;
        if self.group_of(k) != to {
            return Err(Errno::EOPNOTSUPP);
        }
        Ok(())
    }

    /// The text of `g`'s file `kind` (`ENOENT` where the group has no such
    /// file; `EINVAL` for `cgroup.procs` and `cgroup.threads`, which list
    /// the kernel's numbers, and the write-only `cgroup.kill`).
    pub fn read(&self, g: GroupId, kind: FileKind) -> Result<Vec<u8>> {
        let x = self.g(g)?;
        if !self.has_file(g, kind) {
            return Err(Errno::ENOENT);
        }
        let limit = |v: i32| -> Result<Vec<u8>> {
            if v == i32::MAX { copy_bytes(b"max\n") } else { text(format_args!("{v}\n")) }
        };
        match kind {
            FileKind::Procs | FileKind::Threads | FileKind::Kill | FileKind::CpuStat => Err(Errno::EINVAL),
            FileKind::Controllers => mask_text(self.controllers(g)?),
            FileKind::SubtreeControl => mask_text(x.subtree_control),
            FileKind::Events => text(format_args!(
                "populated {}\nfrozen {}\n",
                u8::from(x.subtree_tasks != 0),
                u8::from(x.frozen)
            )),
            FileKind::Type => copy_bytes(b"domain\n"),
            FileKind::MaxDepth => limit(x.max_depth),
            FileKind::MaxDescendants => limit(x.max_descendants),
            FileKind::Stat => {
                text(format_args!("nr_descendants {}\nnr_dying_descendants 0\n", x.nr_descendants))
            }
            FileKind::Freeze => text(format_args!("{}\n", u8::from(x.freeze))),
            FileKind::PidsMax => {
                if x.pids_max >= PIDS_MAX {
                    copy_bytes(b"max\n")
                } else {
                    text(format_args!("{}\n", x.pids_max))
                }
            }
            FileKind::PidsCurrent => text(format_args!("{}\n", x.pids)),
            FileKind::MemoryCurrent => text(format_args!("{}\n", x.mem.current() * 4096)),
            FileKind::MemoryPeak => text(format_args!("{}\n", x.mem.peak() * 4096)),
            FileKind::MemoryMax => mem_limit(x.mem.max()),
            FileKind::MemoryMin => mem_limit(x.mem_min),
            FileKind::MemoryLow => mem_limit(x.mem_low),
            FileKind::MemoryHigh => mem_limit(x.mem.high()),
            FileKind::MemorySwapMax => mem_limit(x.swap_max),
            FileKind::MemorySwapCurrent => copy_bytes(b"0\n"),
            FileKind::MemoryOomGroup => text(format_args!("{}\n", u8::from(x.oom_group))),
            FileKind::MemoryEvents | FileKind::MemoryEventsLocal => {
                let local = kind == FileKind::MemoryEventsLocal;
                let mut t = Text(Vec::new());
                for e in MemEvent::ALL {
                    writeln!(t, "{} {}", e.name(), x.mem.events(e, local)).map_err(|_| Errno::ENOMEM)?;
                }
                Ok(t.0)
            }
            FileKind::MemoryStat => {
                let (cur, file) = (x.mem.current(), x.mem.file());
                text(format_args!("anon {}\nfile {}\n", cur.saturating_sub(file) * 4096, file * 4096))
            }
            FileKind::CpuWeight => text(format_args!("{}\n", x.cpu_weight)),
            FileKind::CpuMax => match x.cpu_max {
                (None, period) => text(format_args!("max {period}\n")),
                (Some(q), period) => text(format_args!("{q} {period}\n")),
            },
            FileKind::PidsEvents => text(format_args!("max {}\n", x.pids_events)),
        }
    }

    /// A write of `data` to `g`'s file `kind` (one write(2), as kernfs
    /// hands each to the file). `cgroup.procs` and `cgroup.threads` are
    /// the kernel's ([`parse_pid`], [`Hierarchy::migrate`]); read-only
    /// files give `EINVAL` (no write method).
    pub fn write(&mut self, g: GroupId, kind: FileKind, data: &[u8]) -> Result<Effect> {
        self.g(g)?;
        if !self.has_file(g, kind) {
            return Err(Errno::ENOENT);
        }
        let s = parse::strip(data);
        match kind {
            FileKind::SubtreeControl => self.write_subtree_control(g, s).map(|_| Effect::None),
            FileKind::MaxDepth | FileKind::MaxDescendants => {
                let v = if s == b"max" { i32::MAX } else { parse::kstrtoint(s)? };
                if v < 0 {
                    return Err(Errno::ERANGE);
                }
                let x = self.g_mut(g)?;
                if kind == FileKind::MaxDepth {
                    x.max_depth = v;
                } else {
                    x.max_descendants = v;
                }
                Ok(Effect::None)
            }
            FileKind::PidsMax => {
                let v = if s == b"max" {
                    PIDS_MAX
                } else {
                    let v = parse::kstrtoll(s)?;
                    if !(0..PIDS_MAX).contains(&v) {
                        return Err(Errno::EINVAL);
                    }
                    v
                };
                self.g_mut(g)?.pids_max = v;
                Ok(Effect::None)
            }
            FileKind::Freeze => {
                let v = parse::kstrtoint(s)?;
                if !(0..=1).contains(&v) {
                    return Err(Errno::ERANGE);
                }
                self.set_freeze(g, v == 1)
            }
            FileKind::CpuWeight => {
                // cpu_weight_write_u64: kstrtoull, then the range
                let v = parse::kstrtoull(s)?;
                if !(1..=10_000).contains(&v) {
                    return Err(Errno::ERANGE);
                }
                self.g_mut(g)?.cpu_weight = v;
                Ok(Effect::None)
            }
            FileKind::CpuMax => {
                let period = self.g(g)?.cpu_max.1;
                let m = parse::cpu_max(data, period)?;
                self.g_mut(g)?.cpu_max = m;
                Ok(Effect::None)
            }
            FileKind::MemoryMax => {
                let v = parse::memparse_pages(s)?;
                let x = self.g(g)?;
                x.mem.set_max(v);
                Ok(if x.mem.current() > v { Effect::MemoryOom } else { Effect::None })
            }
            FileKind::MemoryHigh => {
                // memory_high_write: set, then reclaim toward it (nothing
                // is reclaimable here); no event
                let v = parse::memparse_pages(s)?;
                self.g(g)?.mem.set_high(v);
                Ok(Effect::None)
            }
            FileKind::MemoryMin | FileKind::MemoryLow | FileKind::MemorySwapMax => {
                let v = parse::memparse_pages(s)?;
                let x = self.g_mut(g)?;
                match kind {
                    FileKind::MemoryMin => x.mem_min = v,
                    FileKind::MemoryLow => x.mem_low = v,
                    _ => x.swap_max = v,
                }
                Ok(Effect::None)
            }
            FileKind::MemoryOomGroup => {
                // memory_oom_group_write: kstrtoint, then 0 or 1 (EINVAL)
                let v = parse::kstrtoint(s)?;
                if !(0..=1).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.g_mut(g)?.oom_group = v == 1;
                Ok(Effect::None)
            }
            FileKind::Kill => {
                if parse::kstrtoint(s)? != 1 {
                    return Err(Errno::ERANGE);
                }
                Ok(Effect::Kill)
            }
            FileKind::Type => {
                if s != b"threaded" {
                    return Err(Errno::EINVAL);
                }
                Err(Errno::EOPNOTSUPP)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// cgroup_subtree_control_write: tokens separated by spaces, each `+`
    /// or `-` and a controller's name (`EINVAL` otherwise); enabling one
    /// `cgroup.controllers` lacks is `ENOENT`, disabling one a child
    /// enables for its own children `EBUSY`.
    fn write_subtree_control(&mut self, g: GroupId, s: &[u8]) -> Result<()> {
        let (mut enable, mut disable) = (0u32, 0u32);
        for tok in s.split(|&b| b == b' ') {
            if tok.is_empty() {
                continue;
            }
            let bit = CONTROLLERS
                .iter()
                .find(|(n, _)| &tok[1..] == n.as_bytes())
                .map(|&(_, b)| b)
                .ok_or(Errno::EINVAL)?;
            match tok[0] {
                b'+' => {
                    enable |= bit;
                    disable &= !bit;
                }
                b'-' => {
                    disable |= bit;
                    enable &= !bit;
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        let x = self.g(g)?;
        let avail = self.controllers(g)?;
        for &(_, bit) in CONTROLLERS {
            if enable & bit != 0 {
                if x.subtree_control & bit != 0 {
                    enable &= !bit;
                } else if avail & bit == 0 {
                    return Err(Errno::ENOENT);
                }
            } else if disable & bit != 0 {
                if x.subtree_control & bit == 0 {
                    disable &= !bit;
                } else if x
                    .children
                    .values()
                    .any(|c| self.groups.get(c).is_some_and(|c| c.subtree_control & bit != 0))
                {
                    return Err(Errno::EBUSY);
                }
            }
        }
        // cgroup_vet_subtree_control_enable: a domain controller is not
        // enabled for the children of a group with processes of its own
        // (the no-internal-process rule; the root is exempt)
        if enable & !THREADED != 0 && x.parent.is_some() && x.own_tasks != 0 {
            return Err(Errno::EBUSY);
        }
        let children: Vec<GroupId> = if disable & (PIDS | CPU | MEMORY) != 0 {
            let mut v = Vec::new();
            v.try_reserve_exact(x.children.len()).map_err(|_| Errno::ENOMEM)?;
            v.extend(x.children.values().copied());
            v
        } else {
            Vec::new()
        };
        let x = self.g_mut(g)?;
        x.subtree_control = (x.subtree_control | enable) & !disable;
        // a child's pids state goes with its css
        for c in children {
            if let Some(c) = self.groups.get_mut(&c) {
                if disable & PIDS != 0 {
                    c.pids_max = PIDS_MAX;
                    c.pids_events = 0;
                }
                if disable & CPU != 0 {
                    c.cpu_weight = 100;
                    c.cpu_max = (None, CPU_PERIOD_US);
                }
                if disable & MEMORY != 0 {
                    // (a new css when enabled again: the charges stay,
                    // which the parent's counters hold anyway)
                    c.mem.reset();
                    c.mem_min = 0;
                    c.mem_low = 0;
                    c.swap_max = MEM_MAX;
                    c.oom_group = false;
                }
            }
        }
        Ok(())
    }
}

/// A memory limit's text (seq_puts_memcg_tunable): "max" or bytes.
fn mem_limit(pages: u64) -> Result<Vec<u8>> {
    if pages >= i64::MAX as u64 / 4096 {
        copy_bytes(b"max\n")
    } else {
        text(format_args!("{}\n", pages * 4096))
    }
}

/// The pid written to `cgroup.procs` or `cgroup.threads`
/// (cgroup_procs_write_start): white space around a `kstrtoint` number,
/// `EINVAL` for anything else or a negative one; 0 is the writer.
pub fn parse_pid(data: &[u8]) -> Result<i32> {
    match parse::kstrtoint(parse::strip(data)) {
        Ok(p) if p >= 0 => Ok(p),
        _ => Err(Errno::EINVAL),
    }
}

#[cfg(test)]
mod tests;
