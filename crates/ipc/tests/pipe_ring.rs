//! The pipe ring: capacity, PIPE_BUF atomicity, partial writes, packets,
//! F_SETPIPE_SZ with data in it, EAGAIN and ENOMEM, poll bits.

use ipc::pipe::*;
use ipc::testing::HeapPages;
use linux_abi::Errno;
use proptest::prelude::*;

fn ring() -> Ring<HeapPages> {
    Ring::new(HeapPages::default())
}

fn drain(r: &mut Ring<HeapPages>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1000];
    loop {
        let n = r.take(&mut buf);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

#[test]
fn default_capacity_is_16_pages() {
    let r = ring();
    assert_eq!(r.capacity(), 65536);
    assert_eq!(r.len(), 0);
    assert!(r.is_empty());
    assert!(!r.is_full());
}

#[test]
fn one_big_write_fills_exactly_64k() {
    let mut r = ring();
    assert_eq!(r.try_write(&pattern(100_000, 1), false), Ok(65536));
    assert!(r.is_full());
    assert_eq!(r.len(), 65536);
    assert_eq!(r.try_write(b"x", false), Err(Errno::EAGAIN));
}

#[test]
fn full_pipe_write_is_eagain_even_for_one_byte() {
    let mut r = ring();
    for _ in 0..16 {
        assert_eq!(r.try_write(&[1u8; PAGE], false), Ok(PAGE));
    }
    assert_eq!(r.try_write(&[2u8], false), Err(Errno::EAGAIN));
}

#[test]
fn small_writes_merge_into_one_page() {
    let mut r = ring();
    for _ in 0..4 {
        assert_eq!(r.try_write(&[9u8; 1000], false), Ok(1000));
    }
    assert_eq!(r.slots_used(), 1);
    assert_eq!(r.try_write(&[9u8; 1000], false), Ok(1000));
    assert_eq!(r.slots_used(), 2, "4000 + 1000 does not fit one page");
}

#[test]
fn writes_of_2049_bytes_fill_the_pipe_after_16() {
    let mut r = ring();
    for i in 0..16 {
        assert_eq!(r.try_write(&[i as u8; 2049], false), Ok(2049), "write {i}");
    }
    assert!(r.is_full());
    assert_eq!(r.len(), 16 * 2049);
    // full (no POLLOUT), but a remainder that fits the last page still merges
    assert_eq!(r.try_write(&[0u8; 2048], false), Err(Errno::EAGAIN));
    assert_eq!(r.try_write(&[0u8; 2047], false), Ok(2047));
}

#[test]
fn pipe_buf_write_is_never_split() {
    let mut r = ring();
    assert_eq!(r.try_write(&[1u8; 100], false), Ok(100));
    // 4096 bytes: remainder 0, so no merge: a page of its own
    assert_eq!(r.try_write(&[2u8; PIPE_BUF], false), Ok(PIPE_BUF));
    assert_eq!(r.slots_used(), 2);
    let got = drain(&mut r);
    assert_eq!(&got[..100], &[1u8; 100]);
    assert_eq!(&got[100..], &[2u8; PIPE_BUF][..]);
}

#[test]
fn atomic_write_into_almost_full_pipe_is_eagain_not_partial() {
    let mut r = ring();
    for _ in 0..16 {
        r.try_write(&[1u8; 4000], false).unwrap();
    }
    // 96 bytes free in the last page, but a 200-byte write does not fit it
    assert_eq!(r.try_write(&[2u8; 200], false), Err(Errno::EAGAIN));
    assert_eq!(r.try_write(&[2u8; 96], false), Ok(96));
}

#[test]
fn large_write_is_partial_when_room_runs_out() {
    let mut r = ring();
    for _ in 0..14 {
        r.try_write(&[1u8; PAGE], false).unwrap();
    }
    assert_eq!(r.try_write(&pattern(3 * PAGE + 10, 0), false), Ok(2 * PAGE));
}

#[test]
fn merge_takes_the_remainder_first() {
    let mut r = ring();
    r.try_write(&[1u8; 10], false).unwrap();
    // 4096 + 20: the 20 merge into the first page, the 4096 take a slot
    assert_eq!(r.merge(&[3u8; PAGE + 20]), 20);
    assert_eq!(r.len(), 30);
    assert_eq!(r.slots_used(), 1);
}

#[test]
fn merge_into_an_empty_ring_takes_nothing() {
    let mut r = ring();
    assert_eq!(r.merge(b"abc"), 0);
}

#[test]
fn merge_does_not_reuse_room_already_read() {
    let mut r = ring();
    r.try_write(&[1u8; 4000], false).unwrap();
    let mut buf = [0u8; 3000];
    assert_eq!(r.take(&mut buf), 3000);
    assert_eq!(r.merge(&[2u8; 200]), 0, "the page is not compacted");
}

#[test]
fn reads_come_out_in_write_order() {
    let mut r = ring();
    let a = pattern(5000, 1);
    let b = pattern(300, 2);
    r.try_write(&a, false).unwrap();
    r.try_write(&b, false).unwrap();
    let mut want = a.clone();
    want.extend_from_slice(&b);
    assert_eq!(drain(&mut r), want);
}

#[test]
fn read_of_an_empty_ring_is_zero() {
    let mut r = ring();
    assert_eq!(r.take(&mut [0u8; 10]), 0);
}

#[test]
fn read_frees_slots_and_makes_room() {
    let mut r = ring();
    r.try_write(&[0u8; 65536], false).unwrap();
    let mut buf = vec![0u8; PAGE];
    assert_eq!(r.take(&mut buf), PAGE);
    assert!(!r.is_full());
    assert_eq!(r.try_write(&[1u8; PAGE], false), Ok(PAGE));
}

#[test]
fn partial_read_of_a_slot_keeps_it() {
    let mut r = ring();
    r.try_write(&[0u8; 100], false).unwrap();
    assert_eq!(r.take(&mut [0u8; 40]), 40);
    assert_eq!(r.len(), 60);
    assert_eq!(r.slots_used(), 1);
}

#[test]
fn a_freed_page_is_reused() {
    let mut r = ring();
    for _ in 0..10 {
        r.try_write(b"ping", false).unwrap();
        assert_eq!(r.take(&mut [0u8; 4]), 4);
    }
    assert_eq!(r.pages().allocated, 1, "ping-pong allocates one page");
}

#[test]
fn no_memory_for_the_first_page_is_enomem() {
    let mut r = Ring::new(HeapPages::with_limit(0));
    assert_eq!(r.try_write(b"abc", false), Err(Errno::ENOMEM));
    assert_eq!(r.len(), 0);
}

#[test]
fn no_memory_after_some_pages_is_a_short_write() {
    let mut r = Ring::new(HeapPages::with_limit(2));
    assert_eq!(r.try_write(&[0u8; 3 * PAGE], false), Ok(2 * PAGE));
}

#[test]
fn enomem_after_a_merge_reports_the_merged_bytes() {
    let mut r = Ring::new(HeapPages::with_limit(1));
    r.try_write(&[0u8; 10], false).unwrap();
    assert_eq!(r.try_write(&[1u8; PAGE + 5], false), Ok(5));
}

#[test]
fn packets_keep_their_boundaries() {
    let mut r = ring();
    r.try_write(b"one", true).unwrap();
    r.try_write(b"two!", true).unwrap();
    assert_eq!(r.slots_used(), 2);
    let mut buf = [0u8; 100];
    assert_eq!(r.take(&mut buf), 3);
    assert_eq!(&buf[..3], b"one");
    assert_eq!(r.take(&mut buf), 4);
}

#[test]
fn short_read_of_a_packet_drops_the_rest() {
    let mut r = ring();
    r.try_write(b"abcdef", true).unwrap();
    r.try_write(b"gh", true).unwrap();
    let mut buf = [0u8; 2];
    assert_eq!(r.take(&mut buf), 2);
    assert_eq!(&buf, b"ab");
    assert_eq!(r.len(), 2);
    assert_eq!(r.take(&mut buf), 2);
    assert_eq!(&buf, b"gh");
}

#[test]
fn large_packet_write_is_split_into_page_packets() {
    let mut r = ring();
    assert_eq!(r.try_write(&[5u8; PAGE + 100], true), Ok(PAGE + 100));
    assert_eq!(r.slots_used(), 2);
    assert_eq!(r.take(&mut vec![0u8; 10_000]), PAGE);
}

#[test]
fn nothing_merges_into_a_packet() {
    let mut r = ring();
    r.try_write(b"pkt", true).unwrap();
    assert_eq!(r.merge(b"x"), 0);
    r.try_write(b"x", false).unwrap();
    assert_eq!(r.slots_used(), 2);
}

#[test]
fn a_packet_write_merges_into_a_stream_page() {
    let mut r = ring();
    r.try_write(b"stream", false).unwrap();
    assert_eq!(r.try_write(b"pk", true), Ok(2));
    assert_eq!(r.slots_used(), 1, "the last slot's mode decides, as pipe_write");
}

#[test]
fn put_back_restores_a_failed_read() {
    let mut r = ring();
    r.try_write(&pattern(6000, 3), false).unwrap();
    let mut buf = vec![0u8; 5000];
    assert_eq!(r.take(&mut buf), 5000);
    r.put_back(&buf);
    assert_eq!(r.len(), 6000);
    assert_eq!(drain(&mut r), pattern(6000, 3));
}

#[test]
fn put_back_may_exceed_the_slot_count() {
    let mut r = ring();
    r.try_write(&[0u8; 65536], false).unwrap();
    let mut buf = vec![0u8; 2 * PAGE];
    r.take(&mut buf);
    r.try_write(&[1u8; 2 * PAGE], false).unwrap();
    r.put_back(&buf);
    assert_eq!(r.slots_used(), 18);
    assert_eq!(r.len(), 65536 + 2 * PAGE);
}

#[test]
fn put_back_restores_a_whole_packet() {
    let mut r = ring();
    r.try_write(b"abcdef", true).unwrap();
    let mut buf = [0u8; 2];
    r.take(&mut buf);
    r.put_back(&buf);
    assert_eq!(r.len(), 6);
    let mut all = [0u8; 10];
    assert_eq!(r.take(&mut all), 6);
    assert_eq!(&all[..6], b"abcdef");
}

#[test]
fn round_size_rounds_up_to_a_power_of_two() {
    assert_eq!(round_size(0), Ok(4096));
    assert_eq!(round_size(1), Ok(4096));
    assert_eq!(round_size(4097), Ok(8192));
    assert_eq!(round_size(65536), Ok(65536));
    assert_eq!(round_size(100_000), Ok(131072));
    assert_eq!(round_size(1 << 31), Ok(1 << 31));
    assert_eq!(round_size((1 << 31) + 1), Err(Errno::EINVAL));
    assert_eq!(round_size(u64::MAX), Err(Errno::EINVAL));
}

#[test]
fn shrinking_below_the_occupied_slots_is_ebusy() {
    let mut r = ring();
    r.try_write(&[0u8; 3 * PAGE], false).unwrap();
    assert_eq!(r.set_slots(2), Err(Errno::EBUSY));
    assert_eq!(r.capacity(), 65536);
    assert_eq!(r.set_slots(4), Ok(()));
    assert_eq!(r.capacity(), 4 * PAGE);
    assert!(!r.is_full());
    r.try_write(&[0u8; 10], false).unwrap();
    assert!(r.is_full());
    assert_eq!(r.try_write(&[0u8; PAGE], false), Err(Errno::EAGAIN));
    assert_eq!(r.try_write(&[0u8; PAGE - 10], false), Ok(PAGE - 10));
}

#[test]
fn shrinking_counts_slots_not_bytes() {
    let mut r = ring();
    r.try_write(&[0u8; 10], false).unwrap();
    r.try_write(&[0u8; PAGE], false).unwrap();
    assert_eq!(r.set_slots(1), Err(Errno::EBUSY), "two slots, 4106 bytes");
    assert_eq!(r.set_slots(2), Ok(()));
    assert_eq!(drain(&mut r).len(), PAGE + 10);
}

#[test]
fn growing_with_data_keeps_it_and_adds_room() {
    let mut r = ring();
    r.try_write(&pattern(65536, 7), false).unwrap();
    r.set_slots(32).unwrap();
    assert_eq!(r.try_write(&pattern(PAGE, 8), false), Ok(PAGE));
    let got = drain(&mut r);
    assert_eq!(&got[..65536], &pattern(65536, 7)[..]);
    assert_eq!(&got[65536..], &pattern(PAGE, 8)[..]);
}

#[test]
fn one_page_pipe_holds_one_atomic_write() {
    let mut r = ring();
    r.set_slots(1).unwrap();
    assert_eq!(r.try_write(&[0u8; 3000], false), Ok(3000));
    assert_eq!(r.try_write(&[0u8; 1096], false), Ok(1096));
    assert_eq!(r.try_write(&[0u8; 1], false), Err(Errno::EAGAIN));
}

#[test]
fn poll_bits_of_each_end() {
    // read end: data, no writer
    assert_eq!(poll_bits(true, false, 5, false, 1, 1), POLLIN | POLLRDNORM);
    assert_eq!(poll_bits(true, false, 0, false, 1, 1), 0);
    assert_eq!(poll_bits(true, false, 0, false, 1, 0), POLLHUP);
    assert_eq!(poll_bits(true, false, 3, false, 1, 0), POLLIN | POLLRDNORM | POLLHUP);
    // write end: room, no reader
    assert_eq!(poll_bits(false, true, 0, false, 1, 1), POLLOUT | POLLWRNORM);
    assert_eq!(poll_bits(false, true, 0, true, 1, 1), 0);
    assert_eq!(poll_bits(false, true, 0, false, 0, 1), POLLOUT | POLLWRNORM | POLLERR);
    assert_eq!(poll_bits(false, true, 0, true, 0, 1), POLLERR);
    // both ways (a FIFO opened O_RDWR)
    assert_eq!(poll_bits(true, true, 1, false, 1, 1), POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
}

proptest! {
    /// Whatever the writes and reads, bytes come out in order, none lost
    /// or duplicated, len() counts what is unread and writes of at most
    /// PIPE_BUF bytes are all-or-nothing.
    #[test]
    fn ring_is_a_fifo(ops in proptest::collection::vec((any::<bool>(), 1usize..9000), 1..80)) {
        let mut r = ring();
        let mut model = std::collections::VecDeque::new();
        let mut seed = 0u8;
        for (write, n) in ops {
            if write {
                seed = seed.wrapping_add(1);
                let data = pattern(n, seed);
                match r.try_write(&data, false) {
                    Ok(k) => {
                        prop_assert!(k > 0 && k <= n);
                        if n <= PIPE_BUF { prop_assert_eq!(k, n); }
                        model.extend(data[..k].iter().copied());
                    }
                    Err(e) => { prop_assert_eq!(e, Errno::EAGAIN); prop_assert!(r.is_full() || n <= PIPE_BUF); }
                }
            } else {
                let mut buf = vec![0u8; n];
                let k = r.take(&mut buf);
                let want: Vec<u8> = (0..k).filter_map(|_| model.pop_front()).collect();
                prop_assert_eq!(&buf[..k], &want[..]);
                prop_assert_eq!(k, n.min(k + model.len()).min(n));
            }
            prop_assert_eq!(r.len(), model.len());
            prop_assert!(r.slots_used() <= 16);
            prop_assert!(r.len() <= 65536);
        }
    }

    /// A pipe of N slots takes at least N * PAGE - (PAGE - 1) bytes of
    /// 1-byte writes... in fact all of them: single bytes always merge.
    #[test]
    fn byte_writes_fill_whole_pages(slots_log in 0u32..5) {
        let mut r = ring();
        let slots = 1usize << slots_log;
        r.set_slots(slots).unwrap();
        let mut n = 0;
        while r.try_write(b"z", false).is_ok() {
            n += 1;
            prop_assert!(n <= slots * PAGE);
        }
        prop_assert_eq!(n, slots * PAGE);
    }
}

#[test]
fn peek_copies_without_consuming_across_pages() {
    let mut r = ring();
    let data = pattern(10_000, 3);
    assert_eq!(r.fill(&data, false), Ok(10_000));
    let mut buf = vec![0u8; 6000];
    assert_eq!(r.peek(&mut buf), 6000);
    assert_eq!(buf, data[..6000]);
    assert_eq!(r.len(), 10_000);
    let mut big = vec![0u8; 20_000];
    assert_eq!(r.peek(&mut big), 10_000);
    assert_eq!(big[..10_000], data[..]);
    assert_eq!(drain(&mut r), data);
    assert_eq!(r.peek(&mut buf), 0);
}
