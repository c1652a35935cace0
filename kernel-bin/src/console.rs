//! The serial console as a terminal: output straight to the UART, input
//! polled from it into a line buffer (canonical mode with echo, erase and
//! kill; raw mode when ICANON is off).

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use linux_abi::{Errno, Result};
use process::pid::Pid;
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
    foreground: Option<Pid>,
}

const ISIG: u32 = 0o1;
const ICANON: u32 = 0o2;
const ECHO: u32 = 0o10;

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
        foreground: None,
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
            if l & ECHO != 0 {
                write(&[b'^', b + 64, b'\n']);
            }
            Some((sig, t.foreground))
        });
        if let Some((sig, fg)) = signal {
            if let Some(pg) = fg {
                let _ = crate::proc::table().kill(1, -(pg as i32), sig, &crate::proc::Hooks);
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
pub fn read(buf: &mut [u8], nonblock: bool) -> Result<usize> {
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

/// Sets the window size.
pub fn set_winsize(b: &[u8]) {
    with(|t| {
        let n = b.len().min(8);
        t.winsize[..n].copy_from_slice(&b[..n]);
    });
}

/// The foreground process group.
pub fn foreground() -> Option<Pid> {
    with(|t| t.foreground)
}

/// Sets the foreground process group.
pub fn set_foreground(pg: Pid) {
    with(|t| t.foreground = Some(pg));
}
