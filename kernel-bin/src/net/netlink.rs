//! AF_NETLINK sockets: `net::netlink` (NETLINK_ROUTE) over the inet
//! stack's interfaces, NETLINK_SOCK_DIAG over the registry of open socket
//! files (as /proc/net's tables: [`super::procnet`]), NETLINK_CONNECTOR's
//! process events ([`super::connector`]).

use super::Sock;
use super::inet::{NetRef, NetState};
use super::unix::KEnv;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::IpAddr;
use linux_abi::{Errno, Result};
use net::netlink::{Link, Route, RouteHost};
use net::sock_diag::{InetDiag, UnixDiagSock};
use net::unix::UnixSocket;

const CAP_NET_ADMIN: u32 = 12;

/// The interfaces of a network namespace (the socket's) as NETLINK_ROUTE
/// shows them.
struct Host {
    ns: NetRef,
}

impl RouteHost for Host {
    fn links(&self) -> Result<Vec<Link>> {
        let infos = NetState::with_net(&self.ns, |n| n.stack.interfaces())?;
        let mut out = Vec::new();
        out.try_reserve(infos.len()).map_err(|_| Errno::ENOBUFS)?;
        for i in infos {
            let mut ipv6 = Vec::new();
            ipv6.try_reserve(i.ipv6.len()).map_err(|_| Errno::ENOBUFS)?;
            ipv6.extend(i.ipv6.iter().map(|(a, p)| (a.octets(), *p)));
            let mut name = String::new();
            name.try_reserve(i.name.len()).map_err(|_| Errno::ENOBUFS)?;
            name.push_str(&i.name);
            out.push(
                Link::new(i.index, name)
                    .with_flags(u32::from(i.flags))
                    .with_mtu(i.mtu)
                    .with_mac(i.mac)
                    .with_loopback(i.flags & inet::iff::LOOPBACK != 0)
                    .with_ipv4({
                        let mut v = Vec::new();
                        v.try_reserve(i.ipv4_all.len()).map_err(|_| Errno::ENOBUFS)?;
                        v.extend(i.ipv4_all.iter().map(|(a, p)| (a.octets(), *p)));
                        v
                    })
                    .with_ipv6(ipv6)
                    .with_gw4(i.gw4.map(|g| g.octets())),
            );
        }
        Ok(out)
    }

    fn set_up(&self, index: u32, up: bool) -> Result<()> {
        NetState::with_net(&self.ns, |n| {
            let infos = n.stack.interfaces()?;
            let i = infos.iter().find(|i| i.index == index).ok_or(Errno::ENODEV)?;
            let flags = if up { i.flags | inet::iff::UP } else { i.flags & !inet::iff::UP };
            n.stack.set_interface_flags(&i.name, flags)
        })
    }

    fn diag_inet(&self, family: u16, protocol: u8) -> Result<Vec<InetDiag>> {
        let kind = match protocol {
            net::sock_diag::IPPROTO_TCP => inet::Kind::Tcp,
            net::sock_diag::IPPROTO_UDP => inet::Kind::Udp,
            _ => return Ok(Vec::new()),
        };
        let fam = if family == net::AF_INET6 { inet::Family::V6 } else { inet::Family::V4 };
        let mut rows = super::procnet::inet_rows(&self.ns)?;
        rows.retain(|r| r.info.kind == kind && r.info.family == fam);
        // listeners first (the listening hash), then by port
        rows.sort_by_key(|r| (r.info.state != 10, r.info.local.port()));
        let mut out = Vec::new();
        out.try_reserve_exact(rows.len()).map_err(|_| Errno::ENOBUFS)?;
        let bytes = |ip: IpAddr| -> [u8; 16] {
            let mut b = [0u8; 16];
            match (ip, fam) {
                (IpAddr::V4(v), inet::Family::V4) => b[..4].copy_from_slice(&v.octets()),
                (IpAddr::V4(v), _) => b = v.to_ipv6_mapped().octets(),
                (IpAddr::V6(v), _) => b = v.octets(),
            }
            b
        };
        for r in &rows {
            let i = &r.info;
            let mut d = InetDiag::default();
            d.family = family;
            d.protocol = protocol;
            d.state = i.state;
            d.src = bytes(i.local.ip());
            d.sport = i.local.port();
            d.dst = bytes(i.remote.ip());
            d.dport = i.remote.port();
            // tcp_diag_get_info / udp_diag_get_info
            (d.rqueue, d.wqueue) =
                if i.state == 10 { (i.rx_queue, i.backlog.min(4096)) } else { (i.rx_queue, i.tx_queue) };
            d.uid = r.uid;
            d.ino = r.ino as u32;
            if kind == inet::Kind::Tcp
                && let Some(id) = r.id
            {
                // INET_DIAG_INFO (ss -i)
                if let Ok(info) = super::inet::with_stack(&self.ns, |st| st.tcp_info(id)) {
                    d.info.try_reserve_exact(info.len()).map_err(|_| Errno::ENOBUFS)?;
                    d.info.extend_from_slice(&info);
                }
            }
            out.push(d);
        }
        Ok(out)
    }

    fn diag_unix(&self) -> Result<Vec<UnixDiagSock>> {
        let files = super::open_sockets()?;
        let mut ds = Vec::new();
        ds.try_reserve_exact(files.len()).map_err(|_| Errno::ENOBUFS)?;
        for f in &files {
            if let Some(u) = f.sock.as_any().downcast_ref::<UnixSocket<KEnv>>()
                && u.netns() == self.ns.ino()
            {
                ds.push((u.diag(), f.ino() as u32, f.uid()));
            }
        }
        drop(files);
        let mut ids = Vec::new();
        ids.try_reserve_exact(ds.len()).map_err(|_| Errno::ENOBUFS)?;
        ids.extend(ds.iter().map(|(d, ino, _)| (d.id, *ino)));
        ids.sort_unstable();
        let mut out = Vec::new();
        out.try_reserve_exact(ds.len()).map_err(|_| Errno::ENOBUFS)?;
        for (d, ino, uid) in &ds {
            let mut s = UnixDiagSock::default();
            s.ty = d.ty as u8;
            s.state = d.state;
            s.ino = *ino;
            s.name = match &d.name {
                Some(n) => {
                    let mut v = Vec::new();
                    let (lead, b): (&[u8], &[u8]) = match n {
                        net::addr::UnixName::Path(p) => (&[], p),
                        net::addr::UnixName::Abstract(a) => (&[0], a),
                    };
                    v.try_reserve_exact(b.len() + 1).map_err(|_| Errno::ENOBUFS)?;
                    v.extend_from_slice(lead);
                    v.extend_from_slice(b);
                    if lead.is_empty() {
                        v.push(0);
                    }
                    Some(v)
                }
                None => None,
            };
            s.vfs = d.node.map(|n| (n.ino as u32, n.dev as u32));
            // the peer's inode: 0 when no file holds it
            s.peer = d.peer.map(|p| ids.binary_search_by_key(&p, |e| e.0).map_or(0, |k| ids[k].1));
            s.rqueue = d.rqueue;
            s.wqueue = d.wqueue;
            s.shutdown = d.shutdown;
            s.uid = *uid;
            out.push(s);
        }
        Ok(out)
    }

    fn add_addr(&self, index: u32, addr: &[u8], prefix: u8, flags: u16) -> Result<bool> {
        let a = ip_of(addr)?;
        let how = upsert(flags);
        let r = NetState::with_net(&self.ns, |n| n.stack.add_address(index, a, prefix, how));
        if r == Err(Errno::ENOBUFS) {
            log::info!(
                "netlink: RTM_NEWADDR: more than {} addresses on one link: ENOBUFS",
                inet::route::MAX_ADDRS
            );
        }
        r
    }

    fn del_addr(
        &self,
        index: u32,
        family: u16,
        local: Option<&[u8]>,
        prefix: Option<u8>,
    ) -> Result<([u8; 16], u8)> {
        let fam = if family == net::AF_INET6 { inet::Family::V6 } else { inet::Family::V4 };
        let local = local.map(ip_of).transpose()?;
        let (a, p) = NetState::with_net(&self.ns, |n| n.stack.del_address(index, fam, local, prefix))?;
        Ok((bytes_of(a), p))
    }

    fn routes(&self) -> Result<Vec<Route>> {
        let rs = NetState::with_net(&self.ns, |n| n.stack.routes())?;
        let mut out = Vec::new();
        out.try_reserve_exact(rs.len()).map_err(|_| Errno::ENOBUFS)?;
        out.extend(rs.iter().map(route_of));
        Ok(out)
    }

    fn add_route(&self, r: &Route, flags: u16) -> Result<Route> {
        let dst = ip_of(&r.dst[..alen(r.family)])?;
        let gw = r.gateway.map(|g| ip_of(&g[..alen(r.family)])).transpose()?;
        let mut ri = inet::RouteInfo::new(dst, r.dst_len, gw, r.oif, r.metric).with_proto(r.proto);
        if r.ty != 0 && r.ty != inet::route::RTN_UNICAST {
            ri = ri.with_kind(r.ty);
        }
        let how = upsert(flags);
        NetState::with_net(&self.ns, |n| {
            n.stack.add_route(ri, how)?;
            // as stored: its interface filled in
            let all = n.stack.routes()?;
            let got = all
                .iter()
                .rev()
                .find(|x| {
                    x.dst == inet::route::masked(dst, r.dst_len)
                        && x.dst_len == r.dst_len
                        && x.metric == r.metric
                })
                .ok_or(Errno::ESRCH)?;
            Ok(route_of(got))
        })
    }

    fn del_route(&self, r: &Route, metric: Option<u32>) -> Result<Route> {
        let dst = ip_of(&r.dst[..alen(r.family)])?;
        let gw = r.gateway.map(|g| ip_of(&g[..alen(r.family)])).transpose()?;
        let sel = inet::RouteSel::new(dst, r.dst_len).with_gateway(gw).with_oif(r.oif).with_metric(metric);
        let got = NetState::with_net(&self.ns, |n| n.stack.del_route(sel))?;
        Ok(route_of(&got))
    }

    fn net_admin(&self) -> bool {
        super::inet::capable_in(&self.ns, CAP_NET_ADMIN)
    }

    fn ports(&self) -> &net::netlink::Ports {
        &self.ns.nl_ports
    }

    fn connector(&self, req: &net::connector::Request<'_>, _portid: u32) {
        // the connector's kernel socket is the initial namespace's
        if self.ns.is_initial() {
            let tid = crate::sched::current().id.load(core::sync::atomic::Ordering::Relaxed) as u32;
            super::connector::request(req, crate::proc::table().tgid(tid).unwrap_or(tid));
        }
    }
}

fn alen(family: u16) -> usize {
    if family == net::AF_INET6 { 16 } else { 4 }
}

/// The address in `b` (4 or 16 bytes).
fn ip_of(b: &[u8]) -> Result<IpAddr> {
    match b.len() {
        4 => Ok(IpAddr::from([b[0], b[1], b[2], b[3]])),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Ok(IpAddr::from(a))
        }
        _ => Err(Errno::EINVAL),
    }
}

fn bytes_of(a: IpAddr) -> [u8; 16] {
    let mut b = [0u8; 16];
    match a {
        IpAddr::V4(v) => b[..4].copy_from_slice(&v.octets()),
        IpAddr::V6(v) => b = v.octets(),
    }
    b
}

fn route_of(r: &inet::RouteInfo) -> Route {
    let family = if r.dst.is_ipv4() { net::AF_INET } else { net::AF_INET6 };
    Route::new(family, bytes_of(r.dst), r.dst_len, r.oif)
        .with_gateway(r.gateway.map(bytes_of))
        .with_metric(r.metric)
        .with_proto_scope(r.proto, r.scope)
        .with_type(r.kind)
}

/// The request's NLM_F_* as the stack's [`inet::Upsert`].
fn upsert(flags: u16) -> inet::Upsert {
    use net::netlink::{NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
    inet::Upsert {
        create: flags & NLM_F_CREATE != 0,
        excl: flags & NLM_F_EXCL != 0,
        replace: flags & NLM_F_REPLACE != 0,
        append: flags & NLM_F_APPEND != 0,
    }
}

/// socket(2) for AF_NETLINK.
pub fn netlink_socket(ty: u32, protocol: i32) -> Result<Sock> {
    if protocol < 0 || protocol as u32 >= net::netlink::MAX_LINKS {
        return Err(Errno::EPROTONOSUPPORT);
    }
    if ![
        net::netlink::NETLINK_ROUTE,
        net::netlink::NETLINK_SOCK_DIAG,
        net::netlink::NETLINK_CONNECTOR,
        net::netlink::NETLINK_KOBJECT_UEVENT,
    ]
    .contains(&(protocol as u32))
    {
        log::info!("socket: netlink protocol {protocol} unsupported: EPROTONOSUPPORT");
    }
    let host = Arc::new(Host { ns: NetRef::current()? });
    let s = net::netlink::create::<KEnv>(ty, protocol, <KEnv as net::NetEnv>::new_waker()?, host)?;
    Ok(s as Sock)
}

/// The netlink socket behind `file` (`netlink_getsockbyfilp`): `ENOTSOCK`
/// for a file that is no socket, `ECONNREFUSED` for another kind of socket.
fn netlink_of(file: &dyn vfs::File) -> Result<&net::netlink::NetlinkSocket<KEnv>> {
    let s = file.as_any().and_then(|a| a.downcast_ref::<super::SocketFile>()).ok_or(Errno::ENOTSOCK)?;
    s.sock.as_any().downcast_ref::<net::netlink::NetlinkSocket<KEnv>>().ok_or(Errno::ECONNREFUSED)
}

/// Whether `file` is a netlink socket (mq_notify's `SIGEV_THREAD`).
pub fn netlink_check(file: &dyn vfs::File) -> Result<()> {
    netlink_of(file).map(|_| ())
}

/// Sends `data` from the kernel to the netlink socket `file`
/// (`netlink_sendskb`); nothing for another file or a full socket.
pub fn netlink_deliver(file: &dyn vfs::File, data: &[u8]) {
    if let Ok(s) = netlink_of(file) {
        s.deliver(data);
    }
}
