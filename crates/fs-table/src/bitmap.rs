//! A tree of 64-bit words that finds the lowest clear bit at or above a
//! given index in O(log64 n) word reads.
//!
//! Level 0 holds one bit per descriptor slot (set = in use). Each level above
//! holds one bit per word of the level below, set exactly when that word is
//! full (all 64 bits set). The top level is a single word. A search climbs
//! while words are full, then descends along clear bits.

use alloc::vec::Vec;
use linux_abi::{Errno, Result};

/// Bits per word.
const BITS: usize = 64;

/// A hierarchical bitmap of slots in use (see the module docs).
#[derive(Clone, Debug, Default)]
pub(crate) struct FdBitmap {
    /// `levels[0]` is the leaf level; `levels[k + 1]` has one bit per word of
    /// `levels[k]`; the last level has one word. Empty when the capacity is 0.
    levels: Vec<Vec<u64>>,
}

impl FdBitmap {
    /// An empty bitmap of capacity 0.
    pub(crate) const fn new() -> Self {
        Self { levels: Vec::new() }
    }

    /// The number of bits (a multiple of 64).
    pub(crate) fn capacity(&self) -> usize {
        self.levels.first().map_or(0, |leaf| leaf.len() * BITS)
    }

    /// Whether bit `i` is set (false beyond the capacity).
    pub(crate) fn contains(&self, i: usize) -> bool {
        self.levels.first().and_then(|leaf| leaf.get(i / BITS)).is_some_and(|w| w & (1 << (i % BITS)) != 0)
    }

    /// Grows to at least `bits` bits; the new bits are clear. On `ENOMEM`
    /// the bitmap is unchanged.
    pub(crate) fn grow(&mut self, bits: usize) -> Result<()> {
        let words = bits.div_ceil(BITS);
        let old_leaf: &[u64] = self.levels.first().map_or(&[], Vec::as_slice);
        if words <= old_leaf.len() {
            return Ok(());
        }
        // Build the new tree aside, so that a failed allocation changes nothing.
        let mut levels: Vec<Vec<u64>> = Vec::new();
        let mut n = words;
        loop {
            let mut level = Vec::new();
            level.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
            level.resize(n, 0);
            levels.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            levels.push(level);
            if n == 1 {
                break;
            }
            n = n.div_ceil(BITS);
        }
        if let Some(leaf) = levels.first_mut() {
            leaf[..old_leaf.len()].copy_from_slice(old_leaf);
        }
        for k in 1..levels.len() {
            let (lower, upper) = levels.split_at_mut(k);
            if let (Some(below), Some(above)) = (lower.last(), upper.first_mut()) {
                for (j, _) in below.iter().enumerate().filter(|(_, w)| **w == u64::MAX) {
                    above[j / BITS] |= 1 << (j % BITS);
                }
            }
        }
        self.levels = levels;
        Ok(())
    }

    /// Sets bit `i` (nothing beyond the capacity).
    pub(crate) fn insert(&mut self, mut i: usize) {
        for level in &mut self.levels {
            let Some(w) = level.get_mut(i / BITS) else {
                return;
            };
            *w |= 1 << (i % BITS);
            if *w != u64::MAX {
                return;
            }
            i /= BITS;
        }
    }

    /// Clears bit `i` (nothing beyond the capacity).
    pub(crate) fn remove(&mut self, mut i: usize) {
        for level in &mut self.levels {
            let Some(w) = level.get_mut(i / BITS) else {
                return;
            };
            let was_full = *w == u64::MAX;
            *w &= !(1 << (i % BITS));
            if !was_full {
                return;
            }
            i /= BITS;
        }
    }

    /// The set bits at or above `from` and below `end`, in increasing
    /// order: a walk of the leaf words, one word read per 64 slots and one
    /// step per set bit (a fork's copy and the table's iteration cost the
    /// open descriptors, not the capacity).
    pub(crate) fn ones(&self, from: usize, end: usize) -> Ones<'_> {
        let leaf: &[u64] = self.levels.first().map_or(&[], Vec::as_slice);
        let end = end.min(leaf.len() * BITS);
        if from >= end {
            // empty: the walk's next word is past the end
            return Ones { leaf, word: leaf.len(), bits: 0, end };
        }
        let word = from / BITS;
        let bits = leaf.get(word).map_or(0, |w| w & (u64::MAX << (from % BITS)));
        Ones { leaf, word, bits, end }
    }

    /// The highest set bit, if any: a backward scan of the leaf words.
    pub(crate) fn last_set(&self) -> Option<usize> {
        let leaf = self.levels.first()?;
        let i = leaf.iter().rposition(|&w| w != 0)?;
        Some(i * BITS + (BITS - 1 - leaf[i].leading_zeros() as usize))
    }

    /// The lowest clear bit at or above `from`; `max(from, capacity)` when
    /// every bit from `from` to the capacity is set.
    pub(crate) fn first_clear_from(&self, from: usize) -> usize {
        let cap = self.capacity();
        if from >= cap {
            return from;
        }
        let mut level = 0;
        let mut i = from;
        // Climb: find, at some level, a clear bit at or after position `i`.
        loop {
            let Some(&w) = self.levels.get(level).and_then(|l| l.get(i / BITS)) else {
                return cap;
            };
            let clear = !w & (u64::MAX << (i % BITS));
            if clear != 0 {
                let mut pos = (i / BITS) * BITS + clear.trailing_zeros() as usize;
                // Descend: a clear bit above means a word below that is not full.
                while level > 0 {
                    level -= 1;
                    let Some(&w) = self.levels.get(level).and_then(|l| l.get(pos)) else {
                        // A padding bit past the last word: all real words are full.
                        return cap;
                    };
                    pos = pos * BITS + (!w).trailing_zeros() as usize;
                }
                return pos;
            }
            // Everything from `i` to the end of this word is set: continue with
            // the next word, one level up.
            i = i / BITS + 1;
            level += 1;
        }
    }
}

/// The set bits of a range of an [`FdBitmap`] ([`FdBitmap::ones`]).
pub(crate) struct Ones<'a> {
    leaf: &'a [u64],
    /// The leaf word `bits` came from.
    word: usize,
    /// What is left of that word (bits below the range's start cleared).
    bits: u64,
    /// The range's end (at most the capacity).
    end: usize,
}

impl Iterator for Ones<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            if self.bits != 0 {
                let i = self.word * BITS + self.bits.trailing_zeros() as usize;
                if i >= self.end {
                    return None;
                }
                self.bits &= self.bits - 1;
                return Some(i);
            }
            self.word += 1;
            if self.word * BITS >= self.end {
                return None;
            }
            self.bits = *self.leaf.get(self.word)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use proptest::prelude::*;

    fn naive_first_clear(set: &BTreeSet<usize>, from: usize, cap: usize) -> usize {
        (from..cap).find(|i| !set.contains(i)).unwrap_or(cap.max(from))
    }

    #[test]
    fn ones_walks_the_set_bits_of_a_range() {
        let b = FdBitmap::new();
        assert_eq!(b.ones(0, usize::MAX).count(), 0);
        let mut b = FdBitmap::new();
        b.grow(64 * 3).unwrap();
        for i in [0, 1, 63, 64, 130, 191] {
            b.insert(i);
        }
        assert_eq!(b.ones(0, usize::MAX).collect::<Vec<_>>(), [0, 1, 63, 64, 130, 191]);
        assert_eq!(b.ones(1, 130).collect::<Vec<_>>(), [1, 63, 64]);
        assert_eq!(b.ones(64, 65).collect::<Vec<_>>(), [64]);
        assert_eq!(b.ones(65, 64).count(), 0);
        assert_eq!(b.ones(192, usize::MAX).count(), 0);
        assert_eq!(b.ones(usize::MAX, usize::MAX).count(), 0);
    }

    #[test]
    fn empty_bitmap_reports_from() {
        let b = FdBitmap::new();
        assert_eq!(b.capacity(), 0);
        assert_eq!(b.first_clear_from(0), 0);
        assert_eq!(b.first_clear_from(77), 77);
        assert!(!b.contains(0));
    }

    #[test]
    fn full_levels_are_skipped() {
        let mut b = FdBitmap::new();
        b.grow(64 * 64 * 3).unwrap();
        assert_eq!(b.capacity(), 64 * 64 * 3);
        for i in 0..64 * 64 * 2 + 5 {
            b.insert(i);
        }
        assert_eq!(b.first_clear_from(0), 64 * 64 * 2 + 5);
        b.remove(4095);
        assert_eq!(b.first_clear_from(0), 4095);
        assert_eq!(b.first_clear_from(4096), 64 * 64 * 2 + 5);
        b.insert(4095);
        for i in 0..b.capacity() {
            b.insert(i);
        }
        assert_eq!(b.first_clear_from(0), b.capacity());
        assert_eq!(b.first_clear_from(100), b.capacity());
    }

    #[test]
    fn grow_keeps_bits_and_summaries() {
        let mut b = FdBitmap::new();
        b.grow(64).unwrap();
        for i in 0..64 {
            b.insert(i);
        }
        assert_eq!(b.first_clear_from(0), 64);
        b.grow(64 * 64 * 64 + 1).unwrap();
        assert_eq!(b.capacity(), 64 * 64 * 64 + 64);
        assert!(b.contains(63));
        assert!(!b.contains(64));
        assert_eq!(b.first_clear_from(0), 64);
        // Growing to a smaller size changes nothing.
        b.grow(10).unwrap();
        assert_eq!(b.capacity(), 64 * 64 * 64 + 64);
    }

    proptest! {
        #[test]
        fn matches_a_set(
            cap_words in 1usize..200,
            ops in proptest::collection::vec((0u8..3, 0usize..13_000), 1..300),
        ) {
            let mut b = FdBitmap::new();
            b.grow(cap_words * 64).unwrap();
            let cap = b.capacity();
            let mut set = BTreeSet::new();
            for (op, i) in ops {
                let i = i % (cap + 10);
                match op {
                    0 => {
                        // Fill a run, to make whole words (and levels) full.
                        for j in i..(i + 300).min(cap) {
                            b.insert(j);
                            set.insert(j);
                        }
                    }
                    1 => {
                        b.remove(i);
                        set.remove(&i);
                    }
                    _ => {}
                }
                prop_assert_eq!(b.first_clear_from(i), naive_first_clear(&set, i, cap));
                prop_assert_eq!(b.first_clear_from(0), naive_first_clear(&set, 0, cap));
                prop_assert_eq!(b.contains(i), set.contains(&i));
                let end = (i * 7 + 13) % (cap + 70);
                let want: Vec<usize> = set.iter().copied().filter(|&j| j >= i && j < end).collect();
                prop_assert_eq!(b.ones(i, end).collect::<Vec<_>>(), want);
                prop_assert_eq!(b.ones(0, usize::MAX).collect::<Vec<_>>(), set.iter().copied().collect::<Vec<_>>());
            }
        }
    }
}
