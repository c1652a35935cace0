//! `NETLINK_SOCK_DIAG` requests as Linux 6.1's `net/core/sock_diag.c`,
//! `net/ipv4/inet_diag.c` (TCP, UDP) and `net/unix/diag.c` answer them.
//!
//! `SOCK_DIAG_BY_FAMILY` with `NLM_F_DUMP` lists the sockets of a family
//! (`inet_diag_req_v2` for AF_INET/AF_INET6, `unix_diag_req` for AF_UNIX)
//! filtered by the state bits of the request and its ports; without
//! `NLM_F_DUMP` it looks one socket up (inet: by its addresses and ports,
//! unix: by inode). A family without a handler is `ENOENT`, one at or above
//! `AF_MAX` `EINVAL`, a short request `EINVAL`, another message type
//! `EINVAL`; an inet protocol without a handler ends the dump with
//! `NLMSG_DONE` carrying `-ENOENT`. Not done: the bytecode filter
//! (`INET_DIAG_REQ_BYTECODE` is ignored), `INET_DIAG_INFO`, `_MEMINFO`,
//! `_SKMEMINFO`, `_CONG`, `_CGROUP_ID`, `_SOCKOPT`, `UNIX_DIAG_MEMINFO`,
//! `SOCK_DESTROY` (`EOPNOTSUPP`), the old `TCPDIAG_GETSOCK` requests
//! (`EOPNOTSUPP`, as a kernel without `inet_diag`'s compat handler).
//!
//! The sockets come from the kernel through
//! [`RouteHost::diag_inet`](crate::netlink::RouteHost::diag_inet) and
//! [`RouteHost::diag_unix`](crate::netlink::RouteHost::diag_unix).

use crate::consts::{AF_INET, AF_INET6, AF_UNIX};
use alloc::vec::Vec;
use linux_abi::{Errno, Result};

/// The netlink protocol number.
pub const NETLINK_SOCK_DIAG: u32 = 4;
/// The old TCP request (`TCPDIAG_GETSOCK`).
pub const TCPDIAG_GETSOCK: u16 = 18;
/// The old DCCP request.
pub const DCCPDIAG_GETSOCK: u16 = 19;
/// The request and answer type.
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// Destroys a socket (not done here).
pub const SOCK_DESTROY: u16 = 21;
/// Linux 6.1's `AF_MAX`.
pub const AF_MAX: u8 = 46;
/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u8 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: u8 = 17;
/// `IPPROTO_UDPLITE` (no sockets of it here: an empty dump).
pub const IPPROTO_UDPLITE: u8 = 136;

/// `INET_DIAG_INFO` (a TCP socket's `struct tcp_info`, asked for by the
/// request's `idiag_ext` bit `1 << (INET_DIAG_INFO - 1)`).
pub const INET_DIAG_INFO: u16 = 2;
/// `INET_DIAG_SHUTDOWN`.
pub const INET_DIAG_SHUTDOWN: u16 = 8;
/// `INET_DIAG_SKV6ONLY`.
pub const INET_DIAG_SKV6ONLY: u16 = 11;
/// `INET_DIAG_MARK` (for a caller with CAP_NET_ADMIN).
pub const INET_DIAG_MARK: u16 = 15;

/// `UDIAG_SHOW_NAME`.
pub const UDIAG_SHOW_NAME: u32 = 0x1;
/// `UDIAG_SHOW_VFS`.
pub const UDIAG_SHOW_VFS: u32 = 0x2;
/// `UDIAG_SHOW_PEER`.
pub const UDIAG_SHOW_PEER: u32 = 0x4;
/// `UDIAG_SHOW_ICONS`.
pub const UDIAG_SHOW_ICONS: u32 = 0x8;
/// `UDIAG_SHOW_RQLEN`.
pub const UDIAG_SHOW_RQLEN: u32 = 0x10;
/// `UDIAG_SHOW_UID`.
pub const UDIAG_SHOW_UID: u32 = 0x40;
/// `UNIX_DIAG_NAME`.
pub const UNIX_DIAG_NAME: u16 = 0;
/// `UNIX_DIAG_VFS`.
pub const UNIX_DIAG_VFS: u16 = 1;
/// `UNIX_DIAG_PEER`.
pub const UNIX_DIAG_PEER: u16 = 2;
/// `UNIX_DIAG_ICONS`.
pub const UNIX_DIAG_ICONS: u16 = 3;
/// `UNIX_DIAG_RQLEN`.
pub const UNIX_DIAG_RQLEN: u16 = 4;
/// `UNIX_DIAG_SHUTDOWN`.
pub const UNIX_DIAG_SHUTDOWN: u16 = 6;
/// `UNIX_DIAG_UID`.
pub const UNIX_DIAG_UID: u16 = 7;

/// The size of `struct inet_diag_req_v2`.
pub const INET_REQ_LEN: usize = 56;
/// The size of `struct unix_diag_req`.
pub const UNIX_REQ_LEN: usize = 24;
/// `INET_DIAG_NOCOOKIE`.
const NOCOOKIE: u32 = u32::MAX;

/// One inet socket as `inet_diag` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InetDiag {
    /// AF_INET or AF_INET6.
    pub family: u16,
    /// IPPROTO_TCP or IPPROTO_UDP.
    pub protocol: u8,
    /// `sk_state` (TCP_ESTABLISHED 1 .. TCP_LISTEN 10; TCP_CLOSE 7 for
    /// an unconnected UDP socket).
    pub state: u8,
    /// Local address (an IPv4 one in the first 4 bytes).
    pub src: [u8; 16],
    /// Local port (host order).
    pub sport: u16,
    /// Peer address.
    pub dst: [u8; 16],
    /// Peer port (host order).
    pub dport: u16,
    /// `idiag_rqueue`: bytes unread, a listener's accept queue.
    pub rqueue: u32,
    /// `idiag_wqueue`: bytes unacknowledged, a listener's backlog.
    pub wqueue: u32,
    /// The owner's uid.
    pub uid: u32,
    /// The socket file's inode (0 for one no file holds).
    pub ino: u32,
    /// `sk_shutdown`.
    pub shutdown: u8,
    /// IPV6_V6ONLY.
    pub v6only: bool,
    /// A TCP socket's `struct tcp_info` (getsockopt(TCP_INFO)'s bytes)
    /// for `INET_DIAG_INFO`; empty for UDP (no such attribute).
    pub info: Vec<u8>,
}

/// One AF_UNIX socket as `unix_diag` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnixDiagSock {
    /// SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET.
    pub ty: u8,
    /// `sk_state`: TCP_ESTABLISHED 1, TCP_CLOSE 7, TCP_LISTEN 10.
    pub state: u8,
    /// The socket file's inode.
    pub ino: u32,
    /// `UNIX_DIAG_NAME`: the `sun_path` bytes Linux stores (a path with
    /// its NUL, an abstract name with its leading NUL).
    pub name: Option<Vec<u8>>,
    /// `UNIX_DIAG_VFS`: the bound node's inode and device.
    pub vfs: Option<(u32, u32)>,
    /// `UNIX_DIAG_PEER`: the peer's inode.
    pub peer: Option<u32>,
    /// `UNIX_DIAG_ICONS` of a listener: the inodes of the connecting
    /// sockets waiting in its queue.
    pub icons: Vec<u32>,
    /// `UNIX_DIAG_RQLEN`.
    pub rqueue: u32,
    /// `UNIX_DIAG_RQLEN`'s second word.
    pub wqueue: u32,
    /// `sk_shutdown`.
    pub shutdown: u8,
    /// The owner's uid.
    pub uid: u32,
}

fn u32le(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Where an answer goes: `begin(type, body)` starts a message, `attr`
/// appends to it.
pub(crate) trait Out {
    fn begin(&mut self, body: &[u8]) -> Result<()>;
    fn attr(&mut self, ty: u16, d: &[u8]) -> Result<()>;
}

/// What a request asks for.
pub(crate) enum Answer {
    /// A dump ended by `NLMSG_DONE` carrying this errno (0: none).
    Dump(i32),
    /// A single answer (no ack unless asked).
    Done,
}

/// The `inet_diag_sockid` of `s` (ports and addresses in network order).
fn sockid(s: &InetDiag, cookie: [u32; 2], out: &mut [u8]) {
    out[0..2].copy_from_slice(&s.sport.to_be_bytes());
    out[2..4].copy_from_slice(&s.dport.to_be_bytes());
    if s.family == AF_INET {
        out[4..8].copy_from_slice(&s.src[..4]);
        out[20..24].copy_from_slice(&s.dst[..4]);
    } else {
        out[4..20].copy_from_slice(&s.src);
        out[20..36].copy_from_slice(&s.dst);
    }
    out[40..44].copy_from_slice(&cookie[0].to_le_bytes());
    out[44..48].copy_from_slice(&cookie[1].to_le_bytes());
}

/// The `inet_diag_msg` of `s` with its attributes (`inet_sk_diag_fill`;
/// a TIME_WAIT one as `inet_twsk_diag_fill`).
pub(crate) fn inet_msg(s: &InetDiag, net_admin: bool, ext: u8, out: &mut dyn Out) -> Result<()> {
    let mut m = [0u8; 72];
    m[0] = s.family as u8;
    m[1] = s.state;
    let tw = s.state == 6;
    m[2] = if tw { 3 } else { 0 };
    // the socket's cookie: its inode (unique while it is open)
    sockid(s, [s.ino, 0], &mut m[4..52]);
    m[56..60].copy_from_slice(&s.rqueue.to_le_bytes());
    m[60..64].copy_from_slice(&s.wqueue.to_le_bytes());
    m[64..68].copy_from_slice(&s.uid.to_le_bytes());
    m[68..72].copy_from_slice(&s.ino.to_le_bytes());
    out.begin(&m)?;
    if tw {
        return Ok(());
    }
    out.attr(INET_DIAG_SHUTDOWN, &[s.shutdown])?;
    if s.family == AF_INET6 && (s.state == 10 || s.state == 7) {
        out.attr(INET_DIAG_SKV6ONLY, &[u8::from(s.v6only)])?;
    }
    if net_admin {
        out.attr(INET_DIAG_MARK, &0u32.to_le_bytes())?;
    }
    if ext & (1 << (INET_DIAG_INFO - 1)) != 0 && !s.info.is_empty() {
        out.attr(INET_DIAG_INFO, &s.info)?;
    }
    Ok(())
}

/// Whether `s` passes a dump's filters (family, state bits, ports).
fn inet_match(req: &[u8], s: &InetDiag) -> bool {
    let family = u16::from(req[0]);
    let states = u32le(req, 4);
    let sport = u16::from_be_bytes([req[8], req[9]]);
    let dport = u16::from_be_bytes([req[10], req[11]]);
    (family == 0 || family == s.family)
        && s.protocol == req[1]
        && states & (1u32 << (s.state & 31)) != 0
        && (sport == 0 || sport == s.sport)
        && (dport == 0 || s.state == 10 || dport == s.dport)
}

/// `inet_diag_cmd_exact`'s lookup: the socket with the request's ports
/// and addresses (and cookie when one is given).
fn inet_exact<'a>(req: &[u8], socks: &'a [InetDiag]) -> Option<&'a InetDiag> {
    let family = u16::from(req[0]);
    let (sport, dport) = (u16::from_be_bytes([req[8], req[9]]), u16::from_be_bytes([req[10], req[11]]));
    let cookie = [u32le(req, 48), u32le(req, 52)];
    socks.iter().find(|s| {
        let mut id = [0u8; 48];
        sockid(s, [0, 0], &mut id);
        s.family == family
            && s.protocol == req[1]
            && s.sport == sport
            && s.dport == dport
            && id[4..36] == req[12..44]
            && (cookie == [NOCOOKIE, NOCOOKIE] || cookie == [s.ino, 0])
    })
}

/// The `unix_diag_msg` of `s` with the attributes `show` asks for
/// (`sk_diag_fill`).
pub(crate) fn unix_msg(s: &UnixDiagSock, show: u32, out: &mut dyn Out) -> Result<()> {
    let mut m = [0u8; 16];
    m[0] = AF_UNIX as u8;
    m[1] = s.ty;
    m[2] = s.state;
    m[4..8].copy_from_slice(&s.ino.to_le_bytes());
    m[8..12].copy_from_slice(&s.ino.to_le_bytes());
    out.begin(&m)?;
    if show & UDIAG_SHOW_NAME != 0
        && let Some(n) = &s.name
    {
        out.attr(UNIX_DIAG_NAME, n)?;
    }
    if show & UDIAG_SHOW_VFS != 0
        && let Some((ino, dev)) = s.vfs
    {
        let mut v = [0u8; 8];
        v[..4].copy_from_slice(&ino.to_le_bytes());
        v[4..].copy_from_slice(&dev.to_le_bytes());
        out.attr(UNIX_DIAG_VFS, &v)?;
    }
    if show & UDIAG_SHOW_PEER != 0
        && let Some(p) = s.peer
    {
        out.attr(UNIX_DIAG_PEER, &p.to_le_bytes())?;
    }
    if show & UDIAG_SHOW_ICONS != 0 && s.state == 10 {
        let mut v = Vec::new();
        v.try_reserve_exact(4 * s.icons.len()).map_err(|_| Errno::ENOBUFS)?;
        for i in &s.icons {
            v.extend_from_slice(&i.to_le_bytes());
        }
        out.attr(UNIX_DIAG_ICONS, &v)?;
    }
    if show & UDIAG_SHOW_RQLEN != 0 {
        let mut v = [0u8; 8];
        v[..4].copy_from_slice(&s.rqueue.to_le_bytes());
        v[4..].copy_from_slice(&s.wqueue.to_le_bytes());
        out.attr(UNIX_DIAG_RQLEN, &v)?;
    }
    out.attr(UNIX_DIAG_SHUTDOWN, &[s.shutdown])?;
    if show & UDIAG_SHOW_UID != 0 {
        out.attr(UNIX_DIAG_UID, &s.uid.to_le_bytes())?;
    }
    Ok(())
}

/// Answers one `NETLINK_SOCK_DIAG` request of type `ty` with `flags` and
/// `body` (`sock_diag_rcv_msg`).
pub(crate) fn request(
    host: &dyn crate::netlink::RouteHost,
    ty: u16,
    dump: bool,
    body: &[u8],
    out: &mut dyn Out,
) -> Result<Answer> {
    match ty {
        TCPDIAG_GETSOCK | DCCPDIAG_GETSOCK => return Err(Errno::EOPNOTSUPP),
        SOCK_DIAG_BY_FAMILY | SOCK_DESTROY => {}
        _ => return Err(Errno::EINVAL),
    }
    // struct sock_diag_req
    if body.len() < 2 {
        return Err(Errno::EINVAL);
    }
    let family = body[0];
    if family >= AF_MAX {
        return Err(Errno::EINVAL);
    }
    match u16::from(family) {
        AF_INET | AF_INET6 => {
            if body.len() < INET_REQ_LEN {
                return Err(Errno::EINVAL);
            }
            if ty == SOCK_DESTROY {
                return Err(Errno::EOPNOTSUPP);
            }
            let proto = body[1];
            let known = matches!(proto, IPPROTO_TCP | IPPROTO_UDP | IPPROTO_UDPLITE);
            if dump {
                if !known {
                    return Ok(Answer::Dump(-Errno::ENOENT.as_i32()));
                }
                let admin = host.net_admin();
                for s in host.diag_inet(u16::from(family), proto)?.iter().filter(|s| inet_match(body, s)) {
                    inet_msg(s, admin, body[2], out)?;
                }
                return Ok(Answer::Dump(0));
            }
            if !known {
                return Err(Errno::ENOENT);
            }
            let socks = host.diag_inet(u16::from(family), proto)?;
            let s = inet_exact(body, &socks).ok_or(Errno::ENOENT)?;
            inet_msg(s, host.net_admin(), body[2], out)?;
            Ok(Answer::Done)
        }
        AF_UNIX => {
            if body.len() < UNIX_REQ_LEN {
                return Err(Errno::EINVAL);
            }
            if ty == SOCK_DESTROY {
                return Err(Errno::EOPNOTSUPP);
            }
            let (states, ino, show) = (u32le(body, 4), u32le(body, 8), u32le(body, 12));
            let socks = host.diag_unix()?;
            if dump {
                for s in socks.iter().filter(|s| states & (1u32 << (s.state & 31)) != 0) {
                    unix_msg(s, show, out)?;
                }
                return Ok(Answer::Dump(0));
            }
            // unix_diag_get_exact
            if ino == 0 {
                return Err(Errno::EINVAL);
            }
            let s = socks.iter().find(|s| s.ino == ino).ok_or(Errno::ENOENT)?;
            let cookie = [u32le(body, 16), u32le(body, 20)];
            if cookie != [NOCOOKIE, NOCOOKIE] && cookie != [s.ino, 0] {
                return Err(Errno::ESTALE);
            }
            unix_msg(s, show, out)?;
            Ok(Answer::Done)
        }
        _ => Err(Errno::ENOENT),
    }
}
