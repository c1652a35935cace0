//! `IORING_REGISTER_PROBE`: `struct io_uring_probe` and its
//! `struct io_uring_probe_op`s.

use crate::abi::op;
use linux_abi::{Errno, Result};

/// `IO_URING_OP_SUPPORTED`.
pub const OP_SUPPORTED: u16 = 1;
/// The header's bytes (`last_op`, `ops_len`, `resv`, `resv2[3]`).
pub const HEADER_LEN: usize = 16;
/// One op's bytes.
pub const OP_LEN: usize = 8;
/// The most ops io_uring_register accepts in `nr_args`.
pub const MAX_ARGS: u32 = 256;

/// The probe's bytes for `nr_args` ops.
pub fn len(nr_args: u32) -> Result<usize> {
    if nr_args > MAX_ARGS {
        return Err(Errno::EINVAL);
    }
    Ok(HEADER_LEN + OP_LEN * nr_args as usize)
}

/// Fills the probe user space passed (`buf`, [`len`] bytes of it, which
/// must be all zero: `EINVAL` otherwise) as io_probe does: `last_op` is
/// `IORING_OP_LAST - 1`, the first `min(nr_args, IORING_OP_LAST)` ops
/// carry their opcode and `IO_URING_OP_SUPPORTED` when `supported(op)`.
pub fn fill(buf: &mut [u8], nr_args: u32, supported: impl Fn(u8) -> bool) -> Result<()> {
    if buf.len() != len(nr_args)? {
        return Err(Errno::EINVAL);
    }
    if buf.iter().any(|&b| b != 0) {
        return Err(Errno::EINVAL);
    }
    let n = nr_args.min(u32::from(op::LAST)) as usize;
    buf[0] = op::LAST - 1;
    buf[1] = n as u8;
    for i in 0..n {
        let at = HEADER_LEN + i * OP_LEN;
        buf[at] = i as u8;
        if supported(i as u8) {
            buf[at + 2..at + 4].copy_from_slice(&OP_SUPPORTED.to_le_bytes());
        }
    }
    Ok(())
}
