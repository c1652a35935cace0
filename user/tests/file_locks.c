/* File locks: POSIX record locks (F_GETLK/F_SETLK/F_SETLKW, owned by the
 * process, split and merged, released by any close of the file by the
 * process, EDEADLK, EINTR), OFD locks (F_OFD_*, owned by the open file
 * description) and flock(2) (shared across fork and dup, conversions), with
 * the range and argument errors Linux gives. Other processes are forked
 * children: a POSIX lock conflicts only with another process. */
#include "kt.h"

#include <pthread.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/time.h>

#ifndef F_OFD_GETLK
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#endif
#ifndef LOCK_MAND
#define LOCK_MAND 32
#endif

static char path[64];

/* A fresh empty file in /tmp, open read-write (path in `path`). */
static int fresh(void) {
    static int n;
    snprintf(path, sizeof path, "/tmp/kt_locks_%d_%d", (int)getpid(), n++);
    return open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
}

/* Another open file description of the same file. */
static int reopen(int flags) {
    return open(path, flags);
}

static int lk(int fd, int cmd, int type, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

/* F_GETLK of `type` on [start, start+len) into *fl. */
static int getlk(int fd, int cmd, int type, off_t start, off_t len, struct flock *fl) {
    memset(fl, 0, sizeof *fl);
    fl->l_type = type;
    fl->l_whence = SEEK_SET;
    fl->l_start = start;
    fl->l_len = len;
    return fcntl(fd, cmd, fl);
}

/* In a child process: F_SETLK of `type` on the range through a new open
 * file description; exit 0 on success, else errno. */
static int child_setlk(int type, off_t start, off_t len) {
    pid_t p = fork();
    if (p == 0) {
        int fd = reopen(O_RDWR);
        if (fd < 0) _exit(100);
        _exit(lk(fd, F_SETLK, type, start, len) == 0 ? 0 : errno);
    }
    int st = 0;
    if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

/* In a child process: flock(op) through a new open file description;
 * exit 0 on success, else errno. */
static int child_flock(int op) {
    pid_t p = fork();
    if (p == 0) {
        int fd = reopen(O_RDWR);
        if (fd < 0) _exit(100);
        _exit(flock(fd, op) == 0 ? 0 : errno);
    }
    int st = 0;
    if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

/* Whether fd `r` (non-blocking) has a byte to read now. */
static int ready(int r) {
    char c;
    return read(r, &c, 1) == 1;
}

KT_CASE(getlk_reports_other_process_lock) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 10, 100), 0);
    pid_t me = getpid();
    pid_t p = KT_FORK();
    if (p == 0) {
        int f2 = KT_SYS_OK(reopen(O_RDONLY));
        struct flock fl;
        KT_SYS_RET(getlk(f2, F_GETLK, F_RDLCK, 50, 1, &fl), 0);
        KT_EQ(fl.l_type, F_WRLCK);
        KT_EQ(fl.l_whence, SEEK_SET);
        KT_EQ(fl.l_start, 10);
        KT_EQ(fl.l_len, 100);
        KT_EQ(fl.l_pid, me);
        /* outside the lock: F_UNLCK, the rest as given */
        KT_SYS_RET(getlk(f2, F_GETLK, F_WRLCK, 110, 5, &fl), 0);
        KT_EQ(fl.l_type, F_UNLCK);
        KT_EQ(fl.l_start, 110);
        KT_EQ(fl.l_len, 5);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    close(fd);
    unlink(path);
}

KT_CASE(getlk_own_lock_is_no_conflict) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 0, 0), 0);
    struct flock fl;
    KT_SYS_RET(getlk(fd, F_GETLK, F_WRLCK, 0, 10, &fl), 0);
    KT_EQ(fl.l_type, F_UNLCK);
    KT_EQ(fl.l_pid, 0);
    close(fd);
    unlink(path);
}

KT_CASE(setlk_conflict_eagain) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 0, 10), 0);
    KT_EQ(child_setlk(F_WRLCK, 5, 1), EAGAIN);
    KT_EQ(child_setlk(F_RDLCK, 9, 1), EAGAIN);
    KT_EQ(child_setlk(F_WRLCK, 10, 10), 0);
    close(fd);
    unlink(path);
}

KT_CASE(read_locks_are_shared) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_SETLK, F_RDLCK, 0, 10), 0);
    KT_EQ(child_setlk(F_RDLCK, 0, 10), 0);
    KT_EQ(child_setlk(F_WRLCK, 0, 1), EAGAIN);
    close(fd);
    unlink(path);
}

KT_CASE(unlock_in_the_middle_splits) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 0, 100), 0);
    KT_SYS_RET(lk(fd, F_SETLK, F_UNLCK, 40, 20), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        int f2 = KT_SYS_OK(reopen(O_RDWR));
        struct flock fl;
        KT_SYS_RET(getlk(f2, F_GETLK, F_WRLCK, 0, 100, &fl), 0);
        KT_EQ(fl.l_start, 0);
        KT_EQ(fl.l_len, 40);
        KT_SYS_RET(getlk(f2, F_GETLK, F_WRLCK, 40, 20, &fl), 0);
        KT_EQ(fl.l_type, F_UNLCK);
        KT_SYS_RET(getlk(f2, F_GETLK, F_WRLCK, 45, 0, &fl), 0);
        KT_EQ(fl.l_type, F_WRLCK);
        KT_EQ(fl.l_start, 60);
        KT_EQ(fl.l_len, 40);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    close(fd);
    unlink(path);
}

KT_CASE(adjacent_locks_merge) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 0, 10), 0);
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 10, 10), 0);
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 30, 10), 0);
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 15, 20), 0); /* joins all three */
    pid_t p = KT_FORK();
    if (p == 0) {
        int f2 = KT_SYS_OK(reopen(O_RDWR));
        struct flock fl;
        KT_SYS_RET(getlk(f2, F_GETLK, F_RDLCK, 0, 0, &fl), 0);
        KT_EQ(fl.l_start, 0);
        KT_EQ(fl.l_len, 40);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    close(fd);
    unlink(path);
}

KT_CASE(upgrade_in_the_middle_and_downgrade) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_SETLK, F_RDLCK, 0, 30), 0);
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 10, 10), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        int f2 = KT_SYS_OK(reopen(O_RDWR));
        struct flock fl;
        /* a reader conflicts only with the write part */
        KT_SYS_RET(getlk(f2, F_GETLK, F_RDLCK, 0, 30, &fl), 0);
        KT_EQ(fl.l_type, F_WRLCK);
        KT_EQ(fl.l_start, 10);
        KT_EQ(fl.l_len, 10);
        /* a writer meets the first piece: the read lock [0, 10) */
        KT_SYS_RET(getlk(f2, F_GETLK, F_WRLCK, 0, 30, &fl), 0);
        KT_EQ(fl.l_type, F_RDLCK);
        KT_EQ(fl.l_start, 0);
        KT_EQ(fl.l_len, 10);
        KT_SYS_RET(getlk(f2, F_GETLK, F_WRLCK, 20, 30, &fl), 0);
        KT_EQ(fl.l_type, F_RDLCK);
        KT_EQ(fl.l_start, 20);
        KT_EQ(fl.l_len, 10);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    /* downgrade: one read lock [0, 30) again */
    KT_SYS_RET(lk(fd, F_SETLK, F_RDLCK, 10, 10), 0);
    KT_EQ(child_setlk(F_RDLCK, 0, 30), 0);
    KT_EQ(child_setlk(F_WRLCK, 29, 1), EAGAIN);
    KT_EQ(child_setlk(F_WRLCK, 30, 1), 0);
    close(fd);
    unlink(path);
}

KT_CASE(len_zero_and_negative_len) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 100, 0), 0);
    KT_SYS_RET(lk(fd, F_SETLK, F_RDLCK, 50, -10), 0); /* [40, 50) */
    pid_t p = KT_FORK();
    if (p == 0) {
        int f2 = KT_SYS_OK(reopen(O_RDWR));
        struct flock fl;
        KT_SYS_RET(getlk(f2, F_GETLK, F_RDLCK, 1LL << 40, 1, &fl), 0);
        KT_EQ(fl.l_start, 100);
        KT_EQ(fl.l_len, 0);
        KT_SYS_RET(getlk(f2, F_GETLK, F_WRLCK, 0, 60, &fl), 0);
        KT_EQ(fl.l_type, F_RDLCK);
        KT_EQ(fl.l_start, 40);
        KT_EQ(fl.l_len, 10);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    close(fd);
    unlink(path);
}

KT_CASE(whence_cur_and_end) {
    int fd = KT_SYS_OK(fresh());
    char buf[200] = {0};
    KT_SYS_RET(write(fd, buf, sizeof buf), 200);
    KT_SYS_RET(lseek(fd, 50, SEEK_SET), 50);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_CUR, .l_start = 10, .l_len = 5};
    KT_SYS_RET(fcntl(fd, F_SETLK, &fl), 0);
    struct flock fe = {.l_type = F_RDLCK, .l_whence = SEEK_END, .l_start = -20, .l_len = 10};
    KT_SYS_RET(fcntl(fd, F_SETLK, &fe), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        int f2 = KT_SYS_OK(reopen(O_RDWR));
        struct flock g;
        KT_SYS_RET(getlk(f2, F_GETLK, F_WRLCK, 0, 100, &g), 0);
        KT_EQ(g.l_start, 60);
        KT_EQ(g.l_len, 5);
        KT_SYS_RET(getlk(f2, F_GETLK, F_WRLCK, 100, 0, &g), 0);
        KT_EQ(g.l_type, F_RDLCK);
        KT_EQ(g.l_start, 180);
        KT_EQ(g.l_len, 10);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    close(fd);
    unlink(path);
}

KT_CASE(range_errors_einval) {
    int fd = KT_SYS_OK(fresh());
    struct flock fl = {.l_type = F_WRLCK, .l_whence = 3, .l_start = 0, .l_len = 1};
    KT_SYS_ERR(fcntl(fd, F_SETLK, &fl), EINVAL);
    KT_SYS_ERR(fcntl(fd, F_GETLK, &fl), EINVAL);
    KT_SYS_ERR(lk(fd, F_SETLK, F_WRLCK, -1, 1), EINVAL);
    KT_SYS_ERR(lk(fd, F_SETLK, F_WRLCK, 10, -11), EINVAL);
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 10, -10), 0); /* [0, 10) */
    struct flock fe = {.l_type = F_WRLCK, .l_whence = SEEK_END, .l_start = -1, .l_len = 1};
    KT_SYS_ERR(fcntl(fd, F_SETLK, &fe), EINVAL); /* empty file: start -1 */
    close(fd);
    unlink(path);
}

KT_CASE(range_overflow_eoverflow) {
    int fd = KT_SYS_OK(fresh());
    const off_t max = 0x7fffffffffffffffLL;
    KT_SYS_ERR(lk(fd, F_SETLK, F_WRLCK, max, 2), EOVERFLOW);
    KT_SYS_ERR(lk(fd, F_SETLK, F_WRLCK, 2, max), EOVERFLOW);
    struct flock fl;
    KT_SYS_ERR(getlk(fd, F_GETLK, F_WRLCK, 2, max, &fl), EOVERFLOW);
    KT_SYS_RET(lseek(fd, 10, SEEK_SET), 10);
    struct flock fc = {.l_type = F_WRLCK, .l_whence = SEEK_CUR, .l_start = max, .l_len = 1};
    KT_SYS_ERR(fcntl(fd, F_SETLK, &fc), EOVERFLOW);
    /* the last byte and [1, OFF_MAX] are fine */
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, max, 1), 0);
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 1, max), 0);
    KT_EQ(child_setlk(F_WRLCK, 1LL << 62, 1), EAGAIN);
    KT_EQ(child_setlk(F_WRLCK, 0, 1), 0);
    close(fd);
    unlink(path);
}

KT_CASE(bad_type_einval) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_ERR(lk(fd, F_SETLK, 7, 0, 1), EINVAL);
    KT_SYS_ERR(lk(fd, F_OFD_SETLK, -1, 0, 1), EINVAL);
    struct flock fl;
    KT_SYS_ERR(getlk(fd, F_GETLK, F_UNLCK, 0, 1, &fl), EINVAL);
    KT_SYS_ERR(getlk(fd, F_GETLK, 9, 0, 1, &fl), EINVAL);
    /* the range is checked before the type */
    KT_SYS_ERR(lk(fd, F_SETLK, 7, -1, 1), EINVAL);
    KT_SYS_ERR(lk(fd, F_SETLK, 7, 2, 0x7fffffffffffffffLL), EOVERFLOW);
    close(fd);
    unlink(path);
}

KT_CASE(access_mode_ebadf) {
    int fd = KT_SYS_OK(fresh());
    int ro = KT_SYS_OK(reopen(O_RDONLY));
    int wo = KT_SYS_OK(reopen(O_WRONLY));
    KT_SYS_ERR(lk(ro, F_SETLK, F_WRLCK, 0, 1), EBADF);
    KT_SYS_ERR(lk(wo, F_SETLK, F_RDLCK, 0, 1), EBADF);
    KT_SYS_ERR(lk(ro, F_OFD_SETLK, F_WRLCK, 0, 1), EBADF);
    KT_SYS_RET(lk(ro, F_SETLK, F_RDLCK, 0, 1), 0);
    KT_SYS_RET(lk(wo, F_SETLK, F_WRLCK, 5, 1), 0);
    KT_SYS_RET(lk(ro, F_SETLK, F_UNLCK, 0, 10), 0);
    struct flock fl;
    KT_SYS_RET(getlk(ro, F_GETLK, F_WRLCK, 0, 1, &fl), 0); /* F_GETLK: no mode check */
    KT_EQ(fl.l_type, F_UNLCK);
    KT_SYS_ERR(lk(-1, F_SETLK, F_WRLCK, 0, 1), EBADF);
    KT_SYS_ERR(lk(999, F_GETLK, F_WRLCK, 0, 1), EBADF);
    KT_SYS_ERR(fcntl(fd, F_SETLK, (struct flock *)0), EFAULT);
    KT_SYS_ERR(fcntl(fd, F_GETLK, (struct flock *)8), EFAULT);
    close(ro);
    close(wo);
    close(fd);
    unlink(path);
}

KT_CASE(o_path_fd_ebadf) {
    int fd = KT_SYS_OK(fresh());
    int pfd = KT_SYS_OK(open(path, O_PATH));
    KT_SYS_ERR(lk(pfd, F_SETLK, F_UNLCK, 0, 1), EBADF);
    struct flock fl;
    KT_SYS_ERR(getlk(pfd, F_GETLK, F_WRLCK, 0, 1, &fl), EBADF);
    KT_SYS_ERR(flock(pfd, LOCK_SH), EBADF);
    KT_SYS_ERR(flock(pfd, LOCK_UN), EBADF); /* flock looks O_PATH fds up as none */
    close(pfd);
    close(fd);
    unlink(path);
}

KT_CASE(posix_lock_not_inherited_by_fork) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 0, 10), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        /* the same description, another process: still a conflict */
        KT_SYS_ERR(lk(fd, F_SETLK, F_WRLCK, 0, 1), EAGAIN);
        KT_SYS_RET(lk(fd, F_SETLK, F_UNLCK, 0, 10), 0); /* unlocks only its own */
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_EQ(child_setlk(F_WRLCK, 0, 1), EAGAIN);
    close(fd);
    unlink(path);
}

KT_CASE(close_of_dup_releases_posix_locks) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 0, 10), 0);
    int d = KT_SYS_OK(dup(fd));
    KT_EQ(child_setlk(F_WRLCK, 0, 1), EAGAIN);
    KT_SYS_RET(close(d), 0);
    KT_EQ(child_setlk(F_WRLCK, 0, 1), 0);
    close(fd);
    unlink(path);
}

KT_CASE(close_of_other_description_releases_posix_locks) {
    int fd = KT_SYS_OK(fresh());
    int other = KT_SYS_OK(reopen(O_RDONLY));
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 0, 10), 0);
    KT_SYS_RET(close(other), 0);
    KT_EQ(child_setlk(F_WRLCK, 0, 10), 0);
    close(fd);
    unlink(path);
}

KT_CASE(dup2_over_and_close_range_release_posix_locks) {
    int fd = KT_SYS_OK(fresh());
    int other = KT_SYS_OK(reopen(O_RDONLY));
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 0, 10), 0);
    int nul = KT_SYS_OK(open("/dev/null", O_RDONLY));
    KT_SYS_RET(dup2(nul, other), other);
    KT_EQ(child_setlk(F_WRLCK, 0, 10), 0);
    int third = KT_SYS_OK(reopen(O_RDONLY));
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 0, 10), 0);
    KT_EQ(child_setlk(F_WRLCK, 0, 10), EAGAIN);
    KT_SYS_RET(syscall(SYS_close_range, third, third, 0), 0);
    KT_EQ(child_setlk(F_WRLCK, 0, 10), 0);
    close(nul);
    close(other);
    close(fd);
    unlink(path);
}

KT_CASE(close_on_exec_releases_posix_locks) {
    int fd = KT_SYS_OK(fresh());
    close(fd);
    int ready_pipe[2];
    KT_SYS_OK(pipe(ready_pipe));
    pid_t p = KT_FORK();
    if (p == 0) {
        int f = KT_SYS_OK(open(path, O_RDWR | O_CLOEXEC));
        KT_SYS_RET(lk(f, F_SETLK, F_WRLCK, 0, 10), 0);
        KT_SYS_RET(write(ready_pipe[1], "x", 1), 1);
        execl(kt_self, kt_self, "kt-sleep", (char *)0);
        _exit(99);
    }
    char c;
    KT_SYS_RET(read(ready_pipe[0], &c, 1), 1);
    int f = KT_SYS_OK(reopen(O_RDWR));
    /* held until the exec closes the descriptor */
    int got = -1;
    for (int i = 0; i < 300 && got != 0; i++) {
        got = lk(f, F_SETLK, F_WRLCK, 0, 10);
        if (got != 0) kt_msleep(10);
    }
    KT_EQ(got, 0);
    kill(p, SIGKILL);
    KT_WAIT_STATUS(p, kt_killed(SIGKILL));
    close(f);
    close(ready_pipe[0]);
    close(ready_pipe[1]);
    unlink(path);
}

KT_CASE(locks_released_at_exit_and_kill) {
    int fd = KT_SYS_OK(fresh());
    int sync_pipe[2], go[2];
    KT_SYS_OK(pipe(sync_pipe));
    KT_SYS_OK(pipe(go));
    for (int round = 0; round < 2; round++) {
        pid_t p = KT_FORK();
        if (p == 0) {
            int f = KT_SYS_OK(reopen(O_RDWR));
            int g = KT_SYS_OK(reopen(O_RDWR));
            KT_SYS_RET(lk(f, F_SETLK, F_WRLCK, 0, 10), 0);
            KT_SYS_RET(lk(g, F_OFD_SETLK, F_WRLCK, 20, 10), 0);
            KT_SYS_RET(flock(g, LOCK_EX), 0);
            KT_SYS_RET(write(sync_pipe[1], "x", 1), 1);
            char g0;
            if (round == 0 && read(go[0], &g0, 1) == 1) _exit(0);
            pause();
            _exit(1);
        }
        char c;
        KT_SYS_RET(read(sync_pipe[0], &c, 1), 1);
        KT_EQ(child_setlk(F_WRLCK, 0, 10), EAGAIN);
        KT_EQ(child_setlk(F_WRLCK, 20, 1), EAGAIN);
        KT_EQ(child_flock(LOCK_SH | LOCK_NB), EWOULDBLOCK);
        if (round == 0) KT_SYS_RET(write(go[1], "x", 1), 1);
        if (round == 1) kill(p, SIGKILL);
        KT_WAIT_STATUS(p, round == 0 ? kt_exited(0) : kt_killed(SIGKILL));
        KT_EQ(child_setlk(F_WRLCK, 0, 30), 0);
        KT_EQ(child_flock(LOCK_EX | LOCK_NB), 0);
    }
    close(sync_pipe[0]);
    close(sync_pipe[1]);
    close(go[0]);
    close(go[1]);
    close(fd);
    unlink(path);
}

KT_CASE(ofd_lock_survives_close_of_other_fd) {
    int fd = KT_SYS_OK(fresh());
    int other = KT_SYS_OK(reopen(O_RDWR));
    KT_SYS_RET(lk(fd, F_OFD_SETLK, F_WRLCK, 0, 10), 0);
    KT_SYS_RET(close(other), 0);
    KT_EQ(child_setlk(F_WRLCK, 0, 10), EAGAIN);
    pid_t p = KT_FORK();
    if (p == 0) {
        int f2 = KT_SYS_OK(reopen(O_RDWR));
        struct flock fl;
        KT_SYS_RET(getlk(f2, F_OFD_GETLK, F_RDLCK, 0, 0, &fl), 0);
        KT_EQ(fl.l_type, F_WRLCK);
        KT_EQ(fl.l_pid, -1);
        KT_EQ(fl.l_len, 10);
        KT_SYS_RET(getlk(f2, F_GETLK, F_RDLCK, 0, 0, &fl), 0);
        KT_EQ(fl.l_pid, -1);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    close(fd);
    unlink(path);
}

KT_CASE(ofd_released_by_last_close_only) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_OFD_SETLK, F_WRLCK, 0, 10), 0);
    int d = KT_SYS_OK(dup(fd));
    KT_SYS_RET(close(fd), 0);
    KT_EQ(child_setlk(F_WRLCK, 0, 10), EAGAIN);
    KT_SYS_RET(close(d), 0);
    KT_EQ(child_setlk(F_WRLCK, 0, 10), 0);
    unlink(path);
}

KT_CASE(ofd_shared_by_fork_of_description) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_OFD_SETLK, F_WRLCK, 0, 10), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        /* same description: same owner, so no conflict; it may unlock */
        KT_SYS_RET(lk(fd, F_OFD_SETLK, F_WRLCK, 5, 10), 0);
        KT_SYS_RET(lk(fd, F_OFD_SETLK, F_UNLCK, 0, 0), 0);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_EQ(child_setlk(F_WRLCK, 0, 20), 0);
    close(fd);
    unlink(path);
}

KT_CASE(ofd_needs_l_pid_zero) {
    int fd = KT_SYS_OK(fresh());
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1, .l_pid = 1};
    KT_SYS_ERR(fcntl(fd, F_OFD_SETLK, &fl), EINVAL);
    KT_SYS_ERR(fcntl(fd, F_OFD_SETLKW, &fl), EINVAL);
    KT_SYS_ERR(fcntl(fd, F_OFD_GETLK, &fl), EINVAL);
    /* the POSIX commands ignore l_pid */
    KT_SYS_RET(fcntl(fd, F_SETLK, &fl), 0);
    close(fd);
    unlink(path);
}

KT_CASE(ofd_and_posix_conflict_in_one_process) {
    int fd = KT_SYS_OK(fresh());
    int f2 = KT_SYS_OK(reopen(O_RDWR));
    KT_SYS_RET(lk(fd, F_OFD_SETLK, F_WRLCK, 0, 10), 0);
    KT_SYS_ERR(lk(f2, F_SETLK, F_RDLCK, 5, 1), EAGAIN);
    KT_SYS_ERR(lk(f2, F_OFD_SETLK, F_RDLCK, 5, 1), EAGAIN);
    struct flock fl;
    KT_SYS_RET(getlk(f2, F_GETLK, F_RDLCK, 0, 0, &fl), 0);
    KT_EQ(fl.l_type, F_WRLCK);
    KT_EQ(fl.l_pid, -1);
    /* and the other way round: a POSIX lock blocks an OFD lock */
    KT_SYS_RET(lk(f2, F_SETLK, F_WRLCK, 20, 10), 0);
    KT_SYS_ERR(lk(fd, F_OFD_SETLK, F_WRLCK, 25, 1), EAGAIN);
    KT_SYS_RET(getlk(fd, F_OFD_GETLK, F_WRLCK, 20, 1, &fl), 0);
    KT_EQ(fl.l_pid, getpid());
    close(f2);
    close(fd);
    unlink(path);
}

KT_CASE(setlkw_sleeps_until_unlock) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 0, 10), 0);
    int pp[2];
    KT_SYS_OK(pipe2(pp, O_NONBLOCK));
    pid_t p = KT_FORK();
    if (p == 0) {
        int f = KT_SYS_OK(reopen(O_RDWR));
        KT_SYS_RET(lk(f, F_SETLKW, F_WRLCK, 5, 1), 0);
        KT_SYS_RET(write(pp[1], "x", 1), 1);
        _exit(0);
    }
    kt_msleep(100);
    KT_EQ(ready(pp[0]), 0);
    KT_SYS_RET(lk(fd, F_SETLK, F_UNLCK, 0, 5), 0); /* not the byte it waits for */
    kt_msleep(100);
    KT_EQ(ready(pp[0]), 0);
    KT_SYS_RET(lk(fd, F_SETLK, F_RDLCK, 5, 5), 0); /* a downgrade is not enough */
    kt_msleep(100);
    KT_EQ(ready(pp[0]), 0);
    KT_SYS_RET(lk(fd, F_SETLK, F_UNLCK, 0, 0), 0);
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_EQ(ready(pp[0]), 1);
    close(pp[0]);
    close(pp[1]);
    close(fd);
    unlink(path);
}

KT_CASE(ofd_setlkw_sleeps_until_close) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_OFD_SETLK, F_WRLCK, 0, 0), 0);
    int pp[2];
    KT_SYS_OK(pipe2(pp, O_NONBLOCK));
    pid_t p = KT_FORK();
    if (p == 0) {
        close(fd);
        int f = KT_SYS_OK(reopen(O_RDWR));
        KT_SYS_RET(lk(f, F_OFD_SETLKW, F_RDLCK, 0, 1), 0);
        KT_SYS_RET(write(pp[1], "x", 1), 1);
        _exit(0);
    }
    kt_msleep(100);
    KT_EQ(ready(pp[0]), 0);
    KT_SYS_RET(close(fd), 0);
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_EQ(ready(pp[0]), 1);
    close(pp[0]);
    close(pp[1]);
    unlink(path);
}

KT_CASE(setlkw_cycle_of_two_edeadlk) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 0, 1), 0);
    int pp[2];
    KT_SYS_OK(pipe(pp));
    pid_t p = KT_FORK();
    if (p == 0) {
        int f = KT_SYS_OK(reopen(O_RDWR));
        KT_SYS_RET(lk(f, F_SETLK, F_WRLCK, 1, 1), 0);
        KT_SYS_RET(write(pp[1], "x", 1), 1);
        /* waits for the parent's byte 0 */
        if (lk(f, F_SETLKW, F_WRLCK, 0, 1) == 0) _exit(0);
        _exit(errno == EDEADLK ? 3 : 4);
    }
    char c;
    KT_SYS_RET(read(pp[0], &c, 1), 1);
    kt_msleep(200);
    /* the child waits for us: waiting for its byte 1 would close a cycle */
    int r = lk(fd, F_SETLKW, F_WRLCK, 1, 1);
    if (r == -1) {
        KT_EQ(errno, EDEADLK);
        KT_SYS_RET(lk(fd, F_SETLK, F_UNLCK, 0, 1), 0);
        KT_WAIT_STATUS(p, kt_exited(0));
    } else {
        /* the child had not started waiting: it got EDEADLK instead */
        KT_WAIT_STATUS(p, kt_exited(3));
    }
    close(pp[0]);
    close(pp[1]);
    close(fd);
    unlink(path);
}

KT_CASE(setlk_nonblocking_never_edeadlk) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 0, 1), 0);
    int pp[2];
    KT_SYS_OK(pipe(pp));
    pid_t p = KT_FORK();
    if (p == 0) {
        int f = KT_SYS_OK(reopen(O_RDWR));
        KT_SYS_RET(lk(f, F_SETLK, F_WRLCK, 1, 1), 0);
        KT_SYS_RET(write(pp[1], "x", 1), 1);
        KT_SYS_RET(lk(f, F_SETLKW, F_WRLCK, 0, 1), 0);
        _exit(0);
    }
    char c;
    KT_SYS_RET(read(pp[0], &c, 1), 1);
    kt_msleep(200);
    KT_SYS_ERR(lk(fd, F_SETLK, F_WRLCK, 1, 1), EAGAIN);
    KT_SYS_RET(lk(fd, F_SETLK, F_UNLCK, 0, 1), 0);
    KT_WAIT_STATUS(p, kt_exited(0));
    close(pp[0]);
    close(pp[1]);
    close(fd);
    unlink(path);
}

static volatile int alarms;
static void on_alarm(int sig) {
    (void)sig;
    alarms++;
}

/* In a child: arm SIGALRM after 100 ms with or without SA_RESTART. */
static void arm_alarm(int restart) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, 0);
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, 0);
}

KT_CASE(setlkw_eintr_without_sa_restart) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 0, 10), 0);
    KT_SYS_RET(flock(fd, LOCK_EX), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        int f = KT_SYS_OK(reopen(O_RDWR));
        arm_alarm(0);
        KT_SYS_ERR(lk(f, F_SETLKW, F_WRLCK, 0, 1), EINTR);
        KT_EQ(alarms, 1);
        arm_alarm(0);
        KT_SYS_ERR(lk(f, F_OFD_SETLKW, F_WRLCK, 0, 1), EINTR);
        arm_alarm(0);
        KT_SYS_ERR(flock(f, LOCK_SH), EINTR);
        KT_EQ(alarms, 3);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    close(fd);
    unlink(path);
}

KT_CASE(setlkw_restarts_with_sa_restart) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 0, 10), 0);
    int pp[2];
    KT_SYS_OK(pipe2(pp, O_NONBLOCK));
    pid_t p = KT_FORK();
    if (p == 0) {
        int f = KT_SYS_OK(reopen(O_RDWR));
        arm_alarm(1);
        KT_SYS_RET(lk(f, F_SETLKW, F_WRLCK, 0, 1), 0);
        KT_EQ(alarms, 1);
        KT_SYS_RET(write(pp[1], "x", 1), 1);
        _exit(0);
    }
    kt_msleep(400);
    KT_EQ(ready(pp[0]), 0);
    KT_SYS_RET(lk(fd, F_SETLK, F_UNLCK, 0, 0), 0);
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_EQ(ready(pp[0]), 1);
    close(pp[0]);
    close(pp[1]);
    close(fd);
    unlink(path);
}

KT_CASE(flock_exclusive_nb_ewouldblock) {
    int fd = KT_SYS_OK(fresh());
    int f2 = KT_SYS_OK(reopen(O_RDONLY));
    KT_SYS_RET(flock(fd, LOCK_EX), 0);
    KT_SYS_ERR(flock(f2, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    KT_SYS_ERR(flock(f2, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    KT_SYS_RET(flock(fd, LOCK_EX), 0); /* again: nothing changes */
    KT_SYS_RET(flock(fd, LOCK_UN), 0);
    KT_SYS_RET(flock(f2, LOCK_EX | LOCK_NB), 0); /* a read-only fd may take LOCK_EX */
    KT_SYS_RET(flock(f2, LOCK_UN), 0);
    KT_SYS_RET(flock(f2, LOCK_UN), 0);
    close(f2);
    close(fd);
    unlink(path);
}

KT_CASE(flock_shared_and_conversion_drops_old_lock) {
    int fd = KT_SYS_OK(fresh());
    int f2 = KT_SYS_OK(reopen(O_RDWR));
    int f3 = KT_SYS_OK(reopen(O_RDWR));
    KT_SYS_RET(flock(fd, LOCK_SH), 0);
    KT_SYS_RET(flock(f2, LOCK_SH), 0);
    /* f2's conversion fails, and its shared lock is gone */
    KT_SYS_ERR(flock(f2, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    KT_SYS_RET(flock(fd, LOCK_UN), 0);
    KT_SYS_RET(flock(f3, LOCK_EX | LOCK_NB), 0);
    /* a downgrade never blocks */
    KT_SYS_RET(flock(f3, LOCK_SH | LOCK_NB), 0);
    KT_SYS_RET(flock(fd, LOCK_SH | LOCK_NB), 0);
    close(f3);
    close(f2);
    close(fd);
    unlink(path);
}

KT_CASE(flock_shared_across_fork_and_dup) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(flock(fd, LOCK_EX), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        /* the inherited description holds the lock already */
        KT_SYS_RET(flock(fd, LOCK_EX | LOCK_NB), 0);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_EQ(child_flock(LOCK_EX | LOCK_NB), EWOULDBLOCK);
    /* a dup unlocks the same lock */
    int d = KT_SYS_OK(dup(fd));
    KT_SYS_RET(flock(d, LOCK_UN), 0);
    KT_EQ(child_flock(LOCK_EX | LOCK_NB), 0);
    /* closing a dup keeps the description's lock */
    KT_SYS_RET(flock(fd, LOCK_EX), 0);
    KT_SYS_RET(close(d), 0);
    KT_EQ(child_flock(LOCK_EX | LOCK_NB), EWOULDBLOCK);
    KT_SYS_RET(close(fd), 0);
    KT_EQ(child_flock(LOCK_EX | LOCK_NB), 0);
    unlink(path);
}

KT_CASE(flock_and_fcntl_locks_are_independent) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(flock(fd, LOCK_EX), 0);
    KT_EQ(child_setlk(F_WRLCK, 0, 0), 0);
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 0, 0), 0);
    KT_EQ(child_flock(LOCK_EX | LOCK_NB), EWOULDBLOCK);
    KT_SYS_RET(flock(fd, LOCK_UN), 0);
    KT_EQ(child_flock(LOCK_EX | LOCK_NB), 0);
    KT_EQ(child_setlk(F_RDLCK, 0, 1), EAGAIN);
    close(fd);
    unlink(path);
}

KT_CASE(flock_blocking_wakes_on_unlock) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_RET(flock(fd, LOCK_SH), 0);
    int pp[2];
    KT_SYS_OK(pipe2(pp, O_NONBLOCK));
    pid_t p = KT_FORK();
    if (p == 0) {
        close(fd);
        int f = KT_SYS_OK(reopen(O_RDWR));
        KT_SYS_RET(flock(f, LOCK_EX), 0);
        KT_SYS_RET(write(pp[1], "x", 1), 1);
        _exit(0);
    }
    kt_msleep(100);
    KT_EQ(ready(pp[0]), 0);
    KT_SYS_RET(flock(fd, LOCK_UN), 0);
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_EQ(ready(pp[0]), 1);
    close(pp[0]);
    close(pp[1]);
    close(fd);
    unlink(path);
}

KT_CASE(flock_bad_arguments) {
    int fd = KT_SYS_OK(fresh());
    KT_SYS_ERR(flock(fd, 0), EINVAL);
    KT_SYS_ERR(flock(fd, LOCK_SH | LOCK_EX), EINVAL);
    KT_SYS_ERR(flock(fd, LOCK_NB), EINVAL);
    KT_SYS_ERR(flock(fd, 16), EINVAL);
    KT_SYS_ERR(flock(-1, LOCK_SH), EBADF);
    KT_SYS_ERR(flock(-1, 0), EINVAL); /* the operation is checked first */
    /* LOCK_MAND: ignored with success, even on a bad descriptor */
    KT_SYS_RET(flock(-1, LOCK_MAND | LOCK_SH), 0);
    close(fd);
    unlink(path);
}

/* Whether /proc/locks has a line whose text after "N: " is `want`. */
static int proc_locks_has(const char *want) {
    static char text[16384];
    int fd = open("/proc/locks", O_RDONLY);
    if (fd < 0) return -1;
    long n = 0, r;
    while (n < (long)sizeof text - 1 && (r = read(fd, text + n, sizeof text - 1 - n)) > 0) n += r;
    close(fd);
    text[n] = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        char *colon = strstr(line, ": ");
        if (colon && strcmp(colon + 2, want) == 0) return 1;
        line = nl ? nl + 1 : 0;
    }
    return 0;
}

KT_CASE(proc_locks_lists_posix_ofd_and_flock) {
    int fd = KT_SYS_OK(fresh());
    int f2 = KT_SYS_OK(reopen(O_RDWR));
    struct stat st;
    KT_SYS_RET(fstat(fd, &st), 0);
    char id[64];
    snprintf(id, sizeof id, "%02x:%02x:%lu", major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino);
    KT_SYS_RET(lk(fd, F_SETLK, F_WRLCK, 10, 10), 0);
    KT_SYS_RET(lk(f2, F_OFD_SETLK, F_RDLCK, 100, 0), 0);
    KT_SYS_RET(flock(f2, LOCK_SH), 0);
    char want[160];
    snprintf(want, sizeof want, "POSIX  ADVISORY  WRITE %d %s 10 19", (int)getpid(), id);
    KT_EQ(proc_locks_has(want), 1);
    snprintf(want, sizeof want, "OFDLCK ADVISORY  READ -1 %s 100 EOF", id);
    KT_EQ(proc_locks_has(want), 1);
    snprintf(want, sizeof want, "FLOCK  ADVISORY  READ %d %s 0 EOF", (int)getpid(), id);
    KT_EQ(proc_locks_has(want), 1);
    close(f2);
    close(fd);
    snprintf(want, sizeof want, "POSIX  ADVISORY  WRITE %d %s 10 19", (int)getpid(), id);
    KT_EQ(proc_locks_has(want), 0);
    unlink(path);
}

static int thread_fd;
static void *thread_locks(void *arg) {
    (void)arg;
    return (void *)(long)lk(thread_fd, F_SETLK, F_WRLCK, 0, 10);
}

KT_CASE(threads_of_a_process_share_posix_locks) {
    thread_fd = KT_SYS_OK(fresh());
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, thread_locks, 0), 0);
    void *ret = (void *)1;
    KT_EQ(pthread_join(th, &ret), 0);
    KT_EQ((long)ret, 0);
    /* the lock is the process's: no conflict for this thread, which may unlock it */
    KT_SYS_RET(lk(thread_fd, F_SETLK, F_RDLCK, 0, 5), 0);
    KT_EQ(child_setlk(F_RDLCK, 0, 5), 0);
    KT_EQ(child_setlk(F_RDLCK, 5, 1), EAGAIN);
    KT_SYS_RET(lk(thread_fd, F_SETLK, F_UNLCK, 0, 0), 0);
    KT_EQ(child_setlk(F_WRLCK, 0, 10), 0);
    close(thread_fd);
    unlink(path);
}

KT_CASE(sleepers_wake_when_the_holder_is_killed) {
    int fd = KT_SYS_OK(fresh());
    close(fd);
    int pp[2], done[2];
    KT_SYS_OK(pipe(pp));
    KT_SYS_OK(pipe2(done, O_NONBLOCK));
    pid_t holder = KT_FORK();
    if (holder == 0) {
        int f = KT_SYS_OK(reopen(O_RDWR));
        KT_SYS_RET(lk(f, F_SETLK, F_WRLCK, 0, 0), 0);
        KT_SYS_RET(flock(f, LOCK_EX), 0);
        KT_SYS_RET(write(pp[1], "x", 1), 1);
        pause();
        _exit(1);
    }
    char c;
    KT_SYS_RET(read(pp[0], &c, 1), 1);
    pid_t w1 = KT_FORK();
    if (w1 == 0) {
        int f = KT_SYS_OK(reopen(O_RDWR));
        KT_SYS_RET(lk(f, F_SETLKW, F_RDLCK, 100, 1), 0);
        KT_SYS_RET(write(done[1], "p", 1), 1);
        _exit(0);
    }
    pid_t w2 = KT_FORK();
    if (w2 == 0) {
        int f = KT_SYS_OK(reopen(O_RDWR));
        KT_SYS_RET(flock(f, LOCK_SH), 0);
        KT_SYS_RET(write(done[1], "f", 1), 1);
        _exit(0);
    }
    kt_msleep(150);
    KT_EQ(ready(done[0]), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kill(holder, SIGKILL);
    KT_WAIT_STATUS(holder, kt_killed(SIGKILL));
    KT_WAIT_STATUS(w1, kt_exited(0));
    KT_WAIT_STATUS(w2, kt_exited(0));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* woken by the exit, not by a later look */
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    KT_TRUE(ms < 600, "waking took %ld ms", ms);
    close(pp[0]);
    close(pp[1]);
    close(done[0]);
    close(done[1]);
    unlink(path);
}

KT_MAIN()
