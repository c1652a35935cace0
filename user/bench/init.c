/*
 * /init of the bench initramfs (pid 1).
 *
 * First reads CLOCK_BOOTTIME and prints it as `BENCH boot_to_init <ns>`:
 * on our kernel that clock counts from the kernel's first instruction (the
 * TSC read in the boot stub); on Linux it counts from early in
 * start_kernel (the zero of the printk clock), so it leaves out the
 * firmware, the boot loader and the decompression of the bzImage. It then
 * prints `BENCH boot_tsc_to_init <ns>`: the TSC at the same point divided
 * by the TSC rate measured here against CLOCK_MONOTONIC. Under QEMU TCG
 * the guest TSC starts at 0 when the machine starts, so this is the time
 * from the start of the virtual machine (firmware included) on both
 * kernels alike.
 *
 * Then mounts proc and tmpfs (errors ignored), runs every executable in
 * /bench in name order (fork, a process group of its own, execve) with a
 * timeout of 30 s each, kills the group when it runs out, and prints
 * `BENCHFAIL <name>: ...` when a program died by a signal, timed out or
 * exited non-zero. Finally `bench: done` and reboot(RB_POWER_OFF).
 */
#include "bench.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define MAX_PROGS 64
#define TIMEOUT_NS (30ULL * 1000000000ULL)

static inline uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void status_str(int st, char *buf, size_t len) {
    if (WIFEXITED(st))
        snprintf(buf, len, "exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(st), strsignal(WTERMSIG(st)),
                 WCOREDUMP(st) ? ", core dumped" : "");
    else
        snprintf(buf, len, "status %#x", st);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, 0);
}

static void run(const char *dir, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint64_t start = bench_now();
    pid_t pid = fork();
    if (pid < 0) {
        bench_printf("BENCHFAIL %s: (init) fork: %s\n", name, strerror(errno));
        return;
    }
    if (pid == 0) {
        setpgid(0, 0);
        char *argv[] = {path, 0};
        char *envp[] = {"PATH=/bin", "HOME=/", 0};
        execve(path, argv, envp);
        bench_printf("BENCHFAIL %s: (init) execve: %s\n", name, strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    int status = 0, timed_out = 0;
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p == pid) {
            status = st;
            break;
        }
        if (p > 0) continue; /* an orphan */
        if (!timed_out && bench_now() - start > TIMEOUT_NS) {
            timed_out = 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
        }
        sleep_ms(2);
    }
    kill(-pid, SIGKILL); /* whatever it left behind */
    char why[128];
    status_str(status, why, sizeof why);
    double secs = (double)(bench_now() - start) / 1e9;
    bench_printf("bench: %s %s (%.2f s)\n", name, why, secs);
    if (timed_out)
        bench_printf("BENCHFAIL %s: (init) timed out after %llu s\n", name, TIMEOUT_NS / 1000000000ULL);
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        bench_printf("BENCHFAIL %s: (init) %s\n", name, why);
}

int main(void) {
    struct timespec boot;
    clock_gettime(CLOCK_BOOTTIME, &boot);
    uint64_t tsc_at_init = rdtsc();

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
    bench_printf("BENCH boot_to_init %llu\n",
                 (unsigned long long)boot.tv_sec * 1000000000ULL + (unsigned long long)boot.tv_nsec);

    /* the TSC rate, against CLOCK_MONOTONIC over 100 ms */
    uint64_t t0 = bench_now(), c0 = rdtsc(), t1, c1;
    do {
        t1 = bench_now();
        c1 = rdtsc();
    } while (t1 - t0 < 100000000ULL);
    double hz = (double)(c1 - c0) * 1e9 / (double)(t1 - t0);
    bench_printf("bench: TSC %.0f MHz\n", hz / 1e6);
    bench_printf("BENCH boot_tsc_to_init %.0f\n", (double)tsc_at_init * 1e9 / hz);

    mkdir("/proc", 0555);
    mkdir("/tmp", 01777);
    mount("proc", "/proc", "proc", 0, 0);
    mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777");

    static char *names[MAX_PROGS];
    int n = 0;
    const char *dir = "/bench";
    DIR *d = opendir(dir);
    if (!d) {
        bench_printf("bench: opendir %s: %s\n", dir, strerror(errno));
    } else {
        struct dirent *e;
        while ((e = readdir(d)) && n < MAX_PROGS) {
            if (e->d_name[0] == '.') continue;
            char path[512];
            struct stat sb;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || !(sb.st_mode & 0111)) continue;
            names[n++] = strdup(e->d_name);
        }
        closedir(d);
    }
    qsort(names, (size_t)n, sizeof names[0], cmp);
    bench_printf("bench: %d programs in %s\n", n, dir);
    for (int i = 0; i < n; i++) run(dir, names[i]);
    while (waitpid(-1, 0, WNOHANG) > 0) {
    }
    bench_printf("bench: done\n");
    sync();
    reboot(RB_POWER_OFF);
    bench_printf("bench: reboot(RB_POWER_OFF): %s\n", strerror(errno));
    return 1;
}
