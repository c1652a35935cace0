//! `struct sockaddr` as Linux reads and writes it.
//!
//! The kernel copies at most [`SOCKADDR_STORAGE`] bytes in (a longer or
//! negative `addrlen` is `EINVAL`, as `move_addr_to_kernel`); each family
//! then checks the bytes with its own rules, here. What a call writes back
//! is a [`SockAddrBuf`]: bytes and Linux's length, of which the kernel
//! copies `min(len, user's length)` and reports `len` (`move_addr_to_user`).

use crate::consts::*;
use linux_abi::{Errno, Result};

/// `sizeof(struct sockaddr_storage)`.
pub const SOCKADDR_STORAGE: usize = 128;
/// `sizeof(sa_family_t)`: `offsetof(struct sockaddr_un, sun_path)`.
pub const SUN_PATH_OFFSET: usize = 2;
/// `sizeof(sun_path)`.
pub const SUN_PATH_LEN: usize = 108;
/// `sizeof(struct sockaddr_un)`.
pub const SOCKADDR_UN_LEN: usize = SUN_PATH_OFFSET + SUN_PATH_LEN;
/// `sizeof(struct sockaddr_in)`.
pub const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(struct sockaddr_in6)`.
pub const SOCKADDR_IN6_LEN: usize = 28;
/// SIN6_LEN_RFC2133: the shortest sockaddr_in6 Linux accepts (no scope id).
pub const SOCKADDR_IN6_MIN: usize = 24;

/// The family field of a sockaddr (0 when shorter than two bytes).
pub fn family(bytes: &[u8]) -> u16 {
    if bytes.len() < 2 { 0 } else { u16::from_le_bytes([bytes[0], bytes[1]]) }
}

/// A socket address as a call writes it back: up to 128 bytes and the
/// length Linux reports (which may exceed what the caller's buffer takes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SockAddrBuf {
    bytes: [u8; SOCKADDR_STORAGE],
    len: usize,
}

impl core::fmt::Debug for SockAddrBuf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SockAddrBuf").field("bytes", &self.as_bytes()).finish()
    }
}

impl SockAddrBuf {
    /// `bytes` as an address of length `bytes.len()` (at most 128 kept).
    pub fn new(bytes: &[u8]) -> Self {
        let mut b = [0u8; SOCKADDR_STORAGE];
        let n = bytes.len().min(SOCKADDR_STORAGE);
        b[..n].copy_from_slice(&bytes[..n]);
        SockAddrBuf { bytes: b, len: n }
    }

    /// The address bytes (Linux's length).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Linux's length of the address.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the length is 0 (recvfrom from an unbound AF_UNIX sender).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// An unnamed AF_UNIX address: only the family, length 2.
    pub fn unix_unnamed() -> Self {
        Self::new(&AF_UNIX.to_le_bytes())
    }

    /// An IPv4 address: family, port (host order given, stored big-endian),
    /// the four address bytes, zero padding; length 16.
    pub fn inet(ip: [u8; 4], port: u16) -> Self {
        let mut b = [0u8; SOCKADDR_IN_LEN];
        b[..2].copy_from_slice(&AF_INET.to_le_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[4..8].copy_from_slice(&ip);
        Self::new(&b)
    }

    /// An IPv6 address with flow info and scope id; length 28.
    pub fn inet6(ip: [u8; 16], port: u16, flowinfo: u32, scope_id: u32) -> Self {
        let mut b = [0u8; SOCKADDR_IN6_LEN];
        b[..2].copy_from_slice(&AF_INET6.to_le_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[4..8].copy_from_slice(&flowinfo.to_be_bytes());
        b[8..24].copy_from_slice(&ip);
        b[24..28].copy_from_slice(&scope_id.to_le_bytes());
        Self::new(&b)
    }
}

/// The name of an AF_UNIX socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnixName {
    /// A filesystem path (no NUL; at most 107 bytes).
    Path(alloc::vec::Vec<u8>),
    /// An abstract name: the bytes after the leading NUL (any bytes).
    Abstract(alloc::vec::Vec<u8>),
}

impl UnixName {
    /// The sockaddr Linux stores for this name: a path with its NUL
    /// (`strlen + 3` bytes, as `unix_mkname_bsd`), an abstract name with
    /// its leading NUL and exactly its bytes.
    pub fn to_sockaddr(&self) -> SockAddrBuf {
        let mut b = [0u8; SOCKADDR_UN_LEN + 1];
        b[..2].copy_from_slice(&AF_UNIX.to_le_bytes());
        let len = match self {
            UnixName::Path(p) => {
                b[2..2 + p.len()].copy_from_slice(p);
                2 + p.len() + 1
            }
            UnixName::Abstract(n) => {
                b[3..3 + n.len()].copy_from_slice(n);
                3 + n.len()
            }
        };
        SockAddrBuf::new(&b[..len])
    }
}

/// Linux's `unix_validate_addr`: `EINVAL` unless the length holds more
/// than the family and at most a `sockaddr_un`, and the family is AF_UNIX.
pub fn unix_validate(bytes: &[u8]) -> Result<()> {
    if bytes.len() <= SUN_PATH_OFFSET || bytes.len() > SOCKADDR_UN_LEN || family(bytes) != AF_UNIX {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Parses an AF_UNIX address after [`unix_validate`]: a path ends at its
/// first NUL or at the length (`unix_mkname_bsd`); a leading NUL makes an
/// abstract name of every byte after it up to the length.
pub fn parse_unix(bytes: &[u8]) -> Result<UnixName> {
    unix_validate(bytes)?;
    let path = &bytes[SUN_PATH_OFFSET..];
    let mut v = alloc::vec::Vec::new();
    if path[0] == 0 {
        v.try_reserve(path.len() - 1).map_err(|_| Errno::ENOMEM)?;
        v.extend_from_slice(&path[1..]);
        return Ok(UnixName::Abstract(v));
    }
    let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
    // a full 108-byte path without NUL: Linux terminates it at 108
    v.try_reserve(end).map_err(|_| Errno::ENOMEM)?;
    v.extend_from_slice(&path[..end]);
    Ok(UnixName::Path(v))
}

/// Whether a bind of `bytes` asks for autobind: the length is exactly
/// `sizeof(sa_family_t)` and the family is AF_UNIX.
pub fn unix_is_autobind(bytes: &[u8]) -> bool {
    bytes.len() == SUN_PATH_OFFSET && family(bytes) == AF_UNIX
}

/// An IPv4 socket address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InetAddr {
    /// The address bytes (network order).
    pub ip: [u8; 4],
    /// The port (host order).
    pub port: u16,
}

impl InetAddr {
    /// With `ip`, `port`.
    pub fn new(ip: [u8; 4], port: u16) -> Self {
        InetAddr { ip, port }
    }
}

/// An IPv6 socket address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Inet6Addr {
    /// The address bytes.
    pub ip: [u8; 16],
    /// The port (host order).
    pub port: u16,
    /// sin6_flowinfo (host order).
    pub flowinfo: u32,
    /// sin6_scope_id (0 when the address was given in 24 bytes).
    pub scope_id: u32,
}

impl Inet6Addr {
    /// With `ip`, `port`, `flowinfo`, `scope_id`.
    pub fn new(ip: [u8; 16], port: u16, flowinfo: u32, scope_id: u32) -> Self {
        Inet6Addr { ip, port, flowinfo, scope_id }
    }
}

/// `inet_bind`'s reading of an AF_INET address: `EINVAL` shorter than 16
/// bytes; `EAFNOSUPPORT` for another family, except AF_UNSPEC with
/// INADDR_ANY, which Linux accepts as AF_INET.
pub fn parse_inet_bind(bytes: &[u8]) -> Result<InetAddr> {
    if bytes.len() < SOCKADDR_IN_LEN {
        return Err(Errno::EINVAL);
    }
    let a = inet_fields(bytes);
    match family(bytes) {
        AF_INET => Ok(a),
        AF_UNSPEC if a.ip == [0; 4] => Ok(a),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// `inet_stream_connect`/`udp` reading of an AF_INET destination:
/// `EINVAL` shorter than 16 bytes, `EAFNOSUPPORT` for another family
/// (AF_UNSPEC means disconnect: `Ok(None)`).
pub fn parse_inet_connect(bytes: &[u8]) -> Result<Option<InetAddr>> {
    if bytes.len() >= 2 && family(bytes) == AF_UNSPEC {
        return Ok(None);
    }
    if bytes.len() < SOCKADDR_IN_LEN {
        return Err(Errno::EINVAL);
    }
    if family(bytes) != AF_INET {
        return Err(Errno::EAFNOSUPPORT);
    }
    Ok(Some(inet_fields(bytes)))
}

fn inet_fields(b: &[u8]) -> InetAddr {
    InetAddr { ip: [b[4], b[5], b[6], b[7]], port: u16::from_be_bytes([b[2], b[3]]) }
}

/// `inet6_bind`'s reading of an AF_INET6 address: `EINVAL` shorter than
/// 24 bytes, `EAFNOSUPPORT` for another family; the scope id only when
/// the length holds it.
pub fn parse_inet6(bytes: &[u8]) -> Result<Inet6Addr> {
    if bytes.len() < SOCKADDR_IN6_MIN {
        return Err(Errno::EINVAL);
    }
    if family(bytes) != AF_INET6 {
        return Err(Errno::EAFNOSUPPORT);
    }
    let mut ip = [0u8; 16];
    ip.copy_from_slice(&bytes[8..24]);
    let scope_id = if bytes.len() >= SOCKADDR_IN6_LEN {
        u32::from_le_bytes([bytes[24], bytes[25], bytes[26], bytes[27]])
    } else {
        0
    };
    Ok(Inet6Addr {
        ip,
        port: u16::from_be_bytes([bytes[2], bytes[3]]),
        flowinfo: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        scope_id,
    })
}
