//! The loopback device: what is sent is received, in order. Unlike
//! smoltcp's `Loopback` it says whether packets wait (so a poll can run
//! until they are all delivered), bounds its queue, and allocates
//! fallibly (a packet that finds no memory is dropped, as Linux's
//! `netif_rx` drops on a full backlog).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// The most packets waiting (Linux's netdev_max_backlog is 1000).
pub const LO_QUEUE_MAX: usize = 1000;
/// lo's MTU as smoltcp sees it (an IP packet's largest size).
pub const LO_MTU: usize = 65535;

/// The loopback device.
#[non_exhaustive]
pub struct Lo {
    queue: VecDeque<Vec<u8>>,
    /// Where a packet that cannot be queued is written, then dropped.
    scratch: Vec<u8>,
    /// Packets dropped for want of memory or room.
    pub dropped: u64,
    /// IPv6 datagrams' header values (see [`crate::meta`]).
    pub(crate) pending: crate::meta::Pending,
}

impl Default for Lo {
    fn default() -> Self {
        Self::new()
    }
}

impl Lo {
    /// An empty device.
    pub fn new() -> Lo {
        Lo { queue: VecDeque::new(), scratch: Vec::new(), dropped: 0, pending: Default::default() }
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
}

/// A received packet.
pub struct LoRx(Vec<u8>);

impl phy::RxToken for LoRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }

    fn meta(&self) -> phy::PacketMeta {
        let mut m = phy::PacketMeta::default();
        m.id = crate::meta::rx_id(&self.0);
        m
    }
}

/// The right to send one packet (and the sender's metadata id).
pub struct LoTx<'a>(&'a mut Lo, u32);

impl phy::TxToken for LoTx<'_> {
    fn set_meta(&mut self, meta: phy::PacketMeta) {
        self.1 = meta.id;
    }

    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let (lo, id) = (self.0, self.1);
        let mut v = Vec::new();
        if lo.queue.len() < LO_QUEUE_MAX
            && lo.queue.try_reserve(1).is_ok()
            && v.try_reserve_exact(len).is_ok()
        {
            v.resize(len, 0);
            let r = f(&mut v);
            let id = if id == 0 { lo.pending.take_for(&v) } else { id };
            crate::meta::apply_tx(id, &mut v);
            lo.queue.push_back(v);
            return r;
        }
        lo.dropped += 1;
        // transmit() made sure the scratch buffer holds an MTU.
        let n = len.min(lo.scratch.len());
        f(&mut lo.scratch[..n])
    }
}

impl Device for Lo {
    type RxToken<'a> = LoRx;
    type TxToken<'a> = LoTx<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.max_transmission_unit = LO_MTU;
        c.medium = Medium::Ip;
        c.checksum = ChecksumCapabilities::ignored();
        c
    }

    fn receive(&mut self, _timestamp: Instant) -> Option<(LoRx, LoTx<'_>)> {
        if !self.ready() {
            return None;
        }
        let p = self.queue.pop_front()?;
        Some((LoRx(p), LoTx(self, 0)))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<LoTx<'_>> {
        if !self.ready() {
            return None;
        }
        Some(LoTx(self, 0))
    }
}
