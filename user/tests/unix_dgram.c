/* AF_UNIX SOCK_DGRAM and SOCK_SEQPACKET: boundaries, MSG_TRUNC (flag and
 * msg_flags), sendto a bound name, the source address recvfrom reports,
 * connect/disconnect, EPERM from a stranger, ENOTCONN, EMSGSIZE,
 * ECONNREFUSED after the peer closed, the receive queue limit, empty
 * datagrams, EPOLLOUT once a full peer drains; seqpacket connect/accept, EOF and EPIPE. */
#include "kt.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

static socklen_t mkabs(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

static int bound_dgram(const char *name, struct sockaddr_un *a, socklen_t *l) {
    *l = mkabs(a, name);
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (s < 0 || bind(s, (struct sockaddr *)a, *l) < 0) return -1;
    return s;
}

KT_CASE(boundaries_and_trunc) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    KT_SYS_RET(send(sv[0], "one", 3, 0), 3);
    KT_SYS_RET(send(sv[0], "three", 5, 0), 5);
    char b[16];
    KT_SYS_RET(recv(sv[1], b, 16, 0), 3);
    /* a short buffer drops the rest; MSG_TRUNC returns the real length */
    KT_SYS_RET(recv(sv[1], b, 2, MSG_TRUNC), 5);
    KT_EQ(memcmp(b, "th", 2), 0);
    KT_SYS_ERR(recv(sv[1], b, 16, MSG_DONTWAIT), EAGAIN);
    KT_SYS_RET(send(sv[0], "abcdef", 6, 0), 6);
    struct iovec iov = {b, 4};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    KT_SYS_RET(recvmsg(sv[1], &m, 0), 4);
    KT_EQ(m.msg_flags, MSG_TRUNC);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(empty_datagram_is_a_message) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    KT_SYS_RET(send(sv[0], "", 0, 0), 0);
    char b[4];
    KT_SYS_RET(recv(sv[1], b, 4, MSG_DONTWAIT), 0);
    KT_SYS_ERR(recv(sv[1], b, 4, MSG_DONTWAIT), EAGAIN);
    int n = -1;
    KT_SYS_RET(send(sv[0], "xyz", 3, 0), 3);
    KT_SYS_OK(ioctl(sv[1], FIONREAD, &n));
    KT_EQ(n, 3);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(sendto_a_name_and_the_source) {
    struct sockaddr_un a, b, from;
    socklen_t al, bl, fl;
    int r = KT_SYS_OK(bound_dgram("ud-recv", &a, &al));
    int u = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    KT_SYS_RET(sendto(u, "anon", 4, 0, (struct sockaddr *)&a, al), 4);
    char buf[8];
    fl = sizeof from;
    memset(&from, 0x55, sizeof from);
    KT_SYS_RET(recvfrom(r, buf, 8, 0, (struct sockaddr *)&from, &fl), 4);
    KT_EQ(fl, 0); /* an unbound sender has no address */
    int s = KT_SYS_OK(bound_dgram("ud-send", &b, &bl));
    KT_SYS_RET(sendto(s, "named", 5, 0, (struct sockaddr *)&a, al), 5);
    fl = sizeof from;
    KT_SYS_RET(recvfrom(r, buf, 8, 0, (struct sockaddr *)&from, &fl), 5);
    KT_EQ(fl, bl);
    KT_EQ(memcmp(&from, &b, bl), 0);
    /* no such name */
    struct sockaddr_un n;
    socklen_t nl = mkabs(&n, "ud-nobody");
    KT_SYS_ERR(sendto(u, "x", 1, 0, (struct sockaddr *)&n, nl), ECONNREFUSED);
    KT_SYS_ERR(sendto(u, "x", 1, 0, (struct sockaddr *)&n, 1), EINVAL);
    KT_SYS_ERR(send(u, "x", 1, 0), ENOTCONN);
    close(r);
    close(s);
    close(u);
}

KT_CASE(connected_dgram_and_strangers) {
    struct sockaddr_un a, b;
    socklen_t al, bl;
    int x = KT_SYS_OK(bound_dgram("ud-x", &a, &al));
    int y = KT_SYS_OK(bound_dgram("ud-y", &b, &bl));
    KT_SYS_OK(connect(x, (struct sockaddr *)&b, bl));
    KT_SYS_RET(send(x, "to-y", 4, 0), 4);
    char buf[8];
    KT_SYS_RET(recv(y, buf, 8, 0), 4);
    struct sockaddr_un got;
    socklen_t gl = sizeof got;
    KT_SYS_OK(getpeername(x, (struct sockaddr *)&got, &gl));
    KT_EQ(gl, bl);
    /* x is connected to y: a third socket may not send to x */
    int z = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    KT_SYS_ERR(sendto(z, "no", 2, 0, (struct sockaddr *)&a, al), EPERM);
    /* y (x's peer) may */
    KT_SYS_RET(sendto(y, "ok", 2, 0, (struct sockaddr *)&a, al), 2);
    KT_SYS_RET(recv(x, buf, 8, 0), 2);
    /* AF_UNSPEC disconnects */
    struct sockaddr un = {.sa_family = AF_UNSPEC};
    KT_SYS_OK(connect(x, &un, sizeof un));
    KT_SYS_ERR(send(x, "x", 1, 0), ENOTCONN);
    gl = sizeof got;
    KT_SYS_ERR(getpeername(x, (struct sockaddr *)&got, &gl), ENOTCONN);
    KT_SYS_RET(sendto(z, "now", 3, 0, (struct sockaddr *)&a, al), 3);
    close(x);
    close(y);
    close(z);
}

KT_CASE(emsgsize_above_sndbuf) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    int v = 4096;
    KT_SYS_OK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
    static char big[8200];
    KT_SYS_RET(send(sv[0], big, 8192 - 32, 0), 8192 - 32);
    KT_SYS_ERR(send(sv[0], big, 8192 - 31, 0), EMSGSIZE);
    char b[16];
    KT_SYS_RET(recv(sv[1], b, 16, MSG_TRUNC), 8192 - 32);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(closed_peer_refuses_then_notconn) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    close(sv[1]);
    KT_SYS_ERR(send(sv[0], "x", 1, 0), ECONNREFUSED);
    KT_SYS_ERR(send(sv[0], "x", 1, 0), ENOTCONN);
    close(sv[0]);
}

KT_CASE(receive_queue_limit) {
    struct sockaddr_un a;
    socklen_t al;
    int r = KT_SYS_OK(bound_dgram("ud-queue", &a, &al));
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    int n = 0;
    while (n < 100 && sendto(s, "q", 1, MSG_DONTWAIT, (struct sockaddr *)&a, al) == 1) n++;
    KT_EQ(errno, EAGAIN);
    KT_EQ(n, 11); /* net.unix.max_dgram_qlen is 10: full beyond it */
    char b[2];
    KT_SYS_RET(recv(r, b, 2, 0), 1);
    KT_SYS_RET(sendto(s, "q", 1, MSG_DONTWAIT, (struct sockaddr *)&a, al), 1);
    close(r);
    close(s);
}

/* EPOLLOUT of a socket whose peer is full, though it never got EAGAIN
 * itself: its poll registers for the peer's wake-up (Linux's
 * unix_dgram_peer_wake_me), so the drain reaches the epoll ready list. */
KT_CASE(epollout_after_peer_drains) {
    struct sockaddr_un a;
    socklen_t al;
    int r = KT_SYS_OK(bound_dgram("ud-epollout", &a, &al));
    int f = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    int n = 0;
    while (n < 100 && sendto(f, "q", 1, MSG_DONTWAIT, (struct sockaddr *)&a, al) == 1) n++;
    KT_EQ(errno, EAGAIN);
    KT_EQ(n, 11);
    int w = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    KT_SYS_OK(connect(w, (struct sockaddr *)&a, al));
    int ep = KT_SYS_OK(epoll_create1(0));
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = 7};
    KT_SYS_OK(epoll_ctl(ep, EPOLL_CTL_ADD, w, &ev));
    struct epoll_event out[2];
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 0);
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 0);
    char b[2];
    KT_SYS_RET(recv(r, b, 2, 0), 1);
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 1);
    KT_EQ(out[0].events, EPOLLOUT);
    KT_EQ(out[0].data.u32, 7);
    KT_SYS_RET(send(w, "w", 1, MSG_DONTWAIT), 1);
    close(ep);
    close(w);
    close(f);
    close(r);
}

KT_CASE(blocked_dgram_reader) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    pid_t p = KT_FORK();
    if (p == 0) {
        kt_msleep(50);
        _exit(send(sv[1], "wake", 4, 0) == 4 ? 0 : 1);
    }
    char b[8];
    KT_SYS_RET(recv(sv[0], b, 8, 0), 4);
    KT_WAIT_STATUS(p, kt_exited(0));
    struct pollfd pf = {.fd = sv[0], .events = POLLIN | POLLOUT};
    KT_SYS_RET(poll(&pf, 1, 0), 1);
    KT_EQ(pf.revents, POLLOUT);
    close(sv[0]);
    close(sv[1]);
}

static socklen_t mkpath(struct sockaddr_un *a, const char *p) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, p);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(p) + 1);
}

KT_CASE(seqpacket_connect_boundaries_eof) {
    struct sockaddr_un a;
    socklen_t al = mkpath(&a, "/tmp/us1");
    unlink("/tmp/us1");
    int l = KT_SYS_OK(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    KT_SYS_OK(bind(l, (struct sockaddr *)&a, al));
    KT_SYS_OK(listen(l, 4));
    int c = KT_SYS_OK(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    char b[16];
    KT_SYS_ERR(send(c, "x", 1, 0), ENOTCONN);
    KT_SYS_ERR(recv(c, b, 16, MSG_DONTWAIT), ENOTCONN);
    KT_SYS_OK(connect(c, (struct sockaddr *)&a, al));
    int s = KT_SYS_OK(accept(l, 0, 0));
    KT_SYS_RET(send(c, "first", 5, 0), 5);
    KT_SYS_RET(send(c, "second", 6, 0), 6);
    KT_SYS_RET(recv(s, b, 3, 0), 3);
    KT_SYS_RET(recv(s, b, 16, 0), 6);
    KT_EQ(memcmp(b, "second", 6), 0);
    int v = 0;
    socklen_t vl = sizeof v;
    KT_SYS_OK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl));
    KT_EQ(v, SOCK_SEQPACKET);
    close(c);
    KT_SYS_RET(recv(s, b, 16, 0), 0);
    KT_SYS_ERR(send(s, "x", 1, MSG_NOSIGNAL), EPIPE);
    close(s);
    close(l);
    unlink("/tmp/us1");
}

KT_CASE(seqpacket_pair_trunc_and_shutdown) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    KT_SYS_RET(send(sv[0], "0123456789", 10, 0), 10);
    KT_SYS_RET(send(sv[0], "ab", 2, 0), 2);
    int n = -1;
    KT_SYS_OK(ioctl(sv[1], FIONREAD, &n));
    KT_EQ(n, 12); /* a seqpacket socket counts every queued byte */
    char b[16];
    struct iovec iov = {b, 4};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    KT_SYS_RET(recvmsg(sv[1], &m, 0), 4);
    KT_EQ(m.msg_flags & MSG_TRUNC, MSG_TRUNC);
    KT_SYS_RET(recv(sv[1], b, 16, 0), 2);
    KT_SYS_OK(shutdown(sv[0], SHUT_WR));
    KT_SYS_RET(recv(sv[1], b, 16, 0), 0);
    struct pollfd p = {.fd = sv[1], .events = POLLIN | POLLRDHUP};
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_EQ(p.revents, POLLIN | POLLRDHUP);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(raw_is_dgram) {
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_RAW, 0));
    int v = 0;
    socklen_t vl = sizeof v;
    KT_SYS_OK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl));
    KT_EQ(v, SOCK_DGRAM);
    close(s);
}

KT_CASE(sendmmsg_and_recvmmsg) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    struct iovec iv[3] = {{"a", 1}, {"bb", 2}, {"ccc", 3}};
    struct mmsghdr mm[3];
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        mm[i].msg_hdr.msg_iov = &iv[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    KT_SYS_RET(sendmmsg(sv[0], mm, 3, 0), 3);
    KT_EQ(mm[2].msg_len, 3);
    char bufs[3][8];
    struct iovec ri[3];
    struct mmsghdr rm[3];
    memset(rm, 0, sizeof rm);
    for (int i = 0; i < 3; i++) {
        ri[i].iov_base = bufs[i];
        ri[i].iov_len = 8;
        rm[i].msg_hdr.msg_iov = &ri[i];
        rm[i].msg_hdr.msg_iovlen = 1;
    }
    KT_SYS_RET(recvmmsg(sv[1], rm, 3, MSG_WAITFORONE, 0), 3);
    KT_EQ(rm[0].msg_len, 1);
    KT_EQ(rm[1].msg_len, 2);
    KT_EQ(rm[2].msg_len, 3);
    KT_EQ(memcmp(bufs[2], "ccc", 3), 0);
    KT_SYS_RET(send(sv[0], "z", 1, 0), 1);
    KT_SYS_RET(recvmmsg(sv[1], rm, 3, MSG_WAITFORONE, 0), 1);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(datagram_to_itself) {
    struct sockaddr_un a, from;
    socklen_t al, fl = sizeof from;
    int s = KT_SYS_OK(bound_dgram("ud-self", &a, &al));
    KT_SYS_RET(sendto(s, "me", 2, 0, (struct sockaddr *)&a, al), 2);
    char b[4];
    KT_SYS_RET(recvfrom(s, b, 4, 0, (struct sockaddr *)&from, &fl), 2);
    KT_EQ(fl, al);
    KT_SYS_OK(connect(s, (struct sockaddr *)&a, al));
    KT_SYS_RET(send(s, "again", 5, 0), 5);
    struct pollfd p = {.fd = s, .events = POLLIN | POLLOUT};
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_EQ(p.revents, POLLIN | POLLOUT);
    KT_SYS_RET(recv(s, b, 4, 0), 4);
    close(s);
}

static volatile sig_atomic_t pipes;
static void on_pipe(int s) {
    (void)s;
    pipes++;
}

KT_CASE(message_kinds_raise_no_sigpipe) {
    signal(SIGPIPE, on_pipe);
    pipes = 0;
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    close(sv[1]);
    KT_SYS_ERR(send(sv[0], "x", 1, 0), EPIPE);
    KT_SYS_ERR(write(sv[0], "x", 1), EPIPE);
    close(sv[0]);
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    KT_SYS_OK(shutdown(sv[1], SHUT_RD));
    KT_SYS_ERR(send(sv[0], "x", 1, 0), EPIPE);
    KT_SYS_ERR(write(sv[0], "x", 1), EPIPE);
    close(sv[0]);
    close(sv[1]);
    signal(SIGPIPE, SIG_DFL);
    KT_EQ(pipes, 0);
}

KT_MAIN()
