//! The semop state machine against its invariants: after every change no
//! waiting operation could proceed (no lost wake-up), values stay in
//! 0..=SEMVMX, every token comes back once, and SEM_UNDO adjustments are
//! minus the sum of what each undo list applied.

use ipc::sem::{IPC_NOWAIT, SEM_UNDO, SEMVMX, SemBuf, SemSet, Semop};
use ipc::sysv::Perm;
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
enum Step {
    /// task, operations
    Op(u8, Vec<(u16, i16, bool, bool)>),
    SetVal(u16, i32),
    Cancel(u8),
    Exit(u8),
}

fn step(nsems: u16) -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0u8..4, prop::collection::vec((0..nsems, -3i16..=3, any::<bool>(), prop::bool::weighted(0.1)), 1..4))
            .prop_map(|(t, v)| Step::Op(t, v)),
        1 => (0..nsems, 0i32..5).prop_map(|(n, v)| Step::SetVal(n, v)),
        1 => (0u8..4).prop_map(Step::Cancel),
        1 => (0u8..4).prop_map(Step::Exit),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn semop_machine(nsems in 1u16..4, steps in prop::collection::vec(step(3), 1..60)) {
        let mut s: SemSet<u8> = SemSet::new(Perm::new(1, 0, 0, 0o600, 0), usize::from(nsems), 0).unwrap();
        // what each task is waiting with (a task waits for one at a time)
        let mut waiting: BTreeMap<u8, Vec<SemBuf>> = BTreeMap::new();
        // the adjustments each task's undo list should have
        let mut adj: BTreeMap<u8, Vec<i32>> = BTreeMap::new();
        let mut woken = Vec::new();
        for st in steps {
            woken.clear();
            match st {
                Step::Op(t, v) => {
                    if waiting.contains_key(&t) {
                        continue;
                    }
                    let sops: Vec<SemBuf> = v
                        .iter()
                        .map(|&(n, op, undo, nowait)| SemBuf {
                            num: n % nsems,
                            op,
                            flg: if undo { SEM_UNDO } else { 0 } | if nowait { IPC_NOWAIT } else { 0 },
                        })
                        .collect();
                    let undo = sops.iter().any(|s| s.flg & SEM_UNDO != 0).then_some(u64::from(t));
                    if let Some(u) = undo {
                        s.ensure_undo(u).unwrap();
                        adj.entry(t).or_insert_with(|| vec![0; usize::from(nsems)]);
                    }
                    let before: Vec<u16> = s.values().collect();
                    match s.semop(&sops, undo, u32::from(t), 1, || t, &mut woken) {
                        Ok(Semop::Done) => {
                            for o in &sops {
                                if o.flg & SEM_UNDO != 0 {
                                    adj.get_mut(&t).unwrap()[usize::from(o.num)] -= i32::from(o.op);
                                }
                            }
                        }
                        Ok(Semop::Queued) => {
                            waiting.insert(t, sops);
                        }
                        Err(_) => {
                            let after: Vec<u16> = s.values().collect();
                            prop_assert_eq!(before, after, "a failed semop changes nothing");
                        }
                    }
                }
                Step::SetVal(n, v) => {
                    let n = n % nsems;
                    s.setval(usize::from(n), v, 9, 2, &mut woken);
                    for a in adj.values_mut() {
                        a[usize::from(n)] = 0;
                    }
                }
                Step::Cancel(t) => {
                    let got = s.cancel(|&w| w == t);
                    prop_assert_eq!(got.is_some(), waiting.remove(&t).is_some());
                }
                Step::Exit(t) => {
                    if waiting.contains_key(&t) {
                        continue;
                    }
                    let had = adj.remove(&t).is_some();
                    prop_assert_eq!(s.exit_undo(u64::from(t), u32::from(t), 3, &mut woken), had);
                }
            }
            for (t, r) in woken.drain(..) {
                let sops = waiting.remove(&t);
                prop_assert!(sops.is_some(), "token {} came back twice or unqueued", t);
                if r.is_ok() {
                    for o in sops.unwrap() {
                        if o.flg & SEM_UNDO != 0 {
                            adj.get_mut(&t).unwrap()[usize::from(o.num)] -= i32::from(o.op);
                        }
                    }
                }
            }
            prop_assert!(!s.runnable_waiter(), "a waiting operation could proceed");
            prop_assert_eq!(s.waiting(), waiting.len());
            for v in s.values() {
                prop_assert!(i32::from(v) <= SEMVMX);
            }
            for (t, a) in &adj {
                for (n, &x) in a.iter().enumerate() {
                    prop_assert_eq!(s.semadj(u64::from(*t), n), x);
                }
            }
        }
    }
}
