/* The file-side ABI every program may touch: the ioctls every file has
 * (FIONBIO, FIOCLEX, FIONCLEX, FIOASYNC, FIONREAD), xattrs on tmpfs as
 * Linux 6.1 has them (trusted.* and security.*; user.* came to tmpfs in
 * 6.6), statx(2), copy_file_range(2) and mknod(2). Runs as root on /tmp
 * (a tmpfs mounted by init). */
#include "kt.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>

#ifndef ENODATA
#define ENODATA 61
#endif
#ifndef FIOQSIZE
#define FIOQSIZE 0x5460
#endif
#ifndef O_PATH
#define O_PATH 010000000
#endif

static const char *tmpfile_with(const char *name, const char *data) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/%s", name);
    unlink(path);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd >= 0) {
        if (data) write(fd, data, strlen(data));
        close(fd);
    }
    return path;
}

/* ---- ioctl ---------------------------------------------------------------- */

KT_CASE(fionbio_pipe_sets_and_clears_o_nonblock) {
    int p[2], on = 1, off = 0;
    char c;
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(ioctl(p[0], FIONBIO, &on), 0);
    KT_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    KT_SYS_ERR(read(p[0], &c, 1), EAGAIN);
    KT_SYS_RET(ioctl(p[0], FIONBIO, &off), 0);
    KT_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
    /* the write end is a separate open file: untouched */
    KT_EQ(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
    close(p[0]);
    close(p[1]);
}

KT_CASE(fionbio_regular_devnull_epoll) {
    int on = 1;
    int fds[3];
    fds[0] = KT_SYS_OK(open(tmpfile_with("nb", "x"), O_RDWR));
    fds[1] = KT_SYS_OK(open("/dev/null", O_RDWR));
    fds[2] = KT_SYS_OK(epoll_create1(0));
    for (int i = 0; i < 3; i++) {
        KT_SYS_RET(ioctl(fds[i], FIONBIO, &on), 0);
        KT_EQ(fcntl(fds[i], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
        close(fds[i]);
    }
}

KT_CASE(fionbio_bad_pointer_efault) {
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(ioctl(p[0], FIONBIO, (void *)8), EFAULT);
    KT_SYS_ERR(ioctl(p[0], FIOASYNC, (void *)8), EFAULT);
    close(p[0]);
    close(p[1]);
}

KT_CASE(fioclex_fionclex_any_file) {
    int p[2];
    KT_SYS_OK(pipe(p));
    int f = KT_SYS_OK(open(tmpfile_with("clex", ""), O_RDONLY));
    int fds[3] = {p[0], p[1], f};
    for (int i = 0; i < 3; i++) {
        KT_SYS_RET(ioctl(fds[i], FIOCLEX), 0);
        KT_EQ(fcntl(fds[i], F_GETFD), FD_CLOEXEC);
        KT_SYS_RET(ioctl(fds[i], FIONCLEX), 0);
        KT_EQ(fcntl(fds[i], F_GETFD), 0);
        close(fds[i]);
    }
    KT_SYS_ERR(ioctl(f, FIOCLEX), EBADF);
}

KT_CASE(fionread_regular_is_size_minus_position) {
    int fd = KT_SYS_OK(open(tmpfile_with("fionread", "0123456789"), O_RDONLY));
    int n = -1;
    char b[3];
    KT_SYS_RET(ioctl(fd, FIONREAD, &n), 0);
    KT_EQ(n, 10);
    KT_SYS_RET(read(fd, b, 3), 3);
    KT_SYS_RET(ioctl(fd, FIONREAD, &n), 0);
    KT_EQ(n, 7);
    /* past the end the difference goes negative, as Linux's put_user */
    KT_SYS_RET(lseek(fd, 14, SEEK_SET), 14);
    KT_SYS_RET(ioctl(fd, FIONREAD, &n), 0);
    KT_EQ(n, -4);
    close(fd);
}

KT_CASE(fionread_dir_devnull_epoll_enotty) {
    int d = KT_SYS_OK(open("/tmp", O_RDONLY | O_DIRECTORY));
    int z = KT_SYS_OK(open("/dev/null", O_RDONLY));
    int e = KT_SYS_OK(epoll_create1(0));
    int n;
    KT_SYS_ERR(ioctl(d, FIONREAD, &n), ENOTTY);
    KT_SYS_ERR(ioctl(z, FIONREAD, &n), ENOTTY);
    KT_SYS_ERR(ioctl(e, FIONREAD, &n), ENOTTY);
    close(d);
    close(z);
    close(e);
}

KT_CASE(fionread_pipe_counts_both_ends) {
    int p[2], n = -1;
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(write(p[1], "abcde", 5), 5);
    KT_SYS_RET(ioctl(p[0], FIONREAD, &n), 0);
    KT_EQ(n, 5);
    n = -1;
    KT_SYS_RET(ioctl(p[1], FIONREAD, &n), 0);
    KT_EQ(n, 5);
    close(p[0]);
    close(p[1]);
}

KT_CASE(fioasync_pipe_toggles_o_async) {
    int p[2], on = 1, off = 0;
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(ioctl(p[0], FIOASYNC, &on), 0);
    KT_EQ(fcntl(p[0], F_GETFL) & O_ASYNC, O_ASYNC);
    KT_SYS_RET(ioctl(p[0], FIOASYNC, &off), 0);
    KT_EQ(fcntl(p[0], F_GETFL) & O_ASYNC, 0);
    close(p[0]);
    close(p[1]);
}

KT_CASE(fioasync_without_fasync_enotty) {
    /* tmpfs files and /dev/null have no fasync: turning it on is ENOTTY,
     * asking for the state they have already is 0 */
    int on = 1, off = 0;
    int f = KT_SYS_OK(open(tmpfile_with("async", ""), O_RDWR));
    int z = KT_SYS_OK(open("/dev/null", O_RDWR));
    KT_SYS_ERR(ioctl(f, FIOASYNC, &on), ENOTTY);
    KT_SYS_RET(ioctl(f, FIOASYNC, &off), 0);
    KT_SYS_ERR(ioctl(z, FIOASYNC, &on), ENOTTY);
    KT_EQ(fcntl(f, F_GETFL) & O_ASYNC, 0);
    close(f);
    close(z);
}

KT_CASE(fioqsize_regular) {
    int fd = KT_SYS_OK(open(tmpfile_with("qsize", "12345"), O_RDONLY));
    long long sz = -1;
    /* inode_get_bytes(): what is allocated, a page here */
    KT_SYS_RET(ioctl(fd, FIOQSIZE, &sz), 0);
    KT_EQ(sz, 4096);
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(ioctl(p[0], FIOQSIZE, &sz), ENOTTY);
    close(p[0]);
    close(p[1]);
    close(fd);
}

KT_CASE(ioctl_o_path_ebadf) {
    int fd = KT_SYS_OK(open("/tmp", O_PATH));
    int on = 1;
    KT_SYS_ERR(ioctl(fd, FIOCLEX), EBADF);
    KT_SYS_ERR(ioctl(fd, FIONBIO, &on), EBADF);
    close(fd);
}

KT_CASE(ioctls_on_the_console) {
    int fd = KT_SYS_OK(open("/dev/console", O_RDWR | O_NOCTTY));
    int on = 1, off = 0, n = -1;
    KT_SYS_RET(ioctl(fd, FIONBIO, &on), 0);
    KT_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    KT_SYS_RET(ioctl(fd, FIONBIO, &off), 0);
    KT_SYS_RET(ioctl(fd, FIONREAD, &n), 0);
    KT_EQ(n, 0);
    /* a terminal has a fasync */
    KT_SYS_RET(ioctl(fd, FIOASYNC, &on), 0);
    KT_EQ(fcntl(fd, F_GETFL) & O_ASYNC, O_ASYNC);
    KT_SYS_RET(ioctl(fd, FIOASYNC, &off), 0);
    KT_SYS_RET(ioctl(fd, FIOCLEX), 0);
    KT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    /* a serial console has no size until someone sets one */
    struct winsize w;
    memset(&w, 0xff, sizeof w);
    KT_SYS_RET(ioctl(fd, TIOCGWINSZ, &w), 0);
    KT_EQ(w.ws_row, 0);
    KT_EQ(w.ws_col, 0);
    close(fd);
}

/* ---- xattrs ---------------------------------------------------------------- */

KT_CASE(xattr_trusted_set_get_size_query) {
    const char *p = tmpfile_with("xa", "");
    char buf[16] = {0};
    KT_SYS_RET(setxattr(p, "trusted.k", "val", 3, 0), 0);
    KT_SYS_RET(getxattr(p, "trusted.k", NULL, 0), 3);
    KT_SYS_RET(getxattr(p, "trusted.k", buf, sizeof buf), 3);
    KT_EQ(memcmp(buf, "val", 3), 0);
    KT_SYS_ERR(getxattr(p, "trusted.k", buf, 2), ERANGE);
    /* an empty value is a value */
    KT_SYS_RET(setxattr(p, "trusted.e", "", 0, 0), 0);
    KT_SYS_RET(getxattr(p, "trusted.e", buf, sizeof buf), 0);
}

KT_CASE(xattr_missing_enodata) {
    const char *p = tmpfile_with("xb", "");
    char buf[16];
    KT_SYS_ERR(getxattr(p, "trusted.none", buf, sizeof buf), ENODATA);
    /* what ls -l asks */
    KT_SYS_ERR(lgetxattr(p, "security.selinux", buf, sizeof buf), ENODATA);
    KT_SYS_ERR(getxattr(p, "system.posix_acl_access", buf, sizeof buf), ENODATA);
    KT_SYS_RET(listxattr(p, NULL, 0), 0);
}

KT_CASE(xattr_create_replace) {
    const char *p = tmpfile_with("xc", "");
    char buf[16];
    KT_SYS_RET(setxattr(p, "trusted.a", "1", 1, XATTR_CREATE), 0);
    KT_SYS_ERR(setxattr(p, "trusted.a", "2", 1, XATTR_CREATE), EEXIST);
    KT_SYS_ERR(setxattr(p, "trusted.b", "2", 1, XATTR_REPLACE), ENODATA);
    KT_SYS_RET(setxattr(p, "trusted.a", "22", 2, XATTR_REPLACE), 0);
    KT_SYS_RET(getxattr(p, "trusted.a", buf, sizeof buf), 2);
    KT_SYS_ERR(setxattr(p, "trusted.a", "2", 1, XATTR_CREATE | XATTR_REPLACE | 4), EINVAL);
}

KT_CASE(xattr_list_and_erange) {
    const char *p = tmpfile_with("xd", "");
    char buf[64];
    KT_SYS_RET(setxattr(p, "trusted.a", "1", 1, 0), 0);
    KT_SYS_RET(setxattr(p, "trusted.b", "2", 1, 0), 0);
    KT_SYS_RET(listxattr(p, NULL, 0), 20);
    /* newest first, as simple_xattr_set() adds at the head */
    KT_SYS_RET(listxattr(p, buf, sizeof buf), 20);
    KT_EQ(memcmp(buf, "trusted.b\0trusted.a\0", 20), 0);
    /* a replaced value keeps its place */
    KT_SYS_RET(setxattr(p, "trusted.a", "3", 1, 0), 0);
    KT_SYS_RET(listxattr(p, buf, sizeof buf), 20);
    KT_EQ(memcmp(buf, "trusted.b\0trusted.a\0", 20), 0);
    KT_SYS_ERR(listxattr(p, buf, 19), ERANGE);
}

KT_CASE(xattr_remove) {
    const char *p = tmpfile_with("xe", "");
    char buf[8];
    KT_SYS_RET(setxattr(p, "security.x", "1", 1, 0), 0);
    KT_SYS_RET(removexattr(p, "security.x"), 0);
    KT_SYS_ERR(getxattr(p, "security.x", buf, sizeof buf), ENODATA);
    KT_SYS_ERR(removexattr(p, "security.x"), ENODATA);
}

KT_CASE(xattr_user_on_tmpfs_6_1_eopnotsupp) {
    const char *p = tmpfile_with("xf", "");
    char buf[8];
    KT_SYS_ERR(setxattr(p, "user.x", "1", 1, 0), EOPNOTSUPP);
    KT_SYS_ERR(getxattr(p, "user.x", buf, sizeof buf), EOPNOTSUPP);
}

KT_CASE(xattr_user_on_symlink_eperm_enodata) {
    unlink("/tmp/xlink");
    KT_SYS_OK(symlink("xf", "/tmp/xlink"));
    char buf[16];
    KT_SYS_ERR(lsetxattr("/tmp/xlink", "user.x", "1", 1, 0), EPERM);
    KT_SYS_ERR(lgetxattr("/tmp/xlink", "user.x", buf, sizeof buf), ENODATA);
    KT_SYS_ERR(lremovexattr("/tmp/xlink", "user.x"), EPERM);
    /* trusted.* on the link itself works */
    KT_SYS_RET(lsetxattr("/tmp/xlink", "trusted.l", "1", 1, 0), 0);
    KT_SYS_RET(lgetxattr("/tmp/xlink", "trusted.l", buf, sizeof buf), 1);
    KT_SYS_RET(llistxattr("/tmp/xlink", buf, sizeof buf), 10);
}

KT_CASE(xattr_bad_names_and_sizes) {
    const char *p = tmpfile_with("xg", "");
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    KT_SYS_ERR(setxattr(p, "foo.bar", "1", 1, 0), EOPNOTSUPP);
    KT_SYS_ERR(setxattr(p, "trusted.", "1", 1, 0), EINVAL);
    KT_SYS_ERR(setxattr(p, "", "1", 1, 0), ERANGE);
    KT_SYS_ERR(setxattr(p, big, "1", 1, 0), ERANGE);
    KT_SYS_ERR(getxattr(p, big, NULL, 0), ERANGE);
    KT_SYS_ERR(setxattr(p, "trusted.big", big, 65537, 0), E2BIG);
    KT_SYS_ERR(setxattr("/tmp/no/such", "trusted.a", "1", 1, 0), ENOENT);
}

KT_CASE(xattr_through_fd_and_dir) {
    int fd = KT_SYS_OK(open(tmpfile_with("xh", ""), O_RDWR));
    char buf[16];
    KT_SYS_RET(fsetxattr(fd, "trusted.f", "abc", 3, 0), 0);
    KT_SYS_RET(fgetxattr(fd, "trusted.f", buf, sizeof buf), 3);
    KT_SYS_RET(flistxattr(fd, buf, sizeof buf), 10);
    KT_SYS_RET(fremovexattr(fd, "trusted.f"), 0);
    KT_SYS_RET(flistxattr(fd, buf, sizeof buf), 0);
    close(fd);
    KT_SYS_ERR(fgetxattr(fd, "trusted.f", buf, sizeof buf), EBADF);
    rmdir("/tmp/xdir");
    KT_SYS_OK(mkdir("/tmp/xdir", 0755));
    KT_SYS_RET(setxattr("/tmp/xdir", "trusted.d", "1", 1, 0), 0);
    KT_SYS_RET(getxattr("/tmp/xdir", "trusted.d", buf, sizeof buf), 1);
}

KT_CASE(xattr_pipe_and_procfs_have_none) {
    int p[2];
    char buf[16];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(fgetxattr(p[0], "trusted.x", buf, sizeof buf), EOPNOTSUPP);
    /* user.* is refused before: a FIFO is not a regular file */
    KT_SYS_ERR(fgetxattr(p[0], "user.x", buf, sizeof buf), ENODATA);
    KT_SYS_ERR(fsetxattr(p[1], "user.x", "1", 1, 0), EPERM);
    KT_SYS_ERR(fsetxattr(p[1], "trusted.x", "1", 1, 0), EOPNOTSUPP);
    /* listing asks the security module only: nothing */
    KT_SYS_RET(flistxattr(p[0], buf, sizeof buf), 0);
    close(p[0]);
    close(p[1]);
    KT_SYS_ERR(getxattr("/proc/self/status", "trusted.x", buf, sizeof buf), EOPNOTSUPP);
    KT_SYS_ERR(setxattr("/proc/self/status", "trusted.x", "1", 1, 0), EOPNOTSUPP);
    KT_SYS_RET(listxattr("/proc/self/status", buf, sizeof buf), 0);
}

KT_CASE(xattr_trusted_needs_cap_sys_admin) {
    const char *p = tmpfile_with("xi", "");
    KT_SYS_RET(setxattr(p, "trusted.r", "1", 1, 0), 0);
    KT_SYS_OK(chmod(p, 0666));
    pid_t pid = KT_FORK();
    if (pid == 0) {
        char buf[16];
        KT_SYS_OK(setuid(1000));
        KT_SYS_ERR(setxattr(p, "trusted.u", "1", 1, 0), EPERM);
        KT_SYS_ERR(getxattr(p, "trusted.r", buf, sizeof buf), ENODATA);
        KT_SYS_RET(listxattr(p, buf, sizeof buf), 0);
        _exit(0);
    }
    KT_WAIT_STATUS(pid, 0);
}

/* ---- statx ----------------------------------------------------------------- */

struct kt_statx_ts {
    int64_t sec;
    uint32_t nsec;
    int32_t pad;
};
struct kt_statx {
    uint32_t mask, blksize;
    uint64_t attributes;
    uint32_t nlink, uid, gid;
    uint16_t mode, pad1;
    uint64_t ino, size, blocks, attributes_mask;
    struct kt_statx_ts atime, btime, ctime, mtime;
    uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
    uint64_t spare[14];
};
#define KT_STATX_BASIC 0x7ffu
#define KT_AT_STATX_FORCE_SYNC 0x2000
#define KT_AT_STATX_DONT_SYNC 0x4000

static long kt_statx(int dfd, const char *path, int flags, unsigned mask, struct kt_statx *b) {
    return syscall(332, dfd, path, flags, mask, b);
}

KT_CASE(statx_matches_stat) {
    const char *p = tmpfile_with("sx", "0123456789abc");
    struct kt_statx x;
    struct stat st;
    memset(&x, 0xff, sizeof x);
    KT_SYS_RET(kt_statx(AT_FDCWD, p, 0, KT_STATX_BASIC, &x), 0);
    KT_SYS_OK(stat(p, &st));
    KT_EQ(x.mask & KT_STATX_BASIC, KT_STATX_BASIC);
    KT_EQ(x.size, 13);
    KT_EQ(x.ino, st.st_ino);
    KT_EQ(x.mode, st.st_mode);
    KT_EQ(x.nlink, 1);
    KT_EQ(x.uid, 0);
    KT_EQ(x.blocks, st.st_blocks);
    KT_EQ(x.blksize, st.st_blksize);
    KT_EQ(x.mtime.sec, st.st_mtim.tv_sec);
    KT_EQ(x.mtime.nsec, st.st_mtim.tv_nsec);
    KT_EQ(x.ctime.sec, st.st_ctim.tv_sec);
    KT_EQ(x.dev_major, major(st.st_dev));
    KT_EQ(x.dev_minor, minor(st.st_dev));
    KT_EQ(x.rdev_major, 0);
}

KT_CASE(statx_device_and_symlink) {
    struct kt_statx x;
    KT_SYS_RET(kt_statx(AT_FDCWD, "/dev/null", 0, KT_STATX_BASIC, &x), 0);
    KT_EQ(x.mode & S_IFMT, S_IFCHR);
    KT_EQ(x.rdev_major, 1);
    KT_EQ(x.rdev_minor, 3);
    unlink("/tmp/sxl");
    KT_SYS_OK(symlink("sx", "/tmp/sxl"));
    KT_SYS_RET(kt_statx(AT_FDCWD, "/tmp/sxl", AT_SYMLINK_NOFOLLOW, KT_STATX_BASIC, &x), 0);
    KT_EQ(x.mode & S_IFMT, S_IFLNK);
    KT_EQ(x.size, 2);
    KT_SYS_RET(kt_statx(AT_FDCWD, "/tmp/sxl", 0, KT_STATX_BASIC, &x), 0);
    KT_EQ(x.mode & S_IFMT, S_IFREG);
}

KT_CASE(statx_empty_path_and_dirfd) {
    int fd = KT_SYS_OK(open(tmpfile_with("sy", "12345"), O_RDONLY));
    int d = KT_SYS_OK(open("/tmp", O_RDONLY | O_DIRECTORY));
    struct kt_statx x;
    KT_SYS_RET(kt_statx(fd, "", AT_EMPTY_PATH, KT_STATX_BASIC, &x), 0);
    KT_EQ(x.size, 5);
    KT_SYS_ERR(kt_statx(fd, "", 0, KT_STATX_BASIC, &x), ENOENT);
    KT_SYS_RET(kt_statx(d, "sy", 0, KT_STATX_BASIC, &x), 0);
    KT_EQ(x.size, 5);
    KT_SYS_ERR(kt_statx(fd, "sy", 0, KT_STATX_BASIC, &x), ENOTDIR);
    KT_SYS_ERR(kt_statx(AT_FDCWD, "/tmp/nonexistent", 0, KT_STATX_BASIC, &x), ENOENT);
    KT_SYS_ERR(kt_statx(AT_FDCWD, "/tmp/sy", 0, KT_STATX_BASIC, (void *)8), EFAULT);
    close(fd);
    close(d);
}

KT_CASE(statx_flags_and_mask_checks) {
    struct kt_statx x;
    const char *p = tmpfile_with("sz", "");
    /* a zero mask or unknown request bits are fine; the reserved bit is not */
    KT_SYS_RET(kt_statx(AT_FDCWD, p, 0, 0, &x), 0);
    KT_SYS_RET(kt_statx(AT_FDCWD, p, 0, 0x7fffffffu, &x), 0);
    KT_SYS_ERR(kt_statx(AT_FDCWD, p, 0, 0x80000000u, &x), EINVAL);
    KT_SYS_RET(kt_statx(AT_FDCWD, p, KT_AT_STATX_FORCE_SYNC, KT_STATX_BASIC, &x), 0);
    KT_SYS_RET(kt_statx(AT_FDCWD, p, KT_AT_STATX_DONT_SYNC, KT_STATX_BASIC, &x), 0);
    KT_SYS_ERR(kt_statx(AT_FDCWD, p, KT_AT_STATX_FORCE_SYNC | KT_AT_STATX_DONT_SYNC, KT_STATX_BASIC, &x), EINVAL);
    KT_SYS_ERR(kt_statx(AT_FDCWD, p, 0x1, KT_STATX_BASIC, &x), EINVAL);
    /* the flags and mask are checked before the name's errors surface */
    KT_SYS_ERR(kt_statx(AT_FDCWD, "", 0x1, KT_STATX_BASIC, &x), EINVAL);
    KT_SYS_ERR(kt_statx(AT_FDCWD, "", 0, 0x80000000u, &x), EINVAL);
    KT_SYS_ERR(kt_statx(AT_FDCWD, "", 0, KT_STATX_BASIC, &x), ENOENT);
}

KT_CASE(statx_btime_mount_id_and_attributes) {
    const char *f = tmpfile_with("sbt", NULL);
    struct kt_statx x, t, r, pr;
    KT_SYS_RET(kt_statx(AT_FDCWD, f, 0, KT_STATX_BASIC, &x), 0);
    /* the mount id comes unasked; the birth time when asked (tmpfs) */
    KT_EQ(x.mask, 0x17ffu);
    KT_SYS_RET(kt_statx(AT_FDCWD, f, 0, 0xfffu, &x), 0);
    KT_EQ(x.mask, 0x1fffu);
    KT_EQ(x.btime.sec, x.ctime.sec);
    KT_EQ(x.btime.nsec, x.ctime.nsec);
    KT_EQ(x.attributes, 0);
    KT_EQ(x.attributes_mask, 0x203070);
    KT_SYS_RET(kt_statx(AT_FDCWD, "/tmp", 0, 0xfffu, &t), 0);
    KT_EQ(t.attributes, 0x2000); /* STATX_ATTR_MOUNT_ROOT */
    KT_EQ(t.spare[0], x.spare[0]); /* stx_mnt_id */
    KT_SYS_RET(kt_statx(AT_FDCWD, "/", 0, 0xfffu, &r), 0);
    KT_EQ(r.attributes, 0x2000);
    KT_NE(r.spare[0], t.spare[0]);
    /* procfs has no birth time and none of tmpfs's attributes */
    KT_SYS_RET(kt_statx(AT_FDCWD, "/proc/self/status", 0, 0xfffu, &pr), 0);
    KT_EQ(pr.mask, 0x17ffu);
    KT_EQ(pr.attributes_mask, 0x203000);
    KT_NE(pr.spare[0], t.spare[0]);
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(kt_statx(p[0], "", AT_EMPTY_PATH, 0xfffu, &pr), 0);
    KT_EQ(pr.mask, 0x17ffu);
    KT_EQ(pr.attributes_mask, 0x203000);
    close(p[0]);
    close(p[1]);
}

/* ---- copy_file_range ------------------------------------------------------- */

static long kt_cfr(int in, loff_t *oi, int out, loff_t *oo, size_t len, unsigned flags) {
    return syscall(326, in, oi, out, oo, len, flags);
}

static int read_file(const char *p, char *buf, int max) {
    int fd = open(p, O_RDONLY);
    if (fd < 0) return -1;
    int n = read(fd, buf, max);
    close(fd);
    return n;
}

KT_CASE(copy_file_range_uses_and_moves_positions) {
    int in = KT_SYS_OK(open(tmpfile_with("cin", "hello world"), O_RDONLY));
    int out = KT_SYS_OK(open(tmpfile_with("cout", ""), O_RDWR));
    char buf[32] = {0};
    KT_SYS_RET(kt_cfr(in, NULL, out, NULL, 5, 0), 5);
    KT_SYS_RET(lseek(in, 0, SEEK_CUR), 5);
    KT_SYS_RET(lseek(out, 0, SEEK_CUR), 5);
    KT_SYS_RET(read_file("/tmp/cout", buf, sizeof buf), 5);
    KT_EQ(memcmp(buf, "hello", 5), 0);
    /* the rest, cut at the end of the input */
    KT_SYS_RET(kt_cfr(in, NULL, out, NULL, 100, 0), 6);
    KT_SYS_RET(kt_cfr(in, NULL, out, NULL, 100, 0), 0);
    KT_SYS_RET(read_file("/tmp/cout", buf, sizeof buf), 11);
    KT_EQ(memcmp(buf, "hello world", 11), 0);
    close(in);
    close(out);
}

KT_CASE(copy_file_range_explicit_offsets) {
    int in = KT_SYS_OK(open(tmpfile_with("cin2", "hello world"), O_RDONLY));
    int out = KT_SYS_OK(open(tmpfile_with("cout2", ""), O_WRONLY));
    loff_t oi = 6, oo = 2;
    char buf[32] = {0};
    KT_SYS_RET(kt_cfr(in, &oi, out, &oo, 5, 0), 5);
    KT_EQ(oi, 11);
    KT_EQ(oo, 7);
    KT_SYS_RET(lseek(in, 0, SEEK_CUR), 0);
    KT_SYS_RET(lseek(out, 0, SEEK_CUR), 0);
    KT_SYS_RET(read_file("/tmp/cout2", buf, sizeof buf), 7);
    KT_EQ(memcmp(buf, "\0\0world", 7), 0);
    /* at the end: 0 and the offsets stay */
    KT_SYS_RET(kt_cfr(in, &oi, out, &oo, 5, 0), 0);
    KT_EQ(oi, 11);
    /* a negative offset wraps the u64 sum: EOVERFLOW */
    oi = -1;
    KT_SYS_ERR(kt_cfr(in, &oi, out, &oo, 5, 0), EOVERFLOW);
    KT_SYS_ERR(kt_cfr(in, (loff_t *)8, out, &oo, 5, 0), EFAULT);
    close(in);
    close(out);
}

KT_CASE(copy_file_range_errors) {
    int in = KT_SYS_OK(open(tmpfile_with("cin3", "hello world"), O_RDONLY));
    int ro = KT_SYS_OK(open(tmpfile_with("cro", ""), O_RDONLY));
    int wo = KT_SYS_OK(open("/tmp/cin3", O_WRONLY));
    int ap = KT_SYS_OK(open(tmpfile_with("cap", ""), O_WRONLY | O_APPEND));
    int out = KT_SYS_OK(open(tmpfile_with("cout3", ""), O_WRONLY));
    int d = KT_SYS_OK(open("/tmp", O_RDONLY | O_DIRECTORY));
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(kt_cfr(in, NULL, out, NULL, 5, 1), EINVAL);
    KT_SYS_ERR(kt_cfr(in, NULL, ro, NULL, 5, 0), EBADF);
    KT_SYS_ERR(kt_cfr(wo, NULL, out, NULL, 5, 0), EBADF);
    KT_SYS_ERR(kt_cfr(in, NULL, ap, NULL, 5, 0), EBADF);
    KT_SYS_ERR(kt_cfr(d, NULL, out, NULL, 5, 0), EISDIR);
    KT_SYS_ERR(kt_cfr(p[0], NULL, out, NULL, 5, 0), EINVAL);
    KT_SYS_ERR(kt_cfr(in, NULL, p[1], NULL, 5, 0), EINVAL);
    KT_SYS_ERR(kt_cfr(99, NULL, out, NULL, 5, 0), EBADF);
    KT_SYS_ERR(kt_cfr(in, NULL, 99, NULL, 5, 0), EBADF);
    /* nothing moved */
    KT_SYS_RET(lseek(in, 0, SEEK_CUR), 0);
    close(in), close(ro), close(wo), close(ap), close(out), close(d), close(p[0]), close(p[1]);
}

KT_CASE(copy_file_range_same_file_overlap) {
    int fd = KT_SYS_OK(open(tmpfile_with("csame", "abcdefghij"), O_RDWR));
    loff_t a = 0, b = 3;
    char buf[16] = {0};
    KT_SYS_ERR(kt_cfr(fd, &a, fd, &b, 5, 0), EINVAL);
    a = 0, b = 5;
    KT_SYS_RET(kt_cfr(fd, &a, fd, &b, 5, 0), 5);
    KT_SYS_RET(pread(fd, buf, sizeof buf, 0), 10);
    KT_EQ(memcmp(buf, "abcdeabcde", 10), 0);
    close(fd);
}

KT_CASE(copy_file_range_across_filesystems_exdev) {
    /* Linux 6.1: tmpfs has no copy_file_range of its own, so a copy
     * between two superblocks is EXDEV (/ is another tmpfs than /tmp) */
    int in = KT_SYS_OK(open(tmpfile_with("cx", "abc"), O_RDONLY));
    int out = KT_SYS_OK(open("/cfr_exdev", O_CREAT | O_WRONLY | O_TRUNC, 0644));
    KT_SYS_ERR(kt_cfr(in, NULL, out, NULL, 3, 0), EXDEV);
    close(in);
    close(out);
    unlink("/cfr_exdev");
}

/* ---- mknod ------------------------------------------------------------------ */

KT_CASE(mknod_fifo_socket_regular) {
    struct stat st;
    unlink("/tmp/mfifo");
    unlink("/tmp/msock");
    unlink("/tmp/mreg");
    mode_t old = umask(022);
    KT_SYS_RET(mknod("/tmp/mfifo", S_IFIFO | 0666, 0), 0);
    KT_SYS_OK(stat("/tmp/mfifo", &st));
    KT_EQ(st.st_mode, S_IFIFO | 0644);
    KT_SYS_RET(mknod("/tmp/msock", S_IFSOCK | 0600, 0), 0);
    KT_SYS_OK(stat("/tmp/msock", &st));
    KT_EQ(st.st_mode, S_IFSOCK | 0600);
    KT_SYS_ERR(open("/tmp/msock", O_RDONLY), ENXIO);
    /* mode 0 is a regular file */
    KT_SYS_RET(mknod("/tmp/mreg", 0644, 0), 0);
    KT_SYS_OK(stat("/tmp/mreg", &st));
    KT_EQ(st.st_mode, S_IFREG | 0644);
    KT_EQ(st.st_size, 0);
    umask(old);
}

KT_CASE(mknod_errors) {
    unlink("/tmp/merr");
    KT_SYS_RET(mknod("/tmp/merr", S_IFIFO | 0600, 0), 0);
    KT_SYS_ERR(mknod("/tmp/merr", S_IFIFO | 0600, 0), EEXIST);
    KT_SYS_ERR(mknod("/tmp/mdir", S_IFDIR | 0700, 0), EPERM);
    KT_SYS_ERR(mknod("/tmp/mlnk", S_IFLNK | 0700, 0), EINVAL);
    KT_SYS_ERR(mknod("/tmp/mbad", 0170000 | 0700, 0), EINVAL);
    KT_SYS_ERR(mknod("/tmp/no/such", S_IFIFO | 0600, 0), ENOENT);
    KT_SYS_ERR(mknodat(99, "x", S_IFIFO | 0600, 0), EBADF);
}

KT_CASE(mknod_char_device_works_as_the_driver) {
    struct stat st;
    unlink("/tmp/mnull");
    KT_SYS_RET(mknod("/tmp/mnull", S_IFCHR | 0666, makedev(1, 3)), 0);
    KT_SYS_OK(stat("/tmp/mnull", &st));
    KT_EQ(st.st_mode & S_IFMT, S_IFCHR);
    KT_EQ(major(st.st_rdev), 1);
    KT_EQ(minor(st.st_rdev), 3);
    int fd = KT_SYS_OK(open("/tmp/mnull", O_RDWR));
    char c;
    KT_SYS_RET(write(fd, "abc", 3), 3);
    KT_SYS_RET(read(fd, &c, 1), 0);
    close(fd);
    /* a block device node can be made too */
    unlink("/tmp/mblk");
    KT_SYS_RET(mknod("/tmp/mblk", S_IFBLK | 0600, makedev(7, 0)), 0);
    KT_SYS_OK(stat("/tmp/mblk", &st));
    KT_EQ(st.st_mode & S_IFMT, S_IFBLK);
    KT_EQ(major(st.st_rdev), 7);
}

KT_CASE(mknod_device_needs_cap_mknod) {
    unlink("/tmp/mdev_user");
    unlink("/tmp/mfifo_user");
    pid_t pid = KT_FORK();
    if (pid == 0) {
        KT_SYS_OK(setuid(1000));
        KT_SYS_ERR(mknod("/tmp/mdev_user", S_IFCHR | 0600, makedev(1, 3)), EPERM);
        /* a FIFO needs nothing */
        KT_SYS_RET(mknod("/tmp/mfifo_user", S_IFIFO | 0600, 0), 0);
        _exit(0);
    }
    KT_WAIT_STATUS(pid, 0);
}

/* ---- FIFOs (mknod S_IFIFO / mkfifo) ------------------------------------------ */

static const char *fresh_fifo(const char *name) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/%s", name);
    unlink(path);
    if (mkfifo(path, 0600) != 0) return "/nonexistent";
    return path;
}

KT_CASE(fifo_nonblocking_writer_without_reader_enxio) {
    const char *f = fresh_fifo("ff1");
    KT_SYS_ERR(open(f, O_WRONLY | O_NONBLOCK), ENXIO);
}

KT_CASE(fifo_nonblocking_reader_then_writer_share_the_pipe) {
    const char *f = fresh_fifo("ff2");
    char buf[8];
    int r = KT_SYS_OK(open(f, O_RDONLY | O_NONBLOCK));
    /* no writer: end of file at once */
    KT_SYS_RET(read(r, buf, sizeof buf), 0);
    KT_EQ(fcntl(r, F_GETFL) & O_ACCMODE, O_RDONLY);
    int w = KT_SYS_OK(open(f, O_WRONLY | O_NONBLOCK));
    KT_SYS_RET(write(w, "hi", 2), 2);
    KT_SYS_RET(read(r, buf, sizeof buf), 2);
    KT_EQ(memcmp(buf, "hi", 2), 0);
    /* a writer is open and the pipe is empty: EAGAIN */
    KT_SYS_ERR(read(r, buf, sizeof buf), EAGAIN);
    close(w);
    KT_SYS_RET(read(r, buf, sizeof buf), 0);
    close(r);
}

KT_CASE(fifo_rdwr_never_blocks_and_stats_as_the_inode) {
    const char *f = fresh_fifo("ff3");
    char buf[8];
    struct stat a, b;
    int fd = KT_SYS_OK(open(f, O_RDWR));
    KT_SYS_RET(write(fd, "abc", 3), 3);
    int n = -1;
    KT_SYS_RET(ioctl(fd, FIONREAD, &n), 0);
    KT_EQ(n, 3);
    KT_SYS_RET(read(fd, buf, sizeof buf), 3);
    KT_SYS_OK(fstat(fd, &a));
    KT_SYS_OK(stat(f, &b));
    KT_EQ(a.st_mode, S_IFIFO | 0600);
    KT_EQ(a.st_ino, b.st_ino);
    KT_EQ(a.st_dev, b.st_dev);
    KT_SYS_ERR(lseek(fd, 0, SEEK_SET), ESPIPE);
    close(fd);
}

KT_CASE(fifo_content_goes_with_the_last_close) {
    const char *f = fresh_fifo("ff4");
    int fd = KT_SYS_OK(open(f, O_RDWR));
    KT_SYS_RET(write(fd, "abc", 3), 3);
    close(fd);
    fd = KT_SYS_OK(open(f, O_RDWR));
    int n = -1;
    KT_SYS_RET(ioctl(fd, FIONREAD, &n), 0);
    KT_EQ(n, 0);
    close(fd);
}

static long ms_since(struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

KT_CASE(fifo_blocking_open_waits_for_the_other_side) {
    const char *f = fresh_fifo("ff5");
    pid_t pid = KT_FORK();
    if (pid == 0) {
        usleep(100000);
        int w = open(f, O_WRONLY);
        if (w < 0) _exit(1);
        write(w, "x", 1);
        _exit(0);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = KT_SYS_OK(open(f, O_RDONLY));
    KT_TRUE(ms_since(&t0) >= 50, "open returned after %ld ms", ms_since(&t0));
    char c = 0;
    KT_SYS_RET(read(r, &c, 1), 1);
    KT_EQ(c, 'x');
    KT_WAIT_STATUS(pid, 0);
    KT_SYS_RET(read(r, &c, 1), 0);
    close(r);
    /* and a blocking writer waits for a reader */
    pid = KT_FORK();
    if (pid == 0) {
        usleep(100000);
        int r2 = open(f, O_RDONLY);
        char d = 0;
        _exit(r2 >= 0 && read(r2, &d, 1) == 1 && d == 'y' ? 0 : 1);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int w = KT_SYS_OK(open(f, O_WRONLY));
    KT_TRUE(ms_since(&t0) >= 50, "open returned after %ld ms", ms_since(&t0));
    KT_SYS_RET(write(w, "y", 1), 1);
    KT_WAIT_STATUS(pid, 0);
    close(w);
}

static void on_alarm(int s) {
    (void)s;
}

KT_CASE(fifo_blocking_open_interrupted_eintr) {
    const char *f = fresh_fifo("ff6");
    struct sigaction sa = {.sa_handler = on_alarm};
    struct sigaction old;
    sigaction(SIGALRM, &sa, &old);
    struct itimerval it = {.it_value = {.tv_usec = 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    KT_SYS_ERR(open(f, O_RDONLY), EINTR);
    sigaction(SIGALRM, &old, NULL);
    /* the interrupted open left no reader behind */
    KT_SYS_ERR(open(f, O_WRONLY | O_NONBLOCK), ENXIO);
}

/* ---- /proc/<pid>/fd/N and /dev/fd as magic links -------------------------------- */

static char *fdpath(const char *dir, int fd) {
    static char p[64];
    snprintf(p, sizeof p, "%s/%d", dir, fd);
    return p;
}

KT_CASE(proc_fd_pipe_reopens_the_same_pipe) {
    int p[2];
    char buf[16] = {0};
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(write(p[1], "hello", 5), 5);
    int r = KT_SYS_OK(open(fdpath("/proc/self/fd", p[0]), O_RDONLY));
    KT_NE(r, p[0]);
    /* a new open file: its own status flags */
    KT_SYS_OK(fcntl(r, F_SETFL, O_NONBLOCK));
    KT_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
    KT_SYS_RET(read(r, buf, sizeof buf), 5);
    KT_EQ(memcmp(buf, "hello", 5), 0);
    KT_SYS_ERR(read(r, buf, sizeof buf), EAGAIN);
    struct stat a, b;
    KT_SYS_OK(fstat(r, &a));
    KT_SYS_OK(fstat(p[0], &b));
    KT_EQ(a.st_ino, b.st_ino);
    close(r);
    close(p[0]);
    close(p[1]);
}

KT_CASE(proc_fd_pipe_with_another_access_mode) {
    int p[2];
    char c = 0;
    KT_SYS_OK(pipe(p));
    /* the read end's link opened for writing: a new writer of that pipe */
    int w = KT_SYS_OK(open(fdpath("/proc/self/fd", p[0]), O_WRONLY));
    KT_EQ(fcntl(w, F_GETFL) & O_ACCMODE, O_WRONLY);
    close(p[1]);
    KT_SYS_RET(write(w, "z", 1), 1);
    KT_SYS_RET(read(p[0], &c, 1), 1);
    KT_EQ(c, 'z');
    /* the reopened writer keeps the pipe from EOF; its close ends it */
    KT_SYS_OK(fcntl(p[0], F_SETFL, O_NONBLOCK));
    KT_SYS_ERR(read(p[0], &c, 1), EAGAIN);
    close(w);
    KT_SYS_RET(read(p[0], &c, 1), 0);
    close(p[0]);
}

KT_CASE(proc_fd_of_an_anonymous_inode_enxio) {
    int e = KT_SYS_OK(epoll_create1(0));
    KT_SYS_ERR(open(fdpath("/proc/self/fd", e), O_RDONLY), ENXIO);
    KT_SYS_ERR(open(fdpath("/dev/fd", e), O_RDWR), ENXIO);
    /* O_PATH opens nothing, so it works */
    int o = KT_SYS_OK(open(fdpath("/proc/self/fd", e), O_PATH));
    struct stat a, b;
    KT_SYS_OK(fstat(o, &a));
    KT_SYS_OK(fstat(e, &b));
    KT_EQ(a.st_ino, b.st_ino);
    char c;
    KT_SYS_ERR(read(o, &c, 1), EBADF);
    close(o);
    close(e);
}

KT_CASE(proc_fd_pipe_o_path_is_no_reader) {
    int p[2];
    KT_SYS_OK(pipe(p));
    int o = KT_SYS_OK(open(fdpath("/proc/self/fd", p[0]), O_PATH));
    struct stat a, b;
    KT_SYS_OK(fstat(o, &a));
    KT_SYS_OK(fstat(p[0], &b));
    KT_EQ(a.st_ino, b.st_ino);
    KT_EQ(a.st_mode & S_IFMT, S_IFIFO);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    KT_SYS_ERR(write(p[1], "x", 1), EPIPE);
    signal(SIGPIPE, SIG_DFL);
    close(p[1]);
    close(o);
}


KT_CASE(dev_fd_and_std_links) {
    char buf[64];
    KT_SYS_RET(readlink("/dev/fd", buf, sizeof buf), 13);
    KT_EQ(memcmp(buf, "/proc/self/fd", 13), 0);
    KT_SYS_RET(readlink("/dev/stdin", buf, sizeof buf), 15);
    KT_EQ(memcmp(buf, "/proc/self/fd/0", 15), 0);
    KT_SYS_RET(readlink("/dev/stdout", buf, sizeof buf), 15);
    KT_SYS_RET(readlink("/dev/stderr", buf, sizeof buf), 15);
    KT_EQ(memcmp(buf, "/proc/self/fd/2", 15), 0);
}

KT_CASE(dev_fd_63_as_bash_process_substitution) {
    /* what bash does for `cat <(echo hi)`: a child writes into a pipe
     * whose read end is fd 63, and the command opens /dev/fd/63 */
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t pid = KT_FORK();
    if (pid == 0) {
        close(p[0]);
        write(p[1], "hi\n", 3);
        _exit(0);
    }
    close(p[1]);
    KT_SYS_RET(dup2(p[0], 63), 63);
    close(p[0]);
    int fd = KT_SYS_OK(open("/dev/fd/63", O_RDONLY));
    char buf[8] = {0};
    KT_SYS_RET(read(fd, buf, sizeof buf), 3);
    KT_EQ(memcmp(buf, "hi\n", 3), 0);
    /* stat through the link is the pipe's */
    struct stat a, b;
    KT_SYS_OK(stat("/dev/fd/63", &a));
    KT_SYS_OK(fstat(63, &b));
    KT_EQ(a.st_mode & S_IFMT, S_IFIFO);
    KT_EQ(a.st_ino, b.st_ino);
    KT_WAIT_STATUS(pid, 0);
    KT_SYS_RET(read(fd, buf, sizeof buf), 0);
    close(fd);
    close(63);
}

KT_CASE(proc_fd_reopens_an_unlinked_file) {
    int fd = KT_SYS_OK(open(tmpfile_with("gone", "data"), O_RDWR));
    KT_SYS_OK(unlink("/tmp/gone"));
    char link[128] = {0};
    long n = KT_SYS_OK(readlink(fdpath("/proc/self/fd", fd), link, sizeof link - 1));
    KT_EQ(n, 19);
    KT_EQ(strcmp(link, "/tmp/gone (deleted)"), 0);
    int again = KT_SYS_OK(open(fdpath("/proc/self/fd", fd), O_RDONLY));
    char buf[8] = {0};
    KT_SYS_RET(read(again, buf, sizeof buf), 4);
    KT_EQ(memcmp(buf, "data", 4), 0);
    struct stat st;
    KT_SYS_OK(fstat(again, &st));
    KT_EQ(st.st_nlink, 0);
    /* a write through the reopened file shows in the first one */
    int w = KT_SYS_OK(open(fdpath("/dev/fd", fd), O_WRONLY | O_APPEND));
    KT_SYS_RET(write(w, "!", 1), 1);
    KT_SYS_RET(pread(fd, buf, sizeof buf, 0), 5);
    close(w);
    close(again);
    close(fd);
}

KT_CASE(proc_fd_directory_as_a_path_component) {
    rmdir("/tmp/pfd/sub");
    rmdir("/tmp/pfd");
    KT_SYS_OK(mkdir("/tmp/pfd", 0755));
    KT_SYS_OK(mkdir("/tmp/pfd/sub", 0755));
    int d = KT_SYS_OK(open("/tmp/pfd", O_RDONLY | O_DIRECTORY));
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d/sub", d);
    struct stat st;
    KT_SYS_OK(stat(p, &st));
    KT_EQ(st.st_mode & S_IFMT, S_IFDIR);
    /* renamed: the link follows the directory, not its old name */
    rmdir("/tmp/pfd2/sub");
    rmdir("/tmp/pfd2");
    KT_SYS_OK(rename("/tmp/pfd", "/tmp/pfd2"));
    KT_SYS_OK(stat(p, &st));
    KT_SYS_ERR(stat("/tmp/pfd/sub", &st), ENOENT);
    close(d);
}

KT_CASE(xattr_on_a_device_node) {
    char buf[8];
    KT_SYS_ERR(getxattr("/dev/null", "user.x", buf, sizeof buf), ENODATA);
    KT_SYS_ERR(setxattr("/dev/null", "user.x", "1", 1, 0), EPERM);
    KT_SYS_ERR(getxattr("/dev/null", "trusted.none", buf, sizeof buf), ENODATA);
}

KT_CASE(proc_fd_links_of_a_fifo_cwd_and_exe) {
    const char *f = fresh_fifo("ff7");
    int fd = KT_SYS_OK(open(f, O_RDWR));
    char link[64] = {0};
    KT_SYS_RET(readlink(fdpath("/proc/self/fd", fd), link, sizeof link - 1), (long)strlen(f));
    KT_EQ(strcmp(link, f), 0);
    /* the FIFO through its link is the same pipe */
    int w = KT_SYS_OK(open(fdpath("/proc/self/fd", fd), O_WRONLY | O_NONBLOCK));
    KT_SYS_RET(write(w, "q", 1), 1);
    char c = 0;
    KT_SYS_RET(read(fd, &c, 1), 1);
    KT_EQ(c, 'q');
    close(w);
    close(fd);
    /* cwd: the directory itself, whatever its name now */
    char old[256];
    KT_TRUE(getcwd(old, sizeof old) != NULL, "getcwd");
    unlink("/tmp/cwdmoved/in");
    rmdir("/tmp/cwdmoved");
    rmdir("/tmp/cwdhere");
    KT_SYS_OK(mkdir("/tmp/cwdhere", 0755));
    KT_SYS_OK(chdir("/tmp/cwdhere"));
    KT_SYS_OK(rename("/tmp/cwdhere", "/tmp/cwdmoved"));
    fd = KT_SYS_OK(open("/proc/self/cwd/in", O_CREAT | O_WRONLY, 0644));
    close(fd);
    struct stat st;
    KT_SYS_OK(stat("/tmp/cwdmoved/in", &st));
    KT_SYS_OK(chdir(old));
    /* exe opens the running program */
    fd = KT_SYS_OK(open("/proc/self/exe", O_RDONLY));
    char magic[4];
    KT_SYS_RET(read(fd, magic, 4), 4);
    KT_EQ(memcmp(magic, "\177ELF", 4), 0);
    close(fd);
}

/* ---- fallocate ------------------------------------------------------------------- */

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#define KT_FALLOC_FL_COLLAPSE_RANGE 0x08
#define KT_FALLOC_FL_ZERO_RANGE 0x10

static long kt_fallocate(int fd, int mode, off_t off, off_t len) {
    return syscall(285, fd, mode, off, len);
}

KT_CASE(fallocate_extends_and_reserves) {
    int fd = KT_SYS_OK(open(tmpfile_with("fa", ""), O_RDWR));
    struct stat st;
    KT_SYS_RET(kt_fallocate(fd, 0, 100, 8000), 0);
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_size, 8100);
    KT_EQ(st.st_blocks, 16);
    char buf[16];
    memset(buf, 1, sizeof buf);
    KT_SYS_RET(pread(fd, buf, sizeof buf, 8000), 16);
    KT_EQ(buf[0], 0);
    /* inside the size: nothing changes but the reservation */
    KT_SYS_RET(kt_fallocate(fd, 0, 0, 10), 0);
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_size, 8100);
    close(fd);
}

KT_CASE(fallocate_keep_size_reserves_only) {
    int fd = KT_SYS_OK(open(tmpfile_with("fb", "abc"), O_RDWR));
    struct stat st;
    KT_SYS_RET(kt_fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 3 * 4096), 0);
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_size, 3);
    KT_EQ(st.st_blocks, 24);
    close(fd);
}

KT_CASE(fallocate_punch_hole_zeroes_and_frees) {
    int fd = KT_SYS_OK(open(tmpfile_with("fc", ""), O_RDWR));
    static char page[3 * 4096];
    memset(page, 'a', sizeof page);
    KT_SYS_RET(write(fd, page, sizeof page), (long)sizeof page);
    KT_SYS_RET(kt_fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4000, 4096 + 200), 0);
    struct stat st;
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_size, 3 * 4096);
    KT_EQ(st.st_blocks, 16);
    memset(page, 1, sizeof page);
    KT_SYS_RET(pread(fd, page, sizeof page, 0), (long)sizeof page);
    KT_EQ(page[3999], 'a');
    KT_EQ(page[4000], 0);
    KT_EQ(page[8295], 0);
    KT_EQ(page[8296], 'a');
    KT_SYS_RET(lseek(fd, 0, SEEK_HOLE), 4096);
    KT_SYS_RET(lseek(fd, 4096, SEEK_DATA), 8192);
    close(fd);
}

KT_CASE(fallocate_mode_checks) {
    int fd = KT_SYS_OK(open(tmpfile_with("fd", "x"), O_RDWR));
    /* punch hole wants KEEP_SIZE; tmpfs has no zero/collapse range */
    KT_SYS_ERR(kt_fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 1), EOPNOTSUPP);
    KT_SYS_ERR(kt_fallocate(fd, KT_FALLOC_FL_ZERO_RANGE, 0, 4096), EOPNOTSUPP);
    KT_SYS_ERR(kt_fallocate(fd, KT_FALLOC_FL_COLLAPSE_RANGE, 0, 4096), EOPNOTSUPP);
    KT_SYS_ERR(kt_fallocate(fd, KT_FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096), EINVAL);
    KT_SYS_ERR(kt_fallocate(fd, 0x100, 0, 1), EOPNOTSUPP);
    KT_SYS_ERR(kt_fallocate(fd, 0, -1, 1), EINVAL);
    KT_SYS_ERR(kt_fallocate(fd, 0, 0, 0), EINVAL);
    KT_SYS_ERR(kt_fallocate(fd, 0, 1, 0x7fffffffffffffffLL), EFBIG);
    /* more than the filesystem can hold */
    KT_SYS_ERR(kt_fallocate(fd, 0, 0, 1LL << 40), ENOSPC);
    struct stat st;
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_size, 1);
    close(fd);
}

KT_CASE(fallocate_file_kinds) {
    int ro = KT_SYS_OK(open(tmpfile_with("fe", ""), O_RDONLY));
    int p[2];
    KT_SYS_OK(pipe(p));
    int z = KT_SYS_OK(open("/dev/null", O_WRONLY));
    int d = KT_SYS_OK(open("/tmp", O_RDONLY | O_DIRECTORY));
    KT_SYS_ERR(kt_fallocate(ro, 0, 0, 1), EBADF);
    KT_SYS_ERR(kt_fallocate(p[1], 0, 0, 1), ESPIPE);
    KT_SYS_ERR(kt_fallocate(p[0], 0, 0, 1), EBADF);
    KT_SYS_ERR(kt_fallocate(z, 0, 0, 1), ENODEV);
    KT_SYS_ERR(kt_fallocate(d, 0, 0, 1), EBADF);
    KT_SYS_ERR(kt_fallocate(99, 0, 0, 1), EBADF);
    close(ro), close(p[0]), close(p[1]), close(z), close(d);
}

/* ---- mount: MS_RDONLY and MS_REMOUNT ------------------------------------------------ */

#include <sys/mount.h>

static int mounts_have(const char *needle) {
    static char buf[8192];
    int fd = open("/proc/mounts", O_RDONLY);
    if (fd < 0) return 0;
    int n = 0, r;
    while (n < (int)sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += r;
    close(fd);
    buf[n] = 0;
    return strstr(buf, needle) != NULL;
}

static int fresh_mount(const char *dir, unsigned long flags) {
    umount(dir);
    rmdir(dir);
    if (mkdir(dir, 0755) != 0) return -1;
    return mount("abi", dir, "tmpfs", flags, NULL);
}

KT_CASE(mount_remount_read_only_and_back) {
    KT_SYS_RET(fresh_mount("/tmp/rom", 0), 0);
    int fd = KT_SYS_OK(open("/tmp/rom/f", O_CREAT | O_WRONLY, 0644));
    KT_SYS_RET(write(fd, "data", 4), 4);
    /* a file open for writing keeps it read-write */
    KT_SYS_ERR(mount(NULL, "/tmp/rom", NULL, MS_REMOUNT | MS_RDONLY, NULL), EBUSY);
    close(fd);
    KT_SYS_RET(mount(NULL, "/tmp/rom", NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
    KT_TRUE(mounts_have("abi /tmp/rom tmpfs ro,"), "no ro line in /proc/mounts");
    KT_SYS_ERR(open("/tmp/rom/f", O_WRONLY), EROFS);
    KT_SYS_ERR(open("/tmp/rom/g", O_CREAT | O_RDONLY, 0644), EROFS);
    KT_SYS_ERR(mkdir("/tmp/rom/d", 0755), EROFS);
    KT_SYS_ERR(unlink("/tmp/rom/f"), EROFS);
    KT_SYS_ERR(rename("/tmp/rom/f", "/tmp/rom/h"), EROFS);
    KT_SYS_ERR(chmod("/tmp/rom/f", 0600), EROFS);
    KT_SYS_ERR(truncate("/tmp/rom/f", 0), EROFS);
    KT_SYS_ERR(setxattr("/tmp/rom/f", "trusted.a", "1", 1, 0), EROFS);
    KT_SYS_ERR(mknod("/tmp/rom/p", S_IFIFO | 0600, 0), EROFS);
    /* an existing name is EEXIST before EROFS */
    KT_SYS_ERR(mkdir("/tmp/rom/f", 0755), EEXIST);
    char buf[8] = {0};
    fd = KT_SYS_OK(open("/tmp/rom/f", O_RDONLY));
    KT_SYS_RET(read(fd, buf, sizeof buf), 4);
    close(fd);
    KT_SYS_RET(mount(NULL, "/tmp/rom", NULL, MS_REMOUNT, NULL), 0);
    KT_TRUE(mounts_have("abi /tmp/rom tmpfs rw,"), "no rw line in /proc/mounts");
    fd = KT_SYS_OK(open("/tmp/rom/f", O_WRONLY | O_APPEND));
    KT_SYS_RET(write(fd, "!", 1), 1);
    close(fd);
    KT_SYS_OK(unlink("/tmp/rom/f"));
    KT_SYS_OK(umount("/tmp/rom"));
}

KT_CASE(mount_read_only_from_the_start) {
    KT_SYS_RET(fresh_mount("/tmp/rom2", MS_RDONLY), 0);
    KT_TRUE(mounts_have("abi /tmp/rom2 tmpfs ro,"), "no ro line in /proc/mounts");
    KT_SYS_ERR(open("/tmp/rom2/f", O_CREAT | O_WRONLY, 0644), EROFS);
    KT_SYS_OK(umount("/tmp/rom2"));
}

KT_CASE(mount_remount_needs_a_mount_root) {
    rmdir("/tmp/notmnt");
    KT_SYS_OK(mkdir("/tmp/notmnt", 0755));
    KT_SYS_ERR(mount(NULL, "/tmp/notmnt", NULL, MS_REMOUNT | MS_RDONLY, NULL), EINVAL);
    KT_SYS_ERR(mount(NULL, "/tmp/nonexistent", NULL, MS_REMOUNT, NULL), ENOENT);
    /* a new mount needs a type */
    KT_SYS_ERR(mount("x", "/tmp/notmnt", NULL, 0, NULL), EINVAL);
    /* remounting is for root */
    pid_t pid = KT_FORK();
    if (pid == 0) {
        KT_SYS_OK(setuid(1000));
        KT_SYS_ERR(mount(NULL, "/tmp", NULL, MS_REMOUNT | MS_RDONLY, NULL), EPERM);
        _exit(0);
    }
    KT_WAIT_STATUS(pid, 0);
}

KT_CASE(mount_bind_a_directory) {
    umount("/tmp/bdst");
    unlink("/tmp/bsrc/a");
    unlink("/tmp/bsrc/b");
    rmdir("/tmp/bsrc");
    rmdir("/tmp/bdst");
    KT_SYS_OK(mkdir("/tmp/bsrc", 0755));
    KT_SYS_OK(mkdir("/tmp/bdst", 0755));
    int fd = KT_SYS_OK(open("/tmp/bsrc/a", O_CREAT | O_WRONLY, 0644));
    KT_SYS_RET(write(fd, "abc", 3), 3);
    close(fd);
    KT_SYS_RET(mount("/tmp/bsrc", "/tmp/bdst", NULL, MS_BIND, NULL), 0);
    struct stat a, b;
    KT_SYS_OK(stat("/tmp/bdst/a", &a));
    KT_SYS_OK(stat("/tmp/bsrc/a", &b));
    KT_EQ(a.st_size, 3);
    KT_EQ(a.st_ino, b.st_ino);
    KT_EQ(a.st_dev, b.st_dev);
    fd = KT_SYS_OK(open("/tmp/bdst/b", O_CREAT | O_WRONLY, 0644));
    close(fd);
    KT_SYS_OK(stat("/tmp/bsrc/b", &b));
    /* shown with the source filesystem's name and type */
    KT_TRUE(mounts_have("tmpfs /tmp/bdst tmpfs rw,"), "no bind line in /proc/mounts");
    KT_SYS_ERR(rmdir("/tmp/bdst"), EBUSY);
    KT_SYS_ERR(umount("/tmp/bsrc"), EINVAL);
    KT_SYS_OK(umount("/tmp/bdst"));
    KT_SYS_ERR(stat("/tmp/bdst/a", &a), ENOENT);
    KT_SYS_OK(stat("/tmp/bsrc/a", &a));
    KT_TRUE(!mounts_have(" /tmp/bdst "), "bind line left in /proc/mounts");
}

KT_CASE(mount_bind_a_mounted_filesystem) {
    KT_SYS_RET(fresh_mount("/tmp/bm1", 0), 0);
    umount("/tmp/bm2");
    rmdir("/tmp/bm2");
    KT_SYS_OK(mkdir("/tmp/bm2", 0755));
    KT_SYS_RET(mount("/tmp/bm1", "/tmp/bm2", NULL, MS_BIND, NULL), 0);
    int fd = KT_SYS_OK(open("/tmp/bm2/x", O_CREAT | O_WRONLY, 0644));
    close(fd);
    struct stat st;
    KT_SYS_OK(stat("/tmp/bm1/x", &st));
    KT_TRUE(mounts_have("abi /tmp/bm2 tmpfs rw,"), "no bind line in /proc/mounts");
    KT_SYS_OK(umount("/tmp/bm2"));
    /* the first mount stays */
    KT_SYS_OK(stat("/tmp/bm1/x", &st));
    KT_SYS_ERR(stat("/tmp/bm2/x", &st), ENOENT);
    KT_SYS_OK(umount("/tmp/bm1"));
    KT_SYS_ERR(stat("/tmp/bm1/x", &st), ENOENT);
}

KT_CASE(mount_bind_errors) {
    rmdir("/tmp/be");
    KT_SYS_OK(mkdir("/tmp/be", 0755));
    const char *f = tmpfile_with("bfile", "");
    KT_SYS_ERR(mount("/tmp/nonexistent", "/tmp/be", NULL, MS_BIND, NULL), ENOENT);
    KT_SYS_ERR(mount(NULL, "/tmp/be", NULL, MS_BIND, NULL), EINVAL);
    KT_SYS_ERR(mount("", "/tmp/be", NULL, MS_BIND, NULL), EINVAL);
    /* a directory on a file and a file on a directory */
    KT_SYS_ERR(mount("/tmp/be", f, NULL, MS_BIND, NULL), ENOTDIR);
    KT_SYS_ERR(mount(f, "/tmp/be", NULL, MS_BIND, NULL), ENOTDIR);
}

KT_CASE(access_through_links_and_on_read_only) {
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(access(fdpath("/dev/fd", p[0]), R_OK | W_OK), 0);
    close(p[0]);
    close(p[1]);
    KT_SYS_RET(fresh_mount("/tmp/roa", 0), 0);
    int fd = KT_SYS_OK(open("/tmp/roa/f", O_CREAT | O_WRONLY, 0644));
    close(fd);
    KT_SYS_RET(mount(NULL, "/tmp/roa", NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
    KT_SYS_ERR(access("/tmp/roa/f", W_OK), EROFS);
    KT_SYS_RET(access("/tmp/roa/f", R_OK), 0);
    KT_SYS_ERR(access("/tmp/roa", W_OK), EROFS);
    KT_SYS_OK(umount("/tmp/roa"));
}

KT_CASE(fsync_checks_the_descriptor) {
    KT_SYS_ERR(fsync(-1), EBADF);
    KT_SYS_ERR(fdatasync(999), EBADF);
    KT_SYS_ERR(syscall(SYS_syncfs, -1), EBADF);
    int f = KT_SYS_OK(open("/tmp/kt_fsync", O_RDWR | O_CREAT | O_TRUNC, 0600));
    KT_SYS_RET(write(f, "x", 1), 1);
    KT_SYS_RET(fsync(f), 0);
    KT_SYS_RET(fdatasync(f), 0);
    KT_SYS_RET(syscall(SYS_syncfs, f), 0);
    close(f);
    unlink("/tmp/kt_fsync");
    int d = KT_SYS_OK(open("/tmp", O_RDONLY | O_DIRECTORY));
    KT_SYS_RET(fsync(d), 0);
    close(d);
    int p = KT_SYS_OK(open("/tmp", O_PATH));
    KT_SYS_ERR(fsync(p), EBADF);
    KT_SYS_ERR(syscall(SYS_syncfs, p), EBADF);
    close(p);
    int pp[2];
    KT_SYS_OK(pipe(pp));
    KT_SYS_ERR(fsync(pp[0]), EINVAL);
    KT_SYS_ERR(fdatasync(pp[1]), EINVAL);
    KT_SYS_RET(syscall(SYS_syncfs, pp[0]), 0);
    close(pp[0]);
    close(pp[1]);
    int n = KT_SYS_OK(open("/dev/null", O_WRONLY));
    KT_SYS_ERR(fsync(n), EINVAL);
    close(n);
}

/* A tmpfs directory's st_size is 40 plus 20 per entry (shmem's
 * BOGO_DIRENT_SIZE for ".", ".." and each name), kept through creates,
 * links, renames and removals; ramfs's stays 0 (ls -ld shows them). */
static long long dsize(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

KT_CASE(tmpfs_directory_sizes_count_entries) {
    KT_SYS_RET(fresh_mount("/tmp/dsz", 0), 0);
    KT_EQ(dsize("/tmp/dsz"), 40);
    KT_SYS_OK(mkdir("/tmp/dsz/d", 0755));
    KT_SYS_OK(close(KT_SYS_OK(open("/tmp/dsz/f", O_CREAT | O_WRONLY, 0644))));
    KT_SYS_OK(symlink("f", "/tmp/dsz/l"));
    KT_SYS_OK(mknod("/tmp/dsz/p", S_IFIFO | 0644, 0));
    KT_EQ(dsize("/tmp/dsz"), 120);
    KT_EQ(dsize("/tmp/dsz/d"), 40);
    KT_SYS_OK(link("/tmp/dsz/f", "/tmp/dsz/g"));
    KT_EQ(dsize("/tmp/dsz"), 140);
    KT_SYS_OK(rename("/tmp/dsz/g", "/tmp/dsz/h"));
    KT_EQ(dsize("/tmp/dsz"), 140);
    KT_SYS_OK(rename("/tmp/dsz/h", "/tmp/dsz/d/h"));
    KT_EQ(dsize("/tmp/dsz"), 120);
    KT_EQ(dsize("/tmp/dsz/d"), 60);
    /* over an existing name: one entry fewer */
    KT_SYS_OK(rename("/tmp/dsz/p", "/tmp/dsz/l"));
    KT_EQ(dsize("/tmp/dsz"), 100);
    KT_SYS_OK(unlink("/tmp/dsz/d/h"));
    KT_EQ(dsize("/tmp/dsz/d"), 40);
    int fd = KT_SYS_OK(open("/tmp/dsz/d", O_RDONLY | O_DIRECTORY));
    KT_SYS_OK(rmdir("/tmp/dsz/d"));
    struct stat st;
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ((long long)st.st_size, 40);
    close(fd);
    KT_EQ(dsize("/tmp/dsz"), 80);
    KT_SYS_OK(umount("/tmp/dsz"));
    KT_SYS_OK(mount("abi", "/tmp/dsz", "ramfs", 0, NULL));
    KT_SYS_OK(mkdir("/tmp/dsz/d", 0755));
    KT_EQ(dsize("/tmp/dsz"), 0);
    KT_EQ(dsize("/tmp/dsz/d"), 0);
    KT_SYS_OK(rmdir("/tmp/dsz/d"));
    KT_SYS_OK(umount("/tmp/dsz"));
    rmdir("/tmp/dsz");
}

KT_MAIN()

/* O_DIRECT needs a filesystem with direct I/O: Linux 6.1's tmpfs has none
 * (it came in 6.6), nor do devices or /proc files: open and F_SETFL say
 * EINVAL. A FIFO keeps F_SETFL's O_DIRECT (its packet mode). */
KT_CASE(o_direct_where_there_is_no_direct_io) {
    const char *p = tmpfile_with("odirect", "abc");
    KT_SYS_ERR(open(p, O_RDONLY | O_DIRECT), EINVAL);
    KT_SYS_ERR(open("/dev/null", O_RDWR | O_DIRECT), EINVAL);
    KT_SYS_ERR(open("/proc/self/stat", O_RDONLY | O_DIRECT), EINVAL);
    KT_SYS_ERR(open("/tmp", O_RDONLY | O_DIRECTORY | O_DIRECT), EINVAL);
    int fd = KT_SYS_OK(open(p, O_RDONLY));
    KT_SYS_ERR(fcntl(fd, F_SETFL, O_DIRECT), EINVAL);
    KT_EQ(fcntl(fd, F_GETFL), 0100000); /* O_RDONLY and the kernel's O_LARGEFILE */
    close(fd);
    /* O_PATH ignores it */
    fd = KT_SYS_OK(open(p, O_PATH | O_DIRECT));
    close(fd);
    unlink("/tmp/odfifo");
    KT_SYS_OK(mkfifo("/tmp/odfifo", 0600));
    KT_SYS_ERR(open("/tmp/odfifo", O_RDWR | O_DIRECT), EINVAL);
    fd = KT_SYS_OK(open("/tmp/odfifo", O_RDWR | O_NONBLOCK));
    KT_SYS_RET(fcntl(fd, F_SETFL, O_DIRECT), 0);
    KT_EQ(fcntl(fd, F_GETFL) & O_DIRECT, O_DIRECT);
    close(fd);
    unlink("/tmp/odfifo");
    int pp[2];
    KT_SYS_OK(pipe(pp));
    KT_SYS_RET(fcntl(pp[0], F_SETFL, O_DIRECT), 0);
    close(pp[0]);
    close(pp[1]);
    int s[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, s));
    KT_SYS_ERR(fcntl(s[0], F_SETFL, O_DIRECT), EINVAL);
    close(s[0]);
    close(s[1]);
    unlink(p);
}
