//! Per-packet IP header values carried through smoltcp's packet metadata
//! (`PacketMeta::id`): what a datagram's sender asks for (IP_TTL/IP_TOS,
//! IPV6_HOPLIMIT/IPV6_TCLASS, per socket or per `sendmsg` control
//! message) goes down with the packet and the device writes it into the
//! header it sends; a received packet's TTL/hop limit and TOS/traffic
//! class come back up with it (for IP_RECVTTL, IPV6_RECVHOPLIMIT, ...).
//! smoltcp itself sends every UDP datagram with its socket's hop limit
//! and no traffic class, and keeps no header values of what it receives.

use alloc::collections::VecDeque;

/// A TTL/hop limit is asked for (in bits 0-7).
const TX_TTL: u32 = 1 << 31;
/// A TOS/traffic class is asked for (in bits 8-15).
const TX_TOS: u32 = 1 << 30;
/// The values of a received header (TTL in bits 0-7, TOS in 8-15).
const RX: u32 = 1 << 29;

/// The metadata id of a packet to send with `ttl` and `tos` (`None`: the
/// stack's default).
pub fn tx_id(ttl: Option<u8>, tos: Option<u8>) -> u32 {
    let mut id = 0;
    if let Some(t) = ttl {
        id |= TX_TTL | u32::from(t);
    }
    if let Some(t) = tos {
        id |= TX_TOS | (u32::from(t) << 8);
    }
    id
}

/// The TTL/hop limit and TOS/traffic class of a received packet, when
/// its device reported them.
pub fn rx_values(id: u32) -> Option<(u8, u8)> {
    (id & RX != 0).then_some((id as u8, (id >> 8) as u8))
}

/// The metadata id a device gives a received IP packet (`ip` starts at
/// the IP header): its TTL/hop limit and TOS/traffic class.
pub fn rx_id(ip: &[u8]) -> u32 {
    match ip.first().map(|b| b >> 4) {
        Some(4) if ip.len() >= 20 => RX | u32::from(ip[8]) | (u32::from(ip[1]) << 8),
        Some(6) if ip.len() >= 40 => {
            let tc = ((ip[0] & 0x0f) << 4) | (ip[1] >> 4);
            RX | u32::from(ip[7]) | (u32::from(tc) << 8)
        }
        _ => 0,
    }
}

/// Writes what the metadata `id` asks for into the IP header at the start
/// of `ip` (the IPv4 header checksum is made again). Neither field is in
/// a UDP or TCP checksum's pseudo-header.
pub fn apply_tx(id: u32, ip: &mut [u8]) {
    if id & (TX_TTL | TX_TOS) == 0 {
        return;
    }
    let (ttl, tos) = (id as u8, (id >> 8) as u8);
    match ip.first().map(|b| b >> 4) {
        Some(4) if ip.len() >= 20 => {
            if id & TX_TTL != 0 {
                ip[8] = ttl;
            }
            if id & TX_TOS != 0 {
                ip[1] = tos;
            }
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            if (20..=ip.len()).contains(&ihl) {
                ip[10] = 0;
                ip[11] = 0;
                let sum = crate::inet_checksum(&ip[..ihl]);
                ip[10..12].copy_from_slice(&sum.to_be_bytes());
            }
        }
        Some(6) if ip.len() >= 40 => {
            if id & TX_TTL != 0 {
                ip[7] = ttl;
            }
            if id & TX_TOS != 0 {
                ip[0] = 0x60 | (tos >> 4);
                ip[1] = (tos << 4) | (ip[1] & 0x0f);
            }
        }
        _ => {}
    }
}

/// The most IPv6 datagrams waiting for their header values.
const PENDING_MAX: usize = 64;

/// A datagram's fingerprint: its payload's length and an FNV-1a hash of
/// up to its first 64 bytes, to tell one datagram of a flow from another.
fn fingerprint(payload: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in payload.iter().take(64) {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h ^ (payload.len() as u32).rotate_left(16)
}

/// One IPv6 UDP datagram sent and not yet seen leaving the device.
#[derive(Clone, Copy)]
struct Sent {
    sport: u16,
    dst: [u8; 16],
    dport: u16,
    print: u32,
    id: u32,
}

/// smoltcp 0.14 hands a packet's metadata to the device for IPv4 only
/// (its IPv6 path never calls `TxToken::set_meta`): a device keeps the
/// ids of the IPv6 UDP datagrams sent through it by source port,
/// destination and a fingerprint of the payload, in order (a UDP socket
/// sends its queue in order), and the datagram that matches takes its id
/// when it is emitted. The flow's entries before the match belong to
/// datagrams that never left (dropped, e.g. no neighbour): they go, so a
/// dropped datagram's values never reach the flow's next one. While some
/// id waits, datagrams without one are recorded too (id 0), so that they
/// take nothing that is not theirs.
#[derive(Default)]
pub(crate) struct Pending {
    q: VecDeque<Sent>,
}

impl Pending {
    /// Remembers that the IPv6 UDP datagram with `payload` just queued from
    /// `sport` to `dst`:`dport` carries `id` (nothing for 0 while no other
    /// id waits; the oldest goes when full, or when no memory is left for
    /// another).
    pub(crate) fn push(&mut self, sport: u16, dst: [u8; 16], dport: u16, id: u32, payload: &[u8]) {
        if id == 0 && self.q.is_empty() {
            return;
        }
        if self.q.len() >= PENDING_MAX {
            self.q.pop_front();
        }
        if self.q.try_reserve(1).is_ok() {
            self.q.push_back(Sent { sport, dst, dport, print: fingerprint(payload), id });
        }
    }

    /// The id of an IPv6 UDP datagram about to be sent (`ip` its IP
    /// packet), 0 when none waits for it.
    pub(crate) fn take_for(&mut self, ip: &[u8]) -> u32 {
        if self.q.is_empty() || ip.len() < 48 || ip[0] >> 4 != 6 || ip[6] != 17 {
            return 0;
        }
        let sport = u16::from_be_bytes([ip[40], ip[41]]);
        let dport = u16::from_be_bytes([ip[42], ip[43]]);
        let udp_len = usize::from(u16::from_be_bytes([ip[44], ip[45]]));
        let payload = ip.get(48..40 + udp_len.max(8)).unwrap_or(&ip[48..]);
        let print = fingerprint(payload);
        let flow = |e: &Sent| e.sport == sport && e.dst == ip[24..40] && e.dport == dport;
        let Some(i) = self.q.iter().position(|e| flow(e) && e.print == print) else {
            return 0;
        };
        let id = self.q[i].id;
        // this datagram and the flow's older ones, which never left
        let mut k = 0;
        self.q.retain(|e| {
            let keep = k > i || !flow(e);
            k += 1;
            keep
        });
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_header_rewritten_and_read_back() {
        let mut h = [0u8; 20];
        h[0] = 0x45;
        h[8] = 64;
        h[9] = 17;
        h[12..16].copy_from_slice(&[127, 0, 0, 1]);
        h[16..20].copy_from_slice(&[127, 0, 0, 1]);
        apply_tx(tx_id(Some(2), Some(0xb8)), &mut h);
        assert_eq!((h[8], h[1]), (2, 0xb8));
        // a header with its checksum in place sums to zero
        assert_eq!(crate::inet_checksum(&h), 0);
        assert_eq!(rx_values(rx_id(&h)), Some((2, 0xb8)));
        // no request: untouched
        let before = h;
        apply_tx(tx_id(None, None), &mut h);
        assert_eq!(h, before);
    }

    #[test]
    fn v6_traffic_class_spans_two_bytes() {
        let mut h = [0u8; 40];
        h[0] = 0x60;
        h[1] = 0x0a; // flow label bits stay
        h[7] = 64;
        apply_tx(tx_id(None, Some(0xa5)), &mut h);
        assert_eq!((h[0], h[1], h[7]), (0x6a, 0x5a, 64));
        apply_tx(tx_id(Some(7), None), &mut h);
        assert_eq!(rx_values(rx_id(&h)), Some((7, 0xa5)));
        assert_eq!(rx_values(0), None);
        assert_eq!(rx_id(&[0x45, 0]), 0);
    }

    #[test]
    fn pending_ids_taken_in_order_by_ports_and_destination() {
        let mut p = Pending::default();
        let mut h = [0u8; 48];
        h[0] = 0x60;
        h[6] = 17;
        h[39] = 1;
        h[40..42].copy_from_slice(&5000u16.to_be_bytes());
        h[42..44].copy_from_slice(&6000u16.to_be_bytes());
        let dst = {
            let mut d = [0u8; 16];
            d[15] = 1;
            d
        };
        h[44..46].copy_from_slice(&8u16.to_be_bytes());
        p.push(5000, dst, 6000, 0, &[]);
        assert_eq!(p.take_for(&h), 0);
        p.push(5000, dst, 7000, 9, &[]);
        p.push(5000, dst, 6000, 1, &[]);
        p.push(5000, dst, 6000, 2, &[]);
        assert_eq!(p.take_for(&h), 1);
        assert_eq!(p.take_for(&h), 2);
        assert_eq!(p.take_for(&h), 0);
        for i in 0..100 {
            p.push(1, dst, 1, i + 1, &[]);
        }
        assert_eq!(p.q.len(), PENDING_MAX);
    }

    /// An IPv6 UDP packet from port 5000 to [::1]:6000 with `payload`.
    fn v6_udp(payload: &[u8]) -> alloc::vec::Vec<u8> {
        let mut h = alloc::vec![0u8; 48];
        h[0] = 0x60;
        h[6] = 17;
        h[39] = 1;
        h[40..42].copy_from_slice(&5000u16.to_be_bytes());
        h[42..44].copy_from_slice(&6000u16.to_be_bytes());
        h[44..46].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        h.extend_from_slice(payload);
        h
    }

    /// A datagram that never leaves (dropped before the device) hands its
    /// values to no later datagram of its flow: one without a request
    /// gets none, one with its own gets its own.
    #[test]
    fn a_dropped_datagrams_values_stay_with_it() {
        let mut p = Pending::default();
        let mut dst = [0u8; 16];
        dst[15] = 1;
        // "a" asked for hop limit 3 and was dropped; "b" asked for nothing
        p.push(5000, dst, 6000, tx_id(Some(3), None), b"a");
        p.push(5000, dst, 6000, 0, b"b");
        assert_eq!(p.take_for(&v6_udp(b"b")), 0);
        assert!(p.q.is_empty(), "the dropped one's entry went with b");
        // "c" (hop limit 5) dropped, "d" (hop limit 7) sent
        p.push(5000, dst, 6000, tx_id(Some(5), None), b"c");
        p.push(5000, dst, 6000, tx_id(Some(7), None), b"d");
        assert_eq!(p.take_for(&v6_udp(b"d")), tx_id(Some(7), None));
        // a later datagram queued before the earlier one left keeps its id
        p.push(5000, dst, 6000, tx_id(Some(1), None), b"e");
        p.push(5000, dst, 6000, tx_id(Some(2), None), b"f");
        assert_eq!(p.take_for(&v6_udp(b"e")), tx_id(Some(1), None));
        assert_eq!(p.take_for(&v6_udp(b"f")), tx_id(Some(2), None));
        assert!(p.q.is_empty());
    }
}
