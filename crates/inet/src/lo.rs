//! The loopback device: what is sent is received, in order. Unlike
//! smoltcp's `Loopback` it says whether packets wait (so a poll can run
//! until they are all delivered), bounds its queue, and allocates
//! fallibly (a packet that finds no memory is dropped, as Linux's
//! `netif_rx` drops on a full backlog).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use smoltcp::phy::{self, Checksum, ChecksumCapabilities, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// The most packets waiting (Linux's netdev_max_backlog is 1000).
pub const LO_QUEUE_MAX: usize = 1000;
/// lo's MTU as smoltcp sees it (an IP packet's largest size).
pub const LO_MTU: usize = 65535;
/// The most packet buffers kept for reuse once received (each up to an
/// MTU): a sent packet takes one instead of a new zero-filled buffer.
pub const LO_FREE_MAX: usize = 16;
/// The most copies of sent packets kept for packet sockets
/// ([`Lo::set_capture`]) until [`Lo::take_captured`]; more are not kept.
pub const CAPTURE_MAX: usize = 512;
/// Packets shorter than this get a new buffer (zero-filling it is cheap)
/// and do not hold a kept one while they wait.
const LO_REUSE_MIN: usize = 4096;

/// The loopback device.
#[non_exhaustive]
pub struct Lo {
    /// Waiting packets: a buffer and the packet's length (a reused
    /// buffer may be longer).
    queue: VecDeque<(Vec<u8>, usize)>,
    /// Buffers of received packets kept for the next sends (at most
    /// [`LO_FREE_MAX`]; their lengths are kept, so a reused one is
    /// zero-filled only where it grows).
    free: Vec<Vec<u8>>,
    /// Where a packet that cannot be queued is written, then dropped.
    scratch: Vec<u8>,
    /// Packets dropped for want of memory or room.
    pub dropped: u64,
    /// IPv6 datagrams' header values (see [`crate::meta`]).
    pub(crate) pending: crate::meta::Pending,
    /// Copies of the packets sent, for packet sockets (`None`: off).
    captured: Option<VecDeque<Vec<u8>>>,
}

impl Default for Lo {
    fn default() -> Self {
        Self::new()
    }
}

impl Lo {
    /// An empty device.
    pub fn new() -> Lo {
        Lo {
            queue: VecDeque::new(),
            free: Vec::new(),
            scratch: Vec::new(),
            dropped: 0,
            pending: Default::default(),
            captured: None,
        }
    }

    /// Keeps copies of the packets sent from now on (or stops).
    pub fn set_capture(&mut self, on: bool) {
        match (on, self.captured.is_some()) {
            (true, false) => self.captured = Some(VecDeque::new()),
            (false, true) => self.captured = None,
            _ => {}
        }
    }

    /// Moves the copies kept to `out` (as many as it has room for).
    pub fn take_captured(&mut self, out: &mut Vec<Vec<u8>>) {
        if let Some(c) = self.captured.as_mut() {
            while out.len() < out.capacity() {
                let Some(p) = c.pop_front() else { break };
                out.push(p);
            }
        }
    }

    /// Queues a whole IP packet as if it had been sent (a packet socket's
    /// send): `false` when there is no room or memory. An IPv4 packet
    /// from or to 127/8 is only shown to packet sockets: with no route
    /// attached (Linux's lo hands the route of a packet it sent along),
    /// Linux's ip_route_input takes it for a martian and drops it.
    pub fn inject(&mut self, p: &[u8]) -> bool {
        if p.len() >= 20 && p[0] >> 4 == 4 && (p[12] == 127 || p[16] == 127) {
            capture(&mut self.captured, p);
            return true;
        }
        let mut v = Vec::new();
        if self.queue.len() >= LO_QUEUE_MAX
            || self.queue.try_reserve(1).is_err()
            || v.try_reserve_exact(p.len()).is_err()
        {
            self.dropped += 1;
            return false;
        }
        v.extend_from_slice(p);
        capture(&mut self.captured, &v);
        let n = v.len();
        self.queue.push_back((v, n));
        true
    }

    /// Whether a packet can be sent: the scratch buffer (for a packet
    /// dropped for want of memory) holds an MTU.
    fn ready(&mut self) -> bool {
        if self.scratch.len() < LO_MTU {
            if self.scratch.try_reserve_exact(LO_MTU - self.scratch.len()).is_err() {
                return false;
            }
            self.scratch.resize(LO_MTU, 0);
        }
        true
    }

    /// Whether packets wait to be received.
    pub fn pending(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Runs `f` over the waiting packets in order: `None` drops a
    /// packet, `Some(n)` keeps its first `n` bytes (`f` may rewrite it in
    /// place, e.g. into a reply to its sender).
    pub fn filter(&mut self, f: &mut dyn FnMut(&mut [u8]) -> Option<usize>) {
        self.queue.retain_mut(|(p, len)| match p.get_mut(..*len).and_then(&mut *f) {
            Some(n) => {
                *len = n.min(*len);
                true
            }
            None => false,
        });
    }
}

/// Keeps a copy of `p` for packet sockets when capturing.
fn capture(c: &mut Option<VecDeque<Vec<u8>>>, p: &[u8]) {
    let Some(c) = c else { return };
    let mut v = Vec::new();
    if c.len() < CAPTURE_MAX && c.try_reserve(1).is_ok() && v.try_reserve_exact(p.len()).is_ok() {
        v.extend_from_slice(p);
        c.push_back(v);
    }
}

/// A received packet (and the device's buffers kept for reuse, where
/// it goes once read).
pub struct LoRx<'a>(Vec<u8>, usize, &'a mut Vec<Vec<u8>>);

impl phy::RxToken for LoRx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let LoRx(p, len, free) = self;
        let r = f(&p[..len]);
        if p.len() >= LO_REUSE_MIN && free.len() < LO_FREE_MAX && free.try_reserve(1).is_ok() {
            free.push(p);
        }
        r
    }

    fn meta(&self) -> phy::PacketMeta {
        let mut m = phy::PacketMeta::default();
        m.id = crate::meta::rx_id(&self.0[..self.1]);
        m
    }
}

/// The right to send one packet: the device's parts it needs (the
/// buffers kept for reuse, except while a received packet holds them)
/// and the sender's metadata id.
pub struct LoTx<'a> {
    queue: &'a mut VecDeque<(Vec<u8>, usize)>,
    free: Option<&'a mut Vec<Vec<u8>>>,
    scratch: &'a mut Vec<u8>,
    dropped: &'a mut u64,
    pending: &'a mut crate::meta::Pending,
    captured: &'a mut Option<VecDeque<Vec<u8>>>,
    id: u32,
}

impl phy::TxToken for LoTx<'_> {
    fn set_meta(&mut self, meta: phy::PacketMeta) {
        self.id = meta.id;
    }

    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let LoTx { queue, free, scratch, dropped, pending, captured, id } = self;
        // a kept buffer for a large packet (its bytes are an earlier
        // packet's; smoltcp writes the whole packet over them), else a
        // new one
        let kept = if len >= LO_REUSE_MIN { free.and_then(|f| f.pop()) } else { None };
        let mut v = kept.unwrap_or_default();
        if queue.len() < LO_QUEUE_MAX
            && queue.try_reserve(1).is_ok()
            && (v.len() >= len || v.try_reserve_exact(len - v.len()).is_ok())
        {
            if v.len() < len {
                v.resize(len, 0);
            }
            let p = &mut v[..len];
            let r = f(p);
            let id = if id == 0 { pending.take_for(p) } else { id };
            crate::meta::apply_tx(id, p);
            capture(captured, p);
            queue.push_back((v, len));
            return r;
        }
        *dropped += 1;
        // transmit() made sure the scratch buffer holds an MTU.
        let n = len.min(scratch.len());
        f(&mut scratch[..n])
    }
}

impl Device for Lo {
    type RxToken<'a> = LoRx<'a>;
    type TxToken<'a> = LoTx<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.max_transmission_unit = LO_MTU;
        c.medium = Medium::Ip;
        // No checksum is checked on the way in, and TCP's and UDP's are not
        // computed (Linux's lo: CHECKSUM_PARTIAL, never finished); the IP
        // header's and ICMP's are, as Linux computes them in software: a
        // raw socket or a sniffer reads them.
        let mut sums = ChecksumCapabilities::ignored();
        sums.ipv4 = Checksum::Tx;
        sums.icmpv4 = Checksum::Tx;
        sums.icmpv6 = Checksum::Tx;
        c.checksum = sums;
        c
    }

    fn receive(&mut self, _timestamp: Instant) -> Option<(LoRx<'_>, LoTx<'_>)> {
        if !self.ready() {
            return None;
        }
        let Lo { queue, free, scratch, dropped, pending, captured } = self;
        let (p, len) = queue.pop_front()?;
        Some((LoRx(p, len, free), LoTx { queue, free: None, scratch, dropped, pending, captured, id: 0 }))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<LoTx<'_>> {
        if !self.ready() {
            return None;
        }
        let Lo { queue, free, scratch, dropped, pending, captured } = self;
        Some(LoTx { queue, free: Some(free), scratch, dropped, pending, captured, id: 0 })
    }
}
