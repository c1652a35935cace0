/* unix_stream_rtt: one round trip of a byte between two processes over an
 * AF_UNIX stream socketpair (send, the other side wakes, reads and sends it
 * back, we read): two context switches per operation, as pipe_pingpong. */
#include "bench.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

static int sv[2];

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    char c = 'x';
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        if (write(sv[0], &c, 1) != 1) bench_fail("unix_stream_rtt", "write");
        if (read(sv[0], &c, 1) != 1) bench_fail("unix_stream_rtt", "read");
    }
    return bench_now() - t0;
}

int main(void) {
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) bench_fail("unix_stream_rtt", "socketpair");
    pid_t p = fork();
    if (p < 0) bench_fail("unix_stream_rtt", "fork");
    if (p == 0) {
        close(sv[0]);
        char c;
        while (read(sv[1], &c, 1) == 1)
            if (write(sv[1], &c, 1) != 1) _exit(1);
        _exit(0);
    }
    close(sv[1]);
    bench_run("unix_stream_rtt", body, 0, 1ULL << 24);
    close(sv[0]); /* the child reads EOF and exits */
    int st;
    if (waitpid(p, &st, 0) != p) bench_fail("unix_stream_rtt", "waitpid");
    return 0;
}
