/* getppid: the null system call, one getppid(2) per operation. */
#include "bench.h"

#include <sys/syscall.h>

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) syscall(SYS_getppid);
    return bench_now() - t0;
}

int main(void) {
    bench_run("getppid", body, 0, 1ULL << 30);
    return 0;
}
