//! Character devices: the serial console (`/dev/console`, `/dev/ttyS0`,
//! `/dev/tty`), `/dev/null`, `/dev/zero`, `/dev/full`, `/dev/random` and
//! `/dev/urandom`; `/dev/kmsg` is `crate::kmsg`.

use crate::uthread::UThread;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use linux_abi::args::{UserPtr, UserSlice};
use linux_abi::{Errno, Result};
use vfs::{File, Inode, Stat};

/// What a device node is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The serial terminal; `jobctl` is false when opened as
    /// `/dev/console`, which Linux exempts from SIGTTIN/SIGTTOU.
    Console {
        jobctl: bool,
    },
    Null,
    Zero,
    Full,
    Random,
}

/// An open device.
pub struct Device {
    kind: Kind,
    inode: Option<Arc<Inode>>,
    flags: AtomicU32,
    /// F_SETOWN/F_SETSIG/O_ASYNC state of the description.
    owner: vfs::FileOwner,
}

/// Opens the driver for `(major, minor)`; `ENXIO` when there is none (or
/// for `/dev/tty` without a controlling terminal). `noctty`: open(2) had
/// `O_NOCTTY` (else a session leader may acquire the terminal).
pub fn open(inode: Arc<Inode>, major: u32, minor: u32, flags: u32, noctty: bool) -> Result<Arc<dyn File>> {
    if major == crate::blk::VIRTBLK_MAJOR && inode.file_type() == vfs::FileType::BlockDevice {
        return crate::blk::open(inode, minor, flags);
    }
    let kind = match (major, minor) {
        (1, 3) => Kind::Null,
        (1, 5) => Kind::Zero,
        (1, 7) => Kind::Full,
        (1, 8) | (1, 9) => Kind::Random,
        (1, 11) => return crate::kmsg::open(inode, flags),
        (5, 0) => {
            if let Some(pty) = crate::pty::open_ctty(inode.clone(), flags) {
                return pty;
            }
            crate::console::open_ctty()?;
            Kind::Console { jobctl: true }
        }
        (5, 1) => Kind::Console { jobctl: false },
        (5, 2) => return crate::pty::open_master(inode, flags),
        (crate::pty::SLAVE_MAJOR, n) => return crate::pty::open_slave(n, inode, flags, noctty),
        (4, 64) => {
            if !noctty {
                crate::console::open_acquire();
            }
            Kind::Console { jobctl: true }
        }
        _ => return Err(Errno::ENXIO),
    };
    Ok(Arc::new(Device {
        owner: vfs::FileOwner::new(),
        kind,
        inode: Some(inode),
        flags: AtomicU32::new(flags),
    }))
}

/// The console as an open file without a device node (init's fds 0-2 when
/// the initramfs has no /dev/console).
pub fn console() -> Arc<dyn File> {
    Arc::new(Device {
        owner: vfs::FileOwner::new(),
        kind: Kind::Console { jobctl: false },
        inode: None,
        flags: AtomicU32::new(vfs::O_RDWR),
    })
}

/// Whether `file` is a terminal.
pub fn is_tty(file: &dyn File) -> bool {
    file.stat().is_ok_and(|s| {
        s.mode & vfs::S_IFMT == vfs::S_IFCHR
            && [vfs::makedev(5, 0), vfs::makedev(5, 1), vfs::makedev(4, 64)].contains(&s.rdev)
    })
}

/// Pseudo-random bytes (not cryptographic): each call takes a seed from a
/// shared splitmix64 sequence (one atomic add, no lock: a megabyte of
/// getrandom on one CPU kept the others spinning on a lock), mixes in
/// the TSC, and fills `buf` from its own xorshift64 eight bytes a step.
pub fn random_bytes(buf: &mut [u8]) {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut z = SEQ.fetch_add(GOLDEN, Ordering::Relaxed).wrapping_add(GOLDEN) ^ arch_x86_64::time::rdtsc();
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    let mut s = (z ^ (z >> 31)) | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        c.copy_from_slice(&next().to_le_bytes());
    }
    let rest = chunks.into_remainder();
    let last = next().to_le_bytes();
    rest.copy_from_slice(&last[..rest.len()]);
}

impl File for Device {
    fn owner(&self) -> &vfs::FileOwner {
        &self.owner
    }

    fn fasync(&self) -> bool {
        is_tty(self)
    }

    fn unread(&self, data: &[u8]) {
        // the others make their bytes up or have none to give back
        if let Kind::Console { .. } = self.kind {
            crate::console::unread(data);
        }
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        match self.kind {
            Kind::Null => Ok(0),
            Kind::Zero | Kind::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            Kind::Random => {
                random_bytes(buf);
                Ok(buf.len())
            }
            Kind::Console { jobctl } => {
                crate::console::read(buf, self.flags.load(Ordering::Relaxed) & vfs::O_NONBLOCK != 0, jobctl)
            }
        }
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        match self.kind {
            Kind::Null | Kind::Zero | Kind::Random => Ok(buf.len()),
            Kind::Full => Err(Errno::ENOSPC),
            Kind::Console { jobctl } => {
                if jobctl {
                    crate::console::check_write()?;
                }
                crate::console::write_user(buf, self.flags.load(Ordering::Relaxed) & vfs::O_NONBLOCK != 0)
            }
        }
    }

    /// The memory devices have no file position to read at (Linux's
    /// char devices keep FMODE_PREAD/FMODE_PWRITE: pread/pwrite at any
    /// offset act as read/write); a terminal is nonseekable: `ESPIPE`.
    fn pread(&self, buf: &mut [u8], _offset: u64) -> Result<usize> {
        match self.kind {
            Kind::Console { .. } => Err(Errno::ESPIPE),
            _ => self.read(buf),
        }
    }

    fn pwrite(&self, buf: &[u8], _offset: u64) -> Result<usize> {
        match self.kind {
            Kind::Console { .. } => Err(Errno::ESPIPE),
            _ => self.write(buf),
        }
    }

    fn lseek(&self, _offset: i64, _whence: u32) -> Result<u64> {
        match self.kind {
            Kind::Console { .. } => Err(Errno::ESPIPE),
            _ => Ok(0),
        }
    }

    fn stat(&self) -> Result<Stat> {
        if let Some(i) = &self.inode {
            return Ok(i.stat());
        }
        Ok(Stat::default()
            .with_mode(vfs::S_IFCHR | 0o620)
            .with_rdev(vfs::makedev(5, 1))
            .with_nlink(1)
            .with_blksize(1024))
    }

    crate::eventfd::status_flags_methods!();

    fn inode(&self) -> Option<&Arc<Inode>> {
        self.inode.as_ref()
    }

    fn poll(&self) -> u32 {
        match self.kind {
            Kind::Console { .. } => crate::console::poll(),
            _ => vfs::POLLIN | vfs::POLLOUT | vfs::POLLRDNORM | vfs::POLLWRNORM,
        }
    }

    fn wait_queue(&self) -> Option<Arc<dyn vfs::WaitQueue>> {
        match self.kind {
            Kind::Console { .. } => Some(crate::console::wait_queue()),
            // always ready
            _ => None,
        }
    }
}

const TCGETS: u32 = 0x5401;
const TCSETS: u32 = 0x5402;
const TCSETSW: u32 = 0x5403;
const TCSETSF: u32 = 0x5404;
const TIOCGPGRP: u32 = 0x540f;
const TIOCSPGRP: u32 = 0x5410;
const TIOCGWINSZ: u32 = 0x5413;
const TIOCSWINSZ: u32 = 0x5414;
const FIONREAD: u32 = 0x541b;
const TIOCSCTTY: u32 = 0x540e;
const TIOCNOTTY: u32 = 0x5422;
const TIOCGSID: u32 = 0x5429;
const TCFLSH: u32 = 0x540b;
const TCXONC: u32 = 0x540a;
use crate::pty::{TCGETA, TCSBRK, TCSBRKP, TCSETA, TCSETAF, TCSETAW, TIOCGLCKTRMIOS, TIOCSLCKTRMIOS};

/// Terminal ioctls on the console: termios (kept and used by the console's
/// line discipline), the window size, and job control (controlling
/// terminal, foreground group) with Linux's errnos. `readable`: the file
/// was opened for reading (TIOCSCTTY wants it, unless root).
pub fn tty_ioctl(t: &mut UThread, cmd: u32, arg: u64, readable: bool) -> Result<isize> {
    match cmd {
        TCGETS => {
            t.write_slice(arg, &crate::console::termios())?;
            Ok(0)
        }
        TCSETS | TCSETSW | TCSETSF => {
            crate::console::check_change(signal::SIGTTOU)?;
            let b = t.read_slice(UserSlice::new(arg, crate::console::TERMIOS_SIZE))?;
            crate::console::set_termios(&b);
            Ok(0)
        }
        TCGETA => {
            t.write_slice(arg, &tty::termio_of(&crate::console::termios()))?;
            Ok(0)
        }
        TCSETA | TCSETAW | TCSETAF => {
            crate::console::check_change(signal::SIGTTOU)?;
            let termio: [u8; tty::TERMIO_SIZE] = t.read(UserPtr::new(arg))?;
            if cmd == TCSETAF {
                crate::console::flush_input();
            }
            crate::console::set_termios(&tty::termios_with_termio(&crate::console::termios(), &termio));
            Ok(0)
        }
        TCSBRK | TCSBRKP => {
            // tcdrain: the UART's writes are synchronous, nothing is
            // queued; a break (arg 0) is not sent on this console
            crate::console::check_change(signal::SIGTTOU)?;
            Ok(0)
        }
        TIOCGLCKTRMIOS => {
            t.write_slice(arg, &crate::console::termios_lock())?;
            Ok(0)
        }
        TIOCSLCKTRMIOS => {
            crate::console::set_termios_lock(&crate::pty::termios_lock_arg(t, arg)?);
            Ok(0)
        }
        TIOCGWINSZ => {
            t.write_slice(arg, &crate::console::winsize())?;
            Ok(0)
        }
        TIOCSWINSZ => {
            let b = t.read_slice(UserSlice::new(arg, 8))?;
            crate::console::set_winsize(&b);
            Ok(0)
        }
        TCFLSH => {
            crate::console::check_change(signal::SIGTTOU)?;
            if arg > 2 {
                return Err(Errno::EINVAL);
            }
            if arg != 1 {
                crate::console::flush_input();
            }
            if arg != 0 {
                crate::console::flush_output();
            }
            Ok(0)
        }
        TCXONC => {
            crate::console::check_change(signal::SIGTTOU)?;
            crate::console::tcflow(arg)?;
            Ok(0)
        }
        TIOCGPGRP => {
            let pg = crate::console::foreground()?;
            t.write(UserPtr::<u32>::new(arg), crate::console::pid_seen(t, pg))?;
            Ok(0)
        }
        TIOCSPGRP => {
            // Linux checks the caller's right to change the terminal first
            crate::console::check_change(signal::SIGTTOU)
                .map_err(|e| if e == Errno::EIO { Errno::ENOTTY } else { e })?;
            let b = t.read_slice(UserSlice::new(arg, 4))?;
            let pg = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            crate::console::set_foreground(crate::console::pgrp_from(t, pg))?;
            Ok(0)
        }
        TIOCGSID => {
            let sid = crate::console::session()?;
            t.write(UserPtr::<u32>::new(arg), crate::console::pid_seen(t, sid))?;
            Ok(0)
        }
        TIOCSCTTY => {
            crate::console::set_ctty(arg == 1, readable)?;
            Ok(0)
        }
        TIOCNOTTY => {
            crate::console::release_ctty()?;
            Ok(0)
        }
        FIONREAD => {
            t.write(UserPtr::<u32>::new(arg), crate::console::available() as u32)?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}
