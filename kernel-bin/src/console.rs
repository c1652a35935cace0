//! The serial console as a terminal: output straight to the UART, input
//! from its receive interrupt's ring into a line buffer (canonical mode with
//! echo, erase and kill; raw mode when ICANON is off), and the terminal's
//! job control as Linux's `tty_jobctrl.c` does it: the session it is the
//! controlling terminal of, its foreground process group, SIGTTIN/SIGTTOU
//! for background groups, SIGHUP to the foreground group when the
//! controlling process exits.

use crate::proc::{Hooks, table};
use crate::sched::WaitQueue;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use linux_abi::{Errno, Result};
use process::pid::Pid;
use signal::{SIGTTIN, SIGTTOU, SigInfo, SigNum};

/// `sizeof(struct termios)` as TCGETS copies it (the kernel's termios: 36 bytes).
pub const TERMIOS_SIZE: usize = 36;

struct Tty {
    termios: [u8; TERMIOS_SIZE],
    winsize: [u8; 8],
    /// Input ready for read(2): bytes, and `EOF` where ^D ended an empty line.
    ready: VecDeque<u16>,
    /// The line being edited (canonical mode).
    line: Vec<u8>,
    /// The session this is the controlling terminal of.
    session: Option<Pid>,
    /// The foreground process group (set with the session).
    pgrp: Option<Pid>,
}

/// The end-of-file mark in `Tty::ready` (a value no byte has).
const EOF: u16 = 0x100;
/// Linux's `N_TTY_BUF_SIZE`: the longest line, and the most input kept.
const BUF_SIZE: usize = 4096;

// c_iflag
const INLCR: u32 = 0o100;
const IGNCR: u32 = 0o200;
const ICRNL: u32 = 0o400;
const ISTRIP: u32 = 0o40;
// c_lflag
const ISIG: u32 = 0o1;
const ICANON: u32 = 0o2;
const ECHO: u32 = 0o10;
const ECHOE: u32 = 0o20;
const ECHOK: u32 = 0o40;
const ECHONL: u32 = 0o100;
const NOFLSH: u32 = 0o200;
const TOSTOP: u32 = 0o400;
const ECHOCTL: u32 = 0o1000;
const ECHOKE: u32 = 0o4000;
const IEXTEN: u32 = 0o100000;
// c_cc indexes
const VINTR: usize = 0;
const VQUIT: usize = 1;
const VERASE: usize = 2;
const VKILL: usize = 3;
const VEOF: usize = 4;
const VTIME: usize = 5;
const VMIN: usize = 6;
const VSUSP: usize = 10;
const VEOL: usize = 11;
const VWERASE: usize = 14;
const VEOL2: usize = 16;

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

static TTY: crate::lockorder::Ranked<Option<Tty>> =
    crate::lockorder::Ranked::new(crate::lockorder::LockClass::Tty, "console::TTY", None);

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

fn flag(t: &Tty, at: usize) -> u32 {
    u32::from_le_bytes([t.termios[at], t.termios[at + 1], t.termios[at + 2], t.termios[at + 3]])
}

fn lflag(t: &Tty) -> u32 {
    flag(t, 12)
}

impl Tty {
    fn cc(&self, i: usize) -> u8 {
        self.termios[17 + i]
    }

    /// Whether `b` is the enabled control character `i` (0 disables one).
    fn is(&self, b: u8, i: usize) -> bool {
        self.cc(i) != 0 && b == self.cc(i)
    }

    /// Echoes `b` as n_tty does: control characters as `^X` with ECHOCTL.
    fn echo(&self, b: u8) {
        if lflag(self) & ECHOCTL != 0 && (b < 0x20 && b != b'\t' && b != b'\n' || b == 0x7f) {
            write(&[b'^', b ^ 0x40]);
        } else {
            write(&[b]);
        }
    }

    /// Erases the last character of the line (and its echo).
    fn erase_one(&mut self, echo: bool) -> bool {
        let Some(c) = self.line.pop() else { return false };
        if echo {
            let wide = lflag(self) & ECHOCTL != 0 && (c < 0x20 && c != b'\t' || c == 0x7f);
            for _ in 0..if wide { 2 } else { 1 } {
                write(b"\x08 \x08");
            }
        }
        true
    }

    /// One received byte through N_TTY: input mapping, signal characters,
    /// canonical editing or raw delivery, echo. Returns a signal for the
    /// foreground group.
    fn input(&mut self, mut b: u8) -> Option<(SigNum, Option<Pid>)> {
        let (i, l) = (flag(self, 0), lflag(self));
        if i & ISTRIP != 0 {
            b &= 0x7f;
        }
        if b == b'\r' {
            if i & IGNCR != 0 {
                return None;
            }
            if i & ICRNL != 0 {
                b = b'\n';
            }
        } else if b == b'\n' && i & INLCR != 0 {
            b = b'\r';
        }
        let echo = l & ECHO != 0;
        if l & ISIG != 0 {
            let sig = if self.is(b, VINTR) {
                Some(signal::SIGINT)
            } else if self.is(b, VQUIT) {
                Some(signal::SIGQUIT)
            } else if self.is(b, VSUSP) {
                Some(signal::SIGTSTP)
            } else {
                None
            };
            if let Some(sig) = sig {
                if l & NOFLSH == 0 {
                    self.line.clear();
                    self.ready.clear();
                }
                // the character alone (^C): the newline is the shell's business
                if echo {
                    self.echo(b);
                }
                return Some((sig, self.pgrp));
            }
        }
        if l & ICANON == 0 {
            if self.ready.len() < BUF_SIZE {
                self.ready.push_back(u16::from(b));
                if echo {
                    self.echo(b);
                }
            }
            return None;
        }
        if self.is(b, VERASE) {
            self.erase_one(echo && l & ECHOE != 0);
        } else if self.is(b, VWERASE) && l & IEXTEN != 0 {
            let visual = echo && l & ECHOE != 0;
            while self.line.last().is_some_and(|c| c.is_ascii_whitespace()) {
                self.erase_one(visual);
            }
            while self.line.last().is_some_and(|c| !c.is_ascii_whitespace()) {
                self.erase_one(visual);
            }
        } else if self.is(b, VKILL) {
            if echo && l & ECHOKE != 0 {
                while self.erase_one(true) {}
            } else {
                self.line.clear();
                if echo && l & ECHOK != 0 {
                    self.echo(b);
                    write(b"\n");
                }
            }
        } else if self.is(b, VEOF) {
            // hands the line over as it is; on an empty line: end of file
            if self.line.is_empty() {
                self.ready.push_back(EOF);
            } else {
                let line = core::mem::take(&mut self.line);
                self.ready.extend(line.into_iter().map(u16::from));
            }
        } else if b == b'\n' || self.is(b, VEOL) || self.is(b, VEOL2) {
            self.line.push(b);
            let line = core::mem::take(&mut self.line);
            self.ready.extend(line.into_iter().map(u16::from));
            if echo || (b == b'\n' && l & ECHONL != 0) {
                self.echo(b);
            }
        } else if self.line.len() < BUF_SIZE - 1 {
            self.line.push(b);
            if echo {
                self.echo(b);
            }
        }
        None
    }

    /// Takes what one read(2) gets: in canonical mode up to a line's end,
    /// 0 for an end of file; in raw mode what is there. None: nothing yet.
    fn take(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.ready.front() == Some(&EOF) {
            self.ready.pop_front();
            return Some(0);
        }
        if self.ready.is_empty() {
            return None;
        }
        let canon = lflag(self) & ICANON != 0;
        let mut n = 0;
        while n < buf.len() {
            match self.ready.front() {
                Some(&c) if c != EOF => {
                    self.ready.pop_front();
                    buf[n] = c as u8;
                    n += 1;
                    if canon && (c == u16::from(b'\n') || self.is(c as u8, VEOL) || self.is(c as u8, VEOL2)) {
                        break;
                    }
                }
                _ => break,
            }
        }
        Some(n)
    }

    /// Puts bytes a reader could not store back in front of the input.
    fn put_back(&mut self, data: &[u8]) {
        for &b in data.iter().rev() {
            self.ready.push_front(u16::from(b));
        }
    }

    /// Bytes a read could take now (FIONREAD).
    fn available(&self) -> usize {
        self.ready.iter().filter(|&&c| c != EOF).count()
    }
}

/// The sleepers on console input: readers, poll/select and epoll over the
/// terminal. Output goes straight to the UART (a write never waits for
/// room), so it has no queue.
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

/// Moves received bytes through the line discipline (called by readers and
/// on every timer tick, so ^C reaches a program that is not reading), and
/// wakes the input's sleepers when bytes arrived.
pub fn pump() {
    let mut any = false;
    while let Some(b) = arch_x86_64::serial::try_read_byte() {
        any = true;
        if let Some((sig, Some(pg))) = with(|t| t.input(b)) {
            kill_pgrp(pg, sig);
        }
    }
    if any {
        input_wq().wake_all();
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
    let (canon, vmin, vtime) = with(|t| (lflag(t) & ICANON != 0, t.cc(VMIN) as usize, t.cc(VTIME) as u64));
    let deadline = (!canon && vtime > 0).then(|| arch_x86_64::time::since_boot_ns() + vtime * 100_000_000);
    // raw mode with VMIN > 1 (and no VTIME) waits for that many bytes
    let want = if canon || vtime > 0 { 1 } else { vmin.clamp(1, buf.len()) };
    loop {
        pump();
        let got = with(|t| {
            if !canon && t.available() < want {
                return None;
            }
            t.take(buf)
        });
        if let Some(n) = got {
            return Ok(n);
        }
        if nonblock {
            return Err(Errno::EAGAIN);
        }
        if !canon && vmin == 0 && vtime == 0 {
            return Ok(0);
        }
        let ready = || with(|t| if canon { !t.ready.is_empty() } else { t.available() >= want });
        match crate::proc::sleep_on(tid, &[input_wq().as_ref()], ready, deadline) {
            Err(Errno::ERESTARTSYS) => return Err(Errno::ERESTARTSYS),
            Err(Errno::ETIMEDOUT) if deadline.is_some() => {
                return Ok(with(|t| t.take(buf)).unwrap_or(0));
            }
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
/// Gives back the bytes of a read whose copy to user memory failed: they
/// are read again next time, as on Linux (which copies before it consumes).
pub fn unread(data: &[u8]) {
    if !data.is_empty() {
        with(|t| t.put_back(data));
        input_wq().wake_all();
    }
}

pub fn available() -> usize {
    pump();
    with(|t| t.available())
}

/// poll(2) readiness.
pub fn poll() -> u32 {
    let mut r = vfs::POLLOUT | vfs::POLLWRNORM;
    pump();
    // an end of file is readable too
    if with(|t| !t.ready.is_empty()) {
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

/// `tty_nr` and `tpgid` of /proc/PID/stat for a process of session `sid`:
/// the serial terminal (ttyS0, major 4 minor 64, encoded as Linux's
/// `new_encode_dev`) and its foreground group when it is the session's
/// controlling terminal, else `(0, -1)`.
pub fn stat_tty(sid: Pid) -> (u32, i64) {
    with(|t| if t.session == Some(sid) { (4 << 8 | 64, t.pgrp.map_or(-1, i64::from)) } else { (0, -1) })
}
