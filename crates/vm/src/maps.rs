//! The mappings of an address space with an index of the free space
//! between them, so that `get_unmapped_area` finds a gap without walking
//! every mapping (Linux keeps the largest gap of each subtree in its maple
//! tree; here the free intervals are kept by address and, per power-of-two
//! size class, by address again).
//!
//! [`Maps`] wraps the `BTreeMap` of mappings: every insertion, removal and
//! change of a mapping's end (through [`MapMut`]) updates the free-space
//! index, [`Gaps`]. A search for `len` bytes looks, in each non-empty size
//! class that can hold `len`, at the nearest free interval only (every
//! interval of a class above `len`'s holds it) and, in `len`'s own class,
//! walks down (or up) until one is long enough and no farther than the
//! best found so far: O(classes × log n) but for many gaps of `len`'s own
//! class that are all too short.
//!
//! A small address space has no index: below [`INDEX_AT`] mappings a
//! search walks the mappings (as before the index), which costs less than
//! keeping the index up to date at every mmap and munmap (the index's
//! B-tree updates were most of `mmap_munmap_1m`'s cost against 0ec6ab6).
//! The index is built when the count reaches `INDEX_AT` and dropped when
//! it falls under [`INDEX_DROP`] (the gap between the two keeps a count
//! that moves around one threshold from building it again and again).

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, btree_map};
use core::ops::{Deref, DerefMut, RangeBounds};

use crate::vmar::Mapping;

/// Size classes: floor(log2(pages)).
const CLASSES: usize = usize::BITS as usize;

fn class(len: usize) -> usize {
    let pages = (len >> 12).max(1);
    (usize::BITS - 1 - pages.leading_zeros()) as usize
}

/// The free intervals of `[lo, hi)`: by start, and per size class.
#[derive(Clone, Debug)]
pub(crate) struct Gaps {
    lo: usize,
    hi: usize,
    /// start -> end, disjoint and never adjacent (merged).
    free: BTreeMap<usize, usize>,
    /// The starts of the intervals of each size class.
    classes: [BTreeSet<usize>; CLASSES],
    /// Bit `c` set: `classes[c]` is not empty (a search skips the empty
    /// classes without a B-tree look-up each).
    nonempty: u64,
}

impl Gaps {
    /// All of `[lo, hi)` free.
    pub(crate) fn new(lo: usize, hi: usize) -> Self {
        let mut g = Gaps {
            lo,
            hi,
            free: BTreeMap::new(),
            classes: core::array::from_fn(|_| BTreeSet::new()),
            nonempty: 0,
        };
        g.put(lo, hi);
        g
    }

    fn put(&mut self, a: usize, b: usize) {
        if a < b {
            self.free.insert(a, b);
            let c = class(b - a);
            self.classes[c].insert(a);
            self.nonempty |= 1 << c;
        }
    }

    fn del(&mut self, a: usize) -> Option<usize> {
        let b = self.free.remove(&a)?;
        let c = class(b - a);
        self.classes[c].remove(&a);
        if self.classes[c].is_empty() {
            self.nonempty &= !(1 << c);
        }
        Some(b)
    }

    /// The non-empty size classes from `c` up.
    fn classes_from(&self, c: usize) -> impl Iterator<Item = &BTreeSet<usize>> {
        let mut mask = self.nonempty & (u64::MAX << c);
        core::iter::from_fn(move || {
            let c = mask.trailing_zeros() as usize;
            if c >= CLASSES {
                return None;
            }
            mask &= mask - 1;
            Some(&self.classes[c])
        })
    }

    /// `[a, b)` becomes free (merged with its free neighbours).
    pub(crate) fn release(&mut self, a: usize, b: usize) {
        let (mut a, mut b) = (a.max(self.lo), b.min(self.hi));
        if a >= b {
            return;
        }
        while let Some((&s, &e)) = self.free.range(..=b).next_back() {
            if e < a {
                break;
            }
            self.del(s);
            a = a.min(s);
            b = b.max(e);
        }
        self.put(a, b);
    }

    /// `[a, b)` is no longer free.
    pub(crate) fn occupy(&mut self, a: usize, b: usize) {
        if a >= b {
            return;
        }
        while let Some((&s, &e)) = self.free.range(..b).next_back() {
            if e <= a {
                break;
            }
            self.del(s);
            self.put(s, a.max(s).min(e));
            self.put(b.max(s), e);
        }
    }

    /// The highest `len` bytes of free space below `top` and at or above
    /// `floor` (top-down placement): the start, or `None`.
    pub(crate) fn highest(&self, top: usize, floor: usize, len: usize) -> Option<usize> {
        let fits = |s: usize, e: usize| {
            let e = e.min(top);
            let s = s.max(floor);
            e >= s && e - s >= len
        };
        let mut below = top;
        // the interval holding top - 1, clipped
        if let Some((&s, &e)) = self.free.range(..top).next_back()
            && e >= top
        {
            if fits(s, e) {
                return Some(top - len);
            }
            below = s;
        }
        // every other interval that starts below `below` ends at or below it
        let mut best: Option<usize> = None;
        for set in self.classes_from(class(len)) {
            for &s in set.range(..below).rev() {
                let e = self.free.get(&s).copied().unwrap_or(s);
                if best.is_some_and(|b| e <= b) {
                    break;
                }
                if fits(s, e) {
                    best = Some(e);
                    break;
                }
            }
        }
        best.map(|e| e - len)
    }

    /// The lowest `len` bytes of free space at or above `bottom` and
    /// ending at or below `ceiling` (bottom-up placement).
    pub(crate) fn lowest(&self, bottom: usize, ceiling: usize, len: usize) -> Option<usize> {
        let fits = |s: usize, e: usize| {
            let s = s.max(bottom);
            let e = e.min(ceiling);
            e >= s && e - s >= len
        };
        if let Some((&s, &e)) = self.free.range(..=bottom).next_back()
            && e > bottom
            && fits(s, e)
        {
            return Some(bottom);
        }
        let mut best: Option<usize> = None;
        for set in self.classes_from(class(len)) {
            for &s in set.range(bottom..) {
                if best.is_some_and(|b| s >= b) {
                    break;
                }
                let e = self.free.get(&s).copied().unwrap_or(s);
                if fits(s, e) {
                    best = Some(s);
                    break;
                }
            }
        }
        best
    }

    /// The free intervals, in address order.
    #[cfg(test)]
    pub(crate) fn intervals(&self) -> alloc::vec::Vec<(usize, usize)> {
        self.free.iter().map(|(&s, &e)| (s, e)).collect()
    }
}

/// The mapping count at which a [`Maps`] builds its free-space index.
pub(crate) const INDEX_AT: usize = 32;
/// The mapping count under which a [`Maps`] drops its index again.
pub(crate) const INDEX_DROP: usize = 16;

/// The highest `len` bytes of free space below `top` and at or above
/// `floor` in `[lo, hi)` outside the mappings of `map` (start -> value,
/// `end` of a value its end), by a walk down over the mappings: what
/// [`Gaps::highest`] answers from its index.
fn walk_highest<V>(
    map: &BTreeMap<usize, V>,
    end: impl Fn(&V) -> usize,
    (lo, hi): (usize, usize),
    (top, floor, len): (usize, usize, usize),
) -> Option<usize> {
    let fits = |s: usize, e: usize| {
        let (s, e) = (s.max(floor), e.min(top));
        (e >= s && e - s >= len).then(|| e - len)
    };
    let mut gap_end = hi;
    for (&s, v) in map.range(..top).rev() {
        let gap_start = end(v).max(lo);
        if gap_start < gap_end
            && let Some(at) = fits(gap_start, gap_end)
        {
            return Some(at);
        }
        gap_end = gap_end.min(s.max(lo));
        if gap_end <= floor {
            return None;
        }
    }
    if lo < gap_end { fits(lo, gap_end) } else { None }
}

/// The lowest `len` bytes of free space at or above `bottom` and ending at
/// or below `ceiling` in `[lo, hi)` outside the mappings of `map`, by a walk
/// up over the mappings: what [`Gaps::lowest`] answers from its index.
fn walk_lowest<V>(
    map: &BTreeMap<usize, V>,
    end: impl Fn(&V) -> usize,
    (lo, hi): (usize, usize),
    (bottom, ceiling, len): (usize, usize, usize),
) -> Option<usize> {
    let fits = |s: usize, e: usize| {
        let (s, e) = (s.max(bottom), e.min(ceiling));
        (e >= s && e - s >= len).then_some(s)
    };
    let mut gap_start = lo;
    if let Some((_, v)) = map.range(..bottom).next_back() {
        gap_start = gap_start.max(end(v));
    }
    for (&s, v) in map.range(bottom..) {
        let gap_end = s.min(hi);
        if gap_start < gap_end
            && let Some(at) = fits(gap_start, gap_end)
        {
            return Some(at);
        }
        gap_start = gap_start.max(end(v));
        if gap_start >= ceiling {
            return None;
        }
    }
    if gap_start < hi { fits(gap_start, hi) } else { None }
}

/// The mappings by start address, with their free-space index once there
/// are [`INDEX_AT`] of them.
#[derive(Clone)]
pub(crate) struct Maps {
    map: BTreeMap<usize, Mapping>,
    /// The space the mappings may take, `[lo, hi)`.
    lo: usize,
    hi: usize,
    /// The free-space index: `None` for a small address space; boxed, so
    /// that an address space (and every copy of one on a kernel stack,
    /// as fork makes) stays small: the index is ~1.5 KB.
    gaps: Option<Box<Gaps>>,
    /// Bumped by every change (a fork in steps starts again when the
    /// mappings changed between two steps).
    generation: u64,
    /// The pages of all mappings (Linux's `mm->total_vm`) and of the data
    /// ones among them (`data_vm`: [`Mapping::is_data`]), kept at every
    /// insertion, removal and change so the RLIMIT_AS/RLIMIT_DATA check
    /// needs no walk.
    counts: VmCounts,
}

/// `total_vm` and `data_vm` in pages.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct VmCounts {
    pub(crate) total: u64,
    pub(crate) data: u64,
}

impl VmCounts {
    fn add(&mut self, start: usize, m: &Mapping) {
        let pages = ((m.end - start) >> 12) as u64;
        self.total += pages;
        if m.is_data() {
            self.data += pages;
        }
    }

    fn sub(&mut self, start: usize, end: usize, data: bool) {
        let pages = ((end - start) >> 12) as u64;
        self.total -= pages;
        if data {
            self.data -= pages;
        }
    }
}

impl Maps {
    /// No mappings; `[lo, hi)` is the space they may take.
    pub(crate) fn new(lo: usize, hi: usize) -> Self {
        Maps { map: BTreeMap::new(), lo, hi, gaps: None, generation: 0, counts: VmCounts::default() }
    }

    /// A number that changes with every change of the mappings.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Makes the generation follow on from `prev`'s (a replaced list).
    pub(crate) fn follow(&mut self, prev: u64) {
        self.generation = prev.wrapping_add(1);
    }

    /// Whether the free-space index is kept (a count of [`INDEX_AT`] or
    /// more since it was last under [`INDEX_DROP`]).
    #[cfg(test)]
    pub(crate) fn indexed(&self) -> bool {
        self.gaps.is_some()
    }

    /// The highest `len` bytes of free space below `top` and at or above
    /// `floor` (top-down placement): the start, or `None`.
    pub(crate) fn highest(&self, top: usize, floor: usize, len: usize) -> Option<usize> {
        match &self.gaps {
            Some(g) => g.highest(top, floor, len),
            None => walk_highest(&self.map, |m| m.end, (self.lo, self.hi), (top, floor, len)),
        }
    }

    /// The lowest `len` bytes of free space at or above `bottom` and
    /// ending at or below `ceiling` (bottom-up placement).
    pub(crate) fn lowest(&self, bottom: usize, ceiling: usize, len: usize) -> Option<usize> {
        match &self.gaps {
            Some(g) => g.lowest(bottom, ceiling, len),
            None => walk_lowest(&self.map, |m| m.end, (self.lo, self.hi), (bottom, ceiling, len)),
        }
    }

    /// With an index: whether it holds exactly the space between the
    /// mappings (true without one).
    #[cfg(test)]
    pub(crate) fn index_is_exact(&self) -> bool {
        let Some(g) = &self.gaps else { return true };
        let mut want = alloc::vec::Vec::new();
        let mut at = self.lo;
        for (&s, m) in &self.map {
            if at < s.min(self.hi) {
                want.push((at, s.min(self.hi)));
            }
            at = at.max(m.end);
        }
        if at < self.hi {
            want.push((at, self.hi));
        }
        g.intervals() == want
    }

    /// Builds the index when the count reached [`INDEX_AT`], drops it under
    /// [`INDEX_DROP`].
    fn fit_index(&mut self) {
        let n = self.map.len();
        if self.gaps.is_none() && n >= INDEX_AT {
            let mut g = Gaps::new(self.lo, self.hi);
            for (&s, m) in &self.map {
                g.occupy(s, m.end);
            }
            self.gaps = Some(Box::new(g));
        } else if n < INDEX_DROP {
            self.gaps = None;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// `total_vm` and `data_vm`, kept up to date (O(1)).
    pub(crate) fn counts(&self) -> VmCounts {
        self.counts
    }

    /// The same two counts by a walk over the mappings (tests compare).
    #[cfg(test)]
    pub(crate) fn counts_by_walk(&self) -> VmCounts {
        let mut c = VmCounts::default();
        for (&s, m) in &self.map {
            c.add(s, m);
        }
        c
    }

    pub(crate) fn get(&self, start: &usize) -> Option<&Mapping> {
        self.map.get(start)
    }

    /// The mapping at `start`, changeable; a change of its end updates
    /// the index when the guard goes.
    pub(crate) fn get_mut(&mut self, start: &usize) -> Option<MapMut<'_>> {
        self.generation = self.generation.wrapping_add(1);
        let m = self.map.get_mut(start)?;
        let (end, data) = (m.end, m.is_data());
        Some(MapMut { m, start: *start, end, data, gaps: self.gaps.as_deref_mut(), counts: &mut self.counts })
    }

    pub(crate) fn insert(&mut self, start: usize, m: Mapping) -> Option<Mapping> {
        self.generation = self.generation.wrapping_add(1);
        let end = m.end;
        self.counts.add(start, &m);
        let old = self.map.insert(start, m);
        if let Some(o) = &old {
            self.counts.sub(start, o.end, o.is_data());
        }
        if let Some(g) = &mut self.gaps {
            if let Some(o) = &old {
                g.release(start, o.end);
            }
            g.occupy(start, end);
        } else if self.map.len() >= INDEX_AT {
            self.fit_index();
        }
        old
    }

    pub(crate) fn remove(&mut self, start: &usize) -> Option<Mapping> {
        self.generation = self.generation.wrapping_add(1);
        let m = self.map.remove(start)?;
        self.counts.sub(*start, m.end, m.is_data());
        if let Some(g) = &mut self.gaps {
            g.release(*start, m.end);
            if self.map.len() < INDEX_DROP {
                self.fit_index();
            }
        }
        Some(m)
    }

    pub(crate) fn range<R: RangeBounds<usize>>(&self, r: R) -> btree_map::Range<'_, usize, Mapping> {
        self.map.range(r)
    }

    pub(crate) fn iter(&self) -> btree_map::Iter<'_, usize, Mapping> {
        self.map.iter()
    }

    pub(crate) fn values(&self) -> btree_map::Values<'_, usize, Mapping> {
        self.map.values()
    }
}

impl<'a> IntoIterator for &'a Maps {
    type Item = (&'a usize, &'a Mapping);
    type IntoIter = btree_map::Iter<'a, usize, Mapping>;
    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

/// A mapping being changed: when it goes, a moved end frees or takes the
/// space between the old end and the new, and the page counts follow its
/// new end and kind.
pub(crate) struct MapMut<'a> {
    m: &'a mut Mapping,
    start: usize,
    end: usize,
    data: bool,
    gaps: Option<&'a mut Gaps>,
    counts: &'a mut VmCounts,
}

impl Deref for MapMut<'_> {
    type Target = Mapping;
    fn deref(&self) -> &Mapping {
        self.m
    }
}

impl DerefMut for MapMut<'_> {
    fn deref_mut(&mut self) -> &mut Mapping {
        self.m
    }
}

impl Drop for MapMut<'_> {
    fn drop(&mut self) {
        let end = self.m.end;
        if end != self.end || self.m.is_data() != self.data {
            self.counts.sub(self.start, self.end, self.data);
            self.counts.add(self.start, self.m);
        }
        let Some(gaps) = &mut self.gaps else { return };
        if end < self.end {
            gaps.release(end, self.end);
        } else if end > self.end {
            gaps.occupy(self.end, end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Gaps;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    const P: usize = 4096;
    const LO: usize = 16 * P;
    const HI: usize = 256 * P;

    /// The free intervals of `[LO, HI)` given the used pages.
    fn model_free(used: &[bool]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, &u) in used.iter().enumerate() {
            let a = LO + i * P;
            match (u, start) {
                (false, None) => start = Some(a),
                (true, Some(s)) => {
                    out.push((s, a));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            out.push((s, HI));
        }
        out
    }

    /// The linear walk `get_unmapped_area` made before the index.
    fn model_highest(free: &[(usize, usize)], top: usize, floor: usize, len: usize) -> Option<usize> {
        free.iter().rev().find_map(|&(s, e)| {
            let (s, e) = (s.max(floor), e.min(top));
            (e >= s && e - s >= len).then(|| e - len)
        })
    }

    fn model_lowest(free: &[(usize, usize)], bottom: usize, ceiling: usize, len: usize) -> Option<usize> {
        free.iter().find_map(|&(s, e)| {
            let (s, e) = (s.max(bottom), e.min(ceiling));
            (e >= s && e - s >= len).then_some(s)
        })
    }

    #[test]
    fn occupy_and_release_split_and_merge() {
        let mut g = Gaps::new(LO, HI);
        g.occupy(LO + P, LO + 3 * P);
        assert_eq!(g.intervals(), [(LO, LO + P), (LO + 3 * P, HI)]);
        g.occupy(LO + 5 * P, LO + 6 * P);
        g.release(LO + P, LO + 2 * P);
        assert_eq!(g.intervals(), [(LO, LO + 2 * P), (LO + 3 * P, LO + 5 * P), (LO + 6 * P, HI)]);
        g.release(LO + 2 * P, LO + 6 * P);
        assert_eq!(g.intervals(), [(LO, HI)]);
        g.release(0, usize::MAX);
        assert_eq!(g.intervals(), [(LO, HI)], "clipped to the space");
        g.occupy(0, usize::MAX);
        assert!(g.intervals().is_empty());
        assert_eq!(g.highest(HI, LO, P), None);
        assert_eq!(g.lowest(LO, HI, P), None);
    }

    #[test]
    fn searches_skip_short_gaps_of_their_own_class() {
        let mut g = Gaps::new(LO, HI);
        // gaps of 2 pages everywhere below 128, one of 3 pages low down
        g.occupy(LO, HI);
        g.release(LO + 20 * P, LO + 23 * P);
        for i in 0..30 {
            let a = LO + (30 + 3 * i) * P;
            g.release(a, a + 2 * P);
        }
        assert_eq!(g.highest(HI, LO, 3 * P), Some(LO + 20 * P));
        assert_eq!(g.lowest(LO, HI, 3 * P), Some(LO + 20 * P));
        assert_eq!(g.highest(HI, LO, 2 * P), Some(LO + (30 + 3 * 29) * P));
        assert_eq!(g.lowest(LO + 21 * P, HI, 2 * P), Some(LO + 21 * P), "the straddler, clipped");
        assert_eq!(g.highest(LO + 22 * P, LO, 2 * P), Some(LO + 20 * P), "clipped at the top");
        assert_eq!(g.highest(LO + 22 * P, LO + 21 * P, 2 * P), None, "and at the floor");
    }

    /// The mappings (start -> end) of the used pages: each run split at
    /// every page whose index is a multiple of 3 (adjacent mappings).
    fn model_maps(used: &[bool]) -> alloc::collections::BTreeMap<usize, usize> {
        let mut out = alloc::collections::BTreeMap::new();
        let mut start: Option<usize> = None;
        for (i, &u) in used.iter().chain(core::iter::once(&false)).enumerate() {
            let a = LO + i * P;
            if let Some(s) = start
                && (!u || i % 3 == 0)
            {
                out.insert(s, a);
                start = None;
            }
            if u && start.is_none() {
                start = Some(a);
            }
        }
        out
    }

    #[test]
    fn walks_over_no_mappings_and_a_full_space() {
        let none = alloc::collections::BTreeMap::<usize, usize>::new();
        let end = |e: &usize| *e;
        assert_eq!(super::walk_highest(&none, end, (LO, HI), (HI, LO, P)), Some(HI - P));
        assert_eq!(super::walk_highest(&none, end, (LO, HI), (HI, LO, HI - LO + P)), None);
        assert_eq!(super::walk_lowest(&none, end, (LO, HI), (LO, HI, P)), Some(LO));
        let mut full = alloc::collections::BTreeMap::new();
        full.insert(LO, HI);
        assert_eq!(super::walk_highest(&full, end, (LO, HI), (HI, LO, P)), None);
        assert_eq!(super::walk_lowest(&full, end, (LO, HI), (LO, HI, P)), None);
    }

    /// An index and its model (a flag per page) after occupying (`true`)
    /// or releasing `n` pages at page `at` for each op.
    fn apply(ops: &[(bool, usize, usize)]) -> (Gaps, alloc::vec::Vec<bool>) {
        let mut g = Gaps::new(LO, HI);
        let mut used = alloc::vec![false; (HI - LO) / P];
        for &(take, at, n) in ops {
            let end = (at + n).min(used.len());
            for u in &mut used[at..end] {
                *u = take;
            }
            if take { g.occupy(LO + at * P, LO + end * P) } else { g.release(LO + at * P, LO + end * P) }
        }
        (g, used)
    }

    proptest! {
        /// The walks over the mappings that a small address space uses
        /// give the index's (and the linear model's) answers.
        #[test]
        fn walks_match_the_index(
            ops in proptest::collection::vec((any::<bool>(), 0usize..240, 1usize..40), 0..60),
            queries in proptest::collection::vec((0usize..241, 0usize..241, 1usize..60), 1..20),
        ) {
            let (g, used) = apply(&ops);
            let maps = model_maps(&used);
            let end = |e: &usize| *e;
            for (a, b, len) in queries {
                let (a, b, len) = (LO + a * P, LO + b * P, len * P);
                prop_assert_eq!(super::walk_highest(&maps, end, (LO, HI), (b, a, len)), g.highest(b, a, len));
                prop_assert_eq!(super::walk_lowest(&maps, end, (LO, HI), (a, b, len)), g.lowest(a, b, len));
            }
        }

        /// After any sequence of occupy/release of page ranges, the index
        /// holds exactly the model's free intervals, and both searches give
        /// the linear walk's answer for any bounds and length.
        #[test]
        fn index_matches_the_linear_walk(
            ops in proptest::collection::vec((any::<bool>(), 0usize..240, 1usize..40), 0..60),
            queries in proptest::collection::vec((0usize..241, 0usize..241, 1usize..60), 1..20),
        ) {
            let (g, used) = apply(&ops);
            let free = model_free(&used);
            prop_assert_eq!(g.intervals(), free.clone());
            for (a, b, len) in queries {
                let (a, b, len) = (LO + a * P, LO + b * P, len * P);
                prop_assert_eq!(g.highest(b, a, len), model_highest(&free, b, a, len));
                prop_assert_eq!(g.lowest(a, b, len), model_lowest(&free, a, b, len));
            }
        }
    }
}
