/*
 * scale.h: the harness of the scaling benchmarks (user/bench/scale/,
 * `cargo xtask bench --scale`). Each program measures one operation at
 * three sizes and prints, per size,
 *
 *     BENCH <name>/<size> <ns per operation>
 *
 * with bench.h's method (batches grown until one takes SCALE_TARGET_NS,
 * then up to two more of that size, the fastest reported), on a shorter
 * target (50 ms) since each program runs three sizes. xtask fits
 * log(time) = k log(size) + c over the three sizes (docs/bench.md).
 */
#ifndef SCALE_H
#define SCALE_H

#include "bench.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define SCALE_TARGET_NS 50000000ULL

static inline double scale_run(const char *name, long size, bench_body body, void *arg, uint64_t max_iters) {
    uint64_t v0[3], t0 = bench_now();
    bench_cpustat(v0);
    double per = bench_measure(body, arg, max_iters, SCALE_TARGET_NS);
    bench_printf("BENCH %s/%ld %.1f\n", name, size, per);
    /* where the measurement's wall time went (user, system, idle) */
    char row[96];
    snprintf(row, sizeof row, "%s/%ld", name, size);
    bench_cpustat_note(row, t0, v0);
    return per;
}

/* Prints `bench: <name>/<size>: <what>` (setup notes, not rows). */
#define scale_note(...) bench_printf(__VA_ARGS__)

/* RLIMIT_NOFILE raised to `n` (soft and hard; pid 1's children are root). */
static inline void scale_nofile(const char *name, rlim_t n) {
    struct rlimit r = {n, n};
    if (setrlimit(RLIMIT_NOFILE, &r) != 0) bench_fail(name, "setrlimit(RLIMIT_NOFILE)");
}

/*
 * Forks `n` processes that block every signal but SIGKILL and wait in
 * pause(), all in one new process group whose id is returned (the first
 * child leads it). `pids` (n entries) receives their pids. The caller ends
 * them with scale_reap_group().
 */
static inline pid_t scale_sleepers(const char *name, long n, pid_t *pids) {
    pid_t pgid = 0;
    /* the children start with every signal blocked (no window before their
     * own sigprocmask) */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    /* the setup's cost in tenths (a note in the log, for n >= 1,000): does
     * a fork grow with the processes already alive? */
    uint64_t t0 = bench_now(), tenth = bench_now();
    for (long i = 0; i < n; i++) {
        if (n >= 1000 && i > 0 && i % (n / 10) == 0) {
            uint64_t t = bench_now();
            scale_note("bench: %s/%ld: forks %ld-%ld: %.1f us each\n", name, n, i - n / 10, i,
                       (double)(t - tenth) / 1e3 / (double)(n / 10));
            tenth = t;
        }
        pid_t p = fork();
        if (p < 0) bench_fail(name, "fork (sleepers)");
        if (p == 0)
            for (;;) pause();
        if (setpgid(p, pgid) != 0) bench_fail(name, "setpgid");
        if (pgid == 0) pgid = p;
        pids[i] = p;
    }
    sigprocmask(SIG_SETMASK, &old, 0);
    if (n >= 1000) {
        uint64_t t = bench_now();
        scale_note("bench: %s/%ld: forks %ld-%ld: %.1f us each; setup %.1f ms\n", name, n, n - n / 10, n,
                   (double)(t - tenth) / 1e3 / (double)(n / 10), (double)(t - t0) / 1e6);
    }
    return pgid;
}

/* SIGKILL to the group, then every pid reaped. */
static inline void scale_reap_group(const char *name, pid_t pgid, long n, const pid_t *pids) {
    if (n == 0) return;
    uint64_t t0 = bench_now();
    if (kill(-pgid, SIGKILL) != 0) bench_fail(name, "kill(SIGKILL)");
    uint64_t t1 = bench_now(), fifth = t1;
    for (long i = 0; i < n; i++) {
        if (n >= 1000 && i > 0 && i % (n / 5) == 0) {
            uint64_t t = bench_now();
            scale_note("bench: %s/%ld: waitpid %ld-%ld: %.1f us each\n", name, n, i - n / 5, i,
                       (double)(t - fifth) / 1e3 / (double)(n / 5));
            fifth = t;
        }
        if (waitpid(pids[i], 0, 0) != pids[i]) bench_fail(name, "waitpid (sleepers)");
    }
    if (n >= 1000) {
        uint64_t t = bench_now();
        scale_note("bench: %s/%ld: waitpid %ld-%ld: %.1f us each; kill(-pgid, SIGKILL) %.2f ms, reaped in %.1f ms\n",
                   name, n, n - n / 5, n, (double)(t - fifth) / 1e3 / (double)(n / 5), (double)(t1 - t0) / 1e6,
                   (double)(t - t1) / 1e6);
    }
}

#endif
