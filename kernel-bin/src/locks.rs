//! File locks over `crates/file-lock`: fcntl's POSIX and OFD record locks
//! and flock(2).
//!
//! One [`Registry`] holds, for each inode that has locks or sleepers, its
//! byte-range table (POSIX locks owned by the process, OFD locks owned by
//! the open file description), its flock table (owned by the open file
//! description) and a wait queue with a change counter; and the one
//! [`WaitGraph`] of POSIX F_SETLKW sleepers for `EDEADLK`. An entry keeps
//! its inode alive (its address is the key) and goes as soon as it has no
//! lock and no sleeper, so nothing outlives the files.
//!
//! An open file description is named by a `Weak<dyn File>`: it cannot be
//! mistaken for a later file at the same address, and a lock whose file is
//! gone is dropped at the next look at its inode. Locks go away:
//! - POSIX locks of a process: on any close of the file by the process
//!   ([`closed`]: close, dup2/dup3 over it, close_range; [`exec_closed`]
//!   for close-on-exec) and when its last thread exits ([`sweep`]);
//! - OFD and flock locks: on the close that drops the last reference to
//!   the description ([`closed`]), or when the process exit that dropped it
//!   is swept.
//!
//! - leases (`F_SETLEASE`): with the description, as OFD locks.
//!
//! After any of these the inode's sleepers wake and try again. Lock order:
//! the registry lock is taken with no other lock held (the fd table's is
//! released first) and is never held while sleeping, waking, dropping a
//! file or looking at the process table.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use file_lock::{FlockTable, Kind, LeaseTable, LockTable, Opens, Range, SetError, WaitGraph};
use linux_abi::args::{Fd, UserSlice};
use linux_abi::{Errno, Result};
use process::pid::Pid;
use vfs::{File, Inode};

use crate::proc::table;
use crate::sched::WaitQueue;
use crate::syscall::SysResult;
use crate::uthread::UThread;

/// An open file description, held weakly, with the descriptor it was
/// named by when a lease or a dnotify watch was set on it (the `si_fd` of
/// their signals; not part of the equality).
#[derive(Clone)]
pub struct FileRef(Weak<dyn File>, i32);

impl FileRef {
    /// The description `file`.
    pub fn of(file: &Arc<dyn File>) -> Self {
        FileRef(Arc::downgrade(file), -1)
    }

    /// The description `file`, named by descriptor `fd`.
    pub fn with_fd(file: &Arc<dyn File>, fd: i32) -> Self {
        FileRef(Arc::downgrade(file), fd)
    }

    /// Linux's `send_sigio(&filp->f_owner, fd, POLL_MSG)` for a lease
    /// break or a dnotify event: the F_SETSIG signal (or SIGIO) to the
    /// description's owner, if it is still open.
    pub fn signal_owner(&self) {
        if let Some(f) = self.0.upgrade() {
            crate::fasync::send_sigio(f.owner(), self.1, vfs::POLL_MSG);
            drop(f);
        }
    }
    fn addr(&self) -> usize {
        self.0.as_ptr() as *const u8 as usize
    }
    /// Whether the description is gone (no strong reference left).
    pub fn gone(&self) -> bool {
        self.0.strong_count() == 0
    }
}

impl PartialEq for FileRef {
    fn eq(&self, other: &Self) -> bool {
        self.addr() == other.addr()
    }
}
impl Eq for FileRef {}

/// Who holds a flock lock: the open file description (equality), and the
/// process that took it (for /proc/locks).
#[derive(Clone)]
pub struct FlockOwner {
    file: FileRef,
    pid: i32,
}

impl PartialEq for FlockOwner {
    fn eq(&self, other: &Self) -> bool {
        self.file == other.file
    }
}
impl Eq for FlockOwner {}

/// Who holds a byte-range lock.
#[derive(Clone, PartialEq, Eq)]
pub enum Owner {
    /// A POSIX lock: the process (its tgid).
    Process(Pid),
    /// An OFD lock: the open file description.
    File(FileRef),
}

impl Owner {
    fn gone(&self) -> bool {
        matches!(self, Owner::File(f) if f.gone())
    }
}

/// Sleepers on an inode's locks: woken, with the counter bumped, at every
/// change.
#[derive(Default)]
struct Waiters {
    wq: WaitQueue,
    changes: AtomicU64,
}

impl Waiters {
    fn wake(&self) {
        self.changes.fetch_add(1, Ordering::Relaxed);
        self.wq.wake_all();
    }
}

struct Entry {
    inode: Arc<Inode>,
    posix: LockTable<Owner>,
    flock: FlockTable<FlockOwner>,
    leases: LeaseTable<FileRef>,
    waiters: Arc<Waiters>,
    /// Tasks asleep in F_SETLKW or flock on this inode.
    sleepers: usize,
    /// Opens that broke a lease and are not installed yet (an [`Opening`]
    /// each): they count as opens for a new `F_SETLEASE`, as Linux's opener
    /// is counted in `i_writecount`/`i_readcount` before `break_lease`.
    opening: Opens,
}

impl Entry {
    /// Drops the locks of descriptions that are gone; whether there were.
    fn purge(&mut self) -> bool {
        let a = self.posix.release_where(Owner::gone);
        let b = self.flock.release_where(|o| o.file.gone());
        let c = self.leases.release_where(FileRef::gone);
        let d = self.leases.time_out(arch_x86_64::time::since_boot_ns());
        a || b || c || d
    }
    fn unused(&self) -> bool {
        self.posix.is_empty()
            && self.flock.is_empty()
            && self.leases.is_empty()
            && self.sleepers == 0
            && self.opening == Opens::default()
    }
}

/// Every inode's locks and the POSIX wait graph.
#[derive(Default)]
pub struct Registry {
    files: Vec<Entry>,
    waits: WaitGraph<Owner>,
}

static REGISTRY: crate::lockorder::Ranked<Registry> = crate::lockorder::Ranked::new(
    crate::lockorder::LockClass::FileLocks,
    "locks::REGISTRY",
    Registry { files: Vec::new(), waits: WaitGraph::new() },
);
/// How many entries the registry has: closes skip it when 0.
static ENTRIES: AtomicUsize = AtomicUsize::new(0);

impl Registry {
    fn find(&self, inode: &Arc<Inode>) -> Option<usize> {
        self.files.iter().position(|e| Arc::ptr_eq(&e.inode, inode))
    }

    /// The entry of `inode`, made if missing (`ENOLCK` without memory).
    fn entry(&mut self, inode: &Arc<Inode>) -> Result<usize> {
        if let Some(i) = self.find(inode) {
            return Ok(i);
        }
        self.files.try_reserve(1).map_err(|_| Errno::ENOLCK)?;
        self.files.push(Entry {
            inode: inode.clone(),
            posix: LockTable::new(),
            flock: FlockTable::new(),
            leases: LeaseTable::new(),
            waiters: Arc::new(Waiters::default()),
            sleepers: 0,
            opening: Opens::default(),
        });
        ENTRIES.store(self.files.len(), Ordering::Relaxed);
        Ok(self.files.len() - 1)
    }

    /// Removes the entry of `inode` if it has no lock and no sleeper; the
    /// inode reference is handed back to drop after the lock.
    fn tidy(&mut self, inode: &Arc<Inode>) -> Option<Entry> {
        let i = self.find(inode)?;
        if !self.files[i].unused() {
            return None;
        }
        let e = self.files.swap_remove(i);
        ENTRIES.store(self.files.len(), Ordering::Relaxed);
        Some(e)
    }
}

const F_GETLK: u64 = 5;
const F_SETLK: u64 = 6;
const F_SETLKW: u64 = 7;
const F_OFD_GETLK: u64 = 36;
const F_OFD_SETLK: u64 = 37;
const F_OFD_SETLKW: u64 = 38;

/// Whether `cmd` is one of fcntl's lock commands handled here.
pub fn is_lock_cmd(cmd: u64) -> bool {
    matches!(cmd, F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW)
}

/// The inode a lock on `file` goes to. Files without one (pipes, sockets,
/// epoll) cannot be locked here yet: `EINVAL` with a log line.
fn inode_of(t: &UThread, file: &Arc<dyn File>) -> Result<Arc<Inode>> {
    file.inode().cloned().ok_or_else(|| {
        log::info!("pid {}: file locks on a file without an inode are unsupported: EINVAL", t.pid);
        Errno::EINVAL
    })
}

/// struct flock as x86_64 lays it out (32 bytes).
struct Flock {
    raw: [u8; 32],
}

impl Flock {
    fn i16_at(&self, o: usize) -> i16 {
        i16::from_le_bytes([self.raw[o], self.raw[o + 1]])
    }
    fn i64_at(&self, o: usize) -> i64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.raw[o..o + 8]);
        i64::from_le_bytes(b)
    }
    fn l_type(&self) -> i16 {
        self.i16_at(0)
    }
    fn l_whence(&self) -> i16 {
        self.i16_at(2)
    }
    fn l_start(&self) -> i64 {
        self.i64_at(8)
    }
    fn l_len(&self) -> i64 {
        self.i64_at(16)
    }
    fn l_pid(&self) -> i32 {
        i32::from_le_bytes([self.raw[24], self.raw[25], self.raw[26], self.raw[27]])
    }
}

/// The range of a struct flock on `file` (Linux's flock_to_posix_lock).
fn range_of(file: &Arc<dyn File>, fl: &Flock) -> Result<Range> {
    let pos = if fl.l_whence() == file_lock::SEEK_CUR { file.lseek(0, 1).unwrap_or(0) } else { 0 };
    let size = if fl.l_whence() == file_lock::SEEK_END { file.stat()?.size.max(0) as u64 } else { 0 };
    Range::from_flock(fl.l_whence(), fl.l_start(), fl.l_len(), pos, size)
}

/// fcntl's F_GETLK, F_SETLK, F_SETLKW and their F_OFD_ forms on `file`,
/// with `arg` the user's struct flock.
pub fn fcntl(t: &mut UThread, file: Arc<dyn File>, cmd: u64, arg: u64) -> SysResult {
    if file.status_flags() & vfs::O_PATH != 0 {
        // Linux's check_fcntl_cmd: an O_PATH descriptor has no lock commands
        return Err(Errno::EBADF);
    }
    let mut fl = Flock { raw: [0; 32] };
    fl.raw.copy_from_slice(&t.read_slice(UserSlice::new(arg, 32))?);
    let ofd = matches!(cmd, F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW);
    let (owner, pid) =
        if ofd { (Owner::File(FileRef::of(&file)), -1) } else { (Owner::Process(t.pid), t.pid as i32) };
    if matches!(cmd, F_GETLK | F_OFD_GETLK) {
        // fcntl_getlk: the type, the range, then l_pid of an OFD request
        let kind = match file_lock::kind_of(fl.l_type())? {
            Some(k) => k,
            None => return Err(Errno::EINVAL),
        };
        let range = range_of(&file, &fl)?;
        if ofd && fl.l_pid() != 0 {
            return Err(Errno::EINVAL);
        }
        let inode = inode_of(t, &file)?;
        let found = with_entry(&inode, |e| (false, e.posix.test(&owner, kind, range).cloned())).flatten();
        match found {
            None => fl.raw[0..2].copy_from_slice(&file_lock::F_UNLCK.to_le_bytes()),
            Some(l) => {
                let (start, len) = l.range.to_flock();
                fl.raw[0..2].copy_from_slice(&file_lock::l_type(l.kind).to_le_bytes());
                fl.raw[2..4].copy_from_slice(&file_lock::SEEK_SET.to_le_bytes());
                fl.raw[8..16].copy_from_slice(&start.to_le_bytes());
                fl.raw[16..24].copy_from_slice(&len.to_le_bytes());
                // locks_translate_pid: the caller's number, 0 when unseen
                let pid = if l.pid > 0 { table().pid_seen(t.tid, l.pid as Pid) as i32 } else { l.pid };
                fl.raw[24..28].copy_from_slice(&pid.to_le_bytes());
            }
        }
        t.write_slice(arg, &fl.raw)?;
        return Ok(0);
    }
    // fcntl_setlk: the range and the type, the access mode, then l_pid of
    // an OFD request
    let range = range_of(&file, &fl)?;
    let kind = file_lock::kind_of(fl.l_type())?;
    let acc = file.status_flags() & vfs::O_ACCMODE;
    match kind {
        Some(Kind::Read) if acc == vfs::O_WRONLY => return Err(Errno::EBADF),
        Some(Kind::Write) if acc == vfs::O_RDONLY => return Err(Errno::EBADF),
        _ => {}
    }
    if ofd && fl.l_pid() != 0 {
        return Err(Errno::EINVAL);
    }
    let inode = inode_of(t, &file)?;
    let wait = matches!(cmd, F_SETLKW | F_OFD_SETLKW);
    loop {
        let (res, waiters, seen) =
            attempt(&inode, |reg, i| match reg.files[i].posix.set(&owner, pid, kind, range) {
                Ok(()) => (Try::Done(Ok(0)), true),
                Err(SetError::Blocked(b)) if wait => {
                    if ofd {
                        // OFD waiters have no deadlock detection (as Linux)
                        return (Try::Sleep(None), false);
                    }
                    // posix_locks_deadlock: does the blocker wait, through a
                    // chain of owners, for us?
                    if reg.waits.would_deadlock(&owner, &b.owner) {
                        return (Try::Done(Err(Errno::EDEADLK)), false);
                    }
                    match reg.waits.insert(owner.clone(), b.owner.clone()) {
                        Ok(()) => (Try::Sleep(Some(b.owner)), false),
                        Err(e) => (Try::Done(Err(e)), false),
                    }
                }
                Err(err) => (Try::Done(Err(err.errno())), false),
            })?;
        let blocker = match res {
            Try::Done(r) => return r,
            Try::Sleep(b) => b,
        };
        let slept = sleep_for_change(t, &waiters, seen);
        drop(waiters);
        after_sleep(&inode, |reg| {
            if let Some(b) = &blocker {
                reg.waits.remove(&owner, b);
            }
        });
        slept?;
    }
}

/// What an [`attempt`] decided.
enum Try<B> {
    /// The call's result.
    Done(SysResult),
    /// Sleep until the inode's locks change, then [`after_sleep`] (with
    /// what it must undo) and try again.
    Sleep(B),
}

/// One try under the registry lock: `f` looks at the entry of `inode`
/// (index given) and decides, saying whether the locks changed. Locks of
/// descriptions that are gone are dropped first. The sleepers are woken
/// after the lock is released; the change count to sleep on is read under
/// it, so no change after the try is missed.
fn attempt<B>(
    inode: &Arc<Inode>,
    f: impl FnOnce(&mut Registry, usize) -> (Try<B>, bool),
) -> Result<(Try<B>, Arc<Waiters>, u64)> {
    let (res, waiters, seen, wake, gone) = {
        let mut reg = REGISTRY.lock();
        let i = reg.entry(inode)?;
        let purged = reg.files[i].purge();
        let (res, changed) = f(&mut reg, i);
        let e = &mut reg.files[i];
        let wake = purged || changed;
        if wake {
            e.waiters.changes.fetch_add(1, Ordering::Relaxed);
        }
        let waiters = e.waiters.clone();
        let seen = waiters.changes.load(Ordering::Relaxed);
        if matches!(res, Try::Sleep(_)) {
            e.sleepers += 1;
        }
        (res, waiters, seen, wake, reg.tidy(inode))
    };
    drop(gone);
    if wake {
        waiters.wq.wake_all();
    }
    Ok((res, waiters, seen))
}

/// After the sleep of an [`attempt`] that said [`Try::Sleep`]: `undo`
/// (the wait graph's edge), one sleeper less, the entry removed if unused.
fn after_sleep(inode: &Arc<Inode>, undo: impl FnOnce(&mut Registry)) {
    let gone = {
        let mut reg = REGISTRY.lock();
        undo(&mut reg);
        if let Some(i) = reg.find(inode) {
            reg.files[i].sleepers = reg.files[i].sleepers.saturating_sub(1);
        }
        reg.tidy(inode)
    };
    drop(gone);
}

/// How long a lock sleeper sleeps at most before it looks again: the
/// last reference to a locked description can go without a close
/// (a syscall of another thread that still held the file when it was
/// closed, a mapping): [`Registry::entry`] then finds its locks gone, but
/// nothing woke the sleepers.
const RECHECK_NS: u64 = 1_000_000_000;

/// Sleeps interruptibly until the inode's locks change from `seen` (or
/// [`RECHECK_NS`] passed): `Ok` to try again, `ERESTARTSYS` on a signal.
fn sleep_for_change(t: &UThread, waiters: &Waiters, seen: u64) -> Result<()> {
    sleep_until_change(t, waiters, seen, None)
}

/// [`sleep_for_change`] until `until` (ns since boot) at the latest.
fn sleep_until_change(t: &UThread, waiters: &Waiters, seen: u64, until: Option<u64>) -> Result<()> {
    let mut deadline = arch_x86_64::time::since_boot_ns().saturating_add(RECHECK_NS);
    if let Some(u) = until {
        deadline = deadline.min(u);
    }
    let changed = || waiters.changes.load(Ordering::Relaxed) != seen;
    match crate::proc::sleep_on(t.tid, &[&waiters.wq], changed, Some(deadline)) {
        Err(Errno::ETIMEDOUT) => Ok(()),
        r => r,
    }
}

/// flock(2).
/// flock(2): `unsigned int fd, unsigned int cmd`.
pub fn flock(t: &mut UThread, fd: Fd, op: u32) -> SysResult {
    if op & file_lock::LOCK_MAND != 0 {
        // Linux 6.1 warns once and ignores the request
        log::info!("pid {}: flock LOCK_MAND ignored", t.pid);
        return Ok(0);
    }
    let (kind, nonblock) = file_lock::flock_op(op)?;
    let file = t.fd(fd)?;
    if file.status_flags() & vfs::O_PATH != 0 {
        // flock looks its fd up with fdget, which finds no O_PATH file
        return Err(Errno::EBADF);
    }
    let inode = inode_of(t, &file)?;
    let owner = FlockOwner { file: FileRef::of(&file), pid: t.pid as i32 };
    loop {
        let (res, waiters, seen) = attempt(&inode, |reg, i| match reg.files[i].flock.lock(&owner, kind) {
            Ok(Ok(done)) => (Try::Done(Ok(0)), done.released),
            Err(e) => (Try::Done(Err(e)), false),
            // a conversion may have dropped the old lock on the way
            Ok(Err(b)) if nonblock => (Try::Done(Err(Errno::EWOULDBLOCK)), b.released),
            Ok(Err(b)) => (Try::Sleep(()), b.released),
        })?;
        if let Try::Done(r) = res {
            return r;
        }
        let slept = sleep_for_change(t, &waiters, seen);
        drop(waiters);
        after_sleep(&inode, |_| {});
        slept?;
    }
}

/// Runs `f` on the entry of `inode`, if it has one, after dropping the
/// locks of descriptions that are gone; `f` says whether it changed the
/// locks. The sleepers are woken after the lock when something changed.
fn with_entry<R>(inode: &Arc<Inode>, f: impl FnOnce(&mut Entry) -> (bool, R)) -> Option<R> {
    let (out, waiters, gone) = {
        let mut reg = REGISTRY.lock();
        let i = reg.find(inode)?;
        let e = &mut reg.files[i];
        let purged = e.purge();
        let (changed, out) = f(e);
        let waiters = (changed || purged).then(|| e.waiters.clone());
        (out, waiters, reg.tidy(inode))
    };
    if let Some(w) = waiters {
        w.wake();
    }
    drop(gone);
    Some(out)
}

/// Releases what `release` picks in the entry of `inode` (if any).
fn release_in(inode: &Arc<Inode>, release: impl FnOnce(&mut Entry) -> bool) {
    with_entry(inode, |e| (release(e), ()));
}

/// Process `pid` closed a descriptor of `file` (close, dup2/dup3 over it,
/// close_range): its POSIX locks on the file go, and when this is the last
/// reference to the description (the caller drops it next), its OFD and
/// flock locks too. Call with no lock held, before dropping `file`.
pub fn closed(pid: Pid, file: &Arc<dyn File>) {
    crate::dnotify::closed(pid, file);
    crate::syscall::mqueue::closed(pid, file);
    if ENTRIES.load(Ordering::Relaxed) == 0 {
        return;
    }
    let Some(inode) = file.inode() else { return };
    let last = Arc::strong_count(file) == 1;
    let me = FileRef::of(file);
    release_in(inode, |e| {
        let mut changed = e.posix.release(&Owner::Process(pid));
        if last {
            changed |= e.posix.release(&Owner::File(me.clone()));
            changed |= e.flock.release_where(|o| o.file == me);
            changed |= e.leases.release_where(|f| *f == me);
        }
        changed
    });
}

/// Before an execve: the inodes of the close-on-exec descriptors of `t`,
/// whose POSIX locks [`exec_closed`] drops once the exec closed them.
pub fn exec_closing(t: &UThread) -> Vec<Arc<Inode>> {
    let mut out = Vec::new();
    if ENTRIES.load(Ordering::Relaxed) == 0 {
        return out;
    }
    let Ok(g) = t.files().lock() else { return out };
    for (fd, f) in g.iter() {
        if g.fd_flags(fd).is_ok_and(|fl| fl & fs_table::FD_CLOEXEC != 0)
            && let Some(i) = f.inode()
            && out.try_reserve(1).is_ok()
        {
            out.push(i.clone());
        }
    }
    out
}

/// After a successful execve by process `pid`: the close-on-exec files
/// ([`exec_closing`]) are closed, so its POSIX locks on them go, and the
/// locks of descriptions that went with them.
pub fn exec_closed(pid: Pid, inodes: Vec<Arc<Inode>>) {
    for inode in &inodes {
        release_in(inode, |e| e.posix.release(&Owner::Process(pid)));
    }
    drop(inodes);
}

/// After a thread exits: drops the POSIX locks of processes that have no
/// thread left and the locks of descriptions that are gone (the exit
/// closed the last descriptor), waking the sleepers of what changed.
pub fn sweep() {
    if ENTRIES.load(Ordering::Relaxed) == 0 {
        return;
    }
    // the process table is asked without the registry lock held
    let mut pids: Vec<Pid> = Vec::new();
    {
        let reg = REGISTRY.lock();
        for e in &reg.files {
            for l in e.posix.locks() {
                if let Owner::Process(p) = l.owner
                    && pids.last() != Some(&p)
                    && pids.try_reserve(1).is_ok()
                {
                    pids.push(p);
                }
            }
        }
    }
    // sorted, so the walk under the registry lock below costs a binary
    // search per lock, not a scan of every owner
    pids.sort_unstable();
    pids.dedup();
    pids.retain(|&p| table().with_process(p, |pr| pr.threads().is_empty()).unwrap_or(true));
    let mut wake: Vec<Arc<Waiters>> = Vec::new();
    let mut gone: Vec<Entry> = Vec::new();
    {
        let mut reg = REGISTRY.lock();
        let mut i = 0;
        while i < reg.files.len() {
            let e = &mut reg.files[i];
            let mut changed = e.purge();
            changed |=
                e.posix.release_where(|o| matches!(o, Owner::Process(p) if pids.binary_search(p).is_ok()));
            if changed && wake.try_reserve(1).is_ok() {
                wake.push(e.waiters.clone());
            }
            if e.unused() && gone.try_reserve(1).is_ok() {
                gone.push(reg.files.swap_remove(i));
                continue;
            }
            i += 1;
        }
        ENTRIES.store(reg.files.len(), Ordering::Relaxed);
    }
    for w in &wake {
        w.wake();
    }
    drop(wake);
    drop(gone);
}

/// /proc/locks as Linux's `lock_get_status` prints it: one line per lock,
/// `N: POSIX  ADVISORY  WRITE PID MAJ:MIN:INO START END` (`OFDLCK` and
/// pid -1 for OFD locks, `FLOCK` with `0 EOF` for flock locks, `EOF` for a
/// lock to the end of any file).
///
/// The pids are numbers of PID namespace `ns` (the proc mount's), and a lock whose
/// holder that namespace does not see is left out (Linux's locks_show and
/// locks_translate_pid; an OFD lock's -1 stays).
pub fn proc_locks(ns: &process::ns::PidNsRef) -> Vec<u8> {
    use core::fmt::Write;
    /// Room for one line: five numbers of at most 20 digits and the words.
    const LINE_MAX: usize = 192;
    type Snap =
        (Arc<Inode>, Vec<file_lock::Lock<Owner>>, Vec<(FlockOwner, Kind)>, Vec<file_lock::Lease<FileRef>>);
    // a copy taken under the lock, formatted after it; every allocation is
    // fallible (a user sets as many locks as memory allows): without
    // memory the listing stops short
    let mut snap: Vec<Snap> = Vec::new();
    {
        let reg = REGISTRY.lock();
        if snap.try_reserve(reg.files.len()).is_err() {
            return Vec::new();
        }
        for e in &reg.files {
            let (mut posix, mut flock, mut leases) = (Vec::new(), Vec::new(), Vec::new());
            if posix.try_reserve(e.posix.locks().len()).is_err()
                || flock.try_reserve(e.flock.locks().len()).is_err()
                || leases.try_reserve(e.leases.leases().len()).is_err()
            {
                break;
            }
            posix.extend_from_slice(e.posix.locks());
            flock.extend_from_slice(e.flock.locks());
            leases.extend_from_slice(e.leases.leases());
            snap.push((e.inode.clone(), posix, flock, leases));
        }
    }
    let mut out = String::new();
    let mut n = 0;
    let kind = |k: Kind| if k == Kind::Write { "WRITE" } else { "READ" };
    // 0 for a holder outside the reader's namespace
    let seen = |pid: i32| if pid <= 0 { pid } else { table().pid_in(pid as Pid, ns) as i32 };
    'files: for (inode, posix, flock, leases) in &snap {
        let st = inode.stat();
        let dev = format!("{:02x}:{:02x}:{}", vfs::major(st.dev), vfs::minor(st.dev), st.ino);
        for l in posix {
            let pid = seen(l.pid);
            if l.owner.gone() || pid == 0 {
                continue;
            }
            if out.try_reserve(LINE_MAX).is_err() {
                break 'files;
            }
            n += 1;
            let class = if matches!(l.owner, Owner::File(_)) { "OFDLCK" } else { "POSIX " };
            let end =
                if l.range.end == file_lock::OFF_MAX { String::from("EOF") } else { l.range.end.to_string() };
            let _ = writeln!(
                out,
                "{n}: {class} ADVISORY  {} {} {dev} {} {end}",
                kind(l.kind),
                pid,
                l.range.start
            );
        }
        for (o, k) in flock {
            let pid = seen(o.pid);
            if o.file.gone() || pid == 0 {
                continue;
            }
            if out.try_reserve(LINE_MAX).is_err() {
                break 'files;
            }
            n += 1;
            let _ = writeln!(out, "{n}: FLOCK  ADVISORY  {} {pid} {dev} 0 EOF", kind(*k));
        }
        for l in leases {
            let pid = seen(l.pid);
            if l.file.gone() || pid == 0 {
                continue;
            }
            if out.try_reserve(LINE_MAX).is_err() {
                break 'files;
            }
            n += 1;
            // lock_get_status: BREAKING while a break is pending, and the
            // type it is being broken to
            let state = if l.breaking() { "BREAKING  " } else { "ACTIVE    " };
            let ty = match l.target() {
                file_lock::F_WRLCK => "WRITE",
                file_lock::F_RDLCK => "READ",
                _ => "UNLCK",
            };
            let _ = writeln!(out, "{n}: LEASE  {state}{ty} {pid} {dev} 0 EOF");
        }
    }
    drop(snap);
    out.into_bytes()
}

const F_SETLEASE: u64 = 1024;
const F_GETLEASE: u64 = 1025;
/// Linux's `CAP_LEASE`.
const CAP_LEASE: u32 = 28;
/// `/proc/sys/fs/lease-break-time`'s default: how long (ns) a lease
/// holder has to answer a break before the kernel does it.
const LEASE_BREAK_NS: u64 = 45_000_000_000;

/// Whether `cmd` is one of fcntl's lease commands handled here.
pub fn is_lease_cmd(cmd: u64) -> bool {
    matches!(cmd, F_SETLEASE | F_GETLEASE)
}

/// Whether `file` is open for writing, and for reading only.
fn access_of(file: &dyn File) -> (bool, bool) {
    let acc = file.status_flags() & vfs::O_ACCMODE;
    (acc == vfs::O_WRONLY || acc == vfs::O_RDWR, acc == vfs::O_RDONLY)
}

/// The opens of `inode` (Linux's `i_writecount`, `i_readcount`): every
/// distinct description in any thread's descriptor table (O_PATH ones do
/// not count). A walk of every table, each under its own lock, with no
/// other lock held: `F_SETLEASE` is rare.
fn opens_of(inode: &Arc<Inode>) -> Result<Opens> {
    let mut seen: Vec<usize> = Vec::new();
    let mut tables: Vec<usize> = Vec::new();
    let mut opens = Opens::default();
    for pid in table().pids() {
        let mut tids: Vec<Pid> = Vec::new();
        table().with_process(pid, |p| {
            if tids.try_reserve(p.threads().len()).is_ok() {
                tids.extend_from_slice(p.threads());
            }
        });
        for tid in tids {
            let Some(files) = table().with_thread(tid, |th| th.files().map(|f| f.share())).flatten() else {
                continue;
            };
            let g = files.lock();
            let key = &*g as *const _ as usize;
            if tables.contains(&key) {
                continue;
            }
            tables.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            tables.push(key);
            for (_, f) in g.iter() {
                if !f.inode().is_some_and(|i| Arc::ptr_eq(i, inode)) || f.status_flags() & vfs::O_PATH != 0 {
                    continue;
                }
                let addr = Arc::as_ptr(f) as *const u8 as usize;
                let Err(at) = seen.binary_search(&addr) else { continue };
                seen.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                seen.insert(at, addr);
                match access_of(&**f) {
                    (true, _) => opens.write += 1,
                    (false, true) => opens.read += 1,
                    _ => {}
                }
            }
        }
    }
    Ok(opens)
}

/// fcntl's F_SETLEASE and F_GETLEASE on `file` (fs/locks.c's
/// fcntl_setlease, generic_setlease, fcntl_getlease).
pub fn lease_fcntl(t: &mut UThread, fd: i32, file: Arc<dyn File>, cmd: u64, arg: u64) -> SysResult {
    if file.status_flags() & vfs::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let me = FileRef::with_fd(&file, fd);
    if cmd == F_GETLEASE {
        let Some(inode) = file.inode() else { return Ok(file_lock::F_UNLCK as isize) };
        let ty = with_entry(inode, |e| (false, e.leases.get(&me))).unwrap_or(file_lock::F_UNLCK);
        return Ok(ty as isize);
    }
    // lease_alloc checks the type before anything else (F_UNLCK skips it)
    let l_type = arg as i64;
    let l_type = match l_type {
        0..=2 => l_type as i16,
        _ => return Err(Errno::EINVAL),
    };
    // generic_setlease: the owner or CAP_LEASE, then a regular file
    let Some(inode) = file.inode().cloned() else { return Err(Errno::EINVAL) };
    let st = inode.stat();
    let (fsuid, cap) =
        table().with_process(t.pid, |p| (p.creds().fsuid, p.creds().has_cap(CAP_LEASE))).unwrap_or((0, true));
    if fsuid != st.uid && !cap {
        return Err(Errno::EACCES);
    }
    if st.mode & vfs::S_IFMT != vfs::S_IFREG {
        return Err(Errno::EINVAL);
    }
    let opens = if l_type == file_lock::F_UNLCK { Opens::default() } else { opens_of(&inode)? };
    let (w, r) = access_of(&*file);
    let pid = t.pid as i32;
    let (res, _, _) = attempt(&inode, |reg, i| {
        let e = &mut reg.files[i];
        let all = Opens::new(opens.write + e.opening.write, opens.read + e.opening.read);
        match e.leases.set(&me, pid, l_type, w, r, all) {
            Ok(changed) => (Try::<()>::Done(Ok(0)), changed),
            Err(err) => (Try::Done(Err(err)), false),
        }
    })?;
    // lease_setup: the setter owns the file unless someone does already
    if l_type != file_lock::F_UNLCK && matches!(res, Try::Done(Ok(_))) {
        let _ = crate::fasync::setown(t, &*file, t.pid as i32, vfs::OwnerKind::Pid, false);
    }
    match res {
        Try::Done(r) => r,
        Try::Sleep(()) => Ok(0),
    }
}

/// An open that broke (or waited out) the leases of its inode, counted
/// as an open of it until dropped (after the file is installed).
pub struct Opening {
    inode: Option<Arc<Inode>>,
    write: bool,
}

impl Drop for Opening {
    fn drop(&mut self) {
        let Some(inode) = self.inode.take() else { return };
        let gone = {
            let mut reg = REGISTRY.lock();
            if let Some(i) = reg.find(&inode) {
                let o = &mut reg.files[i].opening;
                if self.write {
                    o.write = o.write.saturating_sub(1);
                } else {
                    o.read = o.read.saturating_sub(1);
                }
            }
            reg.tidy(&inode)
        };
        drop(gone);
        drop(inode);
    }
}

/// break_lease for an open of `file` with `flags` (call after the open,
/// before installing the file; keep the [`Opening`] until it is
/// installed): the leases an open for writing (any lease) or reading (a
/// write lease) conflicts with are broken, their holders get SIGIO, and the
/// opener sleeps, interruptibly, until they are downgraded or removed, by
/// their holder or after the lease-break time (45 s); with O_NONBLOCK it
/// fails with `EWOULDBLOCK` once the break is started.
pub fn break_lease(t: &UThread, file: &Arc<dyn File>, flags: u32) -> Result<Opening> {
    let mut out = Opening { inode: None, write: flags & vfs::O_ACCMODE != vfs::O_RDONLY };
    if ENTRIES.load(Ordering::Relaxed) == 0 || flags & vfs::O_PATH != 0 {
        return Ok(out);
    }
    let Some(inode) = file.inode() else { return Ok(out) };
    break_inode(t, inode, out.write, flags & vfs::O_NONBLOCK != 0, &mut out)?;
    Ok(out)
}

/// Before an open with `flags` of the inode `lookup` finds: with O_TRUNC,
/// break_lease as [`break_lease`] would after the open, so the holders
/// answer before the truncation (Linux breaks in do_dentry_open, before
/// handle_truncate); without, nothing.
pub fn break_lease_trunc_open(
    t: &UThread,
    flags: u32,
    lookup: impl FnOnce() -> Result<Arc<Inode>>,
) -> Result<Opening> {
    let mut out = Opening { inode: None, write: true };
    if ENTRIES.load(Ordering::Relaxed) == 0 || flags & (vfs::O_TRUNC | vfs::O_PATH) != vfs::O_TRUNC {
        return Ok(out);
    }
    let Ok(inode) = lookup() else { return Ok(out) };
    out.write = flags & vfs::O_ACCMODE != vfs::O_RDONLY;
    break_inode(t, &inode, out.write, flags & vfs::O_NONBLOCK != 0, &mut out)?;
    Ok(out)
}

/// break_lease(inode, O_WRONLY) for truncate(2) of the inode `lookup`
/// finds (looked up only when some inode has locks; a failed lookup is
/// left to the truncate to report).
pub fn break_lease_truncate(t: &UThread, lookup: impl FnOnce() -> Result<Arc<Inode>>) -> Result<()> {
    if ENTRIES.load(Ordering::Relaxed) == 0 {
        return Ok(());
    }
    let Ok(inode) = lookup() else { return Ok(()) };
    let mut o = Opening { inode: None, write: true };
    break_inode(t, &inode, true, false, &mut o)
}

fn break_inode(
    t: &UThread,
    inode: &Arc<Inode>,
    write: bool,
    nonblock: bool,
    out: &mut Opening,
) -> Result<()> {
    let mut started = false;
    loop {
        let mut to_signal: Vec<FileRef> = Vec::new();
        let mut until = None;
        let registered = out.inode.is_some();
        let (res, waiters, seen) = attempt(inode, |reg, i| {
            let e = &mut reg.files[i];
            if !e.leases.conflicts(write) {
                return (Try::Done(Ok(0)), false);
            }
            if !registered {
                if write {
                    e.opening.write += 1;
                } else {
                    e.opening.read += 1;
                }
            }
            if !started {
                let now = arch_x86_64::time::since_boot_ns();
                let mut files = Vec::new();
                let r = e.leases.start_break_with(write, now.saturating_add(LEASE_BREAK_NS), |f| {
                    if files.try_reserve(1).is_ok() {
                        files.push(f.clone());
                    }
                });
                match r {
                    Ok(_) => to_signal = files,
                    Err(err) => return (Try::Done(Err(err)), false),
                }
            }
            if nonblock {
                return (Try::Done(Err(Errno::EWOULDBLOCK)), false);
            }
            until = e.leases.deadline(write);
            (Try::Sleep(()), false)
        })?;
        if !registered && matches!(res, Try::Sleep(()) | Try::Done(Err(_))) {
            // the attempt counted this open (it saw a conflict)
            out.inode = Some(inode.clone());
        }
        started = true;
        // (outside the registry lock: kill_fasync on each lease's file)
        for f in to_signal.drain(..) {
            f.signal_owner();
        }
        if let Try::Done(r) = res {
            return r.map(|_| ());
        }
        let slept = sleep_until_change(t, &waiters, seen, until);
        drop(waiters);
        after_sleep(inode, |_| {});
        slept?;
    }
}
