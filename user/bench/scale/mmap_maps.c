/* mmap_maps/<N>: mmap of one anonymous page (no hint) + munmap in an
 * address space holding N = 10 / 1,000 / 30,000 extra mappings (single
 * pages with alternating protections, so none merge). */
#include "scale.h"

#include <sys/mman.h>

static const char *NAME = "mmap_maps";

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        void *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) bench_fail(NAME, "mmap");
        if (munmap(p, 4096) != 0) bench_fail(NAME, "munmap");
    }
    return bench_now() - t0;
}

int main(void) {
    static const long counts[] = {10, 1000, 30000};
    long made = 0;
    /* one reserved area, its pages' protections alternated */
    char *area = mmap(0, (size_t)30000 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) bench_fail(NAME, "mmap (area)");
    for (int s = 0; s < 3; s++) {
        for (; made < counts[s]; made += 2)
            if (mprotect(area + made * 4096, 4096, PROT_READ | PROT_WRITE) != 0) bench_fail(NAME, "mprotect");
        scale_run(NAME, counts[s], body, 0, 1 << 24);
    }
    return 0;
}
