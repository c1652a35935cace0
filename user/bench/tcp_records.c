/* tcp_records: one MiB over a TCP connection on 127.0.0.1 read as a TLS
 * server reads it (OpenSSL's socket BIO under Python's timeout-mode socket):
 * poll(POLLIN) then read(2) of a 5-byte record header, poll then read of
 * the 16 KiB record body; the writer (another process) writes the MiB in
 * 64 KiB writes; default socket options. Time per MiB. */
#include "inet_bench.h"

#include <poll.h>

#define REC 16384

static int c, s;

static int wait_in(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 10000) == 1 ? 0 : -1;
}

/* n bytes with a poll before every read (short reads go round again) */
static int read_polled(int fd, char *b, size_t n) {
    size_t got = 0;
    while (got < n) {
        if (wait_in(fd)) return -1;
        ssize_t r = read(fd, b + got, n - got);
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    static char b[REC];
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        char go = 'g';
        if (write(s, &go, 1) != 1) bench_fail("tcp_records", "write go");
        for (int r = 0; r < (1 << 20) / REC; r++) {
            if (read_polled(s, b, 5)) bench_fail("tcp_records", "read header");
            if (read_polled(s, b, REC - 5)) bench_fail("tcp_records", "read body");
        }
    }
    return bench_now() - t0;
}

int main(void) {
    inet_bench_lo_up("tcp_records");
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = inet_bench_lo(0);
    socklen_t al = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1)) bench_fail("tcp_records", "listen");
    if (getsockname(l, (struct sockaddr *)&a, &al)) bench_fail("tcp_records", "getsockname");
    c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a)) bench_fail("tcp_records", "connect");
    s = accept(l, NULL, NULL);
    if (s < 0) bench_fail("tcp_records", "accept");
    close(l);
    pid_t p = fork();
    if (p < 0) bench_fail("tcp_records", "fork");
    if (p == 0) {
        close(s);
        static char out[64 << 10];
        memset(out, 'r', sizeof out);
        char go;
        /* a MiB for every byte the reader asks with */
        while (read(c, &go, 1) == 1) {
            for (int k = 0; k < 16; k++) {
                size_t off = 0;
                while (off < sizeof out) {
                    ssize_t n = write(c, out + off, sizeof out - off);
                    if (n <= 0) _exit(1);
                    off += (size_t)n;
                }
            }
        }
        _exit(0);
    }
    close(c);
    bench_run("tcp_records", body, 0, 1ULL << 16);
    close(s);
    int st;
    if (waitpid(p, &st, 0) != p) bench_fail("tcp_records", "waitpid");
    return 0;
}
