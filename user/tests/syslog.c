/* syslog(2), what dmesg(1) reads the kernel's log buffer with, as Linux
 * answers it: the buffer's size, READ_ALL's whole lines in syslog's
 * format (`<N>[seconds.micros] ...`), the argument checks (EINVAL), and
 * EPERM for a user without CAP_SYSLOG (Debian's kernel.dmesg_restrict
 * is 1). */
#include "kt.h"

#include <fcntl.h>

#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define READ 2
#define READ_ALL 3
#define SIZE_UNREAD 9
#define SIZE_BUFFER 10

KT_CASE(syslog_size_buffer_is_a_power_of_two) {
    long n = KT_SYS_OK(klogctl(SIZE_BUFFER, 0, 0));
    KT_TRUE(n >= 4096 && (n & (n - 1)) == 0, "log buffer of %ld bytes", n);
    /* counted in formatted bytes: a full log of short records (a test
     * that floods /dev/kmsg) has more than the buffer's size unread */
    long u = KT_SYS_OK(klogctl(SIZE_UNREAD, 0, 0));
    KT_TRUE(u >= 0, "%ld unread of %ld", u, n);
}

KT_CASE(syslog_read_all_gives_whole_lines_in_syslog_format) {
    long size = KT_SYS_OK(klogctl(SIZE_BUFFER, 0, 0));
    char *buf = malloc(size + 1);
    KT_TRUE(buf != 0, "malloc");
    long n = KT_SYS_OK(klogctl(READ_ALL, buf, size));
    KT_TRUE(n > 0 && n <= size, "read %ld of %ld", n, size);
    buf[n] = 0;
    KT_EQ(buf[n - 1], '\n');
    /* every line: <level>[ seconds.micros] text */
    int lines = 0;
    for (char *l = buf; *l; lines++) {
        char *end = strchr(l, '\n');
        KT_TRUE(end != 0, "unterminated line");
        int lvl = -1;
        unsigned long s = 0, us = 0;
        char rest;
            /* the level, with the facility of records written to /dev/kmsg
         * (user: <12> for level 4) */
        KT_TRUE(sscanf(l, "<%d>[%lu.%6lu]%c", &lvl, &s, &us, &rest) == 4 && lvl >= 0 && lvl <= 191 && rest == ' ',
                "line %d: %.60s", lines, l);
        l = end + 1;
    }
    KT_TRUE(lines > 0, "no lines");
    /* a short buffer gets the most recent whole lines */
    char small[200];
    long m = KT_SYS_OK(klogctl(READ_ALL, small, sizeof small));
    KT_TRUE(m <= (long)sizeof small, "%ld", m);
    if (m > 0) {
        KT_EQ(small[m - 1], '\n');
        KT_TRUE(small[0] == '<', "starts with %c", small[0]);
    }
    free(buf);
}

KT_CASE(syslog_bad_arguments_are_einval) {
    char b[16];
    KT_SYS_ERR(klogctl(READ_ALL, 0, 16), EINVAL);
    KT_SYS_ERR(klogctl(READ_ALL, b, -1), EINVAL);
    KT_SYS_RET(klogctl(READ_ALL, b, 0), 0);
    KT_SYS_ERR(klogctl(11, b, 16), EINVAL);
    KT_SYS_ERR(klogctl(-1, b, 16), EINVAL);
    KT_SYS_ERR(klogctl(8, 0, 0), EINVAL);
    KT_SYS_ERR(klogctl(8, 0, 9), EINVAL);
    /* a bad buffer faults once a line is copied into it; 16 bytes hold
     * no whole line, so nothing is copied */
    KT_SYS_RET(klogctl(READ_ALL, (char *)8, 16), 0);
    long size = KT_SYS_OK(klogctl(SIZE_BUFFER, 0, 0));
    KT_SYS_ERR(klogctl(READ_ALL, (char *)8, size), EFAULT);
    KT_SYS_RET(klogctl(0, 0, 0), 0);
    KT_SYS_RET(klogctl(1, 0, 0), 0);
}

/* SYSLOG_ACTION_READ copies line by line as Linux's syslog_print: each
 * line is consumed before it is copied, so a fault loses that one line
 * (EFAULT) and the lines after it stay unread; once a line was copied, a
 * buffer too short for the next whole line ends the read before it. */
KT_CASE(syslog_read_after_a_fault_still_sees_the_later_lines) {
    long size = KT_SYS_OK(klogctl(SIZE_BUFFER, 0, 0));
    /* read what earlier tests left unread (a flood of /dev/kmsg can leave
     * more than one READ_ALL holds), then log four fresh lines */
    {
        char *drain = malloc(size + 1);
        KT_TRUE(drain != 0, "malloc");
        for (int i = 0; i < 64 && klogctl(SIZE_UNREAD, 0, 0) > 0; i++)
            KT_SYS_OK(klogctl(READ, drain, size));
        free(drain);
        int k = open("/dev/kmsg", O_WRONLY);
        for (int i = 0; k >= 0 && i < 4; i++) {
            char m[48];
            int len = snprintf(m, sizeof m, "kt_syslog_fresh_%d\n", i);
            KT_SYS_RET(write(k, m, len), len);
        }
        if (k >= 0) close(k);
    }
    long unread = KT_SYS_OK(klogctl(SIZE_UNREAD, 0, 0));
    if (unread == 0) KT_SKIP("no unread lines in the log buffer");
    char *all = malloc(size + 1);
    char *got = malloc(size + 1);
    KT_TRUE(all != 0 && got != 0, "malloc");
    long n = KT_SYS_OK(klogctl(READ_ALL, all, size));
    KT_TRUE(n >= unread, "read_all %ld, unread %ld", n, unread);
    all[n] = 0;
    /* the unread part: the last `unread` bytes, whole lines */
    char *l1 = all + n - unread;
    KT_TRUE(l1 == all || l1[-1] == '\n', "unread part starts mid-line");
    char *l2 = strchr(l1, '\n') + 1;
    if (!*l2) KT_SKIP("one unread line only");
    char *l3 = strchr(l2, '\n') + 1;
    char *l4 = *l3 ? strchr(l3, '\n') + 1 : l3;
    char *bad = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(bad != MAP_FAILED, "mmap");
    KT_SYS_ERR(klogctl(READ, bad, 4096), EFAULT);
    /* only the first line went */
    KT_SYS_RET(klogctl(SIZE_UNREAD, 0, 0), all + n - l2);
    /* one byte short of lines 2 and 3: line 2 only (with no line 3, the
     * first line of a read is cut to the buffer: one byte short of it) */
    long want = *l3 ? l3 - l2 : l3 - l2 - 1;
    KT_SYS_RET(klogctl(READ, got, (int)(l4 - l2 - 1)), want);
    KT_TRUE(memcmp(got, l2, want) == 0, "read %.*s, not %.*s", (int)want, got, (int)want, l2);
    /* the rest, whole */
    char *rest = l2 + want;
    KT_SYS_RET(klogctl(READ, got, size), all + n - rest);
    KT_TRUE(memcmp(got, rest, all + n - rest) == 0, "the rest differs");
    KT_SYS_RET(klogctl(SIZE_UNREAD, 0, 0), 0);
    munmap(bad, 4096);
    free(got);
    free(all);
}

KT_CASE(syslog_without_cap_syslog_is_eperm) {
    pid_t c = KT_FORK();
    if (c == 0) {
        char b[64];
        if (setuid(65534)) _exit(1);
        if (klogctl(READ_ALL, b, sizeof b) != -1 || errno != EPERM) _exit(2);
        if (klogctl(SIZE_BUFFER, 0, 0) != -1 || errno != EPERM) _exit(3);
        if (klogctl(11, 0, 0) != -1 || errno != EPERM) _exit(4);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_MAIN()
