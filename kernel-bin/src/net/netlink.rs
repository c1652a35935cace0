//! AF_NETLINK sockets: `net::netlink` (NETLINK_ROUTE) over the inet
//! stack's interfaces.

use super::Sock;
use super::unix::KEnv;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use linux_abi::{Errno, Result};
use net::netlink::{Link, RouteHost};

const CAP_NET_ADMIN: u32 = 12;

/// The kernel's interfaces as NETLINK_ROUTE shows them.
struct Host;

impl RouteHost for Host {
    fn links(&self) -> Result<Vec<Link>> {
        let infos = super::inet::with_net(|n| n.stack.interfaces())?;
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
                    .with_ipv4(i.ipv4.map(|(a, p)| (a.octets(), p)).into_iter().collect())
                    .with_ipv6(ipv6)
                    .with_gw4(i.gw4.map(|g| g.octets())),
            );
        }
        Ok(out)
    }

    fn set_up(&self, index: u32, up: bool) -> Result<()> {
        super::inet::with_net(|n| {
            let infos = n.stack.interfaces()?;
            let i = infos.iter().find(|i| i.index == index).ok_or(Errno::ENODEV)?;
            let flags = if up { i.flags | inet::iff::UP } else { i.flags & !inet::iff::UP };
            n.stack.set_interface_flags(&i.name, flags)
        })
    }

    fn net_admin(&self) -> bool {
        let tid = crate::sched::current().id.load(Ordering::Relaxed) as u32;
        let pid = crate::proc::table().tgid(tid).unwrap_or(tid);
        crate::proc::table()
            .with_process(pid, |p| p.creds().cap_effective & (1u64 << CAP_NET_ADMIN) != 0)
            .unwrap_or(false)
    }
}

/// socket(2) for AF_NETLINK.
pub fn netlink_socket(ty: u32, protocol: i32) -> Result<Sock> {
    if protocol < 0 || protocol as u32 >= net::netlink::MAX_LINKS {
        return Err(Errno::EPROTONOSUPPORT);
    }
    if protocol as u32 != net::netlink::NETLINK_ROUTE {
        log::info!("socket: netlink protocol {protocol} unsupported: EPROTONOSUPPORT");
    }
    let s = net::netlink::create::<KEnv>(ty, protocol, <KEnv as net::NetEnv>::new_waker()?, Arc::new(Host))?;
    Ok(s as Sock)
}
