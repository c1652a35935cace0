/* TCP over 127.0.0.1: socket options and identities, bind rules (ephemeral
 * ports, EADDRINUSE, SO_REUSEADDR, EADDRNOTAVAIL, EINVAL), connect (blocking,
 * non-blocking with EINPROGRESS then SO_ERROR, ECONNREFUSED, EISCONN),
 * accept, data both ways, shutdown each way, EOF, reset (ECONNRESET, EPIPE,
 * SIGPIPE), SO_LINGER, SO_RCVTIMEO, poll and epoll bits as Linux's tcp_poll,
 * a peer killed in the middle of a 64 MiB transfer. */
#include "kt_inet.h"

static char big[1 << 20];

KT_CASE(lo_is_up) {
    KT_SYS_RET(kt_lo_up(), 0);
    int s = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    KT_SYS_RET(ioctl(s, SIOCGIFFLAGS, &r), 0);
    KT_EQ(r.ifr_flags & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING), IFF_UP | IFF_LOOPBACK | IFF_RUNNING);
    KT_SYS_RET(ioctl(s, SIOCGIFINDEX, &r), 0);
    KT_EQ(r.ifr_ifindex, 1);
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    KT_SYS_RET(ioctl(s, SIOCGIFADDR, &r), 0);
    struct sockaddr_in *a = (struct sockaddr_in *)&r.ifr_addr;
    KT_EQ(a->sin_family, AF_INET);
    KT_EQ(ntohl(a->sin_addr.s_addr), KT_LOOP4);
    KT_SYS_RET(ioctl(s, SIOCGIFNETMASK, &r), 0);
    KT_EQ(ntohl(a->sin_addr.s_addr), 0xff000000u);
    KT_SYS_RET(ioctl(s, SIOCGIFMTU, &r), 0);
    KT_EQ(r.ifr_mtu, 65536);
    strcpy(r.ifr_name, "nosuch0");
    KT_SYS_ERR(ioctl(s, SIOCGIFFLAGS, &r), ENODEV);
    close(s);
}

KT_CASE(socket_identity) {
    int s = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_DOMAIN), AF_INET);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_ACCEPTCONN), 0);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_ERROR), 0);
    close(s);
    KT_SYS_ERR(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    KT_SYS_ERR(socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);
}

KT_CASE(unbound_names) {
    int s = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    memset(&a, 0xff, sizeof a);
    KT_SYS_RET(getsockname(s, (struct sockaddr *)&a, &l), 0);
    KT_EQ(l, sizeof a);
    KT_EQ(a.sin_family, AF_INET);
    KT_EQ(a.sin_port, 0);
    KT_EQ(a.sin_addr.s_addr, 0);
    KT_SYS_ERR(getpeername(s, (struct sockaddr *)&a, &l), ENOTCONN);
    close(s);
}

KT_CASE(fresh_socket_poll) {
    int s = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_EQ(kt_revents(s, POLLIN | POLLOUT | POLLRDHUP, 0), POLLOUT | POLLHUP);
    close(s);
}

KT_CASE(bind_ephemeral_port) {
    int s = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a = kt_sin(INADDR_ANY, 0);
    KT_SYS_RET(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    int p = kt_port_of(s);
    KT_TRUE(p >= 32768 && p <= 60999, "port %d", p);
    KT_SYS_ERR(bind(s, (struct sockaddr *)&a, sizeof a), EINVAL);
    close(s);
}

KT_CASE(bind_in_use) {
    int a = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    int b = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in x = kt_sin(INADDR_ANY, 0);
    KT_SYS_RET(bind(a, (struct sockaddr *)&x, sizeof x), 0);
    struct sockaddr_in y = kt_sin(KT_LOOP4, kt_port_of(a));
    KT_SYS_ERR(bind(b, (struct sockaddr *)&y, sizeof y), EADDRINUSE);
    close(a);
    /* free again once the first is closed */
    KT_SYS_RET(bind(b, (struct sockaddr *)&y, sizeof y), 0);
    close(b);
}

KT_CASE(bind_reuseaddr) {
    int a = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    int b = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_SYS_RET(kt_setint(a, SOL_SOCKET, SO_REUSEADDR, 1), 0);
    KT_SYS_RET(kt_setint(b, SOL_SOCKET, SO_REUSEADDR, 1), 0);
    KT_EQ(kt_getint(a, SOL_SOCKET, SO_REUSEADDR), 1);
    struct sockaddr_in x = kt_sin(KT_LOOP4, 0);
    KT_SYS_RET(bind(a, (struct sockaddr *)&x, sizeof x), 0);
    x.sin_port = htons(kt_port_of(a));
    KT_SYS_RET(bind(b, (struct sockaddr *)&x, sizeof x), 0);
    KT_SYS_RET(listen(a, 1), 0);
    KT_EQ(kt_getint(a, SOL_SOCKET, SO_ACCEPTCONN), 1);
    KT_SYS_ERR(listen(b, 1), EADDRINUSE);
    close(a);
    close(b);
}

KT_CASE(bind_reuseport_listeners) {
    int a = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    int b = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_SYS_RET(kt_setint(a, SOL_SOCKET, SO_REUSEPORT, 1), 0);
    KT_SYS_RET(kt_setint(b, SOL_SOCKET, SO_REUSEPORT, 1), 0);
    KT_EQ(kt_getint(b, SOL_SOCKET, SO_REUSEPORT), 1);
    struct sockaddr_in x = kt_sin(KT_LOOP4, 0);
    KT_SYS_RET(bind(a, (struct sockaddr *)&x, sizeof x), 0);
    x.sin_port = htons(kt_port_of(a));
    KT_SYS_RET(bind(b, (struct sockaddr *)&x, sizeof x), 0);
    KT_SYS_RET(listen(a, 1), 0);
    KT_SYS_RET(listen(b, 1), 0);
    close(a);
    close(b);
}

KT_CASE(bind_bad_addresses) {
    int s = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in x = kt_sin(0x0a090807, 0); /* 10.9.8.7: not ours */
    KT_SYS_ERR(bind(s, (struct sockaddr *)&x, sizeof x), EADDRNOTAVAIL);
    x = kt_sin(KT_LOOP4, 0);
    KT_SYS_ERR(bind(s, (struct sockaddr *)&x, sizeof x - 1), EINVAL);
    x.sin_family = AF_INET6;
    KT_SYS_ERR(bind(s, (struct sockaddr *)&x, sizeof x), EAFNOSUPPORT);
    KT_SYS_ERR(bind(s, (struct sockaddr *)1, sizeof x), EFAULT);
    close(s);
}

KT_CASE(connect_refused_blocking) {
    int l = KT_SYS_OK(kt_listener4(1));
    int port = kt_port_of(l);
    close(l); /* nobody listens there now */
    int s = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a = kt_sin(KT_LOOP4, port);
    KT_SYS_ERR(connect(s, (struct sockaddr *)&a, sizeof a), ECONNREFUSED);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_ERROR), 0);
    close(s);
}

KT_CASE(connect_refused_nonblocking) {
    int l = KT_SYS_OK(kt_listener4(1));
    int port = kt_port_of(l);
    close(l);
    int s = KT_SYS_OK(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    struct sockaddr_in a = kt_sin(KT_LOOP4, port);
    KT_SYS_ERR(connect(s, (struct sockaddr *)&a, sizeof a), EINPROGRESS);
    int ev = kt_revents(s, POLLIN | POLLOUT, 1000);
    KT_TRUE((ev & (POLLERR | POLLHUP)) == (POLLERR | POLLHUP), "revents %#x", ev);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_ERROR), 0);
    /* SO_ERROR took the error: connect reports the attempt aborted */
    KT_SYS_ERR(connect(s, (struct sockaddr *)&a, sizeof a), ECONNABORTED);
    close(s);
}

KT_CASE(connect_nonblocking_then_isconn) {
    int l = KT_SYS_OK(kt_listener4(2));
    int s = KT_SYS_OK(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    struct sockaddr_in a = kt_sin(KT_LOOP4, kt_port_of(l));
    KT_SYS_ERR(connect(s, (struct sockaddr *)&a, sizeof a), EINPROGRESS);
    int ev = kt_revents(s, POLLOUT, 1000);
    KT_EQ(ev, POLLOUT);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_ERROR), 0);
    /* the first connect after the handshake completes it (0), then EISCONN */
    KT_SYS_RET(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    KT_SYS_ERR(connect(s, (struct sockaddr *)&a, sizeof a), EISCONN);
    int c = KT_SYS_OK(accept(l, NULL, NULL));
    close(c);
    close(s);
    close(l);
}

KT_CASE(connect_blocking_isconn) {
    int c, s;
    KT_SYS_RET(kt_tcp_pair4(&c, &s), 0);
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    KT_SYS_RET(getpeername(c, (struct sockaddr *)&a, &l), 0);
    KT_SYS_ERR(connect(c, (struct sockaddr *)&a, sizeof a), EISCONN);
    close(c);
    close(s);
}

KT_CASE(accept_addresses) {
    int l = KT_SYS_OK(kt_listener4(2));
    int c = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a = kt_sin(KT_LOOP4, kt_port_of(l));
    KT_SYS_RET(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    struct sockaddr_in peer, cname, sname, speer;
    socklen_t pl = sizeof peer, l2 = sizeof cname;
    int s = KT_SYS_OK(accept(l, (struct sockaddr *)&peer, &pl));
    KT_EQ(pl, sizeof peer);
    KT_SYS_RET(getsockname(c, (struct sockaddr *)&cname, &l2), 0);
    KT_EQ(peer.sin_port, cname.sin_port);
    KT_EQ(ntohl(peer.sin_addr.s_addr), KT_LOOP4);
    int cp = ntohs(cname.sin_port);
    KT_TRUE(cp >= 32768 && cp <= 60999, "port %d", cp);
    l2 = sizeof sname;
    KT_SYS_RET(getsockname(s, (struct sockaddr *)&sname, &l2), 0);
    KT_EQ(sname.sin_port, a.sin_port);
    l2 = sizeof speer;
    KT_SYS_RET(getpeername(s, (struct sockaddr *)&speer, &l2), 0);
    KT_EQ(speer.sin_port, cname.sin_port);
    close(c);
    close(s);
    close(l);
}

KT_CASE(listen_autobinds) {
    int l = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_SYS_RET(listen(l, 1), 0);
    int p = kt_port_of(l);
    KT_TRUE(p >= 32768 && p <= 60999, "port %d", p);
    int c = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a = kt_sin(KT_LOOP4, p);
    KT_SYS_RET(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    close(c);
    close(l);
}

KT_CASE(connect_to_any_is_local) {
    int l = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a = kt_sin(INADDR_ANY, 0);
    KT_SYS_RET(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    KT_SYS_RET(listen(l, 1), 0);
    int c = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    a.sin_port = htons(kt_port_of(l));
    KT_SYS_RET(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    close(c);
    close(l);
}

KT_CASE(accept_nonblocking_empty) {
    int l = KT_SYS_OK(kt_listener4(1));
    KT_SYS_RET(fcntl(l, F_SETFL, O_NONBLOCK), 0);
    KT_SYS_ERR(accept(l, NULL, NULL), EAGAIN);
    KT_EQ(kt_revents(l, POLLIN | POLLOUT, 0), 0);
    int s = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_SYS_ERR(accept(s, NULL, NULL), EINVAL);
    close(s);
    close(l);
}

KT_CASE(listener_close_resets_queue) {
    int l = KT_SYS_OK(kt_listener4(2));
    int c = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a = kt_sin(KT_LOOP4, kt_port_of(l));
    KT_SYS_RET(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    close(l); /* the connection was never accepted */
    KT_EQ(kt_revents(c, POLLIN, 1000) & POLLERR, POLLERR);
    char b;
    KT_SYS_ERR(read(c, &b, 1), ECONNRESET);
    close(c);
}

KT_CASE(data_both_ways) {
    int c, s;
    KT_SYS_RET(kt_tcp_pair4(&c, &s), 0);
    KT_SYS_RET(write(c, "hello", 5), 5);
    char b[16] = {0};
    KT_SYS_RET(recv(s, b, sizeof b, MSG_PEEK), 5);
    KT_SYS_RET(read(s, b, sizeof b), 5);
    KT_TRUE(memcmp(b, "hello", 5) == 0, "%.5s", b);
    KT_SYS_RET(send(s, "world!", 6, 0), 6);
    KT_SYS_RET(recv(c, b, sizeof b, 0), 6);
    KT_SYS_ERR(recv(c, b, sizeof b, MSG_DONTWAIT), EAGAIN);
    close(c);
    close(s);
}

KT_CASE(fionread_and_outq) {
    int c, s;
    KT_SYS_RET(kt_tcp_pair4(&c, &s), 0);
    KT_SYS_RET(write(c, "abcdefg", 7), 7);
    KT_EQ(kt_revents(s, POLLIN, 1000), POLLIN);
    int n = -1;
    KT_SYS_RET(ioctl(s, FIONREAD, &n), 0);
    KT_EQ(n, 7);
    close(c);
    close(s);
}

KT_CASE(epoll_readiness) {
    int c, s;
    KT_SYS_RET(kt_tcp_pair4(&c, &s), 0);
    int ep = KT_SYS_OK(epoll_create1(0));
    struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = s};
    KT_SYS_RET(epoll_ctl(ep, EPOLL_CTL_ADD, s, &e), 0);
    struct epoll_event out[2];
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        kt_msleep(50);
        if (write(c, "x", 1) != 1) _exit(1);
        kt_msleep(50);
        shutdown(c, SHUT_WR);
        _exit(0);
    }
    KT_SYS_RET(epoll_wait(ep, out, 2, 5000), 1);
    KT_EQ(out[0].events, EPOLLIN);
    char b;
    KT_SYS_RET(read(s, &b, 1), 1);
    KT_SYS_RET(epoll_wait(ep, out, 2, 5000), 1);
    KT_EQ(out[0].events, EPOLLIN | EPOLLRDHUP);
    KT_WAIT_STATUS(p, kt_exited(0));
    close(ep);
    close(c);
    close(s);
}

KT_CASE(epoll_listener) {
    int l = KT_SYS_OK(kt_listener4(2));
    int ep = KT_SYS_OK(epoll_create1(0));
    struct epoll_event e = {.events = EPOLLIN, .data.fd = l};
    KT_SYS_RET(epoll_ctl(ep, EPOLL_CTL_ADD, l, &e), 0);
    int port = kt_port_of(l);
    pid_t p = KT_FORK();
    if (p == 0) {
        kt_msleep(50);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = kt_sin(KT_LOOP4, port);
        _exit(connect(c, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : 1);
    }
    struct epoll_event out;
    KT_SYS_RET(epoll_wait(ep, &out, 1, 5000), 1);
    KT_EQ(out.events, EPOLLIN);
    int s = KT_SYS_OK(accept(l, NULL, NULL));
    KT_WAIT_STATUS(p, kt_exited(0));
    close(s);
    close(ep);
    close(l);
}

KT_CASE(eof_after_peer_close) {
    int c, s;
    KT_SYS_RET(kt_tcp_pair4(&c, &s), 0);
    KT_SYS_RET(write(c, "z", 1), 1);
    close(c);
    char b[4];
    KT_SYS_RET(read(s, b, 4), 1);
    KT_SYS_RET(read(s, b, 4), 0);
    int ev = kt_revents(s, POLLIN | POLLOUT | POLLRDHUP, 0);
    KT_TRUE((ev & (POLLIN | POLLRDHUP)) == (POLLIN | POLLRDHUP), "revents %#x", ev);
    close(s);
}

KT_CASE(shutdown_write) {
    int c, s;
    KT_SYS_RET(kt_tcp_pair4(&c, &s), 0);
    KT_SYS_RET(shutdown(c, SHUT_WR), 0);
    char b[4];
    KT_SYS_RET(read(s, b, 4), 0);
    KT_SYS_ERR(send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
    KT_SYS_RET(write(s, "back", 4), 4);
    KT_SYS_RET(read(c, b, 4), 4);
    KT_EQ(kt_revents(c, POLLOUT, 0), POLLOUT);
    close(c);
    close(s);
}

KT_CASE(shutdown_read) {
    int c, s;
    KT_SYS_RET(kt_tcp_pair4(&c, &s), 0);
    KT_SYS_RET(shutdown(s, SHUT_RD), 0);
    char b[4];
    KT_SYS_RET(recv(s, b, 4, MSG_DONTWAIT), 0);
    int ev = kt_revents(s, POLLIN | POLLRDHUP | POLLOUT, 0);
    KT_EQ(ev, POLLIN | POLLRDHUP | POLLOUT);
    KT_SYS_RET(shutdown(s, SHUT_WR), 0);
    ev = kt_revents(s, POLLIN | POLLRDHUP | POLLOUT, 0);
    KT_EQ(ev, POLLIN | POLLRDHUP | POLLOUT | POLLHUP);
    close(c);
    close(s);
}

KT_CASE(shutdown_errors) {
    int s = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_SYS_ERR(shutdown(s, SHUT_RDWR), ENOTCONN);
    KT_SYS_ERR(shutdown(s, 3), EINVAL);
    KT_SYS_ERR(shutdown(s, -1), EINVAL);
    close(s);
}

KT_CASE(unconnected_io) {
    int s = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    char b[4];
    KT_SYS_ERR(recv(s, b, 4, 0), ENOTCONN);
    KT_SYS_ERR(send(s, "x", 1, MSG_NOSIGNAL), EPIPE);
    close(s);
}

static volatile int got_sigpipe;
static void on_pipe(int sig) {
    (void)sig;
    got_sigpipe++;
}

KT_CASE(reset_by_peer) {
    int c, s;
    KT_SYS_RET(kt_tcp_pair4(&c, &s), 0);
    KT_SYS_RET(write(c, "unread", 6), 6);
    KT_EQ(kt_revents(s, POLLIN, 1000), POLLIN);
    close(s); /* unread data: Linux sends RST */
    int ev = kt_revents(c, POLLIN | POLLOUT | POLLRDHUP, 1000);
    KT_EQ(ev, POLLIN | POLLOUT | POLLRDHUP | POLLERR | POLLHUP);
    char b[8];
    KT_SYS_ERR(read(c, b, 8), ECONNRESET);
    KT_SYS_RET(read(c, b, 8), 0);
    signal(SIGPIPE, on_pipe);
    got_sigpipe = 0;
    KT_SYS_ERR(write(c, "x", 1), EPIPE);
    KT_EQ(got_sigpipe, 1);
    KT_SYS_ERR(send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
    KT_EQ(got_sigpipe, 1);
    signal(SIGPIPE, SIG_DFL);
    close(c);
}

KT_CASE(reset_seen_by_send) {
    int c, s;
    KT_SYS_RET(kt_tcp_pair4(&c, &s), 0);
    KT_SYS_RET(write(c, "unread", 6), 6);
    KT_EQ(kt_revents(s, POLLIN, 1000), POLLIN);
    close(s);
    KT_EQ(kt_revents(c, POLLERR, 1000), POLLERR | POLLHUP);
    KT_SYS_ERR(send(c, "x", 1, MSG_NOSIGNAL), ECONNRESET);
    KT_SYS_ERR(send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
    close(c);
}

KT_CASE(linger_zero_resets) {
    int c, s;
    KT_SYS_RET(kt_tcp_pair4(&c, &s), 0);
    struct linger lg = {1, 0};
    KT_SYS_RET(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    struct linger back;
    socklen_t l = sizeof back;
    KT_SYS_RET(getsockopt(c, SOL_SOCKET, SO_LINGER, &back, &l), 0);
    KT_EQ(l, sizeof back);
    KT_EQ(back.l_onoff, 1);
    KT_EQ(back.l_linger, 0);
    KT_SYS_ERR(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg - 1), EINVAL);
    close(c);
    char b[4];
    KT_EQ(kt_revents(s, POLLIN, 1000) & POLLIN, POLLIN);
    KT_SYS_ERR(read(s, b, 4), ECONNRESET);
    close(s);
}

/* Many abortive closes at once: every peer gets its RST (an aborted
 * orphan stays until a poll has sent it) */
KT_CASE(linger_zero_resets_every_peer) {
    enum { N = 16 };
    int c[N], s[N];
    struct linger lg = {1, 0};
    for (int i = 0; i < N; i++) {
        KT_SYS_RET(kt_tcp_pair4(&c[i], &s[i]), 0);
        KT_SYS_RET(setsockopt(c[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    }
    for (int i = 0; i < N; i++) close(c[i]);
    for (int i = 0; i < N; i++) {
        char b[4];
        KT_EQ(kt_revents(s[i], POLLIN, 1000) & (POLLIN | POLLERR), POLLIN | POLLERR);
        KT_SYS_ERR(read(s[i], b, 4), ECONNRESET);
        KT_SYS_RET(read(s[i], b, 4), 0);
        close(s[i]);
    }
}

KT_CASE(buffer_sizes_doubled) {
    int s = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_RCVBUF), 131072);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_SNDBUF), 16384);
    KT_SYS_RET(kt_setint(s, SOL_SOCKET, SO_RCVBUF, 10000), 0);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_RCVBUF), 20000);
    KT_SYS_RET(kt_setint(s, SOL_SOCKET, SO_SNDBUF, 100), 0);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_SNDBUF), 4608);
    KT_SYS_RET(kt_setint(s, SOL_SOCKET, SO_RCVBUF, 1 << 30), 0);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_RCVBUF), 425984);
    short sh = 1;
    KT_SYS_ERR(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sh, sizeof sh), EINVAL);
    close(s);
}

KT_CASE(tcp_options) {
    int s = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_NODELAY), 0);
    KT_SYS_RET(kt_setint(s, IPPROTO_TCP, TCP_NODELAY, 1), 0);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_NODELAY), 1);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_KEEPALIVE), 0);
    KT_SYS_RET(kt_setint(s, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_KEEPALIVE), 1);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_KEEPIDLE), 7200);
    KT_EQ(kt_getint(s, IPPROTO_IP, IP_TTL), 64);
    KT_SYS_ERR(setsockopt(s, SOL_SOCKET, 9999, &s, sizeof s), ENOPROTOOPT);
    KT_SYS_ERR(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &s, sizeof s), ENOPROTOOPT);
    int v;
    socklen_t l = sizeof v;
    KT_SYS_ERR(getsockopt(s, SOL_SOCKET, 9999, &v, &l), ENOPROTOOPT);
    /* a short getsockopt length truncates */
    l = 1;
    v = 0;
    KT_SYS_RET(getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &l), 0);
    KT_EQ(l, 1);
    close(s);
}

/* TCP_DEFER_ACCEPT (Apache's AcceptFilter): seconds kept as a count of
 * doubling SYN-ACK periods (1, 2, 4 ... 120 s) and reported as the
 * seconds those cover; a deferred listener hands over a connection that
 * has sent data. */
KT_CASE(defer_accept) {
    int l = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_EQ(kt_getint(l, IPPROTO_TCP, TCP_DEFER_ACCEPT), 0);
    static const int set[] = {1, 2, 3, 4, 30, 31, 32, 200, 1000000, 0, -5};
    static const int got[] = {1, 3, 3, 7, 31, 31, 63, 247, 29887, 0, 0};
    for (unsigned i = 0; i < sizeof set / sizeof set[0]; i++) {
        KT_SYS_RET(kt_setint(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, set[i]), 0);
        KT_EQ(kt_getint(l, IPPROTO_TCP, TCP_DEFER_ACCEPT), got[i]);
    }
    KT_SYS_RET(kt_setint(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, 30), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    KT_SYS_RET(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    KT_SYS_RET(getsockname(l, (struct sockaddr *)&a, &al), 0);
    KT_SYS_RET(listen(l, 4), 0);
    int c = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_SYS_RET(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    KT_SYS_RET(write(c, "GET", 3), 3);
    int s = KT_SYS_OK(accept(l, NULL, NULL));
    char b[4];
    KT_SYS_RET(read(s, b, sizeof b), 3);
    KT_TRUE(memcmp(b, "GET", 3) == 0, "read %.3s", b);
    close(s);
    close(c);
    close(l);
}

/* TCP options programs set and read back (BIND's dig sets
 * TCP_USER_TIMEOUT and aborts on an error; nginx TCP_CORK; servers
 * TCP_FASTOPEN and TCP_QUICKACK): Linux's defaults, limits and errors. */
KT_CASE(tcp_options_linux_defaults) {
    int s = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_CORK), 0);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_SYNCNT), 6);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_LINGER2), 60);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_QUICKACK), 1);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_USER_TIMEOUT), 0);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_FASTOPEN), 0);
    KT_SYS_RET(kt_setint(s, IPPROTO_TCP, TCP_CORK, 5), 0);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_CORK), 1);
    KT_SYS_RET(kt_setint(s, IPPROTO_TCP, TCP_SYNCNT, 3), 0);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_SYNCNT), 3);
    KT_SYS_ERR(kt_setint(s, IPPROTO_TCP, TCP_SYNCNT, 0), EINVAL);
    KT_SYS_ERR(kt_setint(s, IPPROTO_TCP, TCP_SYNCNT, 128), EINVAL);
    KT_SYS_RET(kt_setint(s, IPPROTO_TCP, TCP_LINGER2, 500), 0);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_LINGER2), 120);
    KT_SYS_RET(kt_setint(s, IPPROTO_TCP, TCP_LINGER2, -7), 0);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_LINGER2), -1);
    KT_SYS_RET(kt_setint(s, IPPROTO_TCP, TCP_LINGER2, 0), 0);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_LINGER2), 60);
    KT_SYS_RET(kt_setint(s, IPPROTO_TCP, TCP_QUICKACK, 0), 0);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_QUICKACK), 0);
    KT_SYS_RET(kt_setint(s, IPPROTO_TCP, TCP_QUICKACK, 1), 0);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_QUICKACK), 1);
    KT_SYS_RET(kt_setint(s, IPPROTO_TCP, TCP_USER_TIMEOUT, 120000), 0);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_USER_TIMEOUT), 120000);
    KT_SYS_ERR(kt_setint(s, IPPROTO_TCP, TCP_USER_TIMEOUT, -1), EINVAL);
    KT_SYS_RET(kt_setint(s, IPPROTO_TCP, TCP_FASTOPEN, 5), 0);
    KT_EQ(kt_getint(s, IPPROTO_TCP, TCP_FASTOPEN), 5);
    KT_SYS_ERR(kt_setint(s, IPPROTO_TCP, TCP_FASTOPEN, -1), EINVAL);
    char name[32];
    memset(name, 'x', sizeof name);
    socklen_t l = sizeof name;
    KT_SYS_RET(getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, name, &l), 0);
    KT_EQ(l, 16);
    KT_TRUE(strcmp(name, "cubic") == 0, "%s", name);
    KT_SYS_RET(setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "reno", 4), 0);
    l = sizeof name;
    KT_SYS_RET(getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, name, &l), 0);
    KT_TRUE(strcmp(name, "reno") == 0, "%s", name);
    KT_SYS_ERR(setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "nosuchcc", 8), ENOENT);
    close(s);
    /* TCP_FASTOPEN on a connected socket: EINVAL */
    int c, v;
    KT_SYS_RET(kt_tcp_pair4(&c, &v), 0);
    KT_SYS_ERR(kt_setint(c, IPPROTO_TCP, TCP_FASTOPEN, 5), EINVAL);
    close(c);
    close(v);
}

KT_CASE(rcvtimeo) {
    int c, s;
    KT_SYS_RET(kt_tcp_pair4(&c, &s), 0);
    struct timeval tv = {0, 100000}, back;
    KT_SYS_RET(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    socklen_t l = sizeof back;
    KT_SYS_RET(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &back, &l), 0);
    KT_EQ(back.tv_sec, 0);
    KT_EQ(back.tv_usec, 100000);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char b;
    KT_SYS_ERR(read(s, &b, 1), EAGAIN);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    KT_TRUE(ms >= 90 && ms < 2000, "%ld ms", ms);
    tv.tv_usec = 1000000;
    KT_SYS_ERR(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), EDOM);
    close(c);
    close(s);
}

KT_CASE(megabyte_through_child) {
    int c, s;
    KT_SYS_RET(kt_tcp_pair4(&c, &s), 0);
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 31 + i / 997);
    pid_t p = KT_FORK();
    if (p == 0) {
        close(s);
        _exit(kt_write_full(c, big, sizeof big) == 0 ? 0 : 1);
    }
    close(c);
    static char in[sizeof big];
    KT_SYS_RET(kt_read_full(s, in, sizeof in), 0);
    KT_TRUE(memcmp(in, big, sizeof big) == 0, "data differs");
    char b;
    KT_SYS_RET(read(s, &b, 1), 0);
    KT_WAIT_STATUS(p, kt_exited(0));
    close(s);
}

/* A receive into a buffer far larger than what is queued, after bulk data
 * went through the same path (a kernel buffer kept or sized by the queue
 * must not show earlier bytes): exactly the queued bytes are written, the
 * rest of the user's buffer is untouched; recv, read and recvmsg alike. */
KT_CASE(short_recv_into_large_buffer) {
    int c, s;
    KT_SYS_RET(kt_tcp_pair4(&c, &s), 0);
    static char out[64 << 10];
    memset(out, 'A', sizeof out);
    KT_SYS_RET(kt_write_full(c, out, sizeof out), 0);
    KT_SYS_RET(kt_read_full(s, big, sizeof out), 0);
    KT_TRUE(big[0] == 'A' && big[sizeof out - 1] == 'A', "bulk data");
    for (int round = 0; round < 3; round++) {
        memset(big, 0x5a, sizeof big);
        KT_SYS_RET(write(c, "xyz", 3), 3);
        KT_EQ(kt_revents(s, POLLIN, 1000), POLLIN);
        ssize_t n;
        if (round == 0) {
            n = recv(s, big, sizeof big, 0);
        } else if (round == 1) {
            n = read(s, big, sizeof big);
        } else {
            struct iovec iov[2] = {{big, 2}, {big + 2, sizeof big - 2}};
            struct msghdr m = {0};
            m.msg_iov = iov;
            m.msg_iovlen = 2;
            n = recvmsg(s, &m, 0);
        }
        KT_EQ(n, 3);
        KT_TRUE(memcmp(big, "xyz", 3) == 0, "round %d: %.3s", round, big);
        size_t bad = 0;
        for (size_t i = 3; i < sizeof big; i++)
            if (big[i] != 0x5a) bad++;
        KT_EQ(bad, 0);
    }
    close(c);
    close(s);
}

KT_CASE(pending_connections_queue) {
    int l = KT_SYS_OK(kt_listener4(8));
    int port = kt_port_of(l);
    int cs[8];
    for (int i = 0; i < 8; i++) {
        cs[i] = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
        struct sockaddr_in a = kt_sin(KT_LOOP4, port);
        KT_SYS_RET(connect(cs[i], (struct sockaddr *)&a, sizeof a), 0);
        char ch = (char)('a' + i);
        KT_SYS_RET(write(cs[i], &ch, 1), 1);
    }
    for (int i = 0; i < 8; i++) {
        int s = KT_SYS_OK(accept(l, NULL, NULL));
        char ch = 0;
        KT_SYS_RET(read(s, &ch, 1), 1);
        KT_TRUE(ch >= 'a' && ch < 'a' + 8, "byte %d", ch);
        close(s);
    }
    for (int i = 0; i < 8; i++) close(cs[i]);
    close(l);
}

KT_CASE(backlog_of_forty_in_order) {
    int l = KT_SYS_OK(kt_listener4(64));
    int port = kt_port_of(l);
    int cs[40];
    for (int i = 0; i < 40; i++) {
        cs[i] = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
        struct sockaddr_in a = kt_sin(KT_LOOP4, port);
        KT_SYS_RET(connect(cs[i], (struct sockaddr *)&a, sizeof a), 0);
    }
    /* accept hands them out in the order they connected */
    for (int i = 0; i < 40; i++) {
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        int s = KT_SYS_OK(accept(l, (struct sockaddr *)&peer, &pl));
        KT_EQ(ntohs(peer.sin_port), kt_port_of(cs[i]));
        close(s);
    }
    for (int i = 0; i < 40; i++) close(cs[i]);
    close(l);
}

/* The reader is killed with 64 MiB on its way: the writer gets ECONNRESET or
 * EPIPE, never a hang. */
/* Data sent to a peer that closed (nothing unread, so a FIN) is answered
 * with RST (tcp_rcv_state_process after close): the sender, in CLOSE_WAIT,
 * gets EPIPE from then on. */
KT_CASE(data_to_a_closed_peer_is_reset) {
    int c, s;
    KT_SYS_RET(kt_tcp_pair4(&c, &s), 0);
    KT_SYS_OK(close(s));
    char b[8];
    KT_SYS_RET(read(c, b, sizeof b), 0);
    KT_SYS_RET(send(c, "late", 4, MSG_NOSIGNAL), 4);
    kt_msleep(100);
    /* the RST came in CLOSE_WAIT: EPIPE (tcp_reset), not ECONNRESET */
    KT_SYS_ERR(send(c, "y", 1, MSG_NOSIGNAL), EPIPE);
    KT_SYS_ERR(send(c, "y", 1, MSG_NOSIGNAL), EPIPE);
    KT_SYS_RET(read(c, b, sizeof b), 0);
    close(c);
}

KT_CASE(peer_killed_mid_transfer) {
    int c, s;
    KT_SYS_RET(kt_tcp_pair4(&c, &s), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        close(c);
        static char in[65536];
        long got = 0;
        while (got < (1 << 20)) {
            ssize_t n = read(s, in, sizeof in);
            if (n <= 0) _exit(1);
            got += n;
        }
        kill(getpid(), SIGKILL);
        _exit(2);
    }
    close(s);
    long sent = 0;
    int err = 0;
    while (sent < 64L << 20) {
        ssize_t n = send(c, big, sizeof big, MSG_NOSIGNAL);
        if (n < 0) {
            err = errno;
            break;
        }
        sent += n;
    }
    KT_TRUE(err == ECONNRESET || err == EPIPE, "sent %ld, errno %d", sent, err);
    KT_TRUE(sent >= (1 << 20), "sent %ld", sent);
    KT_WAIT_STATUS(p, kt_killed(SIGKILL));
    close(c);
}

KT_MAIN()
