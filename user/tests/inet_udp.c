/* UDP over 127.0.0.1: datagram boundaries, sendto/recvfrom addresses,
 * MSG_TRUNC (flag and msg_flags), MSG_PEEK, EMSGSIZE above 65507, empty
 * datagrams, connect (peer filter, getpeername, AF_UNSPEC), EDESTADDRREQ,
 * ECONNREFUSED from a port unreachable on a connected socket, autobind,
 * bind rules, poll/epoll bits as datagram_poll, FIONREAD; ICMP echo
 * through a raw socket and a ping socket. */
#include "kt_inet.h"

static int udp4(void) {
    return socket(AF_INET, SOCK_DGRAM, 0);
}

static int bound_udp4(void) {
    int s = udp4();
    struct sockaddr_in a = kt_sin(KT_LOOP4, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) return -1;
    return s;
}

static char big[70000];

KT_CASE(lo_up) {
    KT_SYS_RET(kt_lo_up(), 0);
}

KT_CASE(identity_and_defaults) {
    int s = KT_SYS_OK(udp4());
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDP);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_RCVBUF), 212992);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_SNDBUF), 212992);
    KT_EQ(kt_revents(s, POLLIN | POLLOUT, 0), POLLOUT);
    KT_SYS_ERR(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &s, sizeof s), ENOPROTOOPT);
    close(s);
}

KT_CASE(sendto_recvfrom) {
    int a = KT_SYS_OK(bound_udp4());
    int b = KT_SYS_OK(bound_udp4());
    struct sockaddr_in to = kt_sin(KT_LOOP4, kt_port_of(a));
    KT_SYS_RET(sendto(b, "ping", 4, 0, (struct sockaddr *)&to, sizeof to), 4);
    char buf[16];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    KT_SYS_RET(recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl), 4);
    KT_EQ(fl, sizeof from);
    KT_EQ(from.sin_family, AF_INET);
    KT_EQ(ntohs(from.sin_port), kt_port_of(b));
    KT_EQ(ntohl(from.sin_addr.s_addr), KT_LOOP4);
    close(a);
    close(b);
}

KT_CASE(boundaries_kept) {
    int a = KT_SYS_OK(bound_udp4());
    int b = KT_SYS_OK(udp4());
    struct sockaddr_in to = kt_sin(KT_LOOP4, kt_port_of(a));
    KT_SYS_RET(sendto(b, "one", 3, 0, (struct sockaddr *)&to, sizeof to), 3);
    KT_SYS_RET(sendto(b, "second", 6, 0, (struct sockaddr *)&to, sizeof to), 6);
    KT_SYS_RET(sendto(b, "", 0, 0, (struct sockaddr *)&to, sizeof to), 0);
    char buf[64];
    KT_SYS_RET(recv(a, buf, sizeof buf, 0), 3);
    KT_SYS_RET(recv(a, buf, sizeof buf, 0), 6);
    KT_SYS_RET(recv(a, buf, sizeof buf, 0), 0);
    KT_SYS_ERR(recv(a, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    close(a);
    close(b);
}

KT_CASE(truncation) {
    int a = KT_SYS_OK(bound_udp4());
    int b = KT_SYS_OK(udp4());
    struct sockaddr_in to = kt_sin(KT_LOOP4, kt_port_of(a));
    for (int i = 0; i < 3; i++) KT_SYS_RET(sendto(b, "abcdefgh", 8, 0, (struct sockaddr *)&to, sizeof to), 8);
    char buf[4];
    KT_SYS_RET(recv(a, buf, 3, 0), 3);
    KT_SYS_RET(recv(a, buf, 3, MSG_TRUNC), 8);
    struct iovec iov = {buf, 2};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    KT_SYS_RET(recvmsg(a, &m, 0), 2);
    KT_EQ(m.msg_flags & MSG_TRUNC, MSG_TRUNC);
    close(a);
    close(b);
}

KT_CASE(peek_then_read) {
    int a = KT_SYS_OK(bound_udp4());
    int b = KT_SYS_OK(udp4());
    struct sockaddr_in to = kt_sin(KT_LOOP4, kt_port_of(a));
    KT_SYS_RET(sendto(b, "xyz", 3, 0, (struct sockaddr *)&to, sizeof to), 3);
    KT_EQ(kt_revents(a, POLLIN, 1000), POLLIN);
    int n = -1;
    KT_SYS_RET(ioctl(a, FIONREAD, &n), 0);
    KT_EQ(n, 3);
    char buf[8];
    KT_SYS_RET(recv(a, buf, sizeof buf, MSG_PEEK), 3);
    KT_SYS_RET(recv(a, buf, sizeof buf, 0), 3);
    KT_SYS_ERR(recv(a, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    close(a);
    close(b);
}

KT_CASE(largest_datagram) {
    int a = KT_SYS_OK(bound_udp4());
    int b = KT_SYS_OK(udp4());
    struct sockaddr_in to = kt_sin(KT_LOOP4, kt_port_of(a));
    for (int i = 0; i < 65507; i++) big[i] = (char)i;
    KT_SYS_ERR(sendto(b, big, 65508, 0, (struct sockaddr *)&to, sizeof to), EMSGSIZE);
    KT_SYS_RET(sendto(b, big, 65507, 0, (struct sockaddr *)&to, sizeof to), 65507);
    static char in[70000];
    KT_SYS_RET(recv(a, in, sizeof in, 0), 65507);
    KT_TRUE(memcmp(in, big, 65507) == 0, "data differs");
    close(a);
    close(b);
}

KT_CASE(connected_peer_filter) {
    int a = KT_SYS_OK(bound_udp4());
    int b = KT_SYS_OK(bound_udp4());
    int c = KT_SYS_OK(bound_udp4());
    struct sockaddr_in pb = kt_sin(KT_LOOP4, kt_port_of(b));
    KT_SYS_RET(connect(a, (struct sockaddr *)&pb, sizeof pb), 0);
    struct sockaddr_in peer;
    socklen_t l = sizeof peer;
    KT_SYS_RET(getpeername(a, (struct sockaddr *)&peer, &l), 0);
    KT_EQ(peer.sin_port, pb.sin_port);
    struct sockaddr_in pa = kt_sin(KT_LOOP4, kt_port_of(a));
    KT_SYS_RET(sendto(c, "no", 2, 0, (struct sockaddr *)&pa, sizeof pa), 2);
    KT_SYS_RET(sendto(b, "yes", 3, 0, (struct sockaddr *)&pa, sizeof pa), 3);
    char buf[8];
    KT_SYS_RET(recv(a, buf, sizeof buf, 0), 3);
    KT_SYS_ERR(recv(a, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    /* send() without an address goes to the peer */
    KT_SYS_RET(send(a, "hi", 2, 0), 2);
    KT_SYS_RET(recv(b, buf, sizeof buf, 0), 2);
    /* AF_UNSPEC dissolves the association */
    struct sockaddr un = {.sa_family = AF_UNSPEC};
    KT_SYS_RET(connect(a, &un, sizeof un), 0);
    KT_SYS_ERR(getpeername(a, (struct sockaddr *)&peer, &l), ENOTCONN);
    KT_SYS_ERR(send(a, "hi", 2, 0), EDESTADDRREQ);
    close(a);
    close(b);
    close(c);
}

KT_CASE(connected_port_unreachable) {
    int a = KT_SYS_OK(bound_udp4());
    int port = kt_port_of(a);
    close(a); /* nobody listens there now */
    int s = KT_SYS_OK(udp4());
    struct sockaddr_in to = kt_sin(KT_LOOP4, port);
    KT_SYS_RET(connect(s, (struct sockaddr *)&to, sizeof to), 0);
    KT_SYS_RET(send(s, "x", 1, 0), 1);
    /* the ICMP port unreachable becomes the connected socket's error */
    KT_EQ(kt_revents(s, POLLIN, 1000), POLLERR);
    char b;
    KT_SYS_ERR(recv(s, &b, 1, MSG_DONTWAIT), ECONNREFUSED);
    KT_SYS_ERR(recv(s, &b, 1, MSG_DONTWAIT), EAGAIN);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_ERROR), 0);
    /* an unconnected socket hears nothing of it */
    int u = KT_SYS_OK(udp4());
    KT_SYS_RET(sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof to), 1);
    KT_EQ(kt_revents(u, POLLIN, 100), 0);
    KT_EQ(kt_getint(u, SOL_SOCKET, SO_ERROR), 0);
    close(s);
    close(u);
}

KT_CASE(unconnected_errors) {
    int s = KT_SYS_OK(udp4());
    KT_SYS_ERR(send(s, "x", 1, 0), EDESTADDRREQ);
    struct sockaddr_in peer;
    socklen_t l = sizeof peer;
    KT_SYS_ERR(getpeername(s, (struct sockaddr *)&peer, &l), ENOTCONN);
    KT_SYS_ERR(shutdown(s, SHUT_RD), ENOTCONN);
    KT_SYS_ERR(listen(s, 1), EOPNOTSUPP);
    KT_SYS_ERR(accept(s, NULL, NULL), EOPNOTSUPP);
    close(s);
}

KT_CASE(autobind_on_send) {
    int a = KT_SYS_OK(bound_udp4());
    int s = KT_SYS_OK(udp4());
    KT_EQ(kt_port_of(s), 0);
    struct sockaddr_in to = kt_sin(KT_LOOP4, kt_port_of(a));
    KT_SYS_RET(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof to), 1);
    int p = kt_port_of(s);
    KT_TRUE(p >= 32768 && p <= 60999, "port %d", p);
    close(a);
    close(s);
}

KT_CASE(bind_rules) {
    int a = KT_SYS_OK(bound_udp4());
    int b = KT_SYS_OK(udp4());
    struct sockaddr_in x = kt_sin(KT_LOOP4, kt_port_of(a));
    KT_SYS_ERR(bind(b, (struct sockaddr *)&x, sizeof x), EADDRINUSE);
    /* a TCP socket may take the same port number */
    int t = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_SYS_RET(bind(t, (struct sockaddr *)&x, sizeof x), 0);
    close(t);
    close(a);
    close(b);
    int r1 = KT_SYS_OK(udp4()), r2 = KT_SYS_OK(udp4());
    KT_SYS_RET(kt_setint(r1, SOL_SOCKET, SO_REUSEADDR, 1), 0);
    KT_SYS_RET(kt_setint(r2, SOL_SOCKET, SO_REUSEADDR, 1), 0);
    x = kt_sin(KT_LOOP4, 0);
    KT_SYS_RET(bind(r1, (struct sockaddr *)&x, sizeof x), 0);
    x.sin_port = htons(kt_port_of(r1));
    KT_SYS_RET(bind(r2, (struct sockaddr *)&x, sizeof x), 0);
    close(r1);
    close(r2);
}

KT_CASE(epoll_datagram) {
    int a = KT_SYS_OK(bound_udp4());
    int ep = KT_SYS_OK(epoll_create1(0));
    struct epoll_event e = {.events = EPOLLIN, .data.fd = a};
    KT_SYS_RET(epoll_ctl(ep, EPOLL_CTL_ADD, a, &e), 0);
    int port = kt_port_of(a);
    pid_t p = KT_FORK();
    if (p == 0) {
        kt_msleep(50);
        int s = udp4();
        struct sockaddr_in to = kt_sin(KT_LOOP4, port);
        _exit(sendto(s, "e", 1, 0, (struct sockaddr *)&to, sizeof to) == 1 ? 0 : 1);
    }
    struct epoll_event out;
    KT_SYS_RET(epoll_wait(ep, &out, 1, 5000), 1);
    KT_EQ(out.events, EPOLLIN);
    KT_WAIT_STATUS(p, kt_exited(0));
    char b;
    KT_SYS_RET(recv(a, &b, 1, 0), 1);
    KT_SYS_RET(epoll_wait(ep, &out, 1, 0), 0);
    close(ep);
    close(a);
}

KT_CASE(blocking_recv_woken) {
    int a = KT_SYS_OK(bound_udp4());
    int port = kt_port_of(a);
    pid_t p = KT_FORK();
    if (p == 0) {
        kt_msleep(50);
        int s = udp4();
        struct sockaddr_in to = kt_sin(KT_LOOP4, port);
        _exit(sendto(s, "late", 4, 0, (struct sockaddr *)&to, sizeof to) == 4 ? 0 : 1);
    }
    char b[8];
    KT_SYS_RET(recv(a, b, sizeof b, 0), 4);
    KT_WAIT_STATUS(p, kt_exited(0));
    close(a);
}

static uint16_t csum(const void *d, int n) {
    const uint8_t *p = d;
    uint32_t s = 0;
    for (int i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) s += (uint32_t)p[n - 1] << 8;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

KT_CASE(raw_icmp_echo) {
    int r = KT_SYS_OK(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    uint8_t req[16] = {8, 0, 0, 0, 0x12, 0x34, 0, 7, 'k', 't', '-', 'p', 'i', 'n', 'g', '!'};
    uint16_t c = csum(req, 16);
    req[2] = (uint8_t)(c >> 8);
    req[3] = (uint8_t)c;
    struct sockaddr_in to = kt_sin(KT_LOOP4, 0);
    KT_SYS_RET(sendto(r, req, 16, 0, (struct sockaddr *)&to, sizeof to), 16);
    uint8_t in[128];
    int found = 0;
    for (int i = 0; i < 4 && !found; i++) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(r, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
        KT_EQ(n, 36);
        KT_EQ(in[0] >> 4, 4);
        KT_EQ(in[9], IPPROTO_ICMP);
        KT_EQ(ntohl(from.sin_addr.s_addr), KT_LOOP4);
        if (in[20] == 0) {
            found = 1;
            KT_EQ(in[24], 0x12);
            KT_EQ(in[25], 0x34);
            KT_TRUE(memcmp(in + 28, "kt-ping!", 8) == 0, "payload");
        }
    }
    KT_EQ(found, 1);
    close(r);
}

KT_CASE(ping_socket_echo) {
    /* Linux allows ping sockets only to groups in ping_group_range */
    int f = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY);
    if (f >= 0) {
        KT_SYS_RET(write(f, "0 0\n", 4), 4);
        close(f);
    }
    int s = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP));
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_PROTOCOL), IPPROTO_ICMP);
    uint8_t req[12] = {8, 0, 0, 0, 0, 0, 0, 1, 'p', 'o', 'n', 'g'};
    struct sockaddr_in to = kt_sin(KT_LOOP4, 0);
    KT_SYS_RET(sendto(s, req, 12, 0, (struct sockaddr *)&to, sizeof to), 12);
    uint8_t in[64];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    KT_SYS_RET(recvfrom(s, in, sizeof in, 0, (struct sockaddr *)&from, &fl), 12);
    KT_EQ(in[0], 0);
    KT_EQ(ntohl(from.sin_addr.s_addr), KT_LOOP4);
    KT_EQ(in[4] << 8 | in[5], kt_port_of(s));
    KT_TRUE(memcmp(in + 8, "pong", 4) == 0, "payload");
    close(s);
}

KT_MAIN()
