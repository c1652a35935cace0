//! Checked access to user memory: what `copy_from_user`, `copy_to_user` and
//! `strncpy_from_user` do in Linux.

use alloc::vec::Vec;

use linux_abi::{Errno, Result};

use crate::mmu::{Frame, FrameRefs, PAGE_SIZE, PageTable, PteFlags, page_floor};
use crate::vmar::{Access, FaultOutcome, SegvCode, Vmar};

/// A plain value that can be copied to and from user memory byte for byte:
/// linux-abi's [`Pod`](linux_abi::pod::Pod) (integers, byte arrays, the ABI
/// structs of `linux_abi::abi`).
pub use linux_abi::pod::Pod as UserValue;

fn pte_allows(flags: PteFlags, access: Access) -> bool {
    flags.contains(PteFlags::USER)
        && match access {
            Access::Read => true,
            Access::Write => flags.contains(PteFlags::WRITABLE),
            Access::Execute => flags.contains(PteFlags::EXECUTABLE),
        }
}

impl<P: PageTable, A: FrameRefs + Clone + 'static> Vmar<P, A> {
    /// The frame behind `addr` once the page table allows `access` to it,
    /// faulting the page in as the hardware would (copy on write included);
    /// the fault's outcome if it cannot be resolved. For a kernel's own
    /// user-memory access (ptrace peeks, futex words, `process_vm_readv`):
    /// the frame stays valid while `&mut self` is held; reach its bytes
    /// through the frame allocator at `addr % PAGE_SIZE`.
    pub fn access_frame(&mut self, addr: usize, access: Access) -> core::result::Result<Frame, FaultOutcome> {
        if addr >= self.config().max_addr {
            return Err(FaultOutcome::Segv { addr, code: SegvCode::MapErr });
        }
        let page = page_floor(addr);
        // One fault resolves any access; a second try covers a spurious one.
        for _ in 0..3 {
            if let Some((frame, flags)) = self.pt.query(page)
                && pte_allows(flags, access)
            {
                return Ok(frame);
            }
            match self.handle_page_fault(addr, access) {
                FaultOutcome::Resolved => {}
                other => return Err(other),
            }
        }
        Err(FaultOutcome::Segv { addr, code: SegvCode::AccErr })
    }

    /// Visits `[addr, addr + len)` page by page with the frame, the offset in
    /// it and the range of bytes done so far.
    fn for_each_chunk(
        &mut self,
        addr: usize,
        len: usize,
        access: Access,
        mut f: impl FnMut(&A, Frame, usize, core::ops::Range<usize>),
    ) -> core::result::Result<(), FaultOutcome> {
        if len == 0 {
            return Ok(());
        }
        if addr.checked_add(len).is_none() {
            return Err(FaultOutcome::Segv { addr, code: SegvCode::MapErr });
        }
        let mut done = 0;
        while done < len {
            let va = addr + done;
            let offset = va % PAGE_SIZE;
            let n = (PAGE_SIZE - offset).min(len - done);
            let frame = self.access_frame(va, access)?;
            f(&self.alloc, frame, offset, done..done + n);
            done += n;
        }
        Ok(())
    }

    /// Copies user memory at `addr` into `buf` (`copy_from_user`), faulting
    /// pages in as needed. `EFAULT` if any byte is unmapped or not readable
    /// (the bytes before it have been copied).
    pub fn read_user(&mut self, addr: usize, buf: &mut [u8]) -> Result<()> {
        self.for_each_chunk(addr, buf.len(), Access::Read, |alloc, frame, offset, range| {
            alloc.read(frame, offset, &mut buf[range]);
        })
        .map_err(|_| Errno::EFAULT)
    }

    /// Copies `data` to user memory at `addr` (`copy_to_user`), faulting
    /// pages in and breaking copy-on-write sharing as needed. `EFAULT` if any
    /// byte is unmapped or not writable (the bytes before it are written).
    pub fn write_user(&mut self, addr: usize, data: &[u8]) -> Result<()> {
        self.for_each_chunk(addr, data.len(), Access::Write, |alloc, frame, offset, range| {
            alloc.write(frame, offset, &data[range]);
        })
        .map_err(|_| Errno::EFAULT)
    }

    /// A run of user copies that looks pages up once: later copies to or
    /// from the two pages the run reached last skip the page-table walk
    /// (a signal frame's pieces, a sigreturn's reads). The frames found
    /// stay valid while the run borrows `self` (as [`Vmar::access_frame`]).
    pub fn user_copies(&mut self) -> UserCopies<'_, P, A> {
        UserCopies { vmar: self, last: [None; 2] }
    }

    /// Writes `data` at `addr` as a debugger does (`access_process_vm` with
    /// `FOLL_FORCE | FOLL_WRITE`: ptrace's POKETEXT, `/proc/<pid>/mem`): a
    /// private mapping without write permission (program text) gets its own
    /// copy of the page, which stays read-only to the program; a shared
    /// read-only mapping, one never writable (`[vvar]`) or an unmapped byte
    /// is `EFAULT`.
    pub fn write_user_force(&mut self, addr: usize, data: &[u8]) -> Result<()> {
        let end = addr.checked_add(data.len()).ok_or(Errno::EFAULT)?;
        let mut va = addr;
        while va < end {
            let n = (PAGE_SIZE - va % PAGE_SIZE).min(end - va);
            let chunk = &data[va - addr..va - addr + n];
            let (prot, shared, may_write) =
                self.find(va).map(|(_, m)| (m.prot, m.shared, m.may_write)).ok_or(Errno::EFAULT)?;
            if prot.allows(Access::Write) {
                self.write_user(va, chunk)?;
            } else if shared || !may_write {
                return Err(Errno::EFAULT);
            } else {
                let frame = self.access_frame(va, Access::Read).map_err(|_| Errno::EFAULT)?;
                let page = page_floor(va);
                let frame = if self.alloc.ref_count(frame) == 1 {
                    frame
                } else {
                    let flags = self.pt.query(page).map(|(_, f)| f).ok_or(Errno::EFAULT)?;
                    let copy = self.alloc.alloc_zeroed().map_err(|_| Errno::ENOMEM)?;
                    self.alloc.copy_frame(frame, copy);
                    self.pt.unmap(page);
                    if self.pt.map(page, copy, flags).is_err() {
                        self.alloc.release(copy);
                        let _ = self.pt.map(page, frame, flags);
                        return Err(Errno::ENOMEM);
                    }
                    self.pt.flush_range(page, page + PAGE_SIZE);
                    self.alloc.release(frame);
                    copy
                };
                self.alloc.write(frame, va % PAGE_SIZE, chunk);
            }
            va += n;
        }
        Ok(())
    }

    /// Reads a plain value from user memory (`get_user`); `EFAULT` as
    /// [`read_user`](Self::read_user).
    pub fn read_val<T: UserValue>(&mut self, addr: usize) -> Result<T> {
        let mut small = [0u8; 64];
        if T::SIZE <= small.len() {
            let buf = &mut small[..T::SIZE];
            self.read_user(addr, buf)?;
            Ok(T::from_bytes(buf))
        } else {
            let mut buf = alloc::vec![0u8; T::SIZE];
            self.read_user(addr, &mut buf)?;
            Ok(T::from_bytes(&buf))
        }
    }

    /// Writes a plain value to user memory (`put_user`); `EFAULT` as
    /// [`write_user`](Self::write_user).
    pub fn write_val<T: UserValue>(&mut self, addr: usize, value: T) -> Result<()> {
        let mut small = [0u8; 64];
        if T::SIZE <= small.len() {
            let buf = &mut small[..T::SIZE];
            value.to_bytes(buf);
            self.write_user(addr, buf)
        } else {
            let mut buf = alloc::vec![0u8; T::SIZE];
            value.to_bytes(&mut buf);
            self.write_user(addr, &buf)
        }
    }

    /// Reads a NUL-terminated string at `addr` (`strncpy_from_user` as
    /// `getname` uses it), without the NUL. `limit` counts the NUL: with
    /// `limit` = `PATH_MAX` (4096) a string of 4095 bytes is accepted and one
    /// of 4096 or more gives `ENAMETOOLONG`. `EFAULT` if an unreadable byte
    /// comes before both the NUL and the limit. Pages past the NUL are never
    /// touched.
    pub fn read_cstr(&mut self, addr: usize, limit: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        // 64-byte pieces (most strings, paths, end in the first one: no
        // more is copied), the page looked up once for all its pieces
        let mut chunk = [0u8; 64];
        let mut last: Option<(usize, Frame)> = None;
        loop {
            if out.len() >= limit {
                return Err(Errno::ENAMETOOLONG);
            }
            let va = addr.checked_add(out.len()).ok_or(Errno::EFAULT)?;
            let offset = va % PAGE_SIZE;
            let n = (PAGE_SIZE - offset).min(limit - out.len()).min(chunk.len());
            let frame = match last {
                Some((page, f)) if page == va - offset => f,
                _ => {
                    let f = self.access_frame(va, Access::Read).map_err(|_| Errno::EFAULT)?;
                    last = Some((va - offset, f));
                    f
                }
            };
            let bytes = &mut chunk[..n];
            self.alloc.read(frame, offset, bytes);
            if let Some(nul) = bytes.iter().position(|&b| b == 0) {
                out.extend_from_slice(&bytes[..nul]);
                return Ok(out);
            }
            out.extend_from_slice(bytes);
        }
    }
}

/// Copies to and from user memory that remember the last two pages they
/// reached ([`Vmar::user_copies`]): each copy behaves as
/// [`Vmar::read_user`] / [`Vmar::write_user`] (the same faults, the same
/// `EFAULT`), but a page already looked up for the access (a written page
/// serves reads too; one found for reading does not serve a write, which
/// may have to break copy-on-write) is not walked again. Two pages: a
/// signal frame and its FPU image, or an image's start and its end, may
/// lie on two pages that the copies alternate between.
pub struct UserCopies<'a, P: PageTable, A: FrameRefs + Clone + 'static> {
    vmar: &'a mut Vmar<P, A>,
    /// The pages reached last (newest first): the page, its frame, and
    /// whether it was found writable.
    last: [Option<(usize, Frame, bool)>; 2],
}

impl<P: PageTable, A: FrameRefs + Clone + 'static> UserCopies<'_, P, A> {
    /// The frame of the page holding `va` for `access` (`Read` or `Write`),
    /// faulting it in as [`Vmar::access_frame`] does (`EFAULT` when it
    /// cannot be), through the remembered pages. The frame stays mapped
    /// while the run borrows the address space: a kernel may reach its
    /// bytes directly (an XSAVE into a signal frame's page) meanwhile.
    pub fn frame(&mut self, va: usize, access: Access) -> Result<Frame> {
        let page = page_floor(va);
        let write = matches!(access, Access::Write);
        for (p, f, w) in self.last.iter().flatten() {
            if *p == page && (*w || !write) {
                return Ok(*f);
            }
        }
        let f = self.vmar.access_frame(va, access).map_err(|_| Errno::EFAULT)?;
        // a page found again for writing replaces its read-only entry
        if self.last[0].is_some_and(|(p, _, _)| p != page) {
            self.last[1] = self.last[0];
        }
        self.last[0] = Some((page, f, write));
        Ok(f)
    }

    /// [`Vmar::read_user`] through the remembered page.
    pub fn read(&mut self, addr: usize, buf: &mut [u8]) -> Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        addr.checked_add(buf.len()).ok_or(Errno::EFAULT)?;
        let mut done = 0;
        while done < buf.len() {
            let va = addr + done;
            let offset = va % PAGE_SIZE;
            let n = (PAGE_SIZE - offset).min(buf.len() - done);
            let frame = self.frame(va, Access::Read)?;
            self.vmar.alloc.read(frame, offset, &mut buf[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// [`Vmar::write_user`] through the remembered page.
    pub fn write(&mut self, addr: usize, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        addr.checked_add(data.len()).ok_or(Errno::EFAULT)?;
        let mut done = 0;
        while done < data.len() {
            let va = addr + done;
            let offset = va % PAGE_SIZE;
            let n = (PAGE_SIZE - offset).min(data.len() - done);
            let frame = self.frame(va, Access::Write)?;
            self.vmar.alloc.write(frame, offset, &data[done..done + n]);
            done += n;
        }
        Ok(())
    }
}
