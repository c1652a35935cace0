/* futex(2): WAIT/WAKE (private), timeouts (ETIMEDOUT), EAGAIN when the word
 * differs, argument errors, WAIT_BITSET/WAKE_BITSET (absolute timeouts,
 * bit matching), REQUEUE and CMP_REQUEUE, WAKE_OP, and shared futexes on a
 * MAP_SHARED|MAP_ANONYMOUS page between a parent and a forked child.
 *
 * Waiters are pthreads that announce themselves and then enter the kernel;
 * the main thread gives them time to block (and checks the wake counts,
 * which tell how many were really asleep). Every wait has a timeout, so a
 * lost wake-up fails the case instead of hanging the program. */
#include "kt.h"

#include <limits.h>
#include <pthread.h>

#ifndef FUTEX_REQUEUE
#define FUTEX_REQUEUE 3
#endif
#ifndef FUTEX_CMP_REQUEUE
#define FUTEX_CMP_REQUEUE 4
#endif
#ifndef FUTEX_WAKE_OP
#define FUTEX_WAKE_OP 5
#endif
#ifndef FUTEX_WAIT_BITSET
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#endif
#ifndef FUTEX_PRIVATE_FLAG
#define FUTEX_PRIVATE_FLAG 128
#endif
#ifndef FUTEX_CLOCK_REALTIME
#define FUTEX_CLOCK_REALTIME 256
#endif
#define P(op) ((op) | FUTEX_PRIVATE_FLAG)
#define KT_FUTEX_OP(op, oparg, cmp, cmparg)                                              \
    ((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))
#define KT_FUTEX_OP_SET 0
#define KT_FUTEX_OP_ADD 1
#define KT_FUTEX_OP_CMP_EQ 0
#define KT_FUTEX_OP_CMP_NE 1

static long futex6(volatile int *uaddr, int op, int val, const void *ts_or_val2, volatile int *uaddr2,
                   int val3) {
    return syscall(SYS_futex, uaddr, op, val, ts_or_val2, uaddr2, val3);
}

static long ms_since(const struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

/* ---- waiter threads ----------------------------------------------------- */

struct waiter {
    volatile int *addr;
    int op; /* FUTEX_WAIT or FUTEX_WAIT_BITSET, with flags */
    int val;
    int bitset;
    long timeout_ms; /* 0: 5 s */
    volatile int started;
    volatile int done;
    long ret;
    int err;
    pthread_t th;
};

static void *waiter_main(void *arg) {
    struct waiter *w = arg;
    struct timespec ts;
    __atomic_store_n(&w->started, 1, __ATOMIC_SEQ_CST);
    if ((w->op & 0x7f) == FUTEX_WAIT_BITSET) {
        clock_gettime(CLOCK_MONOTONIC, &ts); /* absolute */
        ts.tv_sec += 5;
    } else if (w->timeout_ms) {
        ts.tv_sec = w->timeout_ms / 1000; /* relative */
        ts.tv_nsec = (w->timeout_ms % 1000) * 1000000;
    } else {
        ts.tv_sec = 5; /* relative */
        ts.tv_nsec = 0;
    }
    errno = 0;
    w->ret = futex6(w->addr, w->op, w->val, &ts, 0, w->bitset);
    w->err = w->ret == -1 ? errno : 0;
    __atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
    return 0;
}

/* Starts the waiters and gives them time to block in the kernel. */
static int start_waiters(struct waiter *w, int n) {
    for (int i = 0; i < n; i++) {
        w[i].started = w[i].done = 0;
        w[i].ret = -2;
        if (pthread_create(&w[i].th, 0, waiter_main, &w[i]) != 0) return -1;
    }
    for (int t = 0; t < 2000; t++) {
        int all = 1;
        for (int i = 0; i < n; i++)
            if (!__atomic_load_n(&w[i].started, __ATOMIC_SEQ_CST)) all = 0;
        if (all) break;
        kt_msleep(1);
    }
    kt_msleep(100);
    return 0;
}

static int count_done(struct waiter *w, int n) {
    int c = 0;
    for (int i = 0; i < n; i++) c += __atomic_load_n(&w[i].done, __ATOMIC_SEQ_CST);
    return c;
}

static void join_waiters(struct waiter *w, int n) {
    for (int i = 0; i < n; i++) pthread_join(w[i].th, 0);
}

/* ---- WAIT / WAKE ------------------------------------------------------- */

KT_CASE(wait_wake_private) {
    static volatile int word;
    word = 0;
    struct waiter w = {.addr = &word, .op = P(FUTEX_WAIT), .val = 0};
    KT_EQ(start_waiters(&w, 1), 0);
    KT_EQ(count_done(&w, 1), 0);
    word = 1;
    long woke = futex6(&word, P(FUTEX_WAKE), 1, 0, 0, 0);
    join_waiters(&w, 1);
    KT_EQ(woke, 1);
    KT_EQ(w.ret, 0);
}

KT_CASE(wake_without_waiters_is_0) {
    static volatile int word;
    KT_SYS_RET(futex6(&word, P(FUTEX_WAKE), 1, 0, 0, 0), 0);
    KT_SYS_RET(futex6(&word, FUTEX_WAKE, INT_MAX, 0, 0, 0), 0);
}

KT_CASE(wake_counts) {
    enum { N = 4 };
    static volatile int word;
    word = 0;
    struct waiter w[N];
    for (int i = 0; i < N; i++) w[i] = (struct waiter){.addr = &word, .op = P(FUTEX_WAIT), .val = 0};
    KT_EQ(start_waiters(w, N), 0);
    long a = futex6(&word, P(FUTEX_WAKE), 2, 0, 0, 0);
    kt_msleep(50);
    int done_after_2 = count_done(w, N);
    long b = futex6(&word, P(FUTEX_WAKE), INT_MAX, 0, 0, 0);
    join_waiters(w, N);
    KT_EQ(a, 2);
    KT_EQ(done_after_2, 2);
    KT_EQ(b, 2);
    for (int i = 0; i < N; i++) KT_EQ(w[i].ret, 0);
}

KT_CASE(wake_count_of_zero_or_below_wakes_one) {
    enum { N = 3 };
    static volatile int f;
    f = 0;
    struct waiter w[N];
    for (int i = 0; i < N; i++) w[i] = (struct waiter){.addr = &f, .op = P(FUTEX_WAIT), .val = 0};
    KT_EQ(start_waiters(w, N), 0);
    KT_SYS_RET(futex6(&f, P(FUTEX_WAKE), 0, 0, 0, 0), 1);
    KT_SYS_RET(futex6(&f, P(FUTEX_WAKE), -1, 0, 0, 0), 1);
    KT_SYS_RET(futex6(&f, P(FUTEX_WAKE), INT_MIN, 0, 0, 0), 1);
    join_waiters(w, N);
    for (int i = 0; i < N; i++) KT_EQ(w[i].ret, 0);
}

KT_CASE(wait_timeout_etimedout) {
    static volatile int word;
    struct timespec start, ts = {0, 50 * 1000000L};
    clock_gettime(CLOCK_MONOTONIC, &start);
    KT_SYS_ERR(futex6(&word, P(FUTEX_WAIT), 0, &ts, 0, 0), ETIMEDOUT);
    long ms = ms_since(&start);
    KT_TRUE(ms >= 45 && ms < 3000, "waited %ld ms for a 50 ms timeout", ms);
    /* the shared flavour too */
    KT_SYS_ERR(futex6(&word, FUTEX_WAIT, 0, &ts, 0, 0), ETIMEDOUT);
    /* a zero timeout expires at once */
    struct timespec zero = {0, 0};
    KT_SYS_ERR(futex6(&word, P(FUTEX_WAIT), 0, &zero, 0, 0), ETIMEDOUT);
}

/* Timed waits shorter than a scheduler tick (4 ms on ours): each one ends
 * with ETIMEDOUT and never before its timeout (relative FUTEX_WAIT and an
 * absolute FUTEX_WAIT_BITSET deadline), however the kernel times them. */
static long long ns_since(const struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (long long)(b.tv_sec - a->tv_sec) * 1000000000LL + (b.tv_nsec - a->tv_nsec);
}

KT_CASE(short_timeouts_never_end_early) {
    static volatile int word;
    static const long waits_us[] = {1, 100, 700, 1000, 2500, 3900, 5000};
    for (int round = 0; round < 3; round++) {
        for (unsigned i = 0; i < sizeof waits_us / sizeof waits_us[0]; i++) {
            long ns = waits_us[i] * 1000L;
            struct timespec start, ts = {0, ns};
            clock_gettime(CLOCK_MONOTONIC, &start);
            KT_SYS_ERR(futex6(&word, P(FUTEX_WAIT), 0, &ts, 0, 0), ETIMEDOUT);
            long long took = ns_since(&start);
            KT_TRUE(took >= ns && took < 3000000000LL, "FUTEX_WAIT of %ld ns took %lld ns", ns, took);
            struct timespec abs;
            clock_gettime(CLOCK_MONOTONIC, &abs);
            start = abs;
            abs.tv_nsec += ns;
            if (abs.tv_nsec >= 1000000000L) {
                abs.tv_sec++;
                abs.tv_nsec -= 1000000000L;
            }
            KT_SYS_ERR(futex6(&word, P(FUTEX_WAIT_BITSET), 0, &abs, 0, -1), ETIMEDOUT);
            took = ns_since(&start);
            KT_TRUE(took >= ns && took < 3000000000LL, "a FUTEX_WAIT_BITSET deadline %ld ns away took %lld ns", ns,
                    took);
        }
    }
}

KT_CASE(wait_value_differs_eagain) {
    static volatile int word;
    word = 5;
    struct timespec ts = {1, 0};
    KT_SYS_ERR(futex6(&word, P(FUTEX_WAIT), 4, &ts, 0, 0), EAGAIN);
    KT_SYS_ERR(futex6(&word, FUTEX_WAIT, 6, 0, 0, 0), EAGAIN);
    KT_SYS_ERR(futex6(&word, P(FUTEX_WAIT_BITSET), 0, 0, 0, -1), EAGAIN);
}

KT_CASE(bad_arguments) {
    static volatile int words[2];
    struct timespec bad = {0, 1000000000L};
    struct timespec neg = {-1, 0};
    KT_SYS_ERR(futex6((volatile int *)((char *)words + 1), P(FUTEX_WAIT), 0, 0, 0, 0), EINVAL);
    KT_SYS_ERR(futex6((volatile int *)((char *)words + 2), P(FUTEX_WAKE), 1, 0, 0, 0), EINVAL);
    KT_SYS_ERR(futex6(0, P(FUTEX_WAIT), 0, 0, 0, 0), EFAULT);
    KT_SYS_ERR(futex6(words, P(FUTEX_WAIT), 0, &bad, 0, 0), EINVAL);
    KT_SYS_ERR(futex6(words, P(FUTEX_WAIT), 0, &neg, 0, 0), EINVAL);
    KT_SYS_ERR(futex6(words, P(FUTEX_WAIT), 0, (void *)8, 0, 0), EFAULT);
    KT_SYS_ERR(futex6(words, P(FUTEX_WAIT_BITSET), 0, 0, 0, 0), EINVAL);
    KT_SYS_ERR(futex6(words, P(FUTEX_WAKE_BITSET), 1, 0, 0, 0), EINVAL);
    KT_SYS_ERR(futex6(words, 99, 0, 0, 0, 0), ENOSYS);
    /* FUTEX_CLOCK_REALTIME only goes with the bitset waits */
    KT_SYS_ERR(futex6(words, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, 0, 0, 0), ENOSYS);
}

/* ---- bitsets ------------------------------------------------------------ */

KT_CASE(wait_bitset_absolute_timeout) {
    static volatile int word;
    struct timespec start, abs;
    clock_gettime(CLOCK_MONOTONIC, &start);
    abs = start;
    abs.tv_nsec += 50 * 1000000L;
    if (abs.tv_nsec >= 1000000000L) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000L;
    }
    KT_SYS_ERR(futex6(&word, P(FUTEX_WAIT_BITSET), 0, &abs, 0, -1), ETIMEDOUT);
    long ms = ms_since(&start);
    KT_TRUE(ms >= 45 && ms < 3000, "waited %ld ms for a deadline 50 ms away", ms);
    /* a deadline in the past (CLOCK_MONOTONIC) expires at once */
    struct timespec past = {start.tv_sec > 1 ? start.tv_sec - 1 : 0, 0};
    clock_gettime(CLOCK_MONOTONIC, &start);
    KT_SYS_ERR(futex6(&word, P(FUTEX_WAIT_BITSET), 0, &past, 0, -1), ETIMEDOUT);
    KT_TRUE(ms_since(&start) < 1000, "a past deadline took %ld ms", ms_since(&start));
    /* FUTEX_CLOCK_REALTIME: an absolute CLOCK_REALTIME deadline */
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    rt.tv_nsec += 30 * 1000000L;
    if (rt.tv_nsec >= 1000000000L) {
        rt.tv_sec++;
        rt.tv_nsec -= 1000000000L;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    KT_SYS_ERR(futex6(&word, P(FUTEX_WAIT_BITSET) | FUTEX_CLOCK_REALTIME, 0, &rt, 0, -1), ETIMEDOUT);
    ms = ms_since(&start);
    KT_TRUE(ms >= 20 && ms < 3000, "waited %ld ms for a realtime deadline 30 ms away", ms);
}

KT_CASE(wake_bitset_matches_bits) {
    enum { N = 2 };
    static volatile int word;
    word = 0;
    struct waiter w[N] = {
        {.addr = &word, .op = P(FUTEX_WAIT_BITSET), .val = 0, .bitset = 0x1},
        {.addr = &word, .op = P(FUTEX_WAIT_BITSET), .val = 0, .bitset = 0x6},
    };
    KT_EQ(start_waiters(w, N), 0);
    long none = futex6(&word, P(FUTEX_WAKE_BITSET), INT_MAX, 0, 0, 0x8);
    long second = futex6(&word, P(FUTEX_WAKE_BITSET), INT_MAX, 0, 0, 0x4);
    kt_msleep(30);
    int first_done = w[0].done, second_done = w[1].done;
    long first = futex6(&word, P(FUTEX_WAKE_BITSET), INT_MAX, 0, 0, 0x1);
    join_waiters(w, N);
    KT_EQ(none, 0);
    KT_EQ(second, 1);
    KT_EQ(second_done, 1);
    KT_EQ(first_done, 0);
    KT_EQ(first, 1);
    KT_EQ(w[0].ret, 0);
    KT_EQ(w[1].ret, 0);
}

/* FUTEX_WAKE is WAKE_BITSET with all bits; FUTEX_WAIT waits with all bits. */
KT_CASE(plain_wake_wakes_bitset_waiter) {
    static volatile int word;
    word = 0;
    struct waiter w = {.addr = &word, .op = P(FUTEX_WAIT_BITSET), .val = 0, .bitset = 0x10};
    struct waiter v = {.addr = &word, .op = P(FUTEX_WAIT), .val = 0};
    KT_EQ(start_waiters(&w, 1), 0);
    KT_EQ(start_waiters(&v, 1), 0);
    long a = futex6(&word, P(FUTEX_WAKE_BITSET), INT_MAX, 0, 0, 0x20);
    long b = futex6(&word, P(FUTEX_WAKE), INT_MAX, 0, 0, 0);
    join_waiters(&w, 1);
    join_waiters(&v, 1);
    KT_EQ(a, 1); /* the FUTEX_WAIT waiter (bitset all ones) */
    KT_EQ(b, 1);
    KT_EQ(w.ret, 0);
    KT_EQ(v.ret, 0);
}

/* ---- REQUEUE / CMP_REQUEUE / WAKE_OP ----------------------------------- */

KT_CASE(requeue_moves_waiters) {
    enum { N = 3 };
    static volatile int f1, f2;
    f1 = f2 = 0;
    struct waiter w[N];
    for (int i = 0; i < N; i++) w[i] = (struct waiter){.addr = &f1, .op = P(FUTEX_WAIT), .val = 0};
    KT_EQ(start_waiters(w, N), 0);
    /* wake 1, requeue the rest (val2 travels in the timeout argument) */
    long r = futex6(&f1, P(FUTEX_REQUEUE), 1, (void *)(long)INT_MAX, &f2, 0);
    kt_msleep(30);
    int done1 = count_done(w, N);
    long on_f1 = futex6(&f1, P(FUTEX_WAKE), INT_MAX, 0, 0, 0);
    long on_f2 = futex6(&f2, P(FUTEX_WAKE), INT_MAX, 0, 0, 0);
    join_waiters(w, N);
    KT_EQ(r, 3); /* woken + requeued */
    KT_EQ(done1, 1);
    KT_EQ(on_f1, 0);
    KT_EQ(on_f2, 2);
    for (int i = 0; i < N; i++) KT_EQ(w[i].ret, 0);
}

KT_CASE(requeued_waiter_that_times_out_leaves_no_trace) {
    static volatile int f1, f2;
    f1 = f2 = 0;
    struct waiter a = {.addr = &f1, .op = P(FUTEX_WAIT), .val = 0, .timeout_ms = 300};
    KT_EQ(start_waiters(&a, 1), 0);
    KT_SYS_RET(futex6(&f1, P(FUTEX_REQUEUE), 0, (void *)1L, &f2, 0), 1);
    join_waiters(&a, 1); /* it times out on f2 */
    KT_EQ(a.ret, -1);
    KT_EQ(a.err, ETIMEDOUT);
    /* a wake of one on f2 must reach the waiter there now, not the gone one */
    struct waiter b = {.addr = &f2, .op = P(FUTEX_WAIT), .val = 0};
    KT_EQ(start_waiters(&b, 1), 0);
    KT_SYS_RET(futex6(&f2, P(FUTEX_WAKE), 1, 0, 0, 0), 1);
    join_waiters(&b, 1);
    KT_EQ(b.ret, 0);
}

KT_CASE(requeue_limits_count) {
    enum { N = 4 };
    static volatile int f1, f2;
    f1 = f2 = 0;
    struct waiter w[N];
    for (int i = 0; i < N; i++) w[i] = (struct waiter){.addr = &f1, .op = P(FUTEX_WAIT), .val = 0};
    KT_EQ(start_waiters(w, N), 0);
    /* wake none, requeue 2 */
    long r = futex6(&f1, P(FUTEX_CMP_REQUEUE), 0, (void *)2L, &f2, 0);
    long on_f2 = futex6(&f2, P(FUTEX_WAKE), INT_MAX, 0, 0, 0);
    long on_f1 = futex6(&f1, P(FUTEX_WAKE), INT_MAX, 0, 0, 0);
    join_waiters(w, N);
    KT_EQ(r, 2);
    KT_EQ(on_f2, 2);
    KT_EQ(on_f1, 2);
}

KT_CASE(cmp_requeue_value_differs_eagain) {
    static volatile int f1, f2;
    f1 = 7;
    KT_SYS_ERR(futex6(&f1, P(FUTEX_CMP_REQUEUE), 1, (void *)1L, &f2, 8), EAGAIN);
    KT_SYS_RET(futex6(&f1, P(FUTEX_CMP_REQUEUE), 1, (void *)1L, &f2, 7), 0);
    /* a negative count is EINVAL */
    KT_SYS_ERR(futex6(&f1, P(FUTEX_CMP_REQUEUE), -1, (void *)1L, &f2, 7), EINVAL);
}

KT_CASE(cmp_requeue_moves_waiters) {
    enum { N = 3 };
    static volatile int f1, f2;
    f1 = f2 = 0;
    struct waiter w[N];
    for (int i = 0; i < N; i++) w[i] = (struct waiter){.addr = &f1, .op = P(FUTEX_WAIT), .val = 0};
    KT_EQ(start_waiters(w, N), 0);
    long r = futex6(&f1, P(FUTEX_CMP_REQUEUE), 1, (void *)(long)INT_MAX, &f2, 0);
    kt_msleep(30);
    int done1 = count_done(w, N);
    long on_f2 = futex6(&f2, P(FUTEX_WAKE), INT_MAX, 0, 0, 0);
    join_waiters(w, N);
    KT_EQ(r, 3);
    KT_EQ(done1, 1);
    KT_EQ(on_f2, 2);
}

KT_CASE(wake_op_sets_and_wakes) {
    static volatile int f1, f2;
    f1 = f2 = 0;
    struct waiter w[2] = {
        {.addr = &f1, .op = P(FUTEX_WAIT), .val = 0},
        {.addr = &f2, .op = P(FUTEX_WAIT), .val = 0},
    };
    KT_EQ(start_waiters(w, 2), 0);
    /* *f2 = 5 (old 0); wake 1 on f1; old == 0 so wake 1 on f2 too */
    long r = futex6(&f1, P(FUTEX_WAKE_OP), 1, (void *)1L, &f2,
                    KT_FUTEX_OP(KT_FUTEX_OP_SET, 5, KT_FUTEX_OP_CMP_EQ, 0));
    join_waiters(w, 2);
    KT_EQ(r, 2);
    KT_EQ(f2, 5);
    /* ADD, and a comparison that fails: only uaddr1's waiters */
    long r2 = futex6(&f1, P(FUTEX_WAKE_OP), 1, (void *)1L, &f2,
                     KT_FUTEX_OP(KT_FUTEX_OP_ADD, 3, KT_FUTEX_OP_CMP_NE, 5));
    KT_EQ(r2, 0);
    KT_EQ(f2, 8);
}

/* futex_atomic_op_inuser(): FUTEX_OP_OPARG_SHIFT with a shift outside 0..31
 * uses it modulo 32 (Linux logs and masks); an unknown operation is ENOSYS
 * with the word untouched, an unknown comparison ENOSYS after the word was
 * changed. */
KT_CASE(wake_op_shift_masked_and_enosys_order) {
    static volatile int f1, f2;
    f1 = 0;
    f2 = 0;
    /* SET with OPARG_SHIFT (8) and oparg 33: 1 << (33 & 31) = 2 */
    KT_EQ(futex6(&f1, P(FUTEX_WAKE_OP), 1, (void *)1L, &f2, KT_FUTEX_OP(8 | KT_FUTEX_OP_SET, 33, KT_FUTEX_OP_CMP_EQ, 7)), 0);
    KT_EQ(f2, 2);
    /* op 5 does not exist: ENOSYS, the word keeps 2 */
    KT_SYS_ERR(futex6(&f1, P(FUTEX_WAKE_OP), 1, (void *)1L, &f2, KT_FUTEX_OP(5, 9, KT_FUTEX_OP_CMP_EQ, 0)), ENOSYS);
    KT_EQ(f2, 2);
    /* comparison 6 does not exist: ENOSYS, but the ADD happened */
    KT_SYS_ERR(futex6(&f1, P(FUTEX_WAKE_OP), 1, (void *)1L, &f2, KT_FUTEX_OP(KT_FUTEX_OP_ADD, 3, 6, 0)), ENOSYS);
    KT_EQ(f2, 5);
}

/* ---- shared futexes across processes ----------------------------------- */

KT_CASE(shared_futex_parent_wakes_child) {
    volatile int *page = kt_shared_page();
    KT_TRUE(page != 0, "mmap MAP_SHARED|MAP_ANONYMOUS: %s", kt_errname(errno));
    page[0] = 0;
    page[1] = 0;
    pid_t pid = KT_FORK();
    if (pid == 0) {
        struct timespec ts = {10, 0};
        __atomic_store_n(&page[1], 1, __ATOMIC_SEQ_CST);
        long r = futex6(&page[0], FUTEX_WAIT, 0, &ts, 0, 0);
        _exit(r == 0 ? 0 : r == -1 && errno == ETIMEDOUT ? 2 : r == -1 && errno == EAGAIN ? 3 : 4);
    }
    int st = 0, gone = 0;
    for (int t = 0; t < 3000 && !__atomic_load_n(&page[1], __ATOMIC_SEQ_CST) && !gone; t++) {
        kt_msleep(1);
        gone = waitpid(pid, &st, WNOHANG) == pid;
    }
    long woke = 0;
    for (int t = 0; t < 3000 && woke == 0 && !gone; t++) {
        woke = futex6(&page[0], FUTEX_WAKE, 1, 0, 0, 0);
        if (woke == 0) kt_msleep(1);
        if (woke == 0) gone = waitpid(pid, &st, WNOHANG) == pid;
    }
    if (!gone) waitpid(pid, &st, 0);
    munmap((void *)page, 4096);
    KT_STATUS(st, kt_exited(0));
    KT_EQ(woke, 1);
}

KT_CASE(shared_futex_child_wakes_parent) {
    volatile int *page = kt_shared_page();
    KT_TRUE(page != 0, "mmap MAP_SHARED|MAP_ANONYMOUS: %s", kt_errname(errno));
    page[0] = 0;
    pid_t pid = KT_FORK();
    if (pid == 0) {
        kt_msleep(100);
        page[0] = 1;
        long n = 0;
        for (int t = 0; t < 3000 && n == 0; t++) {
            n = futex6(&page[0], FUTEX_WAKE, INT_MAX, 0, 0, 0);
            if (n == 0) kt_msleep(1);
        }
        _exit(n == 1 ? 0 : 1);
    }
    struct timespec ts = {10, 0};
    long r = -1;
    int e = 0;
    while (page[0] == 0) {
        r = futex6(&page[0], FUTEX_WAIT, 0, &ts, 0, 0);
        e = errno;
        if (r == -1 && e != EAGAIN && e != EINTR) break;
    }
    int st = 0;
    waitpid(pid, &st, 0);
    munmap((void *)page, 4096);
    KT_TRUE(r == 0, "the parent's wait returned %ld (%s)", r, r == -1 ? kt_errname(e) : "no error");
    KT_STATUS(st, kt_exited(0));
}

/* Two mappings of one shared page are one futex: the key is the page, not
 * the address (a child waits through a MAP_SHARED page mremapped elsewhere). */
KT_CASE(shared_futex_keyed_by_page_not_address) {
    char *page = kt_shared_page();
    KT_TRUE(page != 0, "mmap: %s", kt_errname(errno));
    volatile int *word = (volatile int *)page;
    word[0] = 0;
    word[1] = 0;
    pid_t pid = KT_FORK();
    if (pid == 0) {
        /* move the child's view of the page: same physical page, new address */
        void *dst = mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (dst == MAP_FAILED) _exit(6);
        void *moved = mremap(page, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
        if (moved == MAP_FAILED) _exit(5);
        volatile int *w = moved;
        struct timespec ts = {10, 0};
        __atomic_store_n(&w[1], 1, __ATOMIC_SEQ_CST);
        long r = futex6(&w[0], FUTEX_WAIT, 0, &ts, 0, 0);
        _exit(r == 0 ? 0 : r == -1 && errno == ETIMEDOUT ? 2 : 4);
    }
    int st = 0, gone = 0;
    for (int t = 0; t < 3000 && !__atomic_load_n(&word[1], __ATOMIC_SEQ_CST) && !gone; t++) {
        kt_msleep(1);
        gone = waitpid(pid, &st, WNOHANG) == pid;
    }
    long woke = 0;
    for (int t = 0; t < 3000 && woke == 0 && !gone; t++) {
        woke = futex6(&word[0], FUTEX_WAKE, 1, 0, 0, 0);
        if (woke == 0) kt_msleep(1);
        if (woke == 0) gone = waitpid(pid, &st, WNOHANG) == pid;
    }
    if (!gone) waitpid(pid, &st, 0);
    munmap(page, 4096);
    /* exit 5: the child's mremap(MREMAP_MAYMOVE|MREMAP_FIXED) failed */
    KT_STATUS(st, kt_exited(0));
    KT_EQ(woke, 1);
}

/* ---- futex_waitv ----------------------------------------------------------- */

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

struct kt_waitv {
    uint64_t val;
    uint64_t uaddr;
    uint32_t flags;
    uint32_t reserved;
};
#define KT_FUTEX2_U32 2
#define KT_FUTEX2_PRIVATE 128

static long waitv(struct kt_waitv *w, unsigned n, unsigned flags, struct timespec *ts, int clock) {
    return syscall(SYS_futex_waitv, w, n, flags, ts, clock);
}

static void waitv_fill(struct kt_waitv *w, volatile int *words, int n) {
    for (int i = 0; i < n; i++) {
        w[i].val = (uint64_t)(uint32_t)words[i];
        w[i].uaddr = (uint64_t)(uintptr_t)&words[i];
        w[i].flags = KT_FUTEX2_U32 | KT_FUTEX2_PRIVATE;
        w[i].reserved = 0;
    }
}

KT_CASE(futex_waitv_bad_arguments) {
    static volatile int words[3] = {1, 2, 3};
    struct kt_waitv w[3];
    waitv_fill(w, words, 3);
    struct timespec past = {0, 0};
    KT_SYS_ERR(waitv(w, 3, 1, 0, 0), EINVAL);       /* no flags exist */
    KT_SYS_ERR(waitv(w, 0, 0, 0, 0), EINVAL);       /* no futex */
    KT_SYS_ERR(waitv(w, 129, 0, 0, 0), EINVAL);     /* more than 128 */
    KT_SYS_ERR(waitv(0, 3, 0, 0, 0), EINVAL);
    KT_SYS_ERR(waitv(w, 3, 0, &past, CLOCK_BOOTTIME), EINVAL);
    struct timespec badns = {0, 1000000000};
    KT_SYS_ERR(waitv(w, 3, 0, &badns, CLOCK_MONOTONIC), EINVAL);
    KT_SYS_ERR(waitv(w, 3, 0, (void *)8, CLOCK_MONOTONIC), EFAULT);
    KT_SYS_ERR(waitv((void *)8, 3, 0, 0, 0), EFAULT);
    w[1].flags = KT_FUTEX2_PRIVATE; /* no size */
    KT_SYS_ERR(waitv(w, 3, 0, 0, 0), EINVAL);
    w[1].flags = 3 | KT_FUTEX2_PRIVATE; /* 64-bit: not supported */
    KT_SYS_ERR(waitv(w, 3, 0, 0, 0), EINVAL);
    w[1].flags = KT_FUTEX2_U32 | 4;
    KT_SYS_ERR(waitv(w, 3, 0, 0, 0), EINVAL);
    w[1].flags = KT_FUTEX2_U32;
    w[1].reserved = 1;
    KT_SYS_ERR(waitv(w, 3, 0, 0, 0), EINVAL);
    w[1].reserved = 0;
    w[2].uaddr += 1; /* misaligned */
    KT_SYS_ERR(waitv(w, 3, 0, 0, 0), EINVAL);
}

KT_CASE(futex_waitv_value_mismatch_is_eagain) {
    static volatile int words[2] = {5, 6};
    struct kt_waitv w[2];
    waitv_fill(w, words, 2);
    w[1].val = 7;
    KT_SYS_ERR(waitv(w, 2, 0, 0, 0), EAGAIN);
    /* only the low 32 bits of the value are compared: these match, so the
     * call waits (until a deadline already past) */
    w[1].val = 6 | (1ULL << 32);
    struct timespec past = {0, 0};
    KT_SYS_ERR(waitv(w, 2, 0, &past, CLOCK_MONOTONIC), ETIMEDOUT);
}

KT_CASE(futex_waitv_absolute_timeouts) {
    static volatile int words[2] = {0, 0};
    struct kt_waitv w[2];
    waitv_fill(w, words, 2);
    struct timespec now, start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    now = start;
    now.tv_nsec += 50000000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    KT_SYS_ERR(waitv(w, 2, 0, &now, CLOCK_MONOTONIC), ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &end);
    long ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
    KT_TRUE(ms >= 45 && ms < 2000, "waited %ld ms", ms);
    clock_gettime(CLOCK_REALTIME, &now);
    now.tv_sec -= 1; /* already past */
    KT_SYS_ERR(waitv(w, 2, 0, &now, CLOCK_REALTIME), ETIMEDOUT);
}

static volatile int wv_words[4];
static volatile long wv_result = -100;
static volatile int wv_errno;
static void *waitv_thread(void *arg) {
    (void)arg;
    struct kt_waitv w[4];
    waitv_fill(w, wv_words, 4);
    long r = waitv(w, 4, 0, 0, 0);
    wv_errno = errno;
    wv_result = r;
    return 0;
}

KT_CASE(futex_waitv_woken_by_any_returns_its_index) {
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, waitv_thread, 0), 0);
    long woke = 0;
    for (int i = 0; i < 3000 && woke == 0; i++) {
        kt_msleep(1);
        woke = kt_futex(&wv_words[2], FUTEX_WAKE | 128, 1, 0);
    }
    KT_EQ(pthread_join(th, 0), 0);
    KT_EQ(woke, 1);
    KT_EQ(wv_result, 2);
    /* the other three were taken off their queues */
    KT_EQ(kt_futex(&wv_words[0], FUTEX_WAKE, 1, 0), 0);
    KT_EQ(kt_futex(&wv_words[3], FUTEX_WAKE, 1, 0), 0);
}

KT_CASE(futex_waitv_on_a_shared_page_across_fork) {
    volatile int *page = kt_shared_page();
    KT_TRUE(page != 0, "shared page");
    page[0] = 0;
    page[1] = 0;
    page[2] = 0;
    pid_t c = KT_FORK();
    if (c == 0) {
        struct kt_waitv w[2];
        waitv_fill(w, page, 2);
        w[0].flags = w[1].flags = KT_FUTEX2_U32; /* shared */
        __atomic_store_n(&page[2], 1, __ATOMIC_SEQ_CST);
        long r = waitv(w, 2, 0, 0, 0);
        _exit(r == 1 ? 0 : r == -1 ? 100 + errno : 50 + (int)r);
    }
    while (!__atomic_load_n(&page[2], __ATOMIC_SEQ_CST)) kt_msleep(1);
    long woke = 0;
    for (int i = 0; i < 3000 && woke == 0; i++) {
        woke = kt_futex(&page[1], FUTEX_WAKE, 1, 0);
        if (woke == 0) kt_msleep(1);
    }
    KT_EQ(woke, 1);
    KT_WAIT_STATUS(c, kt_exited(0));
    munmap((void *)page, 4096);
}

KT_MAIN()
