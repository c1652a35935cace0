/* tcp_rtt: one round trip of a byte over a TCP connection on 127.0.0.1
 * between two processes (send, the other side wakes, reads and sends it
 * back, we read), TCP_NODELAY on both ends. */
#include "inet_bench.h"

static int c, s;

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    char b = 'x';
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        if (write(c, &b, 1) != 1) bench_fail("tcp_rtt", "write");
        if (read(c, &b, 1) != 1) bench_fail("tcp_rtt", "read");
    }
    return bench_now() - t0;
}

int main(void) {
    inet_bench_lo_up("tcp_rtt");
    inet_bench_tcp_pair("tcp_rtt", &c, &s);
    pid_t p = fork();
    if (p < 0) bench_fail("tcp_rtt", "fork");
    if (p == 0) {
        close(c);
        char b;
        while (read(s, &b, 1) == 1)
            if (write(s, &b, 1) != 1) _exit(1);
        _exit(0);
    }
    close(s);
    bench_run("tcp_rtt", body, 0, 1ULL << 24);
    close(c);
    int st;
    if (waitpid(p, &st, 0) != p) bench_fail("tcp_rtt", "waitpid");
    return 0;
}
