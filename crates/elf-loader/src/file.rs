//! Where the loader reads the executable from.

use alloc::sync::Arc;
use alloc::vec::Vec;

use linux_abi::{Errno, Result};
use vm::PageSource;

/// The executable file, read at byte offsets (what `kernel_read` does in
/// Linux). The kernel implements it for its files; it is implemented here
/// for byte slices and vectors (an initramfs file held in memory).
pub trait ExecFile {
    /// The file size in bytes.
    fn size(&self) -> u64;

    /// Reads up to `buf.len()` bytes at `offset` into `buf` and returns how
    /// many were read: fewer only at the end of the file (0 at or past it).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize>;

    /// The file's pages as a page cache, if the kernel keeps one: page
    /// `offset` holds the bytes `[offset, offset + PAGE_SIZE)` of the file,
    /// zero past its end. The loader then maps the segments from it (as
    /// Linux's `elf_map` maps the page cache, shared until written) instead
    /// of copying them. The default has none.
    fn page_source(&self) -> Option<Arc<dyn PageSource>> {
        None
    }

    /// A preemption point (a kernel's `cond_resched`), called by the
    /// program's file between the chunks of a segment the loader copies
    /// (a file without [`page_source`](Self::page_source)) and of the
    /// argument strings it writes to the new stack, with no lock of the
    /// loader's held. The default does nothing.
    fn preempt_point(&self) {}
}

impl ExecFile for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let Ok(start) = usize::try_from(offset) else { return Ok(0) };
        if start >= self.len() {
            return Ok(0);
        }
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

impl ExecFile for Vec<u8> {
    fn size(&self) -> u64 {
        self.as_slice().size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.as_slice().read_at(offset, buf)
    }
}

/// Fills `buf` from `offset`; `Ok(false)` when the file ends first (the
/// bytes read so far are in `buf`, the rest untouched).
pub(crate) fn read_full<F: ExecFile + ?Sized>(file: &F, mut offset: u64, buf: &mut [u8]) -> Result<bool> {
    let mut done = 0;
    while done < buf.len() {
        let n = file.read_at(offset, &mut buf[done..])?;
        if n == 0 {
            return Ok(false);
        }
        // A misbehaving implementation must not make us index out of range.
        let n = n.min(buf.len() - done);
        done += n;
        offset = offset.checked_add(n as u64).ok_or(Errno::EIO)?;
    }
    Ok(true)
}

/// The first [`BINPRM_BUF_SIZE`](crate::BINPRM_BUF_SIZE) bytes of the file,
/// zero-padded when it is shorter (`prepare_binprm`): what
/// [`parse_shebang`](crate::parse_shebang) and the format check look at.
pub fn read_head<F: ExecFile + ?Sized>(file: &F) -> Result<[u8; crate::BINPRM_BUF_SIZE]> {
    let mut head = [0u8; crate::BINPRM_BUF_SIZE];
    read_full(file, 0, &mut head)?;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_read_at_offsets_and_stop_at_the_end() {
        let data: &[u8] = b"hello world";
        let mut buf = [0u8; 5];
        assert_eq!(data.read_at(6, &mut buf), Ok(5));
        assert_eq!(&buf, b"world");
        assert_eq!(data.read_at(9, &mut buf), Ok(2));
        assert_eq!(data.read_at(11, &mut buf), Ok(0));
        assert_eq!(data.read_at(u64::MAX, &mut buf), Ok(0));
        let mut big = [0u8; 20];
        assert_eq!(read_full(data, 0, &mut big), Ok(false));
        assert_eq!(read_full(data, 6, &mut buf), Ok(true));
        let head = read_head(data).unwrap();
        assert_eq!(&head[..11], data);
        assert!(head[11..].iter().all(|&b| b == 0));
    }
}
