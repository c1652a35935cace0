/* io_uring's task work against a thread's blocking system calls: a thread
 * with a request in a ring (a recv on a socket, a read on a pipe, a
 * TIMEOUT) blocks in another call, and the request completes meanwhile
 * (the socket written by another thread, the timeout due). Linux queues
 * the completion as task work with TWA_SIGNAL (TIF_NOTIFY_SIGNAL): the
 * sleep ends as for a signal, the work runs on the way out, and since no
 * signal is delivered the call restarts (-ERESTARTSYS, -ERESTARTNOHAND,
 * -ERESTART_RESTARTBLOCK with the time left) unless it answers -EINTR
 * itself on signal_pending() (epoll_wait, semop, sigtimedwait). The CQE is
 * in the CQ ring when the call returns, without an io_uring_enter. With
 * IORING_SETUP_DEFER_TASKRUN the work waits for io_uring_enter: nothing is
 * interrupted. Each call's answer and duration are asserted per set-up. */
#include "kt.h"
#include "kt_uring.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#define TRIG_MS 50     /* the request completes */
#define RELEASE_MS 250 /* another thread ends the blocking call */
#define TIMED_MS 300   /* a timed call's timeout */

enum { TRIG_SOCK, TRIG_PIPE, TRIG_TIMEOUT };

enum {
    C_NANOSLEEP, C_CLOCK_NANOSLEEP, C_FUTEX, C_FUTEX_TIMED, C_PIPE_READ, C_POLL, C_POLL_TIMED, C_SELECT_TIMED,
    C_EPOLL_TIMED, C_ACCEPT, C_RECV, C_SEMOP, C_SEMTIMEDOP, C_MSGRCV, C_SIGTIMEDWAIT, C_WAIT4, C_N
};
static const char *const call_name[C_N] = {
    "nanosleep", "clock_nanosleep", "futex_wait", "futex_wait_timed", "pipe_read", "poll", "poll_timed",
    "select_timed", "epoll_wait_timed", "accept", "recv", "semop", "semtimedop", "msgrcv", "sigtimedwait",
    "wait4",
};

static int c_pipe[2], c_sock[2], c_listen, c_conn = -1, c_epoll, c_sem, c_msq;
static volatile int c_futex;
static pid_t c_child;
static struct sockaddr_un c_addr;

static void ms_sleep(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* a set-up step that must succeed (helpers return values: no KT_ check) */
#define CHK(x)                                                                   \
    do {                                                                         \
        if ((long)(x) < 0) kt_fail("%s: %s [line %d]", #x, strerror(errno), __LINE__); \
    } while (0)

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void call_setup(int c) {
    c_futex = 0;
    switch (c) {
    case C_PIPE_READ: case C_POLL: case C_POLL_TIMED: case C_SELECT_TIMED: case C_EPOLL_TIMED: {
        CHK(pipe(c_pipe));
        struct epoll_event ev = {EPOLLIN, {0}};
        c_epoll = epoll_create1(0);
        CHK(epoll_ctl(c_epoll, EPOLL_CTL_ADD, c_pipe[0], &ev));
        break;
    }
    case C_ACCEPT:
        c_listen = socket(AF_UNIX, SOCK_STREAM, 0);
        memset(&c_addr, 0, sizeof c_addr);
        c_addr.sun_family = AF_UNIX;
        snprintf(c_addr.sun_path + 1, sizeof c_addr.sun_path - 1, "kt-uring-tw-%d", getpid());
        CHK(bind(c_listen, (struct sockaddr *)&c_addr, sizeof c_addr));
        CHK(listen(c_listen, 1));
        break;
    case C_RECV: CHK(socketpair(AF_UNIX, SOCK_STREAM, 0, c_sock)); break;
    case C_SEMOP: case C_SEMTIMEDOP: c_sem = semget(IPC_PRIVATE, 1, 0600); CHK(c_sem); break;
    case C_MSGRCV: c_msq = msgget(IPC_PRIVATE, 0600); CHK(c_msq); break;
    case C_SIGTIMEDWAIT: {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR2);
        pthread_sigmask(SIG_BLOCK, &s, 0);
        break;
    }
    case C_WAIT4:
        CHK(pipe(c_pipe));
        c_child = fork();
        if (c_child == 0) {
            /* exits when the other thread writes (RELEASE_MS) */
            char b;
            while (read(c_pipe[0], &b, 1) < 0 && errno == EINTR) {
            }
            _exit(7);
        }
        break;
    }
}

static void call_release(int c) {
    switch (c) {
    case C_FUTEX:
        __atomic_store_n(&c_futex, 1, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, &c_futex, 1 | 128, 1, 0, 0, 0); /* FUTEX_WAKE_PRIVATE */
        break;
    case C_PIPE_READ: case C_POLL: case C_WAIT4: CHK(write(c_pipe[1], "p", 1) == 1 ? 0 : -1); break;
    case C_ACCEPT:
        c_conn = socket(AF_UNIX, SOCK_STREAM, 0);
        CHK(connect(c_conn, (struct sockaddr *)&c_addr, sizeof c_addr));
        break;
    case C_RECV: CHK(send(c_sock[1], "r", 1, 0) == 1 ? 0 : -1); break;
    case C_SEMOP: {
        struct sembuf up = {0, 1, 0};
        CHK(semop(c_sem, &up, 1));
        break;
    }
    case C_MSGRCV: {
        struct { long type; char text[4]; } m = {1, "m"};
        CHK(msgsnd(c_msq, &m, 2, 0));
        break;
    }
    default: break; /* a timed call ends by its timeout, wait4 by the child's exit */
    }
}

/* the blocking call: its result, or -errno */
static long call_run(int c) {
    long r = 0;
    char b[8];
    switch (c) {
    case C_NANOSLEEP: {
        struct timespec ts = {0, TIMED_MS * 1000000L};
        r = nanosleep(&ts, 0);
        break;
    }
    case C_CLOCK_NANOSLEEP: {
        struct timespec ts = {0, TIMED_MS * 1000000L};
        int e = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, 0);
        return -e;
    }
    case C_FUTEX: r = syscall(SYS_futex, &c_futex, 0 | 128, 0, 0, 0, 0); break;
    case C_FUTEX_TIMED: {
        struct timespec ts = {0, TIMED_MS * 1000000L};
        r = syscall(SYS_futex, &c_futex, 0 | 128, 0, &ts, 0, 0);
        break;
    }
    case C_PIPE_READ: r = read(c_pipe[0], b, sizeof b); break;
    case C_POLL: {
        struct pollfd p = {c_pipe[0], POLLIN, 0};
        r = poll(&p, 1, -1);
        break;
    }
    case C_POLL_TIMED: {
        struct pollfd p = {c_pipe[0], POLLIN, 0};
        r = poll(&p, 1, TIMED_MS);
        break;
    }
    case C_SELECT_TIMED: {
        fd_set s;
        FD_ZERO(&s);
        FD_SET(c_pipe[0], &s);
        struct timeval tv = {0, TIMED_MS * 1000L};
        r = select(c_pipe[0] + 1, &s, 0, 0, &tv);
        break;
    }
    case C_EPOLL_TIMED: {
        struct epoll_event ev;
        r = epoll_wait(c_epoll, &ev, 1, TIMED_MS);
        break;
    }
    case C_ACCEPT: r = accept(c_listen, 0, 0); break;
    case C_RECV: r = recv(c_sock[0], b, sizeof b, 0); break;
    case C_SEMOP: {
        struct sembuf down = {0, -1, 0};
        r = semop(c_sem, &down, 1);
        break;
    }
    case C_SEMTIMEDOP: {
        struct sembuf down = {0, -1, 0};
        struct timespec ts = {0, TIMED_MS * 1000000L};
        r = syscall(SYS_semtimedop, c_sem, &down, 1, &ts);
        break;
    }
    case C_MSGRCV: {
        struct { long type; char text[4]; } m;
        r = msgrcv(c_msq, &m, sizeof m.text, 0, 0);
        break;
    }
    case C_SIGTIMEDWAIT: {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR2);
        struct timespec ts = {0, TIMED_MS * 1000000L};
        /* (musl's sigtimedwait retries on EINTR) */
        r = syscall(SYS_rt_sigtimedwait, &s, 0, &ts, 8);
        break;
    }
    case C_WAIT4: {
        int st = 0;
        r = wait4(c_child, &st, 0, 0);
        if (r == c_child) r = WIFEXITED(st) ? WEXITSTATUS(st) : -1000;
        break;
    }
    }
    return r < 0 ? -errno : r;
}

/* what a call answers when nothing interrupts it */
static long call_done(int c) {
    switch (c) {
    case C_PIPE_READ: case C_POLL: case C_RECV: return 1;
    case C_FUTEX_TIMED: return -ETIMEDOUT;
    case C_SEMTIMEDOP: case C_SIGTIMEDWAIT: return -EAGAIN;
    case C_MSGRCV: return 2;
    case C_WAIT4: return 7;
    case C_ACCEPT: return 1000; /* a new fd */
    default: return 0;
    }
}

static void call_cleanup(int c) {
    switch (c) {
    case C_PIPE_READ: case C_POLL: case C_POLL_TIMED: case C_SELECT_TIMED: case C_EPOLL_TIMED:
        close(c_pipe[0]);
        close(c_pipe[1]);
        close(c_epoll);
        break;
    case C_ACCEPT:
        close(c_listen);
        if (c_conn >= 0) close(c_conn);
        c_conn = -1;
        break;
    case C_RECV: close(c_sock[0]); close(c_sock[1]); break;
    case C_SEMOP: case C_SEMTIMEDOP: semctl(c_sem, 0, IPC_RMID); break;
    case C_MSGRCV: msgctl(c_msq, IPC_RMID, 0); break;
    case C_WAIT4:
        waitpid(c_child, 0, WNOHANG);
        close(c_pipe[0]);
        close(c_pipe[1]);
        break;
    case C_SIGTIMEDWAIT: {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR2);
        pthread_sigmask(SIG_UNBLOCK, &s, 0);
        break;
    }
    }
}

/* the other thread: completes the request at TRIG_MS (trig_fd written),
 * ends the call at RELEASE_MS */
struct actor {
    int trig_fd, call;
};
static void *actor_main(void *a) {
    struct actor *x = a;
    ms_sleep(TRIG_MS);
    if (x->trig_fd >= 0) CHK(write(x->trig_fd, "t", 1) == 1 ? 0 : -1);
    ms_sleep(RELEASE_MS - TRIG_MS);
    call_release(x->call);
    return 0;
}

struct outcome {
    long ret, ms;
    unsigned cqes_after; /* in the CQ ring when the call returned */
    int cqe_res;
};

/* the request of `trig` submitted to r, then call c blocking while it
 * completes */
static struct outcome run_one(struct ring *r, int trig, int c) {
    struct outcome o = {0, 0, 0, -9999};
    int tp[2];
    char buf[8];
    if (trig == TRIG_SOCK) {
        CHK(socketpair(AF_UNIX, SOCK_STREAM, 0, tp));
        prep(r, OP_RECV, tp[0], buf, sizeof buf, 0, 1);
    } else if (trig == TRIG_PIPE) {
        CHK(pipe(tp));
        prep(r, OP_READ, tp[0], buf, sizeof buf, 0, 1);
    } else {
        tp[0] = tp[1] = -1;
        static struct kts ts = {0, TRIG_MS * 1000000L};
        prep(r, OP_TIMEOUT, -1, &ts, 1, 0, 1);
    }
    CHK(submit(r, 1) == 1 ? 0 : -1);
    CHK(ready(r) == 0 ? 0 : -1);
    call_setup(c);
    struct actor x = {tp[1], c};
    pthread_t th;
    long t0 = now_ms();
    CHK(-pthread_create(&th, 0, actor_main, &x));
    o.ret = call_run(c);
    o.ms = now_ms() - t0;
    o.cqes_after = ready(r);
    pthread_join(th, 0);
    struct cqe cq[2];
    int n = wait_reap(r, 1, cq, 2);
    if (n == 1) o.cqe_res = cq[0].res;
    if (c == C_ACCEPT && o.ret >= 0) {
        close((int)o.ret);
        o.ret = 1000;
    }
    call_cleanup(c);
    if (tp[0] >= 0) {
        close(tp[0]);
        close(tp[1]);
    }
    return o;
}

/* Linux 6.1: the calls that answer -EINTR themselves on signal_pending(),
 * which is true for TIF_NOTIFY_SIGNAL; the others restart */
static int answers_eintr(int c) {
    return c == C_EPOLL_TIMED || c == C_SEMOP || c == C_SEMTIMEDOP || c == C_SIGTIMEDWAIT;
}

static void check_mode(const char *mode, unsigned flags, int trig, int interrupts) {
    int want_cqe = trig == TRIG_TIMEOUT ? -ETIME : 1, bad = 0;
    /* one ring for all the calls: Linux's ring exit work is task work
     * too (io_tctx_exit_cb, TWA_SIGNAL), which a closed ring's would
     * add some milliseconds later */
    struct ring r;
    KT_SYS_OK(ring_init(&r, 4, flags));
    for (int c = 0; c < C_N; c++) {
        struct outcome o = run_one(&r, trig, c);
        int eintr = interrupts && answers_eintr(c);
        long want = eintr ? -EINTR : call_done(c);
        int ok = o.ret == want
                 /* interrupted at the completion, or restarted to its end */
                 && (eintr ? o.ms >= TRIG_MS - 5 && o.ms < RELEASE_MS - 50 : o.ms >= RELEASE_MS - 5)
                 /* the task work ran before the call returned (deferred: not
                  * yet); 6.1 hands a pipe read to an io-wq worker, whose CQE
                  * may come just after an EINTR */
                 && (o.cqes_after == (unsigned)(interrupts ? 1 : 0) || (trig == TRIG_PIPE && eintr))
                 && o.cqe_res == want_cqe;
        kt_printf("# %s %s %s: ret %ld after %ld ms, %u CQE(s) in the ring, res %d (want ret %ld)\n",
                  ok ? "ok" : "BAD", mode, call_name[c], o.ret, o.ms, o.cqes_after, o.cqe_res, want);
        bad += !ok;
    }
    ring_exit(&r);
    /* (the exit's task work: taken here, by a sleep that restarts) */
    ms_sleep(200);
    KT_EQ(bad, 0);
}

KT_CASE(socket_recv_completion_restarts_blocking_calls) {
    check_mode("sock", 0, TRIG_SOCK, 1);
}

KT_CASE(timeout_completion_restarts_blocking_calls) {
    check_mode("timeout", 0, TRIG_TIMEOUT, 1);
}

KT_CASE(pipe_read_completion_restarts_blocking_calls) {
    check_mode("pipe", 0, TRIG_PIPE, 1);
}

KT_CASE(coop_taskrun_completion_restarts_blocking_calls) {
    check_mode("coop", SETUP_COOP_TASKRUN, TRIG_SOCK, 1);
}

KT_CASE(defer_taskrun_interrupts_nothing) {
    check_mode("defer", SETUP_DEFER_TASKRUN | SETUP_SINGLE_ISSUER, TRIG_SOCK, 0);
}

KT_MAIN()
