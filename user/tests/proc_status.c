/* /proc/PID/status's lines beyond the ids and sizes (umask, groups, the
 * NS* ids, the signal sets, SigQ, NoNewPrivs, the CPU mask, the context
 * switch counts, VmStk/VmExe), /proc/PID/mountinfo (ids that agree with
 * statx's mount id, the parent, the device, the root of a bind mount,
 * the per-mount and per-filesystem options), the read-only /proc/sys
 * values this kernel enforces, and the mode of the initramfs root. */
#define _GNU_SOURCE
#include "kt.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char buf[16384];

static int slurp(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    size_t len = 0;
    ssize_t n;
    while ((n = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += n;
    close(fd);
    buf[len] = 0;
    return n < 0 ? -1 : (int)len;
}

/* The value of `key:` in /proc/self/status (tab after the colon), or "". */
static const char *field(const char *key) {
    static char val[512];
    val[0] = 0;
    if (slurp("/proc/self/status") < 0) return val;
    size_t k = strlen(key);
    for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, key, k) == 0 && l[k] == ':' && l[k + 1] == '\t') {
            char *e = strchr(l, '\n');
            size_t n = e ? (size_t)(e - (l + k + 2)) : strlen(l + k + 2);
            if (n >= sizeof val) n = sizeof val - 1;
            memcpy(val, l + k + 2, n);
            val[n] = 0;
            break;
        }
    }
    return val;
}

static unsigned long long hexfield(const char *key) { return strtoull(field(key), NULL, 16); }

static void on_term(int s) { (void)s; }

KT_CASE(status_signal_sets) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    KT_SYS_OK(sigprocmask(SIG_BLOCK, &set, NULL));
    KT_SYS_OK(signal(SIGUSR2, SIG_IGN) == SIG_ERR ? -1 : 0);
    KT_SYS_OK(signal(SIGTERM, on_term) == SIG_ERR ? -1 : 0);
    KT_SYS_OK(kill(getpid(), SIGUSR1));
    KT_EQ(hexfield("SigBlk"), 1ull << (SIGUSR1 - 1));
    KT_EQ(hexfield("SigIgn") & (1ull << (SIGUSR2 - 1)), 1ull << (SIGUSR2 - 1));
    KT_EQ(hexfield("SigCgt") & (1ull << (SIGTERM - 1)), 1ull << (SIGTERM - 1));
    /* kill() to a process queues on the process: shared pending */
    KT_EQ(hexfield("ShdPnd"), 1ull << (SIGUSR1 - 1));
    KT_EQ(hexfield("SigPnd"), 0);
    unsigned long q = 0, lim = 0;
    KT_EQ(sscanf(field("SigQ"), "%lu/%lu", &q, &lim), 2);
    struct rlimit rl;
    KT_SYS_OK(getrlimit(RLIMIT_SIGPENDING, &rl));
    KT_EQ(lim, rl.rlim_cur);
    KT_TRUE(q >= 1, "SigQ %s with a signal queued", field("SigQ"));
    /* consume it; the sets go back */
    int sig = 0;
    KT_SYS_OK(sigwait(&set, &sig));
    KT_EQ(sig, SIGUSR1);
    KT_EQ(hexfield("ShdPnd"), 0);
    KT_SYS_OK(sigprocmask(SIG_UNBLOCK, &set, NULL));
    KT_EQ(hexfield("SigBlk"), 0);
    signal(SIGUSR2, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    KT_EQ(hexfield("SigIgn") & (1ull << (SIGUSR2 - 1)), 0);
    KT_EQ(hexfield("SigCgt") & (1ull << (SIGTERM - 1)), 0);
}

static int status_ids_child(void) {
    if (setsid() < 0) return 1;
    gid_t g[2] = {4, 24};
    if (setgroups(2, g) < 0) return 2;
    umask(027);
    if (strcmp(field("Umask"), "0027") != 0) return 3;
    if (strcmp(field("Groups"), "4 24 ") != 0) return 4;
    char want[32];
    snprintf(want, sizeof want, "%d", getpid());
    if (strcmp(field("NSpid"), want) || strcmp(field("NStgid"), want)) return 5;
    if (strcmp(field("NSpgid"), want) || strcmp(field("NSsid"), want)) return 6;
    if (strcmp(field("NoNewPrivs"), "0") != 0) return 7;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return 8;
    if (strcmp(field("NoNewPrivs"), "1") != 0) return 9;
    if (setgroups(0, NULL) < 0) return 10;
    if (strcmp(field("Groups"), " ") != 0) return 11;
    return 0;
}

KT_CASE(status_umask_groups_and_ids) {
    KT_EQ(kt_in_child(status_ids_child), 0);
}

static int status_cpus_child(void) {
    cpu_set_t all;
    if (sched_getaffinity(0, sizeof all, &all) < 0) return 1;
    int n = CPU_COUNT(&all);
    char want[32];
    snprintf(want, sizeof want, n == 1 ? "0" : "0-%d", n - 1);
    if (strcmp(field("Cpus_allowed_list"), want) != 0) return 2;
    if (hexfield("Cpus_allowed") != (1ull << n) - 1) return 3;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    if (sched_setaffinity(0, sizeof one, &one) < 0) return 4;
    if (strcmp(field("Cpus_allowed_list"), "0") != 0) return 5;
    if (hexfield("Cpus_allowed") != 1) return 6;
    if (strcmp(field("Mems_allowed_list"), "0") != 0) return 7;
    return 0;
}

KT_CASE(status_cpus_allowed) {
    KT_EQ(kt_in_child(status_cpus_child), 0);
}

KT_CASE(status_context_switches_and_stack) {
    unsigned long v0 = strtoul(field("voluntary_ctxt_switches"), NULL, 10);
    for (int i = 0; i < 3; i++) kt_msleep(5);
    unsigned long v1 = strtoul(field("voluntary_ctxt_switches"), NULL, 10);
    KT_TRUE(v1 >= v0 + 3, "voluntary switches %lu -> %lu over three sleeps", v0, v1);
    KT_TRUE(field("nonvoluntary_ctxt_switches")[0] != 0, "no nonvoluntary_ctxt_switches line");
    KT_TRUE(atol(field("VmStk")) > 0, "VmStk: %s", field("VmStk"));
    KT_TRUE(atol(field("VmExe")) > 0, "VmExe: %s", field("VmExe"));
    KT_TRUE(atol(field("VmData")) > 0, "VmData: %s", field("VmData"));
    KT_EQ(strcmp(field("VmSwap"), "       0 kB"), 0);
    KT_EQ(strcmp(field("Seccomp"), "0"), 0);
    KT_EQ(hexfield("CapEff"), hexfield("CapPrm"));
}

/* mountinfo line of mount point `dir`: its id, parent, dev, root,
 * options, type and source; 0 when found. */
struct minfo {
    int id, parent;
    unsigned maj, min;
    char root[256], point[256], opts[256], type[64], source[128], super[256];
};

static int find_mount(const char *dir, struct minfo *out) {
    if (slurp("/proc/self/mountinfo") < 0) return -1;
    int found = -1;
    for (char *l = buf; l && *l;) {
        char *e = strchr(l, '\n');
        if (e) *e = 0;
        struct minfo m;
        char *dash = strstr(l, " - ");
        if (dash && sscanf(l, "%d %d %u:%u %255s %255s %255s", &m.id, &m.parent, &m.maj, &m.min, m.root,
                           m.point, m.opts) == 7 &&
            sscanf(dash + 3, "%63s %127s %255s", m.type, m.source, m.super) == 3 && strcmp(m.point, dir) == 0) {
            *out = m;
            found = 0; /* the last one wins: the mount on top */
        }
        l = e ? e + 1 : NULL;
    }
    return found;
}

KT_CASE(mountinfo_of_a_tmpfs_and_a_bind_mount) {
    char dir[] = "/tmp/kt_minfo_XXXXXX";
    KT_TRUE(mkdtemp(dir) != NULL, "mkdtemp");
    KT_SYS_OK(mount("kt_src", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m"));
    struct minfo m, top;
    KT_EQ(find_mount(dir, &m), 0);
    KT_EQ(strcmp(m.type, "tmpfs"), 0);
    KT_EQ(strcmp(m.source, "kt_src"), 0);
    KT_EQ(strcmp(m.root, "/"), 0);
    KT_TRUE(strncmp(m.opts, "rw,nosuid,nodev", 15) == 0, "mount options %s", m.opts);
    KT_TRUE(strncmp(m.super, "rw", 2) == 0 && !strstr(m.super, "nosuid"), "super options %s", m.super);
    struct stat st;
    KT_SYS_OK(stat(dir, &st));
    KT_EQ(m.maj, major(st.st_dev));
    KT_EQ(m.min, minor(st.st_dev));
    /* the parent is the mount holding /tmp (or / when /tmp is no mount) */
    if (find_mount("/tmp", &top) != 0) KT_EQ(find_mount("/", &top), 0);
    KT_EQ(m.parent, top.id);
#ifdef STATX_MNT_ID
    struct statx sx;
    KT_SYS_OK(statx(AT_FDCWD, dir, 0, STATX_MNT_ID, &sx));
    KT_EQ((int)sx.stx_mnt_id, m.id);
#endif
    /* a bind mount of a subdirectory shows it as its root */
    char sub[64], bind[64];
    snprintf(sub, sizeof sub, "%s/a", dir);
    snprintf(bind, sizeof bind, "%s/b", dir);
    KT_SYS_OK(mkdir(sub, 0755));
    KT_SYS_OK(mkdir(bind, 0755));
    KT_SYS_OK(mount(sub, bind, NULL, MS_BIND, NULL));
    struct minfo b;
    KT_EQ(find_mount(bind, &b), 0);
    KT_EQ(strcmp(b.root, "/a"), 0);
    KT_EQ(strcmp(b.type, "tmpfs"), 0);
    KT_EQ(b.parent, m.id);
    KT_EQ(b.maj * 1000 + b.min, m.maj * 1000 + m.min);
    KT_SYS_OK(umount(bind));
    KT_SYS_OK(umount(dir));
    KT_NE(find_mount(dir, &m), 0);
    KT_SYS_OK(rmdir(dir));
}

static long sysctl_num(const char *path) {
    if (slurp(path) < 0) return -1;
    return atol(buf);
}

KT_CASE(sysctl_values_the_kernel_enforces) {
    KT_EQ(sysctl_num("/proc/sys/kernel/ngroups_max"), 65536);
    KT_EQ(sysctl_num("/proc/sys/kernel/cap_last_cap"), 40);
    KT_EQ(sysctl_num("/proc/sys/fs/nr_open"), 1048576);
    KT_EQ(sysctl_num("/proc/sys/vm/mmap_min_addr"), 65536);
    KT_TRUE(sysctl_num("/proc/sys/kernel/randomize_va_space") >= 0, "randomize_va_space unreadable");
    /* above nr_open: EPERM as Linux's setrlimit */
    struct rlimit rl = {1048577, 1048577};
    KT_SYS_ERR(setrlimit(RLIMIT_NOFILE, &rl), EPERM);
}

KT_CASE(initramfs_root_is_1777) {
    struct stat st;
    KT_SYS_OK(stat("/", &st));
    KT_EQ(st.st_mode & 07777, 01777);
}

/* A zombie keeps its name: /proc/PID/stat and status show it until the
 * parent reaps it. */
KT_CASE(a_zombie_keeps_its_name) {
    pid_t c = fork();
    if (c == 0) {
        prctl(PR_SET_NAME, "kt_zname", 0, 0, 0);
        _exit(0);
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", c);
    int tries = 0;
    for (; tries < 500; tries++) {
        if (slurp(path) > 0 && strstr(buf, ") Z ")) break;
        kt_msleep(2);
    }
    KT_TRUE(tries < 500, "no zombie: %s", buf);
    char want[64];
    snprintf(want, sizeof want, "%d (kt_zname) Z ", c);
    KT_TRUE(strncmp(buf, want, strlen(want)) == 0, "stat %.40s, want %s", buf, want);
    snprintf(path, sizeof path, "/proc/%d/status", c);
    KT_TRUE(slurp(path) > 0, "status unreadable");
    KT_TRUE(strncmp(buf, "Name:\tkt_zname\n", 15) == 0, "status %.30s", buf);
    KT_TRUE(strstr(buf, "State:\tZ (zombie)\n") != NULL, "status has no zombie state");
    KT_WAIT_STATUS(c, 0);
}

/* /proc/self/fd/N links: r-x for a file open for reading, -wx for
 * writing, rwx for both, nothing for O_PATH (tid_fd_update_inode). */
KT_CASE(fd_link_modes_follow_the_open_mode) {
    int fds[4] = {open("/proc/self/status", O_RDONLY), open("/dev/null", O_WRONLY), open("/dev/null", O_RDWR),
                  open("/", O_PATH)};
    unsigned want[4] = {0500, 0300, 0700, 0};
    for (int i = 0; i < 4; i++) {
        KT_TRUE(fds[i] >= 0, "open %d: errno %d", i, errno);
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fds[i]);
        struct stat st;
        KT_SYS_OK(lstat(path, &st));
        KT_TRUE(S_ISLNK(st.st_mode), "fd %d not a link", fds[i]);
        KT_EQ(st.st_mode & 07777, want[i]);
    }
    for (int i = 0; i < 4; i++) close(fds[i]);
}

KT_MAIN()
