/* posix_fadvise (fadvise64): a hint, 0 on a tmpfs file and a device for
 * every known advice; EBADF for a bad or O_PATH fd, ESPIPE for a pipe,
 * EINVAL for an unknown advice or a negative length. The raw syscall
 * returns -1/errno; posix_fadvise returns the error number. */
#include "kt.h"
#include <sys/socket.h>

KT_CASE(advice_on_a_tmpfs_file_and_a_device) {
    int fd = open("/tmp/fadvise.f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    KT_SYS_OK(fd);
    KT_SYS_RET(write(fd, "hello", 5), 5);
    for (int adv = 0; adv <= 5; adv++)
        KT_EQ(posix_fadvise(fd, 0, 0, adv), 0);
    KT_EQ(posix_fadvise(fd, 1 << 20, 4096, POSIX_FADV_WILLNEED), 0);
    KT_EQ(posix_fadvise(fd, 0, 0, 6), EINVAL);
    KT_EQ(posix_fadvise(fd, 0, -1, POSIX_FADV_NORMAL), EINVAL);
    KT_SYS_ERR(syscall(SYS_fadvise64, fd, 0, 0, 99), EINVAL);
    close(fd);
    unlink("/tmp/fadvise.f");
    int null = open("/dev/null", O_RDONLY);
    KT_SYS_OK(null);
    KT_EQ(posix_fadvise(null, 0, 0, POSIX_FADV_SEQUENTIAL), 0);
    close(null);
}

KT_CASE(bad_fds_and_pipes) {
    KT_EQ(posix_fadvise(-1, 0, 0, POSIX_FADV_NORMAL), EBADF);
    KT_EQ(posix_fadvise(999, 0, 0, POSIX_FADV_NORMAL), EBADF);
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_EQ(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL), ESPIPE);
    /* ESPIPE comes before the advice check */
    KT_EQ(posix_fadvise(p[1], 0, 0, 99), ESPIPE);
    close(p[0]);
    close(p[1]);
    int o = open("/tmp", O_PATH);
    KT_SYS_OK(o);
    KT_EQ(posix_fadvise(o, 0, 0, POSIX_FADV_NORMAL), EBADF);
    close(o);
}

/* sync_file_range: EBADF first, then EINVAL for unknown flags, a negative
 * offset or an end past the largest offset, then ESPIPE for a pipe, a
 * socket or a character device; 0 on a file, a directory. */
KT_CASE(sync_file_range_checks) {
    int fd = open("/tmp/sfr.f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    KT_SYS_OK(fd);
    KT_SYS_RET(write(fd, "hello", 5), 5);
    KT_SYS_RET(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE), 0);
    KT_SYS_RET(sync_file_range(fd, 0, 5, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                               SYNC_FILE_RANGE_WAIT_AFTER), 0);
    KT_SYS_RET(sync_file_range(fd, 1 << 20, 0, 0), 0);
    KT_SYS_ERR(sync_file_range(fd, 0, 0, 8), EINVAL);
    KT_SYS_ERR(sync_file_range(fd, -1, 0, 0), EINVAL);
    KT_SYS_ERR(sync_file_range(fd, 0, -2, 0), EINVAL);
    KT_SYS_ERR(sync_file_range(fd, 0x7fffffffffffffffLL, 1, 0), EINVAL);
    KT_SYS_ERR(sync_file_range(-1, 0, 0, 99), EBADF);
    close(fd);
    unlink("/tmp/sfr.f");
    int d = open("/tmp", O_RDONLY | O_DIRECTORY);
    KT_SYS_OK(d);
    KT_SYS_RET(sync_file_range(d, 0, 0, SYNC_FILE_RANGE_WRITE), 0);
    close(d);
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(sync_file_range(p[0], 0, 0, 0), ESPIPE);
    /* the flags come before the file's kind */
    KT_SYS_ERR(sync_file_range(p[0], 0, 0, 8), EINVAL);
    close(p[0]);
    close(p[1]);
    int null = open("/dev/null", O_RDWR);
    KT_SYS_OK(null);
    KT_SYS_ERR(sync_file_range(null, 0, 0, SYNC_FILE_RANGE_WRITE), ESPIPE);
    close(null);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    KT_SYS_OK(s);
    KT_SYS_ERR(sync_file_range(s, 0, 0, 0), ESPIPE);
    close(s);
    int o = open("/tmp", O_PATH);
    KT_SYS_OK(o);
    KT_SYS_ERR(sync_file_range(o, 0, 0, 0), EBADF);
    close(o);
}

KT_MAIN()
