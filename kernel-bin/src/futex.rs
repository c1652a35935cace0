//! futex(2): WAIT/WAKE (with bitsets), REQUEUE/CMP_REQUEUE and timeouts.
//! Waiters are keyed by address space and address (private futexes); a
//! shared futex on a MAP_SHARED page is keyed by its physical frame. The
//! queues, the keys, the count rules and FUTEX_WAKE_OP's decoding are
//! `ipc::futex` (host-tested there); here are the lock, the user memory
//! and the sleeping.
//!
//! # Locks
//! `QUEUES` (a spin lock) is taken alone, with the address space's lock
//! released first (`key`); tasks are woken after it is dropped.

use crate::proc::{Kernel, sleep_interruptible};
use crate::syscall::SysResult;
use crate::uthread::UThread;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use linux_abi::Errno;
use linux_abi::abi::Timespec;
use linux_abi::args::{UserPtr, UserSlice};
use process::seams::SharedVm;

/// A waiter's token: woken when its flag is set (then its task is made
/// runnable: no one else is disturbed).
struct Waiter {
    woken: Arc<AtomicBool>,
    task: Arc<crate::sched::Task>,
}

use ipc::futex::{Key, Queues, WakeOp, wake_count};

static QUEUES: crate::lockorder::Ranked<Queues<Waiter>> =
    crate::lockorder::Ranked::new(crate::lockorder::LockClass::Futex, "futex::QUEUES", Queues::new());

/// Private futexes are keyed by address space and address; a futex in a
/// MAP_SHARED mapping by the physical address of its word, so that every
/// process sharing the page meets on it (the word is already faulted in by
/// the value check or the caller's use).
fn key(vm: &SharedVm<Kernel>, addr: u64) -> Key {
    use vm::PageTable;
    let g = vm.lock();
    let shared = g
        .mapping_at(addr as usize)
        .is_some_and(|m| m.shared)
        .then(|| g.page_table().query((addr & !0xfff) as usize).map(|(frame, _)| frame.phys_addr()))
        .flatten();
    Key::new(Arc::as_ptr(vm) as *const () as usize, addr, shared)
}

/// The bytes at a thread's TLS pointer (FS base) that a FUTEX_WAKE from
/// the thread itself takes for its own thread descriptor (musl's `struct
/// pthread` is there; its `detach_state` is within the first 64 bytes).
const THREAD_DESCRIPTOR_BYTES: u64 = 256;

/// Wakes up to `count` waiters on `addr` whose bitset meets `bitset`.
pub fn wake(vm: &SharedVm<Kernel>, addr: u64, count: u32, bitset: u32) -> usize {
    wake_with(vm, addr, count, bitset, false)
}

/// As [`wake`], from a thread that is leaving (its exit's
/// clear_child_tid and robust-list wake-ups): the waiter may take the
/// waker's CPU ([`crate::sched::wake_sync`]: pthread_join's wake-up).
pub fn wake_from_exit(vm: &SharedVm<Kernel>, addr: u64, count: u32) -> usize {
    wake_with(vm, addr, count, u32::MAX, true)
}

fn wake_with(vm: &SharedVm<Kernel>, addr: u64, count: u32, bitset: u32, sync: bool) -> usize {
    let k = key(vm, addr);
    let mut woken = Vec::new();
    QUEUES.lock().wake(k, count, bitset, |w| {
        w.woken.store(true, Ordering::SeqCst);
        woken.push(w.task);
    });
    for t in &woken {
        if sync {
            crate::sched::wake_sync(t);
        } else {
            crate::sched::wake(t);
        }
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
    // the waiter is dropped (its task reference) after the unlock
    let gone = QUEUES.lock().remove(|w| Arc::ptr_eq(&w.woken, woken));
    drop(gone);
}

const FUTEX_WAIT: i32 = 0;
const FUTEX_WAKE: i32 = 1;
const FUTEX_REQUEUE: i32 = 3;
const FUTEX_CMP_REQUEUE: i32 = 4;
const FUTEX_WAKE_OP: i32 = 5;
const FUTEX_WAIT_BITSET: i32 = 9;
const FUTEX_WAKE_BITSET: i32 = 10;
const FUTEX_PRIVATE: i32 = 128;
const FUTEX_CLOCK_REALTIME: i32 = 256;

fn addr_ok(addr: u64) -> bool {
    addr.is_multiple_of(4)
}

fn read_u32(t: &UThread, addr: u64) -> Result<u32, Errno> {
    if !addr_ok(addr) {
        return Err(Errno::EINVAL);
    }
    t.read(UserPtr::new(addr))
}

use ipc::futex::key_ok as futex_key_ok;

/// futex(2).
///
/// As Linux's prototype: `int op` (its high half ignored), `u32 val` and
/// `val3`; the timeout slot is `val2`, a `u32`, for the requeue and
/// wake-op commands.
pub fn sys_futex(
    t: &mut UThread,
    uaddr: UserPtr<u32>,
    op: i32,
    val: u32,
    utime: UserPtr<Timespec>,
    uaddr2: UserPtr<u32>,
    val3: u32,
) -> SysResult {
    let (uaddr, uaddr2) = (uaddr.addr(), uaddr2.addr());
    let val2 = utime.addr() as u32;
    let cmd = op & !(FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME);
    // sys_futex(): a waiting op's timeout is copied in (EFAULT) and checked
    // (EINVAL) before anything else, the word's alignment included
    let timeout_ns = if !utime.is_null() && (cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET) {
        Some(t.read(utime)?.to_ns()?)
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
            let bitset = if cmd == FUTEX_WAIT { u32::MAX } else { val3 };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            // FUTEX_WAIT takes a relative timeout; WAIT_BITSET an absolute one
            let deadline = timeout_ns.map(|ns| {
                if cmd == FUTEX_WAIT {
                    crate::sched::now_ns().saturating_add(ns)
                } else if op & FUTEX_CLOCK_REALTIME != 0 {
                    ns.saturating_sub(crate::time::realtime_offset_ns())
                } else {
                    // futex_init_timeout(): the time namespace's monotonic clock
                    t.time_off.to_host(process::timens::CLOCK_MONOTONIC, ns)
                }
            });
            let woken = Arc::new(AtomicBool::new(false));
            {
                // Queued first, then the value looked at (Linux's order, with
                // the bucket lock as QUEUES): a waker on another CPU that
                // changed the word before our read finds us queued, one that
                // changes it after our read is a wake-up we wait for.
                if !addr_ok(uaddr) {
                    return Err(Errno::EINVAL);
                }
                let k = key(&t.vm, uaddr);
                QUEUES.lock().enqueue(
                    k,
                    bitset,
                    Waiter { woken: woken.clone(), task: crate::sched::current() },
                )?;
                core::sync::atomic::fence(Ordering::SeqCst);
                let v = read_u32(t, uaddr);
                if v != Ok(val) {
                    forget(&woken);
                    if woken.load(Ordering::SeqCst) {
                        // a wake-up reached us meanwhile: it counted us, so
                        // we return as woken (not to lose it for another)
                        return Ok(0);
                    }
                    return Err(v.err().unwrap_or(Errno::EAGAIN));
                }
            }
            let w = woken.clone();
            let mut r = sleep_interruptible(t.tid, || w.load(Ordering::SeqCst), deadline);
            // io_uring's task work ends the sleep as a signal would: run,
            // then wait on (Linux restarts the call: no EINTR without a
            // signal)
            while r == Err(Errno::ERESTARTSYS) && crate::syscall::io_uring::run_notified(t) {
                r = sleep_interruptible(t.tid, || w.load(Ordering::SeqCst), deadline);
            }
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
            let bitset = if cmd == FUTEX_WAKE { u32::MAX } else { val3 };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            // a wake on the waker's own thread descriptor (the words at
            // its TLS pointer, where musl's pthread_exit wakes its joiner
            // on `detach_state` right before it exits) is a hand-over, as
            // the clear_child_tid wake of glibc's join at exit: the
            // joiner may take the waker's CPU (a wrong guess is settled
            // at the next tick: sched's idle kick)
            let sync = uaddr.wrapping_sub(t.ctx.regs.fs_base) < THREAD_DESCRIPTOR_BYTES;
            Ok(wake_with(&t.vm, uaddr, wake_count(val.into()), bitset, sync) as isize)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            // futex_requeue(): negative counts are EINVAL, before the compare
            // (val2 travels in the timeout slot)
            let (nr_wake, limit) = ipc::futex::requeue_counts(val.into(), val2.into())?;
            // both keys are taken before the compare
            futex_key_ok(uaddr2)?;
            if cmd == FUTEX_CMP_REQUEUE && read_u32(t, uaddr)? != val3 {
                return Err(Errno::EAGAIN);
            }
            let woke = wake(&t.vm, uaddr, nr_wake, u32::MAX);
            let (from, to) = (key(&t.vm, uaddr), key(&t.vm, uaddr2));
            let n = QUEUES.lock().requeue(from, to, limit);
            Ok((woke + n) as isize)
        }
        FUTEX_WAKE_OP => {
            futex_key_ok(uaddr2)?;
            // the operation is on uaddr2's word; nothing else runs meanwhile
            let old = read_u32(t, uaddr2)?;
            // futex_atomic_op_inuser(): an unknown op is ENOSYS before the
            // write, an unknown comparison after it
            let wop = WakeOp::decode(val3)?;
            t.write(UserPtr::new(uaddr2), wop.apply(old))?;
            let cond = wop.test(old)?;
            let mut n = wake(&t.vm, uaddr, wake_count(val.into()), u32::MAX);
            if cond {
                n += wake(&t.vm, uaddr2, wake_count(val2.into()), u32::MAX);
            }
            Ok(n as isize)
        }
        _ => {
            log::info!("pid {}: futex op {op:#x} unsupported: ENOSYS", t.pid);
            Err(Errno::ENOSYS)
        }
    }
}

/// futex_waitv(2): waits on up to 128 32-bit futexes at once until one is
/// woken (its index is returned), with Linux's order of checks: `flags`
/// (none exist) and the count, the clock of an absolute `timeout`
/// (CLOCK_MONOTONIC or CLOCK_REALTIME) and its value, then each `struct
/// futex_waitv` (flags, reserved word, alignment), then the values
/// (`EAGAIN` if one differs in its low 32 bits). A signal ends the wait
/// with a restart.
pub fn sys_futex_waitv(
    t: &mut UThread,
    waiters: UserPtr<u8>,
    nr: u32,
    flags: u32,
    timeout: UserPtr<Timespec>,
    clock: i32,
) -> SysResult {
    let nr = ipc::futex::waitv_args(waiters.addr(), nr.into(), flags.into())?;
    let deadline = if let Some(timeout) = timeout.non_null() {
        if clock != 0 && clock != 1 {
            return Err(Errno::EINVAL);
        }
        let ns = t.read(timeout)?.to_ns()?;
        Some(if clock == 0 { ns.saturating_sub(crate::time::realtime_offset_ns()) } else { ns })
    } else {
        None
    };
    let raw = t.read_slice(UserSlice::new(waiters.addr(), ipc::futex::WAITV_SIZE * nr))?;
    // the entries, then get_futex_key() for every word, then the values
    let list = ipc::futex::parse_waitv(&raw)?;
    for &(a, _) in &list {
        // every word readable before anything is queued
        read_u32(t, a)?;
    }
    let me = crate::sched::current();
    let flags: Vec<Arc<AtomicBool>> = list.iter().map(|_| Arc::new(AtomicBool::new(false))).collect();
    let mut keys: Vec<Key> = Vec::new();
    keys.try_reserve(list.len()).map_err(|_| Errno::ENOMEM)?;
    keys.extend(list.iter().map(|&(a, _)| key(&t.vm, a)));
    {
        let mut q = QUEUES.lock();
        for (k, w) in keys.into_iter().zip(&flags) {
            if let Err(e) = q.enqueue(k, u32::MAX, Waiter { woken: w.clone(), task: me.clone() }) {
                // take back those already queued (after the unlock: forget locks)
                drop(q);
                for w in &flags {
                    forget(w);
                }
                return Err(e);
            }
        }
    }
    drop(me);
    // queued first, then the values (as in FUTEX_WAIT: no wake-up from
    // another CPU falls between the look and the queueing)
    core::sync::atomic::fence(Ordering::SeqCst);
    for &(a, v) in &list {
        // the value is taken as a u32 (futex_wait_multiple_setup)
        let got = read_u32(t, a);
        if got != Ok(v as u32) {
            for w in &flags {
                forget(w);
            }
            if let Some(i) = flags.iter().position(|w| w.load(Ordering::SeqCst)) {
                return Ok(i as isize);
            }
            return Err(got.err().unwrap_or(Errno::EAGAIN));
        }
    }
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
