/* fork_procs/<N>: fork + child _exit(0) + waitpid while N other processes
 * (10 / 1,000 / 10,000, children of another process, blocked in pause())
 * are alive: what the process table's size costs fork, exit and wait. */
#include "scale.h"

static const char *NAME = "fork_procs";

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
    static const long counts[] = {10, 1000, 10000};
    for (int s = 0; s < 3; s++) {
        long n = counts[s];
        /* a helper process owns the sleepers: they are not our children */
        int go[2], done[2];
        if (pipe(go) != 0 || pipe(done) != 0) bench_fail(NAME, "pipe");
        pid_t helper = fork();
        if (helper < 0) bench_fail(NAME, "fork (helper)");
        if (helper == 0) {
            pid_t *pids = malloc((size_t)n * sizeof *pids);
            if (!pids) bench_fail(NAME, "malloc");
            pid_t pgid = scale_sleepers(NAME, n, pids);
            char c = 1;
            if (write(go[1], &c, 1) != 1) bench_fail(NAME, "write");
            if (read(done[0], &c, 1) != 1) bench_fail(NAME, "read");
            scale_reap_group(NAME, pgid, n, pids);
            _exit(0);
        }
        char c;
        if (read(go[0], &c, 1) != 1) bench_fail(NAME, "read (helper)");
        scale_run(NAME, n, body, 0, 1 << 20);
        if (write(done[1], &c, 1) != 1) bench_fail(NAME, "write (helper)");
        int st;
        if (waitpid(helper, &st, 0) != helper || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bench_fail(NAME, "waitpid (helper)");
        close(go[0]), close(go[1]), close(done[0]), close(done[1]);
    }
    return 0;
}
