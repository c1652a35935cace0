//! The name set of one directory ([`crate::Ext2`] keeps the one entries
//! were last added to): sorted runs of at most [`RUN`] names, so every
//! allocation an insert makes is a `try_reserve` (a user creates names;
//! running out of memory drops the set, never the kernel).

use alloc::vec::Vec;

/// The most names in one run.
const RUN: usize = 128;

/// A set of names whose inserts are fallible.
#[derive(Default, Debug)]
pub(crate) struct NameSet {
    /// Non-empty sorted runs, each before the next; each run's capacity is
    /// [`RUN`], reserved when it is made.
    runs: Vec<Vec<Vec<u8>>>,
}

/// Memory ran out: the set is as it was.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NoMemory;

impl NameSet {
    /// The run `name` belongs in: the last whose first name is not after
    /// it (the first run for a name before all).
    fn run_of(&self, name: &[u8]) -> usize {
        match self.runs.binary_search_by(|r| r[0].as_slice().cmp(name)) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// Whether `name` is in the set.
    pub(crate) fn contains(&self, name: &[u8]) -> bool {
        if self.runs.is_empty() {
            return false;
        }
        self.runs[self.run_of(name)].binary_search_by(|n| n.as_slice().cmp(name)).is_ok()
    }

    /// Adds `name` (no change when it is there).
    pub(crate) fn insert(&mut self, name: Vec<u8>) -> Result<(), NoMemory> {
        if self.runs.is_empty() {
            self.runs.try_reserve(1).map_err(|_| NoMemory)?;
            let mut run = Vec::new();
            run.try_reserve_exact(RUN).map_err(|_| NoMemory)?;
            run.push(name);
            self.runs.push(run);
            return Ok(());
        }
        let mut i = self.run_of(&name);
        let Err(mut at) = self.runs[i].binary_search_by(|n| n.as_slice().cmp(&name)) else {
            return Ok(());
        };
        if self.runs[i].len() >= RUN {
            // split the full run in two halves
            self.runs.try_reserve(1).map_err(|_| NoMemory)?;
            let mut tail = Vec::new();
            tail.try_reserve_exact(RUN).map_err(|_| NoMemory)?;
            tail.extend(self.runs[i].drain(RUN / 2..));
            self.runs.insert(i + 1, tail);
            if at > RUN / 2 {
                i += 1;
                at -= RUN / 2;
            }
        }
        let run = &mut self.runs[i];
        // (the run's capacity was reserved: this does not allocate)
        run.try_reserve(1).map_err(|_| NoMemory)?;
        run.insert(at, name);
        Ok(())
    }

    /// Removes `name` if it is there.
    pub(crate) fn remove(&mut self, name: &[u8]) {
        if self.runs.is_empty() {
            return;
        }
        let i = self.run_of(name);
        if let Ok(at) = self.runs[i].binary_search_by(|n| n.as_slice().cmp(name)) {
            self.runs[i].remove(at);
            if self.runs[i].is_empty() {
                self.runs.remove(i);
            }
        }
    }

    /// How many names it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.runs.iter().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use alloc::collections::BTreeSet;
    use alloc::format;

    #[test]
    fn agrees_with_a_btreeset() {
        let mut set = NameSet::default();
        let mut model = BTreeSet::new();
        // a simple LCG: inserts and removes in a mixed order
        let mut x: u64 = 12345;
        for step in 0..20_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let name = format!("n{}", (x >> 33) % 3000).into_bytes();
            if step % 3 == 2 {
                set.remove(&name);
                model.remove(&name);
            } else {
                set.insert(name.clone()).unwrap();
                model.insert(name);
            }
            if step % 997 == 0 {
                assert_eq!(set.len(), model.len());
                let flat: Vec<&Vec<u8>> = set.runs.iter().flatten().collect();
                let want: Vec<&Vec<u8>> = model.iter().collect();
                assert_eq!(flat, want);
                assert!(set.runs.iter().all(|r| !r.is_empty() && r.len() <= RUN));
            }
        }
        for i in 0..3000 {
            let name = format!("n{i}").into_bytes();
            assert_eq!(set.contains(&name), model.contains(&name), "{i}");
        }
        assert!(!set.contains(b""));
        assert!(!set.contains(b"zzz"));
    }

    #[test]
    fn ascending_and_descending_fill() {
        let mut set = NameSet::default();
        for i in 0..1000 {
            set.insert(format!("{i:05}").into_bytes()).unwrap();
            set.insert(format!("z{:05}", 1000 - i).into_bytes()).unwrap();
        }
        assert_eq!(set.len(), 2000);
        set.insert(b"00005".to_vec()).unwrap();
        assert_eq!(set.len(), 2000);
        for i in 0..1000 {
            assert!(set.contains(format!("{i:05}").as_bytes()));
            set.remove(format!("{i:05}").as_bytes());
        }
        assert_eq!(set.len(), 1000);
        assert!(!set.contains(b"00010"));
    }
}
