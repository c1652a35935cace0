//! Host tests of the propagation model (crate::propagation) on a small
//! simulated mount table.

use alloc::vec::Vec;

use linux_abi::Errno;
use proptest::prelude::*;

use crate::propagation::{self as prop, Groups, Index, Kind, Prop, Table};

/// One simulated mount: its namespace, parent (index), propagation, alive.
#[derive(Clone, Debug)]
struct M {
    ns: u64,
    parent: Option<usize>,
    p: Prop,
    alive: bool,
}

#[derive(Default, Debug)]
struct Sim {
    m: Vec<M>,
    g: Groups,
}

impl Table for Sim {
    fn count(&self) -> usize {
        self.m.len()
    }
    fn ns(&self, i: usize) -> u64 {
        self.m[i].ns
    }
    fn prop(&self, i: usize) -> Prop {
        self.m[i].p
    }
    fn set_prop(&mut self, i: usize, p: Prop) {
        self.m[i].p = p;
    }
}

/// The table and the groups apart (the model takes both mutably).
fn split(s: &mut Sim) -> (&mut dyn Table, &mut Groups) {
    let Sim { m, g } = s;
    (m as &mut dyn Table, g)
}

impl prop::Entry for M {
    fn ns(&self) -> u64 {
        self.ns
    }
    fn prop(&self) -> Prop {
        self.p
    }
    fn set_prop(&mut self, p: Prop) {
        self.p = p;
    }
}

impl Sim {
    fn root(&mut self, ns: u64) -> usize {
        self.m.push(M { ns, parent: None, p: Prop::PRIVATE, alive: true });
        self.m.len() - 1
    }

    /// A new mount (or a bind with `new`) under `parent` with its
    /// propagation copies; the new mount's index and the copies' indices.
    fn mount(&mut self, parent: usize, new: Prop) -> (usize, Vec<usize>) {
        let plan = prop::plan(&self.m, &mut self.g, parent, new).unwrap();
        let ns = self.m[parent].ns;
        self.m.push(M { ns, parent: Some(parent), p: plan.new, alive: true });
        let me = self.m.len() - 1;
        let mut copies = Vec::new();
        for (d, p) in plan.copies {
            let ns = self.m[d].ns;
            self.m.push(M { ns, parent: Some(d), p, alive: true });
            copies.push(self.m.len() - 1);
        }
        (me, copies)
    }

    fn bind(&mut self, src: usize, parent: usize) -> Result<(usize, Vec<usize>), Errno> {
        let p = prop::bind(&mut self.g, self.m[src].p)?;
        Ok(self.mount(parent, p))
    }

    fn change(&mut self, which: &[usize], kind: Kind) {
        let (t, g) = split(self);
        prop::change(t, g, which, kind).unwrap();
    }

    /// A new namespace `ns` copying every live mount of `from`.
    fn copy_ns(&mut self, from: u64, ns: u64, to_slave: bool) -> Vec<usize> {
        let olds: Vec<usize> =
            (0..self.m.len()).filter(|&i| self.m[i].alive && self.m[i].ns == from).collect();
        let first = self.m.len();
        for &o in &olds {
            let p = prop::copy(&mut self.g, self.m[o].p, to_slave);
            let parent =
                self.m[o].parent.and_then(|pa| olds.iter().position(|&x| x == pa)).map(|k| first + k);
            self.m.push(M { ns, parent, p, alive: true });
        }
        (first..self.m.len()).collect()
    }

    fn remove(&mut self, i: usize) {
        let (t, g) = split(self);
        prop::remove(t, g, &[i]);
        self.m[i].alive = false;
    }

    fn fields(&self, i: usize) -> alloc::string::String {
        let ix = Index::new(&self.m).unwrap();
        let ns = self.m[i].ns;
        let alive: Vec<bool> = self.m.iter().map(|m| m.alive).collect();
        let dom = ix.dominating(&self.m, self.m[i].p, ns, &|k| alive[k]);
        let mut out = Vec::new();
        prop::write_fields(&mut out, self.m[i].p, dom);
        alloc::string::String::from_utf8(out).unwrap()
    }

    /// Everything the model promises about a table.
    fn check(&self) {
        let mut seen: Vec<(u64, usize)> = Vec::new();
        for m in &self.m {
            if !m.alive {
                assert_eq!(m.p, Prop::PRIVATE, "a removed mount keeps no propagation");
                continue;
            }
            if m.p.unbindable {
                assert!(m.p.group == 0 && m.p.master == 0, "unbindable is private: {m:?}");
            }
            if m.p.group != 0 {
                match seen.iter_mut().find(|e| e.0 == m.p.group) {
                    Some(e) => e.1 += 1,
                    None => seen.push((m.p.group, 1)),
                }
                // peers share their master
                for o in self.m.iter().filter(|o| o.alive && o.p.group == m.p.group) {
                    assert_eq!(o.p.master, m.p.master, "peers of {} disagree on the master", m.p.group);
                }
            }
            if m.p.master != 0 {
                assert!(
                    self.m.iter().any(|o| o.alive && o.p.group == m.p.master),
                    "master {} has no member",
                    m.p.master
                );
                assert_ne!(m.p.master, m.p.group, "its own master");
                // the chain of masters ends
                let mut g = m.p.master;
                for _ in 0..=self.m.len() {
                    g = self.m.iter().find(|o| o.alive && o.p.group == g).map_or(0, |o| o.p.master);
                    if g == 0 {
                        break;
                    }
                }
                assert_eq!(g, 0, "a cycle of masters");
            }
        }
        assert_eq!(self.g.len(), seen.len(), "groups in use: {:?} vs {seen:?}", self.g);
        for (g, n) in seen {
            assert_eq!(self.g.members(g), n, "group {g}'s members");
        }
    }
}

#[test]
fn a_mount_under_a_shared_mount_reaches_its_peers() {
    let mut s = Sim::default();
    let r = s.root(1);
    s.change(&[r], Kind::Shared);
    assert_eq!(s.m[r].p.group, 1, "the lowest free id");
    // a bind of the shared root joins its group
    let (b, copies) = s.bind(r, r).unwrap();
    assert_eq!(s.m[b].p.group, 1);
    // r had no other peer when the bind went under it: no copy
    assert!(copies.is_empty());
    // a tmpfs under b: a copy under r, b's peer
    let (t, copies) = s.mount(b, Prop::PRIVATE);
    assert_eq!(s.m[t].p.group, 2, "a new mount under a shared one is shared");
    let parents: Vec<_> = copies.iter().map(|&c| s.m[c].parent.unwrap()).collect();
    assert_eq!(parents, [r]);
    assert!(copies.iter().all(|&c| s.m[c].p == Prop { group: 2, master: 0, unbindable: false }));
    assert_eq!(s.fields(t), " shared:2");
    s.check();
}

#[test]
fn a_slave_receives_and_does_not_send() {
    let mut s = Sim::default();
    let r = s.root(1);
    s.change(&[r], Kind::Shared);
    let c = s.copy_ns(1, 2, false)[0];
    assert_eq!(s.m[c].p.group, s.m[r].p.group, "the copy is a peer");
    s.change(&[c], Kind::Slave);
    assert_eq!(s.m[c].p, Prop { group: 0, master: 1, unbindable: false });
    assert_eq!(s.fields(c), " master:1");
    let (n, copies) = s.mount(r, Prop::PRIVATE);
    assert_eq!(copies.len(), 1);
    assert_eq!(s.m[copies[0]].parent, Some(c));
    assert_eq!(s.m[copies[0]].p, Prop { group: 0, master: s.m[n].p.group, unbindable: false });
    // from the slave: nothing goes back
    let (_, back) = s.mount(c, Prop::PRIVATE);
    assert!(back.is_empty());
    s.check();
}

#[test]
fn private_stops_propagation() {
    let mut s = Sim::default();
    let r = s.root(1);
    s.change(&[r], Kind::Shared);
    let c = s.copy_ns(1, 2, false)[0];
    s.change(&[c], Kind::Private);
    assert_eq!(s.m[c].p, Prop::PRIVATE);
    let (_, copies) = s.mount(r, Prop::PRIVATE);
    assert!(copies.is_empty());
    let (_, copies) = s.mount(c, Prop::PRIVATE);
    assert!(copies.is_empty());
    s.check();
}

#[test]
fn a_less_privileged_copy_is_a_slave() {
    let mut s = Sim::default();
    let r = s.root(1);
    s.change(&[r], Kind::Shared);
    let (sub, _) = s.mount(r, Prop::PRIVATE);
    let copies = s.copy_ns(1, 2, true);
    assert_eq!(s.m[copies[0]].p, Prop { group: 0, master: s.m[r].p.group, unbindable: false });
    assert_eq!(s.m[copies[1]].p, Prop { group: 0, master: s.m[sub].p.group, unbindable: false });
    assert_eq!(s.fields(copies[1]), alloc::format!(" master:{}", s.m[sub].p.group));
    let (_, back) = s.mount(copies[0], Prop::PRIVATE);
    assert!(back.is_empty());
    let (_, to) = s.mount(r, Prop::PRIVATE);
    assert_eq!(to.len(), 1);
    s.check();
}

#[test]
fn unbindable_refuses_a_bind() {
    let mut s = Sim::default();
    let r = s.root(1);
    let (u, _) = s.mount(r, Prop::PRIVATE);
    s.change(&[u], Kind::Unbindable);
    assert_eq!(s.fields(u), " unbindable");
    assert_eq!(s.bind(u, r).unwrap_err(), Errno::EINVAL);
    // shared again: bindable
    s.change(&[u], Kind::Shared);
    assert!(!s.m[u].p.unbindable);
    assert!(s.bind(u, r).is_ok());
    s.check();
}

#[test]
fn slave_of_a_lone_shared_mount_is_private_and_its_slaves_move_up() {
    let mut s = Sim::default();
    let a = s.root(1);
    s.change(&[a], Kind::Shared); // group 1
    let b = s.copy_ns(1, 2, true)[0]; // slave of 1
    s.change(&[b], Kind::Shared); // group 2, master 1
    assert_eq!(s.fields(b), " shared:2 master:1");
    let c = s.copy_ns(2, 3, true)[0]; // slave of 2
    assert_eq!(s.m[c].p.master, 2);
    // b alone in group 2 becomes a slave: group 2 goes, c receives from 1
    s.change(&[b], Kind::Slave);
    assert_eq!(s.m[b].p, Prop { group: 0, master: 1, unbindable: false });
    assert_eq!(s.m[c].p.master, 1);
    // a lone private shared mount made a slave: private
    let d = s.root(4);
    s.change(&[d], Kind::Shared);
    s.change(&[d], Kind::Slave);
    assert_eq!(s.m[d].p, Prop::PRIVATE);
    s.check();
}

#[test]
fn removing_a_master_moves_its_slaves() {
    let mut s = Sim::default();
    let a = s.root(1);
    s.change(&[a], Kind::Shared); // 1
    let b = s.copy_ns(1, 2, true)[0]; // slave of 1
    s.change(&[b], Kind::Shared); // 2, master 1
    let c = s.copy_ns(2, 3, true)[0]; // slave of 2
    s.remove(b);
    assert_eq!(s.m[c].p.master, 1, "the slaves of a gone group receive from its master");
    s.remove(a);
    assert_eq!(s.m[c].p, Prop::PRIVATE, "no master left");
    assert!(s.g.is_empty());
    s.check();
}

#[test]
fn group_ids_are_the_lowest_free() {
    let mut s = Sim::default();
    let r: Vec<usize> = (0..4).map(|n| s.root(n)).collect();
    s.change(&r, Kind::Shared);
    assert_eq!(r.iter().map(|&i| s.m[i].p.group).collect::<Vec<_>>(), [1, 2, 3, 4]);
    s.change(&[r[1]], Kind::Private);
    let x = s.root(9);
    s.change(&[x], Kind::Shared);
    assert_eq!(s.m[x].p.group, 2);
    s.check();
}

#[test]
fn a_recursive_share_fills_every_gap_lowest_first() {
    let mut s = Sim::default();
    let r: Vec<usize> = (0..8).map(|n| s.root(n)).collect();
    s.change(&r, Kind::Shared);
    // free 2, 3 and 6
    s.change(&[r[1], r[2], r[5]], Kind::Private);
    let x: Vec<usize> = (0..5).map(|n| s.root(20 + n)).collect();
    s.change(&x, Kind::Shared);
    assert_eq!(x.iter().map(|&i| s.m[i].p.group).collect::<Vec<_>>(), [2, 3, 6, 9, 10]);
    // a mount named twice takes one id
    let y = s.root(30);
    s.change(&[y, y], Kind::Shared);
    assert_eq!(s.m[y].p.group, 11);
    s.check();
}

/// `n` private mounts of namespace 1.
fn many(n: usize) -> Vec<M> {
    (0..n).map(|_| M { ns: 1, parent: None, p: Prop::PRIVATE, alive: true }).collect()
}

const BIG: usize = 40_000;

/// review41's finding 1: `mount --make-rshared` over 40,000 private
/// mounts (one group each) was a scan of the group list per mount.
#[test]
fn a_recursive_share_of_40000_mounts_is_not_quadratic() {
    let mut t = many(BIG);
    let mut g = Groups::new();
    let which: Vec<usize> = (0..BIG).collect();
    prop::change(&mut t, &mut g, &which, Kind::Shared).unwrap();
    assert_eq!(g.len(), BIG);
    for (i, m) in t.iter().enumerate() {
        assert_eq!(m.p.group, i as u64 + 1);
        assert_eq!(g.members(i as u64 + 1), 1);
    }
}

/// review41's finding 1: `mount --make-rprivate` over 40,000 shared
/// mounts, each the last of its group and each with a slave in another
/// namespace, empties 40,000 groups (a scan of them per slave before);
/// here the emptied groups also chain (mount k receives from mount k+1's
/// group), so each slave's new master is found through 40,000 hops.
#[test]
fn a_recursive_private_of_40000_masters_is_not_quadratic() {
    let mut t = many(BIG);
    let mut g = Groups::new();
    let which: Vec<usize> = (0..BIG).collect();
    prop::change(&mut t, &mut g, &which, Kind::Shared).unwrap();
    // a living group at the end of the chain: mount BIG in namespace 3
    t.push(M { ns: 3, parent: None, p: Prop::PRIVATE, alive: true });
    prop::change(&mut t, &mut g, &[BIG], Kind::Shared).unwrap();
    let last = t[BIG].p.group;
    for k in 0..BIG {
        let master = if k + 1 < BIG { t[k + 1].p.group } else { last };
        t[k].p.master = master;
    }
    for k in 0..BIG {
        let p = prop::copy(&mut g, t[k].p, true);
        assert_eq!(p.master, k as u64 + 1);
        t.push(M { ns: 2, parent: None, p: Prop { group: 0, ..p }, alive: true });
    }
    prop::change(&mut t, &mut g, &which, Kind::Private).unwrap();
    assert_eq!(g.len(), 1, "only the living master's group is left");
    assert_eq!(g.members(last), 1);
    assert!(t[..BIG].iter().all(|m| m.p == Prop::PRIVATE));
    for m in &t[BIG + 1..] {
        assert_eq!(m.p, Prop { group: 0, master: last, unbindable: false });
    }
    // the same for umount: every slave of the 40,000 receives from `last`
    let mut t2 = many(BIG);
    let mut g2 = Groups::new();
    prop::change(&mut t2, &mut g2, &which, Kind::Shared).unwrap();
    for k in 0..BIG {
        let p = prop::copy(&mut g2, t2[k].p, true);
        t2.push(M { ns: 2, parent: None, p, alive: true });
    }
    prop::remove(&mut t2, &mut g2, &which);
    assert!(g2.is_empty());
    assert!(t2.iter().all(|m| m.p == Prop::PRIVATE));
}

/// review41's finding 1: a mount under a shared mount with 40,000 shared
/// slaves (one group each) has 40,001 levels of receivers (a scan of the
/// levels per slave before) and gets 40,000 copies in new groups.
#[test]
fn receivers_and_plan_of_40000_shared_slaves_are_not_quadratic() {
    let mut t = many(BIG + 1);
    let mut g = Groups::new();
    let which: Vec<usize> = (0..=BIG).collect();
    prop::change(&mut t, &mut g, &which, Kind::Shared).unwrap();
    for m in &mut t[1..] {
        m.ns = 2;
        m.p.master = 1;
    }
    let ix = Index::new(&t).unwrap();
    let (r, levels) = prop::receivers(&t, &ix, 0).unwrap();
    assert_eq!(levels.len(), BIG + 1);
    assert_eq!(r.len(), BIG);
    assert!(r.iter().enumerate().all(|(k, &(i, l, peer))| i == k + 1 && l == k + 1 && peer));
    let plan = prop::plan(&t, &mut g, 0, Prop::PRIVATE).unwrap();
    // the new mount and one group of copies per slave: the next ids
    assert_eq!(plan.new.group, BIG as u64 + 2);
    assert_eq!(plan.copies.len(), BIG);
    for (k, &(i, p)) in plan.copies.iter().enumerate() {
        assert_eq!(i, k + 1);
        assert_eq!(p, Prop { group: BIG as u64 + 3 + k as u64, master: BIG as u64 + 2, unbindable: false });
    }
    assert_eq!(g.len(), 2 * BIG + 2);
}

#[test]
fn a_shared_slave_group_gets_a_group_of_copies() {
    let mut s = Sim::default();
    let a = s.root(1);
    s.change(&[a], Kind::Shared); // 1
    let b = s.copy_ns(1, 2, true)[0]; // slave of 1
    s.change(&[b], Kind::Shared); // 2, master 1
    let c = s.copy_ns(2, 3, false)[0]; // peer of b: 2, master 1
    assert_eq!(s.m[c].p, Prop { group: 2, master: 1, unbindable: false });
    let (n, copies) = s.mount(a, Prop::PRIVATE);
    let ng = s.m[n].p.group;
    assert_eq!(copies.len(), 2);
    let g2 = s.m[copies[0]].p.group;
    assert!(g2 != 0 && g2 != ng);
    for &k in &copies {
        assert_eq!(s.m[k].p, Prop { group: g2, master: ng, unbindable: false });
    }
    // seen from namespace 3: master and dominating are the same chain's
    // first group with a member there (none: no propagate_from)
    assert_eq!(s.fields(copies[1]), alloc::format!(" shared:{g2} master:{ng}"));
    s.check();
}

#[test]
fn propagate_from_names_the_nearest_group_seen() {
    let mut s = Sim::default();
    let a = s.root(1);
    s.change(&[a], Kind::Shared); // 1 in ns 1
    let b = s.copy_ns(1, 1, true)[0]; // a slave of 1, also in ns 1
    s.change(&[b], Kind::Shared); // 2, master 1
    let c = s.copy_ns(1, 2, true); // ns 2: copies of a (slave of 1) and b (slave of 2)
    let cb = c[1];
    assert_eq!(s.m[cb].p.master, 2);
    // ns 2 has no member of 2 but one of 1? its copy of a is a slave, not
    // a member: nothing dominates there
    assert_eq!(s.fields(cb), " master:2");
    // a mount of ns 1 in group 1 seen from ns 1: b's copy in ns 1
    let d = s.copy_ns(1, 1, false);
    let _ = d;
    s.change(&[b], Kind::Private);
    s.check();
    // a slave of 2 in ns 1 where group 2 has gone private: its master moved
    let e = s.m.len();
    s.m.push(M { ns: 5, parent: None, p: Prop::PRIVATE, alive: true });
    s.change(&[e], Kind::Shared);
    let f = s.copy_ns(5, 6, true)[0]; // slave of e's group
    s.change(&[f], Kind::Shared);
    let h = s.copy_ns(6, 5, true)[0]; // in ns 5: slave of f's group (no member in ns 5)
    let (ge, gf) = (s.m[e].p.group, s.m[f].p.group);
    assert_eq!(s.fields(h), alloc::format!(" master:{gf} propagate_from:{ge}"));
    s.check();
}

#[test]
fn receivers_name_peers_and_slaves_for_umount() {
    let mut s = Sim::default();
    let a = s.root(1);
    s.change(&[a], Kind::Shared);
    let b = s.copy_ns(1, 2, false)[0];
    let c = s.copy_ns(1, 3, true)[0];
    let ix = Index::new(&s.m).unwrap();
    let (r, levels) = prop::receivers(&s.m, &ix, a).unwrap();
    assert_eq!(r, [(b, 0, true), (c, 0, false)]);
    assert_eq!(levels, [(1, None)]);
    let (r, _) = prop::receivers(&s.m, &ix, c).unwrap();
    assert!(r.is_empty(), "a slave sends nothing");
}

#[derive(Clone, Debug)]
enum Op {
    Mount(usize),
    Bind(usize, usize),
    Change(usize, u8, bool),
    Remove(usize),
    Copy(usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<usize>().prop_map(Op::Mount),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Bind(a, b)),
        (any::<usize>(), 0u8..4, any::<bool>()).prop_map(|(a, k, r)| Op::Change(a, k, r)),
        any::<usize>().prop_map(Op::Remove),
        (any::<usize>(), any::<bool>()).prop_map(|(a, s)| Op::Copy(a, s)),
    ]
}

proptest! {
    /// Any sequence of mounts, binds, propagation changes, umounts and
    /// namespace copies keeps the groups' counts, the peers' common
    /// master, living masters without cycles, and unbindable private.
    #[test]
    fn sequences_keep_the_invariants(ops in proptest::collection::vec(op(), 1..40)) {
        let mut s = Sim::default();
        s.root(1);
        let mut next_ns = 2;
        for o in ops {
            let live: Vec<usize> = (0..s.m.len()).filter(|&i| s.m[i].alive).collect();
            if live.is_empty() || s.m.len() > 400 {
                break;
            }
            let pick = |k: usize| live[k % live.len()];
            match o {
                Op::Mount(p) => { s.mount(pick(p), Prop::PRIVATE); }
                Op::Bind(a, p) => {
                    let (a, p) = (pick(a), pick(p));
                    let unb = s.m[a].p.unbindable;
                    let r = s.bind(a, p);
                    prop_assert_eq!(r.is_err(), unb);
                }
                Op::Change(a, k, rec) => {
                    let a = pick(a);
                    let which: Vec<usize> = if rec {
                        // a, and every live mount whose chain of parents reaches a
                        live.iter().copied().filter(|&i| {
                            let mut at = Some(i);
                            while let Some(x) = at { if x == a { return true; } at = s.m[x].parent; }
                            false
                        }).collect()
                    } else { alloc::vec![a] };
                    let kind = [Kind::Shared, Kind::Private, Kind::Slave, Kind::Unbindable][k as usize];
                    s.change(&which, kind);
                    for &i in &which {
                        match kind {
                            Kind::Shared => prop_assert!(s.m[i].p.group != 0),
                            Kind::Private => prop_assert_eq!(s.m[i].p, Prop::PRIVATE),
                            Kind::Unbindable => prop_assert!(s.m[i].p.unbindable),
                            Kind::Slave => prop_assert_eq!(s.m[i].p.group, 0),
                        }
                    }
                }
                Op::Remove(a) => {
                    let a = pick(a);
                    if s.m.iter().all(|m| !m.alive || m.parent != Some(a)) { s.remove(a); }
                }
                Op::Copy(a, slave) => {
                    let from = s.m[pick(a)].ns;
                    s.copy_ns(from, next_ns, slave);
                    next_ns += 1;
                }
            }
            s.check();
        }
    }
}
