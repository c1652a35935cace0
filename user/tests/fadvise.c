/* posix_fadvise (fadvise64): a hint, 0 on a tmpfs file and a device for
 * every known advice; EBADF for a bad or O_PATH fd, ESPIPE for a pipe,
 * EINVAL for an unknown advice or a negative length. The raw syscall
 * returns -1/errno; posix_fadvise returns the error number. */
#include "kt.h"

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

KT_MAIN()
