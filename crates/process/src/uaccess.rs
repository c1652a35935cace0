//! The user-memory seam: what this crate reads from and writes to a
//! process's memory (clone3's struct, `set_tid`, the `*_SETTID` and
//! `CLEARTID` words, waitid's siginfo).

use linux_abi::{Errno, Result};

/// Reads and writes user memory of one address space. A bad address is
/// `EFAULT`.
pub trait UserMemory {
    /// Fills `buf` from user address `addr`.
    fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<()>;
    /// Writes `data` at user address `addr`.
    fn write_bytes(&self, addr: u64, data: &[u8]) -> Result<()>;

    /// Reads a native-endian `u32` (Linux's `pid_t` and futex words).
    fn read_u32(&self, addr: u64) -> Result<u32> {
        let mut b = [0u8; 4];
        self.read_bytes(addr, &mut b)?;
        Ok(u32::from_ne_bytes(b))
    }

    /// Writes a native-endian `u32`.
    fn write_u32(&self, addr: u64, value: u32) -> Result<()> {
        self.write_bytes(addr, &value.to_ne_bytes())
    }
}

/// User memory that is all bad addresses (every access is `EFAULT`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMemory;

impl UserMemory for NoMemory {
    fn read_bytes(&self, _addr: u64, _buf: &mut [u8]) -> Result<()> {
        Err(Errno::EFAULT)
    }
    fn write_bytes(&self, _addr: u64, _data: &[u8]) -> Result<()> {
        Err(Errno::EFAULT)
    }
}
