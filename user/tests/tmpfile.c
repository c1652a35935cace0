/* open(dir, O_TMPFILE) (Linux's do_tmpfile): an unnamed regular file on
 * the directory's filesystem with link count 0 and the umask applied to
 * its mode; /proc/self/fd/N reads "/dir/#<ino> (deleted)". Without
 * O_EXCL, linkat(fd, "", dir, name, AT_EMPTY_PATH) (root only: ENOENT
 * without CAP_DAC_READ_SEARCH) or linkat through /proc/self/fd/N with
 * AT_SYMLINK_FOLLOW gives it a name once (link count 1, the data kept);
 * with O_EXCL both are ENOENT. Errors: EINVAL without write access, with
 * O_CREAT or without O_DIRECTORY; ENOTDIR for a file (or a symbolic link
 * with O_NOFOLLOW); ENOENT for a missing path; EACCES without write
 * permission on the directory; EOPNOTSUPP on procfs. */
#include "kt.h"

#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif
#define TMPFILE_BIT 020000000

static void fd_path(int fd, char *out, size_t n) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t r = readlink(link, out, n - 1);
    out[r < 0 ? 0 : r] = 0;
}

KT_CASE(tmpfile_is_unnamed_with_nlink_0_and_the_umask) {
    mode_t old = umask(027);
    int fd = open("/tmp", O_TMPFILE | O_RDWR, 0666);
    umask(old);
    KT_SYS_OK(fd);
    struct stat st;
    KT_SYS_OK(fstat(fd, &st));
    KT_TRUE(S_ISREG(st.st_mode), "mode %o", st.st_mode);
    KT_EQ(st.st_mode & 07777, 0640);
    KT_EQ(st.st_nlink, 0);
    KT_EQ(st.st_size, 0);
    KT_EQ(st.st_uid, getuid());
    struct stat dir;
    KT_SYS_OK(stat("/tmp", &dir));
    KT_EQ(st.st_dev, dir.st_dev);
    KT_SYS_RET(write(fd, "hello", 5), 5);
    char buf[16] = {0};
    KT_SYS_RET(pread(fd, buf, sizeof buf, 0), 5);
    KT_EQ(memcmp(buf, "hello", 5), 0);
    char got[128], want[128];
    fd_path(fd, got, sizeof got);
    snprintf(want, sizeof want, "/tmp/#%lu (deleted)", (unsigned long)st.st_ino);
    KT_TRUE(strcmp(got, want) == 0, "got '%s' want '%s'", got, want);
    KT_SYS_OK(close(fd));
    /* O_WRONLY is enough; a descriptor of the directory works as well */
    int d = KT_SYS_OK(open("/tmp", O_RDONLY | O_DIRECTORY));
    fd = KT_SYS_OK(openat(d, ".", O_TMPFILE | O_WRONLY, 0600));
    KT_SYS_RET(write(fd, "x", 1), 1);
    KT_SYS_ERR(read(fd, buf, 1), EBADF);
    close(fd);
    close(d);
    /* Python's tempfile.TemporaryFile: O_EXCL | O_NOFOLLOW | O_CLOEXEC */
    fd = KT_SYS_OK(open("/tmp", O_TMPFILE | O_RDWR | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    KT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    KT_SYS_RET(write(fd, "abc", 3), 3);
    KT_SYS_RET(lseek(fd, 0, SEEK_SET), 0);
    KT_SYS_RET(read(fd, buf, sizeof buf), 3);
    close(fd);
}

KT_CASE(linkat_empty_path_names_it_once) {
    unlink("/tmp/tmpfile.a");
    unlink("/tmp/tmpfile.b");
    int fd = KT_SYS_OK(open("/tmp", O_TMPFILE | O_RDWR, 0600));
    KT_SYS_RET(write(fd, "hello", 5), 5);
    KT_SYS_OK(linkat(fd, "", AT_FDCWD, "/tmp/tmpfile.a", AT_EMPTY_PATH));
    struct stat st, named;
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_nlink, 1);
    KT_SYS_OK(stat("/tmp/tmpfile.a", &named));
    KT_EQ(named.st_ino, st.st_ino);
    KT_EQ(named.st_size, 5);
    /* the descriptor's path stays the unnamed one; F_GETFL shows O_TMPFILE */
    char got[128], want[128];
    fd_path(fd, got, sizeof got);
    snprintf(want, sizeof want, "/tmp/#%lu (deleted)", (unsigned long)st.st_ino);
    KT_TRUE(strcmp(got, want) == 0, "got '%s' want '%s'", got, want);
    KT_EQ(fcntl(fd, F_GETFL) & (O_TMPFILE | O_ACCMODE), O_TMPFILE | O_RDWR);
    /* an existing name is EEXIST; a second name is an ordinary link */
    KT_SYS_ERR(linkat(fd, "", AT_FDCWD, "/tmp/tmpfile.a", AT_EMPTY_PATH), EEXIST);
    KT_SYS_OK(linkat(fd, "", AT_FDCWD, "/tmp/tmpfile.b", AT_EMPTY_PATH));
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_nlink, 2);
    KT_SYS_OK(close(fd));
    /* the data survives the descriptor */
    fd = KT_SYS_OK(open("/tmp/tmpfile.a", O_RDONLY));
    char buf[16] = {0};
    KT_SYS_RET(read(fd, buf, sizeof buf), 5);
    KT_EQ(memcmp(buf, "hello", 5), 0);
    /* once named and unlinked again it cannot be linked any more */
    KT_SYS_OK(unlink("/tmp/tmpfile.a"));
    KT_SYS_OK(unlink("/tmp/tmpfile.b"));
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_nlink, 0);
    KT_SYS_ERR(linkat(fd, "", AT_FDCWD, "/tmp/tmpfile.a", AT_EMPTY_PATH), ENOENT);
    close(fd);
}

KT_CASE(linkat_through_proc_self_fd_follows) {
    unlink("/tmp/tmpfile.c");
    int fd = KT_SYS_OK(open("/tmp", O_TMPFILE | O_RDWR, 0600));
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    /* without AT_SYMLINK_FOLLOW the magic link itself is named: procfs
     * is another filesystem */
    KT_SYS_ERR(linkat(AT_FDCWD, link, AT_FDCWD, "/tmp/tmpfile.c", 0), EXDEV);
    KT_SYS_OK(linkat(AT_FDCWD, link, AT_FDCWD, "/tmp/tmpfile.c", AT_SYMLINK_FOLLOW));
    /* writes after the link show under the name */
    KT_SYS_RET(write(fd, "data", 4), 4);
    struct stat st;
    KT_SYS_OK(stat("/tmp/tmpfile.c", &st));
    KT_EQ(st.st_size, 4);
    KT_EQ(st.st_nlink, 1);
    close(fd);
    KT_SYS_OK(unlink("/tmp/tmpfile.c"));
}

KT_CASE(o_excl_refuses_any_link) {
    int fd = KT_SYS_OK(open("/tmp", O_TMPFILE | O_RDWR | O_EXCL, 0600));
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    KT_SYS_ERR(linkat(fd, "", AT_FDCWD, "/tmp/tmpfile.d", AT_EMPTY_PATH), ENOENT);
    KT_SYS_ERR(linkat(AT_FDCWD, link, AT_FDCWD, "/tmp/tmpfile.d", AT_SYMLINK_FOLLOW), ENOENT);
    KT_SYS_ERR(access("/tmp/tmpfile.d", F_OK), ENOENT);
    struct stat st;
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_nlink, 0);
    close(fd);
}

KT_CASE(tmpfile_errors) {
    KT_SYS_ERR(open("/tmp", O_TMPFILE | O_RDONLY, 0600), EINVAL);
    KT_SYS_ERR(open("/tmp", TMPFILE_BIT | O_RDWR, 0600), EINVAL);
    KT_SYS_ERR(open("/tmp", O_TMPFILE | O_CREAT | O_RDWR, 0600), EINVAL);
    KT_SYS_ERR(open("/tmp/tmpfile.none/x", O_TMPFILE | O_RDWR, 0600), ENOENT);
    KT_SYS_ERR(open("/tmp/tmpfile.none", O_TMPFILE | O_RDWR, 0600), ENOENT);
    int f = KT_SYS_OK(open("/tmp/tmpfile.reg", O_CREAT | O_RDWR | O_TRUNC, 0600));
    close(f);
    KT_SYS_ERR(open("/tmp/tmpfile.reg", O_TMPFILE | O_RDWR, 0600), ENOTDIR);
    KT_SYS_OK(unlink("/tmp/tmpfile.reg"));
    unlink("/tmp/tmpfile.lnk");
    KT_SYS_OK(symlink("/tmp", "/tmp/tmpfile.lnk"));
    int fd = KT_SYS_OK(open("/tmp/tmpfile.lnk", O_TMPFILE | O_RDWR, 0600));
    close(fd);
    KT_SYS_ERR(open("/tmp/tmpfile.lnk", O_TMPFILE | O_RDWR | O_NOFOLLOW, 0600), ENOTDIR);
    KT_SYS_OK(unlink("/tmp/tmpfile.lnk"));
    KT_SYS_ERR(open("/proc", O_TMPFILE | O_RDWR, 0600), EOPNOTSUPP);
    /* linkat's flags are checked */
    fd = KT_SYS_OK(open("/tmp", O_TMPFILE | O_RDWR, 0600));
    KT_SYS_ERR(linkat(fd, "", AT_FDCWD, "/tmp/tmpfile.e", AT_EMPTY_PATH | 0x8000), EINVAL);
    KT_SYS_ERR(linkat(fd, "", AT_FDCWD, "/tmp/tmpfile.e", 0), ENOENT);
    close(fd);
}

KT_CASE(tmpfile_as_an_ordinary_user) {
    KT_SYS_OK(mkdir("/tmp/tmpfile.ro", 0755));
    pid_t pid = KT_FORK();
    if (pid == 0) {
        KT_SYS_OK(setgid(1000));
        KT_SYS_OK(setuid(1000));
        KT_SYS_ERR(open("/tmp/tmpfile.ro", O_TMPFILE | O_RDWR, 0600), EACCES);
        int fd = KT_SYS_OK(open("/tmp", O_TMPFILE | O_RDWR, 0600));
        struct stat st;
        KT_SYS_OK(fstat(fd, &st));
        KT_EQ(st.st_uid, 1000);
        KT_EQ(st.st_gid, 1000);
        /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH */
        KT_SYS_ERR(linkat(fd, "", AT_FDCWD, "/tmp/tmpfile.u", AT_EMPTY_PATH), ENOENT);
        _exit(0);
    }
    KT_WAIT_STATUS(pid, 0);
    KT_SYS_OK(rmdir("/tmp/tmpfile.ro"));
}

KT_MAIN()
