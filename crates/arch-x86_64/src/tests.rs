//! In-kernel tests of the machine layer (run by `cargo xtask test`).

use crate::ktest;
use crate::mem::{frames, heap, paging};
use alloc::vec::Vec;

ktest!(
    fn frames_alloc_and_free() {
        let (free0, usable) = frames::stats();
        assert!(usable > 0 && free0 <= usable);
        let fs: Vec<_> = (0..64).map(|_| frames::alloc_zeroed_frame().expect("frame")).collect();
        assert_eq!(frames::stats().0, free0 - 64);
        for (i, f) in fs.iter().enumerate() {
            assert!(fs[..i].iter().all(|g| g != f), "a frame was handed out twice");
            let bytes = frames::frame_bytes_mut(*f);
            assert!(bytes.iter().all(|&b| b == 0), "frame not zeroed");
            // never a reserved frame: not below 1 MiB, not inside the kernel image
            let pa = f.start_address().as_u64();
            let (ks, ke) = frames::kernel_phys_range();
            assert!(pa >= 0x10_0000 && !(ks..ke).contains(&pa));
        }
        for f in fs {
            frames::free_frame(f);
        }
        assert_eq!(frames::stats().0, free0);
    }
);

ktest!(
    fn heap_grows_from_frames() {
        let before = heap::size();
        let (free_before, _) = frames::stats();
        // larger than any single growth step so far
        let n = (before as usize + (4 << 20)) / 8;
        let mut v: Vec<u64> = Vec::with_capacity(n);
        for i in 0..n as u64 {
            v.push(i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
        assert!(heap::size() > before, "the heap did not grow");
        assert!(frames::stats().0 < free_before, "growth took no frames");
        for (i, x) in v.iter().enumerate() {
            assert_eq!(*x, (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
    }
);

ktest!(
    fn map_and_unmap_in_fresh_page_table() {
        let (free0, _) = frames::stats();
        {
            let mut space = paging::AddressSpace::new().expect("address space");
            let frame = frames::alloc_zeroed_frame().expect("frame");
            let pa = frame.start_address().as_u64();
            let va = 0x0000_0040_0000_0000u64;
            let flags = paging::PageFlags { write: true, exec: false, user: false };
            space.map(va, pa, flags).expect("map");
            assert_eq!(space.map(va, pa, flags), Err(paging::MapError::AlreadyMapped));
            assert_eq!(space.translate(va + 0x123), Some(pa + 0x123));
            assert_eq!(
                paging::AddressSpace::new().map(|mut s| s.map(va + 1, pa, flags)),
                Ok(Err(paging::MapError::BadAddress))
            );
            space.activate();
            // SAFETY-free check through the new mapping is done by the kernel
            // half's direct map: write via the mapping, read via the frame.
            let p = va as *mut u64;
            // The page is mapped writable in the active table.
            unsafe_write(p, 0x1122_3344_5566_7788);
            paging::activate_kernel();
            assert_eq!(&frames::frame_bytes_mut(frame)[..8], &0x1122_3344_5566_7788u64.to_le_bytes());
            assert_eq!(space.unmap(va), Some(pa));
            assert_eq!(space.translate(va), None);
            assert_eq!(space.unmap(va), None);
            frames::free_frame(frame);
        }
        assert_eq!(frames::stats().0, free0, "page-table frames leaked");
    }
);

fn unsafe_write(p: *mut u64, v: u64) {
    // SAFETY: the caller mapped p writable in the active page table.
    unsafe { core::ptr::write_volatile(p, v) }
}

ktest!(
    fn timer_ticks_advance() {
        assert!(x86_64::instructions::interrupts::are_enabled());
        let t0 = crate::time::ticks();
        let start = crate::time::since_boot_ns();
        while crate::time::ticks() < t0 + 3 {
            assert!(crate::time::since_boot_ns() - start < 2_000_000_000, "no timer tick in 2 s");
            x86_64::instructions::hlt();
        }
        // 3 ticks at 100 Hz take at least 20 ms
        assert!(crate::time::since_boot_ns() - start >= 20_000_000);
    }
);

ktest!(
    fn breakpoint_is_handled_and_resumed() {
        let before = crate::trap::breakpoints();
        x86_64::instructions::interrupts::int3();
        x86_64::instructions::interrupts::int3();
        assert_eq!(crate::trap::breakpoints(), before + 2);
    }
);

ktest!(
    fn symbol_table_resolves_this_function() {
        let here = symbol_table_resolves_this_function as *const () as u64;
        let t = crate::backtrace::symbols().expect("xtask wrote no symbol table");
        let (name, off) = t.lookup(here).expect("no symbol");
        assert_eq!(off, 0);
        assert!(name.ends_with("symbol_table_resolves_this_function"), "{name}");
    }
);
