/* fork_touched/<MiB>: fork + child _exit(0) + waitpid by a process with
 * 1 / 32 / 512 MiB of anonymous memory touched (one write per page). */
#include "scale.h"

#include <sys/mman.h>

static const char *NAME = "fork_touched";

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        pid_t p = fork();
        if (p < 0) bench_fail(NAME, "fork");
        if (p == 0) _exit(0);
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st)) bench_fail(NAME, "waitpid");
    }
    return bench_now() - t0;
}

int main(void) {
    static const long mib[] = {1, 32, 512};
    for (int s = 0; s < 3; s++) {
        size_t size = (size_t)mib[s] << 20;
        char *mem = mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) bench_fail(NAME, "mmap");
        for (size_t off = 0; off < size; off += 4096) mem[off] = 1;
        scale_run(NAME, mib[s], body, 0, 1 << 20);
        munmap(mem, size);
    }
    return 0;
}
