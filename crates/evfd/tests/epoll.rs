//! epoll's ready list: level, edge and one-shot reports, re-arming with
//! MOD, maxevents and the rotation, EEXIST/ENOENT/EINVAL, gone files, and
//! the argument rules of epoll_ctl and epoll_wait.

use evfd::epoll::*;
use evfd::testing::FakeFile;
use linux_abi::Errno;
use proptest::prelude::*;

type List = Interest<FakeFile, u32>;

fn add(l: &mut List, fd: u32, f: &FakeFile, events: u32, data: u64) {
    assert!(matches!(l.ctl(EPOLL_CTL_ADD, fd, f.clone(), events, data, |_, _| fd), Ok(Ctl::Added)));
}

/// A wait after wake-ups from every file (the rules' tests: which items
/// report and in what order; the ready list's own tests mark by hand).
fn wait(l: &mut List, max: usize) -> Vec<(u32, u64)> {
    l.mark_all();
    l.collect(max)
}

fn ready(l: &mut List) -> bool {
    l.mark_all();
    l.any_ready()
}

#[test]
fn nothing_ready_reports_nothing() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLIN, 7);
    assert!(!ready(&mut l));
    assert!(wait(&mut l, 10).is_empty());
}

#[test]
fn level_triggered_reports_while_ready() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLIN, 7);
    f.event(EPOLLIN);
    assert!(ready(&mut l));
    assert_eq!(wait(&mut l, 10), vec![(EPOLLIN, 7)]);
    assert_eq!(wait(&mut l, 10), vec![(EPOLLIN, 7)], "still readable: again");
    f.set_ready(0);
    assert!(wait(&mut l, 10).is_empty());
}

#[test]
fn only_asked_events_are_reported() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLOUT, 1);
    f.event(EPOLLIN);
    assert!(wait(&mut l, 10).is_empty());
    f.event(EPOLLIN | EPOLLOUT);
    assert_eq!(wait(&mut l, 10), vec![(EPOLLOUT, 1)]);
}

#[test]
fn err_and_hup_are_always_reported() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLIN, 1);
    assert_eq!(l.iter().next().unwrap().events(), EPOLLIN | EPOLLERR | EPOLLHUP);
    f.event(EPOLLHUP | EPOLLOUT);
    assert_eq!(wait(&mut l, 10), vec![(EPOLLHUP, 1)]);
}

#[test]
fn zero_events_still_get_err_and_hup() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, 0, 1);
    f.event(EPOLLERR | EPOLLIN);
    assert_eq!(wait(&mut l, 10), vec![(EPOLLERR, 1)]);
}

#[test]
fn edge_triggered_reports_once_per_event() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLIN | EPOLLET, 9);
    f.event(EPOLLIN);
    assert_eq!(wait(&mut l, 10), vec![(EPOLLIN, 9)]);
    assert!(wait(&mut l, 10).is_empty(), "no new event");
    assert!(!ready(&mut l));
    f.event(EPOLLIN);
    assert_eq!(wait(&mut l, 10), vec![(EPOLLIN, 9)], "a second write while readable");
}

#[test]
fn edge_triggered_reports_a_new_bit_without_an_event() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLIN | EPOLLOUT | EPOLLET, 9);
    f.event(EPOLLOUT);
    assert_eq!(wait(&mut l, 10), vec![(EPOLLOUT, 9)]);
    f.set_ready(EPOLLOUT | EPOLLIN);
    assert_eq!(wait(&mut l, 10), vec![(EPOLLIN | EPOLLOUT, 9)]);
}

#[test]
fn edge_triggered_ready_before_add_reports_once() {
    let mut l = List::new();
    let f = FakeFile::new();
    f.event(EPOLLIN);
    add(&mut l, 3, &f, EPOLLIN | EPOLLET, 9);
    assert_eq!(wait(&mut l, 10), vec![(EPOLLIN, 9)]);
    assert!(wait(&mut l, 10).is_empty());
}

#[test]
fn edge_after_falling_and_rising_reports_again() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLIN | EPOLLET, 9);
    f.event(EPOLLIN);
    wait(&mut l, 10);
    f.set_ready(0);
    assert!(wait(&mut l, 10).is_empty());
    f.set_ready(EPOLLIN);
    assert_eq!(wait(&mut l, 10), vec![(EPOLLIN, 9)], "readiness rose since the last look");
}

#[test]
fn oneshot_disarms_after_one_report() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLIN | EPOLLONESHOT, 4);
    f.event(EPOLLIN);
    assert_eq!(wait(&mut l, 10), vec![(EPOLLIN, 4)]);
    assert_eq!(l.iter().next().unwrap().events(), EPOLLONESHOT);
    f.event(EPOLLIN | EPOLLHUP);
    assert!(wait(&mut l, 10).is_empty(), "not even HUP");
}

#[test]
fn mod_rearms_a_oneshot_item() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLIN | EPOLLONESHOT, 4);
    f.event(EPOLLIN);
    wait(&mut l, 10);
    assert!(matches!(
        l.ctl(EPOLL_CTL_MOD, 3, f.clone(), EPOLLIN | EPOLLONESHOT, 5, |_, _| 0),
        Ok(Ctl::Modified)
    ));
    assert_eq!(wait(&mut l, 10), vec![(EPOLLIN, 5)], "ready now: reported with the new data");
}

#[test]
fn mod_rearms_an_edge_item() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLIN | EPOLLET, 4);
    f.event(EPOLLIN);
    wait(&mut l, 10);
    l.ctl(EPOLL_CTL_MOD, 3, f.clone(), EPOLLIN | EPOLLET, 4, |_, _| 0).unwrap();
    assert_eq!(wait(&mut l, 10), vec![(EPOLLIN, 4)]);
}

#[test]
fn mod_changes_events_to_level() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLIN | EPOLLET, 4);
    f.event(EPOLLIN);
    wait(&mut l, 10);
    l.ctl(EPOLL_CTL_MOD, 3, f.clone(), EPOLLIN, 4, |_, _| 0).unwrap();
    assert_eq!(wait(&mut l, 10).len(), 1);
    assert_eq!(wait(&mut l, 10).len(), 1);
}

#[test]
fn add_twice_is_eexist() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLIN, 0);
    let mut made = false;
    assert!(matches!(
        l.ctl(EPOLL_CTL_ADD, 3, f.clone(), EPOLLIN, 0, |_, _| {
            made = true;
            0
        }),
        Err(Errno::EEXIST)
    ));
    assert!(!made, "no relay is made for a refused add");
    assert_eq!(l.len(), 1);
}

#[test]
fn same_file_under_two_fds_is_two_items() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLIN, 30);
    add(&mut l, 4, &f, EPOLLIN, 40);
    f.event(EPOLLIN);
    assert_eq!(wait(&mut l, 10), vec![(EPOLLIN, 30), (EPOLLIN, 40)]);
}

#[test]
fn same_fd_number_of_another_file_is_another_item() {
    let mut l = List::new();
    let (a, b) = (FakeFile::new(), FakeFile::new());
    add(&mut l, 3, &a, EPOLLIN, 1);
    add(&mut l, 3, &b, EPOLLIN, 2);
    assert_eq!(l.len(), 2);
}

#[test]
fn del_and_mod_of_a_missing_item_are_enoent() {
    let mut l = List::new();
    let f = FakeFile::new();
    assert!(matches!(l.ctl(EPOLL_CTL_DEL, 3, f.clone(), 0, 0, |_, _| 0), Err(Errno::ENOENT)));
    assert!(matches!(l.ctl(EPOLL_CTL_MOD, 3, f.clone(), 0, 0, |_, _| 0), Err(Errno::ENOENT)));
}

#[test]
fn del_hands_back_the_item() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLIN, 0);
    match l.ctl(EPOLL_CTL_DEL, 3, f.clone(), 0, 0, |_, _| 0) {
        Ok(Ctl::Removed(it)) => assert_eq!((it.fd, it.extra), (3, 3)),
        other => panic!("{other:?}"),
    }
    assert!(l.is_empty());
}

#[test]
fn unknown_op_is_einval() {
    let mut l = List::new();
    let f = FakeFile::new();
    assert!(matches!(l.ctl(0, 3, f.clone(), 0, 0, |_, _| 0), Err(Errno::EINVAL)));
    assert!(matches!(l.ctl(4, 3, f.clone(), 0, 0, |_, _| 0), Err(Errno::EINVAL)));
}

#[test]
fn mod_of_an_exclusive_item_is_einval() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLIN | EPOLLEXCLUSIVE, 0);
    assert!(matches!(l.ctl(EPOLL_CTL_MOD, 3, f.clone(), EPOLLIN, 0, |_, _| 0), Err(Errno::EINVAL)));
}

#[test]
fn maxevents_limits_and_rotation_serves_everyone() {
    let mut l = List::new();
    let files: Vec<FakeFile> = (0..3).map(|_| FakeFile::new()).collect();
    for (i, f) in files.iter().enumerate() {
        add(&mut l, i as u32, f, EPOLLIN, i as u64);
        f.event(EPOLLIN);
    }
    assert_eq!(wait(&mut l, 2), vec![(EPOLLIN, 0), (EPOLLIN, 1)]);
    assert_eq!(wait(&mut l, 2), vec![(EPOLLIN, 2), (EPOLLIN, 0)]);
    assert_eq!(wait(&mut l, 2), vec![(EPOLLIN, 1), (EPOLLIN, 2)]);
}

#[test]
fn edge_items_keep_their_place() {
    let mut l = List::new();
    let (a, b) = (FakeFile::new(), FakeFile::new());
    add(&mut l, 1, &a, EPOLLIN | EPOLLET, 1);
    add(&mut l, 2, &b, EPOLLIN, 2);
    a.event(EPOLLIN);
    b.event(EPOLLIN);
    assert_eq!(wait(&mut l, 10), vec![(EPOLLIN, 1), (EPOLLIN, 2)]);
    let order: Vec<u32> = l.iter().map(|i| i.fd).collect();
    assert_eq!(order, vec![1, 2]);
}

#[test]
fn gone_files_are_pruned_with_their_extra() {
    let mut l = List::new();
    let (a, b) = (FakeFile::new(), FakeFile::new());
    add(&mut l, 1, &a, EPOLLIN, 1);
    add(&mut l, 2, &b, EPOLLIN, 2);
    a.event(EPOLLIN);
    a.close();
    assert!(!ready(&mut l), "a gone file reports nothing");
    let mut gone = Vec::new();
    l.prune(|it| gone.push(it.extra));
    assert_eq!(gone, vec![1]);
    assert_eq!(l.len(), 1);
}

#[test]
fn probe_does_not_consume_an_edge() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 3, &f, EPOLLIN | EPOLLET, 1);
    f.event(EPOLLIN);
    assert!(ready(&mut l));
    assert!(ready(&mut l));
    assert_eq!(wait(&mut l, 10).len(), 1);
    assert!(!ready(&mut l));
}

/// A file whose poll tells a change once (mountinfo's POLLPRI): the
/// wait's check peeks, so the report that follows still has it.
#[test]
fn probe_peeks_and_the_report_takes_a_bit_told_once() {
    let mut l = List::new();
    let f = FakeFile::new();
    f.set_ready(EPOLLIN);
    add(&mut l, 3, &f, EPOLLPRI, 1);
    f.event_once(EPOLLPRI | EPOLLERR);
    assert!(ready(&mut l));
    assert!(ready(&mut l));
    assert_eq!(wait(&mut l, 10), vec![(EPOLLPRI | EPOLLERR, 1)]);
    assert!(!ready(&mut l));
    assert!(wait(&mut l, 10).is_empty());
}

#[test]
fn only_marked_items_are_looked_at() {
    let mut l = List::new();
    let (a, b) = (FakeFile::new(), FakeFile::new());
    add(&mut l, 1, &a, EPOLLIN, 1);
    add(&mut l, 2, &b, EPOLLIN, 2);
    assert_eq!(l.ready_len(), 2, "added items are looked at once");
    assert!(l.collect(10).is_empty());
    assert_eq!(l.ready_len(), 0, "items that do not report leave the ready list");
    b.event(EPOLLIN);
    assert!(!l.any_ready(), "a change nobody signalled is not seen");
    assert!(l.collect(10).is_empty());
    let slot = l.slots().find(|(_, i)| i.fd == 2).unwrap().0;
    l.mark(slot);
    l.mark(slot);
    assert_eq!(l.ready_len(), 1, "marked once");
    assert!(l.any_ready());
    assert_eq!(l.collect(10), vec![(EPOLLIN, 2)]);
    assert_eq!(l.collect(10), vec![(EPOLLIN, 2)], "level-triggered: stays on the ready list");
    b.set_ready(0);
    assert!(l.collect(10).is_empty());
    assert_eq!(l.ready_len(), 0);
}

#[test]
fn edge_and_oneshot_items_leave_the_ready_list() {
    let mut l = List::new();
    let (a, b) = (FakeFile::new(), FakeFile::new());
    a.event(EPOLLIN);
    b.event(EPOLLIN);
    add(&mut l, 1, &a, EPOLLIN | EPOLLET, 1);
    add(&mut l, 2, &b, EPOLLIN | EPOLLONESHOT, 2);
    assert_eq!(l.collect(10), vec![(EPOLLIN, 1), (EPOLLIN, 2)]);
    assert_eq!(l.ready_len(), 0);
    a.event(EPOLLIN);
    l.mark_all();
    assert_eq!(l.collect(10), vec![(EPOLLIN, 1)], "the one-shot item stays disarmed");
}

#[test]
fn sticky_items_are_looked_at_every_time() {
    let mut l = List::new();
    let f = FakeFile::new();
    add(&mut l, 1, &f, EPOLLIN, 1);
    l.stick(0);
    assert!(l.collect(10).is_empty());
    assert_eq!(l.ready_len(), 1);
    f.set_ready(EPOLLIN);
    assert_eq!(l.collect(10), vec![(EPOLLIN, 1)]);
}

#[test]
fn marking_follows_wake_up_order_and_maxevents_keeps_the_rest() {
    let mut l = List::new();
    let files: Vec<FakeFile> = (0..4).map(|_| FakeFile::new()).collect();
    for (i, f) in files.iter().enumerate() {
        add(&mut l, i as u32, f, EPOLLIN | EPOLLET, i as u64);
    }
    assert!(l.collect(10).is_empty());
    for i in [3u32, 1, 2] {
        files[i as usize].event(EPOLLIN);
        l.mark(i);
    }
    assert_eq!(l.collect(2), vec![(EPOLLIN, 3), (EPOLLIN, 1)]);
    assert_eq!(l.ready_len(), 1);
    assert_eq!(l.collect(2), vec![(EPOLLIN, 2)]);
}

#[test]
fn removed_items_leave_the_ready_list_and_slots_are_reused() {
    let mut l = List::new();
    let (a, b, c) = (FakeFile::new(), FakeFile::new(), FakeFile::new());
    a.event(EPOLLIN);
    add(&mut l, 1, &a, EPOLLIN, 1);
    add(&mut l, 2, &b, EPOLLIN, 2);
    assert!(matches!(l.ctl(EPOLL_CTL_DEL, 1, a.clone(), 0, 0, |_, _| 0), Ok(Ctl::Removed(_))));
    assert_eq!(l.ready_len(), 1);
    let mut got = None;
    l.ctl(EPOLL_CTL_ADD, 3, c.clone(), EPOLLIN, 3, |_, s| {
        got = Some(s);
        3
    })
    .unwrap();
    assert_eq!(got, Some(0), "the freed slot");
    c.event(EPOLLIN);
    assert_eq!(l.collect(10), vec![(EPOLLIN, 3)]);
    a.close();
    b.close();
    assert!(l.prune_due() || l.len() == 2);
    let mut gone = Vec::new();
    l.prune(|it| gone.push(it.fd));
    assert_eq!(gone, vec![2]);
    l.mark_where(|x| *x == 3);
    assert_eq!(l.collect(10), vec![(EPOLLIN, 3)]);
}

#[test]
fn exclusive_rules() {
    assert_eq!(check_exclusive(EPOLL_CTL_ADD, EPOLLIN | EPOLLEXCLUSIVE, false), Ok(()));
    assert_eq!(check_exclusive(EPOLL_CTL_ADD, EPOLLIN | EPOLLET | EPOLLEXCLUSIVE, false), Ok(()));
    assert_eq!(check_exclusive(EPOLL_CTL_ADD, EPOLLIN | EPOLLEXCLUSIVE, true), Err(Errno::EINVAL));
    assert_eq!(
        check_exclusive(EPOLL_CTL_ADD, EPOLLIN | EPOLLONESHOT | EPOLLEXCLUSIVE, false),
        Err(Errno::EINVAL)
    );
    assert_eq!(check_exclusive(EPOLL_CTL_ADD, EPOLLPRI | EPOLLEXCLUSIVE, false), Err(Errno::EINVAL));
    assert_eq!(check_exclusive(EPOLL_CTL_ADD, EPOLLRDHUP | EPOLLEXCLUSIVE, false), Err(Errno::EINVAL));
    assert_eq!(check_exclusive(EPOLL_CTL_MOD, EPOLLIN | EPOLLEXCLUSIVE, false), Err(Errno::EINVAL));
    assert_eq!(check_exclusive(EPOLL_CTL_MOD, EPOLLIN, false), Ok(()));
    assert_eq!(check_exclusive(EPOLL_CTL_DEL, u32::MAX, true), Ok(()));
}

#[test]
fn wait_argument_rules() {
    assert_eq!(check_wait(1, 0x1000), Ok(1));
    assert_eq!(check_wait(0, 0x1000), Err(Errno::EINVAL));
    assert_eq!(check_wait(u64::from(u32::MAX), 0x1000), Err(Errno::EINVAL), "-1");
    assert_eq!(check_wait(MAX_EVENTS as u64, 0x1000), Ok(MAX_EVENTS as usize));
    assert_eq!(
        check_wait(MAX_EVENTS as u64, USER_END - 0x1000),
        Err(Errno::EFAULT),
        "the array crosses the end"
    );
    assert_eq!(check_wait(MAX_EVENTS as u64 + 1, 0x1000), Err(Errno::EINVAL));
    assert_eq!(check_wait(1, USER_END - 12), Ok(1));
    assert_eq!(check_wait(1, USER_END - 11), Err(Errno::EFAULT));
    assert_eq!(check_wait(1, u64::MAX - 4), Err(Errno::EFAULT));
    assert_eq!(check_wait((1 << 32) | 5, 0x1000), Ok(5), "an int");
    assert_eq!(MAX_EVENTS, 178_956_970);
}

#[test]
fn timeout_rules() {
    assert_eq!(timeout_ns(0), Some(0));
    assert_eq!(timeout_ns(5), Some(5_000_000));
    assert_eq!(timeout_ns(u64::from(u32::MAX)), None);
    assert_eq!(timeout_ns(0x8000_0000), None);
    assert_eq!(timeout_ns(0x7fff_ffff), Some(0x7fff_ffff * 1_000_000));
}

#[test]
fn event_encoding_is_packed() {
    let mut out = Vec::new();
    encode(&[(EPOLLIN, 0x1122_3344_5566_7788), (EPOLLOUT | EPOLLHUP, 1)], &mut out).unwrap();
    assert_eq!(out.len(), 24);
    assert_eq!(&out[..12], &[1, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
    let b: [u8; 12] = out[12..].try_into().unwrap();
    assert_eq!(decode(&b), (EPOLLOUT | EPOLLHUP, 1));
}

proptest! {
    /// With every item level-triggered and always ready, repeated waits
    /// of `max` serve the items round-robin: each wait returns
    /// min(max, n) distinct items, and over n waits every item comes up
    /// exactly min(max, n) times.
    #[test]
    fn rotation_is_fair(n in 1usize..12, max in 1usize..12) {
        let mut l = List::new();
        let files: Vec<FakeFile> = (0..n).map(|_| FakeFile::new()).collect();
        for (i, f) in files.iter().enumerate() {
            add(&mut l, i as u32, f, EPOLLIN, i as u64);
            f.event(EPOLLIN);
        }
        let mut seen = vec![0usize; n];
        for _ in 0..n {
            let got = wait(&mut l, max);
            prop_assert_eq!(got.len(), max.min(n));
            let mut ids: Vec<u64> = got.iter().map(|g| g.1).collect();
            ids.sort_unstable();
            ids.dedup();
            prop_assert_eq!(ids.len(), got.len());
            for (_, d) in got { seen[d as usize] += 1; }
        }
        for s in seen { prop_assert_eq!(s, max.min(n)); }
    }

    /// With items marked in any order (the wake-ups), a wait reports
    /// exactly the marked items that are ready, each once, in marking
    /// order, and looks at no other.
    #[test]
    fn ready_list_reports_marked_ready_items(
        n in 1usize..16,
        marks in proptest::collection::vec(0u32..16, 0..40),
        ready in proptest::collection::vec(any::<bool>(), 16),
    ) {
        let mut l = List::new();
        let files: Vec<FakeFile> = (0..n).map(|_| FakeFile::new()).collect();
        for (i, f) in files.iter().enumerate() {
            add(&mut l, i as u32, f, EPOLLIN | EPOLLET, i as u64);
        }
        l.collect(usize::MAX);
        prop_assert_eq!(l.ready_len(), 0);
        let mut want = Vec::new();
        for m in marks {
            let m = m as usize % n;
            if ready[m] {
                files[m].event(EPOLLIN);
            }
            if !want.contains(&m) {
                want.push(m);
            }
            l.mark(m as u32);
        }
        let got: Vec<usize> = l.collect(usize::MAX).iter().map(|g| g.1 as usize).collect();
        let want: Vec<usize> = want.into_iter().filter(|m| ready[*m]).collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(l.ready_len(), 0);
    }

    /// An edge-triggered item reports exactly once per burst of events
    /// between waits, whatever the bursts.
    #[test]
    fn edge_once_per_burst(bursts in proptest::collection::vec(0usize..4, 1..20)) {
        let mut l = List::new();
        let f = FakeFile::new();
        add(&mut l, 1, &f, EPOLLIN | EPOLLET, 1);
        for b in bursts {
            for _ in 0..b { f.event(EPOLLIN); }
            let got = wait(&mut l, 4);
            prop_assert_eq!(got.len(), usize::from(b > 0));
        }
    }
}
