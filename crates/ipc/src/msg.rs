//! A System V message queue (Linux 6.1's ipc/msg.c without its locks):
//! the messages in order, the byte limit (`msg_qbytes`), msgrcv's type
//! selection ([`Mode`]), and who waits: receivers (a message sent while
//! one waits for its type goes straight to it, as `pipelined_send`) and
//! senders waiting for room.
//!
//! Receivers are tokens `R` the queue hands back with what they get (the
//! message, `E2BIG`, `EIDRM`, or `EAGAIN`: look again); senders are tokens
//! `S` handed back when there may be room (they try again, as Linux's woken
//! senders do) or with `EIDRM`. The kernel wakes them after its lock.
//!
//! ```
//! use ipc::msg::{Message, MsgQueue, Mode};
//! use ipc::sysv::Perm;
//! let mut q: MsgQueue<(), &str> = MsgQueue::new(Perm::new(5, 0, 0, 0o600, 0), 16384, 1);
//! let (mut senders, mut receivers) = (Vec::new(), Vec::new());
//! q.add_receiver("r", 2, Mode::Equal, 100, 9).unwrap();
//! q.send(Message { mtype: 1, text: b"one".to_vec() }, 7, 2, &mut receivers).unwrap();
//! q.send(Message { mtype: 2, text: b"two".to_vec() }, 7, 3, &mut receivers).unwrap();
//! assert_eq!(receivers.len(), 1);
//! assert_eq!(receivers[0].1.as_ref().map(|m| m.mtype), Ok(2));
//! let m = q.receive(0, Mode::Any, 100, false, 8, 4, &mut senders).unwrap();
//! assert_eq!(m.text, b"one");
//! assert_eq!((q.qnum(), q.cbytes(), q.lrpid, q.lspid), (0, 0, 8, 7));
//! ```

use crate::sysv::{Object, Perm};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use linux_abi::{Errno, Result};

/// msgrcv flag: take a message too long, cut.
pub const MSG_NOERROR: i32 = 0o10000;
/// msgrcv flag: the first message of another type.
pub const MSG_EXCEPT: i32 = 0o20000;
/// msgrcv flag: copy the message at an index, keep it queued.
pub const MSG_COPY: i32 = 0o40000;
/// Don't wait.
pub const IPC_NOWAIT: i32 = 0o4000;
/// What a queued message costs beyond its text in a [`Footprint`]: Linux's
/// `struct msg_msg` is 48 bytes; here a message's header and its slot in
/// the queue.
///
/// [`Footprint`]: crate::budget::Footprint
pub const MSG_COST: usize = 64;
/// What a queue costs with no message (its struct).
pub const QUEUE_COST: usize = 256;

/// One message: its type (> 0) and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// `mtype`.
    pub mtype: i64,
    /// `mtext`.
    pub text: Vec<u8>,
}

/// msgrcv's search (`convert_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// msgtyp 0: the first message.
    Any,
    /// msgtyp > 0: the first of that type.
    Equal,
    /// msgtyp > 0 with MSG_EXCEPT: the first of another type.
    NotEqual,
    /// msgtyp < 0: the first of the lowest type up to |msgtyp|.
    LessEqual,
    /// MSG_COPY: the message at index msgtyp.
    Number,
}

/// `convert_mode`: the search and the type it compares with.
pub fn convert_mode(msgtyp: i64, flags: i32) -> (i64, Mode) {
    if flags & MSG_COPY != 0 {
        return (msgtyp, Mode::Number);
    }
    if msgtyp == 0 {
        (0, Mode::Any)
    } else if msgtyp < 0 {
        (if msgtyp == i64::MIN { i64::MAX } else { -msgtyp }, Mode::LessEqual)
    } else if flags & MSG_EXCEPT != 0 {
        (msgtyp, Mode::NotEqual)
    } else {
        (msgtyp, Mode::Equal)
    }
}

/// `testmsg`.
fn matches(m: &Message, typ: i64, mode: Mode) -> bool {
    match mode {
        Mode::Any | Mode::Number => true,
        Mode::LessEqual => m.mtype <= typ,
        Mode::Equal => m.mtype == typ,
        Mode::NotEqual => m.mtype != typ,
    }
}

/// A waiting receiver (`struct msg_receiver`).
#[derive(Debug)]
struct Receiver<R> {
    waiter: R,
    typ: i64,
    mode: Mode,
    maxsize: usize,
    tid: u32,
}

/// One queue (`struct msg_queue`).
#[derive(Debug)]
pub struct MsgQueue<S, R> {
    /// Its permissions.
    pub perm: Perm,
    messages: VecDeque<Message>,
    cbytes: usize,
    /// `msg_qbytes`: the most bytes (and messages) it holds.
    pub qbytes: u64,
    /// Last msgsnd time.
    pub stime: i64,
    /// Last msgrcv time.
    pub rtime: i64,
    /// Last change time.
    pub ctime: i64,
    /// Last sender's pid.
    pub lspid: u32,
    /// Last receiver's pid.
    pub lrpid: u32,
    senders: VecDeque<(S, usize)>,
    receivers: VecDeque<Receiver<R>>,
}

impl<S, R> Object for MsgQueue<S, R> {
    fn perm(&self) -> &Perm {
        &self.perm
    }
}

/// The queue's struct, its messages' text and [`MSG_COST`] per message
/// (waiters are not counted: each is a sleeping thread).
impl<S, R> crate::budget::Footprint for MsgQueue<S, R> {
    fn footprint(&self) -> usize {
        QUEUE_COST.saturating_add(self.cbytes).saturating_add(self.messages.len().saturating_mul(MSG_COST))
    }
}

/// Receivers handed back with what they got.
pub type Received<R> = Vec<(R, Result<Message>)>;

impl<S, R> MsgQueue<S, R> {
    /// `newque`: empty, `qbytes` (the namespace's msgmnb) bytes, made at `now`.
    pub fn new(perm: Perm, qbytes: u64, now: i64) -> MsgQueue<S, R> {
        MsgQueue {
            perm,
            messages: VecDeque::new(),
            cbytes: 0,
            qbytes,
            stime: 0,
            rtime: 0,
            ctime: now,
            lspid: 0,
            lrpid: 0,
            senders: VecDeque::new(),
            receivers: VecDeque::new(),
        }
    }

    /// Messages queued.
    pub fn qnum(&self) -> usize {
        self.messages.len()
    }

    /// Bytes queued.
    pub fn cbytes(&self) -> usize {
        self.cbytes
    }

    /// `msg_fits_inqueue`: room for `size` more bytes and one more message.
    pub fn fits(&self, size: usize) -> bool {
        (size as u64).saturating_add(self.cbytes as u64) <= self.qbytes
            && (self.messages.len() as u64) < self.qbytes
    }

    /// Queues sender token `s` for room for `size` bytes (`ss_add`);
    /// `ENOMEM` (nothing queued) without memory.
    pub fn add_sender(&mut self, s: S, size: usize) -> Result<()> {
        self.senders.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        self.senders.push_back((s, size));
        Ok(())
    }

    /// Queues receiver token `r` (`msr_d`): `typ` and `mode` from
    /// [`convert_mode`], `maxsize` its buffer (`usize::MAX` with
    /// MSG_NOERROR), `tid` its thread (the `lrpid` a pipelined message
    /// gives, as Linux's `task_pid`); `ENOMEM` (nothing queued) without
    /// memory.
    pub fn add_receiver(&mut self, r: R, typ: i64, mode: Mode, maxsize: usize, tid: u32) -> Result<()> {
        self.receivers.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        self.receivers.push_back(Receiver { waiter: r, typ, mode, maxsize, tid });
        Ok(())
    }

    /// Takes out a sender token `is_mine` picks (interrupted).
    pub fn cancel_sender(&mut self, mut is_mine: impl FnMut(&S) -> bool) -> Option<S> {
        let i = self.senders.iter().position(|(s, _)| is_mine(s))?;
        self.senders.remove(i).map(|(s, _)| s)
    }

    /// Takes out a receiver token `is_mine` picks (interrupted).
    pub fn cancel_receiver(&mut self, mut is_mine: impl FnMut(&R) -> bool) -> Option<R> {
        let i = self.receivers.iter().position(|r| is_mine(&r.waiter))?;
        self.receivers.remove(i).map(|r| r.waiter)
    }

    /// The second half of `do_msgsnd` (the caller checked [`fits`](Self::fits)):
    /// the message goes to the first receiver waiting for it, or is queued.
    /// Receivers whose buffer is too small get `E2BIG` on the way.
    /// `ENOMEM` (nothing changed) when the queue or `received` cannot
    /// grow (Linux's `load_msg`).
    pub fn send(&mut self, msg: Message, pid: u32, now: i64, received: &mut Received<R>) -> Result<()> {
        self.messages.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        received.try_reserve(self.receivers.len()).map_err(|_| Errno::ENOMEM)?;
        self.lspid = pid;
        self.stime = now;
        let mut i = 0;
        while i < self.receivers.len() {
            let r = &self.receivers[i];
            if !matches(&msg, r.typ, r.mode) {
                i += 1;
                continue;
            }
            let Some(r) = self.receivers.remove(i) else { break };
            if r.maxsize < msg.text.len() {
                received.push((r.waiter, Err(Errno::E2BIG)));
                continue;
            }
            self.lrpid = r.tid;
            self.rtime = now;
            received.push((r.waiter, Ok(msg)));
            return Ok(());
        }
        self.cbytes += msg.text.len();
        self.messages.push_back(msg);
        Ok(())
    }

    /// `find_msg`: the index of the message a receive takes.
    fn find(&self, typ: i64, mode: Mode) -> Option<usize> {
        let mut typ = typ;
        let mut found = None;
        let mut count = 0;
        for (i, m) in self.messages.iter().enumerate() {
            if !matches(m, typ, mode) {
                continue;
            }
            match mode {
                Mode::LessEqual if m.mtype != 1 => {
                    typ = m.mtype - 1;
                    found = Some(i);
                }
                Mode::Number => {
                    if typ == count {
                        return Some(i);
                    }
                }
                _ => return Some(i),
            }
            count += 1;
        }
        found
    }

    /// The locked part of `do_msgrcv`'s loop, permissions checked: the
    /// message found is taken out (senders that may fit now are handed
    /// back to try again); `E2BIG` for one longer than `bufsz` without
    /// `noerror`; `ENOMSG` when none matches (the caller waits or not).
    /// For [`Mode::Number`] (MSG_COPY) a copy is made and nothing changes
    /// (`EINVAL` when it is longer than `bufsz`, `ENOMEM` without memory).
    #[allow(clippy::too_many_arguments)]
    pub fn receive(
        &mut self,
        typ: i64,
        mode: Mode,
        bufsz: usize,
        noerror: bool,
        pid: u32,
        now: i64,
        senders: &mut Vec<S>,
    ) -> Result<Message> {
        let i = self.find(typ, mode).ok_or(Errno::ENOMSG)?;
        let len = self.messages[i].text.len();
        if bufsz < len && !noerror {
            return Err(Errno::E2BIG);
        }
        if mode == Mode::Number {
            if len > bufsz {
                return Err(Errno::EINVAL);
            }
            let m = &self.messages[i];
            let mut text = Vec::new();
            text.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
            text.extend_from_slice(&m.text);
            return Ok(Message { mtype: m.mtype, text });
        }
        let m = self.messages.remove(i).ok_or(Errno::ENOMSG)?;
        self.cbytes -= m.text.len();
        self.rtime = now;
        self.lrpid = pid;
        self.wake_senders(senders);
        Ok(m)
    }

    /// `ss_wakeup(kill = false)`: the senders whose message fits now, in
    /// order; the others keep waiting, moved behind (as Linux does on
    /// their behalf).
    pub fn wake_senders(&mut self, senders: &mut Vec<S>) {
        let mut keep = VecDeque::new();
        for (s, size) in core::mem::take(&mut self.senders) {
            if self.fits(size) {
                senders.push(s);
            } else {
                keep.push_back((s, size));
            }
        }
        self.senders = keep;
    }

    /// `IPC_SET`'s new limit and time, then every receiver told to look
    /// again (`EAGAIN`) and the senders that fit woken.
    pub fn set(&mut self, qbytes: u64, now: i64, senders: &mut Vec<S>, received: &mut Received<R>) {
        self.qbytes = qbytes;
        self.ctime = now;
        received.extend(self.receivers.drain(..).map(|r| (r.waiter, Err(Errno::EAGAIN))));
        self.wake_senders(senders);
    }

    /// `freeque` (IPC_RMID): every receiver and then every sender handed
    /// back (they fail with `EIDRM`); the messages are dropped with the
    /// queue.
    pub fn remove_all(&mut self, senders: &mut Vec<S>, received: &mut Received<R>) {
        received.extend(self.receivers.drain(..).map(|r| (r.waiter, Err(Errno::EIDRM))));
        senders.extend(self.senders.drain(..).map(|(s, _)| s));
    }

    /// Waiting receivers and senders.
    pub fn waiting(&self) -> (usize, usize) {
        (self.receivers.len(), self.senders.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn q() -> MsgQueue<u32, u32> {
        MsgQueue::new(Perm::new(1, 0, 0, 0o600, 0), 100, 0)
    }
    fn m(t: i64, n: usize) -> Message {
        Message { mtype: t, text: vec![t as u8; n] }
    }

    #[test]
    fn type_selection() {
        let mut q = q();
        let mut r = Vec::new();
        for t in [3, 1, 2, 1, 5] {
            q.send(m(t, 1), 1, 1, &mut r).unwrap();
        }
        let mut s = Vec::new();
        let take = |q: &mut MsgQueue<u32, u32>, typ: i64, fl: i32, s: &mut Vec<u32>| {
            let (t, mode) = convert_mode(typ, fl);
            q.receive(t, mode, 10, false, 2, 2, s).map(|m| m.mtype)
        };
        // < 0: the lowest type up to |msgtyp|, the first of them
        assert_eq!(take(&mut q, -2, 0, &mut s), Ok(1));
        // MSG_EXCEPT
        assert_eq!(take(&mut q, 3, MSG_EXCEPT, &mut s), Ok(2));
        assert_eq!(take(&mut q, 4, 0, &mut s), Err(Errno::ENOMSG));
        // MSG_COPY: by index, nothing removed
        assert_eq!(take(&mut q, 2, MSG_COPY, &mut s), Ok(5));
        assert_eq!(take(&mut q, 3, MSG_COPY, &mut s), Err(Errno::ENOMSG));
        assert_eq!(q.qnum(), 3);
        assert_eq!(take(&mut q, 0, 0, &mut s), Ok(3));
        assert_eq!(take(&mut q, i64::MIN, 0, &mut s), Ok(1));
        assert_eq!(q.cbytes(), 1);
    }

    #[test]
    fn e2big_and_noerror() {
        let mut q = q();
        let mut r = Vec::new();
        let mut s = Vec::new();
        q.send(m(1, 10), 1, 1, &mut r).unwrap();
        assert_eq!(q.receive(0, Mode::Any, 5, false, 2, 2, &mut s), Err(Errno::E2BIG));
        assert_eq!(q.receive(1, Mode::Number, 5, true, 2, 2, &mut s), Err(Errno::ENOMSG));
        assert_eq!(q.receive(0, Mode::Number, 5, true, 2, 2, &mut s), Err(Errno::EINVAL));
        assert_eq!(q.receive(0, Mode::Any, 5, true, 2, 2, &mut s).map(|m| m.text.len()), Ok(10));
        // a waiting receiver with a small buffer gets E2BIG, the next one the message
        q.add_receiver(7, 0, Mode::Any, 3, 70).unwrap();
        q.add_receiver(8, 0, Mode::Any, 30, 80).unwrap();
        q.send(m(4, 4), 1, 3, &mut r).unwrap();
        assert_eq!(r, vec![(7, Err(Errno::E2BIG)), (8, Ok(m(4, 4)))]);
        assert_eq!((q.qnum(), q.lrpid, q.rtime), (0, 80, 3));
    }

    #[test]
    fn limits_and_senders() {
        let mut q = q();
        let mut r = Vec::new();
        let mut s = Vec::new();
        q.send(m(1, 60), 1, 1, &mut r).unwrap();
        assert!(!q.fits(41) && q.fits(40));
        q.add_sender(1, 50).unwrap();
        q.add_sender(2, 30).unwrap();
        q.add_sender(3, 10).unwrap();
        q.wake_senders(&mut s);
        assert_eq!(s, vec![2, 3]);
        s.clear();
        q.receive(0, Mode::Any, 100, false, 2, 2, &mut s).unwrap();
        assert_eq!(s, vec![1]);
        // qbytes also bounds the number of messages
        q.qbytes = 2;
        q.send(m(1, 0), 1, 1, &mut r).unwrap();
        q.send(m(1, 0), 1, 1, &mut r).unwrap();
        assert!(!q.fits(0));
        q.add_receiver(9, 0, Mode::Any, 10, 90).unwrap();
        q.add_sender(4, 0).unwrap();
        let (mut s, mut r) = (Vec::new(), Vec::new());
        q.remove_all(&mut s, &mut r);
        assert_eq!((s, r), (vec![4], vec![(9, Err(Errno::EIDRM))]));
    }

    #[test]
    fn unlimited_queue_is_bounded_by_the_budget() {
        use crate::budget::{Budget, Charged};
        let b = Budget::new(QUEUE_COST + 10 * MSG_COST + 5);
        let mut q = Charged::new(&b, q()).unwrap();
        // msgctl IPC_SET with msg_qbytes -1: no bound of its own
        q.qbytes = u64::MAX;
        let mut r = Vec::new();
        let mut sent = 0;
        loop {
            assert!(q.fits(0));
            if q.reserve(MSG_COST).is_err() {
                break;
            }
            q.send(m(1, 0), 1, 1, &mut r).unwrap();
            q.settle();
            sent += 1;
        }
        assert_eq!(sent, 10);
        assert_eq!(b.used(), QUEUE_COST + 10 * MSG_COST);
        // text counts too
        assert_eq!(q.reserve(6 + MSG_COST), Err(Errno::ENOMEM));
        let mut s = Vec::new();
        q.receive(0, Mode::Any, 0, false, 2, 2, &mut s).unwrap();
        q.settle();
        assert_eq!(b.used(), QUEUE_COST + 9 * MSG_COST);
        q.reserve(5 + MSG_COST).unwrap();
        q.send(m(1, 5), 1, 1, &mut r).unwrap();
        q.settle();
        assert_eq!(b.used(), QUEUE_COST + 10 * MSG_COST + 5);
        drop(q);
        assert_eq!(b.used(), 0);
    }
}
