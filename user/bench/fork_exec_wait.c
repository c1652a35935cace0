/* fork_exec_wait: fork(2), the child execve(2)s /bin/tiny (a static
 * program that returns 0 from main), the parent waitpid(2)s. */
#include "bench.h"

#include <sys/wait.h>

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    char *argv[] = {"/bin/tiny", 0};
    char *envp[] = {0};
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        pid_t p = fork();
        if (p < 0) bench_fail("fork_exec_wait", "fork");
        if (p == 0) {
            execve(argv[0], argv, envp);
            bench_fail("fork_exec_wait", "execve /bin/tiny");
        }
        int st;
        if (waitpid(p, &st, 0) != p) bench_fail("fork_exec_wait", "waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            errno = 0;
            bench_fail("fork_exec_wait", "child did not exit 0");
        }
    }
    return bench_now() - t0;
}

int main(void) {
    bench_run("fork_exec_wait", body, 0, 1ULL << 20);
    return 0;
}
