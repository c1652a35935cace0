/* smp_cpu_bound: two CPU-bound processes at once (issue 19's SMP rows).
 * A batch forks two children that each compute `iters` units (100,000
 * steps of a xorshift generator, no system call) and waits for both; the
 * row is the batch's time per unit of the two (ns). With one CPU the two
 * share it, with two each has one: `cargo xtask bench` prints the
 * speed-up of the 2-CPU boot over the 1-CPU one (goal >= 1.8x). */
#include "bench.h"

#include <sys/wait.h>

#define NAME "smp_cpu_bound"
#define STEPS 100000

static volatile uint64_t sink;

static void work(uint64_t units) {
    uint64_t x = 88172645463325252ULL ^ (uint64_t)getpid();
    for (uint64_t u = 0; u < units; u++)
        for (int i = 0; i < STEPS; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
    sink = x;
}

/* the last batch's CPUs kept busy (children's CPU time / wall time) */
static double busy;

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    /* per unit of both children */
    return bench_two_children(NAME, work, iters, &busy);
}

int main(void) {
    bench_run(NAME, body, 0, 1ULL << 20);
    bench_printf("bench: %s kept %.2f CPUs busy (%ld online)\n", NAME, busy, sysconf(_SC_NPROCESSORS_ONLN));
    return 0;
}
