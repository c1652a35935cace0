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
use linux_abi::{Errno, Result};

const POLLNVAL: u32 = 0x20;
const POLLERR: u32 = 0x08;
const POLLHUP: u32 = 0x10;

fn ready(t: &UThread, fd: i32, events: u32) -> u32 {
    if fd < 0 {
        return 0;
    }
    match t.file(fd as u64) {
        Ok(f) => f.poll() & (events | POLLERR | POLLHUP),
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
        let now = arch_x86_64::time::since_boot_ns();
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
        if let Some(q) = t.file(fd as u64).ok().and_then(|f| crate::sched::queue_of(&*f))
            && !out.iter().any(|o| Arc::ptr_eq(o, &q))
        {
            out.push(q);
        }
    }
    out
}

pub(super) fn timespec_deadline(t: &UThread, addr: u64) -> Result<Option<u64>> {
    if addr == 0 {
        return Ok(None);
    }
    Ok(Some(arch_x86_64::time::since_boot_ns().saturating_add(t.read_timespec(addr)?)))
}

fn do_poll(t: &mut UThread, fds: u64, nfds: u64, deadline: Option<u64>) -> SysResult {
    if nfds > t.nofile().max(1024) {
        return Err(Errno::EINVAL);
    }
    let raw = t.read_bytes(fds, nfds as usize * 8)?;
    let entries: Vec<(i32, u32)> = raw
        .chunks_exact(8)
        .map(|c| (i32::from_le_bytes([c[0], c[1], c[2], c[3]]), u32::from(u16::from_le_bytes([c[4], c[5]]))))
        .collect();
    let probe = || entries.iter().any(|&(fd, ev)| ready(t, fd, ev) != 0);
    let queues = || queues_of(t, entries.iter().map(|&(fd, _)| fd));
    let found = wait(t, deadline, queues, probe, || {
        let revents: Vec<u32> = entries.iter().map(|&(fd, ev)| ready(t, fd, ev)).collect();
        revents.iter().any(|&r| r != 0).then_some(revents)
    })?;
    let revents = found.unwrap_or_else(|| alloc::vec![0; entries.len()]);
    let mut out = raw;
    for (i, r) in revents.iter().enumerate() {
        out[i * 8 + 6..i * 8 + 8].copy_from_slice(&(*r as u16).to_le_bytes());
    }
    t.write_bytes(fds, &out)?;
    Ok(revents.iter().filter(|&&r| r != 0).count() as isize)
}

pub fn poll(t: &mut UThread, fds: u64, nfds: u64, timeout_ms: u64) -> SysResult {
    let ms = timeout_ms as i32;
    let deadline =
        (ms >= 0).then(|| arch_x86_64::time::since_boot_ns().saturating_add(ms as u64 * 1_000_000));
    do_poll(t, fds, nfds, deadline)
}

/// The temporary signal mask of ppoll/pselect6 (restored after delivery).
pub(super) fn temp_mask(t: &UThread, mask: u64, size: u64) -> Result<()> {
    if mask == 0 {
        return Ok(());
    }
    signal::check_sigset_size(size as usize)?;
    let m = signal::SigSet::from_bits(t.read_u64(mask)?);
    crate::proc::table().with_thread(t.tid, |th| th.signals.set_temporary_mask(m));
    Ok(())
}

pub(super) fn restore_mask(t: &UThread) {
    crate::proc::table().with_thread(t.tid, |th| th.signals.restore_saved_mask());
}

pub fn ppoll(t: &mut UThread, fds: u64, nfds: u64, tsp: u64, mask: u64, size: u64) -> SysResult {
    let deadline = timespec_deadline(t, tsp)?;
    temp_mask(t, mask, size)?;
    let r = do_poll(t, fds, nfds, deadline);
    if r != Err(Errno::ERESTARTNOHAND) {
        restore_mask(t);
    }
    r
}

fn read_set(t: &UThread, addr: u64, nfds: usize) -> Result<Vec<u8>> {
    if addr == 0 {
        return Ok(alloc::vec![0; nfds.div_ceil(64) * 8]);
    }
    t.read_bytes(addr, nfds.div_ceil(64) * 8)
}

fn do_select(t: &mut UThread, nfds: u64, r: u64, w: u64, e: u64, deadline: Option<u64>) -> SysResult {
    let n = nfds as i32;
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (n as usize).min(t.nofile() as usize);
    let (rs, ws, es) = (read_set(t, r, n)?, read_set(t, w, n)?, read_set(t, e, n)?);
    let bit = |s: &[u8], i: usize| s[i / 8] & (1 << (i % 8)) != 0;
    for i in 0..n {
        if (bit(&rs, i) || bit(&ws, i) || bit(&es, i)) && t.file(i as u64).is_err() {
            return Err(Errno::EBADF);
        }
    }
    let scan = || {
        let mut out = (alloc::vec![0u8; rs.len()], alloc::vec![0u8; ws.len()], alloc::vec![0u8; es.len()]);
        let mut count = 0;
        for i in 0..n {
            if bit(&rs, i) && ready(t, i as i32, vfs::POLLIN | vfs::POLLRDNORM) & !POLLERR != 0 {
                out.0[i / 8] |= 1 << (i % 8);
                count += 1;
            }
            if bit(&ws, i) && ready(t, i as i32, vfs::POLLOUT | vfs::POLLWRNORM) != 0 {
                out.1[i / 8] |= 1 << (i % 8);
                count += 1;
            }
        }
        (count > 0).then_some((out, count))
    };
    let queues = || queues_of(t, (0..n).filter(|&i| bit(&rs, i) || bit(&ws, i)).map(|i| i as i32));
    let found = wait(t, deadline, queues, || scan().is_some(), scan)?;
    let ((ro, wo, eo), count) = found.unwrap_or_else(|| {
        ((alloc::vec![0; rs.len()], alloc::vec![0; ws.len()], alloc::vec![0; es.len()]), 0)
    });
    for (addr, set) in [(r, ro), (w, wo), (e, eo)] {
        if addr != 0 {
            t.write_bytes(addr, &set)?;
        }
    }
    Ok(count as isize)
}

pub fn select(t: &mut UThread, nfds: u64, r: u64, w: u64, e: u64, tv: u64) -> SysResult {
    let deadline = if tv == 0 {
        None
    } else {
        let b = t.read_bytes(tv, 16)?;
        let sec = i64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let usec = i64::from_le_bytes(b[8..].try_into().map_err(|_| Errno::EFAULT)?);
        if sec < 0 || usec < 0 {
            return Err(Errno::EINVAL);
        }
        Some(
            arch_x86_64::time::since_boot_ns()
                .saturating_add((sec as u64).saturating_mul(1_000_000_000))
                .saturating_add((usec as u64).saturating_mul(1000)),
        )
    };
    do_select(t, nfds, r, w, e, deadline)
}

pub fn pselect6(t: &mut UThread, nfds: u64, r: u64, w: u64, e: u64, tsp: u64, sig: u64) -> SysResult {
    let deadline = timespec_deadline(t, tsp)?;
    // the sixth argument points at { const sigset_t *ss; size_t ss_len; }
    let (mask, size) = if sig != 0 {
        let b = t.read_bytes(sig, 16)?;
        (
            u64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?),
            u64::from_le_bytes(b[8..].try_into().map_err(|_| Errno::EFAULT)?),
        )
    } else {
        (0, 0)
    };
    temp_mask(t, mask, size)?;
    let res = do_select(t, nfds, r, w, e, deadline);
    if res != Err(Errno::ERESTARTNOHAND) {
        restore_mask(t);
    }
    res
}
