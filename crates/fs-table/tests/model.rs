//! Property tests: random sequences of descriptor operations run on a
//! `FileTable` and on a plain reference model (a `BTreeMap` with linear
//! scans, written from the man pages) give the same results, the same
//! descriptor numbers, the same files and the same flags; and random
//! share / fork / unshare / close_range(CLOSE_RANGE_UNSHARE) / exec sequences
//! on `SharedFileTable` handles share and copy exactly as the model says.

use std::collections::BTreeMap;
use std::sync::Arc;

use fs_table::{
    CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE, FD_CLOEXEC, FileTable, NR_OPEN, O_CLOEXEC, Reserved,
};
use linux_abi::{Errno, Result};
use proptest::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Open { id: u32, cloexec: bool },
    Reserved { cloexec: bool },
}

/// The reference: descriptor number -> slot, searched linearly.
#[derive(Default)]
struct Model {
    map: BTreeMap<u32, Slot>,
}

impl Model {
    fn is_open(&self, fd: u32) -> Option<u32> {
        match self.map.get(&fd) {
            Some(Slot::Open { id, .. }) => Some(*id),
            _ => None,
        }
    }

    /// Lowest number >= min not in use, below RLIMIT_NOFILE and nr_open.
    fn lowest_free(&self, min: u32, nofile: u64) -> Result<u32> {
        let end = nofile.min(u64::from(NR_OPEN));
        (u64::from(min)..end).map(|fd| fd as u32).find(|fd| !self.map.contains_key(fd)).ok_or(Errno::EMFILE)
    }

    fn insert(&mut self, id: u32, cloexec: bool, nofile: u64) -> Result<u32> {
        let fd = self.lowest_free(0, nofile)?;
        self.map.insert(fd, Slot::Open { id, cloexec });
        Ok(fd)
    }

    fn reserve(&mut self, cloexec: bool, nofile: u64) -> Result<u32> {
        let fd = self.lowest_free(0, nofile)?;
        self.map.insert(fd, Slot::Reserved { cloexec });
        Ok(fd)
    }

    fn install(&mut self, fd: u32, id: u32) -> std::result::Result<u32, u32> {
        match self.map.get(&fd) {
            Some(Slot::Reserved { cloexec }) => {
                let cloexec = *cloexec;
                self.map.insert(fd, Slot::Open { id, cloexec });
                Ok(fd)
            }
            _ => Err(id),
        }
    }

    fn unreserve(&mut self, fd: u32) {
        if let Some(Slot::Reserved { .. }) = self.map.get(&fd) {
            self.map.remove(&fd);
        }
    }

    fn dup(&mut self, old: u32, nofile: u64) -> Result<u32> {
        let id = self.is_open(old).ok_or(Errno::EBADF)?;
        self.insert(id, false, nofile)
    }

    fn dupfd(&mut self, old: u32, min: u32, cloexec: bool, nofile: u64) -> Result<u32> {
        let id = self.is_open(old).ok_or(Errno::EBADF)?;
        if u64::from(min) >= nofile {
            return Err(Errno::EINVAL);
        }
        let fd = self.lowest_free(min, nofile)?;
        self.map.insert(fd, Slot::Open { id, cloexec });
        Ok(fd)
    }

    fn dup2(&mut self, old: u32, new: u32, nofile: u64) -> Result<Option<u32>> {
        if old == new {
            return self.is_open(old).map(|_| None).ok_or(Errno::EBADF);
        }
        self.dup3(old, new, 0, nofile)
    }

    fn dup3(&mut self, old: u32, new: u32, flags: u32, nofile: u64) -> Result<Option<u32>> {
        if flags & !O_CLOEXEC != 0 || old == new {
            return Err(Errno::EINVAL);
        }
        if u64::from(new) >= nofile || new >= NR_OPEN {
            return Err(Errno::EBADF);
        }
        let id = self.is_open(old).ok_or(Errno::EBADF)?;
        if let Some(Slot::Reserved { .. }) = self.map.get(&new) {
            return Err(Errno::EBUSY);
        }
        let replaced = self.is_open(new);
        let cloexec = flags & O_CLOEXEC != 0;
        self.map.insert(new, Slot::Open { id, cloexec });
        Ok(replaced)
    }

    fn close(&mut self, fd: u32) -> Result<u32> {
        let id = self.is_open(fd).ok_or(Errno::EBADF)?;
        self.map.remove(&fd);
        Ok(id)
    }

    fn close_range(&mut self, first: u32, last: u32, flags: u32) -> Result<Vec<u32>> {
        if flags & !(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE) != 0 || first > last {
            return Err(Errno::EINVAL);
        }
        let mut closed = Vec::new();
        let in_range: Vec<u32> = self.map.range(first..=last).map(|(fd, _)| *fd).collect();
        for fd in in_range {
            match self.map.get(&fd).copied() {
                Some(Slot::Open { id, .. }) if flags & CLOSE_RANGE_CLOEXEC != 0 => {
                    self.map.insert(fd, Slot::Open { id, cloexec: true });
                }
                Some(Slot::Open { id, .. }) => {
                    self.map.remove(&fd);
                    closed.push(id);
                }
                // Linux's __range_cloexec marks reserved numbers too.
                Some(Slot::Reserved { .. }) if flags & CLOSE_RANGE_CLOEXEC != 0 => {
                    self.map.insert(fd, Slot::Reserved { cloexec: true });
                }
                _ => {}
            }
        }
        Ok(closed)
    }

    fn exec(&mut self) -> Vec<u32> {
        let doomed: Vec<(u32, u32)> = self
            .map
            .iter()
            .filter_map(|(fd, s)| match s {
                Slot::Open { id, cloexec: true } => Some((*fd, *id)),
                _ => None,
            })
            .collect();
        for (fd, _) in &doomed {
            self.map.remove(fd);
        }
        // Linux's do_close_on_exec clears the flag of reserved numbers.
        for slot in self.map.values_mut() {
            if let Slot::Reserved { cloexec } = slot {
                *cloexec = false;
            }
        }
        doomed.into_iter().map(|(_, id)| id).collect()
    }

    fn fd_flags(&self, fd: u32) -> Result<u32> {
        match self.map.get(&fd) {
            Some(Slot::Open { cloexec, .. }) => Ok(if *cloexec { FD_CLOEXEC } else { 0 }),
            _ => Err(Errno::EBADF),
        }
    }

    fn set_fd_flags(&mut self, fd: u32, flags: u32) -> Result<()> {
        let id = self.is_open(fd).ok_or(Errno::EBADF)?;
        let cloexec = flags & FD_CLOEXEC != 0;
        self.map.insert(fd, Slot::Open { id, cloexec });
        Ok(())
    }

    fn fork(&self) -> Model {
        let map = self
            .map
            .iter()
            .filter(|(_, s)| matches!(s, Slot::Open { .. }))
            .map(|(fd, s)| (*fd, *s))
            .collect();
        Model { map }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Insert { cloexec: bool },
    Dup { old: u32 },
    Dup2 { old: u32, new: u32 },
    Dup3 { old: u32, new: u32, flags: u32 },
    DupFd { old: u32, min: u32, cloexec: bool },
    Close { fd: u32 },
    CloseRange { first: u32, last: u32, flags: u32 },
    Exec,
    SetFlags { fd: u32, flags: u32 },
    GetFlags { fd: u32 },
    Reserve { cloexec: bool },
    Install { which: usize },
    Unreserve { which: usize },
    Fork,
}

fn fd() -> impl Strategy<Value = u32> {
    prop_oneof![
        8 => 0u32..24,
        2 => 60u32..70,
        1 => 4090u32..4100,
        1 => Just(u32::MAX),
        1 => Just(NR_OPEN),
    ]
}

/// A descriptor that is likely open: low numbers most of the time.
fn old_fd() -> impl Strategy<Value = u32> {
    prop_oneof![3 => 0u32..6, 2 => fd()]
}

fn nofile() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => 8u64..24,
        1 => Just(0u64),
        1 => Just(1u64),
        2 => Just(70u64),
        2 => Just(4096u64),
        1 => Just(u64::MAX),
    ]
}

fn dup3_flags() -> impl Strategy<Value = u32> {
    prop_oneof![4 => Just(0), 4 => Just(O_CLOEXEC), 1 => Just(1), 1 => any::<u32>()]
}

fn range_flags() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => Just(0),
        3 => Just(CLOSE_RANGE_CLOEXEC),
        1 => Just(CLOSE_RANGE_UNSHARE),
        1 => Just(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC),
        1 => any::<u32>(),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => any::<bool>().prop_map(|cloexec| Op::Insert { cloexec }),
        3 => old_fd().prop_map(|old| Op::Dup { old }),
        3 => (old_fd(), fd()).prop_map(|(old, new)| Op::Dup2 { old, new }),
        3 => (old_fd(), fd(), dup3_flags()).prop_map(|(old, new, flags)| Op::Dup3 { old, new, flags }),
        3 => (old_fd(), fd(), any::<bool>()).prop_map(|(old, min, cloexec)| Op::DupFd { old, min, cloexec }),
        4 => fd().prop_map(|fd| Op::Close { fd }),
        2 => (fd(), fd(), range_flags()).prop_map(|(first, last, flags)| Op::CloseRange { first, last, flags }),
        1 => Just(Op::Exec),
        2 => (fd(), prop_oneof![Just(0u32), Just(1), any::<u32>()]).prop_map(|(fd, flags)| Op::SetFlags { fd, flags }),
        1 => fd().prop_map(|fd| Op::GetFlags { fd }),
        2 => any::<bool>().prop_map(|cloexec| Op::Reserve { cloexec }),
        2 => any::<usize>().prop_map(|which| Op::Install { which }),
        1 => any::<usize>().prop_map(|which| Op::Unreserve { which }),
        1 => Just(Op::Fork),
    ]
}

fn ids(files: Vec<Arc<u32>>) -> Vec<u32> {
    files.into_iter().map(|f| *f).collect()
}

/// Compares everything observable: open descriptors in order, their files
/// and flags, the count.
fn same_state(t: &FileTable<u32>, m: &Model) -> std::result::Result<(), TestCaseError> {
    let got: Vec<(u32, u32, u32)> = t.iter().map(|(fd, f)| (fd, **f, t.fd_flags(fd).unwrap_or(99))).collect();
    let want: Vec<(u32, u32, u32)> = m
        .map
        .iter()
        .filter_map(|(fd, s)| match s {
            Slot::Open { id, cloexec } => Some((*fd, *id, u32::from(*cloexec))),
            Slot::Reserved { .. } => None,
        })
        .collect();
    prop_assert_eq!(&got, &want);
    prop_assert_eq!(t.len(), want.len());
    prop_assert_eq!(t.is_empty(), want.is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn file_table_matches_the_reference_model(
        steps in proptest::collection::vec((op(), nofile()), 1..200),
    ) {
        let mut t: FileTable<u32> = FileTable::new();
        let mut m = Model::default();
        let mut pending: Vec<Reserved> = Vec::new();
        let mut next_id = 1000u32;
        for (op, nofile) in steps {
            next_id += 1;
            match op {
                Op::Insert { cloexec } => {
                    let got = t.insert(Arc::new(next_id), cloexec, nofile);
                    prop_assert_eq!(got, m.insert(next_id, cloexec, nofile));
                }
                Op::Dup { old } => prop_assert_eq!(t.dup(old, nofile), m.dup(old, nofile)),
                Op::Dup2 { old, new } => {
                    let got = t.dup2(old, new, nofile).map(|o| o.map(|f| *f));
                    prop_assert_eq!(got, m.dup2(old, new, nofile));
                }
                Op::Dup3 { old, new, flags } => {
                    let got = t.dup3(old, new, flags, nofile).map(|o| o.map(|f| *f));
                    prop_assert_eq!(got, m.dup3(old, new, flags, nofile));
                }
                Op::DupFd { old, min, cloexec } => {
                    let got = t.dupfd(old, min, cloexec, nofile);
                    prop_assert_eq!(got, m.dupfd(old, min, cloexec, nofile));
                }
                Op::Close { fd } => {
                    prop_assert_eq!(t.close(fd).map(|f| *f), m.close(fd));
                }
                Op::CloseRange { first, last, flags } => {
                    let got = t.close_range(first, last, flags).map(ids);
                    prop_assert_eq!(got, m.close_range(first, last, flags));
                }
                Op::Exec => prop_assert_eq!(ids(t.close_on_exec()), m.exec()),
                Op::SetFlags { fd, flags } => {
                    prop_assert_eq!(t.set_fd_flags(fd, flags), m.set_fd_flags(fd, flags));
                }
                Op::GetFlags { fd } => prop_assert_eq!(t.fd_flags(fd), m.fd_flags(fd)),
                Op::Reserve { cloexec } => {
                    let got = t.reserve(cloexec, nofile);
                    let want = m.reserve(cloexec, nofile);
                    prop_assert_eq!(got.as_ref().map(Reserved::fd).map_err(|e| *e), want);
                    if let Ok(r) = got {
                        pending.push(r);
                    }
                }
                Op::Install { which } => {
                    if !pending.is_empty() {
                        let r = pending.swap_remove(which % pending.len());
                        let fd = r.fd();
                        let got = t.install(r, Arc::new(next_id)).map_err(|f| *f);
                        prop_assert_eq!(got, m.install(fd, next_id));
                    }
                }
                Op::Unreserve { which } => {
                    if !pending.is_empty() {
                        let r = pending.swap_remove(which % pending.len());
                        m.unreserve(r.fd());
                        t.unreserve(r);
                    }
                }
                Op::Fork => {
                    let copy = t.try_clone().unwrap();
                    // The copy shares the parent's files.
                    for ((fd_a, a), (fd_b, b)) in t.iter().zip(copy.iter()) {
                        prop_assert_eq!(fd_a, fd_b);
                        prop_assert!(Arc::ptr_eq(a, b));
                    }
                    t = copy;
                    m = m.fork();
                }
            }
            same_state(&t, &m)?;
        }
    }
}

/// Operations on several handles that share or copy tables.
#[derive(Clone, Debug)]
enum HandleOp {
    Share { h: usize },
    Fork { h: usize },
    Unshare { h: usize },
    Drop { h: usize },
    Insert { h: usize, cloexec: bool },
    Close { h: usize, fd: u32 },
    CloseRange { h: usize, first: u32, last: u32, flags: u32 },
    Exec { h: usize },
}

fn handle_op() -> impl Strategy<Value = HandleOp> {
    let h = any::<usize>();
    let small = 0u32..12;
    prop_oneof![
        2 => h.prop_map(|h| HandleOp::Share { h }),
        2 => h.prop_map(|h| HandleOp::Fork { h }),
        2 => h.prop_map(|h| HandleOp::Unshare { h }),
        1 => h.prop_map(|h| HandleOp::Drop { h }),
        6 => (h, any::<bool>()).prop_map(|(h, cloexec)| HandleOp::Insert { h, cloexec }),
        3 => (h, small.clone()).prop_map(|(h, fd)| HandleOp::Close { h, fd }),
        3 => (h, small.clone(), small, range_flags())
            .prop_map(|(h, first, last, flags)| HandleOp::CloseRange { h, first, last, flags }),
        1 => h.prop_map(|h| HandleOp::Exec { h }),
    ]
}

/// The reference for sharing: handle -> table index; tables are plain maps.
type Table = BTreeMap<u32, (u32, bool)>;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn shared_handles_match_the_reference_model(
        ops in proptest::collection::vec(handle_op(), 1..120),
    ) {
        use fs_table::SharedFileTable;
        let mut handles: Vec<SharedFileTable<u32>> = vec![SharedFileTable::default()];
        let mut which: Vec<usize> = vec![0];
        let mut tables: Vec<Table> = vec![Table::new()];
        let mut next_id = 0u32;
        let owners = |which: &Vec<usize>, t: usize| which.iter().filter(|&&w| w == t).count();
        for op in ops {
            next_id += 1;
            match op {
                HandleOp::Share { h } => {
                    let h = h % handles.len();
                    handles.push(handles[h].share());
                    which.push(which[h]);
                }
                HandleOp::Fork { h } => {
                    let h = h % handles.len();
                    handles.push(handles[h].fork().unwrap());
                    tables.push(tables[which[h]].clone());
                    which.push(tables.len() - 1);
                }
                HandleOp::Unshare { h } => {
                    let h = h % handles.len();
                    handles[h].unshare().unwrap();
                    if owners(&which, which[h]) > 1 {
                        tables.push(tables[which[h]].clone());
                        which[h] = tables.len() - 1;
                    }
                }
                HandleOp::Drop { h } => {
                    if handles.len() > 1 {
                        let h = h % handles.len();
                        handles.swap_remove(h);
                        which.swap_remove(h);
                    }
                }
                HandleOp::Insert { h, cloexec } => {
                    let h = h % handles.len();
                    let got = handles[h].lock().insert(Arc::new(next_id), cloexec, 16);
                    let t = &mut tables[which[h]];
                    let want = (0u32..16).find(|fd| !t.contains_key(fd)).ok_or(Errno::EMFILE);
                    if let Ok(fd) = want {
                        t.insert(fd, (next_id, cloexec));
                    }
                    prop_assert_eq!(got, want);
                }
                HandleOp::Close { h, fd } => {
                    let h = h % handles.len();
                    let got = handles[h].close(fd).map(|f| *f);
                    let want = tables[which[h]].remove(&fd).map(|(id, _)| id).ok_or(Errno::EBADF);
                    prop_assert_eq!(got, want);
                }
                HandleOp::CloseRange { h, first, last, flags } => {
                    let h = h % handles.len();
                    let got = handles[h].close_range(first, last, flags).map(|v| v.len());
                    let valid = flags & !(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE) == 0
                        && first <= last;
                    if !valid {
                        prop_assert_eq!(got, Err(Errno::EINVAL));
                        continue;
                    }
                    let unshared = flags & CLOSE_RANGE_UNSHARE != 0 && owners(&which, which[h]) > 1;
                    if unshared {
                        tables.push(tables[which[h]].clone());
                        which[h] = tables.len() - 1;
                    }
                    let t = &mut tables[which[h]];
                    let in_range: Vec<u32> = t.range(first..=last).map(|(fd, _)| *fd).collect();
                    if flags & CLOSE_RANGE_CLOEXEC != 0 {
                        for fd in &in_range {
                            if let Some(e) = t.get_mut(fd) {
                                e.1 = true;
                            }
                        }
                        prop_assert_eq!(got, Ok(0));
                    } else {
                        for fd in &in_range {
                            t.remove(fd);
                        }
                        // An unshared copy never held the range: nothing returned.
                        prop_assert_eq!(got, Ok(if unshared { 0 } else { in_range.len() }));
                    }
                }
                HandleOp::Exec { h } => {
                    let h = h % handles.len();
                    handles[h].unshare().unwrap();
                    if owners(&which, which[h]) > 1 {
                        tables.push(tables[which[h]].clone());
                        which[h] = tables.len() - 1;
                    }
                    let closed = ids(handles[h].close_on_exec());
                    let t = &mut tables[which[h]];
                    let want: Vec<u32> = t.iter().filter(|(_, e)| e.1).map(|(_, e)| e.0).collect();
                    t.retain(|_, e| !e.1);
                    prop_assert_eq!(closed, want);
                }
            }
            // Every handle sees its table; handles share exactly as the model says.
            for (i, handle) in handles.iter().enumerate() {
                let got: Vec<(u32, u32, bool)> = {
                    let t = handle.lock();
                    t.iter().map(|(fd, f)| (fd, **f, t.fd_flags(fd) == Ok(FD_CLOEXEC))).collect()
                };
                let want: Vec<(u32, u32, bool)> =
                    tables[which[i]].iter().map(|(fd, (id, c))| (*fd, *id, *c)).collect();
                prop_assert_eq!(got, want);
                prop_assert_eq!(handle.is_shared(), owners(&which, which[i]) > 1);
                for (j, other) in handles.iter().enumerate() {
                    prop_assert_eq!(SharedFileTable::ptr_eq(handle, other), which[i] == which[j]);
                }
            }
        }
    }
}
