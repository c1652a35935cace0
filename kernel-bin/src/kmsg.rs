//! /dev/kmsg (char 1:11) as Linux 6.1's kernel/printk/printk.c
//! `devkmsg_*`: each read gives one record of the kernel log buffer as
//! `prio,seq,usec,-;text\n` (non-printable bytes and `\` as `\xNN`),
//! from the oldest kept on (an open starts there); `EAGAIN` at the end
//! with `O_NONBLOCK` (else it waits), `EINVAL` for a buffer shorter than
//! the record (the record is passed), `EPIPE` once when the next record
//! was overwritten (the reader goes on at the oldest one kept). lseek(2)
//! with offset 0: `SEEK_SET` (oldest), `SEEK_DATA` (after the last
//! SYSLOG_ACTION_CLEAR), `SEEK_END`; another offset `ESPIPE`, another
//! whence `EINVAL`. A write logs its text as one record: a leading `<N>`
//! gives the level (and the facility when not 0), else level 4 of the
//! user facility (prio 12); more than 992 bytes `EINVAL`. Opening for
//! reading needs CAP_SYSLOG or CAP_SYS_ADMIN (`EPERM`, Linux's
//! `dmesg_restrict`); opening write-only needs nothing more than the
//! node's mode.

use alloc::sync::Arc;
use arch_x86_64::logger::{LINE_MAX, with_log};
use arch_x86_64::logring::{Cursor, Record};
use core::sync::atomic::{AtomicU32, Ordering};
use linux_abi::{Errno, Result};
use vfs::{File, Inode, Stat};

/// Linux's LOG_LINE_MAX (1024 - 32): the longest write.
const LOG_LINE_MAX: usize = 992;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_SYSLOG: u32 = 34;

/// An open /dev/kmsg.
pub struct Kmsg {
    inode: Arc<Inode>,
    flags: AtomicU32,
    cursor: spin::Mutex<Cursor>,
    /// F_SETOWN/F_SETSIG state (no O_ASYNC: Linux's kmsg has no fasync).
    owner: vfs::FileOwner,
}

/// open(2) of /dev/kmsg.
pub fn open(inode: Arc<Inode>, flags: u32) -> Result<Arc<dyn File>> {
    if flags & vfs::O_ACCMODE != vfs::O_WRONLY {
        let tid = crate::sched::current().id.load(Ordering::Relaxed) as u32;
        let pid = crate::proc::table().tgid(tid).unwrap_or(tid);
        let ok = crate::proc::table()
            .with_process(pid, |p| p.creds().has_cap(CAP_SYSLOG) || p.creds().has_cap(CAP_SYS_ADMIN))
            .unwrap_or(false);
        if !ok {
            return Err(Errno::EPERM);
        }
    }
    let cursor = with_log(|r| r.first());
    Ok(Arc::new(Kmsg {
        inode,
        flags: AtomicU32::new(flags),
        cursor: spin::Mutex::new(cursor),
        owner: vfs::FileOwner::new(),
    }))
}

/// One log line (`<prio>[sssss.uuuuuu] text\n`) as /dev/kmsg's record.
fn format_record(seq: u64, line: &[u8], out: &mut alloc::vec::Vec<u8>) {
    use core::fmt::Write;
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let (prio, rest) = match line.strip_prefix(b"<").and_then(|l| {
        let end = l.iter().position(|&b| b == b'>')?;
        let p: u32 = core::str::from_utf8(&l[..end]).ok()?.parse().ok()?;
        Some((p, &l[end + 1..]))
    }) {
        Some(x) => x,
        None => (6, line),
    };
    // "[sssss.uuuuuu] " → microseconds
    let (usec, text) = match rest.strip_prefix(b"[").and_then(|r| {
        let end = r.iter().position(|&b| b == b']')?;
        let stamp = core::str::from_utf8(&r[..end]).ok()?.trim();
        let (s, u) = stamp.split_once('.')?;
        let us = s.parse::<u64>().ok()?.checked_mul(1_000_000)?.checked_add(u.parse::<u64>().ok()?)?;
        let text = &r[end + 1..];
        Some((us, text.strip_prefix(b" ").unwrap_or(text)))
    }) {
        Some(x) => x,
        None => (0, rest),
    };
    let mut head = alloc::string::String::new();
    let _ = write!(head, "{prio},{seq},{usec},-;");
    out.extend_from_slice(head.as_bytes());
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in text {
        if !(b' '..0x7f).contains(&b) || b == b'\\' {
            out.extend_from_slice(&[b'\\', b'x', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        } else {
            out.push(b);
        }
    }
    out.push(b'\n');
}

impl Kmsg {
    fn nonblock(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & vfs::O_NONBLOCK != 0
    }

    /// The next record: `Ok(Some)` a formatted record, `Ok(None)` none yet.
    fn next(&self) -> Result<Option<(u64, alloc::vec::Vec<u8>)>> {
        let mut line = [0u8; LINE_MAX];
        let (seq, r) = {
            let mut c = self.cursor.lock();
            let seq = c.seq;
            (seq, with_log(|ring| ring.record(&mut c, &mut line)))
        };
        match r {
            Record::Gone => Err(Errno::EPIPE),
            Record::Empty => Ok(None),
            Record::Line(n) => {
                let mut out = alloc::vec::Vec::new();
                out.try_reserve(n * 4 + 48).map_err(|_| Errno::ENOMEM)?;
                format_record(seq, &line[..n], &mut out);
                Ok(Some((seq, out)))
            }
        }
    }
}

impl File for Kmsg {
    fn owner(&self) -> &vfs::FileOwner {
        &self.owner
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        loop {
            if let Some((_, rec)) = self.next()? {
                if rec.len() > buf.len() {
                    return Err(Errno::EINVAL);
                }
                buf[..rec.len()].copy_from_slice(&rec);
                return Ok(rec.len());
            }
            if self.nonblock() {
                return Err(Errno::EAGAIN);
            }
            // no queue tells of new lines: look again every 100 ms
            let tid = crate::sched::current().id.load(Ordering::Relaxed) as u32;
            let deadline = arch_x86_64::time::since_boot_ns() + 100_000_000;
            let pending = || {
                let c = *self.cursor.lock();
                with_log(|r| r.end().seq != c.seq)
            };
            match crate::proc::sleep_interruptible(tid, pending, Some(deadline)) {
                Ok(()) | Err(Errno::ETIMEDOUT) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn write(&self, data: &[u8]) -> Result<usize> {
        if data.len() > LOG_LINE_MAX {
            return Err(Errno::EINVAL);
        }
        let (mut level, mut facility, mut text) = (4u32, 1u32, data);
        // devkmsg_write: `<` then simple_strtoul's digits (none is 0; the
        // value cut to 32 bits) then `>`
        if let Some(rest) = data.strip_prefix(b"<")
            && let Some(end) = rest.iter().position(|&b| !b.is_ascii_digit())
            && rest[end] == b'>'
        {
            let u =
                rest[..end].iter().fold(0u64, |v, &d| v.wrapping_mul(10).wrapping_add(u64::from(d - b'0')))
                    as u32;
            level = u & 7;
            if u >> 3 != 0 {
                facility = u >> 3;
            }
            text = &rest[end + 1..];
        }
        let text = text.strip_suffix(b"\n").unwrap_or(text);
        arch_x86_64::logger::log_user((facility << 3) | level, text);
        Ok(data.len())
    }

    fn unread(&self, _data: &[u8]) {}

    fn lseek(&self, offset: i64, whence: u32) -> Result<u64> {
        if offset != 0 {
            return Err(Errno::ESPIPE);
        }
        let to = match whence {
            vfs::SEEK_SET => with_log(|r| r.first()),
            3 => with_log(|r| r.after_clear()),
            vfs::SEEK_END => with_log(|r| r.end()),
            _ => return Err(Errno::EINVAL),
        };
        *self.cursor.lock() = to;
        Ok(0)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.inode.stat())
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, flags: u32) {
        vfs::set_status_bits(&self.flags, flags);
    }

    fn inode(&self) -> Option<&Arc<Inode>> {
        Some(&self.inode)
    }

    fn poll(&self) -> u32 {
        // devkmsg_poll: readable while a record is there; an overwritten
        // next record adds EPOLLERR | EPOLLPRI
        let c = *self.cursor.lock();
        let (first, end) = with_log(|r| (r.first(), r.end()));
        if c.seq == end.seq {
            return 0;
        }
        let mut ev = vfs::POLLIN | vfs::POLLRDNORM;
        if c.seq < first.seq {
            ev |= vfs::POLLERR | 0x002; // POLLPRI
        }
        ev
    }
}
