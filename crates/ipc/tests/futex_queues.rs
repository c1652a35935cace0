//! Futex queues and decoding: keys, wake counts, bitsets, requeue limits,
//! FUTEX_WAKE_OP arithmetic and futex_waitv entries.

use ipc::futex::*;
use linux_abi::Errno;
use proptest::prelude::*;

fn key(addr: u64) -> Key {
    Key::new(1, addr, None)
}

fn woken(q: &mut Queues<u32>, k: Key, count: u32, bitset: u32) -> Vec<u32> {
    let mut v = Vec::new();
    q.wake(k, count, bitset, |w| v.push(w));
    v
}

fn queue_of(n: u32, k: Key) -> Queues<u32> {
    let mut q = Queues::new();
    for i in 0..n {
        q.enqueue(k, u32::MAX, i).unwrap();
    }
    q
}

#[test]
fn private_keys_differ_by_address_space() {
    assert_ne!(Key::new(1, 0x1000, None), Key::new(2, 0x1000, None));
    assert_eq!(Key::new(1, 0x1000, None), Key::Private { mm: 1, addr: 0x1000 });
}

#[test]
fn shared_keys_are_physical_and_ignore_the_address_space() {
    let a = Key::new(1, 0x7000_0123 & !3, Some(0x5000));
    let b = Key::new(2, 0x4000_0120, Some(0x5000));
    assert_eq!(a, Key::Shared { phys: 0x5120 });
    assert_eq!(a, b);
}

#[test]
fn shared_and_private_keys_never_meet() {
    assert_ne!(Key::new(0, 0x5120, None), Key::new(0, 0x5120, Some(0x5000)));
}

#[test]
fn wake_on_an_empty_key_wakes_none() {
    let mut q: Queues<u32> = Queues::new();
    assert!(woken(&mut q, key(8), 5, u32::MAX).is_empty());
}

#[test]
fn wake_is_fifo_and_limited_by_count() {
    let mut q = queue_of(5, key(8));
    assert_eq!(woken(&mut q, key(8), 2, u32::MAX), vec![0, 1]);
    assert_eq!(q.waiters(key(8)), 3);
    assert_eq!(woken(&mut q, key(8), 10, u32::MAX), vec![2, 3, 4]);
    assert_eq!(q.keys(), 0, "an emptied queue is dropped");
}

#[test]
fn wake_count_zero_wakes_none_in_the_queue_itself() {
    let mut q = queue_of(2, key(8));
    assert!(woken(&mut q, key(8), 0, u32::MAX).is_empty());
}

#[test]
fn wake_count_rule_wakes_at_least_one() {
    assert_eq!(wake_count(0), 1);
    assert_eq!(wake_count(1), 1);
    assert_eq!(wake_count(7), 7);
    assert_eq!(wake_count(0xffff_ffff), 1, "-1 as an int");
    assert_eq!(wake_count(0x8000_0000), 1);
    assert_eq!(wake_count(0x7fff_ffff), i32::MAX as u32);
    assert_eq!(wake_count(0x1_0000_0003), 3, "the upper half is ignored");
}

#[test]
fn wake_only_touches_its_key() {
    let mut q = queue_of(2, key(8));
    q.enqueue(key(12), u32::MAX, 99).unwrap();
    assert_eq!(woken(&mut q, key(12), 10, u32::MAX), vec![99]);
    assert_eq!(q.waiters(key(8)), 2);
}

#[test]
fn bitset_selects_waiters() {
    let mut q = Queues::new();
    q.enqueue(key(8), 0b01, 1).unwrap();
    q.enqueue(key(8), 0b10, 2).unwrap();
    q.enqueue(key(8), 0b11, 3).unwrap();
    assert_eq!(woken(&mut q, key(8), 10, 0b10), vec![2, 3]);
    assert_eq!(woken(&mut q, key(8), 10, 0b10), Vec::<u32>::new());
    assert_eq!(woken(&mut q, key(8), 10, u32::MAX), vec![1]);
}

#[test]
fn bitset_skips_do_not_count() {
    let mut q = Queues::new();
    q.enqueue(key(8), 1, 1).unwrap();
    q.enqueue(key(8), 2, 2).unwrap();
    q.enqueue(key(8), 2, 3).unwrap();
    assert_eq!(woken(&mut q, key(8), 1, 2), vec![2]);
    assert_eq!(q.waiters(key(8)), 2);
}

#[test]
fn requeue_moves_oldest_first_behind_existing() {
    let mut q = queue_of(4, key(8));
    q.enqueue(key(16), u32::MAX, 100).unwrap();
    assert_eq!(q.requeue(key(8), key(16), 2), 2);
    assert_eq!(q.waiters(key(8)), 2);
    assert_eq!(woken(&mut q, key(16), 10, u32::MAX), vec![100, 0, 1]);
}

#[test]
fn requeue_limit_beyond_the_queue_moves_all() {
    let mut q = queue_of(3, key(8));
    assert_eq!(q.requeue(key(8), key(16), u32::MAX), 3);
    assert_eq!(q.waiters(key(8)), 0);
    assert_eq!(q.keys(), 1);
}

#[test]
fn requeue_zero_moves_none() {
    let mut q = queue_of(3, key(8));
    assert_eq!(q.requeue(key(8), key(16), 0), 0);
    assert_eq!(q.waiters(key(16)), 0);
    assert_eq!(q.keys(), 1, "no empty queue is made");
}

#[test]
fn requeue_to_the_same_key_keeps_order() {
    let mut q = queue_of(3, key(8));
    assert_eq!(q.requeue(key(8), key(8), 2), 2);
    assert_eq!(woken(&mut q, key(8), 10, u32::MAX), vec![0, 1, 2]);
}

#[test]
fn requeue_from_an_empty_key_is_zero() {
    let mut q: Queues<u32> = Queues::new();
    assert_eq!(q.requeue(key(8), key(16), 5), 0);
}

#[test]
fn wake_then_requeue_as_cmp_requeue() {
    // FUTEX_CMP_REQUEUE(val=1, val2=2) over 5 waiters: 1 woken, 2 moved
    let mut q = queue_of(5, key(8));
    let (wake, limit) = requeue_counts(1, 2).unwrap();
    let w = woken(&mut q, key(8), wake, u32::MAX).len();
    let m = q.requeue(key(8), key(16), limit);
    assert_eq!((w, m, w + m), (1, 2, 3));
    assert_eq!(woken(&mut q, key(8), 10, u32::MAX), vec![3, 4]);
    assert_eq!(woken(&mut q, key(16), 10, u32::MAX), vec![1, 2]);
}

#[test]
fn requeue_counts_reject_negative_ints() {
    assert_eq!(requeue_counts(0, 0), Ok((0, 0)));
    assert_eq!(requeue_counts(0xffff_ffff, 0), Err(Errno::EINVAL));
    assert_eq!(requeue_counts(0, 0x8000_0000), Err(Errno::EINVAL));
    assert_eq!(requeue_counts(0x1_0000_0001, 0x7fff_ffff), Ok((1, 0x7fff_ffff)));
}

#[test]
fn remove_finds_a_requeued_waiter() {
    let mut q = queue_of(3, key(8));
    q.requeue(key(8), key(16), 3);
    assert_eq!(q.remove(|&w| w == 1), Some(1));
    assert_eq!(q.remove(|&w| w == 1), None);
    assert_eq!(woken(&mut q, key(16), 10, u32::MAX), vec![0, 2]);
}

#[test]
fn remove_of_the_last_waiter_drops_the_queue() {
    let mut q = queue_of(1, key(8));
    assert_eq!(q.remove(|&w| w == 0), Some(0));
    assert_eq!(q.keys(), 0);
}

#[test]
fn key_ok_checks_alignment_then_the_user_half() {
    assert_eq!(key_ok(0x1000), Ok(()));
    assert_eq!(key_ok(0), Ok(()), "NULL is aligned; the access faults later");
    assert_eq!(key_ok(0x1001), Err(Errno::EINVAL));
    assert_eq!(key_ok(0x1002), Err(Errno::EINVAL));
    assert_eq!(key_ok(0xffff_8000_0000_0000), Err(Errno::EFAULT));
    assert_eq!(key_ok(0xffff_8000_0000_0001), Err(Errno::EINVAL), "alignment first");
    assert_eq!(key_ok(0x7fff_ffff_fffc), Ok(()));
    assert_eq!(key_ok(0x8000_0000_0000_0000), Err(Errno::EFAULT));
}

fn op(op: u32, oparg: u32, cmp: u32, cmparg: u32) -> u32 {
    (op & 0xf) << 28 | (cmp & 0xf) << 24 | (oparg & 0xfff) << 12 | (cmparg & 0xfff)
}

#[test]
fn wake_op_set() {
    let w = WakeOp::decode(op(0, 5, 0, 0)).unwrap();
    assert_eq!(w.apply(100), 5);
}

#[test]
fn wake_op_add_wraps() {
    let w = WakeOp::decode(op(1, 1, 0, 0)).unwrap();
    assert_eq!(w.apply(u32::MAX), 0);
    let neg = WakeOp::decode(op(1, 0xfff, 0, 0)).unwrap();
    assert_eq!(neg.oparg, -1);
    assert_eq!(neg.apply(10), 9);
}

#[test]
fn wake_op_or_andn_xor() {
    assert_eq!(WakeOp::decode(op(2, 0b1010, 0, 0)).unwrap().apply(0b0101), 0b1111);
    assert_eq!(WakeOp::decode(op(3, 0b0110, 0, 0)).unwrap().apply(0b1111), 0b1001);
    assert_eq!(WakeOp::decode(op(4, 0b0110, 0, 0)).unwrap().apply(0b1010), 0b1100);
}

#[test]
fn wake_op_oparg_shift() {
    let w = WakeOp::decode(op(8, 4, 0, 0)).unwrap();
    assert_eq!(w.oparg, 16);
    assert_eq!(w.apply(0), 16);
    assert_eq!(WakeOp::decode(op(8 | 2, 31, 0, 0)).unwrap().apply(1), 0x8000_0001);
}

#[test]
fn wake_op_out_of_range_shift_is_masked() {
    // Linux logs "tries to shift op by" and uses oparg & 31
    assert_eq!(WakeOp::decode(op(8, 33, 0, 0)).unwrap().oparg, 2);
    assert_eq!(WakeOp::decode(op(8, 0xfff, 0, 0)).unwrap().oparg, i32::MIN, "-1 & 31 = 31");
}

#[test]
fn wake_op_unknown_op_is_enosys() {
    for o in 5..8 {
        assert_eq!(WakeOp::decode(op(o, 0, 0, 0)), Err(Errno::ENOSYS));
        assert_eq!(WakeOp::decode(op(o | 8, 0, 0, 0)), Err(Errno::ENOSYS));
    }
}

#[test]
fn wake_op_comparisons_are_signed() {
    let t = |cmp, cmparg, old| WakeOp::decode(op(0, 0, cmp, cmparg)).unwrap().test(old);
    assert_eq!(t(0, 5, 5), Ok(true));
    assert_eq!(t(0, 5, 6), Ok(false));
    assert_eq!(t(1, 5, 6), Ok(true));
    assert_eq!(t(2, 0, u32::MAX), Ok(true), "-1 < 0");
    assert_eq!(t(3, 0xfff, u32::MAX), Ok(true), "cmparg -1 <= -1");
    assert_eq!(t(4, 0, 1), Ok(true));
    assert_eq!(t(4, 0, 0x8000_0000), Ok(false));
    assert_eq!(t(5, 7, 7), Ok(true));
    assert_eq!(t(5, 7, 6), Ok(false));
}

#[test]
fn wake_op_unknown_comparison_is_enosys_at_test_time() {
    let w = WakeOp::decode(op(1, 1, 6, 0)).unwrap();
    assert_eq!(w.apply(1), 2, "the word is changed first");
    assert_eq!(w.test(1), Err(Errno::ENOSYS));
    assert_eq!(WakeOp::decode(op(0, 0, 15, 0)).unwrap().test(0), Err(Errno::ENOSYS));
}

#[test]
fn waitv_args_rules() {
    assert_eq!(waitv_args(0x1000, 1, 0), Ok(1));
    assert_eq!(waitv_args(0x1000, 128, 0), Ok(128));
    assert_eq!(waitv_args(0x1000, 129, 0), Err(Errno::EINVAL));
    assert_eq!(waitv_args(0x1000, 0, 0), Err(Errno::EINVAL));
    assert_eq!(waitv_args(0, 1, 0), Err(Errno::EINVAL));
    assert_eq!(waitv_args(0x1000, 1, 1), Err(Errno::EINVAL));
    assert_eq!(waitv_args(0x1000, 1, 1 << 32), Ok(1), "flags is an unsigned int");
    assert_eq!(waitv_args(0x1000, (1 << 32) | 2, 0), Ok(2), "nr too");
}

fn entry(val: u64, uaddr: u64, flags: u32, reserved: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&val.to_le_bytes());
    v.extend_from_slice(&uaddr.to_le_bytes());
    v.extend_from_slice(&flags.to_le_bytes());
    v.extend_from_slice(&reserved.to_le_bytes());
    v
}

#[test]
fn parse_waitv_reads_entries() {
    let mut raw = entry(7, 0x1000, 2, 0);
    raw.extend(entry(u64::MAX, 0x2004, 2 | 128, 0));
    assert_eq!(parse_waitv(&raw), Ok(vec![(0x1000, 7), (0x2004, u64::MAX)]));
}

#[test]
fn parse_waitv_rejects_bad_entries() {
    assert_eq!(parse_waitv(&entry(0, 0x1000, 3, 0)), Err(Errno::EINVAL), "u64 size");
    assert_eq!(parse_waitv(&entry(0, 0x1000, 0, 0)), Err(Errno::EINVAL), "u8 size");
    assert_eq!(parse_waitv(&entry(0, 0x1000, 2 | 4, 0)), Err(Errno::EINVAL), "unknown flag");
    assert_eq!(parse_waitv(&entry(0, 0x1000, 2, 1)), Err(Errno::EINVAL), "reserved");
    assert_eq!(parse_waitv(&entry(0, 0x1002, 2, 0)), Err(Errno::EINVAL), "alignment");
}

proptest! {
    /// Waking with a count never wakes more than asked or more than
    /// queued, wakes only matching bitsets, in FIFO order, and what is
    /// woken plus what remains is what was queued.
    #[test]
    fn wake_model(bits in proptest::collection::vec(1u32..16, 0..40), count in 0u32..50, mask in 1u32..16) {
        let mut q = Queues::new();
        for (i, b) in bits.iter().enumerate() {
            q.enqueue(key(4), *b, i).unwrap();
        }
        let mut got = Vec::new();
        let n = q.wake(key(4), count, mask, |w| got.push(w));
        let want: Vec<usize> = bits.iter().enumerate().filter(|(_, b)| *b & mask != 0).map(|(i, _)| i).take(count as usize).collect();
        prop_assert_eq!(n, want.len());
        prop_assert_eq!(got, want);
        prop_assert_eq!(q.waiters(key(4)) + n, bits.len());
    }

    /// Requeue conserves waiters: moved + left = before, and the moved
    /// ones are the oldest.
    #[test]
    fn requeue_model(n in 0u32..30, limit in 0u32..40, already in 0u32..5) {
        let mut q = queue_of(n, key(4));
        for i in 0..already { q.enqueue(key(8), u32::MAX, 1000 + i).unwrap(); }
        let moved = q.requeue(key(4), key(8), limit);
        prop_assert_eq!(moved as u32, n.min(limit));
        prop_assert_eq!(q.waiters(key(4)) + moved, n as usize);
        let all = woken(&mut q, key(8), u32::MAX, u32::MAX);
        prop_assert_eq!(all.len(), already as usize + moved);
        let tail: Vec<u32> = (0..moved as u32).collect();
        prop_assert_eq!(&all[already as usize..], &tail[..]);
    }

    /// WAKE_OP's arithmetic matches the plain integer operations.
    #[test]
    fn wake_op_arith(o in 0u32..5, arg in 0u32..0x1000, old in any::<u32>()) {
        let w = WakeOp::decode(op(o, arg, 0, 0)).unwrap();
        let a = (((arg << 20) as i32) >> 20) as u32;
        let want = match o { 0 => a, 1 => old.wrapping_add(a), 2 => old | a, 3 => old & !a, _ => old ^ a };
        prop_assert_eq!(w.apply(old), want);
    }
}
