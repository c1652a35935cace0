/* CPU-time accounting: getrusage (SELF, CHILDREN, THREAD), times(2),
 * wait4's rusage, the CPU-time clocks (process, thread, and the pid/tid
 * encoded ones), /proc/<pid>/stat fields 14-17, /proc/stat's cpu line, and
 * the ITIMER_VIRTUAL / ITIMER_PROF interval timers. Spins are measured on
 * the monotonic clock and checked with wide margins (a 300 ms spin must
 * give at least 200 ms of user time), so no result depends on timing luck. */
#include "kt.h"
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/times.h>

static long long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static volatile unsigned long sink;

/* Runs user-mode arithmetic for `ms` milliseconds of wall time (checking
 * the clock only every 20000 iterations), or until *stop is set. */
static void spin_until(long ms, volatile int *stop) {
    long long end = mono_ms() + ms;
    while (mono_ms() < end && !(stop && *stop)) {
        for (int i = 0; i < 20000; i++) sink = sink * 31 + (unsigned long)i;
    }
}
static void spin(long ms) { spin_until(ms, 0); }

static long long tv_ms(struct timeval tv) { return tv.tv_sec * 1000LL + tv.tv_usec / 1000; }
static long long ts_ms(struct timespec ts) { return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000; }

static long long clock_ms(clockid_t c) {
    struct timespec ts = {0, 0};
    if (clock_gettime(c, &ts) != 0) return -1;
    return ts_ms(ts);
}

static struct rusage usage(int who) {
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    getrusage(who, &ru);
    return ru;
}

KT_CASE(spin_is_user_time_not_system_time) {
    struct rusage a = usage(RUSAGE_SELF);
    spin(300);
    struct rusage b = usage(RUSAGE_SELF);
    long long u = tv_ms(b.ru_utime) - tv_ms(a.ru_utime);
    long long s = tv_ms(b.ru_stime) - tv_ms(a.ru_stime);
    KT_TRUE(u >= 200, "user time of a 300 ms spin: %lld ms", u);
    KT_TRUE(s < 100, "system time of a 300 ms spin: %lld ms", s);
}

KT_CASE(rusage_thread_is_the_callers) {
    struct rusage a = usage(RUSAGE_THREAD);
    spin(250);
    struct rusage b = usage(RUSAGE_THREAD);
    long long u = tv_ms(b.ru_utime) - tv_ms(a.ru_utime);
    KT_TRUE(u >= 150, "RUSAGE_THREAD user time of a 250 ms spin: %lld ms", u);
}

KT_CASE(getrusage_bad_who_is_einval) {
    struct rusage ru;
    KT_SYS_ERR(getrusage(2, &ru), EINVAL);
    KT_SYS_ERR(getrusage(-2, &ru), EINVAL);
    KT_SYS_ERR(syscall(SYS_getrusage, RUSAGE_SELF, (void *)8), EFAULT);
}

KT_CASE(process_cputime_clock_counts_the_spin) {
    long long a = clock_ms(CLOCK_PROCESS_CPUTIME_ID), w0 = mono_ms();
    spin(250);
    long long b = clock_ms(CLOCK_PROCESS_CPUTIME_ID), w1 = mono_ms();
    KT_TRUE(a >= 0 && b - a >= 170, "process CPU clock advanced %lld ms", b - a);
    KT_TRUE(b - a <= w1 - w0 + 20, "process CPU clock advanced %lld ms in %lld ms", b - a, w1 - w0);
}

KT_CASE(thread_cputime_clock_counts_the_spin) {
    long long a = clock_ms(CLOCK_THREAD_CPUTIME_ID);
    spin(250);
    long long b = clock_ms(CLOCK_THREAD_CPUTIME_ID);
    KT_TRUE(a >= 0 && b - a >= 170, "thread CPU clock advanced %lld ms", b - a);
    KT_TRUE(b <= clock_ms(CLOCK_PROCESS_CPUTIME_ID), "a thread's clock is within its process's");
}

KT_CASE(cputime_clocks_resolution_is_1ns) {
    struct timespec r = {5, 5};
    KT_SYS_RET(clock_getres(CLOCK_PROCESS_CPUTIME_ID, &r), 0);
    KT_EQ(r.tv_sec, 0);
    KT_EQ(r.tv_nsec, 1);
    r.tv_nsec = 5;
    KT_SYS_RET(clock_getres(CLOCK_THREAD_CPUTIME_ID, &r), 0);
    KT_EQ(r.tv_nsec, 1);
}

KT_CASE(sleeping_costs_no_cpu_time) {
    long long a = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
    kt_msleep(200);
    long long b = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
    KT_TRUE(b - a < 50, "200 ms asleep cost %lld ms of CPU", b - a);
}

KT_CASE(clock_getcpuclockid_of_self_and_of_a_child) {
    clockid_t c;
    KT_EQ(clock_getcpuclockid(getpid(), &c), 0);
    KT_EQ(c, (clockid_t)((~getpid()) * 8 + 2));
    long long mine = clock_ms(c);
    KT_TRUE(mine >= 0 && mine <= clock_ms(CLOCK_PROCESS_CPUTIME_ID), "pid clock %lld", mine);
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t child = KT_FORK();
    if (child == 0) {
        spin(200);
        char x = 1;
        write(p[1], &x, 1);
        for (;;) pause();
    }
    char x;
    KT_SYS_RET(read(p[0], &x, 1), 1);
    KT_EQ(clock_getcpuclockid(child, &c), 0);
    long long theirs = clock_ms(c);
    kill(child, SIGKILL);
    KT_WAIT_STATUS(child, kt_killed(SIGKILL));
    close(p[0]);
    close(p[1]);
    KT_TRUE(theirs >= 130, "the child's CPU clock after a 200 ms spin: %lld ms", theirs);
    /* gone now: the kernel's EINVAL (musl returns it as is) */
    KT_EQ(clock_getcpuclockid(child, &c), EINVAL);
    struct timespec ts;
    KT_SYS_ERR(clock_gettime((~child) * 8 + 2, &ts), EINVAL);
}

KT_CASE(malformed_cpu_clock_ids_are_einval) {
    struct timespec ts;
    KT_SYS_ERR(clock_gettime((~getpid()) * 8 + 3, &ts), EINVAL);   /* type 3 */
    KT_SYS_ERR(clock_gettime((~1) * 8 + 4 + 2, &ts), EINVAL);      /* init's thread: not ours */
    KT_SYS_RET(clock_gettime((~0) * 8 + 4 + 2, &ts), 0);           /* tid 0: the caller */
    KT_SYS_RET(clock_gettime((~getpid()) * 8 + 1, &ts), 0);        /* VIRT clock of the process */
    KT_SYS_RET(clock_gettime((~getpid()) * 8 + 0, &ts), 0);        /* PROF */
}

static volatile int thread_spun;
static void *spinner(void *arg) {
    (void)arg;
    spin(250);
    thread_spun = 1;
    return 0;
}

KT_CASE(pthread_cpu_clock_and_task_stat_of_another_thread) {
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, spinner, 0), 0);
    while (!thread_spun) kt_msleep(5); /* asleep: the spinner has the CPU */
    clockid_t c;
    KT_EQ(pthread_getcpuclockid(th, &c), 0);
    long long theirs = clock_ms(c);
    KT_EQ(pthread_join(th, 0), 0);
    KT_TRUE(theirs >= 150, "the spinning thread's clock: %lld ms", theirs);
}

static volatile pid_t stat_tid;
static volatile int stat_go;
static void *stat_spinner(void *arg) {
    (void)arg;
    stat_tid = syscall(SYS_gettid);
    spin(250);
    stat_go = 1;
    while (stat_go != 2) kt_msleep(1);
    return 0;
}

/* Fields 14 to 17 (utime stime cutime cstime) of a stat file. */
static int stat_times(const char *path, long long f[4]) {
    char buf[1024];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    /* after ") ": field 3 (state) onwards; utime is field 14 */
    p += 2;
    for (int i = 3; i < 14; i++) {
        p = strchr(p, ' ');
        if (!p) return -1;
        p++;
    }
    return sscanf(p, "%lld %lld %lld %lld", &f[0], &f[1], &f[2], &f[3]) == 4 ? 0 : -1;
}

KT_CASE(proc_task_stat_shows_the_threads_own_time) {
    long long before[4], t[4], self_now[4];
    KT_SYS_RET(stat_times("/proc/self/stat", before), 0);
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, stat_spinner, 0), 0);
    while (!stat_go) kt_msleep(5);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)stat_tid);
    KT_SYS_RET(stat_times(path, t), 0);
    stat_go = 2;
    KT_EQ(pthread_join(th, 0), 0);
    KT_TRUE(t[0] >= 15, "the thread's utime after a 250 ms spin: %lld ticks", t[0]);
    KT_SYS_RET(stat_times("/proc/self/stat", self_now), 0);
    KT_TRUE(self_now[0] - before[0] >= 15, "the process's utime grew by %lld ticks", self_now[0] - before[0]);
}

KT_CASE(proc_self_stat_utime_after_a_spin) {
    long long a[4], b[4];
    KT_SYS_RET(stat_times("/proc/self/stat", a), 0);
    spin(300);
    KT_SYS_RET(stat_times("/proc/self/stat", b), 0);
    KT_TRUE(b[0] - a[0] >= 20, "utime grew by %lld ticks", b[0] - a[0]);
    KT_TRUE(b[1] - a[1] < 10, "stime grew by %lld ticks", b[1] - a[1]);
}

static int cpu_line(long long v[4]) {
    char buf[512];
    int fd = open("/proc/stat", O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    return sscanf(buf, "cpu %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3]) == 4 ? 0 : -1;
}

KT_CASE(proc_stat_cpu_user_grows_with_a_spin_idle_with_a_sleep) {
    long long a[4], b[4], c[4];
    KT_SYS_RET(cpu_line(a), 0);
    spin(300);
    KT_SYS_RET(cpu_line(b), 0);
    KT_TRUE(b[0] - a[0] >= 20, "cpu user grew by %lld ticks", b[0] - a[0]);
    kt_msleep(300);
    KT_SYS_RET(cpu_line(c), 0);
    KT_TRUE(c[3] - b[3] >= 20, "cpu idle grew by %lld ticks over 300 ms asleep", c[3] - b[3]);
}

KT_CASE(times_counts_ticks_and_returns_elapsed_ticks) {
    struct tms a, b;
    clock_t r0 = times(&a);
    spin(300);
    clock_t r1 = times(&b);
    KT_TRUE(b.tms_utime - a.tms_utime >= 20, "tms_utime grew by %ld", (long)(b.tms_utime - a.tms_utime));
    KT_TRUE(r1 - r0 >= 25 && r1 - r0 <= 300, "times() grew by %ld ticks over 300 ms", (long)(r1 - r0));
    KT_NE(times(0), (clock_t)-1);
}

KT_CASE(children_times_appear_only_when_reaped) {
    struct rusage a = usage(RUSAGE_CHILDREN);
    struct tms ta;
    times(&ta);
    pid_t c = KT_FORK();
    if (c == 0) {
        spin(250);
        _exit(0);
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    KT_SYS_RET(waitid(P_PID, c, &si, WEXITED | WNOWAIT), 0);
    struct rusage b = usage(RUSAGE_CHILDREN);
    KT_EQ(tv_ms(b.ru_utime), tv_ms(a.ru_utime));
    struct rusage w;
    int st;
    KT_SYS_RET(wait4(c, &st, 0, &w), c);
    KT_TRUE(tv_ms(w.ru_utime) >= 150, "wait4's ru_utime: %lld ms", tv_ms(w.ru_utime));
    struct rusage d = usage(RUSAGE_CHILDREN);
    long long got = tv_ms(d.ru_utime) - tv_ms(a.ru_utime);
    KT_TRUE(got >= 150, "RUSAGE_CHILDREN grew by %lld ms after the reap", got);
    struct tms tb;
    times(&tb);
    KT_TRUE(tb.tms_cutime - ta.tms_cutime >= 15, "tms_cutime grew by %ld", (long)(tb.tms_cutime - ta.tms_cutime));
    long long s[4];
    KT_SYS_RET(stat_times("/proc/self/stat", s), 0);
    KT_TRUE(s[2] >= 15, "/proc/self/stat cutime %lld", s[2]);
}

KT_CASE(grandchildren_count_only_when_their_parent_reaped_them) {
    struct rusage a = usage(RUSAGE_CHILDREN);
    pid_t c = KT_FORK();
    if (c == 0) {
        pid_t g = fork();
        if (g == 0) {
            spin(250);
            _exit(0);
        }
        int st;
        waitpid(g, &st, 0);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    struct rusage b = usage(RUSAGE_CHILDREN);
    long long got = tv_ms(b.ru_utime) - tv_ms(a.ru_utime);
    KT_TRUE(got >= 150, "a reaped grandchild's 250 ms: %lld ms", got);
    /* a grandchild left to init does not count */
    int p[2];
    KT_SYS_OK(pipe(p));
    c = KT_FORK();
    if (c == 0) {
        if (fork() == 0) {
            spin(250);
            char x = 1;
            write(p[1], &x, 1);
            _exit(0);
        }
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    close(p[1]);
    char x;
    KT_SYS_RET(read(p[0], &x, 1), 1);
    close(p[0]);
    kt_msleep(20);
    struct rusage d = usage(RUSAGE_CHILDREN);
    got = tv_ms(d.ru_utime) - tv_ms(b.ru_utime);
    KT_TRUE(got < 100, "an orphaned grandchild's time counted: %lld ms", got);
}

static void *short_spinner(void *arg) {
    (void)arg;
    spin(200);
    return 0;
}

KT_CASE(an_exited_threads_time_stays_with_the_process) {
    struct rusage a = usage(RUSAGE_SELF), ta = usage(RUSAGE_THREAD);
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, short_spinner, 0), 0);
    KT_EQ(pthread_join(th, 0), 0);
    struct rusage b = usage(RUSAGE_SELF), tb = usage(RUSAGE_THREAD);
    long long self = tv_ms(b.ru_utime) - tv_ms(a.ru_utime);
    long long mine = tv_ms(tb.ru_utime) - tv_ms(ta.ru_utime);
    KT_TRUE(self >= 130, "RUSAGE_SELF grew by %lld ms", self);
    KT_TRUE(mine < 60, "the joining thread's own time grew by %lld ms", mine);
}

KT_CASE(minor_faults_count_touched_pages) {
    struct rusage a = usage(RUSAGE_SELF);
    char *m = mmap(0, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(m != MAP_FAILED, "mmap");
    for (int i = 0; i < 64; i++) m[i * 4096] = 1;
    struct rusage b = usage(RUSAGE_SELF);
    munmap(m, 64 * 4096);
    KT_TRUE(b.ru_minflt - a.ru_minflt >= 64, "ru_minflt grew by %ld", b.ru_minflt - a.ru_minflt);
}

KT_CASE(voluntary_switches_count_sleeps) {
    struct rusage a = usage(RUSAGE_THREAD);
    for (int i = 0; i < 5; i++) kt_msleep(2);
    struct rusage b = usage(RUSAGE_THREAD);
    KT_TRUE(b.ru_nvcsw - a.ru_nvcsw >= 5, "ru_nvcsw grew by %ld", b.ru_nvcsw - a.ru_nvcsw);
}

static volatile int got_sig;
static void on_sig(int s) { got_sig = s; }
static volatile int nsigs;
static void count_sig(int s) {
    (void)s;
    nsigs++;
}

static int arm(int which, long value_us, long interval_us) {
    struct itimerval it = {{interval_us / 1000000, interval_us % 1000000}, {value_us / 1000000, value_us % 1000000}};
    return setitimer(which, &it, 0);
}

KT_CASE(itimer_prof_fires_while_spinning) {
    got_sig = 0;
    signal(SIGPROF, on_sig);
    long long t0 = mono_ms();
    KT_SYS_RET(arm(ITIMER_PROF, 50000, 0), 0);
    spin_until(2000, &got_sig);
    long long took = mono_ms() - t0;
    signal(SIGPROF, SIG_DFL);
    KT_EQ(got_sig, SIGPROF);
    KT_TRUE(took >= 40 && took < 1000, "SIGPROF after %lld ms", took);
    struct itimerval cur;
    KT_SYS_RET(getitimer(ITIMER_PROF, &cur), 0);
    KT_EQ(cur.it_value.tv_sec + cur.it_value.tv_usec, 0); /* one-shot: disarmed */
}

KT_CASE(itimer_virtual_fires_while_spinning) {
    got_sig = 0;
    signal(SIGVTALRM, on_sig);
    long long t0 = mono_ms();
    KT_SYS_RET(arm(ITIMER_VIRTUAL, 50000, 0), 0);
    spin_until(2000, &got_sig);
    long long took = mono_ms() - t0;
    signal(SIGVTALRM, SIG_DFL);
    KT_EQ(got_sig, SIGVTALRM);
    KT_TRUE(took >= 40 && took < 1000, "SIGVTALRM after %lld ms", took);
}

KT_CASE(itimer_virtual_does_not_run_while_asleep) {
    got_sig = 0;
    signal(SIGVTALRM, on_sig);
    KT_SYS_RET(arm(ITIMER_VIRTUAL, 50000, 0), 0);
    kt_msleep(200);
    struct itimerval cur, old;
    KT_SYS_RET(getitimer(ITIMER_VIRTUAL, &cur), 0);
    KT_SYS_RET(arm(ITIMER_VIRTUAL, 0, 0), 0);
    signal(SIGVTALRM, SIG_DFL);
    KT_EQ(got_sig, 0);
    long long left = tv_ms(cur.it_value);
    KT_TRUE(left >= 30 && left <= 60, "ITIMER_VIRTUAL left after 200 ms asleep: %lld ms", left);
    KT_SYS_RET(getitimer(ITIMER_VIRTUAL, &old), 0);
    KT_EQ(old.it_value.tv_sec + old.it_value.tv_usec, 0);
}

KT_CASE(getitimer_prof_shows_the_remaining_time_and_interval) {
    signal(SIGPROF, SIG_IGN);
    KT_SYS_RET(arm(ITIMER_PROF, 1000000, 250000), 0);
    spin(200);
    struct itimerval cur, old;
    KT_SYS_RET(getitimer(ITIMER_PROF, &cur), 0);
    long long left = tv_ms(cur.it_value);
    KT_TRUE(left >= 500 && left <= 880, "ITIMER_PROF of 1 s after a 200 ms spin: %lld ms left", left);
    KT_EQ(cur.it_interval.tv_sec, 0);
    KT_EQ(cur.it_interval.tv_usec, 250000);
    struct itimerval zero = {{0, 0}, {0, 0}};
    KT_SYS_RET(setitimer(ITIMER_PROF, &zero, &old), 0);
    KT_EQ(old.it_interval.tv_usec, 250000);
    KT_TRUE(tv_ms(old.it_value) > 0 && tv_ms(old.it_value) <= left, "old value %lld", tv_ms(old.it_value));
    signal(SIGPROF, SIG_DFL);
}

KT_CASE(itimer_prof_interval_rearms) {
    nsigs = 0;
    signal(SIGPROF, count_sig);
    KT_SYS_RET(arm(ITIMER_PROF, 20000, 20000), 0);
    spin(400);
    KT_SYS_RET(arm(ITIMER_PROF, 0, 0), 0);
    signal(SIGPROF, SIG_DFL);
    KT_TRUE(nsigs >= 5 && nsigs <= 25, "SIGPROF every 20 ms over a 400 ms spin: %d times", nsigs);
}

KT_CASE(itimer_cpu_timers_are_not_inherited_by_fork) {
    signal(SIGVTALRM, SIG_IGN);
    KT_SYS_RET(arm(ITIMER_VIRTUAL, 5000000, 0), 0);
    pid_t c = KT_FORK();
    if (c == 0) {
        struct itimerval cur;
        getitimer(ITIMER_VIRTUAL, &cur);
        _exit(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 ? 0 : 1);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    struct itimerval cur;
    KT_SYS_RET(getitimer(ITIMER_VIRTUAL, &cur), 0);
    KT_TRUE(cur.it_value.tv_sec >= 4, "the parent keeps its timer: %ld s", (long)cur.it_value.tv_sec);
    KT_SYS_RET(arm(ITIMER_VIRTUAL, 0, 0), 0);
    signal(SIGVTALRM, SIG_DFL);
}

KT_CASE(setitimer_bad_arguments) {
    struct itimerval it = {{0, 0}, {0, 1000000}};
    KT_SYS_ERR(setitimer(ITIMER_VIRTUAL, &it, 0), EINVAL);
    it.it_value.tv_usec = -1;
    KT_SYS_ERR(setitimer(ITIMER_PROF, &it, 0), EINVAL);
    struct itimerval ok = {{0, 0}, {0, 0}};
    KT_SYS_ERR(setitimer(3, &ok, 0), EINVAL);
    KT_SYS_ERR(getitimer(3, &ok), EINVAL);
    KT_SYS_ERR(getitimer(ITIMER_PROF, (void *)8), EFAULT);
}

KT_CASE(unhandled_sigvtalrm_kills) {
    pid_t c = KT_FORK();
    if (c == 0) {
        arm(ITIMER_VIRTUAL, 30000, 0);
        spin(3000);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_killed(SIGVTALRM));
}

KT_MAIN()
