/* Pipes: capacity (64 KiB, F_GETPIPE_SZ/F_SETPIPE_SZ), atomic writes up to
 * PIPE_BUF, FIONREAD, EOF, EAGAIN, EPIPE and SIGPIPE, poll readiness, and
 * poll/select sleeping on several pipes until another process changes one. */
#include "kt.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/uio.h>

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#endif

static char buf[1 << 17];

static int nonblock_pipe(int p[2]) {
    return pipe2(p, O_NONBLOCK);
}

static void close2(int p[2]) {
    close(p[0]);
    close(p[1]);
}

KT_CASE(capacity_is_64k) {
    int p[2];
    KT_SYS_OK(nonblock_pipe(p));
    long total = 0;
    for (;;) {
        long n = write(p[1], buf, 4096);
        if (n == -1) break;
        total += n;
    }
    KT_EQ(errno, EAGAIN);
    KT_EQ(total, 65536);
    int n = -1;
    KT_SYS_RET(ioctl(p[0], FIONREAD, &n), 0);
    KT_EQ(n, 65536);
    close2(p);
}

KT_CASE(capacity_counts_pages_not_bytes) {
    int p[2];
    KT_SYS_OK(nonblock_pipe(p));
    /* each write of 2049 bytes takes a page of its own: 16 fill the pipe */
    int writes = 0;
    while (write(p[1], buf, 2049) == 2049) writes++;
    KT_EQ(errno, EAGAIN);
    KT_EQ(writes, 16);
    int n = -1;
    KT_SYS_RET(ioctl(p[0], FIONREAD, &n), 0);
    KT_EQ(n, 16 * 2049);
    /* every slot is taken, but the last page has room for a small write */
    struct pollfd pf = {.fd = p[1], .events = POLLOUT};
    KT_SYS_RET(poll(&pf, 1, 0), 0);
    KT_SYS_RET(write(p[1], buf, 100), 100);
    KT_SYS_ERR(write(p[1], buf, 2000), EAGAIN);
    /* reading one page's worth frees its slot */
    KT_SYS_RET(read(p[0], buf, 2049), 2049);
    KT_SYS_RET(poll(&pf, 1, 0), 1);
    KT_EQ(pf.revents, POLLOUT);
    close2(p);
}

KT_CASE(setpipe_sz_counts_occupied_pages) {
    int p[2];
    KT_SYS_OK(nonblock_pipe(p));
    /* 9 pages hold 18441 bytes: 8 pages (32 KiB) are too few */
    for (int i = 0; i < 9; i++) KT_SYS_RET(write(p[1], buf, 2049), 2049);
    KT_SYS_ERR(fcntl(p[1], F_SETPIPE_SZ, 32768), EBUSY);
    KT_SYS_RET(read(p[0], buf, 2049), 2049);
    KT_SYS_RET(fcntl(p[1], F_SETPIPE_SZ, 32768), 32768);
    close2(p);
}

KT_CASE(a_read_into_a_bad_buffer_leaves_the_bytes) {
    int p[2];
    KT_SYS_OK(nonblock_pipe(p));
    KT_SYS_RET(write(p[1], "abc", 3), 3);
    KT_SYS_ERR(read(p[0], (void *)8, 3), EFAULT);
    struct iovec bad = {.iov_base = (void *)8, .iov_len = 3};
    KT_SYS_ERR(readv(p[0], &bad, 1), EFAULT);
    char got[8] = {0};
    KT_SYS_RET(read(p[0], got, sizeof got), 3);
    KT_EQ(memcmp(got, "abc", 3), 0);
    close2(p);
}

KT_CASE(packet_mode_keeps_write_boundaries) {
    int p[2];
    KT_SYS_RET(pipe2(p, O_DIRECT | O_NONBLOCK), 0);
    KT_SYS_RET(write(p[1], buf, 10), 10);
    KT_SYS_RET(write(p[1], buf, 20), 20);
    /* one packet per read; a short buffer drops the packet's rest */
    KT_SYS_RET(read(p[0], buf, 100), 10);
    KT_SYS_RET(read(p[0], buf, 5), 5);
    KT_SYS_ERR(read(p[0], buf, 100), EAGAIN);
    /* a write above PIPE_BUF becomes packets of a page */
    KT_SYS_RET(write(p[1], buf, 5000), 5000);
    KT_SYS_RET(read(p[0], buf, 8192), 4096);
    KT_SYS_RET(read(p[0], buf, 8192), 904);
    /* only the write end has O_DIRECT; F_SETFL turns packets off */
    KT_EQ(fcntl(p[1], F_GETFL) & O_DIRECT, O_DIRECT);
    KT_EQ(fcntl(p[0], F_GETFL) & O_DIRECT, 0);
    KT_SYS_RET(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
    KT_SYS_RET(write(p[1], buf, 10), 10);
    KT_SYS_RET(write(p[1], buf, 20), 20);
    KT_SYS_RET(read(p[0], buf, 100), 30);
    /* and back on */
    KT_SYS_RET(fcntl(p[1], F_SETFL, O_NONBLOCK | O_DIRECT), 0);
    KT_SYS_RET(write(p[1], buf, 10), 10);
    KT_SYS_RET(write(p[1], buf, 20), 20);
    KT_SYS_RET(read(p[0], buf, 100), 10);
    close2(p);
}

KT_CASE(packet_given_back_keeps_its_boundary) {
    int p[2];
    KT_SYS_OK(pipe2(p, O_DIRECT));
    char got[100];
    KT_SYS_RET(write(p[1], "0123456789", 10), 10);
    KT_SYS_ERR(read(p[0], (void *)8, 100), EFAULT);
    KT_SYS_RET(write(p[1], "abcde", 5), 5);
    KT_SYS_RET(read(p[0], got, 100), 10);
    KT_SYS_RET(read(p[0], got, 100), 5);
    /* a short read drops the packet's rest: nothing is left to read */
    KT_SYS_RET(write(p[1], "0123456789", 10), 10);
    KT_SYS_RET(read(p[0], got, 4), 4);
    int n = -1;
    KT_SYS_RET(ioctl(p[0], FIONREAD, &n), 0);
    KT_EQ(n, 0);
    close2(p);
}

KT_CASE(readv_of_a_pipe_holding_one_chunk_does_not_block) {
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(fcntl(p[1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
    KT_SYS_RET(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
    long total = 0;
    for (;;) {
        ssize_t n = write(p[1], buf, 4096);
        if (n <= 0) break;
        total += n;
    }
    KT_EQ(total, 1 << 20);
    pid_t c = KT_FORK();
    if (c == 0) {
        alarm(5); /* a blocked readv ends the child, not the program */
        char *a = malloc(1 << 20), *b = malloc(1 << 20);
        if (!a || !b) _exit(2);
        struct iovec iv[2] = {{a, 1 << 20}, {b, 1 << 20}};
        _exit(readv(p[0], iv, 2) == (1 << 20) ? 0 : 3);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    close2(p);
}

KT_CASE(fionread_counts_from_either_end) {
    int p[2];
    KT_SYS_OK(pipe(p));
    int n = -1;
    KT_SYS_RET(ioctl(p[0], FIONREAD, &n), 0);
    KT_EQ(n, 0);
    KT_SYS_RET(write(p[1], buf, 123), 123);
    KT_SYS_RET(ioctl(p[0], FIONREAD, &n), 0);
    KT_EQ(n, 123);
    KT_SYS_RET(ioctl(p[1], FIONREAD, &n), 0);
    KT_EQ(n, 123);
    KT_SYS_RET(read(p[0], buf, 23), 23);
    KT_SYS_RET(ioctl(p[0], FIONREAD, &n), 0);
    KT_EQ(n, 100);
    KT_SYS_ERR(ioctl(p[0], FIONREAD, NULL), EFAULT);
    close2(p);
}

KT_CASE(getpipe_sz_and_setpipe_sz) {
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(fcntl(p[0], F_GETPIPE_SZ), 65536);
    KT_SYS_RET(fcntl(p[1], F_GETPIPE_SZ), 65536);
    /* rounded up to a power of two pages, at least one */
    KT_SYS_RET(fcntl(p[1], F_SETPIPE_SZ, 0), 4096);
    KT_SYS_RET(fcntl(p[0], F_GETPIPE_SZ), 4096);
    KT_SYS_RET(fcntl(p[1], F_SETPIPE_SZ, 5000), 8192);
    KT_SYS_RET(fcntl(p[0], F_SETPIPE_SZ, 3 * 65536), 262144);
    KT_SYS_RET(fcntl(p[1], F_GETPIPE_SZ), 262144);
    KT_SYS_RET(fcntl(p[1], F_SETPIPE_SZ, 65536), 65536);
    /* the size is an unsigned long: beyond 2 GiB is EINVAL */
    KT_SYS_ERR(fcntl(p[1], F_SETPIPE_SZ, -1), EINVAL);
    KT_SYS_ERR(syscall(SYS_fcntl, p[1], F_SETPIPE_SZ, (1UL << 32) | 4096), EINVAL);
    KT_SYS_ERR(syscall(SYS_fcntl, p[1], F_SETPIPE_SZ, (1UL << 31) + 1), EINVAL);
    KT_SYS_RET(fcntl(p[1], F_GETPIPE_SZ), 65536);
    close2(p);
}

KT_CASE(pipe_sz_on_other_files_is_ebadf) {
    int fd = KT_SYS_OK(open("/", O_RDONLY | O_DIRECTORY));
    KT_SYS_ERR(fcntl(fd, F_GETPIPE_SZ), EBADF);
    KT_SYS_ERR(fcntl(fd, F_SETPIPE_SZ, 4096), EBADF);
    close(fd);
    KT_SYS_ERR(fcntl(900, F_GETPIPE_SZ), EBADF);
}

KT_CASE(setpipe_sz_below_the_content_is_ebusy) {
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(write(p[1], buf, 5000), 5000);
    KT_SYS_ERR(fcntl(p[1], F_SETPIPE_SZ, 4096), EBUSY);
    KT_SYS_RET(fcntl(p[1], F_GETPIPE_SZ), 65536);
    KT_SYS_RET(fcntl(p[1], F_SETPIPE_SZ, 8192), 8192);
    close2(p);
}

KT_CASE(a_one_page_pipe_holds_one_page) {
    int p[2];
    KT_SYS_OK(nonblock_pipe(p));
    KT_SYS_RET(fcntl(p[1], F_SETPIPE_SZ, 1), 4096);
    KT_SYS_RET(write(p[1], buf, 4096), 4096);
    KT_SYS_ERR(write(p[1], buf, 1), EAGAIN);
    KT_SYS_RET(read(p[0], buf, 4096), 4096);
    /* a large write takes what fits */
    KT_SYS_RET(write(p[1], buf, 10000), 4096);
    close2(p);
}

KT_CASE(small_writes_are_atomic) {
    int p[2];
    KT_SYS_OK(nonblock_pipe(p));
    /* leave 100 bytes of room */
    KT_SYS_RET(write(p[1], buf, 65436), 65436);
    /* up to PIPE_BUF: all or nothing */
    KT_SYS_ERR(write(p[1], buf, 200), EAGAIN);
    KT_SYS_ERR(write(p[1], buf, 4096), EAGAIN);
    int n = -1;
    KT_SYS_RET(ioctl(p[0], FIONREAD, &n), 0);
    KT_EQ(n, 65436);
    KT_SYS_RET(write(p[1], buf, 100), 100);
    KT_SYS_ERR(write(p[1], buf, 1), EAGAIN);
    close2(p);
}

KT_CASE(pipe_buf_write_lands_whole) {
    int p[2];
    KT_SYS_OK(pipe(p));
    for (int i = 0; i < 4096; i++) buf[i] = (char)i;
    KT_SYS_RET(write(p[1], buf, 4096), 4096);
    static char in[8192];
    KT_SYS_RET(read(p[0], in, sizeof in), 4096);
    KT_EQ(memcmp(in, buf, 4096), 0);
    close2(p);
}

KT_CASE(a_blocked_writer_finishes_when_read) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t pid = KT_FORK();
    if (pid == 0) {
        close(p[0]);
        /* twice the capacity: blocks until the parent reads */
        _exit(write(p[1], buf, 131072) == 131072 ? 0 : 1);
    }
    close(p[1]);
    long total = 0;
    for (;;) {
        long n = read(p[0], buf + 65536, 4096);
        if (n <= 0) break;
        total += n;
    }
    KT_EQ(total, 131072);
    KT_WAIT_STATUS(pid, kt_exited(0));
    close(p[0]);
}

KT_CASE(eof_once_every_writer_is_gone) {
    int p[2];
    KT_SYS_OK(pipe(p));
    int w2 = KT_SYS_OK(dup(p[1]));
    KT_SYS_RET(write(p[1], "hi", 2), 2);
    close(p[1]);
    char c[4];
    KT_SYS_RET(read(p[0], c, 4), 2);
    KT_SYS_RET(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
    KT_SYS_ERR(read(p[0], c, 4), EAGAIN); /* a writer is left */
    close(w2);
    KT_SYS_RET(read(p[0], c, 4), 0);
    close(p[0]);
}

KT_CASE(nonblocking_read_of_an_empty_pipe_is_eagain) {
    int p[2];
    KT_SYS_OK(nonblock_pipe(p));
    char c;
    KT_SYS_ERR(read(p[0], &c, 1), EAGAIN);
    KT_EQ(fcntl(p[0], F_GETFL), O_RDONLY | O_NONBLOCK);
    KT_EQ(fcntl(p[1], F_GETFL), O_WRONLY | O_NONBLOCK);
    KT_SYS_RET(read(p[0], &c, 0), 0);
    close2(p);
}

KT_CASE(wrong_direction_is_ebadf) {
    int p[2];
    KT_SYS_OK(pipe(p));
    char c;
    KT_SYS_ERR(read(p[1], &c, 1), EBADF);
    KT_SYS_ERR(write(p[0], "x", 1), EBADF);
    KT_SYS_ERR(lseek(p[0], 0, SEEK_SET), ESPIPE);
    close2(p);
}

KT_CASE(fstat_is_a_fifo) {
    int p[2];
    KT_SYS_OK(pipe(p));
    struct stat a, b;
    KT_SYS_RET(fstat(p[0], &a), 0);
    KT_SYS_RET(fstat(p[1], &b), 0);
    KT_TRUE(S_ISFIFO(a.st_mode), "mode 0%o", a.st_mode);
    KT_EQ(a.st_ino, b.st_ino);
    KT_EQ(a.st_dev, b.st_dev);
    close2(p);
}

KT_CASE(epipe_when_sigpipe_is_ignored) {
    int p[2];
    KT_SYS_OK(pipe(p));
    signal(SIGPIPE, SIG_IGN);
    close(p[0]);
    KT_SYS_ERR(write(p[1], "x", 1), EPIPE);
    struct iovec iov = {.iov_base = "y", .iov_len = 1};
    KT_SYS_ERR(writev(p[1], &iov, 1), EPIPE);
    signal(SIGPIPE, SIG_DFL);
    close(p[1]);
}

static volatile int sigpipes;
static void on_pipe(int s) {
    (void)s;
    sigpipes++;
}

KT_CASE(sigpipe_handler_runs_and_write_fails) {
    int p[2];
    KT_SYS_OK(pipe(p));
    struct sigaction sa = {.sa_handler = on_pipe};
    sigemptyset(&sa.sa_mask);
    KT_SYS_RET(sigaction(SIGPIPE, &sa, NULL), 0);
    sigpipes = 0;
    close(p[0]);
    KT_SYS_ERR(write(p[1], "x", 1), EPIPE);
    KT_EQ(sigpipes, 1);
    signal(SIGPIPE, SIG_DFL);
    close(p[1]);
}

KT_CASE(sigpipe_kills_by_default) {
    int p[2], go[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_OK(pipe(go));
    pid_t pid = KT_FORK();
    if (pid == 0) {
        char c;
        close(p[0]);
        close(go[1]);
        /* write only once the parent's read end is closed too (EOF on go) */
        while (read(go[0], &c, 1) != 0) {
        }
        write(p[1], "x", 1);
        _exit(0);
    }
    close(p[0]);
    close(p[1]);
    close(go[0]);
    close(go[1]);
    KT_WAIT_STATUS(pid, kt_killed(SIGPIPE));
}

KT_CASE(poll_readiness) {
    int p[2];
    KT_SYS_OK(pipe(p));
    struct pollfd f[2] = {{.fd = p[0], .events = POLLIN | POLLOUT}, {.fd = p[1], .events = POLLIN | POLLOUT}};
    KT_SYS_RET(poll(f, 2, 0), 1);
    KT_EQ(f[0].revents, 0);
    KT_EQ(f[1].revents, POLLOUT);
    KT_SYS_RET(write(p[1], "x", 1), 1);
    KT_SYS_RET(poll(f, 2, 0), 2);
    KT_EQ(f[0].revents, POLLIN);
    close(p[0]);
    struct pollfd w = {.fd = p[1], .events = POLLOUT};
    KT_SYS_RET(poll(&w, 1, 0), 1);
    KT_EQ(w.revents, POLLOUT | POLLERR);
    close(p[1]);
    KT_SYS_OK(pipe(p));
    close(p[1]);
    struct pollfd r = {.fd = p[0], .events = POLLIN};
    KT_SYS_RET(poll(&r, 1, 0), 1);
    KT_EQ(r.revents, POLLHUP);
    close(p[0]);
}

static long ms_since(const struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

/* A sleeper on two pipes must hear of the second: a wake-up lost between
 * looking and sleeping would leave poll to its 5 s timeout. */
KT_CASE(poll_on_two_pipes_wakes_when_the_second_gets_data) {
    int a[2], b[2];
    KT_SYS_OK(pipe(a));
    KT_SYS_OK(pipe(b));
    pid_t pid = KT_FORK();
    if (pid == 0) {
        kt_msleep(50);
        _exit(write(b[1], "y", 1) == 1 ? 0 : 1);
    }
    struct pollfd f[2] = {{.fd = a[0], .events = POLLIN}, {.fd = b[0], .events = POLLIN}};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    KT_SYS_RET(poll(f, 2, 5000), 1);
    long ms = ms_since(&t0);
    KT_TRUE(ms < 2500, "woke after %ld ms", ms);
    KT_EQ(f[0].revents, 0);
    KT_EQ(f[1].revents, POLLIN);
    KT_WAIT_STATUS(pid, kt_exited(0));
    close2(a);
    close2(b);
}

/* Writers sleep too: POLLOUT on a full pipe comes back when another
 * process reads a page out of it. */
KT_CASE(poll_pollout_wakes_when_another_process_drains_a_full_pipe) {
    int p[2];
    KT_SYS_OK(nonblock_pipe(p));
    long full = 0;
    for (;;) {
        long n = write(p[1], buf, sizeof buf);
        if (n < 0) break;
        full += n;
    }
    KT_EQ(full, 65536);
    pid_t pid = KT_FORK();
    if (pid == 0) {
        kt_msleep(50);
        _exit(read(p[0], buf, 8192) == 8192 ? 0 : 1);
    }
    struct pollfd w = {.fd = p[1], .events = POLLOUT};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    KT_SYS_RET(poll(&w, 1, 5000), 1);
    long ms = ms_since(&t0);
    KT_TRUE(ms < 2500, "woke after %ld ms", ms);
    KT_EQ(w.revents, POLLOUT);
    KT_WAIT_STATUS(pid, kt_exited(0));
    close2(p);
}

/* select over two pipes: the second's writer goes away in another
 * process, which makes it readable (end of file). */
KT_CASE(select_on_two_pipes_wakes_when_the_second_hangs_up) {
    int a[2], b[2];
    KT_SYS_OK(pipe(a));
    KT_SYS_OK(pipe(b));
    pid_t pid = KT_FORK();
    if (pid == 0) {
        /* the last write end goes with the child's exit */
        kt_msleep(50);
        _exit(0);
    }
    close(b[1]);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(a[0], &rs);
    FD_SET(b[0], &rs);
    struct timeval tv = {.tv_sec = 5};
    int nfds = (a[0] > b[0] ? a[0] : b[0]) + 1;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    KT_SYS_RET(select(nfds, &rs, NULL, NULL, &tv), 1);
    long ms = ms_since(&t0);
    KT_TRUE(ms < 2500, "woke after %ld ms", ms);
    KT_TRUE(!FD_ISSET(a[0], &rs) && FD_ISSET(b[0], &rs), "a %d b %d", FD_ISSET(a[0], &rs), FD_ISSET(b[0], &rs));
    KT_WAIT_STATUS(pid, kt_exited(0));
    close2(a);
    close(b[0]);
}

/* select's sets as fs/select.c: a write end whose reader is gone reports
 * POLLERR, which makes it ready in the read set (asyncio watches a child's
 * stdin so) and the write set; a read end whose writer is gone (POLLHUP)
 * is readable but not writable; a pipe is never in the except set. The
 * reader closing in another process wakes a select already asleep. */
KT_CASE(select_sets_take_errors_and_hang_ups_as_linux) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t pid = KT_FORK();
    if (pid == 0) {
        kt_msleep(50);
        _exit(0);
    }
    close(p[0]);
    fd_set rs, ws, es;
    FD_ZERO(&rs);
    FD_SET(p[1], &rs);
    struct timeval tv = {.tv_sec = 5};
    /* the child's copy of the read end goes with its exit */
    KT_SYS_RET(select(p[1] + 1, &rs, NULL, NULL, &tv), 1);
    KT_TRUE(FD_ISSET(p[1], &rs), "write end not readable");
    KT_WAIT_STATUS(pid, kt_exited(0));
    FD_ZERO(&rs);
    FD_ZERO(&ws);
    FD_ZERO(&es);
    FD_SET(p[1], &rs);
    FD_SET(p[1], &ws);
    FD_SET(p[1], &es);
    struct timeval zero = {0, 0};
    KT_SYS_RET(select(p[1] + 1, &rs, &ws, &es, &zero), 2);
    KT_TRUE(FD_ISSET(p[1], &rs) && FD_ISSET(p[1], &ws) && !FD_ISSET(p[1], &es), "r %d w %d e %d",
            FD_ISSET(p[1], &rs), FD_ISSET(p[1], &ws), FD_ISSET(p[1], &es));
    close(p[1]);
    KT_SYS_OK(pipe(p));
    close(p[1]);
    FD_ZERO(&rs);
    FD_ZERO(&ws);
    FD_ZERO(&es);
    FD_SET(p[0], &rs);
    FD_SET(p[0], &ws);
    FD_SET(p[0], &es);
    zero = (struct timeval){0, 0};
    KT_SYS_RET(select(p[0] + 1, &rs, &ws, &es, &zero), 1);
    KT_TRUE(FD_ISSET(p[0], &rs) && !FD_ISSET(p[0], &ws) && !FD_ISSET(p[0], &es), "r %d w %d e %d",
            FD_ISSET(p[0], &rs), FD_ISSET(p[0], &ws), FD_ISSET(p[0], &es));
    close(p[0]);
}

KT_CASE(pipe2_flag_checks) {
    int p[2];
    KT_SYS_ERR(pipe2(p, O_APPEND), EINVAL);
    KT_SYS_ERR(pipe2(p, 0x80000000), EINVAL);
    KT_SYS_OK(pipe2(p, O_CLOEXEC));
    KT_EQ(fcntl(p[0], F_GETFD), FD_CLOEXEC);
    KT_EQ(fcntl(p[1], F_GETFD), FD_CLOEXEC);
    close2(p);
    KT_SYS_ERR(pipe((int *)8), EFAULT);
}

/* A FIFO opened for writing first (with O_CREAT|O_TRUNC, as a shell's
 * `>` does) waits for the reader; the reader's later open wakes it and
 * does not wait itself; the data and EOF arrive. With the writer in a
 * grandchild whose parent has exited too (bash's `( ... &)`). */
static void fifo_writer_first(int orphan) {
    char path[] = "/tmp/kt_fifo_wfirst";
    unlink(path);
    KT_SYS_OK(mkfifo(path, 0600));
    pid_t c = fork();
    if (c == 0) {
        if (orphan && fork() != 0) _exit(0);
        int w = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (w < 0) _exit(1);
        if (write(w, "fifo\n", 5) != 5) _exit(2);
        _exit(0);
    }
    if (orphan) KT_WAIT_STATUS(c, 0);
    kt_msleep(200);
    int r = open(path, O_RDONLY);
    KT_TRUE(r >= 0, "open for reading: errno %d", errno);
    char b[16] = {0};
    KT_SYS_RET(read(r, b, sizeof b), 5);
    KT_EQ(memcmp(b, "fifo\n", 5), 0);
    KT_SYS_RET(read(r, b, sizeof b), 0);
    close(r);
    if (!orphan) KT_WAIT_STATUS(c, 0);
    unlink(path);
}

KT_CASE(fifo_writer_opens_first) {
    fifo_writer_first(0);
}

KT_CASE(fifo_writer_opens_first_in_an_orphan) {
    fifo_writer_first(1);
}

/* The open of either side racing the other's (no sleep between them, or
 * a few ms): neither may wait for a partner that already came, even one
 * that has written, closed and exited before the opener looked. */
KT_CASE(fifo_opens_racing_200_rounds) {
    char path[] = "/tmp/kt_fifo_race";
    for (int i = 0; i < 200; i++) {
        unlink(path);
        KT_SYS_OK(mkfifo(path, 0600));
        pid_t c = fork();
        if (c == 0) {
            int w = open(path, O_WRONLY);
            if (w < 0) _exit(1);
            if (write(w, "fifo\n", 5) != 5) _exit(2);
            _exit(0);
        }
        if (i % 7) kt_msleep(i % 7);
        int r = open(path, O_RDONLY);
        KT_TRUE(r >= 0, "round %d: open for reading: errno %d", i, errno);
        char b[16];
        KT_SYS_RET(read(r, b, sizeof b), 5);
        KT_SYS_RET(read(r, b, sizeof b), 0);
        close(r);
        KT_WAIT_STATUS(c, 0);
        if (kt_case_failed) break;
    }
    unlink(path);
}

KT_MAIN()
