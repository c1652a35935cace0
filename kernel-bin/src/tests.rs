//! In-kernel tests of kernel-bin itself.

use arch_x86_64::ktest;

ktest!(
    fn component_crates_link() {
        assert_eq!(linux_abi::Errno::ENOSYS.as_i32(), 38);
        let v: alloc::vec::Vec<u32> = (0..1000).collect();
        assert_eq!(v.iter().sum::<u32>(), 499_500);
    }
);

ktest!(
    fn scheduler_runs_blocks_wakes_and_reaps() {
        use crate::sched;
        use alloc::sync::Arc;
        use core::sync::atomic::{AtomicUsize, Ordering};
        arch_x86_64::context::release_cached_stacks();
        let free0 = arch_x86_64::mem::heap::free_frames_with_heap();
        let heap0 = arch_x86_64::mem::heap::used();
        {
            let log = Arc::new(spin::Mutex::new(alloc::vec::Vec::new()));
            let wq = Arc::new(sched::WaitQueue::new());
            let flag = Arc::new(AtomicUsize::new(0));
            let (l1, w1, f1) = (log.clone(), wq.clone(), flag.clone());
            sched::spawn(1, move || {
                l1.lock().push("a waits");
                w1.wait_until(|| f1.load(Ordering::SeqCst) == 1, None);
                l1.lock().push("a woke");
            });
            let (l2, w2, f2) = (log.clone(), wq.clone(), flag.clone());
            sched::spawn(2, move || {
                l2.lock().push("b yields");
                sched::yield_now();
                l2.lock().push("b wakes a");
                f2.store(1, Ordering::SeqCst);
                w2.wake_all();
            });
            let (l3, f3) = (log.clone(), flag.clone());
            sched::spawn(3, move || {
                let t0 = arch_x86_64::time::since_boot_ns();
                sched::block_until(t0 + 30_000_000);
                assert!(arch_x86_64::time::since_boot_ns() >= t0 + 30_000_000);
                l3.lock().push("c slept");
                f3.fetch_add(10, Ordering::SeqCst);
            });
            sched::idle_until(|| flag.load(Ordering::SeqCst) == 11 && log.lock().len() == 5);
            sched::yield_now(); // let the last task finish exiting
            let log = log.lock().clone();
            assert_eq!(&log[..4], &["a waits", "b yields", "b wakes a", "a woke"]);
            assert_eq!(log[4], "c slept");
        }
        sched::yield_now();
        // ended threads' stacks wait in the stack cache for the next ones
        arch_x86_64::context::release_cached_stacks();
        assert_eq!(arch_x86_64::mem::heap::free_frames_with_heap(), free0, "frames leaked");
        // the run queue and sleeper list keep their capacity (a leaked task
        // would keep its stack's frames: the check above)
        let used = arch_x86_64::mem::heap::used();
        assert!(used < heap0 + 4096, "task stacks leaked: heap use {heap0} -> {used}");
    }
);

ktest!(
    fn wait_any_wakes_on_either_queue_and_through_relays_only() {
        use crate::sched::{self, WaitQueue};
        use alloc::sync::Arc;
        use core::sync::atomic::{AtomicUsize, Ordering};
        let (q1, q2, other) =
            (Arc::new(WaitQueue::new()), Arc::new(WaitQueue::new()), Arc::new(WaitQueue::new()));
        // an epoll-like queue hearing of q2's wake-ups
        let ep = Arc::new(WaitQueue::new());
        q2.add_relay(&ep);
        let flag = Arc::new(AtomicUsize::new(0));
        // how many times each sleeper looked at its condition
        let looks = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)]);
        let done = Arc::new(AtomicUsize::new(0));
        {
            let (q1, q2, f, l, d) = (q1.clone(), q2.clone(), flag.clone(), looks.clone(), done.clone());
            sched::spawn(1, move || {
                let ok = sched::wait_any(
                    &[&q1, &q2],
                    || {
                        l[0].fetch_add(1, Ordering::SeqCst);
                        f.load(Ordering::SeqCst) == 1
                    },
                    None,
                );
                assert!(ok);
                d.fetch_add(1, Ordering::SeqCst);
            });
        }
        {
            let (ep, f, l, d) = (ep.clone(), flag.clone(), looks.clone(), done.clone());
            sched::spawn(2, move || {
                ep.wait_until(
                    || {
                        l[1].fetch_add(1, Ordering::SeqCst);
                        f.load(Ordering::SeqCst) == 1
                    },
                    None,
                );
                d.fetch_add(1, Ordering::SeqCst);
            });
        }
        {
            let (other, l, d) = (other.clone(), looks.clone(), done.clone());
            sched::spawn(3, move || {
                // nobody wakes this queue: only the deadline ends the sleep
                let t0 = arch_x86_64::time::since_boot_ns();
                let ok = other.wait_until(
                    || {
                        l[2].fetch_add(1, Ordering::SeqCst);
                        false
                    },
                    Some(t0 + 40_000_000),
                );
                assert!(!ok);
                d.fetch_add(1, Ordering::SeqCst);
            });
        }
        {
            let (q1, q2, f) = (q1.clone(), q2.clone(), flag.clone());
            sched::spawn(4, move || {
                sched::yield_now();
                // a wake-up with the condition still false: a look, a sleep again
                q1.wake_all();
                sched::yield_now();
                f.store(1, Ordering::SeqCst);
                q2.wake_all();
            });
        }
        sched::idle_until(|| done.load(Ordering::SeqCst) == 3);
        sched::yield_now();
        // task 1: look, look after registering, look after q1's wake-up
        // (and after re-registering), look after q2's
        assert_eq!(looks[0].load(Ordering::SeqCst), 5);
        // task 2: only q2's wake-up (relayed) reached it
        assert_eq!(looks[1].load(Ordering::SeqCst), 3);
        // task 3: woken by nothing but its deadline
        assert_eq!(looks[2].load(Ordering::SeqCst), 3);
        q2.remove_relay(&ep);
    }
);

ktest!(
    fn lock_order_checker_tracks_held_classes() {
        use crate::lockorder::{LockClass, Ranked, would_violate};
        static OUTER: Ranked<u32> = Ranked::new(LockClass::ExecCache, "test outer", 0);
        static INNER: Ranked<u32> = Ranked::new(LockClass::Hostname, "test inner", 0);
        let checked = cfg!(debug_assertions);
        assert!(!would_violate(LockClass::ExecCache));
        let a = OUTER.lock();
        // the same class again, or an earlier one: reported before spinning
        assert_eq!(would_violate(LockClass::ExecCache), checked);
        assert!(!would_violate(LockClass::Mounts));
        let b = INNER.lock();
        assert_eq!(would_violate(LockClass::Tty), checked);
        assert_eq!(would_violate(LockClass::Hostname), checked);
        // guards dropped out of order leave the right class held: the
        // inner one, still later than Tty (the outer one would not be)
        drop(a);
        assert_eq!(would_violate(LockClass::Tty), checked);
        drop(b);
        assert!(!would_violate(LockClass::ExecCache));
        assert!(!would_violate(LockClass::Hostname));
    }
);
