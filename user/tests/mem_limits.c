/* Per-user pipe limits (fs.pipe-max-size, fs.pipe-user-pages-soft/hard as
 * Linux 6.1's defaults) and RLIMIT_MEMLOCK for mlock, mlockall and
 * MAP_LOCKED, checked as an unprivileged user (root has CAP_SYS_RESOURCE
 * and CAP_IPC_LOCK, which lift them). */
#include "kt.h"

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#endif
#define NOBODY 65534

static long read_long(const char *path) {
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0 || buf[n - 1] != '\n') return -2;
    return strtol(buf, 0, 10);
}

static long vm_lck_kb(void) {
    static char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0) return -1;
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = strstr(buf, "VmLck:");
    return p ? strtol(p + 6, 0, 10) : -1;
}

static int become_nobody(void) {
    return setgid(NOBODY) == 0 && setuid(NOBODY) == 0 ? 0 : -1;
}

KT_CASE(pipe_knobs_have_linux_defaults) {
    KT_EQ(read_long("/proc/sys/fs/pipe-max-size"), 1048576);
    KT_EQ(read_long("/proc/sys/fs/pipe-user-pages-soft"), 16384);
    KT_EQ(read_long("/proc/sys/fs/pipe-user-pages-hard"), 0);
}

/* Beyond pipe-max-size only CAP_SYS_RESOURCE may grow a pipe; shrinking
 * and sizes up to it are anyone's. */
KT_CASE(setpipe_sz_beyond_max_size_is_eperm_unprivileged) {
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(fcntl(p[1], F_SETPIPE_SZ, 2 << 20), 2 << 20);
    KT_SYS_RET(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
    pid_t c = KT_FORK();
    if (c == 0) {
        KT_EQ(become_nobody(), 0);
        KT_SYS_RET(fcntl(p[1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
        KT_SYS_ERR(fcntl(p[1], F_SETPIPE_SZ, (1 << 20) + 1), EPERM);
        KT_SYS_ERR(fcntl(p[0], F_SETPIPE_SZ, 2 << 20), EPERM);
        KT_SYS_RET(fcntl(p[1], F_GETPIPE_SZ), 1 << 20);
        KT_SYS_RET(fcntl(p[1], F_SETPIPE_SZ, 8192), 8192);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    close(p[0]);
    close(p[1]);
}

/* 64 pipes of 256 pages reach the user's 16384: the next pipe gets 2
 * pages and cannot grow; shrinking one gives room back; closing all
 * frees the count. */
KT_CASE(pipe_user_pages_soft_shrinks_new_pipes) {
    pid_t c = KT_FORK();
    if (c == 0) {
        KT_EQ(become_nobody(), 0);
        static int fds[64][2];
        for (int i = 0; i < 64; i++) {
            KT_SYS_OK(pipe(fds[i]));
            KT_SYS_RET(fcntl(fds[i][1], F_GETPIPE_SZ), 65536);
            KT_SYS_RET(fcntl(fds[i][1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
        }
        int q[2];
        KT_SYS_OK(pipe(q));
        KT_SYS_RET(fcntl(q[1], F_GETPIPE_SZ), 8192);
        KT_SYS_ERR(fcntl(q[1], F_SETPIPE_SZ, 65536), EPERM);
        KT_SYS_RET(fcntl(q[1], F_SETPIPE_SZ, 4096), 4096);
        /* what a 2-page pipe holds */
        static char buf[16384];
        KT_SYS_OK(fcntl(q[1], F_SETFL, O_NONBLOCK));
        KT_SYS_RET(write(q[1], buf, sizeof buf), 4096);
        close(q[0]);
        close(q[1]);
        KT_SYS_RET(fcntl(fds[0][1], F_SETPIPE_SZ, 4096), 4096);
        KT_SYS_OK(pipe(q));
        KT_SYS_RET(fcntl(q[1], F_GETPIPE_SZ), 65536);
        close(q[0]);
        close(q[1]);
        for (int i = 0; i < 64; i++) {
            close(fds[i][0]);
            close(fds[i][1]);
        }
        KT_SYS_OK(pipe(q));
        KT_SYS_RET(fcntl(q[1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* Root is not limited by the pages it has in pipes. */
KT_CASE(pipe_user_pages_do_not_bind_root) {
    static int fds[66][2];
    for (int i = 0; i < 66; i++) {
        KT_SYS_OK(pipe(fds[i]));
        KT_SYS_RET(fcntl(fds[i][1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
    }
    for (int i = 0; i < 66; i++) {
        close(fds[i][0]);
        close(fds[i][1]);
    }
}

KT_CASE(memlock_default_is_8_mib) {
    struct rlimit rl;
    KT_SYS_OK(getrlimit(RLIMIT_MEMLOCK, &rl));
    KT_EQ(rl.rlim_cur, 8 << 20);
    KT_EQ(rl.rlim_max, 8 << 20);
}

/* mlock counts what is locked already: past the limit ENOMEM, the same
 * range again is free. MAP_LOCKED counts too, and past the limit is
 * EAGAIN; mlockall(MCL_CURRENT) needs all of the address space under it. */
KT_CASE(rlimit_memlock_bounds_mlock_mlockall_map_locked) {
    pid_t c = KT_FORK();
    if (c == 0) {
        KT_EQ(become_nobody(), 0);
        char *m = mmap(0, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        KT_TRUE(m != MAP_FAILED, "mmap: %s", kt_errname(errno));
        KT_SYS_OK(mlock(m, 4 << 20));
        KT_EQ(vm_lck_kb(), 4096);
        KT_SYS_ERR(mlock(m + (4 << 20), 5 << 20), ENOMEM);
        KT_SYS_OK(mlock(m, 4 << 20));
        KT_SYS_OK(mlock(m, 8 << 20));
        KT_EQ(vm_lck_kb(), 8192);
        KT_SYS_ERR(mlock(m + (8 << 20), 4096), ENOMEM);
        KT_SYS_OK(munlock(m, 16 << 20));
        KT_EQ(vm_lck_kb(), 0);
        void *big = mmap(0, 9 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
        KT_TRUE(big == MAP_FAILED && errno == EAGAIN, "MAP_LOCKED 9 MiB: %p %s", big, kt_errname(errno));
        char *l = mmap(0, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
        KT_TRUE(l != MAP_FAILED, "MAP_LOCKED 4 MiB: %s", kt_errname(errno));
        KT_EQ(vm_lck_kb(), 4096);
        KT_SYS_ERR(mlock(m, 5 << 20), ENOMEM);
        KT_SYS_OK(mlock(m, 4 << 20));
        KT_SYS_OK(munmap(l, 4 << 20));
        KT_SYS_OK(munlock(m, 4 << 20));
        KT_SYS_ERR(mlockall(MCL_CURRENT), ENOMEM);
        struct rlimit rl = {0, 0};
        KT_SYS_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
        KT_SYS_ERR(mlock(m, 4096), EPERM);
        KT_SYS_ERR(mlockall(MCL_CURRENT), EPERM);
        /* the raw call: musl's mmap turns this EPERM into ENOMEM */
        long z = syscall(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
        KT_TRUE(z == -1 && errno == EPERM, "MAP_LOCKED at limit 0: %ld %s", z, kt_errname(errno));
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_MAIN()
