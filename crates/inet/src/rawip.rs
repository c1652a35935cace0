//! Raw IP sockets (SOCK_RAW) as Linux 6.1 has them (`raw.c`, `raw6.c`):
//! the packets a socket is given and the headers it sends.
//!
//! smoltcp's raw socket takes every packet of its IP version and protocol
//! on its interface (the stack still handles the packet) and sends whole
//! IP packets. On top of that this module keeps Linux's rules:
//! - receive: an IPv4 socket reads the IP header with the payload (its
//!   checksum filled in: smoltcp rebuilds the header and lo computes no
//!   checksums), an IPv6 socket the payload only; a socket bound to an
//!   address takes only packets to it, a connected one only packets from
//!   its peer; ICMP_FILTER (IPv4 ICMP) and ICMP6_FILTER (ICMPv6) drop the
//!   types whose bit is set ([`Filter::passes`]);
//! - send: the kernel builds the IP header ([`v4_header`], [`v6_header`])
//!   unless IP_HDRINCL (IPPROTO_RAW implies it), where it fills in the
//!   total length, a zero source and identifier, and the checksum
//!   ([`hdrincl_v4`], `raw_send_hdrinc`); ICMPv6 sockets and IPv6 sockets
//!   with IPV6_CHECKSUM get their checksum computed at the offset
//!   ([`v6_checksum`]).

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use linux_abi::{Errno, Result};
use smoltcp::socket::raw;
use smoltcp::wire::{IpAddress, IpProtocol, IpVersion};

use crate::{Family, Sock, SockId, St, Stack, meta_slots, to_ip, zeroed};

/// The most send-only raw smoltcp sockets waiting for a poll to send
/// their packet (IP_HDRINCL packets of another protocol than their
/// socket's); more sends are `EAGAIN` until a poll.
pub const RAW_TX_MAX: usize = 64;

/// IPPROTO_ICMP.
pub const IPPROTO_ICMP: i32 = 1;
/// IPPROTO_ICMPV6.
pub const IPPROTO_ICMPV6: i32 = 58;
/// IPPROTO_RAW: send only, IP_HDRINCL implied.
pub const IPPROTO_RAW: i32 = 255;
/// SOL_RAW (ICMP_FILTER's level).
pub const SOL_RAW: i32 = 255;
/// ICMP_FILTER (SOL_RAW).
pub const ICMP_FILTER: i32 = 1;
/// ICMP6_FILTER (level IPPROTO_ICMPV6).
pub const ICMP6_FILTER: i32 = 1;
/// IP_HDRINCL (SOL_IP).
pub const IP_HDRINCL: i32 = 3;
/// IPV6_CHECKSUM (SOL_IPV6, or SOL_RAW on a raw IPv6 socket).
pub const IPV6_CHECKSUM: i32 = 7;
/// IPV6_HDRINCL (SOL_IPV6).
pub const IPV6_HDRINCL: i32 = 36;

/// The receive filters of a raw socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Filter {
    /// The socket's protocol.
    pub protocol: i32,
    /// Whether it is an IPv6 socket (packets come without their header).
    pub v6: bool,
    /// The bound address (`None`: any).
    pub local: Option<IpAddr>,
    /// The connected peer (`None`: any).
    pub peer: Option<IpAddr>,
    /// ICMP_FILTER's mask (bit set: type dropped).
    pub icmp: u32,
    /// ICMP6_FILTER's 256 bits (bit set: type dropped).
    pub icmp6: [u32; 8],
}

impl Filter {
    /// Whether `packet` (a whole IP packet as smoltcp hands it over)
    /// reaches the socket (Linux's `raw_v4_match`/`raw_v6_match`,
    /// `icmp_filter`, `icmpv6_filter`).
    pub fn passes(&self, packet: &[u8]) -> bool {
        let Some((src, dst, hl)) = addrs(packet) else { return false };
        if self.local.is_some_and(|l| !l.is_unspecified() && l != dst) {
            return false;
        }
        if self.peer.is_some_and(|p| !p.is_unspecified() && p != src) {
            return false;
        }
        let ty = packet.get(hl).copied();
        match (self.v6, self.protocol, ty) {
            (false, IPPROTO_ICMP, Some(t)) => t >= 32 || self.icmp & (1 << t) == 0,
            // a header too short for a type: Linux's icmp_filter passes it
            (false, IPPROTO_ICMP, None) => true,
            (true, IPPROTO_ICMPV6, Some(t)) => self.icmp6[usize::from(t >> 5)] & (1 << (t & 31)) == 0,
            _ => true,
        }
    }
}

/// The source, destination and header length of an IP packet.
pub fn addrs(p: &[u8]) -> Option<(IpAddr, IpAddr, usize)> {
    match p.first()? >> 4 {
        4 if p.len() >= 20 => {
            let hl = usize::from(p[0] & 15) * 4;
            let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
            let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
            Some((IpAddr::V4(src), IpAddr::V4(dst), hl.max(20)))
        }
        6 if p.len() >= 40 => {
            let src: [u8; 16] = p[8..24].try_into().ok()?;
            let dst: [u8; 16] = p[24..40].try_into().ok()?;
            Some((IpAddr::V6(Ipv6Addr::from(src)), IpAddr::V6(Ipv6Addr::from(dst)), 40))
        }
        _ => None,
    }
}

/// Writes an IPv4 header (20 bytes, no options) into `out` for a payload
/// of `payload` bytes, its checksum included.
pub fn v4_header(out: &mut [u8], payload: usize, proto: u8, tos: u8, ttl: u8, src: Ipv4Addr, dst: Ipv4Addr) {
    let total = (payload + 20) as u16;
    out[0] = 0x45;
    out[1] = tos;
    out[2..4].copy_from_slice(&total.to_be_bytes());
    // identifier 0, DF (Linux sets DF when path MTU discovery is on)
    out[4..8].copy_from_slice(&[0, 0, 0x40, 0]);
    out[8] = ttl;
    out[9] = proto;
    out[10] = 0;
    out[11] = 0;
    out[12..16].copy_from_slice(&src.octets());
    out[16..20].copy_from_slice(&dst.octets());
    fill_v4_checksum(&mut out[..20]);
}

/// Recomputes the checksum of the IPv4 header at the start of `p`.
pub fn fill_v4_checksum(p: &mut [u8]) {
    let hl = p.first().map(|b| usize::from(b & 15) * 4).unwrap_or(0);
    if hl < 20 || p.len() < hl {
        return;
    }
    p[10] = 0;
    p[11] = 0;
    let sum = crate::inet_checksum(&p[..hl]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
}

/// Linux's `raw_send_hdrinc` checks and fix-ups of a user's IPv4 packet
/// (in `p`, already copied): too short or a header longer than the
/// packet is `EINVAL`; the total length is set, a zero source becomes
/// `src`, a zero identifier `ident`, and the checksum is computed.
pub fn hdrincl_v4(p: &mut [u8], src: Ipv4Addr, ident: u16) -> Result<()> {
    if p.len() < 20 {
        return Err(Errno::EINVAL);
    }
    let hl = usize::from(p[0] & 15) * 4;
    if hl > p.len() {
        return Err(Errno::EINVAL);
    }
    if hl >= 20 {
        if p[12..16] == [0; 4] {
            p[12..16].copy_from_slice(&src.octets());
        }
        let total = p.len() as u16;
        p[2..4].copy_from_slice(&total.to_be_bytes());
        if p[4..6] == [0; 2] {
            p[4..6].copy_from_slice(&ident.to_be_bytes());
        }
        fill_v4_checksum(p);
    }
    Ok(())
}

/// Writes an IPv6 header (40 bytes) into `out` for a payload of
/// `payload` bytes.
pub fn v6_header(
    out: &mut [u8],
    payload: usize,
    next: u8,
    tclass: u8,
    hops: u8,
    src: Ipv6Addr,
    dst: Ipv6Addr,
) {
    out[0] = 0x60 | (tclass >> 4);
    out[1] = tclass << 4;
    out[2] = 0;
    out[3] = 0;
    out[4..6].copy_from_slice(&(payload as u16).to_be_bytes());
    out[6] = next;
    out[7] = hops;
    out[8..24].copy_from_slice(&src.octets());
    out[24..40].copy_from_slice(&dst.octets());
}

/// Fills in the checksum at `offset` of an upper-layer `payload` sent
/// from `src` to `dst` with next header `next` (RFC 8200's pseudo-header;
/// the field counts as zero, as `rawv6_push_pending_frames`). `EINVAL`
/// when the field does not fit in the payload.
pub fn v6_checksum(
    payload: &mut [u8],
    offset: usize,
    next: u8,
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
) -> Result<()> {
    if offset + 1 >= payload.len() {
        return Err(Errno::EINVAL);
    }
    payload[offset] = 0;
    payload[offset + 1] = 0;
    let mut sum: u32 = 0;
    let mut add = |b: &[u8]| {
        let mut c = b.chunks_exact(2);
        for w in &mut c {
            sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
        }
        if let [x] = c.remainder() {
            sum += u32::from(*x) << 8;
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(payload.len() as u32).to_be_bytes());
    add(&[0, 0, 0, next]);
    add(payload);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let mut c = !(sum as u16);
    if c == 0 && next == 17 {
        c = 0xffff;
    }
    payload[offset..offset + 2].copy_from_slice(&c.to_be_bytes());
    Ok(())
}

impl Stack {
    /// Whether links keep copies of the packets they send for packet
    /// sockets ([`Stack::set_capture`]).
    pub fn capturing(&self) -> bool {
        self.capture
    }

    /// Starts or stops keeping copies of the packets sent (lo's: a NIC's
    /// are not seen) for packet sockets (AF_PACKET).
    pub fn set_capture(&mut self, on: bool) {
        self.capture = on;
        for f in self.ifaces.iter_mut() {
            f.link.set_capture(on);
        }
    }

    /// The copies of the packets sent since the last call, with their
    /// interface's index (at most `max`; the rest wait).
    pub fn take_captured(&mut self, max: usize) -> Vec<(u32, Vec<u8>)> {
        let mut out = Vec::new();
        if !self.capture {
            return out;
        }
        let mut one = Vec::new();
        if one.try_reserve(max).is_err() {
            return out;
        }
        for f in self.ifaces.iter_mut() {
            one.clear();
            f.link.take_captured(&mut one);
            if out.try_reserve(one.len()).is_err() {
                break;
            }
            out.extend(one.drain(..).map(|p| (f.index, p)));
        }
        out
    }

    /// Sends a whole IP packet out of interface `ifindex` (a packet
    /// socket's send): `ENXIO` for no such interface, `ENETDOWN` when it
    /// is down, `EOPNOTSUPP` for a NIC (only lo takes them), `ENOBUFS`
    /// when lo's queue is full.
    pub fn send_packet(&mut self, ifindex: u32, p: &[u8]) -> Result<()> {
        let f = self.ifaces.iter_mut().find(|f| f.index == ifindex).ok_or(Errno::ENXIO)?;
        if f.flags & crate::iff::UP == 0 {
            return Err(Errno::ENETDOWN);
        }
        match f.link.inject(p) {
            Some(true) => Ok(()),
            Some(false) => Err(Errno::ENOBUFS),
            None => Err(Errno::EOPNOTSUPP),
        }
    }

    /// The receive filter of raw socket `s`.
    pub(crate) fn raw_filter(s: &Sock) -> Filter {
        let ip = |a: core::net::SocketAddr| match to_ip(a.ip()) {
            IpAddress::Ipv4(v) => IpAddr::V4(v),
            IpAddress::Ipv6(v) => IpAddr::V6(v),
        };
        Filter {
            protocol: s.protocol,
            v6: s.family == Family::V6,
            local: s.local.map(ip),
            peer: s.peer.map(ip),
            icmp: s.opts.icmp_filter,
            icmp6: s.opts.icmp6_filter,
        }
    }

    /// Drops the packets at the front of raw socket `id`'s queues that
    /// its filter refuses, so that its poll bits say readable only for a
    /// packet it will get.
    pub(crate) fn sift_raw(&mut self, id: SockId) {
        let Some(Some(s)) = self.socks.get(id.0 as usize) else { return };
        let St::Dgram { hs } = &s.st else { return };
        let f = Self::raw_filter(s);
        for &(ifx, h) in hs.iter() {
            let sk = self.ifaces[ifx].set.get_mut::<raw::Socket>(h);
            while let Ok(p) = sk.peek() {
                if f.passes(p) {
                    break;
                }
                let _ = sk.recv();
            }
        }
    }

    /// Removes the send-only raw sockets whose packet went out.
    pub(crate) fn reap_raw_tx(&mut self) {
        let Stack { raw_tx, ifaces, .. } = self;
        raw_tx.retain(|&(ifx, h)| {
            let f = &mut ifaces[ifx];
            if f.set.get::<raw::Socket>(h).send_queue() == 0 {
                f.set.remove(h);
                false
            } else {
                true
            }
        });
    }

    /// sendto(2) on a raw socket: to `dst`, with the hop limit and TOS
    /// asked for (else the defaults) and a source from IP_PKTINFO.
    pub(crate) fn raw_send(
        &mut self,
        id: SockId,
        buf: &[u8],
        dst: IpAddress,
        ttl: Option<u8>,
        tos: Option<u8>,
        src: Option<IpAddress>,
    ) -> Result<usize> {
        let s = self.sock(id)?;
        let (fam, proto, hdrincl, csum) = (s.family, s.protocol, s.opts.hdrincl, s.opts.v6_checksum);
        let bound = s.local.map(|l| to_ip(l.ip())).filter(|a| !a.is_unspecified());
        let (head, max) = match (fam, hdrincl) {
            (Family::V4, false) => (20, 0xffff - 20),
            (Family::V6, false) => (40, 0xffff),
            (Family::V4, true) => (0, 0xffff),
            (Family::V6, true) => (0, 0xffff + 40),
        };
        if buf.len() > max {
            return Err(Errno::EMSGSIZE);
        }
        let pkt_proto = match (fam, hdrincl) {
            (Family::V4, true) => {
                if buf.len() < 20 || usize::from(buf[0] & 15) * 4 > buf.len() {
                    return Err(Errno::EINVAL);
                }
                buf[9]
            }
            (Family::V6, true) => *buf.get(6).filter(|_| buf.len() >= 40).ok_or(Errno::EINVAL)?,
            _ => proto as u8,
        };
        if !hdrincl && csum >= 0 && csum as usize + 1 >= buf.len() {
            return Err(Errno::EINVAL);
        }
        if matches!((fam, dst), (Family::V6, IpAddress::Ipv4(_))) {
            // a v4-mapped destination (rawv6_sendmsg's ipv6_addr_v4mapped)
            return Err(Errno::ENETUNREACH);
        }
        let ifx = self.route_out(dst)?;
        let src = src.or(bound).or_else(|| self.source_for(ifx, dst)).ok_or(Errno::ENETUNREACH)?;
        let own = match &self.sock(id)?.st {
            St::Dgram { hs } => hs.iter().find(|(i, _)| *i == ifx).map(|&(_, h)| h),
            _ => None,
        };
        let h = match own {
            Some(h) if i32::from(pkt_proto) == proto => h,
            _ => {
                // a packet of another protocol than the socket's: a
                // send-only smoltcp socket of that protocol for it
                if self.raw_tx.len() >= RAW_TX_MAX {
                    return Err(Errno::EAGAIN);
                }
                self.raw_tx.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
                let ver = match fam {
                    Family::V4 => IpVersion::Ipv4,
                    Family::V6 => IpVersion::Ipv6,
                };
                let rx = raw::PacketBuffer::new(meta_slots(0, raw::PacketMetadata::EMPTY)?, zeroed(0)?);
                let tx = raw::PacketBuffer::new(
                    meta_slots(1, raw::PacketMetadata::EMPTY)?,
                    zeroed(head + buf.len())?,
                );
                let sk = raw::Socket::new(Some(ver), Some(IpProtocol::from(pkt_proto)), rx, tx);
                let h = self.ifaces[ifx].set.add(sk);
                self.raw_tx.push((ifx, h));
                h
            }
        };
        self.ident = self.ident.wrapping_add(1).max(1);
        let ident = self.ident;
        let sk = self.ifaces[ifx].set.get_mut::<raw::Socket>(h);
        let out = sk.send(head + buf.len()).map_err(|_| Errno::EAGAIN)?;
        out[head..].copy_from_slice(buf);
        let ttl = ttl.unwrap_or(64);
        let tos = tos.unwrap_or(0);
        match (src, dst, hdrincl) {
            (IpAddress::Ipv4(s4), IpAddress::Ipv4(_), true) => {
                // (its lengths were checked above)
                if let Err(e) = hdrincl_v4(out, s4, ident) {
                    out.fill(0);
                    return Err(e);
                }
            }
            (IpAddress::Ipv4(s4), IpAddress::Ipv4(d4), false) => {
                v4_header(out, buf.len(), pkt_proto, tos, ttl, s4, d4);
            }
            (IpAddress::Ipv6(_), IpAddress::Ipv6(_), true) => {}
            (IpAddress::Ipv6(s6), IpAddress::Ipv6(d6), false) => {
                v6_header(out, buf.len(), pkt_proto, tos, ttl, s6, d6);
                if csum >= 0 {
                    v6_checksum(&mut out[40..], csum as usize, pkt_proto, &s6, &d6)?;
                }
            }
            _ => {
                out.fill(0);
                return Err(Errno::EINVAL);
            }
        }
        Ok(buf.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_header_checksum_verifies() {
        let mut h = [0u8; 20];
        v4_header(&mut h, 8, 1, 0, 64, Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST);
        assert_eq!(crate::inet_checksum(&h), 0);
        assert_eq!(&h[2..4], &28u16.to_be_bytes());
    }

    #[test]
    fn hdrincl_fills_what_linux_fills() {
        let mut p = [0u8; 28];
        p[0] = 0x45;
        p[9] = 17;
        p[16..20].copy_from_slice(&[127, 0, 0, 1]);
        hdrincl_v4(&mut p, Ipv4Addr::new(127, 0, 0, 2), 7).unwrap();
        assert_eq!(&p[12..16], &[127, 0, 0, 2]);
        assert_eq!(&p[2..4], &28u16.to_be_bytes());
        assert_eq!(&p[4..6], &7u16.to_be_bytes());
        assert_eq!(crate::inet_checksum(&p[..20]), 0);
        assert_eq!(hdrincl_v4(&mut [0x45; 19], Ipv4Addr::LOCALHOST, 1), Err(Errno::EINVAL));
        let mut long = [0u8; 24];
        long[0] = 0x4f;
        assert_eq!(hdrincl_v4(&mut long, Ipv4Addr::LOCALHOST, 1), Err(Errno::EINVAL));
    }

    #[test]
    fn filters() {
        let mut p = [0u8; 28];
        v4_header(&mut p, 8, 1, 0, 64, Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(127, 0, 0, 2));
        p[20] = 8;
        let mut f = Filter { protocol: 1, v6: false, local: None, peer: None, icmp: 0, icmp6: [0; 8] };
        assert!(f.passes(&p));
        f.icmp = 1 << 8;
        assert!(!f.passes(&p));
        f.icmp = 1;
        f.local = Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)));
        assert!(!f.passes(&p));
        f.local = Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
        f.peer = Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)));
        assert!(f.passes(&p));
        f.peer = Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9)));
        assert!(!f.passes(&p));
    }

    #[test]
    fn icmpv6_checksum() {
        // an echo request ::1 -> ::1, id 1 seq 1, no data: its checksum
        // verifies when summed again with the field in place
        let mut p = [128u8, 0, 0, 0, 0, 1, 0, 1];
        let a = Ipv6Addr::LOCALHOST;
        v6_checksum(&mut p, 2, 58, &a, &a).unwrap();
        let c = u16::from_be_bytes([p[2], p[3]]);
        assert_ne!(c, 0);
        let mut q = p;
        v6_checksum(&mut q, 2, 58, &a, &a).unwrap();
        assert_eq!(p, q);
        assert_eq!(v6_checksum(&mut [0u8; 3], 2, 58, &a, &a), Err(Errno::EINVAL));
    }
}
