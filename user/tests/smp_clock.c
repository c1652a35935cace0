/* CLOCK_MONOTONIC never goes back across CPUs (issue 19; an AP's TSC
 * is copied from the boot CPU's a moment late): two threads pinned to two
 * CPUs read the clock in turn, each comparing with the other's last
 * reading, handed over through an atomic.
 *
 * KT_SKIP on one CPU. Run on Linux with the same CPU count
 * (`cargo xtask test --linux --smp 2`). */
#include "kt.h"

#include <pthread.h>

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

KT_MAIN()
