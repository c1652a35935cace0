use super::*;
use alloc::vec;
use proptest::prelude::*;

fn h() -> Hierarchy<u32> {
    let mut h = Hierarchy::new();
    h.adopt(1, 1);
    h
}

fn read(h: &Hierarchy<u32>, g: GroupId, k: FileKind) -> alloc::string::String {
    alloc::string::String::from_utf8(h.read(g, k).unwrap()).unwrap()
}

#[test]
fn files_of_root_and_child() {
    let mut h = h();
    let a = h.mkdir(ROOT, b"a", (1000, 1000), 0o40700).unwrap();
    assert_eq!((h.mode(a), h.mode(ROOT)), (Some(0o700), Some(0o555)));
    let root: Vec<&str> = h.files(ROOT).map(FileKind::name).collect();
    assert_eq!(
        root,
        [
            "cgroup.procs",
            "cgroup.threads",
            "cgroup.controllers",
            "cgroup.subtree_control",
            "cgroup.max.descendants",
            "cgroup.max.depth",
            "cgroup.stat"
        ]
    );
    assert_eq!(h.files(a).count(), 11);
    assert_eq!(h.owner(a), Some((1000, 1000)));
    assert_eq!(read(&h, ROOT, FileKind::Controllers), "pids\n");
    assert_eq!(read(&h, ROOT, FileKind::SubtreeControl), "");
    assert_eq!(read(&h, a, FileKind::Controllers), "");
    assert_eq!(read(&h, a, FileKind::Type), "domain\n");
    assert_eq!(read(&h, a, FileKind::Events), "populated 0\nfrozen 0\n");
    assert_eq!(read(&h, a, FileKind::Freeze), "0\n");
    assert_eq!(read(&h, a, FileKind::MaxDepth), "max\n");
    assert_eq!(read(&h, ROOT, FileKind::Stat), "nr_descendants 1\nnr_dying_descendants 0\n");
    assert_eq!(h.read(a, FileKind::PidsMax), Err(Errno::ENOENT));
    assert_eq!(h.read(ROOT, FileKind::Events), Err(Errno::ENOENT));
    assert_eq!(h.read(a, FileKind::Kill), Err(Errno::EINVAL));
    // enabling pids gives the child its files
    h.write(ROOT, FileKind::SubtreeControl, b"+pids\n").unwrap();
    assert_eq!(read(&h, ROOT, FileKind::SubtreeControl), "pids\n");
    assert_eq!(read(&h, a, FileKind::Controllers), "pids\n");
    assert_eq!(h.files(a).count(), 14);
    assert_eq!(read(&h, a, FileKind::PidsMax), "max\n");
    assert_eq!(read(&h, a, FileKind::PidsCurrent), "0\n");
    assert_eq!(read(&h, a, FileKind::PidsEvents), "max 0\n");
    assert_eq!(h.read(ROOT, FileKind::PidsMax), Err(Errno::ENOENT));
    assert_eq!(FileKind::by_name(b"pids.max"), Some(FileKind::PidsMax));
    assert_eq!(FileKind::Kill.mode(), 0o200);
    assert_eq!(FileKind::Stat.mode(), 0o444);
}

#[test]
fn mkdir_rmdir_rules() {
    let mut h = h();
    let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
    assert_eq!(h.mkdir(ROOT, b"a", (0, 0), 0o755), Err(Errno::EEXIST));
    assert_eq!(h.mkdir(ROOT, b"cgroup.procs", (0, 0), 0o755), Err(Errno::EEXIST));
    assert_eq!(h.mkdir(ROOT, b"x\ny", (0, 0), 0o755), Err(Errno::EINVAL));
    let b = h.mkdir(a, b"b", (0, 0), 0o755).unwrap();
    assert_eq!(h.rmdir(a), Err(Errno::EBUSY));
    assert_eq!(h.rmdir(ROOT), Err(Errno::EBUSY));
    h.migrate(1, b).unwrap();
    assert_eq!(read(&h, a, FileKind::Events), "populated 1\nfrozen 0\n");
    assert_eq!(h.rmdir(b), Err(Errno::EBUSY));
    h.migrate(1, ROOT).unwrap();
    assert_eq!(read(&h, a, FileKind::Events), "populated 0\nfrozen 0\n");
    h.rmdir(b).unwrap();
    assert_eq!(h.rmdir(b), Err(Errno::ENODEV));
    assert_eq!(h.migrate(1, b), Err(Errno::ENODEV));
    assert_eq!(h.child(a, b"b"), None);
    assert_eq!(read(&h, ROOT, FileKind::Stat), "nr_descendants 1\nnr_dying_descendants 0\n");
    h.rmdir(a).unwrap();
    // the limits: depth and descendants, checked up the tree
    h.write(ROOT, FileKind::MaxDepth, b"1").unwrap();
    let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
    assert_eq!(h.mkdir(a, b"b", (0, 0), 0o755), Err(Errno::EAGAIN));
    h.write(ROOT, FileKind::MaxDepth, b"max").unwrap();
    h.write(a, FileKind::MaxDescendants, b"1").unwrap();
    let b = h.mkdir(a, b"b", (0, 0), 0o755).unwrap();
    assert_eq!(h.mkdir(a, b"c", (0, 0), 0o755), Err(Errno::EAGAIN));
    assert_eq!(h.mkdir(b, b"c", (0, 0), 0o755), Err(Errno::EAGAIN));
    assert_eq!(read(&h, a, FileKind::MaxDescendants), "1\n");
    assert_eq!(h.write(a, FileKind::MaxDescendants, b"-1"), Err(Errno::ERANGE));
    assert_eq!(h.write(a, FileKind::MaxDescendants, b"x"), Err(Errno::EINVAL));
    assert_eq!(h.write(a, FileKind::MaxDepth, b"2147483648"), Err(Errno::ERANGE));
    assert_eq!(h.write(a, FileKind::Stat, b"1"), Err(Errno::EINVAL));
}

#[test]
fn paths_from_namespace_roots() {
    let mut h = h();
    let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
    let b = h.mkdir(a, b"b", (0, 0), 0o755).unwrap();
    let c = h.mkdir(a, b"c", (0, 0), 0o755).unwrap();
    let p = |to, from| alloc::string::String::from_utf8(h.path_from(to, from).unwrap()).unwrap();
    assert_eq!(p(b, ROOT), "/a/b");
    assert_eq!(p(ROOT, ROOT), "/");
    assert_eq!(p(b, b), "/");
    assert_eq!(p(b, a), "/b");
    assert_eq!(p(c, b), "/../c");
    assert_eq!(p(ROOT, b), "/../..");
    assert_eq!(p(a, b), "/..");
    assert_eq!(h.common_ancestor(b, c), a);
    assert_eq!(h.common_ancestor(b, ROOT), ROOT);
    assert!(h.is_descendant(b, a) && !h.is_descendant(a, b));
}

#[test]
fn pids_limit_and_events() {
    let mut h = h();
    h.write(ROOT, FileKind::SubtreeControl, b"+pids").unwrap();
    let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
    let b = h.mkdir(a, b"b", (0, 0), 0o755).unwrap();
    h.write(a, FileKind::PidsMax, b"2").unwrap();
    assert_eq!(read(&h, a, FileKind::PidsMax), "2\n");
    h.migrate(1, a).unwrap();
    let g = h.charge_fork(1).unwrap();
    assert_eq!(g, a);
    h.forked_process(2, g);
    assert_eq!(h.charge_fork(1), Err(Errno::EAGAIN));
    assert_eq!(h.charge_fork(2), Err(Errno::EAGAIN));
    assert_eq!(read(&h, a, FileKind::PidsEvents), "max 2\n");
    assert_eq!(read(&h, a, FileKind::PidsCurrent), "2\n");
    assert_eq!(h.procs(a).unwrap(), vec![1, 2]);
    // b has no pids css (a does not enable it): charged through a
    h.migrate(2, b).unwrap();
    assert_eq!(h.charge_fork(2), Err(Errno::EAGAIN));
    assert_eq!(read(&h, a, FileKind::PidsEvents), "max 3\n");
    h.task_exited(2);
    assert_eq!(h.group_of(2), ROOT);
    let g = h.charge_fork(1).unwrap();
    h.forked_thread(1, g);
    assert_eq!(read(&h, a, FileKind::PidsCurrent), "2\n");
    // a migration is charged beyond the limit
    h.write(a, FileKind::PidsMax, b"0").unwrap();
    h.adopt(7, 3);
    h.migrate(7, a).unwrap();
    assert_eq!(read(&h, a, FileKind::PidsCurrent), "5\n");
    assert_eq!(h.write(a, FileKind::PidsMax, b"-1"), Err(Errno::EINVAL));
    assert_eq!(h.write(a, FileKind::PidsMax, b"4194305"), Err(Errno::EINVAL));
    h.write(a, FileKind::PidsMax, b"4194304").unwrap();
    assert_eq!(read(&h, a, FileKind::PidsMax), "4194304\n");
    let g = h.charge_fork(1).unwrap();
    h.cancel_fork(g);
    assert_eq!(read(&h, a, FileKind::PidsCurrent), "5\n");
    // disabling takes the child's pids state
    h.write(a, FileKind::SubtreeControl, b"+pids").unwrap();
    assert_eq!(h.write(ROOT, FileKind::SubtreeControl, b"-pids"), Err(Errno::EBUSY));
    h.write(a, FileKind::SubtreeControl, b"-pids").unwrap();
    h.write(ROOT, FileKind::SubtreeControl, b"-pids").unwrap();
    assert_eq!(h.read(a, FileKind::PidsMax), Err(Errno::ENOENT));
    h.write(ROOT, FileKind::SubtreeControl, b"+pids").unwrap();
    assert_eq!(read(&h, a, FileKind::PidsMax), "max\n");
    assert_eq!(read(&h, a, FileKind::PidsEvents), "max 0\n");
}

#[test]
fn subtree_control_and_internal_processes() {
    let mut h = h();
    let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
    let b = h.mkdir(a, b"b", (0, 0), 0o755).unwrap();
    assert_eq!(h.write(ROOT, FileKind::SubtreeControl, b"+memory"), Err(Errno::EINVAL));
    assert_eq!(h.write(ROOT, FileKind::SubtreeControl, b"pids"), Err(Errno::EINVAL));
    assert_eq!(h.write(a, FileKind::SubtreeControl, b"+pids"), Err(Errno::ENOENT));
    // "-" of what is not on, and empty writes, do nothing
    h.write(a, FileKind::SubtreeControl, b"-pids").unwrap();
    h.write(a, FileKind::SubtreeControl, b"  ").unwrap();
    h.write(ROOT, FileKind::SubtreeControl, b"+pids -pids +pids").unwrap();
    assert_eq!(read(&h, ROOT, FileKind::SubtreeControl), "pids\n");
    // a process in a (pids only: a could become a thread root)
    h.migrate(1, a).unwrap();
    h.write(a, FileKind::SubtreeControl, b"+pids").unwrap();
    h.adopt(5, 1);
    h.migrate(5, b).unwrap();
    // a now has a populated child and a controller on: no process may join
    h.migrate(1, ROOT).unwrap();
    assert_eq!(h.migrate(1, a), Err(Errno::EBUSY));
    assert_eq!(h.vet_destination(ROOT), Ok(()));
    h.write(a, FileKind::SubtreeControl, b"-pids").unwrap();
    h.migrate(1, a).unwrap();
    assert_eq!(h.migrate_thread(1, b), Err(Errno::EOPNOTSUPP));
    assert_eq!(h.migrate_thread(1, a), Ok(()));
    assert_eq!(h.write(a, FileKind::Type, b"threaded"), Err(Errno::EOPNOTSUPP));
    assert_eq!(h.write(a, FileKind::Type, b"domain"), Err(Errno::EINVAL));
    assert_eq!(h.write(a, FileKind::Freeze, b"1"), Err(Errno::EOPNOTSUPP));
    assert_eq!(h.write(a, FileKind::Freeze, b"0\n"), Ok(Effect::None));
    assert_eq!(h.write(a, FileKind::Freeze, b"2"), Err(Errno::ERANGE));
    assert_eq!(h.write(a, FileKind::Kill, b"1"), Ok(Effect::Kill));
    assert_eq!(h.write(a, FileKind::Kill, b"0"), Err(Errno::ERANGE));
    let mut below = h.procs_below(a).unwrap();
    below.sort();
    assert_eq!(below, vec![1, 5]);
    assert_eq!(parse_pid(b" 12\n"), Ok(12));
    assert_eq!(parse_pid(b"-1"), Err(Errno::EINVAL));
    assert_eq!(parse_pid(b"1 2"), Err(Errno::EINVAL));
    assert_eq!(parse_pid(b"99999999999"), Err(Errno::EINVAL));
}

#[derive(Clone, Debug)]
enum Op {
    Mkdir(usize, u8),
    Rmdir(usize),
    Fork(u32),
    Thread(u32),
    Exit(u32),
    Migrate(u32, usize),
    Max(usize, u8),
    Enable(usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..8usize, 0..4u8).prop_map(|(g, n)| Op::Mkdir(g, n)),
        (0..8usize).prop_map(Op::Rmdir),
        (0..6u32).prop_map(Op::Fork),
        (0..6u32).prop_map(Op::Thread),
        (0..6u32).prop_map(Op::Exit),
        (0..6u32, 0..8usize).prop_map(|(k, g)| Op::Migrate(k, g)),
        (0..8usize, 0..5u8).prop_map(|(g, m)| Op::Max(g, m)),
        (0..8usize, any::<bool>()).prop_map(|(g, on)| Op::Enable(g, on)),
    ]
}

proptest! {
    /// Whatever happens, each group's count is the live tasks of the
    /// processes in it and below, nr_descendants its descendants, a
    /// populated group is never removed, and cgroup.procs lists only the
    /// group's own live processes.
    #[test]
    fn counts_stay_consistent(ops in proptest::collection::vec(op(), 1..80)) {
        let mut h: Hierarchy<u32> = Hierarchy::new();
        let mut live: BTreeMap<u32, u32> = BTreeMap::new(); // process -> tasks
        let mut groups = vec![ROOT];
        let mut next = 10u32;
        for o in ops {
            match o {
                Op::Mkdir(g, n) => {
                    let p = groups[g % groups.len()];
                    if let Ok(c) = h.mkdir(p, &[b'a' + n], (0, 0), 0o755) {
                        groups.push(c);
                    }
                }
                Op::Rmdir(g) => {
                    let x = groups[g % groups.len()];
                    let pop = h.populated(x);
                    let r = h.rmdir(x);
                    if pop { prop_assert_eq!(r, Err(Errno::EBUSY)); }
                    if r.is_ok() { groups.retain(|&y| y != x); }
                }
                Op::Fork(k) => {
                    let parent = live.keys().nth(k as usize % live.len().max(1)).copied();
                    let parent = parent.unwrap_or(1);
                    if live.is_empty() { h.adopt(1, 1); live.insert(1, 1); }
                    if let Ok(g) = h.charge_fork(parent) {
                        h.forked_process(next, g);
                        live.insert(next, 1);
                        next += 1;
                    }
                }
                Op::Thread(k) => {
                    if let Some(&p) = live.keys().nth(k as usize % live.len().max(1))
                        && let Ok(g) = h.charge_fork(p)
                    {
                        h.forked_thread(p, g);
                        *live.get_mut(&p).unwrap() += 1;
                    }
                }
                Op::Exit(k) => {
                    if let Some(&p) = live.keys().nth(k as usize % live.len().max(1)) {
                        h.task_exited(p);
                        let n = live.get_mut(&p).unwrap();
                        *n -= 1;
                        if *n == 0 { live.remove(&p); }
                    }
                }
                Op::Migrate(k, g) => {
                    if let Some(&p) = live.keys().nth(k as usize % live.len().max(1)) {
                        let _ = h.migrate(p, groups[g % groups.len()]);
                    }
                }
                Op::Max(g, m) => {
                    let x = groups[g % groups.len()];
                    let _ = h.write(x, FileKind::PidsMax, &[b'0' + m]);
                }
                Op::Enable(g, on) => {
                    let x = groups[g % groups.len()];
                    let _ = h.write(x, FileKind::SubtreeControl, if on { b"+pids" } else { b"-pids" });
                }
            }
            for &g in &groups {
                let want: u64 = live
                    .iter()
                    .filter(|&(&k, _)| h.is_descendant(h.group_of(k), g))
                    .map(|(_, &n)| u64::from(n))
                    .sum();
                prop_assert_eq!(h.tasks(g), want);
                let desc = groups.iter().filter(|&&y| y != g && h.is_descendant(y, g)).count();
                let stat = alloc::format!("nr_descendants {desc}\nnr_dying_descendants 0\n");
                prop_assert_eq!(h.read(g, FileKind::Stat).unwrap(), stat.into_bytes());
                let procs = h.procs(g).unwrap();
                prop_assert!(procs.iter().all(|&k| h.group_of(k) == g && live.contains_key(&k)));
            }
        }
    }
}
