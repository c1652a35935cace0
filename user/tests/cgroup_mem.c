/* cgroup v2's memory controller (cgmem40): "+memory" and its
 * no-internal-process rule, memory.current following the pages a process
 * touches and falling at its exit, memory.max's OOM kill inside the group
 * (SIGKILL, memory.events' max/oom/oom_kill), a memory.max written under
 * the charge, the files' parsing; and the pids controller counting a
 * zombie until it is reaped (review39's M4). Run as root; each case
 * mounts /tmp/cg and takes its groups and the mount away. */
#include "kt_cgroup.h"

#include <sys/mman.h>
#include <sys/wait.h>

#define MiB (1024L * 1024L)

/* The number after `key ` in the lines of `path` (-1 when absent). */
static long key_of(const char *path, const char *key) {
    const char *t = text_of(path);
    size_t n = strlen(key);
    for (const char *l = t; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, key, n) == 0 && l[n] == ' ') return atol(l + n + 1);
    }
    return -1;
}

static long num_of(const char *path) {
    return atol(text_of(path));
}

/* A child that enters group `dir`, tells the parent, touches `mib` MiB
 * of fresh anonymous memory, tells again, and waits for a byte (or the
 * pipe's end) before it exits 0. *to and *from: the pipes' ends. */
static pid_t toucher(const char *dir, long mib, int *to, int *from) {
    int a[2], b[2];
    if (pipe(a) != 0 || pipe(b) != 0) return -1;
    pid_t c = fork();
    if (c == 0) {
        close(a[1]);
        close(b[0]);
        char procs[128];
        snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
        if (write_text(procs, "0") != 0) _exit(10);
        char x = 'e';
        if (write(b[1], &x, 1) != 1) _exit(11);
        if (read(a[0], &x, 1) != 1) _exit(12);
        char *m = mmap(NULL, mib * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) _exit(13);
        for (long i = 0; i < mib * MiB; i += 4096) m[i] = 1;
        x = 't';
        if (write(b[1], &x, 1) != 1) _exit(14);
        while (read(a[0], &x, 1) == -1 && errno == EINTR) {
        }
        _exit(0);
    }
    close(a[0]);
    close(b[1]);
    *to = a[1];
    *from = b[0];
    return c;
}

KT_CASE(memory_controller_files_and_rules) {
    KT_SYS_OK(mount_cg());
    KT_TRUE(strstr(text_of(CG "/cgroup.controllers"), "memory") != NULL, "%s", text_of(CG "/cgroup.controllers"));
    KT_SYS_OK(mkdir(CG "/m", 0755));
    struct stat st;
    KT_SYS_ERR(stat(CG "/m/memory.current", &st), ENOENT);
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "+memory"));
    KT_TRUE(strstr(text_of(CG "/cgroup.subtree_control"), "memory") != NULL, "%s",
            text_of(CG "/cgroup.subtree_control"));
    KT_STREQ(text_of(CG "/m/cgroup.controllers"), "memory\n");
    KT_SYS_ERR(stat(CG "/memory.current", &st), ENOENT);
    KT_SYS_ERR(stat(CG "/memory.max", &st), ENOENT);
    KT_SYS_OK(stat(CG "/m/memory.current", &st));
    KT_EQ(st.st_mode & 0777, 0444);
    KT_SYS_OK(stat(CG "/m/memory.max", &st));
    KT_EQ(st.st_mode & 0777, 0644);
    KT_STREQ(text_of(CG "/m/memory.max"), "max\n");
    KT_STREQ(text_of(CG "/m/memory.high"), "max\n");
    KT_STREQ(text_of(CG "/m/memory.low"), "0\n");
    KT_STREQ(text_of(CG "/m/memory.min"), "0\n");
    KT_STREQ(text_of(CG "/m/memory.oom.group"), "0\n");
    KT_EQ(key_of(CG "/m/memory.events", "oom_kill"), 0);
    KT_EQ(key_of(CG "/m/memory.events", "max"), 0);
    KT_TRUE(key_of(CG "/m/memory.stat", "anon") >= 0, "%s", text_of(CG "/m/memory.stat"));
    KT_TRUE(key_of(CG "/m/memory.stat", "file") >= 0, "%s", text_of(CG "/m/memory.stat"));
    /* page_counter_memparse: bytes in whole pages, K/M/G, "max" */
    KT_SYS_OK(write_text(CG "/m/memory.max", "1000000\n"));
    KT_STREQ(text_of(CG "/m/memory.max"), "999424\n");
    KT_SYS_OK(write_text(CG "/m/memory.max", "16M"));
    KT_STREQ(text_of(CG "/m/memory.max"), "16777216\n");
    KT_SYS_OK(write_text(CG "/m/memory.high", "8k"));
    KT_STREQ(text_of(CG "/m/memory.high"), "8192\n");
    KT_SYS_ERR(write_text(CG "/m/memory.max", "12x"), EINVAL);
    KT_SYS_ERR(write_text(CG "/m/memory.max", "-1"), EINVAL);
    KT_SYS_ERR(write_text(CG "/m/memory.oom.group", "2"), EINVAL);
    KT_SYS_OK(write_text(CG "/m/memory.max", "max"));
    KT_STREQ(text_of(CG "/m/memory.max"), "max\n");
    /* the no-internal-process rule: not below a group with a process of
     * its own, and no process into a group that enables it */
    KT_SYS_OK(mkdir(CG "/m/c", 0755));
    int wr;
    pid_t c = sleeper(&wr);
    KT_SYS_OK(write_pid(CG "/m/cgroup.procs", c));
    KT_SYS_ERR(write_text(CG "/m/cgroup.subtree_control", "+memory"), EBUSY);
    KT_SYS_OK(write_pid(CG "/cgroup.procs", c));
    KT_SYS_OK(write_text(CG "/m/cgroup.subtree_control", "+memory"));
    KT_SYS_ERR(write_pid(CG "/m/cgroup.procs", c), EBUSY);
    KT_SYS_OK(write_pid(CG "/m/c/cgroup.procs", c));
    KT_STREQ(text_of(CG "/m/c/cgroup.controllers"), "memory\n");
    close(wr);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_ERR(write_text(CG "/cgroup.subtree_control", "-memory"), EBUSY);
    KT_SYS_OK(write_text(CG "/m/cgroup.subtree_control", "-memory"));
    KT_SYS_OK(rmdir(CG "/m/c"));
    KT_SYS_OK(rmdir(CG "/m"));
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "-memory"));
    umount_cg();
}

/* 16 MiB touched by a process of the group: memory.current grows by
 * them (and memory.peak and memory.stat's anon with it), and falls back
 * when the process exits. */
KT_CASE(memory_current_follows_touched_pages) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "+memory"));
    KT_SYS_OK(mkdir(CG "/t", 0755));
    int to, from;
    pid_t c = toucher(CG "/t", 16, &to, &from);
    KT_TRUE(c > 0, "fork");
    char x;
    KT_EQ(read(from, &x, 1), 1);
    long before = num_of(CG "/t/memory.current");
    KT_EQ(write(to, "g", 1), 1);
    KT_EQ(read(from, &x, 1), 1);
    long after = num_of(CG "/t/memory.current");
    long anon = key_of(CG "/t/memory.stat", "anon");
    long peak = num_of(CG "/t/memory.peak");
    /* Linux charges through a per-CPU stock of 64 pages and flushes
     * memory.stat lazily: a delta up to 1 MiB short of the pages touched */
    KT_TRUE(after - before >= 15 * MiB && after - before <= 18 * MiB, "before %ld after %ld", before, after);
    KT_TRUE(anon >= 15 * MiB && anon <= after, "anon %ld, current %ld", anon, after);
    KT_TRUE(peak >= after, "peak %ld, current %ld", peak, after);
    close(to);
    KT_WAIT_STATUS(c, kt_exited(0));
    close(from);
    long gone = num_of(CG "/t/memory.current");
    KT_TRUE(gone <= before + MiB / 2, "before %ld, after the exit %ld", before, gone);
    KT_EQ(num_of(CG "/t/memory.peak"), peak);
    KT_EQ(key_of(CG "/t/memory.events", "oom_kill"), 0);
    KT_SYS_OK(rmdir(CG "/t"));
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "-memory"));
    umount_cg();
}

/* A process that touches 64 MiB in a group whose memory.max is 16 MiB:
 * the group's OOM killer kills it with SIGKILL, and memory.events counts
 * max, oom and one oom_kill (in the group and its parent). */
KT_CASE(over_memory_max_is_oom_killed) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "+memory"));
    KT_SYS_OK(mkdir(CG "/o", 0755));
    KT_SYS_OK(write_text(CG "/o/cgroup.subtree_control", "+memory"));
    KT_SYS_OK(mkdir(CG "/o/k", 0755));
    KT_SYS_OK(write_text(CG "/o/memory.max", "16M"));
    write_text(CG "/o/memory.swap.max", "0"); /* (no swap here anyway) */
    int to, from;
    pid_t c = toucher(CG "/o/k", 64, &to, &from);
    KT_TRUE(c > 0, "fork");
    char x;
    KT_EQ(read(from, &x, 1), 1);
    KT_EQ(write(to, "g", 1), 1);
    KT_EQ(read(from, &x, 1), 0); /* it never tells: killed while touching */
    KT_WAIT_STATUS(c, kt_killed(SIGKILL));
    close(to);
    close(from);
    KT_EQ(key_of(CG "/o/memory.events", "oom_kill"), 1);
    KT_TRUE(key_of(CG "/o/memory.events", "oom") >= 1, "%s", text_of(CG "/o/memory.events"));
    KT_TRUE(key_of(CG "/o/memory.events", "max") >= 1, "%s", text_of(CG "/o/memory.events"));
    /* oom_kill is the victim's group's (and up); oom the limited group's */
    KT_EQ(key_of(CG "/o/k/memory.events", "oom_kill"), 1);
    KT_EQ(key_of(CG "/o/k/memory.events.local", "oom_kill"), 1);
    KT_EQ(key_of(CG "/o/memory.events.local", "oom_kill"), 0);
    KT_TRUE(key_of(CG "/o/memory.events.local", "oom") >= 1, "%s", text_of(CG "/o/memory.events.local"));
    KT_EQ(key_of(CG "/o/k/memory.events", "oom"), 0);
    long peak = num_of(CG "/o/memory.peak");
    KT_TRUE(peak >= 12 * MiB && peak <= 17 * MiB, "peak %ld", peak);
    KT_TRUE(num_of(CG "/o/memory.current") <= MiB / 2, "%s", text_of(CG "/o/memory.current"));
    KT_SYS_OK(rmdir(CG "/o/k"));
    KT_SYS_OK(rmdir(CG "/o"));
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "-memory"));
    umount_cg();
}

/* memory.max written under what the group holds: the write succeeds and
 * the group's OOM killer kills the holder (memory_max_write). */
KT_CASE(memory_max_under_the_charge_kills) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "+memory"));
    KT_SYS_OK(mkdir(CG "/w", 0755));
    write_text(CG "/w/memory.swap.max", "0");
    int to, from;
    pid_t c = toucher(CG "/w", 16, &to, &from);
    KT_TRUE(c > 0, "fork");
    char x;
    KT_EQ(read(from, &x, 1), 1);
    KT_EQ(write(to, "g", 1), 1);
    KT_EQ(read(from, &x, 1), 1);
    KT_SYS_OK(write_text(CG "/w/memory.max", "4M"));
    KT_WAIT_STATUS(c, kt_killed(SIGKILL));
    close(to);
    close(from);
    KT_EQ(key_of(CG "/w/memory.events", "oom_kill"), 1);
    KT_STREQ(text_of(CG "/w/memory.max"), "4194304\n");
    KT_SYS_OK(rmdir(CG "/w"));
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "-memory"));
    umount_cg();
}

/* cgexit41: memory.high throttles and does not kill. A process touching
 * 17 MiB in a group whose memory.high is 16 MiB is made to sleep on its
 * way back to user mode for each batch charged over the limit
 * (mem_cgroup_handle_over_high: 12, 60, 140, 248 ms for the four
 * batches past 16 MiB at HZ 250, more with the kernel's own pages):
 * the touching completes, it takes that long at least, memory.events
 * counts "high" (in the group and its parent), and no OOM kill. */
KT_CASE(over_memory_high_is_throttled_not_killed) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "+memory"));
    KT_SYS_OK(mkdir(CG "/hi", 0755));
    KT_SYS_OK(write_text(CG "/hi/cgroup.subtree_control", "+memory"));
    KT_SYS_OK(mkdir(CG "/hi/t", 0755));
    KT_SYS_OK(write_text(CG "/hi/t/memory.high", "16M"));
    write_text(CG "/hi/t/memory.swap.max", "0"); /* (no swap here anyway) */
    KT_STREQ(text_of(CG "/hi/t/memory.high"), "16777216\n");
    int to, from;
    pid_t c = toucher(CG "/hi/t", 17, &to, &from);
    KT_TRUE(c > 0, "fork");
    char x;
    KT_EQ(read(from, &x, 1), 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    KT_EQ(write(to, "g", 1), 1);
    KT_EQ(read(from, &x, 1), 1); /* it touched it all */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    KT_EQ(x, 't');
    long high = key_of(CG "/hi/t/memory.events", "high");
    KT_TRUE(high > 0, "%s", text_of(CG "/hi/t/memory.events"));
    KT_TRUE(key_of(CG "/hi/t/memory.events.local", "high") == high, "%s",
            text_of(CG "/hi/t/memory.events.local"));
    KT_TRUE(key_of(CG "/hi/memory.events", "high") == high, "%s", text_of(CG "/hi/memory.events"));
    KT_EQ(key_of(CG "/hi/memory.events.local", "high"), 0);
    KT_EQ(key_of(CG "/hi/t/memory.events", "max"), 0);
    KT_EQ(key_of(CG "/hi/t/memory.events", "oom"), 0);
    KT_EQ(key_of(CG "/hi/t/memory.events", "oom_kill"), 0);
    KT_TRUE(ms >= 250, "touching 17 MiB over a 16 MiB memory.high took %ld ms", ms);
    long cur = num_of(CG "/hi/t/memory.current");
    KT_TRUE(cur > 16 * MiB, "memory.current %ld", cur);
    KT_EQ(write(to, "x", 1), 1);
    KT_WAIT_STATUS(c, kt_exited(0));
    close(to);
    close(from);
    KT_SYS_OK(rmdir(CG "/hi/t"));
    KT_SYS_OK(rmdir(CG "/hi"));
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "-memory"));
    umount_cg();
}

/* review39 M4: a zombie counts in pids.current until it is reaped
 * (pids_release), though it no longer populates its group, which may
 * then be removed; its parent's count keeps it. */
KT_CASE(zombie_counts_in_pids_current_until_reaped) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "+pids"));
    KT_SYS_OK(mkdir(CG "/z", 0755));
    KT_SYS_OK(write_text(CG "/z/cgroup.subtree_control", "+pids"));
    KT_SYS_OK(mkdir(CG "/z/y", 0755));
    int wr;
    pid_t c = sleeper(&wr);
    KT_SYS_OK(write_pid(CG "/z/y/cgroup.procs", c));
    KT_STREQ(text_of(CG "/z/y/pids.current"), "1\n");
    close(wr);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    KT_SYS_OK(waitid(P_PID, c, &si, WEXITED | WNOWAIT));
    KT_EQ(si.si_pid, c);
    KT_STREQ(text_of(CG "/z/y/cgroup.events"), "populated 0\nfrozen 0\n");
    KT_STREQ(text_of(CG "/z/y/pids.current"), "1\n");
    KT_STREQ(text_of(CG "/z/pids.current"), "1\n");
    /* pids.max counts it: no fork into the group */
    KT_SYS_OK(write_text(CG "/z/pids.max", "1"));
    int fd = open(CG "/z/y", O_RDONLY | O_DIRECTORY);
    KT_TRUE(fd >= 0, "open");
    struct {
        unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
            set_tid_size, cgroup;
    } args;
    memset(&args, 0, sizeof args);
    args.flags = 0x200000000ULL; /* CLONE_INTO_CGROUP */
    args.exit_signal = SIGCHLD;
    args.cgroup = (unsigned long long)fd;
    long r = syscall(SYS_clone3, &args, sizeof args);
    if (r == 0) _exit(0);
    int e = errno;
    if (r > 0) waitpid((pid_t)r, NULL, 0);
    KT_TRUE(r == -1 && e == EAGAIN, "clone3 into the group: %ld (%s)", r, kt_errname(e));
    close(fd);
    KT_SYS_OK(write_text(CG "/z/pids.max", "max"));
    /* the group goes, the zombie's charge stays above it */
    KT_SYS_OK(rmdir(CG "/z/y"));
    KT_STREQ(text_of(CG "/z/pids.current"), "1\n");
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_STREQ(text_of(CG "/z/pids.current"), "0\n");
    KT_SYS_OK(rmdir(CG "/z"));
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "-pids"));
    umount_cg();
}

KT_MAIN()
