//! AF_INET and AF_INET6 sockets: the `inet` crate's [`Stack`] behind the
//! socket layer's [`Socket`] trait, the thread that runs the stack's
//! timers, and the interface ioctls (SIOCGIF*, SIOCSIFFLAGS).
//!
//! One [`Stack`] lives under [`NET`]'s lock with a table from its socket
//! ids to the kernel's sockets. Every operation takes the lock, does its
//! work, polls the stack (loopback packets are delivered there, so a send
//! reaches its peer before the call returns) and lists the sockets whose
//! readiness changed; after the lock is dropped their event counts move
//! and their wait queues are woken. The poll thread ([`poll_thread`])
//! sleeps until the stack's next timer (`poll_delay`: retransmissions,
//! TIME-WAIT, keep-alives) or until an operation or a NIC wakes it
//! earlier; it never runs in interrupt context and neither does anything
//! that takes the lock.

use super::Sock;
use super::unix::{KEnv, KWaker};
use crate::sched::WaitQueue;
use crate::syscall::SysResult;
use crate::uthread::UThread;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use inet::smoltcp::wire::{IpCidr, Ipv4Cidr};
use inet::{Family, Instant, Shutdown, SockId, Stack};
use linux_abi::args::{UserPtr, UserSlice};
use linux_abi::{Errno, Result};
use net::consts::*;
use net::{NetEnv, RecvMsg, Resolver, SendMsg, SockAddrBuf, Socket};
use spin::Mutex;

/// The stack and the kernel's sockets by stack id.
pub struct Net {
    /// The stack.
    pub stack: Stack,
    socks: Vec<Weak<InetSocket>>,
    /// The list [`Stack::poll`] fills, kept between calls.
    changed: Vec<SockId>,
}

/// What wakes a namespace's poll thread: shared with the thread, which
/// holds its namespace only weakly while it sleeps.
struct PollWake {
    /// The poll thread sleeps here.
    wq: WaitQueue,
    /// When the poll thread next wakes on its own (ns since boot).
    at: AtomicU64,
    /// Set to make the poll thread look again now.
    kick: AtomicBool,
}

impl PollWake {
    const fn new() -> PollWake {
        PollWake { wq: WaitQueue::new(), at: AtomicU64::new(u64::MAX), kick: AtomicBool::new(false) }
    }

    fn kick(&self) {
        self.kick.store(true, Ordering::Release);
        self.wq.wake_all();
    }
}

/// One network namespace's state (Linux's `struct net`): its stack (lo,
/// and eth0 in the initial namespace) with the kernel's sockets by stack
/// id, its poll thread's wake-up, its netlink port ids. Processes reach
/// it through their `NsSet::net` (the record keeps it as its kernel
/// state), sockets hold it ([`NetRef`]), so it lives as long as either.
pub struct NetState {
    /// The namespace's number (nsfs inode).
    ino: u64,
    /// The user namespace that owns it (its capabilities count here).
    owner: process::ns::UserNsRef,
    net: Mutex<Option<Net>>,
    /// The initial namespace's is a static; the others' are shared with
    /// the poll thread.
    wake: WakeRef,
    thread_started: AtomicBool,
    /// The netlink port ids bound in this namespace.
    pub nl_ports: net::netlink::Ports,
}

enum WakeRef {
    Initial,
    Ns(Arc<PollWake>),
}

/// The initial namespace's poll wake-up (the NIC's interrupt work kicks it).
static INITIAL_WAKE: PollWake = PollWake::new();
/// The initial network namespace (eth0 lives here).
static INITIAL: NetState = NetState {
    ino: process::ns::INIT_NET_INO,
    owner: process::ns::UserNsRef::INITIAL,
    net: Mutex::new(None),
    wake: WakeRef::Initial,
    thread_started: AtomicBool::new(false),
    nl_ports: net::netlink::Ports::new(),
};

/// A network namespace's state as sockets and calls hold it: the
/// initial one (a static) or another's.
#[derive(Clone)]
pub enum NetRef {
    /// The initial namespace.
    Initial,
    /// A namespace made by clone/unshare(CLONE_NEWNET).
    Ns(Arc<NetState>),
}

impl core::ops::Deref for NetRef {
    type Target = NetState;
    fn deref(&self) -> &NetState {
        match self {
            NetRef::Initial => &INITIAL,
            NetRef::Ns(n) => n,
        }
    }
}

impl NetRef {
    /// The state of `ns`, made at its first use (`ENOMEM` when that fails).
    pub fn of(ns: &process::ns::NetNs) -> Result<NetRef> {
        if ns.is_initial() {
            return Ok(NetRef::Initial);
        }
        let ext = ns.ext_or_init(|| {
            let st: Arc<NetState> = Arc::new(NetState {
                ino: ns.ino(),
                owner: ns.owner().clone(),
                net: Mutex::new(None),
                wake: WakeRef::Ns(Arc::new(PollWake::new())),
                thread_started: AtomicBool::new(false),
                nl_ports: net::netlink::Ports::new(),
            });
            Ok(st as process::ns::NetExt)
        })?;
        ext.clone().downcast::<NetState>().map(NetRef::Ns).map_err(|_| Errno::EINVAL)
    }

    /// The calling process's network namespace (the initial one for a
    /// kernel task).
    pub fn current() -> Result<NetRef> {
        let tid = crate::sched::current().id.load(Ordering::Relaxed) as u32;
        let pid = crate::proc::table().tgid(tid).unwrap_or(tid);
        match crate::proc::table().with_process(pid, |p| p.ns().net.clone()) {
            Some(ns) if !ns.is_initial() => NetRef::of(&ns),
            _ => Ok(NetRef::Initial),
        }
    }

    /// Whether it is the initial namespace.
    pub fn is_initial(&self) -> bool {
        matches!(self, NetRef::Initial)
    }
}

/// The number of the calling process's network namespace (the key of
/// its AF_UNIX abstract names).
pub fn current_net_ino() -> u64 {
    let tid = crate::sched::current().id.load(Ordering::Relaxed) as u32;
    let pid = crate::proc::table().tgid(tid).unwrap_or(tid);
    crate::proc::table().with_process(pid, |p| p.ns().net.ino()).unwrap_or(process::ns::INIT_NET_INO)
}

impl Drop for NetState {
    fn drop(&mut self) {
        // the poll thread sees its namespace gone and ends
        if let WakeRef::Ns(w) = &self.wake {
            w.kick();
        }
    }
}

/// The id of the initial namespace's poll thread's task (no process has
/// it); other namespaces' threads take ids below it by their number.
const POLL_TASK_ID: u64 = 0x7fff_fff0;

const CAP_NET_BIND_SERVICE: u32 = 10;
const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;

fn now_ns() -> u64 {
    arch_x86_64::time::since_boot_ns()
}

fn now() -> Instant {
    Instant::from_micros((now_ns() / 1000) as i64)
}

/// Whether the calling process has capability `bit` over network
/// namespace `ns` (`ns_capable(net->user_ns, bit)`).
pub(super) fn capable_in(ns: &NetState, bit: u32) -> bool {
    let tid = crate::sched::current().id.load(Ordering::Relaxed) as u32;
    let pid = crate::proc::table().tgid(tid).unwrap_or(tid);
    crate::proc::table().with_process(pid, |p| p.creds().ns_capable(&ns.owner, bit)).unwrap_or(false)
}

/// Wakes the initial namespace's poll thread (the NIC's wake-up,
/// `nic::pump`; no lock of the stack is taken).
pub fn kick() {
    INITIAL_WAKE.kick();
}

impl NetState {
    fn wake(&self) -> &PollWake {
        match &self.wake {
            WakeRef::Initial => &INITIAL_WAKE,
            WakeRef::Ns(w) => w,
        }
    }

    /// Its number (the nsfs inode of the namespace).
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// Runs `f` on the stack under the lock, polls it, then (unlocked) moves
    /// the event counts of the sockets whose readiness changed and wakes them.
    pub fn with_net<R>(this: &NetRef, f: impl FnOnce(&mut Net) -> R) -> R {
        let (r, next) = this.net_op(f);
        if let Some(at) = next
            && at < this.wake().at.load(Ordering::Acquire)
        {
            this.wake().kick();
        }
        // (started by the socket's creation; after a failure there, tried
        // again here, with nothing to answer it to)
        let _ = start_thread(this);
        r
    }

    /// Runs `f` on the stack under the lock without a poll: for what sends
    /// nothing (names, options, a datagram receive). A readiness change it
    /// makes is a loss (nothing to wake for); the next poll sees it.
    pub(super) fn net_quiet<R>(&self, f: impl FnOnce(&mut Net) -> R) -> R {
        let mut g = self.net.lock();
        f(self.net_of(&mut g))
    }

    /// The stack, made at the first use: lo; in the initial namespace lo
    /// up and eth0 on the NIC when there is one, with QEMU's user-network
    /// address (10.0.2.15/24 via 10.0.2.2, what its DHCP server hands
    /// out); in another namespace lo alone and down, as Linux's new
    /// namespaces start.
    fn net_of<'a>(&self, g: &'a mut Option<Net>) -> &'a mut Net {
        let initial = self.ino == process::ns::INIT_NET_INO;
        g.get_or_insert_with(|| {
            let mut stack = Stack::new(now(), now_ns() ^ arch_x86_64::time::rdtsc());
            if !initial {
                stack.loopback_down();
            } else if let Some(dev) = crate::nic::take_device() {
                let mac = dev.mac();
                let addr = IpCidr::Ipv4(Ipv4Cidr::new(Ipv4Addr::new(10, 0, 2, 15), 24));
                match stack.add_interface("eth0", dev, Some(mac), &[addr], Some(Ipv4Addr::new(10, 0, 2, 2))) {
                    Ok(i) => log::info!("inet: eth0 (index {i}) 10.0.2.15/24 via 10.0.2.2"),
                    Err(e) => log::warn!("inet: eth0 not added: {e:?}"),
                }
            }
            Net { stack, socks: Vec::new(), changed: Vec::new() }
        })
    }

    /// [`NetState::with_net`] without waking the poll thread: returns `f`'s
    /// result and when the stack's next timer is due.
    fn net_op<R>(&self, f: impl FnOnce(&mut Net) -> R) -> (R, Option<u64>) {
        let mut owed = false;
        let (r, woken, next) = {
            let mut g = self.net.lock();
            let net = self.net_of(&mut g);
            let r = f(net);
            let mut changed = core::mem::take(&mut net.changed);
            changed.clear();
            let t = now();
            net.stack.poll(t, &mut changed);
            let all = net.stack.take_overflow();
            let mut woken: Vec<Arc<InetSocket>> = Vec::new();
            let n = if all { net.socks.len() } else { changed.len() };
            if woken.try_reserve(n).is_ok() {
                if all {
                    woken.extend(net.socks.iter().filter_map(Weak::upgrade));
                } else {
                    woken.extend(
                        changed.iter().filter_map(|id| net.socks.get(id.0 as usize).and_then(Weak::upgrade)),
                    );
                }
            } else {
                // No memory for the list: mark them, and wake them below in
                // batches with the lock dropped in between (a queue's relay
                // may take this lock), rather than lose a wake-up.
                owed = true;
                let mark = |w: &Weak<InetSocket>| {
                    if let Some(s) = w.upgrade() {
                        s.events.fetch_add(1, Ordering::Release);
                        s.wake_owed.store(true, Ordering::Release);
                        // Not the last reference (its file or an accept holds
                        // one; the kernel does not preempt us here), and Drop
                        // only try-locks.
                        drop(s);
                    }
                };
                if all {
                    net.socks.iter().for_each(mark);
                } else {
                    changed.iter().filter_map(|id| net.socks.get(id.0 as usize)).for_each(mark);
                }
            }
            // kept for the next call (its capacity saves an allocation)
            net.changed = changed;
            let next = net.stack.poll_delay(t).map(|d| now_ns().saturating_add(d.total_micros() * 1000));
            // what lo sent, for packet sockets (AF_PACKET)
            let frames = if net.stack.capturing() { net.stack.take_captured(256) } else { Vec::new() };
            // new urgent marks: SIGURG to their files' owners, unlocked
            let urgent = net.stack.take_urgent_signals();
            let mut urg: Vec<Arc<InetSocket>> = Vec::new();
            if !urgent.is_empty() && urg.try_reserve(urgent.len()).is_ok() {
                urg.extend(
                    urgent.iter().filter_map(|id| net.socks.get(id.0 as usize).and_then(Weak::upgrade)),
                );
            }
            (r, (woken, urg, frames), next)
        };
        let (woken, urg, frames) = woken;
        if !frames.is_empty() {
            super::packet::deliver(self, frames);
        }
        for s in &urg {
            super::signal_urgent(s);
        }
        drop(urg);
        for s in &woken {
            s.events.fetch_add(1, Ordering::Release);
            s.waker.0.wake_all();
        }
        // Dropped here, unlocked: the last reference of a closed socket may go.
        drop(woken);
        if owed {
            self.wake_owed();
        }
        (r, next)
    }

    /// Makes the wake-ups [`NetState::net_op`] owes, a fixed batch at a time (no
    /// allocation): each batch is picked under the stack's lock and woken
    /// after it is dropped.
    fn wake_owed(&self) {
        const BATCH: usize = 16;
        loop {
            let mut batch: [Option<Arc<InetSocket>>; BATCH] = Default::default();
            let mut n = 0;
            {
                let mut g = self.net.lock();
                let net = self.net_of(&mut g);
                for w in &net.socks {
                    if n == BATCH {
                        break;
                    }
                    if let Some(s) = w.upgrade() {
                        if s.wake_owed.swap(false, Ordering::AcqRel) {
                            batch[n] = Some(s);
                            n += 1;
                        } else {
                            // not the last reference, as in net_op
                            drop(s);
                        }
                    }
                }
            }
            if n == 0 {
                return;
            }
            for s in batch.iter().flatten() {
                s.waker.0.wake_all();
            }
            drop(batch);
        }
    }
}

/// Starts the namespace's timer thread at the first use; `ENOBUFS` (what
/// Linux's inet_create answers when it cannot allocate) when no memory is
/// left for its stack, and a later use tries again.
fn start_thread(ns: &NetRef) -> Result<()> {
    if ns.thread_started.swap(true, Ordering::AcqRel) {
        return Ok(());
    }
    let spawned = match ns {
        NetRef::Initial => crate::sched::try_spawn(POLL_TASK_ID, || poll_thread(PollOf::Initial)).is_some(),
        NetRef::Ns(st) => {
            let WakeRef::Ns(w) = &st.wake else { return Ok(()) };
            let of = PollOf::Ns(Arc::downgrade(st), w.clone());
            let id = POLL_TASK_ID - 0x10 - (st.ino & 0x00ff_ffff);
            crate::sched::try_spawn(id, move || poll_thread(of)).is_some()
        }
    };
    if !spawned {
        ns.thread_started.store(false, Ordering::Release);
        log::info!("inet: no memory for the poll thread's stack: ENOBUFS");
        return Err(Errno::ENOBUFS);
    }
    Ok(())
}

/// The namespace a poll thread serves: held weakly (with its wake-up
/// strongly) so that the thread ends when the namespace goes.
enum PollOf {
    Initial,
    Ns(Weak<NetState>, Arc<PollWake>),
}

/// A namespace's timer thread: polls when `poll_delay` says so, or when an
/// operation (or a NIC) kicks it; ends when its namespace is gone.
fn poll_thread(of: PollOf) {
    loop {
        let (ns, wake): (NetRef, &PollWake) = match &of {
            PollOf::Initial => (NetRef::Initial, &INITIAL_WAKE),
            PollOf::Ns(w, wake) => match w.upgrade() {
                Some(n) => (NetRef::Ns(n), wake),
                None => return,
            },
        };
        // Operations that set a timer from now on kick us.
        wake.at.store(u64::MAX, Ordering::Release);
        let ((), next) = ns.net_op(|_| ());
        // not kept while asleep: the namespace may go meanwhile
        drop(ns);
        // At most a second, at least a millisecond: this thread is never
        // preempted (the kernel preempts user mode only), so it must not
        // spin.
        let t = now_ns();
        let next = next.unwrap_or(u64::MAX).clamp(t + 1_000_000, t + 1_000_000_000);
        wake.at.store(next, Ordering::Release);
        let gone = || matches!(&of, PollOf::Ns(w, _) if w.strong_count() == 0);
        crate::sched::wait_any(&[&wake.wq], || wake.kick.swap(false, Ordering::AcqRel) || gone(), Some(next));
    }
}

/// An AF_INET or AF_INET6 socket.
pub struct InetSocket {
    id: SockId,
    /// The network namespace it was made in (Linux's `sock_net`).
    ns: NetRef,
    family: Family,
    ty: u32,
    protocol: u32,
    waker: KWaker,
    events: AtomicU64,
    released: AtomicBool,
    /// A wake-up owed by [`net_op`] when it had no memory for its list:
    /// made after the stack's lock is dropped (a waiter's relay, O_ASYNC's
    /// SIGIO hook, polls the socket and takes that lock).
    wake_owed: AtomicBool,
}

/// socket(2) for AF_INET/AF_INET6: the family hook of the socket layer.
pub fn inet_socket(domain: u16, ty: u32, protocol: u32) -> Result<Sock> {
    let family = if domain == AF_INET6 { Family::V6 } else { Family::V4 };
    let ns = NetRef::current()?;
    let privileged = ty == SOCK_RAW && capable_in(&ns, CAP_NET_RAW);
    // the timer thread first, so that a socket never lives without it
    start_thread(&ns)?;
    let waker = KEnv::new_waker()?;
    NetState::with_net(&ns.clone(), |n| {
        n.socks.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
        let id = n.stack.socket(family, ty as i32, protocol as i32, privileged)?;
        let (_, _, proto) = n.stack.kind(id)?;
        let s = Arc::new(InetSocket {
            id,
            ns,
            family,
            ty,
            protocol: proto as u32,
            waker,
            events: AtomicU64::new(0),
            released: AtomicBool::new(false),
            wake_owed: AtomicBool::new(false),
        });
        let i = id.0 as usize;
        if n.socks.len() <= i {
            n.socks.resize(i + 1, Weak::new());
        }
        n.socks[i] = Arc::downgrade(&s);
        Ok(s as Sock)
    })
}

fn to_buf(a: SocketAddr) -> SockAddrBuf {
    match a {
        SocketAddr::V4(v) => SockAddrBuf::inet(v.ip().octets(), v.port()),
        SocketAddr::V6(v) => SockAddrBuf::inet6(v.ip().octets(), v.port(), v.flowinfo(), v.scope_id()),
    }
}

/// The bytes a send on `sock` could take now when it is a connected TCP
/// socket ([`Stack::send_room`]); `None` otherwise.
pub fn send_room(sock: &Sock) -> Option<usize> {
    let s = sock.as_any().downcast_ref::<InetSocket>()?;
    s.ns.net_quiet(|n| n.stack.send_room(s.id))
}

/// SIOCATMARK on `sock`: `None` when it is no TCP socket.
pub fn at_mark(sock: &Sock) -> Option<Result<bool>> {
    let s = sock.as_any().downcast_ref::<InetSocket>()?;
    if s.ty != SOCK_STREAM {
        return None;
    }
    Some(s.ns.net_quiet(|n| n.stack.at_mark(s.id)))
}

/// `f` on the stack of namespace `ns`, read-only, under its lock
/// (/proc/net).
pub fn with_stack<R>(ns: &NetState, f: impl FnOnce(&Stack) -> R) -> R {
    ns.net_quiet(|n| f(&n.stack))
}

impl InetSocket {
    /// The network namespace the socket belongs to.
    pub fn net(&self) -> &NetRef {
        &self.ns
    }

    /// The socket's id in the stack.
    pub fn id(&self) -> SockId {
        self.id
    }

    /// A user address for bind: Linux's inet_bind/inet6_bind length and
    /// family rules.
    fn bind_addr(&self, bytes: &[u8]) -> Result<SocketAddr> {
        match self.family {
            Family::V4 => {
                let a = net::addr::parse_inet_bind(bytes)?;
                Ok(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(a.ip), a.port)))
            }
            Family::V6 => {
                let a = net::addr::parse_inet6(bytes)?;
                Ok(SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(a.ip), a.port, a.flowinfo, a.scope_id)))
            }
        }
    }

    /// A destination (connect, sendto): `None` for AF_UNSPEC.
    fn dest_addr(&self, bytes: &[u8]) -> Result<Option<SocketAddr>> {
        match self.family {
            Family::V4 => Ok(net::addr::parse_inet_connect(bytes)?
                .map(|a| SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(a.ip), a.port)))),
            Family::V6 => {
                if bytes.len() >= 2 && net::addr::family(bytes) == AF_UNSPEC {
                    return Ok(None);
                }
                if self.ty != SOCK_STREAM && net::addr::family(bytes) == AF_INET {
                    // A dual-stack datagram socket takes AF_INET
                    // destinations (ip6_datagram_connect, udpv6_sendmsg).
                    let a = net::addr::parse_inet_connect(bytes)?.ok_or(Errno::EINVAL)?;
                    let m = Ipv4Addr::from(a.ip).to_ipv6_mapped();
                    return Ok(Some(SocketAddr::V6(SocketAddrV6::new(m, a.port, 0, 0))));
                }
                let a = net::addr::parse_inet6(bytes)?;
                Ok(Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(a.ip),
                    a.port,
                    a.flowinfo,
                    a.scope_id,
                ))))
            }
        }
    }
}

impl Socket<KEnv> for InetSocket {
    fn domain(&self) -> u16 {
        match self.family {
            Family::V4 => AF_INET,
            Family::V6 => AF_INET6,
        }
    }

    fn sock_type(&self) -> u32 {
        self.ty
    }

    fn protocol(&self) -> u32 {
        self.protocol
    }

    fn waker(&self) -> &KWaker {
        &self.waker
    }

    fn event_count(&self) -> u64 {
        self.events.load(Ordering::Acquire)
    }

    fn poll(&self) -> u32 {
        let mut g = self.ns.net.lock();
        match g.as_mut() {
            Some(n) => n.stack.events(self.id),
            None => 0,
        }
    }

    fn bind(&self, cx: &mut dyn Resolver, addr: &[u8]) -> Result<()> {
        let a = self.bind_addr(addr)?;
        let privileged = cx.caller().euid == 0 || capable_in(&self.ns, CAP_NET_BIND_SERVICE);
        NetState::with_net(&self.ns, |n| n.stack.bind(self.id, a, privileged))
    }

    fn listen(&self, _cx: &mut dyn Resolver, backlog: u32) -> Result<()> {
        NetState::with_net(&self.ns, |n| n.stack.listen(self.id, backlog.min(i32::MAX as u32) as i32))
    }

    fn accept(&self, _cx: &mut dyn Resolver) -> Result<Arc<dyn Socket<KEnv>>> {
        if self.ty != SOCK_STREAM {
            return Err(Errno::EOPNOTSUPP);
        }
        let waker = KEnv::new_waker()?;
        NetState::with_net(&self.ns, |n| {
            n.socks.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
            let (id, _) = n.stack.accept(self.id)?;
            let s = Arc::new(InetSocket {
                id,
                ns: self.ns.clone(),
                family: self.family,
                ty: self.ty,
                protocol: self.protocol,
                waker,
                events: AtomicU64::new(0),
                released: AtomicBool::new(false),
                wake_owed: AtomicBool::new(false),
            });
            let i = id.0 as usize;
            if n.socks.len() <= i {
                n.socks.resize(i + 1, Weak::new());
            }
            n.socks[i] = Arc::downgrade(&s);
            Ok(s as Arc<dyn Socket<KEnv>>)
        })
    }

    fn connect(&self, _cx: &mut dyn Resolver, addr: &[u8], nonblock: bool) -> Result<()> {
        let dst = self.dest_addr(addr)?;
        NetState::with_net(&self.ns, |n| match dst {
            Some(a) => n.stack.connect(self.id, a, nonblock),
            None => n.stack.disconnect(self.id),
        })
    }

    fn sendmsg(&self, _cx: &mut dyn Resolver, msg: &mut SendMsg<'_, KEnv>) -> Result<usize> {
        if msg.flags & MSG_OOB != 0 {
            if self.ty != SOCK_STREAM {
                // udp/ping/raw_sendmsg
                return Err(Errno::EOPNOTSUPP);
            }
            let data = msg.data;
            return NetState::with_net(&self.ns, |n| n.stack.send_urgent(self.id, data));
        }
        let dst = match msg.addr {
            Some(a) if self.ty != SOCK_STREAM => self.dest_addr(a)?,
            _ => None,
        };
        let data = msg.data;
        NetState::with_net(&self.ns, |n| {
            if self.ty == SOCK_STREAM {
                n.stack.send(self.id, data)
            } else {
                n.stack.send_to_ctl(self.id, data, dst, msg.control)
            }
        })
    }

    fn recvmsg(&self, _cx: &mut dyn Resolver, buf: &mut [u8], flags: u32) -> Result<RecvMsg<KEnv>> {
        let peek = flags & MSG_PEEK != 0;
        if flags & MSG_OOB != 0 && self.ty != SOCK_STREAM && (self.ty == SOCK_RAW || self.protocol == 1) {
            // ping_recvmsg, raw_recvmsg (udp_recvmsg takes the flag as none)
            return Err(Errno::EOPNOTSUPP);
        }
        if flags & MSG_OOB != 0 && self.ty == SOCK_STREAM {
            // tcp_recv_urg: never waits
            let mut r = RecvMsg::empty();
            if let Some(b) = NetState::with_net(&self.ns, |n| n.stack.recv_urgent(self.id, peek))? {
                r.flags |= MSG_OOB;
                if buf.is_empty() {
                    r.flags |= MSG_TRUNC;
                } else {
                    if flags & MSG_TRUNC == 0 {
                        buf[0] = b;
                        r.len = 1;
                    }
                    r.ret = 1;
                }
            }
            return Ok(r);
        }
        let stream = self.ty == SOCK_STREAM;
        let mut ctl = Vec::new();
        let (n, full, from) = if stream {
            // a read may open the window: the poll sends the update
            NetState::with_net(&self.ns, |n| n.stack.recv(self.id, buf, peek).map(|got| (got, got, None)))?
        } else {
            self.ns.net_quiet(|n| {
                n.stack.recv_from_ctl(self.id, buf, peek, &mut ctl).map(|(a, b, c)| (a, b, Some(c)))
            })?
        };
        let mut r = RecvMsg::empty();
        if !ctl.is_empty() {
            r.cmsgs.try_reserve(ctl.len()).map_err(|_| Errno::ENOBUFS)?;
            r.cmsgs.extend_from_slice(&ctl);
        }
        r.len = n;
        r.ret = n;
        if full > n {
            r.flags |= MSG_TRUNC;
            if flags & MSG_TRUNC != 0 {
                r.ret = full;
            }
        }
        r.addr = from.map(to_buf);
        r.more = stream && n > 0;
        Ok(r)
    }

    fn shutdown(&self, how: u32) -> Result<()> {
        let how = match how {
            SHUT_RD => Shutdown::Read,
            SHUT_WR => Shutdown::Write,
            _ => Shutdown::Both,
        };
        NetState::with_net(&self.ns, |n| n.stack.shutdown(self.id, how))
    }

    fn getsockname(&self) -> Result<SockAddrBuf> {
        self.ns.net_quiet(|n| n.stack.local_addr(self.id)).map(to_buf)
    }

    fn getpeername(&self) -> Result<SockAddrBuf> {
        self.ns.net_quiet(|n| n.stack.peer_addr(self.id)).map(to_buf)
    }

    fn setsockopt(&self, _cx: &mut dyn Resolver, level: i32, name: i32, val: &[u8]) -> Result<()> {
        NetState::with_net(&self.ns, |n| n.stack.setsockopt(self.id, level, name, val))
    }

    fn getsockopt(&self, level: i32, name: i32, buf: &mut [u8]) -> Result<usize> {
        if (level, name) == (inet::opt::SOL_TCP, inet::opt::TCP_INFO) {
            // do_tcp_getsockopt: min(len, sizeof(struct tcp_info)) bytes
            let info = self.ns.net_quiet(|n| n.stack.tcp_info(self.id))?;
            let k = buf.len().min(info.len());
            buf[..k].copy_from_slice(&info[..k]);
            return Ok(k);
        }
        let v = self.ns.net_quiet(|n| n.stack.getsockopt(self.id, level, name))?;
        let k = buf.len().min(v.len);
        buf[..k].copy_from_slice(&v.bytes[..k]);
        Ok(k)
    }

    fn inq(&self) -> Result<usize> {
        self.ns.net_quiet(|n| n.stack.readable_bytes(self.id))
    }

    fn outq(&self) -> Result<usize> {
        self.ns.net_quiet(|n| n.stack.unsent_bytes(self.id))
    }

    fn release(&self) {
        if self.released.swap(true, Ordering::AcqRel) {
            return;
        }
        NetState::with_net(&self.ns, |n| {
            n.stack.close(self.id);
            if let Some(w) = n.socks.get_mut(self.id.0 as usize) {
                *w = Weak::new();
            }
        });
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

impl Drop for InetSocket {
    fn drop(&mut self) {
        // A socket never released (its file never made) still leaves the
        // stack; the lock is not held by whoever drops the last reference
        // (with_net drops its references after unlocking).
        if !self.released.load(Ordering::Acquire) {
            let id = self.id;
            // try_lock: a drop under the lock (which should not happen)
            // must not deadlock; the stack socket then stays until reboot.
            let Some(mut g) = self.ns.net.try_lock() else {
                log::warn!("inet: socket {} dropped under the stack lock", id.0);
                return;
            };
            if let Some(n) = g.as_mut() {
                n.stack.close(id);
                if let Some(w) = n.socks.get_mut(id.0 as usize) {
                    *w = Weak::new();
                }
            }
        }
    }
}

// ---- interface ioctls ---------------------------------------------------

const SIOCGIFNAME: u32 = 0x8910;
const SIOCGIFCONF: u32 = 0x8912;
const SIOCGIFFLAGS: u32 = 0x8913;
const SIOCSIFFLAGS: u32 = 0x8914;
const SIOCGIFADDR: u32 = 0x8915;
const SIOCGIFDSTADDR: u32 = 0x8917;
const SIOCGIFBRDADDR: u32 = 0x8919;
const SIOCGIFNETMASK: u32 = 0x891b;
const SIOCGIFMETRIC: u32 = 0x891d;
const SIOCGIFMTU: u32 = 0x8921;
const SIOCGIFHWADDR: u32 = 0x8927;
const SIOCGIFINDEX: u32 = 0x8933;
const SIOCGIFTXQLEN: u32 = 0x8942;
/// struct ifreq.
const IFREQ: usize = 40;
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;

fn sockaddr_in_bytes(ip: Ipv4Addr) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..2].copy_from_slice(&AF_INET.to_le_bytes());
    b[4..8].copy_from_slice(&ip.octets());
    b
}

/// The interface ioctls (dev_ioctl), on any socket: `None` for other
/// commands.
pub fn inet_ioctl(t: &UThread, sock: &Sock, cmd: u32, arg: u64) -> Option<SysResult> {
    if !matches!(
        cmd,
        SIOCGIFCONF
            | SIOCGIFNAME
            | SIOCGIFFLAGS
            | SIOCSIFFLAGS
            | SIOCGIFADDR
            | SIOCGIFDSTADDR
            | SIOCGIFBRDADDR
            | SIOCGIFNETMASK
            | SIOCGIFMETRIC
            | SIOCGIFMTU
            | SIOCGIFHWADDR
            | SIOCGIFINDEX
            | SIOCGIFTXQLEN
    ) {
        return None;
    }
    // the socket's namespace (sock_net); for a socket of another family,
    // the caller's (it made the socket in its own, unless it moved since)
    let ns = match sock.as_any().downcast_ref::<InetSocket>() {
        Some(s) => s.ns.clone(),
        None => match NetRef::current() {
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        },
    };
    let r = match cmd {
        SIOCGIFCONF => ifconf(t, &ns, arg),
        SIOCGIFNAME | SIOCGIFFLAGS | SIOCSIFFLAGS | SIOCGIFADDR | SIOCGIFDSTADDR | SIOCGIFBRDADDR
        | SIOCGIFNETMASK | SIOCGIFMETRIC | SIOCGIFMTU | SIOCGIFHWADDR | SIOCGIFINDEX | SIOCGIFTXQLEN => {
            ifreq(t, &ns, cmd, arg)
        }
        _ => return None,
    };
    Some(r)
}

fn ifconf(t: &UThread, ns: &NetRef, arg: u64) -> SysResult {
    let b = t.read_slice(UserSlice::new(arg, 16))?;
    let len = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let buf = u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]);
    let infos = NetState::with_net(ns, |n| n.stack.interfaces())?;
    let with_v4: Vec<_> = infos.iter().filter(|i| i.ipv4.is_some() && i.flags & inet::iff::UP != 0).collect();
    if buf == 0 {
        t.write(UserPtr::<u32>::new(arg), (with_v4.len() * IFREQ) as u32)?;
        return Ok(0);
    }
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let mut done = 0usize;
    for i in with_v4 {
        if done + IFREQ > len as usize {
            break;
        }
        let mut r = [0u8; IFREQ];
        let name = i.name.as_bytes();
        r[..name.len().min(15)].copy_from_slice(&name[..name.len().min(15)]);
        if let Some((ip, _)) = i.ipv4 {
            r[16..32].copy_from_slice(&sockaddr_in_bytes(ip));
        }
        t.write_slice(buf + done as u64, &r)?;
        done += IFREQ;
    }
    t.write(UserPtr::<u32>::new(arg), done as u32)?;
    Ok(0)
}

fn ifreq(t: &UThread, ns: &NetRef, cmd: u32, arg: u64) -> SysResult {
    let mut r = [0u8; IFREQ];
    r.copy_from_slice(&t.read_slice(UserSlice::new(arg, IFREQ))?);
    let infos = NetState::with_net(ns, |n| n.stack.interfaces())?;
    if cmd == SIOCGIFNAME {
        let idx = u32::from_le_bytes([r[16], r[17], r[18], r[19]]);
        let i = infos.iter().find(|i| i.index == idx).ok_or(Errno::ENODEV)?;
        r[..16].fill(0);
        let name = i.name.as_bytes();
        r[..name.len().min(15)].copy_from_slice(&name[..name.len().min(15)]);
        t.write_slice(arg, &r)?;
        return Ok(0);
    }
    let end = r[..16].iter().position(|&c| c == 0).unwrap_or(16);
    let name = &r[..end];
    let i = infos.iter().find(|i| i.name.as_bytes() == name).ok_or(Errno::ENODEV)?;
    let u = &mut r[16..];
    u.fill(0);
    match cmd {
        SIOCGIFFLAGS => u[..2].copy_from_slice(&i.flags.to_le_bytes()),
        SIOCSIFFLAGS => {
            if !capable_in(ns, CAP_NET_ADMIN) {
                return Err(Errno::EPERM);
            }
            let b = t.read_slice(UserSlice::new(arg + 16, 2))?;
            let flags = u16::from_le_bytes([b[0], b[1]]);
            let name = i.name.clone();
            NetState::with_net(ns, |n| n.stack.set_interface_flags(&name, flags))?;
            return Ok(0);
        }
        SIOCGIFADDR | SIOCGIFNETMASK | SIOCGIFBRDADDR | SIOCGIFDSTADDR => {
            let (ip, prefix) = i.ipv4.ok_or(Errno::EADDRNOTAVAIL)?;
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            let v = match cmd {
                SIOCGIFADDR => ip,
                SIOCGIFNETMASK => Ipv4Addr::from(mask),
                SIOCGIFBRDADDR => Ipv4Addr::from(u32::from(ip) | !mask),
                _ => {
                    if i.flags & inet::iff::LOOPBACK == 0 {
                        Ipv4Addr::UNSPECIFIED
                    } else {
                        ip
                    }
                }
            };
            u[..16].copy_from_slice(&sockaddr_in_bytes(v));
        }
        SIOCGIFMETRIC => {}
        SIOCGIFMTU => u[..4].copy_from_slice(&i.mtu.to_le_bytes()),
        SIOCGIFINDEX => u[..4].copy_from_slice(&i.index.to_le_bytes()),
        SIOCGIFTXQLEN => u[..4].copy_from_slice(&1000u32.to_le_bytes()),
        SIOCGIFHWADDR => {
            let fam = if i.flags & inet::iff::LOOPBACK != 0 { ARPHRD_LOOPBACK } else { ARPHRD_ETHER };
            u[..2].copy_from_slice(&fam.to_le_bytes());
            u[2..8].copy_from_slice(&i.mac);
        }
        _ => return Err(Errno::ENOTTY),
    }
    t.write_slice(arg, &r)?;
    Ok(0)
}
