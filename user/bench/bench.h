/*
 * bench.h: the harness of the user/bench micro-benchmarks (static, musl).
 *
 * A benchmark program times one operation with CLOCK_MONOTONIC and prints
 *
 *     BENCH <name> <ns_per_op>
 *
 * (one write(2), so a forked child's output never interleaves with it).
 * bench_run() calls the body with a growing iteration count (doubling,
 * or scaled up from the last batch's time) until one batch takes at least
 * BENCH_TARGET_NS (the smaller batches are the warm-up), then runs
 * up to BENCH_BATCHES - 1 more batches of that size (while the batches of
 * that size add up to less than BENCH_BATCHES targets) and reports the
 * fastest: under QEMU TCG on a shared host, interference only ever adds
 * time. Each benchmark so runs about a second whatever the kernel's speed.
 * On an error the program prints `BENCHFAIL <name>: <what>: <errno>` and
 * exits 1.
 */
#ifndef BENCH_H
#define BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* one batch must take at least this long (0.2 s) */
#define BENCH_TARGET_NS 200000000ULL
/* batches of the final size; the fastest is reported */
#define BENCH_BATCHES 3

static inline uint64_t bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline void bench_printf(const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof buf - 1) n = (int)sizeof buf - 1;
    ssize_t off = 0;
    while (off < n) {
        ssize_t w = write(1, buf + off, (size_t)(n - off));
        if (w <= 0) return;
        off += w;
    }
}

/* Reports an error and ends the program (in a forked child: _exit). */
static inline void bench_fail(const char *name, const char *what) {
    bench_printf("BENCHFAIL %s: %s: %s (errno %d)\n", name, what, strerror(errno), errno);
    _exit(1);
}

/*
 * Runs body(iters, arg) -> elapsed ns of those iters, growing iters until one
 * batch takes BENCH_TARGET_NS or iters reaches max_iters, then BENCH_BATCHES - 1
 * more batches of that size; prints and returns the best ns per operation.
 */
typedef uint64_t (*bench_body)(uint64_t iters, void *arg);

/* One batch of body(iters) between two window markers: `nopl` with a
 * magic displacement, a no-op (one instruction each) that the TCG plugin of
 * `cargo xtask tcgstat` (xtask/plugins/tcgstat.c) counts between. */
static inline uint64_t bench_batch(bench_body body, void *arg, uint64_t iters) {
    __asm__ volatile("nopl 0x7c9a5701(%%rax)" ::: "memory");
    uint64_t ns = body(iters, arg);
    __asm__ volatile("nopl 0x7c9a5702(%%rax)" ::: "memory");
    return ns;
}

/* The method above on a batch target of `target_ns`: the best ns per
 * operation (bench_run prints it as a row; scale.h uses a shorter target). */
static inline double bench_measure(bench_body body, void *arg, uint64_t max_iters, uint64_t target_ns) {
    uint64_t iters = 1, ns = 0;
    for (;;) {
        ns = bench_batch(body, arg, iters);
        if (ns >= target_ns || iters >= max_iters) break;
        /* aim at 1.2x the target from this batch's rate, at most 100x more */
        uint64_t next = iters * 2;
        if (ns > 0) {
            double want = (double)iters * 1.2 * (double)target_ns / (double)ns;
            if (want > (double)iters * 100) want = (double)iters * 100;
            if (want > (double)next) next = (uint64_t)want;
        } else {
            next = iters * 100;
        }
        iters = next < max_iters ? next : max_iters;
    }
    /* more batches while they add up to less than BENCH_BATCHES targets:
     * an operation slower than the target is not repeated three times */
    uint64_t total = ns;
    for (int b = 1; b < BENCH_BATCHES && total < BENCH_BATCHES * target_ns; b++) {
        uint64_t again = bench_batch(body, arg, iters);
        total += again;
        if (again < ns) ns = again;
    }
    return (double)ns / (double)iters;
}

/* CPU time (user + system, ns) of the waited-for descendants so far: a
 * batch's difference over its wall time is how many CPUs it kept busy
 * (the SMP rows print it as a `bench:` note, which the table ignores). */
#include <sys/resource.h>
#include <sys/wait.h>
static inline uint64_t bench_children_cpu_ns(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) != 0) return 0;
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ULL +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ULL;
}

/* Waits for child `p` and fails the benchmark unless it exited 0. */
static inline void bench_must_exit_0(const char *name, pid_t p) {
    int st;
    if (waitpid(p, &st, 0) != p) bench_fail(name, "waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        errno = 0;
        bench_fail(name, "child did not exit 0");
    }
}

/* The body of the 2-CPU rows: two children each run `work(iters)`; the
 * wall time per unit of both (half the batch's), and in *busy the CPUs
 * they kept busy (their CPU time over the wall time). */
static inline uint64_t bench_two_children(const char *name, void (*work)(uint64_t), uint64_t iters, double *busy) {
    pid_t kids[2];
    uint64_t c0 = bench_children_cpu_ns();
    uint64_t t0 = bench_now();
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] < 0) bench_fail(name, "fork");
        if (kids[k] == 0) {
            work(iters);
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) bench_must_exit_0(name, kids[k]);
    uint64_t wall = bench_now() - t0;
    *busy = wall ? (double)(bench_children_cpu_ns() - c0) / (double)wall : 0;
    return wall / 2;
}

/*
 * The system's CPU time so far from /proc/stat's first line (every CPU),
 * in ms: v[0] user (+ nice), v[1] system (+ irq, softirq), v[2] idle (+
 * iowait). Zeros without /proc. With bench_now() around a stretch, it
 * tells where the stretch's wall time went: an idle share on one CPU is
 * time neither the kernel nor a program ran (a sleep that lasts longer
 * than what it waits for), which `--icount` does not show (it skips idle
 * time to the next timer).
 */
static inline void bench_cpustat(uint64_t v[3]) {
    char buf[256];
    v[0] = v[1] = v[2] = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return;
    unsigned long long x[8] = {0};
    if (fgets(buf, sizeof buf, f))
        sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &x[0], &x[1], &x[2], &x[3], &x[4], &x[5],
               &x[6], &x[7]);
    fclose(f);
    /* USER_HZ is 100 on both kernels */
    v[0] = (x[0] + x[1]) * 10;
    v[1] = (x[2] + x[5] + x[6]) * 10;
    v[2] = (x[3] + x[4]) * 10;
}

/* Prints `bench: cpu <name> wall <ms> user <ms> sys <ms> idle <ms>` for
 * the stretch since `t0` (bench_now()) and `v0` (bench_cpustat()): a note
 * line, which xtask's table ignores. */
static inline void bench_cpustat_note(const char *name, uint64_t t0, const uint64_t v0[3]) {
    uint64_t v[3];
    bench_cpustat(v);
    bench_printf("bench: cpu %s wall %llu user %llu sys %llu idle %llu ms\n", name,
                 (unsigned long long)((bench_now() - t0) / 1000000), (unsigned long long)(v[0] - v0[0]),
                 (unsigned long long)(v[1] - v0[1]), (unsigned long long)(v[2] - v0[2]));
}

static inline double bench_run(const char *name, bench_body body, void *arg, uint64_t max_iters) {
    double per = bench_measure(body, arg, max_iters, BENCH_TARGET_NS);
    bench_printf("BENCH %s %.1f\n", name, per);
    return per;
}

#endif
