/* Calls Debian's stress-ng found missing or different (docs/status.md,
 * "Lead's work (2026-12-06 fourteenth session)"): readahead(2), pread and
 * pwrite on the memory devices, adjtimex(2)/clock_adjtime(2), the old
 * System V termio ioctls, tcdrain and the termios lock on a pty, and
 * io_uring's FADVISE and MADVISE. Each as Linux 6.1 answers it. */
#include "kt_uring.h"
#include <sys/ioctl.h>
#include <sys/timex.h>
#include <termios.h>

KT_CASE(readahead_on_files_and_other_fds) {
    int fd = open("/tmp/misc_ra", O_RDWR | O_CREAT | O_TRUNC, 0644);
    KT_SYS_OK(fd);
    KT_SYS_RET(write(fd, "hello", 5), 5);
    KT_SYS_RET(readahead(fd, 0, 4096), 0);
    KT_SYS_RET(readahead(fd, 1 << 30, 1 << 20), 0);
    /* a count negative as a loff_t */
    KT_SYS_ERR(readahead(fd, 0, (size_t)-1), EINVAL);
    close(fd);
    int w = open("/tmp/misc_ra", O_WRONLY);
    KT_SYS_OK(w);
    KT_SYS_ERR(readahead(w, 0, 4096), EBADF);
    close(w);
    unlink("/tmp/misc_ra");
    KT_SYS_ERR(readahead(-1, 0, 1), EBADF);
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(readahead(p[0], 0, 1), EINVAL);
    close(p[0]);
    close(p[1]);
    int d = open("/tmp", O_RDONLY | O_DIRECTORY);
    KT_SYS_OK(d);
    KT_SYS_ERR(readahead(d, 0, 1), EINVAL);
    close(d);
    int z = open("/dev/zero", O_RDONLY);
    KT_SYS_OK(z);
    KT_SYS_ERR(readahead(z, 0, 1), EINVAL);
    close(z);
}

KT_CASE(memory_devices_read_and_write_at_any_offset) {
    char buf[64];
    int z = open("/dev/zero", O_RDWR);
    KT_SYS_OK(z);
    memset(buf, 'x', sizeof buf);
    KT_SYS_RET(pread(z, buf, sizeof buf, 3525550647719173894LL), 64);
    KT_EQ(buf[0] | buf[63], 0);
    KT_SYS_RET(pwrite(z, buf, 10, 1LL << 40), 10);
    KT_SYS_ERR(pread(z, buf, 1, -1), EINVAL);
    close(z);
    int f = open("/dev/full", O_RDWR);
    KT_SYS_OK(f);
    memset(buf, 'x', sizeof buf);
    KT_SYS_RET(pread(f, buf, 32, 1LL << 50), 32);
    KT_EQ(buf[0] | buf[31], 0);
    KT_EQ(buf[32], 'x');
    KT_SYS_ERR(pwrite(f, buf, 1, 0), ENOSPC);
    close(f);
    int n = open("/dev/null", O_RDWR);
    KT_SYS_OK(n);
    KT_SYS_RET(pread(n, buf, 8, 12345), 0);
    KT_SYS_RET(pwrite(n, buf, 8, 12345), 8);
    close(n);
    int r = open("/dev/urandom", O_RDONLY);
    KT_SYS_OK(r);
    KT_SYS_RET(pread(r, buf, 16, 99), 16);
    close(r);
}

/* the clock as Linux leaves it with nobody synchronising it: TIME_ERROR
 * (5) with STA_UNSYNC, the errors at their limit, 500 ppm tolerance */
KT_CASE(adjtimex_reads_an_unsynchronised_clock) {
    struct timex tx = {0};
    KT_SYS_RET(adjtimex(&tx), TIME_ERROR);
    KT_TRUE(tx.status & STA_UNSYNC, "status %#x", tx.status);
    KT_EQ(tx.offset, 0);
    KT_EQ(tx.maxerror, 16000000);
    KT_EQ(tx.esterror, 16000000);
    KT_EQ(tx.precision, 1);
    KT_EQ(tx.tolerance, 32768000);
    KT_EQ(tx.tick, 10000);
    KT_EQ(tx.tai, 0);
    struct timeval now;
    gettimeofday(&now, 0);
    KT_TRUE(tx.time.tv_sec <= now.tv_sec && tx.time.tv_sec + 2 >= now.tv_sec, "%ld %ld", (long)tx.time.tv_sec,
            (long)now.tv_sec);
    KT_TRUE(tx.time.tv_usec >= 0 && tx.time.tv_usec < 1000000, "%ld", (long)tx.time.tv_usec);
    /* adjtime(NULL, &old): nothing left to slew */
    struct timex ss = {.modes = ADJ_OFFSET_SS_READ};
    KT_SYS_RET(adjtimex(&ss), TIME_ERROR);
    KT_EQ(ss.offset, 0);
    struct timex c = {0};
    KT_SYS_RET(clock_adjtime(CLOCK_REALTIME, &c), TIME_ERROR);
    KT_EQ(c.tolerance, 32768000);
    KT_SYS_ERR(clock_adjtime(CLOCK_MONOTONIC, &c), EOPNOTSUPP);
    KT_SYS_ERR(clock_adjtime(CLOCK_BOOTTIME, &c), EOPNOTSUPP);
    KT_SYS_ERR(clock_adjtime(10, &c), EINVAL);
    KT_SYS_ERR(clock_adjtime(100, &c), EINVAL);
    KT_SYS_ERR(adjtimex((struct timex *)8), EFAULT);
}

KT_CASE(adjtimex_changes_need_cap_sys_time_and_valid_values) {
    struct timex tx = {.modes = 0x8000}; /* ADJ_ADJTIME without ADJ_OFFSET */
    KT_SYS_ERR(adjtimex(&tx), EINVAL);
    tx = (struct timex){.modes = ADJ_TICK, .tick = 5000};
    KT_SYS_ERR(adjtimex(&tx), EINVAL);
    tx = (struct timex){.modes = ADJ_SETOFFSET, .time = {0, 1000000}};
    KT_SYS_ERR(adjtimex(&tx), EINVAL);
    tx = (struct timex){.modes = ADJ_FREQUENCY, .freq = 0x7fffffffffffffffL / 65536000 + 1};
    KT_SYS_ERR(adjtimex(&tx), EINVAL);
    pid_t c = KT_FORK();
    if (c == 0) {
        KT_CK(1, setuid(65534) == 0);
        struct timex u = {.modes = ADJ_FREQUENCY, .freq = 65536};
        KT_CK(2, adjtimex(&u) == -1 && errno == EPERM);
        u = (struct timex){.modes = ADJ_OFFSET_SINGLESHOT, .offset = 10};
        KT_CK(3, adjtimex(&u) == -1 && errno == EPERM);
        u = (struct timex){.modes = ADJ_OFFSET_SS_READ};
        KT_CK(4, adjtimex(&u) == TIME_ERROR);
        u = (struct timex){0};
        KT_CK(5, adjtimex(&u) == TIME_ERROR);
        _exit(0);
    }
    int st;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, kt_exited(0));
}

/* root writes the NTP state and reads it back (then puts it back) */
KT_CASE(adjtimex_keeps_what_root_writes) {
    struct timex tx = {.modes = ADJ_FREQUENCY | ADJ_ESTERROR | ADJ_TIMECONST, .freq = 10 * 65536, .esterror = 77,
                       .constant = 3};
    KT_SYS_RET(adjtimex(&tx), TIME_ERROR);
    KT_EQ(tx.freq, 10 * 65536);
    KT_EQ(tx.esterror, 77);
    KT_EQ(tx.constant, 7); /* +4 in microsecond mode */
    /* beyond 500 ppm: clamped */
    tx = (struct timex){.modes = ADJ_FREQUENCY, .freq = 1L << 30};
    KT_SYS_RET(adjtimex(&tx), TIME_ERROR);
    KT_EQ(tx.freq, 32768000);
    tx = (struct timex){.modes = ADJ_MAXERROR, .maxerror = 1000};
    KT_SYS_RET(adjtimex(&tx), TIME_ERROR);
    KT_TRUE(tx.maxerror == 1000 || tx.maxerror == 1500, "maxerror %ld", tx.maxerror);
    /* synchronised: TIME_OK; nanosecond mode shows nanoseconds */
    tx = (struct timex){.modes = ADJ_STATUS | ADJ_NANO, .status = 0};
    KT_SYS_RET(adjtimex(&tx), TIME_OK);
    KT_EQ(tx.status, STA_NANO);
    KT_TRUE(tx.time.tv_usec >= 0 && tx.time.tv_usec < 1000000000, "%ld", (long)tx.time.tv_usec);
    /* the read-only bits stay the kernel's */
    tx = (struct timex){.modes = ADJ_STATUS | ADJ_MICRO, .status = STA_UNSYNC | STA_CLOCKERR};
    KT_SYS_RET(adjtimex(&tx), TIME_ERROR);
    KT_EQ(tx.status, STA_UNSYNC);
    /* clamped to 0..10 first, then +4 in microsecond mode */
    tx = (struct timex){.modes = ADJ_TIMECONST, .constant = -2};
    KT_SYS_RET(adjtimex(&tx), TIME_ERROR);
    KT_EQ(tx.constant, 4);
    tx = (struct timex){.modes = ADJ_TIMECONST, .constant = 99};
    KT_SYS_RET(adjtimex(&tx), TIME_ERROR);
    KT_EQ(tx.constant, 10);
    /* back as at boot: 2 is reached in nanosecond mode only */
    tx = (struct timex){.modes = ADJ_FREQUENCY | ADJ_MAXERROR | ADJ_ESTERROR | ADJ_TIMECONST | ADJ_NANO,
                        .freq = 0,
                        .maxerror = 16000000,
                        .esterror = 16000000,
                        .constant = 2};
    KT_SYS_RET(adjtimex(&tx), TIME_ERROR);
    KT_EQ(tx.freq, 0);
    KT_EQ(tx.constant, 2);
    KT_EQ(tx.maxerror, 16000000);
    tx = (struct timex){.modes = ADJ_MICRO};
    KT_SYS_RET(adjtimex(&tx), TIME_ERROR);
    KT_EQ(tx.status, STA_UNSYNC);
    KT_EQ(tx.constant, 2);
}

/* review41's finding 6: maxerror and esterror are clamped to
 * 0..NTP_PHASE_LIMIT (16 s) on write (6.1.104's stable backport) */
KT_CASE(adjtimex_clamps_maxerror_and_esterror) {
    struct timex tx = {.modes = ADJ_MAXERROR | ADJ_ESTERROR, .maxerror = -5, .esterror = 1L << 40};
    KT_SYS_RET(adjtimex(&tx), TIME_ERROR);
    tx = (struct timex){.modes = 0};
    KT_SYS_RET(adjtimex(&tx), TIME_ERROR);
    /* it grows by 500 us a second from 0 */
    KT_TRUE(tx.maxerror >= 0 && tx.maxerror <= 1000, "maxerror %ld", tx.maxerror);
    KT_EQ(tx.esterror, 16000000);
    tx = (struct timex){.modes = ADJ_MAXERROR | ADJ_ESTERROR, .maxerror = 1L << 40, .esterror = -7};
    KT_SYS_RET(adjtimex(&tx), TIME_ERROR);
    tx = (struct timex){.modes = 0};
    KT_SYS_RET(adjtimex(&tx), TIME_ERROR);
    KT_EQ(tx.maxerror, 16000000);
    KT_EQ(tx.esterror, 0);
    /* back as at boot */
    tx = (struct timex){.modes = ADJ_MAXERROR | ADJ_ESTERROR, .maxerror = 16000000, .esterror = 16000000};
    KT_SYS_RET(adjtimex(&tx), TIME_ERROR);
    KT_EQ(tx.esterror, 16000000);
}

#ifndef TCGETA
#define TCGETA 0x5405
#define TCSETA 0x5406
#define TCSETAW 0x5407
#define TCSETAF 0x5408
#endif
#ifndef TIOCGLCKTRMIOS
#define TIOCGLCKTRMIOS 0x5456
#define TIOCSLCKTRMIOS 0x5457
#endif

/* the System V struct termio (sys/ioctl.h's, 17 bytes used) */
struct kt_termio {
    unsigned short c_iflag, c_oflag, c_cflag, c_lflag;
    unsigned char c_line, c_cc[8];
};

static int open_pty(int *slave) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m)) return -1;
    *slave = open(ptsname(m), O_RDWR | O_NOCTTY);
    return *slave < 0 ? -1 : m;
}

KT_CASE(pty_termio_ioctls) {
    int s, m = open_pty(&s);
    KT_SYS_OK(m);
    struct termios t;
    KT_SYS_OK(tcgetattr(s, &t));
    struct kt_termio o;
    memset(&o, 0xee, sizeof o);
    KT_SYS_RET(ioctl(s, TCGETA, &o), 0);
    KT_EQ(o.c_iflag, (unsigned short)t.c_iflag);
    KT_EQ(o.c_lflag, (unsigned short)t.c_lflag);
    KT_EQ(o.c_cflag, (unsigned short)t.c_cflag);
    KT_EQ(o.c_cc[VINTR], t.c_cc[VINTR]);
    KT_EQ(o.c_cc[VMIN], t.c_cc[VMIN]);
    /* from the master too: the slave's */
    struct kt_termio om;
    KT_SYS_RET(ioctl(m, TCGETA, &om), 0);
    KT_EQ(memcmp(&om, &o, 17), 0);
    o.c_lflag &= ~ECHO;
    o.c_cc[VINTR] = 7;
    KT_SYS_RET(ioctl(s, TCSETA, &o), 0);
    struct termios t2;
    KT_SYS_OK(tcgetattr(s, &t2));
    KT_EQ(t2.c_lflag & ECHO, 0);
    KT_EQ(t2.c_lflag | ECHO, t.c_lflag);
    KT_EQ(t2.c_cc[VINTR], 7);
    /* VSTART (index 8) is not in a termio: kept */
    KT_EQ(t2.c_cc[VSTART], t.c_cc[VSTART]);
    KT_SYS_RET(ioctl(s, TCSETAW, &o), 0);
    KT_SYS_RET(ioctl(s, TCSETAF, &o), 0);
    /* tcdrain and a break: nothing to wait for on a pty */
    KT_SYS_OK(tcdrain(s));
    KT_SYS_OK(tcdrain(m));
    KT_SYS_RET(ioctl(s, TCSBRK, 0), 0);
    KT_SYS_RET(ioctl(s, TCSBRKP, 0), 0);
    KT_SYS_OK(tcsetattr(s, TCSANOW, &t));
    close(s);
    close(m);
}

KT_CASE(pty_termios_lock) {
    int s, m = open_pty(&s);
    KT_SYS_OK(m);
    struct termios lock;
    memset(&lock, 0xee, sizeof lock);
    KT_SYS_RET(ioctl(s, TIOCGLCKTRMIOS, &lock), 0);
    KT_EQ(lock.c_lflag | lock.c_iflag | lock.c_cflag | lock.c_oflag, 0);
    KT_EQ(lock.c_cc[VINTR], 0);
    memset(&lock, 0, sizeof lock);
    lock.c_lflag = ECHO;
    lock.c_cc[VINTR] = 1;
    KT_SYS_RET(ioctl(s, TIOCSLCKTRMIOS, &lock), 0);
    struct termios t, t2;
    KT_SYS_OK(tcgetattr(s, &t));
    KT_TRUE(t.c_lflag & ECHO, "ECHO on at first");
    t2 = t;
    t2.c_lflag &= ~(ECHO | ICANON);
    t2.c_cc[VINTR] = 9;
    t2.c_cc[VQUIT] = 9;
    KT_SYS_OK(tcsetattr(s, TCSANOW, &t2));
    KT_SYS_OK(tcgetattr(s, &t2));
    KT_TRUE(t2.c_lflag & ECHO, "ECHO is locked on");
    KT_EQ(t2.c_lflag & ICANON, 0);
    KT_EQ(t2.c_cc[VINTR], t.c_cc[VINTR]);
    KT_EQ(t2.c_cc[VQUIT], 9);
    struct termios got;
    KT_SYS_RET(ioctl(m, TIOCGLCKTRMIOS, &got), 0);
    KT_EQ(got.c_lflag, ECHO);
    pid_t c = KT_FORK();
    if (c == 0) {
        KT_CK(1, setuid(65534) == 0);
        struct termios none;
        memset(&none, 0, sizeof none);
        KT_CK(2, ioctl(s, TIOCSLCKTRMIOS, &none) == -1 && errno == EPERM);
        KT_CK(3, ioctl(s, TIOCGLCKTRMIOS, &none) == 0 && none.c_lflag == ECHO);
        _exit(0);
    }
    int st;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, kt_exited(0));
    memset(&lock, 0, sizeof lock);
    KT_SYS_RET(ioctl(s, TIOCSLCKTRMIOS, &lock), 0);
    KT_SYS_OK(tcsetattr(s, TCSANOW, &t));
    close(s);
    close(m);
}

KT_CASE(io_uring_fadvise_and_madvise) {
    struct ring r;
    KT_SYS_OK(ring_init(&r, 8, 0));
    int fd = open("/tmp/misc_uring", O_RDWR | O_CREAT | O_TRUNC, 0644);
    KT_SYS_OK(fd);
    KT_SYS_RET(write(fd, "data", 4), 4);
    struct sqe *s = prep(&r, OP_FADVISE, fd, 0, 4096, 0, 1);
    s->op_flags = POSIX_FADV_WILLNEED;
    s = prep(&r, OP_FADVISE, fd, 0, 0, 0, 2);
    s->op_flags = 99;
    s = prep(&r, OP_FADVISE, 12345, 0, 0, 0, 3);
    s->op_flags = POSIX_FADV_NORMAL;
    char *page = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(page != MAP_FAILED, "mmap");
    page[0] = 'x';
    s = prep(&r, OP_MADVISE, -1, page, 4096, 0, 4);
    s->op_flags = MADV_DONTNEED;
    s = prep(&r, OP_MADVISE, -1, page, 4096, 0, 5);
    s->op_flags = 12345;
    KT_SYS_RET(submit(&r, 5), 5);
    struct cqe c[8];
    int n = wait_reap(&r, 5, c, 8);
    KT_EQ(n, 5);
    KT_EQ(res_of(c, n, 1), 0);
    KT_EQ(res_of(c, n, 2), -EINVAL);
    KT_EQ(res_of(c, n, 3), -EBADF);
    KT_EQ(res_of(c, n, 4), 0);
    KT_EQ(res_of(c, n, 5), -EINVAL);
    KT_EQ(page[0], 0);
    /* the preps' zero fields: addr for FADVISE, off for MADVISE */
    s = prep(&r, OP_FADVISE, fd, page, 0, 0, 6);
    s = prep(&r, OP_MADVISE, -1, page, 4096, 8, 7);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_SYS_RET(submit(&r, 1), 1);
    n = wait_reap(&r, 2, c, 8);
    KT_EQ(n, 2);
    KT_EQ(res_of(c, n, 6), -EINVAL);
    KT_EQ(res_of(c, n, 7), -EINVAL);
    munmap(page, 4096);
    close(fd);
    unlink("/tmp/misc_uring");
    ring_exit(&r);
}

/* review41's finding 5: SYNC_FILE_RANGE, FALLOCATE and FADVISE on a
 * registered file (IOSQE_FIXED_FILE) run on it (opdef.c's needs_file) */
KT_CASE(io_uring_fixed_file_sync_fallocate_fadvise) {
    struct ring r;
    KT_SYS_OK(ring_init(&r, 8, 0));
    int fd = open("/tmp/misc_uring_fixed", O_RDWR | O_CREAT | O_TRUNC, 0644);
    KT_SYS_OK(fd);
    int fds[1] = {fd};
    KT_SYS_RET(u_register(r.fd, REG_FILES, fds, 1), 0);
    /* fallocate(mode 0, off 0, length 4096): addr is the length */
    prep(&r, OP_FALLOCATE, 0, (void *)4096, 0, 0, 1)->flags = SQE_FIXED_FILE;
    prep(&r, OP_SYNC_FILE_RANGE, 0, 0, 0, 0, 2)->flags = SQE_FIXED_FILE;
    struct sqe *s = prep(&r, OP_FADVISE, 0, 0, 4096, 0, 3);
    s->flags = SQE_FIXED_FILE;
    s->op_flags = POSIX_FADV_WILLNEED;
    /* an empty slot: EBADF */
    prep(&r, OP_SYNC_FILE_RANGE, 5, 0, 0, 0, 4)->flags = SQE_FIXED_FILE;
    KT_SYS_RET(submit(&r, 1), 1);
    KT_SYS_RET(submit(&r, 3), 3);
    struct cqe c[8];
    int n = wait_reap(&r, 4, c, 8);
    KT_EQ(n, 4);
    KT_EQ(res_of(c, n, 1), 0);
    KT_EQ(res_of(c, n, 2), 0);
    KT_EQ(res_of(c, n, 3), 0);
    KT_EQ(res_of(c, n, 4), -EBADF);
    struct stat st;
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_size, 4096);
    close(fd);
    unlink("/tmp/misc_uring_fixed");
    ring_exit(&r);
}

/* no swap here; Linux's errors in Linux's order: flags, privilege, the
 * path (opened read-write), then what cannot be a swap area */
KT_CASE(swapon_and_swapoff_errors) {
    int fd = open("/tmp/misc_swap", O_RDWR | O_CREAT | O_TRUNC, 0600);
    KT_SYS_OK(fd);
    char page[4096] = {0};
    for (int i = 0; i < 16; i++) KT_SYS_RET(write(fd, page, sizeof page), 4096);
    close(fd);
    KT_SYS_ERR(syscall(SYS_swapon, "/tmp/misc_swap", 0x80000), EINVAL);
    KT_SYS_ERR(syscall(SYS_swapon, "/tmp/misc_swap", 0), EINVAL);
    KT_SYS_ERR(syscall(SYS_swapon, "/tmp/misc_none", 0), ENOENT);
    KT_SYS_ERR(syscall(SYS_swapon, "/tmp", 0), EISDIR);
    KT_SYS_ERR(syscall(SYS_swapoff, "/tmp/misc_swap"), EINVAL);
    KT_SYS_ERR(syscall(SYS_swapoff, "/tmp/misc_none"), ENOENT);
    pid_t c = KT_FORK();
    if (c == 0) {
        KT_CK(1, setuid(65534) == 0);
        KT_CK(2, syscall(SYS_swapon, "/tmp/misc_none", 0) == -1 && errno == EPERM);
        KT_CK(3, syscall(SYS_swapoff, "/tmp/misc_none") == -1 && errno == EPERM);
        /* the flags come before the privilege */
        KT_CK(4, syscall(SYS_swapon, "/tmp/misc_none", 0x80000) == -1 && errno == EINVAL);
        _exit(0);
    }
    int st;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, kt_exited(0));
    unlink("/tmp/misc_swap");
}

KT_MAIN()
