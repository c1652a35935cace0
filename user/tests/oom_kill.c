/* The OOM killer: when memory runs out on a page fault the process with the
 * most memory dies of SIGKILL (not the one that faulted, not the parent),
 * and the system goes on: the faulting process finishes, a fork works. */
#include "kt.h"
#include <sys/prctl.h>

static int set_adj(const char *v) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY);
    if (fd < 0) return -1;
    int r = write(fd, v, strlen(v)) == (long)strlen(v) ? 0 : -1;
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

static long get_adj(void) {
    char buf[32] = {0};
    int fd = open("/proc/self/oom_score_adj", O_RDONLY);
    if (fd < 0) return -9999;
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0 || buf[n - 1] != '\n') return -9998;
    return strtol(buf, 0, 10);
}

/* The OOM killer's first choice whatever the sizes. */
static void prefer_me(void) {
    if (set_adj("1000") != 0) _exit(3);
}

/* /proc/self/oom_score_adj: -1000..1000, kept across fork; without
 * CAP_SYS_RESOURCE not below its minimum, which a privileged write sets
 * (here to 16, inherited by the child); writable by the process's owner
 * while it is dumpable. */
KT_CASE(oom_score_adj_file) {
    KT_EQ(get_adj(), 0);
    KT_SYS_OK(set_adj("500\n"));
    KT_EQ(get_adj(), 500);
    KT_SYS_ERR(set_adj("1001"), EINVAL);
    KT_SYS_ERR(set_adj("-1001"), EINVAL);
    KT_SYS_ERR(set_adj("abc"), EINVAL);
    KT_SYS_OK(set_adj(" -1000 "));
    KT_EQ(get_adj(), -1000);
    KT_SYS_OK(set_adj("0x10"));
    KT_EQ(get_adj(), 16);
    pid_t c = KT_FORK();
    if (c == 0) {
        KT_EQ(get_adj(), 16);
        KT_SYS_OK(setuid(65534));
        /* the change of ids made it non-dumpable: /proc/self is root's */
        KT_SYS_ERR(set_adj("300"), EACCES);
        KT_SYS_OK(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
        KT_SYS_OK(set_adj("300"));
        KT_SYS_OK(set_adj("16"));
        KT_SYS_ERR(set_adj("15"), EACCES);
        KT_SYS_ERR(set_adj("-1000"), EACCES);
        KT_EQ(get_adj(), 16);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_OK(set_adj("0"));
}

static void touch_mib(long n) {
    for (long i = 0; i < n; i++) {
        char *m = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) _exit(2);
        for (int j = 0; j < (1 << 20); j += 4096) m[j] = 1;
    }
}

/* A hog that touches memory until it is killed: SIGKILL, and a fork works
 * afterwards. */
KT_CASE(hog_is_killed_parent_survives) {
    pid_t c = KT_FORK();
    if (c == 0) {
        prefer_me();
        touch_mib(1 << 20);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_killed(SIGKILL));
    pid_t k = KT_FORK();
    if (k == 0) _exit(7);
    KT_WAIT_STATUS(k, kt_exited(7));
}

/* A holds most memory and sleeps; B then needs 64 MiB more than is free:
 * A (the largest) is killed, B finishes. */
KT_CASE(largest_process_is_the_victim) {
    int ready[2];
    KT_SYS_OK(pipe(ready));
    pid_t a = KT_FORK();
    if (a == 0) {
        prefer_me();
        close(ready[0]);
        long mib = 0;
        while (kt_meminfo_kb("MemFree:") > 32 * 1024) {
            touch_mib(1);
            mib++;
        }
        if (write(ready[1], &mib, sizeof mib) != sizeof mib) _exit(4);
        for (;;) pause();
    }
    close(ready[1]);
    long mib = 0;
    KT_SYS_RET(read(ready[0], &mib, sizeof mib), (long)sizeof mib);
    close(ready[0]);
    KT_TRUE(mib > 64, "the hog holds %ld MiB", mib);
    pid_t b = KT_FORK();
    if (b == 0) {
        touch_mib(64);
        _exit(0);
    }
    KT_WAIT_STATUS(b, kt_exited(0));
    KT_WAIT_STATUS(a, kt_killed(SIGKILL));
    pid_t k = KT_FORK();
    if (k == 0) _exit(7);
    KT_WAIT_STATUS(k, kt_exited(7));
}

/* A hog at oom_score_adj -1000 is never chosen: the process that needs the
 * memory is the largest one left and dies. */
KT_CASE(oom_score_adj_minus_1000_is_never_chosen) {
    int ready[2];
    KT_SYS_OK(pipe(ready));
    pid_t a = KT_FORK();
    if (a == 0) {
        if (set_adj("-1000") != 0) _exit(3);
        close(ready[0]);
        long mib = 0;
        while (kt_meminfo_kb("MemFree:") > 32 * 1024) {
            touch_mib(1);
            mib++;
        }
        if (write(ready[1], &mib, sizeof mib) != sizeof mib) _exit(4);
        for (;;) pause();
    }
    close(ready[1]);
    long mib = 0;
    KT_SYS_RET(read(ready[0], &mib, sizeof mib), (long)sizeof mib);
    close(ready[0]);
    pid_t b = KT_FORK();
    if (b == 0) {
        touch_mib(64);
        _exit(0);
    }
    KT_WAIT_STATUS(b, kt_killed(SIGKILL));
    KT_SYS_OK(kill(a, 0));
    KT_SYS_OK(kill(a, SIGKILL));
    KT_WAIT_STATUS(a, kt_killed(SIGKILL));
}

KT_MAIN()
