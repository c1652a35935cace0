/* What the Linux Test Project's pipe and pipe2 groups check (pipe04, 07,
 * 11, 12, 13, 14, 15, pipe2_03, pipe2_04), written here as cases of our own:
 * killable writers, EMFILE, many readers of one pipe, non-blocking writes
 * to a full pipe, every reader woken by the last writer's close, EOF,
 * pipes at the per-user soft limit, a one-page pipe. Anything that could
 * block for ever runs in a child under alarm(), so a hang is a failure
 * and not a stuck suite. */
#include "kt.h"

#include <sys/ioctl.h>

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#endif

/* reaps pid within ms; its status, or -1 (then it is killed and reaped) */
static int reap_within(pid_t pid, int ms) {
    int st;
    for (int i = 0; i < ms / 5; i++) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return st;
        if (r < 0) return -1;
        kt_msleep(5);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* pipe04: two children writing for ever are killed by SIGKILL, whether
 * blocked on the full pipe or between writes */
KT_CASE(writers_blocked_on_a_full_pipe_die_of_sigkill) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t kid[2];
    for (int k = 0; k < 2; k++) {
        kid[k] = KT_FORK();
        if (kid[k] == 0) {
            close(p[0]);
            const char *msg = k ? "AAAAAAAAAAAAAAAAAAAAAAAAA" : "bbbbbbbbbbbbbbbbbbbbbbbbb";
            for (;;)
                if (write(p[1], msg, 25) != 25) _exit(3);
        }
    }
    close(p[1]);
    char buf[BUFSIZ];
    int a = 0, b = 0, bad = 0;
    while (a < 100 && b < 100 && !bad) {
        ssize_t n = read(p[0], buf, sizeof buf);
        if (n <= 0) break;
        if (buf[1] == 'A') a++;
        else if (buf[1] == 'b') b++;
        else bad = 1;
    }
    KT_EQ(bad, 0);
    KT_TRUE(a == 100 || b == 100, "read %d and %d chunks", a, b);
    /* let both fill the pipe and block */
    kt_msleep(50);
    for (int k = 0; k < 2; k++) KT_SYS_OK(kill(kid[k], SIGKILL));
    for (int k = 0; k < 2; k++) KT_STATUS(reap_within(kid[k], 5000), kt_killed(SIGKILL));
    close(p[0]);
}

/* pipe07: pipes until EMFILE, exactly (limit - open fds) / 2 of them */
KT_CASE(pipes_until_emfile) {
    pid_t c = KT_FORK();
    if (c == 0) {
        struct rlimit rl = {64, 64};
        KT_SYS_OK(setrlimit(RLIMIT_NOFILE, &rl));
        int open_fds = 0;
        for (int fd = 0; fd < 64; fd++)
            if (fcntl(fd, F_GETFD) >= 0) open_fds++;
        int n = 0, p[2];
        for (;;) {
            if (pipe(p) != 0) break;
            n++;
        }
        KT_EQ(errno, EMFILE);
        KT_EQ(n, (64 - open_fds) / 2);
        /* a pipe made when one fd is left: EMFILE, and no fd is lost */
        if ((64 - open_fds) % 2 == 1) KT_SYS_ERR(pipe(p), EMFILE);
        int fd = open("/", O_RDONLY);
        KT_TRUE(fd >= 0 || (64 - open_fds) % 2 == 0, "the odd fd left is free");
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* pipe11: 50 children share the reading of 2500 bytes written before
 * they were made, 50 bytes each */
KT_CASE(many_children_read_one_pipe) {
    enum { KIDS = 50, EACH = 50 };
    char wr[KIDS * EACH];
    for (int i = 0; i < (int)sizeof wr; i++) wr[i] = "abcdefghijklmnopqrstuvwxyz"[i % 26];
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(write(p[1], wr, sizeof wr), (ssize_t)sizeof wr);
    pid_t kids[KIDS];
    for (int i = 0; i < KIDS; i++) {
        kids[i] = KT_FORK();
        if (kids[i] == 0) {
            close(p[1]);
            char rd[EACH];
            ssize_t n = read(p[0], rd, EACH);
            _exit(n == EACH ? 0 : 1);
        }
    }
    for (int i = 0; i < KIDS; i++) KT_STATUS(reap_within(kids[i], 10000), kt_exited(0));
    /* all was taken */
    KT_SYS_OK(fcntl(p[0], F_SETFL, O_NONBLOCK));
    char c;
    KT_SYS_ERR(read(p[0], &c, 1), EAGAIN);
    close(p[0]);
    close(p[1]);
}

/* pipe12: non-blocking writes: a full pipe is EAGAIN; a write larger than
 * the pipe into an empty one writes what fits; into a pipe holding one
 * byte, the free pages */
KT_CASE(nonblocking_write_to_full_empty_and_nonempty_pipe) {
    int p[2];
    KT_SYS_OK(pipe(p));
    int max = KT_SYS_OK(fcntl(p[1], F_GETPIPE_SZ));
    KT_EQ(max, 65536);
    char *buf = malloc(max + 4096);
    memset(buf, 'x', max + 4096);
    KT_SYS_OK(fcntl(p[1], F_SETFL, O_NONBLOCK));
    KT_SYS_OK(fcntl(p[0], F_SETFL, O_NONBLOCK));
    int n;
    /* full */
    KT_SYS_RET(write(p[1], buf, max), max);
    KT_SYS_ERR(write(p[1], "x", 1), EAGAIN);
    KT_SYS_OK(ioctl(p[1], FIONREAD, &n));
    KT_EQ(n, max);
    KT_SYS_RET(read(p[0], buf, max), max);
    /* one byte in: its page is taken, the 15 others are filled */
    KT_SYS_RET(write(p[1], "x", 1), 1);
    KT_SYS_RET(write(p[1], buf, max + 4096), max - 4096);
    KT_SYS_OK(ioctl(p[1], FIONREAD, &n));
    KT_EQ(n, max - 4096 + 1);
    KT_SYS_RET(read(p[0], buf, max + 4096), max - 4096 + 1);
    /* empty: the whole pipe */
    KT_SYS_RET(write(p[1], buf, max + 4096), max);
    KT_SYS_OK(ioctl(p[1], FIONREAD, &n));
    KT_EQ(n, max);
    KT_SYS_RET(read(p[0], buf, max), max);
    KT_SYS_ERR(read(p[0], buf, 1), EAGAIN);
    free(buf);
    close(p[0]);
    close(p[1]);
}

/* pipe13: readers blocked on an empty pipe all wake with EOF when the last
 * writer closes (Linux commit 6551d5c56eb0) */
static void readers_wake_on_last_close(int nkids) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t kids[100];
    for (int i = 0; i < nkids; i++) {
        kids[i] = KT_FORK();
        if (kids[i] == 0) {
            close(p[1]);
            char c;
            ssize_t n = read(p[0], &c, 1);
            _exit(n == 0 ? 0 : 1);
        }
        KT_TRUE(kt_wait_sleeping(kids[i], 5000), "child %d asleep in read", i);
    }
    close(p[0]);
    close(p[1]);
    int woken = 0;
    for (int i = 0; i < nkids; i++)
        if (reap_within(kids[i], 5000) == 0) woken++;
    KT_EQ(woken, nkids);
}

KT_CASE(last_writer_close_wakes_every_reader) {
    static const int counts[] = {2, 10, 27, 100};
    for (int i = 0; i < 4; i++) readers_wake_on_last_close(counts[i]);
}

/* pipe14: EOF once the data written before the close is read */
KT_CASE(eof_after_the_rest_is_read) {
    int p[2];
    char wr[] = "abcdefghijklmnopqrstuvwxyz", rd[30];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(write(p[1], wr, sizeof wr), (ssize_t)sizeof wr);
    KT_SYS_OK(close(p[1]));
    KT_SYS_RET(read(p[0], rd, sizeof rd), (ssize_t)sizeof wr);
    KT_EQ(memcmp(rd, wr, sizeof wr), 0);
    KT_SYS_RET(read(p[0], rd, 1), 0);
    KT_SYS_OK(close(p[0]));
}

/* pipe15: with as many pipes as fs.pipe-user-pages-soft allows, the last
 * one made still takes a full write, a read of all but one byte and a
 * one-byte write without blocking (Linux commit 46c4c9d1beb7: a pipe at
 * the soft limit gets two pages, not one) */
KT_CASE(pipes_at_the_user_soft_limit_do_not_block) {
    pid_t c = KT_FORK();
    if (c == 0) {
        alarm(20);
        int probe[2];
        KT_SYS_OK(pipe(probe));
        int size = KT_SYS_OK(fcntl(probe[1], F_GETPIPE_SZ));
        close(probe[0]);
        close(probe[1]);
        long soft = -1;
        FILE *f = fopen("/proc/sys/fs/pipe-user-pages-soft", "r");
        KT_TRUE(f != NULL, "pipe-user-pages-soft: %s", kt_errname(errno));
        if (!f) _exit(1);
        KT_EQ(fscanf(f, "%ld", &soft), 1);
        fclose(f);
        KT_TRUE(soft > 0, "soft limit %ld", soft);
        long count = soft * 4096 / size;
        struct rlimit rl = {count * 2 + 16, count * 2 + 16};
        KT_SYS_OK(setrlimit(RLIMIT_NOFILE, &rl));
        int *fds = malloc(count * 2 * sizeof(int));
        for (long i = 0; i < count; i++) KT_SYS_OK(pipe(fds + 2 * i));
        int *last = fds + 2 * (count - 1);
        int bsize = KT_SYS_OK(fcntl(last[1], F_GETPIPE_SZ));
        KT_TRUE(bsize >= 8192, "last pipe holds %d bytes", bsize);
        char *buf = malloc(bsize);
        memset(buf, 'p', bsize);
        KT_SYS_RET(write(last[1], buf, bsize), bsize);
        KT_SYS_RET(read(last[0], buf, bsize - 1), bsize - 1);
        KT_SYS_RET(write(last[1], buf, 1), 1);
        KT_SYS_RET(read(last[0], buf, 2), 2);
        for (long i = 0; i < count * 2; i++) close(fds[i]);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* pipe2_03 / pipe2_04: F_SETPIPE_SZ 0 makes a one-page pipe, seen from
 * both ends; full, a non-blocking write is EAGAIN and a blocking one
 * sleeps until SIGKILL ends it */
KT_CASE(one_page_pipe_full_write_blocks_until_killed) {
    int p[2];
    KT_SYS_OK(pipe2(p, O_NONBLOCK));
    int fl = KT_SYS_OK(fcntl(p[0], F_GETFL));
    KT_TRUE(fl & O_NONBLOCK, "O_NONBLOCK set");
    KT_SYS_RET(fcntl(p[0], F_GETPIPE_SZ), 65536);
    KT_SYS_RET(fcntl(p[0], F_SETPIPE_SZ, 0), 4096);
    KT_SYS_RET(fcntl(p[1], F_GETPIPE_SZ), 4096);
    char buf[4096];
    memset(buf, 'z', sizeof buf);
    KT_SYS_RET(write(p[1], buf, sizeof buf), 4096);
    KT_SYS_ERR(write(p[1], buf, sizeof buf), EAGAIN);
    KT_SYS_ERR(write(p[1], "x", 1), EAGAIN);
    fl = KT_SYS_OK(fcntl(p[1], F_GETFL));
    KT_SYS_OK(fcntl(p[1], F_SETFL, fl & ~O_NONBLOCK));
    KT_EQ(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
    for (int len = 1; len <= 4096; len += 4095) {
        pid_t c = KT_FORK();
        if (c == 0) {
            alarm(20);
            write(p[1], buf, len);
            _exit(1);
        }
        KT_TRUE(kt_wait_sleeping(c, 2000), "writer of %d bytes asleep", len);
        KT_SYS_OK(kill(c, SIGKILL));
        KT_STATUS(reap_within(c, 5000), kt_killed(SIGKILL));
    }
    /* the pipe still holds its page, nothing more */
    int n;
    KT_SYS_OK(ioctl(p[0], FIONREAD, &n));
    KT_EQ(n, 4096);
    close(p[0]);
    close(p[1]);
}

KT_MAIN()
