use super::testing::Budget;
use super::*;
use alloc::vec;
use alloc::vec::Vec;

type Inst = Instance<u32, Budget>;

fn inst(max: usize) -> (Inst, Budget) {
    let b = Budget::new(4);
    (Instance::new(max, b.clone()), b)
}

fn read_all(i: &mut Inst) -> Vec<(i32, u32, u32, u32, Vec<u8>)> {
    let mut buf = [0u8; 4096];
    let n = i.read(&mut buf).unwrap_or(0);
    let mut out = Vec::new();
    let mut at = 0;
    while at < n {
        let f = |o: usize| u32::from_ne_bytes(buf[at + o..at + o + 4].try_into().unwrap());
        let len = f(12) as usize;
        let name = buf[at + 16..at + 16 + len].iter().copied().take_while(|&c| c != 0).collect();
        out.push((f(0) as i32, f(4), f(8), f(12), name));
        at += 16 + len;
    }
    out
}

#[test]
fn same_object_same_wd_and_mask_replaced_or_added() {
    let (mut i, b) = inst(16);
    assert_eq!(i.add_watch(10, IN_MODIFY, false), Ok(Added::New(1)));
    assert_eq!(i.add_watch(11, IN_MODIFY, false), Ok(Added::New(2)));
    assert_eq!(i.add_watch(10, IN_ATTRIB, false), Ok(Added::Updated(1)));
    assert_eq!(i.watches().next(), Some((1, &10, IN_ATTRIB)));
    assert_eq!(i.add_watch(10, IN_MODIFY | IN_MASK_ADD, false), Ok(Added::Updated(1)));
    assert_eq!(i.watches().next(), Some((1, &10, IN_ATTRIB | IN_MODIFY)));
    assert_eq!(i.add_watch(10, IN_MODIFY | IN_MASK_CREATE, false), Err(Errno::EEXIST));
    assert_eq!(b.used(), 2);
}

#[test]
fn wds_are_cyclic_not_reused_at_once() {
    let (mut i, b) = inst(16);
    assert_eq!(i.add_watch(1, IN_OPEN, false).unwrap().wd(), 1);
    assert_eq!(i.rm_watch(1), Ok(1));
    assert_eq!(i.add_watch(2, IN_OPEN, false).unwrap().wd(), 2);
    assert_eq!(i.rm_watch(1), Err(Errno::EINVAL));
    assert_eq!(b.used(), 1);
    i.last_wd = i32::MAX - 1;
    assert_eq!(i.add_watch(3, IN_OPEN, false).unwrap().wd(), i32::MAX);
    assert_eq!(i.add_watch(4, IN_OPEN, false).unwrap().wd(), 1);
    assert_eq!(i.add_watch(5, IN_OPEN, false).unwrap().wd(), 3);
    assert_eq!(i.add_watch(6, IN_OPEN, false), Err(Errno::ENOSPC));
    drop(i);
    assert_eq!(b.used(), 0);
}

#[test]
fn mask_rules() {
    assert_eq!(check_mask(0), Err(Errno::EINVAL));
    assert_eq!(check_mask(IN_MASK_ADD | IN_MASK_CREATE | IN_OPEN), Err(Errno::EINVAL));
    assert_eq!(check_mask(IN_ONLYDIR), Ok(()));
    assert_eq!(check_mask(0x0000_1000), Err(Errno::EINVAL));
    assert_eq!(check_init_flags(IN_CLOEXEC | IN_NONBLOCK), Ok(()));
    assert_eq!(check_init_flags(1), Err(Errno::EINVAL));
    assert_eq!(default_max_user_watches(256 << 20), 8192);
    assert_eq!(default_max_user_watches(1 << 40), 1_048_576);
}

#[test]
fn events_filtered_coalesced_padded() {
    let (mut i, _) = inst(16);
    i.add_watch(7, IN_MODIFY | IN_CREATE, true).unwrap();
    assert!(!i.event(1, IN_ACCESS, 0, None, false).queued);
    assert!(!i.event(9, IN_MODIFY, 0, None, false).queued);
    assert!(i.event(1, IN_MODIFY, 0, None, false).queued);
    i.event(1, IN_MODIFY, 0, None, false); // coalesced
    i.event(1, IN_CREATE, 0, Some(b"0123456789abcde"), false); // 15 + NUL = 16
    i.event(1, IN_CREATE | IN_ISDIR, 0, Some(b"0123456789abcdef"), false); // 17 -> 32
    assert_eq!(i.queued(), 3);
    assert_eq!(i.pending_bytes(), 16 + 32 + 48);
    let ev = read_all(&mut i);
    assert_eq!(
        ev,
        vec![
            (1, IN_MODIFY, 0, 0, vec![]),
            (1, IN_CREATE, 0, 16, b"0123456789abcde".to_vec()),
            (1, IN_CREATE | IN_ISDIR, 0, 32, b"0123456789abcdef".to_vec()),
        ]
    );
    assert_eq!(i.pending_bytes(), 0);
    assert_eq!(i.read(&mut [0; 64]), Err(Errno::EAGAIN));
}

#[test]
fn read_takes_whole_events_and_einval_when_first_does_not_fit() {
    let (mut i, _) = inst(16);
    i.add_watch(7, IN_ALL_EVENTS, true).unwrap();
    i.event(1, IN_CREATE, 0, Some(b"a"), false);
    i.event(1, IN_DELETE, 0, Some(b"a"), false);
    assert_eq!(i.read(&mut [0; 31]), Err(Errno::EINVAL));
    assert_eq!(i.read(&mut [0; 63]), Ok(32));
    assert_eq!(i.read(&mut [0; 32]), Ok(32));
}

#[test]
fn overflow_once_and_counted() {
    let (mut i, _) = inst(2);
    i.add_watch(7, IN_ALL_EVENTS, true).unwrap();
    i.event(1, IN_CREATE, 0, Some(b"a"), false);
    i.event(1, IN_CREATE, 0, Some(b"b"), false);
    i.event(1, IN_CREATE, 0, Some(b"c"), false);
    i.event(1, IN_CREATE, 0, Some(b"d"), false);
    assert_eq!(i.queued(), 3);
    let ev = read_all(&mut i);
    assert_eq!(ev[2], (-1, IN_Q_OVERFLOW, 0, 0, vec![]));
}

#[test]
fn oneshot_and_ignored_and_self_events() {
    let (mut i, b) = inst(16);
    i.add_watch(7, IN_OPEN | IN_ONESHOT, false).unwrap();
    let d = i.event(1, IN_OPEN, 0, None, false);
    assert_eq!(d, Delivery { queued: true, removed: Some(7) });
    assert!(!i.event(1, IN_OPEN, 0, None, false).queued);
    assert_eq!(b.used(), 0);
    i.add_watch(8, IN_DELETE_SELF, true).unwrap();
    i.event(2, IN_DELETE_SELF | IN_ISDIR, 0, None, false);
    assert_eq!(i.object_gone(2), Some(8));
    assert_eq!(i.object_gone(2), None);
    // IN_IGNORED never absorbs another
    i.add_watch(9, IN_OPEN, false).unwrap();
    i.rm_watch(3).unwrap();
    assert_eq!(
        read_all(&mut i),
        vec![
            (1, IN_OPEN, 0, 0, vec![]),
            (1, IN_IGNORED, 0, 0, vec![]),
            (2, IN_DELETE_SELF, 0, 0, vec![]),
            (2, IN_IGNORED, 0, 0, vec![]),
            (3, IN_IGNORED, 0, 0, vec![]),
        ]
    );
}

#[test]
fn excl_unlink_skips_unlinked() {
    let (mut i, _) = inst(16);
    i.add_watch(7, IN_MODIFY | IN_EXCL_UNLINK, true).unwrap();
    assert!(!i.event(1, IN_MODIFY, 0, Some(b"x"), true).queued);
    assert!(i.event(1, IN_MODIFY, 0, Some(b"x"), false).queued);
}

#[test]
fn budget_limits_watches() {
    let b = Budget::new(1);
    let mut i: Inst = Instance::new(16, b.clone());
    i.add_watch(1, IN_OPEN, false).unwrap();
    assert_eq!(i.add_watch(2, IN_OPEN, false), Err(Errno::ENOSPC));
    assert_eq!(i.add_watch(1, IN_CLOSE, false), Ok(Added::Updated(1)));
}

/// One user's queued events are bounded across its instances: past the
/// bound the next event is IN_Q_OVERFLOW; reading and dropping give the
/// charge back.
#[test]
fn queued_events_bounded_per_user() {
    let one =
        Event { wd: 1, mask: IN_CREATE, cookie: 0, name: Some(b"0123456789".to_vec().into_boxed_slice()) }
            .cost();
    let b = Budget::with_event_bound(100, 3 * one);
    let mut a: Inst = Instance::new(16384, b.clone());
    let mut c: Inst = Instance::new(16384, b.clone());
    a.add_watch(1, IN_CREATE, true).unwrap();
    c.add_watch(1, IN_CREATE, true).unwrap();
    assert!(a.event(1, IN_CREATE, 0, Some(b"0123456789"), false).queued);
    assert!(a.event(1, IN_CREATE, 0, Some(b"1123456789"), false).queued);
    assert!(c.event(1, IN_CREATE, 0, Some(b"2123456789"), false).queued);
    assert_eq!(b.queued(), 3 * one);
    // the user's bound reached: the other instance overflows (once)
    assert!(c.event(1, IN_CREATE, 0, Some(b"3123456789"), false).queued);
    assert!(c.event(1, IN_CREATE, 0, Some(b"4123456789"), false).queued);
    assert_eq!(c.queued(), 2);
    let mut buf = [0u8; 4096];
    let n = c.read(&mut buf).unwrap();
    assert_eq!(n, 32 + 16);
    assert_eq!(&buf[32..36], &(-1i32).to_ne_bytes());
    assert_eq!(&buf[36..40], &IN_Q_OVERFLOW.to_ne_bytes());
    assert_eq!(b.queued(), 2 * one);
    // room again
    assert!(c.event(1, IN_CREATE, 0, Some(b"5123456789"), false).queued);
    assert_eq!(b.queued(), 3 * one);
    drop(a);
    assert_eq!(b.queued(), one);
    let gone: Vec<(i32, u32)> = c.remove_all().collect();
    assert_eq!(gone, vec![(1, 1)]);
    assert_eq!(b.used(), 0);
    drop(c);
    assert_eq!(b.queued(), 0);
}

#[test]
fn fdinfo_line_as_linux_prints_it() {
    let h = [0u8, 0, 0, 0, 0x2a, 0x1b, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        fdinfo_line(1, 0x1b2a, 0x16, IN_MODIFY | IN_ONESHOT, 1, &h),
        "inotify wd:1 ino:1b2a sdev:16 mask:80000002 ignored_mask:0 fhandle-bytes:c fhandle-type:1 f_handle:000000002a1b000000000000\n"
    );
}
