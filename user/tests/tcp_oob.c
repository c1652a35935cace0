/* TCP urgent data over 127.0.0.1 (tcp(7) "Urgent data"): send(MSG_OOB)
 * marks its last byte; the receiver's read stops before the mark, the byte
 * leaves the stream unless SO_OOBINLINE, recv(MSG_OOB) returns it once
 * (EINVAL without one, after it was taken or with SO_OOBINLINE; never
 * waits), SIOCATMARK, FIONREAD up to the mark, POLLPRI / select's
 * exceptfds / EPOLLPRI, SIGURG to the F_SETOWN owner, a second mark
 * dropping an unread urgent byte the reader sits at. Then
 * getsockopt(TCP_INFO) (Linux 6.1's 232-byte struct tcp_info, shorter
 * lengths truncate) and TCP_NOTSENT_LOWAT (POLLOUT and send while unsent
 * bytes reach it). */
#include "kt_inet.h"

#include <sys/select.h>

#ifndef SIOCATMARK
#define SIOCATMARK 0x8905
#endif
#ifndef TCP_NOTSENT_LOWAT
#define TCP_NOTSENT_LOWAT 25
#endif
#ifndef TCP_INFO
#define TCP_INFO 11
#endif
#define TCPI_LEN 232

static int atmark(int s) {
    int v = -1;
    if (ioctl(s, SIOCATMARK, &v) != 0) return -1;
    return v;
}

static int inq(int s) {
    int v = -1;
    if (ioctl(s, FIONREAD, &v) != 0) return -1;
    return v;
}

/* recvmsg of one byte with MSG_OOB (| extra): the result, the byte in *b
 * and the message flags in *mf. */
static ssize_t recv_oob(int s, char *b, int *mf, int extra) {
    struct iovec v = {.iov_base = b, .iov_len = 1};
    struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
    ssize_t r = recvmsg(s, &m, MSG_OOB | extra);
    *mf = m.msg_flags;
    return r;
}

static int pair_nodelay(int *c, int *s) {
    if (kt_tcp_pair4(c, s) != 0) return -1;
    kt_setint(*c, IPPROTO_TCP, TCP_NODELAY, 1);
    kt_setint(*s, IPPROTO_TCP, TCP_NODELAY, 1);
    return 0;
}

KT_CASE(lo_up) {
    KT_SYS_RET(kt_lo_up(), 0);
}

KT_CASE(read_stops_at_mark_then_oob_byte) {
    int c, s;
    KT_SYS_RET(pair_nodelay(&c, &s), 0);
    KT_SYS_RET(send(c, "abc", 3, 0), 3);
    KT_SYS_RET(send(c, "d", 1, MSG_OOB), 1);
    KT_EQ(kt_revents(s, POLLIN | POLLPRI, 1000), POLLIN | POLLPRI);
    KT_EQ(atmark(s), 0);
    KT_EQ(inq(s), 3);
    char b[16] = {0};
    KT_SYS_RET(recv(s, b, sizeof b, 0), 3);
    KT_EQ(memcmp(b, "abc", 3), 0);
    KT_EQ(atmark(s), 1);
    KT_EQ(inq(s), 0);
    /* a lone urgent byte at the mark is not readable data */
    KT_EQ(kt_revents(s, POLLIN | POLLPRI, 0), POLLPRI);
    int mf = 0;
    char o = 0;
    KT_SYS_RET(recv_oob(s, &o, &mf, MSG_PEEK), 1);
    KT_EQ(o, 'd');
    KT_EQ(mf, MSG_OOB);
    o = 0;
    KT_SYS_RET(recv_oob(s, &o, &mf, 0), 1);
    KT_EQ(o, 'd');
    KT_EQ(mf, MSG_OOB);
    KT_SYS_ERR(recv_oob(s, &o, &mf, 0), EINVAL);
    /* still at the mark (TCP_URG_READ), no POLLPRI any more */
    KT_EQ(atmark(s), 1);
    KT_EQ(kt_revents(s, POLLIN | POLLPRI, 0), 0);
    /* the read steps over the urgent byte: nothing else is there */
    KT_SYS_ERR(recv(s, b, sizeof b, MSG_DONTWAIT), EAGAIN);
    KT_EQ(atmark(s), 0);
    KT_SYS_RET(send(c, "ef", 2, 0), 2);
    KT_EQ(kt_revents(s, POLLIN, 1000), POLLIN);
    KT_SYS_RET(recv(s, b, sizeof b, 0), 2);
    KT_EQ(memcmp(b, "ef", 2), 0);
    close(c);
    close(s);
}

KT_CASE(no_urgent_data) {
    int c, s;
    char o;
    int mf;
    KT_SYS_RET(pair_nodelay(&c, &s), 0);
    KT_SYS_ERR(recv_oob(s, &o, &mf, 0), EINVAL);
    KT_SYS_ERR(recv_oob(s, &o, &mf, MSG_PEEK), EINVAL);
    KT_EQ(atmark(s), 0);
    KT_EQ(kt_revents(s, POLLPRI, 0), 0);
    close(c);
    close(s);
    int l = KT_SYS_OK(kt_listener4(1));
    KT_SYS_ERR(recv_oob(l, &o, &mf, 0), ENOTCONN);
    close(l);
    int f = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_SYS_ERR(recv_oob(f, &o, &mf, 0), EINVAL);
    KT_EQ(atmark(f), 0);
    close(f);
    int u = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    struct sockaddr_in a = kt_sin(KT_LOOP4, 9);
    KT_SYS_ERR(sendto(u, "x", 1, MSG_OOB, (struct sockaddr *)&a, sizeof a), EOPNOTSUPP);
    /* UDP: no SIOCATMARK; MSG_OOB on a receive is no flag for it */
    int v = 5;
    KT_SYS_ERR(ioctl(u, SIOCATMARK, &v), ENOTTY);
    char b[4];
    KT_SYS_ERR(recv(u, b, sizeof b, MSG_OOB | MSG_DONTWAIT), EAGAIN);
    close(u);
    /* an empty send marks nothing; unconnected: EPIPE */
    KT_SYS_RET(pair_nodelay(&c, &s), 0);
    KT_SYS_RET(send(c, "", 0, MSG_OOB), 0);
    kt_msleep(20);
    KT_SYS_ERR(recv_oob(s, &o, &mf, 0), EINVAL);
    close(c);
    close(s);
    f = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_SYS_ERR(send(f, "x", 1, MSG_OOB | MSG_NOSIGNAL), EPIPE);
    close(f);
}

KT_CASE(oob_zero_length_and_msg_trunc) {
    int c, s;
    KT_SYS_RET(pair_nodelay(&c, &s), 0);
    KT_SYS_RET(send(c, "ab", 2, MSG_OOB), 2);
    kt_msleep(50);
    char b[4] = {9, 9, 9, 9};
    struct iovec v = {.iov_base = b, .iov_len = 0};
    struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
    /* no room: 0, MSG_TRUNC, and the byte is gone */
    KT_SYS_RET(recvmsg(s, &m, MSG_OOB), 0);
    KT_EQ(m.msg_flags, MSG_OOB | MSG_TRUNC);
    v.iov_len = 4;
    KT_SYS_ERR(recvmsg(s, &m, MSG_OOB), EINVAL);
    KT_SYS_RET(send(c, "cd", 2, MSG_OOB), 2);
    kt_msleep(50);
    /* MSG_TRUNC: the length, nothing copied */
    m.msg_flags = 0;
    KT_SYS_RET(recvmsg(s, &m, MSG_OOB | MSG_TRUNC), 1);
    KT_EQ(m.msg_flags, MSG_OOB);
    KT_EQ(b[0], 9);
    /* the newer mark made the taken 'b' ordinary data again */
    KT_SYS_RET(recv(s, b, sizeof b, 0), 3);
    KT_EQ(memcmp(b, "abc", 3), 0);
    close(c);
    close(s);
}

KT_CASE(read_past_mark_drops_the_byte) {
    int c, s;
    KT_SYS_RET(pair_nodelay(&c, &s), 0);
    KT_SYS_RET(send(c, "x", 1, MSG_OOB), 1);
    KT_SYS_RET(send(c, "yz", 2, 0), 2);
    kt_msleep(50);
    KT_EQ(atmark(s), 1);
    KT_EQ(inq(s), 0);
    KT_EQ(kt_revents(s, POLLIN | POLLPRI, 0), POLLIN | POLLPRI);
    char b[16] = {0};
    KT_SYS_RET(recv(s, b, sizeof b, 0), 2);
    KT_EQ(memcmp(b, "yz", 2), 0);
    char o;
    int mf;
    KT_SYS_ERR(recv_oob(s, &o, &mf, 0), EINVAL);
    KT_EQ(atmark(s), 0);
    close(c);
    close(s);
}

KT_CASE(urgent_byte_then_end_of_stream) {
    /* the last byte of a longer send is the urgent one; after it the
     * end of the stream reads as 0 */
    int c, s;
    KT_SYS_RET(pair_nodelay(&c, &s), 0);
    KT_SYS_RET(send(c, "pq", 2, MSG_OOB), 2);
    kt_msleep(50);
    char b[4];
    KT_SYS_RET(recv(s, b, 1, 0), 1);
    KT_EQ(b[0], 'p');
    KT_EQ(atmark(s), 1);
    char o;
    int mf;
    KT_SYS_RET(recv_oob(s, &o, &mf, 0), 1);
    KT_EQ(o, 'q');
    close(c);
    KT_EQ(kt_revents(s, POLLIN, 1000), POLLIN);
    KT_SYS_RET(recv(s, b, sizeof b, 0), 0);
    close(s);
}

KT_CASE(oobinline_keeps_the_byte) {
    int c, s;
    KT_SYS_RET(pair_nodelay(&c, &s), 0);
    KT_SYS_RET(kt_setint(s, SOL_SOCKET, SO_OOBINLINE, 1), 0);
    KT_EQ(kt_getint(s, SOL_SOCKET, SO_OOBINLINE), 1);
    KT_SYS_RET(send(c, "ab", 2, 0), 2);
    KT_SYS_RET(send(c, "c", 1, MSG_OOB), 1);
    KT_EQ(kt_revents(s, POLLIN | POLLPRI, 1000), POLLIN | POLLPRI);
    KT_EQ(inq(s), 3);
    char b[16] = {0};
    KT_SYS_RET(recv(s, b, sizeof b, 0), 2);
    KT_EQ(memcmp(b, "ab", 2), 0);
    KT_EQ(atmark(s), 1);
    char o;
    int mf;
    KT_SYS_ERR(recv_oob(s, &o, &mf, 0), EINVAL);
    KT_EQ(kt_revents(s, POLLIN | POLLPRI, 0), POLLIN | POLLPRI);
    KT_SYS_RET(recv(s, b, sizeof b, 0), 1);
    KT_EQ(b[0], 'c');
    KT_EQ(atmark(s), 0);
    KT_EQ(kt_revents(s, POLLIN | POLLPRI, 0), 0);
    close(c);
    close(s);
}

KT_CASE(second_mark_drops_unread_urgent_byte) {
    int c, s;
    KT_SYS_RET(pair_nodelay(&c, &s), 0);
    KT_SYS_RET(send(c, "a", 1, MSG_OOB), 1);
    KT_EQ(kt_revents(s, POLLPRI, 1000), POLLPRI);
    KT_SYS_RET(send(c, "b", 1, MSG_OOB), 1);
    kt_msleep(50);
    char o;
    int mf;
    KT_SYS_RET(recv_oob(s, &o, &mf, 0), 1);
    KT_EQ(o, 'b');
    KT_EQ(atmark(s), 1);
    KT_EQ(inq(s), 0);
    char b[4];
    KT_SYS_ERR(recv(s, b, sizeof b, MSG_DONTWAIT), EAGAIN);
    close(c);
    close(s);
}

static volatile int urg_count;
static volatile int urg_code;
static void on_urg(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    urg_count++;
    urg_code = si->si_code;
}

KT_CASE(sigurg_to_owner) {
    struct sigaction sa = {0}, old;
    sa.sa_sigaction = on_urg;
    sa.sa_flags = SA_SIGINFO;
    KT_SYS_RET(sigaction(SIGURG, &sa, &old), 0);
    int c, s;
    KT_SYS_RET(pair_nodelay(&c, &s), 0);
    /* no owner: no signal */
    urg_count = 0;
    KT_SYS_RET(send(c, "1", 1, MSG_OOB), 1);
    KT_EQ(kt_revents(s, POLLPRI, 1000), POLLPRI);
    KT_EQ(urg_count, 0);
    KT_SYS_RET(fcntl(s, F_SETOWN, getpid()), 0);
    KT_SYS_RET(send(c, "2", 1, MSG_OOB), 1);
    kt_msleep(50);
    KT_EQ(urg_count, 1);
    KT_EQ(urg_code, SI_KERNEL);
    char o;
    int mf;
    KT_SYS_RET(recv_oob(s, &o, &mf, 0), 1);
    KT_EQ(o, '2');
    close(c);
    close(s);
    sigaction(SIGURG, &old, NULL);
}

KT_CASE(select_exceptfds_and_epollpri) {
    int c, s;
    KT_SYS_RET(pair_nodelay(&c, &s), 0);
    int ep = KT_SYS_OK(epoll_create1(0));
    struct epoll_event ev = {.events = EPOLLPRI, .data.fd = s};
    KT_SYS_RET(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
    struct epoll_event got;
    KT_SYS_RET(epoll_wait(ep, &got, 1, 0), 0);
    KT_SYS_RET(send(c, "!", 1, MSG_OOB), 1);
    KT_SYS_RET(epoll_wait(ep, &got, 1, 1000), 1);
    KT_EQ(got.events, EPOLLPRI);
    fd_set r, e;
    FD_ZERO(&r);
    FD_ZERO(&e);
    FD_SET(s, &r);
    FD_SET(s, &e);
    struct timeval tv = {1, 0};
    KT_SYS_RET(select(s + 1, &r, NULL, &e, &tv), 1);
    KT_EQ(FD_ISSET(s, &e) ? 1 : 0, 1);
    KT_EQ(FD_ISSET(s, &r) ? 1 : 0, 0);
    char o;
    int mf;
    KT_SYS_RET(recv_oob(s, &o, &mf, 0), 1);
    FD_ZERO(&e);
    FD_SET(s, &e);
    struct timeval zero = {0, 0};
    KT_SYS_RET(select(s + 1, NULL, NULL, &e, &zero), 0);
    KT_SYS_RET(epoll_wait(ep, &got, 1, 0), 0);
    close(ep);
    close(c);
    close(s);
}

static uint32_t u32at(const unsigned char *b, int at) {
    uint32_t v;
    memcpy(&v, b + at, 4);
    return v;
}

static uint64_t u64at(const unsigned char *b, int at) {
    uint64_t v;
    memcpy(&v, b + at, 8);
    return v;
}

static int tcp_info(int s, unsigned char *b, socklen_t *len) {
    memset(b, 0xee, 512);
    return getsockopt(s, IPPROTO_TCP, TCP_INFO, b, len);
}

KT_CASE(tcp_info_fresh_socket) {
    unsigned char b[512];
    int f = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    socklen_t len = sizeof b;
    KT_SYS_RET(tcp_info(f, b, &len), 0);
    KT_EQ(len, TCPI_LEN);
    KT_EQ(b[0], 7);                          /* TCP_CLOSE */
    KT_EQ(u32at(b, 8), 1000000);             /* tcpi_rto */
    KT_EQ(u32at(b, 16), 536);                /* tcpi_snd_mss */
    KT_EQ(u32at(b, 72), 250000);             /* tcpi_rttvar */
    KT_EQ(u32at(b, 76), 0x7fffffff);         /* tcpi_snd_ssthresh */
    KT_EQ(u32at(b, 80), 10);                 /* tcpi_snd_cwnd */
    KT_EQ(u32at(b, 88), 3);                  /* tcpi_reordering */
    KT_EQ(u64at(b, 104), UINT64_MAX);        /* tcpi_pacing_rate */
    KT_EQ(u64at(b, 120), 0);                 /* tcpi_bytes_acked */
    KT_EQ(u32at(b, 148), 0xffffffffu);       /* tcpi_min_rtt */
    KT_EQ(b[TCPI_LEN], 0xee);
    len = 1;
    KT_SYS_RET(tcp_info(f, b, &len), 0);
    KT_EQ(len, 1);
    KT_EQ(b[0], 7);
    KT_EQ(b[1], 0xee);
    len = 0;
    KT_SYS_RET(tcp_info(f, b, &len), 0);
    KT_EQ(len, 0);
    KT_EQ(b[0], 0xee);
    close(f);
    int u = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    len = sizeof b;
    KT_SYS_ERR(tcp_info(u, b, &len), EOPNOTSUPP);
    close(u);
}

KT_CASE(tcp_info_listener) {
    unsigned char b[512];
    int l = KT_SYS_OK(kt_listener4(5));
    struct sockaddr_in a = kt_sin(KT_LOOP4, kt_port_of(l));
    int c = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_SYS_RET(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    KT_EQ(kt_revents(l, POLLIN, 1000), POLLIN);
    socklen_t len = sizeof b;
    KT_SYS_RET(tcp_info(l, b, &len), 0);
    KT_EQ(len, TCPI_LEN);
    KT_EQ(b[0], 10);             /* TCP_LISTEN */
    KT_EQ(u32at(b, 24), 1);      /* tcpi_unacked: ready for accept */
    KT_EQ(u32at(b, 28), 5);      /* tcpi_sacked: the backlog */
    KT_EQ(u32at(b, 80), 10);
    KT_EQ(u32at(b, 8), 0);       /* nothing else for a listener */
    close(c);
    close(l);
}

KT_CASE(tcp_info_established_counts_bytes) {
    unsigned char b[512];
    static char data[1000];
    int c, s;
    KT_SYS_RET(pair_nodelay(&c, &s), 0);
    socklen_t len = sizeof b;
    KT_SYS_RET(tcp_info(c, b, &len), 0);
    KT_EQ(b[0], 1);
    uint64_t acked0 = u64at(b, 120);
    KT_EQ(acked0, 1);                       /* the SYN */
    KT_EQ(u64at(b, 128), 0);
    KT_EQ(u64at(b, 200), 0);
    KT_SYS_RET(kt_write_full(c, data, sizeof data), 0);
    KT_SYS_RET(kt_read_full(s, data, sizeof data), 0);
    kt_msleep(50);
    len = sizeof b;
    KT_SYS_RET(tcp_info(c, b, &len), 0);
    KT_EQ(u64at(b, 120), acked0 + 1000);   /* tcpi_bytes_acked */
    KT_EQ(u64at(b, 200), 1000);            /* tcpi_bytes_sent */
    KT_EQ(u32at(b, 144), 0);               /* tcpi_notsent_bytes */
    KT_EQ(u32at(b, 24), 0);                /* tcpi_unacked */
    KT_TRUE(u32at(b, 16) > 536, "snd_mss %u", u32at(b, 16));
    len = sizeof b;
    KT_SYS_RET(tcp_info(s, b, &len), 0);
    KT_EQ(b[0], 1);
    KT_EQ(u64at(b, 128), 1000);            /* tcpi_bytes_received */
    close(c);
    kt_msleep(50);
    len = sizeof b;
    KT_SYS_RET(tcp_info(s, b, &len), 0);
    KT_EQ(b[0], 8);                        /* TCP_CLOSE_WAIT */
    KT_EQ(u64at(b, 128), 1001);            /* the FIN counts */
    close(s);
}

KT_CASE(notsent_lowat) {
    int l = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_SYS_RET(kt_setint(l, SOL_SOCKET, SO_RCVBUF, 4096), 0);
    struct sockaddr_in a = kt_sin(KT_LOOP4, 0);
    KT_SYS_RET(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    KT_SYS_RET(listen(l, 1), 0);
    a = kt_sin(KT_LOOP4, kt_port_of(l));
    int c = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_SYS_RET(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    int s = KT_SYS_OK(accept(l, NULL, NULL));
    close(l);
    KT_EQ(kt_getint(c, IPPROTO_TCP, TCP_NOTSENT_LOWAT), 0);
    KT_SYS_RET(kt_setint(c, IPPROTO_TCP, TCP_NOTSENT_LOWAT, -1), 0);
    KT_EQ(kt_getint(c, IPPROTO_TCP, TCP_NOTSENT_LOWAT), -1);
    KT_SYS_RET(kt_setint(c, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 0), 0);
    static char big[65536];
    ssize_t n = KT_SYS_OK(send(c, big, sizeof big, MSG_DONTWAIT));
    kt_msleep(50);
    unsigned char b[512];
    socklen_t len = sizeof b;
    KT_SYS_RET(tcp_info(c, b, &len), 0);
    uint32_t unsent = u32at(b, 144);
    KT_TRUE(unsent > 0 && unsent < (uint32_t)n, "sent %zd unsent %u", n, unsent);
    KT_EQ(kt_revents(c, POLLOUT, 0), POLLOUT);
    KT_SYS_RET(kt_setint(c, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 1), 0);
    KT_EQ(kt_getint(c, IPPROTO_TCP, TCP_NOTSENT_LOWAT), 1);
    KT_EQ(kt_revents(c, POLLOUT, 0), 0);
    KT_SYS_ERR(send(c, "x", 1, MSG_DONTWAIT), EAGAIN);
    /* the reader takes it all: nothing left unsent */
    KT_SYS_RET(kt_read_full(s, big, n), 0);
    KT_EQ(kt_revents(c, POLLOUT, 1000), POLLOUT);
    kt_msleep(50);
    len = sizeof b;
    KT_SYS_RET(tcp_info(c, b, &len), 0);
    KT_EQ(u32at(b, 144), 0);
    KT_SYS_RET(send(c, "x", 1, MSG_DONTWAIT), 1);
    close(c);
    close(s);
}

KT_MAIN()
