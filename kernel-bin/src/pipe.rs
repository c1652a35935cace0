//! Pipes: a 64 KiB ring shared by a read end and a write end; writes of at
//! most PIPE_BUF bytes are atomic; EPIPE (and SIGPIPE, sent by the caller)
//! once every reader is gone; EOF once every writer is gone. The capacity
//! changes with fcntl(F_SETPIPE_SZ) ([`PipeEnd::set_capacity`]); FIONREAD
//! is [`PipeEnd::available`]. Two event counters (data in, room out) let
//! edge-triggered epoll see every write and every read.
//!
//! Each pipe has one wait queue for both ends, woken on every read, write,
//! capacity change and close: blocked readers (data or EOF), blocked
//! writers (room or no reader left), poll/select over either end and the
//! epoll instances watching either end (through the queue's relays). Only
//! they wake; a sleeper that finds its end still not ready sleeps again.

use crate::sched::WaitQueue;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use linux_abi::{Errno, Result};
use spin::Mutex;
use vfs::{File, Stat};

/// Capacity (Linux's default: 16 pages).
pub const PIPE_CAPACITY: usize = 65536;
/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;

struct Shared {
    buf: Mutex<VecDeque<u8>>,
    /// The capacity in bytes (a power of two, at least one page).
    capacity: AtomicUsize,
    /// Moves on every write and when the last writer goes (the read end's events).
    in_events: AtomicU64,
    /// Moves on every read and when the last reader goes (the write end's events).
    out_events: AtomicU64,
    readers: AtomicUsize,
    writers: AtomicUsize,
    ino: u64,
    /// The sleepers on either end (see the module's text).
    wq: Arc<WaitQueue>,
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
        capacity: AtomicUsize::new(PIPE_CAPACITY),
        in_events: AtomicU64::new(0),
        out_events: AtomicU64::new(0),
        readers: AtomicUsize::new(1),
        writers: AtomicUsize::new(1),
        ino: INO.fetch_add(1, Ordering::Relaxed) as u64,
        wq: Arc::new(WaitQueue::new()),
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

    /// Bytes waiting in the pipe (FIONREAD, from either end).
    pub fn available(&self) -> usize {
        self.shared.buf.lock().len()
    }

    /// The capacity in bytes (F_GETPIPE_SZ).
    pub fn capacity(&self) -> usize {
        self.shared.capacity.load(Ordering::Relaxed)
    }

    /// F_SETPIPE_SZ: rounds `size` up to a power of two of at least a page
    /// (`EINVAL` beyond 2 GiB, as Linux); `EBUSY` when the pipe holds more
    /// than that. Returns the new capacity.
    pub fn set_capacity(&self, size: u64) -> Result<usize> {
        let size = if size > 1 << 31 {
            return Err(Errno::EINVAL);
        } else {
            (size as usize).max(PIPE_BUF).next_power_of_two()
        };
        // Linux charges the pages up front; keep a sane bound here
        if size > 1 << 24 {
            log::info!("F_SETPIPE_SZ {size}: larger than 16 MiB refused: EPERM");
            return Err(Errno::EPERM);
        }
        let q = self.shared.buf.lock();
        if q.len() > size {
            return Err(Errno::EBUSY);
        }
        self.shared.capacity.store(size, Ordering::Relaxed);
        drop(q);
        self.shared.out_events.fetch_add(1, Ordering::SeqCst);
        self.shared.wq.wake_all();
        Ok(size)
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        if self.write {
            self.shared.writers.fetch_sub(1, Ordering::SeqCst);
            self.shared.in_events.fetch_add(1, Ordering::SeqCst);
        } else {
            self.shared.readers.fetch_sub(1, Ordering::SeqCst);
            self.shared.out_events.fetch_add(1, Ordering::SeqCst);
        }
        self.shared.wq.wake_all();
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
                    s.out_events.fetch_add(1, Ordering::SeqCst);
                    s.wq.wake_all();
                    return Ok(n);
                }
            }
            if s.writers.load(Ordering::SeqCst) == 0 {
                return Ok(0);
            }
            if self.nonblock() {
                return Err(Errno::EAGAIN);
            }
            crate::proc::sleep_on(
                current_tid(),
                &[&s.wq],
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
                let room = s.capacity.load(Ordering::Relaxed).saturating_sub(q.len());
                // atomic writes wait for room for all of it
                let n = if left <= PIPE_BUF && room < left { 0 } else { room.min(left) };
                q.extend(&data[done..done + n]);
                n
            };
            if wrote > 0 {
                done += wrote;
                s.in_events.fetch_add(1, Ordering::SeqCst);
                s.wq.wake_all();
                continue;
            }
            if self.nonblock() {
                return if done > 0 { Ok(done) } else { Err(Errno::EAGAIN) };
            }
            let need = left.min(PIPE_BUF);
            if let Err(e) = crate::proc::sleep_on(
                current_tid(),
                &[&s.wq],
                || {
                    s.capacity.load(Ordering::Relaxed).saturating_sub(s.buf.lock().len()) >= need
                        || s.readers.load(Ordering::SeqCst) == 0
                },
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
            // as Linux: writable while a page is free, POLLERR once every
            // reader is gone (with POLLOUT when not full)
            let mut r = 0;
            if s.capacity.load(Ordering::Relaxed).saturating_sub(len) >= PIPE_BUF {
                r |= vfs::POLLOUT | vfs::POLLWRNORM;
            }
            if s.readers.load(Ordering::SeqCst) == 0 {
                r |= vfs::POLLERR;
            }
            r
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

    fn ioctl(&self, _cmd: u32, _arg: usize) -> Result<isize> {
        // FIONREAD needs a user copy: the syscall layer answers it
        Err(Errno::ENOTTY)
    }

    fn event_count(&self) -> u64 {
        if self.write {
            self.shared.out_events.load(Ordering::SeqCst)
        } else {
            self.shared.in_events.load(Ordering::SeqCst)
        }
    }

    fn wait_queue(&self) -> Option<Arc<dyn vfs::WaitQueue>> {
        Some(self.shared.wq.clone())
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, flags: u32) {
        let keep = self.flags.load(Ordering::Relaxed) & !vfs::SETFL_MASK;
        self.flags.store(keep | (flags & vfs::SETFL_MASK), Ordering::Relaxed);
    }
}
