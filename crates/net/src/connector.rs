//! `NETLINK_CONNECTOR` and its process-events user (`CN_IDX_PROC`), as
//! Linux's `drivers/connector/connector.c` and `cn_proc.c`.
//!
//! A request to the kernel is one netlink message (only the first of a
//! batch counts, as `cn_rx_skb`) holding a `struct cn_msg` (20 bytes: the
//! id `idx`/`val`, `seq`, `ack`, the data's `len`, `flags`) and its data.
//! [`parse_request`] checks it as `cn_rx_skb`/`cn_call_callback` do; the
//! kernel's host ([`crate::netlink::RouteHost::connector`]) then handles
//! the process-events control (`PROC_CN_MCAST_LISTEN`/`IGNORE`).
//!
//! Events go to multicast group [`CN_IDX_PROC`] as one `NLMSG_DONE`
//! message each ([`event_msg`]): a `cn_msg` with Linux's id, a per-CPU
//! sequence number and `len` 40, then `struct proc_event` (`what`, `cpu`,
//! `timestamp_ns`, the event's union, zero-padded to 24 bytes).

use crate::netlink::{NLMSG_DONE, NLMSG_HDRLEN};

/// The connector's netlink protocol.
pub const NETLINK_CONNECTOR: u32 = 11;
/// The process-events connector's index (and its multicast group).
pub const CN_IDX_PROC: u32 = 1;
/// The process-events connector's value.
pub const CN_VAL_PROC: u32 = 1;
/// The size of `struct cn_msg`.
pub const CN_MSG_LEN: usize = 20;
/// Linux's `CONNECTOR_MAX_MSG_SIZE`: the most data a request may carry.
pub const CONNECTOR_MAX_MSG_SIZE: usize = 16384;
/// The size of `struct proc_event`.
pub const PROC_EVENT_LEN: usize = 40;
/// The size of one event's netlink message.
pub const EVENT_MSG_LEN: usize = NLMSG_HDRLEN + CN_MSG_LEN + PROC_EVENT_LEN;

/// `PROC_CN_MCAST_LISTEN`: start receiving events.
pub const PROC_CN_MCAST_LISTEN: u32 = 1;
/// `PROC_CN_MCAST_IGNORE`: stop.
pub const PROC_CN_MCAST_IGNORE: u32 = 2;

/// `PROC_EVENT_NONE` (an acknowledgement).
pub const PROC_EVENT_NONE: u32 = 0;
/// `PROC_EVENT_FORK`.
pub const PROC_EVENT_FORK: u32 = 1;
/// `PROC_EVENT_EXEC`.
pub const PROC_EVENT_EXEC: u32 = 2;
/// `PROC_EVENT_UID`.
pub const PROC_EVENT_UID: u32 = 4;
/// `PROC_EVENT_GID`.
pub const PROC_EVENT_GID: u32 = 0x40;
/// `PROC_EVENT_SID`.
pub const PROC_EVENT_SID: u32 = 0x80;
/// `PROC_EVENT_PTRACE`.
pub const PROC_EVENT_PTRACE: u32 = 0x100;
/// `PROC_EVENT_COMM`.
pub const PROC_EVENT_COMM: u32 = 0x200;
/// `PROC_EVENT_COREDUMP`.
pub const PROC_EVENT_COREDUMP: u32 = 0x4000_0000;
/// `PROC_EVENT_EXIT`.
pub const PROC_EVENT_EXIT: u32 = 0x8000_0000;

/// One process event (`struct proc_event`'s union); pids and tgids as
/// the initial PID namespace numbers them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ProcEvent {
    /// The answer to a control request (`err`: 0, `EPERM`, `EINVAL`).
    Ack {
        /// The error (positive), 0 for success.
        err: u32,
    },
    /// A task was created: its creator's parent side and the new task.
    Fork {
        /// The new task's `real_parent`'s tid.
        parent_pid: i32,
        /// ... and tgid.
        parent_tgid: i32,
        /// The new task's tid.
        child_pid: i32,
        /// ... and tgid.
        child_tgid: i32,
    },
    /// A successful execve.
    Exec {
        /// The tid.
        pid: i32,
        /// The tgid.
        tgid: i32,
    },
    /// Changed user ids (`ruid`, `euid`: the new ones).
    Uid {
        /// The tid.
        pid: i32,
        /// The tgid.
        tgid: i32,
        /// The real id.
        real: u32,
        /// The effective id.
        effective: u32,
    },
    /// Changed group ids.
    Gid {
        /// The tid.
        pid: i32,
        /// The tgid.
        tgid: i32,
        /// The real id.
        real: u32,
        /// The effective id.
        effective: u32,
    },
    /// setsid.
    Sid {
        /// The tid.
        pid: i32,
        /// The tgid.
        tgid: i32,
    },
    /// A ptrace attach (the tracer) or detach (tracer 0).
    Ptrace {
        /// The tracee's tid.
        pid: i32,
        /// ... and tgid.
        tgid: i32,
        /// The tracer's tid.
        tracer_pid: i32,
        /// ... and tgid.
        tracer_tgid: i32,
    },
    /// A new name (prctl PR_SET_NAME, /proc/PID/comm).
    Comm {
        /// The tid.
        pid: i32,
        /// The tgid.
        tgid: i32,
        /// The name, NUL-padded.
        comm: [u8; 16],
    },
    /// A signal whose default action dumps core.
    Coredump {
        /// The tid.
        pid: i32,
        /// The tgid.
        tgid: i32,
        /// The real parent's tid.
        parent_pid: i32,
        /// ... and tgid.
        parent_tgid: i32,
    },
    /// A task exits.
    Exit {
        /// The tid.
        pid: i32,
        /// The tgid.
        tgid: i32,
        /// The exit code as a wait status encodes it.
        code: u32,
        /// The signal the parent gets (-1 for a thread).
        signal: u32,
        /// The real parent's tid.
        parent_pid: i32,
        /// ... and tgid.
        parent_tgid: i32,
    },
}

impl ProcEvent {
    /// `what` and the union's words.
    fn words(&self) -> (u32, [u32; 6], Option<[u8; 16]>) {
        let w =
            |a: i32, b: i32, c: u32, d: u32, e: i32, f: i32| [a as u32, b as u32, c, d, e as u32, f as u32];
        match *self {
            ProcEvent::Ack { err } => (PROC_EVENT_NONE, [err, 0, 0, 0, 0, 0], None),
            ProcEvent::Fork { parent_pid, parent_tgid, child_pid, child_tgid } => {
                (PROC_EVENT_FORK, w(parent_pid, parent_tgid, child_pid as u32, child_tgid as u32, 0, 0), None)
            }
            ProcEvent::Exec { pid, tgid } => (PROC_EVENT_EXEC, w(pid, tgid, 0, 0, 0, 0), None),
            ProcEvent::Uid { pid, tgid, real, effective } => {
                (PROC_EVENT_UID, w(pid, tgid, real, effective, 0, 0), None)
            }
            ProcEvent::Gid { pid, tgid, real, effective } => {
                (PROC_EVENT_GID, w(pid, tgid, real, effective, 0, 0), None)
            }
            ProcEvent::Sid { pid, tgid } => (PROC_EVENT_SID, w(pid, tgid, 0, 0, 0, 0), None),
            ProcEvent::Ptrace { pid, tgid, tracer_pid, tracer_tgid } => {
                (PROC_EVENT_PTRACE, w(pid, tgid, tracer_pid as u32, tracer_tgid as u32, 0, 0), None)
            }
            ProcEvent::Comm { pid, tgid, comm } => (PROC_EVENT_COMM, w(pid, tgid, 0, 0, 0, 0), Some(comm)),
            ProcEvent::Coredump { pid, tgid, parent_pid, parent_tgid } => {
                (PROC_EVENT_COREDUMP, w(pid, tgid, parent_pid as u32, parent_tgid as u32, 0, 0), None)
            }
            ProcEvent::Exit { pid, tgid, code, signal, parent_pid, parent_tgid } => {
                (PROC_EVENT_EXIT, w(pid, tgid, code, signal, parent_pid, parent_tgid), None)
            }
        }
    }
}

/// The netlink message of one event (`cn_netlink_send`): an `NLMSG_DONE`
/// of port 0 with sequence number `seq` (the sending CPU's event count;
/// the same goes in the `cn_msg`), the `cn_msg`'s `ack` (0, or a
/// request's `ack + 1` for an acknowledgement), the CPU and the time.
pub fn event_msg(ev: &ProcEvent, seq: u32, ack: u32, cpu: u32, timestamp_ns: u64) -> [u8; EVENT_MSG_LEN] {
    let mut m = [0u8; EVENT_MSG_LEN];
    let put =
        |m: &mut [u8; EVENT_MSG_LEN], at: usize, v: u32| m[at..at + 4].copy_from_slice(&v.to_le_bytes());
    put(&mut m, 0, EVENT_MSG_LEN as u32);
    m[4..6].copy_from_slice(&NLMSG_DONE.to_le_bytes());
    put(&mut m, 8, seq);
    // struct cn_msg
    let c = NLMSG_HDRLEN;
    put(&mut m, c, CN_IDX_PROC);
    put(&mut m, c + 4, CN_VAL_PROC);
    put(&mut m, c + 8, seq);
    put(&mut m, c + 12, ack);
    m[c + 16..c + 18].copy_from_slice(&(PROC_EVENT_LEN as u16).to_le_bytes());
    // struct proc_event
    let e = c + CN_MSG_LEN;
    let (what, words, comm) = ev.words();
    put(&mut m, e, what);
    put(&mut m, e + 4, cpu);
    m[e + 8..e + 16].copy_from_slice(&timestamp_ns.to_le_bytes());
    let d = e + 16;
    match comm {
        Some(name) => {
            put(&mut m, d, words[0]);
            put(&mut m, d + 4, words[1]);
            m[d + 8..d + 24].copy_from_slice(&name);
        }
        None => {
            for (i, v) in words.iter().enumerate() {
                put(&mut m, d + 4 * i, *v);
            }
        }
    }
    m
}

/// A connector request: the `cn_msg`'s fields and its data.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Request<'a> {
    /// The connector's index.
    pub idx: u32,
    /// ... and value.
    pub val: u32,
    /// The sender's sequence number.
    pub seq: u32,
    /// The sender's acknowledgement number.
    pub ack: u32,
    /// The data (`len` bytes).
    pub data: &'a [u8],
}

/// The request in the first netlink message of `data` (`cn_rx_skb`):
/// `None` (dropped silently, as Linux) when the batch is shorter than a
/// header, the message is longer than the batch, its payload is shorter
/// than a `cn_msg` or longer than [`CONNECTOR_MAX_MSG_SIZE`], or the
/// `cn_msg`'s `len` runs past the message.
pub fn parse_request(data: &[u8]) -> Option<Request<'_>> {
    let w =
        |b: &[u8], i: usize| -> Option<u32> { Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?)) };
    let len = w(data, 0)? as usize;
    if len < NLMSG_HDRLEN || len > data.len() {
        return None;
    }
    let payload = &data[NLMSG_HDRLEN..len];
    if payload.len() < CN_MSG_LEN || payload.len() > CONNECTOR_MAX_MSG_SIZE {
        return None;
    }
    let dlen = usize::from(u16::from_le_bytes([payload[16], payload[17]]));
    let body = payload.get(CN_MSG_LEN..CN_MSG_LEN + dlen)?;
    Some(Request {
        idx: w(payload, 0)?,
        val: w(payload, 4)?,
        seq: w(payload, 8)?,
        ack: w(payload, 12)?,
        data: body,
    })
}

/// What `cn_proc_mcast_ctl` makes of a process-events request's data:
/// `None` (ignored, no answer) unless it is 4 bytes; else the operation,
/// or `Err(EINVAL)` for an unknown one (answered with that error).
pub fn mcast_op(data: &[u8]) -> Option<Result<bool, u32>> {
    let b: [u8; 4] = data.try_into().ok()?;
    Some(match u32::from_le_bytes(b) {
        PROC_CN_MCAST_LISTEN => Ok(true),
        PROC_CN_MCAST_IGNORE => Ok(false),
        _ => Err(22),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fork_event_has_linux_layout() {
        let ev = ProcEvent::Fork { parent_pid: 10, parent_tgid: 9, child_pid: 11, child_tgid: 11 };
        let m = event_msg(&ev, 5, 0, 1, 0x1122_3344_5566_7788);
        assert_eq!(m.len(), 76);
        assert_eq!(&m[..4], &76u32.to_le_bytes());
        assert_eq!(&m[4..6], &3u16.to_le_bytes());
        assert_eq!(&m[8..12], &5u32.to_le_bytes());
        assert_eq!(&m[16..20], &1u32.to_le_bytes());
        assert_eq!(&m[24..28], &5u32.to_le_bytes());
        assert_eq!(&m[32..34], &40u16.to_le_bytes());
        assert_eq!(&m[36..40], &1u32.to_le_bytes());
        assert_eq!(&m[40..44], &1u32.to_le_bytes());
        assert_eq!(&m[44..52], &0x1122_3344_5566_7788u64.to_le_bytes());
        assert_eq!(&m[52..56], &10u32.to_le_bytes());
        assert_eq!(&m[64..68], &11u32.to_le_bytes());
        assert_eq!(&m[68..76], &[0; 8]);
    }

    #[test]
    fn comm_and_exit() {
        let mut comm = [0u8; 16];
        comm[..3].copy_from_slice(b"abc");
        let m = event_msg(&ProcEvent::Comm { pid: 3, tgid: 2, comm }, 0, 0, 0, 0);
        assert_eq!(&m[36..40], &PROC_EVENT_COMM.to_le_bytes());
        assert_eq!(&m[60..76], &comm);
        let m = event_msg(
            &ProcEvent::Exit { pid: 3, tgid: 3, code: 0x100, signal: 17, parent_pid: 1, parent_tgid: 1 },
            0,
            0,
            0,
            0,
        );
        assert_eq!(&m[36..40], &PROC_EVENT_EXIT.to_le_bytes());
        assert_eq!(&m[60..64], &0x100u32.to_le_bytes());
        assert_eq!(&m[64..68], &17u32.to_le_bytes());
        assert_eq!(&m[72..76], &1u32.to_le_bytes());
    }

    fn request(len: u32, cn_len: u16, data: &[u8]) -> alloc::vec::Vec<u8> {
        let mut v = alloc::vec::Vec::new();
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(&[0; 12]);
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&7u32.to_le_bytes());
        v.extend_from_slice(&8u32.to_le_bytes());
        v.extend_from_slice(&cn_len.to_le_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn requests_are_checked_as_cn_rx_skb() {
        let op = PROC_CN_MCAST_LISTEN.to_le_bytes();
        let r = request(40, 4, &op);
        let q = parse_request(&r).unwrap();
        assert_eq!((q.idx, q.val, q.seq, q.ack, q.data), (1, 1, 7, 8, &op[..]));
        assert_eq!(mcast_op(q.data), Some(Ok(true)));
        assert_eq!(mcast_op(&2u32.to_le_bytes()), Some(Ok(false)));
        assert_eq!(mcast_op(&3u32.to_le_bytes()), Some(Err(22)));
        assert_eq!(mcast_op(&[1, 0]), None);
        // the cn_msg's len past the message
        assert_eq!(parse_request(&request(40, 8, &op)), None);
        // the message longer than the batch
        assert_eq!(parse_request(&request(44, 4, &op)), None);
        // shorter than a cn_msg
        assert_eq!(parse_request(&request(30, 0, &[])[..30]), None);
        assert_eq!(parse_request(&[0; 8]), None);
    }
}
