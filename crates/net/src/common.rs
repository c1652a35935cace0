//! SOL_SOCKET options every socket kind shares (Linux's sock_setsockopt
//! and sock_getsockopt for what is not family-specific), and the
//! timeout conversions of SO_RCVTIMEO/SO_SNDTIMEO.

use crate::consts::*;
use crate::socket::{opt_int, put_int};
use linux_abi::{Errno, Result};

/// Linux's HZ (Debian's CONFIG_HZ_250): socket timeouts are kept in
/// jiffies, so what getsockopt returns is rounded as Linux's.
pub const HZ: u64 = 250;

/// The generic options of one socket.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SockOpts {
    /// SO_SNDBUF as stored (the doubled value).
    pub sndbuf: usize,
    /// SO_RCVBUF as stored (the doubled value).
    pub rcvbuf: usize,
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
    /// SO_DONTROUTE.
    pub dontroute: bool,
    /// SO_PASSCRED.
    pub passcred: bool,
    /// SO_PASSSEC (kept and given back; no security module sends a
    /// context).
    pub passsec: bool,
    /// Linux's `SOCK_RCVTSTAMP` and `SOCK_RCVTSTAMPNS`: 0 none, 1
    /// SO_TIMESTAMP (`SCM_TIMESTAMP`, a timeval), 2 SO_TIMESTAMPNS
    /// (`SCM_TIMESTAMPNS`, a timespec). AF_UNIX datagrams carry it.
    pub timestamp: u8,
    /// SO_PRIORITY.
    pub priority: i32,
    /// SO_RCVLOWAT.
    pub rcvlowat: i32,
    /// SO_LINGER: (l_onoff, l_linger).
    pub linger: (i32, i32),
}

impl Default for SockOpts {
    fn default() -> Self {
        SockOpts {
            sndbuf: DEFAULT_BUF,
            rcvbuf: DEFAULT_BUF,
            reuseaddr: false,
            reuseport: false,
            keepalive: false,
            broadcast: false,
            oobinline: false,
            dontroute: false,
            passcred: false,
            passsec: false,
            timestamp: 0,
            priority: 0,
            rcvlowat: 1,
            linger: (0, 0),
        }
    }
}

impl SockOpts {
    /// setsockopt(SOL_SOCKET, name) for the options kept here;
    /// `ENOPROTOOPT` for others.
    pub fn set(&mut self, name: i32, val: &[u8]) -> Result<()> {
        if name == SO_LINGER {
            if val.len() < 8 {
                return Err(Errno::EINVAL);
            }
            let on = opt_int(&val[..4])?;
            let secs = opt_int(&val[4..8])?;
            self.linger = (i32::from(on != 0), secs);
            return Ok(());
        }
        let v = opt_int(val)?;
        match name {
            SO_SNDBUF => {
                let v = (v as u32).min(MAX_BUF as u32) as usize;
                self.sndbuf = (v * 2).max(MIN_SNDBUF);
            }
            SO_RCVBUF => {
                let v = (v as u32).min(MAX_BUF as u32) as usize;
                self.rcvbuf = (v * 2).max(MIN_RCVBUF);
            }
            SO_SNDBUFFORCE => {
                let v = v.clamp(0, i32::MAX / 2) as usize;
                self.sndbuf = (v * 2).max(MIN_SNDBUF);
            }
            SO_RCVBUFFORCE => {
                let v = v.clamp(0, i32::MAX / 2) as usize;
                self.rcvbuf = (v * 2).max(MIN_RCVBUF);
            }
            SO_REUSEADDR => self.reuseaddr = v != 0,
            SO_REUSEPORT => self.reuseport = v != 0,
            SO_KEEPALIVE => self.keepalive = v != 0,
            SO_BROADCAST => self.broadcast = v != 0,
            SO_OOBINLINE => self.oobinline = v != 0,
            SO_DONTROUTE => self.dontroute = v != 0,
            SO_PASSCRED => self.passcred = v != 0,
            SO_PASSSEC => self.passsec = v != 0,
            // sock_set_timestamp(): each replaces the other
            SO_TIMESTAMP => self.timestamp = if v != 0 { 1 } else { 0 },
            SO_TIMESTAMPNS => self.timestamp = if v != 0 { 2 } else { 0 },
            SO_PRIORITY => {
                if !(0..=6).contains(&v) {
                    return Err(Errno::EPERM);
                }
                self.priority = v
            }
            SO_RCVLOWAT => self.rcvlowat = if v < 0 { i32::MAX } else { v.max(1) },
            SO_DEBUG => {}
            _ => return Err(Errno::ENOPROTOOPT),
        }
        Ok(())
    }

    /// getsockopt(SOL_SOCKET, name) for the options kept here: the bytes
    /// written into `buf` (as many as it holds), `None` for others.
    pub fn get(&self, name: i32, buf: &mut [u8]) -> Option<usize> {
        let v = match name {
            SO_SNDBUF => self.sndbuf as i32,
            SO_RCVBUF => self.rcvbuf as i32,
            SO_REUSEADDR => self.reuseaddr as i32,
            SO_REUSEPORT => self.reuseport as i32,
            SO_KEEPALIVE => self.keepalive as i32,
            SO_BROADCAST => self.broadcast as i32,
            SO_OOBINLINE => self.oobinline as i32,
            SO_DONTROUTE => self.dontroute as i32,
            SO_PASSCRED => self.passcred as i32,
            SO_PASSSEC => self.passsec as i32,
            SO_TIMESTAMP => (self.timestamp == 1) as i32,
            SO_TIMESTAMPNS => (self.timestamp == 2) as i32,
            SO_PRIORITY => self.priority,
            SO_RCVLOWAT => self.rcvlowat,
            SO_SNDLOWAT => 1,
            SO_DEBUG => 0,
            SO_LINGER => {
                let mut b = [0u8; 8];
                b[..4].copy_from_slice(&self.linger.0.to_le_bytes());
                b[4..].copy_from_slice(&self.linger.1.to_le_bytes());
                let n = buf.len().min(8);
                buf[..n].copy_from_slice(&b[..n]);
                return Some(n);
            }
            _ => return None,
        };
        Some(put_int(buf, v))
    }
}

/// A socket timeout in jiffies; `None` waits forever.
pub type Timeout = Option<u64>;

/// Linux's sock_set_timeout for a `struct timeval` (16 bytes): `EINVAL`
/// when shorter, `EDOM` for microseconds outside 0..1e6; a negative time
/// is 0 jiffies (no wait at all), 0 waits forever, others round up to a
/// jiffy.
pub fn timeout_from_timeval(val: &[u8]) -> Result<Timeout> {
    if val.len() < 16 {
        return Err(Errno::EINVAL);
    }
    let sec = i64::from_le_bytes(val[..8].try_into().map_err(|_| Errno::EINVAL)?);
    let usec = i64::from_le_bytes(val[8..16].try_into().map_err(|_| Errno::EINVAL)?);
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec < 0 {
        return Ok(Some(0));
    }
    if sec == 0 && usec == 0 {
        return Ok(None);
    }
    let per = 1_000_000 / HZ;
    Ok(Some((sec as u64).saturating_mul(HZ).saturating_add((usec as u64).div_ceil(per))))
}

/// sock_get_timeout: the `struct timeval` of a timeout (0 for forever).
pub fn timeval_of_timeout(t: Timeout) -> [u8; 16] {
    let (sec, usec) = match t {
        None => (0u64, 0u64),
        Some(j) => (j / HZ, (j % HZ) * 1_000_000 / HZ),
    };
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&sec.to_le_bytes());
    b[8..].copy_from_slice(&usec.to_le_bytes());
    b
}

/// A timeout in nanoseconds (for a deadline).
pub fn timeout_ns(jiffies: u64) -> u64 {
    jiffies.saturating_mul(1_000_000_000 / HZ)
}
