//! Host test of an aborted orphan's RST over a wire between two stacks
//! (smoltcp's loopback never refuses a packet, a NIC's queue can).

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use inet::opt::*;
use inet::smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use inet::smoltcp::wire::{IpCidr, Ipv4Cidr};
use inet::testing::{ManualClock, pump};
use inet::{Duration, Family, Instant, Stack};
use linux_abi::Errno;

type Queue = Arc<Mutex<VecDeque<Vec<u8>>>>;

/// One end of an IP wire: sends into `out`, receives from `inp`; while
/// `full` is set it has no transmit buffer (a NIC with a full queue).
struct End {
    out: Queue,
    inp: Queue,
    full: Arc<AtomicBool>,
}

struct Rx(Vec<u8>);
struct Tx(Queue);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut v = vec![0; len];
        let r = f(&mut v);
        self.0.lock().unwrap().push_back(v);
        r
    }
}

impl Device for End {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.max_transmission_unit = 1500;
        c.medium = Medium::Ip;
        c
    }

    fn receive(&mut self, _t: Instant) -> Option<(Rx, Tx)> {
        let p = self.inp.lock().unwrap().pop_front()?;
        Some((Rx(p), Tx(self.out.clone())))
    }

    fn transmit(&mut self, _t: Instant) -> Option<Tx> {
        if self.full.load(Ordering::SeqCst) { None } else { Some(Tx(self.out.clone())) }
    }
}

fn addr(last: u8, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 9, 0, last), port))
}

fn stack(end: End, last: u8) -> Stack {
    let c = ManualClock::default();
    let mut st = Stack::new(c.now(), u64::from(last));
    let cidr = IpCidr::Ipv4(Ipv4Cidr::new(Ipv4Addr::new(10, 9, 0, last), 24));
    st.add_interface("wire0", end, None, &[cidr], None).unwrap();
    st
}

fn pump_both(a: &mut Stack, b: &mut Stack, c: &ManualClock) {
    for _ in 0..8 {
        pump(a, c);
        pump(b, c);
    }
}

#[test]
fn aborted_orphan_sends_its_rst_when_the_nic_has_room() {
    let (ab, ba): (Queue, Queue) = Default::default();
    let full = Arc::new(AtomicBool::new(false));
    let mut a = stack(End { out: ab.clone(), inp: ba.clone(), full: full.clone() }, 1);
    let mut b = stack(End { out: ba, inp: ab, full: Arc::new(AtomicBool::new(false)) }, 2);
    let mut c = ManualClock::default();
    let l = b.socket(Family::V4, 1, 0, false).unwrap();
    b.bind(l, addr(2, 5000), false).unwrap();
    b.listen(l, 4).unwrap();
    let cl = a.socket(Family::V4, 1, 0, false).unwrap();
    assert_eq!(a.connect(cl, addr(2, 5000), true), Err(Errno::EINPROGRESS));
    pump_both(&mut a, &mut b, &c);
    assert_eq!(a.connect(cl, addr(2, 5000), true), Ok(()));
    let (sv, _) = b.accept(l).unwrap();
    // a UDP socket on A: its datagram makes A's next poll "eventful"
    let ua = a.socket(Family::V4, 2, 0, false).unwrap();
    a.bind(ua, addr(1, 6000), false).unwrap();
    let ub = b.socket(Family::V4, 2, 0, false).unwrap();
    // SO_LINGER {1, 0}: close aborts; the NIC's queue is full meanwhile
    let mut lg = [0u8; 8];
    lg[..4].copy_from_slice(&1i32.to_ne_bytes());
    a.setsockopt(cl, SOL_SOCKET, SO_LINGER, &lg).unwrap();
    let sockets = a.smoltcp_socket_count();
    full.store(true, Ordering::SeqCst);
    a.close(cl);
    assert_eq!(b.send_to(ub, b"tick", Some(addr(1, 6000))), Ok(4));
    pump_both(&mut a, &mut b, &c);
    let mut buf = [0u8; 8];
    assert_eq!(b.recv(sv, &mut buf, false), Err(Errno::EAGAIN), "the RST cannot have gone");
    // room again: the orphan's RST goes, the peer sees the reset
    full.store(false, Ordering::SeqCst);
    c.advance(Duration::from_millis(10));
    pump_both(&mut a, &mut b, &c);
    assert_eq!(b.recv(sv, &mut buf, false), Err(Errno::ECONNRESET));
    // and the orphan is gone once its RST went
    assert_eq!(a.smoltcp_socket_count(), sockets - 1);
}
