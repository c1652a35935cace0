//! Unix 98 pseudo-terminals: `/dev/ptmx` makes a pair, its slave is
//! `/dev/pts/N` on the devpts file system (one instance, mounted on
//! /dev/pts at boot and by `mount -t devpts`). The pair's state is
//! `tty::pty::Pair` (host-tested in crates/tty): the master's writes are
//! the slave's typed input through N_TTY, the slave's output is
//! OPOST-processed for the master. Job control on a slave is the
//! console's (`console::JobTty`, the `*_on` functions): a session leader
//! opening it without O_NOCTTY acquires it, TIOCSCTTY, SIGTTIN/SIGTTOU,
//! SIGHUP to the foreground group when the controlling process exits.
//! Closing the master hangs the slave up (reads 0, writes EIO, SIGHUP and
//! SIGCONT to the session leader); closing the last slave makes the
//! master read EIO once drained (what `script` and Python's `pty.spawn`
//! wait for). Packet mode (TIOCPKT) puts a status byte in front of each
//! master read (the bits are `tty::pty::Pair`'s); TIOCSTI pushes a byte
//! into either side's input; `/proc/sys/kernel/pty/max` bounds the pairs
//! (`ENOSPC`), `nr` counts them.
//!
//! # Locks
//! `PTYS` (the index of pairs) and each pair's `Pty::st` are taken alone,
//! never nested with each other or with `console::TTY`; signals and
//! wake-ups happen after they are released.

use crate::console::{self, JobTty};
use crate::lockorder::{LockClass, Ranked};
use crate::sched::WaitQueue;
use crate::uthread::UThread;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use linux_abi::args::{UserPtr, UserSlice};
use linux_abi::{Errno, Result};
use process::pid::Pid;
use tty::pty::{MasterRead, Pair};
use vfs::{File, Inode, Stat};

/// The slaves' major number (Linux's UNIX98_PTY_SLAVE_MAJOR).
pub const SLAVE_MAJOR: u32 = 136;
/// The devpts mount's `max` option's default (NR_UNIX98_PTY_MAX): the
/// indexes are below it.
const MAX_INDEX: u32 = 1 << 20;
/// `kernel.pty.max` (Linux's default 4096, `pty_limit`).
static PTY_MAX: AtomicU32 = AtomicU32::new(4096);
/// `kernel.pty.reserve` (1024, `pty_reserve`): pairs kept for the
/// devpts instances of the initial mount namespace, the only ones here
/// (so it bounds nothing yet).
static PTY_RESERVE: AtomicU32 = AtomicU32::new(1024);

/// `kernel.pty.max`.
pub fn max() -> u32 {
    PTY_MAX.load(Ordering::Relaxed)
}

/// Sets `kernel.pty.max` (0..=INT_MAX, checked by the sysctl table).
pub fn set_max(v: u32) {
    PTY_MAX.store(v, Ordering::Relaxed);
}

/// `kernel.pty.reserve`.
pub fn reserve() -> u32 {
    PTY_RESERVE.load(Ordering::Relaxed)
}

/// Sets `kernel.pty.reserve`.
pub fn set_reserve(v: u32) {
    PTY_RESERVE.store(v, Ordering::Relaxed);
}

/// `kernel.pty.nr`: the pairs in use.
pub fn count() -> u32 {
    PTYS.lock().len() as u32
}

struct PtySt {
    pair: Pair,
    session: Option<Pid>,
    pgrp: Option<Pid>,
}

/// One pair.
pub struct Pty {
    index: u32,
    st: Ranked<PtySt>,
    /// Every sleeper on either side; every change wakes them all.
    wq: Arc<WaitQueue>,
    /// Moves with every change (edge-triggered epoll).
    events: AtomicU32,
}

static PTYS: Ranked<BTreeMap<u32, Weak<Pty>>> = Ranked::new(LockClass::Ptys, "pty::PTYS", BTreeMap::new());

impl Pty {
    fn with<R>(&self, f: impl FnOnce(&mut PtySt) -> R) -> R {
        f(&mut self.st.lock())
    }

    fn changed(&self) {
        self.events.fetch_add(1, Ordering::Relaxed);
        self.wq.wake_all();
    }
}

impl JobTty for Pty {
    fn ctl(&self) -> (Option<Pid>, Option<Pid>) {
        self.with(|s| (s.session, s.pgrp))
    }
    fn set_ctl(&self, session: Option<Pid>, pgrp: Option<Pid>) {
        self.with(|s| {
            s.session = session;
            s.pgrp = pgrp;
        })
    }
    fn lflag(&self) -> u32 {
        self.with(|s| s.pair.slave().lflag())
    }
}

/// The live pairs (taken out of the index, which is then released).
fn live() -> Vec<Arc<Pty>> {
    PTYS.lock().values().filter_map(Weak::upgrade).collect()
}

fn by_index(n: u32) -> Option<Arc<Pty>> {
    PTYS.lock().get(&n).and_then(Weak::upgrade)
}

/// The pty slave that is session `sid`'s controlling terminal.
pub fn ctty_of(sid: Pid) -> Option<Arc<Pty>> {
    live().into_iter().find(|p| p.ctl().0 == Some(sid))
}

/// A process ended: the pty it controlled (if any) loses its session and
/// the foreground group gets SIGHUP.
pub fn process_exited(pid: Pid) {
    if let Some(p) = ctty_of(pid) {
        console::controlling_process_exited_on(&*p, pid);
    }
}

/// `tty_nr` and `tpgid` for /proc/PID/stat of a process of session `sid`
/// whose controlling terminal is a pty (`new_encode_dev(136, N)`).
pub fn stat_tty(sid: Pid) -> Option<(u32, i64)> {
    let p = ctty_of(sid)?;
    let n = p.index;
    let nr = (n & 0xff) | (SLAVE_MAJOR << 8) | ((n & !0xff) << 12);
    Some((nr, p.ctl().1.map_or(-1, i64::from)))
}

// ---- devpts ----

/// The devpts file system (one instance).
pub fn devpts() -> Arc<Inode> {
    static ROOT: spin::Once<Arc<Inode>> = spin::Once::new();
    ROOT.call_once(|| {
        let root = crate::fs::new_fs();
        let _ = root.chmod(&vfs::Cred::root(), 0o755);
        let cred = vfs::Cred::root();
        let ctx = vfs::Ctx::new(root.clone(), &cred);
        // the devpts mount's own ptmx (ptmxmode=000, as Linux's default)
        let _ = ctx.mknod(&root, b"ptmx", vfs::S_IFCHR, vfs::makedev(5, 2));
        root
    })
    .clone()
}

fn name_of(n: u32) -> alloc::string::String {
    alloc::format!("{n}")
}

/// The slave's node: mode 0620, owned by the opener's uid and group tty
/// (5), as devpts makes it.
fn add_node(n: u32, uid: u32) -> Result<Arc<Inode>> {
    let root = devpts();
    let cred = vfs::Cred::root();
    let ctx = vfs::Ctx::new(root.clone(), &cred);
    let node = ctx.mknod(&root, name_of(n).as_bytes(), vfs::S_IFCHR | 0o620, vfs::makedev(SLAVE_MAJOR, n))?;
    let _ = node.chown(&vfs::Cred::root(), Some(uid), Some(5));
    Ok(node)
}

fn remove_node(n: u32) {
    let root = devpts();
    let _ = vfs::Ctx::new(root.clone(), &vfs::Cred::root()).unlink(&root, name_of(n).as_bytes());
}

// ---- the master ----

/// The `vfs::File` methods both ends write alike: the pair's event count
/// and wait queue (`self.pty`), `as_any`, the end's own status flags.
macro_rules! pty_end_methods {
    () => {
        fn event_count(&self) -> u64 {
            u64::from(self.pty.events.load(Ordering::Relaxed))
        }

        fn wait_queue(&self) -> Option<Arc<dyn vfs::WaitQueue>> {
            Some(self.pty.wq.clone())
        }

        fn as_any(&self) -> Option<&dyn core::any::Any> {
            Some(self)
        }

        crate::eventfd::status_flags_methods!();
    };
}

/// An open `/dev/ptmx`: the pair's master side.
pub struct Master {
    pty: Arc<Pty>,
    inode: Arc<Inode>,
    flags: AtomicU32,
    /// F_SETOWN/F_SETSIG/O_ASYNC state of the description.
    owner: vfs::FileOwner,
}

/// Kernel memory a new pair needs beyond the free frames' reserve: its
/// records, the index entry and the slave's inode, with room to spare.
const PAIR_COST: u64 = 4096;

/// open(2) of `/dev/ptmx`: a new pair with the lowest free index, its
/// slave node in devpts. `ENOSPC` when `kernel.pty.max` pairs would be
/// reached (Linux's `devpts_new_index` counts the new one in before it
/// compares: at most max - 1 pairs), `ENOMEM` when the kernel's memory
/// is at its reserve (checked ahead, as clone's: stable Rust has no
/// fallible `Arc::new`; the pair's buffers grow fallibly later).
pub fn open_master(inode: Arc<Inode>, flags: u32) -> Result<Arc<dyn File>> {
    let table = crate::proc::table();
    let uid = table.tgid(tid()).and_then(|pid| table.with_process(pid, |p| p.creds().uid)).unwrap_or(0);
    let (free_frames, _) = arch_x86_64::mem::frames::stats();
    let heap_free = arch_x86_64::mem::heap::size().saturating_sub(arch_x86_64::mem::heap::used());
    let need = process::clone::CLONE_RESERVE + PAIR_COST;
    if (free_frames * 4096).saturating_add(heap_free) < need {
        log::info!("ptmx: no memory for a new pair: ENOMEM");
        return Err(Errno::ENOMEM);
    }
    let pty = {
        let mut ptys = PTYS.lock();
        ptys.retain(|_, w| w.strong_count() > 0);
        if ptys.len() as u64 + 1 >= u64::from(max()) {
            return Err(Errno::ENOSPC);
        }
        // the lowest free index: the first gap in the sorted keys
        let mut n = 0;
        for &k in ptys.keys() {
            if k != n {
                break;
            }
            n += 1;
        }
        if n >= MAX_INDEX {
            return Err(Errno::ENOSPC);
        }
        let pty = Arc::new(Pty {
            index: n,
            st: Ranked::new(
                LockClass::Pty,
                "pty::Pty::st",
                PtySt { pair: Pair::new(), session: None, pgrp: None },
            ),
            wq: Arc::new(WaitQueue::new()),
            events: AtomicU32::new(0),
        });
        ptys.insert(n, Arc::downgrade(&pty));
        pty
    };
    if let Err(e) = add_node(pty.index, uid) {
        PTYS.lock().remove(&pty.index);
        return Err(e);
    }
    Ok(Arc::new(Master { owner: vfs::FileOwner::new(), pty, inode, flags: AtomicU32::new(flags) }))
}

impl Drop for Master {
    fn drop(&mut self) {
        self.pty.with(|s| s.pair.close_master());
        console::hangup_on(&*self.pty);
        self.pty.changed();
        remove_node(self.pty.index);
        PTYS.lock().remove(&self.pty.index);
    }
}

fn tid() -> Pid {
    crate::sched::current().id.load(Ordering::Relaxed) as Pid
}

fn nonblock(flags: &AtomicU32) -> bool {
    flags.load(Ordering::Relaxed) & vfs::O_NONBLOCK != 0
}

impl File for Master {
    fn owner(&self) -> &vfs::FileOwner {
        &self.owner
    }

    fn fasync(&self) -> bool {
        true
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.pty.with(|s| s.pair.master_read(buf)) {
                MasterRead::Bytes(n) => {
                    self.pty.changed();
                    return Ok(n);
                }
                MasterRead::SlaveClosed => return Err(Errno::EIO),
                MasterRead::Empty if nonblock(&self.flags) => return Err(Errno::EAGAIN),
                MasterRead::Empty => {
                    let ready = || self.pty.with(|s| s.pair.master_readable() || s.pair.slave_closed());
                    crate::proc::sleep_on(tid(), &[self.pty.wq.as_ref()], ready, None)?;
                }
            }
        }
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let mut sigs: Vec<tty::TtySignal> = Vec::new();
            let (n, pgrp) = self.pty.with(|s| {
                let n = s.pair.master_write(&buf[done..], |sig| sigs.push(sig));
                (n, s.pgrp)
            });
            if let Some(pg) = pgrp {
                for sig in sigs {
                    console::signal_pgrp(pg, console::signal_of(sig));
                }
            }
            if n > 0 {
                self.pty.changed();
                done += n;
                continue;
            }
            if nonblock(&self.flags) {
                return if done > 0 { Ok(done) } else { Err(Errno::EAGAIN) };
            }
            let room = || self.pty.with(|s| s.pair.master_writable());
            if let Err(e) = crate::proc::sleep_on(tid(), &[self.pty.wq.as_ref()], room, None) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
        Ok(done)
    }

    fn lseek(&self, _offset: i64, _whence: u32) -> Result<u64> {
        Err(Errno::ESPIPE)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.inode.stat())
    }

    fn poll(&self) -> u32 {
        self.pty.with(|s| {
            let mut r = 0;
            if s.pair.master_readable() {
                r |= vfs::POLLIN | vfs::POLLRDNORM;
            }
            // n_tty_poll: a packet-mode status is urgent data
            if s.pair.status_pending() {
                r |= POLLPRI;
            }
            if s.pair.slave_closed() {
                r |= vfs::POLLHUP;
            }
            if s.pair.master_writable() {
                r |= vfs::POLLOUT | vfs::POLLWRNORM;
            }
            r
        })
    }

    pty_end_methods!();

    fn inode(&self) -> Option<&Arc<Inode>> {
        Some(&self.inode)
    }
}

// ---- the slave ----

/// An open `/dev/pts/N` (or `/dev/tty` naming it).
pub struct Slave {
    pty: Arc<Pty>,
    inode: Option<Arc<Inode>>,
    flags: AtomicU32,
    /// F_SETOWN/F_SETSIG/O_ASYNC state of the description.
    owner: vfs::FileOwner,
}

fn slave_file(pty: Arc<Pty>, inode: Option<Arc<Inode>>, flags: u32) -> Result<Arc<dyn File>> {
    pty.with(|s| s.pair.open_slave()).map_err(|()| Errno::EIO)?;
    pty.changed();
    Ok(Arc::new(Slave { owner: vfs::FileOwner::new(), pty, inode, flags: AtomicU32::new(flags) }))
}

/// open(2) of `/dev/pts/N`: `EIO` while locked or hung up, `ENXIO` for no
/// such pair; a session leader without a controlling terminal acquires
/// it unless `noctty`.
pub fn open_slave(n: u32, inode: Arc<Inode>, flags: u32, noctty: bool) -> Result<Arc<dyn File>> {
    let pty = by_index(n).ok_or(Errno::ENXIO)?;
    let f = slave_file(pty.clone(), Some(inode), flags)?;
    if !noctty {
        console::open_acquire_on(&*pty);
    }
    Ok(f)
}

/// open(2) of `/dev/tty` when the caller's controlling terminal is a pty.
/// The open file is `/dev/tty`'s (`inode`: fstat shows 5,0, as Linux's).
pub fn open_ctty(inode: Arc<Inode>, flags: u32) -> Option<Result<Arc<dyn File>>> {
    let pty = ctty_of(console::caller_sid()?)?;
    Some(slave_file(pty, Some(inode), flags))
}

impl Drop for Slave {
    fn drop(&mut self) {
        self.pty.with(|s| s.pair.close_slave());
        self.pty.changed();
    }
}

impl File for Slave {
    fn owner(&self) -> &vfs::FileOwner {
        &self.owner
    }

    fn fasync(&self) -> bool {
        true
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if self.pty.with(|s| s.pair.hung_up()) {
            return Ok(0);
        }
        console::check_change_on(&*self.pty, signal::SIGTTIN)?;
        if buf.is_empty() {
            return Ok(0);
        }
        let mode = self.pty.with(|s| s.pair.slave().read_mode(buf.len()));
        let deadline = mode.timeout_ns.map(|ns| crate::sched::now_ns() + ns);
        loop {
            let got = self.pty.with(|s| s.pair.slave_mut().try_read(&mode, buf));
            if let Some(n) = got {
                self.pty.changed();
                return Ok(n);
            }
            if self.pty.with(|s| s.pair.hung_up()) {
                return Ok(0);
            }
            if nonblock(&self.flags) {
                return Err(Errno::EAGAIN);
            }
            if mode.poll_only {
                return Ok(0);
            }
            let ready = || self.pty.with(|s| s.pair.hung_up() || s.pair.slave().read_ready(&mode));
            match crate::proc::sleep_on(tid(), &[self.pty.wq.as_ref()], ready, deadline) {
                Err(Errno::ETIMEDOUT) if deadline.is_some() => {
                    return Ok(self.pty.with(|s| s.pair.slave_mut().take(buf)).unwrap_or(0));
                }
                Err(Errno::ETIMEDOUT) => continue,
                Err(e) => return Err(e),
                Ok(()) => continue,
            }
        }
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        if self.pty.with(|s| s.pair.hung_up()) {
            return Err(Errno::EIO);
        }
        console::check_write_on(&*self.pty)?;
        let mut done = 0;
        while done < buf.len() {
            let n = self
                .pty
                .with(|s| if s.pair.hung_up() { usize::MAX } else { s.pair.slave_write(&buf[done..]) });
            if n == usize::MAX {
                return if done > 0 { Ok(done) } else { Err(Errno::EIO) };
            }
            if n > 0 {
                self.pty.changed();
                done += n;
                continue;
            }
            if self.pty.with(|s| s.pair.slave_writable()) {
                // room, yet nothing taken: a buffer could not grow
                return if done > 0 { Ok(done) } else { Err(Errno::ENOMEM) };
            }
            if nonblock(&self.flags) {
                return if done > 0 { Ok(done) } else { Err(Errno::EAGAIN) };
            }
            let room = || self.pty.with(|s| s.pair.hung_up() || s.pair.slave_writable());
            if let Err(e) = crate::proc::sleep_on(tid(), &[self.pty.wq.as_ref()], room, None) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
        Ok(done)
    }

    fn lseek(&self, _offset: i64, _whence: u32) -> Result<u64> {
        Err(Errno::ESPIPE)
    }

    fn stat(&self) -> Result<Stat> {
        match &self.inode {
            Some(i) => Ok(i.stat()),
            None => Ok(Stat::default()
                .with_mode(vfs::S_IFCHR | 0o620)
                .with_rdev(vfs::makedev(SLAVE_MAJOR, self.pty.index))
                .with_nlink(1)
                .with_blksize(1024)),
        }
    }

    fn poll(&self) -> u32 {
        self.pty.with(|s| {
            if s.pair.hung_up() {
                return vfs::POLLIN
                    | vfs::POLLOUT
                    | vfs::POLLERR
                    | vfs::POLLHUP
                    | vfs::POLLRDNORM
                    | vfs::POLLWRNORM;
            }
            let mut r = 0;
            if s.pair.slave().readable() {
                r |= vfs::POLLIN | vfs::POLLRDNORM;
            }
            if s.pair.slave_writable() && s.pair.slave().writable() {
                r |= vfs::POLLOUT | vfs::POLLWRNORM;
            }
            r
        })
    }

    pty_end_methods!();

    fn inode(&self) -> Option<&Arc<Inode>> {
        self.inode.as_ref()
    }
}

// ---- ioctls ----

const POLLPRI: u32 = 0x002;

const TCGETS: u32 = 0x5401;
const TCSETS: u32 = 0x5402;
const TCSETSW: u32 = 0x5403;
const TCSETSF: u32 = 0x5404;
pub(crate) const TCGETA: u32 = 0x5405;
pub(crate) const TCSETA: u32 = 0x5406;
pub(crate) const TCSETAW: u32 = 0x5407;
pub(crate) const TCSETAF: u32 = 0x5408;
pub(crate) const TCSBRK: u32 = 0x5409;
const TCXONC: u32 = 0x540a;
const TCFLSH: u32 = 0x540b;
pub(crate) const TCSBRKP: u32 = 0x5425;
pub(crate) const TIOCGLCKTRMIOS: u32 = 0x5456;
pub(crate) const TIOCSLCKTRMIOS: u32 = 0x5457;
const TIOCSCTTY: u32 = 0x540e;
const TIOCGPGRP: u32 = 0x540f;
const TIOCSPGRP: u32 = 0x5410;
const TIOCOUTQ: u32 = 0x5411;
const TIOCSTI: u32 = 0x5412;
const TIOCGWINSZ: u32 = 0x5413;
const TIOCSWINSZ: u32 = 0x5414;
const FIONREAD: u32 = 0x541b;
const TIOCPKT: u32 = 0x5420;
const TIOCNOTTY: u32 = 0x5422;
const TIOCGSID: u32 = 0x5429;
const TIOCGPTN: u32 = 0x8004_5430;
const TIOCSPTLCK: u32 = 0x4004_5431;
const TIOCGPTLCK: u32 = 0x8004_5439;
const TIOCGPKT: u32 = 0x8004_5438;
const TIOCGPTPEER: u32 = 0x5441;
/// CAP_SYS_ADMIN.
const CAP_SYS_ADMIN: u32 = 21;

/// TIOCSLCKTRMIOS's argument, for a pty and the console alike: `EPERM`
/// without CAP_SYS_ADMIN (tty_mode_ioctl), then the termios bytes.
pub(crate) fn termios_lock_arg(t: &UThread, arg: u64) -> Result<[u8; console::TERMIOS_SIZE]> {
    if crate::proc::table().with_process(t.pid, |p| p.creds().has_cap(CAP_SYS_ADMIN)) != Some(true) {
        return Err(Errno::EPERM);
    }
    t.read(UserPtr::new(arg))
}

/// Which side of a pair a file is, if it is one.
pub enum Side<'a> {
    /// The master (`/dev/ptmx`).
    Master(&'a Master),
    /// The slave.
    Slave(&'a Slave),
}

/// The pty side behind `file`.
pub fn side(file: &dyn File) -> Option<Side<'_>> {
    let any = file.as_any()?;
    if let Some(m) = any.downcast_ref::<Master>() {
        return Some(Side::Master(m));
    }
    any.downcast_ref::<Slave>().map(Side::Slave)
}

/// ioctl(2) on either side of a pair: the termios and window size are the
/// slave's (from either side), job control on the slave (TIOCGPGRP and
/// TIOCGSID from the master too, as Linux's `tty_pair_get_tty`), the
/// master's TIOCGPTN, TIOCSPTLCK, TIOCGPTLCK and TIOCGPTPEER.
pub fn ioctl(t: &mut UThread, side: Side<'_>, cmd: u32, arg: u64, readable: bool) -> Result<isize> {
    let (pty, master) = match &side {
        Side::Master(m) => (&m.pty, true),
        Side::Slave(s) => (&s.pty, false),
    };
    if !master && pty.with(|s| s.pair.hung_up()) && cmd != TIOCGPTN {
        // hung_up_tty_ioctl
        return Err(Errno::EIO);
    }
    match cmd {
        TCGETS => {
            t.write_slice(arg, &pty.with(|s| s.pair.slave().termios()))?;
            Ok(0)
        }
        TCSETS | TCSETSW | TCSETSF => {
            if !master {
                console::check_change_on(&**pty, signal::SIGTTOU)?;
            }
            let b = t.read_slice(UserSlice::new(arg, console::TERMIOS_SIZE))?;
            pty.with(|s| {
                if cmd == TCSETSF {
                    s.pair.flush_slave_input();
                }
                s.pair.set_termios(&b)
            });
            pty.changed();
            Ok(0)
        }
        TCGETA => {
            // the old System V struct termio (kernel_termios_to_user_termio)
            t.write_slice(arg, &tty::termio_of(&pty.with(|s| s.pair.slave().termios())))?;
            Ok(0)
        }
        TCSETA | TCSETAW | TCSETAF => {
            if !master {
                console::check_change_on(&**pty, signal::SIGTTOU)?;
            }
            let termio: [u8; tty::TERMIO_SIZE] = t.read(UserPtr::new(arg))?;
            pty.with(|s| {
                if cmd == TCSETAF {
                    s.pair.flush_slave_input();
                }
                let new = tty::termios_with_termio(&s.pair.slave().termios(), &termio);
                s.pair.set_termios(&new)
            });
            pty.changed();
            Ok(0)
        }
        TCSBRK | TCSBRKP => {
            // tty_check_change, then tcdrain (a pty's output is never
            // held in a driver: nothing to wait for) or a break, which a
            // pty has no break_ctl for (send_break: 0 at once)
            if !master {
                console::check_change_on(&**pty, signal::SIGTTOU)?;
            }
            Ok(0)
        }
        TIOCGLCKTRMIOS => {
            t.write_slice(arg, &pty.with(|s| s.pair.termios_lock()))?;
            Ok(0)
        }
        TIOCSLCKTRMIOS => {
            let lock = termios_lock_arg(t, arg)?;
            pty.with(|s| s.pair.set_termios_lock(&lock));
            Ok(0)
        }
        TIOCGWINSZ => {
            t.write_slice(arg, &pty.with(|s| s.pair.winsize()))?;
            Ok(0)
        }
        TIOCSWINSZ => {
            let b = t.read_slice(UserSlice::new(arg, 8))?;
            let changed = pty.with(|s| if s.pair.set_winsize(&b) { s.pgrp } else { None });
            if let Some(pg) = changed {
                console::signal_pgrp(pg, signal::SIGWINCH);
            }
            Ok(0)
        }
        FIONREAD => {
            let n = pty.with(|s| if master { s.pair.master_available() } else { s.pair.slave().available() });
            t.write(UserPtr::<u32>::new(arg), n as u32)?;
            Ok(0)
        }
        TIOCOUTQ => {
            // n_tty's tty_chars_in_buffer(): a pty has no chars_in_buffer
            // operation, so 0 on either side
            t.write(UserPtr::<u32>::new(arg), 0)?;
            Ok(0)
        }
        TCFLSH => {
            // tty_check_change() of the master: it is nobody's controlling
            // terminal, so it proceeds
            if !master {
                console::check_change_on(&**pty, signal::SIGTTOU)?;
            }
            if arg > 2 {
                return Err(Errno::EINVAL);
            }
            // TCIFLUSH 0, TCOFLUSH 1, TCIOFLUSH 2 of this side
            let (input, output) = (arg != 1, arg != 0);
            pty.with(|s| {
                if master {
                    // the master's input: what the slave wrote; its output
                    // (pty_flush_buffer) reaches only the slave's flip
                    // buffer, empty here (typed input goes to the slave's
                    // line discipline at once)
                    if input {
                        s.pair.flush_master_input();
                    }
                } else {
                    if input {
                        s.pair.flush_slave_input();
                    }
                    if output {
                        s.pair.flush_slave_output();
                    }
                }
            });
            pty.changed();
            Ok(0)
        }
        TCXONC if master => {
            // n_tty_ioctl_helper on the master: TCOOFF/TCOON stop its
            // writes; TCIOFF/TCION send the master's own STOP/START
            // characters (^S, ^Q: TCSETS on the master sets the slave's)
            // as tty_send_xchar, to the slave's input
            let sig = match arg {
                0 => {
                    pty.with(|s| s.pair.master_flow_off());
                    (None, None)
                }
                1 => {
                    pty.with(|s| s.pair.master_flow_on());
                    (None, None)
                }
                2 | 3 => {
                    let c = if arg == 2 { 0x13 } else { 0x11 };
                    pty.with(|s| (s.pair.master_send_xchar(c), s.pgrp))
                }
                _ => return Err(Errno::EINVAL),
            };
            if let (Some(sig), Some(pg)) = sig {
                console::signal_pgrp(pg, console::signal_of(sig));
            }
            pty.changed();
            Ok(0)
        }
        TCXONC => {
            console::check_change_on(&**pty, signal::SIGTTOU)?;
            match arg {
                0 => pty.with(|s| s.pair.flow_off()),
                1 => pty.with(|s| s.pair.flow_on()),
                // TCIOFF/TCION send STOP/START to the master's reader
                2 | 3 => pty.with(|s| {
                    let c = s.pair.slave().cc(if arg == 2 { tty::VSTOP } else { tty::VSTART });
                    if c != 0 {
                        s.pair.slave_write(&[c]);
                    }
                }),
                _ => return Err(Errno::EINVAL),
            }
            pty.changed();
            Ok(0)
        }
        TIOCPKT if master => {
            let v: i32 = t.read(UserPtr::new(arg))?;
            pty.with(|s| s.pair.set_packet(v != 0));
            pty.changed();
            Ok(0)
        }
        TIOCGPKT if master => {
            let v = i32::from(pty.with(|s| s.pair.packet()));
            t.write(UserPtr::<i32>::new(arg), v)?;
            Ok(0)
        }
        TIOCSTI => {
            // tiocsti() of Linux 6.1: the caller's controlling terminal
            // (never a master), or CAP_SYS_ADMIN
            let own = !master && console::caller_sid().is_some_and(|sid| pty.ctl().0 == Some(sid));
            let admin =
                crate::proc::table().with_process(t.pid, |p| p.creds().has_cap(CAP_SYS_ADMIN)) == Some(true);
            if !own && !admin {
                return Err(Errno::EPERM);
            }
            let b: u8 = t.read(UserPtr::new(arg))?;
            let sig = pty.with(|s| {
                if master {
                    s.pair.push_master_input(b);
                    (None, None)
                } else {
                    (s.pair.push_slave_input(b), s.pgrp)
                }
            });
            if let (Some(sig), Some(pg)) = sig {
                console::signal_pgrp(pg, console::signal_of(sig));
            }
            pty.changed();
            Ok(0)
        }
        TIOCGPTN if master => {
            t.write(UserPtr::<u32>::new(arg), pty.index)?;
            Ok(0)
        }
        TIOCSPTLCK if master => {
            let v: i32 = t.read(UserPtr::new(arg))?;
            pty.with(|s| if v != 0 { s.pair.lock() } else { s.pair.unlock() });
            Ok(0)
        }
        TIOCGPTLCK if master => {
            let v = i32::from(pty.with(|s| s.pair.is_locked()));
            t.write(UserPtr::<i32>::new(arg), v)?;
            Ok(0)
        }
        TIOCGPTPEER if master => {
            // an fd of the slave without a path lookup (O_NOCTTY implied
            // for the open; the flags are open(2)'s)
            let flags = arg as u32 & (vfs::O_ACCMODE | vfs::O_NONBLOCK | vfs::O_CLOEXEC | vfs::O_NOCTTY);
            let node = vfs::Ctx::new(devpts(), &vfs::Cred::root())
                .lookup(&devpts(), name_of(pty.index).as_bytes(), true)
                .ok();
            let f = slave_file(pty.clone(), node, flags & !vfs::O_CLOEXEC)?;
            crate::syscall::fs::install(t, f, flags & vfs::O_CLOEXEC != 0)
        }
        TIOCGPGRP => {
            if master {
                return Ok({
                    let pg = pty.ctl().1.unwrap_or(0);
                    t.write(UserPtr::<u32>::new(arg), crate::console::pid_seen(t, pg))?;
                    0
                });
            }
            let pg = console::foreground_on(&**pty)?;
            t.write(UserPtr::<u32>::new(arg), crate::console::pid_seen(t, pg))?;
            Ok(0)
        }
        TIOCGSID => {
            let sid = if master { pty.ctl().0.ok_or(Errno::ENOTTY)? } else { console::session_on(&**pty)? };
            t.write(UserPtr::<u32>::new(arg), crate::console::pid_seen(t, sid))?;
            Ok(0)
        }
        // tiocspgrp(), tiocsctty() act on the slave from either side
        TIOCSPGRP => {
            console::check_change_on(&**pty, signal::SIGTTOU)
                .map_err(|e| if e == Errno::EIO { Errno::ENOTTY } else { e })?;
            let pg: i32 = t.read(UserPtr::new(arg))?;
            console::set_foreground_on(&**pty, crate::console::pgrp_from(t, pg))?;
            Ok(0)
        }
        TIOCSCTTY => {
            console::set_ctty_on(&**pty, arg == 1, readable)?;
            Ok(0)
        }
        TIOCNOTTY if !master => {
            console::release_ctty_on(&**pty)?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}
