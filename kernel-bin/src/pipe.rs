//! Pipes: a 64 KiB ring shared by a read end and a write end; writes of at
//! most PIPE_BUF bytes are atomic; EPIPE (and SIGPIPE, sent by the caller)
//! once every reader is gone; EOF once every writer is gone.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use linux_abi::{Errno, Result};
use spin::Mutex;
use vfs::{File, Stat};

/// Capacity (Linux's default: 16 pages).
pub const PIPE_CAPACITY: usize = 65536;
/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;

struct Shared {
    buf: Mutex<VecDeque<u8>>,
    readers: AtomicUsize,
    writers: AtomicUsize,
    ino: u64,
}

/// One end of a pipe.
pub struct PipeEnd {
    shared: Arc<Shared>,
    write: bool,
    flags: AtomicU32,
}

/// A new pipe: (read end, write end). `nonblock` is `O_NONBLOCK` or 0.
pub fn pipe(nonblock: u32) -> (Arc<dyn File>, Arc<dyn File>) {
    static INO: AtomicUsize = AtomicUsize::new(1);
    let shared = Arc::new(Shared {
        buf: Mutex::new(VecDeque::new()),
        readers: AtomicUsize::new(1),
        writers: AtomicUsize::new(1),
        ino: INO.fetch_add(1, Ordering::Relaxed) as u64,
    });
    let r = PipeEnd { shared: shared.clone(), write: false, flags: AtomicU32::new(vfs::O_RDONLY | nonblock) };
    let w = PipeEnd { shared, write: true, flags: AtomicU32::new(vfs::O_WRONLY | nonblock) };
    (Arc::new(r), Arc::new(w))
}

fn current_tid() -> u32 {
    crate::sched::current().id.load(Ordering::Relaxed) as u32
}

impl PipeEnd {
    fn nonblock(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & vfs::O_NONBLOCK != 0
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        if self.write {
            self.shared.writers.fetch_sub(1, Ordering::SeqCst);
        } else {
            self.shared.readers.fetch_sub(1, Ordering::SeqCst);
        }
        crate::proc::wake_sleepers();
    }
}

impl File for PipeEnd {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if self.write {
            return Err(Errno::EBADF);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let s = &self.shared;
        loop {
            {
                let mut q = s.buf.lock();
                if !q.is_empty() {
                    let n = buf.len().min(q.len());
                    for (i, b) in q.drain(..n).enumerate() {
                        buf[i] = b;
                    }
                    drop(q);
                    crate::proc::wake_sleepers();
                    return Ok(n);
                }
            }
            if s.writers.load(Ordering::SeqCst) == 0 {
                return Ok(0);
            }
            if self.nonblock() {
                return Err(Errno::EAGAIN);
            }
            crate::proc::sleep_interruptible(
                current_tid(),
                || !s.buf.lock().is_empty() || s.writers.load(Ordering::SeqCst) == 0,
                None,
            )?;
        }
    }

    fn write(&self, data: &[u8]) -> Result<usize> {
        if !self.write {
            return Err(Errno::EBADF);
        }
        let s = &self.shared;
        let mut done = 0;
        while done < data.len() {
            if s.readers.load(Ordering::SeqCst) == 0 {
                return if done > 0 { Ok(done) } else { Err(Errno::EPIPE) };
            }
            let left = data.len() - done;
            let wrote = {
                let mut q = s.buf.lock();
                let room = PIPE_CAPACITY - q.len();
                // atomic writes wait for room for all of it
                let n = if left <= PIPE_BUF && room < left { 0 } else { room.min(left) };
                q.extend(&data[done..done + n]);
                n
            };
            if wrote > 0 {
                done += wrote;
                crate::proc::wake_sleepers();
                continue;
            }
            if self.nonblock() {
                return if done > 0 { Ok(done) } else { Err(Errno::EAGAIN) };
            }
            let need = left.min(PIPE_BUF);
            if let Err(e) = crate::proc::sleep_interruptible(
                current_tid(),
                || PIPE_CAPACITY - s.buf.lock().len() >= need || s.readers.load(Ordering::SeqCst) == 0,
                None,
            ) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
        Ok(done)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(Stat {
            mode: vfs::S_IFIFO | 0o600,
            ino: self.shared.ino,
            nlink: 1,
            blksize: PIPE_BUF as i64,
            dev: 0xc,
            ..Stat::default()
        })
    }

    fn poll(&self) -> u32 {
        let s = &self.shared;
        let len = s.buf.lock().len();
        if self.write {
            if s.readers.load(Ordering::SeqCst) == 0 {
                vfs::POLLERR
            } else if PIPE_CAPACITY - len >= PIPE_BUF {
                vfs::POLLOUT | vfs::POLLWRNORM
            } else {
                0
            }
        } else {
            let mut r = 0;
            if len > 0 {
                r |= vfs::POLLIN | vfs::POLLRDNORM;
            }
            if s.writers.load(Ordering::SeqCst) == 0 {
                r |= vfs::POLLHUP;
            }
            r
        }
    }

    fn ioctl(&self, cmd: u32, _arg: usize) -> Result<isize> {
        // FIONREAD needs a user copy: the syscall layer answers it
        let _ = cmd;
        Err(Errno::ENOTTY)
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, flags: u32) {
        let keep = self.flags.load(Ordering::Relaxed) & !vfs::SETFL_MASK;
        self.flags.store(keep | (flags & vfs::SETFL_MASK), Ordering::Relaxed);
    }
}
