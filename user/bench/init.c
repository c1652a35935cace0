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
 * exited non-zero (pid1.h holds what this shares with the suite's /init).
 * Finally `bench: done` and reboot(RB_POWER_OFF).
 */
#include "bench.h"
#include "pid1.h"

#include <sys/reboot.h>

#define MAX_PROGS 64
/* per program; the scale boot builds it with -DTIMEOUT_S=600 */
#ifndef TIMEOUT_S
#define TIMEOUT_S 30
#endif

static inline uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
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

static const char *current; /* the program being started (for exec_error) */

static void exec_error(const char *path, int err) {
    (void)path;
    bench_printf("BENCHFAIL %s: (init) execve: %s\n", current, strerror(err));
}

static void run(const char *dir, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *envp[] = {"PATH=/bin", "HOME=/", 0};
    struct pid1_result r;
    current = name;
    if (pid1_run(path, envp, TIMEOUT_S, 0, exec_error, &r) != 0) {
        bench_printf("BENCHFAIL %s: (init) fork: %s\n", name, strerror(errno));
        return;
    }
    char why[128];
    status_str(r.status, why, sizeof why);
    bench_printf("bench: %s %s (%.2f s)\n", name, why, r.secs);
    if (r.timed_out)
        bench_printf("BENCHFAIL %s: (init) timed out after %d s\n", name, TIMEOUT_S);
    else if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
        bench_printf("BENCHFAIL %s: (init) %s\n", name, why);
}

int main(void) {
    struct timespec boot;
    clock_gettime(CLOCK_BOOTTIME, &boot);
    uint64_t tsc_at_init = rdtsc();

    pid1_console();
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

    pid1_mounts();

    static char *names[MAX_PROGS];
    const char *dir = "/bench";
    int n = pid1_list(dir, names, MAX_PROGS);
    if (n < 0) {
        bench_printf("bench: opendir %s: %s\n", dir, strerror(errno));
        n = 0;
    }
    bench_printf("bench: %d programs in %s\n", n, dir);
    for (int i = 0; i < n; i++) run(dir, names[i]);
    pid1_reap_all();
    bench_printf("bench: done\n");
    sync();
    reboot(RB_POWER_OFF);
    bench_printf("bench: reboot(RB_POWER_OFF): %s\n", strerror(errno));
    return 1;
}
