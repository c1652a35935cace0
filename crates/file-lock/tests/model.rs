//! Property tests: sequences of set/unlock/release on a [`LockTable`]
//! against a naive model, a map from each byte of a small file to the lock
//! each owner holds on it.

use file_lock::{Kind, LockTable, Range, SetError};
use proptest::prelude::*;

const BYTES: u64 = 24;
const OWNERS: usize = 3;

/// byte -> per owner: its lock kind there
type Model = Vec<[Option<Kind>; OWNERS]>;

#[derive(Clone, Debug)]
enum Op {
    Set(usize, Option<Kind>, u64, u64),
    Release(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let kind = prop_oneof![Just(None), Just(Some(Kind::Read)), Just(Some(Kind::Write))];
    prop_oneof![
        8 => (0..OWNERS, kind, 0..BYTES, 0..BYTES).prop_map(|(o, k, a, b)| Op::Set(o, k, a.min(b), a.max(b))),
        1 => (0..OWNERS).prop_map(Op::Release),
    ]
}

fn conflicts(m: &Model, owner: usize, kind: Kind, s: u64, e: u64) -> bool {
    (s..=e).any(|b| {
        m[b as usize].iter().enumerate().any(|(o, k)| o != owner && k.is_some_and(|k| k.conflicts(kind)))
    })
}

fn check(t: &LockTable<usize>, m: &Model) {
    // the table says the same as the model byte by byte
    for (b, held) in m.iter().enumerate() {
        for (o, k) in held.iter().enumerate() {
            let got: Vec<Kind> = t
                .locks()
                .iter()
                .filter(|l| l.owner == o && l.range.start <= b as u64 && b as u64 <= l.range.end)
                .map(|l| l.kind)
                .collect();
            assert_eq!(got, k.iter().copied().collect::<Vec<_>>(), "byte {b} owner {o}");
        }
    }
    // an owner's locks: together, sorted, not overlapping, same kinds not touching
    let mut seen = Vec::new();
    for w in t.locks().windows(2) {
        if w[0].owner == w[1].owner {
            assert!(w[0].range.end < w[1].range.start);
            if w[0].kind == w[1].kind {
                assert!(w[0].range.end + 1 < w[1].range.start, "unmerged {w:?}");
            }
        } else {
            seen.push(w[0].owner);
            assert!(!seen.contains(&w[1].owner), "owner split: {:?}", t.locks());
        }
    }
}

proptest! {
    #[test]
    fn table_matches_model(ops in proptest::collection::vec(op(), 1..40)) {
        let mut t: LockTable<usize> = LockTable::new();
        let mut m: Model = vec![[None; OWNERS]; BYTES as usize];
        for op in ops {
            match op {
                Op::Set(o, k, s, e) => {
                    let range = Range::new(s, e).unwrap();
                    let blocked = k.is_some_and(|k| conflicts(&m, o, k, s, e));
                    // test agrees with the model, and finds a real conflict
                    if let Some(k) = k {
                        let tested = t.test(&o, k, range);
                        prop_assert_eq!(tested.is_some(), blocked);
                        if let Some(l) = tested {
                            prop_assert!(l.owner != o && l.kind.conflicts(k) && l.range.overlaps(&range));
                        }
                    }
                    match t.set(&o, o as i32, k, range) {
                        Ok(()) => {
                            prop_assert!(!blocked);
                            for b in s..=e {
                                m[b as usize][o] = k;
                            }
                        }
                        Err(SetError::Blocked(l)) => {
                            prop_assert!(blocked);
                            prop_assert!(l.owner != o);
                        }
                        Err(SetError::NoMemory) => prop_assert!(false, "no memory"),
                    }
                }
                Op::Release(o) => {
                    let had = m.iter().any(|h| h[o].is_some());
                    prop_assert_eq!(t.release(&o), had);
                    for h in m.iter_mut() {
                        h[o] = None;
                    }
                }
            }
            check(&t, &m);
        }
    }
}

proptest! {
    /// flock: at most one lock per owner, an exclusive lock alone, and a
    /// request is refused exactly when another owner's lock conflicts.
    #[test]
    fn flock_invariants(ops in proptest::collection::vec((0..OWNERS, prop_oneof![Just(None), Just(Some(Kind::Read)), Just(Some(Kind::Write))]), 1..40)) {
        let mut t: file_lock::FlockTable<usize> = file_lock::FlockTable::new();
        for (o, k) in ops {
            let before = t.held(&o);
            let others_conflict = k.is_some_and(|k| t.locks().iter().any(|(p, h)| *p != o && h.conflicts(k)));
            let r = t.lock(&o, k).unwrap();
            match r {
                Ok(_) => {
                    prop_assert!(before == k || !others_conflict);
                    prop_assert_eq!(t.held(&o), k);
                }
                Err(b) => {
                    prop_assert!(others_conflict && before != k);
                    prop_assert_eq!(b.released, before.is_some());
                    prop_assert_eq!(t.held(&o), None);
                }
            }
            let n = t.locks().len();
            let writers = t.locks().iter().filter(|(_, h)| *h == Kind::Write).count();
            prop_assert!(writers == 0 || n == 1);
            for (i, (a, _)) in t.locks().iter().enumerate() {
                prop_assert!(t.locks()[i + 1..].iter().all(|(b, _)| b != a));
            }
        }
    }
}
