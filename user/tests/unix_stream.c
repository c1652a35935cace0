/* AF_UNIX SOCK_STREAM through socketpair(2): bytes both ways, read/write
 * on the socket file, peeking, partial reads, EOF after shutdown and close,
 * EPIPE and SIGPIPE, MSG_NOSIGNAL, non-blocking EAGAIN, FIONREAD/SIOCOUTQ,
 * fstat S_IFSOCK, the flags of the new descriptors, and blocking readers
 * woken by another process. */
#include "kt.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#ifndef SIOCOUTQ
#define SIOCOUTQ 0x5411
#endif

static int pair(int sv[2]) {
    return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

static void close2(int sv[2]) {
    close(sv[0]);
    close(sv[1]);
}

static volatile sig_atomic_t got_pipe;
static void on_pipe(int s) {
    (void)s;
    got_pipe++;
}

KT_CASE(pair_moves_bytes_both_ways) {
    int sv[2];
    KT_SYS_OK(pair(sv));
    KT_SYS_RET(send(sv[0], "ping", 4, 0), 4);
    char b[16] = {0};
    KT_SYS_RET(recv(sv[1], b, sizeof b, 0), 4);
    KT_EQ(memcmp(b, "ping", 4), 0);
    KT_SYS_RET(write(sv[1], "pong!", 5), 5);
    KT_SYS_RET(read(sv[0], b, sizeof b), 5);
    KT_EQ(memcmp(b, "pong!", 5), 0);
    close2(sv);
}

KT_CASE(fstat_is_socket_and_fd_flags) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    struct stat st;
    KT_SYS_OK(fstat(sv[0], &st));
    KT_TRUE(S_ISSOCK(st.st_mode), "mode %o", st.st_mode);
    KT_EQ(fcntl(sv[0], F_GETFD), FD_CLOEXEC);
    KT_EQ(fcntl(sv[1], F_GETFL), O_RDWR | O_NONBLOCK);
    KT_SYS_ERR(read(sv[0], &st, 1), EAGAIN);
    close2(sv);
    KT_SYS_OK(pair(sv));
    KT_EQ(fcntl(sv[0], F_GETFD), 0);
    KT_EQ(fcntl(sv[0], F_GETFL), O_RDWR);
    close2(sv);
}

KT_CASE(stream_has_no_boundaries) {
    int sv[2];
    KT_SYS_OK(pair(sv));
    KT_SYS_RET(send(sv[0], "abc", 3, 0), 3);
    KT_SYS_RET(send(sv[0], "defg", 4, 0), 4);
    char b[16];
    KT_SYS_RET(recv(sv[1], b, 5, 0), 5);
    KT_EQ(memcmp(b, "abcde", 5), 0);
    KT_SYS_RET(recv(sv[1], b, 16, 0), 2);
    KT_EQ(memcmp(b, "fg", 2), 0);
    close2(sv);
}

KT_CASE(peek_leaves_the_data) {
    int sv[2];
    KT_SYS_OK(pair(sv));
    KT_SYS_RET(send(sv[0], "hello", 5, 0), 5);
    char b[16];
    KT_SYS_RET(recv(sv[1], b, 3, MSG_PEEK), 3);
    KT_EQ(memcmp(b, "hel", 3), 0);
    KT_SYS_RET(recv(sv[1], b, 16, MSG_PEEK), 5);
    KT_SYS_RET(recv(sv[1], b, 16, 0), 5);
    KT_EQ(memcmp(b, "hello", 5), 0);
    KT_SYS_ERR(recv(sv[1], b, 16, MSG_DONTWAIT), EAGAIN);
    close2(sv);
}

KT_CASE(fionread_and_siocoutq) {
    int sv[2];
    KT_SYS_OK(pair(sv));
    int n = -1;
    KT_SYS_RET(ioctl(sv[1], FIONREAD, &n), 0);
    KT_EQ(n, 0);
    KT_SYS_RET(send(sv[0], "1234567", 7, 0), 7);
    KT_SYS_RET(ioctl(sv[1], FIONREAD, &n), 0);
    KT_EQ(n, 7);
    /* what the sender has in flight: Linux counts buffer sizes, not bytes */
    KT_SYS_RET(ioctl(sv[0], SIOCOUTQ, &n), 0);
    KT_TRUE(n >= 7, "outq %d", n);
    char b[8];
    KT_SYS_RET(recv(sv[1], b, 8, 0), 7);
    KT_SYS_RET(ioctl(sv[0], SIOCOUTQ, &n), 0);
    KT_EQ(n, 0);
    close2(sv);
}

KT_CASE(shutdown_wr_gives_eof_and_epipe) {
    int sv[2];
    KT_SYS_OK(pair(sv));
    KT_SYS_RET(send(sv[0], "x", 1, 0), 1);
    KT_SYS_OK(shutdown(sv[0], SHUT_WR));
    char b[4];
    KT_SYS_RET(recv(sv[1], b, 4, 0), 1);
    KT_SYS_RET(recv(sv[1], b, 4, 0), 0);
    KT_SYS_ERR(send(sv[0], "y", 1, MSG_NOSIGNAL), EPIPE);
    /* the other way still works */
    KT_SYS_RET(send(sv[1], "z", 1, 0), 1);
    KT_SYS_RET(recv(sv[0], b, 4, 0), 1);
    KT_SYS_ERR(shutdown(sv[0], 3), EINVAL);
    KT_SYS_ERR(shutdown(sv[0], -1), EINVAL);
    close2(sv);
}

KT_CASE(closed_peer_gives_eof_epipe_and_sigpipe) {
    int sv[2];
    KT_SYS_OK(pair(sv));
    signal(SIGPIPE, on_pipe);
    got_pipe = 0;
    close(sv[1]);
    char b[4];
    KT_SYS_RET(read(sv[0], b, 4), 0);
    KT_SYS_ERR(send(sv[0], "a", 1, MSG_NOSIGNAL), EPIPE);
    KT_EQ(got_pipe, 0);
    KT_SYS_ERR(send(sv[0], "a", 1, 0), EPIPE);
    KT_EQ(got_pipe, 1);
    KT_SYS_ERR(write(sv[0], "a", 1), EPIPE);
    KT_EQ(got_pipe, 2);
    signal(SIGPIPE, SIG_DFL);
    close(sv[0]);
}

KT_CASE(sigpipe_kills_by_default) {
    int sv[2];
    KT_SYS_OK(pair(sv));
    close(sv[1]);
    pid_t c = KT_FORK();
    if (c == 0) {
        send(sv[0], "a", 1, 0);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_killed(SIGPIPE));
    close(sv[0]);
}

KT_CASE(unread_data_at_close_is_a_reset) {
    int sv[2];
    KT_SYS_OK(pair(sv));
    KT_SYS_RET(send(sv[0], "lost", 4, 0), 4);
    close(sv[1]); /* with unread data: the peer sees ECONNRESET once */
    char b[4];
    KT_SYS_ERR(recv(sv[0], b, 4, 0), ECONNRESET);
    KT_SYS_RET(recv(sv[0], b, 4, 0), 0);
    close(sv[0]);
}

/* Linux: the peer's release set sk_err; a writer asleep for room
 * (sock_alloc_send_pskb) reports it before the shutdown, once; the next
 * write finds the shutdown (EPIPE), a read the end (0) */
KT_CASE(blocked_writer_gets_the_reset_once) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
    static char big[65536];
    while (send(sv[0], big, sizeof big, 0) > 0) {
    }
    KT_EQ(errno, EAGAIN);
    KT_SYS_OK(fcntl(sv[0], F_SETFL, O_RDWR));
    pid_t c = KT_FORK();
    if (c == 0) {
        close(sv[0]);
        /* the parent asleep in its write; the exit closes sv[1] unread */
        _exit(kt_wait_sleeping(getppid(), 5000) ? 0 : 1);
    }
    close(sv[1]);
    KT_SYS_ERR(write(sv[0], "x", 1), ECONNRESET);
    KT_SYS_ERR(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    char b;
    KT_SYS_RET(recv(sv[0], &b, 1, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(0));
    close(sv[0]);
}

KT_CASE(nonblocking_fill_then_eagain) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
    static char big[65536];
    long total = 0;
    for (int i = 0; i < 1000; i++) {
        long n = send(sv[0], big, sizeof big, 0);
        if (n < 0) break;
        total += n;
    }
    KT_EQ(errno, EAGAIN);
    KT_TRUE(total >= 65536 && total < 4 << 20, "total %ld", total);
    struct pollfd p = {.fd = sv[0], .events = POLLOUT};
    KT_SYS_RET(poll(&p, 1, 0), 0);
    /* reading it all makes room again */
    long got = 0;
    for (;;) {
        long n = recv(sv[1], big, sizeof big, 0);
        if (n <= 0) break;
        got += n;
    }
    KT_EQ(got, total);
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_EQ(p.revents, POLLOUT);
    close2(sv);
}

KT_CASE(blocked_reader_woken_by_child) {
    int sv[2];
    KT_SYS_OK(pair(sv));
    pid_t c = KT_FORK();
    if (c == 0) {
        kt_msleep(50);
        send(sv[1], "late", 4, 0);
        _exit(0);
    }
    char b[8];
    KT_SYS_RET(recv(sv[0], b, 8, 0), 4);
    KT_EQ(memcmp(b, "late", 4), 0);
    KT_WAIT_STATUS(c, kt_exited(0));
    close2(sv);
}

KT_CASE(large_transfer_between_processes) {
    int sv[2];
    KT_SYS_OK(pair(sv));
    static char buf[1 << 16];
    const long total = 4 << 20;
    pid_t c = KT_FORK();
    if (c == 0) {
        close(sv[0]);
        long sent = 0;
        unsigned char v = 0;
        while (sent < total) {
            for (size_t i = 0; i < sizeof buf; i++) buf[i] = (char)(v + i);
            long n = write(sv[1], buf, sizeof buf);
            if (n != (long)sizeof buf) _exit(1);
            sent += n;
            v++;
        }
        _exit(0);
    }
    close(sv[1]);
    long got = 0;
    int bad = 0;
    static char in[1 << 16];
    long off = 0;
    for (;;) {
        long n = read(sv[0], in, sizeof in);
        if (n <= 0) break;
        for (long i = 0; i < n; i++) {
            long pos = off + i;
            unsigned char want = (unsigned char)((pos / (long)sizeof buf) + (pos % (long)sizeof buf));
            if ((unsigned char)in[i] != want) bad++;
        }
        off += n;
        got += n;
    }
    KT_EQ(got, total);
    KT_EQ(bad, 0);
    KT_WAIT_STATUS(c, kt_exited(0));
    close(sv[0]);
}

KT_CASE(poll_bits) {
    int sv[2];
    KT_SYS_OK(pair(sv));
    struct pollfd p = {.fd = sv[0], .events = POLLIN | POLLOUT | POLLRDHUP};
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_EQ(p.revents, POLLOUT);
    KT_SYS_RET(send(sv[1], "x", 1, 0), 1);
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_EQ(p.revents, POLLIN | POLLOUT);
    KT_SYS_OK(shutdown(sv[1], SHUT_WR));
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_EQ(p.revents, POLLIN | POLLOUT | POLLRDHUP);
    close(sv[1]);
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_EQ(p.revents, POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
    close(sv[0]);
}

KT_CASE(shutdown_rd_ends_reading_and_the_peers_writing) {
    int sv[2];
    KT_SYS_OK(pair(sv));
    KT_SYS_RET(send(sv[1], "queued", 6, 0), 6);
    KT_SYS_OK(shutdown(sv[0], SHUT_RD));
    char b[8];
    /* what was queued is still read, then the end */
    KT_SYS_RET(recv(sv[0], b, 8, 0), 6);
    KT_SYS_RET(recv(sv[0], b, 8, 0), 0);
    KT_SYS_ERR(send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
    /* this side may still write */
    KT_SYS_RET(send(sv[0], "y", 1, 0), 1);
    KT_SYS_RET(recv(sv[1], b, 8, 0), 1);
    struct pollfd p = {.fd = sv[0], .events = POLLIN | POLLRDHUP};
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_EQ(p.revents, POLLIN | POLLRDHUP);
    KT_SYS_OK(shutdown(sv[0], SHUT_WR));
    p.events = POLLIN | POLLOUT;
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_EQ(p.revents, POLLIN | POLLOUT | POLLHUP);
    close2(sv);
}

KT_CASE(sndtimeo_on_a_full_stream) {
    int sv[2];
    KT_SYS_OK(pair(sv));
    struct timeval tv = {0, 50000};
    KT_SYS_OK(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
    static char big[1 << 16];
    long total = 0, n;
    while ((n = send(sv[0], big, sizeof big, 0)) > 0) total += n;
    KT_EQ(errno, EAGAIN);
    KT_TRUE(total >= 65536, "sent %ld", total);
    close2(sv);
}

KT_CASE(reset_shows_in_poll_and_so_error) {
    int sv[2];
    KT_SYS_OK(pair(sv));
    KT_SYS_RET(send(sv[0], "unread", 6, 0), 6);
    close(sv[1]);
    struct pollfd p = {.fd = sv[0], .events = POLLIN | POLLOUT | POLLRDHUP};
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_EQ(p.revents, POLLIN | POLLOUT | POLLRDHUP | POLLHUP | POLLERR);
    int e = -1;
    socklen_t el = sizeof e;
    KT_SYS_OK(getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &e, &el));
    KT_EQ(e, ECONNRESET);
    el = sizeof e;
    KT_SYS_OK(getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &e, &el));
    KT_EQ(e, 0);
    char b[4];
    KT_SYS_RET(recv(sv[0], b, 4, 0), 0);
    close(sv[0]);
}

KT_MAIN()
