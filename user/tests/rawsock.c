/*
 * rawsock.c: raw IP sockets (SOCK_RAW) over lo, as Linux 6.1's raw.c and
 * raw6.c: IPv4 sockets read the IP header, IPv6 ones do not; every raw
 * socket of the protocol gets a copy while the stack still handles the
 * packet; IP_HDRINCL (implied by IPPROTO_RAW) sends a whole packet with
 * the length, a zero source and the checksum filled in; ICMP_FILTER,
 * ICMP6_FILTER, IPV6_CHECKSUM; CAP_NET_RAW needed.
 */
#include "kt_inet.h"

#include <netinet/icmp6.h>
#include <netinet/if_ether.h>
#include <netinet/ip_icmp.h>
#include <netpacket/packet.h>
#include <sys/syscall.h>

#ifndef ICMP_FILTER
#define ICMP_FILTER 1
#endif
#ifndef SOL_RAW
#define SOL_RAW 255
#endif

static uint16_t csum(const void *d, int n, uint32_t s) {
    const uint8_t *p = d;
    for (int i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) s += (uint32_t)p[n - 1] << 8;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* The one's complement sum of an IPv6 pseudo-header (before folding). */
static uint32_t pseudo6(const struct in6_addr *src, const struct in6_addr *dst, uint32_t len, uint8_t next) {
    uint32_t s = 0;
    for (int i = 0; i < 16; i += 2) {
        s += (uint32_t)(src->s6_addr[i] << 8 | src->s6_addr[i + 1]);
        s += (uint32_t)(dst->s6_addr[i] << 8 | dst->s6_addr[i + 1]);
    }
    s += len >> 16;
    s += len & 0xffff;
    s += next;
    return s;
}

static void echo_req(uint8_t *req, uint16_t id, uint16_t seq) {
    memset(req, 0, 16);
    req[0] = 8;
    req[4] = (uint8_t)(id >> 8);
    req[5] = (uint8_t)id;
    req[6] = (uint8_t)(seq >> 8);
    req[7] = (uint8_t)seq;
    memcpy(req + 8, "raw-ping", 8);
    uint16_t c = csum(req, 16, 0);
    req[2] = (uint8_t)(c >> 8);
    req[3] = (uint8_t)c;
}

/* Waits for fd to be readable (up to 1 s); 1 when it is. */
static int readable(int fd) { return (kt_revents(fd, POLLIN, 1000) & POLLIN) != 0; }

KT_CASE(setup_lo) { KT_SYS_OK(kt_lo_up()); }

KT_CASE(icmp_echo_with_ip_header) {
    int r = KT_SYS_OK(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    uint8_t req[16];
    echo_req(req, 0x4242, 1);
    struct sockaddr_in to = kt_sin(KT_LOOP4, 0);
    KT_SYS_RET(sendto(r, req, 16, 0, (struct sockaddr *)&to, sizeof to), 16);
    /* lo hands the request to raw sockets too, then the reply */
    int types[2] = {-1, -1};
    for (int i = 0; i < 2; i++) {
        uint8_t in[128];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        KT_TRUE(readable(r), "packet %d", i);
        KT_SYS_RET(recvfrom(r, in, sizeof in, MSG_DONTWAIT, (struct sockaddr *)&from, &fl), 36);
        KT_EQ(fl, sizeof from);
        KT_EQ(from.sin_family, AF_INET);
        KT_EQ(ntohl(from.sin_addr.s_addr), KT_LOOP4);
        KT_EQ(from.sin_port, 0);
        KT_EQ(in[0], 0x45);
        KT_EQ(in[2] << 8 | in[3], 36); /* total length */
        KT_EQ(in[9], IPPROTO_ICMP);
        KT_EQ(csum(in, 20, 0), 0); /* the header's checksum holds */
        KT_EQ(csum(in + 20, 16, 0), 0); /* and ICMP's */
        KT_TRUE(memcmp(in + 12, "\x7f\0\0\x01\x7f\0\0\x01", 8) == 0, "addresses");
        KT_EQ(in[24] << 8 | in[25], 0x4242);
        KT_TRUE(memcmp(in + 28, "raw-ping", 8) == 0, "payload");
        types[i] = in[20];
    }
    KT_EQ(types[0], ICMP_ECHO);
    KT_EQ(types[1], ICMP_ECHOREPLY);
    KT_SYS_ERR(recv(r, req, sizeof req, MSG_DONTWAIT), EAGAIN);
    close(r);
}

KT_CASE(names_and_options) {
    int r = KT_SYS_OK(socket(AF_INET, SOCK_RAW, IPPROTO_UDP));
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    KT_SYS_OK(getsockname(r, (struct sockaddr *)&a, &l));
    /* the "port" is the protocol */
    KT_EQ(ntohs(a.sin_port), IPPROTO_UDP);
    KT_EQ(a.sin_addr.s_addr, 0);
    KT_EQ(kt_getint(r, SOL_SOCKET, SO_TYPE), SOCK_RAW);
    KT_EQ(kt_getint(r, SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDP);
    KT_EQ(kt_getint(r, IPPROTO_IP, IP_HDRINCL), 0);
    KT_SYS_OK(kt_setint(r, IPPROTO_IP, IP_HDRINCL, 1));
    KT_EQ(kt_getint(r, IPPROTO_IP, IP_HDRINCL), 1);
    /* ICMP_FILTER is for ICMP sockets only */
    uint32_t m = 0;
    KT_SYS_ERR(setsockopt(r, SOL_RAW, ICMP_FILTER, &m, sizeof m), EOPNOTSUPP);
    int raw = KT_SYS_OK(socket(AF_INET, SOCK_RAW, IPPROTO_RAW));
    KT_EQ(kt_getint(raw, IPPROTO_IP, IP_HDRINCL), 1);
    int u = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    KT_SYS_ERR(kt_setint(u, IPPROTO_IP, IP_HDRINCL, 1), ENOPROTOOPT);
    KT_EQ(kt_getint(u, IPPROTO_IP, IP_HDRINCL), 0);
    /* connected with port 0: no peer name (inet_dport is 0) */
    struct sockaddr_in to = kt_sin(KT_LOOP4, 0);
    KT_SYS_OK(connect(r, (struct sockaddr *)&to, sizeof to));
    l = sizeof a;
    KT_SYS_ERR(getpeername(r, (struct sockaddr *)&a, &l), ENOTCONN);
    KT_SYS_ERR(socket(AF_INET, SOCK_RAW, 0), EPROTONOSUPPORT);
    KT_SYS_ERR(socket(AF_INET6, SOCK_RAW, 0), EPROTONOSUPPORT);
    KT_SYS_ERR(socket(AF_INET, SOCK_RAW, 300), EINVAL);
    close(u);
    close(raw);
    close(r);
}

KT_CASE(icmp_filter_drops_types) {
    int r = KT_SYS_OK(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    uint32_t m = 1u << ICMP_ECHO;
    KT_SYS_OK(setsockopt(r, SOL_RAW, ICMP_FILTER, &m, sizeof m));
    uint32_t g = 0;
    socklen_t gl = 16;
    KT_SYS_OK(getsockopt(r, SOL_RAW, ICMP_FILTER, &g, &gl));
    KT_EQ(gl, 4);
    KT_EQ(g, 1u << ICMP_ECHO);
    uint8_t req[16];
    echo_req(req, 0x4343, 2);
    struct sockaddr_in to = kt_sin(KT_LOOP4, 0);
    KT_SYS_RET(sendto(r, req, 16, 0, (struct sockaddr *)&to, sizeof to), 16);
    uint8_t in[128];
    KT_TRUE(readable(r), "reply");
    KT_SYS_RET(recv(r, in, sizeof in, MSG_DONTWAIT), 36);
    KT_EQ(in[20], ICMP_ECHOREPLY);
    KT_SYS_ERR(recv(r, in, sizeof in, MSG_DONTWAIT), EAGAIN);
    close(r);
}

/* A UDP datagram with its IPv4 header made by hand: source 0 (the kernel
 * fills it in), length, identifier and checksum 0. */
static int udp_packet(uint8_t *p, uint16_t sport, uint16_t dport, const char *data) {
    int dl = (int)strlen(data);
    memset(p, 0, 28);
    p[0] = 0x45;
    p[8] = 64;
    p[9] = IPPROTO_UDP;
    p[16] = 127;
    p[19] = 1;
    p[20] = (uint8_t)(sport >> 8);
    p[21] = (uint8_t)sport;
    p[22] = (uint8_t)(dport >> 8);
    p[23] = (uint8_t)dport;
    p[24] = (uint8_t)((8 + dl) >> 8);
    p[25] = (uint8_t)(8 + dl);
    memcpy(p + 28, data, (size_t)dl);
    return 28 + dl;
}

KT_CASE(hdrincl_send_and_udp_copy) {
    int u = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    struct sockaddr_in ua = kt_sin(KT_LOOP4, 0);
    KT_SYS_OK(bind(u, (struct sockaddr *)&ua, sizeof ua));
    int port = kt_port_of(u);
    int ru = KT_SYS_OK(socket(AF_INET, SOCK_RAW, IPPROTO_UDP));
    int sender = KT_SYS_OK(socket(AF_INET, SOCK_RAW, IPPROTO_RAW));
    uint8_t p[64];
    int n = udp_packet(p, 5555, (uint16_t)port, "hdrincl");
    struct sockaddr_in to = kt_sin(KT_LOOP4, 0);
    KT_SYS_RET(sendto(sender, p, (size_t)n, 0, (struct sockaddr *)&to, sizeof to), n);
    KT_SYS_ERR(sendto(sender, p, 19, 0, (struct sockaddr *)&to, sizeof to), EINVAL);
    /* the UDP socket has it */
    char b[64];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    KT_TRUE(readable(u), "udp");
    KT_SYS_RET(recvfrom(u, b, sizeof b, MSG_DONTWAIT, (struct sockaddr *)&from, &fl), 7);
    KT_TRUE(memcmp(b, "hdrincl", 7) == 0, "data");
    KT_EQ(ntohs(from.sin_port), 5555);
    KT_EQ(ntohl(from.sin_addr.s_addr), KT_LOOP4);
    /* and so has the raw UDP socket, with the header the kernel completed */
    uint8_t in[128];
    KT_TRUE(readable(ru), "raw copy");
    KT_SYS_RET(recv(ru, in, sizeof in, MSG_DONTWAIT), n);
    KT_EQ(in[2] << 8 | in[3], n);
    KT_TRUE(memcmp(in + 12, "\x7f\0\0\x01", 4) == 0, "source filled in");
    KT_EQ(csum(in, 20, 0), 0);
    KT_TRUE(memcmp(in + 28, "hdrincl", 7) == 0, "raw data");
    /* IPPROTO_RAW sockets receive nothing */
    KT_SYS_ERR(recv(sender, in, sizeof in, MSG_DONTWAIT), EAGAIN);

    /* an ordinary UDP send reaches the raw UDP socket too */
    int u2 = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    struct sockaddr_in dst = kt_sin(KT_LOOP4, (uint16_t)port);
    KT_SYS_RET(sendto(u2, "copy", 4, 0, (struct sockaddr *)&dst, sizeof dst), 4);
    KT_TRUE(readable(ru), "second copy");
    KT_SYS_RET(recv(ru, in, sizeof in, MSG_DONTWAIT), 32);
    KT_EQ(in[9], IPPROTO_UDP);
    KT_EQ(in[22] << 8 | in[23], port);
    KT_TRUE(memcmp(in + 28, "copy", 4) == 0, "copy data");
    KT_SYS_RET(recv(u, b, sizeof b, MSG_DONTWAIT), 4);

    /* bound to another address: packets to 127.0.0.1 pass it by */
    struct sockaddr_in other = kt_sin(0x7f000002u, 0);
    KT_SYS_OK(bind(ru, (struct sockaddr *)&other, sizeof other));
    KT_SYS_RET(sendto(u2, "copy", 4, 0, (struct sockaddr *)&dst, sizeof dst), 4);
    KT_SYS_RET(recv(u, b, sizeof b, 0), 4);
    KT_SYS_ERR(recv(ru, in, sizeof in, MSG_DONTWAIT), EAGAIN);
    close(u2);
    close(sender);
    close(ru);
    close(u);
}

KT_CASE(raw_udp_send_builds_header) {
    int u = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    struct sockaddr_in ua = kt_sin(KT_LOOP4, 0);
    KT_SYS_OK(bind(u, (struct sockaddr *)&ua, sizeof ua));
    int port = kt_port_of(u);
    int r = KT_SYS_OK(socket(AF_INET, SOCK_RAW, IPPROTO_UDP));
    /* without IP_HDRINCL the payload is the UDP header and data */
    uint8_t d[12] = {0x12, 0x34, (uint8_t)(port >> 8), (uint8_t)port, 0, 12, 0, 0, 'b', 'u', 'i', 'l'};
    struct sockaddr_in to = kt_sin(KT_LOOP4, 0);
    KT_SYS_RET(sendto(r, d, sizeof d, 0, (struct sockaddr *)&to, sizeof to), 12);
    char b[16];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    KT_TRUE(readable(u), "udp");
    KT_SYS_RET(recvfrom(u, b, sizeof b, MSG_DONTWAIT, (struct sockaddr *)&from, &fl), 4);
    KT_EQ(ntohs(from.sin_port), 0x1234);
    KT_TRUE(memcmp(b, "buil", 4) == 0, "data");
    close(r);
    close(u);
}

static int no_net_raw(void) {
    struct {
        uint32_t version;
        int pid;
    } h = {0x20080522, 0};
    uint32_t c[6] = {0};
    KT_CHILD_CHECK(1, syscall(SYS_capget, &h, c) == 0);
    c[0] &= ~(1u << 13); /* CAP_NET_RAW out of the effective set */
    KT_CHILD_CHECK(2, syscall(SYS_capset, &h, c) == 0);
    KT_CHILD_CHECK(3, socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) == -1 && errno == EPERM);
    KT_CHILD_CHECK(4, socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6) == -1 && errno == EPERM);
    KT_CHILD_CHECK(5, socket(AF_INET, SOCK_RAW, IPPROTO_RAW) == -1 && errno == EPERM);
    /* the protocol is looked at first */
    KT_CHILD_CHECK(6, socket(AF_INET, SOCK_RAW, 0) == -1 && errno == EPROTONOSUPPORT);
    KT_CHILD_CHECK(9, socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) == -1 && errno == EPERM);
    /* and back */
    c[0] |= 1u << 13;
    KT_CHILD_CHECK(7, syscall(SYS_capset, &h, c) == 0);
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    KT_CHILD_CHECK(8, s >= 0);
    return 0;
}

KT_CASE(eperm_without_cap_net_raw) { KT_EQ(kt_in_child(no_net_raw), 0); }

KT_CASE(icmpv6_echo_without_header) {
    int r = KT_SYS_OK(socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6));
    KT_EQ(kt_getint(r, SOL_RAW, IPV6_CHECKSUM), 2);
    KT_SYS_ERR(kt_setint(r, IPPROTO_IPV6, IPV6_CHECKSUM, 2), EINVAL);
    struct icmp6_filter f;
    ICMP6_FILTER_SETBLOCKALL(&f);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
    KT_SYS_OK(setsockopt(r, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof f));
    struct icmp6_filter g;
    socklen_t gl = sizeof g;
    KT_SYS_OK(getsockopt(r, IPPROTO_ICMPV6, ICMP6_FILTER, &g, &gl));
    KT_EQ(gl, sizeof g);
    KT_TRUE(memcmp(&f, &g, sizeof f) == 0, "filter read back");
    /* the kernel computes the checksum */
    uint8_t req[16] = {ICMP6_ECHO_REQUEST, 0, 0, 0, 0x66, 0x06, 0, 3, 'r', 'a', 'w', '6', 'p', 'i', 'n', 'g'};
    struct sockaddr_in6 to = kt_sin6(&in6addr_loopback, 0);
    KT_SYS_RET(sendto(r, req, 16, 0, (struct sockaddr *)&to, sizeof to), 16);
    uint8_t in[128];
    struct sockaddr_in6 from;
    socklen_t fl = sizeof from;
    KT_TRUE(readable(r), "reply");
    KT_SYS_RET(recvfrom(r, in, sizeof in, MSG_DONTWAIT, (struct sockaddr *)&from, &fl), 16);
    KT_EQ(in[0], ICMP6_ECHO_REPLY);
    KT_TRUE(memcmp(in + 4, req + 4, 12) == 0, "id, seq, data");
    KT_EQ(csum(in, 16, pseudo6(&in6addr_loopback, &in6addr_loopback, 16, IPPROTO_ICMPV6)), 0);
    KT_EQ(fl, sizeof from);
    KT_EQ(from.sin6_family, AF_INET6);
    KT_EQ(from.sin6_port, 0);
    KT_TRUE(IN6_IS_ADDR_LOOPBACK(&from.sin6_addr), "from ::1");
    /* the request was filtered out */
    KT_SYS_ERR(recv(r, in, sizeof in, MSG_DONTWAIT), EAGAIN);
    close(r);
}

KT_CASE(ipv6_checksum_offset) {
    int u = KT_SYS_OK(socket(AF_INET6, SOCK_DGRAM, 0));
    struct sockaddr_in6 ua = kt_sin6(&in6addr_loopback, 0);
    KT_SYS_OK(bind(u, (struct sockaddr *)&ua, sizeof ua));
    int port = kt_port_of(u);
    int snd = KT_SYS_OK(socket(AF_INET6, SOCK_RAW, IPPROTO_UDP));
    int rcv = KT_SYS_OK(socket(AF_INET6, SOCK_RAW, IPPROTO_UDP));
    KT_EQ(kt_getint(snd, IPPROTO_IPV6, IPV6_CHECKSUM), -1);
    KT_SYS_ERR(kt_setint(snd, IPPROTO_IPV6, IPV6_CHECKSUM, 3), EINVAL);
    KT_SYS_OK(kt_setint(snd, IPPROTO_IPV6, IPV6_CHECKSUM, 6));
    KT_EQ(kt_getint(snd, IPPROTO_IPV6, IPV6_CHECKSUM), 6);
    uint8_t d[13] = {0x0f, 0xa0, (uint8_t)(port >> 8), (uint8_t)port, 0, 13, 0, 0, 'c', 's', 'u', 'm', '6'};
    struct sockaddr_in6 to = kt_sin6(&in6addr_loopback, 0);
    KT_SYS_RET(sendto(snd, d, sizeof d, 0, (struct sockaddr *)&to, sizeof to), 13);
    char b[16];
    KT_TRUE(readable(u), "udp6");
    KT_SYS_RET(recv(u, b, sizeof b, MSG_DONTWAIT), 5);
    KT_TRUE(memcmp(b, "csum6", 5) == 0, "data");
    /* the copy: no IPv6 header, a checksum that holds */
    uint8_t in[64];
    KT_TRUE(readable(rcv), "raw6 copy");
    KT_SYS_RET(recv(rcv, in, sizeof in, MSG_DONTWAIT), 13);
    KT_NE(in[6] << 8 | in[7], 0);
    KT_EQ(csum(in, 13, pseudo6(&in6addr_loopback, &in6addr_loopback, 13, IPPROTO_UDP)), 0);
    /* a checksum field past the data */
    KT_SYS_OK(kt_setint(snd, IPPROTO_IPV6, IPV6_CHECKSUM, 12));
    KT_SYS_ERR(sendto(snd, d, sizeof d, 0, (struct sockaddr *)&to, sizeof to), EINVAL);
    close(rcv);
    close(snd);
    close(u);
}

KT_CASE(recv_ttl_and_recverr) {
    int r = KT_SYS_OK(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    KT_EQ(kt_getint(r, IPPROTO_IP, IP_RECVERR), 0);
    KT_SYS_OK(kt_setint(r, IPPROTO_IP, IP_RECVERR, 1));
    KT_EQ(kt_getint(r, IPPROTO_IP, IP_RECVERR), 1);
    KT_SYS_OK(kt_setint(r, IPPROTO_IP, IP_RECVTTL, 1));
    uint8_t req[16];
    echo_req(req, 0x4444, 4);
    struct sockaddr_in to = kt_sin(KT_LOOP4, 0);
    KT_SYS_RET(sendto(r, req, 16, 0, (struct sockaddr *)&to, sizeof to), 16);
    uint8_t in[128];
    char ctl[64];
    struct iovec io = {in, sizeof in};
    struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    KT_TRUE(readable(r), "request");
    KT_SYS_RET(recvmsg(r, &m, MSG_DONTWAIT), 36);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    KT_TRUE(c != NULL, "a control message");
    KT_EQ(c->cmsg_level, IPPROTO_IP);
    KT_EQ(c->cmsg_type, IP_TTL);
    int ttl;
    memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
    KT_EQ(ttl, in[8]);
    KT_EQ(ttl, 64);
    int r6 = KT_SYS_OK(socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6));
    KT_SYS_OK(kt_setint(r6, IPPROTO_IPV6, IPV6_RECVERR, 1));
    KT_EQ(kt_getint(r6, IPPROTO_IPV6, IPV6_RECVERR), 1);
    close(r6);
    close(r);
}

/* A ping socket (Debian's ping takes one when it may) gives IP_TTL too. */
KT_CASE(ping_socket_recvttl) {
    int f = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY);
    if (f >= 0) {
        KT_SYS_RET(write(f, "0 0\n", 4), 4);
        close(f);
    }
    int s = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP));
    KT_SYS_OK(kt_setint(s, IPPROTO_IP, IP_RECVTTL, 1));
    uint8_t req[16];
    echo_req(req, 0, 5);
    struct sockaddr_in to = kt_sin(KT_LOOP4, 0);
    KT_SYS_RET(sendto(s, req, 16, 0, (struct sockaddr *)&to, sizeof to), 16);
    uint8_t in[64];
    char ctl[64];
    struct iovec io = {in, sizeof in};
    struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    KT_TRUE(readable(s), "reply");
    KT_SYS_RET(recvmsg(s, &m, MSG_DONTWAIT), 16);
    KT_EQ(in[0], ICMP_ECHOREPLY);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    KT_TRUE(c != NULL, "a control message");
    KT_EQ(c->cmsg_level, IPPROTO_IP);
    KT_EQ(c->cmsg_type, IP_TTL);
    int ttl;
    memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
    KT_EQ(ttl, 64);
    close(s);
}

KT_CASE(proc_net_raw_lines) {
    int r = KT_SYS_OK(socket(AF_INET, SOCK_RAW, IPPROTO_UDP));
    int r6 = KT_SYS_OK(socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6));
    static char buf[16384];
    KT_TRUE(kt_read_all("/proc/net/raw", buf, sizeof buf) > 0, "read raw");
    KT_TRUE(strstr(buf, ": 00000000:0011 00000000:0000 07 ") != NULL, "a line for the UDP socket");
    KT_TRUE(kt_read_all("/proc/net/raw6", buf, sizeof buf) > 0, "read raw6");
    KT_TRUE(strstr(buf, ": 00000000000000000000000000000000:003A 00000000000000000000000000000000:0000 07 ") != NULL,
            "a line for the ICMPv6 socket");
    close(r6);
    close(r);
}

/* Reads frames from packet socket p until the UDP datagram to `port`
 * carrying `mark` (at most 64 frames); returns its pkttype, -1 when none
 * came. `raw`: frames carry lo's Ethernet header. */
static int next_marked(int p, int raw, int port, const char *mark, int lo) {
    for (int i = 0; i < 64; i++) {
        if (!readable(p)) return -1;
        uint8_t f[256];
        struct sockaddr_ll from;
        socklen_t fl = sizeof from;
        memset(&from, 0xaa, sizeof from);
        ssize_t n = recvfrom(p, f, sizeof f, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (n < 0) return -2;
        int off = raw ? 14 : 0;
        if (n < off + 28 + (ssize_t)strlen(mark)) continue;
        if (raw && (memcmp(f, "\0\0\0\0\0\0\0\0\0\0\0\0\x08\x00", 14) != 0)) return -3;
        if (f[off] != 0x45 || f[off + 9] != IPPROTO_UDP) continue;
        if ((f[off + 22] << 8 | f[off + 23]) != port) continue;
        if (memcmp(f + off + 28, mark, strlen(mark)) != 0) continue;
        if (fl != sizeof from || from.sll_family != AF_PACKET || from.sll_protocol != htons(ETH_P_IP) ||
            from.sll_ifindex != lo || from.sll_hatype != 772 /* ARPHRD_LOOPBACK */ || from.sll_halen != 6 ||
            memcmp(from.sll_addr, "\0\0\0\0\0\0", 6) != 0)
            return -4;
        return from.sll_pkttype;
    }
    return -5;
}

KT_CASE(packet_socket_on_lo) {
    int lo = (int)if_nametoindex("lo");
    KT_TRUE(lo > 0, "lo's index");
    int p = KT_SYS_OK(socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = lo;
    KT_SYS_OK(bind(p, (struct sockaddr *)&sll, sizeof sll));
    struct packet_mreq mr;
    memset(&mr, 0, sizeof mr);
    mr.mr_ifindex = lo;
    mr.mr_type = PACKET_MR_PROMISC;
    KT_SYS_OK(setsockopt(p, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr));
    struct sockaddr_ll me;
    socklen_t ml = sizeof me;
    KT_SYS_OK(getsockname(p, (struct sockaddr *)&me, &ml));
    KT_EQ(ml, 18);
    KT_EQ(me.sll_family, AF_PACKET);
    KT_EQ(me.sll_protocol, htons(ETH_P_ALL));
    KT_EQ(me.sll_ifindex, lo);
    KT_EQ(me.sll_hatype, 772);
    KT_EQ(me.sll_halen, 6);
    /* a SOCK_DGRAM socket of IPv4 only: no header, no outgoing copies */
    int d = KT_SYS_OK(socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP)));
    int u = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    struct sockaddr_in ua = kt_sin(KT_LOOP4, 0);
    KT_SYS_OK(bind(u, (struct sockaddr *)&ua, sizeof ua));
    int port = kt_port_of(u);
    int s = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    struct sockaddr_in to = kt_sin(KT_LOOP4, (uint16_t)port);
    KT_SYS_RET(sendto(s, "pkt-mark-41", 11, 0, (struct sockaddr *)&to, sizeof to), 11);
    /* lo shows it going out, then coming in */
    KT_EQ(next_marked(p, 1, port, "pkt-mark-41", lo), PACKET_OUTGOING);
    KT_EQ(next_marked(p, 1, port, "pkt-mark-41", lo), PACKET_HOST);
    KT_EQ(next_marked(d, 0, port, "pkt-mark-41", lo), PACKET_HOST);
    char b[16];
    KT_SYS_RET(recv(u, b, sizeof b, 0), 11);

    /* a send: an IPv4 UDP packet behind the kernel's header (SOCK_DGRAM) */
    uint8_t pk[64];
    int n = udp_packet(pk, 4444, (uint16_t)port, "via-packet");
    memcpy(pk + 12, "\x7f\0\0\x01", 4);
    pk[2] = (uint8_t)(n >> 8);
    pk[3] = (uint8_t)n;
    uint16_t c = csum(pk, 20, 0);
    pk[10] = (uint8_t)(c >> 8);
    pk[11] = (uint8_t)c;
    struct sockaddr_ll dst;
    memset(&dst, 0, sizeof dst);
    dst.sll_family = AF_PACKET;
    dst.sll_protocol = htons(ETH_P_IP);
    dst.sll_ifindex = lo;
    dst.sll_halen = 6;
    KT_SYS_RET(sendto(d, pk, (size_t)n, 0, (struct sockaddr *)&dst, sizeof dst), n);
    /* the tap sees it go out and come in; the stack drops it (a packet
     * from 127.0.0.1 arriving without a route is a martian) */
    KT_EQ(next_marked(p, 1, port, "via-packet", lo), PACKET_OUTGOING);
    KT_EQ(next_marked(p, 1, port, "via-packet", lo), PACKET_HOST);
    kt_msleep(20);
    KT_SYS_ERR(recv(u, b, sizeof b, MSG_DONTWAIT), EAGAIN);
    close(s);
    close(u);
    close(d);
    close(p);
}

KT_MAIN()
