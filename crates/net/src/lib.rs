//! The socket layer of the kernel, generic over small seams.
//!
//! - [`addr`]: Linux's `struct sockaddr` rules for `AF_UNIX` (paths,
//!   abstract names, unnamed sockets; `unix_validate_addr`/`unix_mkname`),
//!   `AF_INET` and `AF_INET6` (`inet_bind`'s lengths and family errno),
//!   and the bytes (with Linux's lengths) getsockname, getpeername,
//!   accept and recvfrom write back.
//! - [`socket`]: the [`Socket`] trait each socket kind implements (bind,
//!   listen, accept, connect, sendmsg, recvmsg, shutdown, names, options as
//!   byte buffers, poll bits and an event count). Every operation is
//!   non-blocking: one that would wait returns `EAGAIN` and the kernel
//!   sleeps on the socket's [`Waker`] queue until [`Socket::event_count`]
//!   moves, then calls again. Kernel specifics stay outside: open files
//!   carried by `SCM_RIGHTS` are the kernel's [`NetEnv::File`], the
//!   filesystem side of `AF_UNIX` names is a [`Resolver`] the kernel
//!   passes in, and sleeping is the kernel's.
//! - [`unix`]: `AF_UNIX` stream, datagram and seqpacket sockets as Linux's
//!   `net/unix/af_unix.c`.
//! - [`netlink`]: `AF_NETLINK` sockets of protocol `NETLINK_ROUTE`
//!   (link and address dumps, `IFF_UP` changes) over the kernel's
//!   interfaces ([`netlink::RouteHost`]).
//! - [`connector`]: `NETLINK_CONNECTOR`'s requests and the process
//!   events' messages (`cn_proc`).
//! - [`testing`] (feature `testing`): a software [`NetEnv`] and
//!   [`Resolver`] for host tests.
//!
//! ```
//! use net::testing::{FakeEnv, FakeResolver};
//! use net::{Caller, MSG_PEEK, SOCK_STREAM, SendMsg, Socket, unix};
//!
//! let who = Caller::new(7, 1, 2, 1, 2);
//! let mut cx = FakeResolver { who, ..Default::default() };
//! // socketpair(AF_UNIX, SOCK_STREAM, 0)
//! let (a, b) = unix::pair::<FakeEnv>(SOCK_STREAM, 0, Default::default(), who).unwrap();
//! let mut msg = SendMsg::new(b"hello");
//! assert_eq!(a.sendmsg(&mut cx, &mut msg), Ok(5));
//! let mut buf = [0u8; 8];
//! assert_eq!(b.recvmsg(&mut cx, &mut buf, MSG_PEEK).unwrap().len, 5);
//! assert_eq!(&buf[..5], b"hello");
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod addr;
pub mod common;
pub mod connector;
pub mod consts;
pub mod netlink;
pub mod packet;
pub mod sock_diag;
pub mod socket;
pub mod unix;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use addr::SockAddrBuf;
pub use consts::*;
pub use socket::{Caller, Cmsg, NetEnv, NodeId, RecvMsg, Resolver, SendMsg, Socket, Ucred, Waker, put_cmsg};

#[cfg(test)]
mod tests;

// The README's example runs as a doctest too (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
