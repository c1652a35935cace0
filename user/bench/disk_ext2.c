/* disk_ext2 (and disk_files.c, disk_tar.c: this file with DISK_PART 2
 * and 3, programs of their own for /init's 30 s per program): ext2 on
 * the virtio disk /dev/vda (xtask attaches a fresh
 * 256 MiB ext2 image, 4 KiB blocks, before every boot), four rows:
 *   disk_write_64m_fsync   64 MiB written in 1 MiB writes, then fsync
 *   disk_read_64m          the same file read back after umount + mount
 *   disk_create_unlink_10k 10,000 empty files created, unlinked, syncfs
 *   disk_tar_x_tree        /etc/disk-tree.tar (xtask's ustar archive of a
 *                          24 MiB tree) extracted onto the disk, syncfs
 * Each prints the whole operation's time in ns. /dev/vda comes from a
 * devtmpfs mounted on /dev when it is missing; without it (Debian's Linux
 * has virtio_blk as a module) every row is BENCHFAIL. */
#include "bench.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#ifndef DISK_PART
#define DISK_PART 1
#endif

static const char *ROWS[] = {"disk_write_64m_fsync", "disk_read_64m", "disk_create_unlink_10k",
                             "disk_tar_x_tree"};

/* Every row of this part fails with `why` (exit 0: the rows say it). */
static void fail_all(const char *why) {
    int e = errno;
    for (unsigned i = 0; i < sizeof ROWS / sizeof *ROWS; i++)
        if ((DISK_PART == 1 && i < 2) || (DISK_PART == 2 && i == 2) || (DISK_PART == 3 && i == 3))
            bench_printf("BENCHFAIL %s: %s: %s\n", ROWS[i], why, strerror(e));
    exit(0);
}

static unsigned char mib[1 << 20];

static void mount_disk(void) {
    if (mount("/dev/vda", "/mnt", "ext2", 0, 0) != 0) fail_all("mount -t ext2 /dev/vda /mnt");
}

static uint64_t octal(const char *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n && p[i]; i++)
        if (p[i] >= '0' && p[i] <= '7') v = v * 8 + (uint64_t)(p[i] - '0');
    return v;
}

/* Extracts the ustar archive `tar` (len bytes) under `dir`: 0 or -1. */
static int untar(const unsigned char *tar, size_t len, const char *dir) {
    size_t off = 0;
    while (off + 512 <= len) {
        const char *h = (const char *)tar + off;
        if (!h[0]) break;
        char name[512], path[1024];
        if (h[345])
            snprintf(name, sizeof name, "%.155s/%.100s", h + 345, h);
        else
            snprintf(name, sizeof name, "%.100s", h);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        size_t n = strlen(path);
        if (n && path[n - 1] == '/') path[n - 1] = 0;
        uint64_t size = octal(h + 124, 12);
        unsigned mode = (unsigned)octal(h + 100, 8) & 07777;
        off += 512;
        switch (h[156]) {
        case '5':
            if (mkdir(path, mode) != 0 && errno != EEXIST) return -1;
            break;
        case '2': {
            char target[101];
            snprintf(target, sizeof target, "%.100s", h + 157);
            if (symlink(target, path) != 0) return -1;
            break;
        }
        case '0':
        case 0: {
            if (off + size > len) return -1;
            int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
            if (fd < 0) return -1;
            for (uint64_t done = 0; done < size;) {
                ssize_t w = write(fd, tar + off + done, size - done);
                if (w <= 0) return -1;
                done += (uint64_t)w;
            }
            close(fd);
            break;
        }
        default:
            break;
        }
        off += (size + 511) / 512 * 512;
    }
    return 0;
}

int main(void) {
    if (access("/dev/vda", F_OK) != 0) {
        mkdir("/dev", 0755);
        mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
    }
    if (access("/dev/vda", F_OK) != 0) fail_all("no /dev/vda (Debian's 6.1 has virtio_blk as a module)");
    mkdir("/mnt", 0755);
    mount_disk();
    uint64_t t0;
    int fd;
    int root = open("/mnt", O_RDONLY | O_DIRECTORY);
    if (DISK_PART != 1) goto part2;
    for (size_t i = 0; i < sizeof mib; i++) mib[i] = (unsigned char)(i * 7 + i / 4096);

    t0 = bench_now();
    fd = open("/mnt/seq", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) bench_fail(ROWS[0], "open");
    for (int i = 0; i < 64; i++)
        if (write(fd, mib, sizeof mib) != (ssize_t)sizeof mib) bench_fail(ROWS[0], "write");
    if (fsync(fd) != 0) bench_fail(ROWS[0], "fsync");
    close(fd);
    bench_printf("BENCH %s %llu\n", ROWS[0], (unsigned long long)(bench_now() - t0));

    close(root);
    if (umount("/mnt") != 0) bench_fail(ROWS[1], "umount");
    mount_disk();
    root = open("/mnt", O_RDONLY | O_DIRECTORY);
    t0 = bench_now();
    fd = open("/mnt/seq", O_RDONLY);
    if (fd < 0) bench_fail(ROWS[1], "open");
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(fd, mib, sizeof mib);
        if (r < 0) bench_fail(ROWS[1], "read");
        if (r == 0) break;
        total += (uint64_t)r;
    }
    close(fd);
    if (total != 64u << 20) bench_fail(ROWS[1], "short file");
    bench_printf("BENCH %s %llu\n", ROWS[1], (unsigned long long)(bench_now() - t0));
    goto done;

part2:
    if (DISK_PART != 2) goto part3;
    if (mkdir("/mnt/many", 0755) != 0) bench_fail(ROWS[2], "mkdir");
    char p[64];
    t0 = bench_now();
    for (int i = 0; i < 10000; i++) {
        snprintf(p, sizeof p, "/mnt/many/f%d", i);
        int f = open(p, O_CREAT | O_WRONLY, 0644);
        if (f < 0) bench_fail(ROWS[2], "create");
        close(f);
    }
    for (int i = 0; i < 10000; i++) {
        snprintf(p, sizeof p, "/mnt/many/f%d", i);
        if (unlink(p) != 0) bench_fail(ROWS[2], "unlink");
    }
    if (syncfs(root) != 0) bench_fail(ROWS[2], "syncfs");
    bench_printf("BENCH %s %llu\n", ROWS[2], (unsigned long long)(bench_now() - t0));
    goto done;

part3:;
    /* the archive is read into memory first: the row times the disk side */
    fd = open("/etc/disk-tree.tar", O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) bench_fail(ROWS[3], "/etc/disk-tree.tar");
    unsigned char *tar = malloc((size_t)st.st_size);
    if (!tar) bench_fail(ROWS[3], "malloc");
    for (off_t got = 0; got < st.st_size;) {
        ssize_t r = read(fd, tar + got, (size_t)(st.st_size - got));
        if (r <= 0) bench_fail(ROWS[3], "read the archive");
        got += r;
    }
    close(fd);
    if (mkdir("/mnt/tree", 0755) != 0) bench_fail(ROWS[3], "mkdir");
    t0 = bench_now();
    if (untar(tar, (size_t)st.st_size, "/mnt/tree") != 0) bench_fail(ROWS[3], "extract");
    if (syncfs(root) != 0) bench_fail(ROWS[3], "syncfs");
    bench_printf("BENCH %s %llu\n", ROWS[3], (unsigned long long)(bench_now() - t0));
done:
    close(root);
    if (umount("/mnt") != 0) bench_fail(ROWS[DISK_PART == 1 ? 1 : DISK_PART], "umount");
    return 0;
}
