/* smp_pipe_pairs: two pipe ping-pong pairs at once (issue 19's SMP rows).
 * A batch forks two drivers; each makes two pipes, forks its echo
 * process and sends it a byte `iters` times, reading each back (as
 * pipe_pingpong), then closes its pipe and waits for the echo. The row is
 * the batch's time per round trip of the two pairs (ns): with two CPUs
 * each pair can have one (goal: a speed-up >= 1.6x over one CPU). */
#include "bench.h"

#include <sys/wait.h>

#define NAME "smp_pipe_pairs"

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
    bench_must_exit_0(NAME, e);
}

/* the last batch's CPUs kept busy (children's CPU time / wall time) */
static double busy;

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    /* per round trip of both pairs */
    return bench_two_children(NAME, driver, iters, &busy);
}

int main(void) {
    bench_run(NAME, body, 0, 1ULL << 24);
    bench_printf("bench: %s kept %.2f CPUs busy (%ld online)\n", NAME, busy, sysconf(_SC_NPROCESSORS_ONLN));
    return 0;
}
