//! Linux's socket constants (x86_64 values).

/// Unspecified family.
pub const AF_UNSPEC: u16 = 0;
/// Local (Unix-domain) sockets.
pub const AF_UNIX: u16 = 1;
/// IPv4.
pub const AF_INET: u16 = 2;
/// IPv6.
pub const AF_INET6: u16 = 10;
/// Linux's NPROTO: families at or above are `EAFNOSUPPORT`.
pub const AF_MAX: u32 = 46;

/// Byte stream.
pub const SOCK_STREAM: u32 = 1;
/// Datagrams.
pub const SOCK_DGRAM: u32 = 2;
/// Raw protocol access.
pub const SOCK_RAW: u32 = 3;
/// Reliable datagrams.
pub const SOCK_RDM: u32 = 4;
/// Sequenced packets.
pub const SOCK_SEQPACKET: u32 = 5;
/// Linux's SOCK_MAX: types at or above are `EINVAL`.
pub const SOCK_MAX: u32 = 11;
/// The type bits of socket(2)'s type argument.
pub const SOCK_TYPE_MASK: u32 = 0xf;
/// socket(2)/accept4(2) flag: `O_NONBLOCK` on the new file.
pub const SOCK_NONBLOCK: u32 = 0o4000;
/// socket(2)/accept4(2) flag: close-on-exec on the new descriptor.
pub const SOCK_CLOEXEC: u32 = 0o2_000_000;

/// Out-of-band data.
pub const MSG_OOB: u32 = 1;
/// Look without taking.
pub const MSG_PEEK: u32 = 2;
/// No routing.
pub const MSG_DONTROUTE: u32 = 4;
/// Control data was cut short (recvmsg's msg_flags).
pub const MSG_CTRUNC: u32 = 8;
/// Data was cut short (msg_flags), or: return the real length (flag).
pub const MSG_TRUNC: u32 = 0x20;
/// Do not wait.
pub const MSG_DONTWAIT: u32 = 0x40;
/// End of record.
pub const MSG_EOR: u32 = 0x80;
/// Wait for the whole request.
pub const MSG_WAITALL: u32 = 0x100;
/// Confirm the path (ignored).
pub const MSG_CONFIRM: u32 = 0x800;
/// Read from the error queue.
pub const MSG_ERRQUEUE: u32 = 0x2000;
/// No SIGPIPE on a broken stream.
pub const MSG_NOSIGNAL: u32 = 0x4000;
/// More data follows.
pub const MSG_MORE: u32 = 0x8000;
/// recvmmsg: wait for the first message only.
pub const MSG_WAITFORONE: u32 = 0x10000;
/// Received descriptors get close-on-exec.
pub const MSG_CMSG_CLOEXEC: u32 = 0x4000_0000;

/// The socket level of {set,get}sockopt.
pub const SOL_SOCKET: i32 = 1;
/// SO_DEBUG.
pub const SO_DEBUG: i32 = 1;
/// SO_REUSEADDR.
pub const SO_REUSEADDR: i32 = 2;
/// SO_TYPE.
pub const SO_TYPE: i32 = 3;
/// SO_ERROR.
pub const SO_ERROR: i32 = 4;
/// SO_DONTROUTE.
pub const SO_DONTROUTE: i32 = 5;
/// SO_BROADCAST.
pub const SO_BROADCAST: i32 = 6;
/// SO_SNDBUF.
pub const SO_SNDBUF: i32 = 7;
/// SO_RCVBUF.
pub const SO_RCVBUF: i32 = 8;
/// SO_KEEPALIVE.
pub const SO_KEEPALIVE: i32 = 9;
/// SO_OOBINLINE.
pub const SO_OOBINLINE: i32 = 10;
/// SO_PRIORITY.
pub const SO_PRIORITY: i32 = 12;
/// SO_LINGER.
pub const SO_LINGER: i32 = 13;
/// SO_REUSEPORT.
pub const SO_REUSEPORT: i32 = 15;
/// SO_PASSCRED.
pub const SO_PASSCRED: i32 = 16;
/// SO_TIMESTAMP (`SO_TIMESTAMP_OLD`), and `SCM_TIMESTAMP`'s type: a
/// `struct timeval` of the message's arrival.
pub const SO_TIMESTAMP: i32 = 29;
/// SO_PASSSEC: the sender's security context as `SCM_SECURITY` (none
/// without a security module: the flag only).
pub const SO_PASSSEC: i32 = 34;
/// SO_TIMESTAMPNS (`SO_TIMESTAMPNS_OLD`), and `SCM_TIMESTAMPNS`'s type: a
/// `struct timespec`.
pub const SO_TIMESTAMPNS: i32 = 35;
/// SO_PEERCRED.
pub const SO_PEERCRED: i32 = 17;
/// SO_RCVLOWAT.
pub const SO_RCVLOWAT: i32 = 18;
/// SO_SNDLOWAT.
pub const SO_SNDLOWAT: i32 = 19;
/// SO_RCVTIMEO (struct timeval, 16 bytes on x86_64).
pub const SO_RCVTIMEO: i32 = 20;
/// SO_SNDTIMEO.
pub const SO_SNDTIMEO: i32 = 21;
/// SO_ACCEPTCONN.
pub const SO_ACCEPTCONN: i32 = 30;
/// SO_SNDBUFFORCE.
pub const SO_SNDBUFFORCE: i32 = 32;
/// SO_RCVBUFFORCE.
pub const SO_RCVBUFFORCE: i32 = 33;
/// SO_PROTOCOL.
pub const SO_PROTOCOL: i32 = 38;
/// SO_DOMAIN.
pub const SO_DOMAIN: i32 = 39;
/// SO_RCVTIMEO_NEW (struct __kernel_sock_timeval).
pub const SO_RCVTIMEO_NEW: i32 = 66;
/// SO_SNDTIMEO_NEW.
pub const SO_SNDTIMEO_NEW: i32 = 67;

/// Control message: descriptors.
pub const SCM_RIGHTS: i32 = 1;
/// Control message: struct ucred.
pub const SCM_CREDENTIALS: i32 = 2;
/// Linux's SCM_MAX_FD: descriptors per message.
pub const SCM_MAX_FD: usize = 253;

/// shutdown(2): no more receptions.
pub const SHUT_RD: u32 = 0;
/// shutdown(2): no more transmissions.
pub const SHUT_WR: u32 = 1;
/// shutdown(2): both.
pub const SHUT_RDWR: u32 = 2;

/// Readable.
pub const EPOLLIN: u32 = 0x001;
/// Urgent data.
pub const EPOLLPRI: u32 = 0x002;
/// Writable.
pub const EPOLLOUT: u32 = 0x004;
/// Error.
pub const EPOLLERR: u32 = 0x008;
/// Hang-up.
pub const EPOLLHUP: u32 = 0x010;
/// Normal data readable.
pub const EPOLLRDNORM: u32 = 0x040;
/// Priority band readable.
pub const EPOLLRDBAND: u32 = 0x080;
/// Normal data writable.
pub const EPOLLWRNORM: u32 = 0x100;
/// Priority band writable.
pub const EPOLLWRBAND: u32 = 0x200;
/// The peer shut its writing side down.
pub const EPOLLRDHUP: u32 = 0x2000;

/// Linux's default `net.core.wmem_default`/`rmem_default` (212992).
pub const DEFAULT_BUF: usize = 212_992;
/// Linux's `net.core.wmem_max`/`rmem_max` (212992).
pub const MAX_BUF: usize = 212_992;
/// SOCK_MIN_SNDBUF on x86_64 (2 * (2048 + sizeof(struct sk_buff) rounded)).
pub const MIN_SNDBUF: usize = 4608;
/// SOCK_MIN_RCVBUF on x86_64.
pub const MIN_RCVBUF: usize = 2304;
/// `net.core.somaxconn`.
pub const SOMAXCONN: u32 = 4096;
/// `net.unix.max_dgram_qlen`.
pub const UNIX_MAX_DGRAM_QLEN: u32 = 10;
/// `net.core.optmem_max` of Linux 6.1 (the limit on sendmsg's control
/// buffer: `ENOBUFS` from this size on).
pub const OPTMEM_MAX: usize = 20480;
