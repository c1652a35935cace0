//! IP-level control messages over lo: the sender's TTL/hop limit and
//! TOS/traffic class reach the receiver's IP_RECVTTL/IPV6_RECVHOPLIMIT.

use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use inet::cmsg::{self, want};
use inet::opt::{SOL_IP, SOL_IPV6};
use inet::testing::{ManualClock, pump};
use inet::{Family, Stack};

fn cm(level: i32, ty: i32, v: i32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&20u64.to_ne_bytes());
    b.extend_from_slice(&level.to_ne_bytes());
    b.extend_from_slice(&ty.to_ne_bytes());
    b.extend_from_slice(&v.to_ne_bytes());
    b.extend_from_slice(&[0; 4]);
    b
}

#[test]
fn v6_hoplimit_and_tclass_from_sendmsg() {
    let clock = ManualClock::default();
    let mut st = Stack::new(clock.now(), 1);
    let a = st.socket(Family::V6, 2, 0, false).unwrap();
    st.bind(a, SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 0, 0, 0)), false).unwrap();
    let to = st.local_addr(a).unwrap();
    st.setsockopt(a, SOL_IPV6, 51, &1i32.to_ne_bytes()).unwrap(); // IPV6_RECVHOPLIMIT
    st.setsockopt(a, SOL_IPV6, 66, &1i32.to_ne_bytes()).unwrap(); // IPV6_RECVTCLASS
    assert_eq!(st.opts(a).unwrap().recv, want::V6_HOPLIMIT | want::V6_TCLASS);
    let b = st.socket(Family::V6, 2, 0, false).unwrap();
    let mut ctl = cm(SOL_IPV6, cmsg::IPV6_HOPLIMIT, 2);
    ctl.extend(cm(SOL_IPV6, cmsg::IPV6_TCLASS, 0x20));
    assert_eq!(st.send_to_ctl(b, b"hi", Some(to), &ctl), Ok(2));
    pump(&mut st, &clock);
    let mut buf = [0u8; 8];
    let mut got = Vec::new();
    assert_eq!(st.recv_from_ctl(a, &mut buf, false, &mut got).map(|r| r.0), Ok(2));
    let v: Vec<(i32, Vec<u8>)> = got.iter().map(|c| (c.ty, c.data().to_vec())).collect();
    assert_eq!(
        v,
        [
            (cmsg::IPV6_HOPLIMIT, 2i32.to_ne_bytes().to_vec()),
            (cmsg::IPV6_TCLASS, 0x20i32.to_ne_bytes().to_vec())
        ]
    );
    // without messages: the socket's defaults (hop limit 64, class 0)
    assert_eq!(st.send_to(b, b"hi", Some(to)), Ok(2));
    pump(&mut st, &clock);
    got.clear();
    st.recv_from_ctl(a, &mut buf, false, &mut got).unwrap();
    assert_eq!(got[0].data(), &64i32.to_ne_bytes());
    assert_eq!(got[1].data(), &0i32.to_ne_bytes());
}

#[test]
fn v4_ttl_and_tos() {
    let clock = ManualClock::default();
    let mut st = Stack::new(clock.now(), 1);
    let a = st.socket(Family::V4, 2, 0, false).unwrap();
    st.bind(a, SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)), false).unwrap();
    let to = st.local_addr(a).unwrap();
    st.setsockopt(a, SOL_IP, 12, &1i32.to_ne_bytes()).unwrap(); // IP_RECVTTL
    st.setsockopt(a, SOL_IP, 13, &[1]).unwrap(); // IP_RECVTOS, one byte
    let b = st.socket(Family::V4, 2, 0, false).unwrap();
    st.setsockopt(b, SOL_IP, 2, &9i32.to_ne_bytes()).unwrap(); // IP_TTL
    st.setsockopt(b, SOL_IP, 1, &0x10i32.to_ne_bytes()).unwrap(); // IP_TOS
    assert_eq!(st.send_to(b, b"hi", Some(to)), Ok(2));
    pump(&mut st, &clock);
    let mut buf = [0u8; 8];
    let mut got = Vec::new();
    st.recv_from_ctl(a, &mut buf, false, &mut got).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].ty, got[0].data()), (cmsg::IP_TTL, &9i32.to_ne_bytes()[..]));
    assert_eq!((got[1].ty, got[1].data()), (cmsg::IP_TOS, &[0x10u8][..]));
}
