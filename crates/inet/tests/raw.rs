//! Host tests of raw IP sockets (SOCK_RAW) over lo.

use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use inet::rawip::*;
use inet::testing::{ManualClock, pump};
use inet::{Family, Stack};
use linux_abi::Errno;

fn v4(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}
fn v6(port: u16) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, port, 0, 0))
}

fn setup() -> (Stack, ManualClock) {
    let c = ManualClock::default();
    (Stack::new(c.now(), 42), c)
}

fn echo(id: u16) -> [u8; 12] {
    let mut req = [8u8, 0, 0, 0, (id >> 8) as u8, id as u8, 0, 1, b'p', b'i', b'n', b'g'];
    let sum = inet::inet_checksum(&req);
    req[2..4].copy_from_slice(&sum.to_be_bytes());
    req
}

#[test]
fn socket_errors() {
    let (mut st, _) = setup();
    assert_eq!(st.socket(Family::V4, 3, 0, true), Err(Errno::EPROTONOSUPPORT));
    assert_eq!(st.socket(Family::V4, 3, 0, false), Err(Errno::EPROTONOSUPPORT));
    assert_eq!(st.socket(Family::V4, 3, 17, false), Err(Errno::EPERM));
    assert_eq!(st.socket(Family::V6, 3, 58, false), Err(Errno::EPERM));
    assert_eq!(st.socket(Family::V4, 3, 300, true), Err(Errno::EINVAL));
    let r = st.socket(Family::V4, 3, 17, true).unwrap();
    assert_eq!(st.local_addr(r).unwrap().port(), 17);
    let raw = st.socket(Family::V4, 3, IPPROTO_RAW, true).unwrap();
    assert_eq!(st.getsockopt(raw, 0, IP_HDRINCL).unwrap().as_int(), 1);
    assert_eq!(st.getsockopt(r, 0, IP_HDRINCL).unwrap().as_int(), 0);
    // ICMP_FILTER only on ICMP sockets
    assert_eq!(st.setsockopt(r, SOL_RAW, ICMP_FILTER, &[0; 4]), Err(Errno::EOPNOTSUPP));
    let u = st.socket(Family::V4, 2, 17, false).unwrap();
    assert_eq!(st.setsockopt(u, 0, IP_HDRINCL, &1i32.to_ne_bytes()), Err(Errno::ENOPROTOOPT));
    let i6 = st.socket(Family::V6, 3, 58, true).unwrap();
    assert_eq!(st.getsockopt(i6, SOL_RAW, IPV6_CHECKSUM).unwrap().as_int(), 2);
    assert_eq!(st.setsockopt(i6, 41, IPV6_CHECKSUM, &4i32.to_ne_bytes()), Err(Errno::EINVAL));
    let u6 = st.socket(Family::V6, 3, 17, true).unwrap();
    assert_eq!(st.getsockopt(u6, 41, IPV6_CHECKSUM).unwrap().as_int(), -1);
    assert_eq!(st.setsockopt(u6, 41, IPV6_CHECKSUM, &3i32.to_ne_bytes()), Err(Errno::EINVAL));
    assert_eq!(st.setsockopt(u6, 41, IPV6_CHECKSUM, &6i32.to_ne_bytes()), Ok(()));
}

#[test]
fn icmp_echo_with_header_and_filter() {
    let (mut st, c) = setup();
    let r = st.socket(Family::V4, 3, 1, true).unwrap();
    assert_eq!(st.send_to(r, &echo(0x1234), Some(v4(0))), Ok(12));
    pump(&mut st, &c);
    let mut buf = [0u8; 128];
    let mut types = Vec::new();
    while let Ok((n, full, from)) = st.recv_from(r, &mut buf, false) {
        assert_eq!((n, full), (32, 32));
        assert_eq!(from, v4(0));
        assert_eq!(buf[0], 0x45);
        assert_eq!(buf[9], 1);
        assert_eq!(inet::inet_checksum(&buf[..20]), 0, "IP header checksum");
        assert_eq!(inet::inet_checksum(&buf[20..32]), 0, "ICMP checksum");
        types.push(buf[20]);
    }
    assert_eq!(types, [8, 0]);
    // ICMP_FILTER: the echo request (8) dropped
    st.setsockopt(r, SOL_RAW, ICMP_FILTER, &(1u32 << 8).to_ne_bytes()).unwrap();
    assert_eq!(st.getsockopt(r, SOL_RAW, ICMP_FILTER).unwrap().as_int(), 1 << 8);
    st.send_to(r, &echo(0x1235), Some(v4(0))).unwrap();
    pump(&mut st, &c);
    let (_, _, _) = st.recv_from(r, &mut buf, false).unwrap();
    assert_eq!(buf[20], 0);
    assert_eq!(st.recv_from(r, &mut buf, false), Err(Errno::EAGAIN));
}

#[test]
fn hdrincl_and_udp_copies() {
    let (mut st, c) = setup();
    let udp = st.socket(Family::V4, 2, 17, false).unwrap();
    st.bind(udp, v4(7000), false).unwrap();
    let ru = st.socket(Family::V4, 3, 17, true).unwrap();
    let sender = st.socket(Family::V4, 3, IPPROTO_RAW, true).unwrap();
    // a UDP datagram with the header made by hand: source 0 (the kernel
    // fills it in), length and checksum 0
    let mut p = [0u8; 32];
    p[0] = 0x45;
    p[8] = 64;
    p[9] = 17;
    p[16..20].copy_from_slice(&[127, 0, 0, 1]);
    p[20..22].copy_from_slice(&6000u16.to_be_bytes());
    p[22..24].copy_from_slice(&7000u16.to_be_bytes());
    p[24..26].copy_from_slice(&12u16.to_be_bytes());
    p[28..32].copy_from_slice(b"data");
    assert_eq!(st.send_to(sender, &p, Some(v4(0))), Ok(32));
    assert_eq!(st.send_to(sender, &p[..19], Some(v4(0))), Err(Errno::EINVAL));
    pump(&mut st, &c);
    let mut buf = [0u8; 64];
    let (n, _, from) = st.recv_from(udp, &mut buf, false).unwrap();
    assert_eq!((&buf[..n], from), (&b"data"[..], v4(6000)));
    // the raw UDP socket got its copy, with the header filled in
    let (n, _, _) = st.recv_from(ru, &mut buf, false).unwrap();
    assert_eq!(n, 32);
    assert_eq!(&buf[12..16], &[127, 0, 0, 1]);
    assert_eq!(&buf[28..32], b"data");
    assert_eq!(inet::inet_checksum(&buf[..20]), 0);
    // IPPROTO_RAW receives nothing
    assert_eq!(st.recv_from(sender, &mut buf, false), Err(Errno::EAGAIN));
    // an ordinary UDP send reaches the raw socket too
    let u2 = st.socket(Family::V4, 2, 17, false).unwrap();
    st.send_to(u2, b"xy", Some(v4(7000))).unwrap();
    pump(&mut st, &c);
    let (n, _, _) = st.recv_from(ru, &mut buf, false).unwrap();
    assert_eq!((n, &buf[28..30]), (30, &b"xy"[..]));
    // a bound raw socket takes only packets to its address
    st.bind(ru, SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 0)), false).unwrap();
    st.send_to(u2, b"xy", Some(v4(7000))).unwrap();
    pump(&mut st, &c);
    assert_eq!(st.recv_from(ru, &mut buf, false), Err(Errno::EAGAIN));
}

#[test]
fn icmpv6_echo_without_header() {
    let (mut st, c) = setup();
    let r = st.socket(Family::V6, 3, 58, true).unwrap();
    // pass only echo replies (129)
    let mut f = [0xffu8; 32];
    f[129 / 8] &= !(1 << (129 % 8));
    st.setsockopt(r, 58, ICMP6_FILTER, &f).unwrap();
    // the checksum is the kernel's
    let req = [128u8, 0, 0, 0, 0, 7, 0, 1, b'p', b'i', b'n', b'g'];
    assert_eq!(st.send_to(r, &req, Some(v6(0))), Ok(12));
    pump(&mut st, &c);
    let mut buf = [0u8; 128];
    let (n, _, from) = st.recv_from(r, &mut buf, false).unwrap();
    assert_eq!((n, buf[0]), (12, 129));
    assert_eq!(from, v6(0));
    assert_eq!(&buf[4..12], &req[4..12]);
    assert_eq!(st.recv_from(r, &mut buf, false), Err(Errno::EAGAIN));
}
