//! In-kernel tests of the machine layer (run by `cargo xtask test`).

use crate::ktest;
use crate::mem::{frames, heap, paging};
use alloc::vec::Vec;

ktest!(
    fn frames_alloc_and_free() {
        let (_, usable) = frames::stats();
        let free0 = heap::free_frames_with_heap();
        assert!(usable > 0 && free0 <= usable);
        let fs: Vec<_> = (0..64).map(|_| frames::alloc_zeroed_frame().expect("frame")).collect();
        assert_eq!(heap::free_frames_with_heap(), free0 - 64);
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
        assert_eq!(heap::free_frames_with_heap(), free0);
    }
);

ktest!(
    fn heap_takes_frames_and_gives_them_back() {
        let before = heap::size();
        let (free_before, _) = frames::stats();
        // a big buffer is frames of its own
        let n = (4 << 20) / 8;
        let mut v: Vec<u64> = Vec::with_capacity(n);
        for i in 0..n as u64 {
            v.push(i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
        assert!(heap::size() >= before + (4 << 20), "the heap did not grow");
        assert!(frames::stats().0 <= free_before - 1024, "growth took no frames");
        for (i, x) in v.iter().enumerate() {
            assert_eq!(*x, (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
        // 100,000 small objects take slab frames
        let small: Vec<alloc::boxed::Box<[u64; 6]>> =
            (0..100_000u64).map(|i| alloc::boxed::Box::new([i; 6])).collect();
        assert!(small.iter().enumerate().all(|(i, b)| b[5] == i as u64));
        assert!(frames::stats().0 < free_before - 1024 - 1000);
        drop(small);
        drop(v);
        // all back but the empty page each class may keep
        let (free_after, _) = frames::stats();
        assert!(
            free_after + 16 >= free_before,
            "frames not returned: {free_before} before, {free_after} after"
        );
        assert!(heap::size() <= before + 16 * 4096, "heap {} before, {} after", before, heap::size());
    }
);

ktest!(
    fn map_and_unmap_in_fresh_page_table() {
        let free0 = heap::free_frames_with_heap();
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
        assert_eq!(heap::free_frames_with_heap(), free0, "page-table frames leaked");
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
        // the monotonic clock moved on too (no rate check: under emulation
        // the TSC and the APIC timer drift apart with host load)
        assert!(crate::time::since_boot_ns() > start);
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

/// Runs until an exit that is not a timer interrupt.
fn run_past_interrupts(ctx: &mut crate::user::UserContext) -> crate::user::UserExit {
    loop {
        match ctx.run() {
            crate::user::UserExit::Interrupt(_) => continue,
            other => return other,
        }
    }
}

/// Maps `code` at 0x40_0000 (user, read+exec) and a stack page below
/// 0x80_0000, then runs it in ring 3 with `check` looking at each exit.
fn with_user_code(code: &[u8], check: impl FnOnce(&mut crate::user::UserContext)) {
    let free0 = heap::free_frames_with_heap();
    {
        let mut space = paging::AddressSpace::new().expect("address space");
        let text = frames::alloc_zeroed_frame().expect("frame");
        let stack = frames::alloc_zeroed_frame().expect("frame");
        frames::frame_bytes_mut(text)[..code.len()].copy_from_slice(code);
        let rx = paging::PageFlags { write: false, exec: true, user: true };
        let rw = paging::PageFlags { write: true, exec: false, user: true };
        space.map(0x40_0000, text.start_address().as_u64(), rx).expect("map text");
        space.map(0x7f_f000, stack.start_address().as_u64(), rw).expect("map stack");
        space.activate();
        let mut ctx = crate::user::UserContext::new(0x40_0000, 0x80_0000);
        check(&mut ctx);
        paging::activate_kernel();
        drop(space);
        frames::free_frame(text);
        frames::free_frame(stack);
    }
    assert_eq!(heap::free_frames_with_heap(), free0);
}

ktest!(
    fn user_mode_syscall_and_invalid_opcode() {
        use crate::user::UserExit;
        // mov $42, %eax; mov $7, %edi; syscall; ud2
        let code = [0xb8, 42, 0, 0, 0, 0xbf, 7, 0, 0, 0, 0x0f, 0x05, 0x0f, 0x0b];
        with_user_code(&code, |ctx| {
            assert_eq!(run_past_interrupts(ctx), UserExit::Syscall);
            assert_eq!(ctx.syscall_number(), 42);
            assert_eq!(ctx.syscall_args()[0], 7);
            assert_eq!(ctx.regs.rip, 0x40_000c, "rip is past the syscall instruction");
            assert_eq!(ctx.regs.rsp, 0x80_0000);
            ctx.set_syscall_return(0);
            assert_eq!(run_past_interrupts(ctx), UserExit::Exception { vector: 6, error_code: 0, cr2: 0 });
            assert_eq!(ctx.regs.rip, 0x40_000c);
        });
    }
);

ktest!(
    fn user_mode_page_fault_reports_address() {
        use crate::user::UserExit;
        // mov 0x1000, %rax (absolute); then a write to the read-only text page
        let code =
            [0x48, 0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00, 0x48, 0x89, 0x04, 0x25, 0x00, 0x00, 0x40, 0x00];
        with_user_code(&code, |ctx| {
            // not present, read, user
            assert_eq!(
                run_past_interrupts(ctx),
                UserExit::Exception { vector: 14, error_code: 0b100, cr2: 0x1000 }
            );
            ctx.regs.rip += 8;
            // present, write, user
            assert_eq!(
                run_past_interrupts(ctx),
                UserExit::Exception { vector: 14, error_code: 0b111, cr2: 0x40_0000 }
            );
        });
    }
);

ktest!(
    fn user_mode_is_preempted_by_the_timer() {
        use crate::user::UserExit;
        // mov $5, %rbx; 1: jmp 1b
        let code = [0x48, 0xc7, 0xc3, 5, 0, 0, 0, 0xeb, 0xfe];
        with_user_code(&code, |ctx| {
            assert_eq!(ctx.run(), UserExit::Interrupt(crate::trap::TIMER_VECTOR));
            assert_eq!(ctx.regs.rip, 0x40_0007);
            assert_eq!(ctx.regs.rbx, 5, "registers survive the interrupt");
            assert_eq!(ctx.run(), UserExit::Interrupt(crate::trap::TIMER_VECTOR));
        });
    }
);

ktest!(
    fn user_mode_rejects_kernel_rip() {
        let mut ctx = crate::user::UserContext::new(0xffff_ffff_8000_0000, 0);
        assert_eq!(ctx.run(), crate::user::UserExit::Exception { vector: 13, error_code: 0, cr2: 0 });
    }
);

ktest!(
    fn kernel_threads_switch() {
        use crate::context::{KernelThread, switch};
        use core::sync::atomic::{AtomicUsize, Ordering};
        static STEPS: AtomicUsize = AtomicUsize::new(0);
        static MAIN: spin::Once<alloc::sync::Arc<KernelThread>> = spin::Once::new();
        static OTHER: spin::Once<alloc::sync::Arc<KernelThread>> = spin::Once::new();
        extern "C" fn body(arg: usize) -> ! {
            loop {
                STEPS.fetch_add(arg, Ordering::SeqCst);
                if let (Some(me), Some(main)) = (OTHER.get(), MAIN.get()) {
                    switch(me, main);
                }
            }
        }
        let main = MAIN.call_once(|| alloc::sync::Arc::new(KernelThread::current_boot()));
        let other = OTHER.call_once(|| alloc::sync::Arc::new(KernelThread::new(body, 10)));
        x86_64::instructions::interrupts::without_interrupts(|| {
            switch(main, other);
            assert_eq!(STEPS.load(Ordering::SeqCst), 10);
            switch(main, other);
            assert_eq!(STEPS.load(Ordering::SeqCst), 20);
        });
    }
);

type KVmar = vm::Vmar<paging::AddressSpace, crate::mem::vmimpl::KernelFrames>;

fn new_vmar() -> KVmar {
    vm::Vmar::new(paging::AddressSpace::new().expect("address space"), crate::mem::vmimpl::KernelFrames)
}

ktest!(
    fn vmar_cow_fork_on_real_page_tables() {
        use vm::abi::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};
        let free0 = heap::free_frames_with_heap();
        {
            let mut parent = new_vmar();
            let addr = parent
                .mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, None, 0)
                .expect("mmap");
            parent.write_user(addr + 4096, b"parent").expect("write");
            let mut child = parent.fork().expect("fork");
            child.write_user(addr + 4096, b"child!").expect("write");
            let mut buf = [0u8; 6];
            parent.read_user(addr + 4096, &mut buf).expect("read");
            assert_eq!(&buf, b"parent");
            child.read_user(addr + 4096, &mut buf).expect("read");
            assert_eq!(&buf, b"child!");
            assert_eq!(child.cow_copies(), 1, "exactly one frame copied");
            assert_eq!(parent.read_user(addr + 3 * 4096, &mut buf), Err(linux_abi::Errno::EFAULT));
        }
        assert_eq!(heap::free_frames_with_heap(), free0, "frames leaked");
    }
);

ktest!(
    fn user_code_demand_paged_through_vmar() {
        use crate::user::{UserContext, UserExit};
        use vm::abi::{MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE};
        use vm::{Access, FaultOutcome};
        let free0 = heap::free_frames_with_heap();
        {
            let mut vmar = new_vmar();
            let text = vmar
                .mmap(
                    0x40_0000,
                    4096,
                    PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                    None,
                    0,
                )
                .expect("mmap text");
            // movq $0x55, 0x50_0008 (absolute); mov 0x50_0008, %rdi; mov $60, %eax; syscall
            let code = [
                0x48, 0xc7, 0x04, 0x25, 0x08, 0x00, 0x50, 0x00, 0x55, 0x00, 0x00, 0x00, 0x48, 0x8b, 0x3c,
                0x25, 0x08, 0x00, 0x50, 0x00, 0xb8, 60, 0, 0, 0, 0x0f, 0x05,
            ];
            vmar.write_user(text, &code).expect("write code");
            vmar.mprotect(text, 4096, PROT_READ | PROT_EXEC).expect("mprotect");
            vmar.mmap(
                0x50_0000,
                4096,
                PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                None,
                0,
            )
            .expect("mmap data");
            let before = vmar.resident_pages();
            vmar.page_table().activate();
            let mut ctx = UserContext::new(0x40_0000, 0);
            let mut faults = 0;
            let exit = loop {
                match ctx.run() {
                    UserExit::Exception { vector: 14, error_code, cr2 } => {
                        faults += 1;
                        let access = if error_code & 0x10 != 0 {
                            Access::Execute
                        } else if error_code & 2 != 0 {
                            Access::Write
                        } else {
                            Access::Read
                        };
                        assert_eq!(vmar.handle_page_fault(cr2 as usize, access), FaultOutcome::Resolved);
                    }
                    UserExit::Interrupt(_) => {}
                    other => break other,
                }
            };
            paging::activate_kernel();
            assert_eq!(exit, UserExit::Syscall);
            assert_eq!(ctx.syscall_number(), 60);
            assert_eq!(ctx.syscall_args()[0], 0x55, "the value stored in the demand-paged page");
            assert_eq!(faults, 1, "only the data page was missing");
            assert_eq!(vmar.resident_pages(), before + 1);
        }
        assert_eq!(heap::free_frames_with_heap(), free0, "frames leaked");
    }
);

ktest!(
    fn page_table_fork_range_and_unmap_range() {
        use crate::mem::vmimpl::KernelFrames;
        use vm::{FrameAllocator, FrameRefs, PageTable, PteFlags};
        let free0 = heap::free_frames_with_heap();
        {
            let fa = KernelFrames;
            let mut parent = paging::AddressSpace::new().expect("address space");
            let mut child = parent.new_empty().expect("address space");
            // as the vm crate asks for them (x86_64 reports READ on user pages)
            let rw = PteFlags::USER | PteFlags::READ | PteFlags::WRITABLE;
            let rx = PteFlags::USER | PteFlags::READ | PteFlags::EXECUTABLE;
            // across a leaf table boundary, a gap, and far away (another PML4 slot)
            let mut pages: Vec<(usize, PteFlags)> = (0..600).map(|i| (0x3f_0000 + i * 4096, rw)).collect();
            pages.retain(|&(va, _)| !(0x40_3000..0x40_8000).contains(&va));
            pages.push((0x7f00_0000_0000, rx));
            pages.push((0x7f00_0000_1000, rw));
            let mut mapped = Vec::new();
            for &(va, flags) in &pages {
                let f = fa.alloc_zeroed().expect("frame");
                PageTable::map(&mut parent, va, f, flags).expect("map");
                mapped.push((va, f, flags));
            }
            // the first page shared already (count 2): the locked path of
            // add_ref_exclusive; the others have count 1: its plain store
            fa.add_ref(mapped[0].1);
            let mut shared = 0;
            parent
                .fork_range(&mut child, 0x3f_0000, 0x7f00_0000_2000, true, &mut |f| {
                    fa.add_ref_exclusive(f);
                    shared += 1;
                })
                .expect("fork_range");
            parent.flush();
            assert_eq!(shared, mapped.len());
            for &(va, f, flags) in &mapped {
                let want = flags - PteFlags::WRITABLE;
                assert_eq!(parent.query(va), Some((f, want)), "parent {va:#x}");
                assert_eq!(child.query(va), Some((f, want)), "child {va:#x}");
                assert_eq!(fa.ref_count(f), if f == mapped[0].1 { 3 } else { 2 });
            }
            fa.release(mapped[0].1);
            assert_eq!(fa.ref_count(mapped[0].1), 2);
            assert_eq!(child.query(0x40_3000), None);
            // a partial range: only those pages go
            let mut released = 0;
            child.unmap_range(0x3f_1000, 0x3f_3000, &mut |f| {
                fa.release(f);
                released += 1;
            });
            assert_eq!(released, 2);
            assert_eq!(child.query(0x3f_1000), None);
            assert!(child.query(0x3f_3000).is_some() && child.query(0x3f_0000).is_some());
            for pt in [&mut child, &mut parent] {
                let mut n = 0;
                pt.unmap_range(0, 0x8000_0000_0000, &mut |f| {
                    fa.release(f);
                    n += 1;
                });
                assert!(n >= mapped.len() - 2);
                assert_eq!(pt.next_present(0, 0x8000_0000_0000), None);
            }
        }
        assert_eq!(heap::free_frames_with_heap(), free0, "frames leaked");
    }
);

ktest!(
    fn unmap_range_sends_one_shootdown_per_eight_tables() {
        use crate::mem::vmimpl::KernelFrames;
        use vm::{FrameAllocator, FrameRefs, PageTable, PteFlags};
        let free0 = heap::free_frames_with_heap();
        {
            let fa = KernelFrames;
            let mut pt = paging::AddressSpace::new().expect("address space");
            let rw = PteFlags::USER | PteFlags::READ | PteFlags::WRITABLE;
            // two pages in each of 20 leaf tables (2 MiB apart), a gap of
            // absent tables in the middle
            let mut frames = Vec::new();
            for t in (0..24usize).filter(|t| !(10..14).contains(t)) {
                for p in [0usize, 511] {
                    let va = 0x4000_0000 + t * 0x20_0000 + p * 4096;
                    let f = fa.alloc_zeroed().expect("frame");
                    PageTable::map(&mut pt, va, f, rw).expect("map");
                    frames.push(f);
                }
            }
            let why = crate::smp::Why::UnmapRange as usize;
            let before = crate::smp::shoot_stats(why).0;
            let mut released = Vec::new();
            pt.unmap_range(0x4000_0000, 0x4000_0000 + 24 * 0x20_0000, &mut |f| {
                released.push(f);
                fa.release(f);
            });
            let sent = crate::smp::shoot_stats(why).0 - before;
            released.sort_by_key(|f| f.phys_addr());
            frames.sort_by_key(|f| f.phys_addr());
            assert_eq!(released, frames, "every frame released once");
            assert_eq!(pt.next_present(0, 0x8000_0000_0000), None);
            if crate::smp::cpus_online() > 1 {
                // 20 tables: 8 + 8 + 4
                assert_eq!(sent, 3, "shootdown requests");
            }
        }
        assert_eq!(heap::free_frames_with_heap(), free0, "frames leaked");
    }
);

// A fork write-protects a page whose writable translation the TLB holds
// (the parent just wrote it): `flush` must invalidate it (one `invlpg`
// per page up to the ceiling, perf26), so the parent's next write faults.
ktest!(
    fn fork_invalidates_a_cached_writable_page() {
        use crate::mem::vmimpl::KernelFrames;
        use crate::user::{UserContext, UserExit};
        use vm::{FrameAllocator, FrameRefs, PageTable, PteFlags};
        let free0 = heap::free_frames_with_heap();
        {
            let fa = KernelFrames;
            let mut parent = paging::AddressSpace::new().expect("address space");
            let mut child = parent.new_empty().expect("address space");
            let code = fa.alloc_zeroed().expect("frame");
            let data = fa.alloc_zeroed().expect("frame");
            // movq $0x55, 0x50_0008 (absolute); mov $60, %eax; syscall
            let bytes = [
                0x48, 0xc7, 0x04, 0x25, 0x08, 0x00, 0x50, 0x00, 0x55, 0x00, 0x00, 0x00, 0xb8, 60, 0, 0, 0,
                0x0f, 0x05,
            ];
            // SAFETY: the frame is ours, just allocated, and mapped by the
            // direct map; nothing else refers to it yet.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    bytes.as_ptr(),
                    crate::mem::phys_to_virt(code.phys_addr()) as *mut u8,
                    bytes.len(),
                )
            };
            PageTable::map(&mut parent, 0x40_0000, code, PteFlags::USER | PteFlags::EXECUTABLE).expect("map");
            PageTable::map(&mut parent, 0x50_0000, data, PteFlags::USER | PteFlags::WRITABLE).expect("map");
            let run = || {
                let mut ctx = UserContext::new(0x40_0000, 0);
                loop {
                    match ctx.run() {
                        UserExit::Interrupt(_) => {}
                        other => break other,
                    }
                }
            };
            parent.activate();
            let first = run();
            parent
                .fork_range(&mut child, 0x40_0000, 0x50_1000, true, &mut |f| fa.add_ref(f))
                .expect("fork_range");
            parent.flush();
            let second = run();
            paging::activate_kernel();
            assert_eq!(first, UserExit::Syscall, "the write before the fork");
            assert_eq!(
                second,
                UserExit::Exception { vector: 14, error_code: 0x7, cr2: 0x50_0008 },
                "the write after the fork: a protection fault, not the stale writable entry"
            );
            for pt in [&mut child, &mut parent] {
                pt.unmap_range(0, 0x8000_0000_0000, &mut |f| fa.release(f));
            }
        }
        assert_eq!(heap::free_frames_with_heap(), free0, "frames leaked");
    }
);

ktest!(
    fn kernel_stack_end_word_tells_an_overflow() {
        let stack = crate::context::KernelStack::try_new().expect("a kernel stack");
        assert!(stack.end_intact(), "a new stack starts with its end word");
        // a write to the stack's lowest word, as an overflow makes it
        let (lo, _) = stack.range();
        // SAFETY: `lo` is the lowest word of the stack this test owns.
        unsafe { (lo as *mut u64).write(0) };
        assert!(!stack.end_intact(), "the overwritten end word is seen");
        // a reused (kept) stack gets its end word again
        drop(stack);
        let again = crate::context::KernelStack::try_new().expect("a kernel stack");
        assert!(again.end_intact());
    }
);

ktest!(
    fn kernel_stacks_are_mapped_above_an_unmapped_guard_in_every_address_space() {
        use crate::context::{KERNEL_STACK_SIZE, KERNEL_STACK_STRIDE, guard_of};
        use paging::{AddressSpace, KSTACK_AREA, KSTACK_AREA_SIZE, kernel_translate};
        let take = || -> Vec<_> {
            (0..3).map(|_| crate::context::KernelStack::try_new().expect("a stack")).collect()
        };
        // once first: the page tables of the slots stay
        drop(take());
        crate::context::release_cached_stacks();
        let free0 = heap::free_frames_with_heap();
        let stacks = take();
        // an address space made now, and the kernel's own tables
        let space = AddressSpace::new().expect("an address space");
        for s in &stacks {
            let (lo, size) = s.range();
            assert_eq!(size, KERNEL_STACK_SIZE as u64);
            assert!(
                lo >= KSTACK_AREA && lo + size <= KSTACK_AREA + KSTACK_AREA_SIZE,
                "{lo:#x} outside the area"
            );
            assert_eq!((lo + size) % KERNEL_STACK_STRIDE, 0, "the stack ends at its slot's end");
            for page in (lo..lo + size).step_by(4096) {
                let pa = kernel_translate(page).expect("every stack page is mapped");
                assert_eq!(space.translate(page), Some(pa), "a process's tables share the stack mapping");
                assert!(pa.is_multiple_of(4096) && pa < crate::mem::frames::max_phys());
            }
            // the guard: the rest of the slot below the stack, page by page
            for page in (lo + size - KERNEL_STACK_STRIDE..lo).step_by(4096) {
                assert_eq!(kernel_translate(page), None, "guard page {page:#x} is mapped");
                assert_eq!(space.translate(page), None, "guard page {page:#x} is mapped in a process");
                assert_eq!(guard_of(page + 8), Some((lo, size)), "a fault at {page:#x} is named an overflow");
            }
            assert_eq!(guard_of(lo), None, "the stack's own lowest page is no guard");
            assert_eq!(guard_of(crate::trap::UNMAPPED_KERNEL_ADDRESS), None);
        }
        // a write at the bottom of one stack lands in its own frame
        let (lo, _) = stacks[1].range();
        let word = (lo + 8) as *mut u64;
        // SAFETY: the second word of a stack this test owns (above its end
        // word); its old value (a debug build's paint) is put back.
        let old = unsafe { word.replace(0x1234_5678) };
        let pa = kernel_translate(lo).expect("mapped");
        // SAFETY: the direct map of the frame just written through the stack mapping.
        assert_eq!(unsafe { ((crate::mem::phys_to_virt(pa) + 8) as *const u64).read() }, 0x1234_5678);
        // SAFETY: as above.
        unsafe { word.write(old) };
        drop(space);
        let los: Vec<u64> = stacks.iter().map(|s| s.range().0).collect();
        drop(stacks);
        // ended stacks stay mapped for reuse until reclaimed; then unmapped
        // (and flushed on every CPU) with their frames given back
        crate::context::release_cached_stacks();
        for lo in los {
            assert_eq!(kernel_translate(lo), None, "a reclaimed stack at {lo:#x} is still mapped");
        }
        assert_eq!(heap::free_frames_with_heap(), free0, "stack frames leaked");
    }
);

ktest!(
    fn memcpy_and_memset_every_size_and_offset() {
        // mem::copy's assembly: sizes across the 64- and 8-byte loops and
        // the byte tail, at unaligned offsets, with guard bytes around
        let mut src = alloc::vec![0u8; 400];
        for (i, b) in src.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        for len in (0..=200).chain([255, 256, 257, 320, 333]) {
            for off in [0usize, 1, 7, 8, 13] {
                let mut dst = alloc::vec![0xeeu8; 400];
                let n = core::hint::black_box(len);
                dst[off..off + n].copy_from_slice(&src[3..3 + n]);
                for (i, &b) in dst.iter().enumerate() {
                    let want =
                        if (off..off + n).contains(&i) { (((i - off) + 3) * 7 + 3) as u8 } else { 0xee };
                    assert_eq!(b, want, "memcpy of {n} bytes at offset {off}: byte {i}");
                }
                dst[off..off + n].fill(core::hint::black_box(0x5a));
                for (i, &b) in dst.iter().enumerate() {
                    let want = if (off..off + n).contains(&i) { 0x5a } else { 0xee };
                    assert_eq!(b, want, "memset of {n} bytes at offset {off}: byte {i}");
                }
            }
        }
    }
);

ktest!(
    fn checked_xrstor_recovers_from_a_refused_header() {
        // sigreturn's XRSTOR straight from a user's page: a header the CPU
        // refuses (#GP) resumes at the fixup, and the kernel goes on
        if !crate::xstate::enabled() {
            return;
        }
        let good = crate::user::FpuState::default();
        assert!(crate::user::xrstor_checked_for_test(&good), "the initial state loads");
        let mut bad = good.clone();
        bad.0[crate::xstate::HEADER + 7] = 0x40; // XSTATE_BV bit 62: never in XCR0
        assert!(!crate::user::xrstor_checked_for_test(&bad), "XSTATE_BV outside XCR0");
        let mut bad = good.clone();
        bad.0[crate::xstate::HEADER + 8] = 1; // XCOMP_BV
        assert!(!crate::user::xrstor_checked_for_test(&bad), "XCOMP_BV");
        assert!(crate::user::xrstor_checked_for_test(&good), "and loads again after");
    }
);
