//! setsockopt(2)/getsockopt(2) for internet sockets with Linux's levels,
//! names, lengths and errno (`sk_setsockopt`, `do_tcp_setsockopt`,
//! `do_ipv6_setsockopt`, `do_ip_setsockopt`).

use linux_abi::{Errno, Result};

use crate::cmsg::want;
use crate::rawip::{
    ICMP_FILTER, ICMP6_FILTER, IP_HDRINCL, IPPROTO_ICMP, IPPROTO_ICMPV6, IPV6_CHECKSUM, IPV6_HDRINCL, SOL_RAW,
};
use crate::{Family, Kind, SockId, St, Stack};

/// SOL_SOCKET.
pub const SOL_SOCKET: i32 = 1;
/// IPPROTO_IP.
pub const SOL_IP: i32 = 0;
/// IPPROTO_TCP.
pub const SOL_TCP: i32 = 6;
/// IPPROTO_UDP.
pub const SOL_UDP: i32 = 17;
/// IPPROTO_IPV6.
pub const SOL_IPV6: i32 = 41;
/// IPPROTO_UDPLITE.
pub const SOL_UDPLITE: i32 = 136;
/// IP_RECVERR (kept only: the error queue stays empty).
pub const IP_RECVERR: i32 = 11;
/// IPV6_RECVERR (kept only).
pub const IPV6_RECVERR: i32 = 25;
/// IPPROTO_ICMPV6 (ICMP6_FILTER's level).
pub const SOL_ICMPV6: i32 = 58;

/// UDPLITE_SEND_CSCOV.
pub const UDPLITE_SEND_CSCOV: i32 = 10;
/// UDPLITE_RECV_CSCOV.
pub const UDPLITE_RECV_CSCOV: i32 = 11;
/// IPV6_TCLASS.
pub const IPV6_TCLASS: i32 = 67;
/// IPV6_DONTFRAG.
pub const IPV6_DONTFRAG: i32 = 62;
/// IPV6_PKTINFO (the sticky `struct in6_pktinfo`).
pub const IPV6_PKTINFO: i32 = 50;

/// The SOL_IP options that ask for a control message on receive.
const IP_RECV: [(i32, u32); 6] = [
    (6, want::RECVOPTS), // IP_RECVOPTS
    (7, want::RETOPTS),  // IP_RETOPTS
    (8, want::PKTINFO),  // IP_PKTINFO
    (12, want::TTL),     // IP_RECVTTL
    (13, want::TOS),     // IP_RECVTOS
    (20, want::ORIGDST), // IP_RECVORIGDSTADDR
];

/// The SOL_IPV6 options that ask for a control message on receive.
const IPV6_RECV: [(i32, u32); 14] = [
    (2, want::V6_O_PKTINFO),  // IPV6_2292PKTINFO
    (3, want::V6_O_HOPOPTS),  // IPV6_2292HOPOPTS
    (4, want::V6_O_DSTOPTS),  // IPV6_2292DSTOPTS
    (5, want::V6_O_RTHDR),    // IPV6_2292RTHDR
    (8, want::V6_O_HOPLIMIT), // IPV6_2292HOPLIMIT
    (11, want::V6_FLOWINFO),  // IPV6_FLOWINFO
    (49, want::V6_PKTINFO),   // IPV6_RECVPKTINFO
    (51, want::V6_HOPLIMIT),  // IPV6_RECVHOPLIMIT
    (53, want::V6_HOPOPTS),   // IPV6_RECVHOPOPTS
    (56, want::V6_RTHDR),     // IPV6_RECVRTHDR
    (58, want::V6_DSTOPTS),   // IPV6_RECVDSTOPTS
    (60, want::V6_PATHMTU),   // IPV6_RECVPATHMTU
    (66, want::V6_TCLASS),    // IPV6_RECVTCLASS
    (74, want::V6_ORIGDST),   // IPV6_RECVORIGDSTADDR
];

fn recv_bit(table: &[(i32, u32)], name: i32) -> Option<u32> {
    table.iter().find(|(n, _)| *n == name).map(|&(_, b)| b)
}

/// do_ip_setsockopt's value of an int option: an int, or one byte when
/// shorter, or 0 when empty.
fn ip_int_of(val: &[u8]) -> i32 {
    match val.len() {
        0 => 0,
        1..=3 => i32::from(val[0]),
        _ => i32::from_ne_bytes([val[0], val[1], val[2], val[3]]),
    }
}

/// SO_REUSEADDR.
pub const SO_REUSEADDR: i32 = 2;
/// SO_TYPE.
pub const SO_TYPE: i32 = 3;
/// SO_ERROR.
pub const SO_ERROR: i32 = 4;
/// SO_BROADCAST.
pub const SO_BROADCAST: i32 = 6;
/// SO_SNDBUF.
pub const SO_SNDBUF: i32 = 7;
/// SO_RCVBUF.
pub const SO_RCVBUF: i32 = 8;
/// SO_KEEPALIVE.
pub const SO_KEEPALIVE: i32 = 9;
/// SO_OOBINLINE.
pub const SO_OOBINLINE: i32 = 10;
/// SO_LINGER.
pub const SO_LINGER: i32 = 13;
/// SO_REUSEPORT.
pub const SO_REUSEPORT: i32 = 15;
/// SO_RCVLOWAT.
pub const SO_RCVLOWAT: i32 = 18;
/// SO_SNDLOWAT.
pub const SO_SNDLOWAT: i32 = 19;
/// SO_RCVTIMEO (the old timeval form).
pub const SO_RCVTIMEO: i32 = 20;
/// SO_SNDTIMEO (the old timeval form).
pub const SO_SNDTIMEO: i32 = 21;
/// SO_ACCEPTCONN.
pub const SO_ACCEPTCONN: i32 = 30;
/// SO_PROTOCOL.
pub const SO_PROTOCOL: i32 = 38;
/// SO_DOMAIN.
pub const SO_DOMAIN: i32 = 39;

/// TCP_NODELAY.
pub const TCP_NODELAY: i32 = 1;
/// TCP_MAXSEG.
pub const TCP_MAXSEG: i32 = 2;
/// TCP_KEEPIDLE.
pub const TCP_KEEPIDLE: i32 = 4;
/// TCP_KEEPINTVL.
pub const TCP_KEEPINTVL: i32 = 5;
/// TCP_KEEPCNT.
pub const TCP_KEEPCNT: i32 = 6;
/// TCP_CORK.
pub const TCP_CORK: i32 = 3;
/// TCP_SYNCNT.
pub const TCP_SYNCNT: i32 = 7;
/// TCP_LINGER2.
pub const TCP_LINGER2: i32 = 8;
/// TCP_DEFER_ACCEPT.
pub const TCP_DEFER_ACCEPT: i32 = 9;
/// TCP_QUICKACK.
pub const TCP_QUICKACK: i32 = 12;
/// TCP_CONGESTION.
pub const TCP_CONGESTION: i32 = 13;
/// TCP_USER_TIMEOUT.
pub const TCP_USER_TIMEOUT: i32 = 18;
/// TCP_FASTOPEN.
pub const TCP_FASTOPEN: i32 = 23;
/// TCP_NOTSENT_LOWAT.
pub const TCP_NOTSENT_LOWAT: i32 = 25;
/// TCP_INFO (its value: [`crate::Stack::tcp_info`]).
pub const TCP_INFO: i32 = 11;

/// IP_TOS.
pub const IP_TOS: i32 = 1;
/// IP_TTL.
pub const IP_TTL: i32 = 2;
/// IPV6_UNICAST_HOPS.
pub const IPV6_UNICAST_HOPS: i32 = 16;
/// IPV6_V6ONLY.
pub const IPV6_V6ONLY: i32 = 26;

/// net.core.rmem_max / wmem_max.
const BUF_MAX: u32 = 212992;
/// Linux's HZ (Debian's 250): socket timeouts are kept in jiffies.
const HZ: u64 = 250;

/// A getsockopt value: up to 32 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OptVal {
    /// The bytes.
    pub bytes: [u8; 32],
    /// How many are used.
    pub len: usize,
}

impl OptVal {
    fn int(v: i32) -> OptVal {
        let mut bytes = [0; 32];
        bytes[..4].copy_from_slice(&v.to_ne_bytes());
        OptVal { bytes, len: 4 }
    }

    fn pair(a: i64, b: i64, wide: bool) -> OptVal {
        let mut bytes = [0; 32];
        if wide {
            bytes[..8].copy_from_slice(&a.to_ne_bytes());
            bytes[8..16].copy_from_slice(&b.to_ne_bytes());
            OptVal { bytes, len: 16 }
        } else {
            bytes[..4].copy_from_slice(&(a as i32).to_ne_bytes());
            bytes[4..8].copy_from_slice(&(b as i32).to_ne_bytes());
            OptVal { bytes, len: 8 }
        }
    }

    /// The value as an int (the first four bytes).
    pub fn as_int(&self) -> i32 {
        i32::from_ne_bytes([self.bytes[0], self.bytes[1], self.bytes[2], self.bytes[3]])
    }

    /// The used bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

fn int_of(val: &[u8]) -> Result<i32> {
    if val.len() < 4 {
        return Err(Errno::EINVAL);
    }
    Ok(i32::from_ne_bytes([val[0], val[1], val[2], val[3]]))
}

/// Linux's initial retransmission timeout and its cap, in seconds
/// (TCP_TIMEOUT_INIT, TCP_RTO_MAX): TCP_DEFER_ACCEPT's unit.
const RTO_INIT_SECS: i32 = 1;
const RTO_MAX_SECS: i32 = 120;

/// TCP_DEFER_ACCEPT's seconds as the number of doubling retransmission
/// periods that first cover them (Linux's secs_to_retrans; at most 255,
/// 0 for none).
fn secs_to_retrans(seconds: i32) -> u8 {
    if seconds <= 0 {
        return 0;
    }
    let (mut res, mut timeout, mut period) = (1u8, RTO_INIT_SECS, RTO_INIT_SECS);
    while seconds > period && res < 255 {
        res += 1;
        timeout = (timeout * 2).min(RTO_MAX_SECS);
        period += timeout;
    }
    res
}

/// The seconds `retrans` retransmission periods cover (Linux's
/// retrans_to_secs): what getsockopt(TCP_DEFER_ACCEPT) reports.
fn retrans_to_secs(retrans: u8) -> i32 {
    if retrans == 0 {
        return 0;
    }
    let (mut timeout, mut period) = (RTO_INIT_SECS, RTO_INIT_SECS);
    for _ in 1..retrans {
        timeout = (timeout * 2).min(RTO_MAX_SECS);
        period += timeout;
    }
    period
}

/// A struct timeval into microseconds as sock_set_timeout (0 = none);
/// EDOM for tv_usec out of range, EINVAL when short.
fn timeo_of(val: &[u8]) -> Result<u64> {
    if val.len() < 16 {
        return Err(Errno::EINVAL);
    }
    let mut s = [0u8; 8];
    let mut u = [0u8; 8];
    s.copy_from_slice(&val[..8]);
    u.copy_from_slice(&val[8..16]);
    let (sec, usec) = (i64::from_ne_bytes(s), i64::from_ne_bytes(u));
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec < 0 {
        // Linux stores 0, which reads back as no timeout.
        return Ok(0);
    }
    if sec == 0 && usec == 0 {
        return Ok(0);
    }
    let step = 1_000_000 / HZ;
    let jiffies = (sec as u64).saturating_mul(HZ).saturating_add((usec as u64).div_ceil(step));
    Ok(jiffies.saturating_mul(step))
}

impl Stack {
    /// setsockopt(2).
    pub fn setsockopt(&mut self, id: SockId, level: i32, name: i32, val: &[u8]) -> Result<()> {
        let s = self.sock(id)?;
        let (kind, family, bound, protocol) = (s.kind, s.family, s.bound || s.user_bound, s.protocol);
        // neither TCP_CLOSE nor TCP_LISTEN
        let connected = matches!(s.st, crate::St::Tcp { .. });
        let o = &mut self.sock_mut(id)?.opts;
        match (level, name) {
            (SOL_SOCKET, SO_REUSEADDR) => o.reuseaddr = int_of(val)? != 0,
            (SOL_SOCKET, SO_REUSEPORT) => o.reuseport = int_of(val)? != 0,
            (SOL_SOCKET, SO_KEEPALIVE) => o.keepalive = int_of(val)? != 0,
            (SOL_SOCKET, SO_BROADCAST) => o.broadcast = int_of(val)? != 0,
            (SOL_SOCKET, SO_OOBINLINE) => o.oobinline = int_of(val)? != 0,
            (SOL_SOCKET, SO_RCVLOWAT | SO_SNDLOWAT) => {
                int_of(val)?;
            }
            (SOL_SOCKET, SO_SNDBUF) => {
                let v = (int_of(val)? as u32).min(BUF_MAX);
                o.sndbuf = (v * 2).max(4608);
                o.buf_locked.1 = true;
            }
            (SOL_SOCKET, SO_RCVBUF) => {
                let v = (int_of(val)? as u32).min(BUF_MAX);
                o.rcvbuf = (v * 2).max(2304);
                o.buf_locked.0 = true;
            }
            (SOL_SOCKET, SO_LINGER) => {
                if val.len() < 8 {
                    return Err(Errno::EINVAL);
                }
                let on = int_of(&val[..4])?;
                let secs = int_of(&val[4..8])?;
                o.linger = (on != 0, secs);
            }
            (SOL_SOCKET, SO_RCVTIMEO) => o.rcvtimeo_us = timeo_of(val)?,
            (SOL_SOCKET, SO_SNDTIMEO) => o.sndtimeo_us = timeo_of(val)?,
            (SOL_TCP, _) if kind != Kind::Tcp => return Err(Errno::ENOPROTOOPT),
            (SOL_TCP, TCP_NODELAY) => o.nodelay = int_of(val)? != 0,
            (SOL_TCP, TCP_MAXSEG) => {
                let v = int_of(val)?;
                if v != 0 && !(88..=32767).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                o.maxseg = v;
            }
            (SOL_TCP, TCP_KEEPIDLE | TCP_KEEPINTVL) => {
                let v = int_of(val)?;
                if !(1..=32767).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                if name == TCP_KEEPIDLE {
                    o.keep.0 = v;
                } else {
                    o.keep.1 = v;
                }
            }
            (SOL_TCP, TCP_KEEPCNT) => {
                let v = int_of(val)?;
                if !(1..=127).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                o.keep.2 = v;
            }
            (SOL_TCP, TCP_DEFER_ACCEPT) => o.defer_accept = secs_to_retrans(int_of(val)?),
            (SOL_TCP, TCP_CONGESTION) => {
                // tcp_set_congestion_control: the name up to its NUL, at
                // most 15 bytes; the two built-in ones, ENOENT else
                if val.is_empty() {
                    return Err(Errno::EINVAL);
                }
                let name = &val[..val.len().min(15)];
                let name = name.split(|&c| c == 0).next().unwrap_or(name);
                o.tcp_kept.reno = match name {
                    b"cubic" => false,
                    b"reno" => true,
                    _ => return Err(Errno::ENOENT),
                };
            }
            (SOL_TCP, TCP_CORK) => o.tcp_kept.cork = int_of(val)? != 0,
            // any int, kept as Linux's u32 (0: the sysctl's default)
            (SOL_TCP, TCP_NOTSENT_LOWAT) => o.notsent_lowat = int_of(val)? as u32,
            (SOL_TCP, TCP_SYNCNT) => {
                let v = int_of(val)?;
                if !(1..=127).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                o.tcp_kept.syncnt = v as u8;
            }
            // TCP_FIN_TIMEOUT_MAX: 120 s
            (SOL_TCP, TCP_LINGER2) => o.tcp_kept.linger2 = int_of(val)?.clamp(-1, 120),
            (SOL_TCP, TCP_QUICKACK) => o.tcp_kept.no_quickack = int_of(val)? == 0,
            (SOL_TCP, TCP_USER_TIMEOUT) => {
                o.tcp_kept.user_timeout = u32::try_from(int_of(val)?).map_err(|_| Errno::EINVAL)?;
            }
            (SOL_TCP, TCP_FASTOPEN) => {
                let v = int_of(val)?;
                if v < 0 || connected {
                    return Err(Errno::EINVAL);
                }
                o.tcp_kept.fastopen = v;
            }
            (SOL_UDP | SOL_UDPLITE, _) if kind == Kind::Udp => {
                let v = int_of(val)?;
                // udp_lib_setsockopt: the coverage of UDP-Lite only
                if !matches!(name, UDPLITE_SEND_CSCOV | UDPLITE_RECV_CSCOV) || protocol != SOL_UDPLITE {
                    return Err(Errno::ENOPROTOOPT);
                }
                let v = if v != 0 && v < 8 { 8 } else { v.min(0xffff) };
                if name == UDPLITE_SEND_CSCOV {
                    o.cscov.0 = v;
                } else {
                    o.cscov.1 = v;
                }
            }
            // raw sockets (raw.c's raw_setsockopt, rawv6_setsockopt)
            (SOL_RAW, ICMP_FILTER) if kind == Kind::Raw && family == Family::V4 => {
                if protocol != IPPROTO_ICMP {
                    return Err(Errno::EOPNOTSUPP);
                }
                // the bytes given, at most the mask's four
                let mut m = o.icmp_filter.to_ne_bytes();
                let n = val.len().min(4);
                m[..n].copy_from_slice(&val[..n]);
                o.icmp_filter = u32::from_ne_bytes(m);
            }
            (SOL_ICMPV6, ICMP6_FILTER) if kind == Kind::Raw && family == Family::V6 => {
                if protocol != IPPROTO_ICMPV6 {
                    return Err(Errno::EOPNOTSUPP);
                }
                let n = val.len().min(32);
                for (i, c) in val[..n].chunks(4).enumerate() {
                    let mut w = o.icmp6_filter[i].to_ne_bytes();
                    w[..c.len()].copy_from_slice(c);
                    o.icmp6_filter[i] = u32::from_ne_bytes(w);
                }
            }
            (SOL_ICMPV6, _) if kind == Kind::Raw && family == Family::V6 => {
                if protocol != IPPROTO_ICMPV6 {
                    return Err(Errno::EOPNOTSUPP);
                }
                return Err(Errno::ENOPROTOOPT);
            }
            (SOL_RAW | SOL_IPV6, IPV6_CHECKSUM) if kind == Kind::Raw && family == Family::V6 => {
                let v = int_of(val)?;
                // RFC 3542: not at the IPv6 level on ICMPv6 sockets
                if (protocol == IPPROTO_ICMPV6 && level == SOL_IPV6) || (v > 0 && v & 1 != 0) {
                    return Err(Errno::EINVAL);
                }
                o.v6_checksum = v.max(-1);
            }
            (SOL_RAW | SOL_IPV6, IPV6_HDRINCL) if kind == Kind::Raw && family == Family::V6 => {
                o.hdrincl = int_of(val)? != 0;
            }
            (SOL_RAW, _) if kind == Kind::Raw && family == Family::V6 => return Err(Errno::ENOPROTOOPT),
            (SOL_IPV6, IPV6_HDRINCL) if family == Family::V6 => return Err(Errno::EINVAL),
            (SOL_IP, IP_RECVERR) if family == Family::V4 => o.recverr = ip_int_of(val) != 0,
            (SOL_IPV6, IPV6_RECVERR) if family == Family::V6 => o.recverr = int_of(val)? != 0,
            (SOL_IP, IP_HDRINCL) if family == Family::V4 => {
                if kind != Kind::Raw {
                    return Err(Errno::ENOPROTOOPT);
                }
                o.hdrincl = ip_int_of(val) != 0;
            }
            (SOL_IP, n) if let Some(bit) = recv_bit(&IP_RECV, n) => {
                if ip_int_of(val) != 0 {
                    o.recv |= bit;
                } else {
                    o.recv &= !bit;
                }
            }
            (SOL_IP, _) if family == Family::V6 && name != IP_TTL && name != IP_TOS => {
                return Err(Errno::ENOPROTOOPT);
            }
            (SOL_IP, IP_TTL) => {
                let v = int_of(val)?;
                if v != -1 && !(1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                o.ttl = v;
            }
            (SOL_IP, IP_TOS) => {
                // __ip_sock_set_tos: a byte; TCP keeps its ECN bits
                let v = ip_int_of(val) as u8;
                o.tos = if kind == Kind::Tcp { (v & !3) | (o.tos & 3) } else { v };
            }
            (SOL_IPV6, _) if family == Family::V4 => return Err(Errno::ENOPROTOOPT),
            (SOL_IPV6, IPV6_V6ONLY) => {
                let v = int_of(val)?;
                if bound {
                    return Err(Errno::EINVAL);
                }
                o.v6only = v != 0;
            }
            (SOL_IPV6, n) if let Some(bit) = recv_bit(&IPV6_RECV, n) => {
                if int_of(val)? != 0 {
                    o.recv |= bit;
                } else {
                    o.recv &= !bit;
                }
            }
            (SOL_IPV6, IPV6_TCLASS) => {
                let v = int_of(val)?;
                if !(-1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                // RFC 3542 6.5: -1 is the default, 0
                o.tclass = v.max(0) as u8;
            }
            (SOL_IPV6, IPV6_DONTFRAG) => o.dontfrag = int_of(val).unwrap_or(0) != 0,
            (SOL_IPV6, IPV6_PKTINFO) => {
                // the sticky source: checked, not used for routing
                if val.len() < 20 {
                    return Err(Errno::EINVAL);
                }
            }
            (SOL_IPV6, IPV6_UNICAST_HOPS) => {
                let v = int_of(val)?;
                if !(-1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                o.ttl = v;
            }
            _ => return Err(Errno::ENOPROTOOPT),
        }
        self.apply_opts(id);
        Ok(())
    }

    /// getsockopt(2): the value; the caller truncates to the user's length.
    pub fn getsockopt(&mut self, id: SockId, level: i32, name: i32) -> Result<OptVal> {
        if (level, name) == (SOL_SOCKET, SO_ERROR) {
            let e = self.take_error(id)?;
            return Ok(OptVal::int(e.map_or(0, |e| e.as_i32())));
        }
        let listening = self.is_listening(id);
        let s = self.sock(id)?;
        let o = &s.opts;
        let b = |v: bool| OptVal::int(i32::from(v));
        let timeo = |us: u64| OptVal::pair((us / 1_000_000) as i64, (us % 1_000_000) as i64, true);
        Ok(match (level, name) {
            (SOL_SOCKET, SO_REUSEADDR) => b(o.reuseaddr),
            (SOL_SOCKET, SO_REUSEPORT) => b(o.reuseport),
            (SOL_SOCKET, SO_KEEPALIVE) => b(o.keepalive),
            (SOL_SOCKET, SO_BROADCAST) => b(o.broadcast),
            (SOL_SOCKET, SO_OOBINLINE) => b(o.oobinline),
            (SOL_SOCKET, SO_RCVLOWAT | SO_SNDLOWAT) => OptVal::int(1),
            (SOL_SOCKET, SO_SNDBUF) => OptVal::int(o.sndbuf as i32),
            (SOL_SOCKET, SO_RCVBUF) => OptVal::int(o.rcvbuf as i32),
            (SOL_SOCKET, SO_LINGER) => OptVal::pair(i64::from(o.linger.0), i64::from(o.linger.1), false),
            (SOL_SOCKET, SO_RCVTIMEO) => timeo(o.rcvtimeo_us),
            (SOL_SOCKET, SO_SNDTIMEO) => timeo(o.sndtimeo_us),
            (SOL_SOCKET, SO_TYPE) => OptVal::int(match s.kind {
                Kind::Tcp => 1,
                Kind::Udp | Kind::Ping => 2,
                Kind::Raw => 3,
            }),
            (SOL_SOCKET, SO_PROTOCOL) => OptVal::int(s.protocol),
            (SOL_SOCKET, SO_DOMAIN) => OptVal::int(match s.family {
                Family::V4 => 2,
                Family::V6 => 10,
            }),
            (SOL_SOCKET, SO_ACCEPTCONN) => b(listening),
            (SOL_TCP, _) if s.kind != Kind::Tcp => return Err(Errno::EOPNOTSUPP),
            (SOL_TCP, TCP_NODELAY) => b(o.nodelay),
            (SOL_TCP, TCP_MAXSEG) => OptVal::int(match s.st {
                St::Tcp { .. } => 65483,
                _ if o.maxseg != 0 => o.maxseg,
                _ => 536,
            }),
            (SOL_TCP, TCP_KEEPIDLE) => OptVal::int(o.keep.0),
            (SOL_TCP, TCP_KEEPINTVL) => OptVal::int(o.keep.1),
            (SOL_TCP, TCP_KEEPCNT) => OptVal::int(o.keep.2),
            (SOL_TCP, TCP_DEFER_ACCEPT) => OptVal::int(retrans_to_secs(o.defer_accept)),
            (SOL_TCP, TCP_CORK) => b(o.tcp_kept.cork),
            (SOL_TCP, TCP_NOTSENT_LOWAT) => OptVal::int(o.notsent_lowat as i32),
            (SOL_TCP, TCP_SYNCNT) => {
                OptVal::int(if o.tcp_kept.syncnt == 0 { 6 } else { i32::from(o.tcp_kept.syncnt) })
            }
            (SOL_TCP, TCP_LINGER2) => {
                OptVal::int(if o.tcp_kept.linger2 == 0 { 60 } else { o.tcp_kept.linger2 })
            }
            (SOL_TCP, TCP_QUICKACK) => b(!o.tcp_kept.no_quickack),
            (SOL_TCP, TCP_USER_TIMEOUT) => OptVal::int(o.tcp_kept.user_timeout as i32),
            (SOL_TCP, TCP_FASTOPEN) => OptVal::int(o.tcp_kept.fastopen),
            (SOL_TCP, TCP_CONGESTION) => {
                let mut bytes = [0; 32];
                let name: &[u8] = if o.tcp_kept.reno { b"reno" } else { b"cubic" };
                bytes[..name.len()].copy_from_slice(name);
                OptVal { bytes, len: 16 }
            }
            (SOL_RAW, ICMP_FILTER) if s.kind == Kind::Raw && s.family == Family::V4 => {
                if s.protocol != IPPROTO_ICMP {
                    return Err(Errno::EOPNOTSUPP);
                }
                OptVal::int(o.icmp_filter as i32)
            }
            (SOL_ICMPV6, ICMP6_FILTER) if s.kind == Kind::Raw && s.family == Family::V6 => {
                if s.protocol != IPPROTO_ICMPV6 {
                    return Err(Errno::EOPNOTSUPP);
                }
                let mut bytes = [0; 32];
                for (i, w) in o.icmp6_filter.iter().enumerate() {
                    bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
                }
                OptVal { bytes, len: 32 }
            }
            (SOL_RAW | SOL_IPV6, IPV6_CHECKSUM) if s.kind == Kind::Raw && s.family == Family::V6 => {
                OptVal::int(o.v6_checksum)
            }
            (SOL_RAW | SOL_IPV6, IPV6_HDRINCL) if s.kind == Kind::Raw && s.family == Family::V6 => {
                b(o.hdrincl)
            }
            (SOL_IP, IP_HDRINCL) if s.family == Family::V4 => b(o.hdrincl),
            (SOL_IP, IP_RECVERR) if s.family == Family::V4 => b(o.recverr),
            (SOL_IPV6, IPV6_RECVERR) if s.family == Family::V6 => b(o.recverr),
            (SOL_IP, IP_TTL) => OptVal::int(if o.ttl > 0 { o.ttl } else { 64 }),
            (SOL_IP, IP_TOS) => OptVal::int(i32::from(o.tos)),
            (SOL_IP, n) if let Some(bit) = recv_bit(&IP_RECV, n) => b(o.recv & bit != 0),
            (SOL_UDP | SOL_UDPLITE, UDPLITE_SEND_CSCOV) if s.kind == Kind::Udp => OptVal::int(o.cscov.0),
            (SOL_UDP | SOL_UDPLITE, UDPLITE_RECV_CSCOV) if s.kind == Kind::Udp => OptVal::int(o.cscov.1),
            (SOL_IPV6, _) if s.family == Family::V4 => return Err(Errno::EOPNOTSUPP),
            (SOL_IPV6, IPV6_V6ONLY) => b(o.v6only),
            (SOL_IPV6, IPV6_UNICAST_HOPS) => OptVal::int(if o.ttl > 0 { o.ttl } else { 64 }),
            (SOL_IPV6, n) if let Some(bit) = recv_bit(&IPV6_RECV, n) => b(o.recv & bit != 0),
            (SOL_IPV6, IPV6_TCLASS) => OptVal::int(i32::from(o.tclass)),
            (SOL_IPV6, IPV6_DONTFRAG) => b(o.dontfrag),
            _ => return Err(Errno::ENOPROTOOPT),
        })
    }
}
