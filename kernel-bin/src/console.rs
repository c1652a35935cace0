//! The serial console as a terminal: output straight to the UART, input
//! from its receive interrupt's ring through the line discipline (crates/tty's
//! `NTty`: canonical mode with echo, erase, kill and literal-next; raw mode
//! with VMIN/VTIME when ICANON is off), and the terminal's
//! job control as Linux's `tty_jobctrl.c` does it: the session it is the
//! controlling terminal of, its foreground process group, SIGTTIN/SIGTTOU
//! for background groups, SIGHUP to the foreground group when the
//! controlling process exits.
//!
//! # Locks
//! `TTY` (a spin lock) is taken alone; N_TTY's echo writes to the UART
//! under it (the serial port's lock nests inside). Signals to a process
//! group (`kill_pgrp`, the process table's lock) are sent after it is
//! released.

use crate::proc::{Hooks, table};
use crate::sched::WaitQueue;
use alloc::sync::Arc;
use linux_abi::{Errno, Result};
use process::pid::Pid;
use signal::{SIGTTIN, SIGTTOU, SigInfo, SigNum};

/// `sizeof(struct termios)` as TCGETS copies it (the kernel's termios: 36 bytes).
pub const TERMIOS_SIZE: usize = tty::TERMIOS_SIZE;

/// The terminal: N_TTY's input state (`tty::NTty`: termios, the line
/// being edited, the input ready for read(2)) and the job-control state
/// kept here.
struct Tty {
    ldisc: tty::NTty,
    winsize: [u8; 8],
    /// The session this is the controlling terminal of.
    session: Option<Pid>,
    /// The foreground process group (set with the session).
    pgrp: Option<Pid>,
}

static TTY: crate::lockorder::Ranked<Option<Tty>> =
    crate::lockorder::Ranked::new(crate::lockorder::LockClass::Tty, "console::TTY", None);

fn with<R>(f: impl FnOnce(&mut Tty) -> R) -> R {
    let mut g = TTY.lock();
    let tty = g.get_or_insert_with(|| Tty {
        ldisc: tty::NTty::new(),
        winsize: [24, 0, 80, 0, 0, 0, 0, 0],
        session: None,
        pgrp: None,
    });
    f(tty)
}

/// N_TTY's echoes go straight to the UART (no lock taken).
struct Uart;

impl tty::Echo for Uart {
    fn echo(&mut self, bytes: &[u8]) {
        write(bytes);
    }
}

fn signal_of(s: tty::TtySignal) -> SigNum {
    match s {
        tty::TtySignal::Int => signal::SIGINT,
        tty::TtySignal::Quit => signal::SIGQUIT,
        tty::TtySignal::Tstp => signal::SIGTSTP,
    }
}

/// The sleepers on the console: readers, writers waiting for stopped
/// output to restart (^Q), poll/select and epoll over the terminal. Every
/// input byte wakes them (a restart comes with one); so do TCOON and a
/// termios change.
fn input_wq() -> &'static Arc<WaitQueue> {
    static WQ: spin::Once<Arc<WaitQueue>> = spin::Once::new();
    WQ.call_once(|| Arc::new(WaitQueue::new()))
}

/// The console's wait queue, for [`vfs::File::wait_queue`] of terminal
/// devices.
pub fn wait_queue() -> Arc<WaitQueue> {
    input_wq().clone()
}

/// Writes to the console.
pub fn write(buf: &[u8]) {
    arch_x86_64::serial::write_bytes(buf);
}

/// write(2) on the console: straight to the UART while output runs; while
/// ^S (IXON) or tcflow(TCOOFF) stopped it, up to `tty::OUT_SIZE` bytes are
/// held for the restart and a blocking writer waits for room beyond that
/// (`O_NONBLOCK`: EAGAIN; a signal: the bytes so far, else ERESTARTSYS),
/// as Linux's `n_tty_write` over the serial transmit buffer.
pub fn write_user(buf: &[u8], nonblock: bool) -> Result<usize> {
    let tid = crate::sched::current().id.load(core::sync::atomic::Ordering::Relaxed) as Pid;
    let mut done = 0;
    while done < buf.len() {
        if !with(|t| t.ldisc.output_stopped()) {
            // the common case, without the terminal's lock (a ^S typed
            // meanwhile stops the next write, as the UART's FIFO would)
            write(&buf[done..]);
            return Ok(buf.len());
        }
        let chunk = &buf[done..buf.len().min(done + tty::OUT_SIZE)];
        let n = with(|t| t.ldisc.write(chunk, &mut Uart));
        done += n;
        if n > 0 {
            continue;
        }
        if nonblock {
            return if done > 0 { Ok(done) } else { Err(Errno::EAGAIN) };
        }
        let room = || with(|t| t.ldisc.write_room());
        if let Err(Errno::ERESTARTSYS) = crate::proc::sleep_on(tid, &[input_wq().as_ref()], room, None) {
            return if done > 0 { Ok(done) } else { Err(Errno::ERESTARTSYS) };
        }
    }
    Ok(done)
}

/// tcflow(3)'s TCXONC: `TCOOFF` (0) stops output, `TCOON` (1) restarts
/// it, `TCIOFF` (2) and `TCION` (3) send the STOP and START characters to
/// the terminal; EINVAL for others.
pub fn tcflow(action: u64) -> Result<()> {
    match action {
        0 => with(|t| t.ldisc.flow_off()),
        1 => {
            with(|t| t.ldisc.flow_on(&mut Uart));
            input_wq().wake_all();
        }
        2 | 3 => {
            let c = with(|t| t.ldisc.cc(if action == 2 { tty::VSTOP } else { tty::VSTART }));
            if c != 0 {
                write(&[c]);
            }
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(())
}

/// Moves received bytes through the line discipline (called by readers and
/// on every timer tick, so ^C reaches a program that is not reading), and
/// wakes the input's sleepers when bytes arrived.
///
/// The bytes are taken from the ring and fed to N_TTY under one hold of
/// `TTY`: with several CPUs pumping (a reader on one, the tick on another),
/// a byte taken from the ring by one CPU could otherwise reach the line
/// after a later byte taken by the other (the interactive checks saw
/// `sleep 2` typed arrive as `sleep )` with the `2` after it).
pub fn pump() {
    loop {
        // the signals the input raised, sent once `TTY` is released
        let mut sigs: [Option<(SigNum, Pid)>; 4] = [None; 4];
        let (any, more) = with(|t| {
            let (mut any, mut n) = (false, 0);
            while let Some(b) = arch_x86_64::serial::try_read_byte() {
                any = true;
                if let (Some(s), Some(pg)) = (t.ldisc.input(b, &mut Uart), t.pgrp) {
                    sigs[n] = Some((signal_of(s), pg));
                    n += 1;
                    if n == sigs.len() {
                        return (any, true);
                    }
                }
            }
            (any, false)
        });
        for &(sig, pg) in sigs.iter().flatten() {
            kill_pgrp(pg, sig);
        }
        if any {
            input_wq().wake_all();
        }
        if !more {
            return;
        }
    }
}

/// read(2) on the console. `jobctl`: a read from a background group gets
/// SIGTTIN (not through `/dev/console`, as in Linux). In raw mode VMIN and
/// VTIME apply: VMIN 0 with VTIME 0 returns at once, VTIME alone is a
/// timeout in tenths of a second, VMIN > 1 waits for that many bytes.
pub fn read(buf: &mut [u8], nonblock: bool, jobctl: bool) -> Result<usize> {
    if jobctl {
        check_change(SIGTTIN)?;
    }
    if buf.is_empty() {
        return Ok(0);
    }
    let tid = crate::sched::current().id.load(core::sync::atomic::Ordering::Relaxed) as Pid;
    let mode = with(|t| t.ldisc.read_mode(buf.len()));
    let deadline = mode.timeout_ns.map(|ns| crate::sched::now_ns() + ns);
    loop {
        pump();
        if let Some(n) = with(|t| t.ldisc.try_read(&mode, buf)) {
            return Ok(n);
        }
        if nonblock {
            return Err(Errno::EAGAIN);
        }
        if mode.poll_only {
            return Ok(0);
        }
        let ready = || with(|t| t.ldisc.read_ready(&mode));
        match crate::proc::sleep_on(tid, &[input_wq().as_ref()], ready, deadline) {
            Err(Errno::ERESTARTSYS) => return Err(Errno::ERESTARTSYS),
            Err(Errno::ETIMEDOUT) if deadline.is_some() => {
                return Ok(with(|t| t.ldisc.take(buf)).unwrap_or(0));
            }
            _ => continue,
        }
    }
}

/// Discards typed input (TCFLSH).
pub fn flush_input() {
    pump();
    with(|t| t.ldisc.flush_input());
}

/// Bytes ready to read.
/// Gives back the bytes of a read whose copy to user memory failed: they
/// are read again next time, as on Linux (which copies before it consumes).
pub fn unread(data: &[u8]) {
    if !data.is_empty() {
        with(|t| t.ldisc.put_back(data));
        input_wq().wake_all();
    }
}

pub fn available() -> usize {
    pump();
    with(|t| t.ldisc.available())
}

/// poll(2) readiness.
pub fn poll() -> u32 {
    pump();
    let mut r = if with(|t| t.ldisc.writable()) { vfs::POLLOUT | vfs::POLLWRNORM } else { 0 };
    // an end of file is readable too
    if with(|t| t.ldisc.readable()) {
        r |= vfs::POLLIN | vfs::POLLRDNORM;
    }
    r
}

/// The termios bytes.
pub fn termios() -> [u8; TERMIOS_SIZE] {
    with(|t| t.ldisc.termios())
}

/// Sets the termios from user bytes, then wakes the readers (Linux's
/// `n_tty_set_termios` wakes `read_wait`): with ICANON switched off, a
/// partial line became readable, and a sleeper or an epoll watcher
/// learns it only from a wake-up.
pub fn set_termios(b: &[u8]) {
    with(|t| t.ldisc.set_termios(b, &mut Uart));
    input_wq().wake_all();
}

/// The window size.
pub fn winsize() -> [u8; 8] {
    with(|t| t.winsize)
}

/// Sets the window size; a change sends SIGWINCH to the foreground group.
pub fn set_winsize(b: &[u8]) {
    let changed = with(|t| {
        let n = b.len().min(8);
        let changed = t.winsize[..n] != b[..n];
        t.winsize[..n].copy_from_slice(&b[..n]);
        if changed { t.pgrp } else { None }
    });
    if let Some(pg) = changed {
        kill_pgrp(pg, signal::SIGWINCH);
    }
}

// ----- job control (Linux's tty_jobctrl.c for the one terminal) -----------

/// The process asking, as job control sees it.
struct Caller {
    tid: Pid,
    pid: Pid,
    pgid: Pid,
    sid: Pid,
    leader: bool,
}

/// The calling thread's process ids; None for kernel threads.
fn caller() -> Option<Caller> {
    let tid = crate::sched::current().id.load(core::sync::atomic::Ordering::Relaxed) as Pid;
    let pid = table().tgid(tid)?;
    table().with_process(pid, |p| Caller {
        tid,
        pid,
        pgid: p.pgid(),
        sid: p.sid(),
        leader: p.is_session_leader(),
    })
}

/// Sends a kernel signal to every process of group `pg`.
fn kill_pgrp(pg: Pid, sig: SigNum) {
    let table = table();
    for pid in table.group_members(pg) {
        let _ = table.send_signal(pid, SigInfo::kernel(sig), &Hooks);
    }
}

/// Linux's `is_ignored()` for job-control signals: blocked by the thread
/// or `SIG_IGN` for the process.
fn ignored_or_blocked(c: &Caller, sig: SigNum) -> bool {
    table().with_thread(c.tid, |t| t.signals.blocked().contains(sig)) == Some(true)
        || table().with_process(c.pid, |p| p.handlers().lock().is_ignored(sig)) == Some(true)
}

/// Whether the terminal is the controlling terminal of `c`'s session.
fn is_ctty_of(c: &Caller) -> bool {
    with(|t| t.session == Some(c.sid))
}

/// `__tty_check_change`: a process of a background group that touches its
/// controlling terminal gets `sig` (SIGTTIN or SIGTTOU) sent to its group
/// and the call restarts once it is continued; when the signal is ignored
/// or blocked the call goes on (SIGTTOU) or fails with `EIO` (SIGTTIN); an
/// orphaned group gets `EIO`.
pub fn check_change(sig: SigNum) -> Result<()> {
    let Some(c) = caller() else { return Ok(()) };
    let (session, fg) = with(|t| (t.session, t.pgrp));
    let ignored = || ignored_or_blocked(&c, sig);
    let orphaned = || table().is_orphaned_pgrp(c.pgid);
    // the decision is tty::check_change, host-tested there
    match tty::check_change(session, fg, c.sid, c.pgid, sig == SIGTTIN, ignored, orphaned) {
        tty::JobCheck::Proceed => Ok(()),
        tty::JobCheck::Eio => Err(Errno::EIO),
        tty::JobCheck::SignalGroup => {
            kill_pgrp(c.pgid, sig);
            Err(Errno::ERESTARTSYS)
        }
    }
}

/// The job-control check of write(2): with `TOSTOP` set, background
/// writers get SIGTTOU.
pub fn check_write() -> Result<()> {
    if with(|t| t.ldisc.lflag()) & tty::TOSTOP != 0 { check_change(SIGTTOU) } else { Ok(()) }
}

/// open(2) of `/dev/tty`: the caller's controlling terminal, `ENXIO` when
/// it has none.
pub fn open_ctty() -> Result<()> {
    match caller() {
        Some(c) if is_ctty_of(&c) => Ok(()),
        _ => Err(Errno::ENXIO),
    }
}

/// open(2) of the terminal by name without `O_NOCTTY`: a session leader
/// without a controlling terminal acquires it if no session has it.
pub fn open_acquire() {
    let Some(c) = caller() else { return };
    if c.leader {
        with(|t| {
            if t.session.is_none() {
                t.session = Some(c.sid);
                t.pgrp = Some(c.pgid);
            }
        });
    }
}

/// A process ended: when it was the controlling process of the terminal,
/// the terminal's foreground group gets SIGHUP and the session loses it.
pub fn process_exited(pid: Pid) {
    let fg = with(|t| {
        if t.session != Some(pid) {
            return None;
        }
        t.session = None;
        t.pgrp.take()
    });
    if let Some(fg) = fg {
        kill_pgrp(fg, signal::SIGHUP);
    }
}

/// TIOCSCTTY: make the terminal the caller's controlling terminal. The
/// caller must be a session leader without one; `steal` (argument 1, as
/// root) takes it from another session.
pub fn set_ctty(steal: bool, readable: bool) -> Result<()> {
    let c = caller().ok_or(Errno::EPERM)?;
    if c.leader && is_ctty_of(&c) {
        return Ok(());
    }
    if !c.leader {
        return Err(Errno::EPERM);
    }
    let root = table().with_process(c.pid, |p| p.creds.euid == 0) == Some(true);
    if with(|t| t.session.is_some()) && !(steal && root) {
        return Err(Errno::EPERM);
    }
    if !readable && !root {
        return Err(Errno::EPERM);
    }
    with(|t| {
        t.session = Some(c.sid);
        t.pgrp = Some(c.pgid);
    });
    Ok(())
}

/// TIOCNOTTY: give up the controlling terminal. The session leader's
/// giving up sends SIGHUP and SIGCONT to the foreground group and detaches
/// the whole session (another member's is accepted and not tracked: the
/// terminal is kept per session).
pub fn release_ctty() -> Result<()> {
    let c = caller().ok_or(Errno::ENOTTY)?;
    if !is_ctty_of(&c) {
        return Err(Errno::ENOTTY);
    }
    if c.leader {
        let fg = with(|t| {
            t.session = None;
            t.pgrp.take()
        });
        if let Some(fg) = fg {
            kill_pgrp(fg, signal::SIGHUP);
            kill_pgrp(fg, signal::SIGCONT);
        }
    }
    Ok(())
}

/// TIOCGPGRP: the foreground group (`ENOTTY` unless this is the caller's
/// controlling terminal).
pub fn foreground() -> Result<Pid> {
    let c = caller().ok_or(Errno::ENOTTY)?;
    if !is_ctty_of(&c) {
        return Err(Errno::ENOTTY);
    }
    Ok(with(|t| t.pgrp.unwrap_or(0)))
}

/// TIOCGSID: the terminal's session (`ENOTTY` unless it is the caller's).
pub fn session() -> Result<Pid> {
    let c = caller().ok_or(Errno::ENOTTY)?;
    if !is_ctty_of(&c) {
        return Err(Errno::ENOTTY);
    }
    Ok(c.sid)
}

/// TIOCSPGRP: a background caller gets SIGTTOU unless it ignores or blocks
/// it; then the terminal must be the caller's (`ENOTTY`), `pg` must exist
/// (`ESRCH`) in the caller's session (`EPERM`). Like Linux, any existing
/// pid of the session is accepted as a group id.
pub fn set_foreground(pg: i32) -> Result<()> {
    match check_change(SIGTTOU) {
        Err(Errno::EIO) => return Err(Errno::ENOTTY),
        r => r?,
    }
    if pg < 0 {
        return Err(Errno::EINVAL);
    }
    let c = caller().ok_or(Errno::ENOTTY)?;
    if !is_ctty_of(&c) {
        return Err(Errno::ENOTTY);
    }
    let pg = pg as Pid;
    let table = table();
    let mut sid = None;
    for pid in table.group_members(pg) {
        if let Some(s) = table.with_process(pid, |p| p.sid()) {
            sid = Some(s);
            break;
        }
    }
    if sid.is_none() {
        sid = table.tgid(pg).and_then(|pid| table.with_process(pid, |p| p.sid()));
    }
    match sid {
        None => Err(Errno::ESRCH),
        Some(s) if s != c.sid => Err(Errno::EPERM),
        Some(_) => {
            with(|t| t.pgrp = Some(pg));
            Ok(())
        }
    }
}

/// `tty_nr` and `tpgid` of /proc/PID/stat for a process of session `sid`:
/// the serial terminal (ttyS0, major 4 minor 64, encoded as Linux's
/// `new_encode_dev`) and its foreground group when it is the session's
/// controlling terminal, else `(0, -1)`.
pub fn stat_tty(sid: Pid) -> (u32, i64) {
    with(|t| if t.session == Some(sid) { (4 << 8 | 64, t.pgrp.map_or(-1, i64::from)) } else { (0, -1) })
}
