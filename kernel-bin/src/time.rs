//! Wall-clock time: the CMOS real-time clock read once at boot, then the
//! monotonic clock.

use core::sync::atomic::{AtomicU64, Ordering};

static BOOT_REALTIME_NS: AtomicU64 = AtomicU64::new(0);

/// Reads the CMOS clock (UTC) and remembers the wall-clock time of boot.
pub fn init() {
    let secs = arch_x86_64::cpu::cmos_unix_time();
    let ns = secs.saturating_mul(1_000_000_000).saturating_sub(arch_x86_64::time::monotonic_ns());
    BOOT_REALTIME_NS.store(ns, Ordering::Relaxed);
    arch_x86_64::vdso::set_realtime_offset(ns);
}

/// `CLOCK_REALTIME` minus the monotonic clock.
pub fn realtime_offset_ns() -> u64 {
    // the vvar page's word once it exists (the one copy both the system
    // call and the vDSO read); the boot value before
    arch_x86_64::vdso::realtime_offset().unwrap_or_else(|| BOOT_REALTIME_NS.load(Ordering::Relaxed))
}

/// `CLOCK_REALTIME` in nanoseconds since the epoch.
pub fn realtime_ns() -> u64 {
    realtime_offset_ns() + arch_x86_64::time::monotonic_ns()
}

/// Sets `CLOCK_REALTIME` to `ns` since the epoch (clock_settime,
/// settimeofday): the monotonic clock is untouched.
pub fn set_realtime_ns(ns: u64) {
    let off = ns.saturating_sub(arch_x86_64::time::monotonic_ns());
    BOOT_REALTIME_NS.store(off, Ordering::Relaxed);
    // the vDSO's copy (user space computes CLOCK_REALTIME from it)
    arch_x86_64::vdso::set_realtime_offset(off);
}

/// The UTS namespace of the running thread's process (the initial one's
/// copy for a kernel thread, which has none: every process shares it
/// unless it made its own).
pub fn current_uts() -> Option<alloc::sync::Arc<process::ns::UtsNs>> {
    let tid = crate::sched::current().id.load(Ordering::Relaxed) as u32;
    let pid = crate::proc::table().tgid(tid)?;
    crate::proc::table().with_process(pid, |p| p.ns().uts.clone())
}

/// The host name of the running thread's UTS namespace, as uname(2) and
/// /proc/sys/kernel/hostname show it.
pub fn hostname() -> alloc::vec::Vec<u8> {
    current_uts().map_or_else(|| b"(none)".to_vec(), |u| u.names().host().to_vec())
}

/// The NIS domain name of the running thread's UTS namespace, as uname(2)
/// and /proc/sys/kernel/domainname show it.
pub fn domainname() -> alloc::vec::Vec<u8> {
    current_uts().map_or_else(|| b"(none)".to_vec(), |u| u.names().domain().to_vec())
}

/// Sets the domain name of the running thread's UTS namespace (a writer
/// of /proc/sys/kernel/domainname, root's only by the file's mode).
pub fn set_domainname(name: alloc::vec::Vec<u8>) {
    if let Some(u) = current_uts() {
        u.update(|n| n.set_domain(&name));
    }
}

/// Sets the host name of the running thread's UTS namespace (a writer of
/// /proc/sys/kernel/hostname, which the file's mode lets only root open
/// for writing).
pub fn set_hostname(name: alloc::vec::Vec<u8>) {
    if let Some(u) = current_uts() {
        u.update(|n| n.set_host(&name));
    }
}
