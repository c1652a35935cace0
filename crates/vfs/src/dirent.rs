//! The byte layout of getdents64(2): `struct linux_dirent64`.

use linux_abi::{Errno, Result};

/// The fixed part of a `struct linux_dirent64`: `d_ino` (u64), `d_off`
/// (i64), `d_reclen` (u16), `d_type` (u8).
pub const DIRENT64_HEADER: usize = 19;

/// The record length of an entry named `name_len` bytes: header, name,
/// NUL, rounded up to 8.
pub fn dirent64_reclen(name_len: usize) -> usize {
    (DIRENT64_HEADER + name_len + 1 + 7) & !7
}

/// Writes `struct linux_dirent64` records into a caller's buffer.
#[derive(Debug)]
pub struct DirentWriter<'a> {
    buf: &'a mut [u8],
    written: usize,
}

impl<'a> DirentWriter<'a> {
    /// A writer filling `buf` from its start.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, written: 0 }
    }

    /// The bytes written so far.
    pub fn written(&self) -> usize {
        self.written
    }

    /// Appends one record. `Ok(false)` when it does not fit after earlier
    /// records (the caller stops there); `EINVAL` when not even the first
    /// record fits, as getdents64(2) says ("Result buffer is too small").
    pub fn push(&mut self, ino: u64, off: i64, d_type: u8, name: &[u8]) -> Result<bool> {
        let reclen = dirent64_reclen(name.len());
        let end = self.written + reclen;
        let Some(rec) = self.buf.get_mut(self.written..end) else {
            return if self.written == 0 { Err(Errno::EINVAL) } else { Ok(false) };
        };
        rec.fill(0);
        rec[0..8].copy_from_slice(&ino.to_le_bytes());
        rec[8..16].copy_from_slice(&off.to_le_bytes());
        rec[16..18].copy_from_slice(&(reclen as u16).to_le_bytes());
        rec[18] = d_type;
        rec[DIRENT64_HEADER..DIRENT64_HEADER + name.len()].copy_from_slice(name);
        self.written = end;
        Ok(true)
    }
}
