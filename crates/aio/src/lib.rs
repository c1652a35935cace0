//! The rules of Linux's native asynchronous I/O (fs/aio.c: io_setup,
//! io_submit, io_getevents, io_cancel, io_destroy), without the kernel
//! around them:
//!
//! - [`ring`]: the completion ring user space maps and reads (`struct
//!   aio_ring` and its `struct io_event`s), how io_setup sizes it
//!   ([`ring::Geometry`]) and the system-wide `aio-nr`/`aio-max-nr`
//!   budget ([`ring::Budget`]);
//! - [`iocb`]: `struct iocb` and the checks io_submit makes of one before
//!   it touches the file;
//! - [`Ring`]: one context's slot accounting: a submission takes a slot
//!   (`EAGAIN` when every slot holds a request in flight or an event not
//!   yet reaped), a completion writes an event at the tail, a reap moves
//!   the head (which user space may move itself, as libaio does);
//! - [`Table`]: the contexts of one address space, by the index the ring's
//!   `id` field holds.
//!
//! The kernel owns the memory of the ring (through [`RingMemory`]), the
//! locks, the files and the sleeping: it asks here what to write where and
//! whether a call must fail.
//!
//! ```
//! use aio::{Ring, ring::Geometry};
//! use aio::testing::VecRing;
//! let g = Geometry::new(1, 2, 65536).unwrap();
//! assert_eq!((g.max_reqs, g.nr_events, g.pages), (1, 127, 1));
//! let mem = VecRing::new(g.pages);
//! let mut ring = Ring::new(&mem, 0, g.nr_events);
//! ring.reserve(&mem).unwrap();
//! ring.complete(&mem, &aio::ring::IoEvent { data: 7, obj: 0x1000, res: 4, res2: 0 });
//! let (start, n) = ring.pending(&mem, 10).unwrap();
//! assert_eq!((start, n), (0, 1));
//! assert_eq!(ring.event(&mem, 0).data, 7);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod iocb;
pub mod ring;
mod slots;
mod table;

pub use slots::Ring;
pub use table::Table;

/// The memory of one context's ring (the pages mapped at the context's
/// address), as the kernel reaches it: byte offsets from the ring's start.
/// User space may write it at any time; nothing read from it is trusted
/// beyond its range.
pub trait RingMemory {
    /// Reads `buf.len()` bytes at `offset`.
    fn read(&self, offset: usize, buf: &mut [u8]);
    /// Writes `data` at `offset`.
    fn write(&self, offset: usize, data: &[u8]);

    /// The little-endian `u32` at `offset`.
    fn read_u32(&self, offset: usize) -> u32 {
        let mut b = [0u8; 4];
        self.read(offset, &mut b);
        u32::from_le_bytes(b)
    }
    /// Writes `v` little-endian at `offset`.
    fn write_u32(&self, offset: usize, v: u32) {
        self.write(offset, &v.to_le_bytes());
    }
}

/// Software implementations for tests: a ring in a byte vector.
#[cfg(feature = "testing")]
pub mod testing {
    use crate::RingMemory;
    use alloc::vec::Vec;
    use core::cell::RefCell;

    /// A ring's pages as a vector (zeroed, as fresh pages).
    #[derive(Debug)]
    pub struct VecRing(RefCell<Vec<u8>>);

    impl VecRing {
        /// `pages` zeroed pages of 4096 bytes.
        pub fn new(pages: usize) -> Self {
            VecRing(RefCell::new(alloc::vec![0; pages * 4096]))
        }
    }

    impl RingMemory for VecRing {
        fn read(&self, offset: usize, buf: &mut [u8]) {
            let m = self.0.borrow();
            buf.copy_from_slice(&m[offset..offset + buf.len()]);
        }
        fn write(&self, offset: usize, data: &[u8]) {
            let mut m = self.0.borrow_mut();
            m[offset..offset + data.len()].copy_from_slice(data);
        }
    }
}
