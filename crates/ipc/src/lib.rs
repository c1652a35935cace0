//! Where processes meet, without the kernel around it: the pipe ring
//! ([`pipe`], after fs/pipe.c), futex queues ([`futex`], after
//! kernel/futex/), an IPC namespace's System V id tables and limits
//! ([`sysv`], after ipc/util.c and ipc/namespace.c), semaphore sets
//! ([`sem`], after ipc/sem.c), message queues ([`msg`], after
//! ipc/msg.c) and a POSIX message queue with its `mq_notify` rules
//! ([`mqueue`], after ipc/mqueue.c), and the [`budget`] System V sets and
//! queues take their memory from.
//!
//! All are data structures the kernel keeps under its own locks; this
//! crate decides what a write, a read, a wake or a requeue does to them
//! and with which errno, and hands back what the kernel must act on (the
//! bytes taken, the waiters to wake). Sleeping, waking, user copies and
//! the memory a page lives in are the kernel's, behind small traits
//! ([`pipe::PageAlloc`]) or generic tokens ([`futex::Queues`]' `W`).
//!
//! # Locks
//!
//! None here: every mutating method takes `&mut self`. The kernel holds
//! its lock around a call and wakes the tokens it got back after
//! unlocking.
//!
//! ```
//! use ipc::pipe::{Ring, PIPE_BUF};
//! use ipc::testing::HeapPages;
//! let mut r = Ring::new(HeapPages::default());
//! assert_eq!(r.try_write(&[7u8; PIPE_BUF], false), Ok(PIPE_BUF));
//! let mut buf = [0u8; 10];
//! assert_eq!(r.take(&mut buf), 10);
//! assert_eq!(r.len(), PIPE_BUF - 10);
//!
//! use ipc::futex::{Key, Queues};
//! let mut q = Queues::new();
//! let k = Key::new(1, 0x1000, None);
//! q.enqueue(k, u32::MAX, "waiter").unwrap();
//! let mut woken = Vec::new();
//! assert_eq!(q.wake(k, 1, u32::MAX, |w| woken.push(w)), 1);
//! assert_eq!(woken, ["waiter"]);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod budget;
pub mod futex;
pub mod mqueue;
pub mod msg;
pub mod pipe;
pub mod sem;
pub mod sysv;

/// Software implementations for tests.
#[cfg(feature = "testing")]
pub mod testing {
    use crate::pipe::{PAGE, PageAlloc};
    use alloc::boxed::Box;
    use alloc::vec;

    /// Pipe pages on the heap; `limit` pages at most when set (then
    /// allocation fails, as with memory exhausted). Counts what is live.
    #[derive(Default, Debug)]
    pub struct HeapPages {
        /// How many more pages may be allocated (`None`: any number).
        pub limit: Option<usize>,
        /// Pages allocated so far.
        pub allocated: usize,
    }

    impl HeapPages {
        /// At most `n` page allocations succeed.
        pub fn with_limit(n: usize) -> Self {
            HeapPages { limit: Some(n), allocated: 0 }
        }
    }

    impl PageAlloc for HeapPages {
        type Page = Box<[u8]>;
        fn alloc(&mut self) -> Option<Box<[u8]>> {
            if let Some(l) = &mut self.limit {
                if *l == 0 {
                    return None;
                }
                *l -= 1;
            }
            self.allocated += 1;
            Some(vec![0u8; PAGE].into_boxed_slice())
        }
        fn read(page: &Box<[u8]>, offset: usize, buf: &mut [u8]) {
            buf.copy_from_slice(&page[offset..offset + buf.len()]);
        }
        fn write(page: &mut Box<[u8]>, offset: usize, data: &[u8]) {
            page[offset..offset + data.len()].copy_from_slice(data);
        }
    }
}

// The README's example runs as a doctest too (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
