//! The serial console as a terminal: output straight to the UART, input
//! from its receive interrupt's ring into a line buffer (canonical mode with
//! echo, erase and kill; raw mode when ICANON is off), and the terminal's
//! job control as Linux's `tty_jobctrl.c` does it: the session it is the
//! controlling terminal of, its foreground process group, SIGTTIN/SIGTTOU
//! for background groups, SIGHUP to the foreground group when the
//! controlling process exits.

use crate::proc::{Hooks, table};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use linux_abi::{Errno, Result};
use process::pid::Pid;
use signal::{SIGTTIN, SIGTTOU, SigInfo, SigNum};
use spin::Mutex;

/// `sizeof(struct termios)` as TCGETS copies it (the kernel's termios: 36 bytes).
pub const TERMIOS_SIZE: usize = 36;

struct Tty {
    termios: [u8; TERMIOS_SIZE],
    winsize: [u8; 8],
    /// Bytes ready for read(2).
    ready: VecDeque<u8>,
    /// The line being edited (canonical mode).
    line: Vec<u8>,
    /// The session this is the controlling terminal of.
    session: Option<Pid>,
    /// The foreground process group (set with the session).
    pgrp: Option<Pid>,
}

const ISIG: u32 = 0o1;
const ICANON: u32 = 0o2;
const ECHO: u32 = 0o10;
const TOSTOP: u32 = 0o400;
const ECHOCTL: u32 = 0o1000;

fn default_termios() -> [u8; TERMIOS_SIZE] {
    let mut t = [0u8; TERMIOS_SIZE];
    // c_iflag ICRNL|IXON, c_oflag OPOST|ONLCR, c_cflag B38400|CS8|CREAD|HUPCL,
    // c_lflag ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN
    t[0..4].copy_from_slice(&0o2400u32.to_le_bytes());
    t[4..8].copy_from_slice(&0o5u32.to_le_bytes());
    t[8..12].copy_from_slice(&0o2277u32.to_le_bytes());
    t[12..16].copy_from_slice(&0o105073u32.to_le_bytes());
    // c_line, then c_cc: VINTR ^C, VQUIT ^\, VERASE DEL, VKILL ^U, VEOF ^D, VTIME 0, VMIN 1
    let cc = [3u8, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0];
    t[17..17 + cc.len()].copy_from_slice(&cc);
    t
}

static TTY: Mutex<Option<Tty>> = Mutex::new(None);

fn with<R>(f: impl FnOnce(&mut Tty) -> R) -> R {
    let mut g = TTY.lock();
    let tty = g.get_or_insert_with(|| Tty {
        termios: default_termios(),
        winsize: [24, 0, 80, 0, 0, 0, 0, 0],
        ready: VecDeque::new(),
        line: Vec::new(),
        session: None,
        pgrp: None,
    });
    f(tty)
}

fn lflag(t: &Tty) -> u32 {
    u32::from_le_bytes([t.termios[12], t.termios[13], t.termios[14], t.termios[15]])
}

/// Writes to the console.
pub fn write(buf: &[u8]) {
    arch_x86_64::serial::write_bytes(buf);
}

/// Moves received bytes through the line discipline (called by readers and
/// on every timer tick, so ^C reaches a program that is not reading).
pub fn pump() {
    while let Some(b) = arch_x86_64::serial::try_read_byte() {
        let signal = with(|t| {
            let l = lflag(t);
            if l & ISIG == 0 {
                return None;
            }
            let sig = match b {
                3 => 2,   // ^C: SIGINT
                28 => 3,  // ^\: SIGQUIT
                26 => 20, // ^Z: SIGTSTP
                _ => return None,
            };
            t.line.clear();
            // n_tty echoes the character alone (as ^C with ECHOCTL): the
            // newline is the shell's business
            if l & ECHO != 0 {
                if l & ECHOCTL != 0 { write(&[b'^', b + 64]) } else { write(&[b]) }
            }
            Some((sig, t.pgrp))
        });
        if let Some((sig, fg)) = signal {
            if let (Some(pg), Ok(sig)) = (fg, SigNum::new(sig)) {
                kill_pgrp(pg, sig);
            }
            continue;
        }
        with(|t| {
            let l = lflag(t);
            let b = if b == b'\r' { b'\n' } else { b };
            if l & ICANON == 0 {
                t.ready.push_back(b);
                if l & ECHO != 0 {
                    write(&[b]);
                }
                return;
            }
            match b {
                0x7f | 0x08 => {
                    if t.line.pop().is_some() && l & ECHO != 0 {
                        write(b"\x08 \x08");
                    }
                }
                0x15 => {
                    for _ in 0..t.line.len() {
                        write(b"\x08 \x08");
                    }
                    t.line.clear();
                }
                0x04 => {
                    // ^D: hand over the line as it is (EOF when empty)
                    let line = core::mem::take(&mut t.line);
                    if line.is_empty() {
                        t.ready.push_back(0x04);
                    } else {
                        t.ready.extend(line);
                    }
                }
                b'\n' => {
                    t.line.push(b'\n');
                    let line = core::mem::take(&mut t.line);
                    t.ready.extend(line);
                    if l & ECHO != 0 {
                        write(b"\n");
                    }
                }
                _ => {
                    t.line.push(b);
                    if l & ECHO != 0 {
                        write(&[b]);
                    }
                }
            }
        });
    }
}

/// read(2) on the console: blocks (polling the UART each tick) until data.
/// `jobctl`: a read from a background group gets SIGTTIN (not through
/// `/dev/console`, as in Linux).
pub fn read(buf: &mut [u8], nonblock: bool, jobctl: bool) -> Result<usize> {
    if jobctl {
        check_change(SIGTTIN)?;
    }
    if buf.is_empty() {
        return Ok(0);
    }
    loop {
        pump();
        let got = with(|t| {
            if t.ready.front() == Some(&0x04) {
                t.ready.pop_front();
                return Some(0);
            }
            if t.ready.is_empty() {
                return None;
            }
            let mut n = 0;
            while n < buf.len() {
                match t.ready.front() {
                    Some(&0x04) | None => break,
                    Some(&b) => {
                        t.ready.pop_front();
                        buf[n] = b;
                        n += 1;
                        if b == b'\n' && lflag(t) & ICANON != 0 {
                            break;
                        }
                    }
                }
            }
            Some(n)
        });
        if let Some(n) = got {
            return Ok(n);
        }
        if nonblock {
            return Err(Errno::EAGAIN);
        }
        let tid = crate::sched::current().id.load(core::sync::atomic::Ordering::Relaxed) as Pid;
        let deadline = arch_x86_64::time::since_boot_ns() + 10_000_000;
        match crate::proc::sleep_interruptible(tid, || false, Some(deadline)) {
            Err(Errno::ERESTARTSYS) => return Err(Errno::ERESTARTSYS),
            _ => continue,
        }
    }
}

/// Discards typed input (TCFLSH).
pub fn flush_input() {
    pump();
    with(|t| {
        t.ready.clear();
        t.line.clear();
    });
}

/// Bytes ready to read.
pub fn available() -> usize {
    pump();
    with(|t| t.ready.len())
}

/// poll(2) readiness.
pub fn poll() -> u32 {
    let mut r = vfs::POLLOUT | vfs::POLLWRNORM;
    if available() > 0 {
        r |= vfs::POLLIN | vfs::POLLRDNORM;
    }
    r
}

/// The termios bytes.
pub fn termios() -> [u8; TERMIOS_SIZE] {
    with(|t| t.termios)
}

/// Sets the termios from user bytes.
pub fn set_termios(b: &[u8]) {
    with(|t| {
        let n = b.len().min(TERMIOS_SIZE);
        t.termios[..n].copy_from_slice(&b[..n]);
    });
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
    for pid in table.pids() {
        if table.with_process(pid, |p| p.pgid() == pg) == Some(true) {
            let _ = table.send_signal(pid, SigInfo::kernel(sig), &Hooks);
        }
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
    if session != Some(c.sid) {
        return Ok(());
    }
    let Some(fg) = fg else { return Ok(()) };
    if fg == c.pgid {
        return Ok(());
    }
    if ignored_or_blocked(&c, sig) {
        return if sig == SIGTTIN { Err(Errno::EIO) } else { Ok(()) };
    }
    if table().is_orphaned_pgrp(c.pgid) {
        return Err(Errno::EIO);
    }
    kill_pgrp(c.pgid, sig);
    Err(Errno::ERESTARTSYS)
}

/// The job-control check of write(2): with `TOSTOP` set, background
/// writers get SIGTTOU.
pub fn check_write() -> Result<()> {
    if with(|t| lflag(t)) & TOSTOP != 0 { check_change(SIGTTOU) } else { Ok(()) }
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
    for pid in table.pids() {
        if let Some(Some(s)) = table.with_process(pid, |p| (p.pgid() == pg).then(|| p.sid())) {
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
