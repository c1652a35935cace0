//! futex(2): WAIT/WAKE (with bitsets), REQUEUE/CMP_REQUEUE and timeouts.
//! Waiters are keyed by address space and address (private futexes); a
//! shared futex on a MAP_SHARED page is keyed by its physical frame.

use crate::proc::{Kernel, sleep_interruptible};
use crate::syscall::SysResult;
use crate::uthread::UThread;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use linux_abi::Errno;
use process::seams::SharedVm;

/// A waiter: woken when its flag is set (then its task is made runnable:
/// no one else is disturbed).
struct Waiter {
    bitset: u32,
    woken: Arc<AtomicBool>,
    task: Arc<crate::sched::Task>,
}

type Key = (usize, u64);

static QUEUES: crate::lockorder::Ranked<BTreeMap<Key, Vec<Waiter>>> =
    crate::lockorder::Ranked::new(crate::lockorder::LockClass::Futex, "futex::QUEUES", BTreeMap::new());

/// Private futexes are keyed by address space and address; a futex in a
/// MAP_SHARED mapping by the physical address of its word, so that every
/// process sharing the page meets on it (the word is already faulted in by
/// the value check or the caller's use).
fn key(vm: &SharedVm<Kernel>, addr: u64) -> Key {
    use vm::PageTable;
    let g = vm.lock();
    if g.mapping_at(addr as usize).is_some_and(|m| m.shared)
        && let Some((frame, _)) = g.page_table().query((addr & !0xfff) as usize)
    {
        return (0, frame.phys_addr() + (addr & 0xfff));
    }
    (Arc::as_ptr(vm) as *const () as usize, addr)
}

/// Wakes up to `count` waiters on `addr` whose bitset meets `bitset`.
pub fn wake(vm: &SharedVm<Kernel>, addr: u64, count: u32, bitset: u32) -> usize {
    let k = key(vm, addr);
    let mut woken = Vec::new();
    let mut q = QUEUES.lock();
    if let Some(list) = q.get_mut(&k) {
        list.retain(|w| {
            if (woken.len() as u32) < count && w.bitset & bitset != 0 {
                w.woken.store(true, Ordering::SeqCst);
                woken.push(w.task.clone());
                false
            } else {
                true
            }
        });
        if list.is_empty() {
            q.remove(&k);
        }
    }
    drop(q);
    for t in &woken {
        crate::sched::wake(t);
    }
    woken.len()
}

/// Takes a waiter that stopped waiting (timeout, signal) off the queue
/// that holds it now. That is not always the queue of its own address: a
/// REQUEUE may have moved it, and the key of a shared futex changes when
/// its page is unmapped. A waiter left behind would later take a wake-up
/// meant for a live one. The search visits every queue, but only on this
/// path, never on a wake.
fn forget(woken: &Arc<AtomicBool>) {
    let mut q = QUEUES.lock();
    let mut emptied = None;
    for (k, list) in q.iter_mut() {
        if let Some(i) = list.iter().position(|x| Arc::ptr_eq(&x.woken, woken)) {
            list.remove(i);
            if list.is_empty() {
                emptied = Some(*k);
            }
            break;
        }
    }
    if let Some(k) = emptied {
        q.remove(&k);
    }
}

/// The number of waiters a WAKE or WAKE_OP count (an `int`) lets wake:
/// Linux wakes a waiter before it compares with the count, so a count of
/// zero or below still wakes one.
fn wake_count(val: u64) -> u32 {
    (val as i32).max(1) as u32
}

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

fn read_u32(t: &UThread, addr: u64) -> Result<u32, Errno> {
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let b = t.read_bytes(addr, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// get_futex_key()'s checks on a futex word's address: `EINVAL` if it is
/// not 4-byte aligned, `EFAULT` if `access_ok` refuses it, also for a wake
/// that would touch no memory. Linux 6.1's `access_ok` of a small constant
/// size looks only at the sign bit (`valid_user_address`; the
/// non-canonical hole faults on use), so a kernel-half address is `EFAULT`
/// and a private wake on an unmapped lower-half one is not.
fn futex_key_ok(addr: u64) -> Result<(), Errno> {
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    if (addr as i64) < 0 {
        return Err(Errno::EFAULT);
    }
    Ok(())
}

/// futex(2).
pub fn sys_futex(
    t: &mut UThread,
    uaddr: u64,
    op: u64,
    val: u64,
    timeout: u64,
    uaddr2: u64,
    val3: u64,
) -> SysResult {
    let cmd = op & !(FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME);
    // sys_futex(): a waiting op's timeout is copied in (EFAULT) and checked
    // (EINVAL) before anything else, the word's alignment included
    let timeout_ns = if timeout != 0 && (cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET) {
        Some(t.read_timespec(timeout)?)
    } else {
        None
    };
    // do_futex(): FUTEX_CLOCK_REALTIME only goes with the bitset wait
    if op & FUTEX_CLOCK_REALTIME != 0 && cmd != FUTEX_WAIT_BITSET {
        return Err(Errno::ENOSYS);
    }
    // get_futex_key(): the word must be 4-byte aligned, then in the user
    // half (access_ok), for every op, before any other check
    futex_key_ok(uaddr)?;
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT { u32::MAX } else { val3 as u32 };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            // FUTEX_WAIT takes a relative timeout; WAIT_BITSET an absolute one
            let deadline = timeout_ns.map(|ns| {
                if cmd == FUTEX_WAIT {
                    arch_x86_64::time::since_boot_ns().saturating_add(ns)
                } else if op & FUTEX_CLOCK_REALTIME != 0 {
                    ns.saturating_sub(crate::time::realtime_offset_ns())
                } else {
                    ns
                }
            });
            let woken = Arc::new(AtomicBool::new(false));
            {
                // the value check and the enqueue happen with no other
                // thread running in between (the kernel is not preemptible)
                if read_u32(t, uaddr)? != val as u32 {
                    return Err(Errno::EAGAIN);
                }
                QUEUES.lock().entry(key(&t.vm, uaddr)).or_default().push(Waiter {
                    bitset,
                    woken: woken.clone(),
                    task: crate::sched::current(),
                });
            }
            let w = woken.clone();
            let r = sleep_interruptible(t.tid, move || w.load(Ordering::SeqCst), deadline);
            if r.is_err() && !woken.load(Ordering::SeqCst) {
                forget(&woken);
            }
            match r {
                Ok(()) => Ok(0),
                Err(Errno::ETIMEDOUT) => Err(Errno::ETIMEDOUT),
                Err(_) => Err(Errno::EINTR),
            }
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bitset = if cmd == FUTEX_WAKE { u32::MAX } else { val3 as u32 };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            Ok(wake(&t.vm, uaddr, wake_count(val), bitset) as isize)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            // futex_requeue(): negative counts are EINVAL, before the compare
            if (val as i32) < 0 || (timeout as i32) < 0 {
                return Err(Errno::EINVAL);
            }
            // both keys are taken before the compare
            futex_key_ok(uaddr2)?;
            if cmd == FUTEX_CMP_REQUEUE && read_u32(t, uaddr)? != val3 as u32 {
                return Err(Errno::EAGAIN);
            }
            let woke = wake(&t.vm, uaddr, val as u32, u32::MAX);
            let limit = timeout as u32; // val2 travels in the timeout slot
            let (from, to) = (key(&t.vm, uaddr), key(&t.vm, uaddr2));
            let mut q = QUEUES.lock();
            let mut moved = Vec::new();
            if let Some(list) = q.get_mut(&from) {
                let n = list.len().min(limit as usize);
                moved.extend(list.drain(..n));
                if list.is_empty() {
                    q.remove(&from);
                }
            }
            let n = moved.len();
            if n > 0 {
                q.entry(to).or_default().extend(moved);
            }
            Ok((woke + n) as isize)
        }
        FUTEX_WAKE_OP => {
            futex_key_ok(uaddr2)?;
            // the operation is on uaddr2's word; nothing else runs meanwhile
            let old = read_u32(t, uaddr2)?;
            let enc = val3 as u32;
            let sext = |v: u32| ((v << 20) as i32) >> 20;
            let mut oparg = sext((enc >> 12) & 0xfff);
            if (enc >> 28) & 8 != 0 {
                oparg = 1i32.checked_shl(oparg as u32).unwrap_or(0);
            }
            let cmparg = sext(enc & 0xfff);
            let new = match (enc >> 28) & 7 {
                0 => oparg as u32,
                1 => old.wrapping_add(oparg as u32),
                2 => old | oparg as u32,
                3 => old & !(oparg as u32),
                4 => old ^ oparg as u32,
                _ => return Err(Errno::ENOSYS),
            };
            let cond = match (enc >> 24) & 15 {
                0 => old as i32 == cmparg,
                1 => old as i32 != cmparg,
                2 => (old as i32) < cmparg,
                3 => old as i32 <= cmparg,
                4 => old as i32 > cmparg,
                5 => old as i32 >= cmparg,
                _ => return Err(Errno::ENOSYS),
            };
            t.write_u32(uaddr2, new)?;
            let mut n = wake(&t.vm, uaddr, wake_count(val), u32::MAX);
            if cond {
                n += wake(&t.vm, uaddr2, wake_count(timeout), u32::MAX);
            }
            Ok(n as isize)
        }
        _ => {
            log::info!("pid {}: futex op {op:#x} unsupported: ENOSYS", t.pid);
            Err(Errno::ENOSYS)
        }
    }
}

/// The most futexes one futex_waitv(2) waits on (FUTEX_WAITV_MAX).
const FUTEX_WAITV_MAX: u64 = 128;
/// futex2 flags a waiter may carry: the size (only FUTEX2_SIZE_U32 = 2
/// is supported) and FUTEX2_PRIVATE.
const FUTEX2_SIZE_MASK: u32 = 3;
const FUTEX2_SIZE_U32: u32 = 2;
const FUTEX2_PRIVATE: u32 = 128;

/// futex_waitv(2): waits on up to 128 32-bit futexes at once until one is
/// woken (its index is returned), with Linux's order of checks: `flags`
/// (none exist) and the count, the clock of an absolute `timeout`
/// (CLOCK_MONOTONIC or CLOCK_REALTIME) and its value, then each `struct
/// futex_waitv` (flags, reserved word, alignment), then the values
/// (`EAGAIN` if one differs in its low 32 bits). A signal ends the wait
/// with a restart.
pub fn sys_futex_waitv(
    t: &mut UThread,
    waiters: u64,
    nr: u64,
    flags: u64,
    timeout: u64,
    clockid: u64,
) -> SysResult {
    let nr = u64::from(nr as u32);
    if flags as u32 != 0 {
        return Err(Errno::EINVAL);
    }
    if nr == 0 || nr > FUTEX_WAITV_MAX || waiters == 0 {
        return Err(Errno::EINVAL);
    }
    let deadline = if timeout != 0 {
        let clock = clockid as i32;
        if clock != 0 && clock != 1 {
            return Err(Errno::EINVAL);
        }
        let ns = t.read_timespec(timeout)?;
        Some(if clock == 0 { ns.saturating_sub(crate::time::realtime_offset_ns()) } else { ns })
    } else {
        None
    };
    let raw = t.read_bytes(waiters, 24 * nr as usize)?;
    let mut list = Vec::new();
    list.try_reserve(nr as usize).map_err(|_| Errno::ENOMEM)?;
    for w in raw.chunks_exact(24) {
        let val = u64::from_le_bytes(w[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let uaddr = u64::from_le_bytes(w[8..16].try_into().map_err(|_| Errno::EFAULT)?);
        let f = u32::from_le_bytes([w[16], w[17], w[18], w[19]]);
        let reserved = u32::from_le_bytes([w[20], w[21], w[22], w[23]]);
        if f & !(FUTEX2_SIZE_MASK | FUTEX2_PRIVATE) != 0
            || reserved != 0
            || f & FUTEX2_SIZE_MASK != FUTEX2_SIZE_U32
        {
            return Err(Errno::EINVAL);
        }
        list.push((uaddr, val));
    }
    // get_futex_key() for every word, then the values
    if list.iter().any(|&(a, _)| !a.is_multiple_of(4)) {
        return Err(Errno::EINVAL);
    }
    for &(a, v) in &list {
        // the value is taken as a u32 (futex_wait_multiple_setup)
        if read_u32(t, a)? != v as u32 {
            return Err(Errno::EAGAIN);
        }
    }
    // nothing runs between the checks and the enqueue (not preemptible)
    let me = crate::sched::current();
    let flags: Vec<Arc<AtomicBool>> = list.iter().map(|_| Arc::new(AtomicBool::new(false))).collect();
    {
        let mut q = QUEUES.lock();
        for (&(a, _), w) in list.iter().zip(&flags) {
            q.entry(key(&t.vm, a)).or_default().push(Waiter {
                bitset: u32::MAX,
                woken: w.clone(),
                task: me.clone(),
            });
        }
    }
    drop(me);
    let any = {
        let flags = flags.clone();
        move || flags.iter().any(|w| w.load(Ordering::SeqCst))
    };
    let r = sleep_interruptible(t.tid, any, deadline);
    let mut woken = None;
    for (i, w) in flags.iter().enumerate() {
        if w.load(Ordering::SeqCst) {
            woken = Some(i);
        } else {
            forget(w);
        }
    }
    match (woken, r) {
        (Some(i), _) => Ok(i as isize),
        (None, Err(Errno::ETIMEDOUT)) => Err(Errno::ETIMEDOUT),
        (None, _) => Err(Errno::ERESTARTSYS),
    }
}
