//! Shared memory over file pages: memfd_create(2) with its seals
//! (fcntl `F_ADD_SEALS`/`F_GET_SEALS`), and System V shared memory
//! (shmget, shmat, shmdt, shmctl). Every object is an unlinked regular
//! file of the shared-memory filesystem, mapped through
//! `crate::filemap`, so its pages are the ones `read`/`write` see.
//!
//! Segments belong to the caller's IPC namespace (`process::ns::IpcNs`):
//! each namespace has its tables and limits (`NsTables`), dropped when
//! the namespace has no holder and no attachment left.
//!
//! A segment's pages are freed when it is removed (`IPC_RMID`) and its
//! last attachment goes, however it goes (shmdt, munmap, exit, exec): the
//! table keeps the page source strongly only until `IPC_RMID`, then the
//! mappings alone hold it, and the entry left in the table (a weak
//! reference) is swept by the next System V call.
//!
//! # Locks
//! `SPACES` (every IPC namespace's tables) is taken alone or before an address-space lock (shmat,
//! shmdt); never inside one. Nothing whose drop frees pages is dropped
//! under it: a removed segment's own reference is taken out and dropped
//! after the lock.

use super::SysResult;
use crate::filemap::{FilePages, file_pages};
use crate::proc::table;
use crate::uthread::UThread;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use linux_abi::args::{UserCStr, UserPtr};
use linux_abi::{Errno, Result};
use spin::Once;
use vfs::{File, Inode, RamFile};
use vm::PageSource;

/// The filesystem of memfds and System V segments (Linux's internal shm
/// mount), bounded as a tmpfs.
fn shm_fs() -> &'static Arc<Inode> {
    static FS: Once<Arc<Inode>> = Once::new();
    FS.call_once(crate::fs::new_fs)
}

/// The caller's credentials: (euid, egid, the vfs credential, whose
/// capabilities grant the overrides: `CAP_IPC_OWNER` the permission bits,
/// `CAP_SYS_ADMIN` the owner's IPC_SET/IPC_RMID, `CAP_IPC_LOCK` SHM_LOCK).
pub(super) fn creds(t: &UThread) -> (u32, u32, vfs::Cred) {
    let c = super::fs::cred(t);
    let ids = table().with_process(t.pid, |p| (p.creds().euid, p.creds().egid)).unwrap_or((0, 0));
    (ids.0, ids.1, c)
}

// ----- memfd -----

const MFD_CLOEXEC: u32 = 1;
const MFD_ALLOW_SEALING: u32 = 2;
const MFD_HUGETLB: u32 = 4;
/// MFD_NAME_MAX_LEN of mm/memfd.c: the name without "memfd:" and its NUL.
const MFD_NAME_MAX: usize = 249;

/// A memfd: an open file of an unlinked shm inode whose link reads
/// `/memfd:NAME (deleted)`.
struct Memfd {
    file: RamFile,
    name: Vec<u8>,
    /// F_SETOWN/F_SETSIG/O_ASYNC state of the description.
    owner: vfs::FileOwner,
}

impl File for Memfd {
    fn owner(&self) -> &vfs::FileOwner {
        &self.owner
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.file.read(buf)
    }
    fn write(&self, buf: &[u8]) -> Result<usize> {
        self.file.write(buf)
    }
    fn pread(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.file.pread(buf, offset)
    }
    fn pwrite(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.file.pwrite(buf, offset)
    }
    fn lseek(&self, offset: i64, whence: u32) -> Result<u64> {
        self.file.lseek(offset, whence)
    }
    fn stat(&self) -> Result<vfs::Stat> {
        self.file.stat()
    }
    fn truncate(&self, len: u64) -> Result<()> {
        self.file.truncate(len)
    }
    fn status_flags(&self) -> u32 {
        self.file.status_flags()
    }
    fn set_status_flags(&self, flags: u32) {
        self.file.set_status_flags(flags)
    }
    fn unread(&self, data: &[u8]) {
        self.file.unread(data)
    }
    fn inode(&self) -> Option<&Arc<Inode>> {
        self.file.inode()
    }
    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}

/// What /proc/<pid>/fd/N shows for a memfd: `/memfd:NAME (deleted)`.
pub fn memfd_link(file: &dyn File) -> Option<Vec<u8>> {
    let m = file.as_any()?.downcast_ref::<Memfd>()?;
    let mut n = b"/memfd:".to_vec();
    n.extend_from_slice(&m.name);
    n.extend_from_slice(b" (deleted)");
    Some(n)
}

/// memfd_create(2) as Linux 6.1's mm/memfd.c: unknown flags and
/// `MFD_HUGETLB` (no huge pages here) `EINVAL`, a name longer than 249
/// bytes `EINVAL`, a bad name pointer `EFAULT`.
pub fn memfd_create(t: &mut UThread, name: UserCStr, flags: u32) -> SysResult {
    if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MFD_HUGETLB != 0 {
        log::info!("pid {}: memfd_create MFD_HUGETLB unsupported (no huge pages): EINVAL", t.pid);
        return Err(Errno::EINVAL);
    }
    let name = match t.read_str(name, MFD_NAME_MAX + 1) {
        Ok(n) => n,
        Err(Errno::ENAMETOOLONG) => return Err(Errno::EINVAL),
        Err(e) => return Err(e),
    };
    let (uid, gid, _) = creds(t);
    let inode = Inode::new_unlinked(shm_fs(), 0o777, uid, gid);
    inode.set_seals(if flags & MFD_ALLOW_SEALING != 0 { 0 } else { vfs::F_SEAL_SEAL });
    let file = Memfd {
        owner: vfs::FileOwner::new(),
        file: RamFile::new_pseudo(inode, vfs::O_RDWR | vfs::O_LARGEFILE),
        name,
    };
    super::fs::install(t, Arc::new(file), flags & MFD_CLOEXEC != 0)
}

/// Whether some address space has a shared mapping of `inode` that may
/// write (walks every process: only asked when a write seal is added).
fn writably_mapped(inode: &Arc<Inode>) -> bool {
    let Some(o) = inode.map_observer() else { return false };
    let any: Arc<dyn core::any::Any + Send + Sync> = o;
    let Ok(pages) = any.downcast::<FilePages>() else { return false };
    let t = table();
    t.pids().into_iter().any(|pid| {
        t.with_process(pid, |p| p.vm().cloned())
            .flatten()
            .is_some_and(|vm| vm.lock().maps_source_writably(&*pages))
    })
}

/// fcntl F_ADD_SEALS: the file must be open for writing (`EPERM`).
pub fn add_seals(file: &Arc<dyn File>, seals: u64) -> SysResult {
    let inode = file.inode().ok_or(Errno::EINVAL)?;
    if !inode.can_map() {
        return Err(Errno::EINVAL);
    }
    if file.status_flags() & vfs::O_ACCMODE == vfs::O_RDONLY {
        return Err(Errno::EPERM);
    }
    let seals = u32::try_from(seals).map_err(|_| Errno::EINVAL)?;
    inode.add_seals(seals, || writably_mapped(inode)).map(|_| 0)
}

/// fcntl F_GET_SEALS.
pub fn get_seals(file: &Arc<dyn File>) -> SysResult {
    Ok(file.inode().ok_or(Errno::EINVAL)?.get_seals()? as isize)
}

// ----- System V shared memory -----

const IPC_PRIVATE: i32 = ipc::sysv::IPC_PRIVATE;
use super::sysv::{IPC_CREAT, IPC_EXCL, IPC_INFO, IPC_RMID, IPC_SET, IPC_STAT};
const SHM_LOCK: i32 = 11;
const SHM_UNLOCK: i32 = 12;
const SHM_STAT: i32 = 13;
const SHM_INFO: i32 = 14;
const SHM_STAT_ANY: i32 = 15;
const SHM_RDONLY: i32 = 0o10000;
const SHM_RND: i32 = 0o20000;
const SHM_REMAP: i32 = 0o40000;
const SHM_EXEC: i32 = 0o100000;
/// Mode bits shown by IPC_STAT: marked for removal, locked.
const SHM_DEST: u32 = 0o1000;
const SHM_LOCKED: u32 = 0o2000;
/// Linux's SHMMIN (include/uapi/linux/shm.h).
const SHMMIN: u64 = 1;
/// ids are `seq * SEQ_MULTIPLIER + index` (ipc/util.h, IPCMNI 32768).
const SEQ_MULTIPLIER: i32 = ipc::sysv::IPCMNI;

/// One segment: its permissions, times and pages.
struct Segment {
    perm: ipc::sysv::Perm,
    size: u64,
    atime: i64,
    dtime: i64,
    ctime: i64,
    cpid: u32,
    lpid: u32,
    /// The segment's own reference to its page source, until `IPC_RMID`
    /// (or its namespace's end).
    pages: Option<Arc<FilePages>>,
    /// The page source, which every attachment shares.
    source: Weak<FilePages>,
}

impl ipc::sysv::Object for Segment {
    fn perm(&self) -> &ipc::sysv::Perm {
        &self.perm
    }

    /// Whether the segment still exists: not removed, or still attached.
    fn alive(&self) -> bool {
        self.source.strong_count() > 0
    }
}

impl Segment {
    /// Attachments: the mappings holding the page source (Linux counts
    /// each VMA, splits included).
    fn nattch(&self) -> u64 {
        (self.source.strong_count() - usize::from(self.pages.is_some())) as u64
    }

    /// Whether `source` (a mapping's) is this segment's page source.
    fn is_source(&self, source: &Arc<dyn PageSource>) -> bool {
        core::ptr::addr_eq(Arc::as_ptr(source), self.source.as_ptr())
    }

    fn permits(&self, euid: u32, egid: u32, ipc_owner: bool, want: u32) -> bool {
        self.perm.permits(euid, egid, ipc_owner, want)
    }

    fn owner(&self, euid: u32, capable: bool) -> bool {
        self.perm.owner(euid, capable)
    }
}

/// One IPC namespace's tables (Linux's `struct ipc_namespace`): its
/// limits and segments. Made at the namespace's first System V call or
/// sysctl access, dropped ([`Spaces::reap`]) once the namespace record
/// has no holder left.
pub(super) struct NsTables {
    ns: Weak<IpcNs>,
    /// Its limits (the kernel.shm*, msg*, sem knobs).
    pub(super) limits: ipc::sysv::Limits,
    shm: ipc::sysv::Ids<Segment>,
    /// Its semaphore sets (`super::sysv`).
    pub(super) sem: ipc::sysv::Ids<super::sysv::SemSetK>,
    /// Semaphores in its sets (`used_sems`, against SEMMNS).
    pub(super) used_sems: usize,
    /// Its message queues (`super::sysv`).
    pub(super) msg: ipc::sysv::Ids<super::sysv::MsgQueueK>,
}

/// Every IPC namespace's tables by namespace number.
struct Spaces {
    by_ns: BTreeMap<u64, NsTables>,
    /// Every segment by its page source (the address of its
    /// `FilePages`, which the segment's weak reference keeps allocated,
    /// so no other source has it while the entry is here): its
    /// namespace and index. shmdt goes straight to its segment by the
    /// mapping's source. Made at shmget; an entry goes with its segment
    /// (sweep) or its namespace (reap).
    by_source: BTreeMap<usize, (u64, i32)>,
    /// Namespaces whose last holder went while a segment of theirs was
    /// still attached: checked at each reap until nothing is (an
    /// attachment holds its namespace, as Linux's `do_shmat`).
    lingering: alloc::collections::BTreeSet<u64>,
}

/// The IPC namespaces' tables. Taken alone or before an address-space
/// lock (shmat, shmdt); never inside one. Nothing whose drop frees pages
/// is dropped under it: a removed segment's own reference and a dead
/// namespace's tables are taken out and dropped after the lock.
static SPACES: crate::lockorder::Ranked<Spaces> = crate::lockorder::Ranked::new(
    crate::lockorder::LockClass::Shm,
    "shm::SPACES",
    Spaces {
        by_ns: BTreeMap::new(),
        by_source: BTreeMap::new(),
        lingering: alloc::collections::BTreeSet::new(),
    },
);

/// Numbers of IPC namespaces whose record was dropped (their last holder
/// went), for the next reap: filled without a lock by [`ipc_ns_gone`]
/// (the record may be dropped under any lock), emptied under `SPACES`.
static GONE: [core::sync::atomic::AtomicU64; 64] = [const { core::sync::atomic::AtomicU64::new(0) }; 64];
/// Set when [`GONE`] has numbers to look at.
static GONE_PENDING: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
/// Set when [`GONE`] was full: the next reap looks at every namespace.
static GONE_OVERFLOW: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Told the number of an IPC namespace whose record was dropped (the
/// process table's hook, `process::ns::IpcNs`'s drop): queued for the
/// next reap, without a lock.
pub fn ipc_ns_gone(ino: u64) {
    // the POSIX queues' tables are looked at too (they may exist
    // without System V ones)
    crate::syscall::mqueue::ipc_ns_gone();
    // a namespace gets tables only while a holder of its record runs a
    // System V call: with no other tables, it has none
    if OTHERS.load(Ordering::Acquire) == 0 {
        return;
    }
    if !GONE.iter().any(|slot| slot.compare_exchange(0, ino, Ordering::AcqRel, Ordering::Relaxed).is_ok()) {
        GONE_OVERFLOW.store(true, Ordering::Release);
    }
    GONE_PENDING.store(true, Ordering::Release);
}

/// Namespaces other than the initial one with tables (reaping costs
/// nothing while there are none).
static OTHERS: AtomicUsize = AtomicUsize::new(0);

use process::ns::IpcNs;

impl Spaces {
    /// The tables of `ns`, made (empty, with the default limits) at its
    /// first use. Namespace numbers are never reused.
    fn of(&mut self, ns: &Arc<IpcNs>) -> &mut NsTables {
        tables(&mut self.by_ns, ns)
    }

    /// Takes out the tables of namespaces nobody holds any more (Linux's
    /// `free_ipc_ns`): no process, no nsfs file and no attached segment
    /// (Linux's attachments hold their namespace). Only the namespaces
    /// whose record went since the last reap ([`ipc_ns_gone`]) and those
    /// still waiting for a detach are looked at, not every namespace. The
    /// caller drops the tables after the lock, which frees the segments'
    /// pages.
    fn reap(&mut self) -> Vec<NsTables> {
        let mut gone = Vec::new();
        if OTHERS.load(Ordering::Acquire) == 0 {
            return gone;
        }
        let pending = GONE_PENDING.swap(false, Ordering::AcqRel);
        if !pending && self.lingering.is_empty() {
            return gone;
        }
        let mut check: Vec<u64> = core::mem::take(&mut self.lingering).into_iter().collect();
        if pending {
            check.extend(GONE.iter().map(|slot| slot.swap(0, Ordering::AcqRel)).filter(|&n| n != 0));
            if GONE_OVERFLOW.swap(false, Ordering::AcqRel) {
                // more went than the queue holds: look at them all once
                check.extend(self.by_ns.iter().filter(|(_, t)| t.ns.strong_count() == 0).map(|(n, _)| *n));
            }
        }
        for n in check {
            // the initial namespace lives for ever (its record may be a
            // temporary copy for a caller without a process)
            let Some(t) = self.by_ns.get(&n) else { continue };
            if n == process::ns::INIT_IPC_INO || t.ns.strong_count() != 0 {
                continue;
            }
            // an attachment holds its namespace (do_shmat's get_ipc_ns):
            // a namespace with an attached segment stays till its detach
            if t.shm.iter().any(|(_, s)| s.nattch() != 0) {
                self.lingering.insert(n);
                continue;
            }
            if let Some(t) = self.by_ns.remove(&n) {
                OTHERS.fetch_sub(1, Ordering::Relaxed);
                for (_, s) in t.shm.iter() {
                    self.by_source.remove(&source_key(&s.source));
                }
                gone.push(t);
            }
        }
        gone
    }
}

/// The key of a page source in [`Spaces::by_source`]: its address.
fn source_key(source: &Weak<FilePages>) -> usize {
    source.as_ptr() as *const () as usize
}

/// The tables of `ns` in `by_ns`, made (empty, with the default limits)
/// at its first use. Namespace numbers are never reused.
fn tables<'a>(by_ns: &'a mut BTreeMap<u64, NsTables>, ns: &Arc<IpcNs>) -> &'a mut NsTables {
    by_ns.entry(ns.ino()).or_insert_with(|| {
        if !ns.is_initial() {
            OTHERS.fetch_add(1, Ordering::Release);
        }
        NsTables {
            ns: Arc::downgrade(ns),
            limits: ipc::sysv::Limits::default(),
            shm: ipc::sysv::Ids::new(),
            sem: ipc::sysv::Ids::new(),
            used_sems: 0,
            msg: ipc::sysv::Ids::new(),
        }
    })
}

/// Drops the tables of IPC namespaces that lost their last holder (a
/// process's exit, setns or unshare, an nsfs file's close): called where
/// the mount namespaces are reaped.
pub fn reap_namespaces() {
    if OTHERS.load(Ordering::Relaxed) == 0 {
        return;
    }
    let gone = SPACES.lock().reap();
    drop(gone);
}

/// Runs `f` on the tables of IPC namespace `ns` (made at first use)
/// under `SPACES`; namespaces without holders are reaped and dropped
/// after the lock. What `f` returns is dropped by the caller, after the
/// lock too.
pub(super) fn with_tables<R>(ns: &Arc<IpcNs>, f: impl FnOnce(&mut NsTables) -> R) -> R {
    let mut s = SPACES.lock();
    let gone = s.reap();
    let r = f(s.of(ns));
    drop(s);
    drop(gone);
    r
}

/// [`with_tables`] for namespace number `ino`, if it still has tables
/// (`None` once reaped).
pub(super) fn with_tables_of<R>(ino: u64, f: impl FnOnce(&mut NsTables) -> R) -> Option<R> {
    let mut s = SPACES.lock();
    let r = s.by_ns.get_mut(&ino).map(f);
    drop(s);
    r
}

/// The IPC namespace of process `pid` (the initial one for none).
pub(super) fn ipc_ns_of(pid: u32) -> Arc<IpcNs> {
    table().with_process(pid, |p| p.ns().ipc.clone()).unwrap_or_else(IpcNs::initial)
}

/// The IPC namespace of the running thread's process (a sysctl's reader
/// or writer).
fn current_ipc_ns() -> Arc<IpcNs> {
    let tid = crate::sched::current().id.load(Ordering::Relaxed) as u32;
    ipc_ns_of(crate::proc::table().tgid(tid).unwrap_or(1))
}

/// Reads the running thread's IPC namespace's limits.
pub fn limits() -> ipc::sysv::Limits {
    let ns = current_ipc_ns();
    let mut s = SPACES.lock();
    let gone = s.reap();
    let l = s.of(&ns).limits.clone();
    drop(s);
    drop(gone);
    l
}

/// Changes the running thread's IPC namespace's limits.
pub fn set_limits(f: impl FnOnce(&mut ipc::sysv::Limits)) {
    let ns = current_ipc_ns();
    let mut s = SPACES.lock();
    let gone = s.reap();
    f(&mut s.of(&ns).limits);
    drop(s);
    drop(gone);
}

fn now_sec() -> i64 {
    (crate::time::realtime_ns() / 1_000_000_000) as i64
}

/// Forgets segments of `ns` that were removed and whose last attachment
/// went (their pages went with it, as Linux's shm_close at the last
/// detach). What is dropped holds no page.
fn sweep(by_source: &mut BTreeMap<usize, (u64, i32)>, ns: &mut NsTables) {
    ns.shm.sweep(|s| {
        by_source.remove(&source_key(&s.source));
    });
}

/// shmget(2), in the order of Linux's ipcget: an existing key with
/// `IPC_CREAT | IPC_EXCL` is `EEXIST`, a size larger than the segment
/// `EINVAL`, then `EACCES`; a missing key without `IPC_CREAT` is
/// `ENOENT`; a size outside SHMMIN..shmmax `EINVAL`; past shmall or
/// shmmni `ENOSPC`. The caller's IPC namespace's segments and limits.
/// `key_t key, size_t size, int shmflg`.
pub fn shmget(t: &mut UThread, key: i32, size: usize, flags: i32) -> SysResult {
    let size = size as u64;
    let (euid, egid, cred) = creds(t);
    let ipc_owner = cred.has_cap(vfs::CAP_IPC_OWNER);
    let ns = ipc_ns_of(t.pid);
    let mut spaces = SPACES.lock();
    let gone = spaces.reap();
    let Spaces { by_ns, by_source, .. } = &mut *spaces;
    let segs = tables(by_ns, &ns);
    let r = shmget_in(segs, by_source, ns.ino(), t.pid, key, size, flags, (euid, egid, ipc_owner));
    drop(spaces);
    drop(gone);
    r
}

#[allow(clippy::too_many_arguments)]
fn shmget_in(
    segs: &mut NsTables,
    by_source: &mut BTreeMap<usize, (u64, i32)>,
    ns_ino: u64,
    pid: u32,
    key: i32,
    size: u64,
    flags: i32,
    who: (u32, u32, bool),
) -> SysResult {
    let (euid, egid, ipc_owner) = who;
    sweep(by_source, segs);
    if let Some((index, s)) = segs.shm.find_key(key) {
        if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
            return Err(Errno::EEXIST);
        }
        if size > s.size {
            return Err(Errno::EINVAL);
        }
        // ipcperms: the owner, group and other bits of the flags all ask
        let want = ((flags >> 6) | (flags >> 3) | flags) as u32 & 7;
        if !s.permits(euid, egid, ipc_owner, want) {
            return Err(Errno::EACCES);
        }
        return Ok((s.perm.seq * SEQ_MULTIPLIER + index) as isize);
    }
    if key != IPC_PRIVATE && flags & IPC_CREAT == 0 {
        return Err(Errno::ENOENT);
    }
    if !(SHMMIN..=segs.limits.shm_ctlmax).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let pages: u64 = segs.shm.iter_mut().map(|(_, s)| s.size.div_ceil(4096)).sum();
    if pages.checked_add(size.div_ceil(4096)).is_none_or(|p| p > segs.limits.shm_ctlall) {
        return Err(Errno::ENOSPC);
    }
    // __shmem_file_setup: no file larger than MAX_LFS_FILESIZE
    if size > vfs::MAX_FILE_SIZE {
        return Err(Errno::EINVAL);
    }
    let index = segs.shm.alloc_index(segs.limits.shm_ctlmni).ok_or(Errno::ENOSPC)?;
    let inode = Inode::new_unlinked(shm_fs(), 0o600, euid, egid);
    // the pages exist from the start, as Linux's shmem_kernel_file_setup
    inode.set_seals(0);
    inode.set_size(size)?;
    inode.set_seals(vfs::F_SEAL_SEAL | vfs::F_SEAL_SHRINK | vfs::F_SEAL_GROW);
    let pages = file_pages(&inode)?;
    let key_of = source_key(&Arc::downgrade(&pages));
    let now = now_sec();
    let id = segs.shm.insert(index, |seq| Segment {
        perm: ipc::sysv::Perm::new(key, euid, egid, (flags & 0o777) as u32, seq),
        size,
        atime: 0,
        dtime: 0,
        ctime: now,
        cpid: pid,
        lpid: 0,
        source: Arc::downgrade(&pages),
        pages: Some(pages),
    });
    by_source.insert(key_of, (ns_ino, index));
    Ok(id as isize)
}

/// shmat(2): maps the whole segment shared at `addr` (rounded down with
/// `SHM_RND`; else it must be page aligned: `EINVAL`), or where mmap
/// would put it; `SHM_RDONLY` maps it read-only. Without `SHM_REMAP` an
/// address range already in use is `EINVAL`. `EACCES` without the
/// permissions the mapping needs.
/// `int shmid, char *shmaddr, int shmflg`.
pub fn shmat(t: &mut UThread, id: i32, addr: UserPtr<u8>, flags: i32) -> SysResult {
    use vm::abi::{MAP_FIXED, MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE};
    let (euid, egid, cred) = creds(t);
    let mut addr = addr.addr();
    if addr == 0 && flags & SHM_REMAP != 0 {
        // do_shmat: SHM_REMAP needs an address
        return Err(Errno::EINVAL);
    }
    if !addr.is_multiple_of(4096) {
        if flags & SHM_RND != 0 && addr >= 4096 {
            addr &= !4095;
        } else {
            return Err(Errno::EINVAL);
        }
    }
    // a reference to the pages, dropped after the locks: if the attach
    // fails and the segment lost its last attachment meanwhile, its pages
    // are freed here, not under them
    let keep: Arc<FilePages>;
    let ns = ipc_ns_of(t.pid);
    let mut spaces = SPACES.lock();
    let segs = spaces.of(&ns);
    let (index, s) = segs.shm.get(id)?;
    let (want, mut prot) = if flags & SHM_RDONLY != 0 { (4, PROT_READ) } else { (6, PROT_READ | PROT_WRITE) };
    if flags & SHM_EXEC != 0 {
        prot |= PROT_EXEC;
    }
    if !s.permits(
        euid,
        egid,
        cred.has_cap(vfs::CAP_IPC_OWNER),
        want | if flags & SHM_EXEC != 0 { 1 } else { 0 },
    ) {
        return Err(Errno::EACCES);
    }
    let size = s.size;
    let pages = s.source.upgrade().ok_or(Errno::EINVAL)?;
    keep = pages.clone();
    let source: Arc<dyn PageSource> = pages;
    let map = vm::MapFile::new(source, alloc::format!("/SYSV{:08x} (deleted)", s.perm.key as u32))
        .with_access(true, true);
    // do_shmat() maps through do_mmap(): the caller's RLIMIT_AS
    let lim = t.space_limits();
    let mut vm = t.vm.lock();
    let mut mflags = MAP_SHARED;
    if addr != 0 {
        let end = addr.checked_add(size.next_multiple_of(4096)).ok_or(Errno::EINVAL)?;
        if flags & SHM_REMAP == 0 && vm.mappings().any(|m| (m.start as u64) < end && addr < m.end as u64) {
            return Err(Errno::EINVAL);
        }
        mflags |= MAP_FIXED;
    }
    let at = vm.limited(lim).mmap(addr as usize, size as usize, prot, mflags, Some(map), 0);
    drop(vm);
    if at.is_ok()
        && let Some(s) = segs.shm.at_mut(index)
    {
        s.atime = now_sec();
        s.lpid = t.pid;
    }
    drop(spaces);
    drop(keep);
    drop(ns);
    Ok(at? as isize)
}

/// shmdt(2): unmaps the attachment starting at `addr` (every mapping of
/// that segment from there to its size, as Linux); `EINVAL` when no
/// attachment starts there.
pub fn shmdt(t: &mut UThread, addr: UserPtr<u8>) -> SysResult {
    let addr = addr.addr();
    if !addr.is_multiple_of(4096) {
        return Err(Errno::EINVAL);
    }
    // the attachment's page source, dropped after the locks: the last
    // detach of a removed segment frees its pages there
    let Some((keep, 0)) = t.vm.lock().source_at(addr as usize) else {
        return Err(Errno::EINVAL);
    };
    // the segment's namespace may not be the caller's (attached before a
    // setns) nor have a process left: Linux's shmdt goes by the mapping,
    // and so does the index of segments by page source
    let key = Arc::as_ptr(&keep) as *const () as usize;
    let found = {
        let s = SPACES.lock();
        s.by_source.get(&key).and_then(|&(ns, index)| {
            let seg = s.by_ns.get(&ns)?.shm.at(index).filter(|seg| seg.is_source(&keep))?;
            Some((ns, index, seg.size))
        })
    };
    let Some((ns, index, size)) = found else {
        return Err(Errno::EINVAL);
    };
    // the mappings of this segment in [addr, end), one by one, under the
    // address-space lock alone; one that changed since the look-up above
    // is another thread's doing, as if it came first
    let end = addr.saturating_add(size.next_multiple_of(4096));
    {
        let mut vm = t.vm.lock();
        if !vm
            .source_at(addr as usize)
            .is_some_and(|(s, off)| off == 0 && core::ptr::addr_eq(Arc::as_ptr(&s), Arc::as_ptr(&keep)))
        {
            return Err(Errno::EINVAL);
        }
        let mut a = addr;
        while a < end {
            let Some(m) = vm.mappings().find(|m| m.end as u64 > a) else { break };
            if m.start as u64 >= end {
                break;
            }
            let (start, stop) = (m.start, m.end);
            let mine = vm
                .source_at(start)
                .is_some_and(|(s, _)| core::ptr::addr_eq(Arc::as_ptr(&s), Arc::as_ptr(&keep)));
            if mine {
                vm.munmap(start, stop.min(end as usize) - start)?;
            }
            a = stop as u64;
        }
    }
    // the detach time and pid, under SPACES again
    let mut spaces = SPACES.lock();
    let Spaces { by_ns, by_source, .. } = &mut *spaces;
    if let Some(tb) = by_ns.get_mut(&ns) {
        if let Some(seg) = tb.shm.at_mut(index).filter(|seg| seg.is_source(&keep)) {
            seg.dtime = now_sec();
            seg.lpid = t.pid;
        }
        sweep(by_source, tb);
    }
    drop(spaces);
    drop(keep);
    Ok(0)
}

/// /proc/sysvipc/shm (Linux's sysvipc_shm_proc_show on 64 bits): one
/// line per segment of IPC namespace `ipc` (the reader's) after the
/// header, the ids as user namespace `ns` sees them
/// (`from_kuid_munged(seq_user_ns, ...)`). `rss` and `swap` show 0: the
/// segment's resident pages are not counted here.
pub fn proc_sysvipc_shm(ns: &process::ns::UserNsRef, ipc: &Arc<IpcNs>) -> alloc::string::String {
    use core::fmt::Write;
    let mut out = alloc::string::String::from(
        "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n",
    );
    let mut spaces = SPACES.lock();
    let gone = spaces.reap();
    let segs = spaces.of(ipc);
    for (index, g) in segs.shm.iter() {
        let _ = writeln!(
            out,
            "{:>10} {:>10}  {:>4o} {:>21} {:>5} {:>5}  {:>5} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10} {:>21} {:>21}",
            g.perm.key,
            g.perm.seq * SEQ_MULTIPLIER + index,
            g.perm.mode,
            g.size,
            g.cpid,
            g.lpid,
            g.nattch(),
            ns.uid_from(g.perm.uid),
            ns.gid_from(g.perm.gid),
            ns.uid_from(g.perm.cuid),
            ns.gid_from(g.perm.cgid),
            g.atime,
            g.dtime,
            g.ctime,
            0,
            0
        );
    }
    drop(spaces);
    drop(gone);
    out
}

/// `struct shmid64_ds` of x86_64 (112 bytes): `struct ipc64_perm` (key,
/// uid, gid, cuid, cgid, mode, seq, two unused longs), then the segment's
/// size, times, pids and attach count. The ids as namespace `ns` sees
/// them (`kernel_to_ipc64_perm`: from_kuid_munged).
fn shmid_ds(s: &Segment, ns: &process::ns::UserNsRef) -> [u8; 112] {
    let mut b = [0u8; 112];
    super::sysv::ipc64_perm(&mut b, &s.perm, ns);
    let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
    put(48, &s.size.to_le_bytes());
    put(56, &s.atime.to_le_bytes());
    put(64, &s.dtime.to_le_bytes());
    put(72, &s.ctime.to_le_bytes());
    put(80, &s.cpid.to_le_bytes());
    put(84, &s.lpid.to_le_bytes());
    put(88, &s.nattch().to_le_bytes());
    b
}

/// shmctl(2): IPC_STAT/SHM_STAT/SHM_STAT_ANY, IPC_SET, IPC_RMID,
/// IPC_INFO, SHM_INFO, SHM_LOCK/SHM_UNLOCK, with Linux's permission rules
/// (`EACCES` to read without read permission, `EPERM` to change or remove
/// without being the owner, creator or root); other commands `EINVAL`.
/// `int shmid, int cmd, struct shmid_ds *buf`.
pub fn shmctl(t: &mut UThread, id: i32, cmd: i32, buf: UserPtr<u8>) -> SysResult {
    let (euid, egid, cred) = creds(t);
    let ipc_owner = cred.has_cap(vfs::CAP_IPC_OWNER);
    let buf = buf.addr();
    let cmd = cmd & !0x100; // IPC_64
    // a removed segment's own page reference, dropped after the lock
    let mut removed = None;
    let ns = ipc_ns_of(t.pid);
    let mut spaces = SPACES.lock();
    let gone = spaces.reap();
    let Spaces { by_ns, by_source, .. } = &mut *spaces;
    let segs = tables(by_ns, &ns);
    sweep(by_source, segs);
    let r = match cmd {
        IPC_INFO | SHM_INFO => {
            let highest = segs.shm.max_index();
            let mut b = [0u8; 128];
            if cmd == IPC_INFO {
                // struct shminfo64: shmmax, shmmin, shmmni, shmseg, shmall
                let l = &segs.limits;
                let mni = l.shm_ctlmni as u64;
                for (i, v) in [l.shm_ctlmax, SHMMIN, mni, mni, l.shm_ctlall].iter().enumerate() {
                    b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
                }
            } else {
                // struct shm_info: used_ids (int), shm_tot, shm_rss, shm_swp, ...
                let used = segs.shm.len() as i32;
                let tot: u64 = segs.shm.iter_mut().map(|(_, s)| s.size.div_ceil(4096)).sum();
                b[0..4].copy_from_slice(&used.to_le_bytes());
                b[8..16].copy_from_slice(&tot.to_le_bytes());
            }
            let len = if cmd == IPC_INFO { 72 } else { 48 };
            t.write_slice(buf, &b[..len]).map(|_| highest as isize)
        }
        IPC_STAT | SHM_STAT | SHM_STAT_ANY => {
            let found = if cmd == IPC_STAT {
                segs.shm.get(id)
            } else {
                segs.shm.at(id).map(|s| (id, s)).ok_or(Errno::EINVAL)
            };
            match found {
                Err(e) => Err(e),
                Ok((index, s)) => {
                    if cmd != SHM_STAT_ANY && !s.permits(euid, egid, ipc_owner, 4) {
                        Err(Errno::EACCES)
                    } else {
                        let ret = if cmd == IPC_STAT { 0 } else { s.perm.seq * SEQ_MULTIPLIER + index };
                        let ds = shmid_ds(s, &t.user_ns);
                        t.write_slice(buf, &ds).map(|_| ret as isize)
                    }
                }
            }
        }
        IPC_SET | IPC_RMID | SHM_LOCK | SHM_UNLOCK => {
            // shmctl_down copies the whole shmid64_ds in before it looks
            // the id up: a bad buffer is EFAULT whatever the id
            let set = if cmd == IPC_SET { Some(t.read(UserPtr::<[u8; 112]>::new(buf))) } else { None };
            let fault = match &set {
                Some(Err(e)) => Some(*e),
                _ => None,
            };
            match fault.map_or_else(|| segs.shm.get(id), Err) {
                Err(e) => Err(e),
                Ok((_, s))
                    if !s.owner(euid, cred.has_cap(vfs::CAP_SYS_ADMIN))
                        && !matches!(cmd, SHM_LOCK | SHM_UNLOCK) =>
                {
                    Err(Errno::EPERM)
                }
                Ok((index, _)) => {
                    let s = segs.shm.at_mut(index).ok_or(Errno::EINVAL)?;
                    match cmd {
                        IPC_SET => match set {
                            Some(Ok(b)) => {
                                let word =
                                    |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
                                // ipc_update_perm: the caller's
                                // namespace's ids, EINVAL unmapped
                                let (Some(uid), Some(gid)) =
                                    (t.user_ns.uid_into(word(4)), t.user_ns.gid_into(word(8)))
                                else {
                                    return Err(Errno::EINVAL);
                                };
                                s.perm.uid = uid;
                                s.perm.gid = gid;
                                s.perm.mode = (s.perm.mode & !0o777) | (word(20) & 0o777);
                                s.ctime = now_sec();
                                Ok(0)
                            }
                            Some(Err(e)) => Err(e),
                            None => Err(Errno::EFAULT),
                        },
                        IPC_RMID => {
                            s.perm.mode |= SHM_DEST;
                            s.perm.key = IPC_PRIVATE;
                            removed = s.pages.take();
                            Ok(0)
                        }
                        _ => {
                            if !s.owner(euid, cred.has_cap(vfs::CAP_IPC_LOCK)) {
                                Err(Errno::EPERM)
                            } else {
                                if cmd == SHM_LOCK {
                                    s.perm.mode |= SHM_LOCKED;
                                } else {
                                    s.perm.mode &= !SHM_LOCKED;
                                }
                                Ok(0)
                            }
                        }
                    }
                }
            }
        }
        _ => Err(Errno::EINVAL),
    };
    drop(spaces);
    drop(gone);
    // the pages go here when nothing is attached (the entry at the next
    // sweep); else with the last attachment
    drop(removed);
    r
}
