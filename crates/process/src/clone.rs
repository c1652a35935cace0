//! The clone family's arguments: [`CloneFlags`], [`CloneArgs`] built from
//! fork, vfork, clone(2) and clone3(2), and [`validate`], the checks of
//! Linux's `kernel_clone()` and `copy_process()` in their order.

use alloc::vec::Vec;
use bitflags::bitflags;
use linux_abi::{Errno, Result};

use crate::uaccess::UserMemory;

bitflags! {
    /// Every flag of Linux's `include/uapi/linux/sched.h`, in a 64-bit set.
    ///
    /// The low byte of clone(2)'s flags is the exit signal (`CSIGNAL`), not a
    /// flag; only clone3 can pass [`CloneFlags::NEWTIME`] (0x80), which lives
    /// there.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct CloneFlags: u64 {
        /// New time namespace (clone3 only; shares its bit with `CSIGNAL`).
        const NEWTIME = 0x0000_0080;
        /// Share the address space.
        const VM = 0x0000_0100;
        /// Share root, cwd and umask.
        const FS = 0x0000_0200;
        /// Share the fd table.
        const FILES = 0x0000_0400;
        /// Share the signal handlers.
        const SIGHAND = 0x0000_0800;
        /// Make a pidfd for the child.
        const PIDFD = 0x0000_1000;
        /// Trace the child too if the parent is traced.
        const PTRACE = 0x0000_2000;
        /// The parent sleeps until the child execs or exits.
        const VFORK = 0x0000_4000;
        /// The child gets the caller's parent.
        const PARENT = 0x0000_8000;
        /// Same thread group.
        const THREAD = 0x0001_0000;
        /// New mount namespace.
        const NEWNS = 0x0002_0000;
        /// Share the System V semaphore undo list.
        const SYSVSEM = 0x0004_0000;
        /// Set the child's TLS base.
        const SETTLS = 0x0008_0000;
        /// Write the child's tid in the parent's memory.
        const PARENT_SETTID = 0x0010_0000;
        /// Clear (and futex-wake) the child's tid word when it exits.
        const CHILD_CLEARTID = 0x0020_0000;
        /// Ignored by clone(); refused by clone3 and with `PIDFD`.
        const DETACHED = 0x0040_0000;
        /// A tracer cannot force `PTRACE` on the child.
        const UNTRACED = 0x0080_0000;
        /// Write the child's tid in the child's memory.
        const CHILD_SETTID = 0x0100_0000;
        /// New cgroup namespace.
        const NEWCGROUP = 0x0200_0000;
        /// New UTS namespace.
        const NEWUTS = 0x0400_0000;
        /// New IPC namespace.
        const NEWIPC = 0x0800_0000;
        /// New user namespace.
        const NEWUSER = 0x1000_0000;
        /// New pid namespace.
        const NEWPID = 0x2000_0000;
        /// New network namespace.
        const NEWNET = 0x4000_0000;
        /// Share the I/O context.
        const IO = 0x8000_0000;
        /// Reset the child's handlers to default (clone3 only).
        const CLEAR_SIGHAND = 0x1_0000_0000;
        /// Start the child in the cgroup of `cgroup` (clone3 only).
        const INTO_CGROUP = 0x2_0000_0000;
    }
}

/// The exit-signal byte of clone(2)'s flags.
pub const CSIGNAL: u64 = 0xff;
/// The flags clone(2) can pass (`CLONE_LEGACY_FLAGS`).
pub const CLONE_LEGACY_FLAGS: u64 = 0xffff_ffff;
/// `SIGCHLD` on Linux.
pub const SIGCHLD: u32 = 17;
/// The highest signal number (`_NSIG`).
pub const NSIG: u32 = 64;
/// The deepest pid-namespace nesting (`MAX_PID_NS_LEVEL`).
pub const MAX_PID_NS_LEVEL: u64 = 32;
/// clone3's struct sizes: VER0 up to `tls`, VER1 adds `set_tid` and
/// `set_tid_size`, VER2 `cgroup` (`linux_abi::abi::CloneArgs`).
pub use linux_abi::abi::{CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER1, CLONE_ARGS_SIZE_VER2};
/// The largest struct clone3 reads (`PAGE_SIZE`).
pub const CLONE_ARGS_MAX_SIZE: usize = 4096;
/// Where user space ends on x86_64 with 4-level paging (`TASK_SIZE_MAX`).
pub const USER_SPACE_END_X86_64: u64 = 0x0000_7fff_ffff_f000;

/// How a clone request reached the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloneKind {
    /// fork(2).
    Fork,
    /// vfork(2).
    Vfork,
    /// clone(2).
    Clone,
    /// clone3(2).
    Clone3,
}

/// One clone request, as Linux's `struct kernel_clone_args`.
///
/// Made by [`CloneArgs::fork`], [`CloneArgs::vfork`],
/// [`CloneArgs::from_clone`], [`CloneArgs::from_clone3`] or
/// [`CloneArgs::new`], changed by the `with_*` methods (the fields can be
/// read and set; a new field is not a breaking change):
///
/// ```
/// use process::clone::{CloneArgs, CloneFlags};
/// let a = CloneArgs::fork().with_flags(CloneFlags::PIDFD).with_pidfd(0x1000);
/// assert_eq!((a.exit_signal, a.pidfd), (17, 0x1000));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloneArgs {
    /// Where the request came from.
    pub kind: CloneKind,
    /// The flags (no exit-signal bits).
    pub flags: CloneFlags,
    /// The signal sent to the parent when the child exits (0: none).
    /// clone(2) can pass any byte; only `1..=64` is ever sent.
    pub exit_signal: u32,
    /// The child's stack pointer, or 0 to keep the parent's. For clone3 it
    /// is already `stack + stack_size` (the stack grows down).
    pub stack: u64,
    /// clone3's `stack_size` (0 for the others).
    pub stack_size: u64,
    /// Where `CLONE_PARENT_SETTID` writes the tid (parent's memory).
    pub parent_tid: u64,
    /// Where `CLONE_CHILD_SETTID` writes and `CLONE_CHILD_CLEARTID` clears.
    pub child_tid: u64,
    /// The TLS base for `CLONE_SETTLS`.
    pub tls: u64,
    /// Where `CLONE_PIDFD` writes the fd (clone(2): the `parent_tid` slot).
    pub pidfd: u64,
    /// clone3's `set_tid` array (innermost namespace last).
    pub set_tid: Vec<i32>,
    /// clone3's cgroup fd for `CLONE_INTO_CGROUP`.
    pub cgroup: u64,
}

impl CloneArgs {
    /// A request of `kind` with `flags` and `exit_signal`, every address,
    /// the stack and the TLS 0, no `set_tid`.
    pub fn new(kind: CloneKind, flags: CloneFlags, exit_signal: u32) -> Self {
        Self::base(kind, flags, exit_signal)
    }

    /// With these flags (no exit-signal bits).
    pub fn with_flags(mut self, flags: CloneFlags) -> Self {
        self.flags = flags;
        self
    }

    /// With this exit signal (0: none).
    pub fn with_exit_signal(mut self, sig: u32) -> Self {
        self.exit_signal = sig;
        self
    }

    /// With this stack pointer (the top: clone3's `stack + stack_size`)
    /// and clone3's `stack_size`.
    pub fn with_stack(mut self, stack: u64, stack_size: u64) -> Self {
        (self.stack, self.stack_size) = (stack, stack_size);
        self
    }

    /// With the `CLONE_PARENT_SETTID` address.
    pub fn with_parent_tid(mut self, addr: u64) -> Self {
        self.parent_tid = addr;
        self
    }

    /// With the `CLONE_CHILD_SETTID` / `CLONE_CHILD_CLEARTID` address.
    pub fn with_child_tid(mut self, addr: u64) -> Self {
        self.child_tid = addr;
        self
    }

    /// With the `CLONE_SETTLS` base.
    pub fn with_tls(mut self, tls: u64) -> Self {
        self.tls = tls;
        self
    }

    /// With the `CLONE_PIDFD` address.
    pub fn with_pidfd(mut self, addr: u64) -> Self {
        self.pidfd = addr;
        self
    }

    /// With clone3's `set_tid` array (innermost namespace last).
    pub fn with_set_tid(mut self, set_tid: Vec<i32>) -> Self {
        self.set_tid = set_tid;
        self
    }

    /// With clone3's `CLONE_INTO_CGROUP` fd.
    pub fn with_cgroup(mut self, fd: u64) -> Self {
        self.cgroup = fd;
        self
    }

    fn base(kind: CloneKind, flags: CloneFlags, exit_signal: u32) -> Self {
        CloneArgs {
            kind,
            flags,
            exit_signal,
            stack: 0,
            stack_size: 0,
            parent_tid: 0,
            child_tid: 0,
            tls: 0,
            pidfd: 0,
            set_tid: Vec::new(),
            cgroup: 0,
        }
    }

    /// fork(2): `{ .exit_signal = SIGCHLD }`.
    pub fn fork() -> Self {
        Self::base(CloneKind::Fork, CloneFlags::empty(), SIGCHLD)
    }

    /// vfork(2): `CLONE_VFORK | CLONE_VM`, `SIGCHLD`.
    pub fn vfork() -> Self {
        Self::base(CloneKind::Vfork, CloneFlags::VFORK | CloneFlags::VM, SIGCHLD)
    }

    /// clone(2) with x86_64's argument order
    /// `(flags, stack, parent_tid, child_tid, tls)`. As Linux, only the low
    /// 32 bits of `flags` count; their low byte is the exit signal, and
    /// `CLONE_PIDFD` writes the fd where `parent_tid` points.
    pub fn from_clone(flags: u64, stack: u64, parent_tid: u64, child_tid: u64, tls: u64) -> Self {
        let low = flags & CLONE_LEGACY_FLAGS;
        let mut a = Self::base(
            CloneKind::Clone,
            CloneFlags::from_bits_retain(low & !CSIGNAL),
            (low & CSIGNAL) as u32,
        );
        a.stack = stack;
        a.parent_tid = parent_tid;
        a.child_tid = child_tid;
        a.tls = tls;
        a.pidfd = parent_tid;
        a
    }

    /// clone3(2): reads `size` bytes of `struct clone_args` at `addr` and
    /// checks them as `copy_clone_args_from_user()` and
    /// `clone3_args_valid()` do. `user_end` is the end of user space for
    /// the stack's `access_ok()` (x86_64: [`USER_SPACE_END_X86_64`]).
    ///
    /// - `size > 4096` or a non-zero byte past the known struct: `E2BIG`;
    ///   `size < 64`: `EINVAL`; a bad address: `EFAULT`.
    /// - `set_tid_size > 32`, `set_tid` without size or size without
    ///   `set_tid`, an exit signal above 64, `CLONE_INTO_CGROUP` with
    ///   `cgroup > INT_MAX` or a struct smaller than 88: `EINVAL`.
    /// - unknown flags, `CLONE_DETACHED`, `CSIGNAL` bits other than
    ///   `CLONE_NEWTIME`, `CLONE_SIGHAND` with `CLONE_CLEAR_SIGHAND`, an exit
    ///   signal with `CLONE_THREAD`/`CLONE_PARENT`, a stack without a size
    ///   (or a size without a stack, or one outside user space): `EINVAL`.
    pub fn from_clone3(mem: &impl UserMemory, addr: u64, size: usize, user_end: u64) -> Result<Self> {
        if size > CLONE_ARGS_MAX_SIZE {
            return Err(Errno::E2BIG);
        }
        if size < CLONE_ARGS_SIZE_VER0 {
            return Err(Errno::EINVAL);
        }
        let mut raw = [0u8; CLONE_ARGS_SIZE_VER2];
        // copy_struct_from_user(): the unknown tail must be zero, read in
        // 64-byte pieces in order as check_zeroed_user() does (a tail of
        // up to a page on the stack made clone3's frame 4 KiB deeper, under
        // a fork that is deep already)
        let mut off = CLONE_ARGS_SIZE_VER2;
        let mut piece = [0u8; 64];
        while off < size {
            let n = (size - off).min(piece.len());
            let at = addr.checked_add(off as u64).ok_or(Errno::EFAULT)?;
            mem.read_bytes(at, &mut piece[..n])?;
            if piece[..n].iter().any(|&b| b != 0) {
                return Err(Errno::E2BIG);
            }
            off += n;
        }
        // a shorter (older) struct reads as the newest with the rest zero
        let n = size.min(CLONE_ARGS_SIZE_VER2);
        mem.read_bytes(addr, &mut raw[..n])?;
        let linux_abi::abi::CloneArgs {
            flags,
            pidfd,
            child_tid,
            parent_tid,
            exit_signal,
            stack,
            stack_size,
            tls,
            set_tid,
            set_tid_size,
            cgroup,
        } = linux_abi::pod::Pod::from_bytes(&raw);

        // copy_clone_args_from_user()
        if set_tid_size > MAX_PID_NS_LEVEL {
            return Err(Errno::EINVAL);
        }
        if set_tid == 0 && set_tid_size > 0 {
            return Err(Errno::EINVAL);
        }
        if set_tid != 0 && set_tid_size == 0 {
            return Err(Errno::EINVAL);
        }
        if exit_signal & !CSIGNAL != 0 || exit_signal > NSIG as u64 {
            return Err(Errno::EINVAL);
        }
        if flags & CloneFlags::INTO_CGROUP.bits() != 0
            && (cgroup > i32::MAX as u64 || size < CLONE_ARGS_SIZE_VER2)
        {
            return Err(Errno::EINVAL);
        }
        let mut tids = Vec::new();
        for i in 0..set_tid_size {
            let a = set_tid.checked_add(i * 4).ok_or(Errno::EFAULT)?;
            tids.push(mem.read_u32(a)? as i32);
        }

        // clone3_args_valid()
        let known = CLONE_LEGACY_FLAGS | CloneFlags::CLEAR_SIGHAND.bits() | CloneFlags::INTO_CGROUP.bits();
        if flags & !known != 0 {
            return Err(Errno::EINVAL);
        }
        let reused = CloneFlags::DETACHED.bits() | (CSIGNAL & !CloneFlags::NEWTIME.bits());
        if flags & reused != 0 {
            return Err(Errno::EINVAL);
        }
        let flags = CloneFlags::from_bits_retain(flags);
        if flags.contains(CloneFlags::SIGHAND | CloneFlags::CLEAR_SIGHAND) {
            return Err(Errno::EINVAL);
        }
        if flags.intersects(CloneFlags::THREAD | CloneFlags::PARENT) && exit_signal != 0 {
            return Err(Errno::EINVAL);
        }
        // clone3_stack_valid()
        let sp = if stack == 0 {
            if stack_size > 0 {
                return Err(Errno::EINVAL);
            }
            0
        } else {
            if stack_size == 0 {
                return Err(Errno::EINVAL);
            }
            match stack.checked_add(stack_size) {
                Some(end) if end <= user_end => end,
                _ => return Err(Errno::EINVAL),
            }
        };

        let mut a = Self::base(CloneKind::Clone3, flags, exit_signal as u32);
        a.pidfd = pidfd;
        a.child_tid = child_tid;
        a.parent_tid = parent_tid;
        a.stack = sp;
        a.stack_size = stack_size;
        a.tls = tls;
        a.set_tid = tids;
        a.cgroup = cgroup;
        Ok(a)
    }

    /// The exit signal that is really sent: `1..=64`, else none.
    pub fn effective_exit_signal(&self) -> Option<u32> {
        (1..=NSIG).contains(&self.exit_signal).then_some(self.exit_signal)
    }
}

/// What [`validate`] needs to know about the caller: start from
/// [`CloneCaller::unprivileged`] or [`CloneCaller::root`] and set the fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloneCaller {
    /// The caller's thread group is init (Linux's `SIGNAL_UNKILLABLE`).
    pub is_init: bool,
    /// `CAP_SYS_ADMIN` (here: effective uid 0).
    pub cap_sys_admin: bool,
    /// `CAP_SYS_ADMIN` over the caller's own user namespace (what a new
    /// namespace other than a user namespace needs).
    pub ns_admin: bool,
    /// `CAP_SYS_RESOURCE` (here: effective uid 0).
    pub cap_sys_resource: bool,
    /// `CAP_CHECKPOINT_RESTORE` (for `set_tid`).
    pub cap_checkpoint_restore: bool,
    /// The caller's real uid.
    pub ruid: u32,
    /// How many tasks (threads, zombies included) that real uid has.
    pub user_processes: u64,
    /// The caller's soft `RLIMIT_NPROC`.
    pub rlimit_nproc: u64,
    /// Tasks in the system (threads, zombies included).
    pub nr_threads: u64,
    /// The system-wide limit (`max_threads`).
    pub max_threads: u64,
    /// `pid_max`, for `set_tid`'s range check.
    pub pid_max: u32,
    /// Whether the pid namespace has its init (`child_reaper`).
    pub has_reaper: bool,
    /// The level of the PID namespace the caller's children go into
    /// (`pid_for_children`; 0: the initial one): `set_tid` has at most one
    /// number per level (one more with `CLONE_NEWPID`).
    pub pid_level: u32,
    /// The caller's children go into another time namespace than its own
    /// (after unshare(CLONE_NEWTIME)): no thread, no `CLONE_VM` child.
    pub time_differs: bool,
}

impl CloneCaller {
    /// An unprivileged caller (uid 1000) far from every limit.
    pub fn unprivileged() -> Self {
        CloneCaller {
            is_init: false,
            cap_sys_admin: false,
            ns_admin: false,
            cap_sys_resource: false,
            cap_checkpoint_restore: false,
            ruid: 1000,
            user_processes: 1,
            rlimit_nproc: u64::MAX,
            nr_threads: 1,
            max_threads: u64::MAX,
            pid_max: crate::pid::PID_MAX_DEFAULT,
            has_reaper: true,
            pid_level: 0,
            time_differs: false,
        }
    }

    /// A root caller (every capability) far from every limit.
    pub fn root() -> Self {
        CloneCaller {
            cap_sys_admin: true,
            ns_admin: true,
            cap_sys_resource: true,
            cap_checkpoint_restore: true,
            ruid: 0,
            ..Self::unprivileged()
        }
    }
}

/// The namespace flags other than `CLONE_NEWUSER`.
pub const NS_FLAGS: CloneFlags = CloneFlags::NEWNS
    .union(CloneFlags::NEWUTS)
    .union(CloneFlags::NEWIPC)
    .union(CloneFlags::NEWPID)
    .union(CloneFlags::NEWNET)
    .union(CloneFlags::NEWCGROUP)
    .union(CloneFlags::NEWTIME);

/// The namespace flags this kernel builds (the others are `EINVAL`).
pub const NS_SUPPORTED: CloneFlags = CloneFlags::NEWUTS
    .union(CloneFlags::NEWNS)
    .union(CloneFlags::NEWPID)
    .union(CloneFlags::NEWIPC)
    .union(CloneFlags::NEWNET)
    .union(CloneFlags::NEWTIME)
    .union(CloneFlags::NEWCGROUP);

/// Every check Linux makes before it allocates the child's pid, in Linux's
/// order (`kernel_clone()`, then `copy_process()`, then `alloc_pid()`'s
/// `set_tid` checks). The pid allocator then gives `EEXIST` or `EAGAIN`.
///
/// Namespaces: `CLONE_NEWUSER` is allowed to anyone (the limits of
/// `create_user_ns` are checked when the child's credentials are made);
/// the others need `CAP_SYS_ADMIN` over the caller's user namespace, or a
/// new user namespace, else `EPERM`, as in Linux; those this kernel does not
/// build ([`NS_SUPPORTED`]) are then `EINVAL` (Linux without the
/// namespace's config option).
pub fn validate(args: &CloneArgs, caller: &CloneCaller) -> Result<()> {
    use CloneFlags as F;
    let f = args.flags;
    // kernel_clone(): pidfd and parent tid cannot share a slot (always true
    // for clone(2), where both are the parent_tid argument).
    if f.contains(F::PIDFD | F::PARENT_SETTID) && args.pidfd == args.parent_tid {
        return Err(Errno::EINVAL);
    }
    // clone3_args_valid()'s rule, again for arguments built by hand
    // (clone(2) cannot pass the bit).
    if f.contains(F::SIGHAND | F::CLEAR_SIGHAND) {
        return Err(Errno::EINVAL);
    }
    // copy_process()
    if f.contains(F::NEWNS | F::FS) {
        return Err(Errno::EINVAL);
    }
    if f.contains(F::NEWUSER | F::FS) {
        return Err(Errno::EINVAL);
    }
    if f.contains(F::THREAD) && !f.contains(F::SIGHAND) {
        return Err(Errno::EINVAL);
    }
    if f.contains(F::SIGHAND) && !f.contains(F::VM) {
        return Err(Errno::EINVAL);
    }
    if f.contains(F::PARENT) && caller.is_init {
        return Err(Errno::EINVAL);
    }
    if f.contains(F::THREAD) && f.intersects(F::NEWUSER | F::NEWPID) {
        return Err(Errno::EINVAL);
    }
    if f.intersects(F::THREAD | F::VM) && caller.time_differs {
        return Err(Errno::EINVAL);
    }
    // Before Linux 6.9 (and without PIDFD_THREAD support, here) a pidfd
    // cannot refer to a thread.
    if f.contains(F::PIDFD) && f.intersects(F::DETACHED | F::THREAD) {
        return Err(Errno::EINVAL);
    }
    // RLIMIT_NPROC (counted with the new task), then max_threads.
    if caller.user_processes >= caller.rlimit_nproc
        && caller.ruid != 0
        && !caller.cap_sys_resource
        && !caller.cap_sys_admin
    {
        return Err(Errno::EAGAIN);
    }
    if caller.nr_threads >= caller.max_threads {
        return Err(Errno::EAGAIN);
    }
    // copy_namespaces()
    if f.intersects(NS_FLAGS) {
        // ns_capable(new user namespace or the caller's, CAP_SYS_ADMIN):
        // the creator of a user namespace has every capability in it
        if !caller.ns_admin && !f.contains(F::NEWUSER) {
            return Err(Errno::EPERM);
        }
        // NEWIPC with SYSVSEM is EINVAL in Linux too; so is every
        // namespace this kernel does not build.
        if f.contains(F::NEWIPC | F::SYSVSEM) || f.intersects(NS_FLAGS.difference(NS_SUPPORTED)) {
            return Err(Errno::EINVAL);
        }
        // the namespaces are per process here
        if f.contains(F::THREAD) {
            return Err(Errno::EINVAL);
        }
    }
    // alloc_pid(): at most one number per level of the child's namespace
    let levels = caller.pid_level as usize + 1 + usize::from(f.contains(F::NEWPID));
    if args.set_tid.len() > levels {
        return Err(Errno::EINVAL);
    }
    for &tid in args.set_tid.iter() {
        if tid < 1 || tid as u32 >= caller.pid_max {
            return Err(Errno::EINVAL);
        }
        if tid != 1 && !caller.has_reaper {
            return Err(Errno::EINVAL);
        }
        if !caller.cap_sys_admin && !caller.cap_checkpoint_restore {
            return Err(Errno::EPERM);
        }
    }
    Ok(())
}

/// Kernel memory kept back from new tasks (`clone_memory_check`): what the
/// kernel still needs once a fork is refused (page tables, page faults of
/// running processes, exit paths), so that a fork bomb ends in `ENOMEM`
/// rather than in a failed kernel allocation.
pub const CLONE_RESERVE: u64 = 4 << 20;
/// Kernel heap bytes one copied mapping costs a forked address space (an
/// upper bound of a mapping record and its share of the ordered map).
pub const MAPPING_COST: u64 = 256;

/// The memory pre-check before clone allocates anything: the new task's
/// kernel stack, the child's copy of `copied_mappings` mappings (0 with
/// `CLONE_VM`), and the [`CLONE_RESERVE`] must fit in the free frames plus
/// the free part of the kernel heap; else `ENOMEM`, as copy_process when
/// dup_task_struct cannot allocate. The kernel's allocations cannot fail
/// softly (no `Arc::try_new` on stable Rust), hence this check ahead.
pub fn clone_memory_check(
    free_bytes: u64,
    heap_free: u64,
    kernel_stack: u64,
    copied_mappings: u64,
) -> Result<()> {
    let need = copied_mappings
        .saturating_mul(MAPPING_COST)
        .saturating_add(kernel_stack)
        .saturating_add(CLONE_RESERVE);
    if free_bytes.saturating_add(heap_free) < need { Err(Errno::ENOMEM) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn clone_memory_check_keeps_the_reserve() {
        let stack = 64 * 1024;
        let need = CLONE_RESERVE + stack;
        assert_eq!(clone_memory_check(need, 0, stack, 0), Ok(()));
        assert_eq!(clone_memory_check(need - 1, 0, stack, 0), Err(Errno::ENOMEM));
        assert_eq!(clone_memory_check(need - 4096, 4096, stack, 0), Ok(()));
        // A fork copies the mappings; a thread (CLONE_VM) does not.
        assert_eq!(clone_memory_check(need, 0, stack, 10), Err(Errno::ENOMEM));
        assert_eq!(clone_memory_check(need + 10 * MAPPING_COST, 0, stack, 10), Ok(()));
        assert_eq!(clone_memory_check(u64::MAX, u64::MAX, u64::MAX, u64::MAX), Ok(()));
        assert_eq!(clone_memory_check(0, 0, 0, u64::MAX), Err(Errno::ENOMEM));
    }

    use super::*;
    use crate::testing::VecMemory;
    use alloc::vec;

    /// The clone3 structure's address.
    const BASE: u64 = 0x1000;

    #[derive(Default, Clone)]
    struct Raw {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }

    impl Raw {
        fn bytes(&self) -> Vec<u8> {
            let mut v = Vec::new();
            for x in [
                self.flags,
                self.pidfd,
                self.child_tid,
                self.parent_tid,
                self.exit_signal,
                self.stack,
                self.stack_size,
                self.tls,
                self.set_tid,
                self.set_tid_size,
                self.cgroup,
            ] {
                v.extend_from_slice(&x.to_ne_bytes());
            }
            v
        }
    }

    fn parse_sized(raw: &Raw, size: usize, extra: &[u8]) -> Result<CloneArgs> {
        let mut bytes = raw.bytes();
        bytes.extend_from_slice(extra);
        bytes.resize(0x2000, 0);
        // set_tid values at 0x2800.
        bytes[0x1800..0x1804].copy_from_slice(&77u32.to_ne_bytes());
        bytes[0x1804..0x1808].copy_from_slice(&78u32.to_ne_bytes());
        let mem = VecMemory::new(BASE, bytes);
        CloneArgs::from_clone3(&mem, BASE, size, USER_SPACE_END_X86_64)
    }

    fn parse(raw: &Raw) -> Result<CloneArgs> {
        parse_sized(raw, 88, &[])
    }

    #[test]
    fn flag_values_match_sched_h() {
        assert_eq!(CloneFlags::VM.bits(), 0x100);
        assert_eq!(CloneFlags::PIDFD.bits(), 0x1000);
        assert_eq!(CloneFlags::THREAD.bits(), 0x10000);
        assert_eq!(CloneFlags::CHILD_SETTID.bits(), 0x0100_0000);
        assert_eq!(CloneFlags::IO.bits(), 0x8000_0000);
        assert_eq!(CloneFlags::CLEAR_SIGHAND.bits(), 1 << 32);
        assert_eq!(CloneFlags::INTO_CGROUP.bits(), 1 << 33);
        assert_eq!(CloneFlags::all().bits(), 0x3_ffff_ff80);
    }

    #[test]
    fn fork_and_vfork() {
        let f = CloneArgs::fork();
        assert_eq!(f.flags, CloneFlags::empty());
        assert_eq!(f.exit_signal, 17);
        let v = CloneArgs::vfork();
        assert_eq!(v.flags, CloneFlags::VFORK | CloneFlags::VM);
        assert_eq!(v.exit_signal, 17);
        assert_eq!(v.kind, CloneKind::Vfork);
    }

    #[test]
    fn clone_argument_order_and_csignal() {
        let a = CloneArgs::from_clone(0x1_0000_0000 | 0x0011_0f00 | 17, 0x7000, 0x100, 0x200, 0x300);
        assert_eq!(
            a.flags,
            CloneFlags::VM
                | CloneFlags::FS
                | CloneFlags::FILES
                | CloneFlags::SIGHAND
                | CloneFlags::THREAD
                | CloneFlags::PARENT_SETTID
        );
        assert_eq!(a.exit_signal, 17);
        assert_eq!(a.stack, 0x7000);
        assert_eq!(a.parent_tid, 0x100);
        assert_eq!(a.child_tid, 0x200);
        assert_eq!(a.tls, 0x300);
        assert_eq!(a.pidfd, 0x100);
        // Exit signal 0x80 is a signal byte for clone(), never NEWTIME.
        let b = CloneArgs::from_clone(0x80, 0, 0, 0, 0);
        assert_eq!(b.flags, CloneFlags::empty());
        assert_eq!(b.exit_signal, 0x80);
        assert_eq!(b.effective_exit_signal(), None);
        assert_eq!(CloneArgs::fork().effective_exit_signal(), Some(17));
    }

    #[test]
    fn clone3_sizes() {
        let raw = Raw { flags: CloneFlags::VM.bits(), exit_signal: 17, ..Raw::default() };
        assert_eq!(parse_sized(&raw, 63, &[]), Err(Errno::EINVAL));
        assert_eq!(parse_sized(&raw, 0, &[]), Err(Errno::EINVAL));
        for size in [64, 72, 80, 88] {
            let a = parse_sized(&raw, size, &[]).unwrap();
            assert_eq!(a.flags, CloneFlags::VM);
            assert_eq!(a.exit_signal, 17);
        }
        // Larger with a zero tail is fine; a non-zero byte is E2BIG.
        assert!(parse_sized(&raw, 96, &[0; 8]).is_ok());
        assert!(parse_sized(&raw, 4096, &[]).is_ok());
        assert_eq!(parse_sized(&raw, 96, &[0, 0, 0, 0, 0, 0, 0, 1]), Err(Errno::E2BIG));
        assert_eq!(parse_sized(&raw, 4097, &[]), Err(Errno::E2BIG));
        // Beyond our memory: EFAULT.
        let mem = VecMemory::new(BASE, raw.bytes());
        assert_eq!(CloneArgs::from_clone3(&mem, BASE + 8, 88, USER_SPACE_END_X86_64), Err(Errno::EFAULT));
        // Fields past a short struct read as zero.
        let raw = Raw { set_tid: 0x2800, set_tid_size: 1, ..Raw::default() };
        assert_eq!(parse_sized(&raw, 64, &[]).unwrap().set_tid, Vec::<i32>::new());
        assert_eq!(parse_sized(&raw, 80, &[]).unwrap().set_tid, vec![77]);
    }

    #[test]
    fn clone3_fields() {
        let raw = Raw {
            flags: (CloneFlags::VM | CloneFlags::PIDFD | CloneFlags::CLEAR_SIGHAND).bits(),
            pidfd: 0x10,
            child_tid: 0x20,
            parent_tid: 0x30,
            exit_signal: 10,
            stack: 0x8000,
            stack_size: 0x1000,
            tls: 0x40,
            set_tid: 0x2800,
            set_tid_size: 2,
            cgroup: 0,
        };
        let a = parse(&raw).unwrap();
        assert_eq!(a.kind, CloneKind::Clone3);
        assert_eq!(a.flags, CloneFlags::VM | CloneFlags::PIDFD | CloneFlags::CLEAR_SIGHAND);
        assert_eq!((a.pidfd, a.child_tid, a.parent_tid), (0x10, 0x20, 0x30));
        assert_eq!(a.exit_signal, 10);
        assert_eq!(a.stack, 0x9000);
        assert_eq!(a.stack_size, 0x1000);
        assert_eq!(a.tls, 0x40);
        assert_eq!(a.set_tid, vec![77, 78]);
    }

    #[test]
    fn clone3_rules() {
        let ok = Raw { exit_signal: 17, ..Raw::default() };
        let cases: &[(&str, Raw, Result<()>)] = &[
            ("unknown flag bit 34", Raw { flags: 1 << 34, ..ok.clone() }, Err(Errno::EINVAL)),
            (
                "CLONE_DETACHED is refused by clone3",
                Raw { flags: CloneFlags::DETACHED.bits(), ..ok.clone() },
                Err(Errno::EINVAL),
            ),
            ("CSIGNAL bits are not flags", Raw { flags: 0x11, ..ok.clone() }, Err(Errno::EINVAL)),
            ("CLONE_NEWTIME passes parsing", Raw { flags: 0x80, ..ok.clone() }, Ok(())),
            (
                "CLONE_SIGHAND with CLONE_CLEAR_SIGHAND",
                Raw {
                    flags: (CloneFlags::SIGHAND | CloneFlags::VM | CloneFlags::CLEAR_SIGHAND).bits(),
                    ..ok.clone()
                },
                Err(Errno::EINVAL),
            ),
            (
                "exit signal with CLONE_THREAD",
                Raw {
                    flags: (CloneFlags::THREAD | CloneFlags::SIGHAND | CloneFlags::VM).bits(),
                    ..ok.clone()
                },
                Err(Errno::EINVAL),
            ),
            (
                "exit signal with CLONE_PARENT",
                Raw { flags: CloneFlags::PARENT.bits(), ..ok.clone() },
                Err(Errno::EINVAL),
            ),
            (
                "CLONE_PARENT without exit signal",
                Raw { flags: CloneFlags::PARENT.bits(), exit_signal: 0, ..ok.clone() },
                Ok(()),
            ),
            ("exit signal 65", Raw { exit_signal: 65, ..ok.clone() }, Err(Errno::EINVAL)),
            ("exit signal high bits", Raw { exit_signal: 1 << 32 | 17, ..ok.clone() }, Err(Errno::EINVAL)),
            ("exit signal 64", Raw { exit_signal: 64, ..ok.clone() }, Ok(())),
            ("stack without stack_size", Raw { stack: 0x8000, ..ok.clone() }, Err(Errno::EINVAL)),
            ("stack_size without stack", Raw { stack_size: 0x1000, ..ok.clone() }, Err(Errno::EINVAL)),
            (
                "stack beyond user space",
                Raw { stack: USER_SPACE_END_X86_64, stack_size: 1, ..ok.clone() },
                Err(Errno::EINVAL),
            ),
            ("stack overflowing", Raw { stack: u64::MAX, stack_size: 2, ..ok.clone() }, Err(Errno::EINVAL)),
            (
                "set_tid_size over 32",
                Raw { set_tid: 0x2800, set_tid_size: 33, ..ok.clone() },
                Err(Errno::EINVAL),
            ),
            ("set_tid_size without set_tid", Raw { set_tid_size: 1, ..ok.clone() }, Err(Errno::EINVAL)),
            ("set_tid without set_tid_size", Raw { set_tid: 0x2800, ..ok.clone() }, Err(Errno::EINVAL)),
            (
                "set_tid unreadable",
                Raw { set_tid: 0x9_0000, set_tid_size: 1, ..ok.clone() },
                Err(Errno::EFAULT),
            ),
            (
                "CLONE_INTO_CGROUP with cgroup > INT_MAX",
                Raw { flags: CloneFlags::INTO_CGROUP.bits(), cgroup: 1 << 31, ..ok.clone() },
                Err(Errno::EINVAL),
            ),
            (
                "CLONE_INTO_CGROUP",
                Raw { flags: CloneFlags::INTO_CGROUP.bits(), cgroup: 3, ..ok.clone() },
                Ok(()),
            ),
        ];
        for (what, raw, want) in cases {
            assert_eq!(parse(raw).map(|_| ()), *want, "{what}");
        }
        // CLONE_INTO_CGROUP needs the 88-byte struct.
        let raw = Raw { flags: CloneFlags::INTO_CGROUP.bits(), cgroup: 3, ..ok.clone() };
        assert_eq!(parse_sized(&raw, 80, &[]), Err(Errno::EINVAL));
    }

    /// Each invalid combination of clone(2)'s ERRORS section. The errnos
    /// (and those of `clone3_rules`) were also checked against Linux 6.18
    /// with raw clone/clone3 calls, as root and as uid 65534, except where
    /// a namespace this kernel does not build gives `EINVAL`.
    #[test]
    fn man_page_errors() {
        use CloneFlags as F;
        let user = CloneCaller::unprivileged();
        let root = CloneCaller::root();
        let init = CloneCaller { is_init: true, ..root };
        let clone = |f: F| CloneArgs::from_clone(f.bits() | 17, 0, 0x100, 0x200, 0);
        let clone3 =
            |f: F| CloneArgs { kind: CloneKind::Clone3, flags: f, exit_signal: 0, ..CloneArgs::fork() };
        let thread = F::THREAD | F::SIGHAND | F::VM;
        let cases: Vec<(&str, CloneArgs, CloneCaller, Result<()>)> = vec![
            (
                "EAGAIN Too many processes are already running (RLIMIT_NPROC)",
                clone(F::empty()),
                CloneCaller { user_processes: 5, rlimit_nproc: 5, ..user },
                Err(Errno::EAGAIN),
            ),
            (
                "(root is exempt from RLIMIT_NPROC)",
                clone(F::empty()),
                CloneCaller { user_processes: 5, rlimit_nproc: 5, ..root },
                Ok(()),
            ),
            (
                "EAGAIN Too many processes are already running (threads-max)",
                clone(F::empty()),
                CloneCaller { nr_threads: 10, max_threads: 10, ..root },
                Err(Errno::EAGAIN),
            ),
            (
                "EINVAL Both CLONE_SIGHAND and CLONE_CLEAR_SIGHAND were specified in flags.",
                clone3(F::SIGHAND | F::VM | F::CLEAR_SIGHAND),
                root,
                Err(Errno::EINVAL),
            ),
            (
                "EINVAL CLONE_SIGHAND was specified in flags, but CLONE_VM was not.",
                clone(F::SIGHAND),
                user,
                Err(Errno::EINVAL),
            ),
            (
                "EINVAL CLONE_THREAD was specified in flags, but CLONE_SIGHAND was not.",
                clone(F::THREAD | F::VM),
                user,
                Err(Errno::EINVAL),
            ),
            (
                "EINVAL Both CLONE_FS and CLONE_NEWNS were specified in flags.",
                clone(F::FS | F::NEWNS),
                root,
                Err(Errno::EINVAL),
            ),
            (
                "EINVAL Both CLONE_NEWUSER and CLONE_FS were specified in flags.",
                clone(F::FS | F::NEWUSER),
                user,
                Err(Errno::EINVAL),
            ),
            (
                "EINVAL Both CLONE_NEWIPC and CLONE_SYSVSEM were specified in flags.",
                clone(F::NEWIPC | F::SYSVSEM),
                root,
                Err(Errno::EINVAL),
            ),
            (
                "EINVAL One (or both) of CLONE_NEWPID or CLONE_NEWUSER and one (or both) of CLONE_THREAD or CLONE_PARENT were specified in flags. (CLONE_THREAD|CLONE_NEWPID)",
                clone(thread | F::NEWPID),
                root,
                Err(Errno::EINVAL),
            ),
            ("EINVAL ... (CLONE_THREAD|CLONE_NEWUSER)", clone(thread | F::NEWUSER), user, Err(Errno::EINVAL)),
            // Linux 6.1 checks only CLONE_THREAD with a new user namespace
            ("CLONE_PARENT|CLONE_NEWUSER (6.1: allowed)", clone(F::PARENT | F::NEWUSER), user, Ok(())),
            ("CLONE_NEWUSER|CLONE_NEWUTS unprivileged", clone(F::NEWUSER | F::NEWUTS), user, Ok(())),
            ("EPERM CLONE_NEWUTS unprivileged", clone(F::NEWUTS), user, Err(Errno::EPERM)),
            ("CLONE_NEWUTS as root", clone(F::NEWUTS), root, Ok(())),
            (
                "EINVAL CLONE_PARENT was specified, and the caller is an init process.",
                clone(F::PARENT),
                init,
                Err(Errno::EINVAL),
            ),
            ("CLONE_NEWIPC as root (IPC namespaces are built)", clone(F::NEWIPC), root, Ok(())),
            ("(CLONE_NEWNET: built)", clone(F::NEWNET), root, Ok(())),
            ("(CLONE_NEWPID: built)", clone(F::NEWPID), root, Ok(())),
            (
                "EINVAL (clone() only) CLONE_PIDFD was specified together with CLONE_DETACHED in flags.",
                CloneArgs { parent_tid: 0, ..clone(F::PIDFD | F::DETACHED) },
                user,
                Err(Errno::EINVAL),
            ),
            (
                "EINVAL CLONE_PIDFD was specified together with CLONE_THREAD in flags.",
                clone(thread | F::PIDFD),
                user,
                Err(Errno::EINVAL),
            ),
            (
                "EINVAL (clone() only) CLONE_PIDFD was specified together with CLONE_PARENT_SETTID in flags.",
                clone(F::PIDFD | F::PARENT_SETTID),
                user,
                Err(Errno::EINVAL),
            ),
            (
                "(clone3: CLONE_PIDFD with CLONE_PARENT_SETTID is fine at different addresses)",
                CloneArgs { pidfd: 0x10, parent_tid: 0x20, ..clone3(F::PIDFD | F::PARENT_SETTID) },
                user,
                Ok(()),
            ),
            (
                "(clone3: ... and EINVAL at the same address)",
                CloneArgs { pidfd: 0x10, parent_tid: 0x10, ..clone3(F::PIDFD | F::PARENT_SETTID) },
                user,
                Err(Errno::EINVAL),
            ),
            (
                "EINVAL (clone3() only) set_tid_size is greater than the number of nested PID namespaces.",
                CloneArgs { set_tid: vec![5, 6], ..clone3(F::empty()) },
                root,
                Err(Errno::EINVAL),
            ),
            (
                "EINVAL (clone3() only) One of the PIDs specified in set_tid was an invalid.",
                CloneArgs { set_tid: vec![0], ..clone3(F::empty()) },
                root,
                Err(Errno::EINVAL),
            ),
            (
                "EINVAL ... (set_tid >= pid_max)",
                CloneArgs { set_tid: vec![32768], ..clone3(F::empty()) },
                root,
                Err(Errno::EINVAL),
            ),
            (
                "EINVAL (a thread while the children's time namespace differs)",
                clone(F::THREAD | F::SIGHAND | F::VM),
                CloneCaller { time_differs: true, ..root },
                Err(Errno::EINVAL),
            ),
            (
                "EINVAL (CLONE_VM while the children's time namespace differs)",
                clone(F::VM),
                CloneCaller { time_differs: true, ..root },
                Err(Errno::EINVAL),
            ),
            (
                "(a fork while it differs)",
                clone(F::empty()),
                CloneCaller { time_differs: true, ..user },
                Ok(()),
            ),
            ("CLONE_NEWTIME (clone3) as root", clone3(F::NEWTIME), root, Ok(())),
            (
                "EINVAL ... (a pid other than 1 while the namespace has no init)",
                CloneArgs { set_tid: vec![7], ..clone3(F::empty()) },
                CloneCaller { has_reaper: false, ..root },
                Err(Errno::EINVAL),
            ),
            (
                "EPERM (clone3() only) set_tid_size was greater than zero, and the caller lacks the CAP_SYS_ADMIN capability",
                CloneArgs { set_tid: vec![7], ..clone3(F::empty()) },
                user,
                Err(Errno::EPERM),
            ),
            (
                "(set_tid with CAP_SYS_ADMIN)",
                CloneArgs { set_tid: vec![7], ..clone3(F::empty()) },
                root,
                Ok(()),
            ),
            (
                "EPERM CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, or CLONE_NEWUTS was specified by an unprivileged process (NEWCGROUP)",
                clone(F::NEWCGROUP),
                user,
                Err(Errno::EPERM),
            ),
            ("EPERM ... (NEWIPC)", clone(F::NEWIPC), user, Err(Errno::EPERM)),
            (
                "EPERM ... (NEWIPC|SYSVSEM: the capability check comes first)",
                clone(F::NEWIPC | F::SYSVSEM),
                user,
                Err(Errno::EPERM),
            ),
            ("EPERM ... (NEWNET)", clone(F::NEWNET), user, Err(Errno::EPERM)),
            ("EPERM ... (NEWNS)", clone(F::NEWNS), user, Err(Errno::EPERM)),
            ("EPERM ... (NEWPID)", clone(F::NEWPID), user, Err(Errno::EPERM)),
            ("EPERM ... (NEWUTS)", clone(F::NEWUTS), user, Err(Errno::EPERM)),
            ("EPERM ... (NEWTIME, clone3)", clone3(F::NEWTIME), user, Err(Errno::EPERM)),
            (
                "(CLONE_PARENT|CLONE_NEWPID: Linux >= 3.12 allows it)",
                clone(F::PARENT | F::NEWPID),
                root,
                Ok(()),
            ),
            (
                "(valid: a thread)",
                clone(
                    thread | F::SETTLS | F::PARENT_SETTID | F::CHILD_CLEARTID | F::SYSVSEM | F::FS | F::FILES,
                ),
                user,
                Ok(()),
            ),
            ("(valid: CLONE_PARENT from a non-init caller)", clone(F::PARENT), user, Ok(())),
            ("(valid: CLONE_DETACHED alone is ignored by clone())", clone(F::DETACHED), user, Ok(())),
            ("(valid: vfork)", CloneArgs::vfork(), user, Ok(())),
            (
                "(valid: CLONE_PTRACE|CLONE_UNTRACED|CLONE_IO)",
                clone(F::PTRACE | F::UNTRACED | F::IO),
                user,
                Ok(()),
            ),
        ];
        for (rule, args, caller, want) in cases {
            assert_eq!(validate(&args, &caller), want, "{rule}");
        }
        // Order: the RLIMIT_NPROC check comes before copy_namespaces()
        // (a new user namespace is made with the child's credentials).
        let full = CloneCaller { user_processes: 5, rlimit_nproc: 5, ..user };
        assert_eq!(validate(&clone(F::NEWUSER), &full), Err(Errno::EAGAIN));
        assert_eq!(validate(&clone(F::NEWNS), &full), Err(Errno::EAGAIN));
        assert_eq!(validate(&clone(F::SIGHAND), &full), Err(Errno::EINVAL));
    }
}
