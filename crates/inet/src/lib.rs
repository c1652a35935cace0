//! Internet sockets (AF_INET, AF_INET6) with Linux's semantics, over the
//! `smoltcp` TCP/IP stack.
//!
//! # The model
//!
//! A [`Stack`] value (no globals) holds the network interfaces (the
//! loopback `lo` with 127.0.0.1/8 and ::1 is always there; further ones,
//! e.g. an Ethernet NIC, come through [`Stack::add_interface`], generic
//! over `smoltcp::phy::Device`), one smoltcp `SocketSet` per interface,
//! the table of user sockets ([`SockId`]) and the port table
//! ([`ports::PortTable`]).
//!
//! Every operation is non-blocking: it does what it can and returns
//! `EAGAIN` (or `EINPROGRESS` for a connect) otherwise; the caller (the
//! kernel) sleeps on its wait queues and retries. [`Stack::poll`] moves
//! packets (loopback delivery happens there) and returns the sockets whose
//! readiness ([`Stack::events`], Linux's `tcp_poll`/`datagram_poll` bits)
//! changed, so the caller can wake exactly those; [`Stack::poll_delay`]
//! says when smoltcp's timers next need a poll.
//!
//! On top of smoltcp the crate adds what Linux users see: bind rules
//! (INADDR_ANY, ephemeral ports 32768-60999, EADDRINUSE, SO_REUSEADDR,
//! SO_REUSEPORT, EADDRNOTAVAIL, EINVAL on a second bind), a listen backlog
//! (smoltcp listens for one connection per socket, so a listener keeps up
//! to [`MAX_PENDING`] listening smoltcp sockets per interface and refills
//! on accept), connect errors (ECONNREFUSED on RST, ETIMEDOUT,
//! ECONNRESET, EALREADY, EISCONN), shutdown, socket options (with
//! getsockopt's doubled buffer sizes), IPV6_V6ONLY with v4-mapped
//! addresses, UDP datagrams (MSG_TRUNC lengths, EMSGSIZE) and ICMP echo
//! (ping sockets and raw ICMP sockets).
//!
//! ```
//! use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
//! use inet::testing::{ManualClock, pump};
//! use inet::{Family, Stack};
//! use linux_abi::Errno;
//!
//! let clock = ManualClock::default();
//! let mut st = Stack::new(clock.now(), 42);
//! let addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5000));
//!
//! let listener = st.socket(Family::V4, 1, 0, false).unwrap(); // SOCK_STREAM
//! st.bind(listener, addr, false).unwrap();
//! st.listen(listener, 4).unwrap();
//! let client = st.socket(Family::V4, 1, 0, false).unwrap();
//! assert_eq!(st.connect(client, addr, true), Err(Errno::EINPROGRESS));
//! pump(&mut st, &clock);
//! assert_eq!(st.connect(client, addr, true), Ok(()));
//! let (server, _) = st.accept(listener).unwrap();
//!
//! assert_eq!(st.send(client, b"hello"), Ok(5));
//! pump(&mut st, &clock);
//! let mut buf = [0u8; 16];
//! assert_eq!(st.recv(server, &mut buf, true), Ok(5));
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod cmsg;
mod info;
mod lo;
mod urgent;
pub use info::TCP_INFO_LEN;
mod meta;
pub mod opt;
pub mod route;
pub use route::{RouteInfo, RouteSel, Upsert};
pub mod ports;
pub mod rawip;

/// The smoltcp this crate is built on (for devices and addresses).
pub use smoltcp;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use linux_abi::{Errno, Result};
use smoltcp::iface::{Config, Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::phy::Device;
use smoltcp::socket::{icmp, raw, tcp, udp};
pub use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, IpListenEndpoint, IpProtocol, IpVersion,
    Ipv4Cidr, Ipv6Cidr,
};

use ports::{Entry, PortTable, Space};

/// epoll/poll event bits (Linux's values).
pub mod events {
    /// Readable.
    pub const EPOLLIN: u32 = 0x001;
    /// Urgent data.
    pub const EPOLLPRI: u32 = 0x002;
    /// Writable.
    pub const EPOLLOUT: u32 = 0x004;
    /// Error.
    pub const EPOLLERR: u32 = 0x008;
    /// Hang-up.
    pub const EPOLLHUP: u32 = 0x010;
    /// Normal data readable.
    pub const EPOLLRDNORM: u32 = 0x040;
    /// Normal data writable.
    pub const EPOLLWRNORM: u32 = 0x100;
    /// Priority data writable.
    pub const EPOLLWRBAND: u32 = 0x200;
    /// The peer shut down its writing half.
    pub const EPOLLRDHUP: u32 = 0x2000;
}
use events::*;

/// The most connections (accepted or not yet) a listener keeps queued
/// per interface: `min(backlog + 1, MAX_PENDING)`, as Linux's accept
/// queue holds backlog + 1.
pub const MAX_PENDING: usize = 128;
/// Listening smoltcp sockets kept free per interface (each takes one
/// SYN; loopback delivers at most one connect's SYN per poll).
pub const FREE_LISTENERS: usize = 2;
/// Linux's connect timeout (6 SYN retries, about 127 s).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(127);
/// How long an orphaned (closed by the user) connection may linger
/// (tcp_fin_timeout).
pub const ORPHAN_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest UDP payload over IPv4 (65535 - 20 - 8).
pub const UDP_MAX_V4: usize = 65507;
/// The largest UDP payload over IPv6 without fragmentation (65535 - 40 - 8).
pub const UDP_MAX_V6: usize = 65487;

/// Interface flags (Linux's IFF_*).
pub mod iff {
    /// Interface is up.
    pub const UP: u16 = 0x1;
    /// Broadcast address valid.
    pub const BROADCAST: u16 = 0x2;
    /// Is a loopback net.
    pub const LOOPBACK: u16 = 0x8;
    /// Resources allocated.
    pub const RUNNING: u16 = 0x40;
    /// Supports multicast.
    pub const MULTICAST: u16 = 0x1000;
}

/// The address family of a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// AF_INET.
    V4,
    /// AF_INET6.
    V6,
}

/// What kind of internet socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SOCK_STREAM, IPPROTO_TCP.
    Tcp,
    /// SOCK_DGRAM, IPPROTO_UDP.
    Udp,
    /// SOCK_DGRAM, IPPROTO_ICMP: a ping socket.
    Ping,
    /// SOCK_RAW of any IP protocol (CAP_NET_RAW): the protocol is the
    /// socket's `protocol` (IPPROTO_RAW: send only, IP_HDRINCL implied).
    Raw,
}

/// A user socket in a [`Stack`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SockId(pub u32);

/// `shutdown(2)`'s `how`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// SHUT_RD.
    Read,
    /// SHUT_WR.
    Write,
    /// SHUT_RDWR.
    Both,
}

/// The socket options a socket carries.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Opts {
    /// SO_REUSEADDR.
    pub reuseaddr: bool,
    /// SO_REUSEPORT.
    pub reuseport: bool,
    /// SO_KEEPALIVE.
    pub keepalive: bool,
    /// SO_BROADCAST.
    pub broadcast: bool,
    /// SO_OOBINLINE.
    pub oobinline: bool,
    /// TCP_NODELAY.
    pub nodelay: bool,
    /// IPV6_V6ONLY.
    pub v6only: bool,
    /// SO_LINGER: (l_onoff, l_linger).
    pub linger: (bool, i32),
    /// SO_RCVBUF as getsockopt reports it (doubled).
    pub rcvbuf: u32,
    /// SO_SNDBUF as getsockopt reports it (doubled).
    pub sndbuf: u32,
    /// SO_RCVBUF / SO_SNDBUF were set (Linux's SOCK_RCVBUF_LOCK and
    /// SOCK_SNDBUF_LOCK: no autotuning; see [`TCP_AUTO_RX`]).
    pub buf_locked: (bool, bool),
    /// SO_RCVTIMEO in microseconds (0 = none).
    pub rcvtimeo_us: u64,
    /// SO_SNDTIMEO in microseconds (0 = none).
    pub sndtimeo_us: u64,
    /// IP_TTL / IPV6_UNICAST_HOPS (-1 = default 64).
    pub ttl: i32,
    /// TCP_MAXSEG as set (0 = default).
    pub maxseg: i32,
    /// TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT.
    pub keep: (i32, i32, i32),
    /// TCP_DEFER_ACCEPT as Linux keeps it: a count of SYN-ACK
    /// retransmissions (0 = off). Kept and reported only: accept(2)
    /// hands a connection over at once, as Linux does once the period
    /// has passed without data.
    pub defer_accept: u8,
    /// The TCP options kept and reported as Linux reports them, with
    /// no effect on the stack here (TCP_CORK's holding back, TCP_SYNCNT,
    /// TCP_LINGER2, TCP_QUICKACK, TCP_USER_TIMEOUT, TCP_FASTOPEN's
    /// queue, TCP_CONGESTION's choice).
    pub tcp_kept: TcpKept,
    /// IP_TOS.
    pub tos: u8,
    /// IPV6_TCLASS.
    pub tclass: u8,
    /// IPV6_DONTFRAG.
    pub dontfrag: bool,
    /// The control messages a receive gives ([`cmsg::want`] bits).
    pub recv: u32,
    /// UDPLITE_SEND_CSCOV and UDPLITE_RECV_CSCOV.
    pub cscov: (i32, i32),
    /// TCP_NOTSENT_LOWAT (0: the default, net.ipv4.tcp_notsent_lowat =
    /// `u32::MAX`, no limit).
    pub notsent_lowat: u32,
    /// IP_HDRINCL / IPV6_HDRINCL (a raw socket sends whole IP packets;
    /// IPPROTO_RAW's are set from the start).
    pub hdrincl: bool,
    /// ICMP_FILTER's mask (raw ICMP sockets).
    pub icmp_filter: u32,
    /// ICMP6_FILTER's bits (raw ICMPv6 sockets).
    pub icmp6_filter: [u32; 8],
    /// IPV6_CHECKSUM's offset (-1: off; ICMPv6 sockets always 2).
    pub v6_checksum: i32,
    /// IP_RECVERR / IPV6_RECVERR, kept and reported only: no ICMP error
    /// reaches a socket's error queue here (it stays empty).
    pub recverr: bool,
}

/// TCP options a socket keeps for getsockopt without acting on them:
/// the program sees Linux's values, the connection behaves as with
/// their defaults (data is not held back by TCP_CORK, the stack's own
/// SYN retries and timeouts apply, no fast open, one congestion
/// control).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TcpKept {
    /// TCP_CORK.
    pub cork: bool,
    /// TCP_SYNCNT (0: the default, net.ipv4.tcp_syn_retries = 6).
    pub syncnt: u8,
    /// TCP_LINGER2 in seconds (-1: off; 0: the default, tcp_fin_timeout
    /// = 60).
    pub linger2: i32,
    /// TCP_QUICKACK turned off (Linux's pingpong mode).
    pub no_quickack: bool,
    /// TCP_USER_TIMEOUT in milliseconds.
    pub user_timeout: u32,
    /// TCP_FASTOPEN's queue length.
    pub fastopen: i32,
    /// TCP_CONGESTION is "reno" (else "cubic").
    pub reno: bool,
}

#[derive(Debug)]
enum St {
    /// Fresh or bound, no smoltcp socket.
    Idle,
    /// A TCP listener: listening smoltcp sockets per interface.
    Listen { backlog: i32, pend: Vec<(usize, SocketHandle)>, eps: Vec<(usize, IpListenEndpoint)> },
    /// A TCP connection (or an attempt).
    Tcp { ifx: usize, h: SocketHandle, connected: bool, fin_rcvd: bool, fin_sent: bool, started: Instant },
    /// A TCP socket whose connection ended (its smoltcp socket is gone).
    Dead,
    /// A datagram socket: one smoltcp socket per interface.
    Dgram { hs: Vec<(usize, SocketHandle)> },
}

#[derive(Debug)]
struct Sock {
    family: Family,
    kind: Kind,
    protocol: i32,
    /// The local address (as the user sees it) once bound or connected.
    local: Option<SocketAddr>,
    /// An entry in the port table is held.
    bound: bool,
    /// The user called bind() (a second bind is EINVAL).
    user_bound: bool,
    /// The peer of a connected datagram socket.
    peer: Option<SocketAddr>,
    opts: Opts,
    st: St,
    /// sk_err: the pending error SO_ERROR reads.
    err: Option<Errno>,
    shut_rd: bool,
    shut_wr: bool,
    last_events: u32,
    /// Linux's `sock->state` (SS_UNCONNECTED, SS_CONNECTING, SS_CONNECTED).
    ss: Ss,
    /// A blocking connect is waiting (its deadline call gives EINPROGRESS).
    conn_wait: bool,
    /// Bytes of this connection's stream taken by sends (the next byte's
    /// offset: urgent marks are offsets in the stream).
    sent: u64,
    /// Bytes of this connection's stream taken by receives (including an
    /// urgent byte skipped): the offset of the first byte queued.
    read: u64,
    /// The urgent mark of the incoming stream (Linux's `urg_seq` and
    /// `urg_data`), `None` once the reader passed it.
    urg: Option<Urg>,
}

/// An urgent mark in a TCP receive stream.
#[derive(Clone, Copy, Debug)]
struct Urg {
    /// The urgent byte's offset in the stream.
    at: u64,
    /// Its value.
    byte: u8,
    /// recv(MSG_OOB) took it (Linux's TCP_URG_READ).
    taken: bool,
}

/// An urgent mark sent to a connection still in a listener's queue
/// (handed to the socket accept(2) makes of it).
#[derive(Clone, Copy, Debug)]
struct EarlyUrg {
    ifx: usize,
    h: SocketHandle,
    local: IpEndpoint,
    remote: IpEndpoint,
    urg: Urg,
}

/// At most this many urgent marks wait for accept(2) (the oldest go).
const MAX_EARLY_URG: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ss {
    Unconnected,
    Connecting,
    Connected,
}

trait Link: Send {
    /// A smoltcp interface for this link's device.
    fn interface(&mut self, config: Config, now: Instant) -> Interface;
    /// The device's MTU (IP packet size for an IP medium, frame size for
    /// Ethernet).
    fn mtu(&self) -> usize;
    fn poll(&mut self, iface: &mut Interface, now: Instant, set: &mut SocketSet<'static>) -> bool;
    /// Packets wait in the device (loopback: another poll delivers them).
    fn pending(&self) -> bool {
        false
    }
    /// The IPv6 UDP datagram with `payload` just queued from `sport` to
    /// `dst`:`dport` carries the metadata `id` ([`meta::Pending`]).
    fn expect_v6(&mut self, sport: u16, dst: [u8; 16], dport: u16, id: u32, payload: &[u8]);
    /// Runs `f` over the packets waiting to be received ([`lo::Lo::filter`];
    /// a NIC's wait in its driver and are not seen).
    fn filter(&mut self, f: &mut dyn FnMut(&mut [u8]) -> Option<usize>) {
        let _ = f;
    }
    /// Keeps copies of the packets sent for packet sockets (lo only).
    fn set_capture(&mut self, on: bool) {
        let _ = on;
    }
    /// Moves the copies kept to `out`.
    fn take_captured(&mut self, out: &mut Vec<Vec<u8>>) {
        let _ = out;
    }
    /// Sends a whole IP packet (a packet socket's): `None` when the link
    /// cannot, `Some(false)` when it had no room.
    fn inject(&mut self, p: &[u8]) -> Option<bool> {
        let _ = p;
        None
    }
}

struct LoLink(lo::Lo);

impl Link for LoLink {
    fn interface(&mut self, config: Config, now: Instant) -> Interface {
        Interface::new(config, &mut self.0, now)
    }

    fn mtu(&self) -> usize {
        self.0.capabilities().max_transmission_unit
    }

    fn poll(&mut self, iface: &mut Interface, now: Instant, set: &mut SocketSet<'static>) -> bool {
        iface.poll(now, &mut self.0, set) == PollResult::SocketStateChanged
    }

    fn pending(&self) -> bool {
        self.0.pending()
    }

    fn expect_v6(&mut self, sport: u16, dst: [u8; 16], dport: u16, id: u32, payload: &[u8]) {
        self.0.pending.push(sport, dst, dport, id, payload);
    }

    fn filter(&mut self, f: &mut dyn FnMut(&mut [u8]) -> Option<usize>) {
        self.0.filter(f);
    }

    fn set_capture(&mut self, on: bool) {
        self.0.set_capture(on);
    }

    fn take_captured(&mut self, out: &mut Vec<Vec<u8>>) {
        self.0.take_captured(out);
    }

    fn inject(&mut self, p: &[u8]) -> Option<bool> {
        Some(self.0.inject(p))
    }
}

struct DevLink<D>(D, meta::Pending);

impl<D: Device + Send> Link for DevLink<D> {
    fn interface(&mut self, config: Config, now: Instant) -> Interface {
        Interface::new(config, &mut self.0, now)
    }

    fn mtu(&self) -> usize {
        self.0.capabilities().max_transmission_unit
    }

    fn poll(&mut self, iface: &mut Interface, now: Instant, set: &mut SocketSet<'static>) -> bool {
        iface.poll(now, self, set) == PollResult::SocketStateChanged
    }

    fn expect_v6(&mut self, sport: u16, dst: [u8; 16], dport: u16, id: u32, payload: &[u8]) {
        self.1.push(sport, dst, dport, id, payload);
    }
}

/// A NIC's device as the interface polls it: what it sends gets the
/// sender's TTL/TOS ([`meta`]). (What it receives carries no header
/// values: its receive token is the driver's.)
impl<D: Device> Device for DevLink<D> {
    type RxToken<'a>
        = D::RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = MetaTx<'a, D::TxToken<'a>>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let eth = self.0.capabilities().medium == smoltcp::phy::Medium::Ethernet;
        let DevLink(dev, pending) = self;
        dev.receive(now).map(|(rx, tx)| (rx, MetaTx(tx, 0, eth, pending)))
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        let eth = self.0.capabilities().medium == smoltcp::phy::Medium::Ethernet;
        let DevLink(dev, pending) = self;
        dev.transmit(now).map(|tx| MetaTx(tx, 0, eth, pending))
    }

    fn capabilities(&self) -> smoltcp::phy::DeviceCapabilities {
        self.0.capabilities()
    }
}

/// A driver's send token with the packet's metadata id, whether frames
/// start with an Ethernet header, and the IPv6 datagrams' ids.
struct MetaTx<'a, T>(T, u32, bool, &'a mut meta::Pending);

impl<T: smoltcp::phy::TxToken> smoltcp::phy::TxToken for MetaTx<'_, T> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let MetaTx(tx, id, eth, pending) = self;
        tx.consume(len, |buf| {
            let r = f(buf);
            let ip = if eth { buf.get_mut(14..) } else { Some(buf) };
            if let Some(ip) = ip {
                let id = if id == 0 { pending.take_for(ip) } else { id };
                meta::apply_tx(id, ip);
            }
            r
        })
    }

    fn set_meta(&mut self, m: smoltcp::phy::PacketMeta) {
        self.1 = m.id;
        self.0.set_meta(m);
    }
}

/// What SIOCGIF* report about an interface.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct IfInfo {
    /// The name ("lo", "eth0").
    pub name: String,
    /// The interface index (lo is 1).
    pub index: u32,
    /// IFF_* flags.
    pub flags: u16,
    /// The MTU.
    pub mtu: u32,
    /// The hardware address (zero for lo).
    pub mac: [u8; 6],
    /// The first IPv4 address and its prefix length.
    pub ipv4: Option<(Ipv4Addr, u8)>,
    /// Every IPv4 address with its prefix length, in order.
    pub ipv4_all: Vec<(Ipv4Addr, u8)>,
    /// The IPv6 addresses and their prefix lengths.
    pub ipv6: Vec<(Ipv6Addr, u8)>,
    /// The IPv4 default gateway through this interface (the table's first
    /// default route out of it).
    pub gw4: Option<Ipv4Addr>,
}

/// Where a listing of [`Stack::unowned_tcp_batch`] goes on (`default()`:
/// from the start).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnownedCursor {
    orphan: usize,
    sock: usize,
    pend: usize,
}

/// What the kernel's socket tables (/proc/net/tcp, udp, raw, their v6
/// forms, and sock_diag) show of a socket: [`Stack::sock_info`],
/// [`Stack::unowned_tcp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SockInfo {
    /// The family (a connection without a user socket: its addresses').
    pub family: Family,
    /// The kind.
    pub kind: Kind,
    /// Linux's `sk_state`: TCP_ESTABLISHED 1, TCP_SYN_SENT 2, ...
    /// TCP_CLOSE 7 (an unconnected datagram socket), TCP_LISTEN 10.
    pub state: u8,
    /// The local address and port (the wildcard when unbound).
    pub local: SocketAddr,
    /// The peer's (the wildcard when none).
    pub remote: SocketAddr,
    /// Bytes sent and not yet acknowledged (TCP).
    pub tx_queue: u32,
    /// Bytes received and not yet read (TCP); a listener's queue of
    /// connections waiting for accept.
    pub rx_queue: u32,
    /// Whether Linux's lookup tables hold it (what /proc/net lists): a
    /// listening or connected TCP socket, a bound datagram socket, a raw
    /// socket; not a fresh or only bound TCP socket.
    pub hashed: bool,
    /// A listener's backlog (`sk_max_ack_backlog`), 0 for the others.
    pub backlog: u32,
}

/// Linux's `sk_state` of a smoltcp TCP state.
fn linux_tcp_state(st: tcp::State) -> u8 {
    match st {
        tcp::State::Established => 1,
        tcp::State::SynSent => 2,
        tcp::State::SynReceived => 3,
        tcp::State::FinWait1 => 4,
        tcp::State::FinWait2 => 5,
        tcp::State::TimeWait => 6,
        tcp::State::Closed => 7,
        tcp::State::CloseWait => 8,
        tcp::State::LastAck => 9,
        tcp::State::Listen => 10,
        tcp::State::Closing => 11,
    }
}

struct Iface {
    name: String,
    index: u32,
    flags: u16,
    mtu: u32,
    mac: [u8; 6],
    loopback: bool,
    iface: Interface,
    link: Box<dyn Link>,
    set: SocketSet<'static>,
    /// The addresses past smoltcp's fixed table (`route::SMOLTCP_ADDRS`),
    /// in order after its: reached through lo (which takes every local
    /// address), not answered for on the link (ARP, NDP) nor chosen as a
    /// source for a remote destination.
    extra: Vec<IpCidr>,
}

impl Iface {
    /// Every address in order: smoltcp's table, then [`Iface::extra`].
    fn all_addrs(&self) -> impl Iterator<Item = &IpCidr> {
        self.iface.ip_addrs().iter().chain(self.extra.iter())
    }

    /// Drops every address.
    fn clear_addrs(&mut self) {
        self.iface.update_ip_addrs(|a| a.clear());
        self.extra = Vec::new();
    }

    /// Appends `c` (smoltcp's table first); `ENOBUFS` when memory runs out.
    fn push_addr(&mut self, c: IpCidr) -> Result<()> {
        let mut full = false;
        self.iface.update_ip_addrs(|a| full = a.push(c).is_err());
        if full {
            self.extra.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
            self.extra.push(c);
        }
        Ok(())
    }

    /// Removes `c`; the first of [`Iface::extra`] takes a place freed in
    /// smoltcp's table (the order stays).
    fn remove_addr(&mut self, c: IpCidr) {
        if let Some(i) = self.extra.iter().position(|x| *x == c) {
            self.extra.remove(i);
            return;
        }
        let next = if self.extra.is_empty() { None } else { Some(self.extra.remove(0)) };
        self.iface.update_ip_addrs(|v| {
            v.retain(|x| *x != c);
            if let Some(n) = next {
                let _ = v.push(n);
            }
        });
    }
}

/// A socket's TCP_NOTSENT_LOWAT in force: its own, else the sysctl's
/// default (no limit). The unsent bytes are smoltcp's send queue: sent
/// and not acknowledged bytes count too (on lo a poll delivers and
/// acknowledges what the window lets through, so the queue is what was
/// not sent).
fn notsent_lowat(o: &Opts) -> u64 {
    if o.notsent_lowat == 0 { u64::from(u32::MAX) } else { u64::from(o.notsent_lowat) }
}

/// The internet stack: interfaces, sockets and ports.
pub struct Stack {
    ifaces: Vec<Iface>,
    socks: Vec<Option<Sock>>,
    free: Vec<u32>,
    ports: PortTable,
    /// Closed connections finishing on their own: interface, handle and
    /// when they became orphans.
    orphans: Vec<(usize, SocketHandle, Instant)>,
    now: Instant,
    seed: u64,
    live: usize,
    overflow: bool,
    /// Sockets owed a SIGURG (a new urgent mark reached them).
    urg_sigs: Vec<SockId>,
    /// Urgent marks for connections not accepted yet.
    early_urg: Vec<EarlyUrg>,
    /// The main table's routes added by the user or at boot ([`route`]).
    routes: Vec<RouteInfo>,
    /// Destinations reached through a route without a gateway out of a
    /// NIC, by interface index, newest last (at most
    /// [`route::MAX_ONLINK`]): smoltcp resolves only its subnets' and
    /// gateways' neighbours, so each gets a host route via itself.
    onlink: Vec<(u32, IpAddr)>,
    /// Send-only raw smoltcp sockets made for one IP_HDRINCL packet whose
    /// protocol is not its socket's (IPPROTO_RAW): removed by the poll
    /// that sent it.
    raw_tx: Vec<(usize, SocketHandle)>,
    /// The last IPv4 identifier given to an IP_HDRINCL packet without one.
    ident: u16,
    /// Packet sockets listen: links keep copies of what they send.
    capture: bool,
}

fn zeroed(n: usize) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Errno::ENOBUFS)?;
    v.resize(n, 0);
    Ok(v)
}

fn meta_slots<T: Clone>(n: usize, fill: T) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Errno::ENOBUFS)?;
    v.resize(n, fill);
    Ok(v)
}

/// The smoltcp form of a user address: v4-mapped v6 addresses become v4.
fn to_ip(a: IpAddr) -> IpAddress {
    match a {
        IpAddr::V4(v) => IpAddress::Ipv4(v),
        IpAddr::V6(v) => match v.to_ipv4_mapped() {
            Some(m) => IpAddress::Ipv4(m),
            None => IpAddress::Ipv6(v),
        },
    }
}

/// The user form of a smoltcp address for a socket of `fam`.
fn user_addr(fam: Family, a: IpAddress, port: u16) -> SocketAddr {
    match (fam, a) {
        (Family::V4, IpAddress::Ipv4(v)) => SocketAddr::V4(SocketAddrV4::new(v, port)),
        (Family::V6, IpAddress::Ipv4(v)) => SocketAddr::V6(SocketAddrV6::new(v.to_ipv6_mapped(), port, 0, 0)),
        (_, IpAddress::Ipv6(v)) => SocketAddr::V6(SocketAddrV6::new(v, port, 0, 0)),
    }
}

fn unspecified(fam: Family) -> SocketAddr {
    match fam {
        Family::V4 => SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
        Family::V6 => SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0)),
    }
}

/// Keeps IPv6 packets on lo from the sockets of a port that only IPv4
/// sockets hold (a wildcard AF_INET socket's smoltcp endpoint is the
/// wildcard of both families: [`Stack::listen_ep`]): a TCP SYN is
/// answered with a reset as Linux's `tcp_v6_send_reset` (the connect
/// fails with ECONNREFUSED), a UDP datagram dropped. Returns the length
/// to keep, `None` to drop the packet.
fn family_filter(ports: &PortTable, p: &mut [u8]) -> Option<usize> {
    let n = p.len();
    if n < 40 || p[0] >> 4 != 6 {
        return Some(n);
    }
    let space = match p[6] {
        6 if n >= 60 => Space::Tcp,
        17 if n >= 48 => Space::Udp,
        _ => return Some(n),
    };
    let dport = u16::from_be_bytes([p[42], p[43]]);
    // a TCP segment other than a connection's first SYN finds its socket
    if space == Space::Tcp && p[53] & 0x16 != 0x02 {
        return Some(n);
    }
    let mut d = [0u8; 16];
    d.copy_from_slice(&p[24..40]);
    let dst = IpAddr::V6(Ipv6Addr::from(d));
    if ports.bound_at(space, dst, dport) || !ports.in_use(space, dport) {
        return Some(n);
    }
    if space == Space::Udp {
        return None;
    }
    // the reset: addresses and ports swapped, RST|ACK acknowledging the
    // SYN and its data, no options
    let plen = usize::from(u16::from_be_bytes([p[4], p[5]])).min(n - 40);
    let hlen = usize::from(p[52] >> 4) * 4;
    let seg_len = plen.saturating_sub(hlen) as u32 + 1;
    let seq = u32::from_be_bytes([p[44], p[45], p[46], p[47]]);
    let mut src = [0u8; 16];
    src.copy_from_slice(&p[8..24]);
    p[0..4].copy_from_slice(&[0x60, 0, 0, 0]);
    p[4..6].copy_from_slice(&20u16.to_be_bytes());
    p[7] = 64;
    p[8..24].copy_from_slice(&d);
    p[24..40].copy_from_slice(&src);
    let sport = [p[40], p[41]];
    p[40..42].copy_from_slice(&dport.to_be_bytes());
    p[42..44].copy_from_slice(&sport);
    p[44..48].copy_from_slice(&0u32.to_be_bytes());
    p[48..52].copy_from_slice(&seq.wrapping_add(seg_len).to_be_bytes());
    p[52] = 5 << 4;
    p[53] = 0x14;
    p[54..60].copy_from_slice(&[0; 6]);
    // the checksum over the pseudo-header and the 20 bytes
    let mut ph = [0u8; 60];
    ph[..32].copy_from_slice(&p[8..40]);
    ph[32..36].copy_from_slice(&20u32.to_be_bytes());
    ph[39] = 6;
    ph[40..60].copy_from_slice(&p[40..60]);
    let sum = inet_checksum(&ph);
    p[56..58].copy_from_slice(&sum.to_be_bytes());
    Some(60)
}

/// Whether `a` is one of interface `f`'s own addresses (smoltcp's
/// `has_ip_addr` says yes to everything on lo, whose interface accepts
/// any destination: see [`Stack::new`]).
fn owns(f: &Iface, a: IpAddress) -> bool {
    f.all_addrs().any(|c| c.address() == a)
}

fn is_loopback(a: IpAddress) -> bool {
    match a {
        IpAddress::Ipv4(v) => v.is_loopback(),
        IpAddress::Ipv6(v) => v.is_loopback(),
    }
}

/// The TCP receive buffer of a socket whose SO_RCVBUF was not set. Linux
/// starts at `tcp_rmem[1]` (131072, a 64 KiB window) and autotunes up to
/// `tcp_rmem[2]` (6 MiB) as the reader keeps up; smoltcp's buffers cannot
/// grow after the socket is made (and the window scale is fixed by the
/// SYN), so an unlocked socket starts larger. SO_RCVBUF still reports
/// Linux's 131072.
pub const TCP_AUTO_RX: usize = 256 << 10;
/// The TCP send buffer of a socket whose SO_SNDBUF was not set (Linux
/// autotunes up to `tcp_wmem[2]`, 4 MiB; SO_SNDBUF reports 16384).
pub const TCP_AUTO_TX: usize = 256 << 10;

/// Internal TCP receive buffer size for a reported SO_RCVBUF (`locked`:
/// set by the user).
fn tcp_rx_size(rcvbuf: u32, locked: bool) -> usize {
    if !locked {
        return TCP_AUTO_RX;
    }
    ((rcvbuf / 2) as usize).clamp(4096, 1 << 20)
}

/// Internal TCP send buffer size for a reported SO_SNDBUF (`locked`: set
/// by the user).
fn tcp_tx_size(sndbuf: u32, locked: bool) -> usize {
    if !locked {
        return TCP_AUTO_TX;
    }
    (sndbuf as usize * 4).clamp(4096, 1 << 20)
}

impl Stack {
    /// A stack with the loopback interface up (127.0.0.1/8, ::1/128).
    /// `seed` seeds smoltcp's random numbers (initial sequence numbers).
    pub fn new(now: Instant, seed: u64) -> Stack {
        let mut st = Stack {
            ifaces: Vec::new(),
            socks: Vec::new(),
            free: Vec::new(),
            ports: PortTable::new(),
            orphans: Vec::new(),
            now,
            seed,
            live: 0,
            overflow: false,
            urg_sigs: Vec::new(),
            early_urg: Vec::new(),
            routes: Vec::new(),
            onlink: Vec::new(),
            raw_tx: Vec::new(),
            ident: 0,
            capture: false,
        };
        let addrs = [
            IpCidr::Ipv4(Ipv4Cidr::new(Ipv4Addr::LOCALHOST, 8)),
            IpCidr::Ipv6(Ipv6Cidr::new(Ipv6Addr::LOCALHOST, 128)),
        ];
        // The first interface cannot fail to fit in an empty Vec but the
        // allocation is still checked.
        let _ = st.add_iface("lo", Box::new(LoLink(lo::Lo::new())), None, &addrs, None, true);
        st
    }

    /// Adds an interface over `device` (Ethernet when `mac` is given, IP
    /// otherwise) with `addrs` and an IPv4 default gateway. Returns its
    /// index (as SIOCGIFINDEX). The interface starts up.
    pub fn add_interface<D: Device + Send + 'static>(
        &mut self,
        name: &str,
        device: D,
        mac: Option<[u8; 6]>,
        addrs: &[IpCidr],
        gw4: Option<Ipv4Addr>,
    ) -> Result<u32> {
        self.add_iface(name, Box::new(DevLink(device, meta::Pending::default())), mac, addrs, gw4, false)
    }

    fn add_iface(
        &mut self,
        name: &str,
        mut link: Box<dyn Link>,
        mac: Option<[u8; 6]>,
        addrs: &[IpCidr],
        gw4: Option<Ipv4Addr>,
        loopback: bool,
    ) -> Result<u32> {
        self.ifaces.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let hw = match mac {
            Some(m) => HardwareAddress::Ethernet(EthernetAddress(m)),
            None => HardwareAddress::Ip,
        };
        let mut config = Config::new(hw);
        config.random_seed = self.seed ^ (self.ifaces.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut mtu = link.mtu() as u32;
        if mac.is_some() {
            mtu = mtu.saturating_sub(14);
        }
        let mut iface = link.interface(config, self.now);
        // lo takes packets to every local address (Linux's local table
        // routes them all through the loopback device): what reaches lo
        // was sent to an address of this host ([`Stack::route`]).
        iface.set_any_ip(loopback);
        iface.update_ip_addrs(|a| {
            for c in addrs {
                let _ = a.push(*c);
            }
        });
        let index = self.ifaces.len() as u32 + 1;
        let flags = if loopback {
            iff::UP | iff::LOOPBACK | iff::RUNNING
        } else {
            iff::UP | iff::BROADCAST | iff::RUNNING | iff::MULTICAST
        };
        self.ifaces.push(Iface {
            name: String::from(name),
            index,
            flags,
            mtu: if loopback { 65536 } else { mtu },
            mac: mac.unwrap_or([0; 6]),
            loopback,
            iface,
            link,
            set: SocketSet::new(Vec::new()),
            extra: Vec::new(),
        });
        if let Some(gw) = gw4 {
            let r = RouteInfo::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0, Some(IpAddr::V4(gw)), index, 0);
            self.routes.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            self.routes.push(r);
            self.sync_gateways();
        }
        Ok(index)
    }

    /// Replaces the addresses and gateway of interface `index` (for DHCP).
    pub fn set_interface_addrs(&mut self, index: u32, addrs: &[IpCidr], gw4: Option<Ipv4Addr>) -> Result<()> {
        let f = self.ifaces.iter_mut().find(|f| f.index == index).ok_or(Errno::ENODEV)?;
        f.clear_addrs();
        for c in addrs {
            f.push_addr(*c)?;
        }
        self.routes.retain(|r| !(r.oif == index && r.dst_len == 0 && r.dst.is_ipv4()));
        if let Some(gw) = gw4 {
            let r = RouteInfo::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0, Some(IpAddr::V4(gw)), index, 0);
            self.routes.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            self.routes.push(r);
        }
        self.sync_gateways();
        Ok(())
    }

    /// The interfaces, for SIOCGIFCONF and friends.
    pub fn interfaces(&self) -> Result<Vec<IfInfo>> {
        let mut out = Vec::new();
        out.try_reserve(self.ifaces.len()).map_err(|_| Errno::ENOMEM)?;
        for f in &self.ifaces {
            let mut ipv4 = None;
            let mut ipv4_all = Vec::new();
            let mut ipv6 = Vec::new();
            for c in f.all_addrs() {
                match c {
                    IpCidr::Ipv4(c) => {
                        ipv4_all.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                        ipv4_all.push((c.address(), c.prefix_len()));
                        if ipv4.is_none() {
                            ipv4 = Some((c.address(), c.prefix_len()));
                        }
                    }
                    IpCidr::Ipv6(c) => {
                        ipv6.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                        ipv6.push((c.address(), c.prefix_len()));
                    }
                }
            }
            out.push(IfInfo {
                name: f.name.clone(),
                index: f.index,
                flags: f.flags,
                mtu: f.mtu,
                mac: f.mac,
                ipv4,
                ipv4_all,
                ipv6,
                gw4: self.routes.iter().find_map(|r| match (r.dst, r.gateway) {
                    (IpAddr::V4(_), Some(IpAddr::V4(g))) if r.oif == f.index && r.dst_len == 0 => Some(g),
                    _ => None,
                }),
            });
        }
        Ok(out)
    }

    /// Takes lo down with no address, as a new network namespace's lo
    /// starts (`loopback_net_init`: flags LOOPBACK only); bringing it up
    /// gives it 127.0.0.1/8 and ::1 ([`Stack::set_interface_flags`]).
    pub fn loopback_down(&mut self) {
        for f in self.ifaces.iter_mut().filter(|f| f.loopback) {
            f.flags &= !(iff::UP | iff::RUNNING);
            f.clear_addrs();
        }
    }

    /// SIOCSIFFLAGS: sets the changeable flags (IFF_UP) of interface
    /// `name`; ENODEV if there is none. A loopback interface brought up
    /// gets 127.0.0.1/8 and ::1/128 when it lacks them (inetdev_event's
    /// NETDEV_UP, addrconf's init_loopback); an interface taken down loses
    /// the routes out of it (Linux's `fib_sync_down_dev`).
    pub fn set_interface_flags(&mut self, name: &str, flags: u16) -> Result<()> {
        let f = self.ifaces.iter_mut().find(|f| f.name == name).ok_or(Errno::ENODEV)?;
        let index = f.index;
        if flags & iff::UP != 0 {
            if f.loopback && f.flags & iff::UP == 0 {
                let v4 = IpCidr::Ipv4(Ipv4Cidr::new(Ipv4Addr::LOCALHOST, 8));
                let v6 = IpCidr::Ipv6(Ipv6Cidr::new(Ipv6Addr::LOCALHOST, 128));
                for c in [v4, v6] {
                    if !f.all_addrs().any(|x| *x == c) {
                        f.push_addr(c)?;
                    }
                }
            }
            f.flags |= iff::UP | iff::RUNNING;
        } else {
            let was_up = f.flags & iff::UP != 0;
            f.flags &= !(iff::UP | iff::RUNNING);
            if was_up {
                self.routes_down(index);
            }
        }
        Ok(())
    }

    // ---- time and polling ----

    /// Moves packets on every interface that is up and updates the
    /// sockets. Pushes onto `changed` every socket whose readiness changed
    /// (growing it fallibly; when memory runs out [`Stack::take_overflow`]
    /// says so and the caller wakes every socket) and returns whether
    /// anything happened.
    pub fn poll(&mut self, now: Instant, changed: &mut Vec<SockId>) -> bool {
        self.now = now;
        let mut any = false;
        // Loopback delivery needs more rounds: what one round sends the
        // next receives (and answers). The rounds are bounded; what is
        // left waits for the next poll ([`Stack::poll_delay`] says now).
        for _ in 0..64 {
            let mut round = false;
            let Stack { ifaces, ports, .. } = self;
            for i in 0..ifaces.len() {
                let Some(f) = ifaces.get_mut(i) else { break };
                if f.flags & iff::UP == 0 {
                    continue;
                }
                if f.loopback && f.link.pending() {
                    f.link.filter(&mut |p| family_filter(ports, p));
                }
                if f.link.poll(&mut f.iface, now, &mut f.set) {
                    round = true;
                }
            }
            if round {
                any = true;
            }
            if !self.ifaces.iter().any(|f| f.flags & iff::UP != 0 && f.link.pending()) {
                break;
            }
        }
        if !self.raw_tx.is_empty() {
            self.reap_raw_tx();
        }
        if any {
            self.reap_orphans();
            // Listeners whose free listening sockets took SYNs get new
            // ones (a failed allocation leaves fewer: a later SYN then
            // finds none and is refused).
            for i in 0..self.socks.len() {
                if matches!(self.socks[i], Some(Sock { st: St::Listen { .. }, .. })) {
                    let _ = self.top_up(SockId(i as u32));
                }
            }
        }
        for i in 0..self.socks.len() {
            if self.socks[i].is_none() {
                continue;
            }
            let id = SockId(i as u32);
            if matches!(self.socks[i], Some(Sock { kind: Kind::Raw, .. })) {
                self.sift_raw(id);
            }
            let ev = self.events(id);
            if let Some(s) = self.socks[i].as_mut()
                && s.last_events != ev
            {
                s.last_events = ev;
                if changed.try_reserve(1).is_ok() {
                    changed.push(id);
                } else {
                    self.overflow = true;
                }
            }
        }
        any
    }

    /// How long until smoltcp next needs a poll (None = only on new
    /// packets or user operations).
    pub fn poll_delay(&mut self, now: Instant) -> Option<Duration> {
        if self.ifaces.iter().any(|f| f.flags & iff::UP != 0 && f.link.pending()) {
            return Some(Duration::ZERO);
        }
        let mut best: Option<Duration> = None;
        for f in self.ifaces.iter_mut() {
            if f.flags & iff::UP == 0 {
                continue;
            }
            if let Some(d) = f.iface.poll_delay(now, &f.set) {
                best = Some(best.map_or(d, |b| if d < b { d } else { b }));
            }
        }
        best
    }

    /// Whether a poll could not list every changed socket (since the last
    /// call).
    pub fn take_overflow(&mut self) -> bool {
        core::mem::take(&mut self.overflow)
    }

    /// The time of the last poll.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The number of live user sockets.
    pub fn socket_count(&self) -> usize {
        self.live
    }

    /// The number of smoltcp sockets (user sockets' and orphans').
    pub fn smoltcp_socket_count(&self) -> usize {
        self.ifaces.iter().map(|f| f.set.iter().count()).sum()
    }

    fn reap_orphans(&mut self) {
        let mut i = 0;
        while i < self.orphans.len() {
            let (ifx, h, since) = self.orphans[i];
            let sk = self.ifaces[ifx].set.get_mut::<tcp::Socket>(h);
            let st = sk.state();
            if !matches!(st, tcp::State::Closed | tcp::State::TimeWait) && sk.recv_queue() > 0 {
                // Data reached a closed socket, which nobody can read:
                // Linux resets (tcp_rcv_state_process after close); the
                // RST goes at the next poll, then the orphan is reaped.
                sk.abort();
                i += 1;
                continue;
            }
            // An aborted socket is Closed with its peer still known until
            // a poll sends its RST (smoltcp then forgets the peer): it
            // stays until then (a NIC with a full queue, a neighbour not
            // yet resolved), at most ORPHAN_TIMEOUT.
            let rst_pending = st == tcp::State::Closed && sk.remote_endpoint().is_some();
            let gone = match st {
                tcp::State::TimeWait => true,
                tcp::State::Closed => !rst_pending || self.now >= since + ORPHAN_TIMEOUT,
                _ => false,
            };
            if gone {
                self.ifaces[ifx].set.remove(h);
                self.orphans.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }

    // ---- socket table ----

    fn sock(&self, id: SockId) -> Result<&Sock> {
        self.socks.get(id.0 as usize).and_then(|s| s.as_ref()).ok_or(Errno::EBADF)
    }

    fn sock_mut(&mut self, id: SockId) -> Result<&mut Sock> {
        self.socks.get_mut(id.0 as usize).and_then(|s| s.as_mut()).ok_or(Errno::EBADF)
    }

    /// socket(2): a new socket of `family` with Linux's `type` (without
    /// the SOCK_NONBLOCK/SOCK_CLOEXEC bits) and `protocol`. `privileged`
    /// is CAP_NET_RAW (needed for SOCK_RAW).
    pub fn socket(&mut self, family: Family, ty: i32, protocol: i32, privileged: bool) -> Result<SockId> {
        let kind = match ty {
            1 => match protocol {
                0 | 6 => Kind::Tcp,
                _ => return Err(Errno::EPROTONOSUPPORT),
            },
            2 => match (protocol, family) {
                // UDP-Lite (IPPROTO_UDPLITE) is served as UDP: the same
                // datagram semantics, its own SO_PROTOCOL and coverage
                // options; ports are shared with UDP and the packets on
                // the wire are UDP's (see the crate's README).
                (0 | 17 | 136, _) => Kind::Udp,
                (1, Family::V4) => Kind::Ping,
                _ => return Err(Errno::EPROTONOSUPPORT),
            },
            3 => {
                // inet_create: protocol 0 matches no SOCK_RAW entry, then
                // the capability
                if !(1..=255).contains(&protocol) {
                    return Err(if (0..263).contains(&protocol) {
                        Errno::EPROTONOSUPPORT
                    } else {
                        Errno::EINVAL
                    });
                }
                if !privileged {
                    return Err(Errno::EPERM);
                }
                Kind::Raw
            }
            _ => return Err(Errno::ESOCKTNOSUPPORT),
        };
        let protocol = match (kind, protocol) {
            (Kind::Tcp, _) => 6,
            (Kind::Udp, 136) => 136,
            (Kind::Udp, _) => 17,
            (_, p) => p,
        };
        let (rcvbuf, sndbuf) = match kind {
            Kind::Tcp => (131072, 16384),
            _ => (212992, 212992),
        };
        let s = Sock {
            family,
            kind,
            protocol,
            local: None,
            bound: false,
            user_bound: false,
            peer: None,
            opts: Opts {
                reuseaddr: false,
                reuseport: false,
                keepalive: false,
                broadcast: false,
                oobinline: false,
                nodelay: false,
                v6only: false,
                linger: (false, 0),
                rcvbuf,
                sndbuf,
                buf_locked: (false, false),
                rcvtimeo_us: 0,
                sndtimeo_us: 0,
                ttl: -1,
                maxseg: 0,
                keep: (7200, 75, 9),
                defer_accept: 0,
                tcp_kept: TcpKept::default(),
                tos: 0,
                tclass: 0,
                dontfrag: false,
                recv: 0,
                cscov: (0, 0),
                notsent_lowat: 0,
                hdrincl: kind == Kind::Raw && protocol == rawip::IPPROTO_RAW,
                icmp_filter: 0,
                icmp6_filter: [0; 8],
                v6_checksum: if kind == Kind::Raw && family == Family::V6 && protocol == rawip::IPPROTO_ICMPV6
                {
                    2
                } else {
                    -1
                },
                recverr: false,
            },
            st: St::Idle,
            err: None,
            shut_rd: false,
            shut_wr: false,
            last_events: 0,
            ss: Ss::Unconnected,
            conn_wait: false,
            sent: 0,
            read: 0,
            urg: None,
        };
        let id = if let Some(i) = self.free.pop() {
            self.socks[i as usize] = Some(s);
            i
        } else {
            self.socks.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
            self.free.try_reserve(self.socks.len() + 1).map_err(|_| Errno::ENOBUFS)?;
            self.socks.push(Some(s));
            (self.socks.len() - 1) as u32
        };
        self.live += 1;
        let id = SockId(id);
        if kind == Kind::Raw {
            // A raw socket takes ICMP from every interface at once.
            if let Err(e) = self.open_dgram(id) {
                self.close(id);
                return Err(e);
            }
        }
        if let Ok(ev) = self.sock(id).map(|_| 0) {
            let ev = ev | self.events(id);
            if let Ok(s) = self.sock_mut(id) {
                s.last_events = ev;
            }
        }
        Ok(id)
    }

    /// The socket's family, kind and protocol.
    pub fn kind(&self, id: SockId) -> Result<(Family, Kind, i32)> {
        let s = self.sock(id)?;
        Ok((s.family, s.kind, s.protocol))
    }

    /// The socket's options (the caller reads the timeouts from here).
    pub fn opts(&self, id: SockId) -> Result<Opts> {
        Ok(self.sock(id)?.opts)
    }

    /// close(2) of the last reference. A TCP connection is closed
    /// gracefully (FIN) and finishes on its own as an orphan, or is reset
    /// when unread data remains or SO_LINGER with a zero time is set.
    pub fn close(&mut self, id: SockId) {
        let Some(s) = self.socks.get_mut(id.0 as usize).and_then(|s| s.take()) else {
            return;
        };
        self.live = self.live.saturating_sub(1);
        if self.free.try_reserve(1).is_ok() {
            self.free.push(id.0);
        }
        if s.bound {
            self.ports.remove(id.0);
        }
        match s.st {
            St::Idle | St::Dead => {}
            St::Listen { pend, .. } => {
                // Connections not accepted yet are reset (Linux's
                // inet_csk_listen_stop): aborted, they send their RST as
                // orphans at the next poll and are reaped once closed.
                for (ifx, h) in pend {
                    self.ifaces[ifx].set.get_mut::<tcp::Socket>(h).abort();
                    if self.orphans.try_reserve(1).is_ok() {
                        self.orphans.push((ifx, h, self.now));
                    } else {
                        self.ifaces[ifx].set.remove(h);
                    }
                }
            }
            St::Tcp { ifx, h, .. } => {
                let sk = self.ifaces[ifx].set.get_mut::<tcp::Socket>(h);
                let abort = sk.recv_queue() > 0 || (s.opts.linger.0 && s.opts.linger.1 == 0);
                if abort {
                    sk.abort();
                } else {
                    sk.close();
                }
                sk.set_timeout(Some(ORPHAN_TIMEOUT));
                if self.orphans.try_reserve(1).is_ok() {
                    self.orphans.push((ifx, h, self.now));
                } else {
                    // No memory to keep it: send the RST now and drop it.
                    sk.abort();
                    let f = &mut self.ifaces[ifx];
                    let _ = f.link.poll(&mut f.iface, self.now, &mut f.set);
                    f.set.remove(h);
                }
            }
            St::Dgram { hs } => {
                for (ifx, h) in hs {
                    self.ifaces[ifx].set.remove(h);
                }
            }
        }
    }

    // ---- addresses ----

    /// Whether `a` is an address of this host (127/8 is all local, as lo's
    /// route on Linux).
    fn is_local(&self, a: IpAddress) -> bool {
        // (also while lo is down without addresses, as a new network
        // namespace's: Linux binds 127.0.0.1 there too)
        if is_loopback(a) {
            return true;
        }
        self.ifaces.iter().any(|f| owns(f, a))
    }

    /// The source address of a packet to `dst` out of interface `ifx`: a
    /// local destination is its own source (Linux's local routes carry
    /// the address as their preferred source), else smoltcp's choice (an
    /// address of the interface in `dst`'s subnet, else its first).
    fn source_for(&self, ifx: usize, dst: IpAddress) -> Option<IpAddress> {
        if self.ifaces.iter().any(|f| owns(f, dst)) {
            return Some(dst);
        }
        self.ifaces[ifx].iface.get_source_address(&dst)
    }

    /// The interface that reaches `dst`: lo for every local address (of
    /// any interface, as Linux's local table), else the interface with
    /// `dst` in one of its subnets, else the routing table's.
    fn route(&self, dst: IpAddress) -> Result<usize> {
        let lo_up = self.ifaces[0].flags & iff::UP != 0;
        if is_loopback(dst) || self.ifaces.iter().any(|f| f.loopback && owns(f, dst)) {
            return if lo_up { Ok(0) } else { Err(Errno::ENETUNREACH) };
        }
        for (i, f) in self.ifaces.iter().enumerate() {
            if f.flags & iff::UP != 0 && owns(f, dst) {
                return Ok(if lo_up { 0 } else { i });
            }
        }
        for (i, f) in self.ifaces.iter().enumerate() {
            if f.flags & iff::UP != 0 && f.all_addrs().any(|c| c.contains_addr(&dst)) {
                return Ok(i);
            }
        }
        let d = match dst {
            IpAddress::Ipv4(v) => IpAddr::V4(v),
            IpAddress::Ipv6(v) => IpAddr::V6(v),
        };
        self.table_route(d)
    }

    /// Checks a user address against the socket's family; returns the
    /// smoltcp address.
    fn check_family(s: &Sock, a: &SocketAddr) -> Result<IpAddress> {
        match (s.family, a) {
            (Family::V4, SocketAddr::V4(v)) => Ok(IpAddress::Ipv4(*v.ip())),
            (Family::V6, SocketAddr::V6(v)) => {
                if v.ip().to_ipv4_mapped().is_some() && s.opts.v6only {
                    return Err(Errno::ENETUNREACH);
                }
                Ok(to_ip(IpAddr::V6(*v.ip())))
            }
            _ => Err(Errno::EAFNOSUPPORT),
        }
    }

    fn space(kind: Kind) -> Space {
        match kind {
            Kind::Tcp => Space::Tcp,
            Kind::Udp => Space::Udp,
            Kind::Ping | Kind::Raw => Space::Icmp,
        }
    }

    /// bind(2). `privileged` is CAP_NET_BIND_SERVICE (ports below 1024).
    pub fn bind(&mut self, id: SockId, addr: SocketAddr, privileged: bool) -> Result<()> {
        let s = self.sock(id)?;
        let ip = match (s.family, &addr) {
            (Family::V4, SocketAddr::V4(v)) => IpAddress::Ipv4(*v.ip()),
            (Family::V6, SocketAddr::V6(v)) => {
                if v.ip().to_ipv4_mapped().is_some() && s.opts.v6only {
                    return Err(Errno::EINVAL);
                }
                to_ip(IpAddr::V6(*v.ip()))
            }
            _ => return Err(Errno::EAFNOSUPPORT),
        };
        if s.kind == Kind::Raw {
            // A raw socket's bind only filters by address.
            if !ip.is_unspecified() && !self.is_local(ip) {
                return Err(Errno::EADDRNOTAVAIL);
            }
            self.sock_mut(id)?.local = Some(addr);
            return Ok(());
        }
        if s.user_bound || s.bound {
            return Err(Errno::EINVAL);
        }
        if !ip.is_unspecified() && !self.is_local(ip) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        if addr.port() != 0 && addr.port() < 1024 && !privileged && s.kind != Kind::Ping {
            return Err(Errno::EACCES);
        }
        self.add_port(id, addr)?;
        let s = self.sock_mut(id)?;
        s.user_bound = true;
        if matches!(s.kind, Kind::Udp | Kind::Ping)
            && let Err(e) = self.open_dgram(id)
        {
            self.ports.remove(id.0);
            let s = self.sock_mut(id)?;
            s.bound = false;
            s.user_bound = false;
            s.local = None;
            return Err(e);
        }
        Ok(())
    }

    fn add_port(&mut self, id: SockId, addr: SocketAddr) -> Result<u16> {
        let s = self.sock(id)?;
        let e = Entry {
            space: Self::space(s.kind),
            port: addr.port(),
            addr: addr.ip(),
            v6: s.family == Family::V6,
            v6only: s.opts.v6only,
            reuseaddr: s.opts.reuseaddr,
            reuseport: s.opts.reuseport,
            listening: false,
            owner: id.0,
        };
        let port = self.ports.add(e)?;
        let s = self.sock_mut(id)?;
        let mut local = addr;
        local.set_port(port);
        s.local = Some(local);
        s.bound = true;
        Ok(port)
    }

    /// Binds to the wildcard address and an ephemeral port if unbound.
    fn autobind(&mut self, id: SockId) -> Result<()> {
        let s = self.sock(id)?;
        if s.bound {
            return Ok(());
        }
        let fam = s.family;
        self.add_port(id, unspecified(fam))?;
        Ok(())
    }

    /// The listen endpoint a socket bound to `local` uses on interface
    /// `ifx`: an address of the host on lo (every local address is reached
    /// through lo) and on the interface that has it; a wildcard v4 socket
    /// every address of every interface (the v6 packets smoltcp would give
    /// it are kept from it on lo: [`Stack::poll`]'s family filter), a
    /// v6-only one the interface's v6 address.
    fn listen_ep(
        &self,
        ifx: usize,
        fam: Family,
        v6only: bool,
        local: SocketAddr,
    ) -> Option<IpListenEndpoint> {
        let f = &self.ifaces[ifx];
        let ip = to_ip(local.ip());
        let port = local.port();
        if !ip.is_unspecified() {
            let ours = if f.loopback { self.is_local(ip) } else { owns(f, ip) };
            return ours.then_some(IpListenEndpoint { addr: Some(ip), port });
        }
        match (fam, v6only) {
            (Family::V4, _) => Some(IpListenEndpoint { addr: None, port }),
            (Family::V6, true) => {
                f.iface.ipv6_addr().map(|a| IpListenEndpoint { addr: Some(IpAddress::Ipv6(a)), port })
            }
            (Family::V6, false) => Some(IpListenEndpoint { addr: None, port }),
        }
    }

    fn new_tcp(opts: &Opts) -> Result<tcp::Socket<'static>> {
        let rx = zeroed(tcp_rx_size(opts.rcvbuf, opts.buf_locked.0))?;
        let tx = zeroed(tcp_tx_size(opts.sndbuf, opts.buf_locked.1))?;
        let mut sk = tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
        sk.set_nagle_enabled(!opts.nodelay);
        sk.set_ack_delay(None);
        if opts.keepalive {
            sk.set_keep_alive(Some(Duration::from_secs(opts.keep.0.max(1) as u64)));
        }
        if opts.ttl > 0 {
            sk.set_hop_limit(Some(opts.ttl as u8));
        }
        Ok(sk)
    }

    fn dgram_buffers(
        kind: Kind,
        rcvbuf: u32,
    ) -> Result<(udp::PacketBuffer<'static>, udp::PacketBuffer<'static>)> {
        let _ = kind;
        let rx_bytes = ((rcvbuf / 2) as usize).clamp(UDP_MAX_V4 + 29, 1 << 20);
        let rx = udp::PacketBuffer::new(meta_slots(64, udp::PacketMetadata::EMPTY)?, zeroed(rx_bytes)?);
        let tx = udp::PacketBuffer::new(
            meta_slots(16, udp::PacketMetadata::EMPTY)?,
            zeroed(2 * (UDP_MAX_V4 + 29))?,
        );
        Ok((rx, tx))
    }

    /// Creates the smoltcp sockets of a bound datagram socket.
    fn open_dgram(&mut self, id: SockId) -> Result<()> {
        let s = self.sock(id)?;
        let (kind, fam, v6only, rcvbuf) = (s.kind, s.family, s.opts.v6only, s.opts.rcvbuf);
        let proto = s.protocol;
        if kind == Kind::Raw && proto == rawip::IPPROTO_RAW {
            // send only: its packets go out through `raw_tx` sockets
            self.sock_mut(id)?.st = St::Dgram { hs: Vec::new() };
            return Ok(());
        }
        let local = s.local.unwrap_or(unspecified(fam));
        let mut hs: Vec<(usize, SocketHandle)> = Vec::new();
        hs.try_reserve(self.ifaces.len()).map_err(|_| Errno::ENOBUFS)?;
        let mut fail = None;
        for ifx in 0..self.ifaces.len() {
            let ep = self.listen_ep(ifx, fam, v6only, local);
            let f = &mut self.ifaces[ifx];
            let h = match kind {
                Kind::Udp => {
                    let Some(ep) = ep else { continue };
                    let (rx, tx) = match Self::dgram_buffers(kind, rcvbuf) {
                        Ok(b) => b,
                        Err(e) => {
                            fail = Some(e);
                            break;
                        }
                    };
                    let mut sk = udp::Socket::new(rx, tx);
                    if sk.bind(ep).is_err() {
                        continue;
                    }
                    f.set.add(sk)
                }
                Kind::Ping => {
                    let mk = || -> Result<icmp::Socket<'static>> {
                        let rx = icmp::PacketBuffer::new(
                            meta_slots(32, icmp::PacketMetadata::EMPTY)?,
                            zeroed(65536)?,
                        );
                        let tx = icmp::PacketBuffer::new(
                            meta_slots(8, icmp::PacketMetadata::EMPTY)?,
                            zeroed(65536)?,
                        );
                        Ok(icmp::Socket::new(rx, tx))
                    };
                    let mut sk = match mk() {
                        Ok(s) => s,
                        Err(e) => {
                            fail = Some(e);
                            break;
                        }
                    };
                    if sk.bind(icmp::Endpoint::Ident(local.port())).is_err() {
                        continue;
                    }
                    f.set.add(sk)
                }
                Kind::Raw => {
                    let mk = || -> Result<raw::Socket<'static>> {
                        let rx = raw::PacketBuffer::new(
                            meta_slots(32, raw::PacketMetadata::EMPTY)?,
                            zeroed(65536)?,
                        );
                        let tx = raw::PacketBuffer::new(
                            meta_slots(8, raw::PacketMetadata::EMPTY)?,
                            zeroed(65536)?,
                        );
                        let ver = match fam {
                            Family::V4 => IpVersion::Ipv4,
                            Family::V6 => IpVersion::Ipv6,
                        };
                        Ok(raw::Socket::new(Some(ver), Some(IpProtocol::from(proto as u8)), rx, tx))
                    };
                    match mk() {
                        Ok(sk) => f.set.add(sk),
                        Err(e) => {
                            fail = Some(e);
                            break;
                        }
                    }
                }
                Kind::Tcp => return Err(Errno::EINVAL),
            };
            hs.push((ifx, h));
        }
        if let Some(e) = fail {
            for (ifx, h) in hs {
                self.ifaces[ifx].set.remove(h);
            }
            return Err(e);
        }
        self.sock_mut(id)?.st = St::Dgram { hs };
        Ok(())
    }

    /// getsockname(2).
    pub fn local_addr(&self, id: SockId) -> Result<SocketAddr> {
        let s = self.sock(id)?;
        if let St::Tcp { ifx, h, .. } = s.st
            && let Some(ep) = self.ifaces[ifx].set.get::<tcp::Socket>(h).local_endpoint()
        {
            return Ok(user_addr(s.family, ep.addr, ep.port));
        }
        let local = s.local.unwrap_or(unspecified(s.family));
        if s.kind == Kind::Raw {
            // a raw socket's "port" is its protocol (inet_create sets
            // inet_sport to inet_num)
            return Ok(SocketAddr::new(local.ip(), s.protocol as u16));
        }
        // a connected datagram socket bound to the wildcard reports the
        // source address of its route (Linux's ip4/ip6_datagram_connect
        // set the socket's saddr; a disconnect resets it): glibc's
        // getaddrinfo sorts on it and asserts an AF_INET6 socket connected
        // to an AF_INET peer has a v4-mapped one
        if let (Some(peer), Kind::Udp | Kind::Ping) = (s.peer, s.kind)
            && to_ip(local.ip()).is_unspecified()
        {
            let dst = to_ip(peer.ip());
            let src = self.route(dst).ok().and_then(|ifx| self.source_for(ifx, dst));
            if let Some(src) = src {
                return Ok(user_addr(s.family, src, local.port()));
            }
        }
        Ok(local)
    }

    /// getpeername(2): ENOTCONN unless connected.
    pub fn peer_addr(&self, id: SockId) -> Result<SocketAddr> {
        let s = self.sock(id)?;
        match s.st {
            St::Tcp { ifx, h, connected: true, .. } => {
                let ep =
                    self.ifaces[ifx].set.get::<tcp::Socket>(h).remote_endpoint().ok_or(Errno::ENOTCONN)?;
                Ok(user_addr(s.family, ep.addr, ep.port))
            }
            // a raw socket connected with port 0 has no inet_dport
            St::Dgram { .. } if s.kind == Kind::Raw && s.peer.is_some_and(|p| p.port() == 0) => {
                Err(Errno::ENOTCONN)
            }
            St::Dgram { .. } => s.peer.ok_or(Errno::ENOTCONN),
            _ => Err(Errno::ENOTCONN),
        }
    }

    // ---- TCP ----

    /// listen(2).
    pub fn listen(&mut self, id: SockId, backlog: i32) -> Result<()> {
        let s = self.sock(id)?;
        if s.kind != Kind::Tcp {
            return Err(Errno::EOPNOTSUPP);
        }
        match s.st {
            St::Idle => {}
            St::Listen { .. } => {
                if let St::Listen { backlog: b, .. } = &mut self.sock_mut(id)?.st {
                    *b = backlog;
                }
                return Ok(());
            }
            _ => return Err(Errno::EINVAL),
        }
        self.autobind(id)?;
        self.ports.set_listening(id.0)?;
        let s = self.sock(id)?;
        let (fam, v6only) = (s.family, s.opts.v6only);
        let local = s.local.unwrap_or(unspecified(fam));
        let mut eps = Vec::new();
        eps.try_reserve(self.ifaces.len()).map_err(|_| Errno::ENOBUFS)?;
        for ifx in 0..self.ifaces.len() {
            if let Some(ep) = self.listen_ep(ifx, fam, v6only, local) {
                eps.push((ifx, ep));
            }
        }
        self.sock_mut(id)?.st = St::Listen { backlog, pend: Vec::new(), eps };
        if let Err(e) = self.top_up(id) {
            if let Ok(s) = self.sock_mut(id)
                && let St::Listen { pend, .. } = core::mem::replace(&mut s.st, St::Idle)
            {
                for (ifx, h) in pend {
                    self.ifaces[ifx].set.remove(h);
                }
            }
            return Err(e);
        }
        Ok(())
    }

    /// Keeps [`FREE_LISTENERS`] listening smoltcp sockets free on each of
    /// a listener's interfaces, within `min(backlog + 1, MAX_PENDING)`
    /// connections per interface. ENOBUFS when none could be made.
    fn top_up(&mut self, id: SockId) -> Result<()> {
        let Stack { socks, ifaces, .. } = self;
        let Some(Some(s)) = socks.get_mut(id.0 as usize) else { return Ok(()) };
        let opts = s.opts;
        let St::Listen { backlog, pend, eps } = &mut s.st else { return Ok(()) };
        let cap = ((*backlog).max(0) as usize + 1).min(MAX_PENDING);
        for &(ifx, ep) in eps.iter() {
            let mut total = 0;
            let mut free = 0;
            for &(i, h) in pend.iter() {
                if i == ifx {
                    total += 1;
                    if ifaces[i].set.get::<tcp::Socket>(h).state() == tcp::State::Listen {
                        free += 1;
                    }
                }
            }
            while free < FREE_LISTENERS && total < cap + FREE_LISTENERS - 1 {
                pend.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
                let mut sk = Self::new_tcp(&opts)?;
                sk.listen(ep).map_err(|_| Errno::EINVAL)?;
                pend.push((ifx, ifaces[ifx].set.add(sk)));
                free += 1;
                total += 1;
            }
        }
        Ok(())
    }

    /// accept(2): a connected socket, or EAGAIN. EINVAL if not listening.
    pub fn accept(&mut self, id: SockId) -> Result<(SockId, SocketAddr)> {
        let s = self.sock(id)?;
        let St::Listen { pend, .. } = &s.st else {
            return Err(Errno::EINVAL);
        };
        let ready = pend.iter().position(|&(ifx, h)| {
            let st = self.ifaces[ifx].set.get::<tcp::Socket>(h).state();
            !matches!(st, tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed)
        });
        let Some(pos) = ready else {
            return Err(Errno::EAGAIN);
        };
        let (fam, opts) = (s.family, s.opts);
        let (ifx, h) = pend[pos];
        // The new socket first, so a failure leaves the connection queued.
        let nid = self.socket(fam, 1, 6, false)?;
        let (remote, local) = {
            let sk = self.ifaces[ifx].set.get::<tcp::Socket>(h);
            (sk.remote_endpoint(), sk.local_endpoint())
        };
        {
            let now = self.now;
            let ns = self.sock_mut(nid)?;
            ns.opts = opts;
            ns.opts.reuseport = false;
            ns.ss = Ss::Connected;
            ns.st = St::Tcp { ifx, h, connected: true, fin_rcvd: false, fin_sent: false, started: now };
            ns.local = local.map(|l| user_addr(fam, l.addr, l.port));
        }
        self.take_early_urg(nid, ifx, h, local, remote);
        // The slot leaves the queue (in order: accept is FIFO); free
        // listening sockets are topped up.
        if let Ok(s) = self.sock_mut(id)
            && let St::Listen { pend, .. } = &mut s.st
        {
            pend.remove(pos);
        }
        let _ = self.top_up(id);
        self.refresh(nid);
        let peer = remote.map(|r| user_addr(fam, r.addr, r.port)).unwrap_or(unspecified(fam));
        Ok((nid, peer))
    }

    /// connect(2), as Linux's `__inet_stream_connect` for TCP: a new
    /// attempt returns EINPROGRESS when `nonblock`, else EAGAIN (the
    /// caller sleeps until the readiness changes and calls again with the
    /// same arguments); a call while in progress gives EAGAIN (blocking),
    /// EALREADY (non-blocking) or EINPROGRESS (the non-blocking call at a
    /// blocking one's deadline); the first call after the handshake
    /// returns 0, later ones EISCONN; after a failure the error (or
    /// ECONNABORTED when SO_ERROR took it). Datagram sockets: sets the
    /// peer. An AF_UNSPEC connect is [`Stack::disconnect`].
    pub fn connect(&mut self, id: SockId, addr: SocketAddr, nonblock: bool) -> Result<()> {
        self.refresh(id);
        let s = self.sock(id)?;
        let ip = Self::check_family(s, &addr)?;
        match s.kind {
            Kind::Tcp => self.tcp_connect(id, ip, addr.port(), nonblock),
            Kind::Udp | Kind::Ping => {
                self.autobind(id)?;
                if matches!(self.sock(id)?.st, St::Idle) {
                    self.open_dgram(id)?;
                }
                let ip = if ip.is_unspecified() {
                    // Linux connects a datagram socket to INADDR_ANY as to
                    // the loopback address.
                    match ip {
                        IpAddress::Ipv4(_) => IpAddress::Ipv4(Ipv4Addr::LOCALHOST),
                        IpAddress::Ipv6(_) => IpAddress::Ipv6(Ipv6Addr::LOCALHOST),
                    }
                } else {
                    ip
                };
                self.route(ip)?;
                let s = self.sock_mut(id)?;
                s.peer = Some(user_addr(s.family, ip, addr.port()));
                Ok(())
            }
            Kind::Raw => {
                // ip4_datagram_connect / __ip6_datagram_connect: a route
                // is needed
                self.route(ip)?;
                let s = self.sock_mut(id)?;
                s.peer = Some(addr);
                Ok(())
            }
        }
    }

    /// connect(2) with AF_UNSPEC: a datagram socket forgets its peer.
    pub fn disconnect(&mut self, id: SockId) -> Result<()> {
        let s = self.sock_mut(id)?;
        match s.kind {
            Kind::Tcp => {
                // Linux aborts the connection (tcp_disconnect).
                if let St::Tcp { ifx, h, .. } = s.st {
                    s.st = St::Idle;
                    self.ifaces[ifx].set.get_mut::<tcp::Socket>(h).abort();
                    self.orphans.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
                    self.orphans.push((ifx, h, self.now));
                }
                Ok(())
            }
            _ => {
                s.peer = None;
                Ok(())
            }
        }
    }

    fn tcp_connect(&mut self, id: SockId, ip: IpAddress, port: u16, nonblock: bool) -> Result<()> {
        let s = self.sock_mut(id)?;
        // Linux's __inet_stream_connect: the socket-level state (ss) and
        // the TCP state together decide.
        match (s.ss, &s.st) {
            (_, St::Listen { .. }) | (Ss::Connected, _) => return Err(Errno::EISCONN),
            (Ss::Connecting, St::Tcp { connected: false, .. }) => {
                if !nonblock {
                    s.conn_wait = true;
                    return Err(Errno::EAGAIN);
                }
                if core::mem::take(&mut s.conn_wait) {
                    // The deadline of a blocking connect.
                    return Err(Errno::EINPROGRESS);
                }
                return Err(Errno::EALREADY);
            }
            (Ss::Connecting, St::Tcp { connected: true, .. }) => {
                s.ss = Ss::Connected;
                s.conn_wait = false;
                return Ok(());
            }
            (Ss::Connecting, _) => {
                s.ss = Ss::Unconnected;
                s.conn_wait = false;
                s.st = St::Idle;
                s.shut_rd = false;
                s.shut_wr = false;
                return Err(s.err.take().unwrap_or(Errno::ECONNABORTED));
            }
            (Ss::Unconnected, St::Dead) => {
                s.st = St::Idle;
                s.shut_rd = false;
                s.shut_wr = false;
                s.err = None;
            }
            (Ss::Unconnected, St::Idle) => {}
            (Ss::Unconnected, _) => return Err(Errno::EISCONN),
        }
        let ip = if ip.is_unspecified() {
            match ip {
                IpAddress::Ipv4(_) => IpAddress::Ipv4(Ipv4Addr::LOCALHOST),
                IpAddress::Ipv6(_) => IpAddress::Ipv6(Ipv6Addr::LOCALHOST),
            }
        } else {
            ip
        };
        let ifx = self.route_out(ip)?;
        self.autobind(id)?;
        let s = self.sock(id)?;
        let local = s.local.unwrap_or(unspecified(s.family));
        let lip = to_ip(local.ip());
        let laddr =
            if lip.is_unspecified() { self.source_for(ifx, ip).ok_or(Errno::ENETUNREACH)? } else { lip };
        if laddr.version() != ip.version() {
            return Err(Errno::ENETUNREACH);
        }
        let mut sk = Self::new_tcp(&s.opts)?;
        sk.set_timeout(Some(CONNECT_TIMEOUT));
        let f = &mut self.ifaces[ifx];
        sk.connect(
            f.iface.context(),
            IpEndpoint::new(ip, port),
            IpListenEndpoint { addr: Some(laddr), port: local.port() },
        )
        .map_err(|_| Errno::EADDRNOTAVAIL)?;
        let h = f.set.add(sk);
        let now = self.now;
        let s = self.sock_mut(id)?;
        s.st = St::Tcp { ifx, h, connected: false, fin_rcvd: false, fin_sent: false, started: now };
        s.err = None;
        s.ss = Ss::Connecting;
        (s.sent, s.read, s.urg) = (0, 0, None);
        if nonblock {
            return Err(Errno::EINPROGRESS);
        }
        s.conn_wait = true;
        Err(Errno::EAGAIN)
    }

    /// Updates a socket from its smoltcp socket's state: connect
    /// completion, FIN and reset bookkeeping.
    fn refresh(&mut self, id: SockId) {
        let now = self.now;
        let Some(Some(s)) = self.socks.get_mut(id.0 as usize) else { return };
        let St::Tcp { ifx, h, connected, fin_rcvd, fin_sent, started } = &mut s.st else {
            return;
        };
        let sk = self.ifaces[*ifx].set.get_mut::<tcp::Socket>(*h);
        let state = sk.state();
        if matches!(
            state,
            tcp::State::CloseWait | tcp::State::LastAck | tcp::State::Closing | tcp::State::TimeWait
        ) {
            *fin_rcvd = true;
        }
        if !*connected {
            match state {
                tcp::State::SynSent | tcp::State::SynReceived => {}
                tcp::State::Closed => {
                    let err = if now - *started >= CONNECT_TIMEOUT {
                        Errno::ETIMEDOUT
                    } else {
                        Errno::ECONNREFUSED
                    };
                    let (ifx, h) = (*ifx, *h);
                    self.ifaces[ifx].set.remove(h);
                    s.st = St::Dead;
                    s.err = Some(err);
                    s.shut_rd = true;
                    s.shut_wr = true;
                    return;
                }
                _ => {
                    *connected = true;
                    sk.set_timeout(None);
                    if let Some(ep) = sk.local_endpoint() {
                        s.local = Some(user_addr(s.family, ep.addr, ep.port));
                    }
                }
            }
        }
        if state == tcp::State::Closed {
            let both_fins = *fin_rcvd && *fin_sent;
            if !both_fins && s.err.is_none() && !s.shut_rd {
                // Reset by the peer (or timed out); in CLOSE_WAIT (its
                // FIN came, ours not) Linux's tcp_reset says EPIPE.
                s.err = Some(if *fin_rcvd && !*fin_sent { Errno::EPIPE } else { Errno::ECONNRESET });
                s.shut_rd = true;
                s.shut_wr = true;
                *fin_rcvd = true;
                *fin_sent = true;
            }
            if !sk.can_recv() {
                let (ifx, h) = (*ifx, *h);
                self.ifaces[ifx].set.remove(h);
                s.st = St::Dead;
                s.shut_rd = true;
                s.shut_wr = true;
            }
        }
    }

    /// shutdown(2).
    pub fn shutdown(&mut self, id: SockId, how: Shutdown) -> Result<()> {
        self.refresh(id);
        let rd = matches!(how, Shutdown::Read | Shutdown::Both);
        let wr = matches!(how, Shutdown::Write | Shutdown::Both);
        let Stack { socks, ifaces, ports, .. } = self;
        let s = socks.get_mut(id.0 as usize).and_then(|s| s.as_mut()).ok_or(Errno::EBADF)?;
        match &mut s.st {
            St::Tcp { ifx, h, connected, fin_sent, .. } => {
                if !*connected {
                    // SYN_SENT: Linux disconnects.
                    let (ifx, h) = (*ifx, *h);
                    ifaces[ifx].set.get_mut::<tcp::Socket>(h).abort();
                    ifaces[ifx].set.remove(h);
                    s.st = St::Idle;
                    return Ok(());
                }
                if rd {
                    s.shut_rd = true;
                }
                if wr && !s.shut_wr {
                    s.shut_wr = true;
                    *fin_sent = true;
                    ifaces[*ifx].set.get_mut::<tcp::Socket>(*h).close();
                }
                Ok(())
            }
            St::Listen { pend, .. } => {
                if rd {
                    for (ifx, h) in core::mem::take(pend) {
                        ifaces[ifx].set.remove(h);
                    }
                    s.st = St::Idle;
                    ports.remove(id.0);
                    s.bound = false;
                    s.user_bound = false;
                    s.local = None;
                }
                Ok(())
            }
            St::Dgram { .. } if s.peer.is_some() => {
                s.shut_rd |= rd;
                s.shut_wr |= wr;
                Ok(())
            }
            _ => {
                // TCP_CLOSE: the flags are set (poll shows them) and
                // ENOTCONN returned.
                s.shut_rd |= rd;
                s.shut_wr |= wr;
                Err(Errno::ENOTCONN)
            }
        }
    }

    /// Sends on a TCP socket: the bytes taken (fewer than `buf.len()` when
    /// the buffer fills), EAGAIN when none fit, EPIPE after shutdown or
    /// close (the caller raises SIGPIPE), the pending error first.
    pub fn send(&mut self, id: SockId, buf: &[u8]) -> Result<usize> {
        self.refresh(id);
        let s = self.sock_mut(id)?;
        if s.kind != Kind::Tcp {
            return self.send_to(id, buf, None);
        }
        match s.st {
            St::Tcp { ifx, h, connected, .. } => {
                if let Some(e) = s.err.take() {
                    return Err(e);
                }
                if s.shut_wr {
                    return Err(Errno::EPIPE);
                }
                if !connected {
                    return Err(Errno::EAGAIN);
                }
                let lowat = notsent_lowat(&s.opts);
                let sk = self.ifaces[ifx].set.get_mut::<tcp::Socket>(h);
                if !sk.may_send() {
                    return Err(Errno::EPIPE);
                }
                if buf.is_empty() {
                    return Ok(0);
                }
                // TCP_NOTSENT_LOWAT (sk_stream_memory_free): no more while
                // the unsent bytes reach it
                if sk.send_queue() as u64 >= lowat {
                    return Err(Errno::EAGAIN);
                }
                match sk.send_slice(buf) {
                    Ok(0) => Err(Errno::EAGAIN),
                    Ok(n) => {
                        self.sock_mut(id)?.sent += n as u64;
                        Ok(n)
                    }
                    Err(_) => Err(Errno::EPIPE),
                }
            }
            _ => {
                if let Some(e) = s.err.take() {
                    return Err(e);
                }
                Err(Errno::EPIPE)
            }
        }
    }

    /// Receives from a TCP socket: bytes, 0 at end of stream, EAGAIN when
    /// nothing is there yet, ENOTCONN unconnected, the pending error
    /// (ECONNRESET) once.
    pub fn recv(&mut self, id: SockId, buf: &mut [u8], peek: bool) -> Result<usize> {
        self.refresh(id);
        let s = self.sock_mut(id)?;
        if s.kind != Kind::Tcp {
            return self.recv_from(id, buf, peek).map(|(n, _, _)| n);
        }
        match s.st {
            St::Idle | St::Listen { .. } => Err(Errno::ENOTCONN),
            St::Dgram { .. } => Err(Errno::EINVAL),
            St::Dead => match s.err.take() {
                Some(e) => Err(e),
                None => Ok(0),
            },
            St::Tcp { ifx, h, connected, fin_rcvd, .. } => {
                if !connected {
                    return Err(Errno::EAGAIN);
                }
                let shut_rd = s.shut_rd;
                if let Some(n) = self.recv_urgent_aware(id, ifx, h, buf, peek)? {
                    return Ok(n);
                }
                if buf.is_empty() {
                    return Ok(0);
                }
                let s = self.sock_mut(id)?;
                if let Some(e) = s.err.take() {
                    return Err(e);
                }
                if shut_rd || fin_rcvd || !self.ifaces[ifx].set.get::<tcp::Socket>(h).may_recv() {
                    return Ok(0);
                }
                Err(Errno::EAGAIN)
            }
        }
    }

    // ---- datagrams ----

    /// sendto(2) on a datagram socket (`dst` None = the connected peer).
    /// Returns the length sent; EDESTADDRREQ without a destination,
    /// EMSGSIZE above the largest datagram, EAGAIN when the buffer is full.
    pub fn send_to(&mut self, id: SockId, buf: &[u8], dst: Option<SocketAddr>) -> Result<usize> {
        self.send_to_ctl(id, buf, dst, &[])
    }

    /// [`Stack::send_to`] with sendmsg's control messages `ctl` (the
    /// user's bytes; SOL_SOCKET ones are the caller's and skipped):
    /// IP_TTL/IP_TOS/IP_PKTINFO towards IPv4, IPV6_HOPLIMIT/IPV6_TCLASS/
    /// IPV6_PKTINFO towards IPv6 ([`cmsg`]), Linux's errno otherwise. A
    /// TCP socket ignores them.
    pub fn send_to_ctl(
        &mut self,
        id: SockId,
        buf: &[u8],
        dst: Option<SocketAddr>,
        ctl: &[u8],
    ) -> Result<usize> {
        let s = self.sock(id)?;
        if s.kind == Kind::Tcp {
            return match &s.st {
                St::Tcp { .. } | St::Dead => self.send(id, buf),
                _ => Err(Errno::EPIPE),
            };
        }
        if let Some(e) = self.sock_mut(id)?.err.take() {
            return Err(e);
        }
        let s = self.sock(id)?;
        if s.shut_wr {
            return Err(Errno::EPIPE);
        }
        let dst = match dst {
            Some(d) => d,
            None => s.peer.ok_or(Errno::EDESTADDRREQ)?,
        };
        let ip = Self::check_family(s, &dst)?;
        let tx = if !ctl.is_empty() && cmsg::has_ip_level(ctl) {
            let local = |a: IpAddr| self.is_local(to_ip(a));
            match (s.family, ip) {
                (Family::V6, IpAddress::Ipv6(_)) => cmsg::parse_v6(ctl, &local)?,
                (fam, _) => cmsg::parse_v4(ctl, fam == Family::V6, &local)?,
            }
        } else {
            cmsg::TxCtl::default()
        };
        let o = &s.opts;
        let ttl = tx.ttl.or((o.ttl > 0).then_some(o.ttl as u8));
        let tos = tx.tos.or(Some(match ip {
            IpAddress::Ipv4(_) => o.tos,
            IpAddress::Ipv6(_) => o.tclass,
        })
        .filter(|&t| t != 0));
        let ip = if ip.is_unspecified() {
            match ip {
                IpAddress::Ipv4(_) => IpAddress::Ipv4(Ipv4Addr::LOCALHOST),
                IpAddress::Ipv6(_) => IpAddress::Ipv6(Ipv6Addr::LOCALHOST),
            }
        } else {
            ip
        };
        if s.kind == Kind::Raw {
            let src = tx.src.map(to_ip);
            return self.raw_send(id, buf, ip, ttl, tos, src);
        }
        let max = match (s.kind, ip) {
            (Kind::Udp, IpAddress::Ipv4(_)) => UDP_MAX_V4,
            (Kind::Udp, IpAddress::Ipv6(_)) => UDP_MAX_V6,
            _ => 65535 - 20,
        };
        if buf.len() > max {
            return Err(Errno::EMSGSIZE);
        }
        let kind = s.kind;
        self.autobind(id)?;
        if matches!(self.sock(id)?.st, St::Idle) {
            self.open_dgram(id)?;
        }
        let ifx = self.route_out(ip)?;
        let s = self.sock(id)?;
        let St::Dgram { hs } = &s.st else { return Err(Errno::EINVAL) };
        let Some(&(_, h)) = hs.iter().find(|(i, _)| *i == ifx) else {
            return Err(Errno::ENETUNREACH);
        };
        let port = s.local.map(|l| l.port()).unwrap_or(0);
        // a wildcard socket's datagram to a local address comes from that
        // address (smoltcp would take the interface's first)
        let wild = s.local.is_none_or(|l| to_ip(l.ip()).is_unspecified());
        let auto_src = self.source_for(ifx, ip);
        let src = tx.src.map(to_ip).or(if wild { auto_src } else { None });
        let f = &mut self.ifaces[ifx];
        match kind {
            Kind::Udp => {
                let sk = f.set.get_mut::<udp::Socket>(h);
                let mut meta = udp::UdpMetadata::from(IpEndpoint::new(ip, dst.port()));
                meta.meta.id = meta::tx_id(ttl, tos);
                meta.local_address = src;
                let meta_id = meta.meta.id;
                sk.send_slice(buf, meta).map_err(|e| match e {
                    udp::SendError::BufferFull => Errno::EAGAIN,
                    udp::SendError::Unaddressable => Errno::EINVAL,
                })?;
                if let IpAddress::Ipv6(d6) = ip {
                    f.link.expect_v6(port, d6.octets(), dst.port(), meta_id, buf);
                }
                // smoltcp gives UDP sockets no ICMP errors: on lo the port
                // unreachable Linux would get back is known here. A
                // connected socket takes it as its pending error.
                let on_lo = f.loopback;
                let connected = self.sock(id)?.peer.is_some();
                if connected && on_lo && !self.ports.bound_at(Space::Udp, IpAddr::from(ip), dst.port()) {
                    self.sock_mut(id)?.err = Some(Errno::ECONNREFUSED);
                }
            }
            Kind::Ping => {
                // Linux's ping socket: an echo request whose identifier
                // becomes the socket's port.
                if buf.len() < 8 {
                    return Err(Errno::EINVAL);
                }
                if buf[0] != 8 || buf[1] != 0 {
                    return Err(Errno::EINVAL);
                }
                let sk = f.set.get_mut::<icmp::Socket>(h);
                let out = sk.send(buf.len(), ip).map_err(|_| Errno::EAGAIN)?;
                out.copy_from_slice(buf);
                out[4..6].copy_from_slice(&port.to_be_bytes());
                out[2] = 0;
                out[3] = 0;
                let sum = inet_checksum(out);
                out[2..4].copy_from_slice(&sum.to_be_bytes());
            }
            Kind::Raw => return Err(Errno::EINVAL),
            Kind::Tcp => return Err(Errno::EINVAL),
        }
        Ok(buf.len())
    }

    /// recvfrom(2) on a datagram socket: (bytes copied, the datagram's
    /// full length for MSG_TRUNC, the sender). EAGAIN when empty.
    pub fn recv_from(
        &mut self,
        id: SockId,
        buf: &mut [u8],
        peek: bool,
    ) -> Result<(usize, usize, SocketAddr)> {
        let mut none = Vec::new();
        self.recv_from_ctl(id, buf, peek, &mut none)
    }

    /// [`Stack::recv_from`] that also gives the control messages the
    /// socket asked for (IP_PKTINFO, IP_RECVTTL, IPV6_RECVHOPLIMIT, ...:
    /// [`cmsg`]) in `ctl`, in Linux's order.
    pub fn recv_from_ctl(
        &mut self,
        id: SockId,
        buf: &mut [u8],
        peek: bool,
        ctl: &mut Vec<cmsg::Cmsg>,
    ) -> Result<(usize, usize, SocketAddr)> {
        let s = self.sock(id)?;
        if s.kind == Kind::Tcp {
            let n = self.recv(id, buf, peek)?;
            let peer = self.peer_addr(id).unwrap_or(unspecified(self.sock(id)?.family));
            return Ok((n, n, peer));
        }
        if let Some(e) = self.sock_mut(id)?.err.take() {
            return Err(e);
        }
        let Stack { socks, ifaces, .. } = self;
        let s = socks.get(id.0 as usize).and_then(|s| s.as_ref()).ok_or(Errno::EBADF)?;
        let (fam, kind, peer, shut_rd, want) = (s.family, s.kind, s.peer, s.shut_rd, s.opts.recv);
        let raw_filter = (kind == Kind::Raw).then(|| Self::raw_filter(s));
        let St::Dgram { hs } = &s.st else {
            return if shut_rd { Ok((0, 0, unspecified(fam))) } else { Err(Errno::EAGAIN) };
        };
        for &(ifx, h) in hs.iter() {
            let ifindex = ifaces[ifx].index;
            let set = &mut ifaces[ifx].set;
            loop {
                match kind {
                    Kind::Udp => {
                        let sk = set.get_mut::<udp::Socket>(h);
                        let Ok((data, meta)) = sk.peek() else { break };
                        let from = user_addr(fam, meta.endpoint.addr, meta.endpoint.port);
                        if let Some(p) = peer
                            && p != from
                        {
                            let _ = sk.recv();
                            continue;
                        }
                        let full = data.len();
                        let n = full.min(buf.len());
                        buf[..n].copy_from_slice(&data[..n]);
                        if want != 0 {
                            // values a device did not report: Linux's
                            // defaults
                            let (ttl, tos) = meta::rx_values(meta.meta.id).unwrap_or((64, 0));
                            let rx = cmsg::Rx {
                                dst: meta.local_address.unwrap_or(meta.endpoint.addr),
                                dst_port: sk.endpoint().port,
                                ifindex,
                                ttl,
                                tos,
                            };
                            cmsg::recv(fam, want, &rx, ctl)?;
                        }
                        if !peek {
                            let _ = sk.recv();
                        }
                        return Ok((n, full, from));
                    }
                    Kind::Ping => {
                        let sk = set.get_mut::<icmp::Socket>(h);
                        let Ok((data, from)) = sk.recv() else { break };
                        // Only echo replies reach a ping socket.
                        if data.first() != Some(&0) {
                            continue;
                        }
                        let full = data.len();
                        let n = full.min(buf.len());
                        buf[..n].copy_from_slice(&data[..n]);
                        if want != 0 {
                            // smoltcp keeps no header of an echo reply:
                            // Linux's defaults (TTL 64, TOS 0), its source
                            // as the destination (right on lo, where
                            // replies come from the address pinged)
                            let rx = cmsg::Rx { dst: from, dst_port: 0, ifindex, ttl: 64, tos: 0 };
                            cmsg::recv(fam, want, &rx, ctl)?;
                        }
                        return Ok((n, full, user_addr(fam, from, 0)));
                    }
                    Kind::Raw => {
                        let sk = set.get_mut::<raw::Socket>(h);
                        let Ok(data) = sk.peek() else { break };
                        let Some((from, to, hl)) = raw_filter
                            .as_ref()
                            .and_then(|f| if f.passes(data) { rawip::addrs(data) } else { None })
                        else {
                            let _ = sk.recv();
                            continue;
                        };
                        // IPv6 sockets get no header (rawv6_recvmsg)
                        let body = if fam == Family::V6 { data.get(hl..).unwrap_or(&[]) } else { data };
                        let full = body.len();
                        let n = full.min(buf.len());
                        buf[..n].copy_from_slice(&body[..n]);
                        if fam == Family::V4 && hl <= data.len() {
                            // the header's checksum as it arrived (smoltcp
                            // rebuilds the header; lo computes none)
                            let mut hdr = [0u8; 60];
                            hdr[..hl].copy_from_slice(&data[..hl]);
                            rawip::fill_v4_checksum(&mut hdr[..hl]);
                            let m = n.min(hl);
                            buf[..m].copy_from_slice(&hdr[..m]);
                        }
                        if want != 0 {
                            // raw_recvmsg's ip_cmsg_recv, rawv6's
                            // ip6_datagram_recv_ctl: from the header
                            let (ttl, tos) = match fam {
                                Family::V4 => (data[8], data[1]),
                                Family::V6 => (data[7], (data[0] << 4) | (data[1] >> 4)),
                            };
                            let dst = match to {
                                IpAddr::V4(a) => IpAddress::Ipv4(a),
                                IpAddr::V6(a) => IpAddress::Ipv6(a),
                            };
                            let rx = cmsg::Rx { dst, dst_port: 0, ifindex, ttl, tos };
                            cmsg::recv(fam, want, &rx, ctl)?;
                        }
                        if !peek {
                            let _ = sk.recv();
                        }
                        let from = match from {
                            IpAddr::V4(a) => user_addr(fam, IpAddress::Ipv4(a), 0),
                            IpAddr::V6(a) => user_addr(fam, IpAddress::Ipv6(a), 0),
                        };
                        return Ok((n, full, from));
                    }
                    Kind::Tcp => break,
                }
            }
        }
        if shut_rd {
            return Ok((0, 0, unspecified(fam)));
        }
        Err(Errno::EAGAIN)
    }

    // ---- readiness ----

    /// The socket's poll bits, as Linux's tcp_poll / datagram_poll.
    pub fn events(&mut self, id: SockId) -> u32 {
        self.refresh(id);
        self.events_of(id)
    }

    fn events_of(&self, id: SockId) -> u32 {
        let Ok(s) = self.sock(id) else { return EPOLLERR | EPOLLHUP };
        let mut m = 0;
        match &s.st {
            St::Listen { pend, .. } => {
                let ready = pend.iter().any(|&(ifx, h)| {
                    let st = self.ifaces[ifx].set.get::<tcp::Socket>(h).state();
                    !matches!(st, tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed)
                });
                if ready {
                    m |= EPOLLIN | EPOLLRDNORM;
                }
                return m;
            }
            St::Idle | St::Dead if s.kind == Kind::Tcp => {
                // TCP_CLOSE.
                m |= EPOLLHUP;
                if s.shut_rd {
                    m |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
                }
                m |= EPOLLOUT | EPOLLWRNORM;
            }
            St::Tcp { ifx, h, connected, fin_rcvd, .. } => {
                let sk = self.ifaces[*ifx].set.get::<tcp::Socket>(*h);
                let rcv_shut = s.shut_rd || *fin_rcvd;
                if s.shut_rd && s.shut_wr {
                    m |= EPOLLHUP;
                }
                if rcv_shut {
                    m |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
                }
                if *connected {
                    let (readable, pri) = self.urgent_poll(id, sk.recv_queue());
                    if readable {
                        m |= EPOLLIN | EPOLLRDNORM;
                    }
                    if pri {
                        m |= EPOLLPRI;
                    }
                    if !s.shut_wr {
                        let queued = sk.send_queue();
                        let free = sk.send_capacity() - queued;
                        // TCP_NOTSENT_LOWAT (tcp_stream_memory_free with
                        // wake = 1): twice the unsent bytes below it
                        let lowat = notsent_lowat(&s.opts);
                        if sk.may_send() && free > 0 && free >= queued / 2 && (queued as u64) * 2 < lowat {
                            m |= EPOLLOUT | EPOLLWRNORM;
                        }
                    } else {
                        m |= EPOLLOUT | EPOLLWRNORM;
                    }
                }
            }
            St::Idle | St::Dead | St::Dgram { .. } => {
                if s.shut_rd {
                    m |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM;
                }
                if s.shut_rd && s.shut_wr {
                    m |= EPOLLHUP;
                }
                if let St::Dgram { hs } = &s.st {
                    let readable = hs.iter().any(|&(ifx, h)| {
                        let set = &self.ifaces[ifx].set;
                        match s.kind {
                            Kind::Udp => set.get::<udp::Socket>(h).can_recv(),
                            Kind::Ping => set.get::<icmp::Socket>(h).can_recv(),
                            Kind::Raw => set.get::<raw::Socket>(h).can_recv(),
                            Kind::Tcp => false,
                        }
                    });
                    if readable {
                        m |= EPOLLIN | EPOLLRDNORM;
                    }
                }
                m |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
            }
        }
        if s.err.is_some() {
            m |= EPOLLERR;
        }
        m
    }

    /// SO_ERROR: takes the pending error.
    pub fn take_error(&mut self, id: SockId) -> Result<Option<Errno>> {
        self.refresh(id);
        Ok(self.sock_mut(id)?.err.take())
    }

    /// Whether the socket listens (SO_ACCEPTCONN).
    pub fn is_listening(&self, id: SockId) -> bool {
        matches!(self.sock(id).map(|s| &s.st), Ok(St::Listen { .. }))
    }

    /// Bytes waiting to be read (FIONREAD / SIOCINQ): a TCP socket's
    /// queue, a datagram socket's next datagram.
    pub fn readable_bytes(&mut self, id: SockId) -> Result<usize> {
        let Stack { socks, ifaces, .. } = self;
        let s = socks.get(id.0 as usize).and_then(|s| s.as_ref()).ok_or(Errno::EBADF)?;
        match &s.st {
            St::Tcp { ifx, h, .. } => {
                let queued = ifaces[*ifx].set.get::<tcp::Socket>(*h).recv_queue();
                Ok(self.inq_urgent(id, queued))
            }
            St::Listen { .. } => Err(Errno::EINVAL),
            St::Dgram { hs } if s.kind == Kind::Udp => {
                for &(ifx, h) in hs {
                    if let Ok((d, _)) = ifaces[ifx].set.get_mut::<udp::Socket>(h).peek() {
                        return Ok(d.len());
                    }
                }
                Ok(0)
            }
            _ => Ok(0),
        }
    }

    /// The socket as the kernel's socket tables show it.
    pub fn sock_info(&self, id: SockId) -> Result<SockInfo> {
        let s = self.sock(id)?;
        let any = unspecified(s.family);
        let mut info = SockInfo {
            family: s.family,
            kind: s.kind,
            state: 7,
            local: self.local_addr(id).unwrap_or(any),
            remote: any,
            tx_queue: 0,
            rx_queue: 0,
            hashed: false,
            backlog: 0,
        };
        match &s.st {
            St::Listen { pend, backlog, .. } => {
                info.state = 10;
                info.hashed = true;
                info.backlog = (*backlog).max(0) as u32;
                info.rx_queue = pend
                    .iter()
                    .filter(|&&(ifx, h)| {
                        let st = self.ifaces[ifx].set.get::<tcp::Socket>(h).state();
                        !matches!(st, tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed)
                    })
                    .count() as u32;
            }
            St::Tcp { ifx, h, .. } => {
                let sk = self.ifaces[*ifx].set.get::<tcp::Socket>(*h);
                info.state = linux_tcp_state(sk.state());
                info.hashed = info.state != 7;
                if let Some(ep) = sk.remote_endpoint() {
                    info.remote = user_addr(s.family, ep.addr, ep.port);
                }
                info.tx_queue = sk.send_queue() as u32;
                info.rx_queue = sk.recv_queue() as u32;
            }
            St::Idle | St::Dead => {}
            St::Dgram { .. } => {
                info.hashed = s.bound || s.kind == Kind::Raw;
                if let Some(p) = s.peer {
                    info.state = 1;
                    info.remote = p;
                }
            }
        }
        Ok(info)
    }

    /// The TCP connections no user socket holds: closed ones finishing on
    /// their own (FIN-WAIT, TIME-WAIT: Linux's orphans and timewait
    /// sockets) and those a listener has not handed to accept(2) yet.
    /// Listed by the addresses' family. `ENOBUFS` when the list cannot be
    /// allocated. (All at once: [`Stack::unowned_tcp_batch`] lists them in
    /// pieces.)
    pub fn unowned_tcp(&self) -> Result<Vec<SockInfo>> {
        let mut out = Vec::new();
        let mut at = Some(UnownedCursor::default());
        while let Some(c) = at {
            at = self.unowned_tcp_batch(c, usize::MAX, &mut out)?;
        }
        Ok(out)
    }

    /// [`Stack::unowned_tcp`] in pieces: from `at`, looking at no more than
    /// `budget` entries (orphans, socket slots, a listener's pending
    /// connections), appended to `out` (`ENOBUFS` when it cannot grow; a
    /// caller that reserved `budget` more before allocates nothing here).
    /// Returns where to go on, `None` once at the end. A caller that lets
    /// go of the stack between pieces may miss or repeat a connection
    /// that came or went meanwhile (as a /proc/net reader on Linux).
    pub fn unowned_tcp_batch(
        &self,
        at: UnownedCursor,
        budget: usize,
        out: &mut Vec<SockInfo>,
    ) -> Result<Option<UnownedCursor>> {
        let mut c = at;
        let mut left = budget;
        let mut add = |ifx: usize, h: SocketHandle| -> Result<()> {
            if let Some(info) = self.unowned_info(ifx, h) {
                out.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
                out.push(info);
            }
            Ok(())
        };
        while c.orphan < self.orphans.len() {
            if left == 0 {
                return Ok(Some(c));
            }
            let (ifx, h, _) = self.orphans[c.orphan];
            add(ifx, h)?;
            c.orphan += 1;
            left -= 1;
        }
        while c.sock < self.socks.len() {
            let pend = match &self.socks[c.sock] {
                Some(Sock { st: St::Listen { pend, .. }, .. }) => &pend[..],
                _ => &[],
            };
            while c.pend < pend.len() {
                if left == 0 {
                    return Ok(Some(c));
                }
                let (ifx, h) = pend[c.pend];
                add(ifx, h)?;
                c.pend += 1;
                left -= 1;
            }
            if left == 0 {
                return Ok(Some(c));
            }
            c.sock += 1;
            c.pend = 0;
            left -= 1;
        }
        Ok(None)
    }

    /// One unowned connection as listed (`None`: not listed: no
    /// addresses, closed or listening).
    fn unowned_info(&self, ifx: usize, h: SocketHandle) -> Option<SockInfo> {
        let sk = self.ifaces[ifx].set.get::<tcp::Socket>(h);
        let st = linux_tcp_state(sk.state());
        let (Some(l), Some(r)) = (sk.local_endpoint(), sk.remote_endpoint()) else { return None };
        if matches!(st, 7 | 10) {
            return None;
        }
        let family = if matches!(l.addr, IpAddress::Ipv4(_)) { Family::V4 } else { Family::V6 };
        Some(SockInfo {
            family,
            kind: Kind::Tcp,
            state: st,
            local: user_addr(family, l.addr, l.port),
            remote: user_addr(family, r.addr, r.port),
            tx_queue: sk.send_queue() as u32,
            rx_queue: sk.recv_queue() as u32,
            hashed: true,
            backlog: 0,
        })
    }

    /// Bytes not yet acknowledged / sent (SIOCOUTQ).
    pub fn unsent_bytes(&self, id: SockId) -> Result<usize> {
        let s = self.sock(id)?;
        match &s.st {
            St::Tcp { ifx, h, .. } => Ok(self.ifaces[*ifx].set.get::<tcp::Socket>(*h).send_queue()),
            _ => Ok(0),
        }
    }

    /// The bytes a send on a connected TCP socket could take now (the free
    /// room of its send buffer); `None` for every other socket and state.
    /// A non-blocking caller copies no more than this from user memory.
    pub fn send_room(&self, id: SockId) -> Option<usize> {
        let s = self.sock(id).ok()?;
        match &s.st {
            St::Tcp { ifx, h, connected: true, .. } => {
                let sk = self.ifaces[*ifx].set.get::<tcp::Socket>(*h);
                Some(sk.send_capacity().saturating_sub(sk.send_queue()))
            }
            _ => None,
        }
    }

    /// Applies a changed option to the live smoltcp socket(s).
    fn apply_opts(&mut self, id: SockId) {
        let Ok(s) = self.sock(id) else { return };
        let o = s.opts;
        if let St::Tcp { ifx, h, .. } = s.st {
            let sk = self.ifaces[ifx].set.get_mut::<tcp::Socket>(h);
            sk.set_nagle_enabled(!o.nodelay);
            sk.set_keep_alive(o.keepalive.then(|| Duration::from_secs(o.keep.0.max(1) as u64)));
            sk.set_hop_limit(if o.ttl > 0 { Some(o.ttl as u8) } else { None });
        }
    }
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn inet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        sum += u32::from(*b) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(feature = "testing")]
pub mod testing;

// The README's example runs as a doctest too (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
