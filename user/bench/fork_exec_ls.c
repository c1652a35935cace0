/* fork_exec_ls: fork(2), the child execve(2)s Debian's dynamically linked
 * /usr/bin/ls on the empty /tmp (ld.so maps libc, libselinux and libpcre2,
 * relocates them, and ls reads the directory; nothing is printed), the
 * parent waitpid(2)s. */
#include "bench.h"

#include <sys/wait.h>

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    char *argv[] = {"/usr/bin/ls", "/tmp", 0};
    char *envp[] = {"LC_ALL=C", 0};
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        pid_t p = fork();
        if (p < 0) bench_fail("fork_exec_ls", "fork");
        if (p == 0) {
            execve(argv[0], argv, envp);
            bench_fail("fork_exec_ls", "execve /usr/bin/ls");
        }
        int st;
        if (waitpid(p, &st, 0) != p) bench_fail("fork_exec_ls", "waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            errno = 0;
            bench_fail("fork_exec_ls", "ls did not exit 0");
        }
    }
    return bench_now() - t0;
}

int main(void) {
    bench_run("fork_exec_ls", body, 0, 1ULL << 20);
    return 0;
}
