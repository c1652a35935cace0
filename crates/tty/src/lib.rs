//! The input side of Linux's terminal line discipline (`drivers/tty/n_tty.c`)
//! without the terminal around it: what a received byte does under the
//! termios flags (input mapping, the signal characters, canonical editing,
//! echo, XON/XOFF output flow control), what one read(2) takes, and how
//! VMIN/VTIME shape a raw read.
//!
//! # Model
//!
//! [`NTty`] holds the termios bytes (the kernel's 36-byte `struct termios`
//! as TCGETS copies it), the line being edited and the input ready for
//! read(2). [`NTty::input`] takes one byte and writes its echo into an
//! [`Echo`] sink; it returns the [`TtySignal`] a signal character raised
//! for the foreground group. [`NTty::take`] is one read's worth.
//!
//! Output can be stopped: by the STOP character (^S) with IXON, or by
//! tcflow(TCOOFF) ([`NTty::flow_off`]). While it is, echoes and
//! [`NTty::write`] are held (up to [`OUT_SIZE`] bytes, Linux's serial
//! transmit buffer) and go out when START (^Q), any character with IXANY,
//! a signal character, IXON switched off or TCOON restarts it.
//!
//! # Wiring
//!
//! The kernel keeps one `NTty` per terminal under its lock, feeds it the
//! bytes its receive interrupt queued, passes an `Echo` that writes to the
//! device, sends the returned signal to the foreground process group after
//! unlocking, and sleeps readers on its own wait queue while
//! [`NTty::take`] returns `None`. Job control (sessions, groups,
//! SIGTTIN/SIGTTOU) stays in the kernel: it needs the process table.
//!
//! # Locks
//!
//! None here: every method takes `&mut self`; an `Echo` must not take the
//! terminal's lock.
//!
//! ```
//! use tty::{NTty, TtySignal};
//! use tty::testing::EchoBuf;
//! let mut t = NTty::new();
//! let mut echo = EchoBuf::default();
//! for &b in b"ls -x\x7f\r" {
//!     assert_eq!(t.input(b, &mut echo), None);
//! }
//! assert_eq!(echo.0, b"ls -x\x08 \x08\n");
//! let mut buf = [0u8; 16];
//! assert_eq!(t.take(&mut buf), Some(5));
//! assert_eq!(&buf[..5], b"ls -\n");
//! assert_eq!(t.input(3, &mut echo), Some(TtySignal::Int));
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// `sizeof(struct termios)` as TCGETS copies it (the kernel's termios).
pub const TERMIOS_SIZE: usize = 36;
/// Linux's `N_TTY_BUF_SIZE`: the longest line, and the most input kept.
pub const BUF_SIZE: usize = 4096;
/// The most output held while output is stopped (`UART_XMIT_SIZE`).
pub const OUT_SIZE: usize = 4096;
/// Held output below this many bytes still polls writable (`WAKEUP_CHARS`).
pub const WAKEUP_CHARS: usize = 256;

// c_iflag
/// Strip the eighth bit of input.
pub const ISTRIP: u32 = 0o40;
/// Map NL to CR on input.
pub const INLCR: u32 = 0o100;
/// Ignore CR on input.
pub const IGNCR: u32 = 0o200;
/// Map CR to NL on input.
pub const ICRNL: u32 = 0o400;
/// XON/XOFF flow control of output: STOP stops it, START restarts it.
pub const IXON: u32 = 0o2000;
/// Any character restarts stopped output.
pub const IXANY: u32 = 0o4000;
// c_lflag
/// The signal characters (INTR, QUIT, SUSP) raise signals.
pub const ISIG: u32 = 0o1;
/// Canonical mode: line editing, a read gets a line.
pub const ICANON: u32 = 0o2;
/// Echo input.
pub const ECHO: u32 = 0o10;
/// ERASE and WERASE erase visibly.
pub const ECHOE: u32 = 0o20;
/// KILL echoes itself and a newline.
pub const ECHOK: u32 = 0o40;
/// Echo NL even without ECHO.
pub const ECHONL: u32 = 0o100;
/// No flush of the input at a signal character.
pub const NOFLSH: u32 = 0o200;
/// Background writers get SIGTTOU.
pub const TOSTOP: u32 = 0o400;
/// Echo control characters as `^X`.
pub const ECHOCTL: u32 = 0o1000;
/// KILL erases the line visibly.
pub const ECHOKE: u32 = 0o4000;
/// Extended input processing (WERASE, LNEXT).
pub const IEXTEN: u32 = 0o100000;

// c_cc indexes
/// Interrupt character (SIGINT).
pub const VINTR: usize = 0;
/// Quit character (SIGQUIT).
pub const VQUIT: usize = 1;
/// Erase one character.
pub const VERASE: usize = 2;
/// Erase the line.
pub const VKILL: usize = 3;
/// End of file.
pub const VEOF: usize = 4;
/// Raw-mode timeout in tenths of a second.
pub const VTIME: usize = 5;
/// Raw-mode minimum byte count.
pub const VMIN: usize = 6;
/// Restart output (XON, ^Q).
pub const VSTART: usize = 8;
/// Stop output (XOFF, ^S).
pub const VSTOP: usize = 9;
/// Suspend character (SIGTSTP).
pub const VSUSP: usize = 10;
/// Additional end-of-line character.
pub const VEOL: usize = 11;
/// Erase one word.
pub const VWERASE: usize = 14;
/// Take the next character literally.
pub const VLNEXT: usize = 15;
/// Second additional end-of-line character.
pub const VEOL2: usize = 16;

/// The end-of-file mark in the ready queue (a value no byte has).
const EOF: u16 = 0x100;
/// Marks a byte taken literally after VLNEXT: it never ends a line.
const LIT: u16 = 0x200;

/// Where echoes go (the terminal's output).
pub trait Echo {
    /// Writes `bytes` to the terminal.
    fn echo(&mut self, bytes: &[u8]);
}

/// A signal a character raised for the foreground process group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtySignal {
    /// VINTR: SIGINT.
    Int,
    /// VQUIT: SIGQUIT.
    Quit,
    /// VSUSP: SIGTSTP.
    Tstp,
}

impl TtySignal {
    /// The signal's number on x86_64 Linux.
    pub fn number(self) -> u32 {
        match self {
            TtySignal::Int => 2,
            TtySignal::Quit => 3,
            TtySignal::Tstp => 20,
        }
    }
}

/// How a read(2) must wait, from ICANON, VMIN and VTIME.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadMode {
    /// Canonical mode: a read gets at most a line.
    pub canon: bool,
    /// Bytes that must be ready before a raw read returns (1 in canonical
    /// mode or with VTIME; VMIN clamped to 1..=buffer otherwise).
    pub want: usize,
    /// VTIME in raw mode as a timeout in ns (`None`: none).
    pub timeout_ns: Option<u64>,
    /// VMIN 0 and VTIME 0 in raw mode: return at once, even with nothing.
    pub poll_only: bool,
}

/// Linux's default termios (`tty_std_termios` with the serial driver's
/// B38400): ICRNL|IXON, OPOST|ONLCR, B38400|CS8|CREAD|HUPCL,
/// ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN; VINTR ^C, VQUIT ^\,
/// VERASE DEL, VKILL ^U, VEOF ^D, VTIME 0, VMIN 1, VSTART ^Q, VSTOP ^S,
/// VSUSP ^Z, VREPRINT ^R, VDISCARD ^O, VWERASE ^W, VLNEXT ^V.
pub fn default_termios() -> [u8; TERMIOS_SIZE] {
    let mut t = [0u8; TERMIOS_SIZE];
    t[0..4].copy_from_slice(&0o2400u32.to_le_bytes());
    t[4..8].copy_from_slice(&0o5u32.to_le_bytes());
    t[8..12].copy_from_slice(&0o2277u32.to_le_bytes());
    t[12..16].copy_from_slice(&0o105073u32.to_le_bytes());
    let cc = [3u8, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0];
    t[17..17 + cc.len()].copy_from_slice(&cc);
    t
}

/// The size of the old System V `struct termio` (TCGETA/TCSETA*): four
/// 16-bit flag words, `c_line` and `NCC` = 8 control characters.
pub const TERMIO_SIZE: usize = 17;

/// `struct termio` from termios bytes (Linux's
/// `kernel_termios_to_user_termio`): each flag word cut to its low 16
/// bits, `c_line`, the first 8 control characters.
pub fn termio_of(termios: &[u8; TERMIOS_SIZE]) -> [u8; TERMIO_SIZE] {
    let mut t = [0u8; TERMIO_SIZE];
    for w in 0..4 {
        t[2 * w..2 * w + 2].copy_from_slice(&termios[4 * w..4 * w + 2]);
    }
    t[8] = termios[16];
    t[9..17].copy_from_slice(&termios[17..25]);
    t
}

/// The termios a TCSETA* of `termio` makes from `old` (Linux's
/// `user_termio_to_kernel_termios`): the low 16 bits of each flag word
/// replaced, the high ones kept, `c_line` and the first 8 control
/// characters replaced, the rest kept.
pub fn termios_with_termio(old: &[u8; TERMIOS_SIZE], termio: &[u8; TERMIO_SIZE]) -> [u8; TERMIOS_SIZE] {
    let mut t = *old;
    for w in 0..4 {
        t[4 * w..4 * w + 2].copy_from_slice(&termio[2 * w..2 * w + 2]);
    }
    t[16] = termio[8];
    t[17..25].copy_from_slice(&termio[9..17]);
    t
}

/// The termios a change to `new` leaves when `lock` (TIOCSLCKTRMIOS) is
/// set (Linux's `unset_locked_termios`): flag bits set in the lock keep
/// their `old` value, `c_line` too when the lock's is non-zero, and each
/// control character whose lock byte is non-zero.
pub fn apply_termios_lock(
    old: &[u8; TERMIOS_SIZE],
    new: &[u8; TERMIOS_SIZE],
    lock: &[u8; TERMIOS_SIZE],
) -> [u8; TERMIOS_SIZE] {
    let word = |b: &[u8; TERMIOS_SIZE], w: usize| {
        u32::from_le_bytes([b[4 * w], b[4 * w + 1], b[4 * w + 2], b[4 * w + 3]])
    };
    let mut t = *new;
    for w in 0..4 {
        let v = (word(new, w) & !word(lock, w)) | (word(old, w) & word(lock, w));
        t[4 * w..4 * w + 4].copy_from_slice(&v.to_le_bytes());
    }
    if lock[16] != 0 {
        t[16] = old[16];
    }
    for i in 17..TERMIOS_SIZE {
        if lock[i] != 0 {
            t[i] = old[i];
        }
    }
    t
}

/// One terminal's N_TTY input state.
#[derive(Clone, Debug)]
pub struct NTty {
    termios: [u8; TERMIOS_SIZE],
    /// Input ready for read(2): bytes, and `EOF` where ^D ended an empty line.
    ready: VecDeque<u16>,
    /// The line being edited (canonical mode), bytes with [`LIT`] marks.
    line: Vec<u16>,
    /// VLNEXT was typed: the next byte is taken literally.
    lnext: bool,
    /// Output is stopped (`tty->flow.stopped`).
    stopped: bool,
    /// ... by tcflow(TCOOFF): only TCOON restarts it.
    tco_stopped: bool,
    /// Output held while stopped (echoes and writes), at most [`OUT_SIZE`].
    held: VecDeque<u8>,
}

impl Default for NTty {
    fn default() -> Self {
        Self::new()
    }
}

impl NTty {
    /// A terminal with [`default_termios`] and no input.
    pub fn new() -> Self {
        NTty {
            termios: default_termios(),
            ready: VecDeque::new(),
            line: Vec::new(),
            lnext: false,
            stopped: false,
            tco_stopped: false,
            held: VecDeque::new(),
        }
    }

    /// The termios bytes (TCGETS).
    pub fn termios(&self) -> [u8; TERMIOS_SIZE] {
        self.termios
    }

    /// Sets the termios from up to [`TERMIOS_SIZE`] bytes (TCSETS*); a
    /// shorter slice changes only its prefix. As Linux's
    /// `n_tty_set_termios`, switching ICANON off makes the line being
    /// edited readable (raw input), within the one buffer of
    /// [`BUF_SIZE`]; the caller wakes the readers. Switching IXON off
    /// restarts output the STOP character stopped (held output goes to
    /// `out`).
    pub fn set_termios(&mut self, b: &[u8], out: &mut impl Echo) {
        let was_canon = self.lflag() & ICANON != 0;
        let had_ixon = self.iflag() & IXON != 0;
        let n = b.len().min(TERMIOS_SIZE);
        self.termios[..n].copy_from_slice(&b[..n]);
        if was_canon && self.lflag() & ICANON == 0 {
            let room = BUF_SIZE.saturating_sub(self.ready.len()).min(self.line.len());
            if self.ready.try_reserve(room).is_ok() {
                self.ready.extend(self.line.drain(..room));
            }
            self.line.clear();
            self.lnext = false;
        }
        if had_ixon && self.iflag() & IXON == 0 {
            self.start(out);
        }
    }

    fn flag(&self, at: usize) -> u32 {
        u32::from_le_bytes([
            self.termios[at],
            self.termios[at + 1],
            self.termios[at + 2],
            self.termios[at + 3],
        ])
    }

    /// `c_iflag`.
    pub fn iflag(&self) -> u32 {
        self.flag(0)
    }

    /// `c_oflag`.
    pub fn oflag(&self) -> u32 {
        self.flag(4)
    }

    /// `c_lflag`.
    pub fn lflag(&self) -> u32 {
        self.flag(12)
    }

    /// Control character `i` of `c_cc`.
    pub fn cc(&self, i: usize) -> u8 {
        self.termios[17 + i]
    }

    /// Whether `b` is the enabled control character `i` (0 disables one).
    fn is(&self, b: u8, i: usize) -> bool {
        self.cc(i) != 0 && b == self.cc(i)
    }

    /// Output to the terminal: to `out`, or held while output is stopped
    /// (what does not fit in [`OUT_SIZE`] is dropped, as an echo that
    /// finds no room).
    fn emit(&mut self, bytes: &[u8], out: &mut impl Echo) {
        if self.stopped {
            let room = OUT_SIZE.saturating_sub(self.held.len()).min(bytes.len());
            if self.held.try_reserve(room).is_ok() {
                self.held.extend(&bytes[..room]);
            }
        } else {
            out.echo(bytes);
        }
    }

    /// Echoes `b` as n_tty does: control characters as `^X` with ECHOCTL.
    fn echo_char(&mut self, b: u8, out: &mut impl Echo) {
        if self.lflag() & ECHOCTL != 0 && (b < 0x20 && b != b'\t' && b != b'\n' || b == 0x7f) {
            self.emit(&[b'^', b ^ 0x40], out);
        } else {
            self.emit(&[b], out);
        }
    }

    /// `stop_tty`: output stops (held from now on).
    fn stop(&mut self) {
        self.stopped = true;
    }

    /// `start_tty`: output restarts unless tcflow(TCOOFF) stopped it; what
    /// was held goes to `out`.
    fn start(&mut self, out: &mut impl Echo) {
        if !self.stopped || self.tco_stopped {
            return;
        }
        self.stopped = false;
        let (a, b) = self.held.as_slices();
        if !a.is_empty() {
            out.echo(a);
        }
        if !b.is_empty() {
            out.echo(b);
        }
        self.held.clear();
    }

    /// Whether output is stopped (writers hold or wait).
    pub fn output_stopped(&self) -> bool {
        self.stopped
    }

    /// Writes `data` to the terminal: all of it to `out` when output runs;
    /// while it is stopped, what fits in the [`OUT_SIZE`] held bytes.
    /// Returns how many bytes were taken (0: a blocking writer waits).
    pub fn write(&mut self, data: &[u8], out: &mut impl Echo) -> usize {
        if !self.stopped {
            out.echo(data);
            return data.len();
        }
        let room = OUT_SIZE.saturating_sub(self.held.len()).min(data.len());
        if self.held.try_reserve(room).is_err() {
            return 0;
        }
        self.held.extend(&data[..room]);
        room
    }

    /// Whether a write would take bytes now ([`NTty::write`] not 0).
    pub fn write_room(&self) -> bool {
        !self.stopped || self.held.len() < OUT_SIZE
    }

    /// POLLOUT as `n_tty_poll`: output runs, or little is held.
    pub fn writable(&self) -> bool {
        !self.stopped || self.held.len() < WAKEUP_CHARS
    }

    /// tcflow(TCOOFF): output stops until [`NTty::flow_on`].
    pub fn flow_off(&mut self) {
        if !self.tco_stopped {
            self.tco_stopped = true;
            self.stopped = true;
        }
    }

    /// tcflow(TCOON): output restarts (held output goes to `out`).
    pub fn flow_on(&mut self, out: &mut impl Echo) {
        if self.tco_stopped {
            self.tco_stopped = false;
            self.start(out);
        }
    }

    /// Erases the last character of the line (and, with `visual`, its echo).
    fn erase_one(&mut self, visual: bool, out: &mut impl Echo) -> bool {
        let Some(c) = self.line.pop() else { return false };
        let c = c as u8;
        if visual {
            let wide = self.lflag() & ECHOCTL != 0 && (c < 0x20 && c != b'\t' || c == 0x7f);
            for _ in 0..if wide { 2 } else { 1 } {
                self.emit(b"\x08 \x08", out);
            }
        }
        true
    }

    /// One received byte through N_TTY: input mapping, signal characters,
    /// canonical editing or raw delivery, echo into `out`. Returns the
    /// signal for the foreground group, if the byte raised one.
    pub fn input(&mut self, mut b: u8, out: &mut impl Echo) -> Option<TtySignal> {
        let (i, l) = (self.iflag(), self.lflag());
        if i & ISTRIP != 0 {
            b &= 0x7f;
        }
        if self.lnext {
            // n_tty_receive_char_lnext(): no mapping, no special meaning
            // (IXANY still restarts output)
            self.lnext = false;
            if i & IXON != 0 && i & IXANY != 0 {
                self.start(out);
            }
            if l & ICANON == 0 {
                if self.ready.len() < BUF_SIZE {
                    self.ready.push_back(u16::from(b));
                    if l & ECHO != 0 {
                        self.echo_char(b, out);
                    }
                }
            } else if self.line.len() < BUF_SIZE - 1 {
                self.line.push(u16::from(b) | LIT);
                if l & ECHO != 0 {
                    self.echo_char(b, out);
                }
            }
            return None;
        }
        // n_tty_receive_char_special(): flow control first
        if i & IXON != 0 {
            if self.is(b, VSTART) {
                self.start(out);
                return None;
            }
            if self.is(b, VSTOP) {
                self.stop();
                return None;
            }
            // any other character but a signal one (whose isig() drops
            // what was held) restarts with IXANY, before IGNCR drops a
            // CR, as n_tty
            let signal_char = l & ISIG != 0 && (self.is(b, VINTR) || self.is(b, VQUIT) || self.is(b, VSUSP));
            if i & IXANY != 0 && !signal_char {
                self.start(out);
            }
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
                Some(TtySignal::Int)
            } else if self.is(b, VQUIT) {
                Some(TtySignal::Quit)
            } else if self.is(b, VSUSP) {
                Some(TtySignal::Tstp)
            } else {
                None
            };
            if let Some(sig) = sig {
                if l & NOFLSH == 0 {
                    // isig(): the input and the output not yet sent
                    // (held while stopped) are thrown away
                    self.line.clear();
                    self.ready.clear();
                    self.held.clear();
                }
                // n_tty_receive_signal_char(): restarts output with IXON
                if i & IXON != 0 {
                    self.start(out);
                }
                // the character alone (^C): the newline is the shell's business
                if echo {
                    self.echo_char(b, out);
                }
                return Some(sig);
            }
        }
        if l & ICANON == 0 {
            if self.ready.len() < BUF_SIZE {
                self.ready.push_back(u16::from(b));
                if echo {
                    self.echo_char(b, out);
                }
            }
            return None;
        }
        if self.is(b, VERASE) {
            self.erase_one(echo && l & ECHOE != 0, out);
        } else if self.is(b, VWERASE) && l & IEXTEN != 0 {
            let visual = echo && l & ECHOE != 0;
            while self.line.last().is_some_and(|&c| (c as u8).is_ascii_whitespace()) {
                self.erase_one(visual, out);
            }
            while self.line.last().is_some_and(|&c| !(c as u8).is_ascii_whitespace()) {
                self.erase_one(visual, out);
            }
        } else if self.is(b, VLNEXT) && l & IEXTEN != 0 {
            // the next byte is literal; with echo a `^` the byte overwrites
            self.lnext = true;
            if echo && l & ECHOCTL != 0 {
                self.emit(b"^\x08", out);
            }
        } else if self.is(b, VKILL) {
            if echo && l & ECHOKE != 0 {
                while self.erase_one(true, out) {}
            } else {
                self.line.clear();
                if echo && l & ECHOK != 0 {
                    self.echo_char(b, out);
                    self.emit(b"\n", out);
                }
            }
        } else if self.is(b, VEOF) {
            // hands the line over as it is; on an empty line: end of file
            if self.line.is_empty() {
                self.ready.push_back(EOF);
            } else {
                let line = core::mem::take(&mut self.line);
                self.ready.extend(line);
            }
        } else if b == b'\n' || self.is(b, VEOL) || self.is(b, VEOL2) {
            self.line.push(u16::from(b));
            let line = core::mem::take(&mut self.line);
            self.ready.extend(line);
            if echo || (b == b'\n' && l & ECHONL != 0) {
                self.echo_char(b, out);
            }
        } else if self.line.len() < BUF_SIZE - 1 {
            self.line.push(u16::from(b));
            if echo {
                self.echo_char(b, out);
            }
        }
        None
    }

    /// Takes what one read(2) gets: in canonical mode up to a line's end,
    /// `Some(0)` for an end of file; in raw mode what is there. `None`:
    /// nothing yet.
    pub fn take(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.ready.front() == Some(&EOF) {
            self.ready.pop_front();
            return Some(0);
        }
        if self.ready.is_empty() {
            return None;
        }
        let canon = self.lflag() & ICANON != 0;
        let mut n = 0;
        while n < buf.len() {
            match self.ready.front() {
                Some(&c) if c != EOF => {
                    self.ready.pop_front();
                    buf[n] = c as u8;
                    n += 1;
                    let end = c & LIT == 0
                        && (c == u16::from(b'\n') || self.is(c as u8, VEOL) || self.is(c as u8, VEOL2));
                    if canon && end {
                        break;
                    }
                }
                _ => break,
            }
        }
        Some(n)
    }

    /// Puts bytes a reader could not store back in front of the input.
    pub fn put_back(&mut self, data: &[u8]) {
        for &b in data.iter().rev() {
            self.ready.push_front(u16::from(b));
        }
    }

    /// Bytes a read could take now (FIONREAD).
    pub fn available(&self) -> usize {
        self.ready.iter().filter(|&&c| c != EOF).count()
    }

    /// Whether a read would return now: bytes or an end of file (POLLIN).
    pub fn readable(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Discards output held while output is stopped (TCFLSH's TCOFLUSH).
    pub fn flush_output(&mut self) {
        self.held.clear();
    }

    /// Discards typed input, ready and being edited (TCFLSH).
    pub fn flush_input(&mut self) {
        self.ready.clear();
        self.line.clear();
        self.lnext = false;
    }

    /// The line being edited (not yet readable in canonical mode).
    pub fn pending_line(&self) -> Vec<u8> {
        self.line.iter().map(|&c| c as u8).collect()
    }

    /// How a read(2) into a buffer of `len` bytes (not 0) waits now.
    pub fn read_mode(&self, len: usize) -> ReadMode {
        let canon = self.lflag() & ICANON != 0;
        let (vmin, vtime) = (self.cc(VMIN) as usize, u64::from(self.cc(VTIME)));
        ReadMode {
            canon,
            want: if canon || vtime > 0 { 1 } else { vmin.clamp(1, len.max(1)) },
            timeout_ns: (!canon && vtime > 0).then_some(vtime * 100_000_000),
            poll_only: !canon && vmin == 0 && vtime == 0,
        }
    }

    /// One read attempt under `mode`: `None` while a raw read wants more
    /// bytes than are ready (or nothing is ready).
    pub fn try_read(&mut self, mode: &ReadMode, buf: &mut [u8]) -> Option<usize> {
        if !mode.canon && self.available() < mode.want {
            return None;
        }
        self.take(buf)
    }

    /// Whether a reader sleeping under `mode` should wake and try again.
    pub fn read_ready(&self, mode: &ReadMode) -> bool {
        if mode.canon { self.readable() } else { self.available() >= mode.want }
    }
}

/// What `__tty_check_change` decides for a process touching a terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobCheck {
    /// The call goes on.
    Proceed,
    /// The call fails with `EIO`.
    Eio,
    /// The signal goes to the caller's process group and the call
    /// restarts once the group is continued (`ERESTARTSYS`).
    SignalGroup,
}

/// Linux's `__tty_check_change` for a caller of session `sid` and group
/// `pgid` on a terminal that is the controlling terminal of `ctty_sid`
/// with foreground group `fg`: anyone outside that session, and the
/// foreground group, proceed; a background caller that blocks or ignores
/// the signal proceeds for SIGTTOU (`ttin` false) and gets `EIO` for
/// SIGTTIN; an orphaned background group gets `EIO`; others are
/// signalled. The two questions are asked only when needed.
pub fn check_change(
    ctty_sid: Option<u32>,
    fg: Option<u32>,
    sid: u32,
    pgid: u32,
    ttin: bool,
    ignored_or_blocked: impl FnOnce() -> bool,
    orphaned: impl FnOnce() -> bool,
) -> JobCheck {
    if ctty_sid != Some(sid) {
        return JobCheck::Proceed;
    }
    match fg {
        None => return JobCheck::Proceed,
        Some(fg) if fg == pgid => return JobCheck::Proceed,
        Some(_) => {}
    }
    if ignored_or_blocked() {
        return if ttin { JobCheck::Eio } else { JobCheck::Proceed };
    }
    if orphaned() {
        return JobCheck::Eio;
    }
    JobCheck::SignalGroup
}

/// Software implementations for tests.
#[cfg(feature = "testing")]
pub mod testing {
    use super::Echo;
    use alloc::vec::Vec;

    /// An [`Echo`] that records what was echoed.
    #[derive(Default, Debug)]
    pub struct EchoBuf(pub Vec<u8>);

    impl Echo for EchoBuf {
        fn echo(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
    }
}

pub mod pty;

#[cfg(test)]
mod tests;

// The README's example runs as a doctest too (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
