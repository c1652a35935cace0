/* CLOCK_MONOTONIC never goes back across CPUs (issue 19; an AP's TSC
 * is copied from the boot CPU's a moment late): two threads pinned to two
 * CPUs read the clock in turn, each comparing with the other's last
 * reading, handed over through an atomic.
 *
 * KT_SKIP on one CPU. Run on Linux with the same CPU count
 * (`cargo xtask test --linux --smp 2`). */
#include "kt.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static cpu_set_t initial;

__attribute__((constructor)) static void save_initial(void) {
    CPU_ZERO(&initial);
    sched_getaffinity(0, sizeof initial, &initial);
}

static void unpin(void) {
    sched_setaffinity(0, sizeof initial, &initial);
}

static int ncpus(void) {
    unpin();
    return CPU_COUNT(&initial);
}

static int pin(int cpu) {
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return sched_setaffinity(0, sizeof s, &s);
}

#define CLOCK_ROUNDS 500
static volatile long long baton_ns;
static volatile int turn, clock_timed_out, backwards;
static volatile long long back_by;

static long long mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Spins until it is `me`'s turn; -1 after 10 s. */
static int await_turn(int me) {
    long long start = mono_ns();
    for (unsigned long spins = 0; __atomic_load_n(&turn, __ATOMIC_ACQUIRE) != me; spins++) {
        if ((spins & 1023) == 0 && mono_ns() - start > 10000000000LL) return -1;
    }
    return 0;
}

/* Reads the clock, compares it with the other CPU's last reading, hands
 * the turn over. */
static void pass_clock(int me) {
    long long t = mono_ns();
    long long prev = __atomic_load_n(&baton_ns, __ATOMIC_ACQUIRE);
    if (t < prev) {
        backwards++;
        if (prev - t > back_by) back_by = prev - t;
    }
    __atomic_store_n(&baton_ns, t, __ATOMIC_RELEASE);
    __atomic_store_n(&turn, !me, __ATOMIC_RELEASE);
}

static void *clock_peer(void *arg) {
    (void)arg;
    if (pin(1) != 0) {
        clock_timed_out = 1;
        return 0;
    }
    for (int i = 0; i < CLOCK_ROUNDS; i++) {
        if (await_turn(1)) {
            clock_timed_out = 1;
            return 0;
        }
        pass_clock(1);
    }
    return 0;
}

KT_CASE(monotonic_clock_never_goes_back_across_cpus) {
    if (ncpus() < 2) KT_SKIP("needs 2 CPUs");
    baton_ns = 0;
    turn = 0;
    clock_timed_out = backwards = 0;
    back_by = 0;
    KT_SYS_OK(pin(0));
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, clock_peer, 0), 0);
    int i;
    for (i = 0; i < CLOCK_ROUNDS && !clock_timed_out; i++) {
        if (await_turn(0)) {
            clock_timed_out = 1;
            break;
        }
        pass_clock(0);
    }
    KT_EQ(pthread_join(th, 0), 0);
    unpin();
    KT_EQ(clock_timed_out, 0);
    KT_EQ(i, CLOCK_ROUNDS);
    KT_TRUE(backwards == 0, "%d readings went back (at most %lld ns)", backwards, back_by);
}

/* A sleep measured with CLOCK_MONOTONIC before and after is never shorter
 * than asked, whichever CPU the thread sleeps and wakes on (the kernel's
 * deadlines are on the clock users read, not a CPU's own TSC): short
 * nanosleeps, clock_nanosleep and poll timeouts on alternating CPUs. */
#define SLEEP_ROUNDS 150

static int short_sleeps_never_end_early(int how) {
    int early = 0;
    long long worst = 0;
    for (int i = 0; i < SLEEP_ROUNDS; i++) {
        if (pin(i % 2) != 0) return -1;
        long long d = 200000 + (i % 7) * 150000; /* 0.2 to 1.1 ms */
        struct timespec req = {0, d};
        long long t0 = mono_ns();
        if (how == 0) {
            if (nanosleep(&req, 0) != 0) return -1;
        } else if (how == 1) {
            if (clock_nanosleep(CLOCK_MONOTONIC, 0, &req, 0) != 0) return -1;
        } else {
            d = 1000000 * (1 + i % 2);
            if (poll(0, 0, (int)(d / 1000000)) != 0) return -1;
        }
        long long got = mono_ns() - t0;
        if (got < d) {
            early++;
            if (d - got > worst) worst = d - got;
        }
    }
    unpin();
    if (early) printf("  %d of %d sleeps (how %d) ended early, by up to %lld ns\n", early, SLEEP_ROUNDS, how, worst);
    return early;
}

KT_CASE(sleeps_across_cpus_never_end_early) {
    if (ncpus() < 2) KT_SKIP("needs 2 CPUs");
    KT_EQ(short_sleeps_never_end_early(0), 0);
    KT_EQ(short_sleeps_never_end_early(1), 0);
    KT_EQ(short_sleeps_never_end_early(2), 0);
}

KT_MAIN()
