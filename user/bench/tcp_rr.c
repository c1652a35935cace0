/* tcp_rr: one request/response exchange over a TCP connection on
 * 127.0.0.1 between two processes as an event-loop server and client make
 * it: a 64-byte request, a 64-byte answer, default socket options (Nagle
 * on, no TCP_NODELAY), every receive asking for up to 256 KiB (asyncio's
 * selector transports recv(max_size = 256 KiB)). */
#include "inet_bench.h"

#define RR_MSG 64
#define RR_RECV (256 << 10)

static int c, s;
static char *rbuf;

/* Reads one whole message of RR_MSG bytes (it may come in pieces). */
static int rr_read(int fd, char *b) {
    size_t got = 0;
    while (got < RR_MSG) {
        ssize_t n = recv(fd, b, RR_RECV, 0);
        if (n <= 0) return -1;
        got += (size_t)n;
    }
    return 0;
}

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    char req[RR_MSG];
    memset(req, 'q', sizeof req);
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        if (send(c, req, RR_MSG, 0) != RR_MSG) bench_fail("tcp_rr", "send");
        if (rr_read(c, rbuf)) bench_fail("tcp_rr", "recv");
    }
    return bench_now() - t0;
}

int main(void) {
    inet_bench_lo_up("tcp_rr");
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = inet_bench_lo(0);
    socklen_t al = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1)) bench_fail("tcp_rr", "listen");
    if (getsockname(l, (struct sockaddr *)&a, &al)) bench_fail("tcp_rr", "getsockname");
    c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a)) bench_fail("tcp_rr", "connect");
    s = accept(l, NULL, NULL);
    if (s < 0) bench_fail("tcp_rr", "accept");
    close(l);
    rbuf = malloc(RR_RECV);
    if (!rbuf) bench_fail("tcp_rr", "malloc");
    pid_t p = fork();
    if (p < 0) bench_fail("tcp_rr", "fork");
    if (p == 0) {
        close(c);
        char ans[RR_MSG];
        memset(ans, 'a', sizeof ans);
        while (rr_read(s, rbuf) == 0)
            if (send(s, ans, RR_MSG, 0) != RR_MSG) _exit(1);
        _exit(0);
    }
    close(s);
    bench_run("tcp_rr", body, 0, 1ULL << 24);
    close(c);
    int st;
    if (waitpid(p, &st, 0) != p) bench_fail("tcp_rr", "waitpid");
    return 0;
}
