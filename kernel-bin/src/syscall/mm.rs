//! Memory system calls over `crates/vm`.

use super::SysResult;
use crate::uthread::UThread;
use linux_abi::Errno;

pub fn brk(t: &mut UThread, addr: u64) -> SysResult {
    Ok(t.vm.lock().brk(addr as usize) as isize)
}

pub fn mmap(t: &mut UThread, addr: u64, len: u64, prot: u64, flags: u64, fd: u64, off: u64) -> SysResult {
    let anonymous = flags as usize & vm::abi::MAP_ANONYMOUS != 0;
    if !anonymous {
        // file mappings: a private copy of the file's bytes (no page cache yet)
        let file = t.file(fd)?;
        let inode = file.inode().cloned().ok_or(Errno::ENODEV)?;
        if flags as usize & vm::abi::MAP_TYPE == vm::abi::MAP_SHARED
            && prot as usize & vm::abi::PROT_WRITE != 0
        {
            log::info!("pid {}: writable MAP_SHARED file mapping unsupported: ENODEV", t.pid);
            return Err(Errno::ENODEV);
        }
        let mapped = {
            let mut vm = t.vm.lock();
            let rw = vm::abi::PROT_READ | vm::abi::PROT_WRITE;
            let fl = (flags as usize & !vm::abi::MAP_TYPE) | vm::abi::MAP_PRIVATE | vm::abi::MAP_ANONYMOUS;
            let a = vm.mmap(addr as usize, len as usize, rw, fl, None, 0)?;
            let mut buf = alloc::vec![0u8; 4096];
            let mut done = 0usize;
            while done < len as usize {
                let n = inode.read_at(off.saturating_add(done as u64), &mut buf)?;
                if n == 0 {
                    break;
                }
                vm.write_user(a + done, &buf[..n.min(len as usize - done)])?;
                done += n;
            }
            vm.mprotect(a, len as usize, prot as usize)?;
            a
        };
        return Ok(mapped as isize);
    }
    Ok(t.vm.lock().mmap(addr as usize, len as usize, prot as usize, flags as usize, None, off)? as isize)
}

pub fn munmap(t: &mut UThread, addr: u64, len: u64) -> SysResult {
    t.vm.lock().munmap(addr as usize, len as usize).map(|_| 0)
}

pub fn mprotect(t: &mut UThread, addr: u64, len: u64, prot: u64) -> SysResult {
    t.vm.lock().mprotect(addr as usize, len as usize, prot as usize).map(|_| 0)
}

const MADV_DONTNEED: u64 = 4;

/// madvise(2): MADV_DONTNEED drops the pages of private anonymous mappings
/// (they read as zero afterwards); other known advice is accepted and
/// ignored, unknown advice is `EINVAL`.
pub fn madvise(t: &mut UThread, addr: u64, len: u64, advice: u64) -> SysResult {
    // madvise_behavior_valid() of Linux 6.1: unknown advice is EINVAL
    let known = matches!(advice, 0..=4 | 8..=25 | 100 | 101);
    if !known || !addr.is_multiple_of(4096) || (len as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    if advice != MADV_DONTNEED || len == 0 {
        return Ok(0);
    }
    let len = len.checked_next_multiple_of(4096).ok_or(Errno::EINVAL)?;
    let stop = addr.checked_add(len).ok_or(Errno::EINVAL)?;
    let mut vm = t.vm.lock();
    let mut a = addr;
    while a < stop {
        let Some(m) = vm.mapping_at(a as usize) else { return Err(Errno::ENOMEM) };
        let end = (m.end as u64).min(stop);
        if m.kind == vm::MappingKind::PrivateAnonymous {
            let flags = vm::abi::MAP_PRIVATE | vm::abi::MAP_ANONYMOUS | vm::abi::MAP_FIXED;
            vm.mmap(a as usize, (end - a) as usize, m.prot.bits() as usize, flags, None, 0)?;
        }
        a = end;
    }
    Ok(0)
}

/// mremap(2) over `Vmar::mremap` (page-table entries move with the range).
pub fn mremap(t: &mut UThread, old: u64, old_len: u64, new_len: u64, flags: u64, new_addr: u64) -> SysResult {
    Ok(t.vm.lock().mremap(
        old as usize,
        old_len as usize,
        new_len as usize,
        flags as usize,
        new_addr as usize,
    )? as isize)
}

const MS_ASYNC: u64 = 1;
const MS_INVALIDATE: u64 = 2;
const MS_SYNC: u64 = 4;

/// msync(2): memory here is the file's only copy (no page cache to write
/// back), so a valid call has nothing to do; the errors are Linux's.
pub fn msync(t: &mut UThread, addr: u64, len: u64, flags: u64) -> SysResult {
    if !addr.is_multiple_of(4096)
        || flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || flags & (MS_ASYNC | MS_SYNC) == (MS_ASYNC | MS_SYNC)
    {
        return Err(Errno::EINVAL);
    }
    let len = len.checked_next_multiple_of(4096).ok_or(Errno::ENOMEM)?;
    let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
    let vm = t.vm.lock();
    let mut a = addr;
    while a < end {
        let m = vm.mapping_at(a as usize).ok_or(Errno::ENOMEM)?;
        a = m.end as u64;
    }
    Ok(0)
}
