//! The socket system calls (41-55, accept4, recvmmsg, sendmmsg), the
//! socket file the descriptor table holds, and the family dispatch.
//!
//! Each call copies the user's sockaddr, msghdr, iovecs and control
//! messages with Linux's errno order (`EBADF`, then `ENOTSOCK` for a
//! descriptor that is no socket; sockaddr lengths above 128 or negative
//! `EINVAL`; bad pointers `EFAULT`) and calls the socket's kind through
//! `net::Socket`, whose operations never block: this layer sleeps on the
//! socket's wait queue until its event count moves ([`blocking`]),
//! honouring `O_NONBLOCK`, `MSG_DONTWAIT`, `SO_RCVTIMEO`/`SO_SNDTIMEO`
//! and signals. AF_UNIX sockets come from `net::unix` ([`unix`]);
//! AF_INET/AF_INET6 from [`inet_socket`], the one hook of the inet stack;
//! AF_NETLINK from [`netlink`].

pub mod connector;
pub mod inet;
pub mod netlink;
pub mod packet;
pub mod procnet;
pub mod unix;

use crate::proc::table;
use crate::sched::WaitQueue;
use crate::syscall::SysResult;
use crate::uthread::UThread;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use linux_abi::abi::{Mmsghdr, MsgHdr, Timespec};
use linux_abi::args::{Fd, UserPtr, UserSlice, access_ok};
use linux_abi::{Errno, Result};
use net::common::{Timeout, timeout_from_timeval, timeout_ns, timeval_of_timeout};
use net::consts::*;
use net::unix::UnixSocket;
use net::{RecvMsg, SendMsg, SockAddrBuf, Socket};
use spin::Mutex;
use unix::{KEnv, KResolver};
use vfs::File;

/// A socket of any kind as the kernel holds it.
pub type Sock = Arc<dyn Socket<KEnv>>;

/// Linux's MAX_RW_COUNT.
const MAX_RW_COUNT: usize = 0x7fff_f000;
/// UIO_MAXIOV.
const UIO_MAXIOV: usize = 1024;
/// The most one call moves through a kernel buffer at once.
const CHUNK: usize = 1 << 20;
/// The smallest kernel buffer of a TCP receive sized by what is queued
/// ([`recv_one`]); a non-blocking TCP send of more than this is cut to
/// the send buffer's room before it is copied ([`send_iovs`]).
const SIZED_MIN: usize = 4096;
/// SIOCATMARK.
const SIOCATMARK: u32 = 0x8905;
/// SIOCINQ (FIONREAD).
const SIOCINQ: u32 = 0x541b;
/// SIOCOUTQ (TIOCOUTQ).
const SIOCOUTQ: u32 = 0x5411;

// ---- the inet hook ----------------------------------------------------

/// AF_INET and AF_INET6 sockets: the hook the inet stack fills in
/// ([`inet`], over `crates/inet`). `domain` is AF_INET or AF_INET6, `ty` the type without flags, `protocol` as given; a socket
/// gets its queue from [`unix::KEnv`]'s `new_waker`.
pub fn inet_socket(domain: u16, ty: u32, protocol: u32) -> Result<Sock> {
    inet::inet_socket(domain, ty, protocol)
}

/// ioctl(2) commands on any socket that belong to the inet stack
/// (interface configuration, SIOCGIFCONF, ...): `None` when not one.
pub fn inet_ioctl(t: &UThread, sock: &Sock, cmd: u32, arg: u64) -> Option<SysResult> {
    inet::inet_ioctl(t, sock, cmd, arg)
}

// ---- the socket file --------------------------------------------------

/// An open socket (Linux's `struct socket` with its `struct file`).
pub struct SocketFile {
    /// The socket.
    pub sock: Sock,
    /// The same socket when it is AF_UNIX (for unix_gc and SCM_RIGHTS).
    pub unix: Option<Arc<UnixSocket<KEnv>>>,
    flags: AtomicU32,
    rcvtimeo: Mutex<Timeout>,
    sndtimeo: Mutex<Timeout>,
    ino: u64,
    /// The creator's fsuid (Linux's socket inode owner, `sock_i_uid`).
    uid: u32,
    /// Its slot in [`REGISTRY`].
    slot: usize,
    /// F_SETOWN/F_SETSIG/O_ASYNC state of the description.
    owner: vfs::FileOwner,
}

static NEXT_INO: AtomicU64 = AtomicU64::new(1 << 20);

/// Every open socket file (/proc/net and sock_diag list them): weak
/// references in slots, a socket's own slot freed by its drop. `free`
/// always has room for every slot, so a drop never allocates.
struct Registry {
    slots: Vec<Option<alloc::sync::Weak<SocketFile>>>,
    free: Vec<usize>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { slots: Vec::new(), free: Vec::new() });

/// A free slot of [`REGISTRY`] (`ENOMEM` when the table cannot grow).
fn registry_slot() -> Result<usize> {
    let mut r = REGISTRY.lock();
    if let Some(i) = r.free.pop() {
        return Ok(i);
    }
    let n = r.slots.len() + 1;
    r.slots.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    let extra = n.saturating_sub(r.free.len());
    r.free.try_reserve(extra).map_err(|_| Errno::ENOMEM)?;
    r.slots.push(None);
    Ok(n - 1)
}

/// The open socket files now (for /proc/net and sock_diag); taken out
/// under the registry's lock, made strong after it. `ENOMEM` when the
/// list cannot be allocated.
pub fn open_sockets() -> Result<Vec<Arc<SocketFile>>> {
    let weak: Vec<alloc::sync::Weak<SocketFile>> = {
        let r = REGISTRY.lock();
        let mut v = Vec::new();
        v.try_reserve_exact(r.slots.len()).map_err(|_| Errno::ENOMEM)?;
        v.extend(r.slots.iter().flatten().cloned());
        v
    };
    let mut out = Vec::new();
    out.try_reserve_exact(weak.len()).map_err(|_| Errno::ENOMEM)?;
    out.extend(weak.iter().filter_map(alloc::sync::Weak::upgrade));
    Ok(out)
}
/// Linux's `sk_send_sigurg`: a new urgent mark reached `sock`; its
/// file's owner gets SIGURG. Called with no lock held.
pub(crate) fn signal_urgent(sock: &inet::InetSocket) {
    let Ok(files) = open_sockets() else {
        log::info!("inet: no memory to find an urgent socket's file: no SIGURG");
        return;
    };
    for f in &files {
        if f.sock.as_any().downcast_ref::<inet::InetSocket>().is_some_and(|s| s.id() == sock.id()) {
            crate::fasync::send_sigurg(&f.owner);
            break;
        }
    }
    // (the last reference of a file closed meanwhile may go here: no
    // lock is held)
    drop(files);
}

/// Set while [`net::unix::collect`] runs (a collected socket's close must
/// not start another).
static COLLECTING: AtomicBool = AtomicBool::new(false);

impl SocketFile {
    /// The file of a new socket, listed in [`REGISTRY`] (`ENOMEM` when it
    /// cannot be: the socket is released).
    fn open(sock: Sock, unix: Option<Arc<UnixSocket<KEnv>>>, nonblock: bool) -> Result<Arc<dyn File>> {
        let slot = match registry_slot() {
            Ok(s) => s,
            Err(e) => {
                sock.release();
                return Err(e);
            }
        };
        let tid = current_tid();
        let pid = table().tgid(tid).unwrap_or(tid);
        let uid = table().with_process(pid, |p| p.creds().fsuid).unwrap_or(0);
        let f = Arc::new(SocketFile {
            owner: vfs::FileOwner::new(),
            sock,
            unix,
            flags: AtomicU32::new(vfs::O_RDWR | if nonblock { vfs::O_NONBLOCK } else { 0 }),
            rcvtimeo: Mutex::new(None),
            sndtimeo: Mutex::new(None),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            uid,
            slot,
        });
        REGISTRY.lock().slots[slot] = Some(Arc::downgrade(&f));
        Ok(f)
    }

    /// The inode number (`socket:[N]` in /proc/PID/fd).
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// The owner's uid (`sock_i_uid`).
    pub fn uid(&self) -> u32 {
        self.uid
    }

    fn nonblock(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & vfs::O_NONBLOCK != 0
    }

    fn queue(&self) -> &Arc<WaitQueue> {
        &self.sock.waker().0
    }

    fn is_unix(&self) -> bool {
        self.unix.is_some()
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        {
            let mut r = REGISTRY.lock();
            if let Some(s) = r.slots.get_mut(self.slot) {
                *s = None;
            }
            // room was reserved when the slot was made
            if r.free.len() < r.free.capacity() {
                r.free.push(self.slot);
            }
        }
        self.sock.release();
        if self.is_unix() && !COLLECTING.swap(true, Ordering::SeqCst) {
            net::unix::collect::<KEnv>();
            COLLECTING.store(false, Ordering::SeqCst);
        }
    }
}

fn current_tid() -> u32 {
    crate::sched::current_task_id() as u32
}

/// Runs `op` until it does not ask to wait (`EAGAIN`), sleeping on the
/// socket's queue until its event count moves between tries. `nonblock`
/// gives `EAGAIN` back at once; a timeout of 0 jiffies too; at the
/// deadline `op(true)` answers. A signal ends the wait with `ERESTARTSYS`
/// (`EINTR` when a timeout is set, as sock_intr_errno).
fn blocking<T>(
    sf: &SocketFile,
    nonblock: bool,
    timeo: Timeout,
    mut op: impl FnMut(bool) -> Result<T>,
) -> Result<T> {
    let nonblock = nonblock || timeo == Some(0);
    let deadline = timeo.map(|j| crate::sched::now_ns().saturating_add(timeout_ns(j)));
    loop {
        let seen = sf.sock.event_count();
        match op(nonblock) {
            Err(Errno::EAGAIN) if !nonblock => {}
            r => return r,
        }
        let q = sf.queue().clone();
        match crate::proc::sleep_on(current_tid(), &[&q], || sf.sock.event_count() != seen, deadline) {
            Ok(()) => {}
            Err(Errno::ETIMEDOUT) => return op(true),
            Err(Errno::ERESTARTSYS) if deadline.is_some() => return Err(Errno::EINTR),
            Err(e) => return Err(e),
        }
    }
}

impl File for SocketFile {
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
        let timeo = *self.rcvtimeo.lock();
        let mut cx = KResolver::current();
        let r = blocking(self, self.nonblock(), timeo, |_| self.sock.recvmsg(&mut cx, buf, 0))?;
        Ok(r.ret.min(buf.len()))
    }

    fn write(&self, data: &[u8]) -> Result<usize> {
        // fs::write sends the SIGPIPE of an EPIPE
        send_all(None, self, data, None, MSG_NOSIGNAL, Control::default())
    }

    fn unread(&self, _data: &[u8]) {}

    fn stat(&self) -> Result<vfs::Stat> {
        Ok(vfs::Stat::default()
            .with_mode(vfs::S_IFSOCK | 0o777)
            .with_ino(self.ino)
            .with_nlink(1)
            .with_blksize(4096)
            .with_dev(0x8))
    }

    fn poll(&self) -> u32 {
        self.sock.poll()
    }

    fn event_count(&self) -> u64 {
        self.sock.event_count()
    }

    fn wait_queue(&self) -> Option<Arc<dyn vfs::WaitQueue>> {
        Some(self.queue().clone())
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    crate::eventfd::status_flags_methods!();
}

/// The socket behind a file, if it is one.
pub fn as_socket(f: &dyn File) -> Option<&SocketFile> {
    f.as_any()?.downcast_ref::<SocketFile>()
}

/// Whether an `EPIPE` from write(2) on `file` raises SIGPIPE: yes for
/// every file but AF_UNIX datagram and seqpacket sockets (Linux's
/// unix_dgram_sendmsg never signals).
pub fn epipe_raises_sigpipe(file: &dyn File) -> bool {
    as_socket(file).is_none_or(|s| s.sock.sock_type() == SOCK_STREAM)
}

/// ioctl(2) of a socket: SIOCINQ/FIONREAD, SIOCOUTQ, then the inet
/// stack's interface commands. `None` when `file` is no socket.
pub fn ioctl(t: &UThread, file: &Arc<dyn File>, cmd: u32, arg: u64) -> Option<SysResult> {
    let sf = as_socket(&**file)?;
    if let Some(r) = inet_ioctl(t, &sf.sock, cmd, arg) {
        return Some(r);
    }
    let v = match cmd {
        SIOCATMARK => match inet::at_mark(&sf.sock) {
            Some(r) => r.map(usize::from),
            None => Err(Errno::ENOTTY),
        },
        SIOCINQ => sf.sock.inq(),
        SIOCOUTQ => sf.sock.outq(),
        _ => return Some(Err(Errno::ENOTTY)),
    };
    Some(v.and_then(|n| t.write(UserPtr::new(arg), n as u32)).map(|_| 0))
}

// ---- user copies ------------------------------------------------------

fn sock_fd(t: &UThread, fd: Fd) -> Result<Arc<dyn File>> {
    let f = t.fd(fd)?;
    if as_socket(&*f).is_none() {
        return Err(Errno::ENOTSOCK);
    }
    Ok(f)
}

fn sf(f: &Arc<dyn File>) -> &SocketFile {
    // sock_fd checked the kind
    as_socket(&**f).unwrap_or_else(|| unreachable_kind())
}

#[cold]
fn unreachable_kind() -> ! {
    panic!("socket file expected")
}

/// move_addr_to_kernel: `EINVAL` for a length above 128 or negative,
/// `EFAULT`; a length of 0 gives no bytes.
fn read_addr(t: &UThread, addr: UserPtr<u8>, len: i32) -> Result<Vec<u8>> {
    if !(0..=128).contains(&len) {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(Vec::new());
    }
    t.read_slice(UserSlice::new(addr.addr(), len as usize))
}

/// move_addr_to_user: reads the caller's length (`EFAULT`), `EINVAL` when
/// negative, copies `min(len, ours)` bytes and writes our length.
fn write_addr(t: &UThread, a: &[u8], uaddr: UserPtr<u8>, ulen: UserPtr<i32>) -> Result<()> {
    let len = t.read(ulen)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (len as usize).min(a.len());
    if n > 0 {
        t.write_slice(uaddr.addr(), &a[..n])?;
    }
    t.write(ulen, a.len() as i32)
}

fn sigpipe(t: &UThread) {
    let _ = table().tgkill(t.tid, Some(t.pid as i32), t.tid as i32, 13, &crate::proc::Hooks);
}

fn zeroed(len: usize) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    v.resize(len, 0);
    Ok(v)
}

/// An iovec array (import_iovec): `EMSGSIZE` beyond 1024 entries, `EINVAL`
/// for a negative length, `EFAULT` for a range outside user memory; the
/// total is cut at MAX_RW_COUNT.
fn read_iovs(t: &UThread, iov: u64, cnt: u64) -> Result<Vec<(u64, usize)>> {
    if cnt as usize > UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    let raw = t.read_slice(UserSlice::new(iov, cnt as usize * 16))?;
    let mut v = Vec::new();
    v.try_reserve(cnt as usize).map_err(|_| Errno::ENOMEM)?;
    let mut total = 0usize;
    for c in raw.chunks(16) {
        let base = u64::from_le_bytes(c[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let len = i64::from_le_bytes(c[8..].try_into().map_err(|_| Errno::EFAULT)?);
        if len < 0 {
            return Err(Errno::EINVAL);
        }
        if len > 0 && !access_ok(base, len as usize) {
            return Err(Errno::EFAULT);
        }
        let len = (len as usize).min(MAX_RW_COUNT - total);
        total += len;
        v.push((base, len));
    }
    Ok(v)
}

fn iov_total(iovs: &[(u64, usize)]) -> usize {
    iovs.iter().map(|i| i.1).sum()
}

/// Copies `len` bytes from the iovecs, starting `skip` bytes in.
fn gather(t: &UThread, iovs: &[(u64, usize)], mut skip: usize, len: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    for &(base, l) in iovs {
        if out.len() >= len {
            break;
        }
        if skip >= l {
            skip -= l;
            continue;
        }
        let n = (l - skip).min(len - out.len());
        let at = out.len();
        out.resize(at + n, 0);
        t.vm.lock().read_user((base + skip as u64) as usize, &mut out[at..])?;
        skip = 0;
    }
    Ok(out)
}

/// Copies `data` out into the iovecs.
fn scatter(t: &UThread, iovs: &[(u64, usize)], data: &[u8]) -> Result<()> {
    let mut done = 0;
    for &(base, l) in iovs {
        if done >= data.len() {
            break;
        }
        let n = l.min(data.len() - done);
        t.write_slice(base, &data[done..done + n])?;
        done += n;
    }
    Ok(())
}

// ---- send and receive -------------------------------------------------

/// Sends `data` whole on a stream (blocking unless asked not to: a
/// partial count then), as one message otherwise. `EPIPE` raises
/// SIGPIPE on a stream without MSG_NOSIGNAL when nothing was sent.
fn send_all(
    t: Option<&UThread>,
    sf: &SocketFile,
    data: &[u8],
    addr: Option<&[u8]>,
    flags: u32,
    ctl: Control,
) -> Result<usize> {
    let Control { rights, creds, raw } = ctl;
    let nonblock = flags & MSG_DONTWAIT != 0 || sf.nonblock();
    let timeo = *sf.sndtimeo.lock();
    let stream = sf.sock.sock_type() == SOCK_STREAM;
    let mut cx = match t {
        Some(t) => KResolver::of(t),
        None => KResolver::current(),
    };
    let mut msg = SendMsg::new(data);
    (msg.addr, msg.flags, msg.rights, msg.creds, msg.control) = (addr, flags, rights, creds, &raw);
    let mut done = 0;
    loop {
        msg.data = &data[done..];
        // a call after part of the data went, or after a wait for room,
        // reports a pending error first (Linux's sock_alloc_send_pskb)
        msg.again = done > 0;
        let send = |_: bool| {
            let r = sf.sock.sendmsg(&mut cx, &mut msg);
            msg.again = true;
            r
        };
        match blocking(sf, nonblock, timeo, send) {
            Ok(n) => {
                done += n;
                if !stream || n == 0 || done >= data.len() || nonblock {
                    return Ok(done);
                }
            }
            Err(e) if done > 0 => {
                let _ = e;
                return Ok(done);
            }
            Err(e) => {
                if e == Errno::EPIPE
                    && stream
                    && flags & MSG_NOSIGNAL == 0
                    && let Some(t) = t
                {
                    sigpipe(t);
                }
                return Err(e);
            }
        }
    }
}

/// read(2) on a socket: a receive without flags (sock_read_iter), through
/// [`recv_one`] so that a TCP socket's kernel buffer is sized by what is
/// queued rather than by `buf`'s length.
pub fn read_socket(t: &UThread, sf: &SocketFile, buf: UserSlice) -> SysResult {
    if buf.len == 0 {
        return Ok(0);
    }
    let (data, r) = recv_one(t, sf, buf.len, 0)?;
    t.write_slice(buf.addr, &data)?;
    Ok(r.ret.min(data.len()) as isize)
}

/// One receive into a buffer of `len` bytes (blocking unless asked not
/// to), going on for MSG_WAITALL on a stream until full, the end, a
/// boundary, an error or a signal.
fn recv_one(t: &UThread, sf: &SocketFile, len: usize, flags: u32) -> Result<(Vec<u8>, RecvMsg<KEnv>)> {
    let want = len.min(CHUNK);
    // recv(MSG_OOB) on a stream never waits (tcp_recv_urg)
    let oob = flags & MSG_OOB != 0 && sf.sock.sock_type() == SOCK_STREAM;
    let nonblock = flags & MSG_DONTWAIT != 0 || oob || sf.nonblock();
    let timeo = *sf.rcvtimeo.lock();
    let mut cx = KResolver::of(t);
    // A TCP receive without MSG_WAITALL returns at most what is queued:
    // its buffer is sized (and zero-filled) by that, not by the caller's
    // length (an event loop's recv(256 KiB) of a 64-byte answer). Bytes
    // that arrive between the count and the receive make it shorter, as
    // a stream may be.
    let by_queue = want > SIZED_MIN
        && flags & MSG_WAITALL == 0
        && sf.sock.sock_type() == SOCK_STREAM
        && matches!(sf.sock.domain(), AF_INET | AF_INET6);
    let mut buf = Vec::new();
    let mut r = blocking(sf, nonblock, timeo, |_| {
        let size = if by_queue {
            let queued = sf.sock.inq().unwrap_or(want);
            want.min(queued.max(SIZED_MIN))
        } else {
            want
        };
        if buf.len() != size {
            buf = zeroed(size)?;
        }
        sf.sock.recvmsg(&mut cx, &mut buf, flags)
    })?;
    if flags & MSG_WAITALL != 0 && flags & MSG_PEEK == 0 && sf.sock.sock_type() == SOCK_STREAM && !nonblock {
        while r.len < buf.len() && r.more && r.len > 0 {
            let at = r.len;
            match blocking(sf, false, timeo, |_| sf.sock.recvmsg(&mut cx, &mut buf[at..], flags)) {
                Ok(m) if m.len == 0 => break,
                Ok(m) => {
                    r.len += m.len;
                    r.ret += m.len;
                    r.more = m.more;
                    r.rights = m.rights;
                }
                Err(_) => break,
            }
        }
    }
    buf.truncate(r.len);
    Ok((buf, r))
}

// ---- system calls -----------------------------------------------------

fn check_type_flags(ty: i32) -> Result<(u32, bool, bool)> {
    let ty = ty as u32;
    let flags = ty & !SOCK_TYPE_MASK;
    if flags & !(SOCK_CLOEXEC | SOCK_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok((ty & SOCK_TYPE_MASK, flags & SOCK_NONBLOCK != 0, flags & SOCK_CLOEXEC != 0))
}

/// __sock_create's checks and the family's create.
fn create(domain: i32, ty: u32, protocol: i32) -> Result<(Sock, Option<Arc<UnixSocket<KEnv>>>)> {
    if domain < 0 || domain as u32 >= AF_MAX {
        return Err(Errno::EAFNOSUPPORT);
    }
    if ty >= SOCK_MAX {
        return Err(Errno::EINVAL);
    }
    match domain as u16 {
        AF_UNIX => {
            if protocol < 0 {
                return Err(Errno::EPROTONOSUPPORT);
            }
            let ns = inet::current_net_ino();
            let u =
                net::unix::create_in::<KEnv>(ty, protocol as u32, <KEnv as net::NetEnv>::new_waker()?, ns)?;
            Ok((u.clone(), Some(u)))
        }
        AF_INET | AF_INET6 => Ok((inet_socket(domain as u16, ty, protocol as u32)?, None)),
        net::netlink::AF_NETLINK => Ok((netlink::netlink_socket(ty, protocol)?, None)),
        net::packet::AF_PACKET => Ok((packet::packet_socket(ty, protocol)?, None)),
        d => {
            log::info!("socket: address family {d} unsupported: EAFNOSUPPORT");
            Err(Errno::EAFNOSUPPORT)
        }
    }
}

/// socket(2).
pub fn socket(t: &mut UThread, domain: i32, ty: i32, protocol: i32) -> SysResult {
    let (ty, nonblock, cloexec) = check_type_flags(ty)?;
    let (sock, unix) = create(domain, ty, protocol)?;
    crate::syscall::fs::install(t, SocketFile::open(sock, unix, nonblock)?, cloexec)
}

/// socketpair(2): the descriptors are written before the sockets are made
/// (`EFAULT` first, as Linux); only AF_UNIX pairs (`EOPNOTSUPP` for inet and netlink).
pub fn socketpair(t: &mut UThread, domain: i32, ty: i32, protocol: i32, sv: UserPtr<[u32; 2]>) -> SysResult {
    let (ty, nonblock, cloexec) = check_type_flags(ty)?;
    t.write(sv, [u32::MAX; 2])?;
    let d = domain;
    if d < 0 || d as u32 >= AF_MAX {
        return Err(Errno::EAFNOSUPPORT);
    }
    if ty >= SOCK_MAX {
        return Err(Errno::EINVAL);
    }
    let (a, b) = match d as u16 {
        AF_UNIX => {
            if protocol < 0 {
                return Err(Errno::EPROTONOSUPPORT);
            }
            let caller = net::Resolver::caller(&KResolver::of(t));
            let w = (<KEnv as net::NetEnv>::new_waker()?, <KEnv as net::NetEnv>::new_waker()?);
            net::unix::pair_in::<KEnv>(ty, protocol as u32, w, caller, inet::current_net_ino())?
        }
        AF_INET | AF_INET6 => {
            let _ = inet_socket(d as u16, ty, protocol as u32)?;
            return Err(Errno::EOPNOTSUPP);
        }
        net::netlink::AF_NETLINK => {
            let _ = netlink::netlink_socket(ty, protocol)?;
            return Err(Errno::EOPNOTSUPP);
        }
        _ => return Err(Errno::EAFNOSUPPORT),
    };
    let fa = match SocketFile::open(a.clone(), Some(a), nonblock) {
        Ok(f) => f,
        Err(e) => {
            b.release();
            return Err(e);
        }
    };
    let fb = SocketFile::open(b.clone(), Some(b), nonblock)?;
    crate::syscall::fs::install_pair(t, fa, fb, cloexec, sv)?;
    Ok(0)
}

/// bind(2).
pub fn bind(t: &mut UThread, fd: Fd, addr: UserPtr<u8>, len: i32) -> SysResult {
    let f = sock_fd(t, fd)?;
    let a = read_addr(t, addr, len)?;
    sf(&f).sock.bind(&mut KResolver::of(t), &a).map(|_| 0)
}

/// listen(2): a backlog above somaxconn (or negative) is somaxconn.
pub fn listen(t: &mut UThread, fd: Fd, backlog: i32) -> SysResult {
    let f = sock_fd(t, fd)?;
    let b = (backlog as u32).min(SOMAXCONN);
    sf(&f).sock.listen(&mut KResolver::of(t), b).map(|_| 0)
}

/// connect(2): the address is copied before the socket is looked at.
pub fn connect(t: &mut UThread, fd: Fd, addr: UserPtr<u8>, len: i32) -> SysResult {
    let f = t.fd(fd)?;
    let a = read_addr(t, addr, len)?;
    let s = as_socket(&*f).ok_or(Errno::ENOTSOCK)?;
    let timeo = *s.sndtimeo.lock();
    let mut cx = KResolver::of(t);
    blocking(s, s.nonblock(), timeo, |nb| s.sock.connect(&mut cx, &a, nb || s.nonblock())).map(|_| 0)
}

/// accept4(2) (and accept(2) with no flags).
pub fn accept4(t: &mut UThread, fd: Fd, addr: UserPtr<u8>, alen: UserPtr<i32>, flags: i32) -> SysResult {
    // EBADF, then the flags, then ENOTSOCK (__sys_accept4_file)
    let f = t.fd(fd)?;
    let flags = flags as u32;
    if flags & !(SOCK_CLOEXEC | SOCK_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let s = as_socket(&*f).ok_or(Errno::ENOTSOCK)?;
    let timeo = *s.rcvtimeo.lock();
    let mut cx = KResolver::of(t);
    let new = blocking(s, s.nonblock(), timeo, |_| s.sock.accept(&mut cx))?;
    let unix = new.as_any().downcast_ref::<UnixSocket<KEnv>>().map(UnixSocket::to_arc);
    let file = SocketFile::open(new.clone(), unix, flags & SOCK_NONBLOCK != 0)?;
    if !addr.is_null() {
        let peer = new.getpeername().unwrap_or_else(|_| SockAddrBuf::unix_unnamed());
        // the connection is lost when the address cannot be written
        write_addr(t, peer.as_bytes(), addr, alen)?;
    }
    crate::syscall::fs::install(t, file, flags & SOCK_CLOEXEC != 0)
}

/// sendto(2): the buffer's range is checked first (`EFAULT`), an address
/// with length 0 is none.
pub fn sendto(
    t: &mut UThread,
    fd: Fd,
    buf: UserSlice,
    flags: u32,
    addr: UserPtr<u8>,
    alen: i32,
) -> SysResult {
    let buf = buf.sub(0, MAX_RW_COUNT);
    if buf.len > 0 {
        buf.check()?;
    }
    let f = sock_fd(t, fd)?;
    let a = if addr.is_null() { Vec::new() } else { read_addr(t, addr, alen)? };
    let s = sf(&f);
    send_iovs(
        t,
        s,
        &[(buf.addr, buf.len)],
        if a.is_empty() { None } else { Some(&a) },
        flags,
        Control::default(),
    )
}

fn send_iovs(
    t: &UThread,
    s: &SocketFile,
    iovs: &[(u64, usize)],
    addr: Option<&[u8]>,
    flags: u32,
    ctl: Control,
) -> SysResult {
    let mut total = iov_total(iovs);
    // A non-blocking TCP send takes what fits in the send buffer: only
    // that much is copied from user memory (an event loop's send of a
    // MiB into 80 KiB of room copied the whole MiB on each try). At
    // least a byte, so that EAGAIN and the errors come from the send.
    if total > SIZED_MIN
        && (flags & MSG_DONTWAIT != 0 || s.nonblock())
        && s.sock.sock_type() == SOCK_STREAM
        && let Some(room) = inet::send_room(&s.sock)
    {
        total = total.min(room.max(1));
    }
    if s.sock.sock_type() != SOCK_STREAM || total <= CHUNK {
        let data = gather(t, iovs, 0, total.min(CHUNK.max(if total > CHUNK { CHUNK + 1 } else { 0 })))?;
        return send_all(Some(t), s, &data, addr, flags, ctl).map(|n| n as isize);
    }
    // a large stream write: a chunk at a time
    let mut done = 0;
    let creds = ctl.creds;
    let mut ctl = Some(ctl);
    while done < total {
        let data = gather(t, iovs, done, (total - done).min(CHUNK))?;
        // the files and the kind's own messages go with the first chunk
        let c = ctl.take().unwrap_or(Control { creds, ..Control::default() });
        // MSG_OOB marks the last byte of the whole send
        let f = if done + data.len() < total { flags & !MSG_OOB } else { flags };
        match send_all(Some(t), s, &data, addr, f, c) {
            Ok(n) => {
                done += n;
                if n < data.len() {
                    break;
                }
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done as isize)
}

/// recvfrom(2).
pub fn recvfrom(
    t: &mut UThread,
    fd: Fd,
    buf: UserSlice,
    flags: u32,
    addr: UserPtr<u8>,
    alen: UserPtr<i32>,
) -> SysResult {
    let buf = buf.sub(0, MAX_RW_COUNT);
    if buf.len > 0 {
        buf.check()?;
    }
    let f = sock_fd(t, fd)?;
    let s = sf(&f);
    let flags = flags & !MSG_CMSG_CLOEXEC;
    let (data, r) = recv_one(t, s, buf.len, flags)?;
    t.write_slice(buf.addr, &data)?;
    if !addr.is_null() {
        let a = r.addr.unwrap_or(SockAddrBuf::new(&[]));
        write_addr(t, a.as_bytes(), addr, alen)?;
    }
    Ok(r.ret as isize)
}

use linux_abi::cmsg::CMSG_HDR;

/// What sendmsg's control messages carry: files, credentials, and the
/// user's bytes for the kind's own levels (IP_TTL, IPV6_HOPLIMIT, ...).
#[derive(Default)]
struct Control {
    rights: Vec<Arc<dyn File>>,
    creds: Option<net::Ucred>,
    raw: Vec<u8>,
}

fn cmsg_align(n: usize) -> usize {
    (n + 7) & !7
}

/// __scm_send: walks the control messages; `EINVAL` for a malformed
/// header, a type Linux does not know at SOL_SOCKET, more than 253 files
/// or files on a socket that is no AF_UNIX (an internet socket ignores
/// SCM_RIGHTS and SCM_CREDENTIALS, as `__sock_cmsg_send`); `EBADF` for a
/// bad descriptor; `EPERM` for credentials the caller may not claim.
fn parse_cmsgs(t: &UThread, s: &SocketFile, ctl: Vec<u8>) -> Result<Control> {
    let mut rights: Vec<Arc<dyn File>> = Vec::new();
    let mut creds = None;
    let mut off = 0usize;
    while off + CMSG_HDR <= ctl.len() {
        let h = &ctl[off..];
        let len = u64::from_le_bytes(h[..8].try_into().map_err(|_| Errno::EINVAL)?) as usize;
        let level = i32::from_le_bytes([h[8], h[9], h[10], h[11]]);
        let ty = i32::from_le_bytes([h[12], h[13], h[14], h[15]]);
        if len < CMSG_HDR || len > ctl.len() - off {
            return Err(Errno::EINVAL);
        }
        let inet = matches!(s.sock.domain(), AF_INET | AF_INET6);
        if level == SOL_SOCKET {
            match ty {
                // __sock_cmsg_send (an internet socket's path): AF_UNIX's
                // messages are let by, unread
                SCM_RIGHTS | SCM_CREDENTIALS if inet => {}
                SCM_RIGHTS => {
                    if !s.is_unix() {
                        return Err(Errno::EINVAL);
                    }
                    let num = (len - CMSG_HDR) / 4;
                    if rights.len() + num > SCM_MAX_FD {
                        return Err(Errno::EINVAL);
                    }
                    rights.try_reserve(num).map_err(|_| Errno::ENOMEM)?;
                    for i in 0..num {
                        let p = off + CMSG_HDR + 4 * i;
                        let fd = i32::from_le_bytes([ctl[p], ctl[p + 1], ctl[p + 2], ctl[p + 3]]);
                        if fd < 0 {
                            return Err(Errno::EBADF);
                        }
                        let f = t.fd(Fd(fd as u32))?;
                        // an io_uring in flight could close a cycle the
                        // unix GC cannot see (a ring holding the socket
                        // through a registered file or a request):
                        // refused, as Linux since 6.7 and 6.1.69
                        // (scm_fp_copy's "don't allow io_uring files")
                        if crate::syscall::io_uring::as_ring(&*f).is_some() {
                            return Err(Errno::EINVAL);
                        }
                        rights.push(f);
                    }
                }
                SCM_CREDENTIALS => {
                    if len != CMSG_HDR + 12 {
                        return Err(Errno::EINVAL);
                    }
                    let c = net::Ucred::from_bytes(&h[CMSG_HDR..CMSG_HDR + 12]).ok_or(Errno::EINVAL)?;
                    creds = Some(unix::check_creds(t, &c)?);
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        off += cmsg_align(len);
    }
    Ok(Control { rights, creds, raw: ctl })
}

fn sendmsg_one(t: &UThread, f: &Arc<dyn File>, at: UserPtr<MsgHdr>, flags: u32) -> SysResult {
    let s = sf(f);
    let h = t.read(at)?;
    let namelen = if h.msg_name == 0 { 0 } else { h.msg_namelen };
    if namelen < 0 {
        return Err(Errno::EINVAL);
    }
    let namelen = (namelen as usize).min(128);
    let iovs = read_iovs(t, h.msg_iov, h.msg_iovlen)?;
    let addr = if namelen > 0 { t.read_slice(UserSlice::new(h.msg_name, namelen))? } else { Vec::new() };
    if h.msg_controllen > i32::MAX as u64 {
        return Err(Errno::ENOBUFS);
    }
    let ctl = if h.msg_controllen > 0 {
        if h.msg_controllen as usize >= OPTMEM_MAX {
            return Err(Errno::ENOBUFS);
        }
        let ctl = t.read_slice(UserSlice::new(h.msg_control, h.msg_controllen as usize))?;
        parse_cmsgs(t, s, ctl)?
    } else {
        Control::default()
    };
    send_iovs(t, s, &iovs, if addr.is_empty() { None } else { Some(&addr) }, flags, ctl)
}

/// sendmsg(2).
pub fn sendmsg(t: &mut UThread, fd: Fd, msg: UserPtr<MsgHdr>, flags: u32) -> SysResult {
    let f = sock_fd(t, fd)?;
    sendmsg_one(t, &f, msg, flags)
}

/// Writes the control messages of a receive: SCM_CREDENTIALS then
/// SCM_RIGHTS (installing the files, close-on-exec with
/// MSG_CMSG_CLOEXEC), as put_cmsg/scm_detach_fds: what does not fit sets
/// MSG_CTRUNC and the files left over are closed. Returns the bytes used
/// and the extra msg_flags.
fn put_control(
    t: &UThread,
    r: &mut RecvMsg<KEnv>,
    ctl: u64,
    space: usize,
    flags: u32,
) -> Result<(usize, u32)> {
    let mut out: Vec<u8> = Vec::new();
    let mut trunc = 0;
    let rights = core::mem::take(&mut r.rights);
    if ctl == 0 {
        if r.creds.is_some() || !rights.is_empty() || !r.cmsgs.is_empty() {
            trunc = MSG_CTRUNC;
        }
        drop(rights);
        return Ok((0, trunc));
    }
    // the kind's own (IP_PKTINFO, IPV6_HOPLIMIT, ...) first
    for c in &r.cmsgs {
        trunc |= net::put_cmsg(&mut out, space, c.level, c.ty, c.data())?;
    }
    let room = |out: &Vec<u8>| space.saturating_sub(out.len());
    if let Some(c) = r.creds {
        // scm_recv: the ids as the receiver's namespace sees them
        // (the pid too: 0 when the receiver's PID namespace does not see it)
        let pid = if c.pid == 0 { 0 } else { table().pid_seen(t.tid, c.pid) };
        let c = net::Ucred::new(pid, t.user_ns.uid_from(c.uid), t.user_ns.gid_from(c.gid));
        if room(&out) < CMSG_HDR {
            trunc = MSG_CTRUNC;
        } else {
            let mut cm = Vec::new();
            cm.extend_from_slice(&((CMSG_HDR + 12) as u64).to_le_bytes());
            cm.extend_from_slice(&SOL_SOCKET.to_le_bytes());
            cm.extend_from_slice(&SCM_CREDENTIALS.to_le_bytes());
            cm.extend_from_slice(&c.to_bytes());
            cm.extend_from_slice(&[0u8; 4]);
            let mut cmlen = CMSG_HDR + 12;
            if room(&out) < cmlen {
                trunc = MSG_CTRUNC;
                cmlen = room(&out);
                cm[..8].copy_from_slice(&(cmlen as u64).to_le_bytes());
            }
            let adv = cmsg_align(CMSG_HDR + 12).min(room(&out));
            let _ = cmlen;
            out.extend_from_slice(&cm[..adv]);
        }
    }
    if !rights.is_empty() {
        let r_room = room(&out);
        let fdmax = if r_room > CMSG_HDR { (r_room - CMSG_HDR) / 4 } else { 0 };
        let files = t.files();
        let nofile = t.nofile();
        let cloexec = flags & MSG_CMSG_CLOEXEC != 0;
        let mut fds: Vec<u32> = Vec::new();
        for f in rights.iter().take(fdmax) {
            match files.lock().and_then(|mut g| g.insert(f.clone(), cloexec, nofile)) {
                Ok(fd) => fds.push(fd),
                Err(_) => break,
            }
        }
        let i = fds.len();
        if i > 0 {
            let cmlen = CMSG_HDR + 4 * i;
            let start = out.len();
            out.extend_from_slice(&(cmlen as u64).to_le_bytes());
            out.extend_from_slice(&SOL_SOCKET.to_le_bytes());
            out.extend_from_slice(&SCM_RIGHTS.to_le_bytes());
            for fd in &fds {
                out.extend_from_slice(&fd.to_le_bytes());
            }
            let adv = cmsg_align(cmlen).min(r_room);
            out.resize(start + adv, 0);
        }
        if i < rights.len() {
            trunc = MSG_CTRUNC;
        }
    }
    drop(rights);
    if !out.is_empty() {
        t.write_slice(ctl, &out)?;
    }
    Ok((out.len(), trunc))
}

/// `&msg->msg_namelen`, `&msg->msg_controllen`, `&msg->msg_flags` of a
/// `struct user_msghdr` (written field by field, as Linux's `__put_user`).
const MSG_NAMELEN: usize = 8;
const MSG_CONTROLLEN: usize = 40;
const MSG_FLAGS: usize = 48;
/// `&mmsg->msg_len` of a `struct mmsghdr`.
const MMSG_LEN: usize = 56;

fn recvmsg_one(t: &UThread, f: &Arc<dyn File>, at: UserPtr<MsgHdr>, flags: u32) -> Result<usize> {
    let s = sf(f);
    let h = t.read(at)?;
    let iovs = read_iovs(t, h.msg_iov, h.msg_iovlen)?;
    let total = iov_total(&iovs);
    let (data, mut r) = recv_one(t, s, total, flags)?;
    scatter(t, &iovs, &data)?;
    if h.msg_name != 0 {
        let a = r.addr.unwrap_or(SockAddrBuf::new(&[]));
        write_addr(t, a.as_bytes(), UserPtr::new(h.msg_name), at.field(MSG_NAMELEN))?;
    }
    let space = h.msg_controllen.min(i32::MAX as u64) as usize;
    let (used, trunc) = put_control(t, &mut r, h.msg_control, space, flags)?;
    t.write(at.field(MSG_CONTROLLEN), used as u64)?;
    // msg_flags starts as the caller's MSG_CMSG_CLOEXEC (____sys_recvmsg)
    t.write(at.field(MSG_FLAGS), r.flags | trunc | (flags & MSG_CMSG_CLOEXEC))?;
    Ok(r.ret)
}

/// recvmsg(2).
pub fn recvmsg(t: &mut UThread, fd: Fd, msg: UserPtr<MsgHdr>, flags: u32) -> SysResult {
    let f = sock_fd(t, fd)?;
    recvmsg_one(t, &f, msg, flags).map(|n| n as isize)
}

/// The `i`-th entry of an mmsghdr array (its address wraps: the copy
/// faults).
fn mmsg_at(vec: UserPtr<Mmsghdr>, i: usize) -> UserPtr<Mmsghdr> {
    vec.field(i.wrapping_mul(core::mem::size_of::<Mmsghdr>()))
}

/// sendmmsg(2): up to 1024 messages; the count sent, or the first error.
pub fn sendmmsg(t: &mut UThread, fd: Fd, vec: UserPtr<Mmsghdr>, vlen: u32, flags: u32) -> SysResult {
    let f = sock_fd(t, fd)?;
    let n = (vlen as usize).min(UIO_MAXIOV);
    let mut sent = 0;
    while sent < n {
        let at = mmsg_at(vec, sent);
        match sendmsg_one(t, &f, at.cast(), flags) {
            Ok(len) => {
                t.write(at.field(MMSG_LEN), len as u32)?;
                sent += 1;
            }
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(sent as isize)
}

/// recvmmsg(2): up to `vlen` messages; MSG_WAITFORONE waits for the
/// first only; the timeout is looked at after each message, as Linux.
pub fn recvmmsg(
    t: &mut UThread,
    fd: Fd,
    vec: UserPtr<Mmsghdr>,
    vlen: u32,
    flags: u32,
    timeout: UserPtr<Timespec>,
) -> SysResult {
    let deadline = match timeout.non_null() {
        Some(p) => Some(crate::sched::now_ns().saturating_add(t.read(p)?.to_ns()?)),
        None => None,
    };
    let f = sock_fd(t, fd)?;
    let mut flags = flags;
    let n = (vlen as usize).min(UIO_MAXIOV);
    let mut got = 0;
    while got < n {
        let at = mmsg_at(vec, got);
        match recvmsg_one(t, &f, at.cast(), flags & !MSG_WAITFORONE) {
            Ok(len) => {
                t.write(at.field(MMSG_LEN), len as u32)?;
                got += 1;
            }
            Err(e) if got == 0 => return Err(e),
            Err(_) => break,
        }
        if flags & MSG_WAITFORONE != 0 {
            flags |= MSG_DONTWAIT;
        }
        if deadline.is_some_and(|d| crate::sched::now_ns() >= d) {
            break;
        }
    }
    Ok(got as isize)
}

/// shutdown(2).
pub fn shutdown(t: &mut UThread, fd: Fd, how: i32) -> SysResult {
    let f = sock_fd(t, fd)?;
    if !(0..=2).contains(&how) {
        return Err(Errno::EINVAL);
    }
    sf(&f).sock.shutdown(how as u32).map(|_| 0)
}

/// getsockname(2).
pub fn getsockname(t: &mut UThread, fd: Fd, addr: UserPtr<u8>, alen: UserPtr<i32>) -> SysResult {
    let f = sock_fd(t, fd)?;
    let a = sf(&f).sock.getsockname()?;
    write_addr(t, a.as_bytes(), addr, alen).map(|_| 0)
}

/// getpeername(2).
pub fn getpeername(t: &mut UThread, fd: Fd, addr: UserPtr<u8>, alen: UserPtr<i32>) -> SysResult {
    let f = sock_fd(t, fd)?;
    let a = sf(&f).sock.getpeername()?;
    write_addr(t, a.as_bytes(), addr, alen).map(|_| 0)
}

/// setsockopt(2): SO_RCVTIMEO/SO_SNDTIMEO kept here, the rest to the kind.
pub fn setsockopt(t: &mut UThread, fd: Fd, level: i32, name: i32, val: UserPtr<u8>, len: i32) -> SysResult {
    let f = sock_fd(t, fd)?;
    let s = sf(&f);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let v = t.read_slice(UserSlice::new(val.addr(), (len as usize).min(256)))?;
    if level == SOL_SOCKET {
        match name {
            SO_RCVTIMEO | SO_RCVTIMEO_NEW => {
                *s.rcvtimeo.lock() = timeout_from_timeval(&v)?;
                return Ok(0);
            }
            SO_SNDTIMEO | SO_SNDTIMEO_NEW => {
                *s.sndtimeo.lock() = timeout_from_timeval(&v)?;
                return Ok(0);
            }
            _ => {}
        }
    }
    s.sock.setsockopt(&mut KResolver::of(t), level, name, &v).map(|_| 0)
}

/// getsockopt(2): the caller's length first (`EFAULT`, `EINVAL` when
/// negative); SO_TYPE, SO_DOMAIN, SO_PROTOCOL and the timeouts here, the
/// rest from the kind; `min(len, size)` bytes and that length written.
pub fn getsockopt(
    t: &mut UThread,
    fd: Fd,
    level: i32,
    name: i32,
    val: UserPtr<u8>,
    lenp: UserPtr<i32>,
) -> SysResult {
    let f = sock_fd(t, fd)?;
    let s = sf(&f);
    let len = t.read(lenp)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let mut buf = [0u8; 256];
    let cap = (len as usize).min(buf.len());
    let n = if level == SOL_SOCKET {
        match name {
            SO_TYPE => net::socket::put_int(&mut buf[..cap], s.sock.sock_type() as i32),
            SO_DOMAIN => net::socket::put_int(&mut buf[..cap], i32::from(s.sock.domain())),
            SO_PROTOCOL => net::socket::put_int(&mut buf[..cap], s.sock.protocol() as i32),
            SO_RCVTIMEO | SO_RCVTIMEO_NEW | SO_SNDTIMEO | SO_SNDTIMEO_NEW => {
                let to = if matches!(name, SO_RCVTIMEO | SO_RCVTIMEO_NEW) {
                    *s.rcvtimeo.lock()
                } else {
                    *s.sndtimeo.lock()
                };
                let b = timeval_of_timeout(to);
                let n = cap.min(16);
                buf[..n].copy_from_slice(&b[..n]);
                n
            }
            // cred_to_ucred: the peer's ids in the caller's namespace
            SO_PEERCRED => {
                let n = s.sock.getsockopt(level, name, &mut buf[..cap])?;
                let word = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
                if n >= 4 {
                    let pid = word(&buf, 0);
                    let seen = if pid == 0 { 0 } else { table().pid_seen(t.tid, pid) };
                    buf[0..4].copy_from_slice(&seen.to_le_bytes());
                }
                if n >= 8 {
                    let uid = t.user_ns.uid_from(word(&buf, 4));
                    buf[4..8].copy_from_slice(&uid.to_le_bytes());
                }
                if n >= 12 {
                    let gid = t.user_ns.gid_from(word(&buf, 8));
                    buf[8..12].copy_from_slice(&gid.to_le_bytes());
                }
                n
            }
            _ => s.sock.getsockopt(level, name, &mut buf[..cap])?,
        }
    } else {
        s.sock.getsockopt(level, name, &mut buf[..cap])?
    };
    if n > 0 {
        t.write_slice(val.addr(), &buf[..n])?;
    }
    t.write(lenp, n as i32).map(|_| 0)
}
