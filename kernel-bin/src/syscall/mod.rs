//! System calls: the dispatch table and the helpers every handler uses.
//!
//! A handler takes the calling thread and the raw argument registers and
//! returns `Result<isize>`: the value for `rax`, or an errno (returned as
//! `-errno`). Kernel-internal restart codes are turned into a restart or
//! `EINTR` by signal delivery on the way out.

pub mod aio;
mod epoll;
pub mod fs;
mod fs_extra;
pub mod io_uring;
mod mm;
pub mod mqueue;
mod poll;
mod prctl_mm;
mod sched;
pub mod shm;
pub mod sysv;
pub mod task;
mod time;

use crate::proc::{Hooks, table};
use crate::uthread::{self, FilesCache, Flow, UThread};
use alloc::sync::Arc;
use alloc::vec::Vec;
use fs_extra::XattrAt::{self, Path};
use linux_abi::args::{Args, DirFd, Fd, UserCStr, UserPtr, UserSlice, access_ok};
use linux_abi::pod::Pod;
use linux_abi::syscall::nr;
use linux_abi::{Errno, Result};
use process::wait::ChildStatus;

/// How many times each unsupported number (511: any above) was called.
static UNSUPPORTED_SEEN: [core::sync::atomic::AtomicU32; 512] =
    [const { core::sync::atomic::AtomicU32::new(0) }; 512];

/// What a handler returns.
pub type SysResult = Result<isize>;

/// /proc/PID/io of a read call's result: the bytes it returned and the
/// call (Linux's `add_rchar`/`inc_syscr`; a call on no open file, `EBADF`,
/// never reached `vfs_read` and is not counted).
fn io_r(r: SysResult, t: &UThread) -> SysResult {
    match r {
        Ok(n) => t.cpu.io_read(n as u64),
        Err(Errno::EBADF) => {}
        Err(_) => t.cpu.io_read(0),
    }
    r
}

/// The same for a write call (`add_wchar`/`inc_syscw`).
fn io_w(r: SysResult, t: &UThread) -> SysResult {
    match r {
        Ok(n) => t.cpu.io_write(n as u64),
        Err(Errno::EBADF) => {}
        Err(_) => t.cpu.io_write(0),
    }
    r
}

/// Runs the system call `nr` for `t`; returns what the thread does next and
/// the call's result (`None` when the call set the registers itself).
pub fn dispatch(t: &mut UThread, n: u64) -> (Flow, Option<SysResult>) {
    let a = Args(t.ctx.syscall_args());
    log::trace!("pid {} tid {}: syscall {} {:x?}", t.pid, t.tid, n, a);
    let r: SysResult = match n as usize {
        nr::READ => io_r(fs::read(t, a.fd(0), a.buf(1, 2)), t),
        nr::WRITE => io_w(fs::write(t, a.fd(0), a.buf(1, 2)), t),
        nr::READV => io_r(fs::readv(t, a.fd(0), a.ptr(1), a.raw(2)), t),
        nr::WRITEV => io_w(fs::writev(t, a.fd(0), a.ptr(1), a.raw(2)), t),
        nr::PREAD64 => io_r(fs::pread(t, a.fd(0), a.buf(1, 2), a.long(3)), t),
        nr::PWRITE64 => io_w(fs::pwrite(t, a.fd(0), a.buf(1, 2), a.long(3)), t),
        // pos_l is the whole offset on 64-bit (pos_from_hilo shifts pos_h out);
        nr::PREADV => io_r(fs::preadv(t, a.fd(0), a.ptr(1), a.raw(2), a.long(3), None), t),
        nr::PWRITEV => io_w(fs::pwritev(t, a.fd(0), a.ptr(1), a.raw(2), a.long(3), None), t),
        nr::PREADV2 => io_r(fs::preadv(t, a.fd(0), a.ptr(1), a.raw(2), a.long(3), Some(a.uint(5))), t),
        nr::PWRITEV2 => io_w(fs::pwritev(t, a.fd(0), a.ptr(1), a.raw(2), a.long(3), Some(a.uint(5))), t),
        nr::OPEN => fs::openat(t, fs::AT_FDCWD, a.cstr(0), a.uint(1), a.uint(2)),
        nr::OPENAT => fs::openat(t, a.dirfd(0), a.cstr(1), a.uint(2), a.uint(3)),
        nr::CREAT => fs::openat(t, fs::AT_FDCWD, a.cstr(0), 0o1101, a.uint(1)),
        nr::CLOSE => fs::close(t, a.fd(0)),
        nr::SENDFILE => fs::sendfile(t, a.fd(0), a.fd(1), a.ptr(2), a.len(3)),
        nr::CLOSE_RANGE => fs::close_range(t, a.uint(0), a.uint(1), a.uint(2)),
        nr::LSEEK => fs::lseek(t, a.fd(0), a.long(1), a.uint(2)),
        nr::FSTAT => fs::fstat(t, a.fd(0), a.ptr(1)),
        nr::STAT => fs::fstatat(t, fs::AT_FDCWD, a.cstr(0), a.ptr(1), 0),
        nr::LSTAT => fs::fstatat(t, fs::AT_FDCWD, a.cstr(0), a.ptr(1), fs::AT_SYMLINK_NOFOLLOW),
        nr::NEWFSTATAT => fs::fstatat(t, a.dirfd(0), a.cstr(1), a.ptr(2), a.uint(3)),
        nr::STATX => fs_extra::statx(t, a.dirfd(0), a.cstr(1), a.uint(2), a.uint(3), a.ptr(4)),
        nr::NAME_TO_HANDLE_AT => {
            fs_extra::name_to_handle_at(t, a.dirfd(0), a.cstr(1), a.raw(2), a.ptr(3), a.uint(4))
        }
        nr::OPEN_BY_HANDLE_AT => fs_extra::open_by_handle_at(t, a.int(0), a.raw(1), a.uint(2)),
        nr::GETDENTS64 => fs::getdents64(t, a.fd(0), UserSlice::new(a.raw(1), a.uint(2) as usize)),
        nr::GETDENTS => fs::getdents(t, a.fd(0), UserSlice::new(a.raw(1), a.uint(2) as usize)),
        nr::IOCTL => fs::ioctl(t, a.fd(0), a.uint(1), a.raw(2)),
        nr::FCNTL => fs::fcntl(t, a.fd(0), a.uint(1), a.raw(2)),
        nr::FLOCK => crate::locks::flock(t, a.fd(0), a.uint(1)),
        nr::DUP => fs::dup(t, a.fd(0)),
        nr::DUP2 => fs::dup2(t, a.fd(0), a.fd(1)),
        nr::DUP3 => fs::dup3(t, a.fd(0), a.fd(1), a.uint(2)),
        nr::PIPE => fs::pipe2(t, a.ptr(0), 0),
        nr::PIPE2 => fs::pipe2(t, a.ptr(0), a.uint(1)),
        nr::GETCWD => fs::getcwd(t, a.buf(0, 1)),
        nr::CHDIR => fs::chdir(t, a.cstr(0)),
        nr::FCHDIR => fs::fchdir(t, a.fd(0)),
        nr::CHROOT => fs::chroot(t, a.cstr(0)),
        nr::MKDIR => fs::mkdirat(t, fs::AT_FDCWD, a.cstr(0), a.uint(1)),
        nr::MKDIRAT => fs::mkdirat(t, a.dirfd(0), a.cstr(1), a.uint(2)),
        nr::UNLINK => fs::unlinkat(t, fs::AT_FDCWD, a.cstr(0), 0),
        nr::RMDIR => fs::unlinkat(t, fs::AT_FDCWD, a.cstr(0), fs::AT_REMOVEDIR),
        nr::UNLINKAT => fs::unlinkat(t, a.dirfd(0), a.cstr(1), a.uint(2)),
        nr::RENAME => fs::renameat(t, (fs::AT_FDCWD, a.cstr(0)), (fs::AT_FDCWD, a.cstr(1)), 0),
        nr::RENAMEAT => fs::renameat(t, a.at(0), a.at(2), 0),
        nr::RENAMEAT2 => fs::renameat(t, a.at(0), a.at(2), a.uint(4)),
        nr::READLINK => fs::readlinkat(t, fs::AT_FDCWD, a.cstr(0), a.ptr(1), a.int(2)),
        nr::READLINKAT => fs::readlinkat(t, a.dirfd(0), a.cstr(1), a.ptr(2), a.int(3)),
        nr::SYMLINK => fs::symlinkat(t, a.cstr(0), fs::AT_FDCWD, a.cstr(1)),
        nr::SYMLINKAT => fs::symlinkat(t, a.cstr(0), a.dirfd(1), a.cstr(2)),
        nr::LINK => fs::linkat(t, (fs::AT_FDCWD, a.cstr(0)), (fs::AT_FDCWD, a.cstr(1)), 0),
        nr::LINKAT => fs::linkat(t, a.at(0), a.at(2), a.uint(4)),
        nr::ACCESS => fs::faccessat(t, fs::AT_FDCWD, a.cstr(0), a.uint(1), 0),
        nr::FACCESSAT => fs::faccessat(t, a.dirfd(0), a.cstr(1), a.uint(2), 0),
        nr::FACCESSAT2 => fs::faccessat(t, a.dirfd(0), a.cstr(1), a.uint(2), a.uint(3)),
        nr::CHMOD => fs::fchmodat(t, fs::AT_FDCWD, a.cstr(0), a.uint(1)),
        nr::FCHMODAT => fs::fchmodat(t, a.dirfd(0), a.cstr(1), a.uint(2)),
        nr::FCHMOD => fs::fchmod(t, a.fd(0), a.uint(1)),
        nr::CHOWN => fs::fchownat(t, fs::AT_FDCWD, a.cstr(0), a.uint(1), a.uint(2), 0),
        nr::LCHOWN => fs::fchownat(t, fs::AT_FDCWD, a.cstr(0), a.uint(1), a.uint(2), fs::AT_SYMLINK_NOFOLLOW),
        nr::FCHOWN => {
            fs::fchownat(t, DirFd::Fd(a.fd(0)), UserCStr(0), a.uint(1), a.uint(2), vfs::AT_EMPTY_PATH)
        }
        nr::FCHOWNAT => fs::fchownat(t, a.dirfd(0), a.cstr(1), a.uint(2), a.uint(3), a.uint(4)),
        nr::UTIMENSAT => fs::utimensat(t, a.dirfd(0), a.cstr(1), a.ptr(2), a.uint(3)),
        nr::STATFS => fs::statfs(t, a.cstr(0), a.ptr(1)),
        nr::FSTATFS => fs::fstatfs(t, a.fd(0), a.ptr(1)),
        nr::FTRUNCATE => fs::ftruncate(t, a.fd(0), a.long(1)),
        nr::TRUNCATE => fs::truncate(t, a.cstr(0), a.long(1)),
        nr::UMASK => fs::umask(t, a.uint(0)),
        nr::FSYNC | nr::FDATASYNC => fs_extra::fsync(t, a.fd(0)),
        nr::SYNCFS => fs_extra::syncfs(t, a.fd(0)),
        nr::SYNC => fs_extra::sync(),
        nr::MOUNT => fs::mount(t, a.cstr(0), a.cstr(1), a.cstr(2), a.raw(3), a.cstr(4)),
        nr::UMOUNT2 => fs::umount2(t, a.cstr(0), a.int(1)),
        nr::PIVOT_ROOT => fs::pivot_root(t, a.cstr(0), a.cstr(1)),
        nr::MKNOD => fs_extra::mknodat(t, fs::AT_FDCWD, a.cstr(0), a.uint(1), a.uint(2)),
        nr::SETXATTR => fs_extra::setxattr(t, Path(a.cstr(0), true), (a.cstr(1), a.buf(2, 3)), a.int(4)),
        nr::LSETXATTR => fs_extra::setxattr(t, Path(a.cstr(0), false), (a.cstr(1), a.buf(2, 3)), a.int(4)),
        nr::FSETXATTR => fs_extra::setxattr(t, XattrAt::Fd(a.fd(0)), (a.cstr(1), a.buf(2, 3)), a.int(4)),
        nr::GETXATTR => fs_extra::getxattr(t, Path(a.cstr(0), true), (a.cstr(1), a.buf(2, 3))),
        nr::LGETXATTR => fs_extra::getxattr(t, Path(a.cstr(0), false), (a.cstr(1), a.buf(2, 3))),
        nr::FGETXATTR => fs_extra::getxattr(t, XattrAt::Fd(a.fd(0)), (a.cstr(1), a.buf(2, 3))),
        nr::LISTXATTR => fs_extra::listxattr(t, Path(a.cstr(0), true), a.buf(1, 2)),
        nr::LLISTXATTR => fs_extra::listxattr(t, Path(a.cstr(0), false), a.buf(1, 2)),
        nr::FLISTXATTR => fs_extra::listxattr(t, XattrAt::Fd(a.fd(0)), a.buf(1, 2)),
        nr::REMOVEXATTR => fs_extra::removexattr(t, Path(a.cstr(0), true), a.cstr(1)),
        nr::LREMOVEXATTR => fs_extra::removexattr(t, Path(a.cstr(0), false), a.cstr(1)),
        nr::FREMOVEXATTR => fs_extra::removexattr(t, XattrAt::Fd(a.fd(0)), a.cstr(1)),
        nr::MKNODAT => fs_extra::mknodat(t, a.dirfd(0), a.cstr(1), a.uint(2), a.uint(3)),
        nr::FADVISE64 => fs_extra::fadvise64(t, a.fd(0), a.long(1), a.len(2), a.int(3)),
        nr::READAHEAD => fs_extra::readahead(t, a.fd(0), a.long(1), a.len(2)),
        nr::SWAPON => fs_extra::swap(t, a.cstr(0), Some(a.int(1))),
        nr::SWAPOFF => fs_extra::swap(t, a.cstr(0), None),
        nr::SYNC_FILE_RANGE => fs_extra::sync_file_range(t, a.fd(0), a.long(1), a.long(2), a.uint(3)),
        nr::FALLOCATE => fs_extra::fallocate(t, a.fd(0), a.int(1), a.long(2), a.long(3)),
        nr::SPLICE => fs_extra::splice(t, a.fd(0), a.ptr(1), a.fd(2), a.ptr(3), a.len(4), a.uint(5)),
        nr::TEE => fs_extra::tee(t, a.fd(0), a.fd(1), a.len(2), a.uint(3)),
        nr::VMSPLICE => fs_extra::vmsplice(t, a.fd(0), a.ptr(1), a.raw(2), a.uint(3)),
        nr::COPY_FILE_RANGE => {
            fs_extra::copy_file_range(t, a.fd(0), a.ptr(1), a.fd(2), a.ptr(3), a.len(4), a.uint(5))
        }
        nr::POLL => poll::poll(t, a.ptr(0), a.uint(1), a.int(2)),
        nr::PPOLL => poll::ppoll(t, a.ptr(0), a.uint(1), a.ptr(2), a.ptr(3), a.len(4)),
        nr::SELECT => poll::select(t, a.int(0), [a.ptr(1), a.ptr(2), a.ptr(3)], a.ptr(4)),
        nr::PSELECT6 => poll::pselect6(t, a.int(0), [a.ptr(1), a.ptr(2), a.ptr(3)], a.ptr(4), a.ptr(5)),
        nr::EPOLL_CREATE => epoll::epoll_create(t, a.int(0)),
        nr::EPOLL_CREATE1 => epoll::epoll_create1(t, a.uint(0)),
        nr::EPOLL_CTL => epoll::epoll_ctl(t, a.fd(0), a.int(1), a.fd(2), a.ptr(3)),
        nr::EPOLL_WAIT => epoll::epoll_wait(t, (a.fd(0), a.ptr(1), a.int(2)), a.int(3)),
        nr::EPOLL_PWAIT => epoll::epoll_pwait(t, (a.fd(0), a.ptr(1), a.int(2)), a.int(3), a.ptr(4), a.len(5)),
        nr::EPOLL_PWAIT2 => {
            epoll::epoll_pwait2(t, (a.fd(0), a.ptr(1), a.int(2)), a.ptr(3), a.ptr(4), a.len(5))
        }
        nr::SIGNALFD => crate::signalfd::signalfd(t, a.int(0), a.ptr(1), a.len(2)),
        nr::TIMERFD_CREATE => crate::timerfd::timerfd_create(t, a.int(0), a.int(1)),
        nr::EVENTFD => crate::eventfd::eventfd(t, a.uint(0)),
        nr::TIMERFD_SETTIME => crate::timerfd::timerfd_settime(t, a.fd(0), a.int(1), a.ptr(2), a.ptr(3)),
        nr::TIMERFD_GETTIME => crate::timerfd::timerfd_gettime(t, a.fd(0), a.ptr(1)),
        nr::PIDFD_OPEN => crate::pidfd::pidfd_open(t, a.int(0), a.int(1) as u32),
        nr::PIDFD_SEND_SIGNAL => {
            crate::pidfd::pidfd_send_signal(t, a.int(0), a.int(1), a.ptr(2), a.int(3) as u32)
        }
        nr::PIDFD_GETFD => crate::pidfd::pidfd_getfd(t, a.int(0), a.int(1), a.int(2) as u32),
        nr::SIGNALFD4 => crate::signalfd::signalfd4(t, a.int(0), a.ptr(1), a.len(2), a.int(3)),
        nr::EVENTFD2 => crate::eventfd::eventfd2(t, a.uint(0), a.int(1)),
        nr::IO_SETUP => aio::io_setup(t, a.uint(0), a.ptr(1)),
        nr::IO_DESTROY => aio::io_destroy(t, a.raw(0)),
        nr::IO_SUBMIT => aio::io_submit(t, a.raw(0), a.long(1), a.raw(2)),
        nr::IO_CANCEL => aio::io_cancel(t, a.raw(0), a.raw(1), a.raw(2)),
        nr::IO_GETEVENTS => aio::io_getevents(t, a.raw(0), a.long(1), a.long(2), a.raw(3), a.ptr(4)),
        nr::IO_PGETEVENTS => {
            aio::io_pgetevents(t, a.raw(0), (a.long(1), a.long(2)), a.raw(3), a.ptr(4), a.ptr(5))
        }
        nr::IO_URING_SETUP => io_uring::io_uring_setup(t, a.uint(0), a.raw(1)),
        nr::IO_URING_ENTER => {
            io_uring::io_uring_enter(t, a.uint(0), a.uint(1), a.uint(2), a.uint(3), a.raw(4), a.len(5))
        }
        nr::IO_URING_REGISTER => io_uring::io_uring_register(t, a.uint(0), a.uint(1), a.raw(2), a.uint(3)),
        nr::INOTIFY_INIT => crate::inotify::inotify_init(t),
        nr::INOTIFY_INIT1 => crate::inotify::inotify_init1(t, a.int(0)),
        nr::INOTIFY_ADD_WATCH => crate::inotify::inotify_add_watch(t, a.fd(0), a.cstr(1), a.uint(2)),
        nr::INOTIFY_RM_WATCH => crate::inotify::inotify_rm_watch(t, a.fd(0), a.int(1)),
        nr::BRK => mm::brk(t, a.raw(0)),
        nr::MMAP => mm::mmap(t, a.raw(0), a.raw(1), a.raw(2), a.raw(3), a.fd(4), a.raw(5)),
        nr::MUNMAP => mm::munmap(t, a.raw(0), a.len(1)),
        nr::MPROTECT => mm::mprotect(t, a.raw(0), a.len(1), a.raw(2)),
        nr::MADVISE => mm::madvise(t, a.raw(0), a.len(1), a.int(2)),
        nr::MSYNC => mm::msync(t, a.raw(0), a.len(1), a.int(2)),
        nr::MINCORE => mm::mincore(t, a.raw(0), a.len(1), a.raw(2)),
        nr::SHMGET => shm::shmget(t, a.int(0), a.len(1), a.int(2)),
        nr::SHMAT => shm::shmat(t, a.int(0), a.ptr(1), a.int(2)),
        nr::SHMCTL => shm::shmctl(t, a.int(0), a.int(1), a.ptr(2)),
        nr::SHMDT => shm::shmdt(t, a.ptr(0)),
        nr::MQ_OPEN => mqueue::mq_open(t, a.cstr(0), a.uint(1), a.uint(2), a.ptr(3)),
        nr::MQ_UNLINK => mqueue::mq_unlink(t, a.cstr(0)),
        nr::MQ_TIMEDSEND => mqueue::mq_timedsend(t, a.int(0), a.raw(1), a.len(2), a.uint(3), a.ptr(4)),
        nr::MQ_TIMEDRECEIVE => mqueue::mq_timedreceive(t, a.int(0), a.raw(1), a.len(2), a.ptr(3), a.ptr(4)),
        nr::MQ_NOTIFY => mqueue::mq_notify(t, a.int(0), a.ptr(1)),
        nr::MQ_GETSETATTR => mqueue::mq_getsetattr(t, a.int(0), a.ptr(1), a.ptr(2)),
        nr::MEMFD_CREATE => shm::memfd_create(t, a.cstr(0), a.uint(1)),
        nr::SEMGET => sysv::semget(t, a.int(0), a.int(1), a.int(2)),
        nr::SEMOP => sysv::semop(t, a.int(0), a.raw(1), a.uint(2)),
        nr::SEMTIMEDOP => sysv::semtimedop(t, a.int(0), a.raw(1), a.uint(2), a.ptr(3)),
        nr::SEMCTL => sysv::semctl(t, a.int(0), a.int(1), a.int(2), a.raw(3)),
        nr::MSGGET => sysv::msgget(t, a.int(0), a.int(1)),
        nr::MSGSND => sysv::msgsnd(t, a.int(0), a.raw(1), a.len(2), a.int(3)),
        nr::MSGRCV => sysv::msgrcv(t, a.int(0), a.raw(1), a.len(2), a.long(3), a.int(4)),
        nr::MSGCTL => sysv::msgctl(t, a.int(0), a.int(1), a.raw(2)),
        nr::GETPID => Ok(t.vpid as isize),
        nr::GETTID => Ok(t.vtid as isize),
        nr::GETPPID => Ok(t.ppid.load(core::sync::atomic::Ordering::Relaxed) as isize),
        nr::GETUID | nr::GETEUID | nr::GETGID | nr::GETEGID => task::ids(t, n as usize),
        nr::SETUID | nr::SETGID => task::setid(t, n as usize, a.uint(0)),
        nr::GETGROUPS => task::getgroups(t, a.int(0), a.ptr(1)),
        nr::SETGROUPS => task::setgroups(t, a.int(0), a.ptr(1)),
        nr::SETREUID | nr::SETREGID | nr::SETRESUID | nr::SETRESGID | nr::SETFSUID | nr::SETFSGID => {
            task::setids(t, n as usize, [a.uint(0), a.uint(1), a.uint(2)])
        }
        nr::GETRESUID => task::getresids(t, false, [a.ptr(0), a.ptr(1), a.ptr(2)]),
        nr::GETRESGID => task::getresids(t, true, [a.ptr(0), a.ptr(1), a.ptr(2)]),
        nr::GETRUSAGE => task::getrusage(t, a.int(0), a.ptr(1)),
        nr::TIMES => task::times(t, a.ptr(0)),
        nr::PTRACE => crate::ptrace::sys_ptrace(t, a.raw(0), a.raw(1), a.raw(2), a.raw(3)),
        nr::SET_TID_ADDRESS => {
            let vtid = t.vtid;
            table().set_tid_address(t.tid, a.raw(0)).map(|_| vtid as isize)
        }
        // no call here restarts through a restart block, so a thread's block
        // is always Linux's do_no_restart_syscall
        nr::RESTART_SYSCALL => Err(Errno::EINTR),
        nr::SET_ROBUST_LIST => table().set_robust_list(t.tid, a.raw(0), a.len(1) as u64).map(|_| 0),
        nr::ARCH_PRCTL => task::arch_prctl(t, a.int(0), a.raw(1)),
        nr::SECCOMP => crate::seccomp::sys_seccomp(t, a.uint(0), a.uint(1), a.raw(2)),
        nr::PRCTL => task::prctl(t, a.int(0), [a.raw(1), a.raw(2), a.raw(3), a.raw(4)]),
        nr::CLONE => task::clone(t, a.raw(0), a.raw(1), a.ptr(2), a.ptr(3), a.raw(4)),
        nr::CLONE3 => task::clone3(t, a.ptr(0), a.len(1)),
        nr::FORK => task::fork(t, process::clone::CloneArgs::fork()),
        nr::VFORK => task::fork(t, process::clone::CloneArgs::vfork()),
        nr::EXECVE => task::execve(t, a.cstr(0), a.ptr(1), a.ptr(2)),
        nr::WAIT4 => task::wait4(t, a.int(0), a.ptr(1), a.uint(2), a.ptr(3)),
        nr::WAITID => task::waitid(t, a.int(0), a.int(1), a.ptr(2), a.int(3), a.ptr(4)),
        nr::KILL => table().kill(t.tid, a.int(0), a.int(1), &Hooks).map(|_| 0),
        nr::TKILL => table().tgkill(t.tid, None, a.int(0), a.int(1), &Hooks).map(|_| 0),
        nr::TGKILL => table().tgkill(t.tid, Some(a.int(0)), a.int(1), a.int(2), &Hooks).map(|_| 0),
        nr::SETPGID => table().setpgid(t.tid, a.int(0), a.int(1)).map(|_| 0),
        nr::GETPGID => table().getpgid(t.tid, a.int(0)).map(|p| p as isize),
        nr::GETPGRP => table().getpgid(t.tid, 0).map(|p| p as isize),
        nr::SETSID => table().setsid(t.tid).map(|p| {
            if crate::net::connector::listening() {
                crate::net::connector::sid(t.tid);
            }
            p as isize
        }),
        nr::GETSID => table().getsid(t.tid, a.int(0)).map(|p| p as isize),
        nr::PRLIMIT64 => task::prlimit(t, a.int(0), a.uint(1), a.ptr(2).non_null(), a.ptr(3).non_null()),
        nr::GETRLIMIT => task::prlimit(t, 0, a.uint(0), None, Some(a.ptr(1))),
        nr::SETRLIMIT => task::prlimit(t, 0, a.uint(0), Some(a.ptr(1)), None),
        nr::RT_SIGACTION => task::rt_sigaction(t, a.int(0), a.ptr(1), a.ptr(2), a.len(3)),
        nr::RT_SIGPROCMASK => task::rt_sigprocmask(t, a.int(0), a.ptr(1), a.ptr(2), a.len(3)),
        nr::RT_SIGPENDING => task::rt_sigpending(t, a.ptr(0), a.len(1)),
        nr::RT_SIGSUSPEND => task::rt_sigsuspend(t, a.ptr(0), a.len(1)),
        nr::PAUSE => task::pause(t),
        nr::SIGALTSTACK => task::sigaltstack(t, a.ptr(0), a.ptr(1)),
        nr::PERSONALITY => crate::ptrace::personality(t, a.uint(0)),
        nr::RT_SIGTIMEDWAIT => task::rt_sigtimedwait(t, a.ptr(0), a.ptr(1), a.ptr(2), a.len(3)),
        nr::RT_SIGQUEUEINFO => task::rt_sigqueueinfo(t, a.int(0), None, a.int(1), a.ptr(2)),
        nr::RT_TGSIGQUEUEINFO => task::rt_sigqueueinfo(t, a.int(0), Some(a.int(1)), a.int(2), a.ptr(3)),
        nr::ALARM => time::alarm(t, a.uint(0)),
        nr::TIMER_CREATE => crate::posix_timer::timer_create(t, a.int(0), a.ptr(1), a.ptr(2)),
        nr::TIMER_SETTIME => crate::posix_timer::timer_settime(t, a.int(0), a.int(1), a.ptr(2), a.ptr(3)),
        nr::TIMER_GETTIME => crate::posix_timer::timer_gettime(t, a.int(0), a.ptr(1)),
        nr::TIMER_GETOVERRUN => crate::posix_timer::timer_getoverrun(t, a.int(0)),
        nr::TIMER_DELETE => crate::posix_timer::timer_delete(t, a.int(0)),
        nr::SETITIMER => time::setitimer(t, a.uint(0), a.ptr(1), a.ptr(2)),
        nr::GETITIMER => time::getitimer(t, a.uint(0), a.ptr(1)),
        nr::MREMAP => mm::mremap(t, a.raw(0), a.raw(1), a.raw(2), a.raw(3), a.raw(4)),
        nr::RT_SIGRETURN => return (uthread::sigreturn(t), None),
        nr::EXIT => {
            if table().with_process(t.pid, |p| p.threads().len()) == Some(1) {
                crate::proc::note_exit(t.pid, ChildStatus::exited(a.int(0)));
            }
            t.exit = Some(uthread::Exit::Thread(a.int(0)));
            return (Flow::Exit, None);
        }
        nr::EXIT_GROUP => {
            crate::itimer::forget(t.pid);
            crate::proc::note_exit(t.pid, ChildStatus::exited(a.int(0)));
            t.exit = Some(uthread::Exit::Group(ChildStatus::exited(a.int(0))));
            return (Flow::Exit, None);
        }
        nr::UNAME => time::uname(t, a.ptr(0)),
        nr::SYSINFO => time::sysinfo(t, a.ptr(0)),
        nr::SYSLOG => time::syslog(t, a.int(0), a.raw(1), a.int(2)),
        nr::SCHED_YIELD => {
            crate::sched::yield_now();
            Ok(0)
        }
        nr::SCHED_SETAFFINITY => time::sched_setaffinity(t, a.int(0), a.uint(1), a.ptr(2)),
        nr::SCHED_GETAFFINITY => time::sched_getaffinity(t, a.int(0), a.uint(1), a.ptr(2)),
        nr::GETCPU => time::getcpu(t, a.ptr(0), a.ptr(1)),
        nr::RSEQ => crate::rseq::sys_rseq(t, a.raw(0), a.uint(1), a.int(2), a.uint(3)),
        nr::GETPRIORITY => sched::getpriority(t, a.int(0), a.int(1)),
        nr::SETPRIORITY => sched::setpriority(t, a.int(0), a.int(1), a.int(2)),
        nr::IOPRIO_SET => sched::ioprio_set(t, a.int(0), a.int(1), a.int(2)),
        nr::IOPRIO_GET => sched::ioprio_get(t, a.int(0), a.int(1)),
        nr::SCHED_SETSCHEDULER => sched::sched_setscheduler(t, a.int(0), a.int(1), a.ptr(2)),
        nr::SCHED_SETPARAM => sched::sched_setparam(t, a.int(0), a.ptr(1)),
        nr::SCHED_GETSCHEDULER => sched::sched_getscheduler(t, a.int(0)),
        nr::SCHED_GETPARAM => sched::sched_getparam(t, a.int(0), a.ptr(1)),
        nr::SCHED_SETATTR => sched::sched_setattr(t, a.int(0), a.ptr(1), a.uint(2)),
        nr::SCHED_GETATTR => sched::sched_getattr(t, a.int(0), a.ptr(1), a.uint(2), a.uint(3)),
        nr::SCHED_GET_PRIORITY_MAX => sched::sched_get_priority(a.int(0), true),
        nr::SCHED_GET_PRIORITY_MIN => sched::sched_get_priority(a.int(0), false),
        nr::SCHED_RR_GET_INTERVAL => sched::sched_rr_get_interval(t, a.int(0), a.ptr(1)),
        nr::GETRANDOM => time::getrandom(t, a.buf(0, 1), a.uint(2)),
        nr::CLOCK_GETTIME => time::clock_gettime(t, a.uint(0), a.ptr(1)),
        nr::CLOCK_GETRES => time::clock_getres(t, a.uint(0), a.ptr(1)),
        nr::GETTIMEOFDAY => time::gettimeofday(t, a.ptr(0), a.ptr(1)),
        nr::TIME => time::time(t, a.ptr(0)),
        nr::NANOSLEEP => time::nanosleep(t, 1, 0, a.ptr(0), a.ptr(1)),
        nr::CLOCK_NANOSLEEP => time::nanosleep(t, a.uint(0), a.uint(1), a.ptr(2), a.ptr(3)),
        nr::FUTEX => crate::futex::sys_futex(t, a.ptr(0), a.int(1), a.uint(2), a.ptr(3), a.ptr(4), a.uint(5)),
        nr::REBOOT => time::reboot(t, a.int(0), a.int(1), a.uint(2)),
        nr::CAPGET => task::capget(t, a.ptr(0), a.ptr(1)),
        nr::CAPSET => task::capset(t, a.ptr(0), a.ptr(1)),
        nr::MLOCK => mm::mlock(t, a.raw(0), a.len(1), 0),
        nr::MUNLOCK => mm::munlock(t, a.raw(0), a.len(1)),
        nr::MLOCKALL => mm::mlockall(t, a.uint(0)),
        nr::MUNLOCKALL => mm::munlockall(t),
        nr::SETTIMEOFDAY => time::settimeofday(t, a.ptr(0), a.ptr(1)),
        nr::SETHOSTNAME => time::sethostname(t, a.ptr(0), a.int(1), false),
        nr::SETDOMAINNAME => time::sethostname(t, a.ptr(0), a.int(1), true),
        nr::SETNS => task::setns(t, a.fd(0), a.int(1)),
        nr::CLOCK_SETTIME => time::clock_settime(t, a.uint(0), a.ptr(1)),
        nr::ADJTIMEX => time::adjtimex(t, a.ptr(0)),
        nr::CLOCK_ADJTIME => time::clock_adjtime(t, a.int(0), a.ptr(1)),
        nr::UNSHARE => task::unshare(t, a.raw(0)),
        nr::PROCESS_VM_READV | nr::PROCESS_VM_WRITEV => {
            let iovs = [(a.ptr(1), a.raw(2)), (a.ptr(3), a.raw(4))];
            crate::ptrace::process_vm(t, a.int(0), iovs, a.raw(5), n as usize == nr::PROCESS_VM_WRITEV)
        }
        nr::MEMBARRIER => time::membarrier(t, a.int(0), a.uint(1), a.int(2)),
        nr::MLOCK2 => mm::mlock(t, a.raw(0), a.len(1), a.int(2)),
        nr::FUTEX_WAITV => {
            crate::futex::sys_futex_waitv(t, a.ptr(0), a.uint(1), a.uint(2), a.ptr(3), a.int(4))
        }
        nr::SOCKET => crate::net::socket(t, a.int(0), a.int(1), a.int(2)),
        nr::CONNECT => crate::net::connect(t, a.fd(0), a.ptr(1), a.int(2)),
        nr::ACCEPT => crate::net::accept4(t, a.fd(0), a.ptr(1), a.ptr(2), 0),
        nr::SENDTO => crate::net::sendto(t, a.fd(0), a.buf(1, 2), a.uint(3), a.ptr(4), a.int(5)),
        nr::RECVFROM => crate::net::recvfrom(t, a.fd(0), a.buf(1, 2), a.uint(3), a.ptr(4), a.ptr(5)),
        nr::SENDMSG => crate::net::sendmsg(t, a.fd(0), a.ptr(1), a.uint(2)),
        nr::RECVMSG => crate::net::recvmsg(t, a.fd(0), a.ptr(1), a.uint(2)),
        nr::SHUTDOWN => crate::net::shutdown(t, a.fd(0), a.int(1)),
        nr::BIND => crate::net::bind(t, a.fd(0), a.ptr(1), a.int(2)),
        nr::LISTEN => crate::net::listen(t, a.fd(0), a.int(1)),
        nr::GETSOCKNAME => crate::net::getsockname(t, a.fd(0), a.ptr(1), a.ptr(2)),
        nr::GETPEERNAME => crate::net::getpeername(t, a.fd(0), a.ptr(1), a.ptr(2)),
        nr::SOCKETPAIR => crate::net::socketpair(t, a.int(0), a.int(1), a.int(2), a.ptr(3)),
        nr::SETSOCKOPT => crate::net::setsockopt(t, a.fd(0), a.int(1), a.int(2), a.ptr(3), a.int(4)),
        nr::GETSOCKOPT => crate::net::getsockopt(t, a.fd(0), a.int(1), a.int(2), a.ptr(3), a.ptr(4)),
        nr::ACCEPT4 => crate::net::accept4(t, a.fd(0), a.ptr(1), a.ptr(2), a.int(3)),
        nr::RECVMMSG => crate::net::recvmmsg(t, a.fd(0), a.ptr(1), a.uint(2), a.uint(3), a.ptr(4)),
        nr::SENDMMSG => crate::net::sendmmsg(t, a.fd(0), a.ptr(1), a.uint(2), a.uint(3)),
        other => {
            // one line the 1st, 2nd, 4th, 8th... time per number (a fuzzer
            // makes 100,000 such calls per run)
            let n = UNSUPPORTED_SEEN
                .get(other.min(511))
                .map_or(1, |c| c.fetch_add(1, core::sync::atomic::Ordering::Relaxed) + 1);
            if n.is_power_of_two() {
                log::info!(
                    "pid {}: unsupported syscall {} ({}): ENOSYS ({} times)",
                    t.pid,
                    other,
                    linux_abi::syscall::name(other).unwrap_or("unknown"),
                    n
                );
            }
            Err(Errno::ENOSYS)
        }
    };
    log::trace!("pid {} -> {:x?}", t.pid, r);
    t.ctx.set_syscall_return(match r {
        Ok(v) => v as u64,
        Err(e) => e.to_syscall_return() as u64,
    });
    (Flow::Continue, Some(r))
}

/// The one way user memory is read and written: typed pointers
/// ([`UserPtr`] of a [`Pod`] value, [`UserSlice`] of bytes, [`UserCStr`]),
/// each checked with Linux's `access_ok` (below `TASK_SIZE_MAX`) before the
/// address space copies (`EFAULT` for an unmapped or unreadable byte).
impl UThread {
    /// Reads one value (`get_user`, `copy_from_user` of a struct).
    pub fn read<T: Pod>(&self, p: UserPtr<T>) -> Result<T> {
        if !p.access_ok() {
            return Err(Errno::EFAULT);
        }
        self.vm.lock().read_val(p.addr() as usize)
    }

    /// Writes one value (`put_user`, `copy_to_user` of a struct).
    pub fn write<T: Pod>(&self, p: UserPtr<T>, v: T) -> Result<()> {
        if !p.access_ok() {
            return Err(Errno::EFAULT);
        }
        self.vm.lock().write_val(p.addr() as usize, v)
    }

    /// Fills `buf` from user memory at `addr`.
    pub fn read_into(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        UserSlice::new(addr, buf.len()).check()?;
        if let Some(b) = &self.fixed_buf
            && b.covers(addr, buf.len())
        {
            b.read(addr, buf);
            return Ok(());
        }
        self.vm.lock().read_user(addr as usize, buf)
    }

    /// The bytes of `s` in a new buffer (`ENOMEM` when the heap cannot hold
    /// them).
    pub fn read_slice(&self, s: UserSlice) -> Result<Vec<u8>> {
        s.check()?;
        let mut buf = Vec::new();
        buf.try_reserve_exact(s.len).map_err(|_| Errno::ENOMEM)?;
        buf.resize(s.len, 0);
        self.read_into(s.addr, &mut buf)?;
        Ok(buf)
    }

    /// Copies `data` to user memory at `addr` (`copy_to_user`).
    pub fn write_slice(&self, addr: u64, data: &[u8]) -> Result<()> {
        UserSlice::new(addr, data.len()).check()?;
        if let Some(b) = &self.fixed_buf
            && b.covers(addr, data.len())
        {
            b.write(addr, data);
            return Ok(());
        }
        self.vm.lock().write_user(addr as usize, data)
    }

    /// A NUL-terminated string of at most `limit` bytes with the NUL
    /// (`strncpy_from_user`: `EFAULT`, `ENAMETOOLONG`).
    pub fn read_str(&self, s: UserCStr, limit: usize) -> Result<Vec<u8>> {
        if !access_ok(s.0, 1) {
            return Err(Errno::EFAULT);
        }
        self.vm.lock().read_cstr(s.0 as usize, limit)
    }
}

/// The process crate's user-memory seam (clone3's struct, waitid's
/// siginfo) through the same checked copies.
impl process::uaccess::UserMemory for UThread {
    fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        self.read_into(addr, buf)
    }
    fn write_bytes(&self, addr: u64, data: &[u8]) -> Result<()> {
        self.write_slice(addr, data)
    }
}

/// The thread's tables, through its caches ([`UThread::files_cache`]): no
/// process-table lock on the fd paths, and no reference count on the fd
/// table's.
impl UThread {
    /// The thread's fd table (its calls are `EBADF` once the thread has
    /// none).
    #[inline]
    pub fn files(&self) -> &FilesCache {
        &self.files_cache
    }

    /// The thread's root, cwd and umask, locked (through its cache: no
    /// reference count; `ENOENT` once the thread has none). Copy out what
    /// is needed and let the guard go: the lock is a leaf.
    #[inline]
    pub fn fs(&self) -> Result<uthread::FsGuard<'_>> {
        self.fs_cache.lock().ok_or(Errno::ENOENT)
    }

    /// The open file behind `fd` (`EBADF`).
    #[inline]
    pub fn fd(&self, fd: Fd) -> Result<Arc<dyn vfs::File>> {
        // an io_uring request on a registered file
        if fd.get() == io_uring::FIXED_FD
            && let Some(f) = &self.fixed_file
        {
            return Ok(f.clone());
        }
        self.files_cache.get(fd.get())
    }

    /// The RLIMIT_NOFILE soft limit.
    pub fn nofile(&self) -> u64 {
        table()
            .with_process(self.pid, |p| p.rlimits().cur(process::rlimit::Resource::Nofile))
            .unwrap_or(fs_table::INR_OPEN_CUR)
    }
}
