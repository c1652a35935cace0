/* udp_rtt: one round trip of a one-byte datagram between two processes
 * over connected UDP sockets on 127.0.0.1. */
#include "inet_bench.h"

static int a, b;

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    char x = 'x';
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        if (send(a, &x, 1, 0) != 1) bench_fail("udp_rtt", "send");
        if (recv(a, &x, 1, 0) != 1) bench_fail("udp_rtt", "recv");
    }
    return bench_now() - t0;
}

int main(void) {
    inet_bench_lo_up("udp_rtt");
    a = socket(AF_INET, SOCK_DGRAM, 0);
    b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in x = inet_bench_lo(0), y = inet_bench_lo(0);
    socklen_t l = sizeof x;
    if (a < 0 || b < 0 || bind(a, (struct sockaddr *)&x, sizeof x) || bind(b, (struct sockaddr *)&y, sizeof y))
        bench_fail("udp_rtt", "bind");
    if (getsockname(a, (struct sockaddr *)&x, &l)) bench_fail("udp_rtt", "getsockname");
    l = sizeof y;
    if (getsockname(b, (struct sockaddr *)&y, &l)) bench_fail("udp_rtt", "getsockname");
    if (connect(a, (struct sockaddr *)&y, sizeof y) || connect(b, (struct sockaddr *)&x, sizeof x))
        bench_fail("udp_rtt", "connect");
    pid_t p = fork();
    if (p < 0) bench_fail("udp_rtt", "fork");
    if (p == 0) {
        char c;
        for (;;) {
            ssize_t n = recv(b, &c, 1, 0);
            if (n != 1) _exit(1);
            if (c == 'q') _exit(0);
            if (send(b, &c, 1, 0) != 1) _exit(1);
        }
    }
    bench_run("udp_rtt", body, 0, 1ULL << 24);
    char q = 'q';
    send(a, &q, 1, 0);
    int st;
    if (waitpid(p, &st, 0) != p) bench_fail("udp_rtt", "waitpid");
    return 0;
}
