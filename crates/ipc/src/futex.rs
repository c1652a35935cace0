//! Futex queues (kernel/futex/): waiters keyed by futex word, woken by
//! count and bitset, moved by REQUEUE; the decoding of FUTEX_WAKE_OP and
//! futex_waitv's entries; the address checks of get_futex_key().
//!
//! A waiter is the kernel's token `W` (its wake-up flag and task); this
//! module keeps them in FIFO order per [`Key`] and says which to wake.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use linux_abi::{Errno, Result};

/// What a futex word is known by (get_futex_key()).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    /// A private futex (or one in a private mapping): the address space
    /// (any identifier the kernel gives it) and the virtual address.
    Private {
        /// The address space.
        mm: usize,
        /// The word's user address.
        addr: u64,
    },
    /// A futex in a `MAP_SHARED` mapping: the physical address of the
    /// word, so every process mapping the page meets on it.
    Shared {
        /// The word's physical address.
        phys: u64,
    },
}

impl Key {
    /// The key of the word at `addr` in address space `mm`; `shared_page`
    /// is the physical address of its page when the word lies in a
    /// present page of a shared mapping.
    pub fn new(mm: usize, addr: u64, shared_page: Option<u64>) -> Key {
        match shared_page {
            Some(page) => Key::Shared { phys: page + (addr & 0xfff) },
            None => Key::Private { mm, addr },
        }
    }
}

/// One waiter: its bitset and the kernel's token.
#[derive(Debug)]
struct Waiter<W> {
    bitset: u32,
    token: W,
}

/// The futex queues of the whole system.
#[derive(Debug)]
pub struct Queues<W> {
    map: BTreeMap<Key, Vec<Waiter<W>>>,
}

impl<W> Default for Queues<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W> Queues<W> {
    /// No waiters.
    pub const fn new() -> Self {
        Queues { map: BTreeMap::new() }
    }

    /// Queues `token` on `key` with `bitset` (behind those already there).
    /// `ENOMEM` when the queue cannot grow.
    pub fn enqueue(&mut self, key: Key, bitset: u32, token: W) -> Result<()> {
        let list = self.map.entry(key).or_default();
        if let Err(e) = list.try_reserve(1) {
            let _ = e;
            if list.is_empty() {
                self.map.remove(&key);
            }
            return Err(Errno::ENOMEM);
        }
        list.push(Waiter { bitset, token });
        Ok(())
    }

    /// Wakes up to `count` waiters on `key` whose bitset meets `bitset`,
    /// oldest first: each is removed and handed to `woken`. Returns how
    /// many.
    pub fn wake(&mut self, key: Key, count: u32, bitset: u32, mut woken: impl FnMut(W)) -> usize {
        let Some(list) = self.map.get_mut(&key) else { return 0 };
        let mut n = 0usize;
        let mut i = 0;
        while i < list.len() && (n as u64) < u64::from(count) {
            if list[i].bitset & bitset != 0 {
                woken(list.remove(i).token);
                n += 1;
            } else {
                i += 1;
            }
        }
        if list.is_empty() {
            self.map.remove(&key);
        }
        n
    }

    /// Moves up to `limit` waiters (oldest first) from `from` to the end of
    /// `to`'s queue. Returns how many moved.
    pub fn requeue(&mut self, from: Key, to: Key, limit: u32) -> usize {
        if from == to {
            return self.map.get(&from).map_or(0, |l| l.len().min(limit as usize));
        }
        let Some(list) = self.map.get_mut(&from) else { return 0 };
        let n = list.len().min(limit as usize);
        let moved: Vec<Waiter<W>> = list.drain(..n).collect();
        if list.is_empty() {
            self.map.remove(&from);
        }
        if n > 0 {
            self.map.entry(to).or_default().extend(moved);
        }
        n
    }

    /// Takes off its queue, wherever it is now, the first waiter whose
    /// token matches (one that stopped waiting: timeout, signal; a
    /// REQUEUE may have moved it). Visits every queue.
    pub fn remove(&mut self, mut is: impl FnMut(&W) -> bool) -> Option<W> {
        let mut found = None;
        for (k, list) in self.map.iter_mut() {
            if let Some(i) = list.iter().position(|w| is(&w.token)) {
                found = Some((*k, list.remove(i).token, list.is_empty()));
                break;
            }
        }
        let (k, token, emptied) = found?;
        if emptied {
            self.map.remove(&k);
        }
        Some(token)
    }

    /// Waiters queued on `key`.
    pub fn waiters(&self, key: Key) -> usize {
        self.map.get(&key).map_or(0, Vec::len)
    }

    /// Keys with at least one waiter.
    pub fn keys(&self) -> usize {
        self.map.len()
    }
}

/// The number of waiters a WAKE or WAKE_OP count (an `int`) lets wake:
/// Linux wakes a waiter before it compares with the count, so a count of
/// zero or below still wakes one.
pub fn wake_count(val: u64) -> u32 {
    (val as i32).max(1) as u32
}

/// get_futex_key()'s checks on a futex word's address: `EINVAL` if it is
/// not 4-byte aligned, `EFAULT` if `access_ok` refuses it. Linux 6.1's
/// `access_ok` of a small constant size looks only at the sign bit, so a
/// kernel-half address is `EFAULT` and an unmapped lower-half one is not.
pub fn key_ok(addr: u64) -> Result<()> {
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    if (addr as i64) < 0 {
        return Err(Errno::EFAULT);
    }
    Ok(())
}

/// futex_requeue()'s counts: `EINVAL` when either `int` is negative.
/// Returns (waiters to wake, waiters to move).
pub fn requeue_counts(val: u64, val2: u64) -> Result<(u32, u32)> {
    if (val as i32) < 0 || (val2 as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok((val as u32, val2 as u32))
}

/// A decoded FUTEX_WAKE_OP operation (`val3`): `*uaddr2 = *uaddr2 OP
/// oparg`, then wake at `uaddr2` too if `old CMP cmparg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WakeOp {
    /// FUTEX_OP_SET (0), ADD (1), OR (2), ANDN (3), XOR (4).
    pub op: u32,
    /// The operand: sign-extended 12 bits, or with FUTEX_OP_OPARG_SHIFT
    /// `1 << (oparg & 31)` (Linux masks an out-of-range shift and logs).
    pub oparg: i32,
    /// FUTEX_OP_CMP_EQ (0), NE, LT, LE, GT, GE (5); others are `ENOSYS`
    /// from [`WakeOp::test`], after the word was changed.
    pub cmp: u32,
    /// The comparand (sign-extended 12 bits).
    pub cmparg: i32,
}

impl WakeOp {
    /// Decodes `val3` as futex_atomic_op_inuser(): `ENOSYS` for an
    /// unknown operation (before the word is touched).
    pub fn decode(val3: u32) -> Result<WakeOp> {
        let sext = |v: u32| ((v << 20) as i32) >> 20;
        let op = (val3 >> 28) & 7;
        let mut oparg = sext((val3 >> 12) & 0xfff);
        if (val3 >> 28) & 8 != 0 {
            oparg = 1i32 << (oparg as u32 & 31);
        }
        if op > 4 {
            return Err(Errno::ENOSYS);
        }
        Ok(WakeOp { op, oparg, cmp: (val3 >> 24) & 15, cmparg: sext(val3 & 0xfff) })
    }

    /// The new value of the word that held `old`.
    pub fn apply(&self, old: u32) -> u32 {
        let a = self.oparg as u32;
        match self.op {
            0 => a,
            1 => old.wrapping_add(a),
            2 => old | a,
            3 => old & !a,
            _ => old ^ a,
        }
    }

    /// Whether `old` (as an `int`) passes the comparison; `ENOSYS` for an
    /// unknown comparison.
    pub fn test(&self, old: u32) -> Result<bool> {
        let (o, c) = (old as i32, self.cmparg);
        Ok(match self.cmp {
            0 => o == c,
            1 => o != c,
            2 => o < c,
            3 => o <= c,
            4 => o > c,
            5 => o >= c,
            _ => return Err(Errno::ENOSYS),
        })
    }
}

/// The most futexes one futex_waitv(2) waits on (FUTEX_WAITV_MAX).
pub const FUTEX_WAITV_MAX: u64 = 128;
/// `sizeof(struct futex_waitv)`.
pub const WAITV_SIZE: usize = 24;
const FUTEX2_SIZE_MASK: u32 = 3;
const FUTEX2_SIZE_U32: u32 = 2;
const FUTEX2_PRIVATE: u32 = 128;

/// futex_waitv(2)'s first checks: no flags exist, 1..=128 waiters, a
/// non-null array (`EINVAL`). Returns the count.
pub fn waitv_args(waiters: u64, nr: u64, flags: u64) -> Result<usize> {
    let nr = u64::from(nr as u32);
    if flags as u32 != 0 || nr == 0 || nr > FUTEX_WAITV_MAX || waiters == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(nr as usize)
}

/// Decodes an array of `struct futex_waitv` (val, uaddr, flags, reserved)
/// as futex_parse_waitv(): each needs FUTEX2_SIZE_U32, no flag but
/// FUTEX2_PRIVATE, a zero reserved word, and (get_futex_key()) an
/// aligned address (`EINVAL`). Returns (uaddr, val) pairs; `ENOMEM` when
/// the list cannot be allocated.
pub fn parse_waitv(raw: &[u8]) -> Result<Vec<(u64, u64)>> {
    let mut list = Vec::new();
    list.try_reserve(raw.len() / WAITV_SIZE).map_err(|_| Errno::ENOMEM)?;
    for w in raw.chunks_exact(WAITV_SIZE) {
        let word = |at: usize| {
            u64::from_le_bytes([
                w[at],
                w[at + 1],
                w[at + 2],
                w[at + 3],
                w[at + 4],
                w[at + 5],
                w[at + 6],
                w[at + 7],
            ])
        };
        let (val, uaddr) = (word(0), word(8));
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
    if list.iter().any(|&(a, _)| !a.is_multiple_of(4)) {
        return Err(Errno::EINVAL);
    }
    Ok(list)
}
