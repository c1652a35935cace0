//! Properties of an instance under random watch and event sequences:
//! FIONREAD equals what reads give, reads never split an event, the queue
//! holds at most max + 1 events, one watch per object, the budget counts
//! exactly the watches.

use notify::testing::Budget;
use notify::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Add(u8, u32),
    Rm(i32),
    Ev(i32, u32, Option<Vec<u8>>),
    Read(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            0u8..6,
            prop::sample::select(vec![
                IN_MODIFY,
                IN_CREATE,
                IN_ALL_EVENTS,
                IN_OPEN | IN_ONESHOT,
                IN_ATTRIB | IN_MASK_ADD
            ])
        )
            .prop_map(|(k, m)| Op::Add(k, m)),
        (0i32..8).prop_map(Op::Rm),
        (
            0i32..8,
            prop::sample::select(vec![IN_MODIFY, IN_CREATE, IN_OPEN, IN_ATTRIB]),
            prop::option::of(prop::collection::vec(b'a'..=b'z', 1..40))
        )
            .prop_map(|(w, m, n)| Op::Ev(w, m, n)),
        (0usize..200).prop_map(Op::Read),
    ]
}

proptest! {
    #[test]
    fn queue_and_table_invariants(ops in prop::collection::vec(op(), 1..80), max in 1usize..8) {
        let b = Budget::new(4);
        let mut i: Instance<u8, Budget> = Instance::new(max, b.clone());
        for o in ops {
            match o {
                Op::Add(k, m) => { let _ = i.add_watch(k, m, false); }
                Op::Rm(w) => { let _ = i.rm_watch(w); }
                Op::Ev(w, m, n) => { i.event(w, m, 0, n.as_deref(), false); }
                Op::Read(len) => {
                    let before = i.pending_bytes();
                    let mut buf = vec![0u8; len];
                    match i.read(&mut buf) {
                        Ok(n) => {
                            prop_assert_eq!(before - i.pending_bytes(), n);
                            let mut at = 0;
                            while at < n {
                                let l = u32::from_ne_bytes(buf[at + 12..at + 16].try_into().unwrap()) as usize;
                                prop_assert_eq!(l % 16, 0);
                                at += 16 + l;
                            }
                            prop_assert_eq!(at, n);
                        }
                        Err(e) => prop_assert!(e == linux_abi::Errno::EAGAIN || e == linux_abi::Errno::EINVAL),
                    }
                }
            }
            prop_assert!(i.queued() <= max + 1);
            prop_assert_eq!(b.used(), i.watch_count());
            let keys: Vec<u8> = i.watches().map(|(_, k, _)| *k).collect();
            let mut dedup = keys.clone();
            dedup.sort();
            dedup.dedup();
            prop_assert_eq!(dedup.len(), keys.len());
        }
        let mut total = 0;
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = i.read(&mut buf) { total += n; }
        prop_assert_eq!(i.pending_bytes(), 0);
        let _ = total;
    }
}
