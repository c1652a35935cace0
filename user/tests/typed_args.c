/* Syscall arguments as the Linux prototypes type them: an `unsigned int fd`
 * or `int` flag takes the register's low 32 bits (high bits ignored, never
 * EBADF/EINVAL), `size_t`/`off_t`/pointers the whole register; and the user
 * pointer rule: access_ok (below TASK_SIZE_MAX) checked where Linux checks
 * it, after EBADF, also when nothing would be copied (zero length, end of
 * file, empty iovecs). */
#include "kt.h"

#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <signal.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/xattr.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#define HI (1UL << 32)
/* <linux/futex.h> and <asm/prctl.h> (not in musl) */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_WAKE_PRIVATE 129
#define ARCH_GET_FS 0x1003
#define KADDR ((void *)0xffff800000000000UL)

static int tmpfile_with(const char *s) {
    char name[] = "/tmp/typed_args_XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0) return -1;
    unlink(name);
    if (write(fd, s, strlen(s)) != (ssize_t)strlen(s)) return -1;
    lseek(fd, 0, SEEK_SET);
    return fd;
}

KT_CASE(fd_high_bits_are_ignored) {
    int fd = KT_SYS_OK(tmpfile_with("hello"));
    char b[8] = {0};
    KT_SYS_RET(syscall(SYS_read, HI | fd, b, 2), 2);
    KT_EQ(b[0], 'h');
    KT_SYS_RET(syscall(SYS_lseek, HI | fd, 0, HI | SEEK_END), 5);
    KT_SYS_RET(syscall(SYS_pread64, 0xffffffff00000000UL | fd, b, 3, 1), 3);
    KT_EQ(b[0], 'e');
    KT_SYS_RET(syscall(SYS_fcntl, HI | fd, HI | F_GETFD, 0), 0);
    KT_SYS_RET(syscall(SYS_fcntl, HI | fd, F_SETFD, FD_CLOEXEC), 0);
    KT_SYS_RET(fcntl(fd, F_GETFD), FD_CLOEXEC);
    struct stat st;
    KT_SYS_RET(syscall(SYS_fstat, HI | fd, &st), 0);
    KT_EQ(st.st_size, 5);
    KT_SYS_RET(syscall(SYS_ftruncate, HI | fd, 3), 0);
    KT_SYS_RET(syscall(SYS_fstat, fd, &st), 0);
    KT_EQ(st.st_size, 3);
    KT_SYS_RET(syscall(SYS_fsync, HI | fd), 0);
    /* dup2 returns the new fd as the unsigned int it took */
    KT_SYS_RET(syscall(SYS_dup2, HI | fd, HI | 40), 40);
    KT_SYS_RET(syscall(SYS_dup3, HI | fd, HI | 41, HI | O_CLOEXEC), 41);
    KT_SYS_RET(fcntl(41, F_GETFD), FD_CLOEXEC);
    int d = KT_SYS_OK(syscall(SYS_dup, HI | fd));
    KT_SYS_RET(syscall(SYS_close, HI | d), 0);
    KT_SYS_ERR(fcntl(d, F_GETFD), EBADF);
    KT_SYS_RET(syscall(SYS_close, HI | 40), 0);
    KT_SYS_RET(syscall(SYS_close, HI | 41), 0);
    KT_SYS_ERR(fcntl(40, F_GETFD), EBADF);
    KT_SYS_RET(syscall(SYS_close, 0xffffffff00000000UL | fd), 0);
    KT_SYS_ERR(fcntl(fd, F_GETFD), EBADF);
}

KT_CASE(negative_and_huge_fds_are_ebadf) {
    char b[4];
    KT_SYS_ERR(syscall(SYS_read, -1L, b, 1), EBADF);
    KT_SYS_ERR(syscall(SYS_read, 0xffffffffUL, b, 1), EBADF);
    KT_SYS_ERR(syscall(SYS_close, 0x7fffffffUL), EBADF);
    KT_SYS_ERR(syscall(SYS_dup, -1L), EBADF);
    KT_SYS_ERR(syscall(SYS_fsync, 1000000), EBADF);
    /* the low half all ones is fd 4294967295, not AT_FDCWD or -1 + something */
    KT_SYS_ERR(syscall(SYS_fchdir, HI - 1), EBADF);
}

KT_CASE(int_flags_take_the_low_half) {
    int p[2] = {-1, -1};
    KT_SYS_RET(syscall(SYS_pipe2, p, HI | O_CLOEXEC), 0);
    KT_SYS_RET(fcntl(p[0], F_GETFD), FD_CLOEXEC);
    KT_SYS_RET(fcntl(p[1], F_GETFD), FD_CLOEXEC);
    close(p[0]);
    close(p[1]);
    KT_SYS_ERR(syscall(SYS_pipe2, p, HI | 1), EINVAL);
    KT_SYS_ERR(syscall(SYS_pipe2, KADDR, 0), EFAULT);
    mode_t old = umask(022);
    KT_SYS_RET(syscall(SYS_umask, HI | 077), 022);
    KT_SYS_RET(umask(old), 077);
    /* close_range's unsigned ints: a last fd with high bits is the low half */
    int fd = KT_SYS_OK(dup(0));
    KT_SYS_RET(syscall(SYS_close_range, HI | fd, HI | fd, 0), 0);
    KT_SYS_ERR(fcntl(fd, F_GETFD), EBADF);
}

KT_CASE(read_write_check_access_ok_after_ebadf) {
    int fd = KT_SYS_OK(tmpfile_with("abc"));
    int wr = KT_SYS_OK(open("/dev/null", O_WRONLY));
    int rd = KT_SYS_OK(open("/dev/zero", O_RDONLY));
    /* nothing would be copied, still EFAULT (vfs_read's access_ok) */
    KT_SYS_ERR(read(fd, KADDR, 0), EFAULT);
    KT_SYS_ERR(write(fd, KADDR, 0), EFAULT);
    KT_SYS_ERR(pread(fd, KADDR, 0, 0), EFAULT);
    KT_SYS_ERR(pwrite(fd, KADDR, 0, 0), EFAULT);
    /* at end of file */
    KT_SYS_RET(lseek(fd, 0, SEEK_END), 3);
    KT_SYS_ERR(read(fd, KADDR, 16), EFAULT);
    /* EBADF first: no fd, or an fd not open for that direction */
    KT_SYS_ERR(read(-1, KADDR, 0), EBADF);
    KT_SYS_ERR(read(wr, KADDR, 0), EBADF);
    KT_SYS_ERR(write(rd, KADDR, 0), EBADF);
    /* above any TASK_SIZE_MAX (Debian's Linux has 5-level paging under
     * QEMU's -cpu max, so its limit is 2^56 - 4096, ours 2^47 - 4096) */
    KT_SYS_ERR(write(wr, (void *)(1UL << 56), 0), EFAULT);
    KT_SYS_ERR(read(rd, (void *)((1UL << 56) - 8), 16), EFAULT);
    char b[4];
    KT_SYS_RET(read(rd, b, 4), 4);
    close(fd);
    close(wr);
    close(rd);
}

KT_CASE(iovecs_are_checked_whole_before_any_io) {
    int fd = KT_SYS_OK(tmpfile_with("0123456789"));
    char a[4], b[4];
    struct iovec ok[2] = {{a, sizeof a}, {b, sizeof b}};
    KT_SYS_RET(readv(fd, ok, 2), 8);
    KT_EQ(b[3], '7');
    /* an empty iovec at a kernel address: EFAULT, and nothing was read */
    KT_SYS_RET(lseek(fd, 0, SEEK_SET), 0);
    struct iovec bad[2] = {{a, sizeof a}, {KADDR, 0}};
    KT_SYS_ERR(readv(fd, bad, 2), EFAULT);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), 0);
    KT_SYS_ERR(writev(fd, bad, 2), EFAULT);
    KT_SYS_RET(lseek(fd, 0, SEEK_END), 10);
    /* a negative length anywhere is EINVAL, before the bad address */
    struct iovec neg[2] = {{KADDR, 0}, {a, (size_t)-1}};
    KT_SYS_ERR(readv(fd, neg, 2), EINVAL);
    /* the iovec array itself */
    KT_SYS_ERR(readv(fd, KADDR, 1), EFAULT);
    KT_SYS_ERR(readv(fd, ok, 1025), EINVAL);
    KT_SYS_RET(readv(fd, KADDR, 0), 0);
    KT_SYS_ERR(readv(-1, bad, 2), EBADF);
    close(fd);
}

KT_CASE(clock_ids_and_timer_kinds_are_ints) {
    struct timespec ts = {-1, -1};
    KT_SYS_RET(syscall(SYS_clock_gettime, HI | CLOCK_MONOTONIC, &ts), 0);
    KT_TRUE(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000, "tv_nsec %ld", ts.tv_nsec);
    KT_SYS_RET(syscall(SYS_clock_getres, HI | CLOCK_REALTIME, &ts), 0);
    KT_EQ(ts.tv_sec, 0);
    KT_SYS_ERR(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, KADDR), EFAULT);
    struct itimerval it;
    KT_SYS_RET(syscall(SYS_getitimer, HI | ITIMER_REAL, &it), 0);
    KT_SYS_ERR(syscall(SYS_getitimer, HI | 3, &it), EINVAL);
    KT_SYS_ERR(syscall(SYS_getitimer, ITIMER_REAL, KADDR), EFAULT);
    KT_SYS_ERR(syscall(SYS_setitimer, ITIMER_REAL, KADDR, 0), EFAULT);
    /* flags HI: TIMER_ABSTIME is bit 0 of an int, so a relative sleep */
    struct timespec req = {0, 1000};
    KT_SYS_RET(syscall(SYS_clock_nanosleep, HI | CLOCK_MONOTONIC, HI, &req, 0), 0);
    KT_SYS_ERR(syscall(SYS_nanosleep, KADDR, 0), EFAULT);
    struct timespec bad = {0, 1000000000};
    KT_SYS_ERR(syscall(SYS_nanosleep, &bad, 0), EINVAL);
    struct timeval tv;
    KT_SYS_RET(syscall(SYS_gettimeofday, &tv, 0), 0);
    KT_TRUE(tv.tv_usec >= 0 && tv.tv_usec < 1000000, "tv_usec %ld", tv.tv_usec);
}

KT_CASE(dirfd_is_an_int_and_at_fdcwd_its_low_half) {
    /* AT_FDCWD (-100) with anything in the high half is still AT_FDCWD */
    int fd = KT_SYS_OK(syscall(SYS_openat, 0x12345678ffffff9cUL, "/dev/null", O_RDONLY));
    close(fd);
    int dir = KT_SYS_OK(open("/dev", O_RDONLY | O_DIRECTORY));
    fd = KT_SYS_OK(syscall(SYS_openat, HI | dir, "null", O_WRONLY));
    KT_SYS_RET(write(fd, "x", 1), 1);
    close(fd);
    struct stat st;
    KT_SYS_RET(syscall(SYS_newfstatat, HI | dir, "", &st, AT_EMPTY_PATH), 0);
    KT_TRUE(S_ISDIR(st.st_mode), "mode %o", st.st_mode);
    KT_SYS_RET(syscall(SYS_faccessat, HI | dir, "null", HI | W_OK), 0);
    KT_SYS_RET(syscall(SYS_newfstatat, 0xffffff9cUL, "/dev/null", &st, 0), 0);
    KT_TRUE(S_ISCHR(st.st_mode), "mode %o", st.st_mode);
    /* -100 without the sign in 64 bits is still the int -100 */
    KT_SYS_ERR(syscall(SYS_newfstatat, 0xffffff9bUL, "null", &st, 0), EBADF);
    KT_SYS_ERR(syscall(SYS_newfstatat, dir, "null", KADDR, 0), EFAULT);
    struct timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    KT_SYS_RET(syscall(SYS_utimensat, HI | dir, "null", times, 0), 0);
    KT_SYS_ERR(syscall(SYS_utimensat, dir, "null", KADDR, 0), EFAULT);
    close(dir);
}

KT_CASE(rlimits_pids_and_signals_are_ints_and_values) {
    struct rlimit r = {0, 0};
    KT_SYS_RET(syscall(SYS_getrlimit, HI | RLIMIT_NOFILE, &r), 0);
    KT_TRUE(r.rlim_cur > 0 && r.rlim_cur <= r.rlim_max, "cur %lu max %lu", r.rlim_cur, r.rlim_max);
    /* getrlimit/setrlimit always copy: NULL is EFAULT (after EINVAL) */
    KT_SYS_ERR(syscall(SYS_getrlimit, RLIMIT_NOFILE, NULL), EFAULT);
    KT_SYS_ERR(syscall(SYS_getrlimit, 99, NULL), EINVAL);
    KT_SYS_ERR(syscall(SYS_setrlimit, RLIMIT_NOFILE, NULL), EFAULT);
    KT_SYS_ERR(syscall(SYS_setrlimit, RLIMIT_NOFILE, KADDR), EFAULT);
    KT_SYS_RET(syscall(SYS_setrlimit, HI | RLIMIT_NOFILE, &r), 0);
    /* prlimit64's pid is an int: HI is 0, the caller */
    struct rlimit o = {0, 0};
    KT_SYS_RET(syscall(SYS_prlimit64, HI, HI | RLIMIT_NOFILE, NULL, &o), 0);
    KT_EQ(o.rlim_cur, r.rlim_cur);
    KT_SYS_RET(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, NULL), 0);
    KT_SYS_RET(syscall(SYS_kill, HI | getpid(), HI | 0), 0);
    KT_SYS_RET(syscall(SYS_getpgid, HI), getpgid(0));
    pid_t c = fork();
    if (c == 0) _exit(7);
    KT_TRUE(c > 0, "fork");
    int st = 0;
    KT_SYS_RET(syscall(SYS_wait4, HI | c, &st, HI, NULL), c);
    KT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 7, "status %#x", st);
}

KT_CASE(readlink_bufsiz_is_an_int) {
    const char *link = "/tmp/typed_args_link";
    unlink(link);
    KT_SYS_OK(symlink("0123456789abcdef", link));
    char b[32];
    memset(b, 'z', sizeof b);
    /* the high half is ignored: 4 bytes, not the whole target */
    KT_SYS_RET(syscall(SYS_readlink, link, b, HI | 4), 4);
    KT_EQ(b[3], '3');
    KT_EQ(b[4], 'z');
    KT_SYS_RET(syscall(SYS_readlinkat, AT_FDCWD, link, b, HI | 5), 5);
    KT_EQ(b[5], 'z');
    /* 0 and negative ints are EINVAL, whatever the high half holds */
    KT_SYS_ERR(syscall(SYS_readlink, link, b, HI), EINVAL);
    KT_SYS_ERR(syscall(SYS_readlink, link, b, 0xffffffffUL), EINVAL);
    /* int flags of fchownat/utimensat/unlinkat: the high half is ignored */
    KT_SYS_RET(syscall(SYS_fchownat, AT_FDCWD, link, -1, -1, HI | AT_SYMLINK_NOFOLLOW), 0);
    KT_SYS_RET(syscall(SYS_utimensat, AT_FDCWD, link, NULL, HI | AT_SYMLINK_NOFOLLOW), 0);
    struct stat st;
    KT_SYS_RET(syscall(SYS_newfstatat, AT_FDCWD, link, &st, HI | AT_SYMLINK_NOFOLLOW), 0);
    KT_TRUE(S_ISLNK(st.st_mode), "mode %o", st.st_mode);
    KT_SYS_RET(syscall(SYS_unlinkat, HI | AT_FDCWD, link, HI), 0);
    KT_SYS_ERR(lstat(link, &st), ENOENT);
}

KT_CASE(mm_flags_by_their_prototype_types) {
    /* mmap's fd is an unsigned long that reaches fget(unsigned int) */
    int fd = KT_SYS_OK(tmpfile_with("mapped"));
    char *f = (char *)syscall(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE, HI | fd, 0);
    KT_TRUE(f != MAP_FAILED, "mmap %p errno %d", f, errno);
    KT_EQ(f[0], 'm');
    KT_SYS_RET(munmap(f, 4096), 0);
    close(fd);
    char *p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(p != MAP_FAILED, "mmap errno %d", errno);
    /* madvise's advice and msync's flags are ints: the high half is ignored */
    p[0] = 1;
    KT_SYS_RET(syscall(SYS_madvise, p, 4096, HI | MADV_DONTNEED), 0);
    KT_EQ(p[0], 0);
    KT_SYS_ERR(syscall(SYS_madvise, p, 4096, HI | 999), EINVAL);
    KT_SYS_RET(syscall(SYS_msync, p, 4096, HI | MS_SYNC), 0);
    KT_SYS_ERR(syscall(SYS_msync, p, 4096, HI | MS_SYNC | MS_ASYNC), EINVAL);
    /* mprotect's prot and mremap's flags are unsigned longs: a high bit is
     * EINVAL (mprotect checks prot after a zero length returned 0) */
    KT_SYS_ERR(syscall(SYS_mprotect, p, 4096, HI | PROT_READ), EINVAL);
    KT_SYS_RET(syscall(SYS_mprotect, p, 0, HI | PROT_READ), 0);
    p[4096] = 2;
    KT_SYS_ERR(syscall(SYS_mremap, p, 4096, 8192, HI | MREMAP_MAYMOVE, 0), EINVAL);
    /* mlock2's and mlockall's flags are ints */
    KT_SYS_RET(syscall(SYS_mlock2, p, 4096, HI), 0);
    KT_SYS_RET(munlock(p, 4096), 0);
    KT_SYS_ERR(syscall(SYS_mlock2, p, 4096, HI | 2), EINVAL);
    KT_SYS_ERR(syscall(SYS_mlockall, HI), EINVAL);
    KT_EQ(p[4096], 2);
    KT_SYS_RET(munmap(p, 2 * 4096), 0);
}

KT_CASE(signal_calls_take_int_signals_and_size_t_sizes) {
    /* the kernel's struct sigaction: handler, flags, restorer, mask */
    unsigned long act[4] = {(unsigned long)SIG_IGN, 0, 0, 1UL << (SIGUSR2 - 1)};
    unsigned long old[4] = {9, 9, 9, 9};
    KT_SYS_RET(syscall(SYS_rt_sigaction, HI | SIGUSR1, act, NULL, 8), 0);
    KT_SYS_RET(syscall(SYS_rt_sigaction, SIGUSR1, NULL, old, 8), 0);
    KT_EQ(old[0], (unsigned long)SIG_IGN);
    KT_EQ(old[3], 1UL << (SIGUSR2 - 1));
    act[0] = (unsigned long)SIG_DFL;
    act[3] = 0;
    KT_SYS_RET(syscall(SYS_rt_sigaction, SIGUSR1, act, NULL, 8), 0);
    /* sigsetsize is a size_t: a high bit is EINVAL */
    KT_SYS_ERR(syscall(SYS_rt_sigaction, SIGUSR1, NULL, old, HI | 8), EINVAL);
    KT_SYS_ERR(syscall(SYS_rt_sigaction, SIGUSR1, KADDR, NULL, 8), EFAULT);
    unsigned long set = 1UL << (SIGUSR1 - 1), prev = 7;
    KT_SYS_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, HI | 8), EINVAL);
    KT_SYS_RET(syscall(SYS_rt_sigprocmask, HI | SIG_BLOCK, &set, &prev, 8), 0);
    KT_EQ(prev & set, 0);
    KT_SYS_ERR(syscall(SYS_rt_sigpending, &prev, HI | 8), EINVAL);
    /* rt_sigqueueinfo and rt_tgsigqueueinfo: pid_t and int, low halves */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    KT_SYS_RET(syscall(SYS_rt_sigqueueinfo, HI | getpid(), HI | SIGUSR1, &si), 0);
    KT_SYS_RET(syscall(SYS_rt_sigpending, &prev, 8), 0);
    KT_EQ(prev & set, set);
    struct timespec zero = {0, 0};
    siginfo_t got;
    KT_SYS_ERR(syscall(SYS_rt_sigtimedwait, &set, &got, &zero, HI | 8), EINVAL);
    KT_SYS_RET(syscall(SYS_rt_sigtimedwait, &set, &got, &zero, 8), SIGUSR1);
    KT_EQ(got.si_code, SI_QUEUE);
    KT_SYS_RET(syscall(SYS_rt_tgsigqueueinfo, HI | getpid(), HI | gettid(), HI | SIGUSR1, &si), 0);
    KT_SYS_RET(syscall(SYS_rt_sigtimedwait, &set, NULL, &zero, 8), SIGUSR1);
    KT_SYS_ERR(syscall(SYS_rt_sigtimedwait, &set, NULL, &zero, 8), EAGAIN);
    /* a tid whose low half is 0 is EINVAL */
    KT_SYS_ERR(syscall(SYS_rt_tgsigqueueinfo, getpid(), HI, SIGUSR1, &si), EINVAL);
    KT_SYS_RET(syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &set, NULL, 8), 0);
    /* sigaltstack: stack_t read and written whole */
    stack_t os;
    memset(&os, 0x55, sizeof os);
    KT_SYS_RET(syscall(SYS_sigaltstack, NULL, &os), 0);
    KT_EQ(os.ss_flags, SS_DISABLE);
    KT_SYS_ERR(syscall(SYS_sigaltstack, KADDR, NULL), EFAULT);
}

KT_CASE(id_calls_take_unsigned_int_ids_and_int_counts) {
    if (getuid() != 0) KT_SKIP("needs root");
    /* getgroups' count is an int: a high half alone is 0 (count only) */
    int n = KT_SYS_OK(getgroups(0, NULL));
    KT_SYS_RET(syscall(SYS_getgroups, HI, NULL), n);
    pid_t c = KT_FORK();
    if (c == 0) {
        gid_t g[2] = {7, 8}, back[4] = {0};
        KT_SYS_RET(syscall(SYS_setgroups, HI | 2, g), 0);
        KT_SYS_RET(syscall(SYS_getgroups, HI | 4, back), 2);
        KT_EQ(back[0], 7);
        KT_EQ(back[1], 8);
        KT_SYS_ERR(syscall(SYS_setgroups, 65537, g), EINVAL);
        KT_SYS_ERR(syscall(SYS_setgroups, 1, KADDR), EFAULT);
        /* uid_t/gid_t are unsigned ints: the low half, -1 unchanged */
        KT_SYS_RET(syscall(SYS_setresgid, HI | 5, HI | 6, HI | 0xffffffffUL), 0);
        gid_t r, e, sv;
        KT_SYS_RET(syscall(SYS_getresgid, &r, &e, &sv), 0);
        KT_EQ(r, 5);
        KT_EQ(e, 6);
        KT_EQ(sv, 0);
        KT_SYS_RET(syscall(SYS_setgid, HI | 9), 0);
        KT_EQ(getgid(), 9);
        KT_SYS_RET(syscall(SYS_setresuid, HI | 1000, HI | 1001, HI | 1002), 0);
        uid_t ru = 0, eu = 0, su = 0;
        KT_SYS_RET(syscall(SYS_getresuid, &ru, &eu, &su), 0);
        KT_EQ(ru, 1000);
        KT_EQ(eu, 1001);
        KT_EQ(su, 1002);
        /* the first bad pointer is EFAULT, the ones before it written */
        ru = 0;
        KT_SYS_ERR(syscall(SYS_getresuid, &ru, KADDR, &su), EFAULT);
        KT_EQ(ru, 1000);
        KT_SYS_ERR(syscall(SYS_setuid, HI | 0), EPERM);
        _exit(0);
    }
    int st = 0;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, kt_exited(0));
}

KT_CASE(getrandom_flags_and_rusage_who_take_the_low_half) {
    unsigned char b[8];
    /* unsigned int flags: the high half is ignored, a low bit is not */
    KT_SYS_RET(syscall(SYS_getrandom, b, sizeof b, HI), 8);
    KT_SYS_RET(syscall(SYS_getrandom, b, sizeof b, HI | GRND_NONBLOCK), 8);
    KT_SYS_ERR(syscall(SYS_getrandom, b, sizeof b, HI | 8), EINVAL);
    KT_SYS_ERR(syscall(SYS_getrandom, KADDR, 4, 0), EFAULT);
    struct rusage ru;
    KT_SYS_RET(syscall(SYS_getrusage, HI | RUSAGE_SELF, &ru), 0);
    KT_SYS_RET(syscall(SYS_getrusage, 0xffffffffUL, &ru), 0); /* RUSAGE_CHILDREN */
    KT_SYS_ERR(syscall(SYS_getrusage, HI | 5, &ru), EINVAL);
    KT_SYS_ERR(syscall(SYS_getrusage, RUSAGE_SELF, KADDR), EFAULT);
    /* alarm's seconds are an unsigned int: HI | 0 cancels */
    KT_SYS_RET(syscall(SYS_alarm, 100), 0);
    KT_SYS_RET(syscall(SYS_alarm, HI), 100);
    KT_SYS_RET(syscall(SYS_alarm, 0), 0);
}

KT_CASE(poll_futex_prctl_take_int_and_unsigned_int_halves) {
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(write(p[1], "x", 1), 1);
    /* poll's nfds is an unsigned int, its timeout an int */
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    KT_SYS_RET(syscall(SYS_poll, &pf, HI | 1, HI), 1);
    KT_EQ(pf.revents, POLLIN);
    struct timespec ts = {0, 0};
    pf.revents = 0;
    KT_SYS_RET(syscall(SYS_ppoll, &pf, HI | 1, &ts, NULL, 8), 1);
    KT_EQ(pf.revents, POLLIN);
    KT_SYS_ERR(syscall(SYS_poll, KADDR, 1, 0), EFAULT);
    /* epoll: int fds, op and maxevents */
    int ep = KT_SYS_OK(syscall(SYS_epoll_create1, HI | EPOLL_CLOEXEC));
    KT_SYS_RET(fcntl(ep, F_GETFD), FD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ULL};
    KT_SYS_RET(syscall(SYS_epoll_ctl, HI | ep, HI | EPOLL_CTL_ADD, HI | p[0], &ev), 0);
    struct epoll_event out[2];
    memset(out, 0, sizeof out);
    KT_SYS_RET(syscall(SYS_epoll_wait, HI | ep, out, HI | 2, HI), 1);
    KT_EQ(out[0].events, EPOLLIN);
    KT_EQ(out[0].data.u64, 0x1122334455667788ULL);
    KT_SYS_ERR(syscall(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, p[0], KADDR), EFAULT);
    close(ep);
    /* futex's op is an int: the high half is ignored (was ENOSYS) */
    unsigned int word = 5;
    KT_SYS_RET(syscall(SYS_futex, &word, HI | FUTEX_WAKE, 1, NULL, NULL, 0), 0);
    KT_SYS_RET(syscall(SYS_futex, &word, HI | FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 0);
    /* val is a u32: the high half does not make the values differ */
    struct timespec zero = {0, 0};
    KT_SYS_ERR(syscall(SYS_futex, &word, FUTEX_WAIT, HI | 5, &zero, NULL, 0), ETIMEDOUT);
    KT_SYS_ERR(syscall(SYS_futex, &word, FUTEX_WAIT, HI | 6, &zero, NULL, 0), EAGAIN);
    KT_SYS_ERR(syscall(SYS_futex, &word, HI | 77, 1, NULL, NULL, 0), ENOSYS);
    /* prctl's and arch_prctl's option is an int (was EINVAL) */
    KT_SYS_RET(syscall(SYS_prctl, HI | PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
    char name[16] = {0}, want[16] = {0};
    KT_SYS_RET(syscall(SYS_prctl, PR_GET_NAME, want, 0, 0, 0), 0);
    KT_SYS_RET(syscall(SYS_prctl, HI | PR_GET_NAME, name, 0, 0, 0), 0);
    KT_NE(want[0], 0);
    KT_EQ(strcmp(name, want), 0);
    unsigned long fs = 0;
    KT_SYS_RET(syscall(SYS_arch_prctl, HI | ARCH_GET_FS, &fs), 0);
    KT_NE(fs, 0);
    KT_SYS_ERR(syscall(SYS_arch_prctl, ARCH_GET_FS, KADDR), EFAULT);
    /* eventfd2's count is an unsigned int, its flags an int */
    int e = KT_SYS_OK(syscall(SYS_eventfd2, HI | 7, HI | EFD_CLOEXEC));
    unsigned long long v = 0;
    KT_SYS_RET(read(e, &v, 8), 8);
    KT_EQ(v, 7);
    KT_SYS_RET(fcntl(e, F_GETFD), FD_CLOEXEC);
    close(e);
    /* socket calls: int fds, levels and names, an unsigned int flag */
    int sv[2];
    KT_SYS_RET(syscall(SYS_socketpair, HI | AF_UNIX, HI | SOCK_STREAM, HI, sv), 0);
    struct timeval tv = {3, 0}, got = {0, 0};
    socklen_t len = sizeof got;
    KT_SYS_RET(syscall(SYS_setsockopt, HI | sv[0], HI | SOL_SOCKET, HI | SO_RCVTIMEO, &tv, HI | sizeof tv), 0);
    KT_SYS_RET(syscall(SYS_getsockopt, HI | sv[0], HI | SOL_SOCKET, HI | SO_RCVTIMEO, &got, &len), 0);
    KT_EQ(got.tv_sec, 3);
    KT_EQ(len, sizeof tv);
    KT_SYS_RET(syscall(SYS_sendto, HI | sv[0], "ab", 2, HI | MSG_DONTWAIT, NULL, 0), 2);
    char b[4] = {0};
    KT_SYS_RET(syscall(SYS_recvfrom, HI | sv[1], b, sizeof b, HI | MSG_DONTWAIT, NULL, NULL), 2);
    KT_EQ(b[1], 'b');
    KT_SYS_RET(syscall(SYS_shutdown, HI | sv[0], HI | SHUT_WR), 0);
    KT_SYS_RET(recv(sv[1], b, sizeof b, 0), 0);
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

KT_CASE(xattr_copy_range_and_memfd_flags_take_the_low_half) {
    int fd = KT_SYS_OK(tmpfile_with("abc"));
    /* xattr flags are an int: HI | XATTR_CREATE is XATTR_CREATE (was EINVAL) */
    KT_SYS_RET(syscall(SYS_fsetxattr, HI | fd, "trusted.t", "v", 1, HI | XATTR_CREATE), 0);
    KT_SYS_ERR(syscall(SYS_fsetxattr, fd, "trusted.t", "w", 1, HI | XATTR_CREATE), EEXIST);
    KT_SYS_ERR(syscall(SYS_fsetxattr, fd, "trusted.t", "w", 1, HI | 4), EINVAL);
    char v[4] = {0};
    KT_SYS_RET(syscall(SYS_fgetxattr, HI | fd, "trusted.t", v, sizeof v), 1);
    KT_EQ(v[0], 'v');
    KT_SYS_ERR(syscall(SYS_fgetxattr, fd, "trusted.t", KADDR, sizeof v), EFAULT);
    KT_SYS_RET(syscall(SYS_fremovexattr, HI | fd, "trusted.t"), 0);
    /* copy_file_range's flags are an unsigned int (was EINVAL) */
    int out = KT_SYS_OK(tmpfile_with(""));
    loff_t in_off = 1;
    KT_SYS_RET(syscall(SYS_copy_file_range, HI | fd, &in_off, HI | out, NULL, 2, HI), 2);
    KT_EQ(in_off, 3);
    KT_SYS_ERR(syscall(SYS_copy_file_range, fd, &in_off, out, NULL, 2, 1), EINVAL);
    char b[4] = {0};
    KT_SYS_RET(pread(out, b, sizeof b, 0), 2);
    KT_EQ(b[0], 'b');
    /* sendfile: int fds, a loff_t pointer */
    off_t so = 0;
    KT_SYS_RET(syscall(SYS_sendfile, HI | out, HI | fd, &so, 1), 1);
    KT_EQ(so, 1);
    KT_SYS_ERR(syscall(SYS_sendfile, out, fd, KADDR, 1), EFAULT);
    /* memfd_create's flags are an unsigned int (was EINVAL) */
    int m = KT_SYS_OK(syscall(SYS_memfd_create, "typed", HI | MFD_CLOEXEC));
    KT_SYS_RET(fcntl(m, F_GETFD), FD_CLOEXEC);
    KT_SYS_ERR(syscall(SYS_memfd_create, "typed", HI | 0x100), EINVAL);
    close(m);
    /* shm: int ids, flags and commands (a high half of cmd was EINVAL) */
    int id = KT_SYS_OK(syscall(SYS_shmget, IPC_PRIVATE, 4096, HI | IPC_CREAT | 0600));
    struct shmid_ds ds;
    KT_SYS_RET(syscall(SYS_shmctl, HI | id, HI | IPC_STAT, &ds), 0);
    KT_EQ(ds.shm_segsz, 4096);
    KT_SYS_ERR(syscall(SYS_shmctl, id, IPC_STAT, KADDR), EFAULT);
    KT_SYS_RET(syscall(SYS_shmctl, id, HI | IPC_RMID, NULL), 0);
    KT_SYS_ERR(syscall(SYS_shmctl, id, IPC_STAT, &ds), EINVAL);
    close(out);
    close(fd);
    /* reboot's magics are ints, its command an unsigned int (was EINVAL):
     * LINUX_REBOOT_CMD_CAD_OFF changes nothing here */
    KT_SYS_RET(syscall(SYS_reboot, HI | 0xfee1deadUL, HI | 672274793UL, HI, NULL), 0);
    KT_SYS_ERR(syscall(SYS_reboot, 0xfee1deadUL, 1, 0, NULL), EINVAL);
}

KT_CASE(umount2_flags_are_an_int) {
    /* ksys_umount(): unknown flags are EINVAL before the lookup; the
     * flags are an int, so a high half is ignored (it was EINVAL here) */
    KT_SYS_ERR(syscall(SYS_umount2, "/typed-args-no-such-dir", HI | 0UL), ENOENT);
    KT_SYS_ERR(syscall(SYS_umount2, "/typed-args-no-such-dir", HI | 8UL), ENOENT);
    KT_SYS_ERR(syscall(SYS_umount2, "/typed-args-no-such-dir", 0x10UL), EINVAL);
    KT_SYS_ERR(syscall(SYS_umount2, KADDR, 0UL), EFAULT);
}

KT_MAIN()
