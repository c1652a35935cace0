//! io_uring_setup's sizing (`io_uring_create`, `rings_size`) and the
//! layout of the shared rings (`struct io_rings` of Linux 6.1, with each
//! head and tail on a cache line of its own).

use crate::abi::{self, CqOffsets, Params, SqOffsets, setup};
use linux_abi::{Errno, Result};

/// The cache line Linux aligns the ring's fields to.
pub const CACHE_LINE: usize = 64;
/// The page size the regions are made of.
pub const PAGE: usize = 4096;

/// Offsets in the rings region (`struct io_rings`).
pub mod field {
    /// `sq.head` (the kernel's: what it consumed).
    pub const SQ_HEAD: usize = 0;
    /// `sq.tail` (user space's).
    pub const SQ_TAIL: usize = 64;
    /// `cq.head` (user space's).
    pub const CQ_HEAD: usize = 128;
    /// `cq.tail` (the kernel's).
    pub const CQ_TAIL: usize = 192;
    /// `sq_ring_mask`.
    pub const SQ_RING_MASK: usize = 256;
    /// `cq_ring_mask`.
    pub const CQ_RING_MASK: usize = 260;
    /// `sq_ring_entries`.
    pub const SQ_RING_ENTRIES: usize = 264;
    /// `cq_ring_entries`.
    pub const CQ_RING_ENTRIES: usize = 268;
    /// `sq_dropped`.
    pub const SQ_DROPPED: usize = 272;
    /// `sq_flags`.
    pub const SQ_FLAGS: usize = 276;
    /// `cq_flags`.
    pub const CQ_FLAGS: usize = 280;
    /// `cq_overflow`.
    pub const CQ_OVERFLOW: usize = 284;
    /// `cqes[]` (cache-line aligned).
    pub const CQES: usize = 320;
}

/// The setup flags this crate's rings follow as Linux does (the kernel
/// decides which of them it offers).
pub const RING_FLAGS: u32 = setup::CQSIZE | setup::CLAMP | setup::SQE128 | setup::CQE32;

/// One ring's sizes, as io_uring_setup settles them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// SQ entries (a power of two).
    pub sq_entries: u32,
    /// CQ entries (a power of two, at least `sq_entries`).
    pub cq_entries: u32,
    /// Bytes per SQE (64 or 128).
    pub sqe_len: usize,
    /// Bytes per CQE (16 or 32).
    pub cqe_len: usize,
    /// Where the SQ index array starts in the rings region.
    pub sq_array: usize,
    /// The rings region's bytes (`rings_size`).
    pub rings_len: usize,
    /// The SQE array's bytes.
    pub sqes_len: usize,
}

fn align(v: usize, to: usize) -> usize {
    v.div_ceil(to) * to
}

impl Geometry {
    /// io_uring_create's sizing of `entries` with the params' `flags` and
    /// `cq_entries` (`EINVAL` as Linux: no entries, too many without
    /// `IORING_SETUP_CLAMP`, a CQ smaller than the SQ).
    pub fn new(entries: u32, p: &Params) -> Result<Geometry> {
        if entries == 0 {
            return Err(Errno::EINVAL);
        }
        let mut entries = entries;
        if entries > abi::MAX_ENTRIES {
            if p.flags & setup::CLAMP == 0 {
                return Err(Errno::EINVAL);
            }
            entries = abi::MAX_ENTRIES;
        }
        let sq_entries = entries.next_power_of_two();
        let cq_entries = if p.flags & setup::CQSIZE != 0 {
            if p.cq_entries == 0 {
                return Err(Errno::EINVAL);
            }
            let mut c = p.cq_entries;
            if c > abi::MAX_CQ_ENTRIES {
                if p.flags & setup::CLAMP == 0 {
                    return Err(Errno::EINVAL);
                }
                c = abi::MAX_CQ_ENTRIES;
            }
            let c = c.next_power_of_two();
            if c < sq_entries {
                return Err(Errno::EINVAL);
            }
            c
        } else {
            2 * sq_entries
        };
        let cqe_len = if p.flags & setup::CQE32 != 0 { 32 } else { 16 };
        let sqe_len = if p.flags & setup::SQE128 != 0 { 128 } else { abi::SQE_LEN };
        // struct_size(rings, cqes, cq_entries), doubled whole for CQE32
        let mut off = field::CQES + 16 * cq_entries as usize;
        if cqe_len == 32 {
            off *= 2;
        }
        let sq_array = align(off, CACHE_LINE);
        let rings_len = sq_array + 4 * sq_entries as usize;
        let sqes_len = sqe_len * sq_entries as usize;
        Ok(Geometry { sq_entries, cq_entries, sqe_len, cqe_len, sq_array, rings_len, sqes_len })
    }

    /// Pages of the rings region.
    pub fn rings_pages(&self) -> usize {
        self.rings_len.div_ceil(PAGE)
    }

    /// Pages of the SQE array.
    pub fn sqes_pages(&self) -> usize {
        self.sqes_len.div_ceil(PAGE)
    }

    /// The offsets io_uring_setup writes into the params.
    pub fn offsets(&self) -> (SqOffsets, CqOffsets) {
        let sq = SqOffsets {
            head: field::SQ_HEAD as u32,
            tail: field::SQ_TAIL as u32,
            ring_mask: field::SQ_RING_MASK as u32,
            ring_entries: field::SQ_RING_ENTRIES as u32,
            flags: field::SQ_FLAGS as u32,
            dropped: field::SQ_DROPPED as u32,
            array: self.sq_array as u32,
        };
        let cq = CqOffsets {
            head: field::CQ_HEAD as u32,
            tail: field::CQ_TAIL as u32,
            ring_mask: field::CQ_RING_MASK as u32,
            ring_entries: field::CQ_RING_ENTRIES as u32,
            overflow: field::CQ_OVERFLOW as u32,
            cqes: field::CQES as u32,
            flags: field::CQ_FLAGS as u32,
        };
        (sq, cq)
    }

    /// Which region an mmap at `offset` of `len` bytes maps: the rings
    /// (`IORING_OFF_SQ_RING` and `IORING_OFF_CQ_RING`, one region:
    /// `IORING_FEAT_SINGLE_MMAP`) or the SQEs; `EINVAL` for another offset
    /// or a length past the region's end (io_uring_validate_mmap_request).
    pub fn mmap_region(&self, offset: u64, len: usize) -> Result<Region> {
        let (region, size) = match offset {
            abi::off::SQ_RING | abi::off::CQ_RING => (Region::Rings, self.rings_len),
            abi::off::SQES => (Region::Sqes, self.sqes_len),
            _ => return Err(Errno::EINVAL),
        };
        if len > align(size, PAGE) {
            return Err(Errno::EINVAL);
        }
        Ok(region)
    }
}

/// A region of the ring file an mmap maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    /// The SQ and CQ rings (`struct io_rings`, the CQEs, the SQ array).
    Rings,
    /// The SQE array.
    Sqes,
}
