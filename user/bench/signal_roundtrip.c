/* signal_roundtrip: kill(2) of the process itself with SIGUSR1, caught by
 * a handler: the signal is delivered before kill returns, so one operation
 * is the syscall, the signal frame, the handler and rt_sigreturn(2). */
#include "bench.h"

#include <signal.h>

static volatile sig_atomic_t caught;

static void handler(int sig) {
    (void)sig;
    caught++;
}

static uint64_t body(uint64_t iters, void *arg) {
    pid_t self = *(pid_t *)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) kill(self, SIGUSR1);
    return bench_now() - t0;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, 0)) bench_fail("signal_roundtrip", "sigaction");
    pid_t self = getpid();
    caught = 0;
    kill(self, SIGUSR1);
    if (caught != 1) {
        errno = 0;
        bench_fail("signal_roundtrip", "the handler did not run before kill returned");
    }
    bench_run("signal_roundtrip", body, &self, 1ULL << 24);
    return 0;
}
