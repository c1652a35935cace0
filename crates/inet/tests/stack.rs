//! Host tests of the inet stack over smoltcp's loopback device.

use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use inet::events::*;
use inet::opt::*;
use inet::testing::{ManualClock, pump, run_for};
use inet::{Duration, Family, Shutdown, SockId, Stack};
use linux_abi::Errno;

fn v4(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}
fn any4(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
}
fn v6(port: u16) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, port, 0, 0))
}
fn any6(port: u16) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0))
}

fn setup() -> (Stack, ManualClock) {
    let c = ManualClock::default();
    (Stack::new(c.now(), 42), c)
}

fn tcp(st: &mut Stack, f: Family) -> SockId {
    st.socket(f, 1, 0, false).unwrap()
}

/// A listener on `addr` and a connected pair (client, server).
fn pair(st: &mut Stack, c: &ManualClock, f: Family, addr: SocketAddr) -> (SockId, SockId, SockId) {
    let l = tcp(st, f);
    st.bind(l, addr, false).unwrap();
    st.listen(l, 4).unwrap();
    let port = st.local_addr(l).unwrap().port();
    let cl = tcp(st, f);
    let mut dst = addr;
    dst.set_port(port);
    if dst.ip().is_unspecified() {
        dst = if f == Family::V4 { v4(port) } else { v6(port) };
    }
    assert_eq!(st.connect(cl, dst, true), Err(Errno::EINPROGRESS));
    pump(st, c);
    assert_eq!(st.connect(cl, dst, true), Ok(()));
    assert_eq!(st.connect(cl, dst, true), Err(Errno::EISCONN));
    let (sv, _) = st.accept(l).unwrap();
    (l, cl, sv)
}

#[test]
fn tcp_v4_round_trip() {
    let (mut st, c) = setup();
    let (l, cl, sv) = pair(&mut st, &c, Family::V4, v4(5000));
    assert_eq!(st.send(cl, b"hello"), Ok(5));
    pump(&mut st, &c);
    let mut buf = [0u8; 16];
    assert_eq!(st.recv(sv, &mut buf, true), Ok(5));
    assert_eq!(st.recv(sv, &mut buf, false), Ok(5));
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(st.recv(sv, &mut buf, false), Err(Errno::EAGAIN));
    assert_eq!(st.send(sv, b"back"), Ok(4));
    pump(&mut st, &c);
    assert_eq!(st.recv(cl, &mut buf, false), Ok(4));
    assert_eq!(st.peer_addr(sv).unwrap(), st.local_addr(cl).unwrap());
    assert_eq!(st.peer_addr(cl).unwrap(), v4(5000));
    let p = st.local_addr(cl).unwrap().port();
    assert!((32768..=60999).contains(&p));
    assert_eq!(st.peer_addr(l), Err(Errno::ENOTCONN));
    // Orderly close: EOF on the other side.
    st.close(cl);
    pump(&mut st, &c);
    assert_eq!(st.recv(sv, &mut buf, false), Ok(0));
    assert_ne!(st.events(sv) & EPOLLRDHUP, 0);
    st.close(sv);
    st.close(l);
    pump(&mut st, &c);
    assert_eq!(st.socket_count(), 0);
    assert_eq!(st.smoltcp_socket_count(), 0);
}

#[test]
fn tcp_v6_and_mapped() {
    let (mut st, c) = setup();
    let (_l, cl, sv) = pair(&mut st, &c, Family::V6, v6(6000));
    assert_eq!(st.send(cl, b"x"), Ok(1));
    pump(&mut st, &c);
    let mut b = [0u8; 4];
    assert_eq!(st.recv(sv, &mut b, false), Ok(1));
    // A v6 listener on :: takes v4 too, with v4-mapped addresses.
    let l = tcp(&mut st, Family::V6);
    st.bind(l, any6(6001), false).unwrap();
    st.listen(l, 2).unwrap();
    let c4 = tcp(&mut st, Family::V4);
    assert_eq!(st.connect(c4, v4(6001), false), Err(Errno::EAGAIN));
    assert_eq!(st.connect(c4, v4(6001), false), Err(Errno::EAGAIN));
    pump(&mut st, &c);
    assert_eq!(st.connect(c4, v4(6001), false), Ok(()));
    let (_s, peer) = st.accept(l).unwrap();
    match peer {
        SocketAddr::V6(a) => assert_eq!(a.ip().to_ipv4_mapped(), Some(Ipv4Addr::LOCALHOST)),
        _ => panic!("not v6"),
    }
    // With IPV6_V6ONLY it does not.
    let l2 = tcp(&mut st, Family::V6);
    st.setsockopt(l2, SOL_IPV6, IPV6_V6ONLY, &1i32.to_ne_bytes()).unwrap();
    st.bind(l2, any6(6002), false).unwrap();
    assert_eq!(st.setsockopt(l2, SOL_IPV6, IPV6_V6ONLY, &0i32.to_ne_bytes()), Err(Errno::EINVAL));
    st.listen(l2, 2).unwrap();
    let c5 = tcp(&mut st, Family::V4);
    assert_eq!(st.connect(c5, v4(6002), false), Err(Errno::EAGAIN));
    pump(&mut st, &c);
    assert_eq!(st.connect(c5, v4(6002), false), Err(Errno::ECONNREFUSED));
}

#[test]
fn refused_and_errors() {
    let (mut st, c) = setup();
    let s = tcp(&mut st, Family::V4);
    assert_eq!(st.events(s), EPOLLOUT | EPOLLWRNORM | EPOLLHUP);
    assert_eq!(st.connect(s, v4(1), true), Err(Errno::EINPROGRESS));
    assert_eq!(st.connect(s, v4(1), true), Err(Errno::EALREADY));
    pump(&mut st, &c);
    assert_ne!(st.events(s) & EPOLLERR, 0);
    assert_eq!(st.getsockopt(s, SOL_SOCKET, SO_ERROR).unwrap().as_int(), 111);
    assert_eq!(st.getsockopt(s, SOL_SOCKET, SO_ERROR).unwrap().as_int(), 0);
    let mut b = [0u8; 4];
    let fresh = tcp(&mut st, Family::V4);
    assert_eq!(st.recv(fresh, &mut b, false), Err(Errno::ENOTCONN));
    let u = tcp(&mut st, Family::V4);
    assert_eq!(st.send(u, b"x"), Err(Errno::EPIPE));
    assert_eq!(st.shutdown(u, Shutdown::Both), Err(Errno::ENOTCONN));
    assert_eq!(st.connect(u, v6(1), true), Err(Errno::EAFNOSUPPORT));
    // SO_ERROR took the error: the next connect says ECONNABORTED.
    assert_eq!(st.connect(s, v4(1), true), Err(Errno::ECONNABORTED));
}

#[test]
fn bind_rules() {
    let (mut st, _c) = setup();
    let a = tcp(&mut st, Family::V4);
    st.bind(a, any4(7000), false).unwrap();
    assert_eq!(st.bind(a, any4(7001), false), Err(Errno::EINVAL));
    let b = tcp(&mut st, Family::V4);
    assert_eq!(st.bind(b, v4(7000), false), Err(Errno::EADDRINUSE));
    let f = tcp(&mut st, Family::V4);
    assert_eq!(
        st.bind(f, SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 9, 8, 7), 0)), false),
        Err(Errno::EADDRNOTAVAIL)
    );
    assert_eq!(st.bind(f, v4(80), false), Err(Errno::EACCES));
    st.bind(f, v4(80), true).unwrap();
    // 127.0.0.2 is local (lo's 127/8).
    let g = tcp(&mut st, Family::V4);
    st.bind(g, SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 7000)), false).unwrap_err();
    // SO_REUSEADDR on both, neither listening: shared.
    let r1 = tcp(&mut st, Family::V4);
    let r2 = tcp(&mut st, Family::V4);
    for s in [r1, r2] {
        st.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &1i32.to_ne_bytes()).unwrap();
    }
    st.bind(r1, v4(7100), false).unwrap();
    st.bind(r2, v4(7100), false).unwrap();
    st.listen(r1, 1).unwrap();
    assert_eq!(st.listen(r2, 1), Err(Errno::EADDRINUSE));
    // v6 :: conflicts with v4 unless V6ONLY.
    let s6 = tcp(&mut st, Family::V6);
    assert_eq!(st.bind(s6, any6(7000), false), Err(Errno::EADDRINUSE));
    let s7 = tcp(&mut st, Family::V6);
    st.setsockopt(s7, SOL_IPV6, IPV6_V6ONLY, &1i32.to_ne_bytes()).unwrap();
    st.bind(s7, any6(7000), false).unwrap();
    // UDP ports are a separate space.
    let u = st.socket(Family::V4, 2, 0, false).unwrap();
    st.bind(u, v4(7000), false).unwrap();
}

#[test]
fn udp_datagrams() {
    let (mut st, c) = setup();
    let a = st.socket(Family::V4, 2, 0, false).unwrap();
    let b = st.socket(Family::V4, 2, 17, false).unwrap();
    st.bind(a, v4(9000), false).unwrap();
    assert_eq!(st.events(a), EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND);
    assert_eq!(st.send_to(b, b"one", None), Err(Errno::EDESTADDRREQ));
    assert_eq!(st.send_to(b, b"one", Some(v4(9000))), Ok(3));
    assert_eq!(st.send_to(b, b"second", Some(v4(9000))), Ok(6));
    assert_eq!(st.send_to(b, &[], Some(v4(9000))), Ok(0));
    pump(&mut st, &c);
    assert_ne!(st.events(a) & EPOLLIN, 0);
    let mut buf = [0u8; 2];
    let (n, full, from) = st.recv_from(a, &mut buf, false).unwrap();
    assert_eq!((n, full), (2, 3));
    assert_eq!(
        from,
        st.local_addr(b)
            .unwrap()
            .to_string()
            .parse::<SocketAddr>()
            .map(|mut x| {
                x.set_ip(Ipv4Addr::LOCALHOST.into());
                x
            })
            .unwrap()
    );
    let mut big = [0u8; 64];
    assert_eq!(st.recv_from(a, &mut big, true).unwrap().0, 6);
    assert_eq!(st.recv_from(a, &mut big, false).unwrap().0, 6);
    assert_eq!(st.recv_from(a, &mut big, false).unwrap().0, 0);
    assert_eq!(st.recv_from(a, &mut big, false), Err(Errno::EAGAIN));
    let huge = vec![0u8; 65508];
    assert_eq!(st.send_to(b, &huge, Some(v4(9000))), Err(Errno::EMSGSIZE));
    assert_eq!(st.send_to(b, &huge[..65507], Some(v4(9000))), Ok(65507));
    pump(&mut st, &c);
    let mut rb = vec![0u8; 70000];
    assert_eq!(st.recv_from(a, &mut rb, false).unwrap().0, 65507);
    // Connected: only the peer's datagrams.
    st.connect(a, v4(1234), false).unwrap();
    st.send_to(b, b"zz", Some(v4(9000))).unwrap();
    pump(&mut st, &c);
    assert_eq!(st.recv_from(a, &mut big, false), Err(Errno::EAGAIN));
    assert_eq!(st.peer_addr(a), Ok(v4(1234)));
    // v6.
    let x = st.socket(Family::V6, 2, 0, false).unwrap();
    st.bind(x, v6(9001), false).unwrap();
    assert_eq!(st.send_to(b, b"m", Some(v4(9001))), Ok(1));
    let y = st.socket(Family::V6, 2, 0, false).unwrap();
    st.send_to(y, b"six", Some(v6(9001))).unwrap();
    pump(&mut st, &c);
    assert_eq!(st.recv_from(x, &mut big, false).unwrap().0, 3);
}

#[test]
fn shutdown_and_reset() {
    let (mut st, c) = setup();
    let (_l, cl, sv) = pair(&mut st, &c, Family::V4, v4(5100));
    st.shutdown(cl, Shutdown::Write).unwrap();
    pump(&mut st, &c);
    let mut b = [0u8; 8];
    assert_eq!(st.recv(sv, &mut b, false), Ok(0));
    assert_eq!(st.send(cl, b"x"), Err(Errno::EPIPE));
    // The other way still works.
    assert_eq!(st.send(sv, b"abc"), Ok(3));
    pump(&mut st, &c);
    assert_eq!(st.recv(cl, &mut b, false), Ok(3));
    // Reset: close with unread data sends RST.
    let (_l2, c2, s2) = pair(&mut st, &c, Family::V4, v4(5101));
    st.send(c2, b"unread").unwrap();
    pump(&mut st, &c);
    st.close(s2);
    pump(&mut st, &c);
    assert_ne!(st.events(c2) & EPOLLERR, 0);
    assert_ne!(st.events(c2) & EPOLLHUP, 0);
    assert_eq!(st.send(c2, b"y"), Err(Errno::ECONNRESET));
    assert_eq!(st.send(c2, b"y"), Err(Errno::EPIPE));
    assert_eq!(st.recv(c2, &mut b, false), Ok(0));
}

#[test]
fn closing_a_listener_resets_its_queue() {
    let (mut st, c) = setup();
    let l = tcp(&mut st, Family::V4);
    st.bind(l, v4(5400), false).unwrap();
    st.listen(l, 2).unwrap();
    let cl = tcp(&mut st, Family::V4);
    assert_eq!(st.connect(cl, v4(5400), true), Err(Errno::EINPROGRESS));
    pump(&mut st, &c);
    assert_eq!(st.connect(cl, v4(5400), true), Ok(()));
    st.close(l);
    pump(&mut st, &c);
    let mut b = [0u8; 4];
    assert_eq!(st.recv(cl, &mut b, false), Err(Errno::ECONNRESET));
    st.close(cl);
    pump(&mut st, &c);
    assert_eq!(st.smoltcp_socket_count(), 0);
}

#[test]
fn backlog_refill_and_churn() {
    let (mut st, mut c) = setup();
    let l = tcp(&mut st, Family::V4);
    st.bind(l, any4(5200), false).unwrap();
    st.listen(l, 2).unwrap();
    assert_eq!(st.events(l), 0);
    for _ in 0..300 {
        let cl = tcp(&mut st, Family::V4);
        assert_eq!(st.connect(cl, v4(5200), true), Err(Errno::EINPROGRESS));
        pump(&mut st, &c);
        assert_eq!(st.events(l), EPOLLIN | EPOLLRDNORM);
        let (sv, _) = st.accept(l).unwrap();
        assert_eq!(st.connect(cl, v4(5200), true), Ok(()));
        st.close(cl);
        st.close(sv);
        pump(&mut st, &c);
    }
    run_for(&mut st, &mut c, Duration::from_secs(2), Duration::from_millis(100));
    assert_eq!(st.accept(l), Err(Errno::EAGAIN));
    assert_eq!(st.socket_count(), 1);
    // Only the listener's free listening sockets are left.
    assert_eq!(st.smoltcp_socket_count(), inet::FREE_LISTENERS);
}

#[test]
fn backlog_beyond_the_free_listeners() {
    let (mut st, c) = setup();
    let l = tcp(&mut st, Family::V4);
    st.bind(l, v4(5500), false).unwrap();
    st.listen(l, 64).unwrap();
    let mut cls = Vec::new();
    for _ in 0..40 {
        let cl = tcp(&mut st, Family::V4);
        assert_eq!(st.connect(cl, v4(5500), true), Err(Errno::EINPROGRESS));
        pump(&mut st, &c);
        assert_eq!(st.connect(cl, v4(5500), true), Ok(()));
        cls.push(cl);
    }
    let mut peers = Vec::new();
    for _ in 0..40 {
        peers.push(st.accept(l).unwrap().1);
    }
    assert_eq!(st.accept(l), Err(Errno::EAGAIN));
    // FIFO: in the order of the connects.
    let locals: Vec<_> = cls.iter().map(|&c| st.local_addr(c).unwrap()).collect();
    assert_eq!(peers, locals);
    // backlog 1: two queued, the third refused (ours; Linux drops the SYN).
    let l2 = tcp(&mut st, Family::V4);
    st.bind(l2, v4(5501), false).unwrap();
    st.listen(l2, 1).unwrap();
    let mut results = Vec::new();
    for _ in 0..4 {
        let cl = tcp(&mut st, Family::V4);
        let _ = st.connect(cl, v4(5501), true);
        pump(&mut st, &c);
        results.push(st.connect(cl, v4(5501), true));
    }
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3, "{results:?}");
}

#[test]
fn bulk_transfer() {
    let (mut st, c) = setup();
    let (_l, cl, sv) = pair(&mut st, &c, Family::V4, v4(5300));
    let data: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let mut got = Vec::new();
    let mut off = 0;
    let mut buf = vec![0u8; 65536];
    while got.len() < data.len() {
        if off < data.len() {
            match st.send(cl, &data[off..]) {
                Ok(n) => off += n,
                Err(e) => assert_eq!(e, Errno::EAGAIN),
            }
        }
        pump(&mut st, &c);
        loop {
            match st.recv(sv, &mut buf, false) {
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => {
                    assert_eq!(e, Errno::EAGAIN);
                    break;
                }
            }
        }
    }
    assert!(got == data);
}

#[test]
fn options() {
    let (mut st, _c) = setup();
    let s = tcp(&mut st, Family::V4);
    assert_eq!(st.getsockopt(s, SOL_SOCKET, SO_RCVBUF).unwrap().as_int(), 131072);
    assert_eq!(st.getsockopt(s, SOL_SOCKET, SO_SNDBUF).unwrap().as_int(), 16384);
    st.setsockopt(s, SOL_SOCKET, SO_RCVBUF, &10000i32.to_ne_bytes()).unwrap();
    assert_eq!(st.getsockopt(s, SOL_SOCKET, SO_RCVBUF).unwrap().as_int(), 20000);
    st.setsockopt(s, SOL_SOCKET, SO_SNDBUF, &1i32.to_ne_bytes()).unwrap();
    assert_eq!(st.getsockopt(s, SOL_SOCKET, SO_SNDBUF).unwrap().as_int(), 4608);
    assert_eq!(st.setsockopt(s, SOL_SOCKET, SO_RCVBUF, &[1, 2]), Err(Errno::EINVAL));
    for (secs, shown) in [(30, 31), (2, 3), (200, 247), (1_000_000, 29887), (-1, 0)] {
        st.setsockopt(s, SOL_TCP, TCP_DEFER_ACCEPT, &i32::to_ne_bytes(secs)).unwrap();
        assert_eq!(st.getsockopt(s, SOL_TCP, TCP_DEFER_ACCEPT).unwrap().as_int(), shown);
    }
    st.setsockopt(s, SOL_TCP, TCP_NODELAY, &1i32.to_ne_bytes()).unwrap();
    assert_eq!(st.getsockopt(s, SOL_TCP, TCP_NODELAY).unwrap().as_int(), 1);
    let mut tv = [0u8; 16];
    tv[..8].copy_from_slice(&1i64.to_ne_bytes());
    tv[8..].copy_from_slice(&500000i64.to_ne_bytes());
    st.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv).unwrap();
    assert_eq!(st.getsockopt(s, SOL_SOCKET, SO_RCVTIMEO).unwrap().as_bytes(), &tv);
    tv[8..].copy_from_slice(&1000000i64.to_ne_bytes());
    assert_eq!(st.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv), Err(Errno::EDOM));
    assert_eq!(st.getsockopt(s, SOL_SOCKET, SO_TYPE).unwrap().as_int(), 1);
    assert_eq!(st.getsockopt(s, SOL_SOCKET, 999), Err(Errno::ENOPROTOOPT));
    assert_eq!(st.setsockopt(s, SOL_IPV6, IPV6_V6ONLY, &1i32.to_ne_bytes()), Err(Errno::ENOPROTOOPT));
    let u = st.socket(Family::V4, 2, 0, false).unwrap();
    assert_eq!(st.setsockopt(u, SOL_TCP, TCP_NODELAY, &1i32.to_ne_bytes()), Err(Errno::ENOPROTOOPT));
    assert_eq!(st.getsockopt(u, SOL_SOCKET, SO_RCVBUF).unwrap().as_int(), 212992);
    let mut lg = [0u8; 8];
    lg[..4].copy_from_slice(&1i32.to_ne_bytes());
    st.setsockopt(s, SOL_SOCKET, SO_LINGER, &lg).unwrap();
    assert_eq!(st.getsockopt(s, SOL_SOCKET, SO_LINGER).unwrap().as_bytes(), &lg);
}

#[test]
fn raw_ping() {
    let (mut st, c) = setup();
    assert_eq!(st.socket(Family::V4, 3, 1, false), Err(Errno::EPERM));
    let r = st.socket(Family::V4, 3, 1, true).unwrap();
    let mut req = [8u8, 0, 0, 0, 0x12, 0x34, 0, 1, b'p', b'i', b'n', b'g'];
    let sum = inet::inet_checksum(&req);
    req[2..4].copy_from_slice(&sum.to_be_bytes());
    assert_eq!(st.send_to(r, &req, Some(v4(0))), Ok(12));
    pump(&mut st, &c);
    let mut buf = [0u8; 128];
    // The request itself (lo delivers it to raw sockets too), then the reply.
    let mut types = Vec::new();
    while let Ok((n, _, from)) = st.recv_from(r, &mut buf, false) {
        assert_eq!(n, 32);
        assert_eq!(from.ip(), Ipv4Addr::LOCALHOST);
        types.push(buf[20]);
    }
    assert!(types.contains(&0), "{types:?}");
    // Ping socket.
    let p = st.socket(Family::V4, 2, 1, false).unwrap();
    assert_eq!(st.send_to(p, &req, Some(v4(0))), Ok(12));
    pump(&mut st, &c);
    let (n, _, from) = st.recv_from(p, &mut buf, false).unwrap();
    assert_eq!((n, buf[0]), (12, 0));
    assert_eq!(from.ip(), Ipv4Addr::LOCALHOST);
    assert_eq!(&buf[8..12], b"ping");
}

#[test]
fn data_after_a_close_resets() {
    // Linux (tcp_rcv_state_process in FIN_WAIT1/2 after close): data
    // arriving at a closed socket resets the connection; the sender then
    // gets ECONNRESET instead of filling the closed peer's window forever.
    let (mut st, c) = setup();
    let (_l, cl, sv) = pair(&mut st, &c, Family::V4, v4(5102));
    // nothing unread: a graceful close (FIN)
    st.close(sv);
    pump(&mut st, &c);
    let mut b = [0u8; 8];
    assert_eq!(st.recv(cl, &mut b, false), Ok(0));
    assert_eq!(st.events(cl) & EPOLLERR, 0);
    // then data towards the closed side
    assert_eq!(st.send(cl, b"late"), Ok(4));
    pump(&mut st, &c);
    pump(&mut st, &c);
    assert_ne!(st.events(cl) & EPOLLERR, 0);
    // reset in CLOSE_WAIT: EPIPE (tcp_reset), then EPIPE (shut down)
    assert_eq!(st.send(cl, b"y"), Err(Errno::EPIPE));
    assert_eq!(st.send(cl, b"y"), Err(Errno::EPIPE));
}

/// The unowned connections (pending accept, orphans) listed in pieces of
/// any size give the list at once, each piece within its budget.
#[test]
fn unowned_tcp_in_batches() {
    let (mut st, c) = setup();
    let l = tcp(&mut st, Family::V4);
    st.bind(l, any4(5300), false).unwrap();
    st.listen(l, 8).unwrap();
    let mut clients = Vec::new();
    for _ in 0..5 {
        let cl = tcp(&mut st, Family::V4);
        assert_eq!(st.connect(cl, v4(5300), true), Err(Errno::EINPROGRESS));
        clients.push(cl);
    }
    pump(&mut st, &c);
    // one accepted and closed by its server: an orphan finishing
    let (sv, _) = st.accept(l).unwrap();
    st.close(sv);
    pump(&mut st, &c);
    let all = st.unowned_tcp().unwrap();
    assert!(all.len() >= 2, "{}", all.len());
    for budget in [1, 2, 3, 64] {
        let mut out = Vec::new();
        let mut at = Some(inet::UnownedCursor::default());
        while let Some(cur) = at {
            let before = out.len();
            at = st.unowned_tcp_batch(cur, budget, &mut out).unwrap();
            assert!(out.len() - before <= budget);
        }
        assert_eq!(out, all, "budget {budget}");
    }
}

#[test]
fn send_room_is_the_free_send_buffer() {
    let (mut st, c) = setup();
    let (l, cl, sv) = pair(&mut st, &c, Family::V4, v4(0));
    assert_eq!(st.send_room(cl), Some(inet::TCP_AUTO_TX));
    assert_eq!(st.send(cl, &[7u8; 1000]), Ok(1000));
    // queued until a poll sends it (and the peer's ACK frees it)
    assert_eq!(st.send_room(cl), Some(inet::TCP_AUTO_TX - 1000));
    pump(&mut st, &c);
    assert_eq!(st.send_room(cl), Some(inet::TCP_AUTO_TX));
    let mut b = [0u8; 2000];
    assert_eq!(st.recv(sv, &mut b, false), Ok(1000));
    // not a connected TCP socket: none
    assert_eq!(st.send_room(l), None);
    let idle = tcp(&mut st, Family::V4);
    assert_eq!(st.send_room(idle), None);
    let udp = st.socket(Family::V4, 2, 0, false).unwrap();
    assert_eq!(st.send_room(udp), None);
}

#[test]
fn urgent_byte_leaves_the_stream() {
    let (mut st, c) = setup();
    let (_l, cl, sv) = pair(&mut st, &c, Family::V4, v4(0));
    assert_eq!(st.send(cl, b"abc"), Ok(3));
    assert_eq!(st.send_urgent(cl, b"d"), Ok(1));
    pump(&mut st, &c);
    assert_eq!(st.take_urgent_signals(), vec![sv]);
    assert_eq!(st.events(sv) & (EPOLLIN | EPOLLPRI), EPOLLIN | EPOLLPRI);
    assert_eq!(st.readable_bytes(sv), Ok(3));
    assert_eq!(st.at_mark(sv), Ok(false));
    let mut b = [0u8; 16];
    // a read stops before the mark
    assert_eq!(st.recv(sv, &mut b, false), Ok(3));
    assert_eq!(&b[..3], b"abc");
    assert_eq!(st.at_mark(sv), Ok(true));
    assert_eq!(st.readable_bytes(sv), Ok(0));
    assert_eq!(st.events(sv) & (EPOLLIN | EPOLLPRI), EPOLLPRI);
    assert_eq!(st.recv_urgent(sv, true), Ok(Some(b'd')));
    assert_eq!(st.recv_urgent(sv, false), Ok(Some(b'd')));
    assert_eq!(st.recv_urgent(sv, false), Err(Errno::EINVAL));
    assert_eq!(st.events(sv) & (EPOLLIN | EPOLLPRI), 0);
    // the next read steps over it
    assert_eq!(st.recv(sv, &mut b, false), Err(Errno::EAGAIN));
    assert_eq!(st.at_mark(sv), Ok(false));
    assert_eq!(st.send(cl, b"ef"), Ok(2));
    pump(&mut st, &c);
    assert_eq!(st.recv(sv, &mut b, false), Ok(2));
    assert_eq!(&b[..2], b"ef");
}

#[test]
fn urgent_mark_waits_for_accept() {
    let (mut st, c) = setup();
    let l = tcp(&mut st, Family::V4);
    st.bind(l, v4(0), false).unwrap();
    st.listen(l, 4).unwrap();
    let port = st.local_addr(l).unwrap().port();
    let cl = tcp(&mut st, Family::V4);
    let _ = st.connect(cl, v4(port), true);
    pump(&mut st, &c);
    assert_eq!(st.connect(cl, v4(port), true), Ok(()));
    assert_eq!(st.send_urgent(cl, b"xy"), Ok(2));
    pump(&mut st, &c);
    // nobody to signal yet
    assert!(st.take_urgent_signals().is_empty());
    let (sv, _) = st.accept(l).unwrap();
    let mut b = [0u8; 4];
    assert_eq!(st.recv(sv, &mut b, false), Ok(1));
    assert_eq!(b[0], b'x');
    assert_eq!(st.at_mark(sv), Ok(true));
    assert_eq!(st.recv_urgent(sv, false), Ok(Some(b'y')));
}

#[test]
fn tcp_info_counts_bytes() {
    let (mut st, c) = setup();
    let (l, cl, sv) = pair(&mut st, &c, Family::V4, v4(0));
    let info = st.tcp_info(cl).unwrap();
    assert_eq!(info.len(), inet::TCP_INFO_LEN);
    assert_eq!(info[0], 1);
    assert_eq!(st.send(cl, &[1u8; 1000]), Ok(1000));
    pump(&mut st, &c);
    let mut b = [0u8; 2000];
    assert_eq!(st.recv(sv, &mut b, false), Ok(1000));
    let u64at = |b: &[u8], at: usize| u64::from_ne_bytes(b[at..at + 8].try_into().unwrap());
    let info = st.tcp_info(cl).unwrap();
    assert_eq!(u64at(&info, 120), 1001);
    assert_eq!(u64at(&info, 200), 1000);
    assert_eq!(u64at(&st.tcp_info(sv).unwrap(), 128), 1000);
    assert_eq!(st.tcp_info(l).unwrap()[0], 10);
}
