/* smp_fork_exec: a `make -j2`-like churn (issue 19's SMP rows). A batch
 * forks two chains; each forks a child that execve(2)s /bin/tiny and
 * waits for it, `iters` times. The row is the batch's time per
 * fork+exec+wait of the two chains (ns); with two CPUs the chains can
 * run side by side. */
#include "bench.h"

#include <sys/wait.h>

#define NAME "smp_fork_exec"

static void must_exit_0(pid_t p) {
    int st;
    if (waitpid(p, &st, 0) != p) bench_fail(NAME, "waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        errno = 0;
        bench_fail(NAME, "child did not exit 0");
    }
}

static void chain(uint64_t iters) {
    char *argv[] = {"/bin/tiny", 0};
    char *envp[] = {0};
    for (uint64_t i = 0; i < iters; i++) {
        pid_t p = fork();
        if (p < 0) bench_fail(NAME, "fork");
        if (p == 0) {
            execve(argv[0], argv, envp);
            bench_fail(NAME, "execve /bin/tiny");
        }
        must_exit_0(p);
    }
}

/* the last batch's CPUs kept busy (children's CPU time / wall time) */
static double busy;

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    pid_t kids[2];
    uint64_t c0 = bench_children_cpu_ns();
    uint64_t t0 = bench_now();
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] < 0) bench_fail(NAME, "fork");
        if (kids[k] == 0) {
            chain(iters);
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) must_exit_0(kids[k]);
    uint64_t wall = bench_now() - t0;
    busy = wall ? (double)(bench_children_cpu_ns() - c0) / (double)wall : 0;
    /* per fork+exec+wait of both chains */
    return wall / 2;
}

int main(void) {
    bench_run(NAME, body, 0, 1ULL << 20);
    bench_printf("bench: %s kept %.2f CPUs busy (%ld online)\n", NAME, busy, sysconf(_SC_NPROCESSORS_ONLN));
    return 0;
}
