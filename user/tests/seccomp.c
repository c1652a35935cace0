/* seccomp(2) and prctl(PR_SET/GET_SECCOMP): strict mode, filters that
 * allow, fail (ERRNO), trap (SIGSYS and its siginfo), kill the process or
 * the thread, the precedence over two filters, inheritance by fork and
 * across execve, TSYNC, the no_new_privs rule, bad programs, bad
 * pointers, GET_ACTION_AVAIL/GET_NOTIF_SIZES, /proc/PID/status's lines and
 * an x32 number seen by a filter. Every case that installs a filter does
 * so in a child (a filter cannot be removed). */
#include "kt.h"
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <ucontext.h>

#ifndef SYS_seccomp
#define SYS_seccomp 317
#endif
#define PR_GET_SECCOMP_ 21
#define PR_SET_SECCOMP_ 22
#define PR_SET_NO_NEW_PRIVS_ 38

#define SECCOMP_SET_MODE_STRICT 0
#define SECCOMP_SET_MODE_FILTER 1
#define SECCOMP_GET_ACTION_AVAIL 2
#define SECCOMP_GET_NOTIF_SIZES 3
#define FLAG_TSYNC 1u
#define FLAG_LOG 2u
#define FLAG_TSYNC_ESRCH 16u

#define RET_KILL_PROCESS 0x80000000u
#define RET_KILL_THREAD 0x00000000u
#define RET_TRAP 0x00030000u
#define RET_ERRNO 0x00050000u
#define RET_USER_NOTIF 0x7fc00000u
#define RET_TRACE 0x7ff00000u
#define RET_LOG 0x7ffc0000u
#define RET_ALLOW 0x7fff0000u
#define AUDIT_ARCH_X86_64 0xc000003eu

struct sf { unsigned short code; unsigned char jt, jf; unsigned int k; };
struct sfprog { unsigned short len; struct sf *filter; };

#define LD_NR {0x20, 0, 0, 0}            /* A = seccomp_data.nr */
#define LD_ARCH {0x20, 0, 0, 4}          /* A = seccomp_data.arch */
#define JEQ(k, t, f) {0x15, t, f, k}
#define JSET(k, t, f) {0x45, t, f, k}
#define RET(k) {0x06, 0, 0, k}

static long sc(unsigned op, unsigned flags, void *args) {
    return syscall(SYS_seccomp, op, flags, args);
}
static long install(unsigned flags, struct sf *f, unsigned short n) {
    struct sfprog p = {n, f};
    return sc(SECCOMP_SET_MODE_FILTER, flags, &p);
}
/* A filter: call `nr` gets `ret`, everything else runs. */
static long only(unsigned flags, long nr, unsigned ret) {
    struct sf f[] = {LD_NR, JEQ((unsigned)nr, 0, 1), RET(ret), RET(RET_ALLOW)};
    return install(flags, f, 4);
}
static int nnp(void) { return prctl(PR_SET_NO_NEW_PRIVS_, 1, 0, 0, 0) == 0; }
static int no_core(void) {
    struct rlimit r = {0, 0};
    return setrlimit(RLIMIT_CORE, &r) == 0;
}
/* The child's status after running `fn` (which returns an exit code). */
static int status_of_child(int (*fn)(void)) {
    pid_t c = fork();
    if (c == 0) _exit(fn());
    int st = -1;
    if (waitpid(c, &st, __WALL) != c) return -2;
    return st;
}
static int status_line(const char *key, char *out, int size) {
    return kt_key_value("/proc/self/status", key, out, size);
}

/* Helper mode (`prog seccomp-exec`): what an exec'd image sees: exit
 * with mode * 10 + 1 when getppid still fails with errno 77. */
__attribute__((constructor)) static void helper_mode(void) {
    char buf[256];
    int fd = open("/proc/self/cmdline", O_RDONLY);
    if (fd < 0) return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return;
    buf[n] = 0;
    char *a1 = buf + strlen(buf) + 1;
    if (a1 >= buf + n || strcmp(a1, "seccomp-exec") != 0) return;
    long r = syscall(SYS_getppid);
    int blocked = r == -1 && errno == 77;
    _exit((int)prctl(PR_GET_SECCOMP_, 0, 0, 0, 0) * 10 + blocked);
}

KT_CASE(get_seccomp_disabled) {
    KT_SYS_RET(prctl(PR_GET_SECCOMP_, 0, 0, 0, 0), 0);
    char v[64];
    KT_TRUE(status_line("Seccomp:", v, sizeof v) > 0, "no Seccomp: line");
    KT_EQ(strcmp(v, "0"), 0);
    KT_TRUE(status_line("Seccomp_filters:", v, sizeof v) > 0, "no Seccomp_filters: line");
    KT_EQ(strcmp(v, "0"), 0);
}

static int strict_exit(void) {
    int p[2];
    if (pipe(p) != 0) return 1;
    if (prctl(PR_SET_SECCOMP_, 1, 0, 0, 0) != 0) return 2;
    if (write(p[1], "ok", 2) != 2) return 3;
    char b[2];
    if (read(p[0], b, 2) != 2 || b[0] != 'o') return 4;
    syscall(SYS_exit, 7);
    return 5;
}
static int strict_getpid(void) {
    if (sc(SECCOMP_SET_MODE_STRICT, 0, 0) != 0) return 2;
    syscall(SYS_getpid);
    return 3;
}
static int strict_exit_group(void) {
    if (sc(SECCOMP_SET_MODE_STRICT, 0, 0) != 0) return 2;
    syscall(SYS_exit_group, 0);
    return 3;
}
static int strict_args(void) {
    /* flags or an argument: EINVAL, and no mode set */
    if (sc(SECCOMP_SET_MODE_STRICT, 1, 0) != -1 || errno != EINVAL) return 2;
    if (sc(SECCOMP_SET_MODE_STRICT, 0, (void *)8) != -1 || errno != EINVAL) return 3;
    if (prctl(PR_GET_SECCOMP_, 0, 0, 0, 0) != 0) return 4;
    /* prctl's mode 3: EINVAL */
    if (prctl(PR_SET_SECCOMP_, 3, 0, 0, 0) != -1 || errno != EINVAL) return 5;
    /* from filter mode, strict is refused */
    if (!nnp() || only(0, SYS_getppid, RET_ERRNO | 5) != 0) return 6;
    if (sc(SECCOMP_SET_MODE_STRICT, 0, 0) != -1 || errno != EINVAL) return 7;
    if (prctl(PR_GET_SECCOMP_, 0, 0, 0, 0) != 2) return 8;
    return 0;
}

KT_CASE(strict_mode) {
    KT_STATUS(status_of_child(strict_exit), kt_exited(7));
    KT_STATUS(status_of_child(strict_getpid), kt_killed(SIGKILL));
    KT_STATUS(status_of_child(strict_exit_group), kt_killed(SIGKILL));
    KT_STATUS(status_of_child(strict_args), kt_exited(0));
}

static int errno_filter(void) {
    if (!nnp()) return 1;
    if (only(0, SYS_getppid, RET_ERRNO | 77) != 0) return 2;
    if (syscall(SYS_getppid) != -1 || errno != 77) return 3;
    /* other calls run */
    if (syscall(SYS_getpid) != getpid() || syscall(SYS_getpid) <= 0) return 4;
    if (prctl(PR_GET_SECCOMP_, 0, 0, 0, 0) != 2) return 5;
    char v[64];
    if (status_line("Seccomp:", v, sizeof v) <= 0 || strcmp(v, "2") != 0) return 6;
    if (status_line("Seccomp_filters:", v, sizeof v) <= 0 || strcmp(v, "1") != 0) return 7;
    /* RET_DATA above MAX_ERRNO is capped at 4095; 0 is a success */
    if (only(0, SYS_getuid, RET_ERRNO | 0xffff) != 0) return 8;
    if (syscall(SYS_getuid) != -1 || errno != 4095) return 9;
    if (only(0, SYS_getgid, RET_ERRNO | 0) != 0) return 10;
    if (syscall(SYS_getgid) != 0) return 11;
    if (status_line("Seccomp_filters:", v, sizeof v) <= 0 || strcmp(v, "3") != 0) return 12;
    /* TRACE with no tracer and USER_NOTIF with no listener: ENOSYS */
    if (only(0, SYS_getegid, RET_TRACE | 3) != 0) return 13;
    if (syscall(SYS_getegid) != -1 || errno != ENOSYS) return 14;
    if (only(0, SYS_geteuid, RET_USER_NOTIF) != 0) return 15;
    if (syscall(SYS_geteuid) != -1 || errno != ENOSYS) return 16;
    /* LOG runs the call */
    if (only(FLAG_LOG, SYS_getpgrp, RET_LOG) != 0) return 17;
    if (syscall(SYS_getpgrp) != getpgid(0)) return 18;
    return 0;
}

KT_CASE(filter_errno_allow_log) {
    KT_STATUS(status_of_child(errno_filter), kt_exited(0));
}

static volatile long trap_info[8];
static void on_sigsys(int sig, siginfo_t *si, void *uc_) {
    ucontext_t *uc = uc_;
    unsigned char *raw = (unsigned char *)si;
    uint64_t call_addr;
    int nr;
    unsigned arch;
    memcpy(&call_addr, raw + 16, 8);
    memcpy(&nr, raw + 24, 4);
    memcpy(&arch, raw + 28, 4);
    trap_info[0] = sig;
    trap_info[1] = si->si_code;
    trap_info[2] = si->si_errno;
    trap_info[3] = nr;
    trap_info[4] = arch;
    trap_info[5] = call_addr == (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    trap_info[6] = uc->uc_mcontext.gregs[REG_RAX];
    trap_info[7] = call_addr != 0;
}

static int trap_filter(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGSYS, &sa, 0) != 0) return 1;
    if (!nnp()) return 2;
    if (only(0, SYS_getppid, RET_TRAP | 0x42) != 0) return 3;
    long r = syscall(SYS_getppid, 1, 2, 3);
    /* the call is not run: the handler's return restores rax = nr */
    if (r != SYS_getppid) return 4;
    if (trap_info[0] != SIGSYS) return 5;
    if (trap_info[1] != 1 /* SYS_SECCOMP */) return 6;
    if (trap_info[2] != 0x42) return 7;
    if (trap_info[3] != SYS_getppid) return 8;
    if ((unsigned)trap_info[4] != AUDIT_ARCH_X86_64) return 9;
    if (trap_info[5] != 1 || trap_info[7] != 1) return 10;
    if (trap_info[6] != SYS_getppid) return 11;
    /* with SIGSYS blocked, the trap kills (force_sig) */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGSYS);
    sigprocmask(SIG_BLOCK, &s, 0);
    if (!no_core()) return 12;
    syscall(SYS_getppid);
    return 13;
}

KT_CASE(filter_trap_siginfo) {
    KT_STATUS(status_of_child(trap_filter), kt_killed(SIGSYS));
}

static int kill_process(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    /* a handler does not help: KILL_PROCESS forces the default action */
    if (sigaction(SIGSYS, &sa, 0) != 0 || !no_core()) return 1;
    if (!nnp()) return 2;
    if (only(0, SYS_getppid, RET_KILL_PROCESS) != 0) return 3;
    syscall(SYS_getppid);
    return 4;
}
static int kill_thread_single(void) {
    if (!nnp() || !no_core()) return 1;
    if (only(0, SYS_getppid, RET_KILL_THREAD) != 0) return 2;
    syscall(SYS_getppid);
    return 3;
}
static void *killed_thread(void *arg) {
    (void)arg;
    if (only(0, SYS_getppid, RET_KILL_THREAD) != 0) return (void *)1;
    syscall(SYS_getppid);
    return (void *)2;
}
static int kill_thread_multi(void) {
    if (!nnp() || !no_core()) return 1;
    pthread_t th;
    if (pthread_create(&th, 0, killed_thread, 0) != 0) return 2;
    /* the thread is gone, the process goes on (no pthread_join: musl's
     * waits for the thread's own pthread_exit, which never came) */
    char v[32] = "";
    for (int i = 0; i < 400; i++) {
        if (status_line("Threads:", v, sizeof v) > 0 && strcmp(v, "1") == 0) break;
        kt_msleep(5);
    }
    if (strcmp(v, "1") != 0) return 3;
    if (syscall(SYS_getppid) <= 0) return 4;
    return 5;
}

KT_CASE(filter_kill) {
    KT_STATUS(status_of_child(kill_process), kt_killed(SIGSYS));
    KT_STATUS(status_of_child(kill_thread_single), kt_killed(SIGSYS));
    KT_STATUS(status_of_child(kill_thread_multi), kt_exited(5));
}

static int precedence(void) {
    if (!nnp()) return 1;
    /* equal actions: the newest filter's data */
    if (only(0, SYS_getppid, RET_ERRNO | 1) != 0) return 2;
    if (only(0, SYS_getppid, RET_ERRNO | 2) != 0) return 3;
    if (syscall(SYS_getppid) != -1 || errno != 2) return 4;
    /* ERRNO over a newer ALLOW/LOG, TRAP over a newer ERRNO */
    if (only(0, SYS_getuid, RET_ERRNO | 9) != 0) return 5;
    if (only(0, SYS_getuid, RET_LOG) != 0) return 6;
    if (syscall(SYS_getuid) != -1 || errno != 9) return 7;
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGSYS, &sa, 0) != 0) return 8;
    if (only(0, SYS_getgid, RET_TRAP | 5) != 0) return 9;
    if (only(0, SYS_getgid, RET_ERRNO | 5) != 0) return 10;
    trap_info[0] = 0;
    if (syscall(SYS_getgid) != SYS_getgid || trap_info[0] != SIGSYS || trap_info[2] != 5) return 11;
    /* KILL_PROCESS (0x80000000, negative) over everything */
    if (only(0, SYS_getegid, RET_KILL_PROCESS) != 0) return 12;
    if (only(0, SYS_getegid, RET_TRAP) != 0) return 13;
    if (!no_core()) return 14;
    syscall(SYS_getegid);
    return 15;
}

KT_CASE(precedence_two_filters) {
    KT_STATUS(status_of_child(precedence), kt_killed(SIGSYS));
}

static int inherit(void) {
    if (!nnp()) return 1;
    if (only(0, SYS_getppid, RET_ERRNO | 77) != 0) return 2;
    pid_t c = fork();
    if (c == 0) {
        if (syscall(SYS_getppid) != -1 || errno != 77) _exit(3);
        if (prctl(PR_GET_SECCOMP_, 0, 0, 0, 0) != 2) _exit(4);
        /* the child's own filter does not reach the parent */
        if (only(0, SYS_getuid, RET_ERRNO | 3) != 0) _exit(5);
        char v[64];
        if (status_line("Seccomp_filters:", v, sizeof v) <= 0 || strcmp(v, "2") != 0) _exit(6);
        _exit(0);
    }
    int st;
    if (waitpid(c, &st, 0) != c || st != 0) return 10 + (WIFEXITED(st) ? WEXITSTATUS(st) : 50);
    if (syscall(SYS_getuid) == -1) return 7;
    /* exec keeps it */
    c = fork();
    if (c == 0) {
        execl("/proc/self/exe", kt_self, "seccomp-exec", (char *)0);
        _exit(99);
    }
    if (waitpid(c, &st, 0) != c) return 8;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 9;
}

KT_CASE(inherited_by_fork_and_exec) {
    /* the exec'd image: mode 2, getppid still fails */
    KT_STATUS(status_of_child(inherit), kt_exited(21));
}

static int pipe_fd[2];
static volatile long thread_saw[3];
static void *tsync_thread(void *arg) {
    (void)arg;
    char b;
    if (read(pipe_fd[0], &b, 1) != 1) return 0;
    long r = syscall(SYS_getppid);
    thread_saw[0] = r == -1 ? errno : 0;
    thread_saw[1] = prctl(PR_GET_SECCOMP_, 0, 0, 0, 0);
    return 0;
}
static void *own_filter_thread(void *arg) {
    (void)arg;
    only(0, SYS_getuid, RET_ERRNO | 1);
    thread_saw[2] = syscall(SYS_gettid);
    char b;
    if (read(pipe_fd[0], &b, 1) != 1) return 0;
    return 0;
}
static int tsync(void) {
    if (!nnp() || pipe(pipe_fd) != 0) return 1;
    pthread_t th;
    if (pthread_create(&th, 0, tsync_thread, 0) != 0) return 2;
    kt_msleep(50);
    if (only(FLAG_TSYNC, SYS_getppid, RET_ERRNO | 66) != 0) return 3;
    if (write(pipe_fd[1], "x", 1) != 1) return 4;
    if (pthread_join(th, 0) != 0) return 5;
    if (thread_saw[0] != 66 || thread_saw[1] != 2) return 6;
    /* a thread with a filter of its own the new chain does not extend:
     * TSYNC fails with its tid, or ESRCH with TSYNC_ESRCH */
    if (pthread_create(&th, 0, own_filter_thread, 0) != 0) return 7;
    while (thread_saw[2] == 0) kt_msleep(5);
    long r = only(FLAG_TSYNC, SYS_getgid, RET_ERRNO | 1);
    if (r != thread_saw[2]) return 8;
    r = only(FLAG_TSYNC | FLAG_TSYNC_ESRCH, SYS_getgid, RET_ERRNO | 1);
    if (r != -1 || errno != ESRCH) return 9;
    /* nothing was attached by the failed calls */
    if (syscall(SYS_getgid) != getgid() || getgid() == (gid_t)-1) return 10;
    if (write(pipe_fd[1], "x", 1) != 1) return 11;
    pthread_join(th, 0);
    return 0;
}

KT_CASE(tsync_threads) {
    KT_STATUS(status_of_child(tsync), kt_exited(0));
}

static int eacces(void) {
    if (!kt_drop_to_1000()) return 1;
    struct sf f[] = {RET(RET_ALLOW)};
    struct sfprog p = {1, f};
    if (sc(SECCOMP_SET_MODE_FILTER, 0, &p) != -1 || errno != EACCES) return 2;
    if (prctl(PR_SET_SECCOMP_, 2, &p, 0, 0) != -1 || errno != EACCES) return 3;
    /* with no_new_privs it may */
    if (!nnp()) return 4;
    if (sc(SECCOMP_SET_MODE_FILTER, 0, &p) != 0) return 5;
    if (prctl(PR_SET_SECCOMP_, 2, &p, 0, 0) != 0) return 6;
    return 0;
}

KT_CASE(eacces_without_no_new_privs) {
    KT_STATUS(status_of_child(eacces), kt_exited(0));
}

static int einval(void) {
    if (!nnp()) return 1;
    struct sf ok[] = {RET(RET_ALLOW)};
    struct sfprog p = {0, ok};
    if (sc(SECCOMP_SET_MODE_FILTER, 0, &p) != -1 || errno != EINVAL) return 2; /* len 0 */
    static struct sf big[4097];
    for (int i = 0; i < 4097; i++) big[i] = (struct sf)RET(RET_ALLOW);
    if (install(0, big, 4097) != -1 || errno != EINVAL) return 3; /* too long */
    struct sf bad_op[] = {{0xffff, 0, 0, 0}, RET(RET_ALLOW)};
    if (install(0, bad_op, 2) != -1 || errno != EINVAL) return 4;
    struct sf no_ret[] = {LD_NR};
    if (install(0, no_ret, 1) != -1 || errno != EINVAL) return 5;
    struct sf jump_out[] = {LD_NR, JEQ(1, 5, 0), RET(RET_ALLOW)};
    if (install(0, jump_out, 3) != -1 || errno != EINVAL) return 6;
    struct sf unaligned[] = {{0x20, 0, 0, 2}, RET(RET_ALLOW)};
    if (install(0, unaligned, 2) != -1 || errno != EINVAL) return 7;
    struct sf past_end[] = {{0x20, 0, 0, 64}, RET(RET_ALLOW)};
    if (install(0, past_end, 2) != -1 || errno != EINVAL) return 8;
    struct sf byte_load[] = {{0x30, 0, 0, 0}, RET(RET_ALLOW)};
    if (install(0, byte_load, 2) != -1 || errno != EINVAL) return 9;
    struct sf div0[] = {{0x34, 0, 0, 0}, RET(RET_ALLOW)};
    if (install(0, div0, 2) != -1 || errno != EINVAL) return 10;
    struct sf mem_unset[] = {{0x60, 0, 0, 0}, RET(RET_ALLOW)};
    if (install(0, mem_unset, 2) != -1 || errno != EINVAL) return 11;
    if (install(1u << 6, ok, 1) != -1 || errno != EINVAL) return 12; /* unknown flag */
    if (sc(4, 0, 0) != -1 || errno != EINVAL) return 13;              /* unknown op */
    unsigned a = RET_ALLOW;
    if (sc(SECCOMP_GET_ACTION_AVAIL, 1, &a) != -1 || errno != EINVAL) return 14;
    if (prctl(PR_GET_SECCOMP_, 0, 0, 0, 0) != 0) return 15; /* nothing attached */
    /* the load of a length, the whole data, the checks' passes */
    struct sf lens[] = {{0x80, 0, 0, 0}, JEQ(64, 1, 0), RET(RET_KILL_PROCESS), RET(RET_ALLOW)};
    if (install(0, lens, 4) != 0) return 16;
    return 0;
}

KT_CASE(einval_bad_programs) {
    KT_STATUS(status_of_child(einval), kt_exited(0));
}

static int efault(void) {
    if (!nnp()) return 1;
    void *bad = (void *)8;
    if (sc(SECCOMP_SET_MODE_FILTER, 0, bad) != -1 || errno != EFAULT) return 2;
    struct sfprog p = {1, bad};
    if (sc(SECCOMP_SET_MODE_FILTER, 0, &p) != -1 || errno != EFAULT) return 3;
    /* the length is checked before the program is read */
    struct sfprog p0 = {0, bad};
    if (sc(SECCOMP_SET_MODE_FILTER, 0, &p0) != -1 || errno != EINVAL) return 4;
    if (sc(SECCOMP_GET_ACTION_AVAIL, 0, bad) != -1 || errno != EFAULT) return 5;
    if (sc(SECCOMP_GET_NOTIF_SIZES, 0, bad) != -1 || errno != EFAULT) return 6;
    if (prctl(PR_SET_SECCOMP_, 2, bad, 0, 0) != -1 || errno != EFAULT) return 7;
    return 0;
}

KT_CASE(efault_bad_pointers) {
    KT_STATUS(status_of_child(efault), kt_exited(0));
}

KT_CASE(action_avail_and_notif_sizes) {
    unsigned acts[] = {RET_KILL_PROCESS, RET_KILL_THREAD, RET_TRAP, RET_ERRNO,
                       RET_USER_NOTIF,   RET_TRACE,       RET_LOG,  RET_ALLOW};
    for (unsigned i = 0; i < sizeof acts / sizeof acts[0]; i++)
        KT_SYS_RET(sc(SECCOMP_GET_ACTION_AVAIL, 0, &acts[i]), 0);
    unsigned bad = 0x00010000u;
    KT_SYS_ERR(sc(SECCOMP_GET_ACTION_AVAIL, 0, &bad), EOPNOTSUPP);
    bad = RET_ERRNO | 5;
    KT_SYS_ERR(sc(SECCOMP_GET_ACTION_AVAIL, 0, &bad), EOPNOTSUPP);
    unsigned short sizes[4] = {1, 1, 1, 0x5555};
    KT_SYS_RET(sc(SECCOMP_GET_NOTIF_SIZES, 0, sizes), 0);
    KT_EQ(sizes[0], 80);
    KT_EQ(sizes[1], 24);
    KT_EQ(sizes[2], 64);
    KT_EQ(sizes[3], 0x5555);
    KT_SYS_ERR(sc(SECCOMP_GET_NOTIF_SIZES, 1, sizes), EINVAL);
}

static int x32_nr(void) {
    if (!nnp()) return 1;
    /* libseccomp's shape: the arch, then x32 numbers refused */
    struct sf f[] = {
        LD_ARCH, JEQ(AUDIT_ARCH_X86_64, 1, 0), RET(RET_KILL_PROCESS),
        LD_NR,   JSET(0x40000000u, 0, 1),      RET(RET_ERRNO | 33),
        JEQ(SYS_getppid, 0, 1), RET(RET_ERRNO | 34), RET(RET_ALLOW),
    };
    if (install(0, f, 9) != 0) return 2;
    if (syscall(0x40000000L | SYS_getppid) != -1 || errno != 33) return 3;
    if (syscall(SYS_getppid) != -1 || errno != 34) return 4;
    if (syscall(SYS_getpid) != getpid()) return 5;
    return 0;
}

KT_CASE(x32_number_seen_by_filter) {
    KT_STATUS(status_of_child(x32_nr), kt_exited(0));
}

static int args_ip(void) {
    if (!nnp()) return 1;
    /* args[1]'s high word (offset 16 + 8 + 4) and the instruction
     * pointer's high word (offset 12: a user address, below 2^47) */
    struct sf f[] = {
        LD_NR, JEQ(SYS_getppid, 0, 6),
        {0x20, 0, 0, 28}, JEQ(0x1234, 0, 1), RET(RET_ERRNO | 40),
        {0x20, 0, 0, 12}, JSET(0xffff8000u, 0, 1), RET(RET_ERRNO | 41),
        RET(RET_ALLOW),
    };
    if (install(0, f, 9) != 0) return 2;
    if (syscall(SYS_getppid, 0, 0x123400000000L) != -1 || errno != 40) return 3;
    if (syscall(SYS_getppid, 0, 0x12340000L) <= 0) return 4;
    return 0;
}

KT_CASE(filter_reads_args_and_ip) {
    KT_STATUS(status_of_child(args_ip), kt_exited(0));
}

static int chain_limit(void) {
    if (!nnp()) return 1;
    static struct sf f[4092];
    for (int i = 0; i < 4092; i++) f[i] = (struct sf)RET(RET_ALLOW);
    /* Linux counts each filter as translated to eBPF (3 + 2 per RET:
     * 8187) and 4 more: 4 such filters take 32764 of the 32768 of a path */
    for (int i = 0; i < 4; i++)
        if (install(0, f, 4092) != 0) return 2 + i;
    if (install(0, f, 4092) != -1 || errno != ENOMEM) return 19;
    if (install(0, f, 1) != -1 || errno != ENOMEM) return 20;
    char v[64];
    if (status_line("Seccomp_filters:", v, sizeof v) <= 0 || strcmp(v, "4") != 0) return 21;
    return 0;
}

KT_CASE(chain_limit_enomem) {
    KT_STATUS(status_of_child(chain_limit), kt_exited(0));
}

KT_MAIN()
