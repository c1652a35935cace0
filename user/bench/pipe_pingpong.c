/* pipe_pingpong: one round trip of a byte between two processes over two
 * pipes (write, the other side wakes, reads and writes back, we read):
 * two context switches per operation. */
#include "bench.h"

#include <signal.h>
#include <sys/wait.h>

static int to_child[2], to_parent[2];

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    char c = 'x';
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        if (write(to_child[1], &c, 1) != 1) bench_fail("pipe_pingpong", "write");
        if (read(to_parent[0], &c, 1) != 1) bench_fail("pipe_pingpong", "read");
    }
    return bench_now() - t0;
}

int main(void) {
    if (pipe(to_child) || pipe(to_parent)) bench_fail("pipe_pingpong", "pipe");
    pid_t p = fork();
    if (p < 0) bench_fail("pipe_pingpong", "fork");
    if (p == 0) {
        close(to_child[1]);
        close(to_parent[0]);
        char c;
        while (read(to_child[0], &c, 1) == 1)
            if (write(to_parent[1], &c, 1) != 1) _exit(1);
        _exit(0);
    }
    close(to_child[0]);
    close(to_parent[1]);
    bench_run("pipe_pingpong", body, 0, 1ULL << 24);
    close(to_child[1]); /* the child reads EOF and exits */
    int st;
    if (waitpid(p, &st, 0) != p) bench_fail("pipe_pingpong", "waitpid");
    return 0;
}
