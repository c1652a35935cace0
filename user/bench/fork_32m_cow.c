/* fork_32m_cow: as fork_32m, but the child writes one byte to each of the
 * 8192 pages before it exits: every page is copied (copy on write). The
 * parent never writes after the first fork. */
#include "bench.h"

#include <sys/mman.h>
#include <sys/wait.h>

#define SIZE (32u << 20)

static char *mem;

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        pid_t p = fork();
        if (p < 0) bench_fail("fork_32m_cow", "fork");
        if (p == 0) {
            for (size_t off = 0; off < SIZE; off += 4096) ((volatile char *)mem)[off] = 2;
            _exit(0);
        }
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bench_fail("fork_32m_cow", "waitpid");
    }
    return bench_now() - t0;
}

int main(void) {
    mem = mmap(0, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) bench_fail("fork_32m_cow", "mmap");
    for (size_t off = 0; off < SIZE; off += 4096) mem[off] = (char)off;
    bench_run("fork_32m_cow", body, 0, 1ULL << 16);
    return 0;
}
