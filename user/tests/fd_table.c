/* The fd table: dup, dup2, dup3, fcntl F_DUPFD/F_DUPFD_CLOEXEC/F_GETFD/
 * F_SETFD, close, close_range, RLIMIT_NOFILE, close-on-exec and fork. */
#include "kt.h"

#include <pthread.h>

#define FD_GONE(fd) (fcntl((fd), F_GETFD) == -1 && errno == EBADF)

static int fresh_fd(void) {
    return open("/", O_RDONLY | O_DIRECTORY);
}

KT_CASE(dup_returns_the_lowest_free_fd) {
    int a = KT_SYS_OK(dup(0));
    int b = KT_SYS_OK(dup(0));
    KT_EQ(b, a + 1);
    KT_SYS_RET(close(a), 0);
    KT_SYS_RET(dup(1), a);
    close(a);
    close(b);
}

KT_CASE(dup_of_a_bad_fd_is_ebadf) {
    KT_SYS_ERR(dup(-1), EBADF);
    KT_SYS_ERR(dup(1000), EBADF);
    KT_SYS_ERR(dup(0x7fffffff), EBADF);
}

KT_CASE(dup2_same_fd_returns_it_or_ebadf) {
    KT_SYS_RET(dup2(1, 1), 1);
    KT_SYS_ERR(dup2(900, 900), EBADF);
}

KT_CASE(dup2_replaces_an_open_fd) {
    int a = KT_SYS_OK(fresh_fd());
    int b = KT_SYS_OK(open("/tests", O_RDONLY | O_DIRECTORY));
    KT_SYS_RET(fcntl(b, F_SETFD, FD_CLOEXEC), 0);
    KT_SYS_RET(dup2(a, b), b);
    KT_EQ(fcntl(b, F_GETFD), 0); /* the new fd has no close-on-exec */
    KT_EQ(lseek(a, 0, SEEK_CUR), lseek(b, 0, SEEK_CUR));
    close(a);
    close(b);
}

KT_CASE(dup2_to_a_bad_new_fd_is_ebadf) {
    KT_SYS_ERR(dup2(1, -1), EBADF);
    KT_SYS_ERR(dup2(1, 0x7fffffff), EBADF);
}

/* The raw syscall: musl's dup3() retries flags other than O_CLOEXEC as a
 * plain dup2 and succeeds where Linux says EINVAL. */
static long raw_dup3(int a, int b, int flags) {
    return syscall(SYS_dup3, a, b, flags);
}

KT_CASE(dup3_rules) {
    KT_SYS_ERR(raw_dup3(1, 1, 0), EINVAL);
    KT_SYS_ERR(raw_dup3(1, 1, O_CLOEXEC), EINVAL);
    KT_SYS_ERR(raw_dup3(1, 50, O_NONBLOCK), EINVAL);
    KT_SYS_ERR(raw_dup3(77, 50, 0), EBADF);
    KT_SYS_RET(raw_dup3(1, 50, O_CLOEXEC), 50);
    KT_EQ(fcntl(50, F_GETFD), FD_CLOEXEC);
    KT_SYS_RET(raw_dup3(1, 50, 0), 50);
    KT_EQ(fcntl(50, F_GETFD), 0);
    close(50);
}

KT_CASE(dup_clears_close_on_exec) {
    int a = KT_SYS_OK(fcntl(1, F_DUPFD_CLOEXEC, 0));
    KT_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
    int b = KT_SYS_OK(dup(a));
    KT_EQ(fcntl(b, F_GETFD), 0);
    close(a);
    close(b);
}

KT_CASE(f_dupfd_takes_the_lowest_at_or_above_arg) {
    KT_SYS_RET(fcntl(1, F_DUPFD, 20), 20);
    KT_SYS_RET(fcntl(1, F_DUPFD, 20), 21);
    KT_SYS_RET(close(20), 0);
    KT_SYS_RET(fcntl(1, F_DUPFD, 18), 18);
    KT_SYS_RET(fcntl(1, F_DUPFD, 18), 19);
    KT_SYS_RET(fcntl(1, F_DUPFD, 18), 20);
    KT_EQ(fcntl(20, F_GETFD), 0);
    for (int fd = 18; fd <= 21; fd++) close(fd);
}

KT_CASE(f_dupfd_limits_are_einval) {
    struct rlimit rl;
    KT_SYS_RET(getrlimit(RLIMIT_NOFILE, &rl), 0);
    KT_SYS_ERR(fcntl(1, F_DUPFD, -1), EINVAL);
    KT_SYS_ERR(fcntl(1, F_DUPFD, (int)rl.rlim_cur), EINVAL);
    KT_SYS_ERR(fcntl(1, F_DUPFD_CLOEXEC, (int)rl.rlim_cur), EINVAL);
    KT_SYS_ERR(fcntl(99, F_DUPFD, 0), EBADF);
}

KT_CASE(f_setfd_and_f_getfd) {
    int a = KT_SYS_OK(dup(1));
    KT_EQ(fcntl(a, F_GETFD), 0);
    KT_SYS_RET(fcntl(a, F_SETFD, FD_CLOEXEC), 0);
    KT_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
    KT_SYS_RET(fcntl(a, F_SETFD, 0xfe), 0); /* only bit 0 counts */
    KT_EQ(fcntl(a, F_GETFD), 0);
    KT_SYS_ERR(fcntl(a + 100, F_GETFD), EBADF);
    KT_SYS_ERR(fcntl(a + 100, F_SETFD, 0), EBADF);
    close(a);
}

KT_CASE(close_of_a_bad_fd_is_ebadf) {
    int a = KT_SYS_OK(dup(1));
    KT_SYS_RET(close(a), 0);
    KT_SYS_ERR(close(a), EBADF);
    KT_SYS_ERR(close(-1), EBADF);
}

KT_CASE(rlimit_nofile_gives_emfile_and_ebadf) {
    struct rlimit old, rl;
    KT_SYS_RET(getrlimit(RLIMIT_NOFILE, &old), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        rl.rlim_cur = 16;
        rl.rlim_max = old.rlim_max;
        KT_SYS_RET(setrlimit(RLIMIT_NOFILE, &rl), 0);
        int last = -1;
        for (int i = 0; i < 20; i++) {
            int fd = dup(1);
            if (fd < 0) break;
            last = fd;
        }
        KT_EQ(last, 15);
        KT_SYS_ERR(dup(1), EMFILE);
        KT_SYS_ERR(fcntl(1, F_DUPFD, 0), EMFILE);
        KT_SYS_ERR(open("/", O_RDONLY), EMFILE);
        KT_SYS_ERR(dup2(1, 16), EBADF);
        KT_SYS_ERR(fcntl(1, F_DUPFD, 16), EINVAL);
        /* fds already above a lowered limit stay usable */
        KT_SYS_RET(close(15), 0);
        KT_SYS_RET(dup(1), 15);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
}

static long close_range(unsigned first, unsigned last, unsigned flags) {
    return syscall(SYS_close_range, first, last, flags);
}

KT_CASE(close_range_closes_the_range) {
    KT_SYS_RET(dup2(1, 30), 30);
    KT_SYS_RET(dup2(1, 31), 31);
    KT_SYS_RET(dup2(1, 33), 33);
    KT_SYS_RET(dup2(1, 34), 34);
    KT_SYS_RET(close_range(30, 33, 0), 0);
    KT_TRUE(FD_GONE(30) && FD_GONE(31) && FD_GONE(33), "fds 30..33 still open");
    KT_EQ(fcntl(34, F_GETFD), 0);
    KT_SYS_RET(close_range(34, ~0u, 0), 0);
    KT_TRUE(FD_GONE(34), "fd 34 still open");
    KT_SYS_RET(close_range(200, 300, 0), 0); /* nothing open there: fine */
}

KT_CASE(close_range_cloexec_marks_instead_of_closing) {
    KT_SYS_RET(dup2(1, 40), 40);
    KT_SYS_RET(dup2(1, 41), 41);
    KT_SYS_RET(close_range(40, 41, CLOSE_RANGE_CLOEXEC), 0);
    KT_EQ(fcntl(40, F_GETFD), FD_CLOEXEC);
    KT_EQ(fcntl(41, F_GETFD), FD_CLOEXEC);
    close(40);
    close(41);
}

KT_CASE(close_range_bad_arguments_are_einval) {
    KT_SYS_ERR(close_range(10, 9, 0), EINVAL);
    KT_SYS_ERR(close_range(3, 4, 1), EINVAL);
    KT_SYS_ERR(close_range(3, 4, 0x80), EINVAL);
}

KT_CASE(close_range_unshare_of_a_private_table_closes_the_range) {
    KT_SYS_RET(dup2(1, 50), 50);
    KT_SYS_RET(dup2(1, 51), 51);
    KT_SYS_RET(close_range(50, 51, CLOSE_RANGE_UNSHARE), 0);
    KT_TRUE(FD_GONE(50) && FD_GONE(51), "fds 50, 51 still open");
    KT_SYS_ERR(close_range(51, 50, CLOSE_RANGE_UNSHARE), EINVAL);
}

/* A thread sharing the table (pthreads share it: CLONE_FILES) looks at fds
 * 52 and 53 once the main thread's close_range with CLOSE_RANGE_UNSHARE is
 * done: the caller got a private copy, the thread still has both, 53
 * without close-on-exec. */
static int unshare_go[2];

static void *sharer_looks(void *arg) {
    (void)arg;
    char c;
    if (read(unshare_go[0], &c, 1) != 1) return (void *)1L;
    long bad = 0;
    if (fcntl(52, F_GETFD) != 0) bad |= 2;
    if (fcntl(53, F_GETFD) != 0) bad |= 4;
    return (void *)bad;
}

KT_CASE(close_range_unshare_leaves_the_sharers_table_alone) {
    KT_SYS_RET(pipe(unshare_go), 0);
    KT_SYS_RET(dup2(1, 52), 52);
    KT_SYS_RET(dup2(1, 53), 53);
    pthread_t t;
    KT_EQ(pthread_create(&t, 0, sharer_looks, 0), 0);
    KT_SYS_RET(close_range(52, 52, CLOSE_RANGE_UNSHARE), 0);
    KT_TRUE(FD_GONE(52), "fd 52 still open in the caller's copy");
    KT_SYS_RET(close_range(53, 53, CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC), 0);
    KT_EQ(fcntl(53, F_GETFD), FD_CLOEXEC);
    /* the copy is the caller's own: a new fd is not the thread's */
    KT_SYS_RET(dup2(1, 54), 54);
    KT_SYS_RET(write(unshare_go[1], "g", 1), 1);
    void *bad = (void *)-1L;
    KT_EQ(pthread_join(t, &bad), 0);
    KT_EQ((long)bad, 0L);
    close(53);
    close(54);
    close(unshare_go[0]);
    close(unshare_go[1]);
}

KT_CASE(dup_shares_the_file_offset) {
    int fd = KT_SYS_OK(open("/tmp/kt_fd_offset", O_CREAT | O_RDWR | O_TRUNC, 0600));
    int d = KT_SYS_OK(dup(fd));
    KT_SYS_RET(write(fd, "hello", 5), 5);
    KT_EQ(lseek(d, 0, SEEK_CUR), 5);
    KT_SYS_RET(lseek(d, 1, SEEK_SET), 1);
    char buf[8] = {0};
    KT_SYS_RET(read(fd, buf, 4), 4);
    KT_EQ(memcmp(buf, "ello", 4), 0);
    close(fd);
    close(d);
    unlink("/tmp/kt_fd_offset");
}

KT_CASE(fork_copies_the_fd_table) {
    int a = KT_SYS_OK(dup(1));
    pid_t p = KT_FORK();
    if (p == 0) {
        KT_EQ(fcntl(a, F_GETFD), 0);
        close(a);
        KT_SYS_RET(dup2(1, 60), 60);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_EQ(fcntl(a, F_GETFD), 0);
    KT_TRUE(FD_GONE(60), "the child's fd 60 appeared in the parent");
    close(a);
}

/* runs `<self> kt-fd fd`: exit 0 when fd is closed in the new image */
static int exec_sees_closed(int fd) {
    pid_t p = fork();
    if (p == 0) {
        char num[16];
        snprintf(num, sizeof num, "%d", fd);
        char *argv[] = {(char *)kt_self, "kt-fd", num, 0};
        execv(kt_self, argv);
        _exit(127);
    }
    int st = -1;
    waitpid(p, &st, 0);
    return st;
}

KT_CASE(close_on_exec_closes_across_execve) {
    KT_SYS_RET(dup3(1, 70, O_CLOEXEC), 70);
    KT_SYS_RET(dup2(1, 71), 71);
    KT_STATUS(exec_sees_closed(70), kt_exited(0));
    KT_STATUS(exec_sees_closed(71), kt_exited(1));
    close(70);
    close(71);
}

KT_MAIN()
