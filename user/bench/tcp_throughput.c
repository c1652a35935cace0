/* tcp_throughput: 64 MiB sent over a TCP connection on 127.0.0.1 to
 * another process that reads it in 64 KiB reads and answers one byte at
 * the end; one operation is one MiB (the figure is ns per MiB). */
#include "inet_bench.h"

#define CHUNK (64 * 1024)
#define TOTAL (64ULL << 20)

static int c, s;
static char buf[CHUNK];

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    /* one batch moves iters MiB, rounded up to whole 64 MiB transfers */
    uint64_t mib = 0, t0 = bench_now();
    while (mib < iters) {
        uint64_t left = TOTAL;
        while (left) {
            ssize_t n = write(c, buf, left < CHUNK ? left : CHUNK);
            if (n <= 0) bench_fail("tcp_throughput", "write");
            left -= (uint64_t)n;
        }
        char ack;
        if (read(c, &ack, 1) != 1) bench_fail("tcp_throughput", "read ack");
        mib += TOTAL >> 20;
    }
    uint64_t ns = bench_now() - t0;
    return ns * iters / mib;
}

int main(void) {
    inet_bench_lo_up("tcp_throughput");
    inet_bench_tcp_pair("tcp_throughput", &c, &s);
    pid_t p = fork();
    if (p < 0) bench_fail("tcp_throughput", "fork");
    if (p == 0) {
        close(c);
        static char in[CHUNK];
        uint64_t got = 0;
        for (;;) {
            ssize_t n = read(s, in, sizeof in);
            if (n <= 0) _exit(n == 0 ? 0 : 1);
            got += (uint64_t)n;
            if (got == TOTAL) {
                got = 0;
                if (write(s, "k", 1) != 1) _exit(1);
            }
        }
    }
    close(s);
    bench_run("tcp_throughput", body, 0, 64);
    close(c);
    int st;
    if (waitpid(p, &st, 0) != p) bench_fail("tcp_throughput", "waitpid");
    return 0;
}
