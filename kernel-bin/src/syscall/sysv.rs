//! System V semaphores (semget, semop, semtimedop, semctl) and message
//! queues (msgget, msgsnd, msgrcv, msgctl), as Linux 6.1's ipc/sem.c and
//! ipc/msg.c. What a set or a queue does is `ipc::sem` and `ipc::msg`
//! (host-tested there); here are the tables, the user copies and the
//! sleeping.
//!
//! Sets and queues belong to the caller's IPC namespace: they live in
//! that namespace's `shm::NsTables` next to its segments, under the same
//! `shm::SPACES` lock, and go with the namespace.
//!
//! A sleeper queues a token (its task and a status word) in the set or
//! queue and sleeps until the status changes; whoever changes the set
//! settles the tokens it got back *under* the lock (so that a sleeper
//! that wakes for a signal and takes the lock sees either its result or
//! its token still queued) and wakes their tasks after it.
//!
//! SEM_UNDO: a thread's undo list (`process::table::SemUndoList`, shared
//! by `CLONE_SYSVSEM`) holds an [`UndoRecord`]: the list's number (each
//! set keeps the adjustments by that number) and the sets it touched. Its
//! drop, when the list's last sharer lets it go (exit, unshare), is
//! Linux's `exit_sem`.
//!
//! Memory: every set and queue is a `Charged` value of [`BUDGET`], one
//! budget for all IPC namespaces of 1/16 of RAM (Linux charges them to
//! the caller's memory cgroup, which this kernel does not have). A
//! message (its text and 64 bytes), a set (8 bytes a semaphore and 256)
//! and an undo list's adjustments in a set (2 bytes a semaphore and 64)
//! take from it first; semget, msgsnd and semop's undo allocation fail
//! with `ENOMEM` past it, as Linux's do when the cgroup is full.
//!
//! # Locks
//! `SPACES` alone, or before an address-space lock (the user copies of
//! semctl's and msgctl's small structs); an undo list's lock is taken and
//! released before `SPACES`. Nothing that takes a lock is dropped under
//! `SPACES`: a removed set or queue and the sleepers' task references are
//! dropped after it.

use super::SysResult;
use super::shm::{NsTables, creds, ipc_ns_of, with_tables, with_tables_of};
use crate::proc::{Kernel, sleep_interruptible, table};
use crate::sched::Task;
use crate::uthread::UThread;
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use ipc::budget::{Budget, Charged};
use ipc::msg::{Message, MsgQueue};
use ipc::sem::{SemBuf, SemSet, Semop, UndoId};
use ipc::sysv::{IPC_PRIVATE, IPCMNI, Perm};
use linux_abi::abi::Timespec;
use linux_abi::args::{UserPtr, UserSlice};
use linux_abi::{Errno, Result};
use process::ns::IpcNs;

// The commands and flags every System V call shares (shm's too).
pub(super) const IPC_CREAT: i32 = 0o1000;
pub(super) const IPC_EXCL: i32 = 0o2000;
const IPC_NOWAIT: i32 = 0o4000;
pub(super) const IPC_RMID: i32 = 0;
pub(super) const IPC_SET: i32 = 1;
pub(super) const IPC_STAT: i32 = 2;
pub(super) const IPC_INFO: i32 = 3;
const GETPID: i32 = 11;
const GETVAL: i32 = 12;
const GETALL: i32 = 13;
const GETNCNT: i32 = 14;
const GETZCNT: i32 = 15;
const SETVAL: i32 = 16;
const SETALL: i32 = 17;
const SEM_STAT: i32 = 18;
const SEM_INFO: i32 = 19;
const SEM_STAT_ANY: i32 = 20;
const MSG_STAT: i32 = 11;
const MSG_INFO: i32 = 12;
const MSG_STAT_ANY: i32 = 13;
/// `CAP_SYS_RESOURCE`: a queue's msg_qbytes above msgmnb.
const CAP_SYS_RESOURCE: u32 = 24;
/// A sleeper's status while it waits.
const PENDING: i32 = 1;

/// The memory System V sets and queues may take, in every namespace
/// together (see the module's doc).
pub static BUDGET: Budget = Budget::new(usize::MAX);

/// Sets [`BUDGET`] to 1/16 of `total_frames` 4 KiB frames (at boot; 1 MiB
/// at least).
pub fn set_budget(total_frames: u64) {
    let bytes = total_frames.saturating_mul(4096) / 16;
    BUDGET.set_limit(usize::try_from(bytes).unwrap_or(usize::MAX).max(1 << 20));
}

fn now_sec() -> i64 {
    (crate::time::realtime_ns() / 1_000_000_000) as i64
}

/// `ipcperms`' request from a get's flags: the owner, group and other
/// bits all ask.
fn want_of(flags: i32) -> u32 {
    ((flags >> 6) | (flags >> 3) | flags) as u32 & 7
}

/// The caller: (euid, egid, CAP_IPC_OWNER, the vfs credential).
struct Who {
    euid: u32,
    egid: u32,
    ipc_owner: bool,
    cred: vfs::Cred,
}

fn who(t: &UThread) -> Who {
    let (euid, egid, cred) = creds(t);
    Who { euid, egid, ipc_owner: cred.has_cap(vfs::CAP_IPC_OWNER), cred }
}

impl Who {
    /// `ipcperms`: the group bits for the effective group and the
    /// supplementary ones (in_group_p).
    fn permits(&self, p: &Perm, want: u32) -> bool {
        let in_group = |g: u32| g == self.egid || self.cred.groups.contains(&g);
        p.permits_in(self.euid, in_group, self.ipc_owner, want)
    }
    /// `ipcctl_obtain_check`'s owner rule (CAP_SYS_ADMIN overrides).
    fn owns(&self, p: &Perm) -> bool {
        p.owner(self.euid, self.cred.has_cap(vfs::CAP_SYS_ADMIN))
    }
}

/// `struct ipc64_perm` (48 bytes), the ids as `ns` sees them
/// (`kernel_to_ipc64_perm`: from_kuid_munged); shm's `shmid64_ds` too.
pub(super) fn ipc64_perm(b: &mut [u8], p: &Perm, ns: &process::ns::UserNsRef) {
    let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
    put(0, &p.key.to_le_bytes());
    put(4, &ns.uid_from(p.uid).to_le_bytes());
    put(8, &ns.gid_from(p.gid).to_le_bytes());
    put(12, &ns.uid_from(p.cuid).to_le_bytes());
    put(16, &ns.gid_from(p.cgid).to_le_bytes());
    put(20, &p.mode.to_le_bytes());
    put(24, &(p.seq as u16).to_le_bytes());
}

/// `ipc_update_perm`: IPC_SET's uid, gid and mode bits from a user's
/// `struct ipc64_perm` (ids in the caller's user namespace, `EINVAL`
/// when unmapped).
fn update_perm(p: &mut Perm, b: &[u8], ns: &process::ns::UserNsRef) -> Result<()> {
    let word = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let (Some(uid), Some(gid)) = (ns.uid_into(word(4)), ns.gid_into(word(8))) else {
        return Err(Errno::EINVAL);
    };
    p.uid = uid;
    p.gid = gid;
    p.mode = (p.mode & !0o777) | (word(20) & 0o777);
    Ok(())
}

fn ns_of(t: &UThread) -> Arc<IpcNs> {
    ipc_ns_of(t.pid)
}

// ----- semaphores -----

/// A semop sleeper's token.
pub struct SemWaiter {
    status: Arc<AtomicI32>,
    task: Arc<Task>,
}

/// A semaphore set as the tables hold it (its memory from [`BUDGET`]).
pub type SemSetK = Charged<'static, SemSet<SemWaiter>>;

/// Stores the results of the operations done for sleepers (under the
/// lock); their tasks, to wake after it.
fn settle_sem(woken: ipc::sem::Woken<SemWaiter>) -> Vec<Arc<Task>> {
    woken
        .into_iter()
        .map(|(w, r)| {
            w.status.store(r.map_or_else(|e| -e.as_i32(), |()| 0), Ordering::SeqCst);
            w.task
        })
        .collect()
}

fn wake_all(tasks: Vec<Arc<Task>>) {
    for t in &tasks {
        crate::sched::wake(t);
    }
}

fn status_result(s: i32) -> SysResult {
    if s == 0 { Ok(0) } else { Err(Errno::from_i32(-s).unwrap_or(Errno::EINVAL)) }
}

/// The kernel's part of an undo list: its number (the sets keep the
/// adjustments by it), the sets it has adjustments in (namespace number,
/// semid; sorted, noted once the set's entry was made, so that an id of
/// no set costs nothing; those removed since are pruned when the list has
/// doubled) and the pid `exit_sem` writes as the semaphores' last.
struct UndoRecord {
    id: UndoId,
    pid: u32,
    sets: Vec<(u64, i32)>,
    /// The length at which the next note prunes removed sets.
    prune_at: usize,
}

/// The length below which an undo record is not pruned.
const PRUNE_MIN: usize = 64;
/// Sets undone (or looked at) per `SPACES` section of an exit or prune.
const UNDO_BATCH: usize = 64;

/// Undo list numbers (never reused).
static NEXT_UNDO: AtomicU64 = AtomicU64::new(1);
/// Undo records alive (an exit looks for its thread's list only when
/// some exist).
static UNDO_RECORDS: AtomicUsize = AtomicUsize::new(0);

impl Drop for UndoRecord {
    /// `exit_sem`: the list's last sharer let it go. Each set it touched
    /// gets the adjustments back, clamped to 0..=SEMVMX; a set removed
    /// meanwhile is skipped. `SPACES` is taken once per batch of sets of
    /// one namespace, with a preemption point between batches.
    fn drop(&mut self) {
        UNDO_RECORDS.fetch_sub(1, Ordering::Relaxed);
        let now = now_sec();
        let sets = core::mem::take(&mut self.sets);
        for same_ns in sets.chunk_by(|a, b| a.0 == b.0) {
            for batch in same_ns.chunks(UNDO_BATCH) {
                let tasks = with_tables_of(batch[0].0, |tb| {
                    let mut woken = Vec::new();
                    for &(_, semid) in batch {
                        if let Ok((_, set)) = tb.sem.get_mut(semid) {
                            set.exit_undo(self.id, self.pid, now, &mut woken);
                            set.settle();
                        }
                    }
                    settle_sem(woken)
                });
                if let Some(tasks) = tasks {
                    wake_all(tasks);
                }
                crate::sched::cond_resched();
            }
        }
    }
}

/// The calling thread's undo list (made at its first SEM_UNDO:
/// `get_undo_list`) and its number, with room for one more set in its
/// record (`ENOMEM` without). `ESRCH` when the thread has no record (it
/// always has one while in a system call: an operation that could never
/// be undone is not applied).
fn undo_list(t: &UThread) -> Result<(process::table::SharedSemUndo<Kernel>, UndoId)> {
    let list = table()
        .with_thread(t.tid, |th| match th.sem_undo() {
            Some(l) => l.clone(),
            None => {
                let l = process::table::SharedSemUndo::<Kernel>::default();
                let old = th.replace_sem_undo(Some(l.clone()));
                debug_assert!(old.is_none());
                l
            }
        })
        .ok_or(Errno::ESRCH)?;
    let mut g = list.lock();
    let ext = g.ext.get_or_insert_with(|| {
        UNDO_RECORDS.fetch_add(1, Ordering::Relaxed);
        Box::new(UndoRecord {
            id: NEXT_UNDO.fetch_add(1, Ordering::Relaxed),
            pid: t.pid,
            sets: Vec::new(),
            prune_at: PRUNE_MIN,
        })
    });
    let rec = ext.downcast_mut::<UndoRecord>().ok_or(Errno::ESRCH)?;
    rec.pid = t.pid;
    rec.sets.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    let id = rec.id;
    drop(g);
    Ok((list, id))
}

/// Set `semid` of namespace `ns` has list `list`'s entry now (made under
/// `SPACES`, which the caller let go): noted in its record, whose sets
/// removed since are dropped once it doubled.
fn note_undo_set(list: &process::table::SharedSemUndo<Kernel>, ns: u64, semid: i32) {
    let key = (ns, semid);
    let prune = {
        let mut g = list.lock();
        let Some(rec) = g.ext.as_mut().and_then(|e| e.downcast_mut::<UndoRecord>()) else { return };
        if let Err(at) = rec.sets.binary_search(&key) {
            // (room reserved by undo_list; a sharer's note may have taken it)
            rec.sets.insert(at, key);
        }
        if rec.sets.len() < rec.prune_at {
            return;
        }
        let mut copy = Vec::new();
        if copy.try_reserve_exact(rec.sets.len()).is_err() {
            return;
        }
        copy.extend_from_slice(&rec.sets);
        (rec.id, copy)
    };
    // which sets still hold this list's entry (IPC_RMID took the others'
    // with the set; their ids never come back)
    let (id, sets) = prune;
    let mut gone = Vec::new();
    for same_ns in sets.chunk_by(|a, b| a.0 == b.0) {
        for batch in same_ns.chunks(UNDO_BATCH) {
            let r = with_tables_of(batch[0].0, |tb| {
                for &(n, semid) in batch {
                    if !tb.sem.get(semid).is_ok_and(|(_, s)| s.has_undo(id)) && gone.try_reserve(1).is_ok() {
                        gone.push((n, semid));
                    }
                }
            });
            if r.is_none() {
                // the namespace is gone, and its sets with it
                for &k in batch {
                    if gone.try_reserve(1).is_ok() {
                        gone.push(k);
                    }
                }
            }
            crate::sched::cond_resched();
        }
    }
    let mut g = list.lock();
    let Some(rec) = g.ext.as_mut().and_then(|e| e.downcast_mut::<UndoRecord>()) else { return };
    rec.sets.retain(|k| gone.binary_search(k).is_err());
    rec.prune_at = (rec.sets.len() * 2).max(PRUNE_MIN);
}

/// exit_sem's pid: the exiting process lets its undo list go (the drop
/// of the last sharer's handle undoes).
pub fn exit_sem(tid: u32, pid: u32) {
    if UNDO_RECORDS.load(Ordering::Relaxed) == 0 {
        return;
    }
    let Some(Some(list)) = table().with_thread(tid, |th| th.replace_sem_undo(None)) else { return };
    if let Some(rec) = list.lock().ext.as_mut().and_then(|e| e.downcast_mut::<UndoRecord>()) {
        rec.pid = pid;
    }
    drop(list);
}

/// semget(2) as Linux's ksys_semget/ipcget: `EINVAL` for nsems outside
/// 0..=SEMMSL; an existing key: `EEXIST` with IPC_CREAT|IPC_EXCL, `EINVAL`
/// for more semaphores than it has, `EACCES`; a missing key without
/// IPC_CREAT `ENOENT`; a new set: nsems 0 `EINVAL`, past SEMMNS or
/// SEMMNI `ENOSPC`.
pub fn semget(t: &mut UThread, key: i32, nsems: i32, flags: i32) -> SysResult {
    let w = who(t);
    let now = now_sec();
    with_tables(&ns_of(t), |tb| {
        let [semmsl, semmns, _, semmni] = tb.limits.sem_ctls;
        if nsems < 0 || nsems > semmsl {
            return Err(Errno::EINVAL);
        }
        let nsems = nsems as usize;
        if let Some((index, s)) = tb.sem.find_key(key) {
            if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            if nsems > s.nsems() {
                return Err(Errno::EINVAL);
            }
            if !w.permits(&s.perm, want_of(flags)) {
                return Err(Errno::EACCES);
            }
            return Ok(tb.sem.id_of(index) as isize);
        }
        if key != IPC_PRIVATE && flags & IPC_CREAT == 0 {
            return Err(Errno::ENOENT);
        }
        if nsems == 0 {
            return Err(Errno::EINVAL);
        }
        if tb.used_sems + nsems > semmns.max(0) as usize {
            return Err(Errno::ENOSPC);
        }
        // newary: ENOMEM when the set does not fit (Linux: the cgroup)
        let perm = Perm::new(key, w.euid, w.egid, (flags & 0o777) as u32, 0);
        let mut set =
            Charged::make(&BUDGET, SemSet::<SemWaiter>::cost(nsems), || SemSet::new(perm, nsems, now))?;
        let index = tb.sem.alloc_index(semmni).ok_or(Errno::ENOSPC)?;
        let id = tb.sem.insert(index, |seq| {
            set.perm.seq = seq;
            set
        });
        tb.used_sems += nsems;
        Ok(id as isize)
    })
}

/// semop(2): semtimedop without a timeout.
pub fn semop(t: &mut UThread, semid: i32, sops: u64, nsops: u32) -> SysResult {
    do_semtimedop(t, semid, sops, nsops, None)
}

/// semtimedop(2): `timeout` relative, `EAGAIN` when it passes.
pub fn semtimedop(
    t: &mut UThread,
    semid: i32,
    sops: u64,
    nsops: u32,
    timeout: UserPtr<Timespec>,
) -> SysResult {
    // ksys_semtimedop: the timeout is copied first (its check comes later)
    let ts = if timeout.is_null() { None } else { Some(t.read(timeout)?) };
    do_semtimedop(t, semid, sops, nsops, ts)
}

/// do_semtimedop in Linux's order: E2BIG past SEMOPM, EINVAL for no
/// operation, EFAULT, EINVAL for a negative id or a bad timeout, EINVAL
/// for no such set, EFBIG for a semaphore past the set's end, EACCES;
/// then the operation is applied, fails (EAGAIN, ERANGE) or waits: for
/// its result, EIDRM when the set goes, EINTR on a signal (never
/// restarted), EAGAIN when the timeout passes.
fn do_semtimedop(t: &mut UThread, semid: i32, uops: u64, nsops: u32, ts: Option<Timespec>) -> SysResult {
    let ns = ns_of(t);
    let semopm = with_tables(&ns, |tb| tb.limits.sem_ctls[2]);
    if nsops as i64 > semopm as i64 {
        return Err(Errno::E2BIG);
    }
    if nsops < 1 {
        return Err(Errno::EINVAL);
    }
    let raw = t.read_slice(UserSlice::new(uops, nsops as usize * 6))?;
    let sops: Vec<SemBuf> =
        raw.chunks_exact(6).map(|c| SemBuf::from_bytes([c[0], c[1], c[2], c[3], c[4], c[5]])).collect();
    drop(raw);
    if semid < 0 {
        return Err(Errno::EINVAL);
    }
    let deadline = match ts {
        Some(ts) => Some(crate::sched::now_ns().saturating_add(ts.to_ns()?)),
        None => None,
    };
    let info = ipc::sem::sops_info(&sops);
    let w = who(t);
    // the list is held until its set is noted (its record cannot go
    // meanwhile); it is dropped with no lock held
    let list = if info.undo { Some(undo_list(t)?) } else { None };
    let undo = list.as_ref().map(|l| l.1);
    let mut made_undo = false;
    let status = Arc::new(AtomicI32::new(PENDING));
    let now = now_sec();
    let pid = t.pid;
    let (r, tasks) = with_tables(&ns, |tb| {
        let (_, set) = match tb.sem.get_mut(semid) {
            Ok(s) => s,
            Err(e) => return (Err(e), Vec::new()),
        };
        if usize::from(info.max) >= set.nsems() {
            return (Err(Errno::EFBIG), Vec::new());
        }
        if !w.permits(&set.perm, if info.alter { 2 } else { 4 }) {
            return (Err(Errno::EACCES), Vec::new());
        }
        if let Some(u) = undo
            && !set.has_undo(u)
        {
            // find_alloc_undo: ENOMEM when the adjustments do not fit
            let c = set.undo_cost();
            let r = set.reserve(c).and_then(|()| set.ensure_undo(u));
            set.settle();
            if let Err(e) = r {
                return (Err(e), Vec::new());
            }
            made_undo = true;
        }
        let mut woken = Vec::new();
        let waiter = || SemWaiter { status: status.clone(), task: crate::sched::current() };
        let r = set.semop(&sops, undo, pid, now, waiter, &mut woken);
        (r, settle_sem(woken))
    });
    wake_all(tasks);
    if made_undo && let Some((l, _)) = &list {
        note_undo_set(l, ns.ino(), semid);
    }
    drop(list);
    if r? == Semop::Done {
        return Ok(0);
    }
    let st = status.clone();
    let slept = sleep_interruptible(t.tid, move || st.load(Ordering::SeqCst) != PENDING, deadline);
    let s = status.load(Ordering::SeqCst);
    if s != PENDING {
        return status_result(s);
    }
    // a signal or the timeout: take the operation out, unless it got its
    // result meanwhile (stored under the lock we take)
    let gone = with_tables(&ns, |tb| {
        tb.sem.get_mut(semid).ok().and_then(|(_, set)| set.cancel(|w| Arc::ptr_eq(&w.status, &status)))
    });
    let s = status.load(Ordering::SeqCst);
    if gone.is_none() && s != PENDING {
        return status_result(s);
    }
    drop(gone);
    match slept {
        Err(Errno::ETIMEDOUT) => Err(Errno::EAGAIN),
        _ => Err(Errno::EINTR),
    }
}

/// `struct semid64_ds` of x86_64 (104 bytes).
fn semid_ds(s: &SemSetK, ns: &process::ns::UserNsRef) -> [u8; 104] {
    let mut b = [0u8; 104];
    ipc64_perm(&mut b, &s.perm, ns);
    b[48..56].copy_from_slice(&s.otime.to_le_bytes());
    b[64..72].copy_from_slice(&s.ctime.to_le_bytes());
    b[80..88].copy_from_slice(&(s.nsems() as u64).to_le_bytes());
    b
}

/// What a locked semctl step hands out: the result, and a removed set
/// and tasks to wake after the lock.
type Locked<T> = (Result<T>, Option<SemSetK>, Vec<Arc<Task>>);

/// semctl(2) as Linux's ksys_semctl (x86_64: no IPC_64 version bit; any
/// other command `EINVAL`). `arg` is the union: SETVAL's int or a pointer.
pub fn semctl(t: &mut UThread, semid: i32, semnum: i32, cmd: i32, arg: u64) -> SysResult {
    if semid < 0 {
        return Err(Errno::EINVAL);
    }
    let ns = ns_of(t);
    let w = who(t);
    let now = now_sec();
    let pid = t.pid;
    match cmd {
        IPC_INFO | SEM_INFO => {
            let (info, max) = with_tables(&ns, |tb| {
                let [msl, mns, opm, mni] = tb.limits.sem_ctls;
                let (usz, aem) = if cmd == SEM_INFO {
                    (tb.sem.len() as i32, tb.used_sems as i32)
                } else {
                    (20, ipc::sem::SEMAEM)
                };
                // struct seminfo: semmap, semmni, semmns, semmnu, semmsl,
                // semopm, semume, semusz, semvmx, semaem
                let v = [1_024_000_000, mni, mns, 1_024_000_000, msl, opm, 500, usz, ipc::sem::SEMVMX, aem];
                (v, tb.sem.max_index())
            });
            let mut b = [0u8; 40];
            for (i, v) in info.iter().enumerate() {
                b[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
            }
            t.write_slice(arg, &b)?;
            Ok(max as isize)
        }
        IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
            let user_ns = t.user_ns.clone();
            let (ds, ret) = with_tables(&ns, |tb| {
                let (index, s) = if cmd == IPC_STAT {
                    tb.sem.get(semid)?
                } else {
                    let i = semid & (IPCMNI - 1);
                    (i, tb.sem.at(i).ok_or(Errno::EINVAL)?)
                };
                if cmd != SEM_STAT_ANY && !w.permits(&s.perm, 4) {
                    return Err(Errno::EACCES);
                }
                Ok((semid_ds(s, &user_ns), if cmd == IPC_STAT { 0 } else { tb.sem.id_of(index) }))
            })?;
            t.write_slice(arg, &ds)?;
            Ok(ret as isize)
        }
        GETALL | GETVAL | GETPID | GETNCNT | GETZCNT => {
            let r = with_tables(&ns, |tb| -> Result<core::result::Result<isize, Vec<u8>>> {
                let (_, s) = tb.sem.get(semid)?;
                if !w.permits(&s.perm, 4) {
                    return Err(Errno::EACCES);
                }
                if cmd == GETALL {
                    let mut v = Vec::new();
                    v.try_reserve_exact(s.nsems() * 2).map_err(|_| Errno::ENOMEM)?;
                    s.values().for_each(|x| v.extend_from_slice(&x.to_le_bytes()));
                    return Ok(Err(v));
                }
                if semnum < 0 || semnum as usize >= s.nsems() {
                    return Err(Errno::EINVAL);
                }
                let n = semnum as usize;
                Ok(Ok(match cmd {
                    GETVAL => s.val(n) as isize,
                    GETPID => s.pid(n) as isize,
                    GETNCNT => s.ncnt(n as u16) as isize,
                    _ => s.zcnt(n as u16) as isize,
                }))
            })?;
            match r {
                // pid_vnr: the caller's PID namespace's number
                Ok(v) if cmd == GETPID => Ok(table().pid_seen(t.tid, v as u32) as isize),
                Ok(v) => Ok(v),
                Err(bytes) => t.write_slice(arg, &bytes).map(|_| 0),
            }
        }
        SETALL => {
            let nsems = with_tables(&ns, |tb| {
                let (_, s) = tb.sem.get(semid)?;
                if !w.permits(&s.perm, 2) {
                    return Err(Errno::EACCES);
                }
                Ok(s.nsems())
            })?;
            let raw = t.read_slice(UserSlice::new(arg, nsems * 2))?;
            let vals: Vec<u16> = raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            if vals.iter().any(|&v| i32::from(v) > ipc::sem::SEMVMX) {
                return Err(Errno::ERANGE);
            }
            let (r, _, tasks): Locked<()> = with_tables(&ns, |tb| match tb.sem.get_mut(semid) {
                Ok((_, s)) if s.nsems() == nsems => {
                    let mut woken = Vec::new();
                    s.setall(&vals, pid, now, &mut woken);
                    (Ok(()), None, settle_sem(woken))
                }
                _ => (Err(Errno::EIDRM), None, Vec::new()),
            });
            wake_all(tasks);
            r.map(|()| 0)
        }
        SETVAL => {
            let val = arg as u32 as i32;
            if !(0..=ipc::sem::SEMVMX).contains(&val) {
                return Err(Errno::ERANGE);
            }
            let (r, _, tasks): Locked<()> = with_tables(&ns, |tb| {
                let (_, s) = match tb.sem.get_mut(semid) {
                    Ok(s) => s,
                    Err(e) => return (Err(e), None, Vec::new()),
                };
                if semnum < 0 || semnum as usize >= s.nsems() {
                    return (Err(Errno::EINVAL), None, Vec::new());
                }
                if !w.permits(&s.perm, 2) {
                    return (Err(Errno::EACCES), None, Vec::new());
                }
                let mut woken = Vec::new();
                s.setval(semnum as usize, val, pid, now, &mut woken);
                (Ok(()), None, settle_sem(woken))
            });
            wake_all(tasks);
            r.map(|()| 0)
        }
        IPC_SET | IPC_RMID => {
            let set = if cmd == IPC_SET { Some(t.read(UserPtr::<[u8; 104]>::new(arg))?) } else { None };
            let user_ns = t.user_ns.clone();
            let (r, removed, tasks): Locked<()> =
                with_tables(&ns, |tb| sem_down(tb, semid, &w, set, &user_ns, now));
            wake_all(tasks);
            drop(removed);
            r.map(|()| 0)
        }
        _ => {
            log::debug!("pid {}: semctl command {cmd}: EINVAL", t.pid);
            Err(Errno::EINVAL)
        }
    }
}

/// semctl_down: IPC_SET or IPC_RMID by the owner, creator or
/// CAP_SYS_ADMIN (`EPERM` else).
fn sem_down(
    tb: &mut NsTables,
    semid: i32,
    w: &Who,
    set: Option<[u8; 104]>,
    user_ns: &process::ns::UserNsRef,
    now: i64,
) -> Locked<()> {
    let (index, s) = match tb.sem.get_mut(semid) {
        Ok(s) => s,
        Err(e) => return (Err(e), None, Vec::new()),
    };
    if !w.owns(&s.perm) {
        return (Err(Errno::EPERM), None, Vec::new());
    }
    match set {
        Some(b) => {
            let r = update_perm(&mut s.perm, &b[..48], user_ns);
            if r.is_ok() {
                s.ctime = now;
            }
            (r, None, Vec::new())
        }
        None => {
            // freeary: every sleeper fails with EIDRM, the id goes
            let Some(mut s) = tb.sem.remove(index) else { return (Err(Errno::EINVAL), None, Vec::new()) };
            tb.used_sems -= s.nsems();
            let mut woken = Vec::new();
            s.remove_all(&mut woken);
            (Ok(()), Some(s), settle_sem(woken))
        }
    }
}

/// Objects a /proc/sysvipc read copies per `SPACES` section (the lock
/// is let go between batches, with a preemption point, as Linux's
/// seq_file walk locks one object at a time).
const PROC_BATCH: usize = 128;

/// Copies the rows `row` makes of the live objects of `ids(tables)` in
/// batches of [`PROC_BATCH`], each batch under `SPACES`, and hands each
/// batch to `out` after the lock. A batch that cannot be allocated ends
/// the walk (the file is cut short).
fn walk_in_batches<T, R>(
    ipc: &Arc<IpcNs>,
    ids: impl Fn(&NsTables) -> &ipc::sysv::Ids<T>,
    row: impl Fn(&NsTables, i32, &T) -> R,
    mut out: impl FnMut(Vec<R>),
) where
    T: ipc::sysv::Object,
{
    let mut from = 0;
    loop {
        let mut rows: Vec<R> = Vec::new();
        if rows.try_reserve_exact(PROC_BATCH).is_err() {
            return;
        }
        let next = with_tables(ipc, |tb| {
            for (index, o) in ids(tb).iter_from(from) {
                if rows.len() == PROC_BATCH {
                    return Some(index);
                }
                rows.push(row(tb, index, o));
            }
            None
        });
        out(rows);
        match next {
            Some(i) => {
                from = i;
                crate::sched::cond_resched();
            }
            None => return,
        }
    }
}

/// Appends one formatted line to `out` (nothing when it cannot grow).
fn push_line(out: &mut alloc::string::String, line: core::fmt::Arguments<'_>) {
    use core::fmt::Write;
    if out.try_reserve(192).is_ok() {
        let _ = out.write_fmt(line);
    }
}

/// /proc/sysvipc/sem (sysvipc_sem_proc_show): the reader's namespace's
/// sets, ids as user namespace `ns` sees them; the sets are copied under
/// `SPACES` in batches and formatted after it.
pub fn proc_sysvipc_sem(ns: &process::ns::UserNsRef, ipc: &Arc<IpcNs>) -> alloc::string::String {
    let mut out = alloc::string::String::from(
        "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n",
    );
    walk_in_batches(
        ipc,
        |tb| &tb.sem,
        |tb, index, s| (s.perm.clone(), tb.sem.id_of(index), s.nsems(), s.otime, s.ctime),
        |rows| {
            for (p, id, nsems, otime, ctime) in rows {
                push_line(
                    &mut out,
                    format_args!(
                        "{:>10} {:>10}  {:>4o} {:>10} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10}\n",
                        p.key,
                        id,
                        p.mode,
                        nsems,
                        ns.uid_from(p.uid),
                        ns.gid_from(p.gid),
                        ns.uid_from(p.cuid),
                        ns.gid_from(p.cgid),
                        otime,
                        ctime
                    ),
                );
            }
        },
    );
    out
}

// ----- message queues -----

/// A msgsnd sleeper's token: woken (status 0) when there may be room,
/// `-EIDRM` when the queue goes.
pub struct MsgSender {
    status: Arc<AtomicI32>,
    task: Arc<Task>,
}

/// What a msgrcv sleeper gets.
struct RecvSlot {
    done: AtomicBool,
    got: spin::Mutex<Option<Result<Message>>>,
}

/// A msgrcv sleeper's token.
pub struct MsgReceiver {
    slot: Arc<RecvSlot>,
    task: Arc<Task>,
}

/// A message queue as the tables hold it (its memory from [`BUDGET`]).
pub type MsgQueueK = Charged<'static, MsgQueue<MsgSender, MsgReceiver>>;

/// Hands the receivers their results and marks the senders woken (under
/// the lock, `status` for senders); their tasks, to wake after it. The
/// messages handed over are the receivers' now (dropped by them).
fn settle_msg(
    senders: Vec<MsgSender>,
    status: i32,
    received: ipc::msg::Received<MsgReceiver>,
) -> Vec<Arc<Task>> {
    let mut tasks = Vec::new();
    for s in senders {
        s.status.store(status, Ordering::SeqCst);
        tasks.push(s.task);
    }
    for (r, m) in received {
        *r.slot.got.lock() = Some(m);
        r.slot.done.store(true, Ordering::SeqCst);
        tasks.push(r.task);
    }
    tasks
}

/// msgget(2) as ipcget: `EEXIST`, `EACCES`, `ENOENT`, `ENOSPC` past msgmni.
pub fn msgget(t: &mut UThread, key: i32, flags: i32) -> SysResult {
    let w = who(t);
    let now = now_sec();
    with_tables(&ns_of(t), |tb| {
        if let Some((index, q)) = tb.msg.find_key(key) {
            if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            if !w.permits(&q.perm, want_of(flags)) {
                return Err(Errno::EACCES);
            }
            return Ok(tb.msg.id_of(index) as isize);
        }
        if key != IPC_PRIVATE && flags & IPC_CREAT == 0 {
            return Err(Errno::ENOENT);
        }
        let qbytes = tb.limits.msg_ctlmnb.max(0) as u64;
        let perm = Perm::new(key, w.euid, w.egid, (flags & 0o777) as u32, 0);
        // newque: ENOMEM when the queue does not fit
        let mut q = Charged::new(&BUDGET, MsgQueue::new(perm, qbytes, now))?;
        let index = tb.msg.alloc_index(tb.limits.msg_ctlmni).ok_or(Errno::ENOSPC)?;
        let id = tb.msg.insert(index, |seq| {
            q.perm.seq = seq;
            q
        });
        Ok(id as isize)
    })
}

/// msgsnd(2) as ksys_msgsnd/do_msgsnd: the type read first (`EFAULT`),
/// `EINVAL` for a size past msgmax, a negative id or a type below 1, the
/// text copied (`EFAULT`), `EINVAL` for no such queue, `EACCES`; a full
/// queue `EAGAIN` with IPC_NOWAIT, else the sender waits for room (`EIDRM`
/// when the queue goes, `EINTR` for a handled signal).
pub fn msgsnd(t: &mut UThread, msqid: i32, msgp: u64, msgsz: usize, flags: i32) -> SysResult {
    let mtype: i64 = t.read(UserPtr::new(msgp))?;
    let ns = ns_of(t);
    let msgmax = with_tables(&ns, |tb| tb.limits.msg_ctlmax);
    if msgsz > msgmax.max(0) as usize || (msgsz as isize) < 0 || msqid < 0 {
        return Err(Errno::EINVAL);
    }
    if mtype < 1 {
        return Err(Errno::EINVAL);
    }
    let text = t.read_slice(UserSlice::new(msgp.wrapping_add(8), msgsz))?;
    let mut msg = Some(Message { mtype, text });
    let w = who(t);
    let (pid, tid) = (t.pid, t.tid);
    let mut first = true;
    loop {
        let status = Arc::new(AtomicI32::new(PENDING));
        let (r, tasks) = with_tables(&ns, |tb| {
            let (_, q) = match tb.msg.get_mut(msqid) {
                Ok(q) => q,
                Err(e) => return (Err(if first { e } else { Errno::EIDRM }), Vec::new()),
            };
            if !w.permits(&q.perm, 2) {
                return (Err(Errno::EACCES), Vec::new());
            }
            if q.fits(msgsz) {
                // load_msg: ENOMEM when the message does not fit (Linux:
                // the cgroup); then the queue's real size stays counted
                // (a message handed to a waiting receiver is not queued)
                if let Err(e) = q.reserve(msgsz.saturating_add(ipc::msg::MSG_COST)) {
                    return (Err(e), Vec::new());
                }
                let mut received = Vec::new();
                let r = match msg.take() {
                    Some(m) => q.send(m, pid, now_sec(), &mut received),
                    None => Ok(()),
                };
                q.settle();
                return (r.map(|()| true), settle_msg(Vec::new(), 0, received));
            }
            if flags & IPC_NOWAIT != 0 {
                return (Err(Errno::EAGAIN), Vec::new());
            }
            let me = MsgSender { status: status.clone(), task: crate::sched::current() };
            if let Err(e) = q.add_sender(me, msgsz) {
                return (Err(e), Vec::new());
            }
            (Ok(false), Vec::new())
        });
        wake_all(tasks);
        if r? {
            return Ok(0);
        }
        first = false;
        let st = status.clone();
        let _ = sleep_interruptible(tid, move || st.load(Ordering::SeqCst) != PENDING, None);
        // raced with RMID? then ss_del, then a signal
        let gone = with_tables(&ns, |tb| {
            tb.msg.get_mut(msqid).ok().and_then(|(_, q)| q.cancel_sender(|s| Arc::ptr_eq(&s.status, &status)))
        });
        drop(gone);
        if status.load(Ordering::SeqCst) == -Errno::EIDRM.as_i32() {
            return Err(Errno::EIDRM);
        }
        if crate::uthread::signal_pending(tid) || crate::uthread::removed() {
            return Err(Errno::ERESTARTNOHAND);
        }
    }
}

/// msgrcv(2) as do_msgrcv with do_msg_fill: `EINVAL` for a negative id
/// or size, MSG_COPY without IPC_NOWAIT or with MSG_EXCEPT; `EINVAL` for
/// no such queue, `EACCES`; the message chosen by `msgtyp` (0: the
/// first; positive: that type, or another with MSG_EXCEPT; negative: the
/// lowest type up to its absolute value; MSG_COPY: the one at that index,
/// left queued), `E2BIG` when longer than `msgsz` without MSG_NOERROR
/// (which cuts it), `ENOMSG` with IPC_NOWAIT when none; else it waits
/// (`EIDRM`, `EINTR`). The type is written at `msgp`, the text after it;
/// the size is returned.
pub fn msgrcv(t: &mut UThread, msqid: i32, msgp: u64, msgsz: usize, msgtyp: i64, flags: i32) -> SysResult {
    use ipc::msg::{MSG_COPY, MSG_EXCEPT, MSG_NOERROR};
    if msqid < 0 || (msgsz as isize) < 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MSG_COPY != 0 && (flags & MSG_EXCEPT != 0 || flags & IPC_NOWAIT == 0) {
        return Err(Errno::EINVAL);
    }
    let ns = ns_of(t);
    let mut copy_max = usize::MAX;
    if flags & MSG_COPY != 0 {
        // prepare_copy: load_msg of min(msgsz, msgmax) bytes at msgp
        let msgmax = with_tables(&ns, |tb| tb.limits.msg_ctlmax).max(0) as usize;
        drop(t.read_slice(UserSlice::new(msgp, msgsz.min(msgmax)))?);
        copy_max = msgmax;
    }
    let (typ, mode) = ipc::msg::convert_mode(msgtyp, flags);
    let noerror = flags & MSG_NOERROR != 0;
    let w = who(t);
    let (pid, tid) = (t.pid, t.tid);
    let mut first = true;
    let msg = loop {
        let slot = Arc::new(RecvSlot { done: AtomicBool::new(false), got: spin::Mutex::new(None) });
        let (r, tasks) = with_tables(&ns, |tb| {
            let (_, q) = match tb.msg.get_mut(msqid) {
                Ok(q) => q,
                Err(e) => return (Err(if first { e } else { Errno::EIDRM }), Vec::new()),
            };
            if !w.permits(&q.perm, 4) {
                return (Err(Errno::EACCES), Vec::new());
            }
            let mut senders = Vec::new();
            let got = q.receive(typ, mode, msgsz, noerror, pid, now_sec(), &mut senders);
            q.settle();
            match got {
                // copy_msg: EINVAL past min(msgsz, msgmax) (msgmax may
                // have been lowered since the message was sent)
                Ok(m) if flags & MSG_COPY != 0 && m.text.len() > msgsz.min(copy_max) => {
                    (Err(Errno::EINVAL), Vec::new())
                }
                Ok(m) => (Ok(Some(m)), settle_msg(senders, 0, Vec::new())),
                Err(Errno::ENOMSG) if flags & IPC_NOWAIT == 0 => {
                    let max = if noerror { i32::MAX as usize } else { msgsz };
                    let r = MsgReceiver { slot: slot.clone(), task: crate::sched::current() };
                    match q.add_receiver(r, typ, mode, max, tid) {
                        Ok(()) => (Ok(None), Vec::new()),
                        Err(e) => (Err(e), Vec::new()),
                    }
                }
                Err(e) => (Err(e), Vec::new()),
            }
        });
        wake_all(tasks);
        if let Some(m) = r? {
            break m;
        }
        first = false;
        let s = slot.clone();
        let _ = sleep_interruptible(tid, move || s.done.load(Ordering::SeqCst), None);
        if !slot.done.load(Ordering::SeqCst) {
            let gone = with_tables(&ns, |tb| {
                tb.msg
                    .get_mut(msqid)
                    .ok()
                    .and_then(|(_, q)| q.cancel_receiver(|r| Arc::ptr_eq(&r.slot, &slot)))
            });
            if gone.is_some() {
                drop(gone);
                if crate::uthread::signal_pending(tid) || crate::uthread::removed() {
                    return Err(Errno::ERESTARTNOHAND);
                }
                continue;
            }
        }
        match slot.got.lock().take() {
            Some(Ok(m)) => break m,
            Some(Err(Errno::EAGAIN)) | None => {
                if crate::uthread::signal_pending(tid) || crate::uthread::removed() {
                    return Err(Errno::ERESTARTNOHAND);
                }
            }
            Some(Err(e)) => return Err(e),
        }
    };
    // do_msg_fill: the type, then at most msgsz bytes (the message is
    // gone whatever the copies give, as Linux's)
    t.write(UserPtr::<i64>::new(msgp), msg.mtype)?;
    let n = msgsz.min(msg.text.len());
    t.write_slice(msgp.wrapping_add(8), &msg.text[..n])?;
    Ok(n as isize)
}

/// `struct msqid64_ds` of x86_64 (120 bytes).
fn msqid_ds(q: &MsgQueueK, ns: &process::ns::UserNsRef) -> [u8; 120] {
    let mut b = [0u8; 120];
    ipc64_perm(&mut b, &q.perm, ns);
    let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
    put(48, &q.stime.to_le_bytes());
    put(56, &q.rtime.to_le_bytes());
    put(64, &q.ctime.to_le_bytes());
    put(72, &(q.cbytes() as u64).to_le_bytes());
    put(80, &(q.qnum() as u64).to_le_bytes());
    put(88, &q.qbytes.to_le_bytes());
    put(96, &q.lspid.to_le_bytes());
    put(100, &q.lrpid.to_le_bytes());
    b
}

/// msgctl(2) as ksys_msgctl: IPC_INFO/MSG_INFO, IPC_STAT/MSG_STAT/
/// MSG_STAT_ANY, IPC_SET (msg_qbytes above msgmnb needs
/// CAP_SYS_RESOURCE: `EPERM`), IPC_RMID; `EINVAL` for a negative id or
/// command and any other command.
pub fn msgctl(t: &mut UThread, msqid: i32, cmd: i32, buf: u64) -> SysResult {
    if msqid < 0 || cmd < 0 {
        return Err(Errno::EINVAL);
    }
    let ns = ns_of(t);
    let w = who(t);
    let now = now_sec();
    match cmd {
        IPC_INFO | MSG_INFO => {
            let (v, seg, max) = with_tables(&ns, |tb| {
                let l = &tb.limits;
                // struct msginfo: msgpool, msgmap, msgmax, msgmnb, msgmni,
                // msgssz, msgtql, msgseg (unsigned short)
                let (pool, map, tql) = if cmd == MSG_INFO {
                    let (n, bytes) =
                        tb.msg.iter().fold((0usize, 0usize), |a, (_, q)| (a.0 + q.qnum(), a.1 + q.cbytes()));
                    (
                        tb.msg.len() as i32,
                        n.min(i32::MAX as usize) as i32,
                        bytes.min(i32::MAX as usize) as i32,
                    )
                } else {
                    (512_000, 16384, 16384)
                };
                (
                    [pool, map, l.msg_ctlmax, l.msg_ctlmnb, l.msg_ctlmni, 16, tql],
                    0xffffu16,
                    tb.msg.max_index(),
                )
            });
            let mut b = [0u8; 32];
            for (i, x) in v.iter().enumerate() {
                b[i * 4..i * 4 + 4].copy_from_slice(&x.to_le_bytes());
            }
            b[28..30].copy_from_slice(&seg.to_le_bytes());
            t.write_slice(buf, &b)?;
            Ok(max as isize)
        }
        IPC_STAT | MSG_STAT | MSG_STAT_ANY => {
            let user_ns = t.user_ns.clone();
            let (ds, ret) = with_tables(&ns, |tb| {
                let (index, q) = if cmd == IPC_STAT {
                    tb.msg.get(msqid)?
                } else {
                    let i = msqid & (IPCMNI - 1);
                    (i, tb.msg.at(i).ok_or(Errno::EINVAL)?)
                };
                if cmd != MSG_STAT_ANY && !w.permits(&q.perm, 4) {
                    return Err(Errno::EACCES);
                }
                Ok((msqid_ds(q, &user_ns), if cmd == IPC_STAT { 0 } else { tb.msg.id_of(index) }))
            })?;
            // pid_vnr of the last sender and receiver
            let mut ds = ds;
            for off in [96, 100] {
                let pid = u32::from_le_bytes([ds[off], ds[off + 1], ds[off + 2], ds[off + 3]]);
                if pid != 0 {
                    ds[off..off + 4].copy_from_slice(&table().pid_seen(t.tid, pid).to_le_bytes());
                }
            }
            t.write_slice(buf, &ds)?;
            Ok(ret as isize)
        }
        IPC_SET | IPC_RMID => {
            let set = if cmd == IPC_SET { Some(t.read(UserPtr::<[u8; 120]>::new(buf))?) } else { None };
            let user_ns = t.user_ns.clone();
            let resource = w.cred.has_cap(CAP_SYS_RESOURCE);
            let (r, removed, tasks) = with_tables(&ns, |tb| {
                let (index, q) = match tb.msg.get_mut(msqid) {
                    Ok(q) => q,
                    Err(e) => return (Err(e), None, Vec::new()),
                };
                if !w.owns(&q.perm) {
                    return (Err(Errno::EPERM), None, Vec::new());
                }
                let (mut senders, mut received) = (Vec::new(), Vec::new());
                match set {
                    Some(b) => {
                        // msgctl_down's msg_qbytes is an int, compared
                        // with the unsigned int msgmnb (-1 is past it)
                        // and widened to the unsigned long q_qbytes (-1:
                        // ULONG_MAX); checked under --linux
                        let qbytes = u64::from_le_bytes(b[88..96].try_into().unwrap_or([0; 8])) as u32;
                        if qbytes > tb.limits.msg_ctlmnb.max(0) as u32 && !resource {
                            return (Err(Errno::EPERM), None, Vec::new());
                        }
                        if let Err(e) = update_perm(&mut q.perm, &b[..48], &user_ns) {
                            return (Err(e), None, Vec::new());
                        }
                        q.set(qbytes as i32 as i64 as u64, now, &mut senders, &mut received);
                        (Ok(()), None, settle_msg(senders, 0, received))
                    }
                    None => {
                        let Some(mut q) = tb.msg.remove(index) else {
                            return (Err(Errno::EINVAL), None, Vec::new());
                        };
                        q.remove_all(&mut senders, &mut received);
                        let tasks = settle_msg(senders, -Errno::EIDRM.as_i32(), received);
                        (Ok(()), Some(q), tasks)
                    }
                }
            });
            wake_all(tasks);
            drop(removed);
            r.map(|()| 0)
        }
        _ => {
            log::debug!("pid {}: msgctl command {cmd}: EINVAL", t.pid);
            Err(Errno::EINVAL)
        }
    }
}

/// /proc/sysvipc/msg (sysvipc_msg_proc_show): the queues are copied
/// under `SPACES` in batches, the pids turned into the reader's PID
/// namespace's numbers (pid_nr_ns) and the lines formatted after it.
pub fn proc_sysvipc_msg(ns: &process::ns::UserNsRef, ipc: &Arc<IpcNs>, reader: u32) -> alloc::string::String {
    let mut out = alloc::string::String::from(
        "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n",
    );
    let seen = |pid: u32| if pid == 0 { 0 } else { table().pid_seen(reader, pid) };
    walk_in_batches(
        ipc,
        |tb| &tb.msg,
        |tb, index, q| {
            (
                q.perm.clone(),
                tb.msg.id_of(index),
                q.cbytes(),
                q.qnum(),
                [q.lspid, q.lrpid],
                [q.stime, q.rtime, q.ctime],
            )
        },
        |rows| {
            for (p, id, cbytes, qnum, [lspid, lrpid], [stime, rtime, ctime]) in rows {
                push_line(
                    &mut out,
                    format_args!(
                        "{:>10} {:>10}  {:>4o}  {:>10} {:>10} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10}\n",
                        p.key,
                        id,
                        p.mode,
                        cbytes,
                        qnum,
                        seen(lspid),
                        seen(lrpid),
                        ns.uid_from(p.uid),
                        ns.gid_from(p.gid),
                        ns.uid_from(p.cuid),
                        ns.gid_from(p.cgid),
                        stime,
                        rtime,
                        ctime
                    ),
                );
            }
        },
    );
    out
}
