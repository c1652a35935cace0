//! Host tests of the AIO rules: io_setup's sizing and budget, the ring's
//! accounting with user-space reaping, the context table, iocb checks.

use aio::iocb::{self, Iocb, Op};
use aio::ring::{self, Budget, Geometry, IoEvent, field};
use aio::testing::VecRing;
use aio::{Ring, RingMemory, Table};
use linux_abi::Errno;
use proptest::prelude::*;

#[test]
fn geometry_as_linux_with_two_cpus() {
    // max(n, 8) * 2 events, then the last page filled
    assert_eq!(Geometry::new(1, 2, 65536), Ok(Geometry { max_reqs: 1, nr_events: 127, pages: 1 }));
    assert_eq!(Geometry::new(128, 2, 65536), Ok(Geometry { max_reqs: 128, nr_events: 383, pages: 3 }));
    assert_eq!(Geometry::new(127, 2, 65536).map(|g| g.nr_events), Ok(255));
    // over 256 MiB of events
    assert_eq!(Geometry::new(4_194_305, 2, u64::MAX), Err(Errno::EINVAL));
    assert_eq!(Geometry::new(4_194_304, 2, u64::MAX).map(|g| g.pages), Ok(65537));
    // the doubled count wraps to 0
    assert_eq!(Geometry::new(0x8000_0000, 2, u64::MAX), Err(Errno::EAGAIN));
    // alone over aio-max-nr
    assert_eq!(Geometry::new(65537, 2, 65536), Err(Errno::EAGAIN));
    assert_eq!(ring::check_setup(0, 0), Err(Errno::EINVAL));
    assert_eq!(ring::check_setup(1, 1), Err(Errno::EINVAL));
    assert_eq!(ring::check_setup(0, 1), Ok(()));
}

#[test]
fn budget_counts_requests() {
    let mut b = Budget::default();
    assert_eq!(b.max_nr, 65536);
    assert_eq!(b.charge(65000), Ok(()));
    assert_eq!(b.charge(537), Err(Errno::EAGAIN));
    assert_eq!(b.charge(536), Ok(()));
    assert_eq!(b.nr, 65536);
    b.release(65000);
    assert_eq!(b.nr, 536);
    b.max_nr = 100; // root lowered it below the count
    assert_eq!(b.charge(1), Err(Errno::EAGAIN));
}

#[test]
fn header_and_events() {
    let mem = VecRing::new(1);
    let mut r = Ring::new(&mem, 3, 127);
    let w = |o| mem.read_u32(o);
    assert_eq!(
        [w(field::ID), w(field::NR), w(field::HEAD), w(field::TAIL), w(field::MAGIC)],
        [3, 127, 0, 0, 0xa10a10a1]
    );
    assert_eq!([w(field::COMPAT), w(field::INCOMPAT), w(field::HEADER_LENGTH)], [1, 0, 32]);
    r.reserve(&mem).unwrap();
    r.reserve(&mem).unwrap();
    assert_eq!(r.in_flight(), 2);
    let ev = IoEvent { data: 0x1122, obj: 0x7000, res: -9, res2: 0 };
    r.complete(&mem, &ev);
    assert_eq!(w(field::TAIL), 1);
    assert_eq!(r.event(&mem, 0), ev);
    let mut raw = [0u8; 32];
    mem.read(32, &mut raw);
    assert_eq!(&raw[16..24], &(-9i64).to_le_bytes());
    assert_eq!(r.pending(&mem, 8), Some((0, 1)));
    assert!(r.consume(&mem, 0, 1));
    assert_eq!(w(field::HEAD), 1);
    assert_eq!(r.pending(&mem, 8), None);
    assert_eq!(r.in_flight(), 1);
}

#[test]
fn full_ring_is_eagain_until_reaped_even_by_user_space() {
    let mem = VecRing::new(1);
    let mut r = Ring::new(&mem, 0, 8);
    for _ in 0..7 {
        r.reserve(&mem).unwrap();
    }
    assert_eq!(r.reserve(&mem), Err(Errno::EAGAIN));
    for i in 0..7 {
        r.complete(&mem, &IoEvent { data: i, ..Default::default() });
    }
    // completed but not reaped: still full
    assert_eq!(r.reserve(&mem), Err(Errno::EAGAIN));
    // user space reaps three by moving head itself (libaio's user-mode reap)
    mem.write_u32(field::HEAD, 3);
    assert_eq!(r.unreaped(&mem), 4);
    for _ in 0..3 {
        r.reserve(&mem).unwrap();
    }
    assert_eq!(r.reserve(&mem), Err(Errno::EAGAIN));
    for i in 7..10 {
        r.complete(&mem, &IoEvent { data: i, ..Default::default() });
    }
    // wrapped: 3..8 then 0..2
    assert_eq!(r.pending(&mem, 100), Some((3, 5)));
    assert!(r.consume(&mem, 3, 5));
    assert_eq!(r.pending(&mem, 100), Some((0, 2)));
    assert_eq!(r.event(&mem, 1).data, 9);
    // a stale head (another reader moved it) is not consumed twice
    assert!(!r.consume(&mem, 3, 2));
    assert!(r.kill());
    assert!(!r.kill());
    assert_eq!(r.reserve(&mem), Err(Errno::EINVAL));
}

#[test]
fn table_takes_lowest_free_id() {
    let mut t = Table::new();
    assert_eq!(t.insert('a'), Ok(0));
    assert_eq!(t.insert('b'), Ok(1));
    assert_eq!(t.insert('c'), Ok(2));
    assert_eq!(t.remove(1), Some('b'));
    assert_eq!(t.next_id(), 1);
    assert_eq!(t.insert('d'), Ok(1));
    assert_eq!(t.get(1), Some(&'d'));
    assert_eq!(t.remove(2), Some('c'));
    assert_eq!(t.remove(2), None);
    assert_eq!(t.len(), 2);
    assert_eq!(t.take_all().collect::<Vec<_>>(), vec!['a', 'd']);
    assert!(t.is_empty());
    assert_eq!(t.get(0), None);
}

fn iocb_bytes(opcode: u16, buf: u64, nbytes: u64, offset: i64) -> [u8; 64] {
    let mut b = [0u8; 64];
    b[0..8].copy_from_slice(&0xdead_beefu64.to_le_bytes());
    b[16..18].copy_from_slice(&opcode.to_le_bytes());
    b[20..24].copy_from_slice(&5u32.to_le_bytes());
    b[24..32].copy_from_slice(&buf.to_le_bytes());
    b[32..40].copy_from_slice(&nbytes.to_le_bytes());
    b[40..48].copy_from_slice(&offset.to_le_bytes());
    b
}

#[test]
fn iocb_checks() {
    let i = Iocb::from_bytes(&iocb_bytes(0, 0x1000, 16, 8));
    assert_eq!((i.data, i.opcode, i.fildes, i.buf, i.nbytes, i.offset), (0xdead_beef, 0, 5, 0x1000, 16, 8));
    assert_eq!(i.check(), Ok(()));
    assert_eq!(Op::from_opcode(6), Err(Errno::EINVAL));
    assert_eq!(Op::from_opcode(4), Err(Errno::EINVAL));
    assert_eq!(Op::from_opcode(7), Ok(Op::Preadv));
    assert!(Op::Pwritev.writes() && Op::Pwritev.vectored() && Op::Pwritev.is_rw());
    let neg = Iocb { nbytes: u64::MAX, ..i };
    assert_eq!(neg.check(), Err(Errno::EINVAL));
    let res = Iocb { reserved2: 1, ..i };
    assert_eq!(res.check(), Err(Errno::EINVAL));
    assert_eq!(Iocb { rw_flags: 0x20, ..i }.check_rw(false), Err(Errno::EOPNOTSUPP));
    assert_eq!(Iocb { rw_flags: iocb::RWF_APPEND, ..i }.check_rw(false), Ok(()));
    let rt = Iocb { flags: iocb::FLAG_IOPRIO, reqprio: (1 << 13) as i16, ..i };
    assert_eq!(rt.check_rw(false), Err(Errno::EPERM));
    assert_eq!(rt.check_rw(true), Ok(()));
    assert_eq!(iocb::check_ioprio((2 << 13) | 8, false), Err(Errno::EINVAL));
    assert_eq!(iocb::check_ioprio(3 << 13, false), Ok(()));
    assert_eq!(iocb::check_ioprio(4 << 13, false), Err(Errno::EINVAL));
    let p = Iocb::from_bytes(&iocb_bytes(5, 1, 0, 0));
    assert_eq!(p.poll_events(), Ok(1 | 8 | 16));
    assert_eq!(Iocb { buf: 0x10000, ..p }.poll_events(), Err(Errno::EINVAL));
    assert_eq!(Iocb { offset: 1, ..p }.poll_events(), Err(Errno::EINVAL));
    assert_eq!(iocb::wake_result(0x1, 0x1 | 8 | 16), 0x41);
    assert_eq!(iocb::wake_result(0x41 | 0x4, 0x1 | 8 | 16), 0x41);
    assert_eq!(iocb::wake_result(0x10, 0x1 | 8 | 16), 0x10);
    assert_eq!(iocb::wake_result(0x4, 0x4 | 8 | 16), 0x104);
    let f = Iocb::from_bytes(&iocb_bytes(2, 0, 0, 0));
    assert_eq!(f.check_fsync(), Ok(()));
    assert_eq!(Iocb { nbytes: 1, ..f }.check_fsync(), Err(Errno::EINVAL));
}

proptest! {
    /// Whatever user space writes to head, the ring never holds more than
    /// nr - 1 requests and events together when head is honest, and
    /// pending runs stay inside the ring.
    #[test]
    fn accounting_holds(ops in proptest::collection::vec(0u8..4, 1..300), nr in 2u32..40) {
        let mem = VecRing::new(2);
        let mut r = Ring::new(&mem, 0, nr);
        let mut next = 0u64;
        let mut expect = std::collections::VecDeque::new();
        for op in ops {
            match op {
                0 => { let _ = r.reserve(&mem); }
                1 if r.in_flight() > 0 => {
                    r.complete(&mem, &IoEvent { data: next, ..Default::default() });
                    expect.push_back(next);
                    next += 1;
                }
                2 => {
                    if let Some((h, n)) = r.pending(&mem, 3) {
                        prop_assert!(h + n <= nr);
                        for k in 0..n {
                            prop_assert_eq!(Some(r.event(&mem, h + k).data), expect.pop_front());
                        }
                        prop_assert!(r.consume(&mem, h, n));
                    }
                }
                _ => {}
            }
            prop_assert!(r.in_flight() + r.unreaped(&mem) < nr);
            prop_assert_eq!(r.unreaped(&mem) as usize, expect.len());
        }
    }
}
