/* File-system operations on the tmpfs of /tmp: rename (and renameat2's
 * flags), hard links, symlinks, chmod/chown, utimensat, truncate, sparse
 * files, directories, open flags on existing files, statfs.
 *
 * fs_ops_ext2.c includes this file with FSOPS_EXT2: the same cases in a
 * directory of an ext2 on /dev/vda (the suite's /ext2.img copied onto the
 * disk and mounted on /fsext2), where Linux's ext2 differs from tmpfs in
 * three places: timestamps are seconds (128-byte inodes), a file's size is
 * at most s_maxbytes (EFBIG beyond), statfs says EXT2_SUPER_MAGIC. */
#include "kt.h"
#include <dirent.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>

#ifdef FSOPS_EXT2
#define BASE "/fsext2"
#else
#define BASE "/tmp"
#endif
#define D BASE "/fsops"

#ifdef FSOPS_EXT2
static unsigned char ext2_img[4 << 20];

/* /ext2.img (4 MiB ext2, 4 KiB blocks, 128-byte inodes) copied onto
 * /dev/vda and mounted on BASE, once: 1 mounted, -1 a step failed (xtask
 * attaches the disk on ours and, with Debian's virtio_blk and ext4
 * modules, under --linux). */
static int ext2_step, ext2_errno;

static int ext2_fail(int step) {
    ext2_step = step;
    ext2_errno = errno;
    return -1;
}

static int ext2_ready(void) {
    static int state = 2;
    if (state != 2) return state;
    state = -1;
    if (mkdir(BASE, 0755) != 0 && errno != EEXIST) return ext2_fail(1);
    int in = open("/ext2.img", O_RDONLY);
    if (in < 0) return ext2_fail(2);
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof ext2_img && (r = read(in, ext2_img + n, sizeof ext2_img - n)) > 0) n += r;
    close(in);
    int d = open("/dev/vda", O_RDWR);
    if (d < 0) return ext2_fail(3);
    for (ssize_t off = 0; off < n;) {
        ssize_t w = pwrite(d, ext2_img + off, n - off, off);
        if (w <= 0) return ext2_fail(4);
        off += w;
    }
    if (fsync(d) != 0) return ext2_fail(5);
    close(d);
    if (mount("/dev/vda", BASE, "ext2", 0, 0) != 0) return ext2_fail(6);
    return state = 1;
}

/* Every case starts with the disk mounted. */
#undef KT_CASE
#define KT_CASE(name)                                                                     \
    static void kt_body_##name(void);                                                     \
    static void kt_case_##name(void);                                                     \
    __attribute__((constructor)) static void kt_reg_##name(void) {                        \
        kt_register(#name, kt_case_##name, __LINE__);                                     \
    }                                                                                     \
    static void kt_case_##name(void) {                                                    \
        int ready_ = ext2_ready();                                                        \
        KT_TRUE(ready_ == 1, "ext2 on /dev/vda: step %d failed: errno %d", ext2_step, ext2_errno); \
        kt_body_##name();                                                                 \
    }                                                                                     \
    static void kt_body_##name(void)
#endif

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif
#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif
#define TMPFS_MAGIC 0x01021994
#define PROC_SUPER_MAGIC 0x9fa0

static int kt_renameat2(const char *a, const char *b, unsigned flags) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

/* Creates `path` holding `text`. */
static int put(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* The content of `path` (at most 255 bytes) in `buf`; -1 on error. */
static int get(const char *path, char *buf) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, 255);
    close(fd);
    if (n < 0) return -1;
    buf[n] = 0;
    return (int)n;
}

/* Removes what the cases leave in D (one level of subdirectories). */
static void clean(void) {
    DIR *d = opendir(D);
    if (!d) return;
    struct dirent *e;
    char p[300], q[600];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", D, e->d_name);
        if (unlink(p) == 0) continue;
        DIR *s = opendir(p);
        if (s) {
            struct dirent *f;
            while ((f = readdir(s))) {
                if (!strcmp(f->d_name, ".") || !strcmp(f->d_name, "..")) continue;
                snprintf(q, sizeof q, "%s/%s", p, f->d_name);
                if (unlink(q) != 0) rmdir(q);
            }
            closedir(s);
        }
        rmdir(p);
    }
    closedir(d);
}

static void fresh(void) {
    clean();
    mkdir(D, 0755);
}

KT_CASE(rename_replaces_a_file_and_keeps_the_inode) {
    fresh();
    KT_SYS_RET(put(D "/a", "aaa"), 0);
    KT_SYS_RET(put(D "/b", "bbbbb"), 0);
    struct stat sa, sb;
    KT_SYS_RET(stat(D "/a", &sa), 0);
    KT_SYS_RET(rename(D "/a", D "/b"), 0);
    KT_SYS_ERR(stat(D "/a", &sb), ENOENT);
    KT_SYS_RET(stat(D "/b", &sb), 0);
    KT_EQ(sb.st_ino, sa.st_ino);
    char buf[256];
    KT_EQ(get(D "/b", buf), 3);
    KT_TRUE(!strcmp(buf, "aaa"), "content %s", buf);
    /* a name onto itself: nothing happens */
    KT_SYS_RET(rename(D "/b", D "/b"), 0);
    KT_SYS_RET(stat(D "/b", &sb), 0);
    KT_SYS_ERR(rename(D "/nothing", D "/c"), ENOENT);
    KT_SYS_ERR(rename(D "/b", D "/nodir/c"), ENOENT);
}

KT_CASE(rename_of_directories_follows_the_rules) {
    fresh();
    KT_SYS_RET(mkdir(D "/d1", 0755), 0);
    KT_SYS_RET(mkdir(D "/d2", 0755), 0);
    KT_SYS_RET(put(D "/f", "x"), 0);
    /* onto an empty directory: replaces it */
    KT_SYS_RET(rename(D "/d1", D "/d2"), 0);
    KT_SYS_ERR(access(D "/d1", F_OK), ENOENT);
    KT_SYS_RET(mkdir(D "/d1", 0755), 0);
    KT_SYS_RET(put(D "/d2/inside", "y"), 0);
    KT_SYS_ERR(rename(D "/d1", D "/d2"), ENOTEMPTY);
    KT_SYS_ERR(rename(D "/f", D "/d1"), EISDIR);
    KT_SYS_ERR(rename(D "/d1", D "/f"), ENOTDIR);
    /* into its own subtree */
    KT_SYS_ERR(rename(D "/d2", D "/d2/sub"), EINVAL);
    KT_SYS_RET(rename(D "/d2", D "/d3"), 0);
    char buf[256];
    KT_EQ(get(D "/d3/inside", buf), 1);
}

KT_CASE(renameat2_noreplace_and_exchange) {
    fresh();
    KT_SYS_RET(put(D "/a", "A"), 0);
    KT_SYS_RET(put(D "/b", "BB"), 0);
    KT_SYS_ERR(kt_renameat2(D "/a", D "/b", RENAME_NOREPLACE), EEXIST);
    char buf[256];
    /* on ext2 too: Debian's Linux mounts ext2 with ext4, whose rename
     * swaps (fs/ext2's own would say EINVAL) */
    KT_SYS_RET(kt_renameat2(D "/a", D "/b", RENAME_EXCHANGE), 0);
    KT_EQ(get(D "/a", buf), 2);
    KT_EQ(get(D "/b", buf), 1);
    KT_SYS_ERR(kt_renameat2(D "/a", D "/none", RENAME_EXCHANGE), ENOENT);
    KT_SYS_ERR(kt_renameat2(D "/a", D "/b", RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL);
    KT_SYS_RET(kt_renameat2(D "/a", D "/c", RENAME_NOREPLACE), 0);
    /* a file and a directory of different parents swap: the parents' link
     * counts and the directory's ".." follow */
    KT_SYS_RET(mkdir(D "/p", 0755), 0);
    KT_SYS_RET(mkdir(D "/p/sub", 0755), 0);
    struct stat st, top;
    KT_SYS_RET(stat(D "/p/sub", &st), 0);
    ino_t sub = st.st_ino;
    KT_SYS_RET(kt_renameat2(D "/c", D "/p/sub", RENAME_EXCHANGE), 0);
    KT_SYS_RET(stat(D "/c", &st), 0);
    KT_EQ(st.st_ino, sub);
    KT_SYS_RET(stat(D "/p/sub", &st), 0);
    KT_TRUE(S_ISREG(st.st_mode), "mode %o", st.st_mode);
    KT_SYS_RET(stat(D "/p", &st), 0);
    KT_EQ(st.st_nlink, 2);
    KT_SYS_RET(stat(D, &top), 0);
    KT_EQ(top.st_nlink, 4);
    KT_SYS_RET(stat(D "/c/..", &st), 0);
    KT_EQ(st.st_ino, top.st_ino);
    /* a directory into its own subtree */
    KT_SYS_RET(mkdir(D "/c/in", 0755), 0);
    KT_SYS_ERR(kt_renameat2(D "/c", D "/c/in", RENAME_EXCHANGE), EINVAL);
}

KT_CASE(hard_links_share_the_inode_and_count) {
    fresh();
    KT_SYS_RET(put(D "/f", "data"), 0);
    KT_SYS_RET(link(D "/f", D "/g"), 0);
    struct stat a, b;
    KT_SYS_RET(stat(D "/f", &a), 0);
    KT_SYS_RET(stat(D "/g", &b), 0);
    KT_EQ(a.st_ino, b.st_ino);
    KT_EQ(a.st_nlink, 2);
    KT_SYS_ERR(link(D "/f", D "/g"), EEXIST);
    KT_SYS_RET(mkdir(D "/d", 0755), 0);
    KT_SYS_ERR(link(D "/d", D "/d2"), EPERM);
    KT_SYS_ERR(link(D "/none", D "/x"), ENOENT);
    KT_SYS_RET(unlink(D "/f"), 0);
    KT_SYS_RET(stat(D "/g", &b), 0);
    KT_EQ(b.st_nlink, 1);
    char buf[256];
    KT_EQ(get(D "/g", buf), 4);
    /* a directory's links: 2, plus one per subdirectory */
    KT_SYS_RET(mkdir(D "/d/s", 0755), 0);
    KT_SYS_RET(stat(D "/d", &a), 0);
    KT_EQ(a.st_nlink, 3);
}

KT_CASE(symlinks_readlink_lstat_and_loops) {
    fresh();
    KT_SYS_RET(put(D "/target", "hello"), 0);
    KT_SYS_RET(symlink("target", D "/ln"), 0);
    char buf[256];
    memset(buf, 0, sizeof buf);
    KT_SYS_RET(readlink(D "/ln", buf, sizeof buf), 6);
    KT_TRUE(!strcmp(buf, "target"), "readlink %s", buf);
    /* a short buffer truncates without a terminator */
    memset(buf, 'z', sizeof buf);
    KT_SYS_RET(readlink(D "/ln", buf, 3), 3);
    KT_EQ(buf[3], 'z');
    struct stat st;
    KT_SYS_RET(lstat(D "/ln", &st), 0);
    KT_TRUE(S_ISLNK(st.st_mode), "mode %o", st.st_mode);
    KT_EQ(st.st_size, 6);
    KT_SYS_RET(stat(D "/ln", &st), 0);
    KT_TRUE(S_ISREG(st.st_mode), "mode %o", st.st_mode);
    KT_EQ(get(D "/ln", buf), 5);
    KT_SYS_ERR(open(D "/ln", O_RDONLY | O_NOFOLLOW), ELOOP);
    KT_SYS_ERR(readlink(D "/target", buf, sizeof buf), EINVAL);
    KT_SYS_RET(symlink("missing", D "/dangling"), 0);
    KT_SYS_ERR(stat(D "/dangling", &st), ENOENT);
    KT_SYS_RET(lstat(D "/dangling", &st), 0);
    KT_SYS_RET(symlink("loop2", D "/loop1"), 0);
    KT_SYS_RET(symlink("loop1", D "/loop2"), 0);
    KT_SYS_ERR(open(D "/loop1", O_RDONLY), ELOOP);
    KT_SYS_ERR(symlink("x", D "/ln"), EEXIST);
    /* O_CREAT through a dangling link creates the target */
    int fd = KT_SYS_OK(open(D "/dangling", O_WRONLY | O_CREAT, 0600));
    close(fd);
    KT_SYS_RET(stat(D "/missing", &st), 0);
}

KT_CASE(chmod_and_chown_change_the_inode) {
    fresh();
    KT_SYS_RET(put(D "/f", "x"), 0);
    KT_SYS_RET(chmod(D "/f", 04751), 0);
    struct stat st;
    KT_SYS_RET(stat(D "/f", &st), 0);
    KT_EQ(st.st_mode & 07777, 04751);
    int fd = KT_SYS_OK(open(D "/f", O_RDONLY));
    KT_SYS_RET(fchmod(fd, 0600), 0);
    KT_SYS_RET(fstat(fd, &st), 0);
    KT_EQ(st.st_mode & 07777, 0600);
    KT_SYS_RET(fchown(fd, 1000, 2000), 0);
    KT_SYS_RET(fstat(fd, &st), 0);
    KT_EQ(st.st_uid, 1000);
    KT_EQ(st.st_gid, 2000);
    /* -1 keeps an id */
    KT_SYS_RET(chown(D "/f", -1, 3000), 0);
    KT_SYS_RET(stat(D "/f", &st), 0);
    KT_EQ(st.st_uid, 1000);
    KT_EQ(st.st_gid, 3000);
    close(fd);
    /* lchown changes the link, chown what it points to */
    KT_SYS_RET(symlink("f", D "/ln"), 0);
    KT_SYS_RET(lchown(D "/ln", 5, 6), 0);
    KT_SYS_RET(lstat(D "/ln", &st), 0);
    KT_EQ(st.st_uid, 5);
    KT_SYS_RET(stat(D "/f", &st), 0);
    KT_EQ(st.st_uid, 1000);
    KT_SYS_ERR(chmod(D "/none", 0644), ENOENT);
}

KT_CASE(utimensat_sets_exact_times_and_omit_keeps) {
    fresh();
    KT_SYS_RET(put(D "/f", "x"), 0);
    struct timespec ts[2] = {{1000000000, 123456789}, {1500000000, 987654321}};
    KT_SYS_RET(utimensat(AT_FDCWD, D "/f", ts, 0), 0);
    struct stat st;
    KT_SYS_RET(stat(D "/f", &st), 0);
    KT_EQ(st.st_atim.tv_sec, 1000000000);
    KT_EQ(st.st_mtim.tv_sec, 1500000000);
#ifdef FSOPS_EXT2
    /* s_time_gran of a 128-byte-inode ext2: one second */
    KT_EQ(st.st_atim.tv_nsec, 0);
    KT_EQ(st.st_mtim.tv_nsec, 0);
#else
    KT_EQ(st.st_atim.tv_nsec, 123456789);
    KT_EQ(st.st_mtim.tv_nsec, 987654321);
#endif
    struct timespec omit[2] = {{0, UTIME_OMIT}, {42, 0}};
    KT_SYS_RET(utimensat(AT_FDCWD, D "/f", omit, 0), 0);
    KT_SYS_RET(stat(D "/f", &st), 0);
    KT_EQ(st.st_atim.tv_sec, 1000000000);
    KT_EQ(st.st_mtim.tv_sec, 42);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    KT_SYS_ERR(utimensat(AT_FDCWD, D "/f", bad, 0), EINVAL);
    /* NULL: now */
    KT_SYS_RET(utimensat(AT_FDCWD, D "/f", 0, 0), 0);
    KT_SYS_RET(stat(D "/f", &st), 0);
    KT_TRUE(st.st_mtim.tv_sec > 1500000000, "mtime %ld", (long)st.st_mtim.tv_sec);
}

KT_CASE(truncate_grows_with_zeros_and_shrinks) {
    fresh();
    KT_SYS_RET(put(D "/f", "abcdef"), 0);
    KT_SYS_RET(truncate(D "/f", 3), 0);
    char buf[256];
    KT_EQ(get(D "/f", buf), 3);
    KT_TRUE(!memcmp(buf, "abc", 3), "content %s", buf);
    KT_SYS_RET(truncate(D "/f", 10), 0);
    KT_EQ(get(D "/f", buf), 10);
    KT_TRUE(!memcmp(buf, "abc\0\0\0\0\0\0\0", 10), "the grown part is not zeros");
    KT_SYS_ERR(truncate(D "/f", -1), EINVAL);
    KT_SYS_ERR(truncate(D, 0), EISDIR);
    int fd = KT_SYS_OK(open(D "/f", O_RDONLY));
    KT_SYS_ERR(ftruncate(fd, 0), EINVAL);
    close(fd);
    fd = KT_SYS_OK(open(D "/f", O_RDWR));
    KT_SYS_RET(ftruncate(fd, 1), 0);
    struct stat st;
    KT_SYS_RET(fstat(fd, &st), 0);
    KT_EQ(st.st_size, 1);
    close(fd);
    /* O_TRUNC */
    fd = KT_SYS_OK(open(D "/f", O_WRONLY | O_TRUNC));
    KT_SYS_RET(fstat(fd, &st), 0);
    KT_EQ(st.st_size, 0);
    close(fd);
}

KT_CASE(sparse_file_reads_zeros_in_the_hole) {
    fresh();
    int fd = KT_SYS_OK(open(D "/sparse", O_RDWR | O_CREAT, 0644));
    KT_SYS_RET(pwrite(fd, "end", 3, 1 << 20), 3);
    struct stat st;
    KT_SYS_RET(fstat(fd, &st), 0);
    KT_EQ(st.st_size, (1 << 20) + 3);
    /* only the written page is stored */
    KT_TRUE(st.st_blocks * 512 < (1 << 20), "st_blocks %ld", (long)st.st_blocks);
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    KT_SYS_RET(pread(fd, buf, sizeof buf, 4096 * 10), 4096);
    for (int i = 0; i < 4096; i++) KT_EQ(buf[i], 0);
    KT_SYS_RET(pread(fd, buf, 10, 1 << 20), 3);
    KT_TRUE(!memcmp(buf, "end", 3), "tail");
    KT_SYS_RET(lseek(fd, 0, SEEK_END), (1 << 20) + 3);
    close(fd);
}

/* 1024 iovecs (UIO_MAXIOV) of 1 MiB each, all over the same buffer: the
 * kernel must not gather 1 GiB before writing; /dev/null takes it all. */
KT_CASE(writev_of_1024_large_iovecs_to_dev_null) {
    size_t len = 1 << 20;
    char *buf = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(buf != MAP_FAILED, "mmap: %s", kt_errname(errno));
    memset(buf, 'w', len);
    static struct iovec iov[1024];
    for (int i = 0; i < 1024; i++) iov[i] = (struct iovec){buf, len};
    int fd = KT_SYS_OK(open("/dev/null", O_WRONLY));
    KT_SYS_RET(writev(fd, iov, 1024), 1L << 30);
    close(fd);
    munmap(buf, len);
}

/* readv fills each iovec before the next, however large: a 2 MiB iovec
 * then 16 bytes take the file's bytes 0..2 MiB+16 in order. */
KT_CASE(readv_fills_a_large_iovec_before_the_next) {
    fresh();
    size_t big = 2 << 20, page = 4096;
    char *buf = mmap(0, big + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(buf != MAP_FAILED, "mmap: %s", kt_errname(errno));
    for (size_t i = 0; i < big + page; i++) buf[i] = (char)(i / page * 7 + 1);
    int fd = KT_SYS_OK(open(D "/big", O_RDWR | O_CREAT, 0644));
    for (size_t done = 0; done < big + page;) done += KT_SYS_OK(write(fd, buf + done, big + page - done));
    KT_SYS_RET(lseek(fd, 0, SEEK_SET), 0);
    char *a = mmap(0, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(a != MAP_FAILED, "mmap: %s", kt_errname(errno));
    char b[16];
    struct iovec iov[2] = {{a, big}, {b, sizeof b}};
    KT_SYS_RET(readv(fd, iov, 2), (long)(big + sizeof b));
    KT_TRUE(!memcmp(a, buf, big), "the first iovec holds the first 2 MiB");
    KT_TRUE(!memcmp(b, buf + big, sizeof b), "the second iovec holds the bytes at 2 MiB");
    close(fd);
    unlink(D "/big");
    munmap(a, big);
    munmap(buf, big + page);
}

/* A pipe holding 10 bytes, read with two iovecs of 10: readv returns the
 * 10 bytes at once instead of waiting for more to fill the second one. */
KT_CASE(readv_from_a_pipe_returns_what_it_holds) {
    int p[2];
    KT_SYS_RET(pipe(p), 0);
    KT_SYS_RET(write(p[1], "0123456789", 10), 10);
    char a[10], b[10];
    struct iovec iov[2] = {{a, sizeof a}, {b, sizeof b}};
    alarm(5); /* a hang ends the program instead of the suite */
    KT_SYS_RET(readv(p[0], iov, 2), 10);
    alarm(0);
    KT_TRUE(!memcmp(a, "0123456789", 10), "contents");
    close(p[0]);
    close(p[1]);
}

KT_CASE(directories_mkdir_rmdir_unlink_errors) {
    fresh();
    KT_SYS_RET(mkdir(D "/d", 0755), 0);
    KT_SYS_ERR(mkdir(D "/d", 0755), EEXIST);
    KT_SYS_RET(put(D "/d/f", "x"), 0);
    KT_SYS_ERR(rmdir(D "/d"), ENOTEMPTY);
    KT_SYS_ERR(unlink(D "/d"), EISDIR);
    KT_SYS_ERR(rmdir(D "/d/f"), ENOTDIR);
    KT_SYS_ERR(rmdir(D "/d/."), EINVAL);
    KT_SYS_ERR(mkdir(D "/none/d", 0755), ENOENT);
    KT_SYS_ERR(mkdir(D "/d/f/x", 0755), ENOTDIR);
    KT_SYS_RET(unlink(D "/d/f"), 0);
    KT_SYS_RET(rmdir(D "/d"), 0);
    KT_SYS_ERR(rmdir(D "/d"), ENOENT);
    /* the umask applies to mkdir and open(O_CREAT) */
    mode_t old = umask(027);
    KT_SYS_RET(mkdir(D "/m", 0777), 0);
    int fd = KT_SYS_OK(open(D "/m/f", O_CREAT | O_WRONLY, 0666));
    close(fd);
    umask(old);
    struct stat st;
    KT_SYS_RET(stat(D "/m", &st), 0);
    KT_EQ(st.st_mode & 0777, 0750);
    KT_SYS_RET(stat(D "/m/f", &st), 0);
    KT_EQ(st.st_mode & 0777, 0640);
}

KT_CASE(open_flags_on_existing_names) {
    fresh();
    KT_SYS_RET(put(D "/f", "x"), 0);
    KT_SYS_ERR(open(D "/f", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    KT_SYS_ERR(open(D "/f", O_RDONLY | O_DIRECTORY), ENOTDIR);
    KT_SYS_ERR(open(D, O_WRONLY), EISDIR);
    KT_SYS_ERR(open(D, O_RDWR), EISDIR);
    KT_SYS_ERR(open(D "/f/x", O_RDONLY), ENOTDIR);
    KT_SYS_ERR(open(D "/none", O_RDONLY), ENOENT);
    KT_SYS_ERR(open("", O_RDONLY), ENOENT);
    int fd = KT_SYS_OK(open(D, O_RDONLY | O_DIRECTORY));
    close(fd);
    /* O_APPEND writes at the end whatever the offset */
    fd = KT_SYS_OK(open(D "/f", O_WRONLY | O_APPEND));
    KT_SYS_RET(lseek(fd, 0, SEEK_SET), 0);
    KT_SYS_RET(write(fd, "yz", 2), 2);
    close(fd);
    char buf[256];
    KT_EQ(get(D "/f", buf), 3);
    KT_TRUE(!strcmp(buf, "xyz"), "content %s", buf);
}

KT_CASE(statfs_reports_the_filesystem_type) {
    struct statfs s;
    KT_SYS_RET(statfs(BASE, &s), 0);
#ifdef FSOPS_EXT2
    KT_EQ(s.f_type, 0xEF53);
#else
    KT_EQ(s.f_type, TMPFS_MAGIC);
#endif
    KT_TRUE(s.f_bsize > 0 && s.f_blocks > 0, "bsize %ld blocks %ld", (long)s.f_bsize, (long)s.f_blocks);
    KT_TRUE(s.f_bfree <= s.f_blocks, "bfree %ld blocks %ld", (long)s.f_bfree, (long)s.f_blocks);
    KT_EQ(s.f_namelen, 255);
    KT_SYS_RET(statfs("/proc", &s), 0);
    KT_EQ(s.f_type, PROC_SUPER_MAGIC);
    KT_SYS_ERR(statfs("/none", &s), ENOENT);
    clean();
    rmdir(D);
}

/* ---- edge arguments (a second audit of what user programs can pass) ---- */
#define E BASE "/fsedge"

KT_CASE(sparse_file_of_2_62_bytes_and_offsets_near_the_limit) {
    mkdir(E, 0755);
    int fd = KT_SYS_OK(open(E "/sparse", O_CREAT | O_RDWR | O_TRUNC, 0644));
    KT_SYS_ERR(ftruncate(fd, -1), EINVAL);
#ifdef FSOPS_EXT2
    /* past s_maxbytes (about 2 TiB with 4 KiB blocks): EFBIG */
    KT_SYS_ERR(ftruncate(fd, 1LL << 62), EFBIG);
    KT_SYS_ERR(pwrite(fd, "x", 1, 1LL << 62), EFBIG);
    KT_SYS_RET(ftruncate(fd, 1LL << 40), 0);
    struct stat st;
    KT_SYS_RET(fstat(fd, &st), 0);
    KT_EQ(st.st_size, 1LL << 40);
    KT_SYS_RET(pwrite(fd, "x", 1, (1LL << 40) + 5), 1);
    char b[4] = {1, 1, 1, 1};
    KT_SYS_RET(pread(fd, b, 4, 1LL << 39), 4);
    KT_TRUE(b[0] == 0 && b[3] == 0, "hole reads %d %d", b[0], b[3]);
    KT_SYS_RET(pread(fd, b, 4, (1LL << 40) + 5), 1);
    KT_EQ(b[0], 'x');
#else
    KT_SYS_RET(ftruncate(fd, 1LL << 62), 0);
    struct stat st;
    KT_SYS_RET(fstat(fd, &st), 0);
    KT_EQ(st.st_size, 1LL << 62);
    KT_SYS_RET(pwrite(fd, "x", 1, (1LL << 62) + 5), 1);
    char b[4] = {1, 1, 1, 1};
    KT_SYS_RET(pread(fd, b, 4, 1LL << 61), 4);
    KT_TRUE(b[0] == 0 && b[3] == 0, "hole reads %d %d", b[0], b[3]);
    KT_SYS_RET(pread(fd, b, 4, (1LL << 62) + 5), 1);
    KT_EQ(b[0], 'x');
#endif
    /* offset + count past LLONG_MAX */
    KT_SYS_ERR(pwrite(fd, "x", 2, LLONG_MAX - 1), EINVAL);
    KT_SYS_ERR(pread(fd, b, 2, LLONG_MAX - 1), EINVAL);
    KT_SYS_ERR(pread(fd, b, 1, -1), EINVAL);
#ifdef FSOPS_EXT2
    /* generic_file_llseek stops at s_maxbytes */
    KT_SYS_ERR(lseek(fd, LLONG_MAX, SEEK_SET), EINVAL);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), 0);
#else
    KT_SYS_RET(lseek(fd, LLONG_MAX, SEEK_SET), LLONG_MAX);
    KT_SYS_ERR(lseek(fd, 1, SEEK_CUR), EINVAL);
    KT_SYS_ERR(read(fd, b, 1), EINVAL);
#endif
    KT_SYS_ERR(lseek(fd, LLONG_MIN, SEEK_END), EINVAL);
    KT_SYS_ERR(lseek(fd, 0, 7), EINVAL);
    KT_SYS_RET(ftruncate(fd, 0), 0);
    close(fd);
    KT_SYS_RET(unlink(E "/sparse"), 0);
}

KT_CASE(read_into_a_bad_buffer_is_efault_and_consumes_nothing) {
    mkdir(E, 0755);
    int fd = KT_SYS_OK(open(E "/f", O_CREAT | O_RDWR | O_TRUNC, 0644));
    KT_SYS_RET(write(fd, "abc", 3), 3);
    KT_SYS_RET(lseek(fd, 0, SEEK_SET), 0);
    KT_SYS_ERR(read(fd, (void *)8, 3), EFAULT);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), 0);
    /* a count no user buffer can have: access_ok() fails first */
    char b[8];
    KT_SYS_ERR(read(fd, b, SIZE_MAX), EFAULT);
    KT_SYS_ERR(write(fd, b, SIZE_MAX), EFAULT);
    KT_SYS_ERR(pread(fd, b, SIZE_MAX, 0), EFAULT);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), 0);
    KT_SYS_RET(read(fd, b, 8), 3);
    close(fd);
    unlink(E "/f");
}

KT_CASE(getdents64_into_a_bad_buffer_keeps_the_position) {
    mkdir(E, 0755);
    int fd = KT_SYS_OK(open(E, O_RDONLY | O_DIRECTORY));
    KT_SYS_ERR(syscall(SYS_getdents64, fd, (void *)8, 4096), EFAULT);
    char buf[4096], again[4096];
    long n = KT_SYS_OK(syscall(SYS_getdents64, fd, buf, sizeof buf));
    KT_TRUE(n > 19, "n %ld", n);
    /* "." and ".." (tmpfs lists "." first; ext4, which serves ext2 mounts
     * in Debian's Linux, lists a small directory in hash order) */
    KT_TRUE(!strcmp(buf + 19, ".") || !strcmp(buf + 19, ".."), "first entry %.8s", buf + 19);
    /* the same entries as a read from the start: the EFAULT moved nothing */
    KT_SYS_RET(lseek(fd, 0, SEEK_SET), 0);
    KT_SYS_RET(syscall(SYS_getdents64, fd, again, sizeof again), n);
    KT_TRUE(!memcmp(buf, again, (size_t)n), "entries differ after the EFAULT");
    /* too small for one entry */
    KT_SYS_RET(lseek(fd, 0, SEEK_SET), 0);
    KT_SYS_ERR(syscall(SYS_getdents64, fd, buf, 8), EINVAL);
    close(fd);
}

KT_CASE(getcwd_with_size_0_or_1_is_erange) {
    char b[4];
    KT_SYS_ERR(syscall(SYS_getcwd, b, 0), ERANGE);
    KT_SYS_ERR(syscall(SYS_getcwd, b, 1), ERANGE);
    KT_SYS_ERR(syscall(SYS_getcwd, (void *)8, 4096), EFAULT);
}

KT_CASE(renameat2_utimensat_fchownat_reject_bad_flags) {
    mkdir(E, 0755);
    int fd = KT_SYS_OK(open(E "/a", O_CREAT | O_RDWR, 0644));
    close(fd);
    KT_SYS_ERR(syscall(SYS_renameat2, AT_FDCWD, E "/a", AT_FDCWD, E "/b", 1 << 5), EINVAL);
    /* RENAME_EXCHANGE with RENAME_NOREPLACE */
    KT_SYS_ERR(syscall(SYS_renameat2, AT_FDCWD, E "/a", AT_FDCWD, E "/b", 3), EINVAL);
    struct timespec ts[2] = {{0, 2000000000L}, {0, 0}};
    KT_SYS_ERR(utimensat(AT_FDCWD, E "/a", ts, 0), EINVAL);
    ts[0].tv_nsec = -5;
    KT_SYS_ERR(utimensat(AT_FDCWD, E "/a", ts, 0), EINVAL);
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_nsec = UTIME_NOW;
    KT_SYS_RET(utimensat(AT_FDCWD, E "/a", ts, 0), 0);
    KT_SYS_ERR(utimensat(AT_FDCWD, E "/a", ts, 0x8000), EINVAL);
    KT_SYS_ERR(fchownat(AT_FDCWD, E "/a", 0, 0, 0x8000), EINVAL);
    KT_SYS_ERR(fchmodat(AT_FDCWD, E "/a", 0644, 0x8000), EINVAL);
    unlink(E "/a");
    rmdir(E);
}

/* chroot(2): absolute paths and ".." stop at the new root, the working
 * directory stays (getcwd says "(unreachable)"), errors in Linux's order. */
#define J BASE "/jail"
KT_CASE(chroot_jails_absolute_paths_and_dotdot) {
    mkdir(J, 0755);
    mkdir(J "/locked", 0700);
    mkdir(J "/locked/sub", 0755);
    KT_SYS_RET(put(J "/inside", "in"), 0);
    KT_SYS_ERR(chroot(J "/inside"), ENOTDIR);
    KT_SYS_ERR(chroot(J "/nope"), ENOENT);
    pid_t c = KT_FORK();
    if (c == 0) {
        if (chdir("/") != 0) _exit(9);
        if (chroot(J) != 0) _exit(10);
        char b[256];
        if (get("/inside", b) != 2 || strcmp(b, "in") != 0) _exit(11);
        if (get("/../../inside", b) != 2) _exit(12);
        long n = syscall(SYS_getcwd, b, sizeof b);
        if (n != 15 || strcmp(b, "(unreachable)/") != 0) _exit(13);
        if (chdir("/..") != 0) _exit(14);
        n = syscall(SYS_getcwd, b, sizeof b);
        if (n != 2 || strcmp(b, "/") != 0) _exit(15);
        if (access("/inside", F_OK) != 0) _exit(16);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    c = KT_FORK();
    if (c == 0) { /* a user: EACCES (no search permission) before EPERM */
        if (setuid(65534) != 0) _exit(10);
        if (chroot(J "/locked/sub") != -1 || errno != EACCES) _exit(11);
        if (chroot(J) != -1 || errno != EPERM) _exit(12);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    unlink(J "/inside");
    rmdir(J "/locked/sub");
    rmdir(J "/locked");
    rmdir(J);
}

/* O_DIRECT: a disk filesystem's regular files take it (open and F_SETFL),
 * tmpfs's do not (Linux 6.1), directories on neither. */
KT_CASE(o_direct_on_regular_files) {
    mkdir(E, 0755);
    int fd = open(E "/od", O_CREAT | O_RDWR | O_DIRECT, 0644);
#ifdef FSOPS_EXT2
    KT_TRUE(fd >= 0, "open O_DIRECT on ext2: errno %d", errno);
    KT_EQ(fcntl(fd, F_GETFL) & O_DIRECT, O_DIRECT);
    KT_SYS_RET(fcntl(fd, F_SETFL, 0), 0);
    KT_EQ(fcntl(fd, F_GETFL) & O_DIRECT, 0);
    KT_SYS_RET(fcntl(fd, F_SETFL, O_DIRECT), 0);
    close(fd);
#else
    KT_TRUE(fd == -1 && errno == EINVAL, "open O_DIRECT on tmpfs: %d errno %d", fd, errno);
    /* the file was created before the open failed, as on Linux */
    KT_SYS_RET(access(E "/od", F_OK), 0);
#endif
    KT_SYS_ERR(open(E, O_RDONLY | O_DIRECTORY | O_DIRECT), EINVAL);
    unlink(E "/od");
    rmdir(E);
}

/* O_TMPFILE (ext2 as tmpfs, Linux's ext2_tmpfile/shmem_tmpfile): an
 * unnamed inode with link count 0 that takes an inode of the filesystem
 * while open, named once by linkat(AT_EMPTY_PATH) or through /proc, and
 * freed at its last close when never named (the free inode count back). */
KT_CASE(o_tmpfile_links_once_and_frees_at_close) {
    mkdir(E, 0755);
    struct statfs s0, s1, s2;
    KT_SYS_RET(statfs(E, &s0), 0);
    int fd = KT_SYS_OK(open(E, O_TMPFILE | O_RDWR, 0640));
    struct stat st;
    KT_SYS_RET(fstat(fd, &st), 0);
    KT_EQ(st.st_nlink, 0);
    KT_EQ(st.st_mode, S_IFREG | 0640);
    KT_SYS_RET(write(fd, "hello", 5), 5);
    KT_SYS_RET(statfs(E, &s1), 0);
    KT_EQ(s1.f_ffree, s0.f_ffree - 1);
    KT_SYS_RET(linkat(fd, "", AT_FDCWD, E "/named", AT_EMPTY_PATH), 0);
    KT_SYS_RET(fstat(fd, &st), 0);
    KT_EQ(st.st_nlink, 1);
    char buf[256];
    KT_EQ(get(E "/named", buf), 5);
    KT_EQ(memcmp(buf, "hello", 5), 0);
    /* named and unnamed again: no second name */
    KT_SYS_RET(unlink(E "/named"), 0);
    KT_SYS_ERR(linkat(fd, "", AT_FDCWD, E "/again", AT_EMPTY_PATH), ENOENT);
    close(fd);
    /* through /proc/self/fd with AT_SYMLINK_FOLLOW */
    fd = KT_SYS_OK(open(E, O_TMPFILE | O_WRONLY, 0600));
    KT_SYS_RET(write(fd, "abc", 3), 3);
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    KT_SYS_RET(linkat(AT_FDCWD, p, AT_FDCWD, E "/viaproc", AT_SYMLINK_FOLLOW), 0);
    close(fd);
    KT_EQ(get(E "/viaproc", buf), 3);
    KT_SYS_RET(unlink(E "/viaproc"), 0);
    /* O_EXCL: never named; gone at close */
    fd = KT_SYS_OK(open(E, O_TMPFILE | O_RDWR | O_EXCL, 0600));
    KT_SYS_RET(write(fd, "xyz", 3), 3);
    KT_SYS_ERR(linkat(fd, "", AT_FDCWD, E "/excl", AT_EMPTY_PATH), ENOENT);
    KT_SYS_RET(pread(fd, buf, 3, 0), 3);
    close(fd);
    KT_SYS_RET(statfs(E, &s2), 0);
    KT_EQ(s2.f_ffree, s0.f_ffree);
    KT_SYS_ERR(open(E, O_TMPFILE | O_RDONLY, 0600), EINVAL);
    rmdir(E);
}

#ifdef FSOPS_EXT2
/* O_DIRECT I/O on ext2 (Linux 6.1 serves it with the ext4 driver, whose
 * direct I/O is iomap's): the position, each buffer's address and each
 * buffer's length must be multiples of the disk's logical block size (512
 * bytes), else EINVAL and nothing moves; a zero length, and a read at or
 * past the end of the file, return 0 before that check. */
static unsigned char dio_buf[3 * 4096] __attribute__((aligned(4096)));

KT_CASE(o_direct_io_needs_512_byte_alignment) {
    mkdir(E, 0755);
    int w = KT_SYS_OK(open(E "/dio", O_CREAT | O_RDWR | O_TRUNC, 0644));
    memset(dio_buf, 'a', 8192);
    KT_SYS_RET(write(w, dio_buf, 8192), 8192);
    KT_SYS_RET(fsync(w), 0);
    close(w);
    int fd = KT_SYS_OK(open(E "/dio", O_RDWR | O_DIRECT));
    KT_SYS_RET(pread(fd, dio_buf, 4096, 0), 4096);
    KT_SYS_RET(pread(fd, dio_buf, 512, 512), 512);
    KT_SYS_RET(pread(fd, dio_buf + 512, 1024, 7168), 1024);
    KT_SYS_ERR(pread(fd, dio_buf, 512, 100), EINVAL);
    KT_SYS_ERR(pread(fd, dio_buf, 100, 0), EINVAL);
    KT_SYS_ERR(pread(fd, dio_buf + 1, 512, 0), EINVAL);
    KT_SYS_ERR(pread(fd, dio_buf + 256, 512, 0), EINVAL);
    KT_SYS_RET(pread(fd, dio_buf + 1, 0, 100), 0);
    KT_SYS_RET(pread(fd, dio_buf + 1, 100, 8192), 0);
    KT_SYS_RET(pread(fd, dio_buf + 1, 100, 10001), 0);
    /* readv: every iovec's address and length (up to the total) */
    struct iovec v[2] = {{dio_buf, 512}, {dio_buf + 4096, 100}};
    KT_SYS_RET(lseek(fd, 0, SEEK_SET), 0);
    KT_SYS_ERR(readv(fd, v, 2), EINVAL);
    v[1].iov_base = dio_buf + 4097;
    v[1].iov_len = 512;
    KT_SYS_ERR(readv(fd, v, 2), EINVAL);
    v[1].iov_base = dio_buf + 4096;
    KT_SYS_RET(readv(fd, v, 2), 1024);
    /* read(2) and write(2) at the file offset: the offset stays */
    KT_SYS_RET(lseek(fd, 3, SEEK_SET), 3);
    KT_SYS_ERR(read(fd, dio_buf, 512), EINVAL);
    KT_SYS_ERR(write(fd, dio_buf, 512), EINVAL);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), 3);
    /* writes: nothing of a refused one reaches the file */
    memset(dio_buf, 'b', 4096);
    KT_SYS_ERR(pwrite(fd, dio_buf, 512, 100), EINVAL);
    KT_SYS_ERR(pwrite(fd, dio_buf, 100, 0), EINVAL);
    KT_SYS_ERR(pwrite(fd, dio_buf + 1, 512, 0), EINVAL);
    KT_SYS_RET(pwrite(fd, dio_buf + 1, 0, 100), 0);
    KT_SYS_RET(pwrite(fd, dio_buf, 512, 512), 512);
    KT_SYS_RET(pwrite(fd, dio_buf, 512, 8192), 512);
    close(fd);
    char got[256];
    int r = KT_SYS_OK(open(E "/dio", O_RDONLY));
    KT_SYS_RET(pread(r, got, 4, 0), 4);
    KT_EQ(memcmp(got, "aaaa", 4), 0);
    KT_SYS_RET(pread(r, got, 4, 510), 4);
    KT_EQ(memcmp(got, "aabb", 4), 0);
    KT_SYS_RET(pread(r, got, 4, 1022), 4);
    KT_EQ(memcmp(got, "bbaa", 4), 0);
    struct stat st;
    KT_SYS_RET(fstat(r, &st), 0);
    KT_EQ(st.st_size, 8704);
    close(r);
    unlink(E "/dio");
    rmdir(E);
}

/* The disk is left as e2fsck wants it: everything removed, unmounted. */
KT_CASE(ext2_left_empty_and_unmounted) {
    clean();
    rmdir(D);
    rmdir(E);
    KT_SYS_RET(umount(BASE), 0);
}
#endif

KT_MAIN()
