/* Socket options on AF_UNIX: SO_TYPE/SO_DOMAIN/SO_PROTOCOL, SO_SNDBUF and
 * SO_RCVBUF doubled with Linux's minimums, SO_RCVTIMEO/SO_SNDTIMEO (EAGAIN
 * at expiry, EDOM, the jiffy rounding of the value read back), SO_ERROR,
 * optlen handling, ENOPROTOOPT and EOPNOTSUPP; O_NONBLOCK via fcntl and
 * FIONBIO. */
#include "kt.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

static int geti(int s, int name) {
    int v = -7;
    socklen_t l = sizeof v;
    if (getsockopt(s, SOL_SOCKET, name, &v, &l) != 0) return -100 - errno;
    return l == sizeof v ? v : -99;
}

KT_CASE(type_domain_protocol) {
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    KT_EQ(geti(s, SO_TYPE), SOCK_SEQPACKET);
    KT_EQ(geti(s, SO_DOMAIN), AF_UNIX);
    KT_EQ(geti(s, SO_PROTOCOL), 0);
    KT_EQ(geti(s, SO_ERROR), 0);
    KT_EQ(geti(s, SO_ACCEPTCONN), 0);
    int v = 1;
    KT_SYS_ERR(setsockopt(s, SOL_SOCKET, SO_TYPE, &v, sizeof v), ENOPROTOOPT);
    KT_SYS_ERR(setsockopt(s, SOL_SOCKET, SO_PEERCRED, &v, sizeof v), ENOPROTOOPT);
    close(s);
    s = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, PF_UNIX));
    KT_EQ(geti(s, SO_TYPE), SOCK_STREAM);
    close(s);
}

KT_CASE(buffers_doubled_with_minimums) {
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    int v = 10000;
    KT_SYS_OK(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
    KT_EQ(geti(s, SO_SNDBUF), 20000);
    KT_SYS_OK(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
    KT_EQ(geti(s, SO_RCVBUF), 20000);
    v = 1;
    KT_SYS_OK(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
    KT_EQ(geti(s, SO_SNDBUF), 4608);
    KT_SYS_OK(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
    KT_EQ(geti(s, SO_RCVBUF), 2304);
    v = 1 << 30; /* capped at net.core.wmem_max */
    KT_SYS_OK(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
    KT_EQ(geti(s, SO_SNDBUF), 2 * 212992);
    close(s);
}

KT_CASE(rcvtimeo_expires_with_eagain) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    struct timeval tv = {0, 100000};
    KT_SYS_OK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char b[4];
    KT_SYS_ERR(recv(sv[0], b, 4, 0), EAGAIN);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    KT_TRUE(ms >= 90 && ms < 2000, "waited %ld ms", ms);
    struct timeval got;
    socklen_t gl = sizeof got;
    KT_SYS_OK(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &got, &gl));
    KT_EQ(gl, sizeof got);
    KT_EQ(got.tv_sec, 0);
    KT_EQ(got.tv_usec, 100000);
    /* rounded up to the 4 ms jiffy of HZ=250 */
    tv.tv_usec = 1000;
    KT_SYS_OK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    gl = sizeof got;
    KT_SYS_OK(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &got, &gl));
    KT_EQ(got.tv_usec, 4000);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(timeout_errors_and_negative) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    struct timeval tv = {0, 1000000};
    KT_SYS_ERR(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), EDOM);
    KT_SYS_ERR(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, 8), EINVAL);
    /* a negative time: no wait at all */
    tv.tv_sec = -1;
    tv.tv_usec = 0;
    KT_SYS_OK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    char b[4];
    KT_SYS_ERR(recv(sv[0], b, 4, 0), EAGAIN);
    struct timeval got = {9, 9};
    socklen_t gl = sizeof got;
    KT_SYS_OK(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &got, &gl));
    KT_EQ(got.tv_sec, 0);
    KT_EQ(got.tv_usec, 0);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(sndtimeo_on_a_full_socket) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    struct timeval tv = {0, 50000};
    KT_SYS_OK(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
    static char big[4096];
    int n = 0;
    while (n < 10000 && send(sv[0], big, sizeof big, 0) == (long)sizeof big) n++;
    KT_EQ(errno, EAGAIN);
    KT_TRUE(n > 10 && n < 10000, "sent %d", n);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(optlen_rules) {
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    int v = 0x11223344;
    socklen_t l = 2;
    KT_SYS_OK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l));
    KT_EQ(l, 2);
    KT_EQ(v, 0x11220001);
    l = 100;
    KT_SYS_OK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l));
    KT_EQ(l, 4);
    l = (socklen_t)-1;
    KT_SYS_ERR(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l), EINVAL);
    KT_SYS_ERR(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, (socklen_t *)1), EFAULT);
    KT_SYS_ERR(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, 2), EINVAL);
    KT_SYS_ERR(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, -1), EINVAL);
    KT_SYS_ERR(setsockopt(s, SOL_SOCKET, SO_SNDBUF, (void *)1, 4), EFAULT);
    l = sizeof v;
    KT_SYS_ERR(getsockopt(s, SOL_SOCKET, 9999, &v, &l), ENOPROTOOPT);
    KT_SYS_ERR(setsockopt(s, SOL_SOCKET, 9999, &v, 4), ENOPROTOOPT);
    KT_SYS_ERR(getsockopt(s, 0, 1, &v, &l), EOPNOTSUPP);
    KT_SYS_ERR(setsockopt(s, 6, 1, &v, 4), EOPNOTSUPP);
    close(s);
}

KT_CASE(flag_options_read_back) {
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    int on = 1;
    int names[] = {SO_REUSEADDR, SO_KEEPALIVE, SO_BROADCAST, SO_PASSCRED};
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        KT_EQ(geti(s, names[i]), 0);
        KT_SYS_OK(setsockopt(s, SOL_SOCKET, names[i], &on, sizeof on));
        KT_EQ(geti(s, names[i]), 1);
    }
    struct linger lg = {1, 5}, got;
    KT_SYS_OK(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    socklen_t l = sizeof got;
    KT_SYS_OK(getsockopt(s, SOL_SOCKET, SO_LINGER, &got, &l));
    KT_EQ(l, sizeof got);
    KT_EQ(got.l_onoff, 1);
    KT_EQ(got.l_linger, 5);
    close(s);
}

KT_CASE(nonblock_by_fcntl_and_fionbio) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    int fl = KT_SYS_OK(fcntl(sv[0], F_GETFL));
    KT_SYS_OK(fcntl(sv[0], F_SETFL, fl | O_NONBLOCK));
    char b[4];
    KT_SYS_ERR(read(sv[0], b, 4), EAGAIN);
    KT_SYS_OK(fcntl(sv[0], F_SETFL, fl));
    int on = 1;
    KT_SYS_OK(ioctl(sv[1], FIONBIO, &on));
    KT_EQ(fcntl(sv[1], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    KT_SYS_ERR(recv(sv[1], b, 4, 0), EAGAIN);
    KT_SYS_ERR(recv(sv[0], b, 4, MSG_DONTWAIT), EAGAIN);
    /* sockets have fasync: FIOASYNC sets O_ASYNC */
    KT_SYS_OK(ioctl(sv[0], FIOASYNC, &on));
    KT_EQ(fcntl(sv[0], F_GETFL) & O_ASYNC, O_ASYNC);
    close(sv[0]);
    close(sv[1]);
}

KT_MAIN()
