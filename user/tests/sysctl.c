/* /proc/sys knobs: read as "N\n", written by root with Linux's number
 * rules (proc_dointvec_minmax, proc_doulongvec_minmax, proc_dopipe_max_size:
 * EINVAL for text that is not one number in range), refused to others
 * (EACCES at open), a write past offset 0 ignored (sysctl_writes_strict),
 * and each value in force where it is enforced (suid_dumpable here; the
 * protected_* rules in isolation.c). Every value is read first and put
 * back: a bare Linux and ours may start from different ones. */
#include "kt.h"
#include <sys/utsname.h>

#include <grp.h>
#include <sys/prctl.h>

static const char *const KNOBS[] = {
    "fs/pipe-max-size",     "fs/pipe-user-pages-hard", "fs/pipe-user-pages-soft", "fs/protected_fifos",
    "fs/protected_hardlinks", "fs/protected_regular",  "fs/protected_symlinks",   "fs/suid_dumpable",
    "kernel/pid_max",       "kernel/threads-max",      "vm/max_map_count",
};
#define NKNOBS (int)(sizeof KNOBS / sizeof KNOBS[0])

static char path_buf[128];
static const char *knob(const char *name) {
    snprintf(path_buf, sizeof path_buf, "/proc/sys/%s", name);
    return path_buf;
}

/* the knob's value; -1 and a failure when it does not read as "N\n" */
static long get(const char *name) {
    char buf[64];
    int fd = open(knob(name), O_RDONLY);
    if (fd < 0) {
        kt_fail("open %s: %s", knob(name), kt_errname(errno));
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 2 || buf[n - 1] != '\n') {
        kt_fail("%s: read %zd bytes", name, n);
        return -1;
    }
    buf[n] = 0;
    char *end;
    long v = strtol(buf, &end, 10);
    if (*end != '\n') {
        kt_fail("%s: %s is not a number", name, buf);
        return -1;
    }
    return v;
}

/* write(2) of text to the knob: its return, or -errno */
static long put(const char *name, const char *text) {
    int fd = open(knob(name), O_WRONLY);
    if (fd < 0) return -errno;
    long r = write(fd, text, strlen(text));
    if (r < 0) r = -errno;
    close(fd);
    return r;
}

static long put_num(const char *name, long v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%ld\n", v);
    return put(name, buf);
}

KT_CASE(every_knob_reads_as_a_number_and_is_0644_root) {
    for (int i = 0; i < NKNOBS; i++) {
        long v = get(KNOBS[i]);
        KT_TRUE(v >= 0, "%s = %ld", KNOBS[i], v);
        struct stat st;
        KT_SYS_OK(stat(knob(KNOBS[i]), &st));
        KT_EQ(st.st_mode, S_IFREG | 0644);
        KT_EQ(st.st_uid, 0);
    }
    /* Linux's defaults for those that do not depend on the machine */
    KT_EQ(get("fs/pipe-max-size"), 1048576);
    KT_EQ(get("fs/pipe-user-pages-soft"), 16384);
    KT_EQ(get("fs/pipe-user-pages-hard"), 0);
    KT_EQ(get("vm/max_map_count"), 65530);
    KT_EQ(get("fs/suid_dumpable"), 0);
}

KT_CASE(root_writes_and_reads_back) {
    for (int i = 0; i < NKNOBS; i++) {
        const char *k = KNOBS[i];
        long old = get(k);
        long want = old;
        if (strstr(k, "protected_") || strstr(k, "suid_dumpable")) want = old ? 0 : 1;
        else if (strcmp(k, "fs/pipe-max-size") == 0) want = 2097152;
        else if (strcmp(k, "kernel/pid_max") == 0) want = old + 1;
        else want = old + 7;
        KT_EQ(put_num(k, want), (long)snprintf(NULL, 0, "%ld\n", want));
        KT_EQ(get(k), want);
        KT_TRUE(put_num(k, old) > 0, "%s put back", k);
        KT_EQ(get(k), old);
    }
}

KT_CASE(values_are_parsed_as_linux_does) {
    long old = get("fs/protected_fifos");
    /* spaces around, a second number left unwritten, octal and hex */
    KT_EQ(put("fs/protected_fifos", "  2 \n"), 5);
    KT_EQ(get("fs/protected_fifos"), 2);
    KT_EQ(put("fs/protected_fifos", "1 0"), 2);
    KT_EQ(get("fs/protected_fifos"), 1);
    KT_EQ(put("fs/protected_fifos", "0x2"), 3);
    KT_EQ(get("fs/protected_fifos"), 2);
    KT_EQ(put("fs/protected_fifos", "00"), 2);
    KT_EQ(get("fs/protected_fifos"), 0);
    /* out of range, signs, garbage, nothing: EINVAL, value kept */
    KT_EQ(put("fs/protected_fifos", "3"), -EINVAL);
    KT_EQ(put("fs/protected_fifos", "-1"), -EINVAL);
    KT_EQ(put("fs/protected_fifos", "+1"), -EINVAL);
    KT_EQ(put("fs/protected_fifos", "1x"), -EINVAL);
    KT_EQ(put("fs/protected_fifos", "abc"), -EINVAL);
    KT_EQ(put("fs/protected_fifos", " \n"), -EINVAL);
    KT_EQ(put("fs/protected_fifos", "08"), -EINVAL);
    KT_EQ(put("fs/protected_hardlinks", "2"), -EINVAL);
    KT_EQ(put("kernel/threads-max", "0"), -EINVAL);
    KT_EQ(put("kernel/threads-max", "1073741824"), -EINVAL);
    KT_EQ(put("kernel/pid_max", "300"), -EINVAL);
    KT_EQ(put("kernel/pid_max", "4194305"), -EINVAL);
    KT_EQ(put("vm/max_map_count", "-1"), -EINVAL);
    KT_EQ(put("vm/max_map_count", "2147483648"), -EINVAL);
    KT_EQ(put("fs/pipe-user-pages-soft", "-1"), -EINVAL);
    KT_EQ(put("fs/pipe-max-size", "-4096"), -EINVAL);
    KT_EQ(put("fs/pipe-max-size", "2147483649"), -EINVAL);
    KT_EQ(get("fs/protected_fifos"), 0);
    /* an empty write: 0, nothing changes */
    KT_EQ(put("fs/protected_fifos", ""), 0);
    KT_EQ(get("fs/protected_fifos"), 0);
    KT_TRUE(put_num("fs/protected_fifos", old) > 0, "put back");
}

KT_CASE(pipe_max_size_rounds_up_to_a_power_of_two_pages) {
    long old = get("fs/pipe-max-size");
    KT_EQ(put("fs/pipe-max-size", "100000"), 6);
    KT_EQ(get("fs/pipe-max-size"), 131072);
    KT_EQ(put("fs/pipe-max-size", "0"), 1);
    KT_EQ(get("fs/pipe-max-size"), 4096);
    KT_EQ(put("fs/pipe-max-size", "4097"), 4);
    KT_EQ(get("fs/pipe-max-size"), 8192);
    KT_TRUE(put_num("fs/pipe-max-size", old) > 0, "put back");
    KT_EQ(get("fs/pipe-max-size"), old);
}

KT_CASE(a_number_is_read_whole_from_offset_zero_only) {
    char buf[16];
    long v = get("vm/max_map_count");
    char want[16];
    int len = snprintf(want, sizeof want, "%ld\n", v);
    int fd = KT_SYS_OK(open(knob("vm/max_map_count"), O_RDONLY));
    /* a short first read: the first bytes, no newline; then EOF */
    KT_SYS_RET(read(fd, buf, 2), 2);
    KT_EQ(memcmp(buf, want, 2), 0);
    KT_SYS_RET(read(fd, buf, sizeof buf), 0);
    KT_SYS_RET(pread(fd, buf, sizeof buf, 1), 0);
    KT_SYS_RET(pread(fd, buf, sizeof buf, 0), len);
    KT_EQ(memcmp(buf, want, len), 0);
    close(fd);
}

KT_CASE(a_write_past_offset_zero_changes_nothing) {
    long old = get("fs/protected_regular");
    int fd = KT_SYS_OK(open(knob("fs/protected_regular"), O_WRONLY));
    const char *other = old ? "0" : "1";
    KT_SYS_RET(pwrite(fd, other, 1, 1), 1);
    close(fd);
    KT_EQ(get("fs/protected_regular"), old);
}

static int become_nobody(void) {
    if (setgroups(0, 0) != 0 || setgid(65534) != 0 || setuid(65534) != 0) return -1;
    return 0;
}

KT_CASE(only_root_writes) {
    pid_t c = KT_FORK();
    if (c == 0) {
        KT_SYS_OK(become_nobody());
        for (int i = 0; i < NKNOBS; i++) {
            KT_SYS_ERR(open(knob(KNOBS[i]), O_WRONLY), EACCES);
            KT_SYS_ERR(open(knob(KNOBS[i]), O_RDWR), EACCES);
            int fd = KT_SYS_OK(open(knob(KNOBS[i]), O_RDONLY));
            close(fd);
        }
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* sysctl -w opens with fopen(path, "w"): O_CREAT|O_TRUNC on an existing
 * /proc/sys file is a plain open for writing (EACCES for a user). */
KT_CASE(fopen_w_is_an_open_for_writing) {
    const char *host = "/proc/sys/kernel/hostname";
    struct utsname u0, u1;
    KT_SYS_OK(uname(&u0));
    int fd = KT_SYS_OK(open(host, O_WRONLY | O_CREAT | O_TRUNC, 0666));
    /* proc_dostring: up to the newline, every byte reported */
    KT_SYS_RET(write(fd, "kt-host\nrest", 12), 12);
    close(fd);
    KT_SYS_OK(uname(&u1));
    KT_EQ(strcmp(u1.nodename, "kt-host"), 0);
    char b[80] = {0};
    fd = KT_SYS_OK(open(host, O_RDONLY));
    KT_SYS_RET(read(fd, b, sizeof b - 1), 8);
    close(fd);
    KT_EQ(strcmp(b, "kt-host\n"), 0);
    /* 70 bytes: the first 64 are kept */
    fd = KT_SYS_OK(open(host, O_WRONLY));
    char big[70];
    memset(big, 'h', sizeof big);
    KT_SYS_RET(write(fd, big, sizeof big), 70);
    close(fd);
    KT_SYS_OK(uname(&u1));
    KT_EQ(strlen(u1.nodename), 64);
    KT_SYS_OK(sethostname(u0.nodename, strlen(u0.nodename)));
    fd = KT_SYS_OK(open(knob(KNOBS[0]), O_WRONLY | O_CREAT | O_TRUNC, 0666));
    close(fd);
    pid_t c = KT_FORK();
    if (c == 0) {
        KT_SYS_OK(become_nobody());
        KT_SYS_ERR(open(host, O_WRONLY | O_CREAT | O_TRUNC, 0666), EACCES);
        KT_SYS_ERR(open(host, O_WRONLY), EACCES);
        KT_SYS_ERR(open(knob(KNOBS[0]), O_WRONLY | O_CREAT | O_TRUNC, 0666), EACCES);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* kernel/random as Linux 6.1's random.c: uuid is a new version 4 UUID per
 * read, boot_id one per boot, the pool always full, two 0644 knobs that
 * take writes and ignore them; /proc/cmdline is one line. */
static int slurp_text(const char *path, char *buf, int size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int n = (int)read(fd, buf, size - 1);
    close(fd);
    if (n >= 0) buf[n] = 0;
    return n;
}

static int is_v4_uuid(const char *u) {
    for (int i = 0; i < 36; i++) {
        char c = u[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return u[14] == '4' && strchr("89ab", u[19]) != 0 && u[36] == '\n';
}

KT_CASE(kernel_random_and_proc_cmdline) {
    char a[64], b[64];
    KT_SYS_RET(slurp_text("/proc/sys/kernel/random/uuid", a, sizeof a), 37);
    KT_SYS_RET(slurp_text("/proc/sys/kernel/random/uuid", b, sizeof b), 37);
    KT_TRUE(is_v4_uuid(a) && is_v4_uuid(b) && strcmp(a, b) != 0, "uuids %s %s", a, b);
    KT_SYS_RET(slurp_text("/proc/sys/kernel/random/boot_id", a, sizeof a), 37);
    KT_SYS_RET(slurp_text("/proc/sys/kernel/random/boot_id", b, sizeof b), 37);
    KT_TRUE(is_v4_uuid(a) && strcmp(a, b) == 0, "boot ids %s %s", a, b);
    KT_SYS_RET(slurp_text("/proc/sys/kernel/random/entropy_avail", a, sizeof a), 4);
    KT_EQ(strcmp(a, "256\n"), 0);
    KT_SYS_RET(slurp_text("/proc/sys/kernel/random/poolsize", a, sizeof a), 4);
    KT_EQ(strcmp(a, "256\n"), 0);
    int fd = KT_SYS_OK(open("/proc/sys/kernel/random/write_wakeup_threshold", O_WRONLY));
    KT_SYS_RET(write(fd, "64\n", 3), 3);
    close(fd);
    KT_SYS_RET(slurp_text("/proc/sys/kernel/random/write_wakeup_threshold", a, sizeof a), 4);
    KT_EQ(strcmp(a, "256\n"), 0);
    KT_SYS_RET(slurp_text("/proc/sys/kernel/random/urandom_min_reseed_secs", a, sizeof a), 3);
    KT_EQ(strcmp(a, "60\n"), 0);
    struct stat st;
    KT_SYS_OK(stat("/proc/sys/kernel/random/uuid", &st));
    KT_EQ(st.st_mode & 07777, 0444);
    KT_SYS_OK(stat("/proc/sys/kernel/random/write_wakeup_threshold", &st));
    KT_EQ(st.st_mode & 07777, 0644);
    char line[4096];
    int n = slurp_text("/proc/cmdline", line, sizeof line);
    /* the boot loader's line (empty without one) and a newline */
    KT_TRUE(n >= 1 && line[n - 1] == '\n' && strchr(line, '\n') == line + n - 1, "cmdline %d", n);
    KT_SYS_OK(stat("/proc/cmdline", &st));
    KT_EQ(st.st_mode & 07777, 0444);
}

/* commit_creds(): a change of euid makes the process's dumpable flag
 * fs.suid_dumpable (0: not dumpable, 2: root only) */
static int dumpable_after_setuid(void) {
    int r[2];
    if (pipe(r) != 0) return -1;
    pid_t c = fork();
    if (c == 0) {
        int ok = prctl(PR_GET_DUMPABLE) == 1 && setresuid(65534, 65534, 65534) == 0;
        char v = ok ? (char)prctl(PR_GET_DUMPABLE) : 9;
        write(r[1], &v, 1);
        _exit(0);
    }
    char v = 8;
    read(r[0], &v, 1);
    waitpid(c, 0, 0);
    close(r[0]);
    close(r[1]);
    return v;
}

KT_CASE(suid_dumpable_is_what_a_credential_change_leaves) {
    long old = get("fs/suid_dumpable");
    KT_EQ(put("fs/suid_dumpable", "0"), 1);
    KT_EQ(dumpable_after_setuid(), 0);
    KT_EQ(put("fs/suid_dumpable", "2"), 1);
    KT_EQ(dumpable_after_setuid(), 2);
    KT_EQ(put("fs/suid_dumpable", "1"), 1);
    KT_EQ(dumpable_after_setuid(), 1);
    KT_EQ(put("fs/suid_dumpable", "3"), -EINVAL);
    KT_TRUE(put_num("fs/suid_dumpable", old) > 0, "put back");
}

KT_CASE(threads_max_is_enforced_at_fork) {
    long old = get("kernel/threads-max");
    /* a limit below the threads alive: fork is EAGAIN (as root too) */
    KT_EQ(put("kernel/threads-max", "1"), 1);
    pid_t c = fork();
    int e = errno;
    if (c == 0) _exit(0);
    KT_TRUE(put_num("kernel/threads-max", old) > 0, "put back");
    if (c > 0) waitpid(c, 0, 0);
    KT_EQ(c, -1);
    KT_EQ(e, EAGAIN);
    c = KT_FORK();
    if (c == 0) _exit(0);
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(max_map_count_is_enforced_at_mmap) {
    long old = get("vm/max_map_count");
    /* a limit at the count in force: a new mapping is ENOMEM */
    KT_EQ(put("vm/max_map_count", "1"), 1);
    void *p = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int e = errno;
    KT_TRUE(put_num("vm/max_map_count", old) > 0, "put back");
    KT_TRUE(p == MAP_FAILED, "mmap with max_map_count 1");
    KT_EQ(e, ENOMEM);
    p = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(p != MAP_FAILED, "mmap after put back");
    munmap(p, 4096);
}

KT_MAIN()
