//! prctl(PR_SET_MM, ...) as Linux 6.1's kernel/sys.c (prctl_set_mm,
//! prctl_set_mm_map, validate_prctl_map_addr): the addresses /proc shows
//! for an address space (code, data, heap, stack, arguments, environment)
//! set one at a time (CAP_SYS_RESOURCE) or all at once (PR_SET_MM_MAP,
//! CRIU's way, no capability needed unless `exe_fd` is given).

use super::SysResult;
use crate::procfs::MmLayout;
use crate::uthread::UThread;
use linux_abi::Errno;
use linux_abi::args::{UserPtr, UserSlice};

/// prctl's `PR_SET_MM` option.
pub const PR_SET_MM: i32 = 35;
const PR_SET_MM_START_CODE: u64 = 1;
const PR_SET_MM_END_CODE: u64 = 2;
const PR_SET_MM_START_DATA: u64 = 3;
const PR_SET_MM_END_DATA: u64 = 4;
const PR_SET_MM_START_STACK: u64 = 5;
const PR_SET_MM_START_BRK: u64 = 6;
const PR_SET_MM_BRK: u64 = 7;
const PR_SET_MM_ARG_START: u64 = 8;
const PR_SET_MM_ARG_END: u64 = 9;
const PR_SET_MM_ENV_START: u64 = 10;
const PR_SET_MM_ENV_END: u64 = 11;
const PR_SET_MM_AUXV: u64 = 12;
const PR_SET_MM_EXE_FILE: u64 = 13;
const PR_SET_MM_MAP: u64 = 14;
const PR_SET_MM_MAP_SIZE: u64 = 15;

/// `sizeof(struct prctl_mm_map)`: eleven addresses, the auxv pointer, its
/// size and the exe fd.
const MM_MAP_SIZE: usize = 104;

/// `CAP_SYS_RESOURCE`.
const CAP_SYS_RESOURCE: u32 = 24;

/// The fields `struct prctl_mm_map` carries, in its order.
#[derive(Clone, Copy)]
struct MmMap {
    start_code: u64,
    end_code: u64,
    start_data: u64,
    end_data: u64,
    start_brk: u64,
    brk: u64,
    start_stack: u64,
    arg_start: u64,
    arg_end: u64,
    env_start: u64,
    env_end: u64,
}

impl MmMap {
    fn current(l: &MmLayout, start_brk: usize, brk: usize) -> MmMap {
        MmMap {
            start_code: l.code.0 as u64,
            end_code: l.code.1 as u64,
            start_data: l.data.0 as u64,
            end_data: l.data.1 as u64,
            start_brk: start_brk as u64,
            brk: brk as u64,
            start_stack: l.start_stack as u64,
            arg_start: l.arg.0 as u64,
            arg_end: l.arg.1 as u64,
            env_start: l.env.0 as u64,
            env_end: l.env.1 as u64,
        }
    }

    fn layout(&self) -> MmLayout {
        MmLayout {
            code: (self.start_code as usize, self.end_code as usize),
            data: (self.start_data as usize, self.end_data as usize),
            start_stack: self.start_stack as usize,
            arg: (self.arg_start as usize, self.arg_end as usize),
            env: (self.env_start as usize, self.env_end as usize),
        }
    }

    /// validate_prctl_map_addr(): every address in
    /// `[mmap_min_addr, TASK_SIZE)`, the pairs ordered, and the heap plus
    /// the data segment within RLIMIT_DATA (`data_limit`); `EINVAL`.
    fn validate(&self, data_limit: u64) -> Result<(), Errno> {
        let all = [
            self.start_code,
            self.end_code,
            self.start_data,
            self.end_data,
            self.start_brk,
            self.brk,
            self.start_stack,
            self.arg_start,
            self.arg_end,
            self.env_start,
            self.env_end,
        ];
        if all.iter().any(|&a| a >= vm::abi::TASK_SIZE as u64 || a < vm::abi::MMAP_MIN_ADDR as u64) {
            return Err(Errno::EINVAL);
        }
        if self.start_code >= self.end_code
            || self.start_data > self.end_data
            || self.start_brk > self.brk
            || self.arg_start > self.arg_end
            || self.env_start > self.env_end
        {
            return Err(Errno::EINVAL);
        }
        // check_data_rlimit() (its -ENOSPC is turned into -EINVAL here)
        if data_limit != u64::MAX
            && (self.brk - self.start_brk).saturating_add(self.end_data - self.start_data) > data_limit
        {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    fn parse(raw: &[u8]) -> Option<(MmMap, u64, u32, u32)> {
        let q = |i: usize| raw.get(i * 8..i * 8 + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
        let d = |at: usize| raw.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
        let map = MmMap {
            start_code: q(0)?,
            end_code: q(1)?,
            start_data: q(2)?,
            end_data: q(3)?,
            start_brk: q(4)?,
            brk: q(5)?,
            start_stack: q(6)?,
            arg_start: q(7)?,
            arg_end: q(8)?,
            env_start: q(9)?,
            env_end: q(10)?,
        };
        Some((map, q(11)?, d(96)?, d(100)?))
    }
}

/// The caller's layout, heap start and break, RLIMIT_DATA's soft value.
fn current(t: &UThread) -> Result<(MmMap, u64), Errno> {
    let layout = crate::procfs::mm_layout(t.pid).ok_or(Errno::ESRCH)?;
    let (start_brk, brk) = {
        let g = t.vm.lock();
        (g.brk_start(), g.current_brk())
    };
    let data = crate::proc::table()
        .with_process(t.pid, |p| p.rlimits().cur(process::rlimit::Resource::Data))
        .ok_or(Errno::ESRCH)?;
    Ok((MmMap::current(&layout, start_brk, brk), data))
}

/// Makes `map` the caller's layout (the heap's start and break in its
/// address space, what brk(2) works from).
fn install(t: &UThread, map: &MmMap) {
    {
        let mut g = t.vm.lock();
        g.set_brk_range(map.start_brk as usize, map.brk as usize);
        g.set_data_segment((map.end_data - map.start_data) as usize);
    }
    crate::procfs::set_mm_layout(t.pid, map.layout());
}

/// prctl(PR_SET_MM, `opt`, `addr`, `arg4`, `arg5`).
pub fn prctl_set_mm(t: &mut UThread, opt: u64, addr: u64, arg4: u64, arg5: u64) -> SysResult {
    if arg5 != 0 || (arg4 != 0 && !matches!(opt, PR_SET_MM_AUXV | PR_SET_MM_MAP | PR_SET_MM_MAP_SIZE)) {
        return Err(Errno::EINVAL);
    }
    if opt == PR_SET_MM_MAP_SIZE {
        return t.write(UserPtr::new(addr), MM_MAP_SIZE as u32).map(|_| 0);
    }
    if opt == PR_SET_MM_MAP {
        return set_mm_map(t, addr, arg4);
    }
    let caps = crate::proc::table().with_process(t.pid, |p| p.creds().has_cap(CAP_SYS_RESOURCE));
    if !caps.ok_or(Errno::ESRCH)? {
        return Err(Errno::EPERM);
    }
    if opt == PR_SET_MM_EXE_FILE || opt == PR_SET_MM_AUXV {
        log::info!("pid {}: prctl(PR_SET_MM, {opt}) unsupported: EINVAL", t.pid);
        return Err(Errno::EINVAL);
    }
    if addr >= vm::abi::TASK_SIZE as u64 || addr < vm::abi::MMAP_MIN_ADDR as u64 {
        return Err(Errno::EINVAL);
    }
    let (mut map, data_limit) = current(t)?;
    match opt {
        PR_SET_MM_START_CODE => map.start_code = addr,
        PR_SET_MM_END_CODE => map.end_code = addr,
        PR_SET_MM_START_DATA => map.start_data = addr,
        PR_SET_MM_END_DATA => map.end_data = addr,
        PR_SET_MM_START_STACK => map.start_stack = addr,
        PR_SET_MM_START_BRK => map.start_brk = addr,
        PR_SET_MM_BRK => map.brk = addr,
        PR_SET_MM_ARG_START => map.arg_start = addr,
        PR_SET_MM_ARG_END => map.arg_end = addr,
        PR_SET_MM_ENV_START => map.env_start = addr,
        PR_SET_MM_ENV_END => map.env_end = addr,
        _ => return Err(Errno::EINVAL),
    }
    map.validate(data_limit)?;
    // the stack, argument and environment addresses need a mapping at or
    // above them (find_vma)
    if matches!(
        opt,
        PR_SET_MM_START_STACK
            | PR_SET_MM_ARG_START
            | PR_SET_MM_ARG_END
            | PR_SET_MM_ENV_START
            | PR_SET_MM_ENV_END
    ) && t.vm.lock().highest_end().is_none_or(|end| end as u64 <= addr)
    {
        return Err(Errno::EFAULT);
    }
    install(t, &map);
    Ok(0)
}

/// prctl_set_mm_map(): `data_size` must be `sizeof(struct prctl_mm_map)`;
/// the addresses are validated but not checked against the mappings.
fn set_mm_map(t: &mut UThread, addr: u64, data_size: u64) -> SysResult {
    if data_size != MM_MAP_SIZE as u64 {
        return Err(Errno::EINVAL);
    }
    let raw = t.read_slice(UserSlice::new(addr, MM_MAP_SIZE))?;
    let (map, auxv, auxv_size, exe_fd) = MmMap::parse(&raw).ok_or(Errno::EFAULT)?;
    let (_, data_limit) = current(t)?;
    map.validate(data_limit)?;
    if auxv_size != 0 {
        // a new mm->saved_auxv: not taken here
        let _ = auxv;
        log::info!("pid {}: prctl(PR_SET_MM_MAP) with an auxv unsupported: EINVAL", t.pid);
        return Err(Errno::EINVAL);
    }
    if exe_fd != u32::MAX {
        log::info!("pid {}: prctl(PR_SET_MM_MAP) with an exe_fd unsupported: EINVAL", t.pid);
        return Err(Errno::EINVAL);
    }
    install(t, &map);
    Ok(0)
}
