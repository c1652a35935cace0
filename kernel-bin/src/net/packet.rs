//! AF_PACKET sockets: `net::packet`'s model over the inet stack's links.
//!
//! Every packet socket sits in [`TAPS`] with its namespace's number. While
//! a namespace has one, its stack keeps copies of what lo sends
//! (`Stack::set_capture`); [`NetState`]'s operations take them after their
//! poll and, with the stack's lock dropped, hand each to the namespace's
//! packet sockets twice, as Linux's lo shows a packet to its taps: going
//! out (PACKET_OUTGOING, ETH_P_ALL sockets only) and coming in
//! (PACKET_HOST), behind an Ethernet header of zero addresses. A send goes
//! into lo's queue (IPv4 and IPv6 frames; others are dropped). NICs are not
//! tapped yet. Lock order: `TAPS`, then the stack's; nothing takes `TAPS`
//! with the stack's lock held.

use super::Sock;
use super::inet::{NetRef, NetState, capable_in, with_stack};
use super::unix::KEnv;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use linux_abi::{Errno, Result};
use net::NetEnv;
use net::packet::{
    ARPHRD_ETHER, ARPHRD_LOOPBACK, ETH_HLEN, ETH_P_IP, ETH_P_IPV6, Frame, Link, PACKET_HOST, PACKET_OUTGOING,
    PacketHost, PacketSocket,
};
use spin::Mutex;

const CAP_NET_RAW: u32 = 13;

type PSock = PacketSocket<KEnv>;

/// The packet sockets by namespace number.
static TAPS: Mutex<Vec<(u64, Weak<PSock>)>> = Mutex::new(Vec::new());

struct Host {
    ns: NetRef,
}

impl PacketHost for Host {
    fn link(&self, ifindex: i32) -> Option<Link> {
        let list = with_stack(&self.ns, |s| s.interfaces()).ok()?;
        let f = list.into_iter().find(|f| f.index as i32 == ifindex)?;
        let hatype = if f.flags & inet::iff::LOOPBACK != 0 { ARPHRD_LOOPBACK } else { ARPHRD_ETHER };
        Some(Link { hatype, addr: f.mac })
    }

    fn send(&self, ifindex: i32, frame: &[u8]) -> Result<()> {
        let ty = u16::from_be_bytes([frame[12], frame[13]]);
        if ty != ETH_P_IP && ty != ETH_P_IPV6 {
            log::info!("AF_PACKET: frame of type {ty:#06x} dropped (only IP goes out)");
            return Ok(());
        }
        NetState::with_net(&self.ns, |n| n.stack.send_packet(ifindex as u32, &frame[ETH_HLEN..]))
    }
}

/// socket(2) for AF_PACKET (`packet_create`): CAP_NET_RAW first.
pub fn packet_socket(ty: u32, protocol: i32) -> Result<Sock> {
    let ns = NetRef::current()?;
    if !capable_in(&ns, CAP_NET_RAW) {
        return Err(Errno::EPERM);
    }
    let host = Arc::new(Host { ns: ns.clone() });
    let s = net::packet::create::<KEnv>(ty, protocol, KEnv::new_waker()?, host)?;
    let ino = ns.ino();
    let mut taps = TAPS.lock();
    taps.retain(|(_, w)| w.strong_count() > 0);
    taps.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    taps.push((ino, Arc::downgrade(&s)));
    ns.net_quiet(|n| n.stack.set_capture(true));
    drop(taps);
    Ok(s as Sock)
}

/// Hands the packets `ns`'s stack captured to its packet sockets (called
/// with the stack's lock dropped); stops the capture when none is left.
pub fn deliver(ns: &NetState, frames: Vec<(u32, Vec<u8>)>) {
    let ino = ns.ino();
    let mut socks: Vec<Arc<PSock>> = Vec::new();
    {
        let taps = TAPS.lock();
        let n = taps.iter().filter(|(i, _)| *i == ino).count();
        if socks.try_reserve(n).is_err() {
            return;
        }
        socks.extend(taps.iter().filter(|(i, _)| *i == ino).filter_map(|(_, w)| w.upgrade()));
        if socks.is_empty() {
            ns.net_quiet(|n| n.stack.set_capture(false));
            return;
        }
    }
    let mut buf: Vec<u8> = Vec::new();
    for (ifindex, p) in frames {
        let ty = match p.first().map(|b| b >> 4) {
            Some(4) => ETH_P_IP,
            Some(6) => ETH_P_IPV6,
            _ => continue,
        };
        buf.clear();
        if buf.try_reserve(ETH_HLEN + p.len()).is_err() {
            continue;
        }
        buf.extend_from_slice(&[0; 12]);
        buf.extend_from_slice(&ty.to_be_bytes());
        buf.extend_from_slice(&p);
        for pkttype in [PACKET_OUTGOING, PACKET_HOST] {
            let f = Frame { ifindex: ifindex as i32, hatype: ARPHRD_LOOPBACK, pkttype, bytes: &buf };
            for s in &socks {
                s.deliver(&f);
            }
        }
    }
    // the last reference of a closed socket may go here, unlocked
    drop(socks);
}
