/* The block device /dev/vda (virtio-blk, block major 254 minor 0): fstat,
 * the size ioctls, dd-like reads and writes, unaligned pread/pwrite (partial
 * sectors), the device's end (short reads, ENOSPC, short writes), lseek as
 * fixed_size_llseek, fsync, and errnos of bad offsets, fds and pointers.
 *
 * On our kernel `cargo xtask test` attaches a blank 4 MiB scratch image as
 * /dev/vda (target/blk/scratch.img, made afresh per run): a missing disk
 * fails. Under --linux xtask attaches the same disk and puts Debian's
 * virtio_blk module in the initramfs (its /init loads it, makes /dev/vda). */
#include "kt.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

/* (sys/mount.h defines these too) */
#undef BLKROGET
#undef BLKGETSIZE
#undef BLKSSZGET
#undef BLKGETSIZE64
#undef BLKPBSZGET
#define BLKROGET 0x125e
#define BLKGETSIZE 0x1260
#define BLKSSZGET 0x1268
#define BLKGETSIZE64 0x80081272
#define BLKPBSZGET 0x127b
#define TCGETS 0x5401

#define DISK "/dev/vda"
#define SIZE (4L << 20)

static unsigned char buf[1 << 20], back[1 << 20];

/* The disk open with `flags`; a missing disk fails the case. */
#define OPEN_DISK(fd, flags)                                                              \
    int fd = open(DISK, flags);                                                              \
    KT_TRUE(fd >= 0, "open " DISK ": errno %d", errno)

static unsigned char pat(long i, int seed) {
    return (unsigned char)((i * 13 + i / 512 + seed) % 251);
}

KT_CASE(fstat_block_device_254_0) {
    OPEN_DISK(fd, O_RDONLY);
    struct stat st;
    KT_SYS_OK(fstat(fd, &st));
    KT_TRUE(S_ISBLK(st.st_mode), "mode %o", st.st_mode);
    KT_EQ(major(st.st_rdev), 254);
    KT_EQ(minor(st.st_rdev), 0);
    struct stat st2;
    KT_SYS_OK(stat(DISK, &st2));
    KT_EQ(st2.st_rdev, st.st_rdev);
    KT_EQ(st2.st_ino, st.st_ino);
    close(fd);
}

KT_CASE(size_ioctls) {
    OPEN_DISK(fd, O_RDONLY);
    unsigned long long bytes = 0;
    KT_SYS_RET(ioctl(fd, BLKGETSIZE64, &bytes), 0);
    KT_EQ(bytes, SIZE);
    unsigned long sectors = 0;
    KT_SYS_RET(ioctl(fd, BLKGETSIZE, &sectors), 0);
    KT_EQ(sectors, SIZE / 512);
    int ssz = 0;
    KT_SYS_RET(ioctl(fd, BLKSSZGET, &ssz), 0);
    KT_EQ(ssz, 512);
    unsigned int pbsz = 0;
    KT_SYS_RET(ioctl(fd, BLKPBSZGET, &pbsz), 0);
    KT_EQ(pbsz, 512);
    int ro = -1;
    KT_SYS_RET(ioctl(fd, BLKROGET, &ro), 0);
    KT_EQ(ro, 0);
    /* not a terminal; a bad pointer */
    char t[64];
    KT_SYS_ERR(ioctl(fd, TCGETS, t), ENOTTY);
    KT_SYS_ERR(ioctl(fd, BLKGETSIZE64, (void *)8), EFAULT);
    close(fd);
}

KT_CASE(dd_like_write_then_read_back) {
    OPEN_DISK(fd, O_RDWR);
    /* 1 MiB in 64 KiB writes, as dd bs=64k count=16 */
    for (long i = 0; i < (1 << 20); i++) buf[i] = pat(i, 1);
    for (int k = 0; k < 16; k++) KT_SYS_RET(write(fd, buf + k * 65536, 65536), 65536);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), 1 << 20);
    KT_SYS_RET(fsync(fd), 0);
    KT_SYS_RET(fdatasync(fd), 0);
    KT_SYS_RET(lseek(fd, 0, SEEK_SET), 0);
    /* back in 4 KiB reads, then in one read */
    for (int k = 0; k < 256; k++) KT_SYS_RET(read(fd, back + k * 4096, 4096), 4096);
    KT_EQ(memcmp(back, buf, 1 << 20), 0);
    memset(back, 0, sizeof back);
    KT_SYS_RET(pread(fd, back, 1 << 20, 0), 1 << 20);
    KT_EQ(memcmp(back, buf, 1 << 20), 0);
    /* a second open file sees it too */
    int fd2 = KT_SYS_OK(open(DISK, O_RDONLY));
    KT_SYS_RET(pread(fd2, back, 512, 3 * 512), 512);
    KT_EQ(memcmp(back, buf + 3 * 512, 512), 0);
    close(fd2);
    close(fd);
}

KT_CASE(unaligned_pwrite_keeps_the_sectors_around) {
    OPEN_DISK(fd, O_RDWR);
    /* sectors 2048..2055 (1 MiB on) set to a known pattern */
    long base = 1 << 20;
    for (long i = 0; i < 4096; i++) buf[i] = pat(i, 2);
    KT_SYS_RET(pwrite(fd, buf, 4096, base), 4096);
    /* 1000 bytes from 300 in: the end of sector 0, sector 1 whole, a part of sector 2 */
    unsigned char mid[1000];
    memset(mid, 0xa5, sizeof mid);
    KT_SYS_RET(pwrite(fd, mid, sizeof mid, base + 300), 1000);
    /* one byte in the middle of a sector */
    KT_SYS_RET(pwrite(fd, "Z", 1, base + 3000), 1);
    memcpy(buf + 300, mid, sizeof mid);
    buf[3000] = 'Z';
    memset(back, 0, 4096);
    KT_SYS_RET(pread(fd, back, 4096, base), 4096);
    KT_EQ(memcmp(back, buf, 4096), 0);
    /* an unaligned read across sectors */
    KT_SYS_RET(pread(fd, back, 777, base + 1001), 777);
    KT_EQ(memcmp(back, buf + 1001, 777), 0);
    close(fd);
}

KT_CASE(end_of_device_short_reads_enospc_short_writes) {
    OPEN_DISK(fd, O_RDWR);
    KT_SYS_RET(pread(fd, back, 512, SIZE), 0);
    KT_SYS_RET(pread(fd, back, 512, SIZE + 4096), 0);
    KT_SYS_RET(pread(fd, back, 512, SIZE - 100), 100);
    KT_SYS_ERR(pwrite(fd, buf, 512, SIZE), ENOSPC);
    KT_SYS_ERR(pwrite(fd, buf, 1, SIZE + 1), ENOSPC);
    KT_SYS_RET(pwrite(fd, buf, 0, SIZE), 0);
    memset(buf, 0x3c, 100);
    KT_SYS_RET(pwrite(fd, buf, 100, SIZE - 10), 10);
    KT_SYS_RET(pread(fd, back, 100, SIZE - 10), 10);
    KT_EQ(memcmp(back, buf, 10), 0);
    /* read(2) and write(2) at the end */
    KT_SYS_RET(lseek(fd, SIZE, SEEK_SET), SIZE);
    KT_SYS_RET(read(fd, back, 10), 0);
    KT_SYS_ERR(write(fd, buf, 10), ENOSPC);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), SIZE);
    close(fd);
}

/* O_DIRECT on the block device (Linux's blkdev_direct_IO): the position,
 * the buffer's address and its length must be multiples of the 512-byte
 * logical block size, else EINVAL and nothing moves. Before that check:
 * a zero length returns 0, the device's end gives a read 0 and a write
 * ENOSPC, and a length crossing the end is cut there. */
static unsigned char dbuf[8192] __attribute__((aligned(4096)));

KT_CASE(o_direct_needs_512_byte_alignment) {
    OPEN_DISK(fd, O_RDWR | O_DIRECT);
    long base = 2 << 20;
    memset(dbuf, 0x5a, 4096);
    KT_SYS_RET(pwrite(fd, dbuf, 4096, base), 4096);
    KT_SYS_RET(pread(fd, dbuf, 512, base + 512), 512);
    KT_SYS_ERR(pread(fd, dbuf, 512, base + 100), EINVAL);
    KT_SYS_ERR(pread(fd, dbuf, 100, base), EINVAL);
    KT_SYS_ERR(pread(fd, dbuf + 8, 512, base), EINVAL);
    memset(dbuf, 0x11, sizeof dbuf);
    KT_SYS_ERR(pwrite(fd, dbuf, 512, base + 1), EINVAL);
    KT_SYS_ERR(pwrite(fd, dbuf, 511, base), EINVAL);
    KT_SYS_ERR(pwrite(fd, dbuf + 256, 512, base), EINVAL);
    KT_SYS_RET(lseek(fd, base + 3, SEEK_SET), base + 3);
    KT_SYS_ERR(write(fd, dbuf, 512), EINVAL);
    KT_SYS_ERR(read(fd, dbuf, 512), EINVAL);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), base + 3);
    KT_SYS_RET(pread(fd, dbuf + 1, 0, base + 1), 0);
    KT_SYS_RET(pwrite(fd, dbuf + 1, 0, base + 1), 0);
    KT_SYS_RET(pread(fd, dbuf + 1, 100, SIZE), 0);
    KT_SYS_ERR(pwrite(fd, dbuf + 1, 100, SIZE), ENOSPC);
    KT_SYS_RET(pread(fd, dbuf, 1024, SIZE - 512), 512);
    KT_SYS_RET(pread(fd, dbuf, 1000, SIZE - 512), 512);
    /* nothing of the refused writes reached the disk */
    KT_SYS_RET(pread(fd, dbuf, 4096, base), 4096);
    int same = 1;
    for (int i = 0; i < 4096; i++) same &= dbuf[i] == 0x5a;
    KT_TRUE(same, "the sectors changed");
    close(fd);
}

KT_CASE(lseek_fixed_size) {
    OPEN_DISK(fd, O_RDONLY);
    KT_SYS_RET(lseek(fd, 0, SEEK_END), SIZE);
    KT_SYS_RET(lseek(fd, -512, SEEK_END), SIZE - 512);
    KT_SYS_RET(lseek(fd, 100, SEEK_CUR), SIZE - 412);
    KT_SYS_ERR(lseek(fd, 1, SEEK_END), EINVAL);
    KT_SYS_ERR(lseek(fd, SIZE + 1, SEEK_SET), EINVAL);
    KT_SYS_ERR(lseek(fd, -1, SEEK_SET), EINVAL);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), SIZE - 412);
    /* blkdev_llseek is fixed_size_llseek: SEEK_DATA/SEEK_HOLE are EINVAL
     * and leave the offset */
    KT_SYS_ERR(lseek(fd, 4096, SEEK_DATA), EINVAL);
    KT_SYS_ERR(lseek(fd, SIZE, SEEK_DATA), EINVAL);
    KT_SYS_ERR(lseek(fd, 0, SEEK_HOLE), EINVAL);
    KT_SYS_ERR(lseek(fd, SIZE, SEEK_HOLE), EINVAL);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), SIZE - 412);
    KT_SYS_ERR(lseek(fd, 0, 5), EINVAL);
    KT_SYS_RET(lseek(fd, SIZE, SEEK_SET), SIZE);
    close(fd);
}

KT_CASE(bad_offsets_and_modes) {
    OPEN_DISK(fd, O_RDONLY);
    KT_SYS_ERR(pread(fd, back, 512, -1), EINVAL);
    KT_SYS_ERR(pread(fd, back, 512, -4096), EINVAL);
    KT_SYS_ERR(write(fd, buf, 512), EBADF);
    KT_SYS_ERR(pwrite(fd, buf, 512, 0), EBADF);
    KT_SYS_ERR(read(fd, (void *)8, 512), EFAULT);
    close(fd);
    int w = KT_SYS_OK(open(DISK, O_WRONLY));
    KT_SYS_ERR(read(w, back, 512), EBADF);
    KT_SYS_ERR(pwrite(w, buf, 512, -512), EINVAL);
    close(w);
}

/* What lsblk(8) reads in sysfs (util-linux iterates /sys/block and opens
 * the disk through /sys/dev/block/MAJ:MIN): the links to the disk's
 * directory under /sys/devices/<PCI path>/virtioN/block/vda and its
 * files (dev, size in sectors, ro, removable, hidden, queue/), empty
 * holders/ and slaves/, and the device link to its virtioN. */
#define BLK_SYS "/tmp/kt_blockdev_sys"

static int read_sys(const char *rel, char *buf, size_t size) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", BLK_SYS, rel);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = 0;
    fclose(f);
    return (int)n;
}

static long link_of(const char *rel, char *buf, size_t size) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", BLK_SYS, rel);
    long n = readlink(path, buf, size - 1);
    if (n >= 0) buf[n] = 0;
    return n;
}

static int entries_of(const char *rel) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", BLK_SYS, rel);
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

KT_CASE(sysfs_describes_the_disk_as_lsblk_reads_it) {
    OPEN_DISK(fd, O_RDONLY);
    close(fd);
    mkdir(BLK_SYS, 0755);
    KT_SYS_OK(mount("sysfs", BLK_SYS, "sysfs", 0, 0));
    char dev[120], cls[120], blk[120], dev_link[64], buf[120];
    KT_TRUE(link_of("dev/block/254:0", dev, sizeof dev) > 0, "readlink dev/block/254:0: errno %d", errno);
    KT_TRUE(link_of("class/block/vda", cls, sizeof cls) > 0, "readlink class/block/vda: errno %d", errno);
    KT_TRUE(link_of("block/vda", blk, sizeof blk) > 0, "readlink block/vda: errno %d", errno);
    /* ../../devices/pci0000:00/0000:00:SS.F/virtioN/block/vda */
    KT_TRUE(strncmp(dev, "../../devices/pci0000:00/0000:00:", 33) == 0, "%s", dev);
    size_t n = strlen(dev);
    KT_TRUE(n > 43 && strcmp(dev + n - 10, "/block/vda") == 0, "%s", dev);
    KT_TRUE(strcmp(cls, dev) == 0, "%s vs %s", cls, dev);
    KT_TRUE(strcmp(blk, dev + 3) == 0, "%s vs %s", blk, dev);
    /* the device link names the virtioN of the path */
    KT_TRUE(link_of("block/vda/device", dev_link, sizeof dev_link) > 0, "readlink device: errno %d", errno);
    char *virtio = strstr(dev, "/virtio");
    KT_TRUE(virtio != 0, "%s", dev);
    char want[64];
    snprintf(want, sizeof want, "../../..%.*s", (int)(strstr(virtio, "/block/") - virtio), virtio);
    KT_TRUE(strcmp(dev_link, want) == 0, "%s, not %s", dev_link, want);
    KT_TRUE(link_of("block/vda/subsystem", buf, sizeof buf) > 0, "readlink subsystem");
    KT_TRUE(strcmp(buf, "../../../../../../class/block") == 0, "%s", buf);
    /* the files, through each link */
    const char *dirs[] = {"dev/block/254:0", "class/block/vda", "block/vda"};
    for (int i = 0; i < 3; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "%s/dev", dirs[i]);
        KT_TRUE(read_sys(rel, buf, sizeof buf) > 0, "%s: errno %d", rel, errno);
        KT_TRUE(strcmp(buf, "254:0\n") == 0, "%s: %s", rel, buf);
    }
    char size[32];
    snprintf(size, sizeof size, "%ld\n", SIZE / 512);
    const char *files[][2] = {
        {"size", size},
        {"ro", "0\n"},
        {"removable", "0\n"},
        {"hidden", "0\n"},
        {"range", "16\n"},
        {"ext_range", "256\n"},
        {"queue/logical_block_size", "512\n"},
        {"queue/physical_block_size", "512\n"},
        {"queue/minimum_io_size", "512\n"},
        {"queue/optimal_io_size", "0\n"},
        {"queue/rotational", "1\n"},
        {"queue/nr_requests", "256\n"},
        {"queue/zoned", "none\n"},
    };
    for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "dev/block/254:0/%s", files[i][0]);
        KT_TRUE(read_sys(rel, buf, sizeof buf) > 0, "%s: errno %d", rel, errno);
        KT_TRUE(strcmp(buf, files[i][1]) == 0, "%s: %s, not %s", rel, buf, files[i][1]);
    }
    /* lsblk's SCHED column: the bracketed name. Linux 6.1 gives a device
     * with one hardware queue mq-deadline ("[mq-deadline] none", Debian's
     * kernel with 1 CPU: virtio-blk has a queue per CPU) and one with
     * several none ("[none] mq-deadline"); ours has no I/O scheduler */
    KT_TRUE(read_sys("block/vda/queue/scheduler", buf, sizeof buf) > 0, "scheduler");
    KT_TRUE(strncmp(buf, "[none] ", 7) == 0 || strncmp(buf, "[mq-deadline] none", 18) == 0, "%s", buf);
    KT_TRUE(read_sys("block/vda/uevent", buf, sizeof buf) > 0, "uevent");
    KT_TRUE(strncmp(buf, "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n", 42) == 0, "%s", buf);
    KT_EQ(entries_of("block/vda/holders"), 0);
    KT_EQ(entries_of("block/vda/slaves"), 0);
    /* no partitions on the blank disk: lsblk looks for <dir>/start */
    KT_SYS_ERR(access(BLK_SYS "/block/vda/queue/start", R_OK), ENOENT);
    KT_SYS_ERR(access(BLK_SYS "/block/vda/vda1", F_OK), ENOENT);
    KT_SYS_ERR(access(BLK_SYS "/dev/block/254:1", F_OK), ENOENT);
    KT_SYS_OK(umount(BLK_SYS));
}

KT_MAIN()
