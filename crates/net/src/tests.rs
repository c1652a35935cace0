use crate::addr::*;
use crate::common::*;
use crate::consts::*;
use crate::socket::*;
use crate::testing::*;
use crate::unix;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use linux_abi::Errno;

fn un(path: &[u8]) -> Vec<u8> {
    let mut v = vec![1u8, 0];
    v.extend_from_slice(path);
    v
}

#[test]
fn unix_addr_rules() {
    assert_eq!(parse_unix(&[1, 0]), Err(Errno::EINVAL));
    assert_eq!(parse_unix(&[2, 0, b'a']), Err(Errno::EINVAL));
    assert_eq!(parse_unix(&[0u8; 111]), Err(Errno::EINVAL));
    assert_eq!(parse_unix(&un(b"/tmp/x\0junk")), Ok(UnixName::Path(b"/tmp/x".to_vec())));
    assert_eq!(parse_unix(&un(b"\0ab\0c")), Ok(UnixName::Abstract(b"ab\0c".to_vec())));
    assert!(unix_is_autobind(&[1, 0]));
    let a = UnixName::Path(b"/s".to_vec()).to_sockaddr();
    assert_eq!(a.as_bytes(), &[1, 0, b'/', b's', 0]);
    let a = UnixName::Abstract(b"xy".to_vec()).to_sockaddr();
    assert_eq!(a.as_bytes(), &[1, 0, 0, b'x', b'y']);
    let long = vec![b'a'; 108];
    assert_eq!(parse_unix(&un(&long)), Ok(UnixName::Path(long.clone())));
}

#[test]
fn inet_addr_rules() {
    let a = SockAddrBuf::inet([127, 0, 0, 1], 80);
    assert_eq!(a.len(), 16);
    assert_eq!(parse_inet_bind(a.as_bytes()), Ok(InetAddr { ip: [127, 0, 0, 1], port: 80 }));
    assert_eq!(parse_inet_bind(&a.as_bytes()[..15]), Err(Errno::EINVAL));
    let mut b = a.as_bytes().to_vec();
    b[0] = 0;
    assert_eq!(parse_inet_bind(&b), Err(Errno::EAFNOSUPPORT));
    b[4..8].copy_from_slice(&[0; 4]);
    assert!(parse_inet_bind(&b).is_ok());
    let s = SockAddrBuf::inet6([0; 16], 1, 2, 3);
    assert_eq!(s.len(), 28);
    let p = parse_inet6(s.as_bytes()).unwrap();
    assert_eq!((p.port, p.flowinfo, p.scope_id), (1, 2, 3));
    assert_eq!(parse_inet6(&s.as_bytes()[..24]).unwrap().scope_id, 0);
    assert_eq!(parse_inet6(&s.as_bytes()[..23]), Err(Errno::EINVAL));
}

#[test]
fn timeouts_round_as_linux() {
    let tv = |s: i64, u: i64| {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&s.to_le_bytes());
        b[8..].copy_from_slice(&u.to_le_bytes());
        b
    };
    assert_eq!(timeout_from_timeval(&tv(0, 0)), Ok(None));
    assert_eq!(timeout_from_timeval(&tv(-1, 0)), Ok(Some(0)));
    assert_eq!(timeout_from_timeval(&tv(0, 1_000_000)), Err(Errno::EDOM));
    assert_eq!(timeout_from_timeval(&tv(0, 1000)), Ok(Some(1)));
    assert_eq!(timeval_of_timeout(Some(1)), tv(0, 4000));
    assert_eq!(timeval_of_timeout(timeout_from_timeval(&tv(1, 500_000)).unwrap()), tv(1, 500_000));
}

#[test]
fn buffers_double() {
    let mut o = SockOpts::default();
    o.set(SO_SNDBUF, &1000i32.to_le_bytes()).unwrap();
    assert_eq!(o.sndbuf, 4608);
    o.set(SO_RCVBUF, &5000i32.to_le_bytes()).unwrap();
    assert_eq!(o.rcvbuf, 10000);
    o.set(SO_RCVBUF, &(-1i32).to_le_bytes()).unwrap();
    assert_eq!(o.rcvbuf, 2 * MAX_BUF);
}

fn cx() -> FakeResolver {
    FakeResolver { who: Caller { pid: 7, uid: 1, gid: 2, euid: 3, egid: 4, ns_pid: 7 }, ..Default::default() }
}

fn send(s: &dyn Socket<FakeEnv>, data: &[u8]) -> linux_abi::Result<usize> {
    let mut m =
        SendMsg { data, addr: None, flags: 0, rights: Vec::new(), creds: None, control: &[], again: false };
    s.sendmsg(&mut cx(), &mut m)
}

fn recv(s: &dyn Socket<FakeEnv>, n: usize, flags: u32) -> linux_abi::Result<(Vec<u8>, RecvMsg<FakeEnv>)> {
    let mut b = vec![0u8; n];
    let r = s.recvmsg(&mut cx(), &mut b, flags)?;
    b.truncate(r.len);
    Ok((b, r))
}

#[test]
fn stream_pair_moves_bytes_and_eof() {
    let (a, b) =
        unix::pair::<FakeEnv>(SOCK_STREAM, 0, (Default::default(), Default::default()), cx().who).unwrap();
    assert_eq!(recv(&*b, 4, 0).err(), Some(Errno::EAGAIN));
    assert_eq!(send(&*a, b"hello").unwrap(), 5);
    assert_eq!(b.inq().unwrap(), 5);
    assert_eq!(recv(&*b, 3, MSG_PEEK).unwrap().0, b"hel");
    assert_eq!(recv(&*b, 3, 0).unwrap().0, b"hel");
    assert_eq!(recv(&*b, 9, 0).unwrap().0, b"lo");
    assert_eq!(a.outq().unwrap(), 0);
    assert_ne!(a.poll() & EPOLLOUT, 0);
    a.shutdown(SHUT_WR).unwrap();
    assert_eq!(recv(&*b, 9, 0).unwrap().1.len, 0);
    assert_ne!(b.poll() & EPOLLRDHUP, 0);
    assert_eq!(send(&*a, b"x").err(), Some(Errno::EPIPE));
    Socket::release(&*b);
    assert_eq!(send(&*a, b"x").err(), Some(Errno::EPIPE));
    assert_ne!(a.poll() & EPOLLHUP, 0);
    let mut c = [0u8; 12];
    assert_eq!(a.getsockopt(SOL_SOCKET, SO_PEERCRED, &mut c), Ok(12));
    assert_eq!(Ucred::from_bytes(&c), Some(Ucred { pid: 7, uid: 3, gid: 4 }));
}

#[test]
fn stream_reset_reported_once_first_to_a_later_send() {
    let (a, b) =
        unix::pair::<FakeEnv>(SOCK_STREAM, 0, (Default::default(), Default::default()), cx().who).unwrap();
    assert_eq!(send(&*a, b"unread").unwrap(), 6);
    Socket::release(&*b);
    // a new send checks the shutdown first (EPIPE) and leaves the error
    assert_eq!(send(&*a, b"x").err(), Some(Errno::EPIPE));
    // a send after a wait for room reports the reset, once
    let mut m = SendMsg::new(b"x");
    m.again = true;
    assert_eq!(a.sendmsg(&mut cx(), &mut m).err(), Some(Errno::ECONNRESET));
    assert_eq!(a.sendmsg(&mut cx(), &mut m).err(), Some(Errno::EPIPE));
    assert_eq!(recv(&*a, 4, 0).unwrap().1.len, 0);
}

#[test]
fn dgram_keeps_boundaries_and_truncates() {
    let (a, b) =
        unix::pair::<FakeEnv>(SOCK_DGRAM, 0, (Default::default(), Default::default()), cx().who).unwrap();
    send(&*a, b"one").unwrap();
    send(&*a, b"three").unwrap();
    let (d, r) = recv(&*b, 2, MSG_TRUNC).unwrap();
    assert_eq!((d.as_slice(), r.ret, r.flags), (&b"on"[..], 3, MSG_TRUNC));
    let (d, r) = recv(&*b, 10, 0).unwrap();
    assert_eq!((d.as_slice(), r.ret, r.flags), (&b"three"[..], 5, 0));
    let big = vec![0u8; DEFAULT_BUF];
    assert_eq!(send(&*a, &big).err(), Some(Errno::EMSGSIZE));
}

#[test]
fn listen_connect_accept_and_backlog() {
    let mut r = cx();
    let l = unix::create::<FakeEnv>(SOCK_STREAM, 0, Default::default()).unwrap();
    assert_eq!(l.listen(&mut r, 1).err(), Some(Errno::EINVAL));
    l.bind(&mut r, &un(b"/srv")).unwrap();
    assert_eq!(l.bind(&mut r, &un(b"/srv2")).err(), Some(Errno::EINVAL));
    assert!(r.nodes.lock().get(&b"/srv2"[..]).is_none());
    let c0 = unix::create::<FakeEnv>(SOCK_STREAM, 0, Default::default()).unwrap();
    assert_eq!(c0.connect(&mut r, &un(b"/srv"), true).err(), Some(Errno::ECONNREFUSED));
    l.listen(&mut r, 0).unwrap();
    c0.connect(&mut r, &un(b"/srv"), true).unwrap();
    let c1 = unix::create::<FakeEnv>(SOCK_STREAM, 0, Default::default()).unwrap();
    assert_eq!(c1.connect(&mut r, &un(b"/srv"), true).err(), Some(Errno::EAGAIN));
    assert_eq!(c0.connect(&mut r, &un(b"/srv"), true).err(), Some(Errno::EAGAIN));
    assert_ne!(l.poll() & EPOLLIN, 0);
    let s = l.accept(&mut r).unwrap();
    assert_eq!(s.getsockname().unwrap().as_bytes(), &un(b"/srv\0")[..]);
    assert_eq!(s.getpeername().unwrap().len(), 2);
    c1.connect(&mut r, &un(b"/srv"), true).unwrap();
    send(&*c0, b"ping").unwrap();
    assert_eq!(recv(&*s, 8, 0).unwrap().0, b"ping");
    let d = unix::create::<FakeEnv>(SOCK_DGRAM, 0, Default::default()).unwrap();
    assert_eq!(d.connect(&mut r, &un(b"/srv"), true).err(), Some(Errno::EPROTOTYPE));
    l.bind(&mut r, &un(b"\0srv")).unwrap_err();
    let l2 = unix::create::<FakeEnv>(SOCK_STREAM, 0, Default::default()).unwrap();
    l2.bind(&mut r, &un(b"\0srv")).unwrap();
    l2.listen(&mut r, 1).unwrap();
    assert_eq!(d.connect(&mut r, &un(b"\0srv"), true).err(), Some(Errno::ECONNREFUSED));
    Socket::release(&*l2);
    assert_eq!(d.connect(&mut r, &un(b"/nope"), true).err(), Some(Errno::ENOENT));
    Socket::release(&*l);
    // the pending connection of c1 is reset
    assert_eq!(recv(&*c1, 8, 0).err(), Some(Errno::ECONNRESET));
    assert_eq!(recv(&*c1, 8, 0).unwrap().1.len, 0);
}

#[test]
fn abstract_names_and_autobind() {
    let mut r = cx();
    let a = unix::create::<FakeEnv>(SOCK_DGRAM, 0, Default::default()).unwrap();
    let b = unix::create::<FakeEnv>(SOCK_DGRAM, 0, Default::default()).unwrap();
    a.bind(&mut r, &un(b"\0abs-test")).unwrap();
    assert_eq!(b.bind(&mut r, &un(b"\0abs-test")).err(), Some(Errno::EADDRINUSE));
    b.bind(&mut r, &[1, 0]).unwrap();
    let n = b.getsockname().unwrap();
    assert_eq!(n.len(), 8);
    assert_eq!(n.as_bytes()[2], 0);
    let mut m = SendMsg {
        data: b"hi",
        addr: Some(&un(b"\0abs-test")),
        flags: 0,
        rights: Vec::new(),
        creds: None,
        control: &[],
        again: false,
    };
    b.sendmsg(&mut r, &mut m).unwrap();
    let (_, got) = recv(&*a, 4, 0).unwrap();
    assert_eq!(got.addr, Some(n));
    Socket::release(&*a);
    let mut m = SendMsg {
        data: b"hi",
        addr: Some(&un(b"\0abs-test")),
        flags: 0,
        rights: Vec::new(),
        creds: None,
        control: &[],
        again: false,
    };
    assert_eq!(b.sendmsg(&mut r, &mut m).err(), Some(Errno::ECONNREFUSED));
}

#[test]
fn rights_travel_and_a_socket_sent_over_itself_is_collected() {
    let (a, b) =
        unix::pair::<FakeEnv>(SOCK_DGRAM, 0, (Default::default(), Default::default()), cx().who).unwrap();
    let tok = Arc::new(5u32);
    let mut m = SendMsg {
        data: b"f",
        addr: None,
        flags: 0,
        rights: vec![FakeFile::Token(tok.clone())],
        creds: None,
        control: &[],
        again: false,
    };
    a.sendmsg(&mut cx(), &mut m).unwrap();
    assert_eq!(Arc::strong_count(&tok), 2);
    let (_, got) = recv(&*b, 4, 0).unwrap();
    assert_eq!(got.rights.len(), 1);
    drop(got);
    assert_eq!(Arc::strong_count(&tok), 1);
    // b's own file sent to b, then both files closed
    let fa = Arc::new(UnixSocketFile(a.clone()));
    let fb = Arc::new(UnixSocketFile(b.clone()));
    let weak_b = Arc::downgrade(&b);
    let mut m = SendMsg {
        data: b"s",
        addr: None,
        flags: 0,
        rights: vec![FakeFile::Unix(fb.clone())],
        creds: None,
        control: &[],
        again: false,
    };
    a.sendmsg(&mut cx(), &mut m).unwrap();
    unix::note_inflight(&b);
    drop(fb);
    drop(b);
    assert!(unix::collect::<FakeEnv>() >= 1);
    drop(fa);
    drop(a);
    assert_eq!(weak_b.strong_count(), 0);
}

#[test]
fn dgram_queue_limit_and_strangers() {
    let mut r = cx();
    let recv_s = unix::create::<FakeEnv>(SOCK_DGRAM, 0, Default::default()).unwrap();
    recv_s.bind(&mut r, &un(b"\0q-limit")).unwrap();
    let s = unix::create::<FakeEnv>(SOCK_DGRAM, 0, Default::default()).unwrap();
    let to = un(b"\0q-limit");
    let mut sent = 0;
    loop {
        let mut m = SendMsg {
            data: b"x",
            addr: Some(&to),
            flags: 0,
            rights: Vec::new(),
            creds: None,
            control: &[],
            again: false,
        };
        match s.sendmsg(&mut r, &mut m) {
            Ok(_) => sent += 1,
            Err(e) => {
                assert_eq!(e, Errno::EAGAIN);
                break;
            }
        }
    }
    assert_eq!(sent, 11);
    recv(&*recv_s, 1, 0).unwrap();
    // connected elsewhere: a stranger gets EPERM
    let peer = unix::create::<FakeEnv>(SOCK_DGRAM, 0, Default::default()).unwrap();
    peer.bind(&mut r, &un(b"\0q-peer")).unwrap();
    recv_s.connect(&mut r, &un(b"\0q-peer"), true).unwrap();
    let mut m = SendMsg {
        data: b"x",
        addr: Some(&to),
        flags: 0,
        rights: Vec::new(),
        creds: None,
        control: &[],
        again: false,
    };
    assert_eq!(s.sendmsg(&mut r, &mut m).err(), Some(Errno::EPERM));
    for x in [&recv_s, &s, &peer] {
        Socket::release(&**x);
    }
}

#[test]
fn seqpacket_keeps_records_and_ends() {
    let (a, b) =
        unix::pair::<FakeEnv>(SOCK_SEQPACKET, 0, (Default::default(), Default::default()), cx().who).unwrap();
    send(&*a, b"rec-one").unwrap();
    send(&*a, b"two").unwrap();
    assert_eq!(b.inq().unwrap(), 10);
    let (d, r) = recv(&*b, 3, 0).unwrap();
    assert_eq!((d.as_slice(), r.flags), (&b"rec"[..], MSG_TRUNC));
    assert_eq!(recv(&*b, 9, 0).unwrap().0, b"two");
    Socket::release(&*a);
    assert_eq!(recv(&*b, 9, 0).unwrap().1.len, 0);
    assert_eq!(send(&*b, b"x").err(), Some(Errno::EPIPE));
    let lone = unix::create::<FakeEnv>(SOCK_SEQPACKET, 0, Default::default()).unwrap();
    assert_eq!(send(&*lone, b"x").err(), Some(Errno::ENOTCONN));
}

#[test]
fn credentials_follow_passcred() {
    let (a, b) =
        unix::pair::<FakeEnv>(SOCK_STREAM, 0, (Default::default(), Default::default()), cx().who).unwrap();
    send(&*a, b"1").unwrap();
    assert_eq!(recv(&*b, 4, 0).unwrap().1.creds, None);
    b.setsockopt(&mut cx(), SOL_SOCKET, SO_PASSCRED, &1i32.to_le_bytes()).unwrap();
    send(&*a, b"2").unwrap();
    let claimed = Ucred { pid: 99, uid: 5, gid: 6 };
    let mut m = SendMsg {
        data: b"3",
        addr: None,
        flags: 0,
        rights: Vec::new(),
        creds: Some(claimed),
        control: &[],
        again: false,
    };
    a.sendmsg(&mut cx(), &mut m).unwrap();
    // messages of different credentials are not read together
    let (d, r) = recv(&*b, 4, 0).unwrap();
    assert_eq!((d.as_slice(), r.creds), (&b"2"[..], Some(Ucred { pid: 7, uid: 1, gid: 2 })));
    let (d, r) = recv(&*b, 4, 0).unwrap();
    assert_eq!((d.as_slice(), r.creds), (&b"3"[..], Some(claimed)));
}

#[test]
fn poll_bits_as_linux() {
    let s = unix::create::<FakeEnv>(SOCK_STREAM, 0, Default::default()).unwrap();
    assert_eq!(s.poll(), EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND | EPOLLHUP);
    let d = unix::create::<FakeEnv>(SOCK_DGRAM, 0, Default::default()).unwrap();
    assert_eq!(d.poll(), EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND);
    let (a, b) =
        unix::pair::<FakeEnv>(SOCK_STREAM, 0, (Default::default(), Default::default()), cx().who).unwrap();
    a.shutdown(SHUT_RDWR).unwrap();
    assert_eq!(
        a.poll(),
        EPOLLIN | EPOLLRDNORM | EPOLLRDHUP | EPOLLHUP | EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND
    );
    assert_eq!(b.poll() & (EPOLLRDHUP | EPOLLIN), EPOLLRDHUP | EPOLLIN);
    assert_eq!(a.shutdown(3).err(), Some(Errno::EINVAL));
}

#[test]
fn sockets_talking_to_themselves() {
    let mut r = cx();
    // a datagram to its own name
    let d = unix::create::<FakeEnv>(SOCK_DGRAM, 0, Default::default()).unwrap();
    d.bind(&mut r, &un(b"\0self-dgram")).unwrap();
    let to = un(b"\0self-dgram");
    let mut m = SendMsg {
        data: b"me",
        addr: Some(&to),
        flags: 0,
        rights: Vec::new(),
        creds: None,
        control: &[],
        again: false,
    };
    d.sendmsg(&mut r, &mut m).unwrap();
    let (_, got) = recv(&*d, 4, 0).unwrap();
    assert_eq!(got.addr.map(|a| a.len()), Some(to.len()));
    d.connect(&mut r, &to, true).unwrap();
    assert_ne!(d.poll() & EPOLLOUT, 0);
    // a listener connecting to itself
    let l = unix::create::<FakeEnv>(SOCK_STREAM, 0, Default::default()).unwrap();
    l.bind(&mut r, &un(b"\0self-listen")).unwrap();
    l.listen(&mut r, 1).unwrap();
    assert_eq!(l.connect(&mut r, &un(b"\0self-listen"), true).err(), Some(Errno::EINVAL));
    Socket::release(&*d);
    Socket::release(&*l);
}

#[test]
fn a_read_wakes_the_writer_only_when_it_can_write_again() {
    let wa = CountingWaker::default();
    let (a, b) = unix::pair::<FakeEnv>(SOCK_STREAM, 0, (wa.clone(), Default::default()), cx().who).unwrap();
    send(&*a, b"x").unwrap();
    let before = wa.0.load(core::sync::atomic::Ordering::Relaxed);
    recv(&*b, 1, 0).unwrap();
    assert_eq!(wa.0.load(core::sync::atomic::Ordering::Relaxed), before);
    // fill the sender, then a read that makes room wakes it
    let big = vec![0u8; DEFAULT_BUF];
    assert_eq!(send(&*a, &big).unwrap(), DEFAULT_BUF);
    assert_eq!(send(&*a, b"y").err(), Some(Errno::EAGAIN));
    assert_eq!(a.poll() & EPOLLOUT, 0);
    let before = wa.0.load(core::sync::atomic::Ordering::Relaxed);
    recv(&*b, DEFAULT_BUF, 0).unwrap();
    assert!(wa.0.load(core::sync::atomic::Ordering::Relaxed) > before);
    assert_ne!(a.poll() & EPOLLOUT, 0);
}

#[test]
fn collect_finds_cycles_and_spares_what_is_reachable() {
    let pair =
        || unix::pair::<FakeEnv>(SOCK_DGRAM, 0, (Default::default(), Default::default()), cx().who).unwrap();
    let put = |into_peer_of: &Arc<unix::UnixSocket<FakeEnv>>, f: &Arc<UnixSocketFile>| {
        let mut m = SendMsg {
            data: b"f",
            addr: None,
            flags: 0,
            rights: vec![FakeFile::Unix(f.clone())],
            creds: None,
            control: &[],
            again: false,
        };
        into_peer_of.sendmsg(&mut cx(), &mut m).unwrap();
    };
    // two pairs: x1's file in y0's queue, y1's file in x0's queue, all closed
    let (x0, x1) = pair();
    let (y0, y1) = pair();
    let (fx0, fx1, fy0, fy1) = (
        Arc::new(UnixSocketFile(x0.clone())),
        Arc::new(UnixSocketFile(x1.clone())),
        Arc::new(UnixSocketFile(y0.clone())),
        Arc::new(UnixSocketFile(y1.clone())),
    );
    put(&y1, &fx1); // into y0's queue
    put(&x1, &fy1); // into x0's queue
    // x0 and y0 stay open: everything is reachable
    drop((fx1, fy1));
    unix::collect::<FakeEnv>();
    assert!(!x1.is_dead() && !y1.is_dead());
    let (wx0, wy0) = (Arc::downgrade(&x0), Arc::downgrade(&y0));
    drop((x0, x1, y0, y1));
    // x0's file into y0's queue and y0's into x0's: a cycle once closed
    put(&fy0.0.clone(), &fx0.clone());
    drop((fx0, fy0));
    assert!(unix::collect::<FakeEnv>() >= 2);
    assert_eq!((wx0.strong_count(), wy0.strong_count()), (0, 0));
}

#[test]
fn put_cmsg_truncates_as_linux() {
    use crate::put_cmsg;
    let hop = 2i32.to_le_bytes();
    // room for two: each advances by CMSG_SPACE(4) = 24
    let mut out = Vec::new();
    assert_eq!(put_cmsg(&mut out, 48, 41, 52, &hop), Ok(0));
    assert_eq!(put_cmsg(&mut out, 48, 41, 67, &hop), Ok(0));
    assert_eq!(out.len(), 48);
    assert_eq!(&out[..8], &20u64.to_le_bytes());
    assert_eq!(&out[16..20], &hop);
    assert_eq!(&out[24 + 12..24 + 16], &67i32.to_le_bytes());
    // CMSG_LEN(4) - 1: the header and 3 bytes, cmsg_len 19, MSG_CTRUNC
    let mut out = Vec::new();
    assert_eq!(put_cmsg(&mut out, 19, 41, 52, &hop), Ok(MSG_CTRUNC));
    assert_eq!(out.len(), 19);
    assert_eq!(&out[..8], &19u64.to_le_bytes());
    // less than a header: nothing, MSG_CTRUNC
    let mut out = Vec::new();
    assert_eq!(put_cmsg(&mut out, 15, 41, 52, &hop), Ok(MSG_CTRUNC));
    assert!(out.is_empty());
    // CMSG_SPACE(4) + 1 after one message: the second gets no header
    let mut out = Vec::new();
    assert_eq!(put_cmsg(&mut out, 25, 41, 52, &hop), Ok(0));
    assert_eq!(put_cmsg(&mut out, 25, 41, 67, &hop), Ok(MSG_CTRUNC));
    assert_eq!(out.len(), 24);
    // exactly CMSG_LEN(4) of room: whole, the padding is not needed
    let mut out = Vec::new();
    assert_eq!(put_cmsg(&mut out, 20, 41, 52, &hop), Ok(0));
    assert_eq!(out.len(), 20);
}
