//! Mount propagation, Linux 6.1's shared subtrees
//! (Documentation/filesystems/sharedsubtree.rst): each mount is shared (a
//! member of a peer group), a slave (it receives from a master peer
//! group), both, private, or unbindable. A mount or umount made under a
//! shared mount is repeated under every other member of its peer group and
//! every slave of it, recursively.
//!
//! The model works on any table of mounts through [`Table`] (a kernel's
//! mount list: each entry's namespace and [`Prop`]); [`Groups`] allocates
//! the peer group ids (the lowest free one first, as Linux's IDA) and
//! counts their members. The kernel keeps the tree (parents, mount
//! points) and makes the copies a [`Plan`] names; this module decides who
//! receives what:
//! - [`change`]: mount(2) with `MS_SHARED`, `MS_PRIVATE`, `MS_SLAVE`,
//!   `MS_UNBINDABLE` on a set of mounts (the kernel's `MS_REC` subtree);
//! - [`bind`]: the propagation of a bind mount of a mount (`EINVAL` for an
//!   unbindable source);
//! - [`copy`]: a mount's copy in a new mount namespace (peers stay peers;
//!   in a less privileged namespace shared copies become slaves);
//! - [`plan`]: where a mount made under a mount propagates (the copies'
//!   destinations and their propagation), [`receivers`] the same set for
//!   an umount;
//! - [`remove`]: mounts going away (their slaves move to another master);
//! - [`Index::dominating`] and [`write_fields`]: mountinfo's optional
//!   fields `shared:N`, `master:N`, `propagate_from:N`, `unbindable`.
//!
//! Cost: every walk over the table builds a sorted index once
//! (O(n log n) in its mounts) and then looks up by binary search; no
//! operation is quadratic in the mounts.

use alloc::vec::Vec;

use linux_abi::{Errno, Result};

/// One mount's propagation state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prop {
    /// Its peer group when shared (`shared:N`), else 0.
    pub group: u64,
    /// The peer group it receives from when a slave (`master:N`), else 0.
    pub master: u64,
    /// Unbindable (`unbindable`): a bind of it is `EINVAL`.
    pub unbindable: bool,
}

impl Prop {
    /// A private mount.
    pub const PRIVATE: Prop = Prop { group: 0, master: 0, unbindable: false };

    /// Whether it is in a peer group (Linux's `IS_MNT_SHARED`).
    pub fn is_shared(&self) -> bool {
        self.group != 0
    }

    /// Whether it receives from a master (Linux's `IS_MNT_SLAVE`).
    pub fn is_slave(&self) -> bool {
        self.master != 0
    }
}

/// mount(2)'s propagation types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `MS_SHARED`: a peer group of its own unless it has one.
    Shared,
    /// `MS_PRIVATE`: no peers, no master.
    Private,
    /// `MS_SLAVE`: receives from the peer group it leaves (or keeps its
    /// master; a private mount stays private).
    Slave,
    /// `MS_UNBINDABLE`: private and not to be bound.
    Unbindable,
}

/// A kernel's mount table as the model sees it.
pub trait Table {
    /// How many mounts.
    fn count(&self) -> usize;
    /// The mount namespace of mount `i`.
    fn ns(&self, i: usize) -> u64;
    /// The propagation of mount `i`.
    fn prop(&self, i: usize) -> Prop;
    /// Sets the propagation of mount `i`.
    fn set_prop(&mut self, i: usize, p: Prop);
}

/// One entry of a mount list: a `Vec` of them is a [`Table`].
pub trait Entry {
    /// Its mount namespace.
    fn ns(&self) -> u64;
    /// Its propagation.
    fn prop(&self) -> Prop;
    /// Sets its propagation.
    fn set_prop(&mut self, p: Prop);
}

impl<E: Entry> Table for Vec<E> {
    fn count(&self) -> usize {
        self.len()
    }
    fn ns(&self, i: usize) -> u64 {
        self[i].ns()
    }
    fn prop(&self, i: usize) -> Prop {
        self[i].prop()
    }
    fn set_prop(&mut self, i: usize, p: Prop) {
        self[i].set_prop(p);
    }
}

/// The peer groups in use: (id, members), sorted by id.
#[derive(Debug, Default)]
pub struct Groups {
    list: Vec<(u64, usize)>,
}

impl Groups {
    /// No groups.
    pub const fn new() -> Self {
        Self { list: Vec::new() }
    }

    /// How many peer groups are in use.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether no peer group is in use.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The members of group `id` (0 for an unknown one).
    pub fn members(&self, id: u64) -> usize {
        self.list.binary_search_by_key(&id, |e| e.0).map_or(0, |i| self.list[i].1)
    }

    /// `n` new groups with no members: the lowest free ids from 1
    /// (Linux's `mnt_alloc_group_id`, `n` times: increasing), found and
    /// inserted in one merge of the list (O(groups + n), where one scan
    /// and one insert per id was quadratic): appended to `out`. `ENOMEM` (nothing allocated) when
    /// the lists cannot grow.
    fn alloc_many(&mut self, n: usize, out: &mut Vec<u64>) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        out.try_reserve(n).map_err(|_| Errno::ENOMEM)?;
        let mut merged = Vec::new();
        merged.try_reserve(self.list.len() + n).map_err(|_| Errno::ENOMEM)?;
        let mut next = 1u64;
        let mut left = n;
        for &e in &self.list {
            while left > 0 && next < e.0 {
                merged.push((next, 0));
                out.push(next);
                next += 1;
                left -= 1;
            }
            merged.push(e);
            next = e.0 + 1;
        }
        while left > 0 {
            merged.push((next, 0));
            out.push(next);
            next += 1;
            left -= 1;
        }
        self.list = merged;
        Ok(())
    }

    /// One more member of group `id` (none for 0).
    fn join(&mut self, id: u64) {
        if let Ok(i) = self.list.binary_search_by_key(&id, |e| e.0) {
            self.list[i].1 += 1;
        }
    }

    /// One member fewer of group `id`; whether the group is gone (its id
    /// free again).
    fn leave(&mut self, id: u64) -> bool {
        match self.list.binary_search_by_key(&id, |e| e.0) {
            Ok(i) if self.list[i].1 <= 1 => {
                self.list.remove(i);
                true
            }
            Ok(i) => {
                self.list[i].1 -= 1;
                false
            }
            Err(_) => false,
        }
    }

    /// [`Self::leave`] for many mounts in one operation: an emptied group
    /// stays in the list with no members (no shift of the list per
    /// group) until [`Self::sweep`]; leaving it again is leaving nothing.
    fn leave_deferred(&mut self, id: u64) -> bool {
        match self.list.binary_search_by_key(&id, |e| e.0) {
            Ok(i) if self.list[i].1 == 0 => false,
            Ok(i) => {
                self.list[i].1 -= 1;
                self.list[i].1 == 0
            }
            Err(_) => false,
        }
    }

    /// Frees the ids of the groups [`Self::leave_deferred`] emptied.
    fn sweep(&mut self) {
        self.list.retain(|e| e.1 != 0);
    }

    /// A mount with `p` was made (a copy, a bind): counts it in its group.
    pub fn add(&mut self, p: Prop) {
        self.join(p.group);
    }
}

/// The table's mounts by peer group and by master, sorted once.
#[derive(Debug)]
pub struct Index {
    by_group: Vec<(u64, usize)>,
    by_master: Vec<(u64, usize)>,
}

fn range(v: &[(u64, usize)], key: u64) -> impl Iterator<Item = usize> + '_ {
    let from = v.partition_point(|e| e.0 < key);
    v[from..].iter().take_while(move |e| e.0 == key).map(|e| e.1)
}

impl Index {
    /// Indexes `t` (`ENOMEM` when the index cannot be made).
    pub fn new(t: &dyn Table) -> Result<Self> {
        let mut by_group = Vec::new();
        let mut by_master = Vec::new();
        by_group.try_reserve(t.count()).map_err(|_| Errno::ENOMEM)?;
        by_master.try_reserve(t.count()).map_err(|_| Errno::ENOMEM)?;
        for i in 0..t.count() {
            let p = t.prop(i);
            if p.group != 0 {
                by_group.push((p.group, i));
            }
            if p.master != 0 {
                by_master.push((p.master, i));
            }
        }
        by_group.sort_unstable();
        by_master.sort_unstable();
        Ok(Self { by_group, by_master })
    }

    /// The mounts of peer group `g`.
    pub fn members(&self, g: u64) -> impl Iterator<Item = usize> + '_ {
        range(&self.by_group, g)
    }

    /// The mounts receiving from peer group `g`.
    pub fn slaves(&self, g: u64) -> impl Iterator<Item = usize> + '_ {
        range(&self.by_master, g)
    }

    /// The master of peer group `g` (its members share it), 0 for none.
    pub fn master_of(&self, t: &dyn Table, g: u64) -> u64 {
        self.members(g).next().map_or(0, |i| t.prop(i).master)
    }

    /// Linux's `get_dominating_id()` for a slave `p` seen from namespace
    /// `ns`: the nearest peer group up its chain of masters with a member
    /// in `ns` that `seen` says the reader reaches; 0 for none. mountinfo
    /// prints it as `propagate_from:N` when it is not the master itself.
    pub fn dominating(&self, t: &dyn Table, p: Prop, ns: u64, seen: &dyn Fn(usize) -> bool) -> u64 {
        let mut m = p.master;
        // a chain of masters is no longer than the groups in use
        let mut left = self.by_group.len() + 1;
        while m != 0 && left > 0 {
            if self.members(m).any(|i| t.ns(i) == ns && seen(i)) {
                return m;
            }
            m = self.master_of(t, m);
            left -= 1;
        }
        0
    }
}

/// Appends mountinfo's optional fields for `p` (Linux's show_mountinfo):
/// ` shared:N`, ` master:N`, ` propagate_from:N` (`dominating`, when
/// non-zero and not the master), ` unbindable`.
pub fn write_fields(out: &mut Vec<u8>, p: Prop, dominating: u64) {
    fn num(out: &mut Vec<u8>, mut n: u64) {
        let mut d = [0u8; 20];
        let mut i = d.len();
        loop {
            i -= 1;
            d[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        out.extend_from_slice(&d[i..]);
    }
    if p.group != 0 {
        out.extend_from_slice(b" shared:");
        num(out, p.group);
    }
    if p.master != 0 {
        out.extend_from_slice(b" master:");
        num(out, p.master);
        if dominating != 0 && dominating != p.master {
            out.extend_from_slice(b" propagate_from:");
            num(out, dominating);
        }
    }
    if p.unbindable {
        out.extend_from_slice(b" unbindable");
    }
}

/// Groups emptied while mounts left them, each with where its slaves go
/// (the leaving mount's master), applied in one pass over the table.
struct Remaster(Vec<(u64, u64)>);

impl Remaster {
    /// The entry of emptied group `g`.
    fn find(&self, g: u64) -> Option<usize> {
        self.0.binary_search_by_key(&g, |e| e.0).ok()
    }

    /// Sorts the emptied groups and resolves each one's chain of emptied
    /// groups to a living one at once: pointer doubling, each round one
    /// binary search per entry and the chains followed twice as far, so
    /// O(g log^2 g) for g emptied groups (a cycle, which the model never
    /// makes, stops after the rounds).
    fn resolve(&mut self) {
        self.0.sort_unstable_by_key(|e| e.0);
        let rounds = usize::BITS - self.0.len().leading_zeros() + 1;
        for _ in 0..rounds {
            let mut moved = false;
            for k in 0..self.0.len() {
                let to = self.0[k].1;
                if let Some(j) = self.find(to) {
                    let further = self.0[j].1;
                    if further != to {
                        self.0[k].1 = further;
                        moved = true;
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }

    fn apply(mut self, t: &mut dyn Table) {
        if self.0.is_empty() {
            return;
        }
        self.resolve();
        for i in 0..t.count() {
            let mut p = t.prop(i);
            if p.master == 0 {
                continue;
            }
            if let Some(k) = self.find(p.master) {
                p.master = self.0[k].1;
                t.set_prop(i, p);
            }
        }
    }
}

/// Takes mount `i` out of its peer group (Linux's `do_make_slave`):
/// returns its new master (`slave`: the group it leaves when that has
/// other members, else its own master). An emptied group's slaves go to
/// the leaving mount's master (noted in `gone`).
fn leave_group(t: &dyn Table, groups: &mut Groups, i: usize, gone: &mut Remaster) -> Result<u64> {
    let p = t.prop(i);
    if p.group == 0 {
        return Ok(p.master);
    }
    gone.0.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    if groups.leave_deferred(p.group) {
        gone.0.push((p.group, p.master));
        Ok(p.master)
    } else {
        Ok(p.group)
    }
}

/// mount(2)'s propagation change `kind` on the mounts `which` (one, or a
/// subtree for `MS_REC`; Linux's `change_mnt_propagation` on each).
/// `ENOMEM` (nothing changed) when `MS_SHARED` cannot get its groups.
pub fn change(t: &mut dyn Table, groups: &mut Groups, which: &[usize], kind: Kind) -> Result<()> {
    if kind == Kind::Shared {
        // invent_group_ids(): every group first, or none
        // the lowest free ids in one merge (one `alloc` each would scan
        // and shift the list per mount)
        let need = which.iter().filter(|&&i| t.prop(i).group == 0).count();
        let mut ids = Vec::new();
        groups.alloc_many(need, &mut ids)?;
        let mut next = ids.iter();
        for &i in which {
            let mut p = t.prop(i);
            if p.group == 0
                && let Some(&id) = next.next()
            {
                p.group = id;
                groups.join(id);
            }
            p.unbindable = false;
            t.set_prop(i, p);
        }
        // ids `which` named twice did not use: free again
        if next.len() != 0 {
            groups.list.retain(|e| e.1 != 0 || ids.binary_search(&e.0).is_err());
        }
        return Ok(());
    }
    let mut gone = Remaster(Vec::new());
    gone.0.try_reserve(which.len()).map_err(|_| Errno::ENOMEM)?;
    for &i in which {
        let p = t.prop(i);
        let was_shared = p.group != 0;
        let master = leave_group(t, groups, i, &mut gone)?;
        let np = match kind {
            // a private mount made a slave stays private; a shared one
            // receives from the group it left
            Kind::Slave => {
                Prop { group: 0, master: if was_shared { master } else { p.master }, unbindable: false }
            }
            Kind::Unbindable => Prop { group: 0, master: 0, unbindable: true },
            _ => Prop::PRIVATE,
        };
        t.set_prop(i, np);
    }
    groups.sweep();
    gone.apply(t);
    Ok(())
}

/// Mounts `which` go away (umount, a namespace's end): they leave their
/// groups, the slaves of an emptied group receive from its master.
pub fn remove(t: &mut dyn Table, groups: &mut Groups, which: &[usize]) {
    let mut gone = Remaster(Vec::new());
    for &i in which {
        if gone.0.try_reserve(1).is_err() {
            // cannot fail the removal: the group's slaves keep its id
            let _ = groups.leave_deferred(t.prop(i).group);
        } else {
            let _ = leave_group(t, groups, i, &mut gone);
        }
        t.set_prop(i, Prop::PRIVATE);
    }
    groups.sweep();
    gone.apply(t);
}

/// A bind mount of a mount whose propagation is `src` (Linux's clone_mnt
/// with no flags): a peer of a shared source, a slave of a slave's master;
/// `EINVAL` for an unbindable source. Counted in its group.
pub fn bind(groups: &mut Groups, src: Prop) -> Result<Prop> {
    if src.unbindable {
        return Err(Errno::EINVAL);
    }
    let p = Prop { group: src.group, master: src.master, unbindable: false };
    groups.join(p.group);
    Ok(p)
}

/// A mount's copy in a new mount namespace (copy_mnt_ns's clone_mnt):
/// peers stay peers, slaves keep their master, unbindable stays; for a
/// namespace owned by a less privileged user namespace (`to_slave`,
/// Linux's CL_SHARED_TO_SLAVE) a shared mount's copy is its slave.
/// Counted in its group.
pub fn copy(groups: &mut Groups, src: Prop, to_slave: bool) -> Prop {
    if to_slave && src.group != 0 {
        return Prop { group: 0, master: src.group, unbindable: src.unbindable };
    }
    groups.join(src.group);
    src
}

/// Every mount that receives what is mounted or unmounted under mount
/// `parent` (Linux's propagation tree: the other members of its peer
/// group, the mounts receiving from it, their peers and slaves, in that
/// order). Each is (mount, level, peer): `level` indexes the returned
/// groups (level 0: `parent`'s group), `peer` says whether the mount is a
/// member of that level's group (else a slave of it that is not shared).
/// The second list gives each level's group and the level it receives
/// from. Empty when `parent` is not shared.
pub type Receivers = (Vec<(usize, usize, bool)>, Vec<(u64, Option<usize>)>);

/// [`Receivers`] of mount `parent` of `t`. `ENOMEM` when the lists cannot grow.
pub fn receivers(t: &dyn Table, ix: &Index, parent: usize) -> Result<Receivers> {
    let mut out = Vec::new();
    let mut levels: Vec<(u64, Option<usize>)> = Vec::new();
    let g = t.prop(parent).group;
    if g == 0 {
        return Ok((out, levels));
    }
    // the groups already levelled, by their first position in the index
    // (a binary search each, not a scan of `levels`)
    let mut levelled = Vec::new();
    levelled.try_reserve(ix.by_group.len()).map_err(|_| Errno::ENOMEM)?;
    levelled.resize(ix.by_group.len(), false);
    // (every group met here has a member in the index: `parent` or the
    // slave naming it)
    let first = |g: u64| {
        let at = ix.by_group.partition_point(|e| e.0 < g);
        ix.by_group.get(at).filter(|e| e.0 == g).map(|_| at)
    };
    levels.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    levels.push((g, None));
    if let Some(v) = first(g).and_then(|at| levelled.get_mut(at)) {
        *v = true;
    }
    let mut at = 0;
    while at < levels.len() {
        let (g, _) = levels[at];
        for i in ix.members(g) {
            if i != parent {
                out.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                out.push((i, at, true));
            }
        }
        for i in ix.slaves(g) {
            let p = t.prop(i);
            if p.group == 0 {
                out.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                out.push((i, at, false));
            } else {
                let seen = match first(p.group).and_then(|k| levelled.get_mut(k)) {
                    Some(v) => core::mem::replace(v, true),
                    // not indexed (never): the scan of old
                    None => levels.iter().any(|l| l.0 == p.group),
                };
                if !seen {
                    levels.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                    levels.push((p.group, Some(at)));
                }
            }
        }
        at += 1;
    }
    Ok((out, levels))
}

/// What a new mount under a mount makes: its own propagation and the
/// copies to make (destination mount, the copy's propagation).
#[derive(Debug, Default)]
pub struct Plan {
    /// The new mount's propagation.
    pub new: Prop,
    /// A copy under each receiving mount: (that mount's index, the copy's
    /// propagation).
    pub copies: Vec<(usize, Prop)>,
}

/// Where a new mount with propagation `new` under mount `parent`
/// propagates (Linux's attach_recursive_mnt and propagate_mnt): under a
/// shared parent the new mount becomes shared (a new group unless it has
/// one), each other member of the parent's group gets a copy in the new
/// mount's group, each slave a copy receiving from the copy it comes
/// from (a shared slave group's copies form a new group of their own).
/// Under a mount that is not shared: `new` itself and no copies. The
/// groups are counted; [`abandon`] gives them back when the kernel cannot
/// make the mounts. `ENOMEM` (nothing allocated) on a failed allocation.
pub fn plan(t: &dyn Table, groups: &mut Groups, parent: usize, new: Prop) -> Result<Plan> {
    let mut plan = Plan { new, copies: Vec::new() };
    if !t.prop(parent).is_shared() {
        return Ok(plan);
    }
    let ix = Index::new(t)?;
    let (dests, levels) = receivers(t, &ix, parent)?;
    plan.copies.try_reserve(dests.len()).map_err(|_| Errno::ENOMEM)?;
    let fresh = usize::from(new.group == 0) + levels.len().saturating_sub(1);
    // each level's group of copies and its master
    let mut made: Vec<(u64, u64)> = Vec::new();
    made.try_reserve(levels.len()).map_err(|_| Errno::ENOMEM)?;
    // the new groups' ids in one merge (increasing, as one `alloc` each)
    let mut ids = Vec::new();
    groups.alloc_many(fresh, &mut ids)?;
    let mut next = ids.iter().copied();
    if plan.new.group == 0 {
        plan.new.group = next.next().unwrap_or(0);
        groups.join(plan.new.group);
        plan.new.unbindable = false;
    }
    made.push((plan.new.group, plan.new.master));
    for &(_, from) in levels.iter().skip(1) {
        let master = from.map_or(0, |l| made[l].0);
        // members are counted as the copies are planned (below)
        made.push((next.next().unwrap_or(0), master));
    }
    for (i, level, peer) in dests {
        let (g, master) = made[level];
        let p = if peer {
            Prop { group: g, master, unbindable: false }
        } else {
            Prop { group: 0, master: g, unbindable: false }
        };
        groups.join(p.group);
        plan.copies.push((i, p));
    }
    // a level whose group got no member (every receiver dropped) frees it
    // (one pass: `ids` is sorted)
    groups.list.retain(|e| e.1 != 0 || ids.binary_search(&e.0).is_err());
    Ok(plan)
}

/// Gives back the groups a [`Plan`] counted, for copies not made (the
/// kernel drops a copy it does not need, or the whole mount failed).
/// `with_new`: the new mount too.
pub fn abandon(groups: &mut Groups, plan: &Plan, with_new: bool) {
    for (_, p) in &plan.copies {
        let _ = groups.leave(p.group);
    }
    if with_new {
        let _ = groups.leave(plan.new.group);
    }
}

/// Gives back the group count of one mount with `p` the kernel does not
/// make (a planned copy another receiver of the same namespace already
/// shows, a bind that failed).
pub fn release(groups: &mut Groups, p: Prop) {
    let _ = groups.leave(p.group);
}
