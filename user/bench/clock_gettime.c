/* clock_gettime: one clock_gettime(CLOCK_MONOTONIC) per operation through
 * the C library (musl calls the vDSO's __vdso_clock_gettime when the kernel
 * maps one, else makes the system call). */
#include "bench.h"

#include <time.h>

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    struct timespec ts;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) clock_gettime(CLOCK_MONOTONIC, &ts);
    return bench_now() - t0;
}

int main(void) {
    bench_run("clock_gettime", body, 0, 1ULL << 30);
    return 0;
}
