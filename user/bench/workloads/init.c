/*
 * /init of the workloads initramfs (`cargo xtask bench --workloads`): pid 1
 * with busybox (its applets in /bin) and /bin/churn. Prints, each once per
 * boot (the rounds repeat them):
 *
 *   memfree_after_boot_kib  MemFree of /proc/meminfo first thing (KiB)
 *   sort_60m                busybox sort -o of a generated 60 MB text file
 *   tar_czf_50m             busybox tar czf of a generated 50 MB tree
 *                           (1,000 files of 50 KiB of text in 50 directories)
 *   tar_xzf_50m             busybox tar xzf of that archive into /tmp/x
 *   find_wc_20k             sh -c 'find /tmp/many | wc -l' over 20,000 empty
 *                           files in 200 directories (the count is checked)
 *   alloc_churn             /bin/churn (user/bench/workloads/churn.c)
 *   sh_c_true_x1000         1,000 runs of `sh -c true`, one after another
 *   kmem_per_process_bytes  MemFree's drop per process while 1,000 forked
 *                           children (of a small static process) sleep
 *   kmem_per_thread_bytes   MemFree's drop per thread while 1,000 threads
 *                           (16 KiB stacks) of one process sleep
 *
 * Each command run also prints `RUSAGE <name> user <s> sys <s> minflt <n>
 * nvcsw <n> nivcsw <n>` (its rusage from wait4; xtask ignores the line)
 * and `bench: cpu <name> wall <ms> user <ms> sys <ms> idle <ms>` (the
 * system's /proc/stat times over the run: idle is time nothing ran).
 * Times are `BENCH <name> <ns>` for the one run, memory rows `BENCH <name>
 * <value>` in the unit of their suffix. A command that fails or runs over
 * 300 s is a BENCHFAIL line. The generated files are not timed. Finally
 * `bench: done` and reboot(RB_POWER_OFF).
 */
#include "bench.h"
#include "pid1.h"

#include <pthread.h>
#include <sys/reboot.h>
#include <sys/resource.h>

#define TIMEOUT_S 300

/* `cargo xtask bench --workloads --only a,b` builds with -DWL_ONLY="a,b":
 * only those rows run (tar_xzf_50m makes its archive with tar czf, untimed
 * unless tar_czf_50m is asked for too) */
#ifndef WL_ONLY
#define WL_ONLY ""
#endif

static int want(const char *name) {
    const char *p = WL_ONLY;
    size_t n = strlen(name);
    if (!*p) return 1;
    for (;;) {
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == 0)) return 1;
        p = strchr(p, ',');
        if (!p) return 0;
        p++;
    }
}

static char *envp[] = {"PATH=/bin:/sbin:/usr/bin", "HOME=/", 0};

/* fork, (alarm, stdout to `out` when set) execve argv, waitpid: the ns, or 0 on failure */
static uint64_t run(const char *name, char *const argv[], const char *out) {
    /* a host-side profiler (docs/bench.md) can start counting here */
    uint64_t v0[3];
    bench_cpustat(v0);
    uint64_t t0 = bench_now();
    bench_printf("START %s %llu\n", name, (unsigned long long)t0);
    pid_t p = fork();
    if (p < 0) {
        bench_printf("BENCHFAIL %s: fork: %s\n", name, strerror(errno));
        return 0;
    }
    if (p == 0) {
        alarm(TIMEOUT_S);
        if (out) {
            int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0 || dup2(fd, 1) != 1) _exit(126);
            close(fd);
        }
        execve(argv[0], argv, envp);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(p, &st, 0, &ru) != p) {
        bench_printf("BENCHFAIL %s: waitpid: %s\n", name, strerror(errno));
        return 0;
    }
    uint64_t ns = bench_now() - t0;
    /* wall time neither the kernel nor a program ran shows as idle */
    bench_cpustat_note(name, t0, v0);
    /* where the time went (user time that grows with the host's load, not
     * the kernel's): the child's rusage, not parsed by xtask */
    bench_printf("RUSAGE %s user %ld.%06ld sys %ld.%06ld minflt %ld nvcsw %ld nivcsw %ld\n", name,
                 (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec, (long)ru.ru_stime.tv_sec,
                 (long)ru.ru_stime.tv_usec, ru.ru_minflt, ru.ru_nvcsw, ru.ru_nivcsw);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        bench_printf("BENCHFAIL %s: %s: status %#x\n", name, argv[0], st);
        return 0;
    }
    return ns;
}

static void timed(const char *name, char *const argv[]) {
    uint64_t ns = run(name, argv, 0);
    if (ns) bench_printf("BENCH %s %llu\n", name, (unsigned long long)ns);
}

static long memfree_kib(void) {
    char buf[512];
    int fd = open("/proc/meminfo", O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *m = strstr(buf, "MemFree:");
    return m ? strtol(m + 8, 0, 10) : -1;
}

/* one counter of a "name value" per line file (/proc/vmstat,
 * /proc/meminfo), or -1 where the file or name is missing */
static long counter(const char *path, const char *name) {
    static char buf[16384];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)n;
    close(fd);
    buf[len] = 0;
    size_t k = strlen(name);
    for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : 0) {
        if (strncmp(p, name, k) == 0 && (p[k] == ' ' || p[k] == ':')) return strtol(p + k + 1, 0, 10);
    }
    return -1;
}

/* the transparent-huge-page and fault counters around one command: `VMSTAT
 * <name> thp_fault_alloc <n> ...` (deltas; -1 where the kernel has none) */
static long vm0[4];
static const char *vmnames[4] = {"thp_fault_alloc", "thp_fault_fallback", "pgfault", "nr_anon_transparent_hugepages"};
static void vmstat_before(void) {
    for (int i = 0; i < 4; i++) vm0[i] = counter("/proc/vmstat", vmnames[i]);
}
static void vmstat_after(const char *name) {
    long v[4];
    for (int i = 0; i < 4; i++) v[i] = counter("/proc/vmstat", vmnames[i]);
    bench_printf("VMSTAT %s %s %ld %s %ld %s %ld %s(end) %ld\n", name, vmnames[0], v[0] - vm0[0], vmnames[1], v[1] - vm0[1],
                 vmnames[2], v[2] - vm0[2], vmnames[3], v[3]);
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

/* `bytes` of text (lines of 1-8 words of 2-9 lower-case letters) into path */
static int gen_text(const char *path, size_t bytes) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    size_t n = 0;
    while (n < bytes) {
        int words = 1 + (int)(next() % 8);
        for (int w = 0; w < words; w++) {
            int len = 2 + (int)(next() % 8);
            for (int i = 0; i < len; i++) fputc('a' + (int)(next() % 26), f);
            fputc(w + 1 < words ? ' ' : '\n', f);
            n += (size_t)len + 1;
        }
    }
    return fclose(f);
}

static void *sleeper(void *arg) {
    int fd = (int)(intptr_t)arg;
    char c;
    for (;;) (void)!read(fd, &c, 1);
    return 0;
}

/* the kmem rows: MemFree before and with 1,000 sleeping processes/threads */
static void kmem(void) {
    enum { N = 1000 };
    static pid_t pids[N];
    int hold[2];
    if (pipe(hold) != 0) return;
    long before = memfree_kib();
    int made = 0;
    for (; made < N; made++) {
        pid_t p = fork();
        if (p < 0) break;
        if (p == 0) {
            char c;
            for (;;) (void)!read(hold[0], &c, 1);
        }
        pids[made] = p;
    }
    long after = memfree_kib();
    if (made == N && before > 0 && after > 0)
        bench_printf("BENCH kmem_per_process_bytes %ld\n", (before - after) * 1024 / N);
    else
        bench_printf("BENCHFAIL kmem_per_process_bytes: %d processes made, MemFree %ld -> %ld\n", made, before, after);
    for (int i = 0; i < made; i++) kill(pids[i], SIGKILL);
    for (int i = 0; i < made; i++) waitpid(pids[i], 0, 0);

    pid_t p = fork();
    if (p == 0) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, 16384);
        long b = memfree_kib();
        int t = 0;
        for (; t < N; t++) {
            pthread_t th;
            if (pthread_create(&th, &a, sleeper, (void *)(intptr_t)hold[0]) != 0) break;
        }
        long e = memfree_kib();
        if (t == N && b > 0 && e > 0)
            bench_printf("BENCH kmem_per_thread_bytes %ld\n", (b - e) * 1024 / N);
        else
            bench_printf("BENCHFAIL kmem_per_thread_bytes: %d threads made, MemFree %ld -> %ld\n", t, b, e);
        _exit(0);
    }
    if (p > 0) waitpid(p, 0, 0);
    close(hold[0]);
    close(hold[1]);
}

static void tars(void);
static void find_wc(void);
static void sh_true(void);

int main(void) {
    pid1_console();
    pid1_mounts();
    long kib = memfree_kib();
    if (kib > 0) bench_printf("BENCH memfree_after_boot_kib %ld\n", kib);
    {
        char thp[128] = {0};
        int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY);
        if (fd >= 0) {
            (void)!read(fd, thp, sizeof thp - 1);
            close(fd);
            bench_printf("THP enabled: %s", thp);
        }
    }

    if (want("sort_60m")) {
        if (gen_text("/tmp/data", 60000000) != 0)
            bench_printf("BENCHFAIL sort_60m: generating: %s\n", strerror(errno));
        char *sort[] = {"/bin/busybox", "sort", "-o", "/tmp/sorted", "/tmp/data", 0};
        vmstat_before();
        timed("sort_60m", sort);
        vmstat_after("sort_60m");
        unlink("/tmp/data");
        unlink("/tmp/sorted");
    }
    if (want("tar_czf_50m") || want("tar_xzf_50m")) tars();
    if (want("find_wc_20k")) find_wc();
    if (want("alloc_churn")) {
        char *churn[] = {"/bin/churn", 0};
        timed("alloc_churn", churn);
    }
    if (want("sh_c_true_x1000")) sh_true();
    if (want("kmem")) kmem();
    pid1_reap_all();
    bench_printf("bench: done\n");
    sync();
    reboot(RB_POWER_OFF);
    return 1;
}

static void tars(void) {
    mkdir("/tmp/tree", 0755);
    for (int d = 0; d < 50; d++) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/tree/d%02d", d);
        mkdir(path, 0755);
        for (int f = 0; f < 20; f++) {
            snprintf(path, sizeof path, "/tmp/tree/d%02d/f%02d", d, f);
            if (gen_text(path, 50 << 10) != 0) bench_printf("bench: generating %s: %s\n", path, strerror(errno));
        }
    }
    char *czf[] = {"/bin/busybox", "tar", "czf", "/tmp/t.tgz", "-C", "/tmp", "tree", 0};
    if (want("tar_czf_50m")) {
        vmstat_before();
        timed("tar_czf_50m", czf);
        vmstat_after("tar_czf_50m");
    }
    else
        run("tar_czf_50m", czf, 0);
    if (want("tar_xzf_50m")) {
        mkdir("/tmp/x", 0755);
        char *xzf[] = {"/bin/busybox", "tar", "xzf", "/tmp/t.tgz", "-C", "/tmp/x", 0};
        timed("tar_xzf_50m", xzf);
    }
    char *rm[] = {"/bin/busybox", "rm", "-rf", "/tmp/tree", "/tmp/x", "/tmp/t.tgz", 0};
    run("rm", rm, 0);
}

static void find_wc(void) {
    mkdir("/tmp/many", 0755);
    for (int d = 0; d < 200; d++) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/many/d%03d", d);
        mkdir(path, 0755);
        for (int f = 0; f < 100; f++) {
            snprintf(path, sizeof path, "/tmp/many/d%03d/f%03d", d, f);
            int fd = open(path, O_CREAT | O_WRONLY, 0644);
            if (fd >= 0) close(fd);
        }
    }
    char *find[] = {"/bin/sh", "-c", "find /tmp/many | wc -l", 0};
    uint64_t ns = run("find_wc_20k", find, "/tmp/count");
    char buf[32] = {0};
    int fd = open("/tmp/count", O_RDONLY);
    if (fd >= 0) {
        (void)!read(fd, buf, sizeof buf - 1);
        close(fd);
    }
    /* 20,000 files, 200 directories and /tmp/many itself */
    if (ns && atol(buf) == 20201)
        bench_printf("BENCH find_wc_20k %llu\n", (unsigned long long)ns);
    else if (ns)
        bench_printf("BENCHFAIL find_wc_20k: counted %s (20201 expected)\n", buf);
    char *rm_many[] = {"/bin/busybox", "rm", "-rf", "/tmp/many", "/tmp/count", 0};
    run("rm", rm_many, 0);
}

static void sh_true(void) {
    char *sh[] = {"/bin/sh", "-c", "true", 0};
    uint64_t total = 0;
    int i = 0;
    for (; i < 1000; i++) {
        uint64_t one = run("sh_c_true_x1000", sh, 0);
        if (!one) break;
        total += one;
    }
    if (i == 1000) bench_printf("BENCH sh_c_true_x1000 %llu\n", (unsigned long long)total);
}
