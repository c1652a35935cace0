/* What CPython's test_posix found different from Linux (cargo xtask
 * pytest): preadv/pwritev and preadv2/pwritev2 were ENOSYS, and
 * getgroups(0, NULL) returned 0 instead of the number of groups.
 * preadv/pwritev move the bytes at an offset without touching the file
 * offset (a short read at the end of the file ends the call; a negative
 * offset is EINVAL, a pipe ESPIPE); preadv2/pwritev2 with offset -1 are
 * readv/writev at the file offset, RWF_APPEND writes at the end, a flag
 * Linux does not know is EOPNOTSUPP. */
#include "kt.h"
#include <grp.h>
#include <sys/uio.h>

#ifndef RWF_HIPRI
#define RWF_HIPRI 0x1
#endif
#ifndef RWF_APPEND
#define RWF_APPEND 0x10
#endif

static int file_with(const char *path, const char *text) {
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0 && write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        close(fd);
        return -1;
    }
    return fd;
}

KT_CASE(preadv_at_an_offset_keeps_the_file_offset) {
    int fd = file_with("/tmp/pytest_io.a", "0123456789abcdef");
    KT_SYS_OK(fd);
    char a[3], b[4];
    struct iovec iov[2] = {{a, 3}, {b, 4}};
    KT_SYS_RET(preadv(fd, iov, 2, 2), 7);
    KT_EQ(memcmp(a, "234", 3), 0);
    KT_EQ(memcmp(b, "5678", 4), 0);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), 16);
    /* a short read at the end ends the call; past the end is 0 */
    memset(a, 0, 3);
    memset(b, 0, 4);
    KT_SYS_RET(preadv(fd, iov, 2, 14), 2);
    KT_EQ(memcmp(a, "ef", 2), 0);
    KT_EQ(b[0], 0);
    KT_SYS_RET(preadv(fd, iov, 2, 100), 0);
    KT_SYS_ERR(preadv(fd, iov, 2, -1), EINVAL);
    KT_SYS_ERR(preadv(-1, iov, 2, 0), EBADF);
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(preadv(p[0], iov, 2, 0), ESPIPE);
    close(p[0]);
    close(p[1]);
    close(fd);
    unlink("/tmp/pytest_io.a");
}

KT_CASE(pwritev_at_an_offset_past_the_end_leaves_a_hole) {
    int fd = file_with("/tmp/pytest_io.b", "0123456789abcdef");
    KT_SYS_OK(fd);
    struct iovec iov[3] = {{"ab", 2}, {"", 0}, {"cde", 3}};
    KT_SYS_RET(pwritev(fd, iov, 3, 20), 5);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), 16);
    char buf[32] = {0};
    KT_SYS_RET(pread(fd, buf, sizeof buf, 14), 11);
    KT_EQ(memcmp(buf, "ef\0\0\0\0abcde", 11), 0);
    KT_SYS_RET(pwritev(fd, iov, 1, 0), 2);
    KT_SYS_RET(pread(fd, buf, 4, 0), 4);
    KT_EQ(memcmp(buf, "ab23", 4), 0);
    KT_SYS_ERR(pwritev(fd, iov, 1, -2), EINVAL);
    close(fd);
    unlink("/tmp/pytest_io.b");
}

KT_CASE(preadv2_and_pwritev2_flags_and_the_file_offset) {
    int fd = file_with("/tmp/pytest_io.c", "0123456789");
    KT_SYS_OK(fd);
    KT_SYS_RET(lseek(fd, 4, SEEK_SET), 4);
    char a[3];
    struct iovec r = {a, 3};
    /* -1: at the file offset, which moves */
    KT_SYS_RET(syscall(SYS_preadv2, fd, &r, 1, -1L, 0L, 0), 3);
    KT_EQ(memcmp(a, "456", 3), 0);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), 7);
    KT_SYS_RET(syscall(SYS_preadv2, fd, &r, 1, 1L, 0L, RWF_HIPRI), 3);
    KT_EQ(memcmp(a, "123", 3), 0);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), 7);
    KT_SYS_ERR(syscall(SYS_preadv2, fd, &r, 1, 0L, 0L, 0x100), EOPNOTSUPP);
    KT_SYS_ERR(syscall(SYS_pwritev2, fd, &r, 1, 0L, 0L, 0x100), EOPNOTSUPP);
    struct iovec w = {"XY", 2};
    KT_SYS_RET(syscall(SYS_pwritev2, fd, &w, 1, -1L, 0L, 0), 2);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), 9);
    KT_SYS_RET(syscall(SYS_pwritev2, fd, &w, 1, 0L, 0L, RWF_APPEND), 2);
    char buf[16] = {0};
    KT_SYS_RET(pread(fd, buf, sizeof buf, 0), 12);
    KT_EQ(memcmp(buf, "0123456XY9XY", 12), 0);
    /* -1 with RWF_APPEND: at the end, and the file offset follows it */
    KT_SYS_RET(lseek(fd, 2, SEEK_SET), 2);
    KT_SYS_RET(syscall(SYS_pwritev2, fd, &w, 1, -1L, 0L, RWF_APPEND), 2);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), 14);
    KT_SYS_RET(pread(fd, buf, sizeof buf, 0), 14);
    KT_EQ(memcmp(buf, "0123456XY9XYXY", 14), 0);
    close(fd);
    unlink("/tmp/pytest_io.c");
}

/* A pipe cannot be read or written at an offset: ESPIPE before the
 * iovecs are looked at (none here), EBADF before that. */
KT_CASE(preadv_on_a_pipe_is_espipe) {
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(preadv(p[0], NULL, 0, 0), ESPIPE);
    KT_SYS_ERR(pwritev(p[1], NULL, 0, 0), ESPIPE);
    KT_SYS_ERR(preadv(99, NULL, 0, 0), EBADF);
    KT_SYS_ERR(preadv(p[0], NULL, 0, -5), EINVAL);
    close(p[0]);
    close(p[1]);
}

KT_CASE(getgroups_zero_counts_the_groups) {
    gid_t set[3] = {30, 10, 20}, got[3] = {0};
    KT_SYS_OK(setgroups(3, set));
    KT_SYS_RET(getgroups(0, NULL), 3);
    KT_SYS_ERR(getgroups(2, got), EINVAL);
    KT_SYS_RET(getgroups(3, got), 3);
    /* the kernel keeps them sorted */
    KT_EQ(got[0], 10);
    KT_EQ(got[1], 20);
    KT_EQ(got[2], 30);
    KT_SYS_OK(setgroups(0, NULL));
    KT_SYS_RET(getgroups(0, NULL), 0);
}

/* CPython's subprocess (close_fds) lists /proc/self/fd with getdents64
 * and closes each fd as it goes: the listing's positions are the fd
 * numbers (Linux's proc_readfd), so a close does not make the next
 * getdents64 skip an fd (test_subprocess's test_pass_fds found fds left
 * open). */
KT_CASE(proc_self_fd_listing_survives_closes) {
    int first = -1, last = -1;
    for (int i = 0; i < 12; i++) {
        int fd = open("/dev/null", O_RDONLY);
        KT_SYS_OK(fd);
        if (first < 0)
            first = fd;
        last = fd;
    }
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
    KT_SYS_OK(dir);
    /* room for about one entry per call, as CPython's buffer */
    char buf[40];
    int seen = 0;
    long n;
    while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct {
                unsigned long long ino;
                long long off;
                unsigned short reclen;
                unsigned char type;
                char name[];
            } *d = (void *)(buf + off);
            int fd = atoi(d->name);
            if (d->name[0] >= '0' && d->name[0] <= '9' && fd >= first && fd <= last && fd != dir) {
                KT_SYS_OK(close(fd));
                seen++;
            }
            off += d->reclen;
        }
    }
    KT_EQ(n, 0);
    KT_EQ(seen, last - first + 1);
    KT_SYS_ERR(fcntl(last, F_GETFD), EBADF);
    close(dir);
}

/* /proc/<pid>/status's signal masks (test_subprocess's
 * test_restore_signals reads SigIgn; it was skipped: no such line). */
static unsigned long long status_mask(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long v = ~0ULL;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = strtoull(line + n + 1, NULL, 16);
    if (f)
        fclose(f);
    return v;
}

static void on_usr2(int sig) {
    (void)sig;
}

KT_CASE(proc_status_signal_masks) {
    KT_TRUE(signal(SIGUSR1, SIG_IGN) != SIG_ERR, "SIG_IGN");
    KT_TRUE(signal(SIGUSR2, on_usr2) != SIG_ERR, "a handler");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGURG);
    KT_SYS_OK(sigprocmask(SIG_BLOCK, &set, NULL));
    KT_SYS_OK(raise(SIGHUP));          /* the thread's */
    KT_SYS_OK(kill(getpid(), SIGURG)); /* the process's */
    unsigned long long bit = 1;
    KT_EQ(status_mask("SigIgn") & (bit << (SIGUSR1 - 1)), bit << (SIGUSR1 - 1));
    KT_EQ(status_mask("SigIgn") & (bit << (SIGUSR2 - 1)), 0);
    KT_EQ(status_mask("SigCgt") & (bit << (SIGUSR2 - 1)), bit << (SIGUSR2 - 1));
    KT_EQ(status_mask("SigCgt") & (bit << (SIGUSR1 - 1)), 0);
    unsigned long long both = (bit << (SIGHUP - 1)) | (bit << (SIGURG - 1));
    KT_EQ(status_mask("SigBlk") & both, both);
    KT_EQ(status_mask("SigPnd") & both, bit << (SIGHUP - 1));
    KT_EQ(status_mask("ShdPnd") & both, bit << (SIGURG - 1));
    /* discard the pending ones, then back to the defaults */
    signal(SIGHUP, SIG_IGN);
    signal(SIGURG, SIG_IGN);
    KT_EQ(status_mask("SigPnd") & both, 0);
    KT_EQ(status_mask("ShdPnd") & both, 0);
    KT_SYS_OK(sigprocmask(SIG_UNBLOCK, &set, NULL));
    signal(SIGHUP, SIG_DFL);
    signal(SIGURG, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
    KT_EQ(status_mask("SigIgn") & (bit << (SIGUSR1 - 1)), 0);
    KT_EQ(status_mask("SigCgt") & (bit << (SIGUSR2 - 1)), 0);
    KT_EQ(status_mask("SigBlk") & both, 0);
}

KT_MAIN()
