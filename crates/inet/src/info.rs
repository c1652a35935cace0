//! getsockopt(TCP_INFO): Linux 6.1's `struct tcp_info` (232 bytes), filled
//! as far as this stack knows (`tcp_get_info`).
//!
//! Known here: the state, a listener's queue and backlog, the MSS of the
//! route, the bytes each way (counted by the socket: acknowledged, sent,
//! received), the bytes not sent yet (smoltcp's send queue: on lo that is
//! what the window held back; over a NIC it also holds bytes in flight).
//! smoltcp 0.14 does not show its RTT estimate, RTO, congestion window,
//! window scales or segment counts: those fields carry Linux's values for
//! a connection without samples (RTO 1 s, RTT variance 250 ms, initial
//! congestion window 10, no slow-start threshold, no minimum RTT) and the
//! counters 0.

use smoltcp::socket::tcp;

use crate::{Errno, Family, Kind, Result, SockId, St, Stack, linux_tcp_state};

/// sizeof(struct tcp_info) in Linux 6.1 (up to `tcpi_snd_wnd`).
pub const TCP_INFO_LEN: usize = 232;

/// Linux's TCP_MSS_DEFAULT (the MSS before a route is known).
const MSS_DEFAULT: u32 = 536;
/// Linux's TCP_TIMEOUT_INIT in microseconds.
const RTO_INIT_US: u32 = 1_000_000;
/// Linux's TCP_INIT_CWND.
const INIT_CWND: u32 = 10;
/// net.ipv4.tcp_reordering.
const REORDERING: u32 = 3;
/// TCP_INFINITE_SSTHRESH.
const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;

fn put32(b: &mut [u8; TCP_INFO_LEN], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

fn put64(b: &mut [u8; TCP_INFO_LEN], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}

impl Stack {
    /// The MSS a connection of `family` on interface `ifx` uses: Linux's
    /// for lo (65483: 65535 less the headers and the timestamp option),
    /// else the interface's MTU less the headers and timestamps.
    fn route_mss(&self, ifx: usize, family: Family) -> u32 {
        let f = &self.ifaces[ifx];
        if f.loopback {
            return 65483;
        }
        let hdr = match family {
            Family::V4 => 40,
            Family::V6 => 60,
        };
        f.mtu.saturating_sub(hdr + 12)
    }

    /// getsockopt(TCP_INFO) of a TCP socket: the bytes of Linux 6.1's
    /// `struct tcp_info` (the caller copies as many as asked for).
    /// `EOPNOTSUPP` for another kind (as the SOL_TCP options).
    pub fn tcp_info(&self, id: SockId) -> Result<[u8; TCP_INFO_LEN]> {
        let s = self.sock(id)?;
        if s.kind != Kind::Tcp {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut b = [0u8; TCP_INFO_LEN];
        // reported for every state, listeners too
        put64(&mut b, 104, u64::MAX); // tcpi_pacing_rate: none set
        put64(&mut b, 112, u64::MAX); // tcpi_max_pacing_rate
        put32(&mut b, 88, REORDERING);
        put32(&mut b, 80, INIT_CWND);
        let state = match &s.st {
            St::Listen { pend, backlog, .. } => {
                b[0] = 10;
                let ready = pend
                    .iter()
                    .filter(|&&(ifx, h)| {
                        let st = self.ifaces[ifx].set.get::<tcp::Socket>(h).state();
                        !matches!(st, tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed)
                    })
                    .count() as u32;
                put32(&mut b, 24, ready); // tcpi_unacked: ready for accept
                put32(&mut b, 28, (*backlog).max(0) as u32); // tcpi_sacked: the backlog
                return Ok(b);
            }
            St::Tcp { ifx, h, fin_rcvd, .. } => Some((*ifx, *h, *fin_rcvd)),
            _ => None,
        };
        put32(&mut b, 8, RTO_INIT_US); // tcpi_rto
        put32(&mut b, 72, RTO_INIT_US / 4); // tcpi_rttvar
        put32(&mut b, 76, INFINITE_SSTHRESH); // tcpi_snd_ssthresh
        put32(&mut b, 148, u32::MAX); // tcpi_min_rtt: no sample
        let mss = if s.opts.maxseg != 0 { s.opts.maxseg as u32 } else { MSS_DEFAULT };
        put32(&mut b, 16, mss); // tcpi_snd_mss
        let Some((ifx, h, fin_rcvd)) = state else {
            b[0] = 7;
            return Ok(b);
        };
        let sk = self.ifaces[ifx].set.get::<tcp::Socket>(h);
        b[0] = linux_tcp_state(sk.state());
        let mss = self.route_mss(ifx, s.family);
        let mss = if s.opts.maxseg != 0 { mss.min(s.opts.maxseg as u32) } else { mss };
        let queued = sk.send_queue() as u64;
        let unsent = queued;
        put32(&mut b, 16, mss); // tcpi_snd_mss
        put32(&mut b, 20, mss); // tcpi_rcv_mss
        put32(&mut b, 24, queued.div_ceil(u64::from(mss.max(1))) as u32); // tcpi_unacked
        put32(&mut b, 60, self.ifaces[ifx].mtu); // tcpi_pmtu
        put32(&mut b, 84, mss); // tcpi_advmss
        let acked = s.sent.saturating_sub(queued);
        // the SYN counts as one byte acknowledged (tcp_snd_una_update)
        put64(&mut b, 120, acked + 1); // tcpi_bytes_acked
        let received = s.read + sk.recv_queue() as u64 + u64::from(fin_rcvd);
        put64(&mut b, 128, received); // tcpi_bytes_received
        put32(&mut b, 144, unsent.min(u64::from(u32::MAX)) as u32); // tcpi_notsent_bytes
        put64(&mut b, 200, s.sent.saturating_sub(unsent)); // tcpi_bytes_sent
        Ok(b)
    }
}
