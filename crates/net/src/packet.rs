//! AF_PACKET sockets (Linux 6.1's `af_packet.c`, without the mmap rings):
//! SOCK_RAW (frames with their link header) and SOCK_DGRAM (without),
//! listening to every protocol (ETH_P_ALL) or one, on every interface or
//! one bound with a `sockaddr_ll`; recvfrom gives a `sockaddr_ll` with the
//! packet type (PACKET_HOST, PACKET_OUTGOING, ...). The kernel hands each
//! frame seen on a link to [`PacketSocket::deliver`] of every packet
//! socket of the namespace ([`Frame`]); a send goes to the host
//! ([`PacketHost::send`]). PACKET_ADD_MEMBERSHIP/DROP_MEMBERSHIP are
//! accepted (promiscuous and multicast modes change nothing on links that
//! filter nothing).

use crate::addr::SockAddrBuf;
use crate::consts::*;
use crate::socket::{Resolver, SendMsg, Socket, opt_int, put_int};
use crate::{NetEnv, RecvMsg, Waker};
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use linux_abi::{Errno, Result};
use spin::Mutex;

/// AF_PACKET.
pub const AF_PACKET: u16 = 17;
/// SOL_PACKET.
pub const SOL_PACKET: i32 = 263;
/// PACKET_ADD_MEMBERSHIP.
pub const PACKET_ADD_MEMBERSHIP: i32 = 1;
/// PACKET_DROP_MEMBERSHIP.
pub const PACKET_DROP_MEMBERSHIP: i32 = 2;
/// ETH_P_ALL (host order).
pub const ETH_P_ALL: u16 = 0x0003;
/// ETH_P_IP.
pub const ETH_P_IP: u16 = 0x0800;
/// ETH_P_IPV6.
pub const ETH_P_IPV6: u16 = 0x86dd;
/// PACKET_HOST.
pub const PACKET_HOST: u8 = 0;
/// PACKET_OUTGOING.
pub const PACKET_OUTGOING: u8 = 4;
/// ARPHRD_ETHER.
pub const ARPHRD_ETHER: u16 = 1;
/// ARPHRD_LOOPBACK.
pub const ARPHRD_LOOPBACK: u16 = 772;
/// sizeof(struct sockaddr_ll).
pub const SOCKADDR_LL_LEN: usize = 20;
/// An Ethernet header's length (lo's too).
pub const ETH_HLEN: usize = 14;
/// The bytes of frames a socket keeps unread (net.core.rmem_default);
/// more are dropped.
pub const RCVBUF: usize = 212992;

/// A link as packet sockets see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// ARPHRD_* (`sll_hatype`).
    pub hatype: u16,
    /// The hardware address (six bytes, zero for lo).
    pub addr: [u8; 6],
}

/// What the kernel gives packet sockets: its links and a way out.
pub trait PacketHost: Send + Sync {
    /// The link of interface `ifindex`, if there is one.
    fn link(&self, ifindex: i32) -> Option<Link>;
    /// Sends `frame` (an Ethernet frame, header included) out of
    /// `ifindex`.
    fn send(&self, ifindex: i32, frame: &[u8]) -> Result<()>;
}

/// A frame seen on a link.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// The interface's index.
    pub ifindex: i32,
    /// Its link type (ARPHRD_*).
    pub hatype: u16,
    /// PACKET_HOST, PACKET_OUTGOING, ...
    pub pkttype: u8,
    /// The whole frame, its Ethernet header first.
    pub bytes: &'a [u8],
}

impl Frame<'_> {
    /// The frame's protocol (its EtherType), 0 when too short.
    pub fn proto(&self) -> u16 {
        match self.bytes.get(12..14) {
            Some(t) => u16::from_be_bytes([t[0], t[1]]),
            None => 0,
        }
    }
}

/// A frame kept for a reader.
struct Kept {
    data: Vec<u8>,
    addr: [u8; SOCKADDR_LL_LEN],
}

struct State {
    /// The protocol listened to (host order; 0: none).
    proto: u16,
    /// The interface bound to (0: all).
    ifindex: i32,
    queue: VecDeque<Kept>,
    queued: usize,
}

/// An AF_PACKET socket.
pub struct PacketSocket<E: NetEnv> {
    ty: u32,
    /// socket(2)'s protocol (network order, as given).
    protocol: u32,
    waker: E::Waker,
    events: AtomicU64,
    host: Arc<dyn PacketHost>,
    st: Mutex<State>,
}

/// socket(2) for AF_PACKET (`packet_create`): SOCK_RAW or SOCK_DGRAM
/// (SOCK_PACKET and the rest `ESOCKTNOSUPPORT`); `protocol` is the
/// EtherType in network order. The caller checked CAP_NET_RAW.
pub fn create<E: NetEnv>(
    ty: u32,
    protocol: i32,
    waker: E::Waker,
    host: Arc<dyn PacketHost>,
) -> Result<Arc<PacketSocket<E>>> {
    if ty != SOCK_RAW && ty != SOCK_DGRAM {
        return Err(Errno::ESOCKTNOSUPPORT);
    }
    let proto = u16::from_be(protocol as u16);
    Ok(Arc::new(PacketSocket {
        ty,
        protocol: u32::from(protocol as u16),
        waker,
        events: AtomicU64::new(0),
        host,
        st: Mutex::new(State { proto, ifindex: 0, queue: VecDeque::new(), queued: 0 }),
    }))
}

/// A `sockaddr_ll`.
pub fn sockaddr_ll(
    proto: u16,
    ifindex: i32,
    hatype: u16,
    pkttype: u8,
    addr: Option<[u8; 6]>,
) -> [u8; SOCKADDR_LL_LEN] {
    let mut b = [0u8; SOCKADDR_LL_LEN];
    b[..2].copy_from_slice(&AF_PACKET.to_le_bytes());
    b[2..4].copy_from_slice(&proto.to_be_bytes());
    b[4..8].copy_from_slice(&ifindex.to_le_bytes());
    b[8..10].copy_from_slice(&hatype.to_le_bytes());
    b[10] = pkttype;
    if let Some(a) = addr {
        b[11] = 6;
        b[12..18].copy_from_slice(&a);
    }
    b
}

impl<E: NetEnv> PacketSocket<E> {
    fn wake(&self) {
        self.events.fetch_add(1, Ordering::Release);
        self.waker.wake();
    }

    /// Offers `f` to the socket (`packet_rcv`): kept when its protocol and
    /// interface match (outgoing frames only for ETH_P_ALL sockets, as
    /// Linux's `dev_queue_xmit_nit` gives them to `ptype_all` only) and
    /// the receive buffer has room. Returns whether it was kept.
    pub fn deliver(&self, f: &Frame<'_>) -> bool {
        let mut st = self.st.lock();
        let proto = f.proto();
        let wanted = match st.proto {
            0 => false,
            ETH_P_ALL => true,
            p => p == proto && f.pkttype != PACKET_OUTGOING,
        };
        if !wanted || (st.ifindex != 0 && st.ifindex != f.ifindex) || f.bytes.len() < ETH_HLEN {
            return false;
        }
        let body = if self.ty == SOCK_DGRAM { &f.bytes[ETH_HLEN..] } else { f.bytes };
        if st.queued + body.len() > RCVBUF || st.queue.try_reserve(1).is_err() {
            return false;
        }
        let mut data = Vec::new();
        if data.try_reserve_exact(body.len()).is_err() {
            return false;
        }
        data.extend_from_slice(body);
        let mut src = [0u8; 6];
        src.copy_from_slice(&f.bytes[6..12]);
        let addr = sockaddr_ll(proto, f.ifindex, f.hatype, f.pkttype, Some(src));
        st.queued += data.len();
        st.queue.push_back(Kept { data, addr });
        drop(st);
        self.wake();
        true
    }

    fn parse_ll(addr: &[u8]) -> Result<(u16, i32)> {
        if addr.len() < SOCKADDR_LL_LEN || crate::addr::family(addr) != AF_PACKET {
            return Err(Errno::EINVAL);
        }
        let proto = u16::from_be_bytes([addr[2], addr[3]]);
        let ifindex = i32::from_le_bytes([addr[4], addr[5], addr[6], addr[7]]);
        Ok((proto, ifindex))
    }
}

impl<E: NetEnv> Socket<E> for PacketSocket<E> {
    fn domain(&self) -> u16 {
        AF_PACKET
    }
    fn sock_type(&self) -> u32 {
        self.ty
    }
    fn protocol(&self) -> u32 {
        self.protocol
    }
    fn waker(&self) -> &E::Waker {
        &self.waker
    }
    fn event_count(&self) -> u64 {
        self.events.load(Ordering::Acquire)
    }
    fn poll(&self) -> u32 {
        let st = self.st.lock();
        let mut m = EPOLLOUT | EPOLLWRNORM;
        if !st.queue.is_empty() {
            m |= EPOLLIN | EPOLLRDNORM;
        }
        m
    }

    fn bind(&self, _cx: &mut dyn Resolver, addr: &[u8]) -> Result<()> {
        // packet_bind: the whole sockaddr_ll; protocol 0 keeps the
        // socket's; an unknown interface is ENODEV
        let (proto, ifindex) = Self::parse_ll(addr)?;
        if ifindex != 0 && self.host.link(ifindex).is_none() {
            return Err(Errno::ENODEV);
        }
        let mut st = self.st.lock();
        if proto != 0 {
            st.proto = proto;
        }
        st.ifindex = ifindex;
        Ok(())
    }

    fn listen(&self, _cx: &mut dyn Resolver, _backlog: u32) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }
    fn accept(&self, _cx: &mut dyn Resolver) -> Result<Arc<dyn Socket<E>>> {
        Err(Errno::EOPNOTSUPP)
    }
    fn connect(&self, _cx: &mut dyn Resolver, _addr: &[u8], _nonblock: bool) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }

    fn sendmsg(&self, _cx: &mut dyn Resolver, msg: &mut SendMsg<'_, E>) -> Result<usize> {
        // packet_snd: the address's interface and protocol, else the
        // bound ones
        let (proto, ifindex) = match msg.addr {
            Some(a) => {
                if a.len() < 12 || crate::addr::family(a) != AF_PACKET {
                    return Err(Errno::EINVAL);
                }
                (u16::from_be_bytes([a[2], a[3]]), i32::from_le_bytes([a[4], a[5], a[6], a[7]]))
            }
            None => {
                let st = self.st.lock();
                (st.proto, st.ifindex)
            }
        };
        let link = self.host.link(ifindex).ok_or(Errno::ENXIO)?;
        let data = msg.data;
        if self.ty == SOCK_RAW {
            if data.len() < ETH_HLEN {
                return Err(Errno::EINVAL);
            }
            self.host.send(ifindex, data)?;
        } else {
            // SOCK_DGRAM: the link header is the kernel's (the address's
            // destination; lo's is all zero)
            let mut f = Vec::new();
            f.try_reserve_exact(ETH_HLEN + data.len()).map_err(|_| Errno::ENOBUFS)?;
            let dst = match msg.addr {
                Some(a) if a.len() >= 18 && a[11] == 6 => [a[12], a[13], a[14], a[15], a[16], a[17]],
                _ => [0; 6],
            };
            f.extend_from_slice(&dst);
            f.extend_from_slice(&link.addr);
            f.extend_from_slice(&proto.to_be_bytes());
            f.extend_from_slice(data);
            self.host.send(ifindex, &f)?;
        }
        Ok(data.len())
    }

    fn recvmsg(&self, _cx: &mut dyn Resolver, buf: &mut [u8], flags: u32) -> Result<RecvMsg<E>> {
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut st = self.st.lock();
        let k = st.queue.front().ok_or(Errno::EAGAIN)?;
        let full = k.data.len();
        let n = full.min(buf.len());
        buf[..n].copy_from_slice(&k.data[..n]);
        let addr = k.addr;
        if flags & MSG_PEEK == 0 {
            st.queue.pop_front();
            st.queued -= full;
        }
        drop(st);
        let mut r = RecvMsg::empty();
        r.len = n;
        r.ret = n;
        if full > n {
            r.flags |= MSG_TRUNC;
            if flags & MSG_TRUNC != 0 {
                r.ret = full;
            }
        }
        r.addr = Some(SockAddrBuf::new(&addr));
        Ok(r)
    }

    fn shutdown(&self, _how: u32) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }

    fn getsockname(&self) -> Result<SockAddrBuf> {
        // packet_getname: the device's type and address when bound to one
        let st = self.st.lock();
        let (proto, ifindex) = (st.proto, st.ifindex);
        drop(st);
        let link = if ifindex != 0 { self.host.link(ifindex) } else { None };
        let b = match link {
            Some(l) => sockaddr_ll(proto, ifindex, l.hatype, 0, Some(l.addr)),
            None => sockaddr_ll(proto, ifindex, 0, 0, None),
        };
        let len = 12 + usize::from(b[11]);
        Ok(SockAddrBuf::new(&b[..len]))
    }

    fn getpeername(&self) -> Result<SockAddrBuf> {
        Err(Errno::EOPNOTSUPP)
    }

    fn setsockopt(&self, _cx: &mut dyn Resolver, level: i32, name: i32, val: &[u8]) -> Result<()> {
        match (level, name) {
            (SOL_SOCKET, _) => Ok(()),
            (SOL_PACKET, PACKET_ADD_MEMBERSHIP | PACKET_DROP_MEMBERSHIP) => {
                // struct packet_mreq: ifindex, type, alen, address[8]
                if val.len() < 16 {
                    return Err(Errno::EINVAL);
                }
                let ifindex = opt_int(val)?;
                if self.host.link(ifindex).is_none() {
                    return Err(Errno::ENODEV);
                }
                Ok(())
            }
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn getsockopt(&self, level: i32, name: i32, buf: &mut [u8]) -> Result<usize> {
        match (level, name) {
            (SOL_SOCKET, SO_TYPE) => Ok(put_int(buf, self.ty as i32)),
            (SOL_SOCKET, SO_PROTOCOL) => Ok(put_int(buf, self.protocol as i32)),
            (SOL_SOCKET, SO_DOMAIN) => Ok(put_int(buf, i32::from(AF_PACKET))),
            (SOL_SOCKET, SO_ERROR) => Ok(put_int(buf, 0)),
            (SOL_SOCKET, SO_SNDBUF | SO_RCVBUF) => Ok(put_int(buf, RCVBUF as i32)),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn inq(&self) -> Result<usize> {
        Ok(self.st.lock().queue.front().map_or(0, |k| k.data.len()))
    }
    fn outq(&self) -> Result<usize> {
        Ok(0)
    }

    fn release(&self) {
        let mut st = self.st.lock();
        st.proto = 0;
        let q = core::mem::take(&mut st.queue);
        st.queued = 0;
        drop(st);
        drop(q);
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeEnv, FakeResolver};

    struct Lo(Mutex<Vec<Vec<u8>>>);

    impl PacketHost for Lo {
        fn link(&self, ifindex: i32) -> Option<Link> {
            (ifindex == 1).then_some(Link { hatype: ARPHRD_LOOPBACK, addr: [0; 6] })
        }
        fn send(&self, _ifindex: i32, frame: &[u8]) -> Result<()> {
            self.0.lock().push(frame.to_vec());
            Ok(())
        }
    }

    fn frame(pkttype: u8) -> Vec<u8> {
        let mut f = alloc::vec![0u8; 14];
        f[12..14].copy_from_slice(&ETH_P_IP.to_be_bytes());
        f.extend_from_slice(&[0x45, 0, 0, 20]);
        f.push(pkttype);
        f
    }

    #[test]
    fn taps_by_protocol_and_direction() {
        let host = Arc::new(Lo(Mutex::new(Vec::new())));
        let all = create::<FakeEnv>(SOCK_RAW, i32::from(ETH_P_ALL.to_be()), Default::default(), host.clone())
            .unwrap();
        let ip = create::<FakeEnv>(SOCK_DGRAM, i32::from(ETH_P_IP.to_be()), Default::default(), host.clone())
            .unwrap();
        let none = create::<FakeEnv>(SOCK_RAW, 0, Default::default(), host.clone()).unwrap();
        let out = frame(PACKET_OUTGOING);
        let inn = frame(PACKET_HOST);
        for (b, t) in [(&out, PACKET_OUTGOING), (&inn, PACKET_HOST)] {
            let f = Frame { ifindex: 1, hatype: ARPHRD_LOOPBACK, pkttype: t, bytes: b };
            all.deliver(&f);
            ip.deliver(&f);
            none.deliver(&f);
        }
        let mut cx = FakeResolver::default();
        let mut b = [0u8; 64];
        // ETH_P_ALL: both, with the header
        let r = all.recvmsg(&mut cx, &mut b, 0).unwrap();
        assert_eq!(r.len, 19);
        let a = r.addr.unwrap();
        assert_eq!(a.len(), SOCKADDR_LL_LEN);
        assert_eq!(a.as_bytes()[10], PACKET_OUTGOING);
        assert_eq!(a.as_bytes()[8..10], ARPHRD_LOOPBACK.to_le_bytes());
        assert_eq!(all.recvmsg(&mut cx, &mut b, 0).unwrap().addr.unwrap().as_bytes()[10], PACKET_HOST);
        // ETH_P_IP, SOCK_DGRAM: the incoming one, without the header
        let r = ip.recvmsg(&mut cx, &mut b, 0).unwrap();
        assert_eq!((r.len, b[0]), (5, 0x45));
        assert_eq!(ip.recvmsg(&mut cx, &mut b, 0).err(), Some(Errno::EAGAIN));
        // protocol 0: nothing until bound with one
        assert_eq!(none.recvmsg(&mut cx, &mut b, 0).err(), Some(Errno::EAGAIN));
        let mut ll = sockaddr_ll(ETH_P_IP, 2, 0, 0, None);
        assert_eq!(none.bind(&mut cx, &ll), Err(Errno::ENODEV));
        ll[4..8].copy_from_slice(&1i32.to_le_bytes());
        assert_eq!(none.bind(&mut cx, &ll), Ok(()));
        assert_eq!(none.getsockname().unwrap().len(), 18);
        // a SOCK_DGRAM send gets lo's header
        let mut m = SendMsg::new(&[0x45, 0, 0, 20]);
        m.addr = Some(&ll);
        assert_eq!(ip.sendmsg(&mut cx, &mut m), Ok(4));
        let sent = host.0.lock().pop().unwrap();
        assert_eq!(&sent[..14], &frame(0)[..14]);
    }
}
