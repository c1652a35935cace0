//! Interface addresses and the routing table as `ip addr` and `ip route`
//! change them (Linux's `inet_rtm_newaddr`/`inet6_rtm_newaddr`,
//! `fib_table_insert`/`ip6_route_add` and their deletions): the addresses
//! live in each smoltcp interface, the routes added by the user (and the
//! boot's default route) in [`Stack`]'s table, their gateways in the
//! interface's smoltcp routes. The routes Linux derives from addresses
//! (the subnet, local and broadcast routes) are not kept: they follow from
//! the addresses of the up interfaces.

use super::*;

/// `RTPROT_BOOT`: a route added by `ip route add` (iproute2's default) or at boot.
pub const RTPROT_BOOT: u8 = 3;
/// `RT_SCOPE_UNIVERSE`.
pub const SCOPE_UNIVERSE: u8 = 0;
/// `RT_SCOPE_LINK`.
pub const SCOPE_LINK: u8 = 253;
/// `RTN_UNICAST`: a route to a gateway or a link.
pub const RTN_UNICAST: u8 = 1;
/// `RTN_BLACKHOLE`: sends fail with `EINVAL`.
pub const RTN_BLACKHOLE: u8 = 6;
/// `RTN_UNREACHABLE`: sends fail with `EHOSTUNREACH`.
pub const RTN_UNREACHABLE: u8 = 7;
/// `RTN_PROHIBIT`: sends fail with `EACCES`.
pub const RTN_PROHIBIT: u8 = 8;
/// Linux's metric of an IPv6 route added without one (`IP6_RT_PRIO_USER`).
pub const IP6_RT_PRIO_USER: u32 = 1024;
/// At most this many addresses per interface (Linux has no bound; past it
/// `ENOBUFS`, Linux's errno when an address cannot be allocated).
pub const MAX_ADDRS: usize = 1024;
/// The addresses of an interface smoltcp holds (its fixed table); the
/// rest are the stack's own (see [`Stack::add_address`]).
pub const SMOLTCP_ADDRS: usize = 8;
/// At most this many routes in the table.
pub const MAX_ROUTES: usize = 256;
/// At most this many destinations reached on-link through a route
/// without a gateway have their host route in smoltcp (the oldest goes).
pub const MAX_ONLINK: usize = 16;

/// One route of the main table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteInfo {
    /// The destination network (host bits clear).
    pub dst: IpAddr,
    /// Its prefix length (0: the default route).
    pub dst_len: u8,
    /// The next hop, `None` for a route onto the link.
    pub gateway: Option<IpAddr>,
    /// The outgoing interface's index.
    pub oif: u32,
    /// `RTA_PRIORITY`.
    pub metric: u32,
    /// `rtm_protocol` (RTPROT_*).
    pub proto: u8,
    /// `rtm_scope` (universe with a gateway, link without).
    pub scope: u8,
    /// `rtm_type`: [`RTN_UNICAST`], or [`RTN_BLACKHOLE`],
    /// [`RTN_UNREACHABLE`], [`RTN_PROHIBIT`] (IPv4; no gateway, no
    /// interface: a send that picks it fails with Linux's `fib_props`
    /// error).
    pub kind: u8,
}

impl RouteInfo {
    /// A route to `dst`/`dst_len` out of interface `oif`, through `gateway`
    /// when given, with `metric` and protocol [`RTPROT_BOOT`].
    pub fn new(dst: IpAddr, dst_len: u8, gateway: Option<IpAddr>, oif: u32, metric: u32) -> RouteInfo {
        let scope = if gateway.is_some() { SCOPE_UNIVERSE } else { SCOPE_LINK };
        RouteInfo { dst, dst_len, gateway, oif, metric, proto: RTPROT_BOOT, scope, kind: RTN_UNICAST }
    }

    /// With [`RouteInfo::kind`] (a route of another type than unicast is
    /// of scope universe).
    pub fn with_kind(mut self, kind: u8) -> RouteInfo {
        self.kind = kind;
        if kind != RTN_UNICAST {
            self.scope = SCOPE_UNIVERSE;
        }
        self
    }

    /// The error a send that picks this route fails with (`None`: a
    /// unicast route).
    pub fn error(&self) -> Option<Errno> {
        match self.kind {
            RTN_BLACKHOLE => Some(Errno::EINVAL),
            RTN_UNREACHABLE => Some(Errno::EHOSTUNREACH),
            RTN_PROHIBIT => Some(Errno::EACCES),
            _ => None,
        }
    }

    /// With [`RouteInfo::proto`].
    pub fn with_proto(mut self, proto: u8) -> RouteInfo {
        self.proto = proto;
        self
    }

    /// The family of its destination.
    pub fn family(&self) -> Family {
        if self.dst.is_ipv4() { Family::V4 } else { Family::V6 }
    }

    fn same_key(&self, o: &RouteInfo) -> bool {
        self.dst == o.dst && self.dst_len == o.dst_len && self.metric == o.metric
    }
}

/// How an add treats an object that exists (the netlink request's
/// `NLM_F_CREATE`, `NLM_F_EXCL`, `NLM_F_REPLACE`, `NLM_F_APPEND`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Upsert {
    /// Create it when missing (routes only: without it a missing route is `ENOENT`).
    pub create: bool,
    /// Fail with `EEXIST` when it exists.
    pub excl: bool,
    /// Replace it when it exists.
    pub replace: bool,
    /// Add another route beside an existing one.
    pub append: bool,
}

/// What a route deletion matches: the destination always, the rest when given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteSel {
    /// The destination network.
    pub dst: IpAddr,
    /// Its prefix length.
    pub dst_len: u8,
    /// The gateway, if the request names one.
    pub gateway: Option<IpAddr>,
    /// The interface, if named (0: any).
    pub oif: u32,
    /// The metric, if given.
    pub metric: Option<u32>,
}

impl RouteSel {
    /// Matches the routes to `dst`/`dst_len` (any gateway, interface, metric).
    pub fn new(dst: IpAddr, dst_len: u8) -> RouteSel {
        RouteSel { dst, dst_len, gateway: None, oif: 0, metric: None }
    }
    /// With [`RouteSel::gateway`].
    pub fn with_gateway(mut self, gw: Option<IpAddr>) -> RouteSel {
        self.gateway = gw;
        self
    }
    /// With [`RouteSel::oif`].
    pub fn with_oif(mut self, oif: u32) -> RouteSel {
        self.oif = oif;
        self
    }
    /// With [`RouteSel::metric`].
    pub fn with_metric(mut self, metric: Option<u32>) -> RouteSel {
        self.metric = metric;
        self
    }
}

fn max_len(a: &IpAddr) -> u8 {
    if a.is_ipv4() { 32 } else { 128 }
}

/// `a` with the bits past `len` cleared (a route's destination).
pub fn masked(a: IpAddr, len: u8) -> IpAddr {
    match a {
        IpAddr::V4(v) => {
            let m = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len.min(32))) };
            IpAddr::V4(Ipv4Addr::from(u32::from(v) & m))
        }
        IpAddr::V6(v) => {
            let m = if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len.min(128))) };
            IpAddr::V6(Ipv6Addr::from(u128::from(v) & m))
        }
    }
}

fn cidr(a: IpAddr, len: u8) -> IpCidr {
    match a {
        IpAddr::V4(v) => IpCidr::Ipv4(Ipv4Cidr::new(v, len)),
        IpAddr::V6(v) => IpCidr::Ipv6(Ipv6Cidr::new(v, len)),
    }
}

fn contains(net: IpAddr, len: u8, a: IpAddr) -> bool {
    net.is_ipv4() == a.is_ipv4() && masked(net, len) == masked(a, len)
}

impl Stack {
    fn iface_ix(&self, index: u32) -> Result<usize> {
        self.ifaces.iter().position(|f| f.index == index).ok_or(Errno::ENODEV)
    }

    /// The addresses of interface `index` in their order (IPv4 and IPv6).
    pub fn addresses(&self, index: u32) -> Result<Vec<(IpAddr, u8)>> {
        let f = &self.ifaces[self.iface_ix(index)?];
        let mut v = Vec::new();
        v.try_reserve(f.iface.ip_addrs().len() + f.extra.len()).map_err(|_| Errno::ENOMEM)?;
        for c in f.all_addrs() {
            v.push(match c {
                IpCidr::Ipv4(c) => (IpAddr::V4(c.address()), c.prefix_len()),
                IpCidr::Ipv6(c) => (IpAddr::V6(c.address()), c.prefix_len()),
            });
        }
        Ok(v)
    }

    /// `RTM_NEWADDR`: adds `addr`/`prefix` to interface `index`. Returns
    /// whether it is new (false: an existing one was replaced). `ENODEV`
    /// for no such interface, `EINVAL` for a prefix past the family's
    /// length, `EEXIST` for an address with that prefix already there
    /// (for IPv6, that address with any prefix: `ipv6_get_ifaddr`, and a
    /// replacement keeps its prefix, as 6.1's `inet6_addr_modify`) unless
    /// `how.replace` without `how.excl`, `ENOBUFS` past [`MAX_ADDRS`]. Past
    /// [`SMOLTCP_ADDRS`] an address is the stack's own: reached through lo
    /// like every local address, but neither answered for on its link nor
    /// picked as a source for a remote destination.
    pub fn add_address(&mut self, index: u32, addr: IpAddr, prefix: u8, how: Upsert) -> Result<bool> {
        if prefix > max_len(&addr) {
            return Err(Errno::EINVAL);
        }
        let ix = self.iface_ix(index)?;
        let c = cidr(addr, prefix);
        let f = &mut self.ifaces[ix];
        let same = |x: &IpCidr| match (x, &c) {
            (IpCidr::Ipv6(x), IpCidr::Ipv6(c)) => x.address() == c.address(),
            _ => *x == c,
        };
        if f.all_addrs().any(same) {
            if how.excl || !how.replace {
                return Err(Errno::EEXIST);
            }
            return Ok(false);
        }
        if f.iface.ip_addrs().len() + f.extra.len() >= MAX_ADDRS {
            return Err(Errno::ENOBUFS);
        }
        f.push_addr(c)?;
        Ok(true)
    }

    /// `RTM_DELADDR`: removes from interface `index` the first address of
    /// `family` that is `local` (when given) with `prefix` (when given), and
    /// returns it; `EADDRNOTAVAIL` when none matches. Removing an
    /// interface's last IPv4 address removes its IPv4 routes (Linux's
    /// `fib_disable_ip`); the routes whose gateway only it reached go too.
    pub fn del_address(
        &mut self,
        index: u32,
        family: Family,
        local: Option<IpAddr>,
        prefix: Option<u8>,
    ) -> Result<(IpAddr, u8)> {
        let ix = self.iface_ix(index)?;
        let addrs = self.addresses(index)?;
        let hit = addrs
            .iter()
            .position(|(a, p)| {
                (a.is_ipv4() == (family == Family::V4))
                    && local.is_none_or(|l| l == *a)
                    && prefix.is_none_or(|q| q == *p)
            })
            .ok_or(Errno::EADDRNOTAVAIL)?;
        let (a, p) = addrs[hit];
        let c = cidr(a, p);
        self.ifaces[ix].remove_addr(c);
        let v4_left = self.ifaces[ix].all_addrs().any(|c| matches!(c, IpCidr::Ipv4(_)));
        let before = self.routes.len();
        self.routes.retain(|r| {
            let fam_gone = r.oif == index && r.dst.is_ipv4() && !v4_left;
            !fam_gone
        });
        // gateways no longer on a link of their interface
        let ifaces = &self.ifaces;
        self.routes.retain(|r| match r.gateway {
            Some(g) => {
                ifaces.iter().any(|f| f.index == r.oif && f.all_addrs().any(|c| c.contains_addr(&to_ip(g))))
            }
            None => true,
        });
        if self.routes.len() != before {
            self.sync_gateways();
        }
        Ok((a, p))
    }

    /// The routes of the main table added by the user or at boot.
    pub fn routes(&self) -> Result<Vec<RouteInfo>> {
        let mut v = Vec::new();
        v.try_reserve(self.routes.len()).map_err(|_| Errno::ENOMEM)?;
        v.extend_from_slice(&self.routes);
        Ok(v)
    }

    /// Whether `gw` is on a link of an interface (of `oif` when not 0):
    /// in the subnet of one of its addresses. Returns that interface's
    /// index.
    fn on_link(&self, gw: IpAddr, oif: u32) -> Option<(u32, bool)> {
        let g = to_ip(gw);
        self.ifaces
            .iter()
            .filter(|f| oif == 0 || f.index == oif)
            .find(|f| f.all_addrs().any(|c| c.contains_addr(&g)))
            .map(|f| (f.index, f.flags & iff::UP != 0))
    }

    /// `RTM_NEWROUTE` of a unicast route in the main table: `EINVAL` for a
    /// prefix length past the family's or an IPv4 destination with host
    /// bits set, `ENODEV` for an unknown interface, `ENETUNREACH` for a
    /// gateway on no link (of the interface, when one is named),
    /// `ENETDOWN` when the interface is down, `EEXIST` for a route to the
    /// same destination with the same metric unless replaced or appended,
    /// `ENOENT` for a replace of a missing route without `how.create`,
    /// `ENOSPC` past [`MAX_ROUTES`]. A route without an interface takes
    /// its gateway's.
    pub fn add_route(&mut self, mut r: RouteInfo, how: Upsert) -> Result<()> {
        if r.dst_len > max_len(&r.dst) || r.gateway.is_some_and(|g| g.is_ipv4() != r.dst.is_ipv4()) {
            return Err(Errno::EINVAL);
        }
        if masked(r.dst, r.dst_len) != r.dst {
            if r.dst.is_ipv4() {
                return Err(Errno::EINVAL);
            }
            r.dst = masked(r.dst, r.dst_len);
        }
        if r.oif != 0 {
            self.iface_ix(r.oif)?;
        }
        match r.kind {
            RTN_UNICAST => {}
            // fib_create_info: "Gateway, device and multipath can not be
            // specified for this route type"
            RTN_BLACKHOLE | RTN_UNREACHABLE | RTN_PROHIBIT
                if r.dst.is_ipv4() && r.gateway.is_none() && r.oif == 0 =>
            {
                return self.upsert_route(r, how);
            }
            _ => return Err(Errno::EINVAL),
        }
        match r.gateway {
            Some(g) => {
                let (oif, up) = self.on_link(g, r.oif).ok_or(Errno::ENETUNREACH)?;
                if !up {
                    return Err(Errno::ENETDOWN);
                }
                r.oif = oif;
            }
            None => {
                if r.oif == 0 {
                    return Err(Errno::ENODEV);
                }
                let f = &self.ifaces[self.iface_ix(r.oif)?];
                if f.flags & iff::UP == 0 {
                    return Err(Errno::ENETDOWN);
                }
            }
        }
        self.upsert_route(r, how)
    }

    fn upsert_route(&mut self, r: RouteInfo, how: Upsert) -> Result<()> {
        match self.routes.iter().position(|x| x.same_key(&r)) {
            Some(i) => {
                if how.excl {
                    return Err(Errno::EEXIST);
                }
                if how.replace {
                    self.routes[i] = r;
                } else if how.append && how.create && self.routes[i] != r {
                    self.push_route(r)?;
                } else {
                    return Err(Errno::EEXIST);
                }
            }
            None => {
                if !how.create {
                    return Err(Errno::ENOENT);
                }
                self.push_route(r)?;
            }
        }
        self.sync_gateways();
        Ok(())
    }

    fn push_route(&mut self, r: RouteInfo) -> Result<()> {
        if self.routes.len() >= MAX_ROUTES {
            return Err(Errno::ENOSPC);
        }
        self.routes.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        self.routes.push(r);
        Ok(())
    }

    /// `RTM_DELROUTE`: removes the first route that `sel` matches and
    /// returns it; `ESRCH` when none does.
    pub fn del_route(&mut self, sel: RouteSel) -> Result<RouteInfo> {
        let dst = masked(sel.dst, sel.dst_len.min(max_len(&sel.dst)));
        let i = self
            .routes
            .iter()
            .position(|r| {
                r.dst == dst
                    && r.dst_len == sel.dst_len
                    && sel.gateway.is_none_or(|g| r.gateway == Some(g))
                    && (sel.oif == 0 || sel.oif == r.oif)
                    && sel.metric.is_none_or(|m| m == r.metric)
            })
            .ok_or(Errno::ESRCH)?;
        let r = self.routes.remove(i);
        self.sync_gateways();
        Ok(r)
    }

    /// Drops the routes out of interface `index` (it went down: Linux's
    /// `fib_sync_down_dev`, `rt6_sync_down_dev`).
    pub(crate) fn routes_down(&mut self, index: u32) {
        let n = self.routes.len();
        self.routes.retain(|r| r.oif != index);
        if self.routes.len() != n {
            self.sync_gateways();
        }
    }

    /// [`Stack::route`] for a packet about to be sent: a destination that
    /// a route without a gateway sends out of a NIC (`ip route add X dev
    /// eth0`) and that is in none of its subnets gets a host route via
    /// itself in the interface's smoltcp routes, so smoltcp resolves it
    /// on the link (ARP, as Linux's neighbour of an on-link route).
    pub(crate) fn route_out(&mut self, dst: IpAddress) -> Result<usize> {
        let ifx = self.route(dst)?;
        let f = &self.ifaces[ifx];
        if f.loopback || f.all_addrs().any(|c| c.contains_addr(&dst)) {
            return Ok(ifx);
        }
        let d = match dst {
            IpAddress::Ipv4(v) => IpAddr::V4(v),
            IpAddress::Ipv6(v) => IpAddr::V6(v),
        };
        let index = f.index;
        let onlink = self.table_pick(d).is_some_and(|r| r.gateway.is_none() && r.oif == index);
        if onlink && !self.onlink.contains(&(index, d)) {
            if self.onlink.len() >= MAX_ONLINK {
                self.onlink.remove(0);
            }
            self.onlink.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
            self.onlink.push((index, d));
            self.sync_gateways();
        }
        Ok(ifx)
    }

    /// Puts the table's gateway routes into each interface's smoltcp
    /// routes (what its next hop look-up sees), after the host routes of
    /// the on-link destinations whose route is still there.
    pub(crate) fn sync_gateways(&mut self) {
        let routes = &self.routes;
        self.onlink.retain(|&(index, d)| {
            routes.iter().any(|r| r.oif == index && r.gateway.is_none() && contains(r.dst, r.dst_len, d))
        });
        let onlink = &self.onlink;
        for f in self.ifaces.iter_mut() {
            let index = f.index;
            f.iface.routes_mut().update(|v| {
                v.clear();
                for &(_, d) in onlink.iter().filter(|x| x.0 == index) {
                    let _ = v.push(smoltcp::iface::Route {
                        cidr: cidr(d, max_len(&d)),
                        via_router: to_ip(d),
                        preferred_until: None,
                        expires_at: None,
                    });
                }
                // longest prefixes first (smoltcp takes the first match)
                for len in (0..=128u8).rev() {
                    for r in routes.iter().filter(|r| r.oif == index && r.dst_len == len) {
                        if let Some(g) = r.gateway {
                            let _ = v.push(smoltcp::iface::Route {
                                cidr: cidr(r.dst, r.dst_len),
                                via_router: to_ip(g),
                                preferred_until: None,
                                expires_at: None,
                            });
                        }
                    }
                }
            });
        }
    }

    /// The interface a table route sends `dst` out of (the longest
    /// prefix, then the lowest metric, among up interfaces).
    /// `ENETUNREACH` without one; a blackhole, unreachable or prohibit
    /// route's error.
    pub(crate) fn table_route(&self, dst: IpAddr) -> Result<usize> {
        let r = self.table_pick(dst).ok_or(Errno::ENETUNREACH)?;
        if let Some(e) = r.error() {
            return Err(e);
        }
        self.ifaces.iter().position(|f| f.index == r.oif).ok_or(Errno::ENETUNREACH)
    }

    /// The table's route for `dst` (the longest prefix, then the lowest
    /// metric, among up interfaces).
    fn table_pick(&self, dst: IpAddr) -> Option<&RouteInfo> {
        self.routes
            .iter()
            .filter(|r| contains(r.dst, r.dst_len, dst))
            .filter(|r| {
                r.kind != RTN_UNICAST
                    || self.ifaces.iter().any(|f| f.index == r.oif && f.flags & iff::UP != 0)
            })
            .min_by(|a, b| b.dst_len.cmp(&a.dst_len).then(a.metric.cmp(&b.metric)))
    }
}
