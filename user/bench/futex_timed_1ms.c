/* futex_timed_1ms: one FUTEX_WAIT with a 1 ms timeout that expires
 * (ETIMEDOUT) per operation: the time per operation is 1 ms plus how late
 * the kernel ends a timed sleep shorter than its tick (CPython's GIL
 * hand-over waits 5 ms on a condition variable, asyncio's loop sleeps
 * until its next timer). */
#include "bench.h"

/* (musl has no linux/futex.h): FUTEX_WAIT with FUTEX_PRIVATE_FLAG */
#define FUTEX_WAIT_PRIVATE 128
#include <sys/syscall.h>

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    static int word;
    struct timespec ts = {0, 1000000L};
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        if (syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts, 0, 0) != -1 || errno != ETIMEDOUT) {
            printf("BENCHFAIL futex_timed_1ms: futex wait: %d\n", errno);
            exit(1);
        }
    }
    return bench_now() - t0;
}

int main(void) {
    bench_run("futex_timed_1ms", body, 0, 1ULL << 20);
    return 0;
}
