/* exec_size/<MB>: fork, the child execve()s /bin/pad<MB> (a static program
 * with MB MB of initialised data, user/bench/scale/pad.c, which returns at
 * once), waitpid: MB = 1 / 10 / 50. */
#include "scale.h"

static const char *NAME = "exec_size";
static char path[64];

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        pid_t p = fork();
        if (p < 0) bench_fail(NAME, "fork");
        if (p == 0) {
            char *argv[] = {path, 0}, *envp[] = {0};
            execve(path, argv, envp);
            bench_fail(NAME, "execve");
        }
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) bench_fail(NAME, "waitpid");
    }
    return bench_now() - t0;
}

int main(void) {
    static const long mb[] = {1, 10, 50};
    for (int s = 0; s < 3; s++) {
        snprintf(path, sizeof path, "/bin/pad%ld", mb[s]);
        scale_run(NAME, mb[s], body, 0, 1 << 20);
    }
    return 0;
}
