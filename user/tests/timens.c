/* Time namespaces (CLONE_NEWTIME, time_namespaces(7)): unshare(2) moves
 * only the caller's later children, /proc/PID/timens_offsets (read and
 * written until a process enters, its errno rules), the offsets seen by
 * CLOCK_MONOTONIC(_COARSE, _RAW) and CLOCK_BOOTTIME(_ALARM) through the
 * vDSO and the system call (CLOCK_REALTIME unshifted), /proc/uptime and
 * sysinfo, absolute deadlines of clock_nanosleep, timerfd and POSIX timers
 * in namespace time, setns(2) (EUSERS with threads, EPERM without
 * CAP_SYS_ADMIN), clone3(CLONE_NEWTIME), clone(2)'s 0x80 as an exit
 * signal, the nsfs files, threads and CLONE_VM refused while the children's
 * namespace differs. Run as root (the suite's user). Times are checked
 * within a tolerance (the host clock moves while the processes run). */
#include "kt.h"

#include <sched.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif
#ifndef CLOCK_BOOTTIME_ALARM
#define CLOCK_BOOTTIME_ALARM 9
#endif
#define NS_GET_PARENT 0xb702
#define NS_GET_NSTYPE 0xb703
#define SEC 1000000000LL

static long long now_of(clockid_t c) {
    struct timespec ts;
    if (clock_gettime(c, &ts) != 0) return -1;
    return ts.tv_sec * SEC + ts.tv_nsec;
}

static long long sys_now_of(clockid_t c) {
    struct timespec ts;
    if (syscall(SYS_clock_gettime, c, &ts) != 0) return -1;
    return ts.tv_sec * SEC + ts.tv_nsec;
}

static int write_str(const char *path, const char *s) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    int n = (int)write(fd, s, strlen(s));
    int e = errno;
    close(fd);
    errno = e;
    return n;
}

static int link_of(const char *path, char *out, int size) {
    int n = (int)readlink(path, out, size - 1);
    if (n < 0) return -1;
    out[n] = 0;
    return n;
}

static long long ns_ino(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    return (long long)st.st_ino;
}

/* ---- offsets seen by the clocks ----------------------------------------- */

static const clockid_t CLOCKS[] = {CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC_RAW,
                                   CLOCK_BOOTTIME,  CLOCK_BOOTTIME_ALARM,   CLOCK_REALTIME};
#define NCLOCKS 6

/* A process made after unshare(CLONE_NEWTIME) and an offset write sees
 * them, through the vDSO and the system call; the unshared caller and
 * REALTIME do not move. */
KT_CASE(unshare_moves_children_and_offsets_apply) {
    pid_t c = KT_FORK();
    if (c == 0) {
        char t0[64], tc0[64], t1[64], tc1[64], buf[256];
        if (link_of("/proc/self/ns/time", t0, sizeof t0) <= 0) _exit(1);
        if (link_of("/proc/self/ns/time_for_children", tc0, sizeof tc0) <= 0) _exit(2);
        if (strncmp(t0, "time:[", 6) != 0 || strcmp(t0, tc0) != 0) _exit(3);
        if (unshare(CLONE_NEWTIME) != 0) _exit(4);
        if (link_of("/proc/self/ns/time", t1, sizeof t1) <= 0 || strcmp(t0, t1) != 0) _exit(5);
        if (link_of("/proc/self/ns/time_for_children", tc1, sizeof tc1) <= 0 || strcmp(tc1, t0) == 0) _exit(6);
        if (kt_read_text("/proc/self/timens_offsets", buf, sizeof buf) <= 0) _exit(7);
        if (strcmp(buf, "monotonic           0         0\nboottime            0         0\n") != 0) _exit(8);
        const char *w = "monotonic 1000 0\nboottime 2000 500\n";
        if (write_str("/proc/self/timens_offsets", w) != (int)strlen(w)) _exit(9);
        if (kt_read_text("/proc/self/timens_offsets", buf, sizeof buf) <= 0) _exit(10);
        if (strcmp(buf, "monotonic        1000         0\nboottime         2000       500\n") != 0) _exit(11);
        long long off[NCLOCKS] = {1000 * SEC, 1000 * SEC, 1000 * SEC, 2000 * SEC + 500, 2000 * SEC + 500, 0};
        long long before[NCLOCKS], after[NCLOCKS], seen[2 * NCLOCKS];
        int p[2];
        if (pipe(p) != 0) _exit(12);
        for (int i = 0; i < NCLOCKS; i++) before[i] = now_of(CLOCKS[i]);
        pid_t g = fork();
        if (g == 0) {
            for (int i = 0; i < NCLOCKS; i++) {
                seen[2 * i] = now_of(CLOCKS[i]);
                seen[2 * i + 1] = sys_now_of(CLOCKS[i]);
            }
            _exit(write(p[1], seen, sizeof seen) == sizeof seen ? 0 : 1);
        }
        int st;
        if (g < 0 || waitpid(g, &st, 0) != g || st != 0) _exit(13);
        for (int i = 0; i < NCLOCKS; i++) after[i] = now_of(CLOCKS[i]);
        if (read(p[0], seen, sizeof seen) != sizeof seen) _exit(14);
        for (int i = 0; i < 2 * NCLOCKS; i++) {
            int k = i / 2;
            /* the coarse clock may lag the fine one by a tick */
            long long lo = before[k] + off[k] - 20000000LL, hi = after[k] + off[k] + 20000000LL;
            if (seen[i] < lo || seen[i] > hi) {
                printf("  clock %d (%s): %lld not in [%lld, %lld]\n", (int)CLOCKS[k], i % 2 ? "syscall" : "vdso",
                       seen[i], lo, hi);
                _exit(20 + i);
            }
        }
        /* the caller itself stays in its namespace */
        long long m = now_of(CLOCK_MONOTONIC);
        if (m < after[0] || m > after[0] + 500 * 1000000LL) _exit(15);
        /* a process entered: the offsets are frozen */
        if (write_str("/proc/self/timens_offsets", "monotonic 5 0") != -1 || errno != EACCES) _exit(16);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* /proc/uptime and sysinfo(2) are shifted by the boottime offset. */
KT_CASE(uptime_and_sysinfo_shifted) {
    pid_t c = KT_FORK();
    if (c == 0) {
        if (unshare(CLONE_NEWTIME) != 0) _exit(1);
        if (write_str("/proc/self/timens_offsets", "boottime 100000 0\n") != 18) _exit(2);
        char buf[128];
        if (kt_read_text("/proc/uptime", buf, sizeof buf) <= 0) _exit(3);
        double host = atof(buf);
        struct sysinfo si;
        if (sysinfo(&si) != 0) _exit(4);
        long host_si = si.uptime;
        pid_t g = fork();
        if (g == 0) {
            if (kt_read_text("/proc/uptime", buf, sizeof buf) <= 0) _exit(1);
            double in = atof(buf);
            if (in < host + 100000 - 0.5 || in > host + 100000 + 30) _exit(2);
            if (sysinfo(&si) != 0) _exit(3);
            if ((long)si.uptime < host_si + 100000 - 1 || (long)si.uptime > host_si + 100000 + 30) _exit(4);
            _exit(0);
        }
        int st;
        if (g < 0 || waitpid(g, &st, 0) != g) _exit(5);
        _exit(WIFEXITED(st) ? (WEXITSTATUS(st) ? 10 + WEXITSTATUS(st) : 0) : 6);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* ---- timens_offsets writes ----------------------------------------------- */

static int offsets_rules(void) {
    const char *f = "/proc/self/timens_offsets";
    /* the range rules below keep the clock (now + offset) at or above 0:
     * a boot younger than 2 s (ours, when this program runs first) would
     * refuse the -1 s boottime offset */
    struct timespec up;
    KT_CHILD_CHECK(30, clock_gettime(CLOCK_BOOTTIME, &up) == 0);
    if (up.tv_sec < 2) {
        long long left = 2000000000LL - (up.tv_sec * 1000000000LL + up.tv_nsec);
        struct timespec rest = {left / 1000000000, left % 1000000000};
        KT_CHILD_CHECK(31, clock_nanosleep(CLOCK_BOOTTIME, 0, &rest, NULL) == 0);
    }
    /* the initial namespace's offsets are frozen */
    KT_CHILD_CHECK(1, write_str(f, "monotonic 1 0") == -1 && errno == EACCES);
    KT_CHILD_CHECK(2, unshare(CLONE_NEWTIME) == 0);
    KT_CHILD_CHECK(3, write_str(f, "monotonic 1 1000000000") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(4, write_str(f, "realtime 1 0") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(5, write_str(f, "MONOTONIC 1 0") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(6, write_str(f, "boottime 5") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(7, write_str(f, "monotonic 1 -1") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(8, write_str(f, "0 1 0") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(9, write_str(f, "monotonic -10000000000 0") == -1 && errno == ERANGE);
    KT_CHILD_CHECK(10, write_str(f, "monotonic -100000000 0") == -1 && errno == ERANGE);
    /* past KTIME_SEC_MAX / 2 whatever the uptime (4611686018 is refused
     * only once the clock is past its first second) */
    KT_CHILD_CHECK(11, write_str(f, "boottime 4611686019 0") == -1 && errno == ERANGE);
    KT_CHILD_CHECK(12, write_str(f, "monotonic 1 0\n\n") == -1 && errno == EINVAL);
    /* the clock ids' numbers, a negative offset, trailing words ignored */
    KT_CHILD_CHECK(13, write_str(f, "1 5 0\n7 -1 7") == 12);
    char buf[256];
    KT_CHILD_CHECK(14, kt_read_text(f, buf, sizeof buf) > 0);
    KT_CHILD_CHECK(15, strcmp(buf, "monotonic           5         0\nboottime           -1         7\n") == 0);
    KT_CHILD_CHECK(16, write_str(f, "  monotonic\t6 1 and more") == 24);
    /* two lines at most: the rest is left unwritten */
    KT_CHILD_CHECK(17, write_str(f, "monotonic 8 0\nboottime 9 0\nmonotonic 10 0\n") == 27);
    KT_CHILD_CHECK(18, kt_read_text(f, buf, sizeof buf) > 0);
    KT_CHILD_CHECK(19, strcmp(buf, "monotonic           8         0\nboottime            9         0\n") == 0);
    /* a write not at offset 0 (pwrite is ESPIPE: no FMODE_PWRITE) */
    int fd = open(f, O_WRONLY);
    KT_CHILD_CHECK(20, fd >= 0);
    KT_CHILD_CHECK(21, lseek(fd, 1, SEEK_SET) == 1);
    KT_CHILD_CHECK(22, write(fd, "monotonic 1 0", 13) == -1 && errno == EINVAL);
    close(fd);
    /* once a process entered: EACCES, but a bad range is ERANGE first */
    pid_t g = fork();
    if (g == 0) _exit(0);
    KT_CHILD_CHECK(23, g > 0 && waitpid(g, NULL, 0) == g);
    KT_CHILD_CHECK(24, write_str(f, "monotonic 8 0") == -1 && errno == EACCES);
    KT_CHILD_CHECK(25, write_str(f, "monotonic -100000000 0") == -1 && errno == ERANGE);
    KT_CHILD_CHECK(26, write_str(f, "monotonic 1 1000000000") == -1 && errno == EINVAL);
    return 0;
}

KT_CASE(offsets_write_rules) {
    KT_EQ(kt_in_child(offsets_rules), 0);
}

static int no_sys_time(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWTIME) == 0);
    /* CAP_SYS_TIME dropped from the effective set: the opener lacks it */
    struct {
        uint32_t version;
        int pid;
    } h = {0x20080522, 0};
    struct {
        uint32_t eff, perm, inh;
    } d[2];
    KT_CHILD_CHECK(2, syscall(SYS_capget, &h, d) == 0);
    d[0].eff &= ~(1u << 25);
    KT_CHILD_CHECK(3, syscall(SYS_capset, &h, d) == 0);
    KT_CHILD_CHECK(4, write_str("/proc/self/timens_offsets", "monotonic 1 0") == -1 && errno == EPERM);
    /* a bad line is EINVAL before the capability is asked */
    KT_CHILD_CHECK(5, write_str("/proc/self/timens_offsets", "bad 1 0") == -1 && errno == EINVAL);
    return 0;
}

KT_CASE(offsets_need_cap_sys_time) {
    KT_EQ(kt_in_child(no_sys_time), 0);
}

/* An unprivileged user makes a user and a time namespace together, owns
 * both, writes the offsets; without the user namespace it is EPERM. */
static int unprivileged(void) {
    KT_CHILD_CHECK(1, setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0);
    KT_CHILD_CHECK(2, unshare(CLONE_NEWTIME) == -1 && errno == EPERM);
    KT_CHILD_CHECK(3, prctl(PR_SET_DUMPABLE, 1) == 0);
    KT_CHILD_CHECK(4, unshare(CLONE_NEWUSER | CLONE_NEWTIME) == 0);
    KT_CHILD_CHECK(5, write_str("/proc/self/timens_offsets", "monotonic 300 0") == 15);
    long long before = now_of(CLOCK_MONOTONIC);
    pid_t g = fork();
    if (g == 0) _exit(now_of(CLOCK_MONOTONIC) - before >= 300 * SEC ? 0 : 1);
    int st;
    KT_CHILD_CHECK(6, g > 0 && waitpid(g, &st, 0) == g && st == 0);
    KT_CHILD_CHECK(7, now_of(CLOCK_MONOTONIC) - before < 300 * SEC);
    return 0;
}

KT_CASE(unprivileged_with_user_ns) {
    KT_EQ(kt_in_child(unprivileged), 0);
}

/* ---- absolute deadlines --------------------------------------------------- */

/* In a namespace whose clocks are 1000 s ahead: absolute deadlines are
 * namespace times (a missed conversion sleeps 1000 s: the alarm ends it). */
static int abs_deadlines(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWTIME) == 0);
    KT_CHILD_CHECK(2, write_str("/proc/self/timens_offsets", "monotonic 1000 0\nboottime 1000 0") == 32);
    pid_t g = fork();
    if (g == 0) {
        alarm(20);
        long long t0 = now_of(CLOCK_MONOTONIC);
        struct timespec ts = {(t0 + 100000000LL) / SEC, (t0 + 100000000LL) % SEC};
        if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) _exit(1);
        long long el = now_of(CLOCK_MONOTONIC) - t0;
        if (el < 90000000LL || el > 5 * SEC) _exit(2);
        /* timerfd: armed 100 ms ahead, it says so and fires */
        int tfd = timerfd_create(CLOCK_BOOTTIME, 0);
        if (tfd < 0) _exit(3);
        t0 = now_of(CLOCK_BOOTTIME);
        struct itimerspec its = {{0, 0}, {(t0 + 100000000LL) / SEC, (t0 + 100000000LL) % SEC}};
        if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0) _exit(4);
        struct itimerspec cur;
        if (timerfd_gettime(tfd, &cur) != 0) _exit(5);
        long long left = cur.it_value.tv_sec * SEC + cur.it_value.tv_nsec;
        if (left <= 0 || left > 100000000LL) _exit(6);
        struct pollfd pfd = {tfd, POLLIN, 0};
        if (poll(&pfd, 1, 5000) != 1) _exit(7);
        uint64_t n = 0;
        if (read(tfd, &n, 8) != 8 || n != 1) _exit(8);
        /* a time before the namespace's offset: already passed */
        its.it_value.tv_sec = 0;
        its.it_value.tv_nsec = 1;
        if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0) _exit(9);
        if (poll(&pfd, 1, 2000) != 1 || read(tfd, &n, 8) != 8 || n != 1) _exit(10);
        close(tfd);
        /* a POSIX timer on CLOCK_MONOTONIC */
        struct sigevent sev;
        memset(&sev, 0, sizeof sev);
        sev.sigev_notify = SIGEV_NONE;
        timer_t tid;
        if (timer_create(CLOCK_MONOTONIC, &sev, &tid) != 0) _exit(11);
        t0 = now_of(CLOCK_MONOTONIC);
        its.it_value.tv_sec = (t0 + 200000000LL) / SEC;
        its.it_value.tv_nsec = (t0 + 200000000LL) % SEC;
        if (timer_settime(tid, TIMER_ABSTIME, &its, NULL) != 0) _exit(12);
        if (timer_gettime(tid, &cur) != 0) _exit(13);
        left = cur.it_value.tv_sec * SEC + cur.it_value.tv_nsec;
        if (left <= 0 || left > 200000000LL) _exit(14);
        /* REALTIME is not shifted: a deadline 100 ms ahead of it */
        long long r0 = now_of(CLOCK_REALTIME);
        ts.tv_sec = (r0 + 100000000LL) / SEC;
        ts.tv_nsec = (r0 + 100000000LL) % SEC;
        if (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) != 0) _exit(15);
        el = now_of(CLOCK_REALTIME) - r0;
        if (el < 90000000LL || el > 5 * SEC) _exit(16);
        _exit(0);
    }
    int st;
    KT_CHILD_CHECK(3, g > 0 && waitpid(g, &st, 0) == g);
    if (st != 0) printf("  grandchild: %s\n", kt_status_str(st));
    KT_CHILD_CHECK(4, st == 0);
    return 0;
}

KT_CASE(absolute_deadlines_in_namespace_time) {
    KT_EQ(kt_in_child(abs_deadlines), 0);
}

/* ---- setns ---------------------------------------------------------------- */

static void *idle_thread(void *a) {
    (void)a;
    for (;;) pause();
    return NULL;
}

static int thread_fn(void *a) {
    (void)a;
    return 0;
}

static int setns_rules(void) {
    char host[64], buf[64], path[64];
    KT_CHILD_CHECK(1, link_of("/proc/self/ns/time", host, sizeof host) > 0);
    int hostfd = open("/proc/self/ns/time", O_RDONLY);
    KT_CHILD_CHECK(2, hostfd >= 0);
    KT_CHILD_CHECK(3, unshare(CLONE_NEWTIME) == 0);
    KT_CHILD_CHECK(4, write_str("/proc/self/timens_offsets", "monotonic 500 0") == 15);
    /* threads and CLONE_VM children while the children's namespace differs */
    pthread_t th;
    KT_CHILD_CHECK(5, pthread_create(&th, NULL, idle_thread, NULL) != 0);
    static char stack[16384];
    KT_CHILD_CHECK(6, clone(thread_fn, stack + sizeof stack, CLONE_VM | SIGCHLD, NULL) == -1 && errno == EINVAL);
    /* entering the children's namespace itself freezes it */
    int nsfd = open("/proc/self/ns/time_for_children", O_RDONLY);
    KT_CHILD_CHECK(7, nsfd >= 0);
    KT_CHILD_CHECK(8, ioctl(nsfd, NS_GET_NSTYPE) == CLONE_NEWTIME);
    KT_CHILD_CHECK(9, ioctl(nsfd, NS_GET_PARENT) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(10, setns(nsfd, CLONE_NEWNET) == -1 && errno == EINVAL);
    long long before = now_of(CLOCK_MONOTONIC);
    KT_CHILD_CHECK(11, setns(nsfd, CLONE_NEWTIME) == 0);
    long long in = now_of(CLOCK_MONOTONIC), in_sys = sys_now_of(CLOCK_MONOTONIC);
    KT_CHILD_CHECK(12, in - before >= 500 * SEC && in - before < 505 * SEC);
    KT_CHILD_CHECK(13, in_sys - before >= 500 * SEC && in_sys - before < 505 * SEC);
    KT_CHILD_CHECK(14, link_of("/proc/self/ns/time", buf, sizeof buf) > 0 && strcmp(buf, host) != 0);
    snprintf(path, sizeof path, "time:[%lld]", ns_ino("/proc/self/ns/time"));
    KT_CHILD_CHECK(15, strcmp(buf, path) == 0);
    KT_CHILD_CHECK(16, link_of("/proc/self/ns/time_for_children", path, sizeof path) > 0 && strcmp(buf, path) == 0);
    KT_CHILD_CHECK(17, write_str("/proc/self/timens_offsets", "monotonic 1 0") == -1 && errno == EACCES);
    /* threads again allowed; a multi-threaded caller may not setns */
    KT_CHILD_CHECK(18, pthread_create(&th, NULL, idle_thread, NULL) == 0);
    KT_CHILD_CHECK(19, setns(hostfd, CLONE_NEWTIME) == -1 && errno == EUSERS);
    return 0;
}

KT_CASE(setns_rules) {
    KT_EQ(kt_in_child(setns_rules), 0);
}

static int setns_back(void) {
    int hostfd = open("/proc/self/ns/time", O_RDONLY);
    KT_CHILD_CHECK(1, hostfd >= 0);
    KT_CHILD_CHECK(2, unshare(CLONE_NEWTIME) == 0);
    KT_CHILD_CHECK(3, write_str("/proc/self/timens_offsets", "monotonic 700 0") == 15);
    int nsfd = open("/proc/self/ns/time_for_children", O_RDONLY);
    KT_CHILD_CHECK(4, nsfd >= 0);
    long long before = now_of(CLOCK_MONOTONIC);
    KT_CHILD_CHECK(5, setns(nsfd, 0) == 0);
    KT_CHILD_CHECK(6, now_of(CLOCK_MONOTONIC) - before >= 700 * SEC);
    /* back to the initial namespace: the host's clock again */
    KT_CHILD_CHECK(7, setns(hostfd, CLONE_NEWTIME) == 0);
    long long m = now_of(CLOCK_MONOTONIC);
    KT_CHILD_CHECK(8, m >= before && m - before < 5 * SEC);
    /* without CAP_SYS_ADMIN */
    KT_CHILD_CHECK(9, setresuid(65534, 65534, 65534) == 0);
    KT_CHILD_CHECK(10, setns(nsfd, CLONE_NEWTIME) == -1 && errno == EPERM);
    return 0;
}

KT_CASE(setns_into_and_back) {
    KT_EQ(kt_in_child(setns_back), 0);
}

/* ---- clone3, clone ---------------------------------------------------------- */

static int clone3_newtime(void) {
    char mine[64], child[64];
    KT_CHILD_CHECK(1, link_of("/proc/self/ns/time", mine, sizeof mine) > 0);
    KT_CHILD_CHECK(2, unshare(CLONE_NEWTIME) == 0);
    KT_CHILD_CHECK(3, write_str("/proc/self/timens_offsets", "monotonic 50 0") == 14);
    /* CLONE_NEWTIME makes another namespace below: the child enters it,
     * with the offsets of the one it was copied from */
    long long before = now_of(CLOCK_MONOTONIC);
    struct kt_clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_NEWTIME;
    a.exit_signal = SIGCHLD;
    int p[2];
    KT_CHILD_CHECK(4, pipe(p) == 0);
    pid_t c = (pid_t)syscall(SYS_clone3, &a, KT_CLONE_ARGS_SIZE_VER0);
    if (c == 0) {
        char buf[256];
        int n = link_of("/proc/self/ns/time", buf, sizeof buf);
        if (write(p[1], buf, n + 1) != n + 1) _exit(1);
        if (kt_read_text("/proc/self/timens_offsets", buf, sizeof buf) <= 0) _exit(2);
        if (strcmp(buf, "monotonic          50         0\nboottime            0         0\n") != 0) _exit(3);
        if (now_of(CLOCK_MONOTONIC) - before < 50 * SEC) _exit(4);
        if (write_str("/proc/self/timens_offsets", "monotonic 1 0") != -1 || errno != EACCES) _exit(5);
        _exit(0);
    }
    KT_CHILD_CHECK(5, c > 0);
    int st;
    KT_CHILD_CHECK(6, waitpid(c, &st, 0) == c);
    if (st != 0) printf("  clone3 child: %s\n", kt_status_str(st));
    KT_CHILD_CHECK(7, st == 0);
    KT_CHILD_CHECK(8, read(p[0], child, sizeof child) > 0);
    char fc[64];
    KT_CHILD_CHECK(9, link_of("/proc/self/ns/time_for_children", fc, sizeof fc) > 0);
    KT_CHILD_CHECK(10, strcmp(child, mine) != 0 && strcmp(child, fc) != 0);
    /* the unshared namespace was never entered: still writable */
    KT_CHILD_CHECK(11, write_str("/proc/self/timens_offsets", "monotonic 51 0") == 14);
    /* clone3 with CLONE_NEWTIME as an unprivileged user */
    KT_CHILD_CHECK(12, setresuid(65534, 65534, 65534) == 0);
    KT_CHILD_CHECK(13, syscall(SYS_clone3, &a, KT_CLONE_ARGS_SIZE_VER0) == -1 && errno == EPERM);
    return 0;
}

KT_CASE(clone3_newtime) {
    KT_EQ(kt_in_child(clone3_newtime), 0);
}

/* clone(2)'s 0x80 is in CSIGNAL: an exit signal (128), no namespace. */
KT_CASE(clone_0x80_is_an_exit_signal) {
    char mine[64];
    KT_SYS_OK(link_of("/proc/self/ns/time", mine, sizeof mine));
    pid_t c = (pid_t)syscall(SYS_clone, CLONE_NEWTIME, 0, 0, 0, 0);
    if (c == 0) {
        char buf[64];
        if (link_of("/proc/self/ns/time", buf, sizeof buf) <= 0) _exit(1);
        if (link_of("/proc/self/ns/time_for_children", buf, sizeof buf) <= 0) _exit(2);
        _exit(strcmp(buf, mine) == 0 ? 0 : 3);
    }
    KT_TRUE(c > 0, "clone: %s", kt_errname(errno));
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* The nsfs file: its inode is the link's number, its type CLONE_NEWTIME. */
KT_CASE(nsfs_files) {
    char buf[64], want[64];
    KT_SYS_OK(link_of("/proc/self/ns/time", buf, sizeof buf));
    snprintf(want, sizeof want, "time:[%lld]", ns_ino("/proc/self/ns/time"));
    KT_TRUE(strcmp(buf, want) == 0, "%s, %s", buf, want);
    int fd = KT_SYS_OK(open("/proc/self/ns/time", O_RDONLY));
    KT_SYS_RET(ioctl(fd, NS_GET_NSTYPE), CLONE_NEWTIME);
    KT_SYS_ERR(ioctl(fd, NS_GET_PARENT), EINVAL);
    KT_SYS_RET(setns(fd, CLONE_NEWTIME), 0);
    KT_SYS_ERR(setns(fd, CLONE_NEWUTS), EINVAL);
    close(fd);
    char buf2[256];
    KT_TRUE(kt_read_text("/proc/self/timens_offsets", buf2, sizeof buf2) > 0, "read");
    KT_TRUE(strcmp(buf2, "monotonic           0         0\nboottime            0         0\n") == 0, "%s", buf2);
    struct stat st;
    KT_SYS_OK(stat("/proc/self/timens_offsets", &st));
    KT_EQ(st.st_mode & 07777, 0644);
}

/* ---- execve enters time_for_children (exec_task_namespaces) ------------ */

/* The exec'd image of the case below: with TIMENS_EXEC_FD set, it writes
 * its CLOCK_MONOTONIC (vDSO and system call), whether its time and
 * time_for_children links are equal, and the errno of an offsets write,
 * to that fd, and exits before main. */
__attribute__((constructor)) static void timens_exec_probe(void) {
    const char *e = getenv("TIMENS_EXEC_FD");
    if (!e) return;
    long long r[4];
    char t[64], tc[64];
    r[0] = now_of(CLOCK_MONOTONIC);
    r[1] = sys_now_of(CLOCK_MONOTONIC);
    r[2] = link_of("/proc/self/ns/time", t, sizeof t) > 0 && link_of("/proc/self/ns/time_for_children", tc, sizeof tc) > 0
               ? strcmp(t, tc) == 0
               : -1;
    r[3] = write_str("/proc/self/timens_offsets", "monotonic 7 0") == -1 ? errno : 0;
    _exit(write(atoi(e), r, sizeof r) == sizeof r ? 0 : 1);
}

/* After unshare(CLONE_NEWTIME) and an offset write, execve keeps the
 * caller's time namespace in Linux 6.1 (exec_task_namespaces() switching
 * to time_for_children came in a later kernel; review39's M5 assumed it):
 * the new image's clocks are not shifted, its time and time_for_children
 * still differ, and the offsets stay writable. */
KT_CASE(exec_keeps_the_time_namespace) {
    int p[2];
    KT_SYS_OK(pipe(p));
    long long before = now_of(CLOCK_MONOTONIC);
    pid_t c = KT_FORK();
    if (c == 0) {
        close(p[0]);
        if (unshare(CLONE_NEWTIME) != 0) _exit(2);
        if (write_str("/proc/self/timens_offsets", "monotonic 1000 0") != 16) _exit(3);
        char fd[16];
        snprintf(fd, sizeof fd, "%d", p[1]);
        char *argv[] = {(char *)kt_self, NULL};
        char env[32];
        snprintf(env, sizeof env, "TIMENS_EXEC_FD=%s", fd);
        char *envp[] = {env, NULL};
        execve(kt_self, argv, envp);
        _exit(4);
    }
    close(p[1]);
    long long r[4] = {0, 0, -1, -1};
    KT_EQ(read(p[0], r, sizeof r), (long)sizeof r);
    close(p[0]);
    KT_WAIT_STATUS(c, kt_exited(0));
    long long after = now_of(CLOCK_MONOTONIC);
    KT_TRUE(r[0] >= before && r[0] <= after && r[1] >= before && r[1] <= after,
            "vdso %lld, syscall %lld not in [%lld, %lld]", r[0], r[1], before, after);
    KT_EQ(r[2], 0);
    KT_EQ(r[3], 0);
}

/* ---- clone3(CLONE_VM | CLONE_NEWTIME) -------------------------------- */

static char mine_time[64];

/* The CLONE_VM child's check: its time namespace is the new one (also its
 * time_for_children), not its parent's. */
static int vm_child(void) {
    char t[64], tc[64];
    if (link_of("/proc/self/ns/time", t, sizeof t) <= 0) return 1;
    if (link_of("/proc/self/ns/time_for_children", tc, sizeof tc) <= 0) return 2;
    if (strcmp(t, mine_time) == 0) return 3;
    if (strcmp(tc, t) != 0) return 4;
    return 0;
}

/* clone3 whose child runs fn() on the stack the arguments give and exits
 * with its value. */
static long clone3_run(struct kt_clone_args *a, int (*fn)(void)) {
    long ret;
    register long r_fn __asm__("r12") = (long)fn;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "call *%%r12\n\t"
                     "mov %%eax, %%edi\n\t"
                     "mov $60, %%eax\n\t"
                     "syscall\n\t"
                     "1:\n\t"
                     : "=a"(ret)
                     : "a"((long)SYS_clone3), "D"(a), "S"((long)KT_CLONE_ARGS_SIZE_VER0), "r"(r_fn)
                     : "rcx", "r11", "memory");
    return ret;
}

/* Linux 6.1's copy_namespaces() runs timens_on_fork() for CLONE_VM too
 * (the exception came in a later kernel; review39's L2 assumed it): a
 * CLONE_VM|CLONE_NEWTIME child is in the new namespace; the caller's
 * clocks stay right (ours: its vDSO falls back to the system call). */
KT_CASE(clone_vm_newtime_child_enters) {
    KT_SYS_OK(link_of("/proc/self/ns/time", mine_time, sizeof mine_time));
    static char stack[64 * 1024] __attribute__((aligned(16)));
    struct kt_clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_VM | CLONE_VFORK | CLONE_NEWTIME;
    a.exit_signal = SIGCHLD;
    a.stack = (uint64_t)(uintptr_t)stack;
    a.stack_size = sizeof stack;
    long c = clone3_run(&a, vm_child);
    KT_TRUE(c > 0, "clone3: %ld", c);
    KT_WAIT_STATUS((pid_t)c, kt_exited(0));
    /* the caller's clocks still go through the vDSO's live page */
    long long v = now_of(CLOCK_MONOTONIC), k = sys_now_of(CLOCK_MONOTONIC);
    KT_TRUE(k - v >= 0 && k - v < 500 * 1000000LL, "vdso %lld syscall %lld", v, k);
}

/* ---- /proc/PID/stat's starttime in the reader's boottime ------------- */

/* Field 22 of /proc/self/stat (starttime, in clock ticks since boot). */
static long long stat_starttime(void) {
    char buf[1024];
    if (kt_read_text("/proc/self/stat", buf, sizeof buf) <= 0) return -1;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    /* after ") ": field 3 is the state; starttime is field 22 */
    p += 2;
    for (int f = 3; f < 22; f++) {
        p = strchr(p, ' ');
        if (!p) return -1;
        p++;
    }
    return atoll(p);
}

/* Since Linux 5.6 starttime is shifted by the reader's boottime offset,
 * as /proc/uptime is, so that ps's elapsed times hold in the namespace. */
KT_CASE(stat_starttime_in_namespace_boottime) {
    pid_t c = KT_FORK();
    if (c == 0) {
        if (unshare(CLONE_NEWTIME) != 0) _exit(2);
        if (write_str("/proc/self/timens_offsets", "boottime 86400 0") != 16) _exit(3);
        pid_t g = fork();
        if (g == 0) {
            char up[128];
            long long st = stat_starttime();
            if (st < 0 || kt_read_text("/proc/uptime", up, sizeof up) <= 0) _exit(4);
            long long hz = sysconf(_SC_CLK_TCK);
            long long upt = atoll(up);
            long long start_s = st / hz;
            if (upt < 86400 || start_s < upt - 10 || start_s > upt + 1) {
                printf("  starttime %lld ticks (%lld s), uptime %lld s\n", st, start_s, upt);
                _exit(5);
            }
            _exit(0);
        }
        int w;
        if (g < 0 || waitpid(g, &w, 0) != g) _exit(6);
        _exit(WIFEXITED(w) ? WEXITSTATUS(w) : 7);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_MAIN()
