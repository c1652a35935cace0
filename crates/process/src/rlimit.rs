//! Resource limits, per process (Linux keeps them in `signal_struct`):
//! copied by fork, kept by exec, changed by setrlimit/prlimit64 with
//! `do_prlimit()`'s rules.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use linux_abi::{Errno, Result};

use crate::cred::Credentials;

/// "No limit".
pub const RLIM_INFINITY: u64 = u64::MAX;
/// How many resources there are (`RLIM_NLIMITS`).
pub const RLIM_NLIMITS: usize = 16;
/// The largest hard `RLIMIT_NOFILE` (`/proc/sys/fs/nr_open`'s default).
pub const NR_OPEN: u64 = 1024 * 1024;

/// The resources (`include/uapi/asm-generic/resource.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Resource {
    /// CPU time in seconds.
    Cpu = 0,
    /// Largest file size.
    Fsize = 1,
    /// Data segment size.
    Data = 2,
    /// Stack size.
    Stack = 3,
    /// Core file size.
    Core = 4,
    /// Resident set size.
    Rss = 5,
    /// Processes of the real uid.
    Nproc = 6,
    /// Open files.
    Nofile = 7,
    /// Locked memory.
    Memlock = 8,
    /// Address space size.
    As = 9,
    /// File locks.
    Locks = 10,
    /// Pending signals.
    Sigpending = 11,
    /// POSIX message queue bytes.
    Msgqueue = 12,
    /// Nice ceiling.
    Nice = 13,
    /// Real-time priority ceiling.
    Rtprio = 14,
    /// Real-time CPU time in microseconds.
    Rttime = 15,
}

impl Resource {
    /// The resource for a syscall's number; `EINVAL` past `RLIM_NLIMITS`.
    pub fn from_u32(n: u32) -> Result<Self> {
        use Resource::*;
        const ALL: [Resource; RLIM_NLIMITS] = [
            Cpu, Fsize, Data, Stack, Core, Rss, Nproc, Nofile, Memlock, As, Locks, Sigpending, Msgqueue,
            Nice, Rtprio, Rttime,
        ];
        ALL.get(n as usize).copied().ok_or(Errno::EINVAL)
    }
}

/// A soft and a hard limit (`struct rlimit64`): [`Rlimit::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rlimit {
    /// The soft limit.
    pub cur: u64,
    /// The hard limit (ceiling of the soft one).
    pub max: u64,
}

impl Rlimit {
    /// A soft limit `cur` under the hard limit `max`.
    pub const fn new(cur: u64, max: u64) -> Self {
        Rlimit { cur, max }
    }

    /// Both limits the same.
    pub const fn both(v: u64) -> Self {
        Rlimit { cur: v, max: v }
    }
}

/// All limits of a process.
#[derive(Debug)]
pub struct Rlimits([Rlimit; RLIM_NLIMITS], Arc<SpaceRlimits>);

/// The [`SpaceRlimits`] of a forked child, allocated before the process
/// table's lock is taken (clone's unlocked copy phase, after its memory
/// pre-check: no `Arc::try_new` on stable Rust) and filled by
/// [`Rlimits::fork`] under it, which then allocates nothing.
#[derive(Debug)]
pub struct ForkSpace(Arc<SpaceRlimits>);

impl ForkSpace {
    /// Unlimited until [`Rlimits::fork`] stores the parent's limits.
    pub fn new() -> Self {
        ForkSpace(Arc::new(SpaceRlimits::from_limits(&[Rlimit::both(RLIM_INFINITY); RLIM_NLIMITS])))
    }
}

impl Default for ForkSpace {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for Rlimits {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Rlimits {}

/// The limits a process's address space checks as it grows (RLIMIT_AS's
/// soft limit, RLIMIT_DATA's soft and hard ones, RLIMIT_STACK's soft one),
/// readable without the process table: the threads of the process keep
/// the `Arc` ([`Rlimits::space`]) and read it at each mmap, mremap, brk and
/// stack-growing fault. Kept equal to the [`Rlimits`] it belongs to by
/// [`Rlimits::prlimit`]; a forked child gets its own. Not in the address
/// space: a `CLONE_VM` child (vfork, posix_spawn) shares that but not its
/// parent's limits.
#[derive(Debug)]
pub struct SpaceRlimits {
    address_space: AtomicU64,
    data: AtomicU64,
    data_max: AtomicU64,
    stack: AtomicU64,
}

impl SpaceRlimits {
    fn from_limits(l: &[Rlimit; RLIM_NLIMITS]) -> Self {
        SpaceRlimits {
            address_space: AtomicU64::new(l[Resource::As as usize].cur),
            data: AtomicU64::new(l[Resource::Data as usize].cur),
            data_max: AtomicU64::new(l[Resource::Data as usize].max),
            stack: AtomicU64::new(l[Resource::Stack as usize].cur),
        }
    }

    fn store(&self, l: &[Rlimit; RLIM_NLIMITS]) {
        self.address_space.store(l[Resource::As as usize].cur, Ordering::Relaxed);
        self.data.store(l[Resource::Data as usize].cur, Ordering::Relaxed);
        self.data_max.store(l[Resource::Data as usize].max, Ordering::Relaxed);
        self.stack.store(l[Resource::Stack as usize].cur, Ordering::Relaxed);
    }

    /// RLIMIT_AS's soft limit.
    pub fn address_space(&self) -> u64 {
        self.address_space.load(Ordering::Relaxed)
    }

    /// RLIMIT_DATA's soft and hard limits.
    pub fn data(&self) -> (u64, u64) {
        (self.data.load(Ordering::Relaxed), self.data_max.load(Ordering::Relaxed))
    }

    /// RLIMIT_STACK's soft limit.
    pub fn stack(&self) -> u64 {
        self.stack.load(Ordering::Relaxed)
    }
}

impl Rlimits {
    /// Linux's `INIT_RLIMITS` for init, with `nproc` and `sigpending` (which
    /// Linux derives from memory size) given.
    pub fn init(nproc: u64, sigpending: u64) -> Self {
        let inf = Rlimit::both(RLIM_INFINITY);
        let mut l = [inf; RLIM_NLIMITS];
        l[Resource::Stack as usize] = Rlimit { cur: 8 * 1024 * 1024, max: RLIM_INFINITY };
        l[Resource::Core as usize] = Rlimit { cur: 0, max: RLIM_INFINITY };
        l[Resource::Nproc as usize] = Rlimit::both(nproc);
        l[Resource::Nofile as usize] = Rlimit { cur: 1024, max: 4096 };
        l[Resource::Memlock as usize] = Rlimit::both(8 * 1024 * 1024);
        l[Resource::Sigpending as usize] = Rlimit::both(sigpending);
        l[Resource::Msgqueue as usize] = Rlimit::both(819_200);
        l[Resource::Nice as usize] = Rlimit::both(0);
        l[Resource::Rtprio as usize] = Rlimit::both(0);
        let space = Arc::new(SpaceRlimits::from_limits(&l));
        Rlimits(l, space)
    }

    /// A forked child's limits: these, with the address-space limits in
    /// `space` (its own, allocated before: nothing is allocated here).
    pub fn fork(&self, space: ForkSpace) -> Rlimits {
        space.0.store(&self.0);
        Rlimits(self.0, space.0)
    }

    /// Every limit, by [`Resource`] number (a copy that allocates nothing).
    pub fn values(&self) -> [Rlimit; RLIM_NLIMITS] {
        self.0
    }

    /// The address-space limits, shared with the process's threads (the
    /// same `Arc` for the life of this set of limits; a fork has another).
    pub fn space(&self) -> &Arc<SpaceRlimits> {
        &self.1
    }

    /// One limit.
    pub fn get(&self, r: Resource) -> Rlimit {
        self.0[r as usize]
    }

    /// The soft limit of a resource.
    pub fn cur(&self, r: Resource) -> u64 {
        self.0[r as usize].cur
    }

    /// Raises the soft limit of `r` to `cur` as the kernel does on its own
    /// (RLIMIT_RTTIME's one more second after a SIGXCPU): above the hard
    /// limit too, as Linux's check_thread_timers() stores it.
    pub fn raise_soft(&mut self, r: Resource, cur: u64) {
        self.0[r as usize].cur = cur;
        if matches!(r, Resource::As | Resource::Data | Resource::Stack) {
            self.1.store(&self.0);
        }
    }

    /// prlimit64's core (`do_prlimit()`): sets `new` if given and returns
    /// the old limit. `cur > max` is `EINVAL`; a hard `RLIMIT_NOFILE` above
    /// `nr_open` is `EPERM`; raising a hard limit needs
    /// `CAP_SYS_RESOURCE` (`capable`), else `EPERM`.
    pub fn prlimit(
        &mut self,
        r: Resource,
        new: Option<Rlimit>,
        capable: bool,
        nr_open: u64,
    ) -> Result<Rlimit> {
        let old = self.get(r);
        if let Some(n) = new {
            if n.cur > n.max {
                return Err(Errno::EINVAL);
            }
            if r == Resource::Nofile && n.max > nr_open {
                return Err(Errno::EPERM);
            }
            if n.max > old.max && !capable {
                return Err(Errno::EPERM);
            }
            self.0[r as usize] = n;
            if matches!(r, Resource::As | Resource::Data | Resource::Stack) {
                self.1.store(&self.0);
            }
        }
        Ok(old)
    }
}

/// prlimit64's permission to act on another process
/// (`check_prlimit_permission()`): the caller's real uid must equal the
/// target's real, effective and saved uid, and its real gid the target's
/// three gids; or the caller has `CAP_SYS_RESOURCE`.
pub fn check_prlimit_permission(caller: &Credentials, target: &Credentials) -> Result<()> {
    let same = caller.uid == target.uid
        && caller.uid == target.euid
        && caller.uid == target.suid
        && caller.gid == target.gid
        && caller.gid == target.egid
        && caller.gid == target.sgid;
    if same || caller.capable() { Ok(()) } else { Err(Errno::EPERM) }
}

/// The kernel stack of a thread on x86_64 (`THREAD_SIZE`, 16 KiB).
pub const THREAD_SIZE: u64 = 16 * 1024;
/// The fewest threads `threads-max` may allow (`MIN_THREADS`).
pub const MIN_THREADS: u64 = 20;
/// The most threads `threads-max` may allow (`MAX_THREADS`, `FUTEX_TID_MASK`).
pub const MAX_THREADS: u64 = 0x3fff_ffff;

/// `/proc/sys/kernel/threads-max` for `total_pages` pages of RAM of
/// `page_size` bytes, as kernel/fork.c's `set_max_threads`: thread
/// structures may take at most an eighth of memory, so `total * page_size /
/// (THREAD_SIZE * 8)`, clamped to `[MIN_THREADS, MAX_THREADS]`.
pub fn max_threads_for_ram(total_pages: u64, page_size: u64) -> u64 {
    let threads = match total_pages.checked_mul(page_size) {
        Some(bytes) => bytes / (THREAD_SIZE * 8),
        None => MAX_THREADS,
    };
    threads.clamp(MIN_THREADS, MAX_THREADS)
}

/// init's `RLIMIT_NPROC` (soft and hard; `RLIMIT_SIGPENDING` is the same):
/// half of `max_threads`, as `fork_init`.
pub fn default_nproc(max_threads: u64) -> u64 {
    max_threads / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address-space limits follow prlimit, and a copy (fork; a
    /// vfork child too, which shares only the address space) has its
    /// own: the child's setrlimit leaves the parent's alone.
    #[test]
    fn space_limits_follow_prlimit_and_are_per_process() {
        let mut parent = Rlimits::init(100, 100);
        assert_eq!(parent.space().address_space(), RLIM_INFINITY);
        assert_eq!(parent.space().stack(), 8 << 20);
        let mut child = parent.fork(ForkSpace::new());
        assert!(!Arc::ptr_eq(parent.space(), child.space()));
        assert_eq!(child, parent);
        assert_eq!(child.space().stack(), 8 << 20, "the parent's limits stored");
        child.prlimit(Resource::As, Some(Rlimit::new(1 << 20, 1 << 20)), false, NR_OPEN).unwrap();
        child.prlimit(Resource::Data, Some(Rlimit::new(1 << 16, 1 << 18)), false, NR_OPEN).unwrap();
        child.prlimit(Resource::Stack, Some(Rlimit::new(1 << 14, RLIM_INFINITY)), false, NR_OPEN).unwrap();
        assert_eq!(child.space().address_space(), 1 << 20);
        assert_eq!(child.space().data(), (1 << 16, 1 << 18));
        assert_eq!(child.space().stack(), 1 << 14);
        assert_eq!(parent.space().address_space(), RLIM_INFINITY);
        assert_eq!(parent.space().data(), (RLIM_INFINITY, RLIM_INFINITY));
        assert_eq!(parent.space().stack(), 8 << 20);
        // a refused change changes nothing
        let kept = parent.space().clone();
        assert_eq!(parent.prlimit(Resource::As, Some(Rlimit::new(2, 1)), true, NR_OPEN), Err(Errno::EINVAL));
        assert_eq!(kept.address_space(), RLIM_INFINITY);
        parent.prlimit(Resource::As, Some(Rlimit::new(4096, RLIM_INFINITY)), true, NR_OPEN).unwrap();
        assert_eq!(kept.address_space(), 4096, "the threads' Arc sees the change");
    }

    #[test]
    fn threads_max_from_ram() {
        // 1 GiB of 4 KiB pages: 262144 * 4096 / 131072 = 8192 threads.
        assert_eq!(max_threads_for_ram(262_144, 4096), 8192);
        assert_eq!(default_nproc(8192), 4096);
        // Odd counts round down: 944 MiB and 4 KiB more gives 7553, then 3776.
        assert_eq!(max_threads_for_ram(241_696, 4096), 7553);
        assert_eq!(default_nproc(7553), 3776);
        assert_eq!(max_threads_for_ram(0, 4096), MIN_THREADS);
        assert_eq!(max_threads_for_ram(u64::MAX, 4096), MAX_THREADS);
        assert_eq!(max_threads_for_ram(1 << 50, 4096), MAX_THREADS);
    }

    #[test]
    fn defaults() {
        let l = Rlimits::init(1000, 500);
        assert_eq!(l.get(Resource::Nofile), Rlimit { cur: 1024, max: 4096 });
        assert_eq!(l.get(Resource::Stack), Rlimit { cur: 8 << 20, max: RLIM_INFINITY });
        assert_eq!(l.get(Resource::Core), Rlimit { cur: 0, max: RLIM_INFINITY });
        assert_eq!(l.cur(Resource::Nproc), 1000);
        assert_eq!(l.cur(Resource::Sigpending), 500);
        assert_eq!(l.cur(Resource::Cpu), RLIM_INFINITY);
        assert_eq!(Resource::from_u32(15), Ok(Resource::Rttime));
        assert_eq!(Resource::from_u32(16), Err(Errno::EINVAL));
    }

    #[test]
    fn prlimit_rules() {
        let mut l = Rlimits::init(1000, 500);
        let r = Resource::Nofile;
        assert_eq!(l.prlimit(r, None, false, NR_OPEN), Ok(Rlimit { cur: 1024, max: 4096 }));
        assert_eq!(l.prlimit(r, Some(Rlimit { cur: 10, max: 5 }), true, NR_OPEN), Err(Errno::EINVAL));
        assert_eq!(l.prlimit(r, Some(Rlimit::both(NR_OPEN + 1)), true, NR_OPEN), Err(Errno::EPERM));
        assert_eq!(l.prlimit(r, Some(Rlimit::both(5000)), false, NR_OPEN), Err(Errno::EPERM));
        assert_eq!(
            l.prlimit(r, Some(Rlimit { cur: 100, max: 200 }), false, NR_OPEN),
            Ok(Rlimit { cur: 1024, max: 4096 })
        );
        // Lowered hard limit cannot be raised again without the capability.
        assert_eq!(l.prlimit(r, Some(Rlimit::both(300)), false, NR_OPEN), Err(Errno::EPERM));
        assert_eq!(l.prlimit(r, Some(Rlimit::both(300)), true, NR_OPEN), Ok(Rlimit { cur: 100, max: 200 }));
        assert_eq!(l.get(r), Rlimit::both(300));
    }

    #[test]
    fn raise_soft_past_hard() {
        let mut l = Rlimits::init(1000, 500);
        let r = Resource::Rttime;
        assert_eq!(
            l.prlimit(r, Some(Rlimit { cur: 100_000, max: 200_000 }), false, NR_OPEN).map(|_| ()),
            Ok(())
        );
        l.raise_soft(r, 1_100_000);
        assert_eq!(l.get(r), Rlimit { cur: 1_100_000, max: 200_000 });
    }

    #[test]
    fn prlimit_permission() {
        let a = Credentials::user(1000, 100);
        let mut b = Credentials::user(1000, 100);
        assert_eq!(check_prlimit_permission(&a, &b), Ok(()));
        b.suid = 0;
        assert_eq!(check_prlimit_permission(&a, &b), Err(Errno::EPERM));
        assert_eq!(check_prlimit_permission(&Credentials::root(), &b), Ok(()));
    }
}

/// RLIMIT_FSIZE for a write of `count` bytes at `pos` to a regular file
/// (Linux's `generic_write_check_limits()`): the bytes it may write, cut
/// to end at the limit, or `None` when it starts at or past the limit
/// (the caller sends `SIGXFSZ` and fails with `EFBIG`). A write of 0
/// bytes is never refused (`generic_write_checks()` returns first).
pub fn fsize_write(limit: u64, pos: u64, count: usize) -> Option<usize> {
    if limit == RLIM_INFINITY || count == 0 {
        return Some(count);
    }
    if pos >= limit {
        return None;
    }
    Some(usize::try_from(limit - pos).map_or(count, |room| room.min(count)))
}

/// RLIMIT_FSIZE for setting a regular file's size from `old` to `new`
/// (truncate, fallocate; Linux's `inode_newsize_ok()`): growing past the
/// limit is refused (`SIGXFSZ`, `EFBIG`), shrinking never is.
pub fn fsize_resize_ok(limit: u64, old: u64, new: u64) -> bool {
    limit == RLIM_INFINITY || new <= old || new <= limit
}

#[cfg(test)]
mod fsize_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn writes_are_cut_at_the_limit() {
        assert_eq!(fsize_write(RLIM_INFINITY, u64::MAX - 1, 100), Some(100));
        assert_eq!(fsize_write(1000, 900, 50), Some(50));
        assert_eq!(fsize_write(1000, 900, 200), Some(100));
        assert_eq!(fsize_write(1000, 1000, 1), None);
        assert_eq!(fsize_write(1000, 5000, 1), None);
        assert_eq!(fsize_write(1000, 5000, 0), Some(0));
        assert_eq!(fsize_write(0, 0, 1), None);
    }

    #[test]
    fn only_growth_past_the_limit_is_refused() {
        assert!(fsize_resize_ok(RLIM_INFINITY, 0, u64::MAX));
        assert!(fsize_resize_ok(1000, 0, 1000));
        assert!(!fsize_resize_ok(1000, 0, 1001));
        assert!(fsize_resize_ok(1000, 5000, 2000));
        assert!(fsize_resize_ok(1000, 5000, 5000));
        assert!(!fsize_resize_ok(1000, 5000, 5001));
    }

    proptest! {
        /// The bytes written never reach past the limit, and a write that
        /// starts below it writes at least one byte.
        #[test]
        fn never_past_the_limit(limit in 0u64..1 << 40, pos in 0u64..1 << 40, count in 0usize..1 << 30) {
            match fsize_write(limit, pos, count) {
                Some(n) => {
                    prop_assert!(n <= count);
                    prop_assert!(count == 0 || pos + n as u64 <= limit);
                    prop_assert!(count == 0 || n > 0);
                    prop_assert!(n == count || pos + n as u64 == limit);
                }
                None => prop_assert!(pos >= limit && count > 0),
            }
        }
    }
}

/// What RLIMIT_CPU asks for at a check of the process's CPU time
/// ([`cpu_limit_check`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuLimitAction {
    /// Below the soft limit (or no limit): nothing.
    None,
    /// At or past the soft limit: `SIGXCPU`, and the soft limit becomes
    /// the value given (one second more), so the next comes a second later.
    Xcpu(u64),
    /// At or past the hard limit: `SIGKILL`.
    Kill,
}

/// Linux 6.1's RLIMIT_CPU part of `check_process_timers()`: the process's
/// CPU time (user + system, `cpu_ns`) against the soft and hard limits
/// (`rlim`, in seconds). The hard limit is looked at first.
pub fn cpu_limit_check(rlim: Rlimit, cpu_ns: u64) -> CpuLimitAction {
    const NS: u64 = 1_000_000_000;
    if rlim.cur == RLIM_INFINITY {
        return CpuLimitAction::None;
    }
    if rlim.max != RLIM_INFINITY && cpu_ns >= rlim.max.saturating_mul(NS) {
        return CpuLimitAction::Kill;
    }
    if cpu_ns >= rlim.cur.saturating_mul(NS) {
        return CpuLimitAction::Xcpu(rlim.cur.saturating_add(1));
    }
    CpuLimitAction::None
}

#[cfg(test)]
mod cpu_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn soft_then_each_second_then_kill() {
        let s = 1_000_000_000;
        let l = Rlimit::new(1, 3);
        assert_eq!(cpu_limit_check(l, s - 1), CpuLimitAction::None);
        assert_eq!(cpu_limit_check(l, s), CpuLimitAction::Xcpu(2));
        assert_eq!(cpu_limit_check(Rlimit::new(2, 3), 2 * s + 5), CpuLimitAction::Xcpu(3));
        assert_eq!(cpu_limit_check(Rlimit::new(3, 3), 3 * s), CpuLimitAction::Kill);
        assert_eq!(cpu_limit_check(Rlimit::new(1, RLIM_INFINITY), 100 * s), CpuLimitAction::Xcpu(2));
        assert_eq!(cpu_limit_check(Rlimit::both(RLIM_INFINITY), u64::MAX), CpuLimitAction::None);
        // a soft limit of 0 fires at once
        assert_eq!(cpu_limit_check(Rlimit::new(0, 5), 0), CpuLimitAction::Xcpu(1));
    }

    proptest! {
        /// Run as the tick does (the soft limit raised after each
        /// SIGXCPU), a process gets one SIGXCPU per second from the soft
        /// limit up to the hard one, then SIGKILL.
        #[test]
        fn xcpu_count_before_kill(soft in 0u64..20, extra in 0u64..20, step_ms in 1u64..700) {
            let hard = soft + extra;
            let mut l = Rlimit::new(soft, hard);
            let mut xcpu = 0;
            let mut t = 0u64;
            loop {
                match cpu_limit_check(l, t) {
                    CpuLimitAction::None => {}
                    CpuLimitAction::Xcpu(c) => {
                        prop_assert!(c <= hard);
                        l.cur = c;
                        xcpu += 1;
                    }
                    CpuLimitAction::Kill => break,
                }
                t += step_ms * 1_000_000;
            }
            prop_assert_eq!(xcpu, extra);
            prop_assert!(t >= hard * 1_000_000_000);
        }
    }
}
