/* AF_UNIX under load and faults: 10,000 rounds of sockets (a pair, a bound
 * socket, descriptors in flight, a socket passed over itself) leave MemFree
 * where it was (within 1 %); a reader killed in the middle of a 64 MiB
 * transfer gives the writer EPIPE (or SIGPIPE), a writer killed gives the
 * reader EOF, never a hang. */
#include "kt.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

static int send_fd(int s, int fd) {
    char ctl[CMSG_SPACE(sizeof(int))];
    memset(ctl, 0, sizeof ctl);
    struct iovec iov = {"f", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return (int)sendmsg(s, &m, 0);
}

/* One round: 3 sockets; returns 0 or the failing step. */
static int round_of_sockets(int i) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
    int b = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (b < 0) return 2;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int len = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "kt-churn-%d", i);
    if (bind(b, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + 1 + len) != 0) return 3;
    if (send_fd(sv[0], b) != 1) return 4;     /* b in flight, never read */
    if (send_fd(sv[0], sv[1]) != 1) return 5; /* sv[1] in its own queue */
    if (send(sv[1], "data", 4, 0) != 4) return 6;
    close(b);
    close(sv[0]);
    close(sv[1]);
    return 0;
}

KT_CASE(ten_thousand_rounds_leave_memory) {
    for (int i = 0; i < 1000; i++) KT_EQ(round_of_sockets(i), 0); /* warm the caches */
    kt_msleep(200);
    long before = kt_meminfo_kb("MemFree:");
    KT_TRUE(before > 0, "MemFree %ld", before);
    for (int i = 0; i < 10000; i++) KT_EQ(round_of_sockets(i), 0);
    /* one more round's close collects the last round's cycle */
    KT_EQ(round_of_sockets(-1), 0);
    kt_msleep(300);
    long after = kt_meminfo_kb("MemFree:");
    KT_TRUE(labs(before - after) * 100 <= before, "MemFree %ld kB before, %ld kB after", before, after);
}

static char chunk[1 << 16];

KT_CASE(reader_killed_mid_transfer_gives_epipe) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    pid_t r = KT_FORK();
    if (r == 0) {
        close(sv[0]);
        long got = 0;
        while (got < (1 << 20)) {
            long n = read(sv[1], chunk, sizeof chunk);
            if (n <= 0) _exit(1);
            got += n;
        }
        pause();
        _exit(0);
    }
    close(sv[1]);
    pid_t k = KT_FORK();
    if (k == 0) {
        kt_msleep(300);
        kill(r, SIGKILL);
        _exit(0);
    }
    signal(SIGPIPE, SIG_IGN);
    long total = 0;
    int err = 0;
    while (total < (64L << 20)) {
        long n = write(sv[0], chunk, sizeof chunk);
        if (n < 0) {
            err = errno;
            break;
        }
        total += n;
    }
    /* Linux: the reader died with unread data, so unix_release_sock set
     * the writer's sk_err to ECONNRESET; a write asleep for room with
     * nothing sent yet (sock_alloc_send_pskb) reports it once, one that
     * had sent part of its 64 KiB (two buffers on Linux) returns that
     * count and the next write finds the shutdown: EPIPE; which one
     * depends on where the buffer filled up, so both are right here (the
     * exact sequence: unix_stream.c blocked_writer_gets_the_reset_once);
     * after that, EPIPE */
    KT_TRUE(err == EPIPE || err == ECONNRESET, "errno %d", err);
    KT_SYS_ERR(write(sv[0], chunk, 1), EPIPE);
    signal(SIGPIPE, SIG_DFL);
    KT_TRUE(total >= (1 << 20) && total < (64L << 20), "wrote %ld", total);
    KT_WAIT_STATUS(r, kt_killed(SIGKILL));
    KT_WAIT_STATUS(k, kt_exited(0));
    close(sv[0]);
}

KT_CASE(reader_killed_raises_sigpipe) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    pid_t w = KT_FORK();
    if (w == 0) {
        close(sv[1]);
        /* a write blocked when the reader dies with unread data reports
         * the reset once (ECONNRESET, no signal: Linux's sk_err); the
         * next finds the peer gone: EPIPE and SIGPIPE. Which one comes
         * first is the other CPU's timing. On Linux the blocked write can
         * also read the shutdown before the reset (unix_release_sock
         * writes sk_shutdown, then sk_err; sock_alloc_send_pskb reads
         * sk_err, then sk_shutdown) and fail with EPIPE but no signal, as
         * it leaves through out_err; the next write then gets SIGPIPE
         * (seen once in a 2-CPU --linux run). */
        int resets = 0;
        for (long total = 0; total < (64L << 20);) {
            long n = write(sv[0], chunk, sizeof chunk);
            if (n < 0 && (errno == ECONNRESET || errno == EPIPE) && resets++ == 0) continue;
            if (n < 0) _exit(1);
            total += n;
        }
        _exit(2);
    }
    close(sv[0]);
    pid_t r = KT_FORK();
    if (r == 0) {
        long got = 0;
        while (got < (2 << 20)) {
            long n = read(sv[1], chunk, sizeof chunk);
            if (n <= 0) _exit(1);
            got += n;
        }
        _exit(0);
    }
    close(sv[1]);
    KT_WAIT_STATUS(r, kt_exited(0));
    KT_WAIT_STATUS(w, kt_killed(SIGPIPE));
}

KT_CASE(writer_killed_gives_eof) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    pid_t w = KT_FORK();
    if (w == 0) {
        close(sv[1]);
        for (;;) write(sv[0], chunk, sizeof chunk);
    }
    close(sv[0]);
    long got = 0;
    while (got < (1 << 20)) {
        long n = read(sv[1], chunk, sizeof chunk);
        KT_TRUE(n > 0, "read %ld", n);
        got += n;
    }
    KT_SYS_OK(kill(w, SIGKILL));
    KT_WAIT_STATUS(w, kt_killed(SIGKILL));
    long n;
    while ((n = read(sv[1], chunk, sizeof chunk)) > 0) got += n;
    KT_EQ(n, 0);
    close(sv[1]);
}

KT_MAIN()
