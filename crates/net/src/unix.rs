//! AF_UNIX sockets as Linux's `net/unix/af_unix.c`: stream, datagram and
//! seqpacket; socketpair; names in the filesystem (through the kernel's
//! [`Resolver`]) and in the abstract namespace ([`Names`]); autobind;
//! listen/accept with a backlog; shutdown; `SCM_RIGHTS` and
//! `SCM_CREDENTIALS`; SO_PEERCRED; poll bits of `unix_poll` and
//! `unix_dgram_poll`.
//!
//! Each socket has one lock over its state and receive queue. No call
//! holds two sockets' locks at once: a sender reads its peer under its own
//! lock, lets go, then queues under the receiver's. A message keeps its
//! sender (for the source address and the sender's send-buffer account,
//! `wmem`, given back when the message is read or dropped).
//!
//! A released socket (its last file closed, [`UnixSocket::release`])
//! drops its name, its peer link and its queue; the files in flight in
//! that queue are dropped after its lock. A socket whose only references
//! are messages in flight (sent over itself, or a cycle of such sockets)
//! is found by [`collect`] (Linux's unix_gc), which the kernel runs when a
//! socket carrying files in flight closes.

use crate::addr::{self, SockAddrBuf, UnixName};
use crate::common::SockOpts;
use crate::consts::*;
use crate::socket::*;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use linux_abi::{Errno, Result};
use spin::Mutex;

/// sk_shutdown bit: no more receiving.
const RCV_SHUTDOWN: u8 = 1;
/// sk_shutdown bit: no more sending.
const SEND_SHUTDOWN: u8 = 2;
const SHUTDOWN_MASK: u8 = 3;

/// The key of a bound name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Node(NodeId),
    /// An abstract name of a socket type in a network namespace: Linux
    /// hashes the type in, so a lookup for another type finds nothing
    /// (ECONNREFUSED, not EPROTOTYPE); abstract names are per network
    /// namespace (path names follow the filesystem).
    Abstract(u64, u32, Vec<u8>),
}

/// The bound AF_UNIX names of the system: filesystem nodes and abstract
/// names, each to its socket (held weakly).
pub struct Names<E: NetEnv> {
    map: Mutex<BTreeMap<Key, Weak<UnixSocket<E>>>>,
    /// The next autobind number (Linux starts at a random one).
    order: AtomicU64,
    /// Sockets whose queues hold files (for [`collect`]), by address.
    inflight: Mutex<BTreeMap<usize, Weak<UnixSocket<E>>>>,
}

impl<E: NetEnv> Default for Names<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: NetEnv> Names<E> {
    /// An empty namespace.
    pub const fn new() -> Self {
        Names {
            map: Mutex::new(BTreeMap::new()),
            order: AtomicU64::new(0x1d3a7),
            inflight: Mutex::new(BTreeMap::new()),
        }
    }

    fn find(&self, key: &Key) -> Option<Arc<UnixSocket<E>>> {
        self.map.lock().get(key).and_then(Weak::upgrade)
    }

    /// Inserts `key` unless a live socket holds it (`EADDRINUSE`).
    fn insert(&self, key: Key, s: &Arc<UnixSocket<E>>) -> Result<()> {
        let mut m = self.map.lock();
        if m.get(&key).is_some_and(|w| w.strong_count() > 0) {
            return Err(Errno::EADDRINUSE);
        }
        // BTreeMap insertion allocates infallibly; bound it by what a
        // user can hold (one entry per live socket)
        m.insert(key, Arc::downgrade(s));
        Ok(())
    }

    /// Removes `key` when `owner` holds it (or nobody does any more).
    fn remove(&self, key: &Key, owner: *const UnixSocket<E>) {
        let mut m = self.map.lock();
        if m.get(key).is_some_and(|w| w.strong_count() == 0 || core::ptr::eq(w.as_ptr(), owner)) {
            m.remove(key);
        }
    }

    /// How many names are bound (for leak checks).
    pub fn len(&self) -> usize {
        self.map.lock().len()
    }

    /// Whether no name is bound.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The namespace of the kernel's AF_UNIX sockets.
pub trait UnixEnv: NetEnv {
    /// The one namespace.
    fn names() -> &'static Names<Self>;
}

/// One message in a receive queue (an skb).
struct Msg<E: NetEnv> {
    data: Vec<u8>,
    /// Bytes already read (streams read messages in pieces).
    off: usize,
    sender: Arc<UnixSocket<E>>,
    rights: Vec<E::File>,
    creds: Ucred,
    /// When it was sent (`CLOCK_REALTIME` ns): `SCM_TIMESTAMP`'s time.
    stamp: u64,
}

impl<E: NetEnv> Msg<E> {
    fn left(&self) -> usize {
        self.data.len() - self.off
    }
}

impl<E: NetEnv> Drop for Msg<E> {
    fn drop(&mut self) {
        let n = self.left();
        if n > 0 {
            self.sender.uncharge(n);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Conn {
    /// TCP_CLOSE.
    Unconnected,
    /// TCP_LISTEN.
    Listening,
    /// TCP_ESTABLISHED (a datagram socket with a default peer too).
    Connected,
}

struct State<E: NetEnv> {
    conn: Conn,
    name: Option<UnixName>,
    node: Option<NodeId>,
    peer: Option<Arc<UnixSocket<E>>>,
    shut: u8,
    err: Option<Errno>,
    dead: bool,
    rx: VecDeque<Msg<E>>,
    rx_bytes: usize,
    backlog: u32,
    pending: VecDeque<Arc<UnixSocket<E>>>,
    /// Senders (connectors, datagram senders) waiting for room here.
    waiters: Vec<Weak<UnixSocket<E>>>,
    opts: SockOpts,
    peercred: Option<Ucred>,
}

/// An AF_UNIX socket as /proc/net/unix and unix_diag show it
/// ([`UnixSocket::diag`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnixDiag {
    /// SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET.
    pub ty: u32,
    /// Linux's `sk_state`.
    pub state: u8,
    /// The bound name.
    pub name: Option<UnixName>,
    /// Bytes queued for reading; a listener's connections waiting.
    pub rqueue: u32,
    /// Bytes sent and not yet read; a listener's backlog.
    pub wqueue: u32,
    /// This socket's identity (its address; [`UnixDiag::peer`] of its
    /// peer names it).
    pub id: usize,
    /// The peer's identity (`unix_peer`).
    pub peer: Option<usize>,
    /// The node of a path-bound socket (`UNIX_DIAG_VFS`).
    pub node: Option<NodeId>,
    /// `sk_shutdown` (RCV_SHUTDOWN 1, SEND_SHUTDOWN 2).
    pub shutdown: u8,
}

/// An AF_UNIX socket.
pub struct UnixSocket<E: NetEnv> {
    ty: u32,
    /// The network namespace it was made in (the kernel's number), which
    /// its abstract names belong to.
    netns: u64,
    waker: E::Waker,
    events: AtomicU64,
    /// Bytes this socket sent that nobody has read yet (sk_wmem_alloc).
    wmem: AtomicUsize,
    /// SO_SNDBUF as the state holds it, for readers settling `wmem`
    /// without this socket's lock.
    sndbuf: AtomicUsize,
    /// The bound name as a sockaddr (a leaf lock: receivers read the
    /// sender's while they hold their own state lock).
    addr: Mutex<Option<SockAddrBuf>>,
    me: Weak<UnixSocket<E>>,
    st: Mutex<State<E>>,
}

impl<E: NetEnv> core::fmt::Debug for UnixSocket<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UnixSocket").field("type", &self.ty).finish_non_exhaustive()
    }
}

/// Creates an AF_UNIX socket as unix_create: `EPROTONOSUPPORT` for a
/// protocol other than 0 or PF_UNIX, `SOCK_RAW` becomes `SOCK_DGRAM`,
/// `ESOCKTNOSUPPORT` for other types.
pub fn create<E: UnixEnv>(ty: u32, protocol: u32, waker: E::Waker) -> Result<Arc<UnixSocket<E>>> {
    create_in::<E>(ty, protocol, waker, 0)
}

/// [`create`] in network namespace `netns` (a number the kernel picks;
/// abstract names are looked up among the sockets of the same one).
pub fn create_in<E: UnixEnv>(
    ty: u32,
    protocol: u32,
    waker: E::Waker,
    netns: u64,
) -> Result<Arc<UnixSocket<E>>> {
    if protocol != 0 && protocol != u32::from(AF_UNIX) {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let ty = match ty {
        SOCK_STREAM | SOCK_SEQPACKET | SOCK_DGRAM => ty,
        SOCK_RAW => SOCK_DGRAM,
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    Ok(UnixSocket::new(ty, waker, netns))
}

/// Two connected sockets.
pub type Pair<E> = (Arc<UnixSocket<E>>, Arc<UnixSocket<E>>);

/// socketpair(2) for AF_UNIX: two sockets connected to each other, each
/// with the caller as its peer's credentials.
pub fn pair<E: UnixEnv>(
    ty: u32,
    protocol: u32,
    wakers: (E::Waker, E::Waker),
    caller: Caller,
) -> Result<Pair<E>> {
    pair_in::<E>(ty, protocol, wakers, caller, 0)
}

/// [`pair`] in network namespace `netns`.
pub fn pair_in<E: UnixEnv>(
    ty: u32,
    protocol: u32,
    wakers: (E::Waker, E::Waker),
    caller: Caller,
    netns: u64,
) -> Result<Pair<E>> {
    let a = create_in::<E>(ty, protocol, wakers.0, netns)?;
    let b = create_in::<E>(ty, protocol, wakers.1, netns)?;
    for (x, y) in [(&a, &b), (&b, &a)] {
        let mut s = x.st.lock();
        s.peer = Some(y.clone());
        s.conn = Conn::Connected;
        s.peercred = Some(caller.peercred());
    }
    Ok((a, b))
}

impl<E: NetEnv> UnixSocket<E> {
    fn new(ty: u32, waker: E::Waker, netns: u64) -> Arc<Self> {
        Arc::new_cyclic(|me| UnixSocket {
            ty,
            netns,
            waker,
            events: AtomicU64::new(0),
            wmem: AtomicUsize::new(0),
            sndbuf: AtomicUsize::new(DEFAULT_BUF),
            addr: Mutex::new(None),
            me: me.clone(),
            st: Mutex::new(State {
                conn: Conn::Unconnected,
                name: None,
                node: None,
                peer: None,
                shut: 0,
                err: None,
                dead: false,
                rx: VecDeque::new(),
                rx_bytes: 0,
                backlog: 0,
                pending: VecDeque::new(),
                waiters: Vec::new(),
                opts: SockOpts::default(),
                peercred: None,
            }),
        })
    }

    /// The network namespace it was made in.
    pub fn netns(&self) -> u64 {
        self.netns
    }

    /// The `Arc` this socket lives in.
    pub fn to_arc(&self) -> Arc<Self> {
        self.arc()
    }

    fn arc(&self) -> Arc<Self> {
        // `me` is set at construction and `self` is alive, so it upgrades
        self.me.upgrade().unwrap_or_else(|| unreachable_socket())
    }

    /// `n` bytes this socket sent were read or dropped: its sleepers wake
    /// only when that makes it writable again (Linux's unix_write_space),
    /// not on every read, so a reader does not wake a writer that sleeps
    /// for something else.
    fn uncharge(&self, n: usize) {
        let before = self.wmem.fetch_sub(n, Ordering::SeqCst);
        let after = before - n;
        let buf = self.sndbuf.load(Ordering::Relaxed);
        if (before * 4 > buf && after * 4 <= buf) || (before >= buf && after < buf) {
            self.changed();
        }
    }

    /// The sockaddr of the bound name (`None` when unbound).
    fn bound_addr(&self) -> Option<SockAddrBuf> {
        *self.addr.lock()
    }

    /// Records the bound name (state lock held by the caller).
    fn set_name(&self, s: &mut State<E>, n: UnixName) {
        *self.addr.lock() = Some(n.to_sockaddr());
        s.name = Some(n);
    }

    /// Readiness may have changed: count it and wake the sleepers.
    fn changed(&self) {
        self.events.fetch_add(1, Ordering::SeqCst);
        self.waker.wake();
    }

    fn is_conn_type(&self) -> bool {
        self.ty != SOCK_DGRAM
    }

    /// The socket's bound name, if any.
    pub fn name(&self) -> Option<UnixName> {
        self.st.lock().name.clone()
    }

    /// What /proc/net/unix and unix_diag show: the type, Linux's
    /// `sk_state` (TCP_ESTABLISHED 1, TCP_CLOSE 7, TCP_LISTEN 10), the bound
    /// name, the bytes waiting to be read (a listener: the connections
    /// waiting for accept) and the backlog.
    pub fn diag(&self) -> UnixDiag {
        let s = self.st.lock();
        let listening = matches!(s.conn, Conn::Listening);
        UnixDiag {
            ty: self.ty,
            state: match s.conn {
                Conn::Unconnected => 7,
                Conn::Listening => 10,
                Conn::Connected => 1,
            },
            name: s.name.clone(),
            rqueue: if listening { s.pending.len() as u32 } else { s.rx_bytes as u32 },
            wqueue: if listening { s.backlog } else { self.wmem.load(Ordering::Relaxed) as u32 },
            id: self.me.as_ptr() as usize,
            peer: s.peer.as_ref().map(|p| Arc::as_ptr(p) as usize),
            node: s.node,
            shutdown: s.shut,
        }
    }

    /// Whether the socket is released (its last file closed).
    pub fn is_dead(&self) -> bool {
        self.st.lock().dead
    }

    /// The files in flight in this socket's receive queue (for
    /// [`collect`]).
    fn inflight_files(&self) -> Vec<E::File> {
        let s = self.st.lock();
        let mut v = Vec::new();
        for m in &s.rx {
            v.extend(m.rights.iter().cloned());
        }
        for p in &s.pending {
            // an embryo's queue counts as the listener's (Linux walks it)
            let q = p.st.try_lock();
            if let Some(q) = q {
                for m in &q.rx {
                    v.extend(m.rights.iter().cloned());
                }
            }
        }
        v
    }

    fn autobind(&self, s: &mut State<E>) -> Result<()>
    where
        E: UnixEnv,
    {
        if s.name.is_some() {
            return Ok(());
        }
        let names = E::names();
        for _ in 0..0x100000 {
            let n = names.order.fetch_add(1, Ordering::Relaxed) & 0xfffff;
            let mut v = Vec::new();
            v.try_reserve(5).map_err(|_| Errno::ENOMEM)?;
            for shift in [16, 12, 8, 4, 0] {
                v.push(b"0123456789abcdef"[((n >> shift) & 0xf) as usize]);
            }
            if names.insert(Key::Abstract(self.netns, self.ty, v.clone()), &self.arc()).is_ok() {
                self.set_name(s, UnixName::Abstract(v));
                return Ok(());
            }
        }
        Err(Errno::ENOSPC)
    }

    /// The socket bound to `addr` (validated), as unix_find_other:
    /// `ECONNREFUSED` when nobody holds the name (an abstract name of
    /// another type included), `EPROTOTYPE` for a path bound by another
    /// type.
    fn find_other(&self, cx: &mut dyn Resolver, addr: &[u8]) -> Result<Arc<Self>>
    where
        E: UnixEnv,
    {
        let key = match addr::parse_unix(addr)? {
            UnixName::Path(p) => Key::Node(cx.lookup_path(&p)?),
            UnixName::Abstract(n) => Key::Abstract(self.netns, self.ty, n),
        };
        let other = E::names().find(&key).ok_or(Errno::ECONNREFUSED)?;
        if other.is_dead() {
            return Err(Errno::ECONNREFUSED);
        }
        if other.ty != self.ty {
            return Err(Errno::EPROTOTYPE);
        }
        Ok(other)
    }

    /// SIOCINQ as unix_inq_len: every queued byte of a stream or
    /// seqpacket socket, the first datagram's size otherwise.
    fn readable_len(s: &State<E>, ty: u32) -> usize {
        if ty == SOCK_DGRAM { s.rx.front().map_or(0, |m| m.left()) } else { s.rx_bytes }
    }

    fn writable(&self, s: &State<E>) -> bool {
        self.wmem.load(Ordering::SeqCst) * 4 <= s.opts.sndbuf
    }

    /// Linux's unix_release_sock: the socket's last file is closed.
    fn release_sock(&self, embryo: bool) {
        let (peer, node, name, rx, pending, waiters, unread) = {
            let mut s = self.st.lock();
            if s.dead {
                return;
            }
            s.dead = true;
            s.shut = SHUTDOWN_MASK;
            s.conn = Conn::Unconnected;
            let unread = !s.rx.is_empty();
            s.rx_bytes = 0;
            (
                s.peer.take(),
                s.node.take(),
                s.name.clone(),
                core::mem::take(&mut s.rx),
                core::mem::take(&mut s.pending),
                core::mem::take(&mut s.waiters),
                unread,
            )
        };
        if let Some(p) = &peer
            && self.is_conn_type()
        {
            let mut ps = p.st.lock();
            if ps.peer.as_ref().is_some_and(|x| core::ptr::eq(&**x, self)) {
                ps.shut = SHUTDOWN_MASK;
                if unread || embryo {
                    ps.err = Some(Errno::ECONNRESET);
                }
            }
            drop(ps);
            p.changed();
        }
        drop(peer);
        let _ = (node, name);
        for w in waiters.iter().filter_map(Weak::upgrade) {
            w.changed();
        }
        // embryos never accepted: their connectors see a reset
        for e in pending {
            e.release_sock(true);
        }
        drop(rx);
        self.changed();
    }

    fn unname(&self)
    where
        E: UnixEnv,
    {
        let (node, name) = {
            let s = self.st.lock();
            (s.node, s.name.clone())
        };
        if let Some(n) = node {
            E::names().remove(&Key::Node(n), self);
        } else if let Some(UnixName::Abstract(a)) = name {
            E::names().remove(&Key::Abstract(self.netns, self.ty, a), self);
        }
    }

    fn set_waiter(other: &Self, me: &Arc<Self>) {
        let mut s = other.st.lock();
        s.waiters.retain(|w| w.strong_count() > 0);
        if !s.waiters.iter().any(|w| core::ptr::eq(w.as_ptr(), Arc::as_ptr(me)))
            && s.waiters.try_reserve(1).is_ok()
        {
            s.waiters.push(Arc::downgrade(me));
        }
    }

    /// Whether `other`'s receive queue is full for a datagram from `me`
    /// (never when `other` is connected back to `me`, as in Linux).
    fn peer_full(os: &State<E>, me: &Arc<Self>) -> bool {
        let peer_is_me = os.peer.as_ref().is_some_and(|p| Arc::ptr_eq(p, me));
        !peer_is_me && os.rx.len() > os.backlog.max(UNIX_MAX_DGRAM_QLEN) as usize
    }

    /// Linux's unix_dgram_peer_wake_me: when `other`'s queue is full for
    /// `me`, registers `me` for `other`'s wake-up (checked and registered
    /// under `other`'s lock, so a read that drains it cannot slip between)
    /// and returns true.
    fn wait_if_full(other: &Self, me: &Arc<Self>) -> bool {
        let mut s = other.st.lock();
        if !Self::peer_full(&s, me) {
            return false;
        }
        s.waiters.retain(|w| w.strong_count() > 0);
        if !s.waiters.iter().any(|w| core::ptr::eq(w.as_ptr(), Arc::as_ptr(me)))
            && s.waiters.try_reserve(1).is_ok()
        {
            s.waiters.push(Arc::downgrade(me));
        }
        true
    }

    fn wake_waiters(s: &mut State<E>) -> Vec<Arc<Self>> {
        core::mem::take(&mut s.waiters).iter().filter_map(Weak::upgrade).collect()
    }

    fn stream_send(&self, msg: &mut SendMsg<'_, E>, caller: Caller) -> Result<usize>
    where
        E: UnixEnv,
    {
        let (peer, sndbuf, passcred) = {
            let mut s = self.st.lock();
            if msg.addr.is_some() {
                return Err(if s.conn == Conn::Connected { Errno::EISCONN } else { Errno::EOPNOTSUPP });
            }
            let peer = match (&s.peer, s.conn) {
                (Some(p), Conn::Connected) => p.clone(),
                _ => return Err(Errno::ENOTCONN),
            };
            // Linux checks the shutdown once per call (EPIPE), then
            // sock_alloc_send_pskb the pending error before the shutdown
            // for every buffer, also after a wait for room
            if msg.again
                && let Some(e) = s.err.take()
            {
                return Err(e);
            }
            if s.shut & SEND_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
            if msg.data.is_empty() {
                return Ok(0);
            }
            (peer, s.opts.sndbuf, s.opts.passcred)
        };
        let _ = passcred;
        let used = self.wmem.load(Ordering::SeqCst);
        if used >= sndbuf {
            if peer.is_dead() || peer.st.lock().shut & RCV_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
            return Err(Errno::EAGAIN);
        }
        let n = msg.data.len().min(sndbuf - used);
        let m = self.new_msg(&msg.data[..n], msg, caller)?;
        {
            let mut ps = peer.st.lock();
            if ps.dead || ps.shut & RCV_SHUTDOWN != 0 {
                drop(ps);
                drop(m);
                return Err(Errno::EPIPE);
            }
            if ps.rx.try_reserve(1).is_err() {
                // the message (and its files) goes after the lock
                drop(ps);
                drop(m);
                return Err(Errno::ENOBUFS);
            }
            ps.rx_bytes += n;
            if !m.rights.is_empty() {
                note_inflight(&peer);
            }
            ps.rx.push_back(m);
        }
        peer.changed();
        Ok(n)
    }

    fn new_msg(&self, data: &[u8], msg: &mut SendMsg<'_, E>, caller: Caller) -> Result<Msg<E>> {
        let mut v = Vec::new();
        v.try_reserve_exact(data.len()).map_err(|_| Errno::ENOBUFS)?;
        v.extend_from_slice(data);
        self.wmem.fetch_add(data.len(), Ordering::SeqCst);
        Ok(Msg {
            data: v,
            off: 0,
            sender: self.arc(),
            rights: core::mem::take(&mut msg.rights),
            creds: msg.creds.unwrap_or(caller.scm_creds()),
            stamp: E::realtime_ns(),
        })
    }

    fn dgram_send(&self, cx: &mut dyn Resolver, msg: &mut SendMsg<'_, E>) -> Result<usize>
    where
        E: UnixEnv,
    {
        let caller = cx.caller();
        let seq = self.ty == SOCK_SEQPACKET;
        let addr = if seq { None } else { msg.addr };
        let (peer, sndbuf) = {
            let mut s = self.st.lock();
            if seq && s.conn != Conn::Connected {
                return Err(Errno::ENOTCONN);
            }
            if let Some(a) = addr {
                addr::unix_validate(a)?;
            }
            let peer = s.peer.clone();
            if addr.is_none() && peer.is_none() {
                return Err(Errno::ENOTCONN);
            }
            if s.opts.passcred {
                self.autobind(&mut s)?;
            }
            if seq && s.shut & SEND_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
            (peer, s.opts.sndbuf)
        };
        if msg.data.len() > sndbuf.saturating_sub(32) {
            return Err(Errno::EMSGSIZE);
        }
        if self.wmem.load(Ordering::SeqCst) >= sndbuf {
            return Err(Errno::EAGAIN);
        }
        let other = match addr {
            Some(a) => self.find_other(cx, a)?,
            None => peer.clone().ok_or(Errno::ENOTCONN)?,
        };
        let me = self.arc();
        let m = self.new_msg(msg.data, msg, caller)?;
        let n = msg.data.len();
        {
            let mut os = other.st.lock();
            if os.peer.as_ref().is_some_and(|p| !Arc::ptr_eq(p, &me)) && !seq {
                drop(os);
                msg.rights = restore_rights(m);
                return Err(Errno::EPERM);
            }
            if os.dead {
                drop(os);
                msg.rights = restore_rights(m);
                if seq {
                    return Err(Errno::EPIPE);
                }
                if peer.as_ref().is_some_and(|p| Arc::ptr_eq(p, &other)) {
                    let mut s = self.st.lock();
                    s.peer = None;
                    s.conn = Conn::Unconnected;
                    return Err(Errno::ECONNREFUSED);
                }
                return Err(Errno::ECONNREFUSED);
            }
            if os.shut & RCV_SHUTDOWN != 0 {
                drop(os);
                msg.rights = restore_rights(m);
                return Err(Errno::EPIPE);
            }
            let peer_is_me = os.peer.as_ref().is_some_and(|p| Arc::ptr_eq(p, &me));
            if !peer_is_me && os.rx.len() > os.backlog.max(UNIX_MAX_DGRAM_QLEN) as usize {
                drop(os);
                msg.rights = restore_rights(m);
                Self::set_waiter(&other, &me);
                return Err(Errno::EAGAIN);
            }
            if os.rx.try_reserve(1).is_err() {
                drop(os);
                msg.rights = restore_rights(m);
                return Err(Errno::ENOBUFS);
            }
            os.rx_bytes += n;
            if !m.rights.is_empty() {
                note_inflight(&other);
            }
            os.rx.push_back(m);
        }
        other.changed();
        Ok(n)
    }

    fn stream_recv(&self, buf: &mut [u8], flags: u32) -> Result<RecvMsg<E>> {
        let peek = flags & MSG_PEEK != 0;
        let mut out = RecvMsg::empty();
        let mut senders = Vec::new();
        let mut wake = Vec::new();
        let r = {
            let mut s = self.st.lock();
            if s.conn != Conn::Connected {
                return Err(Errno::EINVAL);
            }
            if s.rx.is_empty() {
                if let Some(e) = s.err.take() {
                    return Err(e);
                }
                if s.shut & RCV_SHUTDOWN != 0 {
                    return Ok(out);
                }
                return Err(Errno::EAGAIN);
            }
            let passcred = s.opts.passcred;
            let mut done = 0;
            let mut i = 0;
            let mut first = true;
            let mut creds = Ucred::default();
            while done < buf.len() && i < s.rx.len() {
                let m = &mut s.rx[i];
                if !first && passcred && m.creds != creds {
                    break;
                }
                if first {
                    out.addr = m.sender.bound_addr();
                    creds = m.creds;
                    if passcred {
                        out.creds = Some(m.creds);
                    }
                    first = false;
                }
                let n = m.left().min(buf.len() - done);
                buf[done..done + n].copy_from_slice(&m.data[m.off..m.off + n]);
                done += n;
                let has_rights = !m.rights.is_empty();
                if peek {
                    if has_rights {
                        out.rights = m.rights.clone();
                        break;
                    }
                    i += 1;
                    continue;
                }
                m.off += n;
                senders.push((m.sender.clone(), n));
                if has_rights {
                    out.rights = core::mem::take(&mut m.rights);
                }
                let whole = m.left() == 0;
                if whole {
                    // drop outside the lock (the sender account is settled)
                    if let Some(mut m) = s.rx.pop_front() {
                        m.off = m.data.len();
                        wake.push(m);
                    }
                }
                if has_rights {
                    break;
                }
                if !whole {
                    break;
                }
            }
            if !peek {
                s.rx_bytes -= done;
            }
            out.more = out.rights.is_empty() && !peek;
            out.len = done;
            out.ret = done;
            Ok(out)
        };
        for (sd, n) in senders {
            sd.uncharge(n);
        }
        drop(wake);
        // a read wakes nobody on this socket (Linux wakes the writer only,
        // through uncharge)
        r
    }

    fn dgram_recv(&self, buf: &mut [u8], flags: u32) -> Result<RecvMsg<E>> {
        let peek = flags & MSG_PEEK != 0;
        let (m, wake, r) = {
            let mut s = self.st.lock();
            if self.ty == SOCK_SEQPACKET && s.conn != Conn::Connected {
                return Err(Errno::ENOTCONN);
            }
            let passcred = s.opts.passcred;
            let stamp = s.opts.timestamp;
            let Some(front) = s.rx.front_mut() else {
                if let Some(e) = s.err.take() {
                    return Err(e);
                }
                if s.shut & RCV_SHUTDOWN != 0 {
                    return Ok(RecvMsg::empty());
                }
                return Err(Errno::EAGAIN);
            };
            let full = front.data.len();
            let n = full.min(buf.len());
            buf[..n].copy_from_slice(&front.data[..n]);
            let mut out = RecvMsg::empty();
            out.len = n;
            out.ret = if flags & MSG_TRUNC != 0 { full } else { n };
            if n < full {
                out.flags |= MSG_TRUNC;
            }
            out.addr = front.sender.bound_addr();
            if passcred {
                out.creds = Some(front.creds);
            }
            if stamp != 0 {
                // __sock_recv_timestamp(): before the credentials
                out.cmsgs.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
                out.cmsgs.push(timestamp_cmsg(stamp, front.stamp));
            }
            if peek {
                out.rights = front.rights.clone();
                (None, Vec::new(), out)
            } else {
                out.rights = core::mem::take(&mut front.rights);
                let m = s.rx.pop_front();
                s.rx_bytes -= full;
                (m, Self::wake_waiters(&mut s), out)
            }
        };
        drop(m);
        for w in wake {
            w.changed();
        }
        Ok(r)
    }
}

/// `SCM_TIMESTAMP` (a `struct timeval`) or, for `kind` 2,
/// `SCM_TIMESTAMPNS` (a `struct timespec`) of a message sent at `ns`.
fn timestamp_cmsg(kind: u8, ns: u64) -> Cmsg {
    let sec = ns / 1_000_000_000;
    let (ty, frac) = if kind == 2 {
        (SO_TIMESTAMPNS, ns % 1_000_000_000)
    } else {
        (SO_TIMESTAMP, ns % 1_000_000_000 / 1000)
    };
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&sec.to_le_bytes());
    b[8..].copy_from_slice(&frac.to_le_bytes());
    Cmsg::new(SOL_SOCKET, ty, &b)
}

fn restore_rights<E: NetEnv>(mut m: Msg<E>) -> Vec<E::File> {
    core::mem::take(&mut m.rights)
}

#[cold]
fn unreachable_socket() -> ! {
    panic!("unix socket used after its last reference")
}

impl<E: UnixEnv> Socket<E> for UnixSocket<E> {
    fn domain(&self) -> u16 {
        AF_UNIX
    }

    fn sock_type(&self) -> u32 {
        self.ty
    }

    fn protocol(&self) -> u32 {
        0
    }

    fn waker(&self) -> &E::Waker {
        &self.waker
    }

    fn event_count(&self) -> u64 {
        self.events.load(Ordering::SeqCst)
    }

    fn poll(&self) -> u32 {
        let s = self.st.lock();
        let mut m = 0;
        if s.err.is_some() {
            m |= EPOLLERR;
        }
        if s.shut & RCV_SHUTDOWN != 0 {
            m |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM;
        }
        if s.shut == SHUTDOWN_MASK {
            m |= EPOLLHUP;
        }
        if !s.rx.is_empty() || !s.pending.is_empty() {
            m |= EPOLLIN | EPOLLRDNORM;
        }
        if self.is_conn_type() && s.conn == Conn::Unconnected {
            m |= EPOLLHUP;
        }
        let mut writable = self.writable(&s);
        // Linux's unix_dgram_poll: a datagram socket is not writable while
        // its peer's receive queue is full, and then it registers for the
        // peer's wake-up (unix_dgram_peer_wake_me), so a poller learns when
        // the peer drains. The peer is looked at with this socket unlocked
        // (two socket locks never nest here); the peer's clone is dropped
        // after both are released.
        let peer = if self.ty != SOCK_STREAM && writable { s.peer.clone() } else { None };
        drop(s);
        if let Some(p) = peer
            && Self::wait_if_full(&p, &self.arc())
        {
            writable = false;
        }
        if writable {
            m |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
        }
        m
    }

    fn bind(&self, cx: &mut dyn Resolver, a: &[u8]) -> Result<()> {
        if addr::unix_is_autobind(a) {
            let mut s = self.st.lock();
            return self.autobind(&mut s);
        }
        let name = addr::parse_unix(a)?;
        match name {
            UnixName::Abstract(n) => {
                let mut s = self.st.lock();
                if s.name.is_some() {
                    return Err(Errno::EINVAL);
                }
                E::names().insert(Key::Abstract(self.netns, self.ty, n.clone()), &self.arc())?;
                self.set_name(&mut s, UnixName::Abstract(n));
                Ok(())
            }
            UnixName::Path(p) => {
                let node = cx.bind_path(&p)?;
                let mut s = self.st.lock();
                if s.name.is_some() {
                    drop(s);
                    cx.unlink_path(&p);
                    return Err(Errno::EINVAL);
                }
                if let Err(e) = E::names().insert(Key::Node(node), &self.arc()) {
                    drop(s);
                    cx.unlink_path(&p);
                    return Err(e);
                }
                s.node = Some(node);
                self.set_name(&mut s, UnixName::Path(p));
                Ok(())
            }
        }
    }

    fn listen(&self, cx: &mut dyn Resolver, backlog: u32) -> Result<()> {
        if self.ty == SOCK_DGRAM {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut s = self.st.lock();
        if s.name.is_none() {
            return Err(Errno::EINVAL);
        }
        if s.conn == Conn::Connected {
            return Err(Errno::EINVAL);
        }
        let grew = backlog > s.backlog;
        s.backlog = backlog;
        s.conn = Conn::Listening;
        s.peercred = Some(cx.caller().peercred());
        let w = if grew { Self::wake_waiters(&mut s) } else { Vec::new() };
        drop(s);
        for x in w {
            x.changed();
        }
        Ok(())
    }

    fn accept(&self, _cx: &mut dyn Resolver) -> Result<Arc<dyn Socket<E>>> {
        if self.ty == SOCK_DGRAM {
            return Err(Errno::EOPNOTSUPP);
        }
        let (n, w) = {
            let mut s = self.st.lock();
            if s.conn != Conn::Listening {
                return Err(Errno::EINVAL);
            }
            let n = s.pending.pop_front().ok_or(Errno::EAGAIN)?;
            let passcred = s.opts.passcred;
            n.st.lock().opts.passcred = passcred;
            (n, Self::wake_waiters(&mut s))
        };
        for x in w {
            x.changed();
        }
        self.changed();
        Ok(n)
    }

    fn connect(&self, cx: &mut dyn Resolver, a: &[u8], _nonblock: bool) -> Result<()> {
        // unix_dgram_connect: AF_UNSPEC disconnects
        if self.ty == SOCK_DGRAM && a.len() >= 2 && addr::family(a) == AF_UNSPEC {
            let old = {
                let mut s = self.st.lock();
                s.conn = Conn::Unconnected;
                s.peer.take()
            };
            if let Some(o) = old {
                o.changed();
            }
            return Ok(());
        }
        addr::unix_validate(a)?;
        {
            let mut s = self.st.lock();
            if s.opts.passcred {
                self.autobind(&mut s)?;
            }
        }
        let other = self.find_other(cx, a)?;
        if self.ty == SOCK_DGRAM {
            let old = {
                let mut s = self.st.lock();
                s.conn = Conn::Connected;
                s.peer.replace(other)
            };
            if let Some(o) = old {
                o.changed();
            }
            self.changed();
            return Ok(());
        }
        let me = self.arc();
        let caller = cx.caller();
        // latched before the listener's lock, checked after its checks
        // (unix_stream_connect): a listener connecting to itself is EINVAL
        let my_state = self.st.lock().conn;
        let embryo = UnixSocket::new(self.ty, E::new_waker()?, self.netns);
        {
            let mut os = other.st.lock();
            if os.conn != Conn::Listening || os.shut & RCV_SHUTDOWN != 0 || os.dead {
                return Err(Errno::ECONNREFUSED);
            }
            if os.pending.len() > os.backlog as usize {
                drop(os);
                Self::set_waiter(&other, &me);
                return Err(Errno::EAGAIN);
            }
            match my_state {
                Conn::Unconnected => {}
                Conn::Connected => return Err(Errno::EISCONN),
                Conn::Listening => return Err(Errno::EINVAL),
            }
            os.pending.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            {
                let mut es = embryo.st.lock();
                es.conn = Conn::Connected;
                es.peer = Some(me.clone());
                es.peercred = Some(caller.peercred());
                if let Some(n) = os.name.clone() {
                    embryo.set_name(&mut es, n);
                }
            }
            let listener_cred = os.peercred;
            os.pending.push_back(embryo.clone());
            drop(os);
            let mut s = self.st.lock();
            s.conn = Conn::Connected;
            s.peer = Some(embryo);
            s.peercred = listener_cred;
        }
        other.changed();
        self.changed();
        Ok(())
    }

    fn sendmsg(&self, cx: &mut dyn Resolver, msg: &mut SendMsg<'_, E>) -> Result<usize> {
        if msg.flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        if self.ty == SOCK_STREAM {
            let caller = cx.caller();
            {
                let mut s = self.st.lock();
                if s.opts.passcred && s.conn == Conn::Connected {
                    self.autobind(&mut s)?;
                }
            }
            self.stream_send(msg, caller)
        } else {
            self.dgram_send(cx, msg)
        }
    }

    fn recvmsg(&self, _cx: &mut dyn Resolver, buf: &mut [u8], flags: u32) -> Result<RecvMsg<E>> {
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        if self.ty == SOCK_STREAM { self.stream_recv(buf, flags) } else { self.dgram_recv(buf, flags) }
    }

    fn shutdown(&self, how: u32) -> Result<()> {
        if how > SHUT_RDWR {
            return Err(Errno::EINVAL);
        }
        let mode = (how + 1) as u8;
        let peer = {
            let mut s = self.st.lock();
            s.shut |= mode;
            s.peer.clone()
        };
        self.changed();
        if let Some(p) = peer
            && self.is_conn_type()
        {
            let mut pm = 0;
            if mode & RCV_SHUTDOWN != 0 {
                pm |= SEND_SHUTDOWN;
            }
            if mode & SEND_SHUTDOWN != 0 {
                pm |= RCV_SHUTDOWN;
            }
            p.st.lock().shut |= pm;
            p.changed();
        }
        Ok(())
    }

    fn getsockname(&self) -> Result<SockAddrBuf> {
        Ok(self.st.lock().name.as_ref().map_or_else(SockAddrBuf::unix_unnamed, |n| n.to_sockaddr()))
    }

    fn getpeername(&self) -> Result<SockAddrBuf> {
        let p = self.st.lock().peer.clone().ok_or(Errno::ENOTCONN)?;
        if self.is_conn_type() && self.st.lock().conn != Conn::Connected {
            return Err(Errno::ENOTCONN);
        }
        p.getsockname()
    }

    fn setsockopt(&self, _cx: &mut dyn Resolver, level: i32, name: i32, val: &[u8]) -> Result<()> {
        if level != SOL_SOCKET {
            return Err(Errno::EOPNOTSUPP);
        }
        match name {
            SO_TYPE | SO_PROTOCOL | SO_DOMAIN | SO_ERROR | SO_ACCEPTCONN | SO_PEERCRED => {
                Err(Errno::ENOPROTOOPT)
            }
            _ => {
                let w = {
                    let mut s = self.st.lock();
                    s.opts.set(name, val)?;
                    self.sndbuf.store(s.opts.sndbuf, Ordering::Relaxed);
                    name == SO_SNDBUF || name == SO_SNDBUFFORCE
                };
                if w {
                    self.changed();
                }
                Ok(())
            }
        }
    }

    fn getsockopt(&self, level: i32, name: i32, buf: &mut [u8]) -> Result<usize> {
        if level != SOL_SOCKET {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut s = self.st.lock();
        match name {
            SO_ERROR => Ok(put_int(buf, s.err.take().map_or(0, |e| e.as_i32()))),
            SO_ACCEPTCONN => Ok(put_int(buf, i32::from(s.conn == Conn::Listening))),
            SO_PEERCRED => {
                let c = s.peercred.unwrap_or(Ucred { pid: 0, uid: u32::MAX, gid: u32::MAX });
                let b = c.to_bytes();
                let n = buf.len().min(12);
                buf[..n].copy_from_slice(&b[..n]);
                Ok(n)
            }
            _ => s.opts.get(name, buf).ok_or(Errno::ENOPROTOOPT),
        }
    }

    fn inq(&self) -> Result<usize> {
        let s = self.st.lock();
        if s.conn == Conn::Listening {
            return Err(Errno::EINVAL);
        }
        Ok(Self::readable_len(&s, self.ty))
    }

    fn outq(&self) -> Result<usize> {
        Ok(self.wmem.load(Ordering::SeqCst))
    }

    fn release(&self) {
        self.unname();
        self.release_sock(false);
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

/// Remembers that `sock` has files in flight (the kernel calls this when
/// a message with `SCM_RIGHTS` is queued), for [`collect`].
pub fn note_inflight<E: UnixEnv>(sock: &Arc<UnixSocket<E>>) {
    // one entry per live socket (a dead one's address may be reused)
    E::names().inflight.lock().insert(Arc::as_ptr(sock) as usize, Arc::downgrade(sock));
}

/// Linux's unix_gc: among the AF_UNIX sockets whose files are in flight,
/// those reachable only from the queues of other such sockets are
/// garbage (a socket sent over itself and closed, or a cycle); their
/// queues are emptied, which drops the files and so releases them.
/// Returns how many sockets were collected.
pub fn collect<E: UnixEnv>() -> usize {
    // every socket with a queue of files: its files, which are sockets
    let socks: Vec<Arc<UnixSocket<E>>> = {
        let mut v = E::names().inflight.lock();
        v.retain(|_, w| w.strong_count() > 0);
        v.values().filter_map(Weak::upgrade).collect()
    };
    // (socket, its file in flight somewhere, how many in-flight refs)
    struct Cand<E: NetEnv> {
        sock: Arc<UnixSocket<E>>,
        file: E::File,
        inflight: usize,
    }
    let key = |s: &Arc<UnixSocket<E>>| Arc::as_ptr(s) as usize;
    let mut cands: Vec<Cand<E>> = Vec::new();
    // candidate index by socket address
    let mut index: BTreeMap<usize, usize> = BTreeMap::new();
    let mut edges: Vec<(usize, Vec<E::File>)> = Vec::new();
    let mut empty: Vec<usize> = Vec::new();
    for (i, s) in socks.iter().enumerate() {
        let files = s.inflight_files();
        if files.is_empty() {
            // nothing in flight here any more: no longer watched
            empty.push(key(s));
        }
        for f in &files {
            if let Some(u) = E::file_unix(f) {
                match index.get(&key(&u)) {
                    Some(&k) => cands[k].inflight += 1,
                    None => {
                        index.insert(key(&u), cands.len());
                        cands.push(Cand { sock: u, file: f.clone(), inflight: 1 });
                    }
                }
            }
        }
        edges.push((i, files));
    }
    {
        let mut v = E::names().inflight.lock();
        for k in empty {
            v.remove(&k);
        }
    }
    if cands.is_empty() {
        return 0;
    }
    // a candidate is live when something outside the queues refers to its
    // file: its count minus our own clones minus the in-flight references
    // live: referenced from outside the queues. We hold one clone in
    // `cands` and, in `edges`, one per reference in flight.
    let mut live: Vec<bool> = cands.iter().map(|c| E::file_refs(&c.file) > 1 + 2 * c.inflight).collect();
    // sockets not in flight at all hold their queues from outside
    let is_cand = |s: &Arc<UnixSocket<E>>| index.get(&key(s)).copied();
    // the queue each candidate holds, if it holds one
    let holder: BTreeMap<usize, usize> = socks.iter().enumerate().map(|(i, s)| (key(s), i)).collect();
    // from every queue held from outside (its socket is no candidate, or
    // a live one), mark what it holds live; each queue is walked once
    let mut stack: Vec<usize> =
        (0..socks.len()).filter(|&i| is_cand(&socks[i]).is_none_or(|k| live[k])).collect();
    while let Some(i) = stack.pop() {
        for f in &edges[i].1 {
            if let Some(u) = E::file_unix(f)
                && let Some(k) = is_cand(&u)
                && !live[k]
            {
                live[k] = true;
                if let Some(&j) = holder.get(&key(&u)) {
                    stack.push(j);
                }
            }
        }
    }
    let dead: Vec<Arc<UnixSocket<E>>> =
        cands.iter().zip(&live).filter(|(_, l)| !**l).map(|(c, _)| c.sock.clone()).collect();
    drop(edges);
    drop(cands);
    let n = dead.len();
    for d in &dead {
        let (rx, pending) = {
            let mut s = d.st.lock();
            s.rx_bytes = 0;
            (core::mem::take(&mut s.rx), core::mem::take(&mut s.pending))
        };
        drop(rx);
        drop(pending);
    }
    n
}
