/* smp_pipe_pairs: two pipe ping-pong pairs at once (issue 19's SMP rows).
 * A batch forks two drivers; each makes two pipes, forks its echo
 * process and sends it a byte `iters` times, reading each back (as
 * pipe_pingpong), then closes its pipe and waits for the echo. The row is
 * the batch's time per round trip of the two pairs (ns): with two CPUs
 * each pair can have one (goal: a speed-up >= 1.6x over one CPU). */
#include "bench.h"

#include <sys/wait.h>

#define NAME "smp_pipe_pairs"

static void must_exit_0(pid_t p) {
    int st;
    if (waitpid(p, &st, 0) != p) bench_fail(NAME, "waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        errno = 0;
        bench_fail(NAME, "child did not exit 0");
    }
}

static void driver(uint64_t iters) {
    int to_echo[2], from_echo[2];
    if (pipe(to_echo) || pipe(from_echo)) bench_fail(NAME, "pipe");
    pid_t e = fork();
    if (e < 0) bench_fail(NAME, "fork");
    if (e == 0) {
        close(to_echo[1]);
        close(from_echo[0]);
        char c;
        while (read(to_echo[0], &c, 1) == 1)
            if (write(from_echo[1], &c, 1) != 1) _exit(1);
        _exit(0);
    }
    close(to_echo[0]);
    close(from_echo[1]);
    char c = 'x';
    for (uint64_t i = 0; i < iters; i++) {
        if (write(to_echo[1], &c, 1) != 1) bench_fail(NAME, "write");
        if (read(from_echo[0], &c, 1) != 1) bench_fail(NAME, "read");
    }
    close(to_echo[1]); /* the echo reads EOF and exits */
    must_exit_0(e);
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
            driver(iters);
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) must_exit_0(kids[k]);
    uint64_t wall = bench_now() - t0;
    busy = wall ? (double)(bench_children_cpu_ns() - c0) / (double)wall : 0;
    /* per round trip of both pairs */
    return wall / 2;
}

int main(void) {
    bench_run(NAME, body, 0, 1ULL << 24);
    bench_printf("bench: %s kept %.2f CPUs busy (%ld online)\n", NAME, busy, sysconf(_SC_NPROCESSORS_ONLN));
    return 0;
}
