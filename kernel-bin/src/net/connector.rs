//! The process-events connector (Linux's `drivers/connector/cn_proc.c`)
//! over `net::connector`: `PROC_CN_MCAST_LISTEN`/`IGNORE` count the
//! listeners, and while one is counted fork, exec, id changes, setsid,
//! ptrace attach and detach, a new name, a core-dumping signal and exit
//! send their event to group `CN_IDX_PROC` of the initial network
//! namespace (the connector's socket is the initial namespace's, as on
//! Linux). When nobody listens, each hook costs one relaxed load
//! ([`listening`]). The count is Linux 6.1's: a LISTEN not undone by an
//! IGNORE stays counted after its socket closes.

use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use net::connector::{CN_IDX_PROC, CN_VAL_PROC, NETLINK_CONNECTOR, ProcEvent, event_msg, mcast_op};
use process::pid::Pid;

use crate::proc::table;

/// `proc_event_num_listeners`.
static LISTENERS: AtomicI32 = AtomicI32::new(0);

/// The per-CPU event counts (`local_event.count`): each event's sequence
/// number.
static COUNTS: [AtomicU32; arch_x86_64::percpu::MAX_CPUS] =
    [const { AtomicU32::new(0) }; arch_x86_64::percpu::MAX_CPUS];

const CAP_NET_ADMIN: u32 = 12;
const EPERM: u32 = 1;

/// Whether some process listens for process events (the hooks' gate).
#[inline]
pub fn listening() -> bool {
    LISTENERS.load(Ordering::Relaxed) > 0
}

/// `send_msg`: the event with this CPU's next sequence number, its
/// number and the monotonic time, to every member of group
/// `CN_IDX_PROC`.
fn send(ev: ProcEvent, ack: u32) {
    let cpu = arch_x86_64::percpu::cpu_id();
    let seq = COUNTS.get(cpu).map_or(0, |c| c.fetch_add(1, Ordering::Relaxed));
    let m = event_msg(&ev, seq, ack, cpu as u32, arch_x86_64::time::monotonic_ns());
    super::inet::NetRef::Initial.nl_ports.broadcast(NETLINK_CONNECTOR, CN_IDX_PROC, &m);
}

/// A request to the connector from process `sender` (`cn_proc_mcast_ctl`):
/// only from a process in the initial user and PID namespaces (others are
/// ignored), `EPERM` without `CAP_NET_ADMIN` there, `EINVAL` for another
/// operation; the answer (`cn_proc_ack`) is an event to the group while
/// anyone listens.
pub fn request(req: &net::connector::Request<'_>, sender: Pid) {
    if req.idx != CN_IDX_PROC || req.val != CN_VAL_PROC {
        return;
    }
    let Some(op) = mcast_op(req.data) else { return };
    let Some((init_user, admin)) = table().with_process(sender, |p| {
        let c = p.creds();
        (c.user_ns.is_initial(), c.ns_capable(&process::ns::UserNsRef::INITIAL, CAP_NET_ADMIN))
    }) else {
        return;
    };
    if !init_user || !table().active_pid_ns(sender).is_initial() {
        return;
    }
    let err = match op {
        _ if !admin => EPERM,
        Ok(true) => {
            LISTENERS.fetch_add(1, Ordering::Relaxed);
            0
        }
        Ok(false) => {
            LISTENERS.fetch_sub(1, Ordering::Relaxed);
            0
        }
        Err(e) => e,
    };
    if listening() {
        send(ProcEvent::Ack { err }, req.ack.wrapping_add(1));
    }
}

/// The thread group of `tid` (itself when unknown).
fn tgid(tid: Pid) -> i32 {
    table().tgid(tid).unwrap_or(tid) as i32
}

/// The parent process of process `pid` (0 when none).
fn parent_of(pid: Pid) -> i32 {
    table().with_process(pid, |p| p.parent()).unwrap_or(0) as i32
}

/// `proc_fork_connector`: task `child` was made by thread `caller`; the
/// parent is the caller unless the child is a thread or `CLONE_PARENT`'s
/// (then the caller's parent).
pub fn fork(caller: Pid, child: Pid, parents_parent: bool) {
    let caller_tgid = tgid(caller);
    let (parent_pid, parent_tgid) = if parents_parent {
        let pp = parent_of(caller_tgid as Pid);
        (pp, pp)
    } else {
        (caller as i32, caller_tgid)
    };
    send(ProcEvent::Fork { parent_pid, parent_tgid, child_pid: child as i32, child_tgid: tgid(child) }, 0);
}

/// `proc_exec_connector`.
pub fn exec(tid: Pid) {
    send(ProcEvent::Exec { pid: tid as i32, tgid: tgid(tid) }, 0);
}

/// `proc_id_connector` for thread `tid` with its new ids.
pub fn id(tid: Pid, gid: bool, real: u32, effective: u32) {
    let (pid, tgid) = (tid as i32, tgid(tid));
    send(
        if gid {
            ProcEvent::Gid { pid, tgid, real, effective }
        } else {
            ProcEvent::Uid { pid, tgid, real, effective }
        },
        0,
    );
}

/// `proc_sid_connector`.
pub fn sid(tid: Pid) {
    send(ProcEvent::Sid { pid: tid as i32, tgid: tgid(tid) }, 0);
}

/// `proc_ptrace_connector`: `tracer` attached to `tid`, or (None) it
/// was detached.
pub fn ptrace(tid: Pid, tracer: Option<Pid>) {
    let (tracer_pid, tracer_tgid) = tracer.map_or((0, 0), |t| (t as i32, tgid(t)));
    send(ProcEvent::Ptrace { pid: tid as i32, tgid: tgid(tid), tracer_pid, tracer_tgid }, 0);
}

/// `proc_comm_connector`: thread `tid`'s new name.
pub fn comm(tid: Pid, name: &[u8]) {
    let mut comm = [0u8; 16];
    let n = name.len().min(15);
    comm[..n].copy_from_slice(&name[..n]);
    send(ProcEvent::Comm { pid: tid as i32, tgid: tgid(tid), comm }, 0);
}

/// `proc_coredump_connector`.
pub fn coredump(tid: Pid) {
    let g = tgid(tid);
    let p = parent_of(g as Pid);
    send(ProcEvent::Coredump { pid: tid as i32, tgid: g, parent_pid: p, parent_tgid: p }, 0);
}

/// `proc_exit_connector`: thread `tid` of process `pid` exits with wait
/// status `code`; the leader's exit signal is its process's, a thread's
/// -1.
pub fn exit(tid: Pid, pid: Pid, code: u32) {
    let (signal, parent) = table()
        .with_process(pid, |p| {
            (if tid == pid { p.exit_signal() as u32 } else { u32::MAX }, p.parent() as i32)
        })
        .unwrap_or((u32::MAX, 0));
    send(
        ProcEvent::Exit {
            pid: tid as i32,
            tgid: pid as i32,
            code,
            signal,
            parent_pid: parent,
            parent_tgid: parent,
        },
        0,
    );
}
