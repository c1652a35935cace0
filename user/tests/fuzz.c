/* A bounded, seeded syscall fuzzer.
 *
 * A forked child makes FUZZ_CALLS raw system calls per part (ten parts,
 * fuzz.c and fuzz2.c to fuzz10.c: 200,000 calls in all), each number drawn
 * half of the time from the set our kernel dispatches (with arguments
 * shaped for each call) and half of the time from every number 0..450
 * (Linux 6.1's table and the holes in it), plus, rarely, numbers no kernel
 * implements. Parts differ by seed and by who makes the calls: root with
 * one thread (parts 0-3), root with FUZZ_THREADS 3 threads calling at once
 * (4-5), uid/gid 65534 after the set-up (6-7), and 65534 with 3 threads
 * (8-9). Arguments mix small integers, -1, huge values, NULL, kernel-half
 * pointers, unmapped pointers, pointers into a scratch arena, paths in a
 * scratch directory, fds the fuzzer opened, and tiny timeouts.
 *
 * Blocking is allowed: about one call in 16,384 (4,096 with three threads)
 * is one that may block (pause, sigsuspend, poll, epoll_wait, futex, wait4,
 * sigtimedwait without a timeout or WNOHANG). The parent is a
 * watchdog: when the calls stop making progress for STALL_SECS it kills
 * the child with SIGKILL and starts another one (the next seed of the same
 * run) that goes on from the count reached. A blocked child is not a
 * failure; these are: a child that dies of anything but the watchdog's
 * SIGKILL or exits non-zero, a child SIGKILL cannot reap within 10 s, the
 * part not finishing within FUZZ_LIMIT s (the runner's limit is 30 s), and
 * of course a kernel that panics or hangs (the watchdog then prints
 * nothing more).
 *
 * Numbers never called: exit (60), exit_group (231), rt_sigreturn (15),
 * vfork (58). Numbers called only with arguments the kernel refuses (they
 * would change the machine, not the fuzzer: the suite's later programs and
 * Linux itself must survive them): execve, execveat, reboot (a wrong
 * magic), kexec_load, kexec_file_load, init_module, finit_module,
 * delete_module, iopl, ioperm, swapon, swapoff, acct, settimeofday,
 * clock_settime, adjtimex, clock_adjtime, sethostname, setdomainname,
 * chroot, pivot_root, move_mount, mount_setattr, quotactl, quotactl_fd,
 * bpf, perf_event_open, fanotify_init, fanotify_mark, seccomp, io_submit,
 * io_pgetevents, io_uring_setup/enter/register, open_by_handle_at,
 * shmget/semget/msgget (never IPC_PRIVATE nor IPC_CREAT), shmat (no
 * SHM_REMAP, only at 0 or in the arena),
 * request_key, process_vm_writev, sched_setattr; syslog only reads (never
 * console off), mknod only FIFOs, sockets and files (no device numbers),
 * mlockall never MCL_FUTURE, sched_setscheduler never a real-time policy,
 * personality only the query, PER_LINUX or ADDR_NO_RANDOMIZE, unshare no
 * namespaces but UTS/IPC, timer_create and mq_notify never a signal the
 * fuzzer does not handle, rseq never a pointer the kernel would write to.
 * The child calls setsid() first, so vhangup has no terminal to hang up.
 *
 * What keeps the fuzzer itself alive (the same on any kernel):
 *  - fork/clone/clone3 children exit at
 *    once (clone and clone3 only with flags that make a copy, never
 *    CLONE_VM), and their exit signal is never SIGKILL or SIGSTOP;
 *  - every catchable signal is handled (a counting handler) or ignored, and
 *    rt_sigaction only installs those (always SA_SIGINFO, never SA_ONSTACK
 *    or SA_RESETHAND; never from memory with arbitrary contents);
 *    kill/tkill/tgkill/sigqueue/pidfd_send_signal target only the fuzzer
 *    itself (or pids that do not exist) and never with SIGKILL/SIGSTOP;
 *    fds 0-2 are closed and F_SETOWN is never used, so no signal reaches
 *    another process;
 *  - memory calls (mmap MAP_FIXED, munmap, mprotect, mremap, madvise, brk,
 *    mlock, msync, pkey_mprotect, ...) only touch the arena, never past its
 *    end (or are refused), never with PROT_EXEC alone (execute-only
 *    memory takes a protection key and changes PKRU on Linux); brk never goes below its start; no
 *    MADV_HWPOISON, no huge MAP_POPULATE; mappings the fuzzer did not ask
 *    for are unmapped at each checkpoint; the fuzzer never touches the
 *    arena itself (only through the kernel), so another thread's mprotect
 *    cannot fault it;
 *  - unless the call is one that may block, anything that blocks gets a
 *    zero or tiny timeout (futex, poll, select, epoll, sigtimedwait,
 *    nanosleep, io_getevents, futex_waitv; never a CPU-time clock) or is
 *    made non-blocking (pipe, terminal and anonymous-inode fds such as
 *    eventfd, timerfd and signalfd are switched to O_NONBLOCK before a
 *    read/write-like call; waits get WNOHANG; flock LOCK_NB; no F_SETLKW,
 *    no leases); prlimit never lowers RLIMIT_CPU, RLIMIT_STACK or RLIMIT_AS nor
 *    touches another process; prctl never sets seccomp, TSC, MM, syscall
 *    user dispatch or the timer slack; arch_prctl ARCH_SET_FS only with the
 *    current value or a value Linux refuses; readv only gets iovecs the
 *    fuzzer built; socket calls get msghdrs, names and control messages
 *    the fuzzer built in its junk page (SCM_RIGHTS with its own fds),
 *    their sockets are made non-blocking and their sends and receives
 *    carry MSG_DONTWAIT; SysV IPC calls never create (IPC_CREAT is off);
 *  - each thread builds structures in a junk page of its own (the kernel
 *    writes another thread's pointers' targets at any time);
 *  - paths are a fixed list under the scratch directory /tmp/fuzz (or
 *    /tmp/fuzz-u, owned by 65534, for the unprivileged parts; the run
 *    stops if it cannot get there) plus two /proc files; the directory is
 *    emptied at every checkpoint (with the fds, the extra mappings, brk,
 *    timers and zombie children); mount never gets a real file-system type
 *    nor bind/move/remount flags.
 *
 * The summary line is `# fuzz: N calls, M distinct syscalls, seed S`.
 * The child reports through a MAP_SHARED page (it has no fds of its own).
 *
 * Campaigns (`cargo xtask fuzz`): when /etc/fuzz.conf exists (xtask adds
 * it to the initramfs), its words `calls seed threads user trace_from`
 * replace the part's settings and the limits become those of a long run;
 * the watchdog prints `# fuzz: progress N calls` every second with the
 * calls made since the last line (from a ring in the shared page), and
 * from call trace_from on the child itself writes each call to the
 * console before making it (`# fz I nr a0 .. a5`), which survives a
 * kernel panic. */
#include "kt.h"

#include <limits.h>
#include <sys/mount.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <poll.h>
#include <sys/socket.h>

#include <pthread.h>
#include <stdatomic.h>

/* The run is split in parts, one test program each (fuzz.c is part 0;
 * fuzz2.c to fuzz10.c include this file as parts 1 to 9), so that each
 * part stays well within the runner's 30 s per program on our kernel under
 * QEMU TCG: together they make 10 x FUZZ_CALLS calls, each part with its
 * own seed. */
#ifndef FUZZ_PART
#define FUZZ_PART 0
#endif
#ifndef FUZZ_SEED
#define FUZZ_SEED (0x5eed1234abcdULL + FUZZ_PART)
#endif
#ifndef FUZZ_THREADS /* parts 4-5 and 8-9: three threads */
#define FUZZ_THREADS (FUZZ_PART == 4 || FUZZ_PART == 5 || FUZZ_PART >= 8 ? 3 : 1)
#endif
#ifndef FUZZ_USER /* parts 6-9: uid and gid 65534 after the set-up */
#define FUZZ_USER (FUZZ_PART >= 6)
#endif
#define FUZZ_CALLS 20000
#define FUZZ_LIMIT 27
#define STALL_SECS 2.0
#define MAX_RESTARTS 40
#define MAX_THREADS 4
#define NOBODY 65534
#define LOG_FD 1000 /* the console, kept by a tracing child */
#define RING 64
#define CHECKPOINT 256
#define ARENA_SIZE (256 * 1024)
#define MAX_FDS 64
#define MAX_MAPS 64
#define MAX_NR 512

/* ---- the syscall set ----------------------------------------------------- */

/* Numbers the kernel dispatches; the ones commented out are never called. */
static const int nrs[] = {
    SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_pwrite64, SYS_open, SYS_openat,
    SYS_creat, SYS_close, SYS_sendfile, SYS_close_range, SYS_lseek, SYS_fstat, SYS_stat, SYS_lstat,
    SYS_newfstatat, SYS_statx, SYS_getdents64, SYS_ioctl, SYS_fcntl, SYS_dup, SYS_dup2, SYS_dup3,
    SYS_pipe, SYS_pipe2, SYS_getcwd, SYS_chdir, SYS_fchdir, SYS_mkdir, SYS_mkdirat, SYS_unlink,
    SYS_rmdir, SYS_unlinkat, SYS_rename, SYS_renameat, SYS_renameat2, SYS_readlink, SYS_readlinkat,
    SYS_symlink, SYS_symlinkat, SYS_link, SYS_linkat, SYS_access, SYS_faccessat, SYS_faccessat2,
    SYS_chmod, SYS_fchmodat, SYS_fchmod, SYS_ftruncate, SYS_truncate, SYS_umask, SYS_fsync,
    SYS_fdatasync, SYS_sync, SYS_mount, SYS_umount2, SYS_poll, SYS_ppoll, SYS_select, SYS_pselect6,
    SYS_brk, SYS_mmap, SYS_munmap, SYS_mprotect, SYS_madvise, SYS_getpid, SYS_gettid, SYS_getppid,
    SYS_getuid, SYS_geteuid, SYS_getgid, SYS_getegid, SYS_setuid, SYS_setgid, SYS_getgroups,
    SYS_setgroups, SYS_setreuid, SYS_setregid, SYS_setresuid, SYS_setresgid, SYS_setfsuid,
    SYS_setfsgid, SYS_getresuid, SYS_getresgid, SYS_getrusage, SYS_times, SYS_set_tid_address,
    SYS_set_robust_list, SYS_arch_prctl, SYS_prctl, SYS_clone, SYS_clone3, SYS_fork,
    /* SYS_vfork, SYS_execve, */
    SYS_wait4, SYS_waitid, SYS_kill, SYS_tkill, SYS_tgkill, SYS_setpgid, SYS_getpgid, SYS_getpgrp,
    SYS_setsid, SYS_getsid, SYS_prlimit64, SYS_getrlimit, SYS_setrlimit, SYS_rt_sigaction,
    SYS_rt_sigprocmask, SYS_rt_sigpending, SYS_rt_sigsuspend, /* SYS_pause, */ SYS_sigaltstack,
    SYS_rt_sigtimedwait, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo, SYS_alarm, SYS_setitimer,
    SYS_getitimer, SYS_mremap, /* SYS_rt_sigreturn, SYS_exit, SYS_exit_group, */ SYS_uname, SYS_sysinfo,
    SYS_sched_yield, SYS_sched_getaffinity, SYS_getrandom, SYS_clock_gettime, SYS_clock_getres,
    SYS_gettimeofday, SYS_time, SYS_nanosleep, SYS_clock_nanosleep, SYS_futex, SYS_reboot, SYS_rseq,
    SYS_eventfd, SYS_eventfd2, SYS_timerfd_create, SYS_timerfd_settime, SYS_timerfd_gettime, SYS_signalfd,
    SYS_signalfd4,
    SYS_socket, SYS_connect, SYS_accept, SYS_sendto, SYS_recvfrom, SYS_sendmsg, SYS_recvmsg,
    SYS_shutdown, SYS_bind, SYS_listen, SYS_getsockname, SYS_getpeername, SYS_socketpair,
    SYS_setsockopt, SYS_getsockopt, SYS_accept4, SYS_recvmmsg, SYS_sendmmsg, SYS_ptrace,
};
#define NNRS ((int)(sizeof nrs / sizeof nrs[0]))

/* Numbers no kernel implements (ENOSYS everywhere; x32 is off in Debian). */
static const long unimplemented[] = {335, 400, 423, 511, 1000, 100000, 0x40000000L + 600, -1L};

/* All numbers 0..ALL_NRS-1 are drawn too; these never are (they end the
 * fuzzer or run it on a stack it does not own). */
#define ALL_NRS 451
static int never_called(long nr) {
    return nr == SYS_rt_sigreturn || nr == SYS_vfork || nr == SYS_exit || nr == SYS_exit_group;
}

/* ---- state -------------------------------------------------------------- */

struct call_rec {
    long idx;
    long nr;
    long args[6];
};

struct report { /* the MAP_SHARED page(s) */
    atomic_long next;  /* calls started (claimed by a thread) */
    atomic_long calls; /* calls returned */
    long ok;
    long last_nr;
    long last_args[6];
    unsigned char reached[MAX_NR];
    unsigned char succeeded[MAX_NR];
    int fault_sig;
    long fault_addr;
    int setup_failed;
    atomic_int workers_done;
    atomic_long ring_pos;
    struct call_rec ring[RING];
};

/* What a run does: the part's settings, or /etc/fuzz.conf's. */
struct config {
    long calls;
    uint64_t seed;
    int threads;
    int user;
    long trace_from; /* -1: no trace */
    int campaign;
};

static struct report *rep;
static struct config cfg;
static char *arena;     /* ARENA_SIZE, fuzzed by memory calls */
static char *paths;     /* read-only page of path strings */
static char *unmapped;  /* a page known to be unmapped */
static char *junk_pages; /* MAX_THREADS pages, one per thread */
static const char *path_list[16];
static int npaths;
static unsigned long brk0;
static pid_t self_pid;
static volatile long handled;
static volatile int fault_streak;
static const char *fuzz_dir = "/tmp/fuzz";

/* per thread */
static __thread uint64_t rng;
static __thread char *junk; /* a page the kernel may write (no pointers kept there) */
static __thread int fds[MAX_FDS], nfds_open;
static __thread unsigned long maps[MAX_MAPS];
static __thread unsigned long map_len[MAX_MAPS];
static __thread int nmaps;
static __thread int may_block; /* this call may block */
static __thread int thread_no;
static __thread unsigned long fs_base; /* this thread's (the TLS of musl and of these variables) */

static uint64_t rnd(void) { /* xorshift64* */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}
static unsigned rn(unsigned n) { return (unsigned)(rnd() % n); }

static long raw(long n, long a, long b, long c, long d, long e, long f) {
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

static __attribute__((noreturn)) void raw_exit(int code) {
    for (;;) raw(SYS_exit_group, code, 0, 0, 0, 0, 0);
}

/* ---- signals ------------------------------------------------------------- */

static void on_signal(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    handled++;
    /* A fault the kernel raised (not one queued by the fuzzer itself,
     * si_code <= 0) that keeps coming back means the fuzzer is broken. */
    if ((sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) && si->si_code > 0 &&
        ++fault_streak > 1000) {
        rep->fault_sig = sig;
        rep->fault_addr = (long)si->si_addr;
        raw_exit(99);
    }
}

static void install_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    for (int s = 1; s < 65; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        sigaction(s, &sa, 0);
    }
    /* musl refuses 32-34 (its internal signals): install those raw, with
     * the restorer musl put on SIGUSR1 */
    struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
    } k;
    raw(SYS_rt_sigaction, SIGUSR1, 0, (long)&k, 8, 0, 0);
    for (int s = 32; s <= 34; s++) raw(SYS_rt_sigaction, s, (long)&k, 0, 8, 0, 0);
}

/* ---- argument generators ------------------------------------------------ */

static long huge(void) {
    static const long v[] = {
        LONG_MAX, LONG_MIN, (long)0xffffffffL, (long)0x100000000L, (long)0x7fffffffL,
        (long)0x80000000L, (long)0xfffffffffffff000UL, (long)0x0000800000000000UL,
        (long)0x8000000000000000UL, (long)0x00007ffffffff000UL, -4096L, -2L,
    };
    return v[rn(sizeof v / sizeof v[0])];
}

static long kernel_ptr(void) {
    static const unsigned long v[] = {0xffff800000000000UL, 0xffffffff80000000UL,
                                      0xffff888000001000UL, 0xfffffffffffff000UL};
    return (long)(v[rn(4)] + (rn(2) ? 0 : rn(64) * 8));
}

static long bad_ptr(void) {
    switch (rn(5)) {
    case 0: return 0;
    case 1: return kernel_ptr();
    case 2: return (long)unmapped + rn(4096);
    case 3: return (long)0x1000 + rn(16) * 8;
    default: return (long)0x0000800000000000UL - rn(4) * 8; /* just past the user half */
    }
}

/* An address that is never mapped, whatever the fuzzer did (the hole after
 * the arena can be filled by mremap or an mmap hint, with arbitrary
 * contents): for the structures the kernel reads whose contents matter
 * (timeouts, signal actions and masks, iovecs, clone3 and rlimit
 * arguments). */
static long never_mapped(void) { return rn(2) ? kernel_ptr() : (long)0x1000 + rn(16) * 8; }

static long arena_ptr(void) { return (long)(arena + rn(ARENA_SIZE)); }
static long junk_ptr(void) { return (long)(junk + rn(64) * 8); }

static long ptr(void) { /* any pointer */
    switch (rn(8)) {
    case 0: case 1: return bad_ptr();
    case 2: case 3: case 4: return arena_ptr();
    case 5: return (long)arena + ARENA_SIZE - 8; /* straddles the end (arena is followed by a hole) */
    default: return junk_ptr();
    }
}

static long small(void) { return (long)rn(16); }

static long any(void) {
    switch (rn(12)) {
    case 0: case 1: return small();
    case 2: return -1;
    case 3: return (long)(uint32_t)rnd();
    case 4: return (long)rnd();
    case 5: return huge();
    case 6: return 0;
    case 7: return kernel_ptr();
    case 8: return (long)unmapped;
    case 9: return arena_ptr();
    case 10: return (long)path_list[rn(npaths)];
    default: return junk_ptr();
    }
}

static long fd(void) {
    switch (rn(8)) {
    case 0: case 1: case 2: case 3:
        if (nfds_open) return fds[rn(nfds_open)];
        return small();
    case 4: return small();
    case 5: return -1;
    case 6: return huge();
    default: return rn(2) ? 1023 : 4096;
    }
}

static long dirfd(void) { return rn(3) ? AT_FDCWD : fd(); }
/* A path from the list, or one that faults (never memory with arbitrary contents) */
static long path(void) { return rn(8) ? (long)path_list[rn(npaths)] : rn(3) ? never_mapped() : 0; }

static long count(void) {
    switch (rn(8)) {
    case 0: return 0;
    case 1: return 1;
    case 2: case 3: return rn(512);
    case 4: return 4096;
    case 5: return huge();
    case 6: return -1;
    default: return rn(ARENA_SIZE);
    }
}

static long flags32(void) {
    switch (rn(4)) {
    case 0: return 0;
    case 1: return 1L << rn(32);
    case 2: return (long)(uint32_t)rnd();
    default: return any();
    }
}

/* A timeout that ends at once (mostly zero), or one the kernel refuses. */
static struct timespec *tiny_ts(void) {
    struct timespec *t = (struct timespec *)(junk + 2048 + rn(8) * 16);
    t->tv_sec = 0;
    switch (rn(16)) {
    case 0: t->tv_nsec = 1000; break;
    case 1: t->tv_nsec = 1000000000L; break; /* EINVAL */
    case 2: t->tv_nsec = -1; break;          /* EINVAL */
    case 3: t->tv_sec = -1; t->tv_nsec = 0; break;
    default: t->tv_nsec = 0;
    }
    return t;
}

/* Never NULL: a NULL timeout waits forever. */
static long timeout_ptr(void) {
    if (may_block && rn(2)) return 0; /* forever */
    return rn(6) ? (long)tiny_ts() : never_mapped();
}

static long timeval_ptr(void) {
    if (rn(6) == 0) return never_mapped();
    struct timeval *t = (struct timeval *)(junk + 2304);
    t->tv_sec = 0;
    t->tv_usec = rn(8) == 0 ? 100 : rn(8) == 0 ? -1 : 0;
    return (long)t;
}

static long sigset_ptr(void) {
    if (rn(5) == 0) return ptr();
    uint64_t *s = (uint64_t *)(junk + 2560);
    *s = rn(2) ? rnd() : 0;
    return (long)s;
}

static long sigsetsize(void) { return rn(6) ? 8 : any(); }

static long safe_sig(void) {
    switch (rn(8)) {
    case 0: return 0;
    case 1: return rn(2) ? -1L : 65L + rn(100);
    default: {
        long s = 1 + rn(64);
        return s == SIGKILL || s == SIGSTOP ? SIGUSR1 : s;
    }
    }
}

static long target_pid(void) { /* the fuzzer itself, or nobody */
    switch (rn(4)) {
    case 0: case 1: return self_pid;
    case 2: return 0x3ffffff0;
    default: return rn(2) ? -0x3ffffff0 : INT_MIN;
    }
}

static long mm_addr(void) {
    switch (rn(8)) {
    case 0: return 0;
    case 1: return kernel_ptr();
    case 2: return (long)(arena + rn(ARENA_SIZE / 4096) * 4096 + 1); /* unaligned */
    default: return (long)(arena + rn(ARENA_SIZE / 4096) * 4096);
    }
}

/* A length for a memory call at `addr`: inside the arena it never reaches
 * past the arena's end (MAP_FIXED, madvise and mprotect could otherwise
 * reach the fuzzer's own memory); elsewhere it is small, or wraps around
 * (refused everywhere). */
static long mm_len(long addr) {
    long rem = 16 * 4096;
    if (addr >= (long)arena && addr < (long)arena + ARENA_SIZE) rem = (long)arena + ARENA_SIZE - addr;
    switch (rn(6)) {
    case 0: return 0;
    case 1: /* start + (-4096) wraps only when start >= 4096: madvise(0, -4096)
             * would reach every mapping */
        return rn(2) || addr < 65536 ? -1 : -4096;
    case 2: return 1 + rn((unsigned)rem);
    default: {
        long pages = rem / 4096;
        return pages ? (1 + (long)rn(pages < 16 ? (unsigned)pages : 16)) * 4096 : rem;
    }
    }
}

/* ---- file-system scratch ------------------------------------------------ */

static void rm_tree(int dfd, int depth) {
    static char buf[8][2048];
    if (depth >= 8) return;
    for (int pass = 0; pass < 4; pass++) { /* some entries may refuse to go (immutable, mounted) */
        long n = raw(SYS_getdents64, dfd, (long)buf[depth], sizeof buf[depth], 0, 0, 0);
        if (n <= 0) break;
        for (long off = 0; off < n;) {
            struct {
                uint64_t ino;
                int64_t off;
                unsigned short reclen;
                unsigned char type;
                char name[];
            } *d = (void *)(buf[depth] + off);
            off += d->reclen;
            if (strcmp(d->name, ".") == 0 || strcmp(d->name, "..") == 0) continue;
            if (raw(SYS_unlinkat, dfd, (long)d->name, 0, 0, 0, 0) == 0) continue;
            raw(SYS_fchmodat, dfd, (long)d->name, 0700, 0, 0, 0);
            long sub = raw(SYS_openat, dfd, (long)d->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, 0, 0);
            if (sub >= 0) {
                rm_tree((int)sub, depth + 1);
                raw(SYS_close, sub, 0, 0, 0, 0, 0);
            }
            raw(SYS_unlinkat, dfd, (long)d->name, AT_REMOVEDIR, 0, 0, 0);
        }
        raw(SYS_lseek, dfd, 0, SEEK_SET, 0, 0, 0); /* entries moved: read again from the start */
        if (n < 64) break;
    }
}

static void reset_dir(void) {
    raw(SYS_chmod, (long)fuzz_dir, 0755, 0, 0, 0, 0);
    raw(SYS_chdir, (long)fuzz_dir, 0, 0, 0, 0, 0);
    long d = raw(SYS_open, (long)fuzz_dir, O_RDONLY | O_DIRECTORY, 0, 0, 0, 0);
    if (d >= 0) {
        rm_tree((int)d, 0);
        raw(SYS_close, d, 0, 0, 0, 0, 0);
    }
    raw(SYS_mkdir, (long)"d0", 0755, 0, 0, 0, 0);
    long f = raw(SYS_open, (long)"f0", O_CREAT | O_RDWR, 0644, 0, 0, 0);
    if (f >= 0) {
        raw(SYS_write, f, (long)"hello, fuzzer\n", 14, 0, 0, 0);
        raw(SYS_close, f, 0, 0, 0, 0, 0);
    }
}

/* ---- checkpoint: undo what could pile up ------------------------------- */

/* Thread 0 resets what the process shares (fds, the arena, brk, timers,
 * children, the directory); every thread its own mappings, mask and
 * alternate stack. */
static void checkpoint(void) {
    if (thread_no == 0) {
        if (cfg.trace_from >= 0) {
            raw(SYS_close_range, 0, LOG_FD - 1, 0, 0, 0, 0);
            raw(SYS_close_range, LOG_FD + 1, ~0U, 0, 0, 0, 0);
        } else {
            raw(SYS_close_range, 0, ~0U, 0, 0, 0, 0);
        }
    }
    nfds_open = 0;
    for (int i = 0; i < nmaps; i++) raw(SYS_munmap, maps[i], map_len[i], 0, 0, 0, 0);
    nmaps = 0;
    if (thread_no == 0) {
        /* the arena back in place, read-write, refilled (by the kernel: another
         * thread may have made it unreadable again already) */
        raw(SYS_munmap, (long)arena, ARENA_SIZE, 0, 0, 0, 0);
        raw(SYS_munmap, (long)unmapped, 4096, 0, 0, 0, 0);
        long a = raw(SYS_mmap, (long)arena, ARENA_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (a == (long)arena)
            for (int i = 0; i < 64; i++) raw(SYS_getrandom, (long)(arena + rn(ARENA_SIZE / 8) * 8), 8, 1, 0, 0, 0);
        raw(SYS_brk, (long)brk0, 0, 0, 0, 0, 0);
    }
    struct itimerval off;
    memset(&off, 0, sizeof off);
    if (thread_no == 0)
        for (int w = 0; w < 3; w++) raw(SYS_setitimer, w, (long)&off, 0, 0, 0, 0);
    uint64_t none = 0;
    raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, 8, 0, 0);
    raw(SYS_sigaltstack, (long)&(stack_t){.ss_flags = SS_DISABLE}, 0, 0, 0, 0, 0);
    if (thread_no == 0) {
        while (raw(SYS_wait4, -1, 0, WNOHANG | __WALL, 0, 0, 0) > 0) {
        }
        reset_dir();
    }
}

/* ---- one call ------------------------------------------------------------ */

static void make_nonblocking(long f) {
    if (may_block) return;
    f = (unsigned int)f; /* the kernel takes an fd as a 32-bit unsigned int */
    if (f > 65535) return;
    struct stat st;
    if (raw(SYS_fstat, f, (long)&st, 0, 0, 0, 0) != 0) return;
    /* anonymous inodes (no file type: eventfd, timerfd, signalfd, epoll) block too */
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode) || (st.st_mode & S_IFMT) == 0) {
        long fl = raw(SYS_fcntl, f, F_GETFL, 0, 0, 0, 0);
        if (fl >= 0 && !(fl & O_NONBLOCK)) raw(SYS_fcntl, f, F_SETFL, fl | O_NONBLOCK, 0, 0, 0);
    }
}

static void track_fd(long r) {
    if (r >= 0 && r < 65536 && nfds_open < MAX_FDS) fds[nfds_open++] = (int)r;
}

/* Built iovecs (into the arena) or a bad pointer: iovecs read from memory the
 * kernel wrote could point anywhere, and readv would write there. */
static long iov_ptr(void) {
    if (rn(4) == 0) return never_mapped();
    struct iovec *v = (struct iovec *)(junk + 1024);
    for (int i = 0; i < 4; i++) {
        v[i].iov_base = rn(6) ? (void *)arena_ptr() : (void *)bad_ptr();
        v[i].iov_len = rn(6) ? rn(600) : (size_t)huge();
    }
    return (long)v;
}

static long iov_cnt(void) { return rn(6) ? 1 + rn(4) : any(); }

/* Only actions the fuzzer survives: its handler or SIG_IGN (never memory
 * with arbitrary contents, which would install SIG_DFL or a wild handler). */
static long sigaction_ptr(void) {
    if (rn(5) == 0) return rn(2) ? never_mapped() : 0;
    struct { /* struct k_sigaction of x86_64 */
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
    } *k = (void *)(junk + 1536);
    k->handler = rn(3) ? (void *)on_signal : SIG_IGN;
    k->flags = (rnd() & (SA_NOCLDSTOP | SA_NOCLDWAIT | SA_RESTART | SA_NODEFER)) | SA_SIGINFO |
               0x04000000 /* SA_RESTORER */;
    k->restorer = 0;
    k->mask = rnd();
    return (long)k;
}

static void *musl_restorer;

static long fix_sigaction(long p) {
    if (p == (long)(junk + 1536)) ((void **)p)[2] = musl_restorer;
    return p;
}

/* ---- sockets ------------------------------------------------------------ */
/* Socket calls get structures built in `junk` (the kernel writes through a
 * msghdr's pointers, so those are never read from fuzzed memory), sockets
 * are made non-blocking and sends and receives carry MSG_DONTWAIT. */

#define SK_ADDR (junk + 2048)    /* a sockaddr, 128 bytes */
#define SK_LEN (junk + 2176)     /* a socklen_t */
#define SK_MSGS (junk + 2192)    /* two struct mmsghdr */
#define SK_IOV (junk + 2320)     /* two iovecs */
#define SK_CTL (junk + 2368)     /* 256 bytes of control messages */
#define SK_NAME (junk + 2624)    /* 128 bytes for a received name */
#define SK_PAIR (junk + 2752)    /* socketpair's two ints */

static long sk_family(void) {
    static const long fam[] = {AF_UNIX, AF_UNIX, AF_UNIX, AF_INET, AF_INET6, AF_UNSPEC, 46, -1};
    return fam[rn(sizeof fam / sizeof fam[0])];
}

static long sk_type(void) {
    static const long ty[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW, 0, 4, 11};
    long t = ty[rn(sizeof ty / sizeof ty[0])];
    return (t | SOCK_NONBLOCK | (rn(2) ? SOCK_CLOEXEC : 0)) ^ (rn(16) ? 0 : 0x10000);
}

/* A socket address in SK_ADDR (a path in the scratch directory, an
 * abstract name, another family's), or a bad pointer; its length in *len. */
static long sk_addr(long *len) {
    if (rn(8) == 0) {
        *len = rn(2) ? (long)rn(140) : any();
        return bad_ptr();
    }
    char *p = SK_ADDR;
    memset(p, 0, 128);
    switch (rn(5)) {
    case 0: case 1: { /* a path */
        static const char *names[] = {"s0", "s1", "f0", "d0", "missing/s"};
        const char *n = names[rn(5)];
        p[0] = AF_UNIX;
        strcpy(p + 2, n);
        *len = 2 + (long)strlen(n) + (rn(4) ? 1 : 0);
        break;
    }
    case 2: /* an abstract name */
        p[0] = AF_UNIX;
        p[3] = (char)('a' + rn(3));
        *len = 4;
        break;
    case 3: /* autobind, or too short */
        p[0] = AF_UNIX;
        *len = rn(3);
        break;
    default: /* another family or a random length */
        p[0] = (char)rn(12);
        *len = rn(3) ? (long)rn(130) : any();
        break;
    }
    return (long)p;
}

/* A msghdr (or two mmsghdrs) built in junk: iovecs into the arena, a name
 * buffer and control messages (SCM_RIGHTS with the fuzzer's fds,
 * SCM_CREDENTIALS, junk) in junk. */
static long sk_msg(int n) {
    if (rn(10) == 0) return never_mapped();
    struct iovec *iov = (struct iovec *)SK_IOV;
    for (int i = 0; i < n; i++) {
        struct msghdr *m = (struct msghdr *)(SK_MSGS + 64 * i);
        memset(m, 0, 64);
        iov[i].iov_base = rn(8) ? (void *)arena_ptr() : (void *)bad_ptr();
        iov[i].iov_len = rn(8) ? rn(300) : (size_t)huge();
        m->msg_iov = rn(8) ? &iov[i] : (struct iovec *)never_mapped();
        m->msg_iovlen = rn(8) ? 1 : (size_t)rn(2000);
        if (rn(2)) {
            long l;
            m->msg_name = rn(2) ? (void *)sk_addr(&l) : SK_NAME;
            m->msg_namelen = (socklen_t)(rn(4) ? 128 : l);
        }
        if (rn(2)) {
            struct cmsghdr *c = (struct cmsghdr *)SK_CTL;
            memset(SK_CTL, 0, 256);
            m->msg_control = rn(8) ? (void *)SK_CTL : (void *)bad_ptr();
            m->msg_controllen = rn(8) ? 256 : (size_t)any();
            c->cmsg_level = rn(8) ? SOL_SOCKET : (int)rn(3);
            c->cmsg_type = rn(2) ? SCM_RIGHTS : (int)rn(4);
            int nfd = (int)rn(4);
            c->cmsg_len = rn(8) ? CMSG_LEN(c->cmsg_type == SCM_RIGHTS ? nfd * sizeof(int) : 12) : rn(300);
            int *d = (int *)CMSG_DATA(c);
            for (int k = 0; k < nfd; k++) d[k] = (int)fd();
            if (c->cmsg_type == SCM_CREDENTIALS) {
                d[0] = (int)self_pid;
                d[1] = rn(4) ? 0 : (int)rn(100);
                d[2] = 0;
            }
        }
    }
    return (long)SK_MSGS;
}

static long sk_msgflags(void) {
    long f = rn(4) ? (long)(rnd() & (MSG_PEEK | MSG_TRUNC | MSG_WAITALL | MSG_NOSIGNAL | MSG_CMSG_CLOEXEC | MSG_EOR))
                   : flags32();
    return f | MSG_DONTWAIT;
}

static long sk_optlen(void) {
    *(socklen_t *)SK_LEN = rn(4) ? (socklen_t)rn(20) : (socklen_t)any();
    return rn(8) ? (long)SK_LEN : bad_ptr();
}

static long gen_call(long nr, long a[6]) {
    for (int i = 0; i < 6; i++) a[i] = any();
    switch (nr) {
    case SYS_read: case SYS_write: case SYS_pread64: case SYS_pwrite64:
        a[0] = fd(); a[1] = ptr(); a[2] = count(); a[3] = rn(3) ? (long)rn(8192) : any();
        make_nonblocking(a[0]);
        break;
    case SYS_readv: case SYS_writev:
        a[0] = fd(); a[1] = iov_ptr(); a[2] = iov_cnt();
        make_nonblocking(a[0]);
        break;
    case SYS_sendfile:
        a[0] = fd(); a[1] = fd(); a[2] = rn(2) ? 0 : ptr(); a[3] = count();
        make_nonblocking(a[0]);
        make_nonblocking(a[1]);
        break;
    case SYS_open: a[0] = path(); a[1] = flags32(); a[2] = rn(01000); break;
    case SYS_openat: a[0] = dirfd(); a[1] = path(); a[2] = flags32(); a[3] = rn(01000); break;
    case SYS_creat: a[0] = path(); a[1] = rn(01000); break;
    case SYS_close: case SYS_dup: case SYS_fchdir: case SYS_fsync: case SYS_fdatasync:
        a[0] = fd();
        break;
    case SYS_close_range:
        a[0] = rn(2) ? 3 + rn(20) : any(); a[1] = rn(2) ? ~0L : a[0] + rn(8); a[2] = rn(3) ? 0 : flags32();
        break;
    case SYS_lseek: a[0] = fd(); a[1] = rn(2) ? (long)rn(100) : any(); a[2] = rn(3) ? (long)rn(5) : any(); break;
    case SYS_fstat: a[0] = fd(); a[1] = ptr(); break;
    case SYS_stat: case SYS_lstat: a[0] = path(); a[1] = ptr(); break;
    case SYS_newfstatat: a[0] = dirfd(); a[1] = path(); a[2] = ptr(); a[3] = flags32(); break;
    case SYS_statx: a[0] = dirfd(); a[1] = path(); a[2] = flags32(); a[3] = flags32(); a[4] = ptr(); break;
    case SYS_getdents64: a[0] = fd(); a[1] = ptr(); a[2] = count(); break;
    case SYS_ioctl: {
        static const long reqs[] = {0x5401, 0x5402, 0x5413, 0x5414, 0x541B, 0x5421, 0x5450, 0x5451,
                                    0x540F, 0x5410, 0x5429, 0x80086601, 0x40086602};
        a[0] = fd(); a[1] = rn(3) ? reqs[rn(sizeof reqs / sizeof reqs[0])] : flags32(); a[2] = ptr();
        break;
    }
    case SYS_fcntl: {
        long cmd = rn(4) ? (long)rn(17) : rn(2) ? 1024 + rn(12) : any();
        /* no signal owner (it could be another process), no lease (our own
         * opens would wait for its break), no waiting lock */
        if (cmd == F_SETOWN || cmd == 15 /* F_SETOWN_EX */ || cmd == 1024 /* F_SETLEASE */) cmd = F_GETFL;
        if (cmd == 38 /* F_OFD_SETLKW */ && !may_block) cmd = 37;
        a[0] = fd(); a[1] = cmd;
        a[2] = cmd == F_SETLK || cmd == F_SETLKW || cmd == F_GETLK || cmd >= 36 ? ptr() : any();
        if (cmd == F_SETLKW && !may_block) a[1] = F_SETLK; /* never wait for a lock */
        break;
    }
    case SYS_dup2: a[0] = fd(); a[1] = rn(4) ? 3 + rn(60) : any(); break;
    case SYS_dup3: a[0] = fd(); a[1] = rn(4) ? 3 + rn(60) : any(); a[2] = rn(2) ? 0 : rn(2) ? O_CLOEXEC : flags32(); break;
    case SYS_pipe: a[0] = rn(5) ? (long)(junk + 512) : bad_ptr(); break;
    case SYS_pipe2: a[0] = rn(5) ? (long)(junk + 512) : bad_ptr(); a[1] = rn(2) ? O_CLOEXEC | O_NONBLOCK : flags32(); break;
    case SYS_getcwd: a[0] = ptr(); a[1] = count(); break;
    case SYS_chdir: case SYS_rmdir: case SYS_unlink: a[0] = path(); break;
    case SYS_mkdir: case SYS_chmod: a[0] = path(); a[1] = rn(2) ? 0755 : any(); break;
    case SYS_mkdirat: case SYS_fchmodat: a[0] = dirfd(); a[1] = path(); a[2] = rn(2) ? 0755 : any(); break;
    case SYS_unlinkat: a[0] = dirfd(); a[1] = path(); a[2] = rn(2) ? 0 : rn(2) ? AT_REMOVEDIR : flags32(); break;
    case SYS_rename: case SYS_symlink: case SYS_link: a[0] = path(); a[1] = path(); break;
    case SYS_renameat: a[0] = dirfd(); a[1] = path(); a[2] = dirfd(); a[3] = path(); break;
    case SYS_renameat2: case SYS_linkat:
        a[0] = dirfd(); a[1] = path(); a[2] = dirfd(); a[3] = path(); a[4] = rn(2) ? (long)rn(8) : flags32();
        break;
    case SYS_symlinkat: a[0] = path(); a[1] = dirfd(); a[2] = path(); break;
    case SYS_readlink: a[0] = path(); a[1] = ptr(); a[2] = count(); break;
    case SYS_readlinkat: a[0] = dirfd(); a[1] = path(); a[2] = ptr(); a[3] = count(); break;
    case SYS_access: a[0] = path(); a[1] = rn(8); break;
    case SYS_faccessat: case SYS_faccessat2: a[0] = dirfd(); a[1] = path(); a[2] = rn(8); a[3] = flags32(); break;
    case SYS_fchmod: a[0] = fd(); a[1] = rn(2) ? 0644 : any(); break;
    case SYS_ftruncate: a[0] = fd(); a[1] = rn(4) ? (long)rn(100000) : any(); break;
    case SYS_truncate: a[0] = path(); a[1] = rn(4) ? (long)rn(100000) : any(); break;
    case SYS_mount: {
        /* never a file-system type that exists, never bind/move/remount/propagation */
        a[0] = path(); a[1] = path(); a[2] = path();
        a[3] = flags32() & ~(long)(MS_BIND | MS_MOVE | MS_REMOUNT | MS_SHARED | MS_PRIVATE | MS_SLAVE |
                                   MS_UNBINDABLE);
        a[4] = ptr();
        break;
    }
    case SYS_umount2: a[0] = path(); a[1] = flags32(); break;
    case SYS_poll: a[0] = ptr(); a[1] = rn(4) ? (long)rn(8) : any(); a[2] = may_block ? -1 : rn(16) ? 0 : 1; break;
    case SYS_ppoll: a[0] = ptr(); a[1] = rn(4) ? (long)rn(8) : any(); a[2] = timeout_ptr(); a[3] = sigset_ptr(); a[4] = sigsetsize(); break;
    case SYS_select: a[0] = rn(3) ? (long)rn(70) : any(); a[1] = ptr(); a[2] = ptr(); a[3] = ptr(); a[4] = timeval_ptr(); break;
    case SYS_pselect6: a[0] = rn(3) ? (long)rn(70) : any(); a[1] = ptr(); a[2] = ptr(); a[3] = ptr(); a[4] = timeout_ptr(); a[5] = ptr(); break;
    case SYS_brk: {
        long cur = raw(SYS_brk, 0, 0, 0, 0, 0, 0);
        switch (rn(4)) {
        case 0: a[0] = 0; break;
        case 1: a[0] = cur + (long)rn(64) * 4096 + rn(2) * rn(4096); break;
        case 2: a[0] = cur - (long)rn(16) * 4096 < (long)brk0 ? (long)brk0 : cur - (long)rn(16) * 4096; break;
        default: a[0] = rn(2) ? kernel_ptr() : huge(); if (a[0] > 0 && a[0] < (long)brk0) a[0] = 0;
        }
        break;
    }
    case SYS_mmap: {
        long flags = rn(3) ? (rn(2) ? MAP_PRIVATE : MAP_SHARED) | (rn(4) ? MAP_ANONYMOUS : 0) : flags32();
        if (rn(3) == 0) flags |= MAP_FIXED;
        if (rn(8) == 0) flags |= MAP_POPULATE;
        flags &= ~(long)0x40000; /* never MAP_HUGETLB */
        a[0] = mm_addr();
        if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && a[0] == 0) a[0] = (long)arena;
        a[1] = mm_len(a[0]);
        if (!(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && rn(4) == 0) a[1] = huge();
        if ((unsigned long)a[1] > 65536) flags &= ~(long)(MAP_POPULATE | MAP_LOCKED);
        a[2] = rn(8); a[3] = flags; a[4] = rn(3) ? -1 : fd(); a[5] = rn(3) ? 0 : any();
        /* never PROT_EXEC alone: with protection keys (QEMU's -cpu max) Linux
         * gives execute-only memory a pkey and changes the thread's PKRU,
         * after which the fuzzer was killed by SIGSEGV */
        if ((a[2] & 7) == PROT_EXEC) a[2] |= PROT_READ;
        break;
    }
    case SYS_munmap: case SYS_mprotect:
        a[0] = mm_addr(); a[1] = mm_len(a[0]); a[2] = rn(4) ? (long)rn(8) : flags32();
        if ((a[2] & 7) == PROT_EXEC) a[2] |= PROT_READ;
        break;
    case SYS_madvise: {
        /* not MADV_HWPOISON / MADV_SOFT_OFFLINE (100, 101) */
        static const long adv[] = {0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 999, -1};
        a[0] = mm_addr(); a[1] = mm_len(a[0]); a[2] = adv[rn(sizeof adv / sizeof adv[0])];
        break;
    }
    case SYS_mremap:
        a[3] = rn(4); /* MREMAP_MAYMOVE, MREMAP_FIXED */
        a[0] = mm_addr(); a[1] = mm_len(a[0]); a[4] = mm_addr();
        if (a[4] == 0) a[4] = (long)arena;
        a[2] = mm_len(a[3] & MREMAP_FIXED ? a[4] : a[0]);
        break;
    case SYS_setuid: case SYS_setgid: case SYS_setfsuid: case SYS_setfsgid:
        a[0] = rn(2) ? 0 : any();
        break;
    case SYS_setreuid: case SYS_setregid: case SYS_setresuid: case SYS_setresgid:
        for (int i = 0; i < 3; i++) a[i] = rn(2) ? -1 : rn(2) ? 0 : any();
        break;
    case SYS_getgroups: a[0] = rn(3) ? (long)rn(64) : any(); a[1] = ptr(); break;
    case SYS_setgroups: a[0] = rn(3) ? (long)rn(64) : any(); a[1] = ptr(); break;
    case SYS_getresuid: case SYS_getresgid: a[0] = ptr(); a[1] = ptr(); a[2] = ptr(); break;
    case SYS_getrusage: a[0] = rn(3) ? (long)rn(3) - 1 : any(); a[1] = ptr(); break;
    case SYS_times: case SYS_uname: case SYS_time: case SYS_sysinfo: a[0] = ptr(); break;
    case SYS_set_tid_address: a[0] = ptr(); break;
    case SYS_set_robust_list: a[0] = ptr(); a[1] = rn(2) ? 24 : any(); break;
    case SYS_arch_prctl: {
        /* no ARCH_SET_CPUID, no ARCH_MAP_VDSO_* (they map over memory), no shadow stacks */
        static const long codes[] = {0x1001, 0x1002, 0x1003, 0x1004, 0x1011, 0x1021, 0x1022, 0, 0x9999};
        a[0] = codes[rn(sizeof codes / sizeof codes[0])];
        a[1] = ptr();
        if (a[0] == 0x1002) /* ARCH_SET_FS: the current value, or one Linux refuses */
            a[1] = rn(2) ? (long)fs_base : rn(2) ? kernel_ptr() : (long)0x0000800000000000UL;
        if (a[0] == 0x1001) a[1] = rn(2) ? 0 : kernel_ptr(); /* ARCH_SET_GS */
        break;
    }
    case SYS_prctl: {
        long opt = rn(4) ? (long)rn(70) : any();
        if (opt == 22 /* SECCOMP */ || opt == 26 /* TSC */ || opt == 35 /* MM */ ||
            opt == 59 /* SYSCALL_USER_DISPATCH */ || opt == 29 /* TIMERSLACK: a huge slack stretches every sleep */)
            opt = 16; /* PR_GET_NAME */
        a[0] = opt; a[1] = rn(2) ? ptr() : any();
        break;
    }
    case SYS_clone: {
        static const long okflags[] = {CLONE_FILES, CLONE_FS, CLONE_SYSVSEM, CLONE_PARENT_SETTID,
                                       CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID, CLONE_VFORK,
                                       CLONE_PIDFD, CLONE_SETTLS, CLONE_PTRACE, CLONE_UNTRACED};
        /* the exit signal comes to the fuzzer: never SIGKILL or SIGSTOP */
        long f = rn(3) ? SIGCHLD : safe_sig() & 0xff;
        for (int i = rn(4); i > 0; i--) f |= okflags[rn(sizeof okflags / sizeof okflags[0])];
        if (rn(8) == 0) f |= rn(2) ? CLONE_SIGHAND : CLONE_THREAD; /* without CLONE_VM: refused */
        a[0] = f; a[1] = 0; a[2] = ptr(); a[3] = ptr(); a[4] = ptr();
        break;
    }
    case SYS_clone3: {
        struct kt_clone_args *ca = (struct kt_clone_args *)(junk + 3072);
        memset(ca, 0, sizeof *ca);
        /* never CLONE_VM: clone3 accepts it with no stack, and the child would
         * run on the fuzzer's own stack; CLONE_THREAD or CLONE_SIGHAND alone
         * are refused */
        static const uint64_t cf[] = {0, 0, CLONE_FILES | CLONE_FS, CLONE_PIDFD, CLONE_THREAD, CLONE_SIGHAND,
                                      CLONE_CLEAR_SIGHAND, CLONE_CLEAR_SIGHAND | CLONE_SIGHAND};
        ca->flags = cf[rn(sizeof cf / sizeof cf[0])];
        if (rn(8) == 0) ca->stack_size = 4096; /* a size without a stack: EINVAL */
        if (ca->flags & CLONE_PIDFD) ca->pidfd = (uint64_t)ptr();
        ca->exit_signal = rn(4) ? SIGCHLD : (uint64_t)safe_sig(); /* never SIGKILL/SIGSTOP */
        static const long sizes[] = {KT_CLONE_ARGS_SIZE_VER0, KT_CLONE_ARGS_SIZE_VER2, 0, 63, 4097};
        a[0] = rn(6) ? (long)ca : never_mapped(); a[1] = sizes[rn(5)];
        break;
    }
    case SYS_fork: break;
    case SYS_wait4:
        a[0] = rn(2) ? -1 : any(); a[1] = ptr(); a[2] = rn(2) ? WNOHANG : flags32() | WNOHANG; a[3] = ptr();
        if (may_block) a[2] &= ~(long)WNOHANG;
        break;
    case SYS_waitid:
        a[0] = rn(4); a[1] = any(); a[2] = ptr(); a[3] = rn(2) ? WEXITED | WNOHANG : flags32() | WNOHANG; a[4] = ptr();
        if (may_block) a[3] &= ~(long)WNOHANG;
        break;
    case SYS_kill: a[0] = target_pid(); a[1] = safe_sig(); break;
    case SYS_ptrace: {
        /* never TRACEME (the watchdog would become a tracer); the fuzzer
         * itself or nobody: EPERM for ATTACH/SEIZE, ESRCH for the rest */
        static const long reqs[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 24, 0x4200,
                                    0x4201, 0x4202, 0x4203, 0x4204, 0x4205, 0x4206, 0x4207, 0x4208,
                                    0x4209, 0x420a, 0x420b, 0x420e, 0x7777};
        a[0] = rn(8) ? reqs[rn(sizeof reqs / sizeof reqs[0])] : (any() | 1);
        a[1] = target_pid(); a[2] = rn(2) ? 0 : ptr(); a[3] = rn(2) ? ptr() : any();
        break;
    }
    case SYS_tkill: a[0] = target_pid(); a[1] = safe_sig(); break;
    case SYS_tgkill: a[0] = target_pid(); a[1] = target_pid(); a[2] = safe_sig(); break;
    case SYS_rt_sigqueueinfo: a[0] = target_pid(); a[1] = safe_sig(); a[2] = ptr(); break;
    case SYS_rt_tgsigqueueinfo: a[0] = target_pid(); a[1] = target_pid(); a[2] = safe_sig(); a[3] = ptr(); break;
    case SYS_setpgid: a[0] = rn(2) ? 0 : any(); a[1] = rn(2) ? 0 : any(); break;
    case SYS_getpgid: case SYS_getsid: a[0] = rn(2) ? 0 : any(); break;
    case SYS_prlimit64: case SYS_getrlimit: case SYS_setrlimit: {
        long res = rn(8) ? (long)rn(17) : any();
        struct rlimit *rl = (struct rlimit *)(junk + 3584);
        rl->rlim_cur = rn(2) ? RLIM_INFINITY : rn(1 << 20);
        rl->rlim_max = rn(2) ? RLIM_INFINITY : rl->rlim_cur + rn(1 << 20);
        long newp = rn(3) ? (long)rl : rn(2) ? 0 : never_mapped();
        /* a lower RLIMIT_AS would stop the stack growing: SIGSEGV with no stack for the handler */
        if (res == RLIMIT_CPU || res == RLIMIT_STACK || res == RLIMIT_AS) newp = 0;
        if (nr == SYS_prlimit64) {
            a[0] = rn(2) ? 0 : rn(2) ? self_pid : 0x3ffffff0; a[1] = res; a[2] = newp; a[3] = ptr();
        } else if (nr == SYS_getrlimit) {
            a[0] = res; a[1] = ptr();
        } else {
            a[0] = res; a[1] = newp ? newp : never_mapped();
        }
        break;
    }
    case SYS_rt_sigaction:
        a[0] = safe_sig(); a[1] = rn(4) ? sigaction_ptr() : 0; a[2] = ptr(); a[3] = sigsetsize();
        if (a[0] == SIGSEGV || a[0] == SIGBUS || a[0] == SIGILL || a[0] == SIGFPE) a[1] = 0;
        break;
    case SYS_rt_sigprocmask: a[0] = rn(4) ? (long)rn(3) : any(); a[1] = rn(2) ? sigset_ptr() : 0; a[2] = ptr(); a[3] = sigsetsize(); break;
    case SYS_rt_sigpending: a[0] = ptr(); a[1] = sigsetsize(); break;
    case SYS_rt_sigsuspend: /* only what it refuses: a bad size or a bad mask pointer */
        if (may_block) {
            a[0] = sigset_ptr(); a[1] = 8;
        } else if (rn(3) == 0) {
            a[0] = never_mapped(); a[1] = 8;
        } else {
            a[0] = rn(2) ? bad_ptr() : sigset_ptr(); a[1] = rn(2) ? 4 : 16;
        }
        break;
    case SYS_sigaltstack: {
        stack_t *ss = (stack_t *)(junk + 3840);
        ss->ss_sp = (void *)(rn(2) ? arena_ptr() : bad_ptr());
        ss->ss_flags = rn(2) ? 0 : rn(2) ? SS_DISABLE : (int)any();
        ss->ss_size = rn(2) ? 8192 : (size_t)any();
        a[0] = rn(3) ? (long)ss : rn(2) ? 0 : never_mapped(); a[1] = ptr();
        break;
    }
    case SYS_rt_sigtimedwait: a[0] = sigset_ptr(); a[1] = ptr(); a[2] = timeout_ptr(); a[3] = sigsetsize(); break;
    case SYS_alarm: a[0] = rn(4) ? 0 : rn(3); break;
    case SYS_setitimer: {
        struct itimerval *it = (struct itimerval *)(junk + 2816);
        it->it_value.tv_sec = 0;
        it->it_value.tv_usec = rn(2) ? 0L : rn(2) ? 10000L + rn(50000) : -1L;
        it->it_interval.tv_sec = 0;
        it->it_interval.tv_usec = rn(2) ? 0 : 20000 + rn(50000);
        a[0] = rn(4) ? (long)rn(3) : any(); a[1] = rn(5) ? (long)it : never_mapped(); a[2] = ptr();
        break;
    }
    case SYS_getitimer: a[0] = rn(4) ? (long)rn(3) : any(); a[1] = ptr(); break;
    case SYS_eventfd: a[0] = rn(3) ? (long)rn(10) : any(); break;
    case SYS_eventfd2: a[0] = rn(3) ? (long)rn(10) : any(); a[1] = rn(3) ? (long)(rnd() & 0x80801) : flags32(); break;
    case SYS_timerfd_create: a[0] = rn(4) ? (long)rn(10) : any(); a[1] = rn(3) ? (long)(rnd() & 0x80800) : flags32(); break;
    case SYS_timerfd_settime: {
        /* short times (the next expirations come within the run) or junk */
        long *its = (long *)(junk + 2880);
        for (int i = 0; i < 4; i++) its[i] = i % 2 ? (long)rn(3000000) : rn(8) == 0 ? any() : 0;
        a[0] = fd(); a[1] = rn(3) ? (long)rn(4) : flags32(); a[2] = rn(5) ? (long)its : ptr(); a[3] = rn(2) ? 0 : ptr();
        break;
    }
    case SYS_timerfd_gettime: a[0] = fd(); a[1] = ptr(); break;
    case SYS_signalfd: case SYS_signalfd4:
        a[0] = rn(2) ? -1 : fd(); a[1] = sigset_ptr(); a[2] = sigsetsize(); a[3] = rn(3) ? (long)(rnd() & 0x80800) : flags32();
        break;
    case SYS_sched_getaffinity: a[0] = rn(2) ? 0 : any(); a[1] = count(); a[2] = ptr(); break;
    case SYS_getrandom: a[0] = ptr(); a[1] = count(); a[2] = rn(2) ? 1 /* GRND_NONBLOCK */ : flags32() | 1; break;
    case SYS_clock_gettime: case SYS_clock_getres: a[0] = rn(3) ? (long)rn(12) : any(); a[1] = ptr(); break;
    case SYS_gettimeofday: a[0] = ptr(); a[1] = rn(2) ? 0 : ptr(); break;
    case SYS_nanosleep: a[0] = timeout_ptr(); a[1] = ptr(); break;
    case SYS_clock_nanosleep: {
        /* never a process CPU-time clock: sleeping on one's own CPU time never ends */
        static const long clocks[] = {0, 1, 7, 11, 4, 5, 6, 12, 100, -1, -2};
        a[0] = clocks[rn(sizeof clocks / sizeof clocks[0])];
        a[1] = rn(2) ? 0 : rn(2) ? TIMER_ABSTIME : any(); a[2] = timeout_ptr(); a[3] = ptr();
        break;
    }
    case SYS_futex: {
        long op = rn(4) ? (long)rn(11) : any();
        if (rn(2)) op |= 128; /* FUTEX_PRIVATE_FLAG */
        a[0] = rn(5) ? arena_ptr() & ~3L : ptr(); a[1] = op; a[2] = rn(3) ? 0 : any();
        a[3] = timeout_ptr(); a[4] = rn(2) ? arena_ptr() & ~3L : ptr(); a[5] = any();
        if (may_block) { /* a wait nobody ends */
            *(int *)(junk + 3000) = 0;
            a[0] = (long)(junk + 3000); a[1] = FUTEX_WAIT | 128; a[2] = 0; a[3] = 0;
        }
        break;
    }
    case SYS_reboot: a[0] = rn(2) ? 0x12345678 : any(); if (a[0] == (long)0xfee1deadL) a[0] = 0; break;
    case SYS_rseq: a[0] = ptr(); a[1] = rn(2) ? 0 : rn(2) ? 31 : 33; a[2] = any(); a[3] = any(); break;
    case SYS_sched_yield: case SYS_getpid: case SYS_gettid: case SYS_getppid: case SYS_getuid:
    case SYS_geteuid: case SYS_getgid: case SYS_getegid: case SYS_getpgrp: case SYS_setsid:
    case SYS_sync:
        break;
    case SYS_umask: a[0] = rn(2) ? 022 : any(); break;
    case SYS_socket: a[0] = sk_family(); a[1] = sk_type(); a[2] = rn(4) ? 0 : any(); break;
    case SYS_socketpair:
        a[0] = sk_family(); a[1] = sk_type(); a[2] = rn(4) ? 0 : any();
        a[3] = rn(8) ? (long)SK_PAIR : bad_ptr();
        break;
    case SYS_bind: case SYS_connect:
        a[0] = fd(); a[1] = sk_addr(&a[2]);
        make_nonblocking(a[0]);
        break;
    case SYS_listen: a[0] = fd(); a[1] = rn(3) ? (long)rn(4) : any(); break;
    case SYS_accept: case SYS_accept4: case SYS_getsockname: case SYS_getpeername:
        a[0] = fd(); a[1] = rn(4) ? (long)SK_NAME : rn(2) ? 0 : bad_ptr(); a[2] = sk_optlen();
        *(socklen_t *)SK_LEN = rn(4) ? 128 : (socklen_t)any();
        a[3] = rn(3) ? SOCK_NONBLOCK | SOCK_CLOEXEC : flags32();
        make_nonblocking(a[0]);
        break;
    case SYS_shutdown: a[0] = fd(); a[1] = rn(4) ? (long)rn(3) : any(); break;
    case SYS_sendto: case SYS_recvfrom:
        a[0] = fd(); a[1] = ptr(); a[2] = count(); a[3] = sk_msgflags();
        if (nr == SYS_sendto) {
            a[4] = rn(2) ? sk_addr(&a[5]) : 0;
        } else {
            a[4] = rn(2) ? (long)SK_NAME : 0;
            *(socklen_t *)SK_LEN = rn(4) ? 128 : (socklen_t)any();
            a[5] = rn(8) ? (long)SK_LEN : bad_ptr();
        }
        make_nonblocking(a[0]);
        break;
    case SYS_sendmsg: case SYS_recvmsg:
        a[0] = fd(); a[1] = sk_msg(1); a[2] = sk_msgflags();
        make_nonblocking(a[0]);
        break;
    case SYS_sendmmsg: case SYS_recvmmsg:
        a[0] = fd(); a[1] = sk_msg(2); a[2] = rn(4) ? (long)rn(3) : any(); a[3] = sk_msgflags();
        a[4] = rn(2) ? 0 : timeout_ptr();
        make_nonblocking(a[0]);
        break;
    case SYS_setsockopt: case SYS_getsockopt: {
        static const long names[] = {SO_TYPE, SO_ERROR, SO_SNDBUF, SO_RCVBUF, SO_PASSCRED, SO_PEERCRED,
                                     SO_RCVTIMEO, SO_SNDTIMEO, SO_LINGER, SO_ACCEPTCONN, SO_DOMAIN,
                                     SO_PROTOCOL, SO_REUSEADDR, SO_KEEPALIVE};
        a[0] = fd(); a[1] = rn(6) ? SOL_SOCKET : (long)rn(300);
        a[2] = rn(6) ? names[rn(sizeof names / sizeof names[0])] : any();
        a[3] = ptr();
        a[4] = nr == SYS_getsockopt ? sk_optlen() : rn(4) ? (long)rn(24) : any();
        break;
    }
    /* ---- the numbers the first list does not have (Linux 6.1's table) ---- */
    case 59: case 322: /* execve, execveat: a path that faults */
        if (nr == 59) { a[0] = never_mapped(); } else { a[0] = dirfd(); a[1] = never_mapped(); a[4] = flags32() & ~0x1000L; }
        break;
    case 34: /* pause: only where blocking is allowed */
        if (!may_block) nr = SYS_getpid;
        break;
    case 26: case 27: case 149: case 150: case 216: case 237: case 325: case 329: /* msync, mincore, mlock, munlock,
        remap_file_pages, mbind, mlock2, pkey_mprotect: the arena */
        a[0] = mm_addr(); a[1] = mm_len(a[0]); a[2] = rn(4) ? (long)rn(8) : flags32();
        if (nr == 27) a[2] = ptr();
        if (nr == 237) { a[3] = ptr(); a[4] = rn(2) ? 64 : any(); }
        if (nr == 329) a[3] = rn(4) ? (long)rn(16) - 1 : any();
        if (nr == 329 && (a[2] & 7) == PROT_EXEC) a[2] |= PROT_READ;
        break;
    case 151: a[0] = rn(2) ? 1 /* MCL_CURRENT */ : rn(2) ? 0 : 8 | (long)rn(2); break; /* mlockall: never MCL_FUTURE */
    case 29: case 64: case 68: /* shmget, semget, msgget: never create */
        a[0] = rn(2) ? (long)rn(100) + 1 : any(); a[1] = rn(2) ? (long)rn(65536) : any(); a[2] = flags32() & ~01000L;
        if (a[0] == 0) a[0] = 1; /* IPC_PRIVATE creates whatever the flags */
        if (nr == 29) a[2] &= ~0x800L /* SHM_HUGETLB */;
        break;
    case 30: /* shmat: never SHM_REMAP, only at 0 or in the arena (a segment over junk would fault the fuzzer) */
        a[0] = any(); a[1] = rn(2) ? 0 : mm_addr(); a[2] = flags32() & ~0x4000L;
        break;
    case 67: a[0] = mm_addr(); break; /* shmdt */
    case 73: a[0] = fd(); a[1] = (rn(4) ? (long)(1 << rn(3)) : flags32()) | (may_block ? 0 : 4 /* LOCK_NB */); break; /* flock */
    case 78: a[0] = fd(); a[1] = ptr(); a[2] = count(); break; /* getdents */
    case 260: /* fchownat */
        a[0] = dirfd(); a[1] = path(); a[2] = rn(2) ? -1 : any(); a[3] = rn(2) ? -1 : any(); a[4] = flags32();
        break;
    case 92: case 94: case 188: case 189: case 191: case 192: case 194: case 195: case 197: case 198: /* chown, lchown,
        *xattr on paths */
        a[0] = path(); a[1] = rn(2) ? (long)path_list[rn(npaths)] : any(); a[2] = rn(2) ? ptr() : (long)rn(3) - 1;
        if (nr == 92 || nr == 94) { a[1] = rn(2) ? -1 : rn(2) ? 0 : any(); a[2] = rn(2) ? -1 : any(); }
        else { a[3] = count(); a[4] = rn(4); }
        break;
    case 93: case 190: case 193: case 196: case 199: /* fchown, f*xattr */
        a[0] = fd(); a[1] = rn(2) ? (long)path_list[rn(npaths)] : any(); a[2] = ptr(); a[3] = count(); a[4] = rn(4);
        if (nr == 93) { a[1] = rn(2) ? -1 : any(); a[2] = rn(2) ? -1 : any(); }
        break;
    case 103: /* syslog: only reads and sizes (never console off/on, never a blocking read) */
        a[0] = rn(2) ? 3 : rn(2) ? 10 : rn(2) ? 9 : 100; a[1] = ptr(); a[2] = count();
        break;
    case 133: case 259: { /* mknod, mknodat: no device numbers */
        static const long modes[] = {S_IFIFO | 0644, S_IFREG | 0600, S_IFSOCK | 0755, 0, 0777, S_IFDIR | 0755};
        long m = modes[rn(sizeof modes / sizeof modes[0])];
        if (nr == 133) { a[0] = path(); a[1] = m; a[2] = 0; } else { a[0] = dirfd(); a[1] = path(); a[2] = m; a[3] = 0; }
        break;
    }
    case 135: a[0] = rn(2) ? 0xffffffffL : rn(2) ? 0 : 0x0040000; break; /* personality */
    case 144: a[0] = target_pid(); a[1] = rn(2) ? 0 : rn(2) ? 3 : rn(2) ? 5 : 99; a[2] = ptr(); break; /* sched_setscheduler */
    case 153: break; /* vhangup: the child has no terminal (setsid) */
    case 272: { /* unshare: no namespaces but UTS and IPC */
        static const long fl[] = {0, CLONE_FILES, CLONE_FS, CLONE_SYSVSEM, CLONE_NEWUTS, CLONE_NEWIPC, 0x7fffffff, -1};
        a[0] = fl[rn(sizeof fl / sizeof fl[0])] | (rn(2) ? fl[rn(4)] : 0);
        if (a[0] == 0x7fffffff || a[0] == -1) a[0] = rn(2) ? CLONE_VM | CLONE_THREAD : CLONE_SIGHAND; /* refused or no-op */
        break;
    }
    case 161: case 155: case 163: case 167: case 168: /* chroot, pivot_root, acct, swapon, swapoff */
        a[0] = never_mapped(); a[1] = never_mapped();
        break;
    case 164: case 159: case 227: case 305: /* settimeofday, adjtimex, clock_settime, clock_adjtime */
        a[0] = nr == 227 || nr == 305 ? (rn(2) ? 0 : any()) : never_mapped(); a[1] = never_mapped();
        break;
    case 170: case 171: a[0] = rn(2) ? never_mapped() : arena_ptr(); a[1] = rn(2) ? (long)(65 + rn(1000)) : -1; break; /* sethostname */
    case 172: a[0] = 4 + rn(100); break;                                                           /* iopl */
    case 173: a[0] = 0x10000 + rn(1000); a[1] = rn(16); a[2] = 1; break;                           /* ioperm */
    case 175: case 313: case 176: /* init_module, finit_module, delete_module */
        a[0] = nr == 313 ? -1 : never_mapped(); a[1] = rn(2) ? 0 : any(); a[2] = rn(2) ? never_mapped() : any();
        if (nr == 313) a[2] = 0x7fffff00; /* bad flags */
        break;
    case 246: case 320: a[0] = any(); a[1] = any(); a[2] = any(); a[3] = a[4] = 0x7fff0000L; break; /* kexec: bad flags */
    case 179: case 443: a[0] = rn(2) ? -1 : any(); a[1] = never_mapped(); a[3] = never_mapped(); break; /* quotactl */
    case 321: a[0] = rn(2) ? 1000 + rn(100) : any(); a[1] = never_mapped(); a[2] = any(); break; /* bpf */
    case 298: a[0] = never_mapped(); break;                                     /* perf_event_open */
    case 300: a[0] = 0x7fff0000L; break;                                        /* fanotify_init: bad flags */
    case 301: a[0] = -1; a[1] = 0x7fff0000L; break;                             /* fanotify_mark */
    case 317: a[0] = 4 + rn(100); break;                                        /* seccomp: no such operation */
    case 209: case 333: a[0] = rn(2) ? 0 : 0x7fffffffff00L; break;              /* io_submit, io_pgetevents: no context */
    case 425: a[0] = rn(2) ? 0 : 0x7fffffff; a[1] = never_mapped(); break;      /* io_uring_setup */
    case 426: case 427: a[0] = -1; break;                                       /* io_uring_enter, _register */
    case 304: a[0] = fd(); a[1] = never_mapped(); a[2] = flags32(); break;      /* open_by_handle_at */
    case 249: a[0] = never_mapped(); break;                                     /* request_key */
    case 311: a[0] = rn(2) ? 0x3ffffff0 : -1; break;                            /* process_vm_writev: nobody */
    case 310: a[0] = rn(2) ? 0x3ffffff0 : self_pid; a[1] = iov_ptr(); a[2] = iov_cnt(); a[3] = iov_ptr(); a[4] = iov_cnt(); a[5] = 0; break;
    case 314: a[0] = target_pid(); a[1] = never_mapped(); break;               /* sched_setattr */
    case 429: a[0] = -1; a[1] = never_mapped(); break;                          /* move_mount */
    case 442: a[0] = -1; a[1] = never_mapped(); a[3] = never_mapped(); break;   /* mount_setattr */
    case 222: case 244: { /* timer_create, mq_notify: a sigevent the fuzzer survives */
        int *ev = (int *)(junk + 3328); /* sigev_value, sigev_signo, sigev_notify, tid */
        memset(ev, 0, 64);
        ev[2] = rn(2) ? safe_sig() : SIGUSR1;
        if (ev[2] == 0) ev[2] = SIGUSR1;
        ev[3] = rn(3) ? 0 /* SIGEV_SIGNAL */ : rn(2) ? 1 /* SIGEV_NONE */ : (int)rn(8);
        ev[4] = (int)self_pid;
        if (nr == 222) { a[0] = rn(3) ? (long)rn(12) : any(); a[1] = rn(5) ? (long)ev : rn(2) ? 0 : never_mapped(); a[2] = ptr(); }
        else { a[0] = fd(); a[1] = rn(5) ? (long)ev : 0; }
        break;
    }
    case 223: case 224: case 225: case 226: /* timer_settime/gettime/getoverrun/delete */
        a[0] = rn(3) ? (long)rn(8) : any(); a[1] = rn(3) ? (long)rn(2) : flags32();
        if (nr == 223) {
            long *its = (long *)(junk + 3392);
            for (int i = 0; i < 4; i++) its[i] = i % 2 ? (long)rn(3000000) : rn(8) == 0 ? any() : 0;
            a[2] = rn(5) ? (long)its : ptr(); a[3] = rn(2) ? 0 : ptr();
        } else {
            a[1] = ptr();
        }
        break;
    case 232: case 281: a[0] = fd(); a[1] = ptr(); a[2] = rn(4) ? (long)rn(8) : any(); a[3] = may_block ? -1 : 0; /* epoll_wait */
        a[4] = sigset_ptr(); a[5] = 8;
        break;
    case 441: a[0] = fd(); a[1] = ptr(); a[2] = rn(4) ? (long)rn(8) : any(); a[3] = timeout_ptr(); a[4] = sigset_ptr(); a[5] = 8; break;
    case 213: case 291: a[0] = rn(2) ? (long)rn(3) : flags32(); break; /* epoll_create(1) */
    case 233: a[0] = fd(); a[1] = rn(4) ? 1 + (long)rn(3) : any(); a[2] = fd(); a[3] = ptr(); break; /* epoll_ctl */
    case 208: /* io_getevents */
        a[0] = any(); a[1] = rn(3); a[2] = rn(8); a[3] = ptr(); a[4] = timeout_ptr();
        break;
    case 242: case 243: a[0] = fd(); a[1] = ptr(); a[2] = count(); a[3] = rn(2) ? 0 : rn(32); a[4] = timeout_ptr(); break; /* mq_timed* */
    case 449: a[0] = ptr(); a[1] = rn(3); a[2] = 0; a[3] = timeout_ptr(); a[4] = rn(2) ? 1 : any(); break; /* futex_waitv */
    case 220: case 65: a[0] = any(); a[1] = ptr(); a[2] = rn(3); a[3] = timeout_ptr(); break; /* semtimedop, semop */
    case 70: a[0] = any(); a[1] = ptr(); a[2] = count(); a[3] = any(); a[4] = flags32() | (may_block ? 0 : 04000 /* IPC_NOWAIT */); break;
    case 69: a[0] = any(); a[1] = ptr(); a[2] = count(); a[3] = flags32() | (may_block ? 0 : 04000); break;
    case 275: case 276: case 278: case 326: /* splice, tee, vmsplice, copy_file_range */
        a[0] = fd(); a[1] = rn(2) ? 0 : ptr(); a[2] = fd(); a[3] = rn(2) ? 0 : ptr(); a[4] = count(); a[5] = rn(2) ? 2 : flags32();
        if (nr == 276) { a[1] = fd(); a[2] = count(); a[3] = rn(2) ? 2 : flags32(); }
        if (nr == 278) { a[1] = iov_ptr(); a[2] = iov_cnt(); a[3] = rn(2) ? 2 : flags32(); }
        if (nr != 326 && !may_block) a[nr == 275 ? 5 : 3] |= 2; /* SPLICE_F_NONBLOCK */
        make_nonblocking(a[0]);
        if (nr != 278) make_nonblocking(nr == 276 ? a[1] : a[2]);
        break;
    case 295: case 296: case 327: case 328: /* preadv, pwritev, preadv2, pwritev2 */
        a[0] = fd(); a[1] = iov_ptr(); a[2] = iov_cnt(); a[3] = rn(3) ? (long)rn(8192) : any(); a[4] = 0; a[5] = rn(2) ? 0 : flags32();
        make_nonblocking(a[0]);
        break;
    case 424: a[0] = fd(); a[1] = safe_sig(); a[2] = rn(2) ? 0 : ptr(); a[3] = rn(2) ? 0 : flags32(); break; /* pidfd_send_signal */
    case 434: a[0] = target_pid(); a[1] = rn(2) ? 0 : flags32(); break;                               /* pidfd_open */
    case 438: a[0] = fd(); a[1] = fd(); a[2] = rn(2) ? 0 : flags32(); break;                           /* pidfd_getfd */
    case 440: a[0] = fd(); a[1] = iov_ptr(); a[2] = iov_cnt(); a[3] = rn(4) ? 20 + (long)rn(3) : any(); a[4] = 0; break;
    case 140: case 141: /* getpriority, setpriority: who 0 of PRIO_PGRP/PRIO_USER would renice init's group / all of root */
        a[0] = rn(3); a[1] = a[0] == 0 && rn(2) ? 0 : target_pid(); a[2] = rn(2) ? (long)rn(40) - 20 : any(); break;
    case 142: case 143: case 145: case 148: case 203: case 315: case 251: case 252: /* sched_*, ioprio_* */
        a[0] = rn(3) ? (nr == 251 || nr == 252 ? (long)rn(4) : 0) : target_pid(); a[1] = rn(2) ? ptr() : any();
        a[2] = rn(2) ? ptr() : any(); a[3] = rn(2) ? 0 : any();
        if (nr == 251 || nr == 252) a[1] = rn(2) ? 0 : target_pid();
        if (nr == 203) a[1] = rn(2) ? 8 : count();
        break;
    case 235: case 132: case 280: case 261: /* utimes, utime, utimensat, futimesat */
        if (nr == 280 || nr == 261) { a[0] = dirfd(); a[1] = path(); a[2] = rn(3) ? 0 : ptr(); a[3] = flags32(); }
        else { a[0] = path(); a[1] = rn(3) ? 0 : ptr(); }
        break;
    case 137: case 138: case 306: case 187: case 221: case 277: case 285: /* statfs, fstatfs, syncfs, readahead, fadvise,
        sync_file_range, fallocate */
        if (nr == 137) { a[0] = path(); a[1] = ptr(); break; }
        a[0] = fd(); a[1] = rn(2) ? (long)rn(8192) : any(); a[2] = rn(2) ? (long)rn(1 << 20) : any(); a[3] = rn(2) ? (long)rn(8) : any();
        if (nr == 285) { a[1] = rn(2) ? 0 : rn(2) ? 3 : flags32(); a[2] = rn(65536); a[3] = rn(4) ? (long)rn(1 << 20) : -(long)rn(4096); }
        if (nr == 138) a[1] = ptr();
        break;
    case 253: case 294: case 323: case 319: case 447: /* inotify_init(1), userfaultfd, memfd_create, memfd_secret */
        a[0] = rn(2) ? (long)(rnd() & 0x80800) : flags32();
        if (nr == 319) { a[0] = rn(4) ? (long)path_list[rn(npaths)] : bad_ptr(); a[1] = rn(2) ? (long)(rnd() & 0xf) : flags32(); }
        break;
    case 254: a[0] = fd(); a[1] = path(); a[2] = flags32(); break;               /* inotify_add_watch */
    case 303: a[0] = dirfd(); a[1] = path(); a[2] = ptr(); a[3] = ptr(); a[4] = flags32(); break; /* name_to_handle_at */
    case 428: case 433: a[0] = dirfd(); a[1] = path(); a[2] = flags32(); break; /* open_tree, fspick */
    case 437: { /* openat2 */
        uint64_t *how = (uint64_t *)(junk + 3456);
        how[0] = (uint64_t)flags32() & 0xffffffffULL; how[1] = rn(01000); how[2] = rn(2) ? 0 : (uint64_t)rn(32);
        a[0] = dirfd(); a[1] = path(); a[2] = rn(5) ? (long)how : never_mapped(); a[3] = rn(4) ? 24 : any();
        break;
    }
    case 240: case 241: a[0] = rn(4) ? (long)path_list[rn(npaths)] : bad_ptr(); a[1] = flags32() | (may_block ? 0 : O_NONBLOCK); a[2] = rn(01000); a[3] = rn(2) ? 0 : never_mapped(); break;
    case 206: a[0] = rn(2) ? (long)rn(64) : any(); a[1] = rn(2) ? (long)(junk + 3520) : ptr(); *(long *)(junk + 3520) = 0; break; /* io_setup */
    case 446: a[0] = fd(); a[1] = rn(2) ? 0 : flags32(); break;                  /* landlock_restrict_self */
    default: break;
    }
    if (nr == SYS_rt_sigaction) fix_sigaction(a[1]);
    return nr;
}

/* ---- the fuzzer child ---------------------------------------------------- */

static void trace_call(long idx, long nr, const long a[6]) {
    char line[200];
    int n = snprintf(line, sizeof line, "# fz %ld %ld %lx %lx %lx %lx %lx %lx\n", idx, nr, a[0], a[1], a[2], a[3],
                     a[4], a[5]);
    raw(SYS_write, LOG_FD, (long)line, n, 0, 0, 0);
}

/* One thread's share: calls until the run's count is reached. */
static void fuzz_loop(int t, uint64_t seed) {
    unsigned long my_fs = 0; /* on the stack: TLS is unusable until FS is back */
    raw(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, (long)&my_fs, 0, 0, 0, 0);
    fs_base = my_fs;
    thread_no = t;
    rng = (seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(t + 1))) | 1;
    junk = junk_pages + 2 * t * 4096;
    /* about one call per part blocks with one thread, five with three */
    long block_odds = cfg.threads > 1 ? 4096 : 16384;
    static const long blocking[] = {34 /* pause */, SYS_rt_sigsuspend, SYS_poll, 232 /* epoll_wait */, SYS_futex,
                                    SYS_wait4, SYS_rt_sigtimedwait, SYS_ppoll};
    for (long mine = 0;; mine++) {
        if (mine % CHECKPOINT == 0) checkpoint();
        long idx = atomic_fetch_add(&rep->next, 1);
        if (idx >= cfg.calls) break;
        long a[6];
        long nr;
        if (rn(2048) == 0)
            nr = unimplemented[rn(sizeof unimplemented / sizeof unimplemented[0])];
        else if (rn(2))
            nr = nrs[rn(NNRS)];
        else if (never_called(nr = rn(ALL_NRS)))
            nr = SYS_getpid;
        if ((nr == SYS_fork || nr == SYS_clone || nr == SYS_clone3) && rn(4)) nr = SYS_getpid;
        may_block = rn(block_odds) == 0;
        if (may_block) nr = blocking[rn(sizeof blocking / sizeof blocking[0])];
        nr = gen_call(nr, a);
        if (cfg.trace_from >= 0) { /* the trace's fd stays open */
            if (nr == SYS_close_range && (unsigned)a[0] <= LOG_FD && (unsigned)a[1] >= LOG_FD) a[1] = LOG_FD - 1;
            if (nr == SYS_close && (unsigned)a[0] == LOG_FD) a[0] = -1;
            if ((nr == SYS_dup2 || nr == SYS_dup3) && (unsigned)a[1] == LOG_FD) a[1] = LOG_FD + 1;
        }
        struct call_rec *rc = &rep->ring[atomic_fetch_add(&rep->ring_pos, 1) % RING];
        rc->idx = -1;
        rc->nr = nr;
        for (int k = 0; k < 6; k++) rc->args[k] = a[k];
        rc->idx = idx;
        rep->last_nr = nr;
        for (int k = 0; k < 6; k++) rep->last_args[k] = a[k];
        if (cfg.trace_from >= 0 && idx >= cfg.trace_from) trace_call(idx, nr, a);
        fault_streak = 0;
        long r = raw(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (nr == SYS_arch_prctl) /* whatever the kernel took: this thread's TLS back */
            raw(SYS_arch_prctl, 0x1002 /* ARCH_SET_FS */, (long)my_fs, 0, 0, 0, 0);
        if (r == 0 && (nr == SYS_fork || nr == SYS_clone || nr == SYS_clone3) &&
            raw(SYS_getpid, 0, 0, 0, 0, 0, 0) != self_pid)
            raw_exit(0);
        atomic_fetch_add(&rep->calls, 1);
        if (nr >= 0 && nr < MAX_NR && nr != 335 && nr != 400 && nr != 423 && nr != 511) {
            rep->reached[nr] = 1;
            if (r >= 0 || r < -4095) rep->succeeded[nr] = 1;
        }
        if (r >= 0 || r < -4095) rep->ok++;
        switch (nr) {
        case SYS_open: case SYS_openat: case SYS_creat: case SYS_dup: case SYS_dup2: case SYS_dup3:
        case SYS_eventfd: case SYS_eventfd2: case SYS_timerfd_create: case SYS_signalfd: case SYS_signalfd4:
        case 213: case 291: case 253: case 294: case 319: case 437: case 434: case 438: case 323: case 240:
            track_fd(r);
            break;
        case SYS_fcntl:
            if (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC) track_fd(r);
            break;
        case SYS_socket: case SYS_accept: case SYS_accept4:
            track_fd(r);
            break;
        case SYS_socketpair:
            if (r == 0 && a[3] == (long)SK_PAIR) {
                track_fd(((int *)SK_PAIR)[0]);
                track_fd(((int *)SK_PAIR)[1]);
            }
            break;
        case SYS_pipe: case SYS_pipe2:
            if (r == 0 && a[0] == (long)(junk + 512)) {
                track_fd(((int *)(junk + 512))[0]);
                track_fd(((int *)(junk + 512))[1]);
            }
            break;
        case SYS_mmap:
        case SYS_mremap:
            if ((unsigned long)r < 0x0000800000000000UL && r > 0 &&
                ((unsigned long)r < (unsigned long)arena || (unsigned long)r >= (unsigned long)arena + ARENA_SIZE) &&
                nmaps < MAX_MAPS) {
                maps[nmaps] = (unsigned long)r;
                map_len[nmaps] = nr == SYS_mmap ? (unsigned long)a[1] : (unsigned long)a[2];
                nmaps++;
            }
            break;
        }
    }
    checkpoint();
}

static uint64_t thread_seed;
static atomic_int workers_go;

static void *fuzz_thread(void *arg) {
    while (!atomic_load(&workers_go)) raw(SYS_futex, (long)&workers_go, FUTEX_WAIT, 0, 0, 0, 0);
    fuzz_loop((int)(long)arg, thread_seed);
    atomic_fetch_add(&rep->workers_done, 1);
    return 0;
}

static void setup_fail(int code) {
    rep->setup_failed = code;
    raw_exit(code);
}

static void fuzz_child(uint64_t seed) {
    self_pid = getpid();
    raw(SYS_setsid, 0, 0, 0, 0, 0, 0); /* no controlling terminal: vhangup hangs up nothing */
    if (cfg.user) fuzz_dir = "/tmp/fuzz-u";
    raw(SYS_mkdir, (long)fuzz_dir, 0755, 0, 0, 0, 0);
    if (cfg.user) {
        /* the directory belongs to nobody; then nobody for good */
        if (raw(SYS_chown, (long)fuzz_dir, NOBODY, NOBODY, 0, 0, 0) != 0 ||
            raw(SYS_chmod, (long)fuzz_dir, 0755, 0, 0, 0, 0) != 0)
            setup_fail(12);
        if (raw(SYS_setgroups, 0, 0, 0, 0, 0, 0) != 0 || raw(SYS_setresgid, NOBODY, NOBODY, NOBODY, 0, 0, 0) != 0 ||
            raw(SYS_setresuid, NOBODY, NOBODY, NOBODY, 0, 0, 0) != 0)
            setup_fail(13);
    }
    if (cfg.trace_from >= 0) raw(SYS_dup2, 1, LOG_FD, 0, 0, 0, 0);
    /* threads before the handlers: musl's own signals stay its own while it
     * makes them (the threads wait on a futex for the go) */
    thread_seed = seed;
    for (int t = 1; t < cfg.threads; t++) {
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 256 * 1024);
        if (pthread_create(&th, &at, fuzz_thread, (void *)(long)t) != 0)
            setup_fail(14);
    }
    install_handlers();
    struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
    } k;
    raw(SYS_rt_sigaction, SIGUSR1, 0, (long)&k, 8, 0, 0);
    musl_restorer = k.restorer; /* what musl's sigaction installed */

    /* the arena, a hole, the paths (read-only), then per thread a junk
     * page and a hole (the kernel writes past a pointer into junk up to the
     * hole, never into another thread's page or the report) */
    char *area = mmap(0, ARENA_SIZE + (2 + 2 * MAX_THREADS) * 4096, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) setup_fail(10);
    arena = area;
    unmapped = area + ARENA_SIZE;
    munmap(unmapped, 4096);
    paths = area + ARENA_SIZE + 4096;
    junk_pages = area + ARENA_SIZE + 2 * 4096;
    /* PROT_NONE, not holes: an mmap could fill a hole */
    for (int t = 0; t < MAX_THREADS; t++) mprotect(junk_pages + (2 * t + 1) * 4096, 4096, PROT_NONE);
    char *p = paths;
    char abs_f0[64];
    snprintf(abs_f0, sizeof abs_f0, "%s/f0", fuzz_dir);
    const char *names[] = {"f0", "f1", "d0", "d0/f2", "d0/d1", "missing/x", "", "l0", abs_f0,
                           "/proc/self/maps", "/proc/meminfo", ".", "d0/../f1"};
    npaths = 0;
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        strcpy(p, names[i]);
        path_list[npaths++] = p;
        p += strlen(names[i]) + 1;
    }
    memset(p, 'a', 300); /* ENAMETOOLONG */
    p[300] = 0;
    path_list[npaths++] = p;
    mprotect(paths, 4096, PROT_READ);

    if (raw(SYS_chdir, (long)fuzz_dir, 0, 0, 0, 0, 0) != 0) setup_fail(11); /* never fuzz paths elsewhere */
    brk0 = (unsigned long)raw(SYS_brk, 0, 0, 0, 0, 0, 0);
    atomic_store(&workers_go, 1);
    raw(SYS_futex, (long)&workers_go, FUTEX_WAKE, 64, 0, 0, 0);
    fuzz_loop(0, seed);
    /* the others' calls are all started: give them a moment to return
     * (one may be blocked for good; exit_group ends it) */
    for (int i = 0; i < 50 && atomic_load(&rep->workers_done) < cfg.threads - 1; i++) {
        struct timespec ts = {0, 10000000};
        raw(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
    }
    raw_exit(0);
}

/* /proc/<pid>/status and wchan of a stuck child, as '#' lines (Linux). */
static void dump_status(pid_t pid) {
    static int dumped;
    if (dumped++) return;
    char path[64], buf[2048];
    const char *files[] = {"status", "wchan", "syscall"};
    for (int f = 0; f < 3; f++) {
        snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, files[f]);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) continue;
        buf[n] = 0;
        for (char *line = strtok(buf, "\n"); line; line = strtok(0, "\n"))
            if (f > 0 || !strncmp(line, "State", 5) || !strncmp(line, "Sig", 3) || !strncmp(line, "Shd", 3))
                kt_printf("# fuzz: %s: %s\n", files[f], line);
    }
}

static int count_reached(const unsigned char *m) {
    int n = 0;
    for (int i = 0; i < MAX_NR; i++) n += m[i] != 0;
    return n;
}

/* The part's settings, or /etc/fuzz.conf's (a campaign). */
static void read_config(void) {
    cfg.calls = FUZZ_CALLS;
    cfg.seed = FUZZ_SEED;
    cfg.threads = FUZZ_THREADS;
    cfg.user = FUZZ_USER;
    cfg.trace_from = -1;
    cfg.campaign = 0;
    char buf[256];
    int f = open("/etc/fuzz.conf", O_RDONLY);
    if (f < 0) return;
    ssize_t n = read(f, buf, sizeof buf - 1);
    close(f);
    if (n <= 0) return;
    buf[n] = 0;
    long long calls = 0, trace = -1;
    unsigned long long seed = 0;
    int threads = 1, user = 0;
    if (sscanf(buf, "%lld %llu %d %d %lld", &calls, &seed, &threads, &user, &trace) < 4) return;
    cfg.calls = calls > 0 ? calls : FUZZ_CALLS;
    cfg.seed = seed;
    cfg.threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    cfg.user = user != 0;
    cfg.trace_from = trace;
    cfg.campaign = 1;
}

static double now_secs(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Prints the ring's calls after `*shown` (at most the last 8). */
static void print_ring(long *shown) {
    long pos = atomic_load(&rep->ring_pos);
    for (long i = pos > 8 ? pos - 8 : 0; i < pos; i++) {
        struct call_rec *c = &rep->ring[i % RING];
        if (c->idx <= *shown) continue;
        kt_printf("# fuzz: call %ld: %ld (%lx, %lx, %lx, %lx, %lx, %lx)\n", c->idx, c->nr, c->args[0], c->args[1],
                  c->args[2], c->args[3], c->args[4], c->args[5]);
        *shown = c->idx;
    }
}

KT_CASE(fuzz_20k_calls) {
    read_config();
    /* the report between two PROT_NONE pages: no copy the kernel makes for
     * the child runs into it */
    size_t rep_size = (sizeof(struct report) + 4095) & ~(size_t)4095;
    char *rep_area = mmap(0, rep_size + 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(rep_area != MAP_FAILED, "mmap: %s", kt_errname(errno));
    mprotect(rep_area, 4096, PROT_NONE);
    mprotect(rep_area + 4096 + rep_size, 4096, PROT_NONE);
    rep = (struct report *)(rep_area + 4096);
    memset(rep, 0, rep_size);
    kt_printf("# fuzz: seed %llu (0x%llx), %ld calls in a child, %d thread%s, uid %d%s\n",
              (unsigned long long)cfg.seed, (unsigned long long)cfg.seed, cfg.calls, cfg.threads,
              cfg.threads > 1 ? "s" : "", cfg.user ? NOBODY : 0, cfg.campaign ? " (campaign)" : "");
    double t0 = now_secs(), secs = 0;
    int st = 0, restarts = 0, timed_out = 0, unkillable = 0;
    pid_t pid = 0;
    long shown = -1;
    for (;;) {
        /* each child of the run a seed of its own; the count goes on */
        uint64_t seed = cfg.seed + (uint64_t)restarts * 0x9e3779b97f4a7c15ULL;
        pid = KT_FORK();
        if (pid == 0) fuzz_child(seed);
        /* the watchdog: progress every 20 ms; a child without progress for
         * STALL_SECS is killed and replaced */
        double last_move = now_secs();
        long last_calls = atomic_load(&rep->calls), printed_calls = -1;
        int stalled = 0;
        pid_t w = 0;
        for (int tick = 1;; tick++) {
            w = waitpid(pid, &st, WNOHANG);
            double t = now_secs();
            secs = t - t0;
            if (w != 0) break;
            long c = atomic_load(&rep->calls);
            if (c != last_calls) {
                last_calls = c;
                last_move = t;
            }
            if (tick % 50 == 0) {
                if (cfg.campaign) {
                    kt_printf("# fuzz: progress %ld calls, %.0f s\n", c, secs);
                    print_ring(&shown);
                } else if (c == printed_calls || tick % 250 == 0) {
                    kt_printf("# fuzz: %.0f s: %ld calls, now %ld (%lx, %lx, %lx, %lx, %lx, %lx)%s\n", secs, c,
                              rep->last_nr, rep->last_args[0], rep->last_args[1], rep->last_args[2],
                              rep->last_args[3], rep->last_args[4], rep->last_args[5],
                              c == printed_calls ? " (no progress)" : "");
                }
                printed_calls = c;
            }
            int over = !cfg.campaign && secs > FUZZ_LIMIT;
            if (over || t - last_move > STALL_SECS) {
                if (over) timed_out = 1;
                else stalled = 1;
                kt_printf("# fuzz: %s after %ld calls, last %ld (%lx, %lx, %lx, %lx, %lx, %lx): SIGKILL\n",
                          over ? "out of time" : "no progress", c, rep->last_nr, rep->last_args[0],
                          rep->last_args[1], rep->last_args[2], rep->last_args[3], rep->last_args[4],
                          rep->last_args[5]);
                dump_status(pid);
                kill(pid, SIGKILL);
                /* SIGKILL must end any call: the child is reaped within 10 s */
                double k0 = now_secs();
                while ((w = waitpid(pid, &st, WNOHANG)) == 0 && now_secs() - k0 < 10) kt_msleep(20);
                if (w == 0) unkillable = 1;
                break;
            }
            kt_msleep(20);
        }
        if (unkillable || timed_out || !stalled) break;
        if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) break; /* it ended on its own meanwhile */
        if (atomic_load(&rep->next) >= cfg.calls) {
            st = 0; /* its calls were all made: one was blocked at the end */
            break;
        }
        if (++restarts > MAX_RESTARTS) break;
    }
    long calls = atomic_load(&rep->next);
    if (calls > cfg.calls) calls = cfg.calls;
    kt_printf("# fuzz: %ld calls, %d distinct syscalls, seed %llu\n", calls, count_reached(rep->reached),
              (unsigned long long)cfg.seed);
    kt_printf("# fuzz: %ld calls succeeded, %d syscalls succeeded at least once, %d restarts of a blocked child, "
              "%.1f s\n",
              rep->ok, count_reached(rep->succeeded), restarts, secs);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        kt_printf("# fuzz: last call %ld (%lx, %lx, %lx, %lx, %lx, %lx)\n", rep->last_nr, rep->last_args[0],
                  rep->last_args[1], rep->last_args[2], rep->last_args[3], rep->last_args[4], rep->last_args[5]);
    if (rep->fault_sig)
        kt_printf("# fuzz: fault loop: %s at %lx\n", kt_signame(rep->fault_sig), rep->fault_addr);
    if (cfg.campaign) kt_printf("# fuzz: done\n");
    KT_TRUE(!unkillable, "child %d not reaped 10 s after SIGKILL", (int)pid);
    KT_TRUE(rep->setup_failed == 0, "set-up failed (%d)", rep->setup_failed);
    KT_TRUE(restarts <= MAX_RESTARTS, "%d restarts", restarts);
    KT_STATUS(st, kt_exited(0));
    KT_EQ(calls, cfg.calls);
}

KT_MAIN()
