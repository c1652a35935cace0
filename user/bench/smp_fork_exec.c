/* smp_fork_exec: a `make -j2`-like churn (issue 19's SMP rows). A batch
 * forks two chains; each forks a child that execve(2)s /bin/tiny and
 * waits for it, `iters` times. The row is the batch's time per
 * fork+exec+wait of the two chains (ns); with two CPUs the chains can
 * run side by side. */
#include "bench.h"

#include <sys/wait.h>

#define NAME "smp_fork_exec"

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
        bench_must_exit_0(NAME, p);
    }
}

/* the last batch's CPUs kept busy (children's CPU time / wall time) */
static double busy;

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    /* per fork+exec+wait of both chains */
    return bench_two_children(NAME, chain, iters, &busy);
}

int main(void) {
    bench_run(NAME, body, 0, 1ULL << 20);
    bench_printf("bench: %s kept %.2f CPUs busy (%ld online)\n", NAME, busy, sysconf(_SC_NPROCESSORS_ONLN));
    return 0;
}
