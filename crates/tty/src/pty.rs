//! A pseudo-terminal pair (Linux's `drivers/tty/pty.c`, the Unix 98
//! `/dev/ptmx` kind) without the kernel around it: what the master writes
//! is the slave's typed input, through the slave's line discipline
//! ([`NTty`]: canonical editing, echo, signal characters); what the slave
//! writes (and the slave's echoes) is output-processed (OPOST: ONLCR,
//! OCRNL, ONOCR, ONLRET) and read raw by the master.
//!
//! The kernel keeps a [`Pair`] under one lock per pair, wakes both sides'
//! sleepers after each change, sends [`TtySignal`]s to the slave's
//! foreground group after unlocking, and keeps the job control (session,
//! foreground group, hangup signals) itself, as for any terminal.
//!
//! ```
//! use tty::pty::{Pair, MasterRead};
//! let mut p = Pair::new();
//! p.unlock();
//! p.open_slave().unwrap();
//! // typed at the master: echoed back to it (CR echoed as CR LF) and
//! // readable by the slave as a line
//! assert_eq!(p.master_write(b"ls\r", |_| {}), 3);
//! let mut buf = [0u8; 16];
//! assert_eq!(p.master_read(&mut buf), MasterRead::Bytes(4));
//! assert_eq!(&buf[..4], b"ls\r\n");
//! assert_eq!(p.slave_mut().take(&mut buf), Some(3));
//! assert_eq!(&buf[..3], b"ls\n");
//! // the slave's output: ONLCR turns LF into CR LF
//! assert_eq!(p.slave_write(b"a\nb"), 3);
//! assert_eq!(p.master_read(&mut buf), MasterRead::Bytes(4));
//! assert_eq!(&buf[..4], b"a\r\nb");
//! ```

use crate::{BUF_SIZE, Echo, NTty, TERMIOS_SIZE, TtySignal};
use alloc::collections::VecDeque;

/// What the slave may write before the master reads it (Linux's tty
/// buffer limit, `TTYB_DEFAULT_MEM_LIMIT`).
pub const MASTER_BUF: usize = 65536;

// c_oflag
/// Output processing on.
pub const OPOST: u32 = 0o1;
/// Map NL to CR NL on output.
pub const ONLCR: u32 = 0o4;
/// Map CR to NL on output.
pub const OCRNL: u32 = 0o10;
/// No CR output at column 0.
pub const ONOCR: u32 = 0o20;
/// NL performs the CR function.
pub const ONLRET: u32 = 0o40;

// TIOCPKT: the status byte in front of each master read in packet mode
/// Packet mode: a read with data (the byte in front of it).
pub const TIOCPKT_DATA: u8 = 0;
/// Packet mode: the slave's input was flushed.
pub const TIOCPKT_FLUSHREAD: u8 = 1;
/// Packet mode: the slave's output was flushed.
pub const TIOCPKT_FLUSHWRITE: u8 = 2;
/// Packet mode: the slave's output was stopped (^S, tcflow).
pub const TIOCPKT_STOP: u8 = 4;
/// Packet mode: the slave's output was restarted.
pub const TIOCPKT_START: u8 = 8;
/// Packet mode: ^S/^Q flow control went off on the slave.
pub const TIOCPKT_NOSTOP: u8 = 16;
/// Packet mode: ^S/^Q flow control (IXON with the default characters)
/// went on on the slave.
pub const TIOCPKT_DOSTOP: u8 = 32;
/// Packet mode: the slave's termios changed with EXTPROC set.
pub const TIOCPKT_IOCTL: u8 = 64;

/// `c_lflag`'s EXTPROC.
pub const EXTPROC: u32 = 0o200000;

/// What a master read got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MasterRead {
    /// This many bytes.
    Bytes(usize),
    /// Nothing yet: wait (or `EAGAIN`).
    Empty,
    /// Nothing, and the slave was closed by its last holder: `EIO`.
    SlaveClosed,
}

/// The slave's output side: where its writes and echoes go, with the
/// output processing of its `c_oflag`.
struct ToMaster<'a> {
    buf: &'a mut VecDeque<u8>,
    oflag: u32,
    /// The output column (ONOCR), 0 after CR or NL.
    column: &'a mut usize,
}

impl ToMaster<'_> {
    fn room(&self) -> usize {
        MASTER_BUF.saturating_sub(self.buf.len())
    }

    /// One byte through `do_output_char`; false when there was no room
    /// for all it turns into.
    fn put(&mut self, b: u8) -> bool {
        let o = self.oflag;
        let mut out = [b, 0];
        let mut n = 1;
        if o & OPOST != 0 {
            match b {
                b'\n' => {
                    if o & ONLRET != 0 {
                        *self.column = 0;
                    }
                    if o & ONLCR != 0 {
                        out = [b'\r', b'\n'];
                        n = 2;
                        *self.column = 0;
                    }
                }
                b'\r' => {
                    if o & ONOCR != 0 && *self.column == 0 {
                        return true;
                    }
                    if o & OCRNL != 0 {
                        out[0] = b'\n';
                        if o & ONLRET != 0 {
                            *self.column = 0;
                        }
                    } else {
                        *self.column = 0;
                    }
                }
                0x08 => *self.column = self.column.saturating_sub(1),
                c if c >= 0x20 && c != 0x7f => *self.column += 1,
                _ => {}
            }
        }
        if self.room() < n || self.buf.try_reserve(n).is_err() {
            return false;
        }
        self.buf.extend(&out[..n]);
        true
    }
}

impl Echo for ToMaster<'_> {
    fn echo(&mut self, bytes: &[u8]) {
        // an echo that finds no room is lost, as n_tty's
        for &b in bytes {
            if !self.put(b) {
                return;
            }
        }
    }
}

/// One pseudo-terminal pair.
#[derive(Debug)]
pub struct Pair {
    slave: NTty,
    to_master: VecDeque<u8>,
    column: usize,
    winsize: [u8; 8],
    locked: bool,
    slave_opens: usize,
    slave_was_opened: bool,
    master_open: bool,
    /// TIOCPKT on the master.
    packet: bool,
    /// The status bits a packet-mode read returns next (the slave's
    /// `ctrl.pktstatus`).
    pktstatus: u8,
    /// tcflow(TCOOFF) on the master: its writes wait.
    master_stopped: bool,
    /// The slave's locked termios bits (TIOCSLCKTRMIOS; none at first).
    termios_lock: [u8; TERMIOS_SIZE],
}

impl Default for Pair {
    fn default() -> Self {
        Self::new()
    }
}

impl Pair {
    /// A new pair as `/dev/ptmx` makes it: the master open, the slave
    /// locked (TIOCSPTLCK unlocks it) and not open, a 0x0 window.
    pub fn new() -> Self {
        Pair {
            slave: NTty::new(),
            to_master: VecDeque::new(),
            column: 0,
            winsize: [0; 8],
            locked: true,
            slave_opens: 0,
            slave_was_opened: false,
            master_open: true,
            packet: false,
            pktstatus: 0,
            master_stopped: false,
            termios_lock: [0; TERMIOS_SIZE],
        }
    }

    /// TIOCPKT: packet mode on (status bits cleared when it was off) or
    /// off, as `pty_set_pktmode`.
    pub fn set_packet(&mut self, on: bool) {
        if on && !self.packet {
            self.pktstatus = 0;
        }
        self.packet = on;
    }

    /// TIOCGPKT: whether packet mode is on.
    pub fn packet(&self) -> bool {
        self.packet
    }

    /// Whether a packet-mode status byte waits for the master (its poll
    /// shows POLLPRI and POLLIN).
    pub fn status_pending(&self) -> bool {
        self.packet && self.pktstatus != 0
    }

    /// Records status bits for a packet-mode master (nothing when packet
    /// mode is off, as Linux's checks of `link->ctrl.packet`).
    fn note(&mut self, set: u8, clear: u8) {
        if self.packet {
            self.pktstatus = (self.pktstatus & !clear) | set;
        }
    }

    /// STOP or START when the slave's output changed from `was_stopped`
    /// (`pty_stop`, `pty_start`).
    fn note_flow(&mut self, was_stopped: bool) {
        match (was_stopped, self.slave.output_stopped()) {
            (false, true) => self.note(TIOCPKT_STOP, TIOCPKT_START),
            (true, false) => self.note(TIOCPKT_START, TIOCPKT_STOP),
            _ => {}
        }
    }

    /// Whether the slave's termios has ^S/^Q flow control as `pty_set_termios`
    /// sees it (IXON with the default STOP and START characters).
    fn dostop(&self) -> bool {
        use crate::{IXON, VSTART, VSTOP};
        self.slave.iflag() & IXON != 0 && self.slave.cc(VSTOP) == 0x13 && self.slave.cc(VSTART) == 0x11
    }

    /// The slave's line discipline (termios, read state).
    pub fn slave(&self) -> &NTty {
        &self.slave
    }

    /// The slave's line discipline, to read from it.
    pub fn slave_mut(&mut self) -> &mut NTty {
        &mut self.slave
    }

    fn sink(&mut self) -> (&mut NTty, ToMaster<'_>) {
        let oflag = self.slave.oflag();
        (&mut self.slave, ToMaster { buf: &mut self.to_master, oflag, column: &mut self.column })
    }

    /// TIOCSPTLCK with 0.
    pub fn unlock(&mut self) {
        self.locked = false;
    }

    /// TIOCSPTLCK with non-zero.
    pub fn lock(&mut self) {
        self.locked = true;
    }

    /// TIOCGPTLCK.
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// An open(2) of the slave: `Err(())` (Linux's `EIO`) while locked
    /// or after the master was closed.
    #[allow(clippy::result_unit_err)]
    pub fn open_slave(&mut self) -> Result<(), ()> {
        if self.locked || !self.master_open {
            return Err(());
        }
        self.slave_opens += 1;
        self.slave_was_opened = true;
        Ok(())
    }

    /// The last close of one slave open file.
    pub fn close_slave(&mut self) {
        self.slave_opens = self.slave_opens.saturating_sub(1);
    }

    /// The master's close: the slave is hung up.
    pub fn close_master(&mut self) {
        self.master_open = false;
    }

    /// Whether the master was closed (the slave reads 0, writes `EIO`).
    pub fn hung_up(&self) -> bool {
        !self.master_open
    }

    /// Whether the slave is open anywhere.
    pub fn slave_open(&self) -> bool {
        self.slave_opens > 0
    }

    /// Whether the slave was opened and every holder closed it (the
    /// master reads `EIO` once drained, polls POLLHUP).
    pub fn slave_closed(&self) -> bool {
        self.slave_was_opened && self.slave_opens == 0
    }

    /// The window size (TIOCGWINSZ on either side).
    pub fn winsize(&self) -> [u8; 8] {
        self.winsize
    }

    /// Sets the window size; true when it changed (SIGWINCH to the
    /// slave's foreground group).
    pub fn set_winsize(&mut self, w: &[u8]) -> bool {
        let n = w.len().min(8);
        let changed = self.winsize[..n] != w[..n];
        self.winsize[..n].copy_from_slice(&w[..n]);
        changed
    }

    /// The slave's termios lock (TIOCGLCKTRMIOS).
    pub fn termios_lock(&self) -> [u8; TERMIOS_SIZE] {
        self.termios_lock
    }

    /// Sets the slave's termios lock (TIOCSLCKTRMIOS, the caller checked
    /// CAP_SYS_ADMIN): the bits and control characters set in it keep
    /// their value through later [`Pair::set_termios`] calls.
    pub fn set_termios_lock(&mut self, lock: &[u8; TERMIOS_SIZE]) {
        self.termios_lock = *lock;
    }

    /// Sets the slave's termios (TCSETS on either side).
    ///
    /// A packet-mode master learns of a change of ^S/^Q flow control
    /// (DOSTOP or NOSTOP), of any change with EXTPROC set before or after
    /// (IOCTL), and of output restarted by IXON going off (START).
    /// Bits locked by [`Pair::set_termios_lock`] keep their value.
    pub fn set_termios(&mut self, b: &[u8]) {
        let (old_flow, old_ext) = (self.dostop(), self.slave.lflag() & EXTPROC != 0);
        let was_stopped = self.slave.output_stopped();
        let old = self.slave.termios();
        let mut new = old;
        let n = b.len().min(TERMIOS_SIZE);
        new[..n].copy_from_slice(&b[..n]);
        let new = crate::apply_termios_lock(&old, &new, &self.termios_lock);
        let (ldisc, mut out) = self.sink();
        ldisc.set_termios(&new, &mut out);
        self.note_flow(was_stopped);
        let new_flow = self.dostop();
        if old_flow != new_flow {
            let bit = if new_flow { TIOCPKT_DOSTOP } else { TIOCPKT_NOSTOP };
            self.note(bit, TIOCPKT_DOSTOP | TIOCPKT_NOSTOP);
        }
        if old_ext || self.slave.lflag() & EXTPROC != 0 {
            self.note(TIOCPKT_IOCTL, 0);
        }
    }

    /// Typed input from the master: each byte through the slave's line
    /// discipline (echoes back to the master); `signal` gets each signal
    /// character's signal for the slave's foreground group. Takes bytes
    /// while the slave's unread input is under [`BUF_SIZE`] (a writer
    /// waits beyond, as Linux's flow of a full pty).
    /// Takes nothing while the master's output is stopped
    /// ([`Pair::master_flow_off`]).
    pub fn master_write(&mut self, data: &[u8], mut signal: impl FnMut(TtySignal)) -> usize {
        let mut n = 0;
        for &b in data {
            if !self.master_writable() {
                break;
            }
            if let Some(s) = self.slave_input(b) {
                signal(s);
            }
            n += 1;
        }
        n
    }

    /// One byte into the slave's line discipline, with the packet-mode
    /// status it causes: a signal character without NOFLSH flushes both
    /// ways (`isig`: FLUSHREAD and FLUSHWRITE), ^S and ^Q stop and start.
    fn slave_input(&mut self, b: u8) -> Option<TtySignal> {
        let was_stopped = self.slave.output_stopped();
        let (ldisc, mut out) = self.sink();
        let sig = ldisc.input(b, &mut out);
        if sig.is_some() && self.slave.lflag() & crate::NOFLSH == 0 {
            self.note(TIOCPKT_FLUSHREAD | TIOCPKT_FLUSHWRITE, 0);
        }
        self.note_flow(was_stopped);
        sig
    }

    /// TIOCSTI on the slave: `b` is received as if typed (Linux's
    /// `receive_buf`, whatever the room), its signal returned.
    pub fn push_slave_input(&mut self, b: u8) -> Option<TtySignal> {
        self.slave_input(b)
    }

    /// TIOCSTI on the master: `b` is what the master reads next after
    /// what is there (the master's line discipline is raw); false when
    /// there was no room.
    pub fn push_master_input(&mut self, b: u8) -> bool {
        if self.to_master.len() >= MASTER_BUF || self.to_master.try_reserve(1).is_err() {
            return false;
        }
        self.to_master.push_back(b);
        true
    }

    /// tcflow(TCIOFF/TCION) on the master: `tty_send_xchar` writes the
    /// character to the slave, whatever the room; nothing while the
    /// master's output is stopped by tcflow(TCOOFF) (its `start_tty`
    /// does not restart a `tco_stopped` terminal, so the write finds it
    /// stopped).
    pub fn master_send_xchar(&mut self, b: u8) -> Option<TtySignal> {
        if self.master_stopped {
            return None;
        }
        self.slave_input(b)
    }

    /// tcflow(TCOOFF) on the master: its writes wait until
    /// [`Pair::master_flow_on`].
    pub fn master_flow_off(&mut self) {
        self.master_stopped = true;
    }

    /// tcflow(TCOON) on the master.
    pub fn master_flow_on(&mut self) {
        self.master_stopped = false;
    }

    /// Whether a master write would take a byte now.
    pub fn master_writable(&self) -> bool {
        !self.master_stopped && self.slave.available() < BUF_SIZE
    }

    /// One master read (`buf` not empty): the slave's processed output,
    /// raw. In packet mode, as `n_tty_read`: pending status bits come
    /// alone as one byte (and are cleared), else data comes after a
    /// [`TIOCPKT_DATA`] byte.
    pub fn master_read(&mut self, buf: &mut [u8]) -> MasterRead {
        if buf.is_empty() {
            return MasterRead::Bytes(0);
        }
        if self.status_pending() {
            buf[0] = self.pktstatus;
            self.pktstatus = 0;
            return MasterRead::Bytes(1);
        }
        if self.to_master.is_empty() {
            return if self.slave_closed() { MasterRead::SlaveClosed } else { MasterRead::Empty };
        }
        let buf = if self.packet {
            buf[0] = TIOCPKT_DATA;
            &mut buf[1..]
        } else {
            buf
        };
        let n = buf.len().min(self.to_master.len());
        for (d, s) in buf.iter_mut().zip(self.to_master.drain(..n)) {
            *d = s;
        }
        MasterRead::Bytes(n + usize::from(self.packet))
    }

    /// Whether a master read returns now: data or a packet-mode status.
    pub fn master_readable(&self) -> bool {
        !self.to_master.is_empty() || self.status_pending()
    }

    /// Bytes the master can read (FIONREAD on the master).
    pub fn master_available(&self) -> usize {
        self.to_master.len()
    }

    /// A slave write: processed into the master's input while there is
    /// room and output is not stopped (^S on the slave's IXON, held up to
    /// 4 KiB as on a console). Returns the bytes taken (0: wait).
    pub fn slave_write(&mut self, data: &[u8]) -> usize {
        if self.slave.output_stopped() {
            let (ldisc, mut out) = self.sink();
            return ldisc.write(data, &mut out);
        }
        let (_, mut out) = self.sink();
        let mut n = 0;
        for &b in data {
            if !out.put(b) {
                break;
            }
            n += 1;
        }
        n
    }

    /// Whether a slave write would take bytes now.
    pub fn slave_writable(&self) -> bool {
        // room for a byte and its CR
        if self.slave.output_stopped() {
            self.slave.write_room()
        } else {
            self.to_master.len() + 2 <= MASTER_BUF
        }
    }

    /// tcflow(TCOOFF) on the slave: its output stops until [`Pair::flow_on`].
    pub fn flow_off(&mut self) {
        let was_stopped = self.slave.output_stopped();
        self.slave.flow_off();
        self.note_flow(was_stopped);
    }

    /// tcflow(TCOON) on the slave: held output goes to the master.
    pub fn flow_on(&mut self) {
        let was_stopped = self.slave.output_stopped();
        let (ldisc, mut out) = self.sink();
        ldisc.flow_on(&mut out);
        self.note_flow(was_stopped);
    }

    /// tcflush(TCIFLUSH) on the slave (and TCSETSF from either side):
    /// the slave's typed input goes (`n_tty_flush_buffer`; FLUSHREAD for
    /// a packet-mode master).
    pub fn flush_slave_input(&mut self) {
        self.slave.flush_input();
        self.note(TIOCPKT_FLUSHREAD, 0);
    }

    /// tcflush(TCOFLUSH) on the slave (`pty_flush_buffer`): output not
    /// yet passed on (held while stopped) goes, FLUSHWRITE for a
    /// packet-mode master. What the master can read already stays, as in
    /// Linux, whose flush reaches only the master's flip buffer.
    pub fn flush_slave_output(&mut self) {
        self.slave.flush_output();
        self.note(TIOCPKT_FLUSHWRITE, 0);
    }

    /// tcflush(TCIFLUSH) on the master: what the slave wrote and the
    /// master has not read goes (no packet status: the slave is not in
    /// packet mode).
    pub fn flush_master_input(&mut self) {
        self.to_master.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn open() -> Pair {
        let mut p = Pair::new();
        p.unlock();
        p.open_slave().unwrap();
        p
    }

    fn drain(p: &mut Pair) -> Vec<u8> {
        let mut buf = [0u8; 256];
        let mut got = Vec::new();
        while let MasterRead::Bytes(n) = p.master_read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        got
    }

    fn set_oflag(p: &mut Pair, o: u32) {
        let mut t = p.slave().termios();
        t[4..8].copy_from_slice(&o.to_le_bytes());
        p.set_termios(&t);
    }

    #[test]
    fn locked_termios_bits_survive_tcsets() {
        let mut p = open();
        assert_eq!(p.termios_lock(), [0; TERMIOS_SIZE]);
        let mut lock = [0u8; TERMIOS_SIZE];
        lock[4..8].copy_from_slice(&0o4u32.to_le_bytes());
        p.set_termios_lock(&lock);
        assert_eq!(p.termios_lock(), lock);
        set_oflag(&mut p, 0);
        let t = p.slave().termios();
        assert_eq!(u32::from_le_bytes([t[4], t[5], t[6], t[7]]), 0o4u32, "OPOST cleared, ONLCR locked on");
        p.set_termios_lock(&[0; TERMIOS_SIZE]);
        set_oflag(&mut p, 0);
        assert_eq!(&p.slave().termios()[4..8], &[0; 4]);
    }

    #[test]
    fn a_locked_slave_does_not_open() {
        let mut p = Pair::new();
        assert!(p.is_locked());
        assert_eq!(p.open_slave(), Err(()));
        p.unlock();
        assert_eq!(p.open_slave(), Ok(()));
        p.lock();
        assert_eq!(p.open_slave(), Err(()));
        p.unlock();
        p.close_master();
        assert_eq!(p.open_slave(), Err(()), "after the master's close");
    }

    #[test]
    fn the_master_reads_eio_once_the_slave_closed_and_drained() {
        let mut p = Pair::new();
        let mut buf = [0u8; 8];
        // never opened: the master waits
        assert_eq!(p.master_read(&mut buf), MasterRead::Empty);
        p.unlock();
        p.open_slave().unwrap();
        p.open_slave().unwrap();
        assert_eq!(p.slave_write(b"bye"), 3);
        p.close_slave();
        assert!(!p.slave_closed(), "one holder left");
        p.close_slave();
        assert!(p.slave_closed());
        assert_eq!(p.master_read(&mut buf), MasterRead::Bytes(3));
        assert_eq!(p.master_read(&mut buf), MasterRead::SlaveClosed);
        // reopened: waiting again
        p.open_slave().unwrap();
        assert_eq!(p.master_read(&mut buf), MasterRead::Empty);
    }

    #[test]
    fn signal_characters_from_the_master_are_returned() {
        let mut p = open();
        let mut sigs = Vec::new();
        assert_eq!(p.master_write(b"ab\x03\x1a\x1c", |s| sigs.push(s)), 5);
        assert_eq!(sigs, [TtySignal::Int, TtySignal::Tstp, TtySignal::Quit]);
        // echoed as ^C ^Z ^\ after "ab"; the line was flushed
        assert_eq!(drain(&mut p), b"ab^C^Z^\\");
        assert_eq!(p.slave().available(), 0);
    }

    #[test]
    fn output_processing_follows_c_oflag() {
        let mut p = open();
        p.slave_write(b"x\ny\r");
        assert_eq!(drain(&mut p), b"x\r\ny\r");
        set_oflag(&mut p, OPOST | OCRNL);
        p.slave_write(b"x\ny\r");
        assert_eq!(drain(&mut p), b"x\ny\n");
        // OCRNL's NL without ONLRET left the column at 1: a fresh pair
        let mut p = open();
        set_oflag(&mut p, OPOST | ONOCR);
        p.slave_write(b"\rab\r\r");
        assert_eq!(drain(&mut p), b"ab\r", "a CR at column 0 is dropped");
        set_oflag(&mut p, ONLCR);
        p.slave_write(b"raw\n");
        assert_eq!(drain(&mut p), b"raw\n", "without OPOST nothing is mapped");
    }

    #[test]
    fn a_full_master_side_stops_the_slave_writer() {
        let mut p = open();
        let big = alloc::vec![b'z'; MASTER_BUF + 100];
        assert_eq!(p.slave_write(&big), MASTER_BUF);
        assert!(!p.slave_writable());
        assert_eq!(p.slave_write(b"more"), 0);
        let mut buf = [0u8; 100];
        assert_eq!(p.master_read(&mut buf), MasterRead::Bytes(100));
        assert!(p.slave_writable());
        // a newline needs room for its CR too
        assert_eq!(p.slave_write(&[b'\n'; 60]), 50);
    }

    #[test]
    fn unread_slave_input_stops_the_master_writer() {
        let mut p = open();
        let mut t = p.slave().termios();
        t[12..16].copy_from_slice(&0u32.to_le_bytes()); // raw, no echo
        p.set_termios(&t);
        let big = alloc::vec![b'k'; BUF_SIZE + 10];
        assert_eq!(p.master_write(&big, |_| {}), BUF_SIZE);
        assert!(!p.master_writable());
        let mut buf = [0u8; 10];
        assert_eq!(p.slave_mut().take(&mut buf), Some(10));
        assert_eq!(p.master_write(&big, |_| {}), 10);
    }

    #[test]
    fn stop_on_the_slave_holds_its_output() {
        let mut p = open();
        assert_eq!(p.master_write(b"\x13", |_| {}), 1);
        assert_eq!(p.slave_write(b"held\n"), 5);
        assert_eq!(drain(&mut p), b"");
        p.master_write(b"\x11", |_| {});
        assert_eq!(drain(&mut p), b"held\r\n");
    }

    #[test]
    fn window_size_changes_are_reported() {
        let mut p = open();
        let w = [24, 0, 80, 0, 0, 0, 0, 0];
        assert!(p.set_winsize(&w));
        assert!(!p.set_winsize(&w));
        assert_eq!(p.winsize(), w);
    }

    #[test]
    fn flushes_drop_each_direction() {
        let mut p = open();
        p.master_write(b"typed", |_| {});
        p.slave_write(b"shown");
        p.flush_slave_input();
        assert_eq!(p.slave().pending_line(), b"");
        // the slave's TCOFLUSH leaves what the master can read (the echo
        // of "typed" and "shown")
        p.flush_slave_output();
        assert_eq!(p.master_available(), 10);
        p.flush_master_input();
        assert_eq!(p.master_available(), 0);
    }

    fn packet() -> Pair {
        let mut p = open();
        p.set_packet(true);
        p
    }

    fn read_all(p: &mut Pair) -> Vec<u8> {
        let mut buf = [0u8; 64];
        match p.master_read(&mut buf) {
            MasterRead::Bytes(n) => buf[..n].to_vec(),
            other => panic!("master read {other:?}"),
        }
    }

    #[test]
    fn packet_mode_puts_a_data_byte_in_front() {
        let mut p = packet();
        assert!(p.packet());
        p.slave_write(b"ab");
        assert_eq!(read_all(&mut p), b"\0ab");
        // a one-byte read gets the data byte alone, as n_tty_read
        p.slave_write(b"c");
        let mut one = [9u8; 1];
        assert_eq!(p.master_read(&mut one), MasterRead::Bytes(1));
        assert_eq!(one[0], TIOCPKT_DATA);
        assert_eq!(read_all(&mut p), b"\0c");
        let mut buf = [0u8; 4];
        assert_eq!(p.master_read(&mut buf), MasterRead::Empty);
        p.set_packet(false);
        p.slave_write(b"d");
        assert_eq!(read_all(&mut p), b"d");
    }

    #[test]
    fn packet_status_comes_alone_before_data() {
        let mut p = packet();
        p.slave_write(b"x");
        p.flush_slave_input();
        p.flush_slave_output();
        assert!(p.status_pending());
        assert!(p.master_readable());
        assert_eq!(read_all(&mut p), [TIOCPKT_FLUSHREAD | TIOCPKT_FLUSHWRITE]);
        assert!(!p.status_pending());
        assert_eq!(read_all(&mut p), b"\0x");
        // the status waits even after the slave's close
        p.flow_off();
        p.close_slave();
        assert_eq!(read_all(&mut p), [TIOCPKT_STOP]);
        let mut buf = [0u8; 4];
        assert_eq!(p.master_read(&mut buf), MasterRead::SlaveClosed);
    }

    #[test]
    fn packet_status_of_flow_control() {
        let mut p = packet();
        // ^S then ^Q typed at the master: the last one wins
        p.master_write(b"\x13", |_| {});
        assert_eq!(read_all(&mut p), [TIOCPKT_STOP]);
        p.master_write(b"\x13", |_| {});
        assert!(!p.status_pending(), "no change, no status");
        p.master_write(b"\x11", |_| {});
        assert_eq!(read_all(&mut p), [TIOCPKT_START]);
        p.flow_off();
        p.flow_on();
        assert_eq!(read_all(&mut p), [TIOCPKT_START]);
        // IXON off: NOSTOP; on again: DOSTOP
        let mut t = p.slave().termios();
        let iflag = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        t[0..4].copy_from_slice(&(iflag & !crate::IXON).to_le_bytes());
        p.set_termios(&t);
        assert_eq!(read_all(&mut p), [TIOCPKT_NOSTOP]);
        p.set_termios(&t);
        assert!(!p.status_pending(), "the same termios again");
        t[0..4].copy_from_slice(&iflag.to_le_bytes());
        p.set_termios(&t);
        assert_eq!(read_all(&mut p), [TIOCPKT_DOSTOP]);
        // another STOP character is not ^S/^Q flow control
        t[17 + crate::VSTOP] = 0x10;
        p.set_termios(&t);
        assert_eq!(read_all(&mut p), [TIOCPKT_NOSTOP]);
    }

    #[test]
    fn packet_status_of_a_signal_character() {
        let mut p = packet();
        p.master_write(b"\x13", |_| {});
        let mut sigs = Vec::new();
        p.master_write(b"\x03", |s| sigs.push(s));
        assert_eq!(sigs, [TtySignal::Int]);
        // isig flushed both ways and IXON restarted the output
        assert_eq!(read_all(&mut p), [TIOCPKT_FLUSHREAD | TIOCPKT_FLUSHWRITE | TIOCPKT_START]);
        assert_eq!(read_all(&mut p), b"\0^C");
        // with NOFLSH: no flush
        let mut t = p.slave().termios();
        let lflag = u32::from_le_bytes([t[12], t[13], t[14], t[15]]) | crate::NOFLSH;
        t[12..16].copy_from_slice(&lflag.to_le_bytes());
        p.set_termios(&t);
        p.master_write(b"\x03", |_| {});
        assert_eq!(read_all(&mut p), b"\0^C");
    }

    #[test]
    fn packet_mode_off_records_nothing_and_on_starts_clean() {
        let mut p = open();
        p.flush_slave_input();
        p.flow_off();
        assert!(!p.status_pending());
        p.set_packet(true);
        p.flow_on();
        p.set_packet(true);
        assert_eq!(read_all(&mut p), [TIOCPKT_START], "on while on keeps the bits");
        p.flow_off();
        p.set_packet(false);
        p.set_packet(true);
        assert!(!p.status_pending(), "off then on clears them");
    }

    #[test]
    fn master_flow_control_and_pushed_input() {
        let mut p = open();
        p.master_flow_off();
        assert!(!p.master_writable());
        assert_eq!(p.master_write(b"a", |_| {}), 0);
        // TCIOFF from a stopped master is lost; from a running one a raw
        // slave reads it
        let mut t = p.slave().termios();
        t[0..4].copy_from_slice(&0u32.to_le_bytes());
        t[12..16].copy_from_slice(&0u32.to_le_bytes());
        p.set_termios(&t);
        assert_eq!(p.master_send_xchar(0x11), None);
        p.master_flow_on();
        assert_eq!(p.master_send_xchar(0x13), None);
        assert_eq!(p.master_write(b"a", |_| {}), 1);
        let mut buf = [0u8; 4];
        assert_eq!(p.slave_mut().take(&mut buf), Some(2));
        assert_eq!(&buf[..2], b"\x13a");
        // TIOCSTI: into the slave's input, and into what the master reads
        assert_eq!(p.push_slave_input(b'z'), None);
        assert_eq!(p.slave_mut().take(&mut buf), Some(1));
        assert_eq!(buf[0], b'z');
        p.slave_write(b"1");
        assert!(p.push_master_input(b'2'));
        assert_eq!(read_all(&mut p), b"12");
    }
}
