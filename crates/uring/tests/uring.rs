//! Host tests of the io_uring rules: setup's sizing, the params layout,
//! the rings' arithmetic over hostile memory (with property tests), the
//! overflow list, chains, drains and the probe.

use linux_abi::Errno;
use proptest::prelude::*;
use uring::abi::{self, Cqe, Params, Sqe, op, setup, sqe_flags};
use uring::chain::{Deferred, Link, fails_link};
use uring::layout::{Geometry, Region, field};
use uring::ring::{Posted, RingMemory, Rings, SqSlot};
use uring::testing::VecMem;

fn params(flags: u32, cq: u32) -> Params {
    Params { flags, cq_entries: cq, ..Params::default() }
}

#[test]
fn sizing_as_linux() {
    let g = Geometry::new(1, &Params::default()).unwrap();
    assert_eq!((g.sq_entries, g.cq_entries), (1, 2));
    let g = Geometry::new(5, &Params::default()).unwrap();
    assert_eq!((g.sq_entries, g.cq_entries), (8, 16));
    assert_eq!(Geometry::new(0, &Params::default()), Err(Errno::EINVAL));
    assert_eq!(Geometry::new(32769, &Params::default()), Err(Errno::EINVAL));
    let g = Geometry::new(32769, &params(setup::CLAMP, 0)).unwrap();
    assert_eq!((g.sq_entries, g.cq_entries), (32768, 65536));
    // CQSIZE
    let g = Geometry::new(4, &params(setup::CQSIZE, 100)).unwrap();
    assert_eq!(g.cq_entries, 128);
    assert_eq!(Geometry::new(4, &params(setup::CQSIZE, 0)), Err(Errno::EINVAL));
    assert_eq!(Geometry::new(8, &params(setup::CQSIZE, 4)), Err(Errno::EINVAL));
    assert_eq!(Geometry::new(8, &params(setup::CQSIZE, 65537)), Err(Errno::EINVAL));
    let g = Geometry::new(8, &params(setup::CQSIZE | setup::CLAMP, 65537)).unwrap();
    assert_eq!(g.cq_entries, 65536);
    // rings_size: 320 + 16 * cq, aligned to 64, then 4 * sq
    let g = Geometry::new(4, &Params::default()).unwrap();
    assert_eq!((g.sq_array, g.rings_len, g.sqes_len), (448, 464, 256));
    let g = Geometry::new(4, &params(setup::CQE32 | setup::SQE128, 0)).unwrap();
    assert_eq!((g.cqe_len, g.sq_array, g.rings_len, g.sqes_len), (32, 896, 912, 512));
    let (sq, cq) = g.offsets();
    assert_eq!(
        (sq.head, sq.tail, sq.ring_mask, sq.ring_entries, sq.flags, sq.dropped),
        (0, 64, 256, 264, 276, 272)
    );
    assert_eq!(
        (cq.head, cq.tail, cq.ring_mask, cq.ring_entries, cq.overflow, cq.cqes, cq.flags),
        (128, 192, 260, 268, 284, 320, 280)
    );
}

#[test]
fn completions_notify_as_the_setup_says() {
    // uring39's io_uring_tw.c under Debian's 6.1: a plain ring and a
    // COOP_TASKRUN ring interrupt the submitter's sleep (semop is EINTR,
    // nanosleep restarts), a DEFER_TASKRUN ring never does
    use setup::{Notify, notify};
    assert_eq!(notify(0), Notify::Signal);
    assert_eq!(notify(setup::SQPOLL | setup::TASKRUN_FLAG | setup::SINGLE_ISSUER), Notify::Signal);
    assert_eq!(notify(setup::COOP_TASKRUN), Notify::SignalNoIpi);
    assert_eq!(notify(setup::COOP_TASKRUN | setup::TASKRUN_FLAG), Notify::SignalNoIpi);
    assert_eq!(notify(setup::DEFER_TASKRUN | setup::SINGLE_ISSUER), Notify::Deferred);
    assert_eq!(notify(setup::DEFER_TASKRUN | setup::COOP_TASKRUN | setup::SINGLE_ISSUER), Notify::Deferred);
}

#[test]
fn mmap_regions() {
    let g = Geometry::new(4, &Params::default()).unwrap();
    assert_eq!(g.mmap_region(abi::off::SQ_RING, 4096), Ok(Region::Rings));
    assert_eq!(g.mmap_region(abi::off::CQ_RING, 464), Ok(Region::Rings));
    assert_eq!(g.mmap_region(abi::off::SQES, 4096), Ok(Region::Sqes));
    assert_eq!(g.mmap_region(abi::off::SQES, 8192), Err(Errno::EINVAL));
    assert_eq!(g.mmap_region(4096, 4096), Err(Errno::EINVAL));
}

#[test]
fn params_round_trip() {
    let g = Geometry::new(4, &Params::default()).unwrap();
    let (sq_off, cq_off) = g.offsets();
    let p = Params { sq_entries: 4, cq_entries: 8, features: 7, sq_off, cq_off, ..Params::default() };
    let b = p.to_bytes();
    assert_eq!(Params::from_bytes(&b), p);
    assert_eq!(&b[40..44], &0u32.to_le_bytes());
    assert_eq!(&b[44..48], &64u32.to_le_bytes());
    assert_eq!(&b[80 + 20..80 + 24], &320u32.to_le_bytes());
}

#[test]
fn sqe_round_trip() {
    let s = Sqe {
        opcode: op::READ,
        flags: sqe_flags::IO_LINK,
        fd: -1,
        off: u64::MAX,
        addr: 0x1000,
        len: 5,
        op_flags: 3,
        user_data: 0xdead_beef,
        buf_index: 2,
        ..Sqe::default()
    };
    assert_eq!(Sqe::from_bytes(&s.to_bytes()), s);
    assert!(s.links());
}

#[test]
fn dropped_sq_entries_and_overflow() {
    let g = Geometry::new(2, &Params::default()).unwrap();
    let mem = VecMem::new(g.rings_len);
    let mut r = Rings::new(g, &mem, 2);
    assert_eq!(mem.read_u32(field::SQ_RING_MASK), 1);
    assert_eq!(mem.read_u32(field::CQ_RING_ENTRIES), 4);
    mem.write_u32(g.sq_array, 7);
    mem.write_u32(field::SQ_TAIL, 1);
    assert_eq!(r.next_sqe(&mem), SqSlot::Dropped);
    assert_eq!(mem.read_u32(field::SQ_DROPPED), 1);
    r.commit_sq(&mem);
    assert_eq!(mem.read_u32(field::SQ_HEAD), 1);
    // 4 fit, 2 overflow, 1 dropped
    for i in 0..7 {
        let want = match i {
            0..=3 => Posted::Ring,
            4 | 5 => Posted::Overflow,
            _ => Posted::Dropped,
        };
        assert_eq!(r.post(&mem, &Cqe { user_data: i, res: 0, flags: 0 }), want);
    }
    assert_eq!(mem.read_u32(field::SQ_FLAGS), abi::sq_flags::CQ_OVERFLOW);
    assert_eq!(mem.read_u32(field::CQ_OVERFLOW), 1);
    assert!(r.take_dropped());
    assert!(!r.take_dropped());
    // reap two: two come from the overflow list, in order
    mem.write_u32(field::CQ_HEAD, 2);
    assert_eq!(r.flush_overflow(&mem), 2);
    assert_eq!(mem.read_u32(field::SQ_FLAGS), 0);
    let mut b = [0u8; 16];
    mem.read(field::CQES, &mut b);
    assert_eq!(Cqe::from_bytes(&b).user_data, 4);
    mem.read(field::CQES + 16, &mut b);
    assert_eq!(Cqe::from_bytes(&b).user_data, 5);
    assert_eq!(mem.read_u32(field::CQ_TAIL), 6);
}

#[test]
fn chains_and_drains() {
    let nop = Sqe { opcode: op::NOP, flags: sqe_flags::IO_LINK, ..Sqe::default() };
    let mut l = Link::new();
    l.finished(&nop, false);
    assert!(l.runs());
    l.finished(&nop, true);
    assert!(!l.runs());
    let hard = Sqe { flags: sqe_flags::IO_HARDLINK, ..nop };
    let mut l = Link::new();
    l.finished(&hard, true);
    assert!(l.runs());
    // short reads fail a link; a timeout's ETIME does unless ETIME_SUCCESS
    let rd = Sqe { opcode: op::READ, len: 10, ..Sqe::default() };
    assert!(fails_link(&rd, 5, Some(10)));
    assert!(!fails_link(&rd, 10, Some(10)));
    assert!(fails_link(&rd, -4, None));
    let to = Sqe { opcode: op::TIMEOUT, ..Sqe::default() };
    assert!(fails_link(&to, -62, None));
    let to2 = Sqe { op_flags: abi::timeout::ETIME_SUCCESS, ..to };
    assert!(!fails_link(&to2, -62, None));

    let mut d: Deferred<u32> = Deferred::new(2);
    assert_eq!(d.admit(1, false, 3, false), Ok(Some(1)));
    assert_eq!(d.admit(2, true, 3, false), Ok(None));
    assert_eq!(d.admit(3, false, 3, false), Ok(None));
    assert_eq!(d.admit(4, false, 3, false), Err(4));
    assert_eq!(d.next_ready(1, false), None);
    assert_eq!(d.next_ready(0, false), Some((2, true)));
    // the drained one is in flight: the next waits
    assert_eq!(d.next_ready(1, true), None);
    assert_eq!(d.next_ready(0, false), Some((3, false)));
    assert!(d.is_empty());

    // front() looks without taking; take_where keeps the others' order
    let mut d: Deferred<u32> = Deferred::new(8);
    assert_eq!(d.front(), None);
    assert_eq!(d.take_where(|_| true).map(|q| q.len()), Ok(0));
    assert_eq!(d.admit(10, true, 1, false), Ok(None));
    for x in [11, 12, 13, 14] {
        assert_eq!(d.admit(x, x == 13, 1, false), Ok(None));
    }
    assert_eq!(d.front(), Some(&10));
    let taken: Vec<(u32, bool)> = d.take_where(|x| x % 2 == 1).unwrap().into_iter().collect();
    assert_eq!(taken, vec![(11, false), (13, true)]);
    assert_eq!(d.len(), 3);
    assert_eq!(d.front(), Some(&10));
    assert_eq!(d.next_ready(0, false), Some((10, true)));
    assert_eq!(d.next_ready(0, false), Some((12, false)));
    assert_eq!(d.next_ready(0, false), Some((14, false)));
    assert!(d.is_empty());
}

#[test]
fn probe_fill() {
    let mut buf = vec![0u8; uring::probe::len(4).unwrap()];
    uring::probe::fill(&mut buf, 4, |o| o != 2).unwrap();
    assert_eq!(&buf[..2], &[48, 4]);
    assert_eq!(&buf[16..20], &[0, 0, 1, 0]);
    assert_eq!(&buf[32..36], &[2, 0, 0, 0]);
    // not zeroed: EINVAL
    assert_eq!(uring::probe::fill(&mut buf, 4, |_| true), Err(Errno::EINVAL));
    assert_eq!(uring::probe::len(257), Err(Errno::EINVAL));
    let mut big = vec![0u8; uring::probe::len(256).unwrap()];
    uring::probe::fill(&mut big, 256, |_| true).unwrap();
    assert_eq!(big[1], 49);
}

proptest! {
    /// Whatever user space writes into the shared memory, the kernel's
    /// indices stay consistent: each SQ entry is consumed once, every
    /// index handed out is below the SQE count, and every posted
    /// completion is in the ring, in the overflow list or counted dropped.
    #[test]
    fn hostile_rings(entries in 1u32..64, writes in proptest::collection::vec((0usize..600, any::<u32>()), 0..40),
                     steps in proptest::collection::vec(0u8..4, 1..200)) {
        let g = Geometry::new(entries, &Params::default()).unwrap();
        let mem = VecMem::new(g.rings_len);
        let mut r = Rings::new(g, &mem, 8);
        let mut consumed = 0u32;
        let (mut ring, mut over, mut dropped) = (0u64, 0u64, 0u64);
        let mut w = writes.into_iter();
        for s in steps {
            if let Some((at, v)) = w.next() {
                let at = (at * 4) % (g.rings_len - 4);
                mem.write_u32(at & !3, v);
            }
            match s {
                0 => {
                    let before = r.sq_head();
                    match r.next_sqe(&mem) {
                        SqSlot::Index(i) => { prop_assert!(i < g.sq_entries); consumed += 1; }
                        SqSlot::Dropped => consumed += 1,
                        SqSlot::Empty => prop_assert_eq!(r.sq_head(), before),
                    }
                    prop_assert_eq!(r.sq_head(), consumed);
                }
                1 | 2 => match r.post(&mem, &Cqe { user_data: 1, res: 0, flags: 0 }) {
                    Posted::Ring => ring += 1,
                    Posted::Overflow => over += 1,
                    Posted::Dropped => dropped += 1,
                },
                _ => { let m = r.flush_overflow(&mem) as u64; ring += m; over -= m; }
            }
            prop_assert_eq!(u64::from(r.cq_tail()), ring % (1 << 32));
            prop_assert_eq!(r.overflowed() as u64, over);
            prop_assert!(r.overflowed() <= 8);
        }
        let _ = dropped;
    }
}
