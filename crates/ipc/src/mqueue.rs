//! A POSIX message queue as a value (after Linux 6.1's ipc/mqueue.c):
//! the checks of `mq_open`'s name and attributes ([`check_name`],
//! [`Geometry::new`], [`open_access`]), the queue itself ([`Queue`]:
//! messages by priority, highest first and FIFO within a priority, with
//! the byte count `QSIZE` shows), the hand-over to a receiver or from a
//! sender that waits (Linux's `pipelined_send`/`pipelined_receive`) and
//! the `mq_notify` registration with its rules (one owner, `EBUSY` for
//! another, one shot, fired only when a message makes an empty queue
//! non-empty and no receiver waits).
//!
//! Waiters are numbers ([`Waiter`]) the queue hands out: a blocked
//! sender or receiver sleeps (in the kernel) until
//! [`Queue::done`] says its part was done, then takes its result with
//! [`Queue::finish`], which also withdraws a waiter that gave up (a
//! signal, a timeout).
//!
//! ```
//! use ipc::mqueue::{Geometry, Queue, Sent, Got};
//! let lim = ipc::sysv::Limits::default();
//! let g = Geometry::new(Some((4, 16)), &lim, false).unwrap();
//! let mut q: Queue<()> = Queue::new(g);
//! assert!(matches!(q.send(1, b"low".to_vec(), true, 120), Ok(Sent::Queued(None))));
//! assert!(matches!(q.send(9, b"high".to_vec(), true, 120), Ok(Sent::Queued(None))));
//! assert_eq!(q.qsize(), 7);
//! let Ok(Got::Message(prio, data)) = q.receive(true, 120) else { panic!() };
//! assert_eq!((prio, &data[..]), (9, &b"high"[..]));
//! ```

use alloc::collections::{BTreeMap, BinaryHeap};
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::{Ordering, Reverse};
use linux_abi::{Errno, Result};

use crate::sysv::Limits;

/// `MQ_PRIO_MAX`: priorities are `0..MQ_PRIO_MAX`.
pub const MQ_PRIO_MAX: u32 = 32768;
/// `HARD_MSGMAX`: the most messages a queue may hold with `CAP_SYS_RESOURCE`.
pub const HARD_MSGMAX: i64 = 65536;
/// `HARD_MSGSIZEMAX`: the largest message with `CAP_SYS_RESOURCE`.
pub const HARD_MSGSIZEMAX: i64 = 16 * 1024 * 1024;
/// `NAME_MAX`: the longest queue name.
pub const NAME_MAX: usize = 255;
/// `NOTIFY_COOKIE_LEN`: the bytes a `SIGEV_THREAD` registration sends.
pub const NOTIFY_COOKIE_LEN: usize = 32;
/// The cookie's last byte when a message arrived (`NOTIFY_WOKENUP`).
pub const NOTIFY_WOKENUP: u8 = 1;
/// The cookie's last byte when the registration was removed (`NOTIFY_REMOVED`).
pub const NOTIFY_REMOVED: u8 = 2;
/// `SIGEV_SIGNAL`.
pub const SIGEV_SIGNAL: i32 = 0;
/// `SIGEV_NONE`.
pub const SIGEV_NONE: i32 = 1;
/// `SIGEV_THREAD`.
pub const SIGEV_THREAD: i32 = 2;
/// `O_NONBLOCK`, the one flag of `mq_attr.mq_flags`.
pub const O_NONBLOCK: i64 = 0o4000;
/// `sizeof(struct msg_msg)` on x86_64: what each message slot is charged.
const MSG_MSG_SIZE: u64 = 48;
/// `sizeof(struct posix_msg_tree_node)` on x86_64.
const TREE_NODE_SIZE: u64 = 48;

/// `struct mq_attr` (64 bytes: four longs and four reserved).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attr {
    /// `mq_flags`: 0 or `O_NONBLOCK`.
    pub flags: i64,
    /// `mq_maxmsg`.
    pub maxmsg: i64,
    /// `mq_msgsize`.
    pub msgsize: i64,
    /// `mq_curmsgs`.
    pub curmsgs: i64,
}

impl Attr {
    /// The 64 bytes user space sees.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        for (i, v) in [self.flags, self.maxmsg, self.msgsize, self.curmsgs].iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    /// From the 64 bytes user space gave (the reserved words ignored).
    pub fn from_bytes(b: &[u8; 64]) -> Attr {
        let w = |i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[i * 8..i * 8 + 8]);
            i64::from_le_bytes(x)
        };
        Attr { flags: w(0), maxmsg: w(1), msgsize: w(2), curmsgs: w(3) }
    }
}

/// `mq_getsetattr`'s check of a new `mq_flags`: only `O_NONBLOCK` (`EINVAL`).
pub fn check_setattr_flags(flags: i64) -> Result<()> {
    if flags & !O_NONBLOCK != 0 { Err(Errno::EINVAL) } else { Ok(()) }
}

/// A queue name as `mq_open`/`mq_unlink` get it (the C library dropped the
/// leading `/`): empty is `ENOENT` (getname), `.`, `..` or one with a `/`
/// is `EACCES` (lookup_one_len), longer than `NAME_MAX` `ENAMETOOLONG`
/// (simple_lookup).
pub fn check_name(name: &[u8]) -> Result<()> {
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name == b"." || name == b".." || name.contains(&b'/') {
        return Err(Errno::EACCES);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

/// What an open of an existing queue asks (prepare_open): `O_CREAT |
/// O_EXCL` is `EEXIST`; the access mode 3 `EINVAL`; else the permission
/// bits wanted (4 read, 2 write).
pub fn open_access(oflag: u32) -> Result<u32> {
    const O_CREAT: u32 = 0o100;
    const O_EXCL: u32 = 0o200;
    if oflag & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL {
        return Err(Errno::EEXIST);
    }
    match oflag & 3 {
        0 => Ok(4),
        1 => Ok(2),
        2 => Ok(6),
        _ => Err(Errno::EINVAL),
    }
}

/// A queue's size: how many messages and how large each may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// `mq_maxmsg`.
    pub maxmsg: usize,
    /// `mq_msgsize`.
    pub msgsize: usize,
}

impl Geometry {
    /// mqueue_get_inode's checks of `(mq_maxmsg, mq_msgsize)` (the
    /// namespace's `msg_default`/`msgsize_default` without an attr): each
    /// must be positive and at most `msg_max`/`msgsize_max`, or with
    /// `CAP_SYS_RESOURCE` (`sys_resource`) at most `HARD_MSGMAX` and
    /// `HARD_MSGSIZEMAX` (`EINVAL`).
    pub fn new(attr: Option<(i64, i64)>, lim: &Limits, sys_resource: bool) -> Result<Geometry> {
        let (maxmsg, msgsize) =
            attr.unwrap_or((i64::from(lim.mq_msg_default), i64::from(lim.mq_msgsize_default)));
        if maxmsg <= 0 || msgsize <= 0 {
            return Err(Errno::EINVAL);
        }
        let (mm, ms) = if sys_resource {
            (HARD_MSGMAX, HARD_MSGSIZEMAX)
        } else {
            (i64::from(lim.mq_msg_max), i64::from(lim.mq_msgsize_max))
        };
        if maxmsg > mm || msgsize > ms {
            return Err(Errno::EINVAL);
        }
        // both are at most 2^24 here: no overflow in what follows
        Ok(Geometry { maxmsg: maxmsg as usize, msgsize: msgsize as usize })
    }

    /// The bytes charged to the creator's `RLIMIT_MSGQUEUE` (mq_bytes: the
    /// messages' room plus a `msg_msg` per message and a tree node per
    /// possible priority).
    pub fn charge(&self) -> u64 {
        let n = self.maxmsg as u64;
        n * self.msgsize as u64 + n * MSG_MSG_SIZE + n.min(u64::from(MQ_PRIO_MAX)) * TREE_NODE_SIZE
    }
}

/// Whether a user who already has `used` bytes of queues may create one
/// of `g` under the limit `rlimit` (`EMFILE` beyond, as mq_open).
pub fn charge_ok(used: u64, g: &Geometry, rlimit: u64) -> Result<u64> {
    match used.checked_add(g.charge()) {
        Some(t) if t <= rlimit => Ok(t),
        _ => Err(Errno::EMFILE),
    }
}

/// A waiter's number (a blocked sender or receiver).
pub type Waiter = u64;

/// How a registered process is told (`sigev_notify`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum How<S> {
    /// `SIGEV_NONE`: nothing is sent, the registration still goes.
    None,
    /// `SIGEV_SIGNAL` with `sigev_signo` (0 sends nothing) and `sigev_value`.
    Signal {
        /// The signal (0: none).
        signo: i32,
        /// `sigev_value`.
        value: u64,
    },
    /// `SIGEV_THREAD` as the C libraries do it: the cookie goes to the
    /// socket `sock` (the kernel's handle of an `AF_NETLINK` socket).
    Thread {
        /// The socket.
        sock: S,
        /// The 32-byte cookie (its last byte is set on sending).
        cookie: [u8; NOTIFY_COOKIE_LEN],
    },
}

impl<S> How<S> {
    /// `sigev_notify` of this kind.
    pub fn sigev_notify(&self) -> i32 {
        match self {
            How::None => SIGEV_NONE,
            How::Signal { .. } => SIGEV_SIGNAL,
            How::Thread { .. } => SIGEV_THREAD,
        }
    }
}

/// Who registered: the process's thread group id, and two numbers the
/// kernel never gives twice: one for the process (Linux's `struct pid`
/// reference: a reused id is another process) and one for the program
/// it runs (`self_exec_id`: an exec gives a new one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The thread group id.
    pub pid: u32,
    /// The process's identity.
    pub process: u64,
    /// The program's identity (changes at each exec).
    pub image: u64,
}

impl Owner {
    /// Whether `other` is the same process (whatever program it runs now).
    pub fn same_process(&self, other: &Owner) -> bool {
        self.pid == other.pid && self.process == other.process
    }
}

/// A `mq_notify` registration: the process and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration<S> {
    /// The registered process.
    pub owner: Owner,
    /// How it is told.
    pub how: How<S>,
}

impl<S> Registration<S> {
    /// What to send when it goes without a message (`remove_notification`):
    /// a `SIGEV_THREAD` registration's socket and its cookie marked
    /// `NOTIFY_REMOVED`.
    pub fn removed(self) -> Option<(S, [u8; NOTIFY_COOKIE_LEN])> {
        match self.how {
            How::Thread { sock, mut cookie } => {
                cookie[NOTIFY_COOKIE_LEN - 1] = NOTIFY_REMOVED;
                Some((sock, cookie))
            }
            _ => None,
        }
    }
}

/// A registration that fired (the kernel sends what it says, after its lock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fired<S> {
    /// `SIGEV_SIGNAL`: send `signo` with `SI_MESGQ` and `value` to `owner`
    /// if it is still that process running that program (`__do_notify`'s
    /// `self_exec_id` check; the kernel checks it).
    Signal {
        /// The registered process.
        owner: Owner,
        /// The signal.
        signo: i32,
        /// `si_value`.
        value: u64,
    },
    /// `SIGEV_THREAD`: send `cookie` (last byte `NOTIFY_WOKENUP`) to `sock`.
    Thread {
        /// The socket.
        sock: S,
        /// The cookie.
        cookie: [u8; NOTIFY_COOKIE_LEN],
    },
}

/// What a send did.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent<S> {
    /// The message is in the queue or with a receiver; a registration may
    /// have fired.
    Queued(Option<Fired<S>>),
    /// The queue is full: the sender waits as this waiter, its message
    /// held, until [`Queue::done`].
    Blocked(Waiter),
}

/// What a receive did.
#[derive(Debug, PartialEq, Eq)]
pub enum Got {
    /// The message with the highest priority (first sent of those).
    Message(u32, Vec<u8>),
    /// The queue is empty: the receiver waits as this waiter.
    Blocked(Waiter),
}

/// One message in the heap: priority, then the order it came in.
#[derive(Debug)]
struct Entry {
    prio: u32,
    seq: Reverse<u64>,
    data: Vec<u8>,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.prio, self.seq).cmp(&(o.prio, o.seq))
    }
}

/// A message queue (`struct mqueue_inode_info` without the inode): `S` is
/// the kernel's handle of a `SIGEV_THREAD` socket.
#[derive(Debug)]
pub struct Queue<S> {
    geometry: Geometry,
    msgs: BinaryHeap<Entry>,
    next_seq: u64,
    qsize: u64,
    /// Waiting receivers by (task priority, arrival): the lowest number
    /// (the highest priority) first, FIFO within one (Linux's wq_add).
    receivers: BTreeMap<(i32, Waiter), ()>,
    /// Waiting senders the same way, with their messages.
    senders: BTreeMap<(i32, Waiter), (u32, Vec<u8>)>,
    /// A waiter's task priority (to find its entry).
    waiting: BTreeMap<Waiter, i32>,
    /// Waiters whose part was done: a receiver's message, a sender's `None`.
    done: BTreeMap<Waiter, Option<(u32, Vec<u8>)>>,
    next_waiter: Waiter,
    notify: Option<Registration<S>>,
}

impl<S> Queue<S> {
    /// An empty queue.
    pub fn new(geometry: Geometry) -> Queue<S> {
        Queue {
            geometry,
            msgs: BinaryHeap::new(),
            next_seq: 0,
            qsize: 0,
            receivers: BTreeMap::new(),
            senders: BTreeMap::new(),
            waiting: BTreeMap::new(),
            done: BTreeMap::new(),
            next_waiter: 0,
            notify: None,
        }
    }

    /// Its size.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Messages in the queue (`mq_curmsgs`).
    pub fn curmsgs(&self) -> usize {
        self.msgs.len()
    }

    /// The bytes of the messages in the queue (`QSIZE`).
    pub fn qsize(&self) -> u64 {
        self.qsize
    }

    /// Whether a receive would not wait (`EPOLLIN`).
    pub fn readable(&self) -> bool {
        !self.msgs.is_empty()
    }

    /// Whether a send would not wait (`EPOLLOUT`).
    pub fn writable(&self) -> bool {
        self.msgs.len() < self.geometry.maxmsg
    }

    /// `mq_getattr`'s values (`flags` is the descriptor's).
    pub fn attr(&self, nonblock: bool) -> Attr {
        Attr {
            flags: if nonblock { O_NONBLOCK } else { 0 },
            maxmsg: self.geometry.maxmsg as i64,
            msgsize: self.geometry.msgsize as i64,
            curmsgs: self.msgs.len() as i64,
        }
    }

    /// The registration, if any.
    pub fn registration(&self) -> Option<&Registration<S>> {
        self.notify.as_ref()
    }

    /// The first checks of mq_timedsend: a priority `>= MQ_PRIO_MAX` is
    /// `EINVAL` (before the descriptor is looked at).
    pub fn check_prio(prio: u64) -> Result<u32> {
        if prio >= u64::from(MQ_PRIO_MAX) { Err(Errno::EINVAL) } else { Ok(prio as u32) }
    }

    /// mq_timedsend's size check: longer than `mq_msgsize` is `EMSGSIZE`.
    pub fn check_send_len(&self, len: usize) -> Result<()> {
        if len > self.geometry.msgsize { Err(Errno::EMSGSIZE) } else { Ok(()) }
    }

    /// mq_timedreceive's size check: a buffer shorter than `mq_msgsize`
    /// is `EMSGSIZE`.
    pub fn check_receive_len(&self, len: usize) -> Result<()> {
        if len < self.geometry.msgsize { Err(Errno::EMSGSIZE) } else { Ok(()) }
    }

    fn new_waiter(&mut self) -> Waiter {
        self.next_waiter += 1;
        self.next_waiter
    }

    fn insert(&mut self, prio: u32, data: Vec<u8>) -> Result<()> {
        self.msgs.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        self.qsize += data.len() as u64;
        self.next_seq += 1;
        self.msgs.push(Entry { prio, seq: Reverse(self.next_seq), data });
        Ok(())
    }

    /// mq_timedsend of `data` (its length checked) at `prio`: to the first
    /// waiting receiver, else into the queue (where a message that makes
    /// it non-empty fires the registration, which then goes); a full
    /// queue is `EAGAIN` with `nonblock`, else the sender waits, in the
    /// order of its task priority `task_prio` (the kernel's `prio`: lower
    /// is served first).
    pub fn send(&mut self, prio: u32, data: Vec<u8>, nonblock: bool, task_prio: i32) -> Result<Sent<S>> {
        if self.msgs.len() >= self.geometry.maxmsg {
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            let w = self.new_waiter();
            self.senders.insert((task_prio, w), (prio, data));
            self.waiting.insert(w, task_prio);
            return Ok(Sent::Blocked(w));
        }
        if let Some(((_, r), ())) = self.receivers.pop_first() {
            self.waiting.remove(&r);
            // pipelined_send: the receiver has it, the queue never did
            self.done.insert(r, Some((prio, data)));
            return Ok(Sent::Queued(None));
        }
        self.insert(prio, data)?;
        Ok(Sent::Queued(self.fire()))
    }

    /// `__do_notify`: the registration fires when the queue just went
    /// from empty to one message, and goes (one shot).
    fn fire(&mut self) -> Option<Fired<S>> {
        if self.msgs.len() != 1 {
            return None;
        }
        let r = self.notify.take()?;
        match r.how {
            How::None => None,
            How::Signal { signo: 0, .. } => None,
            How::Signal { signo, value } => Some(Fired::Signal { owner: r.owner, signo, value }),
            How::Thread { sock, mut cookie } => {
                cookie[NOTIFY_COOKIE_LEN - 1] = NOTIFY_WOKENUP;
                Some(Fired::Thread { sock, cookie })
            }
        }
    }

    /// mq_timedreceive: the first message of the highest priority, and a
    /// waiting sender's message into the room it leaves; an empty queue is
    /// `EAGAIN` with `nonblock`, else the receiver waits (in the order of
    /// `task_prio`, as senders).
    pub fn receive(&mut self, nonblock: bool, task_prio: i32) -> Result<Got> {
        let Some(e) = self.msgs.pop() else {
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            let w = self.new_waiter();
            self.receivers.insert((task_prio, w), ());
            self.waiting.insert(w, task_prio);
            return Ok(Got::Blocked(w));
        };
        self.qsize -= e.data.len() as u64;
        // pipelined_receive: the first waiting sender's message goes in
        // (no notification: the queue was not empty)
        if let Some(((_, w), (prio, data))) = self.senders.pop_first() {
            self.waiting.remove(&w);
            // a slot was just freed: the heap has room, the push does not
            // allocate
            self.qsize += data.len() as u64;
            self.next_seq += 1;
            self.msgs.push(Entry { prio, seq: Reverse(self.next_seq), data });
            self.done.insert(w, None);
        }
        Ok(Got::Message(e.prio, e.data))
    }

    /// Whether waiter `w`'s send or receive was done.
    pub fn done(&self, w: Waiter) -> bool {
        self.done.contains_key(&w)
    }

    /// Waiter `w` stops waiting: `Some` of what it got when its part was
    /// done (a receiver's message, a sender's `None`), else `None` and it
    /// is withdrawn (a sender's message is dropped).
    pub fn finish(&mut self, w: Waiter) -> Option<Option<(u32, Vec<u8>)>> {
        if let Some(got) = self.done.remove(&w) {
            return Some(got);
        }
        if let Some(p) = self.waiting.remove(&w) {
            self.receivers.remove(&(p, w));
            self.senders.remove(&(p, w));
        }
        None
    }

    /// Whether a receiver waits (a registration would not fire).
    pub fn receivers_waiting(&self) -> usize {
        self.receivers.len()
    }

    /// Whether a sender waits.
    pub fn senders_waiting(&self) -> usize {
        self.senders.len()
    }

    /// mq_notify with a sigevent from process `owner`: `EBUSY` when a
    /// registration exists (whoever made it).
    pub fn register(&mut self, owner: Owner, how: How<S>) -> core::result::Result<(), (Errno, How<S>)> {
        if self.notify.is_some() {
            return Err((Errno::EBUSY, how));
        }
        self.notify = Some(Registration { owner, how });
        Ok(())
    }

    /// mq_notify(NULL) from `owner`, a close of one of its descriptors
    /// (`mqueue_flush_file`) or its exit: its registration goes (made by
    /// the same process, whatever program it runs now); another's stays.
    pub fn unregister(&mut self, owner: &Owner) -> Option<Registration<S>> {
        if self.notify.as_ref().is_some_and(|r| r.owner.same_process(owner)) {
            self.notify.take()
        } else {
            None
        }
    }

    /// Drops a registration whose owner is gone (`alive` says whether that
    /// process still exists: its id alone may name another one now).
    pub fn forget_dead(&mut self, alive: impl FnOnce(&Owner) -> bool) -> Option<Registration<S>> {
        if self.notify.as_ref().is_some_and(|r| !alive(&r.owner)) { self.notify.take() } else { None }
    }

    /// The line a read of the queue's file gives (mqueue_read_file), with
    /// the owner's pid as the reader sees it (0 for none).
    pub fn status_line(&self, owner_pid: i32) -> String {
        let (notify, signo) = match &self.notify {
            None => (0, 0),
            Some(r) => (r.how.sigev_notify(), if let How::Signal { signo, .. } = r.how { signo } else { 0 }),
        };
        alloc::format!(
            "QSIZE:{:<10} NOTIFY:{:<5} SIGNO:{:<5} NOTIFY_PID:{:<6}\n",
            self.qsize,
            notify,
            signo,
            owner_pid
        )
    }

    /// Everything the queue holds goes (its last user is gone); what is
    /// returned is the registration (its socket to drop outside locks).
    pub fn take_registration(&mut self) -> Option<Registration<S>> {
        self.notify.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    /// Process `pid` (its identity `pid + 1000`, image 1).
    fn who(pid: u32) -> Owner {
        Owner { pid, process: u64::from(pid) + 1000, image: 1 }
    }

    fn q(maxmsg: i64, msgsize: i64) -> Queue<u8> {
        Queue::new(Geometry::new(Some((maxmsg, msgsize)), &Limits::default(), false).unwrap())
    }

    #[test]
    fn names() {
        assert_eq!(check_name(b""), Err(Errno::ENOENT));
        assert_eq!(check_name(b"."), Err(Errno::EACCES));
        assert_eq!(check_name(b".."), Err(Errno::EACCES));
        assert_eq!(check_name(b"a/b"), Err(Errno::EACCES));
        assert_eq!(check_name(b"..."), Ok(()));
        assert_eq!(check_name(&[b'x'; 255]), Ok(()));
        assert_eq!(check_name(&[b'x'; 256]), Err(Errno::ENAMETOOLONG));
    }

    #[test]
    fn geometry_and_charge() {
        let l = Limits::default();
        let d = Geometry::new(None, &l, false).unwrap();
        assert_eq!(d, Geometry { maxmsg: 10, msgsize: 8192 });
        // 10 * 8192 + 10 * 48 + 10 * 48
        assert_eq!(d.charge(), 82880);
        assert_eq!(Geometry::new(Some((0, 1)), &l, true), Err(Errno::EINVAL));
        assert_eq!(Geometry::new(Some((1, -1)), &l, true), Err(Errno::EINVAL));
        assert_eq!(Geometry::new(Some((11, 1)), &l, false), Err(Errno::EINVAL));
        assert_eq!(Geometry::new(Some((10, 8193)), &l, false), Err(Errno::EINVAL));
        assert!(Geometry::new(Some((11, 8193)), &l, true).is_ok());
        assert_eq!(Geometry::new(Some((HARD_MSGMAX + 1, 1)), &l, true), Err(Errno::EINVAL));
        assert_eq!(Geometry::new(Some((1, HARD_MSGSIZEMAX + 1)), &l, true), Err(Errno::EINVAL));
        let big = Geometry::new(Some((HARD_MSGMAX, 1)), &l, true).unwrap();
        assert_eq!(big.charge(), 65536 + 65536 * 48 + 32768 * 48);
        // the default RLIMIT_MSGQUEUE (819200) holds 9 default queues
        let mut used = 0;
        for _ in 0..9 {
            used = charge_ok(used, &d, 819200).unwrap();
        }
        assert_eq!(charge_ok(used, &d, 819200), Err(Errno::EMFILE));
        assert_eq!(charge_ok(u64::MAX, &d, u64::MAX), Err(Errno::EMFILE));
    }

    #[test]
    fn access_and_attr() {
        assert_eq!(open_access(0), Ok(4));
        assert_eq!(open_access(1), Ok(2));
        assert_eq!(open_access(2 | 0o100), Ok(6));
        assert_eq!(open_access(3), Err(Errno::EINVAL));
        assert_eq!(open_access(0o300), Err(Errno::EEXIST));
        assert_eq!(check_setattr_flags(O_NONBLOCK), Ok(()));
        assert_eq!(check_setattr_flags(1), Err(Errno::EINVAL));
        let a = Attr { flags: O_NONBLOCK, maxmsg: 3, msgsize: 7, curmsgs: 1 };
        assert_eq!(Attr::from_bytes(&a.to_bytes()), a);
        assert_eq!(Queue::<u8>::check_prio(32767), Ok(32767));
        assert_eq!(Queue::<u8>::check_prio(32768), Err(Errno::EINVAL));
    }

    #[test]
    fn full_empty_and_sizes() {
        let mut q = q(2, 4);
        assert_eq!(q.check_send_len(5), Err(Errno::EMSGSIZE));
        assert_eq!(q.check_receive_len(3), Err(Errno::EMSGSIZE));
        assert_eq!(q.receive(true, 120), Err(Errno::EAGAIN));
        assert!(q.writable() && !q.readable());
        assert_eq!(q.send(0, vec![1, 2], true, 120), Ok(Sent::Queued(None)));
        assert_eq!(q.send(0, vec![3], true, 120), Ok(Sent::Queued(None)));
        assert!(!q.writable() && q.readable());
        assert_eq!(q.qsize(), 3);
        assert_eq!(q.send(0, vec![4], true, 120), Err(Errno::EAGAIN));
        assert_eq!(q.attr(true), Attr { flags: O_NONBLOCK, maxmsg: 2, msgsize: 4, curmsgs: 2 });
        assert_eq!(q.status_line(0), "QSIZE:3          NOTIFY:0     SIGNO:0     NOTIFY_PID:0     \n");
    }

    #[test]
    fn waiters_hand_over() {
        let mut q = q(1, 4);
        let Ok(Got::Blocked(r)) = q.receive(false, 120) else { panic!() };
        assert!(!q.done(r));
        // a registration does not fire while a receiver waits
        q.register(who(7), How::Signal { signo: 10, value: 5 }).unwrap();
        assert_eq!(q.send(3, vec![9], false, 120), Ok(Sent::Queued(None)));
        assert_eq!(q.curmsgs(), 0);
        assert!(q.done(r));
        assert_eq!(q.finish(r), Some(Some((3, vec![9]))));
        assert!(q.registration().is_some());
        // now it fires, once
        assert_eq!(
            q.send(1, vec![1], false, 120),
            Ok(Sent::Queued(Some(Fired::Signal { owner: who(7), signo: 10, value: 5 })))
        );
        assert!(q.registration().is_none());
        let Ok(Sent::Blocked(s)) = q.send(2, vec![2], false, 120) else { panic!() };
        assert_eq!(q.receive(false, 120), Ok(Got::Message(1, vec![1])));
        assert!(q.done(s));
        assert_eq!(q.finish(s), Some(None));
        assert_eq!(q.curmsgs(), 1);
        // a sender that gives up takes its message away
        let Ok(Sent::Blocked(s)) = q.send(4, vec![4], false, 120) else { panic!() };
        assert_eq!(q.finish(s), None);
        assert_eq!(q.senders_waiting(), 0);
        assert_eq!(q.receive(true, 120), Ok(Got::Message(2, vec![2])));
        assert_eq!(q.receive(true, 120), Err(Errno::EAGAIN));
    }

    #[test]
    fn waiters_by_task_priority_then_arrival() {
        let mut q = q(1, 4);
        let mut rs = Vec::new();
        for p in [130, 120, 120, 100] {
            let Ok(Got::Blocked(w)) = q.receive(false, p) else { panic!() };
            rs.push(w);
        }
        // the 100, then the first 120, the second 120, the 130
        for (i, want) in [3, 1, 2, 0].iter().enumerate() {
            assert_eq!(q.send(0, vec![i as u8], false, 120), Ok(Sent::Queued(None)));
            assert_eq!(q.finish(rs[*want]), Some(Some((0, vec![i as u8]))));
        }
        assert_eq!(q.receivers_waiting(), 0);
        q.send(0, vec![9], false, 120).unwrap();
        let mut ss = Vec::new();
        for p in [125, 110, 125] {
            let Ok(Sent::Blocked(w)) = q.send(p as u32, vec![p as u8], false, p) else { panic!() };
            ss.push(w);
        }
        // a withdrawn sender leaves its place
        assert_eq!(q.finish(ss[0]), None);
        assert_eq!(q.receive(true, 120), Ok(Got::Message(0, vec![9])));
        assert!(q.done(ss[1]) && !q.done(ss[2]));
        assert_eq!(q.receive(true, 120), Ok(Got::Message(110, vec![110])));
        assert!(q.done(ss[2]));
        assert_eq!(q.senders_waiting(), 0);
    }

    #[test]
    fn notify_rules() {
        let mut q = q(4, 4);
        q.register(who(1), How::None).unwrap();
        assert_eq!(q.register(who(2), How::None).map_err(|e| e.0), Err(Errno::EBUSY));
        assert_eq!(q.status_line(1), "QSIZE:0          NOTIFY:1     SIGNO:0     NOTIFY_PID:1     \n");
        assert_eq!(q.unregister(&who(2)), None);
        // the same id, another process (the id was reused): not its own
        assert_eq!(q.unregister(&Owner { pid: 1, process: 99, image: 1 }), None);
        assert!(q.registration().is_some());
        // SIGEV_NONE goes at the first message without sending anything
        assert_eq!(q.send(0, vec![], true, 120), Ok(Sent::Queued(None)));
        assert!(q.registration().is_none());
        // registered on a non-empty queue: fires only after it empties
        q.register(who(1), How::Thread { sock: 5, cookie: [0; 32] }).unwrap();
        assert_eq!(q.send(0, vec![], true, 120), Ok(Sent::Queued(None)));
        assert!(q.registration().is_some());
        q.receive(true, 120).unwrap();
        q.receive(true, 120).unwrap();
        let mut c = [0; 32];
        c[31] = NOTIFY_WOKENUP;
        assert_eq!(
            q.send(0, vec![1], true, 120),
            Ok(Sent::Queued(Some(Fired::Thread { sock: 5, cookie: c })))
        );
        q.register(who(3), How::Thread { sock: 6, cookie: [1; 32] }).unwrap();
        assert_eq!(q.forget_dead(|o| o.pid == 3), None);
        // the same process after an exec (another image) takes it back
        let r = q.unregister(&Owner { image: 77, ..who(3) }).unwrap();
        let mut c = [1; 32];
        c[31] = NOTIFY_REMOVED;
        assert_eq!(r.removed(), Some((6, c)));
        q.register(who(4), How::Signal { signo: 0, value: 0 }).unwrap();
        assert_eq!(q.forget_dead(|_| false).map(|r| r.owner.pid), Some(4));
    }

    proptest! {
        /// Receives give the messages by priority, highest first, and in
        /// sending order within one; the byte count follows.
        #[test]
        fn order(ops in proptest::collection::vec((any::<bool>(), 0u32..5, 0usize..8), 0..200)) {
            let mut q = q(8, 8);
            let mut model: Vec<(u32, u64, Vec<u8>)> = Vec::new();
            let mut n = 0u64;
            for (send, prio, len) in ops {
                if send {
                    n += 1;
                    let data = vec![n as u8; len];
                    let r = q.send(prio, data.clone(), true, 120);
                    if model.len() == 8 {
                        prop_assert_eq!(r, Err(Errno::EAGAIN));
                    } else {
                        prop_assert_eq!(r, Ok(Sent::Queued(None)));
                        model.push((prio, n, data));
                    }
                } else {
                    let best = model.iter().enumerate()
                        .max_by(|a, b| (a.1.0, Reverse(a.1.1)).cmp(&(b.1.0, Reverse(b.1.1))))
                        .map(|(i, _)| i);
                    match best {
                        None => prop_assert_eq!(q.receive(true, 120), Err(Errno::EAGAIN)),
                        Some(i) => {
                            let (p, _, d) = model.remove(i);
                            prop_assert_eq!(q.receive(true, 120), Ok(Got::Message(p, d)));
                        }
                    }
                }
                prop_assert_eq!(q.curmsgs(), model.len());
                prop_assert_eq!(q.qsize(), model.iter().map(|m| m.2.len() as u64).sum::<u64>());
            }
        }
    }
}
