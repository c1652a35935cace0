//! Host tests of `ip addr` and `ip route` changes ([`inet::route`]).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use inet::route::{RTPROT_BOOT, SCOPE_LINK, SCOPE_UNIVERSE};
use inet::smoltcp::phy::{Loopback, Medium};
use inet::smoltcp::wire::{IpCidr, Ipv4Cidr};
use inet::testing::{ManualClock, pump};
use inet::{Family, RouteInfo, RouteSel, Stack, Upsert};
use linux_abi::Errno;

const ADD: Upsert = Upsert { create: true, excl: true, replace: false, append: false };
const REPLACE: Upsert = Upsert { create: true, excl: false, replace: true, append: false };
const CHANGE: Upsert = Upsert { create: false, excl: false, replace: true, append: false };

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

/// lo, and eth0 (index 2) with 10.0.2.15/24 and the default route via 10.0.2.2.
fn with_eth() -> (Stack, ManualClock) {
    let c = ManualClock::default();
    let mut st = Stack::new(c.now(), 7);
    let a = IpCidr::Ipv4(Ipv4Cidr::new(Ipv4Addr::new(10, 0, 2, 15), 24));
    let i = st
        .add_interface(
            "eth0",
            Loopback::new(Medium::Ethernet),
            Some([2, 0, 0, 0, 0, 1]),
            &[a],
            Some(Ipv4Addr::new(10, 0, 2, 2)),
        )
        .unwrap();
    assert_eq!(i, 2);
    (st, c)
}

#[test]
fn address_add_replace_delete_on_lo() {
    let (mut st, c) = with_eth();
    let a = v4([10, 9, 9, 9]);
    assert_eq!(st.add_address(1, a, 24, ADD), Ok(true));
    assert_eq!(st.add_address(1, a, 24, ADD), Err(Errno::EEXIST));
    assert_eq!(st.add_address(1, a, 24, Upsert::default()), Err(Errno::EEXIST));
    assert_eq!(st.add_address(1, a, 24, REPLACE), Ok(false));
    // the same address with another prefix is another address
    assert_eq!(st.add_address(1, a, 16, ADD), Ok(true));
    assert_eq!(st.add_address(1, a, 33, ADD), Err(Errno::EINVAL));
    assert_eq!(st.add_address(9, a, 24, ADD), Err(Errno::ENODEV));
    let lo = st.interfaces().unwrap().into_iter().find(|i| i.index == 1).unwrap();
    assert_eq!(
        lo.ipv4_all,
        vec![(Ipv4Addr::LOCALHOST, 8), (Ipv4Addr::new(10, 9, 9, 9), 24), (Ipv4Addr::new(10, 9, 9, 9), 16)]
    );
    // a UDP round trip over the new address
    let s = st.socket(Family::V4, 2, 0, false).unwrap();
    let at = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 9, 9, 9), 4000));
    st.bind(s, at, false).unwrap();
    let c2 = st.socket(Family::V4, 2, 0, false).unwrap();
    assert_eq!(st.send_to(c2, b"hi", Some(at)), Ok(2));
    pump(&mut st, &c);
    let mut b = [0u8; 8];
    assert_eq!(st.recv(s, &mut b, false), Ok(2));
    st.close(s);
    // deletion: by address and prefix, then nothing left to match
    assert_eq!(st.del_address(1, Family::V4, Some(a), Some(24)), Ok((a, 24)));
    assert_eq!(st.del_address(1, Family::V4, Some(a), Some(24)), Err(Errno::EADDRNOTAVAIL));
    assert_eq!(st.del_address(1, Family::V4, Some(a), None), Ok((a, 16)));
    assert_eq!(st.del_address(1, Family::V6, Some(a), None), Err(Errno::EADDRNOTAVAIL));
    let s = st.socket(Family::V4, 2, 0, false).unwrap();
    assert_eq!(st.bind(s, at, false), Err(Errno::EADDRNOTAVAIL));
    // IPv6
    let a6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    assert_eq!(st.add_address(1, a6, 64, ADD), Ok(true));
    assert_eq!(st.add_address(1, a6, 129, ADD), Err(Errno::EINVAL));
    // review40 #10: an IPv6 address is one whatever its prefix
    // (ipv6_get_ifaddr); a replace keeps the prefix (inet6_addr_modify)
    assert_eq!(st.add_address(1, a6, 48, ADD), Err(Errno::EEXIST));
    assert_eq!(st.add_address(1, a6, 48, Upsert::default()), Err(Errno::EEXIST));
    assert_eq!(st.add_address(1, a6, 48, REPLACE), Ok(false));
    assert_eq!(st.addresses(1).unwrap().iter().filter(|(a, _)| *a == a6).count(), 1);
    assert!(st.addresses(1).unwrap().contains(&(a6, 64)));
    assert_eq!(st.del_address(1, Family::V6, Some(a6), Some(64)), Ok((a6, 64)));
    // past smoltcp's 8 addresses: the stack's own, in order, reached,
    // deleted; the table is bounded (ENOBUFS)
    for k in 0..20u8 {
        assert_eq!(st.add_address(1, v4([10, 20, k, 1]), 24, ADD), Ok(true));
    }
    let lo = st.addresses(1).unwrap();
    assert_eq!(lo.len(), 22);
    assert_eq!(lo[21], (v4([10, 20, 19, 1]), 24));
    for k in [3u8, 17] {
        let at = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 20, k, 1), 4100 + u16::from(k)));
        let s = st.socket(Family::V4, 2, 0, false).unwrap();
        st.bind(s, at, false).unwrap();
        let c2 = st.socket(Family::V4, 2, 0, false).unwrap();
        assert_eq!(st.send_to(c2, b"hi", Some(at)), Ok(2));
        pump(&mut st, &c);
        let (n, _, from) = st.recv_from(s, &mut b, false).unwrap();
        assert_eq!((n, from.ip()), (2, at.ip()));
    }
    assert_eq!(st.del_address(1, Family::V4, Some(v4([10, 20, 1, 1])), None), Ok((v4([10, 20, 1, 1]), 24)));
    assert_eq!(st.del_address(1, Family::V4, Some(v4([10, 20, 15, 1])), None), Ok((v4([10, 20, 15, 1]), 24)));
    let after = st.addresses(1).unwrap();
    let want: Vec<_> =
        lo.iter().copied().filter(|(a, _)| *a != v4([10, 20, 1, 1]) && *a != v4([10, 20, 15, 1])).collect();
    assert_eq!(after, want);
    for k in 0..(inet::route::MAX_ADDRS - 20) {
        let a = IpAddr::V4(Ipv4Addr::from(0x0b00_0000u32 + k as u32));
        assert_eq!(st.add_address(1, a, 32, ADD), Ok(true));
    }
    assert_eq!(st.addresses(1).unwrap().len(), inet::route::MAX_ADDRS);
    assert_eq!(st.add_address(1, v4([10, 30, 0, 1]), 24, ADD), Err(Errno::ENOBUFS));
}

#[test]
fn lo_brought_up_gets_its_own_addresses_beside_others() {
    let c = ManualClock::default();
    let mut st = Stack::new(c.now(), 7);
    st.loopback_down();
    assert_eq!(st.add_address(1, v4([10, 1, 1, 1]), 24, ADD), Ok(true));
    // (as bubblewrap does before bringing lo up)
    assert_eq!(st.add_address(1, v4([127, 0, 0, 1]), 8, ADD), Ok(true));
    st.set_interface_flags("lo", inet::iff::UP).unwrap();
    let a = st.addresses(1).unwrap();
    assert_eq!(
        a,
        vec![(v4([10, 1, 1, 1]), 24), (v4([127, 0, 0, 1]), 8), (IpAddr::V6(Ipv6Addr::LOCALHOST), 128)]
    );
}

#[test]
fn routes_add_replace_delete_and_errors() {
    let (mut st, _c) = with_eth();
    let def = RouteInfo::new(v4([0; 4]), 0, Some(v4([10, 0, 2, 2])), 2, 0);
    assert_eq!(st.routes().unwrap(), vec![def]);
    assert_eq!(st.interfaces().unwrap()[1].gw4, Some(Ipv4Addr::new(10, 0, 2, 2)));
    // a gateway route without an interface takes the gateway's
    let r = RouteInfo::new(v4([192, 168, 5, 0]), 24, Some(v4([10, 0, 2, 2])), 0, 0);
    assert_eq!(st.add_route(r, ADD), Ok(()));
    let got = st.routes().unwrap()[1];
    assert_eq!((got.oif, got.scope, got.proto), (2, SCOPE_UNIVERSE, RTPROT_BOOT));
    assert_eq!(st.add_route(r, ADD), Err(Errno::EEXIST));
    // another metric is another route
    let mut r100 = r;
    r100.metric = 100;
    assert_eq!(st.add_route(r100, ADD), Ok(()));
    assert_eq!(st.add_route(r, REPLACE), Ok(()));
    // errors
    let bad_gw = RouteInfo::new(v4([192, 168, 6, 0]), 24, Some(v4([9, 9, 9, 9])), 0, 0);
    assert_eq!(st.add_route(bad_gw, ADD), Err(Errno::ENETUNREACH));
    let gw_not_on_lo = RouteInfo::new(v4([192, 168, 6, 0]), 24, Some(v4([10, 0, 2, 2])), 1, 0);
    assert_eq!(st.add_route(gw_not_on_lo, ADD), Err(Errno::ENETUNREACH));
    let host_bits = RouteInfo::new(v4([192, 168, 6, 1]), 24, Some(v4([10, 0, 2, 2])), 0, 0);
    assert_eq!(st.add_route(host_bits, ADD), Err(Errno::EINVAL));
    let no_dev = RouteInfo::new(v4([192, 168, 6, 0]), 24, None, 9, 0);
    assert_eq!(st.add_route(no_dev, ADD), Err(Errno::ENODEV));
    let missing = RouteInfo::new(v4([192, 168, 7, 0]), 24, None, 1, 0);
    assert_eq!(st.add_route(missing, CHANGE), Err(Errno::ENOENT));
    let dev_route = RouteInfo::new(v4([192, 168, 7, 0]), 24, None, 1, 0);
    assert_eq!(st.add_route(dev_route, ADD), Ok(()));
    assert_eq!(st.routes().unwrap().last().unwrap().scope, SCOPE_LINK);
    // deletion
    let sel = RouteSel::new(v4([192, 168, 5, 0]), 24).with_metric(Some(100));
    assert_eq!(st.del_route(sel).map(|r| r.metric), Ok(100));
    assert_eq!(st.del_route(sel), Err(Errno::ESRCH));
    let sel = RouteSel::new(v4([192, 168, 5, 0]), 24).with_gateway(Some(v4([10, 0, 2, 3])));
    assert_eq!(st.del_route(sel), Err(Errno::ESRCH));
    assert_eq!(st.del_route(RouteSel::new(v4([192, 168, 5, 0]), 24)).map(|r| r.oif), Ok(2));
    // eth0 down: its routes go (the default route too), and stay gone
    st.set_interface_flags("eth0", 0).unwrap();
    assert_eq!(st.routes().unwrap(), vec![dev_route.with_proto(RTPROT_BOOT)]);
    assert_eq!(st.interfaces().unwrap()[1].gw4, None);
    assert_eq!(st.add_route(def, ADD), Err(Errno::ENETDOWN));
    st.set_interface_flags("eth0", inet::iff::UP).unwrap();
    assert_eq!(st.del_route(RouteSel::new(v4([0; 4]), 0)), Err(Errno::ESRCH));
    assert_eq!(st.add_route(def, ADD), Ok(()));
    // the last IPv4 address of eth0 deleted: its IPv4 routes go
    assert_eq!(st.del_address(2, Family::V4, None, None), Ok((v4([10, 0, 2, 15]), 24)));
    assert_eq!(st.routes().unwrap(), vec![dev_route]);
}

#[test]
fn ipv6_routes_and_connect_through_table() {
    let (mut st, _c) = with_eth();
    let a6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    st.add_address(2, a6, 64, ADD).unwrap();
    // the prefix is masked for IPv6 (ip6_route_add)
    let r = RouteInfo::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 5)), 64, None, 2, 1024);
    assert_eq!(st.add_route(r, ADD), Ok(()));
    assert_eq!(st.routes().unwrap()[1].dst, IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0)));
    let gw = RouteInfo::new(
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        0,
        Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2))),
        0,
        1024,
    );
    assert_eq!(st.add_route(gw, ADD), Ok(()));
    // a family mix is EINVAL
    let mix = RouteInfo::new(v4([1, 0, 0, 0]), 8, Some(IpAddr::V6(Ipv6Addr::LOCALHOST)), 0, 0);
    assert_eq!(st.add_route(mix, ADD), Err(Errno::EINVAL));
    // without the default route a far IPv4 address is unreachable
    let s = st.socket(Family::V4, 2, 0, false).unwrap();
    let far = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(8, 8, 8, 8), 53));
    assert_eq!(st.send_to(s, b"x", Some(far)), Ok(1));
    st.del_route(RouteSel::new(v4([0; 4]), 0)).unwrap();
    assert_eq!(st.send_to(s, b"x", Some(far)), Err(Errno::ENETUNREACH));
}

fn sa(a: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(a, port)
}

/// A TCP connect to `to` from a fresh socket; returns (client, server).
fn tcp_pair(
    st: &mut Stack,
    c: &ManualClock,
    l: inet::SockId,
    to: SocketAddr,
) -> (inet::SockId, inet::SockId) {
    let fam = if to.is_ipv4() { Family::V4 } else { Family::V6 };
    let k = st.socket(fam, 1, 0, false).unwrap();
    assert_eq!(st.connect(k, to, true), Err(Errno::EINPROGRESS));
    pump(st, c);
    assert_eq!(st.connect(k, to, true), Ok(()), "connect to {to}");
    let (s, peer) = st.accept(l).unwrap();
    assert_eq!(st.local_addr(k).unwrap(), peer);
    (k, s)
}

#[test]
fn wildcard_listener_reached_at_every_local_address() {
    let (mut st, c) = with_eth();
    let added = v4([10, 9, 0, 1]);
    assert_eq!(st.add_address(1, added, 32, ADD), Ok(true));
    let l = st.socket(Family::V4, 1, 0, false).unwrap();
    st.bind(l, sa(v4([0, 0, 0, 0]), 5100), false).unwrap();
    st.listen(l, 8).unwrap();
    for a in [v4([127, 0, 0, 1]), added, v4([10, 0, 2, 15])] {
        let (k, s) = tcp_pair(&mut st, &c, l, sa(a, 5100));
        // the connection's both ends are the address connected to
        assert_eq!(st.local_addr(s).unwrap(), sa(a, 5100));
        assert_eq!(st.peer_addr(k).unwrap(), sa(a, 5100));
        assert_eq!(st.local_addr(k).unwrap().ip(), a);
        assert_eq!(st.send(k, b"x"), Ok(1));
        pump(&mut st, &c);
        let mut b = [0u8; 4];
        assert_eq!(st.recv(s, &mut b, false), Ok(1));
        st.close(k);
        st.close(s);
        pump(&mut st, &c);
    }
    // an IPv6 connect to the port of an IPv4-only listener is refused
    let k = st.socket(Family::V6, 1, 0, false).unwrap();
    let to = sa(IpAddr::V6(Ipv6Addr::LOCALHOST), 5100);
    assert_eq!(st.connect(k, to, true), Err(Errno::EINPROGRESS));
    pump(&mut st, &c);
    assert_eq!(st.connect(k, to, true), Err(Errno::ECONNREFUSED));
    assert_eq!(st.accept(l), Err(Errno::EAGAIN));
    // an address added after listen(2) is reached too
    let later = v4([10, 9, 0, 2]);
    assert_eq!(st.add_address(1, later, 24, ADD), Ok(true));
    let (_k, s) = tcp_pair(&mut st, &c, l, sa(later, 5100));
    assert_eq!(st.local_addr(s).unwrap(), sa(later, 5100));
    // a listener bound to eth0's address is reached through lo
    let l2 = st.socket(Family::V4, 1, 0, false).unwrap();
    st.bind(l2, sa(v4([10, 0, 2, 15]), 5101), false).unwrap();
    st.listen(l2, 8).unwrap();
    tcp_pair(&mut st, &c, l2, sa(v4([10, 0, 2, 15]), 5101));
    let k = st.socket(Family::V4, 1, 0, false).unwrap();
    assert_eq!(st.connect(k, sa(added, 5101), true), Err(Errno::EINPROGRESS));
    pump(&mut st, &c);
    assert_eq!(st.connect(k, sa(added, 5101), true), Err(Errno::ECONNREFUSED));
}

#[test]
fn wildcard_udp_receives_at_every_local_address_and_answers_from_it() {
    let (mut st, c) = with_eth();
    let added = v4([10, 9, 0, 1]);
    assert_eq!(st.add_address(1, added, 32, ADD), Ok(true));
    let srv = st.socket(Family::V4, 2, 0, false).unwrap();
    st.bind(srv, sa(v4([0, 0, 0, 0]), 5200), false).unwrap();
    for a in [v4([127, 0, 0, 1]), added, v4([10, 0, 2, 15])] {
        let k = st.socket(Family::V4, 2, 0, false).unwrap();
        st.connect(k, sa(a, 5200), true).unwrap();
        let me = st.local_addr(k).unwrap();
        assert_eq!(me.ip(), a);
        assert_eq!(st.send(k, b"ping"), Ok(4));
        pump(&mut st, &c);
        let mut b = [0u8; 8];
        let (n, _, from) = st.recv_from(srv, &mut b, false).unwrap();
        assert_eq!((n, from), (4, me));
        assert_eq!(st.send_to(srv, b"pong", Some(from)), Ok(4));
        pump(&mut st, &c);
        // the connected client takes it: it came from the address it was sent to
        let (n, _, from) = st.recv_from(k, &mut b, false).unwrap();
        assert_eq!((n, from), (4, sa(a, 5200)));
        st.close(k);
    }
    // an IPv6 datagram to the port of the IPv4 socket does not reach it
    let k = st.socket(Family::V6, 2, 0, false).unwrap();
    assert_eq!(st.send_to(k, b"v6", Some(sa(IpAddr::V6(Ipv6Addr::LOCALHOST), 5200))), Ok(2));
    pump(&mut st, &c);
    let mut b = [0u8; 8];
    assert_eq!(st.recv_from(srv, &mut b, false).map(|r| r.0), Err(Errno::EAGAIN));
}

/// A NIC that keeps what is sent (and receives nothing).
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>);

struct CapTx(std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>);

impl inet::smoltcp::phy::TxToken for CapTx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut b = vec![0u8; len];
        let r = f(&mut b);
        self.0.lock().unwrap().push(b);
        r
    }
}

impl inet::smoltcp::phy::RxToken for CapTx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&[])
    }
}

impl inet::smoltcp::phy::Device for Capture {
    type RxToken<'a> = CapTx;
    type TxToken<'a> = CapTx;
    fn receive(&mut self, _: inet::Instant) -> Option<(CapTx, CapTx)> {
        None
    }
    fn transmit(&mut self, _: inet::Instant) -> Option<CapTx> {
        Some(CapTx(self.0.clone()))
    }
    fn capabilities(&self) -> inet::smoltcp::phy::DeviceCapabilities {
        let mut c = inet::smoltcp::phy::DeviceCapabilities::default();
        c.max_transmission_unit = 1514;
        c.medium = Medium::Ethernet;
        c
    }
}

/// The IPv4 addresses ARP requests were sent for.
fn arp_targets(sent: &std::sync::Mutex<Vec<Vec<u8>>>) -> Vec<Ipv4Addr> {
    let mut v = Vec::new();
    for f in sent.lock().unwrap().drain(..) {
        if f.len() >= 42 && f[12..14] == [8, 6] && f[20..22] == [0, 1] {
            v.push(Ipv4Addr::new(f[38], f[39], f[40], f[41]));
        }
    }
    v
}

#[test]
fn route_by_device_resolves_on_the_link() {
    let c = ManualClock::default();
    let mut st = Stack::new(c.now(), 7);
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let a = IpCidr::Ipv4(Ipv4Cidr::new(Ipv4Addr::new(10, 0, 2, 15), 24));
    st.add_interface(
        "eth0",
        Capture(sent.clone()),
        Some([2, 0, 0, 0, 0, 1]),
        &[a],
        Some(Ipv4Addr::new(10, 0, 2, 2)),
    )
    .unwrap();
    let to = sa(v4([192, 0, 2, 7]), 9);
    let u = st.socket(Family::V4, 2, 0, false).unwrap();
    // through the default route: the gateway is asked for
    assert_eq!(st.send_to(u, b"a", Some(to)), Ok(1));
    pump(&mut st, &c);
    assert_eq!(arp_targets(&sent), vec![Ipv4Addr::new(10, 0, 2, 2)]);
    // `ip route add 192.0.2.0/24 dev eth0`: the destination itself
    let r = RouteInfo::new(v4([192, 0, 2, 0]), 24, None, 2, 0);
    st.add_route(r, ADD).unwrap();
    let mut c2 = c;
    c2.advance(inet::Duration::from_secs(5));
    assert_eq!(st.send_to(u, b"b", Some(to)), Ok(1));
    pump(&mut st, &c2);
    assert_eq!(arp_targets(&sent), vec![Ipv4Addr::new(192, 0, 2, 7)]);
    // the route deleted: the gateway again
    st.del_route(RouteSel::new(v4([192, 0, 2, 0]), 24)).unwrap();
    c2.advance(inet::Duration::from_secs(5));
    let to2 = sa(v4([192, 0, 2, 8]), 9);
    assert_eq!(st.send_to(u, b"c", Some(to2)), Ok(1));
    pump(&mut st, &c2);
    assert_eq!(arp_targets(&sent), vec![Ipv4Addr::new(10, 0, 2, 2)]);
}

#[test]
fn blackhole_unreachable_and_prohibit_routes_fail_sends() {
    use inet::route::{RTN_BLACKHOLE, RTN_PROHIBIT, RTN_UNREACHABLE};
    let (mut st, _c) = with_eth();
    for (k, net, e) in [
        (RTN_BLACKHOLE, [198, 51, 100, 0], Errno::EINVAL),
        (RTN_UNREACHABLE, [198, 51, 101, 0], Errno::EHOSTUNREACH),
        (RTN_PROHIBIT, [198, 51, 102, 0], Errno::EACCES),
    ] {
        let r = RouteInfo::new(v4(net), 24, None, 0, 0).with_kind(k);
        assert_eq!(st.add_route(r, ADD), Ok(()));
        let shown = st.routes().unwrap().into_iter().find(|x| x.dst == v4(net)).unwrap();
        assert_eq!((shown.kind, shown.oif, shown.scope), (k, 0, SCOPE_UNIVERSE));
        let to = sa(v4([net[0], net[1], net[2], 9]), 9);
        let t = st.socket(Family::V4, 1, 0, false).unwrap();
        assert_eq!(st.connect(t, to, true), Err(e));
        let u = st.socket(Family::V4, 2, 0, false).unwrap();
        assert_eq!(st.connect(u, to, true), Err(e));
        assert_eq!(st.send_to(u, b"x", Some(to)), Err(e));
        // the rest of the world still goes through the default route
        assert_eq!(st.send_to(u, b"x", Some(sa(v4([203, 0, 113, 1]), 9))), Ok(1));
    }
    // a more specific unicast route wins over the blackhole
    let r = RouteInfo::new(v4([198, 51, 100, 128]), 25, Some(v4([10, 0, 2, 2])), 2, 0);
    assert_eq!(st.add_route(r, ADD), Ok(()));
    let u = st.socket(Family::V4, 2, 0, false).unwrap();
    assert_eq!(st.send_to(u, b"x", Some(sa(v4([198, 51, 100, 200]), 9))), Ok(1));
    assert_eq!(st.send_to(u, b"x", Some(sa(v4([198, 51, 100, 1]), 9))), Err(Errno::EINVAL));
    // deleted: the default route again
    assert!(st.del_route(RouteSel::new(v4([198, 51, 100, 0]), 24)).is_ok());
    assert_eq!(st.send_to(u, b"x", Some(sa(v4([198, 51, 100, 1]), 9))), Ok(1));
    // with a gateway, or for IPv6: EINVAL
    let g = RouteInfo::new(v4([198, 51, 103, 0]), 24, Some(v4([10, 0, 2, 2])), 0, 0).with_kind(RTN_BLACKHOLE);
    assert_eq!(st.add_route(g, ADD), Err(Errno::EINVAL));
    // with a device (`ip route add blackhole 198.51.104.0/24 dev eth0`):
    // EINVAL as Linux's fib_create_info, nothing added (review41's 7)
    for k in [RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT] {
        let d = RouteInfo::new(v4([198, 51, 104, 0]), 24, None, 2, 0).with_kind(k);
        assert_eq!(st.add_route(d, ADD), Err(Errno::EINVAL));
        assert!(st.routes().unwrap().iter().all(|x| x.dst != v4([198, 51, 104, 0])));
    }
}
