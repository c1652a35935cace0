/* IP-level control messages and UDP-Lite over lo, as CPython's
 * test_socket uses them: RFC 3542 receive options (IPV6_RECVHOPLIMIT,
 * IPV6_RECVTCLASS, IPV6_RECVPKTINFO) and sendmsg's IPV6_HOPLIMIT/
 * IPV6_TCLASS with Linux's layout, order, MSG_CTRUNC rules and errno;
 * IPv4's IP_PKTINFO/IP_RECVTTL/IP_RECVTOS and IP_TTL/IP_TOS messages;
 * IPPROTO_UDPLITE sockets and their coverage options. */
#include "kt_inet.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define SOL_UDPLITE 136
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11

static const struct in6_addr loop6 = IN6ADDR_LOOPBACK_INIT;

static int bound(int fam, int proto) {
    int s = socket(fam, SOCK_DGRAM, proto);
    if (s < 0) return -1;
    int r;
    if (fam == AF_INET) {
        struct sockaddr_in a = kt_sin(KT_LOOP4, 0);
        r = bind(s, (struct sockaddr *)&a, sizeof a);
    } else {
        struct sockaddr_in6 a = kt_sin6(&loop6, 0);
        r = bind(s, (struct sockaddr *)&a, sizeof a);
    }
    if (r != 0) {
        close(s);
        return -1;
    }
    return s;
}

/* sendmsg of "hi" from s to the port of `to` on the family's loopback,
 * with `n` control messages of one int each (level, type, value) or raw
 * `ctl` bytes when given. */
static ssize_t send_ctl(int s, int fam, int port, const void *ctl, size_t ctllen) {
    struct sockaddr_in a4 = kt_sin(KT_LOOP4, (uint16_t)port);
    struct sockaddr_in6 a6 = kt_sin6(&loop6, (uint16_t)port);
    struct iovec iov = {.iov_base = "hi", .iov_len = 2};
    struct msghdr m = {0};
    m.msg_name = fam == AF_INET ? (void *)&a4 : (void *)&a6;
    m.msg_namelen = fam == AF_INET ? sizeof a4 : sizeof a6;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = (void *)ctl;
    m.msg_controllen = ctllen;
    return sendmsg(s, &m, 0);
}

/* Builds control messages of one int each into buf; returns the length. */
static size_t ints(char *buf, size_t cap, int n, const int (*items)[3]) {
    memset(buf, 0, cap);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        struct cmsghdr *c = (struct cmsghdr *)(buf + off);
        c->cmsg_len = CMSG_LEN(sizeof(int));
        c->cmsg_level = items[i][0];
        c->cmsg_type = items[i][1];
        memcpy(CMSG_DATA(c), &items[i][2], sizeof(int));
        off += CMSG_SPACE(sizeof(int));
    }
    return off;
}

struct got {
    ssize_t n;
    int flags;
    size_t controllen;
    char ctl[256];
};

static void recv_ctl(int s, size_t space, int null_ctl, struct got *g) {
    char data[16];
    struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    memset(g->ctl, 0x55, sizeof g->ctl);
    m.msg_control = null_ctl ? NULL : g->ctl;
    m.msg_controllen = space;
    g->n = recvmsg(s, &m, 0);
    g->flags = m.msg_flags;
    g->controllen = m.msg_controllen;
}

static int cmsg_int(const struct cmsghdr *c) {
    int v;
    memcpy(&v, CMSG_DATA(c), sizeof v);
    return v;
}

KT_CASE(lo_up) {
    KT_SYS_RET(kt_lo_up(), 0);
}

KT_CASE(udplite_sockets_and_coverage) {
    KT_SYS_ERR(socket(AF_INET, SOCK_STREAM, IPPROTO_UDPLITE), EPROTONOSUPPORT);
    int a = KT_SYS_OK(bound(AF_INET, IPPROTO_UDPLITE));
    int b = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE));
    KT_EQ(kt_getint(a, SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDPLITE);
    KT_EQ(kt_getint(a, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
    KT_EQ(kt_getint(a, SOL_UDPLITE, UDPLITE_SEND_CSCOV), 0);
    KT_SYS_RET(kt_setint(a, SOL_UDPLITE, UDPLITE_SEND_CSCOV, 5), 0);
    KT_EQ(kt_getint(a, SOL_UDPLITE, UDPLITE_SEND_CSCOV), 8);
    KT_SYS_RET(kt_setint(a, SOL_UDPLITE, UDPLITE_RECV_CSCOV, 100000), 0);
    KT_EQ(kt_getint(a, SOL_UDPLITE, UDPLITE_RECV_CSCOV), 65535);
    /* SOL_UDP reaches the same options */
    KT_SYS_RET(kt_setint(a, IPPROTO_UDP, UDPLITE_RECV_CSCOV, 0), 0);
    KT_EQ(kt_getint(a, IPPROTO_UDP, UDPLITE_RECV_CSCOV), 0);
    short sh = 1;
    KT_SYS_ERR(setsockopt(a, SOL_UDPLITE, UDPLITE_SEND_CSCOV, &sh, sizeof sh), EINVAL);
    /* a plain UDP socket reads 0 and cannot set them */
    int u = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    KT_SYS_ERR(kt_setint(u, SOL_UDPLITE, UDPLITE_SEND_CSCOV, 20), ENOPROTOOPT);
    KT_EQ(kt_getint(u, SOL_UDPLITE, UDPLITE_SEND_CSCOV), 0);
    struct sockaddr_in to = kt_sin(KT_LOOP4, kt_port_of(a));
    KT_SYS_RET(sendto(b, "lite", 4, 0, (struct sockaddr *)&to, sizeof to), 4);
    char buf[8];
    KT_SYS_RET(recv(a, buf, sizeof buf, 0), 4);
    KT_EQ(memcmp(buf, "lite", 4), 0);
    close(u);
    close(a);
    close(b);
    a = KT_SYS_OK(bound(AF_INET6, IPPROTO_UDPLITE));
    b = KT_SYS_OK(socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDPLITE));
    struct sockaddr_in6 to6 = kt_sin6(&loop6, kt_port_of(a));
    KT_SYS_RET(sendto(b, "six", 3, 0, (struct sockaddr *)&to6, sizeof to6), 3);
    KT_SYS_RET(recv(a, buf, sizeof buf, 0), 3);
    close(a);
    close(b);
}

KT_CASE(ipv6_option_values) {
    int s = KT_SYS_OK(socket(AF_INET6, SOCK_DGRAM, 0));
    KT_EQ(kt_getint(s, IPPROTO_IPV6, IPV6_RECVHOPLIMIT), 0);
    KT_SYS_RET(kt_setint(s, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 7), 0);
    KT_EQ(kt_getint(s, IPPROTO_IPV6, IPV6_RECVHOPLIMIT), 1);
    short sh = 1;
    KT_SYS_ERR(setsockopt(s, IPPROTO_IPV6, IPV6_RECVTCLASS, &sh, sizeof sh), EINVAL);
    KT_EQ(kt_getint(s, IPPROTO_IPV6, IPV6_TCLASS), 0);
    KT_SYS_RET(kt_setint(s, IPPROTO_IPV6, IPV6_TCLASS, 0x28), 0);
    KT_EQ(kt_getint(s, IPPROTO_IPV6, IPV6_TCLASS), 0x28);
    KT_SYS_RET(kt_setint(s, IPPROTO_IPV6, IPV6_TCLASS, -1), 0);
    KT_EQ(kt_getint(s, IPPROTO_IPV6, IPV6_TCLASS), 0);
    KT_SYS_ERR(kt_setint(s, IPPROTO_IPV6, IPV6_TCLASS, 256), EINVAL);
    KT_SYS_ERR(kt_setint(s, IPPROTO_IPV6, IPV6_HOPLIMIT, 1), ENOPROTOOPT);
    /* IPv4's receive options on an AF_INET6 socket, and not the reverse */
    KT_SYS_RET(kt_setint(s, IPPROTO_IP, IP_RECVTTL, 1), 0);
    KT_EQ(kt_getint(s, IPPROTO_IP, IP_RECVTTL), 1);
    int v4 = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    KT_SYS_ERR(kt_setint(v4, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1), ENOPROTOOPT);
    /* IP_TOS takes a byte */
    char tos = 0x10;
    KT_SYS_RET(setsockopt(v4, IPPROTO_IP, IP_TOS, &tos, 1), 0);
    KT_EQ(kt_getint(v4, IPPROTO_IP, IP_TOS), 0x10);
    close(v4);
    close(s);
}

KT_CASE(ipv6_hoplimit_and_tclass_received) {
    int a = KT_SYS_OK(bound(AF_INET6, 0));
    int b = KT_SYS_OK(socket(AF_INET6, SOCK_DGRAM, 0));
    int port = kt_port_of(a);
    KT_SYS_RET(kt_setint(a, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1), 0);
    struct got g;
    /* the default hop limit on lo */
    KT_SYS_RET(send_ctl(b, AF_INET6, port, NULL, 0), 2);
    recv_ctl(a, 256, 0, &g);
    KT_EQ(g.n, 2);
    KT_EQ(g.flags, 0);
    KT_EQ(g.controllen, CMSG_SPACE(sizeof(int)));
    struct cmsghdr *c = (struct cmsghdr *)g.ctl;
    KT_EQ(c->cmsg_len, CMSG_LEN(sizeof(int)));
    KT_EQ(c->cmsg_level, IPPROTO_IPV6);
    KT_EQ(c->cmsg_type, IPV6_HOPLIMIT);
    KT_EQ(cmsg_int(c), 64);
    /* sendmsg's IPV6_HOPLIMIT and IPV6_TCLASS; HOPLIMIT comes first */
    KT_SYS_RET(kt_setint(a, IPPROTO_IPV6, IPV6_RECVTCLASS, 1), 0);
    char ctl[64];
    const int items[2][3] = {{IPPROTO_IPV6, IPV6_TCLASS, 0x20}, {IPPROTO_IPV6, IPV6_HOPLIMIT, 2}};
    KT_SYS_RET(send_ctl(b, AF_INET6, port, ctl, ints(ctl, sizeof ctl, 2, items)), 2);
    recv_ctl(a, 256, 0, &g);
    KT_EQ(g.n, 2);
    KT_EQ(g.controllen, 2 * CMSG_SPACE(sizeof(int)));
    c = (struct cmsghdr *)g.ctl;
    KT_EQ(c->cmsg_type, IPV6_HOPLIMIT);
    KT_EQ(cmsg_int(c), 2);
    c = (struct cmsghdr *)(g.ctl + CMSG_SPACE(sizeof(int)));
    KT_EQ(c->cmsg_type, IPV6_TCLASS);
    KT_EQ(cmsg_int(c), 0x20);
    /* the socket's traffic class; -1 in a message means the socket's */
    KT_SYS_RET(kt_setint(b, IPPROTO_IPV6, IPV6_TCLASS, 0x40), 0);
    const int dflt[1][3] = {{IPPROTO_IPV6, IPV6_TCLASS, -1}};
    KT_SYS_RET(send_ctl(b, AF_INET6, port, ctl, ints(ctl, sizeof ctl, 1, dflt)), 2);
    recv_ctl(a, 256, 0, &g);
    c = (struct cmsghdr *)(g.ctl + CMSG_SPACE(sizeof(int)));
    KT_EQ(cmsg_int(c), 0x40);
    close(a);
    close(b);
}

KT_CASE(ipv6_truncation) {
    int a = KT_SYS_OK(bound(AF_INET6, 0));
    int b = KT_SYS_OK(socket(AF_INET6, SOCK_DGRAM, 0));
    int port = kt_port_of(a);
    KT_SYS_RET(kt_setint(a, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1), 0);
    struct got g;
    /* no buffer: MSG_CTRUNC, nothing */
    KT_SYS_RET(send_ctl(b, AF_INET6, port, NULL, 0), 2);
    recv_ctl(a, 0, 1, &g);
    KT_EQ(g.n, 2);
    KT_EQ(g.flags, MSG_CTRUNC);
    KT_EQ(g.controllen, 0);
    /* less than a header */
    KT_SYS_RET(send_ctl(b, AF_INET6, port, NULL, 0), 2);
    recv_ctl(a, CMSG_LEN(0) - 1, 0, &g);
    KT_EQ(g.flags, MSG_CTRUNC);
    KT_EQ(g.controllen, 0);
    /* inside the data: the header and 3 bytes */
    KT_SYS_RET(send_ctl(b, AF_INET6, port, NULL, 0), 2);
    recv_ctl(a, CMSG_LEN(sizeof(int)) - 1, 0, &g);
    KT_EQ(g.flags, MSG_CTRUNC);
    KT_EQ(g.controllen, CMSG_LEN(sizeof(int)) - 1);
    KT_EQ(((struct cmsghdr *)g.ctl)->cmsg_len, CMSG_LEN(sizeof(int)) - 1);
    /* exactly CMSG_LEN: whole, no flag */
    KT_SYS_RET(send_ctl(b, AF_INET6, port, NULL, 0), 2);
    recv_ctl(a, CMSG_LEN(sizeof(int)), 0, &g);
    KT_EQ(g.flags, 0);
    KT_EQ(g.controllen, CMSG_LEN(sizeof(int)));
    /* the second of two gets no header */
    KT_SYS_RET(kt_setint(a, IPPROTO_IPV6, IPV6_RECVTCLASS, 1), 0);
    KT_SYS_RET(send_ctl(b, AF_INET6, port, NULL, 0), 2);
    recv_ctl(a, CMSG_SPACE(sizeof(int)) + 1, 0, &g);
    KT_EQ(g.flags, MSG_CTRUNC);
    KT_EQ(g.controllen, CMSG_SPACE(sizeof(int)));
    KT_EQ(((struct cmsghdr *)g.ctl)->cmsg_type, IPV6_HOPLIMIT);
    close(a);
    close(b);
}

KT_CASE(ipv6_sendmsg_errors) {
    int a = KT_SYS_OK(bound(AF_INET6, 0));
    int b = KT_SYS_OK(socket(AF_INET6, SOCK_DGRAM, 0));
    int port = kt_port_of(a);
    char ctl[64];
    /* a TCLASS one byte too long */
    memset(ctl, 0, sizeof ctl);
    struct cmsghdr *c = (struct cmsghdr *)ctl;
    c->cmsg_len = CMSG_LEN(sizeof(int) + 1);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_TCLASS;
    KT_SYS_ERR(send_ctl(b, AF_INET6, port, ctl, CMSG_SPACE(sizeof(int) + 1)), EINVAL);
    const int big[1][3] = {{IPPROTO_IPV6, IPV6_HOPLIMIT, 256}};
    KT_SYS_ERR(send_ctl(b, AF_INET6, port, ctl, ints(ctl, sizeof ctl, 1, big)), EINVAL);
    const int unknown[1][3] = {{IPPROTO_IPV6, 9999, 0}};
    KT_SYS_ERR(send_ctl(b, AF_INET6, port, ctl, ints(ctl, sizeof ctl, 1, unknown)), EINVAL);
    /* a cmsg_len past the buffer */
    ints(ctl, sizeof ctl, 1, big);
    c->cmsg_len = 100;
    KT_SYS_ERR(send_ctl(b, AF_INET6, port, ctl, CMSG_SPACE(sizeof(int))), EINVAL);
    /* SOL_IP messages are not looked at on an IPv6 send */
    const int other[1][3] = {{IPPROTO_IP, IP_TTL, 0}};
    KT_SYS_RET(send_ctl(b, AF_INET6, port, ctl, ints(ctl, sizeof ctl, 1, other)), 2);
    close(a);
    close(b);
}

KT_CASE(ipv4_pktinfo_ttl_tos) {
    int a = KT_SYS_OK(bound(AF_INET, 0));
    int b = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    int port = kt_port_of(a);
    KT_SYS_RET(kt_setint(a, IPPROTO_IP, IP_RECVTOS, 1), 0);
    KT_SYS_RET(kt_setint(a, IPPROTO_IP, IP_RECVTTL, 1), 0);
    KT_SYS_RET(kt_setint(a, IPPROTO_IP, IP_PKTINFO, 1), 0);
    KT_EQ(kt_getint(a, IPPROTO_IP, IP_PKTINFO), 1);
    char ctl[64];
    const int items[1][3] = {{IPPROTO_IP, IP_TTL, 3}};
    KT_SYS_RET(kt_setint(b, IPPROTO_IP, IP_TOS, 0x10), 0);
    KT_SYS_RET(send_ctl(b, AF_INET, port, ctl, ints(ctl, sizeof ctl, 1, items)), 2);
    struct got g;
    recv_ctl(a, 256, 0, &g);
    KT_EQ(g.n, 2);
    KT_EQ(g.flags, 0);
    /* IP_PKTINFO, IP_TTL, IP_TOS (one byte) */
    KT_EQ(g.controllen, CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(int)) + CMSG_SPACE(1));
    struct cmsghdr *c = (struct cmsghdr *)g.ctl;
    KT_EQ(c->cmsg_type, IP_PKTINFO);
    KT_EQ(c->cmsg_len, CMSG_LEN(sizeof(struct in_pktinfo)));
    struct in_pktinfo pi;
    memcpy(&pi, CMSG_DATA(c), sizeof pi);
    KT_EQ(pi.ipi_ifindex, 1);
    KT_EQ(ntohl(pi.ipi_addr.s_addr), KT_LOOP4);
    KT_EQ(ntohl(pi.ipi_spec_dst.s_addr), KT_LOOP4);
    c = (struct cmsghdr *)(g.ctl + CMSG_SPACE(sizeof(struct in_pktinfo)));
    KT_EQ(c->cmsg_type, IP_TTL);
    KT_EQ(cmsg_int(c), 3);
    c = (struct cmsghdr *)((char *)c + CMSG_SPACE(sizeof(int)));
    KT_EQ(c->cmsg_type, IP_TOS);
    KT_EQ(c->cmsg_len, CMSG_LEN(1));
    KT_EQ((unsigned char)*CMSG_DATA(c), 0x10);
    const int zero[1][3] = {{IPPROTO_IP, IP_TTL, 0}};
    KT_SYS_ERR(send_ctl(b, AF_INET, port, ctl, ints(ctl, sizeof ctl, 1, zero)), EINVAL);
    const int unknown[1][3] = {{IPPROTO_IP, 9999, 0}};
    KT_SYS_ERR(send_ctl(b, AF_INET, port, ctl, ints(ctl, sizeof ctl, 1, unknown)), EINVAL);
    close(a);
    close(b);
}

KT_CASE(ipv6_pktinfo_of_a_v4_packet) {
    int a = KT_SYS_OK(socket(AF_INET6, SOCK_DGRAM, 0));
    struct sockaddr_in6 any = kt_sin6(&in6addr_any, 0);
    KT_SYS_RET(bind(a, (struct sockaddr *)&any, sizeof any), 0);
    KT_SYS_RET(kt_setint(a, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1), 0);
    KT_SYS_RET(kt_setint(a, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1), 0);
    int b = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    KT_SYS_RET(send_ctl(b, AF_INET, kt_port_of(a), NULL, 0), 2);
    struct got g;
    recv_ctl(a, 256, 0, &g);
    KT_EQ(g.n, 2);
    /* IPV6_PKTINFO only: the hop limit is IPv6's */
    KT_EQ(g.controllen, CMSG_SPACE(sizeof(struct in6_pktinfo)));
    struct cmsghdr *c = (struct cmsghdr *)g.ctl;
    KT_EQ(c->cmsg_type, IPV6_PKTINFO);
    struct in6_pktinfo pi;
    memcpy(&pi, CMSG_DATA(c), sizeof pi);
    KT_EQ(pi.ipi6_ifindex, 1);
    KT_TRUE(IN6_IS_ADDR_V4MAPPED(&pi.ipi6_addr), "not v4-mapped");
    KT_EQ(pi.ipi6_addr.s6_addr[15], 1);
    close(a);
    close(b);
}

KT_CASE(socket_level_messages_on_udp) {
    int a = KT_SYS_OK(bound(AF_INET, 0));
    int b = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    int port = kt_port_of(a);
    char ctl[64];
    /* SCM_RIGHTS and SCM_CREDENTIALS are AF_UNIX's: __sock_cmsg_send
     * lets them by, unread */
    const int rights[1][3] = {{SOL_SOCKET, SCM_RIGHTS, 0}};
    KT_SYS_RET(send_ctl(b, AF_INET, port, ctl, ints(ctl, sizeof ctl, 1, rights)), 2);
    const int bad_fd[1][3] = {{SOL_SOCKET, SCM_RIGHTS, -1}};
    KT_SYS_RET(send_ctl(b, AF_INET, port, ctl, ints(ctl, sizeof ctl, 1, bad_fd)), 2);
    const int creds[1][3] = {{SOL_SOCKET, SCM_CREDENTIALS, 0}};
    KT_SYS_RET(send_ctl(b, AF_INET, port, ctl, ints(ctl, sizeof ctl, 1, creds)), 2);
    /* an unknown SOL_SOCKET type */
    const int other[1][3] = {{SOL_SOCKET, 9999, 0}};
    KT_SYS_ERR(send_ctl(b, AF_INET, port, ctl, ints(ctl, sizeof ctl, 1, other)), EINVAL);
    close(a);
    close(b);
}

KT_MAIN()
