/* pthreads (musl) over clone(CLONE_THREAD): create and join, thread ids,
 * exit_group from a thread, the leader exiting first, signals sent to a
 * multithreaded process (handled once, by a thread that does not block
 * them; fatal ones end every thread), mutex and condvar contention,
 * CLONE_CHILD_CLEARTID waking a futex waiter, and the shared fs context
 * (a chdir, umask or chroot seen by the sibling at once; none after its
 * unshare(CLONE_FS)).
 *
 * Threads only record what they see; every check runs on the main thread
 * (the harness's checks return from the case). */
#include "kt.h"

#include <pthread.h>

#define NTHREADS 64

struct rec {
    int idx;
    pid_t pid;
    pid_t tid;
};

static void *record(void *arg) {
    struct rec *r = arg;
    r->pid = getpid();
    r->tid = (pid_t)syscall(SYS_gettid);
    return (void *)(long)(r->idx * 3 + 1);
}

KT_CASE(create_join_64) {
    static pthread_t th[NTHREADS];
    static struct rec recs[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        recs[i].idx = i;
        recs[i].tid = 0;
        int e = pthread_create(&th[i], 0, record, &recs[i]);
        KT_TRUE(e == 0, "pthread_create #%d: %s", i, kt_errname(e));
    }
    for (int i = 0; i < NTHREADS; i++) {
        void *ret = 0;
        int e = pthread_join(th[i], &ret);
        KT_TRUE(e == 0, "pthread_join #%d: %s", i, kt_errname(e));
        KT_EQ((long)ret, i * 3 + 1);
        KT_NE(recs[i].tid, 0);
    }
}

KT_CASE(gettid_differs_getpid_same) {
    enum { N = 8 };
    pthread_t th[N];
    struct rec recs[N];
    pid_t me = getpid();
    pid_t main_tid = (pid_t)syscall(SYS_gettid);
    KT_EQ(main_tid, me);
    for (int i = 0; i < N; i++) {
        recs[i].idx = i;
        KT_EQ(pthread_create(&th[i], 0, record, &recs[i]), 0);
    }
    for (int i = 0; i < N; i++) KT_EQ(pthread_join(th[i], 0), 0);
    for (int i = 0; i < N; i++) {
        KT_EQ(recs[i].pid, me);
        KT_NE(recs[i].tid, main_tid);
        KT_TRUE(recs[i].tid > 0, "tid %d", recs[i].tid);
        for (int j = 0; j < i; j++)
            KT_TRUE(recs[i].tid != recs[j].tid, "threads %d and %d share tid %d", i, j, recs[i].tid);
    }
}

/* ---- exit_group and thread exit ----------------------------------------- */

static void *exit_42_later(void *arg) {
    (void)arg;
    kt_msleep(20);
    exit(42);
}

KT_CASE(exit_from_thread_ends_process) {
    pid_t pid = KT_FORK();
    if (pid == 0) {
        pthread_t t;
        if (pthread_create(&t, 0, exit_42_later, 0) != 0) _exit(3);
        for (;;) pause(); /* the main thread never returns by itself */
    }
    KT_WAIT_STATUS(pid, kt_exited(42));
}

KT_CASE(exit_from_thread_while_main_reads_pipe) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t pid = KT_FORK();
    if (pid == 0) {
        close(p[1]);
        pthread_t t;
        if (pthread_create(&t, 0, exit_42_later, 0) != 0) _exit(3);
        char c;
        read(p[0], &c, 1); /* blocks: the parent never writes */
        _exit(4);
    }
    close(p[0]);
    KT_WAIT_STATUS(pid, kt_exited(42));
    close(p[1]);
}

static void *exit_7_after_leader(void *arg) {
    (void)arg;
    kt_msleep(50);
    exit(7);
}

/* The leader leaves with pthread_exit (SYS_exit); the process lives on
 * until its last thread calls exit_group. */
KT_CASE(leader_pthread_exit_then_thread_exits) {
    pid_t pid = KT_FORK();
    if (pid == 0) {
        pthread_t t;
        if (pthread_create(&t, 0, exit_7_after_leader, 0) != 0) _exit(3);
        pthread_exit(0);
    }
    KT_WAIT_STATUS(pid, kt_exited(7));
}

/* ---- signals to a multithreaded process --------------------------------- */

static volatile int sig_count;
static volatile pid_t sig_tid;
static volatile int stop_waiters;

static void count_handler(int s) {
    (void)s;
    __atomic_fetch_add(&sig_count, 1, __ATOMIC_SEQ_CST);
    sig_tid = (pid_t)syscall(SYS_gettid);
}

static void *idle_thread(void *arg) {
    (void)arg;
    while (!__atomic_load_n(&stop_waiters, __ATOMIC_SEQ_CST)) kt_msleep(2);
    return 0;
}

static void stop_idle(pthread_t *th, int n) {
    __atomic_store_n(&stop_waiters, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < n; i++) pthread_join(th[i], 0);
}

KT_CASE(process_signal_handled_once) {
    enum { N = 4, KILLS = 10 };
    pthread_t th[N];
    struct sigaction sa = {0};
    sa.sa_handler = count_handler;
    KT_SYS_OK(sigaction(SIGUSR1, &sa, 0));
    sig_count = 0;
    stop_waiters = 0;
    for (int i = 0; i < N; i++) KT_EQ(pthread_create(&th[i], 0, idle_thread, 0), 0);
    int got_all = 1;
    for (int k = 1; k <= KILLS; k++) {
        kill(getpid(), SIGUSR1);
        for (int w = 0; w < 1000 && __atomic_load_n(&sig_count, __ATOMIC_SEQ_CST) < k; w++)
            kt_msleep(1);
        if (sig_count < k) got_all = 0;
    }
    kt_msleep(50);
    int seen = sig_count;
    stop_idle(th, N);
    signal(SIGUSR1, SIG_DFL);
    KT_TRUE(got_all, "a signal was not handled within 1 s");
    KT_EQ(seen, KILLS);
}

/* With SIGUSR1 blocked in the main thread, a process-directed signal goes
 * to a thread that does not block it. */
KT_CASE(process_signal_goes_to_unblocking_thread) {
    enum { N = 3 };
    pthread_t th[N];
    struct sigaction sa = {0};
    sa.sa_handler = count_handler;
    KT_SYS_OK(sigaction(SIGUSR1, &sa, 0));
    sig_count = 0;
    sig_tid = 0;
    stop_waiters = 0;
    for (int i = 0; i < N; i++) KT_EQ(pthread_create(&th[i], 0, idle_thread, 0), 0);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    KT_EQ(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
    pid_t main_tid = (pid_t)syscall(SYS_gettid);
    kill(getpid(), SIGUSR1);
    for (int w = 0; w < 1000 && sig_count == 0; w++) kt_msleep(1);
    kt_msleep(20);
    int seen = sig_count;
    pid_t by = sig_tid;
    sigset_t pend;
    sigpending(&pend);
    int pending_main = sigismember(&pend, SIGUSR1);
    stop_idle(th, N);
    pthread_sigmask(SIG_SETMASK, &old, 0);
    signal(SIGUSR1, SIG_DFL);
    KT_EQ(seen, 1);
    KT_NE(by, main_tid);
    KT_EQ(pending_main, 0);
}

static void *idle_tid_thread(void *arg) {
    struct rec *r = arg;
    r->tid = (pid_t)syscall(SYS_gettid);
    return idle_thread(0);
}

KT_CASE(tgkill_reaches_that_thread) {
    pthread_t t;
    struct rec r = {0, 0, 0};
    struct sigaction sa = {0};
    sa.sa_handler = count_handler;
    KT_SYS_OK(sigaction(SIGUSR2, &sa, 0));
    sig_count = 0;
    sig_tid = 0;
    stop_waiters = 0;
    KT_EQ(pthread_create(&t, 0, idle_tid_thread, &r), 0);
    for (int w = 0; w < 1000 && __atomic_load_n(&r.tid, __ATOMIC_SEQ_CST) == 0; w++) kt_msleep(1);
    pid_t target = r.tid;
    long rc = syscall(SYS_tgkill, getpid(), target, SIGUSR2);
    for (int w = 0; w < 1000 && sig_count == 0; w++) kt_msleep(1);
    int seen = sig_count;
    pid_t by = sig_tid;
    stop_idle(&t, 1);
    signal(SIGUSR2, SIG_DFL);
    KT_EQ(rc, 0);
    KT_EQ(seen, 1);
    KT_EQ(by, target);
}

static void *sleep_forever(void *arg) {
    for (;;) pause();
    return arg;
}

KT_CASE(fatal_signal_ends_every_thread) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t pid = KT_FORK();
    if (pid == 0) {
        close(p[0]);
        for (int i = 0; i < 4; i++) {
            pthread_t t;
            if (pthread_create(&t, 0, sleep_forever, 0) != 0) _exit(3);
        }
        write(p[1], "r", 1);
        for (;;) pause();
    }
    close(p[1]);
    char c;
    KT_SYS_RET(read(p[0], &c, 1), 1);
    close(p[0]);
    KT_SYS_OK(kill(pid, SIGTERM));
    KT_WAIT_STATUS(pid, kt_killed(SIGTERM));
}

/* ---- mutex and condvar contention -------------------------------------- */

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static long counter;

#define INCS 20000

static void *incrementer(void *arg) {
    (void)arg;
    for (int i = 0; i < INCS; i++) {
        pthread_mutex_lock(&mtx);
        long v = counter;
        if ((i & 255) == 0) sched_yield(); /* hold the lock across a switch now and then */
        counter = v + 1;
        pthread_mutex_unlock(&mtx);
    }
    return 0;
}

KT_CASE(mutex_counter_contention) {
    enum { N = 8 };
    pthread_t th[N];
    counter = 0;
    for (int i = 0; i < N; i++) KT_EQ(pthread_create(&th[i], 0, incrementer, 0), 0);
    for (int i = 0; i < N; i++) KT_EQ(pthread_join(th[i], 0), 0);
    KT_EQ(counter, (long)N * INCS);
}

#define QCAP 8
#define ITEMS 5000

static struct {
    pthread_mutex_t m;
    pthread_cond_t not_empty, not_full;
    int buf[QCAP];
    int head, count;
    long consumed_sum;
    int consumed_n;
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0, 0};

static void *producer(void *arg) {
    int base = (int)(long)arg;
    for (int i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&q.m);
        while (q.count == QCAP) pthread_cond_wait(&q.not_full, &q.m);
        q.buf[(q.head + q.count) % QCAP] = base + i;
        q.count++;
        pthread_cond_signal(&q.not_empty);
        pthread_mutex_unlock(&q.m);
    }
    return 0;
}

static void *consumer(void *arg) {
    int n = (int)(long)arg;
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&q.m);
        while (q.count == 0) pthread_cond_wait(&q.not_empty, &q.m);
        int v = q.buf[q.head];
        q.head = (q.head + 1) % QCAP;
        q.count--;
        q.consumed_sum += v;
        q.consumed_n++;
        pthread_cond_signal(&q.not_full);
        pthread_mutex_unlock(&q.m);
    }
    return 0;
}

KT_CASE(condvar_producer_consumer) {
    enum { P = 2, C = 3 };
    pthread_t pt[P], ct[C];
    q.head = q.count = 0;
    q.consumed_sum = 0;
    q.consumed_n = 0;
    /* consumers split P * ITEMS items */
    int share[C];
    int total = P * ITEMS;
    for (int i = 0; i < C; i++) share[i] = total / C + (i < total % C ? 1 : 0);
    for (int i = 0; i < C; i++) KT_EQ(pthread_create(&ct[i], 0, consumer, (void *)(long)share[i]), 0);
    for (int i = 0; i < P; i++)
        KT_EQ(pthread_create(&pt[i], 0, producer, (void *)(long)(i * 1000000)), 0);
    for (int i = 0; i < P; i++) KT_EQ(pthread_join(pt[i], 0), 0);
    for (int i = 0; i < C; i++) KT_EQ(pthread_join(ct[i], 0), 0);
    long want = 0;
    for (int i = 0; i < P; i++) want += (long)i * 1000000 * ITEMS + (long)ITEMS * (ITEMS + 1) / 2;
    KT_EQ(q.consumed_n, total);
    KT_EQ(q.consumed_sum, want);
    KT_EQ(q.count, 0);
}

/* pthread_cond_broadcast wakes every waiter. */
static pthread_mutex_t bm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bc = PTHREAD_COND_INITIALIZER;
static int bgo, bwaiting, bwoken;

static void *bwaiter(void *arg) {
    (void)arg;
    pthread_mutex_lock(&bm);
    bwaiting++;
    while (!bgo) pthread_cond_wait(&bc, &bm);
    bwoken++;
    pthread_mutex_unlock(&bm);
    return 0;
}

KT_CASE(condvar_broadcast_wakes_all) {
    enum { N = 6 };
    pthread_t th[N];
    bgo = bwaiting = bwoken = 0;
    for (int i = 0; i < N; i++) KT_EQ(pthread_create(&th[i], 0, bwaiter, 0), 0);
    for (int w = 0; w < 2000; w++) {
        pthread_mutex_lock(&bm);
        int n = bwaiting;
        pthread_mutex_unlock(&bm);
        if (n == N) break;
        kt_msleep(1);
    }
    pthread_mutex_lock(&bm);
    bgo = 1;
    pthread_cond_broadcast(&bc);
    pthread_mutex_unlock(&bm);
    for (int i = 0; i < N; i++) KT_EQ(pthread_join(th[i], 0), 0);
    KT_EQ(bwoken, N);
}

/* ---- CLONE_CHILD_CLEARTID ----------------------------------------------- */

static char ct_stack[64 * 1024] __attribute__((aligned(16)));

static int cleartid_child(void *arg) {
    (void)arg;
    struct timespec ts = {0, 30 * 1000000L};
    syscall(SYS_nanosleep, &ts, 0);
    return 0; /* musl's clone() then calls SYS_exit */
}

/* A raw thread with CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID: the kernel
 * writes its tid, then at exit clears the word and futex-wakes it. */
KT_CASE(child_cleartid_wakes_futex) {
    static volatile int ctid;
    int ptid = 0;
    ctid = -1;
    int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
    int tid = clone(cleartid_child, ct_stack + sizeof ct_stack, flags, 0, &ptid, 0, &ctid);
    KT_TRUE(tid > 0, "clone: %s", kt_errname(errno));
    KT_EQ(ptid, tid);
    int waits = 0;
    for (;;) {
        int v = ctid;
        if (v == 0) break;
        KT_TRUE(v == tid || v == -1, "ctid holds %d, tid %d", v, tid);
        struct timespec to = {5, 0};
        long r = kt_futex(&ctid, FUTEX_WAIT, v, &to);
        KT_TRUE(r == 0 || errno == EAGAIN || errno == EINTR, "futex wait: %s", kt_errname(errno));
        if (++waits > 100) break;
    }
    KT_EQ(ctid, 0);
}

static void *sleep_then_return(void *arg) {
    kt_msleep(40);
    return arg;
}

/* pthread_join on a thread still running: musl waits on the tid word the
 * kernel clears (CLONE_CHILD_CLEARTID). */
KT_CASE(pthread_join_waits_for_running_thread) {
    pthread_t t;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    KT_EQ(pthread_create(&t, 0, sleep_then_return, (void *)0x1234), 0);
    void *ret = 0;
    KT_EQ(pthread_join(t, &ret), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    KT_EQ((long)ret, 0x1234);
    KT_TRUE(ms >= 30, "joined after %ld ms", ms);
}

KT_CASE(detached_threads_exit_cleanly) {
    enum { N = 16 };
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    static struct rec recs[N];
    for (int i = 0; i < N; i++) {
        recs[i].idx = i;
        recs[i].tid = 0;
        pthread_t t;
        KT_EQ(pthread_create(&t, &at, record, &recs[i]), 0);
    }
    pthread_attr_destroy(&at);
    for (int w = 0; w < 2000; w++) {
        int done = 1;
        for (int i = 0; i < N; i++)
            if (__atomic_load_n(&recs[i].tid, __ATOMIC_SEQ_CST) == 0) done = 0;
        if (done) break;
        kt_msleep(1);
    }
    for (int i = 0; i < N; i++) KT_NE(recs[i].tid, 0);
}

/* The fs context (root, cwd, umask) of pthreads is shared (CLONE_FS): a
 * chdir, umask or chroot by one thread is seen by its sibling at once,
 * while both run; after the sibling's unshare(CLONE_FS) neither sees the
 * other's (the kernel's per-thread view of the context must follow). Runs
 * in a child: it moves the cwd and the root. */
static int fs_go[2], fs_ready[2];
static int fs_unshare, fs_err;
static char fs_cwd_seen[64];
static mode_t fs_mask_seen;
static int fs_root_seen;

static void fs_wait(int fd) {
    char c;
    while (read(fd, &c, 1) < 0 && errno == EINTR) {
    }
}

static void *fs_sibling(void *arg) {
    (void)arg;
    if (fs_unshare && unshare(CLONE_FS) != 0) fs_err = errno;
    if (write(fs_ready[1], "r", 1) != 1) fs_err = -1;
    /* the main thread moved to /proc with umask 027 meanwhile */
    fs_wait(fs_go[0]);
    if (!getcwd(fs_cwd_seen, sizeof fs_cwd_seen)) fs_err = errno;
    fs_mask_seen = umask(0);
    umask(fs_mask_seen);
    /* now this thread moves to /dev, umask 007 */
    if (chdir("/dev") != 0 || umask(007) == (mode_t)-1) fs_err = errno;
    if (write(fs_ready[1], "r", 1) != 1) fs_err = -1;
    /* the main thread looked; now the root moves to /proc */
    fs_wait(fs_go[0]);
    if (chroot("/proc") != 0) fs_err = errno;
    if (write(fs_ready[1], "r", 1) != 1) fs_err = -1;
    fs_wait(fs_go[0]);
    /* "/self" names /proc/self only under the new root */
    fs_root_seen = access("/self", F_OK) == 0;
    return NULL;
}

static int fs_sharing_child(void) {
    char cwd[64];
    pthread_t th;
    KT_CHILD_CHECK(1, chdir("/") == 0 && pipe(fs_go) == 0 && pipe(fs_ready) == 0);
    umask(022);
    KT_CHILD_CHECK(2, pthread_create(&th, NULL, fs_sibling, NULL) == 0);
    fs_wait(fs_ready[0]);
    KT_CHILD_CHECK(3, chdir("/proc") == 0);
    umask(027);
    KT_CHILD_CHECK(4, write(fs_go[1], "g", 1) == 1);
    fs_wait(fs_ready[0]);
    /* the sibling's view of this thread's change, and this thread's of its */
    KT_CHILD_CHECK(5, fs_err == 0);
    KT_CHILD_CHECK(6, strcmp(fs_cwd_seen, fs_unshare ? "/" : "/proc") == 0);
    KT_CHILD_CHECK(7, fs_mask_seen == (fs_unshare ? 022 : 027));
    KT_CHILD_CHECK(8, getcwd(cwd, sizeof cwd) && strcmp(cwd, fs_unshare ? "/proc" : "/dev") == 0);
    mode_t m = umask(0);
    KT_CHILD_CHECK(9, m == (fs_unshare ? 027 : 007));
    /* the sibling chroots to /proc: "/self" here is /proc/self only if
     * the root is shared */
    KT_CHILD_CHECK(10, access("/self", F_OK) == -1 && errno == ENOENT);
    KT_CHILD_CHECK(11, write(fs_go[1], "g", 1) == 1);
    fs_wait(fs_ready[0]);
    KT_CHILD_CHECK(12, fs_err == 0);
    int seen = access("/self", F_OK) == 0;
    KT_CHILD_CHECK(13, seen == !fs_unshare);
    /* and this thread's chroot (to /dev when shared: /proc/dev does not
     * exist) is not the sibling's after the unshare */
    if (fs_unshare) KT_CHILD_CHECK(14, chroot("/dev") == 0);
    KT_CHILD_CHECK(15, write(fs_go[1], "g", 1) == 1);
    KT_CHILD_CHECK(16, pthread_join(th, NULL) == 0);
    KT_CHILD_CHECK(17, fs_root_seen == 1);
    return 0;
}

static int fs_shared_child(void) {
    fs_unshare = 0;
    return fs_sharing_child();
}

static int fs_unshared_child(void) {
    fs_unshare = 1;
    return fs_sharing_child();
}

KT_CASE(clone_fs_chdir_umask_chroot_seen_by_the_sibling_at_once) {
    KT_EQ(kt_in_child(fs_shared_child), 0);
}

KT_CASE(unshare_fs_in_a_thread_then_neither_sees_the_other) {
    KT_EQ(kt_in_child(fs_unshared_child), 0);
}

KT_MAIN()
