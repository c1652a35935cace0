use crate::*;
use linux_abi::Errno;

fn r(s: u64, e: u64) -> Range {
    Range::new(s, e).unwrap()
}

fn spans(t: &LockTable<u32>, owner: u32) -> alloc::vec::Vec<(u64, u64, Kind)> {
    t.locks().iter().filter(|l| l.owner == owner).map(|l| (l.range.start, l.range.end, l.kind)).collect()
}

#[test]
fn from_flock_whence_and_len() {
    assert_eq!(Range::from_flock(SEEK_SET, 10, 5, 0, 0), Ok(r(10, 14)));
    assert_eq!(Range::from_flock(SEEK_CUR, 10, 5, 100, 0), Ok(r(110, 114)));
    assert_eq!(Range::from_flock(SEEK_END, -10, 0, 0, 50), Ok(r(40, OFF_MAX)));
    assert_eq!(Range::from_flock(SEEK_SET, 10, -5, 0, 0), Ok(r(5, 9)));
    assert_eq!(Range::from_flock(SEEK_SET, 10, -10, 0, 0), Ok(r(0, 9)));
    assert_eq!(Range::from_flock(SEEK_SET, 10, -11, 0, 0), Err(Errno::EINVAL));
    assert_eq!(Range::from_flock(SEEK_SET, -1, 1, 0, 0), Err(Errno::EINVAL));
    assert_eq!(Range::from_flock(3, 0, 0, 0, 0), Err(Errno::EINVAL));
    assert_eq!(Range::from_flock(-1, 0, 0, 0, 0), Err(Errno::EINVAL));
    assert_eq!(Range::from_flock(SEEK_CUR, i64::MAX, 1, 1, 0), Err(Errno::EOVERFLOW));
    assert_eq!(Range::from_flock(SEEK_SET, i64::MAX, 1, 0, 0), Ok(r(OFF_MAX, OFF_MAX)));
    assert_eq!(Range::from_flock(SEEK_SET, i64::MAX, 2, 0, 0), Err(Errno::EOVERFLOW));
    assert_eq!(Range::from_flock(SEEK_SET, 1, i64::MAX, 0, 0), Ok(r(1, OFF_MAX)));
    assert_eq!(Range::from_flock(SEEK_SET, 2, i64::MAX, 0, 0), Err(Errno::EOVERFLOW));
    assert_eq!(Range::from_flock(SEEK_SET, 0, i64::MAX, 0, 0), Ok(r(0, OFF_MAX - 1)));
    assert_eq!(Range::from_flock(SEEK_SET, 5, i64::MIN, 0, 0), Err(Errno::EINVAL));
    assert_eq!(Range::from_flock(SEEK_END, i64::MIN, 0, 0, 10), Err(Errno::EINVAL));
    assert_eq!(r(5, OFF_MAX).to_flock(), (5, 0));
    assert_eq!(r(5, 9).to_flock(), (5, 5));
}

#[test]
fn split_merge_upgrade() {
    let mut t = LockTable::new();
    t.set(&1, 1, Some(Kind::Read), r(0, 9)).unwrap();
    t.set(&1, 1, Some(Kind::Read), r(10, 19)).unwrap(); // touches: merged
    assert_eq!(spans(&t, 1), [(0, 19, Kind::Read)]);
    t.set(&1, 1, Some(Kind::Write), r(5, 9)).unwrap(); // upgrade in the middle
    assert_eq!(spans(&t, 1), [(0, 4, Kind::Read), (5, 9, Kind::Write), (10, 19, Kind::Read)]);
    t.set(&1, 1, Some(Kind::Read), r(5, 9)).unwrap(); // downgrade: one again
    assert_eq!(spans(&t, 1), [(0, 19, Kind::Read)]);
    t.set(&1, 1, None, r(3, 4)).unwrap();
    assert_eq!(spans(&t, 1), [(0, 2, Kind::Read), (5, 19, Kind::Read)]);
    t.set(&1, 1, None, r(100, 200)).unwrap(); // nothing there: no error
    t.set(&1, 1, None, r(0, OFF_MAX)).unwrap();
    assert!(t.is_empty());
}

#[test]
fn conflicts_and_order() {
    let mut t = LockTable::new();
    t.set(&1, 11, Some(Kind::Read), r(0, 9)).unwrap();
    t.set(&2, 22, Some(Kind::Read), r(5, 14)).unwrap(); // readers share
    assert_eq!(t.test(&3, Kind::Read, r(0, 100)), None);
    let b = t.test(&3, Kind::Write, r(7, 7)).unwrap();
    assert_eq!((b.owner, b.pid), (1, 11)); // the first in the table's order
    assert_eq!(t.test(&1, Kind::Write, r(0, 4)), None); // own locks never conflict
    let e = t.set(&1, 11, Some(Kind::Write), r(0, 9)).unwrap_err();
    assert_eq!(e.errno(), Errno::EAGAIN);
    assert!(matches!(e, SetError::Blocked(ref l) if l.owner == 2));
    assert_eq!(spans(&t, 1), [(0, 9, Kind::Read)]); // unchanged
    assert!(t.release(&2));
    assert!(!t.release(&2));
    t.set(&1, 11, Some(Kind::Write), r(0, 9)).unwrap();
    assert!(t.release_where(|o| *o == 1));
    assert!(t.is_empty());
}

#[test]
fn flock_conversion_drops_first() {
    let mut t = FlockTable::new();
    assert_eq!(t.lock(&1, Some(Kind::Read)), Ok(Ok(Flocked { released: false })));
    assert_eq!(t.lock(&2, Some(Kind::Read)), Ok(Ok(Flocked { released: false })));
    assert_eq!(t.lock(&1, Some(Kind::Read)), Ok(Ok(Flocked { released: false })));
    // 1 converts to exclusive while 2 shares: blocked, and 1's lock is gone
    assert_eq!(t.lock(&1, Some(Kind::Write)), Ok(Err(FlockBlocked { released: true })));
    assert_eq!(t.held(&1), None);
    assert_eq!(t.lock(&2, Some(Kind::Write)), Ok(Ok(Flocked { released: true })));
    assert_eq!(t.lock(&1, Some(Kind::Read)), Ok(Err(FlockBlocked { released: false })));
    assert_eq!(t.lock(&2, None), Ok(Ok(Flocked { released: true })));
    assert_eq!(t.lock(&2, None), Ok(Ok(Flocked { released: false })));
    assert!(t.is_empty());
}

#[test]
fn deadlock_chain() {
    let mut g = WaitGraph::new();
    assert!(!g.would_deadlock(&1, &2));
    g.insert(2, 3).unwrap();
    g.insert(3, 1).unwrap();
    assert!(g.would_deadlock(&1, &2)); // 1 -> 2 -> 3 -> 1
    assert!(!g.would_deadlock(&4, &2));
    g.remove(&3, &1);
    assert!(!g.would_deadlock(&1, &2));
    // a chain longer than Linux follows is not reported
    let mut g = WaitGraph::new();
    for i in 2..20u32 {
        g.insert(i, i + 1).unwrap();
    }
    g.insert(20, 1).unwrap();
    assert!(!g.would_deadlock(&1, &2));
    assert!(g.would_deadlock(&1, &15));
}

#[test]
fn op_and_types() {
    assert_eq!(flock_op(LOCK_SH | LOCK_NB), Ok((Some(Kind::Read), true)));
    assert_eq!(flock_op(LOCK_EX), Ok((Some(Kind::Write), false)));
    assert_eq!(flock_op(LOCK_UN), Ok((None, false)));
    assert_eq!(flock_op(LOCK_SH | LOCK_EX), Err(Errno::EINVAL));
    assert_eq!(flock_op(0), Err(Errno::EINVAL));
    assert_eq!(kind_of(F_WRLCK), Ok(Some(Kind::Write)));
    assert_eq!(kind_of(3), Err(Errno::EINVAL));
    assert_eq!(l_type(Kind::Read), F_RDLCK);
}

fn opens(write: usize, read: usize) -> Opens {
    Opens { write, read }
}

#[test]
fn lease_set_checks_opens() {
    let mut t: LeaseTable<u32> = LeaseTable::new();
    // read lease: no writer anywhere, the caller's own O_RDWR included
    assert_eq!(t.set(&1, 10, F_RDLCK, true, true, opens(1, 0)), Err(Errno::EAGAIN));
    assert_eq!(t.set(&1, 10, F_RDLCK, false, true, opens(0, 3)), Ok(false));
    // a second description may share a read lease, not take a write one
    assert_eq!(t.set(&2, 11, F_RDLCK, false, true, opens(0, 3)), Ok(false));
    assert_eq!(t.set(&2, 11, F_WRLCK, false, true, opens(0, 1)), Err(Errno::EAGAIN));
    assert_eq!(t.get(&1), F_RDLCK);
    assert_eq!(t.get(&3), F_UNLCK);
    assert_eq!(t.set(&1, 10, 7, false, true, opens(0, 1)), Err(Errno::EINVAL));
    assert_eq!(t.set(&1, 10, F_UNLCK, false, true, opens(0, 1)), Ok(true));
    assert_eq!(t.set(&1, 10, F_UNLCK, false, true, opens(0, 1)), Err(Errno::EAGAIN));
    assert_eq!(t.set(&2, 11, F_UNLCK, false, true, opens(0, 1)), Ok(true));
    assert!(t.is_empty());
    // write lease: only the caller's open
    assert_eq!(t.set(&1, 10, F_WRLCK, false, true, opens(0, 2)), Err(Errno::EAGAIN));
    assert_eq!(t.set(&1, 10, F_WRLCK, true, true, opens(1, 1)), Err(Errno::EAGAIN));
    assert_eq!(t.set(&1, 10, F_WRLCK, true, true, opens(1, 0)), Ok(false));
    assert_eq!(t.get(&1), F_WRLCK);
    // and it becomes a read lease in place
    assert_eq!(t.set(&1, 10, F_RDLCK, false, true, opens(0, 1)), Ok(true));
    assert_eq!(t.leases().len(), 1);
    assert_eq!(t.get(&1), F_RDLCK);
}

#[test]
fn lease_break_by_writer_removes_after_deadline() {
    let mut t: LeaseTable<u32> = LeaseTable::new();
    t.set(&1, 10, F_RDLCK, false, true, opens(0, 1)).unwrap();
    t.set(&2, 20, F_RDLCK, false, true, opens(0, 2)).unwrap();
    // a reader does not conflict with read leases
    assert!(!t.conflicts(false));
    let b = t.start_break(false, 100).unwrap();
    assert_eq!(b, Break { signal: alloc::vec![], wait: false });
    // a writer breaks both, signalled once
    let b = t.start_break(true, 100).unwrap();
    assert_eq!(b.signal, alloc::vec![10, 20]);
    assert!(b.wait);
    assert_eq!(t.start_break(true, 200).unwrap().signal, alloc::vec![]);
    assert_eq!(t.get(&1), F_UNLCK);
    assert_eq!(t.deadline(true), Some(100));
    // no new lease while one is being removed
    assert_eq!(t.set(&3, 30, F_RDLCK, false, true, opens(0, 3)), Err(Errno::EAGAIN));
    // the holder of 1 gives it up; 2 times out
    assert_eq!(t.set(&1, 10, F_UNLCK, false, true, opens(1, 2)), Ok(true));
    assert!(!t.time_out(99));
    assert!(t.conflicts(true));
    assert!(t.time_out(100));
    assert!(t.is_empty());
}

#[test]
fn lease_break_by_reader_downgrades() {
    let mut t: LeaseTable<u32> = LeaseTable::new();
    t.set(&1, 10, F_WRLCK, false, true, opens(0, 1)).unwrap();
    let b = t.start_break(false, 50).unwrap();
    assert_eq!(b.signal, alloc::vec![10]);
    assert_eq!(t.get(&1), F_RDLCK);
    // a second reader waits without a new signal
    assert_eq!(t.start_break(false, 80).unwrap(), Break { signal: alloc::vec![], wait: true });
    // F_WRLCK again does not answer the downgrade
    assert_eq!(t.set(&1, 10, F_WRLCK, false, true, opens(0, 1)), Ok(true));
    assert_eq!(t.get(&1), F_RDLCK);
    // a writer now asks for removal too
    assert_eq!(t.start_break(true, 70).unwrap().signal, alloc::vec![10]);
    assert_eq!(t.get(&1), F_UNLCK);
    assert_eq!(t.deadline(false), Some(50));
    // the downgrade deadline passes: a read lease, still being removed
    assert!(t.time_out(60));
    assert_eq!(t.leases()[0].kind, Kind::Read);
    assert!(!t.conflicts(false));
    assert!(t.conflicts(true));
    assert!(t.time_out(70));
    assert!(t.is_empty());
}

#[test]
fn lease_downgrade_answers_reader() {
    let mut t: LeaseTable<u32> = LeaseTable::new();
    t.set(&1, 10, F_WRLCK, true, true, opens(1, 0)).unwrap();
    t.start_break(false, 50).unwrap();
    assert!(t.conflicts(false));
    assert_eq!(t.set(&1, 10, F_RDLCK, false, true, opens(0, 1)), Ok(true));
    assert!(!t.conflicts(false));
    assert_eq!(t.deadline(false), None);
    assert!(t.release_where(|f| *f == 1));
    assert!(!t.release_where(|f| *f == 1));
}

#[test]
fn dnotify_oneshot_multishot_and_flush() {
    let mut t: DnotifyTable<u32> = DnotifyTable::new();
    t.set(&1, 10, DN_CREATE).unwrap();
    t.set(&2, 20, DN_DELETE | DN_MULTISHOT).unwrap();
    assert_eq!(t.event(DN_RENAME).unwrap(), alloc::vec![]);
    assert_eq!(t.event(DN_CREATE | DN_DELETE).unwrap(), alloc::vec![10, 20]);
    // the one-shot watch went, the multishot one stays
    assert_eq!(t.event(DN_CREATE | DN_DELETE).unwrap(), alloc::vec![20]);
    // events are added to the watch of the same file and process
    t.set(&2, 20, DN_ATTRIB).unwrap();
    assert_eq!(t.watches().len(), 1);
    assert_eq!(t.watches()[0].mask, DN_DELETE | DN_MULTISHOT | DN_ATTRIB);
    // another process's watch on the same file is its own
    t.set(&2, 30, DN_ATTRIB).unwrap();
    assert_eq!(t.event(DN_ATTRIB).unwrap(), alloc::vec![20, 30]);
    // no event bit removes; only that process's close flushes
    t.set(&2, 20, DN_MULTISHOT).unwrap();
    assert!(t.is_empty());
    t.set(&2, 20, DN_ACCESS).unwrap();
    assert!(!t.flush(&2, 30));
    assert!(t.flush(&2, 20));
    t.set(&3, 20, DN_ACCESS).unwrap();
    assert!(t.release_where(|f| *f == 3));
    assert!(t.is_empty());
}
