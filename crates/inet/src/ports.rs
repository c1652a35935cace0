//! The port table: which local (address, port) pairs are bound, and
//! Linux's rules for sharing them (`inet_csk_bind_conflict`,
//! `inet6_rcv_saddr_equal`).

use alloc::vec::Vec;
use core::net::IpAddr;

use linux_abi::{Errno, Result};

/// The first ephemeral port (`net.ipv4.ip_local_port_range` 32768 60999).
pub const EPHEMERAL_FIRST: u16 = 32768;
/// The last ephemeral port.
pub const EPHEMERAL_LAST: u16 = 60999;

/// Which port space an entry lives in (TCP and UDP ports are separate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    /// TCP ports.
    Tcp,
    /// UDP ports.
    Udp,
    /// ICMP echo identifiers of ping sockets.
    Icmp,
}

/// One bound socket.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Entry {
    /// The port space.
    pub space: Space,
    /// The port.
    pub port: u16,
    /// The bound address in the socket's own family (v4-mapped addresses
    /// of a v6 socket are kept as they are).
    pub addr: IpAddr,
    /// The socket is AF_INET6.
    pub v6: bool,
    /// IPV6_V6ONLY.
    pub v6only: bool,
    /// SO_REUSEADDR.
    pub reuseaddr: bool,
    /// SO_REUSEPORT.
    pub reuseport: bool,
    /// The socket listens (TCP).
    pub listening: bool,
    /// The owner (a socket id).
    pub owner: u32,
}

/// The v4 address an entry's address stands for, if it takes v4 traffic:
/// `None` = does not take v4, `Some(None)` = any v4 address.
fn v4_view(e: &Entry) -> Option<Option<[u8; 4]>> {
    match e.addr {
        IpAddr::V4(a) => Some(if a.is_unspecified() { None } else { Some(a.octets()) }),
        IpAddr::V6(a) => {
            if let Some(m) = a.to_ipv4_mapped() {
                Some(Some(m.octets()))
            } else if a.is_unspecified() && !e.v6only {
                Some(None)
            } else {
                None
            }
        }
    }
}

/// The v6 address an entry stands for, if it takes v6 traffic.
fn v6_view(e: &Entry) -> Option<Option<[u8; 16]>> {
    match e.addr {
        IpAddr::V4(_) => None,
        IpAddr::V6(a) => {
            if a.to_ipv4_mapped().is_some() {
                None
            } else if a.is_unspecified() {
                Some(None)
            } else {
                Some(Some(a.octets()))
            }
        }
    }
}

fn overlap<T: PartialEq>(a: Option<Option<T>>, b: Option<Option<T>>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => match (x, y) {
            (None, _) | (_, None) => true,
            (Some(x), Some(y)) => x == y,
        },
        _ => false,
    }
}

/// Whether two entries' addresses overlap (a packet could reach both).
pub fn addrs_overlap(a: &Entry, b: &Entry) -> bool {
    overlap(v4_view(a), v4_view(b)) || overlap(v6_view(a), v6_view(b))
}

/// Whether `new` may share its port with `old` when their addresses overlap.
fn may_share(new: &Entry, old: &Entry) -> bool {
    if new.reuseport && old.reuseport {
        return true;
    }
    match new.space {
        Space::Tcp => new.reuseaddr && old.reuseaddr && !old.listening && !new.listening,
        Space::Udp | Space::Icmp => new.reuseaddr && old.reuseaddr,
    }
}

/// The table of bound ports.
#[derive(Default)]
pub struct PortTable {
    entries: Vec<Entry>,
    next: u16,
}

impl PortTable {
    /// An empty table.
    pub fn new() -> PortTable {
        PortTable { entries: Vec::new(), next: EPHEMERAL_FIRST }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `e` could be added next to the entries there are
    /// (ignoring `e.owner`'s own entry).
    pub fn conflicts(&self, e: &Entry) -> bool {
        self.entries.iter().any(|o| {
            o.owner != e.owner
                && o.space == e.space
                && o.port == e.port
                && addrs_overlap(e, o)
                && !may_share(e, o)
        })
    }

    /// Adds `e`; with port 0 an ephemeral port is chosen. Returns the port.
    /// EADDRINUSE on a conflict (or when no ephemeral port is free),
    /// ENOBUFS when memory runs out.
    pub fn add(&mut self, mut e: Entry) -> Result<u16> {
        self.entries.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
        if e.port == 0 {
            let span = u32::from(EPHEMERAL_LAST - EPHEMERAL_FIRST) + 1;
            let mut found = None;
            for _ in 0..span {
                let p = self.next;
                self.next = if p >= EPHEMERAL_LAST { EPHEMERAL_FIRST } else { p + 1 };
                e.port = p;
                // An ephemeral port is taken only if nobody holds it at all.
                if !self.entries.iter().any(|o| o.space == e.space && o.port == p) {
                    found = Some(p);
                    break;
                }
            }
            if found.is_none() {
                return Err(Errno::EADDRINUSE);
            }
        } else if self.conflicts(&e) {
            return Err(Errno::EADDRINUSE);
        }
        self.entries.push(e);
        Ok(e.port)
    }

    /// Marks `owner`'s entry listening; EADDRINUSE if another listener
    /// holds an overlapping address without SO_REUSEPORT on both.
    pub fn set_listening(&mut self, owner: u32) -> Result<()> {
        let Some(me) = self.entries.iter().find(|e| e.owner == owner).copied() else {
            return Err(Errno::EINVAL);
        };
        let clash = self.entries.iter().any(|o| {
            o.owner != owner
                && o.space == me.space
                && o.port == me.port
                && o.listening
                && addrs_overlap(&me, o)
                && !(me.reuseport && o.reuseport)
        });
        if clash {
            return Err(Errno::EADDRINUSE);
        }
        for e in self.entries.iter_mut().filter(|e| e.owner == owner) {
            e.listening = true;
        }
        Ok(())
    }

    /// Whether a socket in `space` is bound where a packet to `addr`:`port`
    /// arrives (`addr` in the smoltcp form: v4-mapped addresses are v4).
    pub fn bound_at(&self, space: Space, addr: IpAddr, port: u16) -> bool {
        let probe = Entry {
            space,
            port,
            addr,
            v6: addr.is_ipv6(),
            v6only: false,
            reuseaddr: false,
            reuseport: false,
            listening: false,
            owner: u32::MAX,
        };
        self.entries.iter().any(|e| e.space == space && e.port == port && addrs_overlap(&probe, e))
    }

    /// Whether any socket in `space` holds `port` (on any address).
    pub fn in_use(&self, space: Space, port: u16) -> bool {
        self.entries.iter().any(|e| e.space == space && e.port == port)
    }

    /// Removes `owner`'s entry.
    pub fn remove(&mut self, owner: u32) {
        self.entries.retain(|e| e.owner != owner);
    }
}
