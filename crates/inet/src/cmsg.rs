//! IP-level control messages of sendmsg(2)/recvmsg(2) as Linux's
//! `ip_cmsg_send`/`ip6_datagram_send_ctl` read them and
//! `ip_cmsg_recv_offset`/`ip6_datagram_recv_ctl` write them (RFC 3542
//! for IPv6): which ones, in which order, with which layout and errno.
//! Writing them into the user's buffer (`put_cmsg`'s truncation rules)
//! is the socket layer's.

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use linux_abi::{Errno, Result};
use smoltcp::wire::IpAddress;

use crate::Family;
use crate::opt::{SOL_IP, SOL_IPV6};

/// SOL_SOCKET (its messages are the socket layer's).
const SOL_SOCKET: i32 = 1;
/// `sizeof(struct cmsghdr)`.
const HDR: usize = linux_abi::cmsg::CMSG_HDR;

/// IP_TOS: the received TOS byte (1 byte), or the TOS to send.
pub const IP_TOS: i32 = 1;
/// IP_TTL: the received TTL (an int), or the TTL to send.
pub const IP_TTL: i32 = 2;
/// IP_PKTINFO: `struct in_pktinfo`.
pub const IP_PKTINFO: i32 = 8;
/// IP_ORIGDSTADDR: the destination as a `struct sockaddr_in`.
pub const IP_ORIGDSTADDR: i32 = 20;
/// IPV6_2292PKTINFO (RFC 2292's name of IPV6_PKTINFO).
pub const IPV6_2292PKTINFO: i32 = 2;
/// IPV6_2292HOPLIMIT.
pub const IPV6_2292HOPLIMIT: i32 = 8;
/// IPV6_PKTINFO: `struct in6_pktinfo`.
pub const IPV6_PKTINFO: i32 = 50;
/// IPV6_HOPLIMIT: an int.
pub const IPV6_HOPLIMIT: i32 = 52;
/// IPV6_TCLASS: an int.
pub const IPV6_TCLASS: i32 = 67;
/// IPV6_ORIGDSTADDR: the destination as a `struct sockaddr_in6`.
pub const IPV6_ORIGDSTADDR: i32 = 74;
/// IPV6_FLOWINFO.
pub const IPV6_FLOWINFO: i32 = 11;
/// IPV6_DONTFRAG.
pub const IPV6_DONTFRAG: i32 = 62;
/// IPV6_2292HOPOPTS, IPV6_2292DSTOPTS, IPV6_2292RTHDR.
const IPV6_2292_EXTHDRS: [i32; 3] = [3, 4, 5];
/// IPV6_HOPOPTS, IPV6_RTHDRDSTOPTS, IPV6_RTHDR, IPV6_DSTOPTS.
const IPV6_EXTHDRS: [i32; 4] = [54, 55, 57, 59];

/// Which control messages a socket asked to receive (bits of
/// [`crate::Opts::recv`]).
pub mod want {
    /// IP_PKTINFO.
    pub const PKTINFO: u32 = 1 << 0;
    /// IP_RECVTTL.
    pub const TTL: u32 = 1 << 1;
    /// IP_RECVTOS.
    pub const TOS: u32 = 1 << 2;
    /// IP_RECVOPTS (the packet's IP options: ours have none).
    pub const RECVOPTS: u32 = 1 << 3;
    /// IP_RETOPTS (likewise).
    pub const RETOPTS: u32 = 1 << 4;
    /// IP_RECVORIGDSTADDR.
    pub const ORIGDST: u32 = 1 << 5;
    /// IPV6_RECVPKTINFO.
    pub const V6_PKTINFO: u32 = 1 << 8;
    /// IPV6_RECVHOPLIMIT.
    pub const V6_HOPLIMIT: u32 = 1 << 9;
    /// IPV6_RECVTCLASS.
    pub const V6_TCLASS: u32 = 1 << 10;
    /// IPV6_FLOWINFO (a zero flow label gives nothing).
    pub const V6_FLOWINFO: u32 = 1 << 11;
    /// IPV6_RECVHOPOPTS (ours carry no extension headers).
    pub const V6_HOPOPTS: u32 = 1 << 12;
    /// IPV6_RECVDSTOPTS.
    pub const V6_DSTOPTS: u32 = 1 << 13;
    /// IPV6_RECVRTHDR.
    pub const V6_RTHDR: u32 = 1 << 14;
    /// IPV6_RECVPATHMTU.
    pub const V6_PATHMTU: u32 = 1 << 15;
    /// IPV6_2292PKTINFO.
    pub const V6_O_PKTINFO: u32 = 1 << 16;
    /// IPV6_2292HOPLIMIT.
    pub const V6_O_HOPLIMIT: u32 = 1 << 17;
    /// IPV6_2292HOPOPTS.
    pub const V6_O_HOPOPTS: u32 = 1 << 18;
    /// IPV6_2292DSTOPTS.
    pub const V6_O_DSTOPTS: u32 = 1 << 19;
    /// IPV6_2292RTHDR.
    pub const V6_O_RTHDR: u32 = 1 << 20;
    /// IPV6_RECVORIGDSTADDR.
    pub const V6_ORIGDST: u32 = 1 << 21;
}

/// One control message a receive hands back (the shared value of
/// `linux_abi`, which the socket layer's `RecvMsg` carries too).
pub use linux_abi::cmsg::Cmsg;

/// What the control messages of one send ask for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TxCtl {
    /// The TTL/hop limit (`None`: the socket's).
    pub ttl: Option<u8>,
    /// The TOS/traffic class (`None`: the socket's).
    pub tos: Option<u8>,
    /// The source address (IP_PKTINFO's ipi_spec_dst, IPV6_PKTINFO's
    /// address; `None`: routed).
    pub src: Option<IpAddr>,
}

fn int_at(d: &[u8]) -> i32 {
    i32::from_ne_bytes([d[0], d[1], d[2], d[3]])
}

/// Walks the control messages of a send as `for_each_cmsghdr` with
/// `CMSG_OK` (EINVAL for a header that is short or runs past the
/// buffer): `(level, type, data)` of each.
fn walk(ctl: &[u8], mut f: impl FnMut(i32, i32, &[u8]) -> Result<()>) -> Result<()> {
    let mut off = 0usize;
    while ctl.len() - off >= HDR {
        let h = &ctl[off..];
        let mut l = [0u8; 8];
        l.copy_from_slice(&h[..8]);
        let len = u64::from_ne_bytes(l);
        if len < HDR as u64 || len > h.len() as u64 {
            return Err(Errno::EINVAL);
        }
        let len = len as usize;
        f(int_at(&h[8..]), int_at(&h[12..]), &h[HDR..len])?;
        let next = (len + 7) & !7;
        if next > h.len() {
            break;
        }
        off += next;
    }
    Ok(())
}

/// ip_cmsg_send: the SOL_IP messages of a send to an IPv4 destination
/// (and IPV6_PKTINFO with a v4-mapped address when the socket is
/// AF_INET6); other levels are ignored, SOL_SOCKET is the socket
/// layer's. `local` says whether an address is one of the host's.
pub fn parse_v4(ctl: &[u8], v6_socket: bool, local: &dyn Fn(IpAddr) -> bool) -> Result<TxCtl> {
    let mut t = TxCtl::default();
    walk(ctl, |level, ty, d| {
        if v6_socket && level == SOL_IPV6 && ty == IPV6_PKTINFO {
            if d.len() < 20 {
                return Err(Errno::EINVAL);
            }
            let mut a = [0u8; 16];
            a.copy_from_slice(&d[..16]);
            let v4 = Ipv6Addr::from(a).to_ipv4_mapped().ok_or(Errno::EINVAL)?;
            t.src = (!v4.is_unspecified()).then_some(IpAddr::V4(v4));
            return Ok(());
        }
        if level != SOL_IP {
            return Ok(());
        }
        match ty {
            IP_PKTINFO => {
                if d.len() != 12 {
                    return Err(Errno::EINVAL);
                }
                let spec = Ipv4Addr::new(d[4], d[5], d[6], d[7]);
                t.src = (!spec.is_unspecified()).then_some(IpAddr::V4(spec));
            }
            IP_TTL => {
                if d.len() != 4 {
                    return Err(Errno::EINVAL);
                }
                let v = int_at(d);
                if !(1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                t.ttl = Some(v as u8);
            }
            IP_TOS => {
                let v = match d.len() {
                    4 => int_at(d),
                    1 => i32::from(d[0]),
                    _ => return Err(Errno::EINVAL),
                };
                if !(0..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                t.tos = Some(v as u8);
            }
            _ => return Err(Errno::EINVAL),
        }
        Ok(())
    })?;
    if let Some(a) = t.src
        && !local(a)
    {
        // ip_route_output: no route from a foreign source
        return Err(Errno::EINVAL);
    }
    Ok(t)
}

/// ip6_datagram_send_ctl: the SOL_IPV6 messages of a send to an IPv6
/// destination; other levels are ignored.
pub fn parse_v6(ctl: &[u8], local: &dyn Fn(IpAddr) -> bool) -> Result<TxCtl> {
    let mut t = TxCtl::default();
    walk(ctl, |level, ty, d| {
        if level != SOL_IPV6 {
            return Ok(());
        }
        match ty {
            IPV6_PKTINFO | IPV6_2292PKTINFO => {
                if d.len() < 20 {
                    return Err(Errno::EINVAL);
                }
                let mut a = [0u8; 16];
                a.copy_from_slice(&d[..16]);
                let a = Ipv6Addr::from(a);
                if !a.is_unspecified() {
                    if !local(IpAddr::V6(a)) {
                        return Err(Errno::EINVAL);
                    }
                    t.src = Some(IpAddr::V6(a));
                }
            }
            IPV6_FLOWINFO => {
                if d.len() < 4 {
                    return Err(Errno::EINVAL);
                }
            }
            IPV6_HOPLIMIT | IPV6_2292HOPLIMIT => {
                if d.len() != 4 {
                    return Err(Errno::EINVAL);
                }
                let v = int_at(d);
                if !(-1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                t.ttl = (v >= 0).then_some(v as u8);
            }
            IPV6_TCLASS => {
                if d.len() != 4 {
                    return Err(Errno::EINVAL);
                }
                let v = int_at(d);
                if !(-1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                t.tos = (v >= 0).then_some(v as u8);
            }
            IPV6_DONTFRAG => {
                if d.len() != 4 {
                    return Err(Errno::EINVAL);
                }
                if !(-1..=1).contains(&int_at(d)) {
                    return Err(Errno::EINVAL);
                }
            }
            // extension headers are not sent by this stack (Linux sends
            // them, with CAP_NET_RAW)
            t if IPV6_EXTHDRS.contains(&t) || IPV6_2292_EXTHDRS.contains(&t) => return Err(Errno::EINVAL),
            _ => return Err(Errno::EINVAL),
        }
        Ok(())
    })?;
    Ok(t)
}

/// A received datagram's addressing and header values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rx {
    /// The destination address (from the packet).
    pub dst: IpAddress,
    /// The destination port.
    pub dst_port: u16,
    /// The interface it came in on.
    pub ifindex: u32,
    /// The TTL/hop limit.
    pub ttl: u8,
    /// The TOS/traffic class.
    pub tos: u8,
}

fn push(out: &mut Vec<Cmsg>, level: i32, ty: i32, data: &[u8]) -> Result<()> {
    out.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
    out.push(Cmsg::new(level, ty, data));
    Ok(())
}

/// ip_cmsg_recv_offset: IP_PKTINFO, IP_TTL, IP_TOS, IP_ORIGDSTADDR.
fn recv_v4(want: u32, rx: &Rx, d4: Ipv4Addr, out: &mut Vec<Cmsg>) -> Result<()> {
    if want & want::PKTINFO != 0 {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&(rx.ifindex as i32).to_ne_bytes());
        b[4..8].copy_from_slice(&d4.octets());
        b[8..].copy_from_slice(&d4.octets());
        push(out, SOL_IP, IP_PKTINFO, &b)?;
    }
    if want & want::TTL != 0 {
        push(out, SOL_IP, IP_TTL, &i32::from(rx.ttl).to_ne_bytes())?;
    }
    if want & want::TOS != 0 {
        push(out, SOL_IP, IP_TOS, &[rx.tos])?;
    }
    if want & want::ORIGDST != 0 {
        let mut b = [0u8; 16];
        b[..2].copy_from_slice(&2u16.to_ne_bytes());
        b[2..4].copy_from_slice(&rx.dst_port.to_be_bytes());
        b[4..8].copy_from_slice(&d4.octets());
        push(out, SOL_IP, IP_ORIGDSTADDR, &b)?;
    }
    Ok(())
}

/// The control messages a receive gives a socket of `fam` that asked for
/// `want`, in Linux's order (udp_recvmsg, udpv6_recvmsg).
pub(crate) fn recv(fam: Family, want: u32, rx: &Rx, out: &mut Vec<Cmsg>) -> Result<()> {
    if want == 0 {
        return Ok(());
    }
    match (fam, rx.dst) {
        (Family::V4, IpAddress::Ipv4(d4)) => recv_v4(want, rx, d4, out),
        (Family::V4, IpAddress::Ipv6(_)) => Ok(()),
        (Family::V6, dst) => {
            let d6 = match dst {
                IpAddress::Ipv4(d4) => d4.to_ipv6_mapped(),
                IpAddress::Ipv6(d6) => d6,
            };
            let pktinfo = |out: &mut Vec<Cmsg>, ty: i32| {
                let mut b = [0u8; 20];
                b[..16].copy_from_slice(&d6.octets());
                b[16..].copy_from_slice(&(rx.ifindex as i32).to_ne_bytes());
                push(out, SOL_IPV6, ty, &b)
            };
            if want & want::V6_PKTINFO != 0 {
                pktinfo(out, IPV6_PKTINFO)?;
            }
            if let IpAddress::Ipv4(d4) = dst {
                return recv_v4(want, rx, d4, out);
            }
            // ip6_datagram_recv_specific_ctl (no flow label, no extension
            // headers on ours: those give nothing)
            if want & want::V6_HOPLIMIT != 0 {
                push(out, SOL_IPV6, IPV6_HOPLIMIT, &i32::from(rx.ttl).to_ne_bytes())?;
            }
            if want & want::V6_TCLASS != 0 {
                push(out, SOL_IPV6, IPV6_TCLASS, &i32::from(rx.tos).to_ne_bytes())?;
            }
            if want & want::V6_O_PKTINFO != 0 {
                pktinfo(out, IPV6_2292PKTINFO)?;
            }
            if want & want::V6_O_HOPLIMIT != 0 {
                push(out, SOL_IPV6, IPV6_2292HOPLIMIT, &i32::from(rx.ttl).to_ne_bytes())?;
            }
            if want & want::V6_ORIGDST != 0 {
                let mut b = [0u8; 28];
                b[..2].copy_from_slice(&10u16.to_ne_bytes());
                b[2..4].copy_from_slice(&rx.dst_port.to_be_bytes());
                b[8..24].copy_from_slice(&d6.octets());
                push(out, SOL_IPV6, IPV6_ORIGDSTADDR, &b)?;
            }
            Ok(())
        }
    }
}

/// Whether a send's control messages hold anything but SOL_SOCKET ones
/// (the common case has none and skips the parse).
pub(crate) fn has_ip_level(ctl: &[u8]) -> bool {
    let mut any = false;
    let _ = walk(ctl, |level, _, _| {
        any |= level != SOL_SOCKET;
        Ok(())
    });
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(level: i32, ty: i32, data: &[u8], pad: bool) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((HDR + data.len()) as u64).to_ne_bytes());
        v.extend_from_slice(&level.to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(data);
        if pad {
            while v.len() % 8 != 0 {
                v.push(0);
            }
        }
        v
    }

    fn any(_: IpAddr) -> bool {
        true
    }

    #[test]
    fn v6_hoplimit_and_tclass_with_linux_errno() {
        let mut c = cm(SOL_IPV6, IPV6_TCLASS, &(-1i32).to_ne_bytes(), true);
        c.extend(cm(SOL_IPV6, IPV6_HOPLIMIT, &2i32.to_ne_bytes(), true));
        let t = parse_v6(&c, &any).unwrap();
        assert_eq!((t.ttl, t.tos), (Some(2), None));
        // a TCLASS one byte too long (test_socket's testOddCmsgSize)
        let mut odd = cm(SOL_IPV6, IPV6_TCLASS, &[0, 0, 0, 0, 0], true);
        odd.extend(cm(SOL_IPV6, IPV6_HOPLIMIT, &2i32.to_ne_bytes(), true));
        assert_eq!(parse_v6(&odd, &any), Err(Errno::EINVAL));
        assert_eq!(
            parse_v6(&cm(SOL_IPV6, IPV6_HOPLIMIT, &256i32.to_ne_bytes(), true), &any),
            Err(Errno::EINVAL)
        );
        assert_eq!(parse_v6(&cm(SOL_IPV6, 999, &[], true), &any), Err(Errno::EINVAL));
        // other levels are not looked at
        let t = parse_v6(&cm(SOL_IP, IP_TTL, &0i32.to_ne_bytes(), true), &any).unwrap();
        assert_eq!(t, TxCtl::default());
        // a header running past the buffer
        let mut bad = cm(SOL_IPV6, IPV6_HOPLIMIT, &2i32.to_ne_bytes(), false);
        bad[0] = 40;
        assert_eq!(parse_v6(&bad, &any), Err(Errno::EINVAL));
    }

    #[test]
    fn v4_ttl_tos_pktinfo() {
        let mut c = cm(SOL_IP, IP_TTL, &3i32.to_ne_bytes(), true);
        c.extend(cm(SOL_IP, IP_TOS, &[0x10], true));
        let t = parse_v4(&c, false, &any).unwrap();
        assert_eq!((t.ttl, t.tos), (Some(3), Some(0x10)));
        assert_eq!(parse_v4(&cm(SOL_IP, IP_TTL, &0i32.to_ne_bytes(), true), false, &any), Err(Errno::EINVAL));
        assert_eq!(parse_v4(&cm(SOL_IP, IP_TOS, &[1, 2], true), false, &any), Err(Errno::EINVAL));
        let mut pi = [0u8; 12];
        pi[4..8].copy_from_slice(&[10, 9, 9, 9]);
        assert_eq!(parse_v4(&cm(SOL_IP, IP_PKTINFO, &pi, true), false, &|_| false), Err(Errno::EINVAL));
        let t = parse_v4(&cm(SOL_IP, IP_PKTINFO, &pi, true), false, &any).unwrap();
        assert_eq!(t.src, Some(IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9))));
        // IPv6 messages are ignored on an IPv4 send, except a v4-mapped
        // IPV6_PKTINFO on an AF_INET6 socket
        assert_eq!(parse_v4(&cm(SOL_IPV6, IPV6_HOPLIMIT, &[], true), false, &any), Ok(TxCtl::default()));
        let mut p6 = [0u8; 20];
        p6[..16].copy_from_slice(&Ipv6Addr::LOCALHOST.octets());
        assert_eq!(parse_v4(&cm(SOL_IPV6, IPV6_PKTINFO, &p6, true), true, &any), Err(Errno::EINVAL));
    }

    #[test]
    fn receive_order_and_layout() {
        let rx = Rx { dst: IpAddress::Ipv6(Ipv6Addr::LOCALHOST), dst_port: 7, ifindex: 1, ttl: 2, tos: 0 };
        let mut out = Vec::new();
        let w = want::V6_TCLASS | want::V6_HOPLIMIT | want::V6_PKTINFO;
        recv(Family::V6, w, &rx, &mut out).unwrap();
        let tys: Vec<i32> = out.iter().map(|c| c.ty).collect();
        assert_eq!(tys, [IPV6_PKTINFO, IPV6_HOPLIMIT, IPV6_TCLASS]);
        assert_eq!(out[0].data().len(), 20);
        assert_eq!(&out[0].data()[16..], &1i32.to_ne_bytes());
        assert_eq!(out[1].data(), &2i32.to_ne_bytes());
        // an IPv4 packet on an AF_INET6 socket: IPV6_PKTINFO (mapped) and
        // the IP_* ones only
        let rx4 = Rx { dst: IpAddress::Ipv4(Ipv4Addr::LOCALHOST), ..rx };
        out.clear();
        recv(Family::V6, w | want::TTL, &rx4, &mut out).unwrap();
        let tys: Vec<(i32, i32)> = out.iter().map(|c| (c.level, c.ty)).collect();
        assert_eq!(tys, [(SOL_IPV6, IPV6_PKTINFO), (SOL_IP, IP_TTL)]);
        assert_eq!(&out[0].data()[..16], &Ipv4Addr::LOCALHOST.to_ipv6_mapped().octets());
        out.clear();
        recv(Family::V4, want::PKTINFO | want::TOS | want::TTL, &rx4, &mut out).unwrap();
        let tys: Vec<i32> = out.iter().map(|c| c.ty).collect();
        assert_eq!(tys, [IP_PKTINFO, IP_TTL, IP_TOS]);
        assert_eq!(out[2].data(), &[0]);
        assert_eq!(out[0].data(), &[1, 0, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
    }
}
