/*
 * kt_inet.h: helpers for the inet_*.c cases (AF_INET/AF_INET6 over lo).
 *
 * Linux's lo is down in an initramfs-only boot: kt_lo_up() brings it up
 * with SIOCSIFFLAGS (ours has it up from boot; the call is harmless).
 */
#ifndef KT_INET_H
#define KT_INET_H

#include "kt.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

static inline int kt_lo_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) return -1;
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    int ret = ioctl(s, SIOCGIFFLAGS, &r);
    if (ret == 0 && !(r.ifr_flags & IFF_UP)) {
        r.ifr_flags |= IFF_UP;
        ret = ioctl(s, SIOCSIFFLAGS, &r);
    }
    close(s);
    return ret;
}

static inline struct sockaddr_in kt_sin(uint32_t host_ip, uint16_t port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(host_ip);
    return a;
}

static inline struct sockaddr_in6 kt_sin6(const struct in6_addr *ip, uint16_t port) {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    a.sin6_addr = *ip;
    return a;
}

#define KT_LOOP4 0x7f000001u

/* The port a socket is bound to (0 on error). */
static inline int kt_port_of(int s) {
    struct sockaddr_in6 a;
    socklen_t l = sizeof a;
    if (getsockname(s, (struct sockaddr *)&a, &l) != 0) return 0;
    return ntohs(a.sin6_port); /* sin_port and sin6_port sit at the same offset */
}

/* A listener on 127.0.0.1 (ephemeral port), or -1. */
static inline int kt_listener4(int backlog) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0) return -1;
    struct sockaddr_in a = kt_sin(KT_LOOP4, 0);
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, backlog) != 0) {
        close(l);
        return -1;
    }
    return l;
}

/* A connected pair over 127.0.0.1: *c the client, *s the accepted end. */
static inline int kt_tcp_pair4(int *c, int *s) {
    int l = kt_listener4(4);
    if (l < 0) return -1;
    struct sockaddr_in a = kt_sin(KT_LOOP4, kt_port_of(l));
    *c = socket(AF_INET, SOCK_STREAM, 0);
    if (*c < 0 || connect(*c, (struct sockaddr *)&a, sizeof a) != 0) {
        close(l);
        return -1;
    }
    *s = accept(l, NULL, NULL);
    close(l);
    return *s < 0 ? -1 : 0;
}

static inline int kt_setint(int s, int level, int name, int v) {
    return setsockopt(s, level, name, &v, sizeof v);
}

static inline int kt_getint(int s, int level, int name) {
    int v = -12345;
    socklen_t l = sizeof v;
    if (getsockopt(s, level, name, &v, &l) != 0) return -1;
    return v;
}

/* poll() revents of one fd after `ms` milliseconds at most. */
static inline int kt_revents(int fd, short events, int ms) {
    struct pollfd p = {.fd = fd, .events = events};
    if (poll(&p, 1, ms) < 0) return -1;
    return p.revents;
}

/* Reads exactly n bytes (0 on success, -1 on error or early EOF). */
static inline int kt_read_full(int fd, void *buf, size_t n) {
    char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static inline int kt_write_full(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

#endif
