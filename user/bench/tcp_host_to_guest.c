/*
 * tcp_host_to_guest: TCP throughput from the host into the guest through
 * the NIC (virtio-net on QEMU's user network). One operation is one MiB
 * received: a batch of N connects to xtask's stream server on the host
 * (10.0.2.2, port in /etc/net-bench-port), asks for N MiB, reads them until
 * the server closes, and is timed from connect to the end of the stream.
 * Ours only: Debian's Linux has virtio-net as a module, absent from the
 * bench initramfs, so there connect fails (no route) and the row says so.
 */
#include "bench.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define NAME "tcp_host_to_guest"
#define MIB (1 << 20)

static char buf[256 * 1024];
static struct sockaddr_in server;

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) bench_fail(NAME, "socket");
    if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0)
        bench_fail(NAME, "connect to 10.0.2.2 (no NIC?)");
    char req[32];
    int n = snprintf(req, sizeof req, "%llu\n", (unsigned long long)iters);
    if (write(fd, req, (size_t)n) != n) bench_fail(NAME, "write");
    uint64_t want = iters * MIB, got = 0;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0) bench_fail(NAME, "read");
        if (r == 0) break;
        got += (uint64_t)r;
    }
    uint64_t ns = bench_now() - t0;
    close(fd);
    if (got != want) {
        errno = EPROTO;
        bench_fail(NAME, "short stream");
    }
    return ns;
}

int main(void) {
    char port[16] = {0};
    int fd = open("/etc/net-bench-port", O_RDONLY);
    if (fd < 0) bench_fail(NAME, "open /etc/net-bench-port");
    if (read(fd, port, sizeof port - 1) <= 0) bench_fail(NAME, "read /etc/net-bench-port");
    close(fd);
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)atoi(port));
    server.sin_addr.s_addr = htonl(0x0a000202); /* 10.0.2.2 */
    bench_run(NAME, body, NULL, 64);
    return 0;
}
