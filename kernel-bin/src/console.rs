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
    /// TIOCGWINSZ's `struct winsize`: zeros (0 rows, 0 columns) until
    /// TIOCSWINSZ sets it, as on Linux's serial console (psql and less take
    /// their pager decisions from it).
    winsize: [u8; 8],
    /// The session this is the controlling terminal of.
    session: Option<Pid>,
    /// The foreground process group (set with the session).
    pgrp: Option<Pid>,
    /// The termios bits TIOCSLCKTRMIOS locked (none at first).
    lock: [u8; TERMIOS_SIZE],
}

static TTY: crate::lockorder::Ranked<Option<Tty>> =
    crate::lockorder::Ranked::new(crate::lockorder::LockClass::Tty, "console::TTY", None);

fn with<R>(f: impl FnOnce(&mut Tty) -> R) -> R {
    let mut g = TTY.lock();
    let tty = g.get_or_insert_with(|| Tty {
        ldisc: tty::NTty::new(),
        winsize: [0; 8],
        session: None,
        pgrp: None,
        lock: [0; TERMIOS_SIZE],
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

/// The signal a terminal's signal character raises.
pub fn signal_of(s: tty::TtySignal) -> SigNum {
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
        if with(|t| t.ldisc.write_room()) {
            // room, yet nothing taken: the held buffer could not grow
            return if done > 0 { Ok(done) } else { Err(Errno::ENOMEM) };
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

/// Discards output held while output is stopped (TCFLSH's TCOFLUSH).
pub fn flush_output() {
    with(|t| t.ldisc.flush_output());
    input_wq().wake_all();
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
/// Bits locked by [`set_termios_lock`] keep their value.
pub fn set_termios(b: &[u8]) {
    with(|t| {
        let old = t.ldisc.termios();
        let mut new = old;
        let n = b.len().min(TERMIOS_SIZE);
        new[..n].copy_from_slice(&b[..n]);
        let new = tty::apply_termios_lock(&old, &new, &t.lock);
        t.ldisc.set_termios(&new, &mut Uart)
    });
    input_wq().wake_all();
}

/// The locked termios bits (TIOCGLCKTRMIOS).
pub fn termios_lock() -> [u8; TERMIOS_SIZE] {
    with(|t| t.lock)
}

/// Locks termios bits (TIOCSLCKTRMIOS; the caller checked CAP_SYS_ADMIN).
pub fn set_termios_lock(lock: &[u8; TERMIOS_SIZE]) {
    with(|t| t.lock = *lock);
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

/// Sends a kernel signal to every process of group `pg` (a terminal's
/// signal to its foreground group).
pub fn signal_pgrp(pg: Pid, sig: SigNum) {
    kill_pgrp(pg, sig)
}

/// [`kill_pgrp`] but for `exiting`: the controlling process whose exit
/// hangs its terminal up is already on its way out with its own status
/// (Linux's exiting task ignores the signal).
fn kill_pgrp_but(pg: Pid, sig: SigNum, exiting: Pid) {
    let table = table();
    for pid in table.group_members(pg) {
        if pid != exiting {
            let _ = table.send_signal(pid, SigInfo::kernel(sig), &Hooks);
        }
    }
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
    table().with_thread(c.tid, |t| t.signals().blocked().contains(sig)) == Some(true)
        || table().with_process(c.pid, |p| p.handlers().lock().is_ignored(sig)) == Some(true)
}

/// What job control needs of a terminal: the console or a pty slave
/// (`crate::pty`). The `*_on` functions below are Linux's tty_jobctrl.c
/// for any of them; the plain ones act on the console.
pub trait JobTty {
    /// The session it is the controlling terminal of, and its foreground
    /// group.
    fn ctl(&self) -> (Option<Pid>, Option<Pid>);
    /// Sets both.
    fn set_ctl(&self, session: Option<Pid>, pgrp: Option<Pid>);
    /// `c_lflag` (TOSTOP).
    fn lflag(&self) -> u32;
}

/// The serial console as a [`JobTty`].
pub struct Console;

impl JobTty for Console {
    fn ctl(&self) -> (Option<Pid>, Option<Pid>) {
        with(|t| (t.session, t.pgrp))
    }
    fn set_ctl(&self, session: Option<Pid>, pgrp: Option<Pid>) {
        with(|t| {
            t.session = session;
            t.pgrp = pgrp;
        })
    }
    fn lflag(&self) -> u32 {
        with(|t| t.ldisc.lflag())
    }
}

/// Whether `tty` is the controlling terminal of `c`'s session.
fn is_ctty_of_on(tty: &dyn JobTty, c: &Caller) -> bool {
    tty.ctl().0 == Some(c.sid)
}

/// Whether session `sid` has a controlling terminal (the console or a
/// pty): a session has one at most.
fn session_has_ctty(sid: Pid) -> bool {
    Console.ctl().0 == Some(sid) || crate::pty::ctty_of(sid).is_some()
}

/// `__tty_check_change`: a process of a background group that touches its
/// controlling terminal gets `sig` (SIGTTIN or SIGTTOU) sent to its group
/// and the call restarts once it is continued; when the signal is ignored
/// or blocked the call goes on (SIGTTOU) or fails with `EIO` (SIGTTIN); an
/// orphaned group gets `EIO`.
pub fn check_change(sig: SigNum) -> Result<()> {
    check_change_on(&Console, sig)
}

/// [`check_change`] for any terminal.
pub fn check_change_on(tty: &dyn JobTty, sig: SigNum) -> Result<()> {
    let Some(c) = caller() else { return Ok(()) };
    let (session, fg) = tty.ctl();
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
    check_write_on(&Console)
}

/// [`check_write`] for any terminal.
pub fn check_write_on(tty: &dyn JobTty) -> Result<()> {
    if tty.lflag() & tty::TOSTOP != 0 { check_change_on(tty, SIGTTOU) } else { Ok(()) }
}

/// open(2) of `/dev/tty`: the caller's controlling terminal, `ENXIO` when
/// it has none.
pub fn open_ctty() -> Result<()> {
    match caller() {
        Some(c) if is_ctty_of_on(&Console, &c) => Ok(()),
        _ => Err(Errno::ENXIO),
    }
}

/// The caller's session id (None for kernel threads).
pub fn caller_sid() -> Option<Pid> {
    caller().map(|c| c.sid)
}

/// open(2) of the terminal by name without `O_NOCTTY`: a session leader
/// without a controlling terminal acquires it if no session has it.
pub fn open_acquire() {
    open_acquire_on(&Console)
}

/// [`open_acquire`] for any terminal: a session leader without a
/// controlling terminal acquires `tty` if no session has it.
pub fn open_acquire_on(tty: &dyn JobTty) {
    let Some(c) = caller() else { return };
    if c.leader && tty.ctl().0.is_none() && !session_has_ctty(c.sid) {
        tty.set_ctl(Some(c.sid), Some(c.pgid));
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
        kill_pgrp_but(fg, signal::SIGHUP, pid);
    }
    crate::pty::process_exited(pid);
}

/// The controlling process `pid` of `tty` ended (`disassociate_ctty`):
/// its foreground group gets SIGHUP, the session loses the terminal.
pub fn controlling_process_exited_on(tty: &dyn JobTty, pid: Pid) {
    let (session, pgrp) = tty.ctl();
    if session != Some(pid) {
        return;
    }
    tty.set_ctl(None, None);
    if let Some(fg) = pgrp {
        kill_pgrp_but(fg, signal::SIGHUP, pid);
    }
}

/// A hangup of `tty` (its pty master closed): the session leader gets
/// SIGHUP and SIGCONT, the session loses the terminal (`__tty_hangup`).
pub fn hangup_on(tty: &dyn JobTty) {
    let (session, _) = tty.ctl();
    tty.set_ctl(None, None);
    if let Some(sid) = session {
        let table = table();
        let _ = table.send_signal(sid, SigInfo::kernel(signal::SIGHUP), &Hooks);
        let _ = table.send_signal(sid, SigInfo::kernel(signal::SIGCONT), &Hooks);
    }
}

/// TIOCSCTTY: make the terminal the caller's controlling terminal. The
/// caller must be a session leader without one; `steal` (argument 1, as
/// root) takes it from another session.
pub fn set_ctty(steal: bool, readable: bool) -> Result<()> {
    set_ctty_on(&Console, steal, readable)
}

/// [`set_ctty`] for any terminal.
pub fn set_ctty_on(tty: &dyn JobTty, steal: bool, readable: bool) -> Result<()> {
    let c = caller().ok_or(Errno::EPERM)?;
    if c.leader && is_ctty_of_on(tty, &c) {
        return Ok(());
    }
    if !c.leader || session_has_ctty(c.sid) {
        return Err(Errno::EPERM);
    }
    let root = table().with_process(c.pid, |p| p.creds().euid == 0) == Some(true);
    if tty.ctl().0.is_some() && !(steal && root) {
        return Err(Errno::EPERM);
    }
    if !readable && !root {
        return Err(Errno::EPERM);
    }
    tty.set_ctl(Some(c.sid), Some(c.pgid));
    Ok(())
}

/// TIOCNOTTY: give up the controlling terminal. The session leader's
/// giving up sends SIGHUP and SIGCONT to the foreground group and detaches
/// the whole session (another member's is accepted and not tracked: the
/// terminal is kept per session).
pub fn release_ctty() -> Result<()> {
    release_ctty_on(&Console)
}

/// [`release_ctty`] for any terminal.
pub fn release_ctty_on(tty: &dyn JobTty) -> Result<()> {
    let c = caller().ok_or(Errno::ENOTTY)?;
    if !is_ctty_of_on(tty, &c) {
        return Err(Errno::ENOTTY);
    }
    if c.leader {
        let fg = tty.ctl().1;
        tty.set_ctl(None, None);
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
    foreground_on(&Console)
}

/// [`foreground`] for any terminal.
pub fn foreground_on(tty: &dyn JobTty) -> Result<Pid> {
    let c = caller().ok_or(Errno::ENOTTY)?;
    if !is_ctty_of_on(tty, &c) {
        return Err(Errno::ENOTTY);
    }
    Ok(tty.ctl().1.unwrap_or(0))
}

/// TIOCGSID: the terminal's session (`ENOTTY` unless it is the caller's).
pub fn session() -> Result<Pid> {
    session_on(&Console)
}

/// [`session`] for any terminal.
pub fn session_on(tty: &dyn JobTty) -> Result<Pid> {
    let c = caller().ok_or(Errno::ENOTTY)?;
    if !is_ctty_of_on(tty, &c) {
        return Err(Errno::ENOTTY);
    }
    Ok(c.sid)
}

/// TIOCSPGRP: a background caller gets SIGTTOU unless it ignores or blocks
/// it; then the terminal must be the caller's (`ENOTTY`), `pg` must exist
/// (`ESRCH`) in the caller's session (`EPERM`). Like Linux, any existing
/// pid of the session is accepted as a group id.
pub fn set_foreground(pg: i32) -> Result<()> {
    set_foreground_on(&Console, pg)
}

/// [`set_foreground`] for any terminal.
pub fn set_foreground_on(tty: &dyn JobTty, pg: i32) -> Result<()> {
    match check_change_on(tty, SIGTTOU) {
        Err(Errno::EIO) => return Err(Errno::ENOTTY),
        r => r?,
    }
    if pg < 0 {
        return Err(Errno::EINVAL);
    }
    let c = caller().ok_or(Errno::ENOTTY)?;
    if !is_ctty_of_on(tty, &c) {
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
            tty.set_ctl(tty.ctl().0, Some(pg));
            Ok(())
        }
    }
}

/// `tty_nr` and `tpgid` of /proc/PID/stat for a process of session `sid`:
/// the serial terminal (ttyS0, major 4 minor 64, encoded as Linux's
/// `new_encode_dev`) and its foreground group when it is the session's
/// controlling terminal, else `(0, -1)`.
pub fn stat_tty(sid: Pid) -> (u32, i64) {
    let on_console = with(|t| (t.session == Some(sid)).then(|| (4 << 8 | 64, t.pgrp.map_or(-1, i64::from))));
    on_console.or_else(|| crate::pty::stat_tty(sid)).unwrap_or((0, -1))
}

/// Kernel pid `pid` (a process group or session of a terminal) as thread
/// `t` sees it (`pid_vnr`): 0 when its PID namespace does not see it.
pub fn pid_seen(t: &crate::uthread::UThread, pid: u32) -> u32 {
    if pid == 0 { 0 } else { crate::proc::table().pid_seen(t.tid, pid) }
}

/// TIOCSPGRP's group number `nr` of `t`'s PID namespace as a kernel pid
/// (`find_vpid`): negative numbers stay (`EINVAL`), a number the
/// namespace does not have becomes one no group has (`ESRCH`, after the
/// terminal's own checks).
pub fn pgrp_from(t: &crate::uthread::UThread, nr: i32) -> i32 {
    if nr < 0 {
        return nr;
    }
    crate::proc::table().pid_from(t.tid, nr as u32).map_or(i32::MAX, |p| p as i32)
}
