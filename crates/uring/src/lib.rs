//! The rules of Linux's io_uring (io_uring_setup(2), io_uring_enter(2),
//! io_uring_register(2); Linux 6.1's io_uring/) without the kernel around
//! them:
//!
//! - [`abi`]: `struct io_uring_params`, `struct io_uring_sqe`, `struct
//!   io_uring_cqe`, `struct io_uring_getevents_arg` and the numbers;
//! - [`layout`]: io_uring_setup's sizing ([`layout::Geometry`]: entries
//!   rounded to powers of two, `IORING_SETUP_CQSIZE`/`CLAMP`, the rings'
//!   and SQEs' bytes), the offsets of `struct io_rings` and which region
//!   an mmap offset names;
//! - [`ring`]: the SQ and CQ rings over memory user space may rewrite at
//!   any time ([`ring::Rings`]: the kernel's own head and tail, masked
//!   indices, dropped SQ entries, the bounded overflow list);
//! - [`chain`]: link chains and drains;
//! - [`probe`]: `IORING_REGISTER_PROBE`'s answer.
//!
//! The kernel owns the regions' memory (through [`ring::RingMemory`]), the
//! files, the locks and the sleeping: it asks here where to read and write
//! and what to answer.
//!
//! ```
//! use uring::abi::{Cqe, Params};
//! use uring::layout::{Geometry, field};
//! use uring::ring::{Posted, RingMemory, Rings, SqSlot};
//! use uring::testing::VecMem;
//! let g = Geometry::new(3, &Params::default()).unwrap();
//! assert_eq!((g.sq_entries, g.cq_entries), (4, 8));
//! let mem = VecMem::new(g.rings_len);
//! let mut r = Rings::new(g, &mem, 16);
//! // user space queues SQE 2 and moves the SQ tail
//! mem.write_u32(g.sq_array, 2);
//! mem.write_u32(field::SQ_TAIL, 1);
//! assert_eq!(r.next_sqe(&mem), SqSlot::Index(2));
//! assert_eq!(r.next_sqe(&mem), SqSlot::Empty);
//! assert_eq!(r.post(&mem, &Cqe { user_data: 9, res: 0, flags: 0 }), Posted::Ring);
//! assert_eq!(mem.read_u32(field::CQ_TAIL), 1);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod abi;
pub mod chain;
pub mod layout;
pub mod probe;
pub mod ring;

/// Software implementations for tests: a region in a byte vector.
#[cfg(feature = "testing")]
pub mod testing {
    use crate::ring::RingMemory;
    use alloc::vec::Vec;
    use core::cell::RefCell;

    /// A region's bytes as a vector (zeroed, as fresh pages).
    #[derive(Debug)]
    pub struct VecMem(RefCell<Vec<u8>>);

    impl VecMem {
        /// `len` zeroed bytes.
        pub fn new(len: usize) -> Self {
            VecMem(RefCell::new(alloc::vec![0; len]))
        }
    }

    impl RingMemory for VecMem {
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
