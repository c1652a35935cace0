/* mmap_munmap_1m: mmap(2) of 1 MiB of anonymous private memory, never
 * touched, then munmap(2). */
#include "bench.h"

#include <sys/mman.h>

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        void *p = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) bench_fail("mmap_munmap_1m", "mmap");
        if (munmap(p, 1 << 20)) bench_fail("mmap_munmap_1m", "munmap");
    }
    return bench_now() - t0;
}

int main(void) {
    bench_run("mmap_munmap_1m", body, 0, 1ULL << 24);
    return 0;
}
