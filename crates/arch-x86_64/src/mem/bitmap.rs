//! A bitmap of physical frames: one bit per 4 KiB frame, set = in use.
//!
//! Pure bookkeeping over a word slice, so it needs no heap (the kernel heap
//! grows from it) and is tested on the host. Single frames come from a
//! rotating hint (O(1) amortised); contiguous runs (heap growth) from a
//! next-fit search that starts where the last run ended, so the holes
//! that freed frames leave below it are not crossed again by every
//! search (they were: a search from the lowest free frame crossed every
//! frame the live processes held, ~8 instructions per process per fork).

/// Frame allocation bookkeeping over `words` (frame `i` is bit `i % 64` of
/// word `i / 64`).
///
/// ```
/// use arch_x86_64::mem::bitmap::FrameBitmap;
/// let mut words = [0u64; 2];
/// let mut b = FrameBitmap::new(&mut words, 100);
/// b.free_range(10, 20);
/// assert_eq!(b.free_frames(), 10);
/// let f = b.alloc().unwrap();
/// assert!((10..20).contains(&f));
/// b.free(f).unwrap();
/// assert_eq!(b.free_frames(), 10);
/// assert!(b.free(f).is_err()); // double free is refused
/// ```
pub struct FrameBitmap<'a> {
    words: &'a mut [u64],
    frames: usize,
    free: usize,
    hint: usize,
    /// Every frame below it is in use (where a wrapped contiguous search
    /// starts).
    low: usize,
    /// Where the next contiguous search starts: one past the last run
    /// handed out (next fit); the search wraps to `low` when nothing fits
    /// above it.
    next: usize,
    /// Words whose frames a contiguous search looked at (host tests).
    #[cfg(test)]
    probes: usize,
}

/// Freeing a frame that is not allocated (or out of range).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadFree(pub usize);

impl<'a> FrameBitmap<'a> {
    /// A bitmap of `frames` frames, all in use until freed with
    /// [`FrameBitmap::free_range`]. `words` must hold `frames` bits.
    pub fn new(words: &'a mut [u64], frames: usize) -> Self {
        let frames = frames.min(words.len() * 64);
        words.fill(!0);
        FrameBitmap {
            words,
            frames,
            free: 0,
            hint: 0,
            low: 0,
            next: 0,
            #[cfg(test)]
            probes: 0,
        }
    }

    /// Words needed for `frames` frames.
    pub const fn words_for(frames: usize) -> usize {
        frames.div_ceil(64)
    }

    fn is_used(&self, f: usize) -> bool {
        self.words[f / 64] & (1 << (f % 64)) != 0
    }

    fn set(&mut self, f: usize, used: bool) {
        if used {
            self.words[f / 64] |= 1 << (f % 64);
        } else {
            self.words[f / 64] &= !(1 << (f % 64));
        }
    }

    /// Marks frames `start..end` free (those already free stay free).
    pub fn free_range(&mut self, start: usize, end: usize) {
        for f in start..end.min(self.frames) {
            if self.is_used(f) {
                self.set(f, false);
                self.free += 1;
            }
        }
        self.low = self.low.min(start);
    }

    /// Marks frames `start..end` in use (reserved).
    pub fn reserve_range(&mut self, start: usize, end: usize) {
        for f in start..end.min(self.frames) {
            if !self.is_used(f) {
                self.set(f, true);
                self.free -= 1;
            }
        }
    }

    /// Allocates one frame: its number.
    pub fn alloc(&mut self) -> Option<usize> {
        if self.free == 0 {
            return None;
        }
        let n = self.words.len();
        for i in 0..n {
            let w = (self.hint + i) % n;
            let word = self.words[w];
            if word != !0 {
                let f = w * 64 + (!word).trailing_zeros() as usize;
                if f >= self.frames {
                    continue;
                }
                self.set(f, true);
                self.free -= 1;
                self.hint = w;
                return Some(f);
            }
        }
        None
    }

    /// Allocates `count` contiguous frames whose first frame number is a
    /// multiple of `align` (a power of two): the first frame's number.
    ///
    /// Next fit: the search starts one past the last run handed out and,
    /// when nothing fits above, wraps to the lowest frame that may be free;
    /// it skips whole words in use. So it fails only when no run exists,
    /// and the frames below the last run (the holes single frees leave
    /// among the frames of live processes) are crossed once per wrap, not
    /// by every search.
    pub fn alloc_contiguous(&mut self, count: usize, align: usize) -> Option<usize> {
        if count == 0 || count > self.free || !align.is_power_of_two() {
            return None;
        }
        // move the low mark to the first frame not in use
        let mut f = self.low;
        while f < self.frames && self.is_used(f) {
            f = if f.is_multiple_of(64) && self.words[f / 64] == !0 { f + 64 } else { f + 1 };
        }
        self.low = f.min(self.frames);
        let from = self.next.clamp(self.low, self.frames);
        let start = match self.find_run(from, self.frames, count, align) {
            Some(s) => s,
            None => self.find_run(self.low, from, count, align)?,
        };
        for f in start..start + count {
            self.set(f, true);
        }
        self.free -= count;
        if start == self.low {
            self.low = start + count;
        }
        self.next = start + count;
        Some(start)
    }

    /// The first run of `count` free frames that starts at a multiple of
    /// `align` in `lo..hi` (it may end past `hi`).
    fn find_run(&mut self, lo: usize, hi: usize, count: usize, align: usize) -> Option<usize> {
        let mut start = lo.next_multiple_of(align);
        while start < hi && start + count <= self.frames {
            #[cfg(test)]
            {
                self.probes += 1;
            }
            if self.words[start / 64] == !0 {
                start = ((start / 64 + 1) * 64).next_multiple_of(align);
                continue;
            }
            match (start..start + count).rev().find(|&f| self.is_used(f)) {
                Some(used) => start = (used + 1).next_multiple_of(align),
                None => return Some(start),
            }
        }
        None
    }

    /// Frees one frame.
    pub fn free(&mut self, f: usize) -> Result<(), BadFree> {
        if f >= self.frames || !self.is_used(f) {
            return Err(BadFree(f));
        }
        self.set(f, false);
        self.free += 1;
        self.low = self.low.min(f);
        Ok(())
    }

    /// Free frames now.
    pub fn free_frames(&self) -> usize {
        self.free
    }

    /// Frames the bitmap covers.
    pub fn frames(&self) -> usize {
        self.frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn allocates_every_free_frame_once_then_fails() {
        let mut words = vec![0u64; FrameBitmap::words_for(200)];
        let mut b = FrameBitmap::new(&mut words, 200);
        b.free_range(0, 200);
        b.reserve_range(0, 8);
        let mut seen = [false; 200];
        for _ in 0..192 {
            let f = b.alloc().unwrap();
            assert!((8..200).contains(&f) && !seen[f]);
            seen[f] = true;
        }
        assert_eq!(b.alloc(), None);
        assert_eq!(b.free_frames(), 0);
        assert_eq!(b.free(200), Err(BadFree(200)), "out of range");
        assert_eq!(b.free(100), Ok(()));
        assert_eq!(b.free(100), Err(BadFree(100)), "double free");
        assert_eq!(b.alloc(), Some(100), "the only free frame");
    }

    #[test]
    fn contiguous_runs_respect_holes_and_alignment() {
        let mut words = vec![0u64; 4];
        let mut b = FrameBitmap::new(&mut words, 256);
        b.free_range(0, 256);
        b.reserve_range(5, 6);
        assert_eq!(b.alloc_contiguous(8, 8), Some(8), "0..8 holds frame 5");
        assert_eq!(b.alloc_contiguous(4, 1), Some(16), "next fit: after the last run");
        assert_eq!(b.alloc_contiguous(300, 1), None);
        assert_eq!(b.free_frames(), 256 - 1 - 12);
        for f in 8..16 {
            b.free(f).unwrap();
        }
        assert_eq!(b.alloc_contiguous(16, 16), Some(32), "16..32 holds 16..20");
        assert_eq!(b.alloc_contiguous(200, 1), Some(48));
        assert_eq!(b.alloc_contiguous(8, 8), Some(248), "the last run above");
        assert_eq!(b.alloc_contiguous(8, 8), Some(8), "wrapped: the freed run below");
        assert_eq!(b.alloc_contiguous(12, 4), Some(20), "after the last run: 20..32");
        assert_eq!(b.free_frames(), 7, "0..5, 6 and 7");
        assert_eq!(b.alloc_contiguous(4, 4), Some(0), "nothing above: wrapped");
        assert_eq!(b.alloc_contiguous(2, 1), Some(6), "6..8, after 5");
        assert_eq!(b.alloc_contiguous(2, 1), None, "frame 4 is the only one left");
        assert_eq!(b.alloc_contiguous(1, 1), Some(4));
        assert_eq!(b.free_frames(), 0);
        assert_eq!(b.alloc_contiguous(1, 1), None);
    }

    /// Allocations of two frames while the lower half of memory holds a
    /// free frame in every word (what single frees leave among the frames
    /// of live processes): the search crosses those words once, not once
    /// per allocation as a search from the lowest free frame did.
    #[test]
    fn contiguous_searches_do_not_cross_the_holes_below_again() {
        let words_n = 2000;
        let mut words = vec![0u64; words_n];
        let mut b = FrameBitmap::new(&mut words, words_n * 64);
        b.free_range(0, words_n * 64);
        b.reserve_range(0, words_n * 32);
        for w in 0..words_n / 2 {
            b.free(w * 64 + 31).unwrap();
        }
        for i in 0..1000 {
            assert_eq!(b.alloc_contiguous(2, 1), Some(words_n * 32 + 2 * i));
        }
        // ~32 looks per word with a hole, crossed once: 32,000; again per
        // allocation it would be 32 million
        assert!(b.probes < 40_000, "{} words looked at", b.probes);
    }

    /// The search never misses a free run (it fails only when none
    /// exists) and hands out free, aligned frames: checked against a model
    /// over many mixed allocations and frees.
    #[test]
    fn contiguous_search_finds_a_run_whenever_one_exists() {
        let n = 1000;
        let mut words = vec![0u64; FrameBitmap::words_for(n)];
        let mut b = FrameBitmap::new(&mut words, n);
        b.free_range(0, n);
        let mut model = vec![false; n];
        let mut live: std::vec::Vec<(usize, usize)> = std::vec::Vec::new();
        let mut seed = 12345u64;
        let mut rnd = |m: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize % m
        };
        for _ in 0..5000 {
            if rnd(3) != 0 || live.is_empty() {
                let count = 1 + rnd(40);
                let align = 1 << rnd(4);
                let want =
                    (0..n).step_by(align).find(|&s| s + count <= n && model[s..s + count].iter().all(|u| !u));
                if count == 1 && rnd(4) == 0 {
                    // a single frame from the hinted search: any free one
                    let got = b.alloc();
                    assert_eq!(got.is_some(), model.iter().any(|u| !u));
                    if let Some(g) = got {
                        assert!(!model[g]);
                        model[g] = true;
                        live.push((g, 1));
                    }
                    continue;
                }
                let got = b.alloc_contiguous(count, align);
                assert_eq!(got.is_some(), want.is_some(), "count {count} align {align}");
                if let Some(g) = got {
                    assert!(g % align == 0 && g + count <= n && model[g..g + count].iter().all(|u| !u));
                    model[g..g + count].iter_mut().for_each(|u| *u = true);
                    live.push((g, count));
                }
            } else {
                let (g, count) = live.swap_remove(rnd(live.len()));
                for (f, used) in model.iter_mut().enumerate().skip(g).take(count) {
                    b.free(f).unwrap();
                    *used = false;
                }
            }
            assert_eq!(b.free_frames(), model.iter().filter(|u| !**u).count());
        }
    }
}
