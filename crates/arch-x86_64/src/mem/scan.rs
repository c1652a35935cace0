//! Scans over page-table entries (host-tested; used by `paging` and
//! `vmimpl`).

use x86_64::structures::paging::{PageTable, PageTableFlags as F};

/// The index of the first present entry of `t` in `from..to` (`to` when
/// there is none; `to` is capped at 512): eight entries per step, their
/// present bits ORed, then one by one from the step that has one. A
/// teardown's or a munmap's walk over mostly empty tables costs about two
/// instructions per empty entry (`PageTable::iter_mut` is a map over
/// 0..512: ~6 per entry, and a `skip` on it steps through the skipped
/// entries one by one).
#[inline]
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
pub(crate) fn next_present(t: &PageTable, mut from: usize, to: usize) -> usize {
    let to = to.min(512);
    while from + 8 <= to {
        let mut any = 0;
        for k in 0..8 {
            any |= t[from + k].flags().bits();
        }
        if any & F::PRESENT.bits() != 0 {
            break;
        }
        from += 8;
    }
    while from < to && !t[from].flags().contains(F::PRESENT) {
        from += 1;
    }
    from
}

#[cfg(test)]
mod tests {
    use super::*;
    use x86_64::PhysAddr;

    #[test]
    fn next_present_finds_every_present_entry_in_range() {
        let mut t = PageTable::new();
        let present = [0usize, 7, 8, 9, 63, 64, 200, 505, 511];
        for &i in &present {
            t[i].set_addr(PhysAddr::new((i as u64 + 1) << 12), F::PRESENT | F::WRITABLE);
        }
        // a non-present entry with other bits set (unmap_range's removed
        // entries keep their address) is not present
        t[300].set_addr(PhysAddr::new(0x5000), F::WRITABLE);
        for from in 0..=512 {
            for to in [from, from + 1, from + 9, 256, 300, 301, 512, 600] {
                let end = to.min(512);
                if from > end {
                    continue;
                }
                let want = present.iter().copied().find(|&i| i >= from && i < end).unwrap_or(end);
                assert_eq!(next_present(&t, from, to), want, "from {from} to {to}");
            }
        }
        assert_eq!(next_present(&PageTable::new(), 0, 512), 512);
    }
}
