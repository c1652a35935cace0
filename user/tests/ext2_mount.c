/* ext2 on the block device /dev/vda mounted in the VFS: mount(2) and
 * umount2(2), statfs against the image's superblock, the namespace calls,
 * attributes, a sparse file, ENOSPC, EBUSY while a file is open, a
 * read-only mount, 10,000 names in a directory, and what survives an
 * umount and a new mount.
 *
 * Each case copies /ext2.img (a 4 MiB ext2 with 4 KiB blocks, 128-byte
 * inodes and 10,240 inodes that xtask makes with mke2fs and puts in the
 * suite's initramfs) onto the disk and mounts it on /ext2mnt. On our
 * kernel `cargo xtask test` attaches a 4 MiB scratch disk: a missing disk
 * fails. Under --linux the same disk is attached and Debian's virtio_blk
 * and ext4 (which serves ext2 mounts) modules are loaded by /init. */
#include "kt.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <dirent.h>

#define DISK "/dev/vda"
#define IMAGE "/ext2.img"
#define MNT "/ext2mnt"
#define IMG_SIZE (4L << 20)

static unsigned char img[IMG_SIZE];
static unsigned char buf[256 << 10];

static unsigned le32(const unsigned char *p) {
    return p[0] | p[1] << 8 | p[2] << 16 | (unsigned)p[3] << 24;
}

/* A fresh copy of the image on the disk, mounted with `flags`: 0, -2
 * without a disk, else the failing step (errno kept). */
static int prepare(unsigned long flags) {
    umount2(MNT, 0);
    if (mkdir(MNT, 0755) != 0 && errno != EEXIST) return 1;
    int in = open(IMAGE, O_RDONLY);
    if (in < 0) return 2;
    ssize_t n = 0, r;
    while (n < IMG_SIZE && (r = read(in, img + n, IMG_SIZE - n)) > 0) n += r;
    close(in);
    if (n != IMG_SIZE) return 3;
    int d = open(DISK, O_RDWR);
    if (d < 0) return errno == ENOENT ? -2 : 4;
    for (long off = 0; off < IMG_SIZE;) {
        ssize_t w = pwrite(d, img + off, IMG_SIZE - off, off);
        if (w <= 0) return 5;
        off += w;
    }
    if (fsync(d) != 0) return 6;
    close(d);
    if (mount(DISK, MNT, "ext2", flags, 0) != 0) return 7;
    return 0;
}

#define SETUP(flags)                                                                       \
    do {                                                                                   \
        int r_ = prepare(flags);                                                           \
        KT_TRUE(r_ == 0, "prepare step %d: errno %d", r_, errno);                          \
    } while (0)

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

static int write_file(const char *path, const void *data, size_t len) {
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0) return -1;
    ssize_t w = write(fd, data, len);
    close(fd);
    return w == (ssize_t)len ? 0 : -1;
}

static ssize_t read_file(const char *path, void *out, size_t len) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t r = read(fd, out, len);
    close(fd);
    return r;
}

KT_CASE(statfs_figures_are_the_superblocks) {
    SETUP(0);
    const unsigned char *sb = img + 1024;
    struct statfs s;
    KT_SYS_OK(statfs(MNT, &s));
    KT_EQ((long)s.f_type, 0xEF53L);
    KT_EQ((long)s.f_bsize, 4096L);
    KT_EQ((long)s.f_files, (long)le32(sb + 0));
    KT_EQ((long)s.f_ffree, (long)le32(sb + 16));
    KT_EQ((long)s.f_bfree, (long)le32(sb + 12));
    KT_EQ((long)s.f_bavail, (long)le32(sb + 12) - (long)le32(sb + 8));
    KT_TRUE(s.f_blocks > 0 && s.f_blocks < le32(sb + 4), "f_blocks %ld", (long)s.f_blocks);
    KT_EQ((long)s.f_namelen, 255L);
    int fd = KT_SYS_OK(open(MNT, O_RDONLY | O_DIRECTORY));
    struct statfs f;
    KT_SYS_OK(fstatfs(fd, &f));
    close(fd);
    KT_EQ((long)f.f_bfree, (long)s.f_bfree);
    struct stat st;
    KT_SYS_OK(stat(MNT, &st));
    KT_EQ((long)st.st_ino, 2L);
    KT_EQ((long)st.st_nlink, 3L); /* ".", "..", lost+found's ".." */
    KT_SYS_OK(stat(MNT "/lost+found", &st));
    KT_EQ((long)st.st_ino, 11L);
    KT_SYS_OK(umount2(MNT, 0));
}

KT_CASE(namespace_calls) {
    SETUP(0);
    KT_SYS_OK(mkdir(MNT "/d", 0755));
    KT_SYS_OK(mkdir(MNT "/d/sub", 0700));
    KT_EQ(write_file(MNT "/d/a", "hello ext2\n", 11), 0);
    struct stat st, st2;
    KT_SYS_OK(stat(MNT "/d", &st));
    KT_EQ((long)st.st_nlink, 3L);
    KT_EQ((long)st.st_blksize, 4096L);
    /* a directory's size is its blocks' bytes (ext2_stat: i_size): one */
    struct statfs sf;
    KT_SYS_OK(statfs(MNT, &sf));
    KT_EQ((long)st.st_size, (long)sf.f_bsize);
    KT_SYS_OK(link(MNT "/d/a", MNT "/hard"));
    KT_SYS_OK(stat(MNT "/hard", &st));
    KT_SYS_OK(stat(MNT "/d/a", &st2));
    KT_EQ((long)st.st_ino, (long)st2.st_ino);
    KT_EQ((long)st.st_nlink, 2L);
    KT_SYS_OK(symlink("d/a", MNT "/sym"));
    char target[64] = {0};
    KT_SYS_RET(readlink(MNT "/sym", target, sizeof target), 3);
    KT_EQ(memcmp(target, "d/a", 3), 0);
    KT_SYS_RET(read_file(MNT "/sym", buf, sizeof buf), 11);
    KT_SYS_OK(rename(MNT "/d/a", MNT "/d/sub/b"));
    KT_SYS_ERR(stat(MNT "/d/a", &st), ENOENT);
    KT_SYS_ERR(stat(MNT "/sym", &st), ENOENT);
    KT_SYS_ERR(rmdir(MNT "/d"), ENOTEMPTY);
    KT_SYS_ERR(rename(MNT "/hard", "/ext2mnt-gone"), EXDEV);
    KT_SYS_ERR(link(MNT "/hard", "/ext2mnt-gone"), EXDEV);
    KT_SYS_OK(rename(MNT "/d/sub", MNT "/sub2"));
    KT_SYS_OK(stat(MNT "/d", &st));
    KT_EQ((long)st.st_nlink, 2L);
    KT_SYS_OK(unlink(MNT "/hard"));
    KT_SYS_OK(stat(MNT "/sub2/b", &st));
    KT_EQ((long)st.st_nlink, 1L);
    KT_SYS_OK(mknod(MNT "/fifo", S_IFIFO | 0600, 0));
    KT_SYS_OK(rmdir(MNT "/d"));
    KT_SYS_ERR(unlink(MNT "/sub2"), EISDIR);
    /* after an umount and a new mount, all of it is still there */
    KT_SYS_OK(umount2(MNT, 0));
    KT_SYS_OK(mount(DISK, MNT, "ext2", 0, 0));
    memset(buf, 0, 64);
    KT_SYS_RET(read_file(MNT "/sub2/b", buf, sizeof buf), 11);
    KT_EQ(memcmp(buf, "hello ext2\n", 11), 0);
    KT_SYS_OK(lstat(MNT "/sym", &st));
    KT_TRUE(S_ISLNK(st.st_mode), "mode %o", st.st_mode);
    KT_SYS_OK(stat(MNT "/fifo", &st));
    KT_TRUE(S_ISFIFO(st.st_mode), "mode %o", st.st_mode);
    KT_SYS_ERR(stat(MNT "/d", &st), ENOENT);
    KT_SYS_OK(umount2(MNT, 0));
}

KT_CASE(chmod_chown_utimensat_persist) {
    SETUP(0);
    KT_EQ(write_file(MNT "/f", "x", 1), 0);
    KT_SYS_OK(chmod(MNT "/f", 04751));
    KT_SYS_OK(chown(MNT "/f", 70000, 1234));
    struct timespec ts[2] = {{1000000000, 0}, {1100000000, 0}};
    KT_SYS_OK(utimensat(AT_FDCWD, MNT "/f", ts, 0));
    KT_SYS_OK(umount2(MNT, 0));
    KT_SYS_OK(mount(DISK, MNT, "ext2", 0, 0));
    struct stat st;
    KT_SYS_OK(stat(MNT "/f", &st));
    KT_EQ((long)(st.st_mode & 07777), 0751L); /* chown cleared setuid */
    KT_EQ((long)st.st_uid, 70000L);
    KT_EQ((long)st.st_gid, 1234L);
    KT_EQ((long)st.st_atim.tv_sec, 1000000000L);
    KT_EQ((long)st.st_mtim.tv_sec, 1100000000L);
    KT_SYS_OK(umount2(MNT, 0));
}

KT_CASE(sparse_file_holes) {
    SETUP(0);
    int fd = KT_SYS_OK(open(MNT "/sparse", O_CREAT | O_RDWR, 0644));
    KT_SYS_RET(pwrite(fd, "start", 5, 0), 5);
    KT_SYS_RET(pwrite(fd, "end", 3, 1L << 30), 3);
    struct stat st;
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ((long)st.st_size, (1L << 30) + 3);
    /* two data blocks, a double indirect block and one indirect below it */
    KT_EQ((long)st.st_blocks, 32L);
    memset(buf, 1, 4096);
    KT_SYS_RET(pread(fd, buf, 4096, 500L << 20), 4096);
    int zeros = 1;
    for (int i = 0; i < 4096; i++) zeros &= buf[i] == 0;
    KT_TRUE(zeros, "a hole read non-zero bytes");
    KT_SYS_OK(fsync(fd));
    KT_SYS_OK(fdatasync(fd));
    KT_SYS_OK(syncfs(fd));
    close(fd);
    KT_SYS_OK(umount2(MNT, 0));
    KT_SYS_OK(mount(DISK, MNT, "ext2", 0, 0));
    memset(buf, 0, 8);
    fd = KT_SYS_OK(open(MNT "/sparse", O_RDONLY));
    KT_SYS_RET(pread(fd, buf, 8, (1L << 30) - 5), 8);
    KT_EQ(memcmp(buf, "\0\0\0\0\0end", 8), 0);
    close(fd);
    KT_SYS_OK(umount2(MNT, 0));
}

KT_CASE(full_disk_enospc_then_space_back) {
    SETUP(0);
    struct statfs s0, s1;
    KT_SYS_OK(statfs(MNT, &s0));
    int fd = KT_SYS_OK(open(MNT "/fill", O_CREAT | O_WRONLY, 0644));
    memset(buf, 0x5a, sizeof buf);
    long total = 0;
    ssize_t w;
    while ((w = write(fd, buf, sizeof buf)) > 0) total += w;
    KT_EQ((long)w, -1L);
    KT_EQ(errno, ENOSPC);
    KT_TRUE(total > (1L << 20), "only %ld bytes fit", total);
    KT_SYS_OK(statfs(MNT, &s1));
    KT_EQ((long)s1.f_bfree, 0L);
    close(fd);
    KT_SYS_OK(unlink(MNT "/fill"));
    KT_SYS_OK(statfs(MNT, &s1));
    KT_EQ((long)s1.f_bfree, (long)s0.f_bfree);
    KT_SYS_OK(umount2(MNT, 0));
}

KT_CASE(umount_busy_while_open_and_readonly_mount) {
    SETUP(0);
    KT_EQ(write_file(MNT "/kept", "kept", 4), 0);
    int fd = KT_SYS_OK(open(MNT "/kept", O_RDONLY));
    KT_SYS_ERR(umount2(MNT, 0), EBUSY);
    close(fd);
    KT_SYS_OK(umount2(MNT, 0));
    KT_SYS_ERR(umount2(MNT, 0), EINVAL);
    KT_SYS_OK(mount(DISK, MNT, "ext2", MS_RDONLY, 0));
    KT_SYS_RET(read_file(MNT "/kept", buf, sizeof buf), 4);
    KT_SYS_ERR(open(MNT "/new", O_CREAT | O_WRONLY, 0644), EROFS);
    KT_SYS_ERR(open(MNT "/kept", O_WRONLY), EROFS);
    KT_SYS_ERR(mkdir(MNT "/dir", 0755), EROFS);
    KT_SYS_ERR(unlink(MNT "/kept"), EROFS);
    KT_SYS_ERR(chmod(MNT "/kept", 0600), EROFS);
    KT_SYS_OK(umount2(MNT, 0));
    /* a file that is no block device, and a type nobody knows */
    KT_SYS_ERR(mount(IMAGE, MNT, "ext2", 0, 0), ENOTBLK);
    KT_SYS_ERR(mount(DISK, MNT, "nosuchfs", 0, 0), ENODEV);
}

KT_CASE(ten_thousand_names_in_a_directory) {
    SETUP(0);
    KT_SYS_OK(mkdir(MNT "/many", 0755));
    char name[64];
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof name, MNT "/many/file-%05d", i);
        int fd = open(name, O_CREAT | O_WRONLY, 0644);
        KT_TRUE(fd >= 0, "create %s: errno %d", name, errno);
        close(fd);
    }
    KT_EQ(count_entries(MNT "/many"), 10002);
    KT_SYS_OK(umount2(MNT, 0));
    KT_SYS_OK(mount(DISK, MNT, "ext2", 0, 0));
    KT_EQ(count_entries(MNT "/many"), 10002);
    struct stat st;
    KT_SYS_OK(stat(MNT "/many/file-09999", &st));
    KT_EQ((long)st.st_size, 0L);
    KT_SYS_ERR(rmdir(MNT "/many"), ENOTEMPTY);
    KT_SYS_OK(umount2(MNT, 0));
}

/* A program run from the disk (its pages mapped from the page cache) and
 * then a sync: nothing is written back, its times stay (the sync writes
 * only pages that changed); while it runs it cannot be written (ETXTBSY). */
KT_CASE(sync_after_running_a_program_keeps_its_times) {
    SETUP(0);
    int in = KT_SYS_OK(open("/proc/self/exe", O_RDONLY));
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof img && (r = read(in, img + n, sizeof img - n)) > 0) n += r;
    close(in);
    int out = KT_SYS_OK(open(MNT "/prog", O_CREAT | O_WRONLY | O_TRUNC, 0755));
    KT_SYS_RET(write(out, img, n), n);
    close(out);
    sync();
    struct stat before, after;
    KT_SYS_OK(stat(MNT "/prog", &before));
    /* ext2 keeps seconds: a write in the next second would show */
    kt_msleep(1100);
    pid_t p = KT_FORK();
    if (p == 0) {
        char *argv[] = {MNT "/prog", "kt-sleep", 0};
        char *envp[] = {0};
        execve(argv[0], argv, envp);
        _exit(errno);
    }
    int fd = -1;
    for (int i = 0; i < 5000; i++) {
        char t[128];
        char link[64];
        snprintf(link, sizeof link, "/proc/%d/exe", (int)p);
        ssize_t k = readlink(link, t, sizeof t - 1);
        if (k > 0 && (t[k] = 0, strcmp(t, MNT "/prog") == 0)) break;
        kt_msleep(1);
    }
    KT_SYS_ERR(open(MNT "/prog", O_WRONLY), ETXTBSY);
    sync();
    kill(p, SIGKILL);
    KT_WAIT_STATUS(p, kt_killed(SIGKILL));
    sync();
    KT_SYS_OK(stat(MNT "/prog", &after));
    KT_EQ((long)after.st_mtime, (long)before.st_mtime);
    KT_EQ((long)after.st_ctime, (long)before.st_ctime);
    KT_EQ((long)after.st_size, (long)n);
    fd = KT_SYS_OK(open(MNT "/prog", O_WRONLY));
    close(fd);
    KT_SYS_OK(umount2(MNT, 0));
}

KT_MAIN()
