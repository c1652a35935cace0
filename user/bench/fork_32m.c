/* fork_32m: fork(2) of a process with 32 MiB of anonymous memory touched
 * (8192 resident pages), the child _exit(0)s at once, the parent waitpid(2)s. */
#include "bench.h"

#include <sys/mman.h>
#include <sys/wait.h>

#define SIZE (32u << 20)

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        pid_t p = fork();
        if (p < 0) bench_fail("fork_32m", "fork");
        if (p == 0) _exit(0);
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bench_fail("fork_32m", "waitpid");
    }
    return bench_now() - t0;
}

int main(void) {
    char *mem = mmap(0, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) bench_fail("fork_32m", "mmap");
    for (size_t off = 0; off < SIZE; off += 4096) mem[off] = (char)off;
    bench_run("fork_32m", body, 0, 1ULL << 16);
    return 0;
}
