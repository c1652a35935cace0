/* inet_bench.h: what the TCP/UDP loopback benchmarks share: lo brought up
 * (Linux's lo is down in an initramfs-only boot) and a connected TCP pair
 * over 127.0.0.1. */
#ifndef INET_BENCH_H
#define INET_BENCH_H

#include "bench.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

static inline void inet_bench_lo_up(const char *name) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) bench_fail(name, "socket");
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &r) != 0) bench_fail(name, "SIOCGIFFLAGS");
    if (!(r.ifr_flags & IFF_UP)) {
        r.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &r) != 0) bench_fail(name, "SIOCSIFFLAGS");
    }
    close(s);
}

static inline struct sockaddr_in inet_bench_lo(uint16_t port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(0x7f000001);
    return a;
}

/* A connected TCP pair over 127.0.0.1 (client in *c, server end in *s). */
static inline void inet_bench_tcp_pair(const char *name, int *c, int *s) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = inet_bench_lo(0);
    socklen_t al = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1)) bench_fail(name, "listen");
    if (getsockname(l, (struct sockaddr *)&a, &al)) bench_fail(name, "getsockname");
    *c = socket(AF_INET, SOCK_STREAM, 0);
    if (*c < 0 || connect(*c, (struct sockaddr *)&a, sizeof a)) bench_fail(name, "connect");
    *s = accept(l, NULL, NULL);
    if (*s < 0) bench_fail(name, "accept");
    close(l);
    int one = 1;
    setsockopt(*c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(*s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

#endif
