//! A System V semaphore set (Linux 6.1's ipc/sem.c without its locks):
//! the values and their last pids, the undo adjustments of every undo
//! list that used the set (`semadj`), and the operations that wait, in the
//! queues and the order Linux keeps them (per-semaphore queues for simple
//! operations, the set's queues for complex ones, merged while a complex
//! operation waits).
//!
//! The set decides; the kernel sleeps. [`SemSet::semop`] either applies a
//! `struct sembuf` array all at once, fails it, or queues it with the
//! caller's waiter token `W`. Every change ([`SemSet::semop`],
//! [`SemSet::setval`], [`SemSet::setall`], [`SemSet::exit_undo`]) retries
//! the queued operations as Linux's `do_smart_update` does and hands back
//! the tokens of those that finished, each with its result (`Ok` when the
//! operation was applied for its sleeper, an errno else); the kernel wakes
//! them after its lock. [`SemSet::remove_all`] is `IPC_RMID`'s `EIDRM`
//! for everyone.
//!
//! ```
//! use ipc::sem::{SemBuf, SemSet, Semop};
//! use ipc::sysv::Perm;
//! let mut s: SemSet<&str> = SemSet::new(Perm::new(1, 0, 0, 0o600, 0), 2, 100).unwrap();
//! let mut woken = Vec::new();
//! // a decrement of 0 waits
//! let down = [SemBuf { num: 0, op: -1, flg: 0 }];
//! assert_eq!(s.semop(&down, None, 7, 101, || "waiter", &mut woken), Ok(Semop::Queued));
//! assert_eq!(s.ncnt(0), 1);
//! // an increment lets it through: the waiter's decrement is applied for it
//! let up = [SemBuf { num: 0, op: 1, flg: 0 }];
//! assert_eq!(s.semop(&up, None, 8, 102, || "never", &mut woken), Ok(Semop::Done));
//! assert_eq!(woken, [("waiter", Ok(()))]);
//! assert_eq!((s.val(0), s.pid(0)), (0, 7));
//! ```

use crate::sysv::{Object, Perm};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use linux_abi::{Errno, Result};

/// The largest semaphore value (`SEMVMX`).
pub const SEMVMX: i32 = 32767;
/// The largest undo adjustment (`SEMAEM`).
pub const SEMAEM: i32 = SEMVMX;
/// `sem_flg`: fail with `EAGAIN` instead of waiting.
pub const IPC_NOWAIT: i16 = 0o4000;
/// `sem_flg`: undo the operation at exit.
pub const SEM_UNDO: i16 = 0x1000;

/// `struct sembuf`: semaphore number, operation, flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SemBuf {
    /// `sem_num`.
    pub num: u16,
    /// `sem_op`: add (> 0), wait for zero (0), subtract (< 0).
    pub op: i16,
    /// `sem_flg`: [`IPC_NOWAIT`], [`SEM_UNDO`].
    pub flg: i16,
}

impl SemBuf {
    /// The 6 bytes of a user's `struct sembuf`.
    pub fn from_bytes(b: [u8; 6]) -> SemBuf {
        SemBuf {
            num: u16::from_le_bytes([b[0], b[1]]),
            op: i16::from_le_bytes([b[2], b[3]]),
            flg: i16::from_le_bytes([b[4], b[5]]),
        }
    }
}

/// What `do_semtimedop` learns from the array before it looks at a set:
/// the highest semaphore number, whether it changes a value, whether it
/// wants undo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SopsInfo {
    /// The highest `sem_num` (`EFBIG` when not below the set's size).
    pub max: u16,
    /// Some operation is not a wait-for-zero (write permission needed).
    pub alter: bool,
    /// Some operation has [`SEM_UNDO`].
    pub undo: bool,
}

/// The array's facts ([`SopsInfo`]).
pub fn sops_info(sops: &[SemBuf]) -> SopsInfo {
    SopsInfo {
        max: sops.iter().map(|s| s.num).max().unwrap_or(0),
        alter: sops.iter().any(|s| s.op != 0),
        undo: sops.iter().any(|s| s.flg & SEM_UNDO != 0),
    }
}

/// An undo list's identity (the kernel numbers its lists).
pub type UndoId = u64;

/// What [`SemSet::semop`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Semop {
    /// Applied at once.
    Done,
    /// Queued: the waiter's token comes back with its result from a later
    /// change or [`SemSet::remove_all`], or the kernel takes it out with
    /// [`SemSet::cancel`].
    Queued,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Sem {
    val: i32,
    pid: u32,
}

/// A waiting operation (`struct sem_queue`).
#[derive(Debug)]
struct Queued<W> {
    sops: Vec<SemBuf>,
    undo: Option<UndoId>,
    pid: u32,
    /// The index of the operation it waits on (`q->blocking`).
    blocking: usize,
    waiter: W,
}

/// The tokens handed back, with their results.
pub type Woken<W> = Vec<(W, Result<()>)>;

enum Attempt {
    Done,
    Block(usize),
    Fail(Errno),
}

/// `perform_atomic_semop_slow`: applies the operations in order and rolls
/// them back when one would block or is out of range.
fn attempt(
    sems: &mut [Sem],
    undos: &mut BTreeMap<UndoId, Vec<i16>>,
    sops: &[SemBuf],
    undo: Option<UndoId>,
    pid: u32,
) -> Attempt {
    let mut adj = undo.and_then(|u| undos.get_mut(&u));
    let mut outcome = Attempt::Done;
    let mut done = 0;
    for (i, sop) in sops.iter().enumerate() {
        let n = usize::from(sop.num);
        let Some(cur) = sems.get(n).map(|s| s.val) else {
            outcome = Attempt::Fail(Errno::EFBIG);
            break;
        };
        let op = i32::from(sop.op);
        if op == 0 && cur != 0 || cur + op < 0 {
            outcome =
                if sop.flg & IPC_NOWAIT != 0 { Attempt::Fail(Errno::EAGAIN) } else { Attempt::Block(i) };
            break;
        }
        if cur + op > SEMVMX {
            outcome = Attempt::Fail(Errno::ERANGE);
            break;
        }
        if sop.flg & SEM_UNDO != 0 {
            let a = adj.as_deref().and_then(|a| a.get(n)).copied().unwrap_or(0);
            let u = i32::from(a) - op;
            if !(-SEMAEM - 1..=SEMAEM).contains(&u) {
                outcome = Attempt::Fail(Errno::ERANGE);
                break;
            }
            if let Some(a) = adj.as_deref_mut().and_then(|a| a.get_mut(n)) {
                *a = u as i16;
            }
        }
        sems[n].val = cur + op;
        done = i + 1;
    }
    if let Attempt::Done = outcome {
        for sop in sops {
            sems[usize::from(sop.num)].pid = pid;
        }
        return outcome;
    }
    for sop in sops[..done].iter().rev() {
        let n = usize::from(sop.num);
        sems[n].val -= i32::from(sop.op);
        if sop.flg & SEM_UNDO != 0
            && let Some(a) = adj.as_deref_mut().and_then(|a| a.get_mut(n))
        {
            *a = (i32::from(*a) + i32::from(sop.op)) as i16;
        }
    }
    outcome
}

/// One semaphore set (`struct sem_array`).
#[derive(Debug)]
pub struct SemSet<W> {
    /// Its permissions.
    pub perm: Perm,
    sems: Vec<Sem>,
    /// Per semaphore: simple altering operations (decrements) waiting.
    per_alter: BTreeMap<u16, VecDeque<Queued<W>>>,
    /// Per semaphore: simple wait-for-zero operations.
    per_const: BTreeMap<u16, VecDeque<Queued<W>>>,
    /// Complex altering operations (and every altering one while merged).
    glob_alter: VecDeque<Queued<W>>,
    /// Complex wait-for-zero operations.
    glob_const: VecDeque<Queued<W>>,
    /// Complex operations waiting (`complex_count`).
    complex: usize,
    /// The adjustments of each undo list, per semaphore.
    undos: BTreeMap<UndoId, Vec<i16>>,
    /// Last semop time (`get_semotime`), seconds.
    pub otime: i64,
    /// Last change time, seconds.
    pub ctime: i64,
}

impl<W> Object for SemSet<W> {
    fn perm(&self) -> &Perm {
        &self.perm
    }
}

/// What a set costs beyond its semaphores (its struct).
pub const SET_COST: usize = 256;
/// What an undo list's entry in a set costs beyond its adjustments.
pub const UNDO_COST: usize = 64;

/// The set's struct, its semaphores and its undo lists' adjustments
/// (waiting operations are not counted: each is a sleeping thread).
impl<W> crate::budget::Footprint for SemSet<W> {
    fn footprint(&self) -> usize {
        SemSet::<W>::cost(self.sems.len()).saturating_add(self.undos.len().saturating_mul(self.undo_cost()))
    }
}

impl<W> SemSet<W> {
    /// `newary`: `nsems` semaphores at 0, made at `now`; `ENOMEM` when
    /// the values do not fit in memory.
    pub fn new(perm: Perm, nsems: usize, now: i64) -> Result<SemSet<W>> {
        let mut sems = Vec::new();
        sems.try_reserve_exact(nsems).map_err(|_| Errno::ENOMEM)?;
        sems.resize(nsems, Sem::default());
        Ok(SemSet {
            perm,
            sems,
            per_alter: BTreeMap::new(),
            per_const: BTreeMap::new(),
            glob_alter: VecDeque::new(),
            glob_const: VecDeque::new(),
            complex: 0,
            undos: BTreeMap::new(),
            otime: 0,
            ctime: now,
        })
    }

    /// The footprint of a new set of `nsems` semaphores.
    pub fn cost(nsems: usize) -> usize {
        nsems.saturating_mul(core::mem::size_of::<Sem>()).saturating_add(SET_COST)
    }

    /// What one more undo list's adjustments add to the footprint.
    pub fn undo_cost(&self) -> usize {
        self.sems.len().saturating_mul(2).saturating_add(UNDO_COST)
    }

    /// How many semaphores.
    pub fn nsems(&self) -> usize {
        self.sems.len()
    }

    /// Semaphore `n`'s value (`GETVAL`); the caller checks `n`.
    pub fn val(&self, n: usize) -> i32 {
        self.sems.get(n).map_or(0, |s| s.val)
    }

    /// The pid of the last operation on semaphore `n` (`GETPID`).
    pub fn pid(&self, n: usize) -> u32 {
        self.sems.get(n).map_or(0, |s| s.pid)
    }

    /// Every value in order (`GETALL`).
    pub fn values(&self) -> impl Iterator<Item = u16> + '_ {
        self.sems.iter().map(|s| s.val as u16)
    }

    /// Undo list `id`'s adjustment of semaphore `n` (0 without one).
    pub fn semadj(&self, id: UndoId, n: usize) -> i32 {
        self.undos.get(&id).and_then(|a| a.get(n)).map_or(0, |&a| i32::from(a))
    }

    /// Makes undo list `id`'s adjustments (all 0) if it has none yet
    /// (`find_alloc_undo`); `ENOMEM` when they do not fit.
    pub fn ensure_undo(&mut self, id: UndoId) -> Result<()> {
        if self.undos.contains_key(&id) {
            return Ok(());
        }
        let mut v = Vec::new();
        v.try_reserve_exact(self.sems.len()).map_err(|_| Errno::ENOMEM)?;
        v.resize(self.sems.len(), 0i16);
        // (a map node: the one allocation here that cannot fail softly)
        self.undos.insert(id, v);
        Ok(())
    }

    /// Whether undo list `id` has adjustments here.
    pub fn has_undo(&self, id: UndoId) -> bool {
        self.undos.contains_key(&id)
    }

    /// semop(2) on the set once the caller checked the array
    /// ([`sops_info`]: `EFBIG`, permissions) and made the undo entry
    /// ([`ensure_undo`](Self::ensure_undo)) when `undo` is given: applies
    /// it whole (then retries the waiting operations), fails it (`EAGAIN`
    /// with [`IPC_NOWAIT`] on the operation that would wait, `ERANGE` past
    /// [`SEMVMX`] or the undo range) or queues the token `waiter()` makes.
    /// `pid` becomes the changed semaphores' pid; `now` the time.
    pub fn semop(
        &mut self,
        sops: &[SemBuf],
        undo: Option<UndoId>,
        pid: u32,
        now: i64,
        waiter: impl FnOnce() -> W,
        woken: &mut Woken<W>,
    ) -> Result<Semop> {
        if sops.is_empty() {
            return Err(Errno::EINVAL);
        }
        if usize::from(sops_info(sops).max) >= self.sems.len() {
            return Err(Errno::EFBIG);
        }
        let alter = sops.iter().any(|s| s.op != 0);
        match attempt(&mut self.sems, &mut self.undos, sops, undo, pid) {
            Attempt::Done => {
                if alter {
                    self.smart_update(Some(sops), true, now, woken);
                } else {
                    self.otime = now;
                }
                self.unmerge();
                Ok(Semop::Done)
            }
            Attempt::Fail(e) => Err(e),
            Attempt::Block(blocking) => {
                let mut v = Vec::new();
                v.try_reserve_exact(sops.len()).map_err(|_| Errno::ENOMEM)?;
                v.extend_from_slice(sops);
                let oom = |_| Errno::ENOMEM;
                if sops.len() == 1 {
                    let n = sops[0].num;
                    // the queue has room before the token is made
                    let to = if !alter {
                        self.per_const.entry(n).or_default()
                    } else if self.complex > 0 {
                        &mut self.glob_alter
                    } else {
                        self.per_alter.entry(n).or_default()
                    };
                    to.try_reserve(1).map_err(oom)?;
                    to.push_back(Queued { sops: v, undo, pid, blocking, waiter: waiter() });
                } else {
                    // (merge() moves waiters that are sleeping threads: a
                    // bounded number)
                    let to = if alter { &mut self.glob_alter } else { &mut self.glob_const };
                    to.try_reserve(1).map_err(oom)?;
                    let q = Queued { sops: v, undo, pid, blocking, waiter: waiter() };
                    if self.complex == 0 {
                        self.merge();
                    }
                    if alter {
                        self.glob_alter.push_back(q);
                    } else {
                        self.glob_const.push_back(q);
                    }
                    self.complex += 1;
                }
                Ok(Semop::Queued)
            }
        }
    }

    /// `SETVAL`: `val` (the caller checked 0..=SEMVMX) for semaphore `n`,
    /// every undo list's adjustment of `n` cleared, then the waiting
    /// operations retried.
    pub fn setval(&mut self, n: usize, val: i32, pid: u32, now: i64, woken: &mut Woken<W>) {
        let Some(s) = self.sems.get_mut(n) else { return };
        s.val = val;
        s.pid = pid;
        for adj in self.undos.values_mut() {
            if let Some(a) = adj.get_mut(n) {
                *a = 0;
            }
        }
        self.ctime = now;
        self.smart_update(None, false, now, woken);
        self.unmerge();
    }

    /// `SETALL`: the values (one per semaphore, each checked against
    /// SEMVMX by the caller), every adjustment cleared, the waiting
    /// operations retried.
    pub fn setall(&mut self, vals: &[u16], pid: u32, now: i64, woken: &mut Woken<W>) {
        for (s, &v) in self.sems.iter_mut().zip(vals) {
            s.val = i32::from(v);
            s.pid = pid;
        }
        for adj in self.undos.values_mut() {
            adj.iter_mut().for_each(|a| *a = 0);
        }
        self.ctime = now;
        self.smart_update(None, false, now, woken);
        self.unmerge();
    }

    /// `exit_sem` for this set: undo list `id`'s adjustments added to the
    /// values (clamped to 0..=SEMVMX, `pid` on those changed) and
    /// forgotten, then the waiting operations retried. `false` when the
    /// list had no adjustments here.
    pub fn exit_undo(&mut self, id: UndoId, pid: u32, now: i64, woken: &mut Woken<W>) -> bool {
        let Some(adj) = self.undos.remove(&id) else { return false };
        for (s, &a) in self.sems.iter_mut().zip(&adj) {
            if a != 0 {
                s.val = (s.val + i32::from(a)).clamp(0, SEMVMX);
                s.pid = pid;
            }
        }
        self.smart_update(None, true, now, woken);
        self.unmerge();
        true
    }

    /// Takes out the waiting operation whose token `is_mine` picks (a
    /// sleeper interrupted or timed out); `None` when it is no longer
    /// queued (it got its result meanwhile).
    pub fn cancel(&mut self, mut is_mine: impl FnMut(&W) -> bool) -> Option<W> {
        let mut found = None;
        for list in [&mut self.glob_alter, &mut self.glob_const]
            .into_iter()
            .chain(self.per_alter.values_mut())
            .chain(self.per_const.values_mut())
        {
            if let Some(i) = list.iter().position(|q| is_mine(&q.waiter)) {
                found = list.remove(i);
                break;
            }
        }
        self.per_alter.retain(|_, l| !l.is_empty());
        self.per_const.retain(|_, l| !l.is_empty());
        let q = found?;
        if q.sops.len() > 1 {
            self.complex -= 1;
        }
        self.unmerge();
        Some(q.waiter)
    }

    /// `freeary` (IPC_RMID): every waiting operation's token, with
    /// `EIDRM`, in Linux's order; the undo adjustments forgotten.
    pub fn remove_all(&mut self, woken: &mut Woken<W>) {
        self.undos.clear();
        let eidrm = |q: Queued<W>| (q.waiter, Err(Errno::EIDRM));
        woken.extend(self.glob_const.drain(..).map(eidrm));
        woken.extend(self.glob_alter.drain(..).map(eidrm));
        let mut per_const = core::mem::take(&mut self.per_const);
        let mut per_alter = core::mem::take(&mut self.per_alter);
        for n in 0..self.sems.len() {
            let n16 = n as u16;
            woken.extend(per_const.remove(&n16).into_iter().flatten().map(eidrm));
            woken.extend(per_alter.remove(&n16).into_iter().flatten().map(eidrm));
            if per_const.is_empty() && per_alter.is_empty() {
                break;
            }
        }
        self.complex = 0;
    }

    /// `GETNCNT`: operations waiting for semaphore `n` to grow
    /// (`count_semcnt`: a complex one counts on the semaphore it blocks on).
    pub fn ncnt(&self, n: u16) -> usize {
        self.per_alter.get(&n).map_or(0, |l| l.len())
            + self
                .glob_alter
                .iter()
                .filter(|q| q.sops.get(q.blocking).is_some_and(|s| s.num == n && s.op < 0))
                .count()
    }

    /// `GETZCNT`: operations waiting for semaphore `n` to be 0.
    pub fn zcnt(&self, n: u16) -> usize {
        let blocked_zero = |q: &&Queued<W>| q.sops.get(q.blocking).is_some_and(|s| s.num == n && s.op == 0);
        self.per_const.get(&n).map_or(0, |l| l.len())
            + self.glob_alter.iter().filter(blocked_zero).count()
            + self.glob_const.iter().filter(blocked_zero).count()
    }

    /// How many operations wait (every queue).
    pub fn waiting(&self) -> usize {
        self.glob_alter.len()
            + self.glob_const.len()
            + self.per_alter.values().map(VecDeque::len).sum::<usize>()
            + self.per_const.values().map(VecDeque::len).sum::<usize>()
    }

    /// `merge_queues`: the per-semaphore altering queues go to the head of
    /// the set's, one after the other (the last semaphore's first).
    fn merge(&mut self) {
        for (_, mut l) in core::mem::take(&mut self.per_alter) {
            l.append(&mut self.glob_alter);
            self.glob_alter = l;
        }
    }

    /// `unmerge_queues`: with no complex operation left, the simple
    /// altering ones go back to their semaphores' queues.
    fn unmerge(&mut self) {
        if self.complex > 0 {
            return;
        }
        for q in core::mem::take(&mut self.glob_alter) {
            self.per_alter.entry(q.sops[0].num).or_default().push_back(q);
        }
    }

    /// `wake_const_ops` on semaphore `n`'s queue (`None`: the set's).
    fn wake_const(&mut self, n: Option<u16>, woken: &mut Woken<W>) -> bool {
        let mut completed = false;
        let mut i = 0;
        loop {
            let list = match n {
                None => &mut self.glob_const,
                Some(n) => match self.per_const.get_mut(&n) {
                    Some(l) => l,
                    None => break,
                },
            };
            let Some(q) = list.get_mut(i) else { break };
            match attempt(&mut self.sems, &mut self.undos, &q.sops, q.undo, q.pid) {
                Attempt::Block(b) => {
                    q.blocking = b;
                    i += 1;
                }
                r => {
                    let Some(q) = list.remove(i) else { break };
                    if q.sops.len() > 1 {
                        self.complex -= 1;
                    }
                    let res = match r {
                        Attempt::Fail(e) => Err(e),
                        _ => {
                            completed = true;
                            Ok(())
                        }
                    };
                    woken.push((q.waiter, res));
                }
            }
        }
        if let Some(n) = n
            && self.per_const.get(&n).is_some_and(VecDeque::is_empty)
        {
            self.per_const.remove(&n);
        }
        completed
    }

    /// `do_smart_wakeup_zero`: the wait-for-zero queues of the semaphores
    /// `sops` touched (all without `sops`) that are 0, then the set's.
    fn wakeup_zero(&mut self, sops: Option<&[SemBuf]>, woken: &mut Woken<W>) -> bool {
        let mut completed = false;
        let mut got_zero = false;
        // (no list of the numbers: up to nsems of them for SETVAL/SETALL)
        let count = sops.map_or(self.sems.len(), <[SemBuf]>::len);
        for i in 0..count {
            let n = match sops {
                Some(s) => s[i].num,
                None => i as u16,
            };
            if self.sems[usize::from(n)].val == 0 {
                got_zero = true;
                completed |= self.wake_const(Some(n), woken);
            }
        }
        if got_zero {
            completed |= self.wake_const(None, woken);
        }
        completed
    }

    /// `update_queue` of semaphore `n`'s altering queue (`None`: the
    /// set's), restarting from its head after a complex operation went.
    fn update_queue(&mut self, n: Option<u16>, woken: &mut Woken<W>) -> bool {
        let mut completed = false;
        let mut i = 0;
        loop {
            if let Some(n) = n
                && self.sems[usize::from(n)].val == 0
            {
                break;
            }
            let list = match n {
                None => &mut self.glob_alter,
                Some(n) => match self.per_alter.get_mut(&n) {
                    Some(l) => l,
                    None => break,
                },
            };
            let Some(q) = list.get_mut(i) else { break };
            let r = attempt(&mut self.sems, &mut self.undos, &q.sops, q.undo, q.pid);
            if let Attempt::Block(b) = r {
                q.blocking = b;
                i += 1;
                continue;
            }
            let Some(q) = list.remove(i) else { break };
            if q.sops.len() > 1 {
                self.complex -= 1;
            }
            let mut restart = false;
            let res = match r {
                Attempt::Fail(e) => Err(e),
                _ => {
                    completed = true;
                    self.wakeup_zero(Some(&q.sops), woken);
                    // check_restart
                    restart = !self.glob_alter.is_empty() || q.sops.len() > 1;
                    Ok(())
                }
            };
            woken.push((q.waiter, res));
            if restart {
                i = 0;
            }
        }
        if let Some(n) = n
            && self.per_alter.get(&n).is_some_and(VecDeque::is_empty)
        {
            self.per_alter.remove(&n);
        }
        completed
    }

    /// `do_smart_update`: after a change by `sops` (`None`: unknown
    /// semaphores), the queues that may proceed now, in Linux's order;
    /// `otime` also when an operation completed.
    fn smart_update(&mut self, sops: Option<&[SemBuf]>, otime: bool, now: i64, woken: &mut Woken<W>) {
        let mut otime = otime | self.wakeup_zero(sops, woken);
        if !self.glob_alter.is_empty() {
            otime |= self.update_queue(None, woken);
        } else {
            match sops {
                None => {
                    for n in 0..self.sems.len() {
                        if self.per_alter.is_empty() {
                            break;
                        }
                        otime |= self.update_queue(Some(n as u16), woken);
                    }
                }
                Some(sops) => {
                    for s in sops {
                        if s.op > 0 {
                            otime |= self.update_queue(Some(s.num), woken);
                        }
                    }
                }
            }
        }
        if otime {
            self.otime = now;
        }
    }

    /// Whether some waiting operation could proceed now (never, after a
    /// change: the property the tests check).
    pub fn runnable_waiter(&self) -> bool {
        let mut sems = self.sems.clone();
        let mut undos = self.undos.clone();
        let all = self
            .glob_alter
            .iter()
            .chain(&self.glob_const)
            .chain(self.per_alter.values().flatten())
            .chain(self.per_const.values().flatten());
        for q in all {
            if let Attempt::Done = attempt(&mut sems, &mut undos, &q.sops, q.undo, q.pid) {
                return true;
            }
            sems.clone_from(&self.sems);
            undos.clone_from(&self.undos);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn set(n: usize) -> SemSet<u32> {
        SemSet::new(Perm::new(1, 0, 0, 0o600, 0), n, 0).unwrap()
    }
    fn sb(num: u16, op: i16, flg: i16) -> SemBuf {
        SemBuf { num, op, flg }
    }

    #[test]
    fn errors_as_linux() {
        let mut s = set(2);
        let mut w = Vec::new();
        assert_eq!(s.semop(&[sb(2, 1, 0)], None, 1, 1, || 0, &mut w), Err(Errno::EFBIG));
        assert_eq!(s.semop(&[sb(0, -1, IPC_NOWAIT)], None, 1, 1, || 0, &mut w), Err(Errno::EAGAIN));
        assert_eq!(s.semop(&[sb(0, i16::MAX, 0)], None, 1, 1, || 0, &mut w), Ok(Semop::Done));
        assert_eq!(s.semop(&[sb(0, 1, 0)], None, 1, 1, || 0, &mut w), Err(Errno::ERANGE));
        // all or nothing: the first change is rolled back
        assert_eq!(s.semop(&[sb(1, 5, 0), sb(0, 1, 0)], None, 1, 1, || 0, &mut w), Err(Errno::ERANGE));
        assert_eq!(s.val(1), 0);
        // wait-for-zero on a non-zero value with IPC_NOWAIT
        assert_eq!(s.semop(&[sb(0, 0, IPC_NOWAIT)], None, 1, 1, || 0, &mut w), Err(Errno::EAGAIN));
        // the undo range: -32768..=32767
        s.ensure_undo(9).unwrap();
        assert_eq!(s.semop(&[sb(1, i16::MAX, SEM_UNDO)], Some(9), 1, 1, || 0, &mut w), Ok(Semop::Done));
        assert_eq!(s.semadj(9, 1), -32767);
        assert_eq!(s.semop(&[sb(1, -5, SEM_UNDO)], Some(9), 1, 1, || 0, &mut w), Ok(Semop::Done));
        assert_eq!(s.semadj(9, 1), -32762);
        assert!(w.is_empty());
    }

    #[test]
    fn duplicate_semaphore_in_one_call() {
        let mut s = set(1);
        let mut w = Vec::new();
        // +1 then -1 on the same semaphore applies in order
        assert_eq!(s.semop(&[sb(0, 1, 0), sb(0, -1, 0)], None, 3, 1, || 0, &mut w), Ok(Semop::Done));
        assert_eq!(s.val(0), 0);
        assert_eq!(s.pid(0), 3);
        // -1 then +1 waits on the first
        assert_eq!(s.semop(&[sb(0, -1, 0), sb(0, 1, 0)], None, 3, 1, || 5, &mut w), Ok(Semop::Queued));
        assert_eq!((s.ncnt(0), s.zcnt(0)), (1, 0));
    }

    #[test]
    fn fifo_wakeups_and_partial() {
        let mut s = set(1);
        let mut w = Vec::new();
        for (id, op) in [(1, -2), (2, -1), (3, -1)] {
            assert_eq!(s.semop(&[sb(0, op, 0)], None, id, 1, || id, &mut w), Ok(Semop::Queued));
        }
        assert_eq!(s.ncnt(0), 3);
        // +1: the first (-2) cannot, the second can; the third waits
        s.semop(&[sb(0, 1, 0)], None, 9, 2, || 0, &mut w).unwrap();
        assert_eq!(w, vec![(2, Ok(()))]);
        assert_eq!(s.pid(0), 2);
        assert_eq!(s.otime, 2);
        w.clear();
        s.setval(0, 3, 9, 3, &mut w);
        assert_eq!(w, vec![(1, Ok(())), (3, Ok(()))]);
        assert_eq!(s.val(0), 0);
        assert_eq!(s.ncnt(0), 0);
    }

    #[test]
    fn zero_waiters_and_complex_order() {
        let mut s = set(2);
        let mut w = Vec::new();
        s.setval(0, 1, 1, 1, &mut w);
        s.setval(1, 1, 1, 1, &mut w);
        // 10 waits for sem 0 to be 0; 11 (complex) decrements 1 and waits for 0 = 0
        assert_eq!(s.semop(&[sb(0, 0, 0)], None, 10, 1, || 10, &mut w), Ok(Semop::Queued));
        assert_eq!(s.semop(&[sb(1, -1, 0), sb(0, 0, 0)], None, 11, 1, || 11, &mut w), Ok(Semop::Queued));
        assert_eq!(s.semop(&[sb(1, -2, 0)], None, 12, 1, || 12, &mut w), Ok(Semop::Queued));
        // 11 blocks on sem 0's zero; 12 (simple, on the merged queue) on sem 1
        assert_eq!((s.zcnt(0), s.ncnt(1), s.ncnt(0)), (2, 1, 0));
        s.semop(&[sb(0, -1, 0)], None, 13, 2, || 0, &mut w).unwrap();
        // the zero waiters first, then the set's altering queue in order:
        // 11 takes sem 1, so 12 waits
        assert_eq!(w, vec![(10, Ok(())), (11, Ok(()))]);
        assert_eq!(s.ncnt(1), 1);
        assert_eq!(s.cancel(|&x| x == 12), Some(12));
        assert_eq!(s.cancel(|&x| x == 12), None);
        assert_eq!(s.waiting(), 0);
    }

    #[test]
    fn undo_at_exit_is_clamped() {
        let mut s = set(1);
        let mut w = Vec::new();
        s.ensure_undo(1).unwrap();
        s.semop(&[sb(0, 5, SEM_UNDO)], Some(1), 4, 1, || 0, &mut w).unwrap();
        assert_eq!(s.semadj(1, 0), -5);
        s.semop(&[sb(0, -3, 0)], None, 5, 1, || 0, &mut w).unwrap();
        assert_eq!(s.semop(&[sb(0, -3, 0)], None, 6, 1, || 6, &mut w), Ok(Semop::Queued));
        // 2 - 5 is clamped to 0 at exit
        assert!(s.exit_undo(1, 4, 7, &mut w));
        assert_eq!((s.val(0), s.pid(0), s.otime), (0, 4, 7));
        assert!(!s.exit_undo(1, 4, 7, &mut w));
        // SETVAL clears adjustments
        s.ensure_undo(2).unwrap();
        s.semop(&[sb(0, 2, SEM_UNDO)], Some(2), 4, 1, || 0, &mut w).unwrap();
        assert_eq!(w, vec![]);
        s.setval(0, 1, 4, 8, &mut w);
        assert_eq!(s.semadj(2, 0), 0);
        s.remove_all(&mut w);
        assert_eq!(w, vec![(6, Err(Errno::EIDRM))]);
    }

    #[test]
    fn sets_and_undo_lists_take_from_the_budget() {
        use crate::budget::{Budget, Charged};
        let perm = Perm::new(1, 0, 0, 0o600, 0);
        let b = Budget::new(SemSet::<u8>::cost(100) + 2 * (UNDO_COST + 200) - 1);
        // a set past the budget is ENOMEM before its values are allocated
        let big = Charged::make(&b, SemSet::<u8>::cost(32000), || -> Result<SemSet<u8>> { unreachable!() });
        assert_eq!(big.err(), Some(Errno::ENOMEM));
        let mut s = Charged::make(&b, SemSet::<u8>::cost(100), || SemSet::<u8>::new(perm, 100, 0)).unwrap();
        assert_eq!(b.used(), 100 * 8 + SET_COST);
        let c = s.undo_cost();
        assert_eq!(c, 200 + UNDO_COST);
        s.reserve(c).unwrap();
        s.ensure_undo(1).unwrap();
        s.settle();
        assert_eq!(b.used(), SemSet::<u8>::cost(100) + c);
        // a second undo list does not fit: semop's ENOMEM, nothing made
        assert_eq!(s.reserve(c), Err(Errno::ENOMEM));
        assert!(!s.has_undo(2));
        // the list's exit gives its adjustments back
        let mut woken = Vec::new();
        assert!(s.exit_undo(1, 9, 1, &mut woken));
        s.settle();
        assert_eq!(b.used(), SemSet::<u8>::cost(100));
        drop(s);
        assert_eq!(b.used(), 0);
    }
}
