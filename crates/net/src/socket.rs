//! The socket-kind trait the kernel calls, and the seams it is generic
//! over.
//!
//! # Contract
//!
//! Every operation is non-blocking. One that cannot go on now returns
//! `EAGAIN`; unless the caller asked not to wait (`O_NONBLOCK`,
//! `MSG_DONTWAIT`), the kernel then sleeps on the socket's [`Waker`]
//! queue until [`Socket::event_count`] moves (or a signal, or the
//! `SO_RCVTIMEO`/`SO_SNDTIMEO` deadline) and calls again. At the deadline
//! the kernel makes one last call with `nonblock` set and returns what it
//! gives (so a TCP connect can answer `EINPROGRESS`, an AF_UNIX connect
//! `EAGAIN`). A kind must call [`Waker::wake`] and move its event count
//! whenever its readiness may have changed ([`Socket::poll`]).
//!
//! Addresses come in as the bytes the user gave (at most 128); each kind
//! checks them with its family's rules ([`crate::addr`]).

use crate::addr::SockAddrBuf;
use alloc::sync::Arc;
use alloc::vec::Vec;
use linux_abi::{Errno, Result};

/// What the kernel provides to the socket layer.
pub trait NetEnv: Sized + Send + Sync + 'static {
    /// An open file, as `SCM_RIGHTS` carries it (the kernel's
    /// `Arc<dyn File>`).
    type File: Clone + Send + Sync + 'static;
    /// The queue of a socket's sleepers (the kernel's wait queue).
    type Waker: Waker + Clone + 'static;

    /// A new queue for a socket made by the layer itself (the server side
    /// of an AF_UNIX connection); `ENOMEM` when none can be had.
    fn new_waker() -> Result<Self::Waker>;

    /// The AF_UNIX socket behind an open file, if it is one (for the
    /// collection of sockets in flight, Linux's unix_gc).
    fn file_unix(_file: &Self::File) -> Option<Arc<crate::unix::UnixSocket<Self>>> {
        None
    }

    /// How many references hold `file` now (descriptors, messages in
    /// flight, calls in progress): Linux's `file_count`.
    fn file_refs(_file: &Self::File) -> usize {
        usize::MAX
    }

    /// `CLOCK_REALTIME` in nanoseconds, for the arrival time of an
    /// AF_UNIX message (`SCM_TIMESTAMP`). 0 by default.
    fn realtime_ns() -> u64 {
        0
    }
}

/// Wakes the sleepers of one socket.
pub trait Waker: Send + Sync {
    /// Wakes every sleeper (each looks again).
    fn wake(&self);
}

/// Process credentials as `struct ucred` carries them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ucred {
    /// Process id (tgid).
    pub pid: u32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl Ucred {
    /// With `pid`, `uid`, `gid`.
    pub fn new(pid: u32, uid: u32, gid: u32) -> Self {
        Ucred { pid, uid, gid }
    }
}

impl Ucred {
    /// The 12 bytes of `struct ucred`.
    pub fn to_bytes(&self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&self.pid.to_le_bytes());
        b[4..8].copy_from_slice(&self.uid.to_le_bytes());
        b[8..].copy_from_slice(&self.gid.to_le_bytes());
        b
    }

    /// Reads a `struct ucred`.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let w = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        (b.len() >= 12).then(|| Ucred { pid: w(0), uid: w(4), gid: w(8) })
    }
}

/// Who makes a call: for peer credentials, the default `SCM_CREDENTIALS`
/// and privileged binds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Caller {
    /// Process id (tgid).
    pub pid: u32,
    /// Real user and group ids.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective user id (SO_PEERCRED reports it).
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// The process id in its own PID namespace (`task_tgid_vnr`: a
    /// netlink socket's automatic port id); `pid` unless set.
    pub ns_pid: u32,
}

impl Caller {
    /// With `pid`, `uid`, `gid`, `euid`, `egid` (and `pid` as `ns_pid`).
    pub fn new(pid: u32, uid: u32, gid: u32, euid: u32, egid: u32) -> Self {
        Caller { pid, uid, gid, euid, egid, ns_pid: pid }
    }

    /// With `ns_pid`: the process's number in its own PID namespace.
    pub fn with_ns_pid(mut self, ns_pid: u32) -> Self {
        self.ns_pid = ns_pid;
        self
    }
}

impl Caller {
    /// SO_PEERCRED's view: pid, euid, egid (`cred_to_ucred`).
    pub fn peercred(&self) -> Ucred {
        Ucred { pid: self.pid, uid: self.euid, gid: self.egid }
    }

    /// The credentials a message carries by default: pid, real uid and gid.
    pub fn scm_creds(&self) -> Ucred {
        Ucred { pid: self.pid, uid: self.uid, gid: self.gid }
    }
}

/// A filesystem node that names a bound AF_UNIX socket: its device and
/// inode number (never reused while the system runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct NodeId {
    /// Device of the filesystem.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

impl NodeId {
    /// With `dev`, `ino`.
    pub fn new(dev: u64, ino: u64) -> Self {
        NodeId { dev, ino }
    }
}

/// The kernel's side of a call that may touch the filesystem (AF_UNIX
/// paths) or needs the caller's identity.
pub trait Resolver {
    /// The calling process.
    fn caller(&self) -> Caller;

    /// bind(2) of an AF_UNIX path: creates a socket inode there (mode
    /// `0777 & ~umask`), `EADDRINUSE` when the name exists, else the
    /// errno of mknod.
    fn bind_path(&mut self, path: &[u8]) -> Result<NodeId>;

    /// connect(2)/sendto(2) to an AF_UNIX path: resolves it (lookup errno),
    /// needs write permission on it (`EACCES`), and a socket inode
    /// (`ECONNREFUSED` otherwise).
    fn lookup_path(&mut self, path: &[u8]) -> Result<NodeId>;

    /// Removes the node a failed bind made at `path` (Linux unlinks it
    /// when the socket turns out to be bound already).
    fn unlink_path(&mut self, _path: &[u8]) {}

    /// The current time in nanoseconds since boot (for kinds with timers).
    fn now_ns(&self) -> u64 {
        0
    }
}

/// One sendmsg(2) as the kernel hands it over: [`SendMsg::new`], then set
/// the fields the call has (more may come, so no struct literal outside
/// this crate).
#[non_exhaustive]
pub struct SendMsg<'a, E: NetEnv> {
    /// The bytes to send (the kernel copied them in).
    pub data: &'a [u8],
    /// The destination address bytes, when the caller gave a name.
    pub addr: Option<&'a [u8]>,
    /// MSG_* flags.
    pub flags: u32,
    /// `SCM_RIGHTS` files; taken by the first call that sends data.
    pub rights: Vec<E::File>,
    /// `SCM_CREDENTIALS` given by the caller (checked by the kernel).
    pub creds: Option<Ucred>,
    /// The control messages as the user gave them (`msg_control`; the
    /// kernel checked their headers and took the SOL_SOCKET ones): a kind
    /// reads its own levels (IP_TTL, IPV6_HOPLIMIT, ...).
    pub control: &'a [u8],
    /// A later call of the same send (after the caller slept for room, or
    /// after part of the data went): as in Linux's sock_alloc_send_pskb, a
    /// stream reports the socket's pending error (once) before its
    /// shutdown, so a writer blocked when its peer was reset gets
    /// `ECONNRESET`, not `EPIPE`.
    pub again: bool,
}

impl<'a, E: NetEnv> SendMsg<'a, E> {
    /// A send of `data` with no address, no flags, no control messages.
    pub fn new(data: &'a [u8]) -> Self {
        SendMsg { data, addr: None, flags: 0, rights: Vec::new(), creds: None, control: &[], again: false }
    }
}

/// What a recvmsg(2) got.
#[non_exhaustive]
pub struct RecvMsg<E: NetEnv> {
    /// Bytes copied into the buffer.
    pub len: usize,
    /// The return value: `len`, or the datagram's full length with the
    /// `MSG_TRUNC` flag.
    pub ret: usize,
    /// msg_flags: `MSG_TRUNC` when a datagram did not fit, `MSG_EOR`, ...
    pub flags: u32,
    /// The sender's address (`None`: msg_namelen 0).
    pub addr: Option<SockAddrBuf>,
    /// Files that came with the data (`SCM_RIGHTS`).
    pub rights: Vec<E::File>,
    /// The sender's credentials, when the receiver has `SO_PASSCRED`.
    pub creds: Option<Ucred>,
    /// Control messages of the kind's own levels (IP_PKTINFO,
    /// IPV6_HOPLIMIT, ...), written before the SOL_SOCKET ones.
    pub cmsgs: Vec<Cmsg>,
    /// Whether more of the stream may be read in the same call (no
    /// message boundary, no files or credentials change): MSG_WAITALL
    /// goes on only then.
    pub more: bool,
}

impl<E: NetEnv> RecvMsg<E> {
    /// An empty result (end of file on a stream).
    pub fn empty() -> Self {
        RecvMsg {
            len: 0,
            ret: 0,
            flags: 0,
            addr: None,
            rights: Vec::new(),
            creds: None,
            cmsgs: Vec::new(),
            more: false,
        }
    }
}

pub use linux_abi::cmsg::{CMSG_HDR, Cmsg};

/// Linux's put_cmsg into a control buffer of `space` bytes of which `out`
/// holds what is written so far: the header and as much of `data` as
/// fits, `cmsg_len` saying how much; the buffer then moves on by
/// `CMSG_SPACE(len)` (or to its end). Returns `MSG_CTRUNC` when the
/// message did not fit whole (nothing is written when not even a header
/// fits), else 0. `ENOBUFS` when `out` cannot grow.
pub fn put_cmsg(out: &mut Vec<u8>, space: usize, level: i32, ty: i32, data: &[u8]) -> Result<u32> {
    let room = space.saturating_sub(out.len());
    if room < CMSG_HDR {
        return Ok(crate::consts::MSG_CTRUNC);
    }
    let full = CMSG_HDR + data.len();
    let (cmlen, trunc) = if room < full { (room, crate::consts::MSG_CTRUNC) } else { (full, 0) };
    let adv = ((full + 7) & !7).min(room);
    out.try_reserve(adv).map_err(|_| Errno::ENOBUFS)?;
    let start = out.len();
    out.extend_from_slice(&(cmlen as u64).to_le_bytes());
    out.extend_from_slice(&level.to_le_bytes());
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(&data[..cmlen - CMSG_HDR]);
    out.resize(start + adv, 0);
    Ok(trunc)
}

/// A socket of some family and type, as the kernel calls it.
pub trait Socket<E: NetEnv>: Send + Sync {
    /// The family (`AF_UNIX`, `AF_INET`, ...): SO_DOMAIN.
    fn domain(&self) -> u16;
    /// The type (`SOCK_STREAM`, ...): SO_TYPE.
    fn sock_type(&self) -> u32;
    /// The protocol: SO_PROTOCOL.
    fn protocol(&self) -> u32;
    /// The queue the kernel sleeps on for this socket.
    fn waker(&self) -> &E::Waker;
    /// Moves whenever the readiness may have changed.
    fn event_count(&self) -> u64;
    /// poll(2) bits now (`EPOLLIN`, `EPOLLOUT`, `EPOLLRDHUP`, ...).
    fn poll(&self) -> u32;

    /// bind(2).
    fn bind(&self, cx: &mut dyn Resolver, addr: &[u8]) -> Result<()>;
    /// listen(2) with Linux's backlog (already clamped to somaxconn).
    fn listen(&self, cx: &mut dyn Resolver, backlog: u32) -> Result<()>;
    /// accept(2): the next connection, or `EAGAIN`.
    fn accept(&self, cx: &mut dyn Resolver) -> Result<Arc<dyn Socket<E>>>;
    /// connect(2); `EAGAIN` to wait (see the module's contract).
    fn connect(&self, cx: &mut dyn Resolver, addr: &[u8], nonblock: bool) -> Result<()>;
    /// sendmsg(2): bytes taken (a stream may take part and be called again
    /// for the rest), or `EAGAIN` when nothing could be taken.
    fn sendmsg(&self, cx: &mut dyn Resolver, msg: &mut SendMsg<'_, E>) -> Result<usize>;
    /// recvmsg(2) into `buf`, with MSG_PEEK/MSG_TRUNC/... in `flags`;
    /// `EAGAIN` when nothing is there yet.
    fn recvmsg(&self, cx: &mut dyn Resolver, buf: &mut [u8], flags: u32) -> Result<RecvMsg<E>>;
    /// shutdown(2) with `SHUT_RD`, `SHUT_WR` or `SHUT_RDWR` (checked).
    fn shutdown(&self, how: u32) -> Result<()>;
    /// getsockname(2).
    fn getsockname(&self) -> Result<SockAddrBuf>;
    /// getpeername(2) (`ENOTCONN` when there is no peer).
    fn getpeername(&self) -> Result<SockAddrBuf>;
    /// setsockopt(2) of an option the kernel does not handle itself (it
    /// keeps SO_RCVTIMEO and SO_SNDTIMEO).
    fn setsockopt(&self, cx: &mut dyn Resolver, level: i32, name: i32, val: &[u8]) -> Result<()>;
    /// getsockopt(2) into `buf` (already as long as the caller's optlen,
    /// at most 256 bytes); returns the length written.
    fn getsockopt(&self, level: i32, name: i32, buf: &mut [u8]) -> Result<usize>;
    /// SIOCINQ/FIONREAD: bytes waiting (the next datagram's size for
    /// message kinds); `EINVAL` for a listening socket.
    fn inq(&self) -> Result<usize>;
    /// SIOCOUTQ: bytes sent and not yet taken by the peer.
    fn outq(&self) -> Result<usize>;
    /// Called when the last file of the socket closes (Linux's release).
    fn release(&self);
    /// The object behind the trait (the kernel finds its AF_UNIX sockets).
    fn as_any(&self) -> &dyn core::any::Any;
}

/// An `i32` option value as setsockopt reads it: `EINVAL` when shorter
/// than 4 bytes (`sockptr` copy of an int).
pub fn opt_int(val: &[u8]) -> Result<i32> {
    if val.len() < 4 {
        return Err(Errno::EINVAL);
    }
    Ok(i32::from_le_bytes([val[0], val[1], val[2], val[3]]))
}

/// Writes an `i32` option for getsockopt: as many of its bytes as `buf`
/// holds (Linux copies `min(len, 4)`).
pub fn put_int(buf: &mut [u8], v: i32) -> usize {
    let b = v.to_le_bytes();
    let n = buf.len().min(4);
    buf[..n].copy_from_slice(&b[..n]);
    n
}
