//! Memory system calls over `crates/vm`.

use super::SysResult;
use crate::uthread::UThread;
use linux_abi::Errno;
use linux_abi::args::Fd;

pub fn brk(t: &mut UThread, addr: u64) -> SysResult {
    let lim = t.space_limits();
    Ok(t.vm.lock().limited(lim).brk(addr as usize) as isize)
}

/// mmap(2): every argument is an `unsigned long` (prot and flags keep
/// their high bits), but the fd reaches `fget(unsigned int)`: its low half.
pub fn mmap(t: &mut UThread, addr: u64, len: u64, prot: u64, flags: u64, fd: Fd, off: u64) -> SysResult {
    let anonymous = flags as usize & vm::abi::MAP_ANONYMOUS != 0;
    // MAP_LOCKED as do_mmap(): EPERM when the caller cannot mlock at all,
    // EAGAIN when the mapping would take its locked memory past
    // RLIMIT_MEMLOCK (mlock_future_check)
    let locked = flags as usize & vm::abi::MAP_LOCKED != 0 && len != 0 && len <= 1 << 47;
    if locked {
        // ksys_mmap_pgoff looks the file up before do_mmap's checks
        if !anonymous {
            t.fd(fd)?;
        }
        let (mapped, limit, privileged) = mlock_facts(t)?;
        if limit == 0 && !privileged {
            return Err(Errno::EPERM);
        }
        let already =
            crate::proc::table().with_process(t.pid, |p| p.mlock().locked_bytes(&mapped)).unwrap_or(0);
        let pages = (already as u64 / 4096) + len.div_ceil(4096);
        if pages > limit / 4096 && !privileged {
            return Err(Errno::EAGAIN);
        }
    }
    let at = if !anonymous {
        map_file(t, addr, len, prot, flags, fd, off)?
    } else {
        let lim = t.space_limits();
        t.vm.lock().limited(lim).mmap(
            addr as usize,
            len as usize,
            prot as usize,
            flags as usize,
            None,
            off,
        )? as isize
    };
    if locked {
        // counted as locked from now on, as a VM_LOCKED mapping
        // (a range table that cannot grow leaves it uncounted, not unmapped)
        let (mapped, _, _) = mlock_facts(t)?;
        if let Some(Err(e)) = crate::proc::table()
            .with_process(t.pid, |p| p.mlock_mut().lock(at as usize, len as usize, &mapped, u64::MAX, true))
        {
            log::warn!("pid {}: MAP_LOCKED range not recorded: {e:?}", t.pid);
        }
    }
    Ok(at)
}

/// A file mapping: the file's own pages (`crate::filemap`), shared or
/// copied on write, or zeros for /dev/zero. The checks of Linux's sys_mmap
/// and do_mmap that need the file come first; vm checks the rest.
fn map_file(t: &mut UThread, addr: u64, len: u64, prot: u64, flags: u64, fd: Fd, off: u64) -> SysResult {
    use vm::abi::{MAP_ANONYMOUS, MAP_SHARED, MAP_SHARED_VALIDATE, MAP_TYPE, PROT_WRITE};
    // arch/x86/kernel/sys_x86_64.c: the offset must be page aligned
    if !off.is_multiple_of(4096) {
        return Err(Errno::EINVAL);
    }
    let file = t.fd(fd)?;
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let fl = file.status_flags();
    // do_mmap(): an O_PATH descriptor cannot be mapped
    if fl & vfs::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    // do_mmap(): a file opened without read cannot be mapped, nor shared
    // writably without write
    let acc = fl & vfs::O_ACCMODE;
    let (readable, writable) = (acc != vfs::O_WRONLY, acc != vfs::O_RDONLY);
    let shared = matches!(flags as usize & MAP_TYPE, MAP_SHARED | MAP_SHARED_VALIDATE);
    if !readable || (shared && prot as usize & PROT_WRITE != 0 && !writable) {
        return Err(Errno::EACCES);
    }
    // an io_uring's rings and SQEs
    if let Some(ring) = super::io_uring::as_ring(&*file) {
        return super::io_uring::mmap_ring(t, ring, addr, len, prot, flags, off);
    }
    // only regular files and /dev/zero have an mmap operation
    let inode = file.inode().cloned().ok_or(Errno::ENODEV)?;
    match inode.file_type() {
        vfs::FileType::Regular if inode.can_map() => {}
        vfs::FileType::CharDevice if inode.stat().rdev == vfs::makedev(1, 5) => {
            // /dev/zero: anonymous memory, shared or private as asked
            let fl = flags as usize | MAP_ANONYMOUS;
            let lim = t.space_limits();
            return Ok(t.vm.lock().limited(lim).mmap(
                addr as usize,
                len as usize,
                prot as usize,
                fl,
                None,
                0,
            )? as isize);
        }
        _ => return Err(Errno::ENODEV),
    }
    let source = crate::filemap::file_pages(&inode)?;
    // memfd seals, looked at under the address-space lock the mapping is
    // added under, so an F_ADD_SEALS(F_SEAL_WRITE) walking the address
    // spaces meanwhile either sees this mapping or has it refused
    let lim = t.space_limits();
    let mut vm = t.vm.lock();
    let denied = inode.write_maps_denied();
    if shared && prot as usize & PROT_WRITE != 0 && denied {
        // no new writable shared mapping once sealed
        return Err(Errno::EPERM);
    }
    // a write-sealed file's shared mappings may not become writable later
    let writable = writable && !denied;
    if shared && writable {
        // its pages may change through the mapping: sync compares them
        inode.note_shared_write_map();
    }
    let map = vm::MapFile::new(source, alloc::string::String::new()).with_access(readable, writable);
    Ok(vm.limited(lim).mmap(addr as usize, len as usize, prot as usize, flags as usize, Some(map), off)?
        as isize)
}

/// munmap(2): a big range goes 16 MiB at a time from the top
/// (`Vmar::munmap_step`), with a preemption point between two steps (the
/// address space's spin lock released).
pub fn munmap(t: &mut UThread, addr: u64, len: usize) -> SysResult {
    const STEP: usize = 16 << 20;
    let mut rest = len;
    loop {
        rest = t.vm.lock().munmap_step(addr as usize, rest, STEP)?;
        if rest == 0 {
            return Ok(0);
        }
        crate::sched::cond_resched();
    }
}

/// mprotect(2): prot is an `unsigned long` (a high bit is EINVAL).
pub fn mprotect(t: &mut UThread, addr: u64, len: usize, prot: u64) -> SysResult {
    t.vm.lock().mprotect(addr as usize, len, prot as usize).map(|_| 0)
}

const MADV_DONTNEED: i32 = 4;

/// madvise(2): MADV_DONTNEED drops the pages of private anonymous mappings
/// (they read as zero afterwards); other known advice is accepted and
/// ignored, unknown advice is `EINVAL`. As Linux's madvise_walk_vmas(), a
/// range with holes is advised where it is mapped and then `ENOMEM`.
/// The advice is an `int` (its high bits are ignored).
pub fn madvise(t: &mut UThread, addr: u64, len: usize, advice: i32) -> SysResult {
    // madvise_behavior_valid() of Linux 6.1: unknown advice is EINVAL
    let known = matches!(advice, 0..=4 | 8..=25 | 100 | 101);
    if !known || !addr.is_multiple_of(4096) || (len as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let len = (len as u64).checked_next_multiple_of(4096).ok_or(Errno::EINVAL)?;
    let stop = addr.checked_add(len).ok_or(Errno::EINVAL)?;
    let mut vm = t.vm.lock();
    let mut a = addr;
    let mut hole = false;
    while a < stop {
        let Some(m) = vm.mapping_at(a as usize) else {
            hole = true;
            // on to the next mapping, if one starts before the end
            a = vm.mappings().map(|m| m.start as u64).find(|&s| s > a).unwrap_or(stop).min(stop);
            continue;
        };
        let end = (m.end as u64).min(stop);
        if advice == MADV_DONTNEED && m.kind == vm::MappingKind::PrivateAnonymous {
            let flags = vm::abi::MAP_PRIVATE | vm::abi::MAP_ANONYMOUS | vm::abi::MAP_FIXED;
            vm.mmap(a as usize, (end - a) as usize, m.prot.bits() as usize, flags, None, 0)?;
        }
        a = end;
    }
    if hole { Err(Errno::ENOMEM) } else { Ok(0) }
}

/// mremap(2) over `Vmar::mremap` (page-table entries move with the range).
pub fn mremap(t: &mut UThread, old: u64, old_len: u64, new_len: u64, flags: u64, new_addr: u64) -> SysResult {
    // an AIO ring moves its context along (or cannot move: EINVAL)
    const MREMAP_FIXED: u64 = 2;
    let ring = super::aio::ring_at(t, old, flags & MREMAP_FIXED != 0 && new_addr != old)?;
    let lim = t.space_limits();
    let at = t.vm.lock().limited(lim).mremap(
        old as usize,
        old_len as usize,
        new_len as usize,
        flags as usize,
        new_addr as usize,
    )? as u64;
    if let Some(ctx) = ring
        && at != old
    {
        super::aio::ring_moved(&ctx, at);
    }
    Ok(at as isize)
}

const MS_ASYNC: i32 = 1;
const MS_INVALIDATE: i32 = 2;
const MS_SYNC: i32 = 4;

/// msync(2): memory here is the file's only copy (no page cache to write
/// back), so a valid call has nothing to do; the errors are Linux's. The
/// flags are an `int` (their high bits are ignored).
pub fn msync(t: &mut UThread, addr: u64, len: usize, flags: i32) -> SysResult {
    if !addr.is_multiple_of(4096)
        || flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || flags & (MS_ASYNC | MS_SYNC) == (MS_ASYNC | MS_SYNC)
    {
        return Err(Errno::EINVAL);
    }
    // mm/msync.c rounds in wrapping arithmetic: a length within a page of
    // 2^64 becomes 0 (nothing to do), a range past the top ENOMEM
    let len = (len as u64).wrapping_add(4095) & !4095;
    let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
    let vm = t.vm.lock();
    let mut a = addr;
    while a < end {
        let m = vm.mapping_at(a as usize).ok_or(Errno::ENOMEM)?;
        a = m.end as u64;
    }
    Ok(0)
}

/// Mapped ranges, RLIMIT_MEMLOCK, CAP_IPC_LOCK.
type MlockFacts = (alloc::vec::Vec<(usize, usize)>, u64, bool);

/// The caller's mapped ranges (sorted), its RLIMIT_MEMLOCK and whether it
/// has CAP_IPC_LOCK, for the mlock family.
fn mlock_facts(t: &UThread) -> Result<MlockFacts, Errno> {
    let mapped = t.vm.lock().mappings().map(|m| (m.start, m.end)).collect();
    let (limit, privileged) = crate::proc::table()
        .with_process(t.pid, |p| (p.rlimits().cur(process::rlimit::Resource::Memlock), p.creds().has_cap(14)))
        .ok_or(Errno::ESRCH)?;
    Ok((mapped, limit, privileged))
}

/// mlock(2) and mlock2(2) (flags: only MLOCK_ONFAULT); the rules are in
/// `process::mlock`. mlock2's flags are an `int` (high bits ignored).
pub fn mlock(t: &mut UThread, addr: u64, len: usize, flags: i32) -> SysResult {
    if flags & !1 != 0 {
        return Err(Errno::EINVAL);
    }
    let (mapped, limit, privileged) = mlock_facts(t)?;
    crate::proc::table()
        .with_process(t.pid, |p| p.mlock_mut().lock(addr as usize, len, &mapped, limit, privileged))
        .ok_or(Errno::ESRCH)?
        .map(|_| 0)
}

/// munlock(2).
pub fn munlock(t: &mut UThread, addr: u64, len: usize) -> SysResult {
    let (mapped, _, _) = mlock_facts(t)?;
    crate::proc::table()
        .with_process(t.pid, |p| p.mlock_mut().unlock(addr as usize, len, &mapped))
        .ok_or(Errno::ESRCH)?
        .map(|_| 0)
}

/// mlockall(2) (MCL_FUTURE is remembered, not applied to later mappings);
/// the flags are an `int`.
pub fn mlockall(t: &mut UThread, flags: u32) -> SysResult {
    let (mapped, limit, privileged) = mlock_facts(t)?;
    crate::proc::table()
        .with_process(t.pid, |p| p.mlock_mut().lock_all(flags, &mapped, limit, privileged))
        .ok_or(Errno::ESRCH)?
        .map(|_| 0)
}

/// munlockall(2).
pub fn munlockall(t: &mut UThread) -> SysResult {
    crate::proc::table().with_process(t.pid, |p| p.mlock_mut().unlock_all()).ok_or(Errno::ESRCH)?;
    Ok(0)
}

/// mincore(2) as Linux 6.1's mm/mincore.c: one byte per page of
/// `[start, start + len)`, 1 when the page is resident (present in the
/// page table: anonymous pages touched, file pages mapped or copied on
/// write; or, not mapped yet, a file page held by the file's page cache),
/// 0 otherwise. `EINVAL` for an unaligned start, `ENOMEM` for a range
/// past user space or a page no mapping holds, `EFAULT` for a vector
/// that cannot be written. As Linux, the vector is written one mapping
/// (at most 512 pages here) at a time, so the bytes of the mappings
/// before a hole are written when the call fails with `ENOMEM`. The
/// address space is locked for one piece at a time (a huge range costs
/// no long hold).
///
/// Left out: Linux's rule that a file mapping whose file the caller
/// could not open for writing (nor owns) reports every page resident;
/// the pages of a `MAP_SHARED | MAP_ANONYMOUS` object that other
/// processes touched but this one has not mapped yet read 0 here (1 on
/// Linux, whose shmem page cache holds them).
pub fn mincore(t: &mut UThread, start: u64, len: usize, vec: u64) -> SysResult {
    use vm::{FrameRefs, PageTable};
    const PIECE: usize = 512;
    if !start.is_multiple_of(4096) {
        return Err(Errno::EINVAL);
    }
    if !linux_abi::args::access_ok(start, len) {
        return Err(Errno::ENOMEM);
    }
    let mut pages = len.div_ceil(4096);
    if !linux_abi::args::access_ok(vec, pages) {
        return Err(Errno::EFAULT);
    }
    let mut addr = start as usize;
    let mut out = vec;
    let mut tmp = [0u8; PIECE];
    while pages > 0 {
        let n = {
            let vm = t.vm.lock();
            let m = vm.mapping_at(addr).ok_or(Errno::ENOMEM)?;
            let end = m.end.min(addr + pages.min(PIECE) * 4096);
            let n = (end - addr) / 4096;
            let source = match m.kind {
                vm::MappingKind::PrivateSource | vm::MappingKind::SharedSource => vm.source_at(addr),
                _ => None,
            };
            for (i, byte) in tmp[..n].iter_mut().enumerate() {
                let va = addr + i * 4096;
                *byte = if vm.page_table().query(va).is_some() {
                    1
                } else if let Some((src, off)) = &source {
                    // the page cache's page, without reading anything
                    let at = off.wrapping_add((va - m.start) as u64);
                    match src.cached_page(at) {
                        Some(frame) => {
                            vm.allocator().release(frame);
                            1
                        }
                        None => 0,
                    }
                } else {
                    0
                };
            }
            n
        };
        t.write_slice(out, &tmp[..n]).map_err(|_| Errno::EFAULT)?;
        pages -= n;
        out += n as u64;
        addr += n * 4096;
        crate::sched::cond_resched();
    }
    Ok(0)
}
