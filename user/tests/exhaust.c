/* Resource exhaustion by an unprivileged user ends in Linux's errno, never a
 * crash: RLIMIT_NPROC for forks and threads (EAGAIN), vm.max_map_count for
 * mappings (ENOMEM); the limits derived from RAM as kernel/fork.c does. */
#include "kt.h"
#include <pthread.h>
#include <sys/resource.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>

#define NOBODY 65534
#define NPROC 64

static long read_long(const char *path) {
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0 || buf[n - 1] != '\n') return -2;
    return strtol(buf, 0, 10);
}

/* threads-max is totalram * PAGE_SIZE / (8 * THREAD_SIZE), counted at boot
 * (on Linux totalram grows afterwards, by some 13 % in the suite's VM, when
 * the initramfs and init memory are freed); init's RLIMIT_NPROC and
 * RLIMIT_SIGPENDING are half of it. */
KT_CASE(threads_max_and_nproc_from_ram) {
    long tmax = read_long("/proc/sys/kernel/threads-max");
    struct sysinfo si;
    KT_SYS_OK(sysinfo(&si));
    long from_ram = (long)((unsigned long long)si.totalram * si.mem_unit / (8 * 16384));
    KT_TRUE(tmax > 0 && tmax <= from_ram && tmax >= from_ram - from_ram / 4,
            "threads-max %ld, totalram/128K %ld", tmax, from_ram);
    struct rlimit rl;
    KT_SYS_OK(getrlimit(RLIMIT_NPROC, &rl));
    KT_EQ(rl.rlim_cur, tmax / 2);
    KT_EQ(rl.rlim_max, tmax / 2);
    KT_SYS_OK(getrlimit(RLIMIT_SIGPENDING, &rl));
    KT_EQ(rl.rlim_cur, tmax / 2);
    KT_EQ(rl.rlim_max, tmax / 2);
}

KT_CASE(max_map_count_is_65530) {
    KT_EQ(read_long("/proc/sys/vm/max_map_count"), 65530);
}

/* In a child: RLIMIT_NPROC 64 and uid/gid nobody (root is exempt). */
static int become_limited_nobody(void) {
    struct rlimit rl = {NPROC, NPROC};
    if (setrlimit(RLIMIT_NPROC, &rl) != 0) return -1;
    if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0) return -1;
    return 0;
}

/* Forks until EAGAIN: the user's 64th task is refused (the forking process
 * is the first); the children wait on a pipe, end when it closes, and once
 * all are reaped a fresh fork works. */
KT_CASE(fork_bomb_bounded_by_rlimit_nproc) {
    pid_t c = KT_FORK();
    if (c == 0) {
        KT_EQ(become_limited_nobody(), 0);
        int p[2];
        KT_SYS_OK(pipe(p));
        int n = 0, err = 0;
        for (;;) {
            pid_t k = fork();
            if (k == 0) {
                char b;
                close(p[1]);
                while (read(p[0], &b, 1) == -1 && errno == EINTR) {
                }
                _exit(0);
            }
            if (k < 0) {
                err = errno;
                break;
            }
            if (++n > 2 * NPROC) break;
        }
        KT_EQ(err, EAGAIN);
        KT_EQ(n, NPROC - 1);
        close(p[1]);
        for (int i = 0; i < n; i++) {
            int st = -1;
            KT_TRUE(wait(&st) > 0, "wait #%d: %s", i, kt_errname(errno));
            KT_STATUS(st, kt_exited(0));
        }
        KT_SYS_ERR(wait(0), ECHILD);
        pid_t k = KT_FORK();
        if (k == 0) _exit(7);
        KT_WAIT_STATUS(k, kt_exited(7));
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* Root is exempt from RLIMIT_NPROC: its fork bomb ends at threads-max,
 * counting zombies and every other task (kernel threads too, on Linux), with
 * EAGAIN, never in a crash; afterwards everything is reaped and a fork works
 * again. */
KT_CASE(root_fork_bomb_ends_at_threads_max) {
    long tmax = read_long("/proc/sys/kernel/threads-max");
    KT_TRUE(tmax > 0, "threads-max %ld", tmax);
    pid_t c = KT_FORK();
    if (c == 0) {
        long n = 0;
        int err = 0;
        for (;;) {
            pid_t k = fork();
            if (k == 0) _exit(0);
            if (k < 0) {
                err = errno;
                break;
            }
            if (++n > tmax) break;
        }
        KT_EQ(err, EAGAIN);
        KT_TRUE(n > tmax - 200 && n < tmax, "%ld forks, threads-max %ld", n, tmax);
        for (long i = 0; i < n; i++) {
            int st = -1;
            KT_TRUE(wait(&st) > 0, "wait #%ld: %s", i, kt_errname(errno));
            KT_STATUS(st, kt_exited(0));
        }
        KT_SYS_ERR(wait(0), ECHILD);
        pid_t k = KT_FORK();
        if (k == 0) _exit(7);
        KT_WAIT_STATUS(k, kt_exited(7));
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

static int release_fd = -1;

static void *blocked(void *arg) {
    char b;
    (void)arg;
    while (read(release_fd, &b, 1) == -1 && errno == EINTR) {
    }
    return 0;
}

/* Threads count as the user's tasks too: pthread_create fails with EAGAIN
 * at the 64th; after they end and are joined a new thread and a fork work. */
KT_CASE(thread_bomb_bounded_by_rlimit_nproc) {
    pid_t c = KT_FORK();
    if (c == 0) {
        KT_EQ(become_limited_nobody(), 0);
        int p[2];
        KT_SYS_OK(pipe(p));
        release_fd = p[0];
        static pthread_t th[2 * NPROC];
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 64 * 1024);
        int n = 0, err = 0;
        while (n < 2 * NPROC) {
            err = pthread_create(&th[n], &at, blocked, 0);
            if (err) break;
            n++;
        }
        KT_EQ(err, EAGAIN);
        KT_EQ(n, NPROC - 1);
        KT_SYS_ERR(fork(), EAGAIN);
        close(p[1]);
        for (int i = 0; i < n; i++) KT_EQ(pthread_join(th[i], 0), 0);
        pthread_t t;
        KT_EQ(pthread_create(&t, &at, blocked, 0), 0);
        KT_EQ(pthread_join(t, 0), 0);
        pid_t k = KT_FORK();
        if (k == 0) _exit(7);
        KT_WAIT_STATUS(k, kt_exited(7));
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* The mappings of the calling process, as /proc/self/maps lists them
 * ([vsyscall] is not a mapping of the process: not in map_count). */
static long count_maps(void) {
    static char buf[8 << 20];
    int fd = open("/proc/self/maps", O_RDONLY);
    if (fd < 0) return -1;
    long len = 0, n;
    while ((n = read(fd, buf + len, sizeof buf - len)) > 0) len += n;
    close(fd);
    if (n < 0) return -2;
    long lines = 0;
    for (long i = 0; i < len; i++) lines += buf[i] == '\n';
    if (memmem(buf, len, "[vsyscall]", 10)) lines--;
    return lines;
}

/* One-page mprotects of alternate pages split a mapping until the count
 * reaches vm.max_map_count: then ENOMEM (split_vma), the count stays at the
 * limit, and the process goes on (unmapping the region works). */
KT_CASE(vma_fill_ends_in_enomem_at_max_map_count) {
    pid_t c = KT_FORK();
    if (c == 0) {
        KT_EQ(become_limited_nobody(), 0);
        long max = read_long("/proc/sys/vm/max_map_count");
        KT_EQ(max, 65530);
        size_t pages = 2 * (size_t)max + 8;
        char *base = mmap(0, pages * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        KT_TRUE(base != MAP_FAILED, "mmap: %s", kt_errname(errno));
        size_t i = 0;
        int err = 0;
        for (; 2 * i + 1 < pages; i++) {
            if (mprotect(base + (2 * i + 1) * 4096, 4096, PROT_NONE) != 0) {
                err = errno;
                break;
            }
        }
        KT_EQ(err, ENOMEM);
        KT_TRUE(i > (size_t)max / 2 - 100, "only %zu splits", i);
        KT_EQ(count_maps(), max);
        KT_SYS_ERR(mprotect(base + (2 * i + 3) * 4096, 4096, PROT_NONE), ENOMEM);
        KT_SYS_ERR(munmap(base + (2 * i + 4) * 4096, 4096), ENOMEM);
        KT_SYS_OK(munmap(base, pages * 4096));
        char *q = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        KT_TRUE(q != MAP_FAILED, "mmap after: %s", kt_errname(errno));
        q[0] = 1;
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* A tmpfs mounted with nr_inodes=200,size=1m holds 200 inodes, its root
 * one of them: the 200th creation is ENOSPC (for a file and a directory),
 * statfs shows f_files 200 and f_ffree 0, and an unlink gives one back. The
 * size limit stops a write at 256 pages. */
KT_CASE(tmpfs_fill_ends_in_enospc) {
    const char *dir = "/tmp/kt_exhaust_tmpfs";
    rmdir(dir);
    KT_SYS_OK(mkdir(dir, 0755));
    KT_SYS_OK(mount("tmpfs", dir, "tmpfs", 0, "nr_inodes=200,size=1m"));
    struct statfs sf;
    KT_SYS_OK(statfs(dir, &sf));
    KT_EQ(sf.f_files, 200);
    KT_EQ(sf.f_ffree, 199);
    KT_EQ(sf.f_blocks, 256);
    char path[80];
    int n = 0, err = 0;
    for (; n < 1000; n++) {
        snprintf(path, sizeof path, "%s/f%d", dir, n);
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        if (fd < 0) {
            err = errno;
            break;
        }
        close(fd);
    }
    KT_EQ(err, ENOSPC);
    KT_EQ(n, 199);
    snprintf(path, sizeof path, "%s/d", dir);
    KT_SYS_ERR(mkdir(path, 0755), ENOSPC);
    KT_SYS_OK(statfs(dir, &sf));
    KT_EQ(sf.f_ffree, 0);
    snprintf(path, sizeof path, "%s/f0", dir);
    KT_SYS_OK(unlink(path));
    int fd = KT_SYS_OK(open(path, O_CREAT | O_WRONLY, 0644));
    static char buf[64 * 1024];
    memset(buf, 7, sizeof buf);
    long total = 0, w;
    while ((w = write(fd, buf, sizeof buf)) > 0) total += w;
    int werr = errno;
    close(fd);
    KT_EQ(w, -1);
    KT_EQ(werr, ENOSPC);
    KT_EQ(total, 1 << 20);
    KT_SYS_OK(umount(dir));
    KT_SYS_OK(rmdir(dir));
}

KT_MAIN()
