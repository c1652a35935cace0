/* The dirfd of the *at calls as Linux's path_init() reads it: an absolute
 * path starts at the root and never looks at dirfd, so a descriptor of a
 * regular file, an fd that is not open, or -1 there changes nothing; a
 * relative path with such a dirfd is ENOTDIR (an open non-directory) or
 * EBADF (not open, or negative other than AT_FDCWD); AT_FDCWD with a
 * relative path starts at the working directory. Each call is made through
 * syscall(2) so that libc picks no other system call. */
#include "kt.h"
#include <sys/stat.h>
#include <sys/syscall.h>

#define D "/tmp/atdirfd"

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#ifndef AT_STATX_SYNC_AS_STAT
#define AT_STATX_SYNC_AS_STAT 0
#endif
#define STATX_BASIC 0x7ffu

static int file_fd;

static void teardown(void) {
    if (file_fd > 0) close(file_fd);
    file_fd = 0;
    const char *names[] = {"file", "link", "other", "o2", "fifo", "l2", "l3", "l4"};
    char p[64];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, D "/%s", names[i]);
        unlink(p);
    }
    rmdir(D "/new");
    rmdir(D "/dir");
    rmdir(D);
}

/* D with a regular file (open as file_fd), a symbolic link to it, another
 * file and a directory; whatever an earlier failed case left is removed. */
static int setup(void) {
    teardown();
    if (mkdir(D, 0755) != 0 || mkdir(D "/dir", 0755) != 0 || symlink("file", D "/link") != 0) return -1;
    int o = open(D "/other", O_RDWR | O_CREAT, 0644);
    if (o < 0) return -1;
    close(o);
    file_fd = open(D "/file", O_RDWR | O_CREAT, 0644);
    return file_fd < 0 ? -1 : 0;
}

/* Every *at call with absolute names and dirfd `d`: as with AT_FDCWD. */
static void absolute(int d) {
    struct stat st;
    char buf[64];
    unsigned char stx[256];
    struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    int fd = KT_SYS_OK(syscall(SYS_openat, d, D "/file", O_RDONLY));
    close(fd);
    KT_SYS_RET(syscall(SYS_newfstatat, d, D "/file", &st, 0), 0);
    KT_SYS_RET(syscall(SYS_newfstatat, d, D "/link", &st, AT_SYMLINK_NOFOLLOW), 0);
    KT_TRUE(S_ISLNK(st.st_mode), "lstat of the link: mode %o", st.st_mode);
    KT_SYS_RET(syscall(SYS_statx, d, D "/file", AT_STATX_SYNC_AS_STAT, STATX_BASIC, stx), 0);
    KT_SYS_RET(syscall(SYS_mkdirat, d, D "/new", 0755), 0);
    KT_SYS_RET(syscall(SYS_unlinkat, d, D "/new", AT_REMOVEDIR), 0);
    KT_SYS_RET(syscall(SYS_mknodat, d, D "/fifo", S_IFIFO | 0644, 0), 0);
    KT_SYS_RET(syscall(SYS_unlinkat, d, D "/fifo", 0), 0);
    KT_SYS_RET(syscall(SYS_symlinkat, "file", d, D "/l2"), 0);
    KT_SYS_RET(syscall(SYS_readlinkat, d, D "/l2", buf, sizeof buf), 4);
    KT_SYS_RET(syscall(SYS_linkat, d, D "/l2", d, D "/l3", 0), 0);
    KT_SYS_RET(syscall(SYS_renameat2, d, D "/l3", d, D "/l4", 0), 0);
    KT_SYS_RET(syscall(SYS_renameat, d, D "/l4", d, D "/l3"), 0);
    KT_SYS_RET(syscall(SYS_unlinkat, d, D "/l3", 0), 0);
    KT_SYS_RET(syscall(SYS_unlinkat, d, D "/l2", 0), 0);
    KT_SYS_RET(syscall(SYS_faccessat, d, D "/file", R_OK), 0);
    KT_SYS_RET(syscall(SYS_faccessat2, d, D "/file", R_OK, AT_EACCESS), 0);
    KT_SYS_RET(syscall(SYS_fchmodat, d, D "/other", 0640), 0);
    KT_SYS_RET(syscall(SYS_fchownat, d, D "/other", -1, -1, 0), 0);
    KT_SYS_RET(syscall(SYS_utimensat, d, D "/other", ts, 0), 0);
    KT_SYS_RET(stat(D "/other", &st), 0);
    KT_EQ(st.st_mode & 07777, 0640);
}

/* Every *at call with relative names and dirfd `d`: errno `e`. */
static void relative(int d, int e) {
    struct stat st;
    char buf[64];
    unsigned char stx[256];
    struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    int dir = KT_SYS_OK(open(D, O_RDONLY | O_DIRECTORY));
    KT_SYS_ERR(syscall(SYS_openat, d, "file", O_RDONLY), e);
    KT_SYS_ERR(syscall(SYS_newfstatat, d, "file", &st, 0), e);
    KT_SYS_ERR(syscall(SYS_statx, d, "file", AT_STATX_SYNC_AS_STAT, STATX_BASIC, stx), e);
    KT_SYS_ERR(syscall(SYS_mkdirat, d, "new", 0755), e);
    KT_SYS_ERR(syscall(SYS_unlinkat, d, "dir", AT_REMOVEDIR), e);
    KT_SYS_ERR(syscall(SYS_mknodat, d, "fifo", S_IFIFO | 0644, 0), e);
    KT_SYS_ERR(syscall(SYS_symlinkat, "file", d, "l2"), e);
    KT_SYS_ERR(syscall(SYS_readlinkat, d, "link", buf, sizeof buf), e);
    /* one side bad, the other a good directory: the bad side's errno */
    KT_SYS_ERR(syscall(SYS_linkat, d, "file", dir, "l3", 0), e);
    KT_SYS_ERR(syscall(SYS_linkat, dir, "file", d, "l3", 0), e);
    KT_SYS_ERR(syscall(SYS_renameat2, d, "other", dir, "o2", 0), e);
    KT_SYS_ERR(syscall(SYS_renameat2, dir, "other", d, "o2", 0), e);
    KT_SYS_ERR(syscall(SYS_faccessat, d, "file", R_OK), e);
    KT_SYS_ERR(syscall(SYS_faccessat2, d, "file", R_OK, 0), e);
    KT_SYS_ERR(syscall(SYS_fchmodat, d, "other", 0600), e);
    KT_SYS_ERR(syscall(SYS_fchownat, d, "other", -1, -1, 0), e);
    KT_SYS_ERR(syscall(SYS_utimensat, d, "other", ts, 0), e);
    /* utimensat with both times UTIME_OMIT returns 0 before any look-up */
    ts[0].tv_nsec = UTIME_OMIT;
    KT_SYS_RET(syscall(SYS_utimensat, d, "other", ts, 0), 0);
    KT_SYS_RET(syscall(SYS_utimensat, d, "missing", ts, 0), 0);
    /* an absolute name on one side, a relative one on the other: only the
     * relative side's dirfd counts */
    KT_SYS_ERR(syscall(SYS_renameat2, d, D "/other", d, "o2", 0), e);
    KT_SYS_RET(syscall(SYS_renameat2, d, D "/other", dir, "o2", 0), 0);
    KT_SYS_RET(syscall(SYS_renameat2, dir, "o2", d, D "/other", 0), 0);
    KT_SYS_RET(syscall(SYS_linkat, dir, "other", d, D "/l3", 0), 0);
    KT_SYS_RET(syscall(SYS_unlinkat, d, D "/l3", 0), 0);
    /* the same relative names through the directory's fd work */
    KT_SYS_RET(syscall(SYS_newfstatat, dir, "file", &st, 0), 0);
    KT_SYS_RET(syscall(SYS_readlinkat, dir, "link", buf, sizeof buf), 4);
    close(dir);
}

KT_CASE(absolute_path_with_a_regular_files_fd_ignores_it) {
    KT_SYS_RET(setup(), 0);
    absolute(file_fd);
    teardown();
}

KT_CASE(absolute_path_with_an_fd_that_is_not_open_ignores_it) {
    KT_SYS_RET(setup(), 0);
    absolute(987);
    teardown();
}

KT_CASE(absolute_path_with_dirfd_minus_1_ignores_it) {
    KT_SYS_RET(setup(), 0);
    absolute(-1);
    teardown();
}

KT_CASE(relative_path_with_a_regular_files_fd_is_enotdir) {
    KT_SYS_RET(setup(), 0);
    relative(file_fd, ENOTDIR);
    teardown();
}

KT_CASE(relative_path_with_a_pipe_is_enotdir) {
    KT_SYS_RET(setup(), 0);
    int p[2];
    KT_SYS_RET(pipe(p), 0);
    relative(p[0], ENOTDIR);
    close(p[0]);
    close(p[1]);
    teardown();
}

KT_CASE(relative_path_with_an_fd_that_is_not_open_is_ebadf) {
    KT_SYS_RET(setup(), 0);
    relative(987, EBADF);
    teardown();
}

KT_CASE(relative_path_with_dirfd_minus_1_is_ebadf) {
    KT_SYS_RET(setup(), 0);
    relative(-1, EBADF);
    teardown();
}

KT_CASE(relative_path_with_at_fdcwd_starts_at_the_cwd) {
    KT_SYS_RET(setup(), 0);
    struct stat st;
    KT_SYS_RET(chdir(D), 0);
    errno = 0;
    long a = syscall(SYS_newfstatat, AT_FDCWD, "file", &st, 0);
    long b = syscall(SYS_mkdirat, AT_FDCWD, "new", 0755);
    long c = syscall(SYS_unlinkat, AT_FDCWD, "new", AT_REMOVEDIR);
    chdir("/");
    teardown();
    KT_EQ(a, 0);
    KT_EQ(b, 0);
    KT_EQ(c, 0);
}

KT_MAIN()
