/* Resource limits that act (man 2 getrlimit, Linux 6.1): RLIMIT_AS at
 * mmap (MAP_FIXED counts what it replaces), mremap and brk; RLIMIT_DATA
 * for private writable mappings and brk only; RLIMIT_FSIZE at write,
 * pwrite, writev and truncate on tmpfs and ext2 (SIGXFSZ with SI_USER
 * from the caller, EFBIG, a write cut at the limit); RLIMIT_CPU (SIGXCPU
 * with SI_KERNEL at the soft limit and each second after, the soft limit
 * raised by one each time, SIGKILL at the hard limit); RLIMIT_RTTIME
 * (a SCHED_FIFO/RR thread's run time since it last slept, in
 * microseconds: SIGXCPU with SI_KERNEL at the soft limit and each second
 * after, the soft limit raised by a second each time, past the hard one
 * too; SIGKILL at the hard limit; a thread that sleeps in between, or a
 * SCHED_OTHER one, gets nothing). Each case runs in a child, whose limits
 * go with it. */
#include "kt.h"
#include <sys/mount.h>
#include <sys/sendfile.h>
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 1
#endif
#include <sched.h>
#include <sys/uio.h>

#define MB (1L << 20)

/* The bytes of all mappings (total_vm), from /proc/self/maps; the
 * [vsyscall] page is no mapping of the address space. */
static long mapped_bytes(void) {
    static char buf[65536];
    int fd = open("/proc/self/maps", O_RDONLY);
    if (fd < 0) return -1;
    long n = 0, r;
    while (n < (long)sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += r;
    close(fd);
    buf[n] = 0;
    long total = 0;
    for (char *l = buf; *l;) {
        char *e = strchr(l, '\n');
        if (!e) break;
        *e = 0;
        if (!strstr(l, "[vsyscall]")) {
            unsigned long a = strtoul(l, 0, 16), b = strtoul(strchr(l, '-') + 1, 0, 16);
            total += b - a;
        }
        l = e + 1;
    }
    return total;
}

static void *map(void *at, long len, int prot, int flags) {
    return mmap(at, len, prot, flags | MAP_ANONYMOUS, -1, 0);
}

static void set_limit(int res, rlim_t cur) {
    struct rlimit r = {cur, RLIM_INFINITY};
    if (setrlimit(res, &r) != 0) _exit(99);
}

/* Grows the stack first: a full address space has no room for it later. */
static void touch_stack(void) {
    volatile char pad[256 << 10];
    memset((char *)pad, 0, sizeof pad);
}

static int as_child(void) {
    touch_stack();
    long base = mapped_bytes();
    KT_CHILD_CHECK(1, base > 0);
    set_limit(RLIMIT_AS, base + 8 * MB);
    errno = 0;
    KT_CHILD_CHECK(2, map(0, 8 * MB + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE) == MAP_FAILED && errno == ENOMEM);
    char *p = map(0, 8 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    KT_CHILD_CHECK(3, p != MAP_FAILED);
    /* full: even PROT_NONE and shared mappings count */
    errno = 0;
    KT_CHILD_CHECK(4, map(0, 4096, PROT_NONE, MAP_PRIVATE) == MAP_FAILED && errno == ENOMEM);
    errno = 0;
    KT_CHILD_CHECK(5, map(0, 4096, PROT_READ, MAP_SHARED) == MAP_FAILED && errno == ENOMEM);
    /* MAP_FIXED over what is mapped replaces it: no growth */
    KT_CHILD_CHECK(6, map(p, 4 * MB, PROT_READ, MAP_PRIVATE | MAP_FIXED) == p);
    errno = 0;
    KT_CHILD_CHECK(7, map(p - MB, 2 * MB, PROT_READ, MAP_PRIVATE | MAP_FIXED) == MAP_FAILED && errno == ENOMEM);
    /* mremap: growth by more than the room is ENOMEM, within it fine */
    KT_CHILD_CHECK(8, munmap(p + 7 * MB, MB) == 0);
    errno = 0;
    KT_CHILD_CHECK(9, mremap(p + 4 * MB, 3 * MB, 5 * MB, MREMAP_MAYMOVE) == MAP_FAILED && errno == ENOMEM);
    char *q = mremap(p + 4 * MB, 3 * MB, 4 * MB, MREMAP_MAYMOVE);
    KT_CHILD_CHECK(10, q != MAP_FAILED);
    errno = 0;
    KT_CHILD_CHECK(11, mremap(q, 4 * MB, 4 * MB + 4096, MREMAP_MAYMOVE) == MAP_FAILED && errno == ENOMEM);
    /* brk: the old break back */
    long b = syscall(SYS_brk, 0);
    KT_CHILD_CHECK(12, syscall(SYS_brk, b + 64 * 4096) == b);
    /* room again after munmap */
    KT_CHILD_CHECK(13, munmap(p, 4 * MB) == 0);
    KT_CHILD_CHECK(14, syscall(SYS_brk, b + 64 * 4096) == b + 64 * 4096);
    KT_CHILD_CHECK(15, map(0, 2 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE) != MAP_FAILED);
    return 0;
}

KT_CASE(rlimit_as_refuses_mmap_mremap_brk) {
    KT_EQ(kt_in_child(as_child), 0);
}

static int data_child(void) {
    set_limit(RLIMIT_DATA, 32 * MB);
    /* private writable: data */
    errno = 0;
    KT_CHILD_CHECK(1, map(0, 64 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE) == MAP_FAILED && errno == ENOMEM);
    /* read-only, shared, growsdown: not data */
    KT_CHILD_CHECK(2, map(0, 64 * MB, PROT_READ, MAP_PRIVATE) != MAP_FAILED);
    KT_CHILD_CHECK(3, map(0, 64 * MB, PROT_READ | PROT_WRITE, MAP_SHARED) != MAP_FAILED);
    KT_CHILD_CHECK(4, map(0, 64 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_GROWSDOWN) != MAP_FAILED);
    char *p = map(0, 16 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    KT_CHILD_CHECK(5, p != MAP_FAILED);
    errno = 0;
    KT_CHILD_CHECK(6, map(0, 17 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE) == MAP_FAILED && errno == ENOMEM);
    /* brk: heap plus data segment past the limit */
    long b = syscall(SYS_brk, 0);
    KT_CHILD_CHECK(7, syscall(SYS_brk, b + 40 * MB) == b);
    KT_CHILD_CHECK(8, syscall(SYS_brk, b + 4096) == b + 4096);
    /* the Valgrind exception: soft 0 lets the hard limit apply */
    struct rlimit r = {0, 64 * MB};
    KT_CHILD_CHECK(9, setrlimit(RLIMIT_DATA, &r) == 0);
    KT_CHILD_CHECK(10, map(0, 16 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE) != MAP_FAILED);
    return 0;
}

KT_CASE(rlimit_data_counts_private_writable_only) {
    KT_EQ(kt_in_child(data_child), 0);
}

/* Limits belong to the process (signal_struct), not to the address space
 * a vfork child shares: the child's setrlimit of RLIMIT_AS, RLIMIT_DATA
 * and RLIMIT_STACK before its exit leaves its parent's mmap, brk and stack
 * growth alone. */
static int vfork_limits_child(void) {
    /* a one-page MAP_GROWSDOWN stack with 4 MiB free below it */
    char *hole = map(0, 4 * MB, PROT_NONE, MAP_PRIVATE);
    KT_CHILD_CHECK(1, hole != MAP_FAILED);
    KT_CHILD_CHECK(2, munmap(hole, 4 * MB) == 0);
    char *top = hole + 4 * MB;
    char *st = map(top - 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_GROWSDOWN);
    KT_CHILD_CHECK(3, st == top - 4096);
    long base = mapped_bytes();
    KT_CHILD_CHECK(4, base > 0);
    pid_t pid = vfork();
    if (pid == 0) {
        struct rlimit r = {base + 4096, RLIM_INFINITY};
        if (syscall(SYS_setrlimit, RLIMIT_AS, &r) != 0) _exit(10);
        r.rlim_cur = 4096;
        if (syscall(SYS_setrlimit, RLIMIT_DATA, &r) != 0) _exit(11);
        r.rlim_cur = 16 * 4096;
        if (syscall(SYS_setrlimit, RLIMIT_STACK, &r) != 0) _exit(12);
        /* the child's own limits act */
        void *m = mmap(0, 16 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        _exit(m == MAP_FAILED ? 0 : 13);
    }
    KT_CHILD_CHECK(5, pid > 0);
    int status = -1;
    KT_CHILD_CHECK(6, waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct rlimit r;
    KT_CHILD_CHECK(7, getrlimit(RLIMIT_AS, &r) == 0 && r.rlim_cur == RLIM_INFINITY);
    KT_CHILD_CHECK(8, getrlimit(RLIMIT_STACK, &r) == 0 && r.rlim_cur == 8 * MB);
    /* the parent's: no RLIMIT_AS or RLIMIT_DATA, an 8 MiB stack */
    char *p = map(0, 64 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    KT_CHILD_CHECK(9, p != MAP_FAILED);
    long b = syscall(SYS_brk, 0);
    KT_CHILD_CHECK(10, syscall(SYS_brk, b + 16 * 4096) == b + 16 * 4096);
    KT_CHILD_CHECK(11, mremap(p, 64 * MB, 80 * MB, MREMAP_MAYMOVE) != MAP_FAILED);
    /* 32 pages of stack: past the child's 16, within the parent's 8 MiB */
    memset(top - 32 * 4096, 1, 4096);
    KT_CHILD_CHECK(12, top[-32 * 4096] == 1);
    return 0;
}

KT_CASE(rlimit_vfork_child_keeps_its_limits_to_itself) {
    KT_EQ(kt_in_child(vfork_limits_child), 0);
}

static volatile int xfsz_count, xfsz_code, xfsz_pid;

static void on_xfsz(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    if (sig == SIGXFSZ) xfsz_count++;
    xfsz_code = si->si_code;
    xfsz_pid = si->si_pid;
}

static char fsize_dir[64];

static int fsize_child(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_xfsz;
    sa.sa_flags = SA_SIGINFO;
    KT_CHILD_CHECK(1, sigaction(SIGXFSZ, &sa, 0) == 0);
    char path[96];
    snprintf(path, sizeof path, "%s/rlimit-fsize", fsize_dir);
    unlink(path);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    KT_CHILD_CHECK(2, fd >= 0);
    static char buf[3000];
    memset(buf, 'x', sizeof buf);
    set_limit(RLIMIT_FSIZE, 1000);
    /* a write that starts below the limit is cut to it */
    KT_CHILD_CHECK(3, write(fd, buf, 1500) == 1000);
    KT_CHILD_CHECK(4, xfsz_count == 0);
    struct stat st;
    KT_CHILD_CHECK(5, fstat(fd, &st) == 0 && st.st_size == 1000);
    /* at the limit: SIGXFSZ from the caller itself, EFBIG */
    errno = 0;
    KT_CHILD_CHECK(6, write(fd, buf, 1) == -1 && errno == EFBIG);
    KT_CHILD_CHECK(7, xfsz_count == 1 && xfsz_code == SI_USER && xfsz_pid == getpid());
    /* nothing to write: no signal */
    KT_CHILD_CHECK(8, write(fd, buf, 0) == 0 && xfsz_count == 1);
    /* a descriptor not open for writing: vfs_write's EBADF, no signal */
    int ro = open(path, O_RDONLY);
    KT_CHILD_CHECK(40, ro >= 0);
    lseek(ro, 0, SEEK_END);
    errno = 0;
    KT_CHILD_CHECK(41, write(ro, buf, 1) == -1 && errno == EBADF && xfsz_count == 1);
    close(ro);
    KT_CHILD_CHECK(9, pwrite(fd, buf, 200, 900) == 100);
    errno = 0;
    KT_CHILD_CHECK(10, pwrite(fd, buf, 10, 5000) == -1 && errno == EFBIG && xfsz_count == 2);
    struct iovec iov[2] = {{buf, 100}, {buf, 200}};
    KT_CHILD_CHECK(11, lseek(fd, 850, SEEK_SET) == 850);
    KT_CHILD_CHECK(12, writev(fd, iov, 2) == 150 && xfsz_count == 2);
    /* truncate: shrinking and growing up to the limit are fine */
    KT_CHILD_CHECK(13, ftruncate(fd, 500) == 0 && ftruncate(fd, 1000) == 0);
    errno = 0;
    KT_CHILD_CHECK(14, ftruncate(fd, 1001) == -1 && errno == EFBIG && xfsz_count == 3);
    errno = 0;
    KT_CHILD_CHECK(15, truncate(path, 4096) == -1 && errno == EFBIG && xfsz_count == 4);
    KT_CHILD_CHECK(16, fstat(fd, &st) == 0 && st.st_size == 1000);
    /* O_APPEND at the end (the limit) */
    int fa = open(path, O_WRONLY | O_APPEND);
    KT_CHILD_CHECK(17, fa >= 0);
    errno = 0;
    KT_CHILD_CHECK(18, write(fa, buf, 1) == -1 && errno == EFBIG && xfsz_count == 5);
    /* a larger limit: the file grows again */
    set_limit(RLIMIT_FSIZE, 2000);
    KT_CHILD_CHECK(19, write(fa, buf, 3000) == 1000);
    KT_CHILD_CHECK(20, fstat(fd, &st) == 0 && st.st_size == 2000 && xfsz_count == 5);
    close(fa);
    /* copy_file_range, sendfile, splice into the file: cut at the limit,
     * EFBIG and SIGXFSZ at it; sendfile and splice write again after a
     * cut write (iter_file_splice_write()), which sends SIGXFSZ too */
    char src[96];
    snprintf(src, sizeof src, "%s/rlimit-src", fsize_dir);
    int fs = open(src, O_RDWR | O_CREAT | O_TRUNC, 0600);
    KT_CHILD_CHECK(21, fs >= 0 && write(fs, buf, 1000) == 1000);
    KT_CHILD_CHECK(22, ftruncate(fd, 1500) == 0);
    loff_t in0 = 0, out0 = 1800;
    KT_CHILD_CHECK(23, syscall(SYS_copy_file_range, fs, &in0, fd, &out0, 1000, 0) == 200 && out0 == 2000);
    in0 = 0;
    out0 = 2000;
    errno = 0;
    KT_CHILD_CHECK(24, syscall(SYS_copy_file_range, fs, &in0, fd, &out0, 1000, 0) == -1 && errno == EFBIG && xfsz_count == 6);
    KT_CHILD_CHECK(25, lseek(fd, 1900, SEEK_SET) == 1900);
    off_t soff = 0;
    errno = 0;
    long sr = sendfile(fd, fs, &soff, 500);
    KT_CHILD_CHECK(26, sr == 100 && soff == 100 && xfsz_count == 7);
    errno = 0;
    KT_CHILD_CHECK(27, sendfile(fd, fs, &soff, 500) == -1 && errno == EFBIG && xfsz_count == 8);
    int pp[2];
    KT_CHILD_CHECK(28, pipe(pp) == 0 && write(pp[1], buf, 300) == 300);
    loff_t soff2 = 1950;
    KT_CHILD_CHECK(29, splice(pp[0], 0, fd, &soff2, 300, 0) == 50 && soff2 == 2000 && xfsz_count == 9);
    errno = 0;
    KT_CHILD_CHECK(30, splice(pp[0], 0, fd, &soff2, 250, 0) == -1 && errno == EFBIG && xfsz_count == 10);
    KT_CHILD_CHECK(31, fstat(fd, &st) == 0 && st.st_size == 2000);
    /* fallocate (tmpfs; ext2 has none: EOPNOTSUPP before the limit) */
    errno = 0;
    if (strcmp(fsize_dir, "/tmp") == 0)
        KT_CHILD_CHECK(32, fallocate(fd, FALLOC_FL_KEEP_SIZE, 1500, 1000) == -1 && errno == EFBIG && xfsz_count == 11);
    else
        KT_CHILD_CHECK(33, fallocate(fd, 0, 1500, 1000) == -1 && errno == EOPNOTSUPP && xfsz_count == 10);
    close(pp[0]);
    close(pp[1]);
    close(fs);
    unlink(src);
    close(fd);
    unlink(path);
    return 0;
}

KT_CASE(rlimit_fsize_on_tmpfs) {
    strcpy(fsize_dir, "/tmp");
    KT_EQ(kt_in_child(fsize_child), 0);
}

/* /ext2.img copied onto /dev/vda and mounted (as fs_ops_ext2.c does). */
static unsigned char ext2_img[4 << 20];

KT_CASE(rlimit_fsize_on_ext2) {
    const char *mnt = "/rlimit-ext2";
    KT_TRUE(mkdir(mnt, 0755) == 0 || errno == EEXIST, "mkdir");
    int in = open("/ext2.img", O_RDONLY);
    if (in < 0) KT_SKIP("no /ext2.img");
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof ext2_img && (r = read(in, ext2_img + n, sizeof ext2_img - n)) > 0) n += r;
    close(in);
    int d = open("/dev/vda", O_RDWR);
    if (d < 0) KT_SKIP("no /dev/vda");
    for (ssize_t off = 0; off < n;) {
        ssize_t w = pwrite(d, ext2_img + off, n - off, off);
        KT_TRUE(w > 0, "pwrite");
        off += w;
    }
    KT_SYS_OK(fsync(d));
    close(d);
    KT_SYS_OK(mount("/dev/vda", mnt, "ext2", 0, 0));
    strcpy(fsize_dir, mnt);
    int st = kt_in_child(fsize_child);
    KT_SYS_OK(umount(mnt));
    KT_EQ(st, 0);
}

static volatile int *xcpu;

static void on_xcpu(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    struct rlimit r;
    getrlimit(RLIMIT_CPU, &r);
    int i = xcpu[0]++;
    if (i < 4) {
        xcpu[1 + i] = (int)r.rlim_cur;
        xcpu[6] = sig;
        xcpu[7] = si->si_code;
    }
}

/* soft 1 s, hard 3 s: SIGXCPU at 1 s (soft becomes 2) and at 2 s (3),
 * SIGKILL at 3 s. */
KT_CASE(rlimit_cpu_sigxcpu_each_second_then_sigkill) {
    xcpu = kt_shared_page();
    KT_TRUE(xcpu != 0, "shared page");
    pid_t c = KT_FORK();
    if (c == 0) {
        struct sigaction sa = {0};
        sa.sa_sigaction = on_xcpu;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGXCPU, &sa, 0);
        struct rlimit r = {1, 3};
        if (setrlimit(RLIMIT_CPU, &r) != 0) _exit(1);
        for (volatile unsigned long i = 0;; i++) {
        }
    }
    KT_WAIT_STATUS(c, kt_killed(SIGKILL));
    KT_EQ(xcpu[0], 2);
    KT_EQ(xcpu[1], 2);
    KT_EQ(xcpu[2], 3);
    KT_EQ(xcpu[6], SIGXCPU);
    KT_EQ(xcpu[7], SI_KERNEL);
}

static volatile int *xrt;

static void on_xrt(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    struct rlimit r;
    getrlimit(RLIMIT_RTTIME, &r);
    int i = xrt[0]++;
    if (i < 4) {
        xrt[1 + i] = (int)r.rlim_cur;
        xrt[6] = sig;
        xrt[7] = si->si_code;
    }
}

static long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* the system call (musl's sched_setscheduler() is ENOSYS) */
static long become_fifo(void) {
    struct sched_param sp = {.sched_priority = 1};
    return syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &sp);
}

/* soft 50 ms, hard 1.2 s: SIGXCPU at 50 ms (soft becomes 1.05 s) and at
 * 1.05 s (2.05 s, above the hard limit), SIGKILL at 1.2 s. */
KT_CASE(rlimit_rttime_fifo_spinner_sigxcpu_each_second_then_sigkill) {
    xrt = kt_shared_page();
    KT_TRUE(xrt != 0, "shared page");
    pid_t c = KT_FORK();
    if (c == 0) {
        struct sigaction sa = {0};
        sa.sa_sigaction = on_xrt;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGXCPU, &sa, 0);
        struct rlimit r = {50000, 1200000};
        if (become_fifo() != 0) _exit(100 + errno);
        if (setrlimit(RLIMIT_RTTIME, &r) != 0) _exit(1);
        long end = mono_ms() + 10000; /* no limit at all: no hang */
        while (mono_ms() < end) {
        }
        _exit(3);
    }
    KT_WAIT_STATUS(c, kt_killed(SIGKILL));
    KT_EQ(xrt[0], 2);
    KT_EQ(xrt[1], 1050000);
    KT_EQ(xrt[2], 2050000);
    KT_EQ(xrt[6], SIGXCPU);
    KT_EQ(xrt[7], SI_KERNEL);
}

/* soft 100 ms, hard 200 ms, 300 ms of spinning: a FIFO thread that sleeps
 * 1 ms after each 20 ms starts counting afresh each time; a SCHED_OTHER
 * thread is not counted at all. Neither gets a signal. */
static int rttime_quiet_child(int fifo) {
    signal(SIGXCPU, SIG_DFL);
    struct rlimit r = {100000, 200000};
    if (fifo && become_fifo() != 0) return 100 + errno;
    if (setrlimit(RLIMIT_RTTIME, &r) != 0) return 1;
    for (int round = 0; round < 15; round++) {
        long end = mono_ms() + 20;
        while (mono_ms() < end) {
        }
        if (fifo) usleep(1000);
    }
    getrlimit(RLIMIT_RTTIME, &r);
    return r.rlim_cur == 100000 ? 0 : 3;
}

KT_CASE(rlimit_rttime_sleeper_and_sched_other_get_nothing) {
    pid_t c = KT_FORK();
    if (c == 0) _exit(rttime_quiet_child(1));
    KT_WAIT_STATUS(c, kt_exited(0));
    c = KT_FORK();
    if (c == 0) _exit(rttime_quiet_child(0));
    KT_WAIT_STATUS(c, kt_exited(0));
}

int main(int argc, char **argv) { return kt_main(argc, argv); }
