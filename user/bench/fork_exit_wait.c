/* fork_exit_wait: fork(2), the child _exit(0)s, the parent waitpid(2)s. */
#include "bench.h"

#include <sys/wait.h>

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        pid_t p = fork();
        if (p < 0) bench_fail("fork_exit_wait", "fork");
        if (p == 0) _exit(0);
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bench_fail("fork_exit_wait", "waitpid");
    }
    return bench_now() - t0;
}

int main(void) {
    bench_run("fork_exit_wait", body, 0, 1ULL << 20);
    return 0;
}
