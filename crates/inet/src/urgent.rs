//! TCP urgent data (tcp(7) "Urgent data", Linux's `tcp_check_urg`,
//! `tcp_urg`, `tcp_recv_urg` and the urgent parts of `tcp_recvmsg` and
//! `tcp_poll`).
//!
//! A send with MSG_OOB marks its last byte urgent. The receiver keeps one
//! mark: without SO_OOBINLINE the byte leaves the stream (a read stops
//! before it, the next read steps over it) and recv(MSG_OOB) returns it
//! once; with SO_OOBINLINE it stays in the stream. A new mark replaces an
//! older one (the older byte becomes ordinary data, as on Linux); the
//! receiver's owner gets SIGURG ([`Stack::take_urgent_signals`]).
//!
//! smoltcp 0.14 neither sends nor reads the URG flag and urgent pointer
//! (its `TcpRepr` has no field for them), so the mark travels beside the
//! stream: a send finds its peer among this stack's sockets (both ends
//! here: lo, or a connection to one of our own addresses) and gives it
//! the mark as an offset in the stream, counted by both ends from the
//! connection's first byte. A peer elsewhere (over a NIC) gets the byte as
//! ordinary data, and URG in received segments is ignored (the byte stays
//! in the stream).

use smoltcp::socket::tcp;
use smoltcp::wire::IpEndpoint;

use crate::{EarlyUrg, Errno, Kind, MAX_EARLY_URG, Result, SockId, SocketHandle, St, Stack, Urg};

impl Stack {
    /// send(2) with MSG_OOB on a TCP socket: [`Stack::send`], then the last
    /// byte taken is the urgent byte (Linux's `snd_up` after it).
    pub fn send_urgent(&mut self, id: SockId, buf: &[u8]) -> Result<usize> {
        let n = self.send(id, buf)?;
        if n > 0 {
            self.mark_urgent(id, buf[n - 1]);
        }
        Ok(n)
    }

    /// recv(2) with MSG_OOB on a TCP socket (Linux's `tcp_recv_urg`): the
    /// urgent byte (`Some`; taken unless `peek`), `None` at the end of the
    /// stream (a receive of 0 bytes); `ENOTCONN` while listening; `EINVAL`
    /// with SO_OOBINLINE, without a mark or once the byte was taken;
    /// `EAGAIN` while the byte has not arrived (this never waits).
    pub fn recv_urgent(&mut self, id: SockId, peek: bool) -> Result<Option<u8>> {
        self.refresh(id);
        let Stack { socks, ifaces, .. } = self;
        let s = socks.get_mut(id.0 as usize).and_then(|s| s.as_mut()).ok_or(Errno::EBADF)?;
        if s.kind != Kind::Tcp {
            return Err(Errno::EINVAL);
        }
        let (queued, eof) = match s.st {
            St::Listen { .. } => return Err(Errno::ENOTCONN),
            St::Tcp { ifx, h, fin_rcvd, .. } => {
                let sk = ifaces[ifx].set.get::<tcp::Socket>(h);
                (sk.recv_queue() as u64, fin_rcvd || s.shut_rd || !sk.may_recv())
            }
            _ => (0, true),
        };
        if s.opts.oobinline {
            return Err(Errno::EINVAL);
        }
        let Some(u) = s.urg.as_mut() else { return Err(Errno::EINVAL) };
        if u.taken {
            return Err(Errno::EINVAL);
        }
        if u.at < s.read + queued {
            if !peek {
                u.taken = true;
            }
            return Ok(Some(u.byte));
        }
        if eof {
            return Ok(None);
        }
        Err(Errno::EAGAIN)
    }

    /// SIOCATMARK: whether the next byte to read is the urgent mark (a
    /// TCP socket; false for others).
    pub fn at_mark(&self, id: SockId) -> Result<bool> {
        let s = self.sock(id)?;
        Ok(s.urg.is_some_and(|u| u.at == s.read))
    }

    /// The sockets owed a SIGURG since the last call (a new urgent mark
    /// reached them), for the caller to signal their files' owners.
    pub fn take_urgent_signals(&mut self) -> alloc::vec::Vec<SockId> {
        core::mem::take(&mut self.urg_sigs)
    }

    /// A TCP receive with the urgent mark applied: `None` when nothing is
    /// queued (the caller decides between EAGAIN and the end), else the
    /// bytes read into `buf` (or peeked): a read stops before the mark,
    /// one at the mark steps over the urgent byte unless SO_OOBINLINE.
    pub(crate) fn recv_urgent_aware(
        &mut self,
        id: SockId,
        ifx: usize,
        h: SocketHandle,
        buf: &mut [u8],
        peek: bool,
    ) -> Result<Option<usize>> {
        let Stack { socks, ifaces, .. } = self;
        let s = socks.get_mut(id.0 as usize).and_then(|s| s.as_mut()).ok_or(Errno::EBADF)?;
        let sk = ifaces[ifx].set.get_mut::<tcp::Socket>(h);
        if !sk.can_recv() {
            return Ok(None);
        }
        if buf.is_empty() {
            return Ok(Some(0));
        }
        let mut lim = buf.len();
        let mut skip = false;
        if let Some(u) = s.urg
            && u.at >= s.read
        {
            let off = u.at - s.read;
            if off == 0 {
                skip = !s.opts.oobinline;
            } else if off < lim as u64 {
                lim = off as usize;
            }
        }
        if skip {
            if peek {
                // the bytes after the urgent one
                let queued = sk.recv_queue();
                if queued <= 1 {
                    return Ok(None);
                }
                let want = (buf.len() + 1).min(queued);
                let mut tmp = alloc::vec::Vec::new();
                tmp.try_reserve_exact(want).map_err(|_| Errno::ENOBUFS)?;
                tmp.resize(want, 0);
                let n = sk.peek_slice(&mut tmp).map_err(|_| Errno::ENOTCONN)?;
                let got = n.saturating_sub(1);
                buf[..got].copy_from_slice(&tmp[1..1 + got]);
                return Ok(Some(got));
            }
            let mut one = [0u8; 1];
            sk.recv_slice(&mut one).map_err(|_| Errno::ENOTCONN)?;
            s.read += 1;
            s.urg = None;
            if !sk.can_recv() {
                return Ok(None);
            }
        }
        let b = &mut buf[..lim];
        let n = if peek { sk.peek_slice(b) } else { sk.recv_slice(b) }.map_err(|_| Errno::ENOTCONN)?;
        if !peek {
            s.read += n as u64;
            if s.urg.is_some_and(|u| s.read > u.at) {
                s.urg = None;
            }
        }
        Ok(Some(n))
    }

    /// The bytes FIONREAD reports for a TCP socket with `queued` bytes in
    /// its receive queue (Linux's `tcp_inq`: up to the urgent mark while
    /// the urgent byte is queued and not inline).
    pub(crate) fn inq_urgent(&self, id: SockId, queued: usize) -> usize {
        let Ok(s) = self.sock(id) else { return queued };
        match s.urg {
            Some(u) if !s.opts.oobinline && u.at >= s.read && u.at < s.read + queued as u64 => {
                (u.at - s.read) as usize
            }
            _ => queued,
        }
    }

    /// The urgent part of a connected TCP socket's poll bits (`tcp_poll`):
    /// whether `queued` bytes make it readable (a lone urgent byte at the
    /// mark does not, unless inline) and whether EPOLLPRI is set (the
    /// urgent byte arrived and was not taken).
    pub(crate) fn urgent_poll(&self, id: SockId, queued: usize) -> (bool, bool) {
        let Ok(s) = self.sock(id) else { return (queued > 0, false) };
        let at_mark = s.urg.is_some_and(|u| u.at == s.read) && !s.opts.oobinline;
        let readable = queued as u64 > u64::from(at_mark);
        let pri = s.urg.is_some_and(|u| !u.taken && u.at < s.read + queued as u64);
        (readable, pri)
    }

    /// Gives the peer of `id` (when it is one of this stack's sockets) the
    /// urgent mark at `id`'s last byte sent.
    fn mark_urgent(&mut self, id: SockId, byte: u8) {
        let Ok(s) = self.sock(id) else { return };
        let St::Tcp { ifx, h, .. } = s.st else { return };
        let Some(at) = s.sent.checked_sub(1) else { return };
        let sk = self.ifaces[ifx].set.get::<tcp::Socket>(h);
        let (Some(l), Some(r)) = (sk.local_endpoint(), sk.remote_endpoint()) else { return };
        let is_peer = |f: usize, ph: SocketHandle| -> bool {
            if (f, ph) == (ifx, h) {
                return false;
            }
            let pk = self.ifaces[f].set.get::<tcp::Socket>(ph);
            pk.local_endpoint() == Some(r) && pk.remote_endpoint() == Some(l)
        };
        let peer = self.socks.iter().position(|p| match p {
            Some(p) => match p.st {
                St::Tcp { ifx: f, h: ph, .. } => is_peer(f, ph),
                _ => false,
            },
            None => false,
        });
        if let Some(i) = peer {
            self.peer_urgent(SockId(i as u32), at, byte);
            return;
        }
        // A connection a listener has not handed to accept(2) yet.
        let mut pending = None;
        for p in self.socks.iter().flatten() {
            if let St::Listen { pend, .. } = &p.st
                && let Some(&(f, ph)) = pend.iter().find(|&&(f, ph)| is_peer(f, ph))
            {
                pending = Some((f, ph));
                break;
            }
        }
        let Some((f, ph)) = pending else { return };
        let urg = Urg { at, byte, taken: false };
        if let Some(e) = self.early_urg.iter_mut().find(|e| (e.ifx, e.h) == (f, ph)) {
            if at > e.urg.at {
                e.urg = urg;
            }
            return;
        }
        if self.early_urg.len() >= MAX_EARLY_URG {
            self.early_urg.remove(0);
        }
        if self.early_urg.try_reserve(1).is_ok() {
            self.early_urg.push(EarlyUrg { ifx: f, h: ph, local: r, remote: l, urg });
        }
    }

    /// A new urgent mark at stream offset `at` reaches socket `id`
    /// (Linux's `tcp_check_urg`).
    fn peer_urgent(&mut self, id: SockId, at: u64, byte: u8) {
        let Stack { socks, ifaces, urg_sigs, .. } = self;
        let Some(Some(p)) = socks.get_mut(id.0 as usize) else { return };
        // data already read, or a mark not newer than the one kept
        if p.read > at || p.urg.is_some_and(|u| at <= u.at) {
            return;
        }
        if urg_sigs.try_reserve(1).is_ok() {
            urg_sigs.push(id);
        }
        // The reader sits at an older urgent byte (not inline): it leaves
        // the stream, or it would be read again as data.
        if let Some(u) = p.urg
            && u.at == p.read
            && !p.opts.oobinline
            && let St::Tcp { ifx, h, .. } = p.st
        {
            let sk = ifaces[ifx].set.get_mut::<tcp::Socket>(h);
            let mut one = [0u8; 1];
            if sk.recv_queue() > 0 && sk.recv_slice(&mut one).is_ok() {
                p.read += 1;
            }
        }
        p.urg = Some(Urg { at, byte, taken: false });
    }

    /// accept(2) made socket `id` of connection `(ifx, h)`: an urgent mark
    /// sent to it while it waited is its own now.
    pub(crate) fn take_early_urg(
        &mut self,
        id: SockId,
        ifx: usize,
        h: SocketHandle,
        local: Option<IpEndpoint>,
        remote: Option<IpEndpoint>,
    ) {
        if self.early_urg.is_empty() {
            return;
        }
        if let Some(i) = self
            .early_urg
            .iter()
            .position(|e| (e.ifx, e.h) == (ifx, h) && Some(e.local) == local && Some(e.remote) == remote)
        {
            let e = self.early_urg.swap_remove(i);
            if let Ok(s) = self.sock_mut(id) {
                s.urg = Some(e.urg);
            }
        }
        // marks of connections no listener holds any more go
        let socks = &self.socks;
        self.early_urg.retain(|e| {
            socks.iter().flatten().any(|p| match &p.st {
                St::Listen { pend, .. } => pend.contains(&(e.ifx, e.h)),
                _ => false,
            })
        });
    }
}
