//! One IPC namespace's System V tables, as a value the kernel holds
//! (Linux's `struct ipc_namespace`): its limits (the
//! `/proc/sys/kernel/shm*`, `msg*`, `sem` and `/proc/sys/fs/mqueue/*`
//! knobs, [`Limits`]) and an id table per object kind ([`Ids`], after
//! ipc/util.c: ids `seq * IPCMNI + index`, indexes handed out cyclically,
//! keys looked up, `ipcperms` and the owner rule on [`Perm`]).
//!
//! What an object holds (a segment's pages, a queue's messages) is the
//! kernel's type `T`; the kernel makes one [`Ids`] per namespace and kind,
//! and when the namespace's last user goes it takes the table out and
//! drops what it held, outside its locks.
//!
//! ```
//! use ipc::sysv::{Ids, Limits, Perm, Object};
//! struct Seg { perm: Perm }
//! impl Object for Seg { fn perm(&self) -> &Perm { &self.perm } }
//! let mut ids: Ids<Seg> = Ids::new();
//! let lim = Limits::default();
//! let index = ids.alloc_index(lim.shm_ctlmni).unwrap();
//! let id = ids.insert(index, |seq| Seg { perm: Perm::new(42, 1000, 1000, 0o600, seq) });
//! assert_eq!(id, 0);
//! assert_eq!(ids.find_key(42).map(|(i, _)| ids.id_of(i)), Some(0));
//! assert!(ids.get(id).is_ok());
//! assert_eq!(ids.get(id + ipc::sysv::IPCMNI).err(), Some(linux_abi::Errno::EINVAL));
//! ```

use alloc::collections::BTreeMap;
use linux_abi::{Errno, Result};

/// The largest number of objects of one kind and the id multiplier
/// (`IPCMNI`, 32768 without `ipcmni_extend`).
pub const IPCMNI: i32 = 32768;
/// The key that never names an existing object (`IPC_PRIVATE`).
pub const IPC_PRIVATE: i32 = 0;
/// `ipc_min_cycle`: indexes cycle over at least this many slots
/// (`RADIX_TREE_MAP_SIZE`).
const MIN_CYCLE: i32 = 64;

/// A namespace's limits, with Linux 6.1's defaults (`shm_init_ns`,
/// `msg_init_ns`, `sem_init_ns`, `mq_init_ns`): a new namespace starts
/// with these, not with its parent's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `kernel.shmmax`: the largest segment in bytes.
    pub shm_ctlmax: u64,
    /// `kernel.shmall`: all segments' pages together.
    pub shm_ctlall: u64,
    /// `kernel.shmmni`: how many segments.
    pub shm_ctlmni: i32,
    /// `kernel.shm_rmid_forced`: segments go with their creator's exit.
    pub shm_rmid_forced: bool,
    /// `kernel.msgmax`: the largest message.
    pub msg_ctlmax: i32,
    /// `kernel.msgmnb`: a queue's default byte limit.
    pub msg_ctlmnb: i32,
    /// `kernel.msgmni`: how many queues.
    pub msg_ctlmni: i32,
    /// `kernel.sem`: SEMMSL, SEMMNS, SEMOPM, SEMMNI.
    pub sem_ctls: [i32; 4],
    /// `fs.mqueue.queues_max`.
    pub mq_queues_max: i32,
    /// `fs.mqueue.msg_max`.
    pub mq_msg_max: i32,
    /// `fs.mqueue.msgsize_max`.
    pub mq_msgsize_max: i32,
    /// `fs.mqueue.msg_default`.
    pub mq_msg_default: i32,
    /// `fs.mqueue.msgsize_default`.
    pub mq_msgsize_default: i32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            shm_ctlmax: u64::MAX - (1 << 24),
            shm_ctlall: u64::MAX - (1 << 24),
            shm_ctlmni: 4096,
            shm_rmid_forced: false,
            msg_ctlmax: 8192,
            msg_ctlmnb: 16384,
            msg_ctlmni: 32000,
            sem_ctls: [32000, 1_024_000_000, 500, 32000],
            mq_queues_max: 256,
            mq_msg_max: 10,
            mq_msgsize_max: 8192,
            mq_msg_default: 10,
            mq_msgsize_default: 8192,
        }
    }
}

/// `struct kern_ipc_perm`'s identity: key, owner and creator ids (the
/// kernel's), mode bits and the sequence number of its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Perm {
    /// The key (`IPC_PRIVATE` once removed).
    pub key: i32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Creator user id.
    pub cuid: u32,
    /// Creator group id.
    pub cgid: u32,
    /// Permission bits and the kind's flag bits above them.
    pub mode: u32,
    /// The sequence part of its id.
    pub seq: i32,
}

impl Perm {
    /// A new object's permissions: owner and creator `uid`/`gid`.
    pub fn new(key: i32, uid: u32, gid: u32, mode: u32, seq: i32) -> Perm {
        Perm { key, uid, gid, cuid: uid, cgid: gid, mode, seq }
    }

    /// `ipcperms()`: `want` is 4 (read), 2 (write) and/or 1 (execute);
    /// `ipc_owner` (CAP_IPC_OWNER) grants what the bits refuse.
    pub fn permits(&self, euid: u32, egid: u32, ipc_owner: bool, want: u32) -> bool {
        self.permits_in(euid, |g| g == egid, ipc_owner, want)
    }

    /// [`permits`](Self::permits) with `in_group` saying whether the
    /// caller is in a group (`in_group_p`: its effective group or one of
    /// its supplementary groups).
    pub fn permits_in(&self, euid: u32, in_group: impl Fn(u32) -> bool, ipc_owner: bool, want: u32) -> bool {
        let bits = if euid == self.uid || euid == self.cuid {
            self.mode >> 6
        } else if in_group(self.gid) || in_group(self.cgid) {
            self.mode >> 3
        } else {
            self.mode
        } & 7;
        bits & want == want || ipc_owner
    }

    /// The owner or creator, or `capable` (the capability the command wants).
    pub fn owner(&self, euid: u32, capable: bool) -> bool {
        capable || euid == self.uid || euid == self.cuid
    }
}

/// What a table holds: something with permissions, which may outlive
/// its removal for a while (a segment still attached).
pub trait Object {
    /// Its permissions.
    fn perm(&self) -> &Perm;
    /// Whether it still exists (is found by id and listed).
    fn alive(&self) -> bool {
        true
    }
}

/// The objects of one kind in one namespace (`struct ipc_ids`).
#[derive(Debug)]
pub struct Ids<T> {
    by_index: BTreeMap<i32, T>,
    /// key -> index of the last object made with that key (not
    /// `IPC_PRIVATE`): `find_key` without a walk (Linux's key hash).
    by_key: BTreeMap<i32, i32>,
    /// index -> the key it was made with (its entry in `by_key` goes with
    /// it even when the object's key changed since).
    key_of: BTreeMap<i32, i32>,
    last_index: i32,
    seq: i32,
}

impl<T> Default for Ids<T> {
    fn default() -> Self {
        Ids::new()
    }
}

impl<T> Ids<T> {
    /// An empty table.
    pub const fn new() -> Ids<T> {
        Ids {
            by_index: BTreeMap::new(),
            by_key: BTreeMap::new(),
            key_of: BTreeMap::new(),
            last_index: -1,
            seq: 0,
        }
    }
}

impl<T: Object> Ids<T> {
    /// The id of the object at `index`.
    pub fn id_of(&self, index: i32) -> i32 {
        self.by_index.get(&index).map_or(-1, |o| o.perm().seq * IPCMNI + index)
    }

    /// Forgets objects that are no longer alive; what it drops is handed
    /// to `gone` (so that the caller may drop it outside its lock).
    pub fn sweep(&mut self, mut gone: impl FnMut(T)) {
        let dead: alloc::vec::Vec<i32> =
            self.by_index.iter().filter(|(_, o)| !o.alive()).map(|(i, _)| *i).collect();
        for i in dead {
            if let Some(o) = self.remove(i) {
                gone(o);
            }
        }
    }

    /// `ipc_obtain_object_check`: the object named by `id` (its index and
    /// sequence must match), else `EINVAL`.
    pub fn get(&self, id: i32) -> Result<(i32, &T)> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        let index = id % IPCMNI;
        match self.by_index.get(&index) {
            Some(o) if o.perm().seq == id / IPCMNI && o.alive() => Ok((index, o)),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The object at `index` (`SHM_STAT`'s argument), if alive.
    pub fn at(&self, index: i32) -> Option<&T> {
        self.by_index.get(&index).filter(|o| o.alive())
    }

    /// The object at `index`, to change.
    pub fn at_mut(&mut self, index: i32) -> Option<&mut T> {
        self.by_index.get_mut(&index)
    }

    /// `ipc_findkey`: the live object with key `key` (never `IPC_PRIVATE`),
    /// through the key index (an object whose key changed since it was
    /// made, as a removed segment's turns `IPC_PRIVATE`, is not found by
    /// its old one).
    pub fn find_key(&self, key: i32) -> Option<(i32, &T)> {
        if key == IPC_PRIVATE {
            return None;
        }
        let i = *self.by_key.get(&key)?;
        self.by_index.get(&i).filter(|o| o.perm().key == key && o.alive()).map(|o| (i, o))
    }

    /// `ipc_addid`'s index: `None` (`ENOSPC`) when `limit` objects exist;
    /// else the next free index after the last one given, cyclically over
    /// `max(in_use * 3 / 2, 64)` slots (at most `IPCMNI`), the sequence
    /// moving on when the index wraps (`ipc_idr_alloc`).
    pub fn alloc_index(&mut self, limit: i32) -> Option<i32> {
        let in_use = self.by_index.len();
        if in_use >= usize::try_from(limit.clamp(0, IPCMNI)).unwrap_or(0) {
            return None;
        }
        let max = i32::try_from(in_use * 3 / 2).unwrap_or(IPCMNI).clamp(MIN_CYCLE, IPCMNI);
        let start = (self.last_index + 1).min(max);
        let index = (start..max)
            .find(|i| !self.by_index.contains_key(i))
            .or_else(|| (0..start).find(|i| !self.by_index.contains_key(i)))?;
        if index <= self.last_index {
            self.seq = (self.seq + 1) % (i32::MAX / IPCMNI);
        }
        self.last_index = index;
        Some(index)
    }

    /// Puts the object `make(seq)` at `index` (from
    /// [`alloc_index`](Self::alloc_index)) and returns its id.
    pub fn insert(&mut self, index: i32, make: impl FnOnce(i32) -> T) -> i32 {
        let seq = self.seq;
        let o = make(seq);
        let key = o.perm().key;
        if key != IPC_PRIVATE {
            self.by_key.insert(key, index);
            self.key_of.insert(index, key);
        }
        self.by_index.insert(index, o);
        seq * IPCMNI + index
    }

    /// Takes the object at `index` out (`ipc_rmid`: its id is not found
    /// any more; the index may be given again).
    pub fn remove(&mut self, index: i32) -> Option<T> {
        let o = self.by_index.remove(&index)?;
        // the key it was made with (a removed segment's is IPC_PRIVATE
        // now), unless a later object with that key has the entry
        if let Some(key) = self.key_of.remove(&index)
            && self.by_key.get(&key) == Some(&index)
        {
            self.by_key.remove(&key);
        }
        Some(o)
    }

    /// The object named by `id`, to change ([`get`](Self::get)'s checks).
    pub fn get_mut(&mut self, id: i32) -> Result<(i32, &mut T)> {
        let (index, _) = self.get(id)?;
        self.by_index.get_mut(&index).map(|o| (index, o)).ok_or(Errno::EINVAL)
    }

    /// Live objects by index, in index order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &T)> {
        self.by_index.iter().filter(|(_, o)| o.alive()).map(|(i, o)| (*i, o))
    }

    /// Live objects by index from index `from` on, in index order (a
    /// walk in batches, the lock let go between them).
    pub fn iter_from(&self, from: i32) -> impl Iterator<Item = (i32, &T)> {
        self.by_index.range(from..).filter(|(_, o)| o.alive()).map(|(i, o)| (*i, o))
    }

    /// Every entry by index, alive or not, to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (i32, &mut T)> {
        self.by_index.iter_mut().map(|(i, o)| (*i, o))
    }

    /// Entries in the table (`in_use`: removed ones not yet swept count).
    pub fn len(&self) -> usize {
        self.by_index.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_index.is_empty()
    }

    /// `ipc_get_maxidx`: the highest index in use (0 when none; `IPC_INFO`'s
    /// and `SHM_INFO`'s return value).
    pub fn max_index(&self) -> i32 {
        self.by_index.keys().next_back().copied().unwrap_or(0)
    }

    /// Takes every entry out (the namespace's end: `free_ipcs`).
    pub fn take_all(&mut self) -> BTreeMap<i32, T> {
        self.by_key.clear();
        self.key_of.clear();
        core::mem::take(&mut self.by_index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct O(Perm, bool);
    impl Object for O {
        fn perm(&self) -> &Perm {
            &self.0
        }
        fn alive(&self) -> bool {
            self.1
        }
    }

    #[test]
    fn ids_cycle_and_wrap() {
        let mut ids: Ids<O> = Ids::new();
        let mut got = alloc::vec::Vec::new();
        for k in 0..3 {
            let i = ids.alloc_index(4096).unwrap();
            got.push(ids.insert(i, |s| O(Perm::new(k + 1, 0, 0, 0o600, s), true)));
        }
        assert_eq!(got, [0, 1, 2]);
        // removing and adding goes on after the last index, not back to 0
        ids.at_mut(0).unwrap().1 = false;
        ids.sweep(drop);
        let i = ids.alloc_index(4096).unwrap();
        assert_eq!(ids.insert(i, |s| O(Perm::new(9, 0, 0, 0, s), true)), 3);
        // over 64 slots with few in use: the index wraps to 0, seq 1
        ids.last_index = 63;
        let i = ids.alloc_index(4096).unwrap();
        assert_eq!(i, 0);
        assert_eq!(ids.insert(i, |s| O(Perm::new(10, 0, 0, 0, s), true)), IPCMNI);
        assert!(ids.get(0).is_err());
        assert!(ids.get(IPCMNI).is_ok());
        assert_eq!(ids.find_key(10).map(|(i, _)| i), Some(0));
        assert!(ids.find_key(IPC_PRIVATE).is_none());
        assert_eq!(ids.alloc_index(4), None, "limit reached");
        assert_eq!(ids.max_index(), 3);
        assert_eq!(ids.take_all().len(), 4);
        assert!(ids.is_empty());
        assert_eq!(ids.find_key(10).map(|(i, _)| i), None);
    }

    #[test]
    fn key_index_follows_the_objects() {
        let mut ids: Ids<O> = Ids::new();
        let add = |ids: &mut Ids<O>, key: i32| {
            let i = ids.alloc_index(4096).unwrap();
            ids.insert(i, |s| O(Perm::new(key, 0, 0, 0o600, s), true));
            i
        };
        let a = add(&mut ids, 5);
        let b = add(&mut ids, 6);
        let p = add(&mut ids, IPC_PRIVATE);
        assert_eq!(ids.find_key(5).map(|(i, _)| i), Some(a));
        assert_eq!(ids.find_key(6).map(|(i, _)| i), Some(b));
        assert!(ids.find_key(IPC_PRIVATE).is_none());
        // a removed segment's key turns IPC_PRIVATE while it lingers: not
        // found by its old key; a new object takes the key
        ids.at_mut(a).unwrap().0.key = IPC_PRIVATE;
        ids.at_mut(a).unwrap().1 = false;
        assert!(ids.find_key(5).is_none());
        let c = add(&mut ids, 5);
        assert_eq!(ids.find_key(5).map(|(i, _)| i), Some(c));
        // the old one's sweep leaves the new one's entry
        ids.sweep(drop);
        assert_eq!(ids.find_key(5).map(|(i, _)| i), Some(c));
        assert_eq!(ids.remove(c).map(|o| o.0.key), Some(5));
        assert!(ids.find_key(5).is_none());
        assert!(ids.remove(p).is_some());
        assert_eq!(ids.find_key(6).map(|(i, _)| i), Some(b));
        assert_eq!((ids.by_key.len(), ids.key_of.len()), (1, 1));
    }

    #[test]
    fn perms() {
        let p = Perm::new(1, 1000, 100, 0o640, 0);
        assert!(p.permits(1000, 5, false, 6));
        assert!(p.permits(7, 100, false, 4));
        assert!(!p.permits(7, 100, false, 2));
        assert!(!p.permits(7, 7, false, 4));
        assert!(p.permits(7, 7, true, 6));
        assert!(p.owner(1000, false) && !p.owner(7, false) && p.owner(7, true));
        // a supplementary group counts as the group
        assert!(p.permits_in(7, |g| g == 100, false, 4));
        assert!(!p.permits_in(7, |g| g == 101, false, 4));
        assert!(!p.permits_in(7, |g| g == 100, false, 2));
    }
}
