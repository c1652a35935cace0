//! `AF_NETLINK` sockets of protocol `NETLINK_ROUTE`, as Linux's
//! `net/netlink/af_netlink.c` and `net/core/rtnetlink.c`.
//!
//! A request goes to the kernel (port 0) with sendmsg; the replies wait in
//! the socket's queue of datagrams until recvmsg takes them. The messages
//! are parsed as `netlink_rcv_skb`: a header shorter than 16 bytes or
//! longer than what is left ends the batch silently; a message without
//! `NLM_F_REQUEST` or of a control type (below 16) is only acknowledged
//! when `NLM_F_ACK` asks; types above `RTM_MAX` and types without a
//! handler answer `EOPNOTSUPP`; types that change something need
//! `CAP_NET_ADMIN` (`EPERM`). A dump (`NLM_F_DUMP`) answers with
//! `NLM_F_MULTI` messages and `NLMSG_DONE`, never an ack; an error or a
//! requested ack is an `NLMSG_ERROR` message (the request's header only,
//! `NLM_F_CAPPED`, for an ack; the whole request for an error).
//!
//! The interfaces come from the kernel through [`RouteHost`].

use crate::addr::SockAddrBuf;
use crate::consts::*;
use crate::sock_diag::{Answer, InetDiag, UnixDiagSock};
use crate::socket::{Resolver, SendMsg, Socket, opt_int, put_int};
use crate::{NetEnv, RecvMsg, Waker};
use alloc::collections::{BTreeSet, VecDeque};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use linux_abi::{Errno, Result};
use spin::Mutex;

/// The netlink family.
pub const AF_NETLINK: u16 = 16;
/// The routing protocol.
pub const NETLINK_ROUTE: u32 = 0;
/// The socket monitoring protocol ([`crate::sock_diag`]).
pub const NETLINK_SOCK_DIAG: u32 = crate::sock_diag::NETLINK_SOCK_DIAG;
/// The kernel connector ([`crate::connector`]).
pub const NETLINK_CONNECTOR: u32 = crate::connector::NETLINK_CONNECTOR;
/// The kernel's device events (`NETLINK_KOBJECT_UEVENT`): sockets bind
/// and listen (udev, systemd's device monitor), but no device comes or
/// goes here, so none is ever delivered, and what is sent to the kernel
/// is dropped (Linux's uevent socket has no input).
pub const NETLINK_KOBJECT_UEVENT: u32 = 15;
/// Linux's MAX_LINKS: protocols at or above are `EPROTONOSUPPORT`.
pub const MAX_LINKS: u32 = 32;
/// `SOL_NETLINK`.
pub const SOL_NETLINK: i32 = 270;
/// `NETLINK_CAP_ACK`: errors carry the request's header only.
pub const NETLINK_CAP_ACK: i32 = 10;

/// The size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// No-op message.
pub const NLMSG_NOOP: u16 = 1;
/// Error or acknowledgement.
pub const NLMSG_ERROR: u16 = 2;
/// End of a dump.
pub const NLMSG_DONE: u16 = 3;
/// The first type that is no control message.
pub const NLMSG_MIN_TYPE: u16 = 0x10;
/// A request.
pub const NLM_F_REQUEST: u16 = 1;
/// Part of a multi-message answer.
pub const NLM_F_MULTI: u16 = 2;
/// Asks for an acknowledgement.
pub const NLM_F_ACK: u16 = 4;
/// Dump (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;
/// NEWLINK: create if missing.
pub const NLM_F_CREATE: u16 = 0x400;
/// `NLM_F_EXCL`: fail if the object exists.
pub const NLM_F_EXCL: u16 = 0x200;
/// `NLM_F_REPLACE`: replace an existing object.
pub const NLM_F_REPLACE: u16 = 0x100;
/// An ack without the request's body.
pub const NLM_F_CAPPED: u16 = 0x100;

/// New link / link info.
pub const RTM_NEWLINK: u16 = 16;
/// Get links.
pub const RTM_GETLINK: u16 = 18;
/// Change a link (`rtnl_setlink`: systemd's loopback set-up sets IFF_UP
/// with it).
pub const RTM_SETLINK: u16 = 19;
/// New address / address info.
pub const RTM_NEWADDR: u16 = 20;
/// Get addresses.
pub const RTM_GETADDR: u16 = 22;
/// New route / route info.
pub const RTM_NEWROUTE: u16 = 24;
/// Get routes.
pub const RTM_GETROUTE: u16 = 26;
/// Delete an address.
pub const RTM_DELADDR: u16 = 21;
/// Delete a route.
pub const RTM_DELROUTE: u16 = 25;
/// `NLM_F_APPEND`: add beside an existing object.
pub const NLM_F_APPEND: u16 = 0x800;
/// `NETLINK_ADD_MEMBERSHIP`.
pub const NETLINK_ADD_MEMBERSHIP: i32 = 1;
/// `NETLINK_DROP_MEMBERSHIP`.
pub const NETLINK_DROP_MEMBERSHIP: i32 = 2;
/// `RTNLGRP_LINK`.
pub const RTNLGRP_LINK: u32 = 1;
/// `RTNLGRP_IPV4_IFADDR`.
pub const RTNLGRP_IPV4_IFADDR: u32 = 5;
/// `RTNLGRP_IPV4_ROUTE`.
pub const RTNLGRP_IPV4_ROUTE: u32 = 7;
/// `RTNLGRP_IPV6_IFADDR`.
pub const RTNLGRP_IPV6_IFADDR: u32 = 9;
/// `RTNLGRP_IPV6_ROUTE`.
pub const RTNLGRP_IPV6_ROUTE: u32 = 11;
/// Linux 6.1's `RTNLGRP_MAX` (the groups a NETLINK_ROUTE socket may join).
pub const RTNLGRP_MAX: u32 = 34;
/// Linux 6.1's RTM_MAX.
pub const RTM_MAX: u16 = 123;

/// `IFLA_ADDRESS`.
pub const IFLA_ADDRESS: u16 = 1;
/// `IFLA_BROADCAST`.
pub const IFLA_BROADCAST: u16 = 2;
/// `IFLA_IFNAME`.
pub const IFLA_IFNAME: u16 = 3;
/// `IFLA_MTU`.
pub const IFLA_MTU: u16 = 4;
/// `IFLA_QDISC`.
pub const IFLA_QDISC: u16 = 6;
/// `IFLA_GROUP`.
pub const IFLA_GROUP: u16 = 27;
/// `IFLA_PROMISCUITY`.
pub const IFLA_PROMISCUITY: u16 = 30;
/// `IFLA_NUM_TX_QUEUES`.
pub const IFLA_NUM_TX_QUEUES: u16 = 31;
/// `IFLA_NUM_RX_QUEUES`.
pub const IFLA_NUM_RX_QUEUES: u16 = 32;
/// `IFLA_GSO_MAX_SEGS`.
pub const IFLA_GSO_MAX_SEGS: u16 = 40;
/// `IFLA_GSO_MAX_SIZE`.
pub const IFLA_GSO_MAX_SIZE: u16 = 41;
/// `IFLA_MIN_MTU`.
pub const IFLA_MIN_MTU: u16 = 50;
/// `IFLA_MAX_MTU`.
pub const IFLA_MAX_MTU: u16 = 51;
/// `IFLA_GRO_MAX_SIZE`.
pub const IFLA_GRO_MAX_SIZE: u16 = 58;
/// `IFLA_TSO_MAX_SIZE`.
pub const IFLA_TSO_MAX_SIZE: u16 = 59;
/// `IFLA_TSO_MAX_SEGS`.
pub const IFLA_TSO_MAX_SEGS: u16 = 60;
/// `IFLA_ALLMULTI`.
pub const IFLA_ALLMULTI: u16 = 61;
/// `IFLA_TXQLEN`.
pub const IFLA_TXQLEN: u16 = 13;
/// `IFLA_OPERSTATE`.
pub const IFLA_OPERSTATE: u16 = 16;
/// `IFLA_LINKMODE`.
pub const IFLA_LINKMODE: u16 = 17;
/// `RTA_DST`.
pub const RTA_DST: u16 = 1;
/// `RTA_OIF`.
pub const RTA_OIF: u16 = 4;
/// `RTA_GATEWAY`.
pub const RTA_GATEWAY: u16 = 5;
/// `RTA_PREFSRC`.
pub const RTA_PREFSRC: u16 = 7;
/// `RTA_TABLE`.
pub const RTA_TABLE: u16 = 15;
/// `RTA_PRIORITY`.
pub const RTA_PRIORITY: u16 = 6;
/// `RTA_PREF`.
pub const RTA_PREF: u16 = 20;
/// `RTA_VIA`.
pub const RTA_VIA: u16 = 18;
/// `IFA_ADDRESS`.
pub const IFA_ADDRESS: u16 = 1;
/// `IFA_LOCAL`.
pub const IFA_LOCAL: u16 = 2;
/// `IFA_LABEL`.
pub const IFA_LABEL: u16 = 3;
/// `IFA_BROADCAST`.
pub const IFA_BROADCAST: u16 = 4;
/// `IFA_CACHEINFO`.
pub const IFA_CACHEINFO: u16 = 6;
/// `IFA_FLAGS`.
pub const IFA_FLAGS: u16 = 8;
/// `IFA_F_PERMANENT`.
pub const IFA_F_PERMANENT: u8 = 0x80;

/// `IFF_UP`.
pub const IFF_UP: u32 = 0x1;
/// `IFF_LOOPBACK`.
pub const IFF_LOOPBACK: u32 = 0x8;
/// `IFF_RUNNING`.
pub const IFF_RUNNING: u32 = 0x40;
/// `IFF_LOWER_UP`.
pub const IFF_LOWER_UP: u32 = 0x10000;
/// `ARPHRD_ETHER`.
pub const ARPHRD_ETHER: u16 = 1;
/// `ARPHRD_LOOPBACK`.
pub const ARPHRD_LOOPBACK: u16 = 772;

/// The socket buffer sizes Linux reports (`sysctl_[rw]mem_default`).
const BUF_DEFAULT: i32 = 212_992;
/// The most bytes of datagrams waiting in one socket (replies beyond are
/// dropped with `ENOBUFS` as the socket's error, as an overrun).
const RCVBUF: usize = 2 * BUF_DEFAULT as usize;
/// The largest reply datagram of a dump (Linux's skb of a dump).
const DUMP_CHUNK: usize = 16384;

/// One interface as the kernel shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Link {
    /// Interface index (lo is 1).
    pub index: u32,
    /// Name ("lo").
    pub name: String,
    /// IFF_* flags (`IFF_LOWER_UP` is added for a running interface).
    pub flags: u32,
    /// MTU.
    pub mtu: u32,
    /// Hardware address.
    pub mac: [u8; 6],
    /// Loopback (ARPHRD_LOOPBACK, zero addresses, scope host).
    pub loopback: bool,
    /// IPv4 addresses with prefix lengths.
    pub ipv4: Vec<([u8; 4], u8)>,
    /// IPv6 addresses with prefix lengths.
    pub ipv6: Vec<([u8; 16], u8)>,
    /// The IPv4 default gateway through this interface.
    pub gw4: Option<[u8; 4]>,
}

impl Link {
    /// With `index`, `name`, the rest default.
    pub fn new(index: u32, name: String) -> Self {
        Link { index, name, ..Default::default() }
    }
    /// With [`Link::flags`].
    pub fn with_flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// With [`Link::mtu`].
    pub fn with_mtu(mut self, mtu: u32) -> Self {
        self.mtu = mtu;
        self
    }
    /// With [`Link::mac`].
    pub fn with_mac(mut self, mac: [u8; 6]) -> Self {
        self.mac = mac;
        self
    }
    /// With [`Link::loopback`].
    pub fn with_loopback(mut self, loopback: bool) -> Self {
        self.loopback = loopback;
        self
    }
    /// With [`Link::ipv4`].
    pub fn with_ipv4(mut self, ipv4: Vec<([u8; 4], u8)>) -> Self {
        self.ipv4 = ipv4;
        self
    }
    /// With [`Link::ipv6`].
    pub fn with_ipv6(mut self, ipv6: Vec<([u8; 16], u8)>) -> Self {
        self.ipv6 = ipv6;
        self
    }
    /// With [`Link::gw4`].
    pub fn with_gw4(mut self, gw4: Option<[u8; 4]>) -> Self {
        self.gw4 = gw4;
        self
    }
}

/// One route of the main table as the kernel keeps it (the user's and the
/// boot's; the routes of addresses are derived here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route {
    /// `AF_INET` or `AF_INET6`.
    pub family: u16,
    /// The destination (IPv4 in the first 4 bytes).
    pub dst: [u8; 16],
    /// Its prefix length.
    pub dst_len: u8,
    /// The gateway.
    pub gateway: Option<[u8; 16]>,
    /// The interface (0: unnamed, in a request).
    pub oif: u32,
    /// `RTA_PRIORITY`.
    pub metric: u32,
    /// `rtm_protocol`.
    pub proto: u8,
    /// `rtm_scope`.
    pub scope: u8,
    /// `rtm_type` (0 is taken as `RTN_UNICAST`): unicast, or (IPv4)
    /// `RTN_BLACKHOLE`, `RTN_UNREACHABLE`, `RTN_PROHIBIT`.
    pub ty: u8,
}

impl Route {
    /// A route of `family` to `dst`/`dst_len` out of `oif`.
    pub fn new(family: u16, dst: [u8; 16], dst_len: u8, oif: u32) -> Route {
        Route { family, dst, dst_len, oif, ..Default::default() }
    }
    /// With [`Route::gateway`].
    pub fn with_gateway(mut self, gw: Option<[u8; 16]>) -> Route {
        self.gateway = gw;
        self
    }
    /// With [`Route::metric`].
    pub fn with_metric(mut self, metric: u32) -> Route {
        self.metric = metric;
        self
    }
    /// With [`Route::ty`].
    pub fn with_type(mut self, ty: u8) -> Route {
        self.ty = ty;
        self
    }
    /// With [`Route::proto`] and [`Route::scope`].
    pub fn with_proto_scope(mut self, proto: u8, scope: u8) -> Route {
        self.proto = proto;
        self.scope = scope;
        self
    }
}

/// The kernel's side of NETLINK_ROUTE.
pub trait RouteHost: Send + Sync {
    /// The interfaces in index order.
    fn links(&self) -> Result<Vec<Link>>;
    /// Sets or clears IFF_UP of interface `index`.
    fn set_up(&self, index: u32, up: bool) -> Result<()>;
    /// Whether the caller has CAP_NET_ADMIN.
    fn net_admin(&self) -> bool;
    /// The port ids bound in the socket's network namespace.
    fn ports(&self) -> &Ports;
    /// `RTM_NEWADDR`: adds `addr` (4 or 16 bytes) with `prefix` to
    /// interface `index`; `flags` are the request's (`NLM_F_EXCL`,
    /// `NLM_F_REPLACE`). `Ok(true)` when added, `Ok(false)` when an
    /// existing one was replaced.
    fn add_addr(&self, _index: u32, _addr: &[u8], _prefix: u8, _flags: u16) -> Result<bool> {
        Err(Errno::EOPNOTSUPP)
    }
    /// `RTM_DELADDR`: removes the first address of `family` on `index`
    /// that is `local` with `prefix` (each when given); returns it and its
    /// prefix length (`EADDRNOTAVAIL` when none matches).
    fn del_addr(
        &self,
        _index: u32,
        _family: u16,
        _local: Option<&[u8]>,
        _prefix: Option<u8>,
    ) -> Result<([u8; 16], u8)> {
        Err(Errno::EOPNOTSUPP)
    }
    /// The main table's routes (the boot's and the user's); by default
    /// each link's IPv4 default gateway.
    fn routes(&self) -> Result<Vec<Route>> {
        let mut v = Vec::new();
        for l in self.links()? {
            if let Some(g) = l.gw4 {
                let mut gw = [0u8; 16];
                gw[..4].copy_from_slice(&g);
                v.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
                v.push(
                    Route::new(AF_INET, [0; 16], 0, l.index).with_gateway(Some(gw)).with_proto_scope(3, 0),
                );
            }
        }
        Ok(v)
    }
    /// `RTM_NEWROUTE` of a unicast main-table route (`flags`: the
    /// request's `NLM_F_CREATE`/`EXCL`/`REPLACE`/`APPEND`); returns the
    /// route as added (its interface filled in).
    fn add_route(&self, _r: &Route, _flags: u16) -> Result<Route> {
        Err(Errno::EOPNOTSUPP)
    }
    /// `RTM_DELROUTE`: removes the first route to `r`'s destination that
    /// has its gateway and interface (when given) and `metric` (when
    /// given); returns it (`ESRCH` when none).
    fn del_route(&self, _r: &Route, _metric: Option<u32>) -> Result<Route> {
        Err(Errno::EOPNOTSUPP)
    }
    /// The open inet sockets of `family` and `protocol` (listeners
    /// first) for NETLINK_SOCK_DIAG.
    fn diag_inet(&self, _family: u16, _protocol: u8) -> Result<Vec<InetDiag>> {
        Ok(Vec::new())
    }
    /// The open AF_UNIX sockets for NETLINK_SOCK_DIAG.
    fn diag_unix(&self) -> Result<Vec<UnixDiagSock>> {
        Ok(Vec::new())
    }
    /// A NETLINK_CONNECTOR request ([`crate::connector::parse_request`])
    /// from the socket of port `portid`; answers, if any, go out as
    /// multicast (the process-events connector's acknowledgement). By
    /// default ignored (no connector registered for its id).
    fn connector(&self, _req: &crate::connector::Request<'_>, _portid: u32) {}
}

/// The bound port ids of one network namespace by protocol (Linux's
/// nl_table hashes, keyed by namespace there): the kernel keeps one per
/// namespace and hands it out through [`RouteHost::ports`].
pub struct Ports {
    set: Mutex<BTreeSet<(u32, u32)>>,
    /// The sockets in multicast groups: (protocol, group bits, socket).
    members: Mutex<Vec<Member>>,
    /// The autobind rover: negative ids from -4097 down (Linux starts at
    /// a random one in that range).
    rover: Mutex<i32>,
}

impl Default for Ports {
    fn default() -> Self {
        Self::new()
    }
}

impl Ports {
    /// No port bound.
    pub const fn new() -> Ports {
        Ports { set: Mutex::new(BTreeSet::new()), members: Mutex::new(Vec::new()), rover: Mutex::new(-4097) }
    }

    /// How many ports are bound.
    pub fn len(&self) -> usize {
        self.set.lock().len()
    }

    /// Whether no port is bound.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sets the groups of `sock` (none: it leaves the list).
    fn set_groups(&self, protocol: u32, groups: u64, sock: alloc::sync::Weak<dyn Listener>) -> Result<()> {
        let mut m = self.members.lock();
        m.retain(|(_, _, w)| !alloc::sync::Weak::ptr_eq(w, &sock) && w.strong_count() > 0);
        if groups != 0 {
            m.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            m.push((protocol, groups, sock));
        }
        Ok(())
    }

    /// Sends `msg` to every socket of `protocol` in `group`
    /// (`netlink_broadcast`; a socket with a full queue misses it and
    /// gets `ENOBUFS`). Returns how many got it.
    pub fn broadcast(&self, protocol: u32, group: u32, msg: &[u8]) -> usize {
        if group == 0 || group > 64 {
            return 0;
        }
        let bit = 1u64 << (group - 1);
        let mut to: Vec<alloc::sync::Arc<dyn Listener>> = Vec::new();
        {
            let m = self.members.lock();
            let n = m.iter().filter(|(p, g, _)| *p == protocol && g & bit != 0).count();
            if to.try_reserve_exact(n).is_err() {
                return 0;
            }
            to.extend(
                m.iter()
                    .filter(|(p, g, _)| *p == protocol && g & bit != 0)
                    .filter_map(|(_, _, w)| w.upgrade()),
            );
        }
        to.iter().filter(|s| s.notify(msg)).count()
    }
}

/// A group member: (protocol, group bits, the socket).
type Member = (u32, u64, alloc::sync::Weak<dyn Listener>);

/// A socket that takes multicast messages ([`Ports::broadcast`]).
pub trait Listener: Send + Sync {
    /// Queues `msg`; false when it did not fit (the socket's error
    /// becomes `ENOBUFS`).
    fn notify(&self, msg: &[u8]) -> bool;
}

struct State {
    portid: Option<u32>,
    queue: VecDeque<Vec<u8>>,
    queued: usize,
    err: Option<Errno>,
    cap_ack: bool,
    /// connect(2)'s destination port (0: the kernel).
    dst: u32,
    /// The multicast groups joined (bit `g - 1` for group `g`).
    groups: u64,
}

/// An `AF_NETLINK` socket.
pub struct NetlinkSocket<E: NetEnv> {
    ty: u32,
    protocol: u32,
    waker: E::Waker,
    events: AtomicU64,
    host: Arc<dyn RouteHost>,
    st: Mutex<State>,
    /// Held (before `st`) over each change of the groups and its entry in
    /// the namespace's member list, so that the list follows the changes
    /// in their order.
    membership: Mutex<()>,
    me: alloc::sync::Weak<NetlinkSocket<E>>,
}

/// socket(2) for `AF_NETLINK` (`netlink_create`): SOCK_RAW or SOCK_DGRAM
/// (`ESOCKTNOSUPPORT`), protocol NETLINK_ROUTE, NETLINK_SOCK_DIAG,
/// NETLINK_CONNECTOR or NETLINK_KOBJECT_UEVENT (`EPROTONOSUPPORT`).
pub fn create<E: NetEnv>(
    ty: u32,
    protocol: i32,
    waker: E::Waker,
    host: Arc<dyn RouteHost>,
) -> Result<Arc<NetlinkSocket<E>>> {
    if ty != SOCK_RAW && ty != SOCK_DGRAM {
        return Err(Errno::ESOCKTNOSUPPORT);
    }
    if ![NETLINK_ROUTE, NETLINK_SOCK_DIAG, NETLINK_CONNECTOR, NETLINK_KOBJECT_UEVENT]
        .contains(&(protocol as u32))
    {
        return Err(Errno::EPROTONOSUPPORT);
    }
    Ok(Arc::new_cyclic(|me| NetlinkSocket {
        ty,
        protocol: protocol as u32,
        waker,
        events: AtomicU64::new(0),
        host,
        st: Mutex::new(State {
            portid: None,
            queue: VecDeque::new(),
            queued: 0,
            err: None,
            cap_ack: false,
            dst: 0,
            groups: 0,
        }),
        membership: Mutex::new(()),
        me: me.clone(),
    }))
}

/// A `struct sockaddr_nl`.
pub fn sockaddr_nl(pid: u32, groups: u32) -> SockAddrBuf {
    let mut b = [0u8; 12];
    b[..2].copy_from_slice(&AF_NETLINK.to_le_bytes());
    b[4..8].copy_from_slice(&pid.to_le_bytes());
    b[8..].copy_from_slice(&groups.to_le_bytes());
    SockAddrBuf::new(&b)
}

/// Parses a `sockaddr_nl`: `EINVAL` when short or of another family.
fn parse_nl(b: &[u8]) -> Result<(u32, u32)> {
    if b.len() < 12 || u16::from_le_bytes([b[0], b[1]]) != AF_NETLINK {
        return Err(Errno::EINVAL);
    }
    let w = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    Ok((w(4), w(8)))
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Builds one netlink message.
struct Msg {
    b: Vec<u8>,
}

impl Msg {
    fn new(ty: u16, flags: u16, seq: u32, pid: u32, body: &[u8]) -> Result<Msg> {
        let mut b = Vec::new();
        b.try_reserve(NLMSG_HDRLEN + align4(body.len()) + 64).map_err(|_| Errno::ENOBUFS)?;
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&flags.to_le_bytes());
        b.extend_from_slice(&seq.to_le_bytes());
        b.extend_from_slice(&pid.to_le_bytes());
        let mut m = Msg { b };
        m.raw(body)?;
        Ok(m)
    }

    fn raw(&mut self, d: &[u8]) -> Result<()> {
        self.b.try_reserve(align4(d.len())).map_err(|_| Errno::ENOBUFS)?;
        self.b.extend_from_slice(d);
        while !self.b.len().is_multiple_of(4) {
            self.b.push(0);
        }
        Ok(())
    }

    fn attr(&mut self, ty: u16, d: &[u8]) -> Result<()> {
        let mut h = [0u8; 4];
        h[..2].copy_from_slice(&((4 + d.len()) as u16).to_le_bytes());
        h[2..].copy_from_slice(&ty.to_le_bytes());
        self.b.try_reserve(4 + align4(d.len())).map_err(|_| Errno::ENOBUFS)?;
        self.b.extend_from_slice(&h);
        self.raw(d)
    }

    fn attr_str(&mut self, ty: u16, s: &str) -> Result<()> {
        let mut v = Vec::new();
        v.try_reserve(s.len() + 1).map_err(|_| Errno::ENOBUFS)?;
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.attr(ty, &v)
    }

    fn finish(mut self) -> Vec<u8> {
        let n = self.b.len() as u32;
        self.b[..4].copy_from_slice(&n.to_le_bytes());
        self.b
    }
}

/// The `RTM_NEWLINK` message describing `l`.
fn link_msg(l: &Link, flags: u16, seq: u32, pid: u32) -> Result<Vec<u8>> {
    let mut ifi = [0u8; 16];
    let ty = if l.loopback { ARPHRD_LOOPBACK } else { ARPHRD_ETHER };
    ifi[2..4].copy_from_slice(&ty.to_le_bytes());
    ifi[4..8].copy_from_slice(&l.index.to_le_bytes());
    let mut fl = l.flags;
    if fl & IFF_RUNNING != 0 {
        fl |= IFF_LOWER_UP;
    }
    ifi[8..12].copy_from_slice(&fl.to_le_bytes());
    let mut m = Msg::new(RTM_NEWLINK, flags, seq, pid, &ifi)?;
    m.attr_str(IFLA_IFNAME, &l.name)?;
    m.attr(IFLA_TXQLEN, &1000u32.to_le_bytes())?;
    // IF_OPER_UNKNOWN for an up loopback, IF_OPER_UP for a running NIC,
    // IF_OPER_DOWN otherwise
    let oper: u8 = if l.flags & IFF_UP == 0 {
        2
    } else if l.loopback {
        0
    } else {
        6
    };
    m.attr(IFLA_OPERSTATE, &[oper])?;
    m.attr(IFLA_LINKMODE, &[0])?;
    m.attr(IFLA_MTU, &l.mtu.to_le_bytes())?;
    // rtnl_fill_ifinfo's order; lo has no MTU limits, a NIC's are
    // ETH_MIN_MTU and virtio-net's maximum
    let (min_mtu, max_mtu) = if l.loopback { (0u32, 0u32) } else { (68, 65535) };
    m.attr(IFLA_MIN_MTU, &min_mtu.to_le_bytes())?;
    m.attr(IFLA_MAX_MTU, &max_mtu.to_le_bytes())?;
    m.attr(IFLA_GROUP, &0u32.to_le_bytes())?;
    m.attr(IFLA_PROMISCUITY, &0u32.to_le_bytes())?;
    m.attr(IFLA_NUM_TX_QUEUES, &1u32.to_le_bytes())?;
    m.attr(IFLA_GSO_MAX_SEGS, &65535u32.to_le_bytes())?;
    m.attr(IFLA_GSO_MAX_SIZE, &65536u32.to_le_bytes())?;
    m.attr(IFLA_GRO_MAX_SIZE, &65536u32.to_le_bytes())?;
    m.attr(IFLA_TSO_MAX_SIZE, &524_280u32.to_le_bytes())?;
    m.attr(IFLA_TSO_MAX_SEGS, &65535u32.to_le_bytes())?;
    m.attr(IFLA_NUM_RX_QUEUES, &1u32.to_le_bytes())?;
    m.attr(IFLA_ALLMULTI, &0u32.to_le_bytes())?;
    // noop_qdisc until the device first comes up; then lo's noqueue and
    // the default qdisc (pfifo_fast without Debian's sysctl.d) of a NIC
    let qdisc = if l.flags & IFF_UP == 0 {
        "noop"
    } else if l.loopback {
        "noqueue"
    } else {
        "pfifo_fast"
    };
    m.attr_str(IFLA_QDISC, qdisc)?;
    let (mac, brd) = if l.loopback { ([0u8; 6], [0u8; 6]) } else { (l.mac, [0xffu8; 6]) };
    m.attr(IFLA_ADDRESS, &mac)?;
    m.attr(IFLA_BROADCAST, &brd)?;
    Ok(m.finish())
}

fn addr_msg(
    l: &Link,
    family: u16,
    addr: &[u8],
    prefix: u8,
    flags: u16,
    seq: u32,
    pid: u32,
) -> Result<Vec<u8>> {
    let mut ifa = [0u8; 8];
    ifa[0] = family as u8;
    ifa[1] = prefix;
    ifa[2] = IFA_F_PERMANENT;
    // RT_SCOPE_HOST for 127/8 (iproute2's default_scope) and ::1,
    // RT_SCOPE_LINK for fe80::/10 (ipv6_addr_scope), global otherwise
    let v6_lo = family == AF_INET6 && addr.len() == 16 && addr[..15].iter().all(|&b| b == 0) && addr[15] == 1;
    let link_local = family == AF_INET6 && addr[0] == 0xfe && addr[1] & 0xc0 == 0x80;
    ifa[3] = if (family == AF_INET && addr[0] == 127) || v6_lo {
        254
    } else if link_local {
        253
    } else {
        0
    };
    ifa[4..].copy_from_slice(&l.index.to_le_bytes());
    let mut m = Msg::new(RTM_NEWADDR, flags, seq, pid, &ifa)?;
    m.attr(IFA_ADDRESS, addr)?;
    if family == AF_INET {
        m.attr(IFA_LOCAL, addr)?;
        if !l.loopback && prefix < 31 {
            let a = u32::from_be_bytes([addr[0], addr[1], addr[2], addr[3]]);
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            m.attr(IFA_BROADCAST, &(a | !mask).to_be_bytes())?;
        }
        m.attr_str(IFA_LABEL, &l.name)?;
    }
    m.attr(IFA_FLAGS, &u32::from(IFA_F_PERMANENT).to_le_bytes())?;
    // struct ifa_cacheinfo: a permanent address's lifetimes are
    // INFINITY_LIFE_TIME ("valid_lft forever"); the stamps are 0 here
    let mut ci = [0u8; 16];
    ci[..8].fill(0xff);
    m.attr(IFA_CACHEINFO, &ci)?;
    Ok(m.finish())
}

/// A route message's fields (`struct rtmsg` and the attributes).
#[derive(Clone, Copy)]
struct Rt {
    family: u16,
    table: u8,
    ty: u8,
    scope: u8,
    proto: u8,
    dst: [u8; 16],
    dst_len: u8,
    src: Option<[u8; 16]>,
    gw: Option<[u8; 16]>,
    oif: u32,
    metric: Option<u32>,
}

const RT_TABLE_MAIN: u8 = 254;
const RT_TABLE_LOCAL: u8 = 255;
const RTN_UNICAST: u8 = 1;
const RTN_LOCAL: u8 = 2;
const RTN_BROADCAST: u8 = 3;
const RTN_BLACKHOLE: u8 = 6;
const RTN_PROHIBIT: u8 = 8;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;
const RT_SCOPE_HOST: u8 = 254;
const RTPROT_KERNEL: u8 = 2;

impl Rt {
    fn v4(table: u8, ty: u8, scope: u8, dst: [u8; 4], dst_len: u8, src: [u8; 4], oif: u32) -> Rt {
        let mut d = [0u8; 16];
        d[..4].copy_from_slice(&dst);
        let mut sr = [0u8; 16];
        sr[..4].copy_from_slice(&src);
        Rt {
            family: AF_INET,
            table,
            ty,
            scope,
            proto: RTPROT_KERNEL,
            dst: d,
            dst_len,
            src: Some(sr),
            gw: None,
            oif,
            metric: None,
        }
    }

    fn of(r: &Route) -> Rt {
        Rt {
            family: r.family,
            table: RT_TABLE_MAIN,
            ty: if r.ty == 0 { RTN_UNICAST } else { r.ty },
            proto: r.proto,
            dst: r.dst,
            dst_len: r.dst_len,
            src: None,
            gw: r.gateway,
            oif: r.oif,
            // IPv6 routes are of scope universe
            scope: if r.family == AF_INET6 { RT_SCOPE_UNIVERSE } else { r.scope },
            // fib_dump_info puts a nonzero priority; IPv6 always
            metric: (r.metric != 0 || r.family == AF_INET6).then_some(r.metric),
        }
    }

    /// The message (`ty` RTM_NEWROUTE or RTM_DELROUTE).
    fn msg(&self, ty: u16, flags: u16, seq: u32, pid: u32) -> Result<Vec<u8>> {
        let rtm =
            [self.family as u8, self.dst_len, 0, 0, self.table, self.proto, self.scope, self.ty, 0, 0, 0, 0];
        let n = if self.family == AF_INET { 4 } else { 16 };
        let mut m = Msg::new(ty, flags, seq, pid, &rtm)?;
        m.attr(RTA_TABLE, &u32::from(self.table).to_le_bytes())?;
        if self.dst_len != 0 {
            m.attr(RTA_DST, &self.dst[..n])?;
        }
        if let Some(p) = self.metric {
            m.attr(RTA_PRIORITY, &p.to_le_bytes())?;
        }
        if let Some(s) = self.src {
            m.attr(RTA_PREFSRC, &s[..n])?;
        }
        if let Some(g) = self.gw {
            m.attr(RTA_GATEWAY, &g[..n])?;
        }
        // (a blackhole, unreachable or prohibit route has no device)
        if self.oif != 0 || self.ty == RTN_UNICAST {
            m.attr(RTA_OIF, &self.oif.to_le_bytes())?;
        }
        if self.family == AF_INET6 {
            m.attr(RTA_PREF, &[0])?;
        }
        Ok(m.finish())
    }
}

fn mask4(p: u8) -> u32 {
    if p == 0 { 0 } else { u32::MAX << (32 - u32::from(p.min(32))) }
}

/// The IPv4 routes Linux's fib makes for an address of an up interface:
/// in the main table the subnet (scope link; `main`), in the local table
/// (`local`) the address itself (RTN_LOCAL, scope host; for loopback its
/// whole subnet too) and the subnet's broadcast address.
fn addr_routes(
    l: &Link,
    a: [u8; 4],
    p: u8,
    main: &mut dyn FnMut(Rt) -> Result<()>,
    local: &mut dyn FnMut(Rt) -> Result<()>,
) -> Result<()> {
    let ip = u32::from_be_bytes(a);
    let net = (ip & mask4(p)).to_be_bytes();
    if !l.loopback {
        main(Rt::v4(RT_TABLE_MAIN, RTN_UNICAST, RT_SCOPE_LINK, net, p, a, l.index))?;
    }
    if l.loopback {
        local(Rt::v4(RT_TABLE_LOCAL, RTN_LOCAL, RT_SCOPE_HOST, net, p, a, l.index))?;
    }
    local(Rt::v4(RT_TABLE_LOCAL, RTN_LOCAL, RT_SCOPE_HOST, a, 32, a, l.index))?;
    if p < 31 {
        let b = (ip | !mask4(p)).to_be_bytes();
        local(Rt::v4(RT_TABLE_LOCAL, RTN_BROADCAST, RT_SCOPE_LINK, b, 32, a, l.index))?;
    }
    Ok(())
}

/// The IPv6 prefix route of an address (addrconf_prefix_route: main
/// table, proto kernel, metric 256).
fn addr6_route(l: &Link, a: &[u8; 16], p: u8) -> Rt {
    let m = if p == 0 { 0 } else { u128::MAX << (128 - u32::from(p.min(128))) };
    let net = (u128::from_be_bytes(*a) & m).to_be_bytes();
    Rt {
        family: AF_INET6,
        table: RT_TABLE_MAIN,
        ty: RTN_UNICAST,
        scope: RT_SCOPE_UNIVERSE,
        proto: RTPROT_KERNEL,
        dst: net,
        dst_len: p,
        src: None,
        gw: None,
        oif: l.index,
        metric: Some(256),
    }
}

/// The main and local tables of `family` as a dump lists them: the main
/// table by destination (the user's routes with those of the
/// addresses), then the local table.
fn route_dump(host: &dyn RouteHost, family: u16, out: &mut dyn FnMut(Rt) -> Result<()>) -> Result<()> {
    let links = host.links()?;
    let routes = host.routes()?;
    let up = |i: u32| links.iter().any(|l| l.index == i && l.flags & IFF_UP != 0);
    let mut main: Vec<Rt> = Vec::new();
    let mut local: Vec<Rt> = Vec::new();
    let keep = |v: &mut Vec<Rt>, r: Rt| -> Result<()> {
        v.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
        v.push(r);
        Ok(())
    };
    for l in &links {
        let is_up = l.flags & IFF_UP != 0;
        if family == AF_INET {
            // a down link keeps its host-scope local routes (fib_sync_down_dev
            // kills only the others without `force`)
            for &(a, p) in &l.ipv4 {
                let mut lv: Vec<Rt> = Vec::new();
                let mut mv: Vec<Rt> = Vec::new();
                addr_routes(l, a, p, &mut |r| keep(&mut mv, r), &mut |r| keep(&mut lv, r))?;
                for r in mv.into_iter().filter(|_| is_up) {
                    keep(&mut main, r)?;
                }
                for r in lv.into_iter().filter(|r| is_up || r.ty == RTN_LOCAL) {
                    keep(&mut local, r)?;
                }
            }
        } else if is_up {
            for (a, p) in &l.ipv6 {
                keep(&mut main, addr6_route(l, a, *p))?;
            }
        }
    }
    for r in routes.iter().filter(|r| r.family == family && up(r.oif)) {
        keep(&mut main, Rt::of(r))?;
    }
    main.sort_by(|a, b| a.dst.cmp(&b.dst).then(a.dst_len.cmp(&b.dst_len)));
    for r in main.into_iter().chain(local) {
        out(r)?;
    }
    Ok(())
}

/// What one request asks of the kernel.
struct Req<'a> {
    ty: u16,
    flags: u16,
    seq: u32,
    body: &'a [u8],
}

/// Multicast messages a request made: (group, message).
type Notes = Vec<(u32, Vec<u8>)>;

fn note(notes: &mut Notes, group: u32, m: Vec<u8>) -> Result<()> {
    notes.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
    notes.push((group, m));
    Ok(())
}

/// The answer of the routing family to one request: `Ok(true)` for a dump
/// (no ack follows), `Ok(false)` for a done request, or the error. The
/// changes' notifications go to `notes`.
fn route(
    host: &dyn RouteHost,
    r: &Req<'_>,
    pid: u32,
    out: &mut Vec<Vec<u8>>,
    notes: &mut Notes,
) -> Result<bool> {
    if r.ty > RTM_MAX {
        return Err(Errno::EOPNOTSUPP);
    }
    if r.body.is_empty() {
        return Ok(false);
    }
    let kind = (r.ty - NLMSG_MIN_TYPE) & 3;
    if kind != 2 && !host.net_admin() {
        return Err(Errno::EPERM);
    }
    let family = u16::from(r.body[0]);
    let dump = kind == 2 && r.flags & NLM_F_DUMP != 0;
    let push = |out: &mut Vec<Vec<u8>>, m: Vec<u8>| -> Result<()> {
        out.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
        out.push(m);
        Ok(())
    };
    match r.ty {
        RTM_GETLINK if dump => {
            for l in host.links()? {
                push(out, link_msg(&l, NLM_F_MULTI, r.seq, pid)?)?;
            }
            Ok(true)
        }
        RTM_GETADDR if dump => {
            let links = host.links()?;
            if family == AF_UNSPEC || family == AF_INET {
                for l in &links {
                    for (a, p) in &l.ipv4 {
                        push(out, addr_msg(l, AF_INET, a, *p, NLM_F_MULTI, r.seq, pid)?)?;
                    }
                }
            }
            if family == AF_UNSPEC || family == AF_INET6 {
                for l in &links {
                    for (a, p) in &l.ipv6 {
                        push(out, addr_msg(l, AF_INET6, a, *p, NLM_F_MULTI, r.seq, pid)?)?;
                    }
                }
            }
            Ok(true)
        }
        RTM_GETROUTE if dump => {
            for f in [AF_INET, AF_INET6] {
                if family == AF_UNSPEC || family == f {
                    route_dump(host, f, &mut |rt| push(out, rt.msg(RTM_NEWROUTE, NLM_F_MULTI, r.seq, pid)?))?;
                }
            }
            Ok(true)
        }
        RTM_GETLINK | RTM_NEWLINK | RTM_SETLINK => {
            // struct ifinfomsg, then attributes
            if r.body.len() < 16 {
                return Err(Errno::EINVAL);
            }
            let rd = |i: usize| u32::from_le_bytes([r.body[i], r.body[i + 1], r.body[i + 2], r.body[i + 3]]);
            let index = rd(4) as i32;
            let (ifl, change) = (rd(8), rd(12));
            let name = find_attr(&r.body[16..], IFLA_IFNAME).map(|n| {
                let e = n.iter().position(|&c| c == 0).unwrap_or(n.len());
                &n[..e]
            });
            if index < 0 {
                return Err(Errno::EINVAL);
            }
            if index == 0 && name.is_none() {
                return Err(if r.ty == RTM_GETLINK || r.ty == RTM_SETLINK {
                    Errno::EINVAL
                } else if r.flags & NLM_F_CREATE != 0 {
                    Errno::EOPNOTSUPP
                } else {
                    Errno::ENODEV
                });
            }
            let links = host.links()?;
            let l = links
                .iter()
                .find(|l| if index > 0 { l.index == index as u32 } else { Some(l.name.as_bytes()) == name });
            let Some(l) = l else {
                return Err(if r.ty == RTM_NEWLINK && r.flags & NLM_F_CREATE != 0 {
                    Errno::EOPNOTSUPP
                } else {
                    Errno::ENODEV
                });
            };
            if r.ty == RTM_GETLINK {
                push(out, link_msg(l, 0, r.seq, pid)?)?;
            } else if change & IFF_UP != 0 || (change == 0 && ifl != 0) {
                // rtnl_dev_combine_flags: with ifi_change 0 every flag given
                let up = ifl & IFF_UP != 0;
                if up != (l.flags & IFF_UP != 0) {
                    host.set_up(l.index, up)?;
                    if let Some(n) = host.links()?.iter().find(|x| x.index == l.index) {
                        note(notes, RTNLGRP_LINK, link_msg(n, 0, r.seq, pid)?)?;
                    }
                }
            }
            Ok(false)
        }
        RTM_NEWADDR | RTM_DELADDR => change_addr(host, r, pid, notes),
        RTM_NEWROUTE | RTM_DELROUTE => change_route(host, r, pid, notes),
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// `RTM_NEWADDR` and `RTM_DELADDR` (`inet_rtm_newaddr`,
/// `inet6_rtm_newaddr`, `inet_rtm_deladdr`, `inet6_rtm_deladdr`): a short
/// message or a missing address `EINVAL`, a family other than IPv4/IPv6
/// `EOPNOTSUPP`, an unknown link `ENODEV`; the rest is the host's
/// (`EEXIST`, `EADDRNOTAVAIL`). A change is announced to
/// `RTNLGRP_IPV4_IFADDR`/`RTNLGRP_IPV6_IFADDR` (and an IPv4 address's
/// routes on an up link to `RTNLGRP_IPV4_ROUTE`).
fn change_addr(host: &dyn RouteHost, r: &Req<'_>, pid: u32, notes: &mut Notes) -> Result<bool> {
    // struct ifaddrmsg: family, prefixlen, flags, scope, index
    if r.body.len() < 8 {
        return Err(Errno::EINVAL);
    }
    let (family, prefix) = (u16::from(r.body[0]), r.body[1]);
    let index = u32::from_le_bytes([r.body[4], r.body[5], r.body[6], r.body[7]]);
    let attrs = &r.body[8..];
    let (alen, group, maxp) = match family {
        AF_INET => (4, RTNLGRP_IPV4_IFADDR, 32),
        AF_INET6 => (16, RTNLGRP_IPV6_IFADDR, 128),
        _ => return Err(Errno::EOPNOTSUPP),
    };
    let local = find_attr(attrs, IFA_LOCAL);
    let address = find_attr(attrs, IFA_ADDRESS);
    if local.is_some_and(|a| a.len() != alen) || address.is_some_and(|a| a.len() != alen) || prefix > maxp {
        return Err(Errno::EINVAL);
    }
    let links = host.links()?;
    let (added, a, p) = if r.ty == RTM_NEWADDR {
        let addr = if family == AF_INET { local.or(address) } else { address.or(local) };
        let addr = addr.ok_or(Errno::EINVAL)?;
        links.iter().find(|l| l.index == index).ok_or(Errno::ENODEV)?;
        let added = host.add_addr(index, addr, prefix, r.flags)?;
        let mut a = [0u8; 16];
        a[..alen].copy_from_slice(addr);
        (added, a, prefix)
    } else {
        links.iter().find(|l| l.index == index).ok_or(Errno::ENODEV)?;
        let (which, pfx) = if family == AF_INET {
            (local, address.map(|_| prefix))
        } else {
            (Some(address.or(local).ok_or(Errno::EINVAL)?), Some(prefix))
        };
        let (a, p) = host.del_addr(index, family, which, pfx)?;
        (true, a, p)
    };
    if !added {
        return Ok(false);
    }
    // announce it as the link shows it (after the change: its name, scope)
    let links = host.links()?;
    if let Some(l) = links.iter().find(|l| l.index == index) {
        let mut m = addr_msg(l, family, &a[..alen], p, 0, r.seq, pid)?;
        if r.ty == RTM_DELADDR {
            m[4..6].copy_from_slice(&RTM_DELADDR.to_le_bytes());
        }
        note(notes, group, m)?;
        if family == AF_INET && l.flags & IFF_UP != 0 {
            let ty = if r.ty == RTM_NEWADDR { RTM_NEWROUTE } else { RTM_DELROUTE };
            let mut v: Vec<Rt> = Vec::new();
            let mut keep = |x: Rt| -> Result<()> {
                v.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
                v.push(x);
                Ok(())
            };
            let mut local_v: Vec<Rt> = Vec::new();
            let mut keep_l = |x: Rt| -> Result<()> {
                local_v.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
                local_v.push(x);
                Ok(())
            };
            addr_routes(l, [a[0], a[1], a[2], a[3]], p, &mut keep, &mut keep_l)?;
            for x in local_v.into_iter().chain(v) {
                note(notes, RTNLGRP_IPV4_ROUTE, x.msg(ty, 0, 0, 0)?)?;
            }
        }
        if family == AF_INET6 && l.flags & IFF_UP != 0 {
            // addrconf_prefix_route's prefix route (main table, metric 256)
            let ty = if r.ty == RTM_NEWADDR { RTM_NEWROUTE } else { RTM_DELROUTE };
            note(notes, RTNLGRP_IPV6_ROUTE, addr6_route(l, &a, p).msg(ty, 0, 0, 0)?)?;
        }
    }
    Ok(false)
}

/// `RTM_NEWROUTE` and `RTM_DELROUTE` of the main table's unicast routes
/// (`inet_rtm_newroute`/`inet6_rtm_newroute` and the deletions): a short
/// message, an address of the wrong length or a prefix past the
/// family's `EINVAL`; another family, table or type, or `RTA_VIA`,
/// `EOPNOTSUPP`; an unknown interface `ENODEV`; the rest is the host's
/// (`EEXIST`, `ENETUNREACH`, `ENETDOWN`, `ESRCH`, `ENOENT`). A change is
/// announced to `RTNLGRP_IPV4_ROUTE`/`RTNLGRP_IPV6_ROUTE`.
fn change_route(host: &dyn RouteHost, r: &Req<'_>, pid: u32, notes: &mut Notes) -> Result<bool> {
    // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
    if r.body.len() < 12 {
        return Err(Errno::EINVAL);
    }
    let b = r.body;
    let family = u16::from(b[0]);
    let (alen, group, maxp) = match family {
        AF_INET => (4, RTNLGRP_IPV4_ROUTE, 32),
        AF_INET6 => (16, RTNLGRP_IPV6_ROUTE, 128),
        _ => return Err(Errno::EOPNOTSUPP),
    };
    let attrs = &b[12..];
    let u32_attr = |t: u16| -> Result<Option<u32>> {
        match find_attr(attrs, t) {
            None => Ok(None),
            Some(v) if v.len() >= 4 => Ok(Some(u32::from_le_bytes([v[0], v[1], v[2], v[3]]))),
            Some(_) => Err(Errno::EINVAL),
        }
    };
    let addr_attr = |t: u16| -> Result<Option<[u8; 16]>> {
        match find_attr(attrs, t) {
            None => Ok(None),
            Some(v) if v.len() == alen => {
                let mut a = [0u8; 16];
                a[..alen].copy_from_slice(v);
                Ok(Some(a))
            }
            Some(_) => Err(Errno::EINVAL),
        }
    };
    let dst_len = b[1];
    if dst_len > maxp {
        return Err(Errno::EINVAL);
    }
    let table = u32_attr(RTA_TABLE)?.unwrap_or(u32::from(b[4]));
    let (proto, ty) = (b[5], b[7]);
    if (table != 0 && table != u32::from(RT_TABLE_MAIN)) || find_attr(attrs, RTA_VIA).is_some() {
        return Err(Errno::EOPNOTSUPP);
    }
    let add = r.ty == RTM_NEWROUTE;
    // a deletion may leave the type unset; IPv4 routes may also be
    // blackhole, unreachable or prohibit
    let other = family == AF_INET && (RTN_BLACKHOLE..=RTN_PROHIBIT).contains(&ty);
    if ty != RTN_UNICAST && !other && (add || ty != 0) {
        return Err(Errno::EOPNOTSUPP);
    }
    let dst = addr_attr(RTA_DST)?.unwrap_or([0; 16]);
    let gw = addr_attr(RTA_GATEWAY)?;
    let oif = u32_attr(RTA_OIF)?.unwrap_or(0);
    let metric = u32_attr(RTA_PRIORITY)?;
    if oif != 0 && !host.links()?.iter().any(|l| l.index == oif) {
        return Err(Errno::ENODEV);
    }
    let req = Route::new(family, dst, dst_len, oif).with_gateway(gw).with_type(if add { ty } else { 0 });
    // the announcement's flags (fib_table_insert's nlflags, and
    // fib6_add_rt2node's): EXCL|CREATE for a new key, REPLACE for a
    // replacement, CREATE (and APPEND) beside a route of the same key; 0
    // for a deletion
    let mut nlflags = 0;
    let done = if add {
        // ip6_route_add: no metric (or 0) is IP6_RT_PRIO_USER
        let m = match (family, metric) {
            (AF_INET6, None | Some(0)) => 1024,
            (_, m) => m.unwrap_or(0),
        };
        // a replace by the very same route changes nothing and tells nobody
        if r.flags & NLM_F_REPLACE != 0
            && r.flags & NLM_F_EXCL == 0
            && host.routes()?.iter().any(|x| {
                x.family == family
                    && x.dst == dst
                    && x.dst_len == dst_len
                    && x.metric == m
                    && x.gateway == gw
                    && x.ty.max(RTN_UNICAST) == ty
                    && (oif == 0 || x.oif == oif)
            })
        {
            return Ok(false);
        }
        let same_key = host
            .routes()?
            .iter()
            .any(|x| x.family == family && x.dst == dst && x.dst_len == dst_len && x.metric == m);
        nlflags = if !same_key {
            NLM_F_EXCL | NLM_F_CREATE
        } else if r.flags & NLM_F_REPLACE != 0 {
            NLM_F_REPLACE
        } else {
            NLM_F_CREATE | (r.flags & NLM_F_APPEND)
        };
        host.add_route(&req.with_metric(m).with_proto_scope(proto, b[6]), r.flags)?
    } else {
        let m = if family == AF_INET6 { metric.filter(|&m| m != 0) } else { metric };
        host.del_route(&req, m)?
    };
    note(notes, group, Rt::of(&done).msg(r.ty, nlflags, r.seq, pid)?)?;
    Ok(false)
}

/// `::1`.
#[cfg(test)]
const IN6_LOOPBACK: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// The payload of attribute `ty` among `attrs`.
fn find_attr(mut attrs: &[u8], ty: u16) -> Option<&[u8]> {
    while attrs.len() >= 4 {
        let len = usize::from(u16::from_le_bytes([attrs[0], attrs[1]]));
        let t = u16::from_le_bytes([attrs[2], attrs[3]]) & 0x3fff;
        if len < 4 || len > attrs.len() {
            return None;
        }
        if t == ty {
            return Some(&attrs[4..len]);
        }
        attrs = &attrs[align4(len).min(attrs.len())..];
    }
    None
}

/// The `NLMSG_ERROR` answer to `req` (`err` 0: an ack).
fn error_msg(req: &[u8], seq: u32, pid: u32, err: i32, cap: bool) -> Result<Vec<u8>> {
    let full = err != 0 && !cap;
    let mut body = Vec::new();
    let n = if full { req.len() } else { NLMSG_HDRLEN };
    body.try_reserve(4 + n).map_err(|_| Errno::ENOBUFS)?;
    body.extend_from_slice(&err.to_le_bytes());
    body.extend_from_slice(&req[..n]);
    Ok(Msg::new(NLMSG_ERROR, if full { 0 } else { NLM_F_CAPPED }, seq, pid, &body)?.finish())
}

/// Runs a batch of requests as `netlink_rcv_skb` and returns the reply
/// datagrams, the first that fit in a socket's queue, and whether some
/// were dropped (an overrun: `ENOBUFS` for the receiver).
pub fn process(
    host: &dyn RouteHost,
    protocol: u32,
    data: &[u8],
    pid: u32,
    cap_ack: bool,
) -> Result<(Vec<Vec<u8>>, bool)> {
    process_notes(host, protocol, data, pid, cap_ack, &mut Vec::new())
}

/// [`process`] that also returns the multicast notifications of the
/// changes made, as (group, message) in `notes`.
pub fn process_notes(
    host: &dyn RouteHost,
    protocol: u32,
    mut data: &[u8],
    pid: u32,
    cap_ack: bool,
    notes: &mut Vec<(u32, Vec<u8>)>,
) -> Result<(Vec<Vec<u8>>, bool)> {
    let mut dgrams = Vec::new();
    if protocol == NETLINK_KOBJECT_UEVENT {
        return Ok((dgrams, false));
    }
    if protocol == NETLINK_CONNECTOR {
        // cn_rx_skb: the first message only, never an answer to the sender
        if let Some(req) = crate::connector::parse_request(data) {
            host.connector(&req, pid);
        }
        return Ok((dgrams, false));
    }
    let (mut overrun, mut total) = (false, 0usize);
    while data.len() >= NLMSG_HDRLEN {
        let before = dgrams.len();
        let len = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize;
        if len < NLMSG_HDRLEN || len > data.len() {
            break;
        }
        let ty = u16::from_le_bytes([data[4], data[5]]);
        let flags = u16::from_le_bytes([data[6], data[7]]);
        let seq = u32::from_le_bytes([data[8], data[9], data[10], data[11]]);
        let req = Req { ty, flags, seq, body: &data[NLMSG_HDRLEN..len] };
        let mut out = Vec::new();
        let res = if flags & NLM_F_REQUEST == 0 || ty < NLMSG_MIN_TYPE {
            Ok(None)
        } else if protocol == NETLINK_SOCK_DIAG {
            let dump = flags & NLM_F_DUMP != 0;
            let mut o =
                DiagOut { msgs: &mut out, cur: None, flags: if dump { NLM_F_MULTI } else { 0 }, seq, pid };
            let r = crate::sock_diag::request(host, ty, dump, req.body, &mut o);
            o.flush();
            match r {
                Ok(Answer::Dump(e)) => Ok(Some(e)),
                Ok(Answer::Done) => Ok(None),
                Err(e) => Err(e),
            }
        } else {
            route(host, &req, pid, &mut out, notes).map(|d| d.then_some(0))
        };
        dgrams.try_reserve(2).map_err(|_| Errno::ENOBUFS)?;
        match res {
            Ok(Some(done_errno)) => {
                let done = Msg::new(NLMSG_DONE, NLM_F_MULTI, seq, pid, &done_errno.to_le_bytes())?.finish();
                out.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
                out.push(done);
                // pack the dump into datagrams of at most DUMP_CHUNK bytes
                let mut cur: Vec<u8> = Vec::new();
                for m in out {
                    if !cur.is_empty() && cur.len() + m.len() > DUMP_CHUNK {
                        dgrams.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
                        dgrams.push(core::mem::take(&mut cur));
                    }
                    cur.try_reserve(m.len()).map_err(|_| Errno::ENOBUFS)?;
                    cur.extend_from_slice(&m);
                }
                dgrams.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
                dgrams.push(cur);
            }
            Ok(None) => {
                dgrams.extend(out);
                if flags & NLM_F_ACK != 0 {
                    dgrams.push(error_msg(&data[..len], seq, pid, 0, cap_ack)?);
                }
            }
            Err(e) => dgrams.push(error_msg(&data[..len], seq, pid, -e.as_i32(), cap_ack)?),
        }
        data = &data[align4(len).min(data.len())..];
        // beyond what the socket could queue the replies are dropped (the
        // requests still run), so a batch's memory stays bounded
        total += dgrams[before..].iter().map(Vec::len).sum::<usize>();
        while total > RCVBUF {
            total -= dgrams.pop().map_or(total, |d| d.len());
            overrun = true;
        }
    }
    Ok((dgrams, overrun))
}

/// Collects sock_diag answers as netlink messages.
struct DiagOut<'a> {
    msgs: &'a mut Vec<Vec<u8>>,
    cur: Option<Msg>,
    flags: u16,
    seq: u32,
    pid: u32,
}

impl DiagOut<'_> {
    fn flush(&mut self) {
        if let Some(m) = self.cur.take() {
            // room was reserved in begin
            self.msgs.push(m.finish());
        }
    }
}

impl crate::sock_diag::Out for DiagOut<'_> {
    fn begin(&mut self, body: &[u8]) -> Result<()> {
        self.flush();
        self.msgs.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
        self.cur =
            Some(Msg::new(crate::sock_diag::SOCK_DIAG_BY_FAMILY, self.flags, self.seq, self.pid, body)?);
        Ok(())
    }
    fn attr(&mut self, ty: u16, d: &[u8]) -> Result<()> {
        match &mut self.cur {
            Some(m) => m.attr(ty, d),
            None => Err(Errno::EINVAL),
        }
    }
}

impl<E: NetEnv> NetlinkSocket<E> {
    /// A datagram the kernel sends on its own (Linux's `netlink_sendskb`:
    /// POSIX message queues' `SIGEV_THREAD` cookie): queued for recvmsg
    /// and the readers woken; dropped when the receive buffer is full or
    /// memory is short (`false`).
    pub fn deliver(&self, data: &[u8]) -> bool {
        let mut st = self.st.lock();
        let mut d = Vec::new();
        if st.queued + data.len() > RCVBUF
            || st.queue.try_reserve(1).is_err()
            || d.try_reserve_exact(data.len()).is_err()
        {
            return false;
        }
        d.extend_from_slice(data);
        st.queued += d.len();
        st.queue.push_back(d);
        drop(st);
        self.wake();
        true
    }

    fn wake(&self) {
        self.events.fetch_add(1, Ordering::AcqRel);
        self.waker.wake();
    }

    /// Changes the socket's groups to `g` (`membership` held by the
    /// caller, `st` given locked) and its entry in the namespace's list;
    /// when the list cannot follow (ENOMEM) the groups are as before.
    fn change_groups(&self, mut st: spin::MutexGuard<'_, State>, g: u64) -> Result<()> {
        let old = st.groups;
        if g == old {
            return Ok(());
        }
        st.groups = g;
        drop(st);
        if let Err(e) = self.join(g) {
            self.st.lock().groups = old;
            return Err(e);
        }
        Ok(())
    }

    /// Puts the socket in the namespace's list of group members.
    fn join(&self, groups: u64) -> Result<()> {
        let me: alloc::sync::Weak<dyn Listener> = self.me.clone();
        self.host.ports().set_groups(self.protocol, groups, me)
    }

    /// The port id, binding to the caller's tgid as its own PID namespace
    /// numbers it ([`crate::socket::Caller::ns_pid`]; or a negative id when
    /// that is taken) first if there is none (`netlink_autobind`).
    fn autobind(&self, st: &mut State, tgid: u32) -> Result<u32> {
        if let Some(p) = st.portid {
            return Ok(p);
        }
        let mut ports = self.host.ports().set.lock();
        let mut p = tgid;
        if ports.contains(&(self.protocol, p)) {
            let mut r = self.host.ports().rover.lock();
            loop {
                p = *r as u32;
                *r = if *r == i32::MIN { -4097 } else { *r - 1 };
                if !ports.contains(&(self.protocol, p)) {
                    break;
                }
            }
        }
        ports.insert((self.protocol, p));
        st.portid = Some(p);
        Ok(p)
    }
}

impl<E: NetEnv> Listener for NetlinkSocket<E> {
    fn notify(&self, msg: &[u8]) -> bool {
        // do_one_broadcast: a socket without a port id is skipped
        if self.st.lock().portid.is_none() {
            return false;
        }
        let ok = self.deliver(msg);
        if !ok {
            self.st.lock().err = Some(Errno::ENOBUFS);
            self.wake();
        }
        ok
    }
}

impl<E: NetEnv> Socket<E> for NetlinkSocket<E> {
    fn domain(&self) -> u16 {
        AF_NETLINK
    }
    fn sock_type(&self) -> u32 {
        self.ty
    }
    fn protocol(&self) -> u32 {
        self.protocol
    }
    fn waker(&self) -> &E::Waker {
        &self.waker
    }
    fn event_count(&self) -> u64 {
        self.events.load(Ordering::Acquire)
    }
    fn poll(&self) -> u32 {
        let st = self.st.lock();
        let mut m = EPOLLOUT | EPOLLWRNORM;
        if !st.queue.is_empty() {
            m |= EPOLLIN | EPOLLRDNORM;
        }
        if st.err.is_some() {
            m |= EPOLLERR;
        }
        m
    }

    fn bind(&self, cx: &mut dyn Resolver, addr: &[u8]) -> Result<()> {
        let (pid, groups) = parse_nl(addr)?;
        // netlink_bind: a group of a protocol without NL_CFG_F_NONROOT_RECV
        // (the connector's) needs CAP_NET_ADMIN
        if groups != 0 && self.protocol == NETLINK_CONNECTOR && !self.host.net_admin() {
            return Err(Errno::EPERM);
        }
        let _membership = self.membership.lock();
        let mut st = self.st.lock();
        if let Some(p) = st.portid {
            if pid != 0 && pid != p {
                return Err(Errno::EINVAL);
            }
        } else if pid == 0 {
            let tgid = cx.caller().ns_pid;
            self.autobind(&mut st, tgid)?;
        } else {
            let mut ports = self.host.ports().set.lock();
            if !ports.insert((self.protocol, pid)) {
                return Err(Errno::EADDRINUSE);
            }
            st.portid = Some(pid);
        }
        // the first 32 groups are the address's (netlink_bind)
        let g = (st.groups & !0xffff_ffff) | u64::from(groups);
        self.change_groups(st, g)
    }

    fn listen(&self, _cx: &mut dyn Resolver, _backlog: u32) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }
    fn accept(&self, _cx: &mut dyn Resolver) -> Result<Arc<dyn Socket<E>>> {
        Err(Errno::EOPNOTSUPP)
    }

    fn connect(&self, cx: &mut dyn Resolver, addr: &[u8], _nonblock: bool) -> Result<()> {
        if addr.len() >= 2 && u16::from_le_bytes([addr[0], addr[1]]) == AF_UNSPEC {
            self.st.lock().dst = 0;
            return Ok(());
        }
        // netlink_connect: any port (whether it exists shows at send time)
        let (pid, _) = parse_nl(addr)?;
        let mut st = self.st.lock();
        self.autobind(&mut st, cx.caller().ns_pid)?;
        st.dst = pid;
        Ok(())
    }

    fn sendmsg(&self, cx: &mut dyn Resolver, msg: &mut SendMsg<'_, E>) -> Result<usize> {
        if msg.flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        if let Some(a) = msg.addr {
            let (pid, groups) = parse_nl(a)?;
            if groups != 0 && !self.host.net_admin() {
                return Err(Errno::EPERM);
            }
            if pid != 0 {
                return Err(Errno::ECONNREFUSED);
            }
        } else if self.st.lock().dst != 0 {
            return Err(Errno::ECONNREFUSED);
        }
        if msg.data.len() > BUF_DEFAULT as usize - 32 {
            return Err(Errno::EMSGSIZE);
        }
        let (pid, cap) = {
            let mut st = self.st.lock();
            (self.autobind(&mut st, cx.caller().ns_pid)?, st.cap_ack)
        };
        let mut notes = Vec::new();
        let (replies, overrun) =
            match process_notes(&*self.host, self.protocol, msg.data, pid, cap, &mut notes) {
                Ok(r) => r,
                // as an overrun: the socket's error, the send succeeds
                Err(_) => (Vec::new(), true),
            };
        // (rtnl_notify during the request: before its ack)
        for (g, m) in notes {
            self.host.ports().broadcast(self.protocol, g, &m);
        }
        if !replies.is_empty() || overrun {
            let mut st = self.st.lock();
            if overrun {
                st.err = Some(Errno::ENOBUFS);
            }
            for r in replies {
                if st.queued + r.len() > RCVBUF || st.queue.try_reserve(1).is_err() {
                    st.err = Some(Errno::ENOBUFS);
                    break;
                }
                st.queued += r.len();
                st.queue.push_back(r);
            }
            drop(st);
            self.wake();
        }
        Ok(msg.data.len())
    }

    fn recvmsg(&self, _cx: &mut dyn Resolver, buf: &mut [u8], flags: u32) -> Result<RecvMsg<E>> {
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut st = self.st.lock();
        if let Some(e) = st.err.take() {
            return Err(e);
        }
        let peek = flags & MSG_PEEK != 0;
        let d = st.queue.front().ok_or(Errno::EAGAIN)?;
        let full = d.len();
        let n = full.min(buf.len());
        buf[..n].copy_from_slice(&d[..n]);
        if !peek {
            st.queue.pop_front();
            st.queued -= full;
        }
        drop(st);
        let mut r = RecvMsg::empty();
        r.len = n;
        r.ret = n;
        if full > n {
            r.flags |= MSG_TRUNC;
            if flags & MSG_TRUNC != 0 {
                r.ret = full;
            }
        }
        r.addr = Some(sockaddr_nl(0, 0));
        Ok(r)
    }

    fn shutdown(&self, _how: u32) -> Result<()> {
        Ok(())
    }

    fn getsockname(&self) -> Result<SockAddrBuf> {
        Ok(sockaddr_nl(self.st.lock().portid.unwrap_or(0), 0))
    }

    fn getpeername(&self) -> Result<SockAddrBuf> {
        Ok(sockaddr_nl(self.st.lock().dst, 0))
    }

    fn setsockopt(&self, _cx: &mut dyn Resolver, level: i32, name: i32, val: &[u8]) -> Result<()> {
        match level {
            SOL_SOCKET => Ok(()),
            SOL_NETLINK => {
                let v = opt_int(val)?;
                match name {
                    NETLINK_CAP_ACK => self.st.lock().cap_ack = v != 0,
                    NETLINK_ADD_MEMBERSHIP | NETLINK_DROP_MEMBERSHIP => {
                        // netlink_setsockopt: groups 1..=ngroups; no autobind
                        // (an unbound member gets nothing: do_one_broadcast
                        // skips port 0)
                        // (netlink_kernel_create: at least 32 for every
                        // protocol)
                        let ngroups = if self.protocol == NETLINK_ROUTE { RTNLGRP_MAX } else { 32 };
                        if self.protocol == NETLINK_CONNECTOR && !self.host.net_admin() {
                            return Err(Errno::EPERM);
                        }
                        if val.len() < 4 || v == 0 || v as u32 > ngroups {
                            return Err(Errno::EINVAL);
                        }
                        let bit = 1u64 << (v as u32 - 1);
                        let _membership = self.membership.lock();
                        let st = self.st.lock();
                        let g =
                            if name == NETLINK_ADD_MEMBERSHIP { st.groups | bit } else { st.groups & !bit };
                        self.change_groups(st, g)?;
                    }
                    // NETLINK_PKTINFO .. NETLINK_GET_STRICT_CHK: accepted
                    3 | 5 | 8 | 11 | 12 => {}
                    _ => return Err(Errno::ENOPROTOOPT),
                }
                Ok(())
            }
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn getsockopt(&self, level: i32, name: i32, buf: &mut [u8]) -> Result<usize> {
        match (level, name) {
            (SOL_SOCKET, SO_TYPE) => Ok(put_int(buf, self.ty as i32)),
            (SOL_SOCKET, SO_PROTOCOL) => Ok(put_int(buf, self.protocol as i32)),
            (SOL_SOCKET, SO_DOMAIN) => Ok(put_int(buf, i32::from(AF_NETLINK))),
            (SOL_SOCKET, SO_ERROR) => Ok(put_int(buf, self.st.lock().err.take().map_or(0, |e| e.as_i32()))),
            (SOL_SOCKET, SO_SNDBUF | SO_RCVBUF) => Ok(put_int(buf, BUF_DEFAULT)),
            (SOL_NETLINK, NETLINK_CAP_ACK) => Ok(put_int(buf, i32::from(self.st.lock().cap_ack))),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn inq(&self) -> Result<usize> {
        Ok(self.st.lock().queue.front().map_or(0, Vec::len))
    }
    fn outq(&self) -> Result<usize> {
        Ok(0)
    }

    fn release(&self) {
        let _membership = self.membership.lock();
        let (p, g) = {
            let mut st = self.st.lock();
            (st.portid.take(), core::mem::take(&mut st.groups))
        };
        if let Some(p) = p {
            self.host.ports().set.lock().remove(&(self.protocol, p));
        }
        if g != 0 {
            let _ = self.join(0);
        }
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    struct Host(Mutex<Vec<Link>>, bool, Ports, Mutex<Vec<Route>>);

    impl RouteHost for Host {
        fn add_addr(&self, index: u32, addr: &[u8], prefix: u8, flags: u16) -> Result<bool> {
            let mut v = self.0.lock();
            let l = v.iter_mut().find(|l| l.index == index).ok_or(Errno::ENODEV)?;
            if addr.len() == 4 {
                let a: [u8; 4] = addr.try_into().unwrap();
                if l.ipv4.contains(&(a, prefix)) {
                    return if flags & NLM_F_EXCL != 0 || flags & NLM_F_REPLACE == 0 {
                        Err(Errno::EEXIST)
                    } else {
                        Ok(false)
                    };
                }
                l.ipv4.push((a, prefix));
            } else {
                l.ipv6.push((addr.try_into().unwrap(), prefix));
            }
            Ok(true)
        }
        fn del_addr(
            &self,
            index: u32,
            family: u16,
            local: Option<&[u8]>,
            prefix: Option<u8>,
        ) -> Result<([u8; 16], u8)> {
            let mut v = self.0.lock();
            let l = v.iter_mut().find(|l| l.index == index).ok_or(Errno::ENODEV)?;
            assert_eq!(family, AF_INET);
            let i = l
                .ipv4
                .iter()
                .position(|(a, p)| local.is_none_or(|x| x == a) && prefix.is_none_or(|q| q == *p))
                .ok_or(Errno::EADDRNOTAVAIL)?;
            let (a, p) = l.ipv4.remove(i);
            let mut o = [0u8; 16];
            o[..4].copy_from_slice(&a);
            Ok((o, p))
        }
        fn routes(&self) -> Result<Vec<Route>> {
            Ok(self.3.lock().clone())
        }
        fn add_route(&self, r: &Route, flags: u16) -> Result<Route> {
            let mut v = self.3.lock();
            if v.iter().any(|x| x.dst == r.dst && x.dst_len == r.dst_len) && flags & NLM_F_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            let mut r = *r;
            if r.oif == 0 {
                r.oif = 2;
            }
            v.push(r);
            Ok(r)
        }
        fn del_route(&self, r: &Route, metric: Option<u32>) -> Result<Route> {
            let mut v = self.3.lock();
            let i = v
                .iter()
                .position(|x| {
                    x.dst == r.dst && x.dst_len == r.dst_len && metric.is_none_or(|m| m == x.metric)
                })
                .ok_or(Errno::ESRCH)?;
            Ok(v.remove(i))
        }
        fn ports(&self) -> &Ports {
            &self.2
        }
        fn links(&self) -> Result<Vec<Link>> {
            Ok(self.0.lock().clone())
        }
        fn set_up(&self, index: u32, up: bool) -> Result<()> {
            let mut v = self.0.lock();
            let l = v.iter_mut().find(|l| l.index == index).ok_or(Errno::ENODEV)?;
            l.flags = if up { l.flags | IFF_UP | IFF_RUNNING } else { l.flags & !(IFF_UP | IFF_RUNNING) };
            Ok(())
        }
        fn net_admin(&self) -> bool {
            self.1
        }
        fn diag_inet(&self, family: u16, protocol: u8) -> Result<Vec<InetDiag>> {
            let mk = |state: u8, sport: u16, dport: u16, ino: u32| {
                let mut dst = [0u8; 16];
                if dport != 0 {
                    dst[..4].copy_from_slice(&[127, 0, 0, 1]);
                }
                let mut src = [0u8; 16];
                src[..4].copy_from_slice(&[127, 0, 0, 1]);
                InetDiag {
                    family: AF_INET,
                    protocol: crate::sock_diag::IPPROTO_TCP,
                    state,
                    src,
                    sport,
                    dst,
                    dport,
                    wqueue: if state == 10 { 128 } else { 0 },
                    ino,
                    info: vec![state; 232],
                    ..Default::default()
                }
            };
            if family != AF_INET || protocol != crate::sock_diag::IPPROTO_TCP {
                return Ok(Vec::new());
            }
            Ok(vec![mk(10, 7777, 0, 100), mk(1, 40000, 7777, 101), mk(1, 7777, 40000, 102)])
        }
        fn diag_unix(&self) -> Result<Vec<UnixDiagSock>> {
            let l = UnixDiagSock {
                ty: 1,
                state: 10,
                ino: 200,
                name: Some(b"/tmp/xs\0".to_vec()),
                vfs: Some((55, 0x801)),
                wqueue: 5,
                ..Default::default()
            };
            let c =
                UnixDiagSock { ty: 1, state: 1, ino: 201, peer: Some(202), rqueue: 3, ..Default::default() };
            Ok(vec![l, c])
        }
    }

    #[test]
    fn kernel_datagrams_are_queued_for_recvmsg() {
        use crate::testing::{FakeEnv, FakeResolver};
        let s = create::<FakeEnv>(SOCK_RAW, NETLINK_ROUTE as i32, Default::default(), Arc::new(host(false)))
            .unwrap();
        let mut cx = FakeResolver::default();
        let mut b = [0u8; 64];
        assert_eq!(s.recvmsg(&mut cx, &mut b, 0).err(), Some(Errno::EAGAIN));
        let mut cookie = [3u8; 32];
        cookie[31] = 1;
        assert!(s.deliver(&cookie));
        assert_eq!(s.poll() & EPOLLIN, EPOLLIN);
        let r = s.recvmsg(&mut cx, &mut b, 0).unwrap();
        assert_eq!((r.len, &b[..32]), (32, &cookie[..]));
        // past the receive buffer a kernel datagram is dropped
        let big = vec![0u8; RCVBUF];
        assert!(s.deliver(&big));
        assert!(!s.deliver(&cookie));
    }

    #[test]
    fn uevent_sockets_bind_and_drop_what_is_sent() {
        use crate::testing::{FakeEnv, FakeResolver};
        let h = Arc::new(host(false));
        let s = create::<FakeEnv>(SOCK_RAW, NETLINK_KOBJECT_UEVENT as i32, Default::default(), h.clone())
            .unwrap();
        assert_eq!(
            create::<FakeEnv>(SOCK_RAW, 14, Default::default(), h).err(),
            Some(Errno::EPROTONOSUPPORT)
        );
        let mut cx = FakeResolver::default();
        s.bind(&mut cx, sockaddr_nl(0, 1).as_bytes()).unwrap();
        let r = process(
            &host(false),
            NETLINK_KOBJECT_UEVENT,
            &req(RTM_GETLINK, NLM_F_REQUEST, 1, &[0; 16]),
            9,
            false,
        );
        assert_eq!(r, Ok((Vec::new(), false)));
        let mut b = [0u8; 64];
        assert_eq!(s.recvmsg(&mut cx, &mut b, 0).err(), Some(Errno::EAGAIN));
    }

    fn host(admin: bool) -> Host {
        let lo = Link {
            index: 1,
            name: "lo".to_string(),
            flags: IFF_UP | IFF_LOOPBACK | IFF_RUNNING,
            mtu: 65536,
            mac: [0; 6],
            loopback: true,
            ipv4: vec![([127, 0, 0, 1], 8)],
            ipv6: vec![([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 128)],
            gw4: None,
        };
        Host(Mutex::new(vec![lo]), admin, Ports::new(), Mutex::new(Vec::new()))
    }

    fn process_(h: &Host, d: &[u8], pid: u32, cap: bool) -> Result<Vec<Vec<u8>>> {
        process(h, NETLINK_ROUTE, d, pid, cap).map(|(r, _)| r)
    }

    fn req(ty: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
        Msg::new(ty, flags, seq, 0, body).unwrap().finish()
    }

    fn msgs(d: &[u8]) -> Vec<(u16, u16, u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut d = d;
        while d.len() >= 16 {
            let len = u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize;
            let ty = u16::from_le_bytes([d[4], d[5]]);
            let fl = u16::from_le_bytes([d[6], d[7]]);
            let pid = u32::from_le_bytes([d[12], d[13], d[14], d[15]]);
            out.push((ty, fl, pid, d[16..len].to_vec()));
            d = &d[align4(len).min(d.len())..];
        }
        out
    }

    #[test]
    fn link_dump_then_done() {
        let h = host(false);
        let r =
            process_(&h, &req(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 7, &[0u8; 16]), 42, false).unwrap();
        assert_eq!(r.len(), 1);
        let m = msgs(&r[0]);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].0, m[0].1, m[0].2), (RTM_NEWLINK, NLM_F_MULTI, 42));
        assert_eq!(u32::from_le_bytes(m[0].3[8..12].try_into().unwrap()), 0x10049);
        assert_eq!(find_attr(&m[0].3[16..], IFLA_IFNAME), Some(&b"lo\0"[..]));
        assert_eq!(find_attr(&m[0].3[16..], IFLA_MTU), Some(&65536u32.to_le_bytes()[..]));
        assert_eq!((m[1].0, m[1].1, &m[1].3[..]), (NLMSG_DONE, NLM_F_MULTI, &[0u8; 4][..]));
    }

    #[test]
    fn link_qdisc_group_and_limits() {
        let h = host(false);
        let r =
            process_(&h, &req(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 7, &[0u8; 16]), 42, false).unwrap();
        let m = msgs(&r[0]);
        let a = &m[0].3[16..];
        assert_eq!(find_attr(a, IFLA_QDISC), Some(&b"noqueue\0"[..]));
        assert_eq!(find_attr(a, IFLA_GROUP), Some(&0u32.to_le_bytes()[..]));
        assert_eq!(find_attr(a, IFLA_MAX_MTU), Some(&0u32.to_le_bytes()[..]));
        assert_eq!(find_attr(a, IFLA_NUM_TX_QUEUES), Some(&1u32.to_le_bytes()[..]));
        h.set_up(1, false).unwrap();
        let r =
            process_(&h, &req(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 7, &[0u8; 16]), 42, false).unwrap();
        let m = msgs(&r[0]);
        assert_eq!(find_attr(&m[0].3[16..], IFLA_QDISC), Some(&b"noop\0"[..]));
    }

    fn diag(h: &Host, ty: u16, flags: u16, body: &[u8]) -> Vec<(u16, u16, u32, Vec<u8>)> {
        let (r, over) = process(h, NETLINK_SOCK_DIAG, &req(ty, flags, 9, body), 42, false).unwrap();
        assert!(!over);
        r.iter().flat_map(|d| msgs(d)).collect()
    }

    fn inet_req(family: u8, proto: u8, states: u32, sport: u16, dport: u16) -> Vec<u8> {
        let mut b = vec![0u8; crate::sock_diag::INET_REQ_LEN];
        b[0] = family;
        b[1] = proto;
        b[4..8].copy_from_slice(&states.to_le_bytes());
        b[8..10].copy_from_slice(&sport.to_be_bytes());
        b[10..12].copy_from_slice(&dport.to_be_bytes());
        b
    }

    #[test]
    fn inet_diag_dump_and_filters() {
        use crate::sock_diag::*;
        let h = host(false);
        let dump = NLM_F_REQUEST | NLM_F_DUMP;
        let m = diag(&h, SOCK_DIAG_BY_FAMILY, dump, &inet_req(2, IPPROTO_TCP, !0, 0, 0));
        assert_eq!(m.len(), 4);
        assert!(m[..3].iter().all(|x| x.0 == SOCK_DIAG_BY_FAMILY && x.1 == NLM_F_MULTI && x.2 == 42));
        let l = &m[0].3;
        // family, state, timer, retrans; sport 7777 and dport 0 in network order
        assert_eq!(&l[..8], &[2, 10, 0, 0, 0x1e, 0x61, 0, 0]);
        assert_eq!(&l[8..12], &[127, 0, 0, 1]);
        assert_eq!(&l[24..28], &[0; 4]);
        // rqueue, wqueue, uid, inode
        assert_eq!(&l[56..72], &[0, 0, 0, 0, 128, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0]);
        assert_eq!(find_attr(&l[72..], INET_DIAG_SHUTDOWN), Some(&[0u8][..]));
        assert_eq!(find_attr(&l[72..], INET_DIAG_MARK), None);
        assert_eq!(find_attr(&l[72..], INET_DIAG_INFO), None);
        assert_eq!((m[3].0, &m[3].3[..]), (NLMSG_DONE, &[0u8; 4][..]));
        // idiag_ext asks for INET_DIAG_INFO: struct tcp_info follows
        let mut req = inet_req(2, IPPROTO_TCP, !0, 0, 0);
        req[2] = 1 << (INET_DIAG_INFO - 1);
        let m = diag(&h, SOCK_DIAG_BY_FAMILY, dump, &req);
        assert_eq!(find_attr(&m[1].3[72..], INET_DIAG_INFO), Some(&[1u8; 232][..]));
        // states: listeners only; ports: the established with dport 7777
        let m = diag(&h, SOCK_DIAG_BY_FAMILY, dump, &inet_req(2, IPPROTO_TCP, 1 << 10, 0, 0));
        assert_eq!(m.len(), 2);
        let m = diag(&h, SOCK_DIAG_BY_FAMILY, dump, &inet_req(2, IPPROTO_TCP, !0, 0, 7777));
        assert_eq!(m.len(), 3);
        assert_eq!(&m[1].3[68..72], &101u32.to_le_bytes());
        // an unknown protocol ends the dump with -ENOENT
        let m = diag(&h, SOCK_DIAG_BY_FAMILY, dump, &inet_req(2, 99, !0, 0, 0));
        assert_eq!((m.len(), m[0].0, &m[0].3[..]), (1, NLMSG_DONE, &(-2i32).to_le_bytes()[..]));
        // an exact look-up: one message without NLM_F_MULTI
        let mut r = inet_req(2, IPPROTO_TCP, !0, 40000, 7777);
        r[12..16].copy_from_slice(&[127, 0, 0, 1]);
        r[28..32].copy_from_slice(&[127, 0, 0, 1]);
        r[48..56].copy_from_slice(&[0xff; 8]);
        let m = diag(&h, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, &r);
        assert_eq!((m.len(), m[0].0, m[0].1), (1, SOCK_DIAG_BY_FAMILY, 0));
        r[8] = 1;
        let m = diag(&h, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, &r);
        assert_eq!((m[0].0, &m[0].3[..4]), (NLMSG_ERROR, &(-2i32).to_le_bytes()[..]));
    }

    #[test]
    fn sock_diag_errors() {
        use crate::sock_diag::*;
        let h = host(false);
        let dump = NLM_F_REQUEST | NLM_F_DUMP;
        let err = |ty: u16, body: &[u8]| {
            let m = diag(&h, ty, dump, body);
            assert_eq!(m[0].0, NLMSG_ERROR);
            i32::from_le_bytes(m[0].3[..4].try_into().unwrap())
        };
        assert_eq!(err(22, &inet_req(2, 6, !0, 0, 0)), -22);
        assert_eq!(err(SOCK_DIAG_BY_FAMILY, &[2]), -22);
        assert_eq!(err(SOCK_DIAG_BY_FAMILY, &inet_req(46, 6, !0, 0, 0)), -22);
        assert_eq!(err(SOCK_DIAG_BY_FAMILY, &inet_req(3, 6, !0, 0, 0)), -2);
        assert_eq!(err(SOCK_DIAG_BY_FAMILY, &inet_req(2, 6, !0, 0, 0)[..20]), -22);
        assert_eq!(err(SOCK_DIAG_BY_FAMILY, &[1; 20]), -22);
        assert_eq!(err(SOCK_DESTROY, &inet_req(2, 6, !0, 0, 0)), -95);
        assert_eq!(err(TCPDIAG_GETSOCK, &inet_req(2, 6, !0, 0, 0)), -95);
    }

    #[test]
    fn unix_diag_show_and_states() {
        use crate::sock_diag::*;
        let h = host(false);
        let mut r = vec![0u8; UNIX_REQ_LEN];
        r[0] = 1;
        r[4..8].copy_from_slice(&(!0u32).to_le_bytes());
        let show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_ICONS;
        r[12..16].copy_from_slice(&show.to_le_bytes());
        let m = diag(&h, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, &r);
        assert_eq!(m.len(), 3);
        let l = &m[0].3;
        assert_eq!(&l[..8], &[1, 1, 10, 0, 200, 0, 0, 0]);
        let a = &l[16..];
        assert_eq!(find_attr(a, UNIX_DIAG_NAME), Some(&b"/tmp/xs\0"[..]));
        assert_eq!(find_attr(a, UNIX_DIAG_VFS), Some(&[55, 0, 0, 0, 1, 8, 0, 0][..]));
        assert_eq!(find_attr(a, UNIX_DIAG_PEER), None);
        assert_eq!(find_attr(a, UNIX_DIAG_ICONS), Some(&[][..]));
        assert_eq!(find_attr(a, UNIX_DIAG_RQLEN), Some(&[0, 0, 0, 0, 5, 0, 0, 0][..]));
        assert_eq!(find_attr(a, UNIX_DIAG_SHUTDOWN), Some(&[0u8][..]));
        assert_eq!(find_attr(a, UNIX_DIAG_UID), None);
        let a = &m[1].3[16..];
        assert_eq!(find_attr(a, UNIX_DIAG_NAME), None);
        assert_eq!(find_attr(a, UNIX_DIAG_PEER), Some(&202u32.to_le_bytes()[..]));
        assert_eq!(find_attr(a, UNIX_DIAG_ICONS), None);
        // states: TCP_ESTABLISHED only; show nothing: the shutdown alone
        r[4..8].copy_from_slice(&2u32.to_le_bytes());
        r[12..16].copy_from_slice(&0u32.to_le_bytes());
        let m = diag(&h, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, &r);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].3.len(), 16 + 8);
        // by inode: 0 is EINVAL, an unknown one ENOENT
        r[8..12].copy_from_slice(&0u32.to_le_bytes());
        let m = diag(&h, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, &r);
        assert_eq!(&m[0].3[..4], &(-22i32).to_le_bytes());
        r[8..12].copy_from_slice(&999u32.to_le_bytes());
        let m = diag(&h, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, &r);
        assert_eq!(&m[0].3[..4], &(-2i32).to_le_bytes());
    }

    #[test]
    fn addr_dump_by_family() {
        let h = host(false);
        let r = process_(&h, &req(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, &[AF_INET as u8]), 5, false)
            .unwrap();
        let m = msgs(&r[0]);
        assert_eq!(m.len(), 2);
        assert_eq!(&m[0].3[..4], &[2, 8, IFA_F_PERMANENT, 254]);
        assert_eq!(find_attr(&m[0].3[8..], IFA_LOCAL), Some(&[127u8, 0, 0, 1][..]));
        assert_eq!(find_attr(&m[0].3[8..], IFA_LABEL), Some(&b"lo\0"[..]));
        let r = process_(&h, &req(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, &[0]), 5, false).unwrap();
        assert_eq!(msgs(&r[0]).len(), 3);
    }

    #[test]
    fn acks_and_errors() {
        let h = host(false);
        // ack of a no-op: the header only, capped
        let q = req(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 9, &[]);
        let r = process_(&h, &q, 3, false).unwrap();
        let m = msgs(&r[0]);
        assert_eq!((m[0].0, m[0].1), (NLMSG_ERROR, NLM_F_CAPPED));
        assert_eq!(&m[0].3[..4], &0i32.to_le_bytes());
        assert_eq!(&m[0].3[4..], &q[..]);
        // unknown type: EOPNOTSUPP with the whole request
        let q = req(200, NLM_F_REQUEST, 1, &[0u8; 8]);
        let m = msgs(&process_(&h, &q, 3, false).unwrap()[0]);
        assert_eq!((m[0].0, m[0].1), (NLMSG_ERROR, 0));
        assert_eq!(&m[0].3[..4], &(-95i32).to_le_bytes());
        assert_eq!(m[0].3.len(), 4 + q.len());
        // a change without CAP_NET_ADMIN: EPERM
        let m = msgs(&process_(&h, &req(RTM_NEWLINK, NLM_F_REQUEST, 1, &[0u8; 16]), 3, false).unwrap()[0]);
        assert_eq!(&m[0].3[..4], &(-1i32).to_le_bytes());
        // no request flag and no ack: nothing; a bad length ends the batch
        assert!(process_(&h, &req(RTM_GETLINK, NLM_F_DUMP, 1, &[0]), 3, false).unwrap().is_empty());
        let mut q = req(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, &[0]);
        q[0] = 15;
        assert!(process_(&h, &q, 3, false).unwrap().is_empty());
    }

    fn with_eth(h: &Host) {
        h.0.lock().push(Link {
            index: 2,
            name: "eth0".to_string(),
            flags: IFF_UP | IFF_RUNNING,
            mtu: 1500,
            ipv4: vec![([10, 0, 2, 15], 24)],
            ..Link::default()
        });
        let mut gw = [0u8; 16];
        gw[..4].copy_from_slice(&[10, 0, 2, 2]);
        h.3.lock().push(Route::new(AF_INET, [0; 16], 0, 2).with_gateway(Some(gw)).with_proto_scope(3, 0));
    }

    #[test]
    fn route_dump() {
        let h = host(false);
        with_eth(&h);
        let r =
            process_(&h, &req(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 1, &[AF_INET as u8; 12]), 5, false)
                .unwrap();
        let m = msgs(&r[0]);
        // main: default via 10.0.2.2, 10.0.2.0/24; local: lo's 127.0.0.0/8,
        // 127.0.0.1, 127.255.255.255, eth0's 10.0.2.15 and 10.0.2.255
        assert_eq!(m.len(), 8);
        assert_eq!(&m[0].3[..8], &[2, 0, 0, 0, 254, 3, 0, 1]);
        assert_eq!(find_attr(&m[0].3[12..], RTA_GATEWAY), Some(&[10u8, 0, 2, 2][..]));
        assert_eq!(find_attr(&m[0].3[12..], RTA_PRIORITY), None);
        assert_eq!(&m[1].3[..8], &[2, 24, 0, 0, 254, 2, 253, 1]);
        assert_eq!(&m[2].3[..8], &[2, 8, 0, 0, 255, 2, 254, 2]);
        assert_eq!(&m[3].3[..8], &[2, 32, 0, 0, 255, 2, 254, 2]);
        assert_eq!(find_attr(&m[3].3[12..], RTA_DST), Some(&[127u8, 0, 0, 1][..]));
        assert_eq!(m[7].0, NLMSG_DONE);
        // lo down: its two host-scope local routes stay, its broadcast goes
        h.set_up(1, false).unwrap();
        let r =
            process_(&h, &req(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 1, &[AF_INET as u8; 12]), 5, false)
                .unwrap();
        let m = msgs(&r[0]);
        assert_eq!(m.len(), 7);
        assert_eq!(&m[2].3[..8], &[2, 8, 0, 0, 255, 2, 254, 2]);
        assert_eq!(&m[3].3[..8], &[2, 32, 0, 0, 255, 2, 254, 2]);
        assert_eq!(find_attr(&m[4].3[12..], RTA_DST), Some(&[10u8, 0, 2, 15][..]));
        h.set_up(1, true).unwrap();
        // IPv6: ::1/128's prefix route, metric 256, pref medium
        let r =
            process_(&h, &req(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 1, &[AF_INET6 as u8; 12]), 5, false)
                .unwrap();
        let m = msgs(&r[0]);
        assert_eq!(m.len(), 2);
        assert_eq!(&m[0].3[..8], &[10, 128, 0, 0, 254, 2, 0, 1]);
        assert_eq!(find_attr(&m[0].3[12..], RTA_PRIORITY), Some(&256u32.to_le_bytes()[..]));
        assert_eq!(find_attr(&m[0].3[12..], RTA_PREF), Some(&[0u8][..]));
    }

    fn ifa(family: u8, prefix: u8, index: u32, addr: &[u8]) -> Vec<u8> {
        let mut b = vec![family, prefix, 0, 0];
        b.extend_from_slice(&index.to_le_bytes());
        for t in [IFA_LOCAL, IFA_ADDRESS] {
            b.extend_from_slice(&((4 + addr.len()) as u16).to_le_bytes());
            b.extend_from_slice(&t.to_le_bytes());
            b.extend_from_slice(addr);
        }
        b
    }

    fn rtm(family: u8, dst: &[u8], dst_len: u8, gw: Option<&[u8]>, ty: u8, table: u8) -> Vec<u8> {
        let mut b = vec![family, dst_len, 0, 0, table, 3, 0, ty, 0, 0, 0, 0];
        let mut attr = |t: u16, d: &[u8]| {
            b.extend_from_slice(&((4 + d.len()) as u16).to_le_bytes());
            b.extend_from_slice(&t.to_le_bytes());
            b.extend_from_slice(d);
        };
        attr(RTA_DST, dst);
        if let Some(g) = gw {
            attr(RTA_GATEWAY, g);
        }
        b
    }

    fn answer(h: &Host, ty: u16, flags: u16, body: &[u8], notes: &mut Notes) -> i32 {
        let q = req(ty, NLM_F_REQUEST | NLM_F_ACK | flags, 77, body);
        let (r, _) = process_notes(h, NETLINK_ROUTE, &q, 3, false, notes).unwrap();
        i32::from_le_bytes(msgs(&r[0])[0].3[..4].try_into().unwrap())
    }

    #[test]
    fn address_changes_and_their_notifications() {
        let h = host(true);
        let excl = NLM_F_CREATE | NLM_F_EXCL;
        let mut n = Vec::new();
        assert_eq!(answer(&h, RTM_NEWADDR, excl, &ifa(2, 24, 1, &[10, 9, 9, 9]), &mut n), 0);
        // the address, then its local and broadcast routes (lo: the subnet's too)
        assert_eq!(n.len(), 4);
        assert_eq!(n[0].0, RTNLGRP_IPV4_IFADDR);
        let m = msgs(&n[0].1);
        assert_eq!((m[0].0, m[0].1, m[0].2), (RTM_NEWADDR, 0, 3));
        assert_eq!(&m[0].3[..8], &[2, 24, IFA_F_PERMANENT, 0, 1, 0, 0, 0]);
        assert_eq!(find_attr(&m[0].3[8..], IFA_LOCAL), Some(&[10u8, 9, 9, 9][..]));
        assert!(n[1..].iter().all(|(g, m)| *g == RTNLGRP_IPV4_ROUTE && msgs(m)[0].0 == RTM_NEWROUTE));
        assert_eq!(h.0.lock()[0].ipv4.len(), 2);
        // exists: EEXIST and no notification
        n.clear();
        assert_eq!(answer(&h, RTM_NEWADDR, excl, &ifa(2, 24, 1, &[10, 9, 9, 9]), &mut n), -17);
        assert!(n.is_empty());
        // errors of the message
        assert_eq!(answer(&h, RTM_NEWADDR, excl, &ifa(2, 24, 9, &[10, 9, 9, 9]), &mut n), -19);
        assert_eq!(answer(&h, RTM_NEWADDR, excl, &ifa(2, 33, 1, &[10, 9, 9, 9]), &mut n), -22);
        assert_eq!(answer(&h, RTM_NEWADDR, excl, &ifa(2, 24, 1, &[10, 9, 9]), &mut n), -22);
        assert_eq!(answer(&h, RTM_NEWADDR, excl, &[2, 8, 0, 0, 1, 0, 0, 0], &mut n), -22);
        assert_eq!(answer(&h, RTM_NEWADDR, excl, &[2, 8], &mut n), -22);
        assert_eq!(answer(&h, RTM_NEWADDR, excl, &ifa(0, 8, 1, &[10, 9, 9, 9]), &mut n), -95);
        assert!(n.is_empty());
        // deletion: announced as RTM_DELADDR; a second one EADDRNOTAVAIL
        assert_eq!(answer(&h, RTM_DELADDR, 0, &ifa(2, 24, 1, &[10, 9, 9, 9]), &mut n), 0);
        assert_eq!(msgs(&n[0].1)[0].0, RTM_DELADDR);
        assert_eq!(msgs(&n[1].1)[0].0, RTM_DELROUTE);
        assert_eq!(answer(&h, RTM_DELADDR, 0, &ifa(2, 24, 1, &[10, 9, 9, 9]), &mut n), -99);
        assert_eq!(answer(&h, RTM_DELADDR, 0, &ifa(2, 24, 9, &[10, 9, 9, 9]), &mut n), -19);
        // not CAP_NET_ADMIN
        let h2 = host(false);
        assert_eq!(answer(&h2, RTM_NEWADDR, excl, &ifa(2, 24, 1, &[10, 9, 9, 9]), &mut n), -1);
    }

    #[test]
    fn route_changes_and_their_notifications() {
        let h = host(true);
        with_eth(&h);
        let excl = NLM_F_CREATE | NLM_F_EXCL;
        let mut n = Vec::new();
        let r = rtm(2, &[192, 168, 5, 0], 24, Some(&[10, 0, 2, 2]), 1, 254);
        assert_eq!(answer(&h, RTM_NEWROUTE, excl, &r, &mut n), 0);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].0, RTNLGRP_IPV4_ROUTE);
        let m = msgs(&n[0].1);
        assert_eq!((m[0].0, m[0].2), (RTM_NEWROUTE, 3));
        // review40 #11: a new route is announced with EXCL|CREATE
        assert_eq!(m[0].1, NLM_F_EXCL | NLM_F_CREATE);
        assert_eq!(&m[0].3[..8], &[2, 24, 0, 0, 254, 3, 0, 1]);
        assert_eq!(find_attr(&m[0].3[12..], RTA_OIF), Some(&2u32.to_le_bytes()[..]));
        assert_eq!(answer(&h, RTM_NEWROUTE, excl, &r, &mut n), -17);
        // the dump shows it between the default route and the subnet
        let d = process_(&h, &req(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 1, &[2; 12]), 5, false).unwrap();
        let m = msgs(&d[0]);
        assert_eq!(find_attr(&m[2].3[12..], RTA_DST), Some(&[192u8, 168, 5, 0][..]));
        // message errors: table, type, lengths, interface
        n.clear();
        assert_eq!(answer(&h, RTM_NEWROUTE, excl, &rtm(2, &[1, 0, 0, 0], 8, None, 1, 100), &mut n), -95);
        assert_eq!(answer(&h, RTM_NEWROUTE, excl, &rtm(2, &[1, 0, 0, 0], 8, None, 4, 254), &mut n), -95);
        assert_eq!(answer(&h, RTM_NEWROUTE, excl, &rtm(10, &[0xfc; 16], 8, None, 6, 254), &mut n), -95);
        assert_eq!(answer(&h, RTM_NEWROUTE, excl, &rtm(2, &[1, 0, 0, 0], 33, None, 1, 254), &mut n), -22);
        assert_eq!(answer(&h, RTM_NEWROUTE, excl, &rtm(2, &[1, 0, 0], 8, None, 1, 254), &mut n), -22);
        assert_eq!(answer(&h, RTM_NEWROUTE, excl, &rtm(7, &[1, 0, 0, 0], 8, None, 1, 254), &mut n), -95);
        assert_eq!(answer(&h, RTM_NEWROUTE, excl, &[2, 8, 0], &mut n), -22);
        assert!(n.is_empty());
        // a blackhole (and unreachable, prohibit) route is taken, its type announced
        assert_eq!(answer(&h, RTM_NEWROUTE, excl, &rtm(2, &[198, 51, 100, 0], 24, None, 6, 254), &mut n), 0);
        let m = msgs(&n[0].1);
        assert_eq!(m[0].3[7], 6);
        n.clear();
        let mut bad_oif = rtm(2, &[1, 0, 0, 0], 8, None, 1, 254);
        bad_oif.extend_from_slice(&[8, 0, 4, 0, 9, 0, 0, 0]);
        assert_eq!(answer(&h, RTM_NEWROUTE, excl, &bad_oif, &mut n), -19);
        assert!(n.is_empty());
        // deletion (iproute2: type 0, scope nowhere)
        let del = rtm(2, &[192, 168, 5, 0], 24, None, 0, 254);
        assert_eq!(answer(&h, RTM_DELROUTE, 0, &del, &mut n), 0);
        assert_eq!(msgs(&n[0].1)[0].0, RTM_DELROUTE);
        assert_eq!(msgs(&n[0].1)[0].1, 0);
        assert_eq!(answer(&h, RTM_DELROUTE, 0, &del, &mut n), -3);
        // IPv6 without a metric: 1024
        let r6 = rtm(10, &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 64, None, 1, 254);
        assert_eq!(answer(&h, RTM_NEWROUTE, excl, &r6, &mut n), 0);
        assert_eq!(h.3.lock().last().unwrap().metric, 1024);
    }

    #[test]
    fn other_protocols_have_32_groups() {
        // review40 #13: netlink_kernel_create raises every protocol's
        // groups to at least 32 (udev's and sd-device's monitors join
        // groups 1 and 2 of KOBJECT_UEVENT; SOCK_DIAG has 4 of its own)
        use crate::testing::{FakeEnv, FakeResolver};
        let h: Arc<Host> = Arc::new(host(true));
        let mut cx = FakeResolver::default();
        for proto in [NETLINK_KOBJECT_UEVENT, NETLINK_SOCK_DIAG] {
            let s = create::<FakeEnv>(SOCK_RAW, proto as i32, Default::default(), h.clone()).unwrap();
            for g in [1u32, 5, 32] {
                assert_eq!(
                    s.setsockopt(&mut cx, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g.to_le_bytes()),
                    Ok(())
                );
            }
            assert_eq!(
                s.setsockopt(&mut cx, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &33u32.to_le_bytes()).err(),
                Some(Errno::EINVAL)
            );
            assert_eq!(
                s.setsockopt(&mut cx, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &32u32.to_le_bytes()),
                Ok(())
            );
        }
    }

    #[test]
    fn group_members_get_the_notifications() {
        use crate::testing::{FakeEnv, FakeResolver};
        let h: Arc<Host> = Arc::new(host(true));
        let mk = || create::<FakeEnv>(SOCK_RAW, NETLINK_ROUTE as i32, Default::default(), h.clone()).unwrap();
        let (mon, mon6, other, actor) = (mk(), mk(), mk(), mk());
        let mut cx = FakeResolver::default();
        // RTMGRP_IPV4_IFADDR by bind, RTNLGRP_IPV6_IFADDR by the option
        let groups = 1u32 << (RTNLGRP_IPV4_IFADDR - 1);
        mon.bind(&mut cx, sockaddr_nl(0, groups).as_bytes()).unwrap();
        mon6.setsockopt(&mut cx, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &RTNLGRP_IPV4_IFADDR.to_le_bytes())
            .unwrap();
        other.bind(&mut cx, sockaddr_nl(0, 1 << (RTNLGRP_LINK - 1)).as_bytes()).unwrap();
        assert_eq!(
            mon6.setsockopt(&mut cx, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &0u32.to_le_bytes()).err(),
            Some(Errno::EINVAL)
        );
        assert_eq!(
            mon6.setsockopt(&mut cx, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &(RTNLGRP_MAX + 1).to_le_bytes())
                .err(),
            Some(Errno::EINVAL)
        );
        let q =
            req(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL, 5, &ifa(2, 24, 1, &[10, 9, 9, 9]));
        actor.sendmsg(&mut cx, &mut SendMsg::new(&q)).unwrap();
        let mut b = [0u8; 512];
        let r = mon.recvmsg(&mut cx, &mut b, 0).unwrap();
        let m = msgs(&b[..r.len]);
        let port = u32::from_le_bytes(actor.getsockname().unwrap().as_bytes()[4..8].try_into().unwrap());
        assert_eq!((m[0].0, m[0].2), (RTM_NEWADDR, port));
        assert_eq!(mon.recvmsg(&mut cx, &mut b, 0).err(), Some(Errno::EAGAIN));
        // joined by the option but never bound: no port, nothing
        assert_eq!(mon6.recvmsg(&mut cx, &mut b, 0).err(), Some(Errno::EAGAIN));
        assert_eq!(other.recvmsg(&mut cx, &mut b, 0).err(), Some(Errno::EAGAIN));
        // a link change reaches RTNLGRP_LINK; a closed member gets nothing
        mon.release();
        let mut ifi = [0u8; 16];
        ifi[4] = 1;
        ifi[12] = IFF_UP as u8;
        actor.sendmsg(&mut cx, &mut SendMsg::new(&req(RTM_NEWLINK, NLM_F_REQUEST, 6, &ifi))).unwrap();
        let r = other.recvmsg(&mut cx, &mut b, 0).unwrap();
        let m = msgs(&b[..r.len]);
        assert_eq!(m[0].0, RTM_NEWLINK);
        assert_eq!(u32::from_le_bytes(m[0].3[8..12].try_into().unwrap()) & IFF_UP, 0);
        assert_eq!(h.2.members.lock().len(), 2);
    }

    #[test]
    fn overrun_is_enobufs() {
        let h = host(false);
        let one = req(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, &[0u8; 16]);
        let mut batch = Vec::new();
        for _ in 0..6000 {
            batch.extend_from_slice(&one);
        }
        let (r, overrun) = process(&h, NETLINK_ROUTE, &batch, 3, false).unwrap();
        assert!(overrun);
        assert!(r.iter().map(Vec::len).sum::<usize>() <= RCVBUF);
    }

    #[test]
    fn newaddr_of_the_loopbacks_own_before_it_is_up() {
        let h = host(true);
        {
            let mut v = h.0.lock();
            v[0].ipv4.clear();
            v[0].flags = IFF_LOOPBACK;
        }
        let excl = NLM_F_CREATE | NLM_F_EXCL;
        let mut n = Vec::new();
        assert_eq!(answer(&h, RTM_NEWADDR, excl, &ifa(2, 8, 1, &[127, 0, 0, 1]), &mut n), 0);
        assert_eq!(answer(&h, RTM_NEWADDR, excl, &ifa(2, 8, 1, &[127, 0, 0, 1]), &mut n), -17);
        assert_eq!(
            answer(&h, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &ifa(2, 8, 1, &[127, 0, 0, 1]), &mut n),
            0
        );
        assert_eq!(answer(&h, RTM_NEWADDR, excl, &ifa(10, 128, 1, &IN6_LOOPBACK), &mut n), 0);
        // a down link: the address only, no routes announced
        assert_eq!(n.len(), 2);
    }

    #[test]
    fn newlink_sets_up() {
        let h = host(true);
        let mut ifi = [0u8; 16];
        ifi[4] = 1;
        ifi[12] = IFF_UP as u8; // change IFF_UP, flags 0: down
        let r = process_(&h, &req(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, &ifi), 3, false).unwrap();
        assert_eq!(&msgs(&r[0])[0].3[..4], &0i32.to_le_bytes());
        assert_eq!(h.0.lock()[0].flags & IFF_UP, 0);
        ifi[4] = 9;
        let r = process_(&h, &req(RTM_NEWLINK, NLM_F_REQUEST, 1, &ifi), 3, false).unwrap();
        assert_eq!(&msgs(&r[0])[0].3[..4], &(-19i32).to_le_bytes());
    }

    #[test]
    fn setlink_sets_up_as_systemds_loopback_setup() {
        let h = host(true);
        let mut ifi = [0u8; 16];
        ifi[4] = 1;
        ifi[12] = IFF_UP as u8; // change IFF_UP, flags 0: down
        let r = process_(&h, &req(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, 1, &ifi), 3, false).unwrap();
        assert_eq!(&msgs(&r[0])[0].3[..4], &0i32.to_le_bytes());
        assert_eq!(h.0.lock()[0].flags & IFF_UP, 0);
        ifi[8] = IFF_UP as u8; // and up again
        let r = process_(&h, &req(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, 2, &ifi), 3, false).unwrap();
        assert_eq!(&msgs(&r[0])[0].3[..4], &0i32.to_le_bytes());
        assert_eq!(h.0.lock()[0].flags & IFF_UP, IFF_UP);
        // an unknown index ENODEV, neither index nor name EINVAL
        ifi[4] = 9;
        let r = process_(&h, &req(RTM_SETLINK, NLM_F_REQUEST, 1, &ifi), 3, false).unwrap();
        assert_eq!(&msgs(&r[0])[0].3[..4], &(-19i32).to_le_bytes());
        ifi[4] = 0;
        let r = process_(&h, &req(RTM_SETLINK, NLM_F_REQUEST, 1, &ifi), 3, false).unwrap();
        assert_eq!(&msgs(&r[0])[0].3[..4], &(-22i32).to_le_bytes());
    }
}
