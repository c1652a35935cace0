/* wait_children/<N>: with N - 1 children blocked in pause(), fork one more
 * that _exit(0)s and reap it with waitpid(-1): N = 1 / 100 / 1,000 children. */
#include "scale.h"

static const char *NAME = "wait_children";

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        pid_t p = fork();
        if (p < 0) bench_fail(NAME, "fork");
        if (p == 0) _exit(0);
        int st;
        if (waitpid(-1, &st, 0) != p || !WIFEXITED(st)) bench_fail(NAME, "waitpid");
    }
    return bench_now() - t0;
}

int main(void) {
    static const long counts[] = {1, 100, 1000};
    static pid_t pids[1000];
    for (int s = 0; s < 3; s++) {
        long n = counts[s] - 1;
        pid_t pgid = scale_sleepers(NAME, n, pids);
        scale_run(NAME, counts[s], body, 0, 1 << 20);
        scale_reap_group(NAME, pgid, n, pids);
    }
    return 0;
}
