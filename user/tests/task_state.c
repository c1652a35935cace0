/* What a thread and a process carry besides the process tree, through
 * clone, vfork, exec and exit: the thread name (comm) is per thread and
 * copied by clone; interval timers are per process, not inherited by
 * fork, kept by exec (also an exec from a non-leader thread); /proc's
 * exe, cmdline and start time of a process through exec and exit. */
#include "kt.h"

#include <pthread.h>
#include <sys/prctl.h>
#include <sys/time.h>

static void get_name(char out[16]) {
    memset(out, 0, 16);
    prctl(PR_GET_NAME, out, 0, 0, 0);
}

/* Reads a small /proc file into buf (NUL-terminated); returns the length
 * or -errno. */
static long read_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -errno;
    long n = read(fd, buf, size - 1);
    long e = n < 0 ? -errno : n;
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return e;
}

static char thread_name[16];
static char thread_proc_comm[64];

static void *name_thread(void *arg) {
    (void)arg;
    get_name(thread_name);
    prctl(PR_SET_NAME, "worker", 0, 0, 0);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/comm", (long)syscall(SYS_gettid));
    read_file(path, thread_proc_comm, sizeof thread_proc_comm);
    return 0;
}

KT_CASE(comm_is_per_thread_and_copied_by_clone) {
    char saved[16], now[16];
    get_name(saved);
    KT_SYS_RET(prctl(PR_SET_NAME, "the-parent-name", 0, 0, 0), 0);
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, name_thread, 0), 0);
    KT_EQ(pthread_join(th, 0), 0);
    /* the thread started with its creator's name; its own change is its own */
    KT_EQ(strcmp(thread_name, "the-parent-name"), 0);
    KT_EQ(strcmp(thread_proc_comm, "worker\n"), 0);
    get_name(now);
    KT_EQ(strcmp(now, "the-parent-name"), 0);
    prctl(PR_SET_NAME, saved, 0, 0, 0);
}

KT_CASE(a_vfork_childs_name_is_its_own) {
    char saved[16], now[16];
    get_name(saved);
    KT_SYS_RET(prctl(PR_SET_NAME, "vfork-parent", 0, 0, 0), 0);
    volatile int child_saw = 0;
    pid_t c = vfork();
    if (c == 0) {
        char n[16];
        get_name(n);
        child_saw = strcmp(n, "vfork-parent") == 0;
        prctl(PR_SET_NAME, "vfork-child", 0, 0, 0);
        _exit(0);
    }
    KT_TRUE(c > 0, "vfork: %s", kt_errname(errno));
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(child_saw, 1);
    get_name(now);
    KT_EQ(strcmp(now, "vfork-parent"), 0);
    prctl(PR_SET_NAME, saved, 0, 0, 0);
}

KT_CASE(fork_child_starts_with_no_interval_timers) {
    struct itimerval ten = {{0, 0}, {10, 0}}, off = {{0, 0}, {0, 0}}, got;
    KT_SYS_OK(setitimer(ITIMER_REAL, &ten, 0));
    KT_SYS_OK(setitimer(ITIMER_VIRTUAL, &ten, 0));
    KT_SYS_OK(setitimer(ITIMER_PROF, &ten, 0));
    pid_t c = KT_FORK();
    if (c == 0) {
        int which[3] = {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF};
        for (int i = 0; i < 3; i++) {
            struct itimerval v;
            if (getitimer(which[i], &v) != 0) _exit(10 + i);
            if (v.it_value.tv_sec || v.it_value.tv_usec) _exit(20 + i);
        }
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    /* the parent's are still armed */
    KT_SYS_OK(getitimer(ITIMER_REAL, &got));
    KT_TRUE(got.it_value.tv_sec >= 9, "ITIMER_REAL left %ld s", (long)got.it_value.tv_sec);
    KT_SYS_OK(getitimer(ITIMER_PROF, &got));
    KT_TRUE(got.it_value.tv_sec >= 9, "ITIMER_PROF left %ld s", (long)got.it_value.tv_sec);
    setitimer(ITIMER_REAL, &off, 0);
    setitimer(ITIMER_VIRTUAL, &off, 0);
    setitimer(ITIMER_PROF, &off, 0);
}

KT_CASE(exec_keeps_the_real_timer) {
    pid_t c = KT_FORK();
    if (c == 0) {
        struct itimerval t = {{0, 0}, {0, 200000}};
        signal(SIGALRM, SIG_DFL);
        setitimer(ITIMER_REAL, &t, 0);
        char *argv[] = {(char *)kt_self, "kt-sleep", 0};
        execv(kt_self, argv);
        _exit(1);
    }
    /* the sleeping program dies of the timer its exec kept */
    KT_WAIT_STATUS(c, kt_killed(SIGALRM));
}

static void *exec_thread(void *arg) {
    struct itimerval t = {{0, 0}, {0, 300000}};
    signal(SIGALRM, SIG_DFL);
    setitimer(ITIMER_REAL, &t, 0);
    char *argv[] = {(char *)arg, "kt-sleep", 0};
    execv((char *)arg, argv);
    _exit(1);
}

KT_CASE(exec_from_a_thread_keeps_the_pid_its_timer_and_renames) {
    /* the child starts with another name than the program's */
    char saved[16];
    get_name(saved);
    KT_SYS_RET(prctl(PR_SET_NAME, "before-exec", 0, 0, 0), 0);
    pid_t c = KT_FORK();
    if (c == 0) {
        pthread_t th;
        pthread_create(&th, 0, exec_thread, (void *)kt_self);
        for (;;) pause();
    }
    prctl(PR_SET_NAME, saved, 0, 0, 0);
    /* wait until the exec is done: comm becomes the program's name */
    const char *base = strrchr(kt_self, '/') ? strrchr(kt_self, '/') + 1 : kt_self;
    char want[32], path[64], got[256];
    snprintf(want, sizeof want, "%.15s\n", base);
    snprintf(path, sizeof path, "/proc/%d/comm", c);
    int tries = 0;
    while (read_file(path, got, sizeof got) > 0 && strcmp(got, want) != 0 && tries++ < 200) kt_msleep(1);
    KT_EQ(strcmp(got, want), 0);
    /* one thread left, under the pid */
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", c, c);
    KT_EQ(read_file(path, got, sizeof got), (long)strlen(want));
    snprintf(path, sizeof path, "/proc/%d/status", c);
    static char status[4096];
    KT_TRUE(read_file(path, status, sizeof status) > 0 && strstr(status, "\nThreads:\t1\n"), "%.200s", status);
    /* the new command line (Linux renames before it sets up the new
     * program's arguments: wait for them too) */
    snprintf(path, sizeof path, "/proc/%d/cmdline", c);
    long n = 0;
    tries = 0;
    while ((n = read_file(path, got, sizeof got)) <= 0 && tries++ < 2000) kt_msleep(1);
    KT_EQ(n, (long)(strlen(kt_self) + 1 + strlen("kt-sleep") + 1));
    KT_EQ(strcmp(got, kt_self), 0);
    KT_EQ(strcmp(got + strlen(kt_self) + 1, "kt-sleep"), 0);
    /* and the timer the thread armed before its exec ends it */
    KT_WAIT_STATUS(c, kt_killed(SIGALRM));
}

/* Field 22 (starttime) of /proc/<pid>/stat, or -1. */
static long long start_time(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (read_file(path, buf, sizeof buf) <= 0) return -1;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    p += 2; /* field 3 */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p) return -1;
        p++;
    }
    return strtoll(p, 0, 10);
}

KT_CASE(a_zombie_keeps_its_start_time_and_loses_exe_and_cmdline) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t c = KT_FORK();
    if (c == 0) {
        char b;
        close(p[1]);
        read(p[0], &b, 1);
        _exit(0);
    }
    close(p[0]);
    char path[64], got[256];
    long long before = start_time(c);
    KT_TRUE(before >= 0, "start time of %d", c);
    snprintf(path, sizeof path, "/proc/%d/cmdline", c);
    KT_EQ(read_file(path, got, sizeof got), (long)strlen(kt_self) + 1);
    close(p[1]);
    /* a zombie: state Z */
    snprintf(path, sizeof path, "/proc/%d/stat", c);
    int tries = 0;
    while (read_file(path, got, sizeof got) > 0 && !strstr(got, ") Z ") && tries++ < 200) kt_msleep(1);
    KT_TRUE(strstr(got, ") Z ") != 0, "%s", got);
    KT_EQ(start_time(c), before);
    snprintf(path, sizeof path, "/proc/%d/cmdline", c);
    KT_EQ(read_file(path, got, sizeof got), 0);
    snprintf(path, sizeof path, "/proc/%d/exe", c);
    KT_SYS_ERR(readlink(path, got, sizeof got), ENOENT);
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_MAIN()
