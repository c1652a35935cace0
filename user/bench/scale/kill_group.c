/* kill_group/<N>: kill(-pgid, SIGUSR1) to a process group of N = 1 / 100 /
 * 1,000 processes that block every signal (so the signal stays pending:
 * the cost is the walk over the group, not N wake-ups). */
#include "scale.h"

static const char *NAME = "kill_group";
static pid_t pgid;

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++)
        if (kill(-pgid, SIGUSR1) != 0) bench_fail(NAME, "kill");
    return bench_now() - t0;
}

int main(void) {
    static const long counts[] = {1, 100, 1000};
    static pid_t pids[1000];
    for (int s = 0; s < 3; s++) {
        pgid = scale_sleepers(NAME, counts[s], pids);
        scale_run(NAME, counts[s], body, 0, 1 << 24);
        scale_reap_group(NAME, pgid, counts[s], pids);
    }
    return 0;
}
