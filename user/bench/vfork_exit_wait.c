/* vfork_exit_wait: vfork(2), the child _exit(0)s, the parent waitpid(2)s. */
#include "bench.h"

#include <sys/wait.h>

/* vfork in a function of its own: nothing of the caller's frame is live in
 * registers across it, so there is no clobbering to worry about. */
static __attribute__((noinline)) pid_t spawn(void) {
    pid_t p = vfork();
    if (p == 0) _exit(0);
    return p;
}

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        pid_t p = spawn();
        if (p < 0) bench_fail("vfork_exit_wait", "vfork");
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bench_fail("vfork_exit_wait", "waitpid");
    }
    return bench_now() - t0;
}

int main(void) {
    bench_run("vfork_exit_wait", body, 0, 1ULL << 20);
    return 0;
}
