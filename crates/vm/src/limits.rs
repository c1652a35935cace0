//! The resource limits an address space checks as it grows: RLIMIT_AS,
//! RLIMIT_DATA (Linux 6.1's `may_expand_vm()` and brk's
//! `check_data_rlimit()`) and RLIMIT_STACK (`acct_stack_growth()`), in
//! bytes as setrlimit(2) takes them.
//!
//! The limits belong to the process (Linux's `signal_struct`), not to the
//! address space, which `CLONE_VM` children (vfork, posix_spawn) share: the
//! caller passes its own to each call that grows a mapping
//! ([`crate::Vmar::limited`]); the address space only counts its pages
//! (`total_vm`, `data_vm`).

/// "No limit" (`RLIM_INFINITY`).
pub const UNLIMITED: u64 = u64::MAX;

const PAGE_SHIFT: u32 = 12;

/// RLIMIT_AS's, RLIMIT_DATA's and RLIMIT_STACK's limits of a process, as
/// its address space checks them: [`SpaceLimits::new`];
/// [`SpaceLimits::default`] is Linux's default (no RLIMIT_AS or
/// RLIMIT_DATA, an RLIMIT_STACK of 8 MiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpaceLimits {
    /// RLIMIT_AS's soft limit: the bytes of all mappings together.
    pub address_space: u64,
    /// RLIMIT_DATA's soft limit: the bytes of private writable mappings
    /// that are not stacks (Linux's `data_vm`).
    pub data: u64,
    /// RLIMIT_DATA's hard limit (Linux's Valgrind exception reads it when
    /// the soft limit is 0).
    pub data_max: u64,
    /// RLIMIT_STACK's soft limit: the size a `MAP_GROWSDOWN` mapping may
    /// grow to at a fault.
    pub stack: u64,
}

impl Default for SpaceLimits {
    fn default() -> Self {
        SpaceLimits {
            address_space: UNLIMITED,
            data: UNLIMITED,
            data_max: UNLIMITED,
            stack: crate::vmar::DEFAULT_STACK_LIMIT as u64,
        }
    }
}

impl SpaceLimits {
    /// The limits from RLIMIT_AS's soft limit, RLIMIT_DATA's soft and
    /// hard ones and RLIMIT_STACK's soft one.
    pub const fn new(address_space: u64, data: u64, data_max: u64, stack: u64) -> Self {
        SpaceLimits { address_space, data, data_max, stack }
    }

    /// Whether growing a mapping of this kind can be refused at all: the
    /// fast path that needs no count of what is mapped.
    #[inline]
    pub fn limits(&self, data: bool) -> bool {
        self.address_space != UNLIMITED || (data && self.data != UNLIMITED)
    }

    /// Linux's `may_expand_vm()`: whether `npages` more pages, of a data
    /// mapping if `data`, fit when `total_pages` are mapped of which
    /// `data_pages` are data (the limits in pages, rounded down).
    pub fn may_expand(&self, total_pages: u64, data_pages: u64, npages: u64, data: bool) -> bool {
        if total_pages.saturating_add(npages) > self.address_space >> PAGE_SHIFT {
            return false;
        }
        if data && data_pages.saturating_add(npages) > self.data >> PAGE_SHIFT {
            // "Workaround for Valgrind": a soft limit of 0 lets the hard
            // one apply
            return self.data == 0 && data_pages.saturating_add(npages) <= self.data_max >> PAGE_SHIFT;
        }
        true
    }

    /// brk's `check_data_rlimit()`: whether a heap of `heap` bytes (from
    /// the heap's start to the break asked for) plus the loaded image's
    /// data segment of `data_segment` bytes stays within RLIMIT_DATA.
    pub fn brk_fits(&self, heap: u64, data_segment: u64) -> bool {
        self.data == UNLIMITED || heap.saturating_add(data_segment) <= self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unlimited_never_refuses() {
        let l = SpaceLimits::default();
        assert!(!l.limits(true) && !l.limits(false));
        assert!(l.may_expand(1 << 35, 1 << 35, 1 << 35, true));
        assert!(l.brk_fits(u64::MAX, u64::MAX));
    }

    #[test]
    fn address_space_counts_pages_rounded_down() {
        // ulimit -v 100000: 102_400_000 bytes, 25_000 pages
        let l = SpaceLimits::new(102_400_000, UNLIMITED, UNLIMITED, UNLIMITED);
        assert!(l.limits(false));
        assert!(l.may_expand(24_000, 0, 1_000, false));
        assert!(!l.may_expand(24_000, 0, 1_001, false));
        // a limit below one page allows nothing
        let l = SpaceLimits::new(4095, UNLIMITED, UNLIMITED, UNLIMITED);
        assert!(!l.may_expand(0, 0, 1, false));
        assert!(l.may_expand(0, 0, 0, false));
    }

    #[test]
    fn data_limit_only_for_data_mappings() {
        let l = SpaceLimits::new(UNLIMITED, 8 << 12, UNLIMITED, UNLIMITED);
        assert!(!l.limits(false) && l.limits(true));
        assert!(l.may_expand(100, 8, 100, false));
        assert!(!l.may_expand(100, 8, 1, true));
        assert!(l.may_expand(100, 4, 4, true));
        // Valgrind's exception: soft 0, hard 16 pages
        let l = SpaceLimits::new(UNLIMITED, 0, 16 << 12, UNLIMITED);
        assert!(l.may_expand(0, 10, 6, true));
        assert!(!l.may_expand(0, 10, 7, true));
    }

    #[test]
    fn brk_counts_the_data_segment() {
        let l = SpaceLimits::new(UNLIMITED, 10_000, UNLIMITED, UNLIMITED);
        assert!(l.brk_fits(6_000, 4_000));
        assert!(!l.brk_fits(6_001, 4_000));
    }

    proptest! {
        /// may_expand is exactly Linux's inequality on page counts, and
        /// monotone: fewer pages never fail where more succeed.
        #[test]
        fn may_expand_is_the_page_inequality(
            lim in 0u64..1 << 40, dlim in 0u64..1 << 40, dmax in 0u64..1 << 40,
            total in 0u64..1 << 28, data in 0u64..1 << 28, n in 0u64..1 << 28, is_data: bool,
        ) {
            let l = SpaceLimits::new(lim, dlim, dmax, UNLIMITED);
            let data = data.min(total);
            let expect_as = total + n <= lim >> 12;
            let expect_data = !is_data || data + n <= dlim >> 12 || (dlim == 0 && data + n <= dmax >> 12);
            prop_assert_eq!(l.may_expand(total, data, n, is_data), expect_as && expect_data);
            if l.may_expand(total, data, n, is_data) && n > 0 {
                prop_assert!(l.may_expand(total, data, n - 1, is_data));
            }
            if !l.limits(is_data) {
                prop_assert!(l.may_expand(total, data, n, is_data));
            }
        }
    }
}
