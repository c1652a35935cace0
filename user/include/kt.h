/*
 * kt.h: the conformance-suite harness for the user/tests programs (static, musl).
 *
 * One test program per topic; each case prints exactly one line:
 *
 *     PASS <file>: <case>
 *     FAIL <file>: <case>: <what>: got <value> (<errno>), want <value> (<errno>)
 *     SKIP <file>: <case>: <why>      (KT_SKIP: the kernel lacks what the case needs)
 *
 * where <file> is the source file's name without ".c". A case is a function
 * declared with KT_CASE(name) { ... }; cases run in the order they appear
 * in the file, each in the test process itself (no isolation: a crash ends
 * the program, and /init reports it). The first failed check ends its case.
 *
 *     #include "kt.h"
 *     KT_CASE(dup_ebadf) {
 *         KT_SYS_ERR(dup(-1), EBADF);        // returns -1 with errno EBADF
 *     }
 *     KT_CASE(dup_lowest) {
 *         int fd = KT_SYS_OK(dup(1));        // not -1; the value is kept
 *         KT_EQ(fcntl(fd, F_GETFD), 0);
 *         close(fd);
 *     }
 *     KT_MAIN()
 *
 * Checks made in a forked child (getpid() differs from the test's pid)
 * print a "# child ..." line and _exit(KT_CHILD_FAILED) instead, so that a
 * child never runs the rest of the program; the parent sees the status
 * (use kt_wait_exit()).
 *
 * The program exits 0 when every case passed, KT_EXIT_REPORTED when it
 * printed at least one FAIL line (so /init knows the failure is reported).
 *
 * Every line is written with one write(2) on fd 1, unbuffered, so output
 * from forked children never duplicates or interleaves within a line.
 *
 * Self-exec helpers (for exec-related cases), as argv[1] of the program:
 *   kt-sleep      pause forever
 *   kt-exit N     exit N
 *   kt-fd N       exit 0 when fd N is closed (EBADF), 1 when it is open
 *   kt-argc       exit argc
 *   kt-envc       exit the number of environment strings
 *   kt-ids        print "<pid> <ppid>\n" on fd 1, exit 0
 *   kt-sigstate   exit with bits: 1 SIGUSR1 is SIG_DFL, 2 SIGUSR2 is SIG_IGN,
 *                 4 SIGTERM is blocked, 8 SIGTERM is pending
 *   kt-exe        print readlink("/proc/self/exe") and "\n" on fd 1, exit 0
 *   kt-pipe-back R W  write one byte to fd W, wait 100 ms, read fd R without
 *                 blocking: exit 0 when the byte came back, 1 when another
 *                 reader took it (EAGAIN), 2 on any other result
 * kt_self is argv[0].
 *
 * Only libc is used: Debian's musl-gcc passes -nostdinc, so the linux/ headers are
 * not available; the few kernel constants the tests need are defined here.
 */
#ifndef KT_H
#define KT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- kernel constants not in musl's headers ---------------------------- */

#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef FUTEX_WAIT
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#endif

/* struct clone_args of include/uapi/linux/sched.h (VER2: 88 bytes). */
struct kt_clone_args {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
    uint64_t set_tid;
    uint64_t set_tid_size;
    uint64_t cgroup;
};
#define KT_CLONE_ARGS_SIZE_VER0 64
#define KT_CLONE_ARGS_SIZE_VER1 80
#define KT_CLONE_ARGS_SIZE_VER2 88

/* ---- state -------------------------------------------------------------- */

#define KT_EXIT_REPORTED 90 /* the program printed at least one FAIL line */
#define KT_CHILD_FAILED 91  /* a check failed in a forked child */
#define KT_MAX_CASES 256

typedef void (*kt_fn)(void);
struct kt_case {
    const char *name;
    kt_fn fn;
    int line;
};

static struct kt_case kt_cases[KT_MAX_CASES];
static int kt_ncases;
static const char *kt_case_name = "-";
static int kt_case_failed;
static int kt_case_skipped;
static int kt_nfailed, kt_npassed;
static pid_t kt_pid;
static const char *kt_self = "";

static inline void kt_register(const char *name, kt_fn fn, int line) {
    if (kt_ncases < KT_MAX_CASES) {
        kt_cases[kt_ncases].name = name;
        kt_cases[kt_ncases].fn = fn;
        kt_cases[kt_ncases].line = line;
        kt_ncases++;
    }
}

/* ---- names -------------------------------------------------------------- */

static inline const char *kt_errname(int e) {
    switch (e) {
    case 0: return "0";
#define KT_E(x) case x: return #x;
    KT_E(EPERM) KT_E(ENOENT) KT_E(ESRCH) KT_E(EINTR) KT_E(EIO) KT_E(ENXIO) KT_E(E2BIG)
    KT_E(ENOEXEC) KT_E(EBADF) KT_E(ECHILD) KT_E(EAGAIN) KT_E(ENOMEM) KT_E(EACCES)
    KT_E(EFAULT) KT_E(ENOTBLK) KT_E(EBUSY) KT_E(EEXIST) KT_E(EXDEV) KT_E(ENODEV)
    KT_E(ENOTDIR) KT_E(EISDIR) KT_E(EINVAL) KT_E(ENFILE) KT_E(EMFILE) KT_E(ENOTTY)
    KT_E(ETXTBSY) KT_E(EFBIG) KT_E(ENOSPC) KT_E(ESPIPE) KT_E(EROFS) KT_E(EMLINK)
    KT_E(EPIPE) KT_E(EDOM) KT_E(ERANGE) KT_E(EDEADLK) KT_E(ENAMETOOLONG) KT_E(ENOLCK)
    KT_E(ENOSYS) KT_E(ENOTEMPTY) KT_E(ELOOP) KT_E(ENOMSG) KT_E(EIDRM) KT_E(EOVERFLOW)
    KT_E(EOPNOTSUPP) KT_E(ETIMEDOUT) KT_E(EALREADY) KT_E(EINPROGRESS) KT_E(ESTALE)
    KT_E(EDQUOT) KT_E(ECANCELED) KT_E(EOWNERDEAD) KT_E(ENOTRECOVERABLE) KT_E(ENOTSOCK)
#undef KT_E
    default: {
        static char buf[16];
        snprintf(buf, sizeof buf, "errno %d", e);
        return buf;
    }
    }
}

static inline const char *kt_signame(int s) {
    static const char *names[] = {
        "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS",
        "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM",
        "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN",
        "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",
        "SIGIO", "SIGPWR", "SIGSYS",
    };
    if (s >= 0 && s < (int)(sizeof names / sizeof names[0])) return names[s];
    static char buf[16];
    snprintf(buf, sizeof buf, "SIG%d", s);
    return buf;
}

/* A wait status in words: "exited 3", "killed by SIGSEGV (core dumped)",
 * "stopped by SIGSTOP", "continued"; always with the raw value. */
static inline const char *kt_status_str(int st) {
    static char buf[80];
    if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exited %d (0x%x)", WEXITSTATUS(st), st);
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "killed by %s%s (0x%x)", kt_signame(WTERMSIG(st)),
                 WCOREDUMP(st) ? " (core dumped)" : "", st);
    else if (WIFSTOPPED(st))
        snprintf(buf, sizeof buf, "stopped by %s (0x%x)", kt_signame(WSTOPSIG(st)), st);
    else if (WIFCONTINUED(st))
        snprintf(buf, sizeof buf, "continued (0x%x)", st);
    else
        snprintf(buf, sizeof buf, "unknown status 0x%x", st);
    return buf;
}

/* ---- output -------------------------------------------------------------- */

static inline void kt_write_all(const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(1, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

/* A field of /proc/meminfo in kB (`key` with its colon: "MemFree:"), -1
 * when it cannot be read. Keeps errno. */
static inline long kt_meminfo_kb(const char *key) {
    char buf[4096];
    int saved = errno;
    int fd = open("/proc/meminfo", O_RDONLY);
    long r = -1;
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) {
            buf[n] = 0;
            char *p = strstr(buf, key);
            if (p) r = strtol(p + strlen(key), 0, 10);
        }
    }
    errno = saved;
    return r;
}

/* printf to fd 1 as one write (lines are at most 1 KiB). */
static inline void kt_printf(const char *fmt, ...) {
    char buf[1024];
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if (n >= (int)sizeof buf) {
        n = sizeof buf - 1;
        buf[n - 1] = '\n';
    }
    kt_write_all(buf, (size_t)n);
    errno = saved;
}

/* Reads a small file whole into buf (NUL-terminated, at most size - 1
 * bytes): its length, or -1 when it cannot be opened. */
static inline int kt_read_text(const char *path, char *buf, int size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int n = (int)read(fd, buf, (size_t)size - 1);
    close(fd);
    if (n >= 0) buf[n] = 0;
    return n;
}

/* Reads file `path` (relative to `dirfd`) whole, read after read until
 * its end or until buf is full, into buf NUL-terminated: its length, or
 * -1 when it cannot be opened or a read fails. */
static inline long kt_read_all_at(int dirfd, const char *path, char *buf, size_t size) {
    int fd = openat(dirfd, path, O_RDONLY);
    if (fd < 0) return -1;
    size_t n = 0;
    while (n < size - 1) {
        ssize_t r = read(fd, buf + n, size - 1 - n);
        if (r < 0) {
            close(fd);
            return -1;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    buf[n] = 0;
    close(fd);
    return (long)n;
}

/* kt_read_all_at(AT_FDCWD, ...). */
static inline long kt_read_all(const char *path, char *buf, size_t size) {
    return kt_read_all_at(AT_FDCWD, path, buf, size);
}

static inline const char *kt_file_name(const char *path) {
    static char buf[64];
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    size_t n = strlen(s);
    if (n > 2 && strcmp(s + n - 2, ".c") == 0) n -= 2;
    if (n >= sizeof buf) n = sizeof buf - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return buf;
}
#define KT_FILE kt_file_name(__BASE_FILE__)

/* Records a failed check: the FAIL line in the test process, a "# child"
 * line and _exit in a child. The caller returns from the case. */
static inline void kt_fail(const char *fmt, ...) {
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (getpid() != kt_pid) {
        kt_printf("# child %d of %s: %s: %s\n", (int)getpid(), KT_FILE, kt_case_name, msg);
        _exit(KT_CHILD_FAILED);
    }
    if (!kt_case_failed) kt_printf("FAIL %s: %s: %s\n", KT_FILE, kt_case_name, msg);
    kt_case_failed = 1;
}

/* ---- checks (each ends the case on failure) ------------------------------ */

/* Integer equality: KT_EQ(got, want). */
#define KT_EQ(got, want)                                                                  \
    do {                                                                                  \
        long long kt_g_ = (long long)(got), kt_w_ = (long long)(want);                    \
        if (kt_g_ != kt_w_) {                                                             \
            kt_fail("%s: got %lld (0x%llx), want %lld (0x%llx) [line %d]", #got, kt_g_,    \
                    (unsigned long long)kt_g_, kt_w_, (unsigned long long)kt_w_, __LINE__); \
            return;                                                                       \
        }                                                                                 \
    } while (0)

/* Integer inequality: KT_NE(got, not_wanted). */
#define KT_NE(got, bad)                                                                   \
    do {                                                                                  \
        long long kt_g_ = (long long)(got), kt_b_ = (long long)(bad);                     \
        if (kt_g_ == kt_b_) {                                                             \
            kt_fail("%s: got %lld, want anything else [line %d]", #got, kt_g_, __LINE__); \
            return;                                                                       \
        }                                                                                 \
    } while (0)

/* Any condition, with a printf-style explanation. */
#define KT_TRUE(cond, ...)                                                                \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            char kt_m_[600];                                                              \
            snprintf(kt_m_, sizeof kt_m_, __VA_ARGS__);                                   \
            kt_fail("%s: %s [line %d]", #cond, kt_m_, __LINE__);                           \
            return;                                                                       \
        }                                                                                 \
    } while (0)

/* A call that must succeed (not -1); evaluates to its result. */
#define KT_SYS_OK(call)                                                                   \
    ({                                                                                    \
        errno = 0;                                                                        \
        long kt_r_ = (long)(call);                                                        \
        if (kt_r_ == -1) {                                                                \
            int kt_e_ = errno;                                                            \
            kt_fail("%s: got -1 (%s), want success [line %d]", #call, kt_errname(kt_e_),  \
                    __LINE__);                                                            \
            return;                                                                       \
        }                                                                                 \
        kt_r_;                                                                            \
    })

/* A call that must return exactly `want` (errno shown when it returned -1). */
#define KT_SYS_RET(call, want)                                                            \
    do {                                                                                  \
        errno = 0;                                                                        \
        long kt_r_ = (long)(call);                                                        \
        int kt_e_ = errno;                                                                \
        long kt_w_ = (long)(want);                                                        \
        if (kt_r_ != kt_w_) {                                                             \
            kt_fail("%s: got %ld (%s), want %ld [line %d]", #call, kt_r_,                 \
                    kt_r_ == -1 ? kt_errname(kt_e_) : "no error", kt_w_, __LINE__);       \
            return;                                                                       \
        }                                                                                 \
    } while (0)

/* A call that must fail: return -1 with errno `err`. */
#define KT_SYS_ERR(call, err)                                                             \
    do {                                                                                  \
        errno = 0;                                                                        \
        long kt_r_ = (long)(call);                                                        \
        int kt_e_ = errno;                                                                \
        if (kt_r_ != -1 || kt_e_ != (err)) {                                              \
            kt_fail("%s: got %ld (%s), want -1 (%s) [line %d]", #call, kt_r_,              \
                    kt_r_ == -1 ? kt_errname(kt_e_) : "no error", kt_errname(err),        \
                    __LINE__);                                                            \
            return;                                                                       \
        }                                                                                 \
    } while (0)

/* waitpid(pid) must return pid with exactly the wait status `want`
 * (e.g. kt_exited(0), kt_killed(SIGKILL)). */
#define KT_WAIT_STATUS(pid, want)                                                         \
    do {                                                                                  \
        int kt_st_ = 0;                                                                   \
        pid_t kt_p_ = (pid);                                                              \
        pid_t kt_r_;                                                                      \
        do kt_r_ = waitpid(kt_p_, &kt_st_, __WALL);                                       \
        while (kt_r_ == -1 && errno == EINTR);                                            \
        if (kt_r_ != kt_p_) {                                                             \
            kt_fail("waitpid(%d): got %d (%s) [line %d]", (int)kt_p_, (int)kt_r_,          \
                    kt_r_ == -1 ? kt_errname(errno) : "no error", __LINE__);              \
            return;                                                                       \
        }                                                                                 \
        int kt_w_ = (want);                                                               \
        if (kt_st_ != kt_w_) {                                                            \
            char kt_g_[80];                                                               \
            snprintf(kt_g_, sizeof kt_g_, "%s", kt_status_str(kt_st_));                   \
            kt_fail("child %d: got %s, want %s [line %d]", (int)kt_p_, kt_g_,              \
                    kt_status_str(kt_w_), __LINE__);                                      \
            return;                                                                       \
        }                                                                                 \
    } while (0)

/* A wait status that must equal `want`, both shown decoded. */
#define KT_STATUS(got, want)                                                              \
    do {                                                                                  \
        int kt_g_ = (got), kt_w_ = (want);                                                \
        if (kt_g_ != kt_w_) {                                                             \
            char kt_s_[80];                                                               \
            snprintf(kt_s_, sizeof kt_s_, "%s", kt_status_str(kt_g_));                    \
            kt_fail("%s: got %s, want %s [line %d]", #got, kt_s_, kt_status_str(kt_w_),    \
                    __LINE__);                                                            \
            return;                                                                       \
        }                                                                                 \
    } while (0)

/* Wait statuses as the kernel encodes them. */
#define kt_exited(code) (((code) & 0xff) << 8)
#define kt_killed(sig) ((sig) & 0x7f)
#define kt_stopped(sig) ((((sig) & 0xff) << 8) | 0x7f)
#define kt_continued() 0xffff

/* fork that fails the case on error; evaluates to the pid (0 in the child). */
#define KT_FORK()                                                                         \
    ({                                                                                    \
        pid_t kt_f_ = fork();                                                             \
        if (kt_f_ == -1) {                                                                \
            kt_fail("fork: %s [line %d]", kt_errname(errno), __LINE__);                    \
            return;                                                                       \
        }                                                                                 \
        kt_f_;                                                                            \
    })

/* ---- small helpers -------------------------------------------------------- */

/* Runs `fn` in a child and returns its exit status: the number of the
 * first KT_CHILD_CHECK that failed there (0: all held), -1 when the wait
 * failed, 100 + the signal when it was killed. For checks that must run
 * in a process of their own (credentials, process groups, masks). */
static inline int kt_in_child(int (*fn)(void)) {
    pid_t c = fork();
    if (c == 0) _exit(fn());
    int st = -1;
    if (waitpid(c, &st, 0) != c) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + (st & 0x7f);
}

/* In a kt_in_child function: check number `n`, which on failure prints
 * the condition and errno and makes the child exit with `n`. */
#define KT_CHILD_CHECK(n, cond)                                              \
    do {                                                                     \
        if (!(cond)) {                                                       \
            printf("  check %d failed: %s (errno %d)\n", n, #cond, errno);   \
            return n;                                                        \
        }                                                                    \
    } while (0)

/* In a forked child (a KT_FORK() branch, not a kt_in_child function):
 * check number `n`, which on failure prints a "# child check" line with
 * the condition and errno and makes the child _exit(n). */
#define KT_CK(n, cond)                                                                    \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            kt_printf("# child check %d failed: %s (%s)\n", n, #cond, kt_errname(errno)); \
            _exit(n);                                                                     \
        }                                                                                 \
    } while (0)

/* The value of the line that starts with `key` (e.g. "NSpid:") in the
 * small file `path` (/proc/PID/status), from after the key's separator
 * to the end of the line, tabs kept, into `out`: its length, -1 when the
 * file cannot be read or has no such line. */
static inline int kt_key_value(const char *path, const char *key, char *out, int size) {
    char buf[4096];
    if (kt_read_text(path, buf, sizeof buf) <= 0) return -1;
    size_t klen = strlen(key);
    char *p = buf;
    while (strncmp(p, key, klen) != 0) {
        p = strchr(p, '\n');
        if (!p) return -1;
        p++;
    }
    p += klen;
    if (*p) p++;
    int n = 0;
    while (p[n] && p[n] != '\n' && n < size - 1) {
        out[n] = p[n];
        n++;
    }
    out[n] = 0;
    return n;
}

/* Writes `s` to `path` in one write(2): write's result, -1 when it
 * cannot be opened (errno from open or write kept). */
static inline long kt_put(const char *path, const char *s) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    long r = write(fd, s, strlen(s));
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

/* kt_put, 0 when all of `text` went, else -1. */
static inline int kt_write_text(const char *path, const char *text) {
    return kt_put(path, text) == (long)strlen(text) ? 0 : -1;
}

/* Drops to uid and gid 1000 with no supplementary groups, dumpable again
 * (the setuid made the process's /proc files root's): 1 done, 0 not. */
static inline int kt_drop_to_1000(void) {
    return setgroups(0, NULL) == 0 && setgid(1000) == 0 && setuid(1000) == 0 &&
           syscall(SYS_prctl, 4L /* PR_SET_DUMPABLE */, 1L) == 0;
}

/* Sleeps `ms` milliseconds (restarting after signal handlers). */
static inline void kt_msleep(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* the state letter of /proc/PID/stat ('R', 'S', ...), 0 when unreadable */
static inline char kt_proc_state(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : 0;
}

/* waits up to ms for pid to sleep ('S'); 1 when it does */
static inline int kt_wait_sleeping(pid_t pid, int ms) {
    for (int i = 0; i < ms / 5; i++) {
        if (kt_proc_state(pid) == 'S') return 1;
        kt_msleep(5);
    }
    return 0;
}

/* The raw futex syscall. */
static inline long kt_futex(volatile int *uaddr, int op, int val, const struct timespec *ts) {
    return syscall(SYS_futex, uaddr, op, val, ts, 0, 0);
}

/* Runs `fn(p)` in a forked child that then exits 0; returns the child's
 * wait status (a fault shows as kt_killed(SIGSEGV) or kt_killed(SIGBUS)). */
static inline int kt_status_of(void (*fn)(volatile char *), volatile char *p) {
    pid_t c = fork();
    if (c == 0) {
        fn(p);
        _exit(0);
    }
    int st = -1;
    waitpid(c, &st, 0);
    return st;
}
/* One-byte touches for kt_status_of. */
static inline void kt_touch_read(volatile char *p) { (void)p[0]; }
static inline void kt_touch_write(volatile char *p) { p[0] = 1; }

/* The permission bits of the kernel's anonymous inode (epoll, eventfd,
 * signalfd and timerfd files share one in Linux, 0600 at boot), read from
 * a fresh epoll fd. Linux lets root fchmod that one inode through any of
 * those files (the suite's fuzzer does), so a case compares with this
 * instead of a constant. -1 when epoll_create1 or fstat fails. */
static inline int kt_anon_inode_mode(void) {
    int fd = (int)syscall(SYS_epoll_create1, 0);
    struct stat st;
    int mode = fd >= 0 && fstat(fd, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
    if (fd >= 0) close(fd);
    return mode;
}

/* A page shared with forked children (MAP_SHARED | MAP_ANONYMOUS). */
static inline void *kt_shared_page(void) {
    void *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? 0 : p;
}

/* ---- cases and main ------------------------------------------------------- */

/* Ends the case without a verdict: prints "SKIP <file>: <case>: <why>"
 * instead of PASS (for what a kernel lacks, e.g. a driver that Debian's
 * Linux has only as a module). */
#define KT_SKIP(why)                                                                      \
    do {                                                                                  \
        kt_printf("SKIP %s: %s: %s\n", KT_FILE, kt_case_name, why);                       \
        kt_case_skipped = 1;                                                              \
        return;                                                                           \
    } while (0)

#define KT_CASE(name)                                                                     \
    static void kt_case_##name(void);                                                     \
    __attribute__((constructor)) static void kt_reg_##name(void) {                        \
        kt_register(#name, kt_case_##name, __LINE__);                                     \
    }                                                                                     \
    static void kt_case_##name(void)

static inline int kt_self_exec_helpers(int argc, char **argv) {
    if (argc < 2) return -1;
    if (strcmp(argv[1], "kt-sleep") == 0) {
        for (;;) pause();
    }
    if (strcmp(argv[1], "kt-exit") == 0 && argc > 2) _exit(atoi(argv[2]));
    if (strcmp(argv[1], "kt-fd") == 0 && argc > 2) {
        int r = fcntl(atoi(argv[2]), F_GETFD);
        _exit(r == -1 && errno == EBADF ? 0 : 1);
    }
    if (strcmp(argv[1], "kt-argc") == 0) _exit(argc);
    if (strcmp(argv[1], "kt-envc") == 0) {
        extern char **environ;
        int n = 0;
        while (environ && environ[n]) n++;
        _exit(n);
    }
    if (strcmp(argv[1], "kt-ids") == 0) {
        kt_printf("%d %d\n", (int)getpid(), (int)getppid());
        _exit(0);
    }
    if (strcmp(argv[1], "kt-sigstate") == 0) {
        struct sigaction a1, a2;
        sigset_t mask, pend;
        sigaction(SIGUSR1, 0, &a1);
        sigaction(SIGUSR2, 0, &a2);
        sigprocmask(SIG_BLOCK, 0, &mask);
        sigpending(&pend);
        _exit((a1.sa_handler == SIG_DFL ? 1 : 0) | (a2.sa_handler == SIG_IGN ? 2 : 0) |
              (sigismember(&mask, SIGTERM) ? 4 : 0) | (sigismember(&pend, SIGTERM) ? 8 : 0));
    }
    if (strcmp(argv[1], "kt-exe") == 0) {
        char buf[256];
        ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
        if (n < 0) _exit(1);
        buf[n] = 0;
        kt_printf("%s\n", buf);
        _exit(0);
    }
    if (strcmp(argv[1], "kt-pipe-back") == 0 && argc > 3) {
        int r = atoi(argv[2]), w = atoi(argv[3]);
        char c = 'x';
        if (write(w, &c, 1) != 1) _exit(2);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, 0);
        fcntl(r, F_SETFL, fcntl(r, F_GETFL) | O_NONBLOCK);
        c = 0;
        ssize_t n = read(r, &c, 1);
        if (n == 1 && c == 'x') _exit(0);
        _exit(n == -1 && errno == EAGAIN ? 1 : 2);
    }
    return -1;
}

static inline int kt_main(int argc, char **argv) {
    kt_pid = getpid();
    kt_self = argc > 0 ? argv[0] : "";
    kt_self_exec_helpers(argc, argv);
    /* constructors may run in any order: sort by line */
    for (int i = 1; i < kt_ncases; i++)
        for (int j = i; j > 0 && kt_cases[j - 1].line > kt_cases[j].line; j--) {
            struct kt_case t = kt_cases[j];
            kt_cases[j] = kt_cases[j - 1];
            kt_cases[j - 1] = t;
        }
    for (int i = 0; i < kt_ncases; i++) {
        kt_case_name = kt_cases[i].name;
        kt_case_failed = 0;
        kt_case_skipped = 0;
        kt_cases[i].fn();
        if (getpid() != kt_pid) _exit(0); /* a child returned from a case */
        if (kt_case_failed) {
            kt_nfailed++;
        } else if (!kt_case_skipped) {
            kt_npassed++;
            kt_printf("PASS %s: %s\n", KT_FILE, kt_case_name);
        }
    }
    return kt_nfailed ? KT_EXIT_REPORTED : 0;
}

#define KT_MAIN()                                                                         \
    int main(int argc, char **argv) { return kt_main(argc, argv); }

#endif
