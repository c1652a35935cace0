/* What Debian's tools read about the system: sysfs's CPU files
 * (/sys/devices/system/cpu/{online,possible,present}, cpuN/, topology/,
 * read by glibc's get_nprocs() and lscpu), /proc/vmstat (vmstat(8)) and
 * getrusage's ru_maxrss. Formats as Linux prints them; the values compared
 * are those both kernels share (the CPU count, this process's pages). */
#include "kt.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYS_DIR "/tmp/kt_sysinfo_sys"
#define CPU_DIR SYS_DIR "/devices/system/cpu"

/* sysfs mounted on a directory of our own (as root; both kernels) */
static int mount_sysfs(void) {
    static int mounted;
    if (mounted) return 0;
    mkdir(SYS_DIR, 0755);
    if (mount("sysfs", SYS_DIR, "sysfs", 0, 0) != 0) return -1;
    mounted = 1;
    return 0;
}

static int read_file(const char *path, char *buf, size_t size) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = 0;
    fclose(f);
    return (int)n;
}

static int ncpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    return CPU_COUNT(&set);
}

/* Linux's cpulist of CPUs first..last */
static void cpu_list(char *out, size_t size, int first, int last) {
    if (first == last) snprintf(out, size, "%d\n", first);
    else snprintf(out, size, "%d-%d\n", first, last);
}

KT_CASE(sysfs_cpu_online_possible_present) {
    if (mount_sysfs() != 0) KT_SKIP("mount sysfs needs root");
    struct statfs sf;
    KT_SYS_OK(statfs(SYS_DIR, &sf));
    KT_EQ((unsigned long)sf.f_type, 0x62656572UL); /* SYSFS_MAGIC */
    int n = ncpus();
    KT_TRUE(n >= 1, "%d CPUs", n);
    char want[32], got[64];
    cpu_list(want, sizeof want, 0, n - 1);
    const char *files[] = {"online", "possible", "present"};
    for (unsigned i = 0; i < sizeof files / sizeof *files; i++) {
        char path[128];
        snprintf(path, sizeof path, CPU_DIR "/%s", files[i]);
        KT_TRUE(read_file(path, got, sizeof got) > 0, "%s: %s", path, strerror(errno));
        KT_TRUE(strcmp(got, want) == 0, "%s: '%s', want '%s'", files[i], got, want);
        struct stat st;
        KT_SYS_OK(stat(path, &st));
        KT_EQ(st.st_mode, S_IFREG | 0444);
    }
    /* no CPU offline: an empty list */
    KT_EQ(read_file(CPU_DIR "/offline", got, sizeof got), 1);
    KT_TRUE(strcmp(got, "\n") == 0, "offline '%s'", got);
    /* kernel_max: a number, then a newline */
    KT_TRUE(read_file(CPU_DIR "/kernel_max", got, sizeof got) > 1, "kernel_max");
    char *end;
    long max = strtol(got, &end, 10);
    KT_TRUE(max >= n - 1 && strcmp(end, "\n") == 0, "kernel_max '%s'", got);
    /* nothing can be made there: kernfs has no create operations */
    KT_SYS_ERR(open(CPU_DIR "/new", O_CREAT | O_WRONLY, 0644), EACCES);
    KT_SYS_ERR(mkdir(CPU_DIR "/new", 0755), EPERM);
    KT_SYS_ERR(symlink("online", CPU_DIR "/new"), EPERM);
    KT_SYS_ERR(open(CPU_DIR "/nothing", O_RDONLY), ENOENT);
}

KT_CASE(sysfs_cpu_directories) {
    if (mount_sysfs() != 0) KT_SKIP("mount sysfs needs root");
    int n = ncpus();
    char path[160], got[64], want[32];
    struct stat st;
    for (int c = 0; c < n; c++) {
        snprintf(path, sizeof path, CPU_DIR "/cpu%d", c);
        KT_SYS_OK(stat(path, &st));
        KT_EQ(st.st_mode, S_IFDIR | 0755);
        snprintf(path, sizeof path, CPU_DIR "/cpu%d/online", c);
        if (c == 0) {
            /* x86: the boot CPU cannot go offline, so it has no online file */
            KT_SYS_ERR(stat(path, &st), ENOENT);
        } else {
            KT_SYS_OK(stat(path, &st));
            KT_EQ(st.st_mode, S_IFREG | 0644);
            KT_EQ(read_file(path, got, sizeof got), 2);
            KT_TRUE(strcmp(got, "1\n") == 0, "cpu%d/online '%s'", c, got);
            /* bringing an online CPU online: nothing to do */
            int fd = open(path, O_WRONLY);
            KT_TRUE(fd >= 0, "open %s for writing: %s", path, strerror(errno));
            KT_SYS_RET(write(fd, "1\n", 2), 2);
            close(fd);
        }
        /* the CPU's own thread siblings: itself */
        snprintf(path, sizeof path, CPU_DIR "/cpu%d/topology/thread_siblings_list", c);
        KT_TRUE(read_file(path, got, sizeof got) > 0, "%s: %s", path, strerror(errno));
        cpu_list(want, sizeof want, c, c);
        KT_TRUE(strcmp(got, want) == 0, "cpu%d thread_siblings_list '%s'", c, got);
        snprintf(path, sizeof path, CPU_DIR "/cpu%d/topology/core_id", c);
        KT_TRUE(read_file(path, got, sizeof got) > 1, "%s: %s", path, strerror(errno));
        snprintf(path, sizeof path, CPU_DIR "/cpu%d/topology/physical_package_id", c);
        KT_TRUE(read_file(path, got, sizeof got) > 0, "%s: %s", path, strerror(errno));
        KT_TRUE(strcmp(got, "0\n") == 0, "cpu%d physical_package_id '%s'", c, got);
    }
    /* one past the last CPU: none */
    snprintf(path, sizeof path, CPU_DIR "/cpu%d", n);
    KT_SYS_ERR(stat(path, &st), ENOENT);
    KT_SYS_ERR(stat(CPU_DIR "/cpu01", &st), ENOENT);
    /* the listing has cpu0 .. cpuN-1 and the range files */
    DIR *d = opendir(CPU_DIR);
    KT_TRUE(d != NULL, "opendir: %s", strerror(errno));
    int cpus = 0, online = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int k;
        char tail;
        if (sscanf(e->d_name, "cpu%d%c", &k, &tail) == 1) {
            KT_EQ(e->d_type, DT_DIR);
            cpus++;
        }
        if (strcmp(e->d_name, "online") == 0) online++;
    }
    closedir(d);
    KT_EQ(cpus, n);
    KT_EQ(online, 1);
}

/* The value of `name` in /proc/vmstat, -1 when missing or malformed. */
static long long vmstat_value(const char *name) {
    FILE *f = fopen("/proc/vmstat", "r");
    if (!f) return -1;
    char key[128];
    long long v, found = -1;
    while (fscanf(f, "%127s %lld", key, &v) == 2)
        if (strcmp(key, name) == 0) found = v;
    fclose(f);
    return found;
}

KT_CASE(proc_vmstat_lists_what_vmstat_reads) {
    char buf[65536];
    int len = read_file("/proc/vmstat", buf, sizeof buf);
    KT_TRUE(len > 0, "/proc/vmstat: %s", strerror(errno));
    /* every line is "name value" */
    int lines = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char key[128], tail;
        unsigned long long v;
        KT_TRUE(sscanf(line, "%127[a-z0-9_] %llu%c", key, &v, &tail) == 2, "line '%s'", line);
        if (lines == 0) KT_TRUE(strcmp(key, "nr_free_pages") == 0, "first line '%s'", line);
        lines++;
    }
    KT_TRUE(lines > 50, "%d lines", lines);
    /* procps's vmstat (si/so/bi/bo, -s) and free pages */
    const char *names[] = {"nr_free_pages", "nr_dirty",  "nr_writeback", "pgpgin",     "pgpgout",
                           "pswpin",        "pswpout",   "pgfault",      "pgmajfault", "pgfree",
                           "pgalloc_normal", "nr_mapped", "nr_slab_reclaimable", "nr_slab_unreclaimable"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++)
        KT_TRUE(vmstat_value(names[i]) >= 0, "%s missing", names[i]);
    KT_TRUE(vmstat_value("nr_free_pages") > 0, "no free pages");
}

KT_CASE(proc_vmstat_counts_page_faults) {
    const int pages = 64;
    char *p = mmap(0, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", strerror(errno));
    long long before = vmstat_value("pgfault");
    for (int i = 0; i < pages; i++) p[i * 4096] = 1;
    long long after = vmstat_value("pgfault");
    KT_TRUE(before >= 0 && after - before >= pages, "pgfault %lld -> %lld for %d pages", before, after, pages);
    munmap(p, pages * 4096);
}

/* The first number after `name ` on its line of /proc/stat, -1 if none. */
static long long stat_value(const char *name) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    char line[4096];
    long long v = -1;
    size_t len = strlen(name);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, name, len) == 0 && line[len] == ' ') v = strtoll(line + len + 1, 0, 10);
    fclose(f);
    return v;
}

KT_CASE(proc_stat_counts_switches_and_interrupts) {
    long long ctxt = stat_value("ctxt"), intr = stat_value("intr");
    KT_TRUE(ctxt > 0 && intr > 0, "ctxt %lld intr %lld", ctxt, intr);
    /* sleeping switches away and back */
    for (int i = 0; i < 5; i++) usleep(2000);
    long long later = stat_value("ctxt");
    KT_TRUE(later >= ctxt + 5, "ctxt %lld -> %lld over 5 sleeps", ctxt, later);
}

static long maxrss_kb(int who) {
    struct rusage ru;
    if (getrusage(who, &ru) != 0) return -1;
    return ru.ru_maxrss;
}

/* touches `kb` KiB of fresh anonymous memory, then unmaps it */
static int touch_kb(long kb) {
    char *p = mmap(0, kb * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    for (long i = 0; i < kb * 1024; i += 4096) p[i] = 1;
    munmap(p, kb * 1024);
    return 0;
}

/* Linux's per-thread RSS counters reach the address space in batches
 * (SPLIT_RSS_COUNTING): allow a little lag */
#define RSS_SLACK_KB 512

KT_CASE(ru_maxrss_keeps_the_largest_resident_set) {
    long before = maxrss_kb(RUSAGE_SELF);
    KT_TRUE(before > 0, "ru_maxrss %ld", before);
    KT_SYS_OK(touch_kb(16384));
    long after = maxrss_kb(RUSAGE_SELF);
    /* the pages went with munmap; the mark stays */
    KT_TRUE(after >= 16384 - RSS_SLACK_KB, "ru_maxrss %ld -> %ld after 16 MiB", before, after);
    KT_TRUE(maxrss_kb(RUSAGE_SELF) >= after, "the mark went down");
}

KT_CASE(ru_maxrss_of_children_is_the_largest_reaped) {
    long mine = maxrss_kb(RUSAGE_SELF);
    long kids0 = maxrss_kb(RUSAGE_CHILDREN); /* what the runner reaped before */
    KT_TRUE(kids0 >= 0, "RUSAGE_CHILDREN %ld", kids0);
    pid_t pid = KT_FORK();
    if (pid == 0) {
        _exit(touch_kb(mine + 24576) == 0 ? 0 : 1);
    }
    struct rusage ru;
    int status;
    KT_SYS_RET(wait4(pid, &status, 0, &ru), pid);
    KT_STATUS(status, kt_exited(0));
    KT_TRUE(ru.ru_maxrss >= mine + 24576 - RSS_SLACK_KB, "wait4's ru_maxrss %ld", ru.ru_maxrss);
    long kids = maxrss_kb(RUSAGE_CHILDREN);
    KT_EQ(kids, ru.ru_maxrss > kids0 ? ru.ru_maxrss : kids0);
    /* a smaller child later leaves the maximum */
    pid = KT_FORK();
    if (pid == 0) _exit(0);
    KT_WAIT_STATUS(pid, kt_exited(0));
    KT_EQ(maxrss_kb(RUSAGE_CHILDREN), kids);
}

/* "Name:\t<n> kB" of /proc/self/status, -1 if missing */
static long status_kb(const char *name) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t len = strlen(name);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            char unit[8] = "";
            if (sscanf(line + len + 1, "%ld %7s", &v, unit) != 2 || strcmp(unit, "kB") != 0) v = -2;
        }
    fclose(f);
    return v;
}

KT_CASE(proc_status_vmhwm) {
    KT_SYS_OK(touch_kb(8192));
    long hwm = status_kb("VmHWM"), rss = status_kb("VmRSS");
    KT_TRUE(hwm >= 8192 - RSS_SLACK_KB && hwm >= rss && rss > 0, "VmHWM %ld, VmRSS %ld", hwm, rss);
    /* VmHWM comes before VmRSS, after VmLck */
    char buf[4096];
    KT_TRUE(read_file("/proc/self/status", buf, sizeof buf) > 0, "status");
    char *lck = strstr(buf, "\nVmLck:"), *h = strstr(buf, "\nVmHWM:"), *r = strstr(buf, "\nVmRSS:");
    KT_TRUE(lck && h && r && lck < h && h < r, "order");
}

/* /sys/kernel/mm/transparent_hugepage as Debian's Linux 6.1 shows it
 * (redis and jemalloc read it): hugepage_init() clears every flag on a
 * machine with less than 512 MiB of RAM (the suite's 256 MiB), else
 * Debian's configuration; root writes Linux's choices, anything else is
 * EINVAL. */
#define THP SYS_DIR "/kernel/mm/transparent_hugepage"

static int thp_small(void) {
    struct sysinfo si;
    if (sysinfo(&si) != 0) return -1;
    return (unsigned long long)si.totalram * si.mem_unit < (512ULL << 20);
}

static int write_text(const char *path, const char *text) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return (int)n;
}

KT_CASE(sysfs_transparent_hugepage) {
    KT_SYS_RET(mount_sysfs(), 0);
    int small = thp_small();
    KT_TRUE(small >= 0, "sysinfo");
    char b[128];
    KT_TRUE(read_file(THP "/enabled", b, sizeof b) > 0, "enabled");
    KT_TRUE(!strcmp(b, small ? "always madvise [never]\n" : "[always] madvise never\n"), "enabled: %s", b);
    KT_TRUE(read_file(THP "/defrag", b, sizeof b) > 0, "defrag");
    KT_TRUE(!strcmp(b, small ? "always defer defer+madvise madvise [never]\n"
                             : "always defer defer+madvise [madvise] never\n"),
            "defrag: %s", b);
    KT_TRUE(read_file(THP "/shmem_enabled", b, sizeof b) > 0, "shmem");
    KT_TRUE(!strcmp(b, "always within_size advise [never] deny force\n"), "shmem_enabled: %s", b);
    KT_TRUE(read_file(THP "/use_zero_page", b, sizeof b) > 0, "zero");
    KT_TRUE(!strcmp(b, small ? "0\n" : "1\n"), "use_zero_page: %s", b);
    KT_TRUE(read_file(THP "/hpage_pmd_size", b, sizeof b) > 0, "pmd");
    KT_TRUE(!strcmp(b, "2097152\n"), "hpage_pmd_size: %s", b);
    static const char *knobs[][2] = {
        {"alloc_sleep_millisecs", "60000\n"}, {"full_scans", "0\n"},        {"max_ptes_none", "511\n"},
        {"max_ptes_shared", "256\n"},        {"max_ptes_swap", "64\n"},     {"pages_collapsed", "0\n"},
        {"pages_to_scan", "4096\n"},         {"scan_sleep_millisecs", "10000\n"},
    };
    for (unsigned i = 0; i < sizeof knobs / sizeof *knobs; i++) {
        char p[160];
        snprintf(p, sizeof p, THP "/khugepaged/%s", knobs[i][0]);
        KT_TRUE(read_file(p, b, sizeof b) > 0 && !strcmp(b, knobs[i][1]), "%s: %s", knobs[i][0], b);
    }
    KT_TRUE(read_file(THP "/khugepaged/defrag", b, sizeof b) > 0, "khugepaged/defrag");
    KT_TRUE(!strcmp(b, small ? "0\n" : "1\n"), "khugepaged/defrag: %s", b);
    struct stat st;
    KT_SYS_RET(stat(THP "/enabled", &st), 0);
    KT_EQ(st.st_mode, S_IFREG | 0644);
    KT_SYS_RET(stat(THP "/hpage_pmd_size", &st), 0);
    KT_EQ(st.st_mode, S_IFREG | 0444);
    KT_SYS_RET(stat(THP "/khugepaged/full_scans", &st), 0);
    KT_EQ(st.st_mode, S_IFREG | 0444);
    KT_SYS_RET(stat(THP "/khugepaged", &st), 0);
    KT_EQ(st.st_mode, S_IFDIR | 0755);
}

KT_CASE(sysfs_transparent_hugepage_writes) {
    KT_SYS_RET(mount_sysfs(), 0);
    int small = thp_small();
    char b[128];
    KT_EQ(write_text(THP "/enabled", "madvise\n"), 8);
    KT_TRUE(read_file(THP "/enabled", b, sizeof b) > 0 && !strcmp(b, "always [madvise] never\n"), "%s", b);
    KT_SYS_ERR(write_text(THP "/enabled", "sometimes"), EINVAL);
    KT_EQ(write_text(THP "/enabled", small ? "never" : "always"), small ? 5 : 6);
    KT_EQ(write_text(THP "/defrag", "defer+madvise"), 13);
    KT_TRUE(read_file(THP "/defrag", b, sizeof b) > 0 && !strcmp(b, "always defer [defer+madvise] madvise never\n"),
            "%s", b);
    KT_EQ(write_text(THP "/defrag", small ? "never" : "madvise"), small ? 5 : 7);
    KT_SYS_ERR(write_text(THP "/use_zero_page", "2"), EINVAL);
    KT_SYS_ERR(write_text(THP "/khugepaged/max_ptes_none", "512"), EINVAL);
    KT_SYS_ERR(write_text(THP "/khugepaged/pages_to_scan", "0"), EINVAL);
    KT_EQ(write_text(THP "/khugepaged/max_ptes_none", "100\n"), 4);
    KT_TRUE(read_file(THP "/khugepaged/max_ptes_none", b, sizeof b) > 0 && !strcmp(b, "100\n"), "%s", b);
    KT_EQ(write_text(THP "/khugepaged/max_ptes_none", "511"), 3);
    KT_SYS_ERR(write_text(THP "/hpage_pmd_size", "4096"), EACCES);
}

KT_MAIN()
