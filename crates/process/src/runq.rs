//! A CPU's run queue, ordered as a scheduler picks: real-time tasks first
//! (the highest priority first, first come first served within a
//! priority, a preempted one at the head of its priority's list: Linux's
//! `rt_prio_array`), then fair tasks by least virtual run time, the first
//! queued first among equals (CFS's red-black tree).
//!
//! The entries live in a treap (a binary search tree kept balanced by a
//! random heap priority per node, expected depth O(log n)) whose nodes are
//! slots of chunks the caller allocates up front ([`Chunk::try_new`],
//! outside its lock) and hands over ([`RunQueue::add_chunk`]): an
//! insertion never allocates, so a queue whose capacity was reserved when
//! each of its possible tasks was created cannot fail to take a task. The
//! first and last entries are kept, so a pick of the next task is O(1)
//! when that task may run, an insertion and a removal O(log n), and a
//! walk in order costs O(1) per step (amortized).
//!
//! The pick rules ([`RunQueue::pick`], [`RunQueue::pick_to_steal`],
//! [`RunQueue::first_where`]) take a predicate for whether an entry may
//! run now (its CPU mask, whether another CPU is still switching away
//! from it): entries it refuses are stepped over in order.

use alloc::boxed::Box;
use alloc::collections::TryReserveError;
use alloc::vec::Vec;

/// Not a slot ([`RunQueue::push`] hands out the others).
pub const NO_SLOT: u32 = u32::MAX;

/// Entries per [`Chunk`].
pub const CHUNK: usize = 64;

const NIL: u32 = NO_SLOT;
const SHIFT: u32 = CHUNK.trailing_zeros();

/// Where an entry stands in the order: its class (the real-time priority,
/// 0 for a fair task), then its virtual run time (fair tasks only), then
/// its arrival.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// `u8::MAX` minus the real-time priority: the highest first.
    rank: u8,
    vruntime: u64,
    seq: u64,
}

impl Key {
    /// The real-time priority (0: a fair task).
    pub fn rt(&self) -> u8 {
        u8::MAX - self.rank
    }

    /// The virtual run time it was queued with (0 for a real-time task).
    pub fn vruntime(&self) -> u64 {
        self.vruntime
    }
}

struct Node<V> {
    key: Key,
    val: Option<V>,
    left: u32,
    right: u32,
    parent: u32,
    prio: u32,
}

impl<V> Node<V> {
    fn vacant() -> Self {
        Node { key: Key::default(), val: None, left: NIL, right: NIL, parent: NIL, prio: 0 }
    }
}

/// Room for [`CHUNK`] entries, allocated without the queue's lock and
/// added to a queue by [`RunQueue::add_chunk`].
pub struct Chunk<V>(Box<[Node<V>; CHUNK]>);

impl<V> Chunk<V> {
    /// A chunk, or the allocation's error.
    pub fn try_new() -> Result<Self, TryReserveError> {
        let mut v = Vec::new();
        v.try_reserve_exact(CHUNK)?;
        v.extend((0..CHUNK).map(|_| Node::vacant()));
        // (exactly CHUNK long: the conversions neither allocate nor fail)
        match v.into_boxed_slice().try_into() {
            Ok(b) => Ok(Chunk(b)),
            Err(_) => unreachable!("a chunk of {CHUNK} entries"),
        }
    }
}

/// The run queue (see the module's documentation). Slots ([`u32`]) name
/// entries from their [`RunQueue::push`] to their [`RunQueue::remove`].
pub struct RunQueue<V> {
    chunks: Vec<Box<[Node<V>; CHUNK]>>,
    root: u32,
    first: u32,
    last: u32,
    /// Vacant slots, linked through `left`.
    free: u32,
    len: usize,
    /// Arrival numbers: counting up from the middle for the back,
    /// down for the front.
    back_seq: u64,
    front_seq: u64,
    /// The treap's random priorities (xorshift32).
    rng: u32,
}

impl<V> Default for RunQueue<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> RunQueue<V> {
    /// An empty queue without room for any entry.
    pub const fn new() -> Self {
        RunQueue {
            chunks: Vec::new(),
            root: NIL,
            first: NIL,
            last: NIL,
            free: NIL,
            len: 0,
            back_seq: 1 << 63,
            front_seq: (1 << 63) - 1,
            rng: 0x9e37_79b9,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many entries it has room for.
    pub fn capacity(&self) -> usize {
        self.chunks.len() * CHUNK
    }

    /// Adds a chunk's room; gives it back when the list of chunks cannot
    /// grow (no memory) or the slots would run out.
    pub fn add_chunk(&mut self, chunk: Chunk<V>) -> Result<(), Chunk<V>> {
        let base = self.capacity();
        if base + CHUNK > NIL as usize || self.chunks.try_reserve(1).is_err() {
            return Err(chunk);
        }
        let mut nodes = chunk.0;
        for (i, n) in nodes.iter_mut().enumerate().rev() {
            *n = Node::vacant();
            n.left = self.free;
            self.free = (base + i) as u32;
        }
        self.chunks.push(nodes);
        Ok(())
    }

    fn n(&self, i: u32) -> &Node<V> {
        &self.chunks[(i >> SHIFT) as usize][i as usize & (CHUNK - 1)]
    }

    fn m(&mut self, i: u32) -> &mut Node<V> {
        &mut self.chunks[(i >> SHIFT) as usize][i as usize & (CHUNK - 1)]
    }

    fn used(&self, i: u32) -> Option<&Node<V>> {
        let n = &self.chunks.get((i >> SHIFT) as usize)?[i as usize & (CHUNK - 1)];
        n.val.is_some().then_some(n)
    }

    /// Queues `val` of real-time priority `rt` (0: fair) with virtual run
    /// time `vruntime` (ignored for real-time), behind its equals, or at
    /// the head of its priority's list with `front` (a preempted
    /// real-time task); its slot, or `val` back when the queue is full.
    pub fn push(&mut self, rt: u8, vruntime: u64, front: bool, val: V) -> Result<u32, V> {
        let seq = if front {
            self.front_seq = self.front_seq.wrapping_sub(1);
            self.front_seq.wrapping_add(1)
        } else {
            self.back_seq = self.back_seq.wrapping_add(1);
            self.back_seq.wrapping_sub(1)
        };
        let vruntime = if rt > 0 { 0 } else { vruntime };
        self.insert(Key { rank: u8::MAX - rt, vruntime, seq }, val)
    }

    fn rand(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    fn insert(&mut self, key: Key, val: V) -> Result<u32, V> {
        let x = self.free;
        if x == NIL {
            return Err(val);
        }
        let n = &mut self.chunks[(x >> SHIFT) as usize][x as usize & (CHUNK - 1)];
        self.free = n.left;
        if self.root == NIL {
            // the only entry: the top priority, so it stays the root until
            // it leaves (the others' random priorities balance the tree
            // below it: one level more at most), and no random number on
            // the path of a CPU that runs one task after another
            (n.key, n.val, n.left, n.right, n.parent, n.prio) = (key, Some(val), NIL, NIL, NIL, 0);
            (self.root, self.first, self.last, self.len) = (x, x, x, 1);
            return Ok(x);
        }
        let prio = self.rand() | 1;
        let (mut p, mut cur, mut left) = (NIL, self.root, false);
        while cur != NIL {
            p = cur;
            left = key < self.n(cur).key;
            cur = if left { self.n(cur).left } else { self.n(cur).right };
        }
        *self.m(x) = Node { key, val: Some(val), left: NIL, right: NIL, parent: p, prio };
        if p == NIL {
            self.root = x;
        } else if left {
            self.m(p).left = x;
        } else {
            self.m(p).right = x;
        }
        // (a new first or last is a leaf below the old one, before the
        // rotations)
        if p == self.first && left {
            self.first = x;
        }
        if p == self.last && !left {
            self.last = x;
        }
        while self.n(x).parent != NIL && prio < self.n(self.n(x).parent).prio {
            self.rotate_up(x);
        }
        self.len += 1;
        Ok(x)
    }

    /// Makes `x` its parent's parent (the order is unchanged).
    fn rotate_up(&mut self, x: u32) {
        let p = self.n(x).parent;
        let g = self.n(p).parent;
        if self.n(p).left == x {
            let b = self.n(x).right;
            self.m(p).left = b;
            if b != NIL {
                self.m(b).parent = p;
            }
            self.m(x).right = p;
        } else {
            let b = self.n(x).left;
            self.m(p).right = b;
            if b != NIL {
                self.m(b).parent = p;
            }
            self.m(x).left = p;
        }
        self.m(p).parent = x;
        self.m(x).parent = g;
        if g == NIL {
            self.root = x;
        } else if self.n(g).left == p {
            self.m(g).left = x;
        } else {
            self.m(g).right = x;
        }
    }

    /// Takes the entry in `slot` out; `None` if the slot holds none.
    pub fn remove(&mut self, slot: u32) -> Option<V> {
        let x = slot;
        let n = self.chunks.get_mut((x >> SHIFT) as usize)?.get_mut(x as usize & (CHUNK - 1))?;
        n.val.as_ref()?;
        if n.parent == NIL && n.left == NIL && n.right == NIL {
            // the only entry
            (self.root, self.first, self.last, self.len) = (NIL, NIL, NIL, 0);
            (n.left, self.free) = (self.free, x);
            return n.val.take();
        }
        if self.first == x {
            self.first = self.next(x);
        }
        if self.last == x {
            self.last = self.prev(x);
        }
        loop {
            let (l, r) = (self.n(x).left, self.n(x).right);
            let c = match (l, r) {
                (NIL, NIL) => break,
                (NIL, c) | (c, NIL) => c,
                (l, r) => {
                    if self.n(l).prio < self.n(r).prio {
                        l
                    } else {
                        r
                    }
                }
            };
            self.rotate_up(c);
        }
        let p = self.n(x).parent;
        if p == NIL {
            self.root = NIL;
        } else if self.n(p).left == x {
            self.m(p).left = NIL;
        } else {
            self.m(p).right = NIL;
        }
        self.len -= 1;
        self.vacate(x)
    }

    /// Puts slot `x` (out of the tree) on the free list; its value.
    fn vacate(&mut self, x: u32) -> Option<V> {
        let free = self.free;
        let n = self.m(x);
        let val = n.val.take();
        (n.left, n.right, n.parent) = (free, NIL, NIL);
        self.free = x;
        val
    }

    /// The entry in `slot`.
    pub fn get(&self, slot: u32) -> Option<(Key, &V)> {
        let n = self.used(slot)?;
        Some((n.key, n.val.as_ref()?))
    }

    fn val(&self, i: u32) -> &V {
        match &self.n(i).val {
            Some(v) => v,
            None => unreachable!("a vacant slot in the tree"),
        }
    }

    /// The first entry's slot (the one a pick takes when it may run).
    pub fn first(&self) -> Option<u32> {
        (self.first != NIL).then_some(self.first)
    }

    /// The last entry's slot.
    pub fn last(&self) -> Option<u32> {
        (self.last != NIL).then_some(self.last)
    }

    fn next(&self, x: u32) -> u32 {
        let mut c = self.n(x).right;
        if c != NIL {
            while self.n(c).left != NIL {
                c = self.n(c).left;
            }
            return c;
        }
        let (mut c, mut p) = (x, self.n(x).parent);
        while p != NIL && self.n(p).right == c {
            (c, p) = (p, self.n(p).parent);
        }
        p
    }

    fn prev(&self, x: u32) -> u32 {
        let mut c = self.n(x).left;
        if c != NIL {
            while self.n(c).right != NIL {
                c = self.n(c).right;
            }
            return c;
        }
        let (mut c, mut p) = (x, self.n(x).parent);
        while p != NIL && self.n(p).left == c {
            (c, p) = (p, self.n(p).parent);
        }
        p
    }

    /// The entry after the one in `slot`, in order.
    pub fn next_of(&self, slot: u32) -> Option<u32> {
        self.used(slot)?;
        let n = self.next(slot);
        (n != NIL).then_some(n)
    }

    /// The entry before the one in `slot`, in order.
    pub fn prev_of(&self, slot: u32) -> Option<u32> {
        self.used(slot)?;
        let n = self.prev(slot);
        (n != NIL).then_some(n)
    }

    /// The entries in order, with their slots and keys.
    pub fn iter(&self) -> Iter<'_, V> {
        Iter { q: self, at: self.first }
    }

    /// The first entry (in order) that `ok` accepts.
    pub fn first_where(&self, ok: impl Fn(&V) -> bool) -> Option<u32> {
        let mut s = self.first;
        while s != NIL {
            if ok(self.val(s)) {
                return Some(s);
            }
            s = self.next(s);
        }
        None
    }

    /// The entry a CPU runs next: the first that `ok` accepts; but when
    /// that is `yielding` (the slot of the task that just yielded, queued
    /// again), the next accepted one of the same class if there is one
    /// (a yield lets the others of its class run first, as Linux's
    /// sched_yield; a higher class was ahead of it anyway).
    pub fn pick(&self, ok: impl Fn(&V) -> bool, yielding: Option<u32>) -> Option<u32> {
        let s = self.first_where(&ok)?;
        if Some(s) != yielding {
            return Some(s);
        }
        let rank = self.n(s).key.rank;
        let mut t = self.next(s);
        while t != NIL && self.n(t).key.rank == rank {
            if ok(self.val(t)) {
                return Some(t);
            }
            t = self.next(t);
        }
        Some(s)
    }

    /// The entry another CPU takes (stealing, balancing): the first
    /// accepted real-time one above priority `rt_above` (the highest,
    /// then the first queued: Linux's pull_rt_task), else the accepted
    /// fair one that would run last here (the greatest virtual run time).
    pub fn pick_to_steal(&self, ok: impl Fn(&V) -> bool, rt_above: u8) -> Option<u32> {
        let mut s = self.first;
        while s != NIL {
            let rt = self.n(s).key.rt();
            if rt == 0 || rt <= rt_above {
                break;
            }
            if ok(self.val(s)) {
                return Some(s);
            }
            s = self.next(s);
        }
        let mut s = self.last;
        while s != NIL && self.n(s).key.rt() == 0 {
            if ok(self.val(s)) {
                return Some(s);
            }
            s = self.prev(s);
        }
        None
    }
}

/// The entries of a [`RunQueue`] in order: `(slot, key, value)`.
pub struct Iter<'a, V> {
    q: &'a RunQueue<V>,
    at: u32,
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (u32, Key, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        if self.at == NIL {
            return None;
        }
        let s = self.at;
        self.at = self.q.next(s);
        Some((s, self.q.n(s).key, self.q.val(s)))
    }
}

#[cfg(test)]
impl<V> RunQueue<V> {
    /// Checks the tree's links, order, heap and counts.
    fn check(&self) {
        let mut seen = 0;
        let mut prev: Option<Key> = None;
        let mut stack = alloc::vec![];
        let mut cur = self.root;
        if cur != NIL {
            assert_eq!(self.n(cur).parent, NIL);
        }
        // in-order walk without `next`, checking links and the heap
        loop {
            while cur != NIL {
                stack.push(cur);
                let l = self.n(cur).left;
                if l != NIL {
                    assert_eq!(self.n(l).parent, cur);
                    assert!(self.n(l).prio >= self.n(cur).prio);
                }
                let r = self.n(cur).right;
                if r != NIL {
                    assert_eq!(self.n(r).parent, cur);
                    assert!(self.n(r).prio >= self.n(cur).prio);
                }
                cur = l;
            }
            let Some(x) = stack.pop() else { break };
            assert!(self.n(x).val.is_some());
            if let Some(p) = prev {
                assert!(p <= self.n(x).key);
            } else {
                assert_eq!(self.first, x);
            }
            prev = Some(self.n(x).key);
            if stack.is_empty() && self.n(x).right == NIL {
                assert_eq!(self.last, x);
            }
            seen += 1;
            cur = self.n(x).right;
        }
        assert_eq!(seen, self.len);
        if self.len == 0 {
            assert_eq!((self.first, self.last, self.root), (NIL, NIL, NIL));
        }
        let mut free = 0;
        let mut f = self.free;
        while f != NIL {
            assert!(self.n(f).val.is_none());
            free += 1;
            f = self.n(f).left;
        }
        assert_eq!(free + self.len, self.capacity());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    /// A task of the model: an id, its priority class, its virtual run
    /// time, whether the CPU may run it.
    #[derive(Clone, Copy, Debug)]
    struct T {
        id: u32,
        rt: u8,
        vrt: u64,
        ok: bool,
    }

    fn queue<V>(cap: usize) -> RunQueue<V> {
        let mut q = RunQueue::new();
        for _ in 0..cap.div_ceil(CHUNK) {
            assert!(q.add_chunk(Chunk::try_new().unwrap()).is_ok());
        }
        q
    }

    /// The scan the run queue replaced (sched.rs' `take_runnable` over a
    /// VecDeque in queue order): the highest real-time priority, then
    /// anyone but the yielding task, then the least virtual run time for
    /// fair tasks, the first of equals.
    fn naive_pick(model: &[T], yielding: Option<u32>) -> Option<u32> {
        let mut best: Option<(u32, (u8, bool, u64))> = None;
        for t in model.iter().filter(|t| t.ok) {
            let order = if t.rt > 0 { 0 } else { u64::MAX - t.vrt };
            let key = (t.rt, yielding != Some(t.id), order);
            if best.is_none_or(|(_, b)| key > b) {
                best = Some((t.id, key));
            }
        }
        best.map(|b| b.0)
    }

    /// What a steal takes: the highest real-time priority above
    /// `rt_above`, the first queued of equals; else the fair task with
    /// the greatest virtual run time, the last queued of equals.
    fn naive_steal(model: &[T], rt_above: u8) -> Option<u32> {
        let mut best: Option<(u32, u8)> = None;
        for t in model.iter().filter(|t| t.ok && t.rt > rt_above && t.rt > 0) {
            if best.is_none_or(|(_, b)| t.rt > b) {
                best = Some((t.id, t.rt));
            }
        }
        if let Some((id, _)) = best {
            return Some(id);
        }
        let mut best: Option<(u32, u64)> = None;
        for t in model.iter().filter(|t| t.ok && t.rt == 0) {
            if best.is_none_or(|(_, b)| t.vrt >= b) {
                best = Some((t.id, t.vrt));
            }
        }
        best.map(|b| b.0)
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// Queue a task (rt, vruntime, at the front, may run here).
        Push(u8, u64, bool, bool),
        /// Take the pick (the yielding task: the n-th queued, if any).
        Pick(Option<usize>),
        /// Take a steal's pick above the priority.
        Steal(u8),
        /// Remove the n-th queued (in queue order).
        Remove(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (prop_oneof![3 => Just(0u8), 1 => 1u8..4], 0u64..8, any::<bool>(), prop::bool::weighted(0.8))
                .prop_map(|(rt, v, f, ok)| Op::Push(rt, v, f && rt > 0, ok)),
            2 => prop::option::of(0usize..64).prop_map(Op::Pick),
            1 => (0u8..3).prop_map(Op::Steal),
            1 => (0usize..64).prop_map(Op::Remove),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn picks_as_the_naive_scan(ops in prop::collection::vec(op(), 1..300)) {
            let mut q = queue(300);
            // the model: tasks in queue order (push_front at the head)
            let mut model: Vec<T> = Vec::new();
            let mut slots: Vec<(u32, u32)> = Vec::new(); // (id, slot)
            let slot_of = |slots: &Vec<(u32, u32)>, id: u32| slots.iter().find(|s| s.0 == id).unwrap().1;
            let mut next_id = 0;
            for op in ops {
                match op {
                    Op::Push(rt, vrt, front, ok) => {
                        let t = T { id: next_id, rt, vrt, ok };
                        next_id += 1;
                        let s = q.push(rt, vrt, front, t).ok().unwrap();
                        slots.push((t.id, s));
                        if front { model.insert(0, t) } else { model.push(t) }
                    }
                    Op::Pick(y) => {
                        let yielding = y.and_then(|i| model.get(i % model.len().max(1))).map(|t| t.id);
                        let want = naive_pick(&model, yielding);
                        let got = q.pick(|t| t.ok, yielding.map(|id| slot_of(&slots, id)));
                        let got = got.map(|s| q.get(s).unwrap().1.id);
                        prop_assert_eq!(got, want);
                        if let Some(id) = got {
                            let t = q.remove(slot_of(&slots, id)).unwrap();
                            prop_assert_eq!(t.id, id);
                            model.retain(|t| t.id != id);
                        }
                    }
                    Op::Steal(above) => {
                        let want = naive_steal(&model, above);
                        let got = q.pick_to_steal(|t| t.ok, above).map(|s| q.get(s).unwrap().1.id);
                        prop_assert_eq!(got, want);
                        if let Some(id) = got {
                            q.remove(slot_of(&slots, id)).unwrap();
                            model.retain(|t| t.id != id);
                        }
                    }
                    Op::Remove(i) => {
                        if !model.is_empty() {
                            let t = model.remove(i % model.len());
                            let got = q.remove(slot_of(&slots, t.id)).unwrap();
                            prop_assert_eq!(got.id, t.id);
                            prop_assert!(q.remove(slot_of(&slots, t.id)).is_none());
                        }
                    }
                }
                q.check();
                prop_assert_eq!(q.len(), model.len());
                let want = naive_pick(&model, None);
                prop_assert_eq!(q.first_where(|t| t.ok).map(|s| q.get(s).unwrap().1.id), want);
            }
        }
    }

    #[test]
    fn full_queue_gives_the_value_back_and_grows_by_chunks() {
        let mut q: RunQueue<u32> = RunQueue::new();
        assert_eq!(q.push(0, 1, false, 7), Err(7));
        assert!(q.add_chunk(Chunk::try_new().unwrap()).is_ok());
        let slots: Vec<u32> =
            (0..CHUNK as u32).map(|i| q.push(0, u64::from(i % 5), false, i).unwrap()).collect();
        assert_eq!(q.push(0, 0, false, 99), Err(99));
        assert!(q.add_chunk(Chunk::try_new().unwrap()).is_ok());
        assert!(q.push(0, 0, false, 99).is_ok());
        q.check();
        for s in slots {
            assert!(q.remove(s).is_some());
            q.check();
        }
        assert_eq!(q.len(), 1);
        assert_eq!(q.get(q.first().unwrap()).unwrap().1, &99);
        assert_eq!(q.first(), q.last());
    }

    #[test]
    fn order_is_class_then_vruntime_then_arrival() {
        let mut q: RunQueue<&str> = queue(8);
        q.push(0, 50, false, "fair 50").unwrap();
        q.push(0, 10, false, "fair 10 a").unwrap();
        q.push(0, 10, false, "fair 10 b").unwrap();
        q.push(5, 0, false, "rt5 a").unwrap();
        q.push(9, 0, false, "rt9").unwrap();
        q.push(5, 0, false, "rt5 b").unwrap();
        q.push(5, 0, true, "rt5 preempted").unwrap();
        let order: Vec<&str> = q.iter().map(|(_, _, v)| *v).collect();
        assert_eq!(order, ["rt9", "rt5 preempted", "rt5 a", "rt5 b", "fair 10 a", "fair 10 b", "fair 50"]);
        assert_eq!(q.iter().map(|(_, k, _)| k.rt()).collect::<Vec<_>>(), [9, 5, 5, 5, 0, 0, 0]);
        // a steal above priority 5 takes rt9; above 9, the last fair one
        assert_eq!(q.get(q.pick_to_steal(|_| true, 5).unwrap()).unwrap().1, &"rt9");
        assert_eq!(q.get(q.pick_to_steal(|_| true, 9).unwrap()).unwrap().1, &"fair 50");
        // a yielding rt5 lets its equals go first, not a lower class
        let s = q.first_where(|v| v.starts_with("rt5")).unwrap();
        assert_eq!(q.get(q.pick(|v| v.starts_with("rt5"), Some(s)).unwrap()).unwrap().1, &"rt5 a");
        let s = q.first_where(|v| v.starts_with("fair 10 a")).unwrap();
        assert_eq!(
            q.get(q.pick(|v| *v == "fair 10 a" || *v == "fair 50", Some(s)).unwrap()).unwrap().1,
            &"fair 50"
        );
        assert_eq!(q.get(q.pick(|v| *v == "fair 10 a", Some(s)).unwrap()).unwrap().1, &"fair 10 a");
    }
}
