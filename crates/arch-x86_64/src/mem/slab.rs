//! The kernel's small-object allocator: size classes carved out of single
//! 4 KiB pages that go back to their page source as soon as they hold no
//! object (one empty page per class is kept, so an allocation that comes and
//! goes does not take and free a frame each time).
//!
//! Each page holds objects of one class after a 64-byte header at its start
//! (the partial-list links, the free list, the count in use). A page with
//! free slots is on its class's partial list; a full page is on no list, so
//! allocation is O(1) and a free finds its page by masking the address.
//! Requests bigger than the largest class, or aligned beyond 64 bytes, are
//! not for this allocator ([`class_for`] is `None`): the kernel heap gives
//! them whole frames.
//!
//! Generic over [`PageSource`], so it is tested on the host with pages from
//! the host's allocator:
//!
//! ```
//! use arch_x86_64::mem::slab::{class_for, Slab};
//! # use arch_x86_64::mem::slab::PageSource;
//! # struct HostPages;
//! # // SAFETY: pages come from the host allocator, 4 KiB-aligned, owned alone.
//! # unsafe impl PageSource for HostPages {
//! #     fn alloc_page(&mut self) -> Option<usize> {
//! #         let l = std::alloc::Layout::from_size_align(4096, 4096).unwrap();
//! #         Some(unsafe { std::alloc::alloc(l) } as usize)
//! #     }
//! #     fn free_page(&mut self, p: usize) {
//! #         let l = std::alloc::Layout::from_size_align(4096, 4096).unwrap();
//! #         unsafe { std::alloc::dealloc(p as *mut u8, l) }
//! #     }
//! # }
//! let mut s = Slab::new(HostPages);
//! let c = class_for(100, 8).unwrap();
//! let p = s.alloc(c).unwrap();
//! assert_eq!(s.pages(), 1);
//! // SAFETY: p came from this slab's class c.
//! unsafe { s.free(p, c) };
//! assert_eq!(s.used_bytes(), 0);
//! ```

use super::PAGE_SIZE;

/// Where the slab's pages come from.
///
/// # Safety
/// `alloc_page` must return the address of a 4 KiB-aligned, writable page
/// of 4 KiB that nothing else uses until it is passed to `free_page`.
pub unsafe trait PageSource {
    /// A fresh page's address, or `None` when there is none.
    fn alloc_page(&mut self) -> Option<usize>;
    /// Gives back a page from `alloc_page`.
    fn free_page(&mut self, addr: usize);
}

const PAGE: usize = PAGE_SIZE as usize;
/// The page header's size (objects start after it).
const HDR: usize = 64;

/// The object sizes, each a multiple of 16 and most dividing the 4032 bytes
/// after the header evenly.
pub const CLASSES: [usize; 15] = [16, 32, 48, 64, 96, 128, 192, 256, 336, 448, 576, 672, 1008, 1344, 2016];

/// Pages kept per class when they become empty.
const KEEP_EMPTY: u16 = 1;

/// The class (an index into [`CLASSES`]) for a request: the smallest class
/// that holds `size` and is a multiple of `align`; `None` beyond the largest
/// class or for an alignment above 64 (the header's size, which every class
/// offset is based on).
pub fn class_for(size: usize, align: usize) -> Option<usize> {
    if align > HDR || size > CLASSES[CLASSES.len() - 1] {
        return None;
    }
    // the smallest class that holds `size` by one look-up (every class is a
    // multiple of 16); a larger alignment walks on from there
    let first = BY_SIXTEENTHS[size.div_ceil(16)] as usize;
    if align <= 16 {
        return Some(first);
    }
    (first..CLASSES.len()).find(|&c| CLASSES[c].is_multiple_of(align))
}

/// The smallest class holding `16 * i` bytes, for each `i` up to the
/// largest class's sixteenths.
static BY_SIXTEENTHS: [u8; CLASSES[CLASSES.len() - 1] / 16 + 1] = {
    let mut t = [0u8; CLASSES[CLASSES.len() - 1] / 16 + 1];
    let (mut i, mut c) = (0, 0);
    while i < t.len() {
        while CLASSES[c] < i * 16 {
            c += 1;
        }
        t[i] = c as u8;
        i += 1;
    }
    t
};

/// The header at the start of each page.
#[repr(C)]
struct Header {
    /// Next and previous page on the class's partial list (0: none).
    next: usize,
    prev: usize,
    /// The first freed slot (each holds the next one's address), 0: none.
    free: usize,
    /// Slots never used yet start at index `bump`.
    bump: u16,
    /// Objects in use.
    inuse: u16,
    class: u8,
}

const _: () = assert!(core::mem::size_of::<Header>() <= HDR);

/// A small-object allocator over pages from `P`.
pub struct Slab<P: PageSource> {
    src: P,
    /// The head of each class's partial list (0: empty).
    partial: [usize; CLASSES.len()],
    /// Empty pages each class keeps.
    empty: [u16; CLASSES.len()],
    pages: usize,
    used: usize,
}

fn capacity(class: usize) -> u16 {
    ((PAGE - HDR) / CLASSES[class]) as u16
}

impl<P: PageSource> Slab<P> {
    /// An allocator holding no page yet.
    pub const fn new(src: P) -> Self {
        Slab { src, partial: [0; CLASSES.len()], empty: [0; CLASSES.len()], pages: 0, used: 0 }
    }

    /// Pages held now.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// Bytes of objects in use (whole class sizes).
    pub fn used_bytes(&self) -> usize {
        self.used
    }

    /// The page source.
    pub fn source(&mut self) -> &mut P {
        &mut self.src
    }

    fn hdr(page: usize) -> *mut Header {
        page as *mut Header
    }

    /// Takes `page` off its class's partial list.
    fn unlink(&mut self, class: usize, page: usize) {
        // SAFETY: `page` and its list neighbours are pages this slab holds
        // (their headers were written when they were taken).
        unsafe {
            let h = Self::hdr(page);
            let (next, prev) = ((*h).next, (*h).prev);
            if prev != 0 {
                (*Self::hdr(prev)).next = next;
            } else {
                self.partial[class] = next;
            }
            if next != 0 {
                (*Self::hdr(next)).prev = prev;
            }
            (*h).next = 0;
            (*h).prev = 0;
        }
    }

    /// Puts `page` at the head of its class's partial list.
    fn push(&mut self, class: usize, page: usize) {
        let head = self.partial[class];
        // SAFETY: as in `unlink`.
        unsafe {
            let h = Self::hdr(page);
            (*h).next = head;
            (*h).prev = 0;
            if head != 0 {
                (*Self::hdr(head)).prev = page;
            }
        }
        self.partial[class] = page;
    }

    /// One object of class `class` (from [`class_for`]): its address, aligned
    /// as the class promises, or `None` when no page can be had.
    pub fn alloc(&mut self, class: usize) -> Option<usize> {
        let size = CLASSES[class];
        let mut page = self.partial[class];
        if page == 0 {
            page = self.src.alloc_page()?;
            // SAFETY: a fresh page from the source, ours alone and writable.
            unsafe {
                Self::hdr(page).write(Header {
                    next: 0,
                    prev: 0,
                    free: 0,
                    bump: 0,
                    inuse: 0,
                    class: class as u8,
                });
            }
            self.pages += 1;
            self.empty[class] += 1;
            self.push(class, page);
        }
        // SAFETY: `page` is a page of this class on the partial list, so it
        // has a free slot: a freed one (whose first word links the next) or
        // one past `bump` inside the page.
        let (obj, full) = unsafe {
            let h = Self::hdr(page);
            if (*h).inuse == 0 {
                self.empty[class] -= 1;
            }
            let obj = if (*h).free != 0 {
                let o = (*h).free;
                (*h).free = (o as *const usize).read();
                o
            } else {
                let o = page + HDR + (*h).bump as usize * size;
                (*h).bump += 1;
                o
            };
            (*h).inuse += 1;
            (obj, (*h).inuse == capacity(class))
        };
        if full {
            self.unlink(class, page);
        }
        self.used += size;
        Some(obj)
    }

    /// Frees an object; its page goes back to the source when it was the
    /// last one in it (beyond the one empty page each class keeps).
    ///
    /// # Safety
    /// `obj` must come from [`Slab::alloc`] of this slab with the same
    /// `class`, and not be freed already.
    pub unsafe fn free(&mut self, obj: usize, class: usize) {
        let page = obj & !(PAGE - 1);
        // SAFETY: the caller's promise: `obj` is a live object of a page of
        // this slab, at least 16 bytes, so its first word can link the free
        // list.
        let (was_full, now_empty) = unsafe {
            let h = Self::hdr(page);
            debug_assert_eq!((*h).class as usize, class);
            let was_full = (*h).inuse == capacity(class);
            (obj as *mut usize).write((*h).free);
            (*h).free = obj;
            (*h).inuse -= 1;
            (was_full, (*h).inuse == 0)
        };
        self.used -= CLASSES[class];
        if was_full {
            self.push(class, page);
        }
        if now_empty {
            if self.empty[class] >= KEEP_EMPTY {
                self.unlink(class, page);
                self.pages -= 1;
                self.src.free_page(page);
            } else {
                self.empty[class] += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::Layout;
    use std::collections::HashSet;
    use std::vec::Vec;

    /// Pages from the host allocator, counted; `limit` pages at most.
    struct HostPages {
        live: HashSet<usize>,
        limit: usize,
    }

    // SAFETY: pages from the host allocator with 4 KiB size and alignment,
    // owned by the slab until freed.
    unsafe impl PageSource for HostPages {
        fn alloc_page(&mut self) -> Option<usize> {
            if self.live.len() >= self.limit {
                return None;
            }
            // SAFETY: a non-zero size.
            let p = unsafe { std::alloc::alloc(Layout::from_size_align(PAGE, PAGE).unwrap()) } as usize;
            assert!(p != 0);
            self.live.insert(p);
            Some(p)
        }
        fn free_page(&mut self, p: usize) {
            assert!(self.live.remove(&p), "a page freed twice or never given");
            // SAFETY: allocated above with this layout.
            unsafe { std::alloc::dealloc(p as *mut u8, Layout::from_size_align(PAGE, PAGE).unwrap()) };
        }
    }

    fn slab(limit: usize) -> Slab<HostPages> {
        Slab::new(HostPages { live: HashSet::new(), limit })
    }

    #[test]
    fn classes_fit_their_pages_and_alignments() {
        for (i, &c) in CLASSES.iter().enumerate() {
            assert_eq!(c % 16, 0);
            assert!(capacity(i) >= 2, "class {c}");
        }
        assert_eq!(class_for(1, 1), Some(0));
        assert_eq!(class_for(17, 8), Some(1));
        assert_eq!(class_for(100, 64), Some(5), "128: the first 64-aligned class that holds 100");
        assert_eq!(CLASSES[class_for(100, 64).unwrap()] % 64, 0);
        assert_eq!(class_for(2016, 16), Some(CLASSES.len() - 1));
        assert_eq!(class_for(2017, 1), None);
        assert_eq!(class_for(8, 128), None);
        assert_eq!(class_for(1400, 64), None, "2016 is not 64-aligned");
    }

    /// The table look-up gives what the plain search over the classes gives.
    #[test]
    fn class_lookup_matches_the_linear_search() {
        for size in 0..2100 {
            for align in [1, 2, 4, 8, 16, 32, 64, 128] {
                let want = if align > HDR {
                    None
                } else {
                    CLASSES.iter().position(|&c| c >= size && c % align == 0)
                };
                assert_eq!(class_for(size, align), want, "size {size} align {align}");
            }
        }
    }

    #[test]
    fn objects_are_distinct_aligned_and_writable() {
        let mut s = slab(1000);
        for (class, &size) in CLASSES.iter().enumerate() {
            let align = if size.is_multiple_of(64) { 64 } else { 16 };
            let base = s.pages();
            let mut objs = Vec::new();
            for i in 0..3 * capacity(class) as usize {
                let o = s.alloc(class).unwrap();
                assert_eq!(o % align, 0, "class {size}");
                assert!(o % PAGE >= HDR && o % PAGE + size <= PAGE);
                // SAFETY: a live object of `size` bytes.
                unsafe { core::ptr::write_bytes(o as *mut u8, i as u8, size) };
                objs.push((o, i as u8));
            }
            let set: HashSet<usize> = objs.iter().map(|o| o.0).collect();
            assert_eq!(set.len(), objs.len());
            for &(o, b) in &objs {
                // SAFETY: still live, written above.
                let bytes = unsafe { core::slice::from_raw_parts(o as *const u8, size) };
                assert!(bytes.iter().all(|&x| x == b));
            }
            assert_eq!(s.pages(), base + 3);
            for (o, _) in objs {
                // SAFETY: from this class, freed once.
                unsafe { s.free(o, class) };
            }
            assert_eq!(s.pages(), base + 1, "one empty page kept");
        }
        assert_eq!(s.used_bytes(), 0);
        assert_eq!(s.source().live.len(), CLASSES.len());
    }

    #[test]
    fn pages_go_back_when_empty_in_any_order() {
        let mut s = slab(10_000);
        let c = class_for(24, 8).unwrap();
        let mut objs: Vec<usize> = (0..20_000).map(|_| s.alloc(c).unwrap()).collect();
        let peak = s.pages();
        assert_eq!(peak, 20_000usize.div_ceil(capacity(c) as usize));
        // free every other one: no page becomes empty
        let rest: Vec<usize> = objs.iter().copied().skip(1).step_by(2).collect();
        for o in objs.iter().copied().step_by(2) {
            // SAFETY: live objects of class c.
            unsafe { s.free(o, c) };
        }
        assert_eq!(s.pages(), peak);
        // freed slots are reused before new pages are taken
        objs = (0..10_000).map(|_| s.alloc(c).unwrap()).collect();
        assert_eq!(s.pages(), peak);
        for o in objs.into_iter().chain(rest.into_iter().rev()) {
            // SAFETY: live objects of class c.
            unsafe { s.free(o, c) };
        }
        assert_eq!(s.pages(), 1);
        assert_eq!(s.source().live.len(), 1);
        assert_eq!(s.used_bytes(), 0);
    }

    #[test]
    fn exhausted_source_is_none_and_recovers() {
        let mut s = slab(2);
        let c = class_for(2016, 16).unwrap();
        let a = s.alloc(c).unwrap();
        let b = s.alloc(c).unwrap();
        let d = s.alloc(c).unwrap();
        let e = s.alloc(c).unwrap();
        assert_eq!(s.alloc(c), None);
        // SAFETY: live objects of class c.
        unsafe { s.free(b, c) };
        assert_eq!(s.alloc(c), Some(b));
        let other = class_for(16, 8).unwrap();
        assert_eq!(s.alloc(other), None, "no page for another class");
        for o in [a, b, d, e] {
            // SAFETY: live objects of class c.
            unsafe { s.free(o, c) };
        }
        assert!(s.alloc(other).is_some());
    }
}
