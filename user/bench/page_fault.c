/* page_fault: the first write to a fresh anonymous private page (the fault,
 * a zeroed frame, the mapping); per page. The pages come in mappings of
 * 4 MiB; only the touching loop is timed, not mmap and munmap. */
#include "bench.h"

#include <sys/mman.h>

#define CHUNK_PAGES 1024

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t ns = 0;
    for (uint64_t done = 0; done < iters;) {
        uint64_t n = iters - done < CHUNK_PAGES ? iters - done : CHUNK_PAGES;
        size_t len = (size_t)n * 4096;
        char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) bench_fail("page_fault", "mmap");
        uint64_t t0 = bench_now();
        for (size_t off = 0; off < len; off += 4096) ((volatile char *)p)[off] = 1;
        ns += bench_now() - t0;
        munmap(p, len);
        done += n;
    }
    return ns;
}

int main(void) {
    bench_run("page_fault", body, 0, 1ULL << 22);
    return 0;
}
