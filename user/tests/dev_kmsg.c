/*
 * dev_kmsg: /dev/kmsg as Linux 6.1's devkmsg_read/write/llseek: one record
 * per read ("prio,seq,usec,flags;text\n"), EAGAIN at the end with
 * O_NONBLOCK, EINVAL for a buffer shorter than the record, EPIPE once when
 * the reader's next record was overwritten, lseek with offset 0 only
 * (SEEK_SET, SEEK_DATA, SEEK_END; ESPIPE, EINVAL), a write logged as one
 * record with the user facility (syslog(2) shows it too). Only the
 * records the test writes itself are looked at. Every write ends in a
 * newline: on Linux a record without one stays open (unreadable) until
 * the next record is stored.
 */
#include "kt.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/klog.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char rec[4096];

/* Reads records from `fd` (non-blocking) until one whose text is `text`;
 * its prio and seq; 0 when found, -1 at the end. */
static int find_record(int fd, const char *text, unsigned *prio, unsigned long long *seq) {
    for (;;) {
        ssize_t n = read(fd, rec, sizeof rec - 1);
        if (n < 0 && errno == EPIPE) continue;
        if (n <= 0) return -1;
        rec[n] = 0;
        unsigned p;
        unsigned long long s, us;
        char flag;
        int off = 0;
        if (sscanf(rec, "%u,%llu,%llu,%c%n", &p, &s, &us, &flag, &off) != 4) continue;
        char *semi = strchr(rec, ';');
        if (!semi) continue;
        size_t tl = strlen(text);
        if (strncmp(semi + 1, text, tl) == 0 && semi[1 + tl] == '\n' && semi[2 + tl] == 0) {
            *prio = p;
            *seq = s;
            return 0;
        }
    }
}

KT_CASE(node_is_char_1_11) {
    struct stat st;
    KT_SYS_RET(stat("/dev/kmsg", &st), 0);
    KT_TRUE(S_ISCHR(st.st_mode), "mode %o", st.st_mode);
    KT_EQ(major(st.st_rdev), 1);
    KT_EQ(minor(st.st_rdev), 11);
}

KT_CASE(write_is_one_record_with_user_facility) {
    char a[64], b[64], msg[80];
    sprintf(a, "kt_kmsg_plain_%d", getpid());
    sprintf(b, "kt_kmsg_level5_%d", getpid());
    int w = KT_SYS_OK(open("/dev/kmsg", O_WRONLY));
    sprintf(msg, "%s\n", a);
    KT_SYS_RET(write(w, msg, strlen(msg)), (long)strlen(msg));
    sprintf(msg, "<5>%s\n", b);
    KT_SYS_RET(write(w, msg, strlen(msg)), (long)strlen(msg));
    close(w);
    int r = KT_SYS_OK(open("/dev/kmsg", O_RDONLY | O_NONBLOCK));
    unsigned pa, pb;
    unsigned long long sa, sb;
    KT_SYS_RET(find_record(r, a, &pa, &sa), 0);
    /* LOG_USER (1) << 3 | default level 4 */
    KT_EQ(pa, 12);
    KT_SYS_RET(find_record(r, b, &pb, &sb), 0);
    KT_EQ(pb, 13);
    KT_TRUE(sb > sa, "seq %llu then %llu", sa, sb);
    /* the end: EAGAIN */
    errno = 0;
    ssize_t n;
    while ((n = read(r, rec, sizeof rec)) > 0) {
    }
    KT_EQ(n, -1);
    KT_EQ(errno, EAGAIN);
    close(r);
    /* syslog(2)'s READ_ALL shows it with its priority */
    static char all[1 << 18];
    int len = KT_SYS_OK(klogctl(3, all, sizeof all));
    all[len] = 0;
    char want[96];
    sprintf(want, "] %s\n", a);
    char *at = strstr(all, want);
    KT_TRUE(at != NULL, "not in syslog: %s", a);
    char *line = at;
    while (line > all && line[-1] != '\n') line--;
    KT_TRUE(strncmp(line, "<12>[", 5) == 0, "line %.60s", line);
}

KT_CASE(small_buffer_is_einval_and_passes_the_record) {
    char m[64];
    sprintf(m, "kt_kmsg_small_%d", getpid());
    char ml[80];
    sprintf(ml, "%s\n", m);
    int w = KT_SYS_OK(open("/dev/kmsg", O_WRONLY));
    KT_SYS_RET(write(w, ml, strlen(ml)), (long)strlen(ml));
    KT_SYS_RET(write(w, "kt_kmsg_after\n", 14), 14);
    close(w);
    int r = KT_SYS_OK(open("/dev/kmsg", O_RDONLY | O_NONBLOCK));
    /* up to the record before ours: find ours by seq */
    unsigned p;
    unsigned long long s;
    KT_SYS_RET(find_record(r, m, &p, &s), 0);
    KT_SYS_RET(lseek(r, 0, SEEK_SET), 0);
    /* walk to the record just before ours with full reads, then a short one */
    for (;;) {
        ssize_t n = read(r, rec, sizeof rec - 1);
        KT_TRUE(n > 0, "read %zd errno %d", n, errno);
        rec[n] = 0;
        unsigned pp;
        unsigned long long ss;
        if (sscanf(rec, "%u,%llu,", &pp, &ss) == 2 && ss + 1 == s) break;
    }
    char tiny[8];
    KT_SYS_ERR(read(r, tiny, sizeof tiny), EINVAL);
    /* the record was passed: the next read is the one after it */
    ssize_t n = KT_SYS_OK(read(r, rec, sizeof rec - 1));
    rec[n] = 0;
    unsigned long long next;
    KT_TRUE(sscanf(rec, "%*u,%llu,", &next) == 1, "record %s", rec);
    KT_EQ(next, s + 1);
    close(r);
}

KT_CASE(lseek_rules) {
    int r = KT_SYS_OK(open("/dev/kmsg", O_RDONLY | O_NONBLOCK));
    KT_SYS_ERR(lseek(r, 1, SEEK_SET), ESPIPE);
    KT_SYS_ERR(lseek(r, 0, SEEK_CUR), EINVAL);
    KT_SYS_RET(lseek(r, 0, SEEK_END), 0);
    KT_SYS_ERR(read(r, rec, sizeof rec), EAGAIN);
    KT_SYS_RET(lseek(r, 0, SEEK_DATA), 0);
    KT_SYS_RET(lseek(r, 0, SEEK_SET), 0);
    KT_TRUE(read(r, rec, sizeof rec) > 0, "no first record");
    close(r);
}

/* A write with a newline inside is one record (Linux prints it escaped,
 * ours as a space): the records after it keep consecutive numbers, and a
 * reader that has read them all has nothing pending (poll, read). */
KT_CASE(embedded_newline_is_one_record) {
    char a[64], b[64], msg[160];
    sprintf(a, "kt_kmsg_after_nl_%d", getpid());
    sprintf(b, "kt_kmsg_after_nl2_%d", getpid());
    int r = KT_SYS_OK(open("/dev/kmsg", O_RDONLY | O_NONBLOCK));
    KT_SYS_RET(lseek(r, 0, SEEK_END), 0);
    int w = KT_SYS_OK(open("/dev/kmsg", O_WRONLY));
    sprintf(msg, "kt_kmsg_nl_%d\nsecond line\n", getpid());
    KT_SYS_RET(write(w, msg, strlen(msg)), (long)strlen(msg));
    sprintf(msg, "%s\n", a);
    KT_SYS_RET(write(w, msg, strlen(msg)), (long)strlen(msg));
    sprintf(msg, "%s\n", b);
    KT_SYS_RET(write(w, msg, strlen(msg)), (long)strlen(msg));
    close(w);
    unsigned pa, pb;
    unsigned long long sa, sb;
    KT_EQ(find_record(r, a, &pa, &sa), 0);
    KT_EQ(find_record(r, b, &pb, &sb), 0);
    KT_EQ(sb, sa + 1);
    struct pollfd p = {.fd = r, .events = POLLIN};
    KT_SYS_RET(poll(&p, 1, 0), 0);
    KT_SYS_ERR(read(r, rec, sizeof rec), EAGAIN);
    close(r);
}

KT_CASE(too_long_write_is_einval) {
    static char big[2048];
    memset(big, 'x', sizeof big);
    int w = KT_SYS_OK(open("/dev/kmsg", O_WRONLY));
    KT_SYS_ERR(write(w, big, sizeof big), EINVAL);
    KT_SYS_RET(write(w, big, 900), 900);
    close(w);
}

KT_CASE(overwritten_record_is_epipe_once) {
    char m[64];
    sprintf(m, "kt_kmsg_first_%d", getpid());
    int w = KT_SYS_OK(open("/dev/kmsg", O_WRONLY));
    KT_SYS_RET(write(w, m, strlen(m)), (long)strlen(m));
    close(w);
    int r = KT_SYS_OK(open("/dev/kmsg", O_RDONLY | O_NONBLOCK));
    KT_SYS_RET(lseek(r, 0, SEEK_END), 0);
    KT_SYS_RET(write((w = KT_SYS_OK(open("/dev/kmsg", O_WRONLY))), "kt_kmsg_mark", 12), 12);
    close(w);
    /* 1 MiB of records through fresh files (a file may write 10 records
     * per 5 s before devkmsg's rate limit drops them) */
    static char line[901];
    memset(line, 'y', 900);
    for (int i = 0; i < 1200; i++) {
        if (i % 8 == 0) {
            if (i) close(w);
            w = KT_SYS_OK(open("/dev/kmsg", O_WRONLY));
        }
        KT_SYS_RET(write(w, line, 900), 900);
    }
    close(w);
    KT_SYS_ERR(read(r, rec, sizeof rec), EPIPE);
    KT_TRUE(read(r, rec, sizeof rec) > 0, "no record after EPIPE");
    close(r);
}

KT_CASE(reading_needs_cap_syslog) {
    if (geteuid() != 0) KT_SKIP("needs root");
    pid_t pid = fork();
    if (pid == 0) {
        if (setuid(65534) != 0) _exit(2);
        int fd = open("/dev/kmsg", O_RDONLY);
        if (!(fd < 0 && errno == EPERM)) _exit(1);
        fd = open("/dev/kmsg", O_WRONLY);
        _exit(fd < 0 && errno == EACCES ? 0 : 3);
    }
    KT_TRUE(pid > 0, "fork");
    KT_WAIT_STATUS(pid, kt_exited(0));
}

KT_MAIN()
