/* timer_create/settime/gettime/getoverrun/delete (raw syscalls): ids from 0
 * per process, the errno rules, SIGEV_SIGNAL siginfo (SI_TIMER, si_timerid,
 * si_overrun, si_value), the NULL sevp default, SIGEV_NONE remaining time,
 * TIMER_ABSTIME, overruns counted while the signal waits blocked, a
 * SIGEV_THREAD_ID expiry to one thread, timer_delete leaving a queued
 * signal pending (as Linux 6.1),
 * and no timers in a fork's child; timers on thread CPU clocks
 * (CLOCK_THREAD_CPUTIME_ID, pthread_getcpuclockid) and periodic ones on
 * the process CPU clock firing at their CPU times. */
#include "kt.h"

#include <pthread.h>
#include <sys/syscall.h>

#define MS 1000000L

static int tcreate(clockid_t c, struct sigevent *ev, int *id) { return syscall(SYS_timer_create, c, ev, id); }
static int tset(int id, int flags, long long val, long long ival, struct itimerspec *old) {
    struct itimerspec its = {{ival / 1000000000, ival % 1000000000}, {val / 1000000000, val % 1000000000}};
    return syscall(SYS_timer_settime, id, flags, &its, old);
}
static int tget(int id, struct itimerspec *cur) { return syscall(SYS_timer_gettime, id, cur); }
static int tdel(int id) { return syscall(SYS_timer_delete, id); }
static int tover(int id) { return syscall(SYS_timer_getoverrun, id); }
static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static sigset_t one(int sig) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    return s;
}

/* in a fresh child (a fork's child starts with no timers and id 0) */
static int ids_child(void) {
    int id = -1, id2 = -1;
    struct sigevent ev = {.sigev_notify = SIGEV_NONE};
    KT_CHILD_CHECK(1, tcreate(CLOCK_MONOTONIC, &ev, &id) == 0 && id == 0);
    KT_CHILD_CHECK(2, tcreate(CLOCK_REALTIME, &ev, &id2) == 0 && id2 == 1);
    KT_CHILD_CHECK(3, tcreate(99, &ev, &id) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(4, tcreate(CLOCK_MONOTONIC_RAW, &ev, &id) == -1 && errno == EOPNOTSUPP);
    struct sigevent bad = {.sigev_notify = 77};
    KT_CHILD_CHECK(5, tcreate(CLOCK_MONOTONIC, &bad, &id) == -1 && errno == EINVAL); /* uses id 2 */
    struct sigevent badsig = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = 65};
    KT_CHILD_CHECK(6, tcreate(CLOCK_MONOTONIC, &badsig, &id) == -1 && errno == EINVAL); /* id 3 */
    struct sigevent badtid = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR1};
    badtid.sigev_notify_thread_id = 1;
    KT_CHILD_CHECK(7, tcreate(CLOCK_MONOTONIC, &badtid, &id) == -1 && errno == EINVAL); /* id 4 */
    KT_CHILD_CHECK(8, tcreate(CLOCK_MONOTONIC, (struct sigevent *)1, &id) == -1 && errno == EFAULT);
    KT_CHILD_CHECK(9, tcreate(CLOCK_BOOTTIME, &ev, &id) == 0 && id == 5);
    struct itimerspec cur;
    KT_CHILD_CHECK(10, tget(42, &cur) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(11, tset(42, 0, MS, 0, 0) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(12, tset(0, 0, -1, 0, 0) == -1 && errno == EINVAL);
    struct itimerspec badts = {{0, 0}, {0, 1000000000}};
    KT_CHILD_CHECK(13, syscall(SYS_timer_settime, 0, 0, &badts, 0) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(14, tover(42) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(15, tdel(42) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(16, tdel(0) == 0);
    KT_CHILD_CHECK(17, tdel(0) == -1 && errno == EINVAL);
    /* deleted ids are not reused before the counter wraps */
    KT_CHILD_CHECK(18, tcreate(CLOCK_MONOTONIC, &ev, &id) == 0 && id == 6);
    KT_CHILD_CHECK(19, tover(6) == 0);
    return 0;
}

KT_CASE(ids_and_errnos) {
    KT_EQ(kt_in_child(ids_child), 0);
}

KT_CASE(sigev_none_gettime_and_abstime) {
    int id = -1;
    struct sigevent ev = {.sigev_notify = SIGEV_NONE};
    KT_SYS_RET(tcreate(CLOCK_MONOTONIC, &ev, &id), 0);
    struct itimerspec cur, old;
    KT_SYS_RET(tget(id, &cur), 0);
    KT_EQ(ns(cur.it_value), 0);
    KT_EQ(ns(cur.it_interval), 0);
    KT_SYS_RET(tset(id, 0, 500 * MS, 100 * MS, 0), 0);
    KT_SYS_RET(tget(id, &cur), 0);
    KT_TRUE(ns(cur.it_value) > 400 * MS && ns(cur.it_value) <= 500 * MS, "left %lld", ns(cur.it_value));
    KT_EQ(ns(cur.it_interval), 100 * MS);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    KT_SYS_RET(tset(id, TIMER_ABSTIME, ns(now) + 2000 * MS, 0, &old), 0);
    KT_TRUE(ns(old.it_value) > 400 * MS && ns(old.it_value) <= 500 * MS, "old %lld", ns(old.it_value));
    KT_EQ(ns(old.it_interval), 100 * MS);
    KT_SYS_RET(tget(id, &cur), 0);
    KT_TRUE(ns(cur.it_value) > 1900 * MS && ns(cur.it_value) <= 2000 * MS, "abs left %lld", ns(cur.it_value));
    /* a SIGEV_NONE one-shot that passed shows 0 */
    KT_SYS_RET(tset(id, 0, 1, 0, 0), 0);
    KT_SYS_RET(tget(id, &cur), 0);
    KT_EQ(ns(cur.it_value), 0);
    /* disarm */
    KT_SYS_RET(tset(id, 0, 0, 0, &old), 0);
    KT_SYS_RET(tget(id, &cur), 0);
    KT_EQ(ns(cur.it_value), 0);
    KT_SYS_RET(tdel(id), 0);
}

KT_CASE(sigev_signal_siginfo) {
    sigset_t s = one(SIGRTMIN + 1);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &s, 0), 0);
    int id = -1;
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 1};
    ev.sigev_value.sival_ptr = (void *)0x1234567890ULL;
    KT_SYS_RET(tcreate(CLOCK_REALTIME, &ev, &id), 0);
    KT_SYS_RET(tset(id, 0, 20 * MS, 0, 0), 0);
    siginfo_t si;
    struct timespec to = {5, 0};
    KT_SYS_RET(sigtimedwait(&s, &si, &to), SIGRTMIN + 1);
    KT_EQ(si.si_code, SI_TIMER);
    KT_EQ(si.si_timerid, id);
    KT_EQ(si.si_overrun, 0);
    KT_EQ((unsigned long long)si.si_value.sival_ptr, 0x1234567890ULL);
    KT_SYS_RET(tover(id), 0);
    struct itimerspec cur;
    KT_SYS_RET(tget(id, &cur), 0);
    KT_EQ(ns(cur.it_value), 0);
    KT_SYS_RET(tdel(id), 0);
    KT_SYS_RET(sigprocmask(SIG_UNBLOCK, &s, 0), 0);
}

KT_CASE(null_sevp_is_sigalrm_with_id) {
    sigset_t s = one(SIGALRM);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &s, 0), 0);
    int a = -1, b = -1;
    struct sigevent ev = {.sigev_notify = SIGEV_NONE};
    KT_SYS_RET(tcreate(CLOCK_MONOTONIC, &ev, &a), 0);
    KT_SYS_RET(tcreate(CLOCK_MONOTONIC, 0, &b), 0);
    KT_EQ(b, a + 1);
    KT_SYS_RET(tset(b, 0, 10 * MS, 0, 0), 0);
    siginfo_t si;
    struct timespec to = {5, 0};
    KT_SYS_RET(sigtimedwait(&s, &si, &to), SIGALRM);
    KT_EQ(si.si_code, SI_TIMER);
    KT_EQ(si.si_timerid, b);
    KT_EQ(si.si_value.sival_int, b);
    KT_SYS_RET(tdel(a), 0);
    KT_SYS_RET(tdel(b), 0);
    KT_SYS_RET(sigprocmask(SIG_UNBLOCK, &s, 0), 0);
}

KT_CASE(overruns_while_blocked) {
    int sig = SIGRTMIN + 2;
    sigset_t s = one(sig);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &s, 0), 0);
    int id = -1;
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = sig};
    KT_SYS_RET(tcreate(CLOCK_MONOTONIC, &ev, &id), 0);
    /* first expiry at 10 ms, then every 10 ms; taken at ~215 ms */
    KT_SYS_RET(tset(id, 0, 10 * MS, 10 * MS, 0), 0);
    struct timespec d = {0, 215 * MS};
    nanosleep(&d, 0);
    sigset_t p;
    KT_SYS_RET(sigpending(&p), 0);
    KT_EQ(sigismember(&p, sig), 1);
    siginfo_t si;
    struct timespec to = {0, 0};
    KT_SYS_RET(sigtimedwait(&s, &si, &to), sig);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* one queued signal for ~21 expiries: 20 overruns (+-3 for timing) */
    KT_TRUE(si.si_overrun >= 17 && si.si_overrun <= 23, "si_overrun %d", si.si_overrun);
    KT_EQ(tover(id), si.si_overrun);
    /* only one instance was queued: nothing more now, unless the next
     * period ended meanwhile (a descheduled vCPU on a loaded host) */
    int again = sigtimedwait(&s, &si, &to);
    int err = errno;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long gap_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    if (again == -1) {
        KT_EQ(err, EAGAIN);
        /* re-armed: the next comes within a period */
        struct timespec to2 = {1, 0};
        KT_SYS_RET(sigtimedwait(&s, &si, &to2), sig);
    } else {
        KT_EQ(again, sig);
        KT_TRUE(gap_ms >= 9, "a second signal %ld ms after the first", gap_ms);
    }
    KT_TRUE(si.si_overrun <= 2 + gap_ms / 10, "si_overrun %d after %ld ms", si.si_overrun, gap_ms);
    KT_SYS_RET(tdel(id), 0);
    /* an expiry between the last wait and the delete stays queued: taken
     * here, not delivered (its default action ends the process) */
    while (sigtimedwait(&s, &si, &to) == sig) {
    }
    KT_SYS_RET(sigprocmask(SIG_UNBLOCK, &s, 0), 0);
}

KT_CASE(delete_leaves_pending_signal) {
    int sig = SIGRTMIN + 3;
    sigset_t s = one(sig);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &s, 0), 0);
    int id = -1;
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = sig};
    KT_SYS_RET(tcreate(CLOCK_MONOTONIC, &ev, &id), 0);
    KT_SYS_RET(tset(id, 0, 1 * MS, 0, 0), 0);
    struct timespec d = {0, 30 * MS};
    nanosleep(&d, 0);
    sigset_t p;
    KT_SYS_RET(sigpending(&p), 0);
    KT_EQ(sigismember(&p, sig), 1);
    /* Linux 6.1 leaves a deleted timer's queued signal pending */
    KT_SYS_RET(tdel(id), 0);
    KT_SYS_RET(sigpending(&p), 0);
    KT_EQ(sigismember(&p, sig), 1);
    siginfo_t si;
    struct timespec to = {0, 0};
    KT_SYS_RET(sigtimedwait(&s, &si, &to), sig);
    KT_EQ(si.si_code, SI_TIMER);
    KT_EQ(si.si_timerid, id);
    KT_EQ(si.si_overrun, 0);
    KT_SYS_ERR(tover(id), EINVAL);
    KT_SYS_RET(sigprocmask(SIG_UNBLOCK, &s, 0), 0);
}

static volatile int got_tid;
static void on_usr2(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    if (si->si_code == SI_TIMER)
        got_tid = syscall(SYS_gettid);
}
static volatile int my_tid;
static void *waiter(void *arg) {
    (void)arg;
    my_tid = syscall(SYS_gettid);
    for (int i = 0; i < 500 && !got_tid; i++) {
        struct timespec d = {0, 10 * MS};
        nanosleep(&d, 0);
    }
    return 0;
}

KT_CASE(thread_id_delivery) {
    struct sigaction sa = {.sa_sigaction = on_usr2, .sa_flags = SA_SIGINFO};
    KT_SYS_RET(sigaction(SIGUSR2, &sa, 0), 0);
    got_tid = 0;
    my_tid = 0;
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, waiter, 0), 0);
    while (!my_tid)
        sched_yield();
    int id = -1;
    struct sigevent ev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR2};
    ev.sigev_notify_thread_id = my_tid;
    KT_SYS_RET(tcreate(CLOCK_MONOTONIC, &ev, &id), 0);
    KT_SYS_RET(tset(id, 0, 20 * MS, 0, 0), 0);
    KT_EQ(pthread_join(th, 0), 0);
    KT_EQ(got_tid, my_tid);
    KT_SYS_RET(tdel(id), 0);
    signal(SIGUSR2, SIG_DFL);
}

static int parent_id;
static int fork_child(void) {
    struct itimerspec cur;
    KT_CHILD_CHECK(1, tget(parent_id, &cur) == -1 && errno == EINVAL);
    return 0;
}

KT_CASE(fork_child_has_none) {
    int id = -1;
    struct sigevent ev = {.sigev_notify = SIGEV_NONE};
    KT_SYS_RET(tcreate(CLOCK_MONOTONIC, &ev, &id), 0);
    parent_id = id;
    KT_EQ(kt_in_child(fork_child), 0);
    KT_SYS_RET(tdel(id), 0);
}

static int proc_child(void) {
    int a = -1, b = -1;
    struct sigevent sig = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    sig.sigev_value.sival_ptr = (void *)0x10;
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    KT_CHILD_CHECK(1, tcreate(CLOCK_MONOTONIC, &sig, &a) == 0 && a == 0);
    KT_CHILD_CHECK(2, tcreate(CLOCK_REALTIME, &none, &b) == 0 && b == 1);
    char want[256], got[256] = {0};
    int me = getpid();
    snprintf(want, sizeof want,
             "ID: 1\nsignal: 0/0000000000000000\nnotify: none/pid.%d\nClockID: 0\n"
             "ID: 0\nsignal: 10/0000000000000010\nnotify: signal/pid.%d\nClockID: 1\n",
             me, me);
    int fd = open("/proc/self/timers", O_RDONLY);
    KT_CHILD_CHECK(3, fd >= 0);
    int n = read(fd, got, sizeof got - 1);
    if (n < 0 || strcmp(got, want) != 0) printf("  got:\n%s  want:\n%s", got, want);
    KT_CHILD_CHECK(4, n > 0 && strcmp(got, want) == 0);
    return 0;
}

KT_CASE(proc_pid_timers) {
    KT_EQ(kt_in_child(proc_child), 0);
}

/* each timer counts against RLIMIT_SIGPENDING: EAGAIN past it, no id used */
static int limit_child(void) {
    struct rlimit rl = {3, 3};
    KT_CHILD_CHECK(1, setrlimit(RLIMIT_SIGPENDING, &rl) == 0);
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    int id = -1;
    for (int i = 0; i < 3; i++)
        KT_CHILD_CHECK(2, tcreate(CLOCK_MONOTONIC, &none, &id) == 0 && id == i);
    KT_CHILD_CHECK(3, tcreate(CLOCK_MONOTONIC, &none, &id) == -1 && errno == EAGAIN);
    KT_CHILD_CHECK(4, tdel(1) == 0);
    KT_CHILD_CHECK(5, tcreate(CLOCK_MONOTONIC, &none, &id) == 0 && id == 3);
    return 0;
}

KT_CASE(rlimit_sigpending_caps_timers) {
    KT_EQ(kt_in_child(limit_child), 0);
}

/* an absolute CLOCK_REALTIME timer 5 s ahead fires as soon as the clock is
 * set past it (and a MONOTONIC one does not move) */
KT_CASE(realtime_timer_follows_clock_set) {
    int sig = SIGRTMIN + 6;
    sigset_t s = one(sig);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &s, 0), 0);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = sig};
    int rt = -1, mono = -1;
    KT_SYS_RET(tcreate(CLOCK_REALTIME, &ev, &rt), 0);
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    KT_SYS_RET(tcreate(CLOCK_MONOTONIC, &none, &mono), 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    KT_SYS_RET(tset(rt, TIMER_ABSTIME, ns(now) + 5000 * MS, 0, 0), 0);
    KT_SYS_RET(tset(mono, 0, 5000 * MS, 0, 0), 0);
    struct timespec ahead = {now.tv_sec + 10, now.tv_nsec};
    KT_SYS_RET(clock_settime(CLOCK_REALTIME, &ahead), 0);
    siginfo_t si;
    struct timespec to = {1, 0};
    int got = sigtimedwait(&s, &si, &to);
    clock_gettime(CLOCK_REALTIME, &now);
    struct timespec back = {now.tv_sec - 10, now.tv_nsec};
    KT_SYS_RET(clock_settime(CLOCK_REALTIME, &back), 0);
    KT_EQ(got, sig);
    KT_EQ(si.si_timerid, rt);
    struct itimerspec cur;
    KT_SYS_RET(tget(mono, &cur), 0);
    KT_TRUE(ns(cur.it_value) > 3000 * MS, "monotonic left %lld", ns(cur.it_value));
    KT_SYS_RET(tdel(rt), 0);
    KT_SYS_RET(tdel(mono), 0);
    KT_SYS_RET(sigprocmask(SIG_UNBLOCK, &s, 0), 0);
}

static long long cpu_ns(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return ns(t);
}

/* spins until `sig` (blocked) is pending or `limit` ns of wall time pass;
 * returns the CPU time of clock `c` when it was seen */
static long long spin_until_pending(int sig, clockid_t c, long long limit) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        for (volatile int i = 0; i < 2000; i++) {
        }
        sigset_t p;
        sigpending(&p);
        if (sigismember(&p, sig))
            return cpu_ns(c);
        if (cpu_ns(CLOCK_MONOTONIC) - ns(t0) > limit)
            return -1;
    }
}

static volatile int sleeper_tid;
static volatile int sleeper_stop;
static void *sleeper(void *arg) {
    (void)arg;
    sleeper_tid = syscall(SYS_gettid);
    while (!sleeper_stop)
        kt_msleep(5);
    return 0;
}

static int other_tid_child(void) {
    kt_msleep(2000);
    return 0;
}

KT_CASE(thread_cpu_clock_timers) {
    int sig = SIGRTMIN + 4;
    sigset_t s = one(sig);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &s, 0), 0);
    sleeper_stop = 0;
    sleeper_tid = 0;
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, sleeper, 0), 0);
    while (!sleeper_tid)
        sched_yield();
    clockid_t other;
    KT_EQ(pthread_getcpuclockid(th, &other), 0);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = sig};
    int mine = -1, theirs = -1, bad = -1;
    KT_SYS_RET(tcreate(CLOCK_THREAD_CPUTIME_ID, &ev, &mine), 0);
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    KT_SYS_RET(tcreate(other, &none, &theirs), 0);
    /* a thread clock of a thread of another process: EINVAL */
    pid_t c = fork();
    if (c == 0)
        _exit(other_tid_child());
    KT_SYS_ERR(tcreate((~(clockid_t)c << 3) | 6, &none, &bad), EINVAL);
    kill(c, SIGKILL);
    waitpid(c, 0, 0);
    /* a thread clock with the reserved clock kind 3: EINVAL */
    KT_SYS_ERR(tcreate((~(clockid_t)sleeper_tid << 3) | 7, &none, &bad), EINVAL);
    /* 40 ms of this thread's CPU time from now */
    KT_SYS_RET(tset(mine, 0, 40 * MS, 0, 0), 0);
    KT_SYS_RET(tset(theirs, 0, 40 * MS, 0, 0), 0);
    long long start = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
    struct itimerspec cur;
    KT_SYS_RET(tget(mine, &cur), 0);
    KT_TRUE(ns(cur.it_value) > 30 * MS && ns(cur.it_value) <= 40 * MS, "left %lld", ns(cur.it_value));
    long long at = spin_until_pending(sig, CLOCK_THREAD_CPUTIME_ID, 20000LL * MS);
    KT_TRUE(at >= 0, "no expiry in 20 s");
    /* fired at its CPU time (a tick late at most, and the loop's look) */
    KT_TRUE(at - start >= 39 * MS && at - start < 40 * MS + 60 * MS, "fired after %lld ns of CPU", at - start);
    siginfo_t si;
    struct timespec to = {0, 0};
    KT_SYS_RET(sigtimedwait(&s, &si, &to), sig);
    KT_EQ(si.si_code, SI_TIMER);
    KT_EQ(si.si_timerid, mine);
    /* the sleeping thread used (almost) none of its 40 ms */
    KT_SYS_RET(tget(theirs, &cur), 0);
    KT_TRUE(ns(cur.it_value) > 30 * MS, "sleeper's timer left %lld", ns(cur.it_value));
    KT_SYS_RET(tdel(mine), 0);
    KT_SYS_RET(tdel(theirs), 0);
    sleeper_stop = 1;
    KT_EQ(pthread_join(th, 0), 0);
    KT_SYS_RET(sigprocmask(SIG_UNBLOCK, &s, 0), 0);
}

KT_CASE(process_cpu_clock_periodic) {
    int sig = SIGRTMIN + 5;
    sigset_t s = one(sig);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &s, 0), 0);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = sig};
    int id = -1;
    KT_SYS_RET(tcreate(CLOCK_PROCESS_CPUTIME_ID, &ev, &id), 0);
    /* every 20 ms of process CPU time */
    KT_SYS_RET(tset(id, 0, 20 * MS, 20 * MS, 0), 0);
    long long start = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
    long long periods = 0, at = 0;
    while (periods < 5) {
        at = spin_until_pending(sig, CLOCK_PROCESS_CPUTIME_ID, 20000LL * MS);
        KT_TRUE(at >= 0, "no expiry in 20 s after %lld periods", periods);
        siginfo_t si;
        struct timespec to = {0, 0};
        KT_SYS_RET(sigtimedwait(&s, &si, &to), sig);
        KT_EQ(si.si_timerid, id);
        periods += 1 + si.si_overrun;
    }
    /* the fifth period ends at 100 ms of CPU time: each re-arm is a period
     * after the last expiry, not two */
    KT_TRUE(at - start >= 99 * MS && at - start < 100 * MS + 60 * MS, "5 periods after %lld ns of CPU", at - start);
    KT_SYS_RET(tdel(id), 0);
    KT_SYS_RET(sigprocmask(SIG_UNBLOCK, &s, 0), 0);
}

KT_MAIN()
