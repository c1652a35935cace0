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
            "cgroup.stat",
            "cpu.stat"
        ]
    );
    assert_eq!(h.files(a).count(), 12);
    assert_eq!(h.owner(a), Some((1000, 1000)));
    assert_eq!(read(&h, ROOT, FileKind::Controllers), "cpu memory pids\n");
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
    assert_eq!(h.files(a).count(), 15);
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
    // the zombie counts until it is reaped (pids_release)
    assert_eq!(read(&h, a, FileKind::PidsCurrent), "2\n");
    assert_eq!(read(&h, b, FileKind::Events), "populated 0\nfrozen 0\n");
    assert_eq!(h.charge_fork(1), Err(Errno::EAGAIN));
    h.reaped(2);
    assert_eq!(read(&h, a, FileKind::PidsCurrent), "1\n");
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
    assert_eq!(h.write(ROOT, FileKind::SubtreeControl, b"+nosuch"), Err(Errno::EINVAL));
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
    assert_eq!(h.write(a, FileKind::Freeze, b"1"), Ok(Effect::Freeze));
    assert_eq!(h.write(a, FileKind::Freeze, b"1"), Ok(Effect::None));
    assert_eq!(h.write(a, FileKind::Freeze, b"0\n"), Ok(Effect::Freeze));
    assert_eq!(h.write(a, FileKind::Freeze, b"-1"), Err(Errno::ERANGE));
    assert_eq!(h.write(a, FileKind::Freeze, b"x"), Err(Errno::EINVAL));
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

#[test]
fn clone_into_cgroup() {
    let mut h = h();
    let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
    let b = h.mkdir(a, b"b", (0, 0), 0o755).unwrap();
    // a new process straight into b: charged and counted there
    let g = h.charge_fork_into(1, b, false).unwrap();
    assert_eq!(g, b);
    h.forked_process(2, g);
    assert_eq!(h.group_of(2), b);
    assert_eq!(h.tasks(a), 1);
    assert_eq!(h.procs(ROOT).unwrap(), vec![1]);
    // a thread only into its process's own group
    assert_eq!(h.charge_fork_into(1, b, true), Err(Errno::EOPNOTSUPP));
    let g = h.charge_fork_into(2, b, true).unwrap();
    h.forked_thread(2, g);
    assert_eq!(h.tasks(b), 2);
    // the no-internal-process rule: a enables a controller and b is populated
    h.write(ROOT, FileKind::SubtreeControl, b"+pids").unwrap();
    h.write(a, FileKind::SubtreeControl, b"+pids").unwrap();
    assert_eq!(h.charge_fork_into(1, a, false), Err(Errno::EBUSY));
    assert_eq!(h.tasks(a), 2);
    // pids.max of the target, its event counted there
    h.write(b, FileKind::PidsMax, b"2").unwrap();
    assert_eq!(h.charge_fork_into(1, b, false), Err(Errno::EAGAIN));
    assert_eq!(read(&h, b, FileKind::PidsEvents), "max 1\n");
    assert_eq!(h.charge_fork(1).map(|g| g == ROOT), Ok(true));
    h.cancel_fork(ROOT);
    // a removed group
    let c = h.mkdir(ROOT, b"c", (0, 0), 0o755).unwrap();
    h.rmdir(c).unwrap();
    assert_eq!(h.charge_fork_into(1, c, false), Err(Errno::ENODEV));
    assert_eq!(h.tasks(ROOT), 3);
}

#[test]
fn freeze_and_frozen() {
    let mut h = h();
    let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
    let b = h.mkdir(a, b"b", (0, 0), 0o755).unwrap();
    let ev = |h: &Hierarchy<u32>, g| read(h, g, FileKind::Events);
    h.adopt(2, 2); // two tasks
    h.migrate(2, b).unwrap();
    assert!(!h.freezing(2) && !h.any_freezing());
    assert_eq!(h.write(a, FileKind::Freeze, b"1\n"), Ok(Effect::Freeze));
    assert!(h.freezing(2) && h.any_freezing() && !h.freezing(1));
    assert_eq!(read(&h, a, FileKind::Freeze), "1\n");
    assert_eq!(read(&h, b, FileKind::Freeze), "0\n");
    // frozen once every task is in the freezer's sleep
    assert_eq!(ev(&h, a), "populated 1\nfrozen 0\n");
    h.task_frozen(2, true);
    assert_eq!(ev(&h, b), "populated 1\nfrozen 0\n");
    h.task_frozen(2, true);
    h.task_frozen(2, true); // (no third task: ignored)
    assert_eq!(ev(&h, b), "populated 1\nfrozen 1\n");
    assert_eq!(ev(&h, a), "populated 1\nfrozen 1\n");
    // a new child of a freezing group is frozen at once, a fork into it is
    // not until it sleeps
    let c = h.mkdir(a, b"c", (0, 0), 0o755).unwrap();
    assert_eq!(ev(&h, c), "populated 0\nfrozen 1\n");
    let g = h.charge_fork_into(1, c, false).unwrap();
    h.forked_process(3, g);
    assert!(h.freezing(3));
    assert_eq!(ev(&h, c), "populated 1\nfrozen 0\n");
    assert_eq!(ev(&h, a), "populated 1\nfrozen 0\n");
    h.task_frozen(3, true);
    assert_eq!(ev(&h, a), "populated 1\nfrozen 1\n");
    // a frozen task that is killed leaves the sleep and exits
    h.task_frozen(3, false);
    h.task_exited(3);
    assert_eq!(ev(&h, c), "populated 0\nfrozen 1\n");
    assert_eq!(ev(&h, a), "populated 1\nfrozen 1\n");
    h.rmdir(c).unwrap();
    assert_eq!(ev(&h, a), "populated 1\nfrozen 1\n");
    // a group's own freeze survives a thaw from above
    h.write(b, FileKind::Freeze, b"1").unwrap();
    assert_eq!(h.write(a, FileKind::Freeze, b"0"), Ok(Effect::Freeze));
    assert!(h.freezing(2));
    assert_eq!(ev(&h, a), "populated 1\nfrozen 0\n");
    assert_eq!(ev(&h, b), "populated 1\nfrozen 1\n");
    // a frozen process moved out counts as frozen where it goes
    h.migrate(2, a).unwrap();
    assert!(!h.freezing(2));
    assert_eq!(ev(&h, b), "populated 0\nfrozen 1\n");
    assert_eq!(ev(&h, a), "populated 1\nfrozen 0\n");
    h.task_frozen(2, false);
    h.task_frozen(2, false);
    h.write(b, FileKind::Freeze, b"0").unwrap();
    assert_eq!(ev(&h, b), "populated 0\nfrozen 0\n");
    assert!(!h.any_freezing());
}

#[test]
fn cpu_stat_keeps_ended_time() {
    let mut h = h();
    let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
    let b = h.mkdir(a, b"b", (0, 0), 0o755).unwrap();
    let cs =
        |h: &Hierarchy<u32>, g, live| alloc::string::String::from_utf8(h.cpu_stat(g, live).unwrap()).unwrap();
    assert_eq!(cs(&h, a, (0, 0)), "usage_usec 0\nuser_usec 0\nsystem_usec 0\n");
    assert_eq!(h.read(a, FileKind::CpuStat), Err(Errno::EINVAL));
    assert_eq!(FileKind::CpuStat.mode(), 0o444);
    h.adopt(2, 1);
    h.migrate(2, b).unwrap();
    h.process_ended(2, 300, 20);
    h.task_exited(2);
    assert_eq!(cs(&h, b, (0, 0)), "usage_usec 320\nuser_usec 300\nsystem_usec 20\n");
    assert_eq!(cs(&h, a, (5, 5)), "usage_usec 330\nuser_usec 305\nsystem_usec 25\n");
    // a removed group's time stays with its parent
    h.rmdir(b).unwrap();
    assert_eq!(cs(&h, a, (0, 0)), "usage_usec 320\nuser_usec 300\nsystem_usec 20\n");
    assert!(
        cs(&h, ROOT, (1, 0)).starts_with("usage_usec 321\nuser_usec 301\nsystem_usec 20\nnr_periods 0\n")
    );
    assert_eq!(h.cpu_stat(b, (0, 0)), Err(Errno::ENODEV));
}

#[test]
fn cpu_time_of_a_process_is_charged_once_by_its_last_task() {
    // review40 #3: two tasks ending together each saw two live tasks, so
    // neither charged the process's time and usage_usec fell at the reap
    let mut h = h();
    let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
    let cs =
        |h: &Hierarchy<u32>, g| alloc::string::String::from_utf8(h.cpu_stat(g, (0, 0)).unwrap()).unwrap();
    h.adopt(2, 2);
    h.migrate(2, a).unwrap();
    // both read the time before their step; only the last charges it
    assert_eq!(h.task_exited_charging(2, (100, 10)), None);
    assert_eq!(h.task_exited_charging(2, (150, 20)), Some(a));
    assert_eq!(cs(&h, a), "usage_usec 170\nuser_usec 150\nsystem_usec 20\n");
    // what the other task added after the last one's read comes after
    h.charge_gone(a, (5, 0));
    assert_eq!(cs(&h, a), "usage_usec 175\nuser_usec 155\nsystem_usec 20\n");
    assert!(cs(&h, ROOT).starts_with("usage_usec 175\n"));
    assert_eq!(h.task_exited_charging(2, (1, 1)), None, "gone");
    assert!(!h.task_exited(2));
    h.adopt(3, 1);
    assert!(h.task_exited(3));
}

#[test]
fn a_moved_process_leaves_its_past_time_behind() {
    // review40 #3: a move took the process's whole time along, so the
    // group it left went back
    let mut h = h();
    let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
    let b = h.mkdir(ROOT, b"b", (0, 0), 0o755).unwrap();
    let a1 = h.mkdir(a, b"1", (0, 0), 0o755).unwrap();
    h.adopt(2, 1);
    h.migrate_charging(2, a1, (7, 0)).unwrap();
    assert_eq!(h.cpu_stat(ROOT, (0, 0)).unwrap()[..13], *b"usage_usec 7\n");
    let (procs, gone) = h.cpu_snapshot(a).unwrap();
    assert_eq!((procs, gone), (vec![(2, (7, 0))], (0, 0)));
    // 40 µs of user time in a/1, then to b
    h.migrate_charging(2, b, (47, 3)).unwrap();
    assert_eq!(h.cpu_snapshot(a).unwrap(), (vec![], (40, 3)));
    assert_eq!(h.cpu_snapshot(a1).unwrap(), (vec![], (40, 3)));
    assert_eq!(h.cpu_snapshot(b).unwrap(), (vec![(2, (47, 3))], (0, 0)));
    // its end in b charges b with its time since the move
    h.process_ended(2, 50, 3);
    h.task_exited(2);
    assert_eq!(h.cpu_snapshot(b).unwrap(), (vec![], (3, 0)));
    assert_eq!(h.cpu_snapshot(a).unwrap(), (vec![], (40, 3)));
    // a removed group's time stays in its parent's (kept for the subtree)
    h.rmdir(a1).unwrap();
    assert_eq!(h.cpu_snapshot(a).unwrap(), (vec![], (40, 3)));
    assert_eq!(h.cpu_snapshot(ROOT).unwrap().1, (50, 3));
}

#[test]
fn freeze_of_a_deep_subtree_and_a_thaw_from_above() {
    // review40 #17: set_freeze now finds the subtree before changing it
    let mut h = h();
    let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
    let b = h.mkdir(a, b"b", (0, 0), 0o755).unwrap();
    let c = h.mkdir(b, b"c", (0, 0), 0o755).unwrap();
    let d = h.mkdir(a, b"d", (0, 0), 0o755).unwrap();
    h.adopt(2, 1);
    h.migrate(2, c).unwrap();
    h.adopt(3, 1);
    h.migrate(3, d).unwrap();
    h.write(b, FileKind::Freeze, b"1").unwrap();
    assert_eq!(h.write(a, FileKind::Freeze, b"1"), Ok(Effect::Freeze));
    assert!(h.freezing(2) && h.freezing(3));
    assert_eq!(h.write(a, FileKind::Freeze, b"0"), Ok(Effect::Freeze));
    assert!(h.freezing(2) && !h.freezing(3));
    // under a freezing ancestor, a group's own write changes nothing yet
    h.write(a, FileKind::Freeze, b"1").unwrap();
    assert_eq!(h.write(b, FileKind::Freeze, b"0"), Ok(Effect::None));
    assert!(h.freezing(2));
    assert_eq!(h.write(a, FileKind::Freeze, b"0"), Ok(Effect::Freeze));
    assert!(!h.freezing(2) && !h.freezing(3));
    assert!(!h.any_freezing());
}

#[test]
fn cpu_controller_files() {
    let mut h = h();
    let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
    assert_eq!(h.read(a, FileKind::CpuMax), Err(Errno::ENOENT));
    h.write(ROOT, FileKind::SubtreeControl, b"+cpu").unwrap();
    assert_eq!(read(&h, ROOT, FileKind::SubtreeControl), "cpu\n");
    assert_eq!(read(&h, a, FileKind::Controllers), "cpu\n");
    assert_eq!(h.read(ROOT, FileKind::CpuMax), Err(Errno::ENOENT));
    assert_eq!(read(&h, a, FileKind::CpuMax), "max 100000\n");
    assert_eq!(read(&h, a, FileKind::CpuWeight), "100\n");
    let w = |h: &mut Hierarchy<u32>, k, d: &[u8]| h.write(a, k, d).map(|_| ());
    assert_eq!(w(&mut h, FileKind::CpuWeight, b"0"), Err(Errno::ERANGE));
    assert_eq!(w(&mut h, FileKind::CpuWeight, b"10001"), Err(Errno::ERANGE));
    assert_eq!(w(&mut h, FileKind::CpuWeight, b"x"), Err(Errno::EINVAL));
    w(&mut h, FileKind::CpuWeight, b"50\n").unwrap();
    assert_eq!(read(&h, a, FileKind::CpuWeight), "50\n");
    w(&mut h, FileKind::CpuMax, b"50000").unwrap();
    assert_eq!(read(&h, a, FileKind::CpuMax), "50000 100000\n");
    w(&mut h, FileKind::CpuMax, b"20000 40000\n").unwrap();
    assert_eq!(read(&h, a, FileKind::CpuMax), "20000 40000\n");
    w(&mut h, FileKind::CpuMax, b"max").unwrap();
    assert_eq!(read(&h, a, FileKind::CpuMax), "max 40000\n");
    for bad in [&b"999"[..], b"1000 999", b"1000 1000001", b"-5", b"maxx", b"", b"17592186044416"] {
        assert_eq!(w(&mut h, FileKind::CpuMax, bad), Err(Errno::EINVAL), "{bad:?}");
    }
    assert_eq!(read(&h, a, FileKind::CpuMax), "max 40000\n");
    let cs = alloc::string::String::from_utf8(h.cpu_stat(a, (3, 4)).unwrap()).unwrap();
    assert_eq!(
        cs,
        "usage_usec 7\nuser_usec 3\nsystem_usec 4\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n"
    );
    // disabled: the state goes with the css
    h.write(ROOT, FileKind::SubtreeControl, b"-cpu").unwrap();
    assert_eq!(h.cpu_stat(a, (0, 0)).unwrap(), b"usage_usec 0\nuser_usec 0\nsystem_usec 0\n");
    h.write(ROOT, FileKind::SubtreeControl, b"+cpu +pids").unwrap();
    assert_eq!(read(&h, ROOT, FileKind::SubtreeControl), "cpu pids\n");
    assert_eq!(read(&h, a, FileKind::CpuMax), "max 100000\n");
    assert_eq!(h.files(a).count(), 17);
}

#[derive(Clone, Debug)]
enum Op {
    Mkdir(usize, u8),
    Rmdir(usize),
    Fork(u32),
    ForkInto(u32, usize, bool),
    Thread(u32),
    Exit(u32),
    Migrate(u32, usize),
    Max(usize, u8),
    Enable(usize, bool),
    Freeze(usize, bool),
    Sleep(u32, bool),
    Reap(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..8usize, 0..4u8).prop_map(|(g, n)| Op::Mkdir(g, n)),
        (0..8usize).prop_map(Op::Rmdir),
        (0..6u32).prop_map(Op::Fork),
        (0..6u32, 0..8usize, any::<bool>()).prop_map(|(k, g, t)| Op::ForkInto(k, g, t)),
        (0..6u32).prop_map(Op::Thread),
        (0..6u32).prop_map(Op::Exit),
        (0..6u32, 0..8usize).prop_map(|(k, g)| Op::Migrate(k, g)),
        (0..8usize, 0..5u8).prop_map(|(g, m)| Op::Max(g, m)),
        (0..8usize, any::<bool>()).prop_map(|(g, on)| Op::Enable(g, on)),
        (0..8usize, any::<bool>()).prop_map(|(g, on)| Op::Freeze(g, on)),
        (0..6u32, any::<bool>()).prop_map(|(k, e)| Op::Sleep(k, e)),
        (0..6u32).prop_map(Op::Reap),
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
        let mut frozen_self: BTreeSet<GroupId> = BTreeSet::new();
        // process -> its tasks in the freezer's sleep
        let mut sleeping: BTreeMap<u32, u32> = BTreeMap::new();
        // process whose last task ended, not reaped -> its group and the
        // ancestors it had then
        let mut zombies: BTreeMap<u32, Vec<GroupId>> = BTreeMap::new();
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
                Op::ForkInto(k, g, thread) => {
                    if let Some(&p) = live.keys().nth(k as usize % live.len().max(1)) {
                        let to = groups[g % groups.len()];
                        let before = h.tasks(to);
                        match h.charge_fork_into(p, to, thread) {
                            Ok(c) => {
                                prop_assert_eq!(c, to);
                                if thread {
                                    h.forked_thread(p, c);
                                    *live.get_mut(&p).unwrap() += 1;
                                } else {
                                    h.forked_process(next, c);
                                    live.insert(next, 1);
                                    next += 1;
                                }
                            }
                            Err(e) => {
                                prop_assert!([Errno::EAGAIN, Errno::EBUSY, Errno::EOPNOTSUPP].contains(&e));
                                prop_assert_eq!(h.tasks(to), before);
                            }
                        }
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
                        if let Some(s) = sleeping.get_mut(&p) && *s > 0 {
                            *s -= 1;
                            h.task_frozen(p, false);
                        }
                        let mut chain = Vec::new();
                        let mut at = Some(h.group_of(p));
                        while let Some(a) = at { chain.push(a); at = h.parent(a); }
                        h.task_exited(p);
                        let n = live.get_mut(&p).unwrap();
                        *n -= 1;
                        if *n == 0 { live.remove(&p); zombies.insert(p, chain); }
                    }
                }
                Op::Reap(k) => {
                    if let Some(&z) = zombies.keys().nth(k as usize % zombies.len().max(1)) {
                        zombies.remove(&z);
                        h.reaped(z);
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
                Op::Freeze(g, on) => {
                    let x = groups[g % groups.len()];
                    if x != ROOT {
                        h.write(x, FileKind::Freeze, if on { b"1" } else { b"0" }).unwrap();
                        if on { frozen_self.insert(x); } else { frozen_self.remove(&x); }
                    }
                }
                Op::Sleep(k, enter) => {
                    if let Some(&p) = live.keys().nth(k as usize % live.len().max(1)) {
                        let n = sleeping.entry(p).or_insert(0);
                        let tasks = live[&p];
                        if enter && *n < tasks { *n += 1; }
                        if !enter && *n > 0 { *n -= 1; }
                        h.task_frozen(p, enter);
                    }
                }
            }
            groups.retain(|g| h.exists(*g));
            frozen_self.retain(|g| h.exists(*g));
            sleeping.retain(|k, _| live.contains_key(k));
            // "frozen", as Linux defines it, from scratch: the group or an
            // ancestor freezes, every live task of its own sleeps, and so
            // does every task below it in a freezing group
            fn frozen_naive(
                h: &Hierarchy<u32>, g: GroupId, groups: &[GroupId], frozen_self: &BTreeSet<GroupId>,
                live: &BTreeMap<u32, u32>, sleeping: &BTreeMap<u32, u32>,
            ) -> bool {
                let e = groups.iter().any(|&a| frozen_self.contains(&a) && h.is_descendant(g, a));
                let own = live.iter().filter(|&(&k, _)| h.group_of(k) == g)
                    .all(|(k, &n)| sleeping.get(k).copied().unwrap_or(0) >= n);
                e && own && groups.iter().filter(|&&c| h.parent(c) == Some(g))
                    .all(|&c| frozen_naive(h, c, groups, frozen_self, live, sleeping))
            }
            for &g in &groups {
                if g != ROOT {
                    let f = frozen_naive(&h, g, &groups, &frozen_self, &live, &sleeping);
                    let ev = alloc::format!("populated {}\nfrozen {}\n", u8::from(h.populated(g)), u8::from(f));
                    prop_assert_eq!(h.read(g, FileKind::Events).unwrap(), ev.into_bytes());
                    let e = groups.iter().any(|&a| frozen_self.contains(&a) && h.is_descendant(g, a));
                    prop_assert_eq!(live.keys().filter(|&&k| h.group_of(k) == g).all(|&k| h.freezing(k) == e), true);
                }
                let want: u64 = live
                    .iter()
                    .filter(|&(&k, _)| h.is_descendant(h.group_of(k), g))
                    .map(|(_, &n)| u64::from(n))
                    .sum();
                prop_assert_eq!(h.tasks(g), want);
                // pids.current: those and the zombies charged here or below
                let z = zombies.values().filter(|chain| chain.contains(&g)).count() as u64;
                prop_assert_eq!(h.pids_charged(g), want + z);
                let desc = groups.iter().filter(|&&y| y != g && h.is_descendant(y, g)).count();
                let stat = alloc::format!("nr_descendants {desc}\nnr_dying_descendants 0\n");
                prop_assert_eq!(h.read(g, FileKind::Stat).unwrap(), stat.into_bytes());
                let procs = h.procs(g).unwrap();
                prop_assert!(procs.iter().all(|&k| h.group_of(k) == g && live.contains_key(&k)));
            }
        }
    }
}

#[test]
fn zombies_keep_their_pids_charge_past_rmdir() {
    let mut h = h();
    h.write(ROOT, FileKind::SubtreeControl, b"+pids").unwrap();
    let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
    let b = h.mkdir(a, b"b", (0, 0), 0o755).unwrap();
    h.write(a, FileKind::PidsMax, b"1").unwrap();
    h.migrate(1, b).unwrap();
    h.task_exited(1);
    // not populated (rmdir may go), still charged
    assert!(!h.populated(b));
    assert_eq!(read(&h, a, FileKind::PidsCurrent), "1\n");
    h.rmdir(b).unwrap();
    assert_eq!(read(&h, a, FileKind::PidsCurrent), "1\n");
    h.adopt(2, 1);
    h.migrate(2, a).unwrap();
    assert_eq!(h.charge_fork(2), Err(Errno::EAGAIN));
    h.reaped(1);
    assert_eq!(read(&h, a, FileKind::PidsCurrent), "1\n");
    h.reaped(1);
    assert_eq!(read(&h, a, FileKind::PidsCurrent), "1\n");
    h.task_exited(2);
    h.rmdir(a).unwrap();
    // a dying a: its charge still reaches the root
    assert_eq!(h.pids_charged(ROOT), 1);
    h.reaped(2);
    assert_eq!(h.pids_charged(ROOT), 0);
    // the reap told before the last task's exit (the exit hook runs after
    // the table lock, a waiter on another CPU may reap first)
    let c = h.mkdir(ROOT, b"c", (0, 0), 0o755).unwrap();
    h.adopt(3, 1);
    h.migrate(3, c).unwrap();
    h.reaped(3);
    h.task_exited(3);
    assert_eq!(h.pids_charged(c), 0);
    assert_eq!(h.pids_charged(ROOT), 0);
    // a thread clone that ends after its process's exit and reap leaves
    // nothing (the kernel enters it, then finds its record gone)
    h.adopt(4, 1);
    h.migrate(4, c).unwrap();
    let g = h.charge_fork(4).unwrap();
    h.task_exited(4);
    h.reaped(4);
    h.forked_thread(4, g);
    h.task_exited(4);
    assert_eq!(h.pids_charged(c), 0);
    assert!(!h.populated(c));
}

#[test]
fn memory_controller_files_and_counters() {
    let mut h = h();
    let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
    let b = h.mkdir(a, b"b", (0, 0), 0o755).unwrap();
    assert_eq!(h.read(a, FileKind::MemoryCurrent), Err(Errno::ENOENT));
    h.write(ROOT, FileKind::SubtreeControl, b"+memory").unwrap();
    assert_eq!(read(&h, a, FileKind::Controllers), "memory\n");
    assert_eq!(read(&h, a, FileKind::MemoryCurrent), "0\n");
    assert_eq!(read(&h, a, FileKind::MemoryMax), "max\n");
    assert_eq!(read(&h, a, FileKind::MemoryHigh), "max\n");
    assert_eq!(read(&h, a, FileKind::MemoryLow), "0\n");
    assert_eq!(read(&h, a, FileKind::MemoryMin), "0\n");
    assert_eq!(read(&h, a, FileKind::MemorySwapMax), "max\n");
    assert_eq!(read(&h, a, FileKind::MemorySwapCurrent), "0\n");
    assert_eq!(read(&h, a, FileKind::MemoryOomGroup), "0\n");
    assert_eq!(
        read(&h, a, FileKind::MemoryEvents),
        "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"
    );
    assert_eq!(h.read(ROOT, FileKind::MemoryCurrent), Err(Errno::ENOENT));
    assert_eq!(h.read(b, FileKind::MemoryCurrent), Err(Errno::ENOENT));
    assert_eq!(FileKind::MemoryCurrent.mode(), 0o444);
    assert_eq!(FileKind::MemoryMax.mode(), 0o644);
    // limits: page_counter_memparse, read back in whole pages
    h.write(a, FileKind::MemoryMax, b"1000000\n").unwrap();
    assert_eq!(read(&h, a, FileKind::MemoryMax), "999424\n");
    h.write(a, FileKind::MemoryHigh, b"16M").unwrap();
    assert_eq!(read(&h, a, FileKind::MemoryHigh), "16777216\n");
    assert_eq!(h.write(a, FileKind::MemoryMax, b"12x"), Err(Errno::EINVAL));
    assert_eq!(h.write(a, FileKind::MemoryMax, b"-1"), Err(Errno::EINVAL));
    assert_eq!(h.write(a, FileKind::MemoryOomGroup, b"2"), Err(Errno::EINVAL));
    assert_eq!(h.write(a, FileKind::MemoryOomGroup, b"x"), Err(Errno::EINVAL));
    h.write(a, FileKind::MemoryOomGroup, b"1").unwrap();
    assert!(h.oom_group(a));
    assert_eq!(h.write(a, FileKind::MemoryCurrent, b"0"), Err(Errno::EINVAL));
    // charges at b count in a and the root; the lowest group over its
    // limit is the one to OOM-kill in
    let mb = h.mem_counters(b).unwrap();
    mb.charge(200, 50);
    assert_eq!(read(&h, a, FileKind::MemoryCurrent), "819200\n");
    assert_eq!(h.mem_counters(ROOT).unwrap().current(), 200);
    assert_eq!(read(&h, a, FileKind::MemoryStat), "anon 614400\nfile 204800\n");
    assert_eq!(mb.over_limit(), None);
    mb.charge(50, 0);
    assert_eq!(mb.over_limit(), Some(a));
    mb.event(MemEvent::Max);
    mb.event(MemEvent::OomKill);
    assert_eq!(
        read(&h, a, FileKind::MemoryEvents),
        "low 0\nhigh 0\nmax 1\noom 0\noom_kill 1\noom_group_kill 0\n"
    );
    assert_eq!(
        h.read(a, FileKind::MemoryEventsLocal).unwrap(),
        b"low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"
    );
    mb.uncharge(250, 50);
    assert_eq!(read(&h, a, FileKind::MemoryCurrent), "0\n");
    assert_eq!(read(&h, a, FileKind::MemoryPeak), "1024000\n");
    // a limit under the charge asks for the group's OOM killer
    mb.charge(10, 0);
    assert_eq!(h.write(a, FileKind::MemoryMax, b"8K"), Ok(Effect::MemoryOom));
    assert_eq!(h.write(a, FileKind::MemoryMax, b"max"), Ok(Effect::None));
    mb.uncharge(10, 0);
    // the no-internal-process rule: a domain controller is not enabled
    // below a group with processes, nor a process moved into a group
    // that enables one
    h.adopt(1, 1);
    h.migrate(1, a).unwrap();
    assert_eq!(h.write(a, FileKind::SubtreeControl, b"+memory"), Err(Errno::EBUSY));
    h.migrate(1, ROOT).unwrap();
    h.write(a, FileKind::SubtreeControl, b"+memory").unwrap();
    assert_eq!(h.migrate(1, a), Err(Errno::EBUSY));
    assert_eq!(h.charge_fork_into(1, a, false), Err(Errno::EBUSY));
    assert_eq!(read(&h, b, FileKind::MemoryCurrent), "0\n");
    // off and on again: a new css (limits and events start over)
    h.write(a, FileKind::SubtreeControl, b"-memory").unwrap();
    h.write(ROOT, FileKind::SubtreeControl, b"-memory").unwrap();
    assert_eq!(h.read(a, FileKind::MemoryMax), Err(Errno::ENOENT));
    h.write(ROOT, FileKind::SubtreeControl, b"+memory").unwrap();
    assert_eq!(read(&h, a, FileKind::MemoryOomGroup), "0\n");
    assert_eq!(read(&h, a, FileKind::MemoryHigh), "max\n");
    assert_eq!(h.read(a, FileKind::MemoryEvents).unwrap(), h.read(a, FileKind::MemoryEventsLocal).unwrap());
}

#[test]
fn chown_and_chmod_are_kept() {
    let mut h = h();
    let d = h.mkdir(ROOT, b"d", (0, 0), 0o755).unwrap();
    assert_eq!(h.file_attrs(d, FileKind::Procs), Some((0, 0, 0o644)));
    assert_eq!(h.file_attrs(d, FileKind::Kill), Some((0, 0, 0o200)));
    h.set_file_attrs(d, None, None, Some(1000), Some(1000));
    h.set_file_attrs(d, Some(FileKind::Procs), Some(0o664), Some(1000), None);
    assert_eq!(h.owner(d), Some((1000, 1000)));
    assert_eq!(h.mode(d), Some(0o755));
    assert_eq!(h.file_attrs(d, FileKind::Procs), Some((1000, 0, 0o664)));
    assert_eq!(h.file_attrs(d, FileKind::SubtreeControl), Some((0, 0, 0o644)));
    h.set_file_attrs(d, None, Some(0o40700), None, None);
    assert_eq!(h.mode(d), Some(0o700));
    // a group made by the delegatee is its own, files and all
    let a = h.mkdir(d, b"a", (1000, 1000), 0o755).unwrap();
    assert_eq!(h.file_attrs(a, FileKind::Procs), Some((1000, 1000, 0o644)));
    assert_eq!(h.file_attrs(GroupId::from_raw(999), FileKind::Procs), None);
}

#[test]
fn memory_high_throttles_with_linux_penalty_and_counts_high() {
    let mut h = h();
    h.write(ROOT, FileKind::SubtreeControl, b"+memory").unwrap();
    let a = h.mkdir(ROOT, b"a", (0, 0), 0o755).unwrap();
    h.write(a, FileKind::SubtreeControl, b"+memory").unwrap();
    let b = h.mkdir(a, b"b", (0, 0), 0o755).unwrap();
    let (ma, mb) = (h.mem_counters(a).unwrap(), h.mem_counters(b).unwrap());
    // no high limit: never over, nothing counted, no sleep
    mb.charge(1000, 0);
    assert_eq!(mb.over_limits(), (None, false));
    assert_eq!(mb.handle_over_high(HIGH_BATCH), 0);
    assert_eq!(ma.events(MemEvent::High, false), 0);
    // calculate_high_delay: twice the limit is an overage of 1 << 20, a
    // penalty of 64 * HZ jiffies for a batch (capped at 2 s by the caller)
    assert_eq!(high_delay(HIGH_BATCH, 1 << 20), 64 * HZ);
    assert_eq!(high_delay(HIGH_BATCH / 2, 1 << 20), 32 * HZ);
    assert_eq!(high_delay(HIGH_BATCH, 0), 0);
    // a's high at 990 pages: 1 % over -> 0.0256 s, one jiffy's rounding:
    // under HZ/100, not slept; one reclaim try, one "high" in a (the
    // group over its limit: local there, and in its events)
    h.write(a, FileKind::MemoryHigh, b"4055040").unwrap(); // 990 pages
    assert_eq!(mb.over_limits(), (None, true));
    assert_eq!(ma.over_limits(), (None, true));
    assert_eq!(mb.handle_over_high(HIGH_BATCH), 0);
    assert_eq!(ma.events(MemEvent::High, true), 1);
    assert_eq!(ma.events(MemEvent::High, false), 1);
    assert_eq!(mb.events(MemEvent::High, false), 0);
    assert_eq!(
        read(&h, a, FileKind::MemoryEvents),
        "low 0\nhigh 1\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"
    );
    // 50 % over: 16 * HZ jiffies, capped at 2 * HZ; the sleep comes after
    // the 16 retries that reclaimed nothing: 17 "high" each time
    mb.charge(485, 0); // 1485 = 990 * 1.5
    assert_eq!(mb.handle_over_high(HIGH_BATCH), 2 * HZ);
    assert_eq!(ma.events(MemEvent::High, true), 18);
    // b over its own limit too: counted in b (local) and in a's events
    h.write(b, FileKind::MemoryHigh, b"0").unwrap();
    assert_eq!(mb.handle_over_high(1), 2 * HZ);
    assert_eq!(mb.events(MemEvent::High, true), 17);
    assert_eq!(ma.events(MemEvent::High, true), 35);
    assert_eq!(ma.events(MemEvent::High, false), 52);
    // memory.max comes first in the walk; high is still told
    h.write(a, FileKind::MemoryMax, b"4096").unwrap();
    assert_eq!(mb.over_limits(), (Some(a), true));
    // back under: nothing
    mb.uncharge(1485, 0);
    h.write(b, FileKind::MemoryHigh, b"max").unwrap();
    assert_eq!(mb.over_limits(), (None, false));
    assert_eq!(mb.handle_over_high(HIGH_BATCH), 0);
    assert_eq!(read(&h, b, FileKind::MemoryHigh), "max\n");
}
