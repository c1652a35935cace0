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
    // the table of addresses is bounded
    for k in 0..6u8 {
        assert_eq!(st.add_address(1, v4([10, 20, k, 1]), 24, ADD), Ok(true));
    }
    assert_eq!(st.add_address(1, v4([10, 30, 0, 1]), 24, ADD), Err(Errno::ENOSPC));
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
