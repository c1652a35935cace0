/*
 * pid1.h: what the two test-image /init programs share (user/init.c runs
 * the conformance suite, user/bench/init.c the benchmarks): taking the
 * console, mounting /proc and /tmp, listing a directory's programs, and
 * running one program in a process group of its own with a timeout while
 * reaping orphans. Nothing here prints: each caller reports in its own
 * format (kt.h's FAIL lines, bench.h's BENCHFAIL lines).
 */
#ifndef PID1_H
#define PID1_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline double pid1_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* fds 0-2 on /dev/console when the kernel opened none, then a new session */
static inline void pid1_console(void) {
    if (fcntl(1, F_GETFD) == -1) {
        int fd = open("/dev/console", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            if (fd > 2) close(fd);
        }
    }
    setsid();
}

static int pid1_cmp(const void *a, const void *b);

/* Under --linux (and the bench's Linux boots) xtask puts Debian's virtio_blk,
 * ext4 and their dependencies in /lib/kt-modules as NN-name.ko: loads them
 * in name order with finit_module(2) (a module already loaded, EEXIST, is
 * fine), then makes /dev/vda from its numbers in /proc/partitions. Our
 * kernel's images have no such directory: nothing happens. Failures are
 * reported on stderr; the tests that need the disk then fail or skip. */
static inline void pid1_modules(void) {
    DIR *d = opendir("/lib/kt-modules");
    if (!d) return;
    char *names[32];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 32)
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], pid1_cmp);
    for (int i = 0; i < n; i++) {
        char path[300];
        snprintf(path, sizeof path, "/lib/kt-modules/%s", names[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST))
            fprintf(stderr, "init: loading %s: errno %d\n", path, errno);
        if (fd >= 0) close(fd);
        free(names[i]);
    }
    /* the disk is probed while virtio_blk loads; allow a second for it */
    for (int tries = 0; tries < 100; tries++) {
        FILE *f = fopen("/proc/partitions", "r");
        char line[200];
        unsigned maj, min;
        unsigned long long blocks;
        char name[64];
        int found = 0;
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "%u %u %llu %63s", &maj, &min, &blocks, name) == 4 && strcmp(name, "vda") == 0) {
                found = 1;
                break;
            }
        if (f) fclose(f);
        if (found) {
            mkdir("/dev", 0755);
            if (mknod("/dev/vda", S_IFBLK | 0660, makedev(maj, min)) != 0 && errno != EEXIST)
                fprintf(stderr, "init: mknod /dev/vda: errno %d\n", errno);
            return;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, 0);
    }
}

/* proc on /proc and tmpfs on /tmp (errors ignored: the tests see them);
 * under Linux, the disk's modules (pid1_modules) */
static inline void pid1_mounts(void) {
    mkdir("/proc", 0555);
    mkdir("/tmp", 01777);
    mount("proc", "/proc", "proc", 0, 0);
    mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777");
    /* POSIX shared memory (shm_open) lives in /dev/shm */
    mkdir("/dev", 0755);
    mkdir("/dev/shm", 01777);
    mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777");
    /* pseudo-terminals: /dev/ptmx and devpts on /dev/pts (our kernel
     * mounts it at boot; Linux's initramfs has none) */
    mknod("/dev/ptmx", S_IFCHR | 0666, makedev(5, 2));
    mkdir("/dev/pts", 0755);
    struct statfs pts;
    if (statfs("/dev/pts", &pts) != 0 || pts.f_type != 0x1cd1)
        mount("devpts", "/dev/pts", "devpts", 0, "gid=5,mode=620,ptmxmode=666");
    pid1_modules();
}

static int pid1_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The executable regular files of `dir` (no dot files), in name order, at
 * most `max`; returns how many, or -1 with errno when `dir` cannot be read. */
static inline int pid1_list(const char *dir, char **names, int max) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        if (e->d_name[0] == '.') continue;
        char path[512];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || !(sb.st_mode & 0111)) continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], pid1_cmp);
    return n;
}

/* How one program ended. */
struct pid1_result {
    int status;    /* its wait status */
    int timed_out; /* killed (with its group) after the timeout */
    double secs;   /* from fork to its end */
};

/* Runs `path` (argv = {path}) with `envp` in a process group of its own
 * with every signal unblocked; waits for it, reaping every other zombie
 * (counted in *orphans when non-null); after `timeout_s` kills its group
 * with SIGKILL; at the end kills whatever the group left behind. Returns
 * 0, or -1 with errno when fork fails. A failing execve ends the child
 * with 127 after `on_exec_error(path, errno)`. */
static inline int pid1_run(const char *path, char *const envp[], double timeout_s, int *orphans,
                           void (*on_exec_error)(const char *path, int err), struct pid1_result *r) {
    double start = pid1_now();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, 0);
        char *argv[] = {(char *)path, 0};
        execve(path, argv, envp);
        if (on_exec_error) on_exec_error(path, errno);
        _exit(127);
    }
    setpgid(pid, pid);
    r->status = 0;
    r->timed_out = 0;
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG | __WALL);
        if (p == pid) {
            r->status = st;
            break;
        }
        if (p > 0) {
            if (orphans) (*orphans)++;
            continue;
        }
        if (!r->timed_out && pid1_now() - start > timeout_s) {
            r->timed_out = 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
        }
        struct timespec ts = {0, (r->timed_out ? 10 : 2) * 1000000L};
        nanosleep(&ts, 0);
    }
    kill(-pid, SIGKILL);
    r->secs = pid1_now() - start;
    return 0;
}

/* Reaps every zombie left, without blocking; returns how many. */
static inline int pid1_reap_all(void) {
    int n = 0;
    while (waitpid(-1, 0, WNOHANG | __WALL) > 0) n++;
    return n;
}

#endif
