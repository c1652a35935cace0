//! poll(2), ppoll(2), select(2), pselect6(2): readiness from each file's
//! `File::poll`. A waiter registers on the wait queue of every file it
//! watches (`File::wait_queue`: a pipe's, the console's, an epoll
//! instance's; files without one are always ready), looks, and sleeps
//! until one of those queues is woken, a signal or the deadline; then it
//! leaves every queue and looks again (`sched::wait_any`). Nothing else
//! wakes it: traffic on other pipes, other terminals' readers, ... epoll
//! (`epoll.rs`) waits the same way on its instance's own queue.

use super::SysResult;
use crate::sched::WaitQueue;
use crate::uthread::UThread;
use alloc::sync::Arc;
use alloc::vec::Vec;
use linux_abi::abi::{Pollfd, Timespec, Timeval};
use linux_abi::args::{Fd, UserPtr, UserSlice};
use linux_abi::{Errno, Result};

const POLLNVAL: u32 = 0x20;
const POLLERR: u32 = 0x08;
const POLLHUP: u32 = 0x10;
const POLLPRI: u32 = 0x02;
const POLLRDBAND: u32 = 0x80;
const POLLWRBAND: u32 = 0x200;
/// What makes an fd ready in select's three sets (fs/select.c): a read
/// set's fd is ready on an error or a hang-up too (a pipe's write end
/// whose reader is gone reports `POLLERR`: asyncio watches it so), a write
/// set's on an error but not a hang-up, an except set's on `POLLPRI`.
const POLLIN_SET: u32 = vfs::POLLIN | vfs::POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR;
const POLLOUT_SET: u32 = vfs::POLLOUT | vfs::POLLWRNORM | POLLWRBAND | POLLERR;
const POLLEX_SET: u32 = POLLPRI;

/// What poll(2) reports for `fd`; `peek`: the sleep's check, without the
/// side effects of a poll ([`vfs::File::poll_peek`]).
fn ready(t: &UThread, fd: i32, events: u32, peek: bool) -> u32 {
    if fd < 0 {
        return 0;
    }
    match t.fd(Fd(fd as u32)) {
        Ok(f) => (if peek { f.poll_peek() } else { f.poll() }) & (events | POLLERR | POLLHUP),
        Err(_) => POLLNVAL,
    }
}

/// Waits until `check()` finds something, the deadline passes or a signal
/// arrives (`ERESTARTNOHAND`). `probe()` is a cheap check without side
/// effects: whether `check()` would find something now (the sleep's
/// wake-up condition). `queues()` gives the wait queues whose wake-ups may
/// change that answer; it is asked again before each sleep, since another
/// thread may have closed or replaced an fd meanwhile.
pub(super) fn wait<R>(
    t: &UThread,
    deadline: Option<u64>,
    queues: impl Fn() -> Vec<Arc<WaitQueue>>,
    probe: impl Fn() -> bool,
    mut check: impl FnMut() -> Option<R>,
) -> Result<Option<R>> {
    loop {
        if let Some(r) = check() {
            return Ok(Some(r));
        }
        let now = crate::sched::now_ns();
        if deadline.is_some_and(|d| now >= d) {
            return Ok(None);
        }
        let qs = queues();
        let refs: Vec<&WaitQueue> = qs.iter().map(|q| &**q).collect();
        if let Err(Errno::ERESTARTSYS) = crate::proc::sleep_on(t.tid, &refs, &probe, deadline) {
            return Err(Errno::ERESTARTNOHAND);
        }
    }
}

/// The wait queues of the files open at `fds` (bad fds and files without a
/// queue add none), each once.
fn queues_of(t: &UThread, fds: impl Iterator<Item = i32>) -> Vec<Arc<WaitQueue>> {
    let mut out: Vec<Arc<WaitQueue>> = Vec::new();
    for fd in fds.filter(|&fd| fd >= 0) {
        if let Some(q) = t.fd(Fd(fd as u32)).ok().and_then(|f| crate::sched::queue_of(&*f))
            && !out.iter().any(|o| Arc::ptr_eq(o, &q))
        {
            out.push(q);
        }
    }
    out
}

pub(super) fn timespec_deadline(t: &UThread, ts: UserPtr<Timespec>) -> Result<Option<u64>> {
    let Some(ts) = ts.non_null() else { return Ok(None) };
    Ok(Some(crate::sched::now_ns().saturating_add(t.read(ts)?.to_ns()?)))
}

fn do_poll(t: &mut UThread, fds: UserPtr<Pollfd>, nfds: u32, deadline: Option<u64>) -> SysResult {
    if u64::from(nfds) > t.nofile().max(1024) {
        return Err(Errno::EINVAL);
    }
    let raw = t.read_slice(UserSlice::new(fds.addr(), nfds as usize * 8))?;
    let entries: Vec<(i32, u32)> = raw
        .chunks_exact(8)
        .map(|c| {
            let p = <Pollfd as linux_abi::pod::Pod>::from_bytes(c);
            (p.fd, u32::from(p.events as u16))
        })
        .collect();
    let probe = || entries.iter().any(|&(fd, ev)| ready(t, fd, ev, true) != 0);
    let queues = || queues_of(t, entries.iter().map(|&(fd, _)| fd));
    let found = wait(t, deadline, queues, probe, || {
        let revents: Vec<u32> = entries.iter().map(|&(fd, ev)| ready(t, fd, ev, false)).collect();
        revents.iter().any(|&r| r != 0).then_some(revents)
    })?;
    let revents = found.unwrap_or_else(|| alloc::vec![0; entries.len()]);
    let mut out = raw;
    for (i, r) in revents.iter().enumerate() {
        out[i * 8 + 6..i * 8 + 8].copy_from_slice(&(*r as u16).to_le_bytes());
    }
    t.write_slice(fds.addr(), &out)?;
    Ok(revents.iter().filter(|&&r| r != 0).count() as isize)
}

/// poll(2): `unsigned int nfds`, `int timeout` (negative: none).
pub fn poll(t: &mut UThread, fds: UserPtr<Pollfd>, nfds: u32, ms: i32) -> SysResult {
    let deadline = (ms >= 0).then(|| crate::sched::now_ns().saturating_add(ms as u64 * 1_000_000));
    do_poll(t, fds, nfds, deadline)
}

/// The temporary signal mask of ppoll/pselect6 (restored after delivery).
pub(super) fn temp_mask(t: &UThread, mask: UserPtr<u64>, size: usize) -> Result<()> {
    let Some(mask) = mask.non_null() else { return Ok(()) };
    signal::check_sigset_size(size)?;
    let m = signal::SigSet::from_bits(t.read(mask)?);
    crate::proc::table().with_thread(t.tid, |th| th.signals_mut().set_temporary_mask(m));
    Ok(())
}

pub(super) fn restore_mask(t: &UThread) {
    crate::proc::table().with_thread(t.tid, |th| th.signals_mut().restore_saved_mask());
}

/// ppoll(2).
pub fn ppoll(
    t: &mut UThread,
    fds: UserPtr<Pollfd>,
    nfds: u32,
    tsp: UserPtr<Timespec>,
    mask: UserPtr<u64>,
    size: usize,
) -> SysResult {
    let deadline = timespec_deadline(t, tsp)?;
    temp_mask(t, mask, size)?;
    let r = do_poll(t, fds, nfds, deadline);
    if r != Err(Errno::ERESTARTNOHAND) {
        restore_mask(t);
    }
    r
}

/// An `fd_set *` (its bits are read as bytes: `nfds` rounded up to longs).
pub type FdSet = UserPtr<u64>;

fn read_set(t: &UThread, set: FdSet, nfds: usize) -> Result<Vec<u8>> {
    if set.is_null() {
        return Ok(alloc::vec![0; nfds.div_ceil(64) * 8]);
    }
    t.read_slice(UserSlice::new(set.addr(), nfds.div_ceil(64) * 8))
}

fn do_select(t: &mut UThread, n: i32, [r, w, e]: [FdSet; 3], deadline: Option<u64>) -> SysResult {
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (n as usize).min(t.nofile() as usize);
    let (rs, ws, es) = (read_set(t, r, n)?, read_set(t, w, n)?, read_set(t, e, n)?);
    let bit = |s: &[u8], i: usize| s[i / 8] & (1 << (i % 8)) != 0;
    for i in 0..n {
        if (bit(&rs, i) || bit(&ws, i) || bit(&es, i)) && t.fd(Fd(i as u32)).is_err() {
            return Err(Errno::EBADF);
        }
    }
    let scan = |peek: bool| {
        let mut out = (alloc::vec![0u8; rs.len()], alloc::vec![0u8; ws.len()], alloc::vec![0u8; es.len()]);
        let mut count = 0;
        for i in 0..n {
            let (r, w, e) = (bit(&rs, i), bit(&ws, i), bit(&es, i));
            if !(r || w || e) {
                continue;
            }
            // the file's whole mask; an fd closed meanwhile is not ready
            let Ok(f) = t.fd(Fd(i as u32)) else { continue };
            let mask = if peek { f.poll_peek() } else { f.poll() };
            for (want, set, out) in
                [(r, POLLIN_SET, &mut out.0), (w, POLLOUT_SET, &mut out.1), (e, POLLEX_SET, &mut out.2)]
            {
                if want && mask & set != 0 {
                    out[i / 8] |= 1 << (i % 8);
                    count += 1;
                }
            }
        }
        (count > 0).then_some((out, count))
    };
    let queues =
        || queues_of(t, (0..n).filter(|&i| bit(&rs, i) || bit(&ws, i) || bit(&es, i)).map(|i| i as i32));
    let found = wait(t, deadline, queues, || scan(true).is_some(), || scan(false))?;
    let ((ro, wo, eo), count) = found.unwrap_or_else(|| {
        ((alloc::vec![0; rs.len()], alloc::vec![0; ws.len()], alloc::vec![0; es.len()]), 0)
    });
    for (set, bits) in [(r, ro), (w, wo), (e, eo)] {
        if !set.is_null() {
            t.write_slice(set.addr(), &bits)?;
        }
    }
    Ok(count as isize)
}

/// select(2): `int n`; the timeval's microseconds may exceed a second.
pub fn select(t: &mut UThread, n: i32, sets: [FdSet; 3], tv: UserPtr<Timeval>) -> SysResult {
    let deadline = if let Some(tv) = tv.non_null() {
        let Timeval { tv_sec: sec, tv_usec: usec } = t.read(tv)?;
        if sec < 0 || usec < 0 {
            return Err(Errno::EINVAL);
        }
        Some(
            crate::sched::now_ns()
                .saturating_add((sec as u64).saturating_mul(1_000_000_000))
                .saturating_add((usec as u64).saturating_mul(1000)),
        )
    } else {
        None
    };
    do_select(t, n, sets, deadline)
}

/// pselect6(2): the sixth argument points at `{ const sigset_t *ss;
/// size_t ss_len; }`.
pub fn pselect6(
    t: &mut UThread,
    n: i32,
    sets: [FdSet; 3],
    tsp: UserPtr<Timespec>,
    sig: UserPtr<[u64; 2]>,
) -> SysResult {
    let deadline = timespec_deadline(t, tsp)?;
    let [mask, size] = match sig.non_null() {
        Some(sig) => t.read(sig)?,
        None => [0, 0],
    };
    temp_mask(t, UserPtr::new(mask), size as usize)?;
    let res = do_select(t, n, sets, deadline);
    if res != Err(Errno::ERESTARTNOHAND) {
        restore_mask(t);
    }
    res
}
