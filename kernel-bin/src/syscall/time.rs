//! Time, identity of the system, randomness, reboot.

use super::SysResult;
use crate::uthread::UThread;
use linux_abi::Errno;
use linux_abi::abi::{Itimerval, Timespec, Timeval, Timex, Timezone};
use linux_abi::args::{UserPtr, UserSlice};
use process::cputime::Side;

/// sethostname(2) (`domain` false) and setdomainname(2): `EPERM` without
/// CAP_SYS_ADMIN over the user namespace that owns the caller's UTS
/// namespace, then `EINVAL` for a length (an `int`) below 0 or above 64,
/// then `EFAULT`; the name is taken up to its first NUL byte.
pub fn sethostname(t: &mut UThread, name: UserPtr<u8>, len: i32, domain: bool) -> SysResult {
    let uts = crate::proc::table()
        .with_process(t.pid, |p| {
            let uts = p.ns().uts.clone();
            p.creds().ns_capable(uts.owner(), process::cred::CAP_SYS_ADMIN).then_some(uts)
        })
        .ok_or(Errno::ESRCH)?
        .ok_or(Errno::EPERM)?;
    if !(0..=64).contains(&len) {
        return Err(Errno::EINVAL);
    }
    let bytes = t.read_slice(UserSlice::new(name.addr(), len as usize))?;
    // a name stops at its first NUL, as uname's C string does
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    uts.update(|n| if domain { n.set_domain(&bytes[..end]) } else { n.set_host(&bytes[..end]) });
    Ok(0)
}

/// uname(2): the node and domain names of the caller's UTS namespace.
pub fn uname(t: &mut UThread, buf: UserPtr<[u8; 6 * 65]>) -> SysResult {
    let mut u = [0u8; 6 * 65];
    let names = crate::proc::table().with_process(t.pid, |p| p.ns().uts.names()).unwrap_or_default();
    let fields: [&[u8]; 6] = [
        b"Linux",
        names.host(),
        concat!("6.1.0-", env!("CARGO_PKG_VERSION"), "-rust").as_bytes(),
        b"#1 SMP PREEMPT_DYNAMIC",
        b"x86_64",
        names.domain(),
    ];
    for (i, f) in fields.iter().enumerate() {
        u[i * 65..i * 65 + f.len()].copy_from_slice(f);
    }
    t.write(buf, u)?;
    Ok(0)
}

/// The scheduler task of thread `tid` (0: the caller), `ESRCH` when there
/// is none.
fn task_of_tid(t: &UThread, tid: i32) -> Result<alloc::sync::Arc<crate::sched::Task>, Errno> {
    let tid = if tid == 0 { t.tid as i32 } else { tid };
    if tid < 0 {
        return Err(Errno::ESRCH);
    }
    crate::proc::task_of(tid as u32).ok_or(Errno::ESRCH)
}

/// sched_getaffinity(2): the thread's mask of the online CPUs (at most 64
/// here: one `unsigned long`). The length is an `unsigned int`, at least
/// the mask's 8 bytes and a multiple of them; `pid` names any thread (0:
/// the caller), `ESRCH` when there is none. Returns the bytes written.
pub fn sched_getaffinity(t: &mut UThread, tid: i32, len: u32, mask: UserPtr<u64>) -> SysResult {
    if len < 8 || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let task = task_of_tid(t, super::sched::tid_from(t, tid))?;
    let m = crate::sched::affinity(&task);
    drop(task);
    t.write(mask, m)?;
    Ok(8)
}

/// sched_setaffinity(2): `len` bytes of mask at `ptr` (shorter: the rest
/// is zero, longer: the rest ignored, as get_user_cpu_mask), then the
/// thread (ESRCH), then the caller's right to change it (EPERM: its euid
/// is neither the thread's uid nor euid, without CAP_SYS_NICE, as
/// check_same_owner), then the mask with no online CPU is EINVAL. The
/// thread moves at once when it is the caller, else at its next switch.
pub fn sched_setaffinity(t: &mut UThread, tid: i32, len: u32, mask: UserPtr<u64>) -> SysResult {
    const CAP_SYS_NICE: u32 = 23;
    let n = (len as usize).min(8);
    let mut b = [0u8; 8];
    if n > 0 {
        let got = t.read_slice(UserSlice::new(mask.addr(), n))?;
        b[..n].copy_from_slice(&got[..n]);
    }
    let want = u64::from_le_bytes(b);
    let tid = super::sched::tid_from(t, tid);
    let task = task_of_tid(t, tid)?;
    let table = crate::proc::table();
    let (euid, nice) = table
        .with_process(t.pid, |p| (p.creds().euid, p.creds().has_cap(CAP_SYS_NICE)))
        .ok_or(Errno::ESRCH)?;
    let target = if tid == 0 { Some(t.pid) } else { table.tgid(tid as u32) };
    let owner = target
        .and_then(|pid| table.with_process(pid, |p| (p.creds().uid, p.creds().euid)))
        .ok_or(Errno::ESRCH)?;
    if !nice && euid != owner.0 && euid != owner.1 {
        return Err(Errno::EPERM);
    }
    let m = want & crate::sched::online_mask();
    if m == 0 {
        return Err(Errno::EINVAL);
    }
    crate::sched::set_affinity(&task, m);
    Ok(0)
}

/// getcpu(2): the CPU the caller runs on and its NUMA node (0); either
/// pointer may be null.
pub fn getcpu(t: &mut UThread, cpu: UserPtr<u32>, node: UserPtr<u32>) -> SysResult {
    let c = crate::sched::current_cpu() as u32;
    if cpu.addr() != 0 {
        t.write(cpu, c)?;
    }
    if node.addr() != 0 {
        t.write(node, 0u32)?;
    }
    Ok(0)
}

/// getrandom(2): `size_t count` (at most 1 MiB per call here), `unsigned
/// int flags` (the high half ignored).
pub fn getrandom(t: &mut UThread, buf: UserSlice, flags: u32) -> SysResult {
    // GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE; RANDOM and INSECURE
    // together are refused
    if flags & !7 != 0 || flags & 6 == 6 {
        return Err(Errno::EINVAL);
    }
    let mut b = alloc::vec::Vec::new();
    b.try_reserve_exact(buf.len.min(1 << 20)).map_err(|_| Errno::ENOMEM)?;
    b.resize(buf.len.min(1 << 20), 0u8);
    crate::devices::random_bytes(&mut b);
    t.write_slice(buf.addr, &b)?;
    Ok(b.len() as isize)
}

fn coarse(ns: u64) -> u64 {
    ns / arch_x86_64::vdso::COARSE_NS * arch_x86_64::vdso::COARSE_NS
}

fn clock_ns(clock: u64) -> Result<u64, Errno> {
    match clock {
        0 | 8 | 11 => Ok(crate::time::realtime_ns()), // REALTIME(_ALARM), TAI
        1 | 4 | 7 | 9 => Ok(arch_x86_64::time::monotonic_ns()), // MONOTONIC(_RAW), BOOTTIME(_ALARM)
        // the COARSE clocks: rounded down to COARSE_NS, as the vDSO does
        5 => Ok(crate::time::realtime_offset_ns() + coarse(arch_x86_64::time::monotonic_ns())),
        6 => Ok(coarse(arch_x86_64::time::monotonic_ns())),
        _ => Err(Errno::EINVAL),
    }
}

/// A CPU-time clock: CLOCK_PROCESS_CPUTIME_ID (2), CLOCK_THREAD_CPUTIME_ID
/// (3), or one made by clock_getcpuclockid/pthread_getcpuclockid (Linux's
/// `((~pid) << 3) | per_thread << 2 | which`, which being PROF 0, VIRT 1,
/// SCHED 2). `Ok(None)` when `clock` is no CPU clock; `EINVAL` for a
/// malformed one or one whose process or thread does not exist (a thread
/// clock only for a thread of the caller's process, a process clock only
/// for a process id, as Linux's lookup_task()).
fn cpu_clock(t: &UThread, clock: u64) -> Result<Option<u64>, Errno> {
    let c = clock as i32;
    let (id, thread, which) = match c {
        2 => (0, false, 2),
        3 => (0, true, 2),
        c if c < 0 => (!(c >> 3) as u32, c & 4 != 0, c & 3),
        _ => return Ok(None),
    };
    if which == 3 {
        return Err(Errno::EINVAL);
    }
    crate::sched::charge(&t.cpu, Side::System);
    let table = crate::proc::table();
    let times = if thread {
        let tid = if id == 0 { t.tid } else { id };
        if table.tgid(tid) != Some(t.pid) {
            return Err(Errno::EINVAL);
        }
        table.thread_cpu(tid).ok_or(Errno::EINVAL)?.times()
    } else {
        let pid = if id == 0 { t.pid } else { id };
        if table.tgid(pid) != Some(pid) && table.with_process(pid, |_| ()).is_none() {
            return Err(Errno::EINVAL);
        }
        table.cpu_times(pid).ok_or(Errno::EINVAL)?
    };
    Ok(Some(if which == 1 { times.user_ns } else { times.total_ns() }))
}

pub fn clock_gettime(t: &mut UThread, clock: u32, tp: UserPtr<Timespec>) -> SysResult {
    let clock = u64::from(clock);
    let ns = match cpu_clock(t, clock)? {
        Some(ns) => ns,
        // the time namespace's offsets (MONOTONIC*, BOOTTIME*)
        None => t.time_off.apply(clock as u32, clock_ns(clock)?),
    };
    t.write(tp, Timespec::from_ns(ns))?;
    Ok(0)
}

pub fn clock_getres(t: &mut UThread, clock: u32, tp: UserPtr<Timespec>) -> SysResult {
    let clock = u64::from(clock);
    // posix_cpu_clock_getres(): 1 ns for the SCHED clocks, a tick for the
    // others (PROF, VIRT)
    let res = match cpu_clock(t, clock)? {
        Some(_) if clock as i32 >= 0 || clock & 3 == 2 => 1,
        Some(_) => 1_000_000,
        None => {
            clock_ns(clock)?;
            // the COARSE clocks move in steps of COARSE_NS
            if clock == 5 || clock == 6 { arch_x86_64::vdso::COARSE_NS } else { 1 }
        }
    };
    if !tp.is_null() {
        t.write(tp, Timespec::from_ns(res))?;
    }
    Ok(0)
}

/// gettimeofday(2): `tv` if not NULL, then `tz` if not NULL (the kernel's
/// `sys_tz`, which is zero as settimeofday(2) never sets it here); a bad
/// pointer in either is `EFAULT`.
pub fn gettimeofday(t: &mut UThread, tv: UserPtr<Timeval>, tz: UserPtr<Timezone>) -> SysResult {
    if !tv.is_null() {
        t.write(tv, Timeval::from_ns(crate::time::realtime_ns()))?;
    }
    if !tz.is_null() {
        t.write(tz, Timezone::default())?;
    }
    Ok(0)
}

pub fn time(t: &mut UThread, tloc: UserPtr<u64>) -> SysResult {
    let s = crate::time::realtime_ns() / 1_000_000_000;
    if !tloc.is_null() {
        t.write(tloc, s)?;
    }
    Ok(s as isize)
}

/// nanosleep(2) and clock_nanosleep(2) (`TIMER_ABSTIME` = 1); EINTR on a
/// signal, with the time left written to `rem` for relative sleeps.
pub fn nanosleep(
    t: &mut UThread,
    clock: u32,
    flags: u32,
    req: UserPtr<Timespec>,
    rem: UserPtr<Timespec>,
) -> SysResult {
    let clock = u64::from(clock);
    let mut want = t.read(req)?.to_ns()?;
    if flags & 1 != 0 {
        // an absolute time in the namespace's clock (timens_ktime_to_host)
        want = t.time_off.to_host(clock as u32, want);
    }
    let now_clock = match clock {
        // Linux sleeps on CPU time for a process clock, never a thread's;
        // here the CPU time is taken as passing with the monotonic clock
        2 => cpu_clock(t, 2)?.unwrap_or(0),
        _ => clock_ns(clock)?,
    };
    let now = crate::sched::now_ns();
    let deadline = if flags & 1 != 0 {
        now.saturating_add(want.saturating_sub(now_clock))
    } else {
        now.saturating_add(want)
    };
    let mut r = crate::proc::sleep_interruptible(t.tid, || false, Some(deadline));
    // task work (io_uring's) ends the sleep as a signal would: run, then
    // sleep on (Linux restarts the call: no EINTR without a signal)
    while r == Err(Errno::ERESTARTSYS) && crate::syscall::io_uring::run_notified(t) {
        r = crate::proc::sleep_interruptible(t.tid, || false, Some(deadline));
    }
    match r {
        Err(Errno::ERESTARTSYS) => {
            if flags & 1 == 0 && !rem.is_null() {
                let left = deadline.saturating_sub(crate::sched::now_ns());
                t.write(rem, Timespec::from_ns(left))?;
            }
            Err(Errno::EINTR)
        }
        _ => Ok(0),
    }
}

const LINUX_REBOOT_MAGIC1: i32 = 0xfee1_dead_u32 as i32;
const LINUX_REBOOT_CMD_POWER_OFF: u32 = 0x4321_fedc;
const LINUX_REBOOT_CMD_RESTART: u32 = 0x0123_4567;
const LINUX_REBOOT_CMD_HALT: u32 = 0xcdef_0123;

/// reboot(2): power-off, halt and restart end QEMU (status 0). `int
/// magic1, int magic2, unsigned int cmd`.
pub fn reboot(t: &mut UThread, magic1: i32, magic2: i32, cmd: u32) -> SysResult {
    if magic1 != LINUX_REBOOT_MAGIC1 || ![672274793, 85072278, 369367448, 537993216].contains(&magic2) {
        return Err(Errno::EINVAL);
    }
    let root = crate::proc::table().with_process(t.pid, |p| p.creds().capable()).unwrap_or(false);
    if !root {
        return Err(Errno::EPERM);
    }
    match cmd {
        LINUX_REBOOT_CMD_POWER_OFF | LINUX_REBOOT_CMD_HALT | LINUX_REBOOT_CMD_RESTART => {
            log::info!("reboot({cmd:#x}) from pid {}: powering off", t.pid);
            log::info!("{}", crate::sched::stats_line());
            log::info!("{}", crate::lockorder::wait_line());
            // nothing written to a disk is lost
            let _ = crate::fs::sync_all();
            arch_x86_64::qemu::poweroff()
        }
        _ => Ok(0),
    }
}

/// alarm(2): the seconds left on the previous alarm, rounded to nearest
/// (at least 1 when one was pending), as Linux's alarm_setitimer(). The
/// argument is an `unsigned int`: the register's upper half is ignored.
pub fn alarm(t: &mut UThread, secs: u32) -> SysResult {
    let secs = u64::from(secs);
    let (left, _) = crate::itimer::set(t.pid, secs * 1_000_000_000, 0)?;
    if left == 0 {
        return Ok(0);
    }
    // left is at most KTIME_MAX (itimer::set saturates there); the
    // result is an unsigned int, as Linux's
    let s = left.saturating_add(500_000_000) / 1_000_000_000;
    Ok(s.max(1) as u32 as isize)
}

/// setitimer(2): ITIMER_REAL (wall clock, SIGALRM), ITIMER_VIRTUAL (user
/// CPU time, SIGVTALRM) and ITIMER_PROF (user + system, SIGPROF).
pub fn setitimer(t: &mut UThread, which: u32, new: UserPtr<Itimerval>, old: UserPtr<Itimerval>) -> SysResult {
    if which > 2 {
        return Err(Errno::EINVAL);
    }
    let which = u64::from(which);
    let (interval, value) = if !new.is_null() {
        let it = t.read(new)?;
        (it.it_interval.to_ns()?, it.it_value.to_ns()?)
    } else {
        (0, 0)
    };
    let (left, ival) = if which == 0 {
        crate::itimer::set(t.pid, value, interval)?
    } else {
        crate::sched::charge(&t.cpu, Side::System);
        crate::itimer::set_cpu(t.pid, which, value, interval)
    };
    if !old.is_null() {
        t.write(old, Itimerval { it_interval: Timeval::from_ns(ival), it_value: Timeval::from_ns(left) })?;
    }
    Ok(0)
}

pub fn getitimer(t: &mut UThread, which: u32, cur: UserPtr<Itimerval>) -> SysResult {
    if which > 2 {
        return Err(Errno::EINVAL);
    }
    let which = u64::from(which);
    let (left, ival) = if which == 0 {
        crate::itimer::get(t.pid)
    } else {
        crate::sched::charge(&t.cpu, Side::System);
        crate::itimer::get_cpu(t.pid, which)
    };
    t.write(cur, Itimerval { it_interval: Timeval::from_ns(ival), it_value: Timeval::from_ns(left) })?;
    Ok(0)
}

/// sysinfo(2): uptime, memory in pages of 4 KiB (mem_unit), process count.
pub fn sysinfo(t: &mut UThread, buf: UserPtr<[u8; 112]>) -> SysResult {
    let (free, total) = arch_x86_64::mem::frames::stats();
    let mut b = [0u8; 112];
    let put = |b: &mut [u8; 112], off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    // the time namespace's boottime offset (timens_add_boottime)
    let up = t.time_off.apply(process::timens::CLOCK_BOOTTIME, arch_x86_64::time::since_boot_ns());
    put(&mut b, 0, up / 1_000_000_000);
    for (i, l) in crate::loadavg::fixed().into_iter().enumerate() {
        put(&mut b, 8 + 8 * i, process::loadavg::LoadAvg::sysinfo(l));
    }
    put(&mut b, 32, total);
    put(&mut b, 40, free);
    let procs = crate::proc::table().pids().len().min(u16::MAX as usize) as u16;
    b[80..82].copy_from_slice(&procs.to_le_bytes());
    b[104..108].copy_from_slice(&4096u32.to_le_bytes());
    t.write(buf, b)?;
    Ok(0)
}

/// Linux's TIME_SETTOD_SEC_MAX: KTIME_SEC_MAX less 30 years of uptime.
const SETTOD_SEC_MAX: i64 = i64::MAX / 1_000_000_000 - 30 * 365 * 86400;

/// Sets CLOCK_REALTIME to `sec.nsec` as do_sys_settimeofday64(): an invalid
/// time is EINVAL, then CAP_SYS_TIME (root) is needed (EPERM).
fn settime(t: &UThread, sec: i64, nsec: i64) -> SysResult {
    if !(0..SETTOD_SEC_MAX).contains(&sec) || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    if !crate::proc::table()
        .with_process(t.pid, |p| p.creds().has_cap(process::cred::CAP_SYS_TIME))
        .ok_or(Errno::ESRCH)?
    {
        return Err(Errno::EPERM);
    }
    crate::time::set_realtime_ns(sec as u64 * 1_000_000_000 + nsec as u64);
    crate::timerfd::clock_was_set();
    crate::posix_timer::clock_was_set();
    log::info!("pid {}: CLOCK_REALTIME set to {sec}.{nsec:09}", t.pid);
    Ok(0)
}

/// clock_settime(2): only CLOCK_REALTIME can be set; a pid/tid-encoded
/// CPU-time clock is EPERM (posix_cpu_clock_set), every other clock EINVAL.
pub fn clock_settime(t: &mut UThread, clock: u32, tp: UserPtr<Timespec>) -> SysResult {
    let clock = u64::from(clock);
    let Timespec { tv_sec: sec, tv_nsec: nsec } = t.read(tp)?;
    if clock != 0 {
        // the pid/tid-encoded CPU clocks have a clock_set that refuses
        // (posix_cpu_clock_set); CLOCK_PROCESS/THREAD_CPUTIME_ID have none
        return match cpu_clock(t, clock)? {
            Some(_) if (clock as i32) < 0 => Err(Errno::EPERM),
            _ => Err(Errno::EINVAL),
        };
    }
    settime(t, sec, nsec)
}

/// settimeofday(2): the time (if given, microseconds below 10^6), then the
/// privilege, then the time zone's minutes west within +-15 hours; the
/// time zone is otherwise not kept.
pub fn settimeofday(t: &mut UThread, tv: UserPtr<Timeval>, tz: UserPtr<Timezone>) -> SysResult {
    let time = if !tv.is_null() {
        let Timeval { tv_sec: sec, tv_usec: usec } = t.read(tv)?;
        if !(0..1_000_000).contains(&usec) || sec < 0 {
            return Err(Errno::EINVAL);
        }
        Some((sec, usec * 1000))
    } else {
        None
    };
    let minuteswest = if tz.is_null() { None } else { Some(t.read(tz)?.tz_minuteswest) };
    if let Some((sec, _)) = time
        && !(0..SETTOD_SEC_MAX).contains(&sec)
    {
        return Err(Errno::EINVAL);
    }
    if !crate::proc::table()
        .with_process(t.pid, |p| p.creds().has_cap(process::cred::CAP_SYS_TIME))
        .ok_or(Errno::ESRCH)?
    {
        return Err(Errno::EPERM);
    }
    if let Some(mw) = minuteswest
        && !(-15 * 60..=15 * 60).contains(&mw)
    {
        return Err(Errno::EINVAL);
    }
    if let Some((sec, nsec)) = time {
        settime(t, sec, nsec)?;
    }
    Ok(0)
}

const MEMBARRIER_CMD_QUERY: u64 = 0;
const MEMBARRIER_CMD_GLOBAL: u64 = 1;
const MEMBARRIER_CMD_GLOBAL_EXPEDITED: u64 = 2;
const MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: u64 = 4;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: u64 = 8;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: u64 = 16;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE: u64 = 32;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: u64 = 64;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ: u64 = 128;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ: u64 = 256;
/// Every command of Linux 6.1 (its MEMBARRIER_CMD_BITMASK).
const MEMBARRIER_CMD_BITMASK: u64 = 0x1ff;
const MEMBARRIER_CMD_FLAG_CPU: u64 = 1;

/// membarrier(2). One CPU runs everything and every switch is a full
/// barrier, so each barrier is done when the call returns; what is kept is
/// Linux's registration state of the address space (per process here,
/// reset by exec): a private expedited command before its registration is
/// EPERM.
pub fn membarrier(t: &mut UThread, cmd: i32, flags: u32, _cpu_id: i32) -> SysResult {
    let flags = u64::from(flags);
    let cmd = u64::from(cmd as u32);
    let flags_ok = match cmd {
        MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ => flags == 0 || flags == MEMBARRIER_CMD_FLAG_CPU,
        _ => flags == 0,
    };
    if !flags_ok {
        return Err(Errno::EINVAL);
    }
    let table = crate::proc::table();
    let registered = |bit: u64| table.with_process(t.pid, |p| p.membarrier() & bit != 0).unwrap_or(false);
    let register = |bit: u64| {
        table.with_process(t.pid, |p| p.register_membarrier(bit));
        Ok(0)
    };
    match cmd {
        MEMBARRIER_CMD_QUERY => Ok(MEMBARRIER_CMD_BITMASK as isize),
        MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_GLOBAL_EXPEDITED => Ok(0),
        MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED
        | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
        | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE
        | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ => register(cmd),
        MEMBARRIER_CMD_PRIVATE_EXPEDITED
        | MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE
        | MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ => {
            if !registered(cmd << 1) {
                return Err(Errno::EPERM);
            }
            // the process's rseq critical sections running now are
            // aborted before their threads run user code again (with
            // MEMBARRIER_CMD_FLAG_CPU Linux asks one CPU: every one is
            // asked here, an abort rseq allows at any time)
            if cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ {
                crate::rseq::membarrier_rseq(t);
            }
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// CAP_SYSLOG, which syslog(2) wants for everything while
/// kernel.dmesg_restrict is 1 (Debian's default, kept here).
const CAP_SYSLOG: u32 = 34;

/// syslog(2) (Linux's `do_syslog`): the kernel's log buffer
/// (`arch_x86_64::logger`) for dmesg(1): READ_ALL (the most recent lines
/// that fit), READ_CLEAR, CLEAR, READ (consuming, waiting for a line),
/// SIZE_UNREAD, SIZE_BUFFER; OPEN, CLOSE and the console switches do
/// nothing. As with dmesg_restrict 1 every action needs CAP_SYSLOG (root;
/// CAP_SYS_ADMIN too, as Linux allows with a warning): EPERM otherwise.
pub fn syslog(t: &mut UThread, action: i32, buf: u64, len: i32) -> SysResult {
    use arch_x86_64::logger::with_log;
    let privileged = crate::proc::table()
        .with_process(t.pid, |p| {
            p.creds().has_cap(CAP_SYSLOG) || p.creds().has_cap(process::cred::CAP_SYS_ADMIN)
        })
        .unwrap_or(false);
    if !privileged {
        return Err(Errno::EPERM);
    }
    let out = |len: i32| -> Result<Option<alloc::vec::Vec<u8>>, Errno> {
        if buf == 0 || len < 0 {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(None);
        }
        // access_ok over the whole length, as Linux, before the copy is
        // cut to what the buffer holds
        UserSlice::new(buf, len as usize).check()?;
        let len = (len as usize).min(arch_x86_64::logger::LOG_BUF_LEN);
        let mut v = alloc::vec::Vec::new();
        v.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
        v.resize(len, 0);
        Ok(Some(v))
    };
    match action {
        // CLOSE, OPEN, CONSOLE_OFF, CONSOLE_ON
        0 | 1 | 6 | 7 => Ok(0),
        // READ: blocks until there is something unread, then copies line
        // by line as Linux's `syslog_print`: whole lines (the first may be
        // cut when it does not fit), each consumed before its copy; a
        // fault ends the call (EFAULT when nothing was copied) and loses
        // only the line being copied, the rest stays unread
        2 => {
            if buf == 0 || len < 0 {
                return Err(Errno::EINVAL);
            }
            if len == 0 {
                return Ok(0);
            }
            UserSlice::new(buf, len as usize).check()?;
            let mut line = [0u8; arch_x86_64::logger::LINE_MAX];
            loop {
                let mut done = 0usize;
                while done < len as usize {
                    let room = (len as usize - done).min(line.len());
                    let n = with_log(|r| r.read_line(&mut line[..room], done == 0));
                    if n == 0 {
                        break;
                    }
                    if let Err(e) = t.write_slice(buf + done as u64, &line[..n]) {
                        return if done == 0 { Err(e) } else { Ok(done as isize) };
                    }
                    done += n;
                }
                if done > 0 {
                    return Ok(done as isize);
                }
                // no queue tells of new lines: look again every 100 ms
                let deadline = arch_x86_64::time::since_boot_ns() + 100_000_000;
                match crate::proc::sleep_interruptible(t.tid, || with_log(|r| r.unread() > 0), Some(deadline))
                {
                    Ok(()) | Err(Errno::ETIMEDOUT) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        // READ_ALL, READ_CLEAR
        3 | 4 => {
            let Some(mut v) = out(len)? else { return Ok(0) };
            let n = with_log(|r| {
                let n = r.read_all(&mut v);
                if action == 4 {
                    r.clear();
                }
                n
            });
            t.write_slice(buf, &v[..n])?;
            Ok(n as isize)
        }
        // CLEAR
        5 => {
            with_log(|r| r.clear());
            Ok(0)
        }
        // CONSOLE_LEVEL
        8 if (1..=8).contains(&len) => Ok(0),
        // SIZE_UNREAD, SIZE_BUFFER
        9 => Ok(with_log(|r| r.unread()) as isize),
        10 => Ok(with_log(|r| r.size()) as isize),
        _ => Err(Errno::EINVAL),
    }
}

/// adjtimex(2)'s mode bits (`ADJ_*`).
mod adj {
    pub const FREQUENCY: u32 = 0x0002;
    pub const MAXERROR: u32 = 0x0004;
    pub const ESTERROR: u32 = 0x0008;
    pub const STATUS: u32 = 0x0010;
    pub const TIMECONST: u32 = 0x0020;
    pub const TAI: u32 = 0x0080;
    pub const SETOFFSET: u32 = 0x0100;
    pub const MICRO: u32 = 0x1000;
    pub const NANO: u32 = 0x2000;
    pub const TICK: u32 = 0x4000;
    /// adjtime(3)'s: `ADJ_OFFSET_SINGLESHOT` is this and ADJ_OFFSET (1).
    pub const ADJTIME: u32 = 0x8000;
    pub const OFFSET_SINGLESHOT: u32 = 0x8001;
    pub const OFFSET_READONLY: u32 = 0x2000;
}

/// Clock status bits (`STA_*`) adjtimex reports.
const STA_PLL: i32 = 0x0001;
const STA_PPSFREQ: i32 = 0x0002;
const STA_PPSTIME: i32 = 0x0004;
const STA_UNSYNC: i32 = 0x0040;
const STA_PPSSIGNAL: i32 = 0x0100;
const STA_PPSJITTER: i32 = 0x0200;
const STA_PPSWANDER: i32 = 0x0400;
const STA_PPSERROR: i32 = 0x0800;
const STA_CLOCKERR: i32 = 0x1000;
const STA_NANO: i32 = 0x2000;
/// The bits only the kernel sets.
const STA_RONLY: i32 = 0xff00;
/// adjtimex's return value for an unsynchronised clock.
const TIME_ERROR: isize = 5;
/// NTP_PHASE_LIMIT: the maximum error, in us, at boot and at most.
const NTP_PHASE_LIMIT: i64 = 16_000_000;
/// MAXFREQ_SCALED / PPM_SCALE: 500 ppm with a 16-bit fraction.
const MAX_FREQ: i64 = 500 << 16;
/// The maximum error grows by MAXFREQ / NSEC_PER_USEC each second.
const MAXERROR_PER_SEC: i64 = 500;

/// The NTP state adjtimex(2) reports and sets: Linux's kernel/time/ntp.c
/// without its PLL and FLL. The clock is not steered: a frequency or tick
/// written is kept and read back, ADJ_OFFSET's phase offset is dropped
/// (read back 0; Linux keeps it with STA_PLL and decays it); adjtime(3)'s slew and
/// ADJ_SETOFFSET step CLOCK_REALTIME at once (Linux slews adjtime at 500
/// us a second); a leap second (STA_INS/STA_DEL) is never inserted.
struct Ntp {
    status: i32,
    freq: i64,
    maxerror: i64,
    /// When `maxerror` was written (ns since boot): it grows from there.
    maxerror_at: u64,
    esterror: i64,
    constant: i64,
    tick: i64,
    tai: i32,
}

static NTP: spin::Mutex<Ntp> = spin::Mutex::new(Ntp {
    status: STA_UNSYNC,
    freq: 0,
    maxerror: NTP_PHASE_LIMIT,
    maxerror_at: 0,
    esterror: NTP_PHASE_LIMIT,
    constant: 2,
    tick: 10_000,
    tai: 0,
});

impl Ntp {
    /// second_overflow's growth of the maximum error, done when read:
    /// past the limit the clock is unsynchronised.
    fn age(&mut self, now: u64) {
        let secs = now.saturating_sub(self.maxerror_at) / 1_000_000_000;
        if secs == 0 {
            return;
        }
        let grown = self.maxerror.saturating_add((secs as i64).saturating_mul(MAXERROR_PER_SEC));
        // second_overflow: past the limit (not at it) each second
        if grown > NTP_PHASE_LIMIT {
            self.maxerror = NTP_PHASE_LIMIT;
            self.status |= STA_UNSYNC;
        } else {
            self.maxerror = grown;
        }
        self.maxerror_at += secs * 1_000_000_000;
    }
}

/// Linux's is_error_status: what makes adjtimex return TIME_ERROR.
fn ntp_error(status: i32) -> bool {
    status & (STA_UNSYNC | STA_CLOCKERR) != 0
        || (status & (STA_PPSFREQ | STA_PPSTIME) != 0 && status & STA_PPSSIGNAL == 0)
        || status & (STA_PPSTIME | STA_PPSJITTER) == STA_PPSTIME | STA_PPSJITTER
        || (status & STA_PPSFREQ != 0 && status & (STA_PPSWANDER | STA_PPSERROR) != 0)
}

/// The frequency as ntp.c reads it back from its scaled `time_freq`
/// (PPM_SCALE, PPM_SCALE_INV and their shifts: a written value may come
/// back rounded).
fn freq_read_back(freq: i64) -> i64 {
    const PPM_SCALE: i64 = 1000 << 16;
    const PPM_SCALE_INV: i64 = (1 << 51) / PPM_SCALE + 1;
    let scaled = ((freq * PPM_SCALE) >> 19) * PPM_SCALE_INV;
    if scaled < 0 { -((-scaled) >> 32) } else { scaled >> 32 }
}

/// adjtimex(2) and clock_adjtime(2) on CLOCK_REALTIME (Linux's
/// timekeeping_validate_timex, then __do_adjtimex; see [`Ntp`] for what is
/// not modelled). Returns the clock state: TIME_ERROR (5) while the clock
/// is unsynchronised (as at boot), else TIME_OK (0).
fn do_adjtimex(t: &mut UThread, ptr: UserPtr<Timex>) -> SysResult {
    let mut tx = t.read(ptr)?;
    let modes = tx.modes;
    let cap = || {
        crate::proc::table()
            .with_process(t.pid, |p| p.creds().has_cap(process::cred::CAP_SYS_TIME))
            .unwrap_or(false)
    };
    if modes & adj::ADJTIME != 0 {
        if modes & adj::OFFSET_SINGLESHOT != adj::OFFSET_SINGLESHOT {
            return Err(Errno::EINVAL);
        }
        if modes & adj::OFFSET_READONLY == 0 && !cap() {
            return Err(Errno::EPERM);
        }
    } else {
        if modes != 0 && !cap() {
            return Err(Errno::EPERM);
        }
        // USER_HZ 100: within 10 % of 10,000 us
        if modes & adj::TICK != 0 && !(9_000..=11_000).contains(&tx.tick) {
            return Err(Errno::EINVAL);
        }
    }
    let nano = modes & adj::NANO != 0;
    if modes & adj::SETOFFSET != 0 {
        if !cap() {
            return Err(Errno::EPERM);
        }
        if tx.time.tv_usec < 0 || tx.time.tv_usec >= if nano { 1_000_000_000 } else { 1_000_000 } {
            return Err(Errno::EINVAL);
        }
    }
    // LLONG_MIN / PPM_SCALE ..= LLONG_MAX / PPM_SCALE
    if modes & adj::FREQUENCY != 0 && !(i64::MIN / 65_536_000..=i64::MAX / 65_536_000).contains(&tx.freq) {
        return Err(Errno::EINVAL);
    }
    let step = |delta_ns: i128| -> core::result::Result<(), Errno> {
        // timekeeping_inject_offset: the clock may not go below zero
        let now = i128::from(crate::time::realtime_ns());
        let to = now + delta_ns;
        if to < 0 || to >= i128::from(SETTOD_SEC_MAX) * 1_000_000_000 {
            return Err(Errno::EINVAL);
        }
        crate::time::set_realtime_ns(to as u64);
        crate::timerfd::clock_was_set();
        crate::posix_timer::clock_was_set();
        Ok(())
    };
    if modes & adj::SETOFFSET != 0 {
        let frac = if nano { tx.time.tv_usec } else { tx.time.tv_usec * 1000 };
        step(i128::from(tx.time.tv_sec) * 1_000_000_000 + i128::from(frac))?;
        log::info!("pid {}: CLOCK_REALTIME stepped by {}.{:09} s (adjtimex)", t.pid, tx.time.tv_sec, frac);
    }
    let now = arch_x86_64::time::monotonic_ns();
    let result = {
        let mut n = NTP.lock();
        n.age(now);
        if modes & adj::ADJTIME != 0 {
            // adjtime(3): nothing is left to slew (see `Ntp`)
            if modes & adj::OFFSET_READONLY == 0 && tx.offset != 0 {
                drop(n);
                step(i128::from(tx.offset) * 1000)?;
                n = NTP.lock();
            }
            tx.offset = 0;
        } else {
            if modes & adj::STATUS != 0 {
                if n.status & STA_PLL != 0 && tx.status & STA_PLL == 0 {
                    n.status = STA_UNSYNC;
                }
                n.status = (n.status & STA_RONLY) | (tx.status & !STA_RONLY);
            }
            if modes & adj::NANO != 0 {
                n.status |= STA_NANO;
            }
            if modes & adj::MICRO != 0 {
                n.status &= !STA_NANO;
            }
            if modes & adj::FREQUENCY != 0 {
                n.freq = tx.freq.clamp(-MAX_FREQ, MAX_FREQ);
            }
            // clamped to the operating range (6.1.104's "ntp: Clamp
            // maxerror and esterror to operating range")
            if modes & adj::MAXERROR != 0 {
                n.maxerror = tx.maxerror.clamp(0, NTP_PHASE_LIMIT);
                n.maxerror_at = now;
            }
            if modes & adj::ESTERROR != 0 {
                n.esterror = tx.esterror.clamp(0, NTP_PHASE_LIMIT);
            }
            if modes & adj::TIMECONST != 0 {
                // clamped to MAXTC, +4 in microsecond mode, clamped again
                let c = tx.constant.clamp(0, 10);
                n.constant = if n.status & STA_NANO == 0 { (c + 4).min(10) } else { c };
            }
            // MAX_TAI_OFFSET
            if modes & adj::TAI != 0 && (0..=100_000).contains(&tx.constant) {
                n.tai = tx.constant as i32;
            }
            if modes & adj::TICK != 0 {
                n.tick = tx.tick;
            }
            // no PLL: the phase offset stays 0
            tx.offset = 0;
        }
        tx.freq = freq_read_back(n.freq);
        tx.maxerror = n.maxerror;
        tx.esterror = n.esterror;
        tx.status = n.status;
        tx.constant = n.constant;
        tx.precision = 1;
        tx.tolerance = MAX_FREQ;
        tx.tick = n.tick;
        tx.tai = n.tai;
        (tx.ppsfreq, tx.jitter, tx.shift, tx.stabil) = (0, 0, 0, 0);
        (tx.jitcnt, tx.calcnt, tx.errcnt, tx.stbcnt) = (0, 0, 0, 0);
        let real = crate::time::realtime_ns();
        let ns = (real % 1_000_000_000) as i64;
        tx.time = Timeval {
            tv_sec: (real / 1_000_000_000) as i64,
            tv_usec: if n.status & STA_NANO != 0 { ns } else { ns / 1000 },
        };
        if ntp_error(n.status) { TIME_ERROR } else { 0 }
    };
    t.write(ptr, tx)?;
    Ok(result)
}

/// adjtimex(2).
pub fn adjtimex(t: &mut UThread, tx: UserPtr<Timex>) -> SysResult {
    do_adjtimex(t, tx)
}

/// clock_adjtime(2): CLOCK_REALTIME as adjtimex; the other clocks have
/// no clock_adj (`EOPNOTSUPP`), an unknown id is `EINVAL`.
pub fn clock_adjtime(t: &mut UThread, clock: i32, tx: UserPtr<Timex>) -> SysResult {
    match clock {
        0 => do_adjtimex(t, tx),
        1..=9 | 11 => Err(Errno::EOPNOTSUPP),
        // a posix clock fd (CLOCKFD): none here
        c if c < 0 && c & 7 == 3 => Err(Errno::EINVAL),
        c if c < 0 => Err(Errno::EOPNOTSUPP),
        _ => Err(Errno::EINVAL),
    }
}
