/* What preempt.c and preempt_points.c share: CPU 0 pinning, the clock,
 * a shared page, and the pinned spinner that measures its largest gap
 * while another pinned process works (run_measured). */
#ifndef PREEMPT_H
#define PREEMPT_H
#include "kt.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline long setsched(pid_t pid, int policy, int prio) {
    struct sched_param p = {.sched_priority = prio};
    return syscall(SYS_sched_setscheduler, pid, policy, &p);
}

static inline int pin_cpu0(void) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    return sched_setaffinity(0, sizeof one, &one);
}

static inline long long mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct shared {
    volatile int armed;
    volatile int n;
    volatile char log[16];
    volatile int started, done;
    volatile long long max_gap_ns, work_ns, result;
    volatile long long mark_ns; /* set by a worker's child */
};

static inline struct shared *shared_page(void) {
    struct shared *sh = mmap(0, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) return 0;
    memset((void *)sh, 0, sizeof *sh);
    return sh;
}

static inline void note(struct shared *sh, char c) {
    int i = __atomic_fetch_add(&sh->n, 1, __ATOMIC_SEQ_CST);
    if (i < (int)sizeof sh->log - 1) sh->log[i] = c;
}

/* Waits (up to 10 s) until `want` children have set their policy. */
static inline int wait_armed(struct shared *sh, int want) {
    for (int k = 0; k < 2000 && __atomic_load_n(&sh->armed, __ATOMIC_SEQ_CST) < want; k++) kt_msleep(5);
    return sh->armed == want;
}

/* A SCHED_OTHER process pinned to CPU 0 reads CLOCK_MONOTONIC in a loop
 * while `work` runs in another SCHED_OTHER process pinned there too; the
 * largest gap between two of its readings, both taken while the window
 * is open (from the moment the work starts, or the worker opens it
 * after its set-up, until it ends), is how long the work kept it off the
 * CPU. */
static inline void run_measured(struct shared *sh, long long (*work)(struct shared *), pid_t *spin, pid_t *worker) {
    *spin = fork();
    if (*spin == 0) {
        if (pin_cpu0() != 0) _exit(1);
        __atomic_fetch_add(&sh->armed, 1, __ATOMIC_SEQ_CST);
        long long prev = mono_ns(), max = 0;
        int in = 0; /* the previous reading was inside the window */
        while (!sh->done) {
            int started = sh->started;
            long long now = mono_ns();
            /* only gaps wholly inside the window (a worker opens it after
             * its set-up, during which the spinner may also have waited) */
            if (started && in && now - prev > max) max = now - prev;
            prev = now;
            in = started;
        }
        sh->max_gap_ns = max;
        _exit(0);
    }
    while (*spin > 0 && __atomic_load_n(&sh->armed, __ATOMIC_SEQ_CST) < 1) kt_msleep(1);
    *worker = fork();
    if (*worker == 0) {
        if (pin_cpu0() != 0) _exit(1);
        kt_msleep(20); /* the spinner runs */
        sh->started = 1;
        long long t0 = mono_ns();
        sh->result = work(sh);
        sh->work_ns = mono_ns() - t0;
        sh->done = 1;
        _exit(0);
    }
}

#endif
